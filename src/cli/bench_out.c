#define _GNU_SOURCE /* strsignal */
#include "cli/bench_out.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/export.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/files.h"
#include "core/jsonio.h"
#include "core/units.h"

void bench_outputs_init(struct bench_outputs *b)
{
    memset(b, 0, sizeof(*b));
    b->fp = stdout;
    baseline_init(&b->base);
    b->threshold = BASELINE_DEFAULT_THRESHOLD;
    b->summary_by_mean = true;
    term_init(&b->out, stdout);
    term_init(&b->err, stderr);
}

void bench_outputs_destroy(struct bench_outputs *b)
{
    if (b->base_loaded)
        baseline_destroy(&b->base);
    b->base_loaded = false;
    free(b->gate);
    b->gate = NULL;
    if (b->null_fp)
        fclose(b->null_fp);
    b->null_fp = NULL;
}

static int report(const struct pk_err *e, int code)
{
    char buf[800];
    fprintf(stderr, "perfkit bench: %s\n", pk_err_str(e, buf, sizeof(buf)));
    return code;
}

int bench_out_precheck(struct bench_outputs *b)
{
    struct pk_err e;
    const char *paths[] = { b->json, b->csv, b->markdown, b->asciidoc, b->orgmode, b->save_baseline };
    const char *opts[] = { "--export-json",     "--export-csv",     "--export-markdown",
                           "--export-asciidoc", "--export-orgmode", "--save-baseline" };
    int to_stdout = 0;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        pk_err_clear(&e);
        if (!paths[i])
            continue;
        if (!strcmp(paths[i], "-")) {
            to_stdout++;
            continue;
        }
        if (files_check_writable(paths[i], &e)) {
            err_prefix_on(&e, ": ");
            err_prefix_on(&e, opts[i]);
            return report(&e, EXIT_USAGE);
        }
    }
    if (to_stdout > 1) {
        fprintf(stderr, "perfkit bench: only one export can go to stdout ('-')\n");
        return EXIT_USAGE;
    }
    if (to_stdout) {
        /* stdout carries the export alone, so it can be piped into a parser. */
        b->fp = stderr;
        term_init(&b->out, stderr);
    }
    if (b->baseline) {
        pk_err_clear(&e);
        if (baseline_load(b->baseline, &b->base, &e))
            return report(&e, EXIT_USAGE);
        b->base_loaded = true;
    }
    return EXIT_OK;
}

int bench_out_check_gate(struct bench_outputs *b, const char *const *names, size_t n)
{
    if (!b->base_loaded)
        return EXIT_OK;
    /* Without the gate, an empty baseline or a command it lacks is only said so. */
    if (!b->fail_on_regression && b->base.n == 0)
        return EXIT_OK;
    struct pk_err e;
    pk_err_clear(&e);
    if (baseline_check(&b->base, b->baseline, names, n, b->metric, b->fail_on_regression, &e)) {
        err_prefix_on(&e, ": ");
        err_prefix_on(&e, b->fail_on_regression ? "--fail-on-regression" : "--gate-metric");
        return report(&e, EXIT_USAGE);
    }
    return EXIT_OK;
}

void bench_out_style(struct bench_outputs *b, struct term *progress, bool any_inherit)
{
    enum bench_style st = b->style;
    /* As hyperfine: a command writing to the terminal gets it without decoration. */
    if (st == BENCH_STYLE_AUTO && any_inherit)
        st = BENCH_STYLE_BASIC;
    bool color = st == BENCH_STYLE_FULL || st == BENCH_STYLE_COLOR;
    bool bar = st == BENCH_STYLE_FULL || st == BENCH_STYLE_NOCOLOR;
    b->quiet = st == BENCH_STYLE_NONE;
    if (b->quiet) {
        /* Nothing but errors: what would be printed goes nowhere. */
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            b->fp = b->null_fp = null;
            term_init(&b->out, null);
        }
    }
    if (st == BENCH_STYLE_AUTO)
        return;
    b->out.color = b->err.color = color;
    progress->color = color;
    progress->tty = bar;
}

