/*
 * notify_webhook - the webhooks: Alertmanager's webhook message (version
 * "4") for one alert name's events, and per URL a bounded queue and a
 * thread that POSTs its messages over one reused libcurl handle, with
 * retries and backoff until a shutdown deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"
#include "monitor/notify_impl.h"

/* ---- the webhook message -------------------------------------------------- */

/* Go's time.Time in JSON (RFC 3339, fraction only when non-zero, UTC "Z"). */
static char *go_time(int64_t ms, char *buf, size_t cap)
{
    char t[32];
    rules_format_time(ms, t, sizeof(t));
    int frac = (int)(((ms % 1000) + 1000) % 1000);
    if (!frac) {
        snprintf(buf, cap, "%s", t);
        return buf;
    }
    char f[8];
    snprintf(f, sizeof(f), "%03d", frac);
    for (int i = 2; i > 0 && f[i] == '0'; i--)
        f[i] = '\0';
    t[strlen(t) - 1] = '\0'; /* the 'Z' */
    snprintf(buf, cap, "%s.%sZ", t, f);
    return buf;
}

/* ---- the webhook message -------------------------------------------------- */

/* An alert's labels as Alertmanager sees them: the series' labels, the
 * configured ones where the series has none by that name, alertname and
 * severity over both; sorted by name (Go's map order in JSON, and the order
 * the fingerprint hashes in). */
static size_t alert_labels(const struct notify_config *c, const struct rules_event *ev,
                           struct metric_label *out /* [METRIC_LABELS_MAX * 2 + 2] */)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->nlabels; i++) {
        if (!strcmp(ev->labels[i].name, "alertname") || !strcmp(ev->labels[i].name, "severity"))
            continue;
        out[n++] = ev->labels[i];
    }
    size_t nseries = n;
    for (size_t i = 0; i < c->nlabels && i < METRIC_LABELS_MAX; i++) {
        bool have = !strcmp(c->labels[i].name, "alertname") || !strcmp(c->labels[i].name, "severity");
        for (size_t j = 0; j < nseries && !have; j++)
            have = !strcmp(out[j].name, c->labels[i].name);
        if (!have)
            out[n++] = c->labels[i];
    }
    out[n++] = (struct metric_label){ "alertname", ev->rule.name };
    out[n++] = (struct metric_label){ "severity", rules_severity_str(ev->rule.severity) };
    qsort(out, n, sizeof(out[0]), notify_label_cmp);
    return n;
}

/* prometheus/common model.LabelSet.Fingerprint: FNV-1a 64 over the sorted
 * name, 0xff, value, 0xff; printed as 16 hex digits. */
static char *fingerprint(const struct metric_label *l, size_t n, char *buf, size_t cap)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        const char *parts[2] = { l[i].name, l[i].value };
        for (int k = 0; k < 2; k++) {
            for (const char *p = parts[k]; *p; p++) {
                h ^= (unsigned char)*p;
                h *= 1099511628211ull;
            }
            h ^= 0xff;
            h *= 1099511628211ull;
        }
    }
    snprintf(buf, cap, "%016llx", (unsigned long long)h);
    return buf;
}

/* Sets key to a string; a value that is not UTF-8 is sent with its bad
 * bytes as U+FFFD rather than dropping the label. */
static int set_str(json_t *o, const char *key, const char *value)
{
    json_t *s = json_string(value);
    if (!s) {
        size_t n = strlen(value);
        char *fixed = malloc(n * 3 + 1), *p = fixed;
        if (!fixed)
            return -1;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)value[i];
            if (ch < 0x80) {
                *p++ = (char)ch;
            } else {
                memcpy(p, "\xef\xbf\xbd", 3);
                p += 3;
            }
        }
        *p = '\0';
        s = json_string(fixed);
        free(fixed);
        if (!s)
            return -1;
    }
    return json_object_set_new(o, key, s);
}

static json_t *labels_object(const struct metric_label *l, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (set_str(o, l[i].name, l[i].value)) {
            json_decref(o);
            return NULL;
        }
    return o;
}

