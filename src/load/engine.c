#define _GNU_SOURCE
#include "load/engine.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/err.h"
#include "load/worker.h"
#include "sys/cpu.h"
#include "sys/mem.h"
#include "sys/net.h"

void load_config_init(struct load_config *c)
{
    memset(c, 0, sizeof(*c));
    c->threads = 1;
    c->connections = 1;
    c->timeout_ns = 2 * NS_PER_S;
    c->keepalive = true;
    c->pipeline = 1;
    c->procfs = "/proc";
    schedule_plan_init(&c->plan, 1, "-c", NULL);
}

static bool same_origin(const struct url *a, const struct url *b)
{
    return a->https == b->https && a->port == b->port && strcmp(a->host, b->host) == 0;
}

size_t load_count_origins(const struct load_request *reqs, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < i && !same_origin(&reqs[k].url, &reqs[i].url))
            k++;
        count += k == i;
    }
    return count ? count : 1;
}

static int check_config(const struct load_config *cfg, struct pk_err *e)
{
    if (cfg->threads < 1 || cfg->threads > LOAD_THREADS_MAX)
        return err_set(e, PK_EUSAGE, "-t", "invalid thread count", "%u is not in 1..%u", cfg->threads,
                       LOAD_THREADS_MAX);
    if (cfg->connections < cfg->threads || cfg->connections > LOAD_CONNECTIONS_MAX)
        return err_set(e, PK_EUSAGE, "-c", "invalid connection count",
                       "%u is not in %u (the thread count) .. %u", cfg->connections, cfg->threads,
                       LOAD_CONNECTIONS_MAX);
    if (cfg->pipeline < 1 || cfg->pipeline > LOAD_PIPELINE_MAX)
        return err_set(e, PK_EUSAGE, "--pipeline", "invalid pipeline depth", "%u is not in 1..%u",
                       cfg->pipeline, LOAD_PIPELINE_MAX);
    if (cfg->pipeline > 1 && !cfg->keepalive)
        return err_set(e, PK_EUSAGE, "--pipeline", "pipelining without keep-alive",
                       "a connection without keep-alive carries one request");
    if (cfg->nrequests == 0 || !cfg->requests)
        return err_set(e, PK_EUSAGE, "URL", "nothing to send", "give at least one URL");
    if (cfg->end_ns == 0 && cfg->max_requests == 0)
        return err_set(e, PK_EUSAGE, "-d", "unbounded run", "give a duration (-d), a count (-n) or stages");
    if (cfg->timeout_ns == 0)
        return err_set(e, PK_EUSAGE, "--timeout", "invalid timeout", "it must be above 0");
    if (cfg->open_model && cfg->think != SCENARIO_THINK_NONE)
        return err_set(e, PK_EUSAGE, "--scenario", "think time with the open model",
                       "think time models users in the closed model; -R sets the arrival rate itself");
    if (cfg->think != SCENARIO_THINK_NONE &&
        (!(cfg->think_min_s >= 0) || !(cfg->think_max_s >= cfg->think_min_s) || cfg->think_max_s > 86400))
        return err_set(e, PK_EUSAGE, "--scenario", "invalid think time", "need 0 <= min <= max <= 1 day");
    return 0;
}

