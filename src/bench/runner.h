/*
 * runner - spawn one benchmarked command and measure that run alone.
 *
 * Each run is reaped with wait4, whose rusage covers exactly that child and
 * the descendants it waited for. Wall time is CLOCK_MONOTONIC from just
 * before the spawn to just after the reap. stdin comes from /dev/null or
 * --input (rewound every run); stdout goes to /dev/null, a pipe drained by
 * the runner, the runner's own stdout, or a file, chosen per job among the
 * outputs the runner was given (--output once per command); stderr goes to a
 * memory file so that the tail of a failing run's stderr can be shown (or to
 * the runner's stderr with RUNNER_OUT_INHERIT). A job may set
 * $HYPERFINE_ITERATION in the command's environment, as hyperfine does.
 *
 * How a run is spawned decides what its peak RSS (ru_maxrss) means. The
 * kernel starts a process's peak from the memory it had when it called exec:
 * with posix_spawn (vfork) that is the calling process's own peak, with
 * fork only the private pages it copied. So the default, posix_spawn from
 * the calling process, reports at least the caller's peak; fork_exec (fork,
 * then exec, a fork's cost more per run) at least the caller's private
 * pages. opts.spawner runs every job in a small process of its own
 * (bench/spawner.h), where either is small; runner_init, runner_run_job
 * and runner_destroy then talk to it, and runner_stderr_tail reads the
 * memory file it shares.
 *
 * Not thread-safe; one runner per thread.
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

/* Where a job's stdout goes. */
struct runner_out {
    enum runner_output mode;
    const char *path; /* RUNNER_OUT_FILE: truncated once by runner_init, appended by every run */
};

#define RUNNER_MAX_OUTPUTS 4097 /* one per benchmark, and the reference */

struct spawner;

struct runner_opts {
    enum runner_output output;        /* the output when noutputs == 0 */
    const char *output_path;          /* RUNNER_OUT_FILE: truncated once, appended by every run */
    const struct runner_out *outputs; /* else: job.output picks one of these */
    size_t noutputs;
    const char *input_path;            /* NULL: /dev/null */
    bool counters;                     /* hardware counters (COUNTERS_CHILDREN) */
    bool fork_exec;                    /* fork + exec instead of posix_spawn (see above) */
    struct spawner *spawner;           /* run the jobs in this process instead (see above) */
    const volatile sig_atomic_t *stop; /* when set during a run, the run is discarded */
};

/* One output, opened. */
struct runner_fd {
    enum runner_output mode;
    int fd;        /* -1: none (inherit, or pipe: a new pipe per run) */
    bool fa_ready; /* fa is built once: glibc checks limits on every add */
    posix_spawn_file_actions_t fa;
};

struct runner {
    struct runner_opts o;
    bool fds_set; /* runner_init set the descriptors below (-1: none); a zeroed
                     runner has none, though its fds read 0 */
    int in_fd, err_fd;
    struct runner_fd *outs; /* nouts of them */
    size_t nouts;
    bool rewind_input; /* a real file: rewound before each run */
    bool counters_on;
    struct counters ctr;
    char **envp; /* fork_exec: environ and $HYPERFINE_ITERATION, rebuilt per run */
    size_t envp_cap;
    char iter_env[64];
    bool remote;            /* the jobs run in o.spawner */
    char counters_why[256]; /* why counters are off, when asked for and refused */
};

/* A command to run once. */
struct runner_job {
    const char *path;      /* an executable (runner_resolve) */
    char *const *argv;     /* NULL-terminated */
    size_t output;         /* which of opts.outputs (0 when it has none) */
    const char *iteration; /* $HYPERFINE_ITERATION for this run; NULL: the environment as it is */
};

int runner_init(struct runner *r, const struct runner_opts *o, struct pk_err *e);
/* Frees what init took; a no-op on a zeroed or destroyed runner. */
void runner_destroy(struct runner *r);

/*
 * Runs the job once. Fills *run (wall, rusage, exit code or signal,
 * counters). Returns 0 whatever the command's exit status; -errno when it
 * could not be spawned or waited for (the child is not left behind: killed
 * and reaped, unless it is no child of ours any more); PK_ESTOP when the stop
 * flag was raised before or during the run (the child is killed and reaped).
 */
int runner_run_job(struct runner *r, const struct runner_job *job, struct bench_run *run, struct pk_err *e);
/* runner_run_job on output 0, with the environment as it is. */
int runner_run(struct runner *r, const char *path, char *const argv[], struct bench_run *run,
               struct pk_err *e);

/* The last at most cap-1 bytes the last run wrote to stderr, NUL-terminated. */
size_t runner_stderr_tail(struct runner *r, char *buf, size_t cap);

/* Finds an executable for name (a path if it contains '/', else PATH);
 * writes its path to out. -ENOENT / -EACCES with a message naming it. */
int runner_resolve(const char *name, char *out, size_t cap, struct pk_err *e);

#endif
