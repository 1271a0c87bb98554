#include "sys/fs.h"
#include "sys/sysfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/check.h"
#include "core/err.h"

/* A node with thousands of container mounts prints a few MiB of mountinfo. */
#define MOUNTS_CAP (64u << 20)
#define TABLE_CAP  (4u << 20)

/* ---- escapes and options ----------------------------------------------- */

static bool is_octal(char c)
{
    return c >= '0' && c <= '7';
}

size_t fs_unescape(const char *src, size_t len, char *dst)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\\' && len - i >= 4 && is_octal(src[i + 1]) && is_octal(src[i + 2]) &&
            is_octal(src[i + 3])) {
            int v = (src[i + 1] - '0') * 64 + (src[i + 2] - '0') * 8 + (src[i + 3] - '0');
            /* \000 would cut the C string short; no path holds a NUL anyway. */
            if (v > 0 && v <= 0377) {
                dst[n++] = (char)v;
                i += 3;
                continue;
            }
        }
        dst[n++] = src[i];
    }
    dst[n] = '\0';
    return n;
}

bool fs_opt_has(const char *opts, const char *name)
{
    size_t nlen = strlen(name);
    if (!opts || nlen == 0)
        return false;
    const char *p = opts;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len >= nlen && memcmp(p, name, nlen) == 0 && (len == nlen || p[nlen] == '='))
            return true;
        if (!comma)
            return false;
        p = comma + 1;
    }
}

bool fs_mount_readonly(const struct fs_mount *m)
{
    return fs_opt_has(m->mount_opts, "ro") || fs_opt_has(m->super_opts, "ro");
}

/* ---- node_exporter's filters -------------------------------------------- */

bool fs_fstype_ignored(const char *fstype)
{
    static const char *const pseudo[] = {
        "autofs",   "binfmt_misc", "bpf",     "cgroup",    "cgroup2",    "configfs",   "debugfs",
        "devpts",   "devtmpfs",    "fusectl", "hugetlbfs", "iso9660",    "mqueue",     "nsfs",
        "overlay",  "proc",        "procfs",  "pstore",    "rpc_pipefs", "securityfs", "selinuxfs",
        "squashfs", "erofs",       "sysfs",   "tracefs",
    };
    for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
        if (strcmp(fstype, pseudo[i]) == 0)
            return true;
    return false;
}

/* "/dev" and everything under it, but not "/devices". */
static bool is_tree(const char *mp, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(mp, dir, n) == 0 && (mp[n] == '\0' || mp[n] == '/');
}

/* Something below dir, not dir itself ("dir/.+" in the regex). */
static bool is_below(const char *mp, const char *dir_slash)
{
    size_t n = strlen(dir_slash);
    return strncmp(mp, dir_slash, n) == 0 && mp[n] != '\0';
}

bool fs_mountpoint_ignored(const char *mp)
{
    return is_tree(mp, "/dev") || is_tree(mp, "/proc") || is_tree(mp, "/sys") ||
           is_below(mp, "/run/credentials/") || is_below(mp, "/var/lib/docker/") ||
           is_below(mp, "/var/lib/containers/storage/");
}

bool fs_mount_ignored(const struct fs_mount *m)
{
    return fs_fstype_ignored(m->fstype) || fs_mountpoint_ignored(m->mountpoint);
}

/* ---- usage figures ------------------------------------------------------ */

double fs_size_bytes(const struct fs_usage *u)
{
    return (double)u->blocks * (double)u->bsize;
}

double fs_free_bytes(const struct fs_usage *u)
{
    return (double)u->bfree * (double)u->bsize;
}

double fs_avail_bytes(const struct fs_usage *u)
{
    return (double)u->bavail * (double)u->bsize;
}

double fs_used_pct(const struct fs_usage *u)
{
    uint64_t used = u->blocks > u->bfree ? u->blocks - u->bfree : 0;
    double denom = (double)used + (double)u->bavail;
    if (denom <= 0)
        return 0;
    double pct = 100.0 * (double)used / denom;
    return pct > 100 ? 100 : pct;
}

/* ---- parsing helpers ---------------------------------------------------- */

