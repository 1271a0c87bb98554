/* conn - one connection of a load worker (see load/worker.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/check.h"
#include "load/worker.h"

/* c's registered epoll mask becomes ev (not 0: close() unregisters);
 * 0 or -errno. */
static int set_events(struct worker *w, struct conn *c, uint32_t ev)
{
    PK_ASSERT(ev != 0 && c->fd >= 0);
    if (c->events == ev)
        return 0;
    struct epoll_event e = { .events = ev, .data.ptr = c };
    if (epoll_ctl(w->epfd, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &e) != 0)
        return -errno;
    c->events = ev;
    return 0;
}

/* set_events(); a connection the loop cannot wait on fails in phase ph.
 * 0, or -1 when c failed (handled: the caller leaves c alone). */
static int watch(struct worker *w, struct conn *c, uint32_t ev, enum load_phase ph)
{
    int rc = set_events(w, c, ev);
    if (__builtin_expect(rc == 0, 1))
        return 0;
    conn_fail(w, c, ph, transport_errno_name(-rc), clock_mono_ns());
    return -1;
}

void conn_close(struct worker *w, struct conn *c)
{
    /* the requests it carried were answered, failed or counted first */
    PK_ASSERT(c->qn == 0);
    /* closing the socket takes it out of the epoll set: no EPOLL_CTL_DEL */
    if (c->fd >= 0)
        close(c->fd);
    c->tr->close(w, c);
    c->fd = -1;
    c->events = 0;
    c->state = C_CLOSED;
    c->qn = 0;
    c->nw = 0;
    c->woff = 0;
    http1_reset(&c->parser);
}

/* Every request in flight on c failed with (phase, name). */
void conn_fail_inflight(struct worker *w, struct conn *c, enum load_phase ph, const char *name, uint64_t now)
{
    PK_ASSERT(w->inflight_total >= c->qn);
    for (unsigned i = 0; i < c->qn; i++) {
        struct inflight *f = &c->q[(c->qhead + i) % w->eng->cfg->pipeline];
        worker_count_error(w, f->measured, ph, name, (int)w->eng->req_group[f->req], now);
        w->inflight_total--;
    }
    c->qn = 0;
    c->nw = 0;
    c->woff = 0;
}

/* The connection broke: its requests fail, it reconnects (or waits). */
void conn_fail(struct worker *w, struct conn *c, enum load_phase ph, const char *name, uint64_t now)
{
    bool connecting = c->state == C_CONNECTING || c->state == C_TLS;
    if (connecting && c->qn == 0) {
        /* the request the connection was opened for; in the closed model
         * only while -n leaves one to issue (-c 50 -n 1 attempts one) */
        bool measured = w->eng->cfg->open_model ? false : worker_measured(w, now) && w->issued < w->quota;
        /* closed model: the request is chosen once the connection is open */
        int group = w->eng->origin_group[c->origin];
        if (w->eng->cfg->open_model) {
            struct pqueue *pq = &w->pend[c->origin];
            if (pq->n) {
                struct pending p = worker_pq_pop(pq);
                measured = p.k > w->eng->warmup_count;
                group = (int)w->eng->req_group[p.req];
            }
        }
        worker_count_error(w, measured, ph, name, group, now);
        if (!w->eng->cfg->open_model && measured)
            w->issued++; /* so -n ends even when nothing can connect */
    }
    conn_fail_inflight(w, c, ph, name, now);
    conn_close(w, c);
    conn_retry(w, c, now, connecting);
}

void conn_retry(struct worker *w, struct conn *c, uint64_t now, bool failed_connect)
{
    /* closed model: a connection with no request left to send stays closed */
    if (!w->eng->cfg->open_model && !closed_may_issue(w, c))
        return;
    if (failed_connect) {
        c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_MIN_NS;
        if (c->backoff > BACKOFF_MAX_NS)
            c->backoff = BACKOFF_MAX_NS;
        worker_heap_push(w, c, now + c->backoff);
        return;
    }
    conn_connect(w, c, now);
}

static void conn_open_done(struct worker *w, struct conn *c, uint64_t now)
{
    /* registered while still connecting, so a failure backs off as a connect's */
    if (watch(w, c, EPOLLIN, c->state == C_TLS ? LOAD_PHASE_TLS : LOAD_PHASE_CONNECT))
        return;
    c->state = C_OPEN;
    c->backoff = 0;
    if (worker_measured(w, now)) {
        w->r.connects++;
        uint64_t us = (now - c->connect_start) / NS_PER_US;
        hist_record(&w->r.connect, (int64_t)us);
    }
    conn_fill(w, c, now);
}

