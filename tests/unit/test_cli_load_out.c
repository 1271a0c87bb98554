/*
 * test_cli_load_out - the summary of `perfkit load`: results built by hand
 * with known latencies, status codes and errors, and the summary checked
 * for the numbers those values give (percentiles worked out here from the
 * values recorded, not read back from the histogram), in both models; the
 * self-check's warnings, threshold marks, wrapping and the progress line.
 */
#define _GNU_SOURCE /* open_memstream */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/load_out.h"
#include "core/hist.h"
#include "core/units.h"
#include "load/result.h"
#include "load/threshold.h"

/* ---- helpers */

struct capture {
    char *buf;
    size_t len;
    FILE *fp;
    struct term t;
};

static void cap_open(struct capture *c, int width, bool color)
{
    memset(c, 0, sizeof(*c));
    c->fp = open_memstream(&c->buf, &c->len);
    assert_non_null(c->fp);
    c->t.fp = c->fp;
    c->t.tty = color;
    c->t.color = color;
    c->t.width = width;
}

static const char *cap_text(struct capture *c)
{
    fflush(c->fp);
    return c->buf;
}

static void cap_close(struct capture *c)
{
    fclose(c->fp);
    free(c->buf);
}

static void contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("missing \"%s\" in:\n%s", want, text);
}

static void lacks(const char *text, const char *unwanted)
{
    if (strstr(text, unwanted))
        fail_msg("unexpected \"%s\" in:\n%s", unwanted, text);
}

/* The line of text that starts with `prefix` (after blanks), copied. */
static const char *line_with(const char *text, const char *prefix)
{
    static char line[1024];
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *q = p;
        while (q < p + n && *q == ' ')
            q++;
        if (!strncmp(q, prefix, strlen(prefix))) {
            if (n >= sizeof(line))
                n = sizeof(line) - 1;
            memcpy(line, p, n);
            line[n] = '\0';
            return line;
        }
        p = end ? end + 1 : NULL;
    }
    fail_msg("no line starting with \"%s\" in:\n%s", prefix, text);
    return "";
}

static const char *us(double v)
{
    static char buf[8][32];
    static int k;
    k = (k + 1) % 8;
    return units_format_duration(v / 1e6, buf[k], sizeof(buf[k]));
}

static struct threshold th(const char *text)
{
    struct threshold t;
    struct pk_err e;
    pk_err_clear(&e);
    if (threshold_parse(text, &t, &e))
        fail_msg("threshold '%s': %s", text, e.why);
    return t;
}

/* 1000 latencies, 1 us .. 1000 us, each once: below 2048 us the histogram
 * is exact, so the percentiles are the values themselves: the p-th
 * percentile of 1..1000 is ceil(p * 10) (HdrHistogram's definition: the
 * smallest value with at least p% of the counts at or below it). */
static void record_1_to_1000(struct hist *h, int64_t scale)
{
    for (int64_t v = 1; v <= 1000; v++)
        assert_int_equal(hist_record(h, v * scale), 0);
}

static void closed_result(struct load_result *r)
{
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(result_init(r, &e), 0);
    r->open_model = false;
    r->threads = 2;
    r->connections = 100;
    r->pipeline = 1;
    r->sources = 1;
    r->duration_s = 0.5;
    r->warmup_s = 1.0;
    r->requests = 1000;
    record_1_to_1000(&r->latency, 1);
    record_1_to_1000(&r->latency_uncorrected, 1);
    r->status[200] = 990;
    r->status[404] = 7;
    r->status[503] = 3;
    r->status_errors = 10;
    result_error_add(r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 12);
    result_error_add(r, LOAD_PHASE_TIMEOUT, "timeout", 3);
    result_error_add(r, LOAD_PHASE_PARSE, "bad_chunk_size", 1);
    r->errors = r->status_errors + 16;
    r->bytes_in = 3 * 1024 * 1024;
    r->bytes_out = 512 * 1024;
    r->connects = 1234;
    assert_int_equal(hist_record(&r->connect, 200), 0);
    assert_int_equal(hist_record(&r->connect, 400), 0);
    r->unfinished = 100;
    r->generator_cpu = 0.5;
}