/* Where the strings of one parse go; sized so that it cannot overflow (see callers). */
struct arena {
    char *buf;
    size_t used, cap;
};

static const char *arena_put(struct arena *a, const char *s, size_t len, bool decode)
{
    /* the callers size the arena for every string of the buffer (mounts_alloc) */
    PK_ASSERT(a->used <= a->cap && a->cap - a->used >= len + 1);
    if (a->cap - a->used < len + 1)
        return NULL;
    char *dst = a->buf + a->used;
    if (decode) {
        a->used += fs_unescape(s, len, dst) + 1;
    } else {
        memcpy(dst, s, len);
        dst[len] = '\0';
        a->used += len + 1;
    }
    return dst;
}

static int reject(struct pk_err *e, const char *name, size_t line, const char *why)
{
    char on[64];
    snprintf(on, sizeof(on), "%s:%zu", name, line);
    return err_set(e, PK_EPARSE, on, "malformed line", "%s", why);
}

/* The next blank-separated token in [*p, end); false at the end. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *tlen)
{
    const char *s = *p;
    while (s < end && sysfile_is_blank(*s))
        s++;
    if (s == end)
        return false;
    const char *t = s;
    while (s < end && !sysfile_is_blank(*s))
        s++;
    *tok = t;
    *tlen = (size_t)(s - t);
    *p = s;
    return true;
}

static bool parse_uint_all(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    const char *p = s;
    return sysfile_parse_uint(&p, s + len, max, out) == 0 && p == s + len;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull;
}

/*
 * Marks repeats of (device, mountpoint, fstype) with a hash set: a node with
 * thousands of mounts would make the pairwise comparison quadratic.
 */
static int mark_dups(struct fs_mounts *m)
{
    if (m->n < 2)
        return 0;
    size_t size = 4;
    while (size < m->n * 2)
        size *= 2;
    size_t *slot = malloc(size * sizeof(*slot));
    if (!slot)
        return -ENOMEM;
    for (size_t i = 0; i < size; i++)
        slot[i] = SIZE_MAX;
    for (size_t i = 0; i < m->n; i++) {
        struct fs_mount *a = &m->v[i];
        uint64_t h =
            hash_str(hash_str(hash_str(1469598103934665603ull, a->device), a->mountpoint), a->fstype);
        for (size_t k = (size_t)h & (size - 1);; k = (k + 1) & (size - 1)) {
            if (slot[k] == SIZE_MAX) {
                slot[k] = i;
                break;
            }
            const struct fs_mount *b = &m->v[slot[k]];
            if (strcmp(a->mountpoint, b->mountpoint) == 0 && strcmp(a->device, b->device) == 0 &&
                strcmp(a->fstype, b->fstype) == 0) {
                a->dup = true;
                break;
            }
        }
    }
    free(slot);
    return 0;
}

void fs_mounts_destroy(struct fs_mounts *m)
{
    if (!m)
        return;
    free(m->v);
    free(m->arena_);
    memset(m, 0, sizeof(*m));
}

/*
 * Stored strings are each at most as long as their raw token, and every raw
 * token but the last on a line is followed by a separator, so len + 1 bytes
 * hold all of them.
 */
static int mounts_alloc(const char *buf, size_t len, struct fs_mounts *m, struct arena *a)
{
    memset(m, 0, sizeof(*m));
    size_t lines = sysfile_count_lines(buf, len);
    m->v = calloc(lines, sizeof(*m->v));
    a->buf = malloc(len + 1);
    a->used = 0;
    a->cap = len + 1;
    if (!m->v || !a->buf) {
        free(m->v);
        free(a->buf);
        m->v = NULL;
        return -ENOMEM;
    }
    m->arena_ = a->buf;
    return 0;
}

/*
 * One mountinfo line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
 * The kernel separates fields by one space and escapes blanks inside them, so
 * after " - " a double space is an empty source (mount -t tmpfs "" /mnt). Before
 * it, runs of blanks are taken as one: no field there is ever empty.
 */
