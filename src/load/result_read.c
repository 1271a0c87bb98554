/*
 * result_read - a result in (result.h): the JSON document that
 * result_write.c writes.
 *
 * The input is untrusted: every key is type- and range-checked, every array
 * and string is capped, and a histogram's layout is checked before it is
 * decoded. Numbers derived from the histograms (percentiles, rps, a
 * second's p50) are not read but computed again from them.
 */
#include "load/result.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "core/base64.h"
#include "core/err.h"
#include "core/files.h"
#include "core/hdrlog.h"
#include "core/jsonio.h"
#include "load/result_impl.h"

/* A histogram of the result layout compresses to at most ~212 KB (V2 counts
 * of 9 bytes each); its base64 is a third longer. */
#define HIST_B64_MAX (1u << 20)

struct rd {
    const char *name;
    struct pk_err *e;
    bool with_series;          /* false: a document's head, the series streamed apart */
    struct result_scratch *sc; /* where each second's histogram is decoded */
};

/* on = the file, what = "key '<path>'", why = the problem. */
static int bad(const struct rd *c, const char *parent, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(const struct rd *c, const char *parent, const char *key, const char *fmt, ...)
{
    char what[sizeof(c->e->what)], why[sizeof(c->e->why)];
    if (parent && key)
        snprintf(what, sizeof(what), "key '%s.%s'", parent, key);
    else
        snprintf(what, sizeof(what), "key '%s'", parent ? parent : key ? key : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return err_set(c->e, PK_EPARSE, c->name, what, "%s", why);
}

static int nomem(const struct rd *c)
{
    return err_errno(c->e, -ENOMEM, c->name, "cannot read the result");
}

static int member(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                  const json_t **v)
{
    *v = json_object_get(obj, key);
    return *v ? 0 : bad(c, parent, key, "missing");
}

static int get_obj(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                   const json_t **v)
{
    int rc = member(c, obj, parent, key, v);
    if (rc == 0 && !json_is_object(*v))
        rc = bad(c, parent, key, "expected an object");
    return rc;
}

static int get_int(const struct rd *c, const json_t *obj, const char *parent, const char *key, int64_t lo,
                   int64_t hi, int64_t *out)
{
    const json_t *v;
    int rc = member(c, obj, parent, key, &v);
    if (rc < 0)
        return rc;
    if (!json_is_integer(v))
        return bad(c, parent, key, "expected an integer");
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return bad(c, parent, key, "%lld is out of range %lld..%lld", (long long)x, (long long)lo,
                   (long long)hi);
    *out = x;
    return 0;
}

static int get_count(const struct rd *c, const json_t *obj, const char *parent, const char *key,
                     uint64_t *out)
{
    int64_t x;
    int rc = get_int(c, obj, parent, key, 0, INT64_MAX, &x);
    if (rc == 0)
        *out = (uint64_t)x;
    return rc;
}

static int get_uint(const struct rd *c, const json_t *obj, const char *parent, const char *key, int64_t lo,
                    unsigned *out)
{
    int64_t x;
    int rc = get_int(c, obj, parent, key, lo, UINT_MAX, &x);
    if (rc == 0)
        *out = (unsigned)x;
    return rc;
}

/* A number in lo..hi; null reads as NaN where the writer writes NaN as null. */
static int get_num(const struct rd *c, const json_t *obj, const char *parent, const char *key, double lo,
                   double hi, bool nullable, double *out)
{
    const json_t *v;
    int rc = member(c, obj, parent, key, &v);
    if (rc < 0)
        return rc;
    if (nullable && json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v))
        return bad(c, parent, key, nullable ? "expected a number or null" : "expected a number");
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return isinf(hi) ? bad(c, parent, key, "%g is negative", x)
                         : bad(c, parent, key, "%g is out of range %g..%g", x, lo, hi);
    *out = x;
    return 0;
}

/* The layout in the V2 header at the start of a compressed histogram,
 * found by inflating its first 40 bytes only, so that a foreign layout is
 * refused before the decoder allocates counts for it (up to ~100 MiB).
 * -1 when the bytes do not get that far (the decoder then says why). */
int result_peek_layout(const uint8_t *z, size_t n, int64_t *lowest, int64_t *highest, int *sigfigs)
{
    if (n < 8 || n - 8 > UINT_MAX)
        return -1;
    uint8_t hdr[HDRLOG_V2_HEADER_LEN];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return -ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)(z + 8);
    zs.avail_in = (uInt)(n - 8);
    zs.next_out = hdr;
    zs.avail_out = sizeof(hdr);
    int r;
    do
        r = inflate(&zs, Z_SYNC_FLUSH);
    while (r == Z_OK && zs.avail_out > 0 && zs.avail_in > 0);
    inflateEnd(&zs);
    if (zs.avail_out != 0)
        return -1;
    uint64_t lo = 0, hi = 0;
    for (int i = 0; i < 8; i++) {
        lo = lo << 8 | hdr[16 + i];
        hi = hi << 8 | hdr[24 + i];
    }
    *sigfigs = (int)((uint32_t)hdr[12] << 24 | (uint32_t)hdr[13] << 16 | (uint32_t)hdr[14] << 8 | hdr[15]);
    *lowest = (int64_t)lo;
    *highest = (int64_t)hi;
    return 0;
}

