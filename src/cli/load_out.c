/*
 * load_out - the summary, self-check, progress line and spectrum of
 * `perfkit load` (load_out.h).
 *
 * Layout: a bold header line, then one row per topic with its label in a
 * 10-column field. Lists (status codes, errors, thresholds) wrap at the
 * terminal width under their first item, so a long list stays readable in
 * an 80-column terminal and in a CI log alike. Counts carry thousands
 * separators; durations, sizes and rates go through core/units so every
 * tool of perfkit writes them the same way.
 */
#define _GNU_SOURCE
#include "cli/load_out.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hdrlog.h"
#include "core/hist.h"
#include "core/units.h"

#define LABEL_COLS 13 /* "  requests   " */
#define COL_W      9  /* a percentile column: "1.10 ms" and two blanks */
#define WIDTH_MIN  40
#define WIDTH_MAX  200

/* ---- formatting helpers */

/* 812345 -> "812,345". */
static char *fmt_int(uint64_t v, char *buf, size_t len)
{
    char digits[32];
    int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* A rate or any other non-negative figure: whole with separators from 100
 * on, else with one or two decimals ("12.5", "0.25"); "-" without data. */
static char *fmt_num(double v, char *buf, size_t len)
{
    if (!isfinite(v) || v < 0)
        snprintf(buf, len, "-");
    else if (v == 0)
        snprintf(buf, len, "0");
    else if (v >= 100)
        fmt_int((uint64_t)llround(v), buf, len);
    else if (v >= 10)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.2f", v);
    return buf;
}

/* A fraction as a percentage; a tiny non-zero one is not shown as 0.00%. */
static char *fmt_pct(double frac, char *buf, size_t len)
{
    if (!isfinite(frac))
        snprintf(buf, len, "-");
    else if (frac > 0 && frac < 0.0001)
        snprintf(buf, len, "<0.01%%");
    else
        snprintf(buf, len, "%.2f%%", frac * 100);
    return buf;
}

static char *fmt_us(double us, char *buf, size_t len)
{
    return units_format_duration(us / 1e6, buf, len);
}

/* Columns taken by UTF-8 text: one per code point. */
static size_t cols_of(const char *s)
{
    size_t c = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            c++;
    return c;
}

static size_t width_of(const struct term *t)
{
    int w = t->width;
    if (w < WIDTH_MIN)
        w = WIDTH_MIN;
    if (w > WIDTH_MAX)
        w = WIDTH_MAX;
    return (size_t)w - 1; /* the last column makes many terminals wrap early */
}

/* ---- rows: "  label      item · item · item", wrapped under the first item */

struct row {
    const struct term *t;
    FILE *fp;
    size_t col, width;
    size_t indent; /* of the lines it wraps to */
    const char *sep;
    bool empty;
};

static void row_start(struct row *w, const struct term *t, const char *label, const char *sep)
{
    w->t = t;
    w->fp = t->fp;
    w->width = width_of(t);
    w->sep = sep;
    w->empty = true;
    fprintf(w->fp, "  %-10s ", label);
    w->col = LABEL_COLS;
    w->indent = LABEL_COLS;
}

static void row_item(struct row *w, const char *style, const char *text)
{
    size_t n = cols_of(text);
    if (!w->empty) {
        size_t s = cols_of(w->sep);
        if (w->col + s + n > w->width) {
            fprintf(w->fp, "\n%*s", (int)w->indent, "");
            w->col = w->indent;
        } else {
            fputs(w->sep, w->fp);
            w->col += s;
        }
    }
    const char *reset = style && *style ? term_style(w->t, TERM_RESET) : "";
    fprintf(w->fp, "%s%s%s", style ? style : "", text, reset);
    w->col += n;
    w->empty = false;
}

/* Free text, wrapped between words. */
static void row_words(struct row *w, const char *style, const char *text)
{
    const char *saved = w->sep;
    w->sep = " ";
    char word[LOAD_OUT_WARNING_LEN];
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        if (n >= sizeof(word))
            n = sizeof(word) - 1;
        memcpy(word, p, n);
        word[n] = '\0';
        row_item(w, style, word);
        p += n;
    }
    w->sep = saved;
}

