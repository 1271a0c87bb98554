/*
 * fuzz_http1 - the HTTP/1.1 response parser on arbitrary bytes, fed whole,
 * byte by byte and in pieces whose sizes come from the input.
 *
 * Input: 4 bytes of settings, then the response stream. Bytes 0-1: which of
 * the first 16 responses answer HEAD; byte 2, bit 0: tiny limits, so every
 * cap is reached; byte 3: the seed of the piece sizes.
 *
 * Besides memory errors (each piece is copied into a buffer of exactly its
 * size, so a read past it is caught) it checks the contract: the three ways
 * give the same responses, the same end and the same error at the same
 * byte; a return of 0 consumed everything; the byte counts of a response
 * add up; an error has a name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "load/http1.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

#define MAXRESP 64

struct transcript {
    size_t n; /* responses, all of them */
    struct http1_response r[MAXRESP];
    int end;
    int err;
    uint64_t err_pos, err_off;
};

struct feed {
    const uint8_t *data;
    size_t len;
    unsigned head_mask;
    const struct http1_limits *lim;
};

static unsigned flags_for(const struct feed *f, size_t n)
{
    return n < 16 && (f->head_mask >> n & 1) ? HTTP1_HEAD : 0;
}

static void record(struct transcript *t, const struct http1_response *r)
{
    CHECK(r->header_bytes + r->body_bytes + r->interim_bytes <= r->total_bytes);
    if (r->body != HTTP1_BODY_CHUNKED)
        CHECK(r->header_bytes + r->body_bytes + r->interim_bytes == r->total_bytes);
    if (r->body == HTTP1_BODY_LENGTH)
        CHECK(r->body_bytes == r->content_length);
    if (r->body == HTTP1_BODY_CLOSE)
        CHECK(r->close);
    CHECK(r->status >= 100 && r->status <= 599);
    CHECK(r->version == 10 || r->version == 11);
    if (t->n < MAXRESP)
        t->r[t->n] = *r;
    t->n++;
}

/* piece(k) gives the size of the k-th piece (at least 1). */
static void run(const struct feed *f, size_t (*piece)(uint64_t *), uint64_t seed, struct transcript *t)
{
    struct http1_parser p;
    http1_init(&p, f->lim);
    memset(t, 0, sizeof(*t));
    size_t pos = 0;
    while (pos < f->len) {
        size_t n = piece(&seed);
        if (n > f->len - pos)
            n = f->len - pos;
        uint8_t *buf = malloc(n);
        CHECK(buf);
        memcpy(buf, f->data + pos, n);
        size_t at = 0;
        while (at < n) {
            size_t used = (size_t)-1;
            struct http1_response r;
            int rc = http1_parse(&p, (const char *)buf + at, n - at, flags_for(f, t->n), &used, &r);
            CHECK(used <= n - at);
            if (rc < 0) {
                CHECK(rc == PK_EPARSE);
                t->end = rc;
                t->err = http1_error(&p);
                t->err_pos = pos + at + used;
                t->err_off = http1_error_offset(&p);
                CHECK(t->err > HTTP1_E_NONE && t->err < HTTP1_E_COUNT);
                CHECK(strcmp(http1_error_name(t->err), "unknown") != 0);
                free(buf);
                return;
            }
            if (rc == 0) {
                CHECK(used == n - at);
            } else {
                CHECK(rc == 1);
                record(t, &r);
            }
            at += used;
        }
        free(buf);
        pos += n;
    }
    struct http1_response r;
    t->end = http1_finish(&p, &r);
    if (t->end == 1) {
        record(t, &r);
    } else if (t->end < 0) {
        CHECK(t->end == PK_EPARSE);
        t->err = http1_error(&p);
        t->err_pos = f->len;
        t->err_off = http1_error_offset(&p);
        CHECK(t->err == HTTP1_E_EOF_IN_HEAD || t->err == HTTP1_E_EOF_IN_BODY);
    } else {
        CHECK(t->end == 0);
    }
}

static void same(const struct transcript *a, const struct transcript *b)
{
    CHECK(a->n == b->n);
    for (size_t k = 0; k < a->n && k < MAXRESP; k++) {
        const struct http1_response *x = &a->r[k], *y = &b->r[k];
        CHECK(x->status == y->status && x->version == y->version && x->body == y->body);
        CHECK(x->close == y->close && x->has_length == y->has_length && x->interim == y->interim);
        CHECK(x->header_bytes == y->header_bytes && x->body_bytes == y->body_bytes);
        CHECK(x->interim_bytes == y->interim_bytes && x->total_bytes == y->total_bytes);
        CHECK(!x->has_length || x->content_length == y->content_length);
    }
    CHECK(a->end == b->end && a->err == b->err);
    CHECK(a->err_pos == b->err_pos && a->err_off == b->err_off);
}

static size_t whole(uint64_t *s)
{
    (void)s;
    return SIZE_MAX;
}

static size_t bytewise(uint64_t *s)
{
    (void)s;
    return 1;
}

static size_t random_piece(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    /* mostly tiny pieces, sometimes long ones */
    return (*s & 3) ? 1 + (size_t)(*s >> 8) % 8 : 1 + (size_t)(*s >> 8) % 300;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    static const struct http1_limits tiny = { 32, 24, 4, 128, 6, 8, 24, 3, 2 };
    struct feed f = {
        .data = data + 4,
        .len = size - 4,
        .head_mask = (unsigned)data[0] | (unsigned)data[1] << 8,
        .lim = (data[2] & 1) ? &tiny : NULL,
    };
    struct transcript a, b;
    run(&f, whole, 0, &a);
    run(&f, random_piece, 0x9e3779b97f4a7c15ull * (data[3] + 1u), &b);
    same(&a, &b);
    if (f.len <= 4096) {
        run(&f, bytewise, 0, &b);
        same(&a, &b);
    }
    return 0;
}
