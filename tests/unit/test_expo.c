#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "monitor/collect.h"
#include "monitor/expo.h"
#include "monitor/metric.h"

#define NE_PROC PK_FIXTURES "/node_exporter/proc"
#define VM      PK_FIXTURES "/sys/vm-2cpu"

/* ---- a small set with every case the formats treat apart ------------------------- */

static void small_set(struct metric_set *s)
{
    struct pk_err e;
    uint32_t f;
    metric_set_init(s);
    assert_int_equal(metric_family_begin(s, "http_requests_total", "Requests \\ \"quoted\"\nsecond line",
                                         METRIC_COUNTER, &f, &e),
                     0);
    struct metric_label get[2] = { { "method", "GET" }, { "path", "/a\"b\\c\nd" } };
    assert_int_equal(metric_add(s, f, get, 2, 1027, &e), 0);
    struct metric_label post[2] = { { "method", "POST" }, { "path", "/" } };
    assert_int_equal(metric_add(s, f, post, 2, 3, &e), 0);

    assert_int_equal(metric_family_begin(s, "temp_celsius", "", METRIC_GAUGE, &f, &e), 0);
    const double v[] = { NAN, INFINITY, -INFINITY, -0.0, 21.5 };
    const char *sensor[] = { "a", "b", "c", "d", "e" };
    for (int i = 0; i < 5; i++) {
        struct metric_label l[1] = { { "sensor", sensor[i] } };
        assert_int_equal(metric_add(s, f, l, 1, v[i], &e), 0);
    }
    assert_int_equal(metric_add1(s, "legacy_thing", "old", METRIC_UNTYPED, 1e-05, &e), 0);
    assert_int_equal(metric_add1(s, "odd_counter", "no suffix", METRIC_COUNTER, 2, &e), 0);
    /* a family without series says nothing */
    assert_int_equal(metric_family_begin(s, "empty_gauge", "never filled", METRIC_GAUGE, &f, &e), 0);
    assert_int_equal(metric_add1(s, "perfkit_memory_used_ratio", "ratio", METRIC_GAUGE, 0.25, &e), 0);
}

static const char want_text[] = "# HELP http_requests_total Requests \\\\ \"quoted\"\\nsecond line\n"
                                "# TYPE http_requests_total counter\n"
                                "http_requests_total{method=\"GET\",path=\"/a\\\"b\\\\c\\nd\"} 1027\n"
                                "http_requests_total{method=\"POST\",path=\"/\"} 3\n"
                                "# TYPE temp_celsius gauge\n"
                                "temp_celsius{sensor=\"a\"} NaN\n"
                                "temp_celsius{sensor=\"b\"} +Inf\n"
                                "temp_celsius{sensor=\"c\"} -Inf\n"
                                "temp_celsius{sensor=\"d\"} 0\n"
                                "temp_celsius{sensor=\"e\"} 21.5\n"
                                "# HELP legacy_thing old\n"
                                "# TYPE legacy_thing untyped\n"
                                "legacy_thing 1e-05\n"
                                "# HELP odd_counter no suffix\n"
                                "# TYPE odd_counter counter\n"
                                "odd_counter 2\n"
                                "# HELP perfkit_memory_used_ratio ratio\n"
                                "# TYPE perfkit_memory_used_ratio gauge\n"
                                "perfkit_memory_used_ratio 0.25\n";

