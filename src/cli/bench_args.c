/* perfkit bench's command line (see bench_args.h and docs/bench.md). */
#define _GNU_SOURCE /* getopt_long permutation */
#include "cli/bench_args.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cmdline.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/units.h"
#include "perfkit.h"

void bench_args_init(struct bench_args *a)
{
    memset(a, 0, sizeof(*a));
    suite_opts_default(&a->so);
    bench_outputs_init(&a->out);
}

void bench_args_destroy(struct bench_args *a)
{
    for (size_t i = 0; i < a->nlists; i++) {
        for (size_t k = 0; k < a->lists[i].n; k++)
            free(a->lists[i].values[k]);
        free(a->lists[i].values);
        if (a->lists[i].owns_name)
            free(a->lists[i].name);
    }
    a->nlists = 0;
    free(a->ignore_codes);
    a->ignore_codes = NULL;
    bench_outputs_destroy(&a->out);
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
static int split_list(const char *name, const char *csv, struct bench_plist *l)
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

static int expand_ranges(struct bench_args *o)
{
    for (size_t i = 0; i < o->nranges; i++) {
        double lo = o->ranges[i].lo, hi = o->ranges[i].hi, step = o->step_given ? o->step : 1.0;
        if (step <= 0)
            return cli_usage("bench", "-D/--parameter-step-size must be positive");
        if (hi < lo)
            return cli_usage("bench", "-P %s: the upper bound is below the lower bound", o->ranges[i].name);
        double count = floor((hi - lo) / step + 1e-9) + 1;
        if (!(count <= BENCH_ARGS_MAX_ITEMS))
            return cli_usage("bench", "-P %s: more than 4096 values", o->ranges[i].name);
        int lo_dec = o->ranges[i].lo_decimals, step_dec = o->step_given ? o->step_decimals : -1;
        bool whole = lo_dec < 0 && o->ranges[i].hi_decimals < 0 && step_dec < 0;
        int first = whole || lo_dec < 0 ? 0 : lo_dec;
        int next = whole ? 0 : (first > step_dec ? first : step_dec);
        struct bench_plist *l = &o->lists[o->nlists++];
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
static int parse_param_opt(int c, int argc, char **argv, struct bench_args *o)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (c == 'D') {
        if (parse_bound(optarg, "--parameter-step-size", &o->step, &o->step_decimals, &e))
            return cli_usage_err("bench", &e);
        o->step_given = true;
        return 0;
    }
    if (o->nlists + o->nranges >= BENCH_ARGS_MAX_LISTS)
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

enum {
    OPT_MIN_TIME = 256,
    OPT_OUTPUT,
    OPT_INPUT,
    OPT_REFERENCE,
    OPT_REFERENCE_NAME,
    OPT_EXPORT_JSON,
    OPT_EXPORT_CSV,
    OPT_EXPORT_MD,
    OPT_EXPORT_ASCIIDOC,
    OPT_EXPORT_ORGMODE,
    OPT_INTERLEAVE,
    OPT_COUNTERS,
    OPT_SAVE_BASELINE,
    OPT_BASELINE,
    OPT_THRESHOLD,
    OPT_FAIL_ON_REGRESSION,
    OPT_GATE_METRIC,
    OPT_STYLE,
    OPT_SORT,
    OPT_SHOW_OUTPUT,
    OPT_MIN_BENCHMARKING_TIME,
    OPT_DEBUG_MODE,
};

/* hyperfine 1.20's options (docs/bench.md has the table), then perfkit's. */
static const struct option longopts[] = {
    { "warmup", required_argument, NULL, 'w' },
    { "runs", required_argument, NULL, 'r' },
    { "min-runs", required_argument, NULL, 'm' },
    { "max-runs", required_argument, NULL, 'M' },
    { "setup", required_argument, NULL, 's' },
    { "reference", required_argument, NULL, OPT_REFERENCE },
    { "reference-name", required_argument, NULL, OPT_REFERENCE_NAME },
    { "prepare", required_argument, NULL, 'p' },
    { "conclude", required_argument, NULL, 'C' },
    { "cleanup", required_argument, NULL, 'c' },
    { "parameter-scan", required_argument, NULL, 'P' },
    { "parameter-step-size", required_argument, NULL, 'D' },
    { "parameter-list", required_argument, NULL, 'L' },
    { "shell", required_argument, NULL, 'S' },
    { "ignore-failure", optional_argument, NULL, 'i' },
    { "style", required_argument, NULL, OPT_STYLE },
    { "sort", required_argument, NULL, OPT_SORT },
    { "time-unit", required_argument, NULL, 'u' },
    { "export-asciidoc", required_argument, NULL, OPT_EXPORT_ASCIIDOC },
    { "export-csv", required_argument, NULL, OPT_EXPORT_CSV },
    { "export-json", required_argument, NULL, OPT_EXPORT_JSON },
    { "export-markdown", required_argument, NULL, OPT_EXPORT_MD },
    { "export-orgmode", required_argument, NULL, OPT_EXPORT_ORGMODE },
    { "show-output", no_argument, NULL, OPT_SHOW_OUTPUT },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "input", required_argument, NULL, OPT_INPUT },
    { "command-name", required_argument, NULL, 'n' },
    { "min-benchmarking-time", required_argument, NULL, OPT_MIN_BENCHMARKING_TIME },
    { "debug-mode", no_argument, NULL, OPT_DEBUG_MODE },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { "min-time", required_argument, NULL, OPT_MIN_TIME },
    { "interleave", no_argument, NULL, OPT_INTERLEAVE },
    { "counters", no_argument, NULL, OPT_COUNTERS },
    { "save-baseline", required_argument, NULL, OPT_SAVE_BASELINE },
    { "baseline", required_argument, NULL, OPT_BASELINE },
    { "threshold", required_argument, NULL, OPT_THRESHOLD },
    { "fail-on-regression", no_argument, NULL, OPT_FAIL_ON_REGRESSION },
    { "gate-metric", required_argument, NULL, OPT_GATE_METRIC },
    { NULL, 0, NULL, 0 },
};
#define SHORTOPTS ":w:r:m:M:s:p:C:c:L:P:D:n:S:Ni::u:hV"

static int add_output(struct bench_args *a, const char *arg)
{
    if (a->noutputs > BENCH_ARGS_MAX_ITEMS)
        return cli_usage("bench", "too many --output");
    struct runner_out *o = &a->outputs[a->noutputs++];
    if (!strcmp(arg, "null")) {
        o->mode = RUNNER_OUT_NULL;
    } else if (!strcmp(arg, "pipe")) {
        o->mode = RUNNER_OUT_PIPE;
    } else if (!strcmp(arg, "inherit")) {
        o->mode = RUNNER_OUT_INHERIT;
    } else {
        o->mode = RUNNER_OUT_FILE;
        o->path = arg;
    }
    return 0;
}

/* -i, -i=MODE, --ignore-failure[=MODE], as hyperfine 1.20: without a value
 * or "all-non-zero" every failure is kept; else a comma-separated list of
 * exit codes (128 + a signal for a run it killed). */
static int parse_ignore(struct bench_args *a, const char *value)
{
    a->so.ignore_failure = true;
    free(a->ignore_codes);
    a->ignore_codes = NULL;
    a->nignore_codes = 0;
    if (!value || !value[0] || !strcmp(value, "all-non-zero"))
        return 0;
    size_t n = 1;
    for (const char *p = value; *p; p++)
        n += *p == ',';
    a->ignore_codes = calloc(n, sizeof(*a->ignore_codes));
    if (!a->ignore_codes)
        return EXIT_RUNTIME;
    const char *p = value;
    for (size_t i = 0; i < n; i++) {
        while (*p == ' ')
            p++;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        while (*end == ' ')
            end++;
        if (end == p || errno || v < INT_MIN || v > INT_MAX || (*end && *end != ','))
            return cli_usage("bench",
                             "--ignore-failure: '%s' is not all-non-zero or a list of exit codes "
                             "(e.g. --ignore-failure=1,2)",
                             value);
        a->ignore_codes[a->nignore_codes++] = (int)v;
        p = *end ? end + 1 : end;
    }
    a->so.ignore_codes = a->ignore_codes;
    a->so.nignore_codes = a->nignore_codes;
    return 0;
}

/* -i's value: getopt gives "=CODES" for -i=CODES, and the rest of a cluster
 * for -iN; hyperfine takes a value only after '='. */
static int short_ignore(struct bench_args *a, const char *rest)
{
    if (!rest || rest[0] == '=')
        return parse_ignore(a, rest ? rest + 1 : NULL);
    if (strspn(rest, "N") == strlen(rest)) {
        a->so.shell_mode = SHELL_NEVER;
        return parse_ignore(a, NULL);
    }
    return cli_usage("bench", "-i%s: -i takes a value only after '=': -i=CODES or --ignore-failure=CODES",
                     rest);
}

static int parse_style(struct bench_args *a, const char *v)
{
    static const char *const names[] = { "auto", "basic", "full", "nocolor", "color", "none" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(v, names[i])) {
            a->out.style = (enum bench_style)i;
            return 0;
        }
    }
    return cli_usage("bench", "--style: '%s' is not auto, basic, full, nocolor, color or none", v);
}

static int parse_sort(struct bench_args *a, const char *v)
{
    if (!strcmp(v, "auto")) {
        a->out.summary_by_mean = true;
        a->out.tables_by_mean = false;
    } else if (!strcmp(v, "command")) {
        a->out.summary_by_mean = a->out.tables_by_mean = false;
    } else if (!strcmp(v, "mean-time")) {
        a->out.summary_by_mean = a->out.tables_by_mean = true;
    } else {
        return cli_usage("bench", "--sort: '%s' is not auto, command or mean-time", v);
    }
    return 0;
}

static int parse_time_unit(struct bench_args *a, const char *v)
{
    if (!strcmp(v, "microsecond"))
        a->out.unit = EXPORT_UNIT_MICROSECOND;
    else if (!strcmp(v, "millisecond"))
        a->out.unit = EXPORT_UNIT_MILLISECOND;
    else if (!strcmp(v, "second"))
        a->out.unit = EXPORT_UNIT_SECOND;
    else
        return cli_usage("bench", "--time-unit: '%s' is not microsecond, millisecond or second", v);
    return 0;
}

/* hyperfine's --min-benchmarking-time: seconds, as a number. */
static int parse_seconds(const char *v, const char *opt, double *out)
{
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (end == v || *end || errno || !(s >= 0) || !isfinite(s))
        return cli_usage(
            "bench", "%s: '%s' is not a number of seconds (perfkit's --min-time takes 500ms, 3s)", opt, v);
    *out = s;
    return 0;
}

/* The argument getopt was reading when it stopped on optopt: the cluster
 * that holds it ("-Nx"), still argv[optind] while getopt is inside it. */
static const char *short_word(int argc, char **argv, int opt)
{
    if (optind < argc && argv[optind][0] == '-' && argv[optind][1] != '-' && strchr(argv[optind] + 1, opt))
        return argv[optind];
    return argv[optind - 1];
}

static int bad_option(int c, int argc, char **argv)
{
    bool is_short = optopt > 0 && optopt < 256 && optopt != '?';
    if (c == ':') {
        /* A missing value is always at the end: the word is the option as typed. */
        return cli_usage("bench", "option '%s' needs a value", argv[optind - 1]);
    }
    if (is_short) {
        const char *w = short_word(argc, argv, optopt);
        if (strlen(w) > 2 && w[0] == '-')
            return cli_usage("bench", "unknown option '-%c' (in '%s')", optopt, w);
        return cli_usage("bench", "unknown option '-%c'", optopt);
    }
    return cli_usage("bench", "unknown or ambiguous option '%s'", argv[optind - 1]);
}

/* What the options say together. */
static int check_args(struct bench_args *a)
{
    if (a->ncmds == 0)
        return cli_usage("bench", "no command to benchmark");
    if (a->runs_given && (a->min_given || a->max_given))
        return cli_usage("bench", "-r/--runs cannot be used with -m/--min-runs or -M/--max-runs (as in "
                                  "hyperfine): give the exact count, or the bounds");
    /* As hyperfine: a maximum below the default minimum lowers the minimum. */
    if (a->max_given && !a->min_given && a->so.min_runs > a->so.max_runs)
        a->so.min_runs = a->so.max_runs;
    if (!a->so.runs && a->so.max_runs && a->so.min_runs > a->so.max_runs)
        return cli_usage("bench", "--min-runs is above --max-runs");
    if (a->out.fail_on_regression && !a->out.baseline)
        return cli_usage("bench", "--fail-on-regression needs --baseline FILE");
    if (a->out.metric_given && !a->out.baseline)
        return cli_usage("bench", "--gate-metric needs --baseline FILE");
    if (a->step_given && a->nranges == 0)
        return cli_usage("bench", "-D/--parameter-step-size needs -P/--parameter-scan");
    if (a->reference_name && !a->reference)
        return cli_usage("bench", "--reference-name needs --reference CMD");
    if (a->show_output && a->noutputs)
        return cli_usage("bench", "--show-output is --output=inherit: give one of them");
    if (a->show_output)
        add_output(a, "inherit");
    return 0;
}

/* One option of perfkit's own: 1 when c is none of them. */
static int perfkit_option(struct bench_args *a, int c)
{
    int rc = 0;
    struct pk_err e;
    pk_err_clear(&e);
    switch (c) {
    case OPT_MIN_TIME:
        if (units_parse_duration(optarg, "--min-time", &a->so.min_time_s, &e))
            rc = cli_usage_err("bench", &e);
        break;
    case OPT_INTERLEAVE: a->so.interleave = true; break;
    case OPT_COUNTERS: a->so.runner.counters = true; break;
    case OPT_SAVE_BASELINE: a->out.save_baseline = optarg; break;
    case OPT_BASELINE: a->out.baseline = optarg; break;
    case OPT_THRESHOLD: rc = parse_threshold(optarg, &a->out.threshold); break;
    case OPT_FAIL_ON_REGRESSION: a->out.fail_on_regression = true; break;
    case OPT_GATE_METRIC:
        if (bench_metric_parse(optarg, &a->out.metric))
            rc = cli_usage("bench", "--gate-metric: '%s' is not wall, cpu or instructions", optarg);
        a->out.metric_given = true;
        break;
    default: return 1;
    }
    return rc;
}

static int list_opt(const char **v, size_t *n, const char *opt)
{
    if (*n >= BENCH_ARGS_MAX_ITEMS)
        return cli_usage("bench", "too many %s", opt);
    v[(*n)++] = optarg;
    return 0;
}

/* The options whose values are hyperfine's counts and words. */
static int run_option(struct bench_args *a, int c, int argc, char **argv)
{
    uint64_t u;
    int rc = 0;
    switch (c) {
    case 'w':
        if ((rc = parse_uint_opt(optarg, "--warmup", 0, UINT_MAX, &u)) == 0)
            a->so.warmup = (unsigned)u;
        return rc;
    case 'r':
        a->runs_given = true;
        return parse_uint_opt(optarg, "--runs", 1, UINT64_C(1) << 40, &a->so.runs);
    case 'm':
        a->min_given = true;
        return parse_uint_opt(optarg, "--min-runs", 1, UINT64_C(1) << 40, &a->so.min_runs);
    case 'M':
        a->max_given = true;
        return parse_uint_opt(optarg, "--max-runs", 1, UINT64_C(1) << 40, &a->so.max_runs);
    case 's': a->so.setup = optarg; return 0;
    case 'c': a->so.cleanup = optarg; return 0;
    case 'p': return list_opt(a->prepares, &a->nprepares, "--prepare");
    case 'C': return list_opt(a->concludes, &a->nconcludes, "--conclude");
    case 'n': return list_opt(a->names, &a->nnames, "--command-name");
    case 'L':
    case 'P':
    case 'D': return parse_param_opt(c, argc, argv, a);
    case 'S': set_shell(optarg, &a->so); return 0;
    case 'N': a->so.shell_mode = SHELL_NEVER; return 0;
    case 'i':
        return optarg && optind > 0 && argv[optind - 1][1] != '-' ? short_ignore(a, optarg)
                                                                  : parse_ignore(a, optarg);
    case 'u': return parse_time_unit(a, optarg);
    default: return 1;
    }
}

/* hyperfine's options whose values are perfkit's outputs. */
static int output_option(struct bench_args *a, int c)
{
    switch (c) {
    case OPT_OUTPUT: return add_output(a, optarg);
    case OPT_SHOW_OUTPUT: a->show_output = true; return 0;
    case OPT_INPUT: a->so.runner.input_path = strcmp(optarg, "null") ? optarg : NULL; return 0;
    case OPT_REFERENCE: a->reference = optarg; return 0;
    case OPT_REFERENCE_NAME: a->reference_name = optarg; return 0;
    case OPT_EXPORT_JSON: a->out.json = optarg; return 0;
    case OPT_EXPORT_CSV: a->out.csv = optarg; return 0;
    case OPT_EXPORT_MD: a->out.markdown = optarg; return 0;
    case OPT_EXPORT_ASCIIDOC: a->out.asciidoc = optarg; return 0;
    case OPT_EXPORT_ORGMODE: a->out.orgmode = optarg; return 0;
    case OPT_STYLE: return parse_style(a, optarg);
    case OPT_SORT: return parse_sort(a, optarg);
    case OPT_MIN_BENCHMARKING_TIME:
        return parse_seconds(optarg, "--min-benchmarking-time", &a->so.min_time_s);
    case OPT_DEBUG_MODE:
        return cli_usage("bench",
                         "--debug-mode (hyperfine's fake timings of 'sleep') is not supported: perfkit "
                         "always runs the commands; to try a command line quickly, use --runs 1");
    default: return 1;
    }
}

int bench_args_parse(struct bench_args *a, int argc, char **argv)
{
    int rc, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
        if (c == 'h') {
            cmd_bench_help();
            return -1;
        }
        if (c == 'V') {
            printf("perfkit %s\n", pk_version());
            return -1;
        }
        if (c == ':' || c == '?')
            return bad_option(c, argc, argv);
        if ((rc = run_option(a, c, argc, argv)) != 1 || (rc = output_option(a, c)) != 1 ||
            (rc = perfkit_option(a, c)) != 1) {
            if (rc)
                return rc;
            continue;
        }
        return bad_option('?', argc, argv);
    }
    a->cmds = argv + optind;
    a->ncmds = (size_t)(argc - optind);
    if ((rc = check_args(a)))
        return rc;
    return expand_ranges(a);
}