/* A "hist" string: base64 of a compressed histogram of the result layout.
 * On success *h is initialised (caller destroys it) and, when z is not
 * NULL, the compressed bytes are handed over in *z / *zlen. */
static int read_hist_string(const struct rd *c, const json_t *v, const char *parent, const char *key,
                            struct hist *h, bool into, uint8_t **z, size_t *zlen)
{
    if (!json_is_string(v))
        return bad(c, parent, key, "expected a base64 string");
    size_t n = json_string_length(v);
    if (n > HIST_B64_MAX)
        return bad(c, parent, key, "longer than %u characters", HIST_B64_MAX);
    uint8_t *bytes;
    size_t len;
    int rc = base64_decode(json_string_value(v), n, &bytes, &len);
    if (rc == -ENOMEM)
        return nomem(c);
    if (rc < 0)
        return bad(c, parent, key, "not base64");
    /* A foreign layout is named before a decoder allocates counts for it
     * (up to ~100 MiB); adding into h (of the result layout) allocates
     * none, and refuses it by itself, named then. */
    struct pk_err de;
    pk_err_clear(&de);
    rc = into ? hdrlog_decode_compressed_add(bytes, len, h, &de) : 0;
    int64_t lo, hi;
    int sf, peek = -1;
    if (!into || (rc == PK_EPARSE && !strcmp(de.what, "histogram of another layout")))
        peek = result_peek_layout(bytes, len, &lo, &hi, &sf);
    if (peek == -ENOMEM) {
        free(bytes);
        return nomem(c);
    }
    if (peek == 0 && (lo != RESULT_HIST_LOWEST || hi != RESULT_HIST_HIGHEST || sf != RESULT_HIST_SIGFIGS)) {
        free(bytes);
        return bad(c, parent, key,
                   "histogram layout %lld..%lld at %d digits, not perfkit load's %lld..%lld at %d",
                   (long long)lo, (long long)hi, sf, (long long)RESULT_HIST_LOWEST,
                   (long long)RESULT_HIST_HIGHEST, RESULT_HIST_SIGFIGS);
    }
    if (!into)
        rc = hdrlog_decode_compressed(bytes, len, h, &de);
    if (rc == -ENOMEM) {
        free(bytes);
        return nomem(c);
    }
    if (rc < 0) {
        free(bytes);
        return bad(c, parent, key, "not a compressed HdrHistogram: %s", de.why[0] ? de.why : de.what);
    }
    if (z) {
        *z = bytes;
        *zlen = len;
    } else {
        free(bytes);
    }
    return 0;
}

/* latency_us and friends: the histogram from "hist" replaces *dst; the
 * summary numbers are derived from it and only "count" (which must agree)
 * and "clamped" (not part of HdrHistogram's encoding) are read. */