static const char want_om[] = "# HELP http_requests Requests \\\\ \\\"quoted\\\"\\nsecond line\n"
                              "# TYPE http_requests counter\n"
                              "http_requests_total{method=\"GET\",path=\"/a\\\"b\\\\c\\nd\"} 1027\n"
                              "http_requests_total{method=\"POST\",path=\"/\"} 3\n"
                              "# TYPE temp_celsius gauge\n"
                              "# UNIT temp_celsius celsius\n"
                              "temp_celsius{sensor=\"a\"} NaN\n"
                              "temp_celsius{sensor=\"b\"} +Inf\n"
                              "temp_celsius{sensor=\"c\"} -Inf\n"
                              "temp_celsius{sensor=\"d\"} 0\n"
                              "temp_celsius{sensor=\"e\"} 21.5\n"
                              "# HELP legacy_thing old\n"
                              "# TYPE legacy_thing unknown\n"
                              "legacy_thing 1e-05\n"
                              "# HELP odd_counter no suffix\n"
                              "# TYPE odd_counter counter\n"
                              "odd_counter_total 2\n"
                              "# HELP perfkit_memory_used_ratio ratio\n"
                              "# TYPE perfkit_memory_used_ratio gauge\n"
                              "# UNIT perfkit_memory_used_ratio ratio\n"
                              "perfkit_memory_used_ratio 0.25\n"
                              "# EOF\n";

static void text_format(void **state)
{
    (void)state;
    struct metric_set s;
    small_set(&s);
    char *out;
    size_t len;
    struct pk_err e;
    assert_int_equal(expo_render(&s, EXPO_TEXT, &out, &len, &e), 0);
    assert_string_equal(out, want_text);
    assert_int_equal(len, strlen(want_text));
    free(out);
    metric_set_destroy(&s);
}

static void openmetrics_format(void **state)
{
    (void)state;
    struct metric_set s;
    small_set(&s);
    char *out;
    size_t len;
    struct pk_err e;
    assert_int_equal(expo_render(&s, EXPO_OPENMETRICS, &out, &len, &e), 0);
    assert_string_equal(out, want_om);
    assert_int_equal(len, strlen(want_om));
    free(out);
    metric_set_destroy(&s);
}

static void empty_and_several_sets(void **state)
{
    (void)state;
    struct metric_set a, b;
    struct pk_err e;
    metric_set_init(&a);
    metric_set_init(&b);
    char *out;
    size_t len;
    assert_int_equal(expo_render(&a, EXPO_TEXT, &out, &len, &e), 0);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    free(out);
    assert_int_equal(expo_render(&a, EXPO_OPENMETRICS, &out, &len, &e), 0);
    assert_string_equal(out, "# EOF\n");
    free(out);
    assert_int_equal(expo_render(&a, (enum expo_format)9, &out, &len, &e), -EINVAL);
    assert_null(out);

    /* the collector's set and the agent's own, rendered as one: one "# EOF" */
    assert_int_equal(metric_add1(&a, "node_load1", "1m load average.", METRIC_GAUGE, 0.21, &e), 0);
    assert_int_equal(metric_add1(&b, "perfkit_agent_samples_total", "Samples taken.", METRIC_COUNTER, 7, &e),
                     0);
    const struct metric_set *sets[] = { &a, NULL, &b };
    struct buf buf = BUF_INIT;
    assert_int_equal(expo_render_buf(&buf, sets, 3, EXPO_OPENMETRICS, &e), 0);
    assert_string_equal(buf.p, "# HELP node_load1 1m load average.\n"
                               "# TYPE node_load1 gauge\n"
                               "node_load1 0.21\n"
                               "# HELP perfkit_agent_samples Samples taken.\n"
                               "# TYPE perfkit_agent_samples counter\n"
                               "perfkit_agent_samples_total 7\n"
                               "# EOF\n");
    /* reused: the old content is replaced, the memory kept */
    char *mem = buf.p;
    assert_int_equal(expo_render_buf(&buf, sets, 1, EXPO_TEXT, &e), 0);
    assert_ptr_equal(buf.p, mem);
    assert_string_equal(buf.p, "# HELP node_load1 1m load average.\n"
                               "# TYPE node_load1 gauge\n"
                               "node_load1 0.21\n");
    assert_int_equal(buf.len, strlen(buf.p));
    buf_destroy(&buf);
    metric_set_destroy(&a);
    metric_set_destroy(&b);
}

/* ---- numbers ------------------------------------------------------------------------ */

