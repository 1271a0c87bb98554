#include "core/rng.h"
#include "core/stats.h"
#include "perfkit.h"

#include <errno.h>
#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Hodges-Lehmann materialises every pairwise difference; this bounds the
 * buffer at 200 MB. */
#define HL_MAX_PAIRS 25000000u

/* ---- ordering helpers
 *
 * NaN sorts after every number so the comparator is a total order and qsort
 * stays well defined on bad input; the selection code below only relies on
 * its loop guards for memory safety, never on the data being ordered.
 */
static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    if (a < b)
        return -1;
    if (a > b)
        return 1;
    if (a == b)
        return 0;
    return isnan(a) - isnan(b);
}

static inline void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && x < v[j - 1]) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static unsigned floor_log2(size_t n)
{
    unsigned r = 0;
    while (n >>= 1)
        r++;
    return r;
}

/*
 * nth_element: afterwards v[k] holds the k-th smallest, nothing before it is
 * larger and nothing after it is smaller. Median-of-three Hoare partitioning
 * stops on equal keys, so runs of ties (timer resolution) split evenly instead
 * of degrading to quadratic; a depth budget falls back to qsort on the rare
 * adversarial input.
 */
static void select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    unsigned budget = 2 * floor_log2(n) + 16;

    while (hi > lo) {
        size_t len = hi - lo + 1;
        if (len <= 16) {
            insertion_sort(v + lo, len);
            return;
        }
        if (budget-- == 0) {
            qsort(v + lo, len, sizeof(*v), cmp_double);
            return;
        }
        size_t mid = lo + len / 2;
        if (v[mid] < v[lo])
            swap_d(&v[mid], &v[lo]);
        if (v[hi] < v[mid])
            swap_d(&v[hi], &v[mid]);
        if (v[mid] < v[lo])
            swap_d(&v[mid], &v[lo]);
        swap_d(&v[mid], &v[hi - 1]);
        double pivot = v[hi - 1];

        size_t i = lo, j = hi - 1;
        for (;;) {
            while (i < hi - 1 && v[++i] < pivot)
                ;
            while (j > lo && pivot < v[--j])
                ;
            if (i >= j)
                break;
            swap_d(&v[i], &v[j]);
        }
        swap_d(&v[i], &v[hi - 1]);

        if (k < i)
            hi = i - 1;
        else if (k > i)
            lo = i + 1;
        else
            return;
    }
}

static double max_of(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

static double min_of(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

/* numpy.median: the middle element, or the mean of the two middle ones. */
static double median_inplace(double *v, size_t n)
{
    size_t k = n / 2;
    select_kth(v, n, k);
    if (n % 2)
        return v[k];
    return (max_of(v, k) + v[k]) / 2.0;
}

/*
 * numpy's "linear" method, operation for operation (virtual index
 * (n-1)*(p/100), and the lerp that interpolates from the nearer end), so
 * results agree with numpy.percentile to the last bit rather than to a
 * tolerance.
 */
struct qpos {
    size_t lo;
    double g;
    int last; /* at or past the top: the maximum */
};

static struct qpos quantile_pos(size_t n, double p)
{
    struct qpos q = { 0, 0.0, 0 };
    double vi = (double)(n - 1) * (p / 100.0);
    if (vi >= (double)(n - 1)) {
        q.last = 1;
        return q;
    }
    if (vi <= 0.0)
        return q;
    q.lo = (size_t)floor(vi);
    q.g = vi - (double)q.lo;
    return q;
}

static double lerp(double a, double b, double g)
{
    if (g == 0.0)
        return a; /* numpy yields NaN here when b is infinite */
    double d = b - a;
    if (g >= 0.5)
        return b - d * (1.0 - g);
    return a + d * g;
}

static int valid_p(double p)
{
    return p >= 0.0 && p <= 100.0; /* false for NaN too */
}

static double percentile_inplace(double *v, size_t n, double p)
{
    struct qpos q = quantile_pos(n, p);
    if (q.last)
        return max_of(v, n);
    select_kth(v, n, q.lo);
    if (q.g == 0.0)
        return v[q.lo];
    return lerp(v[q.lo], min_of(v + q.lo + 1, n - q.lo - 1), q.g);
}

static double *copy_of(const double *x, size_t n)
{
    double *v = malloc(n * sizeof(*v));
    if (v)
        memcpy(v, x, n * sizeof(*v));
    return v;
}

/* ---- descriptive statistics */

double stats_mean(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double m = s / (double)n;
    /* A second pass folds most of the first pass's rounding error back in:
     * the mean of a constant sample comes out as that constant (so its
     * stddev is exactly 0, where numpy reports 1e-17 for seven 0.1s). */
    double c = 0.0;
    for (size_t i = 0; i < n; i++)
        c += x[i] - m;
    return m + c / (double)n;
}

double stats_stddev(const double *x, size_t n)
{
    if (n < 2)
        return 0.0;
    double m = stats_mean(x, n);
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m;
        ss += d * d;
    }
    return sqrt(ss / (double)(n - 1));
}

double stats_percentile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0 || !sorted || !valid_p(p))
        return NAN;
    struct qpos q = quantile_pos(n, p);
    if (q.last)
        return sorted[n - 1];
    if (q.g == 0.0)
        return sorted[q.lo];
    return lerp(sorted[q.lo], sorted[q.lo + 1], q.g);
}

