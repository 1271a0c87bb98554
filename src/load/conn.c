/* conn - one connection of a load worker (see load/worker.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>


#include "load/worker.h"

static const char *errno_name(int err)
{
    const char *n = strerrorname_np(err);
    return n ? n : "EUNKNOWN";
}

static void set_events(struct worker *w, struct conn *c, uint32_t ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = { .events = ev, .data.ptr = c };
    int op = c->events == 0 ? EPOLL_CTL_ADD : (ev == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    epoll_ctl(w->epfd, op, c->fd, &e);
    c->events = ev;
}

void conn_close(struct worker *w, struct conn *c)
{
    const struct tlsapi *T = w->eng->tls;
    if (c->fd >= 0) {
        if (c->events)
            set_events(w, c, 0);
        close(c->fd);
    }
    if (c->ssl) {
        /* kept for resumption: a reconnect (--no-keepalive, a server's close)
         * then costs an abbreviated handshake, as in a browser */
        SSL_SESSION *s = T->SSL_get1_session(c->ssl);
        if (s && T->SSL_SESSION_is_resumable(s)) {
            if (c->session)
                T->SSL_SESSION_free(c->session);
            c->session = s;
        } else if (s) {
            T->SSL_SESSION_free(s);
        }
        T->SSL_free(c->ssl);
        c->ssl = NULL;
    }
    c->fd = -1;
    c->state = C_CLOSED;
    c->qn = 0;
    c->nw = 0;
    c->woff = 0;
    http1_reset(&c->parser);
}

/* Every request in flight on c failed with (phase, name). */
void conn_fail_inflight(struct worker *w, struct conn *c, enum load_phase ph, const char *name)
{
    for (unsigned i = 0; i < c->qn; i++) {
        struct inflight *f = &c->q[(c->qhead + i) % w->eng->cfg->pipeline];
        worker_count_error(w, f->measured, ph, name);
        w->inflight_total--;
    }
    c->qn = 0;
}

/* The connection broke: its requests fail, it reconnects (or waits). */
void conn_fail(struct worker *w, struct conn *c, enum load_phase ph, const char *name,
                      uint64_t now)
{
    bool connecting = c->state == C_CONNECTING || c->state == C_TLS;
    if (connecting && c->qn == 0) {
        /* the request the connection was opened for */
        bool measured = w->eng->cfg->open_model ? false : worker_measured(w, now);
        if (w->eng->cfg->open_model) {
            struct pqueue *pq = &w->pend[c->origin];
            if (pq->n) {
                struct pending p = worker_pq_pop(pq);
                measured = p.k > w->eng->warmup_count;
            }
        }
        worker_count_error(w, measured, ph, name);
        if (!w->eng->cfg->open_model && measured && w->issued < w->quota)
            w->issued++; /* so -n ends even when nothing can connect */
    }
    conn_fail_inflight(w, c, ph, name);
    conn_close(w, c);
    conn_retry(w, c, now, connecting);
}

void conn_retry(struct worker *w, struct conn *c, uint64_t now, bool failed_connect)
{
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
    c->state = C_OPEN;
    c->backoff = 0;
    if (worker_measured(w, now)) {
        w->r.connects++;
        uint64_t us = (now - c->connect_start) / NS_PER_US;
        hist_record(&w->r.connect, (int64_t)us);
    }
    set_events(w, c, EPOLLIN);
    conn_fill(w, c, now);
}

static const char *tls_error_name(const struct tlsapi *T, SSL *ssl, char *buf, size_t cap)
{
    long vr = T->SSL_get_verify_result(ssl);
    unsigned long e = T->ERR_peek_last_error();
    if (vr != X509_V_OK)
        snprintf(buf, cap, "%s", T->X509_verify_cert_error_string(vr));
    else if (e && T->ERR_reason_error_string(e))
        snprintf(buf, cap, "%s", T->ERR_reason_error_string(e));
    else
        snprintf(buf, cap, "handshake failed");
    T->ERR_clear_error();
    return buf;
}

