#include "doctor/finding.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/check.h"
#include "core/jsonio.h"

void finding_report_init(struct finding_report *r)
{
    memset(r, 0, sizeof(*r));
}

void finding_report_destroy(struct finding_report *r)
{
    free(r->findings);
    free(r->bottlenecks);
    memset(r, 0, sizeof(*r));
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Grows *arr of elements of size sz to hold one more; NULL on ENOMEM. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t sz)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        void *p = realloc(*arr, nc * sz);
        if (!p)
            return NULL;
        *arr = p;
        *cap = nc;
    }
    void *slot = (char *)*arr + (*n)++ * sz;
    memset(slot, 0, sz);
    return slot;
}

struct finding *finding_add(struct finding_report *r, const char *id, const char *area)
{
    struct finding *f = grow((void **)&r->findings, &r->nfindings, &r->cap_findings, sizeof(*f));
    if (f) {
        copy(f->id, sizeof(f->id), id);
        copy(f->area, sizeof(f->area), area);
    }
    return f;
}

struct bottleneck *finding_add_bottleneck(struct finding_report *r, const char *id, const char *area)
{
    struct bottleneck *b = grow((void **)&r->bottlenecks, &r->nbottlenecks, &r->cap_bottlenecks, sizeof(*b));
    if (b) {
        copy(b->id, sizeof(b->id), id);
        copy(b->area, sizeof(b->area), area);
    }
    return b;
}

void finding_set(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

int finding_shell_quote(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        goto toolong;
    dst[n++] = '\'';
    for (; *s; s++) {
        const char *piece = *s == '\'' ? "'\\''" : NULL;
        size_t len = piece ? 4 : 1;
        if (n + len + 2 > cap)
            goto toolong;
        if (piece)
            memcpy(dst + n, piece, len);
        else
            dst[n] = *s;
        n += len;
    }
    dst[n++] = '\'';
    dst[n] = '\0';
    return 0;
toolong:
    if (cap)
        dst[0] = '\0';
    return -ENAMETOOLONG;
}

void finding_skip(struct finding *f, const char *fmt, ...)
{
    f->status = FINDING_SKIPPED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->skip_reason, sizeof(f->skip_reason), fmt, ap);
    va_end(ap);
}

const char *finding_status_name(enum finding_status s)
{
    switch (s) {
    case FINDING_OK: return "ok";
    case FINDING_WARN: return "warn";
    case FINDING_CRIT: return "crit";
    case FINDING_SKIPPED: return "skipped";
    }
    return "?";
}

/* Worst first: crit, warn, ok, skipped. */
static int rank(enum finding_status s)
{
    static const int r[] = {
        [FINDING_CRIT] = 0, [FINDING_WARN] = 1, [FINDING_OK] = 2, [FINDING_SKIPPED] = 3
    };
    PK_ASSERT((unsigned)s < sizeof(r) / sizeof(r[0]));
    return r[s];
}

static int cmp_findings(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    int d = rank(x->status) - rank(y->status);
    if (d)
        return d;
    d = strcmp(x->area, y->area);
    return d ? d : strcmp(x->id, y->id);
}

static int cmp_bottlenecks(const void *a, const void *b)
{
    const struct bottleneck *x = a, *y = b;
    int d = rank(x->status) - rank(y->status);
    if (d)
        return d;
    d = strcmp(x->area, y->area);
    return d ? d : strcmp(x->id, y->id);
}

void finding_sort(struct finding_report *r)
{
    if (r->nfindings)
        qsort(r->findings, r->nfindings, sizeof(*r->findings), cmp_findings);
    if (r->nbottlenecks)
        qsort(r->bottlenecks, r->nbottlenecks, sizeof(*r->bottlenecks), cmp_bottlenecks);
}

enum finding_status finding_worst(const struct finding_report *r, size_t counts[4])
{
    size_t c[4] = { 0 };
    enum finding_status worst = FINDING_OK;
    for (size_t i = 0; i < r->nfindings; i++) {
        enum finding_status s = r->findings[i].status;
        c[s]++;
        if (s != FINDING_SKIPPED && rank(s) < rank(worst))
            worst = s;
    }
    for (size_t i = 0; i < r->nbottlenecks; i++) {
        enum finding_status s = r->bottlenecks[i].status;
        if (s != FINDING_SKIPPED && rank(s) < rank(worst))
            worst = s;
    }
    if (counts)
        memcpy(counts, c, sizeof(c));
    return worst;
}

