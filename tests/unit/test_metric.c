#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "monitor/metric.h"

static void names(void **state)
{
    (void)state;
    assert_true(metric_name_valid("node_cpu_seconds_total"));
    assert_true(metric_name_valid("job:rate5m"));
    assert_true(metric_name_valid("_x"));
    assert_true(metric_name_valid("node_memory_Active_anon_bytes"));
    assert_false(metric_name_valid(""));
    assert_false(metric_name_valid(NULL));
    assert_false(metric_name_valid("1abc"));
    assert_false(metric_name_valid("a-b"));
    assert_false(metric_name_valid("a b"));
    assert_false(metric_name_valid("caf\xc3\xa9"));

    assert_true(metric_label_name_valid("device"));
    assert_true(metric_label_name_valid("_x"));
    assert_true(metric_label_name_valid("a1"));
    assert_false(metric_label_name_valid("__name__")); /* reserved to Prometheus */
    assert_false(metric_label_name_valid("a:b"));
    assert_false(metric_label_name_valid("1a"));
    assert_false(metric_label_name_valid(""));
    assert_false(metric_label_name_valid(NULL));
}

static void families_and_series(void **state)
{
    (void)state;
    struct metric_set s;
    struct pk_err e;
    pk_err_clear(&e);
    metric_set_init(&s);

    uint32_t cpu, load, again;
    assert_int_equal(metric_family_begin(&s, "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
                                         METRIC_COUNTER, &cpu, &e),
                     0);
    assert_int_equal(metric_family_begin(&s, "node_load1", "1m load average.", METRIC_GAUGE, &load, &e), 0);
    assert_int_equal(cpu, 0);
    assert_int_equal(load, 1);
    /* begin on an existing name continues it, whatever help it is given */
    assert_int_equal(metric_family_begin(&s, "node_cpu_seconds_total", "other", METRIC_COUNTER, &again, &e),
                     0);
    assert_int_equal(again, cpu);
    assert_int_equal(s.nfam, 2);
    assert_string_equal(s.fam[cpu].help, "Seconds the CPUs spent in each mode.");
    /* ... but not with another type */
    assert_int_equal(metric_family_begin(&s, "node_cpu_seconds_total", "x", METRIC_GAUGE, &again, &e),
                     -EINVAL);
    assert_string_equal(e.on, "node_cpu_seconds_total");

    char buf[8];
    const char *modes[] = { "user", "idle" };
    for (int c = 0; c < 2; c++) {
        for (int m = 0; m < 2; m++) {
            snprintf(buf, sizeof(buf), "%d", c);
            struct metric_label l[2] = { { "cpu", buf }, { "mode", modes[m] } };
            assert_int_equal(metric_add(&s, cpu, l, 2, 100 * c + m, &e), 0);
        }
    }
    assert_int_equal(metric_add(&s, load, NULL, 0, 0.5, &e), 0);
    assert_int_equal(metric_add1(&s, "node_load5", "5m load average.", METRIC_GAUGE, 0.25, &e), 0);
    assert_int_equal(s.nseries, 6);
    assert_int_equal(s.fam[cpu].n, 4);

    /* strings are copied: the caller's buffer changed, the set did not */
    snprintf(buf, sizeof(buf), "zz");
    struct metric_label want[2] = { { "mode", "idle" }, { "cpu", "1" } }; /* any order */
    const struct metric_series *m = metric_find(&s, "node_cpu_seconds_total", want, 2);
    assert_non_null(m);
    assert_true(m->value == 101);
    assert_string_equal(metric_label(m, "cpu"), "1");
    assert_null(metric_label(m, "device"));
    struct metric_label one[1] = { { "cpu", "1" } };
    assert_null(metric_find(&s, "node_cpu_seconds_total", one, 1)); /* the label set must match whole */
    assert_true(metric_find(&s, "node_load1", NULL, 0)->value == 0.5);
    assert_null(metric_find(&s, "node_load15", NULL, 0));
    assert_non_null(metric_find_family(&s, "node_load5"));
    assert_null(metric_find_family(&s, "nope"));
    /* neighbours share the copies of repeated label names and values */
    const struct metric_series *a = &s.series[s.fam[cpu].idx[0]], *b = &s.series[s.fam[cpu].idx[1]];
    assert_ptr_equal(a->labels[0].name, b->labels[0].name);
    assert_ptr_equal(a->labels[0].value, b->labels[0].value);
    assert_string_equal(b->labels[1].value, "idle");

    metric_set_destroy(&s);
}

