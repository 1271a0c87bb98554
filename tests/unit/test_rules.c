/*
 * test_rules - alert rules: the parser (every field, the canonical form,
 * each refusal with its exact message), the default rules, and evaluation
 * on a fake clock with exact transitions: for, keep_firing_for, clear
 * (hysteresis), series that disappear, several series per rule, matchers,
 * a reload that keeps timers, the exported gauges and the JSON list.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "monitor/metric.h"
#include "monitor/rules.h"

#define S 1000 /* ms */

static const char *msg(const struct pk_err *e)
{
    static char buf[700];
    return pk_err_str(e, buf, sizeof(buf));
}

static struct rule ok(const char *text)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct rule r;
    if (rules_parse(text, "t.conf:1", &r, &e) != 0)
        fail_msg("'%s' rejected: %s", text, msg(&e));
    return r;
}

static void canon(const char *text, const char *want)
{
    struct rule r = ok(text);
    char buf[RULES_FORMAT_MAX];
    rules_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, want);
    /* the canonical form reads back to the same rule and the same text */
    struct rule r2 = ok(buf);
    char buf2[RULES_FORMAT_MAX];
    rules_format(&r2, buf2, sizeof(buf2));
    assert_string_equal(buf2, want);
}

static void bad(const char *text, const char *want)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct rule r;
    memset(&r, 0x5a, sizeof(r));
    int rc = rules_parse(text, "monitor.conf:7", &r, &e);
    if (rc == 0)
        fail_msg("'%s' accepted", text);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(e.code, PK_EPARSE);
    assert_int_equal((unsigned char)r.name[0], 0x5a);
    assert_string_equal(msg(&e), want);
}

/* ---- a sample ---- */

/* put(set, "name", value, "label", "value", ..., NULL) */
static void put(struct metric_set *s, const char *name, double v, ...)
{
    struct metric_label l[METRIC_LABELS_MAX];
    size_t n = 0;
    va_list ap;
    va_start(ap, v);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        l[n].name = k;
        l[n].value = va_arg(ap, const char *);
        n++;
    }
    va_end(ap);
    uint32_t fam;
    struct pk_err e;
    assert_int_equal(metric_family_begin(s, name, "help", METRIC_GAUGE, &fam, &e), 0);
    assert_int_equal(metric_add(s, fam, l, n, v, &e), 0);
}

struct world {
    struct rules r;
    struct rules_events ev;
    struct metric_set set;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    rules_init(&w->r);
    rules_events_init(&w->ev);
    metric_set_init(&w->set);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    rules_destroy(&w->r);
    rules_events_destroy(&w->ev);
    metric_set_destroy(&w->set);
    free(w);
    return 0;
}

static void add(struct world *w, const char *text)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (rules_add(&w->r, text, "t.conf:1", &e) != 0)
        fail_msg("'%s': %s", text, msg(&e));
}

/* Evaluates a sample of one unlabelled series m = v (NaN: no series). */
static void tick(struct world *w, int64_t t, double v)
{
    metric_set_clear(&w->set);
    if (!isnan(v))
        put(&w->set, "m", v, NULL);
    assert_int_equal(rules_eval(&w->r, &w->set, t, &w->ev), 0);
}

static const struct rules_alert *only_alert(struct world *w)
{
    size_t n;
    const struct rules_alert *a = rules_alerts(&w->r, &n);
    assert_int_equal(n, 1);
    return a;
}

static void no_alerts(struct world *w)
{
    size_t n;
    rules_alerts(&w->r, &n);
    assert_int_equal(n, 0);
}

static void one_event(struct world *w, enum rules_state st)
{
    assert_int_equal(w->ev.n, 1);
    assert_int_equal(w->ev.v[0].state, st);
}

/* ---- parser ---- */

