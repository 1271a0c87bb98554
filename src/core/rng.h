/*
 * rng - reproducible random numbers: xoshiro256** seeded by splitmix64, the
 * same sequence for the same seed on every machine. Inline: the load
 * generator draws from it per request. Not for secrets. One state per
 * thread: nothing here locks.
 */
#ifndef PK_CORE_RNG_H
#define PK_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

static inline uint64_t rng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* splitmix64 from seed fills s[0..3]. */
static inline void rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix64(&st);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1): the top 53 bits. */
static inline double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/*
 * Uniform in [0, bound): rng_unit() * bound, truncated. The product is at
 * most (1 - 2^-53) * bound, which rounds below bound for every bound < 2^53,
 * so the truncation never reaches bound.
 */
static inline size_t rng_index(struct rng *r, size_t bound)
{
    return (size_t)(rng_unit(r) * (double)bound);
}

#endif