static void handshake_step(struct worker *w, struct conn *c, uint64_t now)
{
    struct transport_err err;
    int rc = c->tr->handshake(w, c, &err);
    if (rc == 0)
        conn_open_done(w, c, now);
    else if (rc == TRANSPORT_WANT_READ)
        watch(w, c, EPOLLIN, LOAD_PHASE_TLS);
    else if (rc == TRANSPORT_WANT_WRITE)
        watch(w, c, EPOLLOUT, LOAD_PHASE_TLS);
    else
        conn_fail(w, c, LOAD_PHASE_TLS, err.name, now);
}

static void tcp_connected(struct worker *w, struct conn *c, uint64_t now)
{
    struct transport_err err;
    int rc = c->tr->start(w, c, &err);
    if (rc == 0) {
        conn_open_done(w, c, now);
        return;
    }
    if (rc < 0) {
        conn_fail(w, c, LOAD_PHASE_TLS, err.name, now);
        return;
    }
    c->state = C_TLS;
    handshake_step(w, c, now);
}

void conn_connect(struct worker *w, struct conn *c, uint64_t now)
{
    const struct origin *o = &w->eng->origins[c->origin];
    c->connect_start = now;
    /* closed model: a request that needs a connection waits for it */
    if (!w->eng->cfg->open_model && !c->ready_since)
        c->ready_since = now;
    c->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->state = C_CONNECTING;
        conn_fail(w, c, LOAD_PHASE_CONNECT, transport_errno_name(errno), now);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->state = C_CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addrlen) == 0) {
        tcp_connected(w, c, now);
        return;
    }
    if (errno != EINPROGRESS) {
        conn_fail(w, c, LOAD_PHASE_CONNECT, transport_errno_name(errno), now);
        return;
    }
    watch(w, c, EPOLLOUT, LOAD_PHASE_CONNECT);
}

struct inflight *conn_at(struct worker *w, struct conn *c, unsigned i)
{
    /* the ring holds cfg->pipeline entries: i reaches qn only to append */
    PK_ASSERT(i <= c->qn && c->qn <= w->eng->cfg->pipeline && i < w->eng->cfg->pipeline);
    return &c->q[(c->qhead + i) % w->eng->cfg->pipeline];
}

/* Writes what is unwritten; 0, or -1 when the connection failed (handled). */
static int conn_flush(struct worker *w, struct conn *c, uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
    const int iov_max = c->tr->iov_max;
    PK_ASSERT(c->nw <= c->qn && iov_max >= 1 && iov_max <= IOV_BATCH);
    while (c->nw) {
        unsigned first = c->qn - c->nw;
        struct iovec iov[IOV_BATCH];
        int niov = 0;
        for (unsigned i = first; i < c->qn && niov < iov_max; i++) {
            const struct load_request *rq = &cfg->requests[conn_at(w, c, i)->req];
            size_t off = i == first ? c->woff : 0;
            iov[niov].iov_base = rq->bytes + off;
            iov[niov].iov_len = rq->len - off;
            niov++;
        }
        struct transport_err err;
        ssize_t n = c->tr->writev(w, c, iov, niov, &err);
        if (n < 0) {
            if (n == TRANSPORT_AGAIN)
                return watch(w, c, EPOLLIN | EPOLLOUT, LOAD_PHASE_WRITE);
            conn_fail(w, c, LOAD_PHASE_WRITE, err.name, now);
            return -1;
        }
        size_t left = (size_t)n;
        while (left && c->nw) {
            struct inflight *f = conn_at(w, c, c->qn - c->nw);
            size_t need = cfg->requests[f->req].len - c->woff;
            size_t take = left < need ? left : need;
            if (f->measured)
                w->r.bytes_out += take, w->iout += take;
            left -= take;
            c->woff += take;
            if (take == need) {
                c->woff = 0;
                c->nw--;
            }
        }
    }
    if (c->events & EPOLLOUT)
        return watch(w, c, EPOLLIN, LOAD_PHASE_WRITE);
    return 0;
}

