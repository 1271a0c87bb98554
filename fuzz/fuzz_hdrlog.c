/*
 * fuzz_hdrlog - HdrHistogram's V2 and compressed decoders and the interval
 * log parser on arbitrary bytes.
 *
 * The first byte picks how the rest is used, so that the fuzzer reaches the
 * count decoding without having to find a valid zlib stream or layout first:
 *   0: the bytes to both decoders as they are;
 *   1: the bytes deflated and wrapped as a compressed histogram;
 *   2: a valid V2 header (layout from the next byte) around the bytes as counts;
 *   3: the bytes as log text, line by line and whole.
 * Besides memory errors it checks the contracts: a failure is PK_EPARSE or
 * -ENOMEM with the error filled and the output untouched; a decoded
 * histogram has non-negative counts that sum to its total, renders, and
 * encodes to bytes that decode to the same counts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/err.h"
#include "core/hdrlog.h"
#include "core/hist.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

static void check_failure(int rc, const struct pk_err *e, const struct hist *h)
{
    CHECK(rc == PK_EPARSE || rc == -ENOMEM);
    CHECK(e->code == rc);
    CHECK(e->what[0] != '\0');
    static const struct hist untouched;
    CHECK(memcmp(h, &untouched, sizeof(*h)) == 0);
}

static void check_same(const struct hist *a, const struct hist *b)
{
    CHECK(hist_same_layout(a, b));
    CHECK(memcmp(a->counts, b->counts, (size_t)a->counts_len * sizeof(*a->counts)) == 0);
    CHECK(hist_total(a) == hist_total(b));
    CHECK(hist_max(a) == hist_max(b));
    CHECK(hist_min(a) == hist_min(b));
}

static void check_decoded(const struct hist *h)
{
    int64_t sum = 0;
    for (int i = 0; i < h->counts_len; i++) {
        CHECK(h->counts[i] >= 0);
        CHECK(!__builtin_add_overflow(sum, h->counts[i], &sum));
    }
    CHECK(sum == hist_total(h));
    CHECK(hist_min(h) <= hist_max(h));
    int64_t p50 = hist_value_at_percentile(h, 50), p99 = hist_value_at_percentile(h, 99);
    CHECK(p50 <= p99 && p99 <= hist_max(h));

    char *text;
    if (hdrlog_spectrum(h, 5, 1000.0, &text, NULL, NULL) == 0)
        free(text);

    uint8_t *p;
    size_t len;
    struct hist back;
    if (hdrlog_encode(h, &p, &len, NULL) == 0) {
        CHECK(hdrlog_decode(p, len, &back, NULL) == 0);
        check_same(h, &back);
        hist_destroy(&back);
        free(p);
    }
    if (hdrlog_encode_compressed(h, 1, &p, &len, NULL) == 0) {
        CHECK(hdrlog_decode_compressed(p, len, &back, NULL) == 0);
        check_same(h, &back);
        hist_destroy(&back);
        free(p);
    }
}

static void decode_both(const uint8_t *p, size_t n)
{
    struct hist h;
    struct pk_err e;
    memset(&h, 0, sizeof(h));
    pk_err_clear(&e);
    int rc = hdrlog_decode(p, n, &h, &e);
    if (rc == 0) {
        check_decoded(&h);
        hist_destroy(&h);
    } else {
        check_failure(rc, &e, &h);
    }
    pk_err_clear(&e);
    rc = hdrlog_decode_compressed(p, n, &h, &e);
    /* Added into a histogram (of the result layout, holding one value):
     * accepted exactly when decoded, with that layout, to the sum; refused
     * with the histogram untouched. */
    struct hist sum;
    if (hist_init(&sum, 1, 3600000000LL, 3, NULL) != 0) {
        hist_destroy(&h);
        return;
    }
    hist_record(&sum, 777);
    struct pk_err ae;
    pk_err_clear(&ae);
    int arc = hdrlog_decode_compressed_add(p, n, &sum, &ae);
    bool same_layout =
        rc == 0 && h.lowest == sum.lowest && h.highest == sum.highest && h.sigfigs == sum.sigfigs;
    if (arc == 0) {
        CHECK(same_layout);
        CHECK(hist_total(&sum) == hist_total(&h) + 1);
        hist_record_n(&h, 777, 1);
        CHECK(memcmp(sum.counts, h.counts, (size_t)h.counts_len * sizeof(*h.counts)) == 0);
        CHECK(hist_max(&sum) == hist_max(&h) && hist_min(&sum) == hist_min(&h));
    } else {
        CHECK(arc == PK_EPARSE || arc == -ENOMEM || arc == -EOVERFLOW);
        CHECK(ae.code == arc && ae.what[0] != '\0');
        CHECK(!same_layout || arc == -ENOMEM);
        CHECK(hist_total(&sum) == 1 && sum.counts[hist_index_of(&sum, 777)] == 1);
    }
    hist_destroy(&sum);
    if (rc == 0) {
        check_decoded(&h);
        hist_destroy(&h);
    } else {
        check_failure(rc, &e, &h);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static void wrapped(const uint8_t *p, size_t n)
{
    uLongf zl = compressBound((uLong)n);
    uint8_t *z = malloc(8 + zl);
    if (!z)
        return;
    if (compress2(z + 8, &zl, p, (uLong)n, 1) == Z_OK) {
        put32(z, HDRLOG_V2_COMPRESSED_COOKIE);
        put32(z + 4, (uint32_t)zl);
        decode_both(z, 8 + zl);
    }
    free(z);
}

static void with_header(const uint8_t *p, size_t n)
{
    static const struct {
        int64_t lo, hi;
        int d;
    } layouts[] = {
        { 1, 3600000000LL, 3 }, { 1, 1000, 1 }, { 1000, 100000000, 2 },
        { 1, INT64_MAX, 2 },    { 1, 2, 1 },    { 7, 1 << 20, 4 },
    };
    if (n == 0)
        return;
    size_t which = p[0] % (sizeof(layouts) / sizeof(layouts[0]));
    p++;
    n--;
    uint8_t *b = malloc(40 + n);
    if (!b)
        return;
    put32(b, HDRLOG_V2_COOKIE);
    put32(b + 4, (uint32_t)n);
    put32(b + 8, 0);
    put32(b + 12, (uint32_t)layouts[which].d);
    put64(b + 16, (uint64_t)layouts[which].lo);
    put64(b + 24, (uint64_t)layouts[which].hi);
    put64(b + 32, UINT64_C(0x3ff0000000000000));
    memcpy(b + 40, p, n);
    decode_both(b, 40 + n);
    free(b);
}

static void as_log(const uint8_t *p, size_t n)
{
    const char *text = (const char *)p;
    size_t at = 0;
    while (at < n) {
        const char *nl = memchr(text + at, '\n', n - at);
        size_t end = nl ? (size_t)(nl - text) : n;
        struct hdrlog_line line;
        struct pk_err e;
        pk_err_clear(&e);
        int rc = hdrlog_parse_line(text + at, end - at, &line, &e);
        /* Kept compressed: the same line, whose bytes decode to the same
         * histogram (a line refused only for its histogram's bytes may
         * pass, undecoded). */
        struct hdrlog_line z;
        int zrc = hdrlog_parse_line_z(text + at, end - at, &z, NULL);
        if (rc == 0)
            CHECK(zrc == 0 && z.kind == line.kind && !z.hist.counts);
        if (zrc == 0 && z.kind == HDRLOG_INTERVAL) {
            struct hist h;
            int drc = hdrlog_decode_compressed(z.z, z.z_len, &h, NULL);
            CHECK((drc == 0) == (rc == 0) || drc == -ENOMEM || rc == -ENOMEM);
            if (drc == 0 && rc == 0)
                check_same(&h, &line.hist);
            if (drc == 0)
                hist_destroy(&h);
            free(z.z);
        }
        if (rc < 0) {
            check_failure(rc, &e, &line.hist);
        } else if (line.kind == HDRLOG_INTERVAL) {
            check_decoded(&line.hist);
            /* What the writer makes of it parses back to the same counts. */
            char *out;
            size_t len;
            if (hdrlog_interval(&line.hist, 0.0, 1.0, 1.0, line.tag[0] ? line.tag : NULL, &out, &len, NULL) ==
                0) {
                struct hdrlog_line again;
                CHECK(len > 0 && out[len - 1] == '\n');
                CHECK(hdrlog_parse_line(out, len - 1, &again, NULL) == 0);
                CHECK(again.kind == HDRLOG_INTERVAL);
                CHECK(strcmp(again.tag, line.tag) == 0);
                check_same(&line.hist, &again.hist);
                hist_destroy(&again.hist);
                free(out);
            }
            hist_destroy(&line.hist);
        }
        at = end + 1;
    }

    struct hist sum;
    struct pk_err e;
    memset(&sum, 0, sizeof(sum));
    pk_err_clear(&e);
    int rc = hdrlog_read(text, n, "fuzz", NULL, &sum, NULL, &e);
    if (rc < 0)
        CHECK(e.code == rc && strncmp(e.on, "fuzz:", 5) == 0);
    else if (sum.counts)
        check_decoded(&sum);
    hist_destroy(&sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] & 3) {
    case 0: decode_both(p, n); break;
    case 1: wrapped(p, n); break;
    case 2: with_header(p, n); break;
    default: as_log(p, n); break;
    }
    return 0;
}
