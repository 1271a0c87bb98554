#include "core/hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

enum { ITER_RECORDED, ITER_PERCENTILES };

/* Bucket arithmetic is done on uint64_t: the top bucket of a histogram that
 * reaches INT64_MAX ends at 2^63, where HdrHistogram's long arithmetic wraps
 * to exactly the value it reports (INT64_MAX), and unsigned wrap is defined. */
static inline int bucket_of(const struct hist *h, uint64_t v)
{
    return h->leading_zero_count_base - __builtin_clzll(v | (uint64_t)h->sub_bucket_mask);
}

static inline int sub_bucket_of(const struct hist *h, uint64_t v, int bucket)
{
    return (int)(v >> (bucket + h->unit_magnitude));
}

static inline int index_of(const struct hist *h, uint64_t v)
{
    int bucket = bucket_of(h, v);
    int sub = sub_bucket_of(h, v, bucket);
    /* (bucket + 1) * half + (sub - half): a bucket's lower half would hold the
     * values of the bucket below at a coarser resolution, so only the first
     * bucket stores it. */
    return ((bucket + 1) << h->sub_bucket_half_count_magnitude) + (sub - h->sub_bucket_half_count);
}

static inline uint64_t value_at(const struct hist *h, int bucket, int sub)
{
    return (uint64_t)sub << (bucket + h->unit_magnitude);
}

static int buckets_to_cover(const struct hist *h, int64_t value)
{
    int64_t untrackable = (int64_t)h->sub_bucket_count << h->unit_magnitude;
    int n = 1;
    while (untrackable <= value) {
        if (untrackable > INT64_MAX / 2)
            return n + 1;
        untrackable <<= 1;
        n++;
    }
    return n;
}

int hist_init(struct hist *h, int64_t lowest, int64_t highest, int sigfigs, struct pk_err *e)
{
    memset(h, 0, sizeof(*h));
    if (lowest < 1)
        return err_set(e, -EINVAL, "histogram", "invalid layout", "lowest discernible value %lld is below 1",
                       (long long)lowest);
    if (sigfigs < HIST_SIGFIGS_MIN || sigfigs > HIST_SIGFIGS_MAX)
        return err_set(e, -EINVAL, "histogram", "invalid layout", "%d significant digits (use %d to %d)",
                       sigfigs, HIST_SIGFIGS_MIN, HIST_SIGFIGS_MAX);
    if (lowest > INT64_MAX / 2 || highest < 2 * lowest)
        return err_set(e, -EINVAL, "histogram", "invalid layout",
                       "highest trackable value %lld is below twice the lowest (%lld)", (long long)highest,
                       (long long)lowest);

    /* 2 * 10^sigfigs values at unit resolution, rounded up to a power of two. */
    int64_t single_unit = 2;
    for (int i = 0; i < sigfigs; i++)
        single_unit *= 10;
    int count_magnitude = 0;
    while ((INT64_C(1) << count_magnitude) < single_unit)
        count_magnitude++;

    int unit_magnitude = 63 - __builtin_clzll((uint64_t)lowest);
    int half_magnitude = count_magnitude - 1;
    if (unit_magnitude + half_magnitude > 61)
        return err_set(e, -EINVAL, "histogram", "invalid layout",
                       "lowest discernible value %lld is too large for %d significant digits",
                       (long long)lowest, sigfigs);

    h->lowest = lowest;
    h->highest = highest;
    h->sigfigs = sigfigs;
    h->unit_magnitude = unit_magnitude;
    h->sub_bucket_half_count_magnitude = half_magnitude;
    h->sub_bucket_count = 1 << count_magnitude;
    h->sub_bucket_half_count = h->sub_bucket_count / 2;
    h->sub_bucket_mask = (int64_t)(h->sub_bucket_count - 1) << unit_magnitude;
    h->leading_zero_count_base = 64 - unit_magnitude - half_magnitude - 1;
    h->bucket_count = buckets_to_cover(h, highest);
    h->counts_len = (h->bucket_count + 1) * h->sub_bucket_half_count;
    h->min_nz_raw = INT64_MAX;
    h->counts = calloc((size_t)h->counts_len, sizeof(*h->counts));
    if (!h->counts) {
        int rc = err_errno(e, -ENOMEM, "histogram", "cannot allocate counts");
        memset(h, 0, sizeof(*h));
        return rc;
    }
    return 0;
}

