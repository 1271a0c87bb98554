#include "core/hdrlog.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/check.h"
#include "core/err.h"
#include "core/hdrlog_impl.h"

#define COOKIE_BASE_MASK   (~0xf0u)
#define V2_COOKIE_BASE     0x1c849303u
#define V2_COMPRESSED_BASE 0x1c849304u
#define V1_COOKIE_BASE     0x1c849301u
#define V1_COMPRESSED_BASE 0x1c849302u
#define V0_COOKIE_BASE     0x1c849308u
#define V0_COMPRESSED_BASE 0x1c849309u
#define ZIGZAG_MAX         9

/* ---- big-endian fields */

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

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* ---- ZigZag LEB128-64b9B: 7 bits a byte for 8 bytes, then a whole 9th byte */

static size_t zigzag_put(uint8_t *p, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
    for (size_t i = 0; i < ZIGZAG_MAX - 1; i++) {
        if (u < 0x80) {
            p[i] = (uint8_t)u;
            return i + 1;
        }
        p[i] = (uint8_t)((u & 0x7f) | 0x80);
        u >>= 7;
    }
    p[ZIGZAG_MAX - 1] = (uint8_t)u;
    return ZIGZAG_MAX;
}

/* Bytes used, or 0 when the number runs past the end. */
static size_t zigzag_get(const uint8_t *p, size_t n, int64_t *out)
{
    uint64_t u = 0;
    size_t used = 0;
    for (size_t i = 0; i < ZIGZAG_MAX; i++) {
        if (i >= n)
            return 0;
        if (i == ZIGZAG_MAX - 1) {
            u |= (uint64_t)p[i] << 56;
            used = ZIGZAG_MAX;
            break;
        }
        u |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            used = i + 1;
            break;
        }
    }
    *out = (int64_t)((u >> 1) ^ (0 - (u & 1)));
    return used;
}

/* ---- V2 encoding */

static size_t encoded_max(const struct hist *h)
{
    return HDRLOG_V2_HEADER_LEN + (size_t)(hist_index_of(h, hist_max(h)) + 1) * ZIGZAG_MAX;
}

/* The V2 bytes into p (encoded_max() bytes); returns the length. */
static size_t encode_into(const struct hist *h, uint8_t *p)
{
    /* Counts up to the max value's bucket only; HdrHistogram writes one
     * count (0) for an empty histogram. */
    int limit = hist_index_of(h, hist_max(h)) + 1;
    size_t at = HDRLOG_V2_HEADER_LEN;
    for (int i = 0; i < limit;) {
        int64_t count = h->counts[i++];
        if (count == 0) {
            int64_t zeros = 1;
            while (i < limit && h->counts[i] == 0) {
                zeros++;
                i++;
            }
            at += zigzag_put(p + at, zeros > 1 ? -zeros : 0);
        } else {
            at += zigzag_put(p + at, count);
        }
    }
    double ratio = 1.0;
    uint64_t ratio_bits;
    memcpy(&ratio_bits, &ratio, sizeof(ratio_bits));
    put32(p, HDRLOG_V2_COOKIE);
    put32(p + 4, (uint32_t)(at - HDRLOG_V2_HEADER_LEN));
    put32(p + 8, 0);
    put32(p + 12, (uint32_t)h->sigfigs);
    put64(p + 16, (uint64_t)h->lowest);
    put64(p + 24, (uint64_t)h->highest);
    put64(p + 32, ratio_bits);
    PK_ASSERT(at <= encoded_max(h)); /* the caller's buffer */
    return at;
}

int hdrlog_encode(const struct hist *h, uint8_t **out, size_t *len, struct pk_err *e)
{
    uint8_t *p = malloc(encoded_max(h));
    if (!p)
        return err_errno(e, -ENOMEM, "histogram", "cannot encode");
    *len = encode_into(h, p);
    *out = p;
    return 0;
}

