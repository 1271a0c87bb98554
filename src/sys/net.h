/*
 * net - network interface counters and TCP connection states, for
 * `perfkit monitor` (node_network_*_total from netdev, node_tcp_connection_states
 * from tcpstat, with node_exporter's names) and `perfkit doctor` (errors and
 * drops on an interface, connections piling up in TIME_WAIT or CLOSE_WAIT).
 *
 * Interfaces come from <procfs>/net/dev: two header lines, then
 * "name: 8 receive counters 8 transmit counters". TCP states are counted over
 * <procfs>/net/tcp and <procfs>/net/tcp6 (a header line, then one socket per
 * line, its state in hex in the 4th field); tcp6 is absent when IPv6 is off.
 * The tcp files are read in fixed-size chunks, so a host with a million
 * sockets costs no more memory than one with ten.
 *
 * A line without the kernel's shape rejects the file (PK_EPARSE, e->on
 * "dev:<line>" / "tcp:<line>", prefixed by the path in the readers), as does
 * an interface name with a control byte or longer than 15 bytes; blank
 * lines are skipped and fields a newer kernel appends are ignored. A missing
 * net/dev or net/tcp is -ENOENT ("unavailable"). Ownership:
 * net_dev_list_destroy frees what net_read_dev / net_parse_dev return.
 * Reentrant; no shared state.
 */
#ifndef PK_SYS_NET_H
#define PK_SYS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

/* IFNAMSIZ is 16 with the NUL; longer names are rejected. */
#define NET_NAME_MAX 16
/* Bytes of net/dev read at most: about 130 per interface, so some 8000 interfaces. */
#define NET_DEV_CAP (1u << 20)

struct net_dev {
    char name[NET_NAME_MAX];
    uint64_t rx_bytes, rx_packets, rx_errs, rx_drop, rx_fifo, rx_frame, rx_compressed, rx_multicast;
    uint64_t tx_bytes, tx_packets, tx_errs, tx_drop, tx_fifo, tx_colls, tx_carrier, tx_compressed;
};

struct net_dev_list {
    struct net_dev *v;
    size_t n;
};

void net_dev_list_destroy(struct net_dev_list *l);
const struct net_dev *net_dev_find(const struct net_dev_list *l, const char *name);
int net_read_dev(const char *procfs, struct net_dev_list *l, struct pk_err *e);

/* The kernel's TCP state codes (include/net/tcp_states.h). */
enum net_tcp_state {
    NET_TCP_ESTABLISHED = 1,
    NET_TCP_SYN_SENT,
    NET_TCP_SYN_RECV,
    NET_TCP_FIN_WAIT1,
    NET_TCP_FIN_WAIT2,
    NET_TCP_TIME_WAIT,
    NET_TCP_CLOSE,
    NET_TCP_CLOSE_WAIT,
    NET_TCP_LAST_ACK,
    NET_TCP_LISTEN,
    NET_TCP_CLOSING,
    NET_TCP_NSTATES /* 12: states[] is indexed by code, [0] unused */
};

struct net_tcp {
    uint64_t states[NET_TCP_NSTATES];
    uint64_t unknown;   /* sockets in a state past CLOSING (NEW_SYN_RECV is never listed) */
    uint64_t tx_queued; /* bytes, summed over sockets (node_exporter's tx_queued_bytes) */
    uint64_t rx_queued;
    bool have_tcp6; /* net_read_tcp: whether net/tcp6 was there */
};

/* node_exporter's label for a state code: "established", "syn_sent", ...,
 * "closing"; "unknown" outside 1..11. */
const char *net_tcp_state_name(int state);

/* Counts of net/tcp plus net/tcp6 (if present) into *t. */
int net_read_tcp(const char *procfs, struct net_tcp *t, struct pk_err *e);

/* ---- rates between two snapshots ---------------------------------------- */

/* (after - before) / seconds; negative if it cannot be known (seconds <= 0,
 * or the counter went back: the interface was re-created). */
double net_rate(uint64_t before, uint64_t after, double seconds);

struct net_dev_rates {
    double rx_bytes, rx_packets, rx_errs, rx_drop;
    double tx_bytes, tx_packets, tx_errs, tx_drop;
};
/* Per-second rates of one interface; -EINVAL for seconds <= 0 or two
 * interfaces, -ERANGE if a counter went back (each such rate is then -1). */
int net_dev_rates(const struct net_dev *before, const struct net_dev *after, double seconds,
                  struct net_dev_rates *r);

/*
 * parsers (for tests and fuzzing): pure functions over (buf, len), which need
 * not be NUL-terminated; they read nothing past buf + len.
 */
int net_parse_dev(const char *buf, size_t len, struct net_dev_list *l, struct pk_err *e);
/*
 * Adds the sockets of the whole lines in buf to *t (which the caller zeroes
 * once). *line counts lines across calls, so a file can be fed in pieces
 * that end on a line boundary: 0 before the first piece, whose first line is
 * the header. On PK_EPARSE *t holds the lines before the bad one.
 */
int net_parse_tcp(const char *buf, size_t len, size_t *line, struct net_tcp *t, struct pk_err *e);

#endif
