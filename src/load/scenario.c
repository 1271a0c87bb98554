/*
 * scenario - parsing of scenario files (scenario.h).
 *
 * Line by line: each line is checked for length and bytes before anything
 * looks at it, then split into a keyword and the rest. Indentation carries
 * no meaning ('header', 'body' and 'name' belong to the last 'request'), so a
 * mis-indented line is never silently attached somewhere else.
 */
#include "load/scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/err.h"
#include "core/files.h"
#include "core/text.h"
#include "core/units.h"

#define QUOTE_MAX 64

struct ctx {
    const char *name;
    unsigned line;
    char on[300]; /* "name:line" */
    struct scenario *s;
    struct scenario_request *cur;
    unsigned think_line;
    struct pk_err *e;
};

static int fail(const struct ctx *c, const char *what_fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct ctx *c, const char *what_fmt, ...)
{
    if (!c->e)
        return PK_EPARSE;
    char what[sizeof(c->e->what)];
    va_list ap;
    va_start(ap, what_fmt);
    vsnprintf(what, sizeof(what), what_fmt, ap);
    va_end(ap);
    return err_set(c->e, PK_EPARSE, c->on, what, "%s", "");
}

static int oom(const struct ctx *c)
{
    return err_errno(c->e, -ENOMEM, c->on, "cannot parse scenario");
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

struct word {
    const char *p;
    size_t n;
};

/* The next blank-separated word of [*p, end), or n == 0 at the end. */
static struct word next_word(const char **p, const char *end)
{
    const char *q = *p;
    while (q < end && is_blank(*q))
        q++;
    const char *w = q;
    while (q < end && !is_blank(*q))
        q++;
    *p = q;
    return (struct word){ w, (size_t)(q - w) };
}

static bool word_is(struct word w, const char *lit)
{
    return strlen(lit) == w.n && memcmp(w.p, lit, w.n) == 0;
}

/* A word as a C string for units/url, which take NUL-terminated text. */
static char *dup_word(struct word w)
{
    char *d = malloc(w.n + 1);
    if (d) {
        memcpy(d, w.p, w.n);
        d[w.n] = '\0';
    }
    return d;
}

static int duration(const struct ctx *c, struct word w, double *out)
{
    char *t = dup_word(w);
    if (!t)
        return oom(c);
    int rc = units_parse_duration(t, c->on, out, c->e);
    free(t);
    return rc;
}

static int parse_think(struct ctx *c, const char *p, const char *end)
{
    const char *usage = "expected 'think between MIN MAX', 'think constant DURATION' or 'think none'";
    char q[QUOTE_MAX + 8], q2[QUOTE_MAX + 8];
    if (c->think_line)
        return fail(c, "'think' given twice (first on line %u)", c->think_line);
    struct word kind = next_word(&p, end);
    struct word a = next_word(&p, end), b = next_word(&p, end), extra = next_word(&p, end);
    struct scenario *s = c->s;
    int rc;
    if (word_is(kind, "none") && !a.n) {
        s->think = SCENARIO_THINK_NONE;
    } else if (word_is(kind, "constant") && a.n && !b.n) {
        if ((rc = duration(c, a, &s->think_min)))
            return rc;
        s->think_max = s->think_min;
        s->think = SCENARIO_THINK_CONSTANT;
    } else if (word_is(kind, "between") && b.n && !extra.n) {
        if ((rc = duration(c, a, &s->think_min)) || (rc = duration(c, b, &s->think_max)))
            return rc;
        if (s->think_min > s->think_max)
            return fail(c, "think between '%s' and a smaller '%s' (write the minimum first)",
                        err_quote(a.p, a.n, q, sizeof(q)), err_quote(b.p, b.n, q2, sizeof(q2)));
        s->think = SCENARIO_THINK_BETWEEN;
    } else {
        return fail(c, "%s, got 'think%s%s'", usage, kind.n ? " " : "",
                    err_quote(kind.p, (size_t)(end - kind.p), q, sizeof(q)));
    }
    c->think_line = c->line;
    return 0;
}

enum scenario_method_fault scenario_method_check(const char *m, size_t n)
{
    if (n == 0 || n > SCENARIO_METHOD_MAX)
        return SCENARIO_METHOD_LENGTH;
    bool lower = false;
    for (size_t i = 0; i < n; i++) {
        if (!text_is_tchar(m[i]))
            return SCENARIO_METHOD_NOT_TOKEN;
        if (m[i] >= 'a' && m[i] <= 'z')
            lower = true;
    }
    return lower ? SCENARIO_METHOD_LOWERCASE : SCENARIO_METHOD_OK;
}

static int check_method(const struct ctx *c, struct word m)
{
    char q[QUOTE_MAX + 8];
    switch (scenario_method_check(m.p, m.n)) {
    case SCENARIO_METHOD_OK: return 0;
    case SCENARIO_METHOD_LENGTH:
        return fail(c, "method '%s' longer than %u bytes", err_quote(m.p, m.n, q, sizeof(q)),
                    SCENARIO_METHOD_MAX);
    case SCENARIO_METHOD_NOT_TOKEN:
        return fail(c, "invalid method '%s' (a method is a token: letters, digits, !#$%%&'*+-.^_`|~)",
                    err_quote(m.p, m.n, q, sizeof(q)));
    case SCENARIO_METHOD_LOWERCASE:
        return fail(c, "method '%s' has lowercase letters (methods are case-sensitive: write e.g. GET, POST)",
                    err_quote(m.p, m.n, q, sizeof(q)));
    }
    return 0;
}

static int parse_request(struct ctx *c, const char *p, const char *end)
{
    char q[QUOTE_MAX + 8];
    const char *usage = "expected 'request METHOD URL' or 'request METHOD URL weight N'";
    struct scenario *s = c->s;
    struct word m = next_word(&p, end), u = next_word(&p, end);
    struct word kw = next_word(&p, end), wv = next_word(&p, end), extra = next_word(&p, end);
    if (!m.n || !u.n)
        return fail(c, "%s, got 'request%s%s'", usage, m.n ? " " : "", err_quote(m.p, m.n, q, sizeof(q)));
    if (kw.n && (!word_is(kw, "weight") || !wv.n || extra.n)) {
        const char *rest = kw.p;
        return fail(c, "%s, got '%s' after the URL", usage,
                    err_quote(rest, (size_t)(end - rest), q, sizeof(q)));
    }
    if (s->nrequests >= SCENARIO_REQUESTS_MAX)
        return fail(c, "more than %u requests", SCENARIO_REQUESTS_MAX);
    int rc = check_method(c, m);
    if (rc)
        return rc;

    struct scenario_request r;
    memset(&r, 0, sizeof(r));
    r.line = c->line;
    r.weight = 1;
    memcpy(r.method, m.p, m.n);
    char *t = dup_word(u);
    if (!t)
        return oom(c);
    rc = url_parse(t, c->on, &r.url, c->e);
    free(t);
    if (rc)
        return rc;
    if (wv.n) {
        uint64_t w;
        if (!(t = dup_word(wv)))
            return oom(c);
        rc = units_parse_uint(t, c->on, 1, SCENARIO_WEIGHT_MAX, &w, c->e);
        free(t);
        if (rc)
            return rc;
        r.weight = (uint32_t)w;
    }

    if (s->nrequests == 0 || (s->nrequests >= 4 && (s->nrequests & (s->nrequests - 1)) == 0)) {
        size_t cap = s->nrequests ? s->nrequests * 2 : 4;
        struct scenario_request *n = realloc(s->requests, cap * sizeof(*n));
        if (!n)
            return oom(c);
        s->requests = n;
    }
    s->requests[s->nrequests] = r;
    c->cur = &s->requests[s->nrequests++];
    s->total_weight += r.weight;
    return 0;
}

static int parse_header(struct ctx *c, const char *p, const char *end)
{
    char q[QUOTE_MAX + 8];
    struct scenario_request *r = c->cur;
    while (p < end && is_blank(*p))
        p++;
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (p == end || !colon)
        return fail(c, "expected 'header NAME: VALUE', got 'header %s'",
                    err_quote(p, (size_t)(end - p), q, sizeof(q)));
    size_t nlen = (size_t)(colon - p);
    if (nlen == 0)
        return fail(c, "empty header name before ':'");
    for (size_t i = 0; i < nlen; i++)
        if (!text_is_tchar(p[i]))
            return fail(c,
                        "invalid header name '%s' (a token: letters, digits, !#$%%&'*+-.^_`|~; "
                        "no space before ':')",
                        err_quote(p, nlen, q, sizeof(q)));
    if ((nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) ||
        (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0))
        return fail(c, "header '%s' is set from the body, not by hand", err_quote(p, nlen, q, sizeof(q)));
    if (r->nheaders >= SCENARIO_HEADERS_MAX)
        return fail(c, "more than %u headers in the request of line %u", SCENARIO_HEADERS_MAX, r->line);
    const char *v = colon + 1;
    while (v < end && is_blank(*v))
        v++;
    size_t vlen = (size_t)(end - v);

    if (r->nheaders == 0 || (r->nheaders >= 4 && (r->nheaders & (r->nheaders - 1)) == 0)) {
        size_t cap = r->nheaders ? r->nheaders * 2 : 4;
        struct scenario_header *n = realloc(r->headers, cap * sizeof(*n));
        if (!n)
            return oom(c);
        r->headers = n;
    }
    char *mem = malloc(nlen + vlen + 2);
    if (!mem)
        return oom(c);
    memcpy(mem, p, nlen);
    mem[nlen] = '\0';
    memcpy(mem + nlen + 1, v, vlen);
    mem[nlen + 1 + vlen] = '\0';
    r->headers[r->nheaders++] = (struct scenario_header){ mem, mem + nlen + 1 };
    return 0;
}

static int parse_body(struct ctx *c, const char *p, const char *end)
{
    struct scenario_request *r = c->cur;
    if (r->body || r->body_file)
        return fail(c, "'body' given twice for the request of line %u", r->line);
    while (p < end && is_blank(*p))
        p++;
    if (p == end)
        return fail(c, "expected 'body TEXT' or 'body @FILE', got 'body'");
    bool file = p[0] == '@' && !(end - p >= 2 && p[1] == '@');
    if (p[0] == '@')
        p++; /* "@@text" is the literal "@text" */
    if (file && p == end)
        return fail(c, "expected a file name after 'body @'");
    size_t n = (size_t)(end - p);
    char *d = malloc(n + 1);
    if (!d)
        return oom(c);
    memcpy(d, p, n);
    d[n] = '\0';
    r->body_line = c->line;
    if (file) {
        r->body_file = d;
    } else {
        r->body = d;
        r->body_len = n;
    }
    return 0;
}

/* "name TEXT": what the request is reported under (results by name),
 * the rest of the line with its blanks trimmed. */
static int parse_name(struct ctx *c, const char *p, const char *end)
{
    struct scenario_request *r = c->cur;
    if (r->name)
        return fail(c, "'name' given twice for the request of line %u", r->line);
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    size_t n = (size_t)(end - p);
    if (n == 0)
        return fail(c, "expected 'name TEXT', got 'name'");
    if (n > SCENARIO_NAME_MAX)
        return fail(c, "a name is at most %u bytes", SCENARIO_NAME_MAX);
    if (!(r->name = malloc(n + 1)))
        return oom(c);
    memcpy(r->name, p, n);
    r->name[n] = '\0';
    return 0;
}

static int parse_line(struct ctx *c, const char *p, const char *end)
{
    char q[QUOTE_MAX + 8];
    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == '#')
        return 0;
    struct word kw = next_word(&p, end);
    if (word_is(kw, "think"))
        return parse_think(c, p, end);
    if (word_is(kw, "request"))
        return parse_request(c, p, end);
    if ((word_is(kw, "header") || word_is(kw, "body") || word_is(kw, "name")) && !c->cur)
        return fail(c, "'%.*s' before any 'request METHOD URL' line", (int)kw.n, kw.p);
    if (word_is(kw, "header"))
        return parse_header(c, p, end);
    if (word_is(kw, "body"))
        return parse_body(c, p, end);
    if (word_is(kw, "name"))
        return parse_name(c, p, end);
    if (!c->cur)
        return fail(c, "expected 'request METHOD URL' or 'think ...', got '%s'",
                    err_quote(kw.p, kw.n, q, sizeof(q)));
    return fail(
        c,
        "expected 'request METHOD URL', 'header NAME: VALUE', 'body TEXT', 'name TEXT' or 'think ...', "
        "got '%s'",
        err_quote(kw.p, kw.n, q, sizeof(q)));
}

