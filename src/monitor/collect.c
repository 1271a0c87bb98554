#include "monitor/collect.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include "core/err.h"
#include "sys/host.h"
#include "sys/psi.h"
#include "sys/sysctl.h"
#include "sys/sysfile.h"

static const char *const collector_names[COLLECT_NCOLLECTORS] = {
    [COLLECT_CPU] = "cpu",
    [COLLECT_LOADAVG] = "loadavg",
    [COLLECT_MEMINFO] = "meminfo",
    [COLLECT_FILESYSTEM] = "filesystem",
    [COLLECT_DISKSTATS] = "diskstats",
    [COLLECT_NETDEV] = "netdev",
    [COLLECT_TCPSTAT] = "tcpstat",
    [COLLECT_PRESSURE] = "pressure",
    [COLLECT_FILEFD] = "filefd",
    [COLLECT_PROCESSES] = "processes",
    [COLLECT_UNAME] = "uname",
    [COLLECT_TIME] = "time",
};

const char *collect_name(enum collect_id id)
{
    return (unsigned)id < COLLECT_NCOLLECTORS ? collector_names[id] : NULL;
}

/* /proc/uptime and the kernel's one-line files are far below this. */
#define SMALL_FILE 4096

void collect_opts_init(struct collect_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->growth_min_s = -1;
    o->interval_ms[COLLECT_TCPSTAT] = COLLECT_TCPSTAT_INTERVAL_MS;
    o->interval_ms[COLLECT_PROCESSES] = COLLECT_PROCESSES_INTERVAL_MS;
    o->interval_ms[COLLECT_UNAME] = COLLECT_UNAME_INTERVAL_MS;
}

/* ---- emitting ----------------------------------------------------------------- */

/*
 * The set under construction. Errors of the set (ENOMEM, or EINVAL: a bug
 * here) end the sample; the first is kept and later calls do nothing.
 */
struct out {
    struct metric_set *set;
    struct pk_err *e;
    int rc;
};

static uint32_t fam(struct out *o, const char *name, const char *help, enum metric_type type)
{
    uint32_t f = 0;
    if (o->rc == 0)
        o->rc = metric_family_begin(o->set, name, help, type, &f, o->e);
    return f;
}

static void add(struct out *o, uint32_t f, const struct metric_label *l, size_t n, double v)
{
    if (o->rc == 0)
        o->rc = metric_add(o->set, f, l, n, v, o->e);
}

static void add1(struct out *o, const char *name, const char *help, enum metric_type type, double v)
{
    if (o->rc == 0)
        o->rc = metric_add1(o->set, name, help, type, v, o->e);
}

/*
 * The parsers name the file as "stat:12" ("dev:3" for net/dev); the messages
 * name <procfs>/<rel>, as the readers of src/sys do.
 */
static int parsed(int rc, struct pk_err *e, const char *procfs, const char *rel)
{
    if (rc >= 0 || !e)
        return rc;
    const char *colon = strrchr(e->on, ':');
    char on[sizeof(e->on)];
    snprintf(on, sizeof(on), "%s/%s%s", procfs, rel, colon ? colon : "");
    memcpy(e->on, on, sizeof(on));
    return rc;
}

/* ---- cpu: /proc/stat ------------------------------------------------------------ */

/* node_exporter's node_cpu_seconds_total modes: guest and guest_nice go to their own family. */
#define NODE_CPU_MODES (CPU_STEAL + 1)

