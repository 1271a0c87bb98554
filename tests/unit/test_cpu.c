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

#include "sys/cpu.h"

#define NE_DIR  PK_FIXTURES "/node_exporter"
#define VM_PROC PK_FIXTURES "/sys/vm-2cpu/proc"

/* ---- node_exporter's expected output ------------------------------------ */

/*
 * One sample of e2e-output.txt: `name{labels} value`. Parsed here rather than
 * copied so the comparison follows the file if it is ever refreshed.
 */
struct sample {
    char name[256];
    char labels[2048]; /* between the braces, "" without */
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
        size_t nlen = brace && brace < sp ? (size_t)(brace - line) : (size_t)(sp - line);
        if (len == cap) {
            cap *= 2;
            s = realloc(s, cap * sizeof(*s));
            assert_non_null(s);
        }
        struct sample *x = &s[len];
        assert_true(nlen < sizeof(x->name));
        memcpy(x->name, line, nlen);
        x->name[nlen] = '\0';
        x->labels[0] = '\0';
        if (brace && brace < sp) {
            char *close = strrchr(line, '}');
            assert_non_null(close);
            size_t llen = (size_t)(close - brace - 1);
            assert_true(llen < sizeof(x->labels));
            memcpy(x->labels, brace + 1, llen);
            x->labels[llen] = '\0';
        }
        char *end;
        x->value = strtod(sp + 1, &end);
        assert_true(end != sp + 1);
        len++;
    }
    fclose(f);
    *n = len;
    return s;
}

/* The value of label key in a sample's labels ("cpu=\"3\",mode=\"idle\""). */
static void label(const struct sample *x, const char *key, char *dst, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "%s=\"", key);
    const char *p = strstr(x->labels, pat);
    dst[0] = '\0';
    if (!p)
        return;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    assert_non_null(q);
    size_t n = (size_t)(q - p);
    assert_true(n < cap);
    memcpy(dst, p, n);
    dst[n] = '\0';
}

static void assert_seconds(double got, double want)
{
    double tol = 1e-9 * fabs(want);
    if (fabs(got - want) > tol)
        fail_msg("seconds: got %.17g, node_exporter %.17g", got, want);
}

static const struct cpu_times *cpu_by_number(const struct cpu_stat *st, int cpu)
{
    for (size_t i = 0; i < st->ncpus; i++)
        if (st->cpus[i].cpu == cpu)
            return &st->cpus[i];
    return NULL;
}

static int mode_by_name(const char *name)
{
    for (int m = 0; m < CPU_NMODES; m++)
        if (strcmp(cpu_mode_name(m), name) == 0)
            return m;
    return -1;
}

static void node_exporter_values(void **state)
{
    (void)state;
    struct cpu_stat st;
    struct pk_err e;
    cpu_stat_init(&st);
    pk_err_clear(&e);
    assert_int_equal(cpu_read(NE_DIR "/proc", &st, &e), 0);
    assert_int_equal(st.user_hz, 100);

    size_t n;
    struct sample *s = load_e2e(&n);
    size_t nsec = 0, nguest = 0, nscalar = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sample *x = &s[i];
        bool guest = strcmp(x->name, "node_cpu_guest_seconds_total") == 0;
        if (guest || strcmp(x->name, "node_cpu_seconds_total") == 0) {
            char cpu[16], mode[32];
            label(x, "cpu", cpu, sizeof(cpu));
            label(x, "mode", mode, sizeof(mode));
            char *end;
            long num = strtol(cpu, &end, 10);
            assert_true(cpu[0] && *end == '\0');
            const struct cpu_times *t = cpu_by_number(&st, (int)num);
            assert_non_null(t);
            int m;
            if (guest) {
                /* node_exporter: guest -> {mode="user"}, guest_nice -> {mode="nice"} */
                assert_true(strcmp(mode, "user") == 0 || strcmp(mode, "nice") == 0);
                m = strcmp(mode, "user") == 0 ? CPU_GUEST : CPU_GUEST_NICE;
                nguest++;
            } else {
                m = mode_by_name(mode);
                assert_true(m >= 0 && m < CPU_GUEST);
                nsec++;
            }
            assert_seconds(cpu_seconds(t, m), x->value);
            continue;
        }
        static const struct {
            const char *name;
            unsigned flag;
            size_t off;
        } scalars[] = {
            { "node_context_switches_total", CPU_HAVE_CTXT, offsetof(struct cpu_stat, ctxt) },
            { "node_forks_total", CPU_HAVE_PROCESSES, offsetof(struct cpu_stat, processes) },
            { "node_intr_total", CPU_HAVE_INTR, offsetof(struct cpu_stat, intr) },
            { "node_procs_running", CPU_HAVE_RUNNING, offsetof(struct cpu_stat, procs_running) },
            { "node_procs_blocked", CPU_HAVE_BLOCKED, offsetof(struct cpu_stat, procs_blocked) },
            { "node_boot_time_seconds", CPU_HAVE_BTIME, offsetof(struct cpu_stat, btime) },
        };
        for (size_t k = 0; k < sizeof(scalars) / sizeof(scalars[0]); k++) {
            if (strcmp(x->name, scalars[k].name) != 0)
                continue;
            uint64_t v;
            memcpy(&v, (const char *)&st + scalars[k].off, sizeof(v));
            assert_true(st.have & scalars[k].flag);
            /* integers: exact */
            if ((double)v != x->value)
                fail_msg("%s: got %llu, node_exporter %.17g", x->name, (unsigned long long)v, x->value);
            nscalar++;
        }
    }
    /* Every CPU and mode the reader has is in node_exporter's output, and the reverse. */
    assert_int_equal(st.ncpus, 8);
    assert_int_equal(nsec, st.ncpus * 8);
    assert_int_equal(nguest, st.ncpus * 2);
    assert_int_equal(nscalar, 6);
    free(s);
    cpu_stat_destroy(&st);
}

