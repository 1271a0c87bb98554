#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench/harness.h"
#include "core/clock.h"
#include "core/jsonio.h"
#include "perfkit.h"

#define MIB (1024.0 * 1024.0)

static struct pk_bench *new_bench(double min_time, unsigned reps)
{
    struct pk_bench_opts o;
    pk_bench_opts_init(&o);
    o.min_time = min_time;
    o.repetitions = reps;
    struct pk_bench *b = pk_bench_new(&o);
    assert_non_null(b);
    return b;
}

static void expect_ok(int rc, const struct pk_err *e)
{
    char buf[800];
    if (rc != 0)
        fail_msg("unexpected failure %d: %s", rc, pk_err_str(e, buf, sizeof(buf)));
}

/* ---- a fresh 20 MiB buffer shows as peak-RSS growth (first: the peak so
 * far is then close to the current RSS) */

static void touch_20mib(void *arg)
{
    (void)arg;
    size_t len = 20u << 20;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return;
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    pk_do_not_optimize(p);
    munmap(p, len);
}

static void rss_growth_of_fresh_buffer(void **state)
{
    (void)state;
    struct pk_bench *b = new_bench(0.5, 1);
    const struct pk_result *r;
    struct pk_err e;
    expect_ok(pk_bench_run(b, "touch 20 MiB", touch_20mib, NULL, 3, &r, &e), &e);
    double growth = (double)r->rss_growth_bytes;
    if (fabs(growth - 20 * MIB) > 2 * MIB)
        fail_msg("RSS growth %.2f MiB, expected 20 MiB +- 10%%", growth / MIB);
    assert_int_equal(r->reps[0].rss_growth_bytes, r->rss_growth_bytes);
    pk_bench_free(b);
}

/* ---- a fixed iteration count is honoured exactly, in both styles */

static void count_call(void *arg)
{
    (*(uint64_t *)arg)++;
}

static uint64_t loop_body_count;
static uint64_t loop_calls;
static void counting_loop(struct pk_state *st)
{
    loop_calls++;
    PK_LOOP(st)
    {
        loop_body_count++;
        pk_clobber_memory();
    }
}

static void fixed_iterations_are_exact(void **state)
{
    (void)state;
    struct pk_bench *b = new_bench(0.5, 3);
    const struct pk_result *r;
    struct pk_err e;
    uint64_t calls = 0;
    expect_ok(pk_bench_run(b, "count", count_call, &calls, 1234, &r, &e), &e);
    assert_int_equal(calls, 3 * 1234);
    assert_int_equal(r->iterations, 1234);
    assert_int_equal(r->repetitions, 3);
    assert_int_equal(r->nsamples, 30); /* 10 batches per repetition */
    assert_string_equal(r->name, "count");

    loop_body_count = loop_calls = 0;
    expect_ok(pk_bench_run_loop(b, "loop", counting_loop, 0, 7, &r, &e), &e);
    assert_int_equal(loop_calls, 3); /* no calibration run, no warm-up */
    assert_int_equal(loop_body_count, 3 * 7);
    assert_int_equal(r->nsamples, 3 * 7); /* fewer iterations than batches: one each */

    loop_body_count = 0;
    expect_ok(pk_bench_run_loop(b, "loop1", counting_loop, 0, 1, &r, &e), &e);
    assert_int_equal(loop_body_count, 3);
    assert_int_equal(pk_bench_count(b), 3);
    assert_ptr_equal(pk_bench_result(b, 2), r);
    assert_null(pk_bench_result(b, 3));
    pk_bench_free(b);
}

/* ---- calibration */

