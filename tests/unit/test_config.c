/*
 * test_config - `perfkit monitor`'s configuration: defaults, every key from a
 * file and as a flag, probes with limits, rules kept with their file:line,
 * and each error with the place and the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "monitor/config.h"

static void test_defaults(void **state)
{
    (void)state;
    struct monitor_config c;
    config_init(&c);
    assert_null(c.listen);
    assert_int_equal(c.interval_ms, 1000);
    assert_int_equal(c.retention_raw_ms, INT64_C(172800000));
    assert_int_equal(c.retention_ms, INT64_C(2592000000));
    assert_true(c.default_rules);
    assert_false(c.no_auth);
    assert_int_equal(config_check(&c, NULL), 0);
    config_destroy(&c);
}

static const char file_text[] =
    "# a comment\n"
    "listen 127.0.0.1:9400\n"
    "\n"
    "  interval   500ms  \n"
    "db /var/lib/perfkit/m.db\r\n"
    "retention-raw 2h\n"
    "retention 7d\n"
    "probe tcp://127.0.0.1:5432\n"
    "probe http://127.0.0.1:8080/health limit 200ms\n"
    "webhook http://127.0.0.1:9093/hook\n"
    "on-alert logger -t perfkit\n"
    "default-rules off\n"
    "alert CpuBusy: perfkit_cpu_utilization_ratio > 0.9 for 5m severity critical\n"
    "no-auth\n";

static void test_file(void **state)
{
    (void)state;
    struct monitor_config c;
    struct pk_err e;
    pk_err_clear(&e);
    config_init(&c);
    assert_int_equal(config_parse(&c, file_text, sizeof(file_text) - 1, "m.conf", &e), 0);
    assert_string_equal(c.listen, "127.0.0.1:9400");
    assert_int_equal(c.interval_ms, 500);
    assert_string_equal(c.db, "/var/lib/perfkit/m.db");
    assert_int_equal(c.retention_raw_ms, INT64_C(7200000));
    assert_int_equal(c.retention_ms, INT64_C(604800000));
    assert_int_equal(c.nprobes, 2);
    assert_int_equal(c.probes[0].kind, CONFIG_PROBE_TCP);
    assert_string_equal(c.probes[0].target, "tcp://127.0.0.1:5432");
    assert_int_equal(c.probes[0].limit_ms, 0);
    assert_int_equal(c.probes[1].kind, CONFIG_PROBE_HTTP);
    assert_string_equal(c.probes[1].target, "http://127.0.0.1:8080/health");
    assert_int_equal(c.probes[1].limit_ms, 200);
    assert_int_equal(c.nwebhooks, 1);
    assert_string_equal(c.webhooks[0], "http://127.0.0.1:9093/hook");
    assert_string_equal(c.on_alert, "logger -t perfkit");
    assert_false(c.default_rules);
    assert_int_equal(c.nrules, 1);
    assert_string_equal(c.rules[0].text,
                        "CpuBusy: perfkit_cpu_utilization_ratio > 0.9 for 5m severity critical");
    assert_string_equal(c.rules[0].on, "m.conf:13");
    assert_true(c.no_auth);
    assert_int_equal(config_check(&c, &e), 0);
    /* a flag after the file overrides it */
    assert_int_equal(config_set(&c, "interval", "2s", "--interval", &e), 0);
    assert_int_equal(c.interval_ms, 2000);
    config_destroy(&c);
}

static void bad(const char *text, const char *on, const char *why)
{
    struct monitor_config c;
    struct pk_err e;
    pk_err_clear(&e);
    config_init(&c);
    assert_int_equal(config_parse(&c, text, strlen(text), "m.conf", &e), PK_EPARSE);
    assert_string_equal(e.on, on);
    if (!strstr(e.why, why))
        fail_msg("'%s' not in '%s'", why, e.why);
    config_destroy(&c);
}

