/*
 * diagnose - bottlenecks over a sampling window: two snapshots of the
 * src/sys readers, sample_s apart, compared with the limits of
 * docs/doctor.md. Each bottleneck names its culprit and the guide's
 * recommendation made concrete for it.
 */
#include "doctor/doctor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "doctor/process.h"
#include "doctor/storage.h"
#include "sys/cpu.h"
#include "sys/disk.h"
#include "sys/net.h"
#include "sys/host.h"
#include "sys/mem.h"
#include "sys/procs.h"
#include "sys/psi.h"
#include "sys/sysctl.h"

#define TOP 3

struct snap {
    struct cpu_stat cpu;
    struct procs_snap procs;
    struct psi_info psi;
    struct net_dev_list net;
    struct disk_list disks;
    bool cpu_ok, procs_ok, psi_ok, net_ok, disks_ok;
    /* the later snapshot only: procs_diff against the earlier, which gives
     * each process its cpu_pct (the culprits of cpu.busy) and in_prev */
    struct procs_change change;
    bool change_ok;
};

static void snap_take(const struct doctor_opts *o, struct snap *s)
{
    struct pk_err e;
    struct procs_opts po;
    procs_opts_init(&po);
    po.read = PROCS_STATUS;
    s->cpu_ok = cpu_read(o->procfs, &s->cpu, &e) == 0;
    s->procs_ok = procs_snapshot(o->procfs, &po, &s->procs, &e) == 0;
    s->psi_ok = psi_read(o->procfs, &s->psi, &e) == 0;
    s->net_ok = net_read_dev(o->procfs, &s->net, &e) == 0;
    s->disks_ok = disk_read(o->procfs, &s->disks, &e) == 0;
}

static void snap_destroy(struct snap *s)
{
    cpu_stat_destroy(&s->cpu);
    procs_snap_destroy(&s->procs);
    net_dev_list_destroy(&s->net);
    disk_list_destroy(&s->disks);
}

/* The device busiest over the window, for an iowait verdict. */
static void busiest_disk(const struct snap *a, const struct snap *b, double secs, char *dst, size_t cap)
{
    double best = -1;
    dst[0] = '\0';
    if (!a->disks_ok || !b->disks_ok)
        return;
    for (size_t i = 0; i < b->disks.n; i++) {
        const struct disk_stats *d = &b->disks.v[i];
        const struct disk_stats *p = disk_find(&a->disks, d->name);
        if (!p || disk_name_ignored(d->name))
            continue;
        double busy = disk_busy_pct(p, d, secs);
        if (busy > best) {
            best = busy;
            snprintf(dst, cap, "%s %.0f%% busy", d->name, busy);
        }
    }
}

static int diagnose_net(struct finding_report *r, const struct snap *a, const struct snap *b)
{
    if (!a->net_ok || !b->net_ok)
        return 0;
    for (size_t i = 0; i < b->net.n; i++) {
        const struct net_dev *d = &b->net.v[i];
        const struct net_dev *p = net_dev_find(&a->net, d->name);
        if (!p)
            continue;
        uint64_t err = (d->rx_errs - p->rx_errs) + (d->tx_errs - p->tx_errs);
        uint64_t drop = (d->rx_drop - p->rx_drop) + (d->tx_drop - p->tx_drop);
        if (d->rx_errs < p->rx_errs || d->tx_errs < p->tx_errs || d->rx_drop < p->rx_drop ||
            d->tx_drop < p->tx_drop || err + drop == 0)
            continue; /* counters reset, or nothing happened */
        char id[48];
        snprintf(id, sizeof(id), "net.errors.%s", d->name);
        struct bottleneck *x = finding_add_bottleneck(r, id, "network");
        if (!x)
            return -ENOMEM;
        x->status = FINDING_WARN;
        x->value = (double)(err + drop);
        snprintf(x->observed, sizeof(x->observed), "%s: %llu errors, %llu drops in the window", d->name,
                 (unsigned long long)err, (unsigned long long)drop);
        snprintf(x->culprit, sizeof(x->culprit), "interface %s", d->name);
        snprintf(x->advice, sizeof(x->advice),
                 "Drops mean full queues: raise net.core.netdev_max_backlog "
                 "and the ring buffers (ethtool -G %s rx 4096); errors point at the link, cable or "
                 "driver (ethtool -S %s).",
                 d->name, d->name);
    }
    return 0;
}

