/*
 * Arbitrary bytes into the baseline parser: it must return 0 or an error with
 * a message, never crash, leak or read past len (the input is not
 * NUL-terminated).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bench/baseline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = baseline_parse((const char *)data, size, "fuzz.json", &b, &e);
    if (rc == 0) {
        /* What the gate does with a loaded baseline. */
        for (size_t i = 0; i < b.n; i++) {
            const struct baseline_entry *be = &b.entries[i];
            if (be->ntimes == 0 || baseline_find(&b, be->command) == NULL)
                __builtin_trap();
            for (size_t k = 0; k < be->ntimes; k++)
                if (!(be->times[k] >= 0))
                    __builtin_trap();
        }
    } else {
        if (b.n != 0 || b.entries != NULL || e.code != rc)
            __builtin_trap();
        char msg[1024];
        if (pk_err_str(&e, msg, sizeof(msg))[0] == '\0')
            __builtin_trap();
    }
    baseline_destroy(&b);
    return 0;
}
