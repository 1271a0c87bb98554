/*
 * engine - the load generator: T threads, each with its own epoll loop and
 * its share of the connections, sending prebuilt requests (load/request.h)
 * in the closed model (each connection loops: send, wait, think, send) or
 * the open model (requests due on the schedule of load/schedule.h, sent on
 * whichever connection is free, latency measured from the intended time).
 *
 * Contract:
 * - load_run() resolves every origin (getaddrinfo, before any thread starts:
 *   an unresolvable host is an error naming the host and URL, nothing runs),
 *   runs until the end of the plan, cfg->max_requests measured requests, or
 *   *cfg->stop becomes non-zero, and fills *res (result_init()ed by the
 *   caller) with what the measured phase recorded. A run that stopped on
 *   the flag returns PK_ESTOP with *res complete up to that moment.
 * - The caller's thread collects: once per second it folds the threads'
 *   intervals into res->series and calls cfg->on_second (progress); the
 *   callback runs on the caller's thread and must not block long.
 * - Signals: worker threads block every signal, so SIGINT reaches the
 *   caller's thread, whose handler sets *stop; the collector notices within
 *   LOAD_STOP_POLL_NS and wakes the workers.
 * - Every load or stress loop is bounded: the run ends at its end time (a
 *   run with neither an end nor max_requests is refused: PK_EUSAGE), and no
 *   request outlives cfg->timeout_ns.
 * - Errors: PK_EUSAGE (an inconsistent config, the message names the
 *   option), -EADDRNOTAVAIL ("cannot resolve 'host' (URL): reason"), -errno
 *   of a resource (threads, epoll, TLS context), PK_ESTOP.
 * - The library never prints; all output goes through on_second and *res.
 */
#ifndef PK_LOAD_ENGINE_H
#define PK_LOAD_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/request.h"
#include "load/result.h"
#include "load/schedule.h"
#include "load/scenario.h"
#include "perfkit.h"

#define LOAD_THREADS_MAX     256
#define LOAD_CONNECTIONS_MAX 1000000
#define LOAD_PIPELINE_MAX    1024
#define LOAD_STOP_POLL_NS    UINT64_C(50000000) /* 50 ms */

/* The live numbers handed to on_second, once per second of the run. */
struct load_progress {
    double elapsed_s;  /* since the start, warmup included */
    double total_s;    /* planned length, 0 when the run ends on a count */
    bool warmup;       /* still in the warmup */
    uint64_t requests; /* measured so far */
    uint64_t errors;
    uint64_t max_requests;  /* cfg->max_requests */
    double rps;             /* of the last second */
    int64_t p50_us, p99_us; /* of the last second */
    uint64_t target;        /* rate (open) or connections (closed) in force */
};

struct load_config {
    unsigned threads;          /* 1..LOAD_THREADS_MAX, at most connections */
    unsigned connections;      /* per run; with closed-model stages, the most any stage uses */
    bool open_model;           /* plan targets are requests/s; else connections */
    struct schedule_plan plan; /* closed model without stages: constant `connections` */
    uint64_t end_ns;           /* schedule_run_end(); 0: ends on max_requests */
    uint64_t warmup_ns;
    uint64_t max_requests; /* measured requests (warmup excluded); 0: no cap */
    uint64_t timeout_ns;   /* per request and per connect (+ TLS handshake) */
    bool keepalive;        /* false: one request per connection, closed by the engine after its response
                     * (the requests carry "Connection: close": request_build()) */
    unsigned pipeline;     /* requests in flight per connection, 1..LOAD_PIPELINE_MAX */
    bool insecure;         /* https: skip certificate and host verification */
    const struct load_request *requests; /* what to send; not copied, must outlive the run */
    size_t nrequests;
    bool random_pick;          /* pick by weight at random (scenario); else smooth weighted round-robin */
    enum scenario_think think; /* closed model only */
    double think_min_s, think_max_s;
    uint64_t seed;               /* random picks and think times */
    bool host_metrics;           /* sample procfs each second into the series */
    const char *procfs;          /* "/proc" */
    volatile sig_atomic_t *stop; /* may be NULL */
    void (*on_second)(const struct load_progress *p, void *arg);
    void *arg;
};

/* Defaults: 1 thread, 1 connection, closed model on a constant plan,
 * timeout 2 s, keep-alive, pipeline 1, procfs "/proc". */
void load_config_init(struct load_config *c);

int load_run(const struct load_config *cfg, struct load_result *res, struct pk_err *e);

/* Distinct origins (scheme, host and port) among n requests, at least 1:
 * load_run() opens a connection to each from every thread in the open
 * model, so a caller sizing threads for -c needs the count. */
size_t load_count_origins(const struct load_request *reqs, size_t n);

#endif
