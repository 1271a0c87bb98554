/*
 * jsonio - JSON files through jansson (jsonio.h).
 *
 * Rendering goes through json_dumpb() into a buffer of our own, so the
 * string jsonio_dumps() returns is always free()-able, whatever allocator
 * someone installed with json_set_alloc_funcs().
 */
#include "core/jsonio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/files.h"

/* 17 significant digits read back as the same double. */
#define DUMP_FLAGS JSONIO_DUMP_FLAGS

/* jansson quotes the bad token ("invalid token near '...'"), raw control
 * bytes included; they must not reach a terminal through the message. */
static const char *clean(const char *s, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (; *s && o + 5 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[ch >> 4];
            buf[o++] = hex[ch & 15];
        } else {
            buf[o++] = (char)ch;
        }
    }
    buf[o] = '\0';
    return buf;
}

int jsonio_parse(const char *text, size_t len, const char *name, json_t **out, struct pk_err *e)
{
    if (!name)
        name = "<input>";
    if (!text)
        return err_set(e, -EINVAL, name, "cannot parse JSON", "no text");
    json_error_t jerr;
    /* A key given twice in a hand-edited file is a mistake, not "last wins". */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return err_errno(e, -ENOMEM, name, "cannot parse JSON");
        if (!e)
            return PK_EPARSE;
        char on[sizeof(e->on)];
        if (jerr.line > 0)
            snprintf(on, sizeof(on), "%s:%d:%d", name, jerr.line, jerr.column > 0 ? jerr.column : 1);
        else
            snprintf(on, sizeof(on), "%s", name);
        char what[sizeof(e->what)];
        return err_set(e, PK_EPARSE, on, clean(jerr.text, what, sizeof(what)), NULL);
    }
    *out = root;
    return 0;
}

int jsonio_load(const char *path, json_t **out, struct pk_err *e)
{
    char *text;
    size_t len;
    int rc = files_read_all(path, JSONIO_MAX_BYTES, &text, &len, e);
    if (rc)
        return rc;
    rc = jsonio_parse(text, len, path, out, e);
    free(text);
    return rc;
}

char *jsonio_dumps(const json_t *root)
{
    if (!root)
        return NULL;
    size_t n = json_dumpb(root, NULL, 0, DUMP_FLAGS);
    if (n == 0)
        return NULL;
    char *buf = malloc(n + 2);
    if (!buf)
        return NULL;
    if (json_dumpb(root, buf, n, DUMP_FLAGS) != n) {
        free(buf);
        return NULL;
    }
    buf[n] = '\n';
    buf[n + 1] = '\0';
    return buf;
}

int jsonio_write_atomic(const char *path, const json_t *root, struct pk_err *e)
{
    char *text = jsonio_dumps(root);
    if (!text)
        return err_set(e, root ? -ENOMEM : -EINVAL, path, "cannot render JSON",
                       root ? "out of memory" : "no value");
    int rc = files_write_atomic(path, text, strlen(text), e);
    free(text);
    return rc;
}

json_t *jsonio_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}
