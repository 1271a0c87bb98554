/*
 * test_result - load results: counters and rates, the series, threshold
 * values, the JSON round trip (every field back, histograms from their
 * encoding), the reader's refusals with their messages, merges (lossless
 * against one result recorded with every value; windows, alignment, mixed
 * models), the HdrHistogram interval log both ways, and docs/load.md's
 * errors table against the names the code gives.
 *
 * Expected percentiles are worked out from HdrHistogram's bucket layout by
 * hand where the numbers are small, and otherwise taken from one histogram
 * recorded with every value, never from the code under test's own output.
 *
 * tests/fixtures/load-result/example.json is what build_example() writes;
 * PK_WRITE_FIXTURES=1 rewrites it (and docs/load-json.md quotes it).
 */
/* nftw() and mkdtemp() (tmptree.h) need X/Open. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
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
#include <jansson.h>

#include "core/base64.h"
#include "core/err.h"
#include "core/files.h"
#include "core/hdrlog.h"
#include "core/hist.h"
#include "core/jsonio.h"
#include "load/result.h"
#include "load/threshold.h"
#include "tmptree.h"

#define EXAMPLE PK_FIXTURES "/load-result/example.json"
#define T0      INT64_C(1795494600123) /* 2026-11-24T04:30:00.123Z */

static const char *msg(const struct pk_err *e)
{
    static char buf[800];
    return pk_err_str(e, buf, sizeof(buf));
}

static void ok(int rc, const struct pk_err *e)
{
    if (rc != 0)
        fail_msg("rc %d: %s", rc, msg(e));
}

static void rinit(struct load_result *r)
{
    struct pk_err e;
    pk_err_clear(&e);
    ok(result_init(r, &e), &e);
}

static void rec(struct hist *h, int64_t v, int64_t n)
{
    assert_int_equal(hist_record_n(h, v, n), 0);
}

static struct threshold th(const char *text)
{
    struct threshold t;
    struct pk_err e;
    pk_err_clear(&e);
    ok(threshold_parse(text, &t, &e), &e);
    return t;
}

static char *path_in(const char *dir, const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static const struct result_error *find_err(const struct load_result *r, enum load_phase p, const char *name)
{
    for (size_t i = 0; i < r->nerrs; i++)
        if (r->errs[i].phase == p && strcmp(r->errs[i].name, name) == 0)
            return &r->errs[i];
    return NULL;
}

static uint64_t err_count(const struct load_result *r, enum load_phase p, const char *name)
{
    const struct result_error *x = find_err(r, p, name);
    return x ? x->count : 0;
}

static void assert_same_hist(const struct hist *a, const struct hist *b, const char *what)
{
    if (!hist_same_layout(a, b))
        fail_msg("%s: layouts differ", what);
    if (hist_total(a) != hist_total(b) || a->clamped != b->clamped)
        fail_msg("%s: total %lld/%lld clamped %lld/%lld", what, (long long)hist_total(a),
                 (long long)hist_total(b), (long long)a->clamped, (long long)b->clamped);
    if (memcmp(a->counts, b->counts, (size_t)a->counts_len * sizeof(*a->counts)) != 0)
        fail_msg("%s: counts differ", what);
    assert_int_equal(hist_min(a), hist_min(b));
    assert_int_equal(hist_max(a), hist_max(b));
}

static void decode_second(const struct result_second *s, struct hist *h)
{
    struct pk_err e;
    pk_err_clear(&e);
    ok(hdrlog_decode_compressed(s->hist_z, s->hist_z_len, h, &e), &e);
}

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void assert_same_second(const struct result_second *a, const struct result_second *b, size_t i)
{
    if (a->requests != b->requests || a->errors != b->errors || a->bytes_in != b->bytes_in ||
        a->bytes_out != b->bytes_out)
        fail_msg("series[%zu]: counters differ (%llu/%llu requests)", i, (unsigned long long)a->requests,
                 (unsigned long long)b->requests);
    if (a->p50_us != b->p50_us || a->p99_us != b->p99_us || a->max_us != b->max_us)
        fail_msg("series[%zu]: p50 %lld/%lld p99 %lld/%lld max %lld/%lld", i, (long long)a->p50_us,
                 (long long)b->p50_us, (long long)a->p99_us, (long long)b->p99_us, (long long)a->max_us,
                 (long long)b->max_us);
    if (!same_double(a->cpu_pct, b->cpu_pct) || !same_double(a->mem_used_pct, b->mem_used_pct) ||
        !same_double(a->net_rx_bps, b->net_rx_bps) || !same_double(a->net_tx_bps, b->net_tx_bps))
        fail_msg("series[%zu]: host metrics differ", i);
    if (!a->hist_z || !b->hist_z) {
        if (a->hist_z != b->hist_z)
            fail_msg("series[%zu]: one has a histogram, the other not", i);
        return;
    }
    struct hist ha, hb;
    decode_second(a, &ha);
    decode_second(b, &hb);
    char what[32];
    snprintf(what, sizeof(what), "series[%zu].hist", i);
    assert_same_hist(&ha, &hb, what);
    hist_destroy(&ha);
    hist_destroy(&hb);
}

/* Everything a result holds, compared (error counters by phase and name). */
static void assert_same_result(const struct load_result *a, const struct load_result *b)
{
    assert_int_equal(a->open_model, b->open_model);
    assert_int_equal(a->threads, b->threads);
    assert_int_equal(a->connections, b->connections);
    assert_int_equal(a->pipeline, b->pipeline);
    assert_int_equal(a->sources, b->sources);
    assert_int_equal(a->nurls, b->nurls);
    for (size_t i = 0; i < a->nurls; i++)
        assert_string_equal(a->urls[i], b->urls[i]);
    assert_int_equal(a->start_ms, b->start_ms);
    assert_true(a->duration_s == b->duration_s);
    assert_true(a->warmup_s == b->warmup_s);
    assert_int_equal(a->requests, b->requests);
    assert_int_equal(a->errors, b->errors);
    assert_int_equal(a->status_errors, b->status_errors);
    assert_int_equal(a->unfinished, b->unfinished);
    assert_int_equal(a->dropped, b->dropped);
    assert_int_equal(a->bytes_in, b->bytes_in);
    assert_int_equal(a->bytes_out, b->bytes_out);
    assert_int_equal(a->connects, b->connects);
    assert_memory_equal(a->status, b->status, sizeof(a->status));
    assert_int_equal(a->nerrs, b->nerrs);
    for (size_t i = 0; i < a->nerrs; i++)
        if (err_count(b, (enum load_phase)a->errs[i].phase, a->errs[i].name) != a->errs[i].count)
            fail_msg("error %s/%s differs", result_phase_name((enum load_phase)a->errs[i].phase),
                     a->errs[i].name);
    assert_same_hist(&a->latency, &b->latency, "latency");
    assert_same_hist(&a->latency_uncorrected, &b->latency_uncorrected, "latency_uncorrected");
    assert_same_hist(&a->connect, &b->connect, "connect");
    assert_true(same_double(a->rate_target, b->rate_target));
    assert_true(same_double(a->rate_achieved, b->rate_achieved));
    assert_int_equal(a->due, b->due);
    assert_int_equal(a->sends, b->sends);
    assert_int_equal(a->late_sends, b->late_sends);
    assert_int_equal(a->lateness_max_us, b->lateness_max_us);
    assert_true(same_double(a->generator_cpu, b->generator_cpu));
    assert_int_equal(a->host_metrics, b->host_metrics);
    assert_int_equal(a->nseries, b->nseries);
    for (size_t i = 0; i < a->nseries; i++)
        assert_same_second(&a->series[i], &b->series[i], i);
    assert_int_equal(a->ngroups, b->ngroups);
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct result_group *x = &a->groups[i], *y = &b->groups[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->requests, y->requests);
        assert_int_equal(x->errors, y->errors);
        assert_int_equal(x->status_errors, y->status_errors);
        assert_int_equal(x->dropped, y->dropped);
        assert_memory_equal(x->status, y->status, sizeof(x->status));
        assert_same_hist(&x->latency, &y->latency, x->name);
    }
    assert_int_equal(a->nstages, b->nstages);
    for (size_t i = 0; i < a->nstages; i++) {
        const struct result_stage *x = &a->stages[i], *y = &b->stages[i];
        assert_int_equal(x->target, y->target);
        assert_true(x->start_s == y->start_s && x->length_s == y->length_s && x->duration_s == y->duration_s);
        assert_int_equal(x->requests, y->requests);
        assert_int_equal(x->errors, y->errors);
        assert_int_equal(x->status_errors, y->status_errors);
        assert_int_equal(x->dropped, y->dropped);
        assert_same_hist(&x->latency, &y->latency, "stage");
    }
}

/*
 * A run of `seconds` seconds: in second s, value i (0 <= i < per) is
 * 90 + 37 * i + 1000 * s us, with a slow tail (2.5 s) and one value above
 * the histogram's range; `part` picks which values the run records:
 * 0 the even i, 1 the odd i, 2 all. The same calls with part 0 and 1 make
 * two results whose merge is the result of part 2.
 */
