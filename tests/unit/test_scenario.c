/*
 * test_scenario - scenario files: the documented example (from the buffer
 * and from the file, bodies from files included), every directive both
 * ways, every error with its exact message, and the caps. The bad fixtures
 * in tests/fixtures/load/ each come with a .err file holding the one line
 * they must fail with ({dir} stands for the fixture folder).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "load/scenario.h"

#define FIX PK_FIXTURES "/load"

static const char *msg(const struct pk_err *e)
{
    static char buf[1200];
    return pk_err_str(e, buf, sizeof(buf));
}

static void parse_ok(const char *text, struct scenario *s)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (scenario_parse(text, strlen(text), "t.scn", s, &e) != 0)
        fail_msg("rejected: %s\n%s", msg(&e), text);
}

static void bad(const char *text, const char *want)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct scenario s;
    int rc = scenario_parse(text, strlen(text), "t.scn", &s, &e);
    if (rc == 0)
        fail_msg("accepted:\n%s", text);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(e.code, PK_EPARSE);
    assert_int_equal(s.nrequests, 0);
    assert_null(s.requests);
    assert_string_equal(msg(&e), want);
    scenario_destroy(&s); /* harmless on failure */
}

static void check_example(const struct scenario *s, int bodies_loaded)
{
    assert_int_equal(s->think, SCENARIO_THINK_BETWEEN);
    assert_true(s->think_min == 1 && s->think_max == 5);
    assert_int_equal(s->nrequests, 5);
    assert_int_equal(s->total_weight, 3 + 5 + 1 + 1 + 1);

    const struct scenario_request *r = &s->requests[0];
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->url.host, "127.0.0.1");
    assert_int_equal(r->url.port, 8080);
    assert_string_equal(r->url.target, "/api/status");
    assert_int_equal(r->weight, 3);
    assert_int_equal(r->line, 5);
    assert_int_equal(r->nheaders, 1);
    assert_string_equal(r->headers[0].name, "Accept");
    assert_string_equal(r->headers[0].value, "application/json");
    assert_null(r->body);
    assert_null(r->body_file);

    r = &s->requests[1];
    assert_string_equal(r->url.target, "/api/items?page=1&size=20");
    assert_int_equal(r->weight, 5);
    assert_int_equal(r->nheaders, 2);
    assert_string_equal(r->headers[1].name, "X-Trace");
    assert_string_equal(r->headers[1].value, "abc 123");

    r = &s->requests[2];
    assert_string_equal(r->method, "POST");
    assert_int_equal(r->weight, 1);
    assert_string_equal(r->headers[0].value, "application/json");
    assert_string_equal(r->body, "{\"name\": \"x\"}");
    assert_int_equal(r->body_len, 13);
    assert_null(r->body_file);

    r = &s->requests[3];
    assert_string_equal(r->method, "PUT");
    assert_true(r->url.https && r->url.ipv6);
    assert_string_equal(r->url.authority, "[::1]:8443");
    assert_string_equal(r->body_file, "payload.json");
    assert_int_equal(r->body_line, 18);
    if (bodies_loaded) {
        assert_string_equal(r->body, "{\"name\": \"y\", \"tags\": [\"a\", \"b\"]}\n");
        assert_int_equal(r->body_len, 34);
    } else {
        assert_null(r->body);
    }

    r = &s->requests[4];
    assert_string_equal(r->method, "PURGE");
    assert_string_equal(r->url.target, "/cache/@@literal");
    assert_string_equal(r->body, "@not a file");
    assert_null(r->body_file);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void example_from_buffer_and_file(void **state)
{
    (void)state;
    size_t len;
    char *text = slurp(FIX "/example.scn", &len);
    struct scenario s;
    struct pk_err e;
    assert_int_equal(scenario_parse(text, len, "example.scn", &s, &e), 0);
    check_example(&s, 0);
    scenario_destroy(&s);
    assert_int_equal(s.nrequests, 0);
    scenario_destroy(&s); /* twice is harmless */
    free(text);

    pk_err_clear(&e);
    if (scenario_load(FIX "/example.scn", &s, &e) != 0)
        fail_msg("%s", msg(&e));
    check_example(&s, 1);
    scenario_destroy(&s);
}

