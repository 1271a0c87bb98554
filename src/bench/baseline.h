/*
 * baseline - earlier results to gate a run against (--baseline in CI).
 *
 * A baseline file is a JSON export of `perfkit bench` or of hyperfine
 * (--export-json): results[].command and results[].times are read, so either
 * tool's file works; perfkit's per-run user_times and system_times, and
 * counters.instructions, are read when present, for the gate metrics cpu and
 * instructions (enum bench_metric). Every field used is validated (objects,
 * strings, arrays of finite non-negative numbers as long as times, at most
 * BASELINE_MAX_TIMES times in the whole file); an error names the file, the
 * element and the problem: "base.json: results[2].times[5]: expected a
 * number" (on = file name, what = element, why = problem; PK_EPARSE).
 *
 * Ownership: struct baseline owns its commands and times; baseline_destroy()
 * frees them, and is safe on a baseline that failed to load. baseline_find()
 * returns a pointer into the baseline. Not thread-safe.
 */
#ifndef PK_BENCH_BASELINE_H
#define PK_BENCH_BASELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/results.h"
#include "perfkit.h"

#define BASELINE_MAX_TIMES         10000000u
#define BASELINE_DEFAULT_THRESHOLD 0.02 /* a 2 % change of the median */

struct baseline_entry {
    char *command; /* results[i].command: the name a run is matched by */
    double *times; /* seconds, ntimes >= 1 */
    size_t ntimes;
    double *cpu;          /* user + system seconds per run; NULL when the file has none */
    double *instructions; /* per run; NULL when the file has none for some run */
};

struct baseline {
    struct baseline_entry *entries;
    size_t n;
};

void baseline_init(struct baseline *b);
void baseline_destroy(struct baseline *b);

/* Reads and validates the file (at most JSONIO_MAX_BYTES). On failure *out is
 * left empty (as after baseline_init). */
int baseline_load(const char *path, struct baseline *out, struct pk_err *e);
/* The same on text in memory; name is what errors call the text. */
int baseline_parse(const char *text, size_t len, const char *name, struct baseline *out, struct pk_err *e);

/* The first entry whose command equals name (a bench_cmd's name), or NULL. */
const struct baseline_entry *baseline_find(const struct baseline *b, const char *name);
/* The entry after nth others of that name (nth = 0: the first), or NULL:
 * the k-th of several commands with one name meets the k-th such result. */
const struct baseline_entry *baseline_find_nth(const struct baseline *b, const char *name, size_t nth);

/* The entry's per-run values of metric m, or NULL when the file has none. */
const double *baseline_values(const struct baseline_entry *be, enum bench_metric m);

/*
 * Whether b can gate the commands named names[0..n-1] (bench_cmd names, in
 * order; the k-th of several of one name meets the k-th result of that name)
 * on metric m, checked before anything runs. -ENODATA with a message naming
 * what is missing when b holds no results, when a command has no result in
 * b (only if require_all), or when a result lacks m's per-run values.
 */
int baseline_check(const struct baseline *b, const char *path, const char *const *names, size_t n,
                   enum bench_metric m, bool require_all, struct pk_err *e);

/*
 * The current run of a command against its baseline: bench_compare_samples()
 * with a = the current wall times, b = the baseline's, so BENCH_SLOWER is a
 * regression. threshold is a fraction (BASELINE_DEFAULT_THRESHOLD = 2 %).
 * -EINVAL when the command has no runs or threshold is not a finite
 * fraction >= 0; -EDOM when the baseline's median is 0 (no ratio exists).
 */
int baseline_compare(const struct baseline_entry *base, const struct bench_cmd *cur, double threshold,
                     struct bench_comparison *out, struct pk_err *e);
/* The same on metric m's per-run values (wall: baseline_compare); -ENODATA
 * when the baseline entry or a run lacks them. */
int baseline_compare_metric(const struct baseline_entry *base, const struct bench_cmd *cur,
                            enum bench_metric m, double threshold, struct bench_comparison *out,
                            struct pk_err *e);

#endif
