#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "sys/net.h"
#include "sys/tcpdiag.h"

#define REC PK_FIXTURES "/sys/tcpdiag"

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* ---- recorded replies (tests/fixtures/sys/record-tcpdiag.py) ------------ */

/* Both dumps and both text files recorded at one moment count the same, and
 * what record-tcpdiag.py counted itself from the text (expected.txt). */
static void recorded(void **state)
{
    (void)state;
    struct net_tcp nl, txt;
    memset(&nl, 0, sizeof(nl));
    memset(&txt, 0, sizeof(txt));
    struct pk_err e;
    pk_err_clear(&e);
    static const char *const bins[2] = { REC "/inet.bin", REC "/inet6.bin" };
    for (uint32_t i = 0; i < 2; i++) {
        size_t len;
        unsigned char *buf = slurp(bins[i], &len);
        bool done = false;
        assert_int_equal(tcpdiag_parse(buf, len, i + 1, &nl, &done, &e), 0);
        assert_true(done);
        free(buf);
    }
    static const char *const texts[2] = { REC "/tcp", REC "/tcp6" };
    for (int i = 0; i < 2; i++) {
        size_t len, line = 0;
        unsigned char *buf = slurp(texts[i], &len);
        assert_int_equal(net_parse_tcp((const char *)buf, len, &line, &txt, &e), 0);
        free(buf);
    }
    /* expected.txt */
    assert_int_equal(nl.states[NET_TCP_ESTABLISHED], 12);
    assert_int_equal(nl.states[NET_TCP_LISTEN], 2);
    assert_int_equal(nl.states[NET_TCP_FIN_WAIT2], 2);
    assert_int_equal(nl.states[NET_TCP_CLOSE_WAIT], 2);
    assert_int_equal(nl.states[NET_TCP_TIME_WAIT], 2);
    assert_int_equal(nl.states[NET_TCP_SYN_SENT] + nl.states[NET_TCP_SYN_RECV] +
                         nl.states[NET_TCP_FIN_WAIT1] + nl.states[NET_TCP_CLOSE] +
                         nl.states[NET_TCP_LAST_ACK] + nl.states[NET_TCP_CLOSING],
                     0);
    assert_int_equal(nl.unknown, 0);
    assert_int_equal(nl.rx_queued, 65675);
    assert_int_equal(nl.tx_queued, 7725814);
    for (int s = 0; s < NET_TCP_NSTATES; s++)
        assert_int_equal(nl.states[s], txt.states[s]);
    assert_int_equal(nl.rx_queued, txt.rx_queued);
    assert_int_equal(nl.tx_queued, txt.tx_queued);

    /* the same bytes under another sequence number: left over from another dump, nothing counted */
    size_t len;
    unsigned char *buf = slurp(REC "/inet.bin", &len);
    struct net_tcp none;
    memset(&none, 0, sizeof(none));
    bool done = false;
    assert_int_equal(tcpdiag_parse(buf, len, 7, &none, &done, &e), 0);
    assert_false(done);
    assert_int_equal(none.states[NET_TCP_ESTABLISHED] + none.states[NET_TCP_LISTEN], 0);
    /* cut anywhere inside a message: refused, never read past the end */
    for (size_t cut = 1; cut < len; cut += 7) {
        unsigned char *part = malloc(cut);
        assert_non_null(part);
        memcpy(part, buf, cut);
        memset(&none, 0, sizeof(none));
        done = false;
        int rc = tcpdiag_parse(part, cut, 1, &none, &done, NULL);
        assert_true(rc == 0 || rc == PK_EPARSE);
        free(part);
    }
    free(buf);
}

/* ---- hand-made replies --------------------------------------------------- */

struct msgbuf {
    unsigned char b[4096];
    size_t len;
};

static void put_msg(struct msgbuf *m, uint16_t type, uint32_t seq, const void *body, size_t blen)
{
    struct nlmsghdr h = { (uint32_t)(NLMSG_HDRLEN + blen), type, NLM_F_MULTI, seq, 0 };
    memcpy(m->b + m->len, &h, sizeof(h));
    memcpy(m->b + m->len + NLMSG_HDRLEN, body, blen);
    m->len += NLMSG_ALIGN(NLMSG_HDRLEN + blen);
}

