/*
 * perfkit.h - the public C API of libperfkit.
 *
 * libperfkit benchmarks C functions in-process: run a named function for a
 * fixed or auto-calibrated number of iterations, with repetitions, and get
 * time per iteration with its statistics, CPU time, peak-RSS growth,
 * allocations and (where the kernel allows) hardware counters; write the
 * results as Google Benchmark-compatible JSON with an analysis block.
 *
 * Contract: functions return 0 on success and a negative errno or a PK_E*
 * code on failure, with a human message in the caller's struct pk_err.
 * The library never prints and never exits. Objects returned by *_new are
 * freed with the matching *_free. Nothing here is thread-safe on a shared
 * object unless said; distinct objects may be used from distinct threads.
 */
#ifndef PERFKIT_H
#define PERFKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PK_API __attribute__((visibility("default")))
#else
#define PK_API
#endif

#define PK_VERSION_MAJOR 0
#define PK_VERSION_MINOR 1
#define PK_VERSION_PATCH 0

/* Project error codes, past the errno range (errno values are < 4096). */
enum {
    PK_EPARSE  = -10001, /* malformed input (text, JSON, option value) */
    PK_EUSAGE  = -10002, /* invalid combination of options or arguments */
    PK_ECHILD  = -10003, /* a benchmarked command failed (non-zero exit, signal) */
    PK_ESTOP   = -10004, /* stopped by the caller's stop flag (Ctrl-C) */
    PK_ENOTSUP = -10005, /* not available here (kernel, permissions, build) */
};

/*
 * What failed, on what, and why. Filled by a failing call; untouched on
 * success. pk_err_str() renders "on: what: why", leaving out empty parts,
 * e.g. "--min-time: invalid duration '5x': unknown unit 'x'".
 */
struct pk_err {
    int  code;
    char what[160];
    char on[256];
    char why[256];
};

PK_API void pk_err_clear(struct pk_err *e);
PK_API const char *pk_err_str(const struct pk_err *e, char *buf, size_t len);
PK_API const char *pk_version(void);

/* ---- in-process benchmarks (see docs/libperfkit.md) ------------------- */
/* PK_HARNESS_API: declarations of the harness follow (bench/harness.h). */

#ifdef __cplusplus
}
#endif
#endif /* PERFKIT_H */