/* "" becomes null: absent, rather than an empty value a reader might act on. */
static json_t *str_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static int set(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

json_t *finding_report_json(const struct finding_report *r)
{
    json_t *root = json_object(), *checks = json_array(), *bots = json_array(), *sum = json_object();
    int bad = !root || !checks || !bots || !sum;
    for (size_t i = 0; !bad && i < r->nfindings; i++) {
        const struct finding *f = &r->findings[i];
        json_t *o = json_object();
        bad |= !o || json_array_append_new(checks, o);
        if (bad)
            break;
        bad |= set(o, "id", json_string(f->id)) | set(o, "area", json_string(f->area)) |
               set(o, "status", json_string(finding_status_name(f->status))) |
               set(o, "observed", str_or_null(f->observed)) |
               set(o, "recommended", str_or_null(f->recommended)) | set(o, "why", str_or_null(f->why)) |
               set(o, "fix", str_or_null(f->fix)) | set(o, "persist", str_or_null(f->persist)) |
               set(o, "persist_file", str_or_null(f->persist_file)) |
               set(o, "skip_reason", str_or_null(f->skip_reason)) | set(o, "source", str_or_null(f->source));
    }
    for (size_t i = 0; !bad && i < r->nbottlenecks; i++) {
        const struct bottleneck *b = &r->bottlenecks[i];
        json_t *o = json_object();
        bad |= !o || json_array_append_new(bots, o);
        if (bad)
            break;
        bad |= set(o, "id", json_string(b->id)) | set(o, "area", json_string(b->area)) |
               set(o, "status", json_string(finding_status_name(b->status))) |
               set(o, "value", jsonio_real(b->value)) | set(o, "limit", jsonio_real(b->limit)) |
               set(o, "unit", json_string(b->unit)) | set(o, "observed", str_or_null(b->observed)) |
               set(o, "culprit", str_or_null(b->culprit)) | set(o, "advice", str_or_null(b->advice));
    }
    size_t c[4];
    enum finding_status worst = finding_worst(r, c);
    if (!bad)
        bad |= set(sum, "worst", json_string(finding_status_name(worst))) |
               set(sum, "ok", json_integer((json_int_t)c[FINDING_OK])) |
               set(sum, "warn", json_integer((json_int_t)c[FINDING_WARN])) |
               set(sum, "crit", json_integer((json_int_t)c[FINDING_CRIT])) |
               set(sum, "skipped", json_integer((json_int_t)c[FINDING_SKIPPED])) |
               set(sum, "bottlenecks", json_integer((json_int_t)r->nbottlenecks)) |
               set(sum, "sample_seconds", jsonio_real(r->sample_s)) |
               set(sum, "incomplete", str_or_null(r->incomplete));
    if (bad || json_object_set_new(root, "checks", checks) ||
        json_object_set_new(root, "bottlenecks", bots) || json_object_set_new(root, "summary", sum)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- the fix script */

/* s as one single-quoted shell word. */
static void put_quoted(struct buf *b, const char *s)
{
    buf_addc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_adds(b, "'\\''");
        else
            buf_addc(b, *s);
    }
    buf_addc(b, '\'');
}

/* Comment text stays on one line whatever the finding holds. */
static void put_comment(struct buf *b, const char *label, const char *s)
{
    buf_adds(b, "# ");
    buf_adds(b, label);
    for (; *s; s++)
        buf_addc(b, *s == '\n' || *s == '\r' ? ' ' : *s);
    buf_addc(b, '\n');
}

char *finding_fix_script(const struct finding_report *r)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "#!/bin/sh\n"
                   "# Fixes proposed by perfkit doctor. Read each one before running this script:\n"
                   "# perfkit never changes the system itself. Run as root.\n"
                   "# With PERSIST=1 the settings are also written where they survive a reboot.\n"
                   "set -u\n"
                   "PERSIST=${PERSIST:-0}\n\n"
                   "persist() { # persist FILE LINES: append each of LINES to FILE unless it is there\n"
                   "    [ \"$PERSIST\" = 1 ] || return 0\n"
                   "    mkdir -p \"$(dirname \"$1\")\" || return 1\n"
                   "    printf '%%s\\n' \"$2\" | while IFS= read -r l; do\n"
                   "        grep -qxF -e \"$l\" \"$1\" 2>/dev/null || printf '%%s\\n' \"$l\" >> \"$1\"\n"
                   "    done\n"
                   "}\n\n");
    size_t n = 0;
    for (size_t i = 0; i < r->nfindings; i++) {
        const struct finding *f = &r->findings[i];
        if (f->status != FINDING_WARN && f->status != FINDING_CRIT)
            continue;
        if (!f->fix[0] && !f->persist[0])
            continue;
        n++;
        buf_printf(&b, "# [%s] %s\n", finding_status_name(f->status), f->id);
        put_comment(&b, "observed: ", f->observed);
        put_comment(&b, "recommended: ", f->recommended);
        put_comment(&b, "why: ", f->why);
        if (f->fix[0])
            buf_printf(&b, "%s\n", f->fix);
        if (f->persist[0] && f->persist_file[0]) {
            buf_adds(&b, "persist ");
            put_quoted(&b, f->persist_file);
            buf_addc(&b, ' ');
            put_quoted(&b, f->persist);
            buf_addc(&b, '\n');
        } else if (f->persist[0]) {
            put_comment(&b, "persist (by hand): ", f->persist);
        }
        buf_addc(&b, '\n');
    }
    if (n == 0)
        buf_adds(&b, "# Nothing to fix: every check passed or was skipped.\n");
    return buf_take(&b, NULL);
}
