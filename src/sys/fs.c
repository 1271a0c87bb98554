#include "sys/fs.h"
#include "sys/sysfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

/* A node with thousands of container mounts prints a few MiB of mountinfo. */
#define MOUNTS_CAP (64u << 20)
#define TABLE_CAP (4u << 20)

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
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
        "devtmpfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc",
        "procfs", "pstore", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "erofs",
        "sysfs", "tracefs",
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

static size_t count_lines(const char *buf, size_t len)
{
    size_t n = 1;
    for (const char *p = buf, *end = buf + len; p < end; p++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p)
            break;
        n++;
    }
    return n;
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
        uint64_t h = hash_str(hash_str(hash_str(1469598103934665603ull, a->device), a->mountpoint),
                              a->fstype);
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
    size_t lines = count_lines(buf, len);
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
    if (!parse_uint_all(tok[0], tlen[0], UINT32_MAX, &id) || !parse_uint_all(tok[1], tlen[1], UINT32_MAX, &id))
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
    if (nf == 6 && (!parse_uint_all(f[4], flen[4], INT_MAX, &v) || !parse_uint_all(f[5], flen[5], INT_MAX, &v)))
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
    const char *p = buf, *end = buf + len;
    size_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        line++;
        const char *le = p + sysfile_rtrim_len(p, (size_t)(eol - p));
        const char *s = p;
        while (s < le && sysfile_is_blank(*s))
            s++;
        if (s < le && memchr(s, '\0', (size_t)(le - s))) {
            fs_mounts_destroy(m);
            return reject(e, name, line, "NUL byte in the line");
        }
        if (s < le) {
            struct fs_mount *mt = &m->v[m->n];
            memset(mt, 0, sizeof(*mt));
            /* /proc/mounts keeps a leading space: it is an empty source, not indentation. */
            const char *why = fn(fn == mounts_line ? p : s, le, &a, mt);
            if (why) {
                fs_mounts_destroy(m);
                return reject(e, name, line, why);
            }
            mt->ignored = fs_mount_ignored(mt);
            m->n++;
        }
        p = nl ? nl + 1 : end;
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
    r->u = (struct fs_usage){ v[0], v[1], v[2], v[3], v[4], v[5] };
    return NULL;
}

int fs_parse_table(const char *buf, size_t len, struct fs_table *t, struct pk_err *e)
{
    memset(t, 0, sizeof(*t));
    t->v = calloc(count_lines(buf, len), sizeof(*t->v));
    struct arena a = { malloc(len + 1), 0, len + 1 };
    if (!t->v || !a.buf) {
        free(t->v);
        free(a.buf);
        t->v = NULL;
        return err_errno(e, -ENOMEM, "statvfs.tsv", "cannot parse usage table");
    }
    t->arena_ = a.buf;
    const char *p = buf, *end = buf + len;
    size_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        line++;
        /* only "\r" is trimmed: a mount point may end in a blank (escaped, but still) */
        const char *le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (le > p && *p != '#') {
            const char *why = memchr(p, '\0', (size_t)(le - p)) ? "NUL byte in the line"
                                                                 : table_line(p, le, &a, &t->v[t->n]);
            if (why) {
                fs_table_destroy(t);
                return reject(e, "statvfs.tsv", line, why);
            }
            t->n++;
        }
        p = nl ? nl + 1 : end;
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

/* ---- the worker pool ---------------------------------------------------- */

/*
 * Shared by the caller and its worker; whichever lets go last frees it, so a
 * worker that returns after its caller gave up (or after the pool is gone)
 * needs nothing but this.
 */
struct fs_call {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    bool done;
    int rc;
    struct fs_usage u;
    fs_stat_fn fn;
    void *arg;
    char path[];
};

static void call_put(struct fs_call *c)
{
    pthread_mutex_lock(&c->lock);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (last) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
    }
}

static bool call_done(struct fs_call *c)
{
    pthread_mutex_lock(&c->lock);
    bool done = c->done;
    pthread_mutex_unlock(&c->lock);
    return done;
}

static void *call_run(void *arg)
{
    struct fs_call *c = arg;
    struct fs_usage u;
    memset(&u, 0, sizeof(u));
    int rc = c->fn(c->path, &u, c->arg);
    pthread_mutex_lock(&c->lock);
    c->rc = rc;
    c->u = u;
    c->done = true;
    pthread_cond_signal(&c->cond);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (last) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
    }
    return NULL;
}

