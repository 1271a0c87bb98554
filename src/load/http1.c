#include "load/http1.h"

#include <string.h>

#include "core/check.h"
#include "core/err.h"
#include "load/http1_scan.h"

/*
 * A state machine over bytes, with no buffer of its own: every state is
 * resumable at any byte, so a response split anywhere parses the same as
 * whole. Split as nginx splits its parser: a sub-machine for the status
 * line, one for the field lines (header section and trailers, with the
 * three framing fields' values each in its own), one for a body of known
 * length or read until the close, one for the chunked framing; http1_parse
 * hands the bytes to the one the state belongs to until it returns.
 *
 * The hot path is a header section that arrived in one piece, so names,
 * values and reason phrases are consumed as runs (http1_scan.h, SSE2 for
 * values) and one field line chains into the next without going back
 * through the state switch; only the three framing fields' values and the
 * short status and chunk-size tokens go byte by byte. A name is matched
 * against the framing fields at once when it is whole in the buffer, and
 * piece by piece (cand, idx) when it is split.
 *
 * Caps are offsets: line_lim is the offset, from the response's first byte,
 * that the current line (or trailer section) must end before, and line_err
 * the error if it does not. Checking it once per step of each sub-machine,
 * and bounding the run loops by it, enforces every length cap without
 * counters.
 */

/* In the order of the sub-machines, each a range (http1_parse dispatches on it). */
enum state {
    /* status_line() */
    S_STATUS, /* "HTTP/1.x " at idx */
    S_CODE,   /* status code digit idx */
    S_AFTER_CODE,
    S_REASON,
    S_STATUS_LF,
    /* field_lines() */
    S_LINE, /* start of a field line or of the blank line */
    S_BLANK_LF,
    S_NAME,
    S_OWS,
    S_VALUE,
    S_LENGTH, /* Content-Length value; sub is enum length_sub */
    S_TE,     /* Transfer-Encoding value; sub is enum te_sub */
    S_CONN,   /* Connection value; sub is enum conn_sub */
    S_FIELD_LF,
    /* body() */
    S_BODY_LENGTH,
    S_BODY_CLOSE,
    /* chunked() */
    S_CHUNK_SIZE,
    S_CHUNK_BWS,
    S_CHUNK_EXT,
    S_CHUNK_LF,
    S_CHUNK_DATA,
    S_CHUNK_CR,
    S_CHUNK_DATA_LF,
    /* http1_parse() itself */
    S_CLOSED,
    S_ERROR,
};

enum length_sub { L_LEAD, L_DIGITS, L_TRAIL };
enum te_sub { T_LEAD, T_TOKEN, T_AFTER, T_PARAM, T_QUOTED, T_QESC };
enum conn_sub { CN_LEAD, CN_TOKEN, CN_AFTER, CN_SKIP };

/* p->flags */
enum {
    F_LENGTH = 1u << 0,  /* a Content-Length element was read */
    F_TE = 1u << 1,      /* a Transfer-Encoding element was read */
    F_TE_LAST = 1u << 2, /* ... and the last one so far is chunked */
    F_TE_SEEN = 1u << 3, /* chunked was among them */
    F_ELEM = 1u << 4,    /* the current Transfer-Encoding field has an element */
    F_CONN_CLOSE = 1u << 5,
    F_KEEPALIVE = 1u << 6,
    F_TRAILERS = 1u << 7,
    F_MUSTCLOSE = 1u << 8,
};

/* The fields that decide framing, as bits of p->cand while a name is read. */
enum { K_LENGTH = 1, K_TE = 2, K_CONN = 4 };
static const struct name field_names[] = {
    { "content-length", 14 },
    { "transfer-encoding", 17 },
    { "connection", 10 },
};
static const struct name conn_names[] = { { "close", 5 }, { "keep-alive", 10 } };
static const struct name te_names[] = { { "chunked", 7 } };

static int fail(struct http1_parser *p, enum http1_error err, uint64_t at)
{
    p->error = (uint8_t)err;
    p->error_off = at;
    p->state = S_ERROR;
    return PK_EPARSE;
}

