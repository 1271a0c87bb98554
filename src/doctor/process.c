/*
 * process - the checks of the process given with --pid or --process (see
 * process.h): findings, not bottlenecks, since each compares the process
 * with its own limit.
 */
#include "doctor/process.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "sys/cgroup.h"

#define LIMITS_CONF "/etc/security/limits.conf"

static const struct procs_proc *find_process(const struct doctor_opts *o, const struct procs_snap *s,
                                             struct pk_err *e)
{
    const struct procs_proc *p;
    if (o->pid) {
        if (!(p = procs_find_pid(s, (int)o->pid)))
            err_set(e, -ESRCH, "--pid", "no such process", "%d", (int)o->pid);
        return p;
    }
    const struct procs_proc *m[2];
    if (procs_find_name(s, o->process, m, 2) == 0) {
        char q[64];
        err_set(e, -ESRCH, "--process", "no process of that name", "'%s'",
                err_quote(o->process, strlen(o->process), q, sizeof(q)));
        return NULL;
    }
    return m[0];
}

/*
 * Where a raised open-files limit survives a restart: the process's systemd
 * service takes it from its unit (a drop-in, read on daemon-reload); anything
 * started from a login session takes it from pam_limits, whose wildcard does
 * not cover root.
 */
static void nofile_persist(const struct doctor_opts *o, int pid, struct finding *f)
{
    char unit[CGROUP_UNIT_LEN];
    struct pk_err e;
    if (cgroup_read_unit(o->procfs, pid, unit, &e) == 0 && unit[0]) {
        finding_set(f->persist, sizeof(f->persist), "[Service]\nLimitNOFILE=65536");
        finding_set(f->persist_file, sizeof(f->persist_file), "/etc/systemd/system/%s.d/perfkit-limits.conf",
                    unit);
        return;
    }
    /* no service (or a cgroup file that cannot be read): the session's limits */
    finding_set(f->persist, sizeof(f->persist), "*  -  nofile  65536\nroot  -  nofile  65536");
    finding_set(f->persist_file, sizeof(f->persist_file), "%s", LIMITS_CONF);
}

static int nofile_finding(const struct doctor_opts *o, struct finding_report *r, const struct procs_proc *p,
                          const char *comm)
{
    char id[48];
    snprintf(id, sizeof(id), "process.nofile.%d", p->pid);
    struct finding *f = finding_add(r, id, "process");
    if (!f)
        return -ENOMEM;
    finding_set(f->why, sizeof(f->why),
                "At its open-files limit, the process's accept() and "
                "open() fail with EMFILE: new connections are refused.");
    finding_set(f->source, sizeof(f->source), "the guide's ulimit -n 65536");
    finding_set(f->recommended, sizeof(f->recommended), "open fds <= 80%% of the soft limit, limit >= 65536");
    if (!p->nofile_known || p->nfds < 0) {
        finding_skip(f, "%s (pid %d): limits or fd/ not readable", comm, p->pid);
        return 0;
    }
    double pct = p->nofile.soft && p->nofile.soft != PROCS_UNLIMITED
                     ? 100.0 * (double)p->nfds / (double)p->nofile.soft
                     : 0;
    finding_set(f->observed, sizeof(f->observed), "%s (pid %d): %ld fds open, soft limit %llu (%.0f%%)", comm,
                p->pid, p->nfds, (unsigned long long)p->nofile.soft, pct);
    f->status = pct > 95 ? FINDING_CRIT : pct > 80 ? FINDING_WARN : FINDING_OK;
    if (f->status == FINDING_OK && p->nofile.soft < 65536)
        f->status = FINDING_WARN;
    if (f->status != FINDING_OK) {
        finding_set(f->fix, sizeof(f->fix), "prlimit --pid %d --nofile=65536:65536", p->pid);
        nofile_persist(o, p->pid, f);
    }
    return 0;
}

static int growth_finding(struct finding_report *r, const struct procs_proc *p, bool window)
{
    char id[48];
    snprintf(id, sizeof(id), "process.rss_growth.%d", p->pid);
    struct finding *f = finding_add(r, id, "process");
    if (!f)
        return -ENOMEM;
    finding_set(f->why, sizeof(f->why),
                "Memory that grows steadily under a steady load is a leak "
                "that ends in swapping or the OOM killer.");
    finding_set(f->recommended, sizeof(f->recommended), "no steady growth (sample longer to be sure)");
    finding_set(f->source, sizeof(f->source), "the guide: watch memory; 80 %% limit");
    if (!window) {
        finding_skip(f, "no window to measure growth over (--sample 0)");
        return 0;
    }
    if (!p->in_prev) {
        finding_skip(f, "the process was not in both snapshots of the window");
        return 0;
    }
    uint64_t rss = p->status_known ? p->vm_rss : p->rss;
    finding_set(f->observed, sizeof(f->observed), "RSS %llu MiB, %+.1f MiB/min, %ld threads",
                (unsigned long long)(rss >> 20), p->rss_per_min / 1048576.0, p->threads);
    f->status = rss > 0 && p->rss_per_min > 0.10 * (double)rss ? FINDING_WARN : FINDING_OK;
    return 0;
}

int process_findings(const struct doctor_opts *o, struct finding_report *r, const struct procs_snap *s,
                     bool window, struct pk_err *e)
{
    if (!o->pid && !o->process)
        return 0;
    const struct procs_proc *p = find_process(o, s, e);
    if (!p)
        return -ESRCH;
    /* limits and fd/ are read for this one process only, not for the whole snapshot */
    struct procs_opts po;
    struct procs_proc full;
    procs_opts_init(&po);
    int rc = procs_read_pid(o->procfs, p->pid, &po, &full, e);
    if (rc)
        return rc;
    char comm[PROCS_COMM_LEN * 4];
    err_quote(full.comm, strlen(full.comm), comm, sizeof(comm));
    if ((rc = nofile_finding(o, r, &full, comm)))
        return rc;
    return growth_finding(r, p, window);
}

int doctor_process(const struct doctor_opts *o, struct finding_report *r, struct pk_err *e)
{
    if (!o->pid && !o->process)
        return 0;
    struct procs_snap s;
    procs_snap_init(&s);
    int rc = procs_snapshot(o->procfs, NULL, &s, e);
    if (rc == 0)
        rc = process_findings(o, r, &s, false, e);
    procs_snap_destroy(&s);
    return rc;
}