/* ---- tests */

static void closed_model_summary(void **state)
{
    (void)state;
    struct load_result r;
    closed_result(&r);
    struct threshold t[4] = { th("p99<1ms"), th("p(99.99)<1ms"), th("rps>=2000"), th("error_rate<1%") };
    struct load_warnings w;
    load_out_selfcheck(&r, &w);
    assert_int_equal(w.n, 0);
    struct capture c;
    cap_open(&c, 200, false);
    load_out_summary(&c.t, &r, "http://127.0.0.1:8080/", t, 4, &w);
    const char *s = cap_text(&c);

    contains(line_with(s, "perfkit load"), "perfkit load http://127.0.0.1:8080/ — closed model, 2 threads, "
                                           "100 connections, 1.50 s (warmup 1.00 s)");
    /* 1000 responses in 0.5 s; 26 errors (10 status, 16 transport) of 1016 attempts. */
    contains(line_with(s, "requests"), "requests   1,000 in 500 ms, 2,000 req/s, 26 errors (2.56%)");
    const char *lat = line_with(s, "latency");
    char want[256];
    /* mean of 1..1000 is 500.5, population sigma sqrt((1000^2 - 1) / 12) */
    snprintf(want, sizeof(want), "mean %s, σ %s, min %s", us(500.5), us(sqrt((1000.0 * 1000 - 1) / 12)),
             us(1));
    contains(lat, want);
    lacks(s, "corrected");
    contains(line_with(s, "p50"), "p50      p75      p90      p99      p99.9    p99.99   max");
    snprintf(want, sizeof(want), "%-9s%-9s%-9s%-9s%-9s%-9s%s", us(500), us(750), us(900), us(990), us(999),
             us(1000), us(1000));
    contains(line_with(s, us(500)), want);
    contains(line_with(s, "status"), "status     200 990 · 404 7 · 503 3");
    contains(line_with(s, "errors"),
             "errors     connect ECONNREFUSED 12 · timeout 3 · parse bad_chunk_size 1 · status ≥ 400 10");
    contains(line_with(s, "unfinished"),
             "unfinished 100 requests sent, still in flight at the end (not counted)");
    lacks(s, "dropped");
    snprintf(want, sizeof(want), "connects   1,234, mean %s, max %s", us(300), us(400));
    contains(line_with(s, "connects"), want);
    contains(line_with(s, "transfer"), "transfer   in 3.00 MiB (6.00 MiB/s), out 512 KiB (1.00 MiB/s)");
    contains(line_with(s, "generator"), "busiest thread used 50% of a CPU");
    contains(line_with(s, "thresholds"), "thresholds ✓ p99<1ms (990 us)  ✗ p(99.99)<1ms (1.00 ms)  "
                                         "✓ rps>=2000 (2,000 req/s)  ✗ error_rate<1% (2.56%)");
    lacks(s, "rate       target");
    lacks(s, "late sends");
    lacks(s, "warning");
    lacks(s, "\x1b[");
    assert_int_equal(load_out_thresholds_failed(&r, t, 4), 2);
    assert_int_equal(load_out_thresholds_failed(&r, t, 1), 0);
    cap_close(&c);
    result_destroy(&r);
}