static void build_run(struct load_result *r, bool open, int part, size_t seconds, int per)
{
    struct pk_err e;
    pk_err_clear(&e);
    rinit(r);
    r->open_model = open;
    r->threads = 2;
    r->connections = 16;
    r->pipeline = 1;
    r->sources = 1;
    r->start_ms = T0;
    r->duration_s = (double)seconds;
    r->warmup_s = 1.5;
    for (size_t s = 0; s < seconds; s++) {
        struct hist h;
        ok(result_hist_init(&h, &e), &e);
        uint64_t n = 0;
        for (int i = 0; i < per; i++) {
            if (part != 2 && i % 2 != part)
                continue;
            int64_t v = 90 + 37 * i + 1000 * (int64_t)s;
            if (i == per - 1)
                v = 2500000;
            if (i == per - 2 && s == 0)
                v = INT64_C(5000000000); /* past 1 h: clamped */
            rec(&h, v, 1);
            rec(&r->latency_uncorrected, v > 60 ? v - 60 : v, 1);
            n++;
        }
        assert_int_equal(hist_merge(&r->latency, &h, &e), 0);
        struct result_second *sec;
        ok(result_series_push(r, &sec, &e), &e);
        sec->requests = n;
        sec->errors = part != 0;
        sec->bytes_in = n * 512;
        sec->bytes_out = n * 80;
        ok(result_second_set_hist(sec, &h, &e), &e);
        hist_destroy(&h);
        r->requests += n;
    }
    if (!open) {
        hist_reset(&r->latency_uncorrected);
        assert_int_equal(hist_merge(&r->latency_uncorrected, &r->latency, &e), 0);
    }
    /* Error counters and statuses that add up across parts. */
    if (part == 0 || part == 2) {
        result_error_add(r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 3);
        result_error_add(r, LOAD_PHASE_READ, "ECONNRESET", 2);
        r->status[404] += 2;
        r->status_errors += 2;
        rec(&r->connect, 150, 8);
        r->connects += 8;
    }
    if (part == 1 || part == 2) {
        result_error_add(r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 4);
        result_error_add(r, LOAD_PHASE_TIMEOUT, "timeout", 1);
        result_error_add(r, LOAD_PHASE_PARSE, "bad_chunk_size", 1);
        r->status[500] += 1;
        r->status_errors += 1;
        rec(&r->connect, 420, 8);
        r->connects += 8;
    }
    r->status[200] = r->requests - r->status[404] - r->status[500];
    if (open)
        r->dropped = part == 2 ? 7 : (uint64_t)(3 + part);
    r->errors = r->status_errors + result_transport_errors(r) + r->dropped;
    r->bytes_in = r->requests * 512;
    r->bytes_out = r->requests * 80;
    r->unfinished = part == 2 ? 3 : (uint64_t)(part + 1);
    if (open) {
        r->rate_target = 500;
        r->rate_achieved = 499.5;
        r->sends = r->requests + 5;
        r->due = r->sends + r->dropped;
        r->late_sends = 2;
        r->lateness_max_us = part == 1 ? 900 : 1200;
    }
    r->generator_cpu = part == 1 ? 0.75 : 0.5;
}

static void write_read(const struct load_result *r, const char *path, struct load_result *back)
{
    struct pk_err e;
    pk_err_clear(&e);
    ok(result_write_json(r, NULL, 0, NULL, 0, path, &e), &e);
    ok(result_read_json(path, back, &e), &e);
}

/* ---- counters */

static void counters_and_rates(void **state)
{
    (void)state;
    struct load_result r;
    rinit(&r);
    assert_string_equal(result_phase_name(LOAD_PHASE_CONNECT), "connect");
    assert_string_equal(result_phase_name(LOAD_PHASE_PARSE), "parse");
    assert_true(isnan(result_error_rate(&r)));
    assert_true(isnan(result_rps(&r)));
    assert_int_equal(r.sources, 0);

    result_error_add(&r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 2);
    result_error_add(&r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 3);
    result_error_add(&r, LOAD_PHASE_WRITE, "ECONNREFUSED", 1); /* another phase, another counter */
    result_error_add(&r, LOAD_PHASE_TLS, "certificate verify failed", 1);
    result_error_add(&r, LOAD_PHASE_READ, NULL, 1);
    result_error_add(&r, LOAD_PHASE_READ, "bad\x01name", 1);
    assert_int_equal(r.nerrs, 5);
    assert_int_equal(err_count(&r, LOAD_PHASE_CONNECT, "ECONNREFUSED"), 5);
    assert_int_equal(err_count(&r, LOAD_PHASE_WRITE, "ECONNREFUSED"), 1);
    assert_int_equal(err_count(&r, LOAD_PHASE_READ, "unknown"), 1);
    assert_int_equal(err_count(&r, LOAD_PHASE_READ, "bad?name"), 1);
    assert_int_equal(result_transport_errors(&r), 9);
    assert_int_equal(r.errors, 0); /* result_error_add leaves it alone */

    r.requests = 91;
    r.status_errors = 10;
    r.errors = r.status_errors + result_transport_errors(&r);
    /* (10 + 9) / (91 + 9) */
    assert_true(result_error_rate(&r) == 19.0 / 100.0);
    /* Dropped requests (open model) are failed attempts: (19 + 5) / (100 + 5). */
    assert_true(result_dropped_rate(&r) == 0); /* closed model: nothing is due at a time */
    r.open_model = true;
    assert_true(isnan(result_dropped_rate(&r)));
    r.dropped = 5;
    r.sends = 15;
    r.errors += 5;
    assert_true(result_error_rate(&r) == 24.0 / 105.0);
    assert_true(result_dropped_rate(&r) == 5.0 / 20.0);
    r.open_model = false;
    r.dropped = 0;
    r.sends = 0;
    r.errors -= 5;
    r.duration_s = 2.5;
    assert_true(result_rps(&r) == 91 / 2.5);

    /* A long name is cut; a flood of names lands under "other" per phase. */
    char longname[100];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[99] = '\0';
    result_error_add(&r, LOAD_PHASE_PARSE, longname, 1);
    assert_int_equal(strlen(r.errs[r.nerrs - 1].name), RESULT_ERROR_NAME_MAX);
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof(name), "E%d", i);
        result_error_add(&r, (enum load_phase)(i % LOAD_PHASE_COUNT), name, 1);
    }
    assert_int_equal(r.nerrs, RESULT_ERROR_NAMES_MAX);
    uint64_t named = 0;
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof(name), "E%d", i);
        named += err_count(&r, (enum load_phase)(i % LOAD_PHASE_COUNT), name);
    }
    uint64_t others = 0;
    for (int p = 0; p < LOAD_PHASE_COUNT; p++) {
        assert_true(err_count(&r, (enum load_phase)p, "other") > 0);
        others += err_count(&r, (enum load_phase)p, "other");
    }
    assert_int_equal(named + others, 200);
    assert_int_equal(named, RESULT_ERROR_NAMES_MAX - LOAD_PHASE_COUNT - 6);
    assert_int_equal(result_transport_errors(&r), 9 + 1 + 200);
    /* An existing name still counts under its own name. */
    result_error_add(&r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 1);
    assert_int_equal(err_count(&r, LOAD_PHASE_CONNECT, "ECONNREFUSED"), 6);
    result_destroy(&r);
    result_destroy(&r); /* a destroyed result is zeroed */
}

