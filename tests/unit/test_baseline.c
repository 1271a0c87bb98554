#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/baseline.h"

#define BENCH_FIXTURES PK_FIXTURES "/bench/"

static const char *load_error(const char *file)
{
    static char msg[1024]; /* test-only convenience */
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = baseline_load(file, &b, &e);
    assert_int_equal(rc, PK_EPARSE);
    assert_int_equal(e.code, PK_EPARSE);
    assert_int_equal(b.n, 0);
    assert_null(b.entries);
    baseline_destroy(&b);
    return pk_err_str(&e, msg, sizeof(msg));
}

static const char *parse_error(const char *text)
{
    static char msg[1024];
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    assert_true(baseline_parse(text, strlen(text), "base.json", &b, &e) < 0);
    assert_int_equal(b.n, 0);
    baseline_destroy(&b);
    return pk_err_str(&e, msg, sizeof(msg));
}

static void real_hyperfine_export_loads(void **state)
{
    (void)state;
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(baseline_load(BENCH_FIXTURES "hyperfine-1.15.json", &b, &e), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.entries[0].command, "seq 1");
    assert_string_equal(b.entries[1].command, "seq 100000");
    assert_int_equal(b.entries[0].ntimes, 20);
    assert_int_equal(b.entries[1].ntimes, 20);
    /* First and last times as the file has them. */
    assert_true(b.entries[0].times[0] == 0.001076305);
    assert_true(b.entries[0].times[19] == 0.0011253880000000002);

    const struct baseline_entry *slow = baseline_find(&b, "seq 100000");
    assert_ptr_equal(slow, &b.entries[1]);
    assert_null(baseline_find(&b, "seq 10"));
    assert_null(baseline_find(&b, NULL));

    /* "seq 100000" measured against "seq 1" as its baseline is a regression. */
    struct bench_cmd cur;
    memset(&cur, 0, sizeof(cur));
    cur.name = "seq 1";
    for (size_t i = 0; i < slow->ntimes; i++) {
        struct bench_run r;
        memset(&r, 0, sizeof(r));
        r.wall_s = slow->times[i];
        assert_int_equal(bench_cmd_add_run(&cur, &r), 0);
    }
    struct bench_comparison cmp;
    assert_int_equal(baseline_compare(baseline_find(&b, "seq 1"), &cur, BASELINE_DEFAULT_THRESHOLD, &cmp, &e),
                     0);
    assert_int_equal(cmp.verdict, BENCH_SLOWER);
    assert_true(cmp.ratio_median > 1.2);
    assert_true(cmp.mwu.p < 1e-6);
    /* And against itself it is the same. */
    assert_int_equal(baseline_compare(slow, &cur, BASELINE_DEFAULT_THRESHOLD, &cmp, &e), 0);
    assert_int_equal(cmp.verdict, BENCH_SAME);
    assert_true(cmp.ratio_median == 1.0);
    free(cur.runs);
    baseline_destroy(&b);
    baseline_destroy(&b);
}

static void malformed_files_name_file_element_and_problem(void **state)
{
    (void)state;
    assert_string_equal(load_error(BENCH_FIXTURES "bad-results-not-array.json"),
                        BENCH_FIXTURES "bad-results-not-array.json: results: expected an array");
    assert_string_equal(load_error(BENCH_FIXTURES "bad-time-string.json"),
                        BENCH_FIXTURES "bad-time-string.json: results[1].times[2]: "
                                       "expected a number");
    assert_string_equal(load_error(BENCH_FIXTURES "bad-negative-time.json"),
                        BENCH_FIXTURES "bad-negative-time.json: results[0].times[1]: "
                                       "expected a time >= 0, got -0.001");
    assert_string_equal(load_error(BENCH_FIXTURES "bad-missing-command.json"),
                        BENCH_FIXTURES "bad-missing-command.json: results[1].command: missing");
}

