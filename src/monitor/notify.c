/*
 * notify - log lines, --on-alert commands and Alertmanager webhooks
 * (notify.h): the settings, the life cycle, notify_enqueue, the stats and
 * the text of an event. Commands: notify_cmd.c; webhooks: notify_webhook.c.
 *
 * Threads: the caller's (notify_enqueue: formats, queues, returns), one
 * command thread (notify_cmd.c), and one thread per webhook URL
 * (notify_webhook.c). Locks: notify_impl.h.
 */
#define _GNU_SOURCE
#include "monitor/notify.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/text.h"
#include "monitor/curlapi.h"
#include "monitor/notify_impl.h"

int notify_cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);
    if (rc)
        return rc;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

/* ---- text ----------------------------------------------------------------- */

static size_t finish(char *buf, size_t cap, size_t off)
{
    if (cap && off >= cap)
        buf[cap - 1] = '\0';
    return off;
}

static char *value_str(double v, char *buf, size_t cap)
{
    if (isnan(v))
        snprintf(buf, cap, "NaN");
    else
        snprintf(buf, cap, "%g", v);
    return buf;
}

/* How long it was active: whole seconds past 1 s, so a log reads "5m12s". */
static char *span_str(int64_t ms, char *buf, size_t cap)
{
    if (ms >= 1000)
        ms -= ms % 1000;
    return rules_format_duration(ms, buf, cap);
}

size_t notify_summary(const struct rules_event *ev, char *buf, size_t cap)
{
    const struct rule *r = &ev->rule;
    char v[32], t[32], d[32];
    size_t off;
    if (ev->state == RULES_FIRING) {
        off = text_append(buf, cap, 0, "%s %s %s %s", ev->key, value_str(ev->value, v, sizeof(v)),
                          rules_op_str(r->op), rules_format_number(r->threshold, t, sizeof(t)));
        if (r->for_ms)
            off = text_append(buf, cap, off, " for %s", rules_format_duration(r->for_ms, d, sizeof(d)));
    } else {
        if (ev->present)
            off = text_append(buf, cap, 0, "%s %s", ev->key, value_str(ev->value, v, sizeof(v)));
        else
            off = text_append(buf, cap, 0, "%s gone (last %s)", ev->key, value_str(ev->value, v, sizeof(v)));
        off = text_append(buf, cap, off, ", active %s",
                          span_str(ev->resolved_at_ms - ev->active_since_ms, d, sizeof(d)));
    }
    return finish(buf, cap, off);
}

size_t notify_log_line(const struct rules_event *ev, char *buf, size_t cap)
{
    char s[NOTIFY_LINE_MAX], t[32];
    notify_summary(ev, s, sizeof(s));
    size_t off = text_append(
        buf, cap, 0, "alert %s %s: %s (since %s) severity=%s", ev->rule.name, rules_state_str(ev->state), s,
        rules_format_time(ev->active_since_ms, t, sizeof(t)), rules_severity_str(ev->rule.severity));
    return finish(buf, cap, off);
}

int notify_label_cmp(const void *a, const void *b)
{
    return strcmp(((const struct metric_label *)a)->name, ((const struct metric_label *)b)->name);
}

size_t notify_labels_text(const struct rules_event *ev, char *buf, size_t cap)
{
    struct metric_label l[METRIC_LABELS_MAX];
    size_t n = ev->nlabels;
    memcpy(l, ev->labels, n * sizeof(l[0]));
    qsort(l, n, sizeof(l[0]), notify_label_cmp);
    size_t off = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        off = text_append(buf, cap, off, "%s%s=\"", i ? "," : "", l[i].name);
        off = metric_escape_value(buf, cap, off, l[i].value);
        off = text_append(buf, cap, off, "\"");
    }
    return finish(buf, cap, off);
}

/* ---- stats ---------------------------------------------------------------- */

void notify_note_error(struct notify *n, const char *fmt, ...)
{
    PK_ASSERT(pthread_mutex_trylock(&n->mu) == EBUSY);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->stats.last_error, sizeof(n->stats.last_error), fmt, ap);
    va_end(ap);
}