/* A status or field line starting at `at`: its own cap, within the section's. */
static void head_line(struct http1_parser *p, uint64_t at, uint32_t cap, enum http1_error err)
{
    uint64_t block = p->head_start + p->lim.header_block;
    p->line_lim = at + cap;
    p->line_err = (uint8_t)err;
    if (block < p->line_lim) {
        p->line_lim = block;
        p->line_err = HTTP1_E_HEADERS_TOO_LONG;
    }
}

/* A new status line at `at`, with nothing of the previous head kept. */
static void head_begin(struct http1_parser *p, uint64_t at)
{
    p->state = S_STATUS;
    p->idx = 0;
    p->status = 0;
    p->nfields = 0;
    p->framing_err = 0;
    p->flags = 0;
    p->length = 0;
    p->head_start = at;
    head_line(p, at, p->lim.status_line, HTTP1_E_STATUS_LINE_TOO_LONG);
}

/* The next response starts at offset 0 of a fresh count. */
static void response_begin(struct http1_parser *p)
{
    p->off = 0;
    p->body_bytes = 0;
    p->interim = 0;
    p->interim_bytes = 0;
    p->header_bytes = 0;
    p->body = HTTP1_BODY_NONE;
    head_begin(p, 0);
}

void http1_init(struct http1_parser *p, const struct http1_limits *lim)
{
    static const struct http1_limits defaults = HTTP1_LIMITS_DEFAULT;
    memset(p, 0, sizeof(*p));
    p->lim = lim ? *lim : defaults;
    /* 19 digits always fit in 64 bits, so no overflow check on the hot path. */
    if (p->lim.length_digits > 19)
        p->lim.length_digits = 19;
    /* the counters are 16-bit */
    if (p->lim.header_count > UINT16_MAX - 1)
        p->lim.header_count = UINT16_MAX - 1;
    if (p->lim.interim > UINT16_MAX - 1)
        p->lim.interim = UINT16_MAX - 1;
    response_begin(p);
}

void http1_reset(struct http1_parser *p)
{
    p->error = HTTP1_E_NONE;
    p->error_off = 0;
    response_begin(p);
}

static void complete(struct http1_parser *p, uint64_t at, struct http1_response *out)
{
    if (out) {
        out->status = p->status;
        out->version = p->version;
        out->body = p->body;
        out->close = (p->flags & F_MUSTCLOSE) != 0;
        out->has_length = (p->flags & F_LENGTH) != 0;
        out->interim = p->interim;
        out->header_bytes = p->header_bytes;
        out->content_length = p->length;
        out->body_bytes = p->body_bytes;
        out->interim_bytes = p->interim_bytes;
        out->total_bytes = at;
    }
    bool closed = (p->flags & F_MUSTCLOSE) != 0;
    response_begin(p);
    if (closed)
        p->state = S_CLOSED;
}

static void defer(struct http1_parser *p, enum http1_error err)
{
    if (!p->framing_err)
        p->framing_err = (uint8_t)err;
}

static void length_elem(struct http1_parser *p)
{
    if ((p->flags & F_LENGTH) && p->acc != p->length) {
        defer(p, HTTP1_E_CONTENT_LENGTH_CONFLICT);
        return;
    }
    p->flags |= F_LENGTH;
    p->length = p->acc;
}

static void te_elem(struct http1_parser *p)
{
    p->flags |= F_TE;
    if (match_end(p->cand, p->idx, te_names)) {
        if (p->flags & F_TE_SEEN)
            defer(p, HTTP1_E_BAD_TRANSFER_ENCODING);
        p->flags |= F_TE_SEEN | F_TE_LAST;
    } else {
        p->flags &= (uint16_t)~F_TE_LAST;
    }
}

static void conn_elem(struct http1_parser *p)
{
    uint8_t m = match_end(p->cand, p->idx, conn_names);
    if (m == 1)
        p->flags |= F_CONN_CLOSE;
    else if (m == 2)
        p->flags |= F_KEEPALIVE;
}

static void chunk_line(struct http1_parser *p, uint64_t at)
{
    p->state = S_CHUNK_SIZE;
    p->acc = 0;
    p->ndigits = 0;
    p->line_lim = at + p->lim.chunk_line;
    p->line_err = HTTP1_E_CHUNK_LINE_TOO_LONG;
}