static const char *mountinfo_line(const char *p, const char *end, struct arena *a, struct fs_mount *mt)
{
    const char *tok[6];
    size_t tlen[6];
    for (int i = 0; i < 6; i++)
        if (!next_token(&p, end, &tok[i], &tlen[i]))
            return "fewer than 10 fields";
    uint64_t id, major, minor;
    if (!parse_uint_all(tok[0], tlen[0], UINT32_MAX, &id) ||
        !parse_uint_all(tok[1], tlen[1], UINT32_MAX, &id))
        return "mount ids are not numbers";
    const char *colon = memchr(tok[2], ':', tlen[2]);
    if (!colon || !parse_uint_all(tok[2], (size_t)(colon - tok[2]), UINT32_MAX, &major) ||
        !parse_uint_all(colon + 1, tlen[2] - (size_t)(colon + 1 - tok[2]), UINT32_MAX, &minor))
        return "device number is not major:minor";

    /* optional fields ("shared:1", "master:2", ...) up to the "-" separator */
    const char *t;
    size_t n;
    for (;;) {
        if (!next_token(&p, end, &t, &n))
            return "no \" - \" separator";
        if (n == 1 && t[0] == '-')
            break;
    }
    if (p == end || *p != ' ')
        return "nothing after the separator";
    p++;
    const char *fstype = p;
    while (p < end && *p != ' ')
        p++;
    size_t fslen = (size_t)(p - fstype);
    if (fslen == 0 || p == end)
        return "no filesystem type and source";
    p++;
    const char *src = p;
    while (p < end && *p != ' ')
        p++;
    size_t srclen = (size_t)(p - src);
    if (p == end)
        return "no super options";
    p++;
    const char *sopt = p;
    size_t soptlen = (size_t)(end - p);
    if (soptlen == 0 || memchr(sopt, ' ', soptlen) || memchr(sopt, '\t', soptlen))
        return "super options missing or not one field";

    mt->major = (unsigned)major;
    mt->minor = (unsigned)minor;
    mt->root = arena_put(a, tok[3], tlen[3], true);
    mt->mountpoint = arena_put(a, tok[4], tlen[4], true);
    mt->mount_opts = arena_put(a, tok[5], tlen[5], false);
    mt->fstype = arena_put(a, fstype, fslen, false);
    mt->device = arena_put(a, src, srclen, true);
    mt->super_opts = arena_put(a, sopt, soptlen, false);
    if (!mt->root || !mt->mountpoint || !mt->mount_opts || !mt->fstype || !mt->device || !mt->super_opts)
        return "line longer than the table"; /* cannot happen: see mounts_alloc */
    return NULL;
}

/*
 * /proc/mounts: "source mountpoint fstype options dump pass", one space
 * apart; the source may be empty, dump and pass may be missing (fstab style).
 */
static const char *mounts_line(const char *p, const char *end, struct arena *a, struct fs_mount *mt)
{
    const char *f[6];
    size_t flen[6];
    int nf = 0;
    for (;;) {
        const char *s = p;
        while (p < end && *p != ' ')
            p++;
        if (nf == 6)
            return "more than 6 fields";
        f[nf] = s;
        flen[nf] = (size_t)(p - s);
        nf++;
        if (p == end)
            break;
        p++;
    }
    if (nf != 4 && nf != 6)
        return "not 4 or 6 fields";
    for (int i = 1; i < nf; i++)
        if (flen[i] == 0)
            return "empty field";
    uint64_t v;
    if (nf == 6 &&
        (!parse_uint_all(f[4], flen[4], INT_MAX, &v) || !parse_uint_all(f[5], flen[5], INT_MAX, &v)))
        return "dump and pass are not numbers";
    mt->device = arena_put(a, f[0], flen[0], true);
    mt->mountpoint = arena_put(a, f[1], flen[1], true);
    mt->fstype = arena_put(a, f[2], flen[2], false);
    mt->mount_opts = arena_put(a, f[3], flen[3], false);
    mt->super_opts = "";
    mt->root = "";
    if (!mt->device || !mt->mountpoint || !mt->fstype || !mt->mount_opts)
        return "line longer than the table";
    return NULL;
}

typedef const char *(*line_fn)(const char *p, const char *end, struct arena *a, struct fs_mount *mt);

