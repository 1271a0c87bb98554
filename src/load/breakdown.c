/*
 * breakdown - the results of a run by request name and by stage (the
 * groups and stages of load/result.h), counted by each worker beside its
 * totals and added up once the workers are joined (see load/worker.h).
 *
 * Each worker keeps its own counters, so nothing is shared on the hot path;
 * a group's or a stage's histogram is allocated the first time something is
 * recorded into it, so names a thread never sends cost it nothing. A run
 * of one name keeps no groups at all: its one group is the totals.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/err.h"
#include "load/worker.h"

static int group_of_name(struct engine *eng, const char *name)
{
    for (size_t g = 0; g < eng->ngroups; g++)
        if (strcmp(eng->group_names[g], name) == 0)
            return (int)g;
    return -1;
}

int breakdown_setup(struct engine *eng, struct pk_err *e)
{
    const struct load_config *cfg = eng->cfg;
    eng->req_group = calloc(cfg->nrequests, sizeof(*eng->req_group));
    eng->group_names = calloc(RESULT_GROUPS_MAX, sizeof(*eng->group_names));
    eng->origin_group = calloc(eng->norigins, sizeof(*eng->origin_group));
    if (!eng->req_group || !eng->group_names || !eng->origin_group)
        return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
    for (size_t i = 0; i < cfg->nrequests; i++) {
        char u[URL_MAX + 16];
        const char *name = cfg->requests[i].name;
        if (!name)
            name = url_format(&cfg->requests[i].url, u, sizeof(u));
        int g = group_of_name(eng, name);
        if (g < 0 && eng->ngroups == RESULT_GROUPS_MAX - 1) {
            /* the last slot takes every further name */
            name = RESULT_GROUP_OTHER;
            g = group_of_name(eng, name);
        }
        if (g < 0) {
            if (!(eng->group_names[eng->ngroups] = strdup(name)))
                return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
            g = (int)eng->ngroups++;
        }
        eng->req_group[i] = (unsigned)g;
    }
    for (size_t o = 0; o < eng->norigins; o++) {
        const struct origin *og = &eng->origins[o];
        int g = (int)eng->req_group[og->reqs[0]];
        for (size_t k = 1; k < og->nreqs; k++)
            if ((int)eng->req_group[og->reqs[k]] != g)
                g = -1;
        eng->origin_group[o] = g;
    }
    return 0;
}

void breakdown_free(struct engine *eng)
{
    if (eng->group_names)
        for (size_t g = 0; g < eng->ngroups; g++)
            free(eng->group_names[g]);
    free(eng->group_names);
    free(eng->req_group);
    free(eng->origin_group);
}

int breakdown_worker_setup(struct worker *w, struct pk_err *e)
{
    const struct engine *eng = w->eng;
    if (eng->ngroups > 1 && !(w->groups = calloc(eng->ngroups, sizeof(*w->groups))))
        return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
    if (eng->cfg->plan.n && !(w->stages = calloc(eng->cfg->plan.n, sizeof(*w->stages))))
        return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
    w->breakdown = w->groups || w->stages;
    return 0;
}

void breakdown_worker_destroy(struct worker *w)
{
    if (w->groups)
        for (size_t g = 0; g < w->eng->ngroups; g++)
            hist_destroy(&w->groups[g].latency);
    if (w->stages)
        for (unsigned s = 0; s < w->eng->cfg->plan.n; s++)
            hist_destroy(&w->stages[s].latency);
    free(w->groups);
    free(w->stages);
    w->groups = NULL;
    w->stages = NULL;
    w->breakdown = false;
}

/* The stage in force at t (CLOCK_MONOTONIC), NULL past the last; the last
 * one found is looked at first, as times mostly move forward. */
static struct result_stage *stage_at(struct worker *w, uint64_t t)
{
    const struct schedule_plan *p = &w->eng->cfg->plan;
    uint64_t rel = t > w->eng->t0 ? t - w->eng->t0 : 0;
    unsigned i = w->stage_i;
    if (i < p->n && rel >= p->stage[i].start_ns && rel - p->stage[i].start_ns < p->stage[i].dur_ns)
        return &w->stages[i];
    for (i = 0; i < p->n; i++)
        if (rel >= p->stage[i].start_ns && rel - p->stage[i].start_ns < p->stage[i].dur_ns) {
            w->stage_i = i;
            return &w->stages[i];
        }
    return NULL;
}

/* h's histogram, allocated on first use; false (the worker stops with
 * w->rc) when there is no memory for it. */
static bool hist_ready(struct worker *w, struct hist *h)
{
    if (h->counts)
        return true;
    if (w->rc == 0)
        w->rc = result_hist_init(h, &w->err);
    return w->rc == 0 && h->counts;
}