/* The object root[key] (named parent.key in messages); parent may be NULL. */
static int read_hist_object(const struct rd *c, const json_t *root, const char *parent, const char *key,
                            struct hist *dst)
{
    const json_t *o, *v;
    char label[64];
    if (parent)
        snprintf(label, sizeof(label), "%s.%s", parent, key);
    else
        snprintf(label, sizeof(label), "%s", key);
    int rc = get_obj(c, root, parent, key, &o);
    key = label;
    if (rc == 0)
        rc = member(c, o, key, "hist", &v);
    if (rc < 0)
        return rc;
    uint64_t count = 0, clamped = 0;
    if ((rc = get_count(c, o, key, "count", &count)) < 0 ||
        (rc = get_count(c, o, key, "clamped", &clamped)) < 0)
        return rc;
    struct hist h;
    rc = read_hist_string(c, v, key, "hist", &h, false, NULL, NULL);
    if (rc < 0)
        return rc;
    if ((int64_t)count != hist_total(&h)) {
        rc = bad(c, key, "count", "%llu, but the histogram holds %lld", (unsigned long long)count,
                 (long long)hist_total(&h));
    } else if ((int64_t)clamped > hist_total(&h)) {
        rc = bad(c, key, "clamped", "%llu, more than the count", (unsigned long long)clamped);
    }
    if (rc < 0) {
        hist_destroy(&h);
        return rc;
    }
    h.clamped = (int64_t)clamped;
    hist_destroy(dst);
    *dst = h;
    return 0;
}

static int read_urls(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *a;
    int rc = member(c, root, NULL, "urls", &a);
    if (rc < 0)
        return rc;
    if (!json_is_array(a))
        return bad(c, NULL, "urls", "expected an array");
    size_t n = json_array_size(a);
    if (n > RESULT_URLS_MAX)
        return bad(c, NULL, "urls", "%zu URLs, at most %u", n, (unsigned)RESULT_URLS_MAX);
    if (n == 0)
        return 0;
    r->urls = calloc(n, sizeof(*r->urls));
    if (!r->urls)
        return nomem(c);
    for (size_t i = 0; i < n; i++) {
        const json_t *u = json_array_get(a, i);
        char key[32];
        snprintf(key, sizeof(key), "urls[%zu]", i);
        if (!json_is_string(u))
            return bad(c, key, NULL, "expected a string");
        size_t len = json_string_length(u);
        if (len > RESULT_URL_MAX)
            return bad(c, key, NULL, "longer than %u bytes", (unsigned)RESULT_URL_MAX);
        if (len == 0 || strlen(json_string_value(u)) != len || !result_url_ok(json_string_value(u)))
            return bad(c, key, NULL, "empty or with control characters");
        r->urls[i] = strdup(json_string_value(u));
        if (!r->urls[i])
            return nomem(c);
        r->nurls = i + 1;
    }
    return 0;
}

static int read_errors(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *o;
    int rc = get_obj(c, root, NULL, "errors", &o);
    uint64_t transport = 0;
    if (rc == 0)
        rc = get_count(c, o, "errors", "total", &r->errors);
    if (rc == 0)
        rc = get_count(c, o, "errors", "status", &r->status_errors);
    if (rc == 0)
        rc = get_count(c, o, "errors", "transport", &transport);
    /* files written before dropped requests were counted have none */
    if (rc == 0 && json_object_get(o, "dropped"))
        rc = get_count(c, o, "errors", "dropped", &r->dropped);
    if (rc < 0)
        return rc;
    uint64_t sum = 0;
    size_t names = 0;
    for (int p = 0; p < LOAD_PHASE_COUNT; p++) {
        const json_t *ph;
        json_t *v;
        const char *name;
        size_t n;
        char parent[32];
        const char *phase = result_phase_name((enum load_phase)p);
        snprintf(parent, sizeof(parent), "errors.%s", phase);
        if ((rc = get_obj(c, o, "errors", phase, &ph)) < 0)
            return rc;
        /* With the key's length: "\u0000" inside a key must not cut it. */
        json_object_keylen_foreach((json_t *)ph, name, n, v)
        {
            char q[RESULT_ERROR_NAME_MAX + 16];
            err_quote(name, n, q, sizeof(q));
            if (++names > RESULT_ERROR_NAMES_MAX)
                return bad(c, parent, NULL, "more than %u error names", RESULT_ERROR_NAMES_MAX);
            if (n == 0 || n > RESULT_ERROR_NAME_MAX)
                return bad(c, parent, q, "an error name is 1 to %u bytes", RESULT_ERROR_NAME_MAX);
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f)
                    return bad(c, parent, q, "an error name is printable ASCII");
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return bad(c, parent, q, "expected an integer >= 0");
            uint64_t count = (uint64_t)json_integer_value(v);
            if (__builtin_add_overflow(sum, count, &sum) || sum > INT64_MAX)
                return bad(c, parent, q, "the error counts add up past 2^63-1");
            result_error_add(r, (enum load_phase)p, name, count);
        }
    }
    if (transport != sum)
        return bad(c, "errors", "transport", "%llu, but the phases add up to %llu",
                   (unsigned long long)transport, (unsigned long long)sum);
    return 0;
}