static int parse_table_of_mounts(const char *buf, size_t len, struct fs_mounts *m, struct pk_err *e,
                                 const char *name, line_fn fn)
{
    struct arena a;
    int rc = mounts_alloc(buf, len, m, &a);
    if (rc < 0)
        return err_errno(e, rc, name, "cannot parse mount table");
    struct sysfile_lines it;
    const char *p, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &p, &eol)) {
        const char *le = p + sysfile_rtrim_len(p, (size_t)(eol - p));
        const char *s = p;
        while (s < le && sysfile_is_blank(*s))
            s++;
        if (s < le && memchr(s, '\0', (size_t)(le - s))) {
            fs_mounts_destroy(m);
            return reject(e, name, it.no, "NUL byte in the line");
        }
        if (s < le) {
            PK_ASSERT(m->n < it.no); /* one entry per line at most: m->v has one per line */
            struct fs_mount *mt = &m->v[m->n];
            memset(mt, 0, sizeof(*mt));
            /* /proc/mounts keeps a leading space: it is an empty source, not indentation. */
            const char *why = fn(fn == mounts_line ? p : s, le, &a, mt);
            if (why) {
                fs_mounts_destroy(m);
                return reject(e, name, it.no, why);
            }
            mt->ignored = fs_mount_ignored(mt);
            m->n++;
        }
    }
    rc = mark_dups(m);
    if (rc < 0) {
        fs_mounts_destroy(m);
        return err_errno(e, rc, name, "cannot parse mount table");
    }
    return 0;
}

int fs_parse_mountinfo(const char *buf, size_t len, struct fs_mounts *m, struct pk_err *e)
{
    return parse_table_of_mounts(buf, len, m, e, "mountinfo", mountinfo_line);
}

int fs_parse_mounts(const char *buf, size_t len, struct fs_mounts *m, struct pk_err *e)
{
    return parse_table_of_mounts(buf, len, m, e, "mounts", mounts_line);
}

/* ---- recorded usage ----------------------------------------------------- */

void fs_table_destroy(struct fs_table *t)
{
    if (!t)
        return;
    free(t->v);
    free(t->arena_);
    memset(t, 0, sizeof(*t));
}

const struct fs_table_row *fs_table_find(const struct fs_table *t, const char *mountpoint)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].mountpoint, mountpoint) == 0)
            return &t->v[i];
    return NULL;
}

static const char *table_line(const char *p, const char *end, struct arena *a, struct fs_table_row *r)
{
    const char *tab = memchr(p, '\t', (size_t)(end - p));
    if (!tab || tab == p)
        return "no mount point before a tab";
    uint64_t v[6];
    const char *q = tab;
    for (int i = 0; i < 6; i++) {
        if (q == end || *q != '\t')
            return "fewer than 7 tab-separated fields";
        q++;
        if (sysfile_parse_uint(&q, end, UINT64_MAX, &v[i]) != 0)
            return "a count is not a number";
    }
    if (q != end)
        return "more than 7 fields";
    r->mountpoint = arena_put(a, p, (size_t)(tab - p), true);
    if (!r->mountpoint)
        return "line longer than the table";
    r->u = (struct fs_usage){ v[0], v[1], v[2], v[3], v[4], v[5], false };
    return NULL;
}

int fs_parse_table(const char *buf, size_t len, struct fs_table *t, struct pk_err *e)
{
    memset(t, 0, sizeof(*t));
    t->v = calloc(sysfile_count_lines(buf, len), sizeof(*t->v));
    struct arena a = { malloc(len + 1), 0, len + 1 };
    if (!t->v || !a.buf) {
        free(t->v);
        free(a.buf);
        t->v = NULL;
        return err_errno(e, -ENOMEM, "statvfs.tsv", "cannot parse usage table");
    }
    t->arena_ = a.buf;
    struct sysfile_lines it;
    const char *p, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &p, &eol)) {
        /* only "\r" is trimmed: a mount point may end in a blank (escaped, but still) */
        const char *le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (le > p && *p != '#') {
            PK_ASSERT(t->n < it.no); /* t->v has one row per line */
            const char *why = memchr(p, '\0', (size_t)(le - p)) ? "NUL byte in the line"
                                                                : table_line(p, le, &a, &t->v[t->n]);
            if (why) {
                fs_table_destroy(t);
                return reject(e, "statvfs.tsv", it.no, why);
            }
            t->n++;
        }
    }
    return 0;
}

