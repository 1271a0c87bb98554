#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "bench/baseline.h"
#include "bench/export.h"
#include "core/jsonio.h"

static void add_cmd(struct bench_set *s, const char *name, const char *command, const char *pname,
                    const char *pvalue, const double *wall, size_t n)
{
    struct bench_param p = { (char *)pname, (char *)pvalue };
    int idx = bench_set_add(s, name, command, pname ? &p : NULL, pname ? 1 : 0);
    assert_true(idx >= 0);
    for (size_t i = 0; i < n; i++) {
        struct bench_run r;
        memset(&r, 0, sizeof(r));
        r.wall_s = wall[i];
        assert_int_equal(bench_cmd_add_run(&s->cmds[idx], &r), 0);
    }
}

/* Three commands with dyadic times, so every statistic is exact:
 *   fast: 0.25 0.5 0.75 (t=0.001); slow: 1 1.5 2 (t=0.002); one: 0.125. */
static void known_set(struct bench_set *s)
{
    bench_set_init(s);
    s->counters = true;
    const double fast[3] = { 0.25, 0.75, 0.5 }, slow[3] = { 1.0, 1.5, 2.0 }, one[1] = { 0.125 };
    add_cmd(s, "fast", "sleep 0.001", "t", "0.001", fast, 3);
    add_cmd(s, "slow", "sleep 0.002", "t", "0.002", slow, 3);
    add_cmd(s, "one", "true", NULL, NULL, one, 1);
    s->cmds[0].shell_overhead_s = 0.0005;
    for (size_t i = 0; i < 3; i++) {
        struct bench_run *r = &s->cmds[0].runs[i];
        r->user_s = 0.125;
        r->sys_s = 0.0625 * (double)i;
        r->max_rss_bytes = 1000 * (i + 1);
        r->minflt = 10 + i;
        r->majflt = i;
        r->nvcsw = 20 + i;
        r->nivcsw = 30 + i;
        r->ctr.valid[COUNTERS_CYCLES] = true;
        r->ctr.v[COUNTERS_CYCLES] = 1000000 + i;
        r->ctr.valid[COUNTERS_INSTRUCTIONS] = true;
        r->ctr.v[COUNTERS_INSTRUCTIONS] = 2000000 + i;
    }
    s->cmds[0].runs[2].exit_code = -1;
    s->cmds[0].runs[2].term_signal = 9;
    s->cmds[1].runs[1].exit_code = 3;
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void assert_numbers(const json_t *arr, const double *want, size_t n)
{
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (isnan(want[i])) {
            assert_true(json_is_null(v));
        } else {
            assert_true(json_is_number(v));
            assert_true(json_number_value(v) == want[i]);
        }
    }
}

static const char *str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static const struct export_context ctx = {
    .host = "bench-host",
    .kernel = "6.1.0-18-amd64",
    .cpu_model = "AMD EPYC 7B13",
    .cpus = 8,
    .governor = NULL,
    .load_known = true,
    .load_avg = { 0.5, 0.25, 0.125 },
    .perfkit_version = "0.1.0",
    .date = 1700000000,
    .git_revision = NULL,
    .command_line = "perfkit bench -L t 0.001,0.002 'sleep {t}' true",
};

