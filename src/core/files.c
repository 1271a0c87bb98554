/*
 * files - capped whole-file reads and atomic writes (files.h).
 *
 * The temporary file is created with O_EXCL and mode 0644 rather than with
 * mkstemp(): mkstemp() forces 0600, and restoring "0644 minus the umask"
 * afterwards would need umask(), which changes process-wide state.
 *
 * A target that is a symbolic link is resolved first, so the link survives
 * and the file it points to is replaced; a target that exists but is not a
 * regular file (a terminal, a pipe: "--export-json /dev/stdout") cannot be
 * replaced by rename() at all, so it is written in place.
 *
 * Reads open with O_NONBLOCK, so that a FIFO without a writer cannot hold
 * the open; such files are then waited on with poll() under one deadline.
 */
#define _GNU_SOURCE
#include "core/files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"

/* Keeps the temporary name (".<name>." and mkstemp's six characters) under NAME_MAX. */
#define TMP_BASE_MAX 200
#define TMP_TRIES    100

/* The directory part of path ("." for a bare name), malloc'd, and the name. */
static int split_path(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    size_t dlen;
    if (!slash) {
        *base = path;
        *dir = strdup(".");
    } else {
        *base = slash + 1;
        dlen = slash == path ? 1 : (size_t)(slash - path); /* "/x" lives in "/" */
        *dir = strndup(path, dlen);
    }
    return *dir ? 0 : -ENOMEM;
}

/* A symbolic link's target, malloc'd; NULL when path is no link or dangles. */
static char *resolve_link(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
        return NULL;
    return realpath(path, NULL);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void random_suffix(char out[7], unsigned attempt)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[6];
    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        /* No entropy yet (early boot): O_EXCL still keeps this safe, and the
         * clock, pid and attempt make collisions unlikely. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x =
            (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ ((uint64_t)attempt * 0x9e3779b97f4a7c15u);
        for (size_t i = 0; i < sizeof(r); i++, x >>= 8)
            r[i] = (unsigned char)x;
    }
    for (size_t i = 0; i < sizeof(r); i++)
        out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    out[6] = '\0';
}

/* Creates "<dir>/.<base>.<six random characters>" (0644 minus the umask); *tmp is malloc'd. */
static int open_temp(const char *dir, const char *base, char **tmp)
{
    size_t blen = strnlen(base, TMP_BASE_MAX);
    size_t cap = strlen(dir) + blen + 16;
    char *name = malloc(cap);
    if (!name)
        return -ENOMEM;
    for (unsigned attempt = 0; attempt < TMP_TRIES; attempt++) {
        char suffix[7];
        random_suffix(suffix, attempt);
        snprintf(name, cap, "%s/.%.*s.%s", dir, (int)blen, base, suffix);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            *tmp = name;
            return fd;
        }
        if (errno != EEXIST) {
            int rc = -errno;
            free(name);
            return rc;
        }
    }
    free(name);
    return -EEXIST;
}