static void growth_rule_matches_google_benchmark(void **state)
{
    (void)state;
    /* A run of at most a tenth of min_time: 10x. */
    assert_int_equal(harness_next_iters(1, 1e-6, 0.5), 10);
    assert_int_equal(harness_next_iters(100, 0.05, 0.5), 1000); /* exactly 0.1: still 10x */
    assert_int_equal(harness_next_iters(5, 0.0, 0.5), 50);
    /* Significant: aim at 1.4 x min_time, rounded. */
    assert_int_equal(harness_next_iters(10, 0.06, 0.5), 117); /* 10 * 0.7 / 0.06 = 116.67 */
    assert_int_equal(harness_next_iters(1000, 0.4, 0.5), 1750);
    assert_int_equal(harness_next_iters(3, 0.2, 1.0), 21);
    /* Always at least one more. */
    assert_int_equal(harness_next_iters(1, 10.0, 0.5), 2);
    /* Never past 1e9. */
    assert_int_equal(harness_next_iters(500000000, 0.001, 0.5), HARNESS_MAX_ITERS);
    assert_int_equal(harness_next_iters(HARNESS_MAX_ITERS - 1, 0.4, 0.5), HARNESS_MAX_ITERS);

    assert_true(harness_run_is_final(10, 0.5, 0.5));
    assert_false(harness_run_is_final(10, 0.4999, 0.5));
    assert_true(harness_run_is_final(HARNESS_MAX_ITERS, 0.001, 0.5));
}

#define MAX_CALLS 64
struct calib_log {
    int n;
    uint64_t iters[MAX_CALLS];
    double elapsed[MAX_CALLS]; /* as the benchmark itself saw it */
};
static struct calib_log calib;

static void spin_logged(struct pk_state *st)
{
    uint64_t t0 = clock_mono_ns();
    PK_LOOP(st)
    {
        for (volatile int i = 0; i < 50; i++) {
        }
    }
    uint64_t t1 = clock_mono_ns();
    if (calib.n < MAX_CALLS) {
        calib.iters[calib.n] = pk_state_iterations(st);
        calib.elapsed[calib.n] = (double)(t1 - t0) * 1e-9;
        calib.n++;
    }
}

static void calibration_reaches_min_time(void **state)
{
    (void)state;
    const double min_time = 0.02;
    struct pk_bench *b = new_bench(min_time, 2);
    const struct pk_result *r;
    struct pk_err e;
    memset(&calib, 0, sizeof(calib));
    expect_ok(pk_bench_run_loop(b, "spin", spin_logged, 0, 0, &r, &e), &e);

    assert_true(calib.n >= 3);
    assert_int_equal(calib.iters[0], 1);
    /* The last calibrating run is the first repetition; the second reuses its count. */
    assert_int_equal(calib.iters[calib.n - 1], r->iterations);
    assert_int_equal(calib.iters[calib.n - 2], r->iterations);
    /* The kept run lasted min_time: real time is the sum of its batches. */
    assert_true(r->reps[0].real_ns * (double)r->iterations >= min_time * 1e9 * (1 - 1e-12));

    /*
     * Each step follows the rule. The function sees its run from outside
     * the harness's batches, so its elapsed time is the harness's plus the
     * batch boundaries and any preemption in them: never less. So a step
     * must be 10x when the function saw under a tenth of min_time; else
     * either 10x (the harness saw under a tenth) or the 1.4 x min_time
     * target, which the shorter time the harness saw can only raise, and at
     * most 14x (what a tenth of min_time gives).
     */
    for (int k = 0; k + 2 < calib.n; k++) {
        uint64_t it = calib.iters[k], next = calib.iters[k + 1];
        double ratio = calib.elapsed[k] / min_time;
        assert_true(next > it);
        if (ratio <= 0.1) {
            assert_int_equal(next, 10 * it);
        } else if (next != 10 * it) {
            double want = fmax(min_time * 1.4 / calib.elapsed[k] * (double)it, (double)it + 1);
            if ((double)next + 1 < want || next > 14 * it + 1)
                fail_msg("step %d: %llu -> %llu after %.6f s; the rule gives at least %.0f and at most %llu",
                         k, (unsigned long long)it, (unsigned long long)next, calib.elapsed[k], want,
                         (unsigned long long)(14 * it + 1));
        }
    }
    pk_bench_free(b);
}

/* ---- allocations */

static void three_mallocs(void *arg)
{
    (void)arg;
    void *p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = malloc(100);
        pk_do_not_optimize(p[i]);
    }
    for (int i = 0; i < 3; i++)
        free(p[i]);
}