static void json_has_hyperfine_keys(void **state)
{
    (void)state;
    struct bench_set s;
    known_set(&s);
    json_t *root = NULL;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(export_json(&s, &ctx, SIZE_MAX, &root, &e), 0);
    const json_t *results = json_object_get(root, "results");
    assert_int_equal(json_array_size(results), 3);

    const json_t *r = json_array_get(results, 0);
    assert_string_equal(str(r, "command"), "fast");
    assert_true(num(r, "mean") == 0.5);
    assert_true(num(r, "stddev") == 0.25);
    assert_true(num(r, "median") == 0.5);
    assert_true(num(r, "user") == 0.125);
    assert_true(num(r, "system") == 0.0625);
    assert_true(num(r, "min") == 0.25);
    assert_true(num(r, "max") == 0.75);
    assert_numbers(json_object_get(r, "times"), (const double[]){ 0.25, 0.75, 0.5 }, 3);
    /* A signal is 128 + its number, as hyperfine writes it. */
    assert_numbers(json_object_get(r, "exit_codes"), (const double[]){ 0, 0, 137 }, 3);
    assert_numbers(json_object_get(r, "memory_usage_byte"), (const double[]){ 1000, 2000, 3000 }, 3);
    const json_t *params = json_object_get(r, "parameters");
    assert_int_equal(json_object_size(params), 1);
    assert_string_equal(str(params, "t"), "0.001");

    /* perfkit's additions. */
    assert_string_equal(str(r, "command_line"), "sleep 0.001");
    assert_numbers(json_object_get(r, "user_times"), (const double[]){ 0.125, 0.125, 0.125 }, 3);
    assert_numbers(json_object_get(r, "system_times"), (const double[]){ 0, 0.0625, 0.125 }, 3);
    assert_numbers(json_object_get(r, "minor_faults"), (const double[]){ 10, 11, 12 }, 3);
    assert_numbers(json_object_get(r, "major_faults"), (const double[]){ 0, 1, 2 }, 3);
    assert_numbers(json_object_get(r, "voluntary_cs"), (const double[]){ 20, 21, 22 }, 3);
    assert_numbers(json_object_get(r, "involuntary_cs"), (const double[]){ 30, 31, 32 }, 3);
    assert_numbers(json_object_get(r, "signals"), (const double[]){ 0, 0, 9 }, 3);
    const json_t *ctr = json_object_get(r, "counters");
    assert_int_equal(json_object_size(ctr), COUNTERS_N);
    assert_numbers(json_object_get(ctr, "cycles"), (const double[]){ 1000000, 1000001, 1000002 }, 3);
    assert_numbers(json_object_get(ctr, "instructions"), (const double[]){ 2000000, 2000001, 2000002 }, 3);
    assert_numbers(json_object_get(ctr, "branch-misses"), (const double[]){ NAN, NAN, NAN }, 3);

    const json_t *st = json_object_get(r, "statistics");
    assert_true(json_is_object(st));
    const json_t *mci = json_object_get(st, "mean_ci"), *dci = json_object_get(st, "median_ci");
    assert_int_equal(json_array_size(mci), 2);
    assert_int_equal(json_array_size(dci), 2);
    assert_true(json_number_value(json_array_get(mci, 0)) >= 0.25);
    assert_true(json_number_value(json_array_get(mci, 0)) <= 0.5);
    assert_true(json_number_value(json_array_get(mci, 1)) >= 0.5);
    assert_true(json_number_value(json_array_get(mci, 1)) <= 0.75);
    assert_true(num(st, "ci_level") == 0.95);
    assert_true(num(st, "q1") == 0.375);
    assert_true(num(st, "q3") == 0.625);
    assert_true(num(st, "mad") == 0.25);
    assert_true(num(st, "shell_overhead") == 0.0005);
    assert_true(num(st, "failed_runs") == 1);
    assert_true(num(st, "memory_max_byte") == 3000);
    assert_true(num(st, "memory_median_byte") == 2000);
    const json_t *out = json_object_get(st, "outliers");
    assert_true(num(out, "zscore") == 0);
    assert_true(num(out, "high_severe") == 0);

    r = json_array_get(results, 1);
    assert_string_equal(str(r, "command"), "slow");
    assert_true(num(r, "mean") == 1.5 && num(r, "stddev") == 0.5 && num(r, "median") == 1.5);
    assert_numbers(json_object_get(r, "exit_codes"), (const double[]){ 0, 3, 0 }, 3);

    /* One run: stddev is null, and no parameters key without parameters. */
    r = json_array_get(results, 2);
    assert_string_equal(str(r, "command"), "one");
    assert_true(json_is_null(json_object_get(r, "stddev")));
    assert_true(num(r, "mean") == 0.125 && num(r, "min") == 0.125 && num(r, "max") == 0.125);
    assert_null(json_object_get(r, "parameters"));

    /* The fastest by median is "one": both others are compared with it. */
    const json_t *cmps = json_object_get(root, "comparisons");
    assert_int_equal(json_array_size(cmps), 2);
    const json_t *c = json_array_get(cmps, 0);
    assert_string_equal(str(c, "command"), "fast");
    assert_string_equal(str(c, "reference"), "one");
    assert_true(num(c, "ratio_median") == 4.0);
    assert_true(num(c, "ratio_mean") == 4.0);
    const json_t *ci = json_object_get(c, "ratio_median_ci");
    assert_true(json_number_value(json_array_get(ci, 0)) >= 2.0);
    assert_true(json_number_value(json_array_get(ci, 1)) <= 6.0);
    assert_int_equal(json_array_size(json_object_get(c, "ratio_mean_ci")), 2);
    assert_true(json_is_boolean(json_object_get(c, "exact")));
    assert_true(num(c, "p_value") > 0.0 && num(c, "p_value") <= 1.0);
    assert_true(num(c, "shift") == 0.375);
    c = json_array_get(cmps, 1);
    assert_string_equal(str(c, "command"), "slow");
    assert_true(num(c, "ratio_median") == 12.0);

    const json_t *cx = json_object_get(root, "context");
    assert_string_equal(str(cx, "host"), "bench-host");
    assert_string_equal(str(cx, "kernel"), "6.1.0-18-amd64");
    assert_string_equal(str(cx, "cpu_model"), "AMD EPYC 7B13");
    assert_true(num(cx, "cpus") == 8);
    assert_true(json_is_null(json_object_get(cx, "governor")));
    assert_numbers(json_object_get(cx, "load_avg"), (const double[]){ 0.5, 0.25, 0.125 }, 3);
    assert_string_equal(str(cx, "perfkit_version"), "0.1.0");
    assert_string_equal(str(cx, "date"), "2023-11-14T22:13:20Z");
    assert_true(json_is_null(json_object_get(cx, "git_revision")));
    assert_non_null(json_object_get(cx, "git_revision"));
    assert_string_equal(str(cx, "command_line"), ctx.command_line);
    json_decref(root);

    /* An explicit reference, and no context block without a context. */
    assert_int_equal(export_json(&s, NULL, 1, &root, &e), 0);
    assert_null(json_object_get(root, "context"));
    cmps = json_object_get(root, "comparisons");
    assert_int_equal(json_array_size(cmps), 2);
    assert_string_equal(str(json_array_get(cmps, 0), "reference"), "slow");
    assert_true(num(json_array_get(cmps, 0), "ratio_median") == 0.5 / 1.5);
    json_decref(root);
    assert_int_equal(export_json(&s, NULL, 3, &root, &e), -EINVAL);
    bench_set_destroy(&s);
}

