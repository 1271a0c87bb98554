/*
 * harness - runs C functions in-process and measures them (pk_bench_* in
 * include/perfkit.h): calibration, timed batches, CPU time, allocations,
 * peak RSS, hardware counters, the guide's analysis and the Google
 * Benchmark JSON.
 *
 * Everything a run writes while the clocks run is allocated before it
 * starts, so the harness itself never shows up in the allocation counts and
 * adds nothing to the timed code but the batch boundaries (two clock reads
 * each, at most HARNESS_MAX_BATCHES a repetition).
 */
#define _GNU_SOURCE /* program_invocation_name */
#include "bench/harness.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/counters.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/jsonio.h"
#include "core/stats.h"
#include "sys/host.h"

#define DEFAULT_SEED        0x9e3779b97f4a7c15ull
#define BOOTSTRAP_RESAMPLES 2000
#define MAX_NAME            1024

_Static_assert((int)PK_COUNTER_N == (int)COUNTERS_N, "public and internal counter lists differ");
_Static_assert(sizeof(struct pk_benchmark) % 8 == 0, "registry entries must pack at aligned(8)");

/* A result and the storage its public pointers point into. */
struct result {
    struct pk_result pub; /* first: a struct pk_result * is a struct result * */
    char *name;
    double *samples;
    struct pk_rep *reps;
};

struct pk_bench {
    struct pk_bench_opts opts;
    struct counters ctr;
    int ctr_state; /* 0 not tried yet, 1 open, -1 unavailable (ctr_err says why) */
    struct pk_err ctr_err;
    struct result **results;
    size_t n, cap;
    uint64_t real_bias, cpu_bias; /* see seg_start() */
};

enum phase { PHASE_BEFORE, PHASE_LOOP, PHASE_DONE };

struct pk_state {
    uint64_t iterations;
    int64_t arg;
    void (*plain_fn)(void *); /* pk_bench_run's function, called by plain_loop() */
    void *plain_arg;

    enum phase phase;
    unsigned nbatches, batch;
    double *samples; /* nbatches slots: real ns per iteration of each batch */

    bool running;               /* clocks on (in the loop and not paused) */
    uint64_t seg_real, seg_cpu; /* start of the running stretch */
    struct alloc_counts seg_alloc;
    uint64_t batch_real; /* real ns of the current batch so far */
    uint64_t total_real, total_cpu;
    uint64_t span_start, total_span; /* real time of the running stretches, batch boundaries included */
    uint64_t allocs, alloc_bytes;
    struct counters *ctr; /* NULL: not counting */
    uint64_t real_bias, cpu_bias;

    uint64_t bytes_per_iter;
    bool skipped, misused;
    char why[200];
};

/* ---- allocation counts, where the program linked the wrappers (alloc.c) */

#pragma weak pk_alloc_snapshot

bool alloc_available(void)
{
    return pk_alloc_snapshot != NULL;
}

void alloc_snapshot(struct alloc_counts *out)
{
    if (pk_alloc_snapshot) {
        pk_alloc_snapshot(out);
    } else {
        out->count = 0;
        out->bytes = 0;
    }
}

/* ---- calibration (Google Benchmark's BenchmarkRunner rules) */

uint64_t harness_next_iters(uint64_t iters, double elapsed, double min_time)
{
    double mult = min_time * 1.4 / fmax(elapsed, 1e-9);
    /* A run that took at most a tenth of min_time says little about the
     * speed (it may be all start-up); grow it by a fixed factor instead. */
    if (!(elapsed / min_time > 0.1))
        mult = 10.0;
    double next = fmax(mult * (double)iters, (double)iters + 1.0);
    if (!(next < (double)HARNESS_MAX_ITERS))
        return HARNESS_MAX_ITERS;
    return (uint64_t)llround(next);
}

bool harness_run_is_final(uint64_t iters, double elapsed, double min_time)
{
    return iters >= HARNESS_MAX_ITERS || elapsed >= min_time;
}

/* ---- the state a PK_LOOP function sees */

static uint64_t batch_size(const struct pk_state *st, unsigned i)
{
    uint64_t q = st->iterations / st->nbatches, r = st->iterations % st->nbatches;
    return q + (i < r ? 1 : 0);
}

/*
 * A running stretch is bracketed by both clocks, the allocation snapshot
 * and the counters; a batch boundary inside it reads the real clock only
 * (the CPU clock is a system call, costly next to a short batch). The real
 * clock is read last when starting and first when stopping, so the other
 * reads stay outside real time. What two back-to-back reads of a clock
 * measure (st->real_bias, st->cpu_bias, found by pk_bench_new) is taken
 * off each interval: an empty loop then measures ~0, not the clock's cost.
 */
