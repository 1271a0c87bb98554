/*
 * process - doctor's checks of one process (--pid or --process): its open
 * descriptors against its RLIMIT_NOFILE, and its RSS growth and threads over
 * the diagnosis window. The persistent fix of a low limit goes where the
 * process gets its limits from: a drop-in of its systemd service when it runs
 * in one (sys/cgroup.h), else /etc/security/limits.conf.
 */
#ifndef PK_DOCTOR_PROCESS_H
#define PK_DOCTOR_PROCESS_H

#include <stdbool.h>

#include "doctor/doctor.h"
#include "sys/procs.h"

/*
 * The findings of o->pid or o->process (nothing when neither is set), found
 * in s, the window's later snapshot after procs_diff (window true) or a
 * single snapshot (window false: RSS growth is skipped, there being no
 * window). -ESRCH (message in e) when the process is not there, -ENOMEM.
 */
int process_findings(const struct doctor_opts *o, struct finding_report *r, const struct procs_snap *s,
                     bool window, struct pk_err *e);

#endif
