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
/* Whether files_write_atomic(path) could succeed: the directory exists and a
 * file can be created in it (one is, and removed), and path is not a directory. Used before long runs so a bad
 * export path is reported before any measuring. */
int files_check_writable(const char *path, struct pk_err *e);
/*
 * Reads at most `cap` bytes; a larger file is -EFBIG. *out is NUL-terminated,
 * caller frees. What is not a regular file (a FIFO, a pipe such as bash's
 * `<(...)`, a device) is read until its writer closes it, but never waited
 * for longer than FILES_READ_WAIT_MS in all: a FIFO that nobody opens for
 * writing is -ETIMEDOUT with a message saying so, not a hang. A directory is
 * -EISDIR.
 */
#define FILES_READ_WAIT_MS 10000
int files_read_all(const char *path, size_t cap, char **out, size_t *len, struct pk_err *e);
/* files_read_all with another bound than FILES_READ_WAIT_MS on the waits. */
int files_read_all_within(const char *path, size_t cap, int wait_ms, char **out, size_t *len,
                          struct pk_err *e);

#endif
