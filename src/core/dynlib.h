/*
 * dynlib - a shared library opened at run time, the first time a feature
 * needs it, and its functions resolved into a caller's table.
 *
 * Why: libcurl (webhooks, HTTP probes) and OpenSSL (https:// load) drag in
 * some thirty libraries whose loading alone costs a resident process several
 * MiB; perfkit monitor without webhooks, or any tool without https, should not
 * pay for them. Linking them normally would map them at every start.
 *
 * Contract: dynlib_load() opens the first soname in `sonames` (NULL-ended)
 * that loads, and stores dlsym() of each syms[i].name into the function
 * pointer at byte offset syms[i].offset of `table`. On failure it fills e
 * (which library or symbol, and why) and leaves the table untouched. The
 * library stays loaded until exit (handles are never closed).
 *
 * dynlib_get() is what callers use: the first call loads into `table`
 * (then runs `after`, e.g. a library's global init, if not NULL), later calls
 * return the first call's outcome, from any thread (d's mutex).
 */
#ifndef PK_CORE_DYNLIB_H
#define PK_CORE_DYNLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "perfkit.h"

struct dynlib_sym {
    const char *name;
    size_t offset; /* of a function pointer in the caller's table */
};

/* One optional library's loading state; static, initialised with DYNLIB_INIT. */
struct dynlib {
    pthread_mutex_t mu;
    bool tried;
    int rc;
    struct pk_err err;
};
#define DYNLIB_INIT                          \
    {                                        \
        PTHREAD_MUTEX_INITIALIZER, false, 0, \
        {                                    \
            0                                \
        }                                    \
    }

int dynlib_get(struct dynlib *d, const char *const *sonames, const struct dynlib_sym *syms, size_t n,
               void *table, size_t table_size, int (*after)(void *table, struct pk_err *e), struct pk_err *e);

int dynlib_load(const char *const *sonames, const struct dynlib_sym *syms, size_t n, void *table,
                size_t table_size, struct pk_err *e);

#endif