int hdrlog_encode_compressed(const struct hist *h, int level, uint8_t **out, size_t *len, struct pk_err *e)
{
    if (level < -1 || level > 9)
        return err_set(e, -EINVAL, "histogram", "cannot compress", "zlib level %d", level);
    int rc;
    uint8_t *raw = malloc(encoded_max(h));
    if (!raw)
        return err_errno(e, -ENOMEM, "histogram", "cannot compress");
    size_t raw_len = encode_into(h, raw);
    uLong bound = compressBound((uLong)raw_len);
    uint8_t *z = malloc(8 + (size_t)bound);
    if (!z) {
        rc = err_errno(e, -ENOMEM, "histogram", "cannot compress");
        goto fail_raw;
    }
    uLongf z_len = bound;
    int zrc = compress2(z + 8, &z_len, raw, (uLong)raw_len, level);
    if (zrc != Z_OK || z_len > INT32_MAX) {
        rc = err_set(e, zrc == Z_MEM_ERROR ? -ENOMEM : -EIO, "histogram", "cannot compress", "zlib error %d",
                     zrc);
        goto fail_z;
    }
    put32(z, HDRLOG_V2_COMPRESSED_COOKIE);
    put32(z + 4, (uint32_t)z_len);
    free(raw);
    *out = z;
    *len = 8 + (size_t)z_len;
    return 0;

fail_z:
    free(z);
fail_raw:
    free(raw);
    return rc;
}

static int bad(struct pk_err *e, const char *why)
{
    return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding", "%s", why);
}

static int cookie_error(uint32_t cookie, bool compressed, struct pk_err *e)
{
    uint32_t base = cookie & COOKIE_BASE_MASK;
    if (base == V0_COOKIE_BASE || base == V1_COOKIE_BASE || base == V0_COMPRESSED_BASE ||
        base == V1_COMPRESSED_BASE)
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                       "cookie 0x%08x: a V0/V1 encoding, only V2 is supported", cookie);
    if (!compressed && base == V2_COMPRESSED_BASE)
        return bad(e, "a compressed histogram where an uncompressed one was expected");
    if (compressed && base == V2_COOKIE_BASE)
        return bad(e, "an uncompressed histogram where a compressed one was expected");
    return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                   "cookie 0x%08x is not an HdrHistogram V2 cookie", cookie);
}

/* Validate the 40-byte header and initialise h with its layout. */
static int decode_header(const uint8_t *p, struct hist *h, uint32_t *payload_len, struct pk_err *e)
{
    uint32_t cookie = get32(p);
    if ((cookie & COOKIE_BASE_MASK) != V2_COOKIE_BASE)
        return cookie_error(cookie, false, e);
    uint32_t plen = get32(p + 4);
    int32_t offset = (int32_t)get32(p + 8);
    int32_t sigfigs = (int32_t)get32(p + 12);
    int64_t lowest = (int64_t)get64(p + 16);
    int64_t highest = (int64_t)get64(p + 24);
    if (plen > INT32_MAX)
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                       "negative payload length %d", (int32_t)plen);
    if (offset != 0)
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                       "normalizing index offset %d (a shifted histogram) is not supported", offset);
    struct pk_err why;
    pk_err_clear(&why);
    int rc = hist_init(h, lowest, highest, sigfigs, &why);
    if (rc == -ENOMEM)
        return err_errno(e, rc, "histogram", "cannot decode");
    if (rc < 0)
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding", "%s", why.why);
    /* No count takes more than 9 bytes and none lies past the counts. */
    int counts_len = h->counts_len;
    if ((uint64_t)plen > (uint64_t)counts_len * ZIGZAG_MAX) {
        hist_destroy(h);
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                       "payload of %u bytes is longer than %d counts can take", plen, counts_len);
    }
    *payload_len = plen;
    return 0;
}

static int decode_counts(const uint8_t *p, size_t n, struct hist *h, struct pk_err *e)
{
    int64_t idx = 0, total = 0;
    size_t at = 0;
    while (at < n) {
        int64_t v;
        size_t used = zigzag_get(p + at, n - at, &v);
        if (!used)
            return bad(e, "a count runs past the end of the payload");
        at += used;
        if (v < 0) {
            if (v == INT64_MIN || -v > (int64_t)h->counts_len - idx)
                return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                               "a run of %llu zero counts goes past the histogram's %d",
                               (unsigned long long)(0 - (uint64_t)v), h->counts_len);
            idx += -v;
            continue;
        }
        if (idx >= h->counts_len)
            return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                           "more counts than the histogram's %d", h->counts_len);
        if (__builtin_add_overflow(total, v, &total))
            return bad(e, "the counts overflow a 64-bit total");
        h->counts[idx++] = v;
    }
    if (hist_recount(h) < 0)
        return bad(e, "the counts overflow a 64-bit total");
    return 0;
}

