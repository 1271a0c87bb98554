#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/rng.h"
#include "core/stats.h"
#include "perfkit.h"

/* Expected values come from tests/fixtures/stats/gen.py (numpy, scipy and a
 * Python replay of the generator). Deterministic results must agree to
 * rounding; scipy's p values go through a different erfc, hence 1e-9. */
#define REL   1e-12
#define REL_P 1e-9

static void check_close(double got, double want, double rel, const char *what, const char *on)
{
    if (got == want || fabs(got - want) <= rel * fabs(want))
        return;
    fail_msg("%s of %s: got %.17g, want %.17g (rel %.3g)", what, on, got, want,
             fabs(got - want) / fabs(want));
}

static int cmp_d(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* ---- fixture access */

static int load_fixture(void **state)
{
    json_error_t jerr;
    json_t *root = json_load_file(PK_FIXTURES "/stats/expected.json", 0, &jerr);
    if (!root) {
        fprintf(stderr, "expected.json:%d: %s\n", jerr.line, jerr.text);
        return -1;
    }
    *state = root;
    return 0;
}

static int free_fixture(void **state)
{
    json_decref(*state);
    return 0;
}

static json_t *section(void **state, const char *key)
{
    json_t *a = json_object_get(*state, key);
    assert_non_null(a);
    assert_true(json_is_array(a));
    assert_true(json_array_size(a) > 0);
    return a;
}

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    assert_non_null(s);
    return s;
}

static double num_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static long long int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* Caller frees. */
static double *sample(void **state, const char *name, size_t *n)
{
    json_t *arr = json_object_get(json_object_get(*state, "samples"), name);
    assert_non_null(arr);
    *n = json_array_size(arr);
    assert_true(*n > 0);
    double *x = malloc(*n * sizeof(*x));
    assert_non_null(x);
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(arr, i);
        assert_true(json_is_real(v));
        x[i] = json_real_value(v);
    }
    return x;
}

static enum stats_estimator estimator_of(json_t *o)
{
    const char *e = str_of(o, "estimator");
    if (strcmp(e, "mean") == 0)
        return STATS_MEAN;
    assert_string_equal(e, "median");
    return STATS_MEDIAN;
}

/* ---- against the fixture */

static void summary_matches_numpy(void **state)
{
    json_t *all = section(state, "summary"), *c;
    size_t i;
    json_array_foreach(all, i, c)
    {
        const char *name = str_of(c, "sample");
        size_t n;
        double *x = sample(state, name, &n);
        double *before = malloc(n * sizeof(*x));
        assert_non_null(before);
        memcpy(before, x, n * sizeof(*x));

        struct stats_summary s;
        assert_int_equal(stats_summarize(x, n, &s), 0);
        assert_int_equal(s.n, int_of(c, "n"));
        check_close(s.mean, num_of(c, "mean"), REL, "mean", name);
        check_close(s.stddev, num_of(c, "stddev"), REL, "stddev", name);
        check_close(s.median, num_of(c, "median"), REL, "median", name);
        check_close(s.min, num_of(c, "min"), 0, "min", name);
        check_close(s.max, num_of(c, "max"), 0, "max", name);
        check_close(s.q1, num_of(c, "q1"), REL, "q1", name);
        check_close(s.q3, num_of(c, "q3"), REL, "q3", name);
        check_close(s.mad, num_of(c, "mad"), REL, "mad", name);

        check_close(stats_mean(x, n), num_of(c, "mean"), REL, "stats_mean", name);
        check_close(stats_stddev(x, n), num_of(c, "stddev"), REL, "stats_stddev", name);
        double v;
        assert_int_equal(stats_median(x, n, &v), 0);
        check_close(v, num_of(c, "median"), REL, "stats_median", name);
        assert_int_equal(stats_mad(x, n, &v), 0);
        check_close(v, num_of(c, "mad"), REL, "stats_mad", name);

        double *sorted = malloc(n * sizeof(*sorted));
        assert_non_null(sorted);
        memcpy(sorted, x, n * sizeof(*x));
        qsort(sorted, n, sizeof(*sorted), cmp_d);
        json_t *pcts = json_object_get(c, "percentiles"), *pv;
        size_t j;
        assert_int_equal(json_array_size(pcts), 11);
        json_array_foreach(pcts, j, pv)
        {
            double p = json_number_value(json_array_get(pv, 0));
            double want = json_number_value(json_array_get(pv, 1));
            char what[64];
            snprintf(what, sizeof(what), "p%g", p);
            assert_int_equal(stats_percentile(x, n, p, &v), 0);
            check_close(v, want, REL, what, name);
            check_close(stats_percentile_sorted(sorted, n, p), want, REL, what, name);
        }
        assert_memory_equal(x, before, n * sizeof(*x));
        free(sorted);
        free(before);
        free(x);
    }
}

