/*
 * test_query - the /api/history query string: every accepted form with the
 * exact values it gives, and every refusal with its exact message and the
 * parameter it names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "monitor/query.h"

#define NOW 1714564800000LL /* 2024-05-01T12:00:00Z */
#define H   3600000LL

static const char *msg(const struct pk_err *e)
{
    static char buf[800];
    return pk_err_str(e, buf, sizeof(buf));
}

static struct query_history parse_ok(const char *qs)
{
    struct query_history q;
    struct pk_err e;
    pk_err_clear(&e);
    if (query_parse_history(qs, strlen(qs), NOW, &q, &e) != 0)
        fail_msg("'%s' rejected: %s", qs, msg(&e));
    return q;
}

static void ok(const char *qs, const char *metric, int64_t from, int64_t to, int64_t step, size_t points)
{
    struct query_history q = parse_ok(qs);
    assert_string_equal(q.metric, metric);
    assert_int_equal(q.from_ms, from);
    assert_int_equal(q.to_ms, to);
    assert_int_equal(q.step_ms, step);
    assert_int_equal(q.points, points);
}

/* Refused with exactly `want` (pk_err_str) and e.on == param; *out untouched. */
static void bad(const char *qs, const char *param, const char *want)
{
    struct query_history q;
    memset(&q, 0x5a, sizeof(q));
    struct pk_err e;
    pk_err_clear(&e);
    int rc = query_parse_history(qs, strlen(qs), NOW, &q, &e);
    if (rc == 0)
        fail_msg("'%s' accepted", qs);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(e.code, PK_EPARSE);
    if (strcmp(msg(&e), want) != 0)
        fail_msg("'%s':\n  got  %s\n  want %s", qs, msg(&e), want);
    assert_string_equal(e.on, param);
    assert_int_equal(q.from_ms, 0x5a5a5a5a5a5a5a5aLL);
}

static void test_defaults(void **state)
{
    (void)state;
    ok("metric=node_load1", "node_load1", NOW - H, NOW, 0, 1000);
    ok("metric=perfkit_cpu_utilization_ratio", "perfkit_cpu_utilization_ratio", NOW - H, NOW, 0, 1000);
    ok("metric=a:b_c", "a:b_c", NOW - H, NOW, 0, 1000);
    ok("metric=_x", "_x", NOW - H, NOW, 0, 1000);
    /* the default window starts at 1970 at the earliest */
    ok("metric=x&to=1800", "x", 0, 1800000, 0, 1000);
}

static void test_series_keys(void **state)
{
    (void)state;
    /* node_filesystem_avail_bytes{mountpoint="/",device="/dev/sda1"} percent-encoded as a browser does */
    ok("metric=node_filesystem_avail_bytes%7Bmountpoint%3D%22%2F%22%2Cdevice%3D%22%2Fdev%2Fsda1%22%7D",
       "node_filesystem_avail_bytes{device=\"/dev/sda1\",mountpoint=\"/\"}", NOW - H, NOW, 0, 1000);
    /* raw braces and quotes (curl -g), blanks as '+', trailing comma */
    ok("metric=a{y=\"1\",+x=\"2\",}", "a{x=\"2\",y=\"1\"}", NOW - H, NOW, 0, 1000);
    ok("metric=a+{+x+=+\"v+w\"+}+", "a{x=\"v w\"}", NOW - H, NOW, 0, 1000);
    ok("metric=a{}", "a", NOW - H, NOW, 0, 1000);
    /* escapes kept canonical; a raw newline becomes \n */
    ok("metric=a{x=\"q\\\"b\\\\c\\n\"}", "a{x=\"q\\\"b\\\\c\\n\"}", NOW - H, NOW, 0, 1000);
    ok("metric=a{x=\"1%0A2\"}", "a{x=\"1\\n2\"}", NOW - H, NOW, 0, 1000);
    /* UTF-8 values */
    ok("metric=a{x=\"%C3%A9t%C3%A9\"}", "a{x=\"\xc3\xa9t\xc3\xa9\"}", NOW - H, NOW, 0, 1000);
    ok("metric=a{x=\"%F0%9F%94%A5\"}", "a{x=\"\xf0\x9f\x94\xa5\"}", NOW - H, NOW, 0, 1000);
    /* a sort on the whole name, not a prefix */
    ok("metric=a{ab=\"1\",a=\"2\"}", "a{a=\"2\",ab=\"1\"}", NOW - H, NOW, 0, 1000);
}

