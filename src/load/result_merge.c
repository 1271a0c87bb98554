/*
 * result_merge - results of generators that ran side by side added into one
 * (result.h); the files they come from are read in result_stream.c.
 *
 * Counts and histograms add exactly; the series are aligned on whole
 * seconds of the merged start. A merge is computed aside and committed at
 * the end, so that a failed one leaves its destination as it was.
 */
#include "load/result.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/files.h"
#include "core/hdrlog.h"
#include "load/result_impl.h"

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

static void urls_free(char **u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(u[i]);
    free(u);
}

/* The union of two URL lists, first occurrence kept, capped. */
static int urls_union(const struct load_result *a, const struct load_result *b, char ***out, size_t *nout)
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
                urls_free(u, n);
                return -ENOMEM;
            }
            n++;
        }
    *out = u;
    *nout = n;
    return 0;
}

void result_scratch_destroy(struct result_scratch *s)
{
    hist_destroy(&s->h);
}

int result_scratch_get(struct result_scratch *sc, struct hist **out, struct pk_err *e)
{
    struct hist *h = &sc->h;
    *out = h;
    if (!h->counts)
        return result_hist_init(h, e);
    /* no count lies above the max's bucket: zeroing up to it empties the
     * histogram at the cost of what it held, not of its layout */
    if (h->total)
        memset(h->counts, 0, (size_t)(hist_index_of(h, h->max_raw) + 1) * sizeof(*h->counts));
    h->total = 0;
    h->clamped = 0;
    h->max_raw = 0;
    h->min_nz_raw = INT64_MAX;
    return 0;
}

void result_second_stats(struct result_second *s, const struct hist *h)
{
    s->p50_us = hist_value_at_percentile(h, 50);
    s->p99_us = hist_value_at_percentile(h, 99);
    s->max_us = hist_max(h);
}

int result_second_add(struct result_second *d, bool *fresh, const struct result_second *src,
                      struct result_scratch *sc, struct pk_err *e)
{
    bool had = d->requests > 0 || d->hist_z;
    struct result_second sum = *d;
    if (!add_ok(&sum.requests, src->requests) || !add_ok(&sum.errors, src->errors) ||
        !add_ok(&sum.bytes_in, src->bytes_in) || !add_ok(&sum.bytes_out, src->bytes_out))
        return err_set(e, -EOVERFLOW, "series", "cannot merge", "a count would pass 2^63-1");
    if (src->hist_z && d->hist_z) {
        /* both histograms added up in the scratch, then encoded once */
        struct hist *h;
        uint8_t *z;
        size_t zlen;
        int rc = result_scratch_get(sc, &h, e);
        if (rc == 0)
            rc = hdrlog_decode_compressed_add(d->hist_z, d->hist_z_len, h, e);
        if (rc == 0)
            rc = hdrlog_decode_compressed_add(src->hist_z, src->hist_z_len, h, e);
        if (rc == 0)
            rc = hdrlog_encode_compressed(h, HDRLOG_LOG_ZLIB_LEVEL, &z, &zlen, e);
        if (rc < 0)
            return rc;
        if (*fresh)
            free(d->hist_z);
        d->hist_z = z;
        d->hist_z_len = zlen;
        *fresh = true;
        result_second_stats(d, h);
    } else if (src->hist_z) {
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
    } else if (!d->hist_z) {
        /* Neither kept a histogram: the best that can be said. */
        if (!had) {
            d->p50_us = src->p50_us;
            d->p99_us = src->p99_us;
        }
        d->max_us = d->max_us > src->max_us ? d->max_us : src->max_us;
    }
    d->requests = sum.requests;
    d->errors = sum.errors;
    d->bytes_in = sum.bytes_in;
    d->bytes_out = sum.bytes_out;
    /* The worst host of the generators, see docs/load-json.md. */
    d->cpu_pct = fmax(d->cpu_pct, src->cpu_pct);
    d->mem_used_pct = fmax(d->mem_used_pct, src->mem_used_pct);
    d->net_rx_bps = fmax(d->net_rx_bps, src->net_rx_bps);
    d->net_tx_bps = fmax(d->net_tx_bps, src->net_tx_bps);
    return 0;
}

