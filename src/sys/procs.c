#define _GNU_SOURCE
#include "sys/procs.h"
#include "sys/sysfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/check.h"
#include "core/err.h"

/*
 * stat has 52 fields of at most 20 digits and a 64-byte comm: under 1.2 KiB.
 * limits is 17 fixed-width lines: about 1.4 KiB.
 */
#define STAT_CAP   4096
#define LIMITS_CAP 4096
/*
 * status grows with Cpus_allowed_list on large machines (tens of KiB with
 * 8192 CPUs), but the fields read here come in its first kilobyte; past the
 * cap the rest is ignored.
 */
#define STATUS_CAP 8192
/* The snapshot array starts here and doubles up to max_procs. */
#define SNAP_INITIAL 256

/* ---- parsers ------------------------------------------------------------ */

static void copy_bytes(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The next blank-separated token after at least one blank; false at the end. */
static bool next_field(const char **p, const char *end, const char **tok, size_t *toklen)
{
    const char *s = *p;
    if (s >= end || !sysfile_is_blank(*s))
        return false;
    while (s < end && sysfile_is_blank(*s))
        s++;
    const char *t = s;
    while (s < end && !sysfile_is_space(*s))
        s++;
    if (s == t)
        return false;
    *tok = t;
    *toklen = (size_t)(s - t);
    *p = s;
    return true;
}

/* A whole token as an unsigned number at most max. */
static int token_uint(const char *tok, size_t len, uint64_t max, uint64_t *out)
{
    const char *p = tok, *end = tok + len;
    if (sysfile_parse_uint(&p, end, max, out) != 0 || p != end)
        return PK_EPARSE;
    return 0;
}

int procs_parse_stat(const char *buf, size_t len, struct procs_stat *st)
{
    const char *p = buf, *end = buf + len;
    uint64_t v;
    struct procs_stat s;
    memset(&s, 0, sizeof(s));

    if (sysfile_parse_uint(&p, end, INT_MAX, &v) != 0)
        return PK_EPARSE;
    s.pid = (int)v;
    if (end - p < 2 || p[0] != ' ' || p[1] != '(')
        return PK_EPARSE;
    const char *comm = p + 2;
    /* comm may contain ")" and "(": only the last ')' closes it. */
    const char *close = comm <= end ? memrchr(comm, ')', (size_t)(end - comm)) : NULL;
    if (!close)
        return PK_EPARSE;
    copy_bytes(s.comm, sizeof(s.comm), comm, (size_t)(close - comm));
    p = close + 1;

    const char *tok;
    size_t tlen;
    /* field 3 */
    if (!next_field(&p, end, &tok, &tlen) || tlen != 1)
        return PK_EPARSE;
    s.state = tok[0];
    for (int field = 4; field <= 24; field++) {
        if (!next_field(&p, end, &tok, &tlen))
            return PK_EPARSE;
        uint64_t *dst = NULL, max = UINT64_MAX;
        switch (field) {
        case 4:
            dst = &v;
            max = INT_MAX;
            break;
        case 14: dst = &s.utime; break;
        case 15: dst = &s.stime; break;
        case 20:
            dst = &v;
            max = LONG_MAX;
            break;
        case 22: dst = &s.starttime; break;
        case 23: dst = &s.vsize; break;
        case 24: dst = &s.rss_pages; break;
        default: continue; /* fields not used here may be negative (tpgid, priority, nice) */
        }
        if (token_uint(tok, tlen, max, dst) != 0)
            return PK_EPARSE;
        if (field == 4)
            s.ppid = (int)v;
        else if (field == 20)
            s.threads = (long)v;
    }
    /* A number at the very end may have been cut: the kernel follows rss with more fields and '\n'. */
    if (p == end)
        return PK_EPARSE;
    /* Later fields are left alone: kernels keep appending them. */
    *st = s;
    return 0;
}

/* " 14056 kB" -> bytes. */
static int parse_kb(const char *v, const char *eol, uint64_t *bytes)
{
    const char *p = v;
    uint64_t kb;
    while (p < eol && sysfile_is_blank(*p))
        p++;
    if (sysfile_parse_uint(&p, eol, UINT64_MAX / 1024, &kb) != 0)
        return PK_EPARSE;
    while (p < eol && sysfile_is_blank(*p))
        p++;
    if (eol - p < 2 || p[0] != 'k' || p[1] != 'B' || sysfile_rtrim_len(p + 2, (size_t)(eol - p - 2)) != 0)
        return PK_EPARSE;
    *bytes = kb * 1024;
    return 0;
}

int procs_parse_status(const char *buf, size_t len, struct procs_status *st)
{
    struct procs_status s;
    memset(&s, 0, sizeof(s));
    s.threads = -1;
    bool have_name = false;
    struct sysfile_lines it;
    const char *p, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &p, &eol)) {
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            size_t klen = (size_t)(colon - p);
            const char *v = colon + 1;
            if (klen == 4 && memcmp(p, "Name", 4) == 0 && !have_name) {
                /* One tab follows the colon; the name itself may start with blanks. */
                if (v < eol && *v == '\t')
                    v++;
                copy_bytes(s.name, sizeof(s.name), v, (size_t)(eol - v));
                have_name = true;
            } else if (klen == 7 && memcmp(p, "Threads", 7) == 0) {
                uint64_t t;
                while (v < eol && sysfile_is_blank(*v))
                    v++;
                if (sysfile_parse_uint(&v, eol, LONG_MAX, &t) != 0 ||
                    sysfile_rtrim_len(v, (size_t)(eol - v)) != 0)
                    return PK_EPARSE;
                s.threads = (long)t;
            } else if (klen == 5 && memcmp(p, "VmRSS", 5) == 0) {
                if (parse_kb(v, eol, &s.vm_rss) != 0)
                    return PK_EPARSE;
                s.has_rss = true;
            } else if (klen == 5 && memcmp(p, "VmHWM", 5) == 0) {
                if (parse_kb(v, eol, &s.vm_hwm) != 0)
                    return PK_EPARSE;
                s.has_hwm = true;
            }
        }
    }
    if (!have_name)
        return PK_EPARSE;
    *st = s;
    return 0;
}

