#define _GNU_SOURCE
#include "monitor/agent.h"
#include "monitor/agent_impl.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/files.h"
#include "core/jsonio.h"
#include "monitor/collect.h"
#include "monitor/dashboard.h"
#include "monitor/expo.h"
#include "monitor/http.h"
#include "monitor/metric.h"
#include "monitor/notify.h"
#include "monitor/probe.h"
#include "monitor/query.h"
#include "monitor/rules.h"
#include "monitor/store.h"
#include "sys/sysfile.h"

#define HISTORY_POINTS_CAP 10000
#define NOTIFY_FLUSH_MS    5000

/* One published sample, freed by the last user. Its metric set and status
 * are immutable; the texts of /metrics (both formats) and /api/status are
 * rendered on the first request for them, under mu, since most samples are
 * never scraped and rendering is most of a sample's cost. */
struct snapshot {
    atomic_int refs;
    struct agent *owner; /* gets the set back for a next sample; every snapshot is
                                         released before the agent is freed (http_stop ends the
                                         requests that hold one, agent_close drops the last) */
    int64_t ts_ms;
    struct metric_set set;
    struct collect_status status;
    json_t *probes; /* rendered at publish: probe stats change later */
    size_t firing, pending;
    char *alerts; /* rendered at publish */
    size_t alerts_len;
    pthread_mutex_t mu; /* guards the lazy texts */
    char *prom, *om, *status_text;
    size_t prom_len, om_len, status_len;
};

struct agent {
    struct monitor_config cfg; /* a copy of the strings the agent needs */
    int64_t duration_ms;
    volatile sig_atomic_t *stop, *reload;
    void (*log)(void *arg, const char *line);
    void *log_arg;

    struct collect col;
    struct metric_set set;
    struct store *store;
    struct rules rules;
    struct rules_events ev;
    struct notify notify;
    struct prober *prober;
    struct http_server *http;
    int tfd;

    pthread_mutex_t mu; /* guards snap and spare */
    struct snapshot *snap;
    /* The set of a released snapshot, cleared, for the next sample: a set
     * keeps its arrays and string blocks across metric_set_clear, so a sample
     * built into it allocates nothing. */
    struct metric_set spare;
    bool have_spare;
    struct sysfile_kept statm; /* /proc/self/statm, kept open (sampling thread) */
    bool *want;                /* per family of set: stored in the history (want_stored) */
    size_t nwant, capwant;
    atomic_bool stored;          /* a first sample is in the store (/ready) */
    atomic_bool notify_ready;    /* notify is set up: the server starts before it */
    atomic_llong last_sample_ms; /* wall time of the last sample (/health) */
    int64_t started_ms;
    uint64_t samples;
    double last_duration_s;
    uint64_t store_failures_logged;
    char csp[DASHBOARD_CSP_MAX]; /* the dashboard's Content-Security-Policy; "" if none */
};

static void logf_(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct agent *a, const char *fmt, ...)
{
    if (!a->log)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    a->log(a->log_arg, line);
}

/* ------------------------------------------------------------------ snapshots */