static void test_times(void **state)
{
    (void)state;
    ok("metric=x&from=2024-05-01T11:00:00Z&to=2024-05-01T12:00:00Z", "x", NOW - H, NOW, 0, 1000);
    ok("metric=x&from=2024-05-01t11:00:00z", "x", NOW - H, NOW, 0, 1000);
    ok("metric=x&from=2024-05-01+11:00:00Z", "x", NOW - H, NOW, 0, 1000); /* RFC 3339's space */
    ok("metric=x&from=2024-05-01T13:00:00%2B02:00", "x", NOW - H, NOW, 0, 1000);
    ok("metric=x&from=2024-05-01T06:30:00-04:30", "x", NOW - H, NOW, 0, 1000);
    ok("metric=x&from=2024-05-01T11:00:00.250Z", "x", NOW - H + 250, NOW, 0, 1000);
    ok("metric=x&from=2024-05-01T11:00:00.5Z", "x", NOW - H + 500, NOW, 0, 1000);
    ok("metric=x&from=2024-05-01T11:00:00.123999Z", "x", NOW - H + 123, NOW, 0, 1000);
    ok("metric=x&from=2024-02-29T00:00:00Z&to=2024-03-01T00:00:00Z", "x", 1709164800000LL, 1709251200000LL, 0,
       1000);
    ok("metric=x&from=1970-01-01T00:00:00Z&to=1970-01-01T00:00:01Z", "x", 0, 1000, 0, 1000);
    ok("metric=x&from=2016-12-31T23:59:60Z&to=2017-01-01T00:00:01Z", "x", 1483228800000LL, 1483228801000LL, 0,
       1000);
    ok("metric=x&to=9999-12-31T23:59:59.999Z", "x", 253402300799999LL - H, 253402300799999LL, 0, 1000);
    /* unix seconds */
    ok("metric=x&from=1714561200&to=1714564800", "x", NOW - H, NOW, 0, 1000);
    ok("metric=x&from=1714561200.25", "x", NOW - H + 250, NOW, 0, 1000);
    ok("metric=x&from=1714561200.0009", "x", NOW - H, NOW, 0, 1000);
    ok("metric=x&from=0&to=1", "x", 0, 1000, 0, 1000);
    /* relative and now */
    ok("metric=x&from=-1h", "x", NOW - H, NOW, 0, 1000);
    ok("metric=x&from=-1h30m&to=-30m", "x", NOW - 90 * 60000, NOW - 30 * 60000, 0, 1000);
    ok("metric=x&from=-1.5s&to=now", "x", NOW - 1500, NOW, 0, 1000);
    ok("metric=x&from=-2d&to=-1d", "x", NOW - 48 * H, NOW - 24 * H, 0, 1000);
}

static void test_step_points_order(void **state)
{
    (void)state;
    ok("metric=x&step=30s", "x", NOW - H, NOW, 30000, 1000);
    ok("metric=x&step=15", "x", NOW - H, NOW, 15000, 1000);
    ok("metric=x&step=1m30s", "x", NOW - H, NOW, 90000, 1000);
    ok("metric=x&step=1ms", "x", NOW - H, NOW, 1, 1000);
    ok("metric=x&step=0.25", "x", NOW - H, NOW, 250, 1000);
    ok("metric=x&points=1", "x", NOW - H, NOW, 0, 1);
    ok("metric=x&points=10000", "x", NOW - H, NOW, 0, 10000);
    ok("points=50&step=1m&to=-1h&from=-2h&metric=y", "y", NOW - 2 * H, NOW - H, 60000, 50);
    /* percent-encoded names and values */
    ok("%6Detric=x&points=%35", "x", NOW - H, NOW, 0, 5);
}

static void test_structure_errors(void **state)
{
    (void)state;
    bad("", "metric", "metric: missing parameter: metric is required (e.g. metric=node_load1)");
    bad("from=-1h", "metric", "metric: missing parameter: metric is required (e.g. metric=node_load1)");
    bad("metric=x&", "", "empty parameter: a stray '&' at offset 8");
    bad("&metric=x", "", "empty parameter: a stray '&' at offset 0");
    bad("metric=x&&to=now", "", "empty parameter: a stray '&' at offset 9");
    bad("metric=x&foo=1", "foo", "foo: unknown parameter: expected metric, from, to, step or points");
    bad("metric=x&Metric=y", "Metric",
        "Metric: unknown parameter: expected metric, from, to, step or points");
    bad("metric=x&a%0Ab=1", "a\\x0ab",
        "a\\x0ab: unknown parameter: expected metric, from, to, step or points");
    bad("metric=x&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: unknown parameter: expected metric, from, to, step or "
        "points");
    bad("metric=x&metric=y", "metric", "metric: repeated parameter: given more than once");
    bad("from=1&metric=x&from=2", "from", "from: repeated parameter: given more than once");
    bad("metric", "metric", "metric: missing value: write metric=VALUE");
    bad("metric=x&step", "step", "step: missing value: write step=VALUE");
    bad("metric=", "metric", "metric: empty value: write metric=VALUE or leave the parameter out");
    bad("=x", "", "empty parameter name: '=x' at offset 0");

    char *big = malloc(QUERY_MAX + 2);
    memset(big, 'a', QUERY_MAX + 1);
    big[QUERY_MAX + 1] = '\0';
    bad(big, "", "query string too long: 8193 bytes (at most 8192)");
    free(big);
}