static void parses_fields(void **state)
{
    (void)state;
    struct rule r =
        ok("CpuHigh: perfkit_cpu_utilization_ratio{cpu=\"\"} > 0.8 for 1m clear 0.7 severity warning");
    assert_string_equal(r.name, "CpuHigh");
    assert_string_equal(r.metric, "perfkit_cpu_utilization_ratio");
    assert_int_equal(r.nmatch, 1);
    assert_string_equal(r.match[0].name, "cpu");
    assert_string_equal(r.match[0].value, "");
    assert_int_equal(r.match[0].op, RULES_MATCH_EQ);
    assert_int_equal(r.op, RULES_GT);
    assert_true(r.threshold == 0.8);
    assert_true(r.has_clear && r.clear == 0.7);
    assert_int_equal(r.for_ms, 60000);
    assert_int_equal(r.keep_firing_ms, 0);
    assert_int_equal(r.severity, RULES_WARNING);

    r = ok("\t X_1 :job:m:rate5m{ a = \"x\\\"y\" , b!=\"\\\\\",} >= -1.5e3 for 0s keep_firing_for 1h30m "
           "severity critical   # a comment");
    assert_string_equal(r.name, "X_1");
    assert_string_equal(r.metric, "job:m:rate5m");
    assert_int_equal(r.nmatch, 2);
    assert_string_equal(r.match[0].value, "x\"y");
    assert_string_equal(r.match[1].name, "b");
    assert_string_equal(r.match[1].value, "\\");
    assert_int_equal(r.match[1].op, RULES_MATCH_NE);
    assert_int_equal(r.op, RULES_GE);
    assert_true(r.threshold == -1500);
    assert_false(r.has_clear);
    assert_int_equal(r.for_ms, 0);
    assert_int_equal(r.keep_firing_ms, 5400000);
    assert_int_equal(r.severity, RULES_CRITICAL);

    /* options in any order; no blanks where none are needed */
    r = ok("A:m<.5 for 500ms severity info clear 0.6 keep_firing_for 2s");
    assert_int_equal(r.op, RULES_LT);
    assert_true(r.threshold == 0.5 && r.clear == 0.6);
    assert_int_equal(r.for_ms, 500);
    assert_int_equal(r.keep_firing_ms, 2000);
    assert_int_equal(r.severity, RULES_INFO);
    assert_int_equal(ok("A: m == 0 for 30s").op, RULES_EQ);
    assert_int_equal(ok("A: m != 0 for 30s").op, RULES_NE);
    assert_int_equal(ok("A: m <= 0 for 30s").op, RULES_LE);
    assert_int_equal(ok("A: m{} > 1 for 1s").nmatch, 0);
    assert_int_equal(ok("A: m {a=\"\\n\"} > 1 for 1s").match[0].value[0], '\n');
}

static void formats_canonically(void **state)
{
    (void)state;
    canon("CpuHigh: perfkit_cpu_utilization_ratio{cpu=\"\"} > 0.8 for 1m clear 0.7 severity warning",
          "CpuHigh: perfkit_cpu_utilization_ratio{cpu=\"\"} > 0.8 for 1m clear 0.7 severity warning");
    canon("A:m>1 for 90s", "A: m > 1 for 1m30s severity warning");
    canon("A:m{b!=\"q\\\"\\\\\\n\" ,a=\"1\",}<-2.5e-7 for 1d2h3m4s5ms severity info keep_firing_for 0.5s "
          "clear 1",
          "A: m{b!=\"q\\\"\\\\\\n\",a=\"1\"} < -2.5e-07 for 1d2h3m4s5ms keep_firing_for 500ms clear 1 "
          "severity info");
    canon("A: m > 0.1 for 0s", "A: m > 0.1 for 0s severity warning");
    canon("A: m > 1e300 for 1h", "A: m > 1e+300 for 1h severity warning");
}