/* root.status_codes into status[] (parent names root in messages). */
static int read_status(const struct rd *c, const json_t *root, const char *parent, uint64_t *status)
{
    const json_t *o;
    json_t *v;
    const char *key;
    size_t n;
    char label[48];
    snprintf(label, sizeof(label), "%s%sstatus_codes", parent ? parent : "", parent ? "." : "");
    int rc = get_obj(c, root, parent, "status_codes", &o);
    if (rc < 0)
        return rc;
    json_object_keylen_foreach((json_t *)o, key, n, v)
    {
        char q[32];
        err_quote(key, n, q, sizeof(q));
        int code = -1;
        if (n == 3 && key[0] >= '1' && key[0] <= '5' && key[1] >= '0' && key[1] <= '9' && key[2] >= '0' &&
            key[2] <= '9')
            code = (key[0] - '0') * 100 + (key[1] - '0') * 10 + (key[2] - '0');
        if (code < 100 || code >= RESULT_STATUS_MAX)
            return bad(c, label, q, "not a status code 100..599");
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return bad(c, label, q, "expected an integer >= 0");
        status[code] = (uint64_t)json_integer_value(v);
    }
    return 0;
}

/* o.errors of a group or a stage: total = status + transport + dropped. */
static int read_part_errors(const struct rd *c, const json_t *o, const char *parent, uint64_t *errors,
                            uint64_t *status, uint64_t *dropped)
{
    char label[48];
    snprintf(label, sizeof(label), "%s.errors", parent);
    const json_t *x;
    uint64_t transport = 0;
    int rc;
    if ((rc = get_obj(c, o, parent, "errors", &x)) < 0 ||
        (rc = get_count(c, x, label, "total", errors)) < 0 ||
        (rc = get_count(c, x, label, "status", status)) < 0 ||
        (rc = get_count(c, x, label, "transport", &transport)) < 0 ||
        (rc = get_count(c, x, label, "dropped", dropped)) < 0)
        return rc;
    if (*status > *errors || transport > *errors - *status || *dropped != *errors - *status - transport)
        return bad(c, label, "total", "%llu, but status, transport and dropped add up to another",
                   (unsigned long long)*errors);
    return 0;
}

/* by_request: optional (files of perfkit versions that did not keep it). */
static int read_groups(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *a = json_object_get(root, "by_request");
    if (!a)
        return 0;
    if (!json_is_array(a))
        return bad(c, NULL, "by_request", "expected an array");
    if (json_array_size(a) > RESULT_GROUPS_MAX)
        return bad(c, NULL, "by_request", "%zu names, at most %u", json_array_size(a), RESULT_GROUPS_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *o = json_array_get(a, i), *v;
        char p[40];
        snprintf(p, sizeof(p), "by_request[%zu]", i);
        if (!json_is_object(o))
            return bad(c, p, NULL, "expected an object");
        int rc = member(c, o, p, "name", &v);
        if (rc < 0)
            return rc;
        const char *name = json_is_string(v) ? json_string_value(v) : NULL;
        if (!name || json_string_length(v) > RESULT_NAME_MAX || strlen(name) != json_string_length(v) ||
            !result_url_ok(name))
            return bad(c, p, "name", "a name is a string of 1 to %u bytes without control characters",
                       (unsigned)RESULT_NAME_MAX);
        for (size_t k = 0; k < r->ngroups; k++)
            if (strcmp(r->groups[k].name, name) == 0)
                return bad(c, p, "name", "given twice");
        struct result_group *g;
        if ((rc = result_group_add(r, name, &g, c->e)) < 0)
            return rc == -ENOMEM ? nomem(c) : rc;
        if ((rc = get_count(c, o, p, "requests", &g->requests)) < 0 ||
            (rc = read_part_errors(c, o, p, &g->errors, &g->status_errors, &g->dropped)) < 0 ||
            (rc = read_status(c, o, p, g->status)) < 0 ||
            (rc = read_hist_object(c, o, p, "latency_us", &g->latency)) < 0)
            return rc;
    }
    return 0;
}

