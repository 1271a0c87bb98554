/*
 * sysfile - what every reader of /proc and /sys shares: files read under a
 * root directory fd with a cap, and length-checked number parsers that never
 * read past `end` (the files are untrusted bytes: fixture trees, odd kernels).
 * All functions are thread-safe; none allocates except sysfile_read_alloc.
 */
#ifndef PK_SYS_SYSFILE_H
#define PK_SYS_SYSFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

bool sysfile_is_blank(char c);   /* ' ' or '\t' */
bool sysfile_is_space(char c);   /* blank, '\n' or '\r' */
bool sysfile_is_digit(char c);
/* len without trailing whitespace (a sysfs value ends in "\n"). */
size_t sysfile_rtrim_len(const char *buf, size_t len);
/* Decimal digits at *p (no sign) into *out, at most max; advances *p. 0 or PK_EPARSE. */
int sysfile_parse_uint(const char **p, const char *end, uint64_t max, uint64_t *out);
/* "2596.122" without locale; at most 18 significant digits. 0 or PK_EPARSE; advances *p. */
int sysfile_parse_decimal(const char **p, const char *end, double *out);

/* Up to cap bytes of dirfd/rel into buf; -EFBIG if the file holds more, -errno on failure. */
int sysfile_read_small(int dirfd, const char *rel, char *buf, size_t cap, size_t *len);
/* dirfd/rel into a malloc'd buffer of at most cap bytes (caller frees). Past the
 * cap the partial last line is dropped, so line parsers see whole lines only. */
int sysfile_read_alloc(int dirfd, const char *rel, size_t cap, char **out, size_t *len);

/*
 * <root>/<rel> read whole into a malloc'd *out (at most cap bytes, as
 * sysfile_read_alloc; caller frees). What every reader of a /proc file does
 * first; errors name the path: "<root>/<rel>: cannot read: <why>" (and
 * -EINVAL for a NULL root, "cannot open root" when root is not a directory).
 */
int sysfile_load(const char *root, const char *rel, size_t cap, char **out, size_t *len,
                 struct pk_err *e);
/* The same into the caller's buf (sysfile_read_small: -EFBIG past cap), for
 * one-value files of /proc/sys and /sys. */
int sysfile_load_small(const char *root, const char *rel, char *buf, size_t cap, size_t *len,
                       struct pk_err *e);

#endif
