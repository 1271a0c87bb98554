/*
 * tlsapi - OpenSSL's libssl, loaded the first time a run has an https://
 * URL (core/dynlib.h says why), so plain-http runs and the other tools never
 * map libssl and libcrypto.
 *
 * tlsapi_get() loads once per process (any thread may call it)
 * and returns the same read-only table, valid until exit. On failure e
 * names the library and why, and every later call fails the same way.
 * Members are named after the OpenSSL functions they point to; the
 * SSL_set_mode()-style macros of OpenSSL's headers are their SSL_ctrl() /
 * SSL_CTX_ctrl() calls.
 */
#ifndef PK_LOAD_TLSAPI_H
#define PK_LOAD_TLSAPI_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "perfkit.h"

struct tlsapi {
    const SSL_METHOD *(*TLS_client_method)(void);
    SSL_CTX *(*SSL_CTX_new)(const SSL_METHOD *);
    void (*SSL_CTX_free)(SSL_CTX *);
    long (*SSL_CTX_ctrl)(SSL_CTX *, int, long, void *);
    void (*SSL_CTX_set_verify)(SSL_CTX *, int, SSL_verify_cb);
    int (*SSL_CTX_set_default_verify_paths)(SSL_CTX *);
    SSL *(*SSL_new)(SSL_CTX *);
    void (*SSL_free)(SSL *);
    long (*SSL_ctrl)(SSL *, int, long, void *);
    int (*SSL_set_fd)(SSL *, int);
    X509_VERIFY_PARAM *(*SSL_get0_param)(SSL *);
    int (*SSL_set_session)(SSL *, SSL_SESSION *);
    SSL_SESSION *(*SSL_get1_session)(SSL *);
    int (*SSL_SESSION_is_resumable)(const SSL_SESSION *);
    void (*SSL_SESSION_free)(SSL_SESSION *);
    int (*SSL_connect)(SSL *);
    int (*SSL_read)(SSL *, void *, int);
    int (*SSL_write)(SSL *, const void *, int);
    int (*SSL_has_pending)(const SSL *);
    int (*SSL_get_error)(const SSL *, int);
    long (*SSL_get_verify_result)(const SSL *);
    int (*X509_VERIFY_PARAM_set1_host)(X509_VERIFY_PARAM *, const char *, size_t);
    int (*X509_VERIFY_PARAM_set1_ip_asc)(X509_VERIFY_PARAM *, const char *);
    const char *(*X509_verify_cert_error_string)(long);
    unsigned long (*ERR_get_error)(void);
    unsigned long (*ERR_peek_last_error)(void);
    const char *(*ERR_reason_error_string)(unsigned long);
    void (*ERR_clear_error)(void);
};

int tlsapi_get(const struct tlsapi **out, struct pk_err *e);

#endif
