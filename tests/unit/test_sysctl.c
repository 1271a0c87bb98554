#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sys/sysctl.h"

#define NE_DIR  PK_FIXTURES "/node_exporter"
#define VM_PROC PK_FIXTURES "/sys/vm-2cpu/proc"
#define VM_SYS  PK_FIXTURES "/sys/vm-2cpu/sys"

/* ---- node_exporter's expected output ------------------------------------ */

/* The value of the unlabelled sample `name` in e2e-output.txt; fails if absent. */
static double e2e_value(const char *name)
{
    FILE *f = fopen(NE_DIR "/e2e-output.txt", "r");
    assert_non_null(f);
    char line[4096];
    size_t n = strlen(name);
    double v = 0;
    bool found = false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ' ') {
            char *end;
            v = strtod(line + n + 1, &end);
            assert_true(end != line + n + 1);
            assert_false(found);
            found = true;
        }
    }
    fclose(f);
    if (!found)
        fail_msg("%s: not in e2e-output.txt", name);
    return v;
}

static void node_exporter_filefd(void **state)
{
    (void)state;
    struct sysctl_file_nr f;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_file_nr(NE_DIR "/proc", &f, &e), 0);
    /* integers: exact */
    assert_true((double)f.allocated == e2e_value("node_filefd_allocated"));
    assert_true((double)f.max == e2e_value("node_filefd_maximum"));
    assert_int_equal(f.unused, 0); /* proc/sys/fs/file-nr: "1024\t0\t1631329" */
}

/* ---- the recorded VM ---------------------------------------------------- */

static int64_t int_of(const char *name)
{
    int64_t v = -12345;
    struct pk_err e;
    pk_err_clear(&e);
    if (sysctl_read_int(VM_PROC, name, &v, &e) != 0)
        fail_msg("%s: %s %s %s", name, e.on, e.what, e.why);
    return v;
}