static void test_encoding_errors(void **state)
{
    (void)state;
    bad("metric=a%2", "metric",
        "metric: invalid percent-encoding: '%' at offset 1 of 'a%2' is not followed by two hex digits");
    bad("metric=a%zz", "metric",
        "metric: invalid percent-encoding: '%' at offset 1 of 'a%zz' is not followed by two hex digits");
    bad("metric=a%00", "metric", "metric: invalid percent-encoding: %00 (a NUL byte) at offset 1 of 'a%00'");
    bad("metric=a b", "metric",
        "metric: invalid character: raw byte 0x20 at offset 1 of 'a b' (a space, control or non-ASCII byte "
        "must be "
        "percent-encoded)");
    bad("metric=a\xc3\xa9", "metric",
        "metric: invalid character: raw byte 0xc3 at offset 1 of 'a\\xc3\\xa9' (a space, control or "
        "non-ASCII byte "
        "must be percent-encoded)");
    bad("metric=a%C3", "metric", "metric: invalid text: 'a%C3' does not decode to valid UTF-8");
    bad("metric=%C0%80", "metric",
        "metric: invalid text: '%C0%80' does not decode to valid UTF-8"); /* overlong */
    bad("metric=%ED%A0%80", "metric",
        "metric: invalid text: '%ED%A0%80' does not decode to valid UTF-8"); /* surrogate */
    bad("metric=%F4%90%80%80", "metric",
        "metric: invalid text: '%F4%90%80%80' does not decode to valid UTF-8"); /* > U+10FFFF */
    bad("m%zzetric=x", "m%zzetric",
        "m%zzetric: invalid percent-encoding: '%' at offset 1 of 'm%zzetric' is not followed by two hex "
        "digits");
}

static void test_key_errors(void **state)
{
    (void)state;
    bad("metric=1abc", "metric",
        "metric: invalid series key '1abc': expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) at offset 0");
    bad("metric=a-b", "metric", "metric: invalid series key 'a-b': unexpected '-' at offset 1");
    bad("metric=a{x=\"1\"", "metric", "metric: invalid series key 'a{x=\"1\"': missing '}'");
    bad("metric=a{x}", "metric", "metric: invalid series key 'a{x}': expected '=' after label name 'x'");
    bad("metric=a{x=1}", "metric",
        "metric: invalid series key 'a{x=1}': expected '\"' to open the value of label 'x'");
    bad("metric=a{x=\"1}", "metric",
        "metric: invalid series key 'a{x=\"1}': unterminated value of label 'x'");
    bad("metric=a{x=\"\\t\"}", "metric",
        "metric: invalid series key 'a{x=\"\\t\"}': unknown escape '\\t' in the value of label 'x' (use "
        "\\\\, \\\" or "
        "\\n)");
    bad("metric=a{x=\"1\",x=\"2\"}", "metric",
        "metric: invalid series key 'a{x=\"1\",x=\"2\"}': label 'x' given twice");
    bad("metric=a{x=\"1\"+y=\"2\"}", "metric",
        "metric: invalid series key 'a{x=\"1\" y=\"2\"}': expected ',' or '}' after the value of label 'x'");
    bad("metric=a{1=\"2\"}", "metric",
        "metric: invalid series key 'a{1=\"2\"}': expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or '}' at "
        "offset 2");
    bad("metric=a{x=\"1\"}b", "metric",
        "metric: invalid series key 'a{x=\"1\"}b': unexpected 'b' at offset 8");
    bad("metric=a{:x=\"1\"}", "metric",
        "metric: invalid series key 'a{:x=\"1\"}': expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or '}' at "
        "offset 2");

    /* too many labels, and a key over the store's cap */
    char qs[4096] = "metric=a{";
    for (int i = 0; i <= (int)QUERY_LABELS_MAX; i++)
        snprintf(qs + strlen(qs), sizeof(qs) - strlen(qs), "l%d=\"v\",", i);
    strcat(qs, "}");
    struct query_history q;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(query_parse_history(qs, strlen(qs), NOW, &q, &e), PK_EPARSE);
    assert_non_null(strstr(e.why, "more than 32 labels"));

    char *big = malloc(QUERY_MAX + 1);
    strcpy(big, "metric=a{x=\"");
    size_t n = strlen(big);
    memset(big + n, 'v', QUERY_METRIC_MAX);
    strcpy(big + n + QUERY_METRIC_MAX, "\"}");
    pk_err_clear(&e);
    assert_int_equal(query_parse_history(big, strlen(big), NOW, &q, &e), PK_EPARSE);
    assert_string_equal(e.on, "metric");
    assert_string_equal(e.why, "longer than 4095 bytes");
    /* exactly at the cap is fine */
    strcpy(big, "metric=");
    memset(big + 7, 'a', QUERY_METRIC_MAX);
    big[7 + QUERY_METRIC_MAX] = '\0';
    assert_int_equal(query_parse_history(big, strlen(big), NOW, &q, &e), 0);
    assert_int_equal(strlen(q.metric), QUERY_METRIC_MAX);
    free(big);
}