static void tls_step(struct worker *w, struct conn *c, uint64_t now)
{
    const struct tlsapi *T = w->eng->tls;
    T->ERR_clear_error();
    int rc = T->SSL_connect(c->ssl);
    if (rc == 1) {
        conn_open_done(w, c, now);
        return;
    }
    int err = T->SSL_get_error(c->ssl, rc);
    if (err == SSL_ERROR_WANT_READ) {
        set_events(w, c, EPOLLIN);
        return;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
        set_events(w, c, EPOLLOUT);
        return;
    }
    char name[RESULT_ERROR_NAME_MAX + 1];
    if (err == SSL_ERROR_SYSCALL && errno)
        snprintf(name, sizeof(name), "%s", errno_name(errno));
    else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
        snprintf(name, sizeof(name), "closed during handshake");
    else
        tls_error_name(T, c->ssl, name, sizeof(name));
    conn_fail(w, c, LOAD_PHASE_TLS, name, now);
}

static void tcp_connected(struct worker *w, struct conn *c, uint64_t now)
{
    const struct tlsapi *T = w->eng->tls;
    const struct origin *o = &w->eng->origins[c->origin];
    if (!o->https) {
        conn_open_done(w, c, now);
        return;
    }
    c->ssl = T->SSL_new(w->eng->ssl_ctx);
    if (!c->ssl) {
        conn_fail(w, c, LOAD_PHASE_TLS, "ENOMEM", now);
        return;
    }
    T->SSL_set_fd(c->ssl, c->fd);
    T->SSL_ctrl(c->ssl, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, NULL);
    if (!o->url->ipv6 && inet_addr(o->url->host) == INADDR_NONE)
        T->SSL_ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)o->url->host);
    if (!w->eng->cfg->insecure) {
        X509_VERIFY_PARAM *vp = T->SSL_get0_param(c->ssl);
        struct in6_addr a6;
        struct in_addr a4;
        if (inet_pton(AF_INET, o->url->host, &a4) == 1 || inet_pton(AF_INET6, o->url->host, &a6) == 1)
            T->X509_VERIFY_PARAM_set1_ip_asc(vp, o->url->host);
        else
            T->X509_VERIFY_PARAM_set1_host(vp, o->url->host, 0);
    }
    if (c->session)
        T->SSL_set_session(c->ssl, c->session);
    c->state = C_TLS;
    tls_step(w, c, now);
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
        conn_fail(w, c, LOAD_PHASE_CONNECT, errno_name(errno), now);
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
        conn_fail(w, c, LOAD_PHASE_CONNECT, errno_name(errno), now);
        return;
    }
    set_events(w, c, EPOLLOUT);
}

struct inflight *conn_at(struct worker *w, struct conn *c, unsigned i)
{
    return &c->q[(c->qhead + i) % w->eng->cfg->pipeline];
}

/* Writes what is unwritten; 0, or -1 when the connection failed (handled). */
static int conn_flush(struct worker *w, struct conn *c, uint64_t now)
{
    const struct tlsapi *T = w->eng->tls;
    const struct load_config *cfg = w->eng->cfg;
    while (c->nw) {
        unsigned first = c->qn - c->nw;
        if (c->ssl) {
            struct inflight *f = conn_at(w, c, first);
            const struct load_request *rq = &cfg->requests[f->req];
            T->ERR_clear_error();
            int n = T->SSL_write(c->ssl, rq->bytes + c->woff, (int)(rq->len - c->woff));
            if (n <= 0) {
                int err = T->SSL_get_error(c->ssl, n);
                if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
                    set_events(w, c, EPOLLIN | EPOLLOUT);
                    return 0;
                }
                char name[RESULT_ERROR_NAME_MAX + 1];
                if (err == SSL_ERROR_SYSCALL && errno)
                    snprintf(name, sizeof(name), "%s", errno_name(errno));
                else
                    tls_error_name(T, c->ssl, name, sizeof(name));
                conn_fail(w, c, LOAD_PHASE_WRITE, name, now);
                return -1;
            }
            if (f->measured)
                w->r.bytes_out += (uint64_t)n, w->iout += (uint64_t)n;
            c->woff += (size_t)n;
            if (c->woff == rq->len) {
                c->woff = 0;
                c->nw--;
            }
            continue;
        }
        struct iovec iov[IOV_BATCH];
        int niov = 0;
        for (unsigned i = first; i < c->qn && niov < IOV_BATCH; i++) {
            const struct load_request *rq = &cfg->requests[conn_at(w, c, i)->req];
            size_t off = i == first ? c->woff : 0;
            iov[niov].iov_base = rq->bytes + off;
            iov[niov].iov_len = rq->len - off;
            niov++;
        }
        ssize_t n = writev(c->fd, iov, niov);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_events(w, c, EPOLLIN | EPOLLOUT);
                return 0;
            }
            if (errno == EINTR)
                continue;
            conn_fail(w, c, LOAD_PHASE_WRITE, errno_name(errno), now);
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
        set_events(w, c, EPOLLIN);
    return 0;
}

