/*
 * notify - what `perfkit monitor` does when an alert fires or resolves
 * (the transitions rules_eval reports):
 *   - a log line per transition, returned as text (notify_log_line); the
 *     agent prints it;
 *   - a command (--on-alert CMD): `/bin/sh -c CMD` per transition, the alert
 *     in PERFKIT_ALERT_* environment variables, stdin /dev/null, in its own
 *     process group; at most on_alert_max running at once (more are dropped
 *     and counted), killed after on_alert_timeout_ms;
 *   - webhooks (--webhook URL, repeatable): Alertmanager's webhook JSON,
 *     version "4", one message per alert name per evaluation, POSTed by one
 *     thread per URL over one reused libcurl handle (the connection is kept
 *     alive), up to `tries` tries with waits of backoff, 2x, 4x, ... between
 *     them, a time limit per try; 5xx, 408, 429 and network errors are
 *     retried, other statuses are final.
 * notify_enqueue never blocks and never waits for a child or a receiver:
 * commands are started and reaped on a thread of their own, webhook
 * messages go to a bounded queue per URL (when full, the oldest message is
 * dropped and counted). So a slow or dead receiver never delays sampling.
 *
 * Ownership and threads: struct notify is caller-owned: notify_init() /
 * notify_destroy(), which lets queued messages and running commands finish
 * until a deadline, then drops the rest (counted) and kills what still
 * runs. notify_enqueue and notify_stats may be called from any thread;
 * notify_destroy once, when no other call is in progress. The config's
 * strings are copied.
 *
 * Errors: notify_init returns PK_EUSAGE for an invalid URL or setting (on =
 * "--webhook"), -ENOMEM, or a pthread error; delivery failures are never
 * returned: they are counted in struct notify_stats with the last reason,
 * per receiver in notify_export's counters, and told by notify_report.
 */
#ifndef PK_MONITOR_NOTIFY_H
#define PK_MONITOR_NOTIFY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "monitor/metric.h"
#include "monitor/rules.h"
#include "perfkit.h"

#define NOTIFY_WEBHOOKS_MAX       16u
#define NOTIFY_URL_MAX            2048u
#define NOTIFY_COMMAND_MAX        4096u  /* bytes of --on-alert */
#define NOTIFY_COMMANDS_MAX       64u    /* on_alert_max's ceiling */
#define NOTIFY_QUEUE_MAX          65536u /* queue_max's ceiling */
#define NOTIFY_TRIES_MAX          20u
#define NOTIFY_PAYLOAD_ALERTS_MAX 256u  /* alerts in one message; the rest count in truncatedAlerts */
#define NOTIFY_LINE_MAX           1024u /* notify_log_line's output fits */

/* Zero fields take the defaults in brackets. */
struct notify_config {
    const char *on_alert;        /* shell command; NULL or "" for none */
    unsigned on_alert_max;       /* commands running at once [4] */
    int64_t on_alert_timeout_ms; /* a command is killed after [60 s] */
    const char *const *webhooks; /* URLs (http:// or https://) */
    size_t nwebhooks;
    size_t queue_max;                  /* messages waiting per URL [256] */
    unsigned tries;                    /* tries per message [5] */
    int64_t backoff_ms;                /* wait after the first failed try, doubling [100] */
    int64_t timeout_ms;                /* time limit of one try [10 s] */
    const char *receiver;              /* the payload's "receiver" ["perfkit"] */
    const char *external_url;          /* "externalURL" and "generatorURL", e.g. the dashboard [""] */
    const struct metric_label *labels; /* added to every alert unless the series has the label */
    size_t nlabels;                    /* at most METRIC_LABELS_MAX, e.g. instance="host:9310" */
};

struct notify_stats {
    uint64_t webhook_sent;     /* messages accepted by a receiver (2xx) */
    uint64_t webhook_failed;   /* messages given up: every try failed, or a final status */
    uint64_t webhook_dropped;  /* messages pushed out of a full queue, or unsent at shutdown */
    uint64_t webhook_attempts; /* HTTP tries, first ones included */
    uint64_t webhook_queued;   /* messages waiting or being sent now */
    uint64_t command_started;
    uint64_t command_failed;  /* could not start, exited non-zero, killed by a signal or the time limit */
    uint64_t command_dropped; /* on_alert_max were already running */
    uint64_t command_running;
    char last_error[256]; /* the most recent delivery failure, "" if none */
};

