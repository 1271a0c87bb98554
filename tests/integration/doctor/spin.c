/* spin THREADS SECONDS: THREADS threads in a busy loop for at most SECONDS (SIGALRM ends it),
 * the real CPU load that test_doctor_busy.sh asks perfkit doctor to name. One process with
 * many threads outweighs any single-threaded process sharing the CPUs with it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile unsigned long sink;

static void *spin(void *arg)
{
    (void)arg;
    for (;;)
        sink++;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: spin THREADS SECONDS\n");
        return 2;
    }
    int n = atoi(argv[1]);
    alarm((unsigned)atoi(argv[2]));
    for (int i = 1; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, spin, NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    spin(NULL);
    return 0;
}