int stats_percentile(const double *x, size_t n, double p, double *out)
{
    if (n == 0 || !x || !out || !valid_p(p))
        return -EINVAL;
    double *v = copy_of(x, n);
    if (!v)
        return -ENOMEM;
    *out = percentile_inplace(v, n, p);
    free(v);
    return 0;
}

int stats_median(const double *x, size_t n, double *out)
{
    if (n == 0 || !x || !out)
        return -EINVAL;
    double *v = copy_of(x, n);
    if (!v)
        return -ENOMEM;
    *out = median_inplace(v, n);
    free(v);
    return 0;
}

/* v is scratch of n doubles; med is median(x). */
static double mad_with(const double *x, size_t n, double med, double *v)
{
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(x[i] - med);
    return median_inplace(v, n);
}

int stats_mad(const double *x, size_t n, double *out)
{
    if (n == 0 || !x || !out)
        return -EINVAL;
    double *v = copy_of(x, n);
    if (!v)
        return -ENOMEM;
    double med = median_inplace(v, n);
    *out = mad_with(x, n, med, v);
    free(v);
    return 0;
}

int stats_summarize(const double *x, size_t n, struct stats_summary *s)
{
    if (n == 0 || !x || !s)
        return -EINVAL;
    double *v = copy_of(x, n);
    if (!v)
        return -ENOMEM;
    qsort(v, n, sizeof(*v), cmp_double);
    s->n = n;
    s->mean = stats_mean(x, n);
    s->stddev = stats_stddev(x, n);
    s->min = v[0];
    s->max = v[n - 1];
    s->q1 = stats_percentile_sorted(v, n, 25.0);
    s->q3 = stats_percentile_sorted(v, n, 75.0);
    s->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
    s->mad = mad_with(x, n, s->median, v);
    free(v);
    return 0;
}

int stats_outliers(const double *x, size_t n, struct stats_outliers *o)
{
    if (!o)
        return -EINVAL;
    struct stats_summary sm;
    int rc = stats_summarize(x, n, &sm);
    if (rc)
        return rc;
    double q1 = sm.q1, q3 = sm.q3, med = sm.median;
    double mad = sm.mad == 0.0 ? DBL_EPSILON : sm.mad;

    double iqr = q3 - q1;
    double mild_lo = q1 - 1.5 * iqr, mild_hi = q3 + 1.5 * iqr;
    double severe_lo = q1 - 3.0 * iqr, severe_hi = q3 + 3.0 * iqr;

    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < n; i++) {
        if (fabs((x[i] - med) / mad) > STATS_ZSCORE_LIMIT)
            o->zscore++;
        if (x[i] < severe_lo)
            o->low_severe++;
        else if (x[i] < mild_lo)
            o->low_mild++;
        else if (x[i] > severe_hi)
            o->high_severe++;
        else if (x[i] > mild_hi)
            o->high_mild++;
    }
    return 0;
}

/* ---- bootstrap */

/* A value with its position in the input, to sort values and keep track of
 * where they came from. */
struct tagged {
    double v;
    size_t i;
};

static int cmp_tagged(const void *pa, const void *pb)
{
    return cmp_double(&((const struct tagged *)pa)->v, &((const struct tagged *)pb)->v);
}

