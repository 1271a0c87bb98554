/*
 * test_buf - the growable buffer: content and NUL after every add, growth
 * across many sizes checked against a plain array, printf past the first
 * allocation, the cap and the sticky error, take and reset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"

static void zeroed_is_empty(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_string_equal(buf_str(&b), "");
    buf_destroy(&b); /* no-op on zero */
    buf_destroy(&b);
    size_t len = 99;
    char *s = buf_take(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
}

static void grows_like_an_array(void **state)
{
    (void)state;
    static char want[70000];
    size_t n = 0;
    struct buf b = BUF_INIT;
    /* chunk lengths 0..300 cycling: crosses every doubling up to 128 KiB */
    for (size_t i = 0; n < sizeof(want) - 400; i++) {
        char chunk[300];
        size_t k = i % 300;
        for (size_t j = 0; j < k; j++)
            chunk[j] = (char)('a' + (i + j) % 26);
        assert_int_equal(buf_add(&b, chunk, k), 0);
        memcpy(want + n, chunk, k);
        n += k;
        assert_int_equal(b.len, n);
        assert_int_equal(b.p[n], '\0');
        assert_true(b.cap > b.len);
    }
    assert_memory_equal(b.p, want, n);
    buf_destroy(&b);
    assert_null(b.p);
}

static void printf_appends(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_adds(&b, "x="), 0);
    assert_int_equal(buf_printf(&b, "%d;", 42), 0);
    assert_string_equal(buf_str(&b), "x=42;");
    char big[1000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* longer than what is left of the first allocation: reserved, then written */
    assert_int_equal(buf_printf(&b, "[%s]%c", big, '!'), 0);
    assert_int_equal(b.len, 5 + 1 + 999 + 1 + 1);
    assert_int_equal(b.p[5], '[');
    assert_int_equal(b.p[b.len - 1], '!');
    assert_int_equal(b.p[b.len], '\0');
    assert_int_equal(buf_addc(&b, '#'), 0);
    assert_int_equal(b.p[b.len - 1], '#');
    buf_destroy(&b);
}

static void cap_is_sticky(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_adds(&b, "0123456789"), 0); /* exactly max */
    assert_int_equal(buf_addc(&b, 'x'), -E2BIG);
    assert_string_equal(buf_str(&b), "0123456789"); /* unchanged */
    assert_int_equal(buf_adds(&b, ""), -E2BIG);     /* sticks */
    assert_int_equal(buf_printf(&b, "%d", 1), -E2BIG);
    assert_null(buf_take(&b, NULL));
    assert_int_equal(b.err, -E2BIG);
    assert_null(b.p);
    buf_reset(&b); /* clears the error */
    assert_int_equal(b.err, 0);
    assert_int_equal(buf_printf(&b, "%s", "abcdefghijk"), -E2BIG); /* printf over the cap */
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_str(&b), "");
    buf_destroy(&b);
}

static void take_and_reset(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_adds(&b, "hello");
    size_t len;
    char *s = buf_take(&b, &len);
    assert_string_equal(s, "hello");
    assert_int_equal(len, 5);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    free(s);
    buf_adds(&b, "again");
    char *p = b.p;
    buf_reset(&b);
    assert_ptr_equal(b.p, p); /* memory kept */
    assert_string_equal(buf_str(&b), "");
    buf_adds(&b, "ok");
    assert_string_equal(buf_str(&b), "ok");
    buf_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zeroed_is_empty), cmocka_unit_test(grows_like_an_array),
        cmocka_unit_test(printf_appends),  cmocka_unit_test(cap_is_sticky),
        cmocka_unit_test(take_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
