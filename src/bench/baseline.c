#include "bench/baseline.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
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

static int read_times(const json_t *arr, size_t ri, const char *name, double *t, struct pk_err *e)
{
    size_t n = json_array_size(arr);
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(arr, k);
        if (!json_is_number(v))
            return bad(e, name, "expected a number", "results[%zu].times[%zu]", ri, k);
        double x = json_number_value(v);
        if (!isfinite(x))
            return bad(e, name, "expected a finite number", "results[%zu].times[%zu]", ri, k);
        if (x < 0) {
            char why[64];
            snprintf(why, sizeof(why), "expected a time >= 0, got %g", x);
            return bad(e, name, why, "results[%zu].times[%zu]", ri, k);
        }
        t[k] = x;
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

int baseline_compare(const struct baseline_entry *base, const struct bench_cmd *cur, double threshold,
                     struct bench_comparison *out, struct pk_err *e)
{
    if (!base || !cur || !out)
        return err_set(e, -EINVAL, NULL, "cannot compare with the baseline", "missing argument");
    if (!(threshold >= 0) || !isfinite(threshold))
        return err_set(e, -EINVAL, cur->name, "cannot compare with the baseline",
                       "threshold %g is not a fraction >= 0", threshold);
    if (cur->nruns == 0)
        return err_set(e, -EINVAL, cur->name, "cannot compare with the baseline", "no runs were measured");
    double *t = bench_cmd_times(cur);
    if (!t)
        return err_errno(e, -ENOMEM, cur->name, "cannot compare with the baseline");
    int rc = bench_compare_stop(t, cur->nruns, base->times, base->ntimes, threshold, cur->stop, out);
    free(t);
    if (rc == PK_ESTOP)
        return err_set(e, rc, cur->name, "cannot compare with the baseline", "interrupted");
    if (rc == -EDOM)
        return err_set(e, rc, cur->name, "cannot compare with the baseline",
                       "the baseline's median time is 0, so no ratio exists");
    if (rc)
        return err_errno(e, rc, cur->name, "cannot compare with the baseline");
    return 0;
}
