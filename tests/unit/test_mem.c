/* nftw() and FTW_DEPTH need X/Open. */
#define _XOPEN_SOURCE 700
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

#include "tmptree.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/mem.h"

#define NE_DIR  PK_FIXTURES "/node_exporter"
#define VM_PROC PK_FIXTURES "/sys/vm-2cpu/proc"

/* ---- node_exporter's expected output ------------------------------------ */

/*
 * One sample of e2e-output.txt: `name{labels} value`. Parsed here rather than
 * copied so the comparison follows the file if it is ever refreshed.
 */
struct sample {
    char name[256];
    bool labelled;
    double value;
};

static struct sample *load_e2e(size_t *n)
{
    FILE *f = fopen(NE_DIR "/e2e-output.txt", "r");
    assert_non_null(f);
    size_t cap = 1024, len = 0;
    struct sample *s = malloc(cap * sizeof(*s));
    assert_non_null(s);
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *brace = strchr(line, '{');
        bool labelled = brace && brace < sp;
        size_t nlen = labelled ? (size_t)(brace - line) : (size_t)(sp - line);
        if (len == cap) {
            cap *= 2;
            s = realloc(s, cap * sizeof(*s));
            assert_non_null(s);
        }
        struct sample *x = &s[len];
        assert_true(nlen < sizeof(x->name));
        memcpy(x->name, line, nlen);
        x->name[nlen] = '\0';
        x->labelled = labelled;
        char *end;
        x->value = strtod(sp + 1, &end);
        assert_true(end != sp + 1);
        len++;
    }
    fclose(f);
    *n = len;
    return s;
}

/* node_exporter's full metric name for an entry. */
static void full_name(const struct mem_entry *en, char *dst, size_t cap)
{
    char base[MEM_KEY_MAX];
    mem_metric_name(en->key, base, sizeof(base));
    snprintf(dst, cap, "node_memory_%s%s", base, en->has_unit ? "_bytes" : "");
}

static void node_exporter_values(void **state)
{
    (void)state;
    struct mem_info m;
    struct pk_err e;
    mem_info_init(&m);
    pk_err_clear(&e);
    assert_int_equal(mem_read(NE_DIR "/proc", &m, &e), 0);
    assert_int_equal(m.n, 42); /* proc/meminfo has 42 lines */

    size_t n;
    struct sample *s = load_e2e(&n);
    bool *seen = calloc(m.n, sizeof(*seen));
    assert_non_null(seen);
    size_t matched = 0;
    for (size_t i = 0; i < n; i++) {
        /* node_memory_numa_* carry a node label and come from sysfs, not meminfo. */
        if (s[i].labelled || strncmp(s[i].name, "node_memory_", 12) != 0)
            continue;
        size_t k;
        for (k = 0; k < m.n; k++) {
            char name[256];
            full_name(&m.entries[k], name, sizeof(name));
            if (strcmp(name, s[i].name) == 0)
                break;
        }
        if (k == m.n)
            fail_msg("%s: no meminfo key gives this name", s[i].name);
        /* integers: exact */
        if ((double)m.entries[k].value != s[i].value)
            fail_msg("%s: got %llu, node_exporter %.17g", s[i].name, (unsigned long long)m.entries[k].value,
                     s[i].value);
        assert_false(seen[k]);
        seen[k] = true;
        matched++;
    }
    /* ... and every key the reader has is one node_exporter printed. */
    for (size_t k = 0; k < m.n; k++)
        if (!seen[k])
            fail_msg("%s: not in node_exporter's output", m.entries[k].key);
    assert_int_equal(matched, m.n);

    /* An old kernel: no MemAvailable, so MemFree + Buffers + Cached. */
    assert_true(m.available_estimated);
    assert_int_equal(m.total, 3742148ull * 1024);
    assert_int_equal(m.available, (225472ull + 22040 + 930888) * 1024);
    assert_true(fabs(m.used_pct - 100.0 * (3742148.0 - 1178400.0) / 3742148.0) < 1e-9);
    assert_int_equal(m.swap_total, 4194300ull * 1024);
    assert_int_equal(m.swap_free, 3155360ull * 1024);
    assert_int_equal(m.swap_used, (4194300ull - 3155360) * 1024);
    assert_true(fabs(m.swap_used_pct - 100.0 * (4194300.0 - 3155360.0) / 4194300.0) < 1e-9);

    free(seen);
    free(s);
    mem_info_destroy(&m);
}

/* ---- the recorded VM ---------------------------------------------------- */

