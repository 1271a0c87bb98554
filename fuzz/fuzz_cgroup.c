/*
 * fuzz_cgroup - the /proc/<pid>/cgroup parser on arbitrary bytes, in a buffer
 * of exactly the input's size so ASan catches a read past len. A unit it
 * returns is a systemd unit name: safe in a path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    char unit[CGROUP_UNIT_LEN];
    struct pk_err e;
    int rc = cgroup_parse_unit(buf, size, unit, &e);
    size_t n = strnlen(unit, sizeof(unit));
    if (n == sizeof(unit))
        abort();
    if (rc == 0) {
        if (n && (n <= 8 || strcmp(unit + n - 8, ".service") || strpbrk(unit, "/ '\"$;\n")))
            abort();
    } else if (rc != PK_EPARSE || n) {
        abort();
    }
    free(buf);
    return 0;
}