/* stages: optional, as by_request. */
static int read_stages(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *a = json_object_get(root, "stages");
    if (!a)
        return 0;
    if (!json_is_array(a))
        return bad(c, NULL, "stages", "expected an array");
    if (json_array_size(a) > RESULT_STAGES_MAX)
        return bad(c, NULL, "stages", "%zu stages, at most %u", json_array_size(a), RESULT_STAGES_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *o = json_array_get(a, i);
        char p[40];
        snprintf(p, sizeof(p), "stages[%zu]", i);
        if (!json_is_object(o))
            return bad(c, p, NULL, "expected an object");
        struct result_stage *s;
        int64_t idx;
        int rc = get_int(c, o, p, "stage", 0, INT64_MAX, &idx);
        if (rc < 0)
            return rc;
        if ((uint64_t)idx != i)
            return bad(c, p, "stage", "%lld, expected %zu (in order)", (long long)idx, i);
        if ((rc = result_stage_add(r, &s, c->e)) < 0)
            return rc == -ENOMEM ? nomem(c) : rc;
        if ((rc = get_count(c, o, p, "target", &s->target)) < 0 ||
            (rc = get_num(c, o, p, "start_s", -DURATION_MAX_S, DURATION_MAX_S, false, &s->start_s)) < 0 ||
            (rc = get_num(c, o, p, "length_s", 0, DURATION_MAX_S, false, &s->length_s)) < 0 ||
            (rc = get_num(c, o, p, "duration_s", 0, DURATION_MAX_S, false, &s->duration_s)) < 0 ||
            (rc = get_count(c, o, p, "requests", &s->requests)) < 0 ||
            (rc = read_part_errors(c, o, p, &s->errors, &s->status_errors, &s->dropped)) < 0 ||
            (rc = read_hist_object(c, o, p, "latency_us", &s->latency)) < 0)
            return rc;
    }
    return 0;
}

static int read_second(const struct rd *c, const json_t *o, size_t i, bool host, struct result_second *s)
{
    char p[40];
    snprintf(p, sizeof(p), "series[%zu]", i);
    if (!json_is_object(o))
        return bad(c, p, NULL, "expected an object");
    int64_t t;
    int rc;
    if ((rc = get_int(c, o, p, "t", 0, INT64_MAX, &t)) < 0)
        return rc;
    if ((uint64_t)t != i)
        return bad(c, p, "t", "%lld, expected %zu (one entry per second, in order)", (long long)t, i);
    if ((rc = get_count(c, o, p, "requests", &s->requests)) < 0 ||
        (rc = get_count(c, o, p, "errors", &s->errors)) < 0 ||
        (rc = get_count(c, o, p, "bytes_in", &s->bytes_in)) < 0 ||
        (rc = get_count(c, o, p, "bytes_out", &s->bytes_out)) < 0)
        return rc;
    if (host) {
        if ((rc = get_num(c, o, p, "cpu_pct", 0, 1e6, true, &s->cpu_pct)) < 0 ||
            (rc = get_num(c, o, p, "mem_used_pct", 0, 1e6, true, &s->mem_used_pct)) < 0 ||
            (rc = get_num(c, o, p, "net_rx_bytes_per_s", 0, INFINITY, true, &s->net_rx_bps)) < 0 ||
            (rc = get_num(c, o, p, "net_tx_bytes_per_s", 0, INFINITY, true, &s->net_tx_bps)) < 0)
            return rc;
    }
    const json_t *v;
    if ((rc = member(c, o, p, "hist", &v)) < 0)
        return rc;
    if (json_is_null(v)) {
        /* No histogram to derive them from: as written. */
        if ((rc = get_int(c, o, p, "p50_us", 0, HIST_VALUE_MAX, &s->p50_us)) < 0 ||
            (rc = get_int(c, o, p, "p99_us", 0, HIST_VALUE_MAX, &s->p99_us)) < 0 ||
            (rc = get_int(c, o, p, "max_us", 0, HIST_VALUE_MAX, &s->max_us)) < 0)
            return rc;
        return 0;
    }
    /* decoded into the reader's scratch histogram, not one of its own */
    struct hist *h;
    if ((rc = result_scratch_get(c->sc, &h, c->e)) < 0)
        return nomem(c);
    if ((rc = read_hist_string(c, v, p, "hist", h, true, &s->hist_z, &s->hist_z_len)) < 0)
        return rc;
    /* Derived from the histogram, as result_second_set_hist() does. */
    result_second_stats(s, h);
    return 0;
}

