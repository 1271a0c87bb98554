/* doctor's checks and diagnosis on trees recorded from real machines, and on
 * small trees built here for the verdicts a recorded machine cannot show. */
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

#include "doctor/doctor.h"

#define VM   PK_FIXTURES "/sys/vm-2cpu"
#define NODE PK_FIXTURES "/node_exporter"

static const struct finding *find(const struct finding_report *r, const char *id)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (!strcmp(r->findings[i].id, id))
            return &r->findings[i];
    fail_msg("no finding %s", id);
    return NULL;
}

static const struct bottleneck *find_b(const struct finding_report *r, const char *id)
{
    for (size_t i = 0; i < r->nbottlenecks; i++)
        if (!strcmp(r->bottlenecks[i].id, id))
            return &r->bottlenecks[i];
    return NULL;
}

static void run_checks(const char *procfs, const char *sysfs, struct finding_report *r)
{
    struct doctor_opts o;
    struct pk_err e;
    doctor_opts_default(&o);
    o.procfs = procfs;
    o.sysfs = sysfs;
    finding_report_init(r);
    assert_int_equal(doctor_checks(&o, r, &e), 0);
}

/* Values from the files of tests/fixtures/sys/vm-2cpu, recorded on a 2-CPU VM. */
static void vm_tree(void **state)
{
    (void)state;
    struct finding_report r;
    run_checks(VM "/proc", VM "/sys", &r);
    const struct finding *f = find(&r, "vm.swappiness"); /* proc/sys/vm/swappiness: 60 */
    assert_int_equal(f->status, FINDING_WARN);
    assert_string_equal(f->observed, "60");
    assert_string_equal(f->fix, "sysctl -w vm.swappiness=10");
    assert_string_equal(f->persist, "vm.swappiness = 10");
    assert_string_equal(f->persist_file, "/etc/sysctl.d/90-perfkit.conf");
    f = find(&r, "fd.nofile.soft"); /* proc/self/limits: 20000 */
    assert_int_equal(f->status, FINDING_WARN);
    assert_string_equal(f->observed, "20000");
    f = find(&r, "net.core.somaxconn"); /* 4096 */
    assert_int_equal(f->status, FINDING_OK);
    f = find(&r, "net.ipv4.tcp_tw_reuse"); /* 2 */
    assert_int_equal(f->status, FINDING_WARN);
    f = find(&r, "net.ipv4.ip_local_port_range"); /* 32768 60999 */
    assert_string_equal(f->observed, "32768-60999 (28232 ports)");
    assert_int_equal(f->status, FINDING_WARN);
    f = find(&r, "fs.file-nr"); /* 454 0 2466170 */
    assert_int_equal(f->status, FINDING_OK);
    assert_non_null(strstr(f->observed, "454 of 2466170"));
    f = find(&r, "mm.thp.enabled"); /* always [madvise] never */
    assert_string_equal(f->observed, "madvise");
    assert_int_equal(f->status, FINDING_OK);
    f = find(&r, "mem.swap.used"); /* SwapTotal: 0 kB */
    assert_string_equal(f->observed, "no swap");
    f = find(&r, "vm.min_free_kbytes"); /* 67584 with MemTotal 24684084 kB */
    assert_int_equal(f->status, FINDING_OK);
    f = find(&r, "cpu.clocksource"); /* current_clocksource: tsc */
    assert_int_equal(f->status, FINDING_OK);
    assert_non_null(strstr(f->observed, "tsc"));
    f = find(&r, "cpu.governor"); /* no cpufreq on this VM */
    assert_int_equal(f->status, FINDING_SKIPPED);
    assert_non_null(strstr(f->skip_reason, "no cpufreq governor"));
    f = find(&r, "kernel.numa_balancing"); /* one node0 */
    assert_int_equal(f->status, FINDING_SKIPPED);
    assert_non_null(strstr(f->skip_reason, "one NUMA node"));
    f = find(&r, "disk.scheduler.vda");      /* sys/block/vda/queue: [mq-deadline], rotational 1 */
    assert_int_equal(f->status, FINDING_OK); /* a virtio disk: mq-deadline is fine */
    assert_non_null(strstr(f->observed, "mq-deadline (rotational 1"));
    f = find(&r, "disk.read_ahead.vda"); /* read_ahead_kb: 8192 */
    assert_string_equal(f->observed, "8192 KiB");
    assert_int_equal(f->status, FINDING_OK);
    f = find(&r, "fs.atime./"); /* proc/self/mountinfo: / ext4 rw,relatime */
    assert_int_equal(f->status, FINDING_WARN);
    assert_string_equal(f->fix, "mount -o remount,noatime '/'");
    finding_report_destroy(&r);
}