static void outliers_match_definitions(void **state)
{
    json_t *all = section(state, "summary"), *c;
    size_t i, flagged = 0;
    json_array_foreach(all, i, c)
    {
        const char *name = str_of(c, "sample");
        size_t n;
        double *x = sample(state, name, &n);
        struct stats_outliers o;
        assert_int_equal(stats_outliers(x, n, &o), 0);
        json_t *w = json_object_get(c, "outliers");
        assert_non_null(w);
        if ((long long)o.zscore != int_of(w, "zscore") || (long long)o.low_mild != int_of(w, "low_mild") ||
            (long long)o.high_mild != int_of(w, "high_mild") ||
            (long long)o.low_severe != int_of(w, "low_severe") ||
            (long long)o.high_severe != int_of(w, "high_severe"))
            fail_msg("outliers of %s: got z=%zu mild=%zu/%zu severe=%zu/%zu", name, o.zscore, o.low_mild,
                     o.high_mild, o.low_severe, o.high_severe);
        flagged += o.zscore + o.low_mild + o.high_mild + o.low_severe + o.high_severe;
        free(x);
    }
    assert_true(flagged > 0);
}

static void rng_matches_reference(void **state)
{
    json_t *all = section(state, "rng"), *c;
    size_t i;
    json_array_foreach(all, i, c)
    {
        uint64_t seed = (uint64_t)int_of(c, "seed");
        struct rng r;
        rng_seed(&r, seed);
        json_t *next = json_object_get(c, "next"), *v;
        size_t j;
        assert_true(json_array_size(next) > 0);
        json_array_foreach(next, j, v)
        {
            char got[24];
            snprintf(got, sizeof(got), "0x%016" PRIx64, rng_next(&r));
            assert_string_equal(got, json_string_value(v));
        }
        const char *bound_s;
        json_t *vals;
        json_object_foreach(json_object_get(c, "index"), bound_s, vals)
        {
            size_t bound = strtoull(bound_s, NULL, 10);
            rng_seed(&r, seed);
            json_array_foreach(vals, j, v)
            {
                size_t got = rng_index(&r, bound);
                assert_true(got < bound);
                assert_int_equal(got, json_integer_value(v));
            }
        }
    }
}

static void bootstrap_matches_replay(void **state)
{
    json_t *all = section(state, "bootstrap"), *c;
    size_t i;
    json_array_foreach(all, i, c)
    {
        const char *name = str_of(c, "sample");
        size_t n;
        double *x = sample(state, name, &n);
        struct stats_ci ci;
        assert_int_equal(stats_bootstrap_ci(x, n, estimator_of(c), (unsigned)int_of(c, "resamples"),
                                            num_of(c, "level"), (uint64_t)int_of(c, "seed"), &ci),
                         0);
        check_close(ci.lo, num_of(c, "lo"), REL, "bootstrap lo", name);
        check_close(ci.hi, num_of(c, "hi"), REL, "bootstrap hi", name);
        free(x);
    }
}

static void ratio_matches_replay(void **state)
{
    json_t *all = section(state, "ratio"), *c;
    size_t i;
    json_array_foreach(all, i, c)
    {
        const char *an = str_of(c, "a"), *bn = str_of(c, "b");
        size_t na, nb;
        double *a = sample(state, an, &na), *b = sample(state, bn, &nb);
        double ratio;
        struct stats_ci ci;
        assert_int_equal(stats_ratio_ci(a, na, b, nb, estimator_of(c), (unsigned)int_of(c, "resamples"),
                                        num_of(c, "level"), (uint64_t)int_of(c, "seed"), &ratio, &ci),
                         0);
        check_close(ratio, num_of(c, "ratio"), REL, "ratio", an);
        check_close(ci.lo, num_of(c, "lo"), REL, "ratio lo", an);
        check_close(ci.hi, num_of(c, "hi"), REL, "ratio hi", an);
        free(a);
        free(b);
    }
}