/* ---- the recorded VM ---------------------------------------------------- */

static void vm_2cpu(void **state)
{
    (void)state;
    struct cpu_stat st;
    cpu_stat_init(&st);
    assert_int_equal(cpu_read(VM_PROC, &st, NULL), 0);
    /* proc/stat: "cpu  139556 0 30933 372067 837 0 216 86 0 0" */
    static const uint64_t total[CPU_NMODES] = { 139556, 0, 30933, 372067, 837, 0, 216, 86, 0, 0 };
    static const uint64_t cpu0[CPU_NMODES] = { 49211, 0, 15261, 207093, 84, 0, 89, 43, 0, 0 };
    static const uint64_t cpu1[CPU_NMODES] = { 90345, 0, 15672, 164974, 752, 0, 126, 42, 0, 0 };
    assert_true(st.have & CPU_HAVE_TOTAL);
    assert_int_equal(st.total.cpu, -1);
    assert_int_equal(st.total.nmodes, 10);
    assert_memory_equal(st.total.ticks, total, sizeof(total));
    assert_int_equal(st.ncpus, 2);
    assert_int_equal(st.cpus[0].cpu, 0); /* "cpu0 49211 0 15261 207093 84 0 89 43 0 0" */
    assert_memory_equal(st.cpus[0].ticks, cpu0, sizeof(cpu0));
    assert_int_equal(st.cpus[1].cpu, 1); /* "cpu1 90345 0 15672 164974 752 0 126 42 0 0" */
    assert_memory_equal(st.cpus[1].ticks, cpu1, sizeof(cpu1));
    assert_true(cpu_seconds(&st.total, CPU_USER) == 1395.56);
    assert_true(cpu_seconds(&st.cpus[1], CPU_STEAL) == 0.42);
    assert_int_equal(st.have, CPU_HAVE_TOTAL | CPU_HAVE_CTXT | CPU_HAVE_BTIME | CPU_HAVE_PROCESSES |
                                  CPU_HAVE_RUNNING | CPU_HAVE_BLOCKED | CPU_HAVE_INTR);
    assert_int_equal(st.intr, 1135848);     /* "intr 1135848 0 0 ..." */
    assert_int_equal(st.ctxt, 5033423);     /* "ctxt 5033423" */
    assert_int_equal(st.btime, 1795485324); /* "btime 1795485324" */
    assert_int_equal(st.processes, 589365); /* "processes 589365" */
    assert_int_equal(st.procs_running, 1);  /* "procs_running 1" */
    assert_int_equal(st.procs_blocked, 0);  /* "procs_blocked 0" */
    cpu_stat_destroy(&st);
}

/* ---- files that are missing or malformed -------------------------------- */

