/*
 * transport - how a load connection (load/worker.h) moves bytes once its TCP
 * connect is done: on the socket itself, or through TLS (libssl, via
 * load/tlsapi.h). A table of operations, as wrk's `struct sock`, chosen once
 * per connection from its origin's scheme (worker_setup), so that conn.c's
 * read and write paths make one indirect call where they would otherwise
 * test for TLS on every call.
 *
 * Contract. Operations run on the connection's own thread. Those that can
 * fail return a negative TRANSPORT_* code and, for TRANSPORT_ERROR, fill
 * err->name with the key of the "errors by phase" counter: an errno name
 * ("ECONNRESET") or, for TLS, the certificate verification result or
 * OpenSSL's reason. They never touch epoll: TRANSPORT_AGAIN / _WANT_READ /
 * _WANT_WRITE tell the caller what to wait for.
 *
 * Ownership: start() makes the per-connection state (c->ssl), close() frees
 * it and keeps what makes the next connect cheaper (the TLS session, in
 * c->session, for resumption), destroy() frees that too. The socket (c->fd)
 * is the caller's, opened and closed by conn.c.
 */
#ifndef PK_LOAD_TRANSPORT_H
#define PK_LOAD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "load/result.h"

struct worker;
struct conn;

enum {
    TRANSPORT_AGAIN = -1,      /* would block: wait for what is registered already */
    TRANSPORT_WANT_READ = -2,  /* wait until the socket is readable */
    TRANSPORT_WANT_WRITE = -3, /* wait until the socket is writable */
    TRANSPORT_ERROR = -4,      /* the connection failed: see the name */
};

struct transport_err {
    char name[RESULT_ERROR_NAME_MAX + 1];
};

struct transport {
    /* TCP is connected: 0 when c is ready for requests, 1 when a handshake
     * follows (handshake() until it returns 0), TRANSPORT_ERROR. */
    int (*start)(struct worker *w, struct conn *c, struct transport_err *err);
    /* One step of the handshake: 0 done, TRANSPORT_WANT_READ/_WANT_WRITE,
     * TRANSPORT_ERROR. */
    int (*handshake)(struct worker *w, struct conn *c, struct transport_err *err);
    /* Up to cap bytes into buf: their count (> 0), 0 when the peer closed,
     * TRANSPORT_AGAIN, TRANSPORT_WANT_WRITE (TLS), TRANSPORT_ERROR. *more
     * says whether another read may find bytes at once. */
    ssize_t (*read)(struct worker *w, struct conn *c, char *buf, size_t cap, bool *more,
                    struct transport_err *err);
    /* iov[0..n) in order, n <= iov_max: bytes written (> 0), TRANSPORT_AGAIN
     * (wait until readable or writable), TRANSPORT_ERROR. */
    ssize_t (*writev)(struct worker *w, struct conn *c, const struct iovec *iov, int n,
                      struct transport_err *err);
    void (*close)(struct worker *w, struct conn *c);
    void (*destroy)(struct worker *w, struct conn *c);
    int iov_max; /* buffers one writev() takes (TLS: one, as SSL_write takes) */
};

extern const struct transport transport_plain;
extern const struct transport transport_tls;

/* "ECONNREFUSED", ... ("EUNKNOWN" for a number without a name). */
const char *transport_errno_name(int err);

#endif
