/*
 * test_dynlib - loading a real shared library (libm) into a table and
 * calling what it resolved, the refusals (a library that is not there, a
 * function it lacks) leaving the table untouched, and dynlib_get's
 * load-once behaviour, failures included.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/dynlib.h"
#include "perfkit.h"

struct mtable {
    double (*sqrt)(double);
    double (*hypot)(double, double);
};

static const struct dynlib_sym msyms[] = {
    { "sqrt", offsetof(struct mtable, sqrt) },
    { "hypot", offsetof(struct mtable, hypot) },
};

static void loads_real_functions(void **state)
{
    (void)state;
    static const char *const names[] = { "libnot-there-at-all.so.9", "libm.so.6", NULL };
    struct mtable t = { 0 };
    struct pk_err e = { 0 };
    assert_int_equal(dynlib_load(names, msyms, 2, &t, sizeof(t), &e), 0);
    assert_non_null(t.sqrt);
    assert_true(t.sqrt(16.0) == 4.0);
    assert_true(t.hypot(3.0, 4.0) == 5.0);
}

static void missing_library(void **state)
{
    (void)state;
    static const char *const names[] = { "libnot-there-at-all.so.9", NULL };
    struct mtable t = { 0 };
    struct pk_err e = { 0 };
    assert_int_equal(dynlib_load(names, msyms, 2, &t, sizeof(t), &e), -ENOENT);
    assert_string_equal(e.on, "libnot-there-at-all.so.9");
    assert_string_equal(e.what, "cannot load the library");
    assert_non_null(strstr(e.why, "libnot-there-at-all.so.9"));
    assert_null(t.sqrt);
}

static void missing_function(void **state)
{
    (void)state;
    static const char *const names[] = { "libm.so.6", NULL };
    static const struct dynlib_sym bad[] = {
        { "sqrt", offsetof(struct mtable, sqrt) },
        { "no_such_function_in_libm", offsetof(struct mtable, hypot) },
    };
    struct mtable t = { 0 };
    struct pk_err e = { 0 };
    assert_int_equal(dynlib_load(names, bad, 2, &t, sizeof(t), &e), -ENOENT);
    assert_string_equal(e.on, "libm.so.6");
    assert_string_equal(e.what, "the library lacks a function perfkit needs");
    assert_memory_equal(e.why, "no_such_function_in_libm: ", strlen("no_such_function_in_libm: "));
    /* all or nothing: sqrt, found first, was not stored either */
    assert_null(t.sqrt);
    assert_null(t.hypot);
}

static int after_calls;
static int after_ok(void *table, struct pk_err *e)
{
    (void)e;
    after_calls++;
    const struct mtable *t = table;
    return t->sqrt(4.0) == 2.0 ? 0 : -EINVAL;
}

static void get_loads_once(void **state)
{
    (void)state;
    static const char *const names[] = { "libm.so.6", NULL };
    static struct dynlib d = DYNLIB_INIT;
    struct mtable t = { 0 };
    after_calls = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(dynlib_get(&d, names, msyms, 2, &t, sizeof(t), after_ok, NULL), 0);
    assert_int_equal(after_calls, 1);
    assert_true(t.hypot(5.0, 12.0) == 13.0);
}

static int after_fails(void *table, struct pk_err *e)
{
    (void)table;
    after_calls++;
    e->code = -EIO;
    strcpy(e->what, "init failed");
    return -EIO;
}

static void get_remembers_failure(void **state)
{
    (void)state;
    static const char *const names[] = { "libm.so.6", NULL };
    static struct dynlib d = DYNLIB_INIT;
    struct mtable t = { 0 };
    after_calls = 0;
    for (int i = 0; i < 2; i++) {
        struct pk_err e = { 0 };
        assert_int_equal(dynlib_get(&d, names, msyms, 2, &t, sizeof(t), after_fails, &e), -EIO);
        assert_string_equal(e.what, "init failed");
    }
    assert_int_equal(after_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_real_functions),  cmocka_unit_test(missing_library),
        cmocka_unit_test(missing_function),      cmocka_unit_test(get_loads_once),
        cmocka_unit_test(get_remembers_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
