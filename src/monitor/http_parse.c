/*
 * http_parse - the HTTP server's parsers of untrusted text, apart from the
 * libmicrohttpd glue (http.c) so that tests and fuzz targets reach them
 * without a server: the --listen address, the Accept header's negotiation
 * of the /metrics format, and the Host header's check on a loopback server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/err.h"
#include "monitor/http.h"
#include "monitor/http_impl.h"

/* ---- listen address ----------------------------------------------------- */

static bool v6_loopback(const struct in6_addr *a)
{
    if (IN6_IS_ADDR_LOOPBACK(a))
        return true;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

/* Any socket address (sockaddr_in, sockaddr_in6, as struct sockaddr or
 * sockaddr_storage), copied out rather than read through a cast, which
 * the compiler may reorder around the address's initialisation. */
static bool is_loopback(const void *sa)
{
    sa_family_t fam;
    memcpy(&fam, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof(fam));
    if (fam == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof(in));
        return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
    }
    if (fam == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof(in6));
        return v6_loopback(&in6.sin6_addr);
    }
    return false;
}

static int listen_fail(struct pk_err *e, int code, const char *text, const char *why_fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int listen_fail(struct pk_err *e, int code, const char *text, const char *why_fmt, ...)
{
    if (!e)
        return code;
    char q[96], what[sizeof(e->what)], why[sizeof(e->why)];
    snprintf(what, sizeof(what), "invalid listen address '%s'", err_quote(text, strlen(text), q, sizeof(q)));
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return err_set(e, code, "--listen", what, "%s", why);
}

/* Splits "host:port" / "[v6]:port"; host copied (without brackets) into
 * host[HTTP_HOST_MAX + 1]. */
static int split_listen(const char *text, char *host, bool *bracketed, uint16_t *port, struct pk_err *e)
{
    size_t n = strlen(text);
    if (n == 0)
        return listen_fail(e, PK_EPARSE, text, "empty (expected HOST:PORT, e.g. 127.0.0.1:9310)");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
            return listen_fail(e, PK_EPARSE, text, "a space, control or non-ASCII character");
    const char *colon;
    const char *h;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return listen_fail(e, PK_EPARSE, text, "missing ']' after the IPv6 address");
        h = text + 1;
        hlen = (size_t)(close - h);
        if (close[1] != ':')
            return listen_fail(e, PK_EPARSE, text, "%s",
                               close[1] ? "expected ':PORT' after ']'" : "missing port (e.g. [::1]:9310)");
        colon = close + 1;
        *bracketed = true;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return listen_fail(e, PK_EPARSE, text, "missing port (e.g. 127.0.0.1:9310)");
        if (memchr(text, ':', (size_t)(colon - text)))
            return listen_fail(e, PK_EPARSE, text, "an IPv6 address goes in brackets, e.g. [::1]:9310");
        h = text;
        hlen = (size_t)(colon - text);
        *bracketed = false;
    }
    if (hlen == 0)
        return listen_fail(e, PK_EPARSE, text,
                           "missing host (use 0.0.0.0:PORT or [::]:PORT for every address)");
    if (hlen > HTTP_HOST_MAX)
        return listen_fail(e, PK_EPARSE, text, "host longer than %d characters", HTTP_HOST_MAX);
    memcpy(host, h, hlen);
    host[hlen] = '\0';

    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0)
        return listen_fail(e, PK_EPARSE, text, "empty port");
    unsigned v = 0;
    for (size_t i = 0; i < plen; i++) {
        if (p[i] < '0' || p[i] > '9')
            return listen_fail(e, PK_EPARSE, text, "the port must be a number 0..65535");
        v = v * 10 + (unsigned)(p[i] - '0');
        if (v > 65535)
            return listen_fail(e, PK_EPARSE, text, "port out of range (0..65535)");
    }
    *port = (uint16_t)v;
    return 0;
}

static bool host_name_valid(const char *h)
{
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.' || *p == '_'))
            return false;
    return true;
}

