/* perfkit bench - benchmark commands (see docs/bench.md): the flow from the
 * command line (bench_args) through the runs (bench/suite) to what is
 * printed and written (bench_out). */
#define _GNU_SOURCE /* strsignal */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/results.h"
#include "bench/spawner.h"
#include "bench/suite.h"
#include "cli/bench_args.h"
#include "cli/bench_out.h"
#include "cli/cli.h"
#include "cli/term.h"
#include "core/err.h"

static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void cmd_bench_help(void)
{
    fputs("Usage: perfkit bench [options] COMMAND...\n"
          "\n"
          "Benchmark commands: every run is spawned and reaped alone and records wall time,\n"
          "user and system CPU, its own peak RSS, page faults, context switches and exit\n"
          "status. Results come with 95% confidence intervals, outlier counts, and a\n"
          "comparison of the commands (ratio, CI, Mann-Whitney p-value). hyperfine's\n"
          "options work with hyperfine's meanings (docs/bench.md has the table).\n"
          "\n"
          "Runs:\n"
          "  -w, --warmup N            runs before timing (default 0)\n"
          "  -r, --runs N              exactly N timed runs (not with -m or -M)\n"
          "  -m, --min-runs N          at least N runs (default 10, or -M's N if lower)\n"
          "  -M, --max-runs N          at most N runs\n"
          "      --min-time DUR        run for at least DUR, e.g. 500ms, 3s (default 3s);\n"
          "                            --min-benchmarking-time SECS is hyperfine's\n"
          "      --interleave          commands take turns run by run, so drift hits all alike\n"
          "  -i, --ignore-failure[=CODES]  keep going when a command exits non-zero: any\n"
          "                            code, or only these (-i=1,2); 128+N for signal N\n"
          "Hooks (each may use {parameters}; timed runs see $HYPERFINE_ITERATION):\n"
          "  -s, --setup CMD           once before each command's runs\n"
          "  -p, --prepare CMD         before every run (once, once per command or once\n"
          "                            per benchmark; --reference's first)\n"
          "  -C, --conclude CMD        after every run (given as --prepare)\n"
          "  -c, --cleanup CMD         once after each command's runs\n"
          "Parameters:\n"
          "  -L, --parameter-list NAME A,B,C   run each command once per value of {NAME}\n"
          "                            ('\\,' is a comma inside a value)\n"
          "  -P, --parameter-scan NAME LO HI   values LO..HI in steps of -D (default 1)\n"
          "  -D, --parameter-step-size STEP\n"
          "  -n, --command-name NAME   name a command (at most once per command; with\n"
          "                            parameters once for all or once per benchmark;\n"
          "                            may use {NAME})\n"
          "      --reference CMD       compare every command with CMD\n"
          "      --reference-name NAME name the reference\n"
          "Execution:\n"
          "  -S, --shell SH            run commands through SH -c (overhead measured and\n"
          "                            subtracted); SH may have arguments ('bash --norc');\n"
          "                            'none' is -N, 'default' is sh. Default: a command runs\n"
          "                            directly unless it uses shell syntax, then via sh.\n"
          "  -N, --shell=none          never use a shell (split words, honour quotes)\n"
          "      --output WHERE        command stdout: null (default), pipe, inherit, or a\n"
          "                            FILE; once, or once per command or benchmark\n"
          "      --show-output         --output=inherit\n"
          "      --input WHERE         command stdin: null (default) or a FILE\n"
          "      --counters            hardware counters per run (cycles, instructions,\n"
          "                            branch-misses, cache-misses), where the kernel allows\n"
          "Output:\n"
          "      --style TYPE          auto, basic (no colours, no progress bar), full,\n"
          "                            nocolor, color, none (errors only)\n"
          "      --sort METHOD         auto (summary by mean time, tables as given),\n"
          "                            command, mean-time\n"
          "  -u, --time-unit UNIT      microsecond, millisecond or second, for the\n"
          "                            summary and the tables (not CSV or JSON)\n"
          "Results:\n"
          "      --export-json FILE    hyperfine's JSON schema plus perfkit's keys ('-' = stdout)\n"
          "      --export-csv FILE     CSV as hyperfine's\n"
          "      --export-markdown FILE, --export-asciidoc FILE, --export-orgmode FILE\n"
          "                            hyperfine's tables, the relative column with its CI\n"
          "      --save-baseline FILE  save the results (the JSON export) as a baseline;\n"
          "                            not written when a command failed or on Ctrl-C\n"
          "      --baseline FILE       compare with the same-named commands in FILE\n"
          "                            (a perfkit or hyperfine JSON export)\n"
          "      --threshold PCT       noise threshold for --baseline (default 2%)\n"
          "      --fail-on-regression  exit 3 when a command is significantly slower than\n"
          "                            its baseline beyond the threshold; exit 2 before any\n"
          "                            run when the baseline is empty or lacks a command\n"
          "      --gate-metric M       what --baseline compares, per run: wall (default),\n"
          "                            cpu (user + system time: steadier on a busy machine,\n"
          "                            for CPU-bound commands) or instructions (hardware\n"
          "                            counters, steadiest, where the kernel allows them)\n"
          "  -h, --help\n"
          "  -V, --version\n"
          "\n"
          "Exit status: 0 ok; 1 runtime failure (a command failed, unwritable file);\n"
          "2 usage error; 3 regression (--fail-on-regression); 130 interrupted (what\n"
          "was measured is still printed and exported).\n"
          "See docs/bench.md.\n",
          stdout);
}

