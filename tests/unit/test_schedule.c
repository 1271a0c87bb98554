/*
 * test_schedule - the request schedule: exact intended times (constant and
 * staged rates, very large k), due-count as their inverse, the per-thread
 * split, stepped targets, --stage parsing and its errors (schedule_stage_option,
 * and perfkit load's option with rates as N/s), warmup, late-send
 * accounting; and one live check of the sleeping strategy the engine uses
 * (clock_nanosleep TIMER_ABSTIME to the intended times on CLOCK_MONOTONIC).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/clock.h"
#include "load/schedule.h"

#define MS UINT64_C(1000000)
#define S  UINT64_C(1000000000)

static const char *msg(const struct pk_err *e)
{
    static char buf[800];
    return pk_err_str(e, buf, sizeof(buf));
}

static void constant(struct schedule_plan *p, uint64_t rate)
{
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(schedule_plan_init(p, rate, "-R", &e), 0);
}

static void stage(struct schedule_plan *p, const char *text)
{
    struct pk_err e;
    pk_err_clear(&e);
    bool rate;
    int rc = schedule_stage_option(p, text, &rate, &e);
    if (rc)
        fail_msg("--stage '%s' rejected: %s", text, msg(&e));
}

static uint64_t send_time(const struct schedule_plan *p, uint64_t k)
{
    uint64_t t = 0;
    int rc = schedule_send_time(p, k, &t);
    if (rc)
        fail_msg("send_time(%ju) failed: %d", (uintmax_t)k, rc);
    return t;
}

/* due(t) >= k  <=>  t >= send_time(k), checked at the edge. */
static void check_inverse_k(const struct schedule_plan *p, uint64_t k)
{
    uint64_t t = send_time(p, k);
    if (schedule_due(p, t) < k)
        fail_msg("due(send_time(%ju) = %ju) = %ju < k", (uintmax_t)k, (uintmax_t)t,
                 (uintmax_t)schedule_due(p, t));
    if (t > 0 && schedule_due(p, t - 1) >= k)
        fail_msg("due(send_time(%ju) - 1) = %ju >= k", (uintmax_t)k, (uintmax_t)schedule_due(p, t - 1));
}

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: reproducible inputs without global state */
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* ---- open model, constant rate ----------------------------------------- */

static void constant_rate_exact(void **state)
{
    (void)state;
    struct schedule_plan p;
    constant(&p, 1000);
    for (uint64_t k = 1; k <= 100000; k++)
        if (send_time(&p, k) != k * MS)
            fail_msg("k=%ju: %ju", (uintmax_t)k, (uintmax_t)send_time(&p, k));
    /* No drift however far: 10^9 and 10^13 requests at 1000/s. */
    assert_int_equal(send_time(&p, UINT64_C(1000000000)), UINT64_C(1000000000) * MS);
    assert_int_equal(send_time(&p, UINT64_C(10000000000000)), UINT64_C(10000000000000) * MS);
    assert_int_equal(schedule_due(&p, 0), 0);
    assert_int_equal(schedule_due(&p, MS - 1), 0);
    assert_int_equal(schedule_due(&p, MS), 1);
    assert_int_equal(schedule_due(&p, 10 * S), 10000);
    assert_int_equal(schedule_due(&p, UINT64_C(1000000000) * MS), UINT64_C(1000000000));
    uint64_t t = 0;
    assert_int_equal(schedule_send_time(&p, 0, &t), -ERANGE);
    /* 1.8e16 requests at 1000/s is past 2^64 ns. */
    assert_int_equal(schedule_send_time(&p, UINT64_C(18446744073709552), &t), -ERANGE);

    /* A rate that does not divide a second: each time rounded up on its
     * own, never accumulated, so request 3*10^9 at 3/s is at exactly 10^9 s. */
    constant(&p, 3);
    assert_int_equal(send_time(&p, 1), 333333334);
    assert_int_equal(send_time(&p, 2), 666666667);
    assert_int_equal(send_time(&p, 3), S);
    assert_int_equal(send_time(&p, UINT64_C(3000000000)), UINT64_C(1000000000) * S);
    assert_int_equal(send_time(&p, UINT64_C(3000000001)), UINT64_C(1000000000) * S + 333333334);
    assert_int_equal(schedule_due(&p, UINT64_C(1000000000) * S), UINT64_C(3000000000));

    /* A very high rate: 10^12/s, several requests per nanosecond. */
    constant(&p, SCHEDULE_MAX_TARGET);
    assert_int_equal(send_time(&p, 1), 1);
    assert_int_equal(send_time(&p, 1000), 1);
    assert_int_equal(send_time(&p, 1001), 2);
    assert_int_equal(schedule_due(&p, S), SCHEDULE_MAX_TARGET);
    assert_int_equal(schedule_due(&p, UINT64_MAX), UINT64_MAX); /* saturates */

    /* Zero rate: nothing is ever due. */
    constant(&p, 0);
    assert_int_equal(schedule_send_time(&p, 1, &t), -ERANGE);
    assert_int_equal(schedule_due(&p, UINT64_MAX), 0);

    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(schedule_plan_init(&p, SCHEDULE_MAX_TARGET + 1, "-R", &e), PK_EUSAGE);
    assert_non_null(strstr(msg(&e), "-R"));
}