static void series_push_and_hist(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result r;
    rinit(&r);
    for (int i = 0; i < 100; i++) {
        struct result_second *s;
        ok(result_series_push(&r, &s, &e), &e);
        assert_true(s == &r.series[i]);
        assert_int_equal(s->requests, 0);
        assert_null(s->hist_z);
        assert_true(isnan(s->cpu_pct) && isnan(s->mem_used_pct) && isnan(s->net_rx_bps) &&
                    isnan(s->net_tx_bps));
        s->requests = (uint64_t)i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(r.series[i].requests, i);

    /* 1..10000 us once each: p50 is the 5000th value, 5000 (unit 4 from
     * 4096 up, bucket 5000..5003: reported as 5003); p99 the 9900th, in
     * 9896..9903 (unit 8 from 8192); max 10000's bucket 10000..10007. */
    struct hist h;
    ok(result_hist_init(&h, &e), &e);
    for (int64_t v = 1; v <= 10000; v++)
        rec(&h, v, 1);
    struct result_second *s = &r.series[3];
    ok(result_second_set_hist(s, &h, &e), &e);
    assert_int_equal(s->p50_us, 5003);
    assert_int_equal(s->p99_us, 9903);
    assert_int_equal(s->max_us, 10007);
    struct hist back;
    decode_second(s, &back);
    assert_same_hist(&h, &back, "second");
    hist_destroy(&back);
    /* An empty histogram clears the second's. */
    hist_reset(&h);
    ok(result_second_set_hist(s, &h, &e), &e);
    assert_null(s->hist_z);
    assert_int_equal(s->hist_z_len, 0);
    assert_int_equal(s->p50_us + s->p99_us + s->max_us, 0);
    hist_destroy(&h);

    /* The cap, without filling a week of seconds. */
    size_t n = r.nseries;
    r.nseries = RESULT_SERIES_MAX;
    assert_int_equal(result_series_push(&r, &s, &e), -EFBIG);
    assert_string_equal(msg(&e), "series: cannot add a second: the series holds at most 604800 seconds");
    r.nseries = n;
    result_destroy(&r);
}

/* ---- thresholds */

static void threshold_values(void **state)
{
    (void)state;
    struct load_result r;
    rinit(&r);
    /* Nothing measured: latency metrics and rates are NaN and fail. */
    const char *all[] = { "p99<200ms", "mean<1s", "min>=0us", "max<1h", "error_rate<=100%", "rps>=0" };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        struct threshold t = th(all[i]);
        double v = result_threshold_value(&r, &t);
        assert_true(isnan(v));
        assert_false(threshold_pass(&t, v));
    }

    /* 1..10000 us: p99 = 9903 us, p50 = 5003 us (see above). */
    for (int64_t v = 1; v <= 10000; v++)
        rec(&r.latency, v, 1);
    r.requests = 10000;
    r.duration_s = 4;
    struct threshold t = th("p99<10ms");
    assert_true(result_threshold_value(&r, &t) == 9903 / 1e6);
    assert_true(threshold_pass(&t, result_threshold_value(&r, &t)));
    t = th("p(99)<9.9ms");
    assert_false(threshold_pass(&t, result_threshold_value(&r, &t)));
    t = th("med<5ms");
    assert_true(result_threshold_value(&r, &t) == 5003 / 1e6);
    assert_false(threshold_pass(&t, result_threshold_value(&r, &t)));
    t = th("p100<1s");
    assert_true(result_threshold_value(&r, &t) == 10007 / 1e6);
    t = th("max<=10.007ms");
    assert_true(result_threshold_value(&r, &t) == 10007 / 1e6);
    assert_true(threshold_pass(&t, result_threshold_value(&r, &t)));
    t = th("min>=1us");
    assert_true(result_threshold_value(&r, &t) == 1 / 1e6);
    t = th("rps>2.4k");
    assert_true(result_threshold_value(&r, &t) == 2500);
    assert_true(threshold_pass(&t, result_threshold_value(&r, &t)));

    /* Mean: values in the unit-width range count exactly. */
    hist_reset(&r.latency);
    rec(&r.latency, 100, 1);
    rec(&r.latency, 200, 1);
    rec(&r.latency, 600, 2);
    t = th("mean<400us");
    assert_true(result_threshold_value(&r, &t) == 375 / 1e6);
    assert_true(threshold_pass(&t, result_threshold_value(&r, &t)));
    t = th("avg<375us");
    assert_false(threshold_pass(&t, result_threshold_value(&r, &t)));

    /* error_rate: (status >= 400 + transport) / (requests + transport). */
    r.requests = 95;
    r.status_errors = 5;
    result_error_add(&r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 5);
    r.errors = 10;
    t = th("error_rate<10%");
    assert_true(result_threshold_value(&r, &t) == 0.1);
    assert_false(threshold_pass(&t, result_threshold_value(&r, &t)));
    t = th("error_rate<=0.1");
    assert_true(threshold_pass(&t, result_threshold_value(&r, &t)));
    result_destroy(&r);
}

static json_t *load_text(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("%s", jerr.text);
    return j;
}

static void thresholds_in_json(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result r;
    rinit(&r);
    r.sources = 1;
    r.start_ms = T0;
    r.duration_s = 10;
    for (int64_t v = 1; v <= 10000; v++)
        rec(&r.latency, v, 1);
    r.requests = 10000;
    r.status_errors = 50;
    r.errors = 50;
    struct threshold ts[] = { th("p99<10ms"), th("p99.9 < 9ms"), th("error_rate<1%"), th("rps>1500"),
                              th("rps>=500") };
    const char *warn[] = { "generator CPU 97%: latencies may include the generator's own delay" };
    char *text;
    ok(result_json_text(&r, ts, 5, warn, 1, &text, &e), &e);
    json_t *j = load_text(text);
    free(text);
    json_t *a = json_object_get(j, "thresholds");
    assert_int_equal(json_array_size(a), 5);
    struct {
        const char *text, *metric, *op, *unit;
        double value, limit;
        bool pass;
    } want[] = {
        { "p99<10ms", "p99", "<", "s", 9903e-6, 0.01, true },
        { "p99.9 < 9ms", "p99.9", "<", "s", 9991e-6, 0.009, false },
        { "error_rate<1%", "error_rate", "<", "fraction", 0.005, 0.01, true },
        { "rps>1500", "rps", ">", "requests/s", 1000, 1500, false },
        { "rps>=500", "rps", ">=", "requests/s", 1000, 500, true },
    };
    for (size_t i = 0; i < 5; i++) {
        json_t *o = json_array_get(a, i);
        assert_string_equal(json_string_value(json_object_get(o, "threshold")), want[i].text);
        assert_string_equal(json_string_value(json_object_get(o, "metric")), want[i].metric);
        assert_string_equal(json_string_value(json_object_get(o, "op")), want[i].op);
        assert_string_equal(json_string_value(json_object_get(o, "unit")), want[i].unit);
        double v = json_number_value(json_object_get(o, "value"));
        if (fabs(v - want[i].value) > 1e-12)
            fail_msg("%s: value %.17g, want %.17g", want[i].text, v, want[i].value);
        assert_true(json_number_value(json_object_get(o, "limit")) == want[i].limit);
        assert_int_equal(json_is_true(json_object_get(o, "pass")), want[i].pass);
    }
    json_t *sc = json_object_get(j, "self_check");
    assert_string_equal(json_string_value(json_array_get(json_object_get(sc, "warnings"), 0)), warn[0]);
    /* Derived numbers of the summary. */
    json_t *lat = json_object_get(j, "latency_us");
    assert_int_equal(json_integer_value(json_object_get(lat, "count")), 10000);
    assert_int_equal(json_integer_value(json_object_get(lat, "p50")), 5003);
    assert_int_equal(json_integer_value(json_object_get(lat, "p99")), 9903);
    /* the 9990th value, in 9984..9991 */
    assert_int_equal(json_integer_value(json_object_get(lat, "p999")), 9991);
    assert_int_equal(json_integer_value(json_object_get(lat, "max")), 10007);
    assert_int_equal(json_integer_value(json_object_get(lat, "min")), 1);
    assert_true(json_number_value(json_object_get(j, "rps")) == 1000);
    assert_true(json_number_value(json_object_get(j, "error_rate")) == 0.005);
    json_decref(j);

    /* No data: the value is null and the threshold fails. */
    struct load_result empty;
    rinit(&empty);
    ok(result_json_text(&empty, ts, 1, NULL, 0, &text, &e), &e);
    j = load_text(text);
    free(text);
    json_t *o = json_array_get(json_object_get(j, "thresholds"), 0);
    assert_true(json_is_null(json_object_get(o, "value")));
    assert_true(json_is_false(json_object_get(o, "pass")));
    assert_true(json_is_null(json_object_get(j, "rps")));
    assert_true(json_is_null(json_object_get(j, "error_rate")));
    assert_int_equal(json_integer_value(json_object_get(j, "sources")), 1);
    json_decref(j);
    result_destroy(&empty);
    result_destroy(&r);
}

/* ---- JSON round trip */

static void add_urls(struct load_result *r, const char *const *urls, size_t n)
{
    r->urls = calloc(n, sizeof(*r->urls));
    assert_non_null(r->urls);
    for (size_t i = 0; i < n; i++)
        r->urls[i] = strdup(urls[i]);
    r->nurls = n;
}

static void json_round_trip(void **state)
{
    const char *dir = *state;
    struct load_result a, back, again;
    for (int open = 0; open < 2; open++) {
        build_run(&a, open, 2, 4, 300);
        static const char *const urls[] = { "http://127.0.0.1:8080/", "https://example.com/a?b=c" };
        add_urls(&a, urls, 2);
        a.host_metrics = true;
        a.series[0].cpu_pct = 12.5;
        a.series[0].mem_used_pct = 40.25;
        a.series[0].net_rx_bps = 1e6;
        a.series[0].net_tx_bps = 2.5e5;
        a.series[2].cpu_pct = 99.75; /* the rest stay NaN: null */
        /* A second without responses, and a huge but valid count. */
        struct result_second *s;
        struct pk_err e;
        pk_err_clear(&e);
        ok(result_series_push(&a, &s, &e), &e);
        a.bytes_out = INT64_MAX;
        if (!open) {
            a.generator_cpu = NAN;
        }
        write_read(&a, path_in(dir, "a.json"), &back);
        assert_same_result(&a, &back);
        assert_int_equal(back.latency.clamped, 1);
        /* Written again, the same text. */
        char *t1, *t2;
        ok(result_json_text(&a, NULL, 0, NULL, 0, &t1, &e), &e);
        ok(result_json_text(&back, NULL, 0, NULL, 0, &t2, &e), &e);
        assert_string_equal(t1, t2);
        /* And once more through the file: stable. */
        write_read(&back, path_in(dir, "b.json"), &again);
        assert_same_result(&a, &again);
        free(t1);
        free(t2);
        result_destroy(&a);
        result_destroy(&back);
        result_destroy(&again);
    }

    /* A count that JSON's integers cannot hold is refused, not wrapped. */
    build_run(&a, false, 0, 1, 10);
    a.bytes_in = UINT64_MAX;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(result_write_json(&a, NULL, 0, NULL, 0, path_in(dir, "c.json"), &e), -EOVERFLOW);
    assert_string_equal(msg(&e), "result: cannot write the result: 'bytes.in' is above 2^63-1, "
                                 "more than a JSON integer holds");
    a.bytes_in = 0;
    a.start_ms = -1;
    assert_int_equal(result_write_json(&a, NULL, 0, NULL, 0, path_in(dir, "c.json"), &e), -EINVAL);
    result_destroy(&a);
}

