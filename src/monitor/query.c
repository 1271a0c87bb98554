#include "monitor/query.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"
#include "core/units.h"

#define KEY_MAX   32 /* decoded parameter names are short; longer ones are unknown anyway */
#define QUOTE_MAX 80 /* untrusted text in a message */

enum param { P_METRIC, P_FROM, P_TO, P_STEP, P_POINTS, P_COUNT };
static const char *const PARAM_NAMES[P_COUNT] = { "metric", "from", "to", "step", "points" };

static const char *quote(const char *s, size_t n, char *buf, size_t cap)
{
    return err_quote(s, n, buf, cap);
}

/* ---- percent-decoding -------------------------------------------------- */

/*
 * Decodes n raw bytes into out (cap bytes, NUL-terminated). `on` names the
 * parameter for errors; `whole` is the raw text quoted in them.
 */
static int decode(const char *s, size_t n, char *out, size_t cap, size_t *outlen, const char *on,
                  struct pk_err *e)
{
    char q[QUOTE_MAX];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned char d;
        if (c == '%') {
            int hi = i + 1 < n ? text_hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? text_hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return err_set(e, PK_EPARSE, on, "invalid percent-encoding",
                               "'%%' at offset %zu of '%s' is not followed by two hex digits", i,
                               quote(s, n, q, sizeof(q)));
            d = (unsigned char)(hi << 4 | lo);
            if (d == 0)
                return err_set(e, PK_EPARSE, on, "invalid percent-encoding",
                               "%%00 (a NUL byte) at offset %zu of '%s'", i, quote(s, n, q, sizeof(q)));
            i += 2;
        } else if (c == '+') {
            d = ' ';
        } else if (c <= 0x20 || c >= 0x7f) {
            return err_set(e, PK_EPARSE, on, "invalid character",
                           "raw byte 0x%02x at offset %zu of '%s' (a space, control or non-ASCII "
                           "byte must be percent-encoded)",
                           c, i, quote(s, n, q, sizeof(q)));
        } else {
            d = c;
        }
        if (o + 1 >= cap)
            return err_set(e, PK_EPARSE, on, "value too long", "more than %zu bytes after decoding", cap - 1);
        out[o++] = (char)d;
    }
    out[o] = '\0';
    if (!text_utf8_valid(out, o))
        return err_set(e, PK_EPARSE, on, "invalid text", "'%s' does not decode to valid UTF-8",
                       quote(s, n, q, sizeof(q)));
    *outlen = o;
    return 0;
}

/* ---- times ------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

char *query_format_time(int64_t ms, char *buf, size_t cap)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int frac = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (frac)
        snprintf(buf, cap, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60), frac);
    else
        snprintf(buf, cap, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60));
    return buf;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned char dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* n digits at s[*pos] as a number; false when they are not all digits. */
