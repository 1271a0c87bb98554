/*
 * results - what `perfkit bench` measures, and the statistics over it.
 *
 * One struct bench_cmd per benchmarked command (after parameter expansion),
 * holding every timed run. bench_cmd_stats() derives the statistics; the
 * comparison of two samples (two commands, or a command and its baseline)
 * is bench_compare_samples(). Failed runs (-i) stay in every statistic.
 * Exports (export.h) and baselines (baseline.h) read these.
 * Cost: the bootstraps thin a sample of more than BENCH_BOOTSTRAP_MAX_N
 * values (stats_bootstrap), so no statistic costs more than about
 * 5000 x 2 x 10000 draws however many runs or baseline times there are; and
 * they read the set's stop flag (bench_set.stop, copied to each command),
 * returning PK_ESTOP within one resample once it is raised.
 * Ownership: a struct bench_set owns its commands and their strings;
 * bench_set_destroy() frees all of it. Not thread-safe.
 */
#ifndef PK_BENCH_RESULTS_H
#define PK_BENCH_RESULTS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/counters.h"
#include "core/stats.h"

struct bench_run {
    double wall_s;          /* CLOCK_MONOTONIC, spawn to reap, shell overhead subtracted (floored at 0) */
    double user_s, sys_s;   /* wait4 rusage of this run's process tree (overhead subtracted) */
    uint64_t max_rss_bytes; /* this run's own peak RSS (wait4 ru_maxrss) */
    uint64_t minflt, majflt, nvcsw, nivcsw;
    int exit_code;   /* -1 when killed by a signal */
    int term_signal; /* 0 unless killed by a signal */
    struct counters_values ctr;
};

struct bench_param {
    char *name;
    char *value;
};

struct bench_stats {
    struct stats_summary wall; /* over wall_s */
    double user_mean, sys_mean;
    struct stats_ci mean_ci, median_ci; /* 95 % bootstrap */
    struct stats_outliers outliers;
    uint64_t rss_max, rss_median;
    size_t failed_runs; /* exit_code != 0 or signalled */
};

/* Where a command's benchmark stands. Exports list a command as hyperfine
 * lists a benchmark (results[], CSV and table rows) only when it has runs
 * and did not fail: bench_cmd_exported(). */
enum bench_status {
    BENCH_UNFINISHED, /* not started, or stopped (Ctrl-C) before its last run */
    BENCH_DONE,       /* every run and its cleanup done */
    BENCH_FAILED,     /* a run (without -i) or a hook failed: see fail_* */
};

struct bench_cmd {
    char *name;    /* --command-name, else the expanded command */
    char *command; /* the expanded command as run */
    struct bench_param *params;
    size_t nparams;
    struct bench_run *runs;
    size_t nruns, cap;
    enum bench_status status;
    const char *fail_phase; /* BENCH_FAILED: "command", "setup", "prepare", "conclude", "cleanup" (static) */
    int fail_exit_code;     /* BENCH_FAILED: the exit code, or 128 + the signal that killed it */
    bool is_reference;      /* --reference */
    size_t output;          /* the runner output its runs write to (--output per command) */
    const volatile sig_atomic_t *stop; /* the set's, when the command was added */
    double shell_overhead_s;           /* what was subtracted from each run; 0 without a shell */
    /* Filled by bench_cmd_finalize(), dropped by bench_cmd_add_run(): the
     * bootstraps cost tens of ms on thousands of runs, and both the summary
     * and the exports need them. */
    bool stats_cached;
    struct bench_stats stats;
};

struct bench_set {
    struct bench_cmd *cmds;
    size_t ncmds;
    bool counters;                     /* runs carry hardware counters */
    const volatile sig_atomic_t *stop; /* may be NULL; set before adding commands */
};

void bench_set_init(struct bench_set *s);
void bench_set_destroy(struct bench_set *s);
/* Appends a command; copies the strings; params may be NULL. Returns its index or -ENOMEM.
 * cmds may move: keep indices, not pointers, across calls. */
int bench_set_add(struct bench_set *s, const char *name, const char *command,
                  const struct bench_param *params, size_t nparams);
int bench_cmd_add_run(struct bench_cmd *c, const struct bench_run *r);
/* c has runs and did not fail: it is a result of the exports. */
bool bench_cmd_exported(const struct bench_cmd *c);

#define BENCH_BOOTSTRAP_RESAMPLES 5000u
#define BENCH_BOOTSTRAP_SEED      0x70657266u /* fixed: reports are reproducible */
#define BENCH_BOOTSTRAP_MAX_N     10000u      /* larger samples are thinned for the bootstrap */
#define BENCH_CI_LEVEL            0.95

/* The bootstrap every statistic of perfkit bench uses, with this stop flag. */
struct stats_boot bench_boot(const volatile sig_atomic_t *stop);

/* The statistics of c: the cached ones when bench_cmd_finalize() ran since the last run. */
int bench_cmd_stats(const struct bench_cmd *c, struct bench_stats *st);
/* Computes and caches c's statistics (once its runs are complete). */
int bench_cmd_finalize(struct bench_cmd *c);

enum bench_verdict { BENCH_SAME, BENCH_FASTER, BENCH_SLOWER };

/*
 * a against b: ratio = median(a)/median(b) (and of means) with 95 %
 * bootstrap CIs, Mann-Whitney U p-value, Hodges-Lehmann shift (a - b, s).
 * verdict: SLOWER/FASTER when p < 0.05 and the median ratio is beyond
 * 1 +/- threshold; SAME otherwise.
 */
struct bench_comparison {
    double ratio_mean, ratio_median;
    struct stats_ci ratio_mean_ci, ratio_median_ci;
    struct stats_mwu mwu;
    double shift_s;
    enum bench_verdict verdict;
};
int bench_compare_samples(const double *a, size_t na, const double *b, size_t nb, double threshold,
                          struct bench_comparison *out);
/* The same, reading stop (may be NULL): PK_ESTOP once it is raised. */
int bench_compare_stop(const double *a, size_t na, const double *b, size_t nb, double threshold,
                       const volatile sig_atomic_t *stop, struct bench_comparison *out);
/* Fills a malloc'd array of the wall times of c; caller frees. */
double *bench_cmd_times(const struct bench_cmd *c);

/*
 * What the regression gate compares, per run: wall time; user + system CPU
 * time; or instructions retired (hardware counters, --counters).
 */
enum bench_metric { BENCH_METRIC_WALL, BENCH_METRIC_CPU, BENCH_METRIC_INSTRUCTIONS };
/* "wall", "cpu", "instructions" */
const char *bench_metric_name(enum bench_metric m);
/* Parses a name above; -EINVAL for anything else. */
int bench_metric_parse(const char *name, enum bench_metric *m);
/* *out: a malloc'd array of c's per-run values of m (caller frees);
 * -ENODATA when a run has no instruction count, -ENOMEM. */
int bench_cmd_values(const struct bench_cmd *c, enum bench_metric m, double **out);

#endif
