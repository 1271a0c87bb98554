#define _GNU_SOURCE /* posix_openpt, grantpt, unlockpt, ptsname */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/term.h"
#include "core/clock.h"

/* A real terminal: the master end reads what the code under test wrote to
 * the slave end, which is a TTY for isatty() and TIOCGWINSZ. */
struct pty {
    int master;
    FILE *slave;
};

static bool pty_open(struct pty *p, unsigned short cols)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (p->master < 0)
        return false;
    if (grantpt(p->master) != 0 || unlockpt(p->master) != 0) {
        close(p->master);
        return false;
    }
    const char *name = ptsname(p->master);
    int fd = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    if (fd < 0) {
        close(p->master);
        return false;
    }
    struct winsize ws = { .ws_row = 24, .ws_col = cols };
    ioctl(p->master, TIOCSWINSZ, &ws);
    p->slave = fdopen(fd, "w");
    assert_non_null(p->slave);
    return true;
}

static void pty_close(struct pty *p)
{
    fclose(p->slave);
    close(p->master);
}

/* Everything that arrives on fd within `wait_ms` (then until it goes quiet). */
static size_t drain(int fd, char *buf, size_t cap, int wait_ms)
{
    size_t n = 0;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    while (n + 1 < cap && poll(&pfd, 1, n ? 100 : wait_ms) > 0) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

/* Saves and restores the variables the tests change. */
static char *saved[3];
static const char *const vars[3] = { "TERM", "NO_COLOR", "COLUMNS" };

static int save_env(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
    }
    setenv("TERM", "xterm-256color", 1);
    unsetenv("NO_COLOR");
    unsetenv("COLUMNS");
    return 0;
}

static int restore_env(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
        saved[i] = NULL;
    }
    return 0;
}

static void colour_decision_on_a_tty(void **state)
{
    (void)state;
    struct pty p;
    if (!pty_open(&p, 100))
        skip();
    struct term t;

    term_init(&t, p.slave);
    assert_true(t.tty);
    assert_true(t.color);
    assert_int_equal(t.width, 100);
    assert_ptr_equal(t.fp, p.slave);
    assert_string_equal(term_style(&t, TERM_RED), "\x1b[31m");
    assert_string_equal(term_style(&t, TERM_RESET), "\x1b[0m");
    assert_string_equal(term_style(&t, TERM_BOLD), "\x1b[1m");

    setenv("NO_COLOR", "", 1); /* empty counts as unset */
    term_init(&t, p.slave);
    assert_true(t.color);

    setenv("NO_COLOR", "1", 1);
    term_init(&t, p.slave);
    assert_true(t.tty);
    assert_false(t.color);
    assert_string_equal(term_style(&t, TERM_RED), "");

    setenv("NO_COLOR", "0", 1); /* any non-empty value */
    term_init(&t, p.slave);
    assert_false(t.color);

    unsetenv("NO_COLOR");
    setenv("TERM", "dumb", 1);
    term_init(&t, p.slave);
    assert_true(t.tty);
    assert_false(t.color);
    assert_string_equal(term_style(&t, TERM_GREEN), "");

    unsetenv("TERM");
    term_init(&t, p.slave);
    assert_true(t.color);

    /* The window size wins over COLUMNS. */
    setenv("COLUMNS", "120", 1);
    term_init(&t, p.slave);
    assert_int_equal(t.width, 100);
    pty_close(&p);

    /* A terminal that reports no size falls back to COLUMNS. */
    if (!pty_open(&p, 0))
        skip();
    term_init(&t, p.slave);
    assert_int_equal(t.width, 120);
    pty_close(&p);
}

static void no_colour_on_a_pipe(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    FILE *w = fdopen(fds[1], "w");
    assert_non_null(w);
    struct term t;
    term_init(&t, w);
    assert_false(t.tty);
    assert_false(t.color);
    assert_int_equal(t.width, 80);
    assert_string_equal(term_style(&t, TERM_RED), "");

    setenv("COLUMNS", "132", 1);
    term_init(&t, w);
    assert_int_equal(t.width, 132);
    setenv("COLUMNS", "13x", 1);
    term_init(&t, w);
    assert_int_equal(t.width, 80);
    setenv("COLUMNS", "0", 1);
    term_init(&t, w);
    assert_int_equal(t.width, 80);
    fclose(w);
    close(fds[0]);
}

