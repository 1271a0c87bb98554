/*
 * files - whole-file reads with a cap, and atomic writes.
 *
 * files_write_atomic() writes to a temporary file in the target's directory,
 * fsyncs it, renames it over the target and fsyncs the directory: a reader
 * sees the old file or the complete new one, never a part. On failure the
 * temporary file is removed and the target is untouched.
 */
#ifndef PK_CORE_FILES_H
#define PK_CORE_FILES_H

#include <stddef.h>

#include "perfkit.h"

int files_write_atomic(const char *path, const void *data, size_t len, struct pk_err *e);
/* Whether files_write_atomic(path) could succeed: the directory exists and is
 * writable, and path is not a directory. Used before long runs so a bad
 * export path is reported before any measuring. */
int files_check_writable(const char *path, struct pk_err *e);
/* Reads at most `cap` bytes; a larger file is -EFBIG. *out is NUL-terminated,
 * caller frees. */
int files_read_all(const char *path, size_t cap, char **out, size_t *len, struct pk_err *e);

#endif