/* ---- open model, stages ------------------------------------------------ */

static void staged_rate_exact(void **state)
{
    (void)state;
    struct schedule_plan p;
    constant(&p, 12345); /* replaced by the first stage */
    stage(&p, "2s:100");
    stage(&p, "3s:300");
    assert_int_equal(schedule_duration(&p), 5 * S);
    assert_int_equal(send_time(&p, 1), 10 * MS);
    assert_int_equal(send_time(&p, 200), 2 * S);
    assert_int_equal(send_time(&p, 201), 2 * S + 3333334); /* 2 s + 1/300 s, rounded up */
    assert_int_equal(send_time(&p, 202), 2 * S + 6666667);
    assert_int_equal(send_time(&p, 203), 2 * S + 10 * MS);
    assert_int_equal(send_time(&p, 1100), 5 * S);
    uint64_t t = 0;
    assert_int_equal(schedule_send_time(&p, 1101, &t), -ERANGE); /* the stages are over */
    assert_int_equal(schedule_due(&p, 2 * S - 1), 199);
    assert_int_equal(schedule_due(&p, 2 * S), 200);
    assert_int_equal(schedule_due(&p, 2 * S + 3333333), 200);
    assert_int_equal(schedule_due(&p, 2 * S + 3333334), 201);
    assert_int_equal(schedule_due(&p, 5 * S), 1100);
    assert_int_equal(schedule_due(&p, UINT64_MAX), 1100);
    for (uint64_t k = 1; k <= 1100; k++)
        check_inverse_k(&p, k);

    /* A stage boundary that falls between two requests: the fraction left
     * over carries into the next stage. 3/s for 0.5 s is 1.5 requests; at
     * 1/s request 2 then needs 0.5 s more, so it is at 1 s (a schedule reset
     * at the boundary would put it at 1.5 s). */
    constant(&p, 0);
    stage(&p, "500ms:3");
    stage(&p, "1s:1");
    assert_int_equal(send_time(&p, 1), 333333334);
    assert_int_equal(send_time(&p, 2), S);
    assert_int_equal(schedule_due(&p, 1500 * MS), 2); /* 2.5 requests in all */
    assert_int_equal(schedule_send_time(&p, 3, &t), -ERANGE);
    constant(&p, 0);
    stage(&p, "1s:3");
    stage(&p, "1s:2");
    assert_int_equal(send_time(&p, 3), S);
    assert_int_equal(send_time(&p, 4), S + 500 * MS);
    assert_int_equal(send_time(&p, 5), 2 * S);
}

/* A pause (target 0) issues nothing and shifts what follows. */
static void staged_pause(void **state)
{
    (void)state;
    struct schedule_plan p;
    constant(&p, 0);
    stage(&p, "1s:10");
    stage(&p, "1s:0");
    stage(&p, "1s:10");
    assert_int_equal(send_time(&p, 10), S);
    assert_int_equal(send_time(&p, 11), 2 * S + 100 * MS);
    assert_int_equal(send_time(&p, 20), 3 * S);
    assert_int_equal(schedule_due(&p, S + 999 * MS), 10);
    assert_int_equal(schedule_due(&p, 2 * S + 99 * MS), 10);
    for (uint64_t k = 1; k <= 20; k++)
        check_inverse_k(&p, k);

    /* Only pauses: nothing at all. */
    constant(&p, 0);
    stage(&p, "1s:0");
    uint64_t t;
    assert_int_equal(schedule_send_time(&p, 1, &t), -ERANGE);
    assert_int_equal(schedule_due(&p, UINT64_MAX), 0);
}