static void open_model_summary(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result r;
    assert_int_equal(result_init(&r, &e), 0);
    r.open_model = true;
    r.threads = 4;
    r.connections = 64;
    r.pipeline = 1;
    r.sources = 1;
    r.duration_s = 10;
    r.requests = 1000;
    /* corrected: 2 .. 2000 us (the waits before the sends counted); uncorrected: 1 .. 1000 us */
    for (int64_t v = 1; v <= 1000; v++) {
        assert_int_equal(hist_record(&r.latency, v * 2), 0);
        assert_int_equal(hist_record(&r.latency_uncorrected, v), 0);
    }
    r.status[200] = 1000;
    r.rate_target = 20000;
    r.rate_achieved = 19000;
    r.sends = 10000;
    r.late_sends = 500;
    r.lateness_max_us = 3100;
    r.generator_cpu = 0.97;
    /* --host-metrics: two seconds sampled, one not (NaN: left out of the means) */
    r.host_metrics = true;
    const double cpu[3] = { 20, 40, NAN }, mem[3] = { 50, 50, NAN };
    for (int i = 0; i < 3; i++) {
        struct result_second *sec;
        assert_int_equal(result_series_push(&r, &sec, &e), 0);
        sec->cpu_pct = cpu[i];
        sec->mem_used_pct = mem[i];
        sec->net_rx_bps = i < 2 ? 1024 * 1024 : NAN;
        sec->net_tx_bps = i < 2 ? 512 * 1024 : NAN;
    }
    struct load_warnings w;
    load_out_selfcheck(&r, &w);
    assert_int_equal(w.n, 2);
    assert_ptr_equal(w.ptr[0], w.text[0]);
    assert_string_equal(w.text[0], "the generator was the bottleneck: its busiest thread used 97% of a CPU; "
                                   "these numbers may measure perfkit rather than the server (add -t, or "
                                   "run several generators: docs/load.md)");
    contains(w.text[1], "sends fell behind the schedule: 500 of 10,000 sends (5.0%) left more than 1 ms");
    contains(w.text[1], "achieved 19,000/s of the 20,000/s target (95.0%)");
    contains(w.text[1], "(add connections -c or threads -t)");

    struct capture c;
    cap_open(&c, 200, false);
    load_out_summary(&c.t, &r, NULL, NULL, 0, &w);
    const char *s = cap_text(&c);
    contains(line_with(s, "perfkit load"), "— open model, 4 threads, 64 connections, 10.0 s");
    lacks(line_with(s, "perfkit load"), "warmup");
    contains(line_with(s, "requests"), "1,000 in 10.0 s, 100 req/s, 0 errors (0.00%)");
    char want[256];
    contains(line_with(s, "rate"), "rate       target 20,000/s, achieved 19,000/s (95.00%)");
    snprintf(want, sizeof(want), "late sends 500 of 10,000 by over 1 ms (max %s)", us(3100));
    contains(line_with(s, "late sends"), want);
    /* Two blocks, corrected first, each with its own percentiles. */
    const char *corr = strstr(s, "from the intended send time, corrected for coordinated omission");
    const char *unc = strstr(s, "from the write, uncorrected");
    assert_non_null(corr);
    assert_non_null(unc);
    assert_true(corr < unc);
    snprintf(want, sizeof(want), "%-9s%-9s%-9s%-9s", us(1000), us(1500), us(1800), us(1980));
    const char *p = strstr(corr, want);
    assert_non_null(p);
    assert_true(p < unc);
    snprintf(want, sizeof(want), "%-9s%-9s%-9s%-9s", us(500), us(750), us(900), us(990));
    assert_non_null(strstr(unc, want));
    snprintf(want, sizeof(want), "mean %s", us(1001));
    contains(corr, want);
    snprintf(want, sizeof(want), "mean %s", us(500.5));
    contains(unc, want);
    contains(line_with(s, "host"), "host       CPU mean 30% (max 40%), memory 50% used, "
                                   "network in 1.00 MiB/s, out 512 KiB/s");
    contains(s, "warning    the generator was the bottleneck");
    contains(s, "warning    sends fell behind the schedule");
    lacks(s, "errors     ");
    lacks(s, "thresholds");
    cap_close(&c);

    /* On schedule and a quiet generator: no warning. */
    r.late_sends = 100; /* exactly 1% */
    r.rate_achieved = 19800;
    r.generator_cpu = 0.89;
    load_out_selfcheck(&r, &w);
    assert_int_equal(w.n, 0);
    r.rate_achieved = 19700;
    load_out_selfcheck(&r, &w);
    assert_int_equal(w.n, 1);
    contains(w.text[0], "achieved 19,700/s of the 20,000/s target (98.5%)");
    lacks(w.text[0], "late");

    /* Due requests never sent: their line, an error item, the warning,
     * and the error rate counts them as failed attempts: 250 of 1250. */
    r.rate_achieved = 19900;
    r.sends = 9750;
    r.late_sends = 0;
    r.dropped = 250;
    r.errors = 250;
    load_out_selfcheck(&r, &w);
    assert_int_equal(w.n, 1);
    contains(w.text[0], "sends fell behind the schedule: 250 due requests never sent (dropped)");
    struct threshold dt = th("dropped<1%");
    cap_open(&c, 200, false);
    load_out_summary(&c.t, &r, NULL, &dt, 1, &w);
    s = cap_text(&c);
    contains(line_with(s, "requests"), "1,000 in 10.0 s, 100 req/s, 250 errors (20.00%)");
    contains(line_with(s, "dropped    "),
             "dropped    250 of 10,000 due (2.50%) never sent: no connection was free in time");
    contains(line_with(s, "errors     "), "errors     dropped 250");
    contains(line_with(s, "thresholds"), "✗ dropped<1% (2.50%)");
    cap_close(&c);
    result_destroy(&r);
}