static uint64_t unbias(uint64_t delta, uint64_t bias)
{
    return delta > bias ? delta - bias : 0;
}

static void seg_start(struct pk_state *st)
{
    alloc_snapshot(&st->seg_alloc);
    if (st->ctr)
        counters_enable(st->ctr);
    st->seg_cpu = clock_thread_cpu_ns();
    st->running = true;
    st->seg_real = st->span_start = clock_mono_ns();
}

static uint64_t batch_stop(struct pk_state *st)
{
    uint64_t now = clock_mono_ns();
    uint64_t d = unbias(now - st->seg_real, st->real_bias);
    st->batch_real += d;
    st->total_real += d;
    return now;
}

static void batch_start(struct pk_state *st)
{
    st->seg_real = clock_mono_ns();
}

static void seg_stop(struct pk_state *st)
{
    uint64_t end = batch_stop(st);
    uint64_t cpu = clock_thread_cpu_ns();
    st->total_span += unbias(end - st->span_start, st->real_bias);
    if (st->ctr)
        counters_disable(st->ctr);
    struct alloc_counts a;
    alloc_snapshot(&a);
    st->running = false;
    st->total_cpu += unbias(cpu - st->seg_cpu, st->cpu_bias);
    st->allocs += a.count - st->seg_alloc.count;
    st->alloc_bytes += a.bytes - st->seg_alloc.bytes;
}

static void misuse(struct pk_state *st, const char *why)
{
    if (!st->misused && !st->skipped)
        snprintf(st->why, sizeof(st->why), "%s", why);
    st->misused = true;
}

uint64_t pk_state_loop_begin(struct pk_state *st)
{
    if (st->phase != PHASE_BEFORE) {
        misuse(st, "PK_LOOP ran more than once in one call");
        return 0;
    }
    if (st->skipped) {
        st->phase = PHASE_DONE;
        return 0;
    }
    st->phase = PHASE_LOOP;
    st->nbatches = st->iterations < HARNESS_MAX_BATCHES ? (unsigned)st->iterations : HARNESS_MAX_BATCHES;
    st->batch = 0;
    st->batch_real = 0;
    seg_start(st);
    return batch_size(st, 0);
}

uint64_t pk_state_loop_next(struct pk_state *st, uint64_t left)
{
    if (st->phase != PHASE_LOOP) {
        if (st->running)
            seg_stop(st);
        return 0;
    }
    bool last = left != 0 || st->batch + 1 == st->nbatches;
    if (st->running) {
        if (last)
            seg_stop(st);
        else
            batch_stop(st);
    }
    if (left != 0) {
        misuse(st, "left PK_LOOP early (break, return or goto in its body)");
        st->phase = PHASE_DONE;
        return 0;
    }
    st->samples[st->batch] = (double)st->batch_real / (double)batch_size(st, st->batch);
    st->batch_real = 0;
    if (last) {
        st->phase = PHASE_DONE;
        return 0;
    }
    st->batch++;
    if (st->running)
        batch_start(st);
    return batch_size(st, st->batch);
}

int64_t pk_state_arg(const struct pk_state *st)
{
    return st->arg;
}

uint64_t pk_state_iterations(const struct pk_state *st)
{
    return st->iterations;
}

void pk_state_pause(struct pk_state *st)
{
    if (st->phase == PHASE_LOOP && st->running)
        seg_stop(st);
}

void pk_state_resume(struct pk_state *st)
{
    if (st->phase == PHASE_LOOP && !st->running)
        seg_start(st);
}

void pk_state_set_bytes(struct pk_state *st, uint64_t bytes_per_iteration)
{
    st->bytes_per_iter = bytes_per_iteration;
}

void pk_state_skip(struct pk_state *st, const char *why)
{
    if (!st->skipped)
        snprintf(st->why, sizeof(st->why), "%s", why ? why : "skipped");
    st->skipped = true;
}

/* pk_bench_run's functions run through this; the call through fn is the
 * only per-iteration cost the harness adds. */
static void plain_loop(struct pk_state *st)
{
    void (*fn)(void *) = st->plain_fn;
    void *arg = st->plain_arg;
    PK_LOOP(st) fn(arg);
}

/* ---- running */

const char *pk_counter_name(int i)
{
    return counters_name(i);
}

void pk_bench_opts_init(struct pk_bench_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->min_time = HARNESS_DEFAULT_MIN_TIME;
    opts->repetitions = 1;
}

