/* perfkit bench - benchmark commands (see docs/bench.md). */
#define _GNU_SOURCE /* getopt_long permutation, strsignal */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/cmdline.h"
#include "bench/results.h"
#include "bench/spawner.h"
#include "bench/suite.h"
#include "cli/bench_out.h"
#include "cli/cli.h"
#include "cli/term.h"
#include "core/err.h"
#include "core/files.h"
#include "core/units.h"
#include "sys/host.h"

#define MAX_LISTS 8
#define MAX_ITEMS 4096

static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
}

struct plist {
    char *name;
    bool owns_name; /* -L copies its name; -P's is argv's */
    char **values;
    size_t n;
};

struct opts {
    struct suite_opts so;
    char **cmds;
    size_t ncmds;
    const char *names[MAX_ITEMS];
    size_t nnames;
    const char *prepares[MAX_ITEMS];
    size_t nprepares;
    const char *concludes[MAX_ITEMS];
    size_t nconcludes;
    const char *reference;
    struct plist lists[MAX_LISTS];
    size_t nlists;
    double step;
    bool step_given;
    int step_decimals;
    /* decimals: digits after the point of LO as given; -1 for a whole number */
    struct {
        char *name;
        double lo, hi;
        int lo_decimals, hi_decimals;
    } ranges[MAX_LISTS];
    size_t nranges;
    struct bench_outputs out;
};

void cmd_bench_help(void)
{
    fputs("Usage: perfkit bench [options] COMMAND...\n"
          "\n"
          "Benchmark commands: every run is spawned and reaped alone and records wall time,\n"
          "user and system CPU, its own peak RSS, page faults, context switches and exit\n"
          "status. Results come with 95% confidence intervals, outlier counts, and a\n"
          "comparison of the commands (ratio, CI, Mann-Whitney p-value).\n"
          "\n"
          "Runs:\n"
          "  -w, --warmup N            runs before timing (default 0)\n"
          "  -r, --runs N              exactly N timed runs\n"
          "  -m, --min-runs N          at least N runs (default 10)\n"
          "  -M, --max-runs N          at most N runs\n"
          "      --min-time DUR        run for at least DUR, e.g. 500ms, 3s (default 3s)\n"
          "      --interleave          commands take turns run by run, so drift hits all alike\n"
          "  -i, --ignore-failure      keep going when a command exits non-zero\n"
          "Hooks (each may use {parameters}):\n"
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
          "Execution:\n"
          "  -S, --shell SH            run commands through SH -c (overhead measured and\n"
          "                            subtracted); SH may have arguments ('bash --norc');\n"
          "                            'none' is -N, 'default' is sh. Default: a command runs\n"
          "                            directly unless it uses shell syntax, then via sh.\n"
          "  -N, --shell=none          never use a shell (split words, honour quotes)\n"
          "      --output WHERE        command stdout: null (default), pipe, inherit, or a FILE\n"
          "      --input FILE          command stdin (default /dev/null)\n"
          "      --counters            hardware counters per run (cycles, instructions,\n"
          "                            branch-misses, cache-misses), where the kernel allows\n"
          "Results:\n"
          "      --export-json FILE    hyperfine's JSON schema plus perfkit's keys ('-' = stdout)\n"
          "      --export-csv FILE     CSV as hyperfine's\n"
          "      --export-markdown FILE  Markdown table with the relative column and its CI\n"
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
          "\n"
          "Exit status: 0 ok; 1 runtime failure (a command failed, unwritable file);\n"
          "2 usage error; 3 regression (--fail-on-regression); 130 interrupted (what\n"
          "was measured is still printed and exported).\n"
          "See docs/bench.md.\n",
          stdout);
}

static int parse_uint_opt(const char *text, const char *opt, uint64_t min, uint64_t max, uint64_t *out)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (units_parse_uint(text, opt, min, max, out, &e)) {
        char buf[600];
        fprintf(stderr, "perfkit bench: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return EXIT_USAGE;
    }
    return 0;
}

