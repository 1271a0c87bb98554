/*
 * perfkit.h - the public C API of libperfkit.
 *
 * libperfkit benchmarks C functions in-process: run a named function for a
 * fixed or auto-calibrated number of iterations, with repetitions, and get
 * time per iteration with its statistics, CPU time, peak-RSS growth,
 * allocations and (where the kernel allows) hardware counters; write the
 * results as Google Benchmark-compatible JSON with an analysis block.
 *
 * Contract: functions return 0 on success and a negative errno or a PK_E*
 * code on failure, with a human message in the caller's struct pk_err.
 * The library never prints and never exits. Objects returned by *_new are
 * freed with the matching *_free. Nothing here is thread-safe on a shared
 * object unless said; distinct objects may be used from distinct threads.
 */
#ifndef PERFKIT_H
#define PERFKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PK_API __attribute__((visibility("default")))
#else
#define PK_API
#endif

#define PK_VERSION_MAJOR 0
#define PK_VERSION_MINOR 1
#define PK_VERSION_PATCH 0

/* Project error codes, past the errno range (errno values are < 4096). */
enum {
    PK_EPARSE = -10001,  /* malformed input (text, JSON, option value) */
    PK_EUSAGE = -10002,  /* invalid combination of options or arguments */
    PK_ECHILD = -10003,  /* a benchmarked command failed (non-zero exit, signal) */
    PK_ESTOP = -10004,   /* stopped by the caller's stop flag (Ctrl-C) */
    PK_ENOTSUP = -10005, /* not available here (kernel, permissions, build) */
};

/*
 * What failed, on what, and why. Filled by a failing call; untouched on
 * success. pk_err_str() renders "on: what: why", leaving out empty parts,
 * e.g. "--min-time: invalid duration '5x': unknown unit 'x'".
 */
struct pk_err {
    int code;
    char what[160];
    char on[256];
    char why[256];
};

PK_API void pk_err_clear(struct pk_err *e);
PK_API const char *pk_err_str(const struct pk_err *e, char *buf, size_t len);
PK_API const char *pk_version(void);

/* ---- in-process benchmarks (see docs/libperfkit.md) ------------------- */
/* PK_HARNESS_API: declarations of the harness follow (bench/harness.h). */

/*
 * Two ways to write a benchmark:
 *
 *  1. A function called once per iteration (simple, one indirect call of
 *     overhead per iteration, a nanosecond or two):
 *         static void my_function(void *arg) { pk_do_not_optimize(*(int *)arg * 2); }
 *         pk_bench_run(b, "My Function", my_function, &x, 1000, &r, &e);
 *
 *  2. A function that runs its own timed loop (no per-iteration overhead:
 *     PK_LOOP is a plain counted loop), with set-up outside the loop:
 *         static void BM_memcpy(struct pk_state *st)
 *         {
 *             char src[4096] = {1}, dst[4096];
 *             PK_LOOP(st) {
 *                 memcpy(dst, src, sizeof(src));
 *                 pk_clobber_memory();
 *             }
 *         }
 *         PK_BENCHMARK(BM_memcpy);
 *     Registered functions are run by pk_bench_main() (libperfkit_main), or
 *     by hand through pk_benchmarks() and pk_bench_run_loop().
 *
 * Measuring: iterations == 0 calibrates the count as Google Benchmark does
 * (1, then grow until one run lasts opts.min_time); the count found is
 * reused for every later repetition. Each repetition is timed as up to 10
 * equal batches, so even one repetition gives a distribution of time per
 * iteration. Allocation counts, CPU time and hardware counters are those of
 * the calling thread; RSS is the process's peak. See docs/libperfkit.md.
 *
 * Threads: a struct pk_bench is used by one thread at a time; the function
 * benchmarked runs on the caller's thread.
 */

/* Keep the compiler from discarding a value or the computation that made it
 * (Google Benchmark's DoNotOptimize): an empty asm that reads x. The "memory"
 * clobber also makes pending stores happen. x is evaluated once. */
