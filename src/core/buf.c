#include "core/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BUF_FIRST 256

void buf_init(struct buf *b, size_t max)
{
    *b = (struct buf)BUF_INIT;
    b->max = max;
}

void buf_destroy(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int fail(struct buf *b, int err)
{
    b->err = err;
    return err;
}

int buf_reserve(struct buf *b, size_t more)
{
    if (b->err)
        return b->err;
    if (b->max && more > b->max - b->len)
        return fail(b, -E2BIG);
    if (more < b->cap - b->len)
        return 0;
    if (more > SIZE_MAX / 2 - b->len)
        return fail(b, -ENOMEM);
    size_t need = b->len + more + 1;
    size_t cap = b->cap ? b->cap : BUF_FIRST;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return fail(b, -ENOMEM);
    p[b->len] = '\0';
    b->p = p;
    b->cap = cap;
    return 0;
}

int buf_add_slow(struct buf *b, const void *s, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    if (b->err)
        return b->err;
    va_list again;
    va_copy(again, ap);
    size_t room = b->cap - b->len;
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    if (n < 0) {
        va_end(again);
        if (b->p)
            b->p[b->len] = '\0';
        return fail(b, -EINVAL);
    }
    int rc = 0;
    if ((size_t)n >= room) {
        if (b->p)
            b->p[b->len] = '\0';
        rc = buf_reserve(b, (size_t)n);
        if (rc == 0)
            vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
    } else if (b->max && (size_t)n > b->max - b->len) {
        b->p[b->len] = '\0';
        rc = fail(b, -E2BIG);
    }
    va_end(again);
    if (rc == 0)
        b->len += (size_t)n;
    return rc;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_take(struct buf *b, size_t *len)
{
    if (!b->err && !b->p)
        buf_reserve(b, 0);
    if (b->err) {
        int err = b->err;
        buf_destroy(b);
        b->err = err;
        return NULL;
    }
    char *p = b->p;
    if (len)
        *len = b->len;
    size_t max = b->max;
    *b = (struct buf)BUF_INIT;
    b->max = max;
    return p;
}
