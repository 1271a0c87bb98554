#include "bench/baseline.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/jsonio.h"

void baseline_init(struct baseline *b)
{
    memset(b, 0, sizeof(*b));
}

void baseline_destroy(struct baseline *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->entries[i].command);
        free(b->entries[i].times);
        free(b->entries[i].cpu);
        free(b->entries[i].instructions);
    }
    free(b->entries);
    baseline_init(b);
}

/* on = the file, what = the element as a JSON path, why = the problem. */
static int bad(struct pk_err *e, const char *name, const char *why, const char *path_fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(struct pk_err *e, const char *name, const char *why, const char *path_fmt, ...)
{
    char path[96];
    va_list ap;
    va_start(ap, path_fmt);
    vsnprintf(path, sizeof(path), path_fmt, ap);
    va_end(ap);
    return err_set(e, PK_EPARSE, name, path, "%s", why);
}

/* Reads the array results[ri].<key> of finite non-negative numbers into t.
 * With nulls_ok, a null makes *complete false (a counter the PMU did not
 * count in that run) instead of an error. */
static int read_numbers(const json_t *arr, size_t ri, const char *key, const char *name, double *t,
                        bool nulls_ok, bool *complete, struct pk_err *e)
{
    size_t n = json_array_size(arr);
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(arr, k);
        if (nulls_ok && json_is_null(v)) {
            *complete = false;
            continue;
        }
        if (!json_is_number(v))
            return bad(e, name, "expected a number", "results[%zu].%s[%zu]", ri, key, k);
        double x = json_number_value(v);
        if (!isfinite(x))
            return bad(e, name, "expected a finite number", "results[%zu].%s[%zu]", ri, key, k);
        if (x < 0) {
            char why[64];
            snprintf(why, sizeof(why), "expected a %s >= 0, got %g", nulls_ok ? "count" : "time", x);
            return bad(e, name, why, "results[%zu].%s[%zu]", ri, key, k);
        }
        t[k] = x;
    }
    return 0;
}

static int read_times(const json_t *arr, size_t ri, const char *name, double *t, struct pk_err *e)
{
    return read_numbers(arr, ri, "times", name, t, false, NULL, e);
}

/* results[ri].<key> when present: an array as long as times, or an error. */
static int optional_array(const json_t *r, size_t ri, const char *key, const char *label, size_t ntimes,
                          const char *name, const json_t **out, struct pk_err *e)
{
    *out = json_object_get(r, key);
    if (!*out)
        return 0;
    if (!json_is_array(*out))
        return bad(e, name, "expected an array", "results[%zu].%s", ri, label);
    if (json_array_size(*out) != ntimes) {
        char why[96];
        snprintf(why, sizeof(why), "expected %zu values, as many as times, got %zu", ntimes,
                 json_array_size(*out));
        return bad(e, name, why, "results[%zu].%s", ri, label);
    }
    return 0;
}

/* perfkit's per-run CPU times and instruction counts, when the file has them. */
static int read_extras(const json_t *r, size_t ri, const char *name, struct baseline_entry *be,
                       struct pk_err *e)
{
    const json_t *user, *sys, *ins = NULL, *ctr = json_object_get(r, "counters");
    int rc;
    if ((rc = optional_array(r, ri, "user_times", "user_times", be->ntimes, name, &user, e)) ||
        (rc = optional_array(r, ri, "system_times", "system_times", be->ntimes, name, &sys, e)))
        return rc;
    if (ctr && !json_is_object(ctr) && !json_is_null(ctr))
        return bad(e, name, "expected an object", "results[%zu].counters", ri);
    if (json_is_object(ctr) &&
        (rc = optional_array(ctr, ri, "instructions", "counters.instructions", be->ntimes, name, &ins, e)))
        return rc;
    if (user && sys) {
        double *u = malloc(be->ntimes * sizeof(*u));
        be->cpu = malloc(be->ntimes * sizeof(*be->cpu));
        rc = u && be->cpu ? 0 : -ENOMEM;
        if (rc == 0 && (rc = read_numbers(user, ri, "user_times", name, u, false, NULL, e)) == 0 &&
            (rc = read_numbers(sys, ri, "system_times", name, be->cpu, false, NULL, e)) == 0)
            for (size_t k = 0; k < be->ntimes; k++)
                be->cpu[k] += u[k];
        free(u);
        if (rc)
            return rc;
    }
    if (ins) {
        bool complete = true;
        be->instructions = malloc(be->ntimes * sizeof(*be->instructions));
        if (!be->instructions)
            return -ENOMEM;
        rc = read_numbers(ins, ri, "counters.instructions", name, be->instructions, true, &complete, e);
        if (rc)
            return rc;
        if (!complete) {
            free(be->instructions);
            be->instructions = NULL;
        }
    }
    return 0;
}

