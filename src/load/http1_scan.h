/*
 * http1_scan - the byte classes and run scanners of the HTTP/1.1 parser
 * (private to src/load/http1.c): which bytes are tchar, field-vchar and
 * HEXDIG, the end of a run of them (SSE2 for field values), and the
 * case-insensitive match of a token against a few known names, whole or
 * piece by piece when it is split across reads. Everything is static
 * inline: it is the parser's inner loop, compiled into it.
 */
#ifndef PK_LOAD_HTTP1_SCAN_H
#define PK_LOAD_HTTP1_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* A name to match, lowercase. */
struct name {
    const char *s;
    uint8_t len;
};

enum { C_TOKEN = 1, C_VALUE = 2, C_HEX = 4 };
#define V C_VALUE
#define T (C_TOKEN | C_VALUE)
#define H (C_TOKEN | C_VALUE | C_HEX)
/* RFC 9110 5.6.2 tchar, 5.5 field-vchar / obs-text / SP / HTAB, HEXDIG. */
static const uint8_t ctype[256] = {
    ['\t'] = V,        [' '] = V,         ['!'] = T,           ['"'] = V,         ['#' ... '\''] = T,
    ['(' ... ')'] = V, ['*' ... '+'] = T, [','] = V,           ['-' ... '.'] = T, ['/'] = V,
    ['0' ... '9'] = H, [':' ... '@'] = V, ['A' ... 'F'] = H,   ['G' ... 'Z'] = T, ['[' ... ']'] = V,
    ['^' ... '`'] = T, ['a' ... 'f'] = H, ['g' ... 'z'] = T,   ['{'] = V,         ['|'] = T,
    ['}'] = V,         ['~'] = T,         [0x80 ... 0xff] = V,
};
#undef V
#undef T
#undef H

static inline bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static inline bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_eol(uint8_t c)
{
    return c == '\r' || c == '\n';
}

/* Only letters and '-' occur in the names matched, and no other tchar
 * lands on one of them when OR-ed with 0x20. */
static inline uint8_t lower(uint8_t c)
{
    return c | 0x20;
}

/* The candidates whose names continue with the n bytes at b from idx on. */
static inline uint8_t match_run(uint8_t cand, uint8_t idx, const uint8_t *b, size_t n,
                                const struct name *names)
{
    for (unsigned k = 0; cand >> k; k++) {
        if (!(cand & (1u << k)))
            continue;
        const struct name *nm = &names[k];
        bool ok = (size_t)idx + n <= nm->len;
        for (size_t m = 0; ok && m < n; m++)
            ok = (uint8_t)nm->s[idx + m] == lower(b[m]);
        if (!ok)
            cand &= (uint8_t) ~(1u << k);
    }
    return cand;
}

/* Whether the n bytes at b, lowercased, are the name nm; 8 bytes at a time. */
static inline bool name_is(const uint8_t *b, size_t n, const struct name *nm)
{
    if (n != nm->len)
        return false;
    size_t m = 0;
    for (; m + 8 <= n; m += 8) {
        uint64_t x, y;
        memcpy(&x, b + m, 8);
        memcpy(&y, nm->s + m, 8);
        if ((x | 0x2020202020202020ull) != y)
            return false;
    }
    for (; m < n; m++)
        if (lower(b[m]) != (uint8_t)nm->s[m])
            return false;
    return true;
}

/*
 * A token of n bytes at b, from idx on, against the candidate names: the
 * candidates still possible. A whole token (idx 0, its end in the buffer,
 * the usual case) is compared at once, a split one piece by piece.
 */
static inline uint8_t match_token(uint8_t cand, uint8_t idx, const uint8_t *b, size_t n, bool whole,
                                  const struct name *names)
{
    if (whole && idx == 0) {
        for (unsigned k = 0; cand >> k; k++)
            if ((cand & (1u << k)) && name_is(b, n, &names[k]))
                return (uint8_t)(1u << k);
        return 0;
    }
    return match_run(cand, idx, b, n, names);
}

static inline uint8_t match_end(uint8_t cand, uint8_t idx, const struct name *names)
{
    for (unsigned k = 0; cand >> k; k++)
        if ((cand & (1u << k)) && names[k].len == idx)
            return (uint8_t)(1u << k);
    return 0;
}

/*
 * The end of the run of field-value bytes in s[i, stop): the first control
 * byte other than HTAB, or stop. Reason phrases and values are most of a
 * header section, so with SSE2 (every x86-64) 16 bytes are checked at once;
 * loads stay below stop.
 */
static inline size_t scan_value(const uint8_t *s, size_t i, size_t stop)
{
#ifdef __SSE2__
    const __m128i below = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
    const __m128i zero = _mm_setzero_si128();
    while (stop - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* unsigned v <= 0x1f is v - 0x1f saturating to 0 */
        __m128i ctl = _mm_or_si128(_mm_cmpeq_epi8(_mm_subs_epu8(v, below), zero), _mm_cmpeq_epi8(v, del));
        unsigned m = (unsigned)_mm_movemask_epi8(ctl);
        if (!m) {
            i += 16;
            continue;
        }
        i += (size_t)__builtin_ctz(m);
        if (s[i] != '\t')
            return i;
        i++;
    }
#endif
    while (stop - i >= 4 && (ctype[s[i]] & ctype[s[i + 1]] & ctype[s[i + 2]] & ctype[s[i + 3]] & C_VALUE))
        i += 4;
    while (i < stop && (ctype[s[i]] & C_VALUE))
        i++;
    return i;
}

/* The end of the run of tchar in s[i, stop), four bytes per branch. */
static inline size_t scan_token(const uint8_t *s, size_t i, size_t stop)
{
    while (stop - i >= 4 && (ctype[s[i]] & ctype[s[i + 1]] & ctype[s[i + 2]] & ctype[s[i + 3]] & C_TOKEN))
        i += 4;
    while (i < stop && (ctype[s[i]] & C_TOKEN))
        i++;
    return i;
}

static inline unsigned hexval(uint8_t c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)(lower(c) - 'a' + 10);
}

#endif
