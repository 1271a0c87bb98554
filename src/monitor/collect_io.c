/*
 * collect_io - the collectors of storage and network: filesystem (mount
 * table and statvfs), diskstats, netdev and tcpstat (sock_diag, or the
 * /proc/net/tcp files).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "monitor/collect_impl.h"
#include "sys/sysfile.h"

/* ---- filesystem ----------------------------------------------------------------- */

int collect_read_filesystem(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)now_ms;
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
    uint32_t f_err =
        fam(o, "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.", METRIC_GAUGE);
    uint32_t f_ro = fam(o, "node_filesystem_readonly", "Filesystem read-only status.", METRIC_GAUGE);
    uint32_t f_size = fam(o, "node_filesystem_size_bytes", "Filesystem size in bytes.", METRIC_GAUGE);
    uint32_t f_free = fam(o, "node_filesystem_free_bytes", "Filesystem free space in bytes.", METRIC_GAUGE);
    uint32_t f_avail = fam(o, "node_filesystem_avail_bytes",
                           "Filesystem space available to non-root users in bytes.", METRIC_GAUGE);
    uint32_t f_files = fam(o, "node_filesystem_files", "Filesystem total file nodes.", METRIC_GAUGE);
    uint32_t f_ffree =
        fam(o, "node_filesystem_files_free", "Filesystem total free file nodes.", METRIC_GAUGE);
    uint32_t f_used = fam(o, "perfkit_filesystem_used_ratio",
                          "Share of the filesystem's space in use, as df's Use%: used / (used + available "
                          "to non-root users).",
                          METRIC_GAUGE);
    uint32_t f_iused =
        fam(o, "perfkit_filesystem_inodes_used_ratio",
            "Share of the filesystem's inodes in use: (files - files_free) / files.", METRIC_GAUGE);
    for (size_t i = 0; i < m.n; i++) {
        const struct fs_mount *mt = &m.v[i];
        if (mt->ignored || mt->dup)
            continue;
        struct metric_label l[3] = { { "device", mt->device },
                                     { "fstype", mt->fstype },
                                     { "mountpoint", mt->mountpoint } };
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

/* Laid out by hand: accessors by macro, one per field, and the table that names them. */
/* clang-format off */
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
/* clang-format on */
#define NDISK_SERIES (sizeof(disk_series) / sizeof(disk_series[0]))

/* (after - before) / seconds, or -1 when the counter went back (the device was re-created). */
static double counter_rate(uint64_t before, uint64_t after, double seconds)
{
    return after >= before && seconds > 0 ? (double)(after - before) / seconds : -1;
}

int collect_read_diskstats(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    struct disk_list l = { NULL, 0 };
    const char *buf;
    size_t len;
    int rc = sysfile_kept_read(&c->f_diskstats, c->procfs, "diskstats", DISKSTATS_CAP, &buf, &len, ce);
    if (rc == 0 && (rc = disk_parse_diskstats(buf, len, &l, ce)) < 0)
        sysfile_name_err(ce, c->procfs, "diskstats");
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
        uint32_t f_busy =
            fam(o, "perfkit_disk_busy_ratio",
                "Share of the last interval the device had I/O in flight (iostat's %util).", METRIC_GAUGE);
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
#define NET_FIELD(stat, field)                                                                               \
    {                                                                                                        \
        "node_network_" stat "_total", "Network device statistic " stat ".", offsetof(struct net_dev, field) \
    }

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

int collect_read_netdev(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    struct net_dev_list l = { NULL, 0 };
    const char *buf;
    size_t len;
    int rc = sysfile_kept_read(&c->f_netdev, c->procfs, "net/dev", NET_DEV_CAP, &buf, &len, ce);
    if (rc == 0 && (rc = net_parse_dev(buf, len, &l, ce)) < 0)
        sysfile_name_err(ce, c->procfs, "net/dev");
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
    return rc == -EPROTONOSUPPORT || rc == -EAFNOSUPPORT || rc == -EACCES || rc == -EPERM || rc == -ENOENT ||
           rc == -EOPNOTSUPP || rc == -EINVAL;
}

int collect_read_tcpstat(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    (void)now_ms;
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
