#define _GNU_SOURCE
#include "load/tlsapi.h"

#include <stddef.h>

#include "core/dynlib.h"

#define SYM(f)                         \
    {                                  \
#f, offsetof(struct tlsapi, f) \
    }
static const struct dynlib_sym syms[] = {
    SYM(TLS_client_method),
    SYM(SSL_CTX_new),
    SYM(SSL_CTX_free),
    SYM(SSL_CTX_ctrl),
    SYM(SSL_CTX_set_verify),
    SYM(SSL_CTX_set_default_verify_paths),
    SYM(SSL_new),
    SYM(SSL_free),
    SYM(SSL_ctrl),
    SYM(SSL_set_fd),
    SYM(SSL_get0_param),
    SYM(SSL_set_session),
    SYM(SSL_get1_session),
    SYM(SSL_SESSION_is_resumable),
    SYM(SSL_SESSION_free),
    SYM(SSL_connect),
    SYM(SSL_read),
    SYM(SSL_write),
    SYM(SSL_has_pending),
    SYM(SSL_get_error),
    SYM(SSL_get_verify_result),
    SYM(X509_VERIFY_PARAM_set1_host),
    SYM(X509_VERIFY_PARAM_set1_ip_asc),
    SYM(X509_verify_cert_error_string),
    SYM(ERR_get_error),
    SYM(ERR_peek_last_error),
    SYM(ERR_reason_error_string),
    SYM(ERR_clear_error),
};
#undef SYM

/* Process-wide by nature (a loaded library is): filled once under
 * state's mutex, read-only afterwards. */
static struct dynlib state = DYNLIB_INIT;
static struct tlsapi api;

int tlsapi_get(const struct tlsapi **out, struct pk_err *e)
{
    /* libssl's dependencies include libcrypto, where dlsym() on libssl's
     * handle finds the ERR_ and X509_ functions. */
    static const char *const sonames[] = { "libssl.so.3", NULL };
    int rc = dynlib_get(&state, sonames, syms, sizeof(syms) / sizeof(syms[0]), &api, sizeof(api), NULL, e);
    *out = rc ? NULL : &api;
    return rc;
}
