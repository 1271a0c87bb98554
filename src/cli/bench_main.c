/*
 * bench_main - pk_bench_main(): the driver of a program of registered
 * benchmarks (PK_BENCHMARK), built into libperfkit_main.a. It parses the
 * options, runs the benchmarks through the pk_bench_* API, prints a table in
 * the manner of Google Benchmark's console reporter and the guide's
 * analysis, and writes the JSON report.
 *
 * Output: the table and analysis go to stdout (to stderr with --json -, so
 * that stdout is the JSON alone); the context and diagnostics to stderr.
 * Exit: 0, 1 a benchmark or the report failed, 2 usage (bad option or value,
 * unwritable --json path, a filter that selects nothing).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/harness.h"
#include "cli/cli.h"
#include "cli/term.h"
#include "core/err.h"
#include "core/files.h"
#include "core/jsonio.h"
#include "core/stats.h"
#include "core/units.h"
#include "perfkit.h"
#include "sys/host.h"

#define MAX_ITERATIONS  1000000000000ull
#define MAX_REPETITIONS 100000u
#define NAME_CAP        256 /* "function/argument" */

struct options {
    const char *filter;
    regex_t re;
    bool have_re;
    double min_time;
    unsigned repetitions;
    uint64_t iterations; /* 0: calibrate */
    const char *json;    /* NULL: none; "-": stdout */
    bool list, counters, help;
};

/* One instance of a registered benchmark. */
struct instance {
    const struct pk_benchmark *def;
    int64_t arg;
    char name[NAME_CAP];
};

static const char *prog_name(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    return slash ? slash + 1 : (argv0 && *argv0 ? argv0 : "benchmark");
}

static void usage(FILE *fp, const char *prog)
{
    fprintf(fp,
            "Usage: %s [options]\n"
            "Runs the benchmarks registered in this program and reports time per\n"
            "iteration, CPU time, allocations and peak-RSS growth.\n"
            "\n"
            "Options:\n"
            "  --filter REGEX      run only benchmarks whose name matches (POSIX extended regex)\n"
            "  --min-time DUR      calibrate each benchmark to run at least DUR (default 0.5s;\n"
            "                      e.g. 200ms, 2s, or a bare number of seconds)\n"
            "  --repetitions N     timed repetitions of each benchmark (default 1); more than\n"
            "                      one adds mean, median, stddev and cv rows\n"
            "  --iterations N      run exactly N iterations per repetition (no calibration)\n"
            "  --json FILE         write Google Benchmark JSON with an analysis block to FILE\n"
            "                      ('-': stdout, the table then goes to stderr)\n"
            "  --counters          hardware counters per iteration (perf_event_open)\n"
            "  --list              list the benchmarks (after --filter) and exit\n"
            "  --help              show this help\n"
            "\n"
            "Exit status: 0 success, 1 a benchmark or the report failed, 2 usage error.\n",
            prog);
}

static int usage_error(const char *prog, const struct pk_err *e)
{
    char buf[800];
    fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog, pk_err_str(e, buf, sizeof(buf)), prog);
    return EXIT_USAGE;
}

/* ---- options */

enum opt_kind { OPT_FLAG, OPT_VALUE };
struct opt {
    const char *name;
    enum opt_kind kind;
};
static const struct opt opts_table[] = {
    { "--filter", OPT_VALUE },     { "--min-time", OPT_VALUE }, { "--repetitions", OPT_VALUE },
    { "--iterations", OPT_VALUE }, { "--json", OPT_VALUE },     { "--list", OPT_FLAG },
    { "--counters", OPT_FLAG },    { "--help", OPT_FLAG },
};