void hist_destroy(struct hist *h)
{
    if (!h)
        return;
    free(h->counts);
    memset(h, 0, sizeof(*h));
}

void hist_reset(struct hist *h)
{
    if (h->counts)
        memset(h->counts, 0, (size_t)h->counts_len * sizeof(*h->counts));
    h->total = 0;
    h->clamped = 0;
    h->max_raw = 0;
    h->min_nz_raw = INT64_MAX;
}

int hist_record(struct hist *h, int64_t value)
{
    if (__builtin_expect(value < 0, 0))
        return -EINVAL;
    if (__builtin_expect(value > h->highest, 0)) {
        value = h->highest;
        h->clamped++;
    }
    h->counts[index_of(h, (uint64_t)value)]++;
    h->total++;
    if (value > h->max_raw)
        h->max_raw = value;
    if (value < h->min_nz_raw && value != 0)
        h->min_nz_raw = value;
    return 0;
}

int hist_record_n(struct hist *h, int64_t value, int64_t n)
{
    if (value < 0 || n < 0)
        return -EINVAL;
    if (n == 0)
        return 0;
    int64_t total;
    if (__builtin_add_overflow(h->total, n, &total))
        return -EOVERFLOW;
    if (value > h->highest) {
        value = h->highest;
        h->clamped += n;
    }
    h->counts[index_of(h, (uint64_t)value)] += n;
    h->total = total;
    if (value > h->max_raw)
        h->max_raw = value;
    if (value < h->min_nz_raw && value != 0)
        h->min_nz_raw = value;
    return 0;
}

bool hist_same_layout(const struct hist *a, const struct hist *b)
{
    return a->unit_magnitude == b->unit_magnitude && a->sub_bucket_count == b->sub_bucket_count &&
           a->bucket_count == b->bucket_count;
}

int hist_merge(struct hist *dst, const struct hist *src, struct pk_err *e)
{
    if (!hist_same_layout(dst, src))
        return err_set(e, -EINVAL, "histogram", "cannot merge histograms of different layouts",
                       "%lld..%lld at %d digits and %lld..%lld at %d digits", (long long)dst->lowest,
                       (long long)dst->highest, dst->sigfigs, (long long)src->lowest, (long long)src->highest,
                       src->sigfigs);
    int64_t total, clamped;
    if (__builtin_add_overflow(dst->total, src->total, &total) ||
        __builtin_add_overflow(dst->clamped, src->clamped, &clamped))
        return err_set(e, -EOVERFLOW, "histogram", "cannot merge histograms",
                       "the total count would overflow");
    for (int i = 0; i < src->counts_len; i++)
        dst->counts[i] += src->counts[i];
    dst->total = total;
    dst->clamped = clamped;
    if (src->max_raw > dst->max_raw)
        dst->max_raw = src->max_raw;
    if (src->min_nz_raw < dst->min_nz_raw)
        dst->min_nz_raw = src->min_nz_raw;
    return 0;
}

int hist_recount(struct hist *h)
{
    int64_t total = 0;
    int max_index = -1, min_nz_index = -1;
    for (int i = 0; i < h->counts_len; i++) {
        if (h->counts[i] <= 0)
            continue;
        if (__builtin_add_overflow(total, h->counts[i], &total))
            return -EOVERFLOW;
        max_index = i;
        if (min_nz_index < 0 && i != 0)
            min_nz_index = i;
    }
    h->total = total;
    h->max_raw = max_index < 0 ? 0 : hist_highest_equivalent(h, hist_value_from_index(h, max_index));
    h->min_nz_raw = min_nz_index < 0 ? INT64_MAX : hist_value_from_index(h, min_nz_index);
    return 0;
}

