#include "bench/counters.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/err.h"

static const char *const names[COUNTERS_N] = {
    [COUNTERS_CYCLES] = "cycles",
    [COUNTERS_INSTRUCTIONS] = "instructions",
    [COUNTERS_BRANCH_MISSES] = "branch-misses",
    [COUNTERS_CACHE_MISSES] = "cache-misses",
};

static const uint64_t configs[COUNTERS_N] = {
    [COUNTERS_CYCLES] = PERF_COUNT_HW_CPU_CYCLES,
    [COUNTERS_INSTRUCTIONS] = PERF_COUNT_HW_INSTRUCTIONS,
    [COUNTERS_BRANCH_MISSES] = PERF_COUNT_HW_BRANCH_MISSES,
    [COUNTERS_CACHE_MISSES] = PERF_COUNT_HW_CACHE_MISSES,
};

const char *counters_name(int i)
{
    return i >= 0 && i < COUNTERS_N ? names[i] : "?";
}

static int perf_open(enum counters_mode mode, uint64_t config)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_HARDWARE;
    a.config = config;
    a.disabled = 1;
    /* User space only: that is what perf_event_paranoid 2 (the usual default) allows. */
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    if (mode == COUNTERS_CHILDREN) {
        /*
         * The counter stays off in this process; a child inherits it at fork
         * and switches it on at exec, so the fork-to-exec stretch and this
         * process are never counted.
         */
        a.inherit = 1;
        a.enable_on_exec = 1;
    }
    /* Not grouped: older kernels refuse inherit together with a group read (EINVAL). */
    long fd =
        syscall(SYS_perf_event_open, &a, 0 /* this thread */, -1 /* any CPU */, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

/* perf_event_paranoid as a number; 0 with *known false if unreadable. */
static int read_paranoid(bool *known)
{
    char buf[32];
    *known = false;
    int fd = open("/proc/sys/kernel/perf_event_paranoid", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n <= 0)
        return 0;
    const char *p = buf, *end = buf + n;
    bool neg = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    int v = 0, digits = 0;
    for (; p < end && *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
        v = v * 10 + (*p - '0');
    if (digits == 0)
        return 0;
    *known = true;
    return neg ? -v : v;
}

static const char *errno_name(int err)
{
    switch (err) {
    case ENOENT: return "ENOENT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENODEV: return "ENODEV";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    default: return strerror(err);
    }
}

/*
 * Ranks the errnos of the failed opens so the message names the cause the
 * user can act on: permissions first (a sysctl away), then a filtered
 * syscall, then missing hardware.
 */
static int errno_rank(int err)
{
    switch (err) {
    case EACCES:
    case EPERM: return 4;
    case ENOSYS: return 3;
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV: return 2;
    case 0: return 0;
    default: return 1;
    }
}

static int refuse(int err, struct pk_err *e)
{
    const char *what = "hardware counters unavailable";
    const char *on = "perf_event_open";
    if (err == EACCES || err == EPERM) {
        bool known;
        int paranoid = read_paranoid(&known);
        if (!known)
            return err_set(e, PK_ENOTSUP, on, what,
                           "%s and /proc/sys/kernel/perf_event_paranoid is unreadable; "
                           "'sysctl kernel.perf_event_paranoid=2' allows user-space counters",
                           errno_name(err));
        if (paranoid > 2)
            return err_set(e, PK_ENOTSUP, on, what,
                           "perf_event_paranoid is %d; 'sysctl kernel.perf_event_paranoid=2' "
                           "allows user-space counters",
                           paranoid);
        /* The sysctl allows it, so something in front of the kernel refuses. */
        return err_set(e, PK_ENOTSUP, on, what,
                       "%s although perf_event_paranoid is %d: a seccomp profile (Docker's "
                       "default) or a security module blocks perf_event_open; allow it or grant CAP_PERFMON",
                       errno_name(err), paranoid);
    }
    if (err == ENOSYS)
        return err_set(e, PK_ENOTSUP, on, what,
                       "ENOSYS: a seccomp filter (container sandbox) blocks perf_event_open, "
                       "or the kernel lacks CONFIG_PERF_EVENTS");
    if (err == ENOENT || err == EOPNOTSUPP || err == ENODEV)
        return err_set(e, PK_ENOTSUP, on, what,
                       "no hardware PMU (%s: a VM or container without a virtual PMU)", errno_name(err));
    return err_set(e, PK_ENOTSUP, on, what, "%s", strerror(err));
}

int counters_open(struct counters *c, enum counters_mode mode, struct pk_err *e)
{
    int worst = 0, first = -1;
    c->mode = mode;
    c->pin_fd = -1;
    for (int i = 0; i < COUNTERS_N; i++) {
        int fd = perf_open(mode, configs[i]);
        c->fd[i] = fd < 0 ? -1 : fd;
        if (fd >= 0 && first < 0)
            first = i;
        else if (fd < 0 && errno_rank(-fd) > errno_rank(worst))
            worst = -fd;
    }
    /* Some counters missing while others open is a PMU without that event: not an error. */
    if (first < 0)
        return refuse(worst, e);
    /*
     * While every event of this thread is inherited, the kernel makes each
     * child's perf context a clone of ours, and with clones the counts of
     * children stop arriving after the first two (seen on Linux 6.18 with
     * software events, the only kind a VM without a PMU has: every later
     * child reads as 0). One event that is not inherited, in the same
     * context (same PMU as the counters, for kernels before 6.2 with one
     * context per PMU) and never enabled, so it costs no PMU slot, keeps
     * children's contexts from being clones.
     */
    if (mode == COUNTERS_CHILDREN) {
        int fd = perf_open(COUNTERS_SELF, configs[first]);
        c->pin_fd = fd < 0 ? -1 : fd;
    }
    return 0;
}

int counters_read(const struct counters *c, struct counters_values *out)
{
    int rc = -ENODEV;
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < COUNTERS_N; i++) {
        struct {
            uint64_t value, enabled, running;
        } r;
        if (c->fd[i] < 0)
            continue;
        ssize_t n = read(c->fd[i], &r, sizeof(r));
        if (n != (ssize_t)sizeof(r)) {
            if (rc != 0)
                rc = n < 0 ? -errno : -EIO;
            continue;
        }
        if (r.running == 0 && r.enabled != 0)
            continue; /* enabled but never on the PMU: no estimate exists */
        if (r.running < r.enabled)
            /* double: value * enabled would overflow 64 bits; an estimate needs no more precision */
            out->v[i] = (uint64_t)((double)r.value * (double)r.enabled / (double)r.running);
        else
            out->v[i] = r.value;
        out->valid[i] = true;
        rc = 0;
    }
    return rc;
}

void counters_diff(const struct counters_values *a, const struct counters_values *b,
                   struct counters_values *out)
{
    for (int i = 0; i < COUNTERS_N; i++) {
        out->valid[i] = a->valid[i] && b->valid[i];
        /* Scaled totals can step back a little when multiplexing changes; that is 0, not 2^64. */
        out->v[i] = out->valid[i] && b->v[i] > a->v[i] ? b->v[i] - a->v[i] : 0;
    }
}

static void set_enabled(struct counters *c, unsigned long req)
{
    /* In CHILDREN mode, enabling would count this process too; the children enable at exec. */
    if (c->mode != COUNTERS_SELF)
        return;
    for (int i = 0; i < COUNTERS_N; i++)
        if (c->fd[i] >= 0)
            ioctl(c->fd[i], req, 0);
}

void counters_enable(struct counters *c)
{
    set_enabled(c, PERF_EVENT_IOC_ENABLE);
}

void counters_disable(struct counters *c)
{
    set_enabled(c, PERF_EVENT_IOC_DISABLE);
}

void counters_close(struct counters *c)
{
    for (int i = 0; i < COUNTERS_N; i++) {
        if (c->fd[i] >= 0)
            close(c->fd[i]);
        c->fd[i] = -1;
    }
    if (c->pin_fd >= 0)
        close(c->pin_fd);
    c->pin_fd = -1;
}
