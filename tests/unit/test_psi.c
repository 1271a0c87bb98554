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

#include "sys/psi.h"

#define NE_DIR  PK_FIXTURES "/node_exporter"
#define VM_PROC PK_FIXTURES "/sys/vm-2cpu/proc"

/* ---- node_exporter's expected output ------------------------------------ */

struct sample {
    char name[256];
    double value;
};

/* Unlabelled samples of e2e-output.txt (the pressure ones have no labels). */
static struct sample *load_e2e(size_t *n)
{
    FILE *f = fopen(NE_DIR "/e2e-output.txt", "r");
    assert_non_null(f);
    size_t cap = 1024, len = 0;
    struct sample *s = malloc(cap * sizeof(*s));
    assert_non_null(s);
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        char *sp = strrchr(line, ' ');
        if (line[0] == '#' || !sp || memchr(line, '{', (size_t)(sp - line)))
            continue;
        if (len == cap) {
            cap *= 2;
            s = realloc(s, cap * sizeof(*s));
            assert_non_null(s);
        }
        size_t nlen = (size_t)(sp - line);
        assert_true(nlen < sizeof(s[len].name));
        memcpy(s[len].name, line, nlen);
        s[len].name[nlen] = '\0';
        char *end;
        s[len].value = strtod(sp + 1, &end);
        assert_true(end != sp + 1);
        len++;
    }
    fclose(f);
    *n = len;
    return s;
}

static void assert_seconds(const char *name, double got, double want)
{
    if (fabs(got - want) > 1e-9 * fabs(want))
        fail_msg("%s: got %.17g, node_exporter %.17g", name, got, want);
}

static void node_exporter_values(void **state)
{
    (void)state;
    struct psi_info p;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(psi_read(NE_DIR "/proc", &p, &e), 0);

    size_t n;
    struct sample *s = load_e2e(&n);
    size_t matched = 0;
    bool seen[PSI_NRES][2] = { { false } };
    for (size_t i = 0; i < n; i++) {
        static const char pre[] = "node_pressure_";
        if (strncmp(s[i].name, pre, sizeof(pre) - 1) != 0)
            continue;
        const char *rest = s[i].name + sizeof(pre) - 1;
        int r;
        for (r = 0; r < PSI_NRES; r++) {
            const char *res = psi_resource_name(r);
            if (strncmp(rest, res, strlen(res)) == 0 && rest[strlen(res)] == '_')
                break;
        }
        if (r == PSI_NRES)
            fail_msg("%s: unknown resource", s[i].name);
        rest += strlen(psi_resource_name(r)) + 1;
        /* node_exporter: "some" is waiting, "full" is stalled */
        bool full = strcmp(rest, "stalled_seconds_total") == 0;
        if (!full && strcmp(rest, "waiting_seconds_total") != 0)
            fail_msg("%s: unknown kind", s[i].name);
        const struct psi_res *pr = &p.res[r];
        const struct psi_line *l = full ? &pr->full : &pr->some;
        assert_true(pr->available);
        assert_true(l->known);
        assert_seconds(s[i].name, psi_seconds(l), s[i].value);
        seen[r][full] = true;
        matched++;
    }
    /* cpu waiting; io and memory waiting and stalled; irq stalled (it has no "some") */
    assert_int_equal(matched, 6);
    assert_true(seen[PSI_CPU][0] && seen[PSI_IO][0] && seen[PSI_IO][1] && seen[PSI_MEMORY][0] &&
                seen[PSI_MEMORY][1] && seen[PSI_IRQ][1]);

    /* proc/pressure/irq: one "full" line without a trailing newline */
    assert_false(p.res[PSI_IRQ].some.known);
    assert_int_equal(p.res[PSI_IRQ].full.total_us, 8494);
    /* proc/pressure/io: "some avg10=0.18 avg60=0.34 avg300=0.10 total=159886802" */
    assert_true(p.res[PSI_IO].some.avg10 == 0.18);
    assert_true(p.res[PSI_IO].some.avg60 == 0.34);
    assert_true(p.res[PSI_IO].some.avg300 == 0.10);
    free(s);
}

/* ---- the recorded VM ---------------------------------------------------- */

