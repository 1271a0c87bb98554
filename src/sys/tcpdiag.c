#include "sys/tcpdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"

/*
 * States 1..11 plus NEW_SYN_RECV (12), whose request sockets the kernel
 * filters by that state and reports as SYN_RECV, as net/tcp lists them.
 * Not BOUND_INACTIVE (13, Linux 6.5+): bound sockets that never listened or
 * connected are not in the files either.
 */
#define STATES_MASK (((1u << 13) - 1) & ~1u)

int tcpdiag_open(struct tcpdiag *d, struct pk_err *e)
{
    d->seq = 0;
    d->buf = NULL;
    d->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (d->fd < 0)
        return err_errno(e, -errno, "sock_diag", "cannot open a netlink socket");
    d->buf = malloc(TCPDIAG_BUF);
    if (!d->buf) {
        close(d->fd);
        d->fd = -1;
        return err_errno(e, -ENOMEM, "sock_diag", "cannot open a netlink socket");
    }
    return 0;
}

void tcpdiag_close(struct tcpdiag *d)
{
    /* open keeps a socket only with its buffer: a zeroed struct's fd 0 is not its own */
    if (d->buf && d->fd >= 0)
        close(d->fd);
    free(d->buf);
    d->fd = -1;
    d->buf = NULL;
}

static int malformed(struct pk_err *e, const char *why)
{
    return err_set(e, PK_EPARSE, "sock_diag", "malformed netlink reply", "%s", why);
}

/* One socket's message: its state and queues. */
static void count_socket(const unsigned char *m, struct net_tcp *t)
{
    uint8_t state = m[offsetof(struct inet_diag_msg, idiag_state)];
    uint32_t rq, wq;
    memcpy(&rq, m + offsetof(struct inet_diag_msg, idiag_rqueue), sizeof(rq));
    memcpy(&wq, m + offsetof(struct inet_diag_msg, idiag_wqueue), sizeof(wq));
    if (state > 0 && state < NET_TCP_NSTATES)
        t->states[state]++;
    else
        t->unknown++;
    t->rx_queued += rq;
    /* a listener's wqueue is its backlog limit; net/tcp prints 0 there */
    if (state != NET_TCP_LISTEN)
        t->tx_queued += wq;
}

int tcpdiag_parse(const void *buf, size_t len, uint32_t seq, struct net_tcp *t, bool *done, struct pk_err *e)
{
    const unsigned char *p = buf;
    size_t off = 0;
    while (len - off >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr h;
        memcpy(&h, p + off, sizeof(h));
        if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
            return malformed(e, "a message's length runs past the reply");
        const unsigned char *body = p + off + NLMSG_HDRLEN;
        size_t blen = h.nlmsg_len - NLMSG_HDRLEN;
        /* the next message starts 4-aligned; the last one may end the buffer unpadded */
        size_t step = NLMSG_ALIGN(h.nlmsg_len);
        off = step < len - off ? off + step : len;
        if (h.nlmsg_seq != seq)
            continue;
        if (h.nlmsg_type == NLMSG_DONE) {
            *done = true;
            int32_t rc = 0;
            if (blen >= sizeof(rc))
                memcpy(&rc, body, sizeof(rc));
            if (rc > 0 || rc < -4095)
                return malformed(e, "NLMSG_DONE with an invalid status");
            if (rc < 0)
                return err_errno(e, rc, "sock_diag", "the kernel ended the dump with an error");
            return 0;
        }
        if (h.nlmsg_type == NLMSG_ERROR) {
            int32_t rc;
            if (blen < sizeof(rc))
                return malformed(e, "NLMSG_ERROR without its error code");
            memcpy(&rc, body, sizeof(rc));
            if (rc > 0 || rc < -4095)
                return malformed(e, "NLMSG_ERROR with an invalid error code");
            if (rc == 0)
                continue; /* an acknowledgement: not asked for, harmless */
            *done = true;
            return err_errno(e, rc, "sock_diag", "the kernel refused the request");
        }
        if (h.nlmsg_type != SOCK_DIAG_BY_FAMILY)
            continue; /* NLMSG_NOOP, or something newer: nothing to count */
        if (blen < sizeof(struct inet_diag_msg))
            return malformed(e, "a socket's message is shorter than inet_diag_msg");
        count_socket(body, t);
    }
    if (off != len)
        return malformed(e, "trailing bytes shorter than a message header");
    return 0;
}

/* One dump (family AF_INET or AF_INET6) added to *t. */
static int dump(struct tcpdiag *d, uint8_t family, struct net_tcp *t, struct pk_err *e)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof(req));
    req.nlh.nlmsg_len = sizeof(req);
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nlh.nlmsg_seq = ++d->seq;
    req.r.sdiag_family = family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = STATES_MASK;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    ssize_t w;
    do
        w = sendto(d->fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel));
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return err_errno(e, -errno, "sock_diag", "cannot send the dump request");
    bool done = false;
    while (!done) {
        struct sockaddr_nl from;
        struct iovec iov = { d->buf, TCPDIAG_BUF };
        struct msghdr mh = {
            .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1
        };
        ssize_t r = recvmsg(d->fd, &mh, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return err_errno(e, -errno, "sock_diag", "cannot read the dump");
        }
        if (r == 0)
            return malformed(e, "the socket closed before the end of the dump");
        if (mh.msg_flags & MSG_TRUNC)
            return malformed(e, "a reply larger than the buffer");
        /* only the kernel (port 0) answers; anything else is not ours to trust */
        if (mh.msg_namelen < sizeof(from) || from.nl_pid != 0)
            continue;
        int rc = tcpdiag_parse(d->buf, (size_t)r, d->seq, t, &done, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int tcpdiag_count(struct tcpdiag *d, struct net_tcp *t, struct pk_err *e)
{
    memset(t, 0, sizeof(*t));
    if (d->fd < 0)
        return err_set(e, -EBADF, "sock_diag", "cannot count TCP sockets", "the netlink socket is not open");
    int rc = dump(d, AF_INET, t, e);
    if (rc < 0) {
        memset(t, 0, sizeof(*t));
        return rc;
    }
    struct net_tcp six;
    memset(&six, 0, sizeof(six));
    struct pk_err e6;
    pk_err_clear(&e6);
    rc = dump(d, AF_INET6, &six, &e6);
    if (rc == -EAFNOSUPPORT || rc == -ENOENT || rc == -EINVAL) {
        return 0; /* no IPv6 in this kernel, as a missing net/tcp6 */
    } else if (rc < 0) {
        if (e)
            *e = e6;
        memset(t, 0, sizeof(*t));
        return rc;
    }
    for (int s = 0; s < NET_TCP_NSTATES; s++)
        t->states[s] += six.states[s];
    t->unknown += six.unknown;
    t->rx_queued += six.rx_queued;
    t->tx_queued += six.tx_queued;
    t->have_tcp6 = true;
    return 0;
}