static void json_round_trips_through_baseline(void **state)
{
    (void)state;
    struct bench_set s;
    known_set(&s);
    /* Times that need all 17 digits. */
    s.cmds[1].runs[0].wall_s = 0.1 + 0.2;
    s.cmds[1].runs[2].wall_s = 1.0 / 3.0;
    json_t *root = NULL;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(export_json(&s, &ctx, SIZE_MAX, &root, &e), 0);
    char *text = jsonio_dumps(root);
    assert_non_null(text);
    json_decref(root);

    struct baseline b;
    assert_int_equal(baseline_parse(text, strlen(text), "export.json", &b, &e), 0);
    assert_int_equal(b.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(b.entries[i].command, s.cmds[i].name);
        assert_int_equal(b.entries[i].ntimes, s.cmds[i].nruns);
        for (size_t k = 0; k < b.entries[i].ntimes; k++)
            assert_true(b.entries[i].times[k] == s.cmds[i].runs[k].wall_s);
    }
    assert_ptr_equal(baseline_find(&b, "slow"), &b.entries[1]);
    baseline_destroy(&b);
    free(text);
    bench_set_destroy(&s);
}

static void csv_quotes_and_parameters(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    const double t[3] = { 1.0, 3.0, 2.0 };
    add_cmd(&s, "echo \"a,b\"", "echo \"a,b\"", "x", "1,2", t, 3);
    for (size_t i = 0; i < 3; i++) {
        s.cmds[0].runs[i].user_s = 0.5;
        s.cmds[0].runs[i].sys_s = 0.25;
    }
    add_cmd(&s, "plain", "plain", "x", "3", t, 1);
    add_cmd(&s, "multi\nline", "x", NULL, NULL, t, 2);
    struct pk_err e;
    pk_err_clear(&e);
    char *csv = export_csv(&s, &e);
    assert_non_null(csv);
    assert_string_equal(csv, "command,mean,stddev,median,user,system,min,max,parameter_x\n"
                             "\"echo \"\"a,b\"\"\",2,1,2,0.5,0.25,1,3,\"1,2\"\n"
                             "plain,1,0,1,0,0,1,1,3\n"
                             "\"multi\nline\",2,1.4142135623730951,2,0,0,1,3,\n");
    free(csv);
    bench_set_destroy(&s);
}

/* Times and figures of a real hyperfine 1.15.0 run on the development machine
 * (`hyperfine -N --runs 3 --export-csv h.csv -L t 0.001,0.002 'sleep {t}'`):
 * the CSV numbers must be the same text. */
