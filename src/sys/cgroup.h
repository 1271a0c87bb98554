/*
 * cgroup - which systemd service a process runs in, from <procfs>/<pid>/cgroup.
 * `perfkit doctor --pid` names the unit whose drop-in makes a raised limit
 * (LimitNOFILE=) survive a restart of the service.
 *
 * The file has one line per hierarchy, "ID:CONTROLLERS:PATH" (cgroups(7)).
 * The unified hierarchy's line ("0::PATH") is preferred, then v1's
 * "name=systemd" line; the unit is the first component of PATH that ends in
 * ".service", unless a user manager ("user@UID.service") comes first: a user
 * unit is not a system service, and no unit is given for it.
 *
 * Contract: no allocation, no global state, thread-safe. A process outside
 * any service (a login session's scope, a container's root "/") has no unit:
 * 0 with unit "". A unit name holding a byte systemd never puts in one
 * (outside [A-Za-z0-9:_.@\-]) is refused as PK_EPARSE, so the name is safe
 * in a path. Errors: 0, -errno from the read, PK_EPARSE; cgroup_read names
 * the file in e->on ("<procfs>/<pid>/cgroup[:<line>]").
 */
#ifndef PK_SYS_CGROUP_H
#define PK_SYS_CGROUP_H

#include <stddef.h>

#include "perfkit.h"

/* Bytes of a cgroup file read at most: v1 has about a dozen lines of short paths. */
#define CGROUP_FILE_CAP 16384
/* systemd's cap on a unit name, UNIT_NAME_MAX, with its NUL. */
#define CGROUP_UNIT_LEN 256

/* The service of the process whose cgroup file buf holds, into unit ("" for none). */
int cgroup_parse_unit(const char *buf, size_t len, char unit[CGROUP_UNIT_LEN], struct pk_err *e);
/* The same for <procfs>/<pid>/cgroup. */
int cgroup_read_unit(const char *procfs, int pid, char unit[CGROUP_UNIT_LEN], struct pk_err *e);

#endif