/* Values as hyperfine's: comma-separated; backslash-comma is a comma and two
 * backslashes are one inside a value, any other backslash stays. */
static int split_list(const char *name, const char *csv, struct plist *l)
{
    l->name = strdup(name);
    l->owns_name = l->name != NULL;
    size_t cap = 1;
    for (const char *p = csv; *p; p++)
        cap += *p == ',';
    l->values = calloc(cap, sizeof(char *));
    if (!l->name || !l->values)
        return -ENOMEM;
    const char *p = csv;
    for (;;) {
        char *v = malloc(strlen(p) + 1), *w = v;
        if (!v)
            return -ENOMEM;
        l->values[l->n++] = v;
        for (; *p && *p != ','; p++) {
            if (*p == '\\' && (p[1] == ',' || p[1] == '\\'))
                p++;
            *w++ = *p;
        }
        *w = '\0';
        if (!*p)
            break;
        p++;
    }
    return 0;
}

/* A -P bound: a decimal number, negative ones too (hyperfine takes them).
 * *decimals: the digits after its point, -1 for a whole number. */
static int parse_bound(const char *text, const char *on, double *out, int *decimals, struct pk_err *e)
{
    bool neg = text[0] == '-';
    int rc = units_parse_double(text + neg, on, out, e);
    if (rc)
        return rc;
    if (neg)
        *out = -*out;
    const char *dot = strchr(text, '.');
    *decimals = dot ? (int)strlen(dot + 1) : -1;
    return 0;
}

/* Parameter values print like hyperfine's: whole numbers when LO, HI and the
 * step are all whole; else decimals as its Decimal sums write them (LO as
 * given, then as many decimals as LO or the step has: 1, 1.5, 2.0, 2.5). */
static char *fmt_param(double v, int decimals)
{
    char buf[400];
    snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return strdup(buf);
}

static int expand_ranges(struct opts *o)
{
    for (size_t i = 0; i < o->nranges; i++) {
        double lo = o->ranges[i].lo, hi = o->ranges[i].hi, step = o->step_given ? o->step : 1.0;
        if (step <= 0)
            return cli_usage("bench", "-D/--parameter-step-size must be positive");
        if (hi < lo)
            return cli_usage("bench", "-P %s: the upper bound is below the lower bound", o->ranges[i].name);
        double count = floor((hi - lo) / step + 1e-9) + 1;
        if (!(count <= MAX_ITEMS))
            return cli_usage("bench", "-P %s: more than 4096 values", o->ranges[i].name);
        int lo_dec = o->ranges[i].lo_decimals, step_dec = o->step_given ? o->step_decimals : -1;
        bool whole = lo_dec < 0 && o->ranges[i].hi_decimals < 0 && step_dec < 0;
        int first = whole || lo_dec < 0 ? 0 : lo_dec;
        int next = whole ? 0 : (first > step_dec ? first : step_dec);
        struct plist *l = &o->lists[o->nlists++];
        l->name = o->ranges[i].name;
        l->values = calloc((size_t)count, sizeof(char *));
        if (!l->values)
            return EXIT_RUNTIME;
        for (size_t k = 0; k < (size_t)count; k++) {
            l->values[k] = fmt_param(lo + (double)k * step, k == 0 ? first : next);
            if (!l->values[k])
                return EXIT_RUNTIME;
            l->n = k + 1;
        }
    }
    /* One name, one meaning: hyperfine refuses a parameter given twice. */
    for (size_t i = 0; i < o->nlists; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(o->lists[i].name, o->lists[j].name))
                return cli_usage("bench", "parameter '%s' is given twice (-L/-P)", o->lists[i].name);
    return 0;
}

enum {
    OPT_MIN_TIME = 256,
    OPT_OUTPUT,
    OPT_INPUT,
    OPT_REFERENCE,
    OPT_EXPORT_JSON,
    OPT_EXPORT_CSV,
    OPT_EXPORT_MD,
    OPT_INTERLEAVE,
    OPT_COUNTERS,
    OPT_SAVE_BASELINE,
    OPT_BASELINE,
    OPT_THRESHOLD,
    OPT_FAIL_ON_REGRESSION,
    OPT_GATE_METRIC,
};