static void row_end(struct row *w)
{
    fputc('\n', w->fp);
}

/* ---- self-check */

static void warn_add(struct load_warnings *w, const char *text)
{
    if (w->n >= LOAD_OUT_WARNINGS_MAX)
        return;
    snprintf(w->text[w->n], sizeof(w->text[w->n]), "%s", text);
    w->ptr[w->n] = w->text[w->n];
    w->n++;
}

void load_out_selfcheck(const struct load_result *r, struct load_warnings *w)
{
    char msg[LOAD_OUT_WARNING_LEN];
    memset(w, 0, sizeof(*w));
    if (r->generator_cpu >= LOAD_OUT_CPU_BUSY) {
        snprintf(msg, sizeof(msg),
                 "the generator was the bottleneck: its busiest thread used %.0f%% of a CPU; "
                 "these numbers may measure perfkit rather than the server "
                 "(add -t, or run several generators: docs/load.md)",
                 r->generator_cpu * 100);
        warn_add(w, msg);
    }
    if (r->open_model && r->rate_target > 0) {
        bool late = r->sends > 0 && (double)r->late_sends > LOAD_OUT_LATE_FRACTION * (double)r->sends;
        bool slow = !(r->rate_achieved >= LOAD_OUT_RATE_FRACTION * r->rate_target);
        if (late || slow || r->dropped) {
            char a[32], b[32], c[32], d[32], parts[400] = "";
            size_t o = 0;
            if (late)
                o += (size_t)snprintf(parts, sizeof(parts),
                                      "%s of %s sends (%.1f%%) left more than 1 ms after their time "
                                      "(at worst %s)",
                                      fmt_int(r->late_sends, a, sizeof(a)), fmt_int(r->sends, b, sizeof(b)),
                                      100.0 * (double)r->late_sends / (double)r->sends,
                                      fmt_us((double)r->lateness_max_us, c, sizeof(c)));
            if (slow && o < sizeof(parts))
                o += (size_t)snprintf(
                    parts + o, sizeof(parts) - o, "%sachieved %s/s of the %s/s target (%.1f%%)",
                    late ? "; " : "", fmt_num(r->rate_achieved, a, sizeof(a)),
                    fmt_num(r->rate_target, d, sizeof(d)),
                    isfinite(r->rate_achieved) ? 100.0 * r->rate_achieved / r->rate_target : 0.0);
            if (r->dropped && o < sizeof(parts))
                snprintf(parts + o, sizeof(parts) - o, "%s%s due requests never sent (dropped)",
                         late || slow ? "; " : "", fmt_int(r->dropped, a, sizeof(a)));
            snprintf(msg, sizeof(msg),
                     "sends fell behind the schedule: %s (add connections -c or threads -t)", parts);
            warn_add(w, msg);
        }
    }
}

/* ---- thresholds */

static char *fmt_threshold_value(const struct threshold *t, double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "no data");
        return buf;
    }
    switch (t->metric) {
    case THRESHOLD_ERROR_RATE:
    case THRESHOLD_DROPPED: return fmt_pct(v, buf, len);
    case THRESHOLD_RPS: {
        char n[32];
        snprintf(buf, len, "%s req/s", fmt_num(v, n, sizeof(n)));
        return buf;
    }
    default: return units_format_duration(v, buf, len);
    }
}

size_t load_out_thresholds_failed(const struct load_result *r, const struct threshold *th, size_t nth)
{
    size_t failed = 0;
    for (size_t i = 0; i < nth; i++)
        if (!threshold_pass(&th[i], result_threshold_value(r, &th[i])))
            failed++;
    return failed;
}

/* ---- summary */

