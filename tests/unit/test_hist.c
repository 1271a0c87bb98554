#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "core/hdrlog.h"
#include "core/hist.h"

/*
 * Expected values come from tests/fixtures/hist/: expected.json is computed
 * by gen.py from HdrHistogram's published layout and algorithms, without this
 * code; hdrhistogram.json is what HdrHistogram's own Java library (2.1.11)
 * printed and encoded for the same histograms, and gen.py checked the two
 * agree. Numbers must match exactly (same double operations in the same
 * order); texts and encodings byte for byte. Compressed bytes are compared
 * byte for byte only under the zlib version that made the fixtures.
 */

struct fixtures {
    json_t *expected;
    json_t *java;
};

static int load_fixtures(void **state)
{
    json_error_t jerr;
    struct fixtures *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->expected = json_load_file(PK_FIXTURES "/hist/expected.json", 0, &jerr);
    if (!f->expected) {
        fprintf(stderr, "expected.json:%d: %s\n", jerr.line, jerr.text);
        return -1;
    }
    f->java = json_load_file(PK_FIXTURES "/hist/hdrhistogram.json", 0, &jerr);
    if (!f->java) {
        fprintf(stderr, "hdrhistogram.json:%d: %s\n", jerr.line, jerr.text);
        return -1;
    }
    *state = f;
    return 0;
}

static int free_fixtures(void **state)
{
    struct fixtures *f = *state;
    json_decref(f->expected);
    json_decref(f->java);
    free(f);
    return 0;
}

static json_t *cases(void **state)
{
    json_t *a = json_object_get(((struct fixtures *)*state)->expected, "cases");
    assert_true(json_is_array(a) && json_array_size(a) > 0);
    return a;
}

static json_t *java_case(void **state, const char *name)
{
    json_t *c = json_object_get(json_object_get(((struct fixtures *)*state)->java, "cases"), name);
    assert_non_null(c);
    return c;
}

static json_t *case_named(void **state, const char *name)
{
    json_t *c;
    size_t i;
    json_array_foreach(cases(state), i,
                       c) if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0) return c;
    fail_msg("no case %s", name);
    return NULL;
}

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    assert_non_null(s);
    return s;
}

static long long int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static bool same_zlib(void **state)
{
    const char *made = str_of(((struct fixtures *)*state)->java, "zlib");
    return strcmp(made, zlibVersion()) == 0;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    fail_msg("bad hex digit '%c'", c);
    return 0;
}

/* Caller frees. */
static uint8_t *unhex(const char *s, size_t *len)
{
    size_t n = strlen(s);
    assert_int_equal(n % 2, 0);
    uint8_t *p = malloc(n / 2 + 1);
    assert_non_null(p);
    for (size_t i = 0; i < n / 2; i++)
        p[i] = (uint8_t)(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
    *len = n / 2;
    return p;
}

static void assert_bytes(const uint8_t *got, size_t got_len, const char *want_hex, const char *what)
{
    size_t want_len;
    uint8_t *want = unhex(want_hex, &want_len);
    if (got_len != want_len || memcmp(got, want, got_len) != 0) {
        size_t i = 0;
        while (i < got_len && i < want_len && got[i] == want[i])
            i++;
        free(want);
        fail_msg("%s: %zu bytes, HdrHistogram's are %zu; first difference at byte %zu", what, got_len,
                 want_len, i);
    }
    free(want);
}

static void assert_text(const char *got, const char *want, const char *what)
{
    if (strcmp(got, want) == 0)
        return;
    size_t i = 0, line = 1;
    while (got[i] && got[i] == want[i])
        line += got[i++] == '\n';
    while (i > 0 && got[i - 1] != '\n')
        i--;
    fail_msg("%s differs at line %zu:\n  got:  %.80s\n  want: %.80s", what, line, got + i, want + i);
}

/* The case's histogram, recorded value by value (record_n only for huge counts). */
static void build(json_t *c, struct hist *h)
{
    assert_int_equal(hist_init(h, int_of(c, "lowest"), int_of(c, "highest"), (int)int_of(c, "sigfigs"), NULL),
                     0);
    json_t *range = json_object_get(c, "range");
    if (range) {
        int64_t lo = json_integer_value(json_array_get(range, 0));
        int64_t hi = json_integer_value(json_array_get(range, 1));
        for (int64_t v = lo; v <= hi; v++)
            assert_int_equal(hist_record(h, v), 0);
        return;
    }
    json_t *pair;
    size_t i;
    json_array_foreach(json_object_get(c, "values"), i, pair)
    {
        int64_t v = json_integer_value(json_array_get(pair, 0));
        int64_t n = json_integer_value(json_array_get(pair, 1));
        if (n > 100000) {
            assert_int_equal(hist_record_n(h, v, n), 0);
        } else {
            for (int64_t k = 0; k < n; k++)
                assert_int_equal(hist_record(h, v), 0);
        }
    }
}

static void assert_same_counts(const struct hist *a, const struct hist *b)
{
    assert_true(hist_same_layout(a, b));
    assert_int_equal(a->counts_len, b->counts_len);
    for (int i = 0; i < a->counts_len; i++)
        if (a->counts[i] != b->counts[i])
            fail_msg("count %d: %lld != %lld", i, (long long)a->counts[i], (long long)b->counts[i]);
    assert_int_equal(hist_total(a), hist_total(b));
    assert_int_equal(hist_min(a), hist_min(b));
    assert_int_equal(hist_max(a), hist_max(b));
}

/* ---- layout */

static void layout_of_one_microsecond_to_one_hour(void **state)
{
    (void)state;
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 3600LL * 1000 * 1000, 3, NULL), 0);
    assert_int_equal(h.sub_bucket_count, 2048); /* 2^ceil(log2(2000)) */
    assert_int_equal(h.bucket_count, 22);       /* 2048 * 2^21 > 3.6e9 */
    assert_int_equal(h.counts_len, 23 * 1024);
    assert_int_equal(h.unit_magnitude, 0);
    hist_destroy(&h);

    static const int sub[] = { 0, 32, 256, 2048, 32768, 262144 };
    for (int d = 1; d <= 5; d++) {
        assert_int_equal(hist_init(&h, 1, 1000, d, NULL), 0);
        assert_int_equal(h.sub_bucket_count, sub[d]);
        hist_destroy(&h);
    }
    assert_int_equal(hist_init(&h, 1000, 100000000, 2, NULL), 0);
    assert_int_equal(h.unit_magnitude, 9); /* 1000 rounds down to 512 */
    hist_destroy(&h);
}

