/*
 * units - parsing and formatting of durations, sizes and counts (units.h).
 *
 * Parsing splits the text into number and unit tokens by hand, so every
 * byte is accounted for and an error can name the exact token that is wrong.
 * Decimal text becomes a double through strtod_l() in the C locale, on a
 * bounded copy that holds only digits and one '.', so the conversion is
 * correctly rounded and no locale, hex, inf or nan form can slip through.
 * Sizes and counts are computed exactly in integers, because "whole" and
 * "fits in 64 bits" must be decided on the real value, not a rounded one.
 */
#define _GNU_SOURCE /* strtod_l */
#include "core/units.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"

/* No value a person types needs more; the cap bounds every copy below. */
#define MAX_TEXT 128
/* Callers turn durations into int64 nanoseconds; 100000 days stays far from
 * the 106751-day limit of that, with room for sums of a few such values. */
#define MAX_DAYS    100000
#define MAX_SECONDS ((double)MAX_DAYS * 86400.0)
/* Longest quoted excerpt of bad input in a message. */
#define QUOTE_MAX 64

/* ---- messages --------------------------------------------------------- */

/* Length of the valid, printable UTF-8 sequence at p, or 0. C1 controls are
 * refused as well: some terminals act on them like on ESC sequences. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x20 || p[0] == 0x7f)
        return 0;
    size_t k = text_utf8_seq(p, n);
    if (k == 2 && p[0] == 0xc2 && p[1] < 0xa0) /* U+0080..U+009F */
        return 0;
    return k;
}

/* Copies untrusted text into a message: bytes that could drive a terminal
 * (controls, broken UTF-8) become \xNN, and long text is cut with "...". */
static const char *quote(const char *s, size_t n, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        size_t need = k ? k : 4;
        if (o + need + 4 > cap) { /* room for "..." and the NUL */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (k) {
            memcpy(buf + o, p + i, k);
            o += k;
            i += k;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[p[i] >> 4];
            buf[o++] = hex[p[i] & 15];
            i++;
        }
    }
    buf[o] = '\0';
    return buf;
}

struct kind {
    const char *name;    /* "duration" */
    const char *example; /* shown when the text is empty */
};

static const struct kind K_DURATION = { "duration", "500ms, 2s, 1m30s" };
static const struct kind K_SIZE = { "size", "512, 64KiB, 1.5MB" };
static const struct kind K_COUNT = { "count", "10, 1.5k, 2M" };
static const struct kind K_NUMBER = { "number", "10, 2.5" };
static const struct kind K_INTEGER = { "number", "10" };

struct ctx {
    const struct kind *kind;
    const char *text;
    size_t len;
    const char *on;
    struct pk_err *e;
};

static int fail(const struct ctx *c, const char *why_fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct ctx *c, const char *why_fmt, ...)
{
    if (!c->e)
        return PK_EPARSE;
    char q[QUOTE_MAX + 1], what[sizeof(c->e->what)], why[sizeof(c->e->why)];
    snprintf(what, sizeof(what), "invalid %s '%s'", c->kind->name, quote(c->text, c->len, q, sizeof(q)));
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return err_set(c->e, PK_EPARSE, c->on, what, "%s", why);
}

/* ---- lexing ----------------------------------------------------------- */

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}
static bool is_num(char ch)
{
    return is_digit(ch) || ch == '.';
}
static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* The checks every parser makes first: present, bounded, no blanks. */
static int check_text(struct ctx *c)
{
    if (!c->text || !c->text[0]) {
        c->text = "";
        c->len = 0;
        return fail(c, "empty value (expected e.g. %s)", c->kind->example);
    }
    c->len = strnlen(c->text, MAX_TEXT + 1);
    if (c->len > MAX_TEXT)
        return fail(c, "too long (at most %d characters)", MAX_TEXT);
    for (size_t i = 0; i < c->len; i++)
        if (is_space(c->text[i]))
            return fail(c, "contains whitespace (write it as one word, e.g. %s)", c->kind->example);
    return 0;
}