#define pk_do_not_optimize(x) __asm__ __volatile__("" : : "r,m"(x) : "memory")

/* Make every store so far count as observed (Google Benchmark's ClobberMemory). */
static inline void pk_clobber_memory(void)
{
    __asm__ __volatile__("" : : : "memory");
}

/* Hardware counters, reported per iteration when enabled and available. */
enum {
    PK_COUNTER_CYCLES,
    PK_COUNTER_INSTRUCTIONS,
    PK_COUNTER_BRANCH_MISSES,
    PK_COUNTER_CACHE_MISSES,
    PK_COUNTER_N
};
/* "cycles", "instructions", "branch-misses", "cache-misses" (also the JSON keys). */
PK_API const char *pk_counter_name(int i);

struct pk_bench_opts {
    double min_time;      /* seconds a calibrating run must reach; <= 0: 0.5 */
    unsigned repetitions; /* timed repetitions of each benchmark; 0: 1 */
    int counters;         /* non-zero: hardware counters of the calling thread */
    uint64_t seed;        /* seed of the bootstrap CI; 0: a fixed default */
};
/* Fills the defaults (min_time 0.5 s, 1 repetition, no counters). */
PK_API void pk_bench_opts_init(struct pk_bench_opts *opts);

/* One repetition of a result. Per-iteration figures are totals over the
 * repetition's timed stretches divided by its iteration count. */
struct pk_rep {
    double real_ns;           /* wall-clock time (CLOCK_MONOTONIC) per iteration */
    double cpu_ns;            /* CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID) per iteration */
    double allocs;            /* allocations per iteration; -1: not counted in this build */
    double alloc_bytes;       /* bytes requested per iteration; -1: not counted */
    int64_t rss_growth_bytes; /* growth of the process's peak RSS during the repetition
                                (the first repetition includes the calibration runs) */
    double counters[PK_COUNTER_N]; /* per iteration, where the result's counter_valid[i] */
};

/* The outcome of one benchmark; owned by its struct pk_bench. */
struct pk_result {
    const char *name;    /* as run: "My Function", "BM_hash/64" */
    uint64_t iterations; /* per repetition (calibrated or as asked) */
    unsigned repetitions;
    /* Real time per iteration over the samples, one sample per timed batch
     * (up to 10 per repetition): */
    size_t nsamples;
    const double *samples_ns; /* nsamples values, in the order measured */
    double mean_ns;
    double median_ns;
    double stddev_ns;                /* sample standard deviation; 0 with one sample */
    double ci_lo_ns, ci_hi_ns;       /* 95% percentile-bootstrap CI of the mean */
    double real_ns;                  /* total real time / total iterations over all repetitions */
    double cpu_ns;                   /* total thread CPU time / total iterations */
    double cpu_util;                 /* cpu_ns / real_ns: 1 for CPU-bound code, ~0 when it sleeps */
    double allocs_per_iter;          /* over all repetitions; -1 where not counted (sanitizer builds) */
    double alloc_bytes_per_iter;     /* bytes requested; -1 where not counted */
    int64_t rss_growth_bytes;        /* peak RSS (getrusage ru_maxrss) after the benchmark minus before */
    double bytes_per_second;         /* from pk_state_set_bytes(); 0 when not set */
    int counters_enabled;            /* opts.counters was set */
    int counter_valid[PK_COUNTER_N]; /* the kernel counted it */
    double counters[PK_COUNTER_N];   /* per iteration, over all repetitions */
    const struct pk_rep *reps;       /* repetitions entries */
};

struct pk_bench;
struct pk_state;

/* NULL opts: defaults. NULL when out of memory. Free with pk_bench_free(). */
PK_API struct pk_bench *pk_bench_new(const struct pk_bench_opts *opts);
PK_API void pk_bench_free(struct pk_bench *b);

/*
 * Runs fn(arg) `iterations` times per repetition (0: calibrate) and keeps
 * the result in b; *out (if not NULL) points at it until pk_bench_free().
 * Fails with -EINVAL on bad arguments and -ENOMEM; a failed run keeps nothing.
 */
