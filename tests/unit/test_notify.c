/*
 * test_notify - alert notifications: the log line, the label text, the
 * Alertmanager webhook v4 message field by field, and delivery for real:
 * a Python http.server on 127.0.0.1 that refuses the first posts (retries,
 * their backoff, one reused connection), a refused port (every try, then
 * failed, enqueue never blocked), a full queue, the flush at shutdown, and
 * --on-alert commands that write their environment to a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/clock.h"
#include "core/err.h"
#include "monitor/metric.h"
#include "monitor/notify.h"
#include "monitor/rules.h"

extern char **environ;

#define T0 1795496400000LL /* 2026-11-24T05:00:00Z */

static const char *msg(const struct pk_err *e)
{
    static char buf[700];
    return pk_err_str(e, buf, sizeof(buf));
}

static double now_s(void)
{
    return (double)clock_mono_ns() / 1e9;
}

/* ---- events from real rule evaluations ---- */

struct src {
    struct rules r;
    struct rules_events ev;
    struct metric_set set;
};

static void src_init(struct src *s, const char *rule)
{
    struct pk_err e;
    rules_init(&s->r);
    rules_events_init(&s->ev);
    metric_set_init(&s->set);
    if (rules_add(&s->r, rule, "t", &e) != 0)
        fail_msg("%s", msg(&e));
}

static void src_destroy(struct src *s)
{
    rules_destroy(&s->r);
    rules_events_destroy(&s->ev);
    metric_set_destroy(&s->set);
}

static void put(struct metric_set *set, const char *name, double v, const struct metric_label *l, size_t n)
{
    uint32_t fam;
    struct pk_err e;
    assert_int_equal(metric_family_begin(set, name, "h", METRIC_GAUGE, &fam, &e), 0);
    assert_int_equal(metric_add(set, fam, l, n, v, &e), 0);
}

/* CpuHigh pending at T0, firing at T0+1m with 0.93 (events in s->ev). */
static void cpu_firing(struct src *s)
{
    src_init(s, "CpuHigh: perfkit_cpu_utilization_ratio{cpu=\"\"} > 0.8 for 1m clear 0.7 severity warning");
    put(&s->set, "perfkit_cpu_utilization_ratio", 0.85, NULL, 0);
    assert_int_equal(rules_eval(&s->r, &s->set, T0, &s->ev), 0);
    metric_set_clear(&s->set);
    put(&s->set, "perfkit_cpu_utilization_ratio", 0.93, NULL, 0);
    assert_int_equal(rules_eval(&s->r, &s->set, T0 + 60000, &s->ev), 0);
    assert_int_equal(s->ev.n, 1);
}

static void fs_put(struct metric_set *set, const char *dev, const char *mnt, double v)
{
    struct metric_label l[3] = { { "device", dev }, { "mountpoint", mnt }, { "fstype", "ext4" } };
    put(set, "perfkit_filesystem_used_ratio", v, l, 3);
}

/* FilesystemFull firing for / (0.91) and /home (0.87) at T0+5m. */
static void fs_firing(struct src *s)
{
    src_init(s, "FilesystemFull: perfkit_filesystem_used_ratio > 0.8 for 5m clear 0.78");
    fs_put(&s->set, "/dev/sda1", "/", 0.85);
    fs_put(&s->set, "/dev/sda2", "/home", 0.82);
    assert_int_equal(rules_eval(&s->r, &s->set, T0, &s->ev), 0);
    metric_set_clear(&s->set);
    fs_put(&s->set, "/dev/sda1", "/", 0.91);
    fs_put(&s->set, "/dev/sda2", "/home", 0.87);
    assert_int_equal(rules_eval(&s->r, &s->set, T0 + 300000, &s->ev), 0);
    assert_int_equal(s->ev.n, 2);
}

/* ---- text ---- */

static void log_lines(void **state)
{
    (void)state;
    struct src s;
    cpu_firing(&s);
    char line[NOTIFY_LINE_MAX];
    notify_log_line(&s.ev.v[0], line, sizeof(line));
    assert_string_equal(line, "alert CpuHigh firing: perfkit_cpu_utilization_ratio 0.93 > 0.8 for 1m "
                              "(since 2026-11-24T05:00:00Z) severity=warning");
    metric_set_clear(&s.set);
    put(&s.set, "perfkit_cpu_utilization_ratio", 0.65, NULL, 0);
    assert_int_equal(rules_eval(&s.r, &s.set, T0 + 372500, &s.ev), 0);
    notify_log_line(&s.ev.v[0], line, sizeof(line));
    assert_string_equal(line, "alert CpuHigh resolved: perfkit_cpu_utilization_ratio 0.65, active 6m12s "
                              "(since 2026-11-24T05:00:00Z) severity=warning");
    /* a series that vanished */
    metric_set_clear(&s.set);
    put(&s.set, "perfkit_cpu_utilization_ratio", 0.99, NULL, 0);
    assert_int_equal(rules_eval(&s.r, &s.set, T0 + 400000, &s.ev), 0);
    assert_int_equal(rules_eval(&s.r, &s.set, T0 + 460000, &s.ev), 0);
    assert_int_equal(rules_eval(&s.r, NULL, T0 + 470000, &s.ev), 0);
    notify_log_line(&s.ev.v[0], line, sizeof(line));
    assert_string_equal(
        line, "alert CpuHigh resolved: perfkit_cpu_utilization_ratio gone (last 0.99), active 1m10s "
              "(since 2026-11-24T05:06:40Z) severity=warning");
    char small[20];
    assert_true(notify_log_line(&s.ev.v[0], small, sizeof(small)) > sizeof(small));
    assert_string_equal(small, "alert CpuHigh resol");
    src_destroy(&s);
}

