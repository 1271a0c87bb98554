/*
 * coverage - whether a run of the doctor read enough of the host to be a
 * verdict on it (docs/doctor.md, "Output and exit status"). A skipped check
 * is no verdict, so a run from a wrong root, where nearly everything is
 * skipped, would otherwise read as a healthy host.
 */
#include "doctor/doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

/* Whether root/rel exists; errno-free (a root that cannot be opened holds nothing). */
static bool has(const char *root, const char *rel)
{
    int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return false;
    struct stat st;
    bool yes = fstatat(dir, rel, &st, 0) == 0;
    close(dir);
    return yes;
}

int doctor_roots(const struct doctor_opts *o, struct pk_err *e)
{
    int dir = open(o->procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return err_errno(e, -errno, o->procfs, "cannot open the procfs root");
    close(dir);
    /* every procfs since Linux 2.0 has both; a recorded tree has at least one */
    if (!has(o->procfs, "stat") && !has(o->procfs, "meminfo"))
        return err_set(e, -ENOENT, o->procfs, "not a proc filesystem", "it holds neither stat nor meminfo");
    return 0;
}

bool doctor_coverage(const struct doctor_opts *o, struct finding_report *r)
{
    size_t c[4];
    finding_worst(r, c);
    bool most_skipped = r->nfindings == 0 || 2 * c[FINDING_SKIPPED] > r->nfindings;
    bool no_sysfs = !has(o->sysfs, "devices/system/cpu");
    r->incomplete[0] = '\0';
    if (most_skipped && no_sysfs)
        snprintf(r->incomplete, sizeof(r->incomplete),
                 "%zu of %zu checks skipped, and --sysfs %s holds no devices/system/cpu", c[FINDING_SKIPPED],
                 r->nfindings, o->sysfs);
    else if (most_skipped)
        snprintf(r->incomplete, sizeof(r->incomplete), "%zu of %zu checks skipped", c[FINDING_SKIPPED],
                 r->nfindings);
    else if (no_sysfs)
        snprintf(r->incomplete, sizeof(r->incomplete), "--sysfs %s holds no devices/system/cpu", o->sysfs);
    return r->incomplete[0] != '\0';
}
