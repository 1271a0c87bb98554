#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "doctor/finding.h"

static void fill(struct finding_report *r)
{
    struct finding *f = finding_add(r, "net.core.somaxconn", "network");
    f->status = FINDING_WARN;
    finding_set(f->observed, sizeof(f->observed), "%d", 128);
    finding_set(f->recommended, sizeof(f->recommended), ">= %d", 4096);
    finding_set(f->why, sizeof(f->why), "accept queue; it's short\nsecond line");
    finding_set(f->fix, sizeof(f->fix), "sysctl -w net.core.somaxconn=4096");
    finding_set(f->persist, sizeof(f->persist), "net.core.somaxconn = 4096");
    finding_set(f->persist_file, sizeof(f->persist_file), "/etc/sysctl.d/90-it's perfkit.conf");
    f = finding_add(r, "vm.swappiness", "memory");
    f->status = FINDING_OK;
    f = finding_add(r, "cpu.governor", "cpu");
    finding_skip(f, "no cpufreq in %s", "/sys");
    f = finding_add(r, "fd.nofile", "fd");
    f->status = FINDING_CRIT;
    finding_set(f->fix, sizeof(f->fix), "ulimit -n 65536");
    struct bottleneck *b = finding_add_bottleneck(r, "cpu.busy", "cpu");
    b->status = FINDING_WARN;
    b->value = 93.5;
    b->limit = 80;
}

static void sorts_worst_first_and_counts(void **state)
{
    (void)state;
    struct finding_report r;
    finding_report_init(&r);
    fill(&r);
    finding_sort(&r);
    assert_string_equal(r.findings[0].id, "fd.nofile");
    assert_string_equal(r.findings[1].id, "net.core.somaxconn");
    assert_string_equal(r.findings[2].id, "vm.swappiness");
    assert_string_equal(r.findings[3].id, "cpu.governor");
    size_t c[4];
    assert_int_equal(finding_worst(&r, c), FINDING_CRIT);
    assert_int_equal(c[FINDING_OK], 1);
    assert_int_equal(c[FINDING_WARN], 1);
    assert_int_equal(c[FINDING_CRIT], 1);
    assert_int_equal(c[FINDING_SKIPPED], 1);
    finding_report_destroy(&r);
}

static void json_has_every_field(void **state)
{
    (void)state;
    struct finding_report r;
    finding_report_init(&r);
    fill(&r);
    json_t *j = finding_report_json(&r);
    assert_non_null(j);
    json_t *checks = json_object_get(j, "checks");
    assert_int_equal(json_array_size(checks), 4);
    json_t *c0 = json_array_get(checks, 0);
    assert_string_equal(json_string_value(json_object_get(c0, "id")), "net.core.somaxconn");
    assert_string_equal(json_string_value(json_object_get(c0, "status")), "warn");
    assert_string_equal(json_string_value(json_object_get(c0, "observed")), "128");
    assert_string_equal(json_string_value(json_object_get(c0, "recommended")), ">= 4096");
    assert_string_equal(json_string_value(json_object_get(c0, "fix")), "sysctl -w net.core.somaxconn=4096");
    json_t *c2 = json_array_get(checks, 2);
    assert_string_equal(json_string_value(json_object_get(c2, "status")), "skipped");
    assert_string_equal(json_string_value(json_object_get(c2, "skip_reason")), "no cpufreq in /sys");
    assert_true(json_is_null(json_object_get(c2, "fix")));
    json_t *b0 = json_array_get(json_object_get(j, "bottlenecks"), 0);
    assert_true(json_real_value(json_object_get(b0, "value")) == 93.5);
    json_t *sum = json_object_get(j, "summary");
    assert_string_equal(json_string_value(json_object_get(sum, "worst")), "crit");
    json_decref(j);
    finding_report_destroy(&r);
}