/*
 * Expected strings: Go's strconv.FormatFloat(v, 'g', -1, 64), what the
 * Prometheus client prints, written from Python's repr (the same shortest
 * round-trip digits) laid out in Go's 'g' shape; integers below 2^53 as plain
 * digits. 2^-140, 2^-296 and 2^-1017 are powers of two whose shortest form is
 * not the correctly rounded one of its length (the neighbour above is).
 */
static const struct {
    double v;
    const char *want;
} numbers[] = {
    { 0.1, "0.1" },
    { 0.30000000000000004, "0.30000000000000004" },
    { 0.3333333333333333, "0.3333333333333333" },
    { 0.6666666666666666, "0.6666666666666666" },
    { 1e-05, "1e-05" },
    { 0.0001, "0.0001" },
    { 0.00012345, "0.00012345" },
    { 9.999999999999999e-05, "9.999999999999999e-05" },
    { 123456.7, "123456.7" },
    { 999999.5, "999999.5" },
    { 1234567.5, "1.2345675e+06" },
    { 9007199254740992.0, "9.007199254740992e+15" },
    { 9007199254740991.0, "9007199254740991" },
    { -9007199254740991.0, "-9007199254740991" },
    { 9.223372036854776e+18, "9.223372036854776e+18" },
    { 1e+21, "1e+21" },
    { 1e+22, "1e+22" },
    { 1.7976931348623157e+308, "1.7976931348623157e+308" },
    { 5e-324, "5e-324" },
    { 2.2250738585072014e-308, "2.2250738585072014e-308" },
    { 14.036781000000001, "14.036781000000001" },
    { 12345.67, "12345.67" },
    { -1.5, "-1.5" },
    { 0x1p-140, "7.174648137343064e-43" },
    { 0x1p-296, "7.854549544476363e-90" },
    { 0x1p-1017, "7.120236347223045e-307" },
    { 1e+100, "1e+100" },
    { 123456789.5, "1.234567895e+08" },
    { 100000.5, "100000.5" },
    { 4.35, "4.35" },
    { 1000000000000000.5, "1.0000000000000005e+15" },
    { -1e-06, "-1e-06" },
    { 0.5, "0.5" },
    { 42.0, "42" },
    { -7.0, "-7" },
    { 1000000.0, "1000000" },
    { 59910002.0, "59910002" }, /* e2e-output.txt prints 5.9910002e+07: the same double */
    { 0.0, "0" },
    { -0.0, "0" },
    { 1.0, "1" },
    { -1.0, "-1" },
};

static void number_format(void **state)
{
    (void)state;
    char buf[64];
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        size_t n = expo_format_double(numbers[i].v, buf, sizeof(buf));
        if (strcmp(buf, numbers[i].want) != 0)
            fail_msg("%.17g: got %s, want %s", numbers[i].v, buf, numbers[i].want);
        assert_int_equal(n, strlen(buf));
    }
    assert_int_equal(expo_format_double(NAN, buf, sizeof(buf)), 3);
    assert_string_equal(buf, "NaN");
    expo_format_double(-NAN, buf, sizeof(buf));
    assert_string_equal(buf, "NaN");
    expo_format_double(INFINITY, buf, sizeof(buf));
    assert_string_equal(buf, "+Inf");
    expo_format_double(-INFINITY, buf, sizeof(buf));
    assert_string_equal(buf, "-Inf");
    /* truncated to the buffer, the full length returned */
    char small[5];
    assert_int_equal(expo_format_double(0.30000000000000004, small, sizeof(small)), 19);
    assert_string_equal(small, "0.30");
}

