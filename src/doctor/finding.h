/*
 * finding - what `perfkit doctor` reports: tuning findings (one per check of
 * the checks table) and bottlenecks (from the sampling window), and their
 * renderings: JSON (docs/doctor.md) and a shell script of fixes.
 *
 * A finding carries the observed and recommended values, one sentence on why
 * it matters, the command that fixes it now and the line that makes the fix
 * persistent (with the file it belongs in). A skipped finding says why it was
 * skipped (a file missing in a container, a feature the kernel lacks); it is
 * never a verdict. Strings are copied into fixed buffers (truncated, always
 * NUL-terminated). The report owns its arrays; finding_report_destroy frees
 * them. Not thread-safe; no printing.
 */
#ifndef PK_DOCTOR_FINDING_H
#define PK_DOCTOR_FINDING_H

#include <stddef.h>

#include <jansson.h>

#include "perfkit.h"

enum finding_status { FINDING_OK, FINDING_WARN, FINDING_CRIT, FINDING_SKIPPED };

struct finding {
    char id[48];   /* stable: "net.core.somaxconn", "disk.scheduler.sda" */
    char area[16]; /* "fd", "memory", "network", "disk", "cpu", "process" */
    enum finding_status status;
    char observed[160];
    char recommended[160];
    char why[240];     /* one sentence */
    char fix[320];     /* command that fixes it now; "" when nothing to run */
    char persist[320]; /* line(s) that make it persistent, one per \n; "" when none */
    char persist_file
        [304]; /* where they go, e.g. /etc/sysctl.d/90-perfkit.conf (a unit's drop-in: 297 bytes) */
    char skip_reason[200]; /* when FINDING_SKIPPED */
    char source[160];      /* where the threshold comes from (docs/doctor.md) */
};

struct bottleneck {
    char id[48]; /* "cpu.busy", "fs.used./var", "net.errors.eth0" */
    char area[16];
    enum finding_status status; /* FINDING_WARN or FINDING_CRIT */
    double value, limit;        /* e.g. 93.5 and 80 (percent) */
    char unit[8];               /* "%", "/s", "" */
    char observed[200];
    char culprit[200]; /* which process, filesystem, device, interface */
    char advice[480];  /* the guide's recommendation made concrete */
};

struct finding_report {
    struct finding *findings;
    size_t nfindings, cap_findings;
    struct bottleneck *bottlenecks;
    size_t nbottlenecks, cap_bottlenecks;
    double sample_s; /* the diagnosis window */
    /* Why the run read too little to be a verdict on the host (doctor_coverage); "" when it did not. */
    char incomplete[256];
};

void finding_report_init(struct finding_report *r);
void finding_report_destroy(struct finding_report *r);
/* A new zeroed entry appended to the report; NULL on ENOMEM. */
struct finding *finding_add(struct finding_report *r, const char *id, const char *area);
struct bottleneck *finding_add_bottleneck(struct finding_report *r, const char *id, const char *area);
/* printf into a finding's field: finding_set(f->observed, sizeof f->observed, "%d", v). */
void finding_set(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* s as one single-quoted shell word into dst (truncated words are refused:
 * returns -ENAMETOOLONG and leaves dst empty), for names read from /sys or
 * /proc that end up in a fix command. */
int finding_shell_quote(char *dst, size_t cap, const char *s);
/* Marks f skipped with the reason. */
void finding_skip(struct finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sorts findings and bottlenecks worst first (crit, warn, ok, skipped), then by area and id. */
void finding_sort(struct finding_report *r);
const char *finding_status_name(enum finding_status s); /* "ok", "warn", "crit", "skipped" */
/* Counts by status; returns the worst of findings and bottlenecks (skipped counts as ok). */
enum finding_status finding_worst(const struct finding_report *r, size_t counts[4]);

/* {"checks": [...], "bottlenecks": [...], "summary": {...}}; caller json_decref()s. */
json_t *finding_report_json(const struct finding_report *r);
/* A POSIX shell script applying every fix of a warn/crit finding, each with a
 * comment (id, observed, why), and appending its persistent lines to their
 * file when run with PERSIST=1 (each line once; a persist without a file
 * stays a comment); malloc'd, caller frees. */
char *finding_fix_script(const struct finding_report *r);

#endif