static void snap_unref(void *cookie)
{
    struct snapshot *s = cookie;
    if (!s)
        return;
    int before = atomic_fetch_sub(&s->refs, 1);
    PK_ASSERT(before >= 1);
    if (before != 1)
        return;
    free(s->prom);
    free(s->om);
    free(s->status_text);
    free(s->alerts);
    json_decref(s->probes);
    bool kept = false;
    if (s->owner) {
        pthread_mutex_lock(&s->owner->mu);
        if (!s->owner->have_spare) {
            s->owner->spare = s->set;
            s->owner->have_spare = kept = true;
        }
        pthread_mutex_unlock(&s->owner->mu);
    }
    if (!kept)
        metric_set_destroy(&s->set);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static struct snapshot *snap_get(struct agent *a)
{
    pthread_mutex_lock(&a->mu);
    struct snapshot *s = a->snap;
    if (s) {
        int before = atomic_fetch_add(&s->refs, 1);
        /* a->snap holds a reference until snap_publish replaces it under a->mu */
        PK_ASSERT(before >= 1);
    }
    pthread_mutex_unlock(&a->mu);
    return s;
}

static void snap_publish(struct agent *a, struct snapshot *s)
{
    pthread_mutex_lock(&a->mu);
    struct snapshot *old = a->snap;
    a->snap = s;
    pthread_mutex_unlock(&a->mu);
    snap_unref(old);
}

/* ------------------------------------------------------------------ /api/status */

/* A family as a number (one unlabelled series) or an array of
 * {label: value, ..., "value": v}; NULL when absent. */
static json_t *family_json(const struct metric_set *set, const char *name)
{
    const struct metric_family *f = metric_find_family(set, name);
    if (!f || f->n == 0)
        return NULL;
    if (f->n == 1 && set->series[f->idx[0]].nlabels == 0)
        return jsonio_real(set->series[f->idx[0]].value);
    json_t *arr = json_array();
    for (size_t i = 0; i < f->n; i++) {
        const struct metric_series *m = &set->series[f->idx[i]];
        json_t *o = json_object();
        for (size_t l = 0; l < m->nlabels; l++)
            json_object_set_new(o, m->labels[l].name, json_string(m->labels[l].value));
        json_object_set_new(o, "value", jsonio_real(m->value));
        json_array_append_new(arr, o);
    }
    return arr;
}

static void put(json_t *obj, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(obj, key, v);
}

static json_t *procs_json(const struct collect_proc *p, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char comm[4 * sizeof(p[i].comm) + 1];
        err_quote(p[i].comm, strnlen(p[i].comm, sizeof(p[i].comm)), comm, sizeof(comm));
        json_array_append_new(arr, json_pack("{s:i, s:s, s:o, s:I}", "pid", p[i].pid, "comm", comm,
                                             "cpu_ratio", jsonio_real(p[i].cpu_ratio), "rss_bytes",
                                             (json_int_t)p[i].rss_bytes));
    }
    return arr;
}

static json_t *status_json(const struct snapshot *snap)
{
    const struct metric_set *s = &snap->set;
    const struct collect_status *st = &snap->status;
    char when[40];
    json_t *root = json_object();
    put(root, "time", json_string(query_format_time(s->ts_ms, when, sizeof(when))));
    put(root, "ts_ms", json_integer(s->ts_ms));

    json_t *sys = json_object();
    put(sys, "hostname", json_string(st->hostname));
    put(sys, "kernel", json_string(st->kernel));
    put(sys, "cpus", json_integer(st->cpus));
    put(sys, "uptime_s", st->uptime_s >= 0 ? jsonio_real(st->uptime_s) : json_null());
    put(sys, "boot_time_s", st->boot_time_s >= 0 ? jsonio_real(st->boot_time_s) : json_null());
    put(root, "system", sys);

    json_t *cpu = json_object();
    put(cpu, "utilization_ratio", family_json(s, "perfkit_cpu_utilization_ratio"));
    put(cpu, "cores", family_json(s, "perfkit_cpu_core_utilization_ratio"));
    put(cpu, "modes", family_json(s, "perfkit_cpu_mode_ratio"));
    json_t *load = json_array();
    static const char *const loads[] = { "node_load1", "node_load5", "node_load15" };
    for (size_t i = 0; i < 3; i++) {
        json_t *v = family_json(s, loads[i]);
        json_array_append_new(load, v ? v : json_null());
    }
    put(cpu, "load", load);
    put(root, "cpu", cpu);

    json_t *mem = json_object();
    put(mem, "used_ratio", family_json(s, "perfkit_memory_used_ratio"));
    put(mem, "swap_used_ratio", family_json(s, "perfkit_swap_used_ratio"));
    put(mem, "total_bytes", family_json(s, "node_memory_MemTotal_bytes"));
    put(mem, "available_bytes", family_json(s, "node_memory_MemAvailable_bytes"));
    put(root, "memory", mem);

    json_t *disk = json_object();
    put(disk, "filesystems_used_ratio", family_json(s, "perfkit_filesystem_used_ratio"));
    put(disk, "filesystems_inodes_used_ratio", family_json(s, "perfkit_filesystem_inodes_used_ratio"));
    put(disk, "devices_busy_ratio", family_json(s, "perfkit_disk_busy_ratio"));
    put(disk, "devices_read_bytes_per_second", family_json(s, "perfkit_disk_read_bytes_per_second"));
    put(disk, "devices_written_bytes_per_second", family_json(s, "perfkit_disk_written_bytes_per_second"));
    put(root, "disk", disk);

    json_t *net = json_object();
    put(net, "receive_bytes_per_second", family_json(s, "perfkit_network_receive_bytes_per_second"));
    put(net, "transmit_bytes_per_second", family_json(s, "perfkit_network_transmit_bytes_per_second"));
    /* what each interface moved since boot: which is the busiest when none moves now */
    put(net, "receive_bytes_total", family_json(s, "node_network_receive_bytes_total"));
    put(net, "transmit_bytes_total", family_json(s, "node_network_transmit_bytes_total"));
    put(net, "tcp_connection_states", family_json(s, "node_tcp_connection_states"));
    put(root, "network", net);

    json_t *pr = json_object();
    put(pr, "by_state", family_json(s, "perfkit_processes"));
    put(pr, "total", family_json(s, "perfkit_processes_all"));
    put(pr, "threads", family_json(s, "perfkit_threads"));
    put(pr, "growth_per_minute", family_json(s, "perfkit_processes_growth_per_minute"));
    put(pr, "fd_used_ratio", family_json(s, "perfkit_fd_used_ratio"));
    put(pr, "top_cpu", procs_json(st->top_cpu, st->ntop_cpu));
    put(pr, "top_memory", procs_json(st->top_rss, st->ntop_rss));
    put(root, "processes", pr);

    put(root, "probes", json_incref(snap->probes));

    put(root, "alerts",
        json_pack("{s:I, s:I}", "firing", (json_int_t)snap->firing, "pending", (json_int_t)snap->pending));
    return root;
}