static int limit_value(const char *tok, size_t len, uint64_t *out)
{
    if (len == 9 && memcmp(tok, "unlimited", 9) == 0) {
        *out = PROCS_UNLIMITED;
        return 0;
    }
    /* RLIM_INFINITY is printed as "unlimited", so the largest number is one less. */
    return token_uint(tok, len, UINT64_MAX - 1, out);
}

int procs_parse_limit(const char *buf, size_t len, const char *name, struct procs_limit *lim)
{
    size_t nlen = strlen(name);
    const char *end = buf + len;
    struct sysfile_lines it;
    const char *p, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &p, &eol)) {
        /*
         * Names hold single blanks ("Max file size") and are padded to their
         * column with more ("Max open files            32768 ..."): a name ends
         * at two blanks or a tab, so "Max file" is not "Max file size".
         */
        const char *ne = p;
        while (ne < eol && *ne != '\t' && !(*ne == ' ' && ne + 1 < eol && sysfile_is_blank(ne[1])))
            ne++;
        if ((size_t)(ne - p) == nlen && memcmp(p, name, nlen) == 0 && ne < eol) {
            const char *q = ne, *tok;
            size_t tlen;
            struct procs_limit l;
            if (!next_field(&q, eol, &tok, &tlen) || limit_value(tok, tlen, &l.soft) != 0 ||
                !next_field(&q, eol, &tok, &tlen) || limit_value(tok, tlen, &l.hard) != 0 || q == end)
                return PK_EPARSE;
            /* The units column ("files") may follow, or nothing for "Max nice priority";
               q == end above is a hard limit cut at the end of the buffer. */
            *lim = l;
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- one process -------------------------------------------------------- */

enum procs_state procs_state_of(char state)
{
    switch (state) {
    case 'R': return PROCS_RUNNING;
    case 'S': return PROCS_SLEEPING;
    case 'D': return PROCS_DISK_SLEEP;
    case 'Z': return PROCS_ZOMBIE;
    case 'T': return PROCS_STOPPED;
    case 't': return PROCS_TRACED;
    case 'X': return PROCS_DEAD;
    case 'I': return PROCS_IDLE;
    default: return PROCS_OTHER;
    }
}

void procs_opts_init(struct procs_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->page_size = PROCS_PAGE_SIZE;
    o->user_hz = PROCS_USER_HZ;
    o->max_procs = PROCS_MAX;
}

static int check_opts(const struct procs_opts *o, struct pk_err *e)
{
    if (o->page_size <= 0 || o->user_hz <= 0 || o->max_procs == 0)
        return err_set(e, -EINVAL, NULL, "invalid process table options",
                       "page size %ld, USER_HZ %ld and maximum processes %zu must be positive", o->page_size,
                       o->user_hz, o->max_procs);
    return 0;
}

/* A vanished process: its directory is gone, or its files answer ESRCH once it is reaped. */
static bool vanished(int rc)
{
    return rc == -ENOENT || rc == -ESRCH;
}

/*
 * dirfd/rel (a stat file) into buf: one read, as the kernel prints the whole
 * line at once (a stat file is far below STAT_CAP); a read that fills buf is
 * followed by more, so an oversized file is still -EFBIG as sysfile_read_small
 * says. Half the system calls of sysfile_read_small, which reads until EOF:
 * this runs once per process.
 */
static int read_stat_file(int dirfd, const char *rel, char *buf, size_t cap, size_t *len)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t r;
    do
        r = read(fd, buf, cap);
    while (r < 0 && errno == EINTR);
    int rc = r < 0 ? -errno : 0;
    *len = r > 0 ? (size_t)r : 0;
    if (r == (ssize_t)cap) {
        char extra;
        rc = read(fd, &extra, 1) == 0 ? 0 : -EFBIG;
    }
    close(fd);
    return rc;
}

/*
 * The stat file dirfd/rel (rel "stat" under a process' directory, or
 * "<pid>/stat" under procfs) into p. 0, a negative errno from reading, or
 * PK_EPARSE.
 */
/* A stat line into p. 0 or PK_EPARSE. */
static int stat_into(const char *buf, size_t n, const struct procs_opts *o, struct procs_proc *p)
{
    struct procs_stat st;
    if (procs_parse_stat(buf, n, &st) != 0)
        return PK_EPARSE;
    if (st.rss_pages > UINT64_MAX / (uint64_t)o->page_size)
        return PK_EPARSE;
    p->ppid = st.ppid;
    memcpy(p->comm, st.comm, sizeof(p->comm));
    p->state = st.state;
    p->utime = st.utime;
    p->stime = st.stime;
    p->starttime = st.starttime;
    p->threads = st.threads;
    p->vsize = st.vsize;
    p->rss = st.rss_pages * (uint64_t)o->page_size;
    return 0;
}

static int read_stat(int dirfd, const char *rel, const struct procs_opts *o, struct procs_proc *p)
{
    char buf[STAT_CAP];
    size_t n = 0;
    int rc = read_stat_file(dirfd, rel, buf, sizeof(buf), &n);
    if (rc < 0)
        return rc;
    /* A process reaped between open and read reads as empty. */
    if (n == 0)
        return -ESRCH;
    return stat_into(buf, n, o, p);
}

static void read_status(int piddir, struct procs_proc *p)
{
    char buf[STATUS_CAP];
    size_t n = 0;
    int rc = sysfile_read_small(piddir, "status", buf, sizeof(buf), &n);
    if (rc == -EFBIG) {
        /* Keep the whole lines within the cap. */
        while (n > 0 && buf[n - 1] != '\n')
            n--;
    } else if (rc < 0) {
        return;
    }
    struct procs_status st;
    if (procs_parse_status(buf, n, &st) != 0)
        return;
    p->status_known = true;
    p->vm_rss = st.has_rss ? st.vm_rss : 0;
    p->vm_hwm = st.has_hwm ? st.vm_hwm : 0;
}

static void read_limits(int piddir, struct procs_proc *p)
{
    char buf[LIMITS_CAP];
    size_t n = 0;
    if (sysfile_read_small(piddir, "limits", buf, sizeof(buf), &n) != 0)
        return;
    p->nofile_known = procs_parse_limit(buf, n, "Max open files", &p->nofile) == 0;
}

/* Entries of fd/ are the open descriptors; only numeric names count, so a fixture can keep an empty fd/ in git. */
static long count_fds(int piddir)
{
    int fd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    long n = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        const char *s = de->d_name;
        if (!sysfile_is_digit(*s))
            continue;
        while (sysfile_is_digit(*s))
            s++;
        if (*s == '\0')
            n++;
    }
    /* A process that exits while fd/ is listed ends the listing with an error. */
    if (errno != 0)
        n = -1;
    closedir(d);
    return n;
}