/* Offset in whole seconds (nearest) of a start after the merged start. */
int64_t result_offset_s(int64_t start_ms, int64_t base_ms)
{
    return (int64_t)llround(((double)start_ms - (double)base_ms) / 1000.0);
}

#define MERGE_WHAT "cannot merge results"

/* A result that never ran (as result_init() left it) adds nothing; its
 * start_ms of 0 must not stretch the window back to 1970. */
static bool never_ran(const struct load_result *r)
{
    return r->sources == 0 && r->start_ms == 0 && r->duration_s == 0 && r->requests == 0 && r->nseries == 0 &&
           r->nerrs == 0 && hist_total(&r->latency) == 0 && hist_total(&r->connect) == 0;
}

/* What makes two results impossible to add, found before anything is computed. */
static int merge_check(const struct load_result *dst, const struct load_result *src, bool first,
                       struct pk_err *e)
{
    if (!first && dst->open_model != src->open_model)
        return err_set(e, -EINVAL, "result", MERGE_WHAT,
                       "one is open model and the other closed: their latencies are measured "
                       "differently (from the intended send time, from the write)");
    const struct hist *dh[] = { &dst->latency, &dst->latency_uncorrected, &dst->connect };
    const struct hist *sh[] = { &src->latency, &src->latency_uncorrected, &src->connect };
    for (int i = 0; i < 3; i++) {
        int64_t sum;
        if (!dh[i]->counts || !sh[i]->counts || !hist_same_layout(dh[i], sh[i]))
            return err_set(e, -EINVAL, "result", MERGE_WHAT, "histograms of different layouts");
        if (__builtin_add_overflow(dh[i]->total, sh[i]->total, &sum) ||
            __builtin_add_overflow(dh[i]->clamped, sh[i]->clamped, &sum))
            return err_set(e, -EOVERFLOW, "result", MERGE_WHAT, "a histogram's count would overflow");
    }
    if (src->ngroups > RESULT_GROUPS_MAX || src->nstages > RESULT_STAGES_MAX)
        return err_set(e, -EINVAL, "result", MERGE_WHAT, "more than %u names or %u stages", RESULT_GROUPS_MAX,
                       RESULT_STAGES_MAX);
    if (dst->nseries > RESULT_SERIES_MAX || src->nseries > RESULT_SERIES_MAX)
        return err_set(e, -EINVAL, "result", MERGE_WHAT, "a series longer than %u seconds",
                       (unsigned)RESULT_SERIES_MAX);
    return 0;
}

/* The settings and the measured window of t (a copy of dst) with src's
 * added; the first merge takes src's. */
static int merge_settings(struct load_result *t, const struct load_result *dst, const struct load_result *src,
                          bool first, struct pk_err *e)
{
    unsigned src_sources = src->sources ? src->sources : 1;
    if (first) {
        t->open_model = src->open_model;
        t->threads = src->threads;
        t->connections = src->connections;
        t->pipeline = src->pipeline;
        t->sources = src_sources;
        t->start_ms = src->start_ms;
        t->duration_s = src->duration_s;
        t->warmup_s = src->warmup_s;
        t->rate_target = src->rate_target;
        t->rate_achieved = src->rate_achieved;
        t->lateness_max_us = src->lateness_max_us;
        t->generator_cpu = src->generator_cpu;
        t->host_metrics = src->host_metrics;
        return 0;
    }
    if (__builtin_add_overflow(t->threads, src->threads, &t->threads) ||
        __builtin_add_overflow(t->connections, src->connections, &t->connections) ||
        __builtin_add_overflow(t->sources, src_sources, &t->sources))
        return err_set(e, -EOVERFLOW, "result", MERGE_WHAT, "too many threads or connections");
    if (src->pipeline > t->pipeline)
        t->pipeline = src->pipeline;
    if (src->warmup_s > t->warmup_s)
        t->warmup_s = src->warmup_s;
    /* The window is the union of both. */
    double end_a = (double)dst->start_ms + dst->duration_s * 1000.0;
    double end_b = (double)src->start_ms + src->duration_s * 1000.0;
    t->start_ms = src->start_ms < dst->start_ms ? src->start_ms : dst->start_ms;
    t->duration_s = (fmax(end_a, end_b) - (double)t->start_ms) / 1000.0;
    if (!(t->duration_s <= DURATION_MAX_S))
        return err_set(e, -EFBIG, "result", MERGE_WHAT,
                       "the results are too far apart: a window of %g s, at most %g", t->duration_s,
                       DURATION_MAX_S);
    /* Generators side by side: their rates add. */
    t->rate_target = add_measured(t->rate_target, src->rate_target);
    t->rate_achieved = add_measured(t->rate_achieved, src->rate_achieved);
    if (src->lateness_max_us > t->lateness_max_us)
        t->lateness_max_us = src->lateness_max_us;
    /* The self-check flags the busiest generator: the maximum. */
    t->generator_cpu = fmax(t->generator_cpu, src->generator_cpu);
    t->host_metrics = t->host_metrics || src->host_metrics;
    return 0;
}