/* The example of docs/load-json.md: small and deterministic. */
static void build_example(struct load_result *r)
{
    struct pk_err e;
    pk_err_clear(&e);
    rinit(r);
    r->open_model = true;
    r->threads = 2;
    r->connections = 8;
    r->pipeline = 1;
    r->sources = 1;
    static const char *const urls[] = { "http://127.0.0.1:8080/" };
    add_urls(r, urls, 1);
    r->start_ms = T0;
    r->duration_s = 3;
    r->warmup_s = 1;
    r->host_metrics = true;
    static const int64_t lat[3][4] = { { 850, 910, 1200, 0 }, { 780, 990, 0, 0 }, { 0, 0, 0, 0 } };
    for (size_t s = 0; s < 3; s++) {
        struct result_second *sec;
        struct hist h;
        ok(result_series_push(r, &sec, &e), &e);
        ok(result_hist_init(&h, &e), &e);
        for (int i = 0; i < 4 && lat[s][i]; i++) {
            rec(&h, lat[s][i], 1);
            rec(&r->latency_uncorrected, lat[s][i] - 40, 1);
            sec->requests++;
        }
        ok(result_second_set_hist(sec, &h, &e), &e);
        hist_merge(&r->latency, &h, &e);
        hist_destroy(&h);
        sec->bytes_in = sec->requests * 250;
        sec->bytes_out = sec->requests * 78;
        r->requests += sec->requests;
        sec->cpu_pct = s == 2 ? NAN : 7.5 + (double)s;
        sec->mem_used_pct = s == 2 ? NAN : 41.5;
        sec->net_rx_bps = s == 2 ? NAN : 1250.0 * (double)(s + 1);
        sec->net_tx_bps = s == 2 ? NAN : 390.0 * (double)(s + 1);
    }
    r->series[0].errors = 1;
    r->series[1].errors = 2;
    r->status[200] = 4;
    r->status[404] = 1;
    r->status_errors = 1;
    result_error_add(r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 1);
    result_error_add(r, LOAD_PHASE_TIMEOUT, "timeout", 1);
    r->errors = r->status_errors + result_transport_errors(r);
    r->unfinished = 1;
    r->bytes_in = r->requests * 250;
    r->bytes_out = r->requests * 78;
    r->connects = 8;
    rec(&r->connect, 95, 6);
    rec(&r->connect, 130, 2);
    r->rate_target = 2;
    r->rate_achieved = 2;
    r->sends = 6;
    r->due = 6;
    r->late_sends = 0;
    r->lateness_max_us = 180;
    r->generator_cpu = 0.02;
    /* its one URL holds everything (but for what answered no request) */
    struct result_group *g;
    ok(result_group_add(r, urls[0], &g, &e), &e);
    g->requests = r->requests;
    g->errors = r->errors;
    g->status_errors = r->status_errors;
    memcpy(g->status, r->status, sizeof(g->status));
    ok(hist_merge(&g->latency, &r->latency, &e), &e);
    /* --stage 1s:2/s --stage 3s:2/s with --warmup 1s: the first stage is
     * all warmup, the second is the measured phase */
    struct result_stage *st;
    ok(result_stage_add(r, &st, &e), &e);
    st->target = 2;
    st->start_s = -1;
    st->length_s = 1;
    ok(result_stage_add(r, &st, &e), &e);
    st->target = 2;
    st->length_s = 3;
    st->duration_s = 3;
    st->requests = r->requests;
    st->errors = r->errors;
    st->status_errors = r->status_errors;
    ok(hist_merge(&st->latency, &r->latency, &e), &e);
}

static const char *const example_warnings[] = { "no response completed in second 2" };

static void example_fixture(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result r, back;
    build_example(&r);
    struct threshold ts[] = { th("p99<1ms"), th("error_rate<1%") };
    if (getenv("PK_WRITE_FIXTURES"))
        ok(result_write_json(&r, ts, 2, example_warnings, 1, EXAMPLE, &e), &e);
    ok(result_read_json(EXAMPLE, &back, &e), &e);
    assert_same_result(&r, &back);
    /* The text, but for the compressed bytes (zlib versions differ). */
    char *text, *fixture;
    size_t len;
    ok(result_json_text(&r, ts, 2, example_warnings, 1, &text, &e), &e);
    ok(files_read_all(EXAMPLE, 1 << 20, &fixture, &len, &e), &e);
    json_t *a = load_text(text), *b = load_text(fixture);
    /* The series is written a second at a time: the text is still exactly
     * jansson's dump of the whole document, and so is that of no second. */
    char *whole = jsonio_dumps(a);
    assert_non_null(whole);
    assert_string_equal(text, whole);
    free(whole);
    struct load_result none;
    build_example(&none);
    for (size_t i = 0; i < none.nseries; i++)
        free(none.series[i].hist_z);
    none.nseries = 0;
    char *t2;
    ok(result_json_text(&none, NULL, 0, NULL, 0, &t2, &e), &e);
    json_t *a2 = load_text(t2);
    whole = jsonio_dumps(a2);
    assert_string_equal(t2, whole);
    assert_non_null(strstr(t2, "\n  \"series\": []\n}\n"));
    free(whole);
    free(t2);
    json_decref(a2);
    result_destroy(&none);
    const char *hists[] = { "latency_us", "latency_uncorrected_us", "connect_us" };
    for (size_t i = 0; i < 3; i++) {
        json_object_del(json_object_get(a, hists[i]), "hist");
        json_object_del(json_object_get(b, hists[i]), "hist");
    }
    for (size_t i = 0; i < json_array_size(json_object_get(a, "series")); i++) {
        json_object_del(json_array_get(json_object_get(a, "series"), i), "hist");
        json_object_del(json_array_get(json_object_get(b, "series"), i), "hist");
    }
    assert_true(json_equal(a, b));
    /* Known values, worked out by hand: p99 of {780, 850, 910, 990, 1200}
     * is 1200 (unit width below 2048); error rate (1 + 2) / (5 + 2). */
    assert_int_equal(back.requests, 5);
    assert_int_equal(hist_value_at_percentile(&back.latency, 99), 1200);
    assert_true(result_error_rate(&back) == 3.0 / 7.0);
    json_t *t0 = json_array_get(json_object_get(b, "thresholds"), 0);
    assert_true(json_number_value(json_object_get(t0, "value")) == 0.0012);
    assert_true(json_is_false(json_object_get(t0, "pass")));
    /* A file of a perfkit that did not count dropped requests (no
     * errors.dropped, no rate.due) reads back with none. */
    json_t *c = load_text(fixture);
    json_object_del(json_object_get(c, "errors"), "dropped");
    json_object_del(json_object_get(c, "rate"), "due");
    char *old = json_dumps(c, 0);
    assert_non_null(old);
    json_decref(c);
    result_destroy(&back);
    ok(result_parse_json(old, strlen(old), "old.json", &back, &e), &e);
    assert_int_equal(back.dropped, 0);
    assert_int_equal(back.due, 0);
    assert_int_equal(back.sends, 6);
    free(old);
    json_decref(a);
    json_decref(b);
    free(text);
    free(fixture);
    result_destroy(&r);
    result_destroy(&back);
}

/* ---- the reader's refusals */

/* The example document with one change, read: the message must be `want`. */
static void refuse(json_t *doc, const char *want)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    struct load_result r;
    struct pk_err e;
    pk_err_clear(&e);
    memset(&r, 0x5a, sizeof(r));
    int rc = result_parse_json(text, strlen(text), "a.json", &r, &e);
    free(text);
    if (rc == 0)
        fail_msg("accepted, want: %s", want);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(e.code, PK_EPARSE);
    assert_string_equal(msg(&e), want);
    result_destroy(&r);
}

static json_t *example_doc(void)
{
    char *text;
    size_t len;
    struct pk_err e;
    pk_err_clear(&e);
    ok(files_read_all(EXAMPLE, 1 << 20, &text, &len, &e), &e);
    json_t *j = load_text(text);
    free(text);
    return j;
}

static char *b64_of(const uint8_t *p, size_t n)
{
    char *s = malloc(base64_encoded_len(n) + 1);
    assert_non_null(s);
    base64_encode(p, n, s);
    return s;
}

