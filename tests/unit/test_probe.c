/*
 * test_probe - network probes: TCP connects to a listening and to a closed
 * loopback port, HTTP GETs through libcurl to a small server on loopback
 * answering 200 then 503, a timeout against a server that never answers,
 * and the window's loss and jitter computed by hand.
 */
#define _GNU_SOURCE
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "monitor/probe.h"

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static int listen_lo(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

struct server {
    int fd;
    int answers;          /* how many connections to serve */
    const char *reply[4]; /* per connection; NULL: read and never answer */
};

static void *serve(void *arg)
{
    struct server *s = arg;
    for (int i = 0; i < s->answers; i++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        char buf[2048];
        ssize_t n = read(c, buf, sizeof(buf));
        (void)n;
        if (s->reply[i])
            (void)!write(c, s->reply[i], strlen(s->reply[i]));
        else
            usleep(700 * 1000);
        close(c);
    }
    return NULL;
}

static void test_tcp(void **state)
{
    (void)state;
    int port;
    int fd = listen_lo(&port);
    char t[64];
    snprintf(t, sizeof(t), "tcp://127.0.0.1:%d", port);
    struct config_probe p = { CONFIG_PROBE_TCP, t, 0 };
    struct probe_result r;
    probe_once(&p, 1000, &r);
    assert_true(r.ok);
    assert_true(r.seconds >= 0 && r.seconds < 1);
    close(fd);
    /* the same port, now closed */
    probe_once(&p, 1000, &r);
    assert_false(r.ok);
    assert_string_equal(r.error, "ECONNREFUSED");
}

static void test_http(void **state)
{
    (void)state;
    int port;
    int fd = listen_lo(&port);
    struct server s = {
        fd,
        3,
        { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", NULL }
    };
    pthread_t tid;
    pthread_create(&tid, NULL, serve, &s);
    char t[64];
    snprintf(t, sizeof(t), "http://127.0.0.1:%d/health", port);
    struct config_probe p = { CONFIG_PROBE_HTTP, t, 100 };
    struct probe_result r;
    probe_once(&p, 2000, &r);
    assert_true(r.ok);
    assert_string_equal(r.error, "");
    probe_once(&p, 2000, &r);
    assert_false(r.ok);
    assert_string_equal(r.error, "HTTP 503");
    probe_once(&p, 300, &r);
    assert_false(r.ok);
    assert_string_equal(r.error, "timeout");
    assert_true(r.seconds >= 0.29 && r.seconds < 0.7);
    pthread_join(tid, NULL);
    close(fd);
}

static void test_window(void **state)
{
    (void)state;
    struct probe_result r[5] = {
        { true, 0.010, "" }, { true, 0.014, "" }, { false, 1.0, "timeout" },
        { true, 0.011, "" }, { true, 0.011, "" },
    };
    double loss, jitter;
    probe_window_stats(r, 5, &loss, &jitter);
    assert_near(loss, 0.2, 1e-15);
    /* |14-10| + |11-14| + |11-11| over 3 pairs of successes, in seconds */
    assert_near(jitter, (0.004 + 0.003 + 0.0) / 3, 1e-15);
    probe_window_stats(r, 1, &loss, &jitter);
    assert_near(loss, 0, 0);
    assert_true(isnan(jitter));
}

static void test_prober_export(void **state)
{
    (void)state;
    int port;
    int fd = listen_lo(&port);
    char t[64];
    snprintf(t, sizeof(t), "tcp://127.0.0.1:%d", port);
    struct config_probe p = { CONFIG_PROBE_TCP, t, 5000 };
    struct prober *pr;
    struct pk_err e;
    assert_int_equal(prober_new(&p, 1, 100, &pr, &e), 0);
    assert_int_equal(prober_start(pr, &e), 0);
    usleep(350 * 1000);
    prober_stop(pr);
    struct probe_stats st;
    assert_true(prober_stats(pr, 0, &st));
    assert_true(st.attempts >= 3 && st.attempts <= 5);
    assert_true(st.last.ok);
    assert_near(st.loss_ratio, 0, 0);
    assert_false(st.over_limit);
    struct metric_set set;
    metric_set_init(&set);
    assert_int_equal(probe_export(pr, &set, &e), 0);
    struct metric_label l = { "target", t };
    const struct metric_series *m = metric_find(&set, "perfkit_probe_success", &l, 1);
    assert_non_null(m);
    assert_near(m->value, 1, 0);
    m = metric_find(&set, "perfkit_probe_attempts_total", &l, 1);
    assert_non_null(m);
    assert_near(m->value, (double)st.attempts, 0);
    metric_set_destroy(&set);
    prober_free(pr);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_prober_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
