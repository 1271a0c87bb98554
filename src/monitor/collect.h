/*
 * collect - one sample of the host: reads the sources of src/sys under a
 * procfs and a sysfs root and fills a metric set (monitor/metric.h) with
 *   - node_exporter's families, with its names, labels, types, help texts
 *     and values, so dashboards and alert rules written for node_exporter
 *     work unchanged: node_cpu_seconds_total, node_load1, node_memory_*,
 *     node_filesystem_*, node_disk_*, node_network_*, node_tcp_connection_states, ...
 *   - perfkit's own gauges, perfkit_*, which is what the default alert rules
 *     and the dashboard read: utilisation ratios (0..1) over the last
 *     interval, per-second rates, process counts and their growth.
 * and a struct collect_status with what /api/status shows beyond metrics
 * (host, kernel, uptime, the top processes).
 *
 * Rates and ratios over an interval compare with the previous successful
 * read of the same source, kept in struct collect; they are absent from the
 * first sample (and from any sample after their source failed or time went
 * backwards), never reported as 0. Intervals are differences of the now_ms
 * passed to collect_sample(), as Prometheus computes rate() from scrape
 * times; pass times of one clock.
 *
 * A collector that cannot read its source (missing file, parse error) leaves
 * its families out of the sample and never fails the whole sample; its
 * failure is listed once, in c->issues after the sample in which it began
 * (c->failing says which fail now, c->recovered which work again), so the
 * agent can log it once. perfkit_collector_success{collector} says the same
 * in the metrics, perfkit_collector_duration_seconds{collector} what its
 * last read cost. A collector given an interval_ms reads its source at most
 * that often and republishes its last families in the samples between.
 *
 * The agent adds its own metrics (perfkit_agent_*) to the set after
 * collect_sample() returns, with metric_add1()/metric_add(); collect never
 * uses that prefix.
 *
 * Ownership: struct collect is caller-owned: collect_init() / collect_destroy()
 * (safe on a zeroed struct, and after a failed collect_init).
 * It copies the option strings. collect_sample() clears and refills the set
 * it is given. Threads: one thread samples; struct collect is not shared.
 * Filesystem usage (statvfs) runs on worker threads with a timeout
 * (sys/fs.h), so a hung network mount never blocks a sample for long; only
 * filesystems whose statfs cannot hang (ext4, xfs, tmpfs, ..., under such
 * mounts only) are asked on the sampling thread.
 *
 * On the kernel's procfs the files read every sample stay open (sys/sysfile.h
 * sysfile_kept), as do the processes' stat files between snapshots and the
 * mount table (re-parsed only when it changes), and tcpstat counts through
 * sock_diag (sys/tcpdiag.h); a fixture tree is read file by file as before,
 * and gives the same series and values.
 * Descriptors: some 15 files, a netlink socket, and the stat files of up to
 * a quarter of RLIMIT_NOFILE's processes (at most COLLECT_PROCS_FILES_MAX).
 * Errors: collect_init: 0, -ENOMEM, or the error of reading statvfs_table;
 * collect_sample: 0, or -ENOMEM / -EINVAL from the metric set (a collector's
 * failure is not an error of the sample).
 */
#ifndef PK_MONITOR_COLLECT_H
#define PK_MONITOR_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/metric.h"
#include "perfkit.h"
#include "sys/cpu.h"
#include "sys/disk.h"
#include "sys/fs.h"
#include "sys/mem.h"
#include "sys/net.h"
#include "sys/procs.h"
#include "sys/psi.h"
#include "sys/sysfile.h"
#include "sys/tcpdiag.h"

/* The collectors, named as node_exporter names the one with the same metrics. */
enum collect_id {
    COLLECT_CPU,        /* /proc/stat: node_cpu_*, node_context_switches_total, node_forks_total,
                           node_procs_*, node_boot_time_seconds, node_intr_total; perfkit_cpu_* */
    COLLECT_LOADAVG,    /* /proc/loadavg: node_load1/5/15 */
    COLLECT_MEMINFO,    /* /proc/meminfo: node_memory_*; perfkit_memory_*, perfkit_swap_* */
    COLLECT_FILESYSTEM, /* mountinfo + statvfs: node_filesystem_*; perfkit_filesystem_* */
    COLLECT_DISKSTATS,  /* /proc/diskstats: node_disk_*; perfkit_disk_* */
    COLLECT_NETDEV,     /* /proc/net/dev: node_network_*; perfkit_network_* */
    COLLECT_TCPSTAT,    /* /proc/net/tcp{,6}: node_tcp_connection_states */
    COLLECT_PRESSURE,   /* /proc/pressure/ *: node_pressure_* */
    COLLECT_FILEFD,     /* /proc/sys/fs/file-nr: node_filefd_*; perfkit_fd_used_ratio */
    COLLECT_PROCESSES,  /* /proc/<pid>/stat: node_processes_*; perfkit_processes*, perfkit_threads* */
    COLLECT_UNAME,      /* /proc/sys/kernel/{ostype,osrelease,version,hostname,...}: node_uname_info */
    COLLECT_TIME,       /* node_time_seconds (the sample's time; never fails) */
    COLLECT_NCOLLECTORS
};
#define COLLECT_ALL ((1u << COLLECT_NCOLLECTORS) - 1)

