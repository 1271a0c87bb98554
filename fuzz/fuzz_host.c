/*
 * fuzz_host - every pure parser of sys/host.c on the same bytes. The input is
 * copied into a buffer of exactly its size, so ASan catches a read past len
 * (the parsers take (buf, len) and must not rely on a terminating NUL).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct host_info h;
    memset(&h, 0, sizeof(h));
    host_parse_cpuinfo(buf, size, &h);
    if (strlen(h.cpu_model) >= sizeof(h.cpu_model) || h.cpus < 0)
        abort();

    double load[3];
    host_parse_loadavg(buf, size, load);

    /* A set smaller than the largest CPU number: the parser must stay inside it. */
    bool set[64];
    int n = host_parse_cpulist(buf, size, set, sizeof(set) / sizeof(set[0]));
    if (n > HOST_MAX_CPU)
        abort();

    long bytes;
    if (host_parse_cache_size(buf, size, &bytes) == 0 && bytes < 0)
        abort();

    char line[16];
    size_t len = host_parse_line(buf, size, line, sizeof(line));
    if (len >= sizeof(line) || strlen(line) != len)
        abort();
    for (size_t i = 0; i < len; i++)
        if (line[i] < 0x20 || line[i] > 0x7e)
            abort();

    free(buf);
    return 0;
}
