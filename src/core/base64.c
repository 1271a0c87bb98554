#include "core/base64.h"

#include <errno.h>
#include <stdlib.h>

#include "perfkit.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t base64_encode(const uint8_t *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(const char *s, size_t n, uint8_t **out, size_t *out_len)
{
    if (n % 4)
        return PK_EPARSE;
    size_t pad = n == 0 ? 0 : (s[n - 1] == '=') + (s[n - 1] == '=' && s[n - 2] == '=');
    uint8_t *p = malloc(n ? n / 4 * 3 : 1);
    if (!p)
        return -ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = value_of((unsigned char)s[i + j]);
            if (d < 0) {
                if (s[i + j] == '=' && i + j >= n - pad) {
                    d = 0;
                } else {
                    free(p);
                    return PK_EPARSE;
                }
            }
            v = v << 6 | (uint32_t)d;
        }
        p[at++] = (uint8_t)(v >> 16);
        p[at++] = (uint8_t)(v >> 8);
        p[at++] = (uint8_t)v;
    }
    *out = p;
    *out_len = at - pad;
    return 0;
}