PK_API int pk_bench_run(struct pk_bench *b, const char *name, void (*fn)(void *arg), void *arg,
                        uint64_t iterations, const struct pk_result **out, struct pk_err *e);

/*
 * Runs a PK_LOOP-style function: fn is called once per run (calibration
 * runs and repetitions) and must go through PK_LOOP(st) exactly once.
 * pk_state_arg() returns arg. The part of the name before the first '/' is
 * the family (Google Benchmark's "BM_hash/64" is an instance of "BM_hash").
 * -ECANCELED when fn called pk_state_skip(), with its reason; PK_EUSAGE
 * when fn did not run PK_LOOP or left it with break/return/goto.
 */
PK_API int pk_bench_run_loop(struct pk_bench *b, const char *name, void (*fn)(struct pk_state *st),
                             int64_t arg, uint64_t iterations, const struct pk_result **out,
                             struct pk_err *e);

PK_API size_t pk_bench_count(const struct pk_bench *b);
/* The i-th result in run order; NULL past the end. */
PK_API const struct pk_result *pk_bench_result(const struct pk_bench *b, size_t i);

/* Whether hardware counters work here: 0, or PK_ENOTSUP with the reason
 * (perf_event_paranoid, no PMU, a container). Opens them if not yet open. */
PK_API int pk_bench_counters(struct pk_bench *b, struct pk_err *e);

/*
 * The guide's analysis over results, on mean time per iteration: the
 * slowest, each one's share of the sum, and bottlenecks, the results above
 * twice the mean over all results. (With fewer than three results nothing
 * can exceed twice the mean.) pk_analysis_destroy() frees `entries`.
 */
struct pk_analysis_entry {
    double share;   /* mean_ns / sum of all mean_ns, in [0, 1] */
    int bottleneck; /* mean_ns > threshold_ns */
};
struct pk_analysis {
    size_t n;
    size_t slowest;      /* index of the highest mean_ns (the first of equals) */
    double mean_ns;      /* mean over the results of their mean_ns */
    double threshold_ns; /* 2 * mean_ns */
    size_t nbottlenecks;
    struct pk_analysis_entry *entries; /* n entries, parallel to the results */
};
PK_API int pk_analyze(const struct pk_result *const *results, size_t n, struct pk_analysis *a,
                      struct pk_err *e);
PK_API int pk_bench_analyze(const struct pk_bench *b, struct pk_analysis *a, struct pk_err *e);
PK_API void pk_analysis_destroy(struct pk_analysis *a);

/* Writes every result as Google Benchmark JSON (context, benchmarks[]) plus
 * an "analysis" block, atomically. */
PK_API int pk_bench_write_json(const struct pk_bench *b, const char *path, struct pk_err *e);

/* ---- inside a PK_LOOP-style function */

/* The registered argument (PK_BENCHMARK_ARGS), or pk_bench_run_loop's arg. */
PK_API int64_t pk_state_arg(const struct pk_state *st);
/* Iterations this run will make (useful to size set-up). */
PK_API uint64_t pk_state_iterations(const struct pk_state *st);
/* Stop and restart the clocks (and allocation and counter counting) inside
 * the loop; each pair costs a few hundred nanoseconds of clock reads. */
PK_API void pk_state_pause(struct pk_state *st);
PK_API void pk_state_resume(struct pk_state *st);
/* Bytes each iteration processes, for a bytes_per_second figure. */
PK_API void pk_state_set_bytes(struct pk_state *st, uint64_t bytes_per_iteration);
/* Give up (set-up failed): called before PK_LOOP, the loop runs no
 * iteration; the run fails with -ECANCELED and this reason. */
PK_API void pk_state_skip(struct pk_state *st, const char *why);

/* What PK_LOOP expands to; not for direct use. Each returns the size of the
 * next timed batch, 0 when the run is over. */