static void labels_text(void **state)
{
    (void)state;
    struct src s;
    src_init(&s, "A: m > 0 for 0s");
    struct metric_label l[3] = { { "zone", "a\"b\\c\nd" }, { "b", "y" }, { "a", "x" } };
    put(&s.set, "m", 1, l, 3);
    assert_int_equal(rules_eval(&s.r, &s.set, T0, &s.ev), 0);
    char buf[256];
    notify_labels_text(&s.ev.v[0], buf, sizeof(buf));
    assert_string_equal(buf, "a=\"x\",b=\"y\",zone=\"a\\\"b\\\\c\\nd\"");
    src_destroy(&s);
}

/* ---- the webhook message ---- */

static void keys_are(json_t *o, const char *const *keys)
{
    assert_true(json_is_object(o));
    size_t i = 0;
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it), i++) {
        if (!keys[i])
            fail_msg("unexpected key '%s'", json_object_iter_key(it));
        assert_string_equal(json_object_iter_key(it), keys[i]);
    }
    if (keys[i])
        fail_msg("missing key '%s'", keys[i]);
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("'%s' is not a string", key);
    return json_string_value(v);
}

static void object_is(json_t *o, const char *const *kv)
{
    size_t n = 0;
    for (; kv[2 * n]; n++)
        assert_string_equal(str(o, kv[2 * n]), kv[2 * n + 1]);
    assert_int_equal(json_object_size(o), n);
    const char *keys[32];
    for (size_t i = 0; i < n; i++)
        keys[i] = kv[2 * i];
    keys[n] = NULL;
    keys_are(o, keys); /* sorted by name, as Go writes a map */
}

static const struct metric_label instance = { "instance", "web1:9310" };
static const struct notify_config fs_cfg = {
    .receiver = "team-disk",
    .external_url = "http://web1:9310",
    .labels = &instance,
    .nlabels = 1,
};

static void payload_is_alertmanager_v4(void **state)
{
    (void)state;
    struct src s;
    fs_firing(&s);
    const struct rules_event *ev[2] = { &s.ev.v[0], &s.ev.v[1] };
    json_t *m = notify_payload(&fs_cfg, ev, 2);
    assert_non_null(m);
    static const char *const top[] = { "receiver",
                                       "status",
                                       "alerts",
                                       "groupLabels",
                                       "commonLabels",
                                       "commonAnnotations",
                                       "externalURL",
                                       "version",
                                       "groupKey",
                                       "truncatedAlerts",
                                       NULL };
    keys_are(m, top);
    assert_string_equal(str(m, "version"), "4");
    assert_string_equal(str(m, "receiver"), "team-disk");
    assert_string_equal(str(m, "status"), "firing");
    assert_string_equal(str(m, "externalURL"), "http://web1:9310");
    assert_string_equal(str(m, "groupKey"), "{}:{alertname=\"FilesystemFull\"}");
    assert_true(json_is_integer(json_object_get(m, "truncatedAlerts")));
    assert_int_equal(json_integer_value(json_object_get(m, "truncatedAlerts")), 0);
    static const char *const group[] = { "alertname", "FilesystemFull", NULL };
    object_is(json_object_get(m, "groupLabels"), group);
    static const char *const common[] = { "alertname", "FilesystemFull", "fstype",  "ext4", "instance",
                                          "web1:9310", "severity",       "warning", NULL };
    object_is(json_object_get(m, "commonLabels"), common);
    static const char *const common_notes[] = {
        "description",
        "FilesystemFull: perfkit_filesystem_used_ratio > 0.8 for 5m clear 0.78 severity warning",
        "threshold",
        "0.8",
        NULL,
    };
    object_is(json_object_get(m, "commonAnnotations"), common_notes);

    json_t *alerts = json_object_get(m, "alerts");
    assert_true(json_is_array(alerts));
    assert_int_equal(json_array_size(alerts), 2);
    static const char *const alert_keys[] = { "status", "labels",       "annotations", "startsAt",
                                              "endsAt", "generatorURL", "fingerprint", NULL };
    const char *dev[2] = { "/dev/sda1", "/dev/sda2" }, *mnt[2] = { "/", "/home" };
    const char *val[2] = { "0.91", "0.87" };
    /* prometheus/common's LabelSet.Fingerprint of these label sets (FNV-1a
     * over sorted name 0xff value 0xff; its own test vector {name="garland,
     * briggs", fear="love is not enough"} = 5799056148416392346) */
    const char *fp[2] = { "d549956e9b5e48e6", "2f039b602dedd524" };
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_array_get(alerts, i);
        keys_are(a, alert_keys);
        assert_string_equal(str(a, "status"), "firing");
        const char *labels[] = { "alertname", "FilesystemFull", "device",    dev[i],       "fstype",
                                 "ext4",      "instance",       "web1:9310", "mountpoint", mnt[i],
                                 "severity",  "warning",        NULL };
        object_is(json_object_get(a, "labels"), labels);
        char summary[200];
        snprintf(
            summary, sizeof(summary),
            "perfkit_filesystem_used_ratio{device=\"%s\",fstype=\"ext4\",mountpoint=\"%s\"} %s > 0.8 for 5m",
            dev[i], mnt[i], val[i]);
        const char *notes[] = { "description", common_notes[1], "summary", summary, "threshold",
                                "0.8",         "value",         val[i],    NULL };
        object_is(json_object_get(a, "annotations"), notes);
        assert_string_equal(str(a, "startsAt"), "2026-11-24T05:05:00Z");
        assert_string_equal(str(a, "endsAt"), "0001-01-01T00:00:00Z");
        assert_string_equal(str(a, "generatorURL"), "http://web1:9310");
        assert_string_equal(str(a, "fingerprint"), fp[i]);
    }
    json_decref(m);
    src_destroy(&s);
}

