#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/results.h"

static struct bench_run run_of(double wall)
{
    struct bench_run r;
    memset(&r, 0, sizeof(r));
    r.wall_s = wall;
    return r;
}

static void set_copies_strings_and_params(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    char name[] = "fast", cmd[] = "sleep 0.1", pn[] = "t", pv[] = "0.1";
    struct bench_param p = { pn, pv };
    assert_int_equal(bench_set_add(&s, name, cmd, &p, 1), 0);
    assert_int_equal(bench_set_add(&s, NULL, "true", NULL, 0), 1);
    /* The set must not keep the caller's buffers. */
    memset(name, 'x', sizeof(name) - 1);
    memset(cmd, 'x', sizeof(cmd) - 1);
    pn[0] = 'x';
    pv[0] = 'x';
    assert_int_equal(s.ncmds, 2);
    assert_string_equal(s.cmds[0].name, "fast");
    assert_string_equal(s.cmds[0].command, "sleep 0.1");
    assert_int_equal(s.cmds[0].nparams, 1);
    assert_string_equal(s.cmds[0].params[0].name, "t");
    assert_string_equal(s.cmds[0].params[0].value, "0.1");
    /* Without --command-name the name is the command. */
    assert_string_equal(s.cmds[1].name, "true");
    assert_string_equal(s.cmds[1].command, "true");
    assert_null(s.cmds[1].params);
    assert_int_equal(bench_set_add(&s, "x", NULL, NULL, 0), -EINVAL);
    bench_set_destroy(&s);
    assert_int_equal(s.ncmds, 0);
    assert_null(s.cmds);
    bench_set_destroy(&s); /* twice is harmless */
}

static void runs_grow_and_keep_values(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    assert_int_equal(bench_set_add(&s, NULL, "true", NULL, 0), 0);
    struct bench_cmd *c = &s.cmds[0];
    for (int i = 0; i < 10000; i++) {
        struct bench_run r = run_of(i * 0.5);
        r.exit_code = i % 7;
        assert_int_equal(bench_cmd_add_run(c, &r), 0);
    }
    assert_int_equal(c->nruns, 10000);
    assert_true(c->cap >= c->nruns);
    assert_true(c->cap < 2 * c->nruns + 16); /* doubling, not one by one */
    for (int i = 0; i < 10000; i++) {
        assert_true(c->runs[i].wall_s == i * 0.5);
        assert_int_equal(c->runs[i].exit_code, i % 7);
    }
    double *t = bench_cmd_times(c);
    assert_non_null(t);
    assert_true(t[9999] == 4999.5);
    free(t);
    bench_set_destroy(&s);
}

static void times_of_a_command_without_runs(void **state)
{
    (void)state;
    struct bench_cmd c;
    memset(&c, 0, sizeof(c));
    double *t = bench_cmd_times(&c);
    assert_non_null(t); /* NULL is reserved for out of memory */
    free(t);
    struct bench_stats st;
    assert_int_equal(bench_cmd_stats(&c, &st), -EINVAL);
}

