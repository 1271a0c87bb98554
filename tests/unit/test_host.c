/* nftw() and FTW_DEPTH need X/Open. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tmptree.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/host.h"

#define HOST_FIX PK_FIXTURES "/host"

static void read_shape(const char *shape, struct host_info *h)
{
    char proc[512], sys[512];
    struct pk_err e;
    pk_err_clear(&e);
    snprintf(proc, sizeof(proc), "%s/%s/proc", HOST_FIX, shape);
    snprintf(sys, sizeof(sys), "%s/%s/sys", HOST_FIX, shape);
    assert_int_equal(host_read(proc, sys, h, &e), 0);
}

/* ---- recorded trees ----------------------------------------------------- */

static void vm_2cpu(void **state)
{
    (void)state;
    struct host_info h;
    read_shape("vm-2cpu", &h);
    assert_string_equal(h.hostname, "vm");            /* proc/sys/kernel/hostname */
    assert_string_equal(h.kernel, "6.18.44-fc-v669"); /* proc/sys/kernel/osrelease */
    assert_string_equal(h.cpu_model, "AMD EPYC");     /* proc/cpuinfo, "model name" of processor 0 */
    assert_int_equal(h.cpus, 2);                      /* proc/cpuinfo, processors 0 and 1 */
    assert_true(h.mhz == 2596.122);                   /* proc/cpuinfo, "cpu MHz" of processor 0 */
    assert_string_equal(h.governor, "");              /* no sys/devices/system/cpu/cpuN/cpufreq */
    assert_false(h.governor_mixed);
    assert_true(h.load_known); /* proc/loadavg: "0.01 0.06 0.03 1/89 6342" */
    assert_true(h.load[0] == 0.01);
    assert_true(h.load[1] == 0.06);
    assert_true(h.load[2] == 0.03);

    /* sys/devices/system/cpu/cpu0/cache/index{0,1,2,3}/{type,level,size,shared_cpu_list} */
    assert_int_equal(h.ncaches, 4);
    assert_string_equal(h.caches[0].type, "Data"); /* index0: Data 1 48K "0" */
    assert_int_equal(h.caches[0].level, 1);
    assert_int_equal(h.caches[0].size, 48 * 1024);
    assert_int_equal(h.caches[0].num_sharing, 1);
    assert_string_equal(h.caches[1].type, "Instruction"); /* index1: Instruction 1 32K "0" */
    assert_int_equal(h.caches[1].level, 1);
    assert_int_equal(h.caches[1].size, 32 * 1024);
    assert_int_equal(h.caches[1].num_sharing, 1);
    assert_string_equal(h.caches[2].type, "Unified"); /* index2: Unified 2 1024K "0" */
    assert_int_equal(h.caches[2].level, 2);
    assert_int_equal(h.caches[2].size, 1024 * 1024);
    assert_int_equal(h.caches[2].num_sharing, 1);
    assert_string_equal(h.caches[3].type, "Unified"); /* index3: Unified 3 32768K "0-1" */
    assert_int_equal(h.caches[3].level, 3);
    assert_int_equal(h.caches[3].size, 32768L * 1024);
    assert_int_equal(h.caches[3].num_sharing, 2);
}

static void node_exporter(void **state)
{
    (void)state;
    struct host_info h;
    read_shape("node-exporter", &h);
    /* proc/cpuinfo: 8 processors, each "model name : Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz" */
    assert_string_equal(h.cpu_model, "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz");
    assert_int_equal(h.cpus, 8);
    /* proc/cpuinfo: processor 0 "cpu MHz : 799.998" (the others differ: 800.037, 800.010, ...) */
    assert_true(h.mhz == 799.998);
    /* proc/loadavg: "0.21 0.37 0.39 1/719 19737" */
    assert_true(h.load_known);
    assert_true(h.load[0] == 0.21);
    assert_true(h.load[1] == 0.37);
    assert_true(h.load[2] == 0.39);
    /* That tree has no proc/sys/kernel/{hostname,osrelease} and no sysfs. */
    assert_string_equal(h.hostname, "");
    assert_string_equal(h.kernel, "");
    assert_string_equal(h.governor, "");
    assert_int_equal(h.ncaches, 0);
}

