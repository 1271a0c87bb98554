/*
 * collect - one sample of the host (collect.h): the options, the life cycle,
 * the table of collectors and collect_sample, which runs each one that is
 * due, republishes the last families of those between two reads, and adds
 * perfkit_collector_success and perfkit_collector_duration_seconds. The
 * collectors themselves: collect_node.c, collect_io.c, collect_procs.c.
 */
#include "monitor/collect.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"
#include "monitor/collect_impl.h"
#include "sys/sysfile.h"

/* ---- the collectors ------------------------------------------------------------- */

/* The status fields a collector fills, copied from the previous sample when
 * it does not read in this one. */
typedef void (*collect_carry_fn)(const struct collect_status *from, struct collect_status *to);

static void carry_cpu(const struct collect_status *from, struct collect_status *to)
{
    to->cpus = from->cpus;
    to->boot_time_s = from->boot_time_s;
}

static void carry_uname(const struct collect_status *from, struct collect_status *to)
{
    memcpy(to->hostname, from->hostname, sizeof(to->hostname));
    memcpy(to->kernel, from->kernel, sizeof(to->kernel));
}

static void carry_processes(const struct collect_status *from, struct collect_status *to)
{
    to->ntop_cpu = from->ntop_cpu;
    to->ntop_rss = from->ntop_rss;
    memcpy(to->top_cpu, from->top_cpu, sizeof(to->top_cpu));
    memcpy(to->top_rss, from->top_rss, sizeof(to->top_rss));
}

/* One row per collector, in enum collect_id's order (which is the order they
 * run and appear in): the label value of perfkit_collector_success, the
 * reader, its default interval_ms (0: every sample), and the status fields
 * it fills (NULL: none). */
static const struct collector {
    const char *name;
    collect_fn fn;
    int period_ms;
    collect_carry_fn carry;
} collectors[COLLECT_NCOLLECTORS] = {
    [COLLECT_CPU] = { "cpu", collect_read_cpu, 0, carry_cpu },
    [COLLECT_LOADAVG] = { "loadavg", collect_read_loadavg, 0, NULL },
    [COLLECT_MEMINFO] = { "meminfo", collect_read_meminfo, 0, NULL },
    [COLLECT_FILESYSTEM] = { "filesystem", collect_read_filesystem, 0, NULL },
    [COLLECT_DISKSTATS] = { "diskstats", collect_read_diskstats, 0, NULL },
    [COLLECT_NETDEV] = { "netdev", collect_read_netdev, 0, NULL },
    [COLLECT_TCPSTAT] = { "tcpstat", collect_read_tcpstat, COLLECT_TCPSTAT_INTERVAL_MS, NULL },
    [COLLECT_PRESSURE] = { "pressure", collect_read_pressure, 0, NULL },
    [COLLECT_FILEFD] = { "filefd", collect_read_filefd, 0, NULL },
    [COLLECT_PROCESSES] = { "processes", collect_read_processes, COLLECT_PROCESSES_INTERVAL_MS,
                            carry_processes },
    [COLLECT_UNAME] = { "uname", collect_read_uname, COLLECT_UNAME_INTERVAL_MS, carry_uname },
    [COLLECT_TIME] = { "time", collect_read_time, 0, NULL },
};

const char *collect_name(enum collect_id id)
{
    return (unsigned)id < COLLECT_NCOLLECTORS ? collectors[id].name : NULL;
}

void collect_opts_init(struct collect_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->growth_min_s = -1;
    for (int id = 0; id < COLLECT_NCOLLECTORS; id++)
        o->interval_ms[id] = collectors[id].period_ms;
}

/* ---- life cycle ----------------------------------------------------------------- */

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
    c->inited = true;
    cpu_stat_init(&c->cpu[0]);
    cpu_stat_init(&c->cpu[1]);
    procs_snap_init(&c->procs[0]);
    procs_snap_init(&c->procs[1]);
    /* a quarter of the descriptors the agent may open, for the processes' stat files */
    struct rlimit nofile;
    size_t keep = getrlimit(RLIMIT_NOFILE, &nofile) != 0 ? 256
                  : nofile.rlim_cur == RLIM_INFINITY     ? COLLECT_PROCS_FILES_MAX
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
    /* a zeroed struct holds nothing, but its descriptors read as 0: not closed */
    if (!c || !c->inited)
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