static void latency_block(const struct term *t, const char *desc, const struct hist *h)
{
    FILE *fp = t->fp;
    const char *D = term_style(t, TERM_DIM), *R = term_style(t, TERM_RESET);
    char a[32], b[32], c[32];
    fprintf(fp, "  %-10s ", "latency");
    if (desc)
        fprintf(fp, "%s%s%s\n%*s", D, desc, R, LABEL_COLS, "");
    if (hist_total(h) == 0) {
        fprintf(fp, "no responses\n");
        return;
    }
    fprintf(fp, "mean %s, σ %s, min %s\n", fmt_us(hist_mean(h), a, sizeof(a)),
            fmt_us(hist_stddev(h), b, sizeof(b)), fmt_us((double)hist_min(h), c, sizeof(c)));
    static const double pct[] = { 50, 75, 90, 99, 99.9, 99.99 };
    static const char *const name[] = { "p50", "p75", "p90", "p99", "p99.9", "p99.99", "max" };
    enum { NCOL = 7 };
    char vals[NCOL][32];
    for (int i = 0; i < NCOL - 1; i++)
        fmt_us((double)hist_value_at_percentile(h, pct[i]), vals[i], sizeof(vals[i]));
    fmt_us((double)hist_max(h), vals[NCOL - 1], sizeof(vals[NCOL - 1]));
    /* Columns as wide as their widest value, so "16.7 min" does not shift the row. */
    fprintf(fp, "%*s%s", LABEL_COLS, "", D);
    for (int i = 0; i < NCOL; i++) {
        size_t w = cols_of(vals[i]) + 2 > COL_W ? cols_of(vals[i]) + 2 : COL_W;
        fprintf(fp, "%s%*s", name[i], i + 1 < NCOL ? (int)(w - strlen(name[i])) : 0, "");
    }
    fprintf(fp, "%s\n%*s", R, LABEL_COLS, "");
    for (int i = 0; i < NCOL; i++) {
        size_t w = cols_of(vals[i]) + 2 > COL_W ? cols_of(vals[i]) + 2 : COL_W;
        fprintf(fp, "%s%*s", vals[i], i + 1 < NCOL ? (int)(w - cols_of(vals[i])) : 0, "");
    }
    fputc('\n', fp);
}

static int cmp_err(const void *pa, const void *pb)
{
    const struct result_error *a = pa, *b = pb;
    if (a->phase != b->phase)
        return a->phase < b->phase ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->name, b->name);
}

static void errors_row(const struct term *t, const struct load_result *r)
{
    struct result_error errs[RESULT_ERROR_NAMES_MAX];
    size_t n = r->nerrs < RESULT_ERROR_NAMES_MAX ? r->nerrs : RESULT_ERROR_NAMES_MAX;
    memcpy(errs, r->errs, n * sizeof(errs[0]));
    qsort(errs, n, sizeof(errs[0]), cmp_err);
    struct row w;
    row_start(&w, t, "errors", " · ");
    char item[160], cnt[32];
    const char *red = term_style(t, TERM_RED);
    for (size_t i = 0; i < n; i++) {
        if (!errs[i].count)
            continue;
        const char *phase = result_phase_name((enum load_phase)errs[i].phase);
        char name[RESULT_ERROR_NAME_MAX + 1];
        memcpy(name, errs[i].name, sizeof(name));
        name[RESULT_ERROR_NAME_MAX] = '\0';
        if (!strcmp(name, phase)) /* "timeout timeout 3" reads better as "timeout 3" */
            snprintf(item, sizeof(item), "%s %s", phase, fmt_int(errs[i].count, cnt, sizeof(cnt)));
        else
            snprintf(item, sizeof(item), "%s %s %s", phase, name, fmt_int(errs[i].count, cnt, sizeof(cnt)));
        row_item(&w, red, item);
    }
    if (r->status_errors) {
        snprintf(item, sizeof(item), "status ≥ 400 %s", fmt_int(r->status_errors, cnt, sizeof(cnt)));
        row_item(&w, red, item);
    }
    if (r->dropped) {
        snprintf(item, sizeof(item), "dropped %s", fmt_int(r->dropped, cnt, sizeof(cnt)));
        row_item(&w, red, item);
    }
    row_end(&w);
}

static void status_row(const struct term *t, const struct load_result *r)
{
    struct row w;
    bool any = false;
    char item[64], cnt[32];
    for (int s = 100; s < RESULT_STATUS_MAX; s++) {
        if (!r->status[s])
            continue;
        if (!any)
            row_start(&w, t, "status", " · ");
        any = true;
        enum term_style st = s >= 500 ? TERM_RED : s >= 400 ? TERM_YELLOW : s < 300 ? TERM_GREEN : TERM_RESET;
        snprintf(item, sizeof(item), "%d %s", s, fmt_int(r->status[s], cnt, sizeof(cnt)));
        row_item(&w, st == TERM_RESET ? "" : term_style(t, st), item);
    }
    if (any)
        row_end(&w);
}

