/*
 * result - what one `perfkit load` run measured, or several merged: totals,
 * latency histograms, status codes, errors by phase, the per-second series
 * and host metrics; its JSON form (docs/load-json.md) written and read back; the
 * merge of several results (JSON files or HdrHistogram interval logs) and
 * the evaluation of thresholds.
 *
 * Units: latencies in microseconds in struct hist (1 us .. 1 h, 3 digits:
 * result_hist_init()), times in seconds as double, counts as uint64_t.
 *
 * Errors. A request that did not end in a complete response is counted once,
 * under the phase where it failed, with a name: the errno's name for
 * syscalls ("ECONNREFUSED", "ECONNRESET"), http1_error_name() for parse
 * errors, "timeout" for the timer, OpenSSL's reason for TLS ("certificate
 * verify failed"). Bytes that answer no request are counted the same way
 * (parse, "unsolicited_data"), once each time, though no request failed.
 * A response with status >= 400 is not an error of a phase
 * but counts in `errors` (k6's default for a failed request). In the open
 * model a request due but never sent is `dropped` (k6's dropped_iterations):
 * it counts in `errors` too, as a failed attempt. error_rate = errors /
 * (requests + transport errors + dropped).
 *
 * Ownership: struct load_result is caller-owned; result_init() before use,
 * result_destroy() after (frees the histograms, the series and its encoded
 * histograms, the URL list, the error list). No global state; a result is
 * used by one thread at a time.
 *
 * Caps (what the JSON reader refuses beyond, and the writer with it, so
 * that every file written reads back): RESULT_SERIES_MAX seconds,
 * RESULT_URLS_MAX URLs of RESULT_URL_MAX bytes, counts up to 2^63-1 (JSON
 * integers), start_ms in years 1970..9999, files of RESULT_JSON_MAX_BYTES.
 *
 * Sources: result.c (the model), result_write.c, result_read.c,
 * result_merge.c and result_stream.c (merge's inputs streamed), sharing
 * result_impl.h.
 */
#ifndef PK_LOAD_RESULT_H
#define PK_LOAD_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hist.h"
#include "load/threshold.h"
#include "perfkit.h"

/* Latency histograms: 1 us .. 1 hour, 3 significant digits. */
#define RESULT_HIST_LOWEST  1
#define RESULT_HIST_HIGHEST INT64_C(3600000000)
#define RESULT_HIST_SIGFIGS 3
/* Status codes 100..599 are counted; anything else was a parse error. */
#define RESULT_STATUS_MAX 600
/* Distinct error names kept; further names are counted under "other". */
#define RESULT_ERROR_NAMES_MAX 64
#define RESULT_ERROR_NAME_MAX  63
/* The JSON format version, "perfkit_load": 1. */
#define RESULT_FORMAT_VERSION 1
/* Seconds in a series: a week. A JSON file of a longer run would pass
 * RESULT_JSON_MAX_BYTES anyway (a second with its histogram is ~0.5-2 KB). */
#define RESULT_SERIES_MAX 604800u
#define RESULT_URLS_MAX   4096u
#define RESULT_URL_MAX    8192u
/* Result files and HdrHistogram logs read for a merge. */
#define RESULT_JSON_MAX_BYTES (1024u << 20)

enum load_phase {
    LOAD_PHASE_CONNECT, /* socket, connect (refused, unreachable, connect timeout) */
    LOAD_PHASE_TLS,     /* handshake, verification */
    LOAD_PHASE_WRITE,   /* sending the request (EPIPE, ECONNRESET) */
    LOAD_PHASE_READ,    /* receiving (ECONNRESET, EOF before or inside a response) */
    LOAD_PHASE_TIMEOUT, /* no complete response within --timeout */
    LOAD_PHASE_PARSE,   /* the bytes were not a valid HTTP/1.1 response */
    LOAD_PHASE_COUNT
};

/* "connect", "tls", "write", "read", "timeout", "parse" (JSON keys). */
const char *result_phase_name(enum load_phase p);

/* The names the engine gives itself, besides errno's names ("ECONNRESET")
 * and OpenSSL's reasons; the parser's come from http1_error_name(). */