static void payload_resolved(void **state)
{
    (void)state;
    struct src s;
    cpu_firing(&s);
    metric_set_clear(&s.set);
    put(&s.set, "perfkit_cpu_utilization_ratio", 0.5, NULL, 0);
    assert_int_equal(rules_eval(&s.r, &s.set, T0 + 120250, &s.ev), 0);
    const struct rules_event *ev = &s.ev.v[0];
    struct notify_config c = { 0 };
    json_t *m = notify_payload(&c, &ev, 1);
    assert_string_equal(str(m, "status"), "resolved");
    assert_string_equal(str(m, "receiver"), "perfkit");
    assert_string_equal(str(m, "externalURL"), "");
    json_t *a = json_array_get(json_object_get(m, "alerts"), 0);
    assert_string_equal(str(a, "status"), "resolved");
    assert_string_equal(str(a, "startsAt"), "2026-11-24T05:01:00Z");
    assert_string_equal(str(a, "endsAt"), "2026-11-24T05:02:00.25Z");
    assert_string_equal(str(a, "generatorURL"), "");
    static const char *const labels[] = { "alertname", "CpuHigh", "severity", "warning", NULL };
    object_is(json_object_get(a, "labels"), labels);
    /* with one alert, everything is common */
    object_is(json_object_get(m, "commonLabels"), labels);
    assert_int_equal(json_object_size(json_object_get(m, "commonAnnotations")), 4);
    json_decref(m);
    src_destroy(&s);
}

static void payload_label_precedence(void **state)
{
    (void)state;
    struct src s;
    src_init(&s, "A: m > 0 for 0s severity critical");
    struct metric_label l[3] = { { "instance", "db1" }, { "severity", "low" }, { "alertname", "x" } };
    put(&s.set, "m", 1, l, 3);
    assert_int_equal(rules_eval(&s.r, &s.set, T0, &s.ev), 0);
    const struct rules_event *ev = &s.ev.v[0];
    json_t *m = notify_payload(&fs_cfg, &ev, 1);
    json_t *a = json_array_get(json_object_get(m, "alerts"), 0);
    /* the series' instance over the configured one; the rule's alertname and severity over the series' */
    static const char *const labels[] = { "alertname", "A", "instance", "db1", "severity", "critical", NULL };
    object_is(json_object_get(a, "labels"), labels);
    json_decref(m);
    src_destroy(&s);
}

static void payload_truncates(void **state)
{
    (void)state;
    struct src s;
    src_init(&s, "A: m > 0 for 0s");
    uint32_t fam;
    struct pk_err e;
    assert_int_equal(metric_family_begin(&s.set, "m", "h", METRIC_GAUGE, &fam, &e), 0);
    for (int i = 0; i < 300; i++) {
        char id[8];
        snprintf(id, sizeof(id), "%d", i);
        struct metric_label l = { "id", id };
        assert_int_equal(metric_add(&s.set, fam, &l, 1, 1, &e), 0);
    }
    assert_int_equal(rules_eval(&s.r, &s.set, T0, &s.ev), 0);
    const struct rules_event *ev[300];
    for (int i = 0; i < 300; i++)
        ev[i] = &s.ev.v[i];
    json_t *m = notify_payload(&fs_cfg, ev, 300);
    assert_int_equal(json_array_size(json_object_get(m, "alerts")), NOTIFY_PAYLOAD_ALERTS_MAX);
    assert_int_equal(json_integer_value(json_object_get(m, "truncatedAlerts")),
                     300 - NOTIFY_PAYLOAD_ALERTS_MAX);
    json_decref(m);
    assert_null(notify_payload(&fs_cfg, ev, 0));
    src_destroy(&s);
}

/* ---- a real receiver ---- */

static const char receiver_py[] =
    "import http.server, json, os, sys, threading, time\n"
    "out, fail_first, fail_code = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
    "count = 0\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def do_POST(self):\n"
    "        global count\n"
    "        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))\n"
    "        with lock:\n"
    "            count += 1\n"
    "            code = fail_code if count <= fail_first else 200\n"
    "        rec = {'t': time.monotonic(), 'code': code, 'port': self.client_address[1], 'path': self.path,\n"
    "               'ctype': self.headers.get('Content-Type'), 'ua': self.headers.get('User-Agent'),\n"
    "               'body': body.decode('utf-8')}\n"
    "        with lock, open(out, 'a') as f:\n"
    "            f.write(json.dumps(rec) + '\\n')\n"
    "        self.send_response(code)\n"
    "        self.send_header('Content-Length', '0')\n"
    "        self.end_headers()\n"
    "    def log_message(self, *args):\n"
    "        pass\n"
    "def orphaned(parent=os.getppid()):\n"
    "    while os.getppid() == parent:\n"
    "        time.sleep(0.2)\n"
    "    os._exit(0)\n"
    "threading.Thread(target=orphaned, daemon=True).start()\n"
    "lock = threading.Lock()\n"
    "srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "print(srv.server_address[1], flush=True)\n"
    "srv.serve_forever()\n";

