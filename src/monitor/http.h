/*
 * http - the HTTP(S) endpoints of `perfkit monitor`, on libmicrohttpd.
 *
 * The server knows nothing of metrics: it authenticates, checks the method,
 * routes, validates the query of /api/history, negotiates the /metrics
 * format, and serves the bytes a provider hands it. Routes:
 *
 *   /metrics       provider->metrics (Prometheus text 0.0.4, or OpenMetrics
 *                  1.0 when the Accept header prefers it; Vary: Accept)
 *   /api/status    provider->status         /api/alerts  provider->alerts
 *   /api/history   query_parse_history() of the query string, then
 *                  provider->history; a bad query is 400 with
 *                  {"error": "...", "parameter": "..."}
 *   /health        provider->health         /ready       provider->ready
 *   anything else  provider->asset(path) ("/" is the dashboard page);
 *                  -ENOENT from it, or no asset callback, is 404
 * A NULL callback makes its route 404. An HTTP/1.1 request without a Host
 * header, or any request with two, is 400 (RFC 9112). GET and HEAD only (anything else is
 * 405 with Allow: GET, HEAD); HEAD runs the same callback and sends the
 * headers alone, Content-Length included. Paths are matched as sent (not
 * percent-decoded) and exactly; a query string is ignored except on
 * /api/history. Every response carries Cache-Control: no-store and
 * X-Content-Type-Options: nosniff; errors are JSON {"error": "..."}.
 *
 * Authentication: with a token, every route (/health and /ready included)
 * needs "Authorization: Bearer <token>", compared in constant time (SHA-256
 * digests of both sides, compared byte by byte); otherwise 401 with
 * WWW-Authenticate: Bearer. The only exception is an asset the provider's
 * asset_public() names: the dashboard's page, which holds no data. Without a token, on a loopback address, the Host
 * header (when sent) must name a loopback host (localhost, 127.x.x.x,
 * [::1]), else 403: a web page cannot reach the agent through DNS
 * rebinding. http_start() refuses a non-loopback listen address without a
 * token unless no_auth is set.
 *
 * Limits: opts.conn_limit connections in all (at the limit new clients
 * wait in the listen queue), opts.per_ip_limit from one address (further
 * ones are closed at once), opts.timeout_s of inactivity
 * before a connection is dropped, a request line and headers within 16 KiB
 * (larger: 431 or 414 from libmicrohttpd), a query string within QUERY_MAX.
 * The size of a history answer is the provider's to cap (query points are
 * at most QUERY_POINTS_MAX).
 *
 * Threads: callbacks run on libmicrohttpd's threads (opts.threads of them),
 * concurrently with each other, with themselves and with the rest of the
 * agent: they must be thread-safe and should not block, since a blocked
 * callback holds one of the server's threads. A body's release callback
 * runs once, on one of those threads or in http_stop(), when the last byte
 * is sent or the connection is gone (HEAD and aborted requests included).
 * http_start(), http_stop() and http_port() are for the owner's thread;
 * http_stats() may be called from any thread.
 *
 * Ownership: http_start() copies what it needs of opts (the token, the PEM
 * texts); the provider struct is copied, provider->arg must outlive the
 * server. http_stop() waits for running callbacks, releases every body still
 * held, frees the server. NULL is ignored.
 *
 * Errors: 0, or PK_EUSAGE (a refused option combination, e->on = the
 * option: --listen, --auth-token-file, --tls-cert, --tls-key), PK_EPARSE
 * (an unparsable --listen or PEM text), PK_ENOTSUP (TLS asked but
 * libmicrohttpd built without it), -EADDRINUSE, -EACCES and other errno
 * codes from socket/bind/listen, -ENOMEM, -EIO (libmicrohttpd refused to
 * start). Callbacks report failures the same way; the server maps them:
 * PK_EPARSE, PK_EUSAGE, -EINVAL: 400 with e->on as "parameter"; -ENOENT: 404;
 * anything else: 500 with the message.
 */
#ifndef PK_MONITOR_HTTP_H
#define PK_MONITOR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

struct query_history;
struct http_server;

#define HTTP_LISTEN_DEFAULT     "127.0.0.1:9310"
#define HTTP_CONN_LIMIT_DEFAULT 256u
#define HTTP_PER_IP_DEFAULT     64u
#define HTTP_TIMEOUT_DEFAULT_S  10u
#define HTTP_THREADS_DEFAULT    2u
#define HTTP_THREADS_MAX        64u
#define HTTP_TOKEN_MIN          16u /* bytes; shorter tokens are guessable */
#define HTTP_TOKEN_MAX          4096u

struct http_opts {
    const char *listen;       /* "127.0.0.1:9310", "[::1]:9310", "0.0.0.0:9310",
                                  "localhost:9310"; port 0 picks a free one */
    const char *auth_token;   /* bearer token text (one trailing newline is
                                  dropped); NULL: no authentication */
    bool no_auth;             /* serve a non-loopback address without a token */
    const char *tls_cert_pem; /* PEM texts of the certificate (chain) and its */
    const char *tls_key_pem;  /* key; both or neither. NULL: plain HTTP */
    unsigned conn_limit;      /* concurrent connections in all (>= 1) */
    unsigned per_ip_limit;    /* concurrent connections from one address; 0: no limit */
    unsigned timeout_s;       /* inactivity before a connection is dropped (>= 1) */
    unsigned threads;         /* server threads, 1..HTTP_THREADS_MAX */
};