/* ---- bucket arithmetic */

int hist_index_of(const struct hist *h, int64_t value)
{
    return index_of(h, (uint64_t)value);
}

int64_t hist_value_from_index(const struct hist *h, int index)
{
    int bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;
    int sub = (index & (h->sub_bucket_half_count - 1)) + h->sub_bucket_half_count;
    if (bucket < 0) {
        sub -= h->sub_bucket_half_count;
        bucket = 0;
    }
    return (int64_t)value_at(h, bucket, sub);
}

static uint64_t range_of(const struct hist *h, uint64_t v)
{
    int bucket = bucket_of(h, v);
    int sub = sub_bucket_of(h, v, bucket);
    int adjusted = sub >= h->sub_bucket_count ? bucket + 1 : bucket;
    return UINT64_C(1) << (h->unit_magnitude + adjusted);
}

static uint64_t lowest_of(const struct hist *h, uint64_t v)
{
    int bucket = bucket_of(h, v);
    return value_at(h, bucket, sub_bucket_of(h, v, bucket));
}

int64_t hist_equivalent_range(const struct hist *h, int64_t value)
{
    return (int64_t)range_of(h, (uint64_t)value);
}

int64_t hist_lowest_equivalent(const struct hist *h, int64_t value)
{
    return (int64_t)lowest_of(h, (uint64_t)value);
}

int64_t hist_highest_equivalent(const struct hist *h, int64_t value)
{
    uint64_t v = (uint64_t)value;
    return (int64_t)(lowest_of(h, v) + range_of(h, v) - 1);
}

int64_t hist_median_equivalent(const struct hist *h, int64_t value)
{
    uint64_t v = (uint64_t)value;
    return (int64_t)(lowest_of(h, v) + (range_of(h, v) >> 1));
}

/* ---- statistics */

int64_t hist_total(const struct hist *h)
{
    return h->total;
}

int64_t hist_min(const struct hist *h)
{
    if (h->total == 0 || h->counts[0] > 0)
        return 0;
    return hist_lowest_equivalent(h, h->min_nz_raw);
}

int64_t hist_max(const struct hist *h)
{
    return h->max_raw == 0 ? 0 : hist_highest_equivalent(h, h->max_raw);
}

/* A product rounded to double before it is added: a fused multiply-add (which
 * GCC contracts to where the target has one) would change the last bits. */
static double product(double a, double b)
{
    volatile double p = a * b;
    return p;
}

/* Accumulated in bucket order in doubles, as HdrHistogram does, so that the
 * printed mean agrees to the last digit. */
double hist_mean(const struct hist *h)
{
    if (h->total == 0)
        return 0.0;
    double sum = 0;
    for (int i = 0; i < h->counts_len; i++) {
        if (h->counts[i] == 0)
            continue;
        double mid = (double)hist_median_equivalent(h, hist_value_from_index(h, i));
        sum += product(mid, (double)h->counts[i]);
    }
    return sum / (double)h->total;
}

double hist_stddev(const struct hist *h)
{
    if (h->total == 0)
        return 0.0;
    double mean = hist_mean(h);
    double sum = 0;
    for (int i = 0; i < h->counts_len; i++) {
        if (h->counts[i] == 0)
            continue;
        double dev = (double)hist_median_equivalent(h, hist_value_from_index(h, i)) - mean;
        sum += product(product(dev, dev), (double)h->counts[i]);
    }
    return sqrt(sum / (double)h->total);
}

int64_t hist_value_at_percentile(const struct hist *h, double p)
{
    /* One ulp down, so that a percentile that is exact in decimal but not in
     * binary (99.9) does not round its count up past the intended one. */
    double req = fmin(fmax(nextafter(p, -INFINITY), 0.0), 100.0);
    double fractional = (req * (double)h->total) / 100.0;
    int64_t want = (int64_t)ceil(fractional);
    if (want < 1)
        want = 1;
    int64_t run = 0;
    for (int i = 0; i < h->counts_len; i++) {
        run += h->counts[i];
        if (run >= want) {
            int64_t v = hist_value_from_index(h, i);
            return p == 0.0 ? hist_lowest_equivalent(h, v) : hist_highest_equivalent(h, v);
        }
    }
    return 0;
}