int fs_table_read(const char *path, struct fs_table *t, struct pk_err *e)
{
    memset(t, 0, sizeof(*t));
    char *buf = NULL;
    size_t n = 0;
    int rc = sysfile_read_alloc(AT_FDCWD, path, TABLE_CAP, &buf, &n);
    if (rc < 0)
        return err_errno(e, rc, path, "cannot read usage table");
    rc = fs_parse_table(buf, n, t, e);
    free(buf);
    if (rc < 0 && e && rc == PK_EPARSE) {
        /* "statvfs.tsv:3" -> "<path>:3" */
        const char *colon = strrchr(e->on, ':');
        char on[sizeof(e->on)];
        snprintf(on, sizeof(on), "%s%s", path, colon ? colon : "");
        memcpy(e->on, on, sizeof(on));
    }
    return rc;
}

/* ---- readers ------------------------------------------------------------ */

static bool is_missing(int rc)
{
    return rc == -ENOENT || rc == -ENOTDIR || rc == -EACCES || rc == -ESRCH || rc == -EPERM;
}

/* The mount tables to try, in order, and their formats. */
struct table_tries {
    char rel[64];
    const char *v[3];
    int start;
};

static int tries_init(struct table_tries *t, const char *pid, struct pk_err *e)
{
    if (!pid || !*pid)
        pid = "self";
    if (strchr(pid, '/') || strcmp(pid, "..") == 0 || strcmp(pid, ".") == 0)
        return err_set(e, -EINVAL, pid, "not a process id", NULL);
    snprintf(t->rel, sizeof(t->rel), "%s/mountinfo", pid);
    /* hidepid=2 hides /proc/1 from an unprivileged agent; its own table is the next best */
    t->v[0] = t->rel;
    t->v[1] = "self/mountinfo";
    t->v[2] = "mounts";
    t->start = strcmp(pid, "self") == 0 ? 1 : 0;
    return 0;
}

/* The first table of t that can be opened: its fd (caller closes) and index in *which. */
static int open_table(const char *procfs, const struct table_tries *t, int *which, struct pk_err *e)
{
    int procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return err_errno(e, -errno, procfs, "cannot open procfs root");
    int rc = -ENOENT, fd = -1;
    for (int i = t->start; i < 3; i++) {
        fd = openat(procfd, t->v[i], O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            *which = i;
            break;
        }
        rc = -errno;
        if (!is_missing(rc))
            break;
    }
    close(procfd);
    if (fd < 0)
        return err_errno(e, rc, procfs,
                         is_missing(rc) ? "no mount table (mountinfo or mounts)" : "cannot read mount table");
    return fd;
}

/* All of fd from offset 0 (pread: a kept procfs file is generated afresh) into a malloc'd buffer. */
static int read_table(int fd, char **out, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap == MOUNTS_CAP) {
                while (n > 0 && buf[n - 1] != '\n')
                    n--;
                break;
            }
            size_t ncap = cap * 2 > MOUNTS_CAP ? MOUNTS_CAP : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = pread(fd, buf + n, cap - n, (off_t)n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            free(buf);
            return rc;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Reads and parses the table open on fd (t->v[which]); with raw, its bytes are kept there (caller frees). */
static int parse_table_fd(int fd, const char *procfs, const struct table_tries *t, int which,
                          struct fs_mounts *m, char **raw, size_t *rawlen, struct pk_err *e)
{
    char *buf = NULL;
    size_t n = 0;
    int rc = read_table(fd, &buf, &n);
    if (rc < 0) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", procfs, t->v[which]);
        return err_errno(e, rc, path, "cannot read mount table");
    }
    if (which < 2)
        rc = fs_parse_mountinfo(buf, n, m, e);
    else
        rc = fs_parse_mounts(buf, n, m, e);
    if (raw && rc == 0) {
        *raw = buf;
        *rawlen = n;
    } else {
        free(buf);
    }
    if (rc < 0 && rc == PK_EPARSE && e) {
        /* name the file that was read: "<procfs>/1/mountinfo:7" */
        char prefix[sizeof(e->on)];
        const char *colon = strrchr(e->on, ':');
        snprintf(prefix, sizeof(prefix), "%s/%s%s", procfs, t->v[which], colon ? colon : "");
        memcpy(e->on, prefix, sizeof(prefix));
    }
    return rc;
}