static bool dotted_digits(const char *h)
{
    for (const char *p = h; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return false;
    return true;
}

int http_listen_parse(const char *text, struct sockaddr_storage *addr, unsigned *addrlen, bool *loopback,
                      char *host, struct pk_err *e)
{
    bool bracketed = false;
    uint16_t port;
    int rc = split_listen(text, host, &bracketed, &port, e);
    if (rc)
        return rc;
    memset(addr, 0, sizeof(*addr));
    if (bracketed) {
        if (strchr(host, '%'))
            return listen_fail(e, PK_EPARSE, text, "zone identifiers ('%%...') are not supported");
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return listen_fail(e, PK_EPARSE, text, "'%s' is not an IPv6 address", host);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            /* an IPv4 address written as IPv6: bound as the IPv4 address
             * itself, which an IPv6-only socket could not */
            struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
            memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], sizeof(in.sin_addr));
            memset(addr, 0, sizeof(*addr));
            memcpy(addr, &in, sizeof(in));
            *addrlen = sizeof(in);
        } else {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(port);
            *addrlen = sizeof(*in6);
        }
        *loopback = is_loopback(addr);
        return 0;
    }
    if (dotted_digits(host)) {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        /* inet_pton takes dotted quads only: no "1.2.3", no octal "010.0.0.1" */
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
            return listen_fail(e, PK_EPARSE, text, "'%s' is not an IPv4 address (a.b.c.d)", host);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        *addrlen = sizeof(*in);
        *loopback = is_loopback(addr);
        return 0;
    }
    if (!host_name_valid(host))
        return listen_fail(e, PK_EPARSE, text, "'%s' is neither an address nor a host name", host);

    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, NULL, &hints, &res);
    if (g != 0 || !res) {
        if (res)
            freeaddrinfo(res);
        return listen_fail(e, -ENOENT, text, "cannot resolve '%s': %s", host,
                           g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
    }
    const struct addrinfo *pick = NULL;
    bool all_loop = true;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        all_loop = all_loop && is_loopback(ai->ai_addr);
        if (!pick || (pick->ai_family == AF_INET6 && ai->ai_family == AF_INET))
            pick = ai;
    }
    if (!pick) {
        freeaddrinfo(res);
        return listen_fail(e, -ENOENT, text, "'%s' has no IPv4 or IPv6 address", host);
    }
    memcpy(addr, pick->ai_addr, pick->ai_addrlen);
    *addrlen = (unsigned)pick->ai_addrlen;
    if (pick->ai_family == AF_INET)
        ((struct sockaddr_in *)addr)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)addr)->sin6_port = htons(port);
    *loopback = all_loop;
    freeaddrinfo(res);
    return 0;
}

int http_parse_listen(const char *text, struct sockaddr_storage *addr, unsigned *addrlen, bool *loopback,
                      struct pk_err *e)
{
    char host[HTTP_HOST_MAX + 1];
    return http_listen_parse(text ? text : "", addr, addrlen, loopback, host, e);
}

/* Without a token, a loopback server answers only requests addressed to a
 * loopback name, so a page on another site cannot read it by rebinding its
 * own name to 127.0.0.1. */