#define NOTE_KEYS 4
#define NOTE_MAX  (NOTIFY_LINE_MAX + RULES_FORMAT_MAX)
static const char *const note_keys[NOTE_KEYS] = { "description", "summary", "threshold",
                                                  "value" }; /* sorted */

typedef char notes_t[NOTE_KEYS][NOTE_MAX];

static void annotations(const struct rules_event *ev, notes_t out)
{
    rules_format(&ev->rule, out[0], NOTE_MAX);
    notify_summary(ev, out[1], NOTE_MAX);
    rules_format_number(ev->rule.threshold, out[2], NOTE_MAX);
    if (isnan(ev->value))
        snprintf(out[3], NOTE_MAX, "NaN");
    else
        rules_format_number(ev->value, out[3], NOTE_MAX);
}

static json_t *alert_object(const struct notify_config *c, const struct rules_event *x,
                            const struct metric_label *l, size_t nl, notes_t notes)
{
    char fp[24], starts[40], ends[40];
    json_t *a = json_object(), *labels = labels_object(l, nl), *no = json_object();
    if (!a || !labels || !no) {
        json_decref(a);
        json_decref(labels);
        json_decref(no);
        return NULL;
    }
    for (int k = 0; k < NOTE_KEYS; k++)
        set_str(no, note_keys[k], notes[k]);
    json_object_set_new(a, "status", json_string(rules_state_str(x->state)));
    json_object_set_new(a, "labels", labels);
    json_object_set_new(a, "annotations", no);
    /* Prometheus sends FiredAt as startsAt and ResolvedAt as endsAt; a
     * firing alert's endsAt is Go's zero time, as Alertmanager shows it */
    json_object_set_new(a, "startsAt", json_string(go_time(x->fired_at_ms, starts, sizeof(starts))));
    json_object_set_new(a, "endsAt",
                        json_string(x->state == RULES_RESOLVED
                                        ? go_time(x->resolved_at_ms, ends, sizeof(ends))
                                        : "0001-01-01T00:00:00Z"));
    set_str(a, "generatorURL", c->external_url ? c->external_url : "");
    json_object_set_new(a, "fingerprint", json_string(fingerprint(l, nl, fp, sizeof(fp))));
    return a;
}

json_t *notify_payload(const struct notify_config *c, const struct rules_event *const *ev, size_t n)
{
    if (!n)
        return NULL;
    size_t shown = n < NOTIFY_PAYLOAD_ALERTS_MAX ? n : NOTIFY_PAYLOAD_ALERTS_MAX;
    bool firing = false;
    for (size_t i = 0; i < shown; i++)
        firing |= ev[i]->state == RULES_FIRING;

    json_t *root = json_object(), *alerts = json_array();
    notes_t *notes = malloc(2 * sizeof(notes_t)); /* [0]: the common ones, [1]: this alert's */
    struct metric_label common[METRIC_LABELS_MAX * 2 + 2];
    size_t ncommon = 0;
    bool note_common[NOTE_KEYS] = { true, true, true, true };
    if (!root || !alerts || !notes)
        goto fail;

    for (size_t i = 0; i < shown; i++) {
        struct metric_label l[METRIC_LABELS_MAX * 2 + 2];
        size_t nl = alert_labels(c, ev[i], l);
        annotations(ev[i], notes[i ? 1 : 0]);
        if (i == 0) {
            memcpy(common, l, nl * sizeof(l[0]));
            ncommon = nl;
        } else {
            /* commonLabels / commonAnnotations: what every alert has, with the same value */
            size_t k = 0;
            for (size_t j = 0; j < ncommon; j++) {
                bool same = false;
                for (size_t m = 0; m < nl && !same; m++)
                    same = !strcmp(l[m].name, common[j].name) && !strcmp(l[m].value, common[j].value);
                if (same)
                    common[k++] = common[j];
            }
            ncommon = k;
            for (int a = 0; a < NOTE_KEYS; a++)
                note_common[a] = note_common[a] && !strcmp(notes[1][a], notes[0][a]);
        }
        json_t *a = alert_object(c, ev[i], l, nl, notes[i ? 1 : 0]);
        if (!a || json_array_append_new(alerts, a))
            goto fail;
    }

    json_t *group = json_object(), *commonl = labels_object(common, ncommon), *commonn = json_object();
    if (!group || !commonl || !commonn) {
        json_decref(group);
        json_decref(commonl);
        json_decref(commonn);
        goto fail;
    }
    set_str(group, "alertname", ev[0]->rule.name);
    for (int k = 0; k < NOTE_KEYS; k++)
        if (note_common[k])
            set_str(commonn, note_keys[k], notes[0][k]);
    /* Alertmanager's groupKey: the route's matchers, then the group's labels */
    char key[RULES_NAME_MAX + 32];
    snprintf(key, sizeof(key), "{}:{alertname=\"%s\"}", ev[0]->rule.name);

    /* in the field order of Alertmanager's own encoder */
    set_str(root, "receiver", c->receiver && c->receiver[0] ? c->receiver : "perfkit");
    json_object_set_new(root, "status", json_string(firing ? "firing" : "resolved"));
    json_object_set_new(root, "alerts", alerts);
    json_object_set_new(root, "groupLabels", group);
    json_object_set_new(root, "commonLabels", commonl);
    json_object_set_new(root, "commonAnnotations", commonn);
    set_str(root, "externalURL", c->external_url ? c->external_url : "");
    json_object_set_new(root, "version", json_string("4"));
    json_object_set_new(root, "groupKey", json_string(key));
    json_object_set_new(root, "truncatedAlerts", json_integer((json_int_t)(n - shown)));
    free(notes);
    return root;
fail:
    free(notes);
    json_decref(alerts);
    json_decref(root);
    return NULL;
}