static void proc_clear(struct procs_proc *p, int pid)
{
    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->nfds = -1;
    p->cpu_pct = -1;
}

/* Everything asked for of procfs/<pid>. 0, a negative errno, or PK_EPARSE (stat). */
static int read_proc(int procfd, const char *name, int pid, const struct procs_opts *o, unsigned what,
                     struct procs_proc *p)
{
    proc_clear(p, pid);
    if (what == 0) {
        /* stat alone: opened by its path, without the directory (a third of the system calls) */
        char rel[32];
        snprintf(rel, sizeof(rel), "%s/stat", name);
        return read_stat(procfd, rel, o, p);
    }
    /* Files read through one directory fd all belong to the same process, even if the pid is reused. */
    int piddir = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (piddir < 0)
        return -errno;
    int rc = read_stat(piddir, "stat", o, p);
    if (rc == 0) {
        if (what & PROCS_STATUS)
            read_status(piddir, p);
        if (what & PROCS_LIMITS)
            read_limits(piddir, p);
        if (what & PROCS_FDS)
            p->nfds = count_fds(piddir);
    }
    close(piddir);
    return rc;
}

int procs_read_pid(const char *procfs, int pid, const struct procs_opts *o, struct procs_proc *p,
                   struct pk_err *e)
{
    struct procs_opts def;
    if (!o) {
        procs_opts_init(&def);
        o = &def;
    }
    proc_clear(p, pid);
    int rc = check_opts(o, e);
    if (rc < 0)
        return rc;
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    if (pid <= 0)
        return err_set(e, -EINVAL, NULL, "invalid process id", "%d is not a process id", pid);
    int procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return err_errno(e, -errno, procfs, "cannot open procfs root");