static void refuses_with_exact_messages(void **state)
{
    (void)state;
#define P "monitor.conf:7: invalid alert rule: "
    bad("CpuHigh: perfkit_cpu_utilization_ratio > 0.8 fr 1m",
        P "expected 'for DURATION' after the expression, got 'fr'");
    bad("A: m > 1", P "expected 'for DURATION' after the expression, got the end of the line");
    bad("A: m > 1 forever", P "expected 'for DURATION' after the expression, got 'forever'");
    bad("", P "expected 'NAME: METRIC OP NUMBER for DURATION', got an empty rule");
    bad("   # only a comment", P "expected 'NAME: METRIC OP NUMBER for DURATION', got an empty rule");
    bad("9x: m > 1 for 1m", P "expected an alert name ([a-zA-Z_][a-zA-Z0-9_]*) at the start, got '9x:'");
    bad("A m > 1 for 1m", P "expected ':' after the alert name 'A', got 'm'");
    bad("A-b: m > 1 for 1m", P "expected ':' after the alert name 'A', got '-b:'");
    bad("A: > 1 for 1m", P "expected a metric name after 'A:', got '>'");
    bad("A: 1m > 1 for 1m", P "expected a metric name after 'A:', got '1m'");
    bad("A: m{cpu=1} > 1 for 1m", P "expected a quoted value after 'cpu=', got '1}'");
    bad("A: m{cpu=~\"1\"} > 1 for 1m",
        P "regular expression matchers are not supported (use '=' or '!=' on 'cpu')");
    bad("A: m{cpu!~\"1\"} > 1 for 1m",
        P "regular expression matchers are not supported (use '=' or '!=' on 'cpu')");
    bad("A: m{cpu==\"1\"} > 1 for 1m", P "expected a quoted value after 'cpu=', got '=\"1\"}'");
    bad("A: m{cpu<\"1\"} > 1 for 1m", P "expected '=' or '!=' after the label 'cpu', got '<\"1\"}'");
    bad("A: m{cpu=\"1\" > 1 for 1m", P "expected ',' or '}' after the matcher on 'cpu', got '>'");
    bad("A: m{cpu=\"1} > 1 for 1m", P "the value of 'cpu' has no closing '\"'");
    bad("A: m{cpu=\"\\q\"} > 1 for 1m",
        P "unknown escape '\\q' in the value of 'cpu' (use \\\\, \\\" or \\n)");
    bad("A: m{\"x\"} > 1 for 1m", P "expected a label name or '}' in the matchers of 'm', got '\"x\"}'");
    bad("A: m{a=\"1\",,} > 1 for 1m", P "expected a label name or '}' in the matchers of 'm', got ',}'");
    bad("A: m{a=\"1\"", P "expected ',' or '}' after the matcher on 'a', got the end of the line");
    bad("A: m{__name__=\"m\"} > 1 for 1m", P "the label name '__name__' is reserved: names starting with "
                                             "'__' are Prometheus' own (write the metric name before '{')");
    bad("A: m = 1 for 1m", P "expected a comparison (> >= < <= == !=) after the metric, got '='");
    bad("A: m =< 1 for 1m", P "expected a comparison (> >= < <= == !=) after the metric, got '=<'");
    bad("A: m > x for 1m", P "expected a number after '>', got 'x'");
    bad("A: m > 0.8for 1m", P "expected a number after '>', got '0.8for'");
    bad("A: m > 80% for 1m", P "expected a number after '>', got '80%'");
    bad("A: m > 1e for 1m", P "expected a number after '>', got '1e'");
    bad("A: m > - for 1m", P "expected a number after '>', got '-'");
    bad("A: m > 1e999 for 1m", P "the number '1e999' after '>' is out of range");
    bad("A: m >= inf for 1m", P "expected a number after '>=', got 'inf'");
    bad("A: m > 1 for", P "expected a duration after 'for' (e.g. 30s, 5m, 1h), got the end of the line");
    bad("A: m > 1 for 5x", P "expected a duration after 'for' (e.g. 30s, 5m, 1h), got '5x': unknown unit 'x' "
                             "(use ns, us, ms, s, m, h, d)");
    bad("A: m > 1 for -1m",
        P "expected a duration after 'for' (e.g. 30s, 5m, 1h), got '-1m': negative values "
          "are not allowed");
    bad("A: m > 1 for 400d", P "the duration '400d' after 'for' is longer than 366d");
    bad("A: m > 1 for 1m keep_firing_for",
        P "expected a duration after 'keep_firing_for' (e.g. 30s, 5m, 1h), got "
          "the end of the line");
    bad("A: m > 1 for 1m severity high", P "expected critical, warning or info after 'severity', got 'high'");
    bad("A: m > 1 for 1m severity",
        P "expected critical, warning or info after 'severity', got the end of the line");
    bad("A: m > 1 for 1m severity info severity info", P "'severity' given twice");
    bad("A: m > 1 for 1m clear 0 clear 0", P "'clear' given twice");
    bad("A: m > 1 for 1m keep_firing_for 1s keep_firing_for 1s", P "'keep_firing_for' given twice");
    bad("A: m > 1 for 1m clear x", P "expected a number after 'clear', got 'x'");
    bad("A: m > 1 for 1m bogus",
        P "expected 'keep_firing_for DURATION', 'clear VALUE' or 'severity LEVEL', got "
          "'bogus'");
    bad("A: m > 1 for 1m keep_firing_for1s",
        P "expected 'keep_firing_for DURATION', 'clear VALUE' or 'severity "
          "LEVEL', got 'keep_firing_for1s'");
    bad("A: m > 0.8 for 1m clear 0.9",
        P "'clear 0.9' must be below the threshold 0.8: with '>' the alert clears "
          "when the value falls to the clear level");
    bad("A: m >= 0.8 for 1m clear 0.8",
        P "'clear 0.8' must be below the threshold 0.8: with '>=' the alert clears "
          "when the value falls to the clear level");
    bad("A: m < 10 for 1m clear 5",
        P "'clear 5' must be above the threshold 10: with '<' the alert clears when "
          "the value rises to the clear level");
    bad("A: m == 1 for 1m clear 0", P "'clear' needs an ordering comparison (> >= < <=), not '=='");
    bad("A: m != 1 for 1m clear 0", P "'clear' needs an ordering comparison (> >= < <=), not '!='");
    bad("A: m{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",i=\"1\"} > 1 for 1m",
        P "more than 8 label matchers");
    bad("A:m>1 for 1m#x", P "expected a duration after 'for' (e.g. 30s, 5m, 1h), got '1m#x': unknown unit "
                            "'m#x' (use ns, us, ms, s, m, h, d)");

    char long_name[80], line[300];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    snprintf(line, sizeof(line), "%s: m > 1 for 1m", long_name);
    bad(line, P "the alert name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer than 63 characters");
    char value[200];
    memset(value, 'v', 128);
    value[128] = '\0';
    snprintf(line, sizeof(line), "A: m{a=\"%s\"} > 1 for 1m", value);
    bad(line, P "the value of 'a' is longer than 127 bytes");
    char *huge = malloc(RULES_LINE_MAX + 2);
    memset(huge, ' ', RULES_LINE_MAX + 1);
    huge[RULES_LINE_MAX + 1] = '\0';
    bad(huge, P "the rule is longer than 4096 bytes");
    free(huge);
    bad("A: m > 1 for 1m \x01",
        P "expected 'keep_firing_for DURATION', 'clear VALUE' or 'severity LEVEL', got "
          "'\\x01'");
#undef P
}

