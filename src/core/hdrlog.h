/*
 * hdrlog - HdrHistogram's formats for a struct hist (core/hist.h), so that
 * HdrHistogram's own tools read what perfkit writes, and the other way round:
 *
 * - the V2 encoding: a 40-byte big-endian header (cookie, payload length,
 *   normalizing index offset, significant digits, lowest, highest, integer to
 *   double ratio 1.0) and the counts up to the max value's bucket as ZigZag
 *   LEB128 (at most 9 bytes each), a run of zeros as its negated length; and
 *   the compressed form: cookie, length, zlib deflate of the V2 bytes;
 * - the interval log, format version 1.3: header lines, then one line per
 *   interval "start,length,max,base64(compressed histogram)";
 * - the percentile spectrum of outputPercentileDistribution().
 *
 * Cookies are written as HdrHistogram's Java library writes them (0x1c849313,
 * 0x1c849314: the V2 cookies 0x1c849303/04 with the word-size nibble set) and
 * read with that nibble ignored, as every HdrHistogram implementation does.
 * Numbers in text are formatted as Java's Formatter does (the shortest
 * decimal that reads back as the double, rounded half up), because C's printf
 * rounds the binary value and would differ in the last digit on ties; the
 * output does not depend on the process's locale.
 *
 * Contract: text and byte outputs are malloc'd, NUL-terminated where text,
 * and freed by the caller. Decoders take untrusted bytes: every length is
 * checked, allocations are bounded by the histogram layout the header
 * declares (at most about 100 MiB, counts and payload, for 1..INT64_MAX at
 * 5 digits; 184 KiB for 1 µs..1 h at 3), and a
 * decoded histogram is initialised by the call (caller hist_destroy()s it)
 * and left untouched on failure. Errors: 0, -ENOMEM, -EINVAL for bad
 * arguments, PK_EPARSE for malformed input, with a message in the pk_err.
 * The clamped count of a struct hist is not part of HdrHistogram's format
 * and is 0 after decoding. No global state; all functions are thread-safe.
 */
#ifndef PK_CORE_HDRLOG_H
#define PK_CORE_HDRLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hist.h"
#include "perfkit.h"

#define HDRLOG_V2_COOKIE            0x1c849313u
#define HDRLOG_V2_COMPRESSED_COOKIE 0x1c849314u
#define HDRLOG_V2_HEADER_LEN        40
/* HdrHistogram's HistogramLogWriter compresses at Deflater.BEST_COMPRESSION. */
#define HDRLOG_LOG_ZLIB_LEVEL 9

/* ---- binary encodings */
int hdrlog_encode(const struct hist *h, uint8_t **out, size_t *len, struct pk_err *e);
/* level: zlib's 0..9, or -1 for its default. */
int hdrlog_encode_compressed(const struct hist *h, int level, uint8_t **out, size_t *len, struct pk_err *e);
/* The whole buffer must be one encoding (no trailing bytes). A non-zero
 * normalizing index offset (a shifted Java histogram) and V0/V1 encodings
 * are PK_EPARSE; the integer to double ratio is not used. */
int hdrlog_decode(const uint8_t *buf, size_t len, struct hist *h, struct pk_err *e);
int hdrlog_decode_compressed(const uint8_t *buf, size_t len, struct hist *h, struct pk_err *e);
/* Adds the counts of a compressed histogram to h (initialised, of the layout
 * the encoding declares: another is PK_EPARSE) without allocating one: in
 * time of the encoded bytes, not of the layout, for readers that add up
 * many (a merge of interval logs). -EOVERFLOW when h's total would pass
 * INT64_MAX; h is unchanged on every error. */
int hdrlog_decode_compressed_add(const uint8_t *buf, size_t len, struct hist *h, struct pk_err *e);

/* ---- percentile spectrum
 * outputPercentileDistribution(out, ticks_per_half_distance, unit_ratio):
 * values divided by unit_ratio (> 0; 1000.0 prints µs as ms) with as many
 * decimals as the histogram's significant digits. HdrHistogram uses 5 ticks. */
int hdrlog_spectrum(const struct hist *h, int ticks_per_half_distance, double unit_ratio, char **out,
                    size_t *len, struct pk_err *e);

