/*
 * result_stream - the inputs of `perfkit load merge` read as streams, so
 * that a file of any length within the caps takes bounded memory beside
 * the result it is merged into (result.h):
 *
 *   - a JSON result is scanned key by key: every top-level value but the
 *     series is cut out and parsed by jansson (result_read.c checks them as
 *     for a whole document), then the series is read again one second at a
 *     time, each added into the destination and dropped. Two passes, so
 *     that the keys may come in any order;
 *   - an interval log is read line by line; each interval's compressed
 *     histogram is added into the totals where it lies
 *     (hdrlog_decode_compressed_add), and becomes its second's histogram as
 *     it is, so that no line costs a histogram of its own or an encoding.
 *
 * The scanner only finds where values begin and end (strings with their
 * escapes, nesting); what lies between is jansson's to judge, and its
 * errors are placed at their line and column in the file.
 */
#include "load/result.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hdrlog.h"
#include "load/result_impl.h"

/* One top-level value (a key's, or one second of the series) at most. */
#define VALUE_MAX (128u << 20)
/* An interval log's line: its histogram's base64 is at most 1 MiB. */
#define LOG_LINE_MAX (2u << 20)
/* HdrHistogram's log readers take timestamps more than a year before
 * StartTime as relative to it (HistogramLogReader). */
#define LOG_RELATIVE_S (365.0 * 24 * 3600)

/* ---- a file, a byte at a time, with its line and column */

#define IN_CHUNK (64u * 1024)

struct in {
    FILE *fp;
    const char *path;
    unsigned line, col;
    struct pk_err *e;
    unsigned char *buf; /* IN_CHUNK bytes read ahead */
    size_t at, n;
    long base; /* the file offset of buf[0] */
};

