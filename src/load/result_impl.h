/*
 * result_impl - what the parts of the result module (result.h) share, and
 * nothing outside them includes:
 *   result.c        the model: lifetime, error counters, series, threshold values
 *   result_write.c  the JSON document and the HdrHistogram interval log out
 *   result_read.c   the JSON document in (untrusted input)
 *   result_merge.c  merges of results
 *   result_stream.c merge's inputs streamed: JSON files and interval logs
 * The limits below are the ones the reader enforces and the writer checks
 * first, so that every file written reads back.
 */
#ifndef PK_LOAD_RESULT_IMPL_H
#define PK_LOAD_RESULT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/hist.h"
#include "load/result.h"

/* Year 9999: start_time keeps four digits, and start_ms + a duration in ms
 * stays far from INT64_MAX and exact in a double. */
#define START_MS_MAX INT64_C(253402300799999)
/* About 31 years: any real run, and small enough that window ends in ms are
 * exact integers in a double. */
#define DURATION_MAX_S 1e9
/* The largest value a result histogram reports: the highest equivalent
 * value of its top bucket lies a little above RESULT_HIST_HIGHEST (buckets
 * are 1/1024 of their values wide at 3 digits). */
#define HIST_VALUE_MAX (2 * RESULT_HIST_HIGHEST)

/* A second with nothing in it: zero counts, no histogram, host metrics NaN. */
void result_second_clear(struct result_second *s);
/* n cleared seconds in an array of the length result_series_push() grows
 * (every array that becomes r->series is allocated here or there); NULL
 * when out of memory. */
struct result_second *result_series_alloc(size_t n);
/* Frees n seconds' histograms and the array. */
void result_series_free(struct result_second *s, size_t n);
/* A URL a result holds: 1..RESULT_URL_MAX bytes, no control characters. */
bool result_url_ok(const char *s);
/* A histogram of the layout of result_hist_init(). */
bool result_hist_ok(const struct hist *h);

/* Histograms a merge or a reader decodes into, allocated once and
 * reused (zeroed: none yet), so that adding many seconds allocates none
 * each; result_scratch_destroy() frees them. */
struct result_scratch {
    struct hist h;
};
void result_scratch_destroy(struct result_scratch *s);
/* Its histogram (result_hist_init()'s layout), empty; -ENOMEM the first time. */
int result_scratch_get(struct result_scratch *sc, struct hist **out, struct pk_err *e);

/* The layout in the V2 header at the start of a compressed histogram,
 * found by inflating its first 40 bytes only (so a foreign layout is
 * refused before anything allocates counts for it): 0, -1 when the bytes
 * do not get that far (a decoder then says why), -ENOMEM. */
int result_peek_layout(const uint8_t *z, size_t n, int64_t *lowest, int64_t *highest, int *sigfigs);

/* result_read.c, for the streaming reader (result_stream.c): every key of a
 * document but "series" into r (result_init()ed), and one second of the
 * series (s is cleared first; on error it holds nothing to free). Errors
 * as result_parse_json()'s, on = name. */
int result_read_head(const json_t *root, const char *name, struct load_result *r, struct pk_err *e);
int result_read_second(const json_t *o, size_t i, bool host, const char *name, struct result_second *s,
                       struct result_scratch *sc, struct pk_err *e);

/* result_merge.c. Adds src into d: counts, host metrics, and histograms (d's replaced by
 * a new buffer when both have one; *fresh says whether d's buffer is
 * owned, and is set when d gets one). -EOVERFLOW, -ENOMEM. */
int result_second_add(struct result_second *d, bool *fresh, const struct result_second *src,
                      struct result_scratch *sc, struct pk_err *e);
/* p50, p99 and max of a second from its histogram h. */
void result_second_stats(struct result_second *s, const struct hist *h);
/* Whole seconds (nearest) from base_ms to start_ms. */
int64_t result_offset_s(int64_t start_ms, int64_t base_ms);

#endif