void notify_stats(struct notify *n, struct notify_stats *out)
{
    if (!n->sync_inited) {
        memset(out, 0, sizeof(*out));
        return;
    }
    pthread_mutex_lock(&n->mu);
    *out = n->stats;
    out->command_running = n->npids;
    pthread_mutex_unlock(&n->mu);
    uint64_t queued = 0;
    for (size_t i = 0; i < n->nhooks; i++)
        queued += notify_hook_queued(&n->hooks[i]);
    out->webhook_queued = queued;
}

int notify_export(struct notify *n, struct metric_set *set, struct pk_err *e)
{
    struct notify_stats s;
    notify_stats(n, &s);
    uint32_t fam;
    int rc;
    if ((rc =
             metric_family_begin(set, "perfkit_alert_webhook_messages_total",
                                 "Alert webhook messages by outcome: sent (2xx), failed (all tries), dropped "
                                 "(queue full or unsent at shutdown).",
                                 METRIC_COUNTER, &fam, e)) != 0)
        return rc;
    const struct {
        const char *result;
        uint64_t v;
    } msg[] = {
        { "sent", s.webhook_sent },
        { "failed", s.webhook_failed },
        { "dropped", s.webhook_dropped },
    };
    for (size_t i = 0; i < 3; i++) {
        struct metric_label l = { "result", msg[i].result };
        if ((rc = metric_add(set, fam, &l, 1, (double)msg[i].v, e)) != 0)
            return rc;
    }
    if ((rc =
             metric_add1(set, "perfkit_alert_webhook_attempts_total", "HTTP tries of alert webhook messages.",
                         METRIC_COUNTER, (double)s.webhook_attempts, e)) != 0)
        return rc;
    if (n->nhooks && (rc = metric_family_begin(set, "perfkit_alert_webhook_failures_total",
                                               "Alert webhook messages not delivered (every try failed, or "
                                               "a final status), by receiver.",
                                               METRIC_COUNTER, &fam, e)) != 0)
        return rc;
    for (size_t i = 0; i < n->nhooks; i++) {
        pthread_mutex_lock(&n->mu);
        uint64_t failed = n->hooks[i].failed;
        pthread_mutex_unlock(&n->mu);
        struct metric_label l = { "receiver", n->hooks[i].shown };
        if ((rc = metric_add(set, fam, &l, 1, (double)failed, e)) != 0)
            return rc;
    }
    if ((rc = metric_family_begin(
             set, "perfkit_alert_commands_total",
             "--on-alert commands by outcome: started, failed (start, exit status, signal, "
             "time limit), dropped (too many running).",
             METRIC_COUNTER, &fam, e)) != 0)
        return rc;
    const struct {
        const char *result;
        uint64_t v;
    } cmd[] = {
        { "started", s.command_started },
        { "failed", s.command_failed },
        { "dropped", s.command_dropped },
    };
    for (size_t i = 0; i < 3; i++) {
        struct metric_label l = { "result", cmd[i].result };
        if ((rc = metric_add(set, fam, &l, 1, (double)cmd[i].v, e)) != 0)
            return rc;
    }
    return 0;
}

/* ---- life cycle ----------------------------------------------------------- */