/*
 * Resampling one sample. For the median, x is ranked once; a resample is
 * then only how many times each rank was drawn, and its median is found by
 * walking those counts. That is an O(n) selection per resample like
 * quickselect, but without copying values or a partition's unpredictable
 * branches: four times faster at n = 2000. Equal values may hold different
 * ranks; the selected value is the same either way, so the result is
 * bit-identical to selecting from the drawn values.
 */
struct resampler {
    const double *x;
    size_t n;
    double *sorted; /* x ascending */
    size_t *rank;   /* x[i] is sorted[rank[i]] */
    size_t *count;  /* draws per rank in this resample; all 0 between resamples */
};

static void resampler_destroy(struct resampler *rs)
{
    free(rs->count);
    free(rs->rank);
    free(rs->sorted);
}

static int resampler_init(struct resampler *rs, const double *x, size_t n, enum stats_estimator est)
{
    *rs = (struct resampler){ .x = x, .n = n };
    if (est == STATS_MEAN)
        return 0;
    struct tagged *t = malloc(n * sizeof(*t));
    rs->sorted = malloc(n * sizeof(*rs->sorted));
    rs->rank = malloc(n * sizeof(*rs->rank));
    rs->count = calloc(n, sizeof(*rs->count));
    if (!t || !rs->sorted || !rs->rank || !rs->count) {
        free(t);
        resampler_destroy(rs);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        t[i] = (struct tagged){ x[i], i };
    qsort(t, n, sizeof(*t), cmp_tagged);
    for (size_t k = 0; k < n; k++) {
        rs->sorted[k] = t[k].v;
        rs->rank[t[k].i] = k;
    }
    free(t);
    return 0;
}

/* Advances the walk (*j, *cum = draws of ranks below *j) to the rank that
 * holds order statistic k; the draws total n > k, so it stops inside. */
static size_t walk_to(const size_t *count, size_t k, size_t *j, size_t *cum)
{
    while (*cum + count[*j] <= k)
        *cum += count[(*j)++];
    return *j;
}

/* One resample's estimate: n indices drawn with rng_index(n), in order. */
static double resample_estimate(struct rng *r, struct resampler *rs, enum stats_estimator est)
{
    const double *x = rs->x;
    size_t n = rs->n;
    if (est == STATS_MEAN) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += x[rng_index(r, n)];
        return s / (double)n;
    }

    size_t *count = rs->count;
    for (size_t i = 0; i < n; i++)
        count[rs->rank[rng_index(r, n)]]++;
    size_t j = 0, cum = 0;
    double m;
    if (n % 2) {
        m = rs->sorted[walk_to(count, n / 2, &j, &cum)];
    } else {
        double lo = rs->sorted[walk_to(count, n / 2 - 1, &j, &cum)];
        m = (lo + rs->sorted[walk_to(count, n / 2, &j, &cum)]) / 2.0;
    }
    memset(count, 0, n * sizeof(*count));
    return m;
}

static int valid_boot(enum stats_estimator est, unsigned resamples, double level)
{
    return (est == STATS_MEAN || est == STATS_MEDIAN) && resamples > 0 && level > 0.0 && level < 1.0;
}

/* ests is sorted in place. */
static void interval_of(double *ests, unsigned b, double level, struct stats_ci *ci)
{
    qsort(ests, b, sizeof(*ests), cmp_double);
    ci->lo = stats_percentile_sorted(ests, b, 100.0 * (1.0 - level) / 2.0);
    ci->hi = stats_percentile_sorted(ests, b, 100.0 * (1.0 + level) / 2.0);
}

static bool stopped(const struct stats_boot *b)
{
    return b->stop && *b->stop;
}

/* The sample the resampling draws from: x itself, or x thinned to max_n
 * values in *owned (freed by the caller). */
static int boot_sample(const double *x, size_t n, const struct stats_boot *b, const double **use, size_t *m,
                       double **owned)
{
    *owned = NULL;
    *use = x;
    *m = n;
    if (b->max_n == 0 || n <= b->max_n)
        return 0;
    int rc = stats_thin(x, n, b->max_n, owned);
    if (rc)
        return rc;
    *use = *owned;
    *m = b->max_n;
    return 0;
}

int stats_thin(const double *x, size_t n, size_t m, double **out)
{
    if (!x || !out || n == 0 || m == 0)
        return -EINVAL;
    double *v = copy_of(x, n);
    if (!v)
        return -ENOMEM;
    qsort(v, n, sizeof(*v), cmp_double);
    if (m >= n) {
        *out = v;
        return 0;
    }
    double *t = malloc(m * sizeof(*t));
    if (!t) {
        free(v);
        return -ENOMEM;
    }
    /* floor((i + 0.5) * n / m) < n for every i < m; in long double the product
     * is exact for any n and m a sample can have. */
    for (size_t i = 0; i < m; i++)
        t[i] = v[(size_t)(((long double)i + 0.5L) * (long double)n / (long double)m)];
    free(v);
    *out = t;
    return 0;
}