static void fix_script_is_valid_shell(void **state)
{
    (void)state;
    struct finding_report r;
    finding_report_init(&r);
    fill(&r);
    char *s = finding_fix_script(&r);
    assert_non_null(s);
    assert_non_null(strstr(s, "sysctl -w net.core.somaxconn=4096\n"));
    assert_non_null(strstr(s, "ulimit -n 65536\n"));
    assert_null(strstr(s, "vm.swappiness")); /* ok findings have nothing to fix */
    assert_non_null(strstr(s, "# why: accept queue; it's short second line\n"));
    /* The quote in the file name must survive as one shell word. */
    assert_non_null(
        strstr(s, "persist '/etc/sysctl.d/90-it'\\''s perfkit.conf' 'net.core.somaxconn = 4096'"));
    char path[] = "/tmp/perfkit-fix.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs(s, fp);
    fclose(fp);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "sh -n %s", path);
    assert_int_equal(system(cmd), 0); /* the shell itself parses it */
    unlink(path);
    free(s);
    finding_report_destroy(&r);
}

/* A persist of several lines (a unit's drop-in) is written line by line,
 * each once however often the script runs; one without a file stays a comment. */
static void fix_script_persists_lines_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/perfkit-persist.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[128], script[128], cmd[512];
    snprintf(file, sizeof(file), "%s/x.service.d/perfkit-limits.conf", dir);
    snprintf(script, sizeof(script), "%s/fix.sh", dir);
    struct finding_report r;
    finding_report_init(&r);
    struct finding *f = finding_add(&r, "process.nofile.7", "process");
    f->status = FINDING_WARN;
    finding_set(f->persist, sizeof(f->persist), "[Service]\nLimitNOFILE=65536");
    finding_set(f->persist_file, sizeof(f->persist_file), "%s", file);
    f = finding_add(&r, "by.hand", "process");
    f->status = FINDING_WARN;
    finding_set(f->persist, sizeof(f->persist), "a line\nand another");
    char *s = finding_fix_script(&r);
    assert_non_null(s);
    assert_non_null(strstr(s, "# persist (by hand): a line and another\n"));
    FILE *fp = fopen(script, "w");
    assert_non_null(fp);
    fputs(s, fp);
    fclose(fp);
    free(s);
    snprintf(cmd, sizeof(cmd), "PERSIST=1 sh %s && PERSIST=1 sh %s", script, script);
    assert_int_equal(system(cmd), 0);
    fp = fopen(file, "r");
    assert_non_null(fp);
    char got[256] = "";
    size_t n = fread(got, 1, sizeof(got) - 1, fp);
    fclose(fp);
    got[n] = '\0';
    assert_string_equal(got, "[Service]\nLimitNOFILE=65536\n");
    snprintf(cmd, sizeof(cmd), "sh %s", script); /* without PERSIST: nothing written */
    unlink(file);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(access(file, F_OK), -1);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    finding_report_destroy(&r);
}

static void empty_report(void **state)
{
    (void)state;
    struct finding_report r;
    finding_report_init(&r);
    assert_int_equal(finding_worst(&r, NULL), FINDING_OK);
    char *s = finding_fix_script(&r);
    assert_non_null(strstr(s, "Nothing to fix"));
    free(s);
    json_t *j = finding_report_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "checks")), 0);
    json_decref(j);
    finding_report_destroy(&r);
}

static void quotes_for_the_shell(void **state)
{
    (void)state;
    char q[32];
    assert_int_equal(finding_shell_quote(q, sizeof(q), "sda"), 0);
    assert_string_equal(q, "'sda'");
    assert_int_equal(finding_shell_quote(q, sizeof(q), "/mnt/a b'c; rm"), 0);
    assert_string_equal(q, "'/mnt/a b'\\''c; rm'");
    char small[6];
    assert_int_equal(finding_shell_quote(small, sizeof(small), "abcd"), -ENAMETOOLONG);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sorts_worst_first_and_counts),
        cmocka_unit_test(json_has_every_field),
        cmocka_unit_test(fix_script_is_valid_shell),
        cmocka_unit_test(fix_script_persists_lines_once),
        cmocka_unit_test(empty_report),
        cmocka_unit_test(quotes_for_the_shell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
