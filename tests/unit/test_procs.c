/* prctl, clock_getcpuclockid and setresuid need GNU/POSIX declarations. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sys/procs.h"

#define VM_PROC PK_FIXTURES "/sys/vm-2cpu/proc"
#define NE_PROC PK_FIXTURES "/node_exporter/proc"
#define KB      1024ull
#define PAGE    4096ull

static void read_pid_ok(const char *procfs, int pid, struct procs_proc *p)
{
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(procs_read_pid(procfs, pid, NULL, p, &e), 0);
}

/* ---- recorded trees: tests/fixtures/sys/vm-2cpu/proc -------------------- */

static void vm_kernel_threads(void **state)
{
    (void)state;
    struct procs_proc p;

    /* 2/stat: "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 ..." */
    read_pid_ok(VM_PROC, 2, &p);
    assert_int_equal(p.pid, 2);
    assert_string_equal(p.comm, "kthreadd");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.ppid, 0);
    assert_int_equal(p.utime, 0);
    assert_int_equal(p.stime, 0);
    assert_int_equal(p.threads, 1);
    assert_int_equal(p.starttime, 24);
    assert_int_equal(p.vsize, 0);
    assert_int_equal(p.rss, 0);
    /* 2/status: Name, Threads 1, no Vm* lines */
    assert_true(p.status_known);
    assert_int_equal(p.vm_rss, 0);
    assert_int_equal(p.vm_hwm, 0);
    /* 2/limits: "Max open files            1024                 4096                 files" */
    assert_true(p.nofile_known);
    assert_int_equal(p.nofile.soft, 1024);
    assert_int_equal(p.nofile.hard, 4096);
    /* 2/fd/ was empty (only .keep, which is not a number) */
    assert_int_equal(p.nfds, 0);

    /* 15/stat: "15 (rcu_preempt) I 2 ... 0 178 0 0 20 0 1 0 24 0 0" */
    read_pid_ok(VM_PROC, 15, &p);
    assert_string_equal(p.comm, "rcu_preempt");
    assert_int_equal(p.state, 'I');
    assert_int_equal(p.ppid, 2);
    assert_int_equal(p.utime, 0);
    assert_int_equal(p.stime, 178);
    assert_int_equal(p.starttime, 24);

    /* 33/stat: a kworker's comm carries its workqueue, past the 15 bytes of a program's name */
    read_pid_ok(VM_PROC, 33, &p);
    assert_string_equal(p.comm, "kworker/u8:1-events_unbound");
    assert_int_equal(p.state, 'I');
    assert_int_equal(p.stime, 51);
    assert_int_equal(p.starttime, 26);
}

static void vm_user_processes(void **state)
{
    (void)state;
    struct procs_proc p;

    /* 1856: the recording shell. stat: "1856 (bash) S 1853 ... 2 2 39 19 20 0 1 0 262358 5124096 978" */
    read_pid_ok(VM_PROC, 1856, &p);
    assert_string_equal(p.comm, "bash");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.ppid, 1853);
    assert_int_equal(p.utime, 2);
    assert_int_equal(p.stime, 2);
    assert_int_equal(p.threads, 1);
    assert_int_equal(p.starttime, 262358);
    assert_int_equal(p.vsize, 5124096);
    assert_int_equal(p.rss, 978 * PAGE);
    assert_int_equal(p.vm_rss, 4068 * KB);  /* status: "VmRSS:	    4068 kB" */
    assert_int_equal(p.vm_hwm, 4068 * KB);  /* status: "VmHWM:	    4068 kB" */
    assert_int_equal(p.nofile.soft, 20000); /* limits: "Max open files  20000  20000  files" */
    assert_int_equal(p.nofile.hard, 20000);
    assert_int_equal(p.nfds, 9); /* fd/: 0 1 2 10 11 12 13 250 255 */

    /* 6268: pk-threads, 3 threads besides main, 64 MiB touched.
     * stat: "6268 (pk-threads) S 6267 ... 0 3 0 0 20 0 4 0 275949 94826496 16666" */
    read_pid_ok(VM_PROC, 6268, &p);
    assert_string_equal(p.comm, "pk-threads");
    assert_int_equal(p.ppid, 6267);
    assert_int_equal(p.utime, 0);
    assert_int_equal(p.stime, 3);
    assert_int_equal(p.threads, 4);
    assert_int_equal(p.starttime, 275949);
    assert_int_equal(p.vsize, 94826496);
    assert_int_equal(p.rss, 16666 * PAGE);
    assert_int_equal(p.vm_rss, 66784 * KB); /* status VmRSS */
    assert_int_equal(p.vm_hwm, 66784 * KB); /* status VmHWM */
    assert_int_equal(p.nfds, 10);           /* fd/: 0 1 2 3 4 5 6 7 10 251 */

    /* 6269: /bin/sleep copied to "a b) c", started under `ulimit -S -n 1000`.
     * stat: "6269 (a b) c) S 6267 ... 275949 2990080 421" */
    read_pid_ok(VM_PROC, 6269, &p);
    assert_string_equal(p.comm, "a b) c");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.ppid, 6267);
    assert_int_equal(p.vsize, 2990080);
    assert_int_equal(p.rss, 421 * PAGE);
    assert_int_equal(p.vm_rss, 1792 * KB);
    assert_int_equal(p.nofile.soft, 1000); /* limits: "Max open files  1000  20000  files" */
    assert_int_equal(p.nofile.hard, 20000);
    assert_int_equal(p.nfds, 5); /* fd/: 0 1 2 10 251 */

    /* 6270: sleep copied to "x) Z 1 2 3 4 5 6 7", kept to 15 bytes by the kernel (trailing
     * blank included), then SIGSTOPped. stat: "6270 (x) Z 1 2 3 4 5 ) T 6267 ..." */
    read_pid_ok(VM_PROC, 6270, &p);
    assert_string_equal(p.comm, "x) Z 1 2 3 4 5 ");
    assert_int_equal(p.state, 'T');
    assert_int_equal(p.ppid, 6267);
    assert_int_equal(p.starttime, 275949);
    assert_int_equal(p.rss, 421 * PAGE);

    /* 6271: sleep copied to "nl\n(x) y": stat holds the newline as is */
    read_pid_ok(VM_PROC, 6271, &p);
    assert_string_equal(p.comm, "nl\n(x) y");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.ppid, 6267);
    assert_int_equal(p.rss, 411 * PAGE);
    assert_int_equal(p.vm_rss, 1816 * KB);

    /* 6273: `yes > /dev/null`, running. stat: "6273 (yes) R 6267 ... 0 1 0 52 89 0 0 ..." */
    read_pid_ok(VM_PROC, 6273, &p);
    assert_string_equal(p.comm, "yes");
    assert_int_equal(p.state, 'R');
    assert_int_equal(p.utime, 52);
    assert_int_equal(p.stime, 89);

    /* 6275: pk-zombie, exited, never reaped by pk-parent (6272).
     * stat: "6275 (pk-zombie) Z 6272 ... 20 0 1 0 275949 0 0"; status has no Vm* lines; fd/ empty */
    read_pid_ok(VM_PROC, 6275, &p);
    assert_string_equal(p.comm, "pk-zombie");
    assert_int_equal(p.state, 'Z');
    assert_int_equal(p.ppid, 6272);
    assert_int_equal(p.vsize, 0);
    assert_int_equal(p.rss, 0);
    assert_true(p.status_known);
    assert_int_equal(p.vm_rss, 0);
    assert_int_equal(p.nofile.soft, 20000);
    assert_int_equal(p.nfds, 0);
}