static const struct option longopts[] = {
    { "warmup", required_argument, NULL, 'w' },
    { "runs", required_argument, NULL, 'r' },
    { "min-runs", required_argument, NULL, 'm' },
    { "max-runs", required_argument, NULL, 'M' },
    { "min-time", required_argument, NULL, OPT_MIN_TIME },
    { "setup", required_argument, NULL, 's' },
    { "prepare", required_argument, NULL, 'p' },
    { "conclude", required_argument, NULL, 'C' },
    { "cleanup", required_argument, NULL, 'c' },
    { "parameter-list", required_argument, NULL, 'L' },
    { "parameter-scan", required_argument, NULL, 'P' },
    { "parameter-step-size", required_argument, NULL, 'D' },
    { "command-name", required_argument, NULL, 'n' },
    { "shell", required_argument, NULL, 'S' },
    { "ignore-failure", no_argument, NULL, 'i' },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "input", required_argument, NULL, OPT_INPUT },
    { "reference", required_argument, NULL, OPT_REFERENCE },
    { "export-json", required_argument, NULL, OPT_EXPORT_JSON },
    { "export-csv", required_argument, NULL, OPT_EXPORT_CSV },
    { "export-markdown", required_argument, NULL, OPT_EXPORT_MD },
    { "interleave", no_argument, NULL, OPT_INTERLEAVE },
    { "counters", no_argument, NULL, OPT_COUNTERS },
    { "save-baseline", required_argument, NULL, OPT_SAVE_BASELINE },
    { "baseline", required_argument, NULL, OPT_BASELINE },
    { "threshold", required_argument, NULL, OPT_THRESHOLD },
    { "fail-on-regression", no_argument, NULL, OPT_FAIL_ON_REGRESSION },
    { "gate-metric", required_argument, NULL, OPT_GATE_METRIC },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int parse_threshold(const char *t, double *out)
{
    struct pk_err e;
    pk_err_clear(&e);
    size_t n = strlen(t);
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return cli_usage("bench", "--threshold: invalid value '%s'", t);
    memcpy(buf, t, n + 1);
    bool pct = buf[n - 1] == '%';
    if (pct)
        buf[n - 1] = '\0';
    double v;
    if (units_parse_double(buf, "--threshold", &v, &e) || (pct ? v >= 100 : v >= 1))
        return cli_usage("bench", "--threshold: invalid value '%s' (use e.g. 2%% or 0.02)", t);
    *out = pct ? v / 100.0 : v;
    return 0;
}

/* -L NAME VALUES, -P NAME LO HI and -D STEP: the parameters of the commands. */
static int parse_param_opt(int c, int argc, char **argv, struct opts *o)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (c == 'D') {
        if (parse_bound(optarg, "--parameter-step-size", &o->step, &o->step_decimals, &e))
            return cli_usage_err("bench", &e);
        o->step_given = true;
        return 0;
    }
    if (o->nlists + o->nranges >= MAX_LISTS)
        return cli_usage("bench", "at most 8 parameters");
    if (c == 'L') {
        if (optind >= argc)
            return cli_usage("bench", "-L/--parameter-list %s: expected NAME VALUES", optarg);
        if (split_list(optarg, argv[optind], &o->lists[o->nlists++]))
            return EXIT_RUNTIME;
        optind++;
        return 0;
    }
    if (optind + 1 >= argc)
        return cli_usage("bench", "-P/--parameter-scan %s: expected NAME LO HI", optarg);
    size_t k = o->nranges++;
    o->ranges[k].name = optarg;
    if (parse_bound(argv[optind], "-P (lower bound)", &o->ranges[k].lo, &o->ranges[k].lo_decimals, &e) ||
        parse_bound(argv[optind + 1], "-P (upper bound)", &o->ranges[k].hi, &o->ranges[k].hi_decimals, &e))
        return cli_usage_err("bench", &e);
    optind += 2;
    return 0;
}

