/*
 * result - what a load run measured: bookkeeping, JSON (docs/load-json.md),
 * the HdrHistogram interval log, merges, threshold values (result.h).
 *
 * Histograms travel as HdrHistogram's compressed V2 encoding in base64, so
 * a result read back (or merged) has the very counts that were recorded,
 * not numbers derived from summaries. The reader treats its input as
 * untrusted: every key is type- and range-checked, every array and string
 * is capped, and a histogram's layout is checked before it is decoded.
 */
#include "load/result.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zlib.h>

#include "core/base64.h"
#include "core/err.h"
#include "core/files.h"
#include "core/hdrlog.h"
#include "core/jsonio.h"

/* Year 9999: start_time keeps four digits, and start_ms + a duration in ms
 * stays far from INT64_MAX and exact in a double. */
#define START_MS_MAX INT64_C(253402300799999)
/* About 31 years: any real run, and small enough that window ends in ms are
 * exact integers in a double. */
#define DURATION_MAX_S 1e9
/* A histogram of the result layout compresses to at most ~212 KB (V2 counts
 * of 9 bytes each); its base64 is a third longer. */
#define HIST_B64_MAX (1u << 20)
/* The largest value a result histogram reports: the highest equivalent
 * value of its top bucket lies a little above RESULT_HIST_HIGHEST (buckets
 * are 1/1024 of their values wide at 3 digits). */
#define HIST_VALUE_MAX (2 * RESULT_HIST_HIGHEST)
/* HdrHistogram's log readers take timestamps more than a year before
 * StartTime as relative to it (HistogramLogReader). */
#define LOG_RELATIVE_S (365.0 * 24 * 3600)

static const char *const phase_names[LOAD_PHASE_COUNT] = {
    "connect", "tls", "write", "read", "timeout", "parse",
};

const char *result_phase_name(enum load_phase p)
{
    return (unsigned)p < LOAD_PHASE_COUNT ? phase_names[p] : "?";
}

/* ---- lifetime */

int result_hist_init(struct hist *h, struct pk_err *e)
{
    return hist_init(h, RESULT_HIST_LOWEST, RESULT_HIST_HIGHEST, RESULT_HIST_SIGFIGS, e);
}

int result_init(struct load_result *r, struct pk_err *e)
{
    memset(r, 0, sizeof(*r));
    int rc = result_hist_init(&r->latency, e);
    if (rc == 0)
        rc = result_hist_init(&r->latency_uncorrected, e);
    if (rc == 0)
        rc = result_hist_init(&r->connect, e);
    return rc;
}

static void series_free(struct result_second *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].hist_z);
    free(s);
}

void result_destroy(struct load_result *r)
{
    if (!r)
        return;
    hist_destroy(&r->latency);
    hist_destroy(&r->latency_uncorrected);
    hist_destroy(&r->connect);
    for (size_t i = 0; i < r->nurls; i++)
        free(r->urls[i]);
    free(r->urls);
    series_free(r->series, r->nseries);
    memset(r, 0, sizeof(*r));
}

/* ---- counters */

/* Names end up in terminals and JSON: printable ASCII only. */
static void copy_name(char *dst, const char *name)
{
    size_t n = 0;
    for (; name[n] && n < RESULT_ERROR_NAME_MAX; n++) {
        unsigned char c = (unsigned char)name[n];
        dst[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[n] = '\0';
}

static struct result_error *error_find(struct load_result *r, enum load_phase phase,
                                       const char *name)
{
    for (size_t i = 0; i < r->nerrs; i++)
        if (r->errs[i].phase == phase && strcmp(r->errs[i].name, name) == 0)
            return &r->errs[i];
    return NULL;
}

void result_error_add(struct load_result *r, enum load_phase phase, const char *name, uint64_t n)
{
    if ((unsigned)phase >= LOAD_PHASE_COUNT)
        phase = LOAD_PHASE_READ;
    char key[RESULT_ERROR_NAME_MAX + 1];
    copy_name(key, name && name[0] ? name : "unknown");
    struct result_error *x = error_find(r, phase, key);
    /* LOAD_PHASE_COUNT slots stay free for the "other" of each phase, so
     * that a flood of distinct names still lands under its own phase. */
    if (!x && strcmp(key, "other") != 0 && r->nerrs >= RESULT_ERROR_NAMES_MAX - LOAD_PHASE_COUNT) {
        snprintf(key, sizeof(key), "other");
        x = error_find(r, phase, key);
    }
    if (!x) {
        if (r->nerrs >= RESULT_ERROR_NAMES_MAX)
            return;   /* unreachable: the reserve above */
        x = &r->errs[r->nerrs++];
        memset(x, 0, sizeof(*x));
        x->phase = (uint8_t)phase;
        memcpy(x->name, key, sizeof(key));
    }
    x->count += n;
}

uint64_t result_transport_errors(const struct load_result *r)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->nerrs; i++)
        n += r->errs[i].count;
    return n;
}

double result_error_rate(const struct load_result *r)
{
    double all = (double)r->requests + (double)result_transport_errors(r);
    return all > 0 ? (double)r->errors / all : NAN;
}

double result_rps(const struct load_result *r)
{
    return r->duration_s > 0 ? (double)r->requests / r->duration_s : NAN;
}

/* ---- series */

/* Allocated length for n seconds: a power of two (16 at least), so that a
 * push every second costs amortised O(1) without a capacity field. Every
 * array that becomes r->series is allocated with this length. */
static size_t series_cap(size_t n)
{
    size_t c = 16;
    while (c < n)
        c *= 2;
    return c;
}

static void second_clear(struct result_second *s)
{
    memset(s, 0, sizeof(*s));
    s->cpu_pct = s->mem_used_pct = s->net_rx_bps = s->net_tx_bps = NAN;
}

static struct result_second *series_alloc(size_t n)
{
    struct result_second *s = malloc(series_cap(n) * sizeof(*s));
    if (s)
        for (size_t i = 0; i < n; i++)
            second_clear(&s[i]);
    return s;
}

int result_series_push(struct load_result *r, struct result_second **out, struct pk_err *e)
{
    if (r->nseries >= RESULT_SERIES_MAX)
        return err_set(e, -EFBIG, "series", "cannot add a second",
                       "the series holds at most %u seconds", (unsigned)RESULT_SERIES_MAX);
    size_t n = r->nseries;
    if (n == 0 || n == series_cap(n)) {
        size_t cap = n == 0 ? series_cap(1) : 2 * n;
        struct result_second *s = realloc(r->series, cap * sizeof(*s));
        if (!s)
            return err_errno(e, -ENOMEM, "series", "cannot add a second");
        r->series = s;
    }
    second_clear(&r->series[n]);
    r->nseries = n + 1;
    if (out)
        *out = &r->series[n];
    return 0;
}

int result_second_set_hist(struct result_second *s, const struct hist *h, struct pk_err *e)
{
    if (hist_total(h) == 0) {
        free(s->hist_z);
        s->hist_z = NULL;
        s->hist_z_len = 0;
        s->p50_us = s->p99_us = s->max_us = 0;
        return 0;
    }
    uint8_t *z;
    size_t len;
    int rc = hdrlog_encode_compressed(h, HDRLOG_LOG_ZLIB_LEVEL, &z, &len, e);
    if (rc < 0)
        return rc;
    free(s->hist_z);
    s->hist_z = z;
    s->hist_z_len = len;
    s->p50_us = hist_value_at_percentile(h, 50);
    s->p99_us = hist_value_at_percentile(h, 99);
    s->max_us = hist_max(h);
    return 0;
}

/* ---- thresholds */

double result_threshold_value(const struct load_result *r, const struct threshold *t)
{
    const struct hist *h = &r->latency;
    bool none = hist_total(h) == 0;
    switch (t->metric) {
    case THRESHOLD_PERCENTILE:
        return none ? NAN : (double)hist_value_at_percentile(h, t->percentile) / 1e6;
    case THRESHOLD_MEAN:
        return none ? NAN : hist_mean(h) / 1e6;
    case THRESHOLD_MIN:
        return none ? NAN : (double)hist_min(h) / 1e6;
    case THRESHOLD_MAX:
        return none ? NAN : (double)hist_max(h) / 1e6;
    case THRESHOLD_ERROR_RATE:
        return result_error_rate(r);
    case THRESHOLD_RPS:
        return result_rps(r);
    }
    return NAN;
}

