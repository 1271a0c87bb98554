/*
 * test_http1 - the HTTP/1.1 response parser on hand-written responses (every
 * framing, every error) and on nginx's own bytes (tests/fixtures/http1/).
 *
 * Every input goes through check(): fed whole, byte by byte, cut in two at
 * every position, in three at every pair of positions (short inputs) and in
 * random pieces; each way must give the same transcript (responses, end,
 * error and where). Each piece is copied into a buffer of exactly its size,
 * so under AddressSanitizer a read past the bytes given is caught.
 */
/* memmem() */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "load/http1.h"

#define FIX     PK_FIXTURES "/http1/"
#define MAXRESP 16

struct opts {
    const struct http1_limits *lim; /* NULL: defaults */
    const unsigned *flags;          /* per response, in order; past nflags: 0 */
    size_t nflags;
};

struct transcript {
    size_t n;
    struct http1_response r[MAXRESP];
    int end; /* last return: 0 clean EOF, 1 EOF ended a response, PK_EPARSE */
    enum http1_error err;
    uint64_t err_pos; /* offset in the stream of the failing byte (len at EOF) */
    uint64_t err_off; /* http1_error_offset(): from the response's first byte */
};

static void run(const char *buf, size_t len, const size_t *pieces, size_t npieces, const struct opts *o,
                struct transcript *t)
{
    struct http1_parser p;
    http1_init(&p, o->lim);
    memset(t, 0, sizeof(*t));
    size_t pos = 0;
    for (size_t k = 0; k < npieces; k++) {
        size_t n = pieces[k];
        char *piece = malloc(n ? n : 1);
        assert_non_null(piece);
        memcpy(piece, buf + pos, n);
        size_t at = 0;
        for (;;) {
            unsigned fl = t->n < o->nflags ? o->flags[t->n] : 0;
            size_t used = (size_t)-1;
            struct http1_response r;
            memset(&r, 0xa5, sizeof(r));
            int rc = http1_parse(&p, piece + at, n - at, fl, &used, &r);
            assert_true(used <= n - at);
            if (rc < 0) {
                assert_int_equal(rc, PK_EPARSE);
                t->end = rc;
                t->err = http1_error(&p);
                t->err_pos = pos + at + used;
                t->err_off = http1_error_offset(&p);
                assert_int_not_equal(t->err, HTTP1_E_NONE);
                /* it sticks */
                assert_int_equal(http1_parse(&p, "x", 1, 0, &used, &r), PK_EPARSE);
                assert_int_equal(http1_error(&p), t->err);
                free(piece);
                return;
            }
            if (rc == 0) {
                assert_int_equal(used, n - at);
                break;
            }
            assert_int_equal(rc, 1);
            assert_true(t->n < MAXRESP);
            t->r[t->n++] = r;
            at += used;
            if (at == n)
                break;
        }
        free(piece);
        pos += n;
    }
    assert_int_equal(pos, len);
    struct http1_response r;
    int rc = http1_finish(&p, &r);
    t->end = rc;
    if (rc == 1) {
        assert_true(t->n < MAXRESP);
        t->r[t->n++] = r;
    } else if (rc < 0) {
        assert_int_equal(rc, PK_EPARSE);
        t->err = http1_error(&p);
        t->err_pos = len;
        t->err_off = http1_error_offset(&p);
    }
}

static void same_response(const struct http1_response *a, const struct http1_response *b)
{
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->body, b->body);
    assert_int_equal(a->close, b->close);
    assert_int_equal(a->has_length, b->has_length);
    assert_int_equal(a->interim, b->interim);
    assert_int_equal(a->header_bytes, b->header_bytes);
    if (a->has_length)
        assert_int_equal(a->content_length, b->content_length);
    assert_int_equal(a->body_bytes, b->body_bytes);
    assert_int_equal(a->interim_bytes, b->interim_bytes);
    assert_int_equal(a->total_bytes, b->total_bytes);
}

static void same(const struct transcript *a, const struct transcript *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t k = 0; k < a->n; k++)
        same_response(&a->r[k], &b->r[k]);
    assert_int_equal(a->end, b->end);
    assert_int_equal(a->err, b->err);
    assert_int_equal(a->err_pos, b->err_pos);
    assert_int_equal(a->err_off, b->err_off);
}

/* xorshift: the same pieces on every run */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void checkn(const char *buf, size_t len, const struct opts *o, struct transcript *t)
{
    static const struct opts none = { 0 };
    if (!o)
        o = &none;
    size_t *pieces = malloc((len + 3) * sizeof(*pieces));
    assert_non_null(pieces);
    struct transcript *u = malloc(sizeof(*u));
    assert_non_null(u);

    pieces[0] = len;
    run(buf, len, pieces, 1, o, t);

    /* the responses and their bytes add up to the stream, up to the end */
    uint64_t sum = 0;
    for (size_t k = 0; k < t->n; k++) {
        const struct http1_response *r = &t->r[k];
        sum += r->total_bytes;
        assert_true(r->header_bytes + r->body_bytes + r->interim_bytes <= r->total_bytes);
        if (r->body != HTTP1_BODY_CHUNKED)
            assert_int_equal(r->header_bytes + r->body_bytes + r->interim_bytes, r->total_bytes);
        if (r->body == HTTP1_BODY_LENGTH)
            assert_int_equal(r->body_bytes, r->content_length);
        if (r->body == HTTP1_BODY_CLOSE)
            assert_true(r->close);
    }
    if (t->end >= 0)
        assert_int_equal(sum, len);

    for (size_t k = 0; k < len; k++)
        pieces[k] = 1;
    run(buf, len, pieces, len, o, u);
    same(t, u);

    for (size_t cut = 0; cut <= len; cut++) {
        pieces[0] = cut;
        pieces[1] = len - cut;
        run(buf, len, pieces, 2, o, u);
        same(t, u);
    }

    if (len <= 320) {
        for (size_t a = 1; a < len; a++)
            for (size_t b = a + 1; b < len; b++) {
                pieces[0] = a;
                pieces[1] = b - a;
                pieces[2] = len - b;
                run(buf, len, pieces, 3, o, u);
                same(t, u);
            }
    }

    uint64_t seed = 0x9e3779b97f4a7c15ull ^ len;
    for (int round = 0; round < 200; round++) {
        size_t np = 0, left = len;
        while (left) {
            size_t n = 1 + (size_t)(rnd(&seed) % (round % 2 ? 7 : 97));
            if (n > left)
                n = left;
            pieces[np++] = n;
            left -= n;
        }
        run(buf, len, pieces, np, o, u);
        same(t, u);
    }
    free(u);
    free(pieces);
}