static int from_json(const json_t *root, const char *name, struct baseline *out, struct pk_err *e)
{
    if (!json_is_object(root))
        return err_set(e, PK_EPARSE, name, "top level", "expected an object");
    const json_t *results = json_object_get(root, "results");
    if (!results)
        return err_set(e, PK_EPARSE, name, "results", "missing");
    if (!json_is_array(results))
        return err_set(e, PK_EPARSE, name, "results", "expected an array");

    /* Validate the shape and the total first, so a huge file is refused
     * before anything is allocated for it. */
    size_t n = json_array_size(results), total = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(results, i);
        if (!json_is_object(r))
            return bad(e, name, "expected an object", "results[%zu]", i);
        const json_t *cmd = json_object_get(r, "command");
        if (!cmd)
            return bad(e, name, "missing", "results[%zu].command", i);
        if (!json_is_string(cmd))
            return bad(e, name, "expected a string", "results[%zu].command", i);
        if (strlen(json_string_value(cmd)) != json_string_length(cmd))
            return bad(e, name, "contains a NUL character", "results[%zu].command", i);
        const json_t *times = json_object_get(r, "times");
        if (!times)
            return bad(e, name, "missing", "results[%zu].times", i);
        if (!json_is_array(times))
            return bad(e, name, "expected an array", "results[%zu].times", i);
        size_t nt = json_array_size(times);
        if (nt == 0)
            return bad(e, name, "expected at least one time", "results[%zu].times", i);
        if (nt > BASELINE_MAX_TIMES - total) {
            char why[64];
            snprintf(why, sizeof(why), "more than %u times in the file", BASELINE_MAX_TIMES);
            return bad(e, name, why, "results[%zu].times", i);
        }
        total += nt;
    }

    struct baseline b;
    baseline_init(&b);
    int rc = -ENOMEM;
    b.entries = calloc(n ? n : 1, sizeof(*b.entries));
    if (!b.entries)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(results, i);
        const json_t *times = json_object_get(r, "times");
        struct baseline_entry *be = &b.entries[i];
        b.n = i + 1; /* counts the entries baseline_destroy() must free */
        be->ntimes = json_array_size(times);
        be->command = strdup(json_string_value(json_object_get(r, "command")));
        be->times = malloc(be->ntimes * sizeof(*be->times));
        rc = -ENOMEM;
        if (!be->command || !be->times)
            goto fail;
        rc = read_times(times, i, name, be->times, e);
        if (rc == 0)
            rc = read_extras(r, i, name, be, e);
        if (rc)
            goto fail;
    }
    *out = b;
    return 0;

fail:
    if (rc == -ENOMEM)
        err_errno(e, rc, name, "cannot load baseline");
    baseline_destroy(&b);
    return rc;
}

int baseline_parse(const char *text, size_t len, const char *name, struct baseline *out, struct pk_err *e)
{
    baseline_init(out);
    if (!text || !name)
        return err_set(e, -EINVAL, name, "cannot load baseline", "no text");
    json_t *root;
    int rc = jsonio_parse(text, len, name, &root, e);
    if (rc)
        return rc;
    rc = from_json(root, name, out, e);
    json_decref(root);
    return rc;
}

int baseline_load(const char *path, struct baseline *out, struct pk_err *e)
{
    baseline_init(out);
    if (!path)
        return err_set(e, -EINVAL, NULL, "cannot load baseline", "no path");
    json_t *root;
    int rc = jsonio_load(path, &root, e);
    if (rc)
        return rc;
    rc = from_json(root, path, out, e);
    json_decref(root);
    return rc;
}

const struct baseline_entry *baseline_find(const struct baseline *b, const char *name)
{
    return baseline_find_nth(b, name, 0);
}

const struct baseline_entry *baseline_find_nth(const struct baseline *b, const char *name, size_t nth)
{
    if (!b || !name)
        return NULL;
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->entries[i].command, name) == 0 && nth-- == 0)
            return &b->entries[i];
    return NULL;
}