/* Errors, their share of the attempts (responses and errors that were not
 * responses), the p50 and p99 of a group or a stage as row items. */
static void part_items(struct row *w, const struct term *t, uint64_t requests, uint64_t errors,
                       uint64_t status, uint64_t dropped, const struct hist *h)
{
    char item[96], a[32], b[32];
    double all = (double)requests + (double)(errors - status);
    snprintf(item, sizeof(item), "%s error%s (%s)", fmt_int(errors, a, sizeof(a)), errors == 1 ? "" : "s",
             fmt_pct(all > 0 ? (double)errors / all : 0, b, sizeof(b)));
    row_item(w, errors ? term_style(t, TERM_RED) : NULL, item);
    if (dropped) {
        snprintf(item, sizeof(item), "%s dropped", fmt_int(dropped, a, sizeof(a)));
        row_item(w, term_style(t, TERM_RED), item);
    }
    if (hist_total(h)) {
        snprintf(item, sizeof(item), "p50 %s", fmt_us((double)hist_value_at_percentile(h, 50), a, sizeof(a)));
        row_item(w, NULL, item);
        snprintf(item, sizeof(item), "p99 %s", fmt_us((double)hist_value_at_percentile(h, 99), a, sizeof(a)));
        row_item(w, NULL, item);
    }
}

/* One row per request name (when there are several): the name, then its
 * requests, errors, p50, p99 and status codes. */
static void groups_rows(const struct term *t, const struct load_result *r)
{
    char item[96], a[32];
    for (size_t i = 0; i < r->ngroups && r->ngroups > 1; i++) {
        const struct result_group *g = &r->groups[i];
        struct row w;
        row_start(&w, t, i == 0 ? "by name" : "", " · ");
        row_item(&w, term_style(t, TERM_BOLD), g->name);
        w.indent = LABEL_COLS + 2;
        fprintf(w.fp, "\n%*s", (int)w.indent, "");
        w.col = w.indent;
        w.empty = true;
        snprintf(item, sizeof(item), "%s request%s", fmt_int(g->requests, a, sizeof(a)),
                 g->requests == 1 ? "" : "s");
        row_item(&w, NULL, item);
        part_items(&w, t, g->requests, g->errors, g->status_errors, g->dropped, &g->latency);
        for (int s = 100; s < RESULT_STATUS_MAX; s++)
            if (g->status[s]) {
                snprintf(item, sizeof(item), "%d %s", s, fmt_int(g->status[s], a, sizeof(a)));
                row_item(&w, NULL, item);
            }
        row_end(&w);
    }
}

/* One row per --stage: its target and length, then what it measured. */
static void stages_rows(const struct term *t, const struct load_result *r)
{
    char item[128], a[32], b[32];
    for (size_t i = 0; i < r->nstages; i++) {
        const struct result_stage *s = &r->stages[i];
        struct row w;
        row_start(&w, t, i == 0 ? "stages" : "", " · ");
        w.indent = LABEL_COLS + 3;
        if (r->open_model)
            snprintf(item, sizeof(item), "%zu: %s/s for %s", i + 1, fmt_int(s->target, a, sizeof(a)),
                     units_format_duration(s->length_s, b, sizeof(b)));
        else
            snprintf(item, sizeof(item), "%zu: %s connection%s for %s", i + 1,
                     fmt_int(s->target, a, sizeof(a)), s->target == 1 ? "" : "s",
                     units_format_duration(s->length_s, b, sizeof(b)));
        row_item(&w, NULL, item);
        if (!(s->duration_s > 0)) {
            row_item(&w, term_style(t, TERM_DIM), "in the warmup");
            row_end(&w);
            continue;
        }
        snprintf(item, sizeof(item), "%s req/s", fmt_num((double)s->requests / s->duration_s, a, sizeof(a)));
        row_item(&w, NULL, item);
        part_items(&w, t, s->requests, s->errors, s->status_errors, s->dropped, &s->latency);
        row_end(&w);
    }
}