static void reader_errors(void **state)
{
    const char *root = *state;
    struct cpu_stat st;
    struct pk_err e;
    char want[512];
    cpu_stat_init(&st);

    pk_err_clear(&e);
    assert_int_equal(cpu_read(root, &st, &e), -ENOENT); /* no stat in the tree */
    snprintf(want, sizeof(want), "%s/stat", root);
    assert_string_equal(e.on, want);

    pk_err_clear(&e);
    assert_int_equal(cpu_read("/nonexistent-procfs", &st, &e), -ENOENT);
    assert_string_equal(e.on, "/nonexistent-procfs");
    assert_int_equal(cpu_read(NULL, &st, &e), -EINVAL);

    tmptree_put(root, "stat", "cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu1 1 2\nctxt 5\n");
    pk_err_clear(&e);
    assert_int_equal(cpu_read(root, &st, &e), PK_EPARSE);
    snprintf(want, sizeof(want), "%s/stat:3", root);
    assert_string_equal(e.on, want);
    assert_int_equal(st.ncpus, 0);
    assert_int_equal(st.have, 0);

    tmptree_put(root, "stat", "cpu  1 2 3 4\ncpu0 1 2 3 4\n");
    assert_int_equal(cpu_read(root, &st, &e), 0);
    assert_int_equal(st.ncpus, 1);
    cpu_stat_destroy(&st);
}

/* ---- the parser --------------------------------------------------------- */

static int parse(const char *text, struct cpu_stat *st, struct pk_err *e)
{
    return cpu_parse_stat(text, strlen(text), st, e);
}

static void parser_edges(void **state)
{
    (void)state;
    struct cpu_stat st;
    struct pk_err e;
    cpu_stat_init(&st);

    /* empty: nothing known, not an error */
    assert_int_equal(cpu_parse_stat("", 0, &st, NULL), 0);
    assert_int_equal(st.have, 0);
    assert_int_equal(st.ncpus, 0);

    /* no trailing newline, CRLF, tabs; an old kernel's four fields */
    assert_int_equal(parse("cpu 1 2 3 4\r\ncpu0\t5 6 7 8 9\nctxt 10", &st, NULL), 0);
    assert_int_equal(st.total.nmodes, 4);
    assert_true(st.total.ticks[CPU_IDLE] == 4 && st.total.ticks[CPU_IOWAIT] == 0);
    assert_int_equal(st.cpus[0].nmodes, 5);
    assert_true(st.cpus[0].ticks[CPU_IOWAIT] == 9);
    assert_true(st.ctxt == 10);

    /* more fields than known: the first ten are kept, the rest not even looked at */
    assert_int_equal(parse("cpu 1 2 3 4 5 6 7 8 9 10 11 x\n", &st, NULL), 0);
    assert_int_equal(st.total.nmodes, 10);
    assert_true(st.total.ticks[CPU_GUEST_NICE] == 10);

    /* huge: UINT64_MAX is a count; one more is not */
    assert_int_equal(parse("cpu 18446744073709551615 0 0 0\nprocesses 18446744073709551615\n", &st, NULL), 0);
    assert_true(st.total.ticks[CPU_USER] == UINT64_MAX);
    assert_true(st.processes == UINT64_MAX);

    /* unknown keys are skipped, including cpu-something that is not cpuN */
    assert_int_equal(parse("softirq 1 2 3\nfoo\n\n  \ncpufreq 3\ncpu0x 1\nintr 7 8 9 junk\n", &st, NULL), 0);
    assert_int_equal(st.have, CPU_HAVE_INTR);
    assert_true(st.intr == 7);
    assert_int_equal(st.ncpus, 0);

    /* the largest CPU number allowed, and gaps (offline CPUs) */
    assert_int_equal(parse("cpu0 1 1 1 1\ncpu5 1 1 1 1\ncpu65535 1 1 1 1\n", &st, NULL), 0);
    assert_int_equal(st.ncpus, 3);
    assert_int_equal(st.cpus[2].cpu, 65535);

    static const struct {
        const char *text;
        const char *on;
    } bad[] = {
        { "cpu0 1 2 3\n", "stat:1" },          /* truncated */
        { "cpu 1 2 3 4\ncpu0 1 2", "stat:2" }, /* truncated, no newline */
        { "cpu 1 2 x 4\n", "stat:1" },         /* garbage */
        { "cpu 1 2 3 4x\n", "stat:1" },
        { "cpu 1 2 3 -4\n", "stat:1" },
        { "cpu 18446744073709551616 0 0 0\n", "stat:1" }, /* past 64 bits */
        { "cpu65536 1 2 3 4\n", "stat:1" },               /* past CPU_MAX_CPUS */
        { "cpu99999999999999999999999 1 2 3 4\n", "stat:1" },
        { "cpu1 1 2 3 4\ncpu0 1 2 3 4\n", "stat:2" }, /* out of order */
        { "cpu0 1 2 3 4\ncpu0 1 2 3 4\n", "stat:2" }, /* repeated */
        { "cpu 1 2 3 4\ncpu 1 2 3 4\n", "stat:2" },
        { "ctxt\n", "stat:1" },
        { "ctxt 1 2\n", "stat:1" },
        { "ctxt 1x\n", "stat:1" },
        { "ctxt 1\nctxt 2\n", "stat:2" },
        { "btime -1\n", "stat:1" },
        { "intr\n", "stat:1" },
        { "intr x 1\n", "stat:1" },
        { "procs_running 99999999999999999999\n", "stat:1" },
        { "cpu\n", "stat:1" },
        { "cpu 1 2 3 4\0\n", NULL }, /* NUL: see below */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) - 1; i++) {
        pk_err_clear(&e);
        assert_int_equal(parse("cpu0 1 1 1 1\n", &st, NULL), 0);
        if (parse(bad[i].text, &st, &e) != PK_EPARSE)
            fail_msg("accepted: %s", bad[i].text);
        assert_int_equal(e.code, PK_EPARSE);
        assert_string_equal(e.on, bad[i].on);
        assert_int_equal(st.ncpus, 0);
        assert_int_equal(st.have, 0);
    }
    static const char nul[] = "cpu 1 2 3 4\0\n";
    assert_int_equal(cpu_parse_stat(nul, sizeof(nul) - 1, &st, NULL), PK_EPARSE);

    /* len is respected: "cpu 1 2 3 45" cut after "4" */
    assert_int_equal(cpu_parse_stat("cpu 1 2 3 45", 11, &st, NULL), 0);
    assert_true(st.total.ticks[CPU_IDLE] == 4);

    cpu_stat_destroy(&st);
}