/* The smallest interval each clock can report for an empty stretch, read
 * in the order seg_start() and seg_stop() read them. The minimum of many
 * tries: anything larger was an interruption, not the cost of the reads. */
static void measure_bias(struct pk_bench *b)
{
    uint64_t real = UINT64_MAX, cpu = UINT64_MAX;
    for (int i = 0; i < 200; i++) {
        uint64_t c0 = clock_thread_cpu_ns();
        uint64_t r0 = clock_mono_ns();
        uint64_t r1 = clock_mono_ns();
        uint64_t c1 = clock_thread_cpu_ns();
        if (r1 - r0 < real)
            real = r1 - r0;
        if (c1 - c0 < cpu)
            cpu = c1 - c0;
    }
    b->real_bias = real;
    b->cpu_bias = cpu;
}

struct pk_bench *pk_bench_new(const struct pk_bench_opts *opts)
{
    struct pk_bench *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    if (opts)
        b->opts = *opts;
    else
        pk_bench_opts_init(&b->opts);
    if (!(b->opts.min_time > 0) || !isfinite(b->opts.min_time))
        b->opts.min_time = HARNESS_DEFAULT_MIN_TIME;
    if (b->opts.repetitions == 0)
        b->opts.repetitions = 1;
    if (b->opts.seed == 0)
        b->opts.seed = DEFAULT_SEED;
    for (int i = 0; i < COUNTERS_N; i++)
        b->ctr.fd[i] = -1;
    measure_bias(b);
    return b;
}

static void result_free(struct result *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->samples);
    free(r->reps);
    free(r);
}

void pk_bench_free(struct pk_bench *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        result_free(b->results[i]);
    free(b->results);
    if (b->ctr_state == 1)
        counters_close(&b->ctr);
    free(b);
}

int pk_bench_counters(struct pk_bench *b, struct pk_err *e)
{
    if (b->ctr_state == 0) {
        pk_err_clear(&b->ctr_err);
        int rc = counters_open(&b->ctr, COUNTERS_SELF, &b->ctr_err);
        b->ctr_state = rc == 0 ? 1 : -1;
        if (rc != 0 && b->ctr_err.code == 0)
            err_set(&b->ctr_err, PK_ENOTSUP, NULL, "hardware counters unavailable", NULL);
    }
    if (b->ctr_state == 1)
        return 0;
    if (e)
        *e = b->ctr_err;
    return b->ctr_err.code ? b->ctr_err.code : PK_ENOTSUP;
}

size_t pk_bench_count(const struct pk_bench *b)
{
    return b->n;
}

const struct pk_result *pk_bench_result(const struct pk_bench *b, size_t i)
{
    return i < b->n ? &b->results[i]->pub : NULL;
}

