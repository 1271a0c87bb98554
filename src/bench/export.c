#include "bench/export.h"
#include "bench/export_impl.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/check.h"
#include "core/err.h"
#include "core/files.h"
#include "core/jsonio.h"

void export_data_free(struct cmd_data *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++)
        free(d[i].times);
    free(d);
}

/* A statistic that could not be computed: stopped by the caller, or an errno. */
int export_stats_failed(struct pk_err *e, int rc, const char *on, const char *what)
{
    if (rc == PK_ESTOP)
        return err_set(e, rc, on, what, "interrupted");
    return err_errno(e, rc, on, what);
}

int export_data_new(const struct bench_set *s, struct cmd_data **out, struct pk_err *e)
{
    struct cmd_data *d = calloc(s->ncmds ? s->ncmds : 1, sizeof(*d));
    if (!d)
        return err_errno(e, -ENOMEM, NULL, "cannot export results");
    for (size_t i = 0; i < s->ncmds; i++) {
        const struct bench_cmd *c = &s->cmds[i];
        if (!bench_cmd_exported(c))
            continue;
        d[i].times = bench_cmd_times(c);
        int rc = d[i].times ? bench_cmd_stats(c, &d[i].st) : -ENOMEM;
        if (rc) {
            export_data_free(d, s->ncmds);
            return export_stats_failed(e, rc, c->name, "cannot compute statistics");
        }
        d[i].has_stats = true;
    }
    *out = d;
    return 0;
}

size_t export_reference(const struct bench_set *s, size_t reference)
{
    if (reference != SIZE_MAX)
        return reference < s->ncmds && bench_cmd_exported(&s->cmds[reference]) ? reference : SIZE_MAX;
    for (size_t i = 0; i < s->ncmds; i++)
        if (s->cmds[i].is_reference && bench_cmd_exported(&s->cmds[i]))
            return i;
    /* The fastest by median: the Relative column is a ratio of medians,
     * so this choice makes every other ratio >= 1. */
    size_t best = SIZE_MAX;
    double best_median = 0;
    for (size_t i = 0; i < s->ncmds; i++) {
        const struct bench_cmd *c = &s->cmds[i];
        double *t = bench_cmd_exported(c) ? bench_cmd_times(c) : NULL;
        double m;
        if (t && stats_median(t, c->nruns, &m) == 0 && (best == SIZE_MAX || m < best_median)) {
            best = i;
            best_median = m;
        }
        free(t);
    }
    return best;
}

int export_resolve_reference(const struct bench_set *s, size_t reference, size_t *ref, struct pk_err *e)
{
    if (reference != SIZE_MAX && reference >= s->ncmds)
        return err_set(e, -EINVAL, NULL, "cannot export results",
                       "reference index %zu out of range (%zu commands)", reference, s->ncmds);
    *ref = export_reference(s, reference);
    PK_ASSERT(*ref == SIZE_MAX || *ref < s->ncmds); /* callers index s->cmds and the data by it */
    return 0;
}

/* Sorted union of the parameter names of every command: hyperfine writes
 * parameters in name order, and one column per name keeps CSV rows aligned
 * even when commands differ in their parameters. Names point into s. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int export_param_names(const struct bench_set *s, const char ***out, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < s->ncmds; i++)
        total += s->cmds[i].nparams;
    const char **names = malloc((total ? total : 1) * sizeof(*names));
    if (!names)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s->ncmds; i++)
        for (size_t j = 0; j < s->cmds[i].nparams; j++)
            names[k++] = s->cmds[i].params[j].name;
    qsort(names, k, sizeof(*names), cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(names[u - 1], names[i]) != 0)
            names[u++] = names[i];
    *out = names;
    *n = u;
    return 0;
}

const char *export_param_value(const struct bench_cmd *c, const char *name)
{
    for (size_t i = 0; i < c->nparams; i++)
        if (strcmp(c->params[i].name, name) == 0)
            return c->params[i].value;
    return NULL;
}

/* hyperfine's exit code: the code, or 128 + the signal as a shell reports it. */
static int run_exit_code(const struct bench_run *r)
{
    return r->term_signal ? 128 + r->term_signal : r->exit_code;
}

/* ---- JSON */

/* json_object_set_new() and json_array_append_new() take the value even on
 * failure, so a whole object is built with one sticky error. */
