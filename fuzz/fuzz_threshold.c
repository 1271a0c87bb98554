/*
 * fuzz_threshold - --threshold texts, arbitrary bytes.
 *
 * Besides memory errors it checks the contracts: a success has a known
 * metric and operator, a finite non-negative limit (a fraction for
 * error_rate and dropped), a percentile in (0, 100] exactly for percentile metrics, the
 * text kept as given, and NaN never passes; a failure fills the error
 * (PK_EPARSE, on "--threshold") and leaves the output alone.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "load/threshold.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct pk_err e;
    pk_err_clear(&e);
    struct threshold t;
    memset(&t, 0x5a, sizeof(t));
    int rc = threshold_parse(text, &t, &e);
    if (rc != 0) {
        CHECK(rc == PK_EPARSE && e.code == rc && e.what[0] && e.why[0]);
        CHECK(strcmp(e.on, "--threshold") == 0);
        CHECK(t.text[0] == 0x5a);
    } else {
        CHECK(t.metric <= THRESHOLD_DROPPED && t.op <= THRESHOLD_GE);
        CHECK(isfinite(t.limit) && t.limit >= 0);
        CHECK((t.metric != THRESHOLD_ERROR_RATE && t.metric != THRESHOLD_DROPPED) || t.limit <= 1);
        CHECK((t.metric == THRESHOLD_PERCENTILE) == (t.percentile > 0));
        CHECK(t.percentile <= 100);
        CHECK(strcmp(t.text, text) == 0);
        CHECK(!threshold_pass(&t, NAN));
        CHECK(threshold_pass(&t, t.limit) == (t.op == THRESHOLD_LE || t.op == THRESHOLD_GE));
        CHECK(threshold_op_str(t.op)[0] != '?');
    }
    free(text);
    return 0;
}
