/*
 * request - the requests `perfkit load` sends, built once before the run:
 * each is the exact bytes to write ("GET /x HTTP/1.1\r\nHost: ...\r\n...
 * \r\n" and its body), so the engine's hot path only copies pointers.
 *
 * Header fields: Host first (the URL's authority, or the user's Host field,
 * at most one, not empty: a name-based virtual host on an address; the
 * connection and TLS's SNI still go to the URL's host, as curl's -H Host
 * does), then the user's other fields in order, then Content-Length when
 * there is a body or the method is POST, PUT or PATCH (0 then), and
 * "Connection: close" without keep-alive. Content-Length,
 * Transfer-Encoding and Connection cannot be set by the user (PK_EUSAGE
 * naming the header: the engine owns the framing and the connection);
 * a name must be an RFC 9110 token and a value free of control bytes
 * (PK_EPARSE naming `on`).
 *
 * No User-Agent is sent unless the user gives one (-H): every byte of a
 * request costs the server parsing time, and the smallest request is the
 * one a load test measures best (wrk sends none either).
 *
 * Ownership: request_build() fills a caller-owned struct whose bytes
 * are malloc'd; request_destroy() frees them (harmless twice). No
 * state: thread-safe.
 */
#ifndef PK_LOAD_REQUEST_H
#define PK_LOAD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/url.h"
#include "perfkit.h"

#define REQUEST_BYTES_MAX (64u << 20)

struct load_header {
    const char *name;
    const char *value;
};

struct load_request {
    struct url url;  /* origin (scheme, host, port) and target */
    uint32_t weight; /* >= 1 */
    bool head;       /* HEAD: the response has no body */
    char *name;      /* what its results are reported under (malloc'd, freed by request_destroy());
                      * NULL: its URL */
    char *bytes;     /* the whole request */
    size_t len;
};

/* "Name: value" (one -H) split at the first colon, blanks around the value
 * trimmed; PK_EPARSE naming `on` ("-H") when there is no colon or the name
 * is empty. The pointers point into the caller's buffer `text`, which is
 * modified (the colon becomes a NUL). */
int request_split_header(char *text, const char *on, struct load_header *h, struct pk_err *e);

/* body may be NULL (no body); on names the source in messages ("-H",
 * "scenario.scn:4"). */
int request_build(struct load_request *r, const char *method, const struct url *u,
                  const struct load_header *h, size_t nh, const char *body, size_t body_len, bool keepalive,
                  const char *on, struct pk_err *e);
void request_destroy(struct load_request *r);

#endif
