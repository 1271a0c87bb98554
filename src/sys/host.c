#include "sys/host.h"
#include "sys/sysfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

/*
 * cpuinfo grows by ~1.6 KiB per CPU on current x86 (the flags line), so 8 MiB
 * still holds about 5000 CPUs; beyond it the last partial line is dropped.
 */
#define CPUINFO_CAP (8u << 20)
/* One-line sysfs and procfs files are at most a page. */
#define SMALL_CAP 4096
/* cpu0 has about five cache leaves; the kernel numbers them densely from 0. */
#define MAX_CACHE_INDEX 32

/* ---- parsers ------------------------------------------------------------ */

size_t host_parse_line(const char *buf, size_t len, char *dst, size_t cap)
{
    if (!dst || cap == 0)
        return 0;
    const char *nl = len ? memchr(buf, '\n', len) : NULL;
    if (nl)
        len = (size_t)(nl - buf);
    len = sysfile_rtrim_len(buf, len);
    size_t i = 0;
    while (i < len && sysfile_is_blank(buf[i]))
        i++;
    size_t n = 0;
    for (; i < len && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)buf[i];
        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
    return n;
}

void host_parse_cpuinfo(const char *buf, size_t len, struct host_info *h)
{
    h->cpus = 0;
    h->cpu_model[0] = '\0';
    h->mhz = 0;
    bool have_model = false, have_mhz = false;
    struct sysfile_lines it;
    const char *p, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &p, &eol)) {
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            size_t klen = (size_t)(colon - p);
            while (klen > 0 && sysfile_is_blank(p[klen - 1]))
                klen--;
            const char *v = colon + 1;
            while (v < eol && sysfile_is_blank(*v))
                v++;
            /* Only the first processor's block names the model and speed. */
            bool first = h->cpus <= 1;
            if (klen == 9 && memcmp(p, "processor", 9) == 0) {
                if (h->cpus < INT_MAX)
                    h->cpus++;
            } else if (first && !have_model && klen == 10 && memcmp(p, "model name", 10) == 0) {
                host_parse_line(v, (size_t)(eol - v), h->cpu_model, sizeof(h->cpu_model));
                have_model = true;
            } else if (first && !have_mhz && klen == 7 && memcmp(p, "cpu MHz", 7) == 0) {
                const char *q = v;
                double mhz;
                have_mhz = true;
                if (sysfile_parse_decimal(&q, eol, &mhz) == 0 && sysfile_rtrim_len(q, (size_t)(eol - q)) == 0)
                    h->mhz = mhz;
            }
        }
    }
}

int host_parse_loadavg(const char *buf, size_t len, double load[3])
{
    const char *p = buf, *end = buf + len;
    double v[3];
    for (int i = 0; i < 3; i++) {
        const char *start = p;
        while (p < end && sysfile_is_blank(*p))
            p++;
        if (i > 0 && p == start)
            return PK_EPARSE;
        if (sysfile_parse_decimal(&p, end, &v[i]) != 0)
            return PK_EPARSE;
    }
    if (p < end && !sysfile_is_space(*p))
        return PK_EPARSE;
    memcpy(load, v, sizeof(v));
    return 0;
}

int host_parse_cpulist(const char *buf, size_t len, bool *set, size_t nset)
{
    const char *p = buf, *end = buf + sysfile_rtrim_len(buf, len);
    int count = 0;
    int64_t prev = -1;
    if (p == end)
        return 0;
    for (;;) {
        uint64_t a, b;
        if (sysfile_parse_uint(&p, end, HOST_MAX_CPU - 1, &a) != 0)
            return PK_EPARSE;
        b = a;
        if (p < end && *p == '-') {
            p++;
            if (sysfile_parse_uint(&p, end, HOST_MAX_CPU - 1, &b) != 0 || b < a)
                return PK_EPARSE;
        }
        /* The kernel prints ascending, disjoint ranges; anything else would double count. */
        if ((int64_t)a <= prev)
            return PK_EPARSE;
        if (set)
            for (uint64_t c = a; c <= b && c < nset; c++)
                set[c] = true;
        count += (int)(b - a + 1);
        prev = (int64_t)b;
        if (p == end)
            return count;
        if (*p != ',')
            return PK_EPARSE;
        p++;
    }
}

int host_parse_cache_size(const char *buf, size_t len, long *bytes)
{
    const char *p = buf, *end = buf + sysfile_rtrim_len(buf, len);
    uint64_t v, mul = 1;
    if (sysfile_parse_uint(&p, end, (uint64_t)LONG_MAX, &v) != 0)
        return PK_EPARSE;
    if (p < end) {
        switch (*p) {
        case 'K':
        case 'k': mul = 1ull << 10; break;
        case 'M':
        case 'm': mul = 1ull << 20; break;
        case 'G':
        case 'g': mul = 1ull << 30; break;
        default: return PK_EPARSE;
        }
        p++;
    }
    if (p != end || v > (uint64_t)LONG_MAX / mul)
        return PK_EPARSE;
    *bytes = (long)(v * mul);
    return 0;
}

/* ---- files -------------------------------------------------------------- */

/* The first line of a one-line file into dst; "" if it cannot be read. */
static void read_line(int dirfd, const char *rel, char *dst, size_t cap)
{
    char buf[SMALL_CAP];
    size_t n = 0;
    dst[0] = '\0';
    if (dirfd >= 0 && sysfile_read_small(dirfd, rel, buf, sizeof(buf), &n) == 0)
        host_parse_line(buf, n, dst, cap);
}

