/*
 * test_url - URLs of `perfkit load`: every accepted form with its parts, and
 * every refusal with its exact message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/url.h"

static const char *msg(const struct pk_err *e)
{
    static char buf[700];
    return pk_err_str(e, buf, sizeof(buf));
}

static void ok(const char *text, bool weighted, bool https, const char *host, unsigned port,
               const char *authority, const char *target, unsigned weight)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct url u;
    int rc = weighted ? url_parse_weighted(text, "--url", &u, &e) : url_parse(text, "--url", &u, &e);
    if (rc != 0)
        fail_msg("'%s' rejected: %s", text, msg(&e));
    assert_int_equal(u.https, https);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.authority, authority);
    assert_string_equal(u.target, target);
    assert_int_equal(u.weight, weight);
    assert_int_equal(u.ipv6, host[0] && strchr(host, ':') != NULL);

    /* Formatting and parsing again gives the same parts. */
    char buf[URL_MAX + 16];
    struct url v;
    assert_int_equal(url_parse(url_format(&u, buf, sizeof(buf)), "--url", &v, &e), 0);
    assert_string_equal(v.host, u.host);
    assert_string_equal(v.authority, u.authority);
    assert_string_equal(v.target, u.target);
    assert_int_equal(v.port, u.port);
    assert_int_equal(v.https, u.https);
}

/* Fails with exactly `want`, both plain and weighted, and leaves *u alone. */
static void bad_as(const char *text, bool weighted, const char *want)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct url u;
    memset(&u, 0x5a, sizeof(u));
    int rc = weighted ? url_parse_weighted(text, "--url", &u, &e) : url_parse(text, "--url", &u, &e);
    if (rc == 0)
        fail_msg("'%s' accepted", text);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(e.code, PK_EPARSE);
    assert_int_equal(u.port, 0x5a5a);
    assert_string_equal(msg(&e), want);
}

static void bad(const char *text, const char *want)
{
    bad_as(text, false, want);
    bad_as(text, true, want);
}

static void accepts_plain_urls(void **state)
{
    (void)state;
    ok("http://127.0.0.1:8080/api/status", false, false, "127.0.0.1", 8080, "127.0.0.1:8080", "/api/status",
       1);
    ok("http://example.com", false, false, "example.com", 80, "example.com", "/", 1);
    ok("https://example.com", false, true, "example.com", 443, "example.com", "/", 1);
    ok("HTTPS://Example.COM:443/x", false, true, "Example.COM", 443, "Example.COM", "/x", 1);
    ok("http://localhost:80/", false, false, "localhost", 80, "localhost", "/", 1);
    ok("https://localhost:80/", false, true, "localhost", 80, "localhost:80", "/", 1);
    ok("http://h?q=1", false, false, "h", 80, "h", "/?q=1", 1);
    ok("http://h/a/b?x=1&y=%2F#frag", false, false, "h", 80, "h", "/a/b?x=1&y=%2F", 1);
    ok("http://h#frag", false, false, "h", 80, "h", "/", 1);
    ok("http://my_host-1.internal.:65535/", false, false, "my_host-1.internal.", 65535,
       "my_host-1.internal.:65535", "/", 1);
    ok("http://0.0.0.0:1/", false, false, "0.0.0.0", 1, "0.0.0.0:1", "/", 1);
    ok("http://255.255.255.255/", false, false, "255.255.255.255", 80, "255.255.255.255", "/", 1);
    ok("http://[::1]:8080/x", false, false, "::1", 8080, "[::1]:8080", "/x", 1);
    ok("https://[2001:db8::1]/", false, true, "2001:db8::1", 443, "[2001:db8::1]", "/", 1);
    ok("http://[::ffff:1.2.3.4]", false, false, "::ffff:1.2.3.4", 80, "[::ffff:1.2.3.4]", "/", 1);
    ok("http://h/users/@me", false, false, "h", 80, "h", "/users/@me", 1);
    ok("http://h/{\"a\"}|^`", false, false, "h", 80, "h", "/{\"a\"}|^`", 1);
}

static void accepts_weights(void **state)
{
    (void)state;
    ok("http://127.0.0.1:8080/a@3", true, false, "127.0.0.1", 8080, "127.0.0.1:8080", "/a", 3);
    ok("http://h@2", true, false, "h", 80, "h", "/", 2);
    ok("http://h:81@1000000", true, false, "h", 81, "h:81", "/", 1000000);
    ok("http://h/p", true, false, "h", 80, "h", "/p", 1);
    ok("http://h/users/@me", true, false, "h", 80, "h", "/users/@me", 1);
    ok("http://h/users/@me@5", true, false, "h", 80, "h", "/users/@me", 5);
    ok("http://h/%4012", true, false, "h", 80, "h", "/%4012", 1);
    ok("http://[::1]/x@7", true, false, "::1", 80, "[::1]", "/x", 7);
    ok("http://h:99@2", true, false, "h", 99, "h:99", "/", 2);
    /* Without the weighted form, "@3" is part of the path. */
    ok("http://h/a@3", false, false, "h", 80, "h", "/a@3", 1);
}