/* Large k across stages: 10^9 requests, exact. */
static void staged_large_k(void **state)
{
    (void)state;
    struct schedule_plan p;
    constant(&p, 0);
    stage(&p, "1000000s:1000"); /* 10^9 requests, up to 10^6 s */
    stage(&p, "1000000s:7");    /* then 7/s */
    assert_int_equal(send_time(&p, UINT64_C(1000000000)), UINT64_C(1000000) * S);
    assert_int_equal(send_time(&p, UINT64_C(1000000001)), UINT64_C(1000000) * S + 142857143);
    assert_int_equal(send_time(&p, UINT64_C(1000000007)), UINT64_C(1000001) * S);
    assert_int_equal(send_time(&p, UINT64_C(1007000000)), UINT64_C(2000000) * S);
    check_inverse_k(&p, UINT64_C(999999999));
    check_inverse_k(&p, UINT64_C(1000000000));
    check_inverse_k(&p, UINT64_C(1000000001));
    check_inverse_k(&p, UINT64_C(1003456789));
}

/* Random plans: intended times strictly ordered in k (non-decreasing when
 * several fall in one nanosecond), and due/send_time inverse both ways. */
static void inverse_random(void **state)
{
    (void)state;
    uint64_t seed = 42;
    for (int plan = 0; plan < 200; plan++) {
        struct schedule_plan p;
        constant(&p, rng_next(&seed) % 100000);
        unsigned n = (unsigned)(rng_next(&seed) % 6);
        struct pk_err e;
        for (unsigned i = 0; i < n; i++) {
            uint64_t dur = 1 + rng_next(&seed) % (10 * S);
            uint64_t rate = rng_next(&seed) % 4 == 0 ? 0 : rng_next(&seed) % 1000000;
            assert_int_equal(schedule_stage_append(&p, dur, rate, "test", &e), 0);
        }
        uint64_t last = schedule_due(&p, UINT64_MAX);
        uint64_t prev_t = 0, prev_k = 0;
        for (int i = 0; i < 300; i++) {
            uint64_t k =
                last ? 1 + rng_next(&seed) % (last < UINT64_C(1) << 40 ? last : UINT64_C(1) << 40) : 1;
            uint64_t t;
            int rc = schedule_send_time(&p, k, &t);
            if (rc) {
                assert_int_equal(rc, -ERANGE);
                assert_true(k > last);
                continue;
            }
            check_inverse_k(&p, k);
            if (prev_k && k > prev_k)
                assert_true(t >= prev_t);
            prev_k = k;
            prev_t = t;
            /* and from the time side: request due(t) is due by t, the next is not */
            uint64_t tt = rng_next(&seed) % (n ? schedule_duration(&p) + S : 100 * S);
            uint64_t d = schedule_due(&p, tt);
            if (d)
                assert_true(send_time(&p, d) <= tt);
            if (schedule_send_time(&p, d + 1, &t) == 0)
                assert_true(t > tt);
        }
    }
}

/* ---- per-thread split -------------------------------------------------- */

static void thread_split(void **state)
{
    (void)state;
    static const unsigned threads[] = { 1, 2, 3, 7 };
    enum { N = 10000 };
    struct schedule_plan p;
    constant(&p, 0);
    stage(&p, "2s:1000");
    stage(&p, "3s:3000"); /* 11000 requests */
    for (size_t ti = 0; ti < sizeof(threads) / sizeof(threads[0]); ti++) {
        unsigned T = threads[ti];
        unsigned char *seen = calloc(N + 1, 1);
        assert_non_null(seen);
        for (unsigned i = 0; i < T; i++) {
            uint64_t prev = 0;
            for (uint64_t j = 0;; j++) {
                uint64_t k;
                assert_int_equal(schedule_thread_seq(i, T, j, &k), 0);
                if (k > N)
                    break;
                assert_true(k > prev);
                prev = k;
                seen[k]++;
            }
        }
        for (uint64_t k = 1; k <= N; k++)
            if (seen[k] != 1)
                fail_msg("T=%u: k=%ju taken %u times", T, (uintmax_t)k, seen[k]);
        free(seen);

        /* The threads' due counts add up to the global one at every time, and
         * each equals the number of its own requests already due. */
        for (uint64_t t = 0; t <= 6 * S; t += 7 * MS + 1) {
            uint64_t sum = 0;
            for (unsigned i = 0; i < T; i++) {
                uint64_t d = schedule_thread_due(&p, i, T, t);
                sum += d;
                uint64_t k, st;
                if (d) {
                    assert_int_equal(schedule_thread_seq(i, T, d - 1, &k), 0);
                    assert_int_equal(schedule_send_time(&p, k, &st), 0);
                    assert_true(st <= t);
                }
                assert_int_equal(schedule_thread_seq(i, T, d, &k), 0);
                if (schedule_send_time(&p, k, &st) == 0)
                    assert_true(st > t);
            }
            assert_int_equal(sum, schedule_due(&p, t));
        }
    }
    uint64_t k;
    assert_int_equal(schedule_thread_seq(3, 3, 0, &k), -EINVAL);
    assert_int_equal(schedule_thread_seq(0, 0, 0, &k), -EINVAL);
    assert_int_equal(schedule_thread_seq(6, 7, UINT64_MAX / 7, &k), -ERANGE);
    assert_int_equal(schedule_thread_seq(0, 7, (UINT64_MAX - 1) / 7, &k), 0);
    assert_int_equal(schedule_thread_due(&p, 7, 7, S), 0);
}

