/*
 * tcpdiag - TCP connection states counted through the kernel's sock_diag
 * netlink interface (NETLINK_SOCK_DIAG, inet_diag), as node_exporter's
 * tcpstat collector does: the counts of net/tcp and net/tcp6 (sys/net.h)
 * without the kernel printing, and perfkit parsing, a text line per socket.
 * Printing /proc/net/tcp walks the whole socket hash table once per read
 * chunk; a dump walks it once per address family and sends 72 bytes per
 * socket.
 *
 * Same numbers as the text files: the sockets of the caller's network
 * namespace (what <procfs>/net/tcp shows for any real procfs: it is
 * /proc/self/net), IPv4 and IPv6, in the states 1..11 with request sockets
 * (NEW_SYN_RECV) as SYN_RECV and TIME_WAIT sockets by their sub-state, as
 * the files print them; rx and tx queues summed as the files print them. A
 * listening socket's tx column is 0 in the file, while inet_diag reports its
 * backlog limit there: it is left out so both sources agree.
 *
 * Contract: struct tcpdiag is caller-owned (tcpdiag_open / tcpdiag_close)
 * and holds one netlink socket and a reply buffer; one thread at a time.
 * Errors: 0, -errno of socket(2) (-EPROTONOSUPPORT, -EACCES: no sock_diag
 * here; the caller reads the text files instead) or of send/recv, the
 * kernel's error for the request (-EINVAL, ...), PK_EPARSE for a reply that
 * is not a well-formed dump, with a message in *e.
 */
#ifndef PK_SYS_TCPDIAG_H
#define PK_SYS_TCPDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"
#include "sys/net.h"

/* Bytes of one recv: the kernel fills a dump message up to 32 KiB. */
#define TCPDIAG_BUF (64u * 1024)

struct tcpdiag {
    int fd;       /* -1: closed */
    uint32_t seq; /* of the last request */
    unsigned char *buf;
};

int tcpdiag_open(struct tcpdiag *d, struct pk_err *e);
/* A no-op on a zeroed, closed or failed-to-open struct. */
void tcpdiag_close(struct tcpdiag *d);

/* Counts of every TCP socket (IPv4 and IPv6) into *t (zeroed first; have_tcp6
 * says whether the IPv6 dump worked: false on a kernel without IPv6). */
int tcpdiag_count(struct tcpdiag *d, struct net_tcp *t, struct pk_err *e);

/*
 * Pure parser (for tests and fuzzing): the bytes of one recv of a dump
 * (netlink messages back to back, each padded to 4 bytes) added to *t.
 * Messages of another sequence number than seq are skipped (left over from
 * an earlier, abandoned dump). *done is set at NLMSG_DONE. Returns 0, the
 * kernel's negative errno of an NLMSG_ERROR (or of NLMSG_DONE), or PK_EPARSE
 * (a truncated or inconsistent message; e->on "sock_diag").
 */
int tcpdiag_parse(const void *buf, size_t len, uint32_t seq, struct net_tcp *t, bool *done, struct pk_err *e);

#endif
