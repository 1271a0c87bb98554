/*
 * result_impl - what the parts of the result module (result.h) share, and
 * nothing outside them includes:
 *   result.c        the model: lifetime, error counters, series, threshold values
 *   result_write.c  the JSON document and the HdrHistogram interval log out
 *   result_read.c   the JSON document in (untrusted input)
 *   result_merge.c  merges of results and of interval logs
 * The limits below are the ones the reader enforces and the writer checks
 * first, so that every file written reads back.
 */
#ifndef PK_LOAD_RESULT_IMPL_H
#define PK_LOAD_RESULT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