static void test_time_errors(void **state)
{
    (void)state;
    const char *form =
        "expected RFC 3339 (2024-05-01T12:00:00Z), unix seconds (1714564800) or a time relative to now (-1h)";
    char want[512];
    snprintf(want, sizeof(want), "from: invalid time 'yesterday': %s", form);
    bad("metric=x&from=yesterday", "from", want);
    snprintf(want, sizeof(want), "to: invalid time '2024/05/01': %s", form);
    bad("metric=x&to=2024/05/01", "to", want);
    bad("metric=x&from=2024-05-01", "from",
        "from: invalid time '2024-05-01': a date without a time: write e.g. 2024-05-01T00:00:00Z");
    bad("metric=x&from=2024-13-01T00:00:00Z", "from",
        "from: invalid time '2024-13-01T00:00:00Z': month 13 out of range (1..12)");
    bad("metric=x&from=2023-02-29T00:00:00Z", "from",
        "from: invalid time '2023-02-29T00:00:00Z': day 29 out of range for 2023-02 (1..28)");
    bad("metric=x&from=2024-04-31T00:00:00Z", "from",
        "from: invalid time '2024-04-31T00:00:00Z': day 31 out of range for 2024-04 (1..30)");
    bad("metric=x&from=2024-05-01T24:00:00Z", "from",
        "from: invalid time '2024-05-01T24:00:00Z': hour 24 out of range (0..23)");
    bad("metric=x&from=2024-05-01T12:60:00Z", "from",
        "from: invalid time '2024-05-01T12:60:00Z': minute 60 out of range (0..59)");
    bad("metric=x&from=2024-05-01T12:00:61Z", "from",
        "from: invalid time '2024-05-01T12:00:61Z': second 61 out of range (0..60)");
    bad("metric=x&from=2024-05-01T12:00:00", "from",
        "from: invalid time '2024-05-01T12:00:00': no time zone offset: end with Z or an offset such as "
        "%2B02:00 (+02:00)");
    bad("metric=x&from=2024-05-01T12:00:00+02:00", "from",
        "from: invalid time '2024-05-01T12:00:00 02:00': a space where the offset's sign should be: '+' in a "
        "URL "
        "means a space, write it as %2B");
    bad("metric=x&from=2024-05-01T12:00:00%2B2:00", "from",
        "from: invalid time '2024-05-01T12:00:00+2:00': the time zone offset must be Z, +HH:MM or -HH:MM");
    bad("metric=x&from=2024-05-01T12:00:00%2B24:00", "from",
        "from: invalid time '2024-05-01T12:00:00+24:00': time zone offset out of range (at most 23:59)");
    bad("metric=x&from=2024-05-01T12:00:00.Z", "from",
        "from: invalid time '2024-05-01T12:00:00.Z': no digits after the decimal point");
    bad("metric=x&from=2024-05-01T12:00:00ZZ", "from",
        "from: invalid time '2024-05-01T12:00:00ZZ': unexpected text after the time zone");
    bad("metric=x&from=1969-12-31T23:59:59Z", "from",
        "from: invalid time '1969-12-31T23:59:59Z': before 1970-01-01T00:00:00Z");
    bad("metric=x&from=1970-01-01T00:00:00%2B01:00", "from",
        "from: invalid time '1970-01-01T00:00:00+01:00': before 1970-01-01T00:00:00Z");
    bad("metric=x&from=253402300800", "from",
        "from: invalid time '253402300800': after 9999-12-31T23:59:59.999Z");
    bad("metric=x&from=99999999999999999999999", "from",
        "from: invalid time '99999999999999999999999': after 9999-12-31T23:59:59.999Z");
    bad("metric=x&from=1714561200.", "from",
        "from: invalid time '1714561200.': no digits after the decimal point");
    snprintf(want, sizeof(want), "from: invalid time '1.2.3': %s", form);
    bad("metric=x&from=1.2.3", "from", want);
    bad("metric=x&from=-", "from", "from: invalid time '-': after '-', a duration such as 1h, 30m or 1h30m");
    bad("metric=x&from=-1x", "from",
        "from: invalid time '-1x': after '-', a duration such as 1h, 30m or 1h30m: unknown unit 'x' (use ns, "
        "us, ms, s, "
        "m, h, d)");
    bad("metric=x&from=--1h", "from",
        "from: invalid time '--1h': after '-', a duration such as 1h, 30m or 1h30m: negative "
        "values are not allowed");
    bad("metric=x&from=-100000000h", "from",
        "from: invalid time '-100000000h': after '-', a duration such as 1h, 30m or "
        "1h30m: out of range (at most 100000d)");
    bad("metric=x&from=-60000d", "from", "from: invalid time '-60000d': before 1970-01-01T00:00:00Z");
    /* windows */
    bad("metric=x&from=-1h&to=-2h", "from",
        "from: empty window: from (2024-05-01T11:00:00Z) must be before to (2024-05-01T10:00:00Z)");
    bad("metric=x&from=now&to=now", "from",
        "from: empty window: from (2024-05-01T12:00:00Z) must be before to (2024-05-01T12:00:00Z)");
    bad("metric=x&to=0", "to",
        "to: empty window: from (1970-01-01T00:00:00Z) must be before to (1970-01-01T00:00:00Z)");
    bad("metric=x&from=2024-05-01T12:00:00.500Z", "from",
        "from: empty window: from (2024-05-01T12:00:00.500Z) must be before to (2024-05-01T12:00:00Z)");
}

