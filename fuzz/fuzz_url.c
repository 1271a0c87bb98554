/*
 * fuzz_url - the URL parser on arbitrary text, plain and weighted.
 *
 * Besides memory errors it checks the contracts: a success gives a non-empty
 * host, a port in 1..65535, a target starting with '/', a weight in range,
 * and formats back to a URL that parses to the same parts; a failure fills
 * the error (PK_EPARSE, on as given) and leaves the output alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/url.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

static void check(const char *text, int weighted)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct url u;
    memset(&u, 0x5a, sizeof(u));
    int rc = weighted ? url_parse_weighted(text, "fuzz", &u, &e) : url_parse(text, "fuzz", &u, &e);
    if (rc != 0) {
        CHECK(rc == PK_EPARSE && e.code == rc && e.what[0] && e.why[0]);
        CHECK(strcmp(e.on, "fuzz") == 0);
        CHECK(u.port == 0x5a5a);
        return;
    }
    CHECK(u.host[0] && u.port >= 1 && u.target[0] == '/');
    CHECK(u.weight >= 1 && u.weight <= URL_WEIGHT_MAX);
    CHECK(weighted || u.weight == 1);
    CHECK(strlen(u.host) <= URL_HOST_MAX && strlen(u.target) <= URL_MAX);
    char buf[URL_MAX + 16];
    struct url v;
    CHECK(url_parse(url_format(&u, buf, sizeof(buf)), "fuzz", &v, &e) == 0);
    CHECK(strcmp(u.host, v.host) == 0 && strcmp(u.authority, v.authority) == 0);
    CHECK(strcmp(u.target, v.target) == 0 && u.port == v.port && u.https == v.https && u.ipv6 == v.ipv6);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check(text, 0);
    check(text, 1);
    free(text);
    return 0;
}
