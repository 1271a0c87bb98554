/*
 * threshold - pass/fail criteria of a load run, k6-style (`--threshold`,
 * repeatable): "METRIC OP LIMIT", spaces around OP allowed.
 *
 *   metric       limit                                   measured value given to threshold_pass
 *   pN, p(N)     a duration with a unit: 200ms, 1.5s      latency at percentile N (0 < N <= 100,
 *                                                          "p99.9"), in seconds
 *   mean, avg    a duration                               mean latency, seconds
 *   min, max     a duration                               min / max latency, seconds
 *   med          a duration                               = p50
 *   error_rate   "1%" (0..100%) or a fraction "0.01" (0..1)  errors / attempts, a fraction
 *   dropped      the same                                 open model: due requests never sent /
 *                                                          requests due, a fraction (k6's
 *                                                          dropped_iterations); 0 in the closed model
 *   rps          a count: "5000", "1.5k"                  requests per second
 *   OP           <  <=  >  >=
 *
 * A latency limit must carry its unit: k6 reads a bare "200" as
 * milliseconds and perfkit's durations read it as seconds, so a bare number
 * is refused rather than guessed. Durations and counts are parsed by
 * core/units.
 *
 * Errors: PK_EPARSE with e->on = "--threshold", e->what = "invalid
 * threshold '<text>'" and e->why naming the part that is wrong. *t is
 * written only on success. No allocation, no state: thread-safe.
 */
#ifndef PK_LOAD_THRESHOLD_H
#define PK_LOAD_THRESHOLD_H

#include <stdbool.h>

#include "perfkit.h"

#define THRESHOLD_TEXT_MAX 127

enum threshold_metric {
    THRESHOLD_PERCENTILE, /* latency at `percentile` */
    THRESHOLD_MEAN,
    THRESHOLD_MIN,
    THRESHOLD_MAX,
    THRESHOLD_ERROR_RATE,
    THRESHOLD_RPS,
    THRESHOLD_DROPPED,
};

enum threshold_op { THRESHOLD_LT, THRESHOLD_LE, THRESHOLD_GT, THRESHOLD_GE };

struct threshold {
    enum threshold_metric metric;
    enum threshold_op op;
    double percentile; /* 0 < p <= 100 for THRESHOLD_PERCENTILE, else 0 */
    double limit;      /* seconds (latency), a fraction 0..1 (error_rate, dropped), requests/s (rps) */
    char text[THRESHOLD_TEXT_MAX + 1]; /* as given, for the summary and the JSON */
};

int threshold_parse(const char *text, struct threshold *t, struct pk_err *e);

/* Whether `measured` (in the unit of the table above) meets the threshold.
 * NaN (no data: no request completed) fails: a run that measured nothing
 * must not pass a gate. */
bool threshold_pass(const struct threshold *t, double measured);

/* "<", "<=", ">", ">=". */
const char *threshold_op_str(enum threshold_op op);

#endif