static void reader_refuses_bad_input(void **state)
{
    (void)state;
    struct pk_err e;
    json_t *d;

    /* Not JSON, not an object, not ours. */
    struct load_result r;
    pk_err_clear(&e);
    assert_int_equal(result_parse_json("{\"perfkit_load\": 1,", 19, "a.json", &r, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "a.json:1:19: string or '}' expected near end of file");
    result_destroy(&r);
    pk_err_clear(&e);
    assert_int_equal(result_parse_json("[1]", 3, "a.json", &r, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "a.json: top level: expected an object");
    result_destroy(&r);
    pk_err_clear(&e);
    assert_int_equal(result_read_json("/nonexistent/a.json", &r, &e), -ENOENT);
    result_destroy(&r);

#define MUT(stmt, want)    \
    do {                   \
        d = example_doc(); \
        stmt;              \
        refuse(d, want);   \
        json_decref(d);    \
    } while (0)
#define GET(k)    json_object_get(d, k)
#define SERIES(i) json_array_get(GET("series"), i)

    MUT(json_object_del(d, "perfkit_load"), "a.json: key 'perfkit_load': missing: not a perfkit load result");
    MUT(json_object_set_new(d, "perfkit_load", json_integer(2)),
        "a.json: key 'perfkit_load': format version 2, this perfkit reads 1");
    MUT(json_object_set_new(d, "perfkit_load", json_string("1")),
        "a.json: key 'perfkit_load': expected an integer");
    MUT(json_object_set_new(d, "model", json_string("half-open")),
        "a.json: key 'model': expected \"open\" or \"closed\"");
    MUT(json_object_set_new(d, "start_ms", json_integer(-5)),
        "a.json: key 'start_ms': -5 is out of range 0..253402300799999");
    MUT(json_object_set_new(d, "duration_s", json_string("3")),
        "a.json: key 'duration_s': expected a number");
    MUT(json_object_set_new(d, "threads", json_real(2.0)), "a.json: key 'threads': expected an integer");
    MUT(json_object_set_new(d, "connections", json_integer(INT64_C(1) << 40)),
        "a.json: key 'connections': 1099511627776 is out of range 0..4294967295");
    MUT(json_object_set_new(d, "sources", json_integer(0)),
        "a.json: key 'sources': 0 is out of range 1..4294967295");
    MUT(json_array_append_new(GET("urls"), json_string("http://a/\x1b[31m")),
        "a.json: key 'urls[1]': empty or with control characters");
    MUT(json_object_set_new(d, "requests", json_integer(-1)),
        "a.json: key 'requests': -1 is out of range 0..9223372036854775807");
    MUT(json_object_del(GET("errors"), "tls"), "a.json: key 'errors.tls': missing");
    MUT(json_object_set_new(json_object_get(GET("errors"), "read"), "ECONNRESET", json_integer(-2)),
        "a.json: key 'errors.read.ECONNRESET': expected an integer >= 0");
    MUT(json_object_set_new(json_object_get(GET("errors"), "read"), "x\ny", json_integer(2)),
        "a.json: key 'errors.read.x\\x0ay': an error name is printable ASCII");
    MUT(json_object_set_new(json_object_get(GET("errors"), "read"),
                            "a_name_that_is_much_longer_than_sixty_three_bytes_is_refused_here",
                            json_integer(2)),
        "a.json: key 'errors.read.a_name_that_is_much_longer_than_sixty_three_bytes_is_refused_here': "
        "an error name is 1 to 63 bytes");
    MUT(json_object_set_new(json_object_get(GET("errors"), "read"), "EPIPE", json_integer(2)),
        "a.json: key 'errors.transport': 2, but the phases add up to 4");
    MUT(json_object_set_new(GET("status_codes"), "2000", json_integer(1)),
        "a.json: key 'status_codes.2000': not a status code 100..599");
    MUT(json_object_set_new(GET("status_codes"), "099", json_integer(1)),
        "a.json: key 'status_codes.099': not a status code 100..599");
    MUT(json_object_set_new(GET("status_codes"), "503", json_true()),
        "a.json: key 'status_codes.503': expected an integer >= 0");
    MUT(json_object_set_new(GET("latency_us"), "hist", json_string("not*base64")),
        "a.json: key 'latency_us.hist': not base64");
    MUT(json_object_set_new(GET("latency_us"), "hist", json_string("AAAA")),
        "a.json: key 'latency_us.hist': not a compressed HdrHistogram: "
        "shorter than the 8-byte compressed header");
    MUT(json_object_set_new(GET("connect_us"), "hist", json_integer(7)),
        "a.json: key 'connect_us.hist': expected a base64 string");
    MUT(json_object_set_new(GET("latency_us"), "count", json_integer(6)),
        "a.json: key 'latency_us.count': 6, but the histogram holds 5");
    MUT(json_object_set_new(GET("latency_us"), "clamped", json_integer(6)),
        "a.json: key 'latency_us.clamped': 6, more than the count");
    MUT(json_object_del(d, "latency_uncorrected_us"), "a.json: key 'latency_uncorrected_us': missing");
    MUT(json_object_set_new(GET("rate"), "target", json_string("fast")),
        "a.json: key 'rate.target': expected a number or null");
    MUT(json_object_set_new(GET("self_check"), "generator_cpu", json_real(-0.5)),
        "a.json: key 'self_check.generator_cpu': -0.5 is out of range 0..1e+06");
    MUT(json_object_set_new(d, "thresholds", json_object()), "a.json: key 'thresholds': expected an array");
    MUT(json_object_set_new(d, "host_metrics", json_integer(1)),
        "a.json: key 'host_metrics': expected true or false");
    MUT(json_object_set_new(SERIES(1), "t", json_integer(2)),
        "a.json: key 'series[1].t': 2, expected 1 (one entry per second, in order)");
    MUT(json_object_del(SERIES(2), "cpu_pct"), "a.json: key 'series[2].cpu_pct': missing");
    MUT(json_object_set_new(SERIES(2), "p99_us", json_integer(-1)),
        "a.json: key 'series[2].p99_us': -1 is out of range 0..7200000000");
    MUT(json_array_append_new(GET("series"), json_integer(3)), "a.json: key 'series[3]': expected an object");
    MUT(json_object_set_new(SERIES(0), "hist", json_string("AAAAAAAA====")),
        "a.json: key 'series[0].hist': not base64");
#define GROUP(i) json_array_get(GET("by_request"), i)
#define STAGE(i) json_array_get(GET("stages"), i)
    MUT(json_object_set_new(d, "by_request", json_object()), "a.json: key 'by_request': expected an array");
    MUT(json_object_set_new(GROUP(0), "name", json_string("")),
        "a.json: key 'by_request[0].name': a name is a string of 1 to 8192 bytes without control characters");
    MUT(json_array_append(GET("by_request"), GROUP(0)), "a.json: key 'by_request[1].name': given twice");
    MUT(json_object_set_new(json_object_get(GROUP(0), "errors"), "dropped", json_integer(1)),
        "a.json: key 'by_request[0].errors.total': 3, but status, transport and dropped add up to another");
    MUT(json_object_set_new(json_object_get(GROUP(0), "status_codes"), "999", json_integer(1)),
        "a.json: key 'by_request[0].status_codes.999': not a status code 100..599");
    MUT(json_object_set_new(json_object_get(GROUP(0), "latency_us"), "count", json_integer(1)),
        "a.json: key 'by_request[0].latency_us.count': 1, but the histogram holds 5");
    MUT(json_object_set_new(STAGE(1), "stage", json_integer(0)),
        "a.json: key 'stages[1].stage': 0, expected 1 (in order)");
    MUT(json_object_set_new(STAGE(0), "duration_s", json_real(-1)),
        "a.json: key 'stages[0].duration_s': -1 is out of range 0..1e+09");
    MUT(json_object_del(STAGE(0), "latency_us"), "a.json: key 'stages[0].latency_us': missing");

    /* A valid compressed histogram of another layout is refused by name. */
    struct hist other;
    pk_err_clear(&e);
    ok(hist_init(&other, 1, 1000000, 2, &e), &e);
    rec(&other, 500, 3);
    uint8_t *z;
    size_t zlen;
    ok(hdrlog_encode_compressed(&other, 9, &z, &zlen, &e), &e);
    char *b64 = b64_of(z, zlen);
    MUT(json_object_set_new(GET("connect_us"), "hist", json_string(b64)),
        "a.json: key 'connect_us.hist': histogram layout 1..1000000 at 2 digits, not perfkit "
        "load's 1..3600000000 at 3");
    free(b64);
    free(z);
    hist_destroy(&other);

    /* Derived numbers are recomputed, not read: missing or edited, they
     * change nothing; unknown keys are ignored. */
    d = example_doc();
    json_object_del(d, "start_time");
    json_object_del(d, "rps");
    json_object_set_new(d, "error_rate", json_string("n/a"));
    json_object_del(GET("latency_us"), "p99");
    json_object_set_new(GET("latency_us"), "mean", json_integer(1));
    json_object_del(SERIES(0), "p50_us");
    json_object_set_new(SERIES(1), "p99_us", json_integer(5));
    json_object_set_new(d, "comment", json_string("added by hand"));
    char *text = json_dumps(d, 0);
    json_decref(d);
    struct load_result want;
    pk_err_clear(&e);
    ok(result_read_json(EXAMPLE, &want, &e), &e);
    ok(result_parse_json(text, strlen(text), "a.json", &r, &e), &e);
    assert_same_result(&want, &r);
    assert_int_equal(r.series[1].p99_us, 990);
    free(text);
    result_destroy(&r);
    result_destroy(&want);

    /* Too many URLs. */
    d = example_doc();
    for (unsigned i = 0; i < RESULT_URLS_MAX; i++)
        json_array_append_new(GET("urls"), json_string("http://x/"));
    refuse(d, "a.json: key 'urls': 4097 URLs, at most 4096");
    json_decref(d);
#undef MUT
#undef GET
#undef SERIES
}

/* ---- merge */

static void merge_is_lossless(void **state)
{
    const char *dir = *state;
    struct pk_err e;
    pk_err_clear(&e);
    for (int open = 0; open < 2; open++) {
        struct load_result a, b, all, ra, rb, m, m2;
        build_run(&a, open, 0, 5, 400);
        build_run(&b, open, 1, 5, 400);
        build_run(&all, open, 2, 5, 400);
        static const char *const ua[] = { "http://h/a", "http://h/b" };
        static const char *const ub[] = { "http://h/b", "http://h/c" };
        static const char *const uall[] = { "http://h/a", "http://h/b", "http://h/c" };
        add_urls(&a, ua, 2);
        add_urls(&b, ub, 2);
        add_urls(&all, uall, 3);
        /* Through the files, as `perfkit load merge` does. */
        write_read(&a, path_in(dir, "a.json"), &ra);
        write_read(&b, path_in(dir, "b.json"), &rb);
        rinit(&m);
        ok(result_merge(&m, &ra, &e), &e);
        assert_same_result(&ra, &m); /* into an empty result: a copy */
        ok(result_merge(&m, &rb, &e), &e);

        /* What differs from one run by construction. */
        all.sources = 2;
        all.threads = 4;
        all.connections = 32;
        all.generator_cpu = 0.75;
        if (open) {
            all.rate_target = 1000;
            all.rate_achieved = 999;
            all.sends = a.sends + b.sends;
            all.due = a.due + b.due;
            all.late_sends = 4;
            all.lateness_max_us = 1200;
        }
        all.unfinished = a.unfinished + b.unfinished;
        assert_same_result(&all, &m);

        /* Percentiles of the merge are those of the single histogram. */
        static const double ps[] = { 0, 25, 50, 75, 90, 99, 99.9, 99.99, 100 };
        for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
            assert_int_equal(hist_value_at_percentile(&m.latency, ps[i]),
                             hist_value_at_percentile(&all.latency, ps[i]));
        assert_int_equal(err_count(&m, LOAD_PHASE_CONNECT, "ECONNREFUSED"), 7);
        assert_int_equal(m.status[404], 2);
        assert_int_equal(m.status[500], 1);
        assert_true(result_rps(&m) == (double)all.requests / 5.0);

        /* The other order gives the same. */
        rinit(&m2);
        ok(result_merge(&m2, &rb, &e), &e);
        ok(result_merge(&m2, &ra, &e), &e);
        assert_same_hist(&m.latency, &m2.latency, "latency (b+a)");
        for (size_t i = 0; i < m.nseries; i++)
            assert_same_second(&m.series[i], &m2.series[i], i);
        assert_int_equal(m2.nurls, 3);
        assert_string_equal(m2.urls[0], "http://h/b");

        /* And survives its own round trip. */
        struct load_result mb;
        write_read(&m, path_in(dir, "m.json"), &mb);
        assert_same_result(&m, &mb);
        result_destroy(&mb);

        /* The files streamed (result_merge_json_file, what `perfkit load
         * merge` does): the same merge, in either order. */
        struct load_result s1, s2;
        rinit(&s1);
        ok(result_merge_json_file(&s1, path_in(dir, "a.json"), &e), &e);
        ok(result_merge_json_file(&s1, path_in(dir, "b.json"), &e), &e);
        assert_same_result(&m, &s1);
        rinit(&s2);
        ok(result_merge_json_file(&s2, path_in(dir, "b.json"), &e), &e);
        ok(result_merge_json_file(&s2, path_in(dir, "a.json"), &e), &e);
        assert_same_hist(&s1.latency, &s2.latency, "streamed b+a");
        for (size_t i = 0; i < m2.nseries; i++)
            assert_same_second(&m2.series[i], &s2.series[i], i);
        result_destroy(&s1);
        result_destroy(&s2);
        result_destroy(&m2);
        result_destroy(&m);
        result_destroy(&ra);
        result_destroy(&rb);
        result_destroy(&a);
        result_destroy(&b);
        result_destroy(&all);
    }
}

static void merge_windows_and_series(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result a, b, m;
    build_run(&a, false, 0, 10, 50);
    build_run(&b, false, 1, 10, 50);
    /* b started 2.4 s later: the window is 12.4 s, b's seconds move by 2. */
    b.start_ms = T0 + 2400;
    rinit(&m);
    ok(result_merge(&m, &a, &e), &e);
    ok(result_merge(&m, &b, &e), &e);
    assert_int_equal(m.start_ms, T0);
    assert_true(fabs(m.duration_s - 12.4) < 1e-9);
    assert_true(result_rps(&m) == (double)(a.requests + b.requests) / m.duration_s);
    assert_int_equal(m.nseries, 12);
    for (size_t t = 0; t < 12; t++) {
        uint64_t want = (t < 10 ? a.series[t].requests : 0) + (t >= 2 ? b.series[t - 2].requests : 0);
        assert_int_equal(m.series[t].requests, want);
        /* Each second's histogram is the sum of the two, percentiles recomputed. */
        struct hist sum, h;
        ok(result_hist_init(&sum, &e), &e);
        if (t < 10) {
            decode_second(&a.series[t], &h);
            hist_merge(&sum, &h, &e);
            hist_destroy(&h);
        }
        if (t >= 2) {
            decode_second(&b.series[t - 2], &h);
            hist_merge(&sum, &h, &e);
            hist_destroy(&h);
        }
        decode_second(&m.series[t], &h);
        assert_same_hist(&sum, &h, "second");
        assert_int_equal(m.series[t].p50_us, hist_value_at_percentile(&sum, 50));
        assert_int_equal(m.series[t].p99_us, hist_value_at_percentile(&sum, 99));
        assert_int_equal(m.series[t].max_us, hist_max(&sum));
        hist_destroy(&h);
        hist_destroy(&sum);
    }
    result_destroy(&m);

    /* Merged the other way round, a's seconds move instead. */
    rinit(&m);
    ok(result_merge(&m, &b, &e), &e);
    ok(result_merge(&m, &a, &e), &e);
    assert_int_equal(m.start_ms, T0);
    assert_int_equal(m.nseries, 12);
    assert_int_equal(m.series[0].requests, a.series[0].requests);
    assert_int_equal(m.series[11].requests, b.series[9].requests);
    result_destroy(&m);

    /* Results a year apart would need a series past the cap: refused, dst intact. */
    rinit(&m);
    ok(result_merge(&m, &a, &e), &e);
    b.start_ms = T0 + INT64_C(365) * 86400 * 1000;
    assert_int_equal(result_merge(&m, &b, &e), -EFBIG);
    assert_string_equal(msg(&e), "result: cannot merge results: the results are too far apart: "
                                 "their series would span 31536010 s, at most 604800");
    assert_same_result(&a, &m);
    /* Without series, the window still spans both. */
    for (size_t i = 0; i < b.nseries; i++)
        free(b.series[i].hist_z);
    free(b.series);
    b.series = NULL;
    b.nseries = 0;
    ok(result_merge(&m, &b, &e), &e);
    assert_int_equal(m.nseries, 10);
    assert_true(fabs(m.duration_s - (365.0 * 86400 + 10)) < 1e-6);
    result_destroy(&m);
    result_destroy(&a);
    result_destroy(&b);
}

/* Results by name and by stage merge by name and by index; a merge with a
 * result that has none (an interval log, an older file) or another plan
 * keeps none rather than a breakdown that does not add up. */
static void add_group(struct load_result *r, const char *name, uint64_t n, int status, int64_t us)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct result_group *g;
    ok(result_group_add(r, name, &g, &e), &e);
    g->requests = n;
    g->status[status] = n;
    g->status_errors = g->errors = status >= 400 ? n : 0;
    rec(&g->latency, us, (int64_t)n);
}

static void add_stage(struct load_result *r, uint64_t target, double length, uint64_t n, int64_t us)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct result_stage *s;
    ok(result_stage_add(r, &s, &e), &e);
    s->target = target;
    s->start_s = r->nstages == 1 ? 0 : r->stages[r->nstages - 2].start_s + r->stages[r->nstages - 2].length_s;
    s->length_s = s->duration_s = length;
    s->requests = n;
    s->errors = s->dropped = 1;
    rec(&s->latency, us, (int64_t)n);
}