/* ---- progress */

struct live {
    struct term err;
    struct progress bar;
    struct bench_set *set;
    struct bench_outputs *out;
    const struct suite_command *cmds;
    size_t ncmds;
    bool interleave;
    size_t printed;
};

static void on_planned(void *ud, size_t cmd, uint64_t total)
{
    (void)ud;
    (void)cmd;
    (void)total;
}

static void on_progress(void *ud, size_t cmd, const char *phase, uint64_t done, uint64_t total)
{
    struct live *lv = ud;
    char label[64];
    if (lv->interleave) {
        snprintf(label, sizeof(label), "%s, %zu commands interleaved", phase, lv->ncmds);
    } else {
        const char *name = lv->cmds[cmd].name ? lv->cmds[cmd].name : lv->set->cmds[cmd].command;
        snprintf(label, sizeof(label), "%s%zu/%zu %.36s%s", strcmp(phase, "run") ? "warmup " : "", cmd + 1,
                 lv->ncmds, name, strlen(name) > 36 ? "…" : "");
    }
    if (strcmp(lv->bar.label, label) != 0) {
        progress_finish(&lv->bar);
        progress_start(&lv->bar, &lv->err, label, total);
    }
    lv->bar.total = lv->interleave ? 0 : total;
    progress_update(&lv->bar, done);
    if (!lv->interleave && !strcmp(phase, "run") && done == total) {
        progress_finish(&lv->bar);
        lv->bar.label[0] = '\0';
        /* Stopped while computing: the summary is printed at the end. */
        if (bench_cmd_finalize(&lv->set->cmds[cmd]) == 0 && lv->printed == cmd) {
            bench_out_print_command(lv->out, lv->set, cmd);
            lv->printed = cmd + 1;
        }
    }
}

/* Options, benchmarks, and everything that can fail before a run: 0 or an
 * exit code (-1: --help or --version done). */
static int prepare(struct bench_args *a, int argc, char **argv, struct suite_command **cmds, size_t *ncmds,
                   struct bench_param **params)
{
    int rc;
    if ((rc = bench_args_parse(a, argc, argv)) || (rc = bench_args_commands(a, cmds, ncmds, params)) ||
        (rc = bench_out_precheck(&a->out)) || (rc = bench_args_check_gate(a, *cmds, *ncmds)))
        return rc;
    if (a->out.metric == BENCH_METRIC_INSTRUCTIONS) {
        a->so.runner.counters = true;
        a->so.counters_needed_by = "--gate-metric instructions";
    }
    a->out.argc = argc;
    a->out.argv = argv;
    return 0;
}

/* After the runs: whatever happened, what was measured is shown and
 * exported; the exit code. */
static int report(struct bench_args *a, struct bench_set *set, struct live *lv, int src,
                  const struct suite_failure *f, const struct pk_err *e)
{
    for (size_t i = 0; i < set->ncmds && !stop_flag; i++)
        if (set->cmds[i].nruns && !set->cmds[i].stats_cached)
            bench_cmd_finalize(&set->cmds[i]);
    if (stop_flag)
        return bench_out_interrupted();
    for (size_t i = lv->printed; i < set->ncmds; i++)
        if (set->cmds[i].nruns)
            bench_out_print_command(&a->out, set, i);
    if (src == PK_ECHILD) {
        bench_out_print_failure(&a->out, set, f, a->so.ignore_failure);
    } else if (src == PK_ESTOP) {
        fprintf(stderr, "perfkit bench: interrupted; results so far follow\n");
    } else if (src) {
        char buf[800];
        fprintf(stderr, "perfkit bench: %s\n", pk_err_str(e, buf, sizeof(buf)));
    }
    a->out.incomplete = src != 0;
    int orc = bench_out_finish(&a->out, set);
    if (src == PK_ESTOP)
        return EXIT_INTERRUPTED;
    return src ? EXIT_RUNTIME : orc;
}