#ifndef PK_SANITIZED
static void allocs_in_pause(struct pk_state *st)
{
    PK_LOOP(st)
    {
        pk_state_pause(st);
        void *hidden = malloc(1000); /* set-up: not counted */
        pk_do_not_optimize(hidden);
        pk_state_resume(st);
        void *seen = calloc(2, 64);
        pk_do_not_optimize(seen);
        free(seen);
        pk_state_pause(st);
        free(hidden);
        pk_state_resume(st);
    }
}
#endif

static void allocations_are_counted_per_iteration(void **state)
{
    (void)state;
    struct pk_bench *b = new_bench(0.01, 2);
    const struct pk_result *r;
    struct pk_err e;
    expect_ok(pk_bench_run(b, "3 x 100 B", three_mallocs, NULL, 1000, &r, &e), &e);
#ifdef PK_SANITIZED
    assert_false(alloc_available());
    assert_true(r->allocs_per_iter == -1 && r->alloc_bytes_per_iter == -1);
    pk_bench_free(b);
    skip();
#else
    assert_true(r->allocs_per_iter == 3.0);
    assert_true(r->alloc_bytes_per_iter == 300.0);
    assert_true(r->reps[1].allocs == 3.0 && r->reps[1].alloc_bytes == 300.0);

    /* Calibrated counts too: the harness allocates nothing while timing. */
    expect_ok(pk_bench_run(b, "3 x 100 B calibrated", three_mallocs, NULL, 0, &r, &e), &e);
    assert_true(r->iterations > 1);
    assert_true(r->allocs_per_iter == 3.0);
    assert_true(r->alloc_bytes_per_iter == 300.0);

    /* Paused stretches are not counted. */
    expect_ok(pk_bench_run_loop(b, "paused", allocs_in_pause, 0, 100, &r, &e), &e);
    assert_true(r->allocs_per_iter == 1.0);
    assert_true(r->alloc_bytes_per_iter == 128.0);
    pk_bench_free(b);
#endif
}

/* ---- real time, CPU time and CPU utilisation of a sleeping function */