void bench_out_environment_warnings(struct bench_outputs *b)
{
    struct pk_err e;
    pk_err_clear(&e);
    b->host_known = host_read("/proc", "/sys", &b->host, &e) == 0;
    if (!b->host_known || b->quiet)
        return;
    const struct term *t = &b->err;
    if (b->host.governor[0] && strcmp(b->host.governor, "performance") != 0)
        fprintf(stderr,
                "%sWarning:%s CPU frequency governor is '%s', not 'performance': "
                "timings may vary with frequency scaling.\n",
                term_style(t, TERM_YELLOW), term_style(t, TERM_RESET), b->host.governor);
    if (b->host.load_known && b->host.cpus > 0 && b->host.load[0] > 0.5 * b->host.cpus)
        fprintf(stderr,
                "%sWarning:%s load average is %.2f on %d CPUs at start: other work "
                "may disturb the timings.\n",
                term_style(t, TERM_YELLOW), term_style(t, TERM_RESET), b->host.load[0], b->host.cpus);
}

/* Prints v seconds in the unit chosen for `ref`, with width w. */
static void dur(const struct bench_outputs *b, char *buf, size_t n, double v, double ref)
{
    switch (b->unit) {
    case EXPORT_UNIT_SECOND: snprintf(buf, n, "%.3f s", v); return;
    case EXPORT_UNIT_MILLISECOND: snprintf(buf, n, "%.1f ms", v * 1e3); return;
    case EXPORT_UNIT_MICROSECOND: snprintf(buf, n, "%.1f us", v * 1e6); return;
    case EXPORT_UNIT_AUTO: break;
    }
    double scale;
    const char *unit = units_duration_unit(ref, &scale);
    snprintf(buf, n, "%.1f %s", v / scale, unit);
}

