#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench/runner.h"

extern char **environ;

static struct runner r;

static int setup(void **state)
{
    (void)state;
    struct runner_opts o = { .output = RUNNER_OUT_NULL };
    struct pk_err e;
    return runner_init(&r, &o, &e);
}

static int teardown(void **state)
{
    (void)state;
    runner_destroy(&r);
    return 0;
}

static void run_sh(const char *script, struct bench_run *run)
{
    char path[PATH_MAX];
    struct pk_err e;
    assert_int_equal(runner_resolve("sh", path, sizeof(path), &e), 0);
    char *argv[] = { "sh", "-c", (char *)script, NULL };
    assert_int_equal(runner_run(&r, path, argv, run, &e), 0);
}

static void records_exit_codes_and_signals(void **state)
{
    (void)state;
    struct bench_run run;
    run_sh("exit 0", &run);
    assert_int_equal(run.exit_code, 0);
    assert_int_equal(run.term_signal, 0);
    run_sh("exit 42", &run);
    assert_int_equal(run.exit_code, 42);
    run_sh("kill -TERM $$", &run);
    assert_int_equal(run.exit_code, -1);
    assert_int_equal(run.term_signal, SIGTERM);
}

/* The reference for a run's wall time: the same command spawned and reaped
 * by a bare posix_spawn + wait4, timed by the clock, in the same test. */
static double bare_wall_s(const char *script)
{
    char path[PATH_MAX];
    struct pk_err e;
    assert_int_equal(runner_resolve("sh", path, sizeof(path), &e), 0);
    char *argv[] = { "sh", "-c", (char *)script, NULL };
    struct timespec t0, t1;
    pid_t pid;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(posix_spawn(&pid, path, NULL, NULL, argv, environ), 0);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
}

static void measures_wall_and_cpu(void **state)
{
    (void)state;
    struct bench_run run;
    /* Never less than the sleep; and, however loaded the machine, what a bare
     * clock measures of the same command, the two taking turns (the middle
     * of three differences, within a quarter or 20 ms). */
    double diff[3];
    for (int i = 0; i < 3; i++) {
        double bare = bare_wall_s("sleep 0.1");
        run_sh("sleep 0.1", &run);
        assert_true(run.wall_s >= 0.1);
        diff[i] = fabs(run.wall_s - bare) / fmax(0.25 * bare, 0.02);
    }
    double lo = fmin(diff[0], fmin(diff[1], diff[2])), hi = fmax(diff[0], fmax(diff[1], diff[2]));
    if (!(diff[0] + diff[1] + diff[2] - lo - hi <= 1.0))
        fail_msg("runner and bare clock differ beyond a quarter or 20 ms (%.2f, %.2f, %.2f of it)", diff[0],
                 diff[1], diff[2]);
    assert_true(run.user_s + run.sys_s < 0.05); /* sleeping costs almost no CPU */
    run_sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done", &run);
    assert_true(run.user_s + run.sys_s > 0.01);
    assert_true(run.user_s + run.sys_s <= run.wall_s * 1.05 + 0.01);
    assert_true(run.max_rss_bytes > 100 * 1024 && run.max_rss_bytes < 64u * 1024 * 1024);
    assert_true(run.minflt > 0);
}

static void keeps_the_tail_of_stderr(void **state)
{
    (void)state;
    struct bench_run run;
    char tail[16];
    run_sh("echo first >&2; echo 0123456789abcdefghij >&2", &run);
    size_t n = runner_stderr_tail(&r, tail, sizeof(tail));
    assert_int_equal(n, 15);
    assert_string_equal(tail, "6789abcdefghij\n"); /* the last 15 bytes */
    run_sh("true", &run);
    assert_int_equal(runner_stderr_tail(&r, tail, sizeof(tail)), 0); /* reset every run */
}

static void resolves_and_refuses(void **state)
{
    (void)state;
    char path[PATH_MAX];
    struct pk_err e;
    char buf[600];
    assert_int_equal(runner_resolve("true", path, sizeof(path), &e), 0);
    assert_non_null(strstr(path, "/true"));
    assert_int_equal(runner_resolve("/bin/sh", path, sizeof(path), &e), 0);
    assert_string_equal(path, "/bin/sh");
    assert_int_equal(runner_resolve("no-such-cmd-xyz", path, sizeof(path), &e), -ENOENT);
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "no-such-cmd-xyz: command not found"));
    assert_int_equal(runner_resolve("/etc/passwd", path, sizeof(path), &e), -EACCES);
    assert_int_equal(runner_resolve("/tmp", path, sizeof(path), &e), -EISDIR);
}