static void check(const char *s, const struct opts *o, struct transcript *t)
{
    checkn(s, strlen(s), o, t);
}

/* The parse of s must fail with err at the byte s + pos. */
static void check_error(const char *s, const struct opts *o, enum http1_error err, size_t pos)
{
    struct transcript t;
    check(s, o, &t);
    if (t.end != PK_EPARSE || t.err != err || t.err_pos != pos)
        fail_msg("\"%s\": got %s at %llu, want %s at %zu", s, http1_error_name(t.err),
                 (unsigned long long)t.err_pos, http1_error_name(err), pos);
}

/* Framing errors are found at the LF that ends the header section. */
static void check_framing(const char *s, const struct opts *o, enum http1_error err)
{
    check_error(s, o, err, strlen(s) - 1);
}

static size_t pos_of(const char *s, const char *needle)
{
    const char *q = strstr(s, needle);
    assert_non_null(q);
    return (size_t)(q - s);
}

/* ---- framing -------------------------------------------------------------- */

static void content_length(void **state)
{
    (void)state;
    struct transcript t;
    const char *s = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhello";
    check(s, NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.end, 0);
    assert_int_equal(t.r[0].status, 200);
    assert_int_equal(t.r[0].version, 11);
    assert_int_equal(t.r[0].body, HTTP1_BODY_LENGTH);
    assert_true(t.r[0].has_length);
    assert_int_equal(t.r[0].content_length, 5);
    assert_int_equal(t.r[0].body_bytes, 5);
    assert_int_equal(t.r[0].header_bytes, strlen(s) - 5);
    assert_int_equal(t.r[0].total_bytes, strlen(s));
    assert_false(t.r[0].close);
    assert_int_equal(t.r[0].interim, 0);

    check("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].body, HTTP1_BODY_LENGTH);
    assert_int_equal(t.r[0].body_bytes, 0);

    /* identical repeats, as a list and as fields, with OWS; leading zeros */
    check("HTTP/1.1 200 OK\r\nCONTENT-LENGTH:3 \t , 3\t\r\nContent-Length: 003\r\n\r\nabc", NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].content_length, 3);
    assert_int_equal(t.r[0].body_bytes, 3);

    /* the cap on digits is inclusive: 19 digits are fine */
    check("HTTP/1.1 200 OK\r\nContent-Length: 0000000000000000002\r\n\r\nab", NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].body_bytes, 2);

    /* names that only start like a framing field are plain fields */
    check("HTTP/1.1 200 OK\r\nContent-Lengthy: 9\r\nContent-Type: a\r\nConnectio: close\r\n"
          "Transfer-Encodings: chunked\r\nContent-Lxngth: 7\r\nCxntent-Length: 7\r\n"
          "Connectiom: close\r\nTransfer-Encodinx: chunked\r\nContent-Length: 1\r\n\r\nz",
          NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].body, HTTP1_BODY_LENGTH);
    assert_int_equal(t.r[0].body_bytes, 1);
    assert_false(t.r[0].close);

    /* a large length is skipped without being buffered */
    struct http1_parser p;
    http1_init(&p, NULL);
    const char *big = "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n";
    size_t used;
    struct http1_response r;
    assert_int_equal(http1_parse(&p, big, strlen(big), 0, &used, &r), 0);
    char junk[4096];
    memset(junk, 'x', sizeof(junk));
    for (int k = 0; k < 100; k++)
        assert_int_equal(http1_parse(&p, junk, sizeof(junk), 0, &used, &r), 0);
    assert_int_equal(http1_finish(&p, &r), PK_EPARSE);
    assert_int_equal(http1_error(&p), HTTP1_E_EOF_IN_BODY);
}

