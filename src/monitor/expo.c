#include "monitor/expo.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

/* ---- numbers ------------------------------------------------------------------ */

/*
 * A decimal d1.d2d3...dn x 10^exp with n significant digits, as a string
 * strtod reads: "d1d2...dn" with the exponent moved so no point is needed.
 */
static double decimal_value(uint64_t mant, int ndig, int exp)
{
    char buf[48];
    snprintf(buf, sizeof(buf), "%llue%d", (unsigned long long)mant, exp - (ndig - 1));
    return strtod(buf, NULL);
}

/* v (finite, > 0) correctly rounded to ndig significant digits: mantissa and decimal exponent. */
static void round_digits(double v, int ndig, uint64_t *mant, int *exp)
{
    char buf[48];
    snprintf(buf, sizeof(buf), "%.*e", ndig - 1, v);
    uint64_t m = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            m = m * 10 + (uint64_t)(*p - '0');
    *mant = m;
    *exp = (int)strtol(p + 1, NULL, 10);
}

static const uint64_t pow10_u64[] = {
    1ull,
    10ull,
    100ull,
    1000ull,
    10000ull,
    100000ull,
    1000000ull,
    10000000ull,
    100000000ull,
    1000000000ull,
    10000000000ull,
    100000000000ull,
    1000000000000ull,
    10000000000000ull,
    100000000000000ull,
    1000000000000000ull,
    10000000000000000ull,
    100000000000000000ull,
};

/*
 * The ndig-digit decimal that reads back as v, closest to v, if there is one.
 * The correctly rounded one is the closest; when it does not read back, its
 * neighbour on the other side of v still may, because the interval of
 * decimals that read back as v is twice as wide above a power of two as
 * below it. If any ndig-digit decimal reads back, one of those two does.
 */
static bool shortest_at(double v, int ndig, uint64_t *mant, int *exp)
{
    uint64_t m;
    int x;
    round_digits(v, ndig, &m, &x);
    double r = decimal_value(m, ndig, x);
    if (r == v) {
        *mant = m;
        *exp = x;
        return true;
    }
    uint64_t lo = pow10_u64[ndig - 1], hi = pow10_u64[ndig];
    if (r < v) {
        m++;
        if (m == hi) {
            m = lo;
            x++;
        }
    } else {
        if (m == lo) {
            m = hi - 1;
            x--;
        } else {
            m--;
        }
    }
    if (decimal_value(m, ndig, x) == v) {
        *mant = m;
        *exp = x;
        return true;
    }
    return false;
}

/*
 * Go's strconv.FormatFloat(v, 'g', -1, 64): the fewest significant digits
 * that read back as v, in %e form when the decimal exponent is below -4 or at
 * least 6 ("5.9910002e+07", "1e-05"), in %f form otherwise ("0.0001", "123.5").
 * Having a readable ndig-digit decimal is monotonic in ndig, so a binary
 * search over 1..17 digits finds the fewest in about four tries.
 */