/* ---- stepped targets (closed model) ------------------------------------ */

static void stepped_targets(void **state)
{
    (void)state;
    struct schedule_plan p;
    constant(&p, 50);
    assert_int_equal(schedule_target_at(&p, 0), 50);
    assert_int_equal(schedule_target_at(&p, UINT64_MAX), 50);
    assert_int_equal(schedule_duration(&p), 0);
    stage(&p, "10s:10");
    stage(&p, "20s:100");
    stage(&p, "5s:0");
    stage(&p, "1m:1k");
    assert_int_equal(schedule_duration(&p), 95 * S);
    assert_int_equal(schedule_target_at(&p, 0), 10);
    assert_int_equal(schedule_target_at(&p, 10 * S - 1), 10);
    assert_int_equal(schedule_target_at(&p, 10 * S), 100); /* jumps at the stage start */
    assert_int_equal(schedule_target_at(&p, 30 * S - 1), 100);
    assert_int_equal(schedule_target_at(&p, 30 * S), 0);
    assert_int_equal(schedule_target_at(&p, 35 * S), 1000);
    assert_int_equal(schedule_target_at(&p, 95 * S - 1), 1000);
    assert_int_equal(schedule_target_at(&p, 95 * S), 0); /* over */
    assert_int_equal(schedule_target_at(&p, UINT64_MAX), 0);
}

/* ---- parsing ----------------------------------------------------------- */

/* ---- perfkit load's --stage (schedule_stage_option, schedule_plan_stages) */

static void option_ok(struct schedule_plan *p, const char *text, uint64_t dur_ns, uint64_t target, bool rate)
{
    struct pk_err e;
    pk_err_clear(&e);
    bool is_rate = !rate;
    unsigned n = p->n;
    int rc = schedule_stage_option(p, text, &is_rate, &e);
    if (rc)
        fail_msg("--stage '%s' rejected: %s", text, msg(&e));
    assert_int_equal(p->n, n + 1);
    assert_int_equal(p->stage[n].dur_ns, dur_ns);
    assert_int_equal(p->stage[n].target, target);
    assert_int_equal(is_rate, rate);
}

/* Refused with code and the whole message; the plan is left as it was. */
static void option_bad(const char *text, int code, const char *want)
{
    struct schedule_plan p;
    constant(&p, 0);
    option_ok(&p, "1s:1", S, 1, false);
    struct pk_err e;
    pk_err_clear(&e);
    bool is_rate = false;
    int rc = schedule_stage_option(&p, text, &is_rate, &e);
    if (rc == 0)
        fail_msg("--stage '%s' accepted", text);
    assert_int_equal(rc, code);
    assert_int_equal(e.code, code);
    if (strcmp(msg(&e), want) != 0)
        fail_msg("--stage '%s': '%s', want '%s'", text, msg(&e), want);
    assert_int_equal(p.n, 1);
    assert_int_equal(schedule_duration(&p), S);
}

