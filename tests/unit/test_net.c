/* nftw() and mkdtemp() need X/Open. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tmptree.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/net.h"

#define VM PK_FIXTURES "/sys/vm-2cpu"
#define NE PK_FIXTURES "/node_exporter"

/* ---- recorded trees ----------------------------------------------------- */

static void vm_2cpu_dev(void **state)
{
    (void)state;
    struct net_dev_list l;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(net_read_dev(VM "/proc", &l, &e), 0);
    /* proc/net/dev: lo, ifb0, ifb1, eth0 after the two header lines */
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[0].name, "lo");
    assert_string_equal(l.v[1].name, "ifb0");
    assert_string_equal(l.v[2].name, "ifb1");
    assert_string_equal(l.v[3].name, "eth0");
    /* "    lo:    3267      29    0    0    0     0          0         0     3267      29    0 ..." */
    const struct net_dev *lo = net_dev_find(&l, "lo");
    assert_int_equal(lo->rx_bytes, 3267);
    assert_int_equal(lo->rx_packets, 29);
    assert_int_equal(lo->tx_bytes, 3267);
    assert_int_equal(lo->tx_packets, 29);
    /* "  eth0: 62397217    1238    0    0    0     0          0         0    59234     714    0 ..." */
    const struct net_dev *eth = net_dev_find(&l, "eth0");
    assert_int_equal(eth->rx_bytes, 62397217);
    assert_int_equal(eth->rx_packets, 1238);
    assert_int_equal(eth->tx_bytes, 59234);
    assert_int_equal(eth->tx_packets, 714);
    for (size_t i = 0; i < l.n; i++) {
        const struct net_dev *d = &l.v[i];
        uint64_t other = d->rx_errs + d->rx_drop + d->rx_fifo + d->rx_frame + d->rx_compressed +
                         d->rx_multicast + d->tx_errs + d->tx_drop + d->tx_fifo + d->tx_colls +
                         d->tx_carrier + d->tx_compressed;
        assert_int_equal(other, 0); /* every error, drop, ... column of the file is 0 */
    }
    assert_int_equal(net_dev_find(&l, "ifb0")->rx_bytes, 0);
    assert_null(net_dev_find(&l, "eth1"));
    net_dev_list_destroy(&l);
}

static void vm_2cpu_tcp(void **state)
{
    (void)state;
    struct net_tcp t;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(net_read_tcp(VM "/proc", &t, &e), 0);
    assert_true(t.have_tcp6);
    /*
     * proc/net/tcp, st column of lines 0-8: 0A 0A 01 08 01 01 05 06 01
     * proc/net/tcp6, lines 0-7:            0A 01 08 01 01 01 05 06
     * (two listeners, two connected pairs, a pair half closed by the client,
     * a pair closed by the client first, on 127.0.0.1 and on ::1, plus
     * one other listener)
     */
    assert_int_equal(t.states[NET_TCP_ESTABLISHED], 4 + 4);
    assert_int_equal(t.states[NET_TCP_LISTEN], 2 + 1);
    assert_int_equal(t.states[NET_TCP_CLOSE_WAIT], 1 + 1);
    assert_int_equal(t.states[NET_TCP_FIN_WAIT2], 1 + 1);
    assert_int_equal(t.states[NET_TCP_TIME_WAIT], 1 + 1);
    assert_int_equal(t.states[NET_TCP_SYN_SENT] + t.states[NET_TCP_SYN_RECV] + t.states[NET_TCP_FIN_WAIT1] +
                         t.states[NET_TCP_CLOSE] + t.states[NET_TCP_LAST_ACK] + t.states[NET_TCP_CLOSING],
                     0);
    assert_int_equal(t.unknown, 0);
    /* rx_queue: 00000001 (the FIN a CLOSE_WAIT socket has not read) and 00000064 (100 unread
     * bytes) in each file; every tx_queue is 0 */
    assert_int_equal(t.rx_queued, 2 * (1 + 100));
    assert_int_equal(t.tx_queued, 0);
}

