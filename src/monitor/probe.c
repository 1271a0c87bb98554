#define _GNU_SOURCE
#include "monitor/probe.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/url.h"
#include "monitor/curlapi.h"

struct window {
    struct probe_result r[PROBE_WINDOW];
    size_t n, next; /* filled entries, next slot */
    uint64_t attempts;
};

struct prober {
    struct config_probe *probes;
    size_t n;
    int64_t interval_ms;
    struct window *win;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid;
    bool running, stop;
};

static void fail(struct probe_result *out, double t0, const char *why)
{
    out->ok = false;
    out->seconds = clock_mono_s() - t0;
    snprintf(out->error, sizeof(out->error), "%s", why);
}

/* A TCP connect to host:port within timeout_ms: the address is resolved at
 * each attempt, so a DNS change is followed. */
static void probe_tcp(const char *hostport, int64_t timeout_ms, struct probe_result *out)
{
    double t0 = clock_mono_s();
    char as_url[URL_MAX + 16];
    struct url u;
    snprintf(as_url, sizeof(as_url), "http://%s", hostport);
    if (url_parse(as_url, "probe", &u, NULL) != 0) {
        fail(out, t0, "invalid target");
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%u", u.port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(u.host, port, &hints, &res);
    if (rc != 0 || !res) {
        fail(out, t0, rc == EAI_SYSTEM ? strerrorname_np(errno) : "cannot resolve");
        return;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(out, t0, strerrorname_np(errno));
        freeaddrinfo(res);
        return;
    }
    t0 = clock_mono_s(); /* the connect, not the resolution, is the probe's time */
    rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
        struct pollfd pfd = { fd, POLLOUT, 0 };
        int left = (int)timeout_ms;
        for (;;) {
            int n = poll(&pfd, 1, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0) {
                err = ETIMEDOUT;
                break;
            }
            socklen_t len = sizeof(err);
            if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
            break;
        }
    }
    if (err) {
        fail(out, t0, err == ETIMEDOUT ? "timeout" : strerrorname_np(err));
    } else {
        out->ok = true;
        out->seconds = clock_mono_s() - t0;
        out->error[0] = '\0';
    }
    close(fd);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static void probe_http(const char *url, int64_t timeout_ms, struct probe_result *out)
{
    double t0 = clock_mono_s();
    const struct curlapi *cu;
    if (curlapi_get(&cu, NULL) != 0) {
        fail(out, t0, "libcurl could not be loaded");
        return;
    }
    CURL *h = cu->easy_init();
    if (!h) {
        fail(out, t0, "ENOMEM");
        return;
    }
    cu->easy_setopt(h, CURLOPT_URL, url);
    cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    cu->easy_setopt(h, CURLOPT_USERAGENT, "perfkit-monitor/" PK_VERSION_STRING);
    cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    cu->easy_setopt(h, CURLOPT_NOPROXY, "*");
    CURLcode rc = cu->easy_perform(h);
    double total = 0;
    cu->easy_getinfo(h, CURLINFO_TOTAL_TIME, &total);
    if (rc != CURLE_OK) {
        fail(out, t0, rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : cu->easy_strerror(rc));
    } else {
        long status = 0;
        cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        out->seconds = total;
        out->ok = status >= 200 && status < 400;
        if (out->ok)
            out->error[0] = '\0';
        else
            snprintf(out->error, sizeof(out->error), "HTTP %ld", status);
    }
    cu->easy_cleanup(h);
}

void probe_once(const struct config_probe *probe, int64_t timeout_ms, struct probe_result *out)
{
    memset(out, 0, sizeof(*out));
    if (probe->kind == CONFIG_PROBE_TCP)
        probe_tcp(probe->target + strlen("tcp://"), timeout_ms, out);
    else
        probe_http(probe->target, timeout_ms, out);
}

void probe_window_stats(const struct probe_result *r, size_t n, double *loss, double *jitter)
{
    size_t failed = 0, pairs = 0;
    double sum = 0, prev = NAN;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].ok) {
            failed++;
            continue;
        }
        if (!isnan(prev)) {
            sum += fabs(r[i].seconds - prev);
            pairs++;
        }
        prev = r[i].seconds;
    }
    *loss = n ? (double)failed / (double)n : NAN;
    *jitter = pairs ? sum / (double)pairs : NAN;
}

/* ------------------------------------------------------------------ thread */

static void *prober_main(void *arg)
{
    struct prober *p = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < p->n; i++) {
            struct probe_result r;
            probe_once(&p->probes[i], p->interval_ms, &r);
            pthread_mutex_lock(&p->mu);
            struct window *w = &p->win[i];
            PK_ASSERT(w->next < PROBE_WINDOW && w->n <= PROBE_WINDOW);
            w->r[w->next] = r;
            w->next = (w->next + 1) % PROBE_WINDOW;
            if (w->n < PROBE_WINDOW)
                w->n++;
            w->attempts++;
            bool stop = p->stop;
            pthread_mutex_unlock(&p->mu);
            if (stop)
                break;
        }
        next.tv_nsec += (long)(p->interval_ms % 1000) * 1000000L;
        next.tv_sec += (time_t)(p->interval_ms / 1000) + next.tv_nsec / 1000000000L;
        next.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&p->mu);
        /* the condition variable runs on CLOCK_MONOTONIC (prober_new) */
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &next) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int prober_check(const struct config_probe *probes, size_t n, struct pk_err *e)
{
    for (size_t i = 0; i < n; i++) {
        const struct curlapi *cu;
        int rc;
        if (probes[i].kind != CONFIG_PROBE_TCP && (rc = curlapi_get(&cu, e)) != 0) {
            err_prefix_on(e, "--probe: ");
            return rc;
        }
    }
    return 0;
}

