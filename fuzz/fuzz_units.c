/*
 * fuzz_units - the unit parsers on arbitrary text, and the formatters on
 * whatever they return and on arbitrary doubles.
 *
 * Besides memory errors it checks the contracts: a success yields a finite,
 * non-negative, in-range value; a failure fills the error and leaves the
 * output alone; every formatted value fits in 32 bytes.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/units.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

static void check_format(char *(*fn)(double, char *, size_t), double v)
{
    char big[128], small[32];
    fn(v, big, sizeof(big));
    CHECK(strlen(big) < sizeof(small));
    fn(v, small, sizeof(small));
    CHECK(strcmp(big, small) == 0);
}

static void format_all(double v)
{
    check_format(units_format_duration, v);
    check_format(units_format_size, v);
    check_format(units_format_count, v);
    double scale = 0;
    const char *unit = units_duration_unit(v, &scale);
    CHECK(unit && unit[0] && scale > 0);
}

static void check_failure(int rc, const struct pk_err *e)
{
    CHECK(rc < 0);
    CHECK(e->code == rc);
    CHECK(e->what[0] != '\0');
    CHECK(strcmp(e->on, "fuzz") == 0 || rc != PK_EPARSE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct pk_err e;
    double d = -1;
    uint64_t u = 7;
    int rc;

    pk_err_clear(&e);
    rc = units_parse_duration(text, "fuzz", &d, &e);
    if (rc == 0) {
        CHECK(isfinite(d) && d >= 0 && d <= 100000.0 * 86400);
        format_all(d);
    } else {
        check_failure(rc, &e);
        CHECK(d == -1);
    }

    pk_err_clear(&e);
    rc = units_parse_size(text, "fuzz", &u, &e);
    if (rc == 0) {
        format_all((double)u);
    } else {
        check_failure(rc, &e);
        CHECK(u == 7);
    }

    pk_err_clear(&e);
    u = 7;
    rc = units_parse_count(text, "fuzz", &u, &e);
    if (rc == 0) {
        format_all((double)u);
    } else {
        check_failure(rc, &e);
        CHECK(u == 7);
    }

    pk_err_clear(&e);
    d = -1;
    rc = units_parse_double(text, "fuzz", &d, &e);
    if (rc == 0) {
        CHECK(isfinite(d) && d >= 0);
        format_all(d);
    } else {
        check_failure(rc, &e);
    }

    pk_err_clear(&e);
    u = 7;
    rc = units_parse_uint(text, "fuzz", 3, 1000000, &u, &e);
    if (rc == 0)
        CHECK(u >= 3 && u <= 1000000);
    else
        check_failure(rc, &e);

    /* The raw bytes as doubles: NaN, infinities, subnormals, huge values. */
    for (size_t off = 0; off + sizeof(double) <= size && off < 64; off += sizeof(double)) {
        double v;
        memcpy(&v, data + off, sizeof(v));
        format_all(v);
    }

    free(text);
    return 0;
}