struct receiver {
    char dir[64], log[128];
    pid_t pid;
    int port;
    char url[96];
};

/* Answers fail_code to the first fail_first posts, 200 after. */
static void receiver_start(struct receiver *rv, int fail_first, int fail_code)
{
    snprintf(rv->dir, sizeof(rv->dir), "/tmp/pk_notify_XXXXXX");
    assert_non_null(mkdtemp(rv->dir));
    char script[128], arg[16], code[16];
    snprintf(script, sizeof(script), "%s/receiver.py", rv->dir);
    snprintf(rv->log, sizeof(rv->log), "%s/posts.jsonl", rv->dir);
    snprintf(arg, sizeof(arg), "%d", fail_first);
    snprintf(code, sizeof(code), "%d", fail_code);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs(receiver_py, f);
    fclose(f);
    int p[2];
    assert_int_equal(pipe(p), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    char *argv[] = { "/usr/bin/python3", script, rv->log, arg, code, NULL };
    assert_int_equal(posix_spawn(&rv->pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    char buf[32] = { 0 };
    size_t got = 0;
    while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
        ssize_t r = read(p[0], buf + got, sizeof(buf) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(p[0]);
    rv->port = (int)strtol(buf, NULL, 10);
    if (rv->port <= 0)
        fail_msg("the receiver did not start ('%s')", buf);
    snprintf(rv->url, sizeof(rv->url), "http://127.0.0.1:%d/hook?x=1", rv->port);
}

static void receiver_stop(struct receiver *rv)
{
    kill(rv->pid, SIGTERM);
    waitpid(rv->pid, NULL, 0);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rv->dir);
    assert_int_equal(system(cmd), 0);
}

/* The posts the receiver recorded, as a JSON array. */
static json_t *posts(const struct receiver *rv)
{
    json_t *arr = json_array();
    FILE *f = fopen(rv->log, "r");
    if (!f)
        return arr;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o)
            fail_msg("bad record: %s", je.text);
        json_array_append_new(arr, o);
    }
    free(line);
    fclose(f);
    return arr;
}

static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd); /* nobody listens there now: connections are refused */
    return ntohs(a.sin_port);
}

typedef bool (*stats_pred)(const struct notify_stats *s);

static bool wait_for(struct notify *n, stats_pred pred, double timeout_s, struct notify_stats *s)
{
    double end = now_s() + timeout_s;
    do {
        notify_stats(n, s);
        if (pred(s))
            return true;
        usleep(5000);
    } while (now_s() < end);
    return false;
}

static bool one_sent(const struct notify_stats *s)
{
    return s->webhook_sent >= 1;
}
static bool one_failed(const struct notify_stats *s)
{
    return s->webhook_failed >= 1;
}

static int unset_proxies(void **state)
{
    (void)state;
    /* the receivers are local: no proxy from the environment in between */
    const char *vars[] = {
        "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    return 0;
}

static void webhook_retries_with_backoff(void **state)
{
    (void)state;
    struct receiver rv;
    receiver_start(&rv, 2, 500);
    const char *urls[] = { rv.url };
    struct notify_config c = { .webhooks = urls,
                               .nwebhooks = 1,
                               .timeout_ms = 5000,
                               .receiver = "r",
                               .labels = &instance,
                               .nlabels = 1 };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    struct src s;
    cpu_firing(&s);
    double t = now_s();
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    assert_true(now_s() - t < 0.05);
    struct notify_stats st;
    assert_true(wait_for(&n, one_sent, 10, &st));
    assert_int_equal(st.webhook_attempts, 3);
    assert_int_equal(st.webhook_failed, 0);
    assert_int_equal(st.webhook_dropped, 0);
    assert_int_equal(st.webhook_queued, 0);
    assert_non_null(strstr(st.last_error, "HTTP status 500"));

    json_t *p = posts(&rv);
    assert_int_equal(json_array_size(p), 3);
    const struct rules_event *ev = &s.ev.v[0];
    json_t *want = notify_payload(&c, &ev, 1);
    char *want_text = json_dumps(want, JSON_COMPACT);
    double times[3];
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(p, i);
        assert_int_equal(json_integer_value(json_object_get(r, "code")), i < 2 ? 500 : 200);
        assert_string_equal(str(r, "path"), "/hook?x=1");
        assert_string_equal(str(r, "ctype"), "application/json");
        assert_non_null(strstr(str(r, "ua"), "perfkit/"));
        assert_string_equal(str(r, "body"), want_text); /* the same message each time */
        /* one connection for all tries */
        assert_int_equal(json_integer_value(json_object_get(r, "port")),
                         json_integer_value(json_object_get(json_array_get(p, 0), "port")));
        times[i] = json_real_value(json_object_get(r, "t"));
    }
    /* waits of 0.1 s then 0.2 s (loose above: sanitizers and busy machines) */
    double w1 = times[1] - times[0], w2 = times[2] - times[1];
    if (w1 < 0.095 || w1 > 0.6 || w2 < 0.195 || w2 > 0.8)
        fail_msg("waits between tries %.3f s and %.3f s, want about 0.1 and 0.2", w1, w2);
    json_t *body = json_loads(str(json_array_get(p, 2), "body"), 0, NULL);
    assert_string_equal(str(body, "version"), "4");
    assert_string_equal(str(body, "status"), "firing");
    json_decref(body);
    free(want_text);
    json_decref(want);
    json_decref(p);
    notify_destroy(&n, 1000);
    src_destroy(&s);
    receiver_stop(&rv);
}

