#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/units.h"

/* ---- helpers: each check names the input it failed on ----------------- */

static const char *msg(const struct pk_err *e)
{
    static char buf[700];
    return pk_err_str(e, buf, sizeof(buf));
}

static void dur_ok(const char *text, double want)
{
    struct pk_err e;
    pk_err_clear(&e);
    double got = -1;
    int rc = units_parse_duration(text, "--t", &got, &e);
    if (rc != 0)
        fail_msg("duration '%s' rejected: %s", text, msg(&e));
    if (got != want)
        fail_msg("duration '%s' = %.17g, want %.17g", text, got, want);
}

/* Fails with exactly `want` as the rendered message, leaves *out alone. */
static void dur_bad(const char *text, const char *want)
{
    struct pk_err e;
    pk_err_clear(&e);
    double got = -1;
    int rc = units_parse_duration(text, "--t", &got, &e);
    if (rc == 0)
        fail_msg("duration '%s' accepted as %.17g", text, got);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(e.code, PK_EPARSE);
    assert_string_equal(e.on, "--t");
    assert_true(got == -1);
    assert_string_equal(msg(&e), want);
}

static void size_ok(const char *text, uint64_t want)
{
    struct pk_err e;
    pk_err_clear(&e);
    uint64_t got = 7;
    int rc = units_parse_size(text, "--s", &got, &e);
    if (rc != 0)
        fail_msg("size '%s' rejected: %s", text, msg(&e));
    if (got != want)
        fail_msg("size '%s' = %ju, want %ju", text, (uintmax_t)got, (uintmax_t)want);
}

static void size_bad(const char *text, const char *want)
{
    struct pk_err e;
    pk_err_clear(&e);
    uint64_t got = 7;
    int rc = units_parse_size(text, "--s", &got, &e);
    if (rc == 0)
        fail_msg("size '%s' accepted as %ju", text, (uintmax_t)got);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(got, 7);
    assert_string_equal(msg(&e), want);
}

static void count_ok(const char *text, uint64_t want)
{
    struct pk_err e;
    pk_err_clear(&e);
    uint64_t got = 7;
    int rc = units_parse_count(text, "--c", &got, &e);
    if (rc != 0)
        fail_msg("count '%s' rejected: %s", text, msg(&e));
    if (got != want)
        fail_msg("count '%s' = %ju, want %ju", text, (uintmax_t)got, (uintmax_t)want);
}

static void count_bad(const char *text, const char *want)
{
    struct pk_err e;
    pk_err_clear(&e);
    uint64_t got = 7;
    int rc = units_parse_count(text, "--c", &got, &e);
    if (rc == 0)
        fail_msg("count '%s' accepted as %ju", text, (uintmax_t)got);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(got, 7);
    assert_string_equal(msg(&e), want);
}

static void fmt_dur(double v, const char *want)
{
    char buf[32];
    const char *got = units_format_duration(v, buf, sizeof(buf));
    assert_ptr_equal(got, buf);
    if (strcmp(got, want) != 0)
        fail_msg("format_duration(%.17g) = '%s', want '%s'", v, got, want);
}

static void fmt_size(double v, const char *want)
{
    char buf[32];
    const char *got = units_format_size(v, buf, sizeof(buf));
    if (strcmp(got, want) != 0)
        fail_msg("format_size(%.17g) = '%s', want '%s'", v, got, want);
}

static void fmt_count(double v, const char *want)
{
    char buf[32];
    const char *got = units_format_count(v, buf, sizeof(buf));
    if (strcmp(got, want) != 0)
        fail_msg("format_count(%.17g) = '%s', want '%s'", v, got, want);
}

/* ---- durations --------------------------------------------------------- */

static void duration_accepts(void **state)
{
    (void)state;
    dur_ok("500ms", 0.5);
    dur_ok("2s", 2);
    dur_ok("1m30s", 90);
    dur_ok("1h", 3600);
    dur_ok("1h2m3.5s", 3723.5);
    dur_ok("2d12h", 216000);
    dur_ok("1d", 86400);
    dur_ok("250us", 250e-6);
    dur_ok("250\xc2\xb5s", 250e-6); /* µs, MICRO SIGN */
    dur_ok("250\xce\xbcs", 250e-6); /* μs, GREEK SMALL LETTER MU */
    dur_ok("100ns", 100e-9);
    dur_ok("1.5s", 1.5);
    dur_ok("1.5", 1.5); /* a bare number is seconds */
    dur_ok("0", 0);
    dur_ok("0s", 0);
    dur_ok(".5s", 0.5);
    dur_ok("007s", 7);
    dur_ok("1s500ms", 1.5);
    dur_ok("1m0.5s", 60.5);
    dur_ok("1.5m", 90);
    dur_ok("1h1m1s1ms1us1ns", 3661.001001001);
    /* sub-second units are scaled in decimal, so these are correctly rounded */
    dur_ok("0.1ms", 1e-4);
    dur_ok("3ms", 0.003);
    dur_ok("0.3us", 3e-7);
    dur_ok("100000d", 100000.0 * 86400);
}

