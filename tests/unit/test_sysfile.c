#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sys/sysfile.h"

static int parse(const char *s, uint64_t max, uint64_t *v)
{
    const char *p = s;
    return sysfile_parse_uint(&p, s + strlen(s), max, v);
}

static void uint_bounds(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(parse("1", 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(parse("2", 1, &v), PK_EPARSE);   /* a digit above a small max */
    assert_int_equal(parse("9", 8, &v), PK_EPARSE);
    assert_int_equal(parse("10", 9, &v), PK_EPARSE);
    assert_int_equal(parse("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse("18446744073709551616", UINT64_MAX, &v), PK_EPARSE);
    assert_int_equal(parse("255", 255, &v), 0);
    assert_int_equal(parse("256", 255, &v), PK_EPARSE);
    assert_int_equal(parse("", 10, &v), PK_EPARSE);
    assert_int_equal(parse("x1", 10, &v), PK_EPARSE);
}

static void decimal(void **state)
{
    (void)state;
    double d;
    const char *s = "2596.122 rest";
    const char *p = s;
    assert_int_equal(sysfile_parse_decimal(&p, s + strlen(s), &d), 0);
    assert_true(d == 2596.122);
    assert_string_equal(p, " rest");
    s = ".";
    p = s;
    assert_int_equal(sysfile_parse_decimal(&p, s + 1, &d), PK_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uint_bounds),
        cmocka_unit_test(decimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