#define RESULT_ERR_EOF              "eof"                     /* read: closed before any byte of a response */
#define RESULT_ERR_CLOSED_BY_SERVER "closed_by_server"        /* read: pipelined behind "Connection: close" */
#define RESULT_ERR_UNSOLICITED      "unsolicited_data"        /* parse: bytes with no request outstanding */
#define RESULT_ERR_TIMEOUT          "timeout"                 /* timeout: no complete response in time */
#define RESULT_ERR_TLS_CLOSED       "closed during handshake" /* tls */
#define RESULT_ERR_TLS_FAILED       "handshake failed"        /* tls: no reason from OpenSSL */
#define RESULT_ERR_TLS_IO           "tls_failed"              /* read, write: no reason from OpenSSL */

struct result_error_name {
    enum load_phase phase;
    const char *name;
};

/* Every name of a fixed text the engine can count, with its phase: its own
 * above and the parser's (those of a close inside a response under read,
 * the others under parse), not errno's or OpenSSL's. docs/load.md's table
 * lists the same (test_result compares them). Returns how many, writing
 * at most cap into out. */
size_t result_error_names(struct result_error_name *out, size_t cap);

struct result_error {
    uint8_t phase;                        /* enum load_phase */
    char name[RESULT_ERROR_NAME_MAX + 1]; /* "ECONNRESET", "bad_chunk_size", "timeout", ... */
    uint64_t count;
};

/* One second of the measured phase (t = index, seconds after its start),
 * by the time responses completed. */
struct result_second {
    uint64_t requests; /* complete responses */
    uint64_t errors;   /* transport errors + status >= 400 */
    uint64_t bytes_in, bytes_out;
    int64_t p50_us, p99_us, max_us; /* of `hist`; 0 when no response */
    /* The second's latency histogram (corrected in the open model) as
     * HdrHistogram's compressed V2 encoding (core/hdrlog.h), malloc'd; NULL
     * when the second had no response. What --hdr-log writes and what
     * merge adds up. */
    uint8_t *hist_z;
    size_t hist_z_len;
    /* --host-metrics: NaN when not sampled (or unreadable). */
    double cpu_pct;                /* busy % of all CPUs */
    double mem_used_pct;           /* (MemTotal - MemAvailable) / MemTotal */
    double net_rx_bps, net_tx_bps; /* bytes/s, all interfaces but lo */
};

/* What the requests of one name got: a request's name is its URL as
 * given, or in a scenario its `name` (else "METHOD URL"). Their errors are
 * those of requests of that name (a connect that failed before a request
 * was chosen counts only in the totals, unless every request of that
 * origin has the one name). */
struct result_group {
    char *name;             /* malloc'd, 1..RESULT_NAME_MAX bytes, printable */
    uint64_t requests;      /* complete responses */
    uint64_t errors;        /* transport errors + status >= 400 + dropped, of its requests */
    uint64_t status_errors; /* responses with status >= 400 */
    uint64_t dropped;       /* open model: due, never sent */
    uint64_t status[RESULT_STATUS_MAX];
    struct hist latency; /* corrected in the open model */
};

/* One step of --stage: what completed (or failed) within it, as the
 * series counts seconds; a dropped request counts in the stage it was due. */
struct result_stage {
    uint64_t target;   /* connections, or requests/s in the open model */
    double start_s;    /* its start, seconds after the measured phase's (negative: in the warmup) */
    double length_s;   /* as planned */
    double duration_s; /* its measured part */
    uint64_t requests, errors, status_errors, dropped;
    struct hist latency;
};

/* Names kept; requests of further names count under RESULT_GROUP_OTHER. */
#define RESULT_GROUPS_MAX  64u
#define RESULT_GROUP_OTHER "(other)"
#define RESULT_NAME_MAX    RESULT_URL_MAX
/* Stages a result holds: SCHEDULE_MAX_STAGES. */
#define RESULT_STAGES_MAX 64u

struct load_result {
    /* what ran */
    bool open_model;
    unsigned threads, connections, pipeline;
    unsigned sources; /* inputs merged into this result; 0 after result_init(),
                                * which result_merge() takes as "empty"; a run sets 1
                                * (the JSON writer writes 0 as 1) */
    char **urls;      /* malloc'd strings, nurls of them */
    size_t nurls;
    int64_t start_ms;  /* epoch ms of the start of the measured phase */
    double duration_s; /* length of the measured phase */
    double warmup_s;

