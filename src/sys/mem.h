/*
 * mem - /proc/meminfo: every key in bytes, lookup by key, node_exporter's
 * metric-name form of a key, and the figures people ask for first: total,
 * available, used %, swap. Shared by `perfkit monitor` (node_memory_*_bytes
 * with node_exporter's values) and `perfkit doctor` (memory pressure checks).
 *
 * Contract: mem_read() reads <procfs>/meminfo, taking a procfs root path like
 * host_read(). struct mem_info is caller-owned: mem_info_init() before first
 * use, mem_info_destroy() after last; reading again reuses its entry array.
 * No global state. Errors: 0, -errno (-ENOENT: no <procfs>/meminfo), -ENOMEM,
 * or PK_EPARSE with e->on = "<procfs>/meminfo:<line>" (the pure parser names
 * "meminfo:<line>"). Every non-blank line must be "Key: <digits>" or
 * "Key: <digits> kB"; anything else rejects the file rather than silently
 * dropping a key a dashboard expects. Blank lines are skipped (some 3.10
 * kernels print one). A key that appears twice keeps its first value.
 *
 * "available": MemAvailable when the kernel has it (3.14+). Older kernels
 * (node_exporter's fixture is one) lack it; then it is estimated as
 * MemFree + Buffers + Cached, which overstates what can be had without
 * swapping (not all page cache can be dropped), and available_estimated says so.
 */
#ifndef PK_SYS_MEM_H
#define PK_SYS_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

/* Longest key kept (the longest in 6.x is 17 bytes); a longer one is malformed. */
#define MEM_KEY_MAX 64
/* meminfo has ~60 keys; this only bounds a runaway file. */
#define MEM_MAX_ENTRIES 1024
#define MEMINFO_CAP     (256u << 10)

struct mem_entry {
    char key[MEM_KEY_MAX]; /* as in the file, without the colon: "Active(anon)" */
    uint64_t value;        /* bytes when has_unit (kB * 1024), else as printed (HugePages_*) */
    bool has_unit;         /* "kB" followed; node_exporter then appends "_bytes" */
};

struct mem_info {
    struct mem_entry *entries; /* file order; owned by the struct */
    size_t n, cap;

    /* Derived; 0 when MemTotal is absent. */
    uint64_t total;           /* MemTotal */
    uint64_t free;            /* MemFree */
    uint64_t available;       /* see the top of this file */
    bool available_estimated; /* no MemAvailable: MemFree + Buffers + Cached */
    double used_pct;          /* 100 * (total - available) / total, in [0, 100] */
    uint64_t swap_total, swap_free, swap_used;
    double swap_used_pct; /* 0 without swap */
};

void mem_info_init(struct mem_info *m);
void mem_info_destroy(struct mem_info *m);

/* Reads <procfs>/meminfo into m (initialised); on failure m is empty (no entries, all 0). */
int mem_read(const char *procfs, struct mem_info *m, struct pk_err *e);

/* The entry for key ("MemTotal", "Active(anon)"), or NULL. */
const struct mem_entry *mem_find(const struct mem_info *m, const char *key);
/* Its value, or 0 if absent; *found (may be NULL) says which. */
uint64_t mem_get(const struct mem_info *m, const char *key, bool *found);

/*
 * node_exporter's name for key, without the "node_memory_" prefix and the
 * "_bytes" suffix it adds for kB values: "(x)" becomes "_x" ("Active(anon)"
 * -> "Active_anon"), and any other byte outside [A-Za-z0-9_:] becomes '_' so
 * the name is always a valid Prometheus name part. Truncated to fit dst
 * (cap > 0); returns the untruncated length.
 */
size_t mem_metric_name(const char *key, char *dst, size_t cap);

/*
 * Pure parser (for tests and fuzzing): a meminfo text (buf need not be
 * NUL-terminated; nothing past buf + len is read) into m (initialised),
 * derived fields included.
 */
int mem_parse(const char *buf, size_t len, struct mem_info *m, struct pk_err *e);

#endif
