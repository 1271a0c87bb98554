#include "sys/cpu.h"
#include "sys/sysfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/check.h"
#include "core/err.h"

static const char *const mode_names[CPU_NMODES] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice",
};

const char *cpu_mode_name(enum cpu_mode m)
{
    return (unsigned)m < CPU_NMODES ? mode_names[m] : NULL;
}

double cpu_seconds(const struct cpu_times *t, enum cpu_mode m)
{
    if ((unsigned)m >= CPU_NMODES)
        return 0;
    return (double)t->ticks[m] / CPU_USER_HZ;
}

void cpu_stat_init(struct cpu_stat *st)
{
    memset(st, 0, sizeof(*st));
    st->user_hz = CPU_USER_HZ;
    st->total.cpu = -1;
}

void cpu_stat_destroy(struct cpu_stat *st)
{
    free(st->cpus);
    cpu_stat_init(st);
}

/* ---- parser ------------------------------------------------------------- */

static int reject(struct pk_err *e, size_t line, const char *what, const char *why)
{
    char on[32];
    snprintf(on, sizeof(on), "stat:%zu", line);
    return err_set(e, PK_EPARSE, on, what, "%s", why);
}

static bool key_is(const char *k, size_t klen, const char *lit)
{
    size_t n = strlen(lit);
    return klen == n && memcmp(k, lit, n) == 0;
}

/*
 * The numbers after a cpu key; p points past the key, end at the line's end
 * (trailing blanks removed). Fields past CPU_NMODES are a future kernel's and
 * are not looked at.
 */
static int parse_cpu_fields(const char *p, const char *end, struct cpu_times *t)
{
    int n = 0;
    memset(t->ticks, 0, sizeof(t->ticks));
    while (n < CPU_NMODES) {
        const char *start = p;
        while (p < end && sysfile_is_blank(*p))
            p++;
        if (p == end)
            break;
        if (p == start)
            return PK_EPARSE;
        if (sysfile_parse_uint(&p, end, UINT64_MAX, &t->ticks[n]) != 0)
            return PK_EPARSE;
        if (p < end && !sysfile_is_blank(*p))
            return PK_EPARSE;
        n++;
    }
    /* user, nice, system and idle have been there since Linux 2.4. */
    if (n < 4)
        return PK_EPARSE;
    t->nmodes = n;
    return 0;
}

/* One number after the key, nothing else but blanks (more = true: anything may follow it). */
static int parse_scalar(const char *p, const char *end, bool more, uint64_t *out)
{
    const char *start = p;
    while (p < end && sysfile_is_blank(*p))
        p++;
    if (p == start)
        return PK_EPARSE;
    if (sysfile_parse_uint(&p, end, UINT64_MAX, out) != 0)
        return PK_EPARSE;
    if (p < end && !sysfile_is_blank(*p))
        return PK_EPARSE;
    if (more)
        return 0;
    while (p < end && sysfile_is_blank(*p))
        p++;
    return p == end ? 0 : PK_EPARSE;
}

static int grow(struct cpu_stat *st)
{
    size_t ncap = st->cap ? st->cap * 2 : 16;
    if (ncap > CPU_MAX_CPUS)
        ncap = CPU_MAX_CPUS;
    struct cpu_times *n = realloc(st->cpus, ncap * sizeof(*n));
    if (!n)
        return -ENOMEM;
    st->cpus = n;
    st->cap = ncap;
    return 0;
}

/* In the order of the pointers in parse_line(). */
static const struct {
    const char *key;
    unsigned flag;
    bool more;
} scalars[] = {
    { "ctxt", CPU_HAVE_CTXT, false },
    { "btime", CPU_HAVE_BTIME, false },
    { "processes", CPU_HAVE_PROCESSES, false },
    { "procs_running", CPU_HAVE_RUNNING, false },
    { "procs_blocked", CPU_HAVE_BLOCKED, false },
    /* The per-IRQ counts after the total are not needed by anyone yet. */
    { "intr", CPU_HAVE_INTR, true },
};

