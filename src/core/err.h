/*
 * err - filling struct pk_err (include/perfkit.h).
 *
 * err_set() formats the three parts and returns the code, so a failing path
 * reads `return err_set(e, -ENOENT, path, "cannot open baseline", "%s", strerror(ENOENT));`.
 * A NULL err is allowed everywhere and ignored.
 */
#ifndef PK_CORE_ERR_H
#define PK_CORE_ERR_H

#include "perfkit.h"

int err_set(struct pk_err *e, int code, const char *on, const char *what, const char *why_fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* As err_set, with why = strerror(-code) for a negative errno code. */
int err_errno(struct pk_err *e, int code, const char *on, const char *what);
/* Untrusted text (n bytes of s, need not be NUL-terminated) made safe for a
 * message: printable ASCII kept, every other byte as \xNN, cut with "..."
 * to fit cap (>= 8). Returns buf. */
const char *err_quote(const char *s, size_t n, char *buf, size_t cap);
/* Prefix e->on with "<prefix>" (e.g. a file name before a line number). */
void err_prefix_on(struct pk_err *e, const char *prefix);

#endif