static void vm_2cpu(void **state)
{
    (void)state;
    struct mem_info m;
    mem_info_init(&m);
    assert_int_equal(mem_read(VM_PROC, &m, NULL), 0);
    /* proc/meminfo: 54 lines, first "MemTotal:       24684084 kB" */
    assert_int_equal(m.n, 54);
    assert_string_equal(m.entries[0].key, "MemTotal");
    assert_int_equal(m.total, 24684084ull * 1024);
    assert_int_equal(m.free, 24260108ull * 1024); /* "MemFree:        24260108 kB" */
    assert_false(m.available_estimated);
    assert_int_equal(m.available, 24315784ull * 1024); /* "MemAvailable:   24315784 kB" */
    assert_true(fabs(m.used_pct - 100.0 * (24684084.0 - 24315784.0) / 24684084.0) < 1e-9);
    /* "SwapTotal: 0 kB", "SwapFree: 0 kB": no swap */
    assert_int_equal(m.swap_total, 0);
    assert_int_equal(m.swap_used, 0);
    assert_true(m.swap_used_pct == 0);

    bool found;
    assert_int_equal(mem_get(&m, "Active(anon)", &found), 1536ull * 1024); /* "Active(anon): 1536 kB" */
    assert_true(found);
    assert_int_equal(mem_get(&m, "VmallocTotal", NULL), 34359738367ull * 1024);
    assert_int_equal(mem_get(&m, "DirectMap1G", NULL), 25165824ull * 1024); /* last line */
    const struct mem_entry *hp = mem_find(&m, "HugePages_Total");           /* "HugePages_Total: 0" */
    assert_non_null(hp);
    assert_false(hp->has_unit);
    assert_int_equal(mem_get(&m, "Hugepagesize", NULL), 2048 * 1024);
    assert_int_equal(mem_get(&m, "NoSuchKey", &found), 0);
    assert_false(found);
    assert_null(mem_find(&m, "MemTotal:"));
    mem_info_destroy(&m);
}

/* ---- files that are missing or malformed -------------------------------- */

static void reader_errors(void **state)
{
    const char *root = *state;
    struct mem_info m;
    struct pk_err e;
    char want[512];
    mem_info_init(&m);

    pk_err_clear(&e);
    assert_int_equal(mem_read(root, &m, &e), -ENOENT);
    snprintf(want, sizeof(want), "%s/meminfo", root);
    assert_string_equal(e.on, want);
    assert_int_equal(mem_read("/nonexistent-procfs", &m, &e), -ENOENT);
    assert_int_equal(mem_read(NULL, &m, &e), -EINVAL);

    tmptree_put(root, "meminfo", "MemTotal: 100 kB\nMemFree: 50 kB\nCached: lots\n");
    pk_err_clear(&e);
    assert_int_equal(mem_read(root, &m, &e), PK_EPARSE);
    snprintf(want, sizeof(want), "%s/meminfo:3", root);
    assert_string_equal(e.on, want);
    assert_int_equal(m.n, 0);
    assert_int_equal(m.total, 0);

    tmptree_put(root, "meminfo", "MemTotal: 100 kB\nMemFree: 50 kB\n");
    assert_int_equal(mem_read(root, &m, &e), 0);
    assert_int_equal(m.n, 2);
    assert_true(m.available_estimated);
    assert_int_equal(m.available, 50 * 1024);
    assert_true(m.used_pct == 50.0);
    mem_info_destroy(&m);
}

/* ---- the parser --------------------------------------------------------- */

static int parse(const char *text, struct mem_info *m, struct pk_err *e)
{
    return mem_parse(text, strlen(text), m, e);
}