static int resolve(struct origin *o, struct pk_err *e)
{
    char port[8], u[URL_MAX + 16];
    snprintf(port, sizeof(port), "%u", o->url->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(o->url->host, port, &hints, &res);
    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
        hints.ai_flags = AI_NUMERICSERV; /* loopback-only hosts have no configured address */
        rc = getaddrinfo(o->url->host, port, &hints, &res);
    }
    if (rc != 0 || !res)
        return err_set(e, -EADDRNOTAVAIL, url_format(o->url, u, sizeof(u)), "cannot resolve host", "'%s': %s",
                       o->url->host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
    o->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int build_origins(struct engine *eng, struct pk_err *e)
{
    const struct load_config *cfg = eng->cfg;
    eng->origins = calloc(cfg->nrequests, sizeof(*eng->origins));
    eng->req_origin = calloc(cfg->nrequests, sizeof(*eng->req_origin));
    eng->all = calloc(cfg->nrequests, sizeof(*eng->all));
    if (!eng->origins || !eng->req_origin || !eng->all)
        return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
    for (size_t i = 0; i < cfg->nrequests; i++) {
        const struct load_request *r = &cfg->requests[i];
        eng->all[i] = i;
        size_t o = 0;
        while (o < eng->norigins && !same_origin(eng->origins[o].url, &r->url))
            o++;
        if (o == eng->norigins) {
            eng->origins[o].url = &r->url;
            eng->origins[o].https = r->url.https;
            eng->origins[o].reqs = calloc(cfg->nrequests, sizeof(size_t));
            if (!eng->origins[o].reqs)
                return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
            eng->norigins++;
        }
        eng->origins[o].reqs[eng->origins[o].nreqs++] = i;
        eng->origins[o].weight += r->weight ? r->weight : 1;
        eng->req_origin[i] = (unsigned)o;
    }
    if (cfg->open_model && (uint64_t)cfg->connections < (uint64_t)cfg->threads * eng->norigins)
        return err_set(e, PK_EUSAGE, "-c", "too few connections",
                       "the open model needs one connection per thread for each of the %zu origins "
                       "(host and port): -c %zu or more",
                       eng->norigins, (size_t)cfg->threads * eng->norigins);
    if (cfg->connections < eng->norigins)
        return err_set(e, PK_EUSAGE, "-c", "too few connections",
                       "%zu origins (host and port) need at least %zu connections", eng->norigins,
                       eng->norigins);
    for (size_t o = 0; o < eng->norigins; o++) {
        int rc = resolve(&eng->origins[o], e);
        if (rc)
            return rc;
    }
    return 0;
}

static int make_ssl_ctx(struct engine *eng, struct pk_err *e)
{
    bool any = false;
    for (size_t o = 0; o < eng->norigins; o++)
        any |= eng->origins[o].https;
    if (!any)
        return 0;
    int rc = tlsapi_get(&eng->tls, e);
    if (rc) {
        err_prefix_on(e, "https: ");
        return rc;
    }
    const struct tlsapi *T = eng->tls;
    eng->ssl_ctx = T->SSL_CTX_new(T->TLS_client_method());
    if (!eng->ssl_ctx) {
        const char *why = T->ERR_reason_error_string(T->ERR_get_error());
        return err_set(e, -ENOMEM, "https", "cannot create the TLS context", "%s",
                       why ? why : "OpenSSL failed");
    }
    T->SSL_CTX_ctrl(eng->ssl_ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    T->SSL_CTX_ctrl(eng->ssl_ctx, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_CLIENT, NULL);
    if (eng->cfg->insecure) {
        T->SSL_CTX_set_verify(eng->ssl_ctx, SSL_VERIFY_NONE, NULL);
    } else {
        T->SSL_CTX_set_verify(eng->ssl_ctx, SSL_VERIFY_PEER, NULL);
        T->SSL_CTX_set_default_verify_paths(eng->ssl_ctx);
    }
    return 0;
}

struct host_sampler {
    struct cpu_stat cpu[2];
    struct net_dev_list net[2];
    struct mem_info mem;
    bool have_prev;
    int cur;
    uint64_t at[2];
    double *v; /* 4 per second: cpu, mem, rx, tx */
    size_t n, cap;
};

static void host_totals(const struct net_dev_list *l, uint64_t *rx, uint64_t *tx)
{
    *rx = *tx = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].name, "lo") == 0)
            continue;
        *rx += l->v[i].rx_bytes;
        *tx += l->v[i].tx_bytes;
    }
}

