/*
 * collect_procs - the processes collector: the process table by state,
 * node_exporter's processes families, the growth slopes of processes and
 * threads, and the top processes of /api/status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/err.h"
#include "monitor/collect_impl.h"
#include "sys/sysctl.h"

/* ---- processes ------------------------------------------------------------------ */

double collect_slope_per_min(const int64_t *ts, const double *ys, size_t n)
{
    if (n < 2)
        return 0;
    /* times relative to the last one, in minutes, so that epoch milliseconds lose no precision */
    int64_t t0 = ts[n - 1];
    double sx = 0, sy = 0;
    for (size_t i = 0; i < n; i++) {
        sx += (double)(ts[i] - t0) / 60000.0;
        sy += ys[i];
    }
    double mx = sx / (double)n, my = sy / (double)n, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = (double)(ts[i] - t0) / 60000.0 - mx;
        sxx += dx * dx;
        sxy += dx * (ys[i] - my);
    }
    return sxx > 0 ? sxy / sxx : 0;
}

static void growth_add(struct collect *c, int64_t now_ms, double procs, double threads)
{
    PK_ASSERT(c->growth_head < COLLECT_GROWTH_POINTS && c->growth_n <= COLLECT_GROWTH_POINTS);
    /* Time going backwards makes the window meaningless: start over. */
    if (c->growth_n > 0) {
        size_t last = (c->growth_head + c->growth_n - 1) % COLLECT_GROWTH_POINTS;
        int64_t prev = c->growth[last].t_ms;
        if (now_ms <= prev) {
            c->growth_n = 0;
        } else if (now_ms - prev < c->growth_window_ms / COLLECT_GROWTH_POINTS) {
            /* Sampling faster than the ring resolves: refresh the newest point. */
            c->growth[last] = (struct collect_point){ now_ms, procs, threads };
            return;
        }
    }
    if (c->growth_n == COLLECT_GROWTH_POINTS) {
        c->growth_head = (c->growth_head + 1) % COLLECT_GROWTH_POINTS;
        c->growth_n--;
    }
    size_t at = (c->growth_head + c->growth_n) % COLLECT_GROWTH_POINTS;
    c->growth[at] = (struct collect_point){ now_ms, procs, threads };
    c->growth_n++;
    /* drop what fell out of the window */
    while (c->growth_n > 1 && c->growth[c->growth_head].t_ms < now_ms - c->growth_window_ms) {
        c->growth_head = (c->growth_head + 1) % COLLECT_GROWTH_POINTS;
        c->growth_n--;
    }
}

static const char *const proc_state_label[PROCS_NSTATES] = {
    [PROCS_RUNNING] = "running", [PROCS_SLEEPING] = "sleeping", [PROCS_DISK_SLEEP] = "blocked",
    [PROCS_ZOMBIE] = "zombie",   [PROCS_STOPPED] = "stopped",   [PROCS_TRACED] = "traced",
    [PROCS_DEAD] = "dead",       [PROCS_IDLE] = "idle",         [PROCS_OTHER] = "other",
};

static void copy_proc(struct collect_proc *d, const struct procs_proc *p)
{
    d->pid = p->pid;
    memcpy(d->comm, p->comm, sizeof(d->comm));
    d->comm[sizeof(d->comm) - 1] = '\0';
    d->cpu_ratio = p->cpu_pct >= 0 ? p->cpu_pct / 100 : 0;
    d->rss_bytes = p->status_known && p->vm_rss ? p->vm_rss : p->rss;
}