static void not_json_points_at_line_and_column(void **state)
{
    (void)state;
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(baseline_load(BENCH_FIXTURES "bad-not-json.json", &b, &e), PK_EPARSE);
    assert_int_equal(b.n, 0);
    /* The file stops inside the times array, after line 5: jansson's message
     * with the position where the text ended. */
    char msg[1024];
    assert_string_equal(pk_err_str(&e, msg, sizeof(msg)),
                        BENCH_FIXTURES "bad-not-json.json:6:1: ']' expected near end of file");
    baseline_destroy(&b);
}

static void missing_file(void **state)
{
    (void)state;
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(baseline_load(BENCH_FIXTURES "no-such-file.json", &b, &e), -ENOENT);
    assert_int_equal(b.n, 0);
    assert_non_null(strstr(e.on, "no-such-file.json"));
}

static void every_shape_error(void **state)
{
    (void)state;
    assert_string_equal(parse_error("[1, 2]"), "base.json: top level: expected an object");
    assert_string_equal(parse_error("{\"result\": []}"), "base.json: results: missing");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\", \"times\": [1]}, 7]}"),
                        "base.json: results[1]: expected an object");
    assert_string_equal(parse_error("{\"results\": [{\"command\": 5, \"times\": [1]}]}"),
                        "base.json: results[0].command: expected a string");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\"}]}"),
                        "base.json: results[0].times: missing");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\", \"times\": {}}]}"),
                        "base.json: results[0].times: expected an array");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\", \"times\": []}]}"),
                        "base.json: results[0].times: expected at least one time");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\", \"times\": [1, null]}]}"),
                        "base.json: results[0].times[1]: expected a number");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\", \"times\": [true]}]}"),
                        "base.json: results[0].times[0]: expected a number");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\", \"times\": [-1e-9]}]}"),
                        "base.json: results[0].times[0]: expected a time >= 0, got -1e-09");
}

static void minimal_and_empty_files(void **state)
{
    (void)state;
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    /* Only command and times are needed; other keys, whatever they hold, are ignored.
     * Integers are times too. */
    const char *text = "{\"results\": [{\"command\": \"a\", \"times\": [1, 0.5, 0],"
                       " \"mean\": \"not read\"}], \"other\": null}";
    assert_int_equal(baseline_parse(text, strlen(text), "min.json", &b, &e), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.entries[0].ntimes, 3);
    assert_true(b.entries[0].times[0] == 1.0 && b.entries[0].times[1] == 0.5 && b.entries[0].times[2] == 0.0);
    baseline_destroy(&b);
    text = "{\"results\": []}";
    assert_int_equal(baseline_parse(text, strlen(text), "empty.json", &b, &e), 0);
    assert_int_equal(b.n, 0);
    assert_null(baseline_find(&b, "a"));
    baseline_destroy(&b);
    /* Not NUL-terminated: only len bytes are read. */
    char buf[] = "{\"results\": []}garbage";
    assert_int_equal(baseline_parse(buf, 15, "cut.json", &b, &e), 0);
    baseline_destroy(&b);
}

static void duplicate_commands_find_the_first(void **state)
{
    (void)state;
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    const char *text = "{\"results\": [{\"command\": \"x\", \"times\": [1]},"
                       " {\"command\": \"x\", \"times\": [2]}]}";
    assert_int_equal(baseline_parse(text, strlen(text), "dup.json", &b, &e), 0);
    assert_ptr_equal(baseline_find(&b, "x"), &b.entries[0]);
    /* Several commands of one name (-n job -n job) meet the results of that
     * name in order, as --save-baseline wrote them. */
    assert_ptr_equal(baseline_find_nth(&b, "x", 0), &b.entries[0]);
    assert_ptr_equal(baseline_find_nth(&b, "x", 1), &b.entries[1]);
    assert_null(baseline_find_nth(&b, "x", 2));
    assert_null(baseline_find_nth(&b, "y", 0));
    baseline_destroy(&b);
}

