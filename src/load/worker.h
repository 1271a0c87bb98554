/*
 * worker - what the load engine's pieces share (internal to src/load): the
 * run (struct engine), one thread's state (struct worker: its connections,
 * timers, open-model queue and counters) and one connection (struct conn).
 *
 *   engine.c  load_run(): resolves origins, starts the workers, collects a
 *             series point each second, adds the workers' counters up;
 *   worker.c  one thread's event loop: timers, the open-model schedule, the
 *             closed-model connection target, per-second intervals;
 *   conn.c    one connection: connect, writing requests, reading and
 *             parsing responses, and what each request counts as;
 *   transport.c  how its bytes move: plain or TLS (load/transport.h);
 *   breakdown.c  the results by request name and by stage.
 *
 * Threads: a struct worker and its connections belong to its thread; the
 * engine's slots are shared under engine.mu; engine.stop and
 * worker.reported/finished are atomics read by the collector.
 */
#ifndef PK_LOAD_WORKER_H
#define PK_LOAD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/hist.h"
#include "core/rng.h"
#include "load/engine.h"
#include "load/http1.h"
#include "load/tlsapi.h"
#include "load/transport.h"

#define READ_BUF   (64u * 1024)
#define MAX_EVENTS 256
#define IOV_BATCH  64
/* A connection that failed to connect waits before it tries again, so a
 * refused port is counted, not spun on: 1 ms doubling to 100 ms. */
#define BACKOFF_MIN_NS UINT64_C(1000000)
#define BACKOFF_MAX_NS UINT64_C(100000000)

struct origin {
    bool https;
    const struct url *url; /* of its first request: host, port */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint64_t weight; /* sum of its requests' weights */
    size_t *reqs;    /* indexes into cfg->requests */
    size_t nreqs;
};

struct slot {
    bool used;
    struct hist hist;
    uint64_t requests, errors, bytes_in, bytes_out;
};

struct engine {
    const struct load_config *cfg;
    struct origin *origins;
    size_t norigins;
    const struct tlsapi *tls; /* libssl, loaded when an origin is https */
    SSL_CTX *ssl_ctx;
    uint64_t t0;            /* CLOCK_MONOTONIC of t = 0 */
    uint64_t measure_start; /* t0 + warmup */
    uint64_t end_abs;       /* t0 + end_ns, or UINT64_MAX */
    uint64_t warmup_count;  /* open model: requests k <= this are warmup */
    uint64_t k_limit;       /* open model: last k sent (UINT64_MAX: none) */
    int stopfd;             /* eventfd: the collector wakes the workers */
    atomic_int stop;
    pthread_mutex_t mu; /* guards slots */
    struct slot *slots;
    size_t nslots;
    size_t *all;          /* 0 .. nrequests-1, for picking among all */
    unsigned *req_origin; /* origin of each request */
    /* results by name (breakdown.c) */
    char **group_names; /* ngroups of them, at most RESULT_GROUPS_MAX */
    size_t ngroups;
    unsigned *req_group; /* group of each request */
    int *origin_group;   /* the one group of an origin's requests, -1 when they have several */
};

struct inflight {
    uint64_t intended; /* open: schedule time; closed: when the connection took the request */
    uint64_t written;
    uint64_t k; /* open model sequence number (0 in the closed model) */
    uint32_t req;
    bool measured;
};

struct pending { /* open model: due, waiting for a free connection */
    uint64_t intended;
    uint64_t k;
    uint32_t req;
};

struct pqueue {
    struct pending *v;
    size_t head, n, cap;
};

enum conn_state { C_CLOSED, C_CONNECTING, C_TLS, C_OPEN };

struct conn {
    int fd;
    uint8_t state;
    bool active; /* closed model: within the current connection target */
    bool in_heap;
    bool want_send;  /* closed model: a request should go out when possible */
    uint32_t events; /* registered epoll mask (0: not registered) */
    unsigned origin;
    unsigned idx;               /* in the worker's conns */
    const struct transport *tr; /* plain or TLS, by its origin's scheme */
    SSL *ssl;
    SSL_SESSION *session; /* for resumption on reconnect */
    uint64_t connect_start;
    uint64_t ready_since; /* closed model: when the next request was wanted */
    uint64_t wake;        /* heap key: think or backoff end */
    uint64_t backoff;
    struct http1_parser parser;
    struct inflight *q; /* ring of cfg->pipeline entries */
    unsigned qhead, qn; /* in flight (written or being written), qn <= cfg->pipeline */
    unsigned nw;        /* the last nw of them are not fully written: nw <= qn */
    size_t woff;        /* bytes of the first unwritten one already sent */
    bool idle_listed;
};

