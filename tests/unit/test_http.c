/*
 * test_http - the monitor's HTTP server on 127.0.0.1 (port 0), driven by a
 * real client (libcurl): routes, status codes, headers, bodies, HEAD, 405,
 * 400 JSON, bearer tokens, OpenMetrics negotiation, the non-loopback
 * refusal, TLS with a certificate made here by the openssl CLI, the Host
 * check, connection limits, and a silent client dropped after the timeout
 * while others are served. Bodies handed out are all released by the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "monitor/http.h"
#include "monitor/query.h"

extern char **environ;

static const char *msg(const struct pk_err *e)
{
    static char buf[800];
    return pk_err_str(e, buf, sizeof(buf));
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the test provider -------------------------------------------------- */

static char status_json[3072];
static atomic_int handed, released;
static atomic_int health_down;

static void release_count(void *cookie)
{
    assert_ptr_equal(cookie, status_json);
    atomic_fetch_add(&released, 1);
}

static int p_metrics(void *arg, enum http_metrics_format fmt, struct http_body *out, struct pk_err *e)
{
    (void)arg, (void)e;
    static const char text[] = "# TYPE x gauge\nx 1\n";
    static const char om[] = "# TYPE x gauge\nx 1\n# EOF\n";
    out->data = fmt == HTTP_METRICS_OPENMETRICS ? om : text;
    out->len = fmt == HTTP_METRICS_OPENMETRICS ? sizeof(om) - 1 : sizeof(text) - 1;
    return 0;
}

static int p_status(void *arg, struct http_body *out, struct pk_err *e)
{
    (void)arg, (void)e;
    atomic_fetch_add(&handed, 1);
    out->data = status_json;
    out->len = strlen(status_json);
    out->release = release_count;
    out->cookie = status_json;
    return 0;
}

static int p_history(void *arg, const struct query_history *q, struct http_body *out, struct pk_err *e)
{
    (void)arg;
    if (!strcmp(q->metric, "missing"))
        return err_set(e, -ENOENT, "metric", "no such series", "'missing' was never stored");
    if (!strcmp(q->metric, "boom"))
        return err_set(e, -EIO, "store", "cannot read the history", "disk I/O error");
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:I}", "metric", q->metric, "from", (json_int_t)q->from_ms, "to",
                  (json_int_t)q->to_ms, "step", (json_int_t)q->step_ms, "points", (json_int_t)q->points);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    out->data = text;
    out->len = strlen(text);
    out->release = free;
    out->cookie = text;
    return 0;
}

static int p_alerts(void *arg, struct http_body *out, struct pk_err *e)
{
    (void)arg, (void)e;
    out->data = "[]";
    out->len = 2;
    return 0;
}

static int p_health(void *arg, struct http_body *out, struct pk_err *e)
{
    (void)arg, (void)e;
    if (atomic_load(&health_down)) {
        out->data = "{\"status\":\"stale\"}";
        out->status = 503;
    } else {
        out->data = "{\"status\":\"ok\"}";
    }
    out->len = strlen(out->data);
    return 0;
}

static int p_ready(void *arg, struct http_body *out, struct pk_err *e)
{
    (void)arg, (void)e;
    out->data = "{\"ready\":true}";
    out->len = strlen(out->data);
    return 0;
}

static int p_asset(void *arg, const char *path, struct http_body *out, struct pk_err *e)
{
    (void)arg, (void)e;
    if (!strcmp(path, "/")) {
        out->data = "<!doctype html><title>perfkit</title>";
        out->content_type = "text/html; charset=utf-8";
    } else if (!strcmp(path, "/dashboard.js")) {
        out->data = "console.log(1)";
        out->content_type = "text/javascript; charset=utf-8";
    } else {
        return -ENOENT;
    }
    out->len = strlen(out->data);
    return 0;
}

static const struct http_provider PROV = {
    .arg = NULL,
    .metrics = p_metrics,
    .status = p_status,
    .history = p_history,
    .alerts = p_alerts,
    .health = p_health,
    .ready = p_ready,
    .asset = p_asset,
};

/* ---- the client --------------------------------------------------------- */

struct resp {
    long status;
    char *body;
    size_t len;
    char head[8192];
    size_t hlen;
    CURLcode rc;
};

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
    struct resp *r = u;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    assert_non_null(nb);
    r->body = nb;
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *u)
{
    struct resp *r = u;
    size_t k = sz * n;
    if (r->hlen + k < sizeof(r->head)) {
        memcpy(r->head + r->hlen, p, k);
        r->hlen += k;
        r->head[r->hlen] = '\0';
    }
    return k;
}

/* The value of header `name` in the response head, or NULL (static buffer). */
static const char *header(const struct resp *r, const char *name)
{
    static char val[1024];
    size_t nl = strlen(name);
    for (const char *line = r->head; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = strcspn(v, "\r\n");
            memcpy(val, v, vl < sizeof(val) ? vl : sizeof(val) - 1);
            val[vl < sizeof(val) ? vl : sizeof(val) - 1] = '\0';
            return val;
        }
    }
    return NULL;
}

struct req {
    const char *method; /* NULL: GET */
    const char *headers[4];
    const char *post;   /* a request body */
    const char *cafile; /* TLS: trust this certificate */
    long timeout_ms;
};

