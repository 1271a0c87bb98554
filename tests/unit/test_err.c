#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"

static void renders_all_parts(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(err_set(&e, PK_EPARSE, "--min-time", "invalid duration '5x'", "unknown unit '%s'", "x"),
                     PK_EPARSE);
    char buf[128];
    assert_string_equal(pk_err_str(&e, buf, sizeof(buf)),
                        "--min-time: invalid duration '5x': unknown unit 'x'");
    assert_int_equal(e.code, PK_EPARSE);
}

static void leaves_out_empty_parts_and_prefixes(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    err_errno(&e, -ENOENT, NULL, "cannot open baseline");
    char buf[128];
    assert_string_equal(pk_err_str(&e, buf, sizeof(buf)), "cannot open baseline: No such file or directory");
    err_set(&e, PK_EPARSE, "3:7", "expected ':'", NULL);
    err_prefix_on(&e, "base.json:");
    assert_string_equal(pk_err_str(&e, buf, sizeof(buf)), "base.json:3:7: expected ':'");
}

static void truncates_without_overflow(void **state)
{
    (void)state;
    struct pk_err e;
    char longtext[1000];
    memset(longtext, 'a', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    err_set(&e, -EINVAL, longtext, longtext, "%s", longtext);
    assert_int_equal(strlen(e.on), sizeof(e.on) - 1);
    char small[16];
    assert_int_equal(strlen(pk_err_str(&e, small, sizeof(small))), sizeof(small) - 1);
    assert_int_equal(err_set(NULL, -EIO, "x", "y", NULL), -EIO);
}

static void quotes_untrusted_text(void **state)
{
    (void)state;
    char buf[16];
    assert_string_equal(err_quote("abc", 3, buf, sizeof(buf)), "abc");
    assert_string_equal(err_quote("a\x1b[2Jb", 6, buf, sizeof(buf)), "a\\x1b[2Jb");
    assert_string_equal(err_quote("x\0y", 3, buf, sizeof(buf)), "x\\x00y"); /* length, not NUL, ends it */
    assert_string_equal(err_quote("0123456789abcdefghij", 20, buf, sizeof(buf)),
                        "0123456789ab..."); /* 12 + "..." + NUL = 16 */
    assert_true(strlen(err_quote("\xff\xff\xff\xff\xff", 5, buf, sizeof(buf))) < sizeof(buf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_all_parts),
        cmocka_unit_test(leaves_out_empty_parts_and_prefixes),
        cmocka_unit_test(truncates_without_overflow),
        cmocka_unit_test(quotes_untrusted_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