/* Several names: a row each, with its counts, percentiles and statuses;
 * stages: a row each, the warmup's said so. One name: no rows. */
static void names_and_stages(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result r;
    closed_result(&r);
    struct result_group *g;
    assert_int_equal(result_group_add(&r, "http://h/a", &g, &e), 0);
    g->requests = 990;
    g->status[200] = 990;
    record_1_to_1000(&g->latency, 1);
    struct capture c;
    cap_open(&c, 200, false);
    load_out_summary(&c.t, &r, NULL, NULL, 0, NULL);
    lacks(cap_text(&c), "by name");
    cap_close(&c);
    assert_int_equal(result_group_add(&r, "POST http://h/b", &g, &e), 0);
    g->requests = 10;
    g->status[404] = 7;
    g->status[503] = 3;
    g->errors = 12;
    g->status_errors = 10;
    for (int i = 0; i < 10; i++)
        assert_int_equal(hist_record(&g->latency, 2000), 0);
    struct result_stage *s;
    assert_int_equal(result_stage_add(&r, &s, &e), 0);
    s->target = 50;
    s->start_s = -1;
    s->length_s = 1;
    assert_int_equal(result_stage_add(&r, &s, &e), 0);
    s->target = 100;
    s->length_s = 0.5;
    s->duration_s = 0.5;
    s->requests = 1000;
    s->errors = 26;
    s->status_errors = 10;
    record_1_to_1000(&s->latency, 1);
    cap_open(&c, 200, false);
    load_out_summary(&c.t, &r, NULL, NULL, 0, NULL);
    const char *t = cap_text(&c);
    contains(line_with(t, "by name"), "by name    http://h/a");
    char want[256];
    snprintf(want, sizeof(want), "990 requests · 0 errors (0.00%%) · p50 %s · p99 %s · 200 990", us(500),
             us(990));
    contains(t, want);
    contains(t, "             POST http://h/b\n");
    contains(t, "10 requests · 12 errors (100.00%) · p50 2.00 ms · p99 2.00 ms · 404 7 · 503 3");
    contains(line_with(t, "stages"), "stages     1: 50 connections for 1.00 s · in the warmup");
    snprintf(want, sizeof(want),
             "2: 100 connections for 500 ms · 2,000 req/s · 26 errors (2.56%%) · p50 %s · p99 %s", us(500),
             us(990));
    contains(t, want);
    cap_close(&c);
    result_destroy(&r);
}