static void layout_matches_hdrhistogram(void **state)
{
    json_t *c;
    size_t i;
    json_array_foreach(cases(state), i, c)
    {
        struct hist h;
        assert_int_equal(
            hist_init(&h, int_of(c, "lowest"), int_of(c, "highest"), (int)int_of(c, "sigfigs"), NULL), 0);
        json_t *l = json_object_get(c, "layout");
        assert_int_equal(h.bucket_count, int_of(l, "bucket_count"));
        assert_int_equal(h.sub_bucket_count, int_of(l, "sub_bucket_count"));
        assert_int_equal(h.counts_len, int_of(l, "counts_len"));
        assert_int_equal(h.unit_magnitude, int_of(l, "unit_magnitude"));
        hist_destroy(&h);
    }
}

static void init_rejects_bad_layouts(void **state)
{
    (void)state;
    struct hist h;
    struct pk_err e;
    static const struct {
        int64_t lo, hi;
        int d;
    } bad[] = {
        { 0, 100, 3 },
        { -1, 100, 3 },
        { 1, 100, 0 },
        { 1, 100, 6 },
        { 10, 19, 3 },
        { 1, 1, 3 },
        { INT64_MAX / 2 + 1, INT64_MAX, 3 },
        { INT64_C(1) << 45, INT64_MAX, 5 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        assert_int_equal(hist_init(&h, bad[i].lo, bad[i].hi, bad[i].d, &e), -EINVAL);
        assert_int_equal(e.code, -EINVAL);
        assert_true(e.why[0] != '\0');
        assert_null(h.counts);
        hist_destroy(&h); /* harmless on a failed init */
    }
    assert_int_equal(hist_init(&h, INT64_C(1) << 44, INT64_MAX, 5, NULL), 0);
    hist_destroy(&h);
    hist_destroy(&h);
}

/* ---- statistics against both sources */

static void statistics_match_hdrhistogram(void **state)
{
    json_t *c;
    size_t i;
    json_array_foreach(cases(state), i, c)
    {
        const char *name = str_of(c, "name");
        struct hist h;
        build(c, &h);
        assert_int_equal(hist_total(&h), int_of(c, "total"));
        assert_int_equal(hist_min(&h), int_of(c, "min"));
        assert_int_equal(hist_max(&h), int_of(c, "max"));
        double mean = json_number_value(json_object_get(c, "mean"));
        double sd = json_number_value(json_object_get(c, "stddev"));
        if (hist_mean(&h) != mean || hist_stddev(&h) != sd)
            fail_msg("%s: mean %.17g sd %.17g, want %.17g %.17g", name, hist_mean(&h), hist_stddev(&h), mean,
                     sd);
        json_t *pv;
        size_t k;
        json_array_foreach(json_object_get(c, "percentiles"), k, pv)
        {
            double p = json_number_value(json_array_get(pv, 0));
            int64_t want = json_integer_value(json_array_get(pv, 1));
            if (hist_value_at_percentile(&h, p) != want)
                fail_msg("%s: p%g = %lld, want %lld", name, p, (long long)hist_value_at_percentile(&h, p),
                         (long long)want);
        }
        json_array_foreach(json_object_get(c, "equivalents"), k, pv)
        {
            int64_t v = json_integer_value(json_array_get(pv, 0));
            assert_int_equal(hist_lowest_equivalent(&h, v), json_integer_value(json_array_get(pv, 1)));
            assert_int_equal(hist_highest_equivalent(&h, v), json_integer_value(json_array_get(pv, 2)));
            assert_int_equal(hist_median_equivalent(&h, v), json_integer_value(json_array_get(pv, 3)));
            assert_int_equal(hist_equivalent_range(&h, v), json_integer_value(json_array_get(pv, 4)));
        }
        hist_destroy(&h);
    }
}

static int64_t expected_percentile(json_t *c, double p)
{
    json_t *pv;
    size_t i;
    json_array_foreach(json_object_get(c, "percentiles"), i,
                       pv) if (json_number_value(json_array_get(pv, 0)) ==
                               p) return json_integer_value(json_array_get(pv, 1));
    fail_msg("no p%g in the fixture", p);
    return -1;
}

/* 1..1,000,000 once each: each percentile within 3 significant digits of the
 * exact order statistic (the 10000 * p-th value), and the value HdrHistogram
 * reports. */
static void uniform_percentiles_are_within_precision(void **state)
{
    json_t *c = case_named(state, "uniform");
    struct hist h;
    build(c, &h);
    static const double ps[] = { 50, 90, 99, 99.9, 99.99, 100 };
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        int64_t exact = (int64_t)llround(ps[i] * 10000);
        int64_t got = hist_value_at_percentile(&h, ps[i]);
        assert_int_equal(got, expected_percentile(c, ps[i]));
        if (got < exact || got - exact > exact / 1000)
            fail_msg("p%g = %lld, exact %lld", ps[i], (long long)got, (long long)exact);
    }
    assert_int_equal(hist_max(&h), expected_percentile(c, 100));
    assert_true(hist_max(&h) - 1000000 <= 1000);
    assert_int_equal(hist_min(&h), 1);
    hist_destroy(&h);
}

static void recorded_iteration_matches(void **state)
{
    json_t *c;
    size_t i;
    json_array_foreach(cases(state), i, c)
    {
        struct hist h;
        build(c, &h);
        json_t *r = json_object_get(c, "recorded");
        uint64_t check = 0, steps = 0;
        int64_t prev_total = 0;
        struct hist_iter it;
        hist_iter_recorded(&it, &h);
        while (hist_iter_next(&it)) {
            steps++;
            assert_int_equal(it.count_step, it.count);
            assert_int_equal(it.total, prev_total + it.count);
            assert_int_equal(it.value_lowest, hist_lowest_equivalent(&h, it.value));
            prev_total = it.total;
            check += steps * ((uint64_t)it.value * 31 + (uint64_t)it.count);
            if (steps <= 5) {
                json_t *want = json_array_get(json_object_get(r, "head"), steps - 1);
                assert_int_equal(it.value, json_integer_value(json_array_get(want, 0)));
                assert_int_equal(it.count, json_integer_value(json_array_get(want, 1)));
            }
        }
        assert_int_equal(steps, int_of(r, "steps"));
        assert_int_equal(prev_total, hist_total(&h));
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, check);
        assert_string_equal(str_of(r, "check"), buf);
        hist_destroy(&h);
    }
}

/* ---- per-thread histograms */