/* Sleeps sample_s in small steps so Ctrl-C ends the window at once. */
static void wait_window(const struct doctor_opts *o)
{
    double left = o->sample_s;
    while (left > 0 && !(o->stop && *o->stop)) {
        double step = left < 0.1 ? left : 0.1;
        struct timespec ts = { (time_t)step, (long)((step - (double)(time_t)step) * 1e9) };
        nanosleep(&ts, NULL);
        left -= step;
    }
}

static enum finding_status grade(double v, double warn, double crit)
{
    return v > crit ? FINDING_CRIT : v > warn ? FINDING_WARN : FINDING_OK;
}

/* A process's name for a message: comm is the kernel's raw bytes (anything but NUL). */
#define COMM_QUOTED (PROCS_COMM_LEN * 4)
static const char *comm_of(const struct procs_proc *p, char dst[COMM_QUOTED])
{
    return err_quote(p->comm, strlen(p->comm), dst, COMM_QUOTED);
}

/* "name (pid 12) 93%, other (pid 7) 41%" from a top list. */
static void list_top(char *dst, size_t cap, const struct procs_proc **top, size_t n, bool cpu)
{
    size_t off = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < n && off < cap; i++) {
        int w;
        char comm[COMM_QUOTED];
        comm_of(top[i], comm);
        if (cpu)
            w = snprintf(dst + off, cap - off, "%s%s (pid %d) %.0f%%", i ? ", " : "", comm, top[i]->pid,
                         top[i]->cpu_pct);
        else
            w = snprintf(dst + off, cap - off, "%s%s (pid %d) %llu MiB", i ? ", " : "", comm, top[i]->pid,
                         (unsigned long long)((top[i]->status_known ? top[i]->vm_rss : top[i]->rss) >> 20));
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static int add(struct finding_report *r, const char *id, const char *area, enum finding_status st,
               double value, double limit, const char *unit, struct bottleneck **out)
{
    *out = NULL;
    if (st == FINDING_OK)
        return 0;
    struct bottleneck *b = finding_add_bottleneck(r, id, area);
    if (!b)
        return -ENOMEM;
    b->status = st;
    b->value = value;
    b->limit = limit;
    snprintf(b->unit, sizeof(b->unit), "%s", unit);
    *out = b;
    return 0;
}

static int diagnose_cpu(const struct doctor_opts *o, struct finding_report *r, const struct snap *a,
                        const struct snap *b)
{
    struct cpu_util u;
    if (!a->cpu_ok || !b->cpu_ok || cpu_util(&a->cpu.total, &b->cpu.total, &u) != 0)
        return 0;
    const struct procs_proc *top[TOP];
    size_t ntop = b->change_ok ? procs_top_cpu(&b->procs, TOP, top) : 0;
    char comm[COMM_QUOTED];
    struct bottleneck *x;
    int rc = add(r, "cpu.busy", "cpu", grade(u.busy_pct, 80, 95), u.busy_pct, 80, "%", &x);
    if (rc)
        return rc;
    if (x) {
        snprintf(x->observed, sizeof(x->observed), "CPU %.1f%% busy over %zu CPUs", u.busy_pct, b->cpu.ncpus);
        list_top(x->culprit, sizeof(x->culprit), top, ntop, true);
        snprintf(x->advice, sizeof(x->advice),
                 "Profile %s first (perf top -p PID); then spread the work (more workers, or more "
                 "CPUs) or cut it (caching, cheaper algorithms). Keep CPU below 80%%.",
                 ntop ? comm_of(top[0], comm) : "the busiest process");
    }
    static const struct {
        enum cpu_mode m;
        const char *id, *what, *advice;
    } waits[] = {
        { CPU_IOWAIT, "cpu.iowait", "waiting for I/O",
          "The CPUs idle waiting for disks: find the busy device (iostat -x 1), move hot data to "
          "faster storage, batch writes, or add page cache." },
        { CPU_STEAL, "cpu.steal", "stolen by the hypervisor",
          "Other guests take this VM's CPU time: move to a larger or dedicated instance type." },
    };
    for (size_t i = 0; i < 2; i++) {
        double v = u.pct[waits[i].m];
        if ((rc = add(r, waits[i].id, "cpu", grade(v, 10, 25), v, 10, "%", &x)))
            return rc;
        if (x) {
            snprintf(x->observed, sizeof(x->observed), "%.1f%% of CPU time %s", v, waits[i].what);
            snprintf(x->advice, sizeof(x->advice), "%s", waits[i].advice);
            if (waits[i].m == CPU_IOWAIT)
                busiest_disk(a, b, o->sample_s, x->culprit, sizeof(x->culprit));
            else
                snprintf(x->culprit, sizeof(x->culprit), "the hypervisor");
        }
    }
    return 0;
}

static int diagnose_load(const struct doctor_opts *o, struct finding_report *r, const struct snap *b)
{
    struct host_info h;
    struct pk_err e;
    if (host_read(o->procfs, o->sysfs, &h, &e) != 0 || !h.load_known || h.cpus <= 0)
        return 0;
    double cores = (double)h.cpus;
    struct bottleneck *x;
    int rc = add(r, "load", "cpu", grade(h.load[0], cores, 2 * cores), h.load[0], cores, "", &x);
    if (rc || !x)
        return rc;
    snprintf(x->observed, sizeof(x->observed), "load average %.2f on %d CPUs", h.load[0], h.cpus);
    if (b->procs_ok)
        snprintf(x->culprit, sizeof(x->culprit), "%zu running, %zu in uninterruptible (disk) sleep",
                 b->procs.states[PROCS_RUNNING], b->procs.states[PROCS_DISK_SLEEP]);
    snprintf(x->advice, sizeof(x->advice),
             "More runnable tasks than CPUs: if most are running, "
             "add CPUs or cut work; if many sleep on disk (D), the bottleneck is I/O.");
    return 0;
}

static int diagnose_memory(const struct doctor_opts *o, struct finding_report *r, const struct snap *b)
{
    struct mem_info m;
    struct pk_err e;
    mem_info_init(&m);
    int rc = 0;
    if (mem_read(o->procfs, &m, &e) == 0 && m.total) {
        struct bottleneck *x;
        rc = add(r, "mem.used", "memory", grade(m.used_pct, 80, 95), m.used_pct, 80, "%", &x);
        if (rc == 0 && x) {
            const struct procs_proc *top[TOP];
            size_t ntop = b->procs_ok ? procs_top_rss(&b->procs, TOP, top) : 0;
            char comm[COMM_QUOTED];
            snprintf(x->observed, sizeof(x->observed), "memory %.1f%% used (%llu of %llu MiB available)",
                     m.used_pct, (unsigned long long)(m.available >> 20),
                     (unsigned long long)(m.total >> 20));
            list_top(x->culprit, sizeof(x->culprit), top, ntop, false);
            snprintf(x->advice, sizeof(x->advice),
                     "Check %s for growth (perfkit doctor --process NAME --sample 60s); cap caches and "
                     "pools, use streaming instead of loading whole data sets, or add memory. Keep "
                     "memory below 80%%.",
                     ntop ? comm_of(top[0], comm) : "the largest process");
        }
    }
    mem_info_destroy(&m);
    return rc;
}

static int diagnose_psi(struct finding_report *r, const struct snap *b)
{
    if (!b->psi_ok)
        return 0;
    static const struct {
        enum psi_resource res;
        double warn;
        const char *id, *advice;
    } t[] = {
        { PSI_CPU, 20, "psi.cpu", "Tasks wait for a CPU: the CPUs are oversubscribed." },
        { PSI_MEMORY, 10, "psi.memory", "Tasks stall in reclaim or swap-in: memory is short." },
        { PSI_IO, 20, "psi.io", "Tasks stall on I/O: the storage is the bottleneck." },
    };
    for (size_t i = 0; i < 3; i++) {
        const struct psi_res *p = &b->psi.res[t[i].res];
        if (!p->available || !p->some.known)
            continue;
        double full = p->full.known ? p->full.avg10 : 0;
        enum finding_status st = full > 10 ? FINDING_CRIT : grade(p->some.avg10, t[i].warn, 1e300);
        struct bottleneck *x;
        int rc = add(r, t[i].id,
                     t[i].res == PSI_IO       ? "disk"
                     : t[i].res == PSI_MEMORY ? "memory"
                                              : "cpu",
                     st, p->some.avg10, t[i].warn, "%", &x);
        if (rc)
            return rc;
        if (x) {
            snprintf(x->observed, sizeof(x->observed), "%s pressure: some %.1f%%, full %.1f%% (avg10)",
                     psi_resource_name(t[i].res), p->some.avg10, full);
            snprintf(x->advice, sizeof(x->advice), "%s", t[i].advice);
        }
    }
    return 0;
}

/* Processes and threads against the kernel's caps: at the cap, fork() and
 * pthread_create() fail with EAGAIN. */
static int diagnose_caps(const struct doctor_opts *o, struct finding_report *r, const struct snap *b)
{
    if (!b->procs_ok)
        return 0;
    static const struct {
        const char *sysctl, *id, *what;
    } caps[] = {
        { "kernel.pid_max", "procs.count", "processes" },
        { "kernel.threads-max", "procs.threads", "threads" },
    };
    for (size_t i = 0; i < 2; i++) {
        int64_t cap;
        struct pk_err e;
        if (sysctl_read_int(o->procfs, caps[i].sysctl, &cap, &e) != 0 || cap <= 0)
            continue;
        double n = i == 0 ? (double)b->procs.total : (double)b->procs.threads;
        double pct = 100.0 * n / (double)cap;
        struct bottleneck *x;
        int rc = add(r, caps[i].id, "process", grade(pct, 80, 95), pct, 80, "%", &x);
        if (rc)
            return rc;
        if (x) {
            snprintf(x->observed, sizeof(x->observed), "%.0f %s of %s %lld (%.1f%%)", n, caps[i].what,
                     caps[i].sysctl, (long long)cap, pct);
            snprintf(x->advice, sizeof(x->advice),
                     "Near the cap, new %s cannot start: find the leak "
                     "(ps -eo ppid= | sort | uniq -c | sort -n | tail) or raise %s.",
                     caps[i].what, caps[i].sysctl);
        }
    }
    return 0;
}

static int diagnose_procs(struct finding_report *r, const struct snap *a, const struct snap *b)
{
    if (!b->change_ok)
        return 0;
    const struct procs_change ch = b->change;
    double grew = (double)b->procs.total - (double)a->procs.total;
    double pct = a->procs.total ? 100.0 * grew / (double)a->procs.total : 0;
    enum finding_status st = (grew > 50 || pct > 5) ? FINDING_WARN : FINDING_OK;
    struct bottleneck *x;
    int rc = add(r, "procs.growth", "process", st, ch.procs_per_min, 0, "/min", &x);
    if (rc || !x)
        return rc;
    snprintf(x->observed, sizeof(x->observed), "%zu -> %zu processes (%.0f per minute)", a->procs.total,
             b->procs.total, ch.procs_per_min);
    snprintf(x->culprit, sizeof(x->culprit), "%zu started, %zu exited in the window", ch.started, ch.exited);
    snprintf(x->advice, sizeof(x->advice),
             "A count that keeps growing is a leak: find the parent "
             "spawning them (ps --ppid) and make sure children are reaped and pools bounded.");
    return 0;
}

int doctor_diagnose(const struct doctor_opts *o, struct finding_report *r, struct pk_err *e)
{
    struct snap a, b;
    int rc;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    cpu_stat_init(&a.cpu);
    cpu_stat_init(&b.cpu);
    procs_snap_init(&a.procs);
    procs_snap_init(&b.procs);
    r->sample_s = o->sample_s;

    snap_take(o, &a);
    wait_window(o);
    snap_take(o, &b);
    /* before any verdict: the CPU verdict names processes by the cpu_pct this sets */
    if (a.procs_ok && b.procs_ok) {
        struct pk_err de;
        b.change_ok = procs_diff(&a.procs, &b.procs, &b.change, &de) == 0;
    }
    if (!a.cpu_ok && (!a.procs_ok || a.procs.total == 0)) {
        rc = err_set(e, -ENOENT, o->procfs, "nothing to sample", "neither stat nor processes can be read");
        goto out;
    }
    if ((rc = diagnose_cpu(o, r, &a, &b)) || (rc = diagnose_load(o, r, &b)) ||
        (rc = diagnose_memory(o, r, &b)) || (rc = diagnose_psi(r, &b)) || (rc = diagnose_procs(r, &a, &b)) ||
        (rc = diagnose_caps(o, r, &b)) || (rc = diagnose_net(r, &a, &b)) || (rc = storage_usage(o, r))) {
        err_errno(e, rc, NULL, "diagnosis failed");
        goto out;
    }
    rc = process_findings(o, r, &b.procs, b.change_ok, e);
out:
    snap_destroy(&a);
    snap_destroy(&b);
    return rc;
}
