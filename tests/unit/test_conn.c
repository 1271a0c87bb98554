/*
 * test_conn - one load worker (load/worker.h: its event loop, connections,
 * transport, parser and counters) against a tiny HTTP/1.1 server in a
 * thread of the test, on 127.0.0.1 only: canned responses with a length,
 * chunked, pipelined, "Connection: close", and the ways a connection
 * breaks (a reset, a truncated body, a close before any byte, bytes that
 * are not HTTP, a refused port). Each run is the closed model with -n N, so
 * it ends on its count; the server and the worker also stop at a deadline.
 * Assertions are on counts only (requests, errors by phase and name,
 * bytes, histogram totals, the per-second slots), never on time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/clock.h"
#include "core/hist.h"
#include "load/worker.h"

#define DEADLINE_MS 20000 /* the server thread's and the run's bound */
#define MAXC        16

/* ---- the server */

static const char RESP_LENGTH[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
static const char RESP_CHUNKED[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Parts: 2\r\n\r\n";
static const char RESP_CLOSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
static const char RESP_TRUNCATED[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
static const char RESP_GARBAGE[] = "HTTP/1.1 2x0 OK\r\n\r\n";
#define LEN(s) (sizeof(s) - 1)

enum mode {
    M_LENGTH,    /* RESP_LENGTH to each request */
    M_CHUNKED,   /* RESP_CHUNKED to each request */
    M_PIPELINE,  /* answers once `batch` requests wait, all in one write, LENGTH and CHUNKED in turn */
    M_CLOSE,     /* RESP_CLOSE, then closes */
    M_RESET,     /* reads a request, resets the connection */
    M_TRUNCATED, /* RESP_TRUNCATED (90 body bytes short), then closes */
    M_EOF,       /* reads a request, closes without a byte */
    M_GARBAGE,   /* RESP_GARBAGE */
    M_EXTRA,     /* RESP_LENGTH twice in one write: one answers nothing */
};

struct server {
    int lfd;
    uint16_t port;
    enum mode mode;
    unsigned batch;
    pthread_t tid;
    atomic_int stop;
    atomic_uint accepted, requests;
    atomic_uint max_batch; /* most responses written at once */
};

struct sconn {
    int fd;
    char buf[4096];
    size_t n;
    unsigned pending; /* M_PIPELINE: requests not answered yet */
    unsigned answered;
};

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* M_PIPELINE: every waiting request answered in one write. */
static bool answer_pending(struct server *s, struct sconn *c)
{
    char out[16 * sizeof(RESP_CHUNKED)];
    size_t n = 0;
    unsigned k = c->pending;
    for (; c->pending; c->pending--, c->answered++) {
        const char *r = c->answered % 2 ? RESP_CHUNKED : RESP_LENGTH;
        size_t len = c->answered % 2 ? LEN(RESP_CHUNKED) : LEN(RESP_LENGTH);
        memcpy(out + n, r, len);
        n += len;
    }
    if (k > atomic_load(&s->max_batch))
        atomic_store(&s->max_batch, k);
    return send_all(c->fd, out, n);
}

/* One complete request arrived on c: false when c is done (closed). */
static bool on_request(struct server *s, struct sconn *c)
{
    atomic_fetch_add(&s->requests, 1);
    switch (s->mode) {
    case M_LENGTH: return send_all(c->fd, RESP_LENGTH, LEN(RESP_LENGTH));
    case M_CHUNKED: return send_all(c->fd, RESP_CHUNKED, LEN(RESP_CHUNKED));
    case M_PIPELINE:
        if (++c->pending < s->batch)
            return true;
        return answer_pending(s, c);
    case M_CLOSE: send_all(c->fd, RESP_CLOSE, LEN(RESP_CLOSE)); return false;
    case M_RESET: {
        struct linger l = { 1, 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        return false;
    }
    case M_TRUNCATED: send_all(c->fd, RESP_TRUNCATED, LEN(RESP_TRUNCATED)); return false;
    case M_EOF: return false;
    case M_GARBAGE: return send_all(c->fd, RESP_GARBAGE, LEN(RESP_GARBAGE));
    case M_EXTRA: {
        char two[2 * LEN(RESP_LENGTH)];
        memcpy(two, RESP_LENGTH, LEN(RESP_LENGTH));
        memcpy(two + LEN(RESP_LENGTH), RESP_LENGTH, LEN(RESP_LENGTH));
        return send_all(c->fd, two, sizeof(two));
    }
    }
    return false;
}

/* Bytes arrived on c: the complete requests (GETs: no body) are answered. */
static bool on_readable(struct server *s, struct sconn *c)
{
    ssize_t k = recv(c->fd, c->buf + c->n, sizeof(c->buf) - c->n, 0);
    if (k <= 0)
        return false;
    c->n += (size_t)k;
    char *end;
    while ((end = memmem(c->buf, c->n, "\r\n\r\n", 4)) != NULL) {
        size_t used = (size_t)(end - c->buf) + 4;
        memmove(c->buf, c->buf + used, c->n - used);
        c->n -= used;
        if (!on_request(s, c))
            return false;
    }
    return c->n < sizeof(c->buf);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    struct sconn *cs = calloc(MAXC, sizeof(*cs));
    unsigned nc = 0;
    int64_t deadline = clock_mono_ms() + DEADLINE_MS;
    while (cs && !atomic_load(&s->stop) && clock_mono_ms() < deadline) {
        struct pollfd pf[1 + MAXC] = { { .fd = s->lfd, .events = POLLIN } };
        for (unsigned i = 0; i < nc; i++)
            pf[1 + i] = (struct pollfd){ .fd = cs[i].fd, .events = POLLIN };
        int n = poll(pf, 1 + nc, 10);
        if (n == 0) {
            /* a batch that will not fill: answer what waits */
            for (unsigned i = 0; i < nc; i++)
                if (cs[i].pending)
                    answer_pending(s, &cs[i]);
            continue;
        }
        for (unsigned i = nc; i-- > 0;) {
            if (!pf[1 + i].revents || on_readable(s, &cs[i]))
                continue;
            close(cs[i].fd);
            cs[i] = cs[--nc];
        }
        if (pf[0].revents & POLLIN) {
            int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && nc < MAXC) {
                memset(&cs[nc], 0, sizeof(cs[nc]));
                cs[nc++].fd = fd;
                atomic_fetch_add(&s->accepted, 1);
            } else if (fd >= 0) {
                close(fd);
            }
        }
    }
    for (unsigned i = 0; i < nc; i++)
        close(cs[i].fd);
    free(cs);
    return NULL;
}

/* A listening socket on 127.0.0.1 and an ephemeral port. */
static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 64), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(struct server *s, enum mode mode, unsigned batch)
{
    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->batch = batch ? batch : 1;
    s->lfd = listen_loopback(&s->port);
    assert_int_equal(pthread_create(&s->tid, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->tid, NULL);
    close(s->lfd);
}

/* ---- one worker, set up as load_run() sets up each of its threads */

struct rig {
    struct load_request req;
    struct load_config cfg;
    struct origin origin;
    size_t reqs[1], all[1];
    unsigned req_origin[1], req_group[1];
    int origin_group[1];
    struct engine eng;
    struct worker w;
};

struct plan {
    unsigned connections, pipeline;
    uint64_t n;        /* -n: measured requests */
    bool no_keepalive; /* --no-keepalive */
};

static void rig_run(struct rig *g, uint16_t port, const struct plan *pl)
{
    struct pk_err e = { 0 };
    memset(g, 0, sizeof(*g));
    char text[64];
    snprintf(text, sizeof(text), "http://127.0.0.1:%u/", (unsigned)port);
    struct url u;
    assert_int_equal(url_parse(text, "url", &u, &e), 0);
    assert_int_equal(request_build(&g->req, "GET", &u, NULL, 0, NULL, 0, !pl->no_keepalive, "test", &e), 0);

    struct load_config *cfg = &g->cfg;
    load_config_init(cfg);
    cfg->connections = pl->connections;
    cfg->pipeline = pl->pipeline;
    cfg->max_requests = pl->n;
    cfg->keepalive = !pl->no_keepalive;
    cfg->end_ns = DEADLINE_MS * NS_PER_MS;
    cfg->requests = &g->req;
    cfg->nrequests = 1;
    assert_int_equal(schedule_plan_init(&cfg->plan, pl->connections, "-c", &e), 0);

    struct sockaddr_in *a = (struct sockaddr_in *)&g->origin.addr;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g->origin.addrlen = sizeof(*a);
    g->origin.url = &g->req.url;
    g->origin.weight = 1;
    g->origin.reqs = g->reqs;
    g->origin.nreqs = 1;

    struct engine *eng = &g->eng;
    eng->cfg = cfg;
    eng->origins = &g->origin;
    eng->norigins = 1;
    eng->all = g->all;
    eng->req_origin = g->req_origin;
    eng->req_group = g->req_group; /* one name: no breakdown kept */
    eng->origin_group = g->origin_group;
    eng->ngroups = 1;
    eng->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(eng->stopfd >= 0);
    pthread_mutex_init(&eng->mu, NULL);
    /* measured from the first request on */
    eng->t0 = clock_mono_ns() - 1000;
    eng->measure_start = eng->t0;
    eng->end_abs = eng->t0 + cfg->end_ns;
    eng->k_limit = UINT64_MAX;

    g->w.epfd = -1;
    assert_int_equal(worker_setup(eng, &g->w, 0, &e), 0);
    worker_main(&g->w);
    assert_int_equal(g->w.rc, 0);
}

static void rig_destroy(struct rig *g)
{
    worker_destroy(&g->w, 1);
    for (size_t s = 0; s < g->eng.nslots; s++)
        if (g->eng.slots[s].used)
            hist_destroy(&g->eng.slots[s].hist);
    free(g->eng.slots);
    close(g->eng.stopfd);
    pthread_mutex_destroy(&g->eng.mu);
    request_destroy(&g->req);
}

static uint64_t errs(const struct load_result *r, enum load_phase ph, const char *name)
{
    for (size_t i = 0; i < r->nerrs; i++)
        if (r->errs[i].phase == ph && strcmp(r->errs[i].name, name) == 0)
            return r->errs[i].count;
    return 0;
}

/* What every run must show: the per-second slots add up to the totals,
 * each response has a latency, nothing is left in flight. */
static void check_consistent(const struct rig *g)
{
    const struct load_result *r = &g->w.r;
    uint64_t req = 0, err = 0, in = 0, out = 0;
    int64_t lat = 0;
    for (size_t s = 0; s < g->eng.nslots; s++) {
        const struct slot *sl = &g->eng.slots[s];
        req += sl->requests;
        err += sl->errors;
        in += sl->bytes_in;
        out += sl->bytes_out;
        if (sl->used)
            lat += hist_total(&sl->hist);
    }
    assert_int_equal(req, r->requests);
    assert_int_equal(err, r->errors);
    assert_int_equal(in, r->bytes_in);
    assert_int_equal(out, r->bytes_out);
    assert_int_equal(lat, (int64_t)r->requests);
    assert_int_equal(hist_total(&r->latency), (int64_t)r->requests);
    assert_int_equal(hist_total(&r->latency_uncorrected), (int64_t)r->requests);
    assert_int_equal(hist_total(&r->connect), (int64_t)r->connects);
    assert_int_equal(r->unfinished, 0);
    assert_int_equal(g->w.inflight_total, 0);
    uint64_t transport = 0;
    for (size_t i = 0; i < r->nerrs; i++)
        transport += r->errs[i].count;
    assert_int_equal(r->errors, transport + r->status_errors);
}

/* A run where every request failed the same way. */
static void check_all_failed(const struct rig *g, uint64_t n, enum load_phase ph, const char *name)
{
    const struct load_result *r = &g->w.r;
    check_consistent(g);
    assert_int_equal(r->requests, 0);
    assert_int_equal(r->bytes_in, 0);
    assert_int_equal(r->errors, n);
    assert_int_equal(errs(r, ph, name), n);
}

/* ---- the tests */

static void keepalive_length(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, M_LENGTH, 0);
    struct rig *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    rig_run(g, s.port, &(struct plan){ .connections = 2, .pipeline = 1, .n = 40 });
    server_stop(&s);
    const struct load_result *r = &g->w.r;
    check_consistent(g);
    assert_int_equal(r->requests, 40);
    assert_int_equal(r->status[200], 40);
    assert_int_equal(r->errors, 0);
    assert_int_equal(r->bytes_in, 40 * LEN(RESP_LENGTH));
    assert_int_equal(r->bytes_out, 40 * g->req.len);
    assert_int_equal(r->connects, 2);
    assert_int_equal(atomic_load(&s.accepted), 2);
    assert_int_equal(atomic_load(&s.requests), 40);
    rig_destroy(g);
    free(g);
}

static void chunked(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, M_CHUNKED, 0);
    struct rig *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    rig_run(g, s.port, &(struct plan){ .connections = 1, .pipeline = 1, .n = 20 });
    server_stop(&s);
    const struct load_result *r = &g->w.r;
    check_consistent(g);
    assert_int_equal(r->requests, 20);
    assert_int_equal(r->status[200], 20);
    assert_int_equal(r->errors, 0);
    assert_int_equal(r->bytes_in, 20 * LEN(RESP_CHUNKED));
    assert_int_equal(r->connects, 1);
    rig_destroy(g);
    free(g);
}

/* Four requests in flight on one connection, answered four at a time in
 * one write: responses with a length and chunked ones in one read. */
static void pipelined(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, M_PIPELINE, 4);
    struct rig *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    rig_run(g, s.port, &(struct plan){ .connections = 1, .pipeline = 4, .n = 40 });
    server_stop(&s);
    const struct load_result *r = &g->w.r;
    check_consistent(g);
    assert_int_equal(r->requests, 40);
    assert_int_equal(r->status[200], 40);
    assert_int_equal(r->errors, 0);
    assert_int_equal(r->bytes_in, 20 * (LEN(RESP_LENGTH) + LEN(RESP_CHUNKED)));
    assert_int_equal(r->bytes_out, 40 * g->req.len);
    assert_int_equal(r->connects, 1);
    assert_int_equal(atomic_load(&s.requests), 40);
    /* the requests did travel together */
    assert_true(atomic_load(&s.max_batch) >= 2);
    rig_destroy(g);
    free(g);
}