/*
 * node_exporter's tree has no proc/net/dev and no proc/net/tcp: its
 * e2e-output.txt has node_network_*_total only for "lo" from the netdev
 * collector's netlink source on the machine that ran the test (with the
 * byte and packet counters filtered out), and no node_tcp_connection_states
 * (tcpstat is not enabled there). Nothing to compare, but the readers must
 * say "unavailable".
 */
static void node_exporter_tree(void **state)
{
    (void)state;
    struct net_dev_list l;
    struct net_tcp t;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(net_read_dev(NE "/proc", &l, &e), -ENOENT);
    assert_string_equal(e.on, NE "/proc/net/dev");
    assert_int_equal(l.n, 0);
    assert_int_equal(net_read_tcp(NE "/proc", &t, &e), -ENOENT);
    assert_string_equal(e.on, NE "/proc/net/tcp");
    assert_int_equal(t.states[NET_TCP_ESTABLISHED], 0);

    FILE *f = fopen(NE "/e2e-output.txt", "r");
    assert_non_null(f);
    char line[4096];
    int tcp_states = 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "node_tcp_connection_states", 26) == 0)
            tcp_states++;
    fclose(f);
    assert_int_equal(tcp_states, 0);

    assert_int_equal(net_read_dev("/nonexistent-procfs", &l, &e), -ENOENT);
    assert_int_equal(net_read_tcp(NULL, &t, &e), -EINVAL);
}

/* ---- trees written at run time ------------------------------------------ */

#define TCP_HEADER \
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

/* A big net/tcp, read in many chunks: each line straddling a chunk is counted once. */
static void tcp_in_chunks(void **state)
{
    const char *proc = *state;
    size_t n = 20000, cap = 200 * n + 200, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    len += (size_t)snprintf(buf, cap, TCP_HEADER);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(
            buf + len, cap - len,
            "%5zu: 0100007F:%04zX 0100007F:0050 %02X 0000000%zX:00000002 00:00000000 00000000  1000 "
            "       0 %zu 1 0000000000000000 20 4 30 10 -1\n",
            i, i % 65536, (unsigned)(i % 12) + 1, i % 2, 100000 + i);
    tmptree_put_n(proc, "net/tcp", buf, len);
    struct net_tcp t;
    struct pk_err e;
    assert_int_equal(net_read_tcp(proc, &t, &e), 0);
    assert_false(t.have_tcp6);
    uint64_t total = t.unknown;
    for (int s = 1; s < NET_TCP_NSTATES; s++) {
        assert_int_equal(t.states[s], n / 12 + ((size_t)(s - 1) < n % 12 ? 1 : 0));
        total += t.states[s];
    }
    assert_int_equal(total, n);
    assert_int_equal(t.unknown, n / 12); /* code 0x0C, NEW_SYN_RECV, is past CLOSING */
    assert_int_equal(t.tx_queued, n / 2);
    assert_int_equal(t.rx_queued, 2 * n);

    /* the same bytes parsed at once */
    struct net_tcp whole;
    memset(&whole, 0, sizeof(whole));
    size_t line = 0;
    assert_int_equal(net_parse_tcp(buf, len, &line, &whole, &e), 0);
    assert_int_equal(line, n + 1);
    assert_memory_equal(whole.states, t.states, sizeof(t.states));

    /* a bad line deep in the file names its line in the right file */
    memcpy(strstr(buf, "12345: ") + 7, "XYZ", 3);
    tmptree_put_n(proc, "net/tcp6", buf, len);
    tmptree_put_n(proc, "net/tcp", TCP_HEADER, strlen(TCP_HEADER));
    pk_err_clear(&e);
    assert_int_equal(net_read_tcp(proc, &t, &e), PK_EPARSE);
    char want[256];
    snprintf(want, sizeof(want), "%s/net/tcp6:12347", proc);
    assert_string_equal(e.on, want);
    assert_int_equal(t.states[NET_TCP_ESTABLISHED], 0);

    /* a line longer than a chunk */
    memset(buf, 'a', 70000);
    memcpy(buf, TCP_HEADER, strlen(TCP_HEADER));
    tmptree_put_n(proc, "net/tcp", buf, 70000);
    pk_err_clear(&e);
    assert_int_equal(net_read_tcp(proc, &t, &e), PK_EPARSE);
    snprintf(want, sizeof(want), "%s/net/tcp:2", proc);
    assert_string_equal(e.on, want);

    /* header only, no trailing newline; an empty file */
    tmptree_put_n(proc, "net/tcp", TCP_HEADER, strlen(TCP_HEADER) - 1);
    tmptree_put_n(proc, "net/tcp6", "", 0);
    assert_int_equal(net_read_tcp(proc, &t, &e), 0);
    assert_true(t.have_tcp6);
    assert_int_equal(t.states[NET_TCP_LISTEN], 0);
    free(buf);
}