static int parse_line(const char *p, const char *end, size_t line, struct cpu_stat *st, struct pk_err *e)
{
    const char *k = p;
    while (p < end && !sysfile_is_blank(*p))
        p++;
    size_t klen = (size_t)(p - k);

    if (klen >= 3 && memcmp(k, "cpu", 3) == 0) {
        const char *q = k + 3;
        uint64_t num = 0;
        bool total = klen == 3;
        if (!total) {
            /* "cpufreq" or any other cpu-something key is not a CPU line. */
            for (const char *c = q; c < p; c++)
                if (!sysfile_is_digit(*c))
                    return 0;
            if (sysfile_parse_uint(&q, p, CPU_MAX_CPUS - 1, &num) != 0)
                return reject(e, line, "malformed cpu line", "CPU number past the limit");
        }
        struct cpu_times t;
        t.cpu = total ? -1 : (int)num;
        if (parse_cpu_fields(p, end, &t) != 0)
            return reject(e, line, "malformed cpu line",
                          "expected at least 4 unsigned tick counts after the key");
        if (total) {
            if (st->have & CPU_HAVE_TOTAL)
                return reject(e, line, "malformed cpu line", "a second \"cpu\" line");
            st->total = t;
            st->have |= CPU_HAVE_TOTAL;
            return 0;
        }
        /* Ascending order is how the kernel prints them, and it rules out duplicates cheaply. */
        if (st->ncpus > 0 && st->cpus[st->ncpus - 1].cpu >= t.cpu)
            return reject(e, line, "malformed cpu line", "CPU numbers out of order or repeated");
        if (st->ncpus == st->cap) {
            int r = grow(st);
            if (r < 0)
                return err_errno(e, r, "stat", "cannot grow the per-CPU table");
        }
        PK_ASSERT(st->ncpus < st->cap);
        st->cpus[st->ncpus++] = t;
        return 0;
    }

    uint64_t *const fields[] = { &st->ctxt,          &st->btime,         &st->processes,
                                 &st->procs_running, &st->procs_blocked, &st->intr };
    _Static_assert(sizeof(fields) / sizeof(fields[0]) == sizeof(scalars) / sizeof(scalars[0]),
                   "one field per scalar key");
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
        if (!key_is(k, klen, scalars[i].key))
            continue;
        if (st->have & scalars[i].flag)
            return reject(e, line, "repeated line", scalars[i].key);
        if (parse_scalar(p, end, scalars[i].more, fields[i]) != 0)
            return reject(e, line, "malformed line", scalars[i].key);
        st->have |= scalars[i].flag;
        return 0;
    }
    return 0;
}

/* Empty, keeping the per-CPU array for the next read. */
static void reset(struct cpu_stat *st)
{
    struct cpu_times *cpus = st->cpus;
    size_t cap = st->cap;
    cpu_stat_init(st);
    st->cpus = cpus;
    st->cap = cap;
}

int cpu_parse_stat(const char *buf, size_t len, struct cpu_stat *st, struct pk_err *e)
{
    reset(st);

    struct sysfile_lines it;
    const char *s, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &s, &eol)) {
        int r = parse_line(s, s + sysfile_rtrim_len(s, (size_t)(eol - s)), it.no, st, e);
        if (r != 0) {
            reset(st);
            return r;
        }
    }
    return 0;
}

/* ---- file --------------------------------------------------------------- */

static int parse_stat(const char *buf, size_t len, void *st, struct pk_err *e)
{
    return cpu_parse_stat(buf, len, st, e);
}

int cpu_read(const char *procfs, struct cpu_stat *st, struct pk_err *e)
{
    reset(st);
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    return sysfile_parse_file(procfs, "stat", CPU_STAT_CAP, 0, parse_stat, st, e);
}

/* ---- utilisation -------------------------------------------------------- */

int cpu_util(const struct cpu_times *a, const struct cpu_times *b, struct cpu_util *u)
{
    uint64_t d[CPU_NMODES], elapsed = 0;
    memset(u, 0, sizeof(*u));
    u->cpu = b->cpu;
    for (int m = 0; m < CPU_NMODES; m++) {
        d[m] = b->ticks[m] > a->ticks[m] ? b->ticks[m] - a->ticks[m] : 0;
        /* guest and guest_nice are already inside user and nice. */
        if (m != CPU_GUEST && m != CPU_GUEST_NICE)
            elapsed += d[m];
    }
    if (elapsed == 0)
        return -ENODATA;
    for (int m = 0; m < CPU_NMODES; m++)
        u->pct[m] = 100.0 * (double)d[m] / (double)elapsed;
    u->busy_pct = 100.0 * (double)(d[CPU_USER] + d[CPU_NICE] + d[CPU_SYSTEM] + d[CPU_IRQ] + d[CPU_SOFTIRQ]) /
                  (double)elapsed;
    u->valid = true;
    return 0;
}

/* a's entry for CPU number cpu; the parser keeps the array ascending. */
static const struct cpu_times *find_cpu(const struct cpu_stat *a, int cpu, size_t hint)
{
    if (hint < a->ncpus && a->cpus[hint].cpu == cpu)
        return &a->cpus[hint];
    size_t lo = 0, hi = a->ncpus;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->cpus[mid].cpu < cpu)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->ncpus && a->cpus[lo].cpu == cpu ? &a->cpus[lo] : NULL;
}

int cpu_util_all(const struct cpu_stat *a, const struct cpu_stat *b, struct cpu_util *total,
                 struct cpu_util *per, size_t nper)
{
    if (nper < b->ncpus)
        return -EINVAL;
    for (size_t i = 0; i < b->ncpus; i++) {
        const struct cpu_times *old = find_cpu(a, b->cpus[i].cpu, i);
        if (old) {
            cpu_util(old, &b->cpus[i], &per[i]);
        } else {
            memset(&per[i], 0, sizeof(per[i]));
            per[i].cpu = b->cpus[i].cpu;
        }
    }
    if (!(a->have & CPU_HAVE_TOTAL) || !(b->have & CPU_HAVE_TOTAL)) {
        memset(total, 0, sizeof(*total));
        total->cpu = -1;
        return -ENODATA;
    }
    return cpu_util(&a->total, &b->total, total);
}
