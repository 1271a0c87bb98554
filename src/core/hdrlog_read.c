#include "core/hdrlog.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/err.h"
#include "core/hdrlog_impl.h"

/* One base64 field of a log line; a histogram of the largest layout, every
 * counter distinct, compresses far below this. */
#define BASE64_FIELD_MAX (256u << 20)

/* ---- interval log reader */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * A decimal number, all of s[0..n): [+-]digits[.digits][(e|E)[+-]digits].
 * Up to 19 significant digits and an exponent within 10^22 are converted
 * with one correctly rounded division or multiplication (Java's "%.3f"
 * output reads back exactly); longer forms are approximate.
 */
static int parse_number(const char *s, size_t n, double *out)
{
    static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    uint64_t mant = 0;
    int digits = 0, scale = 0;
    size_t int_digits = 0, frac_digits = 0;
    for (; i < n && is_digit(s[i]); i++, int_digits++) {
        if (mant == 0 && s[i] == '0')
            continue;
        if (digits < 19) {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            digits++;
        } else {
            scale++;
        }
    }
    if (i < n && s[i] == '.') {
        i++;
        for (; i < n && is_digit(s[i]); i++, frac_digits++) {
            if (mant == 0 && s[i] == '0') {
                scale--;
                continue;
            }
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                digits++;
                scale--;
            }
        }
    }
    if (int_digits + frac_digits == 0)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        size_t start = i;
        int ex = 0;
        for (; i < n && is_digit(s[i]); i++)
            if (ex < 100000)
                ex = ex * 10 + (s[i] - '0');
        if (i == start)
            return -1;
        scale += eneg ? -ex : ex;
    }
    if (i != n)
        return -1;
    double v = (double)mant;
    if (mant == 0) {
        v = 0;
    } else if (scale >= -22 && scale <= 22) {
        v = scale < 0 ? v / pow10[-scale] : v * pow10[scale];
    } else {
        v = v * pow(10.0, scale);
    }
    if (!isfinite(v))
        return -1;
    *out = neg ? -v : v;
    return 0;
}

static bool starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static int line_error(struct pk_err *e, const char *what, const char *s, size_t n)
{
    int shown = n > 40 ? 40 : (int)n;
    return err_set(e, PK_EPARSE, "histogram log", what, "'%.*s%s'", shown, s, n > 40 ? "..." : "");
}

/* "#[StartTime: 1700000000.123 (seconds since epoch), ...]": the number. */
static int parse_time_line(const char *s, size_t n, size_t prefix, struct hdrlog_line *out, struct pk_err *e)
{
    size_t i = prefix, j;
    for (j = i; j < n && s[j] != ' ' && s[j] != ']'; j++)
        ;
    if (parse_number(s + i, j - i, &out->time_s) < 0)
        return line_error(e, "invalid time", s + i, j - i);
    return 0;
}

/* The line into out; an interval's histogram decoded into out->hist, or,
 * with keep_z, left compressed in out->z. */
static int parse_line(const char *line, size_t len, bool keep_z, struct hdrlog_line *out, struct pk_err *e)
{
    memset(out, 0, sizeof(*out));
    if (len && line[len - 1] == '\r')
        len--;
    const char *s = line;
    size_t n = len;
    trim(&s, &n);
    if (n == 0) {
        out->kind = HDRLOG_BLANK;
        return 0;
    }
    if (starts(s, n, "#[StartTime: ")) {
        out->kind = HDRLOG_START_TIME;
        return parse_time_line(s, n, strlen("#[StartTime: "), out, e);
    }
    if (starts(s, n, "#[BaseTime: ")) {
        out->kind = HDRLOG_BASE_TIME;
        return parse_time_line(s, n, strlen("#[BaseTime: "), out, e);
    }
    if (s[0] == '#') {
        out->kind = HDRLOG_COMMENT;
        return 0;
    }
    if (starts(s, n, "\"StartTimestamp\"")) {
        out->kind = HDRLOG_LEGEND;
        return 0;
    }

    const char *field[5];
    size_t flen[5], nf = 0, at = 0;
    while (at <= n) {
        size_t end = at;
        while (end < n && s[end] != ',')
            end++;
        if (nf == 5)
            return line_error(e, "too many fields in an interval line", s, n);
        field[nf] = s + at;
        flen[nf] = end - at;
        trim(&field[nf], &flen[nf]);
        nf++;
        at = end + 1;
    }
    size_t f = 0;
    if (nf > 0 && starts(field[0], flen[0], "Tag=")) {
        size_t tn = flen[0] - 4;
        if (!hdrlog_tag_ok(field[0] + 4, tn))
            return line_error(e, "invalid tag", field[0], flen[0]);
        memcpy(out->tag, field[0] + 4, tn);
        out->tag[tn] = '\0';
        f = 1;
    }
    if (nf - f != 4)
        return line_error(e, "an interval line needs start,length,max,histogram", s, n);
    if (parse_number(field[f], flen[f], &out->start_s) < 0)
        return line_error(e, "invalid interval start", field[f], flen[f]);
    if (parse_number(field[f + 1], flen[f + 1], &out->length_s) < 0)
        return line_error(e, "invalid interval length", field[f + 1], flen[f + 1]);
    if (parse_number(field[f + 2], flen[f + 2], &out->max) < 0)
        return line_error(e, "invalid interval max", field[f + 2], flen[f + 2]);

    uint8_t *z;
    size_t z_len;
    int rc = flen[f + 3] == 0 || flen[f + 3] > BASE64_FIELD_MAX
                 ? PK_EPARSE
                 : base64_decode(field[f + 3], flen[f + 3], &z, &z_len);
    if (rc == -ENOMEM)
        return err_errno(e, rc, "histogram log", "cannot decode");
    if (rc < 0)
        return line_error(e, "invalid base64 histogram", field[f + 3], flen[f + 3]);
    if (keep_z) {
        out->z = z;
        out->z_len = z_len;
    } else {
        rc = hdrlog_decode_compressed(z, z_len, &out->hist, e);
        free(z);
        if (rc < 0)
            return rc;
    }
    out->kind = HDRLOG_INTERVAL;
    return 0;
}

