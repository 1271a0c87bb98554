/*
 * threshold - parsing and evaluation of --threshold (threshold.h).
 *
 * The text is split at its operator (the first '<' or '>'), each side is
 * trimmed, the metric is looked up and the limit handed to core/units with
 * its error folded into this module's message, so a person sees which
 * threshold was wrong and why in one line.
 */
#include "load/threshold.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/units.h"

#define ON "--threshold"

struct ctx {
    const char *text;
    size_t len;
    struct pk_err *e;
};

static int fail(const struct ctx *c, const char *why_fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct ctx *c, const char *why_fmt, ...)
{
    if (!c->e)
        return PK_EPARSE;
    char q[THRESHOLD_TEXT_MAX + 8], what[sizeof(c->e->what)], why[sizeof(c->e->why)];
    snprintf(what, sizeof(what), "invalid threshold '%s'", err_quote(c->text, c->len, q, 72));
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return err_set(c->e, PK_EPARSE, ON, what, "%s", why);
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}
static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_blank(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_blank((*s)[*n - 1]))
        (*n)--;
}

static bool eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* "99", "99.9", "50": digits, at most one '.', digits on both sides. */
static int parse_percentile(const struct ctx *c, const char *s, size_t n, double *p)
{
    char num[32], t[48];
    size_t dots = 0;
    bool good = n > 0 && n < sizeof(num) && is_digit(s[0]) && is_digit(s[n - 1]);
    for (size_t i = 0; good && i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (!is_digit(s[i]))
            good = false;
    }
    if (!good || dots > 1)
        return fail(c, "invalid percentile '%s' (expected e.g. p99, p99.9, p(95))",
                    err_quote(s, n, t, sizeof(t)));
    memcpy(num, s, n);
    num[n] = '\0';
    double v;
    if (units_parse_double(num, ON, &v, NULL) != 0 || !(v > 0 && v <= 100))
        return fail(c, "percentile %s out of range (0 < p <= 100)", num);
    *p = v;
    return 0;
}

static int parse_metric(const struct ctx *c, const char *s, size_t n, struct threshold *t)
{
    char q[48];
    t->percentile = 0;
    if (n == 0)
        return fail(c, "missing metric before the operator (expected e.g. p99<200ms)");
    if (eq(s, n, "mean") || eq(s, n, "avg"))
        t->metric = THRESHOLD_MEAN;
    else if (eq(s, n, "min"))
        t->metric = THRESHOLD_MIN;
    else if (eq(s, n, "max"))
        t->metric = THRESHOLD_MAX;
    else if (eq(s, n, "med")) {
        t->metric = THRESHOLD_PERCENTILE;
        t->percentile = 50;
    } else if (eq(s, n, "error_rate"))
        t->metric = THRESHOLD_ERROR_RATE;
    else if (eq(s, n, "rps"))
        t->metric = THRESHOLD_RPS;
    else if (eq(s, n, "dropped"))
        t->metric = THRESHOLD_DROPPED;
    else if (n >= 4 && s[0] == 'p' && s[1] == '(' && s[n - 1] == ')') {
        t->metric = THRESHOLD_PERCENTILE;
        return parse_percentile(c, s + 2, n - 3, &t->percentile);
    } else if (n >= 2 && s[0] == 'p' && is_digit(s[1])) {
        t->metric = THRESHOLD_PERCENTILE;
        return parse_percentile(c, s + 1, n - 1, &t->percentile);
    } else {
        return fail(c,
                    "unknown metric '%s' (use pN, p(N), mean, avg, med, min, max, error_rate, dropped, rps)",
                    err_quote(s, n, q, sizeof(q)));
    }
    return 0;
}

/* A units error becomes the why of this threshold's error. */
static int units_fail(const struct ctx *c, const struct pk_err *sub)
{
    return fail(c, "%s: %s", sub->what, sub->why);
}