static json_t *probes_json(struct agent *a)
{
    json_t *probes = json_array();
    for (size_t i = 0; i < prober_count(a->prober); i++) {
        struct probe_stats ps;
        if (!prober_stats(a->prober, i, &ps))
            continue;
        json_t *o = json_object();
        put(o, "target", json_string(ps.target));
        put(o, "attempts", json_integer((json_int_t)ps.attempts));
        if (ps.have) {
            put(o, "success", json_boolean(ps.last.ok));
            put(o, "duration_s", jsonio_real(ps.last.seconds));
            put(o, "error", ps.last.ok ? json_null() : json_string(ps.last.error));
            put(o, "loss_ratio", jsonio_real(ps.loss_ratio));
            put(o, "jitter_s", isnan(ps.jitter_seconds) ? json_null() : jsonio_real(ps.jitter_seconds));
            put(o, "over_limit", json_boolean(ps.over_limit));
        }
        if (ps.limit_ms)
            put(o, "limit_s", jsonio_real((double)ps.limit_ms / 1000.0));
        json_array_append_new(probes, o);
    }
    return probes;
}

/* ------------------------------------------------------------------ HTTP provider */

static int p_metrics(void *arg, enum http_metrics_format fmt, struct http_body *out, struct pk_err *e)
{
    struct snapshot *s = snap_get(arg);
    if (!s)
        return err_set(e, -EAGAIN, "/metrics", "no sample yet", "the first sample is being taken");
    bool om = fmt == HTTP_METRICS_OPENMETRICS;
    char **text = om ? &s->om : &s->prom;
    size_t *len = om ? &s->om_len : &s->prom_len;
    pthread_mutex_lock(&s->mu);
    int rc = *text ? 0 : expo_render(&s->set, om ? EXPO_OPENMETRICS : EXPO_TEXT, text, len, e);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        snap_unref(s);
        return rc;
    }
    out->data = *text;
    out->len = *len;
    out->release = snap_unref;
    out->cookie = s;
    return 0;
}