/*
 * The blank line ending a header section (or the trailers) ended just before
 * `at`; its LF, at - 1, is where errors found here are reported. Returns 1 if
 * the response is complete, 0 to go on, PK_EPARSE.
 */
static int head_end(struct http1_parser *p, uint64_t at, unsigned flags)
{
    if (p->flags & F_TRAILERS)
        return 1;
    uint16_t st = p->status;
    if (st < 200 && st != 101) {
        if (++p->interim > p->lim.interim)
            return fail(p, HTTP1_E_TOO_MANY_INTERIM, at - 1);
        p->interim_bytes += at - p->head_start;
        head_begin(p, at);
        return 0;
    }
    p->header_bytes = (uint32_t)(at - p->head_start);
    p->line_lim = UINT64_MAX;
    bool must_close = (p->flags & F_CONN_CLOSE) || (p->version == 10 && !(p->flags & F_KEEPALIVE));
    int rc = 0;
    if ((flags & HTTP1_HEAD) || st == 204 || st == 304 || st == 101) {
        p->body = HTTP1_BODY_NONE;
        must_close |= st == 101;
        rc = 1;
    } else if (p->framing_err) {
        return fail(p, (enum http1_error)p->framing_err, at - 1);
    } else if (p->flags & F_TE) {
        if (p->version == 10)
            return fail(p, HTTP1_E_TE_IN_HTTP10, at - 1);
        if (p->flags & F_LENGTH)
            return fail(p, HTTP1_E_TE_WITH_LENGTH, at - 1);
        if (p->flags & F_TE_LAST) {
            p->body = HTTP1_BODY_CHUNKED;
            chunk_line(p, at);
        } else {
            p->body = HTTP1_BODY_CLOSE;
            p->state = S_BODY_CLOSE;
            must_close = true;
        }
    } else if (p->flags & F_LENGTH) {
        p->body = HTTP1_BODY_LENGTH;
        p->remaining = p->length;
        p->state = S_BODY_LENGTH;
        rc = p->length == 0;
    } else {
        p->body = HTTP1_BODY_CLOSE;
        p->state = S_BODY_CLOSE;
        must_close = true;
    }
    if (must_close)
        p->flags |= F_MUSTCLOSE;
    return rc;
}

/*
 * The sub-machines. Each runs its own states over s[i, len) and returns
 * where it stopped (at) and why (rc): STEP_MORE when the bytes ran out (the
 * state says where to resume), STEP_NEXT when the state moved to another
 * sub-machine, STEP_DONE when a response ended at `at`, PK_EPARSE with
 * `at` the offset of the offending byte (the value http1_parse reports in
 * *consumed). Each is called from one place and inlined there, so the
 * split costs a dispatch per phase, not per byte.
 */
enum { STEP_MORE = 0, STEP_DONE = 1, STEP_NEXT = 2 };
/* Where a sub-machine stopped and why. */
struct step {
    size_t at;
    int rc;
};

/* End of the run loops: before the cap or the end of the buffer. */
#define RUN_STOP() (stop = p->line_lim - (base + i) < len - i ? i + (size_t)(p->line_lim - (base + i)) : len)
#define FAIL(err)                                            \
    do {                                                     \
        return (struct step){ i, fail(p, (err), base + i) }; \
    } while (0)
/* The cap of the current line, checked before each step. */
#define CAP_CHECK()                              \
    do {                                         \
        if (base + i >= p->line_lim)             \
            FAIL((enum http1_error)p->line_err); \
    } while (0)