static void merge_breakdown(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result a, b, m, log;
    build_run(&a, true, 0, 2, 10);
    build_run(&b, true, 1, 2, 10);
    add_group(&a, "GET http://h/a", 3, 200, 100);
    add_group(&a, "login", 2, 500, 900);
    add_group(&b, "login", 4, 200, 700);
    add_group(&b, "GET http://h/c", 1, 404, 50);
    add_stage(&a, 10, 1, 4, 100);
    add_stage(&a, 20, 1, 5, 200);
    add_stage(&b, 10, 1, 6, 300);
    add_stage(&b, 20, 1, 7, 400);
    rinit(&m);
    ok(result_merge(&m, &a, &e), &e);
    ok(result_merge(&m, &b, &e), &e);
    assert_int_equal(m.ngroups, 3);
    assert_string_equal(m.groups[0].name, "GET http://h/a");
    assert_string_equal(m.groups[1].name, "login");
    assert_string_equal(m.groups[2].name, "GET http://h/c");
    assert_int_equal(m.groups[1].requests, 6);
    assert_int_equal(m.groups[1].status[500], 2);
    assert_int_equal(m.groups[1].status[200], 4);
    assert_int_equal(m.groups[1].errors, 2);
    assert_int_equal(hist_total(&m.groups[1].latency), 6);
    assert_int_equal(hist_value_at_percentile(&m.groups[1].latency, 50), 700);
    assert_int_equal(hist_max(&m.groups[1].latency), 900);
    assert_int_equal(m.groups[2].status[404], 1);
    assert_int_equal(m.nstages, 2);
    assert_int_equal(m.stages[1].requests, 12);
    assert_int_equal(m.stages[1].dropped, 2);
    assert_int_equal(hist_total(&m.stages[0].latency), 10);
    assert_int_equal(hist_max(&m.stages[0].latency), 300);
    /* through a file and back: the same */
    struct load_result back;
    char *text;
    ok(result_json_text(&m, NULL, 0, NULL, 0, &text, &e), &e);
    ok(result_parse_json(text, strlen(text), "m.json", &back, &e), &e);
    free(text);
    assert_same_result(&m, &back);
    result_destroy(&back);

    /* another plan: no stages; a result without names: no names */
    struct load_result c;
    build_run(&c, true, 1, 2, 10);
    add_stage(&c, 10, 2, 1, 100);
    ok(result_merge(&m, &c, &e), &e);
    assert_int_equal(m.nstages, 0);
    assert_int_equal(m.ngroups, 0);
    /* into an empty result, what has them keeps them */
    result_destroy(&m);
    rinit(&m);
    ok(result_merge(&m, &a, &e), &e);
    assert_int_equal(m.ngroups, 2);
    assert_int_equal(m.nstages, 2);
    rinit(&log);
    log.sources = 1;
    log.open_model = true;
    log.start_ms = a.start_ms;
    ok(result_merge(&m, &log, &e), &e);
    assert_int_equal(m.ngroups, 0);
    assert_int_equal(m.nstages, 0);
    result_destroy(&a);
    result_destroy(&b);
    result_destroy(&c);
    result_destroy(&m);
    result_destroy(&log);
}