static void webhook_dead_receiver(void **state)
{
    (void)state;
    char url[80], shown[80];
    int port = dead_port();
    snprintf(url, sizeof(url), "http://alert:s3cret@127.0.0.1:%d/", port);
    snprintf(shown, sizeof(shown), "http://alert:***@127.0.0.1:%d/", port);
    const char *urls[] = { url };
    struct notify_config c = { .webhooks = urls, .nwebhooks = 1, .timeout_ms = 2000 };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    struct src s;
    cpu_firing(&s);
    double t0 = now_s();
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    assert_true(now_s() - t0 < 0.05);
    /* while it retries, enqueueing stays immediate */
    usleep(50000);
    struct notify_stats st;
    notify_stats(&n, &st);
    assert_int_equal(st.webhook_failed, 0);
    assert_true(wait_for(&n, one_failed, 10, &st));
    double took = now_s() - t0;
    assert_int_equal(st.webhook_attempts, 5);
    assert_int_equal(st.webhook_sent, 0);
    assert_int_equal(st.webhook_failed, 1);
    assert_int_equal(st.webhook_dropped, 0);
    assert_non_null(strstr(st.last_error, shown)); /* the password stays out of messages */
    assert_null(strstr(st.last_error, "s3cret"));
    /* 0.1 + 0.2 + 0.4 + 0.8 s of waits */
    if (took < 1.45 || took > 4)
        fail_msg("5 tries took %.3f s, want about 1.5 s", took);
    notify_destroy(&n, 0);
    src_destroy(&s);
}

/* Lines notify_report wrote, for the test to read. */
static char report_lines[8][1024];
static size_t nreport;

static void collect_line(void *arg, const char *line)
{
    (void)arg;
    assert_true(nreport < 8);
    snprintf(report_lines[nreport++], sizeof(report_lines[0]), "%s", line);
}

static size_t report_at(struct notify *n, int64_t now_ms)
{
    nreport = 0;
    notify_report(n, now_ms, collect_line, NULL);
    return nreport;
}

/* The line of report_lines naming url, or NULL. */
static const char *line_of(const char *url)
{
    char pre[128];
    snprintf(pre, sizeof(pre), "webhook %s: ", url);
    for (size_t i = 0; i < nreport; i++)
        if (!strncmp(report_lines[i], pre, strlen(pre)))
            return report_lines[i] + strlen(pre);
    return NULL;
}

static double failures_of(struct notify *n, const char *receiver)
{
    struct metric_set set;
    metric_set_init(&set);
    struct pk_err e;
    assert_int_equal(notify_export(n, &set, &e), 0);
    const struct metric_family *f = metric_find_family(&set, "perfkit_alert_webhook_failures_total");
    assert_non_null(f);
    assert_int_equal(f->type, METRIC_COUNTER);
    double v = -1;
    for (size_t i = 0; i < f->n; i++) {
        const struct metric_series *m = &set.series[f->idx[i]];
        assert_int_equal(m->nlabels, 1);
        assert_string_equal(m->labels[0].name, "receiver");
        if (!strcmp(m->labels[0].value, receiver))
            v = m->value;
    }
    metric_set_destroy(&set);
    return v;
}

static bool two_failed(const struct notify_stats *s)
{
    return s->webhook_failed >= 2;
}
static bool three_failed_one_sent(const struct notify_stats *s)
{
    return s->webhook_failed >= 3 && s->webhook_sent >= 1;
}

/* A receiver that is down and one that refuses once: logged at once, then
 * at most once a minute each, a recovery once; counted per receiver. */