void bench_out_print_command(struct bench_outputs *b, const struct bench_set *s, size_t i)
{
    const struct bench_cmd *c = &s->cmds[i];
    struct bench_stats st;
    struct term *t = &b->out;
    const char *B = term_style(t, TERM_BOLD), *R = term_style(t, TERM_RESET);
    const char *G = term_style(t, TERM_GREEN), *Y = term_style(t, TERM_YELLOW);
    const char *CY = term_style(t, TERM_CYAN), *M = term_style(t, TERM_MAGENTA);

    fprintf(b->fp, "%sBenchmark %zu%s: %s%s\n", B, i + 1, R, c->name, c->is_reference ? " (reference)" : "");
    if (bench_cmd_stats(c, &st) != 0) {
        fprintf(b->fp, "  (no completed runs)\n\n");
        return;
    }
    double ref = st.wall.mean;
    char a[32], s1[32], u[32], y[32], lo[32], hi[32], md[32];
    dur(b, a, sizeof(a), st.wall.mean, ref);
    dur(b, s1, sizeof(s1), st.wall.stddev, ref);
    dur(b, u, sizeof(u), st.user_mean, st.user_mean > 0 ? st.user_mean : ref);
    dur(b, y, sizeof(y), st.sys_mean, st.sys_mean > 0 ? st.sys_mean : ref);
    fprintf(b->fp, "  Time (%smean%s ± %sσ%s):      %s%8s%s ± %s%8s%s    [User: %s, System: %s]\n", G, R, G,
            R, G, a, R, G, s1, R, u, y);
    dur(b, md, sizeof(md), st.wall.median, ref);
    dur(b, lo, sizeof(lo), st.median_ci.lo, ref);
    dur(b, hi, sizeof(hi), st.median_ci.hi, ref);
    fprintf(b->fp, "  Time (%smedian%s, 95%% CI): %s%8s%s   [%s … %s]\n", G, R, G, md, R, lo, hi);
    dur(b, lo, sizeof(lo), st.wall.min, ref);
    dur(b, hi, sizeof(hi), st.wall.max, ref);
    fprintf(b->fp, "  Range (%smin%s … %smax%s):    %s%8s%s … %s%8s%s    %zu runs\n", CY, R, M, R, CY, lo, R,
            M, hi, R, c->nruns);
    char r1[32], r2[32];
    units_format_size((double)st.rss_median, r1, sizeof(r1));
    units_format_size((double)st.rss_max, r2, sizeof(r2));
    uint64_t minflt = 0, majflt = 0, vcs = 0, ics = 0;
    for (size_t k = 0; k < c->nruns; k++) {
        minflt += c->runs[k].minflt;
        majflt += c->runs[k].majflt;
        vcs += c->runs[k].nvcsw;
        ics += c->runs[k].nivcsw;
    }
    double n = (double)c->nruns;
    fprintf(b->fp,
            "  Memory (peak RSS):  %8s median, %s max\n"
            "  Per run:            %.0f minor / %.0f major faults, %.0f voluntary / %.0f involuntary "
            "context switches\n",
            r1, r2, (double)minflt / n, (double)majflt / n, (double)vcs / n, (double)ics / n);
    if (s->counters) {
        double sum[COUNTERS_N] = { 0 };
        bool valid[COUNTERS_N] = { false };
        for (size_t k = 0; k < c->nruns; k++)
            for (int j = 0; j < COUNTERS_N; j++)
                if (c->runs[k].ctr.valid[j]) {
                    sum[j] += (double)c->runs[k].ctr.v[j];
                    valid[j] = true;
                }
        fprintf(b->fp, "  Counters/run:      ");
        for (int j = 0; j < COUNTERS_N; j++) {
            char f[32];
            if (valid[j])
                fprintf(b->fp, " %s %s", units_format_count(sum[j] / n, f, sizeof(f)), counters_name(j));
        }
        if (valid[COUNTERS_CYCLES] && valid[COUNTERS_INSTRUCTIONS] && sum[COUNTERS_CYCLES] > 0)
            fprintf(b->fp, "  (%.2f IPC)", sum[COUNTERS_INSTRUCTIONS] / sum[COUNTERS_CYCLES]);
        fprintf(b->fp, "\n");
    }
    if (c->shell_overhead_s > 0) {
        char ov[32];
        fprintf(b->fp, "  Shell spawn overhead subtracted: %s\n",
                units_format_duration(c->shell_overhead_s, ov, sizeof(ov)));
    }
    if (st.failed_runs)
        fprintf(b->fp, "  %sWarning:%s %zu of %zu runs exited non-zero (ignored with -i).\n", Y, R,
                st.failed_runs, c->nruns);
    const struct stats_outliers *ol = &st.outliers;
    size_t tukey = ol->low_mild + ol->high_mild + ol->low_severe + ol->high_severe;
    if (ol->zscore > 0 || ol->low_severe + ol->high_severe > 0) {
        fprintf(
            b->fp,
            "  %sWarning:%s outliers (kept): %zu by modified z-score; Tukey %zu/%zu mild, %zu/%zu "
            "severe (low/high).\n"
            "  Other work on the machine or cold caches may cause them: try --warmup or a quieter machine.\n",
            Y, R, ol->zscore, ol->low_mild, ol->high_mild, ol->low_severe, ol->high_severe);
    } else if (tukey > 0) {
        fprintf(b->fp, "  Note: %zu mild outlier%s (Tukey 1.5 IQR), kept.\n", tukey, tukey == 1 ? "" : "s");
    }
    fprintf(b->fp, "\n");
    fflush(b->fp);
}