static bool digits(const char *s, size_t len, size_t *pos, size_t n, unsigned *out)
{
    if (len - *pos < n)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[*pos + i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *pos += n;
    *out = v;
    return true;
}

struct tctx {
    const char *on;
    const char *text;
    size_t len;
    struct pk_err *e;
};

static int tfail(const struct tctx *t, const char *why_fmt, ...) __attribute__((format(printf, 2, 3)));
static int tfail(const struct tctx *t, const char *why_fmt, ...)
{
    if (!t->e)
        return PK_EPARSE;
    char q[QUOTE_MAX], what[sizeof(t->e->what)], why[sizeof(t->e->why)];
    snprintf(what, sizeof(what), "invalid time '%s'", quote(t->text, t->len, q, sizeof(q)));
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return err_set(t->e, PK_EPARSE, t->on, what, "%s", why);
}

#define RFC3339_FORM \
    "expected RFC 3339 (2024-05-01T12:00:00Z), unix seconds (1714564800) or a time relative to now (-1h)"

static int range_check(const struct tctx *t, int64_t ms, int64_t *out)
{
    if (ms < 0)
        return tfail(t, "before 1970-01-01T00:00:00Z");
    if (ms > QUERY_TIME_MAX_MS)
        return tfail(t, "after 9999-12-31T23:59:59.999Z");
    *out = ms;
    return 0;
}

static int parse_rfc3339(const struct tctx *t, int64_t *out)
{
    const char *s = t->text;
    size_t n = t->len, p = 0;
    unsigned Y, M, D, h, mi, sec;
    if (!digits(s, n, &p, 4, &Y) || p >= n || s[p++] != '-' || !digits(s, n, &p, 2, &M) || p >= n ||
        s[p++] != '-' || !digits(s, n, &p, 2, &D))
        return tfail(t, RFC3339_FORM);
    if (p == n)
        return tfail(t, "a date without a time: write e.g. %.10sT00:00:00Z", s);
    if (s[p] != 'T' && s[p] != 't' && s[p] != ' ')
        return tfail(t, RFC3339_FORM);
    p++;
    if (!digits(s, n, &p, 2, &h) || p >= n || s[p++] != ':' || !digits(s, n, &p, 2, &mi) || p >= n ||
        s[p++] != ':' || !digits(s, n, &p, 2, &sec))
        return tfail(t, RFC3339_FORM);
    int64_t frac_ms = 0;
    if (p < n && s[p] == '.') {
        p++;
        size_t nd = 0;
        while (p < n && s[p] >= '0' && s[p] <= '9') {
            if (nd < 3)
                frac_ms = frac_ms * 10 + (s[p] - '0');
            nd++, p++;
        }
        if (nd == 0)
            return tfail(t, "no digits after the decimal point");
        for (; nd < 3; nd++)
            frac_ms *= 10;
    }
    int64_t off_s = 0;
    if (p == n)
        return tfail(t, "no time zone offset: end with Z or an offset such as %%2B02:00 (+02:00)");
    if (s[p] == 'Z' || s[p] == 'z') {
        p++;
    } else if (s[p] == '+' || s[p] == '-' || s[p] == ' ') {
        char sign = s[p++];
        unsigned oh, om;
        if (!digits(s, n, &p, 2, &oh) || p >= n || s[p++] != ':' || !digits(s, n, &p, 2, &om))
            return tfail(t, "the time zone offset must be Z, +HH:MM or -HH:MM");
        if (sign == ' ')
            return tfail(t, "a space where the offset's sign should be: '+' in a URL means a space, "
                            "write it as %%2B");
        if (oh > 23 || om > 59)
            return tfail(t, "time zone offset out of range (at most 23:59)");
        off_s = (int64_t)(oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
    } else {
        return tfail(t, "the time zone offset must be Z, +HH:MM or -HH:MM");
    }
    if (p != n)
        return tfail(t, "unexpected text after the time zone");
    if (M < 1 || M > 12)
        return tfail(t, "month %u out of range (1..12)", M);
    if (D < 1 || D > month_days(Y, M))
        return tfail(t, "day %u out of range for %04u-%02u (1..%u)", D, Y, M, month_days(Y, M));
    if (h > 23)
        return tfail(t, "hour %u out of range (0..23)", h);
    if (mi > 59)
        return tfail(t, "minute %u out of range (0..59)", mi);
    if (sec > 60) /* 60: a leap second, counted as the next minute's first */
        return tfail(t, "second %u out of range (0..60)", sec);
    int64_t secs = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - off_s;
    return range_check(t, secs * 1000 + frac_ms, out);
}

/* Unix seconds: digits, optionally a '.' and more digits. */
static int parse_unix(const struct tctx *t, int64_t *out)
{
    const char *s = t->text;
    size_t n = t->len, p = 0;
    int64_t secs = 0;
    while (p < n && s[p] >= '0' && s[p] <= '9') {
        if (secs > QUERY_TIME_MAX_MS / 1000)
            return tfail(t, "after 9999-12-31T23:59:59.999Z");
        secs = secs * 10 + (s[p++] - '0');
    }
    int64_t frac_ms = 0;
    if (p < n) { /* s[p] == '.', as the caller checked the characters */
        p++;
        size_t nd = 0;
        for (; p < n; p++, nd++)
            if (nd < 3)
                frac_ms = frac_ms * 10 + (s[p] - '0');
        if (nd == 0)
            return tfail(t, "no digits after the decimal point");
        for (; nd < 3; nd++)
            frac_ms *= 10;
    }
    return range_check(t, secs * 1000 + frac_ms, out);
}

static int parse_time(const char *on, const char *text, size_t len, int64_t now_ms, int64_t *out,
                      struct pk_err *e)
{
    struct tctx t = { on, text, len, e };
    if (len == 3 && !memcmp(text, "now", 3))
        return range_check(&t, now_ms, out);
    if (text[0] == '-') {
        struct pk_err ue;
        pk_err_clear(&ue);
        double sec;
        if (len == 1 || units_parse_duration(text + 1, on, &sec, &ue))
            return tfail(&t, "after '-', a duration such as 1h, 30m or 1h30m%s%s", ue.why[0] ? ": " : "",
                         ue.why);
        return range_check(&t, now_ms - llround(sec * 1000.0), out);
    }
    bool unix_form = text[0] >= '0' && text[0] <= '9';
    size_t dots = 0;
    for (size_t i = 0; i < len && unix_form; i++) {
        if (text[i] == '.')
            dots++;
        else if (text[i] < '0' || text[i] > '9')
            unix_form = false;
    }
    if (unix_form && dots <= 1)
        return parse_unix(&t, out);
    return parse_rfc3339(&t, out);
}

/* ---- series key -------------------------------------------------------- */

struct span {
    const char *p;
    size_t n;
};

struct label {
    struct span name, value; /* value: between the quotes, still escaped */
};

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}
static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static int span_cmp(struct span a, struct span b)
{
    int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

struct kctx {
    const char *text;
    size_t len;
    struct pk_err *e;
};

static int kfail(const struct kctx *k, const char *why_fmt, ...) __attribute__((format(printf, 2, 3)));
static int kfail(const struct kctx *k, const char *why_fmt, ...)
{
    if (!k->e)
        return PK_EPARSE;
    char q[QUOTE_MAX], what[sizeof(k->e->what)], why[sizeof(k->e->why)];
    snprintf(what, sizeof(what), "invalid series key '%s'", quote(k->text, k->len, q, sizeof(q)));
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return err_set(k->e, PK_EPARSE, "metric", what, "%s", why);
}

static bool emit(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n >= cap)
        return false;
    memcpy(out + *o, s, n);
    *o += n;
    return true;
}

/* The value of label l from s[*pp], just past its opening quote: escapes
 * checked, kept as written; *pp ends on the closing quote. */
static int parse_label_value(const struct kctx *k, const char *s, size_t n, size_t *pp, struct label *l)
{
    char q[QUOTE_MAX];
    size_t p = *pp;
    l->value.p = s + p;
    for (;;) {
        if (p >= n)
            return kfail(k, "unterminated value of label '%s'", quote(l->name.p, l->name.n, q, sizeof(q)));
        if (s[p] == '"')
            break;
        if (s[p] == '\\') {
            if (p + 1 >= n)
                return kfail(k, "unterminated value of label '%s'",
                             quote(l->name.p, l->name.n, q, sizeof(q)));
            char c = s[p + 1];
            if (c != '\\' && c != '"' && c != 'n') {
                char q2[QUOTE_MAX];
                return kfail(k, "unknown escape '\\%s' in the value of label '%s' (use \\\\, \\\" or \\n)",
                             quote(&s[p + 1], 1, q2, sizeof(q2)), quote(l->name.p, l->name.n, q, sizeof(q)));
            }
            p += 2;
            continue;
        }
        p++;
    }
    l->value.n = (size_t)(s + p - l->value.p);
    *pp = p;
    return 0;
}

/* One name="value" from s[*pp] (a name's first character) into *l; *pp ends past the closing quote. */
static int parse_label(const struct kctx *k, const char *s, size_t n, size_t *pp, struct label *l)
{
    char q[QUOTE_MAX];
    size_t p = *pp;
    if (!name_start(s[p]))
        return kfail(k, "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or '}' at offset %zu", p);
    *l = (struct label){ { s + p, 0 }, { NULL, 0 } };
    while (p < n && name_char(s[p]))
        p++, l->name.n++;
    while (p < n && blank(s[p]))
        p++;
    if (p >= n || s[p] != '=')
        return kfail(k, "expected '=' after label name '%s'", quote(l->name.p, l->name.n, q, sizeof(q)));
    p++;
    while (p < n && blank(s[p]))
        p++;
    if (p >= n || s[p] != '"')
        return kfail(k, "expected '\"' to open the value of label '%s'",
                     quote(l->name.p, l->name.n, q, sizeof(q)));
    p++;
    int rc = parse_label_value(k, s, n, &p, l);
    if (rc)
        return rc;
    *pp = p + 1; /* the closing quote */
    return 0;
}

/* The labels from s[*pp], just past '{', through '}': at most QUERY_LABELS_MAX, each once. */
static int parse_labels(const struct kctx *k, const char *s, size_t n, size_t *pp, struct label *labels,
                        size_t *nlabels)
{
    char q[QUOTE_MAX];
    size_t p = *pp, nl = 0;
    for (;;) {
        while (p < n && blank(s[p]))
            p++;
        if (p < n && s[p] == '}') {
            p++;
            break;
        }
        if (p >= n)
            return kfail(k, "missing '}'");
        struct label l;
        int rc = parse_label(k, s, n, &p, &l);
        if (rc)
            return rc;
        for (size_t i = 0; i < nl; i++)
            if (span_cmp(labels[i].name, l.name) == 0)
                return kfail(k, "label '%s' given twice", quote(l.name.p, l.name.n, q, sizeof(q)));
        if (nl == QUERY_LABELS_MAX)
            return kfail(k, "more than %u labels", QUERY_LABELS_MAX);
        labels[nl++] = l;
        while (p < n && blank(s[p]))
            p++;
        if (p < n && s[p] == ',') {
            p++;
            continue;
        }
        if (p < n && s[p] == '}') {
            p++;
            break;
        }
        if (p >= n)
            return kfail(k, "missing '}'");
        return kfail(k, "expected ',' or '}' after the value of label '%s'",
                     quote(l.name.p, l.name.n, q, sizeof(q)));
    }
    *pp = p;
    *nlabels = nl;
    return 0;
}

/* The canonical key: the name, then the labels sorted by name (insertion
 * sort: a handful), values escaped as written but for a raw newline. */
static int emit_key(const struct kctx *k, struct span name, struct label *labels, size_t nl, char *out,
                    size_t cap)
{
    for (size_t i = 1; i < nl; i++) {
        struct label l = labels[i];
        size_t j = i;
        for (; j > 0 && span_cmp(labels[j - 1].name, l.name) > 0; j--)
            labels[j] = labels[j - 1];
        labels[j] = l;
    }
    size_t o = 0;
    bool fits = emit(out, cap, &o, name.p, name.n);
    for (size_t i = 0; i < nl && fits; i++) {
        fits = emit(out, cap, &o, i ? "," : "{", 1) &&
               emit(out, cap, &o, labels[i].name.p, labels[i].name.n) && emit(out, cap, &o, "=\"", 2);
        const struct span *v = &labels[i].value;
        for (size_t j = 0; j < v->n && fits; j++) {
            char c = v->p[j];
            if (c == '\\') { /* an escape, already checked: kept as it is canonical */
                fits = emit(out, cap, &o, v->p + j, 2);
                j++;
            } else if (c == '\n') {
                fits = emit(out, cap, &o, "\\n", 2);
            } else {
                fits = emit(out, cap, &o, &c, 1);
            }
        }
        fits = fits && emit(out, cap, &o, "\"", 1);
    }
    if (fits && nl)
        fits = emit(out, cap, &o, "}", 1);
    if (!fits)
        return kfail(k, "longer than %zu bytes", cap - 1);
    out[o] = '\0';
    return 0;
}

static int parse_key(const char *s, size_t n, char *out, size_t cap, struct pk_err *e)
{
    struct kctx k = { s, n, e };
    char q[QUOTE_MAX];
    size_t p = 0;
    while (p < n && blank(s[p]))
        p++;
    struct span name = { s + p, 0 };
    if (p >= n || !(name_start(s[p]) || s[p] == ':'))
        return kfail(&k, "expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) at offset %zu", p);
    while (p < n && (name_char(s[p]) || s[p] == ':'))
        p++, name.n++;
    while (p < n && blank(s[p]))
        p++;

    struct label labels[QUERY_LABELS_MAX];
    size_t nl = 0;
    if (p < n && s[p] == '{') {
        p++;
        int rc = parse_labels(&k, s, n, &p, labels, &nl);
        if (rc)
            return rc;
        while (p < n && blank(s[p]))
            p++;
    }
    if (p != n)
        return kfail(&k, "unexpected '%s' at offset %zu", quote(s + p, 1, q, sizeof(q)), p);
    return emit_key(&k, name, labels, nl, out, cap);
}

/* ---- the query string -------------------------------------------------- */

/* What the parameters gave so far. */
struct qstate {
    bool seen[P_COUNT];
    int64_t from, to, step;
    uint64_t points;
    char metric[QUERY_METRIC_MAX + 1];
};

/* The parameter named by seg[0..klen) (percent-encoded) in *pi; on gets the
 * decoded name, quoted for messages. seg[0..seglen) is the whole parameter,
 * at offset pos of the query string. */
static int param_name(const char *seg, size_t klen, size_t seglen, size_t pos, enum param *pi, char *on,
                      size_t oncap, struct pk_err *e)
{
    char key[KEY_MAX + 1], q[QUOTE_MAX];
    size_t kdec;
    char raw_on[QUOTE_MAX];
    quote(seg, klen, raw_on, sizeof(raw_on));
    struct pk_err ke;
    pk_err_clear(&ke);
    int rc = decode(seg, klen, key, sizeof(key), &kdec, raw_on, &ke);
    if (rc) {
        if (strcmp(ke.what, "value too long") == 0) /* a long name is simply unknown */
            return err_set(e, PK_EPARSE, raw_on, "unknown parameter",
                           "expected metric, from, to, step or points");
        if (e)
            *e = ke;
        return rc;
    }
    quote(key, kdec, on, oncap);
    if (kdec == 0)
        return err_set(e, PK_EPARSE, "", "empty parameter name", "'%s' at offset %zu",
                       quote(seg, seglen, q, sizeof(q)), pos);
    *pi = P_COUNT;
    for (int i = 0; i < P_COUNT; i++)
        if (strlen(PARAM_NAMES[i]) == kdec && memcmp(PARAM_NAMES[i], key, kdec) == 0)
            *pi = (enum param)i;
    if (*pi == P_COUNT)
        return err_set(e, PK_EPARSE, on, "unknown parameter", "expected metric, from, to, step or points");
    return 0;
}

/* The decoded value val[0..vdec) of parameter pi into st. */
static int param_value(struct qstate *st, enum param pi, const char *val, size_t vdec, int64_t now_ms,
                       struct pk_err *e)
{
    char q[QUOTE_MAX];
    int rc = 0;
    switch (pi) {
    case P_METRIC: rc = parse_key(val, vdec, st->metric, sizeof(st->metric), e); break;
    case P_FROM: rc = parse_time("from", val, vdec, now_ms, &st->from, e); break;
    case P_TO: rc = parse_time("to", val, vdec, now_ms, &st->to, e); break;
    case P_STEP: {
        double sec;
        if ((rc = units_parse_duration(val, "step", &sec, e)))
            break;
        st->step = llround(sec * 1000.0);
        if (st->step < 1)
            rc = err_set(e, PK_EPARSE, "step", "step too small", "'%s' is under 1ms",
                         quote(val, vdec, q, sizeof(q)));
        break;
    }
    case P_POINTS: rc = units_parse_uint(val, "points", 1, QUERY_POINTS_MAX, &st->points, e); break;
    case P_COUNT: break;
    }
    return rc;
}

/* One "name=value" parameter, seg[0..seglen) at offset pos, into st. */
static int param(struct qstate *st, const char *seg, size_t seglen, size_t pos, int64_t now_ms,
                 struct pk_err *e)
{
    if (seglen == 0) /* "&a=1", "a=1&&b=2", "a=1&" */
        return err_set(e, PK_EPARSE, "", "empty parameter", "a stray '&' at offset %zu", pos);
    const char *eq = memchr(seg, '=', seglen);
    size_t klen = eq ? (size_t)(eq - seg) : seglen;
    char on[QUOTE_MAX];
    enum param pi;
    int rc = param_name(seg, klen, seglen, pos, &pi, on, sizeof(on), e);
    if (rc)
        return rc;
    if (st->seen[pi])
        return err_set(e, PK_EPARSE, on, "repeated parameter", "given more than once");
    st->seen[pi] = true;
    if (!eq)
        return err_set(e, PK_EPARSE, on, "missing value", "write %s=VALUE", PARAM_NAMES[pi]);
    size_t vlen = seglen - klen - 1;
    if (vlen == 0)
        return err_set(e, PK_EPARSE, on, "empty value", "write %s=VALUE or leave the parameter out",
                       PARAM_NAMES[pi]);
    char val[QUERY_MAX + 1];
    size_t vdec;
    if ((rc = decode(eq + 1, vlen, val, sizeof(val), &vdec, on, e)))
        return rc;
    return param_value(st, pi, val, vdec, now_ms, e);
}

int query_parse_history(const char *qs, size_t len, int64_t now_ms, struct query_history *out,
                        struct pk_err *e)
{
    static char dummy;
    if (!qs)
        qs = &dummy, len = 0;
    if (len > QUERY_MAX)
        return err_set(e, PK_EPARSE, "", "query string too long", "%zu bytes (at most %u)", len, QUERY_MAX);

    struct qstate st = { .points = QUERY_POINTS_DEFAULT };
    size_t pos = 0;
    while (len > 0 && pos <= len) {
        const char *seg = qs + pos;
        const char *amp = memchr(seg, '&', len - pos);
        size_t seglen = amp ? (size_t)(amp - seg) : len - pos;
        int rc = param(&st, seg, seglen, seglen == 0 && pos == len ? pos - 1 : pos, now_ms, e);
        if (rc)
            return rc;
        pos += seglen + 1;
    }

    if (!st.seen[P_METRIC])
        return err_set(e, PK_EPARSE, "metric", "missing parameter",
                       "metric is required (e.g. metric=node_load1)");
    if (!st.seen[P_TO]) {
        if (now_ms < 0 || now_ms > QUERY_TIME_MAX_MS)
            return err_set(e, PK_EPARSE, "to", "no default", "the clock is outside 1970..9999");
        st.to = now_ms;
    }
    if (!st.seen[P_FROM])
        st.from = st.to > QUERY_RANGE_DEFAULT_MS ? st.to - QUERY_RANGE_DEFAULT_MS : 0;
    if (st.from >= st.to) {
        char a[40], b[40];
        return err_set(e, PK_EPARSE, st.seen[P_FROM] ? "from" : "to", "empty window",
                       "from (%s) must be before to (%s)", query_format_time(st.from, a, sizeof(a)),
                       query_format_time(st.to, b, sizeof(b)));
    }
    memcpy(out->metric, st.metric, strlen(st.metric) + 1);
    out->from_ms = st.from;
    out->to_ms = st.to;
    out->step_ms = st.step;
    out->points = (size_t)st.points;
    return 0;
}
