/*
 * url - parsing of http:// and https:// URLs (url.h).
 *
 * One pass over bounded text: the scheme, the authority (up to the first
 * '/', '?' or '#'), then the target. Every byte is checked where it is
 * consumed, so a message can name the exact part that is wrong.
 */
#include "core/url.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/units.h"

#define QUOTE_MAX 64

struct ctx {
    const char *text; /* the whole text as given, for the message */
    size_t len;
    const char *on;
    struct pk_err *e;
};

static int fail(const struct ctx *c, const char *why_fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct ctx *c, const char *why_fmt, ...)
{
    if (!c->e)
        return PK_EPARSE;
    char q[QUOTE_MAX * 4 + 8], what[sizeof(c->e->what)], why[sizeof(c->e->why)];
    snprintf(what, sizeof(what), "invalid URL '%s'", err_quote(c->text, c->len, q, QUOTE_MAX + 4));
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return err_set(c->e, PK_EPARSE, c->on, what, "%s", why);
}

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}
static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}
static bool is_hex(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Bytes that may appear in a request target as typed: printable ASCII
 * without space. Quotes, braces and the like are passed through as curl
 * does; servers decide what they accept. */
static int check_target(const struct ctx *c, const char *s, size_t n)
{
    char t[16];
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ')
            return fail(c, "space in the path or query (write it as %%20)");
        if (ch < 0x20 || ch == 0x7f)
            return fail(c, "control byte '%s' in the path or query", err_quote(s + i, 1, t, sizeof(t)));
        if (ch >= 0x80)
            return fail(c, "non-ASCII byte '%s' in the path or query (percent-encode it)",
                        err_quote(s + i, 1, t, sizeof(t)));
        if (ch == '%' && (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2])))
            return fail(c, "'%%' not followed by two hex digits in the path or query");
    }
    return 0;
}

/* A host of digits and dots only is an IPv4 address, and must be the plain
 * dotted-quad form. */
static int check_ipv4(const struct ctx *c, const char *s, size_t n)
{
    char t[QUOTE_MAX + 8];
    size_t parts = 0, i = 0;
    while (i <= n) {
        size_t start = i;
        unsigned v = 0;
        while (i < n && is_digit(s[i]) && i - start < 4) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        size_t dl = i - start;
        if (dl == 0 || dl > 3 || v > 255 || (dl > 1 && s[start] == '0') || (i < n && s[i] != '.'))
            return fail(c, "invalid IPv4 address '%s' (expected four numbers 0-255 without leading zeros)",
                        err_quote(s, n, t, sizeof(t)));
        parts++;
        i++; /* the '.', or one past the end */
    }
    if (parts != 4)
        return fail(c, "invalid IPv4 address '%s' (expected four numbers 0-255 without leading zeros)",
                    err_quote(s, n, t, sizeof(t)));
    return 0;
}

static int check_name(const struct ctx *c, const char *s, size_t n)
{
    char t[16];
    if (n > URL_HOST_MAX)
        return fail(c, "host name longer than %d bytes", URL_HOST_MAX);
    bool numeric = true;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!(is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '.' || ch == '_'))
            return fail(c, "invalid character '%s' in host", err_quote(s + i, 1, t, sizeof(t)));
        if (!is_digit(ch) && ch != '.')
            numeric = false;
    }
    if (numeric)
        return check_ipv4(c, s, n);
    if (s[0] == '.' || s[0] == '-')
        return fail(c, "host must not start with '%c'", s[0]);
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '.' && s[i + 1] == '.')
            return fail(c, "empty label ('..') in host");
    return 0;
}

static int check_ipv6(const struct ctx *c, const char *s, size_t n, char *out)
{
    char t[QUOTE_MAX + 8];
    if (memchr(s, '%', n))
        return fail(c, "IPv6 zone identifiers are not supported");
    if (n >= INET6_ADDRSTRLEN)
        return fail(c, "invalid IPv6 address '%s'", err_quote(s, n, t, sizeof(t)));
    char buf[INET6_ADDRSTRLEN];
    memcpy(buf, s, n);
    buf[n] = '\0';
    unsigned char bin[16];
    if (n == 0 || inet_pton(AF_INET6, buf, bin) != 1)
        return fail(c, "invalid IPv6 address '%s'", err_quote(s, n, t, sizeof(t)));
    memcpy(out, buf, n + 1);
    return 0;
}

static int parse_port(const struct ctx *c, const char *s, size_t n, uint16_t *port)
{
    char t[QUOTE_MAX + 8];
    if (n == 0)
        return fail(c, "empty port after ':'");
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return fail(c, "invalid port '%s' (expected a number 1-65535)", err_quote(s, n, t, sizeof(t)));
        if (v <= 65535)
            v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return fail(c, "port %s out of range (1-65535)", err_quote(s, n, t, sizeof(t)));
    *port = (uint16_t)v;
    return 0;
}