    char name[16], path[PATH_MAX];
    snprintf(name, sizeof(name), "%d", pid);
    snprintf(path, sizeof(path), "%s/%d/stat", procfs, pid);
    rc = read_proc(procfd, name, pid, o, PROCS_ALL, p);
    close(procfd);
    if (vanished(rc) || rc == -ENOTDIR)
        return err_set(e, -ESRCH, path, "cannot read process", "no process %d", pid);
    if (rc == PK_EPARSE)
        return err_set(e, rc, path, "cannot parse process status", "not a stat line");
    if (rc < 0)
        return err_errno(e, rc, path, "cannot read process");
    return 0;
}

/* ---- snapshot ----------------------------------------------------------- */

/* ---- kept stat files ---------------------------------------------------- */

void procs_keep_init(struct procs_keep *k, size_t max)
{
    memset(k, 0, sizeof(*k));
    k->max = max;
}

void procs_keep_destroy(struct procs_keep *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        close(k->v[i].fd);
    free(k->v);
    free(k->next);
    procs_keep_init(k, k->max);
}

/*
 * stat of pid through its kept file (at *old, the merge position in the
 * previous snapshot's list) or a new one, which is kept if there is room.
 * A kept file of a process that is gone answers ESRCH (or nothing), also
 * when its pid was reused: the file belongs to the process it was opened
 * for. Then a new one is opened, for whatever process has the pid now.
 */