static void refuses_bad_urls(void **state)
{
    (void)state;
    bad("", "--url: invalid URL '': empty URL");
    bad("ftp://h/", "--url: invalid URL 'ftp://h/': unsupported scheme 'ftp' (use http:// or https://)");
    bad("ws://h/", "--url: invalid URL 'ws://h/': unsupported scheme 'ws' (use http:// or https://)");
    bad("localhost:8080",
        "--url: invalid URL 'localhost:8080': missing scheme (expected http:// or https://)");
    bad("/path", "--url: invalid URL '/path': missing scheme (expected http:// or https://)");
    bad("h", "--url: invalid URL 'h': missing scheme (expected http:// or https://)");
    bad("http:/h", "--url: invalid URL 'http:/h': expected '//' after 'http:'");
    bad("https:", "--url: invalid URL 'https:': expected '//' after 'https:'");
    bad("http://", "--url: invalid URL 'http://': empty host");
    bad("http:///x", "--url: invalid URL 'http:///x': empty host");
    bad("http://:80/", "--url: invalid URL 'http://:80/': empty host");
    bad("http://[]/", "--url: invalid URL 'http://[]/': empty host");
    bad("http://h:70000/", "--url: invalid URL 'http://h:70000/': port 70000 out of range (1-65535)");
    bad("http://h:0/", "--url: invalid URL 'http://h:0/': port 0 out of range (1-65535)");
    bad("http://h:99999999999999999999/", "--url: invalid URL 'http://h:99999999999999999999/': port "
                                          "99999999999999999999 out of range (1-65535)");
    bad("http://h:/", "--url: invalid URL 'http://h:/': empty port after ':'");
    bad("http://h:8a/", "--url: invalid URL 'http://h:8a/': invalid port '8a' (expected a number 1-65535)");
    bad("http://h:-1/", "--url: invalid URL 'http://h:-1/': invalid port '-1' (expected a number 1-65535)");
    bad("http://h:1:2/",
        "--url: invalid URL 'http://h:1:2/': invalid port '1:2' (expected a number 1-65535)");
    bad("http://user:pw@h/", "--url: invalid URL 'http://user:pw@h/': userinfo before '@' is not supported "
                             "(credentials belong in a header: -H 'Authorization: ...')");
    bad("http://@h/", "--url: invalid URL 'http://@h/': userinfo before '@' is not supported "
                      "(credentials belong in a header: -H 'Authorization: ...')");
    bad("http://h h/", "--url: invalid URL 'http://h h/': invalid character ' ' in host");
    bad("http://h\x01/", "--url: invalid URL 'http://h\\x01/': invalid character '\\x01' in host");
    bad("http://.h/", "--url: invalid URL 'http://.h/': host must not start with '.'");
    bad("http://-h/", "--url: invalid URL 'http://-h/': host must not start with '-'");
    bad("http://a..b/", "--url: invalid URL 'http://a..b/': empty label ('..') in host");
    bad("http://1.2.3/", "--url: invalid URL 'http://1.2.3/': invalid IPv4 address '1.2.3' "
                         "(expected four numbers 0-255 without leading zeros)");
    bad("http://1.2.3.256/", "--url: invalid URL 'http://1.2.3.256/': invalid IPv4 address '1.2.3.256' "
                             "(expected four numbers 0-255 without leading zeros)");
    bad("http://010.0.0.1/", "--url: invalid URL 'http://010.0.0.1/': invalid IPv4 address '010.0.0.1' "
                             "(expected four numbers 0-255 without leading zeros)");
    bad("http://1.2.3.4./", "--url: invalid URL 'http://1.2.3.4./': invalid IPv4 address '1.2.3.4.' "
                            "(expected four numbers 0-255 without leading zeros)");
    bad("http://1.2.3.4.5/", "--url: invalid URL 'http://1.2.3.4.5/': invalid IPv4 address '1.2.3.4.5' "
                             "(expected four numbers 0-255 without leading zeros)");
    bad("http://2130706433/", "--url: invalid URL 'http://2130706433/': invalid IPv4 address '2130706433' "
                              "(expected four numbers 0-255 without leading zeros)");
    bad("http://[::1/", "--url: invalid URL 'http://[::1/': missing ']' after the IPv6 address");
    bad("http://[::g]/", "--url: invalid URL 'http://[::g]/': invalid IPv6 address '::g'");
    bad("http://[1.2.3.4]/", "--url: invalid URL 'http://[1.2.3.4]/': invalid IPv6 address '1.2.3.4'");
    bad("http://[fe80::1%25eth0]/",
        "--url: invalid URL 'http://[fe80::1%25eth0]/': IPv6 zone identifiers are not supported");
    bad("http://[::1]x/",
        "--url: invalid URL 'http://[::1]x/': unexpected 'x' after the IPv6 address (expected ':port')");
    bad("http://[::1]:/", "--url: invalid URL 'http://[::1]:/': empty port after ':'");
    bad("http://::1/", "--url: invalid URL 'http://::1/': empty host");
    bad("http://h/a b", "--url: invalid URL 'http://h/a b': space in the path or query (write it as %20)");
    bad("http://h/a\tb", "--url: invalid URL 'http://h/a\\x09b': control byte '\\x09' in the path or query");
    bad("http://h/\xc3\xa9", "--url: invalid URL 'http://h/\\xc3\\xa9': non-ASCII byte '\\xc3' in the path "
                             "or query (percent-encode it)");
    bad("http://h/%4",
        "--url: invalid URL 'http://h/%4': '%' not followed by two hex digits in the path or query");
    bad("http://h/%zz?",
        "--url: invalid URL 'http://h/%zz?': '%' not followed by two hex digits in the path or query");
}