int fs_mounts_read(const char *procfs, const char *pid, struct fs_mounts *m, struct pk_err *e)
{
    memset(m, 0, sizeof(*m));
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    struct table_tries t;
    int rc = tries_init(&t, pid, e);
    if (rc < 0)
        return rc;
    int which = 0;
    int fd = open_table(procfs, &t, &which, e);
    if (fd < 0)
        return fd;
    rc = parse_table_fd(fd, procfs, &t, which, m, NULL, NULL, e);
    close(fd);
    return rc;
}

/*
 * Usage of every mount neither ignored nor dup, from o's table or pool (on
 * this thread for the mounts inl marks: fs_mount_statfs_inline). With
 * flips, counts the mounts whose statvfs read-only flag differs from what
 * the previous fill of the same table found.
 */
static int fill_usage(struct fs_mounts *m, const struct fs_options *o, const bool *inl, size_t *flips)
{
    const char *rootfs = o->rootfs ? o->rootfs : "";
    size_t rlen = strlen(rootfs);
    /* "/host/" + "/mnt" must not become "/host//mnt" (harmless, but it shows in messages) */
    while (rlen > 0 && rootfs[rlen - 1] == '/')
        rlen--;
    if (flips)
        *flips = 0;
    size_t nask = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct fs_mount *mt = &m->v[i];
        if (mt->ignored || mt->dup)
            continue;
        if (o->table) {
            const struct fs_table_row *r = fs_table_find(o->table, mt->mountpoint);
            mt->usage_known = r != NULL;
            mt->usage_err = r ? 0 : -ENOENT;
            memset(&mt->usage, 0, sizeof(mt->usage));
            if (r)
                mt->usage = r->u;
        } else if (o->pool) {
            nask++;
        } else {
            mt->usage_known = false;
            mt->usage_err = -ENOTSUP;
            memset(&mt->usage, 0, sizeof(mt->usage));
        }
    }
    if (nask == 0)
        return 0;
    /* One job for the pool: a sample costs one hand-off, whatever the number of mounts. */
    struct ask {
        struct fs_mount *mt;
        bool was_known, was_ro;
        char path[PATH_MAX];
    } *ask = malloc(nask * sizeof(*ask));
    const char **pv = calloc(nask, sizeof(*pv));
    struct fs_usage *outs = malloc(nask * sizeof(*outs));
    int *rcs = malloc(nask * sizeof(*rcs));
    int ret = 0;
    if (!ask || !pv || !outs || !rcs) {
        ret = -ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct fs_mount *mt = &m->v[i];
        if (mt->ignored || mt->dup)
            continue;
        struct ask *a = &ask[k];
        a->mt = mt;
        a->was_known = mt->usage_known;
        a->was_ro = mt->usage.rdonly;
        mt->usage_known = false;
        memset(&mt->usage, 0, sizeof(mt->usage));
        int w = snprintf(a->path, sizeof(a->path), "%.*s%s", (int)rlen, rootfs, mt->mountpoint);
        if (w < 0 || (size_t)w >= sizeof(a->path)) {
            mt->usage_err = -ENAMETOOLONG;
            continue;
        }
        if (inl && inl[i]) {
            /* cannot hang: asked right here, without a hand-off */
            struct fs_usage u;
            memset(&u, 0, sizeof(u));
            int rc = fs_pool_statvfs_fn(a->path, &u, NULL);
            mt->usage_known = rc == 0;
            mt->usage_err = rc;
            if (rc == 0) {
                mt->usage = u;
                if (flips && a->was_known && a->was_ro != u.rdonly)
                    (*flips)++;
            }
            continue;
        }
        pv[k++] = a->path;
    }
    fs_pool_statvfs_many(o->pool, pv, k, outs, rcs);
    for (size_t j = 0; j < k; j++) {
        struct fs_mount *mt = ask[j].mt;
        mt->usage_known = rcs[j] == 0;
        mt->usage_err = rcs[j];
        if (rcs[j] != 0)
            continue;
        mt->usage = outs[j];
        if (flips && ask[j].was_known && ask[j].was_ro != mt->usage.rdonly)
            (*flips)++;
    }
