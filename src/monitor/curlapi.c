#define _GNU_SOURCE
#include "monitor/curlapi.h"

#include <errno.h>
#include <stddef.h>

#include "core/dynlib.h"
#include "core/err.h"

#define SYM(f)                                  \
    {                                           \
        "curl_" #f, offsetof(struct curlapi, f) \
    }
static const struct dynlib_sym syms[] = {
    SYM(easy_init),     SYM(easy_setopt),  SYM(easy_perform),   SYM(easy_getinfo), SYM(easy_cleanup),
    SYM(easy_strerror), SYM(slist_append), SYM(slist_free_all), SYM(global_init),
};
#undef SYM

/* Process-wide by nature (a loaded library is): filled once under
 * state's mutex, read-only afterwards. */
static struct dynlib state = DYNLIB_INIT;
static struct curlapi api;

static int global_init(void *table, struct pk_err *e)
{
    const struct curlapi *t = table;
    CURLcode cc = t->global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK)
        return err_set(e, -ENOMEM, "libcurl", "cannot initialise libcurl", "%s", t->easy_strerror(cc));
    return 0;
}

int curlapi_get(const struct curlapi **out, struct pk_err *e)
{
    static const char *const sonames[] = { "libcurl.so.4", "libcurl-gnutls.so.4", NULL };
    int rc =
        dynlib_get(&state, sonames, syms, sizeof(syms) / sizeof(syms[0]), &api, sizeof(api), global_init, e);
    *out = rc ? NULL : &api;
    return rc;
}
