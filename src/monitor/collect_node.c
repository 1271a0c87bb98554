/*
 * collect_node - the collectors of the kernel's system-wide counters: cpu
 * (/proc/stat), loadavg, meminfo, pressure, filefd, uname, time, and the
 * uptime of /api/status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "core/check.h"
#include "core/err.h"
#include "monitor/collect_impl.h"
#include "sys/host.h"
#include "sys/psi.h"
#include "sys/sysctl.h"
#include "sys/sysfile.h"

/* ---- cpu: /proc/stat ------------------------------------------------------------ */

/* node_exporter's node_cpu_seconds_total modes: guest and guest_nice go to their own family. */
#define NODE_CPU_MODES (CPU_STEAL + 1)

int collect_read_cpu(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)now_ms;
    PK_ASSERT(c->cpu_cur == 0 || c->cpu_cur == 1);
    int next = c->cpu_cur ^ 1;
    struct cpu_stat *st = &c->cpu[next];
    const char *buf;
    size_t len;
    int rc = sysfile_kept_read(&c->f_stat, c->procfs, "stat", CPU_STAT_CAP, &buf, &len, ce);
    if (rc == 0 && (rc = cpu_parse_stat(buf, len, st, ce)) < 0)
        sysfile_name_err(ce, c->procfs, "stat");
    if (rc < 0) {
        c->cpu_prev_ok = false; /* a rate across the gap would hide it */
        return rc;
    }
    const struct cpu_stat *prev = c->cpu_prev_ok ? &c->cpu[c->cpu_cur] : NULL;
    c->cpu_cur = next;
    c->cpu_prev_ok = true;
    c->status.cpus = (int)st->ncpus;

    char num[16];
    uint32_t f = fam(o, "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", METRIC_COUNTER);
    for (size_t i = 0; i < st->ncpus; i++) {
        snprintf(num, sizeof(num), "%d", st->cpus[i].cpu);
        for (int m = 0; m < NODE_CPU_MODES; m++) {
            struct metric_label l[2] = { { "cpu", num }, { "mode", cpu_mode_name(m) } };
            add(o, f, l, 2, cpu_seconds(&st->cpus[i], m));
        }
    }
    f = fam(o, "node_cpu_guest_seconds_total", "Seconds the CPUs spent in guests (VMs) for each mode.",
            METRIC_COUNTER);
    for (size_t i = 0; i < st->ncpus; i++) {
        snprintf(num, sizeof(num), "%d", st->cpus[i].cpu);
        struct metric_label u[2] = { { "cpu", num }, { "mode", "user" } };
        add(o, f, u, 2, cpu_seconds(&st->cpus[i], CPU_GUEST));
        struct metric_label n[2] = { { "cpu", num }, { "mode", "nice" } };
        add(o, f, n, 2, cpu_seconds(&st->cpus[i], CPU_GUEST_NICE));
    }
    if (st->have & CPU_HAVE_BTIME) {
        add1(o, "node_boot_time_seconds", "Node boot time, in unixtime.", METRIC_GAUGE, (double)st->btime);
        c->status.boot_time_s = (double)st->btime;
    }
    if (st->have & CPU_HAVE_CTXT)
        add1(o, "node_context_switches_total", "Total number of context switches.", METRIC_COUNTER,
             (double)st->ctxt);
    if (st->have & CPU_HAVE_PROCESSES)
        add1(o, "node_forks_total", "Total number of forks.", METRIC_COUNTER, (double)st->processes);
    if (st->have & CPU_HAVE_INTR)
        add1(o, "node_intr_total", "Total number of interrupts serviced.", METRIC_COUNTER, (double)st->intr);
    if (st->have & CPU_HAVE_RUNNING)
        add1(o, "node_procs_running", "Number of processes in runnable state.", METRIC_GAUGE,
             (double)st->procs_running);
    if (st->have & CPU_HAVE_BLOCKED)
        add1(o, "node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
             METRIC_GAUGE, (double)st->procs_blocked);

    if (!prev)
        return 0;
    if (c->util_cap < st->ncpus) {
        struct cpu_util *u = realloc(c->util, st->ncpus * sizeof(*u));
        if (!u) {
            o->rc = err_errno(o->e, -ENOMEM, "cpu", "cannot compute CPU utilisation");
            return 0;
        }
        c->util = u;
        c->util_cap = st->ncpus;
    }
    struct cpu_util total;
    if (cpu_util_all(prev, st, &total, c->util, c->util_cap) != 0 || !total.valid)
        return 0; /* no tick elapsed: nothing to say yet */
    add1(o, "perfkit_cpu_utilization_ratio",
         "Share of the time all CPUs were busy (user, nice, system, irq, softirq) over the last interval.",
         METRIC_GAUGE, total.busy_pct / 100);
    f = fam(o, "perfkit_cpu_core_utilization_ratio",
            "Share of the time each CPU was busy (user, nice, system, irq, softirq) over the last interval.",
            METRIC_GAUGE);
    for (size_t i = 0; i < st->ncpus; i++) {
        if (!c->util[i].valid)
            continue;
        snprintf(num, sizeof(num), "%d", c->util[i].cpu);
        struct metric_label l[1] = { { "cpu", num } };
        add(o, f, l, 1, c->util[i].busy_pct / 100);
    }
    f = fam(o, "perfkit_cpu_mode_ratio",
            "Share of the time of all CPUs spent in each mode over the last interval (the modes sum to 1; "
            "guest time is inside user and nice).",
            METRIC_GAUGE);
    for (int m = 0; m < NODE_CPU_MODES; m++) {
        struct metric_label l[1] = { { "mode", cpu_mode_name(m) } };
        add(o, f, l, 1, total.pct[m] / 100);
    }
    return 0;
}

