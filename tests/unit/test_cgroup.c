/* cgroup: the systemd service of a process from its /proc/<pid>/cgroup, on the
 * files of real machines (cgroup v2, v1 with v2 beside it, a user's units, a
 * login session, a container) and malformed ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sys/cgroup.h"

static int parse(const char *text, char *unit, struct pk_err *e)
{
    /* exactly the text's bytes, no NUL after them */
    size_t n = strlen(text);
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, text, n);
    int rc = cgroup_parse_unit(buf, n, unit, e);
    free(buf);
    return rc;
}

static void services(void **state)
{
    (void)state;
    char unit[CGROUP_UNIT_LEN];
    struct pk_err e;
    /* nginx on Debian 12 (cgroup v2 only) */
    assert_int_equal(parse("0::/system.slice/nginx.service\n", unit, &e), 0);
    assert_string_equal(unit, "nginx.service");
    /* Ubuntu 20.04 (hybrid: v1 controllers, name=systemd and an empty unified line) */
    assert_int_equal(parse("12:pids:/system.slice/ssh.service\n"
                           "5:cpu,cpuacct:/system.slice/ssh.service\n"
                           "1:name=systemd:/system.slice/ssh.service\n"
                           "0::/system.slice/ssh.service\n",
                           unit, &e),
                     0);
    assert_string_equal(unit, "ssh.service");
    /* a v1 host whose unified line is the root: name=systemd says it */
    assert_int_equal(parse("1:name=systemd:/system.slice/postgresql@15-main.service\n0::/\n", unit, &e), 0);
    assert_string_equal(unit, "postgresql@15-main.service");
    /* a service's own sub-cgroup (Delegate=yes) */
    assert_int_equal(parse("0::/system.slice/docker.service/payload\n", unit, &e), 0);
    assert_string_equal(unit, "docker.service");
    /* escaped bytes in a unit name (systemd-escape) */
    assert_int_equal(parse("0::/system.slice/system-getty.slice/getty@tty1.service\n", unit, &e), 0);
    assert_string_equal(unit, "getty@tty1.service");
    assert_int_equal(parse("0::/system.slice/a\\x2db.service", unit, &e), 0); /* no final newline */
    assert_string_equal(unit, "a\\x2db.service");
}

static void not_services(void **state)
{
    (void)state;
    char unit[CGROUP_UNIT_LEN];
    struct pk_err e;
    /* a login session, a user's own unit, a container's root, this machine's v1 root */
    const char *none[] = {
        "0::/user.slice/user-1000.slice/session-3.scope\n",
        "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo.service\n",
        "0::/\n",
        "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/a0c0\n0::/\n",
        "4:memory:/system.slice/x.service\n", /* a v1 controller's path is not systemd's */
        "0::/system.slice/.service\n",
        "",
        "\n\n",
    };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        memset(unit, 'x', sizeof(unit));
        assert_int_equal(parse(none[i], unit, &e), 0);
        assert_string_equal(unit, "");
    }
}

static void malformed(void **state)
{
    (void)state;
    char unit[CGROUP_UNIT_LEN];
    struct pk_err e;
    assert_int_equal(parse("0::/\nno colons here\n", unit, &e), PK_EPARSE);
    assert_string_equal(e.on, "cgroup:2");
    assert_string_equal(e.what, "malformed line");
    assert_int_equal(parse("0:/x.service\n", unit, &e), PK_EPARSE);
    assert_string_equal(e.on, "cgroup:1");
    assert_int_equal(parse("0::/system.slice/a b;rm.service\n", unit, &e), PK_EPARSE);
    assert_string_equal(e.what, "invalid unit");
    assert_string_equal(unit, "");
    char longname[400];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname, "0::/", 4);
    snprintf(longname + 300, sizeof(longname) - 300, ".service\n");
    assert_int_equal(parse(longname, unit, &e), PK_EPARSE);
    assert_non_null(strstr(e.why, "longer"));
}

static void reads_a_pid(void **state)
{
    (void)state;
    char root[] = "/tmp/perfkit-cgroup.XXXXXX";
    assert_non_null(mkdtemp(root));
    char path[128];
    snprintf(path, sizeof(path), "%s/42", root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/42/cgroup", root);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("0::/system.slice/nginx.service\n", fp);
    fclose(fp);
    char unit[CGROUP_UNIT_LEN];
    struct pk_err e;
    assert_int_equal(cgroup_read_unit(root, 42, unit, &e), 0);
    assert_string_equal(unit, "nginx.service");
    assert_int_equal(cgroup_read_unit(root, 43, unit, &e), -ENOENT);
    assert_non_null(strstr(e.on, "/43/cgroup"));
    fp = fopen(path, "w");
    fputs("garbage\n", fp);
    fclose(fp);
    assert_int_equal(cgroup_read_unit(root, 42, unit, &e), PK_EPARSE);
    char want[128];
    snprintf(want, sizeof(want), "%s/42/cgroup:1", root);
    assert_string_equal(e.on, want);
    /* the live file of this process parses */
    assert_int_equal(cgroup_read_unit("/proc", (int)getpid(), unit, &e), 0);
    unlink(path);
    snprintf(path, sizeof(path), "%s/42", root);
    rmdir(path);
    rmdir(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(services),
        cmocka_unit_test(not_services),
        cmocka_unit_test(malformed),
        cmocka_unit_test(reads_a_pid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