static void merge_equals_recording_in_one(void **state)
{
    json_t *c = case_named(state, "latency");
    struct hist one, part[4], sum;
    assert_int_equal(hist_init(&one, 1, 3600000000LL, 3, NULL), 0);
    for (int t = 0; t < 4; t++)
        assert_int_equal(hist_init(&part[t], 1, 3600000000LL, 3, NULL), 0);
    json_t *pair;
    size_t i;
    int t = 0;
    json_array_foreach(json_object_get(c, "values"), i, pair)
    {
        int64_t v = json_integer_value(json_array_get(pair, 0));
        int64_t n = json_integer_value(json_array_get(pair, 1));
        for (int64_t k = 0; k < n; k++) {
            assert_int_equal(hist_record(&one, v), 0);
            assert_int_equal(hist_record(&part[t++ % 4], v), 0);
        }
    }
    assert_int_equal(hist_init(&sum, 1, 3600000000LL, 3, NULL), 0);
    for (t = 0; t < 4; t++)
        assert_int_equal(hist_merge(&sum, &part[t], NULL), 0);
    assert_same_counts(&sum, &one);
    assert_true(hist_mean(&sum) == hist_mean(&one));
    assert_int_equal(hist_total(&sum), int_of(c, "total"));
    assert_int_equal(hist_value_at_percentile(&sum, 99.0), expected_percentile(c, 99.0));
    for (t = 0; t < 4; t++)
        hist_destroy(&part[t]);
    hist_destroy(&sum);
    hist_destroy(&one);
}

static void merge_refuses_other_layouts_and_overflow(void **state)
{
    (void)state;
    struct hist a, b, c;
    struct pk_err e;
    assert_int_equal(hist_init(&a, 1, 3600000000LL, 3, NULL), 0);
    assert_int_equal(hist_init(&b, 1, 3600000000LL, 2, NULL), 0);
    assert_int_equal(hist_init(&c, 1, 3600000000LL, 3, NULL), 0);
    assert_int_equal(hist_record(&a, 5), 0);
    assert_int_equal(hist_record(&b, 5), 0);
    pk_err_clear(&e);
    assert_int_equal(hist_merge(&a, &b, &e), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_int_equal(hist_total(&a), 1);

    assert_int_equal(hist_record_n(&a, 10, INT64_MAX - 1), 0);
    assert_int_equal(hist_record_n(&c, 20, 2), 0);
    pk_err_clear(&e);
    assert_int_equal(hist_merge(&a, &c, &e), -EOVERFLOW);
    assert_int_equal(hist_total(&a), INT64_MAX);
    assert_int_equal(a.counts[hist_index_of(&a, 20)], 0);

    /* Same bucket layout, different highest: HdrHistogram adds them too. */
    struct hist d;
    assert_int_equal(hist_init(&d, 1, 3000000000LL, 3, NULL), 0);
    assert_true(hist_same_layout(&c, &d));
    assert_int_equal(hist_merge(&d, &c, NULL), 0);
    assert_int_equal(hist_total(&d), 2);
    hist_destroy(&a);
    hist_destroy(&b);
    hist_destroy(&c);
    hist_destroy(&d);
}

static void record_clamps_and_rejects(void **state)
{
    (void)state;
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 1000000, 3, NULL), 0);
    assert_int_equal(hist_record(&h, -1), -EINVAL);
    assert_int_equal(hist_record_n(&h, -1, 1), -EINVAL);
    assert_int_equal(hist_record_n(&h, 1, -1), -EINVAL);
    assert_int_equal(hist_total(&h), 0);
    assert_int_equal(hist_record(&h, INT64_MAX), 0);
    assert_int_equal(hist_record_n(&h, 5000000, 3), 0);
    assert_int_equal(hist_record(&h, 1000000), 0);
    assert_int_equal(h.clamped, 4);
    assert_int_equal(hist_total(&h), 5);
    assert_int_equal(hist_max(&h), hist_highest_equivalent(&h, 1000000));
    assert_int_equal(hist_value_at_percentile(&h, 50), hist_highest_equivalent(&h, 1000000));
    assert_int_equal(hist_record_n(&h, 3, 0), 0);
    assert_int_equal(hist_total(&h), 5);
    assert_int_equal(hist_record_n(&h, 3, INT64_MAX), -EOVERFLOW);
    assert_int_equal(hist_total(&h), 5);

    hist_reset(&h);
    assert_int_equal(hist_total(&h), 0);
    assert_int_equal(h.clamped, 0);
    assert_int_equal(hist_max(&h), 0);
    assert_int_equal(hist_min(&h), 0);
    assert_true(hist_mean(&h) == 0 && hist_stddev(&h) == 0);
    assert_int_equal(hist_value_at_percentile(&h, 99), 0);
    struct hist_iter it;
    hist_iter_percentiles(&it, &h, 5);
    assert_false(hist_iter_next(&it));
    hist_iter_recorded(&it, &h);
    assert_false(hist_iter_next(&it));
    for (int i = 0; i < h.counts_len; i++)
        assert_int_equal(h.counts[i], 0);
    hist_destroy(&h);
}

/* ---- percentile spectrum */

/* With 2^63 - 2 counts below one last value, the cumulative percentile is
 * 100.0 in doubles a bucket early and the levels stop advancing near 100%:
 * HdrHistogram would print the same line forever; here it ends at the max. */
static void percentile_iteration_ends_on_huge_totals(void **state)
{
    (void)state;
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 3600000000LL, 3, NULL), 0);
    assert_int_equal(hist_record_n(&h, 1, INT64_MAX - 1), 0);
    assert_int_equal(hist_record(&h, 1000000), 0);
    struct hist_iter it;
    hist_iter_percentiles(&it, &h, 5);
    int steps = 0;
    int64_t last = -1;
    double level = -1;
    while (hist_iter_next(&it) && steps < 100000) {
        assert_true(it.percentile > level);
        level = it.percentile;
        last = it.value;
        steps++;
    }
    assert_true(steps < 2000);
    assert_true(level == 100.0);
    assert_int_equal(last, hist_max(&h));
    assert_int_equal(it.total, INT64_MAX);
    char *text;
    assert_int_equal(hdrlog_spectrum(&h, 5, 1.0, &text, NULL, NULL), 0);
    assert_non_null(strstr(text, "9223372036854775807]"));
    free(text);
    hist_destroy(&h);
}

static void spectrum_is_hdrhistograms_text(void **state)
{
    json_t *c;
    size_t i;
    int n = 0;
    json_array_foreach(cases(state), i, c)
    {
        const char *name = str_of(c, "name");
        struct hist h;
        build(c, &h);
        json_t *s, *js = json_object_get(java_case(state, name), "spectra");
        size_t k;
        json_array_foreach(json_object_get(c, "spectra"), k, s)
        {
            int ticks = (int)int_of(s, "ticks");
            double ratio = json_number_value(json_object_get(s, "ratio"));
            char *text;
            size_t len;
            assert_int_equal(hdrlog_spectrum(&h, ticks, ratio, &text, &len, NULL), 0);
            assert_int_equal(len, strlen(text));
            char what[96];
            snprintf(what, sizeof(what), "%s spectrum (%d ticks, ratio %g)", name, ticks, ratio);
            assert_text(text, str_of(s, "text"), what);
            assert_text(text, str_of(json_array_get(js, k), "text"), what);
            free(text);
            n++;
        }
        hist_destroy(&h);
    }
    assert_true(n >= 15);
}