static int64_t peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (int64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

struct job {
    void (*fn)(struct pk_state *st);
    int64_t arg;
    void (*plain_fn)(void *);
    void *plain_arg;
};

/* One call of the benchmark function for `iters` iterations; fills *rep
 * (all but rss_growth_bytes) and the run's batch samples. */
static int run_once(struct pk_bench *b, const struct job *j, const char *name, uint64_t iters,
                    double *samples, unsigned *nsamples, struct pk_rep *rep, uint64_t *bytes_per_iter,
                    bool counters_valid[COUNTERS_N], double *elapsed, struct pk_err *e)
{
    struct pk_state st;
    memset(&st, 0, sizeof(st));
    st.iterations = iters;
    st.arg = j->arg;
    st.plain_fn = j->plain_fn;
    st.plain_arg = j->plain_arg;
    st.samples = samples;
    st.ctr = b->ctr_state == 1 ? &b->ctr : NULL;
    st.real_bias = b->real_bias;
    st.cpu_bias = b->cpu_bias;

    struct counters_values c0, c1, cd;
    if (st.ctr)
        counters_read(st.ctr, &c0);
    j->fn(&st);
    if (st.ctr)
        counters_read(st.ctr, &c1);
    if (st.running)
        seg_stop(&st); /* the function returned from inside the loop */

    if (st.skipped)
        return err_set(e, -ECANCELED, name, "benchmark skipped", "%s", st.why);
    if (st.misused)
        return err_set(e, PK_EUSAGE, name, "benchmark misused PK_LOOP", "%s", st.why);
    if (st.phase == PHASE_BEFORE)
        return err_set(e, PK_EUSAGE, name, "benchmark did not run its loop",
                       "a PK_LOOP-style function must run PK_LOOP(st) once");
    if (st.phase != PHASE_DONE)
        return err_set(e, PK_EUSAGE, name, "benchmark misused PK_LOOP",
                       "left PK_LOOP early (break, return or goto in its body)");

    double n = (double)iters;
    *nsamples = st.nbatches;
    rep->real_ns = (double)st.total_real / n;
    /* The CPU clock also ran across the batch boundaries, which real time
     * leaves out; the share of CPU over the stretches, applied to the real
     * time, keeps their cost out of short runs. */
    double util = st.total_span ? (double)st.total_cpu / (double)st.total_span : 0;
    /* One thread cannot use more than one CPU: a share above 1 is the skew of
     * reading two clocks around a span of a few microseconds. */
    if (util > 1.0)
        util = 1.0;
    rep->cpu_ns = util * (double)st.total_real / n;
    if (alloc_available()) {
        rep->allocs = (double)st.allocs / n;
        rep->alloc_bytes = (double)st.alloc_bytes / n;
    } else {
        rep->allocs = rep->alloc_bytes = -1;
    }
    memset(rep->counters, 0, sizeof(rep->counters));
    if (st.ctr) {
        counters_diff(&c0, &c1, &cd);
        for (int i = 0; i < COUNTERS_N; i++) {
            counters_valid[i] = counters_valid[i] && cd.valid[i];
            rep->counters[i] = cd.valid[i] ? (double)cd.v[i] / n : 0;
        }
    } else {
        for (int i = 0; i < COUNTERS_N; i++)
            counters_valid[i] = false;
    }
    *bytes_per_iter = st.bytes_per_iter;
    *elapsed = (double)st.total_real * 1e-9;
    return 0;
}

static void summarize(struct result *r, uint64_t seed, uint64_t bytes_per_iter,
                      const bool counters_valid[COUNTERS_N])
{
    struct pk_result *p = &r->pub;
    struct stats_summary s;
    if (stats_summarize(r->samples, p->nsamples, &s) == 0) {
        p->mean_ns = s.mean;
        p->median_ns = s.median;
        p->stddev_ns = s.stddev;
    } else {
        /* Only out of memory for the sort; the mean needs none. */
        p->mean_ns = p->median_ns = stats_mean(r->samples, p->nsamples);
        p->stddev_ns = stats_stddev(r->samples, p->nsamples);
    }
    struct stats_ci ci = { p->mean_ns, p->mean_ns };
    if (p->nsamples >= 2 &&
        stats_bootstrap_ci(r->samples, p->nsamples, STATS_MEAN, BOOTSTRAP_RESAMPLES, 0.95, seed, &ci) != 0)
        ci.lo = ci.hi = NAN;
    p->ci_lo_ns = ci.lo;
    p->ci_hi_ns = ci.hi;

    /* Every repetition has the same iteration count, so means of the
     * per-iteration figures are totals over total iterations. */
    double real = 0, cpu = 0, allocs = 0, bytes = 0, ctr[COUNTERS_N] = { 0 };
    int64_t rss = 0;
    for (unsigned i = 0; i < p->repetitions; i++) {
        const struct pk_rep *rp = &r->reps[i];
        real += rp->real_ns;
        cpu += rp->cpu_ns;
        allocs += rp->allocs;
        bytes += rp->alloc_bytes;
        rss += rp->rss_growth_bytes;
        for (int k = 0; k < COUNTERS_N; k++)
            ctr[k] += rp->counters[k];
    }
    double reps = p->repetitions;
    p->real_ns = real / reps;
    p->cpu_ns = cpu / reps;
    p->cpu_util = p->real_ns > 0 ? p->cpu_ns / p->real_ns : 0;
    if (alloc_available()) {
        p->allocs_per_iter = allocs / reps;
        p->alloc_bytes_per_iter = bytes / reps;
    } else {
        p->allocs_per_iter = p->alloc_bytes_per_iter = -1;
    }
    p->rss_growth_bytes = rss;
    p->bytes_per_second = bytes_per_iter && p->real_ns > 0 ? (double)bytes_per_iter * 1e9 / p->real_ns : 0;
    for (int k = 0; k < COUNTERS_N; k++) {
        p->counter_valid[k] = counters_valid[k];
        p->counters[k] = counters_valid[k] ? ctr[k] / reps : 0;
    }
}

static int run(struct pk_bench *b, const char *name, const struct job *j, uint64_t iterations,
               const struct pk_result **out, struct pk_err *e)
{
    if (!b || !name || !j->fn || (j->fn == plain_loop && !j->plain_fn))
        return err_set(e, -EINVAL, name, "cannot run benchmark", "no bench, name or function given");
    size_t len = strlen(name);
    if (len == 0 || len > MAX_NAME)
        return err_set(e, -EINVAL, name, "cannot run benchmark", "a name must have 1 to %d characters",
                       MAX_NAME);
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct result **grown = realloc(b->results, cap * sizeof(*grown));
        if (!grown)
            return err_errno(e, -ENOMEM, name, "cannot run benchmark");
        b->results = grown;
        b->cap = cap;
    }

    unsigned reps = b->opts.repetitions;
    struct result *r = calloc(1, sizeof(*r));
    if (!r)
        return err_errno(e, -ENOMEM, name, "cannot run benchmark");
    r->name = strdup(name);
    r->samples = calloc((size_t)reps * HARNESS_MAX_BATCHES, sizeof(double));
    r->reps = calloc(reps, sizeof(struct pk_rep));
    if (!r->name || !r->samples || !r->reps) {
        result_free(r);
        return err_errno(e, -ENOMEM, name, "cannot run benchmark");
    }
    if (b->opts.counters)
        pk_bench_counters(b, NULL); /* unavailable counters are reported as invalid, not an error */

    bool counters_valid[COUNTERS_N];
    for (int k = 0; k < COUNTERS_N; k++)
        counters_valid[k] = b->ctr_state == 1;
    uint64_t bytes_per_iter = 0;
    size_t nsamples = 0;
    double elapsed = 0;
    unsigned ns;
    int rc;

    /* The first repetition calibrates: its last run is the one kept. */
    int64_t rss_before = peak_rss_bytes();
    uint64_t iters = iterations ? iterations : 1;
    for (;;) {
        rc = run_once(b, j, name, iters, r->samples, &ns, &r->reps[0], &bytes_per_iter, counters_valid,
                      &elapsed, e);
        if (rc != 0)
            goto fail;
        if (iterations || harness_run_is_final(iters, elapsed, b->opts.min_time))
            break;
        iters = harness_next_iters(iters, elapsed, b->opts.min_time);
    }
    int64_t rss_after = peak_rss_bytes();
    r->reps[0].rss_growth_bytes = rss_after - rss_before;
    nsamples = ns;

    for (unsigned i = 1; i < reps; i++) {
        rss_before = rss_after;
        rc = run_once(b, j, name, iters, r->samples + nsamples, &ns, &r->reps[i], &bytes_per_iter,
                      counters_valid, &elapsed, e);
        if (rc != 0)
            goto fail;
        rss_after = peak_rss_bytes();
        r->reps[i].rss_growth_bytes = rss_after - rss_before;
        nsamples += ns;
    }

    r->pub.name = r->name;
    r->pub.iterations = iters;
    r->pub.repetitions = reps;
    r->pub.nsamples = nsamples;
    r->pub.samples_ns = r->samples;
    r->pub.reps = r->reps;
    r->pub.counters_enabled = b->opts.counters != 0;
    summarize(r, b->opts.seed, bytes_per_iter, counters_valid);

    b->results[b->n++] = r;
    if (out)
        *out = &r->pub;
    return 0;

fail:
    result_free(r);
    return rc;
}