static void threshold_metric_name(const struct threshold *t, char *buf, size_t len)
{
    switch (t->metric) {
    case THRESHOLD_PERCENTILE:
        snprintf(buf, len, "p%.6g", t->percentile);
        return;
    case THRESHOLD_MEAN:
        snprintf(buf, len, "mean");
        return;
    case THRESHOLD_MIN:
        snprintf(buf, len, "min");
        return;
    case THRESHOLD_MAX:
        snprintf(buf, len, "max");
        return;
    case THRESHOLD_ERROR_RATE:
        snprintf(buf, len, "error_rate");
        return;
    case THRESHOLD_RPS:
        snprintf(buf, len, "rps");
        return;
    }
    snprintf(buf, len, "?");
}

static const char *threshold_unit(const struct threshold *t)
{
    switch (t->metric) {
    case THRESHOLD_ERROR_RATE:
        return "fraction";
    case THRESHOLD_RPS:
        return "requests/s";
    default:
        return "s";
    }
}

/* ---- JSON writer */

/* Building a jansson tree: the first failure sticks, so the code reads as
 * the document it writes and checks once at the end. */
struct jw {
    bool nomem;
    const char *ctx;       /* the object being written, for too_big */
    char too_big[96];      /* a count past INT64_MAX (JSON integers are int64) */
};

/* jansson's *_set_new and *_append_new take the value even when they fail;
 * a value that is not stored is released here, and NULL returned. */
static json_t *jw_set(struct jw *w, json_t *obj, const char *key, json_t *v)
{
    if (!obj || !v) {
        json_decref(v);
        w->nomem = true;
        return NULL;
    }
    if (json_object_set_new(obj, key, v) != 0) {
        w->nomem = true;
        return NULL;
    }
    return v;
}

static json_t *jw_append(struct jw *w, json_t *arr, json_t *v)
{
    if (!arr || !v) {
        json_decref(v);
        w->nomem = true;
        return NULL;
    }
    if (json_array_append_new(arr, v) != 0) {
        w->nomem = true;
        return NULL;
    }
    return v;
}

static void jw_count(struct jw *w, json_t *obj, const char *key, uint64_t v)
{
    if (v > INT64_MAX) {
        if (!w->too_big[0])
            snprintf(w->too_big, sizeof(w->too_big), "%s%s%s", w->ctx ? w->ctx : "",
                     w->ctx ? "." : "", key);
        v = 0;
    }
    jw_set(w, obj, key, json_integer((json_int_t)v));
}

static json_t *b64_string(const uint8_t *p, size_t n)
{
    char *s = malloc(base64_encoded_len(n) + 1);
    if (!s)
        return NULL;
    size_t len = base64_encode(p, n, s);
    json_t *v = json_stringn(s, len);
    free(s);
    return v;
}

static json_t *hist_summary(struct jw *w, const struct hist *h, struct pk_err *e, int *rc)
{
    static const struct {
        const char *key;
        double p;
    } pcts[] = { { "p50", 50 },   { "p75", 75 },     { "p90", 90 },
                 { "p99", 99 },   { "p999", 99.9 }, { "p9999", 99.99 } };
    json_t *o = json_object();
    jw_set(w, o, "count", json_integer(hist_total(h)));
    jw_set(w, o, "mean", json_real(hist_mean(h)));
    jw_set(w, o, "stddev", json_real(hist_stddev(h)));
    jw_set(w, o, "min", json_integer(hist_min(h)));
    for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
        jw_set(w, o, pcts[i].key, json_integer(hist_value_at_percentile(h, pcts[i].p)));
    jw_set(w, o, "max", json_integer(hist_max(h)));
    jw_set(w, o, "clamped", json_integer(h->clamped));
    uint8_t *z;
    size_t len;
    *rc = hdrlog_encode_compressed(h, HDRLOG_LOG_ZLIB_LEVEL, &z, &len, e);
    if (*rc == 0) {
        jw_set(w, o, "hist", b64_string(z, len));
        free(z);
    }
    return o;
}