static void duration_rejects_with_named_input(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    double s = -1;
    assert_int_equal(units_parse_duration("5x", "--min-time", &s, &e), PK_EPARSE);
    assert_string_equal(msg(&e),
                        "--min-time: invalid duration '5x': unknown unit 'x' (use ns, us, ms, s, m, h, d)");
    assert_string_equal(e.on, "--min-time");
    assert_string_equal(e.what, "invalid duration '5x'");

    dur_bad("", "--t: invalid duration '': empty value (expected e.g. 500ms, 2s, 1m30s)");
    dur_bad(NULL, "--t: invalid duration '': empty value (expected e.g. 500ms, 2s, 1m30s)");
    dur_bad("1.5.2s", "--t: invalid duration '1.5.2s': malformed number '1.5.2'");
    dur_bad("1.s", "--t: invalid duration '1.s': malformed number '1.'");
    dur_bad(".s", "--t: invalid duration '.s': malformed number '.'");
    dur_bad("-1s", "--t: invalid duration '-1s': negative values are not allowed");
    dur_bad("1m30", "--t: invalid duration '1m30': missing unit after '30' (use ns, us, ms, s, m, h, d)");
    dur_bad("ms", "--t: invalid duration 'ms': expected a number before 'ms'");
    dur_bad("+1s", "--t: invalid duration '+1s': expected a number before '+'");
    dur_bad("inf", "--t: invalid duration 'inf': expected a number before 'inf'");
    dur_bad("nan", "--t: invalid duration 'nan': expected a number before 'nan'");
    dur_bad("1e3s", "--t: invalid duration '1e3s': unknown unit 'e' (use ns, us, ms, s, m, h, d)");
    dur_bad("0x10s", "--t: invalid duration '0x10s': unknown unit 'x' (use ns, us, ms, s, m, h, d)");
    dur_bad("1sec", "--t: invalid duration '1sec': unknown unit 'sec' (use ns, us, ms, s, m, h, d)");
    dur_bad("1S", "--t: invalid duration '1S': unknown unit 'S' (use ns, us, ms, s, m, h, d)");
    dur_bad("1,5s", "--t: invalid duration '1,5s': unknown unit ',' (use ns, us, ms, s, m, h, d)");
    dur_bad(
        "30s1m",
        "--t: invalid duration '30s1m': 'm' after 's': write the units from largest to smallest, each once");
    dur_bad(
        "1s1s",
        "--t: invalid duration '1s1s': 's' after 's': write the units from largest to smallest, each once");
    dur_bad("99999999999999999999d",
            "--t: invalid duration '99999999999999999999d': out of range (at most 100000d)");
    dur_bad("100001d", "--t: invalid duration '100001d': out of range (at most 100000d)");
    dur_bad("99999d99999h", "--t: invalid duration '99999d99999h': out of range (at most 100000d)");
}

static void duration_rejects_whitespace_and_junk(void **state)
{
    (void)state;
    const char *why = "contains whitespace (write it as one word, e.g. 500ms, 2s, 1m30s)";
    const char *cases[] = { " 1s", "1s ", "1 s", "1m 30s", "\t1s", "1s\n", " " };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pk_err e;
        double s = -1;
        assert_int_equal(units_parse_duration(cases[i], "--t", &s, &e), PK_EPARSE);
        assert_non_null(strstr(e.why, why));
    }
    /* Control bytes never reach a terminal through a message. */
    dur_bad("\x1b[31m1s", "--t: invalid duration '\\x1b[31m1s': expected a number before '\\x1b['");
    dur_bad("1\xffs", "--t: invalid duration '1\\xffs': unknown unit '\\xffs' (use ns, us, ms, s, m, h, d)");

    char longtext[300];
    memset(longtext, '1', sizeof(longtext) - 2);
    longtext[sizeof(longtext) - 2] = 's';
    longtext[sizeof(longtext) - 1] = '\0';
    struct pk_err e;
    double s = -1;
    assert_int_equal(units_parse_duration(longtext, "--t", &s, &e), PK_EPARSE);
    assert_string_equal(e.why, "too long (at most 128 characters)");
    assert_non_null(strstr(e.what, "invalid duration '1111"));
    assert_non_null(strstr(e.what, "...'"));
    assert_true(s == -1);

    /* No struct pk_err: still an error code, nothing written. */
    assert_int_equal(units_parse_duration("5x", NULL, &s, NULL), PK_EPARSE);
    assert_int_equal(units_parse_duration("5s", NULL, &s, NULL), 0);
    assert_true(s == 5);
}

