/*
 * result_write - a result out (result.h): the JSON document of
 * docs/load-json.md and the HdrHistogram interval log of its series.
 *
 * Histograms travel as HdrHistogram's compressed V2 encoding in base64, so
 * a result read back (or merged) has the very counts that were recorded,
 * not numbers derived from summaries. What the reader (result_read.c)
 * would refuse is refused here first, so that every file written reads
 * back.
 */
#include "load/result.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/check.h"
#include "core/err.h"
#include "core/files.h"
#include "core/hdrlog.h"
#include "core/jsonio.h"
#include "load/result_impl.h"

/* ---- thresholds as the document names them */

static void threshold_metric_name(const struct threshold *t, char *buf, size_t len)
{
    switch (t->metric) {
    case THRESHOLD_PERCENTILE: snprintf(buf, len, "p%.6g", t->percentile); return;
    case THRESHOLD_MEAN: snprintf(buf, len, "mean"); return;
    case THRESHOLD_MIN: snprintf(buf, len, "min"); return;
    case THRESHOLD_MAX: snprintf(buf, len, "max"); return;
    case THRESHOLD_ERROR_RATE: snprintf(buf, len, "error_rate"); return;
    case THRESHOLD_RPS: snprintf(buf, len, "rps"); return;
    case THRESHOLD_DROPPED: snprintf(buf, len, "dropped"); return;
    }
    snprintf(buf, len, "?");
}

static const char *threshold_unit(const struct threshold *t)
{
    switch (t->metric) {
    case THRESHOLD_ERROR_RATE:
    case THRESHOLD_DROPPED: return "fraction";
    case THRESHOLD_RPS: return "requests/s";
    default: return "s";
    }
}

/* ---- JSON writer */

/* Building a jansson tree: the first failure sticks, so the code reads as
 * the document it writes and checks once at the end. */
struct jw {
    bool nomem;
    const char *ctx;  /* the object being written, for too_big */
    char too_big[96]; /* a count past INT64_MAX (JSON integers are int64) */
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
            snprintf(w->too_big, sizeof(w->too_big), "%s%s%s", w->ctx ? w->ctx : "", w->ctx ? "." : "", key);
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
    } pcts[] = { { "p50", 50 }, { "p75", 75 },    { "p90", 90 },
                 { "p99", 99 }, { "p999", 99.9 }, { "p9999", 99.99 } };
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
    snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
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
        return err_set(e, -EINVAL, "duration_s", what, "%g is not in 0..%g", r->duration_s, DURATION_MAX_S);
    if (!(r->warmup_s >= 0 && r->warmup_s <= DURATION_MAX_S))
        return err_set(e, -EINVAL, "warmup_s", what, "%g is not in 0..%g", r->warmup_s, DURATION_MAX_S);
    if (r->nurls > RESULT_URLS_MAX)
        return err_set(e, -EINVAL, "urls", what, "%zu URLs, at most %u", r->nurls, (unsigned)RESULT_URLS_MAX);
    for (size_t i = 0; i < r->nurls; i++)
        if (!r->urls[i] || !result_url_ok(r->urls[i]))
            return err_set(e, -EINVAL, "urls", what,
                           "URL %zu is empty, longer than %u bytes or has control characters", i,
                           (unsigned)RESULT_URL_MAX);
    if (r->nseries > RESULT_SERIES_MAX)
        return err_set(e, -EINVAL, "series", what, "%zu seconds, at most %u", r->nseries,
                       (unsigned)RESULT_SERIES_MAX);
    const struct hist *hs[] = { &r->latency, &r->latency_uncorrected, &r->connect };
    for (size_t i = 0; i < 3; i++)
        if (!result_hist_ok(hs[i]))
            return err_set(e, -EINVAL, "histogram", what, "not the layout of result_hist_init()");
    for (size_t i = 0; i < r->nseries; i++) {
        const struct result_second *s = &r->series[i];
        if (s->p50_us < 0 || s->p99_us < 0 || s->max_us < 0 || s->p50_us > HIST_VALUE_MAX ||
            s->p99_us > HIST_VALUE_MAX || s->max_us > HIST_VALUE_MAX)
            return err_set(e, -EINVAL, "series", what, "second %zu: latency out of range", i);
    }
    if (r->lateness_max_us < 0)
        return err_set(e, -EINVAL, "rate", what, "negative lateness");
    if (r->ngroups > RESULT_GROUPS_MAX || r->nstages > RESULT_STAGES_MAX)
        return err_set(e, -EINVAL, "result", what, "%zu names and %zu stages, at most %u and %u", r->ngroups,
                       r->nstages, RESULT_GROUPS_MAX, RESULT_STAGES_MAX);
    for (size_t i = 0; i < r->ngroups; i++) {
        const struct result_group *g = &r->groups[i];
        if (!g->name || !result_url_ok(g->name) || !result_hist_ok(&g->latency) ||
            g->errors < g->status_errors + g->dropped || g->status_errors + g->dropped < g->dropped)
            return err_set(
                e, -EINVAL, "by_request", what,
                "name %zu: empty, longer than %u bytes, with control characters, of another histogram "
                "layout, or fewer errors than status errors and dropped",
                i, (unsigned)RESULT_NAME_MAX);
    }
    for (size_t i = 0; i < r->nstages; i++) {
        const struct result_stage *s = &r->stages[i];
        if (!result_hist_ok(&s->latency) || s->errors < s->status_errors + s->dropped ||
            s->status_errors + s->dropped < s->dropped || !(fabs(s->start_s) <= DURATION_MAX_S) ||
            !(s->length_s >= 0 && s->length_s <= DURATION_MAX_S) ||
            !(s->duration_s >= 0 && s->duration_s <= DURATION_MAX_S))
            return err_set(
                e, -EINVAL, "stages", what,
                "stage %zu: a time out of range, a histogram of another layout, or fewer errors than "
                "status errors and dropped",
                i);
    }
    return 0;
}