/* Which of the n values given once, once per benchmark (hyperfine's, the
 * reference first), or once per command (the reference first or without
 * one) a benchmark gets: an index, or SIZE_MAX for none. bench == SIZE_MAX
 * is the reference. */
static size_t pick(size_t n, size_t user, size_t benches, size_t ref, size_t c, size_t bench)
{
    bool is_ref = bench == SIZE_MAX;
    if (n == 0)
        return SIZE_MAX;
    if (n == 1)
        return 0;
    if (n == benches + ref)
        return is_ref ? 0 : ref + bench;
    if (n == user + ref)
        return is_ref ? 0 : ref + c;
    return is_ref ? SIZE_MAX : c; /* n == user with a reference: it has none */
}

static const char *pick_hook(const char *const *v, size_t n, size_t user, size_t benches, size_t ref,
                             size_t c, size_t bench)
{
    size_t i = pick(n, user, benches, ref, c, bench);
    return i == SIZE_MAX ? NULL : v[i];
}

static int count_err(const char *opt, size_t n, size_t user, size_t benches, size_t ref)
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

static bool count_ok(size_t n, size_t user, size_t benches, size_t ref)
{
    return n <= 1 || n == benches + ref || n == user + ref || n == user;
}

/* The outputs the runner opens: the --output list (a reference without one
 * of its own gets /dev/null, appended), or null for all. */