static void urls_from_the_result(void **state)
{
    (void)state;
    struct load_result r;
    closed_result(&r);
    static char u1[] = "http://a:8080/x", u2[] = "http://b/", u3[] = "https://c/";
    char *urls[] = { u1, u2, u3 };
    r.urls = urls;
    r.nurls = 3;
    struct capture c;
    cap_open(&c, 200, false);
    load_out_summary(&c.t, &r, NULL, NULL, 0, NULL);
    contains(line_with(cap_text(&c), "perfkit load"),
             "perfkit load http://a:8080/x and 2 more URLs — closed");
    cap_close(&c);
    r.urls = NULL;
    r.nurls = 0;
    result_destroy(&r);
}

static void no_responses(void **state)
{
    (void)state;
    struct pk_err e;
    pk_err_clear(&e);
    struct load_result r;
    assert_int_equal(result_init(&r, &e), 0);
    r.threads = 1;
    r.connections = 1;
    r.duration_s = 2;
    result_error_add(&r, LOAD_PHASE_CONNECT, "ECONNREFUSED", 5000);
    r.errors = 5000;
    struct threshold t = th("p99<1s");
    struct capture c;
    cap_open(&c, 200, false);
    load_out_summary(&c.t, &r, "http://127.0.0.1:1/", &t, 1, NULL);
    const char *s = cap_text(&c);
    contains(line_with(s, "requests"), "0 in 2.00 s, 0 req/s, 5,000 errors (100.00%)");
    contains(line_with(s, "latency"), "latency    no responses");
    contains(line_with(s, "errors"), "connect ECONNREFUSED 5,000");
    contains(line_with(s, "thresholds"), "✗ p99<1s (no data)");
    lacks(s, "status     ");
    assert_int_equal(load_out_thresholds_failed(&r, &t, 1), 1);
    cap_close(&c);
    result_destroy(&r);
}

/* Lists and warnings wrap under their first item and no line but the
 * header passes the width. */
static void wraps_at_the_width(void **state)
{
    (void)state;
    struct load_result r;
    closed_result(&r);
    const char *names[] = {
        "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED"
    };
    for (size_t i = 0; i < 6; i++)
        result_error_add(&r, LOAD_PHASE_READ, names[i], 1000 + i);
    r.generator_cpu = 0.95;
    struct load_warnings w;
    load_out_selfcheck(&r, &w);
    assert_int_equal(w.n, 1);
    struct capture c;
    cap_open(&c, 80, false);
    load_out_summary(&c.t, &r, "http://127.0.0.1:8080/", NULL, 0, &w);
    const char *s = cap_text(&c);
    for (const char *p = s; *p;) {
        const char *end = strchr(p, '\n');
        size_t cols = 0;
        for (const char *q = p; q < end; q++)
            cols += ((unsigned char)*q & 0xc0) != 0x80;
        if (strncmp(p, "perfkit load", 12) && cols > 79)
            fail_msg("line of %zu columns at width 80: %.*s", cols, (int)(end - p), p);
        p = end + 1;
    }
    contains(s, "\n             read "); /* a continuation under the first item */
    /* Joined back, the wrapped warning is the self-check's text. */
    char joined[8192];
    size_t o = 0;
    for (const char *p = s; *p && o + 1 < sizeof(joined); p++) {
        if (*p == '\n' && !strncmp(p + 1, "             ", 13) && p[14] != ' ') {
            joined[o++] = ' ';
            p += 13;
        } else {
            joined[o++] = *p;
        }
    }
    joined[o] = '\0';
    char want[LOAD_OUT_WARNING_LEN + 16];
    snprintf(want, sizeof(want), "warning    %s\n", w.text[0]);
    contains(joined, want);
    cap_close(&c);
    result_destroy(&r);
}