int collect_read_processes(struct collect *c, struct out *o, int64_t now_ms, struct pk_err *ce)
{
    PK_ASSERT(c->procs_cur == 0 || c->procs_cur == 1);
    int next = c->procs_cur ^ 1;
    struct procs_snap *s = &c->procs[next];
    int rc = procs_snapshot_keep(c->procfs, NULL, &c->procs_files, s, ce);
    if (rc < 0) {
        c->procs_prev_ok = false;
        return rc;
    }
    /* CPU shares need the previous snapshot; when procs_diff refuses it (not
     * taken before this one), processes keep cpu_pct -1 and no top by CPU. */
    if (c->procs_prev_ok)
        (void)procs_diff(&c->procs[c->procs_cur], s, NULL, NULL);
    c->procs_cur = next;
    c->procs_prev_ok = true;

    uint32_t f =
        fam(o, "perfkit_processes", "Processes by state (blocked: uninterruptible sleep, D).", METRIC_GAUGE);
    for (int st = 0; st < PROCS_NSTATES; st++) {
        struct metric_label l[1] = { { "state", proc_state_label[st] } };
        add(o, f, l, 1, (double)s->states[st]);
    }
    add1(o, "perfkit_processes_all", "Processes in any state.", METRIC_GAUGE, (double)s->total);
    add1(o, "perfkit_threads", "Threads of all processes.", METRIC_GAUGE, (double)s->threads);

    /* node_exporter's processes collector (off there by default): states by the
     * kernel's letter, only those present, as it prints them. */
    static const char letters[PROCS_NSTATES] = {
        [PROCS_RUNNING] = 'R', [PROCS_SLEEPING] = 'S', [PROCS_DISK_SLEEP] = 'D', [PROCS_ZOMBIE] = 'Z',
        [PROCS_STOPPED] = 'T', [PROCS_TRACED] = 't',   [PROCS_DEAD] = 'X',       [PROCS_IDLE] = 'I',
    };
    f = fam(o, "node_processes_state", "Number of processes in each state.", METRIC_GAUGE);
    for (int st = 0; st < PROCS_NSTATES; st++) {
        if (!letters[st] || s->states[st] == 0)
            continue;
        char letter[2] = { letters[st], '\0' };
        struct metric_label l[1] = { { "state", letter } };
        add(o, f, l, 1, (double)s->states[st]);
    }
    add1(o, "node_processes_pids", "Number of PIDs", METRIC_GAUGE, (double)s->total);
    add1(o, "node_processes_threads", "Allocated threads in system", METRIC_GAUGE, (double)s->threads);
    uint64_t lim;
    if (sysctl_read_uint(c->procfs, "kernel.pid_max", &lim, NULL) == 0)
        add1(o, "node_processes_max_processes", "Number of max PIDs limit", METRIC_GAUGE, (double)lim);
    if (sysctl_read_uint(c->procfs, "kernel.threads-max", &lim, NULL) == 0)
        add1(o, "node_processes_max_threads", "Limit of threads in the system", METRIC_GAUGE, (double)lim);

    growth_add(c, now_ms, (double)s->total, (double)s->threads);
    size_t n = c->growth_n;
    const struct collect_point *first = &c->growth[c->growth_head];
    const struct collect_point *last = &c->growth[(c->growth_head + n - 1) % COLLECT_GROWTH_POINTS];
    if (n >= 2 && last->t_ms - first->t_ms >= c->growth_min_ms) {
        int64_t ts[COLLECT_GROWTH_POINTS];
        double ps[COLLECT_GROWTH_POINTS], th[COLLECT_GROWTH_POINTS];
        for (size_t i = 0; i < n; i++) {
            const struct collect_point *pt = &c->growth[(c->growth_head + i) % COLLECT_GROWTH_POINTS];
            ts[i] = pt->t_ms;
            ps[i] = pt->procs;
            th[i] = pt->threads;
        }
        add1(o, "perfkit_processes_growth_per_minute",
             "Least-squares slope of the process count over the last window (10 minutes by default), "
             "in processes per minute: steadily above 0 is a fork leak.",
             METRIC_GAUGE, collect_slope_per_min(ts, ps, n));
        add1(o, "perfkit_threads_growth_per_minute",
             "Least-squares slope of the thread count over the last window (10 minutes by default), "
             "in threads per minute: steadily above 0 is a thread leak.",
             METRIC_GAUGE, collect_slope_per_min(ts, th, n));
    }

    const struct procs_proc *top[COLLECT_TOP_N];
    c->status.ntop_cpu = procs_top_cpu(s, COLLECT_TOP_N, top);
    for (size_t i = 0; i < c->status.ntop_cpu; i++)
        copy_proc(&c->status.top_cpu[i], top[i]);
    c->status.ntop_rss = procs_top_rss(s, COLLECT_TOP_N, top);
    for (size_t i = 0; i < c->status.ntop_rss; i++)
        copy_proc(&c->status.top_rss[i], top[i]);
    return 0;
}