static int parse_limit(const struct ctx *c, const char *s, size_t n, struct threshold *t)
{
    char buf[THRESHOLD_TEXT_MAX + 1], q[48];
    if (n == 0)
        return fail(c, "missing limit after the operator");
    memcpy(buf, s, n);
    buf[n] = '\0';
    struct pk_err sub;
    pk_err_clear(&sub);
    switch (t->metric) {
    case THRESHOLD_PERCENTILE:
    case THRESHOLD_MEAN:
    case THRESHOLD_MIN:
    case THRESHOLD_MAX: {
        bool bare = true;
        for (size_t i = 0; i < n; i++)
            if (!is_digit(s[i]) && s[i] != '.')
                bare = false;
        if (bare)
            return fail(c, "latency limit '%s' needs a unit (e.g. %sms or %ss)", buf, buf, buf);
        if (units_parse_duration(buf, NULL, &t->limit, &sub) != 0)
            return units_fail(c, &sub);
        return 0;
    }
    case THRESHOLD_ERROR_RATE:
    case THRESHOLD_DROPPED: {
        bool pct = buf[n - 1] == '%';
        if (pct)
            buf[--n] = '\0';
        double v;
        if (units_parse_double(buf, NULL, &v, &sub) != 0)
            return units_fail(c, &sub);
        if (pct ? v > 100 : v > 1)
            return fail(c, "%s '%s' out of range (0%%..100%%, or a fraction 0..1)",
                        t->metric == THRESHOLD_DROPPED ? "dropped share" : "error rate",
                        err_quote(s, pct ? n + 1 : n, q, sizeof(q)));
        t->limit = pct ? v / 100 : v;
        return 0;
    }
    case THRESHOLD_RPS: {
        uint64_t v;
        if (units_parse_count(buf, NULL, &v, &sub) != 0)
            return units_fail(c, &sub);
        t->limit = (double)v;
        return 0;
    }
    }
    return fail(c, "unknown metric");
}

int threshold_parse(const char *text, struct threshold *out, struct pk_err *e)
{
    struct ctx c = { text ? text : "", 0, e };
    c.len = strnlen(c.text, THRESHOLD_TEXT_MAX + 1);
    if (c.len == 0)
        return fail(&c, "empty (expected e.g. p99<200ms, error_rate<1%%, rps>5000)");
    if (c.len > THRESHOLD_TEXT_MAX)
        return fail(&c, "longer than %d bytes", THRESHOLD_TEXT_MAX);
    for (size_t i = 0; i < c.len; i++) {
        unsigned char ch = (unsigned char)c.text[i];
        if ((ch < 0x20 && ch != '\t') || ch >= 0x7f) {
            char q[16];
            return fail(&c, "unexpected byte '%s'", err_quote(c.text + i, 1, q, sizeof(q)));
        }
    }

    const char *op = NULL;
    for (size_t i = 0; i < c.len && !op; i++)
        if (c.text[i] == '<' || c.text[i] == '>')
            op = c.text + i;
    if (!op) {
        if (memchr(c.text, '=', c.len))
            return fail(&c, "unsupported operator (use <, <=, > or >=)");
        return fail(&c, "missing operator (expected e.g. p99<200ms, error_rate<1%%, rps>5000)");
    }
    struct threshold t;
    memset(&t, 0, sizeof(t));
    size_t oplen = 1;
    if (op + 1 < c.text + c.len && op[1] == '=')
        oplen = 2;
    t.op = op[0] == '<' ? (oplen == 2 ? THRESHOLD_LE : THRESHOLD_LT)
                        : (oplen == 2 ? THRESHOLD_GE : THRESHOLD_GT);

    const char *m = c.text, *l = op + oplen;
    size_t mlen = (size_t)(op - c.text), llen = c.len - mlen - oplen;
    trim(&m, &mlen);
    trim(&l, &llen);
    for (size_t i = 0; i < llen; i++)
        if (l[i] == '<' || l[i] == '>' || l[i] == '=')
            return fail(&c, "more than one operator");
    int rc = parse_metric(&c, m, mlen, &t);
    if (rc || (rc = parse_limit(&c, l, llen, &t)))
        return rc;
    memcpy(t.text, c.text, c.len);
    t.text[c.len] = '\0';
    *out = t;
    return 0;
}

bool threshold_pass(const struct threshold *t, double measured)
{
    if (isnan(measured))
        return false;
    switch (t->op) {
    case THRESHOLD_LT: return measured < t->limit;
    case THRESHOLD_LE: return measured <= t->limit;
    case THRESHOLD_GT: return measured > t->limit;
    case THRESHOLD_GE: return measured >= t->limit;
    }
    return false;
}

const char *threshold_op_str(enum threshold_op op)
{
    switch (op) {
    case THRESHOLD_LT: return "<";
    case THRESHOLD_LE: return "<=";
    case THRESHOLD_GT: return ">";
    case THRESHOLD_GE: return ">=";
    }
    return "?";
}