static void colours_only_when_asked(void **state)
{
    (void)state;
    struct load_result r;
    closed_result(&r);
    struct threshold t[2] = { th("p99<1ms"), th("max<1ms") };
    struct capture c;
    cap_open(&c, 200, true);
    load_out_summary(&c.t, &r, "http://h/", t, 2, NULL);
    const char *s = cap_text(&c);
    contains(s, "\x1b[1mperfkit load http://h/\x1b[0m");
    contains(s, "\x1b[32m✓ p99<1ms");
    contains(s, "\x1b[31m✗ max<1ms");
    contains(s, "\x1b[33m404 7\x1b[0m");
    contains(s, "\x1b[31m503 3\x1b[0m");
    cap_close(&c);
    result_destroy(&r);
}

static void progress_line(void **state)
{
    (void)state;
    char buf[256];
    struct load_progress p = { .elapsed_s = 1.0, .total_s = 11, .warmup = true, .target = 50 };
    assert_string_equal(load_out_progress_text(&p, false, buf, sizeof(buf)),
                        "warmup  1s/11s  0 requests  0 req/s  p99 -  0 errors  50 conn");
    p = (struct load_progress){ .elapsed_s = 75.2,
                                .total_s = 300,
                                .requests = 1234567,
                                .errors = 1,
                                .rps = 20001.4,
                                .p99_us = 2900,
                                .target = 20000 };
    snprintf(buf, sizeof(buf),
             "1m15s/5m00s  1,234,567 requests  20,001 req/s  p99 %s  1 error  target 20,000/s", us(2900));
    char got[256];
    assert_string_equal(load_out_progress_text(&p, true, got, sizeof(got)), buf);
    p = (struct load_progress){
        .elapsed_s = 3, .requests = 500, .max_requests = 100000, .rps = 250, .p99_us = 10, .target = 8
    };
    contains(load_out_progress_text(&p, false, got, sizeof(got)), "3s  500/100,000 requests  250 req/s");

    /* Drawn in place on a terminal, erased at the end; nothing without one. */
    struct capture c;
    cap_open(&c, 80, false);
    c.t.tty = true;
    struct load_live live = { .t = &c.t, .open_model = false };
    load_out_progress(&p, &live);
    assert_true(live.drawn);
    load_out_progress_clear(&live);
    assert_false(live.drawn);
    const char *s = cap_text(&c);
    assert_int_equal(s[0], '\r');
    assert_int_equal(strlen(s), 1 + 79 + 1 + 79 + 1);
    assert_null(strchr(s, '\n'));
    cap_close(&c);
    cap_open(&c, 80, false);
    live = (struct load_live){ .t = &c.t };
    load_out_progress(&p, &live);
    load_out_progress_clear(&live);
    assert_string_equal(cap_text(&c), "");
    assert_int_equal(c.len, 0);
    cap_close(&c);
}

static void spectrum_in_milliseconds(void **state)
{
    (void)state;
    struct load_result r;
    closed_result(&r);
    struct pk_err e;
    pk_err_clear(&e);
    struct capture c;
    cap_open(&c, 80, false);
    assert_int_equal(load_out_spectrum(c.fp, &r, &e), 0);
    const char *s = cap_text(&c);
    contains(s, "       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    contains(s, "       0.500 0.500000000000        500           2.00\n");
    contains(s, "       1.000 1.000000000000       1000\n");
    contains(s, "#[Mean    =        0.501, StdDeviation   =        0.289]\n");
    contains(s, "#[Max     =        1.000, Total count    =         1000]\n");
    cap_close(&c);
    result_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_model_summary),
        cmocka_unit_test(open_model_summary),
        cmocka_unit_test(names_and_stages),
        cmocka_unit_test(urls_from_the_result),
        cmocka_unit_test(no_responses),
        cmocka_unit_test(wraps_at_the_width),
        cmocka_unit_test(colours_only_when_asked),
        cmocka_unit_test(progress_line),
        cmocka_unit_test(spectrum_in_milliseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