int pk_bench_run(struct pk_bench *b, const char *name, void (*fn)(void *arg), void *arg, uint64_t iterations,
                 const struct pk_result **out, struct pk_err *e)
{
    struct job j = { .fn = plain_loop, .plain_fn = fn, .plain_arg = arg };
    return run(b, name, &j, iterations, out, e);
}

int pk_bench_run_loop(struct pk_bench *b, const char *name, void (*fn)(struct pk_state *st), int64_t arg,
                      uint64_t iterations, const struct pk_result **out, struct pk_err *e)
{
    struct job j = { .fn = fn, .arg = arg };
    return run(b, name, &j, iterations, out, e);
}

/* ---- analysis */

int pk_analyze(const struct pk_result *const *results, size_t n, struct pk_analysis *a, struct pk_err *e)
{
    memset(a, 0, sizeof(*a));
    if (!results || n == 0)
        return err_set(e, -EINVAL, NULL, "nothing to analyse", "no results");
    a->entries = calloc(n, sizeof(*a->entries));
    if (!a->entries)
        return err_errno(e, -ENOMEM, NULL, "cannot analyse results");
    a->n = n;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double t = results[i]->mean_ns;
        sum += t;
        if (t > results[a->slowest]->mean_ns)
            a->slowest = i;
    }
    a->mean_ns = sum / (double)n;
    a->threshold_ns = 2 * a->mean_ns;
    for (size_t i = 0; i < n; i++) {
        double t = results[i]->mean_ns;
        a->entries[i].share = sum > 0 ? t / sum : 0;
        a->entries[i].bottleneck = t > a->threshold_ns;
        a->nbottlenecks += (size_t)a->entries[i].bottleneck;
    }
    return 0;
}