/* Fills in the defaults above (listen HTTP_LISTEN_DEFAULT, no token). */
void http_opts_init(struct http_opts *o);

/*
 * A response body. The server fills status 200 and NULL/0 elsewhere before
 * calling a provider; the provider points data at len bytes that stay valid
 * and unchanged until release(cookie) is called (release NULL: data is
 * static, or lives as long as the server). This lets the agent hand every
 * request the same pre-rendered buffer of its last sample, reference-counted
 * through cookie, with no copy.
 */
struct http_body {
    const void *data;
    size_t len;
    const char *content_type; /* a static string; NULL: the route's default
                                  (application/json; the negotiated type for
                                  /metrics; assets must set it) */
    unsigned status;          /* 200 unless the provider says otherwise
                                  (e.g. 503 from health or ready); 200..599 */
    const char *csp;          /* a page's Content-Security-Policy header
                                  (valid while the server runs); NULL: none */
    void (*release)(void *cookie);
    void *cookie;
};

/* The /metrics format negotiated from the Accept header. */
enum http_metrics_format {
    HTTP_METRICS_TEXT,        /* text/plain; version=0.0.4 */
    HTTP_METRICS_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

/*
 * What the server serves. Each callback returns 0 with *out filled, or a
 * negative code with e filled and *out left to the server untouched (a
 * callback that fails must itself release whatever it had put in *out).
 */
struct http_provider {
    void *arg;
    int (*metrics)(void *arg, enum http_metrics_format fmt, struct http_body *out, struct pk_err *e);
    int (*status)(void *arg, struct http_body *out, struct pk_err *e);
    int (*history)(void *arg, const struct query_history *q, struct http_body *out, struct pk_err *e);
    int (*alerts)(void *arg, struct http_body *out, struct pk_err *e);
    int (*health)(void *arg, struct http_body *out, struct pk_err *e);
    int (*ready)(void *arg, struct http_body *out, struct pk_err *e);
    /* path as sent, starting with '/' ("/" for the dashboard page) */
    int (*asset)(void *arg, const char *path, struct http_body *out, struct pk_err *e);
    /* Whether the asset at path is served without the token: a page that
     * holds no data and gets it from the API with the token (a browser
     * cannot send a bearer header when it opens a URL). NULL: none is.
     * Never asked about the routes above, which always need the token. */
    bool (*asset_public)(void *arg, const char *path);
};

/* Counters since start, for the agent's self-metrics. */
struct http_stats {
    uint64_t requests; /* requests answered */
    uint64_t status_2xx, status_4xx, status_5xx;
    uint64_t unauthorized; /* 401s (missing or wrong token) */
};

int http_start(const struct http_opts *o, const struct http_provider *p, struct http_server **out,
               struct pk_err *e);
void http_stop(struct http_server *s);
/* Every check http_start() makes of o (the listen address, resolved; the
 * token; the refusal of a public address without authentication; the TLS
 * certificate and key) short of binding: the same errors, nothing started. */
int http_check(const struct http_opts *o, struct pk_err *e);

/* The port bound (useful with port 0). */
uint16_t http_port(const struct http_server *s);
/* The base URL, e.g. "http://127.0.0.1:9310/" or "https://[::1]:9310/"
 * (an unspecified address shows as 127.0.0.1 or [::1]); returns buf. */
const char *http_url(const struct http_server *s, char *buf, size_t cap);
void http_stats(const struct http_server *s, struct http_stats *out);

/*
 * Accept-header negotiation for /metrics, as Prometheus' client_golang
 * does it (expfmt.NegotiateIncludingOpenMetrics): media ranges ordered by
 * q-value (then specific before wildcard, then as sent), the first that is
 * text/plain (version absent or 0.0.4) or application/openmetrics-text
 * (version absent, 0.0.1 or 1.0.0) wins; q=0 means "not acceptable"; none
 * matching, or no header: text. *om_version (optional) gets the
 * OpenMetrics version to name in Content-Type ("1.0.0" or "0.0.1").
 */
enum http_metrics_format http_negotiate_metrics(const char *accept, const char **om_version);

/*
 * Parses a --listen address: "HOST:PORT" (an IPv4 literal or a name) or
 * "[IPV6]:PORT", port 0..65535. A name is resolved; it binds its first IPv4
 * address, else its first IPv6 one. An IPv4-mapped IPv6 address
 * ("[::ffff:127.0.0.1]:9310") is given as the IPv4 address it maps. *loopback says whether every address
 * it names is a loopback one (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104).
 * Errors (e->on = "--listen"): PK_EPARSE, or -ENOENT for a name that does
 * not resolve.
 */
struct sockaddr_storage;
int http_parse_listen(const char *text, struct sockaddr_storage *addr, unsigned *addrlen, bool *loopback,
                      struct pk_err *e);

#endif