static void vm_2cpu(void **state)
{
    (void)state;
    /* each from proc/sys/<name with dots as slashes> */
    assert_int_equal(int_of("vm.swappiness"), 60);
    assert_int_equal(int_of("vm.overcommit_memory"), 0);
    assert_int_equal(int_of("vm.min_free_kbytes"), 67584);
    assert_int_equal(int_of("net.core.somaxconn"), 4096);
    assert_int_equal(int_of("net.core.netdev_max_backlog"), 1000);
    assert_int_equal(int_of("net.core.rmem_max"), 4194304);
    assert_int_equal(int_of("net.core.wmem_max"), 4194304);
    assert_int_equal(int_of("net.ipv4.tcp_max_syn_backlog"), 2048);
    assert_int_equal(int_of("net.ipv4.tcp_tw_reuse"), 2);
    assert_int_equal(int_of("net.ipv4.tcp_fin_timeout"), 60);
    assert_int_equal(int_of("kernel.perf_event_paranoid"), 2);
    assert_int_equal(int_of("kernel.numa_balancing"), 0);
    assert_int_equal(int_of("fs.file-max"), 2466170);
    /* the path form of a name reads the same file */
    assert_int_equal(int_of("net/core/somaxconn"), 4096);

    uint64_t u = 0;
    assert_int_equal(sysctl_read_uint(VM_PROC, "fs.file-max", &u, NULL), 0);
    assert_int_equal(u, 2466170);

    /* proc/sys/net/ipv4/ip_local_port_range: "32768\t60999" */
    int64_t range[4];
    size_t n = 0;
    assert_int_equal(sysctl_read_ints(VM_PROC, "net.ipv4.ip_local_port_range", range, 4, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(range[0], 32768);
    assert_int_equal(range[1], 60999);

    char s[64];
    /* proc/sys/net/ipv4/tcp_congestion_control: "bbr" */
    assert_int_equal(sysctl_read_string(VM_PROC, "net.ipv4.tcp_congestion_control", s, sizeof(s), NULL), 0);
    assert_string_equal(s, "bbr");
    /* proc/sys/net/ipv4/tcp_available_congestion_control: "reno bbr cubic" */
    assert_int_equal(
        sysctl_read_string(VM_PROC, "net.ipv4.tcp_available_congestion_control", s, sizeof(s), NULL), 0);
    assert_string_equal(s, "reno bbr cubic");

    /* proc/sys/fs/file-nr: "454\t0\t2466170" */
    struct sysctl_file_nr f;
    assert_int_equal(sysctl_read_file_nr(VM_PROC, &f, NULL), 0);
    assert_int_equal(f.allocated, 454);
    assert_int_equal(f.unused, 0);
    assert_int_equal(f.max, 2466170);

    /* sys/kernel/mm/transparent_hugepage/enabled: "always [madvise] never" */
    struct sysctl_choice c;
    assert_int_equal(sysctl_read_choice(VM_SYS, "kernel/mm/transparent_hugepage/enabled", &c, NULL), 0);
    assert_string_equal(c.selected, "madvise");
    assert_int_equal(c.nchoices, 3);
    assert_string_equal(c.choices[0], "always");
    assert_string_equal(c.choices[1], "madvise");
    assert_string_equal(c.choices[2], "never");
    /* sys/kernel/mm/transparent_hugepage/defrag: "always defer defer+madvise [madvise] never" */
    assert_int_equal(sysctl_read_choice(VM_SYS, "kernel/mm/transparent_hugepage/defrag", &c, NULL), 0);
    assert_string_equal(c.selected, "madvise");
    assert_int_equal(c.nchoices, 5);
    assert_string_equal(c.choices[2], "defer+madvise");
    assert_string_equal(c.choices[4], "never");
}

static void reader_errors(void **state)
{
    (void)state;
    struct pk_err e;
    int64_t v;
    uint64_t u;
    char s[64];

    /* a sysctl this kernel does not have */
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_int(VM_PROC, "kernel.no_such_sysctl", &v, &e), -ENOENT);
    assert_string_equal(e.on, VM_PROC "/sys/kernel/no_such_sysctl");
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_file_nr(PK_FIXTURES "/no-such-tree", NULL, &e), -ENOENT);
    assert_string_equal(e.on, PK_FIXTURES "/no-such-tree");
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_choice(VM_SYS, "kernel/mm/no_such", NULL, &e), -ENOENT);
    assert_string_equal(e.on, VM_SYS "/kernel/mm/no_such");

    /* a value of another shape */
    v = 7;
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_int(VM_PROC, "net.ipv4.tcp_congestion_control", &v, &e), PK_EPARSE);
    assert_string_equal(e.on, VM_PROC "/sys/net/ipv4/tcp_congestion_control");
    assert_non_null(strstr(e.why, "'bbr'"));
    assert_int_equal(v, 7);
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_int(VM_PROC, "net.ipv4.ip_local_port_range", &v, &e), PK_EPARSE);
    assert_non_null(strstr(e.why, "'32768?60999'"));
    assert_int_equal(sysctl_read_uint(VM_PROC, "kernel.perf_event_paranoid", &u, NULL), 0);
    assert_int_equal(sysctl_read_uint(VM_PROC, "net.ipv4.ip_local_port_range", &u, NULL), PK_EPARSE);
    struct sysctl_choice c;
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_choice(VM_PROC, "sys/vm/swappiness", &c, &e), PK_EPARSE);
    assert_string_equal(e.on, VM_PROC "/sys/vm/swappiness");
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_file_nr(PK_FIXTURES "/sys/vm-2cpu", NULL, &e), -ENOENT);

    /* a list longer than the caller's array, a string longer than its buffer */
    int64_t one[1];
    size_t n = 0;
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_ints(VM_PROC, "net.ipv4.ip_local_port_range", one, 1, &n, &e), -E2BIG);
    assert_int_equal(n, 1);
    assert_int_equal(one[0], 32768);
    assert_int_equal(sysctl_read_ints(VM_PROC, "net.ipv4.tcp_congestion_control", one, 1, &n, NULL),
                     PK_EPARSE);
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_string(VM_PROC, "net.ipv4.tcp_congestion_control", s, 3, &e), -EOVERFLOW);
    assert_string_equal(e.on, VM_PROC "/sys/net/ipv4/tcp_congestion_control");
    assert_int_equal(sysctl_read_string(VM_PROC, "net.ipv4.tcp_congestion_control", s, 4, NULL), 0);
    assert_string_equal(s, "bbr");

    /* names that would leave sys/ or are not names */
    pk_err_clear(&e);
    assert_int_equal(sysctl_read_int(VM_PROC, "../../etc/passwd", &v, &e), -EINVAL);
    assert_string_equal(e.on, "../../etc/passwd");
    assert_int_equal(sysctl_read_int(VM_PROC, NULL, &v, NULL), -EINVAL);
    assert_int_equal(sysctl_read_int(NULL, "vm.swappiness", &v, NULL), -EINVAL);
    /* a directory, not a value */
    assert_int_equal(sysctl_read_int(VM_PROC, "net.core", &v, NULL), -EISDIR);
}

