/*
 * http - the libmicrohttpd glue of the monitor's HTTP server (http.h):
 * authentication, routing, responses, start and stop. The parsers of
 * untrusted text it uses are in http_parse.c.
 */
#include "monitor/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"
#include "monitor/http_impl.h"
#include "monitor/query.h"

/* Request line and headers of one connection, and MHD's working space for
 * the response head. Prometheus and browsers send well under 2 KiB; half
 * of MHD's default 32 KiB halves the worst-case memory of a full server. */
#define CONN_MEMORY    (16u * 1024)
#define LISTEN_BACKLOG 128
#define LOG_MAX        256
#define TOKEN_SHA_LEN  32 /* SHA-256 */

#define CT_JSON   "application/json"
#define CT_TEXT   "text/plain; version=0.0.4; charset=utf-8"
#define CT_OM_100 "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define CT_OM_001 "application/openmetrics-text; version=0.0.1; charset=utf-8"
#define CT_OCTETS "application/octet-stream"

/* GnuTLS priorities: its defaults less TLS 1.0 and 1.1. */
#define TLS_PRIORITIES "NORMAL:-VERS-TLS1.1:-VERS-TLS1.0"

struct http_server {
    struct MHD_Daemon *mhd;
    struct http_provider prov;
    struct sockaddr_storage addr; /* bound address */
    socklen_t addrlen;
    uint16_t port;
    bool tls;
    bool has_token;
    bool check_host; /* loopback without a token */
    unsigned char token_sha[TOKEN_SHA_LEN];
    char listen_host[HTTP_HOST_MAX + 1]; /* the host part of --listen, also a fine Host */
    char *cert_pem, *key_pem;            /* kept while MHD may read them */
    /* Canned responses, built once and queued on any thread (MHD counts
     * references to a response under its own lock). */
    struct MHD_Response *r401, *r403, *r404, *r405;
    /* MHD's log while starting, for the error message. */
    pthread_mutex_t log_lock;
    bool starting;
    char log[LOG_MAX];
    char seen_mark; /* its address marks a request past its first call */
    _Atomic uint64_t n_requests, n_2xx, n_4xx, n_5xx, n_401;
};

void http_opts_init(struct http_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = HTTP_LISTEN_DEFAULT;
    o->conn_limit = HTTP_CONN_LIMIT_DEFAULT;
    o->per_ip_limit = HTTP_PER_IP_DEFAULT;
    o->timeout_s = HTTP_TIMEOUT_DEFAULT_S;
    o->threads = HTTP_THREADS_DEFAULT;
}

/* ---- responses ---------------------------------------------------------- */

static void count(struct http_server *s, unsigned status)
{
    atomic_fetch_add_explicit(&s->n_requests, 1, memory_order_relaxed);
    if (status < 300)
        atomic_fetch_add_explicit(&s->n_2xx, 1, memory_order_relaxed);
    else if (status < 500)
        atomic_fetch_add_explicit(&s->n_4xx, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&s->n_5xx, 1, memory_order_relaxed);
}

static bool add_common(struct MHD_Response *r, const char *ctype)
{
    return MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_YES &&
           MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES &&
           MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") == MHD_YES;
}

static struct MHD_Response *canned(const char *json, const char *hname, const char *hval)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return NULL;
    if (!add_common(r, CT_JSON) || (hname && MHD_add_response_header(r, hname, hval) != MHD_YES)) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

static enum MHD_Result queue_canned(struct http_server *s, struct MHD_Connection *c, unsigned status,
                                    struct MHD_Response *r)
{
    count(s, status);
    return MHD_queue_response(c, status, r);
}