static int p_status(void *arg, struct http_body *out, struct pk_err *e)
{
    struct snapshot *s = snap_get(arg);
    if (!s)
        return err_set(e, -EAGAIN, "/api/status", "no sample yet", "the first sample is being taken");
    pthread_mutex_lock(&s->mu);
    if (!s->status_text) {
        json_t *st = status_json(s);
        s->status_text = st ? json_dumps(st, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
        json_decref(st);
        s->status_len = s->status_text ? strlen(s->status_text) : 0;
    }
    pthread_mutex_unlock(&s->mu);
    if (!s->status_text) {
        snap_unref(s);
        return err_errno(e, -ENOMEM, "/api/status", "cannot render the status");
    }
    out->data = s->status_text;
    out->len = s->status_len;
    out->release = snap_unref;
    out->cookie = s;
    return 0;
}

static int p_alerts(void *arg, struct http_body *out, struct pk_err *e)
{
    struct snapshot *s = snap_get(arg);
    if (!s)
        return err_set(e, -EAGAIN, "/api/alerts", "no sample yet", "the first sample is being taken");
    out->data = s->alerts;
    out->len = s->alerts_len;
    out->release = snap_unref;
    out->cookie = s;
    return 0;
}

static int text_body(struct http_body *out, json_t *root, unsigned status, struct pk_err *e)
{
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(root);
    if (!text)
        return err_errno(e, -ENOMEM, "response", "cannot render the answer");
    out->data = text;
    out->len = strlen(text);
    out->status = status;
    out->release = free;
    out->cookie = text;
    return 0;
}

static int p_health(void *arg, struct http_body *out, struct pk_err *e)
{
    struct agent *a = arg;
    int64_t last = atomic_load(&a->last_sample_ms);
    double age = last ? (double)(clock_real_ms() - last) / 1000.0 : NAN;
    /* stale: three intervals (at least 5 s) without a sample, the sampler is stuck */
    double limit = fmax(3.0 * (double)a->cfg.interval_ms / 1000.0, 5.0);
    bool fresh = last && age <= limit;
    /* a receiver that fails says nothing of the agent's health: listed, not a 503 */
    const char *failing[NOTIFY_WEBHOOKS_MAX];
    size_t nfailing =
        atomic_load(&a->notify_ready) ? notify_failing_webhooks(&a->notify, failing, NOTIFY_WEBHOOKS_MAX) : 0;
    json_t *hooks = json_array();
    for (size_t i = 0; hooks && i < nfailing; i++)
        json_array_append_new(hooks, json_string(failing[i]));
    json_t *root = json_pack("{s:s, s:o, s:o, s:o*}", "status",
                             !last   ? "starting"
                             : fresh ? "alive"
                                     : "stale",
                             "last_sample_age_s", last ? jsonio_real(age) : json_null(), "interval_s",
                             jsonio_real((double)a->cfg.interval_ms / 1000.0), "failing_webhooks", hooks);
    return text_body(out, root, fresh || !last ? 200 : 503, e);
}

static int p_ready(void *arg, struct http_body *out, struct pk_err *e)
{
    struct agent *a = arg;
    bool ready = atomic_load(&a->stored);
    return text_body(out, json_pack("{s:b}", "ready", ready), ready ? 200 : 503, e);
}

static int p_history(void *arg, const struct query_history *q, struct http_body *out, struct pk_err *e)
{
    struct agent *a = arg;
    struct store_point *pts = NULL;
    size_t n = 0;
    struct store_history_info info = { 0 };
    size_t points = q->points > HISTORY_POINTS_CAP ? HISTORY_POINTS_CAP : q->points;
    int rc = store_history(a->store, q->metric, q->from_ms, q->to_ms, q->step_ms, points, &pts, &n, &info, e);
    if (rc == -ENOENT)
        return err_set(e, -ENOENT, "metric", "unknown series", "no history of '%s'", q->metric);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("[I, o, o, o, I]", (json_int_t)pts[i].ts,
                                             jsonio_real(pts[i].min), jsonio_real(pts[i].avg),
                                             jsonio_real(pts[i].max), (json_int_t)pts[i].count));
    free(pts);
    json_t *root = json_pack("{s:s, s:I, s:I, s:I, s:s, s:[s,s,s,s,s], s:o}", "metric", q->metric, "from_ms",
                             (json_int_t)info.from_ms, "to_ms", (json_int_t)q->to_ms, "step_ms",
                             (json_int_t)info.step_ms, "source", store_source_name(info.source), "columns",
                             "ts_ms", "min", "avg", "max", "count", "points", arr);
    return text_body(out, root, 200, e);
}