static void refuses_duplicates_and_too_many(void **state)
{
    struct world *w = *state;
    struct pk_err e;
    add(w, "A: m > 1 for 1m");
    assert_int_equal(rules_add(&w->r, "A:m>1   for 60s severity warning", "f:2", &e), PK_EPARSE);
    assert_string_equal(msg(&e), "f:2: invalid alert rule: the same rule as an earlier one ('A')");
    add(w, "A: m > 2 for 1m severity critical"); /* same name, another rule: allowed */
    for (unsigned i = 2; i < RULES_MAX; i++) {
        char line[64];
        snprintf(line, sizeof(line), "R%u: m > %u for 1m", i, i);
        add(w, line);
    }
    assert_int_equal(rules_add(&w->r, "Z: m > 0 for 1m", "f:300", &e), PK_EUSAGE);
    assert_string_equal(msg(&e), "f:300: too many alert rules: at most 256 rules");
}

static void default_rules_parse(void **state)
{
    struct world *w = *state;
    size_t n = 0;
    for (; rules_default_text(n); n++) {
        /* written in canonical form, so the docs show exactly what runs */
        char buf[RULES_FORMAT_MAX];
        struct rule r = ok(rules_default_text(n));
        rules_format(&r, buf, sizeof(buf));
        assert_string_equal(buf, rules_default_text(n));
    }
    assert_int_equal(n, 6);
    struct pk_err e;
    add(w, "CpuHigh: perfkit_cpu_utilization_ratio{cpu=\"\"} > 0.95 for 1m severity critical");
    assert_int_equal(rules_add_defaults(&w->r, &e), 0);
    assert_int_equal(w->r.nrules, 6);
    assert_true(w->r.rule[0].threshold == 0.95); /* the user's CpuHigh replaced the default one */
    const char *names[] = { "CpuHigh",     "MemoryHigh",   "FilesystemFull",
                            "ProcessLeak", "ProbeFailing", "ProbeSlow" };
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(w->r.rule[i].name, names[i]);
    /* again: nothing new */
    assert_int_equal(rules_add_defaults(&w->r, &e), 0);
    assert_int_equal(w->r.nrules, 6);
}

static void formats_values(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(rules_format_number(0.8, b, sizeof(b)), "0.8");
    assert_string_equal(rules_format_number(0.1 + 0.2, b, sizeof(b)), "0.30000000000000004");
    assert_string_equal(rules_format_number(-0.0, b, sizeof(b)), "0");
    assert_string_equal(rules_format_number(5, b, sizeof(b)), "5");
    assert_string_equal(rules_format_number(10, b, sizeof(b)), "10");
    assert_string_equal(rules_format_number(-1500, b, sizeof(b)), "-1500");
    assert_string_equal(rules_format_number(1e-4, b, sizeof(b)), "0.0001");
    assert_string_equal(rules_format_number(2.5e-7, b, sizeof(b)), "2.5e-07");
    assert_string_equal(rules_format_number(1e15, b, sizeof(b)), "1e+15");
    assert_string_equal(rules_format_duration(0, b, sizeof(b)), "0s");
    assert_string_equal(rules_format_duration(3723004, b, sizeof(b)), "1h2m3s4ms");
    assert_string_equal(rules_format_duration(86400000, b, sizeof(b)), "1d");
    assert_string_equal(rules_format_time(1795496400000, b, sizeof(b)), "2026-11-24T05:00:00Z");
    assert_string_equal(rules_format_time(1795496400999, b, sizeof(b)), "2026-11-24T05:00:00Z");
    assert_string_equal(rules_format_time(-1, b, sizeof(b)), "1969-12-31T23:59:59Z");
}

/* ---- evaluation ---- */