const double *baseline_values(const struct baseline_entry *be, enum bench_metric m)
{
    switch (m) {
    case BENCH_METRIC_WALL: return be->times;
    case BENCH_METRIC_CPU: return be->cpu;
    case BENCH_METRIC_INSTRUCTIONS: return be->instructions;
    }
    return NULL;
}

static const char *metric_keys(enum bench_metric m)
{
    switch (m) {
    case BENCH_METRIC_CPU: return "no per-run CPU times (user_times, system_times)";
    case BENCH_METRIC_INSTRUCTIONS: return "no instruction count for every run (counters.instructions)";
    default: return "no times";
    }
}

int baseline_check(const struct baseline *b, const char *path, const char *const *names, size_t n,
                   enum bench_metric m, bool require_all, struct pk_err *e)
{
    if (b->n == 0)
        return err_set(e, -ENODATA, path, "cannot gate on this baseline", "it holds no results");
    for (size_t i = 0; i < n; i++) {
        size_t nth = 0;
        for (size_t k = 0; k < i; k++)
            nth += strcmp(names[k], names[i]) == 0;
        const struct baseline_entry *be = baseline_find_nth(b, names[i], nth);
        if (!be && require_all) {
            char have[256] = "";
            size_t used = 0;
            for (size_t k = 0; k < b->n && used + 1 < sizeof(have); k++) {
                int w = snprintf(have + used, sizeof(have) - used, "%s'%s'", k ? ", " : "",
                                 b->entries[k].command);
                used = w < 0 ? sizeof(have) : used + (size_t)w;
            }
            if (used >= sizeof(have))
                snprintf(have + sizeof(have) - 5, 5, "...");
            if (nth)
                return err_set(e, -ENODATA, path, "cannot gate on this baseline",
                               "command '%s' is there %zu time(s), this run has it %zu times; it holds %s",
                               names[i], nth, nth + 1, have);
            return err_set(e, -ENODATA, path, "cannot gate on this baseline",
                           "no result for command '%s' (it holds %s); name the command with -n as in the "
                           "baseline, or save a new baseline",
                           names[i], have);
        }
        if (be && !baseline_values(be, m))
            return err_set(e, -ENODATA, path, "cannot gate on this baseline",
                           "the result for '%s' has %s, which --gate-metric %s needs: save the baseline with "
                           "perfkit bench%s",
                           names[i], metric_keys(m), bench_metric_name(m),
                           m == BENCH_METRIC_INSTRUCTIONS ? " --counters where counters work" : "");
    }
    return 0;
}

int baseline_compare(const struct baseline_entry *base, const struct bench_cmd *cur, double threshold,
                     struct bench_comparison *out, struct pk_err *e)
{
    return baseline_compare_metric(base, cur, BENCH_METRIC_WALL, threshold, out, e);
}

int baseline_compare_metric(const struct baseline_entry *base, const struct bench_cmd *cur,
                            enum bench_metric m, double threshold, struct bench_comparison *out,
                            struct pk_err *e)
{
    if (!base || !cur || !out)
        return err_set(e, -EINVAL, NULL, "cannot compare with the baseline", "missing argument");
    if (!(threshold >= 0) || !isfinite(threshold))
        return err_set(e, -EINVAL, cur->name, "cannot compare with the baseline",
                       "threshold %g is not a fraction >= 0", threshold);
    if (cur->nruns == 0)
        return err_set(e, -EINVAL, cur->name, "cannot compare with the baseline", "no runs were measured");
    const double *bv = baseline_values(base, m);
    if (!bv)
        return err_set(e, -ENODATA, cur->name, "cannot compare with the baseline", "the baseline has %s",
                       metric_keys(m));
    double *t;
    int rc = bench_cmd_values(cur, m, &t);
    if (rc == -ENODATA)
        return err_set(e, rc, cur->name, "cannot compare with the baseline",
                       "a run has no instruction count (hardware counters)");
    if (rc)
        return err_errno(e, rc, cur->name, "cannot compare with the baseline");
    rc = bench_compare_stop(t, cur->nruns, bv, base->ntimes, threshold, cur->stop, out);
    free(t);
    if (rc == PK_ESTOP)
        return err_set(e, rc, cur->name, "cannot compare with the baseline", "interrupted");
    if (rc == -EDOM)
        return err_set(e, rc, cur->name, "cannot compare with the baseline",
                       "the baseline's median %s is 0, so no ratio exists",
                       m == BENCH_METRIC_INSTRUCTIONS ? "count" : "time");
    if (rc)
        return err_errno(e, rc, cur->name, "cannot compare with the baseline");
    return 0;
}