/* A JSON error body {"error": msg[, "parameter": param-or-null]}. */
static enum MHD_Result queue_error(struct http_server *s, struct MHD_Connection *c, unsigned status,
                                   const char *msg, bool with_param, const char *param)
{
    json_t *o = json_object();
    json_t *m = json_string(msg);
    if (!m) { /* not UTF-8: keep it readable */
        char q[600];
        m = json_string(err_quote(msg, strlen(msg), q, sizeof(q)));
    }
    json_object_set_new(o, "error", m);
    if (with_param) {
        json_t *pv = param && param[0] ? json_string(param) : json_null();
        json_object_set_new(o, "parameter", pv ? pv : json_null());
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback_cls(strlen(text), text, free, text);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    enum MHD_Result ret = MHD_NO;
    if (add_common(r, CT_JSON)) {
        count(s, status);
        ret = MHD_queue_response(c, status, r);
    }
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue_failure(struct http_server *s, struct MHD_Connection *c, int rc,
                                     const struct pk_err *e)
{
    char msg[sizeof(e->what) + sizeof(e->on) + sizeof(e->why) + 8];
    pk_err_str(e, msg, sizeof(msg));
    if (!msg[0])
        snprintf(msg, sizeof(msg), "%s", rc < 0 && rc > -4096 ? strerror(-rc) : "internal error");
    if (rc == PK_EPARSE || rc == PK_EUSAGE || rc == -EINVAL)
        return queue_error(s, c, MHD_HTTP_BAD_REQUEST, msg, true, e->on);
    if (rc == -ENOENT)
        return queue_error(s, c, MHD_HTTP_NOT_FOUND, msg, false, NULL);
    return queue_error(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, false, NULL);
}

static enum MHD_Result queue_body(struct http_server *s, struct MHD_Connection *c, struct http_body *b,
                                  const char *default_type, bool vary_accept)
{
    struct MHD_Response *r;
    void *data = (void *)(b->data ? b->data : "");
    if (b->release)
        r = MHD_create_response_from_buffer_with_free_callback_cls(b->len, data, b->release, b->cookie);
    else
        r = MHD_create_response_from_buffer(b->len, data, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (b->release)
            b->release(b->cookie);
        return MHD_NO;
    }
    unsigned status = b->status >= 200 && b->status <= 599 ? b->status : MHD_HTTP_INTERNAL_SERVER_ERROR;
    enum MHD_Result ret = MHD_NO;
    if (add_common(r, b->content_type ? b->content_type : default_type) &&
        (!vary_accept || MHD_add_response_header(r, "Vary", "Accept") == MHD_YES) &&
        (!b->csp || MHD_add_response_header(r, "Content-Security-Policy", b->csp) == MHD_YES)) {
        count(s, status);
        ret = MHD_queue_response(c, status, r);
    }
    MHD_destroy_response(r); /* the body is released when MHD is done with it */
    return ret;
}

/* ---- request handling --------------------------------------------------- */

static int sha256(const char *p, size_t n, unsigned char out[TOKEN_SHA_LEN])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, out) < 0 ? -1 : 0;
}

/* Time independent of where a and b differ. */
static bool equal_ct(const unsigned char *a, const unsigned char *b, size_t n)
{
    volatile unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= (unsigned char)(a[i] ^ b[i]);
    return acc == 0;
}

static bool auth_ok(const struct http_server *s, const char *hdr)
{
    const char *tok = "";
    size_t n = 0;
    bool scheme = hdr && strncasecmp(hdr, "Bearer", 6) == 0 && (hdr[6] == ' ' || hdr[6] == '\t');
    if (scheme) {
        tok = hdr + 7;
        while (*tok == ' ' || *tok == '\t')
            tok++;
        n = strnlen(tok, HTTP_TOKEN_MAX + 1);
        while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            n--;
    }
    /* Digests of equal length whatever was sent: the comparison's time
     * depends on neither the token's length nor its content. */
    unsigned char d[TOKEN_SHA_LEN];
    bool same = sha256(tok, n, d) == 0 && equal_ct(d, s->token_sha, sizeof(d));
    explicit_bzero(d, sizeof(d)); /* the right token's digest is the server's secret */
    return scheme && same;
}

static enum MHD_Result call_simple(struct http_server *s, struct MHD_Connection *c,
                                   int (*fn)(void *, struct http_body *, struct pk_err *))
{
    if (!fn)
        return queue_canned(s, c, MHD_HTTP_NOT_FOUND, s->r404);
    struct http_body b = { .status = 200 };
    struct pk_err e;
    pk_err_clear(&e);
    int rc = fn(s->prov.arg, &b, &e);
    if (rc)
        return queue_failure(s, c, rc, &e);
    return queue_body(s, c, &b, CT_JSON, false);
}