/* ---- loadavg -------------------------------------------------------------------- */

int collect_read_loadavg(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)now_ms;
    const char *buf;
    size_t n;
    int rc = sysfile_kept_read(&c->f_loadavg, c->procfs, "loadavg", SMALL_FILE, &buf, &n, ce);
    if (rc < 0)
        return rc;
    double load[3];
    if (host_parse_loadavg(buf, n, load) != 0) {
        char path[512];
        snprintf(path, sizeof(path), "%s/loadavg", c->procfs);
        return err_set(ce, PK_EPARSE, path, "cannot parse load average", "expected three decimals");
    }
    add1(o, "node_load1", "1m load average.", METRIC_GAUGE, load[0]);
    add1(o, "node_load5", "5m load average.", METRIC_GAUGE, load[1]);
    add1(o, "node_load15", "15m load average.", METRIC_GAUGE, load[2]);
    return 0;
}

/* ---- meminfo -------------------------------------------------------------------- */

/* A meminfo key's family name and help, made once: the keys come in the same order every sample. */
struct collect_memname {
    char key[MEM_KEY_MAX];
    bool has_unit;
    bool skip; /* a name that cannot be made (never, with keys under MEM_KEY_MAX) */
    char name[MEM_KEY_MAX + 32], help[MEM_KEY_MAX + 40];
};

static const struct collect_memname *memname(struct collect *c, size_t i, const struct mem_entry *en)
{
    if (i >= c->nmemnames) {
        size_t n = i + 1 > 2 * c->nmemnames ? i + 1 : 2 * c->nmemnames;
        struct collect_memname *v = realloc(c->memnames, n * sizeof(*v));
        if (!v)
            return NULL;
        memset(v + c->nmemnames, 0, (n - c->nmemnames) * sizeof(*v));
        c->memnames = v;
        c->nmemnames = n;
    }
    struct collect_memname *mn = &c->memnames[i];
    if (mn->key[0] && mn->has_unit == en->has_unit && strcmp(mn->key, en->key) == 0)
        return mn;
    snprintf(mn->key, sizeof(mn->key), "%s", en->key);
    mn->has_unit = en->has_unit;
    char part[MEM_KEY_MAX + 8];
    size_t len = mem_metric_name(en->key, part, MEM_KEY_MAX);
    mn->skip = len >= MEM_KEY_MAX;
    if (mn->skip)
        return mn;
    if (en->has_unit)
        memcpy(part + len, "_bytes", 7);
    snprintf(mn->name, sizeof(mn->name), "node_memory_%s", part);
    snprintf(mn->help, sizeof(mn->help), "Memory information field %s.", part);
    return mn;
}

