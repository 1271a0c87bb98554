/*
 * url - http:// and https:// URLs, for `perfkit load`'s targets and
 * `perfkit monitor`'s probes and webhooks: split into what a client needs
 * (address to resolve, port, Host header value,
 * request target), so nothing downstream parses a URL again.
 *
 * Accepted: a scheme (http or https, any case), "//", a host, an optional
 * ":port", then an optional path and query, which become the origin-form
 * request target ("/" when absent; "?q" alone becomes "/?q"). The host is a
 * name (letters, digits, '-', '.', '_'; at most 253 bytes), a dotted-quad
 * IPv4 address (a host made only of digits and dots must be one: "1.2.3"
 * and "010.0.0.1" are refused because resolvers read them in surprising
 * ways), or a bracketed IPv6 literal ("[::1]"; no zone identifier). The
 * port is 1..65535, default 80 for http and 443 for https. A fragment
 * ("#...") is dropped, as every client does: it is never sent.
 *
 * Refused, each with its own message: another scheme, a missing "//", an
 * empty host, an empty or out-of-range port, userinfo ("user:pass@host":
 * credentials belong in a header, -H 'Authorization: ...'), a space,
 * control or non-ASCII byte, a '%' not followed by two hex digits, and a
 * URL over URL_MAX bytes. No name resolution happens here.
 *
 * URL@WEIGHT (url_parse_weighted): the text after the last '@' is the
 * weight when it is made only of digits, '.', '+' and '-'; it must then be
 * a whole number 1..URL_WEIGHT_MAX. Any other '@' belongs to the URL, so
 * "http://h/users/@me" is a plain URL and "http://u@h/@2" is weight 2 on a
 * URL whose userinfo is refused. A path that really ends in '@' and digits
 * is written with %40.
 *
 * Errors: PK_EPARSE, with e->on = the caller's `on` (an option name or a
 * file:line), e->what = "invalid URL '<text>'" and e->why saying what is
 * wrong ("unsupported scheme 'ftp' (use http:// or https://)"). *u is
 * written only on success. Nothing is allocated; struct url is caller-owned
 * and needs no cleanup. No state: safe from any thread.
 */
#ifndef PK_CORE_URL_H
#define PK_CORE_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

#define URL_MAX        2048 /* whole URL text, weight suffix excluded */
#define URL_HOST_MAX   253  /* a DNS name's limit; IPv6 literals are shorter */
#define URL_WEIGHT_MAX 1000000

struct url {
    bool https;
    bool ipv6;                         /* host is an IPv6 literal */
    uint16_t port;                     /* explicit or the scheme's default */
    uint32_t weight;                   /* 1 unless URL@WEIGHT */
    char host[URL_HOST_MAX + 1];       /* for getaddrinfo: no brackets */
    char authority[URL_HOST_MAX + 10]; /* Host header: "[::1]:8080", port only if not default */
    char target[URL_MAX + 1];          /* "/path?query" */
};

int url_parse(const char *text, const char *on, struct url *u, struct pk_err *e);
/* As url_parse, also accepting the URL@WEIGHT form. */
int url_parse_weighted(const char *text, const char *on, struct url *u, struct pk_err *e);

/* "http" or "https". */
const char *url_scheme(const struct url *u);
/* The URL back as text ("https://[::1]:8443/x?y", no weight); buf is
 * returned, truncated if len is short (URL_MAX + 16 always suffices). */
char *url_format(const struct url *u, char *buf, size_t len);

#endif