static void sleep_1ms(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The reference: the same call timed by a bare clock, in the harness's
 * layout for a fixed count (10 batches of iterations / 10 calls, each
 * batch's time per call a sample): the median sample, in ns. */
static double bare_median_ns(void (*fn)(void *), unsigned iterations)
{
    double samples[10];
    unsigned per = iterations / 10;
    for (int k = 0; k < 10; k++) {
        uint64_t t0 = clock_mono_ns();
        for (unsigned i = 0; i < per; i++)
            fn(NULL);
        samples[k] = (double)(clock_mono_ns() - t0) / per;
    }
    for (int i = 1; i < 10; i++)
        for (int j = i; j > 0 && samples[j] < samples[j - 1]; j--) {
            double t = samples[j];
            samples[j] = samples[j - 1];
            samples[j - 1] = t;
        }
    return (samples[4] + samples[5]) / 2;
}

/*
 * A sleeping function: the harness reports its real time, not its CPU time.
 * How long a 1 ms sleep takes depends on the machine's load (3.6 ms with
 * both cores busy), so the harness is held to the same sleeps timed by a bare
 * clock in the same test, the two taking turns; the claim is that the
 * harness measures what the clock does, within a quarter, and that the CPU
 * time is a small part of it.
 */
static void sleeping_is_real_time_not_cpu(void **state)
{
    (void)state;
    double ratios[3];
    for (int round = 0; round < 3; round++) {
        struct pk_bench *b = new_bench(0.5, 1);
        const struct pk_result *r;
        struct pk_err e;
        double bare = bare_median_ns(sleep_1ms, 100);
        expect_ok(pk_bench_run(b, "nanosleep 1ms", sleep_1ms, NULL, 100, &r, &e), &e);
        ratios[round] = r->median_ns / bare;
        if (!(r->cpu_util < 0.2))
            fail_msg("CPU utilisation %.2f, expected < 0.2", r->cpu_util);
        assert_true(r->cpu_ns < 0.2 * r->real_ns);
        assert_true(r->ci_lo_ns <= r->mean_ns && r->mean_ns <= r->ci_hi_ns);
        pk_bench_free(b);
    }
    /* The middle of three ratios: one round disturbed more than its turn-mate is forgiven. */
    double lo = fmin(ratios[0], fmin(ratios[1], ratios[2])), hi = fmax(ratios[0], fmax(ratios[1], ratios[2]));
    double mid = ratios[0] + ratios[1] + ratios[2] - lo - hi;
    if (!(mid > 0.75 && mid < 1.33))
        fail_msg("the harness's median is %.2f times the bare clock's (rounds: %.2f, %.2f, %.2f)", mid,
                 ratios[0], ratios[1], ratios[2]);
}

/* Paused time is left out: 2 ms of sleep per iteration while paused. */
static void sleep_paused(struct pk_state *st)
{
    PK_LOOP(st)
    {
        pk_state_pause(st);
        sleep_1ms(NULL);
        sleep_1ms(NULL);
        pk_state_resume(st);
    }
}

static void two_sleeps(void *arg)
{
    sleep_1ms(arg);
    sleep_1ms(arg);
}

/* What is measured of an iteration that sleeps 2 ms while paused is a small
 * part of those 2 ms as a bare clock sees them in the same test (the median
 * sample: a preemption in one batch does not count). */
static void paused_time_is_not_measured(void **state)
{
    (void)state;
    struct pk_bench *b = new_bench(0.5, 1);
    const struct pk_result *r;
    struct pk_err e;
    double paused = bare_median_ns(two_sleeps, 20);
    expect_ok(pk_bench_run_loop(b, "paused sleep", sleep_paused, 0, 20, &r, &e), &e);
    if (!(r->median_ns < 0.1 * paused))
        fail_msg("%.0f ns per iteration measured, the %.0f ns paused should not count", r->median_ns, paused);
    pk_bench_free(b);
}

/* ---- misuse of PK_LOOP and skipping */

static void no_loop(struct pk_state *st)
{
    (void)st;
}

static void breaks_out(struct pk_state *st)
{
    uint64_t i = 0;
    PK_LOOP(st)
    {
        if (++i == 3)
            break;
    }
}

static void skips(struct pk_state *st)
{
    pk_state_skip(st, "no fixture");
    PK_LOOP(st)
    {
        fail_msg("the loop of a skipped benchmark ran");
    }
}

static void double_loop(struct pk_state *st)
{
    PK_LOOP(st) {}
    PK_LOOP(st) {}
}

static void misuse_is_reported(void **state)
{
    (void)state;
    struct pk_bench *b = new_bench(0.01, 1);
    struct pk_err e;
    char buf[800];
    pk_err_clear(&e);
    assert_int_equal(pk_bench_run_loop(b, "no loop", no_loop, 0, 10, NULL, &e), PK_EUSAGE);
    pk_err_clear(&e);
    assert_int_equal(pk_bench_run_loop(b, "break", breaks_out, 0, 10, NULL, &e), PK_EUSAGE);
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "break"));
    pk_err_clear(&e);
    assert_int_equal(pk_bench_run_loop(b, "twice", double_loop, 0, 10, NULL, &e), PK_EUSAGE);
    pk_err_clear(&e);
    assert_int_equal(pk_bench_run_loop(b, "skip", skips, 0, 0, NULL, &e), -ECANCELED);
    assert_string_equal(pk_err_str(&e, buf, sizeof(buf)), "skip: benchmark skipped: no fixture");
    pk_err_clear(&e);
    assert_int_equal(pk_bench_run(b, "", count_call, NULL, 1, NULL, &e), -EINVAL);
    assert_int_equal(pk_bench_run(b, "null", NULL, NULL, 1, NULL, &e), -EINVAL);
    assert_int_equal(pk_bench_count(b), 0); /* failed runs keep nothing */
    pk_bench_free(b);
}