/* The status line, "HTTP/1.x ddd reason": S_STATUS .. S_STATUS_LF. */
static struct step status_line(struct http1_parser *p, const uint8_t *s, size_t len, uint64_t base, size_t i)
{
    size_t stop;
    while (i < len) {
        CAP_CHECK();
        uint8_t c = s[i];
        switch ((enum state)p->state) {
        case S_STATUS:
            /* nearly every status line starts "HTTP/1.x ddd" in one piece */
            if (p->idx == 0 && len - i >= 12 && base + i + 12 <= p->line_lim &&
                memcmp(s + i, "HTTP/1.", 7) == 0 && is_digit(s[i + 7]) && s[i + 8] == ' ' &&
                is_digit(s[i + 9]) && is_digit(s[i + 10]) && is_digit(s[i + 11])) {
                p->version = s[i + 7] == '0' ? 10 : 11;
                p->status = (uint16_t)((s[i + 9] - '0') * 100 + (s[i + 10] - '0') * 10 + (s[i + 11] - '0'));
                i += 11;
                if (p->status < 100 || p->status > 599)
                    FAIL(HTTP1_E_BAD_STATUS);
                i++;
                p->state = S_AFTER_CODE;
                break;
            }
            if (p->idx == 7) {
                if (!is_digit(c))
                    FAIL(HTTP1_E_BAD_VERSION);
                p->version = c == '0' ? 10 : 11;
            } else if (c != (uint8_t) "HTTP/1.x "[p->idx]) {
                FAIL(HTTP1_E_BAD_VERSION);
            }
            i++;
            if (++p->idx == 9) {
                p->idx = 0;
                p->state = S_CODE;
            }
            break;
        case S_CODE:
            if (!is_digit(c))
                FAIL(HTTP1_E_BAD_STATUS);
            p->status = (uint16_t)(p->status * 10 + (c - '0'));
            if (++p->idx == 3) {
                if (p->status < 100 || p->status > 599)
                    FAIL(HTTP1_E_BAD_STATUS);
                p->state = S_AFTER_CODE;
            }
            i++;
            break;
        case S_AFTER_CODE:
            if (c == '\r') {
                p->state = S_STATUS_LF;
                i++;
                break;
            }
            if (c == '\n')
                goto status_end;
            if (c != ' ')
                FAIL(HTTP1_E_BAD_STATUS);
            i++;
            p->state = S_REASON;
            /* fall through */
        case S_REASON:
            RUN_STOP();
            i = scan_value(s, i, stop);
            if (i == stop)
                continue;
            if (s[i] == '\n')
                goto status_end;
            if (s[i] != '\r')
                FAIL(HTTP1_E_BAD_REASON);
            i++;
            if (i == stop) {
                p->state = S_STATUS_LF;
                continue;
            }
            c = s[i];
            /* fall through */
        case S_STATUS_LF:
            if (c != '\n')
                FAIL(HTTP1_E_BAD_LINE_END);
status_end:
            i++;
            p->state = S_LINE;
            head_line(p, base + i, p->lim.header_line, HTTP1_E_HEADER_LINE_TOO_LONG);
            return (struct step){ i, STEP_NEXT };
        default: PK_ASSERT(!"a state of another sub-machine"); return (struct step){ i, STEP_NEXT };
        }
    }
    return (struct step){ i, STEP_MORE };
}

/*
 * The framing fields' values, from the first byte after the colon's
 * whitespace (whose cap the caller checked) until the state leaves them:
 * what is not understood is deferred as a framing error and the rest of the
 * line checked as a plain value (S_VALUE). A step per byte or token, with
 * the cap checked before each, as the caller's loop would.
 */
static struct step length_value(struct http1_parser *p, const uint8_t *s, size_t len, uint64_t base, size_t i)
{
    size_t stop;
    for (;;) {
        uint8_t c = s[i];
        switch ((enum length_sub)p->sub) {
        case L_LEAD:
            if (is_ws(c)) {
                i++;
            } else if (is_digit(c)) {
                p->acc = 0;
                p->ndigits = 0;
                p->sub = L_DIGITS;
            } else {
                defer(p, HTTP1_E_BAD_CONTENT_LENGTH);
                p->state = S_VALUE;
            }
            break;
        case L_DIGITS:
            RUN_STOP();
            while (i < stop && is_digit(s[i])) {
                if (++p->ndigits > p->lim.length_digits)
                    break;
                p->acc = p->acc * 10 + (uint64_t)(s[i] - '0');
                i++;
            }
            if (p->ndigits > p->lim.length_digits) {
                defer(p, HTTP1_E_LENGTH_TOO_LONG);
                p->state = S_VALUE;
                break;
            }
            if (i == stop)
                break;
            c = s[i];
            if (is_ws(c) || c == ',') {
                length_elem(p);
                p->sub = c == ',' ? L_LEAD : L_TRAIL;
                i++;
            } else {
                if (is_eol(c))
                    length_elem(p);
                else
                    defer(p, HTTP1_E_BAD_CONTENT_LENGTH);
                p->state = S_VALUE;
            }
            break;
        case L_TRAIL:
            if (is_ws(c)) {
                i++;
            } else if (c == ',') {
                p->sub = L_LEAD;
                i++;
            } else {
                if (!is_eol(c))
                    defer(p, HTTP1_E_BAD_CONTENT_LENGTH);
                p->state = S_VALUE;
            }
            break;
        }
        if (p->state != S_LENGTH || i == len)
            break;
        CAP_CHECK();
    }
    return (struct step){ i, p->state != S_LENGTH ? STEP_NEXT : STEP_MORE };
}