static int p_asset(void *arg, const char *path, struct http_body *out, struct pk_err *e)
{
    struct agent *a = arg;
    const struct dashboard_asset *d = dashboard_find(path);
    if (!d)
        return err_set(e, -ENOENT, path, "not found", "no such page");
    out->data = d->data;
    out->len = d->len;
    out->content_type = d->content_type;
    out->csp = a->csp[0] ? a->csp : NULL;
    return 0;
}

/* The dashboard's assets hold no data: a browser opens them without the
 * token, and their script asks the API with it (docs/monitor-http.md). */
static bool p_asset_public(void *arg, const char *path)
{
    (void)arg;
    return dashboard_find(path) != NULL;
}

/* ------------------------------------------------------------------ one sample */

/* The history keeps what a person looks back at: the host's perfkit_* gauges,
 * probes and load. The agent's own bookkeeping (collector timings, HTTP
 * counters, alert counts) is left to /metrics: it would double the rows. */
static bool want_family(const char *name)
{
    static const char *const skip[] = { "perfkit_collector_", "perfkit_agent_", "perfkit_http_",
                                        "perfkit_alert", "perfkit_store_" };
    if (strncmp(name, "node_load", 9) == 0)
        return true;
    if (strncmp(name, "perfkit_", 8) != 0)
        return false;
    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strncmp(name, skip[i], strlen(skip[i])) == 0)
            return false;
    return true;
}

/* want_family of each family of the set, decided once per family rather than per series. */
static bool want_stored(const struct metric_series *m, void *arg)
{
    const struct agent *a = arg;
    return m->family < a->nwant && a->want[m->family];
}

static int decide_stored(struct agent *a)
{
    const struct metric_set *set = &a->set;
    if (set->nfam > a->capwant) {
        bool *w = realloc(a->want, set->nfam * sizeof(*w));
        if (!w)
            return -ENOMEM;
        a->want = w;
        a->capwant = set->nfam;
    }
    for (size_t i = 0; i < set->nfam; i++)
        a->want[i] = want_family(set->fam[i].name);
    a->nwant = set->nfam;
    return 0;
}

/* statm's second field (resident pages) in bytes; -1 if it cannot be read. */
static long self_rss_bytes(struct agent *a)
{
    const char *buf;
    size_t len;
    if (sysfile_kept_read(&a->statm, "/proc", "self/statm", 4096, &buf, &len, NULL) != 0)
        return -1;
    const char *sp = memchr(buf, ' ', len), *end = buf + len;
    uint64_t pages;
    if (!sp || (++sp, sysfile_parse_uint(&sp, end, (uint64_t)LONG_MAX / 65536, &pages)) != 0)
        return -1;
    return (long)pages * sysconf(_SC_PAGESIZE);
}

static void self_metrics(struct agent *a)
{
    struct metric_set *s = &a->set;
    metric_add1(s, "perfkit_agent_samples_total", "Samples taken since the agent started.", METRIC_COUNTER,
                (double)a->samples, NULL);
    metric_add1(s, "perfkit_agent_sample_duration_seconds",
                "Time the previous sample took, store and rules included.", METRIC_GAUGE, a->last_duration_s,
                NULL);
    metric_add1(s, "perfkit_agent_start_time_seconds", "When the agent started, seconds since the epoch.",
                METRIC_GAUGE, (double)a->started_ms / 1000.0, NULL);
    long rss = self_rss_bytes(a);
    if (rss >= 0)
        metric_add1(s, "perfkit_agent_resident_memory_bytes", "Resident memory of the agent.", METRIC_GAUGE,
                    (double)rss, NULL);
    metric_add1(s, "perfkit_store_errors_total", "Samples the history store could not write.", METRIC_COUNTER,
                (double)store_errors(a->store), NULL);
    struct http_stats hs = { 0 };
    http_stats(a->http, &hs);
    uint32_t fam;
    if (metric_family_begin(s, "perfkit_http_requests_total",
                            "Requests answered by the agent's HTTP server, by status class.", METRIC_COUNTER,
                            &fam, NULL) == 0) {
        const char *cls[] = { "2xx", "4xx", "5xx" };
        uint64_t v[] = { hs.status_2xx, hs.status_4xx, hs.status_5xx };
        for (size_t i = 0; i < 3; i++) {
            struct metric_label l = { "code", cls[i] };
            metric_add(s, fam, &l, 1, (double)v[i], NULL);
        }
    }
}