/* "cpu", "loadavg", ...: the value of perfkit_collector_success's label; NULL out of range. */
const char *collect_name(enum collect_id id);

struct collect_opts {
    const char *procfs;        /* NULL: "/proc" */
    const char *sysfs;         /* NULL: "/sys" (read for nothing yet but kept with procfs) */
    const char *rootfs;        /* prefix of mount points for statvfs (the host's / mounted in a
                                  container, node_exporter's --path.rootfs); NULL: none */
    const char *mount_pid;     /* whose mountinfo lists the mounts; NULL: "1", as node_exporter */
    const char *statvfs_table; /* a recorded statvfs.tsv instead of statvfs (fixture trees); NULL: live */
    int fs_timeout_ms;         /* statvfs timeout; <= 0: FS_DEFAULT_TIMEOUT_MS */
    unsigned fs_max_threads;   /* statvfs workers alive at once; 0: FS_DEFAULT_MAX_THREADS */
    unsigned collectors;       /* COLLECT_* bits to run; 0: COLLECT_ALL */
    int growth_window_s;       /* perfkit_*_growth_per_minute: the least-squares window; <= 0: 600 */
    int growth_min_s;          /* ... shown once the samples span this long; < 0: 60 (0: two samples) */
    /* How often each collector reads its source, in ms: 0 every sample; a
     * collector sampled in between republishes what its last read found. */
    int interval_ms[COLLECT_NCOLLECTORS];
};

/*
 * Default intervals of the collectors that cost the most, so that sampling
 * every second stays well under a thousandth of a core (figures from a 2-vCPU VM):
 * - tcpstat: the kernel walks its whole socket hash table for each dump:
 *   0.3 ms through sock_diag (two dumps, IPv4 and IPv6, with ~130 sockets);
 *   printing /proc/net/tcp walks it once per 4 KiB read: 9 ms with ~130
 *   sockets, 115-145 ms with 26,000 in TIME_WAIT. The text files are read
 *   only for a procfs root that is not the kernel's (fixture trees) or where
 *   sock_diag is refused.
 * - processes: one stat file per process, about 6 us each (0.6 ms for 100).
 * - uname: the host name and kernel seldom change.
 * The others read one small file each (10-40 us, the files kept open) and
 * run every sample.
 */
#define COLLECT_TCPSTAT_INTERVAL_MS 30000
/* Processes whose stat file stays open between snapshots, at most (and a
 * quarter of RLIMIT_NOFILE): the rest are opened each time. */
#define COLLECT_PROCS_FILES_MAX       4096
#define COLLECT_PROCESSES_INTERVAL_MS 5000
#define COLLECT_UNAME_INTERVAL_MS     60000

/* The defaults above (every pointer NULL; interval_ms 0 but those three). */
void collect_opts_init(struct collect_opts *o);

struct collect_issue {
    const char *collector; /* collect_name() */
    struct pk_err err;
};

#define COLLECT_TOP_N 5

struct collect_proc {
    int pid;
    char comm[PROCS_COMM_LEN]; /* the kernel's raw bytes (sys/procs.h): escape before printing */
    double cpu_ratio;          /* share of one CPU over the last interval (2.0: two busy threads) */
    uint64_t rss_bytes;        /* stat's resident pages * page size */
};