int collect_read_meminfo(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)now_ms;
    const char *buf;
    size_t blen;
    int rc = sysfile_kept_read(&c->f_meminfo, c->procfs, "meminfo", MEMINFO_CAP, &buf, &blen, ce);
    if (rc == 0 && (rc = mem_parse(buf, blen, &c->mem, ce)) < 0)
        sysfile_name_err(ce, c->procfs, "meminfo");
    if (rc < 0)
        return rc;
    const struct mem_info *m = &c->mem;
    for (size_t i = 0; i < m->n; i++) {
        const struct mem_entry *en = &m->entries[i];
        const struct collect_memname *mn = memname(c, i, en);
        if (!mn) {
            o->rc = err_errno(o->e, -ENOMEM, "meminfo", "cannot name the memory families");
            return 0;
        }
        if (mn->skip)
            continue; /* cannot happen: keys are shorter than MEM_KEY_MAX */
        /* Two keys with one name ("A(b)" and "A_b") would make a duplicate series: the first wins. */
        const struct metric_family *f = metric_find_family(o->set, mn->name);
        if (f && f->n > 0)
            continue;
        add1(o, mn->name, mn->help, METRIC_GAUGE, (double)en->value);
    }
    if (m->total > 0)
        add1(o, "perfkit_memory_used_ratio",
             m->available_estimated
                 ? "Share of memory in use: (MemTotal - available) / MemTotal, available estimated as "
                   "MemFree + Buffers + Cached (this kernel has no MemAvailable)."
                 : "Share of memory in use: (MemTotal - MemAvailable) / MemTotal.",
             METRIC_GAUGE, m->used_pct / 100);
    add1(o, "perfkit_swap_used_ratio",
         "Share of swap in use: (SwapTotal - SwapFree) / SwapTotal; 0 without swap.", METRIC_GAUGE,
         m->swap_used_pct / 100);
    return 0;
}

/* ---- pressure ------------------------------------------------------------------- */

int collect_read_pressure(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)now_ms;
    struct psi_info p;
    memset(&p, 0, sizeof(p));
    static const char *const rels[PSI_NRES] = {
        [PSI_CPU] = "pressure/cpu",
        [PSI_MEMORY] = "pressure/memory",
        [PSI_IO] = "pressure/io",
        [PSI_IRQ] = "pressure/irq",
    };
    for (int r = 0; r < PSI_NRES; r++) {
        const char *rel = rels[r];
        const char *buf;
        size_t len;
        struct pk_err re;
        pk_err_clear(&re);
        if (c->psi_absent & (1u << r))
            continue;
        int rc = sysfile_kept_read(&c->f_psi[r], c->procfs, rel, PSI_FILE_CAP, &buf, &len, &re);
        /* no PSI here (old kernel, container, psi=0): unavailable, not broken (as psi_read);
         * a file the running kernel lacks does not appear later: not looked for again */
        if (rc == -ENOENT || rc == -ENOTDIR || rc == -EOPNOTSUPP) {
            if (c->live && rc == -ENOENT)
                c->psi_absent |= 1u << r;
            continue;
        }
        if (rc == 0 && (rc = psi_parse(buf, len, (enum psi_resource)r, &p.res[r], &re)) < 0)
            sysfile_name_err(&re, c->procfs, rel);
        if (rc < 0) {
            if (ce)
                *ce = re;
            return rc;
        }
    }
    bool any = false;
    for (int r = 0; r < PSI_NRES; r++)
        any |= p.res[r].available;
    if (!any) {
        char path[512];
        snprintf(path, sizeof(path), "%s/pressure", c->procfs);
        return err_set(ce, -ENOENT, path, "pressure stall information unavailable",
                       "no pressure file (kernel before 4.20, CONFIG_PSI off, or psi=0)");
    }
    /* node_exporter's families: "some" is waiting, "full" is stalled; cpu's full is
     * always 0 at system level and node_exporter leaves it out. */
    static const struct {
        enum psi_resource res;
        bool full;
        const char *name, *help;
    } fams[] = {
        { PSI_CPU, false, "node_pressure_cpu_waiting_seconds_total",
          "Total time in seconds that processes have waited for CPU time" },
        { PSI_IO, false, "node_pressure_io_waiting_seconds_total",
          "Total time in seconds that processes have waited due to IO congestion" },
        { PSI_IO, true, "node_pressure_io_stalled_seconds_total",
          "Total time in seconds no process could make progress due to IO congestion" },
        { PSI_MEMORY, false, "node_pressure_memory_waiting_seconds_total",
          "Total time in seconds that processes have waited for memory" },
        { PSI_MEMORY, true, "node_pressure_memory_stalled_seconds_total",
          "Total time in seconds no process could make progress due to memory congestion" },
        { PSI_IRQ, true, "node_pressure_irq_stalled_seconds_total",
          "Total time in seconds no process could make progress due to IRQ congestion" },
    };
    for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
        const struct psi_res *r = &p.res[fams[i].res];
        const struct psi_line *l = fams[i].full ? &r->full : &r->some;
        if (r->available && l->known)
            add1(o, fams[i].name, fams[i].help, METRIC_COUNTER, psi_seconds(l));
    }
    return 0;
}