static void chunked(void **state)
{
    (void)state;
    struct transcript t;
    const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5;name=val;q=\"a;b\\\"c\"\r\nhello\r\n"
                    "6 ; x\r\n world\r\n"
                    "000A\r\n0123456789\r\n"
                    "0;last\r\nX-Trailer: 1\r\nY:  two words \r\n\r\n";
    check(s, NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.end, 0);
    assert_int_equal(t.r[0].body, HTTP1_BODY_CHUNKED);
    assert_int_equal(t.r[0].body_bytes, 21);
    assert_false(t.r[0].has_length);
    assert_false(t.r[0].close);
    assert_int_equal(t.r[0].header_bytes, pos_of(s, "\r\n\r\n") + 4);
    assert_int_equal(t.r[0].total_bytes, strlen(s));

    /* no trailers, hex case, a coding before chunked, a list across fields */
    check("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: ,Chunked ,\r\n\r\n"
          "aB\r\n"
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890\r\n0\r\n\r\n",
          NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].body, HTTP1_BODY_CHUNKED);
    assert_int_equal(t.r[0].body_bytes, 0xab);

    /* chunked with a parameter is still chunked; parameters of other codings
     * (quoted, with escapes and commas) are skipped; extensions end at a lone LF */
    check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=\"1,2\"\r\n\r\n1\r\na\r\n0\r\n\r\n", NULL, &t);
    assert_int_equal(t.r[0].body, HTTP1_BODY_CHUNKED);
    assert_int_equal(t.r[0].body_bytes, 1);
    check("HTTP/1.1 200 OK\r\nTransfer-Encoding: x;q=\"a\\\"b,c\", gzip;level=1,chunked\r\n\r\n"
          "1;e\na\r\n0\r\n\r\n",
          NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].body, HTTP1_BODY_CHUNKED);
    assert_int_equal(t.r[0].body_bytes, 1);
}

static void close_delimited(void **state)
{
    (void)state;
    struct transcript t;
    /* no length: the body runs to EOF, and EOF completes the response */
    check("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nall of this until the end", NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.end, 1);
    assert_int_equal(t.r[0].body, HTTP1_BODY_CLOSE);
    assert_true(t.r[0].close);
    assert_int_equal(t.r[0].body_bytes, strlen("all of this until the end"));

    /* a coding that is not chunked last: read until close (RFC 9112 6.3) */
    check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc", NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].body, HTTP1_BODY_CLOSE);
    assert_int_equal(t.r[0].body_bytes, 6);

    /* an empty close-delimited body */
    check("HTTP/1.0 200 OK\r\n\r\n", NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].version, 10);
    assert_int_equal(t.r[0].body_bytes, 0);
}

static void connection(void **state)
{
    (void)state;
    struct transcript t;
    check("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", NULL, &t);
    assert_int_equal(t.n, 1);
    assert_true(t.r[0].close);
    assert_int_equal(t.end, 0);
    check("HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n", NULL, &t);
    assert_true(t.r[0].close);
    check("HTTP/1.1 200 OK\r\nConnection: closed, x-close, \"close\"\r\nContent-Length: 0\r\n\r\n", NULL, &t);
    assert_false(t.r[0].close);
    check("HTTP/1.1 200 OK\r\nConnection:\r\nConnection: a b, close \r\nContent-Length: 0\r\n\r\n", NULL, &t);
    assert_true(t.r[0].close);

    /* HTTP/1.0: close unless keep-alive */
    check("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", NULL, &t);
    assert_int_equal(t.r[0].version, 10);
    assert_true(t.r[0].close);
    check("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok"
          "HTTP/1.0 204 No Content\r\nconnection: keep-alive\r\n\r\n",
          NULL, &t);
    assert_int_equal(t.n, 2);
    assert_false(t.r[0].close);
    assert_false(t.r[1].close);
    check("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", NULL, &t);
    assert_true(t.r[0].close);

    /* nothing may follow a response that closes */
    const char *s = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nokHTTP/1.1";
    check_error(s, NULL, HTTP1_E_DATA_AFTER_CLOSE, strlen(s) - strlen("HTTP/1.1"));
}

static void head(void **state)
{
    (void)state;
    struct transcript t;
    /* the HEAD response announces a body it does not send; the next response
     * starts right after its header */
    const unsigned flags[] = { HTTP1_HEAD, 0, HTTP1_HEAD };
    struct opts o = { NULL, flags, 3 };
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 615\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    check(s, &o, &t);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.end, 0);
    assert_int_equal(t.r[0].body, HTTP1_BODY_NONE);
    assert_true(t.r[0].has_length);
    assert_int_equal(t.r[0].content_length, 615);
    assert_int_equal(t.r[0].body_bytes, 0);
    assert_int_equal(t.r[1].body_bytes, 2);
    assert_int_equal(t.r[2].body, HTTP1_BODY_NONE);

    /* without the flag, the same bytes wait for the 615 */
    check(s, NULL, &t);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.end, PK_EPARSE);
    assert_int_equal(t.err, HTTP1_E_EOF_IN_BODY);

    /* framing fields of a body-less response are not framing (RFC 9112 6.3 rule 1) */
    check("HTTP/1.1 200 OK\r\nContent-Length: x\r\nContent-Length: 1, 2\r\n"
          "Transfer-Encoding: chunked\r\n\r\n",
          &o, &t);
    assert_int_equal(t.n, 1);
}

static void no_body_statuses(void **state)
{
    (void)state;
    struct transcript t;
    const char *s = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
                    "HTTP/1.1 304 Not Modified\r\nContent-Length: 615\r\nETag: \"x\"\r\n\r\n"
                    "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "HTTP/1.1 204 No Content\r\nContent-Length: bogus\r\n\r\n";
    check(s, NULL, &t);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.end, 0);
    assert_int_equal(t.r[0].status, 204);
    assert_int_equal(t.r[1].status, 304);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(t.r[k].body, HTTP1_BODY_NONE);
        assert_int_equal(t.r[k].body_bytes, 0);
        assert_int_equal(t.r[k].total_bytes, t.r[k].header_bytes);
        assert_false(t.r[k].close);
    }
}