/* Means (and the CPU's max) of the host metrics over the seconds that have them. */
static void host_row(const struct term *t, const struct load_result *r)
{
    double cpu = 0, cpu_max = 0, mem = 0, rx = 0, tx = 0;
    size_t ncpu = 0, nmem = 0, nnet = 0;
    for (size_t i = 0; i < r->nseries; i++) {
        const struct result_second *s = &r->series[i];
        if (isfinite(s->cpu_pct)) {
            cpu += s->cpu_pct;
            cpu_max = s->cpu_pct > cpu_max ? s->cpu_pct : cpu_max;
            ncpu++;
        }
        if (isfinite(s->mem_used_pct)) {
            mem += s->mem_used_pct;
            nmem++;
        }
        if (isfinite(s->net_rx_bps) && isfinite(s->net_tx_bps)) {
            rx += s->net_rx_bps;
            tx += s->net_tx_bps;
            nnet++;
        }
    }
    struct row w;
    char item[128], a[32], b[32];
    row_start(&w, t, "host", ", ");
    if (ncpu) {
        snprintf(item, sizeof(item), "CPU mean %.0f%% (max %.0f%%)", cpu / (double)ncpu, cpu_max);
        row_item(&w, NULL, item);
    }
    if (nmem) {
        snprintf(item, sizeof(item), "memory %.0f%% used", mem / (double)nmem);
        row_item(&w, NULL, item);
    }
    if (nnet) {
        snprintf(item, sizeof(item), "network in %s/s, out %s/s",
                 units_format_size(rx / (double)nnet, a, sizeof(a)),
                 units_format_size(tx / (double)nnet, b, sizeof(b)));
        row_item(&w, NULL, item);
    }
    if (!ncpu && !nmem && !nnet)
        row_item(&w, NULL, "not sampled (unreadable)");
    row_end(&w);
}

static void header(const struct term *t, const struct load_result *r, const char *target)
{
    FILE *fp = t->fp;
    const char *B = term_style(t, TERM_BOLD), *R = term_style(t, TERM_RESET);
    char what[URL_MAX + 64], a[32], b[32], c[32];
    if (target)
        snprintf(what, sizeof(what), "%s", target);
    else if (r->nurls == 0)
        snprintf(what, sizeof(what), "(no URL recorded)");
    else if (r->nurls == 1)
        snprintf(what, sizeof(what), "%s", r->urls[0]);
    else
        snprintf(what, sizeof(what), "%s and %zu more URL%s", r->urls[0], r->nurls - 1,
                 r->nurls > 2 ? "s" : "");
    char details[256];
    size_t o = 0;
    if (r->sources > 1)
        o += (size_t)snprintf(details + o, sizeof(details) - o, "%u results merged, ", r->sources);
    /* Interval logs carry no settings: a result made of them alone has none to show. */
    if (r->threads || r->connections)
        o += (size_t)snprintf(details + o, sizeof(details) - o, "%s model, %s thread%s, %s connection%s, ",
                              r->open_model ? "open" : "closed", fmt_int(r->threads, a, sizeof(a)),
                              r->threads == 1 ? "" : "s", fmt_int(r->connections, b, sizeof(b)),
                              r->connections == 1 ? "" : "s");
    if (r->pipeline > 1 && o < sizeof(details))
        o += (size_t)snprintf(details + o, sizeof(details) - o, "pipeline %u, ", r->pipeline);
    if (o < sizeof(details)) {
        double total = r->duration_s + (r->warmup_s > 0 ? r->warmup_s : 0);
        o += (size_t)snprintf(details + o, sizeof(details) - o, "%s",
                              units_format_duration(total, c, sizeof(c)));
        if (r->warmup_s > 0 && o < sizeof(details))
            snprintf(details + o, sizeof(details) - o, " (warmup %s)",
                     units_format_duration(r->warmup_s, c, sizeof(c)));
    }
    fprintf(fp, "%sperfkit load %s%s — %s\n", B, what, R, details);
}

