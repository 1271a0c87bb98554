/*
 * test_request - the bytes `perfkit load` sends: exact request texts for
 * GET, POST with a body, HEAD, headers in order, no keep-alive, and the
 * refusals (framing headers, bad names and values, bad methods), and the
 * size cap (REQUEST_BYTES_MAX: a request of exactly that many bytes is
 * built, one byte more is -E2BIG).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "load/request.h"

static struct url parse(const char *text)
{
    struct url u;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(url_parse_weighted(text, "URL", &u, &e), 0);
    return u;
}

static void expect(const char *method, const char *url, const struct load_header *h, size_t nh,
                   const char *body, bool keepalive, const char *want)
{
    struct url u = parse(url);
    struct load_request r;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = request_build(&r, method, &u, h, nh, body, body ? strlen(body) : 0, keepalive, "-H", &e);
    if (rc)
        fail_msg("%s %s refused: %s", method, url, e.why);
    assert_int_equal(r.len, strlen(want));
    assert_memory_equal(r.bytes, want, r.len);
    assert_int_equal(r.head, strcmp(method, "HEAD") == 0);
    assert_int_equal(r.weight, u.weight);
    request_destroy(&r);
    request_destroy(&r); /* harmless twice */
}

static void test_get(void **state)
{
    (void)state;
    expect("GET", "http://127.0.0.1:8080/a?b=1", NULL, 0, NULL, true,
           "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
    expect("GET", "https://example.com/", NULL, 0, NULL, false,
           "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
    expect("HEAD", "http://[::1]:81@3", NULL, 0, NULL, true, "HEAD / HTTP/1.1\r\nHost: [::1]:81\r\n\r\n");
}

static void test_body_and_headers(void **state)
{
    (void)state;
    struct load_header h[] = { { "Content-Type", "application/json" }, { "X-A", "" } };
    expect("POST", "http://h/p", h, 2, "{\"a\":1}", true,
           "POST /p HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nX-A: \r\n"
           "Content-Length: 7\r\n\r\n{\"a\":1}");
    /* POST, PUT, PATCH without a body still say 0 */
    expect("PUT", "http://h/p", NULL, 0, NULL, true,
           "PUT /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    /* a User-Agent only when given */
    struct load_header ua = { "user-agent", "x/1" };
    expect("GET", "http://h/", &ua, 1, NULL, true, "GET / HTTP/1.1\r\nHost: h\r\nuser-agent: x/1\r\n\r\n");
    /* a GET may carry a body */
    expect("GET", "http://h/", NULL, 0, "q", true, "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nq");
}

static void refuse(const char *method, const char *name, const char *value, int code, const char *why)
{
    struct url u = parse("http://h/");
    struct load_header h = { name, value };
    struct load_request r;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(request_build(&r, method, &u, name ? &h : NULL, name ? 1 : 0, NULL, 0, true, "-H", &e),
                     code);
    assert_string_equal(e.on, "-H");
    if (!strstr(e.why, why))
        fail_msg("'%s' not in '%s'", why, e.why);
}

/* -H 'Host: ...' replaces the URL's authority, in the first field; the
 * connection still goes to the URL (request.h). */
static void test_host_override(void **state)
{
    (void)state;
    struct load_header h[] = { { "Accept", "*/*" }, { "host", "vhost.test" } };
    expect("GET", "http://127.0.0.1:8080/x", h, 2, NULL, true,
           "GET /x HTTP/1.1\r\nHost: vhost.test\r\nAccept: */*\r\n\r\n");
    struct load_header two[] = { { "Host", "a" }, { "HOST", "b" } };
    struct url u = parse("http://h/");
    struct load_request r;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(request_build(&r, "GET", &u, two, 2, NULL, 0, true, "-H", &e), PK_EUSAGE);
    assert_non_null(strstr(e.why, "'Host' given twice"));
}

static void test_refusals(void **state)
{
    (void)state;
    refuse("GET", "Host", "", PK_EPARSE, "an empty 'Host'");
    refuse("GET", "content-length", "3", PK_EUSAGE, "'Content-Length' is set");
    refuse("GET", "Transfer-Encoding", "chunked", PK_EUSAGE, "'Transfer-Encoding' is set");
    refuse("GET", "Connection", "close", PK_EUSAGE, "'Connection' is set");
    refuse("GET", "Bad Name", "x", PK_EPARSE, "name 'Bad Name' is not a token");
    refuse("GET", "X", "a\r\nInjected: 1", PK_EPARSE, "value of 'X' holds a control byte");
    refuse("GE T", NULL, NULL, PK_EPARSE, "'GE T' is not a token");
    refuse("", NULL, NULL, PK_EPARSE, "the method is empty");
}

static void test_split_header(void **state)
{
    (void)state;
    struct load_header h;
    struct pk_err e;
    char a[] = "Accept:  text/html  ";
    assert_int_equal(request_split_header(a, "-H", &h, &e), 0);
    assert_string_equal(h.name, "Accept");
    assert_string_equal(h.value, "text/html");
    char b[] = "X-Time: 12:30";
    assert_int_equal(request_split_header(b, "-H", &h, &e), 0);
    assert_string_equal(h.value, "12:30");
    char c[] = "NoColon";
    assert_int_equal(request_split_header(c, "-H", &h, &e), PK_EPARSE);
    assert_non_null(strstr(e.why, "'NoColon' has no ':'"));
    char d[] = ": v";
    assert_int_equal(request_split_header(d, "-H", &h, &e), PK_EPARSE);
    assert_non_null(strstr(e.why, "empty name"));
}

static void test_size_cap(void **state)
{
    (void)state;
    struct url u = parse("http://h/");
    struct load_request r;
    struct pk_err e;
    pk_err_clear(&e);
    /* The head of "POST / ..." with an 8-digit Content-Length, measured on
     * a one-byte body (1 digit), then a body that fills the cap exactly. */
    assert_int_equal(request_build(&r, "POST", &u, NULL, 0, "x", 1, true, "-H", &e), 0);
    size_t head = r.len - 1 - 1 + 8;
    request_destroy(&r);
    size_t n = REQUEST_BYTES_MAX - head;
    assert_true(n >= 10000000 && n <= 99999999);
    char *body = malloc(n + 1);
    assert_non_null(body);
    memset(body, 'b', n + 1);
    assert_int_equal(request_build(&r, "POST", &u, NULL, 0, body, n, true, "-H", &e), 0);
    assert_int_equal(r.len, REQUEST_BYTES_MAX);
    assert_memory_equal(r.bytes + head, body, n);
    request_destroy(&r);

    pk_err_clear(&e);
    assert_int_equal(request_build(&r, "POST", &u, NULL, 0, body, n + 1, true, "--body", &e), -E2BIG);
    assert_int_equal(e.code, -E2BIG);
    char buf[400];
    assert_string_equal(pk_err_str(&e, buf, sizeof(buf)), "--body: request too large: over 64 MiB");
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),      cmocka_unit_test(test_body_and_headers),
        cmocka_unit_test(test_refusals), cmocka_unit_test(test_split_header),
        cmocka_unit_test(test_size_cap), cmocka_unit_test(test_host_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