static void container_with_only_cpuinfo(void **state)
{
    (void)state;
    struct host_info h;
    read_shape("container", &h); /* container/sys does not exist */
    /* proc/cpuinfo (a copy of vm-2cpu's) */
    assert_string_equal(h.cpu_model, "AMD EPYC");
    assert_int_equal(h.cpus, 2);
    assert_true(h.mhz == 2596.122);
    assert_string_equal(h.hostname, "");
    assert_string_equal(h.kernel, "");
    assert_false(h.load_known);
    assert_true(h.load[0] == 0 && h.load[1] == 0 && h.load[2] == 0);
    assert_string_equal(h.governor, "");
    assert_false(h.governor_mixed);
    assert_int_equal(h.ncaches, 0);
}

static void procfs_root_is_the_only_error(void **state)
{
    (void)state;
    struct host_info h;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(host_read(HOST_FIX "/no-such-shape/proc", HOST_FIX "/vm-2cpu/sys", &h, &e), -ENOENT);
    assert_string_equal(e.on, HOST_FIX "/no-such-shape/proc");
    assert_non_null(strstr(e.what, "procfs"));

    pk_err_clear(&e);
    assert_int_equal(host_read(HOST_FIX "/README.md", NULL, &h, &e), -ENOTDIR);
    assert_string_equal(e.on, HOST_FIX "/README.md");

    /* A sysfs root that is missing, or not given, only leaves its fields unknown. */
    assert_int_equal(host_read(HOST_FIX "/vm-2cpu/proc", NULL, &h, NULL), 0);
    assert_int_equal(h.cpus, 2);
    assert_int_equal(h.ncaches, 0);
    assert_int_equal(host_read(HOST_FIX "/vm-2cpu/proc", "/nonexistent-sysfs", &h, NULL), 0);
    assert_string_equal(h.hostname, "vm");
    assert_int_equal(h.ncaches, 0);
}

/* ---- governors and caches: small trees written at run time --------------- */

#define GOV(n) "devices/system/cpu/cpu" #n "/cpufreq/scaling_governor"

static void governors(void **state)
{
    const char *sys = *state;
    const char *proc = HOST_FIX "/vm-2cpu/proc"; /* 2 processors in cpuinfo */
    struct host_info h;

    tmptree_put(sys, "devices/system/cpu/online", "0-3\n");
    for (int i = 0; i < 4; i++) {
        char rel[128];
        snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/cpufreq/scaling_governor", i);
        tmptree_put(sys, rel, "performance\n");
    }
    assert_int_equal(host_read(proc, sys, &h, NULL), 0);
    assert_string_equal(h.governor, "performance");
    assert_false(h.governor_mixed);

    tmptree_put(sys, GOV(3), "powersave\n");
    assert_int_equal(host_read(proc, sys, &h, NULL), 0);
    assert_string_equal(h.governor, "performance");
    assert_true(h.governor_mixed);

    /* An offline CPU's leftover setting does not count. */
    tmptree_put(sys, "devices/system/cpu/online", "0-2\n");
    assert_int_equal(host_read(proc, sys, &h, NULL), 0);
    assert_false(h.governor_mixed);

    /* Without the online list, the CPUs are cpuinfo's: 0 and 1 here. */
    char path[1024];
    snprintf(path, sizeof(path), "%s/devices/system/cpu/online", sys);
    assert_int_equal(unlink(path), 0);
    tmptree_put(sys, GOV(1), "schedutil\n");
    assert_int_equal(host_read(proc, sys, &h, NULL), 0);
    assert_true(h.governor_mixed);
    tmptree_put(sys, GOV(1), "performance\n");
    assert_int_equal(host_read(proc, sys, &h, NULL), 0);
    assert_false(h.governor_mixed);

    /* cpu0 without cpufreq: the first online CPU that has one names it. */
    tmptree_put(sys, "devices/system/cpu/online", "0-2\n");
    snprintf(path, sizeof(path), "%s/" GOV(0), sys);
    assert_int_equal(unlink(path), 0);
    tmptree_put(sys, GOV(1), "ondemand\n");
    tmptree_put(sys, GOV(2), "ondemand");
    assert_int_equal(host_read(proc, sys, &h, NULL), 0);
    assert_string_equal(h.governor, "ondemand");
    assert_false(h.governor_mixed);
}