/* Totals, status codes and error counters of src added into t. */
static int merge_counts(struct load_result *t, const struct load_result *src, struct pk_err *e)
{
    bool ok = add_ok(&t->requests, src->requests) && add_ok(&t->errors, src->errors) &&
              add_ok(&t->status_errors, src->status_errors) && add_ok(&t->unfinished, src->unfinished) &&
              add_ok(&t->dropped, src->dropped) && add_ok(&t->due, src->due) &&
              add_ok(&t->bytes_in, src->bytes_in) && add_ok(&t->bytes_out, src->bytes_out) &&
              add_ok(&t->connects, src->connects) && add_ok(&t->sends, src->sends) &&
              add_ok(&t->late_sends, src->late_sends);
    for (int c = 0; c < RESULT_STATUS_MAX && ok; c++)
        ok = add_ok(&t->status[c], src->status[c]);
    for (size_t i = 0; i < src->nerrs && ok; i++)
        result_error_add(t, (enum load_phase)src->errs[i].phase, src->errs[i].name, src->errs[i].count);
    /* Counts of valid results are at most 2^63-1 each, so these sums did
     * not wrap; what passes 2^63-1 could not be written. */
    uint64_t transport = 0;
    for (size_t i = 0; i < t->nerrs && ok; i++)
        ok = add_ok(&transport, t->errs[i].count);
    if (!ok)
        return err_set(e, -EOVERFLOW, "result", MERGE_WHAT, "a count would pass 2^63-1");
    return 0;
}

/* The merged series of len seconds: dst's seconds kd seconds on (their
 * histogram buffers shared, not copied), src's added ks seconds on.
 * (*fresh)[i] says which buffers were allocated here; both arrays are NULL
 * when len is 0. */
static int merge_series(const struct load_result *dst, const struct load_result *src, int64_t kd, int64_t ks,
                        int64_t len, struct result_second **out, bool **fresh, struct pk_err *e)
{
    *out = NULL;
    *fresh = NULL;
    if (len <= 0)
        return 0;
    int rc = 0;
    struct result_second *ns = result_series_alloc((size_t)len);
    bool *fr = calloc((size_t)len, sizeof(*fr));
    if (!ns || !fr) {
        rc = err_errno(e, -ENOMEM, "result", MERGE_WHAT);
        goto fail;
    }
    for (size_t i = 0; i < dst->nseries; i++)
        ns[i + (size_t)kd] = dst->series[i];
    struct result_scratch sc = { 0 };
    for (size_t i = 0; i < src->nseries && rc == 0; i++)
        rc = result_second_add(&ns[i + (size_t)ks], &fr[i + (size_t)ks], &src->series[i], &sc, e);
    result_scratch_destroy(&sc);
    if (rc < 0)
        goto fail;
    *out = ns;
    *fresh = fr;
    return 0;

fail:
    if (ns && fr)
        for (int64_t i = 0; i < len; i++)
            if (fr[i])
                free(ns[i].hist_z);
    free(ns);
    free(fr);
    return rc;
}

/* ---- by name and by stage */

/* The merged groups: dst's (their buffers moved, not copied) and one fresh
 * group for each name of src's that dst lacks, in *out; map[i] is where
 * src's group i goes. None when either result lacks groups (an interval
 * log, a file of an older perfkit): a breakdown must add up to the totals.
 * Names past RESULT_GROUPS_MAX go to RESULT_GROUP_OTHER. */
