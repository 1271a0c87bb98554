#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/counters.h"

extern char **environ;

/* The reasons counters_open() gives must point at something the user can change. */
static void assert_actionable(const struct pk_err *e)
{
    assert_int_equal(e->code, PK_ENOTSUP);
    assert_true(e->why[0] != '\0');
    assert_true(strstr(e->why, "perf_event_paranoid") || strstr(e->why, "PMU") || strstr(e->why, "seccomp"));
}

/* Opens in mode, or skips the test where the kernel refuses (after checking the reason). */
static void open_or_skip(struct counters *c, enum counters_mode mode)
{
    struct pk_err e;
    pk_err_clear(&e);
    int rc = counters_open(c, mode, &e);
    if (rc == PK_ENOTSUP) {
        assert_actionable(&e);
        for (int i = 0; i < COUNTERS_N; i++)
            assert_int_equal(c->fd[i], -1);
        skip();
    }
    assert_int_equal(rc, 0);
}

static void self_counts_a_loop_of_known_length(void **state)
{
    (void)state;
    struct counters c;
    open_or_skip(&c, COUNTERS_SELF);
    if (c.fd[COUNTERS_INSTRUCTIONS] < 0) {
        counters_close(&c);
        skip(); /* this PMU has no instruction counter */
    }
    struct counters_values a, b, after, d;
    counters_read(&c, &a);
    counters_enable(&c);
    volatile unsigned long sum = 0;
    for (unsigned long i = 0; i < 10000000; i++)
        sum += i;
    counters_disable(&c);
    assert_int_equal(counters_read(&c, &b), 0);
    /* Disabled counters must not move. */
    for (unsigned long i = 0; i < 1000000; i++)
        sum += i;
    (void)sum;
    counters_read(&c, &after);
    counters_close(&c);

    counters_diff(&a, &b, &d);
    assert_true(d.valid[COUNTERS_INSTRUCTIONS]);
    /* At least a load, add, store and branch per iteration; 200M would mean counting something else. */
    assert_in_range(d.v[COUNTERS_INSTRUCTIONS], 10000000, 200000000);
    assert_true(after.v[COUNTERS_INSTRUCTIONS] == b.v[COUNTERS_INSTRUCTIONS]);
}

static void spawn_and_reap(const char *const argv[])
{
    pid_t pid;
    int status;
    struct rusage ru;
    assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ), 0);
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void children_counts_fold_in_at_reap(void **state)
{
    (void)state;
    struct counters c;
    open_or_skip(&c, COUNTERS_CHILDREN);
    const char *true_argv[] = { "/bin/true", NULL };
    const char *loop_argv[] = { "/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done", NULL };
    struct counters_values v0, v1, v2, d_true, d_loop;
    counters_read(&c, &v0);
    spawn_and_reap(true_argv);
    counters_read(&c, &v1);
    /* This process's own work is never counted (the counter only switches on at a child's exec). */
    volatile unsigned long sum = 0;
    for (unsigned long i = 0; i < 10000000; i++)
        sum += i;
    (void)sum;
    struct counters_values idle;
    counters_read(&c, &idle);
    spawn_and_reap(loop_argv);
    counters_read(&c, &v2);
    /* Every run counts, not only the first few (see the pin event in counters.c). */
    int uncounted = 0;
    struct counters_values prev = v2, cur;
    for (int run = 0; run < 20; run++) {
        spawn_and_reap(true_argv);
        counters_read(&c, &cur);
        if (cur.valid[COUNTERS_INSTRUCTIONS] && cur.v[COUNTERS_INSTRUCTIONS] <= prev.v[COUNTERS_INSTRUCTIONS])
            uncounted++;
        prev = cur;
    }
    counters_close(&c);
    assert_int_equal(uncounted, 0);

    counters_diff(&v0, &v1, &d_true);
    counters_diff(&v1, &v2, &d_loop);
    int i = COUNTERS_INSTRUCTIONS;
    if (!d_true.valid[i])
        skip();
    assert_true(d_loop.valid[i]);
    assert_true(d_true.v[i] > 0);
    assert_true(d_loop.v[i] > d_true.v[i]);
    assert_true(idle.v[i] == v1.v[i]);
}

