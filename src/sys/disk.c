#include "sys/disk.h"
#include "sys/sysfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/check.h"
#include "core/err.h"

#define SMALL_CAP 4096
/* Counters of the 5.5+ format; more are ignored, fewer than the first 11 rejected. */
#define NSTATS_KNOWN 17
#define NSTATS_MIN   11

/* ---- names -------------------------------------------------------------- */

/* Kernel block device and scheduler names are printable ASCII; anything else
 * (a NUL above all, which would cut the C string) is not a name. */
static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* s is one or more digits up to its end. */
static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!sysfile_is_digit(*s))
            return false;
    return true;
}

/* Skips one or more digits; NULL if there is none. */
static const char *skip_digits(const char *s)
{
    if (!sysfile_is_digit(*s))
        return NULL;
    while (sysfile_is_digit(*s))
        s++;
    return s;
}

bool disk_name_ignored(const char *name)
{
    static const char *const plain[] = { "ram", "zram", "loop", "fd" };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        size_t n = strlen(plain[i]);
        if (strncmp(name, plain[i], n) == 0 && all_digits(name + n))
            return true;
    }
    /* (h|s|v|xv)d[a-z]\d+: sda1, but not sda or sdaa1 */
    static const char *const disks[] = { "hd", "sd", "vd", "xvd" };
    for (size_t i = 0; i < sizeof(disks) / sizeof(disks[0]); i++) {
        size_t n = strlen(disks[i]);
        if (strncmp(name, disks[i], n) == 0 && name[n] >= 'a' && name[n] <= 'z' && all_digits(name + n + 1))
            return true;
    }
    /* nvme\d+n\d+p\d+: nvme0n1p1, but not nvme0n1 */
    if (strncmp(name, "nvme", 4) == 0) {
        const char *s = skip_digits(name + 4);
        if (s && *s == 'n' && (s = skip_digits(s + 1)) && *s == 'p' && all_digits(s + 1))
            return true;
    }
    return false;
}

/* ---- conversions -------------------------------------------------------- */

double disk_sectors_to_bytes(uint64_t sectors)
{
    return (double)sectors * 512.0;
}

double disk_ms_to_seconds(uint64_t ms)
{
    return (double)ms * 0.001;
}

double disk_busy_pct(const struct disk_stats *before, const struct disk_stats *after, double seconds)
{
    if (!(seconds > 0) || strcmp(before->name, after->name) != 0)
        return -1;
    double delta;
    if (after->io_ms >= before->io_ms) {
        delta = (double)(after->io_ms - before->io_ms);
    } else if (before->io_ms <= UINT32_MAX && after->io_ms <= UINT32_MAX) {
        delta = (double)(uint32_t)(after->io_ms - before->io_ms);
        /* more busy time than twice the interval is no wrap but a device re-created */
        if (delta > 2 * seconds * 1000)
            return -1;
    } else {
        return -1;
    }
    double pct = delta / (seconds * 10);
    return pct > 100 ? 100 : pct;
}

/* ---- diskstats ---------------------------------------------------------- */