int hdrlog_decode(const uint8_t *buf, size_t len, struct hist *h, struct pk_err *e)
{
    if (len < 4)
        return bad(e, "shorter than a cookie");
    if ((get32(buf) & COOKIE_BASE_MASK) != V2_COOKIE_BASE)
        return cookie_error(get32(buf), false, e);
    if (len < HDRLOG_V2_HEADER_LEN)
        return bad(e, "shorter than the 40-byte header");
    struct hist tmp;
    uint32_t plen;
    int rc = decode_header(buf, &tmp, &plen, e);
    if (rc < 0)
        return rc;
    if ((size_t)plen != len - HDRLOG_V2_HEADER_LEN) {
        rc = err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                     "payload length %u but %zu bytes follow the header", plen, len - HDRLOG_V2_HEADER_LEN);
        goto fail;
    }
    rc = decode_counts(buf + HDRLOG_V2_HEADER_LEN, plen, &tmp, e);
    if (rc < 0)
        goto fail;
    *h = tmp;
    return 0;
fail:
    hist_destroy(&tmp);
    return rc;
}

enum { INF_FULL, INF_FULL_END, INF_ENDED, INF_STARVED, INF_CORRUPT, INF_NOMEM };

/* Inflate until `want` bytes are out, the stream ends, or the input runs out. */
static int inflate_exact(z_stream *zs, uint8_t *out, size_t want)
{
    zs->next_out = out;
    zs->avail_out = (uInt)want;
    for (;;) {
        int zrc = inflate(zs, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END)
            return zs->avail_out ? INF_ENDED : INF_FULL_END;
        if (zrc == Z_OK && zs->avail_out)
            continue;
        if (zrc == Z_OK || zrc == Z_BUF_ERROR)
            return zs->avail_out ? INF_STARVED : INF_FULL;
        return zrc == Z_MEM_ERROR ? INF_NOMEM : INF_CORRUPT;
    }
}

static int inflate_error(int r, const z_stream *zs, const char *where, struct pk_err *e)
{
    if (r == INF_NOMEM)
        return err_errno(e, -ENOMEM, "histogram", "cannot decompress");
    if (r == INF_CORRUPT)
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding", "zlib: %s",
                       zs->msg ? zs->msg : "corrupt data");
    return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding", "the compressed data ends %s",
                   where);
}

/* The 40-byte header of a histogram to be added to h: h's layout, and a
 * payload that fits it. */
static int check_header(const uint8_t *p, const struct hist *h, uint32_t *payload_len, struct pk_err *e)
{
    uint32_t cookie = get32(p);
    if ((cookie & COOKIE_BASE_MASK) != V2_COOKIE_BASE)
        return cookie_error(cookie, false, e);
    uint32_t plen = get32(p + 4);
    int32_t offset = (int32_t)get32(p + 8), sigfigs = (int32_t)get32(p + 12);
    int64_t lowest = (int64_t)get64(p + 16), highest = (int64_t)get64(p + 24);
    if (offset != 0)
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                       "normalizing index offset %d (a shifted histogram) is not supported", offset);
    if (lowest != h->lowest || highest != h->highest || sigfigs != h->sigfigs)
        return err_set(e, PK_EPARSE, "histogram", "histogram of another layout",
                       "%lld..%lld at %d digits, not %lld..%lld at %d", (long long)lowest, (long long)highest,
                       (int)sigfigs, (long long)h->lowest, (long long)h->highest, h->sigfigs);
    if ((uint64_t)plen > (uint64_t)h->counts_len * ZIGZAG_MAX)
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                       "payload of %u bytes is longer than %d counts can take", plen, h->counts_len);
    *payload_len = plen;
    return 0;
}

/* Adds the payload's counts to h: checked whole first, so that h is
 * unchanged on error; then in one pass that keeps total, min and max. */
