/*
 * bodies - the functions both harnesses time, shared so the comparison
 * measures the harnesses and not two versions of the code. C and C++.
 *
 * Each body hides its result from the optimiser with its own empty asm, so
 * neither harness's DoNotOptimize variant changes the generated code.
 */
#ifndef INPROC_BODIES_H
#define INPROC_BODIES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INPROC_QSORT_N  1000
#define INPROC_HASH_LEN 64
#define INPROC_COPY_LEN 4096
/* Every buffer starts a cache line in both programs: where the linker puts
 * static arrays otherwise differs between them (32 bytes into a line in one,
 * at a line in the other), and a 4 KiB memcpy between misaligned buffers
 * costs a third more, which is the layout's cost, not the harness's. */
#define INPROC_ALIGNED __attribute__((aligned(64)))

/* The asm may read *p and everything else: the stores before it must happen. */
#define INPROC_ESCAPE(p) __asm__ __volatile__("" : : "r"(p) : "memory")
#define INPROC_USE(v)    __asm__ __volatile__("" : : "r"(v) : "memory")

static inline void inproc_fill(unsigned char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (unsigned char)(seed >> 56);
    }
}

/* memcpy of 4 KiB */
static inline void inproc_memcpy(unsigned char *dst, const unsigned char *src)
{
    memcpy(dst, src, INPROC_COPY_LEN);
    INPROC_ESCAPE(dst);
}

/* FNV-1a, 64-bit, over 64 bytes */
static inline void inproc_hash(const unsigned char *p)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < INPROC_HASH_LEN; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    INPROC_USE(h);
}

static int inproc_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* 1,000 ints from a fixed seed, re-copied into work before each sort. */
static inline void inproc_qsort_input(int *input)
{
    uint64_t s = 42;
    for (size_t i = 0; i < INPROC_QSORT_N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        input[i] = (int)(s >> 32);
    }
}

static inline void inproc_qsort(int *work, const int *input)
{
    memcpy(work, input, INPROC_QSORT_N * sizeof(int));
    qsort(work, INPROC_QSORT_N, sizeof(int), inproc_cmp_int);
    INPROC_ESCAPE(work);
}

#endif