static void vm_snapshot(void **state)
{
    (void)state;
    struct procs_snap s;
    struct pk_err e;
    struct procs_opts o;
    procs_snap_init(&s);
    procs_opts_init(&o);
    o.read = PROCS_ALL;
    pk_err_clear(&e);
    assert_int_equal(procs_snapshot(VM_PROC, &o, &s, &e), 0);

    /* The numeric directories recorded: 2 15 33 1856 6268-6273 6275 */
    static const int pids[] = { 2, 15, 33, 1856, 6268, 6269, 6270, 6271, 6272, 6273, 6275 };
    assert_int_equal(s.n, 11);
    assert_int_equal(s.total, 11);
    assert_false(s.truncated);
    assert_int_equal(s.unreadable, 0);
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(s.procs[i].pid, pids[i]);
    /* states in each stat: S 2 1856 6268 6269 6271 6272; I 15 33; T 6270; R 6273; Z 6275 */
    assert_int_equal(s.states[PROCS_SLEEPING], 6);
    assert_int_equal(s.states[PROCS_IDLE], 2);
    assert_int_equal(s.states[PROCS_STOPPED], 1);
    assert_int_equal(s.states[PROCS_RUNNING], 1);
    assert_int_equal(s.states[PROCS_ZOMBIE], 1);
    assert_int_equal(s.states[PROCS_DISK_SLEEP], 0);
    assert_int_equal(s.states[PROCS_OTHER], 0);
    assert_int_equal(s.threads, 14); /* num_threads: 4 for pk-threads, 1 for the ten others */

    /* With status read, RSS ranks by VmRSS: 6268 66784 kB, 1856 4068, 6271 1816, 6272 1796,
     * 6269 and 6270 1792 (tie: lower pid first); kernel threads and the zombie have none. */
    const struct procs_proc *top[8];
    assert_int_equal(procs_top_rss(&s, 5, top), 5);
    assert_int_equal(top[0]->pid, 6268);
    assert_int_equal(top[1]->pid, 1856);
    assert_int_equal(top[2]->pid, 6271);
    assert_int_equal(top[3]->pid, 6272);
    assert_int_equal(top[4]->pid, 6269);
    assert_int_equal(procs_top_rss(&s, 8, top), 7); /* 6270, then yes 6273 1776 kB; no more */
    assert_int_equal(top[5]->pid, 6270);
    assert_int_equal(top[6]->pid, 6273);
    /* No procs_diff yet: no CPU figures. */
    assert_int_equal(procs_top_cpu(&s, 5, top), 0);

    const struct procs_proc *found[2];
    assert_int_equal(procs_find_name(&s, "a b) c", found, 2), 1);
    assert_int_equal(found[0]->pid, 6269);
    assert_int_equal(procs_find_name(&s, "nl\n(x) y", found, 2), 1);
    assert_int_equal(found[0]->pid, 6271);
    assert_int_equal(procs_find_name(&s, "a b", found, 2), 0);
    assert_int_equal(procs_find_name(&s, "x) Z 1 2 3 4 5 6 7", found, 2), 0); /* the kernel kept 15 bytes */
    assert_non_null(procs_find_pid(&s, 1856));
    assert_string_equal(procs_find_pid(&s, 6275)->comm, "pk-zombie");
    assert_null(procs_find_pid(&s, 1));
    assert_null(procs_find_pid(&s, 7000));

    /* stat only (the default): the secondary fields stay unknown. */
    assert_int_equal(procs_snapshot(VM_PROC, NULL, &s, &e), 0);
    assert_int_equal(s.n, 11);
    const struct procs_proc *p = procs_find_pid(&s, 6268);
    assert_false(p->status_known);
    assert_false(p->nofile_known);
    assert_int_equal(p->nfds, -1);
    assert_int_equal(p->rss, 16666 * PAGE);
    /* Ranked by stat's rss: 6268 16666 pages, 1856 978, then 421 each: 6269 6270 6272 */
    assert_int_equal(procs_top_rss(&s, 3, top), 3);
    assert_int_equal(top[0]->pid, 6268);
    assert_int_equal(top[1]->pid, 1856);
    assert_int_equal(top[2]->pid, 6269);
    procs_snap_destroy(&s);
}

static void vm_snapshot_truncated(void **state)
{
    (void)state;
    struct procs_snap s;
    struct procs_opts o;
    procs_snap_init(&s);
    procs_opts_init(&o);
    o.max_procs = 3;
    assert_int_equal(procs_snapshot(VM_PROC, &o, &s, NULL), 0);
    assert_int_equal(s.n, 3);
    assert_true(s.truncated);
    /* Counts still cover every process. */
    assert_int_equal(s.total, 11);
    assert_int_equal(s.threads, 14);
    assert_int_equal(s.states[PROCS_SLEEPING], 6);
    for (size_t i = 1; i < s.n; i++)
        assert_true(s.procs[i - 1].pid < s.procs[i].pid);
    procs_snap_destroy(&s);
}

/* ---- node_exporter's tree: tests/fixtures/node_exporter/proc ------------ */

