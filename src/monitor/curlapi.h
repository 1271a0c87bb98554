/*
 * curlapi - libcurl, loaded the first time a webhook or an HTTP probe needs
 * it (core/dynlib.h says why). An agent configured with neither never maps
 * libcurl or its dependencies.
 *
 * curlapi_get() loads the library and runs curl_global_init() once per
 * process (any thread may call it); afterwards it returns
 * the same read-only table, valid until exit. On failure e names the
 * library and why, and every later call fails the same way.
 */
#ifndef PK_MONITOR_CURLAPI_H
#define PK_MONITOR_CURLAPI_H

#include <curl/curl.h>

#include "perfkit.h"

struct curlapi {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLcode (*global_init)(long);
};

int curlapi_get(const struct curlapi **out, struct pk_err *e);

#endif