static void stats_of_one_to_ten(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    assert_int_equal(bench_set_add(&s, NULL, "x", NULL, 0), 0);
    struct bench_cmd *c = &s.cmds[0];
    /* Out of order, so nothing relies on sorted input. */
    const int order[10] = { 7, 2, 10, 1, 5, 9, 3, 8, 6, 4 };
    for (int i = 0; i < 10; i++) {
        struct bench_run r = run_of(order[i]);
        r.user_s = 0.25 * order[i];
        r.sys_s = 0.125;
        r.max_rss_bytes = (uint64_t)order[i] * 1000 + 1; /* 1001 .. 10001 */
        if (order[i] == 3)
            r.exit_code = 2;
        if (order[i] == 8) {
            r.exit_code = -1;
            r.term_signal = 9;
        }
        assert_int_equal(bench_cmd_add_run(c, &r), 0);
    }

    struct bench_stats st;
    assert_int_equal(bench_cmd_stats(c, &st), 0);
    assert_int_equal(st.wall.n, 10);
    assert_true(st.wall.mean == 5.5);
    assert_true(st.wall.median == 5.5);
    assert_true(fabs(st.wall.stddev - 3.0276503540974917) < 1e-15);
    assert_true(st.wall.min == 1.0);
    assert_true(st.wall.max == 10.0);
    assert_true(fabs(st.wall.q1 - 3.25) < 1e-12); /* linear: 1 + 0.25 * 9 = 3.25th value */
    assert_true(fabs(st.wall.q3 - 7.75) < 1e-12);
    assert_true(st.wall.mad == 2.5); /* |x - 5.5|: 0.5 0.5 1.5 1.5 2.5 | 2.5 ... */
    assert_true(fabs(st.user_mean - 1.375) < 1e-15);
    assert_true(st.sys_mean == 0.125);
    assert_int_equal(st.rss_max, 10001);
    assert_int_equal(st.rss_median, 5501); /* (5001 + 6001) / 2 */
    assert_int_equal(st.failed_runs, 2);
    assert_int_equal(st.outliers.zscore, 0);
    assert_int_equal(
        st.outliers.high_severe + st.outliers.high_mild + st.outliers.low_mild + st.outliers.low_severe, 0);

    /* The CIs are the documented bootstrap, reproducible bit for bit. */
    double t[10];
    for (int i = 0; i < 10; i++)
        t[i] = order[i];
    struct stats_ci mean_ci, median_ci;
    assert_int_equal(stats_bootstrap_ci(t, 10, STATS_MEAN, BENCH_BOOTSTRAP_RESAMPLES, 0.95,
                                        BENCH_BOOTSTRAP_SEED, &mean_ci),
                     0);
    assert_int_equal(stats_bootstrap_ci(t, 10, STATS_MEDIAN, BENCH_BOOTSTRAP_RESAMPLES, 0.95,
                                        BENCH_BOOTSTRAP_SEED, &median_ci),
                     0);
    assert_true(st.mean_ci.lo == mean_ci.lo && st.mean_ci.hi == mean_ci.hi);
    assert_true(st.median_ci.lo == median_ci.lo && st.median_ci.hi == median_ci.hi);
    assert_true(st.mean_ci.lo > 1.0 && st.mean_ci.lo < 5.5);
    assert_true(st.mean_ci.hi > 5.5 && st.mean_ci.hi < 10.0);
    assert_true(st.median_ci.lo >= 1.0 && st.median_ci.lo < 5.5);
    assert_true(st.median_ci.hi > 5.5 && st.median_ci.hi <= 10.0);
    bench_set_destroy(&s);
}

static void stats_count_an_outlier(void **state)
{
    (void)state;
    struct bench_cmd c;
    memset(&c, 0, sizeof(c));
    /* 10..19 and 100: median 15, MAD 3, z(100) = 85 / 3 > 14.826; q1 12.5,
     * q3 17.5, IQR 5, so 100 is beyond q3 + 3 IQR = 32.5. */
    for (int i = 10; i < 20; i++) {
        struct bench_run r = run_of(i);
        assert_int_equal(bench_cmd_add_run(&c, &r), 0);
    }
    struct bench_run r = run_of(100);
    assert_int_equal(bench_cmd_add_run(&c, &r), 0);
    struct bench_stats st;
    assert_int_equal(bench_cmd_stats(&c, &st), 0);
    assert_int_equal(st.outliers.zscore, 1);
    assert_int_equal(st.outliers.high_severe, 1);
    assert_int_equal(st.outliers.high_mild, 0);
    assert_int_equal(st.outliers.low_mild + st.outliers.low_severe, 0);
    assert_int_equal(st.failed_runs, 0);
    free(c.runs);
}

static void stats_of_one_run(void **state)
{
    (void)state;
    struct bench_cmd c;
    memset(&c, 0, sizeof(c));
    struct bench_run r = run_of(0.25);
    r.max_rss_bytes = UINT64_MAX; /* no overflow in the median */
    assert_int_equal(bench_cmd_add_run(&c, &r), 0);
    struct bench_stats st;
    assert_int_equal(bench_cmd_stats(&c, &st), 0);
    assert_true(st.wall.mean == 0.25 && st.wall.median == 0.25 && st.wall.stddev == 0.0);
    assert_true(st.mean_ci.lo == 0.25 && st.mean_ci.hi == 0.25);
    assert_int_equal(st.rss_max, UINT64_MAX);
    assert_int_equal(st.rss_median, UINT64_MAX);
    free(c.runs);
}

/* n values around `centre`, spread by +/- 0.5 % in a fixed pattern. */
static void sample(double *x, size_t n, double centre)
{
    for (size_t i = 0; i < n; i++)
        x[i] = centre * (1.0 + 0.005 * ((double)((i * 7) % n) / (double)(n - 1) * 2.0 - 1.0));
}