static int groups_plan(const struct load_result *dst, const struct load_result *src, bool first,
                       struct load_result *out, size_t *map, struct pk_err *e)
{
    memset(out, 0, sizeof(*out));
    if (!(first ? src->ngroups : dst->ngroups && src->ngroups))
        return 0;
    if (!first && dst->ngroups) {
        out->groups = malloc(dst->ngroups * sizeof(*out->groups));
        if (!out->groups)
            return err_errno(e, -ENOMEM, "result", MERGE_WHAT);
        memcpy(out->groups, dst->groups, dst->ngroups * sizeof(*out->groups));
        out->ngroups = dst->ngroups;
    }
    size_t moved = out->ngroups;
    int rc = 0;
    for (size_t i = 0; i < src->ngroups && rc == 0; i++) {
        const char *name = src->groups[i].name;
        size_t k = 0;
        while (k < out->ngroups && strcmp(out->groups[k].name, name) != 0)
            k++;
        if (k == out->ngroups && out->ngroups == RESULT_GROUPS_MAX - 1) {
            name = RESULT_GROUP_OTHER;
            for (k = 0; k < out->ngroups && strcmp(out->groups[k].name, name) != 0;)
                k++;
        }
        if (k == out->ngroups)
            rc = result_group_add(out, name, NULL, e);
        map[i] = k;
        const struct result_group *a = &out->groups[k], *b = &src->groups[i];
        int64_t sum;
        if (rc == 0 && __builtin_add_overflow(a->latency.total, b->latency.total, &sum))
            rc = err_set(e, -EOVERFLOW, "result", MERGE_WHAT, "a histogram's count would overflow");
    }
    if (rc < 0) {
        /* the moved groups are still dst's */
        for (size_t k = moved; k < out->ngroups; k++) {
            free(out->groups[k].name);
            hist_destroy(&out->groups[k].latency);
        }
        free(out->groups);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* Adds src's groups into the planned ones; cannot fail (layouts and
 * totals were checked by groups_plan and merge_check). */
static void groups_commit(struct load_result *planned, const struct load_result *src, const size_t *map)
{
    for (size_t i = 0; i < src->ngroups && planned->ngroups; i++) {
        struct result_group *a = &planned->groups[map[i]];
        const struct result_group *b = &src->groups[i];
        a->requests += b->requests;
        a->errors += b->errors;
        a->status_errors += b->status_errors;
        a->dropped += b->dropped;
        for (int c = 0; c < RESULT_STATUS_MAX; c++)
            a->status[c] += b->status[c];
        hist_merge(&a->latency, &b->latency, NULL);
    }
}

/* Stages add one to one when both runs had the same plan (the same
 * targets and lengths); otherwise the merge has none. */
static bool stages_match(const struct load_result *a, const struct load_result *b)
{
    if (a->nstages != b->nstages || !a->nstages)
        return false;
    for (size_t i = 0; i < a->nstages; i++)
        if (a->stages[i].target != b->stages[i].target || a->stages[i].length_s != b->stages[i].length_s)
            return false;
    return true;
}

static int stages_copy(struct load_result *t, const struct load_result *src, struct pk_err *e)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < src->nstages; i++) {
        struct result_stage *s;
        int rc = result_stage_add(t, &s, e);
        if (rc == 0)
            rc = hist_merge(&s->latency, &src->stages[i].latency, e);
        if (rc < 0) {
            result_stages_clear(t);
            return rc;
        }
        struct hist h = s->latency;
        *s = src->stages[i];
        s->latency = h;
    }
    return 0;
}

static void stages_commit(struct load_result *t, const struct load_result *src)
{
    for (size_t i = 0; i < t->nstages; i++) {
        struct result_stage *a = &t->stages[i];
        const struct result_stage *b = &src->stages[i];
        /* side by side: the earliest start, the longest measured part */
        a->start_s = fmin(a->start_s, b->start_s);
        a->duration_s = fmax(a->duration_s, b->duration_s);
        a->requests += b->requests;
        a->errors += b->errors;
        a->status_errors += b->status_errors;
        a->dropped += b->dropped;
        hist_merge(&a->latency, &b->latency, NULL);
    }
}