static void mann_whitney_matches_scipy(void **state)
{
    json_t *all = section(state, "mann_whitney"), *c;
    size_t i, exact = 0;
    json_array_foreach(all, i, c)
    {
        const char *an = str_of(c, "a"), *bn = str_of(c, "b");
        size_t na, nb;
        double *a = sample(state, an, &na), *b = sample(state, bn, &nb);
        struct stats_mwu r;
        assert_int_equal(stats_mann_whitney(a, na, b, nb, &r), 0);
        json_t *ex = json_object_get(c, "exact");
        assert_true(json_is_boolean(ex));
        if (r.exact != json_is_true(ex))
            fail_msg("method of %s vs %s: exact=%d", an, bn, r.exact);
        exact += (size_t)r.exact;
        check_close(r.u, num_of(c, "u"), 0, "U", an);
        check_close(r.p, num_of(c, "p"), REL_P, "p", an);
        check_close(r.z, num_of(c, "z"), REL_P, "z", an);
        assert_true(r.p > 0 && r.p <= 1);
        free(a);
        free(b);
    }
    assert_true(exact > 0 && exact < json_array_size(all));
}

static void hodges_lehmann_matches_numpy(void **state)
{
    json_t *all = section(state, "hodges_lehmann"), *c;
    size_t i;
    json_array_foreach(all, i, c)
    {
        const char *an = str_of(c, "a"), *bn = str_of(c, "b");
        size_t na, nb;
        double *a = sample(state, an, &na), *b = sample(state, bn, &nb);
        double shift;
        assert_int_equal(stats_hodges_lehmann(a, na, b, nb, &shift), 0);
        check_close(shift, num_of(c, "shift"), REL, "shift", an);
        free(a);
        free(b);
    }
}

/* ---- edge cases and properties */

static void empty_and_invalid_inputs(void **state)
{
    (void)state;
    double x[] = { 1.0, 2.0 }, v = 0;
    struct stats_summary s;
    struct stats_outliers o;
    struct stats_ci ci;
    struct stats_mwu m;

    assert_true(isnan(stats_mean(NULL, 0)));
    assert_true(stats_stddev(NULL, 0) == 0.0);
    assert_true(stats_stddev(x, 1) == 0.0);
    assert_true(isnan(stats_percentile_sorted(NULL, 0, 50)));
    assert_true(isnan(stats_percentile_sorted(x, 2, 100.5)));
    assert_true(isnan(stats_percentile_sorted(x, 2, NAN)));

    assert_int_equal(stats_percentile(x, 0, 50, &v), -EINVAL);
    assert_int_equal(stats_percentile(x, 2, -1, &v), -EINVAL);
    assert_int_equal(stats_percentile(x, 2, 101, &v), -EINVAL);
    assert_int_equal(stats_median(x, 0, &v), -EINVAL);
    assert_int_equal(stats_median(NULL, 0, &v), -EINVAL);
    assert_int_equal(stats_mad(x, 0, &v), -EINVAL);
    assert_int_equal(stats_summarize(x, 0, &s), -EINVAL);
    assert_int_equal(stats_outliers(x, 0, &o), -EINVAL);
    assert_int_equal(stats_bootstrap_ci(x, 0, STATS_MEAN, 100, 0.95, 1, &ci), -EINVAL);
    assert_int_equal(stats_bootstrap_ci(x, 2, STATS_MEAN, 0, 0.95, 1, &ci), -EINVAL);
    assert_int_equal(stats_bootstrap_ci(x, 2, STATS_MEAN, 100, 0.0, 1, &ci), -EINVAL);
    assert_int_equal(stats_bootstrap_ci(x, 2, STATS_MEAN, 100, 1.0, 1, &ci), -EINVAL);
    assert_int_equal(stats_bootstrap_ci(x, 2, STATS_MEAN, 100, NAN, 1, &ci), -EINVAL);
    assert_int_equal(stats_bootstrap_ci(x, 2, (enum stats_estimator)7, 100, 0.95, 1, &ci), -EINVAL);
    assert_int_equal(stats_ratio_ci(x, 0, x, 2, STATS_MEAN, 100, 0.95, 1, &v, &ci), -EINVAL);
    assert_int_equal(stats_ratio_ci(x, 2, x, 0, STATS_MEAN, 100, 0.95, 1, &v, &ci), -EINVAL);
    assert_int_equal(stats_mann_whitney(x, 0, x, 2, &m), -EINVAL);
    assert_int_equal(stats_mann_whitney(x, 2, x, 0, &m), -EINVAL);
    assert_int_equal(stats_hodges_lehmann(x, 0, x, 2, &v), -EINVAL);
    assert_int_equal(stats_hodges_lehmann(x, 2, x, 0, &v), -EINVAL);

    double nan2[] = { 1.0, NAN };
    assert_int_equal(stats_mann_whitney(x, 2, nan2, 2, &m), -EINVAL);
    assert_int_equal(stats_hodges_lehmann(nan2, 2, x, 2, &v), -EINVAL);
}