static void put(json_t *obj, const char *key, json_t *v, int *rc)
{
    if (json_object_set_new(obj, key, v))
        *rc = -ENOMEM;
}

static void push(json_t *arr, json_t *v, int *rc)
{
    if (json_array_append_new(arr, v))
        *rc = -ENOMEM;
}

static json_t *json_u64(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? (json_int_t)LLONG_MAX : (json_int_t)v);
}

static json_t *json_str_or_null(const char *v)
{
    return v && v[0] ? json_string(v) : json_null();
}

/* JSON holds UTF-8 only. json_string() refuses other bytes as it refuses
 * for lack of memory; the copy without the check fails only for the latter
 * (then the string is not known to be bad, and the export fails on memory). */
static bool is_utf8(const char *v)
{
    json_t *t = json_string(v);
    if (t) {
        json_decref(t);
        return true;
    }
    t = json_stringn_nocheck(v, strlen(v));
    bool copied = t != NULL;
    json_decref(t);
    return !copied;
}

/* The first string of c a JSON export cannot hold, or NULL. */
static const char *not_utf8(const struct bench_cmd *c)
{
    if (!is_utf8(c->name))
        return c->name;
    if (!is_utf8(c->command))
        return c->command;
    for (size_t i = 0; i < c->nparams; i++) {
        if (!is_utf8(c->params[i].name))
            return c->params[i].name;
        if (!is_utf8(c->params[i].value))
            return c->params[i].value;
    }
    return NULL;
}

static json_t *json_pair(double lo, double hi)
{
    json_t *a = json_array();
    int rc = 0;
    push(a, jsonio_real(lo), &rc);
    push(a, jsonio_real(hi), &rc);
    if (rc) {
        json_decref(a);
        return NULL;
    }
    return a;
}

enum run_field {
    F_WALL,
    F_USER,
    F_SYS,
    F_EXIT,
    F_RSS,
    F_MINFLT,
    F_MAJFLT,
    F_NVCSW,
    F_NIVCSW,
    F_SIGNAL,
    F_COUNTER
};

static json_t *run_value(const struct bench_run *r, enum run_field f, int counter)
{
    switch (f) {
    case F_WALL: return jsonio_real(r->wall_s);
    case F_USER: return jsonio_real(r->user_s);
    case F_SYS: return jsonio_real(r->sys_s);
    case F_EXIT: return json_integer(run_exit_code(r));
    case F_RSS: return json_u64(r->max_rss_bytes);
    case F_MINFLT: return json_u64(r->minflt);
    case F_MAJFLT: return json_u64(r->majflt);
    case F_NVCSW: return json_u64(r->nvcsw);
    case F_NIVCSW: return json_u64(r->nivcsw);
    case F_SIGNAL: return json_integer(r->term_signal);
    case F_COUNTER: return r->ctr.valid[counter] ? json_u64(r->ctr.v[counter]) : json_null();
    }
    return NULL;
}