/*
 * counters_open() in a child whose perf_event_open fails with err (a
 * seccomp filter), so each refusal can be checked on any machine.
 * Returns false if this kernel cannot install the filter.
 */
static bool open_refused_with(int err, struct pk_err *out)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sock_filter filter[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_perf_event_open, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
        struct pk_err e;
        pk_err_clear(&e);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
            e.code = 1;
        } else {
            struct counters c;
            if (counters_open(&c, COUNTERS_CHILDREN, &e) == 0)
                counters_close(&c);
        }
        ssize_t n = write(fds[1], &e, sizeof(e));
        _exit(n == (ssize_t)sizeof(e) ? 0 : 1);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], out, sizeof(*out));
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(n, sizeof(*out));
    return out->code != 1;
}

static int live_paranoid(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int v = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &v), 1);
    fclose(f);
    return v;
}

static void refusals_say_what_to_do(void **state)
{
    (void)state;
    struct pk_err e;
    char want[64];

    if (!open_refused_with(EACCES, &e))
        skip();
    assert_actionable(&e);
    snprintf(want, sizeof(want), "perf_event_paranoid is %d", live_paranoid());
    assert_non_null(strstr(e.why, want));
    assert_string_equal(e.on, "perf_event_open");

    assert_true(open_refused_with(EPERM, &e));
    assert_non_null(strstr(e.why, want));

    assert_true(open_refused_with(ENOSYS, &e));
    assert_actionable(&e);
    assert_non_null(strstr(e.why, "seccomp"));

    assert_true(open_refused_with(ENOENT, &e));
    assert_actionable(&e);
    assert_non_null(strstr(e.why, "no hardware PMU (ENOENT"));

    assert_true(open_refused_with(EOPNOTSUPP, &e));
    assert_non_null(strstr(e.why, "no hardware PMU (EOPNOTSUPP"));

    /* Anything else is still refused as unsupported, with the system's words for it. */
    assert_true(open_refused_with(EMFILE, &e));
    assert_int_equal(e.code, PK_ENOTSUP);
    assert_string_equal(e.why, strerror(EMFILE));
}

static void names_and_diff(void **state)
{
    (void)state;
    assert_string_equal(counters_name(COUNTERS_CYCLES), "cycles");
    assert_string_equal(counters_name(COUNTERS_INSTRUCTIONS), "instructions");
    assert_string_equal(counters_name(COUNTERS_BRANCH_MISSES), "branch-misses");
    assert_string_equal(counters_name(COUNTERS_CACHE_MISSES), "cache-misses");
    assert_string_equal(counters_name(COUNTERS_N), "?");
    assert_string_equal(counters_name(-1), "?");

    struct counters_values a = { .v = { 100, 5, 7, 9 }, .valid = { true, true, false, true } };
    struct counters_values b = { .v = { 250, 5, 8, 8 }, .valid = { true, true, true, true } };
    struct counters_values d;
    counters_diff(&a, &b, &d);
    assert_true(d.valid[0] && d.v[0] == 150);
    assert_true(d.valid[1] && d.v[1] == 0);
    assert_false(d.valid[2]);
    assert_int_equal(d.v[2], 0);
    /* A scaled total that steps back is 0, not a wrapped 2^64 - 1. */
    assert_true(d.valid[3] && d.v[3] == 0);
}

static void read_of_closed_counters_is_all_invalid(void **state)
{
    (void)state;
    struct counters c = { .fd = { -1, -1, -1, -1 }, .pin_fd = -1, .mode = COUNTERS_SELF };
    struct counters_values v;
    memset(&v, 0xff, sizeof(v));
    assert_true(counters_read(&c, &v) < 0);
    for (int i = 0; i < COUNTERS_N; i++) {
        assert_false(v.valid[i]);
        assert_int_equal(v.v[i], 0);
    }
    counters_enable(&c);
    counters_disable(&c);
    counters_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_diff),
        cmocka_unit_test(read_of_closed_counters_is_all_invalid),
        cmocka_unit_test(refusals_say_what_to_do),
        cmocka_unit_test(self_counts_a_loop_of_known_length),
        cmocka_unit_test(children_counts_fold_in_at_reap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