static struct resp fetch_req(const char *url, const struct req *q)
{
    struct resp r;
    memset(&r, 0, sizeof(r));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *hl = NULL;
    for (int i = 0; i < 4 && q->headers[i]; i++)
        hl = curl_slist_append(hl, q->headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms ? q->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (q->post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->post);
    if (q->method && !strcmp(q->method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (q->method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->cafile) {
        curl_easy_setopt(c, CURLOPT_CAINFO, q->cafile);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    }
    r.rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return r;
}

static struct resp fetch(const char *url)
{
    struct req q = { 0 };
    return fetch_req(url, &q);
}

static void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* ---- servers ------------------------------------------------------------ */

static struct http_server *start(struct http_opts *o, const struct http_provider *p)
{
    struct http_server *s = NULL;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = http_start(o, p, &s, &e);
    if (rc)
        fail_msg("http_start(%s): %s", o->listen, msg(&e));
    assert_true(http_port(s) > 0);
    return s;
}

static struct http_server *start_default(void)
{
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    return start(&o, &PROV);
}

static void url_of(const struct http_server *s, const char *path, char *buf, size_t cap)
{
    char base[128];
    http_url(s, base, sizeof(base));
    base[strlen(base) - 1] = '\0'; /* the final '/' */
    snprintf(buf, cap, "%s%s", base, path);
}

static void expect_json_error(const struct resp *r, long status, const char *error, const char *param,
                              bool with_param)
{
    assert_int_equal(r->status, status);
    assert_string_equal(header(r, "Content-Type"), "application/json");
    json_error_t je;
    json_t *o = json_loads(r->body ? r->body : "", 0, &je);
    if (!o)
        fail_msg("not JSON: %s", r->body ? r->body : "(none)");
    const char *got = json_string_value(json_object_get(o, "error"));
    if (!got || strcmp(got, error) != 0)
        fail_msg("error:\n  got  %s\n  want %s", got ? got : "(none)", error);
    json_t *pv = json_object_get(o, "parameter");
    if (with_param) {
        assert_non_null(pv);
        if (param)
            assert_string_equal(json_string_value(pv), param);
        else
            assert_true(json_is_null(pv));
    } else {
        assert_null(pv);
    }
    json_decref(o);
}

/* ---- tests -------------------------------------------------------------- */

static void test_routes(void **state)
{
    (void)state;
    struct http_server *s = start_default();
    char url[256];
    struct {
        const char *path, *ctype, *body;
    } cases[] = {
        { "/api/status", "application/json", status_json },
        { "/api/alerts", "application/json", "[]" },
        { "/health", "application/json", "{\"status\":\"ok\"}" },
        { "/ready", "application/json", "{\"ready\":true}" },
        { "/metrics", "text/plain; version=0.0.4; charset=utf-8", "# TYPE x gauge\nx 1\n" },
        { "/", "text/html; charset=utf-8", "<!doctype html><title>perfkit</title>" },
        { "/dashboard.js", "text/javascript; charset=utf-8", "console.log(1)" },
        { "/api/status?cachebust=1", "application/json", status_json }, /* a query elsewhere is ignored */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        url_of(s, cases[i].path, url, sizeof(url));
        struct resp r = fetch(url);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(header(&r, "Content-Type"), cases[i].ctype);
        assert_string_equal(header(&r, "Cache-Control"), "no-store");
        assert_string_equal(header(&r, "X-Content-Type-Options"), "nosniff");
        assert_non_null(header(&r, "Date"));
        assert_string_equal(r.body, cases[i].body);
        resp_free(&r);
    }
    /* 404s: unknown paths, exact matching, an unknown asset */
    const char *missing[] = { "/nope",
                              "/metrics/",
                              "/metric%73",
                              "/api/status/x",
                              "/API/STATUS",
                              "/dashboard.css",
                              "/api/history/../status" };
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        url_of(s, missing[i], url, sizeof(url));
        struct req q = { 0 };
        struct resp r = fetch_req(url, &q);
        expect_json_error(&r, 404, "not found", NULL, false);
        resp_free(&r);
    }
    /* a provider saying 503 */
    atomic_store(&health_down, 1);
    url_of(s, "/health", url, sizeof(url));
    struct resp r = fetch(url);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"stale\"}");
    resp_free(&r);
    atomic_store(&health_down, 0);

    struct http_stats st;
    http_stats(s, &st);
    assert_int_equal(st.requests, 8 + 7 + 1);
    assert_int_equal(st.status_2xx, 8);
    assert_int_equal(st.status_4xx, 7);
    assert_int_equal(st.status_5xx, 1);
    http_stop(s);
}

static void test_head_and_methods(void **state)
{
    (void)state;
    struct http_server *s = start_default();
    char url[256];
    url_of(s, "/api/status", url, sizeof(url));

    struct req head = { .method = "HEAD" };
    struct resp r = fetch_req(url, &head);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_null(r.body);
    char want_len[32];
    snprintf(want_len, sizeof(want_len), "%zu", strlen(status_json));
    assert_string_equal(header(&r, "Content-Length"), want_len);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    resp_free(&r);

    const char *methods[] = { "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "BREW" };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        struct req q = { .method = methods[i] };
        r = fetch_req(url, &q);
        assert_int_equal(r.rc, CURLE_OK);
        assert_string_equal(header(&r, "Allow"), "GET, HEAD");
        expect_json_error(&r, 405, "method not allowed: use GET or HEAD", NULL, false);
        resp_free(&r);
    }
    /* a POST with a body, then the server still answers */
    struct req post = { .post = "a=1&b=2" };
    r = fetch_req(url, &post);
    expect_json_error(&r, 405, "method not allowed: use GET or HEAD", NULL, false);
    resp_free(&r);
    /* a GET with a body is answered, the body ignored */
    struct req getb = { .method = "GET", .post = "ignored" };
    r = fetch_req(url, &getb);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, status_json);
    resp_free(&r);
    r = fetch(url);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(s);
}