static void host_sample(struct host_sampler *h, const char *procfs, uint64_t now)
{
    int c = h->cur;
    bool ok = cpu_read(procfs, &h->cpu[c], NULL) == 0;
    net_dev_list_destroy(&h->net[c]); /* the reader fills a fresh list */
    bool okn = net_read_dev(procfs, &h->net[c], NULL) == 0;
    double mem = NAN;
    if (mem_read(procfs, &h->mem, NULL) == 0) {
        bool f1, f2;
        uint64_t tot = mem_get(&h->mem, "MemTotal", &f1), av = mem_get(&h->mem, "MemAvailable", &f2);
        if (f1 && f2 && tot)
            mem = 100.0 * (double)(tot - (av < tot ? av : tot)) / (double)tot;
    }
    h->at[c] = now;
    if (h->have_prev) {
        int p = 1 - c;
        double row[4] = { NAN, mem, NAN, NAN };
        struct cpu_util u;
        if (ok && cpu_util(&h->cpu[p].total, &h->cpu[c].total, &u) == 0 && u.valid)
            row[0] = u.busy_pct;
        double secs = (double)(h->at[c] - h->at[p]) * 1e-9;
        if (okn && secs > 0) {
            uint64_t rx0, tx0, rx1, tx1;
            host_totals(&h->net[p], &rx0, &tx0);
            host_totals(&h->net[c], &rx1, &tx1);
            row[2] = rx1 >= rx0 ? (double)(rx1 - rx0) / secs : NAN;
            row[3] = tx1 >= tx0 ? (double)(tx1 - tx0) / secs : NAN;
        }
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 64;
            double *v = realloc(h->v, cap * 4 * sizeof(double));
            if (!v)
                return;
            h->v = v;
            h->cap = cap;
        }
        memcpy(&h->v[h->n * 4], row, sizeof(row));
        h->n++;
    }
    h->have_prev = ok || okn;
    h->cur = 1 - c;
}

static void host_sampler_init(struct host_sampler *h)
{
    memset(h, 0, sizeof(*h));
    cpu_stat_init(&h->cpu[0]);
    cpu_stat_init(&h->cpu[1]);
    mem_info_init(&h->mem);
}

static void host_sampler_destroy(struct host_sampler *h)
{
    cpu_stat_destroy(&h->cpu[0]);
    cpu_stat_destroy(&h->cpu[1]);
    net_dev_list_destroy(&h->net[0]);
    net_dev_list_destroy(&h->net[1]);
    mem_info_destroy(&h->mem);
    free(h->v);
}