static void refuses_bad_weights(void **state)
{
    (void)state;
    bad_as("http://h/@0", true,
           "--url: invalid URL 'http://h/@0': weight '0' is not a whole number 1-1000000");
    bad_as("http://h/@1.5", true,
           "--url: invalid URL 'http://h/@1.5': weight '1.5' is not a whole number 1-1000000");
    bad_as("http://h/@-2", true,
           "--url: invalid URL 'http://h/@-2': weight '-2' is not a whole number 1-1000000");
    bad_as("http://h/@1000001", true,
           "--url: invalid URL 'http://h/@1000001': weight '1000001' is not a whole number 1-1000000");
    bad_as(
        "http://h/@11111111111111111111111111111111", true,
        "--url: invalid URL 'http://h/@11111111111111111111111111111111': weight longer than 31 characters");
    bad_as("ftp://h/@2", true,
           "--url: invalid URL 'ftp://h/@2': unsupported scheme 'ftp' (use http:// or https://)");
    bad_as("http://u@h@2", true,
           "--url: invalid URL 'http://u@h@2': userinfo before '@' is not supported "
           "(credentials belong in a header: -H 'Authorization: ...')");
}

static void caps_length_and_quotes(void **state)
{
    (void)state;
    char long_url[URL_MAX + 2];
    memcpy(long_url, "http://h/", 9);
    memset(long_url + 9, 'a', sizeof(long_url) - 10);
    long_url[URL_MAX] = '\0'; /* exactly URL_MAX bytes: accepted */
    struct url u;
    struct pk_err e;
    assert_int_equal(url_parse(long_url, "--url", &u, &e), 0);
    assert_int_equal(strlen(u.target), URL_MAX - 8);
    long_url[URL_MAX] = 'a';
    long_url[URL_MAX + 1] = '\0';
    assert_int_equal(url_parse(long_url, "--url", &u, &e), PK_EPARSE);
    assert_string_equal(e.why, "longer than 2048 bytes");
    /* The quoted text in the message is cut. */
    assert_non_null(strstr(e.what, "aaa...'"));
    assert_true(strlen(e.what) < 100);

    char host[300];
    memcpy(host, "http://", 7);
    memset(host + 7, 'h', 254);
    host[261] = '\0';
    assert_int_equal(url_parse(host, "--url", &u, &e), PK_EPARSE);
    assert_string_equal(e.why, "host name longer than 253 bytes");
    host[260] = '\0';
    assert_int_equal(url_parse(host, "--url", &u, &e), 0);
    assert_int_equal(strlen(u.host), 253);

    /* NULL text and NULL err are allowed. */
    assert_int_equal(url_parse(NULL, "--url", &u, NULL), PK_EPARSE);
    assert_string_equal(url_scheme(&u), "http");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_plain_urls),     cmocka_unit_test(accepts_weights),
        cmocka_unit_test(refuses_bad_urls),       cmocka_unit_test(refuses_bad_weights),
        cmocka_unit_test(caps_length_and_quotes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