/* ---- webhooks ------------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t nmemb, void *u)
{
    (void)p;
    (void)u;
    return size * nmemb;
}

/* Stops a try in progress once the shutdown deadline has passed. */
static int progress(void *u, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    struct notify_hook *h = u;
    int64_t d = atomic_load(&h->deadline_ns);
    return d && (int64_t)clock_mono_ns() >= d;
}

static bool past_deadline(struct notify_hook *h)
{
    int64_t d = atomic_load(&h->deadline_ns);
    return d && (int64_t)clock_mono_ns() >= d;
}

enum try_result { TRY_OK, TRY_RETRY, TRY_FINAL };

static enum try_result post(struct notify_hook *h, const char *body)
{
    struct notify *n = h->n;
    h->errbuf[0] = '\0';
    const struct curlapi *cu = h->n->curl;
    cu->easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    cu->easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    CURLcode cc = cu->easy_perform(h->curl);
    long status = 0;
    cu->easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    enum try_result r;
    if (cc == CURLE_OK && status >= 200 && status < 300)
        return TRY_OK;
    pthread_mutex_lock(&n->mu);
    if (cc != CURLE_OK) {
        snprintf(h->last_error, sizeof(h->last_error), "%s",
                 h->errbuf[0] ? h->errbuf : cu->easy_strerror(cc));
        r = TRY_RETRY;
    } else {
        snprintf(h->last_error, sizeof(h->last_error), "HTTP status %ld", status);
        /* as Alertmanager: 5xx may pass, other refusals will not */
        r = status >= 500 || status == 408 || status == 429 ? TRY_RETRY : TRY_FINAL;
    }
    notify_note_error(n, "webhook %s: %s", h->shown, h->last_error);
    pthread_mutex_unlock(&n->mu);
    return r;
}

static void count(struct notify *n, uint64_t *field)
{
    pthread_mutex_lock(&n->mu);
    (*field)++;
    pthread_mutex_unlock(&n->mu);
}

