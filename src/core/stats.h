/*
 * stats - statistics over samples of doubles, for every tool.
 *
 * Contract: inputs are never modified; functions that need scratch space
 * allocate it and return -ENOMEM on failure (0 on success). n == 0 is -EINVAL
 * where a statistic is undefined. Percentiles use linear interpolation
 * between closest ranks (numpy's default "linear" method). Randomised
 * procedures (bootstrap) take a seed and are reproducible bit for bit on the
 * same input: the generator is xoshiro256** seeded through splitmix64, so an
 * independent implementation can replay it (tests/fixtures/stats/gen.py).
 * No global state; all functions are thread-safe.
 */
#ifndef PK_CORE_STATS_H
#define PK_CORE_STATS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

double stats_mean(const double *x, size_t n);
/* Sample standard deviation (n - 1 in the denominator); 0 when n < 2. */
double stats_stddev(const double *x, size_t n);
/* p in [0, 100]; `sorted` ascending. */
double stats_percentile_sorted(const double *sorted, size_t n, double p);
int stats_percentile(const double *x, size_t n, double p, double *out);
int stats_median(const double *x, size_t n, double *out);
/* Median absolute deviation, unscaled: median(|x - median(x)|). */
int stats_mad(const double *x, size_t n, double *out);

struct stats_summary {
    size_t n;
    double mean, stddev, median, min, max;
    double q1, q3; /* 25th and 75th percentiles */
    double mad;    /* unscaled */
};
int stats_summarize(const double *x, size_t n, struct stats_summary *s);

/*
 * Outliers are reported, never removed.
 * Modified z-score (hyperfine's rule): z = (x - median) / MAD; an outlier when
 * |z| > STATS_ZSCORE_LIMIT (MAD of 0 counts as DBL_EPSILON).
 * Tukey fences: mild outside [q1 - 1.5 IQR, q3 + 1.5 IQR], severe outside 3 IQR;
 * a severe outlier is not also counted as mild.
 */
#define STATS_ZSCORE_LIMIT (1.4826 * 10.0)
struct stats_outliers {
    size_t zscore;                  /* beyond the modified z-score limit */
    size_t low_mild, high_mild;     /* Tukey, between 1.5 and 3 IQR */
    size_t low_severe, high_severe; /* Tukey, beyond 3 IQR */
};
int stats_outliers(const double *x, size_t n, struct stats_outliers *o);

enum stats_estimator { STATS_MEAN, STATS_MEDIAN };

struct stats_ci {
    double lo, hi;
};

/*
 * Percentile bootstrap CI of the mean or median. Each resample draws n
 * indices with rng_index(n) in order; the interval is the
 * ((1-level)/2, (1+level)/2) percentiles (linear) of the B estimates.
 */
int stats_bootstrap_ci(const double *x, size_t n, enum stats_estimator est, unsigned resamples, double level,
                       uint64_t seed, struct stats_ci *ci);

/*
 * The bootstrap with its cost bounded and a stop flag. A bootstrap draws
 * resamples x n values, so its cost grows with the sample: 5000 resamples of
 * 3 million values are 15 billion draws. With max_n > 0, a sample of more
 * than max_n values is first thinned (stats_thin) to max_n values, for the
 * resampling only: the interval is then that of max_n values, wider than the
 * whole sample's would be (never narrower), while point estimates (the ratio
 * below) use every value. The thinning is deterministic, so results stay
 * reproducible. stop (may be NULL) is read between resamples: once it is
 * non-zero the function returns PK_ESTOP within one resample. max_n = 0 and
 * stop = NULL is exactly stats_bootstrap_ci() / stats_ratio_ci().
 */
struct stats_boot {
    unsigned resamples;
    double level;
    uint64_t seed;
    size_t max_n;                      /* 0: no thinning */
    const volatile sig_atomic_t *stop; /* may be NULL */
};
int stats_bootstrap(const double *x, size_t n, enum stats_estimator est, const struct stats_boot *b,
                    struct stats_ci *ci);
int stats_ratio_bootstrap(const double *a, size_t na, const double *b, size_t nb, enum stats_estimator est,
                          const struct stats_boot *bo, double *ratio, struct stats_ci *ci);
/*
 * x thinned to m values at evenly spaced ranks: the sorted values at ranks
 * floor((i + 0.5) * n / m), i = 0..m-1, so the thinned sample keeps x's
 * quantiles. m >= n copies x sorted. *out is malloc'd (caller frees);
 * -EINVAL for n == 0 or m == 0.
 */
int stats_thin(const double *x, size_t n, size_t m, double **out);

/*
 * Ratio est(a) / est(b) with a percentile bootstrap CI: for each of B
 * resamples, first a's n_a indices then b's n_b indices are drawn from the
 * one generator, and the ratio of the two estimates is kept. -EDOM when
 * est(b) is 0 (no finite ratio).
 */
int stats_ratio_ci(const double *a, size_t na, const double *b, size_t nb, enum stats_estimator est,
                   unsigned resamples, double level, uint64_t seed, double *ratio, struct stats_ci *ci);

/*
 * Mann-Whitney U, two-sided. u is U of sample a (sum of a's ranks minus
 * na(na+1)/2, midranks for ties). Exact distribution when there are no ties
 * and na + nb <= STATS_MWU_EXACT_MAX; otherwise the normal approximation with
 * tie correction and continuity correction (scipy's "asymptotic" method).
 */
#define STATS_MWU_EXACT_MAX 50
struct stats_mwu {
    double u;
    double p;
    double z; /* continuity-corrected, > 0 when a tends to be larger; 0 when exact */
    int exact;
};
/* NaN in a or b is -EINVAL here and in stats_hodges_lehmann (no ranks). */
int stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb, struct stats_mwu *r);

/* Hodges-Lehmann shift: the median of all differences a_i - b_j; -E2BIG
 * beyond 25 million pairs (they are held in memory). */
int stats_hodges_lehmann(const double *a, size_t na, const double *b, size_t nb, double *shift);

#endif