static void test_step_points_errors(void **state)
{
    (void)state;
    bad("metric=x&step=0", "step", "step: step too small: '0' is under 1ms");
    bad("metric=x&step=100us", "step", "step: step too small: '100us' is under 1ms");
    bad("metric=x&step=5x", "step",
        "step: invalid duration '5x': unknown unit 'x' (use ns, us, ms, s, m, h, d)");
    bad("metric=x&step=-1s", "step", "step: invalid duration '-1s': negative values are not allowed");
    bad("metric=x&points=0", "points",
        "points: invalid number '0': out of range (must be between 1 and 10000)");
    bad("metric=x&points=10001", "points",
        "points: invalid number '10001': out of range (must be between 1 and 10000)");
    bad("metric=x&points=1k", "points", "points: invalid number '1k': expected a whole number (digits only)");
    bad("metric=x&points=-5", "points", "points: invalid number '-5': negative values are not allowed");
}

static void test_format_time(void **state)
{
    (void)state;
    char buf[40];
    assert_string_equal(query_format_time(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
    assert_string_equal(query_format_time(NOW + 7, buf, sizeof(buf)), "2024-05-01T12:00:00.007Z");
    assert_string_equal(query_format_time(QUERY_TIME_MAX_MS, buf, sizeof(buf)), "9999-12-31T23:59:59.999Z");
    assert_string_equal(query_format_time(951782400000LL, buf, sizeof(buf)), "2000-02-29T00:00:00Z");
    /* every day of a few centuries round-trips through the parser */
    for (int64_t ms = 0; ms < 400LL * 366 * 86400000; ms += 86400000LL * 7 + 3723004) {
        char qs[96];
        snprintf(qs, sizeof(qs), "metric=x&to=%s", query_format_time(ms + 1, buf, sizeof(buf)));
        struct query_history q = parse_ok(qs);
        assert_int_equal(q.to_ms, ms + 1);
    }
}

/* Not NUL-terminated input is read only up to len. */
static void test_length_bound(void **state)
{
    (void)state;
    const char text[] = "metric=abc&points=7XXXX";
    struct query_history q;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(query_parse_history(text, 19, NOW, &q, &e), 0);
    assert_int_equal(q.points, 7);
    assert_int_equal(query_parse_history(text, 9, NOW, &q, &e), 0);
    assert_string_equal(q.metric, "ab");
    assert_int_equal(query_parse_history(NULL, 0, NOW, &q, &e), PK_EPARSE);
    assert_string_equal(e.on, "metric");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_series_keys),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_step_points_order),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_encoding_errors),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_time_errors),
        cmocka_unit_test(test_step_points_errors),
        cmocka_unit_test(test_format_time),
        cmocka_unit_test(test_length_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