static void bad_fixtures(void **state)
{
    (void)state;
    static const char *names[] = { "bad_keyword",   "bad_url",    "bad_think", "bad_header",
                                   "bad_body_file", "bad_method", "bad_empty" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[512], errpath[512], want[1400], expanded[1200];
        snprintf(path, sizeof(path), FIX "/%s.scn", names[i]);
        snprintf(errpath, sizeof(errpath), FIX "/%s.err", names[i]);
        size_t len;
        char *line = slurp(errpath, &len);
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        char *dir = strstr(line, "{dir}");
        if (dir) {
            *dir = '\0';
            snprintf(expanded, sizeof(expanded), "%s%s%s", line, FIX, dir + 5);
        } else {
            snprintf(expanded, sizeof(expanded), "%s", line);
        }
        snprintf(want, sizeof(want), FIX "/%s", expanded);
        free(line);

        struct scenario s;
        struct pk_err e;
        pk_err_clear(&e);
        int rc = scenario_load(path, &s, &e);
        if (rc == 0)
            fail_msg("%s accepted", path);
        assert_int_equal(s.nrequests, 0);
        assert_string_equal(msg(&e), want);
        assert_int_equal(rc, strcmp(names[i], "bad_body_file") == 0 ? -ENOENT : PK_EPARSE);
    }
    struct scenario s;
    struct pk_err e;
    assert_int_equal(scenario_load(FIX "/none.scn", &s, &e), -ENOENT);
    assert_string_equal(msg(&e), FIX "/none.scn: cannot read scenario: No such file or directory");
}

static void directives(void **state)
{
    (void)state;
    struct scenario s;
    parse_ok("request GET http://h/", &s);
    assert_int_equal(s.think, SCENARIO_THINK_NONE);
    assert_int_equal(s.nrequests, 1);
    assert_int_equal(s.requests[0].weight, 1);
    assert_int_equal(s.total_weight, 1);
    scenario_destroy(&s);

    parse_ok("  think constant 250ms  \r\n\trequest  DELETE\thttp://h:81/x  weight\t1000000\r\n"
             "header X-Empty:\nheader X-Tab:\tv\t\n# comment\n   # indented comment\n\n",
             &s);
    assert_int_equal(s.think, SCENARIO_THINK_CONSTANT);
    assert_true(s.think_min == 0.25 && s.think_max == 0.25);
    assert_string_equal(s.requests[0].method, "DELETE");
    assert_int_equal(s.requests[0].weight, 1000000);
    assert_int_equal(s.requests[0].url.port, 81);
    assert_string_equal(s.requests[0].headers[0].name, "X-Empty");
    assert_string_equal(s.requests[0].headers[0].value, "");
    assert_string_equal(s.requests[0].headers[1].value, "v");
    scenario_destroy(&s);

    /* think after requests; methods are any token; between with equal ends. */
    parse_ok("request M-SEARCH http://h/\nrequest X_1!~ http://h/\nthink between 2s 2s\n", &s);
    assert_int_equal(s.think, SCENARIO_THINK_BETWEEN);
    assert_string_equal(s.requests[1].method, "X_1!~");
    scenario_destroy(&s);
    parse_ok("think none\nrequest GET http://h/\n", &s);
    assert_int_equal(s.think, SCENARIO_THINK_NONE);
    assert_null(s.requests[0].name);
    scenario_destroy(&s);

    /* A name, blanks around it trimmed, inner ones kept; up to 256 bytes. */
    parse_ok("request GET http://h/a\n  name \t create an item \r\nrequest GET http://h/b\n", &s);
    assert_string_equal(s.requests[0].name, "create an item");
    assert_null(s.requests[1].name);
    scenario_destroy(&s);
    char named[400];
    snprintf(named, sizeof(named), "request GET http://h/\nname %0*d", SCENARIO_NAME_MAX, 0);
    parse_ok(named, &s);
    assert_int_equal(strlen(s.requests[0].name), SCENARIO_NAME_MAX);
    scenario_destroy(&s);
    snprintf(named, sizeof(named), "request GET http://h/\nname %0*d", SCENARIO_NAME_MAX + 1, 0);
    bad(named, "t.scn:2: a name is at most 256 bytes");

    /* Many requests and headers: the arrays grow. */
    char big[64 * 1024];
    size_t o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "request GET http://h/%d weight %d\n", i, i + 1);
    for (unsigned i = 0; i < SCENARIO_HEADERS_MAX; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "header H%u: %u\n", i, i);
    parse_ok(big, &s);
    assert_int_equal(s.nrequests, 100);
    assert_int_equal(s.total_weight, 100 * 101 / 2);
    assert_string_equal(s.requests[57].url.target, "/57");
    assert_int_equal(s.requests[99].nheaders, SCENARIO_HEADERS_MAX);
    assert_string_equal(s.requests[99].headers[40].name, "H40");
    scenario_destroy(&s);

    /* Not NUL-terminated: only len bytes are read. */
    const char text[] = "request GET http://h/abcdef";
    struct pk_err e;
    assert_int_equal(scenario_parse(text, sizeof(text) - 4, "t.scn", &s, &e), 0);
    assert_string_equal(s.requests[0].url.target, "/abc");
    scenario_destroy(&s);
}