#define IDX(n, f) "devices/system/cpu/cpu0/cache/index" #n "/" f

static void odd_caches(void **state)
{
    const char *sys = *state;
    struct host_info h;

    tmptree_put(sys, IDX(0, "type"), "Data\n");
    tmptree_put(sys, IDX(0, "level"), "one\n");
    tmptree_put(sys, IDX(0, "size"), "lots\n");
    tmptree_put(sys, IDX(0, "shared_cpu_list"), "0-\n");
    tmptree_put(sys, IDX(1, "level"), "1\n"); /* no type: left out */
    tmptree_put(sys, IDX(2, "type"), "Unified");
    tmptree_put(sys, IDX(2, "level"), "2");
    tmptree_put(sys, IDX(2, "size"), "2M");
    tmptree_put(sys, IDX(2, "shared_cpu_list"), "0-1,4,6-7");
    /* index3 is missing, so index4 is never looked at */
    tmptree_put(sys, IDX(4, "type"), "Unified\n");
    assert_int_equal(host_read(HOST_FIX "/container/proc", sys, &h, NULL), 0);
    assert_int_equal(h.ncaches, 2);
    assert_string_equal(h.caches[0].type, "Data");
    assert_int_equal(h.caches[0].level, 0);
    assert_int_equal(h.caches[0].size, 0);
    assert_int_equal(h.caches[0].num_sharing, 0);
    assert_string_equal(h.caches[1].type, "Unified");
    assert_int_equal(h.caches[1].level, 2);
    assert_int_equal(h.caches[1].size, 2L << 20);
    assert_int_equal(h.caches[1].num_sharing, 5);

    /* More leaves than HOST_MAX_CACHES: the first ones are kept, nothing overflows. */
    for (int i = 0; i < 12; i++) {
        char rel[128];
        snprintf(rel, sizeof(rel), "devices/system/cpu/cpu0/cache/index%d/type", i);
        tmptree_put(sys, rel, "Unified\n");
    }
    assert_int_equal(host_read(HOST_FIX "/container/proc", sys, &h, NULL), 0);
    assert_int_equal(h.ncaches, HOST_MAX_CACHES);
}

/* ---- pure parsers --------------------------------------------------------- */

