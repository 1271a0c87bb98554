/* spawn_time N CMD [ARG...]: spawns CMD N times with posix_spawn and reaps
 * it with wait4, timing each run with CLOCK_MONOTONIC from just before the
 * spawn to just after the reap, as the runner does, with nothing else around
 * it; prints one wall time in seconds per line. The bare reference the
 * accuracy tests hold perfkit bench to, measured under the same load. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

int main(int argc, char **argv)
{
    long n = argc > 2 ? strtol(argv[1], NULL, 10) : 0;
    if (n < 1 || n > 100000) {
        fprintf(stderr, "usage: spawn_time N CMD [ARG...]\n");
        return 2;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    for (long i = 0; i < n; i++) {
        pid_t pid;
        int status;
        struct rusage ru;
        double t0 = now_s();
        int rc = posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ);
        if (rc != 0) {
            fprintf(stderr, "spawn_time: %s: %s\n", argv[2], strerror(rc));
            return 1;
        }
        while (wait4(pid, &status, 0, &ru) < 0)
            if (errno != EINTR)
                return 1;
        printf("%.9f\n", now_s() - t0);
    }
    return 0;
}