PK_API uint64_t pk_state_loop_begin(struct pk_state *st);
PK_API uint64_t pk_state_loop_next(struct pk_state *st, uint64_t left);

/*
 * PK_LOOP(st) { body } runs body pk_state_iterations(st) times. The inner
 * loop is a plain down-counter in a register; the clocks are read only
 * between batches. Do not leave it with break, return or goto (the run then
 * fails); `continue` is fine.
 */
#define PK_LOOP(st)                                                      \
    for (uint64_t pk_loop_n_ = pk_state_loop_begin(st); pk_loop_n_ != 0; \
         pk_loop_n_ = pk_state_loop_next((st), pk_loop_n_))              \
        for (; pk_loop_n_ != 0; --pk_loop_n_)

/* ---- registration, without a mutable registry: each PK_BENCHMARK puts a
 * const entry in the ELF section "pk_benchmarks" of the program, and the
 * linker's __start_/__stop_ symbols bound the array. */
struct pk_benchmark {
    const char *name; /* the function's name */
    void (*fn)(struct pk_state *st);
    const int64_t *args; /* nargs instances "name/arg"; NULL: one, "name" */
    size_t nargs;
    const char *file; /* where it was registered, to list in source order */
    long line;
};

#if defined(__has_attribute)
#if __has_attribute(retain)
#define PK_RETAIN_ retain,
#endif
#endif
#ifndef PK_RETAIN_
#define PK_RETAIN_
#endif
/* aligned(8) keeps the compiler from padding entries to 32 bytes (which it
 * may do for larger objects) and so breaking the array. */
#define PK_ENTRY_ATTRS_ __attribute__((used, PK_RETAIN_ section("pk_benchmarks"), aligned(8)))
#define PK_CAT2_(a, b)  a##b
#define PK_CAT_(a, b)   PK_CAT2_(a, b)

#define PK_BENCHMARK(fn)                                              \
    static const struct pk_benchmark PK_CAT_(pk_bm_##fn##_, __LINE__) \
        PK_ENTRY_ATTRS_ = { #fn, fn, NULL, 0, __FILE__, __LINE__ }

/* PK_BENCHMARK_ARGS(BM_hash, 64, 1024): instances "BM_hash/64", "BM_hash/1024". */
#define PK_BENCHMARK_ARGS(fn, ...)                                                        \
    static const int64_t PK_CAT_(pk_args_##fn##_, __LINE__)[] = { __VA_ARGS__ };          \
    static const struct pk_benchmark PK_CAT_(pk_bm_##fn##_, __LINE__)                     \
        PK_ENTRY_ATTRS_ = { #fn,                                                          \
                            fn,                                                           \
                            PK_CAT_(pk_args_##fn##_, __LINE__),                           \
                            sizeof(PK_CAT_(pk_args_##fn##_, __LINE__)) / sizeof(int64_t), \
                            __FILE__,                                                     \
                            __LINE__ }

/* Hidden and weak: they bind inside the module (program or shared object)
 * that includes this header, and are NULL when it registers nothing. */
extern const struct pk_benchmark __start_pk_benchmarks[] __attribute__((weak, visibility("hidden")));
extern const struct pk_benchmark __stop_pk_benchmarks[] __attribute__((weak, visibility("hidden")));

/* The benchmarks registered in the calling module, in link order: returns
 * the first and sets *n. */
static inline const struct pk_benchmark *pk_benchmarks(size_t *n)
{
    const struct pk_benchmark *first = __start_pk_benchmarks, *last = __stop_pk_benchmarks;
    *n = first && last > first ? (size_t)(last - first) : 0;
    return first;
}

/*
 * Runs the benchmarks registered in the program with command-line options
 * (--filter, --min-time, --repetitions, --iterations, --json, --list,
 * --counters, --help) and prints a table and the analysis; returns the
 * exit status (0, 1 a benchmark failed, 2 usage). In libperfkit_main.
 *     int main(int argc, char **argv) { return pk_bench_main(argc, argv); }
 */
PK_API int pk_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* PERFKIT_H */