static int read_series(const struct rd *c, const json_t *root, struct load_result *r)
{
    const json_t *a;
    int rc = member(c, root, NULL, "series", &a);
    if (rc < 0)
        return rc;
    if (!json_is_array(a))
        return bad(c, NULL, "series", "expected an array");
    size_t n = json_array_size(a);
    if (n > RESULT_SERIES_MAX)
        return bad(c, NULL, "series", "%zu seconds, at most %u", n, (unsigned)RESULT_SERIES_MAX);
    if (n == 0)
        return 0;
    r->series = result_series_alloc(n);
    if (!r->series)
        return nomem(c);
    r->nseries = n;
    for (size_t i = 0; i < n; i++)
        if ((rc = read_second(c, json_array_get(a, i), i, r->host_metrics, &r->series[i])) < 0)
            return rc;
    return 0;
}

static int from_json(const struct rd *c, const json_t *root, struct load_result *r)
{
    if (!json_is_object(root))
        return err_set(c->e, PK_EPARSE, c->name, "top level", "expected an object");
    const json_t *v;
    int64_t version;
    if (!json_object_get(root, "perfkit_load"))
        return bad(c, NULL, "perfkit_load", "missing: not a perfkit load result");
    int rc = get_int(c, root, NULL, "perfkit_load", INT64_MIN, INT64_MAX, &version);
    if (rc < 0)
        return rc;
    if (version != RESULT_FORMAT_VERSION)
        return bad(c, NULL, "perfkit_load", "format version %lld, this perfkit reads %d", (long long)version,
                   RESULT_FORMAT_VERSION);
    if ((rc = member(c, root, NULL, "model", &v)) < 0)
        return rc;
    const char *model = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(model, "open") != 0 && strcmp(model, "closed") != 0)
        return bad(c, NULL, "model", "expected \"open\" or \"closed\"");
    r->open_model = model[0] == 'o';

    if ((rc = get_int(c, root, NULL, "start_ms", 0, START_MS_MAX, &r->start_ms)) < 0 ||
        (rc = get_num(c, root, NULL, "duration_s", 0, DURATION_MAX_S, false, &r->duration_s)) < 0 ||
        (rc = get_num(c, root, NULL, "warmup_s", 0, DURATION_MAX_S, false, &r->warmup_s)) < 0 ||
        (rc = get_uint(c, root, NULL, "threads", 0, &r->threads)) < 0 ||
        (rc = get_uint(c, root, NULL, "connections", 0, &r->connections)) < 0 ||
        (rc = get_uint(c, root, NULL, "pipeline", 0, &r->pipeline)) < 0 ||
        (rc = get_uint(c, root, NULL, "sources", 1, &r->sources)) < 0)
        return rc;
    if ((rc = read_urls(c, root, r)) < 0)
        return rc;

    const json_t *o;
    if ((rc = get_count(c, root, NULL, "requests", &r->requests)) < 0 || (rc = read_errors(c, root, r)) < 0 ||
        (rc = get_count(c, root, NULL, "unfinished", &r->unfinished)) < 0 ||
        (rc = get_obj(c, root, NULL, "bytes", &o)) < 0 ||
        (rc = get_count(c, o, "bytes", "in", &r->bytes_in)) < 0 ||
        (rc = get_count(c, o, "bytes", "out", &r->bytes_out)) < 0 ||
        (rc = get_count(c, root, NULL, "connects", &r->connects)) < 0 ||
        (rc = read_status(c, root, NULL, r->status)) < 0)
        return rc;

    if ((rc = read_hist_object(c, root, NULL, "latency_us", &r->latency)) < 0 ||
        (rc = read_hist_object(c, root, NULL, "connect_us", &r->connect)) < 0)
        return rc;
    if (r->open_model) {
        if ((rc = read_hist_object(c, root, NULL, "latency_uncorrected_us", &r->latency_uncorrected)) < 0 ||
            (rc = get_obj(c, root, NULL, "rate", &o)) < 0 ||
            (rc = get_num(c, o, "rate", "target", 0, INFINITY, true, &r->rate_target)) < 0 ||
            (rc = get_num(c, o, "rate", "achieved", 0, INFINITY, true, &r->rate_achieved)) < 0 ||
            (json_object_get(o, "due") && (rc = get_count(c, o, "rate", "due", &r->due)) < 0) ||
            (rc = get_count(c, o, "rate", "sends", &r->sends)) < 0 ||
            (rc = get_count(c, o, "rate", "late_sends", &r->late_sends)) < 0 ||
            (rc = get_int(c, o, "rate", "lateness_max_us", 0, INT64_MAX, &r->lateness_max_us)) < 0)
            return rc;
    } else {
        /* The closed model measures both from the write: one histogram. */
        hist_reset(&r->latency_uncorrected);
        if (hist_merge(&r->latency_uncorrected, &r->latency, NULL) == 0)
            r->latency_uncorrected.clamped = r->latency.clamped;
    }

    /* Thresholds and warnings are outputs of the run that wrote the file,
     * not part of a result: a merge evaluates its own. Shape only. */
    if ((v = json_object_get(root, "thresholds")) && !json_is_array(v))
        return bad(c, NULL, "thresholds", "expected an array");
    if ((rc = get_obj(c, root, NULL, "self_check", &o)) < 0 ||
        (rc = get_num(c, o, "self_check", "generator_cpu", 0, 1e6, true, &r->generator_cpu)) < 0)
        return rc;
    if ((v = json_object_get(o, "warnings")) && !json_is_array(v))
        return bad(c, "self_check", "warnings", "expected an array");

    if ((rc = member(c, root, NULL, "host_metrics", &v)) < 0)
        return rc;
    if (!json_is_boolean(v))
        return bad(c, NULL, "host_metrics", "expected true or false");
    r->host_metrics = json_is_true(v);
    if ((rc = read_groups(c, root, r)) < 0 || (rc = read_stages(c, root, r)) < 0)
        return rc;
    /* streamed (result_stream.c): the caller reads the series itself */
    if (!c->with_series)
        return 0;
    return read_series(c, root, r);
}