static int add_counts(const uint8_t *p, size_t n, struct hist *h, struct pk_err *e)
{
    for (int pass = 0; pass < 2; pass++) {
        int64_t idx = 0, total = h->total;
        int lo = -1, hi = -1;
        for (size_t at = 0; at < n;) {
            int64_t v;
            size_t used = zigzag_get(p + at, n - at, &v);
            if (!used)
                return bad(e, "a count runs past the end of the payload");
            at += used;
            if (v < 0) {
                if (v == INT64_MIN || -v > (int64_t)h->counts_len - idx)
                    return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                                   "a run of %llu zero counts goes past the histogram's %d",
                                   (unsigned long long)(0 - (uint64_t)v), h->counts_len);
                idx += -v;
                continue;
            }
            if (idx >= h->counts_len)
                return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                               "more counts than the histogram's %d", h->counts_len);
            if (__builtin_add_overflow(total, v, &total))
                return err_set(e, -EOVERFLOW, "histogram", "cannot add", "the total would pass 2^63-1");
            if (pass == 1 && v > 0) {
                h->counts[idx] += v;
                if (lo < 0 && idx != 0)
                    lo = (int)idx;
                hi = (int)idx;
            }
            idx++;
        }
        if (pass == 1) {
            h->total = total;
            int64_t max = hi < 0 ? 0 : hist_highest_equivalent(h, hist_value_from_index(h, hi));
            if (max > h->max_raw)
                h->max_raw = max;
            if (lo >= 0 && hist_value_from_index(h, lo) < h->min_nz_raw)
                h->min_nz_raw = hist_value_from_index(h, lo);
        }
    }
    return 0;
}

/* A compressed histogram: decoded into a new *h (add false), or its counts
 * added to h (add true). */
static int decode_compressed(const uint8_t *buf, size_t len, struct hist *h, bool add, struct pk_err *e)
{
    if (len < 8)
        return bad(e, "shorter than the 8-byte compressed header");
    uint32_t cookie = get32(buf);
    if ((cookie & COOKIE_BASE_MASK) != V2_COMPRESSED_BASE)
        return cookie_error(cookie, true, e);
    uint32_t clen = get32(buf + 4);
    if (clen > INT32_MAX || (size_t)clen != len - 8)
        return err_set(e, PK_EPARSE, "histogram", "invalid HdrHistogram encoding",
                       "compressed length %u but %zu bytes follow", clen, len - 8);

    int rc;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    zs.next_in = (Bytef *)(uintptr_t)(buf + 8);
    zs.avail_in = (uInt)clen;
    if (inflateInit(&zs) != Z_OK)
        return err_errno(e, -ENOMEM, "histogram", "cannot decompress");

    uint8_t header[HDRLOG_V2_HEADER_LEN];
    int r = inflate_exact(&zs, header, sizeof(header));
    if (r != INF_FULL && r != INF_FULL_END) {
        rc = inflate_error(r, &zs, "inside the header", e);
        goto fail_z;
    }
    struct hist tmp = { 0 };
    uint32_t plen;
    rc = add ? check_header(header, h, &plen, e) : decode_header(header, &tmp, &plen, e);
    if (rc < 0)
        goto fail_z;
    uint8_t *payload = malloc(plen ? plen : 1);
    if (!payload) {
        rc = err_errno(e, -ENOMEM, "histogram", "cannot decompress");
        goto fail_hist;
    }
    if (plen > 0) {
        r = r == INF_FULL_END ? INF_ENDED : inflate_exact(&zs, payload, plen);
        if (r != INF_FULL && r != INF_FULL_END) {
            rc = inflate_error(r, &zs, "before the end of the payload", e);
            goto fail_payload;
        }
    }
    if (r == INF_FULL) {
        /* The stream must end exactly here: one byte of room shows whether
         * it holds more than the payload length says. */
        uint8_t extra;
        r = inflate_exact(&zs, &extra, 1);
        if (r != INF_ENDED) {
            rc = r == INF_FULL || r == INF_FULL_END
                     ? bad(e, "more data than the payload length")
                     : inflate_error(r, &zs, "before the end of the stream", e);
            goto fail_payload;
        }
    }
    if (zs.avail_in != 0) {
        rc = bad(e, "bytes after the end of the compressed stream");
        goto fail_payload;
    }
    rc = add ? add_counts(payload, plen, h, e) : decode_counts(payload, plen, &tmp, e);
    if (rc < 0)
        goto fail_payload;
    free(payload);
    inflateEnd(&zs);
    if (!add)
        *h = tmp;
    return 0;

fail_payload:
    free(payload);
fail_hist:
    hist_destroy(&tmp);
fail_z:
    inflateEnd(&zs);
    return rc;
}

