#include "bench/results.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SIGNIFICANCE 0.05

struct stats_boot bench_boot(const volatile sig_atomic_t *stop)
{
    return (struct stats_boot){ .resamples = BENCH_BOOTSTRAP_RESAMPLES,
                                .level = BENCH_CI_LEVEL,
                                .seed = BENCH_BOOTSTRAP_SEED,
                                .max_n = BENCH_BOOTSTRAP_MAX_N,
                                .stop = stop };
}

void bench_set_init(struct bench_set *s)
{
    memset(s, 0, sizeof(*s));
}

static void cmd_destroy(struct bench_cmd *c)
{
    free(c->name);
    free(c->command);
    for (size_t i = 0; i < c->nparams; i++) {
        free(c->params[i].name);
        free(c->params[i].value);
    }
    free(c->params);
    free(c->runs);
    memset(c, 0, sizeof(*c));
}

void bench_set_destroy(struct bench_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncmds; i++)
        cmd_destroy(&s->cmds[i]);
    free(s->cmds);
    bench_set_init(s);
}

int bench_set_add(struct bench_set *s, const char *name, const char *command,
                  const struct bench_param *params, size_t nparams)
{
    if (!command || (nparams && !params))
        return -EINVAL;
    /* The index is returned as an int, so the set cannot outgrow INT_MAX. */
    if (s->ncmds >= (size_t)INT_MAX)
        return -EOVERFLOW;

    struct bench_cmd c;
    memset(&c, 0, sizeof(c));
    c.stop = s->stop;
    c.name = strdup(name ? name : command);
    c.command = strdup(command);
    if (!c.name || !c.command)
        goto fail;
    if (nparams) {
        c.params = calloc(nparams, sizeof(*c.params));
        if (!c.params)
            goto fail;
        for (size_t i = 0; i < nparams; i++) {
            /* nparams counts the copied entries so cmd_destroy frees exactly those. */
            c.nparams = i + 1;
            c.params[i].name = strdup(params[i].name ? params[i].name : "");
            c.params[i].value = strdup(params[i].value ? params[i].value : "");
            if (!c.params[i].name || !c.params[i].value)
                goto fail;
        }
    }

    /* One command more at a time: sets hold a handful of commands, and callers
     * keep indices, not pointers, across additions. */
    struct bench_cmd *grown = realloc(s->cmds, (s->ncmds + 1) * sizeof(*grown));
    if (!grown)
        goto fail;
    s->cmds = grown;
    s->cmds[s->ncmds] = c;
    return (int)s->ncmds++;

fail:
    cmd_destroy(&c);
    return -ENOMEM;
}

int bench_cmd_add_run(struct bench_cmd *c, const struct bench_run *r)
{
    if (c->nruns == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        if (cap < c->cap || cap > SIZE_MAX / sizeof(*c->runs))
            return -ENOMEM;
        struct bench_run *grown = realloc(c->runs, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        c->runs = grown;
        c->cap = cap;
    }
    c->runs[c->nruns++] = *r;
    c->stats_cached = false;
    return 0;
}

bool bench_cmd_exported(const struct bench_cmd *c)
{
    return c->nruns > 0 && c->status != BENCH_FAILED;
}

double *bench_cmd_times(const struct bench_cmd *c)
{
    /* Never malloc(0): NULL must mean out of memory, even for a command without runs. */
    double *t = malloc((c->nruns ? c->nruns : 1) * sizeof(*t));
    if (!t)
        return NULL;
    for (size_t i = 0; i < c->nruns; i++)
        t[i] = c->runs[i].wall_s;
    return t;
}

const char *bench_metric_name(enum bench_metric m)
{
    switch (m) {
    case BENCH_METRIC_WALL: return "wall";
    case BENCH_METRIC_CPU: return "cpu";
    case BENCH_METRIC_INSTRUCTIONS: return "instructions";
    }
    return "?";
}

int bench_metric_parse(const char *name, enum bench_metric *m)
{
    static const enum bench_metric all[] = { BENCH_METRIC_WALL, BENCH_METRIC_CPU, BENCH_METRIC_INSTRUCTIONS };
    for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, bench_metric_name(all[i])) == 0) {
            *m = all[i];
            return 0;
        }
    }
    return -EINVAL;
}