static void webhook_failures_reported(void **state)
{
    (void)state;
    char dead[80], dead_shown[80];
    int port = dead_port();
    snprintf(dead, sizeof(dead), "http://alert:s3cret@127.0.0.1:%d/", port);
    snprintf(dead_shown, sizeof(dead_shown), "http://alert:***@127.0.0.1:%d/", port);
    struct receiver rv;
    receiver_start(&rv, 1, 400); /* refuses the first message, takes the next */
    const char *urls[] = { dead, rv.url };
    struct notify_config c = { .webhooks = urls, .nwebhooks = 2, .timeout_ms = 2000, .backoff_ms = 10 };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    assert_int_equal(failures_of(&n, dead_shown), 0); /* present from the start */
    assert_int_equal(failures_of(&n, rv.url), 0);
    assert_int_equal(report_at(&n, 1000), 0);
    struct src s;
    cpu_firing(&s);
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    struct notify_stats st;
    assert_true(wait_for(&n, two_failed, 10, &st));

    /* the first failure of each, at once, with why; the password hidden */
    assert_int_equal(report_at(&n, 1000), 2);
    const char *l = line_of(dead_shown);
    assert_non_null(l);
    if (strncmp(l, "1 message not delivered: ", 25) != 0 || !strstr(l, "127.0.0.1") ||
        !strstr(l, "(while it fails, logged at most once a minute; counted in "
                   "perfkit_alert_webhook_failures_total)"))
        fail_msg("%s", l);
    l = line_of(rv.url);
    assert_non_null(l);
    assert_non_null(strstr(l, "1 message not delivered: HTTP status 400 ("));
    for (size_t i = 0; i < nreport; i++)
        assert_null(strstr(report_lines[i], "s3cret"));
    assert_int_equal(failures_of(&n, dead_shown), 1);
    assert_int_equal(failures_of(&n, rv.url), 1);
    const char *failing[4];
    assert_int_equal(notify_failing_webhooks(&n, failing, 4), 2);
    assert_int_equal(report_at(&n, 2000), 0); /* nothing new */

    /* the next message: the dead one fails again, the other takes it */
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    assert_true(wait_for(&n, three_failed_one_sent, 10, &st));
    assert_int_equal(report_at(&n, 3000), 1); /* the recovery; the failure waits its minute */
    l = line_of(rv.url);
    assert_non_null(l);
    assert_string_equal(l, "delivering again (1 message not delivered in all)");
    assert_int_equal(notify_failing_webhooks(&n, failing, 4), 1);
    assert_string_equal(failing[0], dead_shown);
    assert_int_equal(failures_of(&n, dead_shown), 2);
    assert_int_equal(report_at(&n, 1000 + NOTIFY_REPORT_PERIOD_MS - 1), 0);
    assert_int_equal(report_at(&n, 1000 + NOTIFY_REPORT_PERIOD_MS), 1);
    l = line_of(dead_shown);
    assert_non_null(l);
    assert_non_null(strstr(l, "1 more message not delivered in 60s: "));
    assert_int_equal(report_at(&n, 1000 + 2 * NOTIFY_REPORT_PERIOD_MS), 0);
    notify_destroy(&n, 0);
    src_destroy(&s);
    receiver_stop(&rv);
}

static void webhook_enqueue_never_blocks(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", dead_port());
    const char *urls[] = { url };
    struct notify_config c = { .webhooks = urls, .nwebhooks = 1, .queue_max = 2 };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    struct src s;
    cpu_firing(&s);
    double t0 = now_s();
    for (int i = 0; i < 1000; i++)
        assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    double took = now_s() - t0;
    if (took > 0.5)
        fail_msg("1000 enqueues took %.3f s", took);
    struct notify_stats st;
    notify_stats(&n, &st);
    /* the queue holds 2, one may be on its way: the oldest others were dropped */
    assert_true(st.webhook_dropped == 997 || st.webhook_dropped == 998);
    assert_true(st.webhook_queued == 2 || st.webhook_queued == 3);
    t0 = now_s();
    notify_destroy(&n, 200);
    took = now_s() - t0;
    if (took > 1.0)
        fail_msg("destroy with a 0.2 s deadline took %.3f s", took);
    src_destroy(&s);
}

static void webhook_flushes_at_destroy(void **state)
{
    (void)state;
    struct receiver rv;
    receiver_start(&rv, 0, 200);
    const char *urls[] = { rv.url, rv.url };
    struct notify_config c = { .webhooks = urls, .nwebhooks = 2 };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    struct src s, s2;
    fs_firing(&s); /* two events, one alert name: one message per URL */
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    cpu_firing(&s2);
    assert_int_equal(notify_enqueue(&n, &s2.ev), 0);
    notify_destroy(&n, 5000);
    json_t *p = posts(&rv);
    assert_int_equal(json_array_size(p), 4);
    size_t fs = 0;
    for (size_t i = 0; i < 4; i++) {
        json_t *body = json_loads(str(json_array_get(p, i), "body"), 0, NULL);
        if (!strcmp(str(json_object_get(body, "groupLabels"), "alertname"), "FilesystemFull")) {
            fs++;
            assert_int_equal(json_array_size(json_object_get(body, "alerts")), 2);
        }
        json_decref(body);
    }
    assert_int_equal(fs, 2);
    json_decref(p);
    src_destroy(&s);
    src_destroy(&s2);
    receiver_stop(&rv);
}

static void webhook_final_status_not_retried(void **state)
{
    (void)state;
    /* 400: the receiver will not take this message, however often it comes */
    struct receiver rv;
    receiver_start(&rv, 1, 400);
    const char *urls[] = { rv.url };
    struct notify_config c = { .webhooks = urls, .nwebhooks = 1 };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    struct src s;
    cpu_firing(&s);
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    struct notify_stats st;
    assert_true(wait_for(&n, one_failed, 10, &st));
    assert_int_equal(st.webhook_attempts, 1);
    assert_non_null(strstr(st.last_error, "HTTP status 400"));
    assert_int_equal(notify_enqueue(&n, &s.ev), 0); /* the next message goes through */
    assert_true(wait_for(&n, one_sent, 10, &st));
    assert_int_equal(st.webhook_attempts, 2);
    json_t *p = posts(&rv);
    assert_int_equal(json_array_size(p), 2);
    json_decref(p);
    notify_destroy(&n, 1000);
    src_destroy(&s);
    receiver_stop(&rv);
}