/* ---- analysis on constructed results */

static void analysis_rule(void **state)
{
    (void)state;
    struct pk_result r[5];
    memset(r, 0, sizeof(r));
    const double t[5] = { 10, 20, 30, 200, 40 };
    const struct pk_result *v[5];
    for (int i = 0; i < 5; i++) {
        r[i].mean_ns = t[i];
        v[i] = &r[i];
    }
    struct pk_analysis a;
    struct pk_err e;
    expect_ok(pk_analyze(v, 5, &a, &e), &e);
    assert_int_equal(a.n, 5);
    assert_int_equal(a.slowest, 3);
    assert_true(fabs(a.mean_ns - 60) < 1e-9);
    assert_true(fabs(a.threshold_ns - 120) < 1e-9);
    assert_int_equal(a.nbottlenecks, 1);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(a.entries[i].bottleneck, i == 3);
        assert_true(fabs(a.entries[i].share - t[i] / 300) < 1e-12);
    }
    pk_analysis_destroy(&a);
    assert_null(a.entries);

    /* Exactly twice the mean is not above it; equal maxima: the first is slowest. */
    const double u[4] = { 0, 0, 20, 20 }; /* mean 10, threshold 20 */
    for (int i = 0; i < 4; i++)
        r[i].mean_ns = u[i];
    expect_ok(pk_analyze(v, 4, &a, &e), &e);
    assert_int_equal(a.slowest, 2);
    assert_int_equal(a.nbottlenecks, 0);
    pk_analysis_destroy(&a);

    /* Two results: however different, neither exceeds twice their mean. */
    r[0].mean_ns = 1;
    r[1].mean_ns = 1000;
    expect_ok(pk_analyze(v, 2, &a, &e), &e);
    assert_int_equal(a.slowest, 1);
    assert_int_equal(a.nbottlenecks, 0);
    pk_analysis_destroy(&a);

    /* Several bottlenecks. */
    const double w[5] = { 1, 1, 1, 1000, 1000 }; /* mean 400.6, threshold 801.2 */
    for (int i = 0; i < 5; i++)
        r[i].mean_ns = w[i];
    expect_ok(pk_analyze(v, 5, &a, &e), &e);
    assert_int_equal(a.nbottlenecks, 2);
    assert_true(a.entries[3].bottleneck && a.entries[4].bottleneck);
    pk_analysis_destroy(&a);

    assert_int_equal(pk_analyze(v, 0, &a, &e), -EINVAL);
}

/* ---- JSON: Google Benchmark's keys, values from the result */

static void tiny_loop(struct pk_state *st)
{
    int64_t n = pk_state_arg(st);
    PK_LOOP(st)
    {
        for (int64_t i = 0; i < n; i++)
            pk_do_not_optimize(i);
    }
}

static void check_entry_keys(json_t *o, bool aggregate)
{
    static const char *const keys[] = { "name",     "family_index", "per_family_instance_index",
                                        "run_name", "run_type",     "repetitions",
                                        "threads",  "iterations",   "real_time",
                                        "cpu_time", "time_unit" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!json_object_get(o, keys[i]))
            fail_msg("benchmark entry without \"%s\"", keys[i]);
    assert_string_equal(json_string_value(json_object_get(o, "time_unit")), "ns");
    if (aggregate) {
        assert_non_null(json_object_get(o, "aggregate_name"));
        assert_non_null(json_object_get(o, "aggregate_unit"));
    } else {
        assert_non_null(json_object_get(o, "repetition_index"));
    }
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("\"%s\" is not a number", key);
    return json_number_value(v);
}