static void invalid_input(void **state)
{
    (void)state;
    struct metric_set s;
    struct pk_err e;
    pk_err_clear(&e);
    metric_set_init(&s);
    uint32_t f;
    assert_int_equal(metric_family_begin(&s, "bad-name", "x", METRIC_GAUGE, &f, &e), -EINVAL);
    assert_string_equal(e.what, "invalid metric name");
    assert_int_equal(metric_family_begin(&s, "x", "x", (enum metric_type)7, &f, &e), -EINVAL);
    assert_int_equal(s.nfam, 0);
    assert_int_equal(metric_family_begin(&s, "ok_metric", "x", METRIC_GAUGE, &f, &e), 0);

    struct metric_label bad[1] = { { "1x", "v" } };
    assert_int_equal(metric_add(&s, f, bad, 1, 1, &e), -EINVAL);
    struct metric_label reserved[1] = { { "__name__", "v" } };
    assert_int_equal(metric_add(&s, f, reserved, 1, 1, &e), -EINVAL);
    struct metric_label twice[2] = { { "a", "1" }, { "a", "2" } };
    assert_int_equal(metric_add(&s, f, twice, 2, 1, &e), -EINVAL);
    assert_string_equal(e.what, "label given twice");
    struct metric_label many[METRIC_LABELS_MAX + 1];
    char nm[METRIC_LABELS_MAX + 1][4];
    for (int i = 0; i <= METRIC_LABELS_MAX; i++) {
        snprintf(nm[i], sizeof(nm[i]), "l%d", i);
        many[i].name = nm[i];
        many[i].value = "v";
    }
    assert_int_equal(metric_add(&s, f, many, METRIC_LABELS_MAX + 1, 1, &e), -EINVAL);
    assert_int_equal(metric_add(&s, f, many, METRIC_LABELS_MAX, 1, &e), 0);
    assert_int_equal(metric_add(&s, 5, NULL, 0, 1, &e), -EINVAL); /* no such family */
    assert_int_equal(s.nseries, 1);
    /* a NULL value is an empty one */
    struct metric_label nul[1] = { { "a", NULL } };
    assert_int_equal(metric_add(&s, f, nul, 1, 2, &e), 0);
    assert_string_equal(s.series[1].labels[0].value, "");
    /* a NULL help is an empty one */
    assert_int_equal(metric_add1(&s, "no_help", NULL, METRIC_UNTYPED, 1, &e), 0);
    assert_string_equal(metric_find_family(&s, "no_help")->help, "");
    metric_set_destroy(&s);
}