/* Queue one request on c (the caller flushes). */
static void conn_push(struct worker *w, struct conn *c, uint32_t req, uint64_t intended, uint64_t k,
                      bool measured, uint64_t now)
{
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

static void record_response(struct worker *w, struct conn *c, const struct http1_response *resp,
                            uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
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
}

static void conn_after_response(struct worker *w, struct conn *c, bool close_it, uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
    if (close_it) {
        /* requests pipelined behind a "Connection: close" are lost with it */
        conn_fail_inflight(w, c, LOAD_PHASE_READ, "closed_by_server");
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

static void conn_readable(struct worker *w, struct conn *c)
{
    const struct tlsapi *T = w->eng->tls;
    const struct load_config *cfg = w->eng->cfg;
    for (;;) {
        ssize_t n;
        if (c->ssl) {
            T->ERR_clear_error();
            int r = T->SSL_read(c->ssl, w->rbuf, READ_BUF);
            if (r <= 0) {
                int err = T->SSL_get_error(c->ssl, r);
                if (err == SSL_ERROR_WANT_READ)
                    return;
                if (err == SSL_ERROR_WANT_WRITE) {
                    set_events(w, c, EPOLLIN | EPOLLOUT);
                    return;
                }
                if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0)) {
                    n = 0;
                } else {
                    uint64_t now = clock_mono_ns();
                    char name[RESULT_ERROR_NAME_MAX + 1];
                    if (err == SSL_ERROR_SYSCALL)
                        snprintf(name, sizeof(name), "%s", errno_name(errno));
                    else
                        tls_error_name(T, c->ssl, name, sizeof(name));
                    conn_fail(w, c, LOAD_PHASE_READ, name, now);
                    return;
                }
            } else {
                n = r;
            }
        } else {
            n = read(c->fd, w->rbuf, READ_BUF);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return;
                if (errno == EINTR)
                    continue;
                conn_fail(w, c, LOAD_PHASE_READ, errno_name(errno), clock_mono_ns());
                return;
            }
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
                const char *name = rc == 0 ? "eof" : http1_error_name(http1_error(&c->parser));
                conn_fail(w, c, LOAD_PHASE_READ, name, now);
            }
            return;
        }
        if (c->qn == 0) {
            conn_fail(w, c, LOAD_PHASE_PARSE, "unsolicited_data", now);
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
            if (resp.close) {
                close_it = true;
                break;
            }
        }
        if (!close_it && off < (size_t)n) {
            conn_fail(w, c, LOAD_PHASE_PARSE, "unsolicited_data", now);
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
        if (c->ssl ? !T->SSL_has_pending(c->ssl) : (size_t)n < READ_BUF)
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
            conn_fail(w, c, LOAD_PHASE_CONNECT, errno_name(err), now);
            return;
        }
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        tcp_connected(w, c, now);
        return;
    }
    case C_TLS:
        tls_step(w, c, clock_mono_ns());
        return;
    case C_OPEN:
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
            conn_readable(w, c);
        if (c->state == C_OPEN && (ev & EPOLLOUT) && c->nw)
            conn_flush(w, c, clock_mono_ns());
        else if (c->state == C_OPEN && (ev & EPOLLOUT) && !c->nw)
            set_events(w, c, EPOLLIN);
        return;
    default:
        return;
    }
}