int hdrlog_decode_compressed(const uint8_t *buf, size_t len, struct hist *h, struct pk_err *e)
{
    return decode_compressed(buf, len, h, false, e);
}

int hdrlog_decode_compressed_add(const uint8_t *buf, size_t len, struct hist *h, struct pk_err *e)
{
    if (!h || !h->counts)
        return err_set(e, -EINVAL, "histogram", "cannot add", "no histogram to add to");
    return decode_compressed(buf, len, h, true, e);
}

/* ---- text: core/buf.h, whose first failure sticks */

static void put_pad(struct buf *b, const char *s, int width)
{
    for (int n = (int)strlen(s); n < width; n++)
        buf_addc(b, ' ');
    buf_adds(b, s);
}

static void put_int(struct buf *b, int64_t v, int width)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    put_pad(b, tmp, width);
}

/* A failure that is not the buffer's own (a number that would not format) sticks as well. */
static void put_fail(struct buf *b)
{
    if (!b->err)
        b->err = -ENOMEM;
}

static int put_finish(struct buf *b, char **out, size_t *len, struct pk_err *e, const char *on)
{
    char *p = buf_take(b, len);
    if (!p)
        return err_errno(e, -ENOMEM, on, "cannot render");
    *out = p;
    return 0;
}

/* ---- Java's %.Nf */

/*
 * The decimal digits Java's FloatingDecimal gives Formatter for v (finite,
 * > 0), digits[0..n) with v = 0.d1d2.. * 10^exp10: the shortest that read
 * back as v, except for the integers in [2^53, 2^63), which it takes exactly
 * with their last 0, 1 or 2 digits (by binary exponent) rounded off half up.
 * (Above 2^63 Java sometimes gives a digit more than the shortest; nothing
 * formatted here comes near.) Called with the C locale in force
 * (c_locale_begin), so that "%e" and strtod agree on the decimal point.
 */