int pk_bench_analyze(const struct pk_bench *b, struct pk_analysis *a, struct pk_err *e)
{
    /* struct result begins with its struct pk_result, so the array of
     * results is an array of pointers to them. */
    const struct pk_result **v = malloc((b->n ? b->n : 1) * sizeof(*v));
    if (!v) {
        memset(a, 0, sizeof(*a));
        return err_errno(e, -ENOMEM, NULL, "cannot analyse results");
    }
    for (size_t i = 0; i < b->n; i++)
        v[i] = &b->results[i]->pub;
    int rc = pk_analyze(v, b->n, a, e);
    free(v);
    return rc;
}

void pk_analysis_destroy(struct pk_analysis *a)
{
    if (!a)
        return;
    free(a->entries);
    memset(a, 0, sizeof(*a));
}

/* ---- JSON (Google Benchmark 1.7's schema, read by its tools/compare.py) */

/* Adds to an object; the first failure sticks in *ok. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static void append(json_t *arr, json_t *v, bool *ok)
{
    if (!v || json_array_append_new(arr, v) != 0)
        *ok = false;
}

static json_t *context_json(const struct pk_bench *b, bool *ok)
{
    json_t *c = json_object();
    if (!c) {
        *ok = false;
        return NULL;
    }
    struct host_info h;
    memset(&h, 0, sizeof(h));
    /* A missing /proc file leaves its field empty; the report is still useful. */
    (void)host_read("/proc", "/sys", &h, NULL);

    char date[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm) && strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", &tm) > 0) {
        /* "+0100" -> "+01:00", as Google Benchmark writes it (RFC 3339). */
        size_t len = strlen(date);
        if (len >= 5 && len + 2 <= sizeof(date)) {
            memmove(date + len - 1, date + len - 2, 3);
            date[len - 2] = ':';
        }
    }
    put(c, "date", json_string(date), ok);
    put(c, "host_name", json_string(h.hostname), ok);
    put(c, "executable", json_string(program_invocation_name ? program_invocation_name : ""), ok);
    put(c, "num_cpus", json_integer(h.cpus), ok);
    put(c, "mhz_per_cpu", json_integer((json_int_t)llround(h.mhz)), ok);
    put(c, "cpu_scaling_enabled",
        json_boolean((h.governor[0] && strcmp(h.governor, "performance") != 0) || h.governor_mixed), ok);
    json_t *caches = json_array();
    for (int i = 0; caches && i < h.ncaches && i < HOST_MAX_CACHES; i++) {
        json_t *o = json_object();
        if (o) {
            put(o, "type", json_string(h.caches[i].type), ok);
            put(o, "level", json_integer(h.caches[i].level), ok);
            put(o, "size", json_integer(h.caches[i].size), ok);
            put(o, "num_sharing", json_integer(h.caches[i].num_sharing), ok);
        }
        append(caches, o, ok);
    }
    put(c, "caches", caches, ok);
    json_t *load = json_array();
    for (int i = 0; load && i < 3; i++)
        append(load, jsonio_real(h.load_known ? h.load[i] : 0), ok);
    put(c, "load_avg", load, ok);
#ifdef __OPTIMIZE__
    put(c, "library_build_type", json_string("release"), ok);
#else
    put(c, "library_build_type", json_string("debug"), ok);
#endif
    put(c, "perfkit_version", json_string(pk_version()), ok);
    put(c, "min_time", jsonio_real(b->opts.min_time), ok);
    put(c, "allocations_counted", json_boolean(alloc_available()), ok);
    return c;
}

/* Length of the family part of a name: up to the first '/'. */
static size_t family_len(const char *name)
{
    const char *slash = strchr(name, '/');
    return slash ? (size_t)(slash - name) : strlen(name);
}

static bool same_family(const char *a, const char *b)
{
    size_t la = family_len(a);
    return la == family_len(b) && memcmp(a, b, la) == 0;
}

/* Google Benchmark's family_index and per_family_instance_index: families
 * in order of first appearance, instances (distinct names) within each; a
 * name run again keeps the indexes of its first run. */
static void indexes(const struct pk_bench *b, json_int_t *family, json_int_t *instance)
{
    json_int_t nfamilies = 0;
    for (size_t i = 0; i < b->n; i++) {
        const char *name = b->results[i]->name;
        family[i] = -1;
        instance[i] = -1;
        for (size_t k = 0; k < i; k++) {
            const char *other = b->results[k]->name;
            if (strcmp(other, name) == 0) {
                family[i] = family[k];
                instance[i] = instance[k];
                break;
            }
            if (same_family(other, name)) {
                family[i] = family[k];
                if (instance[k] + 1 > instance[i])
                    instance[i] = instance[k] + 1;
            }
        }
        if (family[i] < 0) {
            family[i] = nfamilies++;
            instance[i] = 0;
        }
    }
}