static void spectrum_rejects_bad_arguments(void **state)
{
    (void)state;
    struct hist h;
    struct pk_err e;
    char *text = NULL;
    assert_int_equal(hist_init(&h, 1, 1000, 3, NULL), 0);
    assert_int_equal(hdrlog_spectrum(&h, 0, 1.0, &text, NULL, &e), -EINVAL);
    assert_int_equal(hdrlog_spectrum(&h, 5, 0.0, &text, NULL, &e), -EINVAL);
    assert_int_equal(hdrlog_spectrum(&h, 5, -1.0, &text, NULL, &e), -EINVAL);
    assert_int_equal(hdrlog_spectrum(&h, 5, INFINITY, &text, NULL, &e), -EINVAL);
    assert_int_equal(hdrlog_spectrum(&h, 5, NAN, &text, NULL, &e), -EINVAL);
    assert_null(text);
    hist_destroy(&h);
}

static void java_number_formatting(void **state)
{
    json_t *row;
    size_t i;
    json_array_foreach(json_object_get(((struct fixtures *)*state)->java, "format"), i, row)
    {
        double v = json_number_value(json_array_get(row, 0));
        const char *want = json_string_value(json_array_get(row, 1));
        char got[1400] = "", one[400];
        static const int precs[] = { 2, 3, 5, 12 };
        for (int k = 0; k < 4; k++) {
            assert_int_equal(hdrlog_format_fixed(v, precs[k], one, sizeof(one)), 0);
            strcat(got, one);
            if (k < 3)
                strcat(got, "|");
        }
        if (strcmp(got, want) != 0)
            fail_msg("%.17g: got %s, Java %s", v, got, want);
    }
    char small[6];
    assert_int_equal(hdrlog_format_fixed(123.456, 3, small, sizeof(small)), -ENOSPC);
    assert_string_equal(small, "");
    assert_int_equal(hdrlog_format_fixed(NAN, 3, small, sizeof(small)), 0);
    assert_string_equal(small, "NaN");
    assert_int_equal(hdrlog_format_fixed(-INFINITY, 3, small, sizeof(small)), -ENOSPC);
    char ten[10];
    assert_int_equal(hdrlog_format_fixed(-INFINITY, 3, ten, sizeof(ten)), 0);
    assert_string_equal(ten, "-Infinity");
}

/* A program that set a decimal-comma locale still writes HdrHistogram's
 * formats (skipped where no such locale is installed). */
static void output_ignores_the_locale(void **state)
{
    json_t *c = case_named(state, "latency");
    struct hist h;
    build(c, &h);
    char *plain, *text;
    assert_int_equal(hdrlog_spectrum(&h, 5, 1000.0, &plain, NULL, NULL), 0);
    static const char *names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8" };
    const char *set = NULL;
    for (size_t i = 0; i < 4 && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]);
    if (!set) {
        free(plain);
        hist_destroy(&h);
        skip();
    }
    char probe[16];
    snprintf(probe, sizeof(probe), "%.1f", 1.5);
    assert_int_equal(hdrlog_spectrum(&h, 5, 1000.0, &text, NULL, NULL), 0);
    setlocale(LC_NUMERIC, "C");
    assert_string_equal(probe, "1,5");
    assert_text(text, plain, "spectrum under a decimal-comma locale");
    free(text);
    free(plain);
    hist_destroy(&h);
}

/* ---- V2 and compressed encodings */

static void encoding_is_hdrhistograms_bytes(void **state)
{
    bool zsame = same_zlib(state);
    if (!zsame)
        print_message("zlib %s, fixtures made with %s: compressed bytes compared by content\n", zlibVersion(),
                      str_of(((struct fixtures *)*state)->java, "zlib"));
    json_t *c;
    size_t i;
    json_array_foreach(cases(state), i, c)
    {
        const char *name = str_of(c, "name");
        json_t *j = java_case(state, name);
        struct hist h;
        build(c, &h);
        uint8_t *p;
        size_t len;
        char what[64];
        assert_int_equal(hdrlog_encode(&h, &p, &len, NULL), 0);
        snprintf(what, sizeof(what), "%s V2", name);
        assert_bytes(p, len, str_of(j, "v2"), what);
        assert_bytes(p, len, str_of(c, "v2"), what);
        free(p);
        static const struct {
            int level;
            const char *key;
        } z[] = { { 9, "compressed9" }, { -1, "compressed_default" } };
        for (int k = 0; k < 2; k++) {
            assert_int_equal(hdrlog_encode_compressed(&h, z[k].level, &p, &len, NULL), 0);
            snprintf(what, sizeof(what), "%s %s", name, z[k].key);
            if (zsame) {
                assert_bytes(p, len, str_of(j, z[k].key), what);
                assert_bytes(p, len, str_of(c, z[k].key), what);
            }
            /* Whatever the zlib, HdrHistogram's own bytes decode to this histogram. */
            size_t jlen;
            uint8_t *jb = unhex(str_of(j, z[k].key), &jlen);
            struct hist back;
            assert_int_equal(hdrlog_decode_compressed(jb, jlen, &back, NULL), 0);
            assert_same_counts(&back, &h);
            hist_destroy(&back);
            free(jb);
            free(p);
        }
        hist_destroy(&h);
    }
}

static void encode_decode_round_trip(void **state)
{
    json_t *c;
    size_t i;
    json_array_foreach(cases(state), i, c)
    {
        struct hist h, back;
        build(c, &h);
        uint8_t *p;
        size_t len;
        assert_int_equal(hdrlog_encode(&h, &p, &len, NULL), 0);
        assert_int_equal(hdrlog_decode(p, len, &back, NULL), 0);
        assert_same_counts(&back, &h);
        assert_int_equal(back.lowest, h.lowest);
        assert_int_equal(back.highest, h.highest);
        assert_int_equal(back.sigfigs, h.sigfigs);
        assert_true(hist_mean(&back) == hist_mean(&h));
        hist_destroy(&back);
        free(p);

        assert_int_equal(hdrlog_encode_compressed(&h, 1, &p, &len, NULL), 0);
        assert_int_equal(hdrlog_decode_compressed(p, len, &back, NULL), 0);
        assert_same_counts(&back, &h);
        hist_destroy(&back);
        free(p);
        hist_destroy(&h);
    }
}

/* ---- decoder errors: every length and field is checked */