static int in_open(struct in *in, const char *path, struct pk_err *e)
{
    memset(in, 0, sizeof(*in));
    in->path = path;
    in->e = e;
    in->line = 1;
    in->col = 1;
    struct stat st;
    if (!(in->fp = fopen(path, "rb")))
        return err_errno(e, -errno, path, "cannot read file");
    if (fstat(fileno(in->fp), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size > RESULT_JSON_MAX_BYTES) {
        fclose(in->fp);
        in->fp = NULL;
        return err_set(e, -EFBIG, path, "cannot read file", "larger than %u MiB",
                       RESULT_JSON_MAX_BYTES >> 20);
    }
    if (!(in->buf = malloc(IN_CHUNK))) {
        fclose(in->fp);
        in->fp = NULL;
        return err_errno(e, -ENOMEM, path, "cannot read file");
    }
    return 0;
}

static void in_close(struct in *in)
{
    if (in->fp)
        fclose(in->fp);
    free(in->buf);
    in->fp = NULL;
    in->buf = NULL;
}

static int in_peek(struct in *in)
{
    if (in->at == in->n) {
        in->base += (long)in->n;
        in->n = fread(in->buf, 1, IN_CHUNK, in->fp);
        in->at = 0;
        if (in->n == 0)
            return EOF;
    }
    return in->buf[in->at];
}

static int in_get(struct in *in)
{
    int c = in_peek(in);
    if (c == EOF)
        return EOF;
    in->at++;
    if (c == '\n') {
        in->line++;
        in->col = 1;
    } else {
        in->col++;
    }
    return c;
}

/* Where the next byte lies in the file, and going back there. */
static long in_tell(const struct in *in)
{
    return in->base + (long)in->at;
}

static int in_seek(struct in *in, long off, unsigned line, unsigned col)
{
    if (fseek(in->fp, off, SEEK_SET) != 0)
        return err_errno(in->e, -errno, in->path, "cannot read file");
    in->base = off;
    in->at = in->n = 0;
    in->line = line;
    in->col = col;
    return 0;
}

/* "<path>:<line>:<col>: what" (jansson's form of a syntax error). */
static int in_fail(const struct in *in, unsigned line, unsigned col, const char *what)
{
    char on[300];
    snprintf(on, sizeof(on), "%s:%u:%u", in->path, line, col);
    if (ferror(in->fp))
        return err_errno(in->e, -EIO, in->path, "cannot read file");
    return err_set(in->e, PK_EPARSE, on, what, "%s", "");
}

static void skip_ws(struct in *in)
{
    int c;
    while ((c = in_peek(in)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        in_get(in);
}

/* The next non-blank byte must be one of want; it is taken. */
static int expect(struct in *in, const char *want, int *got)
{
    skip_ws(in);
    unsigned line = in->line, col = in->col;
    int c = in_get(in);
    if (c != EOF && c != '\0' && strchr(want, c)) {
        *got = c;
        return 0;
    }
    char what[64];
    size_t n = 0;
    for (const char *w = want; *w && n < sizeof(what); w++)
        n += (size_t)snprintf(what + n, sizeof(what) - n, "%s'%c'", w == want ? "" : " or ", *w);
    if (n < sizeof(what))
        snprintf(what + n, sizeof(what) - n, " expected%s", c == EOF ? " near end of file" : "");
    return in_fail(in, line, col, what);
}

/* Takes the n bytes at in->at (all in the buffer): into out when not NULL,
 * the line and column moved past them. */
static int take_span(struct in *in, size_t n, struct buf *out, unsigned line, unsigned col)
{
    const unsigned char *p = in->buf + in->at, *end = p + n, *nl;
    if (out && buf_add(out, p, n) < 0)
        return out->err == -E2BIG ? in_fail(in, line, col, "a value longer than 128 MiB")
                                  : err_errno(in->e, -ENOMEM, in->path, "cannot read file");
    const unsigned char *last = NULL;
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        in->line++;
        last = nl;
        p = nl + 1;
    }
    in->col = last ? (unsigned)(end - last) : in->col + (unsigned)n;
    in->at += n;
    return 0;
}

/* A JSON value's bytes into out (NULL: skipped), from its first byte to its
 * last: a string with its escapes, an object or array to its matching end
 * (a buffer's worth at a time), a number or literal to the next delimiter. */
static int scan_value(struct in *in, struct buf *out)
{
    skip_ws(in);
    unsigned line = in->line, col = in->col;
    int c = in_peek(in);
    if (c == EOF)
        return in_fail(in, line, col, "a value ends early near end of file");
    if (c != '"' && c != '{' && c != '[') {
        /* a number or literal: to the next delimiter (or the end of the file) */
        size_t n = 0;
        while ((c = in_peek(in)) != EOF && (c == '\0' || !strchr(",}] \t\n\r", c))) {
            char ch = (char)in_get(in);
            if (out && buf_addc(out, ch) < 0)
                return err_errno(in->e, -ENOMEM, in->path, "cannot read file");
            n++;
        }
        return n ? 0 : in_fail(in, line, col, "a value expected");
    }
    int depth = 0;
    bool str = false, esc = false;
    for (;;) {
        if (in_peek(in) == EOF)
            return in_fail(in, line, col, "a value ends early near end of file");
        const unsigned char *p = in->buf + in->at, *end = in->buf + in->n, *q = p;
        bool done = false;
        for (; q < end && !done; q++) {
            unsigned char ch = *q;
            if (str) {
                if (esc)
                    esc = false;
                else if (ch == '\\')
                    esc = true;
                else if (ch == '"')
                    str = false, done = depth == 0;
            } else if (ch == '"') {
                str = true;
            } else if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                done = --depth == 0;
            }
        }
        int rc = take_span(in, (size_t)(q - p), out, line, col);
        if (rc < 0 || done)
            return rc;
    }
}

/* The captured text as a JSON value; jansson's error placed in the file
 * (the value began at line, col). */
static int parse_value(struct in *in, const struct buf *b, unsigned line, unsigned col, json_t **out)
{
    json_error_t je;
    *out = json_loadb(buf_str(b), b->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (*out)
        return 0;
    if (je.line > 1)
        line += (unsigned)je.line - 1, col = (unsigned)je.column;
    else
        col += je.column > 0 ? (unsigned)je.column - 1 : 0;
    char on[300];
    snprintf(on, sizeof(on), "%s:%u:%u", in->path, line, col);
    return err_set(in->e, PK_EPARSE, on, je.text, "%s", "");
}

/* ---- a JSON result */

struct doc {
    struct in in;
    json_t *head; /* every key but "series" */
    long series_at;
    unsigned series_line, series_col;
};

/* Pass 1: the top-level object, its keys and values but for the series,
 * whose place is noted. */
static int read_head(struct doc *d)
{
    struct in *in = &d->in;
    struct buf b;
    buf_init(&b, VALUE_MAX);
    int c, rc = expect(in, "{", &c);
    d->series_at = -1;
    if (rc == 0 && !(d->head = json_object()))
        rc = err_errno(in->e, -ENOMEM, in->path, "cannot read file");
    skip_ws(in);
    bool empty = in_peek(in) == '}';
    if (empty)
        in_get(in);
    while (rc == 0 && !empty) {
        json_t *key = NULL, *value = NULL;
        buf_reset(&b);
        skip_ws(in);
        unsigned line = in->line, col = in->col;
        if (in_peek(in) != '"') {
            rc = in_fail(in, line, col, "string or '}' expected");
            break;
        }
        if ((rc = scan_value(in, &b)) < 0 || (rc = parse_value(in, &b, line, col, &key)) < 0 ||
            (rc = expect(in, ":", &c)) < 0) {
            json_decref(key);
            break;
        }
        const char *name = json_string_value(key);
        if (strlen(name) != json_string_length(key) || json_object_get(d->head, name) ||
            (!strcmp(name, "series") && d->series_at >= 0)) {
            rc = in_fail(in, line, col, "duplicate object key");
        } else if (!strcmp(name, "series")) {
            skip_ws(in);
            d->series_line = in->line;
            d->series_col = in->col;
            d->series_at = in_tell(in);
            rc = scan_value(in, NULL);
        } else {
            buf_reset(&b);
            skip_ws(in);
            line = in->line, col = in->col;
            if ((rc = scan_value(in, &b)) == 0 && (rc = parse_value(in, &b, line, col, &value)) == 0 &&
                json_object_set_new(d->head, name, value) != 0)
                rc = err_errno(in->e, -ENOMEM, in->path, "cannot read file");
        }
        json_decref(key);
        if (rc == 0 && (rc = expect(in, ",}", &c)) == 0 && c == '}')
            break;
    }
    skip_ws(in);
    if (rc == 0 && in_peek(in) != EOF)
        rc = in_fail(in, in->line, in->col, "end of file expected");
    buf_destroy(&b);
    return rc;
}

/* Pass 2: second i of the series at a time, into dst's second ks + i. */
static int merge_seconds(struct doc *d, bool host, int64_t ks, struct load_result *dst, struct pk_err *e)
{
    struct in *in = &d->in;
    int c, rc = in_seek(in, d->series_at, d->series_line, d->series_col);
    if (rc == 0)
        rc = expect(in, "[", &c);
    if (rc < 0)
        return rc == PK_EPARSE ? err_set(e, PK_EPARSE, in->path, "key 'series'", "expected an array") : rc;
    struct buf b;
    buf_init(&b, VALUE_MAX);
    struct result_scratch sc = { 0 };
    skip_ws(in);
    bool end = in_peek(in) == ']';
    if (end)
        in_get(in);
    for (size_t i = 0; rc == 0 && !end; i++) {
        json_t *v = NULL;
        struct result_second s;
        buf_reset(&b);
        skip_ws(in);
        unsigned line = in->line, col = in->col;
        if (i >= RESULT_SERIES_MAX) {
            rc = err_set(e, PK_EPARSE, in->path, "key 'series'", "more than %u seconds",
                         (unsigned)RESULT_SERIES_MAX);
            break;
        }
        if ((rc = scan_value(in, &b)) < 0 || (rc = parse_value(in, &b, line, col, &v)) < 0)
            break;
        rc = result_read_second(v, i, host, in->path, &s, &sc, e);
        json_decref(v);
        if (rc < 0)
            break;
        size_t at = (size_t)ks + i;
        while (rc == 0 && dst->nseries <= at)
            rc = result_series_push(dst, NULL, e);
        bool owned = true; /* dst's seconds own their buffers */
        if (rc == 0)
            rc = result_second_add(&dst->series[at], &owned, &s, &sc, e);
        free(s.hist_z);
        if (rc == 0 && (rc = expect(in, ",]", &c)) == 0 && c == ']')
            break;
    }
    result_scratch_destroy(&sc);
    buf_destroy(&b);
    return rc;
}

int result_merge_json_file(struct load_result *dst, const char *path, struct pk_err *e)
{
    if (!dst || !path)
        return err_set(e, -EINVAL, "result", "cannot merge", "missing argument");
    struct doc d = { .head = NULL };
    struct load_result head;
    int rc = result_init(&head, e);
    if (rc == 0)
        rc = in_open(&d.in, path, e);
    if (rc == 0)
        rc = read_head(&d);
    if (rc == 0 && d.series_at < 0)
        rc = err_set(e, PK_EPARSE, path, "key 'series'", "missing");
    if (rc == 0)
        rc = result_read_head(d.head, path, &head, e);
    json_decref(d.head);
    d.head = NULL;
    /* the head (no seconds) first: it sets the merged window */
    if (rc == 0)
        rc = result_merge(dst, &head, e);
    if (rc == 0)
        rc = merge_seconds(&d, head.host_metrics, result_offset_s(head.start_ms, dst->start_ms), dst, e);
    in_close(&d.in);
    result_destroy(&head);
    return rc;
}

/* ---- an HdrHistogram interval log */

struct logrd {
    struct load_result *r;
    struct result_scratch sc;
    bool have_start, have_base, based, per_second;
    double start_time_s, base_time_s, base_s, window_s, end_s;
};

/* The log's window from its first interval: StartTime/BaseTime as
 * HdrHistogram's HistogramLogReader takes them. */
static int log_base(struct logrd *g, const struct hdrlog_line *line, struct pk_err *e)
{
    if (!g->have_start && !g->have_base)
        return err_set(e, PK_EPARSE, "", "no StartTime or BaseTime before the first interval",
                       "the measured window is unknown");
    if (g->have_base)
        g->base_s = g->base_time_s;
    else
        g->base_s = line->start_s < g->start_time_s - LOG_RELATIVE_S ? g->start_time_s : 0;
    g->window_s = g->have_start ? g->start_time_s : g->base_s + line->start_s;
    double ms = floor(g->window_s * 1000.0 + 0.5);
    if (!(ms >= 0 && ms <= (double)START_MS_MAX))
        return err_set(e, PK_EPARSE, "", "start time out of range", "%.3f s", g->window_s);
    g->r->start_ms = (int64_t)ms;
    g->end_s = g->window_s;
    g->based = true;
    return 0;
}

/* An interval's histogram (compressed, z; taken when kept) into its second. */
static int log_second(struct logrd *g, double rel, uint8_t **z, size_t zlen, struct pk_err *e)
{
    struct load_result *r = g->r;
    int64_t t = (int64_t)llround(rel < 0 ? 0 : rel);
    if (t >= RESULT_SERIES_MAX) {
        g->per_second = false;
        return 0;
    }
    int rc = 0;
    while (r->nseries <= (size_t)t)
        if ((rc = result_series_push(r, NULL, e)) < 0)
            return rc;
    struct hist *h;
    if ((rc = result_scratch_get(&g->sc, &h, e)) < 0 ||
        (rc = hdrlog_decode_compressed_add(*z, zlen, h, e)) < 0)
        return rc;
    struct result_second *s = &r->series[t];
    if (!s->hist_z && !s->requests) {
        /* the usual case, one interval a second: its bytes as they are */
        s->hist_z = *z;
        s->hist_z_len = zlen;
        *z = NULL;
        s->requests = (uint64_t)hist_total(h);
        result_second_stats(s, h);
        return 0;
    }
    struct result_second one;
    result_second_clear(&one);
    one.requests = (uint64_t)hist_total(h);
    one.hist_z = *z;
    one.hist_z_len = zlen;
    result_second_stats(&one, h);
    bool owned = true;
    return result_second_add(s, &owned, &one, &g->sc, e);
}

static int log_interval(struct logrd *g, struct hdrlog_line *line, struct pk_err *e)
{
    struct load_result *r = g->r;
    int rc;
    if (!g->based && (rc = log_base(g, line, e)) < 0)
        return rc;
    if (!(line->length_s >= 0) || !isfinite(line->start_s) || !isfinite(line->length_s))
        return err_set(e, PK_EPARSE, "", "invalid interval", "a negative or non-finite time");
    double abs_s = g->base_s + line->start_s;
    double rel = abs_s - (double)r->start_ms / 1000.0;
    if (!isfinite(rel))
        return err_set(e, PK_EPARSE, "", "invalid interval", "start time out of range");
    if (rel < -0.5)
        return err_set(e, PK_EPARSE, "", "interval before the start time", "%.3f s before it", -rel);
    if (abs_s + line->length_s - g->window_s > DURATION_MAX_S)
        return err_set(e, PK_EPARSE, "", "interval too late", "more than %g s after the start",
                       DURATION_MAX_S);
    if (abs_s + line->length_s > g->end_s)
        g->end_s = abs_s + line->length_s;
    int64_t lo, hi;
    int sf;
    if (result_peek_layout(line->z, line->z_len, &lo, &hi, &sf) == 0 &&
        (lo != RESULT_HIST_LOWEST || hi != RESULT_HIST_HIGHEST || sf != RESULT_HIST_SIGFIGS))
        return err_set(e, PK_EPARSE, "", "histogram of another layout",
                       "%lld..%lld at %d digits, not perfkit load's %lld..%lld at %d", (long long)lo,
                       (long long)hi, sf, (long long)RESULT_HIST_LOWEST, (long long)RESULT_HIST_HIGHEST,
                       RESULT_HIST_SIGFIGS);
    /* straight into the totals: no histogram of the line's own */
    if ((rc = hdrlog_decode_compressed_add(line->z, line->z_len, &r->latency, e)) < 0)
        return rc;
    /* Seconds of the series from intervals of about one second only;
     * longer or shorter ones cannot be split or placed. */
    if (line->length_s < 0.5 || line->length_s > 1.5)
        g->per_second = false;
    return g->per_second ? log_second(g, rel, &line->z, line->z_len, e) : 0;
}

/* One line into g: 0, or its error (placed by the caller). */
static int log_line(struct logrd *g, const char *text, size_t len, struct pk_err *e)
{
    struct hdrlog_line line;
    int rc = hdrlog_parse_line_z(text, len, &line, e);
    if (rc < 0)
        return rc;
    if (line.kind == HDRLOG_INTERVAL) {
        if (line.tag[0] == '\0')
            rc = log_interval(g, &line, e);
        free(line.z);
    } else if (line.kind == HDRLOG_START_TIME && !g->based) {
        g->have_start = true;
        g->start_time_s = line.time_s;
    } else if (line.kind == HDRLOG_BASE_TIME && !g->based) {
        g->have_base = true;
        g->base_time_s = line.time_s;
    }
    return rc;
}

/* The log, line by line, into r (result_init()ed, its model given). */
static int log_to_result(struct in *in, struct logrd *g, struct pk_err *e)
{
    struct load_result *r = g->r;
    struct buf b;
    buf_init(&b, LOG_LINE_MAX);
    int rc = 0, c = 0;
    unsigned lineno = 0;
    while (rc == 0 && c != EOF) {
        buf_reset(&b);
        lineno++;
        while ((c = in_get(in)) != EOF && c != '\n')
            if (buf_addc(&b, (char)c) < 0)
                break;
        if (b.err)
            rc = b.err == -E2BIG
                     ? err_set(e, PK_EPARSE, "", "line too long", "over %u MiB", LOG_LINE_MAX >> 20)
                     : err_errno(e, -ENOMEM, "histogram log", "cannot read");
        else if (ferror(in->fp))
            rc = err_errno(e, -EIO, in->path, "cannot read file");
        else if (b.len || c != EOF)
            rc = log_line(g, buf_str(&b), b.len, e);
    }
    buf_destroy(&b);
    if (rc < 0) {
        char where[300];
        snprintf(where, sizeof(where), e && e->on[0] ? "%s:%u: " : "%s:%u", in->path, lineno);
        err_prefix_on(e, where);
        return rc;
    }
    if (!g->based)
        return err_set(e, PK_EPARSE, in->path, "no untagged interval", "nothing to merge");
    r->duration_s = g->end_s - (double)r->start_ms / 1000.0;
    if (r->duration_s < 0)
        r->duration_s = 0;
    r->requests = (uint64_t)hist_total(&r->latency);
    /* the closed model measures both from the write: one histogram */
    if (!r->open_model && (rc = hist_merge(&r->latency_uncorrected, &r->latency, e)) < 0)
        return rc;
    if (!g->per_second) {
        result_series_free(r->series, r->nseries);
        r->series = NULL;
        r->nseries = 0;
    }
    return 0;
}

int result_merge_hdrlog(struct load_result *dst, const char *path, struct pk_err *e)
{
    if (!dst || !path)
        return err_set(e, -EINVAL, "histogram log", "cannot merge", "missing argument");
    struct in in;
    int rc = in_open(&in, path, e);
    if (rc < 0)
        return rc;
    struct load_result lr;
    struct logrd g = { .r = &lr, .per_second = true };
    rc = result_init(&lr, e);
    lr.open_model = dst->open_model;
    lr.sources = 1;
    if (rc == 0)
        rc = log_to_result(&in, &g, e);
    in_close(&in);
    result_scratch_destroy(&g.sc);
    if (rc == 0)
        rc = result_merge(dst, &lr, e);
    result_destroy(&lr);
    return rc;
}
