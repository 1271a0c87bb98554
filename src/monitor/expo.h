/*
 * expo - the exposition of a metric set (monitor/metric.h) in the two formats
 * Prometheus scrapes: the text format 0.0.4 and OpenMetrics 1.0.
 *
 * Both formats print each family that has series once, in the set's order:
 * "# HELP" (left out when the help text is empty), "# TYPE", then its series
 * in the order added, labels in the order given, no timestamps. The
 * differences are the ones the specifications make:
 *   - text 0.0.4: HELP escapes '\' and newline; an untyped family is
 *     "untyped"; nothing marks the end.
 *   - OpenMetrics: HELP also escapes '"'; a counter's family is named without
 *     its "_total" suffix in TYPE, UNIT and HELP while its samples keep it; an
 *     untyped family is "unknown"; a family whose name (without "_total") ends
 *     in a base unit ("_seconds", "_bytes", "_ratio", ...) gets "# UNIT"; the
 *     output ends with "# EOF".
 * Label values escape '\', '"' and newline in both. Values print as the Go
 * client does (strconv 'g' with the shortest digits that read back as the
 * same double; "NaN", "+Inf", "-Inf"), except that an integral value of
 * magnitude below 2^53 prints as a plain integer, without exponent.
 *
 * Ownership: expo_render() returns a malloc'd, NUL-terminated buffer the
 * caller frees; expo_render_buf() grows a caller-owned struct buf
 * (core/buf.h) that can be reused from scrape to scrape. Threads: the
 * functions only read the set and keep no state, so several threads may
 * render one published set at once. Errors: 0 or -ENOMEM (message in the pk_err when given), -E2BIG past
 * the cap of expo_render_buf's buffer, -EINVAL for an unknown format.
 */
#ifndef PK_MONITOR_EXPO_H
#define PK_MONITOR_EXPO_H

#include <stddef.h>

#include "core/buf.h"
#include "monitor/metric.h"
#include "perfkit.h"

/* The Content-Type of each format, as Prometheus and its client libraries send them. */
#define EXPO_CONTENT_TYPE_TEXT        "text/plain; version=0.0.4; charset=utf-8"
#define EXPO_CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

enum expo_format { EXPO_TEXT, EXPO_OPENMETRICS };

/* The set in format f into *out (malloc'd, NUL-terminated, caller frees) of *len bytes. */
int expo_render(const struct metric_set *s, enum expo_format f, char **out, size_t *len, struct pk_err *e);

/*
 * The sets sets[0..n) one after the other into b (its previous content is
 * replaced, its memory kept; b->p is NUL-terminated after a render), as one
 * exposition: OpenMetrics' "# EOF" comes once at the end. A cap in b->max
 * makes a longer exposition fail with -E2BIG.
 * A family name must not appear in two of the sets (neither format allows a
 * family twice); that is not checked.
 */
int expo_render_buf(struct buf *b, const struct metric_set *const *sets, size_t n, enum expo_format f,
                    struct pk_err *e);

/* The Content-Type header for f. */
const char *expo_content_type(enum expo_format f);

/*
 * v as the exposition prints it (see above) into buf (cap >= 32 always
 * suffices); returns the length, NUL-terminated.
 */
size_t expo_format_double(double v, char *buf, size_t cap);

/* The OpenMetrics unit implied by a family name ("node_cpu_seconds_total" -> "seconds"), or NULL. */
const char *expo_unit(const char *family_name, enum metric_type type);

#endif
