/*
 * export_impl - what the files of the export module share (export.c: JSON;
 * export_text.c: CSV and the tables). Not for other modules.
 */
#ifndef PK_BENCH_EXPORT_IMPL_H
#define PK_BENCH_EXPORT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/export.h"

/* What every format needs of a command, computed once. */
struct cmd_data {
    double *times; /* wall times; NULL when the command is no result (bench_cmd_exported) */
    bool has_stats;
    struct bench_stats st;
};

/* One per command of s; the caller frees with export_data_free(d, s->ncmds). */
int export_data_new(const struct bench_set *s, struct cmd_data **out, struct pk_err *e);
void export_data_free(struct cmd_data *d, size_t n);
/* A statistic that could not be computed: stopped by the caller (PK_ESTOP), or an errno. */
int export_stats_failed(struct pk_err *e, int rc, const char *on, const char *what);
/* export_reference() with the index checked: -EINVAL when out of range. */
int export_resolve_reference(const struct bench_set *s, size_t reference, size_t *ref, struct pk_err *e);
/* Sorted union of every command's parameter names (malloc'd array of
 * pointers into s); -ENOMEM. */
int export_param_names(const struct bench_set *s, const char ***out, size_t *n);
/* c's value of parameter name, or NULL. */
const char *export_param_value(const struct bench_cmd *c, const char *name);

#endif
