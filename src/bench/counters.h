/*
 * counters - hardware counters through perf_event_open(2): cycles,
 * instructions, branch-misses, cache-misses.
 *
 * COUNTERS_CHILDREN counts the processes the calling thread spawns after
 * counters_open() (inherit=1, enable_on_exec=1: each child starts counting at
 * its exec, and this process itself is never counted). Counts of a child are
 * folded in when it is reaped, so a run's figures are the difference of two
 * counters_read() calls taken before the spawn and after the wait4().
 * COUNTERS_SELF counts the calling thread between counters_enable() and
 * counters_disable(); counts accumulate over such windows, so a window's
 * figures too are a difference of reads. Values are scaled for multiplexing
 * (value * time_enabled / time_running).
 *
 * Where the kernel refuses (perf_event_paranoid, no PMU, seccomp in a
 * container), counters_open() returns PK_ENOTSUP and says why in e, once;
 * a counter the PMU lacks is left out (valid[i] false) while the others work.
 * Not thread-safe on one struct counters.
 */
#ifndef PK_BENCH_COUNTERS_H
#define PK_BENCH_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "perfkit.h"

enum { COUNTERS_CYCLES, COUNTERS_INSTRUCTIONS, COUNTERS_BRANCH_MISSES, COUNTERS_CACHE_MISSES, COUNTERS_N };

enum counters_mode { COUNTERS_CHILDREN, COUNTERS_SELF };

struct counters {
    int fd[COUNTERS_N]; /* -1 where unavailable */
    int pin_fd;         /* CHILDREN: a never-enabled, non-inherited event (see counters.c); else -1 */
    enum counters_mode mode;
};

struct counters_values {
    uint64_t v[COUNTERS_N];
    bool valid[COUNTERS_N];
};

/* "cycles", "instructions", "branch-misses", "cache-misses" */
const char *counters_name(int i);
int counters_open(struct counters *c, enum counters_mode mode, struct pk_err *e);
int counters_read(const struct counters *c, struct counters_values *out);
/* out = b - a, valid where both are. */
void counters_diff(const struct counters_values *a, const struct counters_values *b,
                   struct counters_values *out);
void counters_enable(struct counters *c);
void counters_disable(struct counters *c);
void counters_close(struct counters *c);

#endif