static struct step te_value(struct http1_parser *p, const uint8_t *s, size_t len, uint64_t base, size_t i)
{
    size_t stop;
    for (;;) {
        uint8_t c = s[i];
        switch ((enum te_sub)p->sub) {
        case T_LEAD:
            if (is_ws(c) || c == ',') {
                i++;
            } else if (ctype[c] & C_TOKEN) {
                p->flags |= F_ELEM;
                p->cand = 1;
                p->idx = 0;
                p->sub = T_TOKEN;
            } else {
                if (!is_eol(c) || !(p->flags & F_ELEM))
                    defer(p, HTTP1_E_BAD_TRANSFER_ENCODING);
                p->state = S_VALUE;
            }
            break;
        case T_TOKEN: {
            RUN_STOP();
            size_t j = scan_token(s, i, stop);
            if (p->cand) {
                p->cand = match_token(p->cand, p->idx, s + i, j - i, j < stop, te_names);
                p->idx = (uint8_t)(p->idx + (j - i));
            }
            i = j;
            if (i == stop)
                break;
            c = s[i];
        }
            /* fall through - the token ended */
        case T_AFTER:
            if (is_ws(c)) {
                p->sub = T_AFTER;
                i++;
            } else if (c == ';') {
                p->sub = T_PARAM;
                i++;
            } else if (c == ',') {
                te_elem(p);
                p->sub = T_LEAD;
                i++;
            } else {
                if (is_eol(c))
                    te_elem(p);
                else
                    defer(p, HTTP1_E_BAD_TRANSFER_ENCODING);
                p->state = S_VALUE;
            }
            break;
        case T_PARAM:
            if (c == '"') {
                p->sub = T_QUOTED;
                i++;
            } else if (c == ',') {
                te_elem(p);
                p->sub = T_LEAD;
                i++;
            } else if (ctype[c] & C_VALUE) {
                i++;
            } else {
                if (is_eol(c))
                    te_elem(p);
                p->state = S_VALUE;
            }
            break;
        case T_QUOTED:
        case T_QESC:
            if (!(ctype[c] & C_VALUE)) {
                defer(p, HTTP1_E_BAD_TRANSFER_ENCODING);
                p->state = S_VALUE;
                break;
            }
            if (p->sub == T_QESC)
                p->sub = T_QUOTED;
            else if (c == '\\')
                p->sub = T_QESC;
            else if (c == '"')
                p->sub = T_PARAM;
            i++;
            break;
        }
        if (p->state != S_TE || i == len)
            break;
        CAP_CHECK();
    }
    return (struct step){ i, p->state != S_TE ? STEP_NEXT : STEP_MORE };
}

static struct step conn_value(struct http1_parser *p, const uint8_t *s, size_t len, uint64_t base, size_t i)
{
    size_t stop;
    for (;;) {
        uint8_t c = s[i];
        switch ((enum conn_sub)p->sub) {
        case CN_LEAD:
            if (is_ws(c) || c == ',') {
                i++;
            } else if (ctype[c] & C_TOKEN) {
                p->cand = 3;
                p->idx = 0;
                p->sub = CN_TOKEN;
            } else if (ctype[c] & C_VALUE) {
                p->sub = CN_SKIP;
            } else {
                p->state = S_VALUE;
            }
            break;
        case CN_TOKEN: {
            RUN_STOP();
            size_t j = scan_token(s, i, stop);
            if (p->cand) {
                p->cand = match_token(p->cand, p->idx, s + i, j - i, j < stop, conn_names);
                p->idx = (uint8_t)(p->idx + (j - i));
            }
            i = j;
            if (i == stop)
                break;
            c = s[i];
        }
            /* fall through - the token ended */
        case CN_AFTER:
            if (is_ws(c)) {
                p->sub = CN_AFTER;
                i++;
            } else if (c == ',') {
                conn_elem(p);
                p->sub = CN_LEAD;
                i++;
            } else if (is_eol(c)) {
                conn_elem(p);
                p->state = S_VALUE;
            } else {
                p->sub = CN_SKIP;
            }
            break;
        case CN_SKIP:
            /* not a token: an option we do not know, ignored */
            if (c == ',') {
                p->sub = CN_LEAD;
                i++;
            } else if (ctype[c] & C_VALUE) {
                i++;
            } else {
                p->state = S_VALUE;
            }
            break;
        }
        if (p->state != S_CONN || i == len)
            break;
        CAP_CHECK();
    }
    return (struct step){ i, p->state != S_CONN ? STEP_NEXT : STEP_MORE };
}

