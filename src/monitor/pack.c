#include "monitor/pack.h"

#include <errno.h>
#include <string.h>

/* Byte by byte, so the format is the same on every host and no access is unaligned. */
static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof(v));
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double get_f64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

/* The entry count of a blob of entry-sized records after the format byte; false if it is not one. */
static bool shape(const void *blob, size_t len, size_t entry, size_t *n)
{
    if (!blob || len < 1 || ((const unsigned char *)blob)[0] != PACK_FORMAT || (len - 1) % entry != 0)
        return false;
    *n = (len - 1) / entry;
    return true;
}

size_t pack_frame_size(size_t n)
{
    return 1 + n * PACK_FRAME_ENTRY;
}

void pack_frame(const struct pack_value *v, size_t n, unsigned char *buf)
{
    buf[0] = PACK_FORMAT;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = buf + 1 + i * PACK_FRAME_ENTRY;
        put_u32(p, v[i].id);
        put_f64(p + 4, v[i].v);
    }
}

int pack_frame_check(const void *blob, size_t len, size_t *n)
{
    size_t k;
    if (!shape(blob, len, PACK_FRAME_ENTRY, &k))
        return PK_EPARSE;
    const unsigned char *p = (const unsigned char *)blob + 1;
    for (size_t i = 1; i < k; i++)
        if (get_u32(p + i * PACK_FRAME_ENTRY) <= get_u32(p + (i - 1) * PACK_FRAME_ENTRY))
            return PK_EPARSE;
    *n = k;
    return 0;
}

struct pack_value pack_frame_get(const void *blob, size_t i)
{
    const unsigned char *p = (const unsigned char *)blob + 1 + i * PACK_FRAME_ENTRY;
    return (struct pack_value){ get_u32(p), get_f64(p + 4) };
}

bool pack_frame_find(const void *blob, size_t len, uint32_t id, double *v)
{
    size_t n;
    if (!shape(blob, len, PACK_FRAME_ENTRY, &n))
        return false;
    const unsigned char *p = (const unsigned char *)blob + 1;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t m = get_u32(p + mid * PACK_FRAME_ENTRY);
        if (m == id) {
            *v = get_f64(p + mid * PACK_FRAME_ENTRY + 4);
            return true;
        }
        if (m < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

size_t pack_chunk_size(size_t n)
{
    return 1 + n * PACK_CHUNK_ENTRY;
}

int pack_chunk(const struct pack_point *pt, size_t n, int64_t minute, unsigned char *buf)
{
    int64_t start = minute * PACK_MINUTE_MS;
    for (size_t i = 0; i < n; i++)
        if (pt[i].ts < start || pt[i].ts - start >= PACK_MINUTE_MS || (i > 0 && pt[i].ts <= pt[i - 1].ts))
            return -EINVAL;
    buf[0] = PACK_FORMAT;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = buf + 1 + i * PACK_CHUNK_ENTRY;
        put_u16(p, (uint16_t)(pt[i].ts - start));
        put_f64(p + 2, pt[i].v);
    }
    return 0;
}

int pack_chunk_check(const void *blob, size_t len, size_t *n)
{
    size_t k;
    if (!shape(blob, len, PACK_CHUNK_ENTRY, &k))
        return PK_EPARSE;
    const unsigned char *p = (const unsigned char *)blob + 1;
    for (size_t i = 0; i < k; i++) {
        uint16_t off = get_u16(p + i * PACK_CHUNK_ENTRY);
        if (off >= PACK_MINUTE_MS || (i > 0 && off <= get_u16(p + (i - 1) * PACK_CHUNK_ENTRY)))
            return PK_EPARSE;
    }
    *n = k;
    return 0;
}

struct pack_point pack_chunk_get(const void *blob, size_t i, int64_t minute)
{
    const unsigned char *p = (const unsigned char *)blob + 1 + i * PACK_CHUNK_ENTRY;
    return (struct pack_point){ minute * PACK_MINUTE_MS + get_u16(p), get_f64(p + 2) };
}