int prober_new(const struct config_probe *probes, size_t n, int64_t interval_ms, struct prober **out,
               struct pk_err *e)
{
    int rc = prober_check(probes, n, e);
    if (rc)
        return rc;
    struct prober *p = calloc(1, sizeof(*p));
    if (!p)
        return err_errno(e, -ENOMEM, "probes", "cannot set up the probes");
    p->n = n;
    p->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    p->probes = calloc(n ? n : 1, sizeof(*p->probes));
    p->win = calloc(n ? n : 1, sizeof(*p->win));
    if (!p->probes || !p->win)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        p->probes[i] = probes[i];
        if (!(p->probes[i].target = strdup(probes[i].target)))
            goto nomem;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = p;
    return 0;
nomem:
    if (p->probes)
        for (size_t i = 0; i < n; i++)
            free(p->probes[i].target);
    free(p->probes);
    free(p->win);
    free(p);
    return err_errno(e, -ENOMEM, "probes", "cannot set up the probes");
}

int prober_start(struct prober *p, struct pk_err *e)
{
    if (p->n == 0 || p->running)
        return 0;
    int rc = pthread_create(&p->tid, NULL, prober_main, p);
    if (rc)
        return err_errno(e, -rc, "probes", "cannot start the probe thread");
    p->running = true;
    return 0;
}

void prober_stop(struct prober *p)
{
    if (!p || !p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->tid, NULL);
    p->running = false;
}

void prober_free(struct prober *p)
{
    if (!p)
        return;
    prober_stop(p);
    for (size_t i = 0; i < p->n; i++)
        free(p->probes[i].target);
    free(p->probes);
    free(p->win);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

size_t prober_count(const struct prober *p)
{
    return p ? p->n : 0;
}

bool prober_stats(struct prober *p, size_t i, struct probe_stats *out)
{
    if (!p || i >= p->n)
        return false;
    memset(out, 0, sizeof(*out));
    out->target = p->probes[i].target;
    out->limit_ms = p->probes[i].limit_ms;
    pthread_mutex_lock(&p->mu);
    const struct window *w = &p->win[i];
    PK_ASSERT(w->next < PROBE_WINDOW && w->n <= PROBE_WINDOW);
    out->attempts = w->attempts;
    out->have = w->n > 0;
    if (w->n) {
        struct probe_result ordered[PROBE_WINDOW];
        size_t first = (w->next + PROBE_WINDOW - w->n) % PROBE_WINDOW;
        for (size_t k = 0; k < w->n; k++)
            ordered[k] = w->r[(first + k) % PROBE_WINDOW];
        out->last = ordered[w->n - 1];
        probe_window_stats(ordered, w->n, &out->loss_ratio, &out->jitter_seconds);
    }
    pthread_mutex_unlock(&p->mu);
    out->over_limit = out->have && out->limit_ms > 0 &&
                      (!out->last.ok || out->last.seconds * 1000.0 > (double)out->limit_ms);
    return true;
}

int probe_export(struct prober *p, struct metric_set *set, struct pk_err *e)
{
    size_t n = prober_count(p);
    if (n == 0)
        return 0;
    static const struct {
        const char *name, *help;
        enum metric_type type;
    } fam[] = {
        { "perfkit_probe_success", "Whether the last attempt of the probe succeeded (1) or not (0).",
          METRIC_GAUGE },
        { "perfkit_probe_duration_seconds",
          "Duration of the probe's last attempt: TCP connect, or HTTP request to the end of the response.",
          METRIC_GAUGE },
        { "perfkit_probe_loss_ratio", "Failed attempts over the attempts in the probe's window.",
          METRIC_GAUGE },
        { "perfkit_probe_jitter_seconds",
          "Mean absolute difference of consecutive successful durations in the probe's window.",
          METRIC_GAUGE },
        { "perfkit_probe_over_limit",
          "1 when the last attempt failed or was slower than the probe's limit, else 0 (always 0 without a "
          "limit).",
          METRIC_GAUGE },
        { "perfkit_probe_attempts_total", "Attempts of the probe since the agent started.", METRIC_COUNTER },
    };
    uint32_t ids[6];
    for (size_t f = 0; f < 6; f++) {
        int rc = metric_family_begin(set, fam[f].name, fam[f].help, fam[f].type, &ids[f], e);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        struct probe_stats st;
        if (!prober_stats(p, i, &st) || !st.have)
            continue;
        struct metric_label l = { "target", st.target };
        double v[6] = { st.last.ok ? 1 : 0, st.last.seconds,       st.loss_ratio,
                        st.jitter_seconds,  st.over_limit ? 1 : 0, (double)st.attempts };
        for (size_t f = 0; f < 6; f++) {
            if (isnan(v[f]))
                continue;
            int rc = metric_add(set, ids[f], &l, 1, v[f], e);
            if (rc)
                return rc;
        }
    }
    return 0;
}
