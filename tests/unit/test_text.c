/*
 * test_text - UTF-8 validation against RFC 3629's boundaries (the last
 * overlong form and the first valid one of each length, surrogates, U+10FFFF
 * and the first code point past it, truncated and stray continuation bytes),
 * hex digits, and bounded appends that report the length they needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/text.h"

static void utf8_sequences(void **state)
{
    (void)state;
    static const struct {
        const char *b;
        size_t len, want;
    } v[] = {
        { "\x00", 1, 1 },
        { "A", 1, 1 },
        { "\x7f", 1, 1 },
        { "\xc2\x80", 2, 2 },
        { "\xdf\xbf", 2, 2 },
        { "\xc0\x80", 2, 0 }, /* overlong NUL */
        { "\xc1\xbf", 2, 0 },
        { "\xe0\x9f\xbf", 3, 0 },
        { "\xe0\xa0\x80", 3, 3 },
        { "\xed\x9f\xbf", 3, 3 },
        { "\xed\xa0\x80", 3, 0 },
        { "\xed\xbf\xbf", 3, 0 }, /* surrogates */
        { "\xee\x80\x80", 3, 3 },
        { "\xf0\x8f\xbf\xbf", 4, 0 },
        { "\xf0\x90\x80\x80", 4, 4 },
        { "\xf4\x8f\xbf\xbf", 4, 4 },
        { "\xf4\x90\x80\x80", 4, 0 },
        { "\xf5\x80\x80\x80", 4, 0 },
        { "\x80", 1, 0 },
        { "\xbf", 1, 0 },
        { "\xe2\x82", 2, 0 }, /* cut short */
        { "\xe2\x28\xa1", 3, 0 },
        { "\xe2\x82\xac", 3, 3 },
        { "\xff", 1, 0 },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(text_utf8_seq((const unsigned char *)v[i].b, v[i].len), v[i].want);
        assert_int_equal(text_utf8_valid(v[i].b, v[i].len), v[i].want == v[i].len);
    }
    /* a sequence longer than the bytes left is refused even when the buffer goes on */
    assert_int_equal(text_utf8_seq((const unsigned char *)"\xe2\x82\xac", 2), 0);
    assert_true(text_utf8_valid("caf\xc3\xa9 \xe2\x82\xac 1", 11));
    assert_false(text_utf8_valid("caf\xc3\xa9 \xe2\x82", 8));
    assert_true(text_utf8_valid("", 0));
}

static void hex_digits(void **state)
{
    (void)state;
    const char *d = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        assert_int_equal(text_hexval((unsigned char)d[i]), i);
    assert_int_equal(text_hexval('A'), 10);
    assert_int_equal(text_hexval('F'), 15);
    assert_int_equal(text_hexval('g'), -1);
    assert_int_equal(text_hexval('G'), -1);
    assert_int_equal(text_hexval('/'), -1);
    assert_int_equal(text_hexval(':'), -1);
    assert_int_equal(text_hexval(0xe0), -1);
}

static void bounded_append(void **state)
{
    (void)state;
    char buf[8];
    size_t off = text_append(buf, sizeof(buf), 0, "%s=%d", "ab", 12);
    assert_int_equal(off, 5);
    assert_string_equal(buf, "ab=12");
    off = text_append(buf, sizeof(buf), off, ",%s", "xyz");
    assert_int_equal(off, 9); /* what it needed: past cap, so cut */
    assert_string_equal(buf, "ab=12,x");
    off = text_append(buf, sizeof(buf), off, "%s", "more");
    assert_int_equal(off, 13); /* nothing written once off >= cap */
    assert_string_equal(buf, "ab=12,x");
}

/* RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA; counted over all 256 bytes. */
static void token_chars(void **state)
{
    (void)state;
    int n = 0;
    for (int c = 0; c < 256; c++)
        n += text_is_tchar((char)c);
    assert_int_equal(n, 15 + 10 + 52);
    assert_true(text_is_tchar('G') && text_is_tchar('~') && text_is_tchar('`'));
    assert_false(text_is_tchar(' ') || text_is_tchar(':') || text_is_tchar('(') || text_is_tchar('"'));
    assert_false(text_is_tchar('\0') || text_is_tchar('\x7f') || text_is_tchar('\xc3'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_sequences),
        cmocka_unit_test(hex_digits),
        cmocka_unit_test(bounded_append),
        cmocka_unit_test(token_chars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