static void node_exporter_tree(void **state)
{
    (void)state;
    struct procs_snap s;
    struct pk_err e;
    procs_snap_init(&s);
    pk_err_clear(&e);
    assert_int_equal(procs_snapshot(NE_PROC, NULL, &s, &e), 0);
    /* e2e-output.txt: node_processes_pids 3, node_processes_state{state="I"} 1, {state="S"} 2,
     * node_processes_threads 3 */
    assert_int_equal(s.total, 3);
    assert_int_equal(s.states[PROCS_IDLE], 1);
    assert_int_equal(s.states[PROCS_SLEEPING], 2);
    assert_int_equal(s.threads, 3);
    assert_int_equal(s.unreadable, 0);
    assert_int_equal(s.n, 3);

    /* 1/stat: "1 (systemd) S 0 1 1 0 -1 4194560 9061 9416027 94 2620 36 98 54406 13885 20 0 1 0 29
     * 109604864 2507 ..." */
    const struct procs_proc *p = procs_find_pid(&s, 1);
    assert_non_null(p);
    assert_string_equal(p->comm, "systemd");
    assert_int_equal(p->state, 'S');
    assert_int_equal(p->ppid, 0);
    assert_int_equal(p->utime, 36);
    assert_int_equal(p->stime, 98);
    assert_int_equal(p->threads, 1);
    assert_int_equal(p->starttime, 29);
    assert_int_equal(p->vsize, 109604864);
    assert_int_equal(p->rss, 2507 * PAGE);

    /* 10/stat names pid 17: the directory's number is the pid kept (the one to open again). */
    p = procs_find_pid(&s, 10);
    assert_non_null(p);
    assert_string_equal(p->comm, "khungtaskd");
    assert_int_equal(p->state, 'S');
    assert_int_equal(p->ppid, 2);
    assert_int_equal(p->utime, 14);
    assert_int_equal(p->stime, 0);
    assert_int_equal(p->starttime, 24);
    assert_null(procs_find_pid(&s, 17));

    /* 11/stat: "11 (rcu_preempt) I 2 0 0 0 -1 2129984 0 0 0 0 0 346 0 0 -2 0 1 0 32 0 0 ..." */
    p = procs_find_pid(&s, 11);
    assert_non_null(p);
    assert_string_equal(p->comm, "rcu_preempt");
    assert_int_equal(p->state, 'I');
    assert_int_equal(p->stime, 346);
    assert_int_equal(p->starttime, 32);

    /* That tree has no status, limits or fd/. */
    struct procs_proc one;
    read_pid_ok(NE_PROC, 1, &one);
    assert_false(one.status_known);
    assert_false(one.nofile_known);
    assert_int_equal(one.nfds, -1);
    procs_snap_destroy(&s);
}

static void read_pid_errors(void **state)
{
    (void)state;
    struct procs_proc p;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(procs_read_pid(VM_PROC, 4242, NULL, &p, &e), -ESRCH);
    assert_non_null(strstr(e.on, "/4242/stat"));
    assert_int_equal(procs_read_pid(VM_PROC, 0, NULL, &p, &e), -EINVAL);
    assert_int_equal(procs_read_pid(PK_FIXTURES "/no-such-tree", 1, NULL, &p, &e), -ENOENT);
    assert_string_equal(e.on, PK_FIXTURES "/no-such-tree");

    struct procs_snap s;
    procs_snap_init(&s);
    assert_int_equal(procs_snapshot(PK_FIXTURES "/no-such-tree", NULL, &s, &e), -ENOENT);
    assert_int_equal(s.n, 0);
    struct procs_opts o;
    procs_opts_init(&o);
    o.user_hz = 0;
    assert_int_equal(procs_snapshot(VM_PROC, &o, &s, &e), -EINVAL);
    procs_snap_destroy(&s);
}

/* ---- parsers ------------------------------------------------------------ */

static const char REAL_STAT[] =
    "6269 (a b) c) S 6267 6263 1856 0 -1 4194304 134 0 0 0 0 0 0 0 20 0 1 0 275949 2990080 421 "
    "18446744073709551615 94330045276160 94330045294089 140735238502704 0 0 0 0 0 0 1 0 0 17 1 0 0 0 0 0 "
    "94330045308176 94330045309440 94331064799232 140735238506942 140735238506955 140735238506955 "
    "140735238508518 0\n";

static int parse_stat_str(const char *s, struct procs_stat *st)
{
    return procs_parse_stat(s, strlen(s), st);
}

static void parse_stat_comm(void **state)
{
    (void)state;
    struct procs_stat st;
    assert_int_equal(parse_stat_str(REAL_STAT, &st), 0);
    assert_int_equal(st.pid, 6269);
    assert_string_equal(st.comm, "a b) c");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 6267);
    assert_int_equal(st.starttime, 275949);
    assert_int_equal(st.vsize, 2990080);
    assert_int_equal(st.rss_pages, 421);

    /* A name made to look like the fields that follow it. */
    assert_int_equal(parse_stat_str("7 (x) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14) S 3 0 0 0 -1 0 0 0 0 0 "
                                    "5 6 0 0 20 0 2 0 100 200 3\n",
                                    &st),
                     0);
    assert_string_equal(st.comm, "x) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 3);
    assert_int_equal(st.utime, 5);
    assert_int_equal(st.stime, 6);
    assert_int_equal(st.threads, 2);
    assert_int_equal(st.starttime, 100);
    assert_int_equal(st.vsize, 200);
    assert_int_equal(st.rss_pages, 3);

    /* Newlines, parentheses, an empty name, leading blanks */
    assert_int_equal(parse_stat_str("8 (\n)\n(\n) Z 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0\n", &st), 0);
    assert_string_equal(st.comm, "\n)\n(\n");
    assert_int_equal(st.state, 'Z');
    assert_int_equal(parse_stat_str("9 () D 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0\n", &st), 0);
    assert_string_equal(st.comm, "");
    assert_int_equal(st.state, 'D');
    assert_int_equal(parse_stat_str("9 (  ) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 ", &st), 0);
    assert_string_equal(st.comm, "  ");

    /* A name longer than the buffer is cut, the fields after it still read. */
    char line[512];
    char name[200];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(line, sizeof(line), "10 (%s) S 1 0 0 0 0 0 0 0 0 0 7 0 0 0 0 0 1 0 0 0 0\n", name);
    assert_int_equal(parse_stat_str(line, &st), 0);
    assert_int_equal(strlen(st.comm), PROCS_COMM_LEN - 1);
    assert_int_equal(st.utime, 7);

    /* Not NUL-terminated: the parser stops at len. */
    char exact[sizeof(REAL_STAT) - 1];
    memcpy(exact, REAL_STAT, sizeof(exact));
    assert_int_equal(procs_parse_stat(exact, sizeof(exact), &st), 0);
    assert_int_equal(st.rss_pages, 421);
}