static void deliver(struct notify_hook *h, const char *body)
{
    struct notify *n = h->n;
    int64_t wait_ns = n->backoff_ms * (int64_t)NS_PER_MS;
    for (unsigned t = 1;; t++) {
        if (past_deadline(h)) {
            count(n, &n->stats.webhook_dropped);
            return;
        }
        count(n, &n->stats.webhook_attempts);
        enum try_result r = post(h, body);
        if (r == TRY_OK || r == TRY_FINAL || t >= n->tries) {
            pthread_mutex_lock(&n->mu);
            if (r == TRY_OK) {
                n->stats.webhook_sent++;
                h->sent++;
                h->failing = false;
            } else {
                n->stats.webhook_failed++;
                h->failed++;
                h->failing = true;
            }
            pthread_mutex_unlock(&n->mu);
            return;
        }
        /* backoff: waits of 1, 2, 4, ... times backoff_ms, cut short only by the deadline */
        int64_t wake = (int64_t)clock_mono_ns() + wait_ns;
        pthread_mutex_lock(&h->mu);
        for (;;) {
            int64_t d = atomic_load(&h->deadline_ns);
            int64_t until = d && d < wake ? d : wake;
            if ((int64_t)clock_mono_ns() >= until)
                break;
            struct timespec ts = notify_abs_mono(until);
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        }
        pthread_mutex_unlock(&h->mu);
        wait_ns *= 2;
    }
}

static void *hook_main(void *arg)
{
    struct notify_hook *h = arg;
    struct notify *n = h->n;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->qlen && !h->stop)
            pthread_cond_wait(&h->cv, &h->mu);
        if (!h->qlen)
            break;
        PK_ASSERT(h->qhead < n->queue_max && h->qlen <= n->queue_max);
        char *body = h->q[h->qhead];
        h->qhead = (h->qhead + 1) % n->queue_max;
        h->qlen--;
        h->busy = true;
        pthread_mutex_unlock(&h->mu);
        deliver(h, body);
        free(body);
        pthread_mutex_lock(&h->mu);
        h->busy = false;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int notify_hook_enqueue(struct notify *n, struct notify_hook *h, const char *body)
{
    char *copy = strdup(body);
    if (!copy) {
        count(n, &n->stats.webhook_dropped);
        return -ENOMEM;
    }
    bool dropped = false;
    pthread_mutex_lock(&h->mu);
    if (h->stop) {
        free(copy);
        dropped = true;
    } else {
        if (h->qlen == n->queue_max) {
            /* the oldest goes: a newer message describes a newer state */
            free(h->q[h->qhead]);
            h->qhead = (h->qhead + 1) % n->queue_max;
            h->qlen--;
            dropped = true;
        }
        PK_ASSERT(h->qhead < n->queue_max && h->qlen < n->queue_max);
        h->q[(h->qhead + h->qlen) % n->queue_max] = copy;
        h->qlen++;
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    if (dropped)
        count(n, &n->stats.webhook_dropped);
    return 0;
}

size_t notify_failing_webhooks(struct notify *n, const char **out, size_t cap)
{
    size_t k = 0;
    if (!n->sync_inited)
        return 0;
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->nhooks && k < cap; i++)
        if (n->hooks[i].failing)
            out[k++] = n->hooks[i].shown;
    pthread_mutex_unlock(&n->mu);
    return k;
}

/* One receiver's lines for notify_report (see notify.h for the rule). */
static void report_hook(struct notify *n, struct notify_hook *h, int64_t now_ms,
                        void (*log)(void *arg, const char *line), void *arg)
{
    char why[sizeof(h->last_error)], line[NOTIFY_URL_MAX + 512];
    pthread_mutex_lock(&n->mu);
    uint64_t failed = h->failed, sent = h->sent;
    snprintf(why, sizeof(why), "%s", h->last_error);
    pthread_mutex_unlock(&n->mu);
    if (failed > h->reported_failed) {
        if (h->reported_ns && now_ms - h->reported_ns < NOTIFY_REPORT_PERIOD_MS)
            return;
        uint64_t k = failed - h->reported_failed;
        if (!h->announced)
            snprintf(line, sizeof(line),
                     "webhook %s: %llu message%s not delivered: %s (while it fails, logged at most once a "
                     "minute; counted in perfkit_alert_webhook_failures_total)",
                     h->shown, (unsigned long long)k, k == 1 ? "" : "s", why);
        else
            snprintf(line, sizeof(line), "webhook %s: %llu more message%s not delivered in %llds: %s",
                     h->shown, (unsigned long long)k, k == 1 ? "" : "s",
                     (long long)((now_ms - h->reported_ns) / 1000), why);
        log(arg, line);
        h->reported_failed = failed;
        h->reported_sent = sent;
        h->reported_ns = now_ms;
        h->announced = true;
    } else if (h->announced && sent > h->reported_sent) {
        snprintf(line, sizeof(line), "webhook %s: delivering again (%llu message%s not delivered in all)",
                 h->shown, (unsigned long long)failed, failed == 1 ? "" : "s");
        log(arg, line);
        h->announced = false;
    }
}

