/* worker - one thread of the load engine (see load/worker.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/check.h"
#include "core/err.h"
#include "core/rng.h"
#include "load/worker.h"

/* One request out of list[0..n) (indexes into cfg->requests), by weight. */
uint32_t worker_pick(struct worker *w, const size_t *list, size_t n)
{
    const struct load_config *cfg = w->eng->cfg;
    if (n == 1)
        return (uint32_t)list[0];
    if (cfg->random_pick) {
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += cfg->requests[list[i]].weight;
        uint64_t x = (uint64_t)(rng_unit(&w->rng) * (double)total);
        for (size_t i = 0; i < n; i++) {
            uint64_t wt = cfg->requests[list[i]].weight;
            if (x < wt)
                return (uint32_t)list[i];
            x -= wt;
        }
        return (uint32_t)list[n - 1];
    }
    /* Smooth weighted round-robin: every weight-sum picks hold each request
     * exactly weight times, spread evenly; equal weights are round-robin. */
    int64_t total = 0;
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t wt = cfg->requests[list[i]].weight;
        total += wt;
        w->wrr[list[i]] += wt;
        if (w->wrr[list[i]] > w->wrr[list[best]])
            best = i;
    }
    w->wrr[list[best]] -= total;
    return (uint32_t)list[best];
}

bool worker_measured(const struct worker *w, uint64_t t)
{
    return t > w->eng->measure_start && t <= w->eng->end_abs;
}

/* Open model: request k was due and will never be sent (no connection
 * within the timeout, or the run ended). */
void worker_drop(struct worker *w, uint64_t k, uint32_t req, uint64_t intended)
{
    if (k <= w->eng->warmup_count)
        return;
    w->r.dropped++;
    w->r.errors++;
    if (w->breakdown)
        breakdown_drop(w, req, intended);
}

/* A request that ended without a response. */
void worker_count_error(struct worker *w, bool measured, enum load_phase ph, const char *name, int group,
                        uint64_t now)
{
    if (!measured)
        return;
    result_error_add(&w->r, ph, name, 1);
    w->r.errors++;
    w->ierr++;
    if (w->breakdown)
        breakdown_error(w, group, now);
}

static bool heap_less(const struct worker *w, unsigned a, unsigned b)
{
    return w->conns[w->heap[a]].wake < w->conns[w->heap[b]].wake;
}

static void heap_swap(struct worker *w, unsigned a, unsigned b)
{
    unsigned t = w->heap[a];
    w->heap[a] = w->heap[b];
    w->heap[b] = t;
}