/* ---- interval log writer
 * The header: version line, "#<comment>" when comment is not NULL (one line),
 * StartTime (with the date in UTC), BaseTime, and the column legend. Times
 * are milliseconds since the epoch. */
int hdrlog_header(int64_t start_ms, int64_t base_ms, const char *comment, char **out, size_t *len,
                  struct pk_err *e);
/* One interval line: start_s and end_s relative to the BaseTime, the
 * interval's max divided by max_ratio, the histogram compressed at
 * HDRLOG_LOG_ZLIB_LEVEL. tag: NULL, or "Tag=<tag>," first (no commas,
 * spaces or control characters; at most HDRLOG_TAG_MAX bytes). */
int hdrlog_interval(const struct hist *h, double start_s, double end_s, double max_ratio, const char *tag,
                    char **out, size_t *len, struct pk_err *e);

/* ---- interval log reader */
#define HDRLOG_TAG_MAX 128

enum hdrlog_kind {
    HDRLOG_BLANK,
    HDRLOG_COMMENT,
    HDRLOG_START_TIME,
    HDRLOG_BASE_TIME,
    HDRLOG_LEGEND,
    HDRLOG_INTERVAL,
};

struct hdrlog_line {
    enum hdrlog_kind kind;
    double time_s;                 /* START_TIME, BASE_TIME: seconds since the epoch */
    char tag[HDRLOG_TAG_MAX + 1];  /* INTERVAL: "" when untagged */
    double start_s, length_s, max; /* INTERVAL: as written */
    struct hist hist;              /* INTERVAL: decoded, the caller hist_destroy()s it */
    uint8_t *z;                    /* INTERVAL of hdrlog_parse_line_z(): compressed, the caller frees it */
    size_t z_len;
};

/* One line, without its '\n' (a trailing '\r' is allowed). Only an INTERVAL
 * holds anything to free. */
int hdrlog_parse_line(const char *line, size_t len, struct hdrlog_line *out, struct pk_err *e);
/* The same, but an interval's histogram is left as its compressed bytes in
 * z / z_len (hist is not set): for a reader that keeps the bytes or adds
 * them up with hdrlog_decode_compressed_add(), and needs no histogram of
 * its own for each line. */
int hdrlog_parse_line_z(const char *line, size_t len, struct hdrlog_line *out, struct pk_err *e);

/*
 * A log, line by line: hdrlog_next() parses the next line into *line and
 * returns 1, 0 past the last line, or the line's error. hdrlog_where() puts
 * "<name>:<line number>" of the line last returned before e->on, for that
 * error and for the caller's own about the line.
 */
struct hdrlog_cursor {
    const char *text, *name;
    size_t len, at;
    unsigned lineno;
};
void hdrlog_cursor_init(struct hdrlog_cursor *c, const char *text, size_t len, const char *name);
int hdrlog_next(struct hdrlog_cursor *c, struct hdrlog_line *line, struct pk_err *e);
void hdrlog_where(const struct hdrlog_cursor *c, struct pk_err *e);

struct hdrlog_summary {
    size_t intervals; /* interval lines added to the sum */
    size_t skipped;   /* interval lines of another tag */
    bool has_start_time, has_base_time;
    double start_time_s, base_time_s;
    double first_start_s, last_end_s; /* of the added intervals, as written */
};

/*
 * Add every interval of a whole log to `sum`: the untagged ones when tag is
 * NULL, else those with that tag. A zeroed `sum` is initialised with the
 * first interval's layout; every interval must have the same layout as sum.
 * Errors name "<name>:<line>". On error `sum` may hold part of the log (and
 * must still be destroyed). s may be NULL.
 */
int hdrlog_read(const char *text, size_t len, const char *name, const char *tag, struct hist *sum,
                struct hdrlog_summary *s, struct pk_err *e);

/* Java's String.format(Locale.US, "%.<prec>f", v) into buf (prec 0..17):
 * 0, or -ENOSPC when it does not fit (buf then holds ""). */
int hdrlog_format_fixed(double v, int prec, char *buf, size_t len);

#endif
