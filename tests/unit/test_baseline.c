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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