static void vm_2cpu(void **state)
{
    (void)state;
    struct psi_info p;
    assert_int_equal(psi_read(VM_PROC, &p, NULL), 0);

    /* proc/pressure/cpu: "some avg10=0.22 avg60=0.36 avg300=1.09 total=226003620", full all 0 */
    const struct psi_res *r = &p.res[PSI_CPU];
    assert_true(r->available && r->some.known && r->full.known);
    assert_true(r->some.avg10 == 0.22 && r->some.avg60 == 0.36 && r->some.avg300 == 1.09);
    assert_int_equal(r->some.total_us, 226003620);
    assert_true(r->full.avg10 == 0 && r->full.avg300 == 0);
    assert_int_equal(r->full.total_us, 0);

    /* proc/pressure/io: some 0.00 0.06 0.06 total=7585798; full 0.00 0.06 0.06 total=6560656 */
    r = &p.res[PSI_IO];
    assert_true(r->available);
    assert_true(r->some.avg10 == 0 && r->some.avg60 == 0.06 && r->some.avg300 == 0.06);
    assert_int_equal(r->some.total_us, 7585798);
    assert_true(r->full.avg60 == 0.06);
    assert_int_equal(r->full.total_us, 6560656);
    assert_true(psi_seconds(&r->full) == 6.560656);

    /* proc/pressure/memory: all zero */
    r = &p.res[PSI_MEMORY];
    assert_true(r->available && r->some.known && r->full.known);
    assert_int_equal(r->some.total_us, 0);
    assert_int_equal(r->full.total_us, 0);

    /* no proc/pressure/irq: the recorded machine has none */
    assert_false(p.res[PSI_IRQ].available);
    assert_false(p.res[PSI_IRQ].full.known);
}

/* ---- files that are missing or malformed -------------------------------- */

