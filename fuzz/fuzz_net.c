/*
 * fuzz_net - the pure parsers of sys/net.c (net/dev, net/tcp). The tcp
 * parser is also fed the same bytes in two pieces split after a newline,
 * which must count exactly what one piece counts. The input is copied into
 * buffers of exactly their size, so ASan catches a read past len.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    struct net_dev_list l;
    if (net_parse_dev(buf, size, &l, NULL) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            if (strlen(l.v[i].name) >= NET_NAME_MAX || l.v[i].name[0] == '\0')
                abort();
            if (!net_dev_find(&l, l.v[i].name))
                abort();
            struct net_dev_rates r;
            if (net_dev_rates(&l.v[0], &l.v[i], 1.0, &r) == 0 && r.rx_bytes < 0)
                abort();
        }
        net_dev_list_destroy(&l);
    } else if (l.v || l.n) {
        abort();
    }

    struct net_tcp whole, split;
    memset(&whole, 0, sizeof(whole));
    memset(&split, 0, sizeof(split));
    size_t line = 0;
    int rc = net_parse_tcp(buf, size, &line, &whole, NULL);
    (void)net_tcp_state_name(size ? (unsigned char)buf[0] : 0);

    const char *nl = size ? memchr(buf, '\n', size) : NULL;
    if (nl) {
        size_t first = (size_t)(nl - buf) + 1;
        char *a = malloc(first), *b = malloc(size - first ? size - first : 1);
        if (a && b) {
            memcpy(a, buf, first);
            memcpy(b, buf + first, size - first);
            size_t line2 = 0;
            int rc2 = net_parse_tcp(a, first, &line2, &split, NULL);
            if (rc2 == 0)
                rc2 = net_parse_tcp(b, size - first, &line2, &split, NULL);
            if (rc2 != rc || line2 != line || memcmp(&whole, &split, sizeof(whole)) != 0)
                abort();
        }
        free(a);
        free(b);
    }
    free(buf);
    return 0;
}