/* "Connection: close" on every response: one connection per request. */
static void connection_close(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, M_CLOSE, 0);
    struct rig *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    rig_run(g, s.port, &(struct plan){ .connections = 1, .pipeline = 1, .n = 10 });
    server_stop(&s);
    const struct load_result *r = &g->w.r;
    check_consistent(g);
    assert_int_equal(r->requests, 10);
    assert_int_equal(r->errors, 0);
    assert_int_equal(r->bytes_in, 10 * LEN(RESP_CLOSE));
    assert_int_equal(r->connects, 10);
    assert_int_equal(atomic_load(&s.accepted), 10);
    rig_destroy(g);
    free(g);
}

/* --no-keepalive against a server that ignores "Connection: close" and
 * keeps every connection open: the client closes after each response
 * itself, so the server sees one connection per request. */
static void no_keepalive_closes(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, M_LENGTH, 0);
    struct rig *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    rig_run(g, s.port, &(struct plan){ .connections = 1, .pipeline = 1, .n = 25, .no_keepalive = true });
    server_stop(&s);
    const struct load_result *r = &g->w.r;
    check_consistent(g);
    assert_int_equal(r->requests, 25);
    assert_int_equal(r->errors, 0);
    assert_int_equal(r->connects, 25);
    assert_int_equal(atomic_load(&s.accepted), 25);
    assert_int_equal(atomic_load(&s.requests), 25);
    rig_destroy(g);
    free(g);
}