static void json_has_google_benchmark_schema(void **state)
{
    (void)state;
    struct pk_bench *b = new_bench(0.01, 3);
    struct pk_err e;
    const struct pk_result *r[3];
    uint64_t calls = 0;
    expect_ok(pk_bench_run_loop(b, "BM_tiny/8", tiny_loop, 8, 100, &r[0], &e), &e);
    expect_ok(pk_bench_run(b, "My Function", count_call, &calls, 50, &r[1], &e), &e);
    expect_ok(pk_bench_run_loop(b, "BM_tiny/64", tiny_loop, 64, 100, &r[2], &e), &e);

    char path[] = "/tmp/pk_test_harness_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    expect_ok(pk_bench_write_json(b, path, &e), &e);
    json_t *root;
    expect_ok(jsonio_load(path, &root, &e), &e);
    unlink(path);

    json_t *ctx = json_object_get(root, "context");
    static const char *const ckeys[] = { "date",     "host_name",   "executable",
                                         "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled",
                                         "caches",   "load_avg",    "library_build_type" };
    for (size_t i = 0; i < sizeof(ckeys) / sizeof(ckeys[0]); i++)
        if (!json_object_get(ctx, ckeys[i]))
            fail_msg("context without \"%s\"", ckeys[i]);
    assert_true(json_is_array(json_object_get(ctx, "caches")));
    assert_int_equal(json_array_size(json_object_get(ctx, "load_avg")), 3);
    const char *date = json_string_value(json_object_get(ctx, "date"));
    assert_non_null(date);
    assert_int_equal(strlen(date), strlen("2026-01-01T00:00:00+00:00"));

    json_t *arr = json_object_get(root, "benchmarks");
    assert_int_equal(json_array_size(arr), 3 * (3 + 4)); /* 3 repetitions + mean, median, stddev, cv */
    static const char *const aggs[] = { "mean", "median", "stddev", "cv" };
    const json_int_t family[3] = { 0, 1, 0 }, instance[3] = { 0, 0, 1 };
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 7; i++) {
            json_t *o = json_array_get(arr, (size_t)(7 * k + i));
            check_entry_keys(o, i >= 3);
            assert_string_equal(json_string_value(json_object_get(o, "run_name")), r[k]->name);
            assert_int_equal(json_integer_value(json_object_get(o, "family_index")), family[k]);
            assert_int_equal(json_integer_value(json_object_get(o, "per_family_instance_index")),
                             instance[k]);
            assert_int_equal(json_integer_value(json_object_get(o, "repetitions")), 3);
            assert_int_equal(json_integer_value(json_object_get(o, "threads")), 1);
            if (i < 3) {
                assert_string_equal(json_string_value(json_object_get(o, "name")), r[k]->name);
                assert_string_equal(json_string_value(json_object_get(o, "run_type")), "iteration");
                assert_int_equal(json_integer_value(json_object_get(o, "repetition_index")), i);
                assert_int_equal(json_integer_value(json_object_get(o, "iterations")), r[k]->iterations);
                assert_true(num(o, "real_time") == r[k]->reps[i].real_ns);
                assert_true(num(o, "cpu_time") == r[k]->reps[i].cpu_ns);
                assert_int_equal(json_integer_value(json_object_get(o, "rss_growth_bytes")),
                                 r[k]->reps[i].rss_growth_bytes);
#ifndef PK_SANITIZED
                assert_true(num(o, "allocs_per_iter") == r[k]->reps[i].allocs);
#else
                assert_null(json_object_get(o, "allocs_per_iter"));
#endif
            } else {
                const char *agg = aggs[i - 3];
                char want[128];
                snprintf(want, sizeof(want), "%s_%s", r[k]->name, agg);
                assert_string_equal(json_string_value(json_object_get(o, "name")), want);
                assert_string_equal(json_string_value(json_object_get(o, "run_type")), "aggregate");
                assert_string_equal(json_string_value(json_object_get(o, "aggregate_name")), agg);
                assert_string_equal(json_string_value(json_object_get(o, "aggregate_unit")),
                                    i == 6 ? "percentage" : "time");
                assert_int_equal(json_integer_value(json_object_get(o, "iterations")), 3);
                const double *x = &r[k]->reps[0].real_ns;
                (void)x;
                double m = (r[k]->reps[0].real_ns + r[k]->reps[1].real_ns + r[k]->reps[2].real_ns) / 3;
                if (i == 3 && fabs(num(o, "real_time") - m) > 1e-9 * m)
                    fail_msg("mean aggregate %.6f, repetitions' mean %.6f", num(o, "real_time"), m);
            }
        }
    }

    json_t *an = json_object_get(root, "analysis");
    assert_non_null(an);
    struct pk_analysis a;
    expect_ok(pk_bench_analyze(b, &a, &e), &e);
    assert_string_equal(json_string_value(json_object_get(an, "slowest")), r[a.slowest]->name);
    assert_true(fabs(num(an, "bottleneck_threshold") - a.threshold_ns) <= 1e-9 * a.threshold_ns);
    json_t *ab = json_object_get(an, "benchmarks");
    assert_int_equal(json_array_size(ab), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_array_get(ab, i);
        assert_string_equal(json_string_value(json_object_get(o, "name")), r[i]->name);
        assert_true(num(o, "real_time") == r[i]->mean_ns);
        assert_true(fabs(num(o, "share") - a.entries[i].share) < 1e-12);
        assert_int_equal(json_is_true(json_object_get(o, "bottleneck")), a.entries[i].bottleneck);
    }
    pk_analysis_destroy(&a);
    json_decref(root);
    pk_bench_free(b);
}