/* The value of a framing field starts after the colon's whitespace. */
static void framing_begin(struct http1_parser *p)
{
    p->sub = 0;
    switch (p->field) {
    case K_LENGTH: p->state = S_LENGTH; break;
    case K_TE:
        p->state = S_TE;
        p->flags &= (uint16_t)~F_ELEM;
        break;
    default: p->state = S_CONN; break;
    }
}

static struct step framing_value(struct http1_parser *p, const uint8_t *s, size_t len, uint64_t base,
                                 size_t i)
{
    if (p->state == S_LENGTH)
        return length_value(p, s, len, base, i);
    if (p->state == S_TE)
        return te_value(p, s, len, base, i);
    return conn_value(p, s, len, base, i);
}

/* The blank line ended just before i: the response ends or its body starts.
 * Its LF is at i - 1: errors found there are reported there. */
#define HEAD_END()                                                                                \
    do {                                                                                          \
        rc = head_end(p, base + i, flags);                                                        \
        return (struct step){ rc < 0 ? i - 1 : i, rc < 0 ? rc : rc > 0 ? STEP_DONE : STEP_NEXT }; \
    } while (0)

/*
 * Field lines up to the blank line, of the header section or of the
 * trailers (F_TRAILERS): S_LINE .. S_FIELD_LF. A field line chains into the
 * next without leaving the loop; the blank line ends the section (head_end).
 */
static struct step field_lines(struct http1_parser *p, const uint8_t *s, size_t len, uint64_t base,
                               unsigned flags, size_t i)
{
    size_t stop;
    struct step r;
    int rc;

    while (i < len) {
        CAP_CHECK();
        uint8_t c = s[i];
        switch ((enum state)p->state) {
        case S_LINE:
line_start:
            if (i == len)
                goto more;
            CAP_CHECK();
            c = s[i];
            if (c == '\r') {
                p->state = S_BLANK_LF;
                i++;
                break;
            }
            if (c == '\n') {
                i++;
                HEAD_END();
            }
            if (is_ws(c))
                FAIL(HTTP1_E_OBS_FOLD);
            if (!(ctype[c] & C_TOKEN))
                FAIL(HTTP1_E_BAD_HEADER_NAME);
            if (p->flags & F_TRAILERS) {
                p->cand = 0;
            } else {
                if (++p->nfields > p->lim.header_count)
                    FAIL(HTTP1_E_TOO_MANY_HEADERS);
                p->cand = lower(c) == 'c' ? K_LENGTH | K_CONN : lower(c) == 't' ? K_TE : 0;
            }
            p->idx = 0;
            p->state = S_NAME;
            /* fall through */
        case S_NAME: {
            RUN_STOP();
            size_t j = scan_token(s, i, stop);
            if (p->cand) {
                p->cand = match_token(p->cand, p->idx, s + i, j - i, j < stop, field_names);
                p->idx = (uint8_t)(p->idx + (j - i)); /* only read while cand != 0: <= 17 */
            }
            i = j;
            if (i == stop)
                continue;
            if (s[i] != ':')
                FAIL(HTTP1_E_BAD_HEADER_NAME);
            i++;
            p->field = match_end(p->cand, p->idx, field_names);
            if (p->field) {
                p->state = S_OWS;
                break;
            }
            p->state = S_VALUE;
        }
            /* fall through */
        case S_VALUE:
            RUN_STOP();
            i = scan_value(s, i, stop);
            if (i == stop)
                continue;
            if (s[i] == '\n')
                goto field_end;
            if (s[i] != '\r')
                FAIL(HTTP1_E_BAD_HEADER_VALUE);
            i++;
            if (i == stop) {
                p->state = S_FIELD_LF;
                continue;
            }
            c = s[i];
            /* fall through */
        case S_FIELD_LF:
            if (c != '\n')
                FAIL(HTTP1_E_BAD_LINE_END);
field_end:
            i++;
            p->state = S_LINE;
            if (!(p->flags & F_TRAILERS))
                head_line(p, base + i, p->lim.header_line, HTTP1_E_HEADER_LINE_TOO_LONG);
            goto line_start;
        case S_BLANK_LF:
            if (c != '\n')
                FAIL(HTTP1_E_BAD_LINE_END);
            i++;
            HEAD_END();
        case S_OWS:
            if (is_ws(c)) {
                i++;
                break;
            }
            framing_begin(p);
            break;
        case S_LENGTH:
        case S_TE:
        case S_CONN:
            r = framing_value(p, s, len, base, i);
            if (r.rc != STEP_NEXT)
                return r;
            i = r.at;
            break;
        default: PK_ASSERT(!"a state of another sub-machine"); return (struct step){ i, STEP_NEXT };
        }
    }
more:
    return (struct step){ i, STEP_MORE };
#undef HEAD_END
}