static int publish(struct agent *a, struct pk_err *e)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return err_errno(e, -ENOMEM, "sample", "cannot publish the sample");
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->mu, NULL);
    s->owner = a;
    s->ts_ms = a->set.ts_ms;
    s->status = a->col.status;
    s->probes = probes_json(a);
    size_t nalerts = 0;
    const struct rules_alert *al = rules_alerts(&a->rules, &nalerts);
    for (size_t i = 0; i < nalerts; i++)
        s->firing += al[i].state == RULES_FIRING;
    s->pending = nalerts - s->firing;
    json_t *aj = rules_alerts_json(&a->rules);
    s->alerts = aj ? json_dumps(aj, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(aj);
    if (!s->alerts || !s->probes) {
        metric_set_init(&s->set);
        snap_unref(s);
        return err_errno(e, -ENOMEM, "sample", "cannot publish the sample");
    }
    s->alerts_len = strlen(s->alerts);
    /* the set moves into the snapshot; the next sample takes a released one, or a new one */
    s->set = a->set;
    pthread_mutex_lock(&a->mu);
    if (a->have_spare) {
        a->set = a->spare;
        a->have_spare = false;
    } else {
        metric_set_init(&a->set);
    }
    pthread_mutex_unlock(&a->mu);
    snap_publish(a, s);
    return 0;
}

static void sample(struct agent *a)
{
    double t0 = clock_mono_s();
    int64_t now = clock_real_ms();
    struct pk_err e;
    pk_err_clear(&e);
    int rc = collect_sample(&a->col, &a->set, now, &e);
    if (rc)
        logf_(a, "sample: %s: %s: %s", e.on, e.what, e.why);
    for (size_t i = 0; i < a->col.nissues; i++)
        logf_(a, "collector %s unavailable: %s: %s: %s (left out until it works again)",
              a->col.issues[i].collector, a->col.issues[i].err.on, a->col.issues[i].err.what,
              a->col.issues[i].err.why);
    for (size_t i = 0; i < 32; i++)
        if (a->col.recovered & (1u << i))
            logf_(a, "collector %s works again", collect_name((enum collect_id)i));
    probe_export(a->prober, &a->set, NULL);
    self_metrics(a);
    notify_export(&a->notify, &a->set, NULL);
    notify_report(&a->notify, clock_mono_ms(), a->log, a->log_arg);

    rules_eval(&a->rules, &a->set, now, &a->ev);
    for (size_t i = 0; i < a->ev.n; i++) {
        char line[NOTIFY_LINE_MAX];
        notify_log_line(&a->ev.v[i], line, sizeof(line));
        logf_(a, "%s", line);
    }
    if (a->ev.n)
        notify_enqueue(&a->notify, &a->ev);
    rules_export(&a->rules, &a->set, NULL);

    pk_err_clear(&e);
    int src = decide_stored(a) == 0 ? store_append(a->store, &a->set, want_stored, a, &e)
                                    : err_errno(&e, -ENOMEM, "store", "cannot choose the series to store");
    if (src == 0) {
        if (a->store_failures_logged) {
            logf_(a, "store: writing again after %llu failed samples",
                  (unsigned long long)a->store_failures_logged);
            a->store_failures_logged = 0;
        }
        atomic_store(&a->stored, true);
    } else {
        /* logged on the first failure and then every 60th, so a full disk does not flood the log */
        if (a->store_failures_logged++ % 60 == 0)
            logf_(a, "store: %s: %s: %s (sampling, serving and alerting go on)", e.on, e.what, e.why);
    }
    pk_err_clear(&e);
    if (publish(a, &e))
        logf_(a, "publish: %s: %s", e.what, e.why);
    atomic_store(&a->last_sample_ms, now);
    a->samples++;
    a->last_duration_s = clock_mono_s() - t0;
}