static void for_pending_then_firing_then_resolved(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 1 for 10s");
    int64_t t0 = 1795496400000;
    tick(w, t0, 2);
    assert_int_equal(w->ev.n, 0);
    const struct rules_alert *a = only_alert(w);
    assert_int_equal(a->state, RULES_PENDING);
    assert_int_equal(a->active_since_ms, t0);
    assert_string_equal(a->key, "m");
    assert_true(a->value == 2);
    assert_true(a->rule->threshold == 1);

    tick(w, t0 + 9999, 3);
    assert_int_equal(w->ev.n, 0);
    assert_int_equal(only_alert(w)->state, RULES_PENDING);
    assert_true(only_alert(w)->value == 3);

    tick(w, t0 + 10 * S, 4);
    one_event(w, RULES_FIRING);
    a = only_alert(w);
    assert_int_equal(a->state, RULES_FIRING);
    assert_int_equal(a->fired_at_ms, t0 + 10 * S);
    assert_int_equal(a->active_since_ms, t0);
    const struct rules_event *x = &w->ev.v[0];
    assert_string_equal(x->rule.name, "A");
    assert_string_equal(x->key, "m");
    assert_true(x->value == 4 && x->present);
    assert_int_equal(x->active_since_ms, t0);
    assert_int_equal(x->fired_at_ms, t0 + 10 * S);
    assert_int_equal(x->resolved_at_ms, 0);

    tick(w, t0 + 11 * S, 5); /* still firing: reported once */
    assert_int_equal(w->ev.n, 0);
    assert_int_equal(only_alert(w)->state, RULES_FIRING);

    tick(w, t0 + 12 * S, 1); /* 1 > 1 is false */
    one_event(w, RULES_RESOLVED);
    x = &w->ev.v[0];
    assert_true(x->value == 1 && x->present);
    assert_int_equal(x->resolved_at_ms, t0 + 12 * S);
    assert_int_equal(x->fired_at_ms, t0 + 10 * S);
    no_alerts(w);

    tick(w, t0 + 13 * S, 0);
    assert_int_equal(w->ev.n, 0);
    no_alerts(w);
}

static void pending_that_stops_goes_back_silently(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 1 for 10s");
    tick(w, 0, 2);
    tick(w, 9 * S, 0);
    assert_int_equal(w->ev.n, 0);
    no_alerts(w);
    tick(w, 10 * S, 2); /* starts over */
    assert_int_equal(only_alert(w)->active_since_ms, 10 * S);
    tick(w, 19 * S, 2);
    assert_int_equal(w->ev.n, 0);
    tick(w, 20 * S, 2);
    one_event(w, RULES_FIRING);
}

static void for_zero_fires_at_once(void **state)
{
    struct world *w = *state;
    add(w, "A: m == 0 for 0s severity critical");
    tick(w, 5 * S, 1);
    no_alerts(w);
    tick(w, 6 * S, 0);
    one_event(w, RULES_FIRING);
    assert_int_equal(w->ev.v[0].active_since_ms, 6 * S);
    assert_int_equal(w->ev.v[0].fired_at_ms, 6 * S);
    assert_int_equal(w->ev.v[0].rule.severity, RULES_CRITICAL);
    tick(w, 7 * S, 1);
    one_event(w, RULES_RESOLVED);
}

static void keep_firing_for(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 1 for 0s keep_firing_for 30s");
    tick(w, 0, 2);
    one_event(w, RULES_FIRING);
    tick(w, 10 * S, 0); /* false since 10 s */
    assert_int_equal(w->ev.n, 0);
    assert_int_equal(only_alert(w)->state, RULES_FIRING);
    assert_int_equal(only_alert(w)->false_since_ms, 10 * S);
    tick(w, 20 * S, 2); /* true again: the clock restarts */
    assert_int_equal(w->ev.n, 0);
    tick(w, 30 * S, 0);
    tick(w, 59 * S, 0);
    assert_int_equal(w->ev.n, 0);
    assert_int_equal(only_alert(w)->state, RULES_FIRING);
    assert_int_equal(only_alert(w)->fired_at_ms, 0);
    tick(w, 60 * S, NAN); /* 30 s false, the series gone too */
    one_event(w, RULES_RESOLVED);
    assert_false(w->ev.v[0].present);
    assert_true(w->ev.v[0].value == 0); /* the last value seen */
    no_alerts(w);
}

static void keep_firing_does_not_hold_pending(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 1 for 10s keep_firing_for 1m");
    tick(w, 0, 2);
    tick(w, 5 * S, 0);
    no_alerts(w);
    assert_int_equal(w->ev.n, 0);
}

static void clear_is_hysteresis(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 0.8 for 0s clear 0.7");
    tick(w, 0, 0.75); /* between the levels, not active: nothing */
    no_alerts(w);
    tick(w, S, 0.85);
    one_event(w, RULES_FIRING);
    tick(w, 2 * S, 0.75); /* below the threshold, above clear: still firing */
    assert_int_equal(w->ev.n, 0);
    assert_int_equal(only_alert(w)->state, RULES_FIRING);
    tick(w, 3 * S, 0.7000001);
    assert_int_equal(w->ev.n, 0);
    tick(w, 4 * S, 0.7); /* 0.7 > 0.7 is false: cleared */
    one_event(w, RULES_RESOLVED);
    tick(w, 5 * S, 0.79); /* needs the threshold again */
    no_alerts(w);
    assert_int_equal(w->ev.n, 0);
}

