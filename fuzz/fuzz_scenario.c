/*
 * fuzz_scenario - the scenario parser on arbitrary bytes (scenario_parse is
 * pure: no file is read).
 *
 * Besides memory errors and leaks it checks the contracts: a success has
 * 1..SCENARIO_REQUESTS_MAX requests whose weights add up to total_weight,
 * methods, headers and bodies within their caps, a think range in order; a
 * failure fills the error and leaves the scenario empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "load/scenario.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so a read past len is caught. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    struct pk_err e;
    pk_err_clear(&e);
    struct scenario s;
    int rc = scenario_parse(buf, size, "fuzz.scn", &s, &e);
    if (rc != 0) {
        CHECK(rc < 0 && e.code == rc && e.what[0]);
        CHECK(strncmp(e.on, "fuzz.scn", 8) == 0);
        CHECK(s.nrequests == 0 && s.requests == NULL);
    } else {
        CHECK(s.nrequests >= 1 && s.nrequests <= SCENARIO_REQUESTS_MAX);
        CHECK(s.think_min >= 0 && s.think_min <= s.think_max);
        uint64_t total = 0;
        for (size_t i = 0; i < s.nrequests; i++) {
            const struct scenario_request *r = &s.requests[i];
            CHECK(r->method[0] && strlen(r->method) <= SCENARIO_METHOD_MAX);
            CHECK(r->weight >= 1 && r->weight <= SCENARIO_WEIGHT_MAX);
            CHECK(r->url.host[0] && r->url.target[0] == '/');
            CHECK(r->nheaders <= SCENARIO_HEADERS_MAX);
            for (size_t k = 0; k < r->nheaders; k++)
                CHECK(r->headers[k].name[0] && r->headers[k].value);
            CHECK(!(r->body && r->body_file));
            CHECK(!r->body || (strlen(r->body) == r->body_len && r->body_len <= SCENARIO_LINE_MAX));
            total += r->weight;
        }
        CHECK(total == s.total_weight);
    }
    scenario_destroy(&s);
    free(buf);
    return 0;
}