static bool url_ok(const char *u)
{
    size_t n = strnlen(u, NOTIFY_URL_MAX + 1);
    if (n > NOTIFY_URL_MAX)
        return false;
    size_t scheme = !strncmp(u, "http://", 7) ? 7 : !strncmp(u, "https://", 8) ? 8 : 0;
    if (!scheme || n == scheme || u[scheme] == '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
            return false;
    return true;
}

/* The settings with their defaults, checked against the ceilings of notify.h. */
static int settings(struct notify *n, const struct notify_config *c, struct pk_err *e)
{
    char q[72];
    n->on_alert_max = c->on_alert_max ? c->on_alert_max : 4;
    n->on_alert_timeout_ms = c->on_alert_timeout_ms > 0 ? c->on_alert_timeout_ms : 60000;
    n->queue_max = c->queue_max ? c->queue_max : 256;
    n->tries = c->tries ? c->tries : 5;
    n->backoff_ms = c->backoff_ms > 0 ? c->backoff_ms : 100;
    n->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
    if (n->on_alert_max > NOTIFY_COMMANDS_MAX || n->queue_max > NOTIFY_QUEUE_MAX ||
        n->tries > NOTIFY_TRIES_MAX || c->nlabels > METRIC_LABELS_MAX)
        return err_set(e, PK_EUSAGE, "notify", "invalid notification settings",
                       "at most %u commands at once, %u queued messages, %u tries, %u labels",
                       NOTIFY_COMMANDS_MAX, NOTIFY_QUEUE_MAX, NOTIFY_TRIES_MAX, METRIC_LABELS_MAX);
    if (c->nwebhooks > NOTIFY_WEBHOOKS_MAX)
        return err_set(e, PK_EUSAGE, "--webhook", "too many webhooks", "at most %u", NOTIFY_WEBHOOKS_MAX);
    for (size_t i = 0; i < c->nwebhooks; i++)
        if (!c->webhooks[i] || !url_ok(c->webhooks[i]))
            return err_set(e, PK_EUSAGE, "--webhook", "invalid webhook URL",
                           "expected http://HOST[:PORT]/PATH or https://..., got '%s'",
                           c->webhooks[i] ? err_quote(c->webhooks[i], strlen(c->webhooks[i]), q, sizeof(q))
                                          : "");
    if (c->on_alert && strnlen(c->on_alert, NOTIFY_COMMAND_MAX + 1) > NOTIFY_COMMAND_MAX)
        return err_set(e, PK_EUSAGE, "--on-alert", "invalid command", "longer than %u bytes",
                       NOTIFY_COMMAND_MAX);
    return 0;
}

/* Copies of the config's strings; the labels' in one block. */
static int copy_strings(struct notify *n, const struct notify_config *c, struct pk_err *e)
{
    char q[72];
    size_t lb = 0;
    for (size_t i = 0; i < c->nlabels; i++)
        lb += strlen(c->labels[i].name) + strlen(c->labels[i].value) + 2;
    if ((c->on_alert && c->on_alert[0] && !(n->on_alert = strdup(c->on_alert))) ||
        !(n->receiver = strdup(c->receiver && c->receiver[0] ? c->receiver : "perfkit")) ||
        !(n->external_url = strdup(c->external_url ? c->external_url : "")) ||
        !(n->labels_block = malloc(lb + 1)))
        return err_errno(e, -ENOMEM, "notify", "cannot set up notifications");
    char *p = n->labels_block;
    for (size_t i = 0; i < c->nlabels; i++) {
        if (!metric_label_name_valid(c->labels[i].name))
            return err_set(e, PK_EUSAGE, "notify", "invalid label name", "'%s'",
                           err_quote(c->labels[i].name, strlen(c->labels[i].name), q, sizeof(q)));
        const char *parts[2] = { c->labels[i].name, c->labels[i].value };
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(parts[k]) + 1;
            memcpy(p, parts[k], len);
            if (k)
                n->labels[i].value = p;
            else
                n->labels[i].name = p;
            p += len;
        }
    }
    n->nlabels = c->nlabels;
    return 0;
}

int notify_check(const struct notify_config *c, struct pk_err *e)
{
    struct notify scratch;
    memset(&scratch, 0, sizeof(scratch));
    int rc = settings(&scratch, c, e);
    if (rc == 0 && c->nwebhooks) {
        const struct curlapi *cu;
        if ((rc = curlapi_get(&cu, e)) != 0)
            err_prefix_on(e, "--webhook: ");
    }
    return rc;
}

