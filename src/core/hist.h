/*
 * hist - an HDR histogram of non-negative integer values (latencies in µs),
 * with HdrHistogram's bucket layout, so that its encoding (core/hdrlog.h) is
 * HdrHistogram's and its numbers are the ones HdrHistogram reports.
 *
 * Layout: a histogram covers [0, highest] with `sigfigs` significant decimal
 * digits (1..5). Values are counted in buckets whose width is a power of two:
 * 2^ceil(log2(2 * 10^sigfigs)) sub-buckets per bucket (2048 at 3 digits), the
 * first bucket of unit width 2^floor(log2(lowest)), each next bucket twice as
 * wide. 1 µs .. 1 h at 3 digits is 22 buckets, 23552 counters, 184 KiB.
 *
 * Contract:
 * - Caller-owned `struct hist`: hist_init() allocates the counts, hist_destroy()
 *   frees them (and is a no-op on a zeroed or destroyed struct).
 * - hist_record() is O(1): one count-leading-zeros, two shifts, no division.
 *   Values above `highest` are recorded as `highest` and also counted in
 *   h->clamped, so a summary can say how many were out of range; they are not
 *   an error. Negative values are -EINVAL and not recorded.
 * - Counts are int64_t and never negative; totals are checked for overflow
 *   where counts are added in bulk (record_n, merge), not per record.
 * - Statistics follow HdrHistogram (Java, 2.1.x): min is the lowest equivalent
 *   value of the smallest recorded value (0 if any value fell in the zero
 *   bucket), max the highest equivalent value of the largest, mean and stddev
 *   (population) use each bucket's median equivalent value, percentiles are
 *   getValueAtPercentile's: the lowest bucket such that at least p% of the
 *   counts are at or below it, reported as its highest equivalent value (its
 *   lowest for p == 0), p reduced by one ulp first so that 16.1% of 1000
 *   values is the 161st, not the 162nd (16.1 * 1000 / 100 is
 *   161.00000000000003 in doubles). All are 0 on an empty histogram.
 * - One histogram per thread: nothing here locks. Merge at the end.
 * - Errors: 0 or a negative errno, with a message in the caller's pk_err.
 */
#ifndef PK_CORE_HIST_H
#define PK_CORE_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

#define HIST_SIGFIGS_MIN 1
#define HIST_SIGFIGS_MAX 5

struct hist {
    /* layout, fixed by hist_init() */
    int64_t lowest;  /* lowest discernible value, >= 1 */
    int64_t highest; /* highest trackable value, >= 2 * lowest */
    int sigfigs;
    int unit_magnitude; /* floor(log2(lowest)) */
    int sub_bucket_half_count_magnitude;
    int sub_bucket_count;
    int sub_bucket_half_count;
    int bucket_count;
    int counts_len; /* (bucket_count + 1) * sub_bucket_half_count */
    int leading_zero_count_base;
    int64_t sub_bucket_mask;
    /* contents */
    int64_t total;
    int64_t clamped;    /* values above `highest`, recorded as `highest` */
    int64_t max_raw;    /* largest value recorded, 0 when none */
    int64_t min_nz_raw; /* smallest non-zero value recorded, INT64_MAX when none */
    int64_t *counts;
};

/*
 * -EINVAL unless lowest >= 1, highest >= 2 * lowest, HIST_SIGFIGS_MIN <=
 * sigfigs <= HIST_SIGFIGS_MAX, and the unit and sub-bucket magnitudes fit in
 * 62 bits (lowest below about 2^44 at 5 digits); -ENOMEM.
 */
int hist_init(struct hist *h, int64_t lowest, int64_t highest, int sigfigs, struct pk_err *e);
void hist_destroy(struct hist *h);
void hist_reset(struct hist *h);

int hist_record(struct hist *h, int64_t value);
/* n copies of value; n == 0 records nothing. -EINVAL for a negative value or
 * n, -EOVERFLOW if the total would pass INT64_MAX (nothing recorded). */
int hist_record_n(struct hist *h, int64_t value, int64_t n);

/*
 * Add src's counts to dst. The two must have the same counts layout (unit
 * magnitude, sub-bucket count, bucket count), as HdrHistogram's add() fast
 * path: -EINVAL otherwise, -EOVERFLOW if dst's total would overflow; dst is
 * unchanged on error. dst keeps its lowest and highest; clamped counts add.
 */
int hist_merge(struct hist *dst, const struct hist *src, struct pk_err *e);
/* Same layout (as hist_merge requires). */
bool hist_same_layout(const struct hist *a, const struct hist *b);

int64_t hist_total(const struct hist *h);
int64_t hist_min(const struct hist *h);
int64_t hist_max(const struct hist *h);
double hist_mean(const struct hist *h);
double hist_stddev(const struct hist *h);
/* p in [0, 100]; outside is clamped. */
int64_t hist_value_at_percentile(const struct hist *h, double p);

/* Bucket arithmetic (HdrHistogram's names); value >= 0. */
int64_t hist_lowest_equivalent(const struct hist *h, int64_t value);
int64_t hist_highest_equivalent(const struct hist *h, int64_t value);
int64_t hist_median_equivalent(const struct hist *h, int64_t value);
int64_t hist_equivalent_range(const struct hist *h, int64_t value);
/* Index into counts of a value (value <= highest), and the lowest value of an index. */
int hist_index_of(const struct hist *h, int64_t value);
int64_t hist_value_from_index(const struct hist *h, int index);
/* Recompute total, min and max from the counts (after filling them directly,
 * as a decoder does): -EOVERFLOW if they sum past INT64_MAX. */
int hist_recount(struct hist *h);

/*
 * Iteration, as HdrHistogram's RecordedValuesIterator (every non-empty
 * bucket, in increasing value) and PercentileIterator (the steps of the
 * percentile spectrum: ticks_per_half_distance steps in each half of the
 * remaining distance to 100%, a last step at 100%). The histogram must not
 * change during an iteration. Where the levels stop advancing in doubles
 * (totals beyond about 2^50), HdrHistogram repeats one line forever; this
 * iteration goes on to its last step instead.
 *
 *     struct hist_iter it;
 *     hist_iter_percentiles(&it, h, 5);
 *     while (hist_iter_next(&it))
 *         use(it.value, it.percentile, it.total);
 */
struct hist_iter {
    /* the step reached, valid after hist_iter_next() returned true */
    int64_t value;        /* highest equivalent value of the bucket */
    int64_t value_lowest; /* its lowest equivalent value */
    int64_t count;        /* count in the bucket */
    int64_t count_step;   /* counts added since the previous step */
    int64_t total;        /* counts up to and including the bucket */
    double percentile;    /* level iterated to (percentiles), or 100 * total / all */

    /* private */
    const struct hist *h_;
    int kind_;
    int index_;
    int visited_;
    int ticks_;
    bool fresh_;
    bool last_step_;
    int64_t all_;
    int64_t run_;
    int64_t run_prev_;
    double level_;
};

void hist_iter_recorded(struct hist_iter *it, const struct hist *h);
/* ticks_per_half_distance >= 1 (HdrHistogram's spectrum uses 5). */
void hist_iter_percentiles(struct hist_iter *it, const struct hist *h, int ticks_per_half_distance);
bool hist_iter_next(struct hist_iter *it);

#endif