/* The streamed reader takes the keys in any order, and refuses what the
 * whole-document reader refuses, with the place in the file. */
static void stream_reader(void **state)
{
    const char *dir = *state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result r, back, m;
    build_example(&r);
    char *text;
    ok(result_json_text(&r, NULL, 0, NULL, 0, &text, &e), &e);
    /* the series first, the head after it */
    json_t *d = load_text(text);
    json_t *reordered = json_object();
    json_object_set(reordered, "series", json_object_get(d, "series"));
    const char *k;
    json_t *v;
    json_object_foreach(d, k, v)
    {
        if (strcmp(k, "series") != 0)
            json_object_set(reordered, k, v);
    }
    char *t2 = json_dumps(reordered, 0);
    tmptree_put(dir, "r.json", t2);
    rinit(&m);
    ok(result_merge_json_file(&m, path_in(dir, "r.json"), &e), &e);
    ok(result_parse_json(text, strlen(text), "x", &back, &e), &e);
    assert_same_result(&back, &m);
    result_destroy(&m);
    result_destroy(&back);
    free(t2);
    json_decref(reordered);
    json_decref(d);

    static const struct {
        const char *text, *want;
    } bad[] = {
        { "", "r.json:1:1: '{' expected near end of file" },
        { "[1]", "r.json:1:1: '{' expected" },
        { "{\"a\": 1,\n \"a\": 2, \"series\": []}", "r.json:2:2: duplicate object key" },
        { "{\"series\": [], \"series\": []}", "r.json:1:16: duplicate object key" },
        { "{\"a\" 1}", "r.json:1:6: ':' expected" },
        { "{\"a\": 1 \"b\": 2}", "r.json:1:9: ',' or '}' expected" },
        { "{\"a\": [1, 2}", "r.json:1:12: ']' expected near '}'" },
        { "{\"a\": [1, 2", "r.json:1:7: a value ends early near end of file" },
        { "{\"a\": {\"b\": tru}}", "r.json:1:15: invalid token near 'tru'" },
        { "{\"series\": []} x", "r.json:1:16: end of file expected" },
        { "{\"perfkit_load\": 1}", "r.json: key 'series': missing" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tmptree_put(dir, "r.json", bad[i].text);
        rinit(&m);
        pk_err_clear(&e);
        int rc = result_merge_json_file(&m, path_in(dir, "r.json"), &e);
        if (rc != PK_EPARSE || !strstr(msg(&e), bad[i].want))
            fail_msg("'%s': rc %d, '%s', wanted '%s'", bad[i].text, rc, msg(&e), bad[i].want);
        result_destroy(&m);
    }
    /* a key's error as the whole reader names it */
    json_t *doc = load_text(text);
    json_object_set_new(json_array_get(json_object_get(doc, "series"), 1), "t", json_integer(5));
    char *t3 = json_dumps(doc, JSON_INDENT(2));
    tmptree_put(dir, "r.json", t3);
    rinit(&m);
    assert_int_equal(result_merge_json_file(&m, path_in(dir, "r.json"), &e), PK_EPARSE);
    char want[512];
    snprintf(want, sizeof(want), "%s: key 'series[1].t': 5, expected 1 (one entry per second, in order)",
             path_in(dir, "r.json"));
    assert_string_equal(msg(&e), want);
    result_destroy(&m);
    free(t3);
    json_decref(doc);
    free(text);
    result_destroy(&r);
}

static void merge_settings_and_refusals(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result a, b, m;
    build_run(&a, true, 0, 3, 20);
    build_run(&b, true, 1, 3, 20);
    a.host_metrics = b.host_metrics = true;
    a.series[0].cpu_pct = 30;
    b.series[0].cpu_pct = 80;
    a.series[1].cpu_pct = 50; /* b's NaN: not sampled */
    b.series[2].mem_used_pct = 20;
    a.pipeline = 4;
    a.warmup_s = 3;
    b.rate_target = NAN;
    b.generator_cpu = 0.97;
    rinit(&m);
    ok(result_merge(&m, &a, &e), &e);
    ok(result_merge(&m, &b, &e), &e);
    assert_true(m.series[0].cpu_pct == 80);
    assert_true(m.series[1].cpu_pct == 50);
    assert_true(isnan(m.series[1].mem_used_pct));
    assert_true(m.series[2].mem_used_pct == 20);
    assert_int_equal(m.pipeline, 4);
    assert_true(m.warmup_s == 3);
    assert_true(m.rate_target == 500); /* NaN: not measured, not added */
    assert_true(m.rate_achieved == 999);
    assert_true(m.generator_cpu == 0.97);
    assert_int_equal(m.lateness_max_us, 1200);
    assert_int_equal(m.late_sends, 4);
    assert_int_equal(m.sources, 2);

    /* A result that never ran adds nothing (its start_ms 0 is no start). */
    struct load_result none;
    rinit(&none);
    int64_t start = m.start_ms;
    double dur = m.duration_s;
    ok(result_merge(&m, &none, &e), &e);
    assert_int_equal(m.start_ms, start);
    assert_true(m.duration_s == dur);
    assert_int_equal(m.sources, 2);
    result_destroy(&none);

    /* Open and closed do not mix; dst is left as it was. */
    struct load_result c;
    build_run(&c, false, 0, 3, 20);
    uint64_t before = m.requests;
    assert_int_equal(result_merge(&m, &c, &e), -EINVAL);
    assert_string_equal(msg(&e), "result: cannot merge results: one is open model and the other "
                                 "closed: their latencies are measured differently (from the "
                                 "intended send time, from the write)");
    assert_int_equal(m.requests, before);
    assert_int_equal(m.sources, 2);
    /* Counts that would pass 2^63-1. */
    c.open_model = true;
    c.bytes_in = INT64_MAX;
    assert_int_equal(result_merge(&m, &c, &e), -EOVERFLOW);
    assert_int_equal(m.requests, before);
    result_destroy(&c);
    result_destroy(&m);
    result_destroy(&a);
    result_destroy(&b);
}

/* ---- the interval log */

static void hdrlog_both_ways(void **state)
{
    const char *dir = *state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result a, m;
    build_run(&a, false, 2, 4, 100);
    /* A second without responses is not written. */
    free(a.series[2].hist_z);
    a.series[2].hist_z = NULL;
    a.series[2].hist_z_len = 0;
    a.requests -= a.series[2].requests;
    a.series[2].requests = 0;
    a.series[2].p50_us = a.series[2].p99_us = a.series[2].max_us = 0;
    hist_reset(&a.latency);
    for (size_t i = 0; i < a.nseries; i++)
        if (a.series[i].hist_z) {
            struct hist h;
            decode_second(&a.series[i], &h);
            hist_merge(&a.latency, &h, &e);
            hist_destroy(&h);
        }
    const char *log = path_in(dir, "a.hlog");
    ok(result_write_hdrlog(&a, log, &e), &e);
    char *text;
    size_t len;
    ok(files_read_all(log, 1 << 24, &text, &len, &e), &e);
    assert_non_null(strstr(text, "#[Histogram log format version 1.3]\n"
                                 "#perfkit load: latencies in microseconds\n"
                                 "#[StartTime: 1795494600.123 (seconds since epoch), Tue Nov 24 "
                                 "04:30:00 UTC 2026]\n#[BaseTime: 1795494600.123 (seconds since "
                                 "epoch)]\n"));
    /* Seconds 0, 1, 3; the max in ms, as the top of its bucket: 2.5 s is in
     * 2498560..2500607 (unit 2048 from 2^21 us); second 0 holds the clamped
     * 1 h, in 3598712832..3600809983 (unit 2^21 from 2^31). */
    assert_non_null(strstr(text, "\n0.000,1.000,3600809.983,"));
    assert_non_null(strstr(text, "\n1.000,1.000,2500.607,"));
    assert_null(strstr(text, "\n2.000,"));
    assert_non_null(strstr(text, "\n3.000,1.000,2500.607,"));
    /* HdrHistogram's reader sums the same counts. */
    struct hist sum;
    memset(&sum, 0, sizeof(sum));
    ok(hdrlog_read(text, len, "a.hlog", NULL, &sum, NULL, &e), &e);
    a.latency.clamped = 0; /* not part of HdrHistogram's format */
    assert_same_hist(&a.latency, &sum, "log sum");
    hist_destroy(&sum);
    free(text);

    rinit(&m);
    ok(result_merge_hdrlog(&m, log, &e), &e);
    assert_int_equal(m.start_ms, a.start_ms);
    assert_true(m.duration_s == 4);
    assert_int_equal(m.requests, a.requests);
    assert_int_equal(m.sources, 1);
    assert_false(m.open_model);
    assert_same_hist(&a.latency, &m.latency, "latency from the log");
    assert_same_hist(&a.latency, &m.latency_uncorrected, "closed: uncorrected the same");
    assert_int_equal(m.nseries, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(m.series[i].requests, a.series[i].requests);
        assert_int_equal(m.series[i].p99_us, a.series[i].p99_us);
        if (a.series[i].hist_z) {
            struct hist x, y;
            decode_second(&a.series[i], &x);
            decode_second(&m.series[i], &y);
            x.clamped = 0;
            assert_same_hist(&x, &y, "second from the log");
            hist_destroy(&x);
            hist_destroy(&y);
        } else {
            assert_null(m.series[i].hist_z);
        }
    }
    /* The same log twice: every count doubles, the window stays. */
    ok(result_merge_hdrlog(&m, log, &e), &e);
    assert_int_equal(m.requests, 2 * a.requests);
    assert_int_equal(hist_total(&m.latency), 2 * hist_total(&a.latency));
    assert_int_equal(m.series[3].requests, 2 * a.series[3].requests);
    assert_true(m.duration_s == 4);
    result_destroy(&m);

    /* Intervals of 5 s: totals only. Relative times without BaseTime:
     * HistogramLogReader's rule (more than a year before StartTime). */
    struct hist h;
    ok(result_hist_init(&h, &e), &e);
    rec(&h, 1000, 10);
    char *hdr, *l1, *l2;
    size_t n0, n1, n2;
    ok(hdrlog_header(T0, T0, NULL, &hdr, &n0, &e), &e);
    ok(hdrlog_interval(&h, 0, 5, 1000.0, NULL, &l1, &n1, &e), &e);
    ok(hdrlog_interval(&h, 5, 10, 1000.0, NULL, &l2, &n2, &e), &e);
    char *five = malloc(n0 + n1 + n2 + 1);
    /* Drop the BaseTime line. */
    char *bt = strstr(hdr, "#[BaseTime");
    char *bt_end = strchr(bt, '\n') + 1;
    size_t at = (size_t)(bt - hdr);
    memcpy(five, hdr, at);
    memcpy(five + at, bt_end, strlen(bt_end));
    at += strlen(bt_end);
    memcpy(five + at, l1, n1);
    memcpy(five + at + n1, l2, n2 + 1);
    tmptree_put(dir, "five.hlog", five);
    rinit(&m);
    ok(result_merge_hdrlog(&m, path_in(dir, "five.hlog"), &e), &e);
    assert_int_equal(m.requests, 20);
    assert_int_equal(m.nseries, 0);
    assert_int_equal(m.start_ms, T0);
    assert_true(m.duration_s == 10);
    result_destroy(&m);

    /* Without any time line the window is unknown. */
    tmptree_put(dir, "notime.hlog", l1);
    rinit(&m);
    assert_int_equal(result_merge_hdrlog(&m, path_in(dir, "notime.hlog"), &e), PK_EPARSE);
    char want[512];
    snprintf(want, sizeof(want),
             "%s/notime.hlog:1: no StartTime or BaseTime before the first interval: the measured "
             "window is unknown",
             dir);
    assert_string_equal(msg(&e), want);
    result_destroy(&m);

    /* Another layout (nanoseconds up to a minute). */
    struct hist ns;
    ok(hist_init(&ns, 1, INT64_C(60000000000), 3, &e), &e);
    rec(&ns, 1000000, 1);
    char *l3;
    size_t n3;
    ok(hdrlog_interval(&ns, 0, 1, 1e6, NULL, &l3, &n3, &e), &e);
    char *other = malloc(n0 + n3 + 1);
    memcpy(other, hdr, n0);
    memcpy(other + n0, l3, n3 + 1);
    tmptree_put(dir, "ns.hlog", other);
    rinit(&m);
    assert_int_equal(result_merge_hdrlog(&m, path_in(dir, "ns.hlog"), &e), PK_EPARSE);
    snprintf(want, sizeof(want),
             "%s/ns.hlog:5: histogram of another layout: 1..60000000000 at 3 digits, not perfkit "
             "load's 1..3600000000 at 3",
             dir);
    assert_string_equal(msg(&e), want);
    assert_int_equal(m.sources, 0);
    result_destroy(&m);
    /* A broken line: the line parser's message, with the place. */
    tmptree_put(dir, "bad.hlog", "#[StartTime: 1.000 (seconds since epoch)]\n0.0,1.0,x,AAAA\n");
    rinit(&m);
    assert_int_equal(result_merge_hdrlog(&m, path_in(dir, "bad.hlog"), &e), PK_EPARSE);
    snprintf(want, sizeof(want), "%s/bad.hlog:2: ", dir);
    assert_true(strncmp(msg(&e), want, strlen(want)) == 0);
    result_destroy(&m);

    free(other);
    free(l3);
    hist_destroy(&ns);
    free(five);
    free(hdr);
    free(l1);
    free(l2);
    hist_destroy(&h);
    result_destroy(&a);
}

/* ---- the errors table of docs/load.md against the names the code gives */

/* The backquoted names in the third cell of the table row of `phase`
 * ("| `read` | ... | `eof`, `eof_in_head` ... |"), into names (a
 * NUL-separated list); returns how many. */
static size_t doc_row_names(const char *doc, const char *phase, char *names, size_t cap)
{
    char head[32];
    snprintf(head, sizeof(head), "\n| `%s` |", phase);
    const char *row = strstr(doc, head);
    assert_non_null(row);
    row += strlen(head);
    const char *cell = strchr(row, '|'); /* after "what failed" */
    assert_non_null(cell);
    const char *end = strchr(cell, '\n');
    assert_non_null(end);
    size_t n = 0, used = 0;
    for (const char *p = cell; p < end;) {
        const char *a = memchr(p, '`', (size_t)(end - p));
        if (!a)
            break;
        const char *b = memchr(a + 1, '`', (size_t)(end - a - 1));
        assert_non_null(b);
        size_t len = (size_t)(b - a - 1);
        assert_true(used + len + 1 <= cap);
        memcpy(names + used, a + 1, len);
        names[used + len] = '\0';
        used += len + 1;
        n++;
        p = b + 1;
    }
    return n;
}

static bool in_list(const char *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++, names += strlen(names) + 1)
        if (strcmp(names, name) == 0)
            return true;
    return false;
}