/* A second response nobody asked for: an error of its own each time, and
 * the connection opened again; the asked-for response still counts. */
static void unsolicited_response(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, M_EXTRA, 0);
    struct rig *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    rig_run(g, s.port, &(struct plan){ .connections = 1, .pipeline = 1, .n = 10 });
    server_stop(&s);
    const struct load_result *r = &g->w.r;
    check_consistent(g);
    assert_int_equal(r->requests, 10);
    assert_int_equal(r->status[200], 10);
    assert_int_equal(r->errors, 10);
    assert_int_equal(errs(r, LOAD_PHASE_PARSE, "unsolicited_data"), 10);
    assert_int_equal(r->connects, 10);
    assert_int_equal(atomic_load(&s.accepted), 10);
    rig_destroy(g);
    free(g);
}

static void fails_with(enum mode mode, enum load_phase ph, const char *name)
{
    struct server s;
    server_start(&s, mode, 0);
    struct rig *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    rig_run(g, s.port, &(struct plan){ .connections = 1, .pipeline = 1, .n = 5 });
    server_stop(&s);
    check_all_failed(g, 5, ph, name);
    /* each failure reconnected for the next request */
    assert_int_equal(g->w.r.connects, 5);
    assert_int_equal(atomic_load(&s.requests), 5);
    rig_destroy(g);
    free(g);
}