static int write_in_place(const char *target, const char *path, const void *data, size_t len,
                          struct pk_err *e)
{
    int fd = open(target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_errno(e, -errno, path, "cannot open for writing");
    int rc = write_all(fd, data, len);
    if (rc) {
        close(fd);
        return err_errno(e, rc, path, "cannot write");
    }
    if (close(fd) != 0)
        return err_errno(e, -errno, path, "cannot write");
    return 0;
}

int files_write_atomic(const char *path, const void *data, size_t len, struct pk_err *e)
{
    if (!path || !path[0])
        return err_set(e, -EINVAL, NULL, "cannot write file", "empty path");
    if (len > 0 && !data)
        return err_set(e, -EINVAL, path, "cannot write file", "no data");

    char *resolved = resolve_link(path);
    const char *target = resolved ? resolved : path;
    char *dir = NULL, *tmp = NULL;
    const char *base;
    int fd = -1, dfd = -1, rc;
    struct stat st;

    if (stat(target, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            rc = err_set(e, -EISDIR, path, "cannot write file", "it is a directory");
            goto out_free;
        }
        if (!S_ISREG(st.st_mode)) {
            rc = write_in_place(target, path, data, len, e);
            goto out_free;
        }
    }
    rc = split_path(target, &dir, &base);
    if (rc) {
        err_errno(e, rc, path, "cannot write file");
        goto out_free;
    }
    if (!base[0]) {
        rc = err_set(e, -EISDIR, path, "cannot write file", "the path names a directory");
        goto out_free;
    }
    fd = open_temp(dir, base, &tmp);
    if (fd < 0) {
        rc = err_set(e, fd, path, "cannot write file", "cannot create a temporary file in '%s': %s", dir,
                     strerror(-fd));
        goto out_free;
    }
    if ((rc = write_all(fd, data, len))) {
        err_errno(e, rc, path, "cannot write file");
        goto out_unlink;
    }
    if (fsync(fd) != 0) {
        rc = err_errno(e, -errno, path, "cannot write file (fsync)");
        goto out_unlink;
    }
    /* NFS and some FUSE file systems report write errors only here. */
    rc = close(fd);
    fd = -1;
    if (rc != 0) {
        rc = err_errno(e, -errno, path, "cannot write file");
        goto out_unlink;
    }
    if (rename(tmp, target) != 0) {
        rc = err_errno(e, -errno, path, "cannot replace file");
        goto out_unlink;
    }
    /* The rename is only durable once the directory entry is on disk. */
    rc = 0;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        int err = errno;
        /* Some file systems cannot fsync a directory; nothing more to do there. */
        if (err != EINVAL)
            rc = err_set(e, -err, path, "file written but not synced", "cannot fsync directory '%s': %s", dir,
                         strerror(err));
    }
    if (dfd >= 0)
        close(dfd);
    goto out_free;

out_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out_free:
    free(tmp);
    free(dir);
    free(resolved);
    return rc;
}

int files_check_writable(const char *path, struct pk_err *e)
{
    if (!path || !path[0])
        return err_set(e, -EINVAL, NULL, "cannot write file", "empty path");
    char *resolved = resolve_link(path);
    const char *target = resolved ? resolved : path;
    char *dir = NULL;
    const char *base;
    struct stat st;
    int rc = 0;

    if (stat(target, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            rc = err_set(e, -EISDIR, path, "cannot write file", "it is a directory");
            goto out;
        }
        if (!S_ISREG(st.st_mode)) { /* written in place: the device itself must be writable */
            if (access(target, W_OK) != 0)
                rc = err_errno(e, -errno, path, "cannot write file");
            goto out;
        }
    }
    if ((rc = split_path(target, &dir, &base))) {
        err_errno(e, rc, path, "cannot write file");
        goto out;
    }
    if (!base[0]) {
        rc = err_set(e, -EISDIR, path, "cannot write file", "the path names a directory");
        goto out;
    }
    if (stat(dir, &st) != 0) {
        rc = -errno;
        if (rc == -ENOENT)
            err_set(e, rc, path, "cannot write file", "directory '%s' does not exist", dir);
        else
            err_set(e, rc, path, "cannot write file", "directory '%s': %s", dir, strerror(-rc));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = err_set(e, -ENOTDIR, path, "cannot write file", "'%s' is not a directory", dir);
        goto out;
    }
    /* The atomic write creates its temporary file in dir: create and remove
     * one now. access(2) would tell root yes where nothing can be created
     * (/proc, a read-only mount). */
    char probe[PATH_MAX];
    if (snprintf(probe, sizeof(probe), "%s/.perfkit-probe.XXXXXX", dir) >= (int)sizeof(probe)) {
        rc = err_set(e, -ENAMETOOLONG, path, "cannot write file", "the path is too long");
        goto out;
    }
    int fd = mkstemp(probe);
    if (fd < 0) {
        rc = -errno;
        err_set(e, rc, path, "cannot write file", "directory '%s' is not writable: %s", dir, strerror(-rc));
        goto out;
    }
    close(fd);
    unlink(probe);
out:
    free(dir);
    free(resolved);
    return rc;
}

