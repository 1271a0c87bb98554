/*
 * jsonio - JSON files through jansson: capped reads with errors that point at
 * file:line:column, atomic writes, and small typed getters.
 */
#ifndef PK_CORE_JSONIO_H
#define PK_CORE_JSONIO_H

#include <jansson.h>

#include "perfkit.h"

#define JSONIO_MAX_BYTES (256u << 20)

/* Parses the file; on error e->on is "path:line:column". Caller json_decref()s. */
int jsonio_load(const char *path, json_t **out, struct pk_err *e);
int jsonio_parse(const char *text, size_t len, const char *name, json_t **out, struct pk_err *e);
/* Indented, keys in insertion order, trailing newline; through files_write_atomic. */
int jsonio_write_atomic(const char *path, const json_t *root, struct pk_err *e);
/* jansson's flags of that format (a part of a document dumped alike). */
#define JSONIO_DUMP_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY)
/* Renders to a malloc'd NUL-terminated string (same format); NULL on ENOMEM. */
char *jsonio_dumps(const json_t *root);
/* A JSON number for a double that is NaN or infinite is null. */
json_t *jsonio_real(double v);

#endif