static void set_on(struct ctx *c)
{
    snprintf(c->on, sizeof(c->on), "%s:%u", c->name, c->line);
}

void scenario_init(struct scenario *s)
{
    memset(s, 0, sizeof(*s));
}

void scenario_destroy(struct scenario *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nrequests; i++) {
        struct scenario_request *r = &s->requests[i];
        for (size_t k = 0; k < r->nheaders; k++)
            free(r->headers[k].name);
        free(r->headers);
        free(r->body);
        free(r->body_file);
        free(r->name);
    }
    free(s->requests);
    scenario_init(s);
}

int scenario_parse(const char *buf, size_t len, const char *name, struct scenario *out, struct pk_err *e)
{
    struct scenario s;
    scenario_init(&s);
    scenario_init(out);
    struct ctx c = { .name = name ? name : "scenario", .s = &s, .e = e };
    snprintf(c.on, sizeof(c.on), "%s", c.name);
    if (len > SCENARIO_FILE_MAX)
        return fail(&c, "larger than %u MiB", SCENARIO_FILE_MAX >> 20);

    const char *p = buf, *end = buf + len;
    int rc = 0;
    while (p < end) {
        c.line++;
        set_on(&c);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && le[-1] == '\r')
            le--;
        if ((size_t)(le - p) > SCENARIO_LINE_MAX) {
            rc = fail(&c, "line longer than %u bytes", SCENARIO_LINE_MAX);
            goto fail;
        }
        for (const char *q = p; q < le; q++) {
            unsigned char ch = (unsigned char)*q;
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                char t[16];
                rc = fail(&c, "control byte '%s' at column %zu", err_quote(q, 1, t, sizeof(t)),
                          (size_t)(q - p) + 1);
                goto fail;
            }
        }
        while (le > p && is_blank(le[-1]))
            le--;
        if ((rc = parse_line(&c, p, le)))
            goto fail;
        p = nl ? nl + 1 : end;
    }
    if (s.nrequests == 0) {
        snprintf(c.on, sizeof(c.on), "%s", c.name);
        rc = fail(&c, "no requests (expected at least one 'request METHOD URL' line)");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    scenario_destroy(&s);
    return rc;
}