static int col_cpu(struct collect *c, struct out *o, struct pk_err *ce)
{
    int next = c->cpu_cur ^ 1;
    struct cpu_stat *st = &c->cpu[next];
    const char *buf;
    size_t len;
    int rc = sysfile_kept_read(&c->f_stat, c->procfs, "stat", CPU_STAT_CAP, &buf, &len, ce);
    if (rc == 0)
        rc = parsed(cpu_parse_stat(buf, len, st, ce), ce, c->procfs, "stat");
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

static int col_loadavg(struct collect *c, struct out *o, struct pk_err *ce)
{
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
    bool skip;                 /* a name that cannot be made (never, with keys under MEM_KEY_MAX) */
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

static int col_meminfo(struct collect *c, struct out *o, struct pk_err *ce)
{
    const char *buf;
    size_t blen;
    int rc = sysfile_kept_read(&c->f_meminfo, c->procfs, "meminfo", MEMINFO_CAP, &buf, &blen, ce);
    if (rc == 0)
        rc = parsed(mem_parse(buf, blen, &c->mem, ce), ce, c->procfs, "meminfo");
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
    add1(o, "perfkit_swap_used_ratio", "Share of swap in use: (SwapTotal - SwapFree) / SwapTotal; 0 without swap.",
         METRIC_GAUGE, m->swap_used_pct / 100);
    return 0;
}

/* ---- filesystem ----------------------------------------------------------------- */

static int col_filesystem(struct collect *c, struct out *o, struct pk_err *ce)
{
    struct fs_options fo = {
        .pid = c->mount_pid,
        .rootfs = c->rootfs,
        .table = c->have_table ? &c->table : NULL,
        .pool = c->have_pool ? &c->pool : NULL,
    };
    const struct fs_mounts *mp;
    int rc = fs_watch_read(&c->mounts, c->procfs, &fo, &mp, ce);
    if (rc < 0)
        return rc;
    const struct fs_mounts m = *mp;
    /* Families begun in node_exporter's order, so every sample lists them alike. */
    uint32_t f_err = fam(o, "node_filesystem_device_error",
                         "Whether an error occurred while getting statistics for the given device.",
                         METRIC_GAUGE);
    uint32_t f_ro = fam(o, "node_filesystem_readonly", "Filesystem read-only status.", METRIC_GAUGE);
    uint32_t f_size = fam(o, "node_filesystem_size_bytes", "Filesystem size in bytes.", METRIC_GAUGE);
    uint32_t f_free = fam(o, "node_filesystem_free_bytes", "Filesystem free space in bytes.", METRIC_GAUGE);
    uint32_t f_avail = fam(o, "node_filesystem_avail_bytes",
                           "Filesystem space available to non-root users in bytes.", METRIC_GAUGE);
    uint32_t f_files = fam(o, "node_filesystem_files", "Filesystem total file nodes.", METRIC_GAUGE);
    uint32_t f_ffree = fam(o, "node_filesystem_files_free", "Filesystem total free file nodes.", METRIC_GAUGE);
    uint32_t f_used = fam(o, "perfkit_filesystem_used_ratio",
                          "Share of the filesystem's space in use, as df's Use%: used / (used + available "
                          "to non-root users).",
                          METRIC_GAUGE);
    uint32_t f_iused = fam(o, "perfkit_filesystem_inodes_used_ratio",
                           "Share of the filesystem's inodes in use: (files - files_free) / files.",
                           METRIC_GAUGE);
    for (size_t i = 0; i < m.n; i++) {
        const struct fs_mount *mt = &m.v[i];
        if (mt->ignored || mt->dup)
            continue;
        struct metric_label l[3] = {
            { "device", mt->device }, { "fstype", mt->fstype }, { "mountpoint", mt->mountpoint }
        };
        /* A timed-out or failed statvfs is an error of this mount only, as in node_exporter. */
        add(o, f_err, l, 3, mt->usage_known ? 0 : 1);
        add(o, f_ro, l, 3, fs_mount_readonly(mt) ? 1 : 0);
        if (!mt->usage_known)
            continue;
        const struct fs_usage *u = &mt->usage;
        add(o, f_size, l, 3, fs_size_bytes(u));
        add(o, f_free, l, 3, fs_free_bytes(u));
        add(o, f_avail, l, 3, fs_avail_bytes(u));
        add(o, f_files, l, 3, (double)u->files);
        add(o, f_ffree, l, 3, (double)u->ffree);
        if (u->blocks > 0)
            add(o, f_used, l, 3, fs_used_pct(u) / 100);
        if (u->files > 0 && u->ffree <= u->files)
            add(o, f_iused, l, 3, (double)(u->files - u->ffree) / (double)u->files);
    }
    return 0;
}

/* ---- diskstats ------------------------------------------------------------------ */

struct disk_series {
    const char *name, *help;
    enum metric_type type;
    int min_stats; /* counters the line needs: 15 for discards, 17 for flushes */
    double (*value)(const struct disk_stats *d);
};

#define D_PLAIN(f) static double d_##f(const struct disk_stats *d) { return (double)d->f; }
#define D_SECS(f) static double d_##f(const struct disk_stats *d) { return disk_ms_to_seconds(d->f); }
#define D_BYTES(f) static double d_##f(const struct disk_stats *d) { return disk_sectors_to_bytes(d->f); }
D_PLAIN(reads) D_PLAIN(reads_merged) D_BYTES(read_sectors) D_SECS(read_ms)
D_PLAIN(writes) D_PLAIN(writes_merged) D_BYTES(write_sectors) D_SECS(write_ms)
D_PLAIN(io_now) D_SECS(io_ms) D_SECS(weighted_io_ms)
D_PLAIN(discards) D_PLAIN(discards_merged) D_PLAIN(discard_sectors) D_SECS(discard_ms)
D_PLAIN(flushes) D_SECS(flush_ms)

/* node_exporter's diskstats collector, names and help texts as it prints them. */
static const struct disk_series disk_series[] = {
    { "node_disk_reads_completed_total", "The total number of reads completed successfully.",
      METRIC_COUNTER, 11, d_reads },
    { "node_disk_reads_merged_total", "The total number of reads merged.", METRIC_COUNTER, 11,
      d_reads_merged },
    { "node_disk_read_bytes_total", "The total number of bytes read successfully.", METRIC_COUNTER, 11,
      d_read_sectors },
    { "node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
      METRIC_COUNTER, 11, d_read_ms },
    { "node_disk_writes_completed_total", "The total number of writes completed successfully.",
      METRIC_COUNTER, 11, d_writes },
    { "node_disk_writes_merged_total", "The number of writes merged.", METRIC_COUNTER, 11,
      d_writes_merged },
    { "node_disk_written_bytes_total", "The total number of bytes written successfully.", METRIC_COUNTER,
      11, d_write_sectors },
    { "node_disk_write_time_seconds_total", "This is the total number of seconds spent by all writes.",
      METRIC_COUNTER, 11, d_write_ms },
    { "node_disk_io_now", "The number of I/Os currently in progress.", METRIC_GAUGE, 11, d_io_now },
    { "node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", METRIC_COUNTER, 11, d_io_ms },
    { "node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
      METRIC_COUNTER, 11, d_weighted_io_ms },
    { "node_disk_discards_completed_total", "The total number of discards completed successfully.",
      METRIC_COUNTER, 15, d_discards },
    { "node_disk_discards_merged_total", "The total number of discards merged.", METRIC_COUNTER, 15,
      d_discards_merged },
    { "node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
      METRIC_COUNTER, 15, d_discard_sectors },
    { "node_disk_discard_time_seconds_total", "This is the total number of seconds spent by all discards.",
      METRIC_COUNTER, 15, d_discard_ms },
    { "node_disk_flush_requests_total", "The total number of flush requests completed successfully",
      METRIC_COUNTER, 17, d_flushes },
    { "node_disk_flush_requests_time_seconds_total",
      "This is the total number of seconds spent by all flush requests.", METRIC_COUNTER, 17, d_flush_ms },
};
#define NDISK_SERIES (sizeof(disk_series) / sizeof(disk_series[0]))

/* (after - before) / seconds, or -1 when the counter went back (the device was re-created). */
static double counter_rate(uint64_t before, uint64_t after, double seconds)
{
    return after >= before && seconds > 0 ? (double)(after - before) / seconds : -1;
}

static int col_diskstats(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    struct disk_list l = { NULL, 0 };
    const char *buf;
    size_t len;
    int rc = sysfile_kept_read(&c->f_diskstats, c->procfs, "diskstats", DISKSTATS_CAP, &buf, &len, ce);
    if (rc == 0)
        rc = parsed(disk_parse_diskstats(buf, len, &l, ce), ce, c->procfs, "diskstats");
    if (rc < 0) {
        disk_list_destroy(&c->disk_prev);
        c->disk_prev_ms = -1;
        return rc;
    }
    for (size_t s = 0; s < NDISK_SERIES; s++) {
        uint32_t f = fam(o, disk_series[s].name, disk_series[s].help, disk_series[s].type);
        for (size_t i = 0; i < l.n; i++) {
            const struct disk_stats *d = &l.v[i];
            if (d->ignored || d->nstats < disk_series[s].min_stats)
                continue;
            struct metric_label lb[1] = { { "device", d->name } };
            add(o, f, lb, 1, disk_series[s].value(d));
        }
    }
    double secs = c->disk_prev_ms >= 0 ? (double)(now_ms - c->disk_prev_ms) / 1000 : 0;
    if (secs > 0) {
        uint32_t f_busy = fam(o, "perfkit_disk_busy_ratio",
                              "Share of the last interval the device had I/O in flight (iostat's %util).",
                              METRIC_GAUGE);
        uint32_t f_rd = fam(o, "perfkit_disk_read_bytes_per_second",
                            "Bytes read per second over the last interval.", METRIC_GAUGE);
        uint32_t f_wr = fam(o, "perfkit_disk_written_bytes_per_second",
                            "Bytes written per second over the last interval.", METRIC_GAUGE);
        for (size_t i = 0; i < l.n; i++) {
            const struct disk_stats *d = &l.v[i];
            const struct disk_stats *p = d->ignored ? NULL : disk_find(&c->disk_prev, d->name);
            if (!p)
                continue;
            struct metric_label lb[1] = { { "device", d->name } };
            double busy = disk_busy_pct(p, d, secs);
            if (busy >= 0)
                add(o, f_busy, lb, 1, busy / 100);
            double rd = counter_rate(p->read_sectors, d->read_sectors, secs);
            double wr = counter_rate(p->write_sectors, d->write_sectors, secs);
            if (rd >= 0)
                add(o, f_rd, lb, 1, rd * 512);
            if (wr >= 0)
                add(o, f_wr, lb, 1, wr * 512);
        }
    }
    disk_list_destroy(&c->disk_prev);
    c->disk_prev = l;
    c->disk_prev_ms = now_ms;
    return 0;
}

/* ---- netdev --------------------------------------------------------------------- */

/* node_exporter's "node_network_<stat>_total", "Network device statistic <stat>." */
#define NET_FIELD(stat, field)                                                                    \
    { "node_network_" stat "_total", "Network device statistic " stat ".", offsetof(struct net_dev, field) }

static const struct {
    const char *name, *help;
    size_t off;
} net_fields[] = {
    NET_FIELD("receive_bytes", rx_bytes),
    NET_FIELD("receive_packets", rx_packets),
    NET_FIELD("receive_errs", rx_errs),
    NET_FIELD("receive_drop", rx_drop),
    NET_FIELD("receive_fifo", rx_fifo),
    NET_FIELD("receive_frame", rx_frame),
    NET_FIELD("receive_compressed", rx_compressed),
    NET_FIELD("receive_multicast", rx_multicast),
    NET_FIELD("transmit_bytes", tx_bytes),
    NET_FIELD("transmit_packets", tx_packets),
    NET_FIELD("transmit_errs", tx_errs),
    NET_FIELD("transmit_drop", tx_drop),
    NET_FIELD("transmit_fifo", tx_fifo),
    NET_FIELD("transmit_colls", tx_colls),
    NET_FIELD("transmit_carrier", tx_carrier),
    NET_FIELD("transmit_compressed", tx_compressed),
};
#define NNET_FIELDS (sizeof(net_fields) / sizeof(net_fields[0]))

static uint64_t net_field(const struct net_dev *d, size_t k)
{
    uint64_t v;
    memcpy(&v, (const char *)d + net_fields[k].off, sizeof(v));
    return v;
}

static int col_netdev(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    struct net_dev_list l = { NULL, 0 };
    const char *buf;
    size_t len;
    int rc = sysfile_kept_read(&c->f_netdev, c->procfs, "net/dev", NET_DEV_CAP, &buf, &len, ce);
    if (rc == 0)
        rc = parsed(net_parse_dev(buf, len, &l, ce), ce, c->procfs, "net/dev");
    if (rc < 0) {
        net_dev_list_destroy(&c->net_prev);
        c->net_prev_ms = -1;
        return rc;
    }
    for (size_t k = 0; k < NNET_FIELDS; k++) {
        uint32_t f = fam(o, net_fields[k].name, net_fields[k].help, METRIC_COUNTER);
        for (size_t i = 0; i < l.n; i++) {
            struct metric_label lb[1] = { { "device", l.v[i].name } };
            add(o, f, lb, 1, (double)net_field(&l.v[i], k));
        }
    }
    double secs = c->net_prev_ms >= 0 ? (double)(now_ms - c->net_prev_ms) / 1000 : 0;
    if (secs > 0) {
        uint32_t f_rx = fam(o, "perfkit_network_receive_bytes_per_second",
                            "Bytes received per second over the last interval.", METRIC_GAUGE);
        uint32_t f_tx = fam(o, "perfkit_network_transmit_bytes_per_second",
                            "Bytes transmitted per second over the last interval.", METRIC_GAUGE);
        for (size_t i = 0; i < l.n; i++) {
            const struct net_dev *d = &l.v[i];
            const struct net_dev *p = net_dev_find(&c->net_prev, d->name);
            if (!p)
                continue;
            struct metric_label lb[1] = { { "device", d->name } };
            double rx = counter_rate(p->rx_bytes, d->rx_bytes, secs);
            double tx = counter_rate(p->tx_bytes, d->tx_bytes, secs);
            if (rx >= 0)
                add(o, f_rx, lb, 1, rx);
            if (tx >= 0)
                add(o, f_tx, lb, 1, tx);
        }
    }
    net_dev_list_destroy(&c->net_prev);
    c->net_prev = l;
    c->net_prev_ms = now_ms;
    return 0;
}

/* ---- tcpstat -------------------------------------------------------------------- */

/* sock_diag errors that mean "not here" (no module, a sandbox's seccomp or LSM): read the files from now on. */
static bool diag_refused(int rc)
{
    return rc == -EPROTONOSUPPORT || rc == -EAFNOSUPPORT || rc == -EACCES || rc == -EPERM ||
           rc == -ENOENT || rc == -EOPNOTSUPP || rc == -EINVAL;
}

static int col_tcpstat(struct collect *c, struct out *o, struct pk_err *ce)
{
    struct net_tcp t;
    int rc = -EAGAIN;
    if (!c->tcp_text && !c->tcp_diag && c->live) {
        /* the kernel's procfs: its net/tcp is the agent's own network namespace, what sock_diag dumps */
        if ((rc = tcpdiag_open(&c->tcp, NULL)) == 0)
            c->tcp_diag = true;
        else if (diag_refused(rc))
            c->tcp_text = true;
    }
    if (c->tcp_diag) {
        rc = tcpdiag_count(&c->tcp, &t, NULL);
        if (rc < 0) {
            /* this sample from the files; a refusal for good, anything else is tried again */
            tcpdiag_close(&c->tcp);
            c->tcp_diag = false;
            c->tcp_text = diag_refused(rc);
        }
    }
    if (rc < 0)
        rc = net_read_tcp(c->procfs, &t, ce);
    if (rc < 0)
        return rc;
    /* Every state, zeros included, so that an alert on close_wait sees 0 rather than nothing;
     * node_exporter lists only the states it met. */
    uint32_t f = fam(o, "node_tcp_connection_states", "Number of connection states.", METRIC_GAUGE);
    for (int s = NET_TCP_ESTABLISHED; s < NET_TCP_NSTATES; s++) {
        struct metric_label l[1] = { { "state", net_tcp_state_name(s) } };
        add(o, f, l, 1, (double)t.states[s]);
    }
    if (t.unknown) {
        struct metric_label l[1] = { { "state", "unknown" } };
        add(o, f, l, 1, (double)t.unknown);
    }
    /* node_exporter reports the queued bytes as two more "states" of the same family */
    struct metric_label rx[1] = { { "state", "rx_queued_bytes" } };
    add(o, f, rx, 1, (double)t.rx_queued);
    struct metric_label tx[1] = { { "state", "tx_queued_bytes" } };
    add(o, f, tx, 1, (double)t.tx_queued);
    return 0;
}

/* ---- pressure ------------------------------------------------------------------- */

static int col_pressure(struct collect *c, struct out *o, struct pk_err *ce)
{
    struct psi_info p;
    memset(&p, 0, sizeof(p));
    static const char *const rels[PSI_NRES] = {
        [PSI_CPU] = "pressure/cpu", [PSI_MEMORY] = "pressure/memory", [PSI_IO] = "pressure/io",
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
        if (rc == 0)
            rc = parsed(psi_parse(buf, len, (enum psi_resource)r, &p.res[r], &re), &re, c->procfs, rel);
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

static int col_filefd(struct collect *c, struct out *o, struct pk_err *ce)
{
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
        return err_set(ce, PK_EPARSE, path, "malformed value", "expected allocated, unused and maximum file handles");
    }
    add1(o, "node_filefd_allocated", "File descriptor statistics: allocated.", METRIC_GAUGE,
         (double)f.allocated);
    add1(o, "node_filefd_maximum", "File descriptor statistics: maximum.", METRIC_GAUGE, (double)f.max);
    if (f.max > 0)
        add1(o, "perfkit_fd_used_ratio", "Share of the system's file handles in use: allocated / maximum.",
             METRIC_GAUGE, (double)f.allocated / (double)f.max);
    return 0;
}

/* ---- processes ------------------------------------------------------------------ */

double collect_slope_per_min(const int64_t *ts, const double *ys, size_t n)
{
    if (n < 2)
        return 0;
    /* times relative to the last one, in minutes, so that epoch milliseconds lose no precision */
    int64_t t0 = ts[n - 1];
    double sx = 0, sy = 0;
    for (size_t i = 0; i < n; i++) {
        sx += (double)(ts[i] - t0) / 60000.0;
        sy += ys[i];
    }
    double mx = sx / (double)n, my = sy / (double)n, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = (double)(ts[i] - t0) / 60000.0 - mx;
        sxx += dx * dx;
        sxy += dx * (ys[i] - my);
    }
    return sxx > 0 ? sxy / sxx : 0;
}

static void growth_add(struct collect *c, int64_t now_ms, double procs, double threads)
{
    /* Time going backwards makes the window meaningless: start over. */
    if (c->growth_n > 0) {
        size_t last = (c->growth_head + c->growth_n - 1) % COLLECT_GROWTH_POINTS;
        int64_t prev = c->growth[last].t_ms;
        if (now_ms <= prev) {
            c->growth_n = 0;
        } else if (now_ms - prev < c->growth_window_ms / COLLECT_GROWTH_POINTS) {
            /* Sampling faster than the ring resolves: refresh the newest point. */
            c->growth[last] = (struct collect_point){ now_ms, procs, threads };
            return;
        }
    }
    if (c->growth_n == COLLECT_GROWTH_POINTS) {
        c->growth_head = (c->growth_head + 1) % COLLECT_GROWTH_POINTS;
        c->growth_n--;
    }
    size_t at = (c->growth_head + c->growth_n) % COLLECT_GROWTH_POINTS;
    c->growth[at] = (struct collect_point){ now_ms, procs, threads };
    c->growth_n++;
    /* drop what fell out of the window */
    while (c->growth_n > 1 && c->growth[c->growth_head].t_ms < now_ms - c->growth_window_ms) {
        c->growth_head = (c->growth_head + 1) % COLLECT_GROWTH_POINTS;
        c->growth_n--;
    }
}

static const char *const proc_state_label[PROCS_NSTATES] = {
    [PROCS_RUNNING] = "running",  [PROCS_SLEEPING] = "sleeping", [PROCS_DISK_SLEEP] = "blocked",
    [PROCS_ZOMBIE] = "zombie",    [PROCS_STOPPED] = "stopped",   [PROCS_TRACED] = "traced",
    [PROCS_DEAD] = "dead",        [PROCS_IDLE] = "idle",         [PROCS_OTHER] = "other",
};

static void copy_proc(struct collect_proc *d, const struct procs_proc *p)
{
    d->pid = p->pid;
    memcpy(d->comm, p->comm, sizeof(d->comm));
    d->comm[sizeof(d->comm) - 1] = '\0';
    d->cpu_ratio = p->cpu_pct >= 0 ? p->cpu_pct / 100 : 0;
    d->rss_bytes = p->status_known && p->vm_rss ? p->vm_rss : p->rss;
}

static int col_processes(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    int next = c->procs_cur ^ 1;
    struct procs_snap *s = &c->procs[next];
    int rc = procs_snapshot_keep(c->procfs, NULL, &c->procs_files, s, ce);
    if (rc < 0) {
        c->procs_prev_ok = false;
        return rc;
    }
    /* CPU shares need the previous snapshot; when procs_diff refuses it (not
     * taken before this one), processes keep cpu_pct -1 and no top by CPU. */
    if (c->procs_prev_ok)
        (void)procs_diff(&c->procs[c->procs_cur], s, NULL, NULL);
    c->procs_cur = next;
    c->procs_prev_ok = true;

    uint32_t f = fam(o, "perfkit_processes", "Processes by state (blocked: uninterruptible sleep, D).",
                     METRIC_GAUGE);
    for (int st = 0; st < PROCS_NSTATES; st++) {
        struct metric_label l[1] = { { "state", proc_state_label[st] } };
        add(o, f, l, 1, (double)s->states[st]);
    }
    add1(o, "perfkit_processes_all", "Processes in any state.", METRIC_GAUGE, (double)s->total);
    add1(o, "perfkit_threads", "Threads of all processes.", METRIC_GAUGE, (double)s->threads);

    /* node_exporter's processes collector (off there by default): states by the
     * kernel's letter, only those present, as it prints them. */
    static const char letters[PROCS_NSTATES] = {
        [PROCS_RUNNING] = 'R', [PROCS_SLEEPING] = 'S', [PROCS_DISK_SLEEP] = 'D', [PROCS_ZOMBIE] = 'Z',
        [PROCS_STOPPED] = 'T', [PROCS_TRACED] = 't', [PROCS_DEAD] = 'X',      [PROCS_IDLE] = 'I',
    };
    f = fam(o, "node_processes_state", "Number of processes in each state.", METRIC_GAUGE);
    for (int st = 0; st < PROCS_NSTATES; st++) {
        if (!letters[st] || s->states[st] == 0)
            continue;
        char letter[2] = { letters[st], '\0' };
        struct metric_label l[1] = { { "state", letter } };
        add(o, f, l, 1, (double)s->states[st]);
    }
    add1(o, "node_processes_pids", "Number of PIDs", METRIC_GAUGE, (double)s->total);
    add1(o, "node_processes_threads", "Allocated threads in system", METRIC_GAUGE, (double)s->threads);
    uint64_t lim;
    if (sysctl_read_uint(c->procfs, "kernel.pid_max", &lim, NULL) == 0)
        add1(o, "node_processes_max_processes", "Number of max PIDs limit", METRIC_GAUGE, (double)lim);
    if (sysctl_read_uint(c->procfs, "kernel.threads-max", &lim, NULL) == 0)
        add1(o, "node_processes_max_threads", "Limit of threads in the system", METRIC_GAUGE, (double)lim);

    growth_add(c, now_ms, (double)s->total, (double)s->threads);
    size_t n = c->growth_n;
    const struct collect_point *first = &c->growth[c->growth_head];
    const struct collect_point *last = &c->growth[(c->growth_head + n - 1) % COLLECT_GROWTH_POINTS];
    if (n >= 2 && last->t_ms - first->t_ms >= c->growth_min_ms) {
        int64_t ts[COLLECT_GROWTH_POINTS];
        double ps[COLLECT_GROWTH_POINTS], th[COLLECT_GROWTH_POINTS];
        for (size_t i = 0; i < n; i++) {
            const struct collect_point *pt = &c->growth[(c->growth_head + i) % COLLECT_GROWTH_POINTS];
            ts[i] = pt->t_ms;
            ps[i] = pt->procs;
            th[i] = pt->threads;
        }
        add1(o, "perfkit_processes_growth_per_minute",
             "Least-squares slope of the process count over the last window (10 minutes by default), "
             "in processes per minute: steadily above 0 is a fork leak.",
             METRIC_GAUGE, collect_slope_per_min(ts, ps, n));
        add1(o, "perfkit_threads_growth_per_minute",
             "Least-squares slope of the thread count over the last window (10 minutes by default), "
             "in threads per minute: steadily above 0 is a thread leak.",
             METRIC_GAUGE, collect_slope_per_min(ts, th, n));
    }

    const struct procs_proc *top[COLLECT_TOP_N];
    c->status.ntop_cpu = procs_top_cpu(s, COLLECT_TOP_N, top);
    for (size_t i = 0; i < c->status.ntop_cpu; i++)
        copy_proc(&c->status.top_cpu[i], top[i]);
    c->status.ntop_rss = procs_top_rss(s, COLLECT_TOP_N, top);
    for (size_t i = 0; i < c->status.ntop_rss; i++)
        copy_proc(&c->status.top_rss[i], top[i]);
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

static int col_uname(struct collect *c, struct out *o, struct pk_err *ce)
{
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

static int col_time(struct collect *c, struct out *o, int64_t now_ms)
{
    (void)c;
    add1(o, "node_time_seconds", "System time in seconds since epoch (1970).", METRIC_GAUGE,
         (double)now_ms / 1000);
    return 0;
}

/* <procfs>/uptime's first number; -1 if it cannot be read. */
static double read_uptime(struct collect *c)
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

/* ---- the sample ----------------------------------------------------------------- */

static char *dup_or(const char *s, const char *dflt)
{
    if (!s)
        s = dflt;
    return s ? strdup(s) : NULL;
}

int collect_init(struct collect *c, const struct collect_opts *o, struct pk_err *e)
{
    struct collect_opts dflt;
    if (!o) {
        collect_opts_init(&dflt);
        o = &dflt;
    }
    memset(c, 0, sizeof(*c));
    cpu_stat_init(&c->cpu[0]);
    cpu_stat_init(&c->cpu[1]);
    procs_snap_init(&c->procs[0]);
    procs_snap_init(&c->procs[1]);
    /* a quarter of the descriptors the agent may open, for the processes' stat files */
    struct rlimit nofile;
    size_t keep = getrlimit(RLIMIT_NOFILE, &nofile) != 0        ? 256
                  : nofile.rlim_cur == RLIM_INFINITY ? COLLECT_PROCS_FILES_MAX
                                                     : (size_t)(nofile.rlim_cur / 4);
    procs_keep_init(&c->procs_files, keep < COLLECT_PROCS_FILES_MAX ? keep : COLLECT_PROCS_FILES_MAX);
    mem_info_init(&c->mem);
    fs_watch_init(&c->mounts);
    struct sysfile_kept *kept[] = { &c->f_stat,   &c->f_loadavg, &c->f_meminfo, &c->f_diskstats,
                                    &c->f_netdev, &c->f_filenr,  &c->f_uptime };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        sysfile_kept_init(kept[i]);
    for (int r = 0; r < PSI_NRES; r++)
        sysfile_kept_init(&c->f_psi[r]);
    c->tcp.fd = -1;
    c->disk_prev_ms = -1;
    c->net_prev_ms = -1;
    c->collectors = o->collectors ? o->collectors & COLLECT_ALL : COLLECT_ALL;
    for (int id = 0; id < COLLECT_NCOLLECTORS; id++) {
        c->interval_ms[id] = o->interval_ms[id] > 0 ? o->interval_ms[id] : 0;
        c->last_run_ms[id] = -1;
        metric_set_init(&c->cache[id]);
    }
    c->growth_window_ms = (int64_t)(o->growth_window_s > 0 ? o->growth_window_s : 600) * 1000;
    c->growth_min_ms = (int64_t)(o->growth_min_s >= 0 ? o->growth_min_s : 60) * 1000;

    c->procfs = dup_or(o->procfs, "/proc");
    c->sysfs = dup_or(o->sysfs, "/sys");
    c->rootfs = dup_or(o->rootfs, NULL);
    c->mount_pid = dup_or(o->mount_pid, "1");
    if (!c->procfs || !c->sysfs || (o->rootfs && !c->rootfs) || !c->mount_pid) {
        collect_destroy(c);
        return err_errno(e, -ENOMEM, "collect", "cannot set up the collector");
    }
    c->live = sysfile_is_procfs(c->procfs);
    int rc;
    if (o->statvfs_table) {
        rc = fs_table_read(o->statvfs_table, &c->table, e);
        if (rc < 0) {
            collect_destroy(c);
            return rc;
        }
        c->have_table = true;
    } else {
        rc = fs_pool_init(&c->pool, o->fs_timeout_ms, o->fs_max_threads);
        if (rc < 0) {
            collect_destroy(c);
            return err_errno(e, rc, "collect", "cannot set up the statvfs pool");
        }
        c->have_pool = true;
    }
    return 0;
}

void collect_destroy(struct collect *c)
{
    if (!c)
        return;
    free(c->procfs);
    free(c->sysfs);
    free(c->rootfs);
    free(c->mount_pid);
    if (c->have_table)
        fs_table_destroy(&c->table);
    if (c->have_pool)
        fs_pool_destroy(&c->pool);
    cpu_stat_destroy(&c->cpu[0]);
    cpu_stat_destroy(&c->cpu[1]);
    free(c->util);
    disk_list_destroy(&c->disk_prev);
    net_dev_list_destroy(&c->net_prev);
    procs_snap_destroy(&c->procs[0]);
    procs_snap_destroy(&c->procs[1]);
    procs_keep_destroy(&c->procs_files);
    mem_info_destroy(&c->mem);
    free(c->memnames);
    fs_watch_destroy(&c->mounts);
    struct sysfile_kept *kept[] = { &c->f_stat,   &c->f_loadavg, &c->f_meminfo, &c->f_diskstats,
                                    &c->f_netdev, &c->f_filenr,  &c->f_uptime };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        sysfile_kept_destroy(kept[i]);
    for (int r = 0; r < PSI_NRES; r++)
        sysfile_kept_destroy(&c->f_psi[r]);
    if (c->tcp_diag)
        tcpdiag_close(&c->tcp);
    for (int id = 0; id < COLLECT_NCOLLECTORS; id++)
        metric_set_destroy(&c->cache[id]);
    memset(c, 0, sizeof(*c));
}

/* Copies the families [fam0, from->nfam) of from into to (cleared first when clear is set). */
static int copy_families(struct metric_set *to, const struct metric_set *from, size_t fam0, bool clear,
                         struct pk_err *e)
{
    if (clear)
        metric_set_clear(to);
    for (size_t i = fam0; i < from->nfam; i++) {
        const struct metric_family *f = &from->fam[i];
        uint32_t t;
        int rc = metric_family_begin(to, f->name, f->help, f->type, &t, e);
        for (size_t k = 0; rc == 0 && k < f->n; k++) {
            const struct metric_series *m = &from->series[f->idx[k]];
            rc = metric_add(to, t, m->labels, m->nlabels, m->value, e);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The status fields collector id fills, from the previous sample (it did not read this time). */
static void carry_status(int id, const struct collect_status *from, struct collect_status *to)
{
    switch (id) {
    case COLLECT_CPU:
        to->cpus = from->cpus;
        to->boot_time_s = from->boot_time_s;
        break;
    case COLLECT_UNAME:
        memcpy(to->hostname, from->hostname, sizeof(to->hostname));
        memcpy(to->kernel, from->kernel, sizeof(to->kernel));
        break;
    case COLLECT_PROCESSES:
        to->ntop_cpu = from->ntop_cpu;
        to->ntop_rss = from->ntop_rss;
        memcpy(to->top_cpu, from->top_cpu, sizeof(to->top_cpu));
        memcpy(to->top_rss, from->top_rss, sizeof(to->top_rss));
        break;
    default:
        break;
    }
}

/* Whether collector id reads its source at now_ms (else it republishes). */
static bool due(const struct collect *c, int id, int64_t now_ms)
{
    int64_t iv = c->interval_ms[id], last = c->last_run_ms[id];
    /* a tenth of slack, so that a 1 s loop with jitter reads every 10 s, not 11 */
    return iv <= 0 || last < 0 || now_ms < last || now_ms - last >= iv - iv / 10;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int collect_sample(struct collect *c, struct metric_set *set, int64_t now_ms, struct pk_err *e)
{
    metric_set_clear(set);
    set->ts_ms = now_ms;
    struct out o = { set, e, 0 };

    struct collect_status *st = &c->status;
    memset(st, 0, sizeof(*st));
    st->ts_ms = now_ms;
    st->uptime_s = -1;
    st->boot_time_s = -1;

    unsigned was_failing = c->failing;
    c->failing = 0;
    c->recovered = 0;
    c->nissues = 0;
    c->ran = 0;

    for (int id = 0; id < COLLECT_NCOLLECTORS && o.rc == 0; id++) {
        if (!(c->collectors & (1u << id)))
            continue;
        if (!due(c, id, now_ms)) {
            if (o.rc == 0)
                o.rc = copy_families(set, &c->cache[id], 0, false, e);
            carry_status(id, &c->last_status, st);
            c->failing |= was_failing & (1u << id);
            continue;
        }
        size_t fam0 = set->nfam;
        struct pk_err ce;
        pk_err_clear(&ce);
        double t0 = mono_s();
        int rc;
        switch (id) {
        case COLLECT_CPU: rc = col_cpu(c, &o, &ce); break;
        case COLLECT_LOADAVG: rc = col_loadavg(c, &o, &ce); break;
        case COLLECT_MEMINFO: rc = col_meminfo(c, &o, &ce); break;
        case COLLECT_FILESYSTEM: rc = col_filesystem(c, &o, &ce); break;
        case COLLECT_DISKSTATS: rc = col_diskstats(c, &o, now_ms, &ce); break;
        case COLLECT_NETDEV: rc = col_netdev(c, &o, now_ms, &ce); break;
        case COLLECT_TCPSTAT: rc = col_tcpstat(c, &o, &ce); break;
        case COLLECT_PRESSURE: rc = col_pressure(c, &o, &ce); break;
        case COLLECT_FILEFD: rc = col_filefd(c, &o, &ce); break;
        case COLLECT_PROCESSES: rc = col_processes(c, &o, now_ms, &ce); break;
        case COLLECT_UNAME: rc = col_uname(c, &o, &ce); break;
        default: rc = col_time(c, &o, now_ms); break;
        }
        c->duration_s[id] = mono_s() - t0;
        c->ran |= 1u << id;
        c->last_run_ms[id] = now_ms;
        if (c->interval_ms[id] > 0 && o.rc == 0)
            o.rc = copy_families(&c->cache[id], set, fam0, true, e);
        if (rc < 0) {
            if (ce.code == 0)
                err_errno(&ce, rc, c->procfs, "cannot read");
            c->failing |= 1u << id;
            if (!(was_failing & (1u << id))) {
                c->issues[c->nissues].collector = collector_names[id];
                c->issues[c->nissues].err = ce;
                c->nissues++;
            }
        } else if (was_failing & (1u << id)) {
            c->recovered |= 1u << id;
        }
    }
    if (o.rc < 0)
        return o.rc;

    st->uptime_s = read_uptime(c);
    if (st->uptime_s < 0 && st->boot_time_s >= 0)
        st->uptime_s = (double)now_ms / 1000 - st->boot_time_s;
    c->last_status = *st;

    uint32_t f_ok = fam(&o, "perfkit_collector_success",
                        "Whether the collector read its source in this sample (1) or not (0).", METRIC_GAUGE);
    for (int id = 0; id < COLLECT_NCOLLECTORS; id++) {
        if (!(c->collectors & (1u << id)))
            continue;
        struct metric_label l[1] = { { "collector", collector_names[id] } };
        add(&o, f_ok, l, 1, (c->failing & (1u << id)) ? 0 : 1);
    }
    uint32_t f_dur = fam(&o, "perfkit_collector_duration_seconds",
                         "Time the collector's last read of its source took.", METRIC_GAUGE);
    for (int id = 0; id < COLLECT_NCOLLECTORS; id++) {
        if (!(c->collectors & (1u << id)))
            continue;
        struct metric_label l[1] = { { "collector", collector_names[id] } };
        add(&o, f_dur, l, 1, c->duration_s[id]);
    }
    return o.rc;
}