/* ---- iteration (HdrHistogram's AbstractHistogramIterator, step for step) */

static void iter_start(struct hist_iter *it, const struct hist *h, int kind, int ticks)
{
    memset(it, 0, sizeof(*it));
    it->h_ = h;
    it->kind_ = kind;
    it->ticks_ = ticks < 1 ? 1 : ticks;
    it->visited_ = -1;
    it->fresh_ = true;
    it->all_ = h->total;
}

void hist_iter_recorded(struct hist_iter *it, const struct hist *h)
{
    iter_start(it, h, ITER_RECORDED, 1);
}

void hist_iter_percentiles(struct hist_iter *it, const struct hist *h, int ticks_per_half_distance)
{
    iter_start(it, h, ITER_PERCENTILES, ticks_per_half_distance);
}

static bool reached(const struct hist_iter *it, int64_t count)
{
    if (it->kind_ == ITER_RECORDED)
        return count != 0 && it->visited_ != it->index_;
    if (count == 0 || (it->last_step_ && it->run_ < it->all_))
        return false;
    return (100.0 * (double)it->run_) / (double)it->all_ >= it->level_;
}

/*
 * The tick width halves with each half of the remaining distance to 100%:
 * ticks * 2^(floor(log2(100 / (100 - level))) + 1) ticks over 0..100, with
 * HdrHistogram's double and long arithmetic (a long multiply that wraps) so
 * that every level, and so every line of the spectrum, is the same.
 * Where a tick no longer moves the level (totals beyond 2^50 or so, whose
 * levels get that close to 100%), HdrHistogram would repeat the line
 * forever; here the level becomes infinite and the iteration goes on to its
 * last step, at 100% and the max.
 */
static void next_level(struct hist_iter *it)
{
    if (it->kind_ == ITER_RECORDED) {
        it->visited_ = it->index_;
        return;
    }
    if (!(it->level_ < 100.0)) {
        it->level_ = INFINITY;
        return;
    }
    double halves = log(100.0 / (100.0 - it->level_)) / log(2.0);
    int64_t scale = (int64_t)pow(2.0, (double)((int64_t)halves + 1));
    int64_t ticks = (int64_t)((uint64_t)it->ticks_ * (uint64_t)scale);
    double level = it->level_ + 100.0 / (double)ticks;
    it->level_ = level > it->level_ ? level : INFINITY;
}

bool hist_iter_next(struct hist_iter *it)
{
    const struct hist *h = it->h_;
    if (it->run_ >= it->all_ || isinf(it->level_)) {
        /* Counts exhausted (or levels stalled): the percentile iteration adds
         * one step at 100%, at the last bucket. */
        if (it->kind_ != ITER_PERCENTILES || it->last_step_ || it->all_ <= 0)
            return false;
        it->level_ = 100.0;
        it->last_step_ = true;
    }
    while (it->index_ < h->counts_len) {
        int64_t count = h->counts[it->index_];
        if (it->fresh_) {
            it->run_ += count;
            it->fresh_ = false;
        }
        if (reached(it, count)) {
            int64_t low = hist_value_from_index(h, it->index_);
            it->value_lowest = low;
            it->value = hist_highest_equivalent(h, low);
            it->count = count;
            it->total = it->run_;
            it->count_step = it->run_ - it->run_prev_;
            it->percentile =
                it->kind_ == ITER_PERCENTILES ? it->level_ : (100.0 * (double)it->run_) / (double)it->all_;
            it->run_prev_ = it->run_;
            next_level(it);
            return true;
        }
        it->index_++;
        it->fresh_ = true;
    }
    return false;
}
