/*
 * load_out - what `perfkit load` prints: the summary of a run or of a merge,
 * the self-check warnings, the threshold marks, the live progress line and
 * the latency spectrum.
 *
 * The caller picks the streams: the summary goes to stdout, or to stderr
 * when `--json -` takes stdout; the progress line always goes to stderr and
 * only when it is a TTY. Colours follow the struct term passed in (term.h:
 * a TTY and no NO_COLOR). Nothing here changes the result.
 */
#ifndef PK_CLI_LOAD_OUT_H
#define PK_CLI_LOAD_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/term.h"
#include "load/engine.h"
#include "load/result.h"
#include "load/threshold.h"

/* The self-check: a generator that was itself the bottleneck (its busiest
 * thread at LOAD_OUT_CPU_BUSY of a CPU or more), and, in the open model,
 * sends that fell behind the schedule (more than LOAD_OUT_LATE_FRACTION of
 * the sends late, or under LOAD_OUT_RATE_FRACTION of the target achieved). */
#define LOAD_OUT_CPU_BUSY      0.90
#define LOAD_OUT_LATE_FRACTION 0.01
#define LOAD_OUT_RATE_FRACTION 0.99

#define LOAD_OUT_WARNINGS_MAX 4
#define LOAD_OUT_WARNING_LEN  512

struct load_warnings {
    size_t n;
    char text[LOAD_OUT_WARNINGS_MAX][LOAD_OUT_WARNING_LEN];
    const char *ptr[LOAD_OUT_WARNINGS_MAX]; /* text[i], for result_write_json() */
};

/* Fills w with the self-check's warnings about r (none: w->n == 0). */
void load_out_selfcheck(const struct load_result *r, struct load_warnings *w);

/* How many of the thresholds r fails (result_threshold_value + threshold_pass). */
size_t load_out_thresholds_failed(const struct load_result *r, const struct threshold *th, size_t nth);

/*
 * The summary, to t->fp, wrapped at t->width columns. target names what was
 * loaded ("http://h/", "shop.scn", "3 files"); NULL: r's URLs. th and w
 * may be NULL with nth 0 and no warnings.
 */
void load_out_summary(const struct term *t, const struct load_result *r, const char *target,
                      const struct threshold *th, size_t nth, const struct load_warnings *w);

/* HdrHistogram's percentile spectrum of r's latency (corrected in the open
 * model) in milliseconds, to fp: -ENOMEM with a message. */
int load_out_spectrum(FILE *fp, const struct load_result *r, struct pk_err *e);

/* ---- live progress: one line on stderr, rewritten in place each second */
struct load_live {
    struct term *t; /* a TTY; NULL: draw nothing */
    bool open_model;
    bool drawn;
};

/* The line's text, without '\r' or padding: elapsed/total, requests, req/s
 * and p99 of the last second, errors, and "warmup" while in the warmup. */
char *load_out_progress_text(const struct load_progress *p, bool open_model, char *buf, size_t len);
/* on_second's callback (arg: a struct load_live). */
void load_out_progress(const struct load_progress *p, void *arg);
/* Erases the line if one was drawn. */
void load_out_progress_clear(struct load_live *l);

#endif