/* ---- parsers ------------------------------------------------------------ */

#define DEV_HEADER                                                                                       \
    "Inter-|   Receive                                                |  Transmit\n"                     \
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo " \
    "colls carrier compressed\n"

static void dev_parser(void **state)
{
    (void)state;
    struct net_dev_list l;
    struct pk_err e;
    pk_err_clear(&e);

    const char *t = DEV_HEADER;
    assert_int_equal(net_parse_dev(t, strlen(t), &l, &e), 0);
    assert_int_equal(l.n, 0);
    net_dev_list_destroy(&l);

    /* an old kernel's "eth0:123" with no blank, the 64-bit maximum, a 17th field, no newline */
    t = DEV_HEADER "eth0:18446744073709551615 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                   "\n"
                   "  wlp0s20f3: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\n"
                   "eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\r\n"
                   "veth1234567890a:\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0";
    assert_int_equal(net_parse_dev(t, strlen(t), &l, &e), 0);
    assert_int_equal(l.n, 4);
    assert_true(l.v[0].rx_bytes == UINT64_MAX);
    assert_int_equal(l.v[0].rx_packets, 2);
    assert_int_equal(l.v[0].rx_errs, 3);
    assert_int_equal(l.v[0].rx_drop, 4);
    assert_int_equal(l.v[0].rx_fifo, 5);
    assert_int_equal(l.v[0].rx_frame, 6);
    assert_int_equal(l.v[0].rx_compressed, 7);
    assert_int_equal(l.v[0].rx_multicast, 8);
    assert_int_equal(l.v[0].tx_bytes, 9);
    assert_int_equal(l.v[0].tx_packets, 10);
    assert_int_equal(l.v[0].tx_errs, 11);
    assert_int_equal(l.v[0].tx_drop, 12);
    assert_int_equal(l.v[0].tx_fifo, 13);
    assert_int_equal(l.v[0].tx_colls, 14);
    assert_int_equal(l.v[0].tx_carrier, 15);
    assert_int_equal(l.v[0].tx_compressed, 16);
    assert_string_equal(l.v[1].name, "wlp0s20f3");
    assert_int_equal(l.v[1].tx_compressed, 16);
    assert_int_equal(net_dev_find(&l, "eth1")->tx_compressed, 16);
    assert_string_equal(l.v[3].name, "veth1234567890a");
    net_dev_list_destroy(&l);

    static const struct {
        const char *in;
        const char *on;
    } bad[] = {
        { "", "dev:1" },
        { "Inter-|   Receive\n", "dev:2" },
        { "garbage\n face |bytes\n", "dev:1" },
        { DEV_HEADER "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", "dev:3" },
        { DEV_HEADER "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n", "dev:3" },
        { DEV_HEADER "lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\neth0: 1 2 3", "dev:4" },
        { DEV_HEADER "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18446744073709551616\n", "dev:3" },
        { DEV_HEADER "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16x\n", "dev:3" },
        { DEV_HEADER "eth0: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", "dev:3" },
        { DEV_HEADER ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", "dev:3" },
        { DEV_HEADER "veth1234567890ab: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", "dev:3" },
        { DEV_HEADER "\xff\xfe:\n", "dev:3" },
        { DEV_HEADER "et\x01h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", "dev:3" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        assert_int_equal(net_parse_dev(bad[i].in, strlen(bad[i].in), &l, &e), PK_EPARSE);
        assert_string_equal(e.on, bad[i].on);
        assert_int_equal(l.n, 0);
        assert_null(l.v);
    }
    /* found by fuzz_net: a NUL before the name made an empty one */
    static const char nul[] = DEV_HEADER " \0ifb1: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    assert_int_equal(net_parse_dev(nul, sizeof(nul) - 1, &l, &e), PK_EPARSE);
    assert_string_equal(e.on, "dev:3");
    /* a UTF-8 name is a name */
    t = DEV_HEADER "w\xc3\xa9: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
    assert_int_equal(net_parse_dev(t, strlen(t), &l, &e), 0);
    assert_string_equal(l.v[0].name, "w\xc3\xa9");
    net_dev_list_destroy(&l);
}

static void tcp_parser(void **state)
{
    (void)state;
    struct net_tcp t;
    struct pk_err e;
    size_t line = 0;
    memset(&t, 0, sizeof(t));

    assert_int_equal(net_parse_tcp("", 0, &line, &t, &e), 0);
    assert_int_equal(line, 0);

    /* fed in two pieces; an upper-case and a lower-case state, tcp6 addresses */
    const char *a =
        TCP_HEADER "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n";
    const char *b = "   1: 00000000000000000000000001000000:ED65 00000000000000000000000001000000:BB8C 0a "
                    "0000000A:000000ff\n\n   2: 0100007F:1 0100007F:2 1 FFFFFFFFFFFFFFFF:0";
    assert_int_equal(net_parse_tcp(a, strlen(a), &line, &t, &e), 0);
    assert_int_equal(line, 2);
    assert_int_equal(net_parse_tcp(b, strlen(b), &line, &t, &e), 0);
    assert_int_equal(line, 5);
    assert_int_equal(t.states[NET_TCP_LISTEN], 2);
    assert_int_equal(t.states[NET_TCP_ESTABLISHED], 1);
    assert_true(t.tx_queued == 10 + UINT64_MAX); /* wraps: the kernel's queues are 32-bit */
    assert_int_equal(t.rx_queued, 255);

    /* codes outside 1..11 are counted apart */
    memset(&t, 0, sizeof(t));
    line = 1; /* past the header */
    const char *c = "0: 0:0 0:0 00 0:0\n1: 0:0 0:0 0C 0:0\n2: 0:0 0:0 FF 0:0\n3: 0:0 0:0 0B 0:0\n";
    assert_int_equal(net_parse_tcp(c, strlen(c), &line, &t, &e), 0);
    assert_int_equal(t.unknown, 3);
    assert_int_equal(t.states[NET_TCP_CLOSING], 1);

    static const struct {
        const char *in;
        const char *on;
    } bad[] = {
        { "garbage\n", "tcp:1" },
        { "slx local\n", "tcp:1" },
        { TCP_HEADER "   0: 0100007F:0CEA 00000000:0000 0A\n", "tcp:2" }, /* truncated */
        { TCP_HEADER "   0 0100007F:0CEA 00000000:0000 0A 0:0\n", "tcp:2" },
        { TCP_HEADER "   x: 0100007F:0CEA 00000000:0000 0A 0:0\n", "tcp:2" },
        { TCP_HEADER "   0: 0100007F 00000000:0000 0A 0:0\n", "tcp:2" },
        { TCP_HEADER "   0: 0100007F:0CEA 00000000:00:00 0A 0:0\n", "tcp:2" },
        { TCP_HEADER "   0: 0100007F: 00000000:0000 0A 0:0\n", "tcp:2" },
        { TCP_HEADER "   0: :0CEA 00000000:0000 0A 0:0\n", "tcp:2" },
        { TCP_HEADER "   0: 0100007G:0CEA 00000000:0000 0A 0:0\n", "tcp:2" },
        { TCP_HEADER "   0: 0100007F:0CEA 00000000:0000 100 0:0\n", "tcp:2" }, /* state > 0xff */
        { TCP_HEADER "   0: 0100007F:0CEA 00000000:0000 0G 0:0\n", "tcp:2" },
        { TCP_HEADER "   0: 0100007F:0CEA 00000000:0000 0A 0:\n", "tcp:2" },
        { TCP_HEADER "   0: 0100007F:0CEA 00000000:0000 0A 00000000000000000:0\n", "tcp:2" }, /* 17 digits */
        { TCP_HEADER "   0: 0100007F:0CEA 00000000:0000 0A 0:0:0\n", "tcp:2" },
        { TCP_HEADER "\n\n\xff\n", "tcp:4" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&t, 0, sizeof(t));
        line = 0;
        pk_err_clear(&e);
        assert_int_equal(net_parse_tcp(bad[i].in, strlen(bad[i].in), &line, &t, &e), PK_EPARSE);
        assert_string_equal(e.on, bad[i].on);
    }

    static const char *const names[] = { "unknown",   "established", "syn_sent", "syn_recv",   "fin_wait1",
                                         "fin_wait2", "time_wait",   "close",    "close_wait", "last_ack",
                                         "listen",    "closing",     "unknown" };
    for (int s = 0; s <= NET_TCP_NSTATES; s++)
        assert_string_equal(net_tcp_state_name(s), names[s]);
    assert_string_equal(net_tcp_state_name(-1), "unknown");
}

static void rates(void **state)
{
    (void)state;
    assert_true(net_rate(100, 300, 2.0) == 100.0);
    assert_true(net_rate(100, 100, 1.0) == 0.0);
    assert_true(net_rate(300, 100, 1.0) < 0);
    assert_true(net_rate(100, 300, 0) < 0);
    assert_true(net_rate(0, UINT64_MAX, 1.0) == (double)UINT64_MAX);

    struct net_dev a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    snprintf(a.name, sizeof(a.name), "eth0");
    snprintf(b.name, sizeof(b.name), "eth0");
    a.rx_bytes = 1000;
    b.rx_bytes = 11000;
    b.tx_packets = 50;
    b.rx_errs = 5;
    b.tx_drop = 1;
    struct net_dev_rates r;
    assert_int_equal(net_dev_rates(&a, &b, 10.0, &r), 0);
    assert_true(r.rx_bytes == 1000.0);
    assert_true(r.tx_packets == 5.0);
    assert_true(r.rx_errs == 0.5);
    assert_true(r.tx_drop == 0.1);
    assert_true(r.tx_bytes == 0.0);
    /* the interface was re-created: its counters started again */
    assert_int_equal(net_dev_rates(&b, &a, 10.0, &r), -ERANGE);
    assert_true(r.rx_bytes < 0);
    assert_true(r.tx_bytes == 0.0);
    assert_int_equal(net_dev_rates(&a, &b, 0, &r), -EINVAL);
    snprintf(b.name, sizeof(b.name), "eth1");
    assert_int_equal(net_dev_rates(&a, &b, 1.0, &r), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vm_2cpu_dev),
        cmocka_unit_test(vm_2cpu_tcp),
        cmocka_unit_test(node_exporter_tree),
        cmocka_unit_test_setup_teardown(tcp_in_chunks, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(dev_parser),
        cmocka_unit_test(tcp_parser),
        cmocka_unit_test(rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