static void reset(void **state)
{
    (void)state;
    fails_with(M_RESET, LOAD_PHASE_READ, "ECONNRESET");
}

static void truncated_body(void **state)
{
    (void)state;
    fails_with(M_TRUNCATED, LOAD_PHASE_READ, "eof_in_body");
}

static void closed_before_response(void **state)
{
    (void)state;
    fails_with(M_EOF, LOAD_PHASE_READ, "eof");
}

static void not_http(void **state)
{
    (void)state;
    fails_with(M_GARBAGE, LOAD_PHASE_PARSE, "bad_status");
}

/* Nothing listens: each request's connection is refused (and backs off). */
static void refused(void **state)
{
    (void)state;
    uint16_t port;
    int fd = listen_loopback(&port);
    close(fd);
    struct rig *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    rig_run(g, port, &(struct plan){ .connections = 1, .pipeline = 1, .n = 3 });
    check_all_failed(g, 3, LOAD_PHASE_CONNECT, "ECONNREFUSED");
    assert_int_equal(g->w.r.connects, 0);
    rig_destroy(g);
    free(g);
}

int main(void)
{
    /* load_run()'s threads block every signal, so a write to a reset peer
     * fails with EPIPE; here the worker runs on the test's own thread */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keepalive_length),
        cmocka_unit_test(chunked),
        cmocka_unit_test(pipelined),
        cmocka_unit_test(connection_close),
        cmocka_unit_test(no_keepalive_closes),
        cmocka_unit_test(unsolicited_response),
        cmocka_unit_test(reset),
        cmocka_unit_test(truncated_body),
        cmocka_unit_test(closed_before_response),
        cmocka_unit_test(not_http),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