static void interim(void **state)
{
    (void)state;
    struct transcript t;
    const char *s = "HTTP/1.1 100 Continue\r\n\r\n"
                    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: close\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    check(s, NULL, &t);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.end, 0);
    assert_int_equal(t.r[0].status, 200);
    assert_int_equal(t.r[0].interim, 2);
    size_t first = pos_of(s, "HTTP/1.1 200");
    assert_int_equal(t.r[0].interim_bytes, first);
    assert_int_equal(t.r[0].header_bytes, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"));
    assert_false(t.r[0].close); /* an interim response's fields are its own */
    assert_int_equal(t.r[1].status, 204);
    assert_int_equal(t.r[1].interim, 1);

    /* 101 ends HTTP/1.1 on the connection */
    const char *up = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    check(up, NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].status, 101);
    assert_true(t.r[0].close);
    assert_int_equal(t.r[0].body, HTTP1_BODY_NONE);
    char after[256];
    snprintf(after, sizeof(after), "%s\x81\x05hello", up);
    check_error(after, NULL, HTTP1_E_DATA_AFTER_CLOSE, strlen(up));

    /* interim responses to a HEAD request, then the final one */
    const unsigned flags[] = { HTTP1_HEAD };
    struct opts o = { NULL, flags, 1 };
    check("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &o, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].interim, 1);
    assert_int_equal(t.r[0].body_bytes, 0);
}

static void pipelined(void **state)
{
    (void)state;
    struct transcript t;
    const unsigned flags[] = { 0, 0, HTTP1_HEAD, 0, 0, 0, 0 };
    struct opts o = { NULL, flags, 7 };
    const char *s =
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\ntwo\r\n0\r\nT: 1\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
        "HTTP/1.1 304 Not Modified\r\n\r\n"
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nthree"
        "HTTP/1.1 204 No Content\r\n\r\n"
        "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 4\r\n\r\nfour";
    check(s, &o, &t);
    assert_int_equal(t.n, 7);
    assert_int_equal(t.end, 0);
    const uint16_t status[] = { 200, 404, 200, 304, 201, 204, 500 };
    const uint64_t body[] = { 3, 3, 0, 0, 5, 0, 4 };
    for (int k = 0; k < 7; k++) {
        assert_int_equal(t.r[k].status, status[k]);
        assert_int_equal(t.r[k].body_bytes, body[k]);
        assert_int_equal(t.r[k].close, k == 6);
    }
    assert_int_equal(t.r[1].body, HTTP1_BODY_CHUNKED);
    assert_int_equal(t.r[4].interim, 1);
}

static void lenient_but_valid(void **state)
{
    (void)state;
    struct transcript t;
    /* lone LF line ends everywhere (RFC 9112 2.2) */
    check("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"
          "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\nA: b\n\n",
          NULL, &t);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.r[1].body_bytes, 2);
    /* no reason phrase, an empty one, obs-text in it and in a value, HTTP/1.2 */
    check("HTTP/1.1 200\nContent-Length: 0\r\n\r\n"
          "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"
          "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"
          "HTTP/1.2 599 Caf\xc3\xa9\t!\r\nX: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
          NULL, &t);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.r[3].status, 599);
    assert_int_equal(t.r[3].version, 11);
    /* an empty value, tchar names */
    check("HTTP/1.1 200 OK\r\nX-Empty:\r\n!#$%&'*+-.^_`|~09azAZ: v\r\nContent-Length: 0\r\n\r\n", NULL, &t);
    assert_int_equal(t.n, 1);
}

/* ---- errors --------------------------------------------------------------- */