static void csv_numbers_match_hyperfine(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    const double t[3] = { 0.002493449, 0.002312679, 0.002380751 };
    add_cmd(&s, "sleep 0.001", "sleep 0.001", "t", "0.001", t, 3);
    struct pk_err e;
    pk_err_clear(&e);
    char *csv = export_csv(&s, &e);
    assert_non_null(csv);
    assert_string_equal(csv, "command,mean,stddev,median,user,system,min,max,parameter_t\n"
                             "sleep 0.001,0.0023956263333333333,0.0000912984385481664,"
                             "0.002380751,0,0,0.002312679,0.002493449,0.001\n");
    free(csv);
    bench_set_destroy(&s);
}

static void markdown_table(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    /* The medians are 18.4 ms and 10 ms; the bootstrap medians of three
     * values are one of the three, and each extreme has probability 7/27 per
     * resample, far above 2.5 %: the 95 % CI is exactly 18/10 to 19/10. */
    const double a[3] = { 0.018, 0.0184, 0.019 }, b[3] = { 0.010, 0.010, 0.010 };
    add_cmd(&s, "echo a|b", "echo a|b", NULL, NULL, a, 3);
    add_cmd(&s, "true", "true", NULL, NULL, b, 3);
    struct pk_err e;
    pk_err_clear(&e);
    char *md = export_markdown(&s, SIZE_MAX, &e);
    assert_non_null(md);
    assert_string_equal(md, "| Command | Mean [ms] | Min [ms] | Max [ms] | Relative |\n"
                            "|:---|---:|---:|---:|---:|\n"
                            "| `echo a\\|b` | 18.5 \xc2\xb1 0.5 | 18.0 | 19.0 | 1.84 (1.80\xe2\x80\x93"
                            "1.90) |\n"
                            "| `true` | 10.0 \xc2\xb1 0.0 | 10.0 | 10.0 | 1.00 |\n"
                            "\n"
                            "Relative: ratio of medians to `true` (the fastest), with its 95 % bootstrap "
                            "confidence interval.\n");
    free(md);

    md = export_markdown(&s, 0, &e);
    assert_non_null(md);
    assert_non_null(strstr(md, "| `echo a\\|b` | 18.5 \xc2\xb1 0.5 | 18.0 | 19.0 | 1.00 |\n"));
    assert_non_null(strstr(md, "| `true` | 10.0 \xc2\xb1 0.0 | 10.0 | 10.0 | 0.54 (0.53\xe2\x80\x93"
                               "0.56) |\n"));
    assert_non_null(strstr(md, "ratio of medians to `echo a\\|b` (the reference)"));
    free(md);
    assert_null(export_markdown(&s, 2, &e));
    assert_int_equal(e.code, -EINVAL);
    bench_set_destroy(&s);
}

static void markdown_units(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    const double slow[2] = { 1.5, 1.5 }, fast[1] = { 0.0005 };
    add_cmd(&s, "slow", "slow", NULL, NULL, slow, 2);
    struct pk_err e;
    pk_err_clear(&e);
    char *md = export_markdown(&s, SIZE_MAX, &e);
    assert_non_null(md);
    /* A single command: seconds with three decimals, no note under the table. */
    assert_string_equal(md, "| Command | Mean [s] | Min [s] | Max [s] | Relative |\n"
                            "|:---|---:|---:|---:|---:|\n"
                            "| `slow` | 1.500 \xc2\xb1 0.000 | 1.500 | 1.500 | 1.00 |\n");
    free(md);
    /* The unit suits the fastest command; one run has no +/-. */
    add_cmd(&s, "fast", "fast", NULL, NULL, fast, 1);
    md = export_markdown(&s, SIZE_MAX, &e);
    assert_non_null(md);
    assert_non_null(strstr(md, "| Mean [\xc2\xb5s] |"));
    assert_non_null(strstr(md, "| `fast` | 500.0 | 500.0 | 500.0 | 1.00 |\n"));
    assert_non_null(strstr(md, "| `slow` | 1500000.0 \xc2\xb1 0.0 | 1500000.0 | 1500000.0 | "
                               "3000.00 (3000.00\xe2\x80\x93"
                               "3000.00) |\n"));
    free(md);
    bench_set_destroy(&s);
}