static int read_stat_kept(struct procs_keep *k, size_t *old, int procfd, const char *name, int pid,
                          const struct procs_opts *o, struct procs_proc *p)
{
    /* the previous list is by ascending pid, as procfs lists them: files of pids passed are gone */
    while (*old < k->n && k->v[*old].pid < pid)
        close(k->v[(*old)++].fd);
    int fd = -1;
    if (*old < k->n && k->v[*old].pid == pid)
        fd = k->v[(*old)++].fd;
    char buf[STAT_CAP];
    ssize_t r = -1;
    if (fd >= 0) {
        do
            r = pread(fd, buf, sizeof(buf), 0);
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        char rel[32];
        snprintf(rel, sizeof(rel), "%s/stat", name);
        fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        do
            r = read(fd, buf, sizeof(buf));
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            int rc = -errno;
            close(fd);
            return rc;
        }
    }
    /* a stat line is far below STAT_CAP: one read is all of it */
    int rc = r == 0 ? -ESRCH : r == (ssize_t)sizeof(buf) ? -EFBIG : stat_into(buf, (size_t)r, o, p);
    if (rc == 0 && k->nnext < k->max) {
        PK_ASSERT(k->nnext < k->capnext); /* keep_reserve made room */
        k->next[k->nnext].pid = pid;
        k->next[k->nnext].fd = fd;
        k->nnext++;
    } else {
        close(fd);
    }
    return rc;
}