    /* totals of the measured phase */
    uint64_t requests;      /* complete responses, any status */
    uint64_t errors;        /* transport errors (the sum of errs) + status >= 400 + dropped */
    uint64_t status_errors; /* responses with status >= 400 */
    uint64_t dropped;       /* open model: due in the measured phase, never sent (no connection
                             * free within --timeout, or none by the end) */
    uint64_t unfinished;    /* sent, still in flight when the run ended: neither latency nor error */
    uint64_t bytes_in, bytes_out;
    uint64_t connects; /* connections established (TCP, and TLS when https) */
    uint64_t status[RESULT_STATUS_MAX];
    struct result_error errs[RESULT_ERROR_NAMES_MAX];
    size_t nerrs;

    /* latencies, us. Open model: `latency` is measured from the intended send
     * time (coordinated omission corrected) and `latency_uncorrected` from
     * the write; closed model: both from the write (the same values). */
    struct hist latency;
    struct hist latency_uncorrected;
    struct hist connect; /* connect (+ TLS handshake) times */

    /* open model */
    double rate_target;   /* requests due in the measured phase / duration_s */
    double rate_achieved; /* requests sent in the measured phase / duration_s */
    uint64_t due;         /* requests due in the measured phase (sends + dropped) */
    uint64_t sends, late_sends;
    int64_t lateness_max_us;

    /* self-check: the busiest generator thread's CPU time / wall time (0..1) */
    double generator_cpu;

    /* the per-second series, nseries entries */
    struct result_second *series;
    size_t nseries;
    bool host_metrics; /* series carries host metrics */

    /* by request name (none: not known, as from an interval log) and by
     * stage (none: the run had no --stage) */
    struct result_group *groups;
    size_t ngroups;
    struct result_stage *stages;
    size_t nstages;
};

/* Initialises every histogram (result_hist_init) and zeroes the rest;
 * -ENOMEM. On failure r is safe to result_destroy(). */
int result_init(struct load_result *r, struct pk_err *e);
void result_destroy(struct load_result *r);
/* A latency histogram with the layout above (what every thread records into). */
int result_hist_init(struct hist *h, struct pk_err *e);

/* Adds n to the counter (phase, name), creating it. Once
 * RESULT_ERROR_NAMES_MAX - LOAD_PHASE_COUNT names exist, new names count
 * under (phase, "other"), for which the last LOAD_PHASE_COUNT slots stay
 * free. A name is cut to RESULT_ERROR_NAME_MAX bytes, bytes outside
 * printable ASCII become '?', NULL or "" is "unknown". Does not touch
 * errors. */
void result_error_add(struct load_result *r, enum load_phase phase, const char *name, uint64_t n);
/* Sum of the transport error counters. */
uint64_t result_transport_errors(const struct load_result *r);
/* errors / (requests + transport errors + dropped); NaN when all are 0. */
double result_error_rate(const struct load_result *r);
/* dropped / (sends + dropped) in the open model, NaN when nothing was due;
 * 0 in the closed model, where nothing is due at a time. */
double result_dropped_rate(const struct load_result *r);
/* requests / duration_s; NaN when duration_s is 0. */
double result_rps(const struct load_result *r);

/* Appends a group named name (copied, cut to RESULT_NAME_MAX bytes) with
 * its histogram, or a stage; *out (may be NULL) is valid until the next
 * add. -ENOMEM; -EFBIG past RESULT_GROUPS_MAX or RESULT_STAGES_MAX. */
int result_group_add(struct load_result *r, const char *name, struct result_group **out, struct pk_err *e);
int result_stage_add(struct load_result *r, struct result_stage **out, struct pk_err *e);
/* Frees every group or stage, leaving none. */
void result_groups_clear(struct load_result *r);
void result_stages_clear(struct load_result *r);

/* Appends a second to the series (zeroed, host metrics NaN); -ENOMEM, and
 * -EFBIG once it holds RESULT_SERIES_MAX seconds. *out (may be NULL) is
 * valid until the next push. */
int result_series_push(struct load_result *r, struct result_second **out, struct pk_err *e);
/* Fills s's p50/p99/max and its compressed histogram from h (an empty h
 * leaves them 0/NULL), replacing (freeing) what s held. */
int result_second_set_hist(struct result_second *s, const struct hist *h, struct pk_err *e);

/* The measured value a threshold is compared with (threshold.h's units:
 * seconds, a fraction, requests/s); NaN when there is no data. */
double result_threshold_value(const struct load_result *r, const struct threshold *t);