void worker_heap_push(struct worker *w, struct conn *c, uint64_t wake)
{
    if (c->in_heap)
        return;
    PK_ASSERT(w->nheap < w->nconns);
    c->wake = wake;
    c->in_heap = true;
    unsigned i = w->nheap++;
    w->heap[i] = c->idx;
    while (i > 0 && heap_less(w, i, (i - 1) / 2)) {
        heap_swap(w, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct conn *heap_pop(struct worker *w)
{
    PK_ASSERT(w->nheap > 0);
    struct conn *c = &w->conns[w->heap[0]];
    c->in_heap = false;
    w->heap[0] = w->heap[--w->nheap];
    unsigned i = 0;
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->nheap && heap_less(w, l, m))
            m = l;
        if (r < w->nheap && heap_less(w, r, m))
            m = r;
        if (m == i)
            break;
        heap_swap(w, i, m);
        i = m;
    }
    return c;
}

static int pq_push(struct pqueue *q, struct pending p)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct pending *v = malloc(cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        for (size_t i = 0; i < q->n; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->head = 0;
        q->cap = cap;
    }
    q->v[(q->head + q->n) % q->cap] = p;
    q->n++;
    return 0;
}

struct pending worker_pq_pop(struct pqueue *q)
{
    PK_ASSERT(q->n > 0);
    struct pending p = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return p;
}

void worker_idle_add(struct worker *w, struct conn *c)
{
    if (c->idle_listed)
        return;
    c->idle_listed = true;
    PK_ASSERT(w->nidle[c->origin] < w->nconns);
    w->idle[c->origin][w->nidle[c->origin]++] = c->idx;
}

void worker_think(struct worker *w, struct conn *c, uint64_t now)
{
    c->want_send = true;
    c->ready_since = 0;
    const struct load_config *cfg = w->eng->cfg;
    double s = cfg->think_min_s;
    if (cfg->think == SCENARIO_THINK_BETWEEN)
        s += (cfg->think_max_s - cfg->think_min_s) * rng_unit(&w->rng);
    worker_heap_push(w, c, now + (uint64_t)(s * 1e9));
}

static void scan_timeouts(struct worker *w, uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
    for (unsigned i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        if (c->state == C_CONNECTING || c->state == C_TLS) {
            if (now - c->connect_start >= cfg->timeout_ns)
                conn_fail(w, c, c->state == C_TLS ? LOAD_PHASE_TLS : LOAD_PHASE_CONNECT, "ETIMEDOUT", now);
        } else if (c->state == C_OPEN && c->qn) {
            if (now - conn_at(w, c, 0)->written >= cfg->timeout_ns) {
                conn_fail_inflight(w, c, LOAD_PHASE_TIMEOUT, RESULT_ERR_TIMEOUT, now);
                conn_close(w, c);
                conn_retry(w, c, now, false);
            }
        }
    }
    if (cfg->open_model) {
        /* due requests that found no connection within the timeout */
        for (size_t o = 0; o < w->eng->norigins; o++) {
            struct pqueue *pq = &w->pend[o];
            while (pq->n && now - pq->v[pq->head].intended >= cfg->timeout_ns) {
                struct pending p = worker_pq_pop(pq);
                worker_drop(w, p.k, p.req, p.intended);
            }
        }
    }
}

static void heap_due(struct worker *w, uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
    while (w->nheap && w->conns[w->heap[0]].wake <= now) {
        struct conn *c = heap_pop(w);
        if (c->state == C_CLOSED) {
            if (cfg->open_model || closed_may_issue(w, c)) {
                c->want_send = true;
                if (!c->ready_since)
                    c->ready_since = now;
                conn_connect(w, c, now);
            }
        } else if (c->state == C_OPEN) {
            c->want_send = true;
            if (!c->ready_since)
                c->ready_since = now;
            conn_fill(w, c, now);
        }
    }
}

/* Closed model: connections within this thread's share of the target. */
static void apply_target(struct worker *w, uint64_t now)
{
    const struct load_config *cfg = w->eng->cfg;
    uint64_t t = now > w->eng->t0 ? now - w->eng->t0 : 0;
    uint64_t target = schedule_target_at(&cfg->plan, t);
    unsigned T = cfg->threads;
    uint64_t share = target / T + (w->id < target % T ? 1 : 0);
    if (share > w->nconns)
        share = w->nconns;
    w->active_target = (unsigned)share;
    for (unsigned i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        bool want = i < share;
        if (want && !c->active) {
            c->active = true;
            c->want_send = true;
            c->ready_since = now;
            if (c->state == C_CLOSED && !c->in_heap)
                conn_connect(w, c, now);
            else
                conn_fill(w, c, now);
        } else if (!want && c->active) {
            c->active = false;
            if (c->qn == 0 && c->state != C_CLOSED)
                conn_close(w, c);
        }
    }
    w->next_stage = UINT64_MAX;
    for (unsigned s = 0; s < cfg->plan.n; s++) {
        uint64_t at = w->eng->t0 + cfg->plan.stage[s].start_ns;
        if (at > now) {
            w->next_stage = at;
            break;
        }
    }
    if (cfg->plan.n && w->next_stage == UINT64_MAX && cfg->plan.end_ns)
        w->next_stage = w->eng->t0 + cfg->plan.end_ns;
    if (w->next_stage <= now)
        w->next_stage = UINT64_MAX;
}

static void open_advance(struct worker *w)
{
    const struct engine *eng = w->eng;
    const struct load_config *cfg = eng->cfg;
    uint64_t k, t;
    if (schedule_thread_seq(w->id, cfg->threads, w->next_j, &k) != 0 || k > eng->k_limit ||
        schedule_send_time(&cfg->plan, k, &t) != 0 || t > UINT64_MAX - eng->t0) {
        w->next_t = UINT64_MAX;
        return;
    }
    w->next_j++;
    w->next_k = k;
    w->next_t = eng->t0 + t;
}

static void open_due(struct worker *w, uint64_t now)
{
    struct engine *eng = w->eng;
    /* a request due at the very end is sent: a run of D at R/s sends R * D
     * (schedule.h), though its response cannot count any more */
    while (w->next_t <= now && w->next_t <= eng->end_abs) {
        uint32_t req = worker_pick(w, eng->all, eng->cfg->nrequests);
        unsigned o = eng->req_origin[req];
        struct pending p = { w->next_t, w->next_k, req };
        if (pq_push(&w->pend[o], p) != 0)
            worker_count_error(w, p.k > eng->warmup_count, LOAD_PHASE_WRITE, "ENOMEM",
                               (int)eng->req_group[req], now);
        open_advance(w);
    }
    /* hand them to idle connections, oldest first */
    for (size_t o = 0; o < eng->norigins; o++) {
        while (w->pend[o].n && w->nidle[o]) {
            struct conn *c = &w->conns[w->idle[o][--w->nidle[o]]];
            c->idle_listed = false;
            if (c->state == C_OPEN && c->qn < w->eng->cfg->pipeline)
                conn_fill(w, c, now);
        }
    }
}

/* Adds the current second to the engine's slot for it. On failure (no
 * memory for the slot or its histogram) the worker stops with w->rc set,
 * as on any failure of its loop: a series with a second missing would be
 * wrong without saying so. */
static int flush_interval(struct worker *w)
{
    struct engine *eng = w->eng;
    int rc = 0;
    pthread_mutex_lock(&eng->mu);
    if (w->isec >= eng->nslots) {
        size_t n = eng->nslots ? eng->nslots : 16;
        while (n <= w->isec)
            n *= 2;
        struct slot *s = realloc(eng->slots, n * sizeof(*s));
        if (s) {
            memset(s + eng->nslots, 0, (n - eng->nslots) * sizeof(*s));
            eng->slots = s;
            eng->nslots = n;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0) {
        struct slot *s = &eng->slots[w->isec];
        if (!s->used && (rc = result_hist_init(&s->hist, NULL)) == 0)
            s->used = true;
        if (rc == 0)
            rc = hist_merge(&s->hist, &w->ihist, NULL);
        if (rc == 0) {
            s->requests += w->ireq;
            s->errors += w->ierr;
            s->bytes_in += w->iin;
            s->bytes_out += w->iout;
        }
    }
    pthread_mutex_unlock(&eng->mu);
    if (rc) {
        w->rc =
            err_errno(&w->err, rc < 0 ? rc : -ENOMEM, "perfkit load", "cannot keep the per-second series");
        return w->rc;
    }
    hist_reset(&w->ihist);
    w->ireq = w->ierr = w->iin = w->iout = 0;
    return 0;
}

/* Hands every finished second before `now` to the collector; 0, or the
 * error of flush_interval. */
static int tick(struct worker *w, uint64_t now)
{
    struct engine *eng = w->eng;
    if (now <= eng->measure_start)
        return 0;
    uint64_t sec = (now - eng->measure_start) / NS_PER_S;
    while (w->isec < sec) {
        int rc = flush_interval(w);
        if (rc)
            return rc;
        w->isec++;
        atomic_store(&w->reported, w->isec);
    }
    return 0;
}

static bool worker_done(struct worker *w)
{
    const struct load_config *cfg = w->eng->cfg;
    if (cfg->open_model) {
        if (w->next_t != UINT64_MAX || w->inflight_total)
            return false;
        for (size_t o = 0; o < w->eng->norigins; o++)
            if (w->pend[o].n)
                return false;
        return true;
    }
    return w->quota != UINT64_MAX && w->issued >= w->quota && w->inflight_total == 0;
}

/* When the loop must look again: the next timer, send, stage, second or the end. */
static uint64_t next_wake(const struct worker *w, uint64_t now)
{
    const struct engine *eng = w->eng;
    const struct load_config *cfg = eng->cfg;
    uint64_t wake = w->next_scan;
    if (cfg->open_model && w->next_t < wake)
        wake = w->next_t;
    if (!cfg->open_model && w->next_stage < wake)
        wake = w->next_stage;
    if (w->nheap && w->conns[w->heap[0]].wake < wake)
        wake = w->conns[w->heap[0]].wake;
    if (eng->end_abs < wake)
        wake = eng->end_abs;
    if (now > eng->measure_start) {
        uint64_t nb = eng->measure_start + (w->isec + 1) * NS_PER_S;
        if (nb < wake)
            wake = nb;
    } else if (eng->measure_start < wake) {
        wake = eng->measure_start;
    }
    return wake;
}

/* After the loop: the last second, what is left unfinished, the CPU share. */
static void worker_end(struct worker *w, uint64_t start, uint64_t cpu0)
{
    struct engine *eng = w->eng;
    uint64_t now = clock_mono_ns();
    if (now > eng->end_abs)
        now = eng->end_abs;
    /* the last (partial) second, unless the loop stopped on an error */
    if (!w->rc && tick(w, now) == 0 && now > eng->measure_start)
        flush_interval(w);
    /* requests still in flight: measured ones are unfinished */
    for (unsigned i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        for (unsigned j = 0; j < c->qn; j++)
            if (conn_at(w, c, j)->measured)
                w->r.unfinished++;
        w->inflight_total -= c->qn;
        c->qn = 0;
        conn_close(w, c);
    }
    /* due requests never sent: waiting for a connection, or not yet taken
     * from the schedule when the loop ended */
    for (size_t o = 0; o < eng->norigins; o++)
        while (w->pend[o].n) {
            struct pending p = worker_pq_pop(&w->pend[o]);
            worker_drop(w, p.k, p.req, p.intended);
        }
    if (eng->cfg->open_model) {
        uint64_t until = w->loop_end < eng->end_abs ? w->loop_end : eng->end_abs;
        while (w->next_t != UINT64_MAX && w->next_t <= until) {
            /* picked as the loop would have, for its name */
            worker_drop(w, w->next_k, worker_pick(w, eng->all, eng->cfg->nrequests), w->next_t);
            open_advance(w);
        }
    }
    double cpu = (double)(clock_thread_cpu_ns() - cpu0) * 1e-9;
    double wall = (double)(clock_mono_ns() - start) * 1e-9;
    w->cpu_frac = wall > 0 ? cpu / wall : 0;
    atomic_store(&w->reported, UINT64_MAX);
    atomic_store(&w->finished, 1);
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct engine *eng = w->eng;
    const struct load_config *cfg = eng->cfg;
    struct epoll_event evs[MAX_EVENTS];
    uint64_t start = clock_mono_ns();
    uint64_t cpu0 = clock_thread_cpu_ns();
    if (cfg->open_model)
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    uint64_t scan_every = cfg->timeout_ns / 20;
    if (scan_every > 10 * NS_PER_MS)
        scan_every = 10 * NS_PER_MS;
    if (scan_every < NS_PER_MS)
        scan_every = NS_PER_MS;

    uint64_t now = clock_mono_ns();
    if (cfg->open_model) {
        for (unsigned i = 0; i < w->nconns; i++)
            conn_connect(w, &w->conns[i], now);
        open_advance(w);
    } else {
        apply_target(w, now);
    }
    w->next_scan = now + scan_every;
    bool pwait2 = true;
    /* After a wake-up that found events, look once more without blocking
     * before sleeping: responses that arrived meanwhile are taken without
     * the server having to wake this thread for each of them. */
    bool again = false;

    while (!atomic_load_explicit(&eng->stop, memory_order_relaxed)) {
        now = clock_mono_ns();
        if (now >= eng->end_abs) {
            if (cfg->open_model)
                open_due(w, eng->end_abs);
            break;
        }
        if (tick(w, now) != 0 || w->rc)
            break;
        if (cfg->open_model)
            open_due(w, now);
        else if (now >= w->next_stage)
            apply_target(w, now);
        if (w->nheap)
            heap_due(w, now);
        if (now >= w->next_scan) {
            scan_timeouts(w, now);
            w->next_scan = now + scan_every;
        }
        if (worker_done(w))
            break;

        uint64_t wake = next_wake(w, now);
        uint64_t d = again || wake <= now ? 0 : wake - now;
        int n;
        if (pwait2) {
            struct timespec ts = { (time_t)(d / NS_PER_S), (long)(d % NS_PER_S) };
            n = epoll_pwait2(w->epfd, evs, MAX_EVENTS, &ts, NULL);
            if (n < 0 && errno == ENOSYS) {
                pwait2 = false;
                continue;
            }
        } else {
            n = epoll_wait(w->epfd, evs, MAX_EVENTS, (int)((d + 999999) / 1000000));
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            w->rc = err_errno(&w->err, -errno, "epoll", "the event loop failed");
            break;
        }
        again = n > 0;
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c)
                continue; /* the stop eventfd: the loop condition sees it */
            conn_event(w, c, evs[i].events);
        }
    }

    w->loop_end = clock_mono_ns();
    worker_end(w, start, cpu0);
    return NULL;
}

