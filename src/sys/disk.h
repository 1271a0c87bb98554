/*
 * disk - block device counters and queue settings, for `perfkit monitor`
 * (node_disk_* with node_exporter's names and values) and `perfkit doctor`
 * (a device busy near 100 %, an I/O scheduler that does not suit the
 * device's rotational flag, read-ahead).
 *
 * Counters come from <procfs>/diskstats: 11 fields per device before Linux
 * 4.18, 15 with the discard counters, 17 with the flush counters (5.5+);
 * fields a newer kernel appends are ignored. A line with fewer than 11
 * counters, or anything that is not a number where one belongs, rejects the
 * whole file (PK_EPARSE, e->on "diskstats:<line>"), as does a device name
 * that is not printable ASCII or is longer than 31 bytes: 2.6.0-2.6.24 kernels
 * printed 4 counters for partitions, which mean other things; they are not
 * supported. Queue settings come from <sysfs>/block/<dev>/queue/; a
 * partition (<sysfs>/block/<disk>/<dev>/partition) reports its disk's.
 *
 * Times are milliseconds as the kernel counts them; io_ms and the other
 * times are 32-bit counters in the kernel and wrap after 49.7 days, which
 * disk_busy_pct allows for. Ownership: disk_list_destroy frees what
 * disk_read / disk_parse_diskstats return. Reentrant; no shared state.
 * A missing diskstats is -ENOENT ("unavailable"); a missing queue file leaves
 * its field unknown.
 */
#ifndef PK_SYS_DISK_H
#define PK_SYS_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

/* Longer names are rejected (the kernel's DISK_NAME_LEN is 32, with the NUL). */
#define DISK_NAME_MAX 32
/* Bytes of diskstats read at most: ~150 per device, so some 28,000 devices. */
#define DISKSTATS_CAP (4u << 20)

struct disk_stats {
    char name[DISK_NAME_MAX];
    unsigned major, minor;
    int nstats; /* counters on the line: 11, 15, 17 (or more, ignored) */
    uint64_t reads, reads_merged, read_sectors, read_ms;
    uint64_t writes, writes_merged, write_sectors, write_ms;
    uint64_t io_now, io_ms, weighted_io_ms;
    /* nstats >= 15 */
    uint64_t discards, discards_merged, discard_sectors, discard_ms;
    /* nstats >= 17 */
    uint64_t flushes, flush_ms;
    bool ignored; /* node_exporter's default device exclusion (disk_name_ignored) */
};

struct disk_list {
    struct disk_stats *v;
    size_t n;
};

void disk_list_destroy(struct disk_list *l);
/* The entry named name, or NULL. */
const struct disk_stats *disk_find(const struct disk_list *l, const char *name);

/* The lines of <procfs>/diskstats. */
int disk_read(const char *procfs, struct disk_list *l, struct pk_err *e);

/*
 * node_exporter's --collector.diskstats.device-exclude default,
 * ^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$: RAM and loop devices,
 * floppies, and partitions of disks whose counters already include them.
 */
bool disk_name_ignored(const char *name);

/* node_exporter's conversions: sectors are 512 bytes whatever the device's
 * block size; ms * 0.001, which is not always the same double as ms / 1000. */
double disk_sectors_to_bytes(uint64_t sectors);
double disk_ms_to_seconds(uint64_t ms);

/*
 * Share of the interval the device had I/O in flight (iostat's %util), from
 * io_ms of two snapshots of the same device `seconds` apart, in [0, 100];
 * negative if it cannot be known (seconds <= 0, another device, the counter
 * went back by more than a 32-bit wrap explains).
 */
double disk_busy_pct(const struct disk_stats *before, const struct disk_stats *after, double seconds);

struct disk_queue {
    bool partition;
    char disk[DISK_NAME_MAX]; /* the device whose queue this is: dev, or a partition's disk */
    char scheduler[32];       /* the active one: "mq-deadline", "none"; "" unknown */
    char schedulers[160];     /* all offered, space-separated: "none mq-deadline kyber bfq" */
    int rotational;           /* 1 spinning, 0 not, -1 unknown */
    long read_ahead_kb;       /* -1 unknown */
};

/*
 * Queue settings of dev (a name from diskstats). -ENOENT when dev is neither a
 * disk nor a partition under <sysfs>/block, -EINVAL for a name that is not a
 * plain file name; missing files leave their fields unknown.
 */
int disk_read_queue(const char *sysfs, const char *dev, struct disk_queue *q, struct pk_err *e);

/*
 * parsers (for tests and fuzzing): pure functions over (buf, len), which need
 * not be NUL-terminated; they read nothing past buf + len.
 */
int disk_parse_diskstats(const char *buf, size_t len, struct disk_list *l, struct pk_err *e);
/*
 * A queue/scheduler text: "none [mq-deadline] kyber bfq\n" -> active
 * "mq-deadline", all "none mq-deadline kyber bfq"; a lone unbracketed name
 * (older kernels print "none") is the active one. Both truncated to fit (cap >
 * 0). 0, or PK_EPARSE (no or several bracketed names among several, a name
 * that is not printable ASCII or does not fit active) with active and all
 * set to "".
 */
int disk_parse_scheduler(const char *buf, size_t len, char *active, size_t active_cap, char *all,
                         size_t all_cap);

#endif
