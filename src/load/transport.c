/* transport - plain and TLS byte moving for a load connection (see load/transport.h). */
#define _GNU_SOURCE
#include "load/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/check.h"
#include "load/worker.h"

const char *transport_errno_name(int err)
{
    const char *n = strerrorname_np(err);
    return n ? n : "EUNKNOWN";
}

static void name_errno(struct transport_err *err, int e)
{
    snprintf(err->name, sizeof(err->name), "%s", transport_errno_name(e));
}

/* ---- plain: the socket itself */

static int plain_start(struct worker *w, struct conn *c, struct transport_err *err)
{
    (void)w, (void)c, (void)err;
    return 0;
}

static int plain_handshake(struct worker *w, struct conn *c, struct transport_err *err)
{
    (void)w, (void)c, (void)err;
    PK_ASSERT(!"a plain connection has no handshake");
    return 0;
}

static ssize_t plain_read(struct worker *w, struct conn *c, char *buf, size_t cap, bool *more,
                          struct transport_err *err)
{
    (void)w;
    for (;;) {
        ssize_t n = read(c->fd, buf, cap);
        if (n >= 0) {
            /* a short read emptied the socket's buffer */
            *more = (size_t)n == cap;
            return n;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TRANSPORT_AGAIN;
        if (errno != EINTR)
            break;
    }
    name_errno(err, errno);
    return TRANSPORT_ERROR;
}

static ssize_t plain_writev(struct worker *w, struct conn *c, const struct iovec *iov, int n,
                            struct transport_err *err)
{
    (void)w;
    for (;;) {
        ssize_t k = writev(c->fd, iov, n);
        if (k >= 0)
            return k;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TRANSPORT_AGAIN;
        if (errno != EINTR)
            break;
    }
    name_errno(err, errno);
    return TRANSPORT_ERROR;
}

static void plain_close(struct worker *w, struct conn *c)
{
    (void)w, (void)c;
}

const struct transport transport_plain = {
    .start = plain_start,
    .handshake = plain_handshake,
    .read = plain_read,
    .writev = plain_writev,
    .close = plain_close,
    .destroy = plain_close,
    .iov_max = IOV_BATCH,
};

/* ---- TLS: libssl over the socket */

/*
 * The name of the error err (SSL_get_error()) of a failed libssl call on
 * ssl: the errno of a failed system call, "closed during handshake" when
 * the peer ended a handshake, the certificate verification's result when
 * a verified handshake failed, else OpenSSL's reason (whose queue it
 * clears). Under -k the verification's result is not an error: it is
 * recorded (a self-signed certificate) but never the reason a connection
 * failed. Read errno before anything else can change it.
 */
static void tls_error_name(const struct worker *w, SSL *ssl, int err, bool handshake,
                           struct transport_err *out)
{
    const struct tlsapi *T = w->eng->tls;
    char *buf = out->name;
    size_t cap = sizeof(out->name);
    if (err == SSL_ERROR_SYSCALL && errno) {
        name_errno(out, errno);
        return;
    }
    if (handshake && (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)) {
        snprintf(buf, cap, "%s", RESULT_ERR_TLS_CLOSED);
        return;
    }
    long vr = handshake && !w->eng->cfg->insecure ? T->SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = T->ERR_peek_last_error();
    if (vr != X509_V_OK)
        snprintf(buf, cap, "%s", T->X509_verify_cert_error_string(vr));
    else if (e && T->ERR_reason_error_string(e))
        snprintf(buf, cap, "%s", T->ERR_reason_error_string(e));
    else
        snprintf(buf, cap, "%s", handshake ? RESULT_ERR_TLS_FAILED : RESULT_ERR_TLS_IO);
    T->ERR_clear_error();
}

static int tls_start(struct worker *w, struct conn *c, struct transport_err *err)
{
    const struct tlsapi *T = w->eng->tls;
    const struct origin *o = &w->eng->origins[c->origin];
    PK_ASSERT(T && !c->ssl);
    c->ssl = T->SSL_new(w->eng->ssl_ctx);
    if (!c->ssl) {
        name_errno(err, ENOMEM);
        return TRANSPORT_ERROR;
    }
    T->SSL_set_fd(c->ssl, c->fd);
    T->SSL_ctrl(c->ssl, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER,
                NULL);
    if (!o->url->ipv6 && inet_addr(o->url->host) == INADDR_NONE)
        T->SSL_ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)o->url->host);
    if (!w->eng->cfg->insecure) {
        X509_VERIFY_PARAM *vp = T->SSL_get0_param(c->ssl);
        struct in6_addr a6;
        struct in_addr a4;
        if (inet_pton(AF_INET, o->url->host, &a4) == 1 || inet_pton(AF_INET6, o->url->host, &a6) == 1)
            T->X509_VERIFY_PARAM_set1_ip_asc(vp, o->url->host);
        else
            T->X509_VERIFY_PARAM_set1_host(vp, o->url->host, 0);
    }
    if (c->session)
        T->SSL_set_session(c->ssl, c->session);
    return 1;
}

