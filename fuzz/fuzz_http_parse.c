/*
 * fuzz_http_parse - the HTTP server's parsers of untrusted text
 * (monitor/http_parse.c) on arbitrary bytes: the Accept header's
 * negotiation of /metrics, the Host header's loopback check, and the
 * --listen address.
 *
 * Besides memory errors it checks the contracts: negotiation always picks
 * one of the two formats and names an OpenMetrics version it knows; a
 * listen address that parses gives an IPv4 or IPv6 address of the right
 * length and a host part within HTTP_HOST_MAX, and a failure is PK_EPARSE
 * with a message. Inputs that could name a host (letters, '-', '_') are
 * kept from the listen parser, which would resolve them. Each parser gets
 * an exact-size heap copy, so reads past the NUL are caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/err.h"
#include "monitor/http.h"
#include "monitor/http_impl.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

static bool could_name_a_host(const char *s)
{
    for (; *s; s++)
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_')
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    const char *omv = NULL;
    enum http_metrics_format f = http_negotiate_metrics(s, &omv);
    CHECK(f == HTTP_METRICS_TEXT || f == HTTP_METRICS_OPENMETRICS);
    CHECK(omv && (!strcmp(omv, "1.0.0") || !strcmp(omv, "0.0.1")));

    (void)http_host_ok(s, "localhost");

    if (!could_name_a_host(s)) {
        struct sockaddr_storage addr;
        unsigned addrlen = 0;
        bool loopback = false;
        char host[HTTP_HOST_MAX + 1];
        struct pk_err e;
        pk_err_clear(&e);
        int rc = http_listen_parse(s, &addr, &addrlen, &loopback, host, &e);
        if (rc == 0) {
            CHECK(addr.ss_family == AF_INET || addr.ss_family == AF_INET6);
            CHECK(addrlen > 0 && addrlen <= sizeof(addr));
            CHECK(strlen(host) <= HTTP_HOST_MAX);
            /* an IPv4-mapped address is bound as the IPv4 one */
            CHECK(addr.ss_family != AF_INET6 ||
                  !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)&addr)->sin6_addr));
        } else {
            CHECK(rc == PK_EPARSE && e.code == rc && e.what[0] && e.why[0]);
        }
    }
    free(s);
    return 0;
}