/* Queue one request on c (the caller flushes). */
static void conn_push(struct worker *w, struct conn *c, uint32_t req, uint64_t intended, uint64_t k,
                      bool measured, uint64_t now)
{
    PK_ASSERT(c->qn < w->eng->cfg->pipeline);
    struct inflight *f = conn_at(w, c, c->qn);
    f->intended = intended;
    f->written = now;
    f->k = k;
    f->req = req;
    f->measured = measured;
    c->qn++;
    c->nw++;
    w->inflight_total++;
    if (w->eng->cfg->open_model && measured) {
        w->r.sends++;
        uint64_t late = now > intended ? now - intended : 0;
        if (late > SCHEDULE_LATE_NS)
            w->r.late_sends++;
        if ((int64_t)(late / NS_PER_US) > w->r.lateness_max_us)
            w->r.lateness_max_us = (int64_t)(late / NS_PER_US);
    }
}

/* Gives c work: closed model, up to the pipeline depth (or a think wait);
 * open model, due requests of its origin, else it waits in the idle list. */
void conn_fill(struct worker *w, struct conn *c, uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
    if (c->state != C_OPEN)
        return;
    PK_ASSERT(c->qn <= cfg->pipeline);
    unsigned room = cfg->pipeline - c->qn;
    if (cfg->open_model) {
        struct pqueue *pq = &w->pend[c->origin];
        while (room && pq->n) {
            struct pending p = worker_pq_pop(pq);
            conn_push(w, c, p.req, p.intended, p.k, p.k > w->eng->warmup_count, now);
            room--;
        }
        if (c->qn < cfg->pipeline)
            worker_idle_add(w, c);
    } else {
        while (room && closed_may_issue(w, c)) {
            if (cfg->think != SCENARIO_THINK_NONE && c->want_send == false)
                break;
            const struct origin *o = &w->eng->origins[c->origin];
            uint32_t req = worker_pick(w, o->reqs, o->nreqs);
            uint64_t intended = c->ready_since ? c->ready_since : now;
            bool measured = now > w->eng->measure_start;
            if (measured)
                w->issued++;
            conn_push(w, c, req, intended, 0, measured, now);
            c->ready_since = 0;
            c->want_send = false;
            room--;
        }
    }
    if (c->nw)
        conn_flush(w, c, now);
}

static void record_response(struct worker *w, struct conn *c, const struct http1_response *resp, uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
    PK_ASSERT(c->qn > 0 && c->nw <= c->qn && w->inflight_total > 0);
    struct inflight *f = conn_at(w, c, 0);
    if (c->nw == c->qn) {
        /* answered before it was fully sent (e.g. 413): stop sending it */
        c->nw--;
        c->woff = 0;
    }
    c->qhead = (c->qhead + 1) % cfg->pipeline;
    c->qn--;
    w->inflight_total--;
    if (!f->measured || now > w->eng->end_abs)
        return;
    struct schedule_sample s;
    schedule_account(f->intended, f->written, now, &s);
    int64_t us = (int64_t)(s.corrected_ns / NS_PER_US);
    hist_record(&w->r.latency, us);
    hist_record(&w->ihist, us);
    hist_record(&w->r.latency_uncorrected, (int64_t)(s.uncorrected_ns / NS_PER_US));
    w->r.requests++;
    w->ireq++;
    if (resp->status < RESULT_STATUS_MAX)
        w->r.status[resp->status]++;
    if (resp->status >= 400) {
        w->r.errors++;
        w->r.status_errors++;
        w->ierr++;
    }
    w->r.bytes_in += resp->total_bytes;
    w->iin += resp->total_bytes;
    w->last_done = now;
    if (w->breakdown)
        breakdown_response(w, f->req, resp->status, us, now);
}

static void conn_after_response(struct worker *w, struct conn *c, bool close_it, uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
    if (close_it) {
        /* requests pipelined behind a "Connection: close" are lost with it */
        conn_fail_inflight(w, c, LOAD_PHASE_READ, RESULT_ERR_CLOSED_BY_SERVER, now);
        conn_close(w, c);
        if (cfg->open_model || closed_may_issue(w, c)) {
            if (!cfg->open_model && cfg->think != SCENARIO_THINK_NONE) {
                worker_think(w, c, now); /* the wake reconnects */
                return;
            }
            conn_connect(w, c, now);
        }
        return;
    }
    if (!cfg->open_model && cfg->think != SCENARIO_THINK_NONE && c->qn == 0 && closed_may_issue(w, c))
        return;
    conn_fill(w, c, now);
}