/* No fixed small cap: thousands of CPUs, and a reused struct shrinks and grows. */
static void many_cpus(void **state)
{
    (void)state;
    enum { N = 5000 };
    size_t cap = (size_t)N * 48 + 64, off = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    off += (size_t)snprintf(buf + off, cap - off, "cpu  1 2 3 4 5 6 7 8 9 10\n");
    for (int i = 0; i < N; i++)
        off += (size_t)snprintf(buf + off, cap - off, "cpu%d %d 0 1 2 3 4 5 6 7 8\n", i * 2, i);
    struct cpu_stat st;
    cpu_stat_init(&st);
    assert_int_equal(cpu_parse_stat(buf, off, &st, NULL), 0);
    assert_int_equal(st.ncpus, N);
    assert_int_equal(st.cpus[N - 1].cpu, (N - 1) * 2);
    assert_true(st.cpus[N - 1].ticks[CPU_USER] == N - 1);
    assert_int_equal(parse("cpu0 1 1 1 1\n", &st, NULL), 0);
    assert_int_equal(st.ncpus, 1);
    assert_int_equal(cpu_parse_stat(buf, off, &st, NULL), 0);
    assert_int_equal(st.ncpus, N);
    cpu_stat_destroy(&st);
    free(buf);
}

/* ---- utilisation -------------------------------------------------------- */

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-12)
        fail_msg("got %.17g, want %.17g", got, want);
}