/* Bytes that are not UTF-8 become U+FFFD: Prometheus would refuse the scrape. */
static void utf8(void **state)
{
    (void)state;
    struct metric_set s;
    struct pk_err e;
    metric_set_init(&s);
    uint32_t f;
    assert_int_equal(metric_family_begin(&s, "m", "caf\xe9 \xc3\xa9", METRIC_GAUGE, &f, &e), 0);
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "plain" },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
        { "latin1 caf\xe9", "latin1 caf\xef\xbf\xbd" },
        { "\xc3", "\xef\xbf\xbd" },                                                 /* cut sequence */
        { "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },                                 /* overlong '/' */
        { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },                 /* a surrogate */
        { "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* past U+10FFFF */
        { "\xff"
          "a",
          "\xef\xbf\xbd"
          "a" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct metric_label l[1] = { { "mountpoint", cases[i].in } };
        assert_int_equal(metric_add(&s, f, l, 1, (double)i, &e), 0);
        assert_string_equal(s.series[s.nseries - 1].labels[0].value, cases[i].out);
    }
    assert_string_equal(s.fam[f].help, "caf\xef\xbf\xbd \xc3\xa9");
    metric_set_destroy(&s);
}

static void key(void **state)
{
    (void)state;
    struct metric_set s;
    struct pk_err e;
    metric_set_init(&s);
    uint32_t f;
    assert_int_equal(metric_family_begin(&s, "node_filesystem_avail_bytes", "x", METRIC_GAUGE, &f, &e), 0);
    struct metric_label l[3] = { { "mountpoint", "/mnt/a \"b\"\\c\nd" },
                                 { "device", "/dev/sda1" },
                                 { "fstype", "ext4" } };
    assert_int_equal(metric_add(&s, f, l, 3, 1, &e), 0);
    assert_int_equal(metric_add1(&s, "node_load1", "x", METRIC_GAUGE, 1, &e), 0);

    const char *want = "node_filesystem_avail_bytes{device=\"/dev/sda1\",fstype=\"ext4\","
                       "mountpoint=\"/mnt/a \\\"b\\\"\\\\c\\nd\"}";
    char buf[256];
    size_t n = metric_key(&s, &s.series[0], buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(metric_key(&s, &s.series[1], buf, sizeof(buf)), strlen("node_load1"));
    assert_string_equal(buf, "node_load1");
    /* truncated: the length it needed, what fits, NUL-terminated */
    char small[10];
    assert_int_equal(metric_key(&s, &s.series[0], small, sizeof(small)), strlen(want));
    assert_string_equal(small, "node_file");
    assert_int_equal(metric_key(&s, &s.series[0], NULL, 0), strlen(want));
    metric_set_destroy(&s);
}

/* A sampler clears and refills one set per interval: the second round allocates nothing. */
static void clear_reuses_memory(void **state)
{
    (void)state;
    struct metric_set s;
    struct pk_err e;
    metric_set_init(&s);
    char big[10000];
    memset(big, 'h', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    void *fam = NULL, *series = NULL, *block0 = NULL;
    size_t nblocks = 0;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 50; k++) {
            char name[32], val[64];
            snprintf(name, sizeof(name), "fam_%d", k);
            uint32_t f;
            assert_int_equal(metric_family_begin(&s, name, k == 7 ? big : "help", METRIC_GAUGE, &f, &e), 0);
            for (int i = 0; i < 40; i++) {
                snprintf(val, sizeof(val), "a fairly long label value number %d of %d", i, k);
                struct metric_label l[1] = { { "v", val } };
                assert_int_equal(metric_add(&s, f, l, 1, i, &e), 0);
            }
        }
        assert_int_equal(s.nfam, 50);
        assert_int_equal(s.nseries, 2000);
        assert_string_equal(metric_find_family(&s, "fam_7")->help, big);
        const struct metric_label want[1] = { { "v", "a fairly long label value number 39 of 49" } };
        assert_true(metric_find(&s, "fam_49", want, 1)->value == 39);
        if (round == 0) {
            fam = s.fam;
            series = s.series;
            block0 = s.blocks[0];
            nblocks = s.nblocks;
            assert_true(nblocks > 1); /* the strings spilled over several blocks */
        } else {
            assert_ptr_equal(s.fam, fam);
            assert_ptr_equal(s.series, series);
            assert_ptr_equal(s.blocks[0], block0);
            assert_int_equal(s.nblocks, nblocks);
        }
        metric_set_clear(&s);
        assert_int_equal(s.nfam, 0);
        assert_int_equal(s.nseries, 0);
        assert_null(metric_find_family(&s, "fam_1"));
    }
    metric_set_destroy(&s);
    metric_set_destroy(&s); /* harmless twice */
}

/* A sample of three families; variant changes one label value (v), adds a
 * family in the middle (1), or begins "b" twice (2). */
static void refill(struct metric_set *s, int variant, double v)
{
    struct pk_err e;
    metric_set_clear(s);
    uint32_t a, b, c, x;
    assert_int_equal(metric_family_begin(s, "a_total", "A.", METRIC_COUNTER, &a, &e), 0);
    for (int i = 0; i < 3; i++) {
        char cpu[8];
        snprintf(cpu, sizeof(cpu), "%d", i);
        struct metric_label l[2] = { { "cpu", cpu }, { "mode", "idle" } };
        assert_int_equal(metric_add(s, a, l, 2, v + i, &e), 0);
    }
    if (variant == 1) {
        assert_int_equal(metric_family_begin(s, "x", "X.", METRIC_GAUGE, &x, &e), 0);
        assert_int_equal(metric_add(s, x, NULL, 0, -1, &e), 0);
    }
    assert_int_equal(metric_family_begin(s, "b", "B.", METRIC_GAUGE, &b, &e), 0);
    char dev[32];
    snprintf(dev, sizeof(dev), variant == 3 ? "sdb%d" : "sda", (int)v);
    struct metric_label d[1] = { { "device", dev } };
    assert_int_equal(metric_add(s, b, d, 1, v * 2, &e), 0);
    assert_int_equal(metric_family_begin(s, "c", "C.", METRIC_GAUGE, &c, &e), 0);
    assert_int_equal(metric_add(s, c, NULL, 0, v * 3, &e), 0);
    if (variant == 2) {
        uint32_t again;
        assert_int_equal(metric_family_begin(s, "b", "B.", METRIC_GAUGE, &again, &e), 0);
        assert_int_equal(again, b);
        struct metric_label d2[1] = { { "device", "sdz" } };
        assert_int_equal(metric_add(s, b, d2, 1, 7, &e), 0);
    }
}

static double value_of(const struct metric_set *s, const char *name, const char *lname, const char *lvalue)
{
    /* a_total's series also have mode="idle" */
    struct metric_label l[2] = { { lname, lvalue }, { "mode", "idle" } };
    size_t n = !lname ? 0 : strcmp(name, "a_total") == 0 ? 2 : 1;
    const struct metric_series *m = metric_find(s, name, n ? l : NULL, n);
    assert_non_null(m);
    return m->value;
}

/* A refill with what the set held keeps its strings; anything else is still exact. */
static void refill_reuses_strings(void **state)
{
    (void)state;
    struct metric_set s;
    metric_set_init(&s);
    refill(&s, 0, 1);
    refill(&s, 0, 2);
    const char *name_a = s.fam[0].name, *cpu2 = s.series[2].labels[0].value;
    size_t total = s.arena_total;
    for (int round = 3; round < 10; round++) {
        refill(&s, 0, round);
        assert_int_equal(s.arena_total, total); /* nothing copied */
        assert_ptr_equal(s.fam[0].name, name_a);
        assert_ptr_equal(s.series[2].labels[0].value, cpu2);
        assert_true(value_of(&s, "a_total", "cpu", "2") == round + 2);
        assert_true(value_of(&s, "b", "device", "sda") == round * 2);
        assert_true(value_of(&s, "c", NULL, NULL) == round * 3);
    }
    char key[128];
    metric_key(&s, &s.series[1], key, sizeof(key));
    assert_string_equal(key, "a_total{cpu=\"1\",mode=\"idle\"}");
    /* a family in the middle: everything after it moves, and is still right */
    refill(&s, 1, 20);
    assert_int_equal(s.nfam, 4);
    assert_true(value_of(&s, "x", NULL, NULL) == -1);
    assert_true(value_of(&s, "b", "device", "sda") == 40);
    assert_true(value_of(&s, "c", NULL, NULL) == 60);
    assert_string_equal(s.fam[2].name, "b");
    /* and back */
    refill(&s, 0, 21);
    assert_int_equal(s.nfam, 3);
    assert_null(metric_find_family(&s, "x"));
    assert_true(value_of(&s, "c", NULL, NULL) == 63);
    /* a family begun again later in the fill is continued, not duplicated */
    refill(&s, 2, 22);
    refill(&s, 2, 23);
    assert_int_equal(s.nfam, 3);
    assert_int_equal(metric_find_family(&s, "b")->n, 2);
    assert_true(value_of(&s, "b", "device", "sdz") == 7);
    /* a label value that changes every fill: the strings left behind are reclaimed */
    size_t blocks = 0;
    for (int round = 0; round < 5000; round++) {
        refill(&s, 3, round);
        char dev[32];
        snprintf(dev, sizeof(dev), "sdb%d", round);
        assert_true(value_of(&s, "b", "device", dev) == round * 2);
        if (round == 2500)
            blocks = s.nblocks;
    }
    /* at most a block past twice what a sample needs (here a few hundred bytes) */
    assert_int_equal(s.nblocks, blocks);
    assert_true(s.nblocks <= 2);
    assert_true(s.arena_total <= 2 * s.arena_base + s.blocksize);
    metric_set_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(families_and_series),
        cmocka_unit_test(invalid_input),
        cmocka_unit_test(utf8),
        cmocka_unit_test(key),
        cmocka_unit_test(clear_reuses_memory),
        cmocka_unit_test(refill_reuses_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
