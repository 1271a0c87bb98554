/*
 * suite - the schedule of a command benchmark: which run of which command
 * happens when, with warmups, setup/prepare/conclude/cleanup, the number of
 * runs, interleaving and the shell's spawn overhead.
 *
 * Run count (as hyperfine): a fixed --runs N, or after the first timed run
 * ceil(min_time / its wall time), clamped to [min_runs, max_runs]; that wall
 * time is the run's whole, before the shell's cost is subtracted.
 * Shells: SHELL_AUTO runs a command directly (split by cmdline_split) unless
 * cmdline_needs_shell() says it needs a shell; SHELL_ALWAYS always uses
 * `shell -c` (shell is split into words: "bash --norc"); SHELL_NEVER never does. Whenever a command goes through a shell,
 * the shell's own spawn cost (median wall, user and sys of `shell -c ''`) is
 * measured once and subtracted from each run, floored at 0.
 * With interleave, commands take turns run by run (setup of all first,
 * cleanup of all last) so slow drift of the machine hits all of them alike.
 * As hyperfine, a timed run sees $HYPERFINE_ITERATION = its index (0, 1, ...)
 * and a warm-up "warmup-<index>"; hooks see the environment as it is.
 * The suite fills a caller-owned bench_set; on PK_ESTOP or PK_ECHILD what was
 * measured so far stays in it. Progress is reported through a callback.
 */
#ifndef PK_BENCH_SUITE_H
#define PK_BENCH_SUITE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/results.h"
#include "bench/runner.h"

enum suite_shell { SHELL_AUTO, SHELL_ALWAYS, SHELL_NEVER };

struct suite_command {
    const char *name;    /* NULL: the command itself */
    const char *command; /* after parameter substitution */
    const struct bench_param *params;
    size_t nparams;
    bool is_reference;
    const char *prepare;  /* NULL: suite_opts.prepare */
    const char *conclude; /* NULL: suite_opts.conclude */
    size_t output;        /* which of runner.outputs its runs and hooks write to */
};

struct suite_opts {
    unsigned warmup;
    uint64_t runs;                                    /* 0: decided by min_time, min_runs, max_runs */
    uint64_t min_runs;                                /* default 10 */
    uint64_t max_runs;                                /* 0: no limit */
    double min_time_s;                                /* default 3 */
    const char *setup, *prepare, *conclude, *cleanup; /* NULL: none */
    enum suite_shell shell_mode;
    const char *shell;       /* default "sh"; a command line, split as cmdline_split */
    bool ignore_failure;     /* a run that fails is kept; with ignore_codes, only these exit codes */
    const int *ignore_codes; /* exit codes, 128 + a signal for a run it killed (as hyperfine) */
    size_t nignore_codes;
    bool interleave;
    struct runner_opts runner;
    const char
        *counters_needed_by; /* runner.counters is required by this option: refused counters fail the run */
    /* Called after every run, timed or not. phase: "warmup" or "run". */
    void (*progress)(void *ud, size_t cmd, const char *phase, uint64_t done, uint64_t total);
    /* Called once a command's run count is known (and once per command with interleave). */
    void (*planned)(void *ud, size_t cmd, uint64_t total);
    void *ud;
};

void suite_opts_default(struct suite_opts *o);

/* What failed, when a run or a hook failed. */
struct suite_failure {
    size_t cmd;
    const char *phase; /* "command", "setup", "prepare", "conclude", "cleanup" */
    char command[512];
    int exit_code;
    int term_signal;
    char stderr_tail[2048];
};

/*
 * Checks every command and hook can be run (executables exist) before any
 * timing, then runs the schedule. Returns 0, PK_ECHILD (see *f), PK_ESTOP,
 * or another negative code with e filled. r->counters_why says why hardware
 * counters were refused, when asked for.
 */
int suite_run(const struct suite_opts *o, const struct suite_command *cmds, size_t ncmds,
              struct bench_set *set, struct suite_failure *f, char *counters_why, size_t why_len,
              struct pk_err *e);

#endif
