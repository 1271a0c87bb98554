/*
 * host - what a benchmark report says about the machine it ran on: host name,
 * kernel, CPU model, online CPUs, nominal MHz, frequency governor, load
 * average, CPU caches. Read from files under a procfs and a sysfs root
 * ("/proc", "/sys" on a live machine; fixture trees in tests), never from
 * syscalls, so every field can be tested. A file that is missing or
 * unreadable leaves its field empty/zero (see the *_known flags); only a
 * procfs root that cannot be opened at all is an error.
 */
#ifndef PK_SYS_HOST_H
#define PK_SYS_HOST_H

#include <stdbool.h>

#include "perfkit.h"

#define HOST_MAX_CACHES 8

struct host_cache {
    char type[16];     /* "Data", "Instruction", "Unified" */
    int level;
    long size;         /* bytes */
    int num_sharing;   /* CPUs sharing it (from shared_cpu_list) */
};

struct host_info {
    char hostname[256];   /* procfs/sys/kernel/hostname */
    char kernel[128];     /* procfs/sys/kernel/osrelease */
    char cpu_model[256];  /* "model name" of the first processor in procfs/cpuinfo */
    int cpus;             /* processor entries in procfs/cpuinfo */
    double mhz;           /* "cpu MHz" of the first processor; 0 unknown */
    char governor[32];    /* sysfs/devices/system/cpu/cpu0/cpufreq/scaling_governor; "" unknown */
    bool governor_mixed;  /* CPUs disagree */
    bool load_known;
    double load[3];       /* procfs/loadavg */
    int ncaches;
    struct host_cache caches[HOST_MAX_CACHES]; /* sysfs/devices/system/cpu/cpu0/cache/index* */
};

int host_read(const char *procfs, const char *sysfs, struct host_info *h, struct pk_err *e);

#endif