static struct fs_call *call_new(const char *path, fs_stat_fn fn, void *arg)
{
    size_t plen = strlen(path);
    struct fs_call *c = calloc(1, sizeof(*c) + plen + 1);
    if (!c)
        return NULL;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        free(c);
        return NULL;
    }
    /* The timeout must not stretch or shrink when the wall clock is set. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int r = pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (r != 0) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->refs = 2;
    c->fn = fn;
    c->arg = arg;
    memcpy(c->path, path, plen + 1);
    return c;
}

/*
 * Detached, with every signal blocked: a worker stuck in the kernel must not
 * be the thread that receives the caller's SIGINT or SIGTERM.
 */
static int call_start(struct fs_call *c)
{
    pthread_attr_t attr;
    int r = pthread_attr_init(&attr);
    if (r != 0)
        return -r;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    r = pthread_create(&t, &attr, call_run, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return -r;
}

/* Forgets stuck calls that have returned since: their mount points may be asked again. */
static void sweep(struct fs_pool *p)
{
    size_t k = 0;
    for (size_t i = 0; i < p->nstuck; i++) {
        if (call_done(p->stuck[i]))
            call_put(p->stuck[i]);
        else
            p->stuck[k++] = p->stuck[i];
    }
    p->nstuck = k;
}

int fs_pool_init(struct fs_pool *p, int timeout_ms, unsigned max_threads)
{
    memset(p, 0, sizeof(*p));
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : FS_DEFAULT_TIMEOUT_MS;
    p->max_threads = max_threads > 0 ? max_threads : FS_DEFAULT_MAX_THREADS;
    /* one slot per possible worker, so that recording a stuck call never allocates */
    p->stuck = calloc(p->max_threads, sizeof(*p->stuck));
    if (!p->stuck)
        return -ENOMEM;
    int r = pthread_mutex_init(&p->lock, NULL);
    if (r != 0) {
        free(p->stuck);
        p->stuck = NULL;
        return -r;
    }
    return 0;
}

void fs_pool_destroy(struct fs_pool *p)
{
    if (!p || !p->stuck)
        return;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nstuck; i++)
        call_put(p->stuck[i]);
    free(p->stuck);
    p->stuck = NULL;
    p->nstuck = 0;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
}

size_t fs_pool_stuck(struct fs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    sweep(p);
    size_t n = p->nstuck;
    pthread_mutex_unlock(&p->lock);
    return n;
}

int fs_pool_call(struct fs_pool *p, const char *path, fs_stat_fn fn, void *arg, struct fs_usage *out)
{
    pthread_mutex_lock(&p->lock);
    sweep(p);
    for (size_t i = 0; i < p->nstuck; i++) {
        if (strcmp(p->stuck[i]->path, path) == 0) {
            pthread_mutex_unlock(&p->lock);
            return -EALREADY;
        }
    }
    if (p->inflight + p->nstuck >= p->max_threads) {
        pthread_mutex_unlock(&p->lock);
        return -EAGAIN;
    }
    p->inflight++;
    pthread_mutex_unlock(&p->lock);

    int rc;
    bool done = true;
    struct fs_call *c = call_new(path, fn, arg);
    if (!c) {
        rc = -ENOMEM;
        goto out;
    }
    rc = call_start(c);
    if (rc < 0) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        c = NULL;
        goto out;
    }

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += p->timeout_ms / 1000;
    deadline.tv_nsec += (long)(p->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    while (!c->done)
        if (pthread_cond_timedwait(&c->cond, &c->lock, &deadline) == ETIMEDOUT)
            break;
    done = c->done;
    if (done) {
        rc = c->rc;
        if (rc == 0)
            *out = c->u;
    }
    pthread_mutex_unlock(&c->lock);

out:
    pthread_mutex_lock(&p->lock);
    p->inflight--;
    if (!done) {
        /* inflight + nstuck was below max_threads when this call started, so a slot is free */
        p->stuck[p->nstuck++] = c;
        rc = -ETIMEDOUT;
    }
    pthread_mutex_unlock(&p->lock);
    if (done && c)
        call_put(c);
    return rc;
}