static void caps(void **state)
{
    (void)state;
    struct transcript t;
    struct http1_limits lim = HTTP1_LIMITS_DEFAULT;
    struct opts o = { &lim, NULL, 0 };

    /* each cap holds exactly at its value and fails one byte past it */
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    lim.status_line = 17;
    check(s, &o, &t);
    assert_int_equal(t.n, 1);
    lim.status_line = 16;
    check_error(s, &o, HTTP1_E_STATUS_LINE_TOO_LONG, 16);
    lim.status_line = 4096;

    lim.header_line = 19;
    check(s, &o, &t);
    assert_int_equal(t.n, 1);
    lim.header_line = 18;
    check_error(s, &o, HTTP1_E_HEADER_LINE_TOO_LONG, 17 + 18);
    lim.header_line = 8192;

    lim.header_block = (uint32_t)strlen(s);
    check(s, &o, &t);
    assert_int_equal(t.n, 1);
    lim.header_block--;
    check_error(s, &o, HTTP1_E_HEADERS_TOO_LONG, strlen(s) - 1);
    lim.header_block = 17; /* ends where a field line starts */
    check_error(s, &o, HTTP1_E_HEADERS_TOO_LONG, 17);
    lim.header_block = 65536;

    const char *three = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n";
    lim.header_count = 3;
    check(three, &o, &t);
    assert_int_equal(t.n, 1);
    lim.header_count = 2;
    check_error(three, &o, HTTP1_E_TOO_MANY_HEADERS, pos_of(three, "Content"));
    lim.header_count = 100;

    const char *ck = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "0001;ext=1\r\nx\r\n0\r\nTrailer: yes\r\n\r\n";
    lim.chunk_line = 5; /* "0001;" */
    lim.chunk_ext = 8;  /* ";ext=1\r\n" */
    lim.trailers = 16;  /* "Trailer: yes\r\n\r\n" */
    check(ck, &o, &t);
    assert_int_equal(t.n, 1);
    lim.chunk_line = 4;
    check_error(ck, &o, HTTP1_E_CHUNK_LINE_TOO_LONG, pos_of(ck, ";ext"));
    lim.chunk_line = 5;
    lim.chunk_ext = 7;
    check_error(ck, &o, HTTP1_E_CHUNK_EXT_TOO_LONG, pos_of(ck, "\nx"));
    lim.chunk_ext = 8;
    lim.trailers = 15;
    check_error(ck, &o, HTTP1_E_TRAILERS_TOO_LONG, strlen(ck) - 1);
    lim.trailers = 8192;
    lim.chunk_line = 32;
    lim.chunk_ext = 4096;

    /* defaults: many leading zeros are a long chunk line; 20 digits a long length */
    char buf[256];
    snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%0*d\r\n", 40, 1);
    check_error(buf, NULL, HTTP1_E_CHUNK_LINE_TOO_LONG, pos_of(buf, "\r\n\r\n") + 4 + 32);
    check_framing("HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000001\r\n\r\n", NULL,
                  HTTP1_E_LENGTH_TOO_LONG);
    lim.length_digits = 3;
    check_framing("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", &o, HTTP1_E_LENGTH_TOO_LONG);
    check("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", &o, &t);
    assert_int_equal(t.end, PK_EPARSE);
    assert_int_equal(t.err, HTTP1_E_EOF_IN_BODY);
    lim.length_digits = 25; /* clamped to 19, so a value always fits in 64 bits */
    check_framing("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", &o,
                  HTTP1_E_LENGTH_TOO_LONG);
    lim.length_digits = 19;

    lim.interim = 2;
    const char *i3 = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
                     "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    check_error(i3, &o, HTTP1_E_TOO_MANY_INTERIM, pos_of(i3, "HTTP/1.1 204") - 1);
    lim.interim = 3;
    check(i3, &o, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.r[0].interim, 3);

    /* a header line with no end never reads on: the cap stops it */
    char huge[20000];
    strcpy(huge, "HTTP/1.1 200 OK\r\nX: ");
    memset(huge + 20, 'a', 20000 - 21);
    huge[19999] = '\0';
    checkn(huge, 9000, NULL, &t);
    assert_int_equal(t.err, HTTP1_E_HEADER_LINE_TOO_LONG);
    assert_int_equal(t.err_pos, 17 + 8192);
    memset(huge, 'a', 20000);
    memcpy(huge, "HTTP/1.1 200 ", 13);
    checkn(huge, 5000, NULL, &t);
    assert_int_equal(t.err, HTTP1_E_STATUS_LINE_TOO_LONG);
    assert_int_equal(t.err_pos, 4096);

    /* the section cap across many short fields */
    char *many = malloc(70000);
    assert_non_null(many);
    size_t n = (size_t)sprintf(many, "HTTP/1.1 200 OK\r\n");
    while (n < 69000)
        n += (size_t)sprintf(many + n, "X-Field: %0990d\r\n", 7);
    struct http1_limits wide = HTTP1_LIMITS_DEFAULT;
    wide.header_count = 1000;
    struct http1_parser p;
    http1_init(&p, &wide);
    size_t used;
    struct http1_response r;
    assert_int_equal(http1_parse(&p, many, n, 0, &used, &r), PK_EPARSE);
    assert_int_equal(http1_error(&p), HTTP1_E_HEADERS_TOO_LONG);
    assert_int_equal(used, 65536);
    free(many);
}