/* "2026-11-24T04:30:00.123Z" */
static void iso_time(int64_t ms, char *buf, size_t len)
{
    int64_t sec = ms / 1000 - (ms % 1000 < 0);
    int frac = (int)(ms - sec * 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, len, "?");
        return;
    }
    snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static bool url_ok(const char *s)
{
    size_t n = strnlen(s, RESULT_URL_MAX + 1);
    if (n == 0 || n > RESULT_URL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* What the reader would refuse is refused here, so that every file
 * written reads back. */
static int check_writable(const struct load_result *r, struct pk_err *e)
{
    const char *what = "cannot write the result";
    if (r->start_ms < 0 || r->start_ms > START_MS_MAX)
        return err_set(e, -EINVAL, "start_ms", what, "%lld is not a time in years 1970..9999",
                       (long long)r->start_ms);
    if (!(r->duration_s >= 0 && r->duration_s <= DURATION_MAX_S))
        return err_set(e, -EINVAL, "duration_s", what, "%g is not in 0..%g", r->duration_s,
                       DURATION_MAX_S);
    if (!(r->warmup_s >= 0 && r->warmup_s <= DURATION_MAX_S))
        return err_set(e, -EINVAL, "warmup_s", what, "%g is not in 0..%g", r->warmup_s,
                       DURATION_MAX_S);
    if (r->nurls > RESULT_URLS_MAX)
        return err_set(e, -EINVAL, "urls", what, "%zu URLs, at most %u", r->nurls,
                       (unsigned)RESULT_URLS_MAX);
    for (size_t i = 0; i < r->nurls; i++)
        if (!r->urls[i] || !url_ok(r->urls[i]))
            return err_set(e, -EINVAL, "urls", what,
                           "URL %zu is empty, longer than %u bytes or has control characters", i,
                           (unsigned)RESULT_URL_MAX);
    if (r->nseries > RESULT_SERIES_MAX)
        return err_set(e, -EINVAL, "series", what, "%zu seconds, at most %u", r->nseries,
                       (unsigned)RESULT_SERIES_MAX);
    const struct hist *hs[] = { &r->latency, &r->latency_uncorrected, &r->connect };
    for (size_t i = 0; i < 3; i++)
        if (!hs[i]->counts || hs[i]->lowest != RESULT_HIST_LOWEST ||
            hs[i]->highest != RESULT_HIST_HIGHEST || hs[i]->sigfigs != RESULT_HIST_SIGFIGS)
            return err_set(e, -EINVAL, "histogram", what, "not the layout of result_hist_init()");
    for (size_t i = 0; i < r->nseries; i++) {
        const struct result_second *s = &r->series[i];
        if (s->p50_us < 0 || s->p99_us < 0 || s->max_us < 0 || s->p50_us > HIST_VALUE_MAX ||
            s->p99_us > HIST_VALUE_MAX || s->max_us > HIST_VALUE_MAX)
            return err_set(e, -EINVAL, "series", what, "second %zu: latency out of range", i);
    }
    if (r->lateness_max_us < 0)
        return err_set(e, -EINVAL, "rate", what, "negative lateness");
    return 0;
}

static json_t *build_json(const struct load_result *r, const struct threshold *th, size_t nth,
                          const char *const *warnings, size_t nwarnings, struct jw *w,
                          struct pk_err *e, int *rc)
{
    json_t *root = json_object();
    char buf[64];
    *rc = 0;

    jw_set(w, root, "perfkit_load", json_integer(RESULT_FORMAT_VERSION));
    jw_set(w, root, "model", json_string(r->open_model ? "open" : "closed"));
    iso_time(r->start_ms, buf, sizeof(buf));
    jw_set(w, root, "start_time", json_string(buf));
    jw_set(w, root, "start_ms", json_integer(r->start_ms));
    jw_set(w, root, "duration_s", json_real(r->duration_s));
    jw_set(w, root, "warmup_s", json_real(r->warmup_s));
    jw_set(w, root, "threads", json_integer(r->threads));
    jw_set(w, root, "connections", json_integer(r->connections));
    jw_set(w, root, "pipeline", json_integer(r->pipeline));
    jw_set(w, root, "sources", json_integer(r->sources ? r->sources : 1));
    json_t *urls = jw_set(w, root, "urls", json_array());
    for (size_t i = 0; i < r->nurls; i++)
        jw_append(w, urls, json_string(r->urls[i]));

    jw_count(w, root, "requests", r->requests);
    jw_set(w, root, "rps", jsonio_real(result_rps(r)));
    jw_set(w, root, "error_rate", jsonio_real(result_error_rate(r)));
    json_t *errs = jw_set(w, root, "errors", json_object());
    w->ctx = "errors";
    jw_count(w, errs, "total", r->errors);
    jw_count(w, errs, "status", r->status_errors);
    jw_count(w, errs, "transport", result_transport_errors(r));
    for (int p = 0; p < LOAD_PHASE_COUNT; p++) {
        json_t *ph = jw_set(w, errs, phase_names[p], json_object());
        for (size_t i = 0; i < r->nerrs; i++)
            if (r->errs[i].phase == p)
                jw_count(w, ph, r->errs[i].name, r->errs[i].count);
    }
    w->ctx = NULL;
    jw_count(w, root, "unfinished", r->unfinished);
    json_t *bytes = jw_set(w, root, "bytes", json_object());
    w->ctx = "bytes";
    jw_count(w, bytes, "in", r->bytes_in);
    jw_count(w, bytes, "out", r->bytes_out);
    w->ctx = NULL;
    jw_count(w, root, "connects", r->connects);
    json_t *codes = jw_set(w, root, "status_codes", json_object());
    w->ctx = "status_codes";
    for (int c = 0; c < RESULT_STATUS_MAX; c++)
        if (r->status[c]) {
            snprintf(buf, sizeof(buf), "%d", c);
            jw_count(w, codes, buf, r->status[c]);
        }

    w->ctx = NULL;
    jw_set(w, root, "latency_us", hist_summary(w, &r->latency, e, rc));
    if (*rc == 0 && r->open_model)
        jw_set(w, root, "latency_uncorrected_us", hist_summary(w, &r->latency_uncorrected, e, rc));
    if (*rc == 0)
        jw_set(w, root, "connect_us", hist_summary(w, &r->connect, e, rc));
    if (*rc < 0)
        return root;
    if (r->open_model) {
        json_t *rate = jw_set(w, root, "rate", json_object());
        w->ctx = "rate";
        jw_set(w, rate, "target", jsonio_real(r->rate_target));
        jw_set(w, rate, "achieved", jsonio_real(r->rate_achieved));
        jw_count(w, rate, "sends", r->sends);
        jw_count(w, rate, "late_sends", r->late_sends);
        jw_set(w, rate, "lateness_max_us", json_integer(r->lateness_max_us));
    }

    w->ctx = "series";
    json_t *ths = jw_set(w, root, "thresholds", json_array());
    for (size_t i = 0; i < nth; i++) {
        json_t *t = jw_append(w, ths, json_object());
        double v = result_threshold_value(r, &th[i]);
        jw_set(w, t, "threshold", json_string(th[i].text));
        threshold_metric_name(&th[i], buf, sizeof(buf));
        jw_set(w, t, "metric", json_string(buf));
        jw_set(w, t, "op", json_string(threshold_op_str(th[i].op)));
        jw_set(w, t, "value", jsonio_real(v));
        jw_set(w, t, "limit", jsonio_real(th[i].limit));
        jw_set(w, t, "unit", json_string(threshold_unit(&th[i])));
        jw_set(w, t, "pass", json_boolean(threshold_pass(&th[i], v)));
    }
    json_t *sc = jw_set(w, root, "self_check", json_object());
    jw_set(w, sc, "generator_cpu", jsonio_real(r->generator_cpu));
    json_t *warns = jw_set(w, sc, "warnings", json_array());
    for (size_t i = 0; i < nwarnings; i++)
        jw_append(w, warns, json_string(warnings[i] ? warnings[i] : ""));

    jw_set(w, root, "host_metrics", json_boolean(r->host_metrics));
    json_t *series = jw_set(w, root, "series", json_array());
    for (size_t i = 0; i < r->nseries; i++) {
        const struct result_second *s = &r->series[i];
        json_t *o = jw_append(w, series, json_object());
        jw_set(w, o, "t", json_integer((json_int_t)i));
        jw_count(w, o, "requests", s->requests);
        jw_count(w, o, "errors", s->errors);
        jw_count(w, o, "bytes_in", s->bytes_in);
        jw_count(w, o, "bytes_out", s->bytes_out);
        jw_set(w, o, "p50_us", json_integer(s->p50_us));
        jw_set(w, o, "p99_us", json_integer(s->p99_us));
        jw_set(w, o, "max_us", json_integer(s->max_us));
        jw_set(w, o, "hist", s->hist_z ? b64_string(s->hist_z, s->hist_z_len) : json_null());
        if (r->host_metrics) {
            jw_set(w, o, "cpu_pct", jsonio_real(s->cpu_pct));
            jw_set(w, o, "mem_used_pct", jsonio_real(s->mem_used_pct));
            jw_set(w, o, "net_rx_bytes_per_s", jsonio_real(s->net_rx_bps));
            jw_set(w, o, "net_tx_bytes_per_s", jsonio_real(s->net_tx_bps));
        }
    }
    return root;
}

int result_json_text(const struct load_result *r, const struct threshold *th, size_t nth,
                     const char *const *warnings, size_t nwarnings, char **out,
                     struct pk_err *e)
{
    const char *what = "cannot write the result";
    if (!r || !out || (nth && !th) || (nwarnings && !warnings))
        return err_set(e, -EINVAL, "result", what, "missing argument");
    int rc = check_writable(r, e);
    if (rc < 0)
        return rc;
    struct jw w = { 0 };
    json_t *root = build_json(r, th, nth, warnings, nwarnings, &w, e, &rc);
    if (rc == 0 && w.too_big[0])
        rc = err_set(e, -EOVERFLOW, "result", what,
                     "'%s' is above 2^63-1, more than a JSON integer holds", w.too_big);
    if (rc == 0 && (w.nomem || !root))
        rc = err_errno(e, -ENOMEM, "result", what);
    char *text = NULL;
    if (rc == 0 && !(text = jsonio_dumps(root)))
        rc = err_errno(e, -ENOMEM, "result", what);
    json_decref(root);
    if (rc == 0)
        *out = text;
    return rc;
}

int result_write_json(const struct load_result *r, const struct threshold *th, size_t nth,
                      const char *const *warnings, size_t nwarnings, const char *path,
                      struct pk_err *e)
{
    if (!path)
        return err_set(e, -EINVAL, "result", "cannot write the result", "no path");
    char *text;
    int rc = result_json_text(r, th, nth, warnings, nwarnings, &text, e);
    if (rc < 0)
        return rc;
    rc = files_write_atomic(path, text, strlen(text), e);
    free(text);
    return rc;
}

/* ---- HdrHistogram interval log */

int result_write_hdrlog(const struct load_result *r, const char *path, struct pk_err *e)
{
    const char *what = "cannot write the histogram log";
    if (!r || !path)
        return err_set(e, -EINVAL, "histogram log", what, "missing argument");
    char *text = NULL;
    size_t len = 0;
    int rc = hdrlog_header(r->start_ms, r->start_ms, "perfkit load: latencies in microseconds",
                           &text, &len, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->nseries && rc == 0; i++) {
        const struct result_second *s = &r->series[i];
        if (!s->hist_z)
            continue;
        struct hist h;
        char *line;
        size_t n;
        rc = hdrlog_decode_compressed(s->hist_z, s->hist_z_len, &h, e);
        if (rc < 0)
            break;
        /* Interval_Max in milliseconds, HdrHistogram's own convention
         * (its writers divide nanoseconds by 1e6). */
        rc = hdrlog_interval(&h, (double)i, (double)i + 1, 1000.0, NULL, &line, &n, e);
        hist_destroy(&h);
        if (rc < 0)
            break;
        char *grown = realloc(text, len + n + 1);
        if (!grown) {
            free(line);
            rc = err_errno(e, -ENOMEM, "histogram log", what);
            break;
        }
        text = grown;
        memcpy(text + len, line, n + 1);
        len += n;
        free(line);
    }
    if (rc == 0)
        rc = files_write_atomic(path, text, len, e);
    free(text);
    return rc;
}

/* ---- JSON reader */

struct rd {
    const char *name;
    struct pk_err *e;
};

/* on = the file, what = "key '<path>'", why = the problem. */
static int bad(const struct rd *c, const char *parent, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(const struct rd *c, const char *parent, const char *key, const char *fmt, ...)
{
    char what[sizeof(c->e->what)], why[sizeof(c->e->why)];
    if (parent && key)
        snprintf(what, sizeof(what), "key '%s.%s'", parent, key);
    else
        snprintf(what, sizeof(what), "key '%s'", parent ? parent : key ? key : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return err_set(c->e, PK_EPARSE, c->name, what, "%s", why);
}

static int nomem(const struct rd *c)
{
    return err_errno(c->e, -ENOMEM, c->name, "cannot read the result");
}

static int member(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                  const json_t **v)
{
    *v = json_object_get(obj, key);
    return *v ? 0 : bad(c, parent, key, "missing");
}

static int get_obj(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                   const json_t **v)
{
    int rc = member(c, obj, parent, key, v);
    if (rc == 0 && !json_is_object(*v))
        rc = bad(c, parent, key, "expected an object");
    return rc;
}

static int get_int(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                   int64_t lo, int64_t hi, int64_t *out)
{
    const json_t *v;
    int rc = member(c, obj, parent, key, &v);
    if (rc < 0)
        return rc;
    if (!json_is_integer(v))
        return bad(c, parent, key, "expected an integer");
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return bad(c, parent, key, "%lld is out of range %lld..%lld", (long long)x, (long long)lo,
                   (long long)hi);
    *out = x;
    return 0;
}

static int get_count(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                     uint64_t *out)
{
    int64_t x;
    int rc = get_int(c, obj, parent, key, 0, INT64_MAX, &x);
    if (rc == 0)
        *out = (uint64_t)x;
    return rc;
}

static int get_uint(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                    int64_t lo, unsigned *out)
{
    int64_t x;
    int rc = get_int(c, obj, parent, key, lo, UINT_MAX, &x);
    if (rc == 0)
        *out = (unsigned)x;
    return rc;
}

/* A number in lo..hi; null reads as NaN where the writer writes NaN as null. */
static int get_num(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                   double lo, double hi, bool nullable, double *out)
{
    const json_t *v;
    int rc = member(c, obj, parent, key, &v);
    if (rc < 0)
        return rc;
    if (nullable && json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v))
        return bad(c, parent, key, nullable ? "expected a number or null" : "expected a number");
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return isinf(hi) ? bad(c, parent, key, "%g is negative", x)
                         : bad(c, parent, key, "%g is out of range %g..%g", x, lo, hi);
    *out = x;
    return 0;
}

/* The layout in the V2 header at the start of a compressed histogram,
 * found by inflating its first 40 bytes only, so that a foreign layout is
 * refused before the decoder allocates counts for it (up to ~100 MiB).
 * -1 when the bytes do not get that far (the decoder then says why). */
static int peek_layout(const uint8_t *z, size_t n, int64_t *lowest, int64_t *highest,
                       int *sigfigs)
{
    if (n < 8 || n - 8 > UINT_MAX)
        return -1;
    uint8_t hdr[HDRLOG_V2_HEADER_LEN];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return -ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)(z + 8);
    zs.avail_in = (uInt)(n - 8);
    zs.next_out = hdr;
    zs.avail_out = sizeof(hdr);
    int r;
    do
        r = inflate(&zs, Z_SYNC_FLUSH);
    while (r == Z_OK && zs.avail_out > 0 && zs.avail_in > 0);
    inflateEnd(&zs);
    if (zs.avail_out != 0)
        return -1;
    uint64_t lo = 0, hi = 0;
    for (int i = 0; i < 8; i++) {
        lo = lo << 8 | hdr[16 + i];
        hi = hi << 8 | hdr[24 + i];
    }
    *sigfigs = (int)((uint32_t)hdr[12] << 24 | (uint32_t)hdr[13] << 16 | (uint32_t)hdr[14] << 8 |
                     hdr[15]);
    *lowest = (int64_t)lo;
    *highest = (int64_t)hi;
    return 0;
}

/* A "hist" string: base64 of a compressed histogram of the result layout.
 * On success *h is initialised (caller destroys it) and, when z is not
 * NULL, the compressed bytes are handed over in *z / *zlen. */
static int read_hist_string(const struct rd *c, const json_t *v, const char *parent,
                            const char *key, struct hist *h, uint8_t **z, size_t *zlen)
{
    if (!json_is_string(v))
        return bad(c, parent, key, "expected a base64 string");
    size_t n = json_string_length(v);
    if (n > HIST_B64_MAX)
        return bad(c, parent, key, "longer than %u characters", HIST_B64_MAX);
    uint8_t *bytes;
    size_t len;
    int rc = base64_decode(json_string_value(v), n, &bytes, &len);
    if (rc == -ENOMEM)
        return nomem(c);
    if (rc < 0)
        return bad(c, parent, key, "not base64");
    int64_t lo, hi;
    int sf;
    rc = peek_layout(bytes, len, &lo, &hi, &sf);
    if (rc == -ENOMEM) {
        free(bytes);
        return nomem(c);
    }
    if (rc == 0 && (lo != RESULT_HIST_LOWEST || hi != RESULT_HIST_HIGHEST || sf != RESULT_HIST_SIGFIGS)) {
        free(bytes);
        return bad(c, parent, key,
                   "histogram layout %lld..%lld at %d digits, not perfkit load's %lld..%lld at %d",
                   (long long)lo, (long long)hi, sf, (long long)RESULT_HIST_LOWEST,
                   (long long)RESULT_HIST_HIGHEST, RESULT_HIST_SIGFIGS);
    }
    struct pk_err de;
    pk_err_clear(&de);
    rc = hdrlog_decode_compressed(bytes, len, h, &de);
    if (rc == -ENOMEM) {
        free(bytes);
        return nomem(c);
    }
    if (rc < 0) {
        free(bytes);
        return bad(c, parent, key, "not a compressed HdrHistogram: %s",
                   de.why[0] ? de.why : de.what);
    }
    if (z) {
        *z = bytes;
        *zlen = len;
    } else {
        free(bytes);
    }
    return 0;
}

/* latency_us and friends: the histogram from "hist" replaces *dst; the
 * summary numbers are derived from it and only "count" (which must agree)
 * and "clamped" (not part of HdrHistogram's encoding) are read. */
static int read_hist_object(const struct rd *c, const json_t *root, const char *key,
                            struct hist *dst)
{
    const json_t *o, *v;
    int rc = get_obj(c, root, NULL, key, &o);
    if (rc == 0)
        rc = member(c, o, key, "hist", &v);
    if (rc < 0)
        return rc;
    uint64_t count = 0, clamped = 0;
    if ((rc = get_count(c, o, key, "count", &count)) < 0 ||
        (rc = get_count(c, o, key, "clamped", &clamped)) < 0)
        return rc;
    struct hist h;
    rc = read_hist_string(c, v, key, "hist", &h, NULL, NULL);
    if (rc < 0)
        return rc;
    if ((int64_t)count != hist_total(&h)) {
        rc = bad(c, key, "count", "%llu, but the histogram holds %lld", (unsigned long long)count,
                 (long long)hist_total(&h));
    } else if ((int64_t)clamped > hist_total(&h)) {
        rc = bad(c, key, "clamped", "%llu, more than the count", (unsigned long long)clamped);
    }
    if (rc < 0) {
        hist_destroy(&h);
        return rc;
    }
    h.clamped = (int64_t)clamped;
    hist_destroy(dst);
    *dst = h;
    return 0;
}

static int read_urls(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *a;
    int rc = member(c, root, NULL, "urls", &a);
    if (rc < 0)
        return rc;
    if (!json_is_array(a))
        return bad(c, NULL, "urls", "expected an array");
    size_t n = json_array_size(a);
    if (n > RESULT_URLS_MAX)
        return bad(c, NULL, "urls", "%zu URLs, at most %u", n, (unsigned)RESULT_URLS_MAX);
    if (n == 0)
        return 0;
    r->urls = calloc(n, sizeof(*r->urls));
    if (!r->urls)
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        const json_t *u = json_array_get(a, i);
        char key[32];
        snprintf(key, sizeof(key), "urls[%zu]", i);
        if (!json_is_string(u))
            return bad(c, key, NULL, "expected a string");
        size_t len = json_string_length(u);
        if (len > RESULT_URL_MAX)
            return bad(c, key, NULL, "longer than %u bytes", (unsigned)RESULT_URL_MAX);
        if (len == 0 || strlen(json_string_value(u)) != len || !url_ok(json_string_value(u)))
            return bad(c, key, NULL, "empty or with control characters");
        r->urls[i] = strdup(json_string_value(u));
        if (!r->urls[i])
            return nomem(c);
        r->nurls = i + 1;
    }
    return 0;
}

static int read_errors(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *o;
    int rc = get_obj(c, root, NULL, "errors", &o);
    uint64_t transport = 0;
    if (rc == 0)
        rc = get_count(c, o, "errors", "total", &r->errors);
    if (rc == 0)
        rc = get_count(c, o, "errors", "status", &r->status_errors);
    if (rc == 0)
        rc = get_count(c, o, "errors", "transport", &transport);
    if (rc < 0)
        return rc;
    uint64_t sum = 0;
    size_t names = 0;
    for (int p = 0; p < LOAD_PHASE_COUNT; p++) {
        const json_t *ph;
        json_t *v;
        const char *name;
        size_t n;
        char parent[32];
        snprintf(parent, sizeof(parent), "errors.%s", phase_names[p]);
        if ((rc = get_obj(c, o, "errors", phase_names[p], &ph)) < 0)
            return rc;
        /* With the key's length: "\u0000" inside a key must not cut it. */
        json_object_keylen_foreach((json_t *)ph, name, n, v) {
            char q[RESULT_ERROR_NAME_MAX + 16];
            err_quote(name, n, q, sizeof(q));
            if (++names > RESULT_ERROR_NAMES_MAX)
                return bad(c, parent, NULL, "more than %u error names", RESULT_ERROR_NAMES_MAX);
            if (n == 0 || n > RESULT_ERROR_NAME_MAX)
                return bad(c, parent, q, "an error name is 1 to %u bytes", RESULT_ERROR_NAME_MAX);
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f)
                    return bad(c, parent, q, "an error name is printable ASCII");
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return bad(c, parent, q, "expected an integer >= 0");
            uint64_t count = (uint64_t)json_integer_value(v);
            if (__builtin_add_overflow(sum, count, &sum) || sum > INT64_MAX)
                return bad(c, parent, q, "the error counts add up past 2^63-1");
            result_error_add(r, (enum load_phase)p, name, count);
        }
    }
    if (transport != sum)
        return bad(c, "errors", "transport", "%llu, but the phases add up to %llu",
                   (unsigned long long)transport, (unsigned long long)sum);
    return 0;
}