bool http_host_ok(const char *host, const char *listen_host)
{
    if (!host)
        return true; /* HTTP/1.0 without Host: not a browser */
    char h[HTTP_HOST_MAX + 1];
    size_t n = strnlen(host, HTTP_HOST_MAX + 8);
    if (host[0] == '[') {
        const char *close = memchr(host, ']', n);
        if (!close || (size_t)(close - host - 1) > HTTP_HOST_MAX)
            return false;
        size_t hl = (size_t)(close - host - 1);
        memcpy(h, host + 1, hl);
        h[hl] = '\0';
        struct in6_addr a;
        if (inet_pton(AF_INET6, h, &a) != 1)
            return false;
        return v6_loopback(&a);
    }
    const char *colon = memchr(host, ':', n);
    size_t hl = colon ? (size_t)(colon - host) : n;
    if (hl > HTTP_HOST_MAX)
        return false;
    memcpy(h, host, hl);
    h[hl] = '\0';
    if (hl && h[hl - 1] == '.')
        h[--hl] = '\0';
    if (!strcasecmp(h, "localhost") || !strcasecmp(h, listen_host))
        return true;
    struct in_addr a;
    if (inet_pton(AF_INET, h, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return false;
}

/* ---- Accept negotiation ----------------------------------------------- */

#define ACCEPT_MAX_RANGES 32

struct media {
    const char *type, *sub, *version; /* spans into a copy of the header */
    size_t tlen, slen, vlen;
    double q;
    int spec; /* 2 type/sub, 1 type/ *, 0 * / * */
    int order;
};

static const char *trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t'))
        s++, (*n)--;
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

static bool span_ieq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* A q-value: 0, 1 or a decimal 0.xxx / 1.000 (RFC 9110 12.4.2); anything
 * else gives -1, and the range is ignored. */
static double parse_q(const char *s, size_t n)
{
    if (n == 0 || n > 5 || (s[0] != '0' && s[0] != '1'))
        return -1;
    double v = s[0] - '0', scale = 0.1;
    if (n > 1) {
        if (s[1] != '.')
            return -1;
        for (size_t i = 2; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            v += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    return v > 1.0 ? -1 : v;
}

static void parse_media(const char *s, size_t n, int order, struct media *m, bool *ok)
{
    *ok = false;
    memset(m, 0, sizeof(*m));
    m->q = 1.0;
    m->order = order;
    const char *semi = memchr(s, ';', n);
    size_t rlen = semi ? (size_t)(semi - s) : n;
    const char *r = trim(s, &rlen);
    const char *slash = memchr(r, '/', rlen);
    if (!slash) {
        if (!(rlen == 1 && r[0] == '*')) /* a lone "*" is read as * / *, as goautoneg does */
            return;
        m->type = m->sub = "*";
        m->tlen = m->slen = 1;
    } else {
        m->type = r;
        m->tlen = (size_t)(slash - r);
        m->sub = slash + 1;
        m->slen = rlen - m->tlen - 1;
        m->type = trim(m->type, &m->tlen);
        m->sub = trim(m->sub, &m->slen);
        if (!m->tlen || !m->slen)
            return;
    }
    bool tstar = m->tlen == 1 && m->type[0] == '*', sstar = m->slen == 1 && m->sub[0] == '*';
    m->spec = tstar ? 0 : sstar ? 1 : 2;
    while (semi) {
        const char *p = semi + 1;
        size_t left = n - (size_t)(p - s);
        semi = memchr(p, ';', left);
        size_t plen = semi ? (size_t)(semi - p) : left;
        const char *eq = memchr(p, '=', plen);
        if (!eq)
            continue;
        size_t klen = (size_t)(eq - p), vlen = plen - klen - 1;
        const char *k = trim(p, &klen), *v = trim(eq + 1, &vlen);
        if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
            v++, vlen -= 2;
        if (span_ieq(k, klen, "q")) {
            double q = parse_q(v, vlen);
            if (q < 0)
                return;
            m->q = q;
        } else if (span_ieq(k, klen, "version")) {
            m->version = v;
            m->vlen = vlen;
        }
    }
    *ok = true;
}

static int media_cmp(const void *a, const void *b)
{
    const struct media *x = a, *y = b;
    if (x->q != y->q)
        return x->q > y->q ? -1 : 1;
    if (x->spec != y->spec)
        return y->spec - x->spec;
    return x->order - y->order;
}

enum http_metrics_format http_negotiate_metrics(const char *accept, const char **om_version)
{
    if (om_version)
        *om_version = "1.0.0";
    if (!accept)
        return HTTP_METRICS_TEXT;
    struct media m[ACCEPT_MAX_RANGES];
    size_t nm = 0;
    const char *s = accept;
    size_t left = strnlen(accept, 8192);
    int order = 0;
    while (left && nm < ACCEPT_MAX_RANGES) {
        const char *comma = memchr(s, ',', left);
        size_t n = comma ? (size_t)(comma - s) : left;
        bool ok;
        parse_media(s, n, order++, &m[nm], &ok);
        if (ok && m[nm].q > 0)
            nm++;
        if (!comma)
            break;
        left -= n + 1;
        s = comma + 1;
    }
    qsort(m, nm, sizeof(m[0]), media_cmp);
    for (size_t i = 0; i < nm; i++) {
        if (m[i].spec != 2)
            continue;
        if (span_ieq(m[i].type, m[i].tlen, "text") && span_ieq(m[i].sub, m[i].slen, "plain") &&
            (!m[i].version || (m[i].vlen == 5 && !memcmp(m[i].version, "0.0.4", 5))))
            return HTTP_METRICS_TEXT;
        if (span_ieq(m[i].type, m[i].tlen, "application") &&
            span_ieq(m[i].sub, m[i].slen, "openmetrics-text")) {
            if (!m[i].version || (m[i].vlen == 5 && !memcmp(m[i].version, "1.0.0", 5)))
                return HTTP_METRICS_OPENMETRICS;
            if (m[i].vlen == 5 && !memcmp(m[i].version, "0.0.1", 5)) {
                if (om_version)
                    *om_version = "0.0.1";
                return HTTP_METRICS_OPENMETRICS;
            }
        }
    }
    return HTTP_METRICS_TEXT;
}