static void test_errors(void **state)
{
    (void)state;
    bad("listen 127.0.0.1:1\nlisen x\n", "m.conf:2", "'lisen' (expected listen, interval");
    bad("interval\n", "m.conf:1", "'interval' needs a duration");
    bad("interval 10ms\n", "m.conf:1", "'interval 10ms' is not between 100 ms and");
    bad("interval fast\n", "m.conf:1", "fast");
    bad("probe udp://h:1\n", "m.conf:1", "'udp://h:1': expected tcp://HOST:PORT or http://URL");
    bad("probe tcp://h\n", "m.conf:1", "a tcp probe is tcp://HOST:PORT");
    bad("probe http://h/ limt 1s\n", "m.conf:1", "expected 'limit DURATION' after the target, got 'limt 1s'");
    bad("webhook ftp://h/\n", "m.conf:1", "unsupported scheme");
    bad("default-rules maybe\n", "m.conf:1", "'default-rules' is 'on' or 'off'");
    bad("no-auth yes\n", "m.conf:1", "'no-auth' takes no value");
    bad("\n\nalert\n", "m.conf:3", "'alert' needs a rule");
    bad("db a\x01"
        "b\n",
        "m.conf:1", "control byte 0x01 at column 5");
}

static void test_check(void **state)
{
    (void)state;
    struct monitor_config c;
    struct pk_err e;
    config_init(&c);
    assert_int_equal(config_set(&c, "retention-raw", "40d", "--retention-raw", &e), 0);
    assert_int_equal(config_check(&c, &e), PK_EUSAGE);
    assert_string_equal(e.on, "--retention-raw");
    config_destroy(&c);
    config_init(&c);
    assert_int_equal(config_set(&c, "tls-cert", "c.pem", "--tls-cert", &e), 0);
    assert_int_equal(config_check(&c, &e), PK_EUSAGE);
    assert_string_equal(e.on, "--tls-key");
    config_destroy(&c);
    config_init(&c);
    assert_int_equal(config_set(&c, "no-auth", NULL, "--no-auth", &e), 0);
    assert_int_equal(config_set(&c, "auth-token-file", "t", "--auth-token-file", &e), 0);
    assert_int_equal(config_check(&c, &e), PK_EUSAGE);
    config_destroy(&c);
}

/* Where each setting came from, for the messages of the checks made later. */
static void test_where(void **state)
{
    (void)state;
    struct monitor_config c;
    struct pk_err e;
    pk_err_clear(&e);
    config_init(&c);
    assert_string_equal(config_where(&c, CONFIG_LISTEN), "--listen");
    static const char text[] = "# c\nlisten 0.0.0.0:9310\n\ntls-cert c.pem\nauth-token-file t\n";
    assert_int_equal(config_parse(&c, text, sizeof(text) - 1, "m.conf", &e), 0);
    assert_int_equal(config_set(&c, "db", "x.db", "--db", &e), 0);
    assert_string_equal(config_where(&c, CONFIG_LISTEN), "m.conf:2: listen");
    assert_string_equal(config_where(&c, CONFIG_TLS_CERT), "m.conf:4: tls-cert");
    assert_string_equal(config_where(&c, CONFIG_DB), "--db");
    assert_string_equal(config_where(&c, CONFIG_RETENTION), "--retention");

    /* the checks of other modules name the flag; blame names the line */
    const struct {
        const char *on, *want;
    } cases[] = {
        { "--listen", "m.conf:2: listen" },
        { "--auth-token-file: t", "m.conf:5: auth-token-file: t" },
        { "--db", "--db" },             /* set by its flag */
        { "--listen-x", "--listen-x" }, /* not a setting's name */
        { "m.conf:9", "m.conf:9" },     /* already a place */
        { "--tls-key", "--tls-key" },   /* never set */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err_set(&e, PK_EUSAGE, cases[i].on, "w", "y");
        config_blame(&c, &e);
        assert_string_equal(e.on, cases[i].want);
    }
    /* config_check names the file's line of the one TLS setting given */
    assert_int_equal(config_check(&c, &e), PK_EUSAGE);
    assert_string_equal(e.on, "m.conf:4: tls-cert");
    /* a flag given later wins, and is named */
    assert_int_equal(config_set(&c, "listen", "127.0.0.1:1", "--listen", &e), 0);
    assert_string_equal(config_where(&c, CONFIG_LISTEN), "--listen");
    config_destroy(&c);
}

/* config_destroy on a zeroed struct, twice, and on NULL. */
static void test_destroy_zeroed(void **state)
{
    (void)state;
    struct monitor_config c;
    memset(&c, 0, sizeof(c));
    config_destroy(&c);
    config_destroy(&c);
    config_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_file),  cmocka_unit_test(test_errors),
        cmocka_unit_test(test_check),    cmocka_unit_test(test_where), cmocka_unit_test(test_destroy_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