struct worker {
    struct engine *eng;
    unsigned id;
    pthread_t tid;
    bool started;
    int epfd;
    struct conn *conns;
    unsigned nconns;
    struct inflight *ring_mem;
    char *rbuf;
    struct rng rng; /* per-thread, replayable from cfg->seed */
    /* request picking */
    int64_t *wrr; /* smooth weighted round-robin state per request */
    /* open model */
    uint64_t next_j;         /* next sequence index of this thread */
    uint64_t next_k, next_t; /* its k and intended time; next_t UINT64_MAX when done */
    struct pqueue *pend;     /* per origin */
    unsigned **idle;         /* per origin: stack of idle connection indexes */
    unsigned *nidle;
    /* closed model */
    uint64_t quota; /* measured requests this thread may issue (UINT64_MAX: no cap) */
    uint64_t issued;
    unsigned active_target;
    uint64_t next_stage; /* abs time of the next stage boundary, UINT64_MAX */
    /* timers */
    unsigned *heap;
    unsigned nheap;
    uint64_t next_scan;
    /* results */
    struct load_result r; /* totals of the measured phase (no series) */
    uint64_t inflight_total;
    uint64_t last_done;
    uint64_t loop_end; /* when the event loop ended */
    /* by name (when the run has more than one) and by stage (with --stage):
     * breakdown.c; histograms allocated on first use */
    struct result_group *groups; /* eng->ngroups */
    struct result_stage *stages; /* cfg->plan.n */
    unsigned stage_i;            /* the stage last found */
    bool breakdown;              /* groups or stages: one test on the hot path */
    /* the current second */
    struct hist ihist;
    uint64_t isec; /* index of the current second */
    uint64_t ireq, ierr, iin, iout;
    atomic_ullong reported; /* seconds handed to the collector */
    atomic_int finished;
    double cpu_frac;
    int rc;
    struct pk_err err;
};

static inline bool closed_may_issue(const struct worker *w, const struct conn *c)
{
    return c->active && w->issued < w->quota;
}

/* conn.c */
void conn_connect(struct worker *w, struct conn *c, uint64_t now);
void conn_close(struct worker *w, struct conn *c);
/* The connection broke: its requests fail with (phase, name), it reconnects. */
void conn_fail(struct worker *w, struct conn *c, enum load_phase ph, const char *name, uint64_t now);
void conn_fail_inflight(struct worker *w, struct conn *c, enum load_phase ph, const char *name, uint64_t now);
void conn_retry(struct worker *w, struct conn *c, uint64_t now, bool failed_connect);
void conn_fill(struct worker *w, struct conn *c, uint64_t now);
void conn_event(struct worker *w, struct conn *c, uint32_t ev);
struct inflight *conn_at(struct worker *w, struct conn *c, unsigned i);

/* breakdown.c */
int breakdown_setup(struct engine *eng, struct pk_err *e);
void breakdown_free(struct engine *eng);
int breakdown_worker_setup(struct worker *w, struct pk_err *e);
void breakdown_worker_destroy(struct worker *w);
void breakdown_response(struct worker *w, uint32_t req, unsigned status, int64_t us, uint64_t now);
void breakdown_error(struct worker *w, int group, uint64_t now);
void breakdown_drop(struct worker *w, uint32_t req, uint64_t intended);
/* Into res (the totals merged already): its groups and stages, from the
 * workers' and the plan; mend is the end of the measured phase. */
int breakdown_finish(const struct engine *eng, const struct worker *ws, unsigned nws, uint64_t mend,
                     struct load_result *res, struct pk_err *e);

/* worker.c */
int worker_setup(struct engine *eng, struct worker *w, unsigned id, struct pk_err *e);
void worker_destroy(struct worker *w, size_t norigins);
void *worker_main(void *arg);
bool worker_measured(const struct worker *w, uint64_t t);
/* group: of the request (eng->req_group), -1 when there was none; now: when. */
void worker_count_error(struct worker *w, bool measured, enum load_phase ph, const char *name, int group,
                        uint64_t now);
void worker_drop(struct worker *w, uint64_t k, uint32_t req, uint64_t intended);
void worker_heap_push(struct worker *w, struct conn *c, uint64_t wake);
uint32_t worker_pick(struct worker *w, const size_t *list, size_t n);
struct pending worker_pq_pop(struct pqueue *q);
void worker_idle_add(struct worker *w, struct conn *c);
void worker_think(struct worker *w, struct conn *c, uint64_t now);

#endif
