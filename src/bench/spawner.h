/*
 * spawner - a small process that runs the benchmarked commands, so that the
 * peak RSS of each run is the command's own.
 *
 * The kernel starts the peak RSS (ru_maxrss) of a process that calls exec
 * from the peak of the memory it had at that moment: with posix_spawn (vfork)
 * the spawning process's whole peak, with fork the private pages it copied.
 * A command that perfkit spawned itself would report at least perfkit's
 * resident size: 5 MiB for `true`, and hundreds once a large baseline is
 * loaded. So the runs are spawned by another process:
 *
 * - perfkit-spawner (spawner_main.c), a program of its own, statically
 *   linked where the static C library is there, started by spawner_start()
 *   with its path: it posix_spawns every run, so a run costs what it costs
 *   from perfkit, and starts from the program's own peak, about 0.6 MiB
 *   statically linked: a run's peak is its own wherever it is above that,
 *   which is every dynamically linked program's (`true` uses about 1 MiB).
 * - without it (helper NULL), a fork of the caller, which forks and execs
 *   every run (runner.h's fork_exec): a run starts from the caller's private
 *   pages at the time of spawner_start(), about 1.5 MiB for perfkit, and
 *   each run costs a fork more.
 *
 * The runner talks to it (runner_opts.spawner), one runner at a time; the
 * spawner times each run exactly as the runner does in-process (clock just
 * before the spawn, just after the reap), so only the request and the reply,
 * between runs, are added. A stop raised in the caller (Ctrl-C, or SIGTERM
 * to perfkit alone) reaches a run in progress as SIGUSR1; the spawner also
 * stops its run on SIGINT and SIGTERM, which a Ctrl-C sends to the whole
 * process group, and dies with the caller.
 *
 * Ownership: spawner_start() returns a heap object that spawner_free() ends
 * (the process included); spawner_free(NULL) does nothing. Not thread-safe.
 * The spawner_runner_* and spawner_run_job calls are runner.c's.
 */
#ifndef PK_BENCH_SPAWNER_H
#define PK_BENCH_SPAWNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bench/runner.h"
#include "perfkit.h"

struct spawner;

/* Starts the spawner: helper is the path of perfkit-spawner; NULL forks the
 * caller instead (see above): then call it before the caller's memory grows. */
int spawner_start(const char *helper, struct spawner **out, struct pk_err *e);
void spawner_free(struct spawner *sp);
/* The spawner's process id. */
pid_t spawner_pid(const struct spawner *sp);

/* The spawner process itself: serves the requests arriving on fd until the
 * caller, parent, closes its end or dies; then exits. fork_runs: fork and
 * exec each run rather than posix_spawn it (see above). */
__attribute__((noreturn)) void spawner_serve(int fd, pid_t parent, bool fork_runs);

/* runner_init() in the spawner: the outputs and the input are opened there;
 * *err_fd receives the stderr memory file it shares (-1: none). */
int spawner_runner_init(struct spawner *sp, const struct runner_opts *o, int *err_fd, bool *counters_on,
                        char *why, size_t why_len, struct pk_err *e);
/* runner_run_job() in the spawner; stop is the caller's flag. */
int spawner_run_job(struct spawner *sp, const struct runner_job *job, const volatile sig_atomic_t *stop,
                    struct bench_run *run, struct pk_err *e);
void spawner_runner_destroy(struct spawner *sp);

#endif