static void test_history(void **state)
{
    (void)state;
    struct http_server *s = start_default();
    char url[QUERY_MAX + 512];

    url_of(s,
           "/api/"
           "history?metric=a%7By%3D%221%22%2Cx%3D%222%22%7D&from=1714561200&to=2024-05-01T12:00:00Z&step=30s&"
           "points=50",
           url, sizeof(url));
    struct resp r = fetch(url);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    assert_string_equal(
        r.body, "{\"metric\":\"a{x=\\\"2\\\",y=\\\"1\\\"}\",\"from\":1714561200000,\"to\":1714564800000,"
                "\"step\":30000,\"points\":50}");
    resp_free(&r);

    /* defaults: the last hour up to now */
    url_of(s, "/api/history?metric=node_load1", url, sizeof(url));
    int64_t before = (int64_t)time(NULL) * 1000;
    r = fetch(url);
    assert_int_equal(r.status, 200);
    json_t *o = json_loads(r.body, 0, NULL);
    int64_t to = json_integer_value(json_object_get(o, "to"));
    assert_true(to >= before && to <= before + 5000);
    assert_int_equal(json_integer_value(json_object_get(o, "from")), to - 3600000);
    assert_int_equal(json_integer_value(json_object_get(o, "points")), 1000);
    json_decref(o);
    resp_free(&r);

    struct {
        const char *q, *error, *param;
    } bad[] = {
        { "", "metric: missing parameter: metric is required (e.g. metric=node_load1)", "metric" },
        { "?", "metric: missing parameter: metric is required (e.g. metric=node_load1)", "metric" },
        { "?metric=x&from=yesterday",
          "from: invalid time 'yesterday': expected RFC 3339 (2024-05-01T12:00:00Z), unix seconds "
          "(1714564800) or a "
          "time relative to now (-1h)",
          "from" },
        { "?metric=x&bogus=1", "bogus: unknown parameter: expected metric, from, to, step or points",
          "bogus" },
        { "?metric=x&metric=y", "metric: repeated parameter: given more than once", "metric" },
        { "?metric=x&points=0", "points: invalid number '0': out of range (must be between 1 and 10000)",
          "points" },
        { "?metric=a%zz",
          "metric: invalid percent-encoding: '%' at offset 1 of 'a%zz' is not followed by two hex digits",
          "metric" },
        { "?metric=x&", "empty parameter: a stray '&' at offset 8", NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/api/history%s", bad[i].q);
        url_of(s, path, url, sizeof(url));
        r = fetch(url);
        expect_json_error(&r, 400, bad[i].error, bad[i].param, true);
        resp_free(&r);
    }
    /* over QUERY_MAX */
    char path[QUERY_MAX + 64];
    int n = snprintf(path, sizeof(path), "/api/history?metric=");
    memset(path + n, 'a', QUERY_MAX);
    path[n + QUERY_MAX] = '\0';
    url_of(s, path, url, sizeof(url));
    r = fetch(url);
    expect_json_error(&r, 400, "query string too long: 8199 bytes (at most 8192)", NULL, true);
    resp_free(&r);
    /* the provider's own failures */
    url_of(s, "/api/history?metric=missing", url, sizeof(url));
    r = fetch(url);
    expect_json_error(&r, 404, "metric: no such series: 'missing' was never stored", NULL, false);
    resp_free(&r);
    url_of(s, "/api/history?metric=boom", url, sizeof(url));
    r = fetch(url);
    expect_json_error(&r, 500, "store: cannot read the history: disk I/O error", NULL, false);
    resp_free(&r);
    http_stop(s);
}

static void test_negotiation(void **state)
{
    (void)state;
    /* the function itself */
    struct {
        const char *accept;
        enum http_metrics_format fmt;
        const char *omv;
    } cases[] = {
        { NULL, HTTP_METRICS_TEXT, "1.0.0" },
        { "", HTTP_METRICS_TEXT, "1.0.0" },
        { "*/*", HTTP_METRICS_TEXT, "1.0.0" },
        { "text/plain", HTTP_METRICS_TEXT, "1.0.0" },
        { "text/plain;version=0.0.4", HTTP_METRICS_TEXT, "1.0.0" },
        { "application/openmetrics-text", HTTP_METRICS_OPENMETRICS, "1.0.0" },
        { "application/openmetrics-text; version=1.0.0; charset=utf-8", HTTP_METRICS_OPENMETRICS, "1.0.0" },
        { "application/openmetrics-text;version=\"1.0.0\"", HTTP_METRICS_OPENMETRICS, "1.0.0" },
        { "application/openmetrics-text;version=0.0.1", HTTP_METRICS_OPENMETRICS, "0.0.1" },
        { "Application/OpenMetrics-Text", HTTP_METRICS_OPENMETRICS, "1.0.0" },
        /* Prometheus 2.x's scrape header */
        { "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
          HTTP_METRICS_OPENMETRICS, "1.0.0" },
        /* Prometheus with scrape_protocols preferring text */
        { "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5",
          HTTP_METRICS_TEXT, "1.0.0" },
        /* q-values order, not position */
        { "text/plain;q=0.2, application/openmetrics-text;q=0.8", HTTP_METRICS_OPENMETRICS, "1.0.0" },
        { "application/openmetrics-text;q=0.2, text/plain;q=0.8", HTTP_METRICS_TEXT, "1.0.0" },
        /* equal q: as sent */
        { "application/openmetrics-text, text/plain", HTTP_METRICS_OPENMETRICS, "1.0.0" },
        { "text/plain, application/openmetrics-text", HTTP_METRICS_TEXT, "1.0.0" },
        /* q=0 is "not acceptable" */
        { "application/openmetrics-text;q=0", HTTP_METRICS_TEXT, "1.0.0" },
        { "text/plain;q=0, application/openmetrics-text;q=0.1", HTTP_METRICS_OPENMETRICS, "1.0.0" },
        /* unknown versions and formats are skipped */
        { "application/openmetrics-text;version=2.0.0, text/plain", HTTP_METRICS_TEXT, "1.0.0" },
        { "text/plain;version=1.0.0,application/openmetrics-text;q=0.5", HTTP_METRICS_OPENMETRICS, "1.0.0" },
        { "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
          HTTP_METRICS_TEXT, "1.0.0" },
        /* malformed pieces are ignored, not fatal */
        { "garbage, ;;;, /, application/openmetrics-text;q=abc, application/openmetrics-text;q=0.3",
          HTTP_METRICS_OPENMETRICS, "1.0.0" },
        { "application/openmetrics-text;q=1.5", HTTP_METRICS_TEXT, "1.0.0" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *omv = NULL;
        enum http_metrics_format f = http_negotiate_metrics(cases[i].accept, &omv);
        if (f != cases[i].fmt || strcmp(omv, cases[i].omv) != 0)
            fail_msg("Accept '%s': got %d %s", cases[i].accept ? cases[i].accept : "(none)", f, omv);
    }

    /* The header is the client's bytes: random ones of the characters that matter,
     * in buffers of their exact size so that the sanitizers see any overread. */
    static const char alphabet[] = "application/openmetrics-text;version=1.0.0q=0.5,*/ \t\"";
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(i % 64);
        char *h = malloc(n + 1);
        assert_non_null(h);
        for (size_t k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            h[k] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
        }
        h[n] = '\0';
        const char *omv = NULL;
        enum http_metrics_format f = http_negotiate_metrics(h, &omv);
        assert_true(f == HTTP_METRICS_TEXT || f == HTTP_METRICS_OPENMETRICS);
        free(h);
    }

    /* and through the server */
    struct http_server *s = start_default();
    char url[256];
    url_of(s, "/metrics", url, sizeof(url));
    struct req q = { .headers = {
                         "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                         "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1" } };
    struct resp r = fetch_req(url, &q);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"),
                        "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_string_equal(header(&r, "Vary"), "Accept");
    assert_string_equal(r.body, "# TYPE x gauge\nx 1\n# EOF\n");
    resp_free(&r);
    struct req q2 = { .headers = { "Accept: application/openmetrics-text;version=0.0.1" } };
    r = fetch_req(url, &q2);
    assert_string_equal(header(&r, "Content-Type"),
                        "application/openmetrics-text; version=0.0.1; charset=utf-8");
    resp_free(&r);
    struct req q3 = { .headers = { "Accept: text/plain" } };
    r = fetch_req(url, &q3);
    assert_string_equal(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(r.body, "# TYPE x gauge\nx 1\n");
    resp_free(&r);
    http_stop(s);
}

#define TOKEN "s3cr3t-t0ken-0123456789abcdef"

static void test_auth(void **state)
{
    (void)state;
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.auth_token = TOKEN "\n"; /* as read from a file */
    struct http_server *s = start(&o, &PROV);
    char url[256];
    const char *paths[] = { "/api/status", "/health", "/ready", "/metrics", "/", "/nope" };
    const char *wrong[] = {
        NULL,
        "Authorization: Bearer wrong",
        "Authorization: Bearer " TOKEN "x",
        "Authorization: Bearer s3cr3t-t0ken-0123456789abcde",
        "Authorization: Basic " TOKEN,
        "Authorization: Bearer",
        "Authorization: " TOKEN,
        "Authorization: Bearer " TOKEN " extra",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        url_of(s, paths[i], url, sizeof(url));
        for (size_t j = 0; j < sizeof(wrong) / sizeof(wrong[0]); j++) {
            struct req q = { .headers = { wrong[j] } };
            struct resp r = fetch_req(url, &q);
            assert_string_equal(header(&r, "WWW-Authenticate"), "Bearer realm=\"perfkit\"");
            expect_json_error(&r, 401, "unauthorized: send Authorization: Bearer <token>", NULL, false);
            resp_free(&r);
        }
        const char *right[] = { "Authorization: Bearer " TOKEN, "Authorization: bearer " TOKEN,
                                "Authorization: BEARER   " TOKEN };
        for (size_t j = 0; j < 3; j++) {
            struct req q = { .headers = { right[j] } };
            struct resp r = fetch_req(url, &q);
            assert_int_equal(r.status, !strcmp(paths[i], "/nope") ? 404 : 200);
            resp_free(&r);
        }
    }
    /* unauthenticated requests learn nothing else, not even 405 */
    url_of(s, "/api/status", url, sizeof(url));
    struct req del = { .method = "DELETE" };
    struct resp r = fetch_req(url, &del);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    /* with a token, any Host is fine */
    struct req host = { .headers = { "Authorization: Bearer " TOKEN, "Host: monitor.example.com" } };
    r = fetch_req(url, &host);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    struct http_stats st;
    http_stats(s, &st);
    assert_int_equal(st.unauthorized, 6 * 8 + 1);
    http_stop(s);
}

static bool public_root(void *arg, const char *path)
{
    (void)arg;
    return !strcmp(path, "/");
}

static bool public_all(void *arg, const char *path)
{
    (void)arg, (void)path;
    return true;
}

static int p_asset_csp(void *arg, const char *path, struct http_body *out, struct pk_err *e)
{
    int rc = p_asset(arg, path, out, e);
    out->csp = "default-src 'none'";
    return rc;
}

/* With a token, the pages the provider names (holding no data) are served
 * without it; the routes never are, whatever the provider says. */
static void test_public_page(void **state)
{
    (void)state;
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.auth_token = TOKEN;
    struct http_provider p = PROV;
    p.asset = p_asset_csp;
    p.asset_public = public_root;
    struct http_server *s = start(&o, &p);
    char url[256];
    url_of(s, "/", url, sizeof(url));
    struct resp r = fetch(url);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "<!doctype html><title>perfkit</title>");
    assert_string_equal(header(&r, "Content-Security-Policy"), "default-src 'none'");
    resp_free(&r);
    url_of(s, "/dashboard.js", url, sizeof(url));
    r = fetch(url);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    http_stop(s);

    p.asset_public = public_all;
    s = start(&o, &p);
    const char *routes[] = { "/metrics", "/api/status", "/api/history", "/api/alerts", "/health", "/ready" };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        url_of(s, routes[i], url, sizeof(url));
        r = fetch(url);
        if (r.status != 401)
            fail_msg("%s without the token: %ld", routes[i], r.status);
        resp_free(&r);
    }
    url_of(s, "/dashboard.js", url, sizeof(url));
    r = fetch(url);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(s);
}

static void test_host_check(void **state)
{
    (void)state;
    struct http_server *s = start_default();
    char url[256], h1[64], h2[64];
    url_of(s, "/api/status", url, sizeof(url));
    snprintf(h1, sizeof(h1), "Host: localhost:%u", http_port(s));
    snprintf(h2, sizeof(h2), "Host: 127.0.0.2:%u", http_port(s));
    const char *good[] = {
        h1, h2, "Host: [::1]:80", "Host: LOCALHOST", "Host: localhost.", "Host: 127.0.0.1"
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct req q = { .headers = { good[i] } };
        struct resp r = fetch_req(url, &q);
        if (r.status != 200)
            fail_msg("%s: %ld", good[i], r.status);
        resp_free(&r);
    }
    const char *evil[] = { "Host: evil.example", "Host: evil.example:9310",      "Host: 10.0.0.1",
                           "Host: [::2]:80",     "Host: localhost.evil.example", "Host: 127.0.0.1.nip.io" };
    for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
        struct req q = { .headers = { evil[i] } };
        struct resp r = fetch_req(url, &q);
        expect_json_error(&r, 403,
                          "forbidden: the Host header names no loopback address; serve other names with "
                          "--auth-token-file",
                          NULL, false);
        resp_free(&r);
    }
    http_stop(s);
}

static void bad_start(const struct http_opts *o, int code, const char *on, const char *want)
{
    struct http_server *s = (struct http_server *)0x1;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = http_start(o, &PROV, &s, &e);
    if (rc == 0)
        fail_msg("started on %s", o->listen);
    assert_null(s);
    assert_int_equal(rc, code);
    if (strcmp(msg(&e), want) != 0)
        fail_msg("\n  got  %s\n  want %s", msg(&e), want);
    assert_string_equal(e.on, on);
}

static void test_refusals(void **state)
{
    (void)state;
    struct http_opts o;
    http_opts_init(&o);
    const char *open_ones[] = { "0.0.0.0:9310", "[::]:9310", "192.0.2.1:9310", "[2001:db8::1]:9310" };
    for (size_t i = 0; i < sizeof(open_ones) / sizeof(open_ones[0]); i++) {
        o.listen = open_ones[i];
        char want[512];
        snprintf(want, sizeof(want),
                 "--listen: refusing to serve %s without authentication: it is not a loopback address: add "
                 "--auth-token-file FILE (a bearer token) or --no-auth to serve it to anyone who can connect",
                 open_ones[i]);
        bad_start(&o, PK_EUSAGE, "--listen", want);
    }
    /* listen address syntax */
    struct {
        const char *text, *why;
    } syn[] = {
        { "", "empty (expected HOST:PORT, e.g. 127.0.0.1:9310)" },
        { "127.0.0.1", "missing port (e.g. 127.0.0.1:9310)" },
        { "127.0.0.1:", "empty port" },
        { "127.0.0.1:65536", "port out of range (0..65535)" },
        { "127.0.0.1:+80", "the port must be a number 0..65535" },
        { "127.0.0.1:80x", "the port must be a number 0..65535" },
        { ":9310", "missing host (use 0.0.0.0:PORT or [::]:PORT for every address)" },
        { "::1:9310", "an IPv6 address goes in brackets, e.g. [::1]:9310" },
        { "[::1]", "missing port (e.g. [::1]:9310)" },
        { "[::1]9310", "expected ':PORT' after ']'" },
        { "[::1:9310", "missing ']' after the IPv6 address" },
        { "[fe80::1%eth0]:9310", "zone identifiers ('%...') are not supported" },
        { "[127.0.0.1]:9310", "'127.0.0.1' is not an IPv6 address" },
        { "127.0.0:9310", "'127.0.0' is not an IPv4 address (a.b.c.d)" },
        { "127.000.0.1:9310", "'127.000.0.1' is not an IPv4 address (a.b.c.d)" },
        { "256.0.0.1:9310", "'256.0.0.1' is not an IPv4 address (a.b.c.d)" },
        { "local host:9310", "a space, control or non-ASCII character" },
        { "a/b:9310", "'a/b' is neither an address nor a host name" },
    };
    for (size_t i = 0; i < sizeof(syn) / sizeof(syn[0]); i++) {
        o.listen = syn[i].text;
        char want[512];
        snprintf(want, sizeof(want), "--listen: invalid listen address '%s': %s", syn[i].text, syn[i].why);
        bad_start(&o, PK_EPARSE, "--listen", want);
    }
    o.listen = "no-such-host.invalid:9310";
    struct http_server *s = NULL;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(http_start(&o, &PROV, &s, &e), -ENOENT);
    assert_string_equal(e.on, "--listen");
    assert_non_null(strstr(e.why, "cannot resolve 'no-such-host.invalid'"));

    /* parsing alone: what is loopback */
    struct {
        const char *text;
        bool loop;
    } lp[] = { { "127.0.0.1:1", true },
               { "127.255.0.9:1", true },
               { "[::1]:1", true },
               { "[::ffff:127.0.0.1]:1", true },
               { "localhost:1", true },
               { "0.0.0.0:1", false },
               { "[::]:1", false },
               { "10.1.2.3:1", false },
               { "[::ffff:10.0.0.1]:1", false },
               { "128.0.0.1:1", false } };
    for (size_t i = 0; i < sizeof(lp) / sizeof(lp[0]); i++) {
        struct sockaddr_storage ss;
        unsigned len;
        bool loop;
        pk_err_clear(&e);
        if (http_parse_listen(lp[i].text, &ss, &len, &loop, &e) != 0)
            fail_msg("%s: %s", lp[i].text, msg(&e));
        if (loop != lp[i].loop)
            fail_msg("%s: loopback %d", lp[i].text, loop);
    }

    /* tokens and options */
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.auth_token = "short";
    bad_start(
        &o, PK_EUSAGE, "--auth-token-file",
        "--auth-token-file: invalid token: 5 bytes: at least 16 are needed (e.g. `openssl rand -hex 32`)");
    o.auth_token = "";
    bad_start(
        &o, PK_EUSAGE, "--auth-token-file",
        "--auth-token-file: invalid token: 0 bytes: at least 16 are needed (e.g. `openssl rand -hex 32`)");
    o.auth_token = "0123456789abcdef 0123";
    bad_start(&o, PK_EUSAGE, "--auth-token-file",
              "--auth-token-file: invalid token: byte 16 (0x20) cannot be in a bearer token (letters, "
              "digits, - . _ "
              "~ + / and a trailing =)");
    o.auth_token = "0123456789abcdef==x";
    bad_start(&o, PK_EUSAGE, "--auth-token-file",
              "--auth-token-file: invalid token: byte 18 (0x78) cannot be in a bearer token (letters, "
              "digits, - . _ "
              "~ + / and a trailing =)");
    o.auth_token = NULL;
    o.threads = 0;
    bad_start(
        &o, PK_EUSAGE, "http",
        "http: invalid server options: connection limit, timeout and threads must be at least 1 (threads at "
        "most 64)");
    o.threads = 2;
    o.tls_cert_pem = "x";
    bad_start(&o, PK_EUSAGE, "--tls-key",
              "--tls-key: incomplete TLS settings: --tls-cert and --tls-key go together");
    o.tls_cert_pem = NULL;

    /* the port in use */
    struct http_server *a = start_default();
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", http_port(a));
    o.listen = listen;
    pk_err_clear(&e);
    s = NULL;
    assert_int_equal(http_start(&o, &PROV, &s, &e), -EADDRINUSE);
    char want[256];
    snprintf(want, sizeof(want), "--listen: cannot listen on %s: Address already in use", listen);
    assert_string_equal(msg(&e), want);
    http_stop(a);
}

/* http_check makes http_start's checks, with the same verdict, binding nothing. */
static void test_check_without_binding(void **state)
{
    (void)state;
    struct http_server *busy = start_default();
    char taken[64];
    snprintf(taken, sizeof(taken), "127.0.0.1:%u", http_port(busy));
    struct {
        const char *listen, *token;
        bool no_auth;
        int code; /* of http_check; 0: accepted */
    } cases[] = {
        { "127.0.0.1:0", NULL, false, 0 },
        { taken, NULL, false, 0 }, /* a port in use is the start's to find: binding */
        { "0.0.0.0:9310", NULL, false, PK_EUSAGE },
        { "0.0.0.0:9310", NULL, true, 0 },
        { "0.0.0.0:9310", TOKEN, false, 0 },
        { "127.0.0.1:99999", NULL, false, PK_EPARSE },
        { "garbage", NULL, false, PK_EPARSE },
        { "127.0.0.1:0", "short", false, PK_EUSAGE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_opts o;
        http_opts_init(&o);
        o.listen = cases[i].listen;
        o.auth_token = cases[i].token;
        o.no_auth = cases[i].no_auth;
        struct pk_err ec, es;
        pk_err_clear(&ec);
        pk_err_clear(&es);
        int rc = http_check(&o, &ec);
        if (rc != cases[i].code)
            fail_msg("http_check(%s): %d %s", cases[i].listen, rc, msg(&ec));
        if (rc == 0)
            continue;
        struct http_server *s = NULL;
        assert_int_equal(http_start(&o, &PROV, &s, &es), rc);
        char a[800];
        snprintf(a, sizeof(a), "%s", msg(&ec));
        assert_string_equal(a, msg(&es));
    }
    http_stop(busy);
}

static void test_loopback_names(void **state)
{
    (void)state;
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "localhost:0";
    struct http_server *s = start(&o, &PROV);
    char url[256];
    url_of(s, "/health", url, sizeof(url));
    assert_non_null(strstr(url, "http://127.0.0.1:"));
    struct resp r = fetch(url);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(s);

    /* IPv6 loopback, where the machine has it */
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    bool v6 = fd >= 0 && bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0;
    if (fd >= 0)
        close(fd);
    if (!v6)
        return;
    o.listen = "[::1]:0";
    s = start(&o, &PROV);
    url_of(s, "/health", url, sizeof(url));
    assert_non_null(strstr(url, "http://[::1]:"));
    r = fetch(url);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    resp_free(&r);
    http_stop(s);
}

/* ---- TLS ---------------------------------------------------------------- */

static char tmpdir[64];

static int run(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[3][16384];
    static int k;
    char *b = buf[k++ % 3];
    size_t n = fread(b, 1, sizeof(buf[0]) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void make_cert(const char *name, const char *cn)
{
    char key[128], crt[128], subj[64];
    snprintf(key, sizeof(key), "%s/%s.key", tmpdir, name);
    snprintf(crt, sizeof(crt), "%s/%s.crt", tmpdir, name);
    snprintf(subj, sizeof(subj), "/CN=%s", cn);
    char *argv[] = { "openssl",
                     "req",
                     "-x509",
                     "-newkey",
                     "ec",
                     "-pkeyopt",
                     "ec_paramgen_curve:P-256",
                     "-nodes",
                     "-keyout",
                     key,
                     "-out",
                     crt,
                     "-days",
                     "2",
                     "-subj",
                     subj,
                     "-addext",
                     "subjectAltName=IP:127.0.0.1,DNS:localhost",
                     NULL };
    assert_int_equal(run(argv), 0);
}

static void test_tls(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/pk_test_http.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    make_cert("a", "localhost");
    make_cert("b", "other");
    char path[128];
    snprintf(path, sizeof(path), "%s/a.crt", tmpdir);
    const char *cert = slurp(path);
    snprintf(path, sizeof(path), "%s/a.key", tmpdir);
    const char *key = slurp(path);
    snprintf(path, sizeof(path), "%s/b.key", tmpdir);
    const char *other_key = slurp(path);

    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.tls_cert_pem = cert;
    o.tls_key_pem = key;
    o.auth_token = TOKEN;
    struct http_server *s = start(&o, &PROV);
    char url[256], cafile[128];
    url_of(s, "/api/status", url, sizeof(url));
    assert_memory_equal(url, "https://127.0.0.1:", 18);
    snprintf(cafile, sizeof(cafile), "%s/a.crt", tmpdir);
    struct req q = { .cafile = cafile, .headers = { "Authorization: Bearer " TOKEN } };
    struct resp r = fetch_req(url, &q);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, status_json);
    resp_free(&r);
    struct req noauth = { .cafile = cafile };
    r = fetch_req(url, &noauth);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    /* a client that does not trust the certificate fails the handshake */
    snprintf(cafile, sizeof(cafile), "%s/b.crt", tmpdir);
    struct req untrusted = { .cafile = cafile };
    r = fetch_req(url, &untrusted);
    assert_int_not_equal(r.rc, CURLE_OK);
    resp_free(&r);
    /* plain HTTP to the TLS port gets no answer */
    char plain[256];
    snprintf(plain, sizeof(plain), "http://127.0.0.1:%u/api/status", http_port(s));
    struct req pq = { .timeout_ms = 2000 };
    r = fetch_req(plain, &pq);
    assert_true(r.rc != CURLE_OK || r.status != 200);
    resp_free(&r);
    http_stop(s);

    /* refusals, with the file at fault named */
    struct http_server *none = NULL;
    struct pk_err e;
    o.tls_key_pem = other_key;
    bad_start(&o, PK_EUSAGE, "--tls-key",
              "--tls-key: the key does not match the certificate: give the private key of the certificate in "
              "--tls-cert");
    o.tls_key_pem = key;
    o.tls_cert_pem = "not a certificate";
    pk_err_clear(&e);
    assert_int_equal(http_start(&o, &PROV, &none, &e), PK_EPARSE);
    assert_string_equal(e.on, "--tls-cert");
    assert_string_equal(e.what, "not a PEM certificate");
    o.tls_cert_pem = cert;
    o.tls_key_pem = cert;
    pk_err_clear(&e);
    assert_int_equal(http_start(&o, &PROV, &none, &e), PK_EPARSE);
    assert_string_equal(e.on, "--tls-key");
    assert_string_equal(e.what, "not a PEM private key");

    char *rm[] = { "rm", "-rf", tmpdir, NULL };
    run(rm);
}

/* ---- limits ------------------------------------------------------------- */

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Seconds until the server closes fd (reads EOF or a reset), at most limit. */
static double wait_closed(int fd, double limit)
{
    double t0 = mono_s();
    struct pollfd p = { .fd = fd, .events = POLLIN };
    while (mono_s() - t0 < limit) {
        if (poll(&p, 1, 50) > 0) {
            char b[256];
            ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN))
                return mono_s() - t0;
        }
    }
    return -1;
}

static void test_slow_clients(void **state)
{
    (void)state;
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.timeout_s = 1;
    o.threads = 1; /* one thread: the silent clients must not hold it */
    struct http_server *s = start(&o, &PROV);
    char url[256];
    url_of(s, "/api/status", url, sizeof(url));

    double t0 = mono_s();
    int silent = connect_to(http_port(s));
    int partial = connect_to(http_port(s));
    assert_int_equal(send(partial, "GET /api/status HTTP/1.1\r\nHost: localhost\r\n", 43, 0), 43);
    /* others are served meanwhile, at once */
    for (int i = 0; i < 20; i++) {
        double a = mono_s();
        struct resp r = fetch(url);
        assert_int_equal(r.status, 200);
        assert_true(mono_s() - a < 0.5);
        resp_free(&r);
    }
    double d1 = wait_closed(silent, 5.0), d2 = wait_closed(partial, 5.0);
    double since = mono_s() - t0;
    assert_true(d1 >= 0 && d2 >= 0);
    /* dropped after about the timeout: not before 1 s, well before 5 s */
    assert_true(since >= 0.9);
    assert_true(since < 4.0);
    close(silent);
    close(partial);
    struct resp r = fetch(url);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(s);
}

static void test_connection_limits(void **state)
{
    (void)state;
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.per_ip_limit = 3;
    o.threads = 1;
    struct http_server *s = start(&o, &PROV);
    char url[256];
    url_of(s, "/api/status", url, sizeof(url));
    int held[3];
    for (int i = 0; i < 3; i++)
        held[i] = connect_to(http_port(s));
    usleep(100000);
    /* a fourth from the same address is closed at once */
    int extra = connect_to(http_port(s));
    double d = wait_closed(extra, 2.0);
    assert_true(d >= 0 && d < 1.0);
    close(extra);
    struct req q = { .timeout_ms = 1000 };
    struct resp r = fetch_req(url, &q);
    assert_int_not_equal(r.status, 200);
    resp_free(&r);
    /* and the held ones still work */
    const char get[] = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_int_equal(send(held[0], get, sizeof(get) - 1, 0), (ssize_t)(sizeof(get) - 1));
    char buf[512];
    ssize_t n = recv(held[0], buf, sizeof(buf) - 1, 0);
    assert_true(n > 12);
    buf[n] = '\0';
    assert_memory_equal(buf, "HTTP/1.1 200", 12);
    for (int i = 0; i < 3; i++)
        close(held[i]);
    usleep(100000);
    r = fetch(url);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(s);

    /* the overall limit: libmicrohttpd stops accepting at it */
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.conn_limit = 2;
    o.per_ip_limit = 0;
    o.threads = 1;
    s = start(&o, &PROV);
    int a = connect_to(http_port(s)), b = connect_to(http_port(s));
    usleep(100000);
    /* a third waits in the listen queue, unserved, until a slot frees */
    int c = connect_to(http_port(s));
    assert_int_equal(send(c, get, sizeof(get) - 1, 0), (ssize_t)(sizeof(get) - 1));
    struct pollfd pc = { .fd = c, .events = POLLIN };
    assert_int_equal(poll(&pc, 1, 500), 0);
    close(a);
    assert_int_equal(poll(&pc, 1, 2000), 1);
    n = recv(c, buf, sizeof(buf) - 1, 0);
    assert_true(n > 12);
    assert_memory_equal(buf, "HTTP/1.1 200", 12);
    close(b), close(c);
    http_stop(s);
}

/* ---- concurrency and release ------------------------------------------- */

static void *hammer(void *arg)
{
    const char *url = arg;
    CURL *c = curl_easy_init();
    struct resp r;
    memset(&r, 0, sizeof(r));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    long ok = 0, connects = 0;
    for (int i = 0; i < 300; i++) {
        r.len = 0;
        long st = 0, nc = 0;
        if (curl_easy_perform(c) == CURLE_OK &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st) == CURLE_OK && st == 200 &&
            r.len == strlen(status_json))
            ok++;
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nc);
        connects += nc;
    }
    /* all over one kept-alive connection: an answer must not close it */
    if (connects != 1)
        ok = -connects;
    free(r.body);
    curl_easy_cleanup(c);
    return (void *)ok;
}

