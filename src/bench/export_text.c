/* The text exports: hyperfine's CSV, and its Markdown, AsciiDoc and Org
 * mode tables (export.h). */
#define _GNU_SOURCE /* qsort_r */
#include "bench/export.h"
#include "bench/export_impl.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

/* ---- text output */

/* The text, or NULL with the buffer's error in *e. */
static char *finish(struct buf *b, struct pk_err *e)
{
    char *out = buf_take(b, NULL);
    if (!out)
        err_errno(e, b->err, NULL, "cannot export results");
    return out;
}

/*
 * A double as Rust's Display writes it, which is what hyperfine's CSV holds:
 * the shortest digits that read back to the same double, in plain decimal
 * notation (no exponent), "0" for zero and no trailing ".0".
 */
static void fmt_plain(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        snprintf(out, cap, signbit(v) ? "-0" : "0");
        return;
    }
    char sci[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    /* sci is [-]d[.ddd]e[+-]xx */
    char digits[24];
    size_t nd = 0;
    const char *p = sci;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < sizeof(digits))
            digits[nd++] = *p;
    long exp10 = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;

    size_t o = 0;
#define OUT(ch)              \
    do {                     \
        if (o + 1 < cap)     \
            out[o++] = (ch); \
    } while (0)
    if (neg)
        OUT('-');
    if (exp10 < 0) {
        OUT('0');
        OUT('.');
        for (long i = 0; i < -exp10 - 1; i++)
            OUT('0');
        for (size_t i = 0; i < nd; i++)
            OUT(digits[i]);
    } else {
        for (long i = 0; i <= exp10; i++)
            OUT((size_t)i < nd ? digits[i] : '0');
        if ((size_t)exp10 + 1 < nd) {
            OUT('.');
            for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                OUT(digits[i]);
        }
    }
#undef OUT
    out[o] = '\0';
}

/* The csv crate's "necessary" quoting, as in hyperfine's files. */
static void csv_field(struct buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        buf_adds(b, s);
        return;
    }
    buf_add(b, "\"", 1);
    for (const char *q = s; *q; q++) {
        if (*q == '"')
            buf_add(b, "\"", 1);
        buf_add(b, q, 1);
    }
    buf_add(b, "\"", 1);
}

static void csv_number(struct buf *b, double v)
{
    char num[400];
    fmt_plain(v, num, sizeof(num));
    buf_add(b, ",", 1);
    buf_adds(b, num);
}

char *export_csv(const struct bench_set *s, struct pk_err *e)
{
    struct cmd_data *d;
    if (export_data_new(s, &d, e))
        return NULL;
    const char **pnames = NULL;
    size_t npnames = 0;
    struct buf b = BUF_INIT;
    if (export_param_names(s, &pnames, &npnames))
        b.err = -ENOMEM;

    buf_adds(&b, "command,mean,stddev,median,user,system,min,max");
    for (size_t i = 0; i < npnames; i++) {
        buf_add(&b, ",", 1);
        /* The header names a column, so it is quoted like any field. */
        char *h = malloc(strlen(pnames[i]) + sizeof("parameter_"));
        if (!h) {
            b.err = -ENOMEM;
            break;
        }
        memcpy(h, "parameter_", 10);
        memcpy(h + 10, pnames[i], strlen(pnames[i]) + 1);
        csv_field(&b, h);
        free(h);
    }
    buf_add(&b, "\n", 1);

    for (size_t i = 0; i < s->ncmds; i++) {
        const struct bench_cmd *c = &s->cmds[i];
        const struct bench_stats *st = &d[i].st;
        if (!d[i].has_stats)
            continue; /* as hyperfine: a failed or unrun benchmark is no row */
        csv_field(&b, c->name);
        /* hyperfine writes 0, not an empty field, for the stddev of one run. */
        csv_number(&b, st->wall.mean);
        csv_number(&b, st->wall.n > 1 ? st->wall.stddev : 0.0);
        csv_number(&b, st->wall.median);
        csv_number(&b, st->user_mean);
        csv_number(&b, st->sys_mean);
        csv_number(&b, st->wall.min);
        csv_number(&b, st->wall.max);
        for (size_t k = 0; k < npnames; k++) {
            const char *v = export_param_value(c, pnames[k]);
            buf_add(&b, ",", 1);
            csv_field(&b, v ? v : "");
        }
        buf_add(&b, "\n", 1);
    }
    free(pnames);
    export_data_free(d, s->ncmds);
    return finish(&b, e);
}

