/*
 * scenario - the scenario file of `perfkit load` (--scenario FILE): the
 * requests a simulated user makes, with their weights, and the think time
 * between two requests of one user (as Locust's wait_time). The format is
 * documented in docs/load-scenario.md; in short:
 *
 *   # comment
 *   think between 1s 5s            (or: think constant 2s, think none)
 *   request GET http://h:8080/a weight 3
 *     header Accept: application/json
 *   request POST http://h:8080/b
 *     header Content-Type: application/json
 *     body {"name": "x"}           (or: body @file.json, relative to the scenario)
 *     name create item             (what its results are reported under)
 *
 * scenario_parse() is pure (a buffer in, no file access), which is what the
 * fuzz target drives; a `body @FILE` there is only recorded (body_file) and
 * scenario_load() reads those files after parsing its own.
 *
 * Errors: PK_EPARSE with e->on = "<name>:<line>" and a message saying what
 * was expected and what was found ("x.scn:7: expected 'request METHOD URL'
 * or 'think ...', got 'requets'"); file-wide errors (no request, too large)
 * have e->on = "<name>". Errors of URLs and durations come from url and
 * core/units with the same on. -ENOMEM, and -errno of reading files, with
 * the path. Every input is capped (SCENARIO_*_MAX below).
 *
 * Ownership: on success *s owns everything it points to; free it with
 * scenario_destroy(). On failure *s is left empty (scenario_destroy() on it
 * is harmless). No state: distinct scenarios may be used from any thread.
 */
#ifndef PK_LOAD_SCENARIO_H
#define PK_LOAD_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "core/url.h"
#include "perfkit.h"

#define SCENARIO_FILE_MAX     (4u << 20) /* scenario text */
#define SCENARIO_LINE_MAX     8192u      /* one line, line end excluded */
#define SCENARIO_REQUESTS_MAX 1000u
#define SCENARIO_HEADERS_MAX  64u        /* per request */
#define SCENARIO_BODY_MAX     (1u << 20) /* a body read from a file */
#define SCENARIO_METHOD_MAX   32u
#define SCENARIO_WEIGHT_MAX   1000000u
#define SCENARIO_NAME_MAX     256u /* a request's name */

enum scenario_think {
    SCENARIO_THINK_NONE,     /* the default: a user sends its next request at once */
    SCENARIO_THINK_CONSTANT, /* think_min == think_max */
    SCENARIO_THINK_BETWEEN,  /* uniform in [think_min, think_max] */
};

struct scenario_header {
    char *name;  /* one allocation holds both: free(name) only */
    char *value; /* trimmed, may be empty */
};

struct scenario_request {
    char method[SCENARIO_METHOD_MAX + 1];
    struct url url;  /* url.weight stays 1: the weight is below */
    uint32_t weight; /* 1..SCENARIO_WEIGHT_MAX, default 1 */
    unsigned line;   /* of its 'request' line, for messages */
    struct scenario_header *headers;
    size_t nheaders;
    char *body; /* NULL: no body; NUL-terminated, body_len bytes */
    size_t body_len;
    char *body_file;    /* `body @FILE` as written, else NULL */
    char *name;         /* `name TEXT`, else NULL: results by name use "METHOD URL" */
    unsigned body_line; /* of its 'body' line */
};

struct scenario {
    enum scenario_think think;
    double think_min, think_max; /* seconds */
    struct scenario_request *requests;
    size_t nrequests;
    uint64_t total_weight;
};

/* What makes a method unusable, in the order checked. Methods are
 * case-sensitive tokens (RFC 9110): "get" is a typo for GET, not a method a
 * server knows, so it is refused too. Callers word the message (a scenario
 * line, an option). */
enum scenario_method_fault {
    SCENARIO_METHOD_OK,
    SCENARIO_METHOD_LENGTH,    /* empty, or longer than SCENARIO_METHOD_MAX */
    SCENARIO_METHOD_NOT_TOKEN, /* a byte other than letters, digits and !#$%&'*+-.^_`|~ */
    SCENARIO_METHOD_LOWERCASE, /* a token with lowercase letters */
};
/* n bytes of m (need not be NUL-terminated). */
enum scenario_method_fault scenario_method_check(const char *m, size_t n);

void scenario_init(struct scenario *s);
void scenario_destroy(struct scenario *s);

/* buf need not be NUL-terminated; name is used in messages only. Bodies
 * from files are left NULL (see body_file). */
int scenario_parse(const char *buf, size_t len, const char *name, struct scenario *s, struct pk_err *e);
/* Reads and parses path, then every body file, relative to path's folder. */
int scenario_load(const char *path, struct scenario *s, struct pk_err *e);

#endif