/* ------------------------------------------------------------------ setup */

/* The collector, the store and the probes (not started yet). */
static int open_sources(struct agent *a, const struct monitor_config *cfg, struct pk_err *e)
{
    int rc;
    struct collect_opts co;
    collect_opts_init(&co);
    co.procfs = cfg->procfs;
    co.sysfs = cfg->sysfs;
    if ((rc = collect_init(&a->col, &co, e)) != 0)
        return rc;
    struct store_opts so;
    store_opts_init(&so);
    so.retention_raw_ms = cfg->retention_raw_ms;
    so.retention_ms = cfg->retention_ms;
    if ((rc = store_open(cfg->db ? cfg->db : AGENT_DB_DEFAULT, &so, &a->store, e)) != 0)
        return rc;
    return prober_new(cfg->probes, cfg->nprobes, cfg->interval_ms, &a->prober, e);
}

static int start_http(struct agent *a, const struct http_opts *ho, struct pk_err *e)
{
    struct http_provider p = { a,        p_metrics, p_status, p_history,     p_alerts,
                               p_health, p_ready,   p_asset,  p_asset_public };
    return http_start(ho, &p, &a->http, e);
}

static int start_notify(struct agent *a, const struct monitor_config *cfg, struct pk_err *e)
{
    /* receivers that hear from many hosts tell them apart by these */
    char url[300], host[256] = "", instance[320];
    http_url(a->http, url, sizeof(url));
    gethostname(host, sizeof(host) - 1);
    snprintf(instance, sizeof(instance), "%s:%u", host[0] ? host : "localhost", http_port(a->http));
    struct metric_label inst = { "instance", instance };
    struct notify_config nc;
    agent_notify_config(cfg, &nc);
    nc.external_url = url;
    nc.labels = &inst;
    nc.nlabels = 1;
    return notify_init(&a->notify, &nc, e);
}

int agent_open(const struct agent_opts *o, struct agent **out, struct pk_err *e)
{
    const struct monitor_config *cfg = o->cfg;
    struct agent_setup su;
    int rc = agent_setup_init(&su, cfg, e);
    if (rc)
        return rc;
    struct agent *a = calloc(1, sizeof(*a));
    if (!a) {
        agent_setup_destroy(&su);
        return err_errno(e, -ENOMEM, "monitor", "cannot start");
    }
    a->tfd = -1;
    a->cfg = *cfg; /* the strings stay the caller's (see agent.h) */
    a->duration_ms = o->duration_ms;
    a->stop = o->stop;
    a->reload = o->reload;
    a->log = o->log;
    a->log_arg = o->log_arg;
    a->started_ms = clock_real_ms();
    if (dashboard_csp(a->csp, sizeof(a->csp)) != 0)
        a->csp[0] = '\0'; /* the page still works, without the policy's protection */
    pthread_mutex_init(&a->mu, NULL);
    metric_set_init(&a->set);
    metric_set_init(&a->spare);
    sysfile_kept_init(&a->statm);
    rules_events_init(&a->ev);
    /*
     * The threads started here (HTTP server, notifier, prober) inherit a mask
     * of every signal, so SIGTERM, SIGINT and SIGHUP reach the sampling
     * thread and interrupt its poll(): agent_run then needs no short timeout
     * to notice *stop, and wakes only to sample.
     */
    sigset_t all, caller;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &caller);
    a->rules = su.rules; /* moved: the setup keeps none */
    rules_init(&su.rules);
    rc = open_sources(a, cfg, e);
    if (rc == 0)
        rc = start_http(a, &su.http, e);
    agent_setup_destroy(&su); /* the secrets are wiped once the server has what it keeps */
    if (rc || (rc = start_notify(a, cfg, e)) != 0)
        goto fail;
    atomic_store(&a->notify_ready, true);
    if ((rc = prober_start(a->prober, e)) != 0)
        goto fail;
    a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (a->tfd < 0) {
        rc = err_errno(e, -errno, "timerfd", "cannot start the sampling loop");
        goto fail;
    }
    pthread_sigmask(SIG_SETMASK, &caller, NULL);
    *out = a;
    return 0;
