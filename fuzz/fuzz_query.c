/*
 * fuzz_query - the /api/history query-string parser on arbitrary bytes.
 *
 * Besides memory errors it checks the contracts: a success gives a non-empty
 * canonical series key within QUERY_METRIC_MAX, 0 <= from < to within the
 * time range, points in 1..QUERY_POINTS_MAX and a non-negative step, and the
 * key, percent-encoded and parsed again, comes back unchanged (canonical
 * form is a fixed point); a failure is PK_EPARSE with a message, names a
 * printable parameter and leaves the output alone. The input is not
 * NUL-terminated, so reads past len are caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "monitor/query.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

#define NOW 1714564800000LL

static struct query_history q, q2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy: ASan reports any read past the end. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    struct pk_err e;
    pk_err_clear(&e);
    memset(&q, 0x5a, sizeof(q));
    int rc = query_parse_history(text, size, NOW, &q, &e);
    free(text);
    if (rc != 0) {
        CHECK(rc == PK_EPARSE && e.code == rc && e.what[0] && e.why[0]);
        for (const char *p = e.on; *p; p++)
            CHECK(*p >= 0x20 && *p < 0x7f);
        CHECK(q.from_ms == 0x5a5a5a5a5a5a5a5aLL);
        return 0;
    }
    size_t n = strlen(q.metric);
    CHECK(n > 0 && n <= QUERY_METRIC_MAX);
    CHECK(q.from_ms >= 0 && q.from_ms < q.to_ms && q.to_ms <= QUERY_TIME_MAX_MS);
    CHECK(q.points >= 1 && q.points <= QUERY_POINTS_MAX);
    CHECK(q.step_ms >= 0);

    static char again[7 + 3 * QUERY_METRIC_MAX + 1];
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    memcpy(again, "metric=", 7);
    o = 7;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)q.metric[i];
        again[o++] = '%';
        again[o++] = hex[c >> 4];
        again[o++] = hex[c & 15];
    }
    if (o <= QUERY_MAX) {
        pk_err_clear(&e);
        CHECK(query_parse_history(again, o, NOW, &q2, &e) == 0);
        CHECK(strcmp(q.metric, q2.metric) == 0);
    }
    return 0;
}