/* A body of Content-Length bytes, or one read until the close. */
static struct step body(struct http1_parser *p, size_t len, size_t i)
{
    /* no cap in a body: the cap check of the other sub-machines would be a no-op */
    PK_ASSERT(p->line_lim == UINT64_MAX);
    if (p->state == S_BODY_CLOSE) {
        p->body_bytes += len - i;
        return (struct step){ len, STEP_MORE };
    }
    PK_ASSERT(p->state == S_BODY_LENGTH && p->remaining > 0);
    size_t n = len - i < p->remaining ? len - i : (size_t)p->remaining;
    p->remaining -= n;
    p->body_bytes += n;
    return (struct step){ i + n, p->remaining == 0 ? STEP_DONE : STEP_MORE };
}

/* The chunked body up to the last chunk: S_CHUNK_SIZE .. S_CHUNK_DATA_LF;
 * the trailers that follow are field lines. */
static struct step chunked(struct http1_parser *p, const uint8_t *s, size_t len, uint64_t base, size_t i)
{
    size_t stop;
    while (i < len) {
        CAP_CHECK();
        uint8_t c = s[i];
        switch ((enum state)p->state) {
        case S_CHUNK_SIZE:
            if (ctype[c] & C_HEX) {
                if (p->acc >> 60)
                    FAIL(HTTP1_E_CHUNK_SIZE_OVERFLOW);
                p->acc = p->acc << 4 | hexval(c);
                p->ndigits++;
                i++;
                break;
            }
            if (p->ndigits == 0)
                FAIL(HTTP1_E_BAD_CHUNK_SIZE);
            /* fall through - the size ended */
        case S_CHUNK_BWS:
            if (is_ws(c)) {
                p->state = S_CHUNK_BWS;
                i++;
            } else if (c == ';') {
                p->state = S_CHUNK_EXT;
                p->line_lim = base + i + p->lim.chunk_ext;
                p->line_err = HTTP1_E_CHUNK_EXT_TOO_LONG;
                i++;
            } else if (c == '\r' && p->state == S_CHUNK_SIZE) {
                p->state = S_CHUNK_LF;
                i++;
            } else if (c == '\n' && p->state == S_CHUNK_SIZE) {
                goto chunk_line_end;
            } else {
                FAIL(HTTP1_E_BAD_CHUNK_SIZE);
            }
            break;
        case S_CHUNK_EXT:
            RUN_STOP();
            i = scan_value(s, i, stop);
            if (i == stop)
                continue;
            if (s[i] == '\r') {
                p->state = S_CHUNK_LF;
                i++;
                break;
            }
            if (s[i] != '\n')
                FAIL(HTTP1_E_BAD_CHUNK_EXT);
            goto chunk_line_end;
        case S_CHUNK_LF:
            if (c != '\n')
                FAIL(HTTP1_E_BAD_LINE_END);
chunk_line_end:
            i++;
            if (p->acc == 0) {
                p->flags |= F_TRAILERS;
                p->state = S_LINE;
                p->line_lim = base + i + p->lim.trailers;
                p->line_err = HTTP1_E_TRAILERS_TOO_LONG;
                return (struct step){ i, STEP_NEXT };
            }
            p->remaining = p->acc;
            p->state = S_CHUNK_DATA;
            p->line_lim = UINT64_MAX;
            break;
        case S_CHUNK_DATA: {
            size_t n = len - i < p->remaining ? len - i : (size_t)p->remaining;
            i += n;
            p->remaining -= n;
            p->body_bytes += n;
            if (p->remaining == 0)
                p->state = S_CHUNK_CR;
            break;
        }
        case S_CHUNK_CR:
            if (c == '\r') {
                p->state = S_CHUNK_DATA_LF;
                i++;
                break;
            }
            if (c != '\n')
                FAIL(HTTP1_E_BAD_CHUNK_END);
            i++;
            chunk_line(p, base + i);
            break;
        case S_CHUNK_DATA_LF:
            if (c != '\n')
                FAIL(HTTP1_E_BAD_CHUNK_END);
            i++;
            chunk_line(p, base + i);
            break;
        default: PK_ASSERT(!"a state of another sub-machine"); return (struct step){ i, STEP_NEXT };
        }
    }
    return (struct step){ i, STEP_MORE };
}
#undef RUN_STOP
#undef FAIL
#undef CAP_CHECK