/* Room in k->next for every file kept now and `more`. */
static int keep_reserve(struct procs_keep *k, size_t more)
{
    size_t need = k->nnext + more;
    if (need > k->max)
        need = k->max;
    if (need <= k->capnext)
        return 0;
    size_t cap = k->capnext ? k->capnext : 64;
    while (cap < need)
        cap *= 2;
    struct procs_kept *v = realloc(k->next, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    k->next = v;
    k->capnext = cap;
    return 0;
}

/* The files kept in this snapshot become the list the next one starts from. */
static void keep_swap(struct procs_keep *k, size_t old)
{
    while (old < k->n)
        close(k->v[old++].fd);
    struct procs_kept *v = k->v;
    size_t cap = k->cap;
    k->v = k->next;
    k->cap = k->capnext;
    k->n = k->nnext;
    k->next = v;
    k->capnext = cap;
    k->nnext = 0;
}

void procs_snap_init(struct procs_snap *s)
{
    memset(s, 0, sizeof(*s));
    s->user_hz = PROCS_USER_HZ;
}

void procs_snap_destroy(struct procs_snap *s)
{
    free(s->procs);
    procs_snap_init(s);
}

static int cmp_pid(const void *a, const void *b)
{
    const struct procs_proc *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A directory entry naming a process: digits only, a pid that fits an int. */
static int entry_pid(const char *name)
{
    const char *p = name, *end = name + strlen(name);
    uint64_t v;
    if (sysfile_parse_uint(&p, end, INT_MAX, &v) != 0 || p != end || v == 0)
        return 0;
    return (int)v;
}

static int grow(struct procs_snap *s, size_t *cap, size_t max)
{
    size_t ncap = *cap ? *cap * 2 : SNAP_INITIAL;
    if (ncap > max)
        ncap = max;
    struct procs_proc *np = realloc(s->procs, ncap * sizeof(*np));
    if (!np)
        return -ENOMEM;
    s->procs = np;
    *cap = ncap;
    return 0;
}

int procs_snapshot(const char *procfs, const struct procs_opts *o, struct procs_snap *s, struct pk_err *e)
{
    return procs_snapshot_keep(procfs, o, NULL, s, e);
}

/* Whether fd is on the kernel's procfs (not a fixture tree, whose files a test may replace). */
static bool on_procfs(int fd)
{
    struct statfs sf;
    return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

int procs_snapshot_keep(const char *procfs, const struct procs_opts *o, struct procs_keep *kept,
                        struct procs_snap *s, struct pk_err *e)
{
    struct procs_opts def;
    if (!o) {
        procs_opts_init(&def);
        o = &def;
    }
    procs_snap_destroy(s);
    int rc = check_opts(o, e);
    if (rc < 0)
        return rc;
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    s->user_hz = o->user_hz;
    s->time = (double)clock_ns(CLOCK_BOOTTIME) / 1e9;

    int procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return err_errno(e, -errno, procfs, "cannot open procfs root");
    /* The listing needs its own fd: closedir closes it, and procfd stays for openat. */
    int listfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = listfd >= 0 ? fdopendir(listfd) : NULL;
    if (!d) {
        rc = err_errno(e, -errno, procfs, "cannot list procfs root");
        if (listfd >= 0)
            close(listfd);
        goto out_close;
    }

    /* stat files kept between snapshots: only for stat alone, on the kernel's procfs */
    struct procs_keep *k = kept && o->read == 0 && on_procfs(procfd) ? kept : NULL;
    size_t old = 0;
    if (kept && !k)
        procs_keep_destroy(kept);
    size_t cap = 0;
    struct procs_proc scratch;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno != 0) {
                rc = err_errno(e, -errno, procfs, "cannot list procfs root");
                goto out_dir;
            }
            break;
        }
        int pid = entry_pid(de->d_name);
        if (pid == 0)
            continue;
        bool keep = s->n < o->max_procs;
        if (keep && s->n == cap && (rc = grow(s, &cap, o->max_procs)) < 0) {
            err_errno(e, rc, procfs, "cannot hold the process table");
            goto out_dir;
        }
        struct procs_proc *p = keep ? &s->procs[s->n] : &scratch;
        int r;
        if (k && keep_reserve(k, 1) == 0) {
            proc_clear(p, pid);
            r = read_stat_kept(k, &old, procfd, de->d_name, pid, o, p);
        } else {
            r = read_proc(procfd, de->d_name, pid, o, keep ? o->read : 0, p);
        }
        if (vanished(r))
            continue;
        if (r < 0) {
            s->unreadable++;
            continue;
        }
        s->total++;
        s->states[procs_state_of(p->state)]++;
        s->threads += p->threads > 0 ? (uint64_t)p->threads : 0;
        if (keep)
            s->n++;
        else
            s->truncated = true;
    }
    /* /proc lists by pid already; a fixture tree on disk does not. */
    if (s->n > 1)
        qsort(s->procs, s->n, sizeof(*s->procs), cmp_pid);

out_dir:
    if (k)
        keep_swap(k, old);
    closedir(d);
out_close:
    close(procfd);
    if (rc < 0) {
        long hz = s->user_hz;
        procs_snap_destroy(s);
        s->user_hz = hz;
    }
    return rc;
}

/* ---- between snapshots -------------------------------------------------- */

int procs_diff(const struct procs_snap *prev, struct procs_snap *cur, struct procs_change *out,
               struct pk_err *e)
{
    double elapsed = cur->time - prev->time;
    if (!(elapsed > 0))
        return err_set(e, -EINVAL, NULL, "cannot compare process tables",
                       "the later one was taken %.3f s after the earlier", elapsed);
    if (prev->user_hz != cur->user_hz || cur->user_hz <= 0)
        return err_set(e, -EINVAL, NULL, "cannot compare process tables", "USER_HZ %ld and %ld differ",
                       prev->user_hz, cur->user_hz);
    double hz = (double)cur->user_hz;
    /* starttime is floored to a tick; a process started after prev began at or after this tick. */
    double prev_tick = floor(prev->time * hz);
    struct procs_change c = { .elapsed = elapsed };

