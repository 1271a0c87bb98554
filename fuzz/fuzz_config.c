/*
 * fuzz_config - the monitor's config file parser on arbitrary text: besides
 * memory errors, a failure names the file and line it happened at and says
 * why, and a success leaves every list consistent (counts within their caps,
 * probes with a known kind, rules with their file:line).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "monitor/config.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct monitor_config c;
    struct pk_err e;
    pk_err_clear(&e);
    config_init(&c);
    int rc = config_parse(&c, (const char *)data, size, "f.conf", &e);
    if (rc) {
        CHECK(rc == PK_EPARSE || rc == -ENOMEM);
        CHECK(strncmp(e.on, "f.conf", 6) == 0 && e.why[0]);
    } else {
        CHECK(c.nprobes <= CONFIG_LIST_MAX && c.nwebhooks <= CONFIG_LIST_MAX && c.nrules <= CONFIG_RULES_MAX);
        for (size_t i = 0; i < c.nprobes; i++)
            CHECK(c.probes[i].kind == CONFIG_PROBE_TCP || c.probes[i].kind == CONFIG_PROBE_HTTP);
        for (size_t i = 0; i < c.nrules; i++)
            CHECK(c.rules[i].text[0] && strncmp(c.rules[i].on, "f.conf:", 7) == 0);
        CHECK(c.interval_ms >= 100);
        for (int k = 0; k < CONFIG_NKEYS; k++) {
            const char *w = config_where(&c, (enum config_key)k);
            CHECK(strncmp(w, "--", 2) == 0 || strncmp(w, "f.conf:", 7) == 0);
        }
        (void)config_check(&c, &e);
    }
    config_destroy(&c);
    return 0;
}