static int java_digits(double v, char digits[24], int *exp10)
{
    int n = 0;
    if (v >= 0x1p53 && v < 0x1p63) {
        static const int dropped[] = { 0, 0, 0, 0, 1, 1, 1, 2, 2 }; /* by exponent - 54 */
        uint64_t u = (uint64_t)v;
        int e2 = 63 - __builtin_clzll(u);
        PK_ASSERT(e2 >= 53 && e2 <= 62); /* v in [2^53, 2^63): dropped[] covers it */
        int drop = e2 >= 54 ? dropped[e2 - 54] : 0;
        if (drop) {
            uint64_t p10 = drop == 1 ? 10 : 100, rest = u % p10;
            u = u / p10 + (rest >= p10 / 2);
        }
        char rev[24];
        do {
            rev[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        for (int i = 0; i < n; i++)
            digits[i] = rev[n - 1 - i];
        *exp10 = n + drop;
    } else {
        char buf[40];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        const char *s = buf;
        for (; *s && *s != 'e'; s++)
            if (*s >= '0' && *s <= '9')
                digits[n++] = *s;
        int ex = 0, sign = 1;
        if (*s == 'e')
            s++;
        if (*s == '-' || *s == '+')
            sign = *s++ == '-' ? -1 : 1;
        for (; *s >= '0' && *s <= '9'; s++)
            ex = ex * 10 + (*s - '0');
        *exp10 = sign * ex + 1;
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    return n;
}

static int format_fixed(double v, int prec, char *buf, size_t len)
{
    char out[400];
    size_t at = 0;
    if (isnan(v) || isinf(v)) {
        const char *s = isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
        if (strlen(s) + 1 > len)
            goto nospace;
        memcpy(buf, s, strlen(s) + 1);
        return 0;
    }
    if (prec < 0 || prec > 17)
        goto nospace;
    if (signbit(v))
        out[at++] = '-';
    double a = fabs(v);
    char d[24];
    int n = 1, ex = 1;
    if (a == 0) {
        d[0] = '0';
    } else {
        n = java_digits(a, d, &ex);
    }
    /* Round half up at 10^-prec on the decimal digits, as Java does. */
    int keep = ex + prec;
    if (keep < 0) {
        n = 1;
        d[0] = '0';
        ex = 1;
    } else if (keep < n) {
        bool up = d[keep] >= '5';
        n = keep;
        if (up) {
            int i = n - 1;
            while (i >= 0 && d[i] == '9')
                d[i--] = '0';
            if (i >= 0) {
                d[i]++;
            } else {
                memmove(d + 1, d, (size_t)n);
                d[0] = '1';
                n++;
                ex++;
            }
        }
        if (n == 0) {
            n = 1;
            d[0] = '0';
            ex = 1;
        }
    }
    if (ex <= 0) {
        out[at++] = '0';
    } else {
        if (ex > 330)
            goto nospace;
        for (int i = 0; i < ex; i++)
            out[at++] = i < n ? d[i] : '0';
    }
    if (prec > 0) {
        out[at++] = '.';
        for (int j = 1; j <= prec; j++) {
            int i = ex - 1 + j;
            out[at++] = (i >= 0 && i < n) ? d[i] : '0';
        }
    }
    if (at + 1 > len)
        goto nospace;
    memcpy(buf, out, at);
    buf[at] = '\0';
    return 0;
nospace:
    if (len)
        buf[0] = '\0';
    return -ENOSPC;
}

struct c_locale {
    locale_t loc, old;
};

/* Number formatting must not follow a locale the program may have set
 * (a decimal comma would break the formats); uselocale() is per thread. */
static void c_locale_begin(struct c_locale *c)
{
    c->loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    c->old = c->loc ? uselocale(c->loc) : (locale_t)0;
}

static void c_locale_end(struct c_locale *c)
{
    if (c->loc) {
        uselocale(c->old);
        freelocale(c->loc);
    }
}

int hdrlog_format_fixed(double v, int prec, char *buf, size_t len)
{
    struct c_locale c;
    c_locale_begin(&c);
    int rc = format_fixed(v, prec, buf, len);
    c_locale_end(&c);
    return rc;
}

static void put_fixed(struct buf *b, double v, int prec, int width)
{
    char tmp[400];
    if (format_fixed(v, prec, tmp, sizeof(tmp)) < 0) {
        put_fail(b);
        return;
    }
    put_pad(b, tmp, width);
}

/* ---- percentile spectrum */

int hdrlog_spectrum(const struct hist *h, int ticks_per_half_distance, double unit_ratio, char **out,
                    size_t *len, struct pk_err *e)
{
    if (ticks_per_half_distance < 1)
        return err_set(e, -EINVAL, "percentile spectrum", "invalid ticks per half distance",
                       "%d (must be at least 1)", ticks_per_half_distance);
    if (!(unit_ratio > 0) || isinf(unit_ratio))
        return err_set(e, -EINVAL, "percentile spectrum", "invalid unit ratio", "%g", unit_ratio);
    struct c_locale c;
    c_locale_begin(&c);
    struct buf b = BUF_INIT;
    int digits = h->sigfigs;
    put_pad(&b, "Value", 12);
    buf_add(&b, " ", 1);
    put_pad(&b, "Percentile", 14);
    buf_add(&b, " ", 1);
    put_pad(&b, "TotalCount", 10);
    buf_add(&b, " ", 1);
    put_pad(&b, "1/(1-Percentile)", 14);
    buf_adds(&b, "\n\n");

    struct hist_iter it;
    hist_iter_percentiles(&it, h, ticks_per_half_distance);
    while (hist_iter_next(&it)) {
        double level = it.percentile / 100.0;
        put_fixed(&b, (double)it.value / unit_ratio, digits, 12);
        buf_add(&b, " ", 1);
        put_fixed(&b, level, 12, 2);
        buf_add(&b, " ", 1);
        put_int(&b, it.total, 10);
        if (it.percentile != 100.0) {
            buf_add(&b, " ", 1);
            put_fixed(&b, 1 / (1.0 - level), 2, 14);
        }
        buf_add(&b, "\n", 1);
    }
    buf_adds(&b, "#[Mean    = ");
    put_fixed(&b, hist_mean(h) / unit_ratio, digits, 12);
    buf_adds(&b, ", StdDeviation   = ");
    put_fixed(&b, hist_stddev(h) / unit_ratio, digits, 12);
    buf_adds(&b, "]\n#[Max     = ");
    put_fixed(&b, (double)hist_max(h) / unit_ratio, digits, 12);
    buf_adds(&b, ", Total count    = ");
    put_int(&b, hist_total(h), 12);
    buf_adds(&b, "]\n#[Buckets = ");
    put_int(&b, h->bucket_count, 12);
    buf_adds(&b, ", SubBuckets     = ");
    put_int(&b, h->sub_bucket_count, 12);
    buf_adds(&b, "]\n");
    c_locale_end(&c);
    return put_finish(&b, out, len, e, "percentile spectrum");
}

/* ---- base64 (core/base64.h) */

static void put_base64(struct buf *b, const uint8_t *p, size_t n)
{
    char *s = malloc(base64_encoded_len(n) + 1);
    if (!s) {
        put_fail(b);
        return;
    }
    buf_add(b, s, base64_encode(p, n, s));
    free(s);
}

/* ---- interval log writer */

/* HdrHistogram forbids commas, spaces and line breaks in a tag; control
 * characters go too, so that a tag read back is the tag written. */
bool hdrlog_tag_ok(const char *tag, size_t n)
{
    if (n == 0 || n > HDRLOG_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tag[i] == ',' || (unsigned char)tag[i] <= ' ' || tag[i] == 0x7f)
            return false;
    return true;
}

/* Java's Date.toString() in UTC: "Tue Nov 14 22:13:20 UTC 2023". */
static void put_date(struct buf *b, int64_t ms)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    int64_t sec = ms / 1000 - (ms % 1000 < 0);
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        buf_adds(b, "?");
        return;
    }
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%s %s %02d %02d:%02d:%02d UTC %lld", days[tm.tm_wday % 7],
             months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long long)tm.tm_year + 1900);
    buf_adds(b, tmp);
}

