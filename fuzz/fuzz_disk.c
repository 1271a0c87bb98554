/*
 * fuzz_disk - the pure parsers of sys/disk.c (diskstats, queue/scheduler)
 * and the helpers that take their output. The input is copied into a buffer
 * of exactly its size, so ASan catches a read past len.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/disk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct disk_list l;
    if (disk_parse_diskstats(buf, size, &l, NULL) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const struct disk_stats *d = &l.v[i];
            if (strlen(d->name) >= DISK_NAME_MAX || d->nstats < 11 ||
                d->ignored != disk_name_ignored(d->name))
                abort();
            if (disk_find(&l, d->name) == NULL)
                abort();
            double pct = disk_busy_pct(&l.v[0], d, 1.0);
            if (pct > 100)
                abort();
            (void)disk_ms_to_seconds(d->io_ms);
            (void)disk_sectors_to_bytes(d->read_sectors);
        }
        disk_list_destroy(&l);
    } else if (l.v || l.n) {
        abort();
    }

    /* caps smaller than real names: the parser must stay inside them */
    char act[8], all[12];
    if (disk_parse_scheduler(buf, size, act, sizeof(act), all, sizeof(all)) == 0) {
        if (strlen(act) >= sizeof(act) || strlen(all) >= sizeof(all) || act[0] == '\0')
            abort();
    } else if (act[0] || all[0]) {
        abort();
    }
    free(buf);
    return 0;
}
