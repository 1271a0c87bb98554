/*
 * export - a struct bench_set as JSON, CSV or Markdown, in hyperfine's
 * formats so that programs written for hyperfine read them unchanged.
 *
 * JSON (docs/bench.md): hyperfine's `results[]` (command, mean, stddev,
 * median, user, system, min, max, times, exit_codes, memory_usage_byte,
 * parameters), perfkit's extras in added keys only, plus top-level
 * `comparisons` and `context`. The JSON export is also the baseline format
 * (baseline.h).
 *
 * The reference of ratios is `reference`, an index into s->cmds; SIZE_MAX
 * means the command flagged is_reference, else the fastest by median.
 *
 * Ownership: export_json() returns a new reference the caller json_decref()s;
 * export_csv() and export_markdown() return a malloc'd NUL-terminated string
 * the caller frees. Errors: 0 or a negative errno with the message in e;
 * the string functions return NULL with the message in e. Nothing is written
 * anywhere but through export_write().
 */
#ifndef PK_BENCH_EXPORT_H
#define PK_BENCH_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "bench/results.h"
#include "perfkit.h"

/* The machine and invocation behind a report. NULL or empty strings are
 * written as null; so are cpus <= 0 and load_avg without load_known. */
struct export_context {
    const char *host;
    const char *kernel;
    const char *cpu_model;
    int cpus;
    const char *governor;
    bool load_known;
    double load_avg[3]; /* 1, 5 and 15 minutes */
    const char *perfkit_version;
    time_t date;              /* written as ISO 8601 UTC */
    const char *git_revision; /* NULL outside a git checkout */
    const char *command_line; /* the perfkit invocation, as typed */
};

/* The index ratios are taken against (see above); SIZE_MAX for an empty set. */
size_t export_reference(const struct bench_set *s, size_t reference);

/* ctx may be NULL: no "context" object then. */
int export_json(const struct bench_set *s, const struct export_context *ctx, size_t reference, json_t **out,
                struct pk_err *e);
/* hyperfine's CSV: command,mean,stddev,median,user,system,min,max then one
 * parameter_<name> column per parameter name (sorted), times in seconds. */
char *export_csv(const struct bench_set *s, struct pk_err *e);
enum export_format { EXPORT_MARKDOWN, EXPORT_ASCIIDOC, EXPORT_ORGMODE };
enum export_unit { EXPORT_UNIT_AUTO, EXPORT_UNIT_SECOND, EXPORT_UNIT_MILLISECOND, EXPORT_UNIT_MICROSECOND };

/* How a table is made: hyperfine's --export-markdown/asciidoc/orgmode,
 * --time-unit and --sort. */
struct export_table {
    enum export_format format;
    size_t reference;      /* SIZE_MAX: as export_reference() */
    enum export_unit unit; /* AUTO: the one in which the fastest mean reads >= 1 */
    bool by_mean;          /* rows by mean time; else in the order of the set */
};
/* hyperfine's table in that format: Command, Mean (± stddev), Min, Max,
 * Relative; its rows are the results (bench_cmd_exported). The Relative
 * column is the ratio of medians with its 95 % bootstrap CI, explained in a
 * line under the table. */
char *export_table(const struct bench_set *s, const struct export_table *t, struct pk_err *e);
/* export_table() in Markdown, units chosen, rows as given. */
char *export_markdown(const struct bench_set *s, size_t reference, struct pk_err *e);
/* The regression gate's verdicts (--baseline), for the JSON export. */
struct export_gate_row {
    bool compared;               /* false: see why */
    char why[256];               /* "not in the baseline", or why the comparison failed */
    struct bench_comparison cmp; /* current / baseline, when compared */
};
struct export_gate {
    const char *file;
    enum bench_metric metric;
    double threshold;
    bool fail_on_regression;
    const struct export_gate_row
        *rows; /* one per command of the set; rows of commands without runs are skipped */
};
/* Adds "baseline": {file, metric, threshold, fail_on_regression,
 * comparisons[]: {command, verdict, ratio_median, ratio_median_ci, p_value}}
 * to root. */
int export_json_gate(json_t *root, const struct bench_set *s, const struct export_gate *g, struct pk_err *e);

/* Atomically replaces path with data (files_write_atomic). */
int export_write(const char *path, const char *data, size_t len, struct pk_err *e);

#endif