static void clear_holds_pending_too(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 0.8 for 20s clear 0.7");
    tick(w, 0, 0.85);
    tick(w, 10 * S, 0.75);
    assert_int_equal(only_alert(w)->state, RULES_PENDING);
    tick(w, 20 * S, 0.71);
    one_event(w, RULES_FIRING);
    assert_int_equal(w->ev.v[0].active_since_ms, 0);
}

static void clear_below(void **state)
{
    struct world *w = *state;
    add(w, "Low: m < 0.2 for 0s clear 0.3");
    tick(w, 0, 0.1);
    one_event(w, RULES_FIRING);
    tick(w, S, 0.25);
    assert_int_equal(w->ev.n, 0);
    tick(w, 2 * S, 0.3);
    one_event(w, RULES_RESOLVED);
}

static void nan_is_false(void **state)
{
    struct world *w = *state;
    add(w, "A: m != 1 for 0s");
    tick(w, 0, NAN);
    no_alerts(w);
    metric_set_clear(&w->set);
    put(&w->set, "m", NAN, NULL);
    assert_int_equal(rules_eval(&w->r, &w->set, S, &w->ev), 0);
    no_alerts(w);
    tick(w, 2 * S, 0);
    one_event(w, RULES_FIRING);
    metric_set_clear(&w->set);
    put(&w->set, "m", NAN, NULL);
    assert_int_equal(rules_eval(&w->r, &w->set, 3 * S, &w->ev), 0);
    one_event(w, RULES_RESOLVED);
    assert_true(w->ev.v[0].present && isnan(w->ev.v[0].value));
}

static void fs_sample(struct world *w, int64_t t, double root, double home, double boot)
{
    metric_set_clear(&w->set);
    if (!isnan(root))
        put(&w->set, "perfkit_filesystem_used_ratio", root, "device", "/dev/sda1", "mountpoint", "/",
            "fstype", "ext4", NULL);
    if (!isnan(home))
        put(&w->set, "perfkit_filesystem_used_ratio", home, "device", "/dev/sda2", "mountpoint", "/home",
            "fstype", "xfs", NULL);
    if (!isnan(boot))
        put(&w->set, "perfkit_filesystem_used_ratio", boot, "device", "/dev/sda3", "mountpoint", "/boot",
            "fstype", "vfat", NULL);
    put(&w->set, "other", 1, NULL);
    assert_int_equal(rules_eval(&w->r, &w->set, t, &w->ev), 0);
}

static void one_alert_per_series(void **state)
{
    struct world *w = *state;
    add(w, "FilesystemFull: perfkit_filesystem_used_ratio{mountpoint!=\"/boot\"} > 0.8 for 5m clear 0.78");
    fs_sample(w, 0, 0.9, 0.5, 0.99);
    size_t n;
    const struct rules_alert *a = rules_alerts(&w->r, &n);
    assert_int_equal(n, 1);
    assert_string_equal(
        a[0].key, "perfkit_filesystem_used_ratio{device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"}");
    assert_int_equal(a[0].nlabels, 3);
    assert_string_equal(a[0].labels[0].name, "device");
    assert_string_equal(a[0].labels[1].value, "/");
    fs_sample(w, 60 * S, 0.9, 0.85, 0.99);
    a = rules_alerts(&w->r, &n);
    assert_int_equal(n, 2);
    assert_int_equal(a[1].active_since_ms, 60 * S);
    fs_sample(w, 300 * S, 0.9, 0.85, 0.99); /* / fires, /home has 4 more minutes */
    one_event(w, RULES_FIRING);
    assert_string_equal(w->ev.v[0].labels[1].value, "/");
    assert_string_equal(w->ev.v[0].labels[2].value, "ext4");
    fs_sample(w, 360 * S, NAN, 0.79, 0.99); /* / unmounted: resolved; /home held by clear */
    assert_int_equal(w->ev.n, 2);
    assert_int_equal(w->ev.v[0].state, RULES_RESOLVED);
    assert_false(w->ev.v[0].present);
    assert_int_equal(w->ev.v[1].state, RULES_FIRING);
    assert_string_equal(w->ev.v[1].labels[1].value, "/home");
    a = rules_alerts(&w->r, &n);
    assert_int_equal(n, 1);
    assert_true(a[0].value == 0.79);
}