static int read_status(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *o;
    json_t *v;
    const char *key;
    size_t n;
    int rc = get_obj(c, root, NULL, "status_codes", &o);
    if (rc < 0)
        return rc;
    json_object_keylen_foreach((json_t *)o, key, n, v) {
        char q[32];
        err_quote(key, n, q, sizeof(q));
        int code = -1;
        if (n == 3 && key[0] >= '1' && key[0] <= '5' && key[1] >= '0' && key[1] <= '9' &&
            key[2] >= '0' && key[2] <= '9')
            code = (key[0] - '0') * 100 + (key[1] - '0') * 10 + (key[2] - '0');
        if (code < 100 || code >= RESULT_STATUS_MAX)
            return bad(c, "status_codes", q, "not a status code 100..599");
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return bad(c, "status_codes", q, "expected an integer >= 0");
        r->status[code] = (uint64_t)json_integer_value(v);
    }
    return 0;
}

static int read_second(const struct rd *c, const json_t *o, size_t i, bool host,
                       struct result_second *s)
{
    char p[40];
    snprintf(p, sizeof(p), "series[%zu]", i);
    if (!json_is_object(o))
        return bad(c, p, NULL, "expected an object");
    int64_t t;
    int rc;
    if ((rc = get_int(c, o, p, "t", 0, INT64_MAX, &t)) < 0)
        return rc;
    if ((uint64_t)t != i)
        return bad(c, p, "t", "%lld, expected %zu (one entry per second, in order)", (long long)t, i);
    if ((rc = get_count(c, o, p, "requests", &s->requests)) < 0 ||
        (rc = get_count(c, o, p, "errors", &s->errors)) < 0 ||
        (rc = get_count(c, o, p, "bytes_in", &s->bytes_in)) < 0 ||
        (rc = get_count(c, o, p, "bytes_out", &s->bytes_out)) < 0)
        return rc;
    if (host) {
        if ((rc = get_num(c, o, p, "cpu_pct", 0, 1e6, true, &s->cpu_pct)) < 0 ||
            (rc = get_num(c, o, p, "mem_used_pct", 0, 1e6, true, &s->mem_used_pct)) < 0 ||
            (rc = get_num(c, o, p, "net_rx_bytes_per_s", 0, INFINITY, true, &s->net_rx_bps)) < 0 ||
            (rc = get_num(c, o, p, "net_tx_bytes_per_s", 0, INFINITY, true, &s->net_tx_bps)) < 0)
            return rc;
    }
    const json_t *v;
    if ((rc = member(c, o, p, "hist", &v)) < 0)
        return rc;
    if (json_is_null(v)) {
        /* No histogram to derive them from: as written. */
        if ((rc = get_int(c, o, p, "p50_us", 0, HIST_VALUE_MAX, &s->p50_us)) < 0 ||
            (rc = get_int(c, o, p, "p99_us", 0, HIST_VALUE_MAX, &s->p99_us)) < 0 ||
            (rc = get_int(c, o, p, "max_us", 0, HIST_VALUE_MAX, &s->max_us)) < 0)
            return rc;
        return 0;
    }
    struct hist h;
    rc = read_hist_string(c, v, p, "hist", &h, &s->hist_z, &s->hist_z_len);
    if (rc < 0)
        return rc;
    /* Derived from the histogram, as result_second_set_hist() does. */
    s->p50_us = hist_value_at_percentile(&h, 50);
    s->p99_us = hist_value_at_percentile(&h, 99);
    s->max_us = hist_max(&h);
    hist_destroy(&h);
    return 0;
}