static void set_shell(const char *arg, struct suite_opts *so)
{
    if (!strcmp(arg, "none")) {
        so->shell_mode = SHELL_NEVER;
    } else if (!strcmp(arg, "default")) {
        so->shell_mode = SHELL_ALWAYS; /* hyperfine's: the platform's shell, for every command */
        so->shell = "sh";
    } else {
        so->shell_mode = SHELL_ALWAYS;
        so->shell = arg;
    }
}

static void set_output(const char *arg, struct runner_opts *ro)
{
    if (!strcmp(arg, "null")) {
        ro->output = RUNNER_OUT_NULL;
    } else if (!strcmp(arg, "pipe")) {
        ro->output = RUNNER_OUT_PIPE;
    } else if (!strcmp(arg, "inherit")) {
        ro->output = RUNNER_OUT_INHERIT;
    } else {
        ro->output = RUNNER_OUT_FILE;
        ro->output_path = arg;
    }
}

/* What the options say together. */
static int check_args(const struct opts *o)
{
    if (o->ncmds == 0)
        return cli_usage("bench", "no command to benchmark");
    if (o->so.runs && o->so.max_runs && o->so.runs > o->so.max_runs)
        return cli_usage("bench", "--runs is above --max-runs");
    if (!o->so.runs && o->so.max_runs && o->so.min_runs > o->so.max_runs)
        return cli_usage("bench", "--min-runs is above --max-runs");
    if (o->out.fail_on_regression && !o->out.baseline)
        return cli_usage("bench", "--fail-on-regression needs --baseline FILE");
    if (o->out.metric_given && !o->out.baseline)
        return cli_usage("bench", "--gate-metric needs --baseline FILE");
    if (o->step_given && o->nranges == 0)
        return cli_usage("bench", "-D/--parameter-step-size needs -P/--parameter-scan");
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    struct pk_err e;
    uint64_t u;
    int rc;
    pk_err_clear(&e);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":w:r:m:M:s:p:C:c:L:P:D:n:S:Nih", longopts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if ((rc = parse_uint_opt(optarg, "--warmup", 0, UINT_MAX, &u)))
                return rc;
            o->so.warmup = (unsigned)u;
            break;
        case 'r':
            if ((rc = parse_uint_opt(optarg, "--runs", 1, UINT64_C(1) << 40, &o->so.runs)))
                return rc;
            break;
        case 'm':
            if ((rc = parse_uint_opt(optarg, "--min-runs", 1, UINT64_C(1) << 40, &o->so.min_runs)))
                return rc;
            break;
        case 'M':
            if ((rc = parse_uint_opt(optarg, "--max-runs", 1, UINT64_C(1) << 40, &o->so.max_runs)))
                return rc;
            break;
        case OPT_MIN_TIME:
            if (units_parse_duration(optarg, "--min-time", &o->so.min_time_s, &e))
                return cli_usage_err("bench", &e);
            break;
        case 's': o->so.setup = optarg; break;
        case 'c': o->so.cleanup = optarg; break;
        case 'p':
            if (o->nprepares >= MAX_ITEMS)
                return cli_usage("bench", "too many --prepare");
            o->prepares[o->nprepares++] = optarg;
            break;
        case 'C':
            if (o->nconcludes >= MAX_ITEMS)
                return cli_usage("bench", "too many --conclude");
            o->concludes[o->nconcludes++] = optarg;
            break;
        case 'L':
        case 'P':
        case 'D':
            if ((rc = parse_param_opt(c, argc, argv, o)))
                return rc;
            break;
        case 'n':
            if (o->nnames >= MAX_ITEMS)
                return cli_usage("bench", "too many --command-name");
            o->names[o->nnames++] = optarg;
            break;
        case 'S': set_shell(optarg, &o->so); break;
        case 'N': o->so.shell_mode = SHELL_NEVER; break;
        case 'i': o->so.ignore_failure = true; break;
        case OPT_OUTPUT: set_output(optarg, &o->so.runner); break;
        case OPT_INPUT: o->so.runner.input_path = optarg; break;
        case OPT_REFERENCE: o->reference = optarg; break;
        case OPT_EXPORT_JSON: o->out.json = optarg; break;
        case OPT_EXPORT_CSV: o->out.csv = optarg; break;
        case OPT_EXPORT_MD: o->out.markdown = optarg; break;
        case OPT_INTERLEAVE: o->so.interleave = true; break;
        case OPT_COUNTERS: o->so.runner.counters = true; break;
        case OPT_SAVE_BASELINE: o->out.save_baseline = optarg; break;
        case OPT_BASELINE: o->out.baseline = optarg; break;
        case OPT_THRESHOLD:
            if ((rc = parse_threshold(optarg, &o->out.threshold)))
                return rc;
            break;
        case OPT_FAIL_ON_REGRESSION: o->out.fail_on_regression = true; break;
        case OPT_GATE_METRIC:
            if (bench_metric_parse(optarg, &o->out.metric))
                return cli_usage("bench", "--gate-metric: '%s' is not wall, cpu or instructions", optarg);
            o->out.metric_given = true;
            break;
        case 'h': cmd_bench_help(); return -1;
        case ':': return cli_usage("bench", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage("bench", "unknown option '%s'", argv[optind - 1]);
        }
    }
    o->cmds = argv + optind;
    o->ncmds = (size_t)(argc - optind);
    return check_args(o);
}

