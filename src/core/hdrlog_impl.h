/*
 * hdrlog_impl - what the two parts of hdrlog share, and no other module
 * uses: hdrlog.c encodes, compresses and writes (the V2 format, the
 * percentile spectrum, the interval log's lines); hdrlog_read.c reads an
 * interval log back. Same contract as core/hdrlog.h.
 */
#ifndef PK_CORE_HDRLOG_IMPL_H
#define PK_CORE_HDRLOG_IMPL_H

#include <stdbool.h>
#include <stddef.h>

/* Whether tag (n bytes) may stand in a log line and read back as written:
 * 1 to HDRLOG_TAG_MAX bytes, no comma, blank, line break or control byte. */
bool hdrlog_tag_ok(const char *tag, size_t n);

#endif