static int statvfs_fn(const char *path, struct fs_usage *out, void *arg)
{
    (void)arg;
    struct statvfs s;
    if (statvfs(path, &s) != 0)
        return -errno;
    /* f_bsize, as node_exporter multiplies by (statfs' Bsize); equal to f_frsize on Linux filesystems */
    out->bsize = s.f_bsize;
    out->blocks = s.f_blocks;
    out->bfree = s.f_bfree;
    out->bavail = s.f_bavail;
    out->files = s.f_files;
    out->ffree = s.f_ffree;
    return 0;
}

int fs_pool_statvfs(struct fs_pool *p, const char *path, struct fs_usage *out)
{
    return fs_pool_call(p, path, statvfs_fn, NULL, out);
}

/* ---- readers ------------------------------------------------------------ */

static bool is_missing(int rc)
{
    return rc == -ENOENT || rc == -ENOTDIR || rc == -EACCES || rc == -ESRCH || rc == -EPERM;
}

int fs_mounts_read(const char *procfs, const char *pid, struct fs_mounts *m, struct pk_err *e)
{
    memset(m, 0, sizeof(*m));
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    if (!pid || !*pid)
        pid = "self";
    if (strchr(pid, '/') || strcmp(pid, "..") == 0 || strcmp(pid, ".") == 0)
        return err_set(e, -EINVAL, pid, "not a process id", NULL);
    int procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return err_errno(e, -errno, procfs, "cannot open procfs root");

    char rel[64];
    snprintf(rel, sizeof(rel), "%s/mountinfo", pid);
    /* hidepid=2 hides /proc/1 from an unprivileged agent; its own table is the next best */
    const char *tries[3] = { rel, "self/mountinfo", "mounts" };
    int start = strcmp(pid, "self") == 0 ? 1 : 0;
    char *buf = NULL;
    size_t n = 0;
    int rc = -ENOENT, which = -1;
    for (int i = start; i < 3; i++) {
        rc = sysfile_read_alloc(procfd, tries[i], MOUNTS_CAP, &buf, &n);
        if (rc == 0) {
            which = i;
            break;
        }
        if (!is_missing(rc))
            break;
    }
    close(procfd);
    if (which < 0)
        return err_errno(e, rc, procfs, is_missing(rc) ? "no mount table (mountinfo or mounts)"
                                                        : "cannot read mount table");
    if (which < 2)
        rc = fs_parse_mountinfo(buf, n, m, e);
    else
        rc = fs_parse_mounts(buf, n, m, e);
    free(buf);
    if (rc < 0 && rc == PK_EPARSE && e) {
        /* name the file that was read: "<procfs>/1/mountinfo:7" */
        char prefix[sizeof(e->on)];
        const char *colon = strrchr(e->on, ':');
        snprintf(prefix, sizeof(prefix), "%s/%s%s", procfs, tries[which], colon ? colon : "");
        memcpy(e->on, prefix, sizeof(prefix));
    }
    return rc;
}

int fs_read(const char *procfs, const struct fs_options *o, struct fs_mounts *m, struct pk_err *e)
{
    static const struct fs_options none;
    if (!o)
        o = &none;
    int rc = fs_mounts_read(procfs, o->pid, m, e);
    if (rc < 0)
        return rc;
    const char *rootfs = o->rootfs ? o->rootfs : "";
    size_t rlen = strlen(rootfs);
    /* "/host/" + "/mnt" must not become "/host//mnt" (harmless, but it shows in messages) */
    while (rlen > 0 && rootfs[rlen - 1] == '/')
        rlen--;
    for (size_t i = 0; i < m->n; i++) {
        struct fs_mount *mt = &m->v[i];
        if (mt->ignored || mt->dup)
            continue;
        if (o->table) {
            const struct fs_table_row *r = fs_table_find(o->table, mt->mountpoint);
            mt->usage_known = r != NULL;
            mt->usage_err = r ? 0 : -ENOENT;
            if (r)
                mt->usage = r->u;
        } else if (o->pool) {
            char path[PATH_MAX];
            int w = snprintf(path, sizeof(path), "%.*s%s", (int)rlen, rootfs, mt->mountpoint);
            int r = w < 0 || (size_t)w >= sizeof(path) ? -ENAMETOOLONG
                                                        : fs_pool_statvfs(o->pool, path, &mt->usage);
            mt->usage_known = r == 0;
            mt->usage_err = r;
        } else {
            mt->usage_err = -ENOTSUP;
        }
    }
    return 0;
}
