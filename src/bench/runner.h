/*
 * runner - spawn one benchmarked command and measure that run alone.
 *
 * Each run is started with posix_spawn (vfork semantics: no page-table copy,
 * so the spawner's own size does not bleed into the timing) and reaped with
 * wait4, whose rusage covers exactly that child and the descendants it waited
 * for. Wall time is CLOCK_MONOTONIC from just before the spawn to just after
 * the reap. stdin comes from /dev/null or --input (rewound every run);
 * stdout goes to /dev/null, a pipe drained by the runner, the runner's own
 * stdout, or a file; stderr goes to a memory file so that the tail of a
 * failing run's stderr can be shown (or to the runner's stderr with
 * RUNNER_OUT_INHERIT). Not thread-safe; one runner per thread.
 */
#ifndef PK_BENCH_RUNNER_H
#define PK_BENCH_RUNNER_H

#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench/counters.h"
#include "bench/results.h"
#include "perfkit.h"

enum runner_output { RUNNER_OUT_NULL, RUNNER_OUT_PIPE, RUNNER_OUT_INHERIT, RUNNER_OUT_FILE };

struct runner_opts {
    enum runner_output output;
    const char *output_path;           /* RUNNER_OUT_FILE: truncated once, appended by every run */
    const char *input_path;            /* NULL: /dev/null */
    bool counters;                     /* hardware counters (COUNTERS_CHILDREN) */
    const volatile sig_atomic_t *stop; /* when set during a run, the run is discarded */
};

struct runner {
    struct runner_opts o;
    bool fds_set; /* runner_init set the descriptors below (-1: none); a zeroed
                                  runner has none, though its fds read 0 */
    int in_fd, out_fd, err_fd;
    bool rewind_input; /* a real file: rewound before each run */
    bool fa_ready;     /* fa is built once: glibc checks limits on every add */
    posix_spawn_file_actions_t fa;
    bool counters_on;
    struct counters ctr;
    char counters_why[256]; /* why counters are off, when asked for and refused */
};

int runner_init(struct runner *r, const struct runner_opts *o, struct pk_err *e);
/* Frees what init took; a no-op on a zeroed or destroyed runner. */
void runner_destroy(struct runner *r);

/*
 * Runs the executable at `path` (see runner_resolve) with argv once. Fills *run
 * (wall, rusage, exit code or signal, counters). Returns 0 whatever the
 * command's exit status; -errno when it could not be spawned or waited for
 * (the child is not left behind: killed and reaped, unless it is no child of
 * ours any more); PK_ESTOP when the stop flag was raised before or during the
 * run (the child is killed and reaped).
 */
int runner_run(struct runner *r, const char *path, char *const argv[], struct bench_run *run,
               struct pk_err *e);

/* The last at most cap-1 bytes the last run wrote to stderr, NUL-terminated. */
size_t runner_stderr_tail(struct runner *r, char *buf, size_t cap);

/* Finds an executable for name (a path if it contains '/', else PATH);
 * writes its path to out. -ENOENT / -EACCES with a message naming it. */
int runner_resolve(const char *name, char *out, size_t cap, struct pk_err *e);

#endif
