/*
 * psi - pressure stall information, /proc/pressure/{cpu,memory,io,irq}: the
 * share of time tasks waited for a resource ("some": at least one task,
 * "full": all non-idle tasks at once), as 10/60/300 s averages and a total
 * in microseconds. `perfkit monitor` exports the totals with node_exporter's
 * names (node_pressure_<res>_waiting_seconds_total from "some",
 * ..._stalled_seconds_total from "full"); `perfkit doctor` uses the averages
 * to tell which resource a slow service is short of.
 *
 * Contract: psi_read() takes a procfs root path like host_read(). No
 * allocation, no global state. A resource whose file is missing (kernels
 * before 4.20, CONFIG_PSI off, containers masking /proc/pressure, irq before
 * 6.1) or refuses reads (booted with psi=0: EOPNOTSUPP) is unavailable
 * (available false), not an error. Errors: 0, -errno for other read
 * failures, PK_EPARSE with e->on = "<procfs>/pressure/<res>:<line>" (the
 * pure parser names "pressure/<res>:<line>").
 *
 * Lines: "some" and "full" lines must hold avg10=, avg60=, avg300= and
 * total= (in any order; unknown key=value pairs are ignored, for future
 * kernels); a malformed or repeated one rejects the file. Lines of another
 * kind are skipped. The cpu file has a "full" line since 5.13 (zero at system
 * level); irq has only "full".
 */
#ifndef PK_SYS_PSI_H
#define PK_SYS_PSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

enum psi_resource { PSI_CPU, PSI_MEMORY, PSI_IO, PSI_IRQ, PSI_NRES };

/* Bytes of a pressure file read at most: two lines of some 70 bytes. */
#define PSI_FILE_CAP 4096

/* "cpu", "memory", "io", "irq" (the file names); NULL out of range. */
const char *psi_resource_name(enum psi_resource r);

struct psi_line {
    bool known;                  /* the line was in the file */
    double avg10, avg60, avg300; /* percent of wall time */
    uint64_t total_us;           /* stall time since boot, microseconds */
};

struct psi_res {
    bool available; /* the file was there and readable */
    struct psi_line some, full;
};

struct psi_info {
    struct psi_res res[PSI_NRES];
};

/* Reads every <procfs>/pressure/<res>; on failure p is all unavailable. */
int psi_read(const char *procfs, struct psi_info *p, struct pk_err *e);

/* total_us in seconds (node_exporter: total / 1000 / 1000). */
double psi_seconds(const struct psi_line *l);

/*
 * Pure parser (for tests and fuzzing): a pressure file's text (buf need not
 * be NUL-terminated; nothing past buf + len is read) into *out, with
 * available = true on success; res only names the file in errors.
 */
int psi_parse(const char *buf, size_t len, enum psi_resource res, struct psi_res *out, struct pk_err *e);

#endif