/* ---- the sample ----------------------------------------------------------------- */

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

/* Whether collector id reads its source at now_ms (else it republishes). */
static bool due(const struct collect *c, int id, int64_t now_ms)
{
    int64_t iv = c->interval_ms[id], last = c->last_run_ms[id];
    /* a tenth of slack, so that a 1 s loop with jitter reads every 10 s, not 11 */
    return iv <= 0 || last < 0 || now_ms < last || now_ms - last >= iv - iv / 10;
}

/*
 * Collector id's part of the sample: a read of its source when it is due,
 * else what it found last time (families and status). Notes its failure or
 * recovery against was_failing.
 */
static void run_collector(struct collect *c, int id, struct out *o, int64_t now_ms, unsigned was_failing)
{
    const struct collector *col = &collectors[id];
    unsigned bit = 1u << id;
    if (!due(c, id, now_ms)) {
        if (o->rc == 0)
            o->rc = copy_families(o->set, &c->cache[id], 0, false, o->e);
        if (col->carry)
            col->carry(&c->last_status, &c->status);
        c->failing |= was_failing & bit;
        return;
    }
    size_t fam0 = o->set->nfam;
    struct pk_err ce;
    pk_err_clear(&ce);
    double t0 = clock_mono_s();
    int rc = col->fn(c, o, now_ms, &ce);
    c->duration_s[id] = clock_mono_s() - t0;
    c->ran |= bit;
    c->last_run_ms[id] = now_ms;
    if (c->interval_ms[id] > 0 && o->rc == 0)
        o->rc = copy_families(&c->cache[id], o->set, fam0, true, o->e);
    if (rc < 0) {
        if (ce.code == 0)
            err_errno(&ce, rc, c->procfs, "cannot read");
        c->failing |= bit;
        if (!(was_failing & bit)) {
            PK_ASSERT(c->nissues < COLLECT_NCOLLECTORS);
            c->issues[c->nissues].collector = col->name;
            c->issues[c->nissues].err = ce;
            c->nissues++;
        }
    } else if (was_failing & bit) {
        c->recovered |= bit;
    }
}

/* perfkit_collector_success and perfkit_collector_duration_seconds of the collectors that are on. */
static void collector_metrics(struct collect *c, struct out *o)
{
    uint32_t f_ok = fam(o, "perfkit_collector_success",
                        "Whether the collector read its source in this sample (1) or not (0).", METRIC_GAUGE);
    for (int id = 0; id < COLLECT_NCOLLECTORS; id++) {
        if (!(c->collectors & (1u << id)))
            continue;
        struct metric_label l[1] = { { "collector", collectors[id].name } };
        add(o, f_ok, l, 1, (c->failing & (1u << id)) ? 0 : 1);
    }
    uint32_t f_dur = fam(o, "perfkit_collector_duration_seconds",
                         "Time the collector's last read of its source took.", METRIC_GAUGE);
    for (int id = 0; id < COLLECT_NCOLLECTORS; id++) {
        if (!(c->collectors & (1u << id)))
            continue;
        struct metric_label l[1] = { { "collector", collectors[id].name } };
        add(o, f_dur, l, 1, c->duration_s[id]);
    }
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

    for (int id = 0; id < COLLECT_NCOLLECTORS && o.rc == 0; id++)
        if (c->collectors & (1u << id))
            run_collector(c, id, &o, now_ms, was_failing);
    if (o.rc < 0)
        return o.rc;

    st->uptime_s = collect_read_uptime(c);
    if (st->uptime_s < 0 && st->boot_time_s >= 0)
        st->uptime_s = (double)now_ms / 1000 - st->boot_time_s;
    c->last_status = *st;
    collector_metrics(c, &o);
    return o.rc;
}