static void progress_waits_then_draws_a_bar(void **state)
{
    (void)state;
    struct pty p;
    if (!pty_open(&p, 100))
        skip();
    int fl = fcntl(p.master, F_GETFL);
    fcntl(p.master, F_SETFL, fl | O_NONBLOCK);
    struct term t;
    term_init(&t, p.slave);
    struct progress pr;
    char buf[4096];

    progress_start(&pr, &t, "bench", 100);
    progress_update(&pr, 10);
    progress_update(&pr, 20);
    assert_int_equal(drain(p.master, buf, sizeof(buf), 200), 0); /* short runs leave no trace */
    assert_false(pr.drawn);

    pr.start_ns = clock_mono_ns() - 2000000000ull; /* as if it had started two seconds ago */
    progress_update(&pr, 42);
    size_t n = drain(p.master, buf, sizeof(buf), 2000);
    assert_true(pr.drawn);
    assert_true(n > 0);
    assert_int_equal(buf[0], '\r');
    assert_int_equal(n, 1 + 99); /* padded to one column short of the width */
    assert_non_null(strstr(buf, "\rbench  [################........................]  42/100  ETA 3s"));

    /* At most ten redraws a second (reading the bar back took a while, so
     * pretend it was drawn just now). */
    pr.last_draw_ns = clock_mono_ns();
    progress_update(&pr, 43);
    assert_int_equal(drain(p.master, buf, sizeof(buf), 150), 0);

    pr.last_draw_ns -= 200000000ull;
    progress_update(&pr, 100);
    drain(p.master, buf, sizeof(buf), 2000);
    assert_non_null(strstr(buf, "[########################################]  100/100  ETA 0s"));

    /* The caller's estimate of the total time beats done/total. */
    pr.last_draw_ns -= 200000000ull;
    pr.eta_hint_s = 10;
    pr.start_ns = clock_mono_ns() - 2000000000ull;
    progress_update(&pr, 1);
    drain(p.master, buf, sizeof(buf), 2000);
    assert_non_null(strstr(buf, "1/100  ETA 8s"));

    progress_finish(&pr);
    n = drain(p.master, buf, sizeof(buf), 2000);
    assert_int_equal(n, 1 + 99 + 1);
    assert_int_equal(buf[0], '\r');
    assert_int_equal(buf[n - 1], '\r');
    assert_int_equal(strspn(buf + 1, " "), 99);
    assert_false(pr.drawn);
    progress_finish(&pr); /* nothing left to erase */
    assert_int_equal(drain(p.master, buf, sizeof(buf), 100), 0);

    /* Unknown total: a count and the elapsed time, no bar. Control bytes in
     * the label would break the redraw and are blanked. */
    progress_start(&pr, &t, "req\nuests\x1b", 0);
    pr.start_ns = clock_mono_ns() - 3000000000ull;
    progress_update(&pr, 1234);
    drain(p.master, buf, sizeof(buf), 2000);
    assert_non_null(strstr(buf, "\rreq uests   1234  elapsed 3s"));
    assert_null(strchr(buf, '['));
    progress_finish(&pr);
    drain(p.master, buf, sizeof(buf), 500);
    pty_close(&p);
}

static void progress_narrow_terminal_does_not_wrap(void **state)
{
    (void)state;
    struct pty p;
    if (!pty_open(&p, 30))
        skip();
    struct term t;
    term_init(&t, p.slave);
    struct progress pr;
    char buf[4096];
    progress_start(&pr, &t, "a rather long label that cannot fit", 1000000);
    pr.start_ns = clock_mono_ns() - 2000000000ull;
    progress_update(&pr, 500000);
    size_t n = drain(p.master, buf, sizeof(buf), 2000);
    assert_int_equal(n, 1 + 29);
    assert_non_null(strstr(buf, "500000/1000000  ETA 2s"));
    assert_null(strchr(buf, '\n'));
    progress_finish(&pr);
    drain(p.master, buf, sizeof(buf), 500);
    pty_close(&p);
}

static void progress_silent_on_a_pipe(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    FILE *w = fdopen(fds[1], "w");
    struct term t;
    term_init(&t, w);
    struct progress pr;
    progress_start(&pr, &t, "bench", 10);
    pr.start_ns = clock_mono_ns() - 5000000000ull;
    progress_update(&pr, 5);
    progress_finish(&pr);
    fflush(w);
    char buf[64];
    assert_int_equal(read(fds[0], buf, sizeof(buf)), -1);
    assert_int_equal(errno, EAGAIN);
    assert_false(pr.drawn);
    fclose(w);
    close(fds[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(colour_decision_on_a_tty, save_env, restore_env),
        cmocka_unit_test_setup_teardown(no_colour_on_a_pipe, save_env, restore_env),
        cmocka_unit_test_setup_teardown(progress_waits_then_draws_a_bar, save_env, restore_env),
        cmocka_unit_test_setup_teardown(progress_narrow_terminal_does_not_wrap, save_env, restore_env),
        cmocka_unit_test_setup_teardown(progress_silent_on_a_pipe, save_env, restore_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
