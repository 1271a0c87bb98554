/*
 * fuzz_pack - the row decoders of the history store (monitor/pack.c): a
 * frame and a chunk read from a file that may be anything. Copied into a
 * buffer of exactly its size, so ASan catches a read past it. What a check
 * accepts must decode in order, find every one of its series by bisection,
 * and encode back to the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    double v;
    (void)pack_frame_find(buf, size, size ? buf[0] : 0, &v);
    size_t n;
    if (pack_frame_check(buf, size, &n) == 0) {
        struct pack_value *vals = malloc((n ? n : 1) * sizeof(*vals));
        unsigned char *again = malloc(pack_frame_size(n));
        if (vals && again) {
            for (size_t i = 0; i < n; i++) {
                vals[i] = pack_frame_get(buf, i);
                if (i > 0 && vals[i].id <= vals[i - 1].id)
                    abort();
                double w;
                if (!pack_frame_find(buf, size, vals[i].id, &w) || memcmp(&w, &vals[i].v, sizeof(w)) != 0)
                    abort();
            }
            pack_frame(vals, n, again);
            if (pack_frame_size(n) != size || memcmp(again, buf, size) != 0)
                abort();
        }
        free(vals);
        free(again);
    }
    const int64_t minute = 29000000;
    if (pack_chunk_check(buf, size, &n) == 0) {
        struct pack_point *pts = malloc((n ? n : 1) * sizeof(*pts));
        unsigned char *again = malloc(pack_chunk_size(n));
        if (pts && again) {
            for (size_t i = 0; i < n; i++) {
                pts[i] = pack_chunk_get(buf, i, minute);
                if (pts[i].ts < minute * PACK_MINUTE_MS || pts[i].ts >= (minute + 1) * PACK_MINUTE_MS ||
                    (i > 0 && pts[i].ts <= pts[i - 1].ts))
                    abort();
            }
            if (pack_chunk(pts, n, minute, again) != 0 || pack_chunk_size(n) != size ||
                memcmp(again, buf, size) != 0)
                abort();
        }
        free(pts);
        free(again);
    }
    free(buf);
    return 0;
}