static int set_option(struct options *o, const char *name, const char *value, struct pk_err *e)
{
    uint64_t v;
    int rc;
    if (strcmp(name, "--filter") == 0) {
        if (o->have_re) {
            regfree(&o->re);
            o->have_re = false;
        }
        rc = regcomp(&o->re, value, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[200];
            regerror(rc, &o->re, why, sizeof(why));
            return err_set(e, PK_EUSAGE, name, "invalid regular expression", "'%s': %s", value, why);
        }
        o->have_re = true;
        o->filter = value;
    } else if (strcmp(name, "--min-time") == 0) {
        if ((rc = units_parse_duration(value, name, &o->min_time, e)) != 0)
            return rc;
        if (!(o->min_time > 0))
            return err_set(e, PK_EUSAGE, name, "invalid duration", "'%s': must be more than 0", value);
    } else if (strcmp(name, "--repetitions") == 0) {
        if ((rc = units_parse_uint(value, name, 1, MAX_REPETITIONS, &v, e)) != 0)
            return rc;
        o->repetitions = (unsigned)v;
    } else if (strcmp(name, "--iterations") == 0) {
        if ((rc = units_parse_count(value, name, &v, e)) != 0)
            return rc;
        if (v < 1 || v > MAX_ITERATIONS)
            return err_set(e, PK_EUSAGE, name, "invalid count", "'%s': must be from 1 to %" PRIu64, value,
                           (uint64_t)MAX_ITERATIONS);
        o->iterations = v;
    } else if (strcmp(name, "--json") == 0) {
        if (!value[0])
            return err_set(e, PK_EUSAGE, name, "missing file name", "use a path or '-' for stdout");
        o->json = value;
    } else if (strcmp(name, "--list") == 0) {
        o->list = true;
    } else if (strcmp(name, "--counters") == 0) {
        o->counters = true;
    } else if (strcmp(name, "--help") == 0) {
        o->help = true;
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o, struct pk_err *e)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0) {
            o->help = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return err_set(e, PK_EUSAGE, arg, "unexpected argument", "options start with '--'");
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct opt *opt = NULL;
        for (size_t k = 0; k < sizeof(opts_table) / sizeof(opts_table[0]); k++)
            if (strlen(opts_table[k].name) == len && strncmp(opts_table[k].name, arg, len) == 0)
                opt = &opts_table[k];
        if (!opt) {
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)(len < 60 ? len : 60), arg);
            return err_set(e, PK_EUSAGE, name, "unknown option", NULL);
        }
        const char *value = NULL;
        if (opt->kind == OPT_FLAG) {
            if (eq)
                return err_set(e, PK_EUSAGE, opt->name, "takes no value", NULL);
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return err_set(e, PK_EUSAGE, opt->name, "missing value", NULL);
        }
        int rc = set_option(o, opt->name, value, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- the registered benchmarks, in source order */

static int by_source(const void *pa, const void *pb)
{
    const struct pk_benchmark *a = *(const struct pk_benchmark *const *)pa;
    const struct pk_benchmark *b = *(const struct pk_benchmark *const *)pb;
    int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
    if (c)
        return c;
    return (a->line > b->line) - (a->line < b->line);
}

/* The selected instances; *out is malloc'd. */
static int collect(const struct options *o, struct instance **out, size_t *nout, struct pk_err *e)
{
    size_t ndefs;
    const struct pk_benchmark *defs = pk_benchmarks(&ndefs);
    *out = NULL;
    *nout = 0;
    if (ndefs == 0)
        return 0;
    const struct pk_benchmark **sorted = malloc(ndefs * sizeof(*sorted));
    if (!sorted)
        return err_errno(e, -ENOMEM, NULL, "cannot list benchmarks");
    size_t total = 0;
    for (size_t i = 0; i < ndefs; i++) {
        sorted[i] = &defs[i];
        total += defs[i].nargs ? defs[i].nargs : 1;
    }
    qsort(sorted, ndefs, sizeof(*sorted), by_source);
    struct instance *v = calloc(total, sizeof(*v));
    if (!v) {
        free(sorted);
        return err_errno(e, -ENOMEM, NULL, "cannot list benchmarks");
    }
    size_t n = 0;
    for (size_t i = 0; i < ndefs; i++) {
        const struct pk_benchmark *d = sorted[i];
        if (!d->name || !d->fn)
            continue;
        size_t k = d->nargs ? d->nargs : 1;
        for (size_t a = 0; a < k; a++) {
            struct instance *in = &v[n];
            in->def = d;
            in->arg = d->nargs ? d->args[a] : 0;
            if (d->nargs)
                snprintf(in->name, sizeof(in->name), "%s/%" PRId64, d->name, in->arg);
            else
                snprintf(in->name, sizeof(in->name), "%s", d->name);
            if (o->have_re && regexec(&o->re, in->name, 0, NULL, 0) != 0)
                continue;
            n++;
        }
    }
    free(sorted);
    *out = v;
    *nout = n;
    return 0;
}

/* ---- printing */

/* Google Benchmark's console number format: 10 columns, more decimals for
 * smaller values; the unit is chosen per row from the real time. */
static void fmt_num(double v, char *buf, size_t len)
{
    if (!isfinite(v))
        snprintf(buf, len, "%10s", "-");
    else if (v < 1.0)
        snprintf(buf, len, "%10.3f", v);
    else if (v < 10.0)
        snprintf(buf, len, "%10.2f", v);
    else if (v < 100.0)
        snprintf(buf, len, "%10.1f", v);
    else if (v > 9999999999.0)
        snprintf(buf, len, "%10.4e", v);
    else
        snprintf(buf, len, "%10.0f", v);
}

struct table {
    FILE *fp;
    struct term t;
    int name_width;
    bool counters;
};

static void print_rule(const struct table *tb, int width)
{
    for (int i = 0; i < width; i++)
        fputc('-', tb->fp);
    fputc('\n', tb->fp);
}

static void print_header(const struct table *tb)
{
    char line[512];
    int len = snprintf(line, sizeof(line), "%-*s %13s %15s %12s %12s %12s %12s", tb->name_width, "Benchmark",
                       "Time", "CPU", "Iterations", "Allocs/iter", "Bytes/iter", "RSS growth");
    if (tb->counters && len > 0 && (size_t)len < sizeof(line))
        len += snprintf(line + len, sizeof(line) - (size_t)len, " %12s %12s", "Cycles/iter", "Instr/iter");
    if (len < 0 || (size_t)len >= sizeof(line))
        len = (int)strlen(line);
    print_rule(tb, len);
    fprintf(tb->fp, "%s\n", line);
    print_rule(tb, len);
}

static void print_times(const struct table *tb, double real_ns, double cpu_ns)
{
    double scale;
    const char *unit = units_duration_unit(real_ns * 1e-9, &scale);
    char r[32], c[32];
    fmt_num(real_ns * 1e-9 / scale, r, sizeof(r));
    fmt_num(cpu_ns * 1e-9 / scale, c, sizeof(c));
    fprintf(tb->fp, "%s%s %-2s %s %-2s%s", term_style(&tb->t, TERM_YELLOW), r, unit, c, unit,
            term_style(&tb->t, TERM_RESET));
}

static void print_rep(const struct table *tb, const struct pk_result *r, const struct pk_rep *rp)
{
    char a[32], by[32], rss[32];
    fprintf(tb->fp, "%s%-*s%s ", term_style(&tb->t, TERM_GREEN), tb->name_width, r->name,
            term_style(&tb->t, TERM_RESET));
    fputs("  ", tb->fp);
    print_times(tb, rp->real_ns, rp->cpu_ns);
    fprintf(tb->fp, " %s%12" PRIu64 "%s", term_style(&tb->t, TERM_CYAN), r->iterations,
            term_style(&tb->t, TERM_RESET));
    if (rp->allocs >= 0) {
        snprintf(a, sizeof(a), "%.4g", rp->allocs);
        units_format_size(rp->alloc_bytes, by, sizeof(by));
    } else {
        snprintf(a, sizeof(a), "-");
        snprintf(by, sizeof(by), "-");
    }
    units_format_size((double)rp->rss_growth_bytes, rss, sizeof(rss));
    fprintf(tb->fp, " %12s %12s %12s", a, by, rss);
    if (tb->counters) {
        char cy[32] = "-", in[32] = "-";
        if (r->counter_valid[PK_COUNTER_CYCLES])
            units_format_count(rp->counters[PK_COUNTER_CYCLES], cy, sizeof(cy));
        if (r->counter_valid[PK_COUNTER_INSTRUCTIONS])
            units_format_count(rp->counters[PK_COUNTER_INSTRUCTIONS], in, sizeof(in));
        fprintf(tb->fp, " %12s %12s", cy, in);
    }
    if (r->bytes_per_second > 0 && rp->real_ns > 0) {
        char bps[32];
        units_format_size(r->bytes_per_second * r->real_ns / rp->real_ns, bps, sizeof(bps));
        fprintf(tb->fp, " %s/s", bps);
    }
    fputc('\n', tb->fp);
}

static void print_aggregates(const struct table *tb, const struct pk_result *r)
{
    unsigned n = r->repetitions;
    double *real = malloc(2 * (size_t)n * sizeof(double));
    if (!real)
        return;
    double *cpu = real + n;
    for (unsigned i = 0; i < n; i++) {
        real[i] = r->reps[i].real_ns;
        cpu[i] = r->reps[i].cpu_ns;
    }
    double mean[2] = { stats_mean(real, n), stats_mean(cpu, n) };
    double median[2] = { mean[0], mean[1] };
    stats_median(real, n, &median[0]);
    stats_median(cpu, n, &median[1]);
    double sd[2] = { stats_stddev(real, n), stats_stddev(cpu, n) };
    static const char *const names[] = { "mean", "median", "stddev", "cv" };
    const double *vals[] = { mean, median, sd };
    for (int a = 0; a < 4; a++) {
        char label[NAME_CAP + 16];
        snprintf(label, sizeof(label), "%s_%s", r->name, names[a]);
        fprintf(tb->fp, "%-*s   ", tb->name_width, label);
        if (a < 3) {
            print_times(tb, vals[a][0], vals[a][1]);
        } else {
            char cr[32], cc[32];
            snprintf(cr, sizeof(cr), "%10.2f", mean[0] > 0 ? 100 * sd[0] / mean[0] : 0);
            snprintf(cc, sizeof(cc), "%10.2f", mean[1] > 0 ? 100 * sd[1] / mean[1] : 0);
            fprintf(tb->fp, "%s%s %-2s %s %-2s%s", term_style(&tb->t, TERM_YELLOW), cr, "%", cc, "%",
                    term_style(&tb->t, TERM_RESET));
        }
        fprintf(tb->fp, " %12u\n", n);
    }
    free(real);
}

static void print_analysis(const struct table *tb, const struct pk_bench *b)
{
    struct pk_analysis a;
    struct pk_err e;
    pk_err_clear(&e);
    if (pk_bench_analyze(b, &a, &e) != 0)
        return;
    char avg[32], thr[32];
    units_format_duration(a.mean_ns * 1e-9, avg, sizeof(avg));
    units_format_duration(a.threshold_ns * 1e-9, thr, sizeof(thr));
    fprintf(tb->fp,
            "\n%sAnalysis%s (mean time per iteration over timed batches; average %s, "
            "bottleneck above 2x = %s)\n",
            term_style(&tb->t, TERM_BOLD), term_style(&tb->t, TERM_RESET), avg, thr);
    fprintf(tb->fp, "%-*s %12s  %-27s %7s  %s\n", tb->name_width, "Benchmark", "Mean", "95% CI", "Share",
            "CPU use");
    for (size_t i = 0; i < a.n; i++) {
        const struct pk_result *r = pk_bench_result(b, i);
        char m[32], lo[32], hi[32], ci[80];
        units_format_duration(r->mean_ns * 1e-9, m, sizeof(m));
        units_format_duration(r->ci_lo_ns * 1e-9, lo, sizeof(lo));
        units_format_duration(r->ci_hi_ns * 1e-9, hi, sizeof(hi));
        snprintf(ci, sizeof(ci), "[%s, %s]", lo, hi);
        bool bn = a.entries[i].bottleneck;
        fprintf(tb->fp, "%s%-*s%s %12s  %-27s %6.1f%%  %5.0f%%%s%s%s\n",
                term_style(&tb->t, bn ? TERM_RED : TERM_GREEN), tb->name_width, r->name,
                term_style(&tb->t, TERM_RESET), m, ci, 100 * a.entries[i].share, 100 * r->cpu_util,
                term_style(&tb->t, TERM_RED), bn ? "  bottleneck" : "", term_style(&tb->t, TERM_RESET));
    }
    const struct pk_result *slow = pk_bench_result(b, a.slowest);
    char st[32];
    units_format_duration(slow->mean_ns * 1e-9, st, sizeof(st));
    fprintf(tb->fp, "Slowest: %s (%s per iteration, %.1f%% of the total)\n", slow->name, st,
            100 * a.entries[a.slowest].share);
    fprintf(tb->fp, "Bottlenecks (> 2x the average): ");
    if (a.nbottlenecks == 0) {
        fprintf(tb->fp, "none");
    } else {
        const char *sep = "";
        for (size_t i = 0; i < a.n; i++)
            if (a.entries[i].bottleneck) {
                fprintf(tb->fp, "%s%s%s%s", sep, term_style(&tb->t, TERM_RED), pk_bench_result(b, i)->name,
                        term_style(&tb->t, TERM_RESET));
                sep = ", ";
            }
    }
    if (a.n < 3)
        fprintf(tb->fp, " (with fewer than 3 benchmarks none can be)");
    fputc('\n', tb->fp);
    pk_analysis_destroy(&a);
}

/* What Google Benchmark prints before its table, on stderr. */
static void print_context(const char *argv0)
{
    struct host_info h;
    memset(&h, 0, sizeof(h));
    (void)host_read("/proc", "/sys", &h, NULL);
    char date[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", &tm);
    fprintf(stderr, "%s\nRunning %s\n", date, argv0 ? argv0 : "");
    fprintf(stderr, "Run on (%d X %.0f MHz CPU%s)\n", h.cpus, h.mhz, h.cpus == 1 ? "" : " s");
    if (h.ncaches > 0) {
        fprintf(stderr, "CPU Caches:\n");
        for (int i = 0; i < h.ncaches && i < HOST_MAX_CACHES; i++) {
            char size[32];
            units_format_size((double)h.caches[i].size, size, sizeof(size));
            fprintf(stderr, "  L%d %s %s\n", h.caches[i].level, h.caches[i].type, size);
        }
    }
    if (h.load_known)
        fprintf(stderr, "Load Average: %.2f, %.2f, %.2f\n", h.load[0], h.load[1], h.load[2]);
    if ((h.governor[0] && strcmp(h.governor, "performance") != 0) || h.governor_mixed)
        fprintf(stderr, "***WARNING*** CPU scaling is enabled (governor '%s'): timings may vary.\n",
                h.governor);
    if (!alloc_available())
        fprintf(stderr, "Allocations are not counted in this build (sanitizers own malloc).\n");
}

#if !defined(PK_SANITIZED)
/*
 * Programs built on pk_bench_main() count allocations: this reference pulls
 * the wrappers (bench/alloc.c) out of libperfkit_main.a into the program.
 */
__attribute__((used)) static void (*const pull_alloc_wrappers)(struct alloc_counts *) = pk_alloc_snapshot;
#endif

static int write_json(const struct pk_bench *b, const char *path, struct pk_err *e)
{
    if (strcmp(path, "-") != 0)
        return pk_bench_write_json(b, path, e);
    json_t *root;
    int rc = harness_json(b, &root, e);
    if (rc != 0)
        return rc;
    char *text = jsonio_dumps(root);
    json_decref(root);
    if (!text)
        return err_errno(e, -ENOMEM, "-", "cannot write JSON report");
    rc = fputs(text, stdout) < 0 || fflush(stdout) != 0
             ? err_errno(e, -EIO, "stdout", "cannot write JSON report")
             : 0;
    free(text);
    return rc;
}

int pk_bench_main(int argc, char **argv)
{
    const char *prog = prog_name(argc > 0 ? argv[0] : NULL);
    struct options o;
    memset(&o, 0, sizeof(o));
    o.min_time = HARNESS_DEFAULT_MIN_TIME;
    o.repetitions = 1;
    struct pk_err e;
    pk_err_clear(&e);
    struct instance *inst = NULL;
    struct pk_bench *b = NULL;
    int status = EXIT_OK;

    if (parse_options(argc, argv, &o, &e) != 0) {
        status = usage_error(prog, &e);
        goto out;
    }
    if (o.help) {
        usage(stdout, prog);
        goto out;
    }
    size_t n;
    if (collect(&o, &inst, &n, &e) != 0) {
        fprintf(stderr, "%s: %s\n", prog, pk_err_str(&e, (char[512]){ 0 }, 512));
        status = EXIT_RUNTIME;
        goto out;
    }
    if (o.list) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", inst[i].name);
        goto out;
    }
    if (n == 0) {
        if (o.have_re)
            err_set(&e, PK_EUSAGE, "--filter", "no benchmark matches", "'%s'", o.filter);
        else
            err_set(&e, PK_EUSAGE, NULL, "no benchmarks registered",
                    "register functions with PK_BENCHMARK(fn)");
        status = usage_error(prog, &e);
        goto out;
    }
    /* A bad report path must fail before minutes of measuring, not after. */
    if (o.json && strcmp(o.json, "-") != 0 && files_check_writable(o.json, &e) != 0) {
        err_prefix_on(&e, "--json: ");
        status = usage_error(prog, &e);
        goto out;
    }

    struct pk_bench_opts bo;
    pk_bench_opts_init(&bo);
    bo.min_time = o.min_time;
    bo.repetitions = o.repetitions;
    bo.counters = o.counters;
    b = pk_bench_new(&bo);
    if (!b) {
        fprintf(stderr, "%s: out of memory\n", prog);
        status = EXIT_RUNTIME;
        goto out;
    }
    print_context(argc > 0 ? argv[0] : NULL);
    if (o.counters && pk_bench_counters(b, &e) != 0) {
        char buf[800];
        fprintf(stderr, "%s: warning: %s; running without them\n", prog, pk_err_str(&e, buf, sizeof(buf)));
    }

    struct table tb;
    memset(&tb, 0, sizeof(tb));
    tb.fp = o.json && strcmp(o.json, "-") == 0 ? stderr : stdout;
    term_init(&tb.t, tb.fp);
    tb.counters = o.counters;
    tb.name_width = 10;
    for (size_t i = 0; i < n; i++) {
        int w = (int)strlen(inst[i].name) + (o.repetitions > 1 ? 7 : 0); /* "_median" */
        if (w > tb.name_width)
            tb.name_width = w;
    }
    print_header(&tb);
    fflush(tb.fp);

    for (size_t i = 0; i < n; i++) {
        const struct pk_result *r;
        pk_err_clear(&e);
        if (pk_bench_run_loop(b, inst[i].name, inst[i].def->fn, inst[i].arg, o.iterations, &r, &e) != 0) {
            char buf[800];
            fprintf(tb.fp, "%s%-*s ERROR: %s%s\n", term_style(&tb.t, TERM_RED), tb.name_width, inst[i].name,
                    pk_err_str(&e, buf, sizeof(buf)), term_style(&tb.t, TERM_RESET));
            status = EXIT_RUNTIME;
            continue;
        }
        for (unsigned k = 0; k < r->repetitions; k++)
            print_rep(&tb, r, &r->reps[k]);
        if (r->repetitions > 1)
            print_aggregates(&tb, r);
        fflush(tb.fp);
    }
    if (pk_bench_count(b) > 0)
        print_analysis(&tb, b);
    fflush(tb.fp);

    if (o.json) {
        pk_err_clear(&e);
        if (write_json(b, o.json, &e) != 0) {
            char buf[800];
            fprintf(stderr, "%s: %s\n", prog, pk_err_str(&e, buf, sizeof(buf)));
            status = EXIT_RUNTIME;
        }
    }

out:
    pk_bench_free(b);
    free(inst);
    if (o.have_re)
        regfree(&o.re);
    return status;
}