static size_t span_num(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_num(s[i]))
        i++;
    return i;
}

static size_t span_unit(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && !is_num(s[i]))
        i++;
    return i;
}

/* The number token at s[0..n) is empty: say why a number is missing. */
static int missing_number(const struct ctx *c, const char *s, size_t n)
{
    char t[QUOTE_MAX + 1];
    if (s[0] == '-')
        return fail(c, "negative values are not allowed");
    return fail(c, "expected a number before '%s'", quote(s, span_unit(s, n), t, sizeof(t)));
}

/* Digits with at most one '.', and digits on both sides of it when there is
 * a leading part ("1.5", ".5"; not "1.", "1.5.2", "."). */
static int check_number(const struct ctx *c, const char *s, size_t n)
{
    size_t dots = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else
            digits++;
    }
    if (dots > 1 || digits == 0 || s[n - 1] == '.') {
        char t[QUOTE_MAX + 1];
        return fail(c, "malformed number '%s'", quote(s, n, t, sizeof(t)));
    }
    return 0;
}

/* Correctly rounded value of a checked number token, times 10^exp10. */
static int to_double(const char *s, size_t n, int exp10, double *out)
{
    char buf[MAX_TEXT + 16];
    if (n > MAX_TEXT)
        return -EINVAL;
    memcpy(buf, s, n);
    int m = snprintf(buf + n, sizeof(buf) - n, "e%d", exp10);
    if (m < 0 || (size_t)m >= sizeof(buf) - n)
        return -EINVAL;
    locale_t cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!cloc)
        return -ENOMEM;
    char *end;
    errno = 0;
    double v = strtod_l(buf, &end, cloc);
    freelocale(cloc);
    if (end != buf + n + (size_t)m || !isfinite(v))
        return -ERANGE;
    *out = v;
    return 0;
}

/* Decimal token as mantissa / 10^frac, exactly. Trailing fraction zeros are
 * dropped so "1.50k" and "1.5k" take the same path. */
struct decimal {
    uint64_t mant;
    unsigned frac;
};

enum { DEC_OK = 0, DEC_TOO_BIG = 1, DEC_TOO_PRECISE = 2 };

static int to_decimal(const char *s, size_t n, struct decimal *d)
{
    size_t dot = n;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.')
            dot = i;
    size_t end = n;
    if (dot < n)
        while (end > dot + 1 && s[end - 1] == '0')
            end--;
    if (end == dot + 1)
        end = dot; /* "2.000" is "2" */
    uint64_t m = 0;
    unsigned frac = 0;
    for (size_t i = 0; i < end; i++) {
        if (i == dot)
            continue;
        unsigned dig = (unsigned)(s[i] - '0');
        if (m > (UINT64_MAX - dig) / 10)
            return i < dot ? DEC_TOO_BIG : DEC_TOO_PRECISE;
        m = m * 10 + dig;
        if (i > dot)
            frac++;
    }
    if (frac > 19) /* 10^frac must fit in 64 bits */
        return DEC_TOO_PRECISE;
    d->mant = m;
    d->frac = frac;
    return DEC_OK;
}

static uint64_t pow10u(unsigned k)
{
    uint64_t p = 1;
    while (k--)
        p *= 10;
    return p;
}

/* a * b / d with remainder, exact, without a 128-bit type (32-bit targets
 * have none). False when the quotient does not fit in 64 bits. */