static void syntax_errors(void **state)
{
    (void)state;
    check_error("HTTP/2.0 200 OK\r\n\r\n", NULL, HTTP1_E_BAD_VERSION, 5);
    check_error("HTTP/1.1200 OK\r\n\r\n", NULL, HTTP1_E_BAD_VERSION, 8);
    check_error("http/1.1 200 OK\r\n\r\n", NULL, HTTP1_E_BAD_VERSION, 0);
    check_error("HTTP/1.x 200 OK\r\n\r\n", NULL, HTTP1_E_BAD_VERSION, 7);
    check_error("\r\nHTTP/1.1 200 OK\r\n\r\n", NULL, HTTP1_E_BAD_VERSION, 0);
    check_error("<html>", NULL, HTTP1_E_BAD_VERSION, 0);
    check_error("HTTP/1.1 20 OK\r\n\r\n", NULL, HTTP1_E_BAD_STATUS, 11);
    check_error("HTTP/1.1 099 X\r\n\r\n", NULL, HTTP1_E_BAD_STATUS, 11);
    check_error("HTTP/1.1 600 X\r\n\r\n", NULL, HTTP1_E_BAD_STATUS, 11);
    check_error("HTTP/1.1 2000 X\r\n\r\n", NULL, HTTP1_E_BAD_STATUS, 12);
    check_error("HTTP/1.1  200 OK\r\n\r\n", NULL, HTTP1_E_BAD_STATUS, 9);
    check_error("HTTP/1.1 200 O\x01K\r\n\r\n", NULL, HTTP1_E_BAD_REASON, 14);
    check_error("HTTP/1.1 200 O\x7fK\r\n\r\n", NULL, HTTP1_E_BAD_REASON, 14);
    check_error("HTTP/1.1 200 OK\rX", NULL, HTTP1_E_BAD_LINE_END, 16);
    check_error("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_NAME, 20);
    check_error("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_NAME, 31);
    check_error("HTTP/1.1 200 OK\r\n: x\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_NAME, 17);
    check_error("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_NAME, 24);
    check_error("HTTP/1.1 200 OK\r\nNa(me): x\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_NAME, 19);
    check_error("HTTP/1.1 200 OK\r\nCon\x80: x\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_NAME, 20);
    check_error("HTTP/1.1 200 OK\r\nX: a\x01z\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_VALUE, 21);
    check_error("HTTP/1.1 200 OK\r\nX: a\x7fz\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_VALUE, 21);
    check_error("HTTP/1.1 200 OK\r\nConnection: cl\x01ose\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_VALUE, 31);
    check_error("HTTP/1.1 200 OK\r\nContent-Length: 1\x02\r\n\r\n", NULL, HTTP1_E_BAD_HEADER_VALUE, 34);
    check_error("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", NULL, HTTP1_E_BAD_LINE_END, 22);
    check_error("HTTP/1.1 200 OK\r\nX: a\r\n\rb\r\n", NULL, HTTP1_E_BAD_LINE_END, 24);
    check_error("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", NULL, HTTP1_E_OBS_FOLD, 23);
    check_error("HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n", NULL, HTTP1_E_OBS_FOLD, 23);
    check_error("HTTP/1.1 200 OK\r\n X: a\r\n\r\n", NULL, HTTP1_E_OBS_FOLD, 17);
    /* in the trailers too */
    check_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: a\r\n b\r\n\r\n", NULL,
                HTTP1_E_OBS_FOLD, 56);
    check_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT a\r\n\r\n", NULL,
                HTTP1_E_BAD_HEADER_NAME, 51);
}

static void framing_errors(void **state)
{
    (void)state;
    /* framing errors are found at the end of the header section */
    const char *tail = "\r\n\r\n";
    const char *bad_length[] = {
        "abc", "-1", "+1", "", " ", "1 2", "5,", ",5", "1.0", "0x10", "1;", "5, ,5"
    };
    for (size_t k = 0; k < sizeof(bad_length) / sizeof(*bad_length); k++) {
        char s[128];
        snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nContent-Length: %s%s", bad_length[k], tail);
        check_framing(s, NULL, HTTP1_E_BAD_CONTENT_LENGTH);
    }
    check_framing("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", NULL, HTTP1_E_CONTENT_LENGTH_CONFLICT);
    check_framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05\r\nContent-Length: 6\r\n\r\n",
                  NULL, HTTP1_E_CONTENT_LENGTH_CONFLICT);
    /* the first framing error found is the one reported */
    check_framing("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\nContent-Length: x\r\n\r\n", NULL,
                  HTTP1_E_CONTENT_LENGTH_CONFLICT);
    check_framing("HTTP/1.1 200 OK\r\nContent-Length: x\r\nContent-Length: 5, 6\r\n\r\n", NULL,
                  HTTP1_E_BAD_CONTENT_LENGTH);

    const char *bad_te[] = { "",
                             " ,, ",
                             "chunked, chunked",
                             "chunked\"x\"",
                             "(chunked)",
                             "chunked, gzip, chunked",
                             "chunked;x=\"open",
                             "gzip chunked" };
    for (size_t k = 0; k < sizeof(bad_te) / sizeof(*bad_te); k++) {
        char s[128];
        snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nTransfer-Encoding: %s%s", bad_te[k], tail);
        check_framing(s, NULL, HTTP1_E_BAD_TRANSFER_ENCODING);
    }
    check_framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", NULL,
                  HTTP1_E_BAD_TRANSFER_ENCODING);
    check_framing("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", NULL,
                  HTTP1_E_TE_WITH_LENGTH);
    check_framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", NULL,
                  HTTP1_E_TE_WITH_LENGTH);
    check_framing("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", NULL, HTTP1_E_TE_IN_HTTP10);

    const char *te = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const size_t h = strlen(te);
    struct {
        const char *body;
        enum http1_error err;
        size_t at;
    } chunks[] = {
        { "\r\n", HTTP1_E_BAD_CHUNK_SIZE, 0 },
        { "xyz\r\n", HTTP1_E_BAD_CHUNK_SIZE, 0 },
        { "-5\r\n", HTTP1_E_BAD_CHUNK_SIZE, 0 },
        { ";x\r\n", HTTP1_E_BAD_CHUNK_SIZE, 0 },
        { "5 \r\nhello\r\n", HTTP1_E_BAD_CHUNK_SIZE, 2 },
        { "5g\r\n", HTTP1_E_BAD_CHUNK_SIZE, 1 },
        { "0x5\r\n", HTTP1_E_BAD_CHUNK_SIZE, 1 },
        { "5\rhello", HTTP1_E_BAD_LINE_END, 2 },
        { "10000000000000000\r\n", HTTP1_E_CHUNK_SIZE_OVERFLOW, 16 },
        { "ffffffffffffffff0\r\n", HTTP1_E_CHUNK_SIZE_OVERFLOW, 16 },
        { "5;a\x01\r\nhello\r\n", HTTP1_E_BAD_CHUNK_EXT, 3 },
        { "5;a\rb\r\nhello\r\n", HTTP1_E_BAD_LINE_END, 4 },
        { "5\r\nhelloX\r\n", HTTP1_E_BAD_CHUNK_END, 8 },
        { "5\r\nhello\rX", HTTP1_E_BAD_CHUNK_END, 9 },
        { "5\r\nhello\r\n0\r\nT\x01: x\r\n\r\n", HTTP1_E_BAD_HEADER_NAME, 14 },
        { "5\r\nhello\r\n0\r\nT: \x01\r\n\r\n", HTTP1_E_BAD_HEADER_VALUE, 16 },
        { "5\r\nhello\r\n0\r\n\rX", HTTP1_E_BAD_LINE_END, 14 },
    };
    for (size_t k = 0; k < sizeof(chunks) / sizeof(*chunks); k++) {
        char s[256];
        snprintf(s, sizeof(s), "%s%s", te, chunks[k].body);
        check_error(s, NULL, chunks[k].err, h + chunks[k].at);
    }
    /* the largest chunk size is fine, until EOF */
    struct transcript t;
    check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc", NULL, &t);
    assert_int_equal(t.err, HTTP1_E_EOF_IN_BODY);
}

static void truncation(void **state)
{
    (void)state;
    struct transcript t;
    /* a clean end between responses */
    check("", NULL, &t);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.end, 0);
    const char *head_cuts[] = { "H",
                                "HTTP/1.1 200",
                                "HTTP/1.1 200 OK\r",
                                "HTTP/1.1 200 OK\r\nX: y",
                                "HTTP/1.1 200 OK\r\nX: y\r\n",
                                "HTTP/1.1 100 Continue\r\n\r\n",
                                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 2" };
    for (size_t k = 0; k < sizeof(head_cuts) / sizeof(*head_cuts); k++) {
        check(head_cuts[k], NULL, &t);
        assert_int_equal(t.end, PK_EPARSE);
        assert_int_equal(t.err, HTTP1_E_EOF_IN_HEAD);
        assert_int_equal(t.err_pos, strlen(head_cuts[k]));
    }
    const char *body_cuts[] = { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r",
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n" };
    for (size_t k = 0; k < sizeof(body_cuts) / sizeof(*body_cuts); k++) {
        check(body_cuts[k], NULL, &t);
        assert_int_equal(t.end, PK_EPARSE);
        assert_int_equal(t.err, HTTP1_E_EOF_IN_BODY);
    }
    /* a complete pipelined response, then a clean end */
    check("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", NULL, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.end, 0);
}

static void api(void **state)
{
    (void)state;
    /* every error has its own name and a text */
    for (int a = 0; a < HTTP1_E_COUNT; a++) {
        const char *na = http1_error_name((enum http1_error)a);
        assert_non_null(na);
        assert_string_not_equal(na, "unknown");
        assert_string_not_equal(http1_error_text((enum http1_error)a), "unknown error");
        for (const char *c = na; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
        for (int b = 0; b < a; b++)
            assert_string_not_equal(na, http1_error_name((enum http1_error)b));
    }
    assert_string_equal(http1_error_name(HTTP1_E_COUNT), "unknown");
    assert_string_equal(http1_error_name(HTTP1_E_OBS_FOLD), "obs_fold");

    struct http1_parser p;
    http1_init(&p, NULL);
    size_t used;
    struct http1_response r;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nX\x01";
    assert_int_equal(http1_parse(&p, s, strlen(s), 0, &used, &r), 1);
    assert_int_equal(used, 40);
    assert_int_equal(http1_parse(&p, s + used, strlen(s) - used, 0, &used, &r), PK_EPARSE);
    assert_int_equal(used, 18);
    assert_int_equal(http1_error_offset(&p), 18);
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(http1_error_set(&p, &e), PK_EPARSE);
    char msg[256];
    assert_string_equal(pk_err_str(&e, msg, sizeof(msg)),
                        "HTTP response byte 18: invalid HTTP response: invalid header field name");
    assert_int_equal(http1_finish(&p, &r), PK_EPARSE);

    /* reset gives a fresh connection with the same limits */
    http1_reset(&p);
    assert_int_equal(http1_error(&p), HTTP1_E_NONE);
    assert_int_equal(http1_parse(&p, s, 40, 0, &used, &r), 1);
    assert_int_equal(http1_finish(&p, &r), 0);

    /* a zero-length feed is harmless anywhere */
    http1_init(&p, NULL);
    assert_int_equal(http1_parse(&p, s, 0, 0, &used, &r), 0);
    assert_int_equal(used, 0);
    assert_int_equal(http1_parse(&p, s, 10, 0, &used, &r), 0);
    assert_int_equal(http1_parse(&p, s + 10, 0, 0, &used, &r), 0);
    assert_int_equal(http1_parse(&p, s + 10, 30, 0, &used, &r), 1);
}

/* ---- nginx's bytes -------------------------------------------------------- */

static char *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), FIX "%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    assert_true(*len > 0 && *len < (1 << 16));
    return buf;
}

/* Offset just past the first blank line at or after `from`. */
static size_t head_end(const char *buf, size_t len, size_t from)
{
    const char *q = memmem(buf + from, len - from, "\r\n\r\n", 4);
    assert_non_null(q);
    return (size_t)(q - buf) + 4;
}

static struct transcript *parse_fixture(const char *name, const struct opts *o, char **buf, size_t *len)
{
    struct transcript *t = malloc(sizeof(*t));
    assert_non_null(t);
    *buf = load(name, len);
    checkn(*buf, *len, o, t);
    return t;
}

static void nginx_single(void **state)
{
    (void)state;
    char *b;
    size_t len;
    struct transcript *t;

    t = parse_fixture("get.bin", NULL, &b, &len);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->end, 0);
    assert_int_equal(t->r[0].status, 200);
    assert_int_equal(t->r[0].version, 11);
    assert_int_equal(t->r[0].body, HTTP1_BODY_LENGTH);
    assert_int_equal(t->r[0].content_length, 615);
    assert_int_equal(t->r[0].body_bytes, 615);
    assert_int_equal(t->r[0].header_bytes, head_end(b, len, 0));
    assert_int_equal(t->r[0].total_bytes, len);
    assert_false(t->r[0].close);
    free(t);
    free(b);

    const unsigned head_flag[] = { HTTP1_HEAD };
    struct opts oh = { NULL, head_flag, 1 };
    t = parse_fixture("head.bin", &oh, &b, &len);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->end, 0);
    assert_int_equal(t->r[0].body, HTTP1_BODY_NONE);
    assert_true(t->r[0].has_length);
    assert_int_equal(t->r[0].content_length, 615);
    assert_int_equal(t->r[0].header_bytes, len);
    free(t);
    free(b);

    const char *bodiless[] = { "no-content.bin", "not-modified-etag.bin", "not-modified-since.bin" };
    const uint16_t codes[] = { 204, 304, 304 };
    for (int k = 0; k < 3; k++) {
        t = parse_fixture(bodiless[k], NULL, &b, &len);
        assert_int_equal(t->n, 1);
        assert_int_equal(t->end, 0);
        assert_int_equal(t->r[0].status, codes[k]);
        assert_int_equal(t->r[0].body, HTTP1_BODY_NONE);
        assert_int_equal(t->r[0].header_bytes, len);
        free(t);
        free(b);
    }

    /* the same gzip bytes, framed by close (HTTP/1.0) and chunked (HTTP/1.1) */
    t = parse_fixture("gzip-close-http10.bin", NULL, &b, &len);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->end, 1);
    assert_int_equal(t->r[0].body, HTTP1_BODY_CLOSE);
    assert_true(t->r[0].close);
    uint64_t gz = len - head_end(b, len, 0);
    assert_int_equal(t->r[0].body_bytes, gz);
    free(t);
    free(b);
    t = parse_fixture("gzip-chunked.bin", NULL, &b, &len);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->end, 0);
    assert_int_equal(t->r[0].body, HTTP1_BODY_CHUNKED);
    assert_int_equal(t->r[0].body_bytes, gz);
    assert_int_equal(t->r[0].total_bytes, len);
    const char *trailer = "\r\n0\r\nX-Checksum: done\r\n\r\n"; /* a real trailer */
    assert_non_null(memmem(b, len, trailer, strlen(trailer)));
    free(t);
    free(b);

    t = parse_fixture("stream-chunked.bin", NULL, &b, &len);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->r[0].body, HTTP1_BODY_CHUNKED);
    assert_int_equal(t->r[0].body_bytes, strlen("first part\nsecond part\nthird part\n"));
    assert_int_equal(t->r[0].total_bytes, len);
    free(t);
    free(b);

    t = parse_fixture("continue.bin", NULL, &b, &len);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->r[0].status, 201);
    assert_int_equal(t->r[0].interim, 1);
    assert_int_equal(t->r[0].interim_bytes, strlen("HTTP/1.1 100 Continue\r\n\r\n"));
    assert_int_equal(t->r[0].header_bytes, head_end(b, len, 25) - 25);
    assert_int_equal(t->r[0].body_bytes, 7);
    free(t);
    free(b);

    t = parse_fixture("not-found.bin", NULL, &b, &len);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->r[0].status, 404);
    assert_int_equal(t->r[0].body_bytes, len - head_end(b, len, 0));
    free(t);
    free(b);
}

