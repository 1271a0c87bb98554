/*
 * bench_out - what `perfkit bench` prints and writes: each command's summary,
 * the comparison, baseline verdicts, environment warnings and the exports.
 * CLI code: prints results to stdout, diagnostics to stderr.
 */
#ifndef PK_CLI_BENCH_OUT_H
#define PK_CLI_BENCH_OUT_H

#include <stdbool.h>

#include "bench/baseline.h"
#include "bench/export.h"
#include "bench/results.h"
#include "bench/suite.h"
#include "cli/term.h"
#include "sys/host.h"

#include <stdio.h>

/* hyperfine's --style: what is printed, with colours or not, with a progress bar or not. */
enum bench_style {
    BENCH_STYLE_AUTO,    /* colours and the bar where the stream is a terminal; basic with --output inherit */
    BENCH_STYLE_BASIC,   /* neither */
    BENCH_STYLE_FULL,    /* both, terminal or not */
    BENCH_STYLE_NOCOLOR, /* the bar, no colours */
    BENCH_STYLE_COLOR,   /* colours, no bar */
    BENCH_STYLE_NONE,    /* nothing but errors */
};

struct bench_outputs {
    const char *json, *csv, *markdown, *asciidoc, *orgmode; /* "-" is stdout */
    const char *save_baseline, *baseline;
    enum bench_style style;
    bool quiet;            /* --style none */
    bool summary_by_mean;  /* --sort: the summary's commands by mean time (hyperfine's auto) */
    bool tables_by_mean;   /* --sort: the tables' rows by mean time */
    enum export_unit unit; /* --time-unit, for what is printed and the tables */
    double threshold;
    bool fail_on_regression;
    enum bench_metric metric; /* --gate-metric */
    bool metric_given;
    struct export_gate_row *gate; /* one per command, filled by bench_out_finish */
    size_t ngate;
    bool gate_undecided; /* a command could not be compared */
    bool incomplete;     /* a command or hook failed, or interrupted: no baseline is saved */
    int argc;
    char **argv;
    FILE *fp; /* the human summary: stdout, or stderr when an export goes to stdout */
    struct term out;
    struct term err; /* diagnostics on stderr, colours as the style says */
    FILE *null_fp;   /* --style none: fp */
    struct baseline base;
    bool base_loaded;
    struct host_info host;
    bool host_known;
};

void bench_outputs_init(struct bench_outputs *b);
void bench_outputs_destroy(struct bench_outputs *b);
/* Export paths writable, baseline readable and valid: EXIT_OK or EXIT_USAGE/EXIT_RUNTIME. */
int bench_out_precheck(struct bench_outputs *b);
/* With --baseline: whether it can gate the commands named names[0..n-1]
 * (baseline_check); EXIT_OK or EXIT_USAGE with the reason printed. */
int bench_out_check_gate(struct bench_outputs *b, const char *const *names, size_t n);
/* The style on the summary's and diagnostics' terminals, and on the
 * progress bar's (t); any_inherit: a command's output goes to the terminal. */
void bench_out_style(struct bench_outputs *b, struct term *progress, bool any_inherit);
void bench_out_environment_warnings(struct bench_outputs *b);
void bench_out_print_command(struct bench_outputs *b, const struct bench_set *s, size_t i);
void bench_out_print_failure(struct bench_outputs *b, const struct bench_set *s,
                             const struct suite_failure *f, bool ignore_failure);
/* Comparison, baseline verdicts and exports; returns the exit code. When
 * s->stop is raised while they are computed, nothing more is printed or
 * written and the code is EXIT_INTERRUPTED. */
int bench_out_finish(struct bench_outputs *b, const struct bench_set *s);
/* Says that the statistics were interrupted; returns EXIT_INTERRUPTED. */
int bench_out_interrupted(void);

#endif