void bench_out_print_failure(struct bench_outputs *b, const struct bench_set *s,
                             const struct suite_failure *f, bool ignore_failure)
{
    (void)s;
    const struct term *t = &b->err;
    fprintf(stderr, "%sError:%s %s%s '%s' ", term_style(t, TERM_RED), term_style(t, TERM_RESET), f->phase,
            strcmp(f->phase, "command") ? " command" : "", f->command);
    if (f->term_signal)
        fprintf(stderr, "was killed by signal %d (%s).", f->term_signal, strsignal(f->term_signal));
    else
        fprintf(stderr, "exited with status %d.", f->exit_code);
    if (!strcmp(f->phase, "command") && ignore_failure)
        fprintf(stderr, " It is not among the exit codes --ignore-failure keeps (128 + N for signal N).");
    else if (!strcmp(f->phase, "command"))
        fprintf(stderr, " Use -i/--ignore-failure to benchmark it anyway.");
    fprintf(stderr, "\n");
    if (f->stderr_tail[0]) {
        fprintf(stderr, "Last lines of its stderr:\n");
        const char *p = f->stderr_tail;
        while (*p) {
            size_t n = strcspn(p, "\n");
            fprintf(stderr, "  | %.*s\n", (int)n, p);
            p += n;
            if (*p)
                p++;
        }
    }
}

static void fmt_p(char *buf, size_t n, double p)
{
    if (p < 0.001)
        snprintf(buf, n, "p < 0.001");
    else
        snprintf(buf, n, "p = %.3f", p);
}

int bench_out_interrupted(void)
{
    fflush(stdout);
    fprintf(stderr, "perfkit bench: interrupted while computing the statistics; nothing more is "
                    "printed or exported\n");
    return EXIT_INTERRUPTED;
}

/* By mean time, as hyperfine's summary (--sort auto or mean-time); the
 * statistics are cached by then (bench_cmd_finalize). */
static int cmp_mean(const void *pa, const void *pb, void *set)
{
    const struct bench_set *s = set;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    struct bench_stats sa, sb;
    double ma = bench_cmd_stats(&s->cmds[a], &sa) == 0 ? sa.wall.mean : 0;
    double mb = bench_cmd_stats(&s->cmds[b], &sb) == 0 ? sb.wall.mean : 0;
    if (ma != mb)
        return ma < mb ? -1 : 1;
    return (a > b) - (a < b);
}

/* 0, or PK_ESTOP when s->stop was raised. */
static int print_comparison(struct bench_outputs *b, const struct bench_set *s)
{
    size_t ref = export_reference(s, SIZE_MAX);
    if (ref == SIZE_MAX || s->ncmds < 2)
        return 0;
    const struct bench_cmd *rc = &s->cmds[ref];
    if (rc->nruns == 0)
        return 0;
    struct term *t = &b->out;
    const char *B = term_style(t, TERM_BOLD), *R = term_style(t, TERM_RESET);
    const char *G = term_style(t, TERM_GREEN), *RED = term_style(t, TERM_RED);
    double *rt = bench_cmd_times(rc);
    if (!rt)
        return 0;
    size_t *order = malloc(s->ncmds * sizeof(*order)), n = 0;
    if (!order) {
        free(rt);
        return 0;
    }
    for (size_t i = 0; i < s->ncmds; i++)
        if (i != ref && bench_cmd_exported(&s->cmds[i]))
            order[n++] = i;
    if (b->summary_by_mean)
        qsort_r(order, n, sizeof(*order), cmp_mean, (void *)s);
    fprintf(b->fp, "%sSummary%s\n  %s%s%s ran\n", B, R, term_style(t, TERM_CYAN), rc->name, R);
    int stopped = 0;
    for (size_t k = 0; k < n && !stopped; k++) {
        size_t i = order[k];
        double *ot = bench_cmd_times(&s->cmds[i]);
        struct bench_comparison cmp;
        int crc = ot ? bench_compare_stop(ot, s->cmds[i].nruns, rt, rc->nruns, 0.0, s->stop, &cmp) : -ENOMEM;
        if (crc) {
            stopped = crc == PK_ESTOP ? crc : 0;
            free(ot);
            continue;
        }
        char p[32];
        fmt_p(p, sizeof(p), cmp.mwu.p);
        /* ratio = other / reference: > 1 means the reference is faster. */
        if (cmp.mwu.p >= 0.05) {
            fprintf(b->fp, "    no significant difference from %s (ratio %.2f, 95%% CI %.2f–%.2f, %s)\n",
                    s->cmds[i].name, cmp.ratio_median, cmp.ratio_median_ci.lo, cmp.ratio_median_ci.hi, p);
        } else if (cmp.ratio_median >= 1.0) {
            fprintf(b->fp, "    %s%.2f%s × faster than %s (95%% CI %.2f–%.2f, %s)\n", G, cmp.ratio_median, R,
                    s->cmds[i].name, cmp.ratio_median_ci.lo, cmp.ratio_median_ci.hi, p);
        } else {
            fprintf(b->fp, "    %s%.2f%s × slower than %s (95%% CI %.2f–%.2f, %s)\n", RED,
                    1.0 / cmp.ratio_median, R, s->cmds[i].name, 1.0 / cmp.ratio_median_ci.hi,
                    1.0 / cmp.ratio_median_ci.lo, p);
        }
        free(ot);
    }
    free(rt);
    free(order);
    if (!stopped)
        fprintf(b->fp, "\n");
    return stopped;
}