int notify_init(struct notify *n, const struct notify_config *c, struct pk_err *e)
{
    memset(n, 0, sizeof(*n));
    int rc;
    if ((rc = settings(n, c, e)) != 0)
        return rc;
    if ((rc = copy_strings(n, c, e)) != 0)
        goto fail;
    if ((rc = pthread_mutex_init(&n->mu, NULL)) != 0) {
        rc = err_errno(e, -rc, "notify", "cannot set up notifications");
        goto fail;
    }
    if ((rc = notify_cond_init_mono(&n->cv)) != 0) {
        pthread_mutex_destroy(&n->mu);
        rc = err_errno(e, -rc, "notify", "cannot set up notifications");
        goto fail;
    }
    n->sync_inited = true;
    if (n->on_alert && (rc = notify_cmd_start(n, e)) != 0)
        goto fail;
    if (c->nwebhooks) {
        if ((rc = curlapi_get(&n->curl, e)) != 0) {
            err_prefix_on(e, "--webhook: ");
            goto fail;
        }
        if (!(n->hooks = calloc(c->nwebhooks, sizeof(*n->hooks)))) {
            rc = err_errno(e, -ENOMEM, "--webhook", "cannot set up webhooks");
            goto fail;
        }
        for (size_t i = 0; i < c->nwebhooks; i++) {
            n->nhooks++;
            if ((rc = notify_hook_init(n, &n->hooks[i], c->webhooks[i], e)) != 0)
                goto fail;
        }
    }
    return 0;
fail:
    notify_destroy(n, 0);
    return rc;
}

void notify_destroy(struct notify *n, int64_t flush_ms)
{
    if (!n)
        return;
    int64_t deadline = (int64_t)clock_mono_ns() + (flush_ms > 0 ? flush_ms : 0) * (int64_t)NS_PER_MS;
    if (deadline == 0)
        deadline = 1;
    notify_cmd_stop(n, deadline);
    /* the hooks flush in parallel: each has the same deadline */
    for (size_t i = 0; i < n->nhooks; i++)
        notify_hook_stop(&n->hooks[i], deadline);
    for (size_t i = 0; i < n->nhooks; i++)
        notify_hook_destroy(n, &n->hooks[i], deadline);
    free(n->hooks);
    for (size_t i = 0; i < n->njobs; i++)
        notify_job_free(n->jobs[i]);
    free(n->jobs);
    free(n->pids);
    free(n->pid_started_ns);
    free(n->pid_killed);
    if (n->sync_inited) {
        pthread_cond_destroy(&n->cv);
        pthread_mutex_destroy(&n->mu);
    }
    free(n->on_alert);
    free(n->receiver);
    free(n->external_url);
    free(n->labels_block);
    memset(n, 0, sizeof(*n));
}

/* ---- enqueue -------------------------------------------------------------- */

int notify_enqueue(struct notify *n, const struct rules_events *ev)
{
    if (!ev || !ev->n || !n->sync_inited)
        return 0;
    int rc = 0;
    if (n->on_alert)
        for (size_t i = 0; i < ev->n; i++) {
            int erc = notify_cmd_enqueue(n, &ev->v[i]);
            if (erc && !rc)
                rc = erc;
        }
    if (!n->nhooks)
        return rc;

    const struct rules_event **group = malloc(ev->n * sizeof(*group));
    if (!group) {
        pthread_mutex_lock(&n->mu);
        n->stats.webhook_dropped += n->nhooks;
        pthread_mutex_unlock(&n->mu);
        return -ENOMEM;
    }
    struct notify_config c = {
        .receiver = n->receiver,
        .external_url = n->external_url,
        .labels = n->labels,
        .nlabels = n->nlabels,
    };
    /* one message per alert name, as Alertmanager grouped by alertname sends */
    for (size_t i = 0; i < ev->n; i++) {
        bool earlier = false;
        for (size_t j = 0; j < i && !earlier; j++)
            earlier = !strcmp(ev->v[j].rule.name, ev->v[i].rule.name);
        if (earlier)
            continue;
        size_t k = 0;
        for (size_t j = i; j < ev->n; j++)
            if (!strcmp(ev->v[j].rule.name, ev->v[i].rule.name))
                group[k++] = &ev->v[j];
        json_t *msg = notify_payload(&c, group, k);
        char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
        json_decref(msg);
        if (!body) {
            pthread_mutex_lock(&n->mu);
            n->stats.webhook_dropped += n->nhooks;
            pthread_mutex_unlock(&n->mu);
            rc = -ENOMEM;
            continue;
        }
        for (size_t h = 0; h < n->nhooks; h++) {
            int erc = notify_hook_enqueue(n, &n->hooks[h], body);
            if (erc && !rc)
                rc = erc;
        }
        free(body);
    }
    free(group);
    return rc;
}