/* What the URI log callback keeps of a /api/history request: its raw query
 * (MHD splits and decodes the query in place afterwards, leniently). */
struct raw_query {
    bool seen;  /* the first call for the request is done */
    size_t len; /* > QUERY_MAX: too long, text not kept */
    char text[];
};

static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
        (*(unsigned *)cls)++;
    return MHD_YES;
}

/* RFC 9112 3.2: an HTTP/1.1 request without Host, and any request with more
 * than one, is a 400. HTTP/1.0 clients need not send one. */
static const char *host_fault(struct MHD_Connection *c, const char *version)
{
    unsigned n = 0;
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_host, &n);
    if (n > 1)
        return "bad request: more than one Host header";
    if (n == 0 && strcmp(version, MHD_HTTP_VERSION_1_0) != 0)
        return "bad request: an HTTP/1.1 request needs a Host header";
    return NULL;
}

static bool has_body(struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (cl && strcmp(cl, "0") != 0) ||
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* An asset the provider serves without the token (the dashboard's page),
 * never one of the routes. */
static bool open_page(const struct http_server *s, const char *url)
{
    static const char *const routes[] = { "/metrics",    "/api/status", "/api/history",
                                          "/api/alerts", "/health",     "/ready" };
    if (!s->prov.asset || !s->prov.asset_public || url[0] != '/')
        return false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (!strcmp(url, routes[i]))
            return false;
    return s->prov.asset_public(s->prov.arg, url);
}

/*
 * libmicrohttpd calls this at least twice per request: once the headers are
 * in, then once the request is complete. A response queued in the first
 * call makes it close the connection afterwards (it has not read what may
 * follow), which is right for refusals (no body is ever read from an
 * unauthenticated client) but would cost a new connection per request if
 * done for every answer: answers wait for the second call.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct http_server *s = cls;
    (void)upload_data;
    struct raw_query *rq = *con_cls == &s->seen_mark ? NULL : *con_cls;
    bool first = rq ? !rq->seen : *con_cls == NULL;

    if (first) {
        const char *fault = host_fault(c, version);
        if (fault)
            return queue_error(s, c, MHD_HTTP_BAD_REQUEST, fault, false, NULL);
        if (s->has_token && !open_page(s, url)) {
            if (!auth_ok(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))) {
                atomic_fetch_add_explicit(&s->n_401, 1, memory_order_relaxed);
                return queue_canned(s, c, MHD_HTTP_UNAUTHORIZED, s->r401);
            }
        } else if (s->check_host &&
                   !http_host_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
                                 s->listen_host)) {
            return queue_canned(s, c, MHD_HTTP_FORBIDDEN, s->r403);
        }
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return queue_canned(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, s->r405);
        if (!has_body(c)) {
            if (rq)
                rq->seen = true;
            else
                *con_cls = &s->seen_mark;
            return MHD_YES;
        }
        /* A GET or HEAD with a body: answered now, the body never read
         * (and the connection closed after the answer). */
    } else if (*upload_data_size) {
        *upload_data_size = 0; /* not expected (no body was announced); dropped */
        return MHD_YES;
    }

    const struct http_provider *p = &s->prov;
    if (!strcmp(url, "/api/status"))
        return call_simple(s, c, p->status);
    if (!strcmp(url, "/metrics")) {
        if (!p->metrics)
            return queue_canned(s, c, MHD_HTTP_NOT_FOUND, s->r404);
        const char *omv;
        enum http_metrics_format fmt = http_negotiate_metrics(
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT), &omv);
        struct http_body b = { .status = 200 };
        struct pk_err e;
        pk_err_clear(&e);
        int rc = p->metrics(p->arg, fmt, &b, &e);
        if (rc)
            return queue_failure(s, c, rc, &e);
        const char *ct = fmt == HTTP_METRICS_TEXT ? CT_TEXT : omv[0] == '0' ? CT_OM_001 : CT_OM_100;
        return queue_body(s, c, &b, ct, true);
    }
    if (!strcmp(url, "/api/history")) {
        if (!p->history)
            return queue_canned(s, c, MHD_HTTP_NOT_FOUND, s->r404);
        struct pk_err e;
        pk_err_clear(&e);
        struct query_history *q = malloc(sizeof(*q)); /* 4 KiB: off the server threads' stacks */
        if (!q)
            return MHD_NO;
        int rc = query_parse_history(rq ? rq->text : "", rq ? rq->len : 0, clock_real_ms(), q, &e);
        enum MHD_Result ret;
        if (rc) {
            ret = queue_failure(s, c, rc, &e);
        } else {
            struct http_body b = { .status = 200 };
            rc = p->history(p->arg, q, &b, &e);
            ret = rc ? queue_failure(s, c, rc, &e) : queue_body(s, c, &b, CT_JSON, false);
        }
        free(q);
        return ret;
    }
    if (!strcmp(url, "/api/alerts"))
        return call_simple(s, c, p->alerts);
    if (!strcmp(url, "/health"))
        return call_simple(s, c, p->health);
    if (!strcmp(url, "/ready"))
        return call_simple(s, c, p->ready);
    if (!p->asset || url[0] != '/')
        return queue_canned(s, c, MHD_HTTP_NOT_FOUND, s->r404);
    struct http_body b = { .status = 200 };
    struct pk_err e;
    pk_err_clear(&e);
    int rc = p->asset(p->arg, url, &b, &e);
    if (rc == -ENOENT)
        return queue_canned(s, c, MHD_HTTP_NOT_FOUND, s->r404);
    if (rc)
        return queue_failure(s, c, rc, &e);
    return queue_body(s, c, &b, CT_OCTETS, false);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    static const char prefix[] = "/api/history?";
    if (strncmp(uri, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    const char *qs = uri + sizeof(prefix) - 1;
    size_t n = strlen(qs); /* within the request line, so within CONN_MEMORY */
    size_t keep = n > QUERY_MAX ? 0 : n;
    struct raw_query *rq = malloc(sizeof(*rq) + keep + 1);
    if (!rq)
        return NULL; /* parsed as an empty query: a 400, not a crash */
    rq->seen = false;
    rq->len = n;
    memcpy(rq->text, qs, keep);
    rq->text[keep] = '\0';
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    struct http_server *s = cls;
    if (*con_cls != &s->seen_mark)
        free(*con_cls);
    *con_cls = NULL;
}

/* Paths are matched as sent: "/metric%73" is not /metrics, and an asset
 * path reaches the provider undecoded. */
static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void on_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_log(void *cls, const char *fmt, va_list ap)
{
    struct http_server *s = cls;
    pthread_mutex_lock(&s->log_lock);
    if (s->starting && !s->log[0]) {
        vsnprintf(s->log, sizeof(s->log), fmt, ap);
        size_t n = strlen(s->log);
        while (n && (s->log[n - 1] == '\n' || s->log[n - 1] == '.'))
            s->log[--n] = '\0';
    }
    pthread_mutex_unlock(&s->log_lock);
}

/* ---- start and stop ----------------------------------------------------- */

static bool b64token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

static int check_token(const char *tok, unsigned char *sha, struct pk_err *e)
{
    size_t n = strnlen(tok, HTTP_TOKEN_MAX + 3);
    if (n >= 1 && tok[n - 1] == '\n') /* the file's final newline */
        n -= (n >= 2 && tok[n - 2] == '\r') ? 2 : 1;
    if (n > HTTP_TOKEN_MAX)
        return err_set(e, PK_EUSAGE, "--auth-token-file", "invalid token", "longer than %u bytes",
                       HTTP_TOKEN_MAX);
    if (n < HTTP_TOKEN_MIN)
        return err_set(e, PK_EUSAGE, "--auth-token-file", "invalid token",
                       "%zu bytes: at least %u are needed (e.g. `openssl rand -hex 32`)", n, HTTP_TOKEN_MIN);
    size_t i = 0;
    while (i < n && b64token_char((unsigned char)tok[i]))
        i++;
    while (i < n && tok[i] == '=') /* b64token: '=' only at the end */
        i++;
    if (i != n)
        return err_set(e, PK_EUSAGE, "--auth-token-file", "invalid token",
                       "byte %zu (0x%02x) cannot be in a bearer token (letters, digits, - . _ ~ + / "
                       "and a trailing =)",
                       i, (unsigned char)tok[i]);
    if (sha256(tok, n, sha) != 0)
        return err_set(e, -EIO, "--auth-token-file", "cannot hash the token", "SHA-256 unavailable");
    return 0;
}

/* The certificate and key, checked with GnuTLS (what libmicrohttpd serves
 * TLS with, so the verdict is the same) before libmicrohttpd, whose failures
 * say nothing, gets them. */
static int check_tls(const char *cert, const char *key, struct pk_err *e)
{
    int rc = 0, g;
    gnutls_x509_crt_t x = NULL;
    gnutls_x509_privkey_t k = NULL;
    gnutls_datum_t cd = { (unsigned char *)cert, (unsigned)strlen(cert) };
    gnutls_datum_t kd = { (unsigned char *)key, (unsigned)strlen(key) };
    unsigned char id_cert[64], id_key[64];
    size_t n_cert = sizeof(id_cert), n_key = sizeof(id_key);
    if (gnutls_x509_crt_init(&x) < 0 || gnutls_x509_privkey_init(&k) < 0) {
        rc = err_errno(e, -ENOMEM, "--tls-cert", "cannot read the certificate");
        goto out;
    }
    if ((g = gnutls_x509_crt_import(x, &cd, GNUTLS_X509_FMT_PEM)) < 0) {
        rc = err_set(e, PK_EPARSE, "--tls-cert", "not a PEM certificate", "%s", gnutls_strerror(g));
        goto out;
    }
    if (strstr(key, "ENCRYPTED")) {
        rc = err_set(e, PK_EPARSE, "--tls-key", "not a usable PEM private key",
                     "the key is encrypted: give it without a passphrase (openssl pkey -in KEY -out NEW)");
        goto out;
    }
    if ((g = gnutls_x509_privkey_import2(k, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        rc = err_set(e, PK_EPARSE, "--tls-key", "not a PEM private key", "%s", gnutls_strerror(g));
        goto out;
    }
    /* Both ids are the SHA-1 of the public key: equal exactly when the key
     * is the certificate's. */
    if (gnutls_x509_crt_get_key_id(x, 0, id_cert, &n_cert) < 0 ||
        gnutls_x509_privkey_get_key_id(k, 0, id_key, &n_key) < 0 || n_cert != n_key ||
        memcmp(id_cert, id_key, n_cert) != 0) {
        rc = err_set(e, PK_EUSAGE, "--tls-key", "the key does not match the certificate",
                     "give the private key of the certificate in --tls-cert");
        goto out;
    }
out:
    if (k)
        gnutls_x509_privkey_deinit(k);
    if (x)
        gnutls_x509_crt_deinit(x);
    return rc;
}

static int open_listener(const struct sockaddr_storage *addr, unsigned addrlen, const char *listen_text,
                         int *out, struct pk_err *e)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, -errno, "--listen", "cannot create a socket");
    int one = 1;
    /* Restarts must not wait for TIME_WAIT connections of the previous run. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (addr->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)addr, addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int err = errno;
        close(fd);
        char what[200];
        snprintf(what, sizeof(what), "cannot listen on %s", listen_text);
        return err_set(e, -err, "--listen", what, "%s", strerror(err));
    }
    *out = fd;
    return 0;
}

static void free_server(struct http_server *s)
{
    if (s->r401)
        MHD_destroy_response(s->r401);
    if (s->r403)
        MHD_destroy_response(s->r403);
    if (s->r404)
        MHD_destroy_response(s->r404);
    if (s->r405)
        MHD_destroy_response(s->r405);
    if (s->key_pem) {
        explicit_bzero(s->key_pem, strlen(s->key_pem));
        free(s->key_pem);
    }
    free(s->cert_pem);
    explicit_bzero(s->token_sha, sizeof(s->token_sha));
    pthread_mutex_destroy(&s->log_lock);
    free(s);
}

/* The options checked and taken in: the listen address, the token's digest,
 * the refusal of a public address without authentication, the TLS texts. */
static int configure(struct http_server *s, const struct http_opts *o, const char *listen_text,
                     struct pk_err *e)
{
    int rc;
    if (o->conn_limit < 1 || o->timeout_s < 1 || o->threads < 1 || o->threads > HTTP_THREADS_MAX)
        return err_set(e, PK_EUSAGE, "http", "invalid server options",
                       "connection limit, timeout and threads must be at least 1 (threads at most %u)",
                       HTTP_THREADS_MAX);
    bool loopback;
    unsigned addrlen;
    if ((rc = http_listen_parse(listen_text, &s->addr, &addrlen, &loopback, s->listen_host, e)))
        return rc;
    s->addrlen = addrlen;
    if (o->auth_token) {
        if ((rc = check_token(o->auth_token, s->token_sha, e)))
            return rc;
        s->has_token = true;
    }
    if (!loopback && !s->has_token && !o->no_auth) {
        char q[96], what[200];
        snprintf(what, sizeof(what), "refusing to serve %s without authentication",
                 err_quote(listen_text, strlen(listen_text), q, sizeof(q)));
        return err_set(e, PK_EUSAGE, "--listen", what,
                       "it is not a loopback address: add --auth-token-file FILE (a bearer token) or "
                       "--no-auth to serve it to anyone who can connect");
    }
    s->check_host = loopback && !s->has_token;
    if (!o->tls_cert_pem != !o->tls_key_pem)
        return err_set(e, PK_EUSAGE, o->tls_cert_pem ? "--tls-key" : "--tls-cert", "incomplete TLS settings",
                       "--tls-cert and --tls-key go together");
    if (!o->tls_cert_pem)
        return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return err_set(e, PK_ENOTSUP, "--tls-cert", "TLS is not available",
                       "this libmicrohttpd was built without TLS support");
    if ((rc = check_tls(o->tls_cert_pem, o->tls_key_pem, e)))
        return rc;
    /* the key's copy is wiped by free_server, on every path */
    if (!(s->cert_pem = strdup(o->tls_cert_pem)) || !(s->key_pem = strdup(o->tls_key_pem)))
        return err_errno(e, -ENOMEM, "http", "cannot start the server");
    s->tls = true;
    return 0;
}

static int make_canned(struct http_server *s, struct pk_err *e)
{
    s->r401 = canned("{\"error\":\"unauthorized: send Authorization: Bearer <token>\"}",
                     MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"perfkit\"");
    s->r403 = canned("{\"error\":\"forbidden: the Host header names no loopback address; "
                     "serve other names with --auth-token-file\"}",
                     NULL, NULL);
    s->r404 = canned("{\"error\":\"not found\"}", NULL, NULL);
    s->r405 =
        canned("{\"error\":\"method not allowed: use GET or HEAD\"}", MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (!s->r401 || !s->r403 || !s->r404 || !s->r405)
        return err_errno(e, -ENOMEM, "http", "cannot start the server");
    return 0;
}

/* libmicrohttpd on the listening socket fd, which it owns once started. */
static int start_daemon(struct http_server *s, const struct http_opts *o, int fd, struct pk_err *e)
{
    /* MHD may or may not close fd when it fails to start; `witness` keeps
     * the socket alive so fd can be told apart from a descriptor reused in
     * the meantime. */
    int witness = fcntl(fd, F_DUPFD_CLOEXEC, 0);

    struct MHD_OptionItem opts[12];
    size_t no = 0;
    opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
    opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, o->conn_limit, NULL };
    opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_limit, NULL };
    opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, NULL };
    opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, NULL };
    if (o->threads > 1)
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL };
    if (s->tls) {
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem };
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem };
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES };
    }
    opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    PK_ASSERT(no <= sizeof(opts) / sizeof(opts[0]));

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (s->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (s->tls)
        flags |= MHD_USE_TLS;
    s->starting = true;
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_log, s,
                              MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED,
                              on_completed, s, MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, s, MHD_OPTION_ARRAY,
                              opts, MHD_OPTION_END);
    pthread_mutex_lock(&s->log_lock);
    s->starting = false;
    pthread_mutex_unlock(&s->log_lock);
    if (!s->mhd) {
        struct stat a, b;
        if (witness >= 0 && fstat(fd, &a) == 0 && fstat(witness, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            close(fd);
        if (witness >= 0)
            close(witness);
        return err_set(e, -EIO, "http", "cannot start the server", "%s",
                       s->log[0] ? s->log : "libmicrohttpd refused the settings");
    }
    if (witness >= 0)
        close(witness);
    return 0;
}

int http_check(const struct http_opts *o, struct pk_err *e)
{
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return err_errno(e, -ENOMEM, "http", "cannot check the server's settings");
    pthread_mutex_init(&s->log_lock, NULL);
    int rc = configure(s, o, o->listen ? o->listen : HTTP_LISTEN_DEFAULT, e);
    free_server(s);
    return rc;
}

int http_start(const struct http_opts *o, const struct http_provider *p, struct http_server **out,
               struct pk_err *e)
{
    *out = NULL;
    const char *listen_text = o->listen ? o->listen : HTTP_LISTEN_DEFAULT;
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return err_errno(e, -ENOMEM, "http", "cannot start the server");
    pthread_mutex_init(&s->log_lock, NULL);
    s->prov = *p;
    int rc, fd = -1;
    if ((rc = configure(s, o, listen_text, e)) || (rc = make_canned(s, e)) ||
        (rc = open_listener(&s->addr, (unsigned)s->addrlen, listen_text, &fd, e)))
        goto fail;
    socklen_t alen = sizeof(s->addr);
    getsockname(fd, (struct sockaddr *)&s->addr, &alen);
    s->port = ntohs(s->addr.ss_family == AF_INET ? ((struct sockaddr_in *)&s->addr)->sin_port
                                                 : ((struct sockaddr_in6 *)&s->addr)->sin6_port);
    if ((rc = start_daemon(s, o, fd, e)))
        goto fail;
    *out = s;
    return 0;

fail:
    free_server(s);
    return rc;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    if (s->mhd)
        MHD_stop_daemon(s->mhd); /* joins the threads, releases every body held */
    free_server(s);
}

uint16_t http_port(const struct http_server *s)
{
    return s->port;
}

const char *http_url(const struct http_server *s, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    const char *scheme = s->tls ? "https" : "http";
    if (s->addr.ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)&s->addr)->sin6_addr;
        if (IN6_IS_ADDR_UNSPECIFIED(a))
            snprintf(host, sizeof(host), "::1");
        else
            inet_ntop(AF_INET6, a, host, sizeof(host));
        snprintf(buf, cap, "%s://[%s]:%u/", scheme, host, s->port);
    } else {
        const struct in_addr *a = &((const struct sockaddr_in *)&s->addr)->sin_addr;
        if (a->s_addr != htonl(INADDR_ANY))
            inet_ntop(AF_INET, a, host, sizeof(host));
        snprintf(buf, cap, "%s://%s:%u/", scheme, host, s->port);
    }
    return buf;
}

void http_stats(const struct http_server *s, struct http_stats *out)
{
    struct http_server *m = (struct http_server *)s; /* atomics are read-only here */
    out->requests = atomic_load_explicit(&m->n_requests, memory_order_relaxed);
    out->status_2xx = atomic_load_explicit(&m->n_2xx, memory_order_relaxed);
    out->status_4xx = atomic_load_explicit(&m->n_4xx, memory_order_relaxed);
    out->status_5xx = atomic_load_explicit(&m->n_5xx, memory_order_relaxed);
    out->unauthorized = atomic_load_explicit(&m->n_401, memory_order_relaxed);
}
