/*
 * query - the query string of /api/history, parsed and validated before
 * anything reaches the store.
 *
 * Input: the raw query string as it arrived (the bytes after '?', undecoded,
 * need not be NUL-terminated). Parameters:
 *
 *   metric  required. A series key: a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*),
 *           optionally with labels in Prometheus' syntax,
 *           name{label="value",...}, percent-encoded in the URL. Labels may
 *           come in any order, with blanks around the punctuation and a
 *           trailing comma; the key is rewritten in the store's canonical
 *           form (metric_key(): labels sorted by name, no blanks, values
 *           escaped \\ \" \n, no braces without labels), so
 *           `a{y="1", x="2"}` and `a{x="2",y="1"}` name the same series.
 *   from    start of the window (default: to - 1h, not before 1970).
 *   to      end of the window (default: now).
 *           Either one: RFC 3339 ("2024-05-01T12:00:00Z",
 *           "2024-05-01T14:00:00.250+02:00"), unix seconds ("1714564800",
 *           "1714564800.25"), "now", or relative to now: '-' and a duration
 *           ("-1h", "-90s", "-1h30m"). Times are kept to the millisecond
 *           (finer digits are cut).
 *   step    bucket width: a duration ("30s", "1m", "1m30s") or bare seconds
 *           ("15"), at least 1 ms. Not given: 0, and the store picks a round
 *           step giving at most `points` buckets; a given step is raised by
 *           the store when it would give more (store_history()).
 *   points  the most buckets wanted, 1..QUERY_POINTS_MAX (default 1000).
 *
 * Strictness, each refusal with its own message: every parameter at most
 * once; no other parameter; every parameter needs '=' and a non-empty value;
 * no empty parameter ("a=1&&b=2", a trailing '&'); '%' must be followed by
 * two hex digits, %00 is refused and decoded text must be valid UTF-8; raw
 * bytes must be printable ASCII (a space, control or non-ASCII byte must be
 * percent-encoded); from < to, both within 1970..9999; the whole string at
 * most QUERY_MAX bytes. '+' decodes to a space (form encoding: what browsers
 * and URLSearchParams write), so an RFC 3339 offset "+02:00" must be sent as
 * "%2B02:00"; a time with a space where its offset sign should be gets a
 * message saying so.
 *
 * Errors: PK_EPARSE with e->on = the parameter at fault, as decoded and made
 * printable (e.g. "from"; "" when no single parameter is to blame: an
 * over-long query, an empty parameter), e->what and e->why saying what is
 * wrong, e.g. "from: invalid time '2024-13-01T00:00:00Z': month 13 out of
 * range (1..12)". *out is written only on success. No allocation, no state:
 * safe from any thread.
 */
#ifndef PK_MONITOR_QUERY_H
#define PK_MONITOR_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

#define QUERY_MAX              8192u /* raw query string bytes */
#define QUERY_METRIC_MAX       4095u /* canonical series key bytes (the store's cap) */
#define QUERY_LABELS_MAX       32u
#define QUERY_POINTS_MAX       10000u
#define QUERY_POINTS_DEFAULT   1000u
#define QUERY_RANGE_DEFAULT_MS (3600LL * 1000)
#define QUERY_TIME_MAX_MS      253402300799999LL /* 9999-12-31T23:59:59.999Z */

struct query_history {
    char metric[QUERY_METRIC_MAX + 1]; /* canonical series key */
    int64_t from_ms, to_ms;            /* unix ms, 0 <= from_ms < to_ms */
    int64_t step_ms;                   /* as given; 0 when not given */
    size_t points;                     /* 1..QUERY_POINTS_MAX */
};

/* Parses len bytes of qs; relative times and defaults count from now_ms
 * (unix ms). */
int query_parse_history(const char *qs, size_t len, int64_t now_ms, struct query_history *out,
                        struct pk_err *e);

/* Formats unix ms as RFC 3339 UTC ("2024-05-01T12:00:00.250Z"; no fraction
 * when whole seconds) into buf (32 bytes suffice); returns buf. */
char *query_format_time(int64_t ms, char *buf, size_t cap);

#endif