static int finalize_second(struct engine *eng, struct load_result *res, size_t s, struct pk_err *e)
{
    struct result_second *sec;
    int rc = result_series_push(res, &sec, e);
    if (rc)
        return rc;
    pthread_mutex_lock(&eng->mu);
    if (s < eng->nslots) {
        struct slot *sl = &eng->slots[s];
        sec->requests = sl->requests;
        sec->errors = sl->errors;
        sec->bytes_in = sl->bytes_in;
        sec->bytes_out = sl->bytes_out;
        if (sl->used) {
            rc = result_second_set_hist(sec, &sl->hist, e);
            hist_destroy(&sl->hist);
            sl->used = false;
        }
    }
    pthread_mutex_unlock(&eng->mu);
    return rc;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = { (time_t)(t / NS_PER_S), (long)(t % NS_PER_S) };
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void engine_free(struct engine *eng)
{
    const struct tlsapi *T = eng->tls;
    if (eng->origins)
        for (size_t o = 0; o < eng->norigins; o++)
            free(eng->origins[o].reqs);
    free(eng->origins);
    free(eng->req_origin);
    free(eng->all);
    breakdown_free(eng);
    if (eng->slots)
        for (size_t s = 0; s < eng->nslots; s++)
            if (eng->slots[s].used)
                hist_destroy(&eng->slots[s].hist);
    free(eng->slots);
    if (eng->ssl_ctx)
        T->SSL_CTX_free(eng->ssl_ctx);
    if (eng->stopfd >= 0)
        close(eng->stopfd);
    pthread_mutex_destroy(&eng->mu);
}

static int merge_worker(struct load_result *res, const struct worker *w, struct pk_err *e)
{
    int rc;
    if ((rc = hist_merge(&res->latency, &w->r.latency, e)) != 0 ||
        (rc = hist_merge(&res->latency_uncorrected, &w->r.latency_uncorrected, e)) != 0 ||
        (rc = hist_merge(&res->connect, &w->r.connect, e)) != 0)
        return rc;
    res->requests += w->r.requests;
    res->errors += w->r.errors;
    res->status_errors += w->r.status_errors;
    res->unfinished += w->r.unfinished;
    res->dropped += w->r.dropped;
    res->bytes_in += w->r.bytes_in;
    res->bytes_out += w->r.bytes_out;
    res->connects += w->r.connects;
    res->sends += w->r.sends;
    res->late_sends += w->r.late_sends;
    if (w->r.lateness_max_us > res->lateness_max_us)
        res->lateness_max_us = w->r.lateness_max_us;
    for (size_t i = 0; i < RESULT_STATUS_MAX; i++)
        res->status[i] += w->r.status[i];
    for (size_t i = 0; i < w->r.nerrs; i++)
        result_error_add(res, (enum load_phase)w->r.errs[i].phase, w->r.errs[i].name, w->r.errs[i].count);
    if (w->cpu_frac > res->generator_cpu)
        res->generator_cpu = w->cpu_frac;
    return 0;
}

/* One run, as the caller's thread sees it. */
struct run {
    const struct load_config *cfg;
    struct engine eng;      /* what the workers share; they hold its address */
    struct worker *ws;      /* cfg->threads of them */
    struct host_sampler hs; /* --host-metrics */
    int64_t real0;          /* wall-clock ms at t = 0, for the result's start_ms */
    size_t finalized;       /* seconds folded into res->series */
    uint64_t stop_at;       /* when *cfg->stop was seen; 0: not */
};

/* Tells every worker to stop: the flag they check, and a write to the
 * eventfd in their epoll sets that wakes them at once. */
static void stop_workers(struct engine *eng)
{
    atomic_store(&eng->stop, 1);
    uint64_t one = 1;
    (void)!write(eng->stopfd, &one, sizeof(one));
}

/* Origins, TLS, the workers' loops and connections: everything that can
 * fail before a thread starts. */
static int run_setup(struct run *run, struct pk_err *e)
{
    const struct load_config *cfg = run->cfg;
    struct engine *eng = &run->eng;
    int rc;
    if ((rc = build_origins(eng, e)) != 0 || (rc = breakdown_setup(eng, e)) != 0 ||
        (rc = make_ssl_ctx(eng, e)) != 0)
        return rc;
    eng->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (eng->stopfd < 0)
        return err_errno(e, -errno, "eventfd", "cannot set up the run");
    run->ws = calloc(cfg->threads, sizeof(*run->ws));
    if (!run->ws)
        return err_errno(e, -ENOMEM, "perfkit load", "cannot set up the run");
    for (unsigned i = 0; i < cfg->threads; i++)
        run->ws[i].epfd = -1;
    for (unsigned i = 0; i < cfg->threads; i++)
        if ((rc = worker_setup(eng, &run->ws[i], i, e)) != 0)
            return rc;
    if (cfg->host_metrics)
        host_sampler_init(&run->hs);
    return 0;
}

/* Sets the run's clock and starts the workers with every signal blocked
 * (they inherit the mask), so that SIGINT reaches the caller's thread. When
 * a thread cannot be created, those started are told to stop at once. */
static int start_workers(struct run *run, struct pk_err *e)
{
    const struct load_config *cfg = run->cfg;
    struct engine *eng = &run->eng;
    eng->t0 = clock_mono_ns();
    run->real0 = clock_real_ms();
    eng->measure_start = eng->t0 + cfg->warmup_ns;
    eng->end_abs = cfg->end_ns ? eng->t0 + cfg->end_ns : UINT64_MAX;
    eng->warmup_count = cfg->open_model ? schedule_due(&cfg->plan, cfg->warmup_ns) : 0;
    eng->k_limit = cfg->max_requests ? eng->warmup_count + cfg->max_requests : UINT64_MAX;

    int rc = 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < cfg->threads; i++) {
        if (pthread_create(&run->ws[i].tid, NULL, worker_main, &run->ws[i]) != 0) {
            rc = err_errno(e, -EAGAIN, "pthread_create", "cannot start the load threads");
            break;
        }
        run->ws[i].started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        stop_workers(eng);
    return rc;
}

/* Whether every started worker has finished; *min_rep is the fewest
 * seconds a started worker has handed over (UINT64_MAX when none started). */
static bool workers_done(const struct run *run, uint64_t *min_rep)
{
    bool done = true;
    *min_rep = UINT64_MAX;
    for (unsigned i = 0; i < run->cfg->threads; i++) {
        const struct worker *w = &run->ws[i];
        if (w->started && !atomic_load(&w->finished))
            done = false;
        uint64_t r = w->started ? atomic_load(&w->reported) : UINT64_MAX;
        if (r < *min_rep)
            *min_rep = r;
    }
    return done;
}

/* The live numbers for cfg->on_second, from the series so far. */
static void report_progress(const struct run *run, const struct load_result *res, uint64_t now)
{
    const struct load_config *cfg = run->cfg;
    struct load_progress p = { 0 };
    p.elapsed_s = (double)(now - run->eng.t0) * 1e-9;
    p.total_s = (double)cfg->end_ns * 1e-9;
    p.warmup = now < run->eng.measure_start;
    p.max_requests = cfg->max_requests;
    for (size_t s = 0; s < res->nseries; s++) {
        p.requests += res->series[s].requests;
        p.errors += res->series[s].errors;
    }
    if (res->nseries) {
        const struct result_second *ls = &res->series[res->nseries - 1];
        p.rps = (double)ls->requests;
        p.p50_us = ls->p50_us;
        p.p99_us = ls->p99_us;
    }
    p.target = schedule_target_at(&cfg->plan, now - run->eng.t0);
    cfg->on_second(&p, cfg->arg);
}

/* The caller's thread while the workers run, until they have all finished:
 * notices the stop flag, folds each second every worker has handed over
 * into res->series, samples the host and reports progress. rc is the error
 * so far (the workers were then told to stop); the first error is kept. */
static int collect(struct run *run, struct load_result *res, int rc, struct pk_err *e)
{
    const struct load_config *cfg = run->cfg;
    struct engine *eng = &run->eng;
    const char *procfs = cfg->procfs ? cfg->procfs : "/proc";
    uint64_t next_progress = eng->t0 + NS_PER_S + 20 * NS_PER_MS;
    uint64_t next_host = eng->measure_start;
    for (;;) {
        uint64_t now = clock_mono_ns();
        if (!run->stop_at && cfg->stop && *cfg->stop) {
            run->stop_at = now;
            stop_workers(eng);
        }
        uint64_t min_rep;
        if (workers_done(run, &min_rep))
            break;
        while (rc == 0 && run->finalized < min_rep &&
               eng->measure_start + (run->finalized + 1) * NS_PER_S <= now) {
            if ((rc = finalize_second(eng, res, run->finalized, e)) != 0)
                stop_workers(eng);
            else
                run->finalized++;
        }
        if (cfg->host_metrics && now >= next_host) {
            host_sample(&run->hs, procfs, now);
            next_host += NS_PER_S;
        }
        if (now >= next_progress) {
            if (cfg->on_second)
                report_progress(run, res, now);
            while (next_progress <= now)
                next_progress += NS_PER_S;
        }
        uint64_t wake = now + LOAD_STOP_POLL_NS;
        if (next_progress < wake)
            wake = next_progress;
        if (cfg->host_metrics && next_host < wake)
            wake = next_host;
        uint64_t fin = eng->measure_start + (run->finalized + 1) * NS_PER_S + 2 * NS_PER_MS;
        if (fin > now && fin < wake)
            wake = fin;
        sleep_until(wake);
    }
    return rc;
}

/* Joins the started workers; a worker's error becomes the run's unless
 * there was one already. */
static int join_workers(struct run *run, int rc, struct pk_err *e)
{
    for (unsigned i = 0; i < run->cfg->threads; i++)
        if (run->ws[i].started)
            pthread_join(run->ws[i].tid, NULL);
    for (unsigned i = 0; i < run->cfg->threads && !rc; i++)
        if (run->ws[i].rc) {
            rc = run->ws[i].rc;
            if (e)
                *e = run->ws[i].err;
        }
    return rc;
}

/* The end of the measured phase: the planned end, the moment the stop flag
 * was seen, or the last response of a run that ended on its count. */
static uint64_t measured_end(const struct run *run)
{
    uint64_t mend = run->eng.end_abs;
    if (run->stop_at) {
        mend = run->stop_at < mend ? run->stop_at : mend;
    } else if (run->cfg->max_requests) {
        uint64_t last = 0;
        for (unsigned i = 0; i < run->cfg->threads; i++)
            if (run->ws[i].last_done > last)
                last = run->ws[i].last_done;
        if (last && last < mend)
            mend = last;
        if (mend == UINT64_MAX)
            mend = clock_mono_ns();
    }
    return mend;
}

/* The URLs as given, one per request, for the result. */
static int record_urls(struct load_result *res, const struct load_config *cfg, struct pk_err *e)
{
    res->urls = calloc(cfg->nrequests, sizeof(char *));
    if (!res->urls)
        return err_errno(e, -ENOMEM, "perfkit load", "cannot record the URLs");
    for (size_t i = 0; i < cfg->nrequests; i++) {
        char u[URL_MAX + 16];
        url_format(&cfg->requests[i].url, u, sizeof(u));
        if (!(res->urls[i] = strdup(u)))
            return err_errno(e, -ENOMEM, "perfkit load", "cannot record the URLs");
        res->nurls++;
    }
    return 0;
}

/* Once the workers are joined: the seconds not yet folded, the settings
 * and window of the run, the workers' totals, the open model's rates and
 * the host metrics into *res. rc is the error so far, kept. */
static int finish(struct run *run, struct load_result *res, int rc, struct pk_err *e)
{
    const struct load_config *cfg = run->cfg;
    struct engine *eng = &run->eng;
    uint64_t mend = measured_end(run);
    uint64_t measured_ns = mend > eng->measure_start ? mend - eng->measure_start : 0;
    double duration = (double)measured_ns * 1e-9;
    size_t nsec = (size_t)((measured_ns + NS_PER_S - 1) / NS_PER_S);
    /* the last second's host sample, when the run ended before the collector took it */
    if (cfg->host_metrics && run->hs.n < nsec)
        host_sample(&run->hs, cfg->procfs ? cfg->procfs : "/proc", clock_mono_ns());
    while (!rc && run->finalized < nsec) {
        rc = finalize_second(eng, res, run->finalized, e);
        run->finalized++;
    }

    res->open_model = cfg->open_model;
    res->threads = cfg->threads;
    res->connections = cfg->connections;
    res->pipeline = cfg->pipeline;
    res->sources = 1;
    res->start_ms = run->real0 + (int64_t)(cfg->warmup_ns / NS_PER_MS);
    res->warmup_s = (double)cfg->warmup_ns * 1e-9;
    res->duration_s = duration;
    for (unsigned i = 0; i < cfg->threads && !rc; i++)
        rc = merge_worker(res, &run->ws[i], e);
    if (!rc)
        rc = breakdown_finish(eng, run->ws, cfg->threads, mend, res, e);
    if (cfg->open_model && duration > 0) {
        uint64_t due = schedule_due(&cfg->plan, mend - eng->t0); /* the window's end included */
        if (due > eng->k_limit)
            due = eng->k_limit;
        res->due = due > eng->warmup_count ? due - eng->warmup_count : 0;
        res->rate_target = (double)res->due / duration;
        res->rate_achieved = (double)res->sends / duration;
    }
    if (cfg->host_metrics) {
        const struct host_sampler *hs = &run->hs;
        res->host_metrics = true;
        for (size_t s = 0; s < res->nseries && s < hs->n; s++) {
            res->series[s].cpu_pct = hs->v[s * 4];
            res->series[s].mem_used_pct = hs->v[s * 4 + 1];
            res->series[s].net_rx_bps = hs->v[s * 4 + 2];
            res->series[s].net_tx_bps = hs->v[s * 4 + 3];
        }
    }
    if (!rc && res->nurls == 0)
        rc = record_urls(res, cfg, e);
    if (!rc && run->stop_at)
        rc = err_set(e, PK_ESTOP, "perfkit load", "interrupted", "stopped after %.1f s", duration);
    return rc;
}

static void run_free(struct run *run)
{
    if (run->ws)
        for (unsigned i = 0; i < run->cfg->threads; i++)
            worker_destroy(&run->ws[i], run->eng.norigins);
    free(run->ws);
    if (run->cfg->host_metrics)
        host_sampler_destroy(&run->hs);
    engine_free(&run->eng);
}

int load_run(const struct load_config *cfg, struct load_result *res, struct pk_err *e)
{
    int rc = check_config(cfg, e);
    if (rc)
        return rc;
    struct run run = { .cfg = cfg, .eng = { .cfg = cfg, .stopfd = -1 } };
    pthread_mutex_init(&run.eng.mu, NULL);
    if ((rc = run_setup(&run, e)) != 0)
        goto out;
    /* From here on the workers are joined whatever happens; each step keeps
     * the first error. */
    rc = start_workers(&run, e);
    rc = collect(&run, res, rc, e);
    rc = join_workers(&run, rc, e);
    rc = finish(&run, res, rc, e);
out:
    run_free(&run);
    return rc;
}