static void parse_stat_truncated(void **state)
{
    (void)state;
    struct procs_stat st;
    /* Every prefix that ends before rss (field 24) or inside it is refused ("… 42" would read
     * as 42 pages); from the blank after it on, it parses. */
    const char *rss = strstr(REAL_STAT, " 421 ");
    size_t need = (size_t)(rss - REAL_STAT) + 5;
    for (size_t len = 0; len < need; len++)
        assert_int_equal(procs_parse_stat(REAL_STAT, len, &st), PK_EPARSE);
    for (size_t len = need; len <= sizeof(REAL_STAT) - 1; len++) {
        assert_int_equal(procs_parse_stat(REAL_STAT, len, &st), 0);
        assert_int_equal(st.rss_pages, 421);
    }
    /* node_exporter's 10/stat, which has no trailing newline */
    assert_int_equal(parse_stat_str("17 (khungtaskd) S 2 0 0 0 -1 2129984 0 0 0 0 14 0 0 0 20 0 1 0 24 0 0 "
                                    "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0 "
                                    "0 0 0 0 0 0 0",
                                    &st),
                     0);
    assert_int_equal(st.pid, 17);
    assert_int_equal(st.utime, 14);
}

static void parse_stat_bad(void **state)
{
    (void)state;
    struct procs_stat st;
    static const char *bad[] = {
        "",
        "\n",
        "garbage",
        "(x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",                         /* no pid */
        "-1 (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",                      /* negative pid */
        "1 x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",                        /* no '(' */
        "1  (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",                      /* two blanks before '(' */
        "1 (x S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",                        /* no ')' */
        "1 (x)S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",                        /* no blank after ')' */
        "1 (x) SS 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",                      /* a two-letter state */
        "1 (x) S -1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",                      /* negative ppid */
        "1 (x) S 1 0 0 0 0 0 0 0 0 0 -5 0 0 0 0 0 1 0 0 0 0",                      /* negative utime */
        "1 (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0x10",                    /* hex rss */
        "1 (x) S 1 0 0 0 0 0 0 0 0 0 1.5 0 0 0 0 0 1 0 0 0 0",                     /* a fraction */
        "1 (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0",                         /* 23 fields */
        "1 (x) S",                                                                 /* state only */
        "2147483648 (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",              /* pid past INT_MAX */
        "1 (x) S 2147483648 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0",              /* ppid past INT_MAX */
        "1 (x) S 1 0 0 0 0 0 0 0 0 0 18446744073709551616 0 0 0 0 0 1 0 0 0 0",    /* utime past 2^64-1 */
        "1 (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 99999999999999999999 0 0 0 0",    /* threads */
        "1 (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 99999999999999999999999", /* rss */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st.pid = -7;
        if (parse_stat_str(bad[i], &st) != PK_EPARSE)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_int_equal(st.pid, -7); /* untouched on failure */
    }
    /* Huge but valid: the largest values each field holds, and negative skipped fields. */
    assert_int_equal(parse_stat_str("2147483647 (x) S 2147483647 -1 -1 -1 -1 0 0 0 0 0 "
                                    "18446744073709551615 18446744073709551615 -5 -5 -100 -20 "
                                    "9223372036854775807 0 18446744073709551615 18446744073709551615 "
                                    "18446744073709551615\n",
                                    &st),
                     0);
    assert_int_equal(st.pid, INT_MAX);
    assert_int_equal(st.ppid, INT_MAX);
    assert_true(st.utime == UINT64_MAX);
    assert_true(st.stime == UINT64_MAX);
    assert_true(st.threads == LONG_MAX);
    assert_true(st.starttime == UINT64_MAX);
    assert_true(st.rss_pages == UINT64_MAX);
}