fail:
    agent_close(a);
    pthread_sigmask(SIG_SETMASK, &caller, NULL);
    return rc;
}

const char *agent_url(const struct agent *a, char *buf, size_t cap)
{
    return http_url(a->http, buf, cap);
}

static void do_reload(struct agent *a)
{
    if (!a->cfg.path) {
        logf_(a, "reload: no --config file to read again");
        return;
    }
    struct monitor_config c;
    struct pk_err e;
    pk_err_clear(&e);
    config_init(&c);
    struct rules next;
    rules_init(&next);
    int rc = config_load(&c, a->cfg.path, &e);
    if (!rc)
        rc = agent_load_rules(&c, &next, &e);
    if (rc) {
        logf_(a, "reload refused, the running rules are kept: %s: %s: %s", e.on, e.what, e.why);
    } else {
        /* alerts of removed or changed rules end here: say so, as any resolution */
        rules_events_clear(&a->ev);
        rules_replace(&a->rules, &next, clock_real_ms(), &a->ev);
        logf_(a, "reload: %zu rules from %s", a->rules.nrules, a->cfg.path);
        for (size_t i = 0; i < a->ev.n; i++) {
            char line[NOTIFY_LINE_MAX];
            notify_log_line(&a->ev.v[i], line, sizeof(line));
            logf_(a, "%s", line);
        }
        if (a->ev.n)
            notify_enqueue(&a->notify, &a->ev);
    }
    rules_destroy(&next);
    config_destroy(&c);
}

int agent_run(struct agent *a, struct pk_err *e)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* absolute expirations: the n-th sample is due at start + n * interval,
     * whatever each sample took, so the loop never drifts */
    struct itimerspec its = { 0 };
    its.it_value = now;
    its.it_interval.tv_sec = a->cfg.interval_ms / 1000;
    its.it_interval.tv_nsec = (a->cfg.interval_ms % 1000) * 1000000L;
    its.it_value.tv_nsec += 1; /* now, strictly after */
    if (timerfd_settime(a->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return err_errno(e, -errno, "timerfd", "cannot start the sampling loop");
    double end = a->duration_ms ? clock_mono_s() + (double)a->duration_ms / 1000.0 : 0;
    for (;;) {
        if (a->stop && *a->stop)
            break;
        if (end && clock_mono_s() >= end)
            break;
        if (a->reload && *a->reload) {
            *a->reload = 0;
            do_reload(a);
        }
        /*
         * The timer wakes the loop once per interval; a signal for *stop or
         * *reload interrupts the poll (agent_open keeps signals off the other
         * threads). The timeout only bounds how late a signal that lands just
         * before poll() is noticed, and ends a --duration on time.
         */
        int timeout = 1000;
        if (end) {
            double left = (end - clock_mono_s()) * 1000.0;
            timeout = left < 0 ? 0 : left < timeout ? (int)left + 1 : timeout;
        }
        struct pollfd pfd = { a->tfd, POLLIN, 0 };
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR)
            return err_errno(e, -errno, "poll", "the sampling loop failed");
        if (n <= 0)
            continue;
        uint64_t ticks = 0;
        if (read(a->tfd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
            continue;
        if (ticks > 1)
            logf_(a, "sampling fell behind: %llu intervals missed", (unsigned long long)(ticks - 1));
        sample(a);
    }
    return 0;
}

void agent_close(struct agent *a)
{
    if (!a)
        return;
    http_stop(a->http);
    prober_free(a->prober);
    notify_destroy(&a->notify, NOTIFY_FLUSH_MS);
    store_close(a->store);
    collect_destroy(&a->col);
    rules_destroy(&a->rules);
    rules_events_destroy(&a->ev);
    metric_set_destroy(&a->set);
    snap_unref(a->snap); /* its set comes back as the spare */
    metric_set_destroy(&a->spare);
    sysfile_kept_destroy(&a->statm);
    free(a->want);
    if (a->tfd >= 0)
        close(a->tfd);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