static json_t *run_array(const struct bench_cmd *c, enum run_field f, int counter)
{
    json_t *a = json_array();
    int rc = a ? 0 : -ENOMEM;
    for (size_t i = 0; i < c->nruns && rc == 0; i++)
        push(a, run_value(&c->runs[i], f, counter), &rc);
    if (rc) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *stats_object(const struct bench_cmd *c, const struct cmd_data *d)
{
    if (!d->has_stats)
        return json_null();
    const struct bench_stats *st = &d->st;
    json_t *o = json_object(), *out = json_object();
    int rc = o && out ? 0 : -ENOMEM;
    put(o, "mean_ci", json_pair(st->mean_ci.lo, st->mean_ci.hi), &rc);
    put(o, "median_ci", json_pair(st->median_ci.lo, st->median_ci.hi), &rc);
    put(o, "ci_level", jsonio_real(BENCH_CI_LEVEL), &rc);
    put(o, "bootstrap_resamples", json_integer(BENCH_BOOTSTRAP_RESAMPLES), &rc);
    put(o, "bootstrap_max_n", json_integer(BENCH_BOOTSTRAP_MAX_N), &rc);
    put(o, "q1", jsonio_real(st->wall.q1), &rc);
    put(o, "q3", jsonio_real(st->wall.q3), &rc);
    put(o, "mad", jsonio_real(st->wall.mad), &rc);
    put(out, "zscore", json_u64(st->outliers.zscore), &rc);
    put(out, "low_mild", json_u64(st->outliers.low_mild), &rc);
    put(out, "high_mild", json_u64(st->outliers.high_mild), &rc);
    put(out, "low_severe", json_u64(st->outliers.low_severe), &rc);
    put(out, "high_severe", json_u64(st->outliers.high_severe), &rc);
    put(o, "outliers", json_incref(out), &rc);
    put(o, "shell_overhead", jsonio_real(c->shell_overhead_s), &rc);
    put(o, "failed_runs", json_u64(st->failed_runs), &rc);
    put(o, "memory_max_byte", json_u64(st->rss_max), &rc);
    put(o, "memory_median_byte", json_u64(st->rss_median), &rc);
    json_decref(out);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *result_object(const struct bench_set *s, const struct bench_cmd *c, const struct cmd_data *d,
                             const char **pnames, size_t npnames)
{
    json_t *o = json_object();
    int rc = o ? 0 : -ENOMEM;
    const struct stats_summary *w = &d->st.wall;
    bool ok = d->has_stats;

    /* hyperfine's keys, with its meanings: stddev is null for a single run. */
    put(o, "command", json_string(c->name), &rc);
    put(o, "mean", ok ? jsonio_real(w->mean) : json_null(), &rc);
    put(o, "stddev", ok && w->n > 1 ? jsonio_real(w->stddev) : json_null(), &rc);
    put(o, "median", ok ? jsonio_real(w->median) : json_null(), &rc);
    put(o, "user", ok ? jsonio_real(d->st.user_mean) : json_null(), &rc);
    put(o, "system", ok ? jsonio_real(d->st.sys_mean) : json_null(), &rc);
    put(o, "min", ok ? jsonio_real(w->min) : json_null(), &rc);
    put(o, "max", ok ? jsonio_real(w->max) : json_null(), &rc);
    put(o, "times", run_array(c, F_WALL, 0), &rc);
    put(o, "exit_codes", run_array(c, F_EXIT, 0), &rc);
    put(o, "memory_usage_byte", run_array(c, F_RSS, 0), &rc);
    if (c->nparams) {
        json_t *p = json_object();
        if (!p)
            rc = -ENOMEM;
        for (size_t i = 0; i < npnames && p; i++) {
            const char *v = export_param_value(c, pnames[i]);
            if (v)
                put(p, pnames[i], json_string(v), &rc);
        }
        put(o, "parameters", p, &rc);
    }

    /* perfkit's additions. */
    put(o, "command_line", json_string(c->command), &rc);
    put(o, "user_times", run_array(c, F_USER, 0), &rc);
    put(o, "system_times", run_array(c, F_SYS, 0), &rc);
    put(o, "minor_faults", run_array(c, F_MINFLT, 0), &rc);
    put(o, "major_faults", run_array(c, F_MAJFLT, 0), &rc);
    put(o, "voluntary_cs", run_array(c, F_NVCSW, 0), &rc);
    put(o, "involuntary_cs", run_array(c, F_NIVCSW, 0), &rc);
    put(o, "signals", run_array(c, F_SIGNAL, 0), &rc);
    if (s->counters) {
        json_t *ctr = json_object();
        if (!ctr)
            rc = -ENOMEM;
        for (int i = 0; i < COUNTERS_N && ctr; i++)
            put(ctr, counters_name(i), run_array(c, F_COUNTER, i), &rc);
        put(o, "counters", ctr, &rc);
    }
    put(o, "statistics", stats_object(c, d), &rc);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A command hyperfine would not list in results[]: one that failed (its runs
 * before the failure kept) or that has no run, with what stopped it. */
static json_t *incomplete_object(const struct bench_cmd *c, const char **pnames, size_t npnames)
{
    json_t *o = json_object();
    int rc = o ? 0 : -ENOMEM;
    bool failed = c->status == BENCH_FAILED;
    put(o, "command", json_string(c->name), &rc);
    put(o, "command_line", json_string(c->command), &rc);
    if (c->nparams) {
        json_t *p = json_object();
        if (!p)
            rc = -ENOMEM;
        for (size_t i = 0; i < npnames && p; i++) {
            const char *v = export_param_value(c, pnames[i]);
            if (v)
                put(p, pnames[i], json_string(v), &rc);
        }
        put(o, "parameters", p, &rc);
    }
    put(o, "status", json_string(failed ? "failed" : "not run"), &rc);
    put(o, "phase", failed && c->fail_phase ? json_string(c->fail_phase) : json_null(), &rc);
    put(o, "exit_code", failed ? json_integer(c->fail_exit_code) : json_null(), &rc);
    put(o, "times", run_array(c, F_WALL, 0), &rc);
    put(o, "exit_codes", run_array(c, F_EXIT, 0), &rc);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *incomplete_array(const struct bench_set *s, const char **pnames, size_t npnames)
{
    json_t *a = json_array();
    int rc = a ? 0 : -ENOMEM;
    for (size_t i = 0; i < s->ncmds && rc == 0; i++)
        if (!bench_cmd_exported(&s->cmds[i]))
            push(a, incomplete_object(&s->cmds[i], pnames, npnames), &rc);
    if (rc) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static int comparison_object(const struct bench_set *s, const struct cmd_data *d, size_t i, size_t ref,
                             json_t **out, struct pk_err *e)
{
    struct bench_comparison cmp;
    int crc = bench_compare_stop(d[i].times, s->cmds[i].nruns, d[ref].times, s->cmds[ref].nruns, 0.0, s->stop,
                                 &cmp);
    /* -EDOM: the reference's median is 0, so there is no ratio; the test and
     * the shift are still filled and still worth reporting. */
    if (crc && crc != -EDOM)
        return export_stats_failed(e, crc, s->cmds[i].name, "cannot compare with the reference");

    json_t *o = json_object();
    int rc = o ? 0 : -ENOMEM;
    put(o, "command", json_string(s->cmds[i].name), &rc);
    put(o, "reference", json_string(s->cmds[ref].name), &rc);
    put(o, "ratio_median", jsonio_real(cmp.ratio_median), &rc);
    put(o, "ratio_median_ci", json_pair(cmp.ratio_median_ci.lo, cmp.ratio_median_ci.hi), &rc);
    put(o, "ratio_mean", jsonio_real(cmp.ratio_mean), &rc);
    put(o, "ratio_mean_ci", json_pair(cmp.ratio_mean_ci.lo, cmp.ratio_mean_ci.hi), &rc);
    put(o, "p_value", jsonio_real(cmp.mwu.p), &rc);
    put(o, "u", jsonio_real(cmp.mwu.u), &rc);
    put(o, "exact", json_boolean(cmp.mwu.exact), &rc);
    put(o, "shift", jsonio_real(cmp.shift_s), &rc);
    if (rc) {
        json_decref(o);
        return err_errno(e, rc, NULL, "cannot export results");
    }
    *out = o;
    return 0;
}

static json_t *context_object(const struct export_context *ctx)
{
    json_t *o = json_object();
    int rc = o ? 0 : -ENOMEM;
    put(o, "host", json_str_or_null(ctx->host), &rc);
    put(o, "kernel", json_str_or_null(ctx->kernel), &rc);
    put(o, "cpu_model", json_str_or_null(ctx->cpu_model), &rc);
    put(o, "cpus", ctx->cpus > 0 ? json_integer(ctx->cpus) : json_null(), &rc);
    put(o, "governor", json_str_or_null(ctx->governor), &rc);
    if (ctx->load_known) {
        json_t *l = json_array();
        for (int i = 0; i < 3 && l; i++)
            push(l, jsonio_real(ctx->load_avg[i]), &rc);
        put(o, "load_avg", l, &rc);
    } else {
        put(o, "load_avg", json_null(), &rc);
    }
    put(o, "perfkit_version", json_str_or_null(ctx->perfkit_version), &rc);
    char date[32];
    struct tm tm;
    if (gmtime_r(&ctx->date, &tm) && strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm))
        put(o, "date", json_string(date), &rc);
    else
        put(o, "date", json_null(), &rc);
    put(o, "git_revision", json_str_or_null(ctx->git_revision), &rc);
    put(o, "command_line", json_str_or_null(ctx->command_line), &rc);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int export_json(const struct bench_set *s, const struct export_context *ctx, size_t reference, json_t **out,
                struct pk_err *e)
{
    size_t ref = SIZE_MAX;
    int rc = export_resolve_reference(s, reference, &ref, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->ncmds; i++) {
        const char *bad = not_utf8(&s->cmds[i]);
        if (bad)
            return err_set(e, -EILSEQ, NULL, "cannot export results as JSON", "'%s' is not valid UTF-8", bad);
    }
    struct cmd_data *d;
    rc = export_data_new(s, &d, e);
    if (rc)
        return rc;
    const char **pnames = NULL;
    size_t npnames = 0;
    if (export_param_names(s, &pnames, &npnames)) {
        rc = err_errno(e, -ENOMEM, NULL, "cannot export results");
        goto out_data;
    }

    json_t *root = json_object(), *results = json_array(), *cmps = json_array();
    if (!root || !results || !cmps) {
        json_decref(results);
        json_decref(cmps);
        rc = -ENOMEM;
        goto out_root;
    }
    put(root, "results", results, &rc);
    put(root, "comparisons", cmps, &rc);
    for (size_t i = 0; i < s->ncmds && rc == 0; i++)
        if (d[i].has_stats)
            push(results, result_object(s, &s->cmds[i], &d[i], pnames, npnames), &rc);
    if (rc == 0)
        put(root, "incomplete", incomplete_array(s, pnames, npnames), &rc);
    if (rc)
        goto out_root;

    for (size_t i = 0; i < s->ncmds && ref != SIZE_MAX && d[ref].has_stats; i++) {
        if (i == ref || !d[i].has_stats)
            continue;
        json_t *c = NULL;
        rc = comparison_object(s, d, i, ref, &c, e);
        if (rc)
            goto out_json;
        push(cmps, c, &rc);
        if (rc)
            goto out_root;
    }
    if (ctx)
        put(root, "context", context_object(ctx), &rc);

out_root:
    if (rc)
        err_errno(e, rc, NULL, "cannot export results");
out_json:
    if (rc)
        json_decref(root);
    else
        *out = root;
    free(pnames);
out_data:
    export_data_free(d, s->ncmds);
    return rc;
}

static const char *verdict_name(enum bench_verdict v)
{
    switch (v) {
    case BENCH_SLOWER: return "slower";
    case BENCH_FASTER: return "faster";
    default: return "no change";
    }
}

int export_json_gate(json_t *root, const struct bench_set *s, const struct export_gate *g, struct pk_err *e)
{
    json_t *o = json_object(), *cmps = json_array();
    int rc = o && cmps ? 0 : -ENOMEM;
    put(o, "file", json_string(g->file), &rc);
    put(o, "metric", json_string(bench_metric_name(g->metric)), &rc);
    put(o, "threshold", jsonio_real(g->threshold), &rc);
    put(o, "fail_on_regression", json_boolean(g->fail_on_regression), &rc);
    for (size_t i = 0; i < s->ncmds && rc == 0 && cmps; i++) {
        const struct export_gate_row *r = &g->rows[i];
        if (!bench_cmd_exported(&s->cmds[i]))
            continue;
        json_t *c = json_object();
        if (!c) {
            rc = -ENOMEM;
            break;
        }
        put(c, "command", json_string(s->cmds[i].name), &rc);
        if (r->compared) {
            put(c, "verdict", json_string(verdict_name(r->cmp.verdict)), &rc);
            put(c, "ratio_median", jsonio_real(r->cmp.ratio_median), &rc);
            put(c, "ratio_median_ci", json_pair(r->cmp.ratio_median_ci.lo, r->cmp.ratio_median_ci.hi), &rc);
            put(c, "p_value", jsonio_real(r->cmp.mwu.p), &rc);
        } else {
            put(c, "verdict", json_null(), &rc);
            put(c, "error", json_string(r->why), &rc);
        }
        push(cmps, c, &rc);
    }
    put(o, "comparisons", json_incref(cmps), &rc);
    json_decref(cmps);
    put(root, "baseline", o, &rc);
    if (rc)
        return err_errno(e, rc, NULL, "cannot export results");
    return 0;
}

int export_write(const char *path, const char *data, size_t len, struct pk_err *e)
{
    if (!path || !data)
        return err_set(e, -EINVAL, path, "cannot write export", "no path or no data");
    return files_write_atomic(path, data, len, e);
}
