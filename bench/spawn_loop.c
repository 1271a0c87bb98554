/* Bare reference for the per-run cost of spawning a command: posix_spawn of
 * /bin/true and wait4 for it, N times, each run timed with CLOCK_MONOTONIC from
 * just before the spawn to just after the reap. Nothing else happens between
 * runs (no redirections, no statistics, no output), so this is the floor any
 * command benchmarking tool pays per run on this machine.
 *
 * Usage: spawn_loop N
 * Prints one line: "mean <seconds> median <seconds>".
 * Built by bench/cmd_overhead.sh with cc -O2; not part of the CMake build. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* wait4 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: spawn_loop N\n");
        return 2;
    }
    char *end;
    errno = 0;
    long n = strtol(argv[1], &end, 10);
    if (errno || *end || n < 1 || n > 10000000) {
        fprintf(stderr, "spawn_loop: N must be an integer in 1..10000000\n");
        return 2;
    }
    double *t = malloc((size_t)n * sizeof(double));
    if (!t) {
        perror("spawn_loop: malloc");
        return 1;
    }
    char *child_argv[] = { (char *)"true", NULL };
    for (long i = 0; i < n; i++) {
        pid_t pid;
        int status;
        struct rusage ru;
        double t0 = now_s();
        int rc = posix_spawn(&pid, "/bin/true", NULL, NULL, child_argv, environ);
        if (rc != 0) {
            fprintf(stderr, "spawn_loop: posix_spawn /bin/true: %s\n", strerror(rc));
            return 1;
        }
        while (wait4(pid, &status, 0, &ru) < 0) {
            if (errno != EINTR) {
                perror("spawn_loop: wait4");
                return 1;
            }
        }
        t[i] = now_s() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_loop: /bin/true failed\n");
            return 1;
        }
    }
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += t[i];
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    double median = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    printf("mean %.9f median %.9f\n", sum / (double)n, median);
    free(t);
    return 0;
}