void worker_destroy(struct worker *w, size_t norigins)
{
    if (w->conns)
        for (unsigned i = 0; i < w->nconns; i++) {
            struct conn *c = &w->conns[i];
            if (c->fd >= 0)
                close(c->fd);
            if (c->tr) /* set for every connection once worker_setup got that far */
                c->tr->destroy(w, c);
        }
    free(w->conns);
    free(w->ring_mem);
    free(w->rbuf);
    free(w->heap);
    free(w->wrr);
    if (w->pend)
        for (size_t o = 0; o < norigins; o++)
            free(w->pend[o].v);
    free(w->pend);
    if (w->idle)
        for (size_t o = 0; o < norigins; o++)
            free(w->idle[o]);
    free(w->idle);
    free(w->nidle);
    hist_destroy(&w->ihist);
    result_destroy(&w->r);
    breakdown_worker_destroy(w);
    if (w->epfd >= 0)
        close(w->epfd);
}

int worker_setup(struct engine *eng, struct worker *w, unsigned id, struct pk_err *e)
{
    const struct load_config *cfg = eng->cfg;
    w->eng = eng;
    w->id = id;
    w->epfd = -1;
    w->nconns = cfg->connections / cfg->threads + (id < cfg->connections % cfg->threads ? 1 : 0);
    int rc = result_init(&w->r, e);
    if (rc)
        return rc;
    if ((rc = result_hist_init(&w->ihist, e)) != 0)
        return rc;
    size_t no = eng->norigins;
    w->conns = calloc(w->nconns, sizeof(*w->conns));
    w->ring_mem = calloc((size_t)w->nconns * cfg->pipeline, sizeof(*w->ring_mem));
    w->rbuf = malloc(READ_BUF);
    w->heap = calloc(w->nconns, sizeof(*w->heap));
    w->wrr = calloc(cfg->nrequests, sizeof(*w->wrr));
    w->pend = calloc(no, sizeof(*w->pend));
    w->idle = calloc(no, sizeof(*w->idle));
    w->nidle = calloc(no, sizeof(*w->nidle));
    if (!w->conns || !w->ring_mem || !w->rbuf || !w->heap || !w->wrr || !w->pend || !w->idle || !w->nidle)
        return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
    for (size_t o = 0; o < no; o++)
        if (!(w->idle[o] = calloc(w->nconns, sizeof(unsigned))))
            return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return err_errno(e, -errno, "epoll_create1", "cannot set up the run");
    /* the collector's wake-up (data.ptr NULL: not a connection) */
    struct epoll_event se = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, eng->stopfd, &se) != 0)
        return err_errno(e, -errno, "epoll_ctl", "cannot set up the run");
    /* origins: one connection each first (when there is room), then by weight */
    int64_t *cur = calloc(no, sizeof(*cur));
    if (!cur)
        return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
    int64_t total = 0;
    for (size_t o = 0; o < no; o++)
        total += (int64_t)eng->origins[o].weight;
    for (unsigned i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        c->fd = -1;
        c->idx = i;
        c->q = &w->ring_mem[(size_t)i * cfg->pipeline];
        http1_init(&c->parser, NULL);
        size_t best = 0;
        if (w->nconns >= no && i < no) {
            best = i;
        } else {
            for (size_t o = 0; o < no; o++) {
                cur[o] += (int64_t)eng->origins[o].weight;
                if (cur[o] > cur[best])
                    best = o;
            }
            cur[best] -= total;
        }
        c->origin = (unsigned)best;
        c->tr = eng->origins[best].https ? &transport_tls : &transport_plain;
    }
    free(cur);
    if ((rc = breakdown_worker_setup(w, e)) != 0)
        return rc;
    rng_seed(&w->rng, cfg->seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (id + 1)));
    w->next_t = UINT64_MAX;
    w->next_stage = UINT64_MAX;
    w->quota = UINT64_MAX;
    if (!cfg->open_model && cfg->max_requests)
        w->quota = cfg->max_requests / cfg->threads + (id < cfg->max_requests % cfg->threads ? 1 : 0);
    return 0;
}
