/*
 * sysctl - kernel tunables as `perfkit doctor` checks them and `perfkit
 * monitor` exports them: a sysctl by its dotted name read under a procfs root
 * (net.core.somaxconn -> <procfs>/sys/net/core/somaxconn) as a string, an
 * integer or a list of integers ("32768\t60999"); the bracketed-choice files
 * of sysfs ("always [madvise] never" in transparent_hugepage/enabled, block
 * queue/scheduler); and fs/file-nr (node_filefd_allocated/_maximum).
 *
 * Contract: the readers take a root path like host_read() ("/proc" for
 * sysctls and file-nr; "/sys" for the choice files, any root in fact). No
 * allocation, no global state. Errors: 0; -EINVAL for a malformed name;
 * -ENOENT when the sysctl or file does not exist (normal: numa_balancing is
 * absent without NUMA, many exist only with a module loaded), other -errno
 * from reading (-EACCES, -EFBIG past SYSCTL_VALUE_CAP); PK_EPARSE when the
 * value is not of the asked shape; every one with e->on = the file's path
 * (these are one-line files, so there is no line number to add).
 *
 * Names follow sysctl(8): dots separate, and a '/' inside a component
 * stands for a dot (net.ipv4.conf.eth0/100.rp_filter); a name whose first
 * separator is '/' is a path already (net/ipv4/conf/eth0.100/rp_filter).
 * Empty components and "." or ".." are refused, so a name never leaves
 * <procfs>/sys.
 */
#ifndef PK_SYS_SYSCTL_H
#define PK_SYS_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

/* Longest name accepted (the kernel's longest are ~60 bytes). */
#define SYSCTL_NAME_MAX 256
/* The kernel formats sysctl values into at most a page. */
#define SYSCTL_VALUE_CAP 4096
/* Block schedulers' names are at most 16 bytes (ELV_NAME_MAX), THP's 13. */
#define SYSCTL_CHOICE_MAX  32
#define SYSCTL_MAX_CHOICES 16

struct sysctl_choice {
    char selected[SYSCTL_CHOICE_MAX];                    /* the bracketed one */
    char choices[SYSCTL_MAX_CHOICES][SYSCTL_CHOICE_MAX]; /* all of them, in file order */
    size_t nchoices;
};

/* fs/file-nr; max is LONG_MAX on kernels that no longer cap it. */
struct sysctl_file_nr {
    uint64_t allocated; /* file handles in use (node_filefd_allocated) */
    uint64_t unused;    /* always 0 since 2.6 */
    uint64_t max;       /* fs.file-max (node_filefd_maximum) */
};

/* "net.core.somaxconn" -> "sys/net/core/somaxconn" (relative to procfs); 0, -EINVAL or -ENAMETOOLONG. */
int sysctl_path(const char *name, char *dst, size_t cap);

/* The value without its trailing newline/blanks; -EOVERFLOW if it does not fit dst (cap > 0). */
int sysctl_read_string(const char *procfs, const char *name, char *dst, size_t cap, struct pk_err *e);
/* One signed integer (perf_event_paranoid can be -1). */
int sysctl_read_int(const char *procfs, const char *name, int64_t *out, struct pk_err *e);
/* One unsigned integer (kernel.shmmax is 18446744073692774399 by default). */
int sysctl_read_uint(const char *procfs, const char *name, uint64_t *out, struct pk_err *e);
/* Signed integers separated by whitespace into vals[0..*n); -E2BIG if more than cap. */
int sysctl_read_ints(const char *procfs, const char *name, int64_t *vals, size_t cap, size_t *n,
                     struct pk_err *e);
/* root/rel as a bracketed-choice file (sysctl_read_choice("/sys", "kernel/mm/transparent_hugepage/enabled", ...)). */
int sysctl_read_choice(const char *root, const char *rel, struct sysctl_choice *c, struct pk_err *e);
/* <procfs>/sys/fs/file-nr. */
int sysctl_read_file_nr(const char *procfs, struct sysctl_file_nr *f, struct pk_err *e);

/*
 * Pure parsers (for tests and fuzzing) over (buf, len), which need not be
 * NUL-terminated; nothing past buf + len is read. Leading and trailing
 * whitespace is allowed, anything else extra is PK_EPARSE; outputs are left
 * untouched on failure.
 */
int sysctl_parse_string(const char *buf, size_t len, char *dst, size_t cap);
int sysctl_parse_int(const char *buf, size_t len, int64_t *out);
int sysctl_parse_uint(const char *buf, size_t len, uint64_t *out);
/* PK_EPARSE for none at all; -E2BIG for more than cap (vals[0..cap) hold the first ones). */
int sysctl_parse_ints(const char *buf, size_t len, int64_t *vals, size_t cap, size_t *n);
/*
 * Whitespace-separated choices, exactly one of them in brackets:
 * "always [madvise] never" -> selected "madvise", choices {always, madvise,
 * never}. PK_EPARSE for no or two selections, "[]", a bracket inside a
 * choice, a choice of SYSCTL_CHOICE_MAX bytes or more, more than
 * SYSCTL_MAX_CHOICES.
 */
int sysctl_parse_choice(const char *buf, size_t len, struct sysctl_choice *c);
/* "1024\t0\t1631329\n" */
int sysctl_parse_file_nr(const char *buf, size_t len, struct sysctl_file_nr *f);

#endif