static int read_series(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *a;
    int rc = member(c, root, NULL, "series", &a);
    if (rc < 0)
        return rc;
    if (!json_is_array(a))
        return bad(c, NULL, "series", "expected an array");
    size_t n = json_array_size(a);
    if (n > RESULT_SERIES_MAX)
        return bad(c, NULL, "series", "%zu seconds, at most %u", n, (unsigned)RESULT_SERIES_MAX);
    if (n == 0)
        return 0;
    r->series = series_alloc(n);
    if (!r->series)
        return nomem(c);
    r->nseries = n;
    for (size_t i = 0; i < n; i++)
        if ((rc = read_second(c, json_array_get(a, i), i, r->host_metrics, &r->series[i])) < 0)
            return rc;
    return 0;
}

static int from_json(const struct rd *c, const json_t *root, struct load_result *r)
{
    if (!json_is_object(root))
        return err_set(c->e, PK_EPARSE, c->name, "top level", "expected an object");
    const json_t *v;
    int64_t version;
    if (!json_object_get(root, "perfkit_load"))
        return bad(c, NULL, "perfkit_load", "missing: not a perfkit load result");
    int rc = get_int(c, root, NULL, "perfkit_load", INT64_MIN, INT64_MAX, &version);
    if (rc < 0)
        return rc;
    if (version != RESULT_FORMAT_VERSION)
        return bad(c, NULL, "perfkit_load", "format version %lld, this perfkit reads %d",
                   (long long)version, RESULT_FORMAT_VERSION);
    if ((rc = member(c, root, NULL, "model", &v)) < 0)
        return rc;
    const char *model = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(model, "open") != 0 && strcmp(model, "closed") != 0)
        return bad(c, NULL, "model", "expected \"open\" or \"closed\"");
    r->open_model = model[0] == 'o';

    if ((rc = get_int(c, root, NULL, "start_ms", 0, START_MS_MAX, &r->start_ms)) < 0 ||
        (rc = get_num(c, root, NULL, "duration_s", 0, DURATION_MAX_S, false, &r->duration_s)) < 0 ||
        (rc = get_num(c, root, NULL, "warmup_s", 0, DURATION_MAX_S, false, &r->warmup_s)) < 0 ||
        (rc = get_uint(c, root, NULL, "threads", 0, &r->threads)) < 0 ||
        (rc = get_uint(c, root, NULL, "connections", 0, &r->connections)) < 0 ||
        (rc = get_uint(c, root, NULL, "pipeline", 0, &r->pipeline)) < 0 ||
        (rc = get_uint(c, root, NULL, "sources", 1, &r->sources)) < 0)
        return rc;
    if ((rc = read_urls(c, root, r)) < 0)
        return rc;

    const json_t *o;
    if ((rc = get_count(c, root, NULL, "requests", &r->requests)) < 0 ||
        (rc = read_errors(c, root, r)) < 0 ||
        (rc = get_count(c, root, NULL, "unfinished", &r->unfinished)) < 0 ||
        (rc = get_obj(c, root, NULL, "bytes", &o)) < 0 ||
        (rc = get_count(c, o, "bytes", "in", &r->bytes_in)) < 0 ||
        (rc = get_count(c, o, "bytes", "out", &r->bytes_out)) < 0 ||
        (rc = get_count(c, root, NULL, "connects", &r->connects)) < 0 ||
        (rc = read_status(c, root, r)) < 0)
        return rc;

    if ((rc = read_hist_object(c, root, "latency_us", &r->latency)) < 0 ||
        (rc = read_hist_object(c, root, "connect_us", &r->connect)) < 0)
        return rc;
    if (r->open_model) {
        if ((rc = read_hist_object(c, root, "latency_uncorrected_us", &r->latency_uncorrected)) < 0 ||
            (rc = get_obj(c, root, NULL, "rate", &o)) < 0 ||
            (rc = get_num(c, o, "rate", "target", 0, INFINITY, true, &r->rate_target)) < 0 ||
            (rc = get_num(c, o, "rate", "achieved", 0, INFINITY, true, &r->rate_achieved)) < 0 ||
            (rc = get_count(c, o, "rate", "sends", &r->sends)) < 0 ||
            (rc = get_count(c, o, "rate", "late_sends", &r->late_sends)) < 0 ||
            (rc = get_int(c, o, "rate", "lateness_max_us", 0, INT64_MAX, &r->lateness_max_us)) < 0)
            return rc;
    } else {
        /* The closed model measures both from the write: one histogram. */
        hist_reset(&r->latency_uncorrected);
        if (hist_merge(&r->latency_uncorrected, &r->latency, NULL) == 0)
            r->latency_uncorrected.clamped = r->latency.clamped;
    }

    /* Thresholds and warnings are outputs of the run that wrote the file,
     * not part of a result: a merge evaluates its own. Shape only. */
    if ((v = json_object_get(root, "thresholds")) && !json_is_array(v))
        return bad(c, NULL, "thresholds", "expected an array");
    if ((rc = get_obj(c, root, NULL, "self_check", &o)) < 0 ||
        (rc = get_num(c, o, "self_check", "generator_cpu", 0, 1e6, true, &r->generator_cpu)) < 0)
        return rc;
    if ((v = json_object_get(o, "warnings")) && !json_is_array(v))
        return bad(c, "self_check", "warnings", "expected an array");

    if ((rc = member(c, root, NULL, "host_metrics", &v)) < 0)
        return rc;
    if (!json_is_boolean(v))
        return bad(c, NULL, "host_metrics", "expected true or false");
    r->host_metrics = json_is_true(v);
    return read_series(c, root, r);
}