/* Any finite double reads back as itself, with at most 17 significant digits. */
static void number_round_trip(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char buf[64];
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof(v));
        if (!isfinite(v))
            continue;
        expo_format_double(v, buf, sizeof(buf));
        char *end;
        double back = strtod(buf, &end);
        if (*end != '\0' || back != v)
            fail_msg("%a printed as %s", v, buf);
        int digits = 0;
        for (const char *p = buf; *p && *p != 'e'; p++)
            digits += *p >= '0' && *p <= '9';
        assert_true(digits <= 17 || fabs(v) < 9007199254740992.0);
    }
    /* and the values counters take: ticks / 100, bytes, milliseconds * 0.001 */
    for (uint64_t t = 0; t < 200000; t += 7) {
        double v = (double)t / 100;
        expo_format_double(v, buf, sizeof(buf));
        assert_true(strtod(buf, NULL) == v);
        assert_true(strlen(buf) <= 9);
        v = (double)t * 0.001;
        expo_format_double(v, buf, sizeof(buf));
        assert_true(strtod(buf, NULL) == v);
    }
}

/* ---- content types and negotiation --------------------------------------------------- */

static void negotiation(void **state)
{
    (void)state;
    assert_string_equal(expo_content_type(EXPO_TEXT), "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(expo_content_type(EXPO_OPENMETRICS),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_string_equal(EXPO_CONTENT_TYPE_TEXT, expo_content_type(EXPO_TEXT));
}

static void units(void **state)
{
    (void)state;
    assert_string_equal(expo_unit("node_cpu_seconds_total", METRIC_COUNTER), "seconds");
    assert_string_equal(expo_unit("node_memory_MemTotal_bytes", METRIC_GAUGE), "bytes");
    assert_string_equal(expo_unit("perfkit_cpu_utilization_ratio", METRIC_GAUGE), "ratio");
    assert_null(expo_unit("node_filesystem_files", METRIC_GAUGE));
    assert_null(expo_unit("node_forks_total", METRIC_COUNTER));
    assert_null(expo_unit("perfkit_network_receive_bytes_per_second", METRIC_GAUGE));
    assert_null(expo_unit("bytes", METRIC_GAUGE));           /* a unit needs a name before it */
    assert_null(expo_unit("x_seconds_total", METRIC_GAUGE)); /* only a counter drops "_total" */
}

/* ---- OpenMetrics, structurally --------------------------------------------------------- */

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/*
 * What OpenMetrics 1.0 asks of an exposition without histograms: families
 * contiguous and unique, metadata (HELP, TYPE, UNIT, at most once each)
 * before the samples, a counter's family named without "_total" and its
 * samples with it, a unit that ends the family name, escapes limited to \\,
 * \" and \n, a value on every sample, no blank line, and "# EOF" once, last.
 * Returns the number of samples.
 */
static size_t check_openmetrics(const char *text)
{
    size_t len = strlen(text), samples = 0;
    assert_true(ends_with(text, len, "# EOF\n"));
    char seen[512][160];
    size_t nseen = 0;
    char family[160] = "", type[16] = "";
    bool had_samples = false, had_help = false, had_type = false, had_unit = false;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(eol);
        size_t n = (size_t)(eol - p);
        assert_true(n > 0); /* no blank line */
        if (n == 5 && memcmp(p, "# EOF", 5) == 0) {
            assert_ptr_equal(eol + 1, end);
            break;
        }
        if (p[0] == '#') {
            char kind[8], name[160];
            assert_int_equal(sscanf(p, "# %7s %159s", kind, name), 2);
            if (strcmp(name, family) != 0) { /* a new family */
                for (size_t i = 0; i < nseen; i++)
                    if (strcmp(seen[i], name) == 0)
                        fail_msg("family %s appears twice", name);
                assert_true(nseen < 512);
                snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
                snprintf(family, sizeof(family), "%s", name);
                had_samples = had_help = had_type = had_unit = false;
                type[0] = '\0';
            }
            assert_false(had_samples); /* metadata first */
            const char *rest = p + 2 + strlen(kind) + 1 + strlen(name);
            if (strcmp(kind, "HELP") == 0) {
                assert_false(had_help);
                had_help = true;
                for (const char *q = rest; q < eol; q++)
                    if (*q == '\\') {
                        assert_true(q[1] == '\\' || q[1] == 'n' || q[1] == '"');
                        q++;
                    } else {
                        assert_true(*q != '"');
                    }
            } else if (strcmp(kind, "TYPE") == 0) {
                assert_false(had_type);
                had_type = true;
                assert_int_equal(sscanf(rest, " %15s", type), 1);
                assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                            strcmp(type, "unknown") == 0);
                if (strcmp(type, "counter") == 0)
                    assert_false(ends_with(family, strlen(family), "_total"));
            } else if (strcmp(kind, "UNIT") == 0) {
                assert_false(had_unit);
                had_unit = true;
                char unit[64], suffix[70];
                assert_int_equal(sscanf(rest, " %63s", unit), 1);
                snprintf(suffix, sizeof(suffix), "_%s", unit);
                assert_true(ends_with(family, strlen(family), suffix));
            } else {
                fail_msg("unknown metadata line: %.*s", (int)n, p);
            }
        } else {
            assert_true(had_type);
            had_samples = true;
            size_t nl = strcspn(p, "{ ");
            assert_true(p + nl < eol);
            char want[170];
            snprintf(want, sizeof(want), "%s%s", family, strcmp(type, "counter") == 0 ? "_total" : "");
            if (nl != strlen(want) || memcmp(p, want, nl) != 0)
                fail_msg("sample %.*s in family %s", (int)n, p, family);
            const char *q = p + nl;
            if (*q == '{') {
                for (q++; *q != '}'; q++) {
                    assert_true(q < eol);
                    if (*q == '"') {
                        for (q++; *q != '"'; q++) {
                            assert_true(q < eol);
                            if (*q == '\\') {
                                assert_true(q[1] == '\\' || q[1] == 'n' || q[1] == '"');
                                q++;
                            }
                        }
                    }
                }
                q++;
            }
            assert_true(*q == ' ');
            char *vend;
            double v = strtod(q + 1, &vend);
            (void)v;
            assert_ptr_equal(vend, eol);
            samples++;
        }
        p = eol + 1;
    }
    return samples;
}

