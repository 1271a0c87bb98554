/*
 * bench_args - perfkit bench's command line: options (hyperfine's, with
 * their meanings, and perfkit's own), parameter lists and scans, and the
 * benchmarks they make, in hyperfine's order.
 *
 * bench_args_parse() fills a caller-owned struct bench_args from argv (whose
 * strings it borrows); every usage error is printed there, naming the option
 * and the value, and returned as EXIT_USAGE (-1 after --help or --version,
 * which print and succeed). bench_args_commands() expands the benchmarks;
 * the caller frees them with bench_args_free_commands(). bench_args_destroy()
 * frees what parsing allocated and is safe on a zeroed struct. CLI code:
 * prints to stderr.
 */
#ifndef PK_CLI_BENCH_ARGS_H
#define PK_CLI_BENCH_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/results.h"
#include "bench/runner.h"
#include "bench/suite.h"
#include "cli/bench_out.h"

#define BENCH_ARGS_MAX_LISTS 8
#define BENCH_ARGS_MAX_ITEMS 4096

struct bench_plist {
    char *name;
    bool owns_name; /* -L copies its name; -P's is argv's */
    char **values;
    size_t n;
};

struct bench_args {
    struct suite_opts so;
    char **cmds;
    size_t ncmds;
    const char *names[BENCH_ARGS_MAX_ITEMS];
    size_t nnames;
    const char *prepares[BENCH_ARGS_MAX_ITEMS];
    size_t nprepares;
    const char *concludes[BENCH_ARGS_MAX_ITEMS];
    size_t nconcludes;
    struct runner_out outputs[BENCH_ARGS_MAX_ITEMS + 1]; /* --output, once or once per command */
    size_t noutputs;
    bool show_output;
    const char *reference, *reference_name;
    bool runs_given, min_given, max_given;
    int *ignore_codes; /* -i=CODES */
    size_t nignore_codes;
    struct bench_plist lists[BENCH_ARGS_MAX_LISTS];
    size_t nlists;
    double step;
    bool step_given;
    int step_decimals;
    /* decimals: digits after the point of LO as given; -1 for a whole number */
    struct {
        char *name;
        double lo, hi;
        int lo_decimals, hi_decimals;
    } ranges[BENCH_ARGS_MAX_LISTS];
    size_t nranges;
    struct bench_outputs out;
};

/* Zeroes a, then sets the defaults. */
void bench_args_init(struct bench_args *a);
void bench_args_destroy(struct bench_args *a);
/* 0, EXIT_USAGE / EXIT_RUNTIME (printed), or -1 after --help / --version. */
int bench_args_parse(struct bench_args *a, int argc, char **argv);
/* Commands x parameter combinations (and the reference first), with their
 * names, hooks and outputs; 0 or an exit code (printed). */
int bench_args_commands(struct bench_args *a, struct suite_command **out, size_t *nout,
                        struct bench_param **param_store);
void bench_args_free_commands(struct suite_command *cmds, size_t n, struct bench_param *params);
/* The names the commands are recorded and gated by, checked against the
 * baseline (bench_out_check_gate); 0 or an exit code. */
int bench_args_check_gate(struct bench_args *a, const struct suite_command *cmds, size_t n);

#endif