int hdrlog_parse_line(const char *line, size_t len, struct hdrlog_line *out, struct pk_err *e)
{
    return parse_line(line, len, false, out, e);
}

int hdrlog_parse_line_z(const char *line, size_t len, struct hdrlog_line *out, struct pk_err *e)
{
    return parse_line(line, len, true, out, e);
}

void hdrlog_cursor_init(struct hdrlog_cursor *c, const char *text, size_t len, const char *name)
{
    c->text = text;
    c->len = len;
    c->name = name ? name : "histogram log";
    c->at = 0;
    c->lineno = 0;
}

int hdrlog_next(struct hdrlog_cursor *c, struct hdrlog_line *line, struct pk_err *e)
{
    if (c->at >= c->len)
        return 0;
    const char *p = c->text + c->at;
    const char *nl = memchr(p, '\n', c->len - c->at);
    size_t n = nl ? (size_t)(nl - p) : c->len - c->at;
    c->lineno++;
    c->at += n + 1;
    int rc = hdrlog_parse_line(p, n, line, e);
    return rc < 0 ? rc : 1;
}

void hdrlog_where(const struct hdrlog_cursor *c, struct pk_err *e)
{
    /* "<name>:<line>", before what the line's error named, if anything */
    char where[300];
    snprintf(where, sizeof(where), e && e->on[0] ? "%s:%u: " : "%s:%u", c->name, c->lineno);
    err_prefix_on(e, where);
}

/* An interval of the summed tag into sum and s. */
static int add_interval(const struct hdrlog_line *line, struct hist *sum, struct hdrlog_summary *s,
                        struct pk_err *e)
{
    int rc = 0;
    if (!sum->counts)
        rc = hist_init(sum, line->hist.lowest, line->hist.highest, line->hist.sigfigs, e);
    if (rc == 0)
        rc = hist_merge(sum, &line->hist, e);
    if (rc == 0) {
        if (s->intervals == 0)
            s->first_start_s = line->start_s;
        s->last_end_s = line->start_s + line->length_s;
        s->intervals++;
    }
    return rc;
}

int hdrlog_read(const char *text, size_t len, const char *name, const char *tag, struct hist *sum,
                struct hdrlog_summary *s, struct pk_err *e)
{
    struct hdrlog_summary local;
    if (!s)
        s = &local;
    memset(s, 0, sizeof(*s));
    struct hdrlog_cursor c;
    hdrlog_cursor_init(&c, text, len, name);
    struct hdrlog_line line;
    int rc;
    while ((rc = hdrlog_next(&c, &line, e)) > 0) {
        rc = 0;
        if (line.kind == HDRLOG_INTERVAL) {
            bool wanted = tag ? strcmp(tag, line.tag) == 0 : line.tag[0] == '\0';
            if (wanted)
                rc = add_interval(&line, sum, s, e);
            else
                s->skipped++;
            hist_destroy(&line.hist);
        } else if (line.kind == HDRLOG_START_TIME) {
            s->has_start_time = true;
            s->start_time_s = line.time_s;
        } else if (line.kind == HDRLOG_BASE_TIME) {
            s->has_base_time = true;
            s->base_time_s = line.time_s;
        }
        if (rc < 0)
            break;
    }
    if (rc < 0)
        hdrlog_where(&c, e);
    return rc < 0 ? rc : 0;
}