static bool muldiv(uint64_t a, uint64_t b, uint64_t d, uint64_t *q, uint64_t *r)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t p0 = al * bl, p1 = al * bh, p2 = ah * bl, p3 = ah * bh;
    uint64_t mid = (p0 >> 32) + (uint32_t)p1 + (uint32_t)p2;
    uint64_t lo = (mid << 32) | (uint32_t)p0;
    uint64_t hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
    if (hi >= d)
        return false;
    uint64_t rem = hi, quo = 0;
    for (int i = 63; i >= 0; i--) {
        bool carry = rem >> 63;
        rem = (rem << 1) | ((lo >> i) & 1);
        quo <<= 1;
        /* With carry the true value is >= 2^64 > d; wrapping arithmetic
         * still leaves the right remainder, which is < d. */
        if (carry || rem >= d) {
            rem -= d;
            quo |= 1;
        }
    }
    *q = quo;
    *r = rem;
    return true;
}

/* ---- durations -------------------------------------------------------- */

struct dur_unit {
    const char *name;
    int exp10; /* sub-second units scale in decimal, so "0.1ms" rounds once */
    double mult;
    int rank; /* size order, for "largest first, each once" */
};

static const struct dur_unit dur_units[] = {
    { "ns", -9, 1, 0 },        { "us", -6, 1, 1 },   { "\xc2\xb5s", -6, 1, 1 }, /* µs, MICRO SIGN */
    { "\xce\xbcs", -6, 1, 1 }, /* μs, GREEK SMALL LETTER MU, which looks the same */
    { "ms", -3, 1, 2 },        { "s", 0, 1, 3 },     { "m", 0, 60, 4 },
    { "h", 0, 3600, 5 },       { "d", 0, 86400, 6 },
};

static const struct dur_unit *find_dur_unit(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++)
        if (strlen(dur_units[i].name) == n && memcmp(dur_units[i].name, s, n) == 0)
            return &dur_units[i];
    return NULL;
}

int units_parse_duration(const char *text, const char *on, double *seconds, struct pk_err *e)
{
    struct ctx c = { &K_DURATION, text, 0, on, e };
    int rc = check_text(&c);
    if (rc)
        return rc;
    const char *s = c.text;
    size_t n = c.len, pos = 0;
    double total = 0;
    const struct dur_unit *prev = NULL;
    char t1[QUOTE_MAX + 1], t2[QUOTE_MAX + 1];

    while (pos < n) {
        const char *num = s + pos;
        size_t nlen = span_num(num, n - pos);
        if (nlen == 0)
            return missing_number(&c, num, n - pos);
        if ((rc = check_number(&c, num, nlen)))
            return rc;
        pos += nlen;
        const char *u = s + pos;
        size_t ulen = span_unit(u, n - pos);
        pos += ulen;
        const struct dur_unit *unit;
        if (ulen == 0) {
            if (prev)
                return fail(&c, "missing unit after '%s' (use ns, us, ms, s, m, h, d)",
                            quote(num, nlen, t1, sizeof(t1)));
            unit = find_dur_unit("s", 1); /* a bare number is seconds */
        } else if (!(unit = find_dur_unit(u, ulen))) {
            return fail(&c, "unknown unit '%s' (use ns, us, ms, s, m, h, d)", quote(u, ulen, t1, sizeof(t1)));
        }
        if (prev && unit->rank >= prev->rank)
            return fail(&c, "'%s' after '%s': write the units from largest to smallest, each once",
                        quote(u, ulen, t1, sizeof(t1)),
                        quote(prev->name, strlen(prev->name), t2, sizeof(t2)));
        double v;
        rc = to_double(num, nlen, unit->exp10, &v);
        if (rc == -ENOMEM)
            return err_errno(e, rc, on, "cannot parse duration");
        if (rc == 0) {
            v *= unit->mult;
            total += v;
        }
        if (rc || v > MAX_SECONDS || total > MAX_SECONDS)
            return fail(&c, "out of range (at most %dd)", MAX_DAYS);
        prev = unit;
    }
    *seconds = total;
    return 0;
}

/* ---- sizes and counts ------------------------------------------------- */

/* value = dec * mult, exact; *rem tells whether it had a fraction, and
 * whether that fraction was at least one half (for rounding). */
