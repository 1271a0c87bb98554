/*
 * notify_impl - what the parts of the notifier share (notify.h is the
 * contract; this is private to src/monitor/notify*.c):
 *   notify.c          settings, life cycle, notify_enqueue, stats, log lines;
 *   notify_cmd.c      --on-alert: the job queue and the command thread that
 *                     spawns, times out and reaps the commands;
 *   notify_webhook.c  webhooks: Alertmanager's payload, and per URL a queue
 *                     and a thread that delivers it through libcurl.
 *
 * Threads and locks: n->mu guards the job list, the running children and
 * n->stats; each hook's mu guards its queue (q, qhead, qlen, busy, stop), so
 * a slow receiver holds nobody else up. Neither is ever held while the
 * other is taken.
 */
#ifndef PK_MONITOR_NOTIFY_IMPL_H
#define PK_MONITOR_NOTIFY_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "monitor/curlapi.h"
#include "monitor/notify.h"

#define NOTIFY_ENV_VARS 9

struct notify_job {
    char *env[NOTIFY_ENV_VARS]; /* "PERFKIT_ALERT_...=value" */
};

struct notify_hook {
    struct notify *n;
    char *url;
    char *shown; /* url without its password, for messages */
    CURL *curl;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_inited, started, stop;
    char **q; /* ring of message bodies: q[(qhead + i) % queue_max], i < qlen */
    size_t qhead, qlen;
    bool busy; /* a message is being sent */
    _Atomic int64_t deadline_ns;
    pthread_t thread;
    /* under n->mu, as the stats: this receiver's outcomes */
    uint64_t sent, failed; /* messages delivered; given up (every try, or a final status) */
    bool failing;          /* the last message given up was not followed by a delivery */
    char last_error[256];  /* why its last try failed */
    /* notify_report's own (its caller's thread only): what the log said last */
    uint64_t reported_failed, reported_sent;
    int64_t reported_ns; /* monotonic; 0: never */
    bool announced;      /* a failure line was written and no recovery line since */
};

/* An absolute CLOCK_MONOTONIC time for pthread_cond_timedwait on a
 * condition variable made by notify_cond_init_mono. */
static inline struct timespec notify_abs_mono(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    return ts;
}

/* ---- notify.c ---- */

int notify_cond_init_mono(pthread_cond_t *cv);
/* Sets stats.last_error; with n->mu held. */
void notify_note_error(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Orders labels by name (qsort). */
int notify_label_cmp(const void *a, const void *b);

/* ---- notify_cmd.c ---- */

/* The job queue and the command thread (for an --on-alert); on failure n
 * holds what was set up, for notify_destroy. */
int notify_cmd_start(struct notify *n, struct pk_err *e);
/* Tells the command thread to finish by deadline_ns (monotonic) and waits
 * for it; a no-op when it was never started. */
void notify_cmd_stop(struct notify *n, int64_t deadline_ns);
/* Queues the command for one event, or counts it dropped; never blocks. */
int notify_cmd_enqueue(struct notify *n, const struct rules_event *ev);
void notify_job_free(struct notify_job *j);

/* ---- notify_webhook.c ---- */

/* Sets up h for url and starts its thread; on failure h holds what was set
 * up, for notify_hook_destroy. */
int notify_hook_init(struct notify *n, struct notify_hook *h, const char *url, struct pk_err *e);
/* Tells a started hook's thread to finish by deadline_ns (monotonic), without waiting. */
void notify_hook_stop(struct notify_hook *h, int64_t deadline_ns);
/* Stops (waiting for the thread), counts what is left as dropped, and frees;
 * a no-op on a zeroed hook. */
void notify_hook_destroy(struct notify *n, struct notify_hook *h, int64_t deadline_ns);
/* Queues a copy of body, pushing the oldest message out of a full queue. */
int notify_hook_enqueue(struct notify *n, struct notify_hook *h, const char *body);
/* Messages waiting or being sent. */
size_t notify_hook_queued(struct notify_hook *h);

#endif