static void put(const char *dir, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void rm(const char *dir, const char *rel, bool is_dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_int_equal(is_dir ? rmdir(path) : unlink(path), 0);
}

/* Odd trees made on the spot: what a snapshot skips, counts as unreadable, or reads to its cap. */
static void odd_entries(void **state)
{
    (void)state;
    char dir[] = "/tmp/pk_procs_XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    /* 5: a page count that overflows bytes makes stat unusable */
    snprintf(path, sizeof(path), "%s/5", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    put(dir, "5/stat", "5 (big) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 18446744073709551615\n");
    /* 6: a status past the 8 KiB read, its fields first as the kernel prints them */
    snprintf(path, sizeof(path), "%s/6", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    put(dir, "6/stat", "6 (wide) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 3\n");
    char *status = malloc(40000);
    assert_non_null(status);
    int n = snprintf(status, 40000,
                     "Name:\twide\nVmHWM:\t  20 kB\nVmRSS:\t  12 kB\nThreads:\t1\n"
                     "Cpus_allowed_list:\t0");
    for (int cpu = 2; n < 39000; cpu += 2)
        n += snprintf(status + n, (size_t)(40000 - n), ",%d", cpu);
    snprintf(status + n, (size_t)(40000 - n), "\nvoluntary_ctxt_switches:\t1\n");
    put(dir, "6/status", status);
    free(status);
    /* 7: a number that is a file, not a directory; "abc" and "0" are not processes */
    put(dir, "7", "");
    snprintf(path, sizeof(path), "%s/abc", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/0", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    /* 8: a directory without stat reads as a process gone mid-read */
    snprintf(path, sizeof(path), "%s/8", dir);
    assert_int_equal(mkdir(path, 0700), 0);

    struct procs_snap s;
    struct procs_opts o;
    procs_snap_init(&s);
    procs_opts_init(&o);
    o.read = PROCS_STATUS;
    assert_int_equal(procs_snapshot(dir, &o, &s, NULL), 0);
    assert_int_equal(s.total, 1);
    assert_int_equal(s.unreadable, 2); /* 5 and 7 */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.procs[0].pid, 6);
    assert_true(s.procs[0].status_known);
    assert_int_equal(s.procs[0].vm_rss, 12 * KB);
    assert_int_equal(s.procs[0].vm_hwm, 20 * KB);
    assert_int_equal(s.procs[0].rss, 3 * PAGE);

    o.page_size = 1;
    assert_int_equal(procs_snapshot(dir, &o, &s, NULL), 0);
    assert_int_equal(s.total, 2);
    assert_true(s.procs[0].rss == UINT64_MAX);
    assert_int_equal(s.procs[1].rss, 3);
    procs_snap_destroy(&s);

    struct procs_proc p;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(procs_read_pid(dir, 5, NULL, &p, &e), PK_EPARSE);
    assert_non_null(strstr(e.on, "/5/stat"));
    assert_int_equal(procs_read_pid(dir, 7, NULL, &p, &e), -ESRCH);
    assert_int_equal(procs_read_pid(dir, 8, NULL, &p, &e), -ESRCH);

    rm(dir, "5/stat", false);
    rm(dir, "5", true);
    rm(dir, "6/stat", false);
    rm(dir, "6/status", false);
    rm(dir, "6", true);
    rm(dir, "7", false);
    rm(dir, "abc", true);
    rm(dir, "0", true);
    rm(dir, "8", true);
    assert_int_equal(rmdir(dir), 0);
}

static void parse_status(void **state)
{
    (void)state;
    struct procs_status st;
    /* Lines of vm-2cpu/proc/6268/status */
    static const char real[] =
        "Name:\tpk-threads\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t6268\n"
        "VmPeak:\t   92604 kB\nVmSize:\t   92604 kB\nVmHWM:\t   66784 kB\nVmRSS:\t   66784 kB\n"
        "RssAnon:\t   65600 kB\nThreads:\t4\nSigQ:\t0/96365\n";
    assert_int_equal(procs_parse_status(real, sizeof(real) - 1, &st), 0);
    assert_string_equal(st.name, "pk-threads");
    assert_int_equal(st.threads, 4);
    assert_true(st.has_rss && st.has_hwm);
    assert_int_equal(st.vm_rss, 66784 * KB);
    assert_int_equal(st.vm_hwm, 66784 * KB);

    /* 6271/status: the kernel escapes the newline of the name */
    static const char nl[] = "Name:\tnl\\n(x) y\nThreads:\t1\n";
    assert_int_equal(procs_parse_status(nl, sizeof(nl) - 1, &st), 0);
    assert_string_equal(st.name, "nl\\n(x) y");

    /* 2/status, a kernel thread: no Vm* lines */
    static const char kthread[] =
        "Name:\tkthreadd\nUmask:\t0000\nState:\tS (sleeping)\nKthread:\t1\nThreads:\t1\n";
    assert_int_equal(procs_parse_status(kthread, sizeof(kthread) - 1, &st), 0);
    assert_false(st.has_rss || st.has_hwm);
    assert_int_equal(st.vm_rss, 0);
    assert_int_equal(st.threads, 1);

    /* Absent Threads stays unknown; a name with blanks keeps them. */
    static const char bare[] = "Name:\t x ";
    assert_int_equal(procs_parse_status(bare, sizeof(bare) - 1, &st), 0);
    assert_string_equal(st.name, " x ");
    assert_int_equal(st.threads, -1);

    static const char *bad[] = {
        "",
        "garbage",
        "Threads:\t1\n", /* no Name */
        "Name:\tx\nThreads:\tmany\n",
        "Name:\tx\nThreads:\t-1\n",
        "Name:\tx\nVmRSS:\t 12 MB\n",
        "Name:\tx\nVmRSS:\t 12\n",
        "Name:\tx\nVmRSS:\t kB\n",
        "Name:\tx\nVmHWM:\t 18014398509481984 kB\n", /* 2^54 kB overflows bytes */
        "Name:\tx\nVmRSS:\t 12 kB extra\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (procs_parse_status(bad[i], strlen(bad[i]), &st) != PK_EPARSE)
            fail_msg("accepted: \"%s\"", bad[i]);
    /* The largest kB that fits in bytes */
    static const char big[] = "Name:\tx\nVmRSS:\t18014398509481983 kB\n";
    assert_int_equal(procs_parse_status(big, sizeof(big) - 1, &st), 0);
    assert_true(st.vm_rss == 18014398509481983ull * 1024);
}

static void parse_limits(void **state)
{
    (void)state;
    struct procs_limit l;
    /* vm-2cpu/proc/6269/limits, whole */
    static const char real[] =
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max cpu time              unlimited            unlimited            seconds   \n"
        "Max file size             unlimited            unlimited            bytes     \n"
        "Max data size             unlimited            unlimited            bytes     \n"
        "Max stack size            8388608              unlimited            bytes     \n"
        "Max core file size        0                    unlimited            bytes     \n"
        "Max resident set          unlimited            unlimited            bytes     \n"
        "Max processes             96365                96365                processes \n"
        "Max open files            1000                 20000                files     \n"
        "Max locked memory         8388608              8388608              bytes     \n"
        "Max address space         unlimited            unlimited            bytes     \n"
        "Max file locks            unlimited            unlimited            locks     \n"
        "Max pending signals       96365                96365                signals   \n"
        "Max msgqueue size         819200               819200               bytes     \n"
        "Max nice priority         0                    0                    \n"
        "Max realtime priority     0                    0                    \n"
        "Max realtime timeout      unlimited            unlimited            us        \n";
    size_t n = sizeof(real) - 1;
    assert_int_equal(procs_parse_limit(real, n, "Max open files", &l), 0);
    assert_int_equal(l.soft, 1000);
    assert_int_equal(l.hard, 20000);
    assert_int_equal(procs_parse_limit(real, n, "Max stack size", &l), 0);
    assert_int_equal(l.soft, 8388608);
    assert_true(l.hard == PROCS_UNLIMITED);
    assert_int_equal(procs_parse_limit(real, n, "Max cpu time", &l), 0);
    assert_true(l.soft == PROCS_UNLIMITED && l.hard == PROCS_UNLIMITED);
    assert_int_equal(procs_parse_limit(real, n, "Max nice priority", &l), 0); /* no units */
    assert_int_equal(l.soft, 0);
    assert_int_equal(procs_parse_limit(real, n, "Max processes", &l), 0);
    assert_int_equal(l.soft, 96365);
    /* "Max file" is a prefix of two names but the name of none */
    assert_int_equal(procs_parse_limit(real, n, "Max file", &l), -ENOENT);
    assert_int_equal(procs_parse_limit(real, n, "Max open file", &l), -ENOENT);
    assert_int_equal(procs_parse_limit("", 0, "Max open files", &l), -ENOENT);
    /* The line cut before the hard limit */
    size_t cut = (size_t)(strstr(real, "1000 ") - real) + 4;
    assert_int_equal(procs_parse_limit(real, cut, "Max open files", &l), PK_EPARSE);
    /* ... or inside it: "200" of "20000" */
    assert_int_equal(procs_parse_limit(real, cut + 20, "Max open files", &l), PK_EPARSE);
    assert_int_equal(procs_parse_limit(real, cut + 22, "Max open files", &l), PK_EPARSE);
    assert_int_equal(procs_parse_limit(real, cut + 23, "Max open files", &l), 0);
    assert_int_equal(l.hard, 20000);

    static const char *bad[] = {
        "Max open files            lots                 20000                files\n",
        "Max open files            -1                   20000                files\n",
        "Max open files            1024\n",
        "Max open files            18446744073709551615 unlimited            files\n", /* RLIM_INFINITY as a number */
        "Max open files            1024                 unlimitedX           files\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (procs_parse_limit(bad[i], strlen(bad[i]), "Max open files", &l) != PK_EPARSE)
            fail_msg("accepted: \"%s\"", bad[i]);
}

/* ---- between snapshots -------------------------------------------------- */

static struct procs_proc mk(int pid, const char *comm, uint64_t start, uint64_t ticks, uint64_t rss)
{
    struct procs_proc p;
    memset(&p, 0, sizeof(p));
    p.pid = pid;
    snprintf(p.comm, sizeof(p.comm), "%s", comm);
    p.state = 'S';
    p.starttime = start;
    p.utime = ticks / 2;
    p.stime = ticks - ticks / 2;
    p.threads = 1;
    p.rss = rss;
    p.nfds = -1;
    p.cpu_pct = -1;
    return p;
}

static bool near(double a, double b)
{
    return a > b - 1e-9 && a < b + 1e-9;
}

static void diff_cpu_and_growth(void **state)
{
    (void)state;
    /* prev at 1000 s after boot (tick 100000), cur 2 s later, USER_HZ 100. */
    struct procs_proc a[] = {
        mk(10, "steady", 500, 1000, 100 * PAGE),
        mk(20, "gone", 600, 10, PAGE),
        mk(30, "reused", 700, 5000, PAGE),
        mk(40, "idle", 800, 7, PAGE),
    };
    struct procs_proc b[] = {
        mk(10, "steady", 500, 1100, 130 * PAGE), /* +100 ticks over 2 s: 50 % */
        mk(30, "new", 100050, 40, PAGE),         /* pid reused, started in the interval: 40 ticks, 20 % */
        mk(40, "idle", 800, 7, PAGE),            /* 0 % */
        mk(50, "busy", 100100, 380, PAGE),       /* started in the interval, 4 threads busy: 190 % */
        mk(60, "missed", 900, 9999, PAGE),       /* started before prev but not in it: unknown */
    };
    struct procs_snap prev = {
        .procs = a, .n = 4, .total = 100, .threads = 400, .time = 1000.0, .user_hz = 100
    };
    struct procs_snap cur = {
        .procs = b, .n = 5, .total = 110, .threads = 380, .time = 1002.0, .user_hz = 100
    };
    struct procs_change c;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(procs_diff(&prev, &cur, &c, &e), 0);
    assert_true(c.elapsed == 2.0);
    assert_true(c.procs_per_min == 300.0);    /* +10 in 2 s */
    assert_true(c.threads_per_min == -600.0); /* -20 in 2 s */
    assert_int_equal(c.started, 3);           /* 30 (reused), 50, 60 */
    assert_int_equal(c.exited, 2);            /* 20, and the old 30 */

    assert_true(b[0].in_prev);
    assert_true(b[0].cpu_pct == 50.0);
    assert_true(b[0].rss_per_min == 30.0 * PAGE * 30); /* +30 pages in 2 s */
    assert_false(b[1].in_prev);
    assert_true(near(b[1].cpu_pct, 20.0));
    assert_true(b[2].in_prev);
    assert_true(b[2].cpu_pct == 0.0);
    assert_true(near(b[3].cpu_pct, 190.0));
    assert_true(b[4].cpu_pct == -1);

    const struct procs_proc *top[5];
    assert_int_equal(procs_top_cpu(&cur, 5, top), 3); /* 0 % and unknown are not listed */
    assert_int_equal(top[0]->pid, 50);
    assert_int_equal(top[1]->pid, 10);
    assert_int_equal(top[2]->pid, 30);
    assert_int_equal(procs_top_cpu(&cur, 1, top), 1);
    assert_int_equal(top[0]->pid, 50);
    assert_int_equal(procs_top_cpu(&cur, 0, top), 0);

    /* RSS growth from status where both snapshots read it */
    a[0].status_known = b[0].status_known = true;
    a[0].vm_rss = 1000 * KB;
    b[0].vm_rss = 1100 * KB;
    assert_int_equal(procs_diff(&prev, &cur, NULL, &e), 0);
    assert_true(b[0].rss_per_min == 100.0 * KB * 30);

    /* Not later, or another USER_HZ */
    cur.time = prev.time;
    assert_int_equal(procs_diff(&prev, &cur, &c, &e), -EINVAL);
    cur.time = 999.0;
    assert_int_equal(procs_diff(&prev, &cur, &c, &e), -EINVAL);
    cur.time = 1002.0;
    cur.user_hz = 1000;
    assert_int_equal(procs_diff(&prev, &cur, &c, &e), -EINVAL);
    assert_non_null(strstr(e.why, "USER_HZ"));
}

static void top_ties_and_bounds(void **state)
{
    (void)state;
    struct procs_proc v[7];
    static const uint64_t rss[] = { 5, 9, 5, 0, 9, 1, 5 };
    for (int i = 0; i < 7; i++) {
        v[i] = mk(100 - i, "p", 0, 0, rss[i] * PAGE); /* pids descending: ties must still go by pid */
        v[i].cpu_pct = (double)rss[i];
    }
    struct procs_snap s = { .procs = v, .n = 7 };
    const struct procs_proc *top[7];
    /* rss 9: pids 99, 96; 5: 100, 98, 94; 1: 95 */
    static const int want[] = { 96, 99, 94, 98, 100, 95 };
    assert_int_equal(procs_top_rss(&s, 7, top), 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(top[i]->pid, want[i]);
    assert_int_equal(procs_top_cpu(&s, 7, top), 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(top[i]->pid, want[i]);
    assert_int_equal(procs_top_rss(&s, 3, top), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(top[i]->pid, want[i]);

    struct procs_snap empty = { 0 };
    assert_int_equal(procs_top_rss(&empty, 5, top), 0);
    assert_null(procs_find_pid(&empty, 1));
    assert_int_equal(procs_find_name(&empty, "x", top, 5), 0);

    /* find_name counts past cap */
    assert_int_equal(procs_find_name(&s, "p", top, 2), 7);
    assert_int_equal(top[0]->pid, 100);
    assert_int_equal(top[1]->pid, 99);
}

static void state_letters(void **state)
{
    (void)state;
    assert_int_equal(procs_state_of('R'), PROCS_RUNNING);
    assert_int_equal(procs_state_of('S'), PROCS_SLEEPING);
    assert_int_equal(procs_state_of('D'), PROCS_DISK_SLEEP);
    assert_int_equal(procs_state_of('Z'), PROCS_ZOMBIE);
    assert_int_equal(procs_state_of('T'), PROCS_STOPPED);
    assert_int_equal(procs_state_of('t'), PROCS_TRACED);
    assert_int_equal(procs_state_of('X'), PROCS_DEAD);
    assert_int_equal(procs_state_of('I'), PROCS_IDLE);
    assert_int_equal(procs_state_of('W'), PROCS_OTHER);
    assert_int_equal(procs_state_of('\0'), PROCS_OTHER);
}

/* ---- live: children this test controls, read through /proc -------------- */

#define LIVE_NAME   "pk live) t 1"
#define LIVE_FDS    7
#define LIVE_NOFILE 123

/* Waits until the child's state letter is `want`, up to 5 s. */
static void wait_state(int pid, char want, struct procs_proc *p)
{
    for (int i = 0; i < 500; i++) {
        read_pid_ok("/proc", pid, p);
        if (p->state == want)
            return;
        usleep(10000);
    }
    fail_msg("process %d stayed in state %c", pid, p->state);
}

static void live_child(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    int sync[2];
    assert_int_equal(pipe(sync), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Exactly 0, 1, 2 and LIVE_FDS more: whatever the test runner left open is closed. */
        close(sync[0]);
        for (int fd = 0; fd < 3; fd++)
            if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
                _exit(1);
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            if (fd != sync[1])
                close((int)fd);
        for (int i = 0; i < LIVE_FDS; i++)
            if (open("/dev/null", O_RDONLY) < 0)
                _exit(1);
        struct rlimit nl = { .rlim_cur = LIVE_NOFILE, .rlim_max = rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &nl) != 0 || prctl(PR_SET_NAME, LIVE_NAME) != 0)
            _exit(1);
        close(sync[1]); /* EOF tells the parent everything is set */
        for (;;)
            pause();
    }
    close(sync[1]);
    char c;
    assert_int_equal(read(sync[0], &c, 1), 0);
    close(sync[0]);

    struct procs_proc p;
    wait_state(pid, 'S', &p);
    assert_int_equal(p.pid, pid);
    assert_string_equal(p.comm, LIVE_NAME);
    assert_int_equal(p.ppid, getpid());
    assert_int_equal(p.threads, 1);
    assert_int_equal(p.nfds, 3 + LIVE_FDS);
    assert_true(p.nofile_known);
    assert_int_equal(p.nofile.soft, LIVE_NOFILE);
    if (rl.rlim_max == RLIM_INFINITY)
        assert_true(p.nofile.hard == PROCS_UNLIMITED);
    else
        assert_int_equal(p.nofile.hard, rl.rlim_max);
    assert_true(p.status_known);
    assert_true(p.vm_rss > 0 && p.rss > 0);
    assert_true(p.vm_hwm >= p.vm_rss);

    /* The same through a whole snapshot, found by name */
    struct procs_snap s;
    struct procs_opts o;
    struct pk_err e;
    procs_snap_init(&s);
    procs_opts_init(&o);
    o.read = PROCS_ALL;
    o.page_size = sysconf(_SC_PAGESIZE);
    o.user_hz = sysconf(_SC_CLK_TCK);
    pk_err_clear(&e);
    assert_int_equal(procs_snapshot("/proc", &o, &s, &e), 0);
    const struct procs_proc *found[4];
    assert_int_equal(procs_find_name(&s, LIVE_NAME, found, 4), 1);
    assert_int_equal(found[0]->pid, pid);
    assert_int_equal(found[0]->nfds, 3 + LIVE_FDS);
    assert_int_equal(found[0]->nofile.soft, LIVE_NOFILE);
    assert_non_null(procs_find_pid(&s, getpid()));
    assert_true(s.total >= 2 && s.threads >= s.total);
    assert_false(s.truncated);

    /* Stopped, then gone */
    kill(pid, SIGSTOP);
    wait_state(pid, 'T', &p);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(procs_read_pid("/proc", pid, NULL, &p, &e), -ESRCH);
    procs_snap_destroy(&s);
}

static double boottime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(clockid_t id)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(id, &ts), 0);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void live_cpu_percent(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_NAME, "pk busy");
        for (volatile unsigned long n = 0;; n++)
            ;
    }
    clockid_t cid;
    assert_int_equal(clock_getcpuclockid(pid, &cid), 0);

    struct procs_opts o;
    procs_opts_init(&o);
    o.user_hz = sysconf(_SC_CLK_TCK);
    o.page_size = sysconf(_SC_PAGESIZE);
    struct procs_snap a, b;
    struct pk_err e;
    procs_snap_init(&a);
    procs_snap_init(&b);
    pk_err_clear(&e);

    double cpu0 = cpu_seconds(cid), t0 = boottime();
    assert_int_equal(procs_snapshot("/proc", &o, &a, &e), 0);
    usleep(500000);
    assert_int_equal(procs_snapshot("/proc", &o, &b, &e), 0);
    double cpu1 = cpu_seconds(cid), t1 = boottime();
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    struct procs_change c;
    assert_int_equal(procs_diff(&a, &b, &c, &e), 0);
    assert_true(c.elapsed > 0.45 && c.elapsed < 5.0);
    const struct procs_proc *p = procs_find_pid(&b, pid);
    assert_non_null(p);
    assert_true(p->in_prev);
    /* The kernel's own count over a slightly longer window than the snapshots' */
    double truth = (cpu1 - cpu0) / (t1 - t0) * 100.0;
    print_message("busy child: %.1f %% from procs, %.1f %% from its CPU clock\n", p->cpu_pct, truth);
    /* One busy thread: at most one CPU, give or take a tick at each end (4 % of 0.5 s) */
    assert_true(p->cpu_pct <= 110.0);
    assert_true(p->cpu_pct > truth - 20.0 && p->cpu_pct < truth + 20.0);
    /* Unless other work starved it, a spinning child holds most of a CPU. */
    if (truth > 60.0)
        assert_true(p->cpu_pct > 50.0);

    const struct procs_proc *top[5];
    size_t n = procs_top_cpu(&b, 5, top);
    assert_true(n >= 1);
    bool listed = false;
    for (size_t i = 0; i < n; i++)
        listed |= top[i]->pid == pid;
    if (truth > 60.0)
        assert_true(listed);
    procs_snap_destroy(&a);
    procs_snap_destroy(&b);
}

/* fd/ of another user's process is EACCES: nfds unknown, the rest still read. */
static void live_fd_eacces(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        /* pid 1 belongs to root: its fd/ is closed to us. */
        struct procs_proc p;
        struct pk_err e;
        if (procs_read_pid("/proc", 1, NULL, &p, &e) != 0)
            skip();
        assert_int_equal(p.nfds, -1);
        assert_true(p.nofile_known);
        return;
    }
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(out[0]);
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
            _exit(1);
        struct procs_proc p;
        long r[3] = { -2, -2, -2 };
        if (procs_read_pid("/proc", parent, NULL, &p, NULL) == 0) {
            r[0] = p.nfds;
            r[1] = p.nofile_known;
            r[2] = p.status_known;
        }
        _exit(write(out[1], r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
    }
    close(out[1]);
    long r[3];
    assert_int_equal(read(out[0], r, sizeof(r)), sizeof(r));
    close(out[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(r[0], -1);
    assert_int_equal(r[1], 1);
    assert_int_equal(r[2], 1);
}

/* Open descriptors of this process. */
static int count_own_fds(void)
{
    int n = 0;
    char path[64];
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n += access(path, F_OK) == 0;
    }
    return n;
}

static const struct procs_proc *find_kept(const struct procs_snap *s, int pid)
{
    return procs_find_pid(s, pid);
}

/* Kept stat files: the same table as procs_snapshot, files follow the processes, none leaks. */
static void live_kept_files(void **state)
{
    (void)state;
    struct procs_keep k;
    procs_keep_init(&k, 4096);
    struct procs_snap a, b;
    procs_snap_init(&a);
    procs_snap_init(&b);
    struct pk_err e;
    int fds0 = count_own_fds();
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        prctl(PR_SET_NAME, "pk-kept");
        pause();
        _exit(0);
    }
    usleep(50000);
    assert_int_equal(procs_snapshot_keep("/proc", NULL, &k, &a, &e), 0);
    assert_true(k.n > 0 && k.n == a.n); /* one file per process */
    const struct procs_proc *c = find_kept(&a, child);
    assert_non_null(c);
    assert_string_equal(c->comm, "pk-kept");
    assert_int_equal(count_own_fds(), fds0 + (int)k.n);
    /* through the kept files: the same processes, read afresh (our own utime moves) */
    const struct procs_proc *me = find_kept(&a, getpid());
    assert_non_null(me);
    uint64_t t0 = me->utime + me->stime;
    for (volatile unsigned long spin = 0; spin < 300000000ul; spin++)
        ;
    assert_int_equal(procs_snapshot_keep("/proc", NULL, &k, &b, &e), 0);
    me = find_kept(&b, getpid());
    assert_non_null(me);
    assert_true(me->utime + me->stime > t0);
    assert_non_null(find_kept(&b, child));
    /* the child goes: its file is closed, it is no longer listed */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(procs_snapshot_keep("/proc", NULL, &k, &b, &e), 0);
    assert_null(find_kept(&b, child));
    assert_int_equal(count_own_fds(), fds0 + (int)k.n);
    /* a bound: the first two processes keep their files, all are read */
    struct procs_keep two;
    procs_keep_init(&two, 2);
    assert_int_equal(procs_snapshot_keep("/proc", NULL, &two, &a, &e), 0);
    assert_int_equal(two.n, 2);
    assert_true(a.n > 2);
    assert_non_null(find_kept(&a, getpid()));
    procs_keep_destroy(&two);
    procs_keep_destroy(&k);
    assert_int_equal(count_own_fds(), fds0);
    /* a fixture tree: nothing kept, the same table as procs_snapshot */
    procs_keep_init(&k, 4096);
    assert_int_equal(procs_snapshot_keep(VM_PROC, NULL, &k, &a, &e), 0);
    assert_int_equal(procs_snapshot(VM_PROC, NULL, &b, &e), 0);
    assert_int_equal(k.n, 0);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.total, b.total);
    assert_int_equal(a.threads, b.threads);
    for (size_t i = 0; i < a.n; i++) {
        assert_int_equal(a.procs[i].pid, b.procs[i].pid);
        assert_int_equal(a.procs[i].utime, b.procs[i].utime);
        assert_string_equal(a.procs[i].comm, b.procs[i].comm);
    }
    procs_keep_destroy(&k);
    procs_snap_destroy(&a);
    procs_snap_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vm_kernel_threads),   cmocka_unit_test(vm_user_processes),
        cmocka_unit_test(vm_snapshot),         cmocka_unit_test(vm_snapshot_truncated),
        cmocka_unit_test(node_exporter_tree),  cmocka_unit_test(read_pid_errors),
        cmocka_unit_test(parse_stat_comm),     cmocka_unit_test(parse_stat_truncated),
        cmocka_unit_test(parse_stat_bad),      cmocka_unit_test(odd_entries),
        cmocka_unit_test(parse_status),        cmocka_unit_test(parse_limits),
        cmocka_unit_test(diff_cpu_and_growth), cmocka_unit_test(top_ties_and_bounds),
        cmocka_unit_test(state_letters),       cmocka_unit_test(live_child),
        cmocka_unit_test(live_cpu_percent),    cmocka_unit_test(live_fd_eacces),
        cmocka_unit_test(live_kept_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
