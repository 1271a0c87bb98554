/*
 * probe - network latency probes of `perfkit monitor` (--probe tcp://HOST:PORT,
 * --probe http(s)://URL [limit DUR]): every interval, on a thread of their
 * own so a slow target never delays sampling, each probe connects (tcp) or
 * sends a GET (http, through libcurl) with a timeout of one interval, and
 * its outcome goes into a window of the last PROBE_WINDOW attempts, from
 * which success, loss and jitter are computed.
 *
 *   success   the last attempt succeeded (tcp: connected; http: a response
 *             with status 200..399)
 *   duration  the last attempt's time: tcp connect, or http total time
 *             (connect + request + whole response)
 *   loss      failed attempts / attempts in the window
 *   jitter    mean absolute difference of the durations of consecutive
 *             successful attempts in the window (RFC 3550's idea, unsmoothed)
 *   over      the last duration was above the probe's limit (0 without one)
 *
 * Exported by probe_export() as perfkit_probe_success{target},
 * perfkit_probe_duration_seconds{target}, perfkit_probe_loss_ratio{target},
 * perfkit_probe_jitter_seconds{target}, perfkit_probe_over_limit{target},
 * perfkit_probe_attempts_total{target}. Targets are only ever those the user
 * configured.
 *
 * Threads: prober_start() starts the thread; probe_export() and
 * probe_snapshot() may be called from any thread (a mutex guards the
 * windows); prober_stop() joins. Errors: 0, -ENOMEM, -errno of the thread.
 */
#ifndef PK_MONITOR_PROBE_H
#define PK_MONITOR_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/config.h"
#include "monitor/metric.h"
#include "perfkit.h"

#define PROBE_WINDOW 60

struct probe_result {
    bool ok;
    double seconds; /* duration of the attempt (also for a failure: until it failed) */
    char error[96]; /* why it failed: "ECONNREFUSED", "timeout", "HTTP 503", ... */
};

struct probe_stats {
    const char *target;
    int64_t limit_ms;
    uint64_t attempts;
    bool have; /* at least one attempt */
    struct probe_result last;
    double loss_ratio;
    double jitter_seconds; /* NaN with fewer than two successes */
    bool over_limit;
};

struct prober;

/* What prober_new() checks (libcurl for http probes), nothing started. */
int prober_check(const struct config_probe *probes, size_t n, struct pk_err *e);
/* probes are copied; timeout_ms bounds each attempt. */
int prober_new(const struct config_probe *probes, size_t n, int64_t interval_ms, struct prober **out,
               struct pk_err *e);
int prober_start(struct prober *p, struct pk_err *e);
void prober_stop(struct prober *p);
void prober_free(struct prober *p);

/* One attempt of one probe now, on the caller's thread (what the thread runs;
 * tests call it directly). */
void probe_once(const struct config_probe *probe, int64_t timeout_ms, struct probe_result *out);

/* Stats of probe i (i < count); false when out of range. */
size_t prober_count(const struct prober *p);
bool prober_stats(struct prober *p, size_t i, struct probe_stats *out);
/* Adds the perfkit_probe_* families (nothing when there are no probes). */
int probe_export(struct prober *p, struct metric_set *set, struct pk_err *e);

/* The window arithmetic, pure (for tests): loss and jitter of n results. */
void probe_window_stats(const struct probe_result *r, size_t n, double *loss, double *jitter);

#endif