/* ---- sizes and counts -------------------------------------------------- */

static void size_accepts(void **state)
{
    (void)state;
    size_ok("512", 512);
    size_ok("0", 0);
    size_ok("1B", 1);
    size_ok("64KiB", 65536);
    size_ok("64kiB", 65536);
    size_ok("1.5MB", 1500000);
    size_ok("4k", 4000);
    size_ok("4K", 4000);
    size_ok("4kB", 4000);
    size_ok("4KB", 4000);
    size_ok("2Mi", 2097152);
    size_ok("3M", 3000000);
    size_ok("1GiB", 1073741824);
    size_ok("2GB", 2000000000);
    size_ok("1TiB", 1099511627776ull);
    size_ok("1T", 1000000000000ull);
    size_ok("0.5KiB", 512);
    size_ok("1.50KiB", 1536);
    size_ok("1.1GiB", 1181116006); /* 1181116006.4 rounds to the nearest byte */
    size_ok("1.2345k", 1235);      /* 1234.5 rounds up */
    size_ok("18446744073709551615", UINT64_MAX);
    size_ok("16777215.99999999999TiB", 18446744073709551605ull);
    size_ok("0000000000000000000000000001k", 1000);
}

static void size_rejects(void **state)
{
    (void)state;
    const char *units = "(use B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)";
    char want[256];
    size_bad("", "--s: invalid size '': empty value (expected e.g. 512, 64KiB, 1.5MB)");
    size_bad("1.5", "--s: invalid size '1.5': not a whole number of bytes");
    size_bad("1.5B", "--s: invalid size '1.5B': not a whole number of bytes");
    size_bad("18446744073709551616",
             "--s: invalid size '18446744073709551616': out of range (at most 18446744073709551615)");
    size_bad("16777216TiB", "--s: invalid size '16777216TiB': out of range (at most 18446744073709551615)");
    size_bad("18446744073709551615.5",
             "--s: invalid size '18446744073709551615.5': too many digits (at most 19 significant)");
    size_bad("-1", "--s: invalid size '-1': negative values are not allowed");
    size_bad("1 KiB",
             "--s: invalid size '1 KiB': contains whitespace (write it as one word, e.g. 512, 64KiB, 1.5MB)");
    size_bad("KiB", "--s: invalid size 'KiB': expected a number before 'KiB'");
    size_bad("1.2.3k", "--s: invalid size '1.2.3k': malformed number '1.2.3'");
    snprintf(want, sizeof(want), "--s: invalid size '1kb': unknown unit 'kb' %s", units);
    size_bad("1kb", want);
    snprintf(want, sizeof(want), "--s: invalid size '1mb': unknown unit 'mb' %s", units);
    size_bad("1mb", want);
    snprintf(want, sizeof(want), "--s: invalid size '1KiBB': unknown unit 'KiBB' %s", units);
    size_bad("1KiBB", want);
    snprintf(want, sizeof(want), "--s: invalid size '1PB': unknown unit 'PB' %s", units);
    size_bad("1PB", want);
    size_bad("1k2", "--s: invalid size '1k2': unknown unit 'k2' (use B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)");
}

static void count_accepts_and_rejects(void **state)
{
    (void)state;
    count_ok("10", 10);
    count_ok("0", 0);
    count_ok("1.5k", 1500);
    count_ok("1.5K", 1500);
    count_ok("2M", 2000000);
    count_ok("1G", 1000000000);
    count_ok("1.234567M", 1234567);
    count_ok("18446744073709551615", UINT64_MAX);

    count_bad("", "--c: invalid count '': empty value (expected e.g. 10, 1.5k, 2M)");
    count_bad("1.2345k", "--c: invalid count '1.2345k': not a whole number");
    count_bad("1.5", "--c: invalid count '1.5': not a whole number");
    count_bad("1m", "--c: invalid count '1m': unknown suffix 'm' (use k, M, G)");
    count_bad("10x", "--c: invalid count '10x': unknown suffix 'x' (use k, M, G)");
    count_bad("1kB", "--c: invalid count '1kB': unknown suffix 'kB' (use k, M, G)");
    count_bad("-5", "--c: invalid count '-5': negative values are not allowed");
    count_bad("18446744073709551616",
              "--c: invalid count '18446744073709551616': out of range (at most 18446744073709551615)");
    count_bad("18446744073709552k",
              "--c: invalid count '18446744073709552k': out of range (at most 18446744073709551615)");
    count_bad("k", "--c: invalid count 'k': expected a number before 'k'");
}

