#include "sys/sysctl.h"
#include "sys/sysfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

/* ---- parsers ------------------------------------------------------------ */

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && sysfile_is_space(*p))
        p++;
    return p;
}

/* An optional '-' and digits at *p, within int64_t; advances *p. */
static int parse_i64(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    bool neg = s < end && *s == '-';
    uint64_t v;
    if (neg)
        s++;
    if (sysfile_parse_uint(&s, end, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v) != 0)
        return PK_EPARSE;
    /* -(INT64_MAX + 1) does not fit a positive int64_t on the way, so go through INT64_MIN. */
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    *p = s;
    return 0;
}

int sysctl_parse_string(const char *buf, size_t len, char *dst, size_t cap)
{
    const char *p = skip_space(buf, buf + len);
    size_t n = sysfile_rtrim_len(p, (size_t)(buf + len - p));
    /* A NUL would make the C string disagree with the value. */
    if (memchr(p, '\0', n))
        return PK_EPARSE;
    if (!dst || n >= cap)
        return -EOVERFLOW;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

int sysctl_parse_int(const char *buf, size_t len, int64_t *out)
{
    const char *end = buf + len, *p = skip_space(buf, end);
    int64_t v;
    if (parse_i64(&p, end, &v) != 0 || skip_space(p, end) != end)
        return PK_EPARSE;
    *out = v;
    return 0;
}

int sysctl_parse_uint(const char *buf, size_t len, uint64_t *out)
{
    const char *end = buf + len, *p = skip_space(buf, end);
    uint64_t v;
    if (sysfile_parse_uint(&p, end, UINT64_MAX, &v) != 0 || skip_space(p, end) != end)
        return PK_EPARSE;
    *out = v;
    return 0;
}

int sysctl_parse_ints(const char *buf, size_t len, int64_t *vals, size_t cap, size_t *n)
{
    const char *end = buf + len, *p = skip_space(buf, end);
    size_t count = 0;
    /* Validate everything before writing, so vals stays untouched on PK_EPARSE. */
    for (const char *q = p; q < end; q = skip_space(q, end)) {
        int64_t v;
        if (parse_i64(&q, end, &v) != 0 || (q < end && !sysfile_is_space(*q)))
            return PK_EPARSE;
        count++;
    }
    if (count == 0)
        return PK_EPARSE;
    size_t i = 0;
    for (; p < end && i < cap; p = skip_space(p, end))
        parse_i64(&p, end, &vals[i++]);
    *n = i;
    return count > cap ? -E2BIG : 0;
}

int sysctl_parse_choice(const char *buf, size_t len, struct sysctl_choice *c)
{
    struct sysctl_choice out;
    const char *p = buf, *end = buf + len;
    bool selected = false;
    memset(&out, 0, sizeof(out));
    for (p = skip_space(p, end); p < end; p = skip_space(p, end)) {
        const char *w = p;
        while (p < end && !sysfile_is_space(*p))
            p++;
        size_t wlen = (size_t)(p - w);
        bool br = wlen >= 2 && w[0] == '[' && w[wlen - 1] == ']';
        if (br) {
            if (selected)
                return PK_EPARSE;
            selected = true;
            w++;
            wlen -= 2;
        }
        if (wlen == 0 || wlen >= SYSCTL_CHOICE_MAX || out.nchoices == SYSCTL_MAX_CHOICES)
            return PK_EPARSE;
        for (size_t i = 0; i < wlen; i++)
            if (w[i] == '[' || w[i] == ']' || (unsigned char)w[i] < 0x21 || (unsigned char)w[i] > 0x7e)
                return PK_EPARSE;
        memcpy(out.choices[out.nchoices], w, wlen);
        if (br)
            memcpy(out.selected, w, wlen);
        out.nchoices++;
    }
    if (!selected)
        return PK_EPARSE;
    *c = out;
    return 0;
}

int sysctl_parse_file_nr(const char *buf, size_t len, struct sysctl_file_nr *f)
{
    const char *p = buf, *end = buf + sysfile_rtrim_len(buf, len);
    uint64_t v[3];
    for (int i = 0; i < 3; i++) {
        const char *start = p;
        while (p < end && sysfile_is_blank(*p))
            p++;
        if (i > 0 && p == start)
            return PK_EPARSE;
        if (sysfile_parse_uint(&p, end, UINT64_MAX, &v[i]) != 0)
            return PK_EPARSE;
    }
    if (p != end)
        return PK_EPARSE;
    f->allocated = v[0];
    f->unused = v[1];
    f->max = v[2];
    return 0;
}

/* ---- names -------------------------------------------------------------- */

int sysctl_path(const char *name, char *dst, size_t cap)
{
    static const char prefix[] = "sys/";
    size_t len = name ? strnlen(name, SYSCTL_NAME_MAX) : 0;
    if (len == 0 || len == SYSCTL_NAME_MAX)
        return len ? -ENAMETOOLONG : -EINVAL;
    if (!dst || cap < sizeof(prefix) + len)
        return -ENAMETOOLONG;

    size_t sep = strcspn(name, "./");
    /* sysctl(8): with '.' as separator, '/' inside a component stands for a dot. */
    bool dotted = name[sep] != '/';
    char *out = dst + sizeof(prefix) - 1;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if ((unsigned char)ch < 0x21 || (unsigned char)ch > 0x7e)
            return -EINVAL;
        if (dotted && (ch == '.' || ch == '/'))
            ch = ch == '.' ? '/' : '.';
        out[i] = ch;
    }
    out[len] = '\0';

    /* Every component non-empty and neither "." nor "..": the path stays under sys/. */
    for (const char *c = out;;) {
        const char *slash = strchr(c, '/');
        size_t clen = slash ? (size_t)(slash - c) : strlen(c);
        if (clen == 0 || (clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
            return -EINVAL;
        if (!slash)
            break;
        c = slash + 1;
    }
    memcpy(dst, prefix, sizeof(prefix) - 1);
    return 0;
}

/* ---- files -------------------------------------------------------------- */

static int read_sysctl(const char *procfs, const char *name, char *rel, size_t relcap, char *buf, size_t *len,
                       struct pk_err *e)
{
    int r = sysctl_path(name, rel, relcap);
    if (r < 0)
        return err_set(e, r, name ? name : "", "invalid sysctl name", NULL);
    return sysfile_load_small(procfs, rel, buf, SYSCTL_VALUE_CAP, len, e);
}

/* The value, cut to what fits a message and made printable. */
static void quote(const char *buf, size_t len, char *dst, size_t cap)
{
    size_t n = 0;
    len = sysfile_rtrim_len(buf, len);
    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        unsigned char ch = (unsigned char)buf[i];
        dst[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    dst[n] = '\0';
}

static int malformed(struct pk_err *e, const char *root, const char *rel, const char *buf, size_t len,
                     const char *expected)
{
    char path[4096], q[48];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    quote(buf, len, q, sizeof(q));
    return err_set(e, PK_EPARSE, path, "malformed value", "expected %s, got '%s'", expected, q);
}

int sysctl_read_string(const char *procfs, const char *name, char *dst, size_t cap, struct pk_err *e)
{
    char rel[SYSCTL_NAME_MAX + 8], buf[SYSCTL_VALUE_CAP];
    size_t n = 0;
    int r = read_sysctl(procfs, name, rel, sizeof(rel), buf, &n, e);
    if (r < 0)
        return r;
    r = sysctl_parse_string(buf, n, dst, cap);
    if (r == -EOVERFLOW) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", procfs, rel);
        return err_set(e, r, path, "value too long", "more than %zu bytes", cap ? cap - 1 : 0);
    }
    return r ? malformed(e, procfs, rel, buf, n, "text without NUL bytes") : 0;
}

int sysctl_read_int(const char *procfs, const char *name, int64_t *out, struct pk_err *e)
{
    char rel[SYSCTL_NAME_MAX + 8], buf[SYSCTL_VALUE_CAP];
    size_t n = 0;
    int r = read_sysctl(procfs, name, rel, sizeof(rel), buf, &n, e);
    if (r < 0)
        return r;
    if (sysctl_parse_int(buf, n, out) != 0)
        return malformed(e, procfs, rel, buf, n, "one integer");
    return 0;
}

int sysctl_read_uint(const char *procfs, const char *name, uint64_t *out, struct pk_err *e)
{
    char rel[SYSCTL_NAME_MAX + 8], buf[SYSCTL_VALUE_CAP];
    size_t n = 0;
    int r = read_sysctl(procfs, name, rel, sizeof(rel), buf, &n, e);
    if (r < 0)
        return r;
    if (sysctl_parse_uint(buf, n, out) != 0)
        return malformed(e, procfs, rel, buf, n, "one unsigned integer");
    return 0;
}

int sysctl_read_ints(const char *procfs, const char *name, int64_t *vals, size_t cap, size_t *n,
                     struct pk_err *e)
{
    char rel[SYSCTL_NAME_MAX + 8], buf[SYSCTL_VALUE_CAP];
    size_t len = 0;
    int r = read_sysctl(procfs, name, rel, sizeof(rel), buf, &len, e);
    if (r < 0)
        return r;
    r = sysctl_parse_ints(buf, len, vals, cap, n);
    if (r == -E2BIG) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", procfs, rel);
        return err_set(e, r, path, "too many values", "more than %zu", cap);
    }
    return r ? malformed(e, procfs, rel, buf, len, "integers") : 0;
}

int sysctl_read_choice(const char *root, const char *rel, struct sysctl_choice *c, struct pk_err *e)
{
    char buf[SYSCTL_VALUE_CAP];
    size_t n = 0;
    int r = sysfile_load_small(root, rel, buf, sizeof(buf), &n, e);
    if (r < 0)
        return r;
    if (sysctl_parse_choice(buf, n, c) != 0)
        return malformed(e, root, rel, buf, n, "choices with one in brackets");
    return 0;
}

int sysctl_read_file_nr(const char *procfs, struct sysctl_file_nr *f, struct pk_err *e)
{
    static const char rel[] = "sys/fs/file-nr";
    char buf[SYSCTL_VALUE_CAP];
    size_t n = 0;
    int r = sysfile_load_small(procfs, rel, buf, sizeof(buf), &n, e);
    if (r < 0)
        return r;
    if (sysctl_parse_file_nr(buf, n, f) != 0)
        return malformed(e, procfs, rel, buf, n, "allocated, unused and maximum file handles");
    return 0;
}