static void stage_option(void **state)
{
    (void)state;
    struct schedule_plan p;
    constant(&p, 0);
    option_ok(&p, "30s:200", 30 * S, 200, false);
    option_ok(&p, "1m30s:1.5k/s", 90 * S, 1500, true);
    option_ok(&p, "500ms:0", 500 * MS, 0, false);
    option_ok(&p, "1ns:0/s", 1, 0, true);
    option_ok(&p, "1.5ns:2M", 2, 2000000, false); /* rounded to the nearest ns */
    assert_int_equal(p.n, 5);
    assert_int_equal(schedule_duration(&p), 120 * S + 500 * MS + 3);

    /* The text's shape, as perfkit load has always said it: PK_EUSAGE. */
    const char *shape = ": expected DUR:TARGET, e.g. 30s:200 (connections) or 30s:5000/s (requests/s)";
    const char *texts[] = { "30s", "", "1s:2:3", "/s", "30s/s" };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char want[300];
        snprintf(want, sizeof(want), "--stage: invalid stage '%s'%s", texts[i], shape);
        option_bad(texts[i], PK_EUSAGE, want);
    }
    option_bad("1s\n2", PK_EUSAGE,
               "--stage: invalid stage '1s\\x0a2': expected DUR:TARGET, e.g. 30s:200 (connections) "
               "or 30s:5000/s (requests/s)");
    option_bad("0s:5", PK_EUSAGE, "--stage '0s:5': the duration must be longer than 0");
    option_bad("0.4ns:5/s", PK_EUSAGE, "--stage '0.4ns:5/s': the duration must be longer than 0");
    option_bad("60000d:1", PK_EUSAGE, "--stage '60000d:1': the duration is too long");

    /* The halves: core/units' messages after the option and the text. */
    option_bad("5x:100", PK_EPARSE,
               "--stage '5x:100': invalid duration '5x': unknown unit 'x' (use ns, us, ms, s, m, h, d)");
    option_bad("10s:abc", PK_EPARSE,
               "--stage '10s:abc': invalid count 'abc': expected a number before 'abc'");
    option_bad("10s:1.5/s", PK_EPARSE, "--stage '10s:1.5/s': invalid count '1.5': not a whole number");
    option_bad("1s:/s", PK_EPARSE,
               "--stage '1s:/s': invalid count '': empty value (expected e.g. 10, 1.5k, 2M)");
    option_bad("1s:5/S", PK_EPARSE,
               "--stage '1s:5/S': invalid count '5/S': unknown suffix '/S' (use k, M, G)");
    /* The plan's limits. */
    option_bad(
        "1s:2000G/s", PK_EPARSE,
        "--stage '1s:2000G/s': invalid stage: target 2000000000000 is above the limit of 1000000000000");

    /* Too long: the text is quoted whole up to the limit, and cut (not the
     * message) when its escapes would not fit. */
    char text[SCHEDULE_STAGE_TEXT_MAX + 2], want[400];
    memset(text, '1', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    snprintf(want, sizeof(want), "--stage: '%s' is longer than 128 bytes", text);
    option_bad(text, PK_EUSAGE, want);
    memset(text, 1, sizeof(text) - 1);
    struct pk_err e;
    pk_err_clear(&e);
    bool is_rate;
    constant(&p, 0);
    assert_int_equal(schedule_stage_option(&p, text, &is_rate, &e), PK_EUSAGE);
    assert_non_null(strstr(msg(&e), "--stage: '\\x01\\x01"));
    assert_non_null(strstr(msg(&e), "\\x01...' is longer than 128 bytes"));

    /* Too many. */
    constant(&p, 0);
    for (int i = 0; i < SCHEDULE_MAX_STAGES; i++)
        option_ok(&p, "1s:1", S, 1, false);
    pk_err_clear(&e);
    assert_int_equal(schedule_stage_option(&p, "1s:1", &is_rate, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "--stage '1s:1': too many stages: at most 64");
    assert_int_equal(p.n, SCHEDULE_MAX_STAGES);
    assert_int_equal(schedule_stage_append(&p, S, 1, "x", &e), PK_EUSAGE);

    /* The total length is capped. */
    constant(&p, 0);
    option_ok(&p, "50000d:1", UINT64_C(50000) * 86400 * S, 1, false);
    pk_err_clear(&e);
    assert_int_equal(schedule_stage_option(&p, "50000d:1", &is_rate, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "--stage '50000d:1': invalid stage: the stages last longer than "
                                 "4611686018 s in all");
    assert_int_equal(p.n, 1);
}

static void plan_stages(void **state)
{
    (void)state;
    struct schedule_plan p;
    struct pk_err e;
    pk_err_clear(&e);
    bool rate = false;
    const char *rates[] = { "10s:100/s", "20s:200/s", "5s:0/s" };
    assert_int_equal(schedule_plan_stages(&p, rates, 3, &rate, &e), 0);
    assert_true(rate);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.stage[1].start_ns, 10 * S);
    assert_int_equal(p.stage[1].target, 200);
    assert_int_equal(schedule_duration(&p), 35 * S);
    assert_int_equal(schedule_due(&p, 35 * S), 100 * 10 + 200 * 20);

    const char *conns[] = { "1m:50", "1m:100" };
    assert_int_equal(schedule_plan_stages(&p, conns, 2, &rate, &e), 0);
    assert_false(rate);
    assert_int_equal(p.n, 2);
    assert_int_equal(schedule_target_at(&p, 90 * S), 100);

    /* A plan built before is replaced, not added to. */
    assert_int_equal(schedule_plan_stages(&p, conns, 1, &rate, &e), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(schedule_plan_stages(&p, NULL, 0, &rate, &e), 0);
    assert_int_equal(p.n, 0);
    assert_false(rate);

    const char *mixed[] = { "1s:5", "1s:5/s" };
    pk_err_clear(&e);
    assert_int_equal(schedule_plan_stages(&p, mixed, 2, &rate, &e), PK_EUSAGE);
    assert_string_equal(msg(&e), "--stage: all stages are connections (30s:200) or all are rates "
                                 "(30s:5000/s), not both");
    const char *mixed2[] = { "1s:5/s", "1s:5", "bad" };
    pk_err_clear(&e);
    assert_int_equal(schedule_plan_stages(&p, mixed2, 3, &rate, &e), PK_EUSAGE);
    assert_non_null(strstr(msg(&e), "not both"));
    /* The first bad stage is the one named. */
    const char *bad[] = { "1s:5", "1s:x", "1s" };
    pk_err_clear(&e);
    assert_int_equal(schedule_plan_stages(&p, bad, 3, &rate, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "--stage '1s:x': invalid count 'x': expected a number before 'x'");
}

/* ---- run end, -d, warmup ----------------------------------------------- */

static void run_end(void **state)
{
    (void)state;
    struct schedule_plan p;
    struct pk_err e;
    uint64_t end = 7;
    constant(&p, 1000);
    assert_int_equal(schedule_run_end(&p, 0, 0, &end, &e), 0);
    assert_int_equal(end, 0); /* unbounded: -n or Ctrl-C ends it */
    assert_int_equal(schedule_run_end(&p, 10 * S, 2 * S, &end, &e), 0);
    assert_int_equal(end, 10 * S);
    pk_err_clear(&e);
    end = 7;
    assert_int_equal(schedule_run_end(&p, 10 * S, 10 * S, &end, &e), PK_EUSAGE);
    assert_int_equal(end, 7);
    assert_string_equal(msg(&e), "--warmup: warmup not shorter than the run: nothing would be measured");

    stage(&p, "10s:100");
    stage(&p, "20s:200");
    assert_int_equal(schedule_run_end(&p, 0, 10 * S, &end, &e), 0);
    assert_int_equal(end, 30 * S);
    pk_err_clear(&e);
    assert_int_equal(schedule_run_end(&p, 5 * S, 0, &end, &e), PK_EUSAGE);
    assert_string_equal(msg(&e),
                        "-d: conflicts with --stage: the stages define the duration; give one or the other");
}

static void warmup(void **state)
{
    (void)state;
    struct schedule_plan p;
    constant(&p, 1000);
    /* 2 s of warmup at 1000/s: exactly the first 2000 requests. */
    assert_true(schedule_in_warmup(&p, 2 * S, 1));
    assert_true(schedule_in_warmup(&p, 2 * S, 2000));
    assert_false(schedule_in_warmup(&p, 2 * S, 2001));
    assert_false(schedule_in_warmup(&p, 0, 1));
    /* A warmup that is the first stage excludes exactly that stage. */
    constant(&p, 0);
    stage(&p, "10s:50");
    stage(&p, "1m:500");
    uint64_t wc = schedule_due(&p, 10 * S);
    assert_int_equal(wc, 500);
    uint64_t t;
    assert_int_equal(schedule_send_time(&p, wc, &t), 0);
    assert_int_equal(t, 10 * S);
    assert_int_equal(schedule_send_time(&p, wc + 1, &t), 0);
    assert_true(t > 10 * S);
    assert_false(schedule_in_warmup(&p, 10 * S, wc + 1));
    /* Measured requests of the whole run: rate x measured time. */
    assert_int_equal(schedule_due(&p, 70 * S) - wc, 30000);
}

/* ---- late-send accounting ---------------------------------------------- */

static void account(void **state)
{
    (void)state;
    struct schedule_sample s;
    /* on time: both latencies equal */
    schedule_account(1000 * MS, 1000 * MS, 1005 * MS, &s);
    assert_int_equal(s.corrected_ns, 5 * MS);
    assert_int_equal(s.uncorrected_ns, 5 * MS);
    assert_int_equal(s.lateness_ns, 0);
    assert_false(s.late);
    /* exactly at the tolerance: not late; one nanosecond more: late */
    schedule_account(1000 * MS, 1001 * MS, 1005 * MS, &s);
    assert_int_equal(s.lateness_ns, SCHEDULE_LATE_NS);
    assert_false(s.late);
    schedule_account(1000 * MS, 1001 * MS + 1, 1005 * MS, &s);
    assert_true(s.late);
    /* written 300 ms late: the corrected latency carries the wait */
    schedule_account(1000 * MS, 1300 * MS, 1302 * MS, &s);
    assert_int_equal(s.corrected_ns, 302 * MS);
    assert_int_equal(s.uncorrected_ns, 2 * MS);
    assert_int_equal(s.lateness_ns, 300 * MS);
    assert_true(s.late);
    /* an early write is measured from the write */
    schedule_account(1000 * MS, 990 * MS, 995 * MS, &s);
    assert_int_equal(s.corrected_ns, 5 * MS);
    assert_int_equal(s.uncorrected_ns, 5 * MS);
    assert_int_equal(s.lateness_ns, 0);
    /* never a wrapped value */
    schedule_account(1000 * MS, 1000 * MS, 999 * MS, &s);
    assert_int_equal(s.corrected_ns, 0);
    assert_int_equal(s.uncorrected_ns, 0);
    schedule_account(0, UINT64_MAX, UINT64_MAX, &s);
    assert_int_equal(s.corrected_ns, UINT64_MAX);
    assert_int_equal(s.lateness_ns, UINT64_MAX);
}

/* ---- live: the sleeping strategy --------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void live_accuracy(void **state)
{
    (void)state;
    enum { N = 2000, RATE = 2000 };
    struct schedule_plan p;
    constant(&p, RATE);
    uint64_t *late = calloc(N, sizeof(*late));
    assert_non_null(late);
    uint64_t start = clock_mono_ns();
    uint64_t last = start;
    unsigned nlate = 0;
    for (uint64_t k = 1; k <= N; k++) {
        uint64_t at = start + send_time(&p, k);
        struct timespec ts = { (time_t)(at / S), (long)(at % S) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        uint64_t now = clock_mono_ns();
        struct schedule_sample s;
        schedule_account(at, now, now, &s);
        late[k - 1] = s.lateness_ns;
        nlate += s.late;
        last = now;
    }
    double elapsed = (double)(last - start) / 1e9;
    double achieved = N / elapsed;
    qsort(late, N, sizeof(*late), cmp_u64);
    uint64_t p50 = late[N / 2], p99 = late[(N * 99) / 100 - 1], max = late[N - 1];
    print_message("live: target %d/s, achieved %.2f/s (%+.3f%%) over %.6f s; lateness p50 %.1f us, "
                  "p99 %.1f us, max %.1f us; late sends (> 1 ms) %u of %d\n",
                  RATE, achieved, (achieved / RATE - 1) * 100, elapsed, (double)p50 / 1e3, (double)p99 / 1e3,
                  (double)max / 1e3, nlate, N);
    free(late);
    if (achieved < RATE * 0.98 || achieved > RATE * 1.02)
        fail_msg("achieved %.2f/s, not within 2%% of %d/s", achieved, RATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constant_rate_exact),
        cmocka_unit_test(staged_rate_exact),
        cmocka_unit_test(staged_pause),
        cmocka_unit_test(staged_large_k),
        cmocka_unit_test(inverse_random),
        cmocka_unit_test(thread_split),
        cmocka_unit_test(stepped_targets),
        cmocka_unit_test(stage_option),
        cmocka_unit_test(plan_stages),
        cmocka_unit_test(run_end),
        cmocka_unit_test(warmup),
        cmocka_unit_test(account),
        cmocka_unit_test(live_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
