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
#include <stddef.h>

#include "perfkit.h"

#define HOST_MAX_CACHES 8

struct host_cache {
    char type[16]; /* "Data", "Instruction", "Unified" */
    int level;
    long size;       /* bytes */
    int num_sharing; /* CPUs sharing it (from shared_cpu_list) */
};

struct host_info {
    char hostname[256];  /* procfs/sys/kernel/hostname */
    char kernel[128];    /* procfs/sys/kernel/osrelease */
    char cpu_model[256]; /* "model name" of the first processor in procfs/cpuinfo */
    int cpus;            /* processor entries in procfs/cpuinfo */
    double mhz;          /* "cpu MHz" of the first processor; 0 unknown */
    char governor[32];   /* sysfs/devices/system/cpu/cpu0/cpufreq/scaling_governor (if cpu0 has
                             none, the first online CPU's); "" unknown */
    bool governor_mixed; /* online CPUs (sysfs/devices/system/cpu/online) disagree */
    bool load_known;
    double load[3]; /* procfs/loadavg */
    int ncaches;
    struct host_cache caches[HOST_MAX_CACHES]; /* sysfs/devices/system/cpu/cpu0/cache/index* */
};

int host_read(const char *procfs, const char *sysfs, struct host_info *h, struct pk_err *e);

/*
 * parsers (for tests and fuzzing): pure functions over (buf, len), which need
 * not be NUL-terminated; they read nothing past buf + len.
 */

/* CPU numbers beyond this make a cpulist malformed (the kernel's NR_CPUS is at most 8192). */
#define HOST_MAX_CPU 65536

/* Sets h->cpus, h->cpu_model and h->mhz (each 0/"" if absent) from a cpuinfo text; other fields untouched. */
void host_parse_cpuinfo(const char *buf, size_t len, struct host_info *h);
/* "0.21 0.37 0.39 1/719 19737" -> load[0..2]; 0 or PK_EPARSE (load untouched). */
int host_parse_loadavg(const char *buf, size_t len, double load[3]);
/*
 * A sysfs CPU list ("0-1,4,6-7\n", "" for none) -> the number of CPUs in it, or
 * PK_EPARSE. Ranges must ascend without overlap, as the kernel prints them.
 * If set is not NULL, set[cpu] = true for each listed cpu < nset.
 */
int host_parse_cpulist(const char *buf, size_t len, bool *set, size_t nset);
/* "32K", "1024K", "16M", "1G" or plain bytes -> *bytes; 0 or PK_EPARSE (*bytes untouched). */
int host_parse_cache_size(const char *buf, size_t len, long *bytes);
/*
 * The first line of buf without surrounding blanks, bytes outside printable
 * ASCII replaced by '?' (so it can be printed and put in JSON as is),
 * truncated to fit dst (cap > 0); returns its length.
 */
size_t host_parse_line(const char *buf, size_t len, char *dst, size_t cap);

#endif