static void put_sock(struct msgbuf *m, uint32_t seq, uint8_t state, uint32_t rq, uint32_t wq)
{
    struct inet_diag_msg d;
    memset(&d, 0, sizeof(d));
    d.idiag_family = AF_INET;
    d.idiag_state = state;
    d.idiag_rqueue = rq;
    d.idiag_wqueue = wq;
    put_msg(m, SOCK_DIAG_BY_FAMILY, seq, &d, sizeof(d));
}

static void handmade(void **state)
{
    (void)state;
    struct msgbuf m = { .len = 0 };
    put_sock(&m, 5, NET_TCP_ESTABLISHED, 10, 20);
    put_sock(&m, 5, NET_TCP_LISTEN, 3, 4096);   /* a listener's wqueue is its backlog: not bytes */
    put_sock(&m, 4, NET_TCP_ESTABLISHED, 1, 1); /* another dump's */
    put_sock(&m, 5, 13, 0, 0);                  /* a state past CLOSING */
    int32_t zero = 0;
    put_msg(&m, NLMSG_DONE, 5, &zero, sizeof(zero));
    struct net_tcp t;
    memset(&t, 0, sizeof(t));
    bool done = false;
    assert_int_equal(tcpdiag_parse(m.b, m.len, 5, &t, &done, NULL), 0);
    assert_true(done);
    assert_int_equal(t.states[NET_TCP_ESTABLISHED], 1);
    assert_int_equal(t.states[NET_TCP_LISTEN], 1);
    assert_int_equal(t.unknown, 1);
    assert_int_equal(t.rx_queued, 13);
    assert_int_equal(t.tx_queued, 20);

    /* the kernel's refusal: its errno */
    struct msgbuf r = { .len = 0 };
    struct nlmsgerr err;
    memset(&err, 0, sizeof(err));
    err.error = -EACCES;
    put_msg(&r, NLMSG_ERROR, 5, &err, sizeof(err));
    struct pk_err e;
    pk_err_clear(&e);
    done = false;
    assert_int_equal(tcpdiag_parse(r.b, r.len, 5, &t, &done, &e), -EACCES);
    assert_true(done);
    /* a dump that ended with an error */
    struct msgbuf d = { .len = 0 };
    int32_t intr = -EINTR;
    put_msg(&d, NLMSG_DONE, 5, &intr, sizeof(intr));
    done = false;
    assert_int_equal(tcpdiag_parse(d.b, d.len, 5, &t, &done, &e), -EINTR);
    /* a socket message shorter than inet_diag_msg, a length past the buffer, trailing bytes */
    struct msgbuf s = { .len = 0 };
    put_msg(&s, SOCK_DIAG_BY_FAMILY, 5, "short", 5);
    assert_int_equal(tcpdiag_parse(s.b, s.len, 5, &t, &done, &e), PK_EPARSE);
    struct nlmsghdr h = { 4000, SOCK_DIAG_BY_FAMILY, 0, 5, 0 };
    assert_int_equal(tcpdiag_parse(&h, sizeof(h), 5, &t, &done, &e), PK_EPARSE);
    assert_int_equal(tcpdiag_parse(m.b, 10, 5, &t, &done, &e), PK_EPARSE);
    /* an empty read is nothing */
    assert_int_equal(tcpdiag_parse(m.b, 0, 5, &t, &done, &e), 0);
}

/* ---- the live kernel, in a network namespace of our own ------------------ */