static void absent_label_matcher(void **state)
{
    struct world *w = *state;
    add(w, "CpuHigh: perfkit_cpu_utilization_ratio{cpu=\"\"} > 0.8 for 0s");
    add(w, "CoreHigh: perfkit_cpu_utilization_ratio{cpu!=\"\"} > 0.8 for 0s");
    metric_set_clear(&w->set);
    put(&w->set, "perfkit_cpu_utilization_ratio", 0.5, NULL);
    put(&w->set, "perfkit_cpu_utilization_ratio", 0.95, "cpu", "0", NULL);
    put(&w->set, "perfkit_cpu_utilization_ratio", 0.1, "cpu", "1", NULL);
    assert_int_equal(rules_eval(&w->r, &w->set, 0, &w->ev), 0);
    one_event(w, RULES_FIRING);
    assert_string_equal(w->ev.v[0].rule.name, "CoreHigh");
    assert_string_equal(w->ev.v[0].key, "perfkit_cpu_utilization_ratio{cpu=\"0\"}");
    metric_set_clear(&w->set);
    put(&w->set, "perfkit_cpu_utilization_ratio", 0.93, NULL);
    put(&w->set, "perfkit_cpu_utilization_ratio", 0.95, "cpu", "0", NULL);
    assert_int_equal(rules_eval(&w->r, &w->set, S, &w->ev), 0);
    one_event(w, RULES_FIRING);
    assert_string_equal(w->ev.v[0].rule.name, "CpuHigh");
    assert_string_equal(w->ev.v[0].key, "perfkit_cpu_utilization_ratio");
    assert_int_equal(w->ev.v[0].nlabels, 0);
}

static void same_series_two_rules(void **state)
{
    struct world *w = *state;
    add(w, "DiskFull: m > 0.8 for 0s severity warning");
    add(w, "DiskFull: m > 0.95 for 0s severity critical");
    tick(w, 0, 0.97);
    assert_int_equal(w->ev.n, 2);
    assert_int_equal(w->ev.v[0].rule.severity, RULES_WARNING);
    assert_int_equal(w->ev.v[1].rule.severity, RULES_CRITICAL);
    tick(w, S, 0.9);
    one_event(w, RULES_RESOLVED);
    assert_int_equal(w->ev.v[0].rule.severity, RULES_CRITICAL);
}

static void reload_keeps_timers(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 1 for 10s");
    add(w, "Gone: m > 0 for 0s");
    add(w, "Changed: m > 1 for 10s severity warning");
    tick(w, 0, 2);
    assert_int_equal(w->ev.n, 1); /* Gone fires */
    size_t n;
    rules_alerts(&w->r, &n);
    assert_int_equal(n, 3);

    /* the new file: A written differently but the same; Changed changed; Gone removed */
    struct rules next;
    struct pk_err e;
    rules_init(&next);
    assert_int_equal(rules_add(&next, "New: m > 100 for 0s", "f:1", &e), 0);
    assert_int_equal(rules_add(&next, "A :  m>1 for 10000ms severity warning  # same", "f:2", &e), 0);
    assert_int_equal(rules_add(&next, "Changed: m > 1 for 10s severity critical", "f:3", &e), 0);
    rules_events_clear(&w->ev);
    assert_int_equal(rules_replace(&w->r, &next, 5 * S, &w->ev), 0);
    assert_int_equal(next.nrules, 0);
    one_event(w, RULES_RESOLVED);
    assert_string_equal(w->ev.v[0].rule.name, "Gone");
    assert_int_equal(w->ev.v[0].resolved_at_ms, 5 * S);
    const struct rules_alert *a = rules_alerts(&w->r, &n);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].rule->name, "A");
    assert_ptr_equal(a[0].rule, &w->r.rule[1]);
    assert_int_equal(a[0].active_since_ms, 0);

    tick(w, 9 * S, 2);
    assert_int_equal(w->ev.n, 0);
    tick(w, 10 * S, 2); /* fires on the original schedule; Changed starts over */
    one_event(w, RULES_FIRING);
    assert_string_equal(w->ev.v[0].rule.name, "A");
    a = rules_alerts(&w->r, &n);
    assert_int_equal(n, 2);
    assert_string_equal(a[1].rule->name, "Changed");
    assert_int_equal(a[1].active_since_ms, 9 * S);
    rules_destroy(&next);
}

static void add_after_alerts_keeps_pointers(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 1 for 10s");
    tick(w, 0, 2);
    for (int i = 0; i < 40; i++) { /* grows the rule array under the alert */
        char line[64];
        snprintf(line, sizeof(line), "R%d: other > %d for 1m", i, i);
        add(w, line);
    }
    assert_ptr_equal(only_alert(w)->rule, &w->r.rule[0]);
    tick(w, 10 * S, 2);
    one_event(w, RULES_FIRING);
}