static int scale_exact(const struct ctx *c, const struct decimal *d, uint64_t mult, uint64_t *out,
                       bool *has_frac, bool *half_up)
{
    uint64_t q, r, den = pow10u(d->frac);
    if (!muldiv(d->mant, mult, den, &q, &r))
        return fail(c, "out of range (at most %" PRIu64 ")", UINT64_MAX);
    *out = q;
    *has_frac = r != 0;
    *half_up = r >= den - r;
    return 0;
}

static int decimal_of(const struct ctx *c, const char *num, size_t nlen, struct decimal *d)
{
    switch (to_decimal(num, nlen, d)) {
    case DEC_TOO_BIG: return fail(c, "out of range (at most %" PRIu64 ")", UINT64_MAX);
    case DEC_TOO_PRECISE: return fail(c, "too many digits (at most 19 significant)");
    }
    return 0;
}

/* Splits "<number><suffix>", checking the number. */
static int split(const struct ctx *c, const char **num, size_t *nlen, const char **suf, size_t *slen)
{
    *num = c->text;
    *nlen = span_num(c->text, c->len);
    if (*nlen == 0)
        return missing_number(c, c->text, c->len);
    int rc = check_number(c, *num, *nlen);
    if (rc)
        return rc;
    *suf = c->text + *nlen;
    *slen = c->len - *nlen;
    return 0;
}

/* "", "B", then k/K M G T, optionally "i" (IEC), optionally "B". */
static bool size_mult(const char *s, size_t n, uint64_t *mult)
{
    static const char prefixes[] = "kMGT";
    if (n == 0 || (n == 1 && s[0] == 'B')) {
        *mult = 1;
        return true;
    }
    char p = s[0] == 'K' ? 'k' : s[0];
    const char *at = memchr(prefixes, p, 4);
    if (!at)
        return false;
    int power = (int)(at - prefixes) + 1;
    size_t i = 1;
    bool iec = i < n && s[i] == 'i';
    if (iec)
        i++;
    if (i < n && s[i] == 'B')
        i++;
    if (i != n)
        return false;
    uint64_t m = 1;
    for (int k = 0; k < power; k++)
        m *= iec ? 1024 : 1000;
    *mult = m;
    return true;
}

int units_parse_size(const char *text, const char *on, uint64_t *bytes, struct pk_err *e)
{
    struct ctx c = { &K_SIZE, text, 0, on, e };
    int rc = check_text(&c);
    const char *num, *suf;
    size_t nlen, slen;
    if (rc || (rc = split(&c, &num, &nlen, &suf, &slen)))
        return rc;
    uint64_t mult;
    char t[QUOTE_MAX + 1];
    if (!size_mult(suf, slen, &mult))
        return fail(&c, "unknown unit '%s' (use B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)",
                    quote(suf, slen, t, sizeof(t)));
    struct decimal d;
    uint64_t v;
    bool has_frac, half_up;
    if ((rc = decimal_of(&c, num, nlen, &d)) || (rc = scale_exact(&c, &d, mult, &v, &has_frac, &half_up)))
        return rc;
    /* "1.1GiB" is not a whole number of bytes, but nobody means a fraction
     * there; a plain "1.5" bytes, though, is a mistake worth reporting. */
    if (has_frac && mult == 1)
        return fail(&c, "not a whole number of bytes");
    if (has_frac && half_up) {
        if (v == UINT64_MAX)
            return fail(&c, "out of range (at most %" PRIu64 ")", UINT64_MAX);
        v++;
    }
    *bytes = v;
    return 0;
}