/* node_exporter's tree, from a real laptop with an old kernel: most sysctls
 * are not in it, and they must read as skipped with the reason. */
static void node_exporter_tree(void **state)
{
    (void)state;
    struct finding_report r;
    run_checks(NODE "/proc", NODE "/sys-not-recorded", &r);
    const struct finding *f = find(&r, "fs.file-nr"); /* proc/sys/fs/file-nr: 1024 0 1631329 */
    assert_int_equal(f->status, FINDING_OK);
    assert_non_null(strstr(f->observed, "1024 of 1631329"));
    f = find(&r, "vm.swappiness");
    assert_int_equal(f->status, FINDING_SKIPPED);
    assert_non_null(strstr(f->skip_reason, "vm.swappiness is not there"));
    f = find(&r, "mm.thp.enabled");
    assert_int_equal(f->status, FINDING_SKIPPED);
    size_t c[4];
    finding_worst(&r, c);
    assert_true(c[FINDING_SKIPPED] > 10);
    finding_report_destroy(&r);
}

static char tmp_root[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
    for (char *p = path + strlen(tmp_root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A container: an empty /proc and /sys. Everything is skipped, nothing fails. */
static void container_tree(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/perfkit-doctor.XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
    put("proc/.keep", "");
    put("sys/.keep", "");
    char procfs[128], sysfs[128];
    snprintf(procfs, sizeof(procfs), "%s/proc", tmp_root);
    snprintf(sysfs, sizeof(sysfs), "%s/sys", tmp_root);
    struct finding_report r;
    run_checks(procfs, sysfs, &r);
    size_t c[4];
    assert_int_equal(finding_worst(&r, c), FINDING_OK);
    assert_int_equal(c[FINDING_SKIPPED], r.nfindings);
    for (size_t i = 0; i < r.nfindings; i++)
        assert_true(r.findings[i].skip_reason[0] != '\0');
    finding_report_destroy(&r);

    struct doctor_opts o;
    struct pk_err e;
    doctor_opts_default(&o);
    o.procfs = procfs;
    o.sysfs = sysfs;
    o.sample_s = 0.01;
    finding_report_init(&r);
    assert_int_equal(doctor_diagnose(&o, &r, &e), -ENOENT); /* nothing to sample, said so */
    assert_non_null(strstr(e.what, "nothing to sample"));
    finding_report_destroy(&r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_root);
    assert_int_equal(system(cmd), 0);
}

/* Verdicts no recorded machine shows: a crowded, overloaded host. */
static void overloaded_tree(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/perfkit-doctor.XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
    put("proc/meminfo", "MemTotal: 1000000 kB\nMemFree: 20000 kB\nMemAvailable: 50000 kB\n"
                        "SwapTotal: 100000 kB\nSwapFree: 30000 kB\n");
    put("proc/loadavg", "9.50 8.00 7.00 9/300 1234\n");
    put("proc/cpuinfo", "processor\t: 0\nmodel name\t: test\n\nprocessor\t: 1\nmodel name\t: test\n");
    put("proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\n");
    put("proc/sys/net/core/somaxconn", "128\n");
    put("proc/sys/kernel/pid_max", "10\n"); /* 9 processes below: 90 % */
    for (int pid = 100; pid < 109; pid++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
        put(rel, "100 (worker) S 1 100 100 0 -1 4194304 0 0 0 0 1 1 0 0 20 0 1 0 50 1000000 100 "
                 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
    }
    put("proc/sys/vm/overcommit_memory", "2\n");
    put("proc/self/limits",
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1024                 4096                 files     \n");
    put("sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
    put("sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet\n");
    put("sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc hpet acpi_pm\n");
    /* a spinning disk left on 'none', a tiny read-ahead, a 90 % full /data without noatime */
    put("proc/diskstats", "   8       0 sda 100 0 800 10 50 0 400 5 0 20 15 0 0 0 0\n");
    put("sys/block/sda/queue/scheduler", "[none] mq-deadline bfq\n");
    put("sys/block/sda/queue/rotational", "1\n");
    put("sys/block/sda/queue/read_ahead_kb", "16\n");
    put("proc/self/mountinfo", "29 1 8:1 / /data rw,strictatime - ext4 /dev/sda1 rw\n");
    put("statvfs.tsv", "# mountpoint\tbsize\tblocks\tbfree\tbavail\tfiles\tffree\n"
                       "/data\t4096\t1000000\t100000\t100000\t65536\t60000\n");
    char procfs[128], sysfs[128];
    snprintf(procfs, sizeof(procfs), "%s/proc", tmp_root);
    snprintf(sysfs, sizeof(sysfs), "%s/sys", tmp_root);
    struct finding_report r;
    run_checks(procfs, sysfs, &r);
    assert_int_equal(find(&r, "net.core.somaxconn")->status, FINDING_CRIT); /* 128 < 256 */
    assert_int_equal(find(&r, "vm.overcommit_memory")->status, FINDING_WARN);
    assert_int_equal(find(&r, "fd.nofile.soft")->status, FINDING_CRIT); /* 1024 < 4096 */
    assert_int_equal(find(&r, "fd.nofile.hard")->status, FINDING_WARN);
    assert_int_equal(find(&r, "mm.thp.enabled")->status, FINDING_WARN);
    assert_string_equal(find(&r, "mm.thp.enabled")->fix,
                        "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled");
    assert_int_equal(find(&r, "mem.swap.used")->status, FINDING_CRIT); /* 70 % */
    const struct finding *cs = find(&r, "cpu.clocksource");
    assert_int_equal(cs->status, FINDING_CRIT);
    assert_string_equal(cs->fix,
                        "echo tsc > /sys/devices/system/clocksource/clocksource0/current_clocksource");
    const struct finding *sd = find(&r, "disk.scheduler.sda");
    assert_int_equal(sd->status, FINDING_WARN);
    assert_string_equal(sd->fix, "echo mq-deadline > /sys/block/'sda'/queue/scheduler");
    assert_string_equal(sd->persist,
                        "ACTION==\"add|change\", KERNEL==\"sda\", ATTR{queue/scheduler}=\"mq-deadline\"");
    assert_int_equal(find(&r, "disk.read_ahead.sda")->status, FINDING_WARN);
    assert_int_equal(find(&r, "fs.atime./data")->status, FINDING_CRIT);
    assert_int_equal(finding_worst(&r, NULL), FINDING_CRIT);

    struct doctor_opts o;
    struct pk_err e;
    doctor_opts_default(&o);
    o.procfs = procfs;
    o.sysfs = sysfs;
    o.sample_s = 0.01;
    assert_int_equal(doctor_diagnose(&o, &r, &e), 0);
    const struct bottleneck *b = find_b(&r, "mem.used"); /* 95 % used */
    assert_non_null(b);
    assert_int_equal(b->status, FINDING_WARN);
    assert_true(b->value > 94.9 && b->value < 95.1);
    assert_non_null(strstr(b->advice, "below 80%"));
    b = find_b(&r, "load"); /* 9.5 on 2 CPUs */
    assert_non_null(b);
    assert_int_equal(b->status, FINDING_CRIT);
    assert_null(find_b(&r, "cpu.busy")); /* a static tree: no tick elapsed, no CPU verdict */
    b = find_b(&r, "procs.count");       /* 9 of pid_max 10 */
    assert_non_null(b);
    assert_int_equal(b->status, FINDING_WARN);
    assert_true(b->value > 89.9 && b->value < 90.1);
    b = find_b(&r, "fs.used./data"); /* 90 % of blocks used */
    assert_non_null(b);
    assert_int_equal(b->status, FINDING_WARN);
    assert_true(b->value > 89.9 && b->value < 90.1);
    assert_non_null(strstr(b->advice, "du -xh --max-depth=2 /data"));
    finding_report_destroy(&r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_root);
    assert_int_equal(system(cmd), 0);
}

static const struct finding *find_opt(const struct finding_report *r, const char *id)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (!strcmp(r->findings[i].id, id))
            return &r->findings[i];
    return NULL;
}

/* A process near its open-files limit: 10 fds of a soft limit of 16. */
static void put_process(int pid, const char *comm, const char *cgroup)
{
    char rel[64], text[512];
    snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
    snprintf(text, sizeof(text),
             "%d (%s) S 1 %d %d 0 -1 4194304 0 0 0 0 1 1 0 0 20 0 1 0 50 1000000 100 "
             "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
             pid, comm, pid, pid);
    put(rel, text);
    snprintf(rel, sizeof(rel), "proc/%d/status", pid);
    snprintf(text, sizeof(text), "Name:\t%s\nThreads:\t1\nVmRSS:\t400 kB\nVmHWM:\t400 kB\n", comm);
    put(rel, text);
    snprintf(rel, sizeof(rel), "proc/%d/limits", pid);
    put(rel, "Limit                     Soft Limit           Hard Limit           Units     \n"
             "Max open files            16                   16                   files     \n");
    for (int fd = 0; fd < 10; fd++) {
        snprintf(rel, sizeof(rel), "proc/%d/fd/%d", pid, fd);
        put(rel, "");
    }
    if (cgroup) {
        snprintf(rel, sizeof(rel), "proc/%d/cgroup", pid);
        put(rel, cgroup);
    }
}

/* --pid and --process, with a window and without one (--sample 0): the
 * process's limit is checked either way, and the persistent fix names its
 * file: the service's drop-in, or limits.conf outside a service. */
static void process_checks(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/perfkit-doctor.XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
    put_process(200, "nginx", "0::/system.slice/nginx.service\n");
    put_process(201, "worker", "0::/user.slice/user-1000.slice/session-3.scope\n");
    char procfs[128];
    snprintf(procfs, sizeof(procfs), "%s/proc", tmp_root);

    struct doctor_opts o;
    struct finding_report r;
    struct pk_err e;
    doctor_opts_default(&o);
    o.procfs = procfs;
    o.sample_s = 0;
    o.pid = 200;
    finding_report_init(&r);
    assert_int_equal(doctor_process(&o, &r, &e), 0);
    const struct finding *f = find(&r, "process.nofile.200");
    assert_int_equal(f->status, FINDING_WARN); /* 62 %, but a limit below 65536 */
    assert_string_equal(f->observed, "nginx (pid 200): 10 fds open, soft limit 16 (62%)");
    assert_string_equal(f->fix, "prlimit --pid 200 --nofile=65536:65536");
    assert_string_equal(f->persist, "[Service]\nLimitNOFILE=65536");
    assert_string_equal(f->persist_file, "/etc/systemd/system/nginx.service.d/perfkit-limits.conf");
    f = find(&r, "process.rss_growth.200");
    assert_int_equal(f->status, FINDING_SKIPPED);
    assert_non_null(strstr(f->skip_reason, "--sample 0"));
    finding_report_destroy(&r);

    o.pid = 0;
    o.process = "worker";
    finding_report_init(&r);
    assert_int_equal(doctor_process(&o, &r, &e), 0);
    f = find(&r, "process.nofile.201");
    assert_string_equal(f->persist, "*  -  nofile  65536\nroot  -  nofile  65536");
    assert_string_equal(f->persist_file, "/etc/security/limits.conf");
    finding_report_destroy(&r);

    /* with a window: the same finding, and the growth measured */
    o.sample_s = 0.01;
    finding_report_init(&r);
    assert_int_equal(doctor_diagnose(&o, &r, &e), 0);
    assert_string_equal(find(&r, "process.nofile.201")->persist_file, "/etc/security/limits.conf");
    f = find(&r, "process.rss_growth.201");
    assert_int_equal(f->status, FINDING_OK);
    assert_non_null(strstr(f->observed, "+0.0 MiB/min, 1 threads"));
    finding_report_destroy(&r);

    /* neither: nothing added; a process that is not there: -ESRCH, named */
    o.process = NULL;
    o.sample_s = 0;
    finding_report_init(&r);
    assert_int_equal(doctor_process(&o, &r, &e), 0);
    assert_int_equal(r.nfindings, 0);
    o.process = "nobody";
    assert_int_equal(doctor_process(&o, &r, &e), -ESRCH);
    assert_string_equal(e.on, "--process");
    assert_null(find_opt(&r, "process.nofile.201"));
    finding_report_destroy(&r);

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_root);
    assert_int_equal(system(cmd), 0);
}

/* Whether a run read enough for a verdict: the recorded VM yes; node_exporter's
 * tree (most sysctls not recorded, no sysfs) and an empty tree no; a directory
 * with neither stat nor meminfo is no procfs at all. */
static void coverage(void **state)
{
    (void)state;
    struct doctor_opts o;
    struct finding_report r;
    struct pk_err e;
    doctor_opts_default(&o);
    o.procfs = VM "/proc";
    o.sysfs = VM "/sys";
    assert_int_equal(doctor_roots(&o, &e), 0);
    run_checks(o.procfs, o.sysfs, &r);
    assert_false(doctor_coverage(&o, &r));
    assert_string_equal(r.incomplete, "");
    json_t *j = finding_report_json(&r);
    assert_true(json_is_null(json_object_get(json_object_get(j, "summary"), "incomplete")));
    json_decref(j);
    finding_report_destroy(&r);

    o.procfs = NODE "/proc";
    o.sysfs = NODE "/sys-not-recorded";
    assert_int_equal(doctor_roots(&o, &e), 0); /* a procfs, if a poor one */
    run_checks(o.procfs, o.sysfs, &r);
    assert_true(doctor_coverage(&o, &r));
    size_t c[4];
    finding_worst(&r, c);
    char want[200];
    snprintf(want, sizeof(want), "%zu of %zu checks skipped, and --sysfs %s holds no devices/system/cpu",
             c[FINDING_SKIPPED], r.nfindings, o.sysfs);
    assert_string_equal(r.incomplete, want);
    j = finding_report_json(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "summary"), "incomplete")),
                        want);
    json_decref(j);
    finding_report_destroy(&r);

    /* the right procfs with a wrong sysfs: few checks skipped, but sysfs named */
    o.procfs = VM "/proc";
    o.sysfs = NODE;
    run_checks(o.procfs, o.sysfs, &r);
    assert_true(doctor_coverage(&o, &r));
    snprintf(want, sizeof(want), "--sysfs %s holds no devices/system/cpu", NODE);
    assert_string_equal(r.incomplete, want);
    finding_report_destroy(&r);

    /* a directory that is no procfs (the fixtures' root), and one that does not exist */
    o.procfs = PK_FIXTURES;
    assert_int_equal(doctor_roots(&o, &e), -ENOENT);
    assert_string_equal(e.on, PK_FIXTURES);
    assert_string_equal(e.what, "not a proc filesystem");
    o.procfs = PK_FIXTURES "/no-such-dir";
    assert_int_equal(doctor_roots(&o, &e), -ENOENT);
    assert_string_equal(e.what, "cannot open the procfs root");
}

/* A process's name is the kernel's raw bytes: a culprit shows them escaped,
 * never as terminal control sequences. */
static void culprit_names_escaped(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/perfkit-doctor.XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
    put("proc/meminfo", "MemTotal: 1000000 kB\nMemFree: 20000 kB\nMemAvailable: 30000 kB\n");
    put("proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\n");
    put("proc/300/stat", "300 (x\x1b[2Jy) S 1 300 300 0 -1 4194304 0 0 0 0 1 1 0 0 20 0 1 0 50 1000000 "
                         "100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
    char procfs[128];
    snprintf(procfs, sizeof(procfs), "%s/proc", tmp_root);
    struct doctor_opts o;
    struct finding_report r;
    struct pk_err e;
    doctor_opts_default(&o);
    o.procfs = procfs;
    o.sysfs = tmp_root;
    o.sample_s = 0.01;
    finding_report_init(&r);
    assert_int_equal(doctor_diagnose(&o, &r, &e), 0);
    const struct bottleneck *b = find_b(&r, "mem.used"); /* 97 % */
    assert_non_null(b);
    assert_string_equal(b->culprit, "x\\x1b[2Jy (pid 300) 0 MiB");
    assert_non_null(strstr(b->advice, "Check x\\x1b[2Jy for growth"));
    assert_null(strchr(b->advice, '\x1b'));
    finding_report_destroy(&r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vm_tree),
        cmocka_unit_test(node_exporter_tree),
        cmocka_unit_test(container_tree),
        cmocka_unit_test(overloaded_tree),
        cmocka_unit_test(process_checks),
        cmocka_unit_test(coverage),
        cmocka_unit_test(culprit_names_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