int http1_parse(struct http1_parser *p, const char *buf, size_t len, unsigned flags, size_t *consumed,
                struct http1_response *out)
{
    const uint8_t *s = (const uint8_t *)buf;
    const uint64_t base = p->off;
    size_t i = 0;

    if (p->state == S_ERROR) {
        *consumed = 0;
        return PK_EPARSE;
    }
    /* one phase after the other: a sub-machine returns when the state leaves
     * it, and the bytes run out only inside one (there is no S_CLOSED after
     * STEP_NEXT: only complete() sets it) */
    if (len == 0)
        goto more;
    for (;;) {
        enum state st = (enum state)p->state;
        struct step r;
        if (st <= S_STATUS_LF) {
            r = status_line(p, s, len, base, i);
        } else if (st <= S_FIELD_LF) {
            r = field_lines(p, s, len, base, flags, i);
        } else if (st <= S_BODY_CLOSE) {
            r = body(p, len, i);
        } else if (st <= S_CHUNK_DATA_LF) {
            r = chunked(p, s, len, base, i);
        } else {
            PK_ASSERT(st == S_CLOSED);
            /* the status line's cap of the next response comes first, as anywhere */
            enum http1_error err =
                base + i >= p->line_lim ? (enum http1_error)p->line_err : HTTP1_E_DATA_AFTER_CLOSE;
            *consumed = i;
            return fail(p, err, base + i);
        }
        i = r.at;
        if (r.rc == STEP_MORE)
            break;
        if (r.rc == STEP_NEXT)
            continue;
        *consumed = i;
        if (r.rc < 0)
            return r.rc;
        complete(p, base + i, out);
        return 1;
    }
    PK_ASSERT(i == len);
more:
    p->off = base + len;
    *consumed = len;
    return 0;
}

int http1_finish(struct http1_parser *p, struct http1_response *out)
{
    switch ((enum state)p->state) {
    case S_ERROR: return PK_EPARSE;
    case S_CLOSED: return 0;
    case S_BODY_CLOSE: complete(p, p->off, out); return 1;
    case S_STATUS:
        if (p->off == 0)
            return 0;
        /* fall through */
    case S_CODE:
    case S_AFTER_CODE:
    case S_REASON:
    case S_STATUS_LF:
    case S_LINE:
    case S_BLANK_LF:
    case S_NAME:
    case S_OWS:
    case S_VALUE:
    case S_LENGTH:
    case S_TE:
    case S_CONN:
    case S_FIELD_LF:
        if (!(p->flags & F_TRAILERS))
            return fail(p, HTTP1_E_EOF_IN_HEAD, p->off);
        /* fall through */
    default: return fail(p, HTTP1_E_EOF_IN_BODY, p->off);
    }
}