static void ratio_of_zero_baseline_is_edom(void **state)
{
    (void)state;
    double a[] = { 1.0, 2.0, 3.0 }, zero[] = { 0.0, 0.0, 5.0 }, ratio;
    struct stats_ci ci;
    assert_int_equal(stats_ratio_ci(a, 3, zero, 3, STATS_MEDIAN, 10, 0.95, 1, &ratio, &ci), -EDOM);
    assert_int_equal(stats_ratio_ci(a, 3, zero, 2, STATS_MEAN, 10, 0.95, 1, &ratio, &ci), -EDOM);
}

static void hodges_lehmann_caps_pairs(void **state)
{
    (void)state;
    /* 5001 * 5000 pairs is just past the 25 million cap. */
    double *a = calloc(5001, sizeof(*a));
    assert_non_null(a);
    double shift = 123.0;
    assert_int_equal(stats_hodges_lehmann(a, 5001, a, 5000, &shift), -E2BIG);
    assert_true(shift == 123.0);
    free(a);
}

static void bootstrap_is_reproducible(void **state)
{
    size_t n;
    double *x = sample(state, "timing200", &n);
    for (int e = STATS_MEAN; e <= STATS_MEDIAN; e++) {
        struct stats_ci c1, c2, c3;
        assert_int_equal(stats_bootstrap_ci(x, n, (enum stats_estimator)e, 500, 0.95, 99, &c1), 0);
        assert_int_equal(stats_bootstrap_ci(x, n, (enum stats_estimator)e, 500, 0.95, 99, &c2), 0);
        assert_int_equal(stats_bootstrap_ci(x, n, (enum stats_estimator)e, 500, 0.95, 100, &c3), 0);
        assert_memory_equal(&c1, &c2, sizeof(c1));
        assert_true(c1.lo != c3.lo || c1.hi != c3.hi);
        assert_true(c1.lo < c1.hi);

        double r1, r2, r3;
        assert_int_equal(stats_ratio_ci(x, n, x, n, (enum stats_estimator)e, 300, 0.9, 5, &r1, &c1), 0);
        assert_int_equal(stats_ratio_ci(x, n, x, n, (enum stats_estimator)e, 300, 0.9, 5, &r2, &c2), 0);
        assert_int_equal(stats_ratio_ci(x, n, x, n, (enum stats_estimator)e, 300, 0.9, 6, &r3, &c3), 0);
        assert_true(r1 == 1.0 && r2 == 1.0 && r3 == 1.0);
        assert_memory_equal(&c1, &c2, sizeof(c1));
        assert_true(c1.lo != c3.lo || c1.hi != c3.hi);
        assert_true(c1.lo < 1.0 && c1.hi > 1.0);
    }

    struct rng a, b;
    rng_seed(&a, 7);
    rng_seed(&b, 8);
    assert_true(rng_next(&a) != rng_next(&b));
    free(x);
}