int hdrlog_header(int64_t start_ms, int64_t base_ms, const char *comment, char **out, size_t *len,
                  struct pk_err *e)
{
    if (comment && strpbrk(comment, "\r\n"))
        return err_set(e, -EINVAL, "histogram log", "invalid comment", "it must be a single line");
    struct c_locale c;
    c_locale_begin(&c);
    struct buf b = BUF_INIT;
    buf_adds(&b, "#[Histogram log format version 1.3]\n");
    if (comment) {
        buf_adds(&b, "#");
        buf_adds(&b, comment);
        buf_adds(&b, "\n");
    }
    buf_adds(&b, "#[StartTime: ");
    put_fixed(&b, (double)start_ms / 1000.0, 3, 0);
    buf_adds(&b, " (seconds since epoch), ");
    put_date(&b, start_ms);
    buf_adds(&b, "]\n#[BaseTime: ");
    put_fixed(&b, (double)base_ms / 1000.0, 3, 0);
    buf_adds(&b, " (seconds since epoch)]\n");
    buf_adds(&b, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                 "\"Interval_Compressed_Histogram\"\n");
    c_locale_end(&c);
    return put_finish(&b, out, len, e, "histogram log");
}

int hdrlog_interval(const struct hist *h, double start_s, double end_s, double max_ratio, const char *tag,
                    char **out, size_t *len, struct pk_err *e)
{
    if (tag && !hdrlog_tag_ok(tag, strlen(tag)))
        return err_set(e, -EINVAL, "histogram log", "invalid tag",
                       "'%s': 1 to %d bytes without commas, spaces or line breaks", tag, HDRLOG_TAG_MAX);
    if (!(max_ratio > 0) || isinf(max_ratio))
        return err_set(e, -EINVAL, "histogram log", "invalid max value ratio", "%g", max_ratio);
    uint8_t *z;
    size_t z_len;
    int rc = hdrlog_encode_compressed(h, HDRLOG_LOG_ZLIB_LEVEL, &z, &z_len, e);
    if (rc < 0)
        return rc;
    struct c_locale c;
    c_locale_begin(&c);
    struct buf b = BUF_INIT;
    if (tag) {
        buf_adds(&b, "Tag=");
        buf_adds(&b, tag);
        buf_adds(&b, ",");
    }
    put_fixed(&b, start_s, 3, 0);
    buf_adds(&b, ",");
    put_fixed(&b, end_s - start_s, 3, 0);
    buf_adds(&b, ",");
    put_fixed(&b, (double)hist_max(h) / max_ratio, 3, 0);
    buf_adds(&b, ",");
    put_base64(&b, z, z_len);
    buf_adds(&b, "\n");
    c_locale_end(&c);
    free(z);
    return put_finish(&b, out, len, e, "histogram log");
}
