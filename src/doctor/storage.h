/*
 * storage - doctor's disk and filesystem checks (I/O scheduler against the
 * rotational flag, read-ahead, atime on data filesystems) and the
 * filesystem-usage bottlenecks. Usage comes from statvfs with a timeout on
 * the live machine (procfs "/proc"), and from the statvfs.tsv a recorded
 * tree carries beside its proc/ directory otherwise.
 */
#ifndef PK_DOCTOR_STORAGE_H
#define PK_DOCTOR_STORAGE_H

#include "doctor/doctor.h"

int storage_checks(const struct doctor_opts *o, struct finding_report *r);
int storage_usage(const struct doctor_opts *o, struct finding_report *r);

#endif