/* The whole answer to one raw request on a new connection (the server
 * closes it after a refusal; a keep-alive answer is read to its length). */
static void raw_request(uint16_t port, const char *req, char *out, size_t cap)
{
    int fd = connect_to(port);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    size_t n = 0;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    while (n + 1 < cap && poll(&p, 1, 5000) > 0) {
        ssize_t k = recv(fd, out + n, cap - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
        out[n] = '\0';
        const char *body = strstr(out, "\r\n\r\n"), *cl = strstr(out, "Content-Length:");
        if (body && cl && (size_t)(out + n - (body + 4)) >= strtoul(cl + 15, NULL, 10))
            break;
    }
    out[n] = '\0';
    close(fd);
}

static void test_host_header(void **state)
{
    (void)state;
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    for (int with_token = 0; with_token < 2; with_token++) {
        o.auth_token = with_token ? TOKEN : NULL;
        struct http_server *s = start(&o, &PROV);
        char got[2048], req[512];
        const char *auth = with_token ? "Authorization: Bearer " TOKEN "\r\n" : "";
        /* RFC 9112 3.2: HTTP/1.1 without Host, or two Hosts, is a 400 (before authentication) */
        snprintf(req, sizeof(req), "GET /health HTTP/1.1\r\n%s\r\n", auth);
        raw_request(http_port(s), req, got, sizeof(got));
        if (!strstr(got, "HTTP/1.1 400 ") ||
            !strstr(got, "{\"error\":\"bad request: an HTTP/1.1 request needs a Host header\"}"))
            fail_msg("no Host: %s", got);
        raw_request(http_port(s), "GET /health HTTP/1.1\r\n\r\n", got, sizeof(got));
        assert_non_null(strstr(got, "HTTP/1.1 400 "));
        snprintf(req, sizeof(req), "GET /health HTTP/1.1\r\nHost: localhost\r\n%shost: localhost\r\n\r\n",
                 auth);
        raw_request(http_port(s), req, got, sizeof(got));
        if (!strstr(got, "HTTP/1.1 400 ") ||
            !strstr(got, "{\"error\":\"bad request: more than one Host header\"}"))
            fail_msg("two Hosts: %s", got);
        /* one Host, or HTTP/1.0 without one: served */
        snprintf(req, sizeof(req), "GET /health HTTP/1.1\r\nHost: localhost\r\n%s\r\n", auth);
        raw_request(http_port(s), req, got, sizeof(got));
        if (!strstr(got, " 200 ") || !strstr(got, "{\"status\":\"ok\"}"))
            fail_msg("one Host: %s", got);
        snprintf(req, sizeof(req), "GET /health HTTP/1.0\r\n%s\r\n", auth);
        raw_request(http_port(s), req, got, sizeof(got));
        if (!strstr(got, " 200 ") || !strstr(got, "{\"status\":\"ok\"}"))
            fail_msg("HTTP/1.0 without Host: %s", got);
        struct http_stats st;
        http_stats(s, &st);
        assert_int_equal(st.status_4xx, 3);
        assert_int_equal(st.status_2xx, 2);
        http_stop(s);
    }
}

static void test_v4_mapped_listen(void **state)
{
    (void)state;
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "[::ffff:127.0.0.1]:0";
    struct http_server *s = start(&o, &PROV);
    char url[256];
    url_of(s, "/health", url, sizeof(url));
    assert_non_null(strstr(url, "http://127.0.0.1:"));
    struct resp r = fetch(url);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* as an IPv6 client writes it: the Host check takes the mapped loopback */
    char h[64];
    snprintf(h, sizeof(h), "Host: [::ffff:127.0.0.1]:%u", http_port(s));
    struct req q = { .headers = { h } };
    r = fetch_req(url, &q);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http_stop(s);
    /* still loopback only: a mapped public address needs authentication */
    o.listen = "[::ffff:192.0.2.1]:9310";
    bad_start(&o, PK_EUSAGE, "--listen",
              "--listen: refusing to serve [::ffff:192.0.2.1]:9310 without authentication: it is not a "
              "loopback address: add --auth-token-file FILE (a bearer token) or --no-auth to serve it to "
              "anyone who can connect");
}

static void test_concurrent_and_released(void **state)
{
    (void)state;
    int h0 = atomic_load(&handed), r0 = atomic_load(&released);
    struct http_server *s = start_default();
    char url[256];
    url_of(s, "/api/status", url, sizeof(url));
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, hammer, url);
    for (int i = 0; i < 6; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        assert_int_equal((long)ok, 300);
    }
    /* a client that goes away mid-response still gets its body released */
    int fd = connect_to(http_port(s));
    const char get[] = "GET /api/status HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_int_equal(send(fd, get, sizeof(get) - 1, 0), (ssize_t)(sizeof(get) - 1));
    close(fd);
    usleep(100000);
    http_stop(s);
    int handed_now = atomic_load(&handed) - h0;
    assert_true(handed_now >= 6 * 300);
    assert_int_equal(atomic_load(&released) - r0, handed_now);
}