out:
    free(ask);
    free(pv);
    free(outs);
    free(rcs);
    return ret;
}

int fs_read(const char *procfs, const struct fs_options *o, struct fs_mounts *m, struct pk_err *e)
{
    static const struct fs_options none;
    if (!o)
        o = &none;
    int rc = fs_mounts_read(procfs, o->pid, m, e);
    if (rc < 0)
        return rc;
    rc = fill_usage(m, o, NULL, NULL);
    if (rc < 0) {
        fs_mounts_destroy(m);
        return err_errno(e, rc, procfs, "cannot read filesystem usage");
    }
    return 0;
}

/* ---- statfs on the caller's thread ------------------------------------- */

/*
 * Filesystems whose statfs reads counters kept in memory, taking no lock a
 * stuck device or server could hold: it cannot hang, so it needs no worker
 * (the hand-off costs more than the call). Not btrfs (its statfs takes the
 * chunk mutex), not vfat (it may count free clusters on the disk), nothing
 * networked or in user space (nfs, cifs, fuse).
 */
static bool statfs_cannot_hang(const struct fs_mount *mt)
{
    static const char *const safe[] = { "ext2", "ext3", "ext4", "xfs", "tmpfs", "ramfs" };
    /* project quotas make ext4 and xfs report the directory's quota, read through the quota file */
    if (fs_opt_has(mt->mount_opts, "prjquota") || fs_opt_has(mt->super_opts, "prjquota") ||
        fs_opt_has(mt->super_opts, "pquota") || fs_opt_has(mt->super_opts, "pqnoenforce"))
        return false;
    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (strcmp(mt->fstype, safe[i]) == 0)
            return true;
    return false;
}

/* Whether the mount at `at` is inside the mount at dir: dir is "/", or at is dir or below it. */
static bool path_within(const char *at, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return at[0] == '/';
    return strncmp(at, dir, n) == 0 && (at[n] == '\0' || at[n] == '/');
}

bool fs_mount_statfs_inline(const struct fs_mounts *m, size_t i)
{
    if (i >= m->n)
        return false;
    /* statvfs walks the path from "/": every mount it crosses must be as safe (an nfs or
     * autofs directory above would stall the walk itself) */
    const char *at = m->v[i].mountpoint;
    for (size_t j = 0; j < m->n; j++)
        if (path_within(at, m->v[j].mountpoint) && !statfs_cannot_hang(&m->v[j]))
            return false;
    return true;
}

/* ---- the kept table ----------------------------------------------------- */

void fs_watch_init(struct fs_watch *w)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->fd_set = true;
}

void fs_watch_destroy(struct fs_watch *w)
{
    if (!w)
        return;
    if (w->fd_set && w->fd >= 0)
        close(w->fd);
    fs_mounts_destroy(&w->m);
    free(w->inl);
    fs_watch_init(w);
}

static void watch_drop(struct fs_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->valid = false;
    fs_mounts_destroy(&w->m);
    free(w->inl);
    w->inl = NULL;
}

/*
 * Whether the table opened as t->v[which], whose bytes are raw, is this
 * process' own mount namespace: only then do the types it lists say what
 * statvfs of a mount point will walk through here (an agent in a container
 * of its own would reach other mounts by those paths). Another process'
 * table is compared with ours byte for byte (mount ids included, which no
 * two namespaces share): its ns/mnt link is not readable without ptrace
 * rights, which an unprivileged agent lacks for pid 1.
 */
