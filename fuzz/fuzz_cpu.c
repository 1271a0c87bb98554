/*
 * fuzz_cpu - the /proc/stat parser and the utilisation helpers on arbitrary
 * bytes. The input is copied into a buffer of exactly its size, so ASan
 * catches a read past len (the parser takes (buf, len), no NUL needed).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct cpu_stat a, b;
    cpu_stat_init(&a);
    cpu_stat_init(&b);
    struct pk_err e;
    int r = cpu_parse_stat(buf, size, &a, &e);
    if (r != 0 && (r != PK_EPARSE || a.ncpus != 0 || a.have != 0) && r != -ENOMEM)
        abort();
    if (a.ncpus > CPU_MAX_CPUS || a.ncpus > a.cap)
        abort();
    for (size_t i = 0; i < a.ncpus; i++) {
        const struct cpu_times *t = &a.cpus[i];
        if (t->cpu < 0 || t->cpu >= CPU_MAX_CPUS || t->nmodes < 4 || t->nmodes > CPU_NMODES)
            abort();
        if (i > 0 && a.cpus[i - 1].cpu >= t->cpu)
            abort();
    }

    /* The second half against the whole: utilisation must stay a partition of 100 %. */
    if (cpu_parse_stat(buf + size / 2, size - size / 2, &b, NULL) == 0 && r == 0) {
        struct cpu_util total;
        struct cpu_util *per = calloc(b.ncpus ? b.ncpus : 1, sizeof(*per));
        if (per) {
            if (cpu_util_all(&a, &b, &total, per, b.ncpus) == 0) {
                double sum =
                    total.busy_pct + total.pct[CPU_IDLE] + total.pct[CPU_IOWAIT] + total.pct[CPU_STEAL];
                if (!total.valid || sum < 99.999 || sum > 100.001)
                    abort();
            }
            free(per);
        }
    }
    cpu_stat_destroy(&a);
    cpu_stat_destroy(&b);
    free(buf);
    return 0;
}