static void empty_and_runless_commands(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    struct pk_err e;
    pk_err_clear(&e);
    json_t *root = NULL;
    assert_int_equal(export_json(&s, NULL, SIZE_MAX, &root, &e), 0);
    assert_int_equal(json_array_size(json_object_get(root, "results")), 0);
    json_decref(root);
    char *csv = export_csv(&s, &e);
    assert_string_equal(csv, "command,mean,stddev,median,user,system,min,max\n");
    free(csv);

    /* A command interrupted before its first run is no result, as hyperfine
     * lists no benchmark it did not finish (a null mean breaks its scripts):
     * it is listed under "incomplete" instead, and is no CSV or table row. */
    assert_int_equal(bench_set_add(&s, NULL, "never", NULL, 0), 0);
    assert_int_equal(export_json(&s, NULL, SIZE_MAX, &root, &e), 0);
    assert_int_equal(json_array_size(json_object_get(root, "results")), 0);
    const json_t *r = json_array_get(json_object_get(root, "incomplete"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "command")), "never");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "not run");
    assert_int_equal(json_array_size(json_object_get(r, "times")), 0);
    json_decref(root);
    csv = export_csv(&s, &e);
    assert_string_equal(csv, "command,mean,stddev,median,user,system,min,max\n");
    free(csv);
    char *md = export_markdown(&s, SIZE_MAX, &e);
    assert_null(strstr(md, "never"));
    free(md);
    bench_set_destroy(&s);
}

/* A command that failed (without -i) after two good runs: hyperfine leaves
 * it out of results[]; perfkit too, and keeps its runs and what failed under
 * "incomplete". Every result left has hyperfine's figures, none null. */
static void failed_command_is_no_result(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(bench_set_add(&s, NULL, "true", NULL, 0), 0);
    assert_int_equal(bench_set_add(&s, "flaky", "sh -c 'exit 3'", NULL, 0), 1);
    assert_int_equal(bench_set_add(&s, NULL, "after", NULL, 0), 2);
    for (int i = 0; i < 3; i++) {
        struct bench_run r;
        memset(&r, 0, sizeof(r));
        r.wall_s = 0.001 * (i + 1);
        assert_int_equal(bench_cmd_add_run(&s.cmds[0], &r), 0);
        if (i < 2)
            assert_int_equal(bench_cmd_add_run(&s.cmds[1], &r), 0);
    }
    s.cmds[0].status = BENCH_DONE;
    s.cmds[1].status = BENCH_FAILED;
    s.cmds[1].fail_phase = "command";
    s.cmds[1].fail_exit_code = 3;

    json_t *root = NULL;
    assert_int_equal(export_json(&s, NULL, SIZE_MAX, &root, &e), 0);
    const json_t *res = json_object_get(root, "results");
    assert_int_equal(json_array_size(res), 1);
    const json_t *r0 = json_array_get(res, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "command")), "true");
    static const char *const figures[] = { "mean", "stddev", "median", "user", "system", "min", "max" };
    for (size_t k = 0; k < sizeof(figures) / sizeof(figures[0]); k++)
        assert_true(json_is_number(json_object_get(r0, figures[k])));
    assert_int_equal(json_array_size(json_object_get(root, "comparisons")), 0);
    const json_t *inc = json_object_get(root, "incomplete");
    assert_int_equal(json_array_size(inc), 2);
    const json_t *f = json_array_get(inc, 0);
    assert_string_equal(json_string_value(json_object_get(f, "command")), "flaky");
    assert_string_equal(json_string_value(json_object_get(f, "command_line")), "sh -c 'exit 3'");
    assert_string_equal(json_string_value(json_object_get(f, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(f, "phase")), "command");
    assert_int_equal(json_integer_value(json_object_get(f, "exit_code")), 3);
    assert_int_equal(json_array_size(json_object_get(f, "times")), 2);
    const json_t *n = json_array_get(inc, 1);
    assert_string_equal(json_string_value(json_object_get(n, "status")), "not run");
    assert_true(json_is_null(json_object_get(n, "exit_code")));
    json_decref(root);

    char *csv = export_csv(&s, &e);
    assert_null(strstr(csv, "flaky"));
    assert_non_null(strstr(csv, "\ntrue,"));
    free(csv);
    char *md = export_markdown(&s, SIZE_MAX, &e);
    assert_null(strstr(md, "flaky"));
    free(md);
    bench_set_destroy(&s);
}

/* JSON holds UTF-8 only: a command line with other bytes is named, not
 * reported as a lack of memory. */
static void json_names_a_string_that_is_not_utf8(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    const double t[2] = { 0.5, 0.25 };
    add_cmd(&s, NULL, "echo caf\xe9", NULL, NULL, t, 2);
    struct pk_err e;
    pk_err_clear(&e);
    json_t *root = NULL;
    assert_int_equal(export_json(&s, NULL, SIZE_MAX, &root, &e), -EILSEQ);
    assert_null(root);
    char buf[600];
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "is not valid UTF-8"));
    bench_set_destroy(&s);
}