static void errors(void **state)
{
    (void)state;
    bad("", "t.scn: no requests (expected at least one 'request METHOD URL' line)");
    bad("# only\n", "t.scn: no requests (expected at least one 'request METHOD URL' line)");
    bad("requets GET http://h/", "t.scn:1: expected 'request METHOD URL' or 'think ...', got 'requets'");
    bad("request GET http://h/\nheaders A: b",
        "t.scn:2: expected 'request METHOD URL', 'header NAME: "
        "VALUE', 'body TEXT', 'name TEXT' or 'think ...', got 'headers'");
    bad("header A: b\nrequest GET http://h/", "t.scn:1: 'header' before any 'request METHOD URL' line");
    bad("body x\nrequest GET http://h/", "t.scn:1: 'body' before any 'request METHOD URL' line");
    bad("name x\nrequest GET http://h/", "t.scn:1: 'name' before any 'request METHOD URL' line");
    bad("request GET http://h/\nname", "t.scn:2: expected 'name TEXT', got 'name'");
    bad("request GET http://h/\nname a\nname b", "t.scn:3: 'name' given twice for the request of line 1");
    /* think */
    bad("think\nrequest GET http://h/", "t.scn:1: expected 'think between MIN MAX', "
                                        "'think constant DURATION' or 'think none', got 'think'");
    bad("think sometimes 1s", "t.scn:1: expected 'think between MIN MAX', "
                              "'think constant DURATION' or 'think none', got 'think sometimes 1s'");
    bad("think between 1s", "t.scn:1: expected 'think between MIN MAX', "
                            "'think constant DURATION' or 'think none', got 'think between 1s'");
    bad("think between 1s 2s 3s", "t.scn:1: expected 'think between MIN MAX', "
                                  "'think constant DURATION' or 'think none', got 'think between 1s 2s 3s'");
    bad("think constant", "t.scn:1: expected 'think between MIN MAX', "
                          "'think constant DURATION' or 'think none', got 'think constant'");
    bad("think none 1s", "t.scn:1: expected 'think between MIN MAX', "
                         "'think constant DURATION' or 'think none', got 'think none 1s'");
    bad("think constant 2x", "t.scn:1: invalid duration '2x': unknown unit 'x' (use ns, us, ms, s, m, h, d)");
    bad("think between 1s -2s", "t.scn:1: invalid duration '-2s': negative values are not allowed");
    bad("think between 3s 1s", "t.scn:1: think between '3s' and a smaller '1s' (write the minimum first)");
    bad("think none\n\nthink none", "t.scn:3: 'think' given twice (first on line 1)");
    /* request */
    bad("request", "t.scn:1: expected 'request METHOD URL' or 'request METHOD URL weight N', got 'request'");
    bad("request GET",
        "t.scn:1: expected 'request METHOD URL' or 'request METHOD URL weight N', got 'request GET'");
    bad("request GET http://h/ x", "t.scn:1: expected 'request METHOD URL' or 'request METHOD URL weight N', "
                                   "got 'x' after the URL");
    bad("request GET http://h/ weight",
        "t.scn:1: expected 'request METHOD URL' or 'request METHOD URL weight N', "
        "got 'weight' after the URL");
    bad("request GET http://h/ weight 2 x", "t.scn:1: expected 'request METHOD URL' or "
                                            "'request METHOD URL weight N', got 'weight 2 x' after the URL");
    bad("request GET http://h/ weight 0",
        "t.scn:1: invalid number '0': out of range (must be between 1 and 1000000)");
    bad("request GET http://h/ weight 1.5",
        "t.scn:1: invalid number '1.5': expected a whole number (digits only)");
    bad("request GET http://h/ weight 1000001",
        "t.scn:1: invalid number '1000001': out of range (must be between 1 and 1000000)");
    bad("request get http://h/",
        "t.scn:1: method 'get' has lowercase letters (methods are case-sensitive: write e.g. GET, POST)");
    bad("request G(ET http://h/",
        "t.scn:1: invalid method 'G(ET' (a method is a token: letters, digits, !#$%&'*+-.^_`|~)");
    bad("request G\xc3\xa9T http://h/",
        "t.scn:1: invalid method 'G\\xc3\\xa9T' (a method is a token: letters, digits, !#$%&'*+-.^_`|~)");
    bad("request AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA http://h/",
        "t.scn:1: method 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' longer than 32 bytes");
    bad("request GET http://h:70000/",
        "t.scn:1: invalid URL 'http://h:70000/': port 70000 out of range (1-65535)");
    bad("request GET http://u:p@h/",
        "t.scn:1: invalid URL 'http://u:p@h/': userinfo before '@' is not supported "
        "(credentials belong in a header: -H 'Authorization: ...')");
    bad("request GET /relative",
        "t.scn:1: invalid URL '/relative': missing scheme (expected http:// or https://)");
    /* header */
    bad("request GET http://h/\nheader", "t.scn:2: expected 'header NAME: VALUE', got 'header '");
    bad("request GET http://h/\nheader : v", "t.scn:2: empty header name before ':'");
    bad("request GET http://h/\nheader A b: v",
        "t.scn:2: invalid header name 'A b' "
        "(a token: letters, digits, !#$%&'*+-.^_`|~; no space before ':')");
    bad("request GET http://h/\nheader A : v",
        "t.scn:2: invalid header name 'A ' "
        "(a token: letters, digits, !#$%&'*+-.^_`|~; no space before ':')");
    bad("request GET http://h/\nheader content-length: 5",
        "t.scn:2: header 'content-length' is set from the body, not by hand");
    bad("request GET http://h/\nheader Transfer-Encoding: chunked",
        "t.scn:2: header 'Transfer-Encoding' is set from the body, not by hand");
    /* body */
    bad("request POST http://h/\nbody", "t.scn:2: expected 'body TEXT' or 'body @FILE', got 'body'");
    bad("request POST http://h/\nbody   ", "t.scn:2: expected 'body TEXT' or 'body @FILE', got 'body'");
    bad("request POST http://h/\nbody @", "t.scn:2: expected a file name after 'body @'");
    bad("request POST http://h/\nbody a\nbody b", "t.scn:3: 'body' given twice for the request of line 1");
    bad("request POST http://h/\nbody @a\nbody b", "t.scn:3: 'body' given twice for the request of line 1");
    /* bytes */
    bad("request GET http://h/\n\x01", "t.scn:2: control byte '\\x01' at column 1");
    bad("request GET http://h/\rx", "t.scn:1: control byte '\\x0d' at column 22");
    bad("request GET http://h/\x7f", "t.scn:1: control byte '\\x7f' at column 22");

    struct scenario s;
    struct pk_err e;
    const char nul[] = "request GET http://h/\0x";
    assert_int_equal(scenario_parse(nul, sizeof(nul) - 1, "t.scn", &s, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "t.scn:1: control byte '\\x00' at column 22");
    /* NULL name and NULL err are allowed. */
    assert_int_equal(scenario_parse("x", 1, NULL, &s, NULL), PK_EPARSE);
    assert_int_equal(scenario_parse("x", 1, NULL, &s, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "scenario:1: expected 'request METHOD URL' or 'think ...', got 'x'");
}

static void caps(void **state)
{
    (void)state;
    struct scenario s;
    struct pk_err e;
    size_t cap = SCENARIO_LINE_MAX + 64;
    char *line = malloc(cap);
    assert_non_null(line);
    /* A line of exactly SCENARIO_LINE_MAX bytes (CR excluded) is accepted. */
    const char *head = "request POST http://h/\nbody ";
    size_t hl = strlen(head);
    memcpy(line, head, hl);
    memset(line + hl, 'b', SCENARIO_LINE_MAX - 5);
    memcpy(line + hl + SCENARIO_LINE_MAX - 5, "\r\n", 2);
    size_t len = hl + SCENARIO_LINE_MAX - 5 + 2;
    assert_int_equal(scenario_parse(line, len, "t.scn", &s, &e), 0);
    assert_int_equal(s.requests[0].body_len, SCENARIO_LINE_MAX - 5);
    scenario_destroy(&s);
    line[len - 2] = 'b';
    assert_int_equal(scenario_parse(line, len, "t.scn", &s, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "t.scn:2: line longer than 8192 bytes");
    free(line);

    /* Requests. */
    size_t bcap = (SCENARIO_REQUESTS_MAX + 1) * 24 + 1;
    char *big = malloc(bcap);
    assert_non_null(big);
    size_t o = 0;
    for (unsigned i = 0; i < SCENARIO_REQUESTS_MAX; i++)
        o += (size_t)snprintf(big + o, bcap - o, "request GET http://h/\n");
    assert_int_equal(scenario_parse(big, o, "t.scn", &s, &e), 0);
    assert_int_equal(s.nrequests, SCENARIO_REQUESTS_MAX);
    scenario_destroy(&s);
    o += (size_t)snprintf(big + o, bcap - o, "request GET http://h/\n");
    assert_int_equal(scenario_parse(big, o, "t.scn", &s, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "t.scn:1001: more than 1000 requests");
    free(big);

    /* Headers. */
    char hdr[4096];
    o = (size_t)snprintf(hdr, sizeof(hdr), "request GET http://h/\n");
    for (unsigned i = 0; i <= SCENARIO_HEADERS_MAX; i++)
        o += (size_t)snprintf(hdr + o, sizeof(hdr) - o, "header A: b\n");
    assert_int_equal(scenario_parse(hdr, o, "t.scn", &s, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "t.scn:66: more than 64 headers in the request of line 1");

    /* The whole text. */
    assert_int_equal(scenario_parse(hdr, (size_t)SCENARIO_FILE_MAX + 1, "t.scn", &s, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "t.scn: larger than 4 MiB");
}

static void body_file_caps(void **state)
{
    (void)state;
    char dir[] = "/tmp/pk_scenario_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char scn[256], body[256];
    snprintf(scn, sizeof(scn), "%s/s.scn", dir);
    snprintf(body, sizeof(body), "%s/big.bin", dir);
    FILE *f = fopen(scn, "w");
    assert_non_null(f);
    fprintf(f, "request POST http://h/\n  body @big.bin\nrequest POST http://h/\n  body @%s\n", body);
    fclose(f);
    char *data = calloc(1, SCENARIO_BODY_MAX + 1);
    assert_non_null(data);
    f = fopen(body, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, SCENARIO_BODY_MAX, f), SCENARIO_BODY_MAX);
    fclose(f);

    struct scenario s;
    struct pk_err e;
    if (scenario_load(scn, &s, &e) != 0)
        fail_msg("%s", msg(&e));
    /* Relative and absolute names reach the same file; binary bytes are kept. */
    assert_int_equal(s.requests[0].body_len, SCENARIO_BODY_MAX);
    assert_int_equal(s.requests[1].body_len, SCENARIO_BODY_MAX);
    assert_int_equal(s.requests[0].body[12345], 0);
    scenario_destroy(&s);

    f = fopen(body, "a");
    fputc('x', f);
    fclose(f);
    assert_int_equal(scenario_load(scn, &s, &e), PK_EPARSE);
    char want[700];
    snprintf(want, sizeof(want), "%s:2: cannot read body file '%s': larger than 1 MiB", scn, body);
    assert_string_equal(msg(&e), want);
    assert_int_equal(s.nrequests, 0);

    /* A scenario over its cap. */
    f = fopen(scn, "w");
    for (unsigned i = 0; i < 5; i++)
        fwrite(data, 1, SCENARIO_BODY_MAX, f);
    fclose(f);
    assert_int_equal(scenario_load(scn, &s, &e), PK_EPARSE);
    snprintf(want, sizeof(want), "%s: cannot read scenario: larger than 4 MiB", scn);
    assert_string_equal(msg(&e), want);
    /* A folder is not a scenario. */
    assert_int_equal(scenario_load(dir, &s, &e), -EISDIR);

    free(data);
    remove(body);
    remove(scn);
    remove(dir);
}

/* The one rule for methods, which the scenario and -m word each in their way. */
static void method_check(void **state)
{
    (void)state;
    assert_int_equal(scenario_method_check("GET", 3), SCENARIO_METHOD_OK);
    assert_int_equal(scenario_method_check("X_1!~", 5), SCENARIO_METHOD_OK);
    assert_int_equal(scenario_method_check("GETX", 3), SCENARIO_METHOD_OK); /* n bytes only */
    assert_int_equal(scenario_method_check("", 0), SCENARIO_METHOD_LENGTH);
    char longest[SCENARIO_METHOD_MAX + 2];
    memset(longest, 'A', sizeof(longest));
    assert_int_equal(scenario_method_check(longest, SCENARIO_METHOD_MAX), SCENARIO_METHOD_OK);
    assert_int_equal(scenario_method_check(longest, SCENARIO_METHOD_MAX + 1), SCENARIO_METHOD_LENGTH);
    assert_int_equal(scenario_method_check("get", 3), SCENARIO_METHOD_LOWERCASE);
    assert_int_equal(scenario_method_check("Get", 3), SCENARIO_METHOD_LOWERCASE);
    /* Not a token wins over lowercase, wherever the bad byte is. */
    assert_int_equal(scenario_method_check("ge(t", 4), SCENARIO_METHOD_NOT_TOKEN);
    assert_int_equal(scenario_method_check("GE T", 4), SCENARIO_METHOD_NOT_TOKEN);
    assert_int_equal(scenario_method_check("GE\0T", 4), SCENARIO_METHOD_NOT_TOKEN);
    assert_int_equal(scenario_method_check("G\xc3\xa9T", 4), SCENARIO_METHOD_NOT_TOKEN);
}

/* A FIFO nobody writes to is an error after the bounded wait, not a hang. */
static void fifo_is_no_hang(void **state)
{
    (void)state;
    char dir[] = "/tmp/pk_scenario_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[256];
    snprintf(fifo, sizeof(fifo), "%s/s.scn", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    struct scenario s;
    struct pk_err e;
    assert_int_equal(scenario_load(fifo, &s, &e), -ETIMEDOUT);
    assert_non_null(
        strstr(msg(&e), "cannot read scenario: not a regular file, and its writer did not finish"));
    unlink(fifo);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_from_buffer_and_file),
        cmocka_unit_test(bad_fixtures),
        cmocka_unit_test(directives),
        cmocka_unit_test(errors),
        cmocka_unit_test(caps),
        cmocka_unit_test(body_file_caps),
        cmocka_unit_test(method_check),
        cmocka_unit_test(fifo_is_no_hang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
