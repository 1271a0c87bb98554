/*
 * cpu - /proc/stat: time spent per CPU mode (total and per CPU), context
 * switches, boot time, forks, runnable and blocked tasks, interrupts; and CPU
 * utilisation between two snapshots. Shared by `perfkit monitor`, which
 * exports node_exporter's node_cpu_seconds_total and friends with its values,
 * and `perfkit doctor`, which looks at iowait and steal.
 *
 * Contract: cpu_read() reads <procfs>/stat, like host_read() takes a procfs
 * root path ("/proc" live, a fixture tree in tests). A struct cpu_stat is
 * caller-owned: cpu_stat_init() before first use, cpu_stat_destroy() after
 * last; reading into it again reuses its per-CPU array. No global state; one
 * struct per thread. Errors: 0, -errno (-ENOENT: no <procfs>/stat), -ENOMEM,
 * or PK_EPARSE with e->on = "<procfs>/stat:<line>" (the pure parser names
 * "stat:<line>").
 *
 * Lines: unknown keys (softirq, future ones) are skipped. A known line that is
 * malformed is rejected, so a broken file is never half-reported: a cpu line
 * needs at least user, nice, system and idle (kernels before 2.6.33 print
 * fewer than ten fields; absent modes read 0, see nmodes), fields past ten
 * are ignored; cpuN lines must ascend strictly, as the kernel prints them.
 */
#ifndef PK_SYS_CPU_H
#define PK_SYS_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

/*
 * The unit of /proc/stat's times. The kernel fixes USER_HZ at 100 on every
 * architecture Linux exports it for, and node_exporter assumes the same.
 */
#define CPU_USER_HZ 100
/*
 * CPU numbers at or past this make a cpuN line malformed. The kernel's NR_CPUS
 * tops out at 8192; the margin covers future machines without letting a bogus
 * file make the per-CPU array unbounded.
 */
#define CPU_MAX_CPUS 65536
/* /proc/stat holds ~100 bytes per CPU plus one intr count per IRQ. */
#define CPU_STAT_CAP (16u << 20)

/* In /proc/stat's column order. */
enum cpu_mode {
    CPU_USER,
    CPU_NICE,
    CPU_SYSTEM,
    CPU_IDLE,
    CPU_IOWAIT,
    CPU_IRQ,
    CPU_SOFTIRQ,
    CPU_STEAL,
    CPU_GUEST,
    CPU_GUEST_NICE,
    CPU_NMODES
};

/*
 * The mode's label as node_exporter prints it in node_cpu_seconds_total
 * ("user" .. "steal"); "guest" and "guest_nice" for the last two, which
 * node_exporter exports as node_cpu_guest_seconds_total{mode="user"} and
 * {mode="nice"} instead. NULL for an out-of-range mode.
 */
const char *cpu_mode_name(enum cpu_mode m);

struct cpu_times {
    int cpu;                    /* N of "cpuN"; -1 for the "cpu" total line */
    int nmodes;                 /* fields the line had (4..10); the rest are 0 */
    uint64_t ticks[CPU_NMODES]; /* as in the file, in 1/CPU_USER_HZ s; user and nice
                                      include guest and guest_nice (kernel accounting) */
};

/* Which scalar lines the file had (old kernels and odd containers lack some). */
enum {
    CPU_HAVE_TOTAL = 1u << 0,
    CPU_HAVE_CTXT = 1u << 1,
    CPU_HAVE_BTIME = 1u << 2,
    CPU_HAVE_PROCESSES = 1u << 3,
    CPU_HAVE_RUNNING = 1u << 4,
    CPU_HAVE_BLOCKED = 1u << 5,
    CPU_HAVE_INTR = 1u << 6,
};

struct cpu_stat {
    long user_hz;           /* CPU_USER_HZ; divide ticks by it for seconds */
    unsigned have;          /* CPU_HAVE_* */
    struct cpu_times total; /* "cpu" line */
    struct cpu_times *cpus; /* "cpuN" lines in file order (ascending N; offline CPUs
                                  are absent); owned by the struct */
    size_t ncpus;
    size_t cap;         /* allocated entries of cpus */
    uint64_t ctxt;      /* context switches since boot */
    uint64_t btime;     /* boot time, seconds since the epoch */
    uint64_t processes; /* forks since boot */
    uint64_t procs_running;
    uint64_t procs_blocked;
    uint64_t intr; /* interrupts since boot (the first number of "intr") */
};

void cpu_stat_init(struct cpu_stat *st);
void cpu_stat_destroy(struct cpu_stat *st);

/* Reads <procfs>/stat into st (initialised); on failure st is empty (no CPUs, have == 0). */
int cpu_read(const char *procfs, struct cpu_stat *st, struct pk_err *e);

/* ticks of mode m in seconds (ticks / CPU_USER_HZ, as node_exporter computes it). */
double cpu_seconds(const struct cpu_times *t, enum cpu_mode m);

/*
 * Utilisation between snapshots a (earlier) and b. Modes partition the time:
 * busy = user + nice + system + irq + softirq, and busy + idle + iowait +
 * steal = 100 %. iowait is idle time with I/O outstanding and steal is time
 * the hypervisor ran someone else, so neither is work this CPU did; doctor
 * wants both on their own. pct[CPU_GUEST] and pct[CPU_GUEST_NICE] are shares
 * of the same elapsed time but already inside user and nice. A counter that
 * went backwards (iowait can, per CPU, on some kernels) counts as 0.
 */
struct cpu_util {
    int cpu;    /* as in struct cpu_times */
    bool valid; /* false: no tick elapsed, or the CPU is new in b */
    double busy_pct;
    double pct[CPU_NMODES];
};

/* 0, or -ENODATA when no tick elapsed between a and b (u->valid false, all 0). */
int cpu_util(const struct cpu_times *a, const struct cpu_times *b, struct cpu_util *u);
/*
 * The total and each CPU of b: per[i] is b->cpus[i] (nper >= b->ncpus, else
 * -EINVAL), matched with a's CPU of the same number (CPUs that came online
 * in between have valid false). 0, or -ENODATA when the totals show no tick
 * elapsed (or either snapshot lacks its "cpu" line).
 */
int cpu_util_all(const struct cpu_stat *a, const struct cpu_stat *b, struct cpu_util *total,
                 struct cpu_util *per, size_t nper);

/*
 * Pure parser (for tests and fuzzing): a /proc/stat text (buf need not be
 * NUL-terminated; nothing past buf + len is read) into st (initialised).
 */
int cpu_parse_stat(const char *buf, size_t len, struct cpu_stat *st, struct pk_err *e);

#endif