static void compare_verdicts_and_errors(void **state)
{
    (void)state;
    struct baseline b;
    struct pk_err e;
    pk_err_clear(&e);
    const char *text = "{\"results\": [{\"command\": \"w\", \"times\": [0.100, 0.1001, 0.1002,"
                       " 0.1003, 0.1004, 0.1005, 0.1006, 0.1007, 0.1008, 0.1009]},"
                       " {\"command\": \"zero\", \"times\": [0, 0, 0]}]}";
    assert_int_equal(baseline_parse(text, strlen(text), "b.json", &b, &e), 0);
    const struct baseline_entry *w = baseline_find(&b, "w");

    struct bench_cmd cur;
    memset(&cur, 0, sizeof(cur));
    cur.name = "w";
    struct bench_comparison cmp;
    assert_int_equal(baseline_compare(w, &cur, 0.02, &cmp, &e), -EINVAL);
    char msg[512];
    assert_string_equal(pk_err_str(&e, msg, sizeof(msg)),
                        "w: cannot compare with the baseline: no runs were measured");

    for (size_t i = 0; i < w->ntimes; i++) {
        struct bench_run r;
        memset(&r, 0, sizeof(r));
        r.wall_s = w->times[i] * 1.10;
        assert_int_equal(bench_cmd_add_run(&cur, &r), 0);
    }
    assert_int_equal(baseline_compare(w, &cur, BASELINE_DEFAULT_THRESHOLD, &cmp, &e), 0);
    assert_int_equal(cmp.verdict, BENCH_SLOWER);
    /* A 10 % threshold is not exceeded by a 10 % change. */
    assert_int_equal(baseline_compare(w, &cur, 0.10, &cmp, &e), 0);
    assert_int_equal(cmp.verdict, BENCH_SAME);
    for (size_t i = 0; i < cur.nruns; i++)
        cur.runs[i].wall_s = w->times[i] * 1.01;
    assert_int_equal(baseline_compare(w, &cur, BASELINE_DEFAULT_THRESHOLD, &cmp, &e), 0);
    assert_int_equal(cmp.verdict, BENCH_SAME);
    for (size_t i = 0; i < cur.nruns; i++)
        cur.runs[i].wall_s = w->times[i] * 0.8;
    assert_int_equal(baseline_compare(w, &cur, BASELINE_DEFAULT_THRESHOLD, &cmp, &e), 0);
    assert_int_equal(cmp.verdict, BENCH_FASTER);

    assert_int_equal(baseline_compare(w, &cur, -0.5, &cmp, &e), -EINVAL);
    assert_int_equal(baseline_compare(w, &cur, NAN, &cmp, &e), -EINVAL);
    assert_int_equal(baseline_compare(baseline_find(&b, "zero"), &cur, 0.02, &cmp, &e), -EDOM);
    assert_string_equal(pk_err_str(&e, msg, sizeof(msg)),
                        "w: cannot compare with the baseline: the baseline's median time is 0, "
                        "so no ratio exists");
    free(cur.runs);
    baseline_destroy(&b);
}

/* perfkit's per-run CPU times and instruction counts are read for the gate
 * metrics; a hyperfine file has neither. */