static void refuses_bad_settings(void **state)
{
    (void)state;
    struct notify n;
    struct pk_err e;
    const char *bad[] = { "ftp://x/", "http://", "http:///x", "127.0.0.1:9", "http://a b/" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *urls[] = { bad[i] };
        struct notify_config c = { .webhooks = urls, .nwebhooks = 1 };
        assert_int_equal(notify_init(&n, &c, &e), PK_EUSAGE);
    }
    const char *urls[] = { "gopher://h/" };
    struct notify_config c = { .webhooks = urls, .nwebhooks = 1 };
    assert_int_equal(notify_init(&n, &c, &e), PK_EUSAGE);
    assert_string_equal(msg(&e),
                        "--webhook: invalid webhook URL: expected http://HOST[:PORT]/PATH or https://..., "
                        "got 'gopher://h/'");
    struct notify_config c2 = { .tries = 100 };
    assert_int_equal(notify_init(&n, &c2, &e), PK_EUSAGE);
    /* nothing configured: enqueue is a no-op */
    struct notify_config none = { 0 };
    assert_int_equal(notify_init(&n, &none, &e), 0);
    struct src s;
    cpu_firing(&s);
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    struct notify_stats st;
    notify_stats(&n, &st);
    assert_int_equal(st.webhook_dropped + st.command_dropped + st.command_started, 0);
    notify_destroy(&n, 0);
    notify_destroy(&n, 0); /* twice is harmless */
    src_destroy(&s);
}

/* notify_check: notify_init's verdict on the settings, nothing started. */
static void check_matches_init(void **state)
{
    (void)state;
    const char *good[] = { "http://127.0.0.1:9/hook" }, *bad[] = { "gopher://h/" };
    char long_cmd[NOTIFY_COMMAND_MAX + 2];
    memset(long_cmd, 'x', sizeof(long_cmd) - 1);
    long_cmd[sizeof(long_cmd) - 1] = '\0';
    struct notify_config cases[] = {
        { 0 },
        { .webhooks = good, .nwebhooks = 1 },
        { .webhooks = bad, .nwebhooks = 1 },
        { .on_alert = long_cmd },
        { .tries = 100 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pk_err ec, ei;
        pk_err_clear(&ec);
        pk_err_clear(&ei);
        struct notify n;
        int rc = notify_check(&cases[i], &ec);
        assert_int_equal(notify_init(&n, &cases[i], &ei), rc);
        notify_destroy(&n, 0);
        if (rc) {
            char a[800];
            snprintf(a, sizeof(a), "%s", msg(&ec));
            assert_string_equal(a, msg(&ei));
        }
        assert_int_equal(rc, i == 0 || i == 1 ? 0 : PK_EUSAGE);
    }
}

/* ---- --on-alert ---- */

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 8192);
    size_t n = fread(buf, 1, 8191, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool cmd_done(const struct notify_stats *s)
{
    return s->command_started >= 1 && s->command_running == 0;
}

static void on_alert_environment(void **state)
{
    (void)state;
    char dir[] = "/tmp/pk_onalert_XXXXXX", out[96], cmd[512];
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof(out), "%s/env", dir);
    snprintf(cmd, sizeof(cmd),
             "env | grep '^PERFKIT_ALERT_' | LC_ALL=C sort > '%s.tmp' && test ! -t 0 && mv '%s.tmp' '%s'",
             out, out, out);
    setenv("PERFKIT_ALERT_NAME", "stale", 1); /* the agent's own environment must not leak in */
    struct notify_config c = { .on_alert = cmd };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    struct src s;
    src_init(&s, "FilesystemFull: perfkit_filesystem_used_ratio > 0.8 for 0s clear 0.78");
    fs_put(&s.set, "/dev/sda1", "/", 0.93);
    assert_int_equal(rules_eval(&s.r, &s.set, T0, &s.ev), 0);
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    struct notify_stats st;
    assert_true(wait_for(&n, cmd_done, 10, &st));
    unsetenv("PERFKIT_ALERT_NAME");
    assert_int_equal(st.command_started, 1);
    assert_int_equal(st.command_failed, 0);
    assert_true(file_exists(out));
    char *text = slurp(out);
    assert_string_equal(
        text, "PERFKIT_ALERT_LABELS=device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"\n"
              "PERFKIT_ALERT_NAME=FilesystemFull\n"
              "PERFKIT_ALERT_SERIES=perfkit_filesystem_used_ratio{device=\"/dev/sda1\",fstype=\"ext4\","
              "mountpoint=\"/\"}\n"
              "PERFKIT_ALERT_SEVERITY=warning\n"
              "PERFKIT_ALERT_SINCE=2026-11-24T05:00:00Z\n"
              "PERFKIT_ALERT_STATE=firing\n"
              "PERFKIT_ALERT_SUMMARY=perfkit_filesystem_used_ratio{device=\"/dev/sda1\",fstype=\"ext4\","
              "mountpoint=\"/\"} 0.93 > 0.8\n"
              "PERFKIT_ALERT_THRESHOLD=0.8\n"
              "PERFKIT_ALERT_VALUE=0.93\n");
    free(text);
    unlink(out);

    /* resolved */
    metric_set_clear(&s.set);
    fs_put(&s.set, "/dev/sda1", "/", 0.5);
    assert_int_equal(rules_eval(&s.r, &s.set, T0 + 1000, &s.ev), 0);
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    double end = now_s() + 10;
    while (!file_exists(out) && now_s() < end)
        usleep(5000);
    text = slurp(out);
    assert_non_null(text);
    assert_non_null(strstr(text, "PERFKIT_ALERT_STATE=resolved\n"));
    assert_non_null(strstr(text, "PERFKIT_ALERT_VALUE=0.5\n"));
    free(text);
    notify_destroy(&n, 2000);
    src_destroy(&s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static bool started_one(const struct notify_stats *s)
{
    return s->command_started >= 1;
}

static void on_alert_is_bounded(void **state)
{
    (void)state;
    struct notify_config c = { .on_alert = "sleep 5", .on_alert_max = 1 };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    struct src s;
    fs_firing(&s);
    double t0 = now_s();
    assert_int_equal(notify_enqueue(&n, &s.ev), 0); /* two events: one runs, one dropped */
    assert_int_equal(notify_enqueue(&n, &s.ev), 0); /* two more dropped */
    assert_true(now_s() - t0 < 0.05);
    struct notify_stats st;
    assert_true(wait_for(&n, started_one, 5, &st));
    assert_int_equal(st.command_started, 1);
    assert_int_equal(st.command_dropped, 3);
    assert_int_equal(st.command_running, 1);
    t0 = now_s();
    notify_destroy(&n, 100); /* kills the sleep at the deadline */
    double took = now_s() - t0;
    if (took > 1.5)
        fail_msg("destroy took %.3f s", took);
    src_destroy(&s);
}

static bool one_cmd_failed(const struct notify_stats *s)
{
    return s->command_failed >= 1;
}

static void on_alert_failures_are_counted(void **state)
{
    (void)state;
    struct notify_config c = { .on_alert = "exit 3" };
    struct notify n;
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), 0);
    struct src s;
    cpu_firing(&s);
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    struct notify_stats st;
    assert_true(wait_for(&n, one_cmd_failed, 10, &st));
    assert_string_equal(st.last_error, "--on-alert: exit status 3");
    notify_destroy(&n, 1000);

    struct notify_config slow = { .on_alert = "sleep 10", .on_alert_timeout_ms = 200 };
    assert_int_equal(notify_init(&n, &slow, &e), 0);
    double t0 = now_s();
    assert_int_equal(notify_enqueue(&n, &s.ev), 0);
    assert_true(wait_for(&n, one_cmd_failed, 10, &st));
    double took = now_s() - t0;
    if (took < 0.19 || took > 2)
        fail_msg("killed after %.3f s, want about 0.2 s", took);
    assert_string_equal(st.last_error, "--on-alert: killed after 200 ms");
    notify_destroy(&n, 1000);
    src_destroy(&s);
}

