/* A library user: one pk_bench_run through the installed header and library. */
#include <perfkit.h>
#include <stdio.h>
static void twice(void *arg) { int x = *(int *)arg; pk_do_not_optimize(x * 2); }
int main(void)
{
    struct pk_bench *b = pk_bench_new(NULL);
    const struct pk_result *r = NULL;
    struct pk_err e;
    int x = 42;
    if (!b || pk_bench_run(b, "twice", twice, &x, 1000, &r, &e) != 0)
        return 1;
    printf("%s %llu\n", pk_version(), (unsigned long long)r->iterations);
    pk_bench_free(b);
    return 0;
}