static size_t format_go(double v, char *buf, size_t cap)
{
    char out[40];
    size_t o = 0;
    if (v < 0) {
        out[o++] = '-';
        v = -v;
    }
    int lo = 1, hi = 17;
    uint64_t mant = 0;
    int exp = 0;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        uint64_t m;
        int x;
        if (shortest_at(v, mid, &m, &x))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!shortest_at(v, lo, &mant, &exp)) /* 17 digits always read back */
        round_digits(v, 17, &mant, &exp);
    char dig[24];
    int nd = snprintf(dig, sizeof(dig), "%llu", (unsigned long long)mant);
    while (nd > 1 && dig[nd - 1] == '0')
        dig[--nd] = '\0';
    if (exp < -4 || exp >= 6) {
        out[o++] = dig[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, dig + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        o += (size_t)snprintf(out + o, sizeof(out) - o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        memcpy(out + o, "0.", 2);
        o += 2;
        for (int i = -1; i > exp; i--)
            out[o++] = '0';
        memcpy(out + o, dig, (size_t)nd);
        o += (size_t)nd;
    } else {
        for (int i = 0; i <= exp; i++)
            out[o++] = i < nd ? dig[i] : '0';
        if (nd > exp + 1) {
            out[o++] = '.';
            memcpy(out + o, dig + exp + 1, (size_t)(nd - exp - 1));
            o += (size_t)(nd - exp - 1);
        }
    }
    out[o] = '\0';
    if (cap > 0) {
        size_t n = o < cap ? o : cap - 1;
        memcpy(buf, out, n);
        buf[n] = '\0';
    }
    return o;
}

size_t expo_format_double(double v, char *buf, size_t cap)
{
    const char *lit = NULL;
    if (isnan(v))
        lit = "NaN";
    else if (isinf(v))
        lit = v > 0 ? "+Inf" : "-Inf";
    else if (v == 0)
        lit = "0"; /* and -0, as the Go client prints it */
    if (lit) {
        size_t n = strlen(lit);
        if (cap > 0)
            snprintf(buf, cap, "%s", lit);
        return n;
    }
    /* Integers up to 2^53 are exact in a double: the plain digits are the
     * value itself, easier to read and to grep than "5.9910002e+07". */
    if (fabs(v) < 9007199254740992.0 && v == trunc(v)) {
        int n = snprintf(buf, cap, "%lld", (long long)v);
        return n < 0 ? 0 : (size_t)n;
    }
    return format_go(v, buf, cap);
}

/* ---- output ------------------------------------------------------------------- */

/* The rendering appends a byte or a few at a time: buf_add and buf_addc are
 * inline, and a failure sticks in b->err, checked once at the end. */

/* s with '\' and newline escaped, and '"' too when quote is set. */
static void out_escaped(struct buf *b, const char *s, bool quote)
{
    const char *run = s;
    for (const char *p = s;; p++) {
        char c = *p;
        if (c != '\0' && c != '\\' && c != '\n' && !(quote && c == '"'))
            continue;
        buf_add(b, run, (size_t)(p - run));
        if (c == '\0')
            return;
        buf_addc(b, '\\');
        buf_addc(b, c == '\n' ? 'n' : c);
        run = p + 1;
    }
}

/* ---- families ----------------------------------------------------------------- */

static const char *const base_units[] = {
    "seconds", "bytes",  "ratio",  "celsius", "joules", "volts",
    "amperes", "meters", "metres", "grams",   "kelvin", "hertz",
};

/* Length of name without a "_total" suffix. */
static size_t om_family_len(const char *name, enum metric_type type)
{
    size_t n = strlen(name);
    if (type == METRIC_COUNTER && n > 6 && strcmp(name + n - 6, "_total") == 0)
        n -= 6;
    return n;
}

const char *expo_unit(const char *name, enum metric_type type)
{
    size_t n = om_family_len(name, type);
    for (size_t i = 0; i < sizeof(base_units) / sizeof(base_units[0]); i++) {
        size_t u = strlen(base_units[i]);
        if (n > u + 1 && name[n - u - 1] == '_' && strncmp(name + n - u, base_units[i], u) == 0)
            return base_units[i];
    }
    return NULL;
}

static const char *type_word(enum metric_type t, enum expo_format f)
{
    switch (t) {
    case METRIC_COUNTER: return "counter";
    case METRIC_GAUGE: return "gauge";
    default: return f == EXPO_OPENMETRICS ? "unknown" : "untyped";
    }
}

static void render_family(struct buf *b, const struct metric_set *s, const struct metric_family *fam,
                          enum expo_format f)
{
    bool om = f == EXPO_OPENMETRICS;
    size_t flen = om ? om_family_len(fam->name, fam->type) : strlen(fam->name);
    /* OpenMetrics names a counter's samples <family>_total even when the
     * family was named without it. */
    const char *suffix = om && fam->type == METRIC_COUNTER ? "_total" : "";
    if (fam->help && fam->help[0]) {
        buf_adds(b, "# HELP ");
        buf_add(b, fam->name, flen);
        buf_addc(b, ' ');
        out_escaped(b, fam->help, om);
        buf_addc(b, '\n');
    }
    buf_adds(b, "# TYPE ");
    buf_add(b, fam->name, flen);
    buf_addc(b, ' ');
    buf_adds(b, type_word(fam->type, f));
    buf_addc(b, '\n');
    const char *unit = om ? expo_unit(fam->name, fam->type) : NULL;
    if (unit) {
        buf_adds(b, "# UNIT ");
        buf_add(b, fam->name, flen);
        buf_addc(b, ' ');
        buf_adds(b, unit);
        buf_addc(b, '\n');
    }
    char num[64];
    for (size_t i = 0; i < fam->n; i++) {
        const struct metric_series *m = &s->series[fam->idx[i]];
        buf_add(b, fam->name, flen);
        buf_adds(b, suffix);
        if (m->nlabels) {
            buf_addc(b, '{');
            for (size_t k = 0; k < m->nlabels; k++) {
                if (k)
                    buf_addc(b, ',');
                buf_adds(b, m->labels[k].name);
                buf_adds(b, "=\"");
                out_escaped(b, m->labels[k].value, true);
                buf_addc(b, '"');
            }
            buf_addc(b, '}');
        }
        buf_addc(b, ' ');
        size_t n = expo_format_double(m->value, num, sizeof(num));
        buf_add(b, num, n);
        buf_addc(b, '\n');
    }
}

/* A first render's room: an exposition is tens of KiB, grown by doubling from here. */
#define FIRST_CAP 4096

int expo_render_buf(struct buf *b, const struct metric_set *const *sets, size_t n, enum expo_format f,
                    struct pk_err *e)
{
    if (f != EXPO_TEXT && f != EXPO_OPENMETRICS)
        return err_set(e, -EINVAL, "exposition", "unknown format", "%d", (int)f);
    buf_reset(b);
    if (!b->cap)
        buf_reserve(b, FIRST_CAP - 1);
    for (size_t k = 0; k < n; k++) {
        const struct metric_set *s = sets[k];
        if (!s)
            continue;
        for (size_t i = 0; i < s->nfam; i++)
            if (s->fam[i].n > 0) /* an empty family says nothing: Go's client drops it too */
                render_family(b, s, &s->fam[i], f);
    }
    if (f == EXPO_OPENMETRICS)
        buf_adds(b, "# EOF\n");
    /* NUL-terminated even when nothing was added */
    if (buf_reserve(b, 0) < 0)
        return err_errno(e, b->err, "exposition", "cannot render metrics");
    b->p[b->len] = '\0';
    return 0;
}

int expo_render(const struct metric_set *s, enum expo_format f, char **out, size_t *len, struct pk_err *e)
{
    struct buf b = BUF_INIT;
    const struct metric_set *sets[1] = { s };
    int rc = expo_render_buf(&b, sets, 1, f, e);
    *out = rc < 0 ? NULL : buf_take(&b, len);
    buf_destroy(&b);
    if (rc < 0 && len)
        *len = 0;
    return rc;
}

const char *expo_content_type(enum expo_format f)
{
    return f == EXPO_OPENMETRICS ? EXPO_CONTENT_TYPE_OPENMETRICS : EXPO_CONTENT_TYPE_TEXT;
}