int result_merge(struct load_result *dst, const struct load_result *src, struct pk_err *e)
{
    if (!dst || !src || dst == src)
        return err_set(e, -EINVAL, "result", MERGE_WHAT, "missing or identical arguments");
    bool first = dst->sources == 0;
    if (never_ran(src))
        return 0;
    int rc = merge_check(dst, src, first, e);
    if (rc < 0)
        return rc;

    /* Everything is computed into t (which shares dst's buffers) and
     * committed at the end: dst is unchanged on every error. */
    struct load_result t = *dst;
    if ((rc = merge_settings(&t, dst, src, first, e)) < 0 || (rc = merge_counts(&t, src, e)) < 0)
        return rc;

    /* Series on whole seconds of the merged start. */
    int64_t kd = first ? 0 : result_offset_s(dst->start_ms, t.start_ms);
    int64_t ks = first ? 0 : result_offset_s(src->start_ms, t.start_ms);
    int64_t len = dst->nseries ? (int64_t)dst->nseries + kd : 0;
    if (src->nseries && (int64_t)src->nseries + ks > len)
        len = (int64_t)src->nseries + ks;
    if (len > RESULT_SERIES_MAX)
        return err_set(e, -EFBIG, "result", MERGE_WHAT,
                       "the results are too far apart: their series would span %lld s, at most %u",
                       (long long)len, (unsigned)RESULT_SERIES_MAX);

    char **urls = NULL;
    size_t nurls = 0;
    size_t map[RESULT_GROUPS_MAX];
    struct load_result groups, stages = { 0 };
    if ((rc = groups_plan(dst, src, first, &groups, map, e)) < 0)
        return rc;
    bool keep_stages = first ? src->nstages > 0 : stages_match(dst, src);
    if (first && keep_stages && (rc = stages_copy(&stages, src, e)) < 0)
        goto fail_groups;
    if (urls_union(dst, src, &urls, &nurls) < 0) {
        rc = err_errno(e, -ENOMEM, "result", MERGE_WHAT);
        goto fail_stages;
    }
    /* a src without seconds (a head, its series streamed after it:
     * result_stream.c) that does not move dst's leaves them in place */
    bool same_series = src->nseries == 0 && kd == 0;
    struct result_second *ns = NULL;
    bool *fresh = NULL;
    if (!same_series && (rc = merge_series(dst, src, kd, ks, len, &ns, &fresh, e)) < 0) {
        urls_free(urls, nurls);
        goto fail_stages;
    }

    /* Commit: nothing below fails (layouts and totals were checked). */
    hist_merge(&t.latency, &src->latency, NULL);
    hist_merge(&t.latency_uncorrected, &src->latency_uncorrected, NULL);
    hist_merge(&t.connect, &src->connect, NULL);
    urls_free(dst->urls, dst->nurls);
    t.urls = urls;
    t.nurls = nurls;
    if (!same_series) {
        for (size_t i = 0; i < dst->nseries; i++)
            if (ns[i + (size_t)kd].hist_z != dst->series[i].hist_z)
                free(dst->series[i].hist_z);
        free(dst->series);
        t.series = ns;
        t.nseries = (size_t)len;
        free(fresh);
    }
    /* by name: the planned groups hold dst's moved ones; a dst group that
     * was not moved (the merge keeps none) is freed */
    groups_commit(&groups, src, map);
    if (!groups.ngroups)
        result_groups_clear(&t);
    else
        free(dst->groups);
    t.groups = groups.groups;
    t.ngroups = groups.ngroups;
    if (first) {
        t.stages = stages.stages;
        t.nstages = stages.nstages;
    } else if (keep_stages) {
        stages_commit(&t, src);
    } else {
        result_stages_clear(&t);
    }
    *dst = t;
    return 0;

fail_stages:
    result_stages_clear(&stages);
fail_groups:
    for (size_t k = first ? 0 : dst->ngroups; k < groups.ngroups; k++) {
        free(groups.groups[k].name);
        hist_destroy(&groups.groups[k].latency);
    }
    free(groups.groups);
    return rc;
}
