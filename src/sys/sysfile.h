/*
 * sysfile - what every reader of /proc and /sys shares: files read under a
 * root directory fd with a cap, and length-checked number parsers that never
 * read past `end` (the files are untrusted bytes: fixture trees, odd kernels),
 * a line iterator for their parsers, and the read-parse-name sequence of a
 * reader of one file (sysfile_parse_file).
 * All functions are thread-safe; none allocates except sysfile_read_alloc
 * and the loaders built on it (sysfile_load, sysfile_parse_file).
 */
#ifndef PK_SYS_SYSFILE_H
#define PK_SYS_SYSFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "perfkit.h"

/* Inline: the parsers call them once per byte of every file. */
static inline bool sysfile_is_blank(char c) /* ' ' or '\t' */
{
    return c == ' ' || c == '\t';
}
static inline bool sysfile_is_space(char c) /* blank, '\n' or '\r' */
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
static inline bool sysfile_is_digit(char c)
{
    return c >= '0' && c <= '9';
}
/* len without trailing whitespace (a sysfs value ends in "\n"). */
size_t sysfile_rtrim_len(const char *buf, size_t len);
/* Decimal digits at *p (no sign) into *out, at most max; advances *p. 0 or PK_EPARSE. */
int sysfile_parse_uint(const char **p, const char *end, uint64_t max, uint64_t *out);
/* "2596.122" without locale; at most 18 significant digits. 0 or PK_EPARSE; advances *p. */
int sysfile_parse_decimal(const char **p, const char *end, double *out);

/*
 * The lines of a buffer, for parsers that name a line in their errors
 * ("<file>:<line>"). Each line is [s, eol) without its '\n' (a '\r' and
 * blanks stay: each format trims as it needs); it.no is its 1-based number.
 * A last line without '\n' is a line; nothing after a final '\n' is.
 * Inline: the monitor's parsers run it over every sample's files.
 */
struct sysfile_lines {
    const char *p, *end;
    size_t no; /* the number of the line last returned; 0 before the first */
};

static inline void sysfile_lines_init(struct sysfile_lines *it, const char *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
    it->no = 0;
}

/* The next line into [*s, *eol); false past the last one. */
static inline bool sysfile_lines_next(struct sysfile_lines *it, const char **s, const char **eol)
{
    if (it->p >= it->end)
        return false;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    *s = it->p;
    *eol = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    it->no++;
    return true;
}

/* One more than the '\n's of buf[0..len): at least the lines sysfile_lines gives, to size a table. */
size_t sysfile_count_lines(const char *buf, size_t len);

/* Up to cap bytes of dirfd/rel into buf; -EFBIG if the file holds more, -errno on failure. */
int sysfile_read_small(int dirfd, const char *rel, char *buf, size_t cap, size_t *len);
/* dirfd/rel into a malloc'd buffer of at most cap bytes (caller frees; cap 0 is -EINVAL). Past the
 * cap the partial last line is dropped, so line parsers see whole lines only. */
int sysfile_read_alloc(int dirfd, const char *rel, size_t cap, char **out, size_t *len);

/*
 * <root>/<rel> read whole into a malloc'd *out (at most cap bytes, as
 * sysfile_read_alloc; caller frees). What every reader of a /proc file does
 * first; errors name the path: "<root>/<rel>: cannot read: <why>" (and
 * -EINVAL for a NULL root, "cannot open root" when root is not a directory).
 */
int sysfile_load(const char *root, const char *rel, size_t cap, char **out, size_t *len, struct pk_err *e);
/* The same into the caller's buf (sysfile_read_small: -EFBIG past cap), for
 * one-value files of /proc/sys and /sys. */
int sysfile_load_small(const char *root, const char *rel, char *buf, size_t cap, size_t *len,
                       struct pk_err *e);

/*
 * A parser of one file's bytes that knows no path: its errors name the file
 * as "<name>" or "<name>:<line>" in e->on (the file's base name, or the name
 * its format goes by).
 */
typedef int (*sysfile_parser)(const char *buf, size_t len, void *arg, struct pk_err *e);

/* e->on "<name>" or "<name>:<line>" from such a parser becomes "<root>/<rel>[:<line>]". */
void sysfile_name_err(struct pk_err *e, const char *root, const char *rel);

/* sysfile_parse_file's flags. */
enum {
    /* A file that is not there (-ENOENT, -ENOTDIR, -EOPNOTSUPP: an old kernel, a
     * container, a feature turned off) is 1, with parse not called and *e untouched. */
    SYSFILE_OPTIONAL = 1,
    /* A file of more than cap bytes is -EFBIG (sysfile_read_small), not cut at its last whole line. */
    SYSFILE_EXACT = 2,
};

/*
 * What a reader of one /proc file does: <root>/<rel> loaded as sysfile_load
 * does (at most cap bytes), handed to parse(buf, len, arg, e), and a failure
 * of either named by its path: "<root>/<rel>: cannot read: <why>", or the
 * parser's error with sysfile_name_err. 0, 1 (SYSFILE_OPTIONAL), or the
 * negative error of the read or of parse.
 */
int sysfile_parse_file(const char *root, const char *rel, size_t cap, unsigned flags, sysfile_parser parse,
                       void *arg, struct pk_err *e);

/* Whether path is on the kernel's procfs (a live /proc, not a fixture tree). */
bool sysfile_is_procfs(const char *path);

/*
 * A file read again every sample. A file of procfs or sysfs is kept open and
 * read with pread() from offset 0, which makes the kernel generate it afresh
 * each time (seq_file and /proc/sys files do), so a read costs no open(),
 * close() or path walk; the buffer is kept too. Any other file (a fixture
 * tree, where a test may replace the file by rename) is opened and closed
 * on each read, as sysfile_load does. A read that fails closes the file, so
 * the next read opens it again.
 *
 * Ownership: caller-owned, sysfile_kept_init() / sysfile_kept_destroy();
 * one thread at a time. Not for files whose identity changes with the reader
 * (/proc/self/... of another thread, /proc/<pid>/... of a pid that is reused):
 * the descriptor stays on what it first opened.
 */
struct sysfile_kept {
    int fd; /* -1: not open */
    char *buf;
    size_t cap; /* allocated bytes of buf */
};

void sysfile_kept_init(struct sysfile_kept *k);
/* Closes and frees; a no-op on a zeroed or destroyed struct. */
void sysfile_kept_destroy(struct sysfile_kept *k);
/*
 * <root>/<rel>, at most max bytes (past it the partial last line is dropped,
 * as sysfile_read_alloc), into k's buffer: *out is valid until the next read
 * or destroy, and NUL-terminated at (*out)[*len]. Errors name the path as
 * sysfile_load's do: -errno (-ENOENT: no such file), -ENOMEM.
 */
int sysfile_kept_read(struct sysfile_kept *k, const char *root, const char *rel, size_t max, const char **out,
                      size_t *len, struct pk_err *e);

#endif
