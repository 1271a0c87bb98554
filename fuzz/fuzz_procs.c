/*
 * fuzz_procs - the pure parsers of sys/procs.c (stat, status, limits) on the
 * same bytes. The input is copied into a buffer of exactly its size, so ASan
 * catches a read past len (the parsers take (buf, len) and must not rely on a
 * terminating NUL).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/procs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct procs_stat st;
    if (procs_parse_stat(buf, size, &st) == 0) {
        if (!terminated(st.comm, sizeof(st.comm)) || st.pid < 0 || st.ppid < 0 || st.threads < 0)
            abort();
        /* The state is one letter between blanks. */
        if (st.state == ' ' || st.state == '\t' || st.state == '\n')
            abort();
    }

    struct procs_status ss;
    if (procs_parse_status(buf, size, &ss) == 0) {
        if (!terminated(ss.name, sizeof(ss.name)))
            abort();
        if ((ss.has_rss && ss.vm_rss % 1024) || (ss.has_hwm && ss.vm_hwm % 1024) || ss.threads < -1)
            abort();
    }

    struct procs_limit lim;
    int rc = procs_parse_limit(buf, size, "Max open files", &lim);
    if (rc != 0 && rc != -ENOENT && rc != PK_EPARSE)
        abort();
    rc = procs_parse_limit(buf, size, "Max cpu time", &lim);
    if (rc != 0 && rc != -ENOENT && rc != PK_EPARSE)
        abort();

    free(buf);
    return 0;
}