static void test_null_provider(void **state)
{
    (void)state;
    struct http_provider none = { 0 };
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    struct http_server *s = start(&o, &none);
    const char *paths[] = {
        "/metrics", "/api/status", "/api/history?metric=x", "/api/alerts", "/health", "/ready", "/"
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char url[256];
        url_of(s, paths[i], url, sizeof(url));
        struct resp r = fetch(url);
        expect_json_error(&r, 404, "not found", NULL, false);
        resp_free(&r);
    }
    http_stop(s);
    http_stop(NULL);
}

static int setup(void **state)
{
    (void)state;
    /* a ~3 KB JSON document, as /api/status is */
    size_t o = 0;
    o += (size_t)snprintf(status_json + o, sizeof(status_json) - o,
                          "{\"cpu\":{\"utilization\":0.25},\"top\":[");
    for (int i = 0; o < 2900; i++)
        o += (size_t)snprintf(status_json + o, sizeof(status_json) - o,
                              "%s{\"pid\":%d,\"name\":\"proc%d\",\"cpu\":0.01}", i ? "," : "", 1000 + i, i);
    snprintf(status_json + o, sizeof(status_json) - o, "]}");
    return curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

/*
 * `test_http --serve THREADS SECONDS [TOKEN]`: the server alone, with the
 * test provider (/api/status: the ~3 KB JSON buffer, handed out without a
 * copy), on 127.0.0.1 at a free port printed on stdout, for SECONDS; what
 * wrk measures (docs/monitor-http.md, Performance).
 */
static int serve(int argc, char **argv)
{
    setup(NULL);
    struct http_opts o;
    http_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.threads = (unsigned)atoi(argv[2]);
    if (argc > 4)
        o.auth_token = argv[4];
    struct http_server *s = NULL;
    struct pk_err e;
    pk_err_clear(&e);
    if (http_start(&o, &PROV, &s, &e) != 0) {
        fprintf(stderr, "test_http: %s\n", msg(&e));
        return 1;
    }
    printf("%u\n", http_port(s));
    fflush(stdout);
    sleep((unsigned)atoi(argv[3]));
    http_stop(s);
    teardown(NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--serve"))
        return serve(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_head_and_methods),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_public_page),
        cmocka_unit_test(test_host_check),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_check_without_binding),
        cmocka_unit_test(test_loopback_names),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_slow_clients),
        cmocka_unit_test(test_connection_limits),
        cmocka_unit_test(test_host_header),
        cmocka_unit_test(test_v4_mapped_listen),
        cmocka_unit_test(test_concurrent_and_released),
        cmocka_unit_test(test_null_provider),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
