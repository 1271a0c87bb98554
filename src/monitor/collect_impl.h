/*
 * collect_impl - what the parts of the collector share (collect.h is the
 * contract; this is private to src/monitor/collect*.c):
 *   collect.c        options, life cycle, the table of collectors, and
 *                    collect_sample, which runs them;
 *   collect_node.c   cpu, loadavg, meminfo, pressure, filefd, uname, time;
 *   collect_io.c     filesystem, diskstats, netdev, tcpstat;
 *   collect_procs.c  processes.
 * Every collector has one signature (collect_fn) and a row in collect.c's
 * table: it reads its source, adds its families through struct out, fills
 * its fields of c->status, and returns 0 or a negative code with ce filled
 * (a failure of its source, not of the sample).
 */
#ifndef PK_MONITOR_COLLECT_IMPL_H
#define PK_MONITOR_COLLECT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/collect.h"
#include "monitor/metric.h"
#include "perfkit.h"

/* /proc/uptime and the kernel's one-line files are far below this. */
#define SMALL_FILE 4096

/*
 * The set under construction. Errors of the set (ENOMEM, or EINVAL: a bug
 * here) end the sample; the first is kept and later calls do nothing.
 * Inline: a sample adds some hundreds of series through these.
 */
struct out {
    struct metric_set *set;
    struct pk_err *e;
    int rc;
};

static inline uint32_t fam(struct out *o, const char *name, const char *help, enum metric_type type)
{
    uint32_t f = 0;
    if (o->rc == 0)
        o->rc = metric_family_begin(o->set, name, help, type, &f, o->e);
    return f;
}

static inline void add(struct out *o, uint32_t f, const struct metric_label *l, size_t n, double v)
{
    if (o->rc == 0)
        o->rc = metric_add(o->set, f, l, n, v, o->e);
}

static inline void add1(struct out *o, const char *name, const char *help, enum metric_type type, double v)
{
    if (o->rc == 0)
        o->rc = metric_add1(o->set, name, help, type, v, o->e);
}

/* A collector: reads its source at now_ms (epoch ms) into o and c->status. */
typedef int (*collect_fn)(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);

/* collect_node.c */
int collect_read_cpu(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_loadavg(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_meminfo(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_pressure(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_filefd(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_uname(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_time(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
/* <procfs>/uptime's first number; -1 if it cannot be read. */
double collect_read_uptime(struct collect *c);

/* collect_io.c */
int collect_read_filesystem(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_diskstats(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_netdev(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);
int collect_read_tcpstat(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);

/* collect_procs.c */
int collect_read_processes(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce);

#endif