/* A name of the code's kind (lowercase, digits, '_'), not an errno name,
 * an OpenSSL reason or an option quoted in the text. */
static bool identifier(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static void docs_error_table(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    char *doc;
    size_t len;
    ok(files_read_all(PK_FIXTURES "/../../docs/load.md", 1u << 20, &doc, &len, &e), &e);
    const char *table = strstr(doc, "## Errors by phase");
    assert_non_null(table);
    struct result_error_name known[128];
    size_t nknown = result_error_names(known, 128);
    assert_true(nknown > 30 && nknown <= 128);
    for (int p = 0; p < LOAD_PHASE_COUNT; p++) {
        char names[4096];
        size_t n = doc_row_names(table, result_phase_name((enum load_phase)p), names, sizeof(names));
        /* every name the code gives in this phase is in the row */
        for (size_t i = 0; i < nknown; i++)
            if (known[i].phase == (enum load_phase)p && !in_list(names, n, known[i].name))
                fail_msg("docs/load.md: the %s row lacks '%s'", result_phase_name((enum load_phase)p),
                         known[i].name);
        /* and every name of the code's kind in the row is one the code gives there */
        const char *q = names;
        for (size_t i = 0; i < n; i++, q += strlen(q) + 1) {
            bool found = false;
            for (size_t k = 0; k < nknown && !found; k++)
                found = known[k].phase == (enum load_phase)p && strcmp(known[k].name, q) == 0;
            if (identifier(q) && !found)
                fail_msg("docs/load.md: the %s row lists '%s', a name the code does not give there",
                         result_phase_name((enum load_phase)p), q);
        }
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_and_rates),
        cmocka_unit_test(series_push_and_hist),
        cmocka_unit_test(threshold_values),
        cmocka_unit_test(thresholds_in_json),
        cmocka_unit_test_setup_teardown(json_round_trip, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(example_fixture),
        cmocka_unit_test(reader_refuses_bad_input),
        cmocka_unit_test_setup_teardown(merge_is_lossless, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(merge_windows_and_series),
        cmocka_unit_test(merge_settings_and_refusals),
        cmocka_unit_test(merge_breakdown),
        cmocka_unit_test_setup_teardown(stream_reader, tmptree_setup, tmptree_teardown),
        cmocka_unit_test_setup_teardown(hdrlog_both_ways, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(docs_error_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