static void read_cache(int sysfd, int index, struct host_cache *c)
{
    char rel[96], buf[SMALL_CAP];
    size_t n = 0;
    const char *dir = "devices/system/cpu/cpu0/cache";

    memset(c, 0, sizeof(*c));
    snprintf(rel, sizeof(rel), "%s/index%d/type", dir, index);
    read_line(sysfd, rel, c->type, sizeof(c->type));

    snprintf(rel, sizeof(rel), "%s/index%d/level", dir, index);
    if (sysfile_read_small(sysfd, rel, buf, sizeof(buf), &n) == 0) {
        const char *p = buf, *end = buf + sysfile_rtrim_len(buf, n);
        uint64_t level;
        if (sysfile_parse_uint(&p, end, INT_MAX, &level) == 0 && p == end)
            c->level = (int)level;
    }

    snprintf(rel, sizeof(rel), "%s/index%d/size", dir, index);
    if (sysfile_read_small(sysfd, rel, buf, sizeof(buf), &n) == 0)
        host_parse_cache_size(buf, n, &c->size);

    snprintf(rel, sizeof(rel), "%s/index%d/shared_cpu_list", dir, index);
    if (sysfile_read_small(sysfd, rel, buf, sizeof(buf), &n) == 0) {
        int cpus = host_parse_cpulist(buf, n, NULL, 0);
        if (cpus > 0)
            c->num_sharing = cpus;
    }
}

static void read_caches(int sysfd, struct host_info *h)
{
    for (int i = 0; i < MAX_CACHE_INDEX && h->ncaches < HOST_MAX_CACHES; i++) {
        char rel[96];
        snprintf(rel, sizeof(rel), "devices/system/cpu/cpu0/cache/index%d", i);
        if (faccessat(sysfd, rel, F_OK, 0) != 0)
            break;
        struct host_cache *c = &h->caches[h->ncaches];
        read_cache(sysfd, i, c);
        /* A leaf without a type says nothing a report could use. */
        if (c->type[0])
            h->ncaches++;
    }
}

/*
 * cpu0's governor, then every other online CPU's compared with it: one CPU
 * left on "powersave" is enough to skew a benchmark that migrates onto it.
 */
static int read_governors(int sysfd, struct host_info *h)
{
    char rel[96], gov[sizeof(h->governor)];
    char buf[SMALL_CAP];
    size_t n, ncpus = 0;
    bool *online = calloc(HOST_MAX_CPU, sizeof(*online));
    if (!online)
        return -ENOMEM;

    if (sysfile_read_small(sysfd, "devices/system/cpu/online", buf, sizeof(buf), &n) == 0 &&
        host_parse_cpulist(buf, n, online, HOST_MAX_CPU) > 0) {
        ncpus = HOST_MAX_CPU;
    } else {
        /* Without the online list, cpuinfo's processors are numbered densely from 0. */
        ncpus = h->cpus > 0 ? (size_t)h->cpus : 1;
        for (size_t i = 0; i < ncpus; i++)
            online[i] = true;
    }

    read_line(sysfd, "devices/system/cpu/cpu0/cpufreq/scaling_governor", h->governor, sizeof(h->governor));
    for (size_t cpu = 1; cpu < ncpus; cpu++) {
        if (!online[cpu])
            continue;
        snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%zu/cpufreq/scaling_governor", cpu);
        read_line(sysfd, rel, gov, sizeof(gov));
        if (!gov[0])
            continue;
        if (!h->governor[0]) {
            memcpy(h->governor, gov, sizeof(gov));
        } else if (strcmp(gov, h->governor) != 0) {
            h->governor_mixed = true;
            break;
        }
    }
    free(online);
    return 0;
}

int host_read(const char *procfs, const char *sysfs, struct host_info *h, struct pk_err *e)
{
    memset(h, 0, sizeof(*h));
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    int procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return err_errno(e, -errno, procfs, "cannot open procfs root");
    /* A missing sysfs (a container without /sys) only leaves its fields unknown. */
    int sysfd = sysfs ? open(sysfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    int rc = 0;

    read_line(procfd, "sys/kernel/hostname", h->hostname, sizeof(h->hostname));
    read_line(procfd, "sys/kernel/osrelease", h->kernel, sizeof(h->kernel));

    char *info = NULL;
    size_t n = 0;
    int r = sysfile_read_alloc(procfd, "cpuinfo", CPUINFO_CAP, &info, &n);
    if (r == -ENOMEM) {
        rc = err_errno(e, r, procfs, "cannot read cpuinfo");
        goto out;
    }
    if (r == 0) {
        host_parse_cpuinfo(info, n, h);
        free(info);
    }

    char buf[SMALL_CAP];
    if (sysfile_read_small(procfd, "loadavg", buf, sizeof(buf), &n) == 0)
        h->load_known = host_parse_loadavg(buf, n, h->load) == 0;

    if (sysfd >= 0) {
        r = read_governors(sysfd, h);
        if (r < 0) {
            rc = err_errno(e, r, sysfs, "cannot read CPU frequency governors");
            goto out;
        }
        read_caches(sysfd, h);
    }

out:
    if (sysfd >= 0)
        close(sysfd);
    close(procfd);
    return rc;
}