static uint8_t *v2_of(int64_t lowest, int64_t highest, int digits, const int64_t *values, size_t n,
                      size_t *len)
{
    struct hist h;
    assert_int_equal(hist_init(&h, lowest, highest, digits, NULL), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hist_record(&h, values[i]), 0);
    uint8_t *p;
    assert_int_equal(hdrlog_encode(&h, &p, len, NULL), 0);
    hist_destroy(&h);
    return p;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* Decoding fails with PK_EPARSE, a message that contains `why`, and h untouched. */
static void expect_v2_error(const uint8_t *p, size_t len, const char *why)
{
    struct hist h;
    memset(&h, 0xA5, sizeof(h));
    struct hist before = h;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = hdrlog_decode(p, len, &h, &e);
    if (rc != PK_EPARSE || !strstr(e.why, why))
        fail_msg("decode: rc %d, why '%s', expected PK_EPARSE and '%s'", rc, e.why, why);
    assert_int_equal(e.code, PK_EPARSE);
    assert_memory_equal(&h, &before, sizeof(h));
}

static void expect_z_error(const uint8_t *p, size_t len, const char *why)
{
    struct hist h;
    memset(&h, 0x5A, sizeof(h));
    struct hist before = h;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = hdrlog_decode_compressed(p, len, &h, &e);
    if (rc != PK_EPARSE || !strstr(e.why, why))
        fail_msg("decode_compressed: rc %d, why '%s', expected PK_EPARSE and '%s'", rc, e.why, why);
    assert_memory_equal(&h, &before, sizeof(h));
}

/* Hand-made V2 bytes: a header and the given payload bytes. */
static size_t hand_v2(uint8_t *p, int64_t lowest, int64_t highest, int digits, const uint8_t *pay, size_t n)
{
    memset(p, 0, 40);
    put_be32(p, 0x1c849313);
    put_be32(p + 4, (uint32_t)n);
    put_be32(p + 12, (uint32_t)digits);
    put_be64(p + 16, (uint64_t)lowest);
    put_be64(p + 24, (uint64_t)highest);
    put_be64(p + 32, UINT64_C(0x3ff0000000000000));
    memcpy(p + 40, pay, n);
    return 40 + n;
}

static void v2_decoder_errors(void **state)
{
    (void)state;
    static const int64_t vals[] = { 0, 1, 5, 5, 1000, 123456 };
    size_t len;
    uint8_t *good = v2_of(1, 3600000000LL, 3, vals, 6, &len);
    uint8_t buf[4096];
    struct hist ok;
    assert_int_equal(hdrlog_decode(good, len, &ok, NULL), 0);
    hist_destroy(&ok);

    for (size_t n = 0; n < 4; n++)
        expect_v2_error(good, n, "shorter than a cookie");
    for (size_t n = 4; n < 40; n++)
        expect_v2_error(good, n, "40-byte header");
    for (size_t n = 40; n < len; n++)
        expect_v2_error(good, n, "payload length");

    memcpy(buf, good, len);
    buf[len] = 0;
    expect_v2_error(buf, len + 1, "payload length");

    memcpy(buf, good, len);
    put_be32(buf, 0xdeadbeef);
    expect_v2_error(buf, len, "not an HdrHistogram V2 cookie");
    put_be32(buf, 0x1c849301);
    expect_v2_error(buf, len, "V0/V1");
    put_be32(buf, 0x1c849314);
    expect_v2_error(buf, len, "compressed histogram where");
    put_be32(buf, 0x1c849303); /* the word-size nibble is not checked */
    assert_int_equal(hdrlog_decode(buf, len, &ok, NULL), 0);
    hist_destroy(&ok);

    memcpy(buf, good, len);
    put_be32(buf + 4, 0x80000000u);
    expect_v2_error(buf, len, "negative payload length");
    memcpy(buf, good, len);
    put_be32(buf + 8, 1);
    expect_v2_error(buf, len, "normalizing index offset");

    static const uint8_t zero = 0;
    size_t n = hand_v2(buf, 1, 1000, 0, &zero, 1);
    expect_v2_error(buf, n, "significant digits");
    n = hand_v2(buf, 1, 1000, 6, &zero, 1);
    expect_v2_error(buf, n, "significant digits");
    n = hand_v2(buf, 0, 1000, 3, &zero, 1);
    expect_v2_error(buf, n, "below 1");
    n = hand_v2(buf, 100, 150, 3, &zero, 1);
    expect_v2_error(buf, n, "twice the lowest");
    n = hand_v2(buf, -5, 1000, 3, &zero, 1);
    expect_v2_error(buf, n, "below 1");

    /* lengths beyond what the declared layout can hold */
    struct hist small;
    assert_int_equal(hist_init(&small, 1, 2, 1, NULL), 0);
    size_t big = (size_t)small.counts_len * 9 + 1;
    hist_destroy(&small);
    uint8_t *huge = malloc(40 + big), *zeros = calloc(1, big);
    assert_non_null(huge);
    assert_non_null(zeros);
    n = hand_v2(huge, 1, 2, 1, zeros, big);
    expect_v2_error(huge, n, "longer than");
    free(zeros);
    free(huge);

    /* counts: a number cut short, too many counts, too long a run of zeros */
    static const uint8_t cut[] = { 0x02, 0x81 };
    n = hand_v2(buf, 1, 1000, 1, cut, sizeof(cut));
    expect_v2_error(buf, n, "runs past the end");
    static const uint8_t cut9[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    n = hand_v2(buf, 1, 1000, 1, cut9, sizeof(cut9));
    expect_v2_error(buf, n, "runs past the end");
    assert_int_equal(hist_init(&small, 1, 1000, 1, NULL), 0);
    uint8_t many[600];
    assert_true((size_t)small.counts_len + 1 <= sizeof(many));
    memset(many, 0x02, sizeof(many)); /* zigzag 1, one count each */
    n = hand_v2(buf, 1, 1000, 1, many, (size_t)small.counts_len + 1);
    expect_v2_error(buf, n, "more counts than");
    n = hand_v2(buf, 1, 1000, 1, many, (size_t)small.counts_len);
    assert_int_equal(hdrlog_decode(buf, n, &ok, NULL), 0);
    assert_int_equal(hist_total(&ok), small.counts_len);
    hist_destroy(&ok);
    uint8_t run[4] = { 0x02 };
    /* -(counts_len) after one count: one past the end */
    uint64_t zz = ((uint64_t)small.counts_len << 1) - 1;
    run[1] = (uint8_t)((zz & 0x7f) | 0x80);
    run[2] = (uint8_t)(zz >> 7);
    n = hand_v2(buf, 1, 1000, 1, run, 3);
    expect_v2_error(buf, n, "zero counts goes past");
    static const uint8_t minrun[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    n = hand_v2(buf, 1, 1000, 1, minrun, sizeof(minrun)); /* INT64_MIN */
    expect_v2_error(buf, n, "zero counts goes past");
    hist_destroy(&small);

    /* counts that overflow a 64-bit total: INT64_MAX twice */
    static const uint8_t maxc[] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    n = hand_v2(buf, 1, 1000, 1, maxc, 9);
    assert_int_equal(hdrlog_decode(buf, n, &ok, NULL), 0);
    assert_int_equal(hist_total(&ok), INT64_MAX);
    hist_destroy(&ok);
    n = hand_v2(buf, 1, 1000, 1, maxc, sizeof(maxc));
    expect_v2_error(buf, n, "overflow");

    /* an empty payload is an empty histogram */
    n = hand_v2(buf, 1, 1000, 2, &zero, 0);
    assert_int_equal(hdrlog_decode(buf, n, &ok, NULL), 0);
    assert_int_equal(hist_total(&ok), 0);
    hist_destroy(&ok);
    free(good);
}

/* The 8-byte compressed header around arbitrary deflate output. */
static size_t wrap_z(uint8_t *out, const uint8_t *raw, size_t raw_len)
{
    uLongf zl = compressBound((uLong)raw_len);
    assert_int_equal(compress2(out + 8, &zl, raw, (uLong)raw_len, 6), Z_OK);
    put_be32(out, 0x1c849314);
    put_be32(out + 4, (uint32_t)zl);
    return 8 + zl;
}

static void compressed_decoder_errors(void **state)
{
    (void)state;
    static const int64_t vals[] = { 1, 2, 3, 3000, 3000000 };
    size_t len;
    uint8_t *v2 = v2_of(1, 3600000000LL, 3, vals, 5, &len);
    uint8_t *z = malloc(len * 2 + 128), *buf = malloc(len * 2 + 256), *stage = malloc(len + 16);
    assert_non_null(z);
    assert_non_null(buf);
    assert_non_null(stage);
    size_t zlen = wrap_z(z, v2, len);
    struct hist ok;
    assert_int_equal(hdrlog_decode_compressed(z, zlen, &ok, NULL), 0);
    hist_destroy(&ok);

    for (size_t n = 0; n < 8; n++)
        expect_z_error(z, n, "8-byte compressed header");
    for (size_t n = 8; n < zlen; n++)
        expect_z_error(z, n, "compressed length");
    memcpy(buf, z, zlen);
    buf[zlen] = 0;
    expect_z_error(buf, zlen + 1, "compressed length");

    memcpy(buf, z, zlen);
    put_be32(buf, 0x1c849313);
    expect_z_error(buf, zlen, "uncompressed histogram where");
    put_be32(buf, 0x1c849302);
    expect_z_error(buf, zlen, "V0/V1");
    put_be32(buf, 0x12345678);
    expect_z_error(buf, zlen, "not an HdrHistogram V2 cookie");
    memcpy(buf, z, zlen);
    put_be32(buf + 4, 0xfffffff0u);
    expect_z_error(buf, zlen, "compressed length");

    /* not deflate at all, and corrupt deflate */
    memcpy(buf, z, zlen);
    memset(buf + 8, 0x55, zlen - 8);
    expect_z_error(buf, zlen, "zlib");
    memcpy(buf, z, zlen);
    buf[zlen - 1] ^= 0xff; /* the adler32 check */
    expect_z_error(buf, zlen, "zlib");

    /* a stream that ends too early: inside the header, inside the payload */
    size_t n = wrap_z(buf, v2, 20);
    expect_z_error(buf, n, "inside the header");
    n = wrap_z(buf, v2, len - 1);
    expect_z_error(buf, n, "before the end of the payload");
    /* a deflate stream cut short (its length field adjusted to match) */
    memcpy(buf, z, zlen);
    put_be32(buf + 4, (uint32_t)(zlen - 8 - 4));
    expect_z_error(buf, zlen - 4, "before the end of the stream");

    /* more data than the payload length says */
    memcpy(stage, v2, len);
    stage[len] = 0x02;
    n = wrap_z(buf, stage, len + 1);
    expect_z_error(buf, n, "more data than the payload length");

    /* bytes after the end of the deflate stream, inside the declared length */
    memcpy(buf, z, zlen);
    buf[zlen] = 0;
    put_be32(buf + 4, (uint32_t)(zlen - 8 + 1));
    expect_z_error(buf, zlen + 1, "after the end of the compressed stream");

    /* a valid stream around an invalid V2 */
    memcpy(stage, v2, len);
    put_be32(stage + 8, 7);
    n = wrap_z(buf, stage, len);
    expect_z_error(buf, n, "normalizing index offset");

    free(stage);
    free(buf);
    free(z);
    free(v2);
}

/* ---- interval log */

static char *java_log(void **state, json_t **log)
{
    *log = json_object_get(((struct fixtures *)*state)->java, "log");
    assert_non_null(*log);
    return (char *)str_of(*log, "text");
}

static void log_is_hdrhistograms_text(void **state)
{
    json_t *log;
    const char *want = java_log(state, &log);
    char *text, *all = NULL;
    size_t len, all_len = 0;
    assert_int_equal(hdrlog_header(int_of(log, "start_ms"), int_of(log, "base_ms"), str_of(log, "comment"),
                                   &text, &len, NULL),
                     0);
    all = text;
    all_len = len;
    json_t *iv;
    size_t i;
    json_array_foreach(json_object_get(log, "intervals"), i, iv)
    {
        struct hist h;
        build(case_named(state, str_of(iv, "case")), &h);
        json_t *tag = json_object_get(iv, "tag");
        assert_int_equal(hdrlog_interval(&h, json_number_value(json_object_get(iv, "start")),
                                         json_number_value(json_object_get(iv, "end")),
                                         json_number_value(json_object_get(iv, "ratio")),
                                         tag ? json_string_value(tag) : NULL, &text, &len, NULL),
                         0);
        all = realloc(all, all_len + len + 1);
        assert_non_null(all);
        memcpy(all + all_len, text, len + 1);
        all_len += len;
        free(text);
        hist_destroy(&h);
    }
    if (same_zlib(state)) {
        assert_text(all, want, "interval log");
    } else {
        /* Everything but the base64 of the compressed histograms. */
        assert_int_equal(memcmp(all, want, (size_t)(strstr(want, "\"StartTimestamp\"") - want)), 0);
    }
    free(all);
}

static void log_read_sums_intervals_like_hdrhistogram(void **state)
{
    json_t *log;
    const char *text = java_log(state, &log);
    struct hist sum;
    memset(&sum, 0, sizeof(sum));
    struct hdrlog_summary s;
    assert_int_equal(hdrlog_read(text, strlen(text), "java.hlog", NULL, &sum, &s, NULL), 0);
    assert_int_equal(s.intervals, int_of(log, "read_intervals"));
    assert_int_equal(s.skipped, 1);
    assert_int_equal(hist_total(&sum), int_of(log, "read_total"));
    assert_int_equal(hist_value_at_percentile(&sum, 99.0), int_of(log, "read_p99"));
    assert_int_equal(hist_max(&sum), int_of(log, "read_max"));
    assert_true(s.has_start_time && s.has_base_time);
    assert_true(s.start_time_s == 1700000000.123);
    assert_true(s.base_time_s == 1700000000.123);
    assert_true(s.first_start_s == 0.0);
    assert_true(fabs(s.last_end_s - 3.002) < 1e-9); /* "2.001,1.001": Java rounds half up */

    /* The three intervals are the latency case split in three: lossless. */
    struct hist whole;
    build(case_named(state, "latency"), &whole);
    assert_same_counts(&sum, &whole);
    hist_destroy(&whole);
    hist_destroy(&sum);

    memset(&sum, 0, sizeof(sum));
    assert_int_equal(hdrlog_read(text, strlen(text), "java.hlog", "uncorrected", &sum, &s, NULL), 0);
    assert_int_equal(s.intervals, 1);
    assert_int_equal(hist_total(&sum), 1);
    assert_int_equal(hist_max(&sum), hist_highest_equivalent(&sum, 1234567));
    hist_destroy(&sum);

    /* CRLF line ends and blank lines read the same. */
    size_t n = strlen(text);
    char *crlf = malloc(2 * n + 8);
    assert_non_null(crlf);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\n') {
            crlf[k++] = '\r';
            crlf[k++] = '\n';
            crlf[k++] = '\n';
        } else {
            crlf[k++] = text[i];
        }
    }
    memset(&sum, 0, sizeof(sum));
    assert_int_equal(hdrlog_read(crlf, k, "crlf.hlog", NULL, &sum, NULL, NULL), 0);
    assert_int_equal(hist_total(&sum), int_of(log, "read_total"));
    hist_destroy(&sum);
    free(crlf);
}

static void log_write_read_round_trip(void **state)
{
    (void)state;
    struct hist h[3], sum, want;
    assert_int_equal(hist_init(&want, 1, 60000000, 3, NULL), 0);
    char *all = NULL, *text;
    size_t all_len = 0, len;
    assert_int_equal(hdrlog_header(1600000000000LL, 1600000000000LL, NULL, &all, &all_len, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hist_init(&h[i], 1, 60000000, 3, NULL), 0);
        for (int64_t v = 1; v < 200000; v += 7 + i)
            assert_int_equal(hist_record(&h[i], v * (i + 1)), 0);
        assert_int_equal(hist_merge(&want, &h[i], NULL), 0);
        assert_int_equal(hdrlog_interval(&h[i], i, i + 1.0, 1000.0, NULL, &text, &len, NULL), 0);
        all = realloc(all, all_len + len + 1);
        assert_non_null(all);
        memcpy(all + all_len, text, len + 1);
        all_len += len;
        free(text);
    }
    memset(&sum, 0, sizeof(sum));
    struct hdrlog_summary s;
    assert_int_equal(hdrlog_read(all, all_len, "rt.hlog", NULL, &sum, &s, NULL), 0);
    assert_int_equal(s.intervals, 3);
    assert_true(s.start_time_s == 1600000000.0);
    assert_true(s.last_end_s == 3.0);
    assert_same_counts(&sum, &want);

    /* Reading into a histogram of another layout is refused, naming the line. */
    struct hist other;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(hist_init(&other, 1, 60000000, 2, NULL), 0);
    assert_int_equal(hdrlog_read(all, all_len, "rt.hlog", NULL, &other, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.on, "rt.hlog:5"));
    hist_destroy(&other);
    for (int i = 0; i < 3; i++)
        hist_destroy(&h[i]);
    hist_destroy(&sum);
    hist_destroy(&want);
    free(all);
}

static void log_lines_parse_and_fail_cleanly(void **state)
{
    (void)state;
    struct hdrlog_line l;
    struct pk_err e;
    static const struct {
        const char *line;
        enum hdrlog_kind kind;
    } good[] = {
        { "", HDRLOG_BLANK },
        { "   \r", HDRLOG_BLANK },
        { "#[Histogram log format version 1.3]", HDRLOG_COMMENT },
        { "# anything", HDRLOG_COMMENT },
        { "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"",
          HDRLOG_LEGEND },
        { "#[StartTime: 1700000000.123 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]",
          HDRLOG_START_TIME },
        { "#[BaseTime: 0.000 (seconds since epoch)]", HDRLOG_BASE_TIME },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(hdrlog_parse_line(good[i].line, strlen(good[i].line), &l, NULL), 0);
        assert_int_equal(l.kind, good[i].kind);
    }
    assert_int_equal(hdrlog_parse_line(good[5].line, strlen(good[5].line), &l, NULL), 0);
    assert_true(l.time_s == 1700000000.123);

    static const char *bad[] = {
        "#[StartTime: soon (seconds since epoch)]",
        "#[BaseTime: ]",
        "1.0,2.0",
        "1.0,2.0,3.0",
        "1.0,2.0,3.0,HISTFAAAAB,extra",
        "Tag=a,b,1.0,2.0,3.0,HISTFAAAAB",
        "x,1.0,2.0,HISTFAAAAB",
        "1.0,--1,2.0,HISTFAAAAB",
        "1.0,1.0,1e,HISTFAAAAB",
        "1.0,1.0,1.0,",
        "1.0,1.0,1.0,HISTFAAAAB", /* not a multiple of 4 */
        "1.0,1.0,1.0,HIST====",
        "1.0,1.0,1.0,H=ST",
        "1.0,1.0,1.0,HIS@",
        "1.0,1.0,1.0,AAAAAAAA", /* base64 of zeros: not a histogram */
        "Tag=,1.0,1.0,1.0,AAAA",
        "Tag=a b,1.0,1.0,1.0,AAAA",
        ".,1.0,1.0,AAAA",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        memset(&l, 0x33, sizeof(l));
        int rc = hdrlog_parse_line(bad[i], strlen(bad[i]), &l, &e);
        if (rc != PK_EPARSE)
            fail_msg("'%s': rc %d", bad[i], rc);
        assert_int_equal(e.code, PK_EPARSE);
        assert_true(e.what[0] != '\0');
        assert_null(l.hist.counts);
    }

    /* hdrlog_read names the file and line. */
    const char *text = "#[Histogram log format version 1.3]\n\n1.0,2.0,3.0,AAAA\n";
    struct hist sum;
    memset(&sum, 0, sizeof(sum));
    pk_err_clear(&e);
    assert_int_equal(hdrlog_read(text, strlen(text), "bad.hlog", NULL, &sum, NULL, &e), PK_EPARSE);
    assert_non_null(strstr(e.on, "bad.hlog:3"));
    hist_destroy(&sum);
}

/* hdrlog_parse_line_z keeps an interval's bytes; hdrlog_decode_compressed_add
 * adds them to a histogram: the same as decoding each and merging, and the
 * histogram unchanged when the bytes are bad or of another layout. */
static void add_compressed_without_a_histogram_each(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct hist a, b, sum, want, other;
    assert_int_equal(hist_init(&a, 1, 3600000000, 3, &e), 0);
    assert_int_equal(hist_init(&b, 1, 3600000000, 3, &e), 0);
    assert_int_equal(hist_init(&sum, 1, 3600000000, 3, &e), 0);
    assert_int_equal(hist_init(&want, 1, 3600000000, 3, &e), 0);
    for (int64_t v = 1; v < 100000; v = v * 3 + 1) {
        assert_int_equal(hist_record_n(&a, v, v % 7 + 1), 0);
        assert_int_equal(hist_record_n(&b, v * 5 + 3, 2), 0);
    }
    assert_int_equal(hist_record(&b, 0), 0);
    assert_int_equal(hist_merge(&want, &a, &e), 0);
    assert_int_equal(hist_merge(&want, &b, &e), 0);
    char *line;
    size_t n;
    assert_int_equal(hdrlog_interval(&a, 0, 1, 1000, NULL, &line, &n, &e), 0);
    struct hdrlog_line l;
    assert_int_equal(hdrlog_parse_line_z(line, n - 1, &l, &e), 0);
    free(line);
    assert_int_equal(l.kind, HDRLOG_INTERVAL);
    assert_null(l.hist.counts);
    assert_non_null(l.z);
    assert_int_equal(hdrlog_decode_compressed_add(l.z, l.z_len, &sum, &e), 0);
    free(l.z);
    uint8_t *z;
    size_t zlen;
    assert_int_equal(hdrlog_encode_compressed(&b, 9, &z, &zlen, &e), 0);
    assert_int_equal(hdrlog_decode_compressed_add(z, zlen, &sum, &e), 0);
    assert_int_equal(sum.total, want.total);
    assert_int_equal(hist_min(&sum), hist_min(&want));
    assert_int_equal(hist_max(&sum), hist_max(&want));
    assert_memory_equal(sum.counts, want.counts, (size_t)want.counts_len * sizeof(int64_t));

    /* bad bytes and another layout: refused, the sum untouched */
    struct hist before = sum;
    z[zlen - 1] ^= 0x55;
    pk_err_clear(&e);
    assert_int_equal(hdrlog_decode_compressed_add(z, zlen, &sum, &e), PK_EPARSE);
    free(z);
    assert_int_equal(hist_init(&other, 1, 1000000, 2, &e), 0);
    assert_int_equal(hist_record(&other, 5), 0);
    assert_int_equal(hdrlog_encode_compressed(&other, 9, &z, &zlen, &e), 0);
    pk_err_clear(&e);
    assert_int_equal(hdrlog_decode_compressed_add(z, zlen, &sum, &e), PK_EPARSE);
    assert_string_equal(e.why, "1..1000000 at 2 digits, not 1..3600000000 at 3");
    free(z);
    assert_int_equal(sum.total, before.total);
    assert_memory_equal(sum.counts, want.counts, (size_t)want.counts_len * sizeof(int64_t));
    hist_destroy(&a);
    hist_destroy(&b);
    hist_destroy(&sum);
    hist_destroy(&want);
    hist_destroy(&other);
}

static void log_writer_rejects_bad_arguments(void **state)
{
    (void)state;
    struct hist h;
    char *text = NULL;
    assert_int_equal(hist_init(&h, 1, 1000, 3, NULL), 0);
    assert_int_equal(hdrlog_header(0, 0, "two\nlines", &text, NULL, NULL), -EINVAL);
    assert_int_equal(hdrlog_interval(&h, 0, 1, 1.0, "a,b", &text, NULL, NULL), -EINVAL);
    assert_int_equal(hdrlog_interval(&h, 0, 1, 1.0, "a b", &text, NULL, NULL), -EINVAL);
    assert_int_equal(hdrlog_interval(&h, 0, 1, 1.0, "", &text, NULL, NULL), -EINVAL);
    assert_int_equal(hdrlog_interval(&h, 0, 1, 0.0, NULL, &text, NULL, NULL), -EINVAL);
    assert_null(text);
    uint8_t *bytes = NULL;
    size_t nbytes = 0;
    assert_int_equal(hdrlog_encode_compressed(&h, 10, &bytes, &nbytes, NULL), -EINVAL);
    assert_null(bytes);
    /* A date before 1970 renders, and the start time keeps its sign. */
    assert_int_equal(hdrlog_header(-1500, -1500, NULL, &text, NULL, NULL), 0);
    assert_non_null(strstr(text, "#[StartTime: -1.500 (seconds since epoch), Wed Dec 31 23:59:58 UTC 1969]"));
    free(text);
    hist_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_of_one_microsecond_to_one_hour),
        cmocka_unit_test(layout_matches_hdrhistogram),
        cmocka_unit_test(init_rejects_bad_layouts),
        cmocka_unit_test(statistics_match_hdrhistogram),
        cmocka_unit_test(uniform_percentiles_are_within_precision),
        cmocka_unit_test(recorded_iteration_matches),
        cmocka_unit_test(merge_equals_recording_in_one),
        cmocka_unit_test(merge_refuses_other_layouts_and_overflow),
        cmocka_unit_test(record_clamps_and_rejects),
        cmocka_unit_test(percentile_iteration_ends_on_huge_totals),
        cmocka_unit_test(spectrum_is_hdrhistograms_text),
        cmocka_unit_test(spectrum_rejects_bad_arguments),
        cmocka_unit_test(java_number_formatting),
        cmocka_unit_test(output_ignores_the_locale),
        cmocka_unit_test(encoding_is_hdrhistograms_bytes),
        cmocka_unit_test(encode_decode_round_trip),
        cmocka_unit_test(v2_decoder_errors),
        cmocka_unit_test(compressed_decoder_errors),
        cmocka_unit_test(log_is_hdrhistograms_text),
        cmocka_unit_test(log_read_sums_intervals_like_hdrhistogram),
        cmocka_unit_test(log_write_read_round_trip),
        cmocka_unit_test(log_lines_parse_and_fail_cleanly),
        cmocka_unit_test(log_writer_rejects_bad_arguments),
        cmocka_unit_test(add_compressed_without_a_histogram_each),
    };
    return cmocka_run_group_tests(tests, load_fixtures, free_fixtures);
}