void disk_list_destroy(struct disk_list *l)
{
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

const struct disk_stats *disk_find(const struct disk_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static void skip_blanks(const char **p, const char *end)
{
    while (*p < end && sysfile_is_blank(**p))
        (*p)++;
}

/* "   8       0 sda 25354637 34367663 ..." */
static const char *diskstats_line(const char *p, const char *end, struct disk_stats *d)
{
    uint64_t v;
    skip_blanks(&p, end);
    if (sysfile_parse_uint(&p, end, UINT32_MAX, &v) != 0)
        return "major number is not a number";
    d->major = (unsigned)v;
    skip_blanks(&p, end);
    if (sysfile_parse_uint(&p, end, UINT32_MAX, &v) != 0)
        return "minor number is not a number";
    d->minor = (unsigned)v;
    const char *start = p;
    skip_blanks(&p, end);
    if (p == start)
        return "no blank before the name";
    const char *name = p;
    while (p < end && !sysfile_is_blank(*p))
        p++;
    size_t nlen = (size_t)(p - name);
    if (nlen == 0)
        return "no device name";
    if (nlen >= sizeof(d->name))
        return "device name longer than 31 bytes";
    if (!printable(name, nlen))
        return "device name not printable ASCII";
    memcpy(d->name, name, nlen);
    d->name[nlen] = '\0';

    uint64_t s[NSTATS_KNOWN];
    int n = 0;
    for (;;) {
        start = p;
        skip_blanks(&p, end);
        if (p == end)
            break;
        if (p == start)
            return "no blank between fields";
        if (sysfile_parse_uint(&p, end, UINT64_MAX, &v) != 0)
            return "a counter is not a number";
        if (n < NSTATS_KNOWN)
            s[n] = v;
        if (n < INT_MAX)
            n++;
    }
    if (n < NSTATS_MIN)
        return "fewer than 11 counters";
    for (int i = n; i < NSTATS_KNOWN; i++)
        s[i] = 0;
    d->nstats = n;
    d->reads = s[0];
    d->reads_merged = s[1];
    d->read_sectors = s[2];
    d->read_ms = s[3];
    d->writes = s[4];
    d->writes_merged = s[5];
    d->write_sectors = s[6];
    d->write_ms = s[7];
    d->io_now = s[8];
    d->io_ms = s[9];
    d->weighted_io_ms = s[10];
    d->discards = s[11];
    d->discards_merged = s[12];
    d->discard_sectors = s[13];
    d->discard_ms = s[14];
    d->flushes = s[15];
    d->flush_ms = s[16];
    d->ignored = disk_name_ignored(d->name);
    return NULL;
}

int disk_parse_diskstats(const char *buf, size_t len, struct disk_list *l, struct pk_err *e)
{
    l->v = NULL;
    l->n = 0;
    l->v = calloc(sysfile_count_lines(buf, len), sizeof(*l->v));
    if (!l->v)
        return err_errno(e, -ENOMEM, "diskstats", "cannot parse");
    struct sysfile_lines it;
    const char *p, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &p, &eol)) {
        eol = p + sysfile_rtrim_len(p, (size_t)(eol - p));
        const char *s = p;
        skip_blanks(&s, eol);
        if (s < eol) {
            PK_ASSERT(l->n < it.no); /* l->v has one entry per line */
            const char *why = diskstats_line(p, eol, &l->v[l->n]);
            if (why) {
                char on[48];
                snprintf(on, sizeof(on), "diskstats:%zu", it.no);
                disk_list_destroy(l);
                return err_set(e, PK_EPARSE, on, "malformed line", "%s", why);
            }
            l->n++;
        }
    }
    return 0;
}

static int parse_diskstats(const char *buf, size_t len, void *l, struct pk_err *e)
{
    return disk_parse_diskstats(buf, len, l, e);
}

int disk_read(const char *procfs, struct disk_list *l, struct pk_err *e)
{
    l->v = NULL;
    l->n = 0;
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    return sysfile_parse_file(procfs, "diskstats", DISKSTATS_CAP, 0, parse_diskstats, l, e);
}

/* ---- queue settings ----------------------------------------------------- */

int disk_parse_scheduler(const char *buf, size_t len, char *active, size_t active_cap, char *all,
                         size_t all_cap)
{
    const char *p = buf, *end = buf + len;
    const char *act = NULL, *only = NULL;
    size_t act_len = 0, only_len = 0, all_len = 0;
    int tokens = 0;
    active[0] = '\0';
    all[0] = '\0';
    for (;;) {
        while (p < end && sysfile_is_space(*p))
            p++;
        if (p == end)
            break;
        const char *t = p;
        while (p < end && !sysfile_is_space(*p))
            p++;
        size_t n = (size_t)(p - t);
        bool bracketed = false;
        if (t[0] == '[' || t[n - 1] == ']') {
            if (n < 3 || t[0] != '[' || t[n - 1] != ']' || act)
                goto bad;
            t++;
            n -= 2;
            bracketed = true;
        }
        if (memchr(t, '[', n) || memchr(t, ']', n) || !printable(t, n))
            goto bad;
        if (bracketed) {
            act = t;
            act_len = n;
        }
        only = t;
        only_len = n;
        tokens++;
        /* whole names only: a cut one would name a scheduler that does not exist */
        if (all_len + (all_len ? 1 : 0) + n < all_cap) {
            if (all_len)
                all[all_len++] = ' ';
            memcpy(all + all_len, t, n);
            all_len += n;
            all[all_len] = '\0';
        }
    }
    if (!act) {
        if (tokens != 1)
            goto bad;
        act = only;
        act_len = only_len;
    }
    if (act_len >= active_cap)
        goto bad;
    memcpy(active, act, act_len);
    active[act_len] = '\0';
    return 0;
bad:
    active[0] = '\0';
    all[0] = '\0';
    return PK_EPARSE;
}