int units_parse_count(const char *text, const char *on, uint64_t *count, struct pk_err *e)
{
    struct ctx c = { &K_COUNT, text, 0, on, e };
    int rc = check_text(&c);
    const char *num, *suf;
    size_t nlen, slen;
    if (rc || (rc = split(&c, &num, &nlen, &suf, &slen)))
        return rc;
    uint64_t mult = 0;
    if (slen == 0)
        mult = 1;
    else if (slen == 1 && (suf[0] == 'k' || suf[0] == 'K'))
        mult = 1000;
    else if (slen == 1 && suf[0] == 'M')
        mult = 1000000;
    else if (slen == 1 && suf[0] == 'G')
        mult = 1000000000;
    char t[QUOTE_MAX + 1];
    if (!mult)
        return fail(&c, "unknown suffix '%s' (use k, M, G)", quote(suf, slen, t, sizeof(t)));
    struct decimal d;
    uint64_t v;
    bool has_frac, half_up;
    if ((rc = decimal_of(&c, num, nlen, &d)) || (rc = scale_exact(&c, &d, mult, &v, &has_frac, &half_up)))
        return rc;
    if (has_frac)
        return fail(&c, "not a whole number");
    *count = v;
    return 0;
}

int units_parse_double(const char *text, const char *on, double *out, struct pk_err *e)
{
    struct ctx c = { &K_NUMBER, text, 0, on, e };
    int rc = check_text(&c);
    const char *num, *suf;
    size_t nlen, slen;
    if (rc || (rc = split(&c, &num, &nlen, &suf, &slen)))
        return rc;
    char t[QUOTE_MAX + 1];
    if (slen)
        return fail(&c, "unexpected '%s' after the number (expected a plain number, e.g. %s)",
                    quote(suf, slen, t, sizeof(t)), c.kind->example);
    double v;
    rc = to_double(num, nlen, 0, &v);
    if (rc == -ENOMEM)
        return err_errno(e, rc, on, "cannot parse number");
    if (rc)
        return fail(&c, "out of range");
    *out = v;
    return 0;
}

int units_parse_uint(const char *text, const char *on, uint64_t min, uint64_t max, uint64_t *out,
                     struct pk_err *e)
{
    struct ctx c = { &K_INTEGER, text, 0, on, e };
    int rc = check_text(&c);
    if (rc)
        return rc;
    if (c.text[0] == '-')
        return fail(&c, "negative values are not allowed");
    uint64_t v = 0;
    bool overflow = false;
    for (size_t i = 0; i < c.len; i++) {
        if (!is_digit(c.text[i]))
            return fail(&c, "expected a whole number (digits only)");
        unsigned dig = (unsigned)(c.text[i] - '0');
        if (v > (UINT64_MAX - dig) / 10)
            overflow = true;
        else
            v = v * 10 + dig;
    }
    if (overflow || v < min || v > max) {
        if (min > 0 && max < UINT64_MAX)
            return fail(&c, "out of range (must be between %" PRIu64 " and %" PRIu64 ")", min, max);
        if (overflow || v > max)
            return fail(&c, "out of range (must be at most %" PRIu64 ")", max);
        return fail(&c, "out of range (must be at least %" PRIu64 ")", min);
    }
    *out = v;
    return 0;
}

/* ---- formatting ------------------------------------------------------- */

struct fmt_unit {
    const char *name;
    double scale; /* base units per unit */
    double limit; /* first value (in this unit) shown in the next unit */
};

/* Seconds stay in use up to 1000 s like the smaller units; beyond, minutes
 * and hours switch at 100, where the next unit reads better. */
static const struct fmt_unit dur_fmt[] = {
    { "ns", 1e-9, 1000 }, { "us", 1e-6, 1000 }, { "ms", 1e-3, 1000 }, { "s", 1, 1000 },
    { "min", 60, 100 },   { "h", 3600, 100 },   { "d", 86400, 0 },
};
static const struct fmt_unit size_fmt[] = {
    { "B", 1, 1024 },
    { "KiB", 1024.0, 1024 },
    { "MiB", 1024.0 * 1024, 1024 },
    { "GiB", 1024.0 * 1024 * 1024, 1024 },
    { "TiB", 1024.0 * 1024 * 1024 * 1024, 1024 },
    { "PiB", 1024.0 * 1024 * 1024 * 1024 * 1024, 1024 },
    { "EiB", 1024.0 * 1024 * 1024 * 1024 * 1024 * 1024, 0 },
};
static const struct fmt_unit count_fmt[] = {
    { "", 1, 1000 }, { "k", 1e3, 1000 }, { "M", 1e6, 1000 }, { "G", 1e9, 1000 }, { "T", 1e12, 0 },
};
#define NUNITS(a) (sizeof(a) / sizeof(a[0]))

