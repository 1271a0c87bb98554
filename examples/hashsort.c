/*
 * hashsort - registered benchmarks run by pk_bench_main(): two 64-bit
 * hashes over 64 B, 1 KiB and 64 KiB, qsort against an LSD radix sort of
 * 1k, 10k and 100k ints, and a 4 KiB memcpy.
 *
 *     hashsort --min-time 200ms --repetitions 3 --json out.json
 *
 * The table shows what the allocation column is for: glibc's qsort
 * allocates a merge buffer on every call for arrays over 1 KiB, the radix
 * sort allocates its buffer once, outside the timed loop.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perfkit.h"

/* ---- hashes */

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}
static inline uint64_t read64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint64_t round64(uint64_t acc, uint64_t in)
{
    return rotl(acc + in * P2, 31) * P1;
}
static inline uint64_t merge64(uint64_t acc, uint64_t v)
{
    return (acc ^ round64(0, v)) * P1 + P4;
}

/* The structure of xxHash64 (four lanes of 8 bytes, then a tail and an
 * avalanche), little-endian; not checked against the reference vectors. */
static uint64_t xxh64ish(const unsigned char *p, size_t n, uint64_t seed)
{
    const unsigned char *end = p + n;
    uint64_t h;
    if (n >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        for (; p + 32 <= end; p += 32) {
            v1 = round64(v1, read64(p));
            v2 = round64(v2, read64(p + 8));
            v3 = round64(v3, read64(p + 16));
            v4 = round64(v4, read64(p + 24));
        }
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = merge64(merge64(merge64(merge64(h, v1), v2), v3), v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)n;
    for (; p + 8 <= end; p += 8)
        h = rotl(h ^ round64(0, read64(p)), 27) * P1 + P4;
    for (; p < end; p++)
        h = rotl(h ^ (*p * P5), 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

static unsigned char *random_bytes(size_t n)
{
    unsigned char *p = malloc(n);
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (size_t i = 0; p && i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (unsigned char)s;
    }
    return p;
}

static void BM_fnv1a(struct pk_state *st)
{
    size_t n = (size_t)pk_state_arg(st);
    unsigned char *buf = random_bytes(n);
    if (!buf) {
        pk_state_skip(st, "out of memory");
        return;
    }
    pk_state_set_bytes(st, n);
    PK_LOOP(st)
    {
        pk_do_not_optimize(fnv1a64(buf, n));
    }
    free(buf);
}
PK_BENCHMARK_ARGS(BM_fnv1a, 64, 1024, 65536);

static void BM_xxh64ish(struct pk_state *st)
{
    size_t n = (size_t)pk_state_arg(st);
    unsigned char *buf = random_bytes(n);
    if (!buf) {
        pk_state_skip(st, "out of memory");
        return;
    }
    pk_state_set_bytes(st, n);
    PK_LOOP(st)
    {
        pk_do_not_optimize(xxh64ish(buf, n, 0));
    }
    free(buf);
}
PK_BENCHMARK_ARGS(BM_xxh64ish, 64, 1024, 65536);

/* ---- sorts */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* LSD radix sort, 8 bits a pass; the sign bit is flipped so negative ints
 * order before positive ones. tmp holds n ints. */
static void radix_sort(int *v, int *tmp, size_t n)
{
    int *src = v, *dst = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = { 0 };
        for (size_t i = 0; i < n; i++)
            count[((((uint32_t)src[i]) ^ 0x80000000u) >> shift & 0xff) + 1]++;
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++)
            dst[count[(((uint32_t)src[i]) ^ 0x80000000u) >> shift & 0xff]++] = src[i];
        int *t = src;
        src = dst;
        dst = t;
    }
    /* Four passes: the sorted data is back in v. */
}

struct sort_data {
    int *input, *work, *tmp;
    size_t n;
};

static int sort_setup(struct pk_state *st, struct sort_data *d)
{
    d->n = (size_t)pk_state_arg(st);
    d->input = malloc(d->n * sizeof(int));
    d->work = malloc(d->n * sizeof(int));
    d->tmp = malloc(d->n * sizeof(int));
    if (!d->input || !d->work || !d->tmp) {
        pk_state_skip(st, "out of memory");
        return -1;
    }
    uint64_t s = 42; /* a fixed seed: every run sorts the same numbers */
    for (size_t i = 0; i < d->n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        d->input[i] = (int)(s >> 32);
    }
    return 0;
}

static void sort_teardown(struct sort_data *d)
{
    free(d->input);
    free(d->work);
    free(d->tmp);
}

/* Each iteration copies the unsorted input back first: it is part of the
 * time (a memcpy, small next to the sort), which costs less than pausing
 * the clocks around it would. */
static void BM_qsort(struct pk_state *st)
{
    struct sort_data d;
    if (sort_setup(st, &d) == 0) {
        PK_LOOP(st)
        {
            memcpy(d.work, d.input, d.n * sizeof(int));
            qsort(d.work, d.n, sizeof(int), cmp_int);
            pk_clobber_memory();
        }
    }
    sort_teardown(&d);
}
PK_BENCHMARK_ARGS(BM_qsort, 1000, 10000, 100000);

static void BM_radix_sort(struct pk_state *st)
{
    struct sort_data d;
    if (sort_setup(st, &d) == 0) {
        PK_LOOP(st)
        {
            memcpy(d.work, d.input, d.n * sizeof(int));
            radix_sort(d.work, d.tmp, d.n);
            pk_clobber_memory();
        }
    }
    sort_teardown(&d);
}
PK_BENCHMARK_ARGS(BM_radix_sort, 1000, 10000, 100000);

/* ---- memcpy */

static void BM_memcpy_4k(struct pk_state *st)
{
    char src[4096], dst[4096];
    memset(src, 'x', sizeof(src));
    pk_state_set_bytes(st, sizeof(src));
    PK_LOOP(st)
    {
        memcpy(dst, src, sizeof(src));
        /* Hands dst's address to the (empty) asm, which may read it: the
         * copy must happen. pk_clobber_memory() alone would not do, since
         * the compiler knows nothing outside can see a local array. */
        pk_do_not_optimize(dst);
    }
}
PK_BENCHMARK(BM_memcpy_4k);

int main(int argc, char **argv)
{
    return pk_bench_main(argc, argv);
}