/* ---- registration through the pk_benchmarks section */

static void reg_plain(struct pk_state *st)
{
    PK_LOOP(st) {}
}
PK_BENCHMARK(reg_plain);

static void reg_args(struct pk_state *st)
{
    PK_LOOP(st) {}
}
PK_BENCHMARK_ARGS(reg_args, 1, 64, 4096);

static void registration_section(void **state)
{
    (void)state;
    size_t n;
    const struct pk_benchmark *v = pk_benchmarks(&n);
    assert_int_equal(n, 2);
    const struct pk_benchmark *plain = NULL, *args = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, "reg_plain") == 0)
            plain = &v[i];
        if (strcmp(v[i].name, "reg_args") == 0)
            args = &v[i];
    }
    assert_non_null(plain);
    assert_non_null(args);
    assert_ptr_equal(plain->fn, reg_plain);
    assert_int_equal(plain->nargs, 0);
    assert_ptr_equal(args->fn, reg_args);
    assert_int_equal(args->nargs, 3);
    assert_int_equal(args->args[0], 1);
    assert_int_equal(args->args[2], 4096);
    assert_true(plain->line < args->line);
}

/* ---- hardware counters, where the kernel allows them */

static void counters_per_iteration(void **state)
{
    (void)state;
    struct pk_bench_opts o;
    pk_bench_opts_init(&o);
    o.counters = 1;
    struct pk_bench *b = pk_bench_new(&o);
    assert_non_null(b);
    struct pk_err e;
    if (pk_bench_counters(b, &e) != 0) {
        pk_bench_free(b);
        skip();
    }
    const struct pk_result *r;
    expect_ok(pk_bench_run_loop(b, "tiny/1000", tiny_loop, 1000, 1000, &r, &e), &e);
    assert_true(r->counters_enabled);
    if (r->counter_valid[PK_COUNTER_INSTRUCTIONS]) {
        /* A thousand trips of a loop: at least a thousand instructions, far fewer than a million. */
        double ins = r->counters[PK_COUNTER_INSTRUCTIONS];
        if (!(ins >= 1000 && ins < 1e6))
            fail_msg("%.0f instructions per iteration", ins);
    }
    pk_bench_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rss_growth_of_fresh_buffer),
        cmocka_unit_test(fixed_iterations_are_exact),
        cmocka_unit_test(growth_rule_matches_google_benchmark),
        cmocka_unit_test(calibration_reaches_min_time),
        cmocka_unit_test(allocations_are_counted_per_iteration),
        cmocka_unit_test(sleeping_is_real_time_not_cpu),
        cmocka_unit_test(paused_time_is_not_measured),
        cmocka_unit_test(misuse_is_reported),
        cmocka_unit_test(analysis_rule),
        cmocka_unit_test(json_has_google_benchmark_schema),
        cmocka_unit_test(registration_section),
        cmocka_unit_test(counters_per_iteration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
