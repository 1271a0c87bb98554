/*
 * clock - monotonic and CPU clocks in nanoseconds. Inline: these sit on the
 * measurement paths, where a call through the PLT would be measured too.
 */
#ifndef PK_CORE_CLOCK_H
#define PK_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_S  UINT64_C(1000000000)
#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_US UINT64_C(1000)

static inline uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}
static inline uint64_t clock_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}
static inline int64_t clock_mono_ms(void)
{
    return (int64_t)(clock_mono_ns() / NS_PER_MS);
}
static inline double clock_mono_s(void)
{
    return (double)clock_mono_ns() * 1e-9;
}
/* Wall-clock time since the Unix epoch: for timestamps, never for durations. */
static inline int64_t clock_real_ms(void)
{
    return (int64_t)(clock_ns(CLOCK_REALTIME) / NS_PER_MS);
}
static inline uint64_t clock_thread_cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}
static inline uint64_t clock_process_cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}
static inline double clock_tv_s(long sec, long usec)
{
    return (double)sec + (double)usec * 1e-6;
}

#endif
