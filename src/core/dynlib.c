#define _GNU_SOURCE
#include "core/dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int dynlib_load(const char *const *sonames, const struct dynlib_sym *syms, size_t n, void *table,
                size_t table_size, struct pk_err *e)
{
    void *h = NULL;
    const char *why = "no library name given";
    const char *name = sonames[0] ? sonames[0] : "?";
    for (size_t i = 0; sonames[i] && !h; i++) {
        /* RTLD_LOCAL: the library's symbols must not interpose on anything
         * loaded later; RTLD_NOW: a missing symbol fails here, not mid-run. */
        h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *d = dlerror();
            why = d ? d : "dlopen failed";
            if (i == 0)
                name = sonames[0];
        }
    }
    if (!h)
        return err_set(e, -ENOENT, name, "cannot load the library", "%s", why);

    /* Resolve into a scratch copy so a failure leaves the table as it was. */
    unsigned char *tmp = malloc(table_size);
    if (!tmp)
        return err_errno(e, -ENOMEM, name, "cannot load the library");
    memcpy(tmp, table, table_size);
    for (size_t i = 0; i < n; i++) {
        dlerror();
        void *f = dlsym(h, syms[i].name);
        if (!f || syms[i].offset + sizeof(f) > table_size) {
            const char *d = dlerror();
            int rc = err_set(e, -ENOENT, name, "the library lacks a function perfkit needs", "%s: %s",
                             syms[i].name, d ? d : "not found");
            free(tmp);
            return rc;
        }
        /* POSIX guarantees that a function's address survives the round
         * trip through void *. */
        memcpy(tmp + syms[i].offset, &f, sizeof(f));
    }
    memcpy(table, tmp, table_size);
    free(tmp);
    return 0;
}

int dynlib_get(struct dynlib *d, const char *const *sonames, const struct dynlib_sym *syms, size_t n,
               void *table, size_t table_size, int (*after)(void *table, struct pk_err *e), struct pk_err *e)
{
    pthread_mutex_lock(&d->mu);
    if (!d->tried) {
        d->rc = dynlib_load(sonames, syms, n, table, table_size, &d->err);
        if (!d->rc && after)
            d->rc = after(table, &d->err);
        d->tried = true;
    }
    int rc = d->rc;
    if (rc && e)
        *e = d->err;
    pthread_mutex_unlock(&d->mu);
    return rc;
}
