/*
 * http1 - the HTTP/1.1 response parser of `perfkit load`: incremental,
 * zero-copy and allocation-free, for a client that may pipeline requests.
 *
 * Contract. A caller-owned struct http1_parser per connection, set up with
 * http1_init() (nothing to destroy). http1_parse() is fed the bytes as they
 * arrive, split anywhere (inside "\r\n", a header name, a chunk-size line);
 * it never reads past buf + len and never keeps a pointer into buf, so the
 * caller can reuse its read buffer as soon as the call returns:
 *   - returns 0: all len bytes consumed, the response is not complete yet;
 *   - returns 1: one whole response ended after *consumed bytes (possibly
 *     fewer than len: pipelined responses follow), *out is filled and the
 *     parser is ready for the next response; call again on the rest;
 *   - returns PK_EPARSE: malformed or over a cap; http1_error() tells which
 *     (http1_error_name() is the key of the "errors by phase: parse" counter)
 *     and *consumed is the offset of the offending byte. The error sticks
 *     until http1_reset(): the connection cannot be trusted any more.
 * On EOF the caller calls http1_finish(): 1 completes a body delimited by
 * the close, 0 means no response was in progress, PK_EPARSE a truncation
 * (HTTP1_E_EOF_IN_HEAD / HTTP1_E_EOF_IN_BODY, which an engine may count as
 * a read error rather than a parse error).
 *
 * HEAD: flags carry HTTP1_HEAD while the response being parsed answers a HEAD
 * request; only its value when the header section ends matters (pipelining
 * callers pass the flag of the oldest outstanding request). A response to
 * HEAD, 1xx, 204 and 304 has no body whatever its header fields say, and
 * those fields are then not checked for framing (RFC 9112 6.3 rule 1); so
 * framing errors are reported at the LF that ends the header section. A 2xx
 * to CONNECT (a tunnel) is not handled: the load generator never tunnels.
 *
 * Interim responses (1xx except 101, e.g. 100 Continue) are skipped
 * transparently: they are counted in out->interim and out->interim_bytes of
 * the final response that follows. 101 Switching Protocols is reported as a
 * final response with close set: what follows is not HTTP/1.1.
 *
 * After a response with close set the parser accepts no more bytes
 * (HTTP1_E_DATA_AFTER_CLOSE): the caller closes the connection and drops the
 * rest of its buffer.
 *
 * Strictness (RFC 9112 as a client must, and stricter where a load test is
 * better served by an error than by a guess): a conflicting or invalid
 * framing is an error (Content-Length with Transfer-Encoding, two different
 * Content-Lengths, a non-decimal one, chunked applied twice, Transfer-Encoding
 * in HTTP/1.0, a bad chunk size); obs-fold and a whitespace-started line
 * are rejected (RFC 9112 5.2 would let a user agent unfold; no server a
 * load test aims at folds, and unfolding framing fields is how smuggling
 * starts); a bare CR, a control character in a field value, whitespace
 * before the colon are errors. Accepted: a lone LF as line end (RFC 9112
 * 2.2), "Content-Length: 42, 42" and repeated identical Content-Length
 * fields (RFC 9110 8.6), a status line without reason phrase, any HTTP/1.x
 * minor version (read as 1.1). Trailer fields are checked for syntax and
 * skipped. Chunk extensions are checked for characters only.
 *
 * Threads: none shared; one parser per connection, used by one thread.
 */
#ifndef PK_LOAD_HTTP1_H
#define PK_LOAD_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

/* Caps, in bytes unless said; each exceeded one has its own error. */
struct http1_limits {
    uint32_t status_line;   /* "HTTP/1.1 200 OK\r\n", line end included */
    uint32_t header_line;   /* one field line, line end included */
    uint32_t header_count;  /* field lines in one header section */
    uint32_t header_block;  /* status line + fields + blank line */
    uint32_t chunk_line;    /* chunk-size line up to its ';' or line end, included */
    uint32_t chunk_ext;     /* its extensions, from that ';' to the line end, included */
    uint32_t trailers;      /* the trailer section with its blank line */
    uint32_t length_digits; /* Content-Length digits (at most 19: no overflow) */
    uint32_t interim;       /* 1xx responses before one final response */
};

/* Defaults: 4 KiB, 8 KiB, 100, 64 KiB, 32, 4 KiB, 8 KiB, 19, 16. */
#define HTTP1_LIMITS_DEFAULT                           \
    {                                                  \
        4096, 8192, 100, 65536, 32, 4096, 8192, 19, 16 \
    }

