/*
 * fuzz_fs - the pure parsers of sys/fs.c (mountinfo, /proc/mounts, the
 * recorded statvfs table, octal escapes, option lists) on the same bytes.
 * The input is copied into a buffer of exactly its size, so ASan catches a
 * read past len (the parsers take (buf, len) and must not rely on a NUL).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_mounts(const struct fs_mounts *m, size_t size)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct fs_mount *mt = &m->v[i];
        /* decoded strings are never longer than the input */
        if (strlen(mt->mountpoint) > size || strlen(mt->device) > size || strlen(mt->root) > size ||
            strlen(mt->fstype) > size || strlen(mt->mount_opts) > size || strlen(mt->super_opts) > size)
            abort();
        if (mt->ignored != fs_mount_ignored(mt))
            abort();
        (void)fs_mount_readonly(mt);
        (void)fs_opt_has(mt->mount_opts, "noatime");
        (void)fs_opt_has(mt->super_opts, mt->fstype[0] ? mt->fstype : "rw");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    char *out = malloc(size + 1);
    if (!buf || !out) {
        free(buf);
        free(out);
        return 0;
    }
    if (size)
        memcpy(buf, data, size);

    struct fs_mounts m;
    if (fs_parse_mountinfo(buf, size, &m, NULL) == 0) {
        check_mounts(&m, size);
        fs_mounts_destroy(&m);
    } else if (m.v || m.n) {
        abort();
    }
    if (fs_parse_mounts(buf, size, &m, NULL) == 0) {
        check_mounts(&m, size);
        fs_mounts_destroy(&m);
    } else if (m.v || m.n) {
        abort();
    }

    struct fs_table t;
    if (fs_parse_table(buf, size, &t, NULL) == 0) {
        for (size_t i = 0; i < t.n; i++) {
            if (strlen(t.v[i].mountpoint) > size || fs_table_find(&t, t.v[i].mountpoint) == NULL)
                abort();
            double pct = fs_used_pct(&t.v[i].u);
            if (!(pct >= 0 && pct <= 100))
                abort();
        }
        fs_table_destroy(&t);
    }

    size_t n = fs_unescape(buf, size, out);
    if (n > size || out[n] != '\0')
        abort();
    free(out);
    free(buf);
    return 0;
}