/* Reads at most cap bytes of path; -EFBIG if it holds more. */
/* files_read_all with the scenario's messages: 0, -EFBIG past cap, or the
 * read's error; a FIFO nobody writes to ends in -ETIMEDOUT, not a hang. */
static int read_capped(const char *path, size_t cap, char **out, size_t *len)
{
    return files_read_all(path, cap, out, len, NULL);
}

static int load_body(const char *path, struct scenario_request *r, struct pk_err *e)
{
    char on[300];
    snprintf(on, sizeof(on), "%s:%u", path, r->body_line);
    const char *slash = strrchr(path, '/');
    size_t dlen = (r->body_file[0] == '/' || !slash) ? 0 : (size_t)(slash - path) + 1;
    size_t flen = strlen(r->body_file);
    char *full = malloc(dlen + flen + 1);
    if (!full)
        return err_errno(e, -ENOMEM, on, "cannot read body file");
    memcpy(full, path, dlen);
    memcpy(full + dlen, r->body_file, flen + 1);
    char what[160];
    char q[140];
    snprintf(what, sizeof(what), "cannot read body file '%s'", err_quote(full, strlen(full), q, sizeof(q)));
    int rc = read_capped(full, SCENARIO_BODY_MAX, &r->body, &r->body_len);
    free(full);
    if (rc == -EFBIG)
        return err_set(e, PK_EPARSE, on, what, "larger than %u MiB", SCENARIO_BODY_MAX >> 20);
    if (rc == -ETIMEDOUT)
        return err_set(e, rc, on, what, "not a regular file, and its writer did not finish within %d s",
                       FILES_READ_WAIT_MS / 1000);
    if (rc)
        return err_errno(e, rc, on, what);
    return 0;
}

int scenario_load(const char *path, struct scenario *s, struct pk_err *e)
{
    scenario_init(s);
    char *buf;
    size_t len;
    int rc = read_capped(path, SCENARIO_FILE_MAX, &buf, &len);
    if (rc == -EFBIG)
        return err_set(e, PK_EPARSE, path, "cannot read scenario", "larger than %u MiB",
                       SCENARIO_FILE_MAX >> 20);
    if (rc == -ETIMEDOUT)
        return err_set(e, rc, path, "cannot read scenario",
                       "not a regular file, and its writer did not finish within %d s",
                       FILES_READ_WAIT_MS / 1000);
    if (rc)
        return err_errno(e, rc, path, "cannot read scenario");
    rc = scenario_parse(buf, len, path, s, e);
    free(buf);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->nrequests; i++) {
        if (s->requests[i].body_file && (rc = load_body(path, &s->requests[i], e))) {
            scenario_destroy(s);
            return rc;
        }
    }
    return 0;
}