static void cpuinfo_parser(void **state)
{
    (void)state;
    struct host_info h;
    memset(&h, 0x55, sizeof(h));

    const char *t = "processor\t: 0\nmodel name\t: Foo  Bar \t\ncpu MHz\t\t: 12";
    host_parse_cpuinfo(t, strlen(t), &h); /* no trailing newline */
    assert_int_equal(h.cpus, 1);
    assert_string_equal(h.cpu_model, "Foo  Bar");
    assert_true(h.mhz == 12.0);

    t = "processor\t: 0\nmodel na"; /* cut inside a key */
    host_parse_cpuinfo(t, strlen(t), &h);
    assert_int_equal(h.cpus, 1);
    assert_string_equal(h.cpu_model, "");
    assert_true(h.mhz == 0);

    /* Only the first processor's block counts; a key before any processor line is its. */
    t = "model name : First\nprocessor : 0\ncpu MHz : bad\nprocessor : 1\nmodel name : Second\ncpu MHz : "
        "2000.5\n";
    host_parse_cpuinfo(t, strlen(t), &h);
    assert_int_equal(h.cpus, 2);
    assert_string_equal(h.cpu_model, "First");
    assert_true(h.mhz == 0);

    t = "processor : 0\ncpu MHz : 99999999999999999999.5\n"; /* huge */
    host_parse_cpuinfo(t, strlen(t), &h);
    assert_true(h.mhz == 0);
    t = "processor : 0\ncpu MHz : 3.4GHz\n"; /* trailing garbage */
    host_parse_cpuinfo(t, strlen(t), &h);
    assert_true(h.mhz == 0);
    t = "processor : 0\ncpu MHz : 3400.000  \n";
    host_parse_cpuinfo(t, strlen(t), &h);
    assert_true(h.mhz == 3400.0);

    /* Control and non-ASCII bytes in the model, and a NUL inside the buffer. */
    static const char bin[] = "processor : 0\nmodel name : A\tB\xc3\xa9\x01"
                              "C\nprocessor\0: 1\nprocessor : 2\n";
    host_parse_cpuinfo(bin, sizeof(bin) - 1, &h);
    assert_string_equal(h.cpu_model, "A?B???C");
    assert_int_equal(h.cpus, 2); /* "processor\0" is not "processor" */

    /* len is respected: the second line is past it. */
    t = "processor : 0\nprocessor : 1\n";
    host_parse_cpuinfo(t, 14, &h);
    assert_int_equal(h.cpus, 1);

    host_parse_cpuinfo("", 0, &h);
    assert_int_equal(h.cpus, 0);
    assert_string_equal(h.cpu_model, "");
    host_parse_cpuinfo("::::\n:\nprocessor", 16, &h); /* a key without ':' is not a processor */
    assert_int_equal(h.cpus, 0);

    /* A model name longer than the field is cut, still terminated. */
    char big[600];
    int n = snprintf(big, sizeof(big), "processor : 0\nmodel name : ");
    memset(big + n, 'x', sizeof(big) - (size_t)n);
    host_parse_cpuinfo(big, sizeof(big), &h);
    assert_int_equal(strlen(h.cpu_model), sizeof(h.cpu_model) - 1);
}

static void loadavg_parser(void **state)
{
    (void)state;
    double l[3] = { -1, -1, -1 };
    const char *t = "0.21 0.37 0.39 1/719 19737\n";
    assert_int_equal(host_parse_loadavg(t, strlen(t), l), 0);
    assert_true(l[0] == 0.21 && l[1] == 0.37 && l[2] == 0.39);
    t = "1.00 12.50\t300.25"; /* no trailing newline, a tab */
    assert_int_equal(host_parse_loadavg(t, strlen(t), l), 0);
    assert_true(l[0] == 1.0 && l[1] == 12.5 && l[2] == 300.25);
    t = "123456789.99 0 0\n";
    assert_int_equal(host_parse_loadavg(t, strlen(t), l), 0);
    assert_true(l[0] == 123456789.99);

    static const char *const bad[] = {
        "",
        "\n",
        "0.21 0.37",
        "0.21 0.37 ",
        "0.21 0.37 0.39x",
        "0.21,0.37 0.39",
        "abc",
        ". . .",
        "-1.0 0 0",
        "99999999999999999999.00 0.1 0.2",
        "0.1 0.2 0.3.4",
    };
    l[0] = l[1] = l[2] = 7;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(host_parse_loadavg(bad[i], strlen(bad[i]), l), PK_EPARSE);
        assert_true(l[0] == 7 && l[1] == 7 && l[2] == 7);
    }
    /* Cut by len in the middle of the third number: "0.3" is what there is. */
    t = "0.1 0.2 0.345";
    assert_int_equal(host_parse_loadavg(t, 11, l), 0);
    assert_true(l[2] == 0.3);
}

