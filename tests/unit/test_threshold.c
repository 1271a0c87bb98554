/*
 * test_threshold - --threshold texts: every metric and operator, the limits'
 * units, evaluation at and around the limit, and every refusal with its
 * exact message.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "load/threshold.h"

static const char *msg(const struct pk_err *e)
{
    static char buf[700];
    return pk_err_str(e, buf, sizeof(buf));
}

static struct threshold ok(const char *text, enum threshold_metric metric, double pct, enum threshold_op op,
                           double limit)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct threshold t;
    if (threshold_parse(text, &t, &e) != 0)
        fail_msg("'%s' rejected: %s", text, msg(&e));
    assert_int_equal(t.metric, metric);
    assert_int_equal(t.op, op);
    if (t.percentile != pct || fabs(t.limit - limit) > 1e-12 * fabs(limit))
        fail_msg("'%s': p=%.17g limit=%.17g, want p=%.17g limit=%.17g", text, t.percentile, t.limit, pct,
                 limit);
    assert_string_equal(t.text, text);
    return t;
}

static void bad(const char *text, const char *want)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct threshold t;
    memset(&t, 0x5a, sizeof(t));
    int rc = threshold_parse(text, &t, &e);
    if (rc == 0)
        fail_msg("'%s' accepted", text);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(e.code, PK_EPARSE);
    assert_int_equal(t.text[0], 0x5a);
    assert_string_equal(msg(&e), want);
}

static void parses_every_metric(void **state)
{
    (void)state;
    ok("p99<200ms", THRESHOLD_PERCENTILE, 99, THRESHOLD_LT, 0.2);
    ok("p95<=1.5s", THRESHOLD_PERCENTILE, 95, THRESHOLD_LE, 1.5);
    ok("p50<10ms", THRESHOLD_PERCENTILE, 50, THRESHOLD_LT, 0.01);
    ok("p99.9<1s", THRESHOLD_PERCENTILE, 99.9, THRESHOLD_LT, 1);
    ok("p99.99 < 250us", THRESHOLD_PERCENTILE, 99.99, THRESHOLD_LT, 250e-6);
    ok("p100<1m", THRESHOLD_PERCENTILE, 100, THRESHOLD_LT, 60);
    ok("p(95)<200ms", THRESHOLD_PERCENTILE, 95, THRESHOLD_LT, 0.2);
    ok("med<5ms", THRESHOLD_PERCENTILE, 50, THRESHOLD_LT, 0.005);
    ok("mean<100ms", THRESHOLD_MEAN, 0, THRESHOLD_LT, 0.1);
    ok("avg<=1m30s", THRESHOLD_MEAN, 0, THRESHOLD_LE, 90);
    ok("max<2s", THRESHOLD_MAX, 0, THRESHOLD_LT, 2);
    ok("min>=1us", THRESHOLD_MIN, 0, THRESHOLD_GE, 1e-6);
    ok("error_rate<1%", THRESHOLD_ERROR_RATE, 0, THRESHOLD_LT, 0.01);
    ok("error_rate<=0.5%", THRESHOLD_ERROR_RATE, 0, THRESHOLD_LE, 0.005);
    ok("error_rate<0.01", THRESHOLD_ERROR_RATE, 0, THRESHOLD_LT, 0.01);
    ok("error_rate<100%", THRESHOLD_ERROR_RATE, 0, THRESHOLD_LT, 1);
    ok("error_rate<=0", THRESHOLD_ERROR_RATE, 0, THRESHOLD_LE, 0);
    ok("dropped<1%", THRESHOLD_DROPPED, 0, THRESHOLD_LT, 0.01);
    ok("dropped<=0", THRESHOLD_DROPPED, 0, THRESHOLD_LE, 0);
    ok("dropped < 0.05", THRESHOLD_DROPPED, 0, THRESHOLD_LT, 0.05);
    ok("rps>5000", THRESHOLD_RPS, 0, THRESHOLD_GT, 5000);
    ok("rps >= 1.5k", THRESHOLD_RPS, 0, THRESHOLD_GE, 1500);
    ok("\trps>2M\t", THRESHOLD_RPS, 0, THRESHOLD_GT, 2e6);
}

static void evaluates(void **state)
{
    (void)state;
    struct threshold t = ok("p99<200ms", THRESHOLD_PERCENTILE, 99, THRESHOLD_LT, 0.2);
    assert_true(threshold_pass(&t, 0.199));
    assert_false(threshold_pass(&t, 0.2));
    assert_false(threshold_pass(&t, 0.3));
    assert_false(threshold_pass(&t, NAN));
    t = ok("p95<=1.5s", THRESHOLD_PERCENTILE, 95, THRESHOLD_LE, 1.5);
    assert_true(threshold_pass(&t, 1.5));
    assert_false(threshold_pass(&t, 1.5000001));
    t = ok("rps>5000", THRESHOLD_RPS, 0, THRESHOLD_GT, 5000);
    assert_true(threshold_pass(&t, 5000.5));
    assert_false(threshold_pass(&t, 5000));
    assert_false(threshold_pass(&t, NAN));
    t = ok("rps>=5000", THRESHOLD_RPS, 0, THRESHOLD_GE, 5000);
    assert_true(threshold_pass(&t, 5000));
    assert_false(threshold_pass(&t, 4999.9));
    t = ok("error_rate<1%", THRESHOLD_ERROR_RATE, 0, THRESHOLD_LT, 0.01);
    assert_true(threshold_pass(&t, 0));
    assert_true(threshold_pass(&t, 0.0099));
    assert_false(threshold_pass(&t, 0.01));
    assert_false(threshold_pass(&t, INFINITY));
    assert_string_equal(threshold_op_str(THRESHOLD_LT), "<");
    assert_string_equal(threshold_op_str(THRESHOLD_LE), "<=");
    assert_string_equal(threshold_op_str(THRESHOLD_GT), ">");
    assert_string_equal(threshold_op_str(THRESHOLD_GE), ">=");
}

static void refuses_bad_text(void **state)
{
    (void)state;
    bad("", "--threshold: invalid threshold '': empty (expected e.g. p99<200ms, error_rate<1%, rps>5000)");
    bad("p99", "--threshold: invalid threshold 'p99': missing operator (expected e.g. p99<200ms, "
               "error_rate<1%, rps>5000)");
    bad("p99=200ms", "--threshold: invalid threshold 'p99=200ms': unsupported operator (use <, <=, > or >=)");
    bad("p99<<200ms", "--threshold: invalid threshold 'p99<<200ms': more than one operator");
    bad("p99<=>1s", "--threshold: invalid threshold 'p99<=>1s': more than one operator");
    bad("<200ms", "--threshold: invalid threshold '<200ms': missing metric before the operator (expected "
                  "e.g. p99<200ms)");
    bad("p99<", "--threshold: invalid threshold 'p99<': missing limit after the operator");
    bad("p99< ", "--threshold: invalid threshold 'p99< ': missing limit after the operator");
    bad("latency<1s", "--threshold: invalid threshold 'latency<1s': unknown metric 'latency' "
                      "(use pN, p(N), mean, avg, med, min, max, error_rate, dropped, rps)");
    bad("P99<1s", "--threshold: invalid threshold 'P99<1s': unknown metric 'P99' "
                  "(use pN, p(N), mean, avg, med, min, max, error_rate, dropped, rps)");
    bad("p<1s", "--threshold: invalid threshold 'p<1s': unknown metric 'p' "
                "(use pN, p(N), mean, avg, med, min, max, error_rate, dropped, rps)");
    bad("p99.<1s", "--threshold: invalid threshold 'p99.<1s': invalid percentile '99.' (expected e.g. p99, "
                   "p99.9, p(95))");
    bad("p9.9.9<1s", "--threshold: invalid threshold 'p9.9.9<1s': invalid percentile '9.9.9' (expected e.g. "
                     "p99, p99.9, p(95))");
    bad("p99x<1s", "--threshold: invalid threshold 'p99x<1s': invalid percentile '99x' (expected e.g. p99, "
                   "p99.9, p(95))");
    bad("p()<1s", "--threshold: invalid threshold 'p()<1s': unknown metric 'p()' "
                  "(use pN, p(N), mean, avg, med, min, max, error_rate, dropped, rps)");
    bad("p(x)<1s",
        "--threshold: invalid threshold 'p(x)<1s': invalid percentile 'x' (expected e.g. p99, p99.9, p(95))");
    bad("p0<1s", "--threshold: invalid threshold 'p0<1s': percentile 0 out of range (0 < p <= 100)");
    bad("p100.1<1s",
        "--threshold: invalid threshold 'p100.1<1s': percentile 100.1 out of range (0 < p <= 100)");
    bad("p99<200",
        "--threshold: invalid threshold 'p99<200': latency limit '200' needs a unit (e.g. 200ms or 200s)");
    bad("mean<5x", "--threshold: invalid threshold 'mean<5x': invalid duration '5x': "
                   "unknown unit 'x' (use ns, us, ms, s, m, h, d)");
    bad("max<-1s",
        "--threshold: invalid threshold 'max<-1s': invalid duration '-1s': negative values are not allowed");
    bad("error_rate<1x", "--threshold: invalid threshold 'error_rate<1x': invalid number '1x': "
                         "unexpected 'x' after the number (expected a plain number, e.g. 10, 2.5)");
    bad("error_rate<%", "--threshold: invalid threshold 'error_rate<%': invalid number '': empty value "
                        "(expected e.g. 10, 2.5)");
    bad("error_rate<101%", "--threshold: invalid threshold 'error_rate<101%': "
                           "error rate '101%' out of range (0%..100%, or a fraction 0..1)");
    bad("error_rate<1.5", "--threshold: invalid threshold 'error_rate<1.5': "
                          "error rate '1.5' out of range (0%..100%, or a fraction 0..1)");
    bad("dropped<5", "--threshold: invalid threshold 'dropped<5': "
                     "dropped share '5' out of range (0%..100%, or a fraction 0..1)");
    bad("rps>1.5", "--threshold: invalid threshold 'rps>1.5': invalid count '1.5': not a whole number");
    bad("rps>5 k", "--threshold: invalid threshold 'rps>5 k': invalid count '5 k': "
                   "contains whitespace (write it as one word, e.g. 10, 1.5k, 2M)");
    bad("p99<\x1b[31m", "--threshold: invalid threshold 'p99<\\x1b[31m': unexpected byte '\\x1b'");
    char longer[200];
    memset(longer, 'p', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    struct pk_err e;
    struct threshold t;
    assert_int_equal(threshold_parse(longer, &t, &e), PK_EPARSE);
    assert_string_equal(e.why, "longer than 127 bytes");
    assert_int_equal(threshold_parse(NULL, &t, NULL), PK_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_metric),
        cmocka_unit_test(evaluates),
        cmocka_unit_test(refuses_bad_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