static const char *metric_label(enum bench_metric m)
{
    switch (m) {
    case BENCH_METRIC_CPU: return "cpu (user + system time per run)";
    case BENCH_METRIC_INSTRUCTIONS: return "instructions per run";
    default: return "wall time per run";
    }
}

/* Compares every command with its baseline result on b->metric, fills
 * b->gate and prints the verdicts. Sets *regressed when some command is
 * slower; 0, -ENOMEM, or PK_ESTOP when s->stop was raised. */
static int print_baseline(struct bench_outputs *b, const struct bench_set *s, bool *regressed)
{
    struct term *t = &b->out;
    const char *B = term_style(t, TERM_BOLD), *R = term_style(t, TERM_RESET);
    free(b->gate);
    b->gate = calloc(s->ncmds ? s->ncmds : 1, sizeof(*b->gate));
    if (!b->gate)
        return -ENOMEM;
    b->ngate = s->ncmds;
    fprintf(b->fp, "%sBaseline%s %s (gate metric: %s; threshold %.1f%%)\n", B, R, b->baseline,
            metric_label(b->metric), b->threshold * 100);
    if (b->base.n == 0)
        fprintf(b->fp, "  it holds no results: nothing to compare\n");
    for (size_t i = 0; i < s->ncmds; i++) {
        const struct bench_cmd *c = &s->cmds[i];
        struct export_gate_row *row = &b->gate[i];
        if (!bench_cmd_exported(c))
            continue;
        /* Commands of the same name meet the baseline's results of that name in order. */
        size_t nth = 0;
        for (size_t k = 0; k < i; k++)
            nth += strcmp(s->cmds[k].name, c->name) == 0;
        const struct baseline_entry *be = baseline_find_nth(&b->base, c->name, nth);
        if (!be) {
            snprintf(row->why, sizeof(row->why), "not in the baseline");
            b->gate_undecided = true;
            fprintf(b->fp, "  %-40s not in the baseline\n", c->name);
            continue;
        }
        struct pk_err e;
        pk_err_clear(&e);
        int rc = baseline_compare_metric(be, c, b->metric, b->threshold, &row->cmp, &e);
        if (rc == PK_ESTOP)
            return rc;
        if (rc) {
            pk_err_str(&e, row->why, sizeof(row->why));
            b->gate_undecided = true;
            fprintf(b->fp, "  %-40s cannot compare: %s\n", c->name, row->why);
            continue;
        }
        row->compared = true;
        char p[32];
        fmt_p(p, sizeof(p), row->cmp.mwu.p);
        const char *word, *col;
        switch (row->cmp.verdict) {
        case BENCH_SLOWER:
            word = "slower";
            col = term_style(t, TERM_RED);
            *regressed = true;
            break;
        case BENCH_FASTER:
            word = "faster";
            col = term_style(t, TERM_GREEN);
            break;
        default: word = "no change"; col = "";
        }
        fprintf(b->fp, "  %-40s %s%-9s%s ratio %.3f (95%% CI %.3f–%.3f), %s\n", c->name, col, word, R,
                row->cmp.ratio_median, row->cmp.ratio_median_ci.lo, row->cmp.ratio_median_ci.hi, p);
    }
    fprintf(b->fp, "\n");
    return 0;
}