static void cpulist_parser(void **state)
{
    (void)state;
    bool set[8] = { false };
    const char *t = "0-1,4,6-7\n";
    assert_int_equal(host_parse_cpulist(t, strlen(t), set, 8), 5);
    static const bool want[8] = { true, true, false, false, true, false, true, true };
    assert_memory_equal(set, want, sizeof(want));

    assert_int_equal(host_parse_cpulist("", 0, NULL, 0), 0);
    assert_int_equal(host_parse_cpulist("\n", 1, NULL, 0), 0);
    assert_int_equal(host_parse_cpulist("0", 1, NULL, 0), 1);
    assert_int_equal(host_parse_cpulist("0-1", 3, NULL, 0), 2);
    assert_int_equal(host_parse_cpulist("0-65535\n", 8, NULL, 0), HOST_MAX_CPU);
    assert_int_equal(host_parse_cpulist("0-1,4", 3, NULL, 0), 2); /* len respected */

    /* set is filled only below nset */
    bool small[2] = { false, false };
    assert_int_equal(host_parse_cpulist("1-100", 5, small, 2), 100);
    assert_false(small[0]);
    assert_true(small[1]);

    static const char *const bad[] = {
        "65536", "0-65536", "99999999999999999999",
        "3-1",   "0-1,1",   "4,2",
        "0,",    ",0",      "0--1",
        "a",     "0-",      "-1",
        "0 1",   "0-1\n2",  "1-2:1/2",
        "0,,1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(host_parse_cpulist(bad[i], strlen(bad[i]), NULL, 0), PK_EPARSE);
}

static void cache_size_parser(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        long want;
    } good[] = {
        { "32K\n", 32768 }, { "1024K", 1048576 }, { "16M\n", 16777216 }, { "1G", 1073741824 },
        { "512", 512 },     { "0K", 0 },          { "48k \n", 49152 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        long v = -2;
        assert_int_equal(host_parse_cache_size(good[i].in, strlen(good[i].in), &v), 0);
        assert_int_equal(v, good[i].want);
    }
    static const char *const bad[] = {
        "",
        "\n",
        "K",
        "32KB",
        "32 K",
        "-1K",
        "0x20",
        "99999999999999999999K",
        "9223372036854775807K",
        "8589934592G",
        "3.5M",
        "K32",
        "1T",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long v = -2;
        assert_int_equal(host_parse_cache_size(bad[i], strlen(bad[i]), &v), PK_EPARSE);
        assert_int_equal(v, -2);
    }
    long v = 0;
    assert_int_equal(host_parse_cache_size("9223372036854775807", 19, &v), 0);
    assert_true(v == 9223372036854775807L);
}

static void line_parser(void **state)
{
    (void)state;
    char d[8];
    assert_int_equal(host_parse_line("  vm \t\nnext\n", 13, d, sizeof(d)), 2);
    assert_string_equal(d, "vm");
    assert_int_equal(host_parse_line("abcdefghij", 10, d, sizeof(d)), 7);
    assert_string_equal(d, "abcdefg");
    assert_int_equal(host_parse_line("a\tb\r\n", 5, d, sizeof(d)), 3);
    assert_string_equal(d, "a?b");
    assert_int_equal(host_parse_line("\xff\x7f", 2, d, sizeof(d)), 2);
    assert_string_equal(d, "??");
    assert_int_equal(host_parse_line("", 0, d, sizeof(d)), 0);
    assert_string_equal(d, "");
    assert_int_equal(host_parse_line("xyz", 3, d, 1), 0);
    assert_string_equal(d, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vm_2cpu),
        cmocka_unit_test(node_exporter),
        cmocka_unit_test(container_with_only_cpuinfo),
        cmocka_unit_test(procfs_root_is_the_only_error),
        cmocka_unit_test_setup_teardown(governors, tmptree_setup, tmptree_teardown),
        cmocka_unit_test_setup_teardown(odd_caches, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(cpuinfo_parser),
        cmocka_unit_test(loadavg_parser),
        cmocka_unit_test(cpulist_parser),
        cmocka_unit_test(cache_size_parser),
        cmocka_unit_test(line_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