static int read_uint_file(int dirfd, const char *rel, uint64_t max, uint64_t *out)
{
    char buf[SMALL_CAP];
    size_t n = 0;
    int rc = sysfile_read_small(dirfd, rel, buf, sizeof(buf), &n);
    if (rc < 0)
        return rc;
    const char *p = buf, *end = buf + sysfile_rtrim_len(buf, n);
    /* sysfile_parse_uint's overflow check assumes max >= 9, so the bound is applied here */
    uint64_t v;
    if (sysfile_parse_uint(&p, end, UINT64_MAX, &v) != 0 || p != end || v > max)
        return PK_EPARSE;
    *out = v;
    return 0;
}

/* The disk under <sysfs>/block that has dev as a partition, into disk. */
static int find_parent(int sysfd, const char *dev, char *disk, size_t cap)
{
    int fd = openat(sysfd, "block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    int rc = -ENOENT;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char rel[2 * NAME_MAX + 32];
        snprintf(rel, sizeof(rel), "%s/%s/partition", de->d_name, dev);
        if (faccessat(dirfd(d), rel, F_OK, 0) == 0 && strlen(de->d_name) < cap) {
            memcpy(disk, de->d_name, strlen(de->d_name) + 1);
            rc = 0;
            break;
        }
    }
    closedir(d);
    return rc;
}

int disk_read_queue(const char *sysfs, const char *dev, struct disk_queue *q, struct pk_err *e)
{
    memset(q, 0, sizeof(*q));
    q->rotational = -1;
    q->read_ahead_kb = -1;
    size_t dlen = dev ? strlen(dev) : 0;
    if (dlen == 0 || dlen >= DISK_NAME_MAX || strchr(dev, '/') || strcmp(dev, ".") == 0 ||
        strcmp(dev, "..") == 0)
        return err_set(e, -EINVAL, dev, "not a block device name", NULL);
    if (!sysfs)
        return err_set(e, -EINVAL, NULL, "no sysfs root given", NULL);
    int sysfd = open(sysfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sysfd < 0)
        return err_errno(e, -errno, sysfs, "cannot open sysfs root");

    char rel[128];
    int rc = 0;
    snprintf(rel, sizeof(rel), "block/%s", dev);
    if (faccessat(sysfd, rel, F_OK, 0) == 0) {
        memcpy(q->disk, dev, dlen + 1);
    } else {
        rc = find_parent(sysfd, dev, q->disk, sizeof(q->disk));
        if (rc < 0) {
            rc = err_errno(e, rc == -ENOTDIR ? -ENOENT : rc, dev, "no such block device under sysfs/block");
            goto out;
        }
        q->partition = true;
    }

    char buf[SMALL_CAP];
    size_t n = 0;
    snprintf(rel, sizeof(rel), "block/%s/queue/scheduler", q->disk);
    if (sysfile_read_small(sysfd, rel, buf, sizeof(buf), &n) == 0)
        disk_parse_scheduler(buf, n, q->scheduler, sizeof(q->scheduler), q->schedulers,
                             sizeof(q->schedulers));
    uint64_t v;
    snprintf(rel, sizeof(rel), "block/%s/queue/rotational", q->disk);
    if (read_uint_file(sysfd, rel, 1, &v) == 0)
        q->rotational = (int)v;
    snprintf(rel, sizeof(rel), "block/%s/queue/read_ahead_kb", q->disk);
    if (read_uint_file(sysfd, rel, LONG_MAX, &v) == 0)
        q->read_ahead_kb = (long)v;
out:
    close(sysfd);
    return rc;
}