static void plain_numbers(void **state)
{
    (void)state;
    struct pk_err e;
    double d = -1;
    assert_int_equal(units_parse_double("2.5", "-P", &d, &e), 0);
    assert_true(d == 2.5);
    assert_int_equal(units_parse_double("10", "-P", &d, &e), 0);
    assert_true(d == 10);
    assert_int_equal(units_parse_double(".25", "-P", &d, &e), 0);
    assert_true(d == 0.25);
    assert_int_equal(units_parse_double("0.1", "-P", &d, &e), 0);
    assert_true(d == 0.1);

    const char *bad[][2] = {
        { "1e3", "-P: invalid number '1e3': unexpected 'e3' after the number (expected a plain number, e.g. "
                 "10, 2.5)" },
        { "inf", "-P: invalid number 'inf': expected a number before 'inf'" },
        { "nan", "-P: invalid number 'nan': expected a number before 'nan'" },
        { "-1", "-P: invalid number '-1': negative values are not allowed" },
        { "0x10", "-P: invalid number '0x10': unexpected 'x10' after the number (expected a plain number, "
                  "e.g. 10, 2.5)" },
        { "1,5", "-P: invalid number '1,5': unexpected ',5' after the number (expected a plain number, e.g. "
                 "10, 2.5)" },
        { " 1", "-P: invalid number ' 1': contains whitespace (write it as one word, e.g. 10, 2.5)" },
        { "", "-P: invalid number '': empty value (expected e.g. 10, 2.5)" },
        { "1..2", "-P: invalid number '1..2': malformed number '1..2'" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        d = -1;
        assert_int_equal(units_parse_double(bad[i][0], "-P", &d, &e), PK_EPARSE);
        assert_string_equal(msg(&e), bad[i][1]);
        assert_true(d == -1);
    }
}

static void unsigned_integers(void **state)
{
    (void)state;
    struct pk_err e;
    uint64_t v = 0;
    assert_int_equal(units_parse_uint("10", "--runs", 1, 100, &v, &e), 0);
    assert_int_equal(v, 10);
    assert_int_equal(units_parse_uint("0", "--runs", 0, 100, &v, &e), 0);
    assert_int_equal(v, 0);
    assert_int_equal(units_parse_uint("18446744073709551615", "--runs", 0, UINT64_MAX, &v, &e), 0);
    assert_true(v == UINT64_MAX);

    const struct {
        const char *text;
        uint64_t min, max;
        const char *want;
    } bad[] = {
        { "0", 1, 100, "--runs: invalid number '0': out of range (must be between 1 and 100)" },
        { "101", 1, 100, "--runs: invalid number '101': out of range (must be between 1 and 100)" },
        { "11", 0, 10, "--runs: invalid number '11': out of range (must be at most 10)" },
        { "1", 2, UINT64_MAX, "--runs: invalid number '1': out of range (must be at least 2)" },
        { "18446744073709551616", 0, UINT64_MAX,
          "--runs: invalid number '18446744073709551616': out of range (must be at most "
          "18446744073709551615)" },
        { "99999999999999999999999", 1, 100,
          "--runs: invalid number '99999999999999999999999': out of range (must be between 1 and 100)" },
        { "-1", 0, 10, "--runs: invalid number '-1': negative values are not allowed" },
        { "1.5", 0, 10, "--runs: invalid number '1.5': expected a whole number (digits only)" },
        { "+1", 0, 10, "--runs: invalid number '+1': expected a whole number (digits only)" },
        { "1k", 0, 10, "--runs: invalid number '1k': expected a whole number (digits only)" },
        { "", 0, 10, "--runs: invalid number '': empty value (expected e.g. 10)" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        v = 77;
        assert_int_equal(units_parse_uint(bad[i].text, "--runs", bad[i].min, bad[i].max, &v, &e), PK_EPARSE);
        assert_string_equal(msg(&e), bad[i].want);
        assert_int_equal(v, 77);
    }
}

/* ---- formatting -------------------------------------------------------- */

static void formats_durations(void **state)
{
    (void)state;
    fmt_dur(0.0512, "51.2 ms");
    fmt_dur(1.5, "1.50 s");
    fmt_dur(850e-9, "850 ns");
    fmt_dur(0, "0 s");
    fmt_dur(1e-6, "1.00 us");
    fmt_dur(12.345e-6, "12.3 us");
    fmt_dur(0.0009996, "1.00 ms"); /* rounding carries into the next unit */
    fmt_dur(0.9996, "1.00 s");
    fmt_dur(90, "90.0 s");
    fmt_dur(123.4, "123 s");
    fmt_dur(999.6, "16.7 min");
    fmt_dur(3600, "60.0 min");
    fmt_dur(7200, "2.00 h");
    fmt_dur(172800, "48.0 h");
    fmt_dur(400000, "4.63 d");
    fmt_dur(-0.25, "-250 ms");
    fmt_dur(3e-10, "0.300 ns");
    fmt_dur(NAN, "nan");
    fmt_dur(INFINITY, "inf");
    fmt_dur(-INFINITY, "-inf");

    double scale = 0;
    assert_string_equal(units_duration_unit(0.0512, &scale), "ms");
    assert_true(scale == 1e-3);
    assert_string_equal(units_duration_unit(0.0009996, &scale), "ms");
    assert_string_equal(units_duration_unit(850e-9, &scale), "ns");
    assert_true(scale == 1e-9);
    assert_string_equal(units_duration_unit(2.5, &scale), "s");
    assert_true(scale == 1);
    assert_string_equal(units_duration_unit(0, &scale), "s");
    assert_string_equal(units_duration_unit(NAN, NULL), "s");
}

static void formats_sizes_and_counts(void **state)
{
    (void)state;
    fmt_size(2000000, "1.91 MiB");
    fmt_size(512, "512 B");
    fmt_size(0, "0 B");
    fmt_size(1, "1 B");
    fmt_size(1.5, "1.50 B");
    fmt_size(1024, "1.00 KiB");
    fmt_size(1023.7, "1.00 KiB");
    fmt_size(1536, "1.50 KiB");
    fmt_size(1048575, "1.00 MiB");
    fmt_size(65536, "64.0 KiB");
    fmt_size(1073741824.0 * 500, "500 GiB");
    fmt_size(18446744073709551615.0, "16.0 EiB");

    fmt_count(1500, "1.50 k");
    fmt_count(999, "999");
    fmt_count(12, "12");
    fmt_count(0, "0");
    fmt_count(0.5, "0.500");
    fmt_count(12.5, "12.5");
    fmt_count(2e6, "2.00 M");
    fmt_count(999999, "1.00 M");
    fmt_count(1234567, "1.23 M");
    fmt_count(-1500, "-1.50 k");
}

/* The header promises 32 bytes are always enough, and a short buffer is cut,
 * never overrun. */
static void formats_fit_32_bytes(void **state)
{
    (void)state;
    const double vals[] = { DBL_MAX, -DBL_MAX,       DBL_MIN, -DBL_MIN,   5e-324,      1e300,      1e-300,
                            1e15,    123456789012.0, -0.0,    999.999999, 1023.999999, 0.999999999 };
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char big[256], small[32];
        char *(*fns[])(double, char *, size_t) = { units_format_duration, units_format_size,
                                                   units_format_count };
        for (size_t f = 0; f < 3; f++) {
            memset(big, 0, sizeof(big));
            fns[f](vals[i], big, sizeof(big));
            fns[f](vals[i], small, sizeof(small));
            if (strlen(big) >= sizeof(small))
                fail_msg("%.17g renders as '%s', longer than 31 bytes", vals[i], big);
            assert_string_equal(big, small);
        }
    }
    char tiny[5];
    memset(tiny, 'x', sizeof(tiny));
    units_format_duration(0.0512, tiny, sizeof(tiny));
    assert_string_equal(tiny, "51.2");
    assert_ptr_equal(units_format_size(1, tiny, 0), tiny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duration_accepts),
        cmocka_unit_test(duration_rejects_with_named_input),
        cmocka_unit_test(duration_rejects_whitespace_and_junk),
        cmocka_unit_test(size_accepts),
        cmocka_unit_test(size_rejects),
        cmocka_unit_test(count_accepts_and_rejects),
        cmocka_unit_test(plain_numbers),
        cmocka_unit_test(unsigned_integers),
        cmocka_unit_test(formats_durations),
        cmocka_unit_test(formats_sizes_and_counts),
        cmocka_unit_test(formats_fit_32_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