void load_out_summary(const struct term *t, const struct load_result *r, const char *target,
                      const struct threshold *th, size_t nth, const struct load_warnings *w)
{
    FILE *fp = t->fp;
    const char *R = term_style(t, TERM_RESET);
    char a[32], b[32], c[32], d[32], pct[32];

    header(t, r, target);

    /* requests */
    double rate = result_error_rate(r);
    fprintf(fp, "  %-10s %s in %s, %s req/s, %s%s error%s%s (%s)\n", "requests",
            fmt_int(r->requests, a, sizeof(a)), units_format_duration(r->duration_s, b, sizeof(b)),
            fmt_num(result_rps(r), c, sizeof(c)), r->errors ? term_style(t, TERM_RED) : "",
            fmt_int(r->errors, d, sizeof(d)), r->errors == 1 ? "" : "s", r->errors ? R : "",
            fmt_pct(isnan(rate) ? 0 : rate, pct, sizeof(pct)));

    /* the schedule, open model */
    if (r->open_model) {
        double ach = r->rate_target > 0 ? r->rate_achieved / r->rate_target : NAN;
        fprintf(fp, "  %-10s target %s/s, achieved %s/s (%s)\n", "rate",
                fmt_num(r->rate_target, a, sizeof(a)), fmt_num(r->rate_achieved, b, sizeof(b)),
                fmt_pct(ach, c, sizeof(c)));
        fprintf(fp, "  %-10s %s%s%s of %s by over 1 ms", "late sends",
                r->late_sends ? term_style(t, TERM_YELLOW) : "", fmt_int(r->late_sends, a, sizeof(a)),
                r->late_sends ? R : "", fmt_int(r->sends, b, sizeof(b)));
        if (r->late_sends)
            fprintf(fp, " (max %s)", fmt_us((double)r->lateness_max_us, c, sizeof(c)));
        fputc('\n', fp);
        if (r->dropped)
            fprintf(fp, "  %-10s %s%s%s of %s due (%s) never sent: no connection was free in time\n",
                    "dropped", term_style(t, TERM_RED), fmt_int(r->dropped, a, sizeof(a)), R,
                    fmt_int(r->sends + r->dropped, b, sizeof(b)),
                    fmt_pct(result_dropped_rate(r), c, sizeof(c)));
        latency_block(t, "from the intended send time, corrected for coordinated omission", &r->latency);
        latency_block(t, "from the write, uncorrected", &r->latency_uncorrected);
    } else {
        latency_block(t, NULL, &r->latency);
    }

    status_row(t, r);
    if (r->errors)
        errors_row(t, r);
    if (r->unfinished)
        fprintf(fp, "  %-10s %s request%s sent, still in flight at the end (not counted)\n", "unfinished",
                fmt_int(r->unfinished, a, sizeof(a)), r->unfinished == 1 ? "" : "s");
    if (r->connects) {
        fprintf(fp, "  %-10s %s", "connects", fmt_int(r->connects, a, sizeof(a)));
        if (hist_total(&r->connect))
            fprintf(fp, ", mean %s, max %s", fmt_us(hist_mean(&r->connect), b, sizeof(b)),
                    fmt_us((double)hist_max(&r->connect), c, sizeof(c)));
        fputc('\n', fp);
    }
    if (r->bytes_in || r->bytes_out) {
        double s = r->duration_s > 0 ? r->duration_s : NAN;
        char e[32];
        fprintf(fp, "  %-10s in %s", "transfer", units_format_size((double)r->bytes_in, a, sizeof(a)));
        if (isfinite(s))
            fprintf(fp, " (%s/s)", units_format_size((double)r->bytes_in / s, b, sizeof(b)));
        fprintf(fp, ", out %s", units_format_size((double)r->bytes_out, c, sizeof(c)));
        if (isfinite(s))
            fprintf(fp, " (%s/s)", units_format_size((double)r->bytes_out / s, e, sizeof(e)));
        fputc('\n', fp);
    }
    groups_rows(t, r);
    stages_rows(t, r);
    if (r->host_metrics)
        host_row(t, r);
    if (r->generator_cpu > 0)
        fprintf(fp, "  %-10s busiest thread used %.0f%% of a CPU\n", "generator", r->generator_cpu * 100);

    if (nth) {
        struct row row;
        row_start(&row, t, "thresholds", "  ");
        for (size_t i = 0; i < nth; i++) {
            double v = result_threshold_value(r, &th[i]);
            bool pass = threshold_pass(&th[i], v);
            char item[THRESHOLD_TEXT_MAX + 64];
            snprintf(item, sizeof(item), "%s %s (%s)", pass ? "✓" : "✗", th[i].text,
                     fmt_threshold_value(&th[i], v, a, sizeof(a)));
            row_item(&row, term_style(t, pass ? TERM_GREEN : TERM_RED), item);
        }
        row_end(&row);
    }
    if (w) {
        for (size_t i = 0; i < w->n; i++) {
            struct row row;
            fputs(term_style(t, TERM_YELLOW), fp);
            row_start(&row, t, "warning", " ");
            row_words(&row, NULL, w->text[i]);
            fputs(R, fp);
            row_end(&row);
        }
    }
}

