/*
 * fuzz_tcpdiag - the sock_diag reply parser of sys/tcpdiag.c. The input is
 * a recv's worth of netlink messages; the first 4 bytes pick the sequence
 * number the parser expects. It must never read past the buffer (copied
 * into one of exactly its size, so ASan sees it), must count each socket
 * message at most once (states plus unknown never exceed the messages that
 * fit), and must say the same whether the buffer is parsed whole or, when
 * it splits on a message boundary, in two recvs.
 */
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/tcpdiag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t sockets(const struct net_tcp *t)
{
    uint64_t n = t->unknown;
    for (int s = 0; s < NET_TCP_NSTATES; s++)
        n += t->states[s];
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t seq;
    memcpy(&seq, data, 4);
    data += 4;
    size -= 4;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    struct net_tcp whole;
    memset(&whole, 0, sizeof(whole));
    bool done = false;
    int rc = tcpdiag_parse(buf, size, seq, &whole, &done, NULL);
    if (rc > 0 || sockets(&whole) > size / (NLMSG_HDRLEN + 72))
        abort();
    /* the same bytes as two recvs, split after the first message */
    if (size >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr h;
        memcpy(&h, buf, sizeof(h));
        size_t first = NLMSG_ALIGN(h.nlmsg_len);
        if (h.nlmsg_len >= sizeof(h) && first < size && rc == 0 && !done) {
            unsigned char *a = malloc(first), *b = malloc(size - first);
            if (a && b) {
                memcpy(a, buf, first);
                memcpy(b, buf + first, size - first);
                struct net_tcp split;
                memset(&split, 0, sizeof(split));
                bool done2 = false;
                int rc2 = tcpdiag_parse(a, first, seq, &split, &done2, NULL);
                if (rc2 == 0 && !done2)
                    rc2 = tcpdiag_parse(b, size - first, seq, &split, &done2, NULL);
                if (rc2 != rc || done2 != done || memcmp(&whole, &split, sizeof(whole)) != 0)
                    abort();
            }
            free(a);
            free(b);
        }
    }
    free(buf);
    return 0;
}