/* Which of the n --prepare (or --conclude) a benchmark gets: the one for
 * all; hyperfine's one per benchmark, the reference first; one per command,
 * the reference first or without one. bench == SIZE_MAX is the reference. */
static const char *pick_hook(const char *const *v, size_t n, size_t user, size_t benches, size_t ref,
                             size_t c, size_t bench)
{
    bool is_ref = bench == SIZE_MAX;
    if (n == 0)
        return NULL;
    if (n == 1)
        return v[0];
    if (n == benches + ref)
        return is_ref ? v[0] : v[ref + bench];
    if (n == user + ref)
        return is_ref ? v[0] : v[ref + c];
    return is_ref ? NULL : v[c]; /* n == user with a reference: it has none */
}

static int hook_count_err(const char *opt, size_t n, size_t user, size_t benches, size_t ref)
{
    char per_cmd[96], per_bench[96] = "";
    if (ref)
        snprintf(per_cmd, sizeof(per_cmd), "%zu, or %zu with --reference's first", user, user + 1);
    else
        snprintf(per_cmd, sizeof(per_cmd), "%zu", user);
    if (benches != user)
        snprintf(per_bench, sizeof(per_bench), " or once per benchmark (%zu%s)", benches + ref,
                 ref ? " with --reference's first" : "");
    fprintf(stderr,
            "perfkit bench: %s given %zu times: give it once, once per command (%s)%s\n"
            "(see 'perfkit help bench')\n",
            opt, n, per_cmd, per_bench);
    return EXIT_USAGE;
}

/* Commands x parameter combinations, in hyperfine's order: the commands vary
 * fastest, then the first parameter, the last parameter slowest. -n as
 * hyperfine's: without parameters at most one per command (the others keep
 * their command line); with parameters once for all or once per benchmark;
 * or once per command. */