/* r is result_init()ed. */
static int parse_into(const char *text, size_t len, const char *name, struct load_result *r,
                      struct pk_err *e)
{
    json_t *root;
    int rc = jsonio_parse(text, len, name, &root, e);
    if (rc < 0)
        return rc;
    struct rd c = { name, e };
    rc = from_json(&c, root, r);
    json_decref(root);
    return rc;
}

int result_parse_json(const char *text, size_t len, const char *name, struct load_result *r,
                      struct pk_err *e)
{
    if (!name)
        name = "<input>";
    int rc = result_init(r, e);
    if (rc < 0)
        return rc;
    if (!text)
        return err_set(e, -EINVAL, name, "cannot read the result", "no text");
    return parse_into(text, len, name, r, e);
}

int result_read_json(const char *path, struct load_result *r, struct pk_err *e)
{
    int rc = result_init(r, e);
    if (rc < 0)
        return rc;
    if (!path)
        return err_set(e, -EINVAL, "result", "cannot read the result", "no path");
    char *text;
    size_t len;
    rc = files_read_all(path, RESULT_JSON_MAX_BYTES, &text, &len, e);
    if (rc < 0)
        return rc;
    rc = parse_into(text, len, path, r, e);
    free(text);
    return rc;
}

/* ---- merge */

static bool add_ok(uint64_t *acc, uint64_t v)
{
    uint64_t s;
    if (__builtin_add_overflow(*acc, v, &s) || s > INT64_MAX)
        return false;
    *acc = s;
    return true;
}

/* NaN stands for "not measured": a sum of what was measured. */
static double add_measured(double a, double b)
{
    if (isnan(a))
        return b;
    if (isnan(b))
        return a;
    return a + b;
}

/* The union of two URL lists, first occurrence kept, capped. */
static int urls_union(const struct load_result *a, const struct load_result *b, char ***out,
                      size_t *nout)
{
    size_t cap = a->nurls + b->nurls;
    if (cap > RESULT_URLS_MAX)
        cap = RESULT_URLS_MAX;
    char **u = calloc(cap ? cap : 1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    size_t n = 0;
    const struct load_result *from[2] = { a, b };
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < from[k]->nurls && n < cap; i++) {
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = strcmp(u[j], from[k]->urls[i]) == 0;
            if (seen)
                continue;
            if (!(u[n] = strdup(from[k]->urls[i]))) {
                for (size_t j = 0; j < n; j++)
                    free(u[j]);
                free(u);
                return -ENOMEM;
            }
            n++;
        }
    *out = u;
    *nout = n;
    return 0;
}

static int second_hist(const struct result_second *s, struct hist *h, struct pk_err *e)
{
    return hdrlog_decode_compressed(s->hist_z, s->hist_z_len, h, e);
}

/* Adds src into d. d->hist_z is replaced by a new buffer when both have a
 * histogram (*fresh tells the caller which buffers are new). */