static void ten_percent_slower_is_slower(void **state)
{
    (void)state;
    double a[20], b[20];
    sample(b, 20, 0.100);
    for (int i = 0; i < 20; i++)
        a[i] = b[i] * 1.10;
    struct bench_comparison cmp;
    assert_int_equal(bench_compare_samples(a, 20, b, 20, 0.02, &cmp), 0);
    assert_int_equal(cmp.verdict, BENCH_SLOWER);
    assert_true(fabs(cmp.ratio_median - 1.10) < 1e-12);
    assert_true(fabs(cmp.ratio_mean - 1.10) < 1e-12);
    assert_true(cmp.ratio_median_ci.lo > 1.08 && cmp.ratio_median_ci.lo <= 1.10);
    assert_true(cmp.ratio_median_ci.hi >= 1.10 && cmp.ratio_median_ci.hi < 1.12);
    assert_true(cmp.ratio_mean_ci.lo > 1.08 && cmp.ratio_mean_ci.hi < 1.12);
    /* Completely separated samples of 20 and 20: exact p = 2 / C(40, 20). */
    assert_true(cmp.mwu.exact);
    assert_true(fabs(cmp.mwu.p - 2.0 / 137846528820.0) < 1e-20);
    assert_true(cmp.mwu.u == 400.0);
    assert_true(cmp.shift_s > 0.0095 && cmp.shift_s < 0.0105);

    /* And the other way round. */
    assert_int_equal(bench_compare_samples(b, 20, a, 20, 0.02, &cmp), 0);
    assert_int_equal(cmp.verdict, BENCH_FASTER);
    assert_true(fabs(cmp.ratio_median - 1.0 / 1.10) < 1e-12);
    assert_true(cmp.shift_s < -0.0095);
}

static void one_percent_within_two_percent_is_same(void **state)
{
    (void)state;
    double a[30], b[30];
    sample(b, 30, 0.050);
    for (int i = 0; i < 30; i++)
        a[i] = b[i] * 1.01;
    struct bench_comparison cmp;
    assert_int_equal(bench_compare_samples(a, 30, b, 30, 0.02, &cmp), 0);
    /* Significant, but smaller than the threshold. */
    assert_true(cmp.mwu.p < 0.05);
    assert_true(fabs(cmp.ratio_median - 1.01) < 1e-12);
    assert_int_equal(cmp.verdict, BENCH_SAME);
    /* With a 0.5 % threshold the same samples are a regression. */
    assert_int_equal(bench_compare_samples(a, 30, b, 30, 0.005, &cmp), 0);
    assert_int_equal(cmp.verdict, BENCH_SLOWER);
}

static void identical_is_same(void **state)
{
    (void)state;
    double a[25];
    sample(a, 25, 0.2);
    struct bench_comparison cmp;
    assert_int_equal(bench_compare_samples(a, 25, a, 25, 0.02, &cmp), 0);
    assert_int_equal(cmp.verdict, BENCH_SAME);
    assert_true(cmp.ratio_median == 1.0);
    assert_true(cmp.ratio_mean == 1.0);
    assert_true(cmp.mwu.p > 0.9);
    assert_true(cmp.shift_s == 0.0);
}

static void too_few_runs_is_not_significant(void **state)
{
    (void)state;
    /* Two runs each: the smallest exact p is 2 / C(4, 2) = 1/3, so even a
     * 50 % difference is not a verdict. */
    const double a[2] = { 0.15, 0.151 }, b[2] = { 0.10, 0.101 };
    struct bench_comparison cmp;
    assert_int_equal(bench_compare_samples(a, 2, b, 2, 0.02, &cmp), 0);
    assert_true(fabs(cmp.mwu.p - 1.0 / 3.0) < 1e-12);
    assert_int_equal(cmp.verdict, BENCH_SAME);
}

static void compare_rejects_bad_input(void **state)
{
    (void)state;
    const double a[3] = { 1, 2, 3 }, z[3] = { 0, 0, 0 };
    struct bench_comparison cmp;
    assert_int_equal(bench_compare_samples(a, 0, a, 3, 0.02, &cmp), -EINVAL);
    assert_int_equal(bench_compare_samples(a, 3, a, 0, 0.02, &cmp), -EINVAL);
    assert_int_equal(bench_compare_samples(a, 3, a, 3, -0.01, &cmp), -EINVAL);
    assert_int_equal(bench_compare_samples(a, 3, a, 3, NAN, &cmp), -EINVAL);
    assert_int_equal(bench_compare_samples(a, 3, a, 3, INFINITY, &cmp), -EINVAL);
    /* A zero median has no ratio; the test and the shift are still there. */
    assert_int_equal(bench_compare_samples(a, 3, z, 3, 0.02, &cmp), -EDOM);
    assert_true(isnan(cmp.ratio_median));
    assert_true(cmp.shift_s == 2.0);
    assert_true(cmp.mwu.p > 0 && cmp.mwu.p <= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_copies_strings_and_params),
        cmocka_unit_test(runs_grow_and_keep_values),
        cmocka_unit_test(times_of_a_command_without_runs),
        cmocka_unit_test(stats_of_one_to_ten),
        cmocka_unit_test(stats_count_an_outlier),
        cmocka_unit_test(stats_of_one_run),
        cmocka_unit_test(ten_percent_slower_is_slower),
        cmocka_unit_test(one_percent_within_two_percent_is_same),
        cmocka_unit_test(identical_is_same),
        cmocka_unit_test(too_few_runs_is_not_significant),
        cmocka_unit_test(compare_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