static char *git_revision(void)
{
    FILE *p = popen("git rev-parse --short=12 HEAD 2>/dev/null", "r");
    if (!p)
        return NULL;
    char buf[64];
    char *out = NULL;
    if (fgets(buf, sizeof(buf), p)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (buf[0])
            out = strdup(buf);
    }
    if (pclose(p) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

/* The invocation as a shell would read it back: a word with anything but
 * plainly safe characters is single-quoted, its own quotes as '\''. */
static char *join_argv(int argc, char **argv)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "_@%+=:,./-";
    size_t n = strlen("perfkit") + 1;
    for (int i = 0; i < argc; i++)
        n += 4 * strlen(argv[i]) + 3;
    char *s = malloc(n);
    if (!s)
        return NULL;
    size_t off = (size_t)snprintf(s, n, "perfkit");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool q = !a[0] || a[strspn(a, safe)] != '\0';
        s[off++] = ' ';
        if (q)
            s[off++] = '\'';
        for (; *a; a++) {
            if (q && *a == '\'') {
                memcpy(s + off, "'\\''", 4);
                off += 4;
            } else {
                s[off++] = *a;
            }
        }
        if (q)
            s[off++] = '\'';
    }
    s[off] = '\0';
    return s;
}

static int write_out(const char *path, const char *data, const char *opt)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (!strcmp(path, "-")) {
        if (fputs(data, stdout) == EOF || fflush(stdout) == EOF || ferror(stdout)) {
            err_errno(&e, -errno, "stdout", "cannot write");
            err_prefix_on(&e, ": ");
            err_prefix_on(&e, opt);
            return report(&e, EXIT_RUNTIME);
        }
        return 0;
    }
    if (export_write(path, data, strlen(data), &e)) {
        err_prefix_on(&e, ": ");
        err_prefix_on(&e, opt);
        return report(&e, EXIT_RUNTIME);
    }
    return 0;
}

/* The JSON export and the saved baseline, one text for both: EXIT_OK,
 * EXIT_RUNTIME (said), or EXIT_INTERRUPTED (said) when s->stop was raised. */