int bench_cmd_values(const struct bench_cmd *c, enum bench_metric m, double **out)
{
    double *v = malloc((c->nruns ? c->nruns : 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < c->nruns; i++) {
        const struct bench_run *r = &c->runs[i];
        switch (m) {
        case BENCH_METRIC_WALL: v[i] = r->wall_s; break;
        case BENCH_METRIC_CPU: v[i] = r->user_s + r->sys_s; break;
        case BENCH_METRIC_INSTRUCTIONS:
            if (!r->ctr.valid[COUNTERS_INSTRUCTIONS]) {
                free(v);
                return -ENODATA;
            }
            v[i] = (double)r->ctr.v[COUNTERS_INSTRUCTIONS];
            break;
        }
    }
    *out = v;
    return 0;
}

static int cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

/* In integers: peak RSS can exceed what a double holds exactly. */
static int rss_stats(const struct bench_cmd *c, uint64_t *max, uint64_t *median)
{
    uint64_t *v = malloc(c->nruns * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < c->nruns; i++)
        v[i] = c->runs[i].max_rss_bytes;
    qsort(v, c->nruns, sizeof(*v), cmp_u64);
    *max = v[c->nruns - 1];
    uint64_t lo = v[(c->nruns - 1) / 2], hi = v[c->nruns / 2];
    *median = lo + (hi - lo) / 2;
    free(v);
    return 0;
}

int bench_cmd_finalize(struct bench_cmd *c)
{
    c->stats_cached = false;
    int rc = bench_cmd_stats(c, &c->stats);
    c->stats_cached = rc == 0;
    return rc;
}

int bench_cmd_stats(const struct bench_cmd *c, struct bench_stats *st)
{
    if (!c || !st || c->nruns == 0)
        return -EINVAL;
    if (c->stats_cached) {
        *st = c->stats;
        return 0;
    }
    memset(st, 0, sizeof(*st));
    if (c->stop && *c->stop)
        return PK_ESTOP;

    double *t = bench_cmd_times(c);
    if (!t)
        return -ENOMEM;
    struct stats_boot boot = bench_boot(c->stop);
    int rc = stats_summarize(t, c->nruns, &st->wall);
    if (rc == 0)
        rc = stats_bootstrap(t, c->nruns, STATS_MEAN, &boot, &st->mean_ci);
    if (rc == 0)
        rc = stats_bootstrap(t, c->nruns, STATS_MEDIAN, &boot, &st->median_ci);
    if (rc == 0)
        rc = stats_outliers(t, c->nruns, &st->outliers);
    free(t);
    if (rc)
        return rc;

    double user = 0, sys = 0;
    for (size_t i = 0; i < c->nruns; i++) {
        const struct bench_run *r = &c->runs[i];
        user += r->user_s;
        sys += r->sys_s;
        if (r->exit_code != 0 || r->term_signal != 0)
            st->failed_runs++;
    }
    st->user_mean = user / (double)c->nruns;
    st->sys_mean = sys / (double)c->nruns;
    return rss_stats(c, &st->rss_max, &st->rss_median);
}

int bench_compare_samples(const double *a, size_t na, const double *b, size_t nb, double threshold,
                          struct bench_comparison *out)
{
    return bench_compare_stop(a, na, b, nb, threshold, NULL, out);
}

int bench_compare_stop(const double *a, size_t na, const double *b, size_t nb, double threshold,
                       const volatile sig_atomic_t *stop, struct bench_comparison *out)
{
    if (!a || !b || na == 0 || nb == 0 || !out || !(threshold >= 0) || !isfinite(threshold))
        return -EINVAL;
    if (stop && *stop)
        return PK_ESTOP;
    memset(out, 0, sizeof(*out));
    out->verdict = BENCH_SAME;
    out->ratio_mean = out->ratio_median = NAN;
    out->ratio_mean_ci.lo = out->ratio_mean_ci.hi = NAN;
    out->ratio_median_ci.lo = out->ratio_median_ci.hi = NAN;

    int rc = stats_mann_whitney(a, na, b, nb, &out->mwu);
    if (rc)
        return rc;
    rc = stats_hodges_lehmann(a, na, b, nb, &out->shift_s);
    /* The shift needs all na * nb differences; past the cap it is left out
     * (NaN) rather than failing a comparison whose verdict does not use it. */
    if (rc == -E2BIG)
        out->shift_s = NAN;
    else if (rc)
        return rc;

    /* The ratios come last so that on -EDOM (b's median or mean is 0, the
     * ratio is undefined) the caller still has the test and the shift. */
    struct stats_boot boot = bench_boot(stop);
    rc = stats_ratio_bootstrap(a, na, b, nb, STATS_MEDIAN, &boot, &out->ratio_median, &out->ratio_median_ci);
    if (rc)
        return rc;
    rc = stats_ratio_bootstrap(a, na, b, nb, STATS_MEAN, &boot, &out->ratio_mean, &out->ratio_mean_ci);
    if (rc)
        return rc;

    if (out->mwu.p < SIGNIFICANCE) {
        if (out->ratio_median > 1.0 + threshold)
            out->verdict = BENCH_SLOWER;
        else if (out->ratio_median < 1.0 - threshold)
            out->verdict = BENCH_FASTER;
    }
    return 0;
}
