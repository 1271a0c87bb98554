/* The spawner (bench/spawner.h): runs through it are the runner's runs, and
 * their peak RSS is the command's own, not the caller's. Both ways of
 * starting it: the perfkit-spawner program beside the tests' build tree, and
 * a fork of the test. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench/runner.h"
#include "bench/spawner.h"

#define MIB (1024u * 1024u)

static char helper[PATH_MAX + 32]; /* build/perfkit-spawner, from build/tests/test_spawner */

static int find_helper(void **state)
{
    (void)state;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(helper, sizeof(helper), "%s/../perfkit-spawner", exe);
    return access(helper, X_OK);
}

/* The two ways: [0] the helper program, [1] a fork of this process. */
static const char *way(int i)
{
    return i == 0 ? helper : NULL;
}

static void resolve(const char *name, char *path)
{
    struct pk_err e;
    assert_int_equal(runner_resolve(name, path, PATH_MAX, &e), 0);
}

static void expect_ok(int rc, const struct pk_err *e)
{
    char buf[800];
    if (rc != 0)
        fail_msg("unexpected failure %d: %s", rc, pk_err_str(e, buf, sizeof(buf)));
}

static struct bench_run run_sh(struct runner *r, const char *script, size_t output, const char *iteration)
{
    char path[PATH_MAX];
    resolve("sh", path);
    char *argv[] = { "sh", "-c", (char *)script, NULL };
    struct runner_job job = { .path = path, .argv = argv, .output = output, .iteration = iteration };
    struct bench_run run;
    struct pk_err e;
    pk_err_clear(&e);
    expect_ok(runner_run_job(r, &job, &run, &e), &e);
    return run;
}

/* Exit codes, signals, the stderr tail, outputs per job, the input rewound
 * and $HYPERFINE_ITERATION: as the runner in-process does them. */
static void runs_are_the_runners_runs(void **state)
{
    (void)state;
    char dir[] = "/tmp/perfkit-spawner.XXXXXX", a[PATH_MAX], b[PATH_MAX], in[PATH_MAX];
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a.out", dir);
    snprintf(b, sizeof(b), "%s/b.out", dir);
    snprintf(in, sizeof(in), "%s/in", dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fputs("abc\n", f);
    fclose(f);
    for (int w = 0; w < 3; w++) {
        struct spawner *sp = NULL;
        struct pk_err e;
        pk_err_clear(&e);
        if (w < 2)
            expect_ok(spawner_start(way(w), &sp, &e), &e);
        struct runner_out outs[] = { { RUNNER_OUT_FILE, a },
                                     { RUNNER_OUT_FILE, b },
                                     { RUNNER_OUT_PIPE, NULL } };
        struct runner_opts o = { .outputs = outs, .noutputs = 3, .input_path = in, .spawner = sp };
        struct runner r;
        expect_ok(runner_init(&r, &o, &e), &e);

        struct bench_run run = run_sh(&r, "exit 42", 0, NULL);
        assert_int_equal(run.exit_code, 42);
        run = run_sh(&r, "kill -TERM $$", 0, NULL);
        assert_int_equal(run.term_signal, SIGTERM);
        run = run_sh(&r, "echo first >&2; echo 0123456789abcdefghij >&2; exit 1", 0, NULL);
        char tail[16];
        assert_int_equal(runner_stderr_tail(&r, tail, sizeof(tail)), 15);
        assert_string_equal(tail, "6789abcdefghij\n");
        run = run_sh(&r, "echo to-a", 0, NULL);
        assert_int_equal(runner_stderr_tail(&r, tail, sizeof(tail)), 0); /* reset every run */
        run = run_sh(&r, "echo to-b; read x; echo \"$x\"", 1, NULL);
        run = run_sh(&r, "read x; [ \"$x\" = abc ] && seq 100000", 2, NULL);
        assert_int_equal(run.exit_code, 0);
        run = run_sh(&r, "[ \"$HYPERFINE_ITERATION\" = warmup-3 ]", 0, "warmup-3");
        assert_int_equal(run.exit_code, 0);
        run = run_sh(&r, "[ -z \"${HYPERFINE_ITERATION+set}\" ]", 0, NULL);
        assert_int_equal(run.exit_code, 0);
        /* The command holds no end of the spawner's socket. */
        run = run_sh(&r, "for f in /proc/$$/fd/*; do case $(readlink $f) in socket:*) exit 1;; esac; done", 0,
                     NULL);
        assert_int_equal(run.exit_code, 0);
        assert_true(run.wall_s > 0 && run.max_rss_bytes > 0);

        /* An output that does not exist is refused by number. */
        char path[PATH_MAX];
        resolve("true", path);
        char *argv[] = { "true", NULL };
        struct runner_job job = { .path = path, .argv = argv, .output = 3 };
        assert_int_equal(runner_run_job(&r, &job, &run, &e), -EINVAL);
        /* An executable that cannot be run is the exec's error, as posix_spawn's. */
        job.output = 0;
        job.path = "/etc/passwd";
        assert_int_equal(runner_run_job(&r, &job, &run, &e), -EACCES);
        runner_destroy(&r);

        char got[64] = "";
        f = fopen(a, "r");
        assert_non_null(f);
        assert_non_null(fgets(got, sizeof(got), f));
        fclose(f);
        assert_string_equal(got, "to-a\n");
        f = fopen(b, "r");
        assert_non_null(f);
        size_t n = fread(got, 1, sizeof(got) - 1, f);
        got[n] = '\0';
        fclose(f);
        assert_string_equal(got, "to-b\nabc\n");

        /* Opening fails in the spawner as it does in-process, with the same message. */
        o.input_path = "/nonexistent/input";
        assert_true(runner_init(&r, &o, &e) < 0);
        char buf[600];
        assert_non_null(
            strstr(pk_err_str(&e, buf, sizeof(buf)), "--input: cannot open input: '/nonexistent/input'"));
        spawner_free(sp);
    }
    unlink(a);
    unlink(b);
    unlink(in);
    rmdir(dir);
}

/* ---- peak RSS */

static uint64_t peak_of_true(struct spawner *sp)
{
    struct runner_opts o = { .output = RUNNER_OUT_NULL, .spawner = sp };
    struct runner r;
    struct pk_err e;
    expect_ok(runner_init(&r, &o, &e), &e);
    char path[PATH_MAX];
    resolve("true", path);
    char *argv[] = { "true", NULL };
    struct bench_run run;
    expect_ok(runner_run(&r, path, argv, &run, &e), &e);
    runner_destroy(&r);
    return run.max_rss_bytes;
}

/* The caller grows by 64 MiB after the spawner started: a run spawned by
 * the caller itself reports at least that, a run through the spawner only
 * what `true` uses. */
static void peak_rss_is_the_commands_own(void **state)
{
    (void)state;
    struct spawner *sp[2];
    struct pk_err e;
    for (int w = 0; w < 2; w++)
        expect_ok(spawner_start(way(w), &sp[w], &e), &e);
    size_t len = 64 * MIB;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 1, len);
    uint64_t direct = peak_of_true(NULL);
    if (direct < len)
        fail_msg("in-process: %llu bytes, below the caller's 64 MiB", (unsigned long long)direct);
    for (int w = 0; w < 2; w++) {
        uint64_t through = peak_of_true(sp[w]);
        if (through > 8 * MIB)
            fail_msg("through the spawner (%s): %llu bytes for true", w ? "fork" : "helper",
                     (unsigned long long)through);
        spawner_free(sp[w]);
    }
    munmap(p, len);
}