int load_out_spectrum(FILE *fp, const struct load_result *r, struct pk_err *e)
{
    char *text = NULL;
    size_t len = 0;
    int rc = hdrlog_spectrum(&r->latency, 5, 1000.0, &text, &len, e);
    if (rc)
        return rc;
    fwrite(text, 1, len, fp);
    fflush(fp);
    free(text);
    return 0;
}

/* ---- progress */

/* "42s", "3m05s", "1h02m". */
static char *fmt_clock(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0)
        s = 0;
    unsigned v = s > 359999 ? 359999 : (unsigned)(s + 0.5);
    if (v < 60)
        snprintf(buf, len, "%us", v);
    else if (v < 3600)
        snprintf(buf, len, "%um%02us", v / 60, v % 60);
    else
        snprintf(buf, len, "%uh%02um", v / 3600, v / 60 % 60);
    return buf;
}

char *load_out_progress_text(const struct load_progress *p, bool open_model, char *buf, size_t len)
{
    char t1[32], t2[32], n1[32], n2[32], r1[32], r2[32], lat[32], er[32];
    char when[80], reqs[80], target[64];
    if (p->total_s > 0)
        snprintf(when, sizeof(when), "%s/%s", fmt_clock(p->elapsed_s, t1, sizeof(t1)),
                 fmt_clock(p->total_s, t2, sizeof(t2)));
    else
        snprintf(when, sizeof(when), "%s", fmt_clock(p->elapsed_s, t1, sizeof(t1)));
    if (p->max_requests)
        snprintf(reqs, sizeof(reqs), "%s/%s", fmt_int(p->requests, n1, sizeof(n1)),
                 fmt_int(p->max_requests, n2, sizeof(n2)));
    else
        snprintf(reqs, sizeof(reqs), "%s", fmt_int(p->requests, n1, sizeof(n1)));
    if (open_model)
        snprintf(target, sizeof(target), "target %s/s", fmt_int(p->target, r2, sizeof(r2)));
    else
        snprintf(target, sizeof(target), "%s conn", fmt_int(p->target, r2, sizeof(r2)));
    if (p->rps > 0)
        fmt_us((double)p->p99_us, lat, sizeof(lat));
    else
        snprintf(lat, sizeof(lat), "-");
    snprintf(buf, len, "%s%s  %s requests  %s req/s  p99 %s  %s error%s  %s", p->warmup ? "warmup  " : "",
             when, reqs, fmt_num(p->rps, r1, sizeof(r1)), lat, fmt_int(p->errors, er, sizeof(er)),
             p->errors == 1 ? "" : "s", target);
    return buf;
}

void load_out_progress(const struct load_progress *p, void *arg)
{
    struct load_live *l = arg;
    if (!l || !l->t || !l->t->tty || !l->t->fp)
        return;
    char text[256];
    load_out_progress_text(p, l->open_model, text, sizeof(text));
    size_t width = width_of(l->t), n = strlen(text);
    if (n > width) /* the text is ASCII: bytes are columns */
        n = width;
    fprintf(l->t->fp, "\r%.*s%*s", (int)n, text, (int)(width - n), "");
    fflush(l->t->fp);
    l->drawn = true;
}

void load_out_progress_clear(struct load_live *l)
{
    if (!l || !l->drawn || !l->t || !l->t->fp)
        return;
    fprintf(l->t->fp, "\r%*s\r", (int)width_of(l->t), "");
    fflush(l->t->fp);
    l->drawn = false;
}