/* ---- tables: Markdown, AsciiDoc, Org mode */

struct time_unit {
    const char *name;
    double scale;
    int decimals;
};

static const struct time_unit unit_s = { "s", 1.0, 3 }, unit_ms = { "ms", 1e-3, 1 },
                              unit_us = { "\xc2\xb5s", 1e-6, 1 };

/* hyperfine's units and precisions. Unless one is asked for, the one in
 * which the fastest command's mean reads >= 1 (hyperfine looks at the first
 * command only, and shows 0.000 s for a fast command listed after a slow
 * one). */
static struct time_unit table_unit(const struct bench_set *s, const struct cmd_data *d, enum export_unit want)
{
    switch (want) {
    case EXPORT_UNIT_SECOND: return unit_s;
    case EXPORT_UNIT_MILLISECOND: return unit_ms;
    case EXPORT_UNIT_MICROSECOND: return unit_us;
    case EXPORT_UNIT_AUTO: break;
    }
    double fastest = INFINITY;
    for (size_t i = 0; i < s->ncmds; i++)
        if (d[i].has_stats && d[i].st.wall.mean < fastest)
            fastest = d[i].st.wall.mean;
    if (!isfinite(fastest) || fastest >= 1.0)
        return unit_s;
    if (fastest >= 1e-3)
        return unit_ms;
    return unit_us;
}

/* The command as the format quotes it, as hyperfine does: `cmd` or =cmd=,
 * '|' escaped; a newline would end the row, so it is a space. */
static void table_command(struct buf *b, enum export_format f, const char *name)
{
    const char *q = f == EXPORT_ORGMODE ? "=" : "`";
    buf_adds(b, q);
    for (const char *c = name; *c; c++) {
        if (*c == '|')
            buf_add(b, "\\|", 2);
        else if (*c == '\n' || *c == '\r')
            buf_add(b, " ", 1);
        else
            buf_add(b, c, 1);
    }
    buf_adds(b, q);
}

/* One row of five cells, in hyperfine's syntax for the format. */
static void table_row(struct buf *b, enum export_format f, const char *const cells[5])
{
    switch (f) {
    case EXPORT_MARKDOWN:
        buf_printf(b, "| %s | %s | %s | %s | %s |\n", cells[0], cells[1], cells[2], cells[3], cells[4]);
        break;
    case EXPORT_ASCIIDOC:
        buf_printf(b, "\n| %s \n| %s \n| %s \n| %s \n| %s \n", cells[0], cells[1], cells[2], cells[3],
                   cells[4]);
        break;
    case EXPORT_ORGMODE:
        buf_printf(b, "| %s  |  %s |  %s |  %s |  %s |\n", cells[0], cells[1], cells[2], cells[3], cells[4]);
        break;
    }
}

static void table_head(struct buf *b, enum export_format f, const struct time_unit *u)
{
    char mean[32], min[32], max[32];
    snprintf(mean, sizeof(mean), "Mean [%s]", u->name);
    snprintf(min, sizeof(min), "Min [%s]", u->name);
    snprintf(max, sizeof(max), "Max [%s]", u->name);
    const char *cells[5] = { "Command", mean, min, max, "Relative" };
    if (f == EXPORT_ASCIIDOC)
        buf_adds(b, "[cols=\"<,>,>,>,>\"]\n|===");
    table_row(b, f, cells);
    if (f == EXPORT_MARKDOWN)
        buf_adds(b, "|:---|---:|---:|---:|---:|\n");
    else if (f == EXPORT_ORGMODE)
        buf_adds(b, "|--+--+--+--+--|\n");
}

static int cmp_mean(const void *pa, const void *pb, void *data)
{
    const struct cmd_data *d = data;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    double ma = d[a].st.wall.mean, mb = d[b].st.wall.mean;
    if (ma != mb)
        return ma < mb ? -1 : 1;
    return (a > b) - (a < b); /* as given, among equal means */
}

/* The rows: the commands that are results, as given or by mean time. */
static size_t table_order(const struct bench_set *s, const struct cmd_data *d, bool by_mean, size_t *order)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ncmds; i++)
        if (d[i].has_stats) /* as hyperfine: a failed or unrun benchmark is no row */
            order[n++] = i;
    if (by_mean)
        qsort_r(order, n, sizeof(*order), cmp_mean, (void *)d);
    return n;
}