/* ---- stopping */

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The caller's stop reaches a run in progress (a sleep of 30 s, cut at
 * 0.2 s: the bound is liveness, not accuracy), and one raised before the
 * run keeps it from starting. The spawner serves the next runner after. */
static void the_callers_stop_stops_the_run(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    char path[PATH_MAX];
    resolve("sleep", path);
    char *argv[] = { "sleep", "30", NULL };
    for (int w = 0; w < 2; w++) {
        for (int mode = 0; mode < 2; mode++) {
            struct spawner *sp;
            struct pk_err e;
            expect_ok(spawner_start(way(w), &sp, &e), &e);
            struct runner_opts o = { .output = mode ? RUNNER_OUT_PIPE : RUNNER_OUT_NULL,
                                     .stop = &stop_flag,
                                     .spawner = sp };
            struct runner r;
            expect_ok(runner_init(&r, &o, &e), &e);
            struct bench_run run;
            stop_flag = 1;
            assert_int_equal(runner_run(&r, path, argv, &run, &e), PK_ESTOP);
            stop_flag = 0;
            struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = 200000 } };
            assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
            double t0 = now_s();
            assert_int_equal(runner_run(&r, path, argv, &run, &e), PK_ESTOP);
            assert_true(now_s() - t0 < 10.0);
            stop_flag = 0;
            runner_destroy(&r);
            o.output = RUNNER_OUT_NULL;
            expect_ok(runner_init(&r, &o, &e), &e);
            char tpath[PATH_MAX];
            resolve("true", tpath);
            char *targv[] = { "true", NULL };
            expect_ok(runner_run(&r, tpath, targv, &run, &e), &e);
            assert_int_equal(run.exit_code, 0);
            runner_destroy(&r);
            spawner_free(sp);
        }
    }
    sigaction(SIGALRM, &old, NULL);
}

/* A Ctrl-C reaches the whole process group, the spawner included: it stops
 * its run even when the caller's flag is not raised (a SIGINT to the spawner
 * alone); and a spawner that died is an error, not a hang. */
static void signals_to_the_spawner(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++) {
        struct spawner *sp;
        struct pk_err e;
        expect_ok(spawner_start(way(w), &sp, &e), &e);
        struct runner_opts o = { .output = RUNNER_OUT_NULL, .spawner = sp };
        struct runner r;
        expect_ok(runner_init(&r, &o, &e), &e);
        char path[PATH_MAX];
        resolve("sh", path);
        char *argv[] = { "sh", "-c", "kill -INT $PPID; sleep 30", NULL };
        struct bench_run run;
        double t0 = now_s();
        assert_int_equal(runner_run(&r, path, argv, &run, &e), PK_ESTOP);
        assert_true(now_s() - t0 < 10.0);

        kill(spawner_pid(sp), SIGKILL);
        char *targv[] = { "sh", "-c", "true", NULL };
        int rc = runner_run(&r, path, targv, &run, &e);
        assert_int_equal(rc, -EPIPE);
        char buf[600];
        assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "the spawner process ended"));
        runner_destroy(&r);
        spawner_free(sp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_are_the_runners_runs),
        cmocka_unit_test(peak_rss_is_the_commands_own),
        cmocka_unit_test(the_callers_stop_stops_the_run),
        cmocka_unit_test(signals_to_the_spawner),
    };
    return cmocka_run_group_tests(tests, find_helper, NULL);
}