static void write_is_atomic_replace(void **state)
{
    (void)state;
    char dir[] = "/tmp/pk-test-export-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/out.md", dir);
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(export_write(path, "old\n", 4, &e), 0);
    assert_int_equal(export_write(path, "new text\n", 9, &e), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[32] = { 0 };
    assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 9);
    fclose(f);
    assert_string_equal(buf, "new text\n");
    unlink(path);
    rmdir(dir);
    snprintf(path, sizeof(path), "%s/missing-dir/out.md", dir);
    assert_true(export_write(path, "x", 1, &e) < 0);
}

/* The same table in hyperfine's AsciiDoc and Org mode, in a unit asked for,
 * and its rows by mean time (--sort mean-time). */
static void asciidoc_orgmode_unit_and_sort(void **state)
{
    (void)state;
    struct bench_set s;
    bench_set_init(&s);
    const double a[3] = { 0.018, 0.0184, 0.019 }, b[3] = { 0.010, 0.010, 0.010 };
    add_cmd(&s, "echo a|b", "echo a|b", NULL, NULL, a, 3);
    add_cmd(&s, "true", "true", NULL, NULL, b, 3);
    struct pk_err e;
    pk_err_clear(&e);
    struct export_table t = { .format = EXPORT_ASCIIDOC, .reference = SIZE_MAX, .unit = EXPORT_UNIT_AUTO };
    char *text = export_table(&s, &t, &e);
    assert_non_null(text);
    assert_string_equal(text,
                        "[cols=\"<,>,>,>,>\"]\n|==="
                        "\n| Command \n| Mean [ms] \n| Min [ms] \n| Max [ms] \n| Relative \n"
                        "\n| `echo a\\|b` \n| 18.5 \xc2\xb1 0.5 \n| 18.0 \n| 19.0 \n| 1.84 (1.80\xe2\x80\x93"
                        "1.90) \n"
                        "\n| `true` \n| 10.0 \xc2\xb1 0.0 \n| 10.0 \n| 10.0 \n| 1.00 \n"
                        "|===\n"
                        "\nRelative: ratio of medians to `true` (the fastest), with its 95 % bootstrap "
                        "confidence interval.\n");
    free(text);
    t.format = EXPORT_ORGMODE;
    t.unit = EXPORT_UNIT_SECOND;
    t.by_mean = true;
    text = export_table(&s, &t, &e);
    assert_non_null(text);
    assert_string_equal(text,
                        "| Command  |  Mean [s] |  Min [s] |  Max [s] |  Relative |\n"
                        "|--+--+--+--+--|\n"
                        "| =true=  |  0.010 \xc2\xb1 0.000 |  0.010 |  0.010 |  1.00 |\n"
                        "| =echo a\\|b=  |  0.018 \xc2\xb1 0.001 |  0.018 |  0.019 |  1.84 (1.80\xe2\x80\x93"
                        "1.90) |\n"
                        "\nRelative: ratio of medians to =true= (the fastest), with its 95 % bootstrap "
                        "confidence interval.\n");
    free(text);
    t.format = EXPORT_MARKDOWN;
    t.unit = EXPORT_UNIT_MICROSECOND;
    t.by_mean = false;
    text = export_table(&s, &t, &e);
    assert_non_null(
        strstr(text, "| Command | Mean [\xc2\xb5s] | Min [\xc2\xb5s] | Max [\xc2\xb5s] | Relative |\n"));
    assert_non_null(strstr(text, "| `echo a\\|b` | 18466.7 \xc2\xb1 503.3 | 18000.0 | 19000.0 |"));
    free(text);
    bench_set_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_has_hyperfine_keys),
        cmocka_unit_test(json_round_trips_through_baseline),
        cmocka_unit_test(csv_quotes_and_parameters),
        cmocka_unit_test(csv_numbers_match_hyperfine),
        cmocka_unit_test(markdown_table),
        cmocka_unit_test(markdown_units),
        cmocka_unit_test(asciidoc_orgmode_unit_and_sort),
        cmocka_unit_test(empty_and_runless_commands),
        cmocka_unit_test(failed_command_is_no_result),
        cmocka_unit_test(json_names_a_string_that_is_not_utf8),
        cmocka_unit_test(write_is_atomic_replace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