/* Parses text[0..n); c->text may be longer (a weight suffix follows). */
static int parse(const struct ctx *c, const char *s, size_t n, struct url *out)
{
    char t[QUOTE_MAX + 8];
    struct url u;
    memset(&u, 0, sizeof(u));
    u.weight = 1;

    if (n == 0)
        return fail(c, "empty URL");
    if (n > URL_MAX)
        return fail(c, "longer than %d bytes", URL_MAX);

    size_t i = 0;
    if (is_alpha(s[0])) {
        i = 1;
        while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
            i++;
    }
    bool sep = i > 0 && i < n && s[i] == ':';
    if (!sep || n - i < 3 || s[i + 1] != '/' || s[i + 2] != '/') {
        if (sep &&
            ((i == 4 && strncasecmp(s, "http", 4) == 0) || (i == 5 && strncasecmp(s, "https", 5) == 0)))
            return fail(c, "expected '//' after '%s'", err_quote(s, i + 1, t, sizeof(t)));
        return fail(c, "missing scheme (expected http:// or https://)");
    }
    if (i == 4 && strncasecmp(s, "http", 4) == 0)
        u.https = false;
    else if (i == 5 && strncasecmp(s, "https", 5) == 0)
        u.https = true;
    else
        return fail(c, "unsupported scheme '%s' (use http:// or https://)", err_quote(s, i, t, sizeof(t)));
    u.port = u.https ? 443 : 80;
    i += 3;

    size_t a0 = i;
    while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#')
        i++;
    const char *auth = s + a0;
    size_t alen = i - a0;
    if (memchr(auth, '@', alen))
        return fail(c, "userinfo before '@' is not supported (credentials belong in a header: "
                       "-H 'Authorization: ...')");

    const char *port = NULL;
    size_t plen = 0;
    bool has_port = false;
    if (alen > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close)
            return fail(c, "missing ']' after the IPv6 address");
        size_t hlen = (size_t)(close - auth) - 1;
        if (hlen == 0)
            return fail(c, "empty host");
        int rc = check_ipv6(c, auth + 1, hlen, u.host);
        if (rc)
            return rc;
        u.ipv6 = true;
        size_t rest = alen - (hlen + 2);
        if (rest > 0) {
            if (close[1] != ':')
                return fail(c, "unexpected '%s' after the IPv6 address (expected ':port')",
                            err_quote(close + 1, rest, t, sizeof(t)));
            has_port = true;
            port = close + 2;
            plen = rest - 1;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        size_t hlen = colon ? (size_t)(colon - auth) : alen;
        if (hlen == 0)
            return fail(c, "empty host");
        int rc = check_name(c, auth, hlen);
        if (rc)
            return rc;
        memcpy(u.host, auth, hlen);
        u.host[hlen] = '\0';
        if (colon) {
            has_port = true;
            port = colon + 1;
            plen = alen - hlen - 1;
        }
    }
    if (has_port) {
        int rc = parse_port(c, port, plen, &u.port);
        if (rc)
            return rc;
    }

    size_t t0 = i;
    const char *hash = memchr(s + t0, '#', n - t0);
    size_t tend = hash ? (size_t)(hash - s) : n;
    int rc = check_target(c, s + t0, tend - t0);
    if (rc)
        return rc;
    size_t o = 0;
    if (t0 == tend || s[t0] != '/')
        u.target[o++] = '/';
    memcpy(u.target + o, s + t0, tend - t0);
    u.target[o + tend - t0] = '\0';

    bool def = u.port == (u.https ? 443 : 80);
    const char *lb = u.ipv6 ? "[" : "", *rb = u.ipv6 ? "]" : "";
    if (def)
        snprintf(u.authority, sizeof(u.authority), "%s%s%s", lb, u.host, rb);
    else
        snprintf(u.authority, sizeof(u.authority), "%s%s%s:%u", lb, u.host, rb, (unsigned)u.port);
    *out = u;
    return 0;
}

int url_parse(const char *text, const char *on, struct url *u, struct pk_err *e)
{
    struct ctx c = { text ? text : "", 0, on, e };
    c.len = strnlen(c.text, URL_MAX + 1);
    return parse(&c, c.text, c.len, u);
}

static bool weight_char(char ch)
{
    return is_digit(ch) || ch == '.' || ch == '+' || ch == '-';
}

int url_parse_weighted(const char *text, const char *on, struct url *u, struct pk_err *e)
{
    struct ctx c = { text ? text : "", 0, on, e };
    /* Room for "@" and the weight's digits past the URL's own cap. */
    c.len = strnlen(c.text, URL_MAX + 32);
    const char *at = NULL;
    for (size_t i = c.len; i > 0; i--)
        if (c.text[i - 1] == '@') {
            at = c.text + i - 1;
            break;
        }
    size_t wlen = at ? c.len - (size_t)(at - c.text) - 1 : 0;
    bool weighted = at && wlen > 0;
    for (size_t i = 0; weighted && i < wlen; i++)
        weighted = weight_char(at[1 + i]);
    if (!weighted)
        return parse(&c, c.text, c.len, u);
    if (wlen >= 32)
        return fail(&c, "weight longer than 31 characters");

    char wbuf[32];
    memcpy(wbuf, at + 1, wlen);
    wbuf[wlen] = '\0';
    uint64_t w;
    struct pk_err sub;
    pk_err_clear(&sub);
    if (units_parse_uint(wbuf, NULL, 1, URL_WEIGHT_MAX, &w, &sub) != 0)
        return fail(&c, "weight '%s' is not a whole number 1-%d", wbuf, URL_WEIGHT_MAX);
    struct url tmp;
    int rc = parse(&c, c.text, (size_t)(at - c.text), &tmp);
    if (rc)
        return rc;
    tmp.weight = (uint32_t)w;
    *u = tmp;
    return 0;
}

const char *url_scheme(const struct url *u)
{
    return u->https ? "https" : "http";
}

char *url_format(const struct url *u, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    snprintf(buf, len, "%s://%s%s", url_scheme(u), u->authority, u->target);
    return buf;
}