static int tls_handshake(struct worker *w, struct conn *c, struct transport_err *err)
{
    const struct tlsapi *T = w->eng->tls;
    T->ERR_clear_error();
    int rc = T->SSL_connect(c->ssl);
    if (rc == 1)
        return 0;
    int e = T->SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        return TRANSPORT_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE)
        return TRANSPORT_WANT_WRITE;
    tls_error_name(w, c->ssl, e, true, err);
    return TRANSPORT_ERROR;
}

static ssize_t tls_read(struct worker *w, struct conn *c, char *buf, size_t cap, bool *more,
                        struct transport_err *err)
{
    const struct tlsapi *T = w->eng->tls;
    T->ERR_clear_error();
    int r = T->SSL_read(c->ssl, buf, (int)cap);
    if (r > 0) {
        /* records already decrypted, or read off the socket, wait in libssl */
        *more = T->SSL_has_pending(c->ssl) != 0;
        return r;
    }
    int e = T->SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return TRANSPORT_AGAIN;
    if (e == SSL_ERROR_WANT_WRITE)
        return TRANSPORT_WANT_WRITE;
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
        return 0;
    /* The peer closed the socket without a close_notify: OpenSSL 3 calls
     * it an error, OpenSSL 1.1 and curl (which maps it back) an end of
     * stream. It ends a body delimited by the close; a truncated body
     * with a length is still found by the parser (eof_in_body). */
    unsigned long last = T->ERR_peek_last_error();
    if (e == SSL_ERROR_SSL && ERR_GET_LIB(last) == ERR_LIB_SSL &&
        ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        T->ERR_clear_error();
        return 0;
    }
    tls_error_name(w, c->ssl, e, false, err);
    return TRANSPORT_ERROR;
}

static ssize_t tls_writev(struct worker *w, struct conn *c, const struct iovec *iov, int n,
                          struct transport_err *err)
{
    const struct tlsapi *T = w->eng->tls;
    PK_ASSERT(n == 1);
    (void)n;
    T->ERR_clear_error();
    int k = T->SSL_write(c->ssl, iov[0].iov_base, (int)iov[0].iov_len);
    if (k > 0)
        return k;
    int e = T->SSL_get_error(c->ssl, k);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        return TRANSPORT_AGAIN;
    tls_error_name(w, c->ssl, e, false, err);
    return TRANSPORT_ERROR;
}

static void tls_close(struct worker *w, struct conn *c)
{
    const struct tlsapi *T = w->eng->tls;
    if (!c->ssl)
        return;
    /* kept for resumption: a reconnect (--no-keepalive, a server's close)
     * then costs an abbreviated handshake, as in a browser */
    SSL_SESSION *s = T->SSL_get1_session(c->ssl);
    if (s && T->SSL_SESSION_is_resumable(s)) {
        if (c->session)
            T->SSL_SESSION_free(c->session);
        c->session = s;
    } else if (s) {
        T->SSL_SESSION_free(s);
    }
    T->SSL_free(c->ssl);
    c->ssl = NULL;
}

static void tls_destroy(struct worker *w, struct conn *c)
{
    const struct tlsapi *T = w->eng->tls;
    if (c->ssl)
        T->SSL_free(c->ssl);
    if (c->session)
        T->SSL_SESSION_free(c->session);
    c->ssl = NULL;
    c->session = NULL;
}

const struct transport transport_tls = {
    .start = tls_start,
    .handshake = tls_handshake,
    .read = tls_read,
    .writev = tls_writev,
    .close = tls_close,
    .destroy = tls_destroy,
    .iov_max = 1,
};