static json_t *entry_head(const char *name, const char *run_name, json_int_t family, json_int_t instance,
                          const char *run_type, unsigned reps, bool *ok)
{
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "name", json_string(name), ok);
    put(o, "family_index", json_integer(family), ok);
    put(o, "per_family_instance_index", json_integer(instance), ok);
    put(o, "run_name", json_string(run_name), ok);
    put(o, "run_type", json_string(run_type), ok);
    put(o, "repetitions", json_integer(reps), ok);
    return o;
}

static void add_iterations(json_t *arr, const struct pk_result *r, json_int_t family, json_int_t instance,
                           bool *ok)
{
    for (unsigned i = 0; i < r->repetitions; i++) {
        const struct pk_rep *rp = &r->reps[i];
        json_t *o = entry_head(r->name, r->name, family, instance, "iteration", r->repetitions, ok);
        if (!o)
            return;
        put(o, "repetition_index", json_integer(i), ok);
        put(o, "threads", json_integer(1), ok);
        put(o, "iterations", json_integer((json_int_t)r->iterations), ok);
        put(o, "real_time", jsonio_real(rp->real_ns), ok);
        put(o, "cpu_time", jsonio_real(rp->cpu_ns), ok);
        put(o, "time_unit", json_string("ns"), ok);
        if (r->bytes_per_second > 0 && rp->real_ns > 0)
            put(o, "bytes_per_second", jsonio_real(r->bytes_per_second * r->real_ns / rp->real_ns), ok);
        if (rp->allocs >= 0) {
            put(o, "allocs_per_iter", jsonio_real(rp->allocs), ok);
            put(o, "alloc_bytes_per_iter", jsonio_real(rp->alloc_bytes), ok);
        }
        put(o, "rss_growth_bytes", json_integer(rp->rss_growth_bytes), ok);
        put(o, "cpu_utilization", jsonio_real(rp->real_ns > 0 ? rp->cpu_ns / rp->real_ns : 0), ok);
        for (int k = 0; k < COUNTERS_N; k++)
            if (r->counter_valid[k])
                put(o, counters_name(k), jsonio_real(rp->counters[k]), ok);
        append(arr, o, ok);
    }
}

static void add_aggregates(json_t *arr, const struct pk_result *r, json_int_t family, json_int_t instance,
                           bool *ok)
{
    unsigned n = r->repetitions;
    double *real = malloc(2 * (size_t)n * sizeof(double));
    if (!real) {
        *ok = false;
        return;
    }
    double *cpu = real + n;
    for (unsigned i = 0; i < n; i++) {
        real[i] = r->reps[i].real_ns;
        cpu[i] = r->reps[i].cpu_ns;
    }
    double mean[2] = { stats_mean(real, n), stats_mean(cpu, n) };
    double median[2] = { mean[0], mean[1] };
    if (stats_median(real, n, &median[0]) != 0 || stats_median(cpu, n, &median[1]) != 0)
        *ok = false;
    double sd[2] = { stats_stddev(real, n), stats_stddev(cpu, n) };
    /* Google Benchmark writes cv as a fraction (0.05 for 5%) with aggregate_unit "percentage". */
    double cv[2] = { mean[0] > 0 ? sd[0] / mean[0] : 0, mean[1] > 0 ? sd[1] / mean[1] : 0 };
    static const char *const agg[] = { "mean", "median", "stddev", "cv" };
    const double *vals[] = { mean, median, sd, cv };
    size_t namecap = strlen(r->name) + 16;
    char *aname = malloc(namecap);
    if (!aname) {
        free(real);
        *ok = false;
        return;
    }
    for (int a = 0; a < 4; a++) {
        snprintf(aname, namecap, "%s_%s", r->name, agg[a]);
        json_t *o = entry_head(aname, r->name, family, instance, "aggregate", n, ok);
        if (!o)
            break;
        put(o, "threads", json_integer(1), ok);
        put(o, "aggregate_name", json_string(agg[a]), ok);
        put(o, "aggregate_unit", json_string(a == 3 ? "percentage" : "time"), ok);
        put(o, "iterations", json_integer(n), ok);
        put(o, "real_time", jsonio_real(vals[a][0]), ok);
        put(o, "cpu_time", jsonio_real(vals[a][1]), ok);
        put(o, "time_unit", json_string("ns"), ok);
        append(arr, o, ok);
    }
    free(aname);
    free(real);
}

