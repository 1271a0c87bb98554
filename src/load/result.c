/*
 * result - the model of what a load run measured (result.h): lifetime,
 * error counters, the per-second series and the values thresholds are
 * compared with. Its files are written in result_write.c, read in
 * result_read.c and merged in result_merge.c.
 */
#include "load/result.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hdrlog.h"
#include "load/http1.h"
#include "load/result_impl.h"

static const char *const phase_names[LOAD_PHASE_COUNT] = {
    "connect", "tls", "write", "read", "timeout", "parse",
};

const char *result_phase_name(enum load_phase p)
{
    return (unsigned)p < LOAD_PHASE_COUNT ? phase_names[p] : "?";
}

size_t result_error_names(struct result_error_name *out, size_t cap)
{
    static const struct result_error_name own[] = {
        { LOAD_PHASE_READ, RESULT_ERR_EOF },          { LOAD_PHASE_READ, RESULT_ERR_CLOSED_BY_SERVER },
        { LOAD_PHASE_PARSE, RESULT_ERR_UNSOLICITED }, { LOAD_PHASE_TIMEOUT, RESULT_ERR_TIMEOUT },

        { LOAD_PHASE_TLS, RESULT_ERR_TLS_CLOSED },    { LOAD_PHASE_TLS, RESULT_ERR_TLS_FAILED },
        { LOAD_PHASE_READ, RESULT_ERR_TLS_IO },       { LOAD_PHASE_WRITE, RESULT_ERR_TLS_IO },
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++, n++)
        if (n < cap)
            out[n] = own[i];
    for (int i = HTTP1_E_NONE + 1; i < HTTP1_E_COUNT; i++) {
        /* the engine closes after a response that says so: never fed more */
        if (i == HTTP1_E_DATA_AFTER_CLOSE)
            continue;
        enum load_phase ph =
            i == HTTP1_E_EOF_IN_HEAD || i == HTTP1_E_EOF_IN_BODY ? LOAD_PHASE_READ : LOAD_PHASE_PARSE;
        if (n < cap)
            out[n] = (struct result_error_name){ ph, http1_error_name((enum http1_error)i) };
        n++;
    }
    return n;
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

void result_series_free(struct result_second *s, size_t n)
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
    result_series_free(r->series, r->nseries);
    result_groups_clear(r);
    result_stages_clear(r);
    memset(r, 0, sizeof(*r));
}

/* ---- groups and stages */

void result_groups_clear(struct load_result *r)
{
    for (size_t i = 0; i < r->ngroups; i++) {
        free(r->groups[i].name);
        hist_destroy(&r->groups[i].latency);
    }
    free(r->groups);
    r->groups = NULL;
    r->ngroups = 0;
}

void result_stages_clear(struct load_result *r)
{
    for (size_t i = 0; i < r->nstages; i++)
        hist_destroy(&r->stages[i].latency);
    free(r->stages);
    r->stages = NULL;
    r->nstages = 0;
}

int result_group_add(struct load_result *r, const char *name, struct result_group **out, struct pk_err *e)
{
    if (r->ngroups >= RESULT_GROUPS_MAX)
        return err_set(e, -EFBIG, "result", "cannot add a name", "at most %u", RESULT_GROUPS_MAX);
    struct result_group *v = realloc(r->groups, (r->ngroups + 1) * sizeof(*v));
    if (!v)
        return err_errno(e, -ENOMEM, "result", "cannot add a name");
    r->groups = v;
    struct result_group *g = &v[r->ngroups];
    memset(g, 0, sizeof(*g));
    g->name = strndup(name, RESULT_NAME_MAX);
    if (!g->name)
        return err_errno(e, -ENOMEM, "result", "cannot add a name");
    int rc = result_hist_init(&g->latency, e);
    if (rc) {
        free(g->name);
        return rc;
    }
    r->ngroups++;
    if (out)
        *out = g;
    return 0;
}

int result_stage_add(struct load_result *r, struct result_stage **out, struct pk_err *e)
{
    if (r->nstages >= RESULT_STAGES_MAX)
        return err_set(e, -EFBIG, "result", "cannot add a stage", "at most %u", RESULT_STAGES_MAX);
    struct result_stage *v = realloc(r->stages, (r->nstages + 1) * sizeof(*v));
    if (!v)
        return err_errno(e, -ENOMEM, "result", "cannot add a stage");
    r->stages = v;
    struct result_stage *s = &v[r->nstages];
    memset(s, 0, sizeof(*s));
    int rc = result_hist_init(&s->latency, e);
    if (rc)
        return rc;
    r->nstages++;
    if (out)
        *out = s;
    return 0;
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

static struct result_error *error_find(struct load_result *r, enum load_phase phase, const char *name)
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
            return; /* unreachable: the reserve above */
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
    double all = (double)r->requests + (double)result_transport_errors(r) + (double)r->dropped;
    return all > 0 ? (double)r->errors / all : NAN;
}

double result_dropped_rate(const struct load_result *r)
{
    if (!r->open_model)
        return 0;
    double due = (double)r->sends + (double)r->dropped;
    return due > 0 ? (double)r->dropped / due : NAN;
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

void result_second_clear(struct result_second *s)
{
    memset(s, 0, sizeof(*s));
    s->cpu_pct = s->mem_used_pct = s->net_rx_bps = s->net_tx_bps = NAN;
}

struct result_second *result_series_alloc(size_t n)
{
    struct result_second *s = malloc(series_cap(n) * sizeof(*s));
    if (s)
        for (size_t i = 0; i < n; i++)
            result_second_clear(&s[i]);
    return s;
}

int result_series_push(struct load_result *r, struct result_second **out, struct pk_err *e)
{
    if (r->nseries >= RESULT_SERIES_MAX)
        return err_set(e, -EFBIG, "series", "cannot add a second", "the series holds at most %u seconds",
                       (unsigned)RESULT_SERIES_MAX);
    size_t n = r->nseries;
    if (n == 0 || n == series_cap(n)) {
        size_t cap = n == 0 ? series_cap(1) : 2 * n;
        struct result_second *s = realloc(r->series, cap * sizeof(*s));
        if (!s)
            return err_errno(e, -ENOMEM, "series", "cannot add a second");
        r->series = s;
    }
    result_second_clear(&r->series[n]);
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
    case THRESHOLD_PERCENTILE: return none ? NAN : (double)hist_value_at_percentile(h, t->percentile) / 1e6;
    case THRESHOLD_MEAN: return none ? NAN : hist_mean(h) / 1e6;
    case THRESHOLD_MIN: return none ? NAN : (double)hist_min(h) / 1e6;
    case THRESHOLD_MAX: return none ? NAN : (double)hist_max(h) / 1e6;
    case THRESHOLD_ERROR_RATE: return result_error_rate(r);
    case THRESHOLD_DROPPED: return result_dropped_rate(r);
    case THRESHOLD_RPS: return result_rps(r);
    }
    return NAN;
}

/* ---- URLs */

bool result_hist_ok(const struct hist *h)
{
    return h->counts && h->lowest == RESULT_HIST_LOWEST && h->highest == RESULT_HIST_HIGHEST &&
           h->sigfigs == RESULT_HIST_SIGFIGS;
}

bool result_url_ok(const char *s)
{
    size_t n = strnlen(s, RESULT_URL_MAX + 1);
    if (n == 0 || n > RESULT_URL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}
