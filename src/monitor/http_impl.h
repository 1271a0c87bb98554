/*
 * http_impl - what the libmicrohttpd glue (http.c) takes from the pure
 * parsers (http_parse.c); private to src/monitor/http*.c, tests and fuzz
 * targets.
 */
#ifndef PK_MONITOR_HTTP_IMPL_H
#define PK_MONITOR_HTTP_IMPL_H

#include <stdbool.h>

#include "perfkit.h"

/* The longest host name (DNS's 253) of --listen or a Host header. */
#define HTTP_HOST_MAX 253

struct sockaddr_storage;

/* http_parse_listen, also giving the host part of text (without brackets)
 * in host[HTTP_HOST_MAX + 1]. */
int http_listen_parse(const char *text, struct sockaddr_storage *addr, unsigned *addrlen, bool *loopback,
                      char *host, struct pk_err *e);

/*
 * Whether a Host header (NULL: none sent) names a loopback host: localhost,
 * listen_host (the host part of --listen), 127.x.x.x or [::1], with or
 * without a port. Without a token, a loopback server answers only such
 * requests, so a page on another site cannot read it by rebinding its own
 * name to 127.0.0.1.
 */
bool http_host_ok(const char *host, const char *listen_host);

#endif