static void parser_edges(void **state)
{
    (void)state;
    struct mem_info m;
    struct pk_err e;
    mem_info_init(&m);

    assert_int_equal(mem_parse("", 0, &m, NULL), 0);
    assert_int_equal(m.n, 0);
    assert_int_equal(m.total, 0);
    assert_true(m.used_pct == 0);

    /* no trailing newline, tabs, no blank after the colon, blank lines, CRLF */
    assert_int_equal(parse("\nMemTotal:\t1000 kB\r\n  \nHugePages_Free:7\nMemAvailable: 250 kB", &m, NULL),
                     0);
    assert_int_equal(m.n, 3);
    assert_int_equal(m.total, 1024000);
    assert_int_equal(mem_get(&m, "HugePages_Free", NULL), 7);
    assert_false(m.available_estimated);
    assert_true(m.used_pct == 75.0);

    /* huge: the largest kB value that fits bytes, and UINT64_MAX without a unit */
    assert_int_equal(parse("A: 18014398509481983 kB\nB: 18446744073709551615\n", &m, NULL), 0);
    assert_int_equal(mem_get(&m, "A", NULL), 18014398509481983ull * 1024);
    assert_int_equal(mem_get(&m, "B", NULL), UINT64_MAX);

    /* a repeated key keeps its first value */
    assert_int_equal(parse("MemTotal: 1 kB\nMemTotal: 2 kB\n", &m, NULL), 0);
    assert_int_equal(m.n, 1);
    assert_int_equal(m.total, 1024);

    /* available above total (a racy read) is 0 % used, not negative */
    assert_int_equal(
        parse("MemTotal: 10 kB\nMemAvailable: 11 kB\nSwapTotal: 4 kB\nSwapFree: 1 kB\n", &m, NULL), 0);
    assert_true(m.used_pct == 0);
    assert_int_equal(m.swap_used, 3 * 1024);
    assert_true(m.swap_used_pct == 75.0);

    /* the estimate saturates instead of wrapping */
    assert_int_equal(parse("MemFree: 18446744073709551615\nCached: 5\n", &m, NULL), 0);
    assert_int_equal(m.available, UINT64_MAX);

    static const char *const bad[] = {
        "MemTotal:\n",       /* truncated */
        "MemTotal: 1 k",     /* truncated unit, no newline */
        "MemTotal 1 kB\n",   /* no colon */
        ": 1 kB\n",          /* empty key */
        "Mem Total: 1 kB\n", /* blank in key */
        "MemTotal: 1 MB\n",  /* unknown unit */
        "MemTotal: 1 kB extra\n",
        "MemTotal: 1kB\n",
        "MemTotal: -1 kB\n",
        "MemTotal: 0x10\n",
        "MemTotal: 18014398509481984 kB\n", /* bytes past 64 bits */
        "MemTotal: 18446744073709551616\n", /* past 64 bits */
        "\x01\x02\x03\n",
        "Key\x7f: 1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse("MemTotal: 1 kB\n", &m, NULL), 0);
        pk_err_clear(&e);
        if (parse(bad[i], &m, &e) != PK_EPARSE)
            fail_msg("accepted: %s", bad[i]);
        assert_string_equal(e.on, "meminfo:1");
        assert_int_equal(m.n, 0);
        assert_int_equal(m.total, 0);
    }
    /* the line number of the rejected line */
    pk_err_clear(&e);
    assert_int_equal(parse("A: 1\n\nB: 2\nC: x\n", &m, &e), PK_EPARSE);
    assert_string_equal(e.on, "meminfo:4");

    /* a key of MEM_KEY_MAX - 1 bytes fits; one more does not */
    char key[MEM_KEY_MAX + 8];
    memset(key, 'k', MEM_KEY_MAX - 1);
    snprintf(key + MEM_KEY_MAX - 1, 8, ": 1\n");
    assert_int_equal(parse(key, &m, NULL), 0);
    assert_int_equal(strlen(m.entries[0].key), MEM_KEY_MAX - 1);
    memset(key, 'k', MEM_KEY_MAX);
    snprintf(key + MEM_KEY_MAX, 8, ": 1\n");
    assert_int_equal(parse(key, &m, NULL), PK_EPARSE);

    /* NUL inside the buffer, and len respected */
    static const char nul[] = "A: 1\0\n";
    assert_int_equal(mem_parse(nul, sizeof(nul) - 1, &m, NULL), PK_EPARSE);
    assert_int_equal(mem_parse("A: 12 kB", 5, &m, NULL), 0);
    assert_int_equal(mem_get(&m, "A", NULL), 12);

    mem_info_destroy(&m);
}

static void entry_cap(void **state)
{
    (void)state;
    size_t cap = (MEM_MAX_ENTRIES + 1) * 16, off = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int i = 0; i < MEM_MAX_ENTRIES; i++)
        off += (size_t)snprintf(buf + off, cap - off, "K%d: %d kB\n", i, i);
    struct mem_info m;
    mem_info_init(&m);
    assert_int_equal(mem_parse(buf, off, &m, NULL), 0);
    assert_int_equal(m.n, MEM_MAX_ENTRIES);
    assert_int_equal(mem_get(&m, "K1023", NULL), 1023 * 1024);
    off += (size_t)snprintf(buf + off, cap - off, "K%d: 1\n", MEM_MAX_ENTRIES);
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(mem_parse(buf, off, &m, &e), PK_EPARSE);
    assert_string_equal(e.on, "meminfo:1025");
    assert_int_equal(m.n, 0);
    mem_info_destroy(&m);
    free(buf);
}

static void metric_names(void **state)
{
    (void)state;
    static const struct {
        const char *key, *name;
    } cases[] = {
        { "Active(anon)", "Active_anon" },
        { "Inactive(file)", "Inactive_file" },
        { "NFS_Unstable", "NFS_Unstable" },
        { "DirectMap4k", "DirectMap4k" },
        { "Committed_AS", "Committed_AS" },
        { "a.b-c", "a_b_c" },
        { "", "" },
        { "x(y)z", "x_yz" },
        { "\xc3\xa9", "__" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char dst[64];
        assert_int_equal(mem_metric_name(cases[i].key, dst, sizeof(dst)), strlen(cases[i].name));
        assert_string_equal(dst, cases[i].name);
    }
    char small[5];
    assert_int_equal(mem_metric_name("Active(anon)", small, sizeof(small)), 11);
    assert_string_equal(small, "Acti");
    assert_int_equal(mem_metric_name("Active(anon)", NULL, 0), 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_exporter_values),
        cmocka_unit_test(vm_2cpu),
        cmocka_unit_test_setup_teardown(reader_errors, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(parser_edges),
        cmocka_unit_test(entry_cap),
        cmocka_unit_test(metric_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