static bool own_namespace(const char *procfs, const struct table_tries *t, int which, const char *raw,
                          size_t rawlen)
{
    if (which > 0 || t->start > 0)
        return true; /* self's mountinfo, or mounts (self's too) */
    int procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return false;
    char *ours = NULL;
    size_t n = 0;
    bool same = sysfile_read_alloc(procfd, "self/mountinfo", MOUNTS_CAP, &ours, &n) == 0 && n == rawlen &&
                memcmp(ours, raw, n) == 0;
    free(ours);
    close(procfd);
    return same;
}

/* Whether the kept table still describes the mounts (no event since it was read). */
static bool watch_fresh(struct fs_watch *w)
{
    if (!w->valid || w->fd < 0 || w->reads >= FS_WATCH_REFRESH)
        return false;
    /* mountinfo signals a changed namespace with POLLPRI (and POLLERR); POLLIN is always set */
    struct pollfd pfd = { w->fd, POLLPRI, 0 };
    int r = poll(&pfd, 1, 0);
    return r == 0;
}

static bool kernel_file(int fd)
{
    struct statfs sf;
    return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

/* (Re)reads the table into w: through the kept descriptor, else opened anew. */
static int watch_load(struct fs_watch *w, const char *procfs, const char *pid, struct pk_err *e)
{
    struct table_tries t;
    int rc = tries_init(&t, pid, e);
    if (rc < 0)
        return rc;
    int fd = w->fd, which = w->which;
    /* Read the poll event before the table, so a change while it is read is seen next time. */
    if (fd >= 0) {
        struct pollfd pfd = { fd, POLLPRI, 0 };
        (void)poll(&pfd, 1, 0);
    }
    if (fd < 0 && (fd = open_table(procfs, &t, &which, e)) < 0)
        return fd;
    struct fs_mounts m;
    memset(&m, 0, sizeof(m));
    char *raw = NULL;
    size_t rawlen = 0;
    rc = parse_table_fd(fd, procfs, &t, which, &m, &raw, &rawlen, e);
    if (rc < 0) {
        if (fd != w->fd)
            close(fd);
        watch_drop(w);
        return rc;
    }
    fs_mounts_destroy(&w->m);
    w->m = m;
    w->valid = true;
    w->reads = 0;
    if (fd != w->fd) {
        if (w->fd >= 0)
            close(w->fd);
        /* Only the kernel's table can be kept and polled; a fixture file is read every time. */
        w->fd = kernel_file(fd) ? fd : -1;
        w->which = which;
        if (w->fd < 0)
            close(fd);
    }
    /* asked again with each new table: namespaces do not change, but the comparison is of contents */
    w->own_ns = w->fd >= 0 && own_namespace(procfs, &t, which, raw, rawlen);
    free(raw);
    /* the mounts whose statfs runs here rather than on a worker (none if that cannot be told) */
    free(w->inl);
    w->inl = w->own_ns && w->m.n ? calloc(w->m.n, sizeof(*w->inl)) : NULL;
    for (size_t i = 0; w->inl && i < w->m.n; i++)
        w->inl[i] = fs_mount_statfs_inline(&w->m, i);
    return 0;
}

int fs_watch_read(struct fs_watch *w, const char *procfs, const struct fs_options *o,
                  const struct fs_mounts **out, struct pk_err *e)
{
    static const struct fs_options none;
    if (!o)
        o = &none;
    *out = NULL;
    PK_ASSERT(w->fd_set); /* fs_watch_init ran: fd 0 of a zeroed watch would be read as the table */
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    for (int round = 0;; round++) {
        int rc;
        if (!watch_fresh(w) && (rc = watch_load(w, procfs, o->pid, e)) < 0)
            return rc;
        w->reads++;
        size_t flips = 0;
        rc = fill_usage(&w->m, o, o->rootfs && o->rootfs[0] ? NULL : w->inl, &flips);
        if (rc < 0)
            return err_errno(e, rc, procfs, "cannot read filesystem usage");
        /*
         * A mount whose statvfs read-only flag flipped since the last read of
         * this table was remounted, or its filesystem turned itself read-only
         * after an error, which does not always bump the namespace's event:
         * the table is read again at once, so the sample says so.
         */
        if (flips == 0 || round == 1)
            break;
        w->valid = false;
    }
    *out = &w->m;
    return 0;
}