static void per_run_cpu_and_instructions(void **state)
{
    (void)state;
    struct baseline b;
    struct pk_err e;
    char msg[1024];
    pk_err_clear(&e);
    const char *text =
        "{\"results\": ["
        "{\"command\": \"p\", \"times\": [1, 2], \"user_times\": [0.25, 0.5], \"system_times\": [0.125, 0],"
        " \"counters\": {\"instructions\": [1000, 3000], \"cycles\": [null, null]}},"
        "{\"command\": \"q\", \"times\": [1, 2], \"user_times\": [0.25, 0.5], \"system_times\": [0, 0],"
        " \"counters\": {\"instructions\": [1000, null]}},"
        "{\"command\": \"h\", \"times\": [1]}]}";
    assert_int_equal(baseline_parse(text, strlen(text), "x.json", &b, &e), 0);
    assert_int_equal(b.n, 3);
    const struct baseline_entry *p = &b.entries[0], *q = &b.entries[1], *h = &b.entries[2];
    assert_non_null(p->cpu);
    assert_true(p->cpu[0] == 0.375 && p->cpu[1] == 0.5);
    assert_non_null(p->instructions);
    assert_true(p->instructions[0] == 1000 && p->instructions[1] == 3000);
    assert_ptr_equal(baseline_values(p, BENCH_METRIC_WALL), p->times);
    assert_ptr_equal(baseline_values(p, BENCH_METRIC_CPU), p->cpu);
    assert_null(q->instructions); /* a run the PMU did not count */
    assert_non_null(q->cpu);
    assert_null(h->cpu);
    assert_null(h->instructions);

    /* The gate's check before anything runs. */
    const char *names[] = { "p", "h" };
    assert_int_equal(baseline_check(&b, "x.json", names, 2, BENCH_METRIC_WALL, true, &e), 0);
    assert_int_equal(baseline_check(&b, "x.json", names, 2, BENCH_METRIC_CPU, true, &e), -ENODATA);
    assert_string_equal(pk_err_str(&e, msg, sizeof(msg)),
                        "x.json: cannot gate on this baseline: the result for 'h' has no per-run CPU times "
                        "(user_times, system_times), which --gate-metric cpu needs: save the baseline with "
                        "perfkit bench");
    const char *qn[] = { "q" };
    assert_int_equal(baseline_check(&b, "x.json", qn, 1, BENCH_METRIC_INSTRUCTIONS, true, &e), -ENODATA);
    assert_non_null(strstr(pk_err_str(&e, msg, sizeof(msg)), "counters.instructions"));
    const char *missing[] = { "p", "renamed" };
    assert_int_equal(baseline_check(&b, "x.json", missing, 2, BENCH_METRIC_WALL, true, &e), -ENODATA);
    assert_string_equal(
        pk_err_str(&e, msg, sizeof(msg)),
        "x.json: cannot gate on this baseline: no result for command 'renamed' (it holds 'p', "
        "'q', 'h'); name the command with -n as in the baseline, or save a new baseline");
    assert_int_equal(baseline_check(&b, "x.json", missing, 2, BENCH_METRIC_WALL, false, &e), 0);
    const char *twice[] = { "p", "p" };
    assert_int_equal(baseline_check(&b, "x.json", twice, 2, BENCH_METRIC_WALL, true, &e), -ENODATA);
    assert_non_null(
        strstr(pk_err_str(&e, msg, sizeof(msg)), "command 'p' is there 1 time(s), this run has it 2"));

    /* CPU time per run is compared when asked: the same wall times, twice the CPU. */
    struct bench_cmd cur;
    memset(&cur, 0, sizeof(cur));
    cur.name = "p";
    for (int i = 0; i < 12; i++) {
        struct bench_run r;
        memset(&r, 0, sizeof(r));
        r.wall_s = 1 + (i % 2);
        r.user_s = 2 * (i % 2 ? 0.5 : 0.25) + 0.001 * i;
        r.sys_s = i % 2 ? 0 : 0.25;
        assert_int_equal(bench_cmd_add_run(&cur, &r), 0);
    }
    const char *many = "{\"results\": [{\"command\": \"p\", \"times\": [1,2,1,2,1,2,1,2,1,2,1,2],"
                       " \"user_times\": [0.25,0.5,0.25,0.5,0.25,0.5,0.25,0.5,0.25,0.5,0.25,0.5],"
                       " \"system_times\": [0.125,0,0.125,0,0.125,0,0.125,0,0.125,0,0.125,0]}]}";
    struct baseline b2;
    assert_int_equal(baseline_parse(many, strlen(many), "m.json", &b2, &e), 0);
    struct bench_comparison cmp;
    assert_int_equal(baseline_compare_metric(&b2.entries[0], &cur, BENCH_METRIC_CPU, 0.02, &cmp, &e), 0);
    assert_int_equal(cmp.verdict, BENCH_SLOWER);
    assert_int_equal(baseline_compare_metric(&b2.entries[0], &cur, BENCH_METRIC_WALL, 0.02, &cmp, &e), 0);
    assert_int_equal(cmp.verdict, BENCH_SAME);
    assert_int_equal(baseline_compare_metric(&b2.entries[0], &cur, BENCH_METRIC_INSTRUCTIONS, 0.02, &cmp, &e),
                     -ENODATA);
    assert_int_equal(baseline_compare_metric(&b.entries[0], &cur, BENCH_METRIC_INSTRUCTIONS, 0.02, &cmp, &e),
                     -ENODATA);
    assert_non_null(strstr(pk_err_str(&e, msg, sizeof(msg)), "a run has no instruction count"));
    /* Instructions: ten times the baseline's count in every run is slower. */
    const char *ins =
        "{\"results\": [{\"command\": \"p\", \"times\": [1,1,1,1,1,1,1,1,1,1,1,1],"
        " \"counters\": {\"instructions\": [100,101,102,103,104,105,106,107,108,109,110,111]}}]}";
    struct baseline b3;
    assert_int_equal(baseline_parse(ins, strlen(ins), "i.json", &b3, &e), 0);
    for (size_t i = 0; i < cur.nruns; i++) {
        cur.runs[i].ctr.valid[COUNTERS_INSTRUCTIONS] = true;
        cur.runs[i].ctr.v[COUNTERS_INSTRUCTIONS] = 1000 + i;
    }
    assert_int_equal(baseline_compare_metric(&b3.entries[0], &cur, BENCH_METRIC_INSTRUCTIONS, 0.02, &cmp, &e),
                     0);
    assert_int_equal(cmp.verdict, BENCH_SLOWER);
    assert_true(cmp.ratio_median > 9.5 && cmp.ratio_median < 10.5);
    baseline_destroy(&b3);
    enum bench_metric m;
    assert_int_equal(bench_metric_parse("cpu", &m), 0);
    assert_int_equal(m, BENCH_METRIC_CPU);
    assert_string_equal(bench_metric_name(BENCH_METRIC_INSTRUCTIONS), "instructions");
    assert_int_equal(bench_metric_parse("cycles", &m), -EINVAL);

    free(cur.runs);
    baseline_destroy(&b2);
    baseline_destroy(&b);

    /* An empty baseline cannot gate anything. */
    text = "{\"results\": []}";
    assert_int_equal(baseline_parse(text, strlen(text), "empty.json", &b, &e), 0);
    assert_int_equal(baseline_check(&b, "empty.json", names, 1, BENCH_METRIC_WALL, false, &e), -ENODATA);
    assert_string_equal(pk_err_str(&e, msg, sizeof(msg)),
                        "empty.json: cannot gate on this baseline: it holds no results");
    baseline_destroy(&b);

    /* The extra arrays are validated like times. */
    assert_string_equal(
        parse_error("{\"results\": [{\"command\": \"a\", \"times\": [1, 2], \"user_times\": [1],"
                    " \"system_times\": [0, 0]}]}"),
        "base.json: results[0].user_times: expected 2 values, as many as times, got 1");
    assert_string_equal(
        parse_error("{\"results\": [{\"command\": \"a\", \"times\": [1], \"user_times\": [\"x\"],"
                    " \"system_times\": [0]}]}"),
        "base.json: results[0].user_times[0]: expected a number");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\", \"times\": [1], \"counters\": 3}]}"),
                        "base.json: results[0].counters: expected an object");
    assert_string_equal(parse_error("{\"results\": [{\"command\": \"a\", \"times\": [1],"
                                    " \"counters\": {\"instructions\": [-5]}}]}"),
                        "base.json: results[0].counters.instructions[0]: expected a count >= 0, got -5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_hyperfine_export_loads),
        cmocka_unit_test(malformed_files_name_file_element_and_problem),
        cmocka_unit_test(not_json_points_at_line_and_column),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(every_shape_error),
        cmocka_unit_test(minimal_and_empty_files),
        cmocka_unit_test(duplicate_commands_find_the_first),
        cmocka_unit_test(compare_verdicts_and_errors),
        cmocka_unit_test(per_run_cpu_and_instructions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