static int second_add(struct result_second *d, bool *fresh, const struct result_second *src,
                      struct pk_err *e)
{
    bool had = d->requests > 0 || d->hist_z;
    struct result_second sum = *d;
    if (!add_ok(&sum.requests, src->requests) || !add_ok(&sum.errors, src->errors) ||
        !add_ok(&sum.bytes_in, src->bytes_in) || !add_ok(&sum.bytes_out, src->bytes_out))
        return err_set(e, -EOVERFLOW, "series", "cannot merge", "a count would pass 2^63-1");
    d->requests = sum.requests;
    d->errors = sum.errors;
    d->bytes_in = sum.bytes_in;
    d->bytes_out = sum.bytes_out;
    /* The worst host of the generators, see docs/load-json.md. */
    d->cpu_pct = fmax(d->cpu_pct, src->cpu_pct);
    d->mem_used_pct = fmax(d->mem_used_pct, src->mem_used_pct);
    d->net_rx_bps = fmax(d->net_rx_bps, src->net_rx_bps);
    d->net_tx_bps = fmax(d->net_tx_bps, src->net_tx_bps);
    if (!src->hist_z) {
        if (!d->hist_z) {
            /* Neither kept a histogram: the best that can be said. */
            if (!had) {
                d->p50_us = src->p50_us;
                d->p99_us = src->p99_us;
            }
            d->max_us = d->max_us > src->max_us ? d->max_us : src->max_us;
        }
        return 0;
    }
    if (!d->hist_z) {
        uint8_t *z = malloc(src->hist_z_len ? src->hist_z_len : 1);
        if (!z)
            return err_errno(e, -ENOMEM, "series", "cannot merge");
        memcpy(z, src->hist_z, src->hist_z_len);
        d->hist_z = z;
        d->hist_z_len = src->hist_z_len;
        d->p50_us = src->p50_us;
        d->p99_us = src->p99_us;
        d->max_us = src->max_us;
        *fresh = true;
        return 0;
    }
    struct hist a, b;
    int rc = second_hist(d, &a, e);
    if (rc < 0)
        return rc;
    rc = second_hist(src, &b, e);
    if (rc == 0) {
        rc = hist_merge(&a, &b, e);
        hist_destroy(&b);
    }
    if (rc == 0) {
        struct result_second tmp = *d;
        tmp.hist_z = NULL;
        rc = result_second_set_hist(&tmp, &a, e);
        if (rc == 0) {
            if (*fresh)
                free(d->hist_z);
            *d = tmp;
            *fresh = true;
        }
    }
    hist_destroy(&a);
    return rc;
}

/* Offset in whole seconds (nearest) of a start after the merged start. */
static int64_t offset_s(int64_t start_ms, int64_t base_ms)
{
    return (int64_t)llround(((double)start_ms - (double)base_ms) / 1000.0);
}

int result_merge(struct load_result *dst, const struct load_result *src, struct pk_err *e)
{
    const char *what = "cannot merge results";
    if (!dst || !src || dst == src)
        return err_set(e, -EINVAL, "result", what, "missing or identical arguments");
    bool first = dst->sources == 0;
    /* A result that never ran (as result_init() left it) adds nothing; its
     * start_ms of 0 must not stretch the window back to 1970. */
    if (src->sources == 0 && src->start_ms == 0 && src->duration_s == 0 && src->requests == 0 &&
        src->nseries == 0 && src->nerrs == 0 && hist_total(&src->latency) == 0 &&
        hist_total(&src->connect) == 0)
        return 0;
    if (!first && dst->open_model != src->open_model)
        return err_set(e, -EINVAL, "result", what,
                       "one is open model and the other closed: their latencies are measured "
                       "differently (from the intended send time, from the write)");
    const struct hist *dh[] = { &dst->latency, &dst->latency_uncorrected, &dst->connect };
    const struct hist *sh[] = { &src->latency, &src->latency_uncorrected, &src->connect };
    for (int i = 0; i < 3; i++) {
        int64_t sum;
        if (!dh[i]->counts || !sh[i]->counts || !hist_same_layout(dh[i], sh[i]))
            return err_set(e, -EINVAL, "result", what, "histograms of different layouts");
        if (__builtin_add_overflow(dh[i]->total, sh[i]->total, &sum) ||
            __builtin_add_overflow(dh[i]->clamped, sh[i]->clamped, &sum))
            return err_set(e, -EOVERFLOW, "result", what, "a histogram's count would overflow");
    }
    if (dst->nseries > RESULT_SERIES_MAX || src->nseries > RESULT_SERIES_MAX)
        return err_set(e, -EINVAL, "result", what, "a series longer than %u seconds",
                       (unsigned)RESULT_SERIES_MAX);

    /* Everything is computed into t (which shares dst's buffers) and
     * committed at the end: dst is unchanged on every error. */
    struct load_result t = *dst;
    unsigned src_sources = src->sources ? src->sources : 1;
    if (first) {
        t.open_model = src->open_model;
        t.threads = src->threads;
        t.connections = src->connections;
        t.pipeline = src->pipeline;
        t.sources = src_sources;
        t.start_ms = src->start_ms;
        t.duration_s = src->duration_s;
        t.warmup_s = src->warmup_s;
        t.rate_target = src->rate_target;
        t.rate_achieved = src->rate_achieved;
        t.lateness_max_us = src->lateness_max_us;
        t.generator_cpu = src->generator_cpu;
        t.host_metrics = src->host_metrics;
    } else {
        if (__builtin_add_overflow(t.threads, src->threads, &t.threads) ||
            __builtin_add_overflow(t.connections, src->connections, &t.connections) ||
            __builtin_add_overflow(t.sources, src_sources, &t.sources))
            return err_set(e, -EOVERFLOW, "result", what, "too many threads or connections");
        if (src->pipeline > t.pipeline)
            t.pipeline = src->pipeline;
        if (src->warmup_s > t.warmup_s)
            t.warmup_s = src->warmup_s;
        /* The window is the union of both. */
        double end_a = (double)dst->start_ms + dst->duration_s * 1000.0;
        double end_b = (double)src->start_ms + src->duration_s * 1000.0;
        t.start_ms = src->start_ms < dst->start_ms ? src->start_ms : dst->start_ms;
        t.duration_s = (fmax(end_a, end_b) - (double)t.start_ms) / 1000.0;
        if (!(t.duration_s <= DURATION_MAX_S))
            return err_set(e, -EFBIG, "result", what,
                           "the results are too far apart: a window of %g s, at most %g",
                           t.duration_s, DURATION_MAX_S);
        /* Generators side by side: their rates add. */
        t.rate_target = add_measured(t.rate_target, src->rate_target);
        t.rate_achieved = add_measured(t.rate_achieved, src->rate_achieved);
        if (src->lateness_max_us > t.lateness_max_us)
            t.lateness_max_us = src->lateness_max_us;
        /* The self-check flags the busiest generator: the maximum. */
        t.generator_cpu = fmax(t.generator_cpu, src->generator_cpu);
        t.host_metrics = t.host_metrics || src->host_metrics;
    }

    bool ok = add_ok(&t.requests, src->requests) && add_ok(&t.errors, src->errors) &&
              add_ok(&t.status_errors, src->status_errors) &&
              add_ok(&t.unfinished, src->unfinished) && add_ok(&t.bytes_in, src->bytes_in) &&
              add_ok(&t.bytes_out, src->bytes_out) && add_ok(&t.connects, src->connects) &&
              add_ok(&t.sends, src->sends) && add_ok(&t.late_sends, src->late_sends);
    for (int c = 0; c < RESULT_STATUS_MAX && ok; c++)
        ok = add_ok(&t.status[c], src->status[c]);
    for (size_t i = 0; i < src->nerrs && ok; i++)
        result_error_add(&t, (enum load_phase)src->errs[i].phase, src->errs[i].name,
                         src->errs[i].count);
    /* Counts of valid results are at most 2^63-1 each, so these sums did
     * not wrap; what passes 2^63-1 could not be written. */
    uint64_t transport = 0;
    for (size_t i = 0; i < t.nerrs && ok; i++)
        ok = add_ok(&transport, t.errs[i].count);
    if (!ok)
        return err_set(e, -EOVERFLOW, "result", what, "a count would pass 2^63-1");

    /* Series on whole seconds of the merged start. */
    int64_t kd = first ? 0 : offset_s(dst->start_ms, t.start_ms);
    int64_t ks = first ? 0 : offset_s(src->start_ms, t.start_ms);
    int64_t len = dst->nseries ? (int64_t)dst->nseries + kd : 0;
    if (src->nseries && (int64_t)src->nseries + ks > len)
        len = (int64_t)src->nseries + ks;
    if (len > RESULT_SERIES_MAX)
        return err_set(e, -EFBIG, "result", what,
                       "the results are too far apart: their series would span %lld s, at most %u",
                       (long long)len, (unsigned)RESULT_SERIES_MAX);

    int rc = 0;
    char **urls = NULL;
    size_t nurls = 0;
    if (urls_union(dst, src, &urls, &nurls) < 0)
        return err_errno(e, -ENOMEM, "result", what);
    struct result_second *ns = NULL;
    bool *fresh = NULL;
    if (len > 0) {
        ns = series_alloc((size_t)len);
        fresh = calloc((size_t)len, sizeof(*fresh));
        if (!ns || !fresh) {
            rc = err_errno(e, -ENOMEM, "result", what);
            goto fail;
        }
        for (size_t i = 0; i < dst->nseries; i++)
            ns[i + (size_t)kd] = dst->series[i];
        for (size_t i = 0; i < src->nseries && rc == 0; i++)
            rc = second_add(&ns[i + (size_t)ks], &fresh[i + (size_t)ks], &src->series[i], e);
        if (rc < 0)
            goto fail;
    }

    /* Commit: nothing below fails (layouts and totals were checked). */
    hist_merge(&t.latency, &src->latency, NULL);
    hist_merge(&t.latency_uncorrected, &src->latency_uncorrected, NULL);
    hist_merge(&t.connect, &src->connect, NULL);
    for (size_t i = 0; i < dst->nurls; i++)
        free(dst->urls[i]);
    free(dst->urls);
    t.urls = urls;
    t.nurls = nurls;
    for (size_t i = 0; i < dst->nseries; i++)
        if (ns[i + (size_t)kd].hist_z != dst->series[i].hist_z)
            free(dst->series[i].hist_z);
    free(dst->series);
    t.series = ns;
    t.nseries = (size_t)len;
    free(fresh);
    *dst = t;
    return 0;

fail:
    if (ns && fresh)
        for (int64_t i = 0; i < len; i++)
            if (fresh[i])
                free(ns[i].hist_z);
    free(ns);
    free(fresh);
    for (size_t i = 0; i < nurls; i++)
        free(urls[i]);
    free(urls);
    return rc;
}