/* The Relative cell: the ratio of medians with its CI; -EDOM (and "N/A")
 * when there is none, the reference's median being 0. */
static int relative_cell(const struct bench_set *s, const struct cmd_data *d, size_t i, size_t ref,
                         const struct stats_boot *boot, char *out, size_t cap)
{
    if (i == ref) {
        snprintf(out, cap, "1.00");
        return 0;
    }
    double ratio;
    struct stats_ci ci;
    int rc = ref == SIZE_MAX || !d[ref].has_stats
                 ? -EDOM
                 : stats_ratio_bootstrap(d[i].times, s->cmds[i].nruns, d[ref].times, s->cmds[ref].nruns,
                                         STATS_MEDIAN, boot, &ratio, &ci);
    if (rc == 0)
        snprintf(out, cap, "%.2f (%.2f\xe2\x80\x93%.2f)", ratio, ci.lo, ci.hi);
    else
        snprintf(out, cap, "N/A");
    return rc;
}

static void table_note(struct buf *b, const struct bench_set *s, const struct export_table *t, size_t ref,
                       bool undefined_ratio)
{
    buf_adds(b, "\nRelative: ratio of medians to ");
    table_command(b, t->format, s->cmds[ref].name);
    buf_adds(b,
             s->cmds[ref].is_reference || t->reference != SIZE_MAX ? " (the reference)" : " (the fastest)");
    buf_adds(b, ", with its 95 % bootstrap confidence interval");
    if (undefined_ratio)
        buf_adds(b, "; N/A where the reference's median is 0");
    buf_adds(b, ".\n");
}

char *export_table(const struct bench_set *s, const struct export_table *t, struct pk_err *e)
{
    size_t ref = SIZE_MAX;
    if (export_resolve_reference(s, t->reference, &ref, e))
        return NULL;
    struct cmd_data *d;
    if (export_data_new(s, &d, e))
        return NULL;
    size_t *order = malloc((s->ncmds ? s->ncmds : 1) * sizeof(*order));
    struct buf b = BUF_INIT;
    if (!order)
        b.err = -ENOMEM;
    size_t n = order ? table_order(s, d, t->by_mean, order) : 0;
    struct time_unit u = table_unit(s, d, t->unit);
    struct stats_boot boot = bench_boot(s->stop);

    table_head(&b, t->format, &u);
    bool undefined_ratio = false;
    for (size_t k = 0; k < n && !b.err; k++) {
        size_t i = order[k];
        const struct stats_summary *w = &d[i].st.wall;
        struct buf cmd = BUF_INIT;
        table_command(&cmd, t->format, s->cmds[i].name);
        char mean[96], min[48], max[48], rel[64];
        int len = snprintf(mean, sizeof(mean), "%.*f", u.decimals, w->mean / u.scale);
        if (w->n > 1 && len > 0 && (size_t)len < sizeof(mean))
            snprintf(mean + len, sizeof(mean) - (size_t)len, " \xc2\xb1 %.*f", u.decimals,
                     w->stddev / u.scale);
        snprintf(min, sizeof(min), "%.*f", u.decimals, w->min / u.scale);
        snprintf(max, sizeof(max), "%.*f", u.decimals, w->max / u.scale);
        int rc = relative_cell(s, d, i, ref, &boot, rel, sizeof(rel));
        if (rc == -EDOM)
            undefined_ratio = true;
        else if (rc)
            b.err = rc;
        if (cmd.err)
            b.err = cmd.err;
        const char *cells[5] = { buf_str(&cmd), mean, min, max, rel };
        if (!b.err)
            table_row(&b, t->format, cells);
        buf_destroy(&cmd);
    }
    if (t->format == EXPORT_ASCIIDOC)
        buf_adds(&b, "|===\n");
    if (ref != SIZE_MAX && n > 1)
        table_note(&b, s, t, ref, undefined_ratio);
    free(order);
    export_data_free(d, s->ncmds);
    return finish(&b, e);
}

char *export_markdown(const struct bench_set *s, size_t reference, struct pk_err *e)
{
    struct export_table t = { .format = EXPORT_MARKDOWN, .reference = reference, .unit = EXPORT_UNIT_AUTO };
    return export_table(s, &t, e);
}