/* Selection must give exactly what a full sort gives, on the shapes that
 * break naive quickselects: sorted, reversed, all equal, few distinct. */
static void selection_agrees_with_sort(void **state)
{
    (void)state;
    enum { N = 1001 };
    double *x = malloc(N * sizeof(*x)), *sorted = malloc(N * sizeof(*x));
    assert_non_null(x);
    assert_non_null(sorted);
    struct rng r;
    rng_seed(&r, 2024);
    static const double ps[] = { 0, 0.1, 1, 12.5, 25, 33.3, 50, 66.7, 75, 99, 99.9, 100 };

    for (int shape = 0; shape < 6; shape++) {
        for (size_t n = 1; n <= N; n += (n < 40 ? 1 : 97)) {
            for (size_t i = 0; i < n; i++) {
                switch (shape) {
                case 0: x[i] = (double)(rng_next(&r) >> 11); break;
                case 1: x[i] = (double)i; break;
                case 2: x[i] = (double)(n - i); break;
                case 3: x[i] = 4.25; break;
                case 4: x[i] = (double)rng_index(&r, 3); break;
                default: x[i] = (double)((i * 7919) % 13) - 6.5; break;
                }
            }
            memcpy(sorted, x, n * sizeof(*x));
            qsort(sorted, n, sizeof(*sorted), cmp_d);
            double want_med = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0, v;
            assert_int_equal(stats_median(x, n, &v), 0);
            assert_true(v == want_med);
            for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
                assert_int_equal(stats_percentile(x, n, ps[k], &v), 0);
                assert_true(v == stats_percentile_sorted(sorted, n, ps[k]));
            }
        }
    }
    free(x);
    free(sorted);
}

static void mann_whitney_is_symmetric(void **state)
{
    (void)state;
    /* Swapping the samples mirrors U and keeps p; a and b fully separated
     * gives the smallest exact p, 2 / C(na + nb, na). */
    double a[] = { 1, 2, 3, 4 }, b[] = { 5, 6, 7, 8, 9, 10 };
    struct stats_mwu ab, ba;
    assert_int_equal(stats_mann_whitney(a, 4, b, 6, &ab), 0);
    assert_int_equal(stats_mann_whitney(b, 6, a, 4, &ba), 0);
    assert_true(ab.exact && ba.exact);
    assert_true(ab.u == 0.0 && ba.u == 24.0);
    check_close(ab.p, 2.0 / 210.0, 1e-15, "p", "separated");
    assert_true(ab.p == ba.p);
    assert_true(ab.z == 0.0);
}

/* ---- the bootstrap's cost bound and its stop flag */

static double *random_sample(size_t n, uint64_t seed)
{
    double *x = malloc(n * sizeof(*x));
    assert_non_null(x);
    struct rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.010 + 0.002 * rng_unit(&r) + (rng_index(&r, 50) == 0 ? 0.02 * rng_unit(&r) : 0.0);
    return x;
}

/* A sample beyond max_n is resampled as its thinned copy: the interval is
 * bit for bit the one of stats_thin's output, and the thinned copy holds
 * the sorted values at ranks floor((i + 0.5) n / m). */