void breakdown_response(struct worker *w, uint32_t req, unsigned status, int64_t us, uint64_t now)
{
    bool failed = status >= 400;
    if (w->groups) {
        struct result_group *g = &w->groups[w->eng->req_group[req]];
        g->requests++;
        if (status < RESULT_STATUS_MAX)
            g->status[status]++;
        g->errors += failed;
        g->status_errors += failed;
        if (hist_ready(w, &g->latency))
            hist_record(&g->latency, us);
    }
    struct result_stage *s = w->stages ? stage_at(w, now) : NULL;
    if (s) {
        s->requests++;
        s->errors += failed;
        s->status_errors += failed;
        if (hist_ready(w, &s->latency))
            hist_record(&s->latency, us);
    }
}

void breakdown_error(struct worker *w, int group, uint64_t now)
{
    if (w->groups && group >= 0)
        w->groups[group].errors++;
    struct result_stage *s = w->stages ? stage_at(w, now) : NULL;
    if (s)
        s->errors++;
}

void breakdown_drop(struct worker *w, uint32_t req, uint64_t intended)
{
    if (w->groups) {
        struct result_group *g = &w->groups[w->eng->req_group[req]];
        g->errors++;
        g->dropped++;
    }
    struct result_stage *s = w->stages ? stage_at(w, intended) : NULL;
    if (s) {
        s->errors++;
        s->dropped++;
    }
}

/* A run of one name: its group is the totals, but for what answered no
 * request (unsolicited bytes). */
static int one_group(const struct engine *eng, struct load_result *res, struct pk_err *e)
{
    struct result_group *g;
    int rc = result_group_add(res, eng->group_names[0], &g, e);
    if (rc)
        return rc;
    uint64_t unsolicited = 0;
    for (size_t i = 0; i < res->nerrs; i++)
        if (res->errs[i].phase == LOAD_PHASE_PARSE && strcmp(res->errs[i].name, RESULT_ERR_UNSOLICITED) == 0)
            unsolicited = res->errs[i].count;
    g->requests = res->requests;
    g->errors = res->errors - unsolicited;
    g->status_errors = res->status_errors;
    g->dropped = res->dropped;
    memcpy(g->status, res->status, sizeof(g->status));
    return hist_merge(&g->latency, &res->latency, e);
}

static int add_counts(struct result_group *dst, const struct result_group *src, struct pk_err *e)
{
    dst->requests += src->requests;
    dst->errors += src->errors;
    dst->status_errors += src->status_errors;
    dst->dropped += src->dropped;
    for (size_t c = 0; c < RESULT_STATUS_MAX; c++)
        dst->status[c] += src->status[c];
    return src->latency.counts ? hist_merge(&dst->latency, &src->latency, e) : 0;
}

/* Stage s's window: its start and planned length, and its part in the
 * measured phase [warmup, mend) (times from t0 in ns). */
static void stage_window(const struct schedule_stage *st, uint64_t warmup, uint64_t mend,
                         struct result_stage *out)
{
    out->target = st->target;
    out->start_s = ((double)st->start_ns - (double)warmup) * 1e-9;
    out->length_s = (double)st->dur_ns * 1e-9;
    uint64_t lo = st->start_ns > warmup ? st->start_ns : warmup;
    uint64_t hi = st->start_ns + st->dur_ns < mend ? st->start_ns + st->dur_ns : mend;
    out->duration_s = hi > lo ? (double)(hi - lo) * 1e-9 : 0;
}

int breakdown_finish(const struct engine *eng, const struct worker *ws, unsigned nws, uint64_t mend,
                     struct load_result *res, struct pk_err *e)
{
    const struct load_config *cfg = eng->cfg;
    int rc = 0;
    if (eng->ngroups == 1)
        rc = one_group(eng, res, e);
    for (size_t g = 0; g < eng->ngroups && eng->ngroups > 1 && !rc; g++) {
        struct result_group *dst;
        if ((rc = result_group_add(res, eng->group_names[g], &dst, e)) != 0)
            break;
        for (unsigned i = 0; i < nws && !rc; i++)
            if (ws[i].groups)
                rc = add_counts(dst, &ws[i].groups[g], e);
    }
    uint64_t mrel = mend > eng->t0 ? mend - eng->t0 : 0;
    for (unsigned s = 0; s < cfg->plan.n && !rc; s++) {
        struct result_stage *dst;
        if ((rc = result_stage_add(res, &dst, e)) != 0)
            break;
        stage_window(&cfg->plan.stage[s], cfg->warmup_ns, mrel, dst);
        for (unsigned i = 0; i < nws && !rc; i++) {
            if (!ws[i].stages)
                continue;
            const struct result_stage *src = &ws[i].stages[s];
            dst->requests += src->requests;
            dst->errors += src->errors;
            dst->status_errors += src->status_errors;
            dst->dropped += src->dropped;
            if (src->latency.counts)
                rc = hist_merge(&dst->latency, &src->latency, e);
        }
    }
    return rc;
}