static json_t *analysis_json(const struct pk_bench *b, bool *ok, struct pk_err *e)
{
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "metric", json_string("mean real time per iteration over timed batches"), ok);
    put(o, "rule", json_string("bottleneck: real_time > 2 x the mean over all benchmarks"), ok);
    put(o, "time_unit", json_string("ns"), ok);
    json_t *list = json_array(), *bottlenecks = json_array();
    if (b->n == 0) {
        put(o, "benchmarks", list, ok);
        put(o, "bottlenecks", bottlenecks, ok);
        return o;
    }
    struct pk_analysis a;
    if (pk_bench_analyze(b, &a, e) != 0) {
        json_decref(list);
        json_decref(bottlenecks);
        json_decref(o);
        *ok = false;
        return NULL;
    }
    put(o, "slowest", json_string(b->results[a.slowest]->name), ok);
    put(o, "mean_real_time", jsonio_real(a.mean_ns), ok);
    put(o, "bottleneck_threshold", jsonio_real(a.threshold_ns), ok);
    for (size_t i = 0; list && i < b->n; i++) {
        const struct pk_result *r = &b->results[i]->pub;
        json_t *x = json_object();
        if (x) {
            put(x, "name", json_string(r->name), ok);
            put(x, "real_time", jsonio_real(r->mean_ns), ok);
            put(x, "median", jsonio_real(r->median_ns), ok);
            put(x, "stddev", jsonio_real(r->stddev_ns), ok);
            put(x, "ci95_low", jsonio_real(r->ci_lo_ns), ok);
            put(x, "ci95_high", jsonio_real(r->ci_hi_ns), ok);
            put(x, "samples", json_integer((json_int_t)r->nsamples), ok);
            put(x, "cpu_time", jsonio_real(r->cpu_ns), ok);
            put(x, "cpu_utilization", jsonio_real(r->cpu_util), ok);
            if (r->allocs_per_iter >= 0) {
                put(x, "allocs_per_iter", jsonio_real(r->allocs_per_iter), ok);
                put(x, "alloc_bytes_per_iter", jsonio_real(r->alloc_bytes_per_iter), ok);
            }
            put(x, "rss_growth_bytes", json_integer(r->rss_growth_bytes), ok);
            put(x, "share", jsonio_real(a.entries[i].share), ok);
            put(x, "bottleneck", json_boolean(a.entries[i].bottleneck), ok);
        }
        append(list, x, ok);
        if (a.entries[i].bottleneck && bottlenecks)
            append(bottlenecks, json_string(r->name), ok);
    }
    put(o, "benchmarks", list, ok);
    put(o, "bottlenecks", bottlenecks, ok);
    pk_analysis_destroy(&a);
    return o;
}

int harness_json(const struct pk_bench *b, json_t **out, struct pk_err *e)
{
    bool ok = true;
    json_t *root = json_object();
    if (!root)
        return err_errno(e, -ENOMEM, NULL, "cannot build the JSON report");
    put(root, "context", context_json(b, &ok), &ok);
    json_t *arr = json_array();
    json_int_t *family = malloc((b->n ? 2 * b->n : 1) * sizeof(json_int_t));
    if (family) {
        json_int_t *instance = family + b->n;
        indexes(b, family, instance);
        for (size_t i = 0; arr && i < b->n; i++) {
            const struct pk_result *r = &b->results[i]->pub;
            add_iterations(arr, r, family[i], instance[i], &ok);
            if (r->repetitions > 1)
                add_aggregates(arr, r, family[i], instance[i], &ok);
        }
        free(family);
    } else {
        ok = false;
    }
    put(root, "benchmarks", arr, &ok);
    struct pk_err ae;
    pk_err_clear(&ae);
    put(root, "analysis", analysis_json(b, &ok, &ae), &ok);
    if (!ok) {
        json_decref(root);
        if (ae.code)
            return err_set(e, ae.code, ae.on, ae.what, "%s", ae.why);
        return err_errno(e, -ENOMEM, NULL, "cannot build the JSON report");
    }
    *out = root;
    return 0;
}

int pk_bench_write_json(const struct pk_bench *b, const char *path, struct pk_err *e)
{
    if (!b || !path || !*path)
        return err_set(e, -EINVAL, path, "cannot write JSON report", "no bench or path given");
    json_t *root;
    int rc = harness_json(b, &root, e);
    if (rc != 0)
        return rc;
    rc = jsonio_write_atomic(path, root, e);
    json_decref(root);
    return rc;
}