/* What /api/status shows beside the metrics; filled by every collect_sample. */
struct collect_status {
    int64_t ts_ms;             /* the sample's now_ms */
    char hostname[256];        /* "" unknown */
    char kernel[128];          /* release, "6.1.0-18-amd64"; "" unknown */
    double uptime_s;           /* <procfs>/uptime, else now - boot time; -1 unknown */
    double boot_time_s;        /* epoch seconds; -1 unknown */
    int cpus;                  /* CPUs in /proc/stat; 0 unknown */
    size_t ntop_cpu, ntop_rss; /* fewer than COLLECT_TOP_N on an idle host or on the first sample
                                  (CPU needs two snapshots) */
    struct collect_proc top_cpu[COLLECT_TOP_N]; /* highest cpu_ratio first */
    struct collect_proc top_rss[COLLECT_TOP_N]; /* highest rss_bytes first */
};

/* Process counts kept for the growth slope: about one per (window / this) seconds. */
#define COLLECT_GROWTH_POINTS 1024

struct collect_point {
    int64_t t_ms;
    double procs, threads;
};

struct collect_memname;

/* Private state but for the fields marked "after each collect_sample". */
struct collect {
    bool inited; /* collect_init ran: collect_destroy on a zeroed struct does nothing */
    char *procfs, *sysfs, *rootfs, *mount_pid;
    unsigned collectors;
    int64_t growth_window_ms, growth_min_ms;
    int64_t interval_ms[COLLECT_NCOLLECTORS];
    int64_t last_run_ms[COLLECT_NCOLLECTORS]; /* -1: never ran */
    double last_duration_s[COLLECT_NCOLLECTORS];
    struct metric_set cache[COLLECT_NCOLLECTORS]; /* what a collector with an interval last found */
    struct collect_status last_status;
    bool have_table;
    struct fs_table table;
    bool have_pool;
    struct fs_pool pool;
    struct fs_watch mounts; /* the mount table, parsed again only when it changes */

    /* sources read every sample, kept open (sys/sysfile.h) */
    struct sysfile_kept f_stat, f_loadavg, f_meminfo, f_diskstats, f_netdev, f_filenr, f_uptime;
    struct sysfile_kept f_psi[PSI_NRES];
    bool live;           /* procfs is the kernel's (decided at init) */
    unsigned psi_absent; /* bit per resource: its pressure file is not in the kernel's procfs */
    /* tcpstat through sock_diag: tcp_diag open when procfs is the kernel's
     * and the socket works; tcp_text once sock_diag was refused */
    struct tcpdiag tcp;
    bool tcp_diag, tcp_text;

    /* previous successful reads, for rates */
    struct cpu_stat cpu[2]; /* [cpu_cur] is the last read */
    int cpu_cur;
    bool cpu_prev_ok;
    struct cpu_util *util; /* per-CPU utilisation scratch */
    size_t util_cap;
    struct disk_list disk_prev;
    int64_t disk_prev_ms; /* -1: none */
    struct net_dev_list net_prev;
    int64_t net_prev_ms;
    struct procs_snap procs[2];
    struct procs_keep procs_files; /* stat files kept open between snapshots */
    int procs_cur;
    bool procs_prev_ok;
    struct mem_info mem;
    struct collect_memname *memnames; /* node_memory_* names of meminfo's keys, by position */
    size_t nmemnames;
    struct collect_point growth[COLLECT_GROWTH_POINTS];
    size_t growth_n, growth_head; /* ring: growth_head is the oldest */

    /* after each collect_sample */
    struct collect_issue issues[COLLECT_NCOLLECTORS]; /* collectors that began to fail in it */
    size_t nissues;
    unsigned failing;   /* COLLECT_* bits failing in it */
    unsigned recovered; /* bits that failed in the previous sample and work in this one */
    struct collect_status status;
    double duration_s[COLLECT_NCOLLECTORS]; /* time each collector's last read took (0: never ran) */
    unsigned ran; /* COLLECT_* bits that read their source in this sample (the others
                                  are off or between two reads of their interval_ms) */
};

/* o NULL: the defaults. */
int collect_init(struct collect *c, const struct collect_opts *o, struct pk_err *e);
void collect_destroy(struct collect *c);

/*
 * One sample at now_ms (epoch milliseconds: node_time_seconds, the set's
 * ts_ms, and the intervals of rates): clears set and fills it; fills
 * c->status, c->issues, c->failing, c->recovered.
 */
int collect_sample(struct collect *c, struct metric_set *set, int64_t now_ms, struct pk_err *e);

/*
 * The least-squares slope of ys over ts (milliseconds), in units per
 * minute; 0 with fewer than two distinct times. Exposed for tests.
 */
double collect_slope_per_min(const int64_t *ts, const double *ys, size_t n);

#endif
