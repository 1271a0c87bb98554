/*
 * harness - the in-process benchmark runner behind the pk_bench_* API of
 * include/perfkit.h, and the allocation counting it reads (alloc.c).
 *
 * What is here is for the harness's own tests and for pk_bench_main
 * (src/cli/bench_main.c), which is linked statically with libperfkit and so
 * may use these. Contract as in perfkit.h: 0 or a negative code with the
 * message in struct pk_err; nothing prints.
 */
#ifndef PK_BENCH_HARNESS_H
#define PK_BENCH_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "perfkit.h"

#define HARNESS_MAX_BATCHES      10
#define HARNESS_MAX_ITERS        1000000000ull /* Google Benchmark's kMaxIterations */
#define HARNESS_DEFAULT_MIN_TIME 0.5

/*
 * Google Benchmark's PredictNumItersNeeded(): after a run of `iters` that
 * took `elapsed` seconds, the count of the next run. Grows 10x while a run
 * takes at most a tenth of min_time, else aims at 1.4 x min_time; always by
 * at least one, never past HARNESS_MAX_ITERS.
 */
uint64_t harness_next_iters(uint64_t iters, double elapsed, double min_time);
/* Whether a calibrating run was long enough to be the first repetition. */
bool harness_run_is_final(uint64_t iters, double elapsed, double min_time);

/* The whole JSON document pk_bench_write_json() writes; caller json_decref()s. */
int harness_json(const struct pk_bench *b, json_t **out, struct pk_err *e);

/*
 * alloc - allocations made by the calling thread since it started, counted
 * by wrappers of malloc and friends (alloc.c) in the programs that link
 * them; see alloc.c for who does. Readers take two snapshots and subtract.
 * Not available in sanitizer builds (ASan owns malloc).
 */
struct alloc_counts {
    uint64_t count; /* successful allocations (malloc, calloc, realloc to a non-zero size, ...) */
    uint64_t bytes; /* bytes requested by them */
};
/*
 * The wrappers' reader, the one symbol between alloc.c and the harness:
 * exported by the program or library that holds the wrappers, referenced
 * weakly by the harness, so it is NULL where no wrappers are linked.
 */
__attribute__((visibility("default"))) void pk_alloc_snapshot(struct alloc_counts *out);
bool alloc_available(void);
/* Zeros where unavailable. Async-signal-safe, allocation-free. */
void alloc_snapshot(struct alloc_counts *out);

#endif
