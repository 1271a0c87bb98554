#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void copy_trunc(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void pk_err_clear(struct pk_err *e)
{
    if (e)
        memset(e, 0, sizeof(*e));
}

int err_set(struct pk_err *e, int code, const char *on, const char *what, const char *why_fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    copy_trunc(e->on, sizeof(e->on), on);
    copy_trunc(e->what, sizeof(e->what), what);
    e->why[0] = '\0';
    if (why_fmt) {
        va_list ap;
        va_start(ap, why_fmt);
        vsnprintf(e->why, sizeof(e->why), why_fmt, ap);
        va_end(ap);
    }
    return code;
}

int err_errno(struct pk_err *e, int code, const char *on, const char *what)
{
    return err_set(e, code, on, what, "%s", strerror(code < 0 ? -code : code));
}

void err_prefix_on(struct pk_err *e, const char *prefix)
{
    if (!e || !prefix)
        return;
    char tmp[sizeof(e->on)];
    if (e->on[0])
        snprintf(tmp, sizeof(tmp), "%s%s", prefix, e->on);
    else
        snprintf(tmp, sizeof(tmp), "%s", prefix);
    memcpy(e->on, tmp, sizeof(tmp));
}

const char *err_quote(const char *s, size_t n, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;
        if (o + need + 4 > cap) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 1) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    buf[o] = '\0';
    return buf;
}

const char *pk_err_str(const struct pk_err *e, char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    buf[0] = '\0';
    if (!e)
        return buf;
    const char *parts[3] = { e->on, e->what, e->why };
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        if (!parts[i][0])
            continue;
        int n = snprintf(buf + off, len - off, "%s%s", off ? ": " : "", parts[i]);
        if (n < 0)
            break;
        off += (size_t)n;
        if (off >= len) {
            off = len - 1;
            break;
        }
    }
    if (!off && e->code)
        snprintf(buf, len, "error %d", e->code);
    return buf;
}

const char *pk_version(void)
{
    return PK_VERSION_STRING;
}