/* JSON (docs/load-json.md), written atomically to path. th may be
 * NULL with nth 0; each threshold's value and outcome are computed here.
 * warnings: the self-check's texts, nwarnings of them (may be NULL/0).
 * -EINVAL for a result the reader would refuse (see Caps), -EOVERFLOW for
 * a count past 2^63-1. */
int result_write_json(const struct load_result *r, const struct threshold *th, size_t nth,
                      const char *const *warnings, size_t nwarnings, const char *path, struct pk_err *e);
/* The same document as a malloc'd NUL-terminated string (caller frees). */
int result_json_text(const struct load_result *r, const struct threshold *th, size_t nth,
                     const char *const *warnings, size_t nwarnings, char **out, struct pk_err *e);
/* The series as an HdrHistogram interval log v1.3 (one interval line per
 * second that had responses, StartTime/BaseTime = start_ms), atomically.
 * Values are microseconds; Interval_Max is in milliseconds (max / 1000),
 * HdrHistogram's convention; HistogramLogProcessor needs
 * `-outputValueUnitRatio 1000` to print milliseconds. */
int result_write_hdrlog(const struct load_result *r, const char *path, struct pk_err *e);

/* Reads a file result_write_json() wrote into r (result_init()ed by the
 * call; result_destroy() it even on failure). Errors name path and the key:
 * on = path, what = "key 'latency_us.hist'", why = "not base64"; PK_EPARSE
 * for bad input, -ENOMEM, or the errno of reading the file. Histograms come
 * from the "hist" strings and must have the RESULT_HIST_* layout; numbers
 * derived from them (percentiles, rps, ...) are not read. */
int result_read_json(const char *path, struct load_result *r, struct pk_err *e);
/* The same from a buffer (name for messages): what the fuzz target drives. */
int result_parse_json(const char *text, size_t len, const char *name, struct load_result *r,
                      struct pk_err *e);

/* Adds src into dst (dst result_init()ed; the first merge, into a dst with
 * sources == 0, takes src's settings). Totals, status codes, errors and
 * histograms add exactly; the measured window becomes the union of both
 * (start_ms min, end max), so rps is the combined rate of generators that
 * ran side by side; threads, connections, sources and the open model's
 * rates add; pipeline, warmup, lateness and generator_cpu take the
 * maximum. Series are aligned on the nearest whole second of start_ms
 * offset (merge in order of start_ms: then the offsets do not depend on the
 * order); a second's histograms are merged and its percentiles recomputed,
 * host metrics take the maximum of the sources (docs/load-json.md). -EINVAL
 * when one is open model and the other closed (they measure different
 * latencies), -EOVERFLOW past 2^63-1, -EFBIG when the series would pass
 * RESULT_SERIES_MAX or the window 10^9 s; dst is unchanged on error. A src
 * that never ran (as result_init() left it) adds nothing. */
int result_merge(struct load_result *dst, const struct load_result *src, struct pk_err *e);
/* Adds the result in the JSON file at path into dst, as result_read_json()
 * and result_merge() would, but streamed (result_stream.c): the file's
 * series is read one second at a time, so memory stays bounded by the
 * largest single value (at most 128 MiB) beside dst itself, whatever the
 * file's length (RESULT_JSON_MAX_BYTES at most). Errors name the file
 * (file:line:column for its syntax) and the key. Unlike result_merge(), dst
 * may hold part of the file on error and is then only to be destroyed. */
int result_merge_json_file(struct load_result *dst, const char *path, struct pk_err *e);
/* Adds an HdrHistogram interval log (every untagged interval) into dst:
 * requests and latency only (in the closed model latency_uncorrected too,
 * the same there), the window from its StartTime/BaseTime and interval
 * times (read as HdrHistogram's HistogramLogReader does). Intervals of about
 * a second (0.5..1.5 s) also go into the series at their nearest second;
 * with any other interval length the log gives totals only. The log needs
 * a StartTime or BaseTime and histograms of the RESULT_HIST_* layout
 * (values in microseconds); errors name "<path>:<line>". A log has no
 * model: it is taken as dst's (closed when dst is empty), so JSON results
 * are best merged first. Read line by line (result_stream.c): each interval
 * is added where it lies, without a histogram of its own or an encoding. */
int result_merge_hdrlog(struct load_result *dst, const char *path, struct pk_err *e);

#endif