static int write_json(struct bench_outputs *b, const struct bench_set *s)
{
    int rc = EXIT_OK;
    char *rev = git_revision();
    char *cl = join_argv(b->argc, b->argv);
    struct export_context ctx = {
        .host = b->host_known ? b->host.hostname : NULL,
        .kernel = b->host_known ? b->host.kernel : NULL,
        .cpu_model = b->host_known ? b->host.cpu_model : NULL,
        .cpus = b->host_known ? b->host.cpus : 0,
        .governor = b->host_known ? b->host.governor : NULL,
        .load_known = b->host_known && b->host.load_known,
        .perfkit_version = pk_version(),
        .date = time(NULL),
        .git_revision = rev,
        .command_line = cl,
    };
    if (b->host_known)
        memcpy(ctx.load_avg, b->host.load, sizeof(ctx.load_avg));
    json_t *root = NULL;
    struct pk_err e;
    pk_err_clear(&e);
    int jrc = export_json(s, &ctx, SIZE_MAX, &root, &e);
    if (jrc == 0 && b->gate) {
        struct export_gate g = { .file = b->baseline,
                                 .metric = b->metric,
                                 .threshold = b->threshold,
                                 .fail_on_regression = b->fail_on_regression,
                                 .rows = b->gate };
        jrc = export_json_gate(root, s, &g, &e);
    }
    char *text = jrc ? NULL : jsonio_dumps(root);
    json_decref(root);
    free(rev);
    free(cl);
    if (jrc == PK_ESTOP)
        return bench_out_interrupted();
    if (jrc)
        return report(&e, EXIT_RUNTIME);
    if (!text) {
        err_errno(&e, -ENOMEM, NULL, "cannot export results");
        return report(&e, EXIT_RUNTIME);
    }
    if (b->json && write_out(b->json, text, "--export-json"))
        rc = EXIT_RUNTIME;
    /* A baseline with a command cut short would gate later runs on a partial
     * sample, or not load at all (a command without runs). */
    if (b->save_baseline && b->incomplete)
        fprintf(stderr, "perfkit bench: --save-baseline: %s not written: the benchmark did not complete\n",
                b->save_baseline);
    else if (b->save_baseline && write_out(b->save_baseline, text, "--save-baseline"))
        rc = EXIT_RUNTIME;
    free(text);
    return rc;
}

/* CSV and the tables: as write_json(). */
static int write_text(struct bench_outputs *b, const struct bench_set *s)
{
    int rc = EXIT_OK;
    const char *paths[] = { b->csv, b->markdown, b->asciidoc, b->orgmode };
    static const char *const opts[] = { "--export-csv", "--export-markdown", "--export-asciidoc",
                                        "--export-orgmode" };
    static const enum export_format formats[] = { EXPORT_MARKDOWN, EXPORT_MARKDOWN, EXPORT_ASCIIDOC,
                                                  EXPORT_ORGMODE };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (!paths[i])
            continue;
        struct pk_err e;
        pk_err_clear(&e);
        struct export_table t = {
            .format = formats[i], .reference = SIZE_MAX, .unit = b->unit, .by_mean = b->tables_by_mean
        };
        char *text = i == 0 ? export_csv(s, &e) : export_table(s, &t, &e);
        if (!text && e.code == PK_ESTOP)
            return bench_out_interrupted();
        if (!text || write_out(paths[i], text, opts[i]))
            rc = text ? EXIT_RUNTIME : report(&e, EXIT_RUNTIME);
        free(text);
    }
    return rc;
}

int bench_out_finish(struct bench_outputs *b, const struct bench_set *s)
{
    int rc = EXIT_OK;
    bool regressed = false;
    if (print_comparison(b, s))
        return bench_out_interrupted();
    int grc = b->base_loaded ? print_baseline(b, s, &regressed) : 0;
    if (grc == PK_ESTOP)
        return bench_out_interrupted();
    if (grc)
        rc = EXIT_RUNTIME;
    int wrc = b->json || b->save_baseline ? write_json(b, s) : EXIT_OK;
    if (wrc == EXIT_INTERRUPTED)
        return wrc;
    rc = rc ? rc : wrc;
    wrc = write_text(b, s);
    if (wrc == EXIT_INTERRUPTED)
        return wrc;
    rc = rc ? rc : wrc;
    if (rc == EXIT_OK && regressed && b->fail_on_regression) {
        fflush(stdout);
        fprintf(stderr, "perfkit bench: regression against %s beyond %.1f%% (gate metric: %s)\n", b->baseline,
                b->threshold * 100, bench_metric_name(b->metric));
        rc = EXIT_REGRESSION;
    } else if (rc == EXIT_OK && b->gate_undecided && b->fail_on_regression) {
        fflush(stdout);
        fprintf(stderr, "perfkit bench: --fail-on-regression: a command could not be compared with %s\n",
                b->baseline);
        rc = EXIT_RUNTIME;
    }
    return rc;
}
