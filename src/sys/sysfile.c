#include "sys/sysfile.h"

#include <errno.h>
#include <stdio.h>

#include "core/check.h"
#include "core/err.h"
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

/* Trailing whitespace (a sysfs value ends in "\n") is not part of the value. */
size_t sysfile_rtrim_len(const char *buf, size_t len)
{
    while (len > 0 && sysfile_is_space(buf[len - 1]))
        len--;
    return len;
}

/* Digits at *p into *out, at most max; advances *p. 0 or PK_EPARSE. */
int sysfile_parse_uint(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s >= end || !sysfile_is_digit(*s))
        return PK_EPARSE;
    for (; s < end && sysfile_is_digit(*s); s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (d > max || v > (max - d) / 10) /* d > max first: max - d must not wrap */
            return PK_EPARSE;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

/*
 * "2596.122" -> 2596.122, locale-independent (strtod follows LC_NUMERIC and
 * needs a terminated string). Collecting the digits into one integer and
 * dividing once by an exact power of ten rounds the same as strtod while
 * there are at most 15 significant digits; more than 18 are refused.
 */
int sysfile_parse_decimal(const char **p, const char *end, double *out)
{
    static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };
    const char *s = *p;
    uint64_t mant = 0;
    int digits = 0, frac = 0;
    bool dot = false;
    for (; s < end; s++) {
        if (*s == '.' && !dot) {
            dot = true;
            continue;
        }
        if (!sysfile_is_digit(*s))
            break;
        if (mant == 0 && *s == '0') {
            /* leading zeros are not significant */
        } else if (++digits > 18) {
            return PK_EPARSE;
        }
        mant = mant * 10 + (uint64_t)(*s - '0');
        if (dot)
            frac++;
        if (frac > 18)
            return PK_EPARSE;
    }
    /* at least one digit, and not a lone "." */
    if (s == *p || (s - *p == 1 && dot))
        return PK_EPARSE;
    *out = (double)mant / pow10[frac];
    *p = s;
    return 0;
}

