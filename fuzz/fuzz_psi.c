/*
 * fuzz_psi - the pressure-file parser on arbitrary bytes, in a buffer of
 * exactly the input's size so ASan catches a read past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/psi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct psi_res r;
    struct pk_err e;
    int rc = psi_parse(buf, size, (enum psi_resource)(size % PSI_NRES), &r, &e);
    if (rc == 0) {
        if (!r.available)
            abort();
        const struct psi_line *l[2] = { &r.some, &r.full };
        for (int i = 0; i < 2; i++)
            if (l[i]->known &&
                (l[i]->avg10 < 0 || l[i]->avg60 < 0 || l[i]->avg300 < 0 || psi_seconds(l[i]) < 0))
                abort();
    } else if (rc != PK_EPARSE || r.available || r.some.known || r.full.known) {
        abort();
    }
    free(buf);
    return 0;
}