/* Bytes arrived with no request outstanding (a second response to one
 * request, say): an error of its own, counted once, though no request
 * failed; the connection cannot be trusted and is opened again. */
static void conn_unsolicited(struct worker *w, struct conn *c, uint64_t now)
{
    worker_count_error(w, worker_measured(w, now), LOAD_PHASE_PARSE, RESULT_ERR_UNSOLICITED, -1, now);
    conn_fail(w, c, LOAD_PHASE_PARSE, RESULT_ERR_UNSOLICITED, now);
}

static void conn_readable(struct worker *w, struct conn *c)
{
    const struct load_config *cfg = w->eng->cfg;
    for (;;) {
        bool more = false;
        struct transport_err err;
        ssize_t n = c->tr->read(w, c, w->rbuf, READ_BUF, &more, &err);
        if (n < 0) {
            if (n == TRANSPORT_WANT_WRITE)
                watch(w, c, EPOLLIN | EPOLLOUT, LOAD_PHASE_READ);
            else if (n != TRANSPORT_AGAIN)
                conn_fail(w, c, LOAD_PHASE_READ, err.name, clock_mono_ns());
            return;
        }
        uint64_t now = clock_mono_ns();
        if (n == 0) {
            struct http1_response resp;
            int rc = c->qn ? http1_finish(&c->parser, &resp) : 0;
            if (rc == 1) {
                record_response(w, c, &resp, now);
                conn_after_response(w, c, true, now);
            } else if (c->qn == 0) {
                /* the server closed an idle connection (keep-alive timeout) */
                conn_close(w, c);
                if (cfg->open_model || (closed_may_issue(w, c) && !c->in_heap))
                    conn_connect(w, c, now);
            } else {
                const char *name = rc == 0 ? RESULT_ERR_EOF : http1_error_name(http1_error(&c->parser));
                conn_fail(w, c, LOAD_PHASE_READ, name, now);
            }
            return;
        }
        if (c->qn == 0) {
            conn_unsolicited(w, c, now);
            return;
        }
        size_t off = 0;
        bool done_any = false, close_it = false;
        while (off < (size_t)n && c->qn) {
            struct http1_response resp;
            size_t used = 0;
            unsigned flags = cfg->requests[conn_at(w, c, 0)->req].head ? HTTP1_HEAD : 0;
            int rc = http1_parse(&c->parser, w->rbuf + off, (size_t)n - off, flags, &used, &resp);
            if (rc < 0) {
                conn_fail(w, c, LOAD_PHASE_PARSE, http1_error_name(http1_error(&c->parser)), now);
                return;
            }
            off += used;
            if (rc == 0)
                break;
            record_response(w, c, &resp, now);
            done_any = true;
            /* "Connection: close" was sent: the client closes after the
             * response (RFC 9112 9.6), whatever the server said */
            if (resp.close || !cfg->keepalive) {
                close_it = true;
                break;
            }
        }
        if (!close_it && off < (size_t)n) {
            /* the loop stops early only once nothing is outstanding */
            PK_ASSERT(c->qn == 0);
            conn_unsolicited(w, c, now);
            return;
        }
        if (done_any) {
            if (close_it || c->qn || cfg->open_model || cfg->think == SCENARIO_THINK_NONE ||
                !closed_may_issue(w, c)) {
                conn_after_response(w, c, close_it, now);
            } else {
                worker_think(w, c, now);
            }
            if (c->state != C_OPEN)
                return;
        }
        if (!more)
            return;
    }
}

void conn_event(struct worker *w, struct conn *c, uint32_t ev)
{
    uint64_t now;
    switch (c->state) {
    case C_CONNECTING: {
        now = clock_mono_ns();
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            conn_fail(w, c, LOAD_PHASE_CONNECT, transport_errno_name(err), now);
            return;
        }
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        tcp_connected(w, c, now);
        return;
    }
    case C_TLS: handshake_step(w, c, clock_mono_ns()); return;
    case C_OPEN:
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
            conn_readable(w, c);
        if (c->state == C_OPEN && (ev & EPOLLOUT) && c->nw)
            conn_flush(w, c, clock_mono_ns());
        else if (c->state == C_OPEN && (ev & EPOLLOUT) && !c->nw)
            watch(w, c, EPOLLIN, LOAD_PHASE_WRITE);
        return;
    default: return;
    }
}