/* What a file that is not a regular one is called in messages. */
static const char *kind_of(mode_t mode)
{
    return S_ISFIFO(mode) ? "a FIFO or pipe" : S_ISCHR(mode) ? "a character device" : "not a regular file";
}

/*
 * Waits until fd (not a regular file) may have something to read, at most
 * until deadline_ms (clock_mono_ms's clock). A FIFO that no writer has
 * opened yet reports nothing to poll(), so this is where such a read waits.
 */
static int wait_readable(int fd, int64_t deadline_ms, mode_t mode, int wait_ms, const char *path,
                         struct pk_err *e)
{
    for (;;) {
        int64_t left = deadline_ms - clock_mono_ms();
        if (left <= 0)
            return err_set(e, -ETIMEDOUT, path, "cannot read file",
                           "%s that gave no end of data within %g s (is anything writing to it?)",
                           kind_of(mode), (double)wait_ms / 1000.0);
        struct pollfd pfd = { fd, POLLIN, 0 };
        int n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return err_errno(e, -errno, path, "cannot read file");
    }
}

int files_read_all(const char *path, size_t cap, char **out, size_t *len, struct pk_err *e)
{
    return files_read_all_within(path, cap, FILES_READ_WAIT_MS, out, len, e);
}

int files_read_all_within(const char *path, size_t cap, int wait_ms, char **out, size_t *len,
                          struct pk_err *e)
{
    if (!path || !path[0])
        return err_set(e, -EINVAL, NULL, "cannot read file", "empty path");
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait, without
     * a bound, for a writer to open it too */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return err_errno(e, -errno, path, "cannot read file");
    int64_t deadline = clock_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    char *buf = NULL;
    int rc;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = err_errno(e, -errno, path, "cannot read file");
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = err_set(e, -EISDIR, path, "cannot read file", "it is a directory");
        goto fail;
    }
    bool regular = S_ISREG(st.st_mode);
    /* limit + 1 bytes must fit with the NUL, to tell "exactly cap" from "more". */
    size_t limit = cap < SIZE_MAX - 2 ? cap : SIZE_MAX - 2;
    if (regular && (uintmax_t)st.st_size > limit)
        goto too_big;
    /* st_size is a hint only: /proc files say 0, and files grow. */
    size_t want = regular && st.st_size > 0 ? (size_t)st.st_size : 4094;
    size_t bufcap = (want < limit ? want : limit) + 2, used = 0;
    buf = malloc(bufcap);
    if (!buf) {
        rc = err_errno(e, -ENOMEM, path, "cannot read file");
        goto fail;
    }
    /* set once poll() said there is something: an end of data read then is
     * the real end (a device such as /dev/null, or a writer that left) */
    bool ready = false;
    for (;;) {
        if (used + 1 >= bufcap) {
            size_t ncap = bufcap > (limit + 2) / 2 ? limit + 2 : bufcap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = err_errno(e, -ENOMEM, path, "cannot read file");
                goto fail;
            }
            buf = nb;
            bufcap = ncap;
        }
        ssize_t n = read(fd, buf + used, bufcap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN) {
            rc = err_errno(e, -errno, path, "cannot read file");
            goto fail;
        }
        if (n > 0) {
            used += (size_t)n;
            if (used > limit)
                goto too_big;
            continue;
        }
        /* A FIFO that no writer has opened reads as empty: that is the end
         * only once data came or poll() reported the writer gone. */
        if (n == 0 && (regular || used > 0 || ready))
            break;
        if ((rc = wait_readable(fd, deadline, st.st_mode, wait_ms, path, e)) != 0)
            goto fail;
        ready = true;
    }
    close(fd);
    buf[used] = '\0';
    *out = buf;
    if (len)
        *len = used;
    return 0;

too_big:
    rc = err_set(e, -EFBIG, path, "file too large", "more than the limit of %zu bytes", cap);
fail:
    free(buf);
    close(fd);
    return rc;
}