/* What ran: the model, the measured window and the generator's shape. */
static void json_run(struct jw *w, json_t *root, const struct load_result *r)
{
    char buf[64];
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
}

/* The totals: requests, errors by phase, bytes, connects, status codes. */
static void json_totals(struct jw *w, json_t *root, const struct load_result *r)
{
    char buf[16];
    jw_count(w, root, "requests", r->requests);
    jw_set(w, root, "rps", jsonio_real(result_rps(r)));
    jw_set(w, root, "error_rate", jsonio_real(result_error_rate(r)));
    json_t *errs = jw_set(w, root, "errors", json_object());
    w->ctx = "errors";
    jw_count(w, errs, "total", r->errors);
    jw_count(w, errs, "status", r->status_errors);
    jw_count(w, errs, "transport", result_transport_errors(r));
    jw_count(w, errs, "dropped", r->dropped);
    for (int p = 0; p < LOAD_PHASE_COUNT; p++) {
        json_t *ph = jw_set(w, errs, result_phase_name((enum load_phase)p), json_object());
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
}

/* The histograms and, in the open model, how well the rate was kept. */
static int json_latency(struct jw *w, json_t *root, const struct load_result *r, struct pk_err *e)
{
    int rc = 0;
    jw_set(w, root, "latency_us", hist_summary(w, &r->latency, e, &rc));
    if (rc == 0 && r->open_model)
        jw_set(w, root, "latency_uncorrected_us", hist_summary(w, &r->latency_uncorrected, e, &rc));
    if (rc == 0)
        jw_set(w, root, "connect_us", hist_summary(w, &r->connect, e, &rc));
    if (rc < 0)
        return rc;
    if (r->open_model) {
        json_t *rate = jw_set(w, root, "rate", json_object());
        w->ctx = "rate";
        jw_set(w, rate, "target", jsonio_real(r->rate_target));
        jw_set(w, rate, "achieved", jsonio_real(r->rate_achieved));
        jw_count(w, rate, "due", r->due);
        jw_count(w, rate, "sends", r->sends);
        jw_count(w, rate, "late_sends", r->late_sends);
        jw_set(w, rate, "lateness_max_us", json_integer(r->lateness_max_us));
        w->ctx = NULL;
    }
    return 0;
}

/* "errors": {total, status, transport, dropped} of a group or a stage. */
static void json_part_errors(struct jw *w, json_t *o, uint64_t errors, uint64_t status, uint64_t dropped)
{
    json_t *errs = jw_set(w, o, "errors", json_object());
    jw_count(w, errs, "total", errors);
    jw_count(w, errs, "status", status);
    jw_count(w, errs, "transport", errors - status - dropped);
    jw_count(w, errs, "dropped", dropped);
}

static double part_rate(uint64_t n, double seconds)
{
    return seconds > 0 ? (double)n / seconds : NAN;
}

static double part_error_rate(uint64_t requests, uint64_t errors, uint64_t status)
{
    /* attempts: the responses and the errors that were not responses */
    double all = (double)requests + (double)(errors - status);
    return all > 0 ? (double)errors / all : NAN;
}

/* Results by request name and by stage. */
static int json_breakdown(struct jw *w, json_t *root, const struct load_result *r, struct pk_err *e)
{
    char buf[16];
    int rc = 0;
    json_t *groups = jw_set(w, root, "by_request", json_array());
    w->ctx = "by_request";
    for (size_t i = 0; i < r->ngroups && rc == 0; i++) {
        const struct result_group *g = &r->groups[i];
        json_t *o = jw_append(w, groups, json_object());
        jw_set(w, o, "name", json_string(g->name));
        jw_count(w, o, "requests", g->requests);
        jw_set(w, o, "rps", jsonio_real(part_rate(g->requests, r->duration_s)));
        jw_set(w, o, "error_rate", jsonio_real(part_error_rate(g->requests, g->errors, g->status_errors)));
        json_part_errors(w, o, g->errors, g->status_errors, g->dropped);
        json_t *codes = jw_set(w, o, "status_codes", json_object());
        for (int c = 0; c < RESULT_STATUS_MAX; c++)
            if (g->status[c]) {
                snprintf(buf, sizeof(buf), "%d", c);
                jw_count(w, codes, buf, g->status[c]);
            }
        jw_set(w, o, "latency_us", hist_summary(w, &g->latency, e, &rc));
    }
    json_t *stages = jw_set(w, root, "stages", json_array());
    w->ctx = "stages";
    for (size_t i = 0; i < r->nstages && rc == 0; i++) {
        const struct result_stage *s = &r->stages[i];
        json_t *o = jw_append(w, stages, json_object());
        jw_set(w, o, "stage", json_integer((json_int_t)i));
        jw_count(w, o, "target", s->target);
        jw_set(w, o, "start_s", json_real(s->start_s));
        jw_set(w, o, "length_s", json_real(s->length_s));
        jw_set(w, o, "duration_s", json_real(s->duration_s));
        jw_count(w, o, "requests", s->requests);
        jw_set(w, o, "rps", jsonio_real(part_rate(s->requests, s->duration_s)));
        jw_set(w, o, "error_rate", jsonio_real(part_error_rate(s->requests, s->errors, s->status_errors)));
        json_part_errors(w, o, s->errors, s->status_errors, s->dropped);
        jw_set(w, o, "latency_us", hist_summary(w, &s->latency, e, &rc));
    }
    w->ctx = NULL;
    return rc;
}

/* Each threshold with the value it was compared with and its outcome. */
static void json_thresholds(struct jw *w, json_t *root, const struct load_result *r,
                            const struct threshold *th, size_t nth)
{
    char buf[64];
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
}

static void json_self_check(struct jw *w, json_t *root, const struct load_result *r,
                            const char *const *warnings, size_t nwarnings)
{
    json_t *sc = jw_set(w, root, "self_check", json_object());
    jw_set(w, sc, "generator_cpu", jsonio_real(r->generator_cpu));
    json_t *warns = jw_set(w, sc, "warnings", json_array());
    for (size_t i = 0; i < nwarnings; i++)
        jw_append(w, warns, json_string(warnings[i] ? warnings[i] : ""));
}

/* One second of the series. */
static json_t *json_second(struct jw *w, const struct load_result *r, size_t i)
{
    const struct result_second *s = &r->series[i];
    json_t *o = json_object();
    if (!o) {
        w->nomem = true;
        return NULL;
    }
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
    return o;
}

/* The document but its series, in the order of docs/load-json.md. *rc is
 * 0 or the error of encoding a histogram; allocation failures are in
 * w->nomem. */
static json_t *build_head(const struct load_result *r, const struct threshold *th, size_t nth,
                          const char *const *warnings, size_t nwarnings, struct jw *w, struct pk_err *e,
                          int *rc)
{
    json_t *root = json_object();
    json_run(w, root, r);
    json_totals(w, root, r);
    *rc = json_latency(w, root, r, e);
    if (*rc == 0)
        *rc = json_breakdown(w, root, r, e);
    if (*rc < 0)
        return root;
    json_thresholds(w, root, r, th, nth);
    json_self_check(w, root, r, warnings, nwarnings);
    jw_set(w, root, "host_metrics", json_boolean(r->host_metrics));
    return root;
}

/*
 * The series, last, as text appended to the head's: one second at a time,
 * each built, dumped and dropped, so that a long series (a merge of long
 * runs) never exists as one tree, which takes several times its text. The
 * text is what jsonio_dumps() writes for the whole tree: the head ends
 * "\n}\n", each second's lines are indented by four more spaces.
 */
static void append_series(struct jw *w, struct buf *b, const struct load_result *r)
{
    PK_ASSERT(b->len >= 3 && !memcmp(b->p + b->len - 3, "\n}\n", 3));
    b->len -= 3;
    buf_adds(b, r->nseries ? ",\n  \"series\": [" : ",\n  \"series\": []");
    w->ctx = "series";
    for (size_t i = 0; i < r->nseries && !b->err && !w->nomem; i++) {
        json_t *o = json_second(w, r, i);
        char *t = o ? json_dumps(o, JSONIO_DUMP_FLAGS) : NULL;
        json_decref(o);
        if (!t) {
            w->nomem = true;
            break;
        }
        buf_adds(b, i ? ",\n    " : "\n    ");
        for (const char *p = t; *p; p++)
            if (*p != '\n')
                buf_addc(b, *p);
            else
                buf_adds(b, "\n    ");
        free(t);
    }
    w->ctx = NULL;
    buf_adds(b, r->nseries ? "\n  ]\n}\n" : "\n}\n");
}

int result_json_text(const struct load_result *r, const struct threshold *th, size_t nth,
                     const char *const *warnings, size_t nwarnings, char **out, struct pk_err *e)
{
    const char *what = "cannot write the result";
    if (!r || !out || (nth && !th) || (nwarnings && !warnings))
        return err_set(e, -EINVAL, "result", what, "missing argument");
    int rc = check_writable(r, e);
    if (rc < 0)
        return rc;
    struct jw w = { 0 };
    json_t *root = build_head(r, th, nth, warnings, nwarnings, &w, e, &rc);
    char *head = NULL;
    if (rc == 0 && !w.nomem && root && !(head = jsonio_dumps(root)))
        w.nomem = true;
    json_decref(root);
    struct buf b = BUF_INIT;
    if (head) {
        buf_adds(&b, head);
        free(head);
        append_series(&w, &b, r);
    }
    if (rc == 0 && w.too_big[0])
        rc = err_set(e, -EOVERFLOW, "result", what, "'%s' is above 2^63-1, more than a JSON integer holds",
                     w.too_big);
    size_t len;
    char *text = rc == 0 && !w.nomem ? buf_take(&b, &len) : NULL;
    if (rc == 0 && !text)
        rc = err_errno(e, -ENOMEM, "result", what);
    buf_destroy(&b);
    if (rc == 0)
        *out = text;
    return rc;
}

int result_write_json(const struct load_result *r, const struct threshold *th, size_t nth,
                      const char *const *warnings, size_t nwarnings, const char *path, struct pk_err *e)
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
    int rc =
        hdrlog_header(r->start_ms, r->start_ms, "perfkit load: latencies in microseconds", &text, &len, e);
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
