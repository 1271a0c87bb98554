/*
 * buf - a growable byte buffer for building text: exports, logs, requests,
 * scripts, expositions.
 *
 * Contract:
 * - Caller-owned `struct buf`: zeroed (or BUF_INIT) it is empty and holds
 *   no memory; buf_destroy() frees it and is a no-op on a zeroed or
 *   destroyed struct. buf_reset() empties it and keeps its memory, for a
 *   buffer reused from one render to the next.
 * - The first failure sticks: an add that fails (-ENOMEM, or -E2BIG past
 *   b->max) leaves the content as it was and sets b->err, and every later
 *   add does nothing and returns that error. Build, then check once
 *   (buf_take(), or b->err).
 * - The content is NUL-terminated after every successful add (b->p is NULL
 *   until the first one: buf_str() gives "" then).
 * - b->max (0: none) caps the content's length, for buffers filled from
 *   untrusted input.
 * - One thread at a time.
 */
#ifndef PK_CORE_BUF_H
#define PK_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
    char *p;
    size_t len, cap; /* content bytes; allocated bytes (room for the NUL included) */
    size_t max;      /* 0, or the longest content allowed */
    int err;         /* 0, or the first failure */
};
#define BUF_INIT         \
    {                    \
        NULL, 0, 0, 0, 0 \
    }

void buf_init(struct buf *b, size_t max);
void buf_destroy(struct buf *b);
void buf_reset(struct buf *b);

/* Room for `more` bytes past the content (and the NUL): 0 or the sticky error. */
int buf_reserve(struct buf *b, size_t more);

int buf_add_slow(struct buf *b, const void *s, size_t n);

/* Appends n bytes: 0 or the sticky error. Inline: some callers add a byte at a time. */
static inline int buf_add(struct buf *b, const void *s, size_t n)
{
    if (b->err == 0 && n < b->cap - b->len && (b->max == 0 || n <= b->max - b->len)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
    }
    return buf_add_slow(b, s, n);
}

static inline int buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

static inline int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

/* Appends printf's output; a negative vsnprintf (a bad format) is -EINVAL. */
__attribute__((format(printf, 2, 3))) int buf_printf(struct buf *b, const char *fmt, ...);
__attribute__((format(printf, 2, 0))) int buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* The content, or "" before the first add. */
static inline const char *buf_str(const struct buf *b)
{
    return b->p ? b->p : "";
}

/*
 * Hands the content over: a malloc'd, NUL-terminated string of *len bytes
 * (len may be NULL) that the caller frees, and b is empty again. On a sticky
 * error, frees the content, returns NULL and leaves the error in b->err.
 * An empty buffer gives an allocated "".
 */
char *buf_take(struct buf *b, size_t *len);

#endif