/* ---- filefd --------------------------------------------------------------------- */

int collect_read_filefd(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)now_ms;
    static const char rel[] = "sys/fs/file-nr";
    struct sysctl_file_nr f;
    const char *buf;
    size_t len;
    int rc = sysfile_kept_read(&c->f_filenr, c->procfs, rel, SYSCTL_VALUE_CAP, &buf, &len, ce);
    if (rc < 0)
        return rc;
    if (sysctl_parse_file_nr(buf, len, &f) != 0) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", c->procfs, rel);
        return err_set(ce, PK_EPARSE, path, "malformed value",
                       "expected allocated, unused and maximum file handles");
    }
    add1(o, "node_filefd_allocated", "File descriptor statistics: allocated.", METRIC_GAUGE,
         (double)f.allocated);
    add1(o, "node_filefd_maximum", "File descriptor statistics: maximum.", METRIC_GAUGE, (double)f.max);
    if (f.max > 0)
        add1(o, "perfkit_fd_used_ratio", "Share of the system's file handles in use: allocated / maximum.",
             METRIC_GAUGE, (double)f.allocated / (double)f.max);
    return 0;
}

/* ---- uname ---------------------------------------------------------------------- */

/* The first line of <procfs>/sys/kernel/<name> into dst. */
static int kernel_line(const char *procfs, const char *name, char *dst, size_t cap, struct pk_err *e)
{
    char rel[64], buf[SMALL_FILE];
    size_t n;
    snprintf(rel, sizeof(rel), "sys/kernel/%s", name);
    int rc = sysfile_load_small(procfs, rel, buf, sizeof(buf), &n, e);
    if (rc < 0) {
        dst[0] = '\0';
        return rc;
    }
    host_parse_line(buf, n, dst, cap);
    return 0;
}

int collect_read_uname(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)now_ms;
    char sysname[64], release[128], version[256], nodename[256], domainname[256], machine[128];
    int rc = kernel_line(c->procfs, "ostype", sysname, sizeof(sysname), ce);
    if (rc == 0)
        rc = kernel_line(c->procfs, "osrelease", release, sizeof(release), ce);
    if (rc == 0)
        rc = kernel_line(c->procfs, "version", version, sizeof(version), ce);
    if (rc == 0)
        rc = kernel_line(c->procfs, "hostname", nodename, sizeof(nodename), ce);
    if (rc < 0)
        return rc;
    snprintf(c->status.hostname, sizeof(c->status.hostname), "%s", nodename);
    snprintf(c->status.kernel, sizeof(c->status.kernel), "%s", release);
    if (kernel_line(c->procfs, "domainname", domainname, sizeof(domainname), NULL) < 0)
        snprintf(domainname, sizeof(domainname), "(none)");
    /* sys/kernel/arch exists since Linux 6.1; before, the running kernel's uname(2)
     * tells the same (a container shares the host's kernel). */
    if (kernel_line(c->procfs, "arch", machine, sizeof(machine), NULL) < 0) {
        struct utsname u;
        snprintf(machine, sizeof(machine), "%s", uname(&u) == 0 ? u.machine : "");
    }
    uint32_t f = fam(o, "node_uname_info", "Labeled system information as provided by the uname system call.",
                     METRIC_GAUGE);
    struct metric_label l[6] = {
        { "domainname", domainname }, { "machine", machine }, { "nodename", nodename },
        { "release", release },       { "sysname", sysname }, { "version", version },
    };
    add(o, f, l, 6, 1);
    return 0;
}

/* ---- time and uptime ------------------------------------------------------------ */

int collect_read_time(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)c;
    (void)ce;
    add1(o, "node_time_seconds", "System time in seconds since epoch (1970).", METRIC_GAUGE,
         (double)now_ms / 1000);
    return 0;
}

/* <procfs>/uptime's first number; -1 if it cannot be read. */
double collect_read_uptime(struct collect *c)
{
    const char *buf;
    size_t n;
    if (sysfile_kept_read(&c->f_uptime, c->procfs, "uptime", SMALL_FILE, &buf, &n, NULL) < 0)
        return -1;
    const char *p = buf, *end = buf + n;
    double v;
    if (sysfile_parse_decimal(&p, end, &v) != 0 || (p < end && !sysfile_is_space(*p)))
        return -1;
    return v;
}