/* A connection to the listener l; its two ends in c[0] (client) and c[1] (server). */
static int connect_pair(int l, int c[2])
{
    struct sockaddr_storage a;
    socklen_t alen = sizeof(a);
    if (getsockname(l, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    c[0] = socket(a.ss_family, SOCK_STREAM, 0);
    if (c[0] < 0 || connect(c[0], (struct sockaddr *)&a, alen) != 0)
        return -1;
    c[1] = accept(l, NULL, NULL);
    return c[1] < 0 ? -1 : 0;
}

/*
 * Per family: a listener, two pairs (4 ESTABLISHED), a half-closed pair
 * (FIN_WAIT2 / CLOSE_WAIT), a pair closed by the client first (TIME_WAIT).
 * Returns 0, or the line that failed, to the parent.
 */
static int live_child(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        return 100; /* not allowed here: skipped */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
        return __LINE__;
    close(s);
    int fams[2] = { AF_INET, AF_INET6 };
    for (int f = 0; f < 2; f++) {
        struct sockaddr_storage a;
        memset(&a, 0, sizeof(a));
        socklen_t alen;
        if (fams[f] == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&a;
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            alen = sizeof(*in);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
            in6->sin6_family = AF_INET6;
            in6->sin6_addr = in6addr_loopback;
            alen = sizeof(*in6);
        }
        int l = socket(fams[f], SOCK_STREAM, 0);
        if (l < 0 || bind(l, (struct sockaddr *)&a, alen) != 0 || listen(l, 16) != 0)
            return __LINE__;
        int p[4][2];
        for (int i = 0; i < 4; i++)
            if (connect_pair(l, p[i]) != 0)
                return __LINE__;
        if (write(p[0][0], "0123456789", 10) != 10)
            return __LINE__;
        shutdown(p[2][0], SHUT_WR);
        close(p[3][0]);
        usleep(20000);
        close(p[3][1]);
    }
    usleep(100000);
    struct tcpdiag d;
    struct pk_err e;
    pk_err_clear(&e);
    if (tcpdiag_open(&d, &e) != 0)
        return __LINE__;
    struct net_tcp nl, txt;
    /* a quiet namespace: both readings agree; a retry covers a TIME_WAIT ending in between */
    for (int tries = 0; tries < 3; tries++) {
        if (tcpdiag_count(&d, &nl, &e) != 0 || net_read_tcp("/proc", &txt, &e) != 0)
            return __LINE__;
        if (memcmp(nl.states, txt.states, sizeof(nl.states)) == 0)
            break;
    }
    tcpdiag_close(&d);
    if (!nl.have_tcp6 || memcmp(nl.states, txt.states, sizeof(nl.states)) != 0 || nl.unknown != txt.unknown ||
        nl.rx_queued != txt.rx_queued || nl.tx_queued != txt.tx_queued)
        return __LINE__;
    /* exactly the sockets made above, twice */
    if (nl.states[NET_TCP_LISTEN] != 2 || nl.states[NET_TCP_ESTABLISHED] != 8 ||
        nl.states[NET_TCP_FIN_WAIT2] != 2 || nl.states[NET_TCP_CLOSE_WAIT] != 2 ||
        nl.states[NET_TCP_TIME_WAIT] != 2)
        return __LINE__;
    /* 10 unread bytes on each family's first pair, and the FIN counted by each CLOSE_WAIT */
    if (nl.rx_queued != 2 * (10 + 1))
        return __LINE__;
    return 0;
}

static void live_namespace(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(live_child());
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 100)
        skip();
    if (WEXITSTATUS(st) != 0)
        fail_msg("live sock_diag check failed at test_tcpdiag.c:%d", WEXITSTATUS(st));
}

/* The agent's own namespace: the dump works and lists at least what the files list, in the same states. */
static void live_here(void **state)
{
    (void)state;
    struct tcpdiag d;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = tcpdiag_open(&d, &e);
    if (rc == -EPROTONOSUPPORT || rc == -EACCES || rc == -EPERM)
        skip();
    assert_int_equal(rc, 0);
    struct net_tcp t;
    assert_int_equal(tcpdiag_count(&d, &t, &e), 0);
    assert_int_equal(tcpdiag_count(&d, &t, &e), 0); /* the socket serves dump after dump */
    tcpdiag_close(&d);
    assert_int_equal(d.fd, -1);
    tcpdiag_close(&d); /* twice is harmless */
    struct net_tcp closed;
    assert_int_equal(tcpdiag_count(&d, &closed, &e), -EBADF);
}

/* fd 0 open, so that a destroy that closed a zeroed struct's fd 0 would show. */
static void stdin_open(void)
{
    if (fcntl(STDIN_FILENO, F_GETFD) < 0)
        assert_int_equal(open("/dev/null", O_RDONLY), STDIN_FILENO);
}

static void close_zeroed(void **state)
{
    (void)state;
    stdin_open();
    struct tcpdiag d;
    memset(&d, 0, sizeof(d));
    tcpdiag_close(&d);
    tcpdiag_close(&d);
    assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded),       cmocka_unit_test(close_zeroed), cmocka_unit_test(handmade),
        cmocka_unit_test(live_namespace), cmocka_unit_test(live_here),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