int stats_bootstrap(const double *x, size_t n, enum stats_estimator est, const struct stats_boot *b,
                    struct stats_ci *ci)
{
    if (n == 0 || !x || !ci || !b || !valid_boot(est, b->resamples, b->level))
        return -EINVAL;
    if (stopped(b))
        return PK_ESTOP;
    const double *use;
    size_t m;
    double *thin;
    int rc = boot_sample(x, n, b, &use, &m, &thin);
    if (rc)
        return rc;
    rc = -ENOMEM;
    double *ests = malloc((size_t)b->resamples * sizeof(*ests));
    if (!ests)
        goto out;
    struct resampler rs;
    if ((rc = resampler_init(&rs, use, m, est)))
        goto out_ests;

    struct rng r;
    rng_seed(&r, b->seed);
    for (unsigned i = 0; i < b->resamples && rc == 0; i++) {
        if (stopped(b))
            rc = PK_ESTOP;
        else
            ests[i] = resample_estimate(&r, &rs, est);
    }
    if (rc == 0)
        interval_of(ests, b->resamples, b->level, ci);

    resampler_destroy(&rs);
out_ests:
    free(ests);
out:
    free(thin);
    return rc;
}

int stats_bootstrap_ci(const double *x, size_t n, enum stats_estimator est, unsigned resamples, double level,
                       uint64_t seed, struct stats_ci *ci)
{
    struct stats_boot b = { .resamples = resamples, .level = level, .seed = seed };
    return stats_bootstrap(x, n, est, &b, ci);
}

static int point_estimate(const double *x, size_t n, enum stats_estimator est, double *out)
{
    if (est == STATS_MEAN) {
        *out = stats_mean(x, n);
        return 0;
    }
    return stats_median(x, n, out);
}

int stats_ratio_bootstrap(const double *a, size_t na, const double *b, size_t nb, enum stats_estimator est,
                          const struct stats_boot *bo, double *ratio, struct stats_ci *ci)
{
    if (na == 0 || nb == 0 || !a || !b || !ratio || !ci || !bo || !valid_boot(est, bo->resamples, bo->level))
        return -EINVAL;
    if (stopped(bo))
        return PK_ESTOP;
    double ea, eb;
    int rc = point_estimate(a, na, est, &ea);
    if (rc == 0)
        rc = point_estimate(b, nb, est, &eb);
    if (rc)
        return rc;
    if (eb == 0.0)
        return -EDOM;

    const double *ua, *ub;
    size_t ma, mb;
    double *thin_a = NULL, *thin_b = NULL, *ests = NULL;
    if ((rc = boot_sample(a, na, bo, &ua, &ma, &thin_a)) || (rc = boot_sample(b, nb, bo, &ub, &mb, &thin_b)))
        goto out;
    rc = -ENOMEM;
    ests = malloc((size_t)bo->resamples * sizeof(*ests));
    if (!ests)
        goto out;
    struct resampler ra, rb;
    if ((rc = resampler_init(&ra, ua, ma, est)))
        goto out;
    if ((rc = resampler_init(&rb, ub, mb, est)))
        goto out_ra;

    struct rng r;
    rng_seed(&r, bo->seed);
    for (unsigned i = 0; i < bo->resamples && rc == 0; i++) {
        if (stopped(bo)) {
            rc = PK_ESTOP;
            break;
        }
        double ea_i = resample_estimate(&r, &ra, est);
        ests[i] = ea_i / resample_estimate(&r, &rb, est);
    }
    if (rc == 0) {
        *ratio = ea / eb;
        interval_of(ests, bo->resamples, bo->level, ci);
    }

    resampler_destroy(&rb);
out_ra:
    resampler_destroy(&ra);
out:
    free(ests);
    free(thin_b);
    free(thin_a);
    return rc;
}

int stats_ratio_ci(const double *a, size_t na, const double *b, size_t nb, enum stats_estimator est,
                   unsigned resamples, double level, uint64_t seed, double *ratio, struct stats_ci *ci)
{
    struct stats_boot bo = { .resamples = resamples, .level = level, .seed = seed };
    return stats_ratio_bootstrap(a, na, b, nb, est, &bo, ratio, ci);
}

