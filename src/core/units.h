/*
 * units - parse and format durations, sizes and counts.
 *
 * Parsing is strict and length-checked: the whole text must be consumed, and
 * an error names the text and what was wrong ("invalid duration '5x':
 * unknown unit 'x' (use ns, us, ms, s, m, h)"), with `on` (an option name,
 * a file:line) copied into the error as given.
 *   durations: "500ms", "2s", "1m30s", "1h", "250us", "100ns", "1.5s";
 *              a bare number is seconds. Units: ns us µs ms s m h d.
 *   sizes:     "64KiB", "1.5MB", "512", "4k" (SI k/M/G/T = 10^3.., IEC Ki/Mi/Gi/Ti = 2^10..,
 *              optional trailing B, case-insensitive k).
 *   counts:    "1.5k" = 1500, "2M", "10" (SI suffixes k M G; result must be whole).
 * Negative values, NaN, overflow and empty text are errors.
 * Formatting picks the unit that gives 1 <= value < 1000 (sizes: < 1024),
 * with three significant digits: "51.2 ms", "1.91 MiB", "1.50 k".
 */
#ifndef PK_CORE_UNITS_H
#define PK_CORE_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

int units_parse_duration(const char *text, const char *on, double *seconds, struct pk_err *e);
int units_parse_size(const char *text, const char *on, uint64_t *bytes, struct pk_err *e);
int units_parse_count(const char *text, const char *on, uint64_t *count, struct pk_err *e);
/* A plain non-negative decimal (no unit), e.g. an --runs value or a -P bound. */
int units_parse_double(const char *text, const char *on, double *out, struct pk_err *e);
int units_parse_uint(const char *text, const char *on, uint64_t min, uint64_t max, uint64_t *out,
                     struct pk_err *e);

/* Return buf. A buffer of 32 bytes always suffices. */
char *units_format_duration(double seconds, char *buf, size_t len);
char *units_format_size(double bytes, char *buf, size_t len);
char *units_format_count(double count, char *buf, size_t len);
/* The unit units_format_duration would choose for `seconds`, and its scale
 * (e.g. "ms", 1e-3), so a table can print several values in one unit. */
const char *units_duration_unit(double seconds, double *scale);

#endif