static void input_is_rewound_each_run(void **state)
{
    (void)state;
    char in[] = "/tmp/perfkit-runner-in.XXXXXX";
    int fd = mkstemp(in);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc\n", 4), 4);
    close(fd);
    struct runner ri;
    struct runner_opts o = { .output = RUNNER_OUT_NULL, .input_path = in };
    struct pk_err e;
    assert_int_equal(runner_init(&ri, &o, &e), 0);
    char path[PATH_MAX];
    assert_int_equal(runner_resolve("sh", path, sizeof(path), &e), 0);
    char *argv[] = { "sh", "-c", "read x; [ \"$x\" = abc ]", NULL };
    for (int i = 0; i < 3; i++) {
        struct bench_run run;
        assert_int_equal(runner_run(&ri, path, argv, &run, &e), 0);
        assert_int_equal(run.exit_code, 0);
    }
    runner_destroy(&ri);
    unlink(in);
    o.input_path = "/nonexistent/input";
    assert_true(runner_init(&ri, &o, &e) < 0);
    char buf[600];
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "/nonexistent/input"));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* A stop raised before the spawn (a SIGINT between two runs) interrupts no
 * wait: the run must still be cut short, not waited for to its end. */
static void stop_raised_before_the_spawn(void **state)
{
    (void)state;
    struct runner rs;
    struct runner_opts o = { .output = RUNNER_OUT_NULL, .stop = &stop_flag };
    struct pk_err e;
    assert_int_equal(runner_init(&rs, &o, &e), 0);
    char path[PATH_MAX];
    assert_int_equal(runner_resolve("sleep", path, sizeof(path), &e), 0);
    char *argv[] = { "sleep", "5", NULL };
    struct bench_run run;
    stop_flag = 1;
    double t0 = now_s();
    assert_int_equal(runner_run(&rs, path, argv, &run, &e), PK_ESTOP);
    assert_true(now_s() - t0 < 2.0);
    stop_flag = 0;
    runner_destroy(&rs);
}

/* --output pipe: a signal to perfkit alone (SIGTERM from a supervisor) stops
 * the run while its output is being drained. */
static void stop_while_draining_the_pipe(void **state)
{
    (void)state;
    struct runner rs;
    struct runner_opts o = { .output = RUNNER_OUT_PIPE, .stop = &stop_flag };
    struct pk_err e;
    assert_int_equal(runner_init(&rs, &o, &e), 0);
    char path[PATH_MAX];
    assert_int_equal(runner_resolve("sleep", path, sizeof(path), &e), 0);
    char *argv[] = { "sleep", "5", NULL };
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = 200000 } };
    stop_flag = 0;
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    struct bench_run run;
    double t0 = now_s();
    assert_int_equal(runner_run(&rs, path, argv, &run, &e), PK_ESTOP);
    assert_true(now_s() - t0 < 2.0);
    sigaction(SIGALRM, &old, NULL);
    stop_flag = 0;
    runner_destroy(&rs);
}

static void input_that_is_a_directory(void **state)
{
    (void)state;
    struct runner ri;
    struct runner_opts o = { .output = RUNNER_OUT_NULL, .input_path = "/tmp" };
    struct pk_err e;
    char buf[600];
    assert_int_equal(runner_init(&ri, &o, &e), -EISDIR);
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "--input"));
}

/* With SIGCHLD ignored the kernel reaps the child itself and wait4 fails
 * (ECHILD): the run is an error naming the command, not a run of 0 s. */
static void wait_that_fails(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
    char path[PATH_MAX];
    struct pk_err e;
    assert_int_equal(runner_resolve("sh", path, sizeof(path), &e), 0);
    char *argv[] = { "sh", "-c", "exit 3", NULL };
    struct bench_run run;
    int rc = runner_run(&r, path, argv, &run, &e);
    sigaction(SIGCHLD, &old, NULL);
    assert_int_equal(rc, -ECHILD);
    char buf[600];
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "cannot wait for command"));
    /* the runner is usable afterwards */
    run_sh("exit 0", &run);
    assert_int_equal(run.exit_code, 0);
}

/* Destroying a runner that was never initialised (zeroed) closes nothing. */
static void destroy_zeroed(void **state)
{
    (void)state;
    if (fcntl(STDIN_FILENO, F_GETFD) < 0)
        assert_int_equal(open("/dev/null", O_RDONLY), STDIN_FILENO);
    struct runner z;
    memset(&z, 0, sizeof(z));
    runner_destroy(&z);
    assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0); /* fd 0 of a zeroed runner is not its own */
    runner_destroy(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_exit_codes_and_signals),
        cmocka_unit_test(measures_wall_and_cpu),
        cmocka_unit_test(keeps_the_tail_of_stderr),
        cmocka_unit_test(resolves_and_refuses),
        cmocka_unit_test(input_is_rewound_each_run),
        cmocka_unit_test(stop_raised_before_the_spawn),
        cmocka_unit_test(stop_while_draining_the_pipe),
        cmocka_unit_test(input_that_is_a_directory),
        cmocka_unit_test(wait_that_fails),
        cmocka_unit_test(destroy_zeroed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