static void nginx_pipelined(void **state)
{
    (void)state;
    /* record.sh: GET, HEAD, 204, stream, 304 (ETag), gzip, 100+201, 304 (date), 404 + close */
    const unsigned flags[] = { 0, HTTP1_HEAD, 0, 0, 0, 0, 0, 0, 0 };
    struct opts o = { NULL, flags, 9 };
    char *b;
    size_t len;
    struct transcript *t = parse_fixture("pipelined.bin", &o, &b, &len);
    assert_int_equal(t->n, 9);
    assert_int_equal(t->end, 0);
    const uint16_t status[] = { 200, 200, 204, 200, 304, 200, 201, 304, 404 };
    const uint8_t body[] = { HTTP1_BODY_LENGTH,  HTTP1_BODY_NONE, HTTP1_BODY_NONE,
                             HTTP1_BODY_CHUNKED, HTTP1_BODY_NONE, HTTP1_BODY_CHUNKED,
                             HTTP1_BODY_LENGTH,  HTTP1_BODY_NONE, HTTP1_BODY_LENGTH };
    uint64_t at = 0;
    for (int k = 0; k < 9; k++) {
        const struct http1_response *r = &t->r[k];
        assert_int_equal(r->status, status[k]);
        assert_int_equal(r->body, body[k]);
        assert_int_equal(r->close, k == 8);
        assert_int_equal(r->interim, k == 6);
        assert_int_equal(r->header_bytes + r->interim_bytes,
                         head_end(b, len, (size_t)(at + r->interim_bytes)) - at);
        at += r->total_bytes;
    }
    assert_int_equal(at, len);
    assert_int_equal(t->r[0].body_bytes, 615);
    assert_int_equal(t->r[1].content_length, 615);
    assert_int_equal(t->r[3].body_bytes, 34);
    assert_int_equal(t->r[6].body_bytes, 7);
    free(t);

    /* without the HEAD flag the second response swallows the next ones as body */
    struct transcript *u = malloc(sizeof(*u));
    assert_non_null(u);
    checkn(b, len, NULL, u);
    assert_true(u->n < 9 || u->end < 0);
    free(u);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(content_length),
        cmocka_unit_test(chunked),
        cmocka_unit_test(close_delimited),
        cmocka_unit_test(connection),
        cmocka_unit_test(head),
        cmocka_unit_test(no_body_statuses),
        cmocka_unit_test(interim),
        cmocka_unit_test(pipelined),
        cmocka_unit_test(lenient_but_valid),
        cmocka_unit_test(caps),
        cmocka_unit_test(syntax_errors),
        cmocka_unit_test(framing_errors),
        cmocka_unit_test(truncation),
        cmocka_unit_test(api),
        cmocka_unit_test(nginx_single),
        cmocka_unit_test(nginx_pipelined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
