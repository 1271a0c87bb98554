/*
 * fuzz_request - the request builder on arbitrary -m and -H texts: the input
 * is split at the first two NUL bytes into a method, a header line and a
 * body. Besides memory errors it checks the contract: a built request starts
 * with the method and ends its header section with the blank line before the
 * body, every line of the header section is CRLF-terminated without a bare
 * CR or LF inside (no header injection), and a refusal fills the error.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "load/request.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 3);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    char *method = buf;
    char *header = method + strlen(method) + 1;
    char *body = header + strlen(header) + 1;
    if (header > buf + size)
        header = buf + size + 1;
    if (body > buf + size)
        body = buf + size + 2;

    struct pk_err e;
    pk_err_clear(&e);
    struct url u;
    CHECK(url_parse("http://127.0.0.1:8080/x", "URL", &u, &e) == 0);
    struct load_header h;
    size_t nh = 0;
    if (*header) {
        int rc = request_split_header(header, "-H", &h, &e);
        if (rc == 0)
            nh = 1;
        else
            CHECK(rc == PK_EPARSE && e.why[0]);
    }
    struct load_request r;
    pk_err_clear(&e);
    size_t blen = strlen(body);
    int rc = request_build(&r, method, &u, nh ? &h : NULL, nh, blen ? body : NULL, blen, true, "-H", &e);
    if (rc != 0) {
        CHECK(e.code == rc && e.what[0] && e.why[0]);
        free(buf);
        return 0;
    }
    size_t mlen = strlen(method);
    CHECK(r.len > mlen && memcmp(r.bytes, method, mlen) == 0 && r.bytes[mlen] == ' ');
    char *end = memmem(r.bytes, r.len, "\r\n\r\n", 4);
    CHECK(end != NULL);
    CHECK((size_t)(r.bytes + r.len - (end + 4)) == blen);
    for (char *p = r.bytes; p < end + 2; p++) {
        if (*p == '\r')
            CHECK(p[1] == '\n');
        if (*p == '\n')
            CHECK(p > r.bytes && p[-1] == '\r');
    }
    request_destroy(&r);
    free(buf);
    return 0;
}