/* ---- Mann-Whitney U */

static int has_nan(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i]))
            return 1;
    return 0;
}

/*
 * Two-sided exact p for tie-free samples: 2 * P(U >= u) for u >= mn/2, which
 * by symmetry is 2 * P(U <= mn - u). The null distribution of U counts the
 * arrangements of m a's among m + n positions; its generating function is the
 * Gaussian binomial [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i),
 * built one factor at a time in integers, so the counts are exact (they stay
 * below C(50, 25) < 2^53 for m + n <= 50).
 */
static int mwu_exact_p(size_t m, size_t n, double u, double *p)
{
    if (m > n) {
        size_t t = m;
        m = n;
        n = t;
    }
    size_t deg = m * n;
    int64_t *c = calloc(deg + m + 1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c[0] = 1;
    for (size_t i = 1; i <= m; i++) {
        size_t top = (i - 1) * n + n + i;
        for (size_t k = top; k >= n + i; k--)
            c[k] -= c[k - n - i];
        for (size_t k = i; k <= top; k++)
            c[k] += c[k - i];
    }
    size_t kmax = (size_t)((double)deg - u);
    int64_t tail = 0, total = 0;
    for (size_t k = 0; k <= deg; k++) {
        total += c[k];
        if (k <= kmax)
            tail += c[k];
    }
    free(c);
    double pv = 2.0 * ((double)tail / (double)total);
    *p = pv > 1.0 ? 1.0 : pv;
    return 0;
}

int stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb, struct stats_mwu *r)
{
    if (na == 0 || nb == 0 || !a || !b || !r)
        return -EINVAL;
    if (has_nan(a, na) || has_nan(b, nb))
        return -EINVAL;
    size_t n = na + nb;
    struct tagged *t = malloc(n * sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < na; i++)
        t[i] = (struct tagged){ a[i], i };
    for (size_t i = 0; i < nb; i++)
        t[na + i] = (struct tagged){ b[i], na + i };
    qsort(t, n, sizeof(*t), cmp_tagged);

    /* Midranks per run of equal values; ranks are 1-based. */
    double r1 = 0.0, tie_term = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, in_a = t[i].i < na;
        while (j < n && t[j].v == t[i].v)
            in_a += t[j++].i < na;
        double run = (double)(j - i);
        r1 += (double)in_a * ((double)(i + 1 + j) / 2.0);
        tie_term += run * run * run - run;
        i = j;
    }
    free(t);

    double mn = (double)na * (double)nb;
    double u1 = r1 - (double)na * ((double)na + 1.0) / 2.0;
    r->u = u1;
    r->z = 0.0;
    r->exact = tie_term == 0.0 && n <= STATS_MWU_EXACT_MAX;
    if (r->exact)
        return mwu_exact_p(na, nb, u1 > mn - u1 ? u1 : mn - u1, &r->p);

    /* scipy's asymptotic method: tie-corrected variance, and a continuity
     * correction of 0.5 towards the mean. z keeps the direction (positive
     * when a tends to be larger), as R's wilcox.test does. */
    double nn = (double)n;
    double var = mn / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0)));
    double d = u1 - mn / 2.0;
    if (!(var > 0.0) || fabs(d) <= 0.5) {
        r->p = 1.0; /* every value tied, or U at the centre */
        return 0;
    }
    double s = sqrt(var);
    r->z = (d > 0 ? d - 0.5 : d + 0.5) / s;
    double pv = erfc(fabs(r->z) * M_SQRT1_2);
    r->p = pv > 1.0 ? 1.0 : pv;
    return 0;
}

/* ---- Hodges-Lehmann */

int stats_hodges_lehmann(const double *a, size_t na, const double *b, size_t nb, double *shift)
{
    if (na == 0 || nb == 0 || !a || !b || !shift)
        return -EINVAL;
    if (has_nan(a, na) || has_nan(b, nb))
        return -EINVAL;
    if (na > HL_MAX_PAIRS / nb)
        return -E2BIG;
    size_t n = na * nb;
    double *d = malloc(n * sizeof(*d));
    if (!d)
        return -ENOMEM;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            d[i * nb + j] = a[i] - b[j];
    *shift = median_inplace(d, n);
    free(d);
    return 0;
}