/* ---- merge of an HdrHistogram interval log */

struct logrd {
    struct load_result *r;
    bool have_start, have_base, based, per_second;
    double start_time_s, base_time_s, base_s, window_s, end_s;
};

static int log_interval(struct logrd *g, struct hdrlog_line *line, struct pk_err *e)
{
    struct load_result *r = g->r;
    if (!hist_same_layout(&line->hist, &r->latency))
        return err_set(e, PK_EPARSE, "", "histogram of another layout",
                       "%lld..%lld at %d digits, not perfkit load's %lld..%lld at %d",
                       (long long)line->hist.lowest, (long long)line->hist.highest,
                       line->hist.sigfigs, (long long)RESULT_HIST_LOWEST,
                       (long long)RESULT_HIST_HIGHEST, RESULT_HIST_SIGFIGS);
    if (!g->based) {
        if (!g->have_start && !g->have_base)
            return err_set(e, PK_EPARSE, "", "no StartTime or BaseTime before the first interval",
                           "the measured window is unknown");
        /* HistogramLogReader's rule for logs without a BaseTime. */
        if (g->have_base)
            g->base_s = g->base_time_s;
        else
            g->base_s = line->start_s < g->start_time_s - LOG_RELATIVE_S ? g->start_time_s : 0;
        g->window_s = g->have_start ? g->start_time_s : g->base_s + line->start_s;
        double ms = floor(g->window_s * 1000.0 + 0.5);
        if (!(ms >= 0 && ms <= (double)START_MS_MAX))
            return err_set(e, PK_EPARSE, "", "start time out of range", "%.3f s", g->window_s);
        r->start_ms = (int64_t)ms;
        g->end_s = g->window_s;
        g->based = true;
    }
    if (!(line->length_s >= 0) || !isfinite(line->start_s) || !isfinite(line->length_s))
        return err_set(e, PK_EPARSE, "", "invalid interval", "a negative or non-finite time");
    double abs_s = g->base_s + line->start_s;
    double rel = abs_s - (double)r->start_ms / 1000.0;
    if (!isfinite(rel))
        return err_set(e, PK_EPARSE, "", "invalid interval", "start time out of range");
    if (rel < -0.5)
        return err_set(e, PK_EPARSE, "", "interval before the start time", "%.3f s before it", -rel);
    if (abs_s + line->length_s - g->window_s > DURATION_MAX_S)
        return err_set(e, PK_EPARSE, "", "interval too late", "more than %g s after the start",
                       DURATION_MAX_S);
    if (abs_s + line->length_s > g->end_s)
        g->end_s = abs_s + line->length_s;
    int rc = hist_merge(&r->latency, &line->hist, e);
    if (rc < 0)
        return rc;
    if (!r->open_model && (rc = hist_merge(&r->latency_uncorrected, &line->hist, e)) < 0)
        return rc;

    /* Seconds of the series from intervals of about one second only;
     * longer or shorter ones cannot be split or placed. */
    if (line->length_s < 0.5 || line->length_s > 1.5)
        g->per_second = false;
    if (!g->per_second)
        return 0;
    int64_t t = (int64_t)llround(rel < 0 ? 0 : rel);
    if (t >= RESULT_SERIES_MAX) {
        g->per_second = false;
        return 0;
    }
    while (r->nseries <= (size_t)t)
        if ((rc = result_series_push(r, NULL, e)) < 0)
            return rc;
    struct result_second *s = &r->series[t];
    struct result_second one;
    second_clear(&one);
    one.requests = (uint64_t)hist_total(&line->hist);
    if ((rc = result_second_set_hist(&one, &line->hist, e)) < 0)
        return rc;
    bool fresh = s->hist_z != NULL;
    rc = second_add(s, &fresh, &one, e);
    free(one.hist_z);
    return rc;
}

static int log_to_result(const char *text, size_t len, const char *path, bool open_model,
                         struct load_result *r, struct pk_err *e)
{
    struct logrd g;
    memset(&g, 0, sizeof(g));
    g.r = r;
    g.per_second = true;
    r->open_model = open_model;
    r->sources = 1;
    size_t at = 0;
    unsigned lineno = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        lineno++;
        struct hdrlog_line line;
        int rc = hdrlog_parse_line(text + at, end - at, &line, e);
        at = end + 1;
        if (rc == 0 && line.kind == HDRLOG_INTERVAL) {
            if (line.tag[0] == '\0')
                rc = log_interval(&g, &line, e);
            hist_destroy(&line.hist);
        } else if (rc == 0 && line.kind == HDRLOG_START_TIME && !g.based) {
            g.have_start = true;
            g.start_time_s = line.time_s;
        } else if (rc == 0 && line.kind == HDRLOG_BASE_TIME && !g.based) {
            g.have_base = true;
            g.base_time_s = line.time_s;
        }
        if (rc < 0) {
            /* "<path>:<line>", before what the line parser named, if anything. */
            char where[300];
            snprintf(where, sizeof(where), e && e->on[0] ? "%s:%u: " : "%s:%u", path, lineno);
            err_prefix_on(e, where);
            return rc;
        }
    }
    if (!g.based)
        return err_set(e, PK_EPARSE, path, "no untagged interval", "nothing to merge");
    r->duration_s = g.end_s - (double)r->start_ms / 1000.0;
    if (r->duration_s < 0)
        r->duration_s = 0;
    r->requests = (uint64_t)hist_total(&r->latency);
    if (!g.per_second) {
        series_free(r->series, r->nseries);
        r->series = NULL;
        r->nseries = 0;
    }
    return 0;
}

int result_merge_hdrlog(struct load_result *dst, const char *path, struct pk_err *e)
{
    if (!dst || !path)
        return err_set(e, -EINVAL, "histogram log", "cannot merge", "missing argument");
    char *text;
    size_t len;
    int rc = files_read_all(path, RESULT_JSON_MAX_BYTES, &text, &len, e);
    if (rc < 0)
        return rc;
    struct load_result lr;
    rc = result_init(&lr, e);
    if (rc == 0)
        rc = log_to_result(text, len, path, dst->open_model, &lr, e);
    free(text);
    if (rc == 0)
        rc = result_merge(dst, &lr, e);
    result_destroy(&lr);
    return rc;
}