enum http1_error {
    HTTP1_E_NONE = 0,
    /* caps */
    HTTP1_E_STATUS_LINE_TOO_LONG,
    HTTP1_E_HEADER_LINE_TOO_LONG,
    HTTP1_E_TOO_MANY_HEADERS,
    HTTP1_E_HEADERS_TOO_LONG,
    HTTP1_E_CHUNK_LINE_TOO_LONG,
    HTTP1_E_CHUNK_EXT_TOO_LONG,
    HTTP1_E_TRAILERS_TOO_LONG,
    HTTP1_E_LENGTH_TOO_LONG, /* Content-Length with too many digits */
    HTTP1_E_TOO_MANY_INTERIM,
    /* syntax */
    HTTP1_E_BAD_VERSION,      /* not "HTTP/1.<digit> " */
    HTTP1_E_BAD_STATUS,       /* not three digits in 100..599 */
    HTTP1_E_BAD_REASON,       /* control character in the reason phrase */
    HTTP1_E_BAD_HEADER_NAME,  /* not a token, empty, no colon, space before it */
    HTTP1_E_BAD_HEADER_VALUE, /* control character in a field value */
    HTTP1_E_OBS_FOLD,         /* a field line starting with whitespace */
    HTTP1_E_BAD_LINE_END,     /* CR not followed by LF */
    /* framing */
    HTTP1_E_BAD_CONTENT_LENGTH, /* empty, signed, not decimal */
    HTTP1_E_CONTENT_LENGTH_CONFLICT,
    HTTP1_E_BAD_TRANSFER_ENCODING, /* empty, not a token list, chunked twice */
    HTTP1_E_TE_WITH_LENGTH,        /* Transfer-Encoding and Content-Length */
    HTTP1_E_TE_IN_HTTP10,
    HTTP1_E_BAD_CHUNK_SIZE,      /* no hex digit, junk after it */
    HTTP1_E_CHUNK_SIZE_OVERFLOW, /* more than 64 bits */
    HTTP1_E_BAD_CHUNK_EXT,       /* control character in an extension */
    HTTP1_E_BAD_CHUNK_END,       /* chunk data not followed by a line end */
    /* connection */
    HTTP1_E_DATA_AFTER_CLOSE,
    HTTP1_E_EOF_IN_HEAD,
    HTTP1_E_EOF_IN_BODY,
    HTTP1_E_COUNT
};

enum http1_body {
    HTTP1_BODY_NONE,   /* HEAD, 1xx, 204, 304 */
    HTTP1_BODY_LENGTH, /* Content-Length (0 included) */
    HTTP1_BODY_CHUNKED,
    HTTP1_BODY_CLOSE, /* read until the server closes */
};

/* Per-call flags of http1_parse(). */
enum { HTTP1_HEAD = 1u << 0 };

/* One complete response. Byte counts add up: total_bytes = interim_bytes +
 * header_bytes + body_bytes + chunk framing and trailers. */
struct http1_response {
    uint16_t status;
    uint8_t version;         /* 10 for HTTP/1.0, 11 for HTTP/1.1 (and 1.2..1.9) */
    uint8_t body;            /* enum http1_body */
    bool close;              /* the connection must close after this response */
    bool has_length;         /* a Content-Length was there (even on HEAD/304) */
    uint16_t interim;        /* 1xx responses skipped before this one */
    uint32_t header_bytes;   /* status line, fields and blank line of this response */
    uint64_t content_length; /* valid if has_length and the response had a body */
    uint64_t body_bytes;     /* content bytes, chunk framing excluded */
    uint64_t interim_bytes;
    uint64_t total_bytes; /* everything consumed for this response */
};

/* Caller-owned, one per connection (144 bytes on x86-64); the fields are
 * http1.c's own. */
struct http1_parser {
    struct http1_limits lim;
    uint64_t off;        /* bytes of the current response consumed by earlier calls */
    uint64_t line_lim;   /* offset the current line (or section) must end before */
    uint64_t head_start; /* offset of the current status line */
    uint64_t remaining;  /* content or chunk bytes still to skip */
    uint64_t length;     /* first Content-Length value */
    uint64_t acc;        /* number being read: Content-Length element, chunk size */
    uint64_t body_bytes;
    uint64_t interim_bytes;
    uint64_t error_off;
    uint32_t header_bytes;
    uint32_t ndigits;
    uint16_t status;
    uint16_t nfields;
    uint16_t interim;
    uint16_t flags; /* private bits of http1.c */
    uint8_t state, sub, idx, field, cand, body;
    uint8_t version, line_err, framing_err, error;
};

/* lim NULL: HTTP1_LIMITS_DEFAULT. length_digits is clamped to 19,
 * header_count and interim to 65534. */
void http1_init(struct http1_parser *p, const struct http1_limits *lim);
/* Back to the start of a response, limits kept (a new connection). */
void http1_reset(struct http1_parser *p);

int http1_parse(struct http1_parser *p, const char *buf, size_t len, unsigned flags, size_t *consumed,
                struct http1_response *out);
int http1_finish(struct http1_parser *p, struct http1_response *out);

/* The error of the last PK_EPARSE (HTTP1_E_NONE if none), and its offset
 * from the start of the response (interim responses included). */
enum http1_error http1_error(const struct http1_parser *p);
uint64_t http1_error_offset(const struct http1_parser *p);

/* "status_line_too_long", ... (a JSON key); "unknown" out of range. */
const char *http1_error_name(enum http1_error err);
/* "status line over the cap", ... for people. */
const char *http1_error_text(enum http1_error err);
/* Fills e (on = "HTTP response byte N") from p's error; returns PK_EPARSE. */
int http1_error_set(const struct http1_parser *p, struct pk_err *e);

#endif