static bool any_inherit(const struct bench_args *a)
{
    for (size_t i = 0; i < a->noutputs; i++)
        if (a->outputs[i].mode == RUNNER_OUT_INHERIT)
            return true;
    return false;
}

static int bench(int argc, char **argv, struct spawner *spawner)
{
    struct bench_args a;
    bench_args_init(&a);
    struct suite_command *cmds = NULL;
    struct bench_param *params = NULL;
    size_t ncmds = 0;
    struct bench_set set;
    bench_set_init(&set);
    int rc = prepare(&a, argc, argv, &cmds, &ncmds, &params);
    if (rc) {
        rc = rc < 0 ? EXIT_OK : rc;
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: waits return at once */
    sigaction(SIGTERM, &sa, NULL);
    a.so.runner.stop = &stop_flag;
    a.so.runner.spawner = spawner;

    struct live lv = {
        .set = &set, .out = &a.out, .cmds = cmds, .ncmds = ncmds, .interleave = a.so.interleave
    };
    term_init(&lv.err, stderr);
    bench_out_style(&a.out, &lv.err, any_inherit(&a));
    a.so.progress = on_progress;
    a.so.planned = on_planned;
    a.so.ud = &lv;
    bench_out_environment_warnings(&a.out);

    struct suite_failure f;
    struct pk_err e;
    char why[256];
    pk_err_clear(&e);
    set.stop = &stop_flag;
    int src = suite_run(&a.so, cmds, ncmds, &set, &f, why, sizeof(why), &e);
    progress_finish(&lv.bar);
    /* The first Ctrl-C stopped the runs; what was measured is still summed
     * up and exported, and a second one stops that too. */
    if (src == PK_ESTOP)
        stop_flag = 0;
    if (a.so.runner.counters && why[0] && !a.out.quiet)
        fprintf(stderr, "perfkit bench: hardware counters unavailable: %s\n", why);
    if (set.ncmds == 0) {
        /* Stopped while checking the commands, hooks, shell, --input and
         * --output: nothing ran, so nothing is printed or written (an
         * export or a saved baseline is left as it was). */
        char buf[800];
        fprintf(stderr, "perfkit bench: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        rc = src == -ENOMEM || src == -EMFILE || src == -ENFILE ? EXIT_RUNTIME : EXIT_USAGE;
        goto out;
    }
    rc = report(&a, &set, &lv, src, &f, &e);
out:
    bench_set_destroy(&set);
    bench_args_free_commands(cmds, ncmds, params);
    bench_args_destroy(&a);
    return rc;
}

#ifndef PK_SPAWNER_FROM_BIN
#define PK_SPAWNER_FROM_BIN "../libexec/perfkit"
#endif

/* perfkit-spawner: beside the perfkit binary (a build tree), or where an
 * installed tree puts it, PK_SPAWNER_FROM_BIN from perfkit's directory.
 * Writes its path to out; false when it is in neither. */
static bool find_spawner(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    static const char *const where[] = { "", "/" PK_SPAWNER_FROM_BIN };
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        int w = snprintf(out, cap, "%s%s/perfkit-spawner", exe, where[i]);
        if (w > 0 && (size_t)w < cap && access(out, X_OK) == 0)
            return true;
    }
    return false;
}

int cmd_bench(int argc, char **argv)
{
    /* The runs are spawned from perfkit-spawner, a small program of its own,
     * so that each run's peak RSS is its own (bench/spawner.h). Without it,
     * from a copy of perfkit forked first thing, while perfkit is smallest:
     * before the options' tables are filled and a baseline is loaded. */
    struct spawner *spawner = NULL;
    struct pk_err e;
    pk_err_clear(&e);
    char helper[PATH_MAX];
    bool found = find_spawner(helper, sizeof(helper));
    if (spawner_start(found ? helper : NULL, &spawner, &e)) {
        char buf[800];
        fprintf(stderr, "perfkit bench: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return EXIT_RUNTIME;
    }
    if (!found)
        fprintf(stderr,
                "perfkit bench: note: perfkit-spawner is not installed beside perfkit or in "
                "%s/ from it: runs are spawned from a copy of perfkit, and a run's peak RSS reads "
                "at least about 1.5 MiB\n",
                PK_SPAWNER_FROM_BIN);
    int rc = bench(argc, argv, spawner);
    spawner_free(spawner);
    return rc;
}