struct notify_hook; /* one webhook URL: its queue, thread and curl handle */
struct notify_job;  /* one command to start */
struct curlapi;

struct notify {
    /* private */
    char *on_alert;
    unsigned on_alert_max;
    int64_t on_alert_timeout_ms;
    size_t queue_max;
    unsigned tries;
    int64_t backoff_ms, timeout_ms;
    char *receiver, *external_url;
    struct metric_label labels[METRIC_LABELS_MAX];
    char *labels_block;
    size_t nlabels;
    struct notify_hook *hooks;
    size_t nhooks;
    const struct curlapi *curl; /* loaded only when there are webhooks */

    pthread_mutex_t mu; /* the fields below and the stats */
    pthread_cond_t cv;  /* wakes the command thread */
    bool sync_inited;
    pthread_t cmd_thread;
    bool cmd_thread_started, stopping;
    int64_t deadline_ns;      /* monotonic; set by notify_destroy */
    struct notify_job **jobs; /* waiting to start */
    size_t njobs;
    pid_t *pids; /* running */
    int64_t *pid_started_ns;
    bool *pid_killed;
    size_t npids;
    struct notify_stats stats;
};

int notify_init(struct notify *n, const struct notify_config *c, struct pk_err *e);
/* The checks of notify_init() (the settings, libcurl for webhooks) with
 * nothing started: the same errors. */
int notify_check(const struct notify_config *c, struct pk_err *e);
/* Waits up to flush_ms for queued messages and running commands, then
 * drops and kills the rest. Safe on a zeroed or failed-init struct. */
void notify_destroy(struct notify *n, int64_t flush_ms);

/* Hands this evaluation's transitions to the command and the webhooks.
 * Never blocks on delivery. -ENOMEM when something could not be queued
 * (also counted as dropped). */
int notify_enqueue(struct notify *n, const struct rules_events *ev);

void notify_stats(struct notify *n, struct notify_stats *out);
/* Adds the counters as perfkit_alert_webhook_messages_total{result},
 * perfkit_alert_webhook_attempts_total, perfkit_alert_commands_total{result}
 * and, per webhook, perfkit_alert_webhook_failures_total{receiver}: the
 * messages it was not given, the URL with its password as "***". */
int notify_export(struct notify *n, struct metric_set *set, struct pk_err *e);

#define NOTIFY_REPORT_PERIOD_MS 60000 /* a failing receiver's log lines, at most one per */

/*
 * Log lines about webhooks that fail, rate-limited per receiver: the first
 * message a receiver was not given is reported at once (its URL, password
 * hidden, and why), further ones at most once per NOTIFY_REPORT_PERIOD_MS
 * with their count, and a delivery after a reported failure once. Calls
 * log(arg, line) for each, on the caller's thread; call it from one thread
 * (the agent's sampler), with now_ms from clock_mono_ms().
 */
void notify_report(struct notify *n, int64_t now_ms, void (*log)(void *arg, const char *line), void *arg);
/* The URLs (password hidden; valid until notify_destroy) of the webhooks
 * whose last message was given up without a delivery since, at most cap of
 * them in out; returns how many. Any thread. */
size_t notify_failing_webhooks(struct notify *n, const char **out, size_t cap);

/* "alert CpuHigh firing: perfkit_cpu_utilization_ratio 0.93 > 0.8 for 5m
 * (since 2026-11-24T05:00:00Z) severity=warning". Returns the length
 * (truncated to cap-1; NOTIFY_LINE_MAX suffices but for huge label values). */
size_t notify_log_line(const struct rules_event *ev, char *buf, size_t cap);
/* The part after "STATE: " and before " (since", also the "summary"
 * annotation and PERFKIT_ALERT_SUMMARY. */
size_t notify_summary(const struct rules_event *ev, char *buf, size_t cap);
/* `a="x",b="y"`: the series' labels sorted by name, values escaped as in
 * the Prometheus text format (PERFKIT_ALERT_LABELS). */
size_t notify_labels_text(const struct rules_event *ev, char *buf, size_t cap);

/* The webhook message for events ev[0..n) (one alert name), as sent.
 * c gives receiver, external_url and labels (the other fields are unused).
 * Caller json_decref()s; NULL on ENOMEM or n == 0. */
json_t *notify_payload(const struct notify_config *c, const struct rules_event *const *ev, size_t n);

#endif