static void util_known_deltas(void **state)
{
    (void)state;
    /*
     * Deltas: user 300 (of which guest 100), nice 0, system 100, idle 500,
     * iowait 50, irq 10, softirq 20, steal 20: 1000 ticks elapsed.
     */
    const char *a_text = "cpu  1000 10 500 8000 200 5 50 30 400 5\n"
                         "cpu0 600 10 300 4000 100 5 30 15 200 5\n"
                         "cpu2 400 0 200 4000 100 0 20 15 200 0\n";
    const char *b_text = "cpu  1300 10 600 8500 250 15 70 50 500 5\n"
                         "cpu0 800 10 350 4250 50 10 40 15 260 5\n" /* iowait went backwards */
                         "cpu1 10 0 0 0 0 0 0 0 0 0\n"              /* came online */
                         "cpu2 400 0 200 4000 100 0 20 15 200 0\n"; /* no tick: idle VM CPU */
    struct cpu_stat a, b;
    cpu_stat_init(&a);
    cpu_stat_init(&b);
    assert_int_equal(parse(a_text, &a, NULL), 0);
    assert_int_equal(parse(b_text, &b, NULL), 0);

    struct cpu_util total, per[3];
    assert_int_equal(cpu_util_all(&a, &b, &total, per, 2), -EINVAL);
    assert_int_equal(cpu_util_all(&a, &b, &total, per, 3), 0);

    assert_true(total.valid);
    assert_int_equal(total.cpu, -1);
    near(total.pct[CPU_USER], 30.0);
    near(total.pct[CPU_NICE], 0.0);
    near(total.pct[CPU_SYSTEM], 10.0);
    near(total.pct[CPU_IDLE], 50.0);
    near(total.pct[CPU_IOWAIT], 5.0);
    near(total.pct[CPU_IRQ], 1.0);
    near(total.pct[CPU_SOFTIRQ], 2.0);
    near(total.pct[CPU_STEAL], 2.0);
    near(total.pct[CPU_GUEST], 10.0);
    near(total.pct[CPU_GUEST_NICE], 0.0);
    near(total.busy_pct, 43.0);
    near(total.busy_pct + total.pct[CPU_IDLE] + total.pct[CPU_IOWAIT] + total.pct[CPU_STEAL], 100.0);

    /* cpu0: user 200, system 50, idle 250, iowait -50 -> 0, irq 5, softirq 10: 515 ticks */
    assert_int_equal(per[0].cpu, 0);
    assert_true(per[0].valid);
    near(per[0].pct[CPU_IOWAIT], 0.0);
    near(per[0].busy_pct, 100.0 * 265 / 515);
    near(per[0].pct[CPU_IDLE], 100.0 * 250 / 515);
    near(per[0].pct[CPU_GUEST], 100.0 * 60 / 515);

    /* cpu1 is new in b; cpu2 (index 1 in a, 2 in b) had no tick */
    assert_int_equal(per[1].cpu, 1);
    assert_false(per[1].valid);
    assert_int_equal(per[2].cpu, 2);
    assert_false(per[2].valid);
    near(per[2].busy_pct, 0.0);

    /* the same snapshot twice: nothing elapsed */
    struct cpu_util u;
    assert_int_equal(cpu_util(&a.total, &a.total, &u), -ENODATA);
    assert_false(u.valid);
    assert_int_equal(cpu_util_all(&a, &a, &total, per, 3), -ENODATA);

    /* a snapshot without the total line */
    assert_int_equal(parse("cpu0 1 1 1 1\n", &a, NULL), 0);
    assert_int_equal(cpu_util_all(&a, &b, &total, per, 3), -ENODATA);
    assert_false(total.valid);

    /* all steal: a starved VM is 0 % busy, 100 % steal */
    assert_int_equal(parse("cpu 0 0 0 0 0 0 0 0\n", &a, NULL), 0);
    assert_int_equal(parse("cpu 0 0 0 0 0 0 0 7\n", &b, NULL), 0);
    assert_int_equal(cpu_util(&a.total, &b.total, &u), 0);
    near(u.busy_pct, 0.0);
    near(u.pct[CPU_STEAL], 100.0);

    cpu_stat_destroy(&a);
    cpu_stat_destroy(&b);
}

static void mode_names(void **state)
{
    (void)state;
    static const char *const want[CPU_NMODES] = { "user", "nice",    "system", "idle",  "iowait",
                                                  "irq",  "softirq", "steal",  "guest", "guest_nice" };
    for (int m = 0; m < CPU_NMODES; m++)
        assert_string_equal(cpu_mode_name(m), want[m]);
    assert_null(cpu_mode_name(CPU_NMODES));
    assert_null(cpu_mode_name((enum cpu_mode) - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_exporter_values),
        cmocka_unit_test(vm_2cpu),
        cmocka_unit_test_setup_teardown(reader_errors, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(parser_edges),
        cmocka_unit_test(many_cpus),
        cmocka_unit_test(util_known_deltas),
        cmocka_unit_test(mode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