size_t sysfile_count_lines(const char *buf, size_t len)
{
    size_t n = 1;
    for (const char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        n++;
    return n;
}

/* Up to cap bytes of dirfd/rel into buf; -EFBIG if the file holds more. */
int sysfile_read_small(int dirfd, const char *rel, char *buf, size_t cap, size_t *len)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    int rc = 0;
    for (;;) {
        if (n == cap) {
            char extra;
            ssize_t r = read(fd, &extra, 1);
            if (r != 0)
                rc = r > 0 ? -EFBIG : -errno;
            break;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return rc;
}

/*
 * dirfd/rel into a malloc'd buffer of at most cap bytes. Past the cap the
 * partial last line is dropped, so line parsers see whole lines only.
 */
int sysfile_read_alloc(int dirfd, const char *rel, size_t cap, char **out, size_t *len)
{
    if (cap == 0)
        return -EINVAL;
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* a cap below the first buffer's size holds too */
    size_t size = cap < 64 * 1024 ? cap : 64 * 1024, n = 0;
    char *buf = malloc(size);
    int rc = 0;
    if (!buf) {
        rc = -ENOMEM;
        goto out_close;
    }
    for (;;) {
        if (n == size) {
            if (size == cap) {
                while (n > 0 && buf[n - 1] != '\n')
                    n--;
                break;
            }
            size_t nsize = size * 2 > cap ? cap : size * 2;
            char *nbuf = realloc(buf, nsize);
            if (!nbuf) {
                rc = -ENOMEM;
                goto out_free;
            }
            buf = nbuf;
            size = nsize;
        }
        ssize_t r = read(fd, buf + n, size - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out_free;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return 0;

out_free:
    free(buf);
out_close:
    close(fd);
    return rc;
}

static int open_root(const char *root, struct pk_err *e)
{
    if (!root)
        return err_set(e, -EINVAL, NULL, "no root directory given", NULL);
    int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return dir < 0 ? err_errno(e, -errno, root, "cannot open root") : dir;
}

static int read_failed(const char *root, const char *rel, int rc, struct pk_err *e)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    return err_errno(e, rc, path, "cannot read");
}

int sysfile_load(const char *root, const char *rel, size_t cap, char **out, size_t *len, struct pk_err *e)
{
    *out = NULL;
    *len = 0;
    int dir = open_root(root, e);
    if (dir < 0)
        return dir;
    int rc = sysfile_read_alloc(dir, rel, cap, out, len);
    close(dir);
    return rc < 0 ? read_failed(root, rel, rc, e) : 0;
}

int sysfile_load_small(const char *root, const char *rel, char *buf, size_t cap, size_t *len,
                       struct pk_err *e)
{
    *len = 0;
    int dir = open_root(root, e);
    if (dir < 0)
        return dir;
    int rc = sysfile_read_small(dir, rel, buf, cap, len);
    close(dir);
    return rc < 0 ? read_failed(root, rel, rc, e) : 0;
}

void sysfile_name_err(struct pk_err *e, const char *root, const char *rel)
{
    if (!e)
        return;
    const char *colon = strrchr(e->on, ':');
    char on[sizeof(e->on)];
    snprintf(on, sizeof(on), "%s/%s%s", root, rel, colon ? colon : "");
    memcpy(e->on, on, sizeof(on));
}

static bool is_absent(int rc)
{
    return rc == -ENOENT || rc == -ENOTDIR || rc == -EOPNOTSUPP;
}

int sysfile_parse_file(const char *root, const char *rel, size_t cap, unsigned flags, sysfile_parser parse,
                       void *arg, struct pk_err *e)
{
    int dir = open_root(root, e);
    if (dir < 0)
        return dir;
    char *buf = NULL;
    size_t n = 0;
    int rc;
    if (flags & SYSFILE_EXACT) {
        buf = malloc(cap ? cap : 1);
        rc = buf ? sysfile_read_small(dir, rel, buf, cap, &n) : -ENOMEM;
    } else {
        rc = sysfile_read_alloc(dir, rel, cap, &buf, &n);
    }
    close(dir);
    if (rc < 0) {
        free(buf);
        if ((flags & SYSFILE_OPTIONAL) && is_absent(rc))
            return 1;
        return read_failed(root, rel, rc, e);
    }
    rc = parse(buf, n, arg, e);
    free(buf);
    if (rc < 0)
        sysfile_name_err(e, root, rel);
    return rc;
}

bool sysfile_is_procfs(const char *path)
{
    struct statfs sf;
    return path && statfs(path, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

/* The first read's buffer; it doubles up to the caller's max when a file is larger. */
#define KEPT_INITIAL 4096

void sysfile_kept_init(struct sysfile_kept *k)
{
    k->fd = -1;
    k->buf = NULL;
    k->cap = 0;
}

void sysfile_kept_destroy(struct sysfile_kept *k)
{
    /* A descriptor is kept only after a read filled buf: a zeroed struct's fd 0 is not its own. */
    if (k->buf && k->fd >= 0)
        close(k->fd);
    free(k->buf);
    sysfile_kept_init(k);
}

/* Whether fd is on a file system that makes its files up on each read. */
static bool kernel_generated(int fd)
{
    struct statfs sf;
    return fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC);
}

/* All of fd from offset 0 into k->buf (one byte kept for the NUL), at most max bytes. */
static int kept_fill(struct sysfile_kept *k, int fd, size_t max, size_t *len)
{
    size_t n = 0;
    for (;;) {
        /* bytes of buf this read may fill, the NUL included (a buffer grown by a larger
         * max earlier is not filled past this one) */
        size_t room = k->cap < max + 1 ? k->cap : max + 1;
        if (n + 1 >= room) {
            if (room == max + 1) {
                /* full: whole lines only, as sysfile_read_alloc */
                while (n > 0 && k->buf[n - 1] != '\n')
                    n--;
                break;
            }
            size_t ncap = k->cap ? k->cap * 2 : KEPT_INITIAL;
            if (ncap > max + 1)
                ncap = max + 1;
            char *nb = realloc(k->buf, ncap);
            if (!nb)
                return -ENOMEM;
            k->buf = nb;
            k->cap = ncap;
            continue;
        }
        ssize_t r = pread(fd, k->buf + n, room - 1 - n, (off_t)n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    PK_ASSERT(n < k->cap); /* room for the NUL was kept */
    k->buf[n] = '\0';
    *len = n;
    return 0;
}

int sysfile_kept_read(struct sysfile_kept *k, const char *root, const char *rel, size_t max, const char **out,
                      size_t *len, struct pk_err *e)
{
    *out = NULL;
    *len = 0;
    if (max == 0)
        return err_set(e, -EINVAL, rel, "cannot read", "a cap of 0 bytes");
    bool opened = false;
    int fd = k->fd;
    if (fd < 0) {
        int dir = open_root(root, e);
        if (dir < 0)
            return dir;
        fd = openat(dir, rel, O_RDONLY | O_CLOEXEC);
        int rc = fd < 0 ? -errno : 0;
        close(dir);
        if (rc < 0)
            return read_failed(root, rel, rc, e);
        opened = true;
    }
    int rc = kept_fill(k, fd, max, len);
    if (rc < 0) {
        close(fd);
        k->fd = -1;
        return read_failed(root, rel, rc, e);
    }
    if (opened) {
        PK_ASSERT(k->buf); /* what destroy relies on to tell a kept fd from a zeroed struct's */
        if (kernel_generated(fd))
            k->fd = fd;
        else
            close(fd);
    }
    *out = k->buf;
    return 0;
}
