/*
 * fuzz_mem - the meminfo parser and the metric-name rewrite on arbitrary
 * bytes, in a buffer of exactly the input's size so ASan catches a read past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == ':'))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct mem_info m;
    mem_info_init(&m);
    int r = mem_parse(buf, size, &m, NULL);
    if (r != 0 && m.n != 0)
        abort();
    if (m.n > MEM_MAX_ENTRIES || m.used_pct < 0 || m.used_pct > 100 || m.swap_used_pct < 0 ||
        m.swap_used_pct > 100)
        abort();
    for (size_t i = 0; i < m.n; i++) {
        const struct mem_entry *en = &m.entries[i];
        size_t klen = strlen(en->key);
        if (klen == 0 || klen >= MEM_KEY_MAX || mem_find(&m, en->key) != en)
            abort();
        char name[MEM_KEY_MAX];
        size_t n = mem_metric_name(en->key, name, sizeof(name));
        if (n > klen || strlen(name) != n || !name_ok(name))
            abort();
    }
    mem_info_destroy(&m);

    /* The name rewrite on the raw bytes (up to the first NUL) with a tiny buffer. */
    char *z = malloc(size + 1);
    if (z) {
        memcpy(z, data, size);
        z[size] = '\0';
        char small[8];
        size_t n = mem_metric_name(z, small, sizeof(small));
        if (strlen(small) != (n < sizeof(small) ? n : sizeof(small) - 1) || !name_ok(small))
            abort();
        free(z);
    }
    free(buf);
    return 0;
}