static void exports_alert_counts(void **state)
{
    struct world *w = *state;
    add(w, "FilesystemFull: perfkit_filesystem_used_ratio > 0.8 for 1m");
    add(w, "FilesystemFull: perfkit_filesystem_used_ratio > 0.95 for 0s severity critical");
    add(w, "Quiet: nothing > 1 for 0s");
    fs_sample(w, 0, 0.9, 0.99, 0.1);
    fs_sample(w, 60 * S, 0.9, 0.99, 0.1);
    struct metric_set out;
    struct pk_err e;
    metric_set_init(&out);
    assert_int_equal(rules_export(&w->r, &out, &e), 0);
    const struct metric_family *f = metric_find_family(&out, "perfkit_alerts");
    assert_non_null(f);
    assert_int_equal(f->type, METRIC_GAUGE);
    assert_int_equal(f->n, 4);
    struct metric_label l[2] = { { "alertname", "FilesystemFull" }, { "alertstate", "firing" } };
    assert_true(metric_find(&out, "perfkit_alerts", l, 2)->value == 3); /* / and /home, /home twice */
    l[1].value = "pending";
    assert_true(metric_find(&out, "perfkit_alerts", l, 2)->value == 0);
    l[0].value = "Quiet";
    assert_true(metric_find(&out, "perfkit_alerts", l, 2)->value == 0);
    const struct metric_family *u = metric_find_family(&out, "perfkit_alerts_untracked_total");
    assert_non_null(u);
    assert_int_equal(u->type, METRIC_COUNTER);
    metric_set_destroy(&out);
}

static void caps_active_alerts(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 0 for 1m");
    metric_set_clear(&w->set);
    uint32_t fam;
    struct pk_err e;
    assert_int_equal(metric_family_begin(&w->set, "m", "h", METRIC_GAUGE, &fam, &e), 0);
    for (unsigned i = 0; i < RULES_ALERTS_MAX + 10; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%u", i);
        struct metric_label l = { "id", id };
        assert_int_equal(metric_add(&w->set, fam, &l, 1, 1, &e), 0);
    }
    assert_int_equal(rules_eval(&w->r, &w->set, 0, &w->ev), 0);
    size_t n;
    rules_alerts(&w->r, &n);
    assert_int_equal(n, RULES_ALERTS_MAX);
    assert_int_equal(w->r.untracked, 10);
}

static void alerts_as_json(void **state)
{
    struct world *w = *state;
    add(w, "CpuHigh: perfkit_cpu_utilization_ratio{cpu=\"\"} > 0.8 for 1m clear 0.7");
    metric_set_clear(&w->set);
    put(&w->set, "perfkit_cpu_utilization_ratio", 0.93, NULL);
    assert_int_equal(rules_eval(&w->r, &w->set, 1795496400000, &w->ev), 0);
    json_t *j = rules_alerts_json(&w->r);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    assert_string_equal(
        text, "[{\"alertname\":\"CpuHigh\",\"state\":\"pending\",\"severity\":\"warning\","
              "\"series\":\"perfkit_cpu_utilization_ratio\",\"labels\":{},\"value\":0.93,\"op\":\">\","
              "\"threshold\":0.8,\"clear\":0.7,\"for\":\"1m\",\"active_since\":\"2026-11-24T05:00:00Z\","
              "\"fired_at\":null,\"rule\":\"CpuHigh: perfkit_cpu_utilization_ratio{cpu=\\\"\\\"} > 0.8 "
              "for 1m clear 0.7 severity warning\"}]");
    free(text);
    json_decref(j);
}

static void empty_sample_resolves(void **state)
{
    struct world *w = *state;
    add(w, "A: m > 1 for 0s");
    tick(w, 0, 2);
    one_event(w, RULES_FIRING);
    assert_int_equal(rules_eval(&w->r, NULL, S, &w->ev), 0);
    one_event(w, RULES_RESOLVED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_fields),
        cmocka_unit_test(formats_canonically),
        cmocka_unit_test(refuses_with_exact_messages),
        cmocka_unit_test(formats_values),
        cmocka_unit_test_setup_teardown(refuses_duplicates_and_too_many, setup, teardown),
        cmocka_unit_test_setup_teardown(default_rules_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(for_pending_then_firing_then_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_that_stops_goes_back_silently, setup, teardown),
        cmocka_unit_test_setup_teardown(for_zero_fires_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(keep_firing_for, setup, teardown),
        cmocka_unit_test_setup_teardown(keep_firing_does_not_hold_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(clear_is_hysteresis, setup, teardown),
        cmocka_unit_test_setup_teardown(clear_holds_pending_too, setup, teardown),
        cmocka_unit_test_setup_teardown(clear_below, setup, teardown),
        cmocka_unit_test_setup_teardown(nan_is_false, setup, teardown),
        cmocka_unit_test_setup_teardown(one_alert_per_series, setup, teardown),
        cmocka_unit_test_setup_teardown(absent_label_matcher, setup, teardown),
        cmocka_unit_test_setup_teardown(same_series_two_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_keeps_timers, setup, teardown),
        cmocka_unit_test_setup_teardown(add_after_alerts_keeps_pointers, setup, teardown),
        cmocka_unit_test_setup_teardown(exports_alert_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(caps_active_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(alerts_as_json, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_sample_resolves, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