static int build_commands(struct opts *o, struct suite_command **out, size_t *nout,
                          struct bench_param **param_store)
{
    size_t combos = 1;
    for (size_t i = 0; i < o->nlists; i++) {
        if (o->lists[i].n == 0)
            return cli_usage("bench", "parameter '%s' has no values", o->lists[i].name);
        combos *= o->lists[i].n;
        if (combos > MAX_ITEMS)
            return cli_usage("bench", "more than 4096 parameter combinations");
    }
    size_t user = o->ncmds, benches = user * combos, ref = o->reference ? 1 : 0;
    if (o->nlists ? o->nnames > 1 && o->nnames != benches && o->nnames != user : o->nnames > user) {
        if (!o->nlists)
            fprintf(stderr, "perfkit bench: --command-name given %zu times for %zu commands\n", o->nnames,
                    user);
        else
            fprintf(stderr,
                    "perfkit bench: --command-name given %zu times: give it once, once per "
                    "command (%zu) or once per benchmark (%zu)\n",
                    o->nnames, user, benches);
        fprintf(stderr, "(see 'perfkit help bench')\n");
        return EXIT_USAGE;
    }
    size_t np = o->nprepares, nc = o->nconcludes;
    if (np > 1 && np != benches + ref && np != user + ref && np != user)
        return hook_count_err("--prepare", np, user, benches, ref);
    if (nc > 1 && nc != benches + ref && nc != user + ref && nc != user)
        return hook_count_err("--conclude", nc, user, benches, ref);

    size_t total = ref + benches;
    size_t stride = o->nlists ? o->nlists : 1;
    struct suite_command *cmds = calloc(total, sizeof(*cmds));
    struct bench_param *params = calloc(total * stride, sizeof(*params));
    if (!cmds || !params) {
        free(cmds);
        free(params);
        return EXIT_RUNTIME;
    }
    size_t k = 0;
    if (o->reference) {
        cmds[k].command = o->reference;
        cmds[k].is_reference = true;
        cmds[k].prepare = pick_hook(o->prepares, np, user, benches, ref, 0, SIZE_MAX);
        cmds[k].conclude = pick_hook(o->concludes, nc, user, benches, ref, 0, SIZE_MAX);
        k++;
    }
    const char *names[MAX_LISTS], *values[MAX_LISTS];
    for (size_t combo = 0; combo < combos; combo++) {
        for (size_t c = 0; c < user; c++) {
            size_t b = combo * user + c;
            struct bench_param *p = params + k * stride;
            size_t rem = combo;
            for (size_t li = 0; li < o->nlists; li++) {
                p[li].name = o->lists[li].name;
                p[li].value = o->lists[li].values[rem % o->lists[li].n];
                rem /= o->lists[li].n;
                names[li] = p[li].name;
                values[li] = p[li].value;
            }
            cmds[k].command = o->cmds[c];
            cmds[k].params = o->nlists ? p : NULL;
            cmds[k].nparams = o->nlists;
            const char *name = NULL;
            if (o->nlists && o->nnames == 1)
                name = o->names[0];
            else if (o->nnames == benches)
                name = o->names[b];
            else if (o->nnames == user || c < o->nnames)
                name = o->names[c];
            if (name)
                cmds[k].name = o->nlists ? cmdline_substitute(name, names, values, o->nlists) : strdup(name);
            cmds[k].prepare = pick_hook(o->prepares, np, user, benches, ref, c, b);
            cmds[k].conclude = pick_hook(o->concludes, nc, user, benches, ref, c, b);
            k++;
        }
    }
    *out = cmds;
    *nout = total;
    *param_store = params;
    return 0;
}

/* The names the commands will be recorded and gated by: --command-name, or
 * the command line, with the parameters in either substituted. */
static int check_gate(struct opts *o, const struct suite_command *cmds, size_t n)
{
    if (!o->out.baseline)
        return 0;
    char **names = calloc(n ? n : 1, sizeof(*names));
    int rc = names ? 0 : EXIT_RUNTIME;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *pn[MAX_LISTS], *pv[MAX_LISTS];
        size_t np = cmds[i].nparams < MAX_LISTS ? cmds[i].nparams : MAX_LISTS;
        for (size_t k = 0; k < np; k++) {
            pn[k] = cmds[i].params[k].name;
            pv[k] = cmds[i].params[k].value;
        }
        names[i] = cmds[i].name ? strdup(cmds[i].name) : cmdline_substitute(cmds[i].command, pn, pv, np);
        if (!names[i])
            rc = EXIT_RUNTIME;
    }
    if (rc == 0)
        rc = bench_out_check_gate(&o->out, (const char *const *)names, n);
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    return rc;
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