static void large_samples_are_thinned(void **state)
{
    (void)state;
    enum { N = 300001, M = 1000 };
    double *x = random_sample(N, 11), *y = random_sample(N / 3, 12), *thin, *thin_y, *sorted;
    assert_int_equal(stats_thin(x, N, M, &thin), 0);
    assert_int_equal(stats_thin(x, N, 2 * N, &sorted), 0); /* m >= n: all of x, sorted */
    for (size_t i = 1; i < N; i++)
        assert_true(sorted[i - 1] <= sorted[i]);
    for (size_t i = 0; i < M; i++)
        assert_true(thin[i] == sorted[(size_t)(((double)i + 0.5) * N / M)]);
    assert_int_equal(stats_thin(y, N / 3, M, &thin_y), 0);

    struct stats_boot b = { .resamples = 300, .level = 0.95, .seed = 3, .max_n = M };
    for (int e = STATS_MEAN; e <= STATS_MEDIAN; e++) {
        struct stats_ci got, want;
        assert_int_equal(stats_bootstrap(x, N, (enum stats_estimator)e, &b, &got), 0);
        assert_int_equal(stats_bootstrap_ci(thin, M, (enum stats_estimator)e, 300, 0.95, 3, &want), 0);
        assert_memory_equal(&got, &want, sizeof(got));

        /* The ratio's point estimate is of the whole samples, its interval of the thinned ones. */
        double ratio, ratio_thin, whole_a, whole_b;
        assert_int_equal(stats_ratio_bootstrap(x, N, y, N / 3, (enum stats_estimator)e, &b, &ratio, &got), 0);
        assert_int_equal(
            stats_ratio_ci(thin, M, thin_y, M, (enum stats_estimator)e, 300, 0.95, 3, &ratio_thin, &want), 0);
        assert_memory_equal(&got, &want, sizeof(got));
        if (e == STATS_MEDIAN) {
            assert_int_equal(stats_median(x, N, &whole_a), 0);
            assert_int_equal(stats_median(y, N / 3, &whole_b), 0);
        } else {
            whole_a = stats_mean(x, N);
            whole_b = stats_mean(y, N / 3);
        }
        assert_true(ratio == whole_a / whole_b);
    }
    /* Below the cap nothing changes. */
    struct stats_ci small, plain;
    b.max_n = N;
    assert_int_equal(stats_bootstrap(x, 5000, STATS_MEDIAN, &b, &small), 0);
    assert_int_equal(stats_bootstrap_ci(x, 5000, STATS_MEDIAN, 300, 0.95, 3, &plain), 0);
    assert_memory_equal(&small, &plain, sizeof(small));
    assert_int_equal(stats_thin(x, 0, M, &thin_y), -EINVAL);
    free(x);
    free(y);
    free(thin);
    free(thin_y);
    free(sorted);
}

static volatile sig_atomic_t boot_stop;

static void raise_boot_stop(int sig)
{
    (void)sig;
    boot_stop = 1;
}

/* A stop raised before or during a bootstrap ends it with PK_ESTOP. The
 * sample is not thinned, so without the check the bootstrap would run to
 * its end (minutes) and return 0. */
static void bootstrap_answers_the_stop_flag(void **state)
{
    (void)state;
    enum { N = 2000000 };
    double *x = random_sample(N, 5);
    struct stats_boot b = { .resamples = 5000, .level = 0.95, .seed = 1, .stop = &boot_stop };
    struct stats_ci ci;
    double ratio;
    boot_stop = 1;
    assert_int_equal(stats_bootstrap(x, N, STATS_MEAN, &b, &ci), PK_ESTOP);
    assert_int_equal(stats_ratio_bootstrap(x, N, x, N, STATS_MEDIAN, &b, &ratio, &ci), PK_ESTOP);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = raise_boot_stop;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    for (int e = STATS_MEAN; e <= STATS_MEDIAN; e++) {
        struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = 100000 } };
        boot_stop = 0;
        assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
        assert_int_equal(stats_bootstrap(x, N, (enum stats_estimator)e, &b, &ci), PK_ESTOP);
        boot_stop = 0;
        assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
        assert_int_equal(stats_ratio_bootstrap(x, N, x, N, (enum stats_estimator)e, &b, &ratio, &ci),
                         PK_ESTOP);
    }
    sigaction(SIGALRM, &old, NULL);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(summary_matches_numpy),
        cmocka_unit_test(outliers_match_definitions),
        cmocka_unit_test(rng_matches_reference),
        cmocka_unit_test(bootstrap_matches_replay),
        cmocka_unit_test(ratio_matches_replay),
        cmocka_unit_test(mann_whitney_matches_scipy),
        cmocka_unit_test(hodges_lehmann_matches_numpy),
        cmocka_unit_test(empty_and_invalid_inputs),
        cmocka_unit_test(ratio_of_zero_baseline_is_edom),
        cmocka_unit_test(hodges_lehmann_caps_pairs),
        cmocka_unit_test(bootstrap_is_reproducible),
        cmocka_unit_test(selection_agrees_with_sort),
        cmocka_unit_test(mann_whitney_is_symmetric),
        cmocka_unit_test(large_samples_are_thinned),
        cmocka_unit_test(bootstrap_answers_the_stop_flag),
    };
    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