static int runner_outputs(struct bench_args *a, size_t user, size_t benches, size_t ref)
{
    if (!count_ok(a->noutputs, user, benches, ref))
        return count_err("--output", a->noutputs, user, benches, ref);
    if (a->noutputs == 0)
        add_output(a, "null");
    else if (ref && pick(a->noutputs, user, benches, ref, 0, SIZE_MAX) == SIZE_MAX)
        add_output(a, "null");
    a->so.runner.outputs = a->outputs;
    a->so.runner.noutputs = a->noutputs;
    return 0;
}

static size_t pick_output(const struct bench_args *a, size_t n, size_t user, size_t benches, size_t ref,
                          size_t c, size_t bench)
{
    size_t i = pick(n, user, benches, ref, c, bench);
    return i == SIZE_MAX ? a->noutputs - 1 : i; /* the reference's null, appended last */
}

static int check_names(const struct bench_args *a, size_t user, size_t benches)
{
    if (a->nlists ? a->nnames > 1 && a->nnames != benches && a->nnames != user : a->nnames > user) {
        if (!a->nlists)
            fprintf(stderr, "perfkit bench: --command-name given %zu times for %zu commands\n", a->nnames,
                    user);
        else
            fprintf(stderr,
                    "perfkit bench: --command-name given %zu times: give it once, once per "
                    "command (%zu) or once per benchmark (%zu)\n",
                    a->nnames, user, benches);
        fprintf(stderr, "(see 'perfkit help bench')\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* Commands x parameter combinations, in hyperfine's order: the commands vary
 * fastest, then the first parameter, the last parameter slowest. -n as
 * hyperfine's: without parameters at most one per command (the others keep
 * their command line); with parameters once for all or once per benchmark;
 * or once per command. --prepare, --conclude and --output: once, once per
 * command or once per benchmark. */
int bench_args_commands(struct bench_args *a, struct suite_command **out, size_t *nout,
                        struct bench_param **param_store)
{
    size_t combos = 1;
    for (size_t i = 0; i < a->nlists; i++) {
        if (a->lists[i].n == 0)
            return cli_usage("bench", "parameter '%s' has no values", a->lists[i].name);
        combos *= a->lists[i].n;
        if (combos > BENCH_ARGS_MAX_ITEMS)
            return cli_usage("bench", "more than 4096 parameter combinations");
    }
    size_t user = a->ncmds, benches = user * combos, ref = a->reference ? 1 : 0;
    size_t np = a->nprepares, nc = a->nconcludes, no = a->noutputs;
    int rc;
    if ((rc = check_names(a, user, benches)))
        return rc;
    if (!count_ok(np, user, benches, ref))
        return count_err("--prepare", np, user, benches, ref);
    if (!count_ok(nc, user, benches, ref))
        return count_err("--conclude", nc, user, benches, ref);
    if ((rc = runner_outputs(a, user, benches, ref)))
        return rc;

    size_t total = ref + benches;
    size_t stride = a->nlists ? a->nlists : 1;
    struct suite_command *cmds = calloc(total, sizeof(*cmds));
    struct bench_param *params = calloc(total * stride, sizeof(*params));
    if (!cmds || !params) {
        free(cmds);
        free(params);
        return EXIT_RUNTIME;
    }
    size_t k = 0;
    if (a->reference) {
        cmds[k].command = a->reference;
        cmds[k].is_reference = true;
        cmds[k].name = a->reference_name ? strdup(a->reference_name) : NULL;
        cmds[k].prepare = pick_hook(a->prepares, np, user, benches, ref, 0, SIZE_MAX);
        cmds[k].conclude = pick_hook(a->concludes, nc, user, benches, ref, 0, SIZE_MAX);
        cmds[k].output = no ? pick_output(a, no, user, benches, ref, 0, SIZE_MAX) : 0;
        k++;
    }
    const char *names[BENCH_ARGS_MAX_LISTS], *values[BENCH_ARGS_MAX_LISTS];
    for (size_t combo = 0; combo < combos; combo++) {
        for (size_t c = 0; c < user; c++) {
            size_t b = combo * user + c;
            struct bench_param *p = params + k * stride;
            size_t rem = combo;
            for (size_t li = 0; li < a->nlists; li++) {
                p[li].name = a->lists[li].name;
                p[li].value = a->lists[li].values[rem % a->lists[li].n];
                rem /= a->lists[li].n;
                names[li] = p[li].name;
                values[li] = p[li].value;
            }
            cmds[k].command = a->cmds[c];
            cmds[k].params = a->nlists ? p : NULL;
            cmds[k].nparams = a->nlists;
            const char *name = NULL;
            if (a->nlists && a->nnames == 1)
                name = a->names[0];
            else if (a->nnames == benches)
                name = a->names[b];
            else if (a->nnames == user || c < a->nnames)
                name = a->names[c];
            if (name)
                cmds[k].name = a->nlists ? cmdline_substitute(name, names, values, a->nlists) : strdup(name);
            cmds[k].prepare = pick_hook(a->prepares, np, user, benches, ref, c, b);
            cmds[k].conclude = pick_hook(a->concludes, nc, user, benches, ref, c, b);
            cmds[k].output = no ? pick_output(a, no, user, benches, ref, c, b) : 0;
            k++;
        }
    }
    *out = cmds;
    *nout = total;
    *param_store = params;
    return 0;
}

void bench_args_free_commands(struct suite_command *cmds, size_t n, struct bench_param *params)
{
    for (size_t i = 0; cmds && i < n; i++)
        free((char *)cmds[i].name);
    free(cmds);
    free(params);
}

int bench_args_check_gate(struct bench_args *a, const struct suite_command *cmds, size_t n)
{
    if (!a->out.baseline)
        return 0;
    char **names = calloc(n ? n : 1, sizeof(*names));
    int rc = names ? 0 : EXIT_RUNTIME;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *pn[BENCH_ARGS_MAX_LISTS], *pv[BENCH_ARGS_MAX_LISTS];
        size_t np = cmds[i].nparams < BENCH_ARGS_MAX_LISTS ? cmds[i].nparams : BENCH_ARGS_MAX_LISTS;
        for (size_t k = 0; k < np; k++) {
            pn[k] = cmds[i].params[k].name;
            pv[k] = cmds[i].params[k].value;
        }
        names[i] = cmds[i].name ? strdup(cmds[i].name) : cmdline_substitute(cmds[i].command, pn, pv, np);
        if (!names[i])
            rc = EXIT_RUNTIME;
    }
    if (rc == 0)
        rc = bench_out_check_gate(&a->out, (const char *const *)names, n);
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
