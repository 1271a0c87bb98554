/*
 * perfkit-spawner - the process perfkit bench spawns every run from
 * (bench/spawner.h). A program of its own, linked with libc only and never
 * instrumented, so that each run starts from its few private pages, as a
 * command run by GNU time does, and its peak RSS is the command's own.
 *
 * Usage (by spawner_start() only): perfkit-spawner FD PARENT_PID
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/spawner.h"

int main(int argc, char **argv)
{
    char *end;
    errno = 0;
    long fd = argc == 3 ? strtol(argv[1], &end, 10) : -1;
    if (argc != 3 || errno || *end || fd < 0 || fd > 1024) {
        fprintf(stderr, "perfkit-spawner: started by perfkit bench only\n");
        return 2;
    }
    long parent = strtol(argv[2], &end, 10);
    if (errno || *end || parent <= 1) {
        fprintf(stderr, "perfkit-spawner: started by perfkit bench only\n");
        return 2;
    }
    /* posix_spawn: a run starts from this program's own peak, a few hundred
     * KiB, and is spawned as cheaply as perfkit itself would. */
    spawner_serve((int)fd, (pid_t)parent, false);
}