/* The value of a number printf just wrote, read back without strtod so the
 * locale's decimal point does not matter. */
static double read_back(const char *s)
{
    double v = 0, scale = 1;
    bool frac = false;
    for (; *s; s++) {
        if (is_digit(*s)) {
            if (frac) {
                scale /= 10;
                v += (*s - '0') * scale;
            } else {
                v = v * 10 + (*s - '0');
            }
        } else {
            frac = true;
        }
    }
    return v;
}

/* Three significant digits of v >= 0 in num. */
static void sig3(double v, bool integral, bool last, char *num, size_t cap)
{
    if (integral && v < 1e9) {
        snprintf(num, cap, "%.0f", v);
    } else if (v < 1) {
        snprintf(num, cap, "%#.3g", v);
    } else if (last && v >= 1e9) {
        snprintf(num, cap, "%.2e", v);
    } else {
        int d = 2;
        for (;;) {
            snprintf(num, cap, "%.*f", d, v);
            size_t intdigits = strspn(num, "0123456789");
            if (d == 0 || intdigits + (size_t)d <= 3)
                break;
            d--;
        }
    }
}

/* Picks the unit for |v| and writes its number; returns the unit index. */
static size_t pick(const struct fmt_unit *u, size_t n, double a, bool integral_base, char *num, size_t cap)
{
    size_t i = 0;
    while (i + 1 < n && a >= u[i].limit * u[i].scale)
        i++;
    for (;;) {
        double v = a / u[i].scale;
        sig3(v, integral_base && i == 0 && v == floor(v), i + 1 == n, num, cap);
        /* Rounding can carry into the next unit: 999.7 ms prints as 1.00 s. */
        if (i + 1 < n && read_back(num) >= u[i].limit) {
            i++;
            continue;
        }
        return i;
    }
}

static char *format(const struct fmt_unit *u, size_t n, const char *zero, bool integral_base, double v,
                    char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    if (isnan(v)) {
        snprintf(buf, len, "nan");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
        return buf;
    }
    if (v == 0) {
        snprintf(buf, len, "%s", zero);
        return buf;
    }
    char num[32];
    size_t i = pick(u, n, fabs(v), integral_base, num, sizeof(num));
    snprintf(buf, len, "%s%s%s%s", v < 0 ? "-" : "", num, u[i].name[0] ? " " : "", u[i].name);
    return buf;
}

char *units_format_duration(double seconds, char *buf, size_t len)
{
    return format(dur_fmt, NUNITS(dur_fmt), "0 s", false, seconds, buf, len);
}

char *units_format_size(double bytes, char *buf, size_t len)
{
    return format(size_fmt, NUNITS(size_fmt), "0 B", true, bytes, buf, len);
}

char *units_format_count(double count, char *buf, size_t len)
{
    return format(count_fmt, NUNITS(count_fmt), "0", true, count, buf, len);
}

const char *units_duration_unit(double seconds, double *scale)
{
    size_t i = 3; /* seconds, for 0, NaN and infinities */
    if (isfinite(seconds) && seconds != 0) {
        char num[32];
        i = pick(dur_fmt, NUNITS(dur_fmt), fabs(seconds), false, num, sizeof(num));
    }
    if (scale)
        *scale = dur_fmt[i].scale;
    return dur_fmt[i].name;
}