/* ---- names -------------------------------------------------------------- */

static void names(void **state)
{
    (void)state;
    static const struct {
        const char *name, *path;
    } good[] = {
        { "net.core.somaxconn", "sys/net/core/somaxconn" },
        { "vm.swappiness", "sys/vm/swappiness" },
        { "fs.file-max", "sys/fs/file-max" },
        { "net.ipv4.conf.eth0/100.rp_filter", "sys/net/ipv4/conf/eth0.100/rp_filter" },
        { "net/ipv4/conf/eth0.100/rp_filter", "sys/net/ipv4/conf/eth0.100/rp_filter" },
        { "kernel", "sys/kernel" },
        { "a/b...c", "sys/a/b...c" }, /* path form: dots are literal, "b...c" is a name */
    };
    char dst[SYSCTL_NAME_MAX + 8];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(sysctl_path(good[i].name, dst, sizeof(dst)), 0);
        assert_string_equal(dst, good[i].path);
    }
    static const char *const bad[] = {
        "",
        ".",
        "..",
        ".a",
        "a.",
        "a..b",
        "a//b",
        "/a",
        "a/",
        "../etc/passwd",
        "a/../b",
        "a/./b",
        "a/..",
        "a...b/c",
        "net.core.some maxconn",
        "net.core.\x01",
        "net.core.\xc3\xa9",
        "a\tb",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sysctl_path(bad[i], dst, sizeof(dst)) != -EINVAL)
            fail_msg("accepted name: '%s'", bad[i]);
    assert_int_equal(sysctl_path(NULL, dst, sizeof(dst)), -EINVAL);

    /* length limits: the name, and the caller's buffer */
    char longname[SYSCTL_NAME_MAX + 1];
    memset(longname, 'a', SYSCTL_NAME_MAX - 1);
    longname[SYSCTL_NAME_MAX - 1] = '\0';
    assert_int_equal(sysctl_path(longname, dst, sizeof(dst)), 0);
    assert_int_equal(strlen(dst), 4 + SYSCTL_NAME_MAX - 1);
    longname[SYSCTL_NAME_MAX - 1] = 'a';
    longname[SYSCTL_NAME_MAX] = '\0';
    assert_int_equal(sysctl_path(longname, dst, sizeof(dst)), -ENAMETOOLONG);
    char small[10];
    assert_int_equal(sysctl_path("vm.swappi", small, sizeof(small)), -ENAMETOOLONG); /* needs 14 */
    assert_int_equal(sysctl_path("vm.swap", small, sizeof(small)), -ENAMETOOLONG);   /* needs 12 */
    assert_int_equal(sysctl_path("vm.sw", small, sizeof(small)), 0);                 /* exactly 10 */
    assert_string_equal(small, "sys/vm/sw");
}

/* ---- parsers ------------------------------------------------------------ */