void notify_report(struct notify *n, int64_t now_ms, void (*log)(void *arg, const char *line), void *arg)
{
    if (!n->sync_inited || !log)
        return;
    for (size_t i = 0; i < n->nhooks; i++)
        report_hook(n, &n->hooks[i], now_ms, log, arg);
}

/* http://user:secret@host/ -> http://user:***@host/: errors end up in logs. */
static char *redact(const char *url)
{
    const char *auth = strstr(url, "://") + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', alen);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon)
        return strdup(url);
    char *out = NULL;
    if (asprintf(&out, "%.*s***%s", (int)(colon + 1 - url), url, at) < 0)
        return NULL;
    return out;
}

int notify_hook_init(struct notify *n, struct notify_hook *h, const char *url, struct pk_err *e)
{
    h->n = n;
    if (!(h->url = strdup(url)) || !(h->shown = redact(url)) || !(h->q = calloc(n->queue_max, sizeof(*h->q))))
        return err_errno(e, -ENOMEM, "--webhook", "cannot set up webhook");
    int rc = pthread_mutex_init(&h->mu, NULL);
    if (rc)
        return err_errno(e, -rc, "--webhook", "cannot set up webhook");
    if ((rc = notify_cond_init_mono(&h->cv)) != 0) {
        pthread_mutex_destroy(&h->mu);
        return err_errno(e, -rc, "--webhook", "cannot set up webhook");
    }
    h->sync_inited = true;
    char ua[64];
    snprintf(ua, sizeof(ua), "User-Agent: perfkit/%s", pk_version());
    const struct curlapi *cu = n->curl;
    struct curl_slist *l1 = cu->slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *l2 = l1 ? cu->slist_append(l1, ua) : NULL;
    if (!l2) {
        cu->slist_free_all(l1);
        return err_errno(e, -ENOMEM, "--webhook", "cannot set up webhook");
    }
    h->headers = l2;
    if (!(h->curl = cu->easy_init()))
        return err_errno(e, -ENOMEM, "--webhook", "cannot set up webhook");
    CURL *c = h->curl;
    cu->easy_setopt(c, CURLOPT_URL, h->url);
    cu->easy_setopt(c, CURLOPT_POST, 1L);
    cu->easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for DNS timeouts in a threaded agent */
    cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)n->timeout_ms);
    cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)n->timeout_ms);
    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    cu->easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    cu->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    cu->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    cu->easy_setopt(c, CURLOPT_XFERINFODATA, h);
    cu->easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    cu->easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if ((rc = pthread_create(&h->thread, NULL, hook_main, h)) != 0)
        return err_errno(e, -rc, "--webhook", "cannot start the webhook thread");
    h->started = true;
    return 0;
}

void notify_hook_stop(struct notify_hook *h, int64_t deadline_ns)
{
    if (!h->started)
        return;
    atomic_store(&h->deadline_ns, deadline_ns);
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

size_t notify_hook_queued(struct notify_hook *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->qlen + (h->busy ? 1 : 0);
    pthread_mutex_unlock(&h->mu);
    return n;
}

void notify_hook_destroy(struct notify *n, struct notify_hook *h, int64_t deadline_ns)
{
    if (h->started) {
        notify_hook_stop(h, deadline_ns);
        pthread_join(h->thread, NULL);
    }
    /* after the deadline the thread leaves what is still queued */
    for (size_t i = 0; h->q && i < h->qlen; i++) {
        free(h->q[(h->qhead + i) % n->queue_max]);
        if (n->sync_inited)
            count(n, &n->stats.webhook_dropped);
    }
    free(h->q);
    if (h->curl)
        n->curl->easy_cleanup(h->curl);
    if (h->headers)
        n->curl->slist_free_all(h->headers);
    if (h->sync_inited) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
    }
    free(h->url);
    free(h->shown);
    memset(h, 0, sizeof(*h));
}
