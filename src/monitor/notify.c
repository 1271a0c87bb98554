/*
 * notify - log lines, --on-alert commands and Alertmanager webhooks
 * (notify.h).
 *
 * Threads: the caller's (notify_enqueue: formats, queues, returns), one
 * command thread (starts the queued commands with posix_spawn and reaps
 * them, polling waitpid(WNOHANG) every 10 ms while any runs, so no signal
 * handler is needed and no other child of the process is reaped), and one
 * thread per webhook URL (pops a message, tries it with backoff).
 * n->mu guards the job list, the running children and the stats; each hook
 * has its own lock for its queue so a slow receiver holds nobody else up.
 */
#define _GNU_SOURCE
#include "monitor/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/text.h"
#include "monitor/curlapi.h"

extern char **environ;

#define POLL_NS  10000000ll    /* reaper's poll period while a child runs */
#define ENV_VARS 9

struct notify_job {
    char *env[ENV_VARS];      /* "PERFKIT_ALERT_...=value" */
};

struct notify_hook {
    struct notify *n;
    char *url;
    char *shown;              /* url without its password, for messages */
    CURL *curl;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_inited, started, stop;
    char **q;                 /* ring of message bodies */
    size_t qhead, qlen;
    bool busy;                /* a message is being sent */
    _Atomic int64_t deadline_ns;
    pthread_t thread;
};

/* ---- time ----------------------------------------------------------------- */

static int64_t mono_ns(void) { return (int64_t)clock_mono_ns(); }

static struct timespec abs_mono(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    return ts;
}

static int cond_init_mono(pthread_cond_t *cv)
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
        off = text_append(buf, cap, 0, "%s %s %s %s", ev->key, value_str(ev->value, v, sizeof(v)), rules_op_str(r->op),
                     rules_format_number(r->threshold, t, sizeof(t)));
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
    size_t off = text_append(buf, cap, 0, "alert %s %s: %s (since %s) severity=%s", ev->rule.name,
                        rules_state_str(ev->state), s, rules_format_time(ev->active_since_ms, t, sizeof(t)),
                        rules_severity_str(ev->rule.severity));
    return finish(buf, cap, off);
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const struct metric_label *)a)->name, ((const struct metric_label *)b)->name);
}