static void exports_counters(void **state)
{
    (void)state;
    struct notify n;
    struct pk_err e;
    struct notify_config none = { 0 };
    assert_int_equal(notify_init(&n, &none, &e), 0);
    struct metric_set set;
    metric_set_init(&set);
    assert_int_equal(notify_export(&n, &set, &e), 0);
    const struct metric_family *f = metric_find_family(&set, "perfkit_alert_webhook_messages_total");
    assert_non_null(f);
    assert_int_equal(f->type, METRIC_COUNTER);
    assert_int_equal(f->n, 3);
    assert_non_null(metric_find_family(&set, "perfkit_alert_webhook_attempts_total"));
    f = metric_find_family(&set, "perfkit_alert_commands_total");
    assert_non_null(f);
    assert_int_equal(f->n, 3);
    metric_set_destroy(&set);
    notify_destroy(&n, 0);
}

/* notify_destroy on a zeroed struct (never initialised), twice; a failed
 * notify_init leaves a struct notify_destroy takes too. */
static void destroy_zeroed(void **state)
{
    (void)state;
    struct notify n;
    memset(&n, 0, sizeof(n));
    notify_destroy(&n, 0);
    notify_destroy(&n, 1000);
    struct notify_stats st;
    notify_stats(&n, &st);
    assert_int_equal(st.webhook_sent, 0);
    const char *bad[] = { "ftp://example.com/" };
    struct notify_config c = { .webhooks = bad, .nwebhooks = 1 };
    struct pk_err e;
    assert_int_equal(notify_init(&n, &c, &e), PK_EUSAGE);
    notify_destroy(&n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_lines),
        cmocka_unit_test(labels_text),
        cmocka_unit_test(payload_is_alertmanager_v4),
        cmocka_unit_test(payload_resolved),
        cmocka_unit_test(payload_label_precedence),
        cmocka_unit_test(payload_truncates),
        cmocka_unit_test(refuses_bad_settings),
        cmocka_unit_test(check_matches_init),
        cmocka_unit_test(webhook_retries_with_backoff),
        cmocka_unit_test(webhook_dead_receiver),
        cmocka_unit_test(webhook_failures_reported),
        cmocka_unit_test(webhook_enqueue_never_blocks),
        cmocka_unit_test(webhook_flushes_at_destroy),
        cmocka_unit_test(webhook_final_status_not_retried),
        cmocka_unit_test(on_alert_environment),
        cmocka_unit_test(on_alert_is_bounded),
        cmocka_unit_test(on_alert_failures_are_counted),
        cmocka_unit_test(exports_counters),
        cmocka_unit_test(destroy_zeroed),
    };
    return cmocka_run_group_tests(tests, unset_proxies, NULL);
}
