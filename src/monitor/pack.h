/*
 * pack - the binary values in the rows of the history store (monitor/store_write.c, store_query.c):
 *
 *   a frame   one sample: the value of each stored series at one time,
 *             0x01, then n times { u32 series id, f64 value }, ids strictly ascending;
 *   a chunk   one series' samples of one minute,
 *             0x01, then n times { u16 milliseconds into the minute (< 60000), f64 value },
 *             times strictly ascending.
 *
 * Little-endian, fixed-width entries: a frame is searched for a series by
 * bisection, and both are as compact as a row of the old one-value-per-row
 * table. The bytes come from a file, which may be corrupt or written by
 * anything else: the readers check the format byte and the length before
 * touching an entry and never read past it. An entry out of order is not
 * detected by pack_frame_find (it would answer wrong, never out of bounds);
 * pack_*_check checks everything and is what a full decode uses.
 *
 * Pure functions, no allocation, no state. Errors: PK_EPARSE.
 */
#ifndef PK_MONITOR_PACK_H
#define PK_MONITOR_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

#define PACK_FORMAT      1
#define PACK_FRAME_ENTRY 12
#define PACK_CHUNK_ENTRY 10
#define PACK_MINUTE_MS   60000

struct pack_value {
    uint32_t id;
    double v;
};

struct pack_point {
    int64_t ts; /* absolute, milliseconds */
    double v;
};

/* Bytes of a frame of n entries. */
size_t pack_frame_size(size_t n);
/* v[0..n): ids strictly ascending (the caller sorts), into buf of pack_frame_size(n) bytes. */
void pack_frame(const struct pack_value *v, size_t n, unsigned char *buf);
/* The entries of a whole, well-ordered frame in *n; PK_EPARSE otherwise. */
int pack_frame_check(const void *blob, size_t len, size_t *n);
/* Entry i of a frame that pack_frame_check accepted. */
struct pack_value pack_frame_get(const void *blob, size_t i);
/* The value of series id in a frame: bisection, after a check of the format and length only. */
bool pack_frame_find(const void *blob, size_t len, uint32_t id, double *v);

/* Bytes of a chunk of n entries. */
size_t pack_chunk_size(size_t n);
/* p[0..n): times strictly ascending, all within minute, into buf of pack_chunk_size(n) bytes;
 * -EINVAL (nothing written) if a time is out of the minute or out of order. */
int pack_chunk(const struct pack_point *p, size_t n, int64_t minute, unsigned char *buf);
/* The entries of a whole, well-ordered chunk in *n; PK_EPARSE otherwise. */
int pack_chunk_check(const void *blob, size_t len, size_t *n);
/* Entry i of a chunk of minute that pack_chunk_check accepted. */
struct pack_point pack_chunk_get(const void *blob, size_t i, int64_t minute);

#endif