size_t notify_labels_text(const struct rules_event *ev, char *buf, size_t cap)
{
    struct metric_label l[METRIC_LABELS_MAX];
    size_t n = ev->nlabels;
    memcpy(l, ev->labels, n * sizeof(l[0]));
    qsort(l, n, sizeof(l[0]), cmp_label);
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
    qsort(out, n, sizeof(out[0]), cmp_label);
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
#define NOTE_MAX (NOTIFY_LINE_MAX + RULES_FORMAT_MAX)
static const char *const note_keys[NOTE_KEYS] = { "description", "summary", "threshold", "value" }; /* sorted */

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

static json_t *alert_object(const struct notify_config *c, const struct rules_event *x, const struct metric_label *l,
                            size_t nl, notes_t notes)
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
    json_object_set_new(a, "endsAt", json_string(x->state == RULES_RESOLVED
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

/* ---- stats ---------------------------------------------------------------- */

static void note_error(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(struct notify *n, const char *fmt, ...)
{
    /* called with n->mu held */
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
    for (size_t i = 0; i < n->nhooks; i++) {
        struct notify_hook *h = &n->hooks[i];
        pthread_mutex_lock(&h->mu);
        queued += h->qlen + (h->busy ? 1 : 0);
        pthread_mutex_unlock(&h->mu);
    }
    out->webhook_queued = queued;
}

int notify_export(struct notify *n, struct metric_set *set, struct pk_err *e)
{
    struct notify_stats s;
    notify_stats(n, &s);
    uint32_t fam;
    int rc;
    if ((rc = metric_family_begin(set, "perfkit_alert_webhook_messages_total",
                                  "Alert webhook messages by outcome: sent (2xx), failed (all tries), dropped "
                                  "(queue full or unsent at shutdown).",
                                  METRIC_COUNTER, &fam, e)) != 0)
        return rc;
    const struct { const char *result; uint64_t v; } msg[] = {
        { "sent", s.webhook_sent }, { "failed", s.webhook_failed }, { "dropped", s.webhook_dropped },
    };
    for (size_t i = 0; i < 3; i++) {
        struct metric_label l = { "result", msg[i].result };
        if ((rc = metric_add(set, fam, &l, 1, (double)msg[i].v, e)) != 0)
            return rc;
    }
    if ((rc = metric_add1(set, "perfkit_alert_webhook_attempts_total", "HTTP tries of alert webhook messages.",
                          METRIC_COUNTER, (double)s.webhook_attempts, e)) != 0)
        return rc;
    if ((rc = metric_family_begin(set, "perfkit_alert_commands_total",
                                  "--on-alert commands by outcome: started, failed (start, exit status, signal, "
                                  "time limit), dropped (too many running).",
                                  METRIC_COUNTER, &fam, e)) != 0)
        return rc;
    const struct { const char *result; uint64_t v; } cmd[] = {
        { "started", s.command_started }, { "failed", s.command_failed }, { "dropped", s.command_dropped },
    };
    for (size_t i = 0; i < 3; i++) {
        struct metric_label l = { "result", cmd[i].result };
        if ((rc = metric_add(set, fam, &l, 1, (double)cmd[i].v, e)) != 0)
            return rc;
    }
    return 0;
}

/* ---- commands ------------------------------------------------------------- */

static void job_free(struct notify_job *j)
{
    if (!j)
        return;
    for (int i = 0; i < ENV_VARS; i++)
        free(j->env[i]);
    free(j);
}

static struct notify_job *job_new(const struct rules_event *ev)
{
    struct notify_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    char v[32], t[32], since[32], *labels = NULL, *summary = NULL;
    size_t ln = notify_labels_text(ev, NULL, 0), sn = notify_summary(ev, NULL, 0);
    if ((labels = malloc(ln + 1)) && (summary = malloc(sn + 1))) {
        notify_labels_text(ev, labels, ln + 1);
        notify_summary(ev, summary, sn + 1);
        if (isnan(ev->value))
            snprintf(v, sizeof(v), "NaN");
        else
            rules_format_number(ev->value, v, sizeof(v));
        const char *vals[ENV_VARS] = {
            ev->rule.name, rules_state_str(ev->state), rules_severity_str(ev->rule.severity), v,
            rules_format_number(ev->rule.threshold, t, sizeof(t)), labels,
            rules_format_time(ev->active_since_ms, since, sizeof(since)), summary, ev->key,
        };
        static const char *const names[ENV_VARS] = {
            "NAME", "STATE", "SEVERITY", "VALUE", "THRESHOLD", "LABELS", "SINCE", "SUMMARY", "SERIES",
        };
        for (int i = 0; i < ENV_VARS; i++)
            if (asprintf(&j->env[i], "PERFKIT_ALERT_%s=%s", names[i], vals[i]) < 0) {
                j->env[i] = NULL;
                job_free(j);
                j = NULL;
                break;
            }
    } else {
        job_free(j);
        j = NULL;
    }
    free(labels);
    free(summary);
    return j;
}

/* The caller's environment without PERFKIT_ALERT_*, plus the job's. */
static char **job_envp(const struct notify_job *j)
{
    size_t n = 0;
    for (char **p = environ; p && *p; p++)
        n++;
    char **envp = malloc((n + ENV_VARS + 1) * sizeof(*envp));
    if (!envp)
        return NULL;
    size_t k = 0;
    for (char **p = environ; p && *p; p++)
        if (strncmp(*p, "PERFKIT_ALERT_", 14) != 0)
            envp[k++] = *p;
    for (int i = 0; i < ENV_VARS; i++)
        envp[k++] = j->env[i];
    envp[k] = NULL;
    return envp;
}

static pid_t job_spawn(struct notify *n, const struct notify_job *j, int *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char **envp = job_envp(j);
    pid_t pid = -1;
    *err = ENOMEM;
    if (!envp)
        return -1;
    if ((*err = posix_spawn_file_actions_init(&fa)) != 0) {
        free(envp);
        return -1;
    }
    if ((*err = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        free(envp);
        return -1;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* the agent's sockets and database stay out of the alert script */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    /* its own process group, so the time limit kills the whole script;
     * default signals and an empty mask whatever the agent's threads use */
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    int sigs[] = { SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&def, sigs[i]);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = { "/bin/sh", "-c", n->on_alert, NULL };
    *err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    return *err ? -1 : pid;
}

static void remove_pid(struct notify *n, size_t i)
{
    n->npids--;
    n->pids[i] = n->pids[n->npids];
    n->pid_started_ns[i] = n->pid_started_ns[n->npids];
    n->pid_killed[i] = n->pid_killed[n->npids];
}

/* Collects finished children; with n->mu held. */
static void reap(struct notify *n, bool block)
{
    for (size_t i = 0; i < n->npids;) {
        int st = 0;
        pid_t r = waitpid(n->pids[i], &st, block ? 0 : WNOHANG);
        if (r == 0) {
            i++;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == n->pids[i] && (n->pid_killed[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
            n->stats.command_failed++;
            if (n->pid_killed[i])
                note_error(n, "--on-alert: killed after %lld ms", (long long)n->on_alert_timeout_ms);
            else if (WIFSIGNALED(st))
                note_error(n, "--on-alert: killed by signal %d", WTERMSIG(st));
            else
                note_error(n, "--on-alert: exit status %d", WEXITSTATUS(st));
        }
        /* r < 0 (ECHILD: SIGCHLD ignored, the kernel reaped it): done, status unknown */
        remove_pid(n, i);
    }
}

static void *cmd_main(void *arg)
{
    struct notify *n = arg;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (n->njobs) {
            struct notify_job *j = n->jobs[0];
            memmove(n->jobs, n->jobs + 1, (n->njobs - 1) * sizeof(*n->jobs));
            n->njobs--;
            if (n->stopping && mono_ns() >= n->deadline_ns) {
                job_free(j);
                n->stats.command_dropped++;
                continue;
            }
            pthread_mutex_unlock(&n->mu);
            int err;
            pid_t pid = job_spawn(n, j, &err);
            job_free(j);
            pthread_mutex_lock(&n->mu);
            if (pid > 0) {
                n->pids[n->npids] = pid;
                n->pid_started_ns[n->npids] = mono_ns();
                n->pid_killed[n->npids] = false;
                n->npids++;
                n->stats.command_started++;
            } else {
                n->stats.command_failed++;
                note_error(n, "--on-alert: cannot start /bin/sh: %s", strerror(err));
            }
        }
        reap(n, false);
        int64_t now = mono_ns();
        for (size_t i = 0; i < n->npids; i++)
            if (!n->pid_killed[i] && now - n->pid_started_ns[i] >= n->on_alert_timeout_ms * 1000000) {
                kill(-n->pids[i], SIGKILL);
                n->pid_killed[i] = true;
            }
        if (n->stopping) {
            if (!n->njobs && !n->npids)
                break;
            if (now >= n->deadline_ns) {
                for (size_t i = 0; i < n->npids; i++) {
                    kill(-n->pids[i], SIGKILL);
                    n->pid_killed[i] = true;
                }
                reap(n, true);
                break;
            }
        }
        if (n->npids || n->stopping) {
            int64_t wake = now + POLL_NS;
            if (n->stopping && n->deadline_ns < wake)
                wake = n->deadline_ns;
            struct timespec ts = abs_mono(wake);
            pthread_cond_timedwait(&n->cv, &n->mu, &ts);
        } else if (!n->njobs) {
            pthread_cond_wait(&n->cv, &n->mu);
        }
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

static int enqueue_command(struct notify *n, const struct rules_event *ev)
{
    pthread_mutex_lock(&n->mu);
    bool full = n->npids + n->njobs >= n->on_alert_max || n->stopping;
    if (full) {
        n->stats.command_dropped++;
        pthread_mutex_unlock(&n->mu);
        return 0;
    }
    pthread_mutex_unlock(&n->mu);
    /* formatted outside the lock: the command thread never waits on it */
    struct notify_job *j = job_new(ev);
    pthread_mutex_lock(&n->mu);
    int rc = 0;
    if (!j) {
        n->stats.command_dropped++;
        rc = -ENOMEM;
    } else if (n->npids + n->njobs >= n->on_alert_max || n->stopping) {
        n->stats.command_dropped++;
        job_free(j);
    } else {
        n->jobs[n->njobs++] = j;
        pthread_cond_signal(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    return rc;
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
    return d && mono_ns() >= d;
}

static bool past_deadline(struct notify_hook *h)
{
    int64_t d = atomic_load(&h->deadline_ns);
    return d && mono_ns() >= d;
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
        note_error(n, "webhook %s: %s", h->shown, h->errbuf[0] ? h->errbuf : cu->easy_strerror(cc));
        r = TRY_RETRY;
    } else {
        note_error(n, "webhook %s: HTTP status %ld", h->shown, status);
        /* as Alertmanager: 5xx may pass, other refusals will not */
        r = status >= 500 || status == 408 || status == 429 ? TRY_RETRY : TRY_FINAL;
    }
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
    int64_t wait_ns = n->backoff_ms * 1000000;
    for (unsigned t = 1;; t++) {
        if (past_deadline(h)) {
            count(n, &n->stats.webhook_dropped);
            return;
        }
        count(n, &n->stats.webhook_attempts);
        enum try_result r = post(h, body);
        if (r == TRY_OK) {
            count(n, &n->stats.webhook_sent);
            return;
        }
        if (r == TRY_FINAL || t >= n->tries) {
            count(n, &n->stats.webhook_failed);
            return;
        }
        /* backoff: waits of 1, 2, 4, ... times backoff_ms, cut short only by the deadline */
        int64_t wake = mono_ns() + wait_ns;
        pthread_mutex_lock(&h->mu);
        for (;;) {
            int64_t d = atomic_load(&h->deadline_ns);
            int64_t until = d && d < wake ? d : wake;
            if (mono_ns() >= until)
                break;
            struct timespec ts = abs_mono(until);
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

static int enqueue_body(struct notify *n, struct notify_hook *h, const char *body)
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
        h->q[(h->qhead + h->qlen) % n->queue_max] = copy;
        h->qlen++;
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    if (dropped)
        count(n, &n->stats.webhook_dropped);
    return 0;
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

static int hook_init(struct notify *n, struct notify_hook *h, const char *url, struct pk_err *e)
{
    h->n = n;
    if (!(h->url = strdup(url)) || !(h->shown = redact(url)) || !(h->q = calloc(n->queue_max, sizeof(*h->q))))
        return err_errno(e, -ENOMEM, "--webhook", "cannot set up webhook");
    int rc = pthread_mutex_init(&h->mu, NULL);
    if (rc)
        return err_errno(e, -rc, "--webhook", "cannot set up webhook");
    if ((rc = cond_init_mono(&h->cv)) != 0) {
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

static void hook_destroy(struct notify *n, struct notify_hook *h, int64_t deadline_ns)
{
    if (h->started) {
        atomic_store(&h->deadline_ns, deadline_ns);
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
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

int notify_init(struct notify *n, const struct notify_config *c, struct pk_err *e)
{
    memset(n, 0, sizeof(*n));
    int rc;
    char q[72];
    n->on_alert_max = c->on_alert_max ? c->on_alert_max : 4;
    n->on_alert_timeout_ms = c->on_alert_timeout_ms > 0 ? c->on_alert_timeout_ms : 60000;
    n->queue_max = c->queue_max ? c->queue_max : 256;
    n->tries = c->tries ? c->tries : 5;
    n->backoff_ms = c->backoff_ms > 0 ? c->backoff_ms : 100;
    n->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
    if (n->on_alert_max > NOTIFY_COMMANDS_MAX || n->queue_max > NOTIFY_QUEUE_MAX || n->tries > NOTIFY_TRIES_MAX ||
        c->nlabels > METRIC_LABELS_MAX)
        return err_set(e, PK_EUSAGE, "notify", "invalid notification settings",
                       "at most %u commands at once, %u queued messages, %u tries, %u labels", NOTIFY_COMMANDS_MAX,
                       NOTIFY_QUEUE_MAX, NOTIFY_TRIES_MAX, METRIC_LABELS_MAX);
    if (c->nwebhooks > NOTIFY_WEBHOOKS_MAX)
        return err_set(e, PK_EUSAGE, "--webhook", "too many webhooks", "at most %u", NOTIFY_WEBHOOKS_MAX);
    for (size_t i = 0; i < c->nwebhooks; i++)
        if (!c->webhooks[i] || !url_ok(c->webhooks[i]))
            return err_set(e, PK_EUSAGE, "--webhook", "invalid webhook URL",
                           "expected http://HOST[:PORT]/PATH or https://..., got '%s'",
                           c->webhooks[i] ? err_quote(c->webhooks[i], strlen(c->webhooks[i]), q, sizeof(q)) : "");
    if (c->on_alert && strnlen(c->on_alert, NOTIFY_COMMAND_MAX + 1) > NOTIFY_COMMAND_MAX)
        return err_set(e, PK_EUSAGE, "--on-alert", "invalid command", "longer than %u bytes", NOTIFY_COMMAND_MAX);

    size_t lb = 0;
    for (size_t i = 0; i < c->nlabels; i++)
        lb += strlen(c->labels[i].name) + strlen(c->labels[i].value) + 2;
    if ((c->on_alert && c->on_alert[0] && !(n->on_alert = strdup(c->on_alert))) ||
        !(n->receiver = strdup(c->receiver && c->receiver[0] ? c->receiver : "perfkit")) ||
        !(n->external_url = strdup(c->external_url ? c->external_url : "")) ||
        !(n->labels_block = malloc(lb + 1))) {
        rc = err_errno(e, -ENOMEM, "notify", "cannot set up notifications");
        goto fail;
    }
    char *p = n->labels_block;
    for (size_t i = 0; i < c->nlabels; i++) {
        if (!metric_label_name_valid(c->labels[i].name)) {
            rc = err_set(e, PK_EUSAGE, "notify", "invalid label name", "'%s'",
                         err_quote(c->labels[i].name, strlen(c->labels[i].name), q, sizeof(q)));
            goto fail;
        }
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

    if ((rc = pthread_mutex_init(&n->mu, NULL)) != 0) {
        rc = err_errno(e, -rc, "notify", "cannot set up notifications");
        goto fail;
    }
    if ((rc = cond_init_mono(&n->cv)) != 0) {
        pthread_mutex_destroy(&n->mu);
        rc = err_errno(e, -rc, "notify", "cannot set up notifications");
        goto fail;
    }
    n->sync_inited = true;

    if (n->on_alert) {
        n->jobs = calloc(n->on_alert_max, sizeof(*n->jobs));
        n->pids = calloc(n->on_alert_max, sizeof(*n->pids));
        n->pid_started_ns = calloc(n->on_alert_max, sizeof(*n->pid_started_ns));
        n->pid_killed = calloc(n->on_alert_max, sizeof(*n->pid_killed));
        if (!n->jobs || !n->pids || !n->pid_started_ns || !n->pid_killed) {
            rc = err_errno(e, -ENOMEM, "--on-alert", "cannot set up the alert command");
            goto fail;
        }
        if ((rc = pthread_create(&n->cmd_thread, NULL, cmd_main, n)) != 0) {
            rc = err_errno(e, -rc, "--on-alert", "cannot start the command thread");
            goto fail;
        }
        n->cmd_thread_started = true;
    }

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
            if ((rc = hook_init(n, &n->hooks[i], c->webhooks[i], e)) != 0)
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
    int64_t deadline = mono_ns() + (flush_ms > 0 ? flush_ms : 0) * 1000000;
    if (deadline == 0)
        deadline = 1;
    if (n->cmd_thread_started) {
        pthread_mutex_lock(&n->mu);
        n->stopping = true;
        n->deadline_ns = deadline;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
        pthread_join(n->cmd_thread, NULL);
    }
    /* the hooks flush in parallel: each has the same deadline */
    for (size_t i = 0; i < n->nhooks; i++) {
        struct notify_hook *h = &n->hooks[i];
        if (!h->started)
            continue;
        atomic_store(&h->deadline_ns, deadline);
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
    for (size_t i = 0; i < n->nhooks; i++)
        hook_destroy(n, &n->hooks[i], deadline);
    free(n->hooks);
    for (size_t i = 0; i < n->njobs; i++)
        job_free(n->jobs[i]);
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
            int erc = enqueue_command(n, &ev->v[i]);
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
        .receiver = n->receiver, .external_url = n->external_url, .labels = n->labels, .nlabels = n->nlabels,
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
            int erc = enqueue_body(n, &n->hooks[h], body);
            if (erc && !rc)
                rc = erc;
        }
        free(body);
    }
    free(group);
    return rc;
}