static int bench(int argc, char **argv, struct spawner *spawner)
{
    struct opts o;
    memset(&o, 0, sizeof(o));
    suite_opts_default(&o.so);
    bench_outputs_init(&o.out);
    struct suite_command *cmds = NULL;
    struct bench_param *params = NULL;
    size_t ncmds = 0;
    struct bench_set set;
    bench_set_init(&set);
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        rc = rc < 0 ? EXIT_OK : rc;
        goto out;
    }
    if ((rc = expand_ranges(&o)))
        goto out;

    if ((rc = build_commands(&o, &cmds, &ncmds, &params)))
        goto out;

    o.so.runner.spawner = spawner;

    /* Everything that can fail without measuring fails now. */
    if ((rc = bench_out_precheck(&o.out)) || (rc = check_gate(&o, cmds, ncmds)))
        goto out;
    if (o.out.metric == BENCH_METRIC_INSTRUCTIONS) {
        o.so.runner.counters = true;
        o.so.counters_needed_by = "--gate-metric instructions";
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: wait4 returns at once */
    sigaction(SIGTERM, &sa, NULL);
    o.so.runner.stop = &stop_flag;

    struct live lv = {
        .set = &set, .out = &o.out, .cmds = cmds, .ncmds = ncmds, .interleave = o.so.interleave
    };
    term_init(&lv.err, stderr);
    o.so.progress = on_progress;
    o.so.planned = on_planned;
    o.so.ud = &lv;
    o.out.argc = argc;
    o.out.argv = argv;
    bench_out_environment_warnings(&o.out);

    struct suite_failure f;
    struct pk_err e;
    char why[256];
    pk_err_clear(&e);
    set.stop = &stop_flag;
    int src = suite_run(&o.so, cmds, ncmds, &set, &f, why, sizeof(why), &e);
    progress_finish(&lv.bar);
    /* The first Ctrl-C stopped the runs; what was measured is still summed
     * up and exported, and a second one stops that too. */
    if (src == PK_ESTOP)
        stop_flag = 0;
    if (o.so.runner.counters && why[0])
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

    /* Whatever happened, what was measured is shown and exported. */
    for (size_t i = 0; i < set.ncmds && !stop_flag; i++)
        if (set.cmds[i].nruns && !set.cmds[i].stats_cached)
            bench_cmd_finalize(&set.cmds[i]);
    if (stop_flag) {
        rc = bench_out_interrupted();
        goto out;
    }
    for (size_t i = lv.printed; i < set.ncmds; i++)
        if (set.cmds[i].nruns)
            bench_out_print_command(&o.out, &set, i);
    if (src == PK_ECHILD)
        bench_out_print_failure(&o.out, &set, &f, o.so.ignore_failure);
    else if (src == PK_ESTOP)
        fprintf(stderr, "perfkit bench: interrupted; results so far follow\n");
    else if (src) {
        char buf[800];
        fprintf(stderr, "perfkit bench: %s\n", pk_err_str(&e, buf, sizeof(buf)));
    }
    o.out.incomplete = src != 0;
    int orc = bench_out_finish(&o.out, &set);
    if (src == PK_ESTOP)
        rc = EXIT_INTERRUPTED;
    else if (src)
        rc = EXIT_RUNTIME;
    else
        rc = orc;
out:
    bench_set_destroy(&set);
    if (cmds) {
        for (size_t i = 0; i < ncmds; i++)
            free((char *)cmds[i].name);
    }
    free(cmds);
    free(params);
    for (size_t i = 0; i < o.nlists; i++) {
        for (size_t k = 0; k < o.lists[i].n; k++)
            free(o.lists[i].values[k]);
        free(o.lists[i].values);
        if (o.lists[i].owns_name)
            free(o.lists[i].name);
    }
    bench_outputs_destroy(&o.out);
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
