/* Three allocations per iteration: what the allocation counter should see, when it counts. */
#include <perfkit.h>
#include <stdio.h>
#include <stdlib.h>
static void three(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) { void *p = malloc(100); pk_do_not_optimize(p); free(p); }
}
int main(void)
{
    struct pk_bench *b = pk_bench_new(NULL);
    const struct pk_result *r = NULL;
    struct pk_err e;
    if (!b || pk_bench_run(b, "three", three, NULL, 1000, &r, &e) != 0)
        return 1;
    printf("allocs_per_iter=%g\n", r->allocs_per_iter);
    pk_bench_free(b);
    return 0;
}