    size_t i = 0;
    for (size_t j = 0; j < cur->n; j++) {
        struct procs_proc *p = &cur->procs[j];
        while (i < prev->n && prev->procs[i].pid < p->pid) {
            c.exited++;
            i++;
        }
        const struct procs_proc *q = i < prev->n && prev->procs[i].pid == p->pid ? &prev->procs[i] : NULL;
        if (q)
            i++;
        if (q && q->starttime != p->starttime) {
            c.exited++; /* the pid was reused */
            q = NULL;
        }
        uint64_t ticks = p->utime + p->stime;
        p->in_prev = q != NULL;
        p->rss_per_min = 0;
        if (q) {
            uint64_t before = q->utime + q->stime;
            /* Kernels before 4.3 could step utime back by a tick when rescaling it. */
            ticks = ticks > before ? ticks - before : 0;
            bool exact = p->status_known && q->status_known;
            double now = (double)(exact ? p->vm_rss : p->rss), then = (double)(exact ? q->vm_rss : q->rss);
            p->rss_per_min = (now - then) * 60.0 / elapsed;
        } else {
            c.started++;
            if ((double)p->starttime < prev_tick) {
                p->cpu_pct = -1;
                continue;
            }
        }
        p->cpu_pct = (double)ticks / hz / elapsed * 100.0;
    }
    c.exited += prev->n - i;
    c.procs_per_min = ((double)cur->total - (double)prev->total) * 60.0 / elapsed;
    c.threads_per_min = ((double)cur->threads - (double)prev->threads) * 60.0 / elapsed;
    if (out)
        *out = c;
    return 0;
}

/* True if a ranks before b: the larger value, then the lower pid. */
typedef bool (*before_fn)(const struct procs_proc *a, const struct procs_proc *b);

static bool cpu_before(const struct procs_proc *a, const struct procs_proc *b)
{
    if (a->cpu_pct != b->cpu_pct)
        return a->cpu_pct > b->cpu_pct;
    return a->pid < b->pid;
}

static uint64_t best_rss(const struct procs_proc *p)
{
    return p->status_known ? p->vm_rss : p->rss;
}

static bool rss_before(const struct procs_proc *a, const struct procs_proc *b)
{
    uint64_t x = best_rss(a), y = best_rss(b);
    if (x != y)
        return x > y;
    return a->pid < b->pid;
}

/* Insertion into a sorted array of at most n: no allocation, and N is small (a top 5). */
static size_t top(const struct procs_snap *s, size_t n, const struct procs_proc **out, bool cpu)
{
    before_fn before = cpu ? cpu_before : rss_before;
    size_t k = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct procs_proc *p = &s->procs[i];
        if (cpu ? !(p->cpu_pct > 0) : best_rss(p) == 0)
            continue;
        if (k == n && !before(p, out[k - 1]))
            continue;
        size_t at = k < n ? k : n - 1;
        while (at > 0 && before(p, out[at - 1])) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = p;
        if (k < n)
            k++;
    }
    return k;
}

size_t procs_top_cpu(const struct procs_snap *s, size_t n, const struct procs_proc **out)
{
    return top(s, n, out, true);
}

size_t procs_top_rss(const struct procs_snap *s, size_t n, const struct procs_proc **out)
{
    return top(s, n, out, false);
}

size_t procs_find_name(const struct procs_snap *s, const char *name, const struct procs_proc **out,
                       size_t cap)
{
    size_t found = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->procs[i].comm, name) != 0)
            continue;
        if (found < cap)
            out[found] = &s->procs[i];
        found++;
    }
    return found;
}

const struct procs_proc *procs_find_pid(const struct procs_snap *s, int pid)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->procs[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->procs[lo].pid == pid ? &s->procs[lo] : NULL;
}