static void missing_and_malformed(void **state)
{
    const char *root = *state;
    struct psi_info p;
    struct pk_err e;
    char path[512], want[512];

    /* no pressure directory at all (a container, an old kernel): all unavailable, no error */
    pk_err_clear(&e);
    memset(&p, 0x5a, sizeof(p));
    assert_int_equal(psi_read(root, &p, &e), 0);
    assert_int_equal(e.code, 0);
    for (int i = 0; i < PSI_NRES; i++) {
        assert_false(p.res[i].available);
        assert_false(p.res[i].some.known);
        assert_false(p.res[i].full.known);
    }
    assert_int_equal(psi_read("/nonexistent-procfs", &p, &e), -ENOENT);
    assert_string_equal(e.on, "/nonexistent-procfs");
    assert_int_equal(psi_read(NULL, &p, &e), -EINVAL);

    /* some files only */
    snprintf(path, sizeof(path), "%s/pressure", root);
    assert_int_equal(mkdir(path, 0755), 0);
    tmptree_put(root, "pressure/memory", "some avg10=1.50 avg60=0.00 avg300=0.00 total=12\n");
    assert_int_equal(psi_read(root, &p, NULL), 0);
    assert_false(p.res[PSI_CPU].available);
    assert_true(p.res[PSI_MEMORY].available);
    assert_true(p.res[PSI_MEMORY].some.avg10 == 1.5);
    assert_false(p.res[PSI_MEMORY].full.known);
    assert_false(p.res[PSI_IO].available);

    /* a malformed file: the error names it and the line */
    tmptree_put(root, "pressure/io",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 total=1\n");
    pk_err_clear(&e);
    assert_int_equal(psi_read(root, &p, &e), PK_EPARSE);
    snprintf(want, sizeof(want), "%s/pressure/io:2", root);
    assert_string_equal(e.on, want);
    for (int i = 0; i < PSI_NRES; i++)
        assert_false(p.res[i].available);

    /* a directory where a file should be is an error, not "unavailable" */
    snprintf(path, sizeof(path), "%s/pressure/io", root);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    pk_err_clear(&e);
    assert_int_equal(psi_read(root, &p, &e), -EISDIR);
    snprintf(want, sizeof(want), "%s/pressure/io", root);
    assert_string_equal(e.on, want);
}

/* ---- the parser --------------------------------------------------------- */

static int parse(const char *text, struct psi_res *r, struct pk_err *e)
{
    return psi_parse(text, strlen(text), PSI_IO, r, e);
}

static void parser_edges(void **state)
{
    (void)state;
    struct psi_res r;
    struct pk_err e;

    /* empty: readable, nothing in it */
    assert_int_equal(psi_parse("", 0, PSI_CPU, &r, NULL), 0);
    assert_true(r.available);
    assert_false(r.some.known || r.full.known);

    /* fields in another order, an unknown field, other lines, tabs, no trailing newline */
    assert_int_equal(parse("note nothing here\nfull total=18446744073709551615 avg300=300.00\tavg60=60.5 "
                           "avg10=10.25 extra=x\n"
                           "some avg10=0.01 avg60=0.02 avg300=0.03 total=4",
                           &r, NULL),
                     0);
    assert_true(r.full.known && r.some.known);
    assert_int_equal(r.full.total_us, UINT64_MAX);
    assert_true(r.full.avg10 == 10.25 && r.full.avg60 == 60.5 && r.full.avg300 == 300.0);
    assert_true(r.some.avg300 == 0.03);
    assert_int_equal(r.some.total_us, 4);

    static const struct {
        const char *text, *on;
    } bad[] = {
        { "some avg10=0.00 avg60=0.00 avg300=0.00\n", "pressure/io:1" }, /* truncated */
        { "some avg10=0.00 avg60=0.00 avg300=0.00 total=", "pressure/io:1" },
        { "some avg10=0.00 avg60=0.00 avg", "pressure/io:1" },
        { "some\n", "pressure/io:1" },
        { "some avg10=x avg60=0.00 avg300=0.00 total=1\n", "pressure/io:1" }, /* garbage */
        { "some avg10=0.00avg60=0.00 avg300=0.00 total=1\n", "pressure/io:1" },
        { "some avg10=0.00 avg60=0.00 avg300=0.00 total=-1\n", "pressure/io:1" },
        { "some avg10=0.00 avg60=0.00 avg300=0.00 total=1x\n", "pressure/io:1" },
        { "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n", "pressure/io:1" },
        { "some avg10=1234567890123456789.0 avg60=0 avg300=0 total=1\n", "pressure/io:1" },
        { "some avg10=0 avg10=0 avg60=0 avg300=0 total=1\n", "pressure/io:1" }, /* repeated field */
        { "some avg10 avg60=0 avg300=0 total=1\n", "pressure/io:1" },
        { "\nfull avg10=0 avg60=0 avg300=0 total=1\nfull avg10=0 avg60=0 avg300=0 total=1\n",
          "pressure/io:3" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        memset(&r, 0x5a, sizeof(r));
        if (parse(bad[i].text, &r, &e) != PK_EPARSE)
            fail_msg("accepted: %s", bad[i].text);
        assert_string_equal(e.on, bad[i].on);
        assert_false(r.available || r.some.known || r.full.known);
    }
    pk_err_clear(&e);
    assert_int_equal(psi_parse("some x", 6, PSI_IRQ, &r, &e), PK_EPARSE);
    assert_string_equal(e.on, "pressure/irq:1");

    /* NUL in the buffer, and len respected */
    static const char nul[] = "some avg10=0 avg60=0 avg300=0 total=1\0\n";
    assert_int_equal(psi_parse(nul, sizeof(nul) - 1, PSI_CPU, &r, NULL), PK_EPARSE);
    const char *t = "some avg10=0 avg60=0 avg300=0 total=123";
    assert_int_equal(psi_parse(t, strlen(t) - 2, PSI_CPU, &r, NULL), 0);
    assert_int_equal(r.some.total_us, 1);

    assert_string_equal(psi_resource_name(PSI_CPU), "cpu");
    assert_string_equal(psi_resource_name(PSI_MEMORY), "memory");
    assert_string_equal(psi_resource_name(PSI_IO), "io");
    assert_string_equal(psi_resource_name(PSI_IRQ), "irq");
    assert_null(psi_resource_name(PSI_NRES));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_exporter_values),
        cmocka_unit_test(vm_2cpu),
        cmocka_unit_test_setup_teardown(missing_and_malformed, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(parser_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
