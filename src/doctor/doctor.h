/*
 * doctor - tuning checks and bottleneck diagnosis of a Linux host.
 *
 * doctor_checks() runs the checks table (checks.c) once; doctor_diagnose()
 * samples the readers of src/sys/ twice, sample_s apart, and adds the
 * bottlenecks it finds (diagnose.c). Both read only under the given procfs
 * and sysfs roots, so they run on recorded trees as well as on the live
 * machine; what cannot be read is `skipped` with the reason. Thresholds and
 * their sources: docs/doctor.md. No printing; results go into the report.
 */
#ifndef PK_DOCTOR_DOCTOR_H
#define PK_DOCTOR_DOCTOR_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "doctor/finding.h"

struct doctor_opts {
    const char *procfs;                /* "/proc" */
    const char *sysfs;                 /* "/sys" */
    double sample_s;                   /* diagnosis window; 0: no diagnosis */
    pid_t pid;                         /* 0: none; else its per-process checks */
    const char *process;               /* or by name (comm); NULL: none */
    const volatile sig_atomic_t *stop; /* ends the window early */
};

void doctor_opts_default(struct doctor_opts *o);
int doctor_checks(const struct doctor_opts *o, struct finding_report *r, struct pk_err *e);
int doctor_diagnose(const struct doctor_opts *o, struct finding_report *r, struct pk_err *e);
/*
 * Without a window (sample_s 0), what doctor_diagnose adds for --pid or
 * --process: the process's open files against its limit, its RSS growth
 * skipped for want of a window. Nothing when neither is set; -ESRCH when the
 * process is not there.
 */
int doctor_process(const struct doctor_opts *o, struct finding_report *r, struct pk_err *e);

/*
 * Before a run: -ENOENT (with the message) when o->procfs cannot be opened or
 * is no proc filesystem, recorded or live (neither stat nor meminfo in it).
 */
int doctor_roots(const struct doctor_opts *o, struct pk_err *e);
/*
 * After a run: true, with the reason in r->incomplete, when it read too
 * little to be a verdict on the host: more than half of its checks skipped,
 * or o->sysfs without devices/system/cpu (every sysfs has it).
 */
bool doctor_coverage(const struct doctor_opts *o, struct finding_report *r);

#endif