static void int_parsers(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t want;
    } good[] = {
        { "60\n", 60 },
        { "0", 0 },
        { "-1\n", -1 },
        { "  42 \t\n", 42 },
        { "9223372036854775807\n", INT64_MAX },
        { "-9223372036854775808", INT64_MIN },
        { "007", 7 },
        { "-0", 0 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t v = 99;
        assert_int_equal(sysctl_parse_int(good[i].in, strlen(good[i].in), &v), 0);
        assert_true(v == good[i].want);
    }
    static const char *const bad[] = {
        "",
        "\n",
        "-",
        "--1",
        "+1",
        "1 2",
        "1\t2\n",
        "0x10",
        "1.5",
        "abc",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999999",
        "1-",
        "- 1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 99;
        if (sysctl_parse_int(bad[i], strlen(bad[i]), &v) != PK_EPARSE)
            fail_msg("accepted int: '%s'", bad[i]);
        assert_true(v == 99);
    }
    static const char nul[] = "1\0";
    int64_t v = 99;
    assert_int_equal(sysctl_parse_int(nul, 2, &v), PK_EPARSE);
    assert_int_equal(sysctl_parse_int("123", 2, &v), 0); /* len respected */
    assert_true(v == 12);

    uint64_t u = 5;
    assert_int_equal(sysctl_parse_uint("18446744073709551615\n", 21, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(sysctl_parse_uint("18446744073709551616", 20, &u), PK_EPARSE);
    assert_int_equal(sysctl_parse_uint("-1", 2, &u), PK_EPARSE);
    assert_int_equal(sysctl_parse_uint("", 0, &u), PK_EPARSE);
    assert_int_equal(sysctl_parse_uint("1 2", 3, &u), PK_EPARSE);
    assert_true(u == UINT64_MAX);
}

static void list_parser(void **state)
{
    (void)state;
    int64_t v[4] = { 9, 9, 9, 9 };
    size_t n = 0;
    const char *t = "4096\t131072\t6291456\n"; /* net.ipv4.tcp_rmem's shape */
    assert_int_equal(sysctl_parse_ints(t, strlen(t), v, 4, &n), 0);
    assert_int_equal(n, 3);
    assert_true(v[0] == 4096 && v[1] == 131072 && v[2] == 6291456 && v[3] == 9);
    t = "-1 0\n7"; /* no trailing newline, a line break between */
    assert_int_equal(sysctl_parse_ints(t, strlen(t), v, 4, &n), 0);
    assert_int_equal(n, 3);
    assert_true(v[0] == -1 && v[2] == 7);

    static const char *const bad[] = { "", " \n", "1 x", "1,2", "1 2-", "1 99999999999999999999", "x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t w[2] = { 5, 5 };
        n = 77;
        if (sysctl_parse_ints(bad[i], strlen(bad[i]), w, 2, &n) != PK_EPARSE)
            fail_msg("accepted list: '%s'", bad[i]);
        assert_true(w[0] == 5 && w[1] == 5 && n == 77);
    }
    int64_t w[2];
    t = "1 2 3";
    assert_int_equal(sysctl_parse_ints(t, strlen(t), w, 2, &n), -E2BIG);
    assert_int_equal(n, 2);
    assert_true(w[0] == 1 && w[1] == 2);
    assert_int_equal(sysctl_parse_ints(t, strlen(t), NULL, 0, &n), -E2BIG);
    assert_int_equal(n, 0);
}

static void choice_parser(void **state)
{
    (void)state;
    struct sysctl_choice c;
    const char *t = "[mq-deadline] kyber bfq none\n";
    assert_int_equal(sysctl_parse_choice(t, strlen(t), &c), 0);
    assert_string_equal(c.selected, "mq-deadline");
    assert_int_equal(c.nchoices, 4);
    assert_string_equal(c.choices[0], "mq-deadline");
    assert_string_equal(c.choices[3], "none");
    t = "none [mq-deadline] kyber bfq \n"; /* queue/scheduler as the kernel prints it, blank at the end */
    assert_int_equal(sysctl_parse_choice(t, strlen(t), &c), 0);
    assert_string_equal(c.selected, "mq-deadline");
    assert_int_equal(c.nchoices, 4);
    assert_string_equal(c.choices[0], "none");
    assert_string_equal(c.choices[3], "bfq");
    t = "[none]"; /* a queue without schedulers; no trailing newline */
    assert_int_equal(sysctl_parse_choice(t, strlen(t), &c), 0);
    assert_string_equal(c.selected, "none");
    assert_int_equal(c.nchoices, 1);
    t = "  always\t[never]\n";
    assert_int_equal(sysctl_parse_choice(t, strlen(t), &c), 0);
    assert_string_equal(c.selected, "never");

    /* the longest choice that fits, and the most choices */
    char buf[SYSCTL_CHOICE_MAX * (SYSCTL_MAX_CHOICES + 2) + 8];
    memset(buf, 'x', SYSCTL_CHOICE_MAX - 1);
    snprintf(buf + SYSCTL_CHOICE_MAX - 1, 8, " [y]");
    assert_int_equal(sysctl_parse_choice(buf, strlen(buf), &c), 0);
    assert_int_equal(strlen(c.choices[0]), SYSCTL_CHOICE_MAX - 1);
    size_t off = 0;
    for (int i = 0; i < SYSCTL_MAX_CHOICES; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, i == 3 ? "[c%d] " : "c%d ", i);
    assert_int_equal(sysctl_parse_choice(buf, off, &c), 0);
    assert_int_equal(c.nchoices, SYSCTL_MAX_CHOICES);
    assert_string_equal(c.selected, "c3");

    memset(&c, 0x5a, sizeof(c));
    struct sysctl_choice before = c;
    off += (size_t)snprintf(buf + off, sizeof(buf) - off, "one-too-many");
    assert_int_equal(sysctl_parse_choice(buf, off, &c), PK_EPARSE);
    memset(buf, 'x', SYSCTL_CHOICE_MAX);
    snprintf(buf + SYSCTL_CHOICE_MAX, 8, " [y]");
    assert_int_equal(sysctl_parse_choice(buf, strlen(buf), &c), PK_EPARSE);

    static const char *const bad[] = {
        "",      "\n",   "always madvise never\n", "[always] [never]", "[]",    "a [] b", "a[b]", "[a", "a]",
        "[[a]]", "[a]b", "always [mad\x01vise]",   "[\xc3\xa9]",       "[a b]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sysctl_parse_choice(bad[i], strlen(bad[i]), &c) != PK_EPARSE)
            fail_msg("accepted choices: '%s'", bad[i]);
    assert_memory_equal(&c, &before, sizeof(c)); /* untouched on failure */

    t = "[a] b"; /* len respected: "[a" */
    assert_int_equal(sysctl_parse_choice(t, 2, &c), PK_EPARSE);
}

static void file_nr_and_string_parsers(void **state)
{
    (void)state;
    struct sysctl_file_nr f = { 1, 2, 3 };
    const char *t = "1024\t0\t9223372036854775807"; /* max = LONG_MAX, no trailing newline */
    assert_int_equal(sysctl_parse_file_nr(t, strlen(t), &f), 0);
    assert_int_equal(f.allocated, 1024);
    assert_true(f.max == INT64_MAX);
    static const char *const bad[] = {
        "",       "\n",    "1 2",   "1 2\n",  "1 2 3 4",
        "1 2 3x", "1\t\t", "a b c", "-1 0 5", "1 0 18446744073709551616",
        "1 0\n5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f = (struct sysctl_file_nr){ 1, 2, 3 };
        if (sysctl_parse_file_nr(bad[i], strlen(bad[i]), &f) != PK_EPARSE)
            fail_msg("accepted file-nr: '%s'", bad[i]);
        assert_true(f.allocated == 1 && f.unused == 2 && f.max == 3);
    }

    char s[9];
    t = "  reno bbr\n"; /* 8 bytes and the NUL: exactly fits */
    assert_int_equal(sysctl_parse_string(t, strlen(t), s, sizeof(s)), 0);
    assert_string_equal(s, "reno bbr");
    memcpy(s, "keep", 5);
    t = "123456789";
    assert_int_equal(sysctl_parse_string(t, strlen(t), s, sizeof(s)), -EOVERFLOW);
    assert_string_equal(s, "keep");
    assert_int_equal(sysctl_parse_string("\n", 1, s, sizeof(s)), 0);
    assert_string_equal(s, "");
    assert_int_equal(sysctl_parse_string("a\0b", 3, s, sizeof(s)), PK_EPARSE);
    assert_int_equal(sysctl_parse_string("x", 1, s, 0), -EOVERFLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_exporter_filefd), cmocka_unit_test(vm_2cpu),
        cmocka_unit_test(reader_errors),        cmocka_unit_test(names),
        cmocka_unit_test(int_parsers),          cmocka_unit_test(list_parser),
        cmocka_unit_test(choice_parser),        cmocka_unit_test(file_nr_and_string_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