static void openmetrics_structure(void **state)
{
    (void)state;
    char *out;
    size_t len;
    struct pk_err e;
    struct metric_set s;
    small_set(&s);
    assert_int_equal(expo_render(&s, EXPO_OPENMETRICS, &out, &len, &e), 0);
    assert_int_equal(check_openmetrics(out), 10);
    free(out);
    metric_set_destroy(&s);

    /* The full output of the collector on both fixture trees, first and second sample. */
    const char *trees[][2] = { { NE_PROC, VM "/statvfs.tsv" }, { VM "/proc", VM "/statvfs.tsv" } };
    for (size_t t = 0; t < 2; t++) {
        struct collect_opts o;
        collect_opts_init(&o);
        o.procfs = trees[t][0];
        o.statvfs_table = trees[t][1];
        struct collect c;
        assert_int_equal(collect_init(&c, &o, &e), 0);
        metric_set_init(&s);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(collect_sample(&c, &s, 1700000000000 + 1000 * k, &e), 0);
            assert_int_equal(expo_render(&s, EXPO_OPENMETRICS, &out, &len, &e), 0);
            assert_int_equal(check_openmetrics(out), s.nseries);
            free(out);
            /* the text format has the same samples */
            assert_int_equal(expo_render(&s, EXPO_TEXT, &out, &len, &e), 0);
            size_t lines = 0;
            for (char *q = out; *q; q++)
                lines += *q == '\n';
            size_t meta = 0;
            for (size_t i = 0; i < s.nfam; i++)
                meta += s.fam[i].n ? 1 + (s.fam[i].help[0] != '\0') : 0;
            assert_int_equal(lines, s.nseries + meta);
            free(out);
        }
        metric_set_destroy(&s);
        collect_destroy(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_format),
        cmocka_unit_test(openmetrics_format),
        cmocka_unit_test(empty_and_several_sets),
        cmocka_unit_test(number_format),
        cmocka_unit_test(number_round_trip),
        cmocka_unit_test(negotiation),
        cmocka_unit_test(units),
        cmocka_unit_test(openmetrics_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