int result_read_head(const json_t *root, const char *name, struct load_result *r, struct pk_err *e)
{
    struct rd c = { name, e, false, NULL };
    return from_json(&c, root, r);
}

int result_read_second(const json_t *o, size_t i, bool host, const char *name, struct result_second *s,
                       struct result_scratch *sc, struct pk_err *e)
{
    struct rd c = { name, e, true, sc };
    result_second_clear(s);
    int rc = read_second(&c, o, i, host, s);
    if (rc < 0) {
        free(s->hist_z);
        s->hist_z = NULL;
    }
    return rc;
}

/* r is result_init()ed. */
static int parse_into(const char *text, size_t len, const char *name, struct load_result *r, struct pk_err *e)
{
    json_t *root;
    int rc = jsonio_parse(text, len, name, &root, e);
    if (rc < 0)
        return rc;
    struct result_scratch sc = { 0 };
    struct rd c = { name, e, true, &sc };
    rc = from_json(&c, root, r);
    result_scratch_destroy(&sc);
    json_decref(root);
    return rc;
}

int result_parse_json(const char *text, size_t len, const char *name, struct load_result *r, struct pk_err *e)
{
    if (!name)
        name = "<input>";
    int rc = result_init(r, e);
    if (rc < 0)
        return rc;
    if (!text)
        return err_set(e, -EINVAL, name, "cannot read the result", "no text");
    return parse_into(text, len, name, r, e);
}

int result_read_json(const char *path, struct load_result *r, struct pk_err *e)
{
    int rc = result_init(r, e);
    if (rc < 0)
        return rc;
    if (!path)
        return err_set(e, -EINVAL, "result", "cannot read the result", "no path");
    char *text;
    size_t len;
    rc = files_read_all(path, RESULT_JSON_MAX_BYTES, &text, &len, e);
    if (rc < 0)
        return rc;
    rc = parse_into(text, len, path, r, e);
    free(text);
    return rc;
}
