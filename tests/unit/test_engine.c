/*
 * test_engine - what the load engine offers besides load_run() (which the
 * integration test drives against real servers): the count of origins a
 * caller sizes threads with, and the refusals of an inconsistent config,
 * which come before anything is resolved or started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "load/engine.h"

static const char *msg(const struct pk_err *e)
{
    static char buf[800];
    return pk_err_str(e, buf, sizeof(buf));
}

static void requests(struct load_request *r, const char *const *urls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct pk_err e;
        pk_err_clear(&e);
        memset(&r[i], 0, sizeof(r[i]));
        assert_int_equal(url_parse_weighted(urls[i], "URL", &r[i].url, &e), 0);
    }
}

static void count_origins(void **state)
{
    (void)state;
    struct load_request r[6];
    assert_int_equal(load_count_origins(NULL, 0), 1);
    const char *one[] = { "http://a/x", "http://a:80/y", "http://a/z@3" };
    requests(r, one, 3);
    assert_int_equal(load_count_origins(r, 3), 1);
    const char *several[] = { "http://a/", "http://a:81/",  "https://a:80/",
                              "http://b/", "http://a:81/q", "https://a:80/r" };
    requests(r, several, 6);
    assert_int_equal(load_count_origins(r, 6), 4);
    assert_int_equal(load_count_origins(r, 1), 1);
}

static void config_refused(void **state)
{
    (void)state;
    struct load_request r[1];
    const char *u[] = { "http://127.0.0.1:1/" };
    requests(r, u, 1);
    struct load_config c;
    struct load_result res;
    struct pk_err e;
    assert_int_equal(result_init(&res, &e), 0);

    load_config_init(&c);
    c.requests = r;
    c.nrequests = 1;
    pk_err_clear(&e);
    assert_int_equal(load_run(&c, &res, &e), PK_EUSAGE);
    assert_string_equal(msg(&e), "-d: unbounded run: give a duration (-d), a count (-n) or stages");

    c.max_requests = 1;
    c.threads = 2;
    pk_err_clear(&e);
    assert_int_equal(load_run(&c, &res, &e), PK_EUSAGE);
    assert_string_equal(msg(&e), "-c: invalid connection count: 1 is not in 2 (the thread count) .. 1000000");

    c.threads = 1;
    c.nrequests = 0;
    pk_err_clear(&e);
    assert_int_equal(load_run(&c, &res, &e), PK_EUSAGE);
    assert_string_equal(msg(&e), "URL: nothing to send: give at least one URL");
    assert_int_equal(res.nurls, 0);
    assert_int_equal(res.nseries, 0);
    result_destroy(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(count_origins),
        cmocka_unit_test(config_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
