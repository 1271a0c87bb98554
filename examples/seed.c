/*
 * seed - the performance guide's first benchmark, in C:
 *
 *     result = benchmark.run_benchmark("My Function", my_function, 42, iterations=1000)
 *     print(f"Average duration: {result.duration:.6f} seconds")
 *     report_file = benchmark.generate_report()
 *
 * Usage: seed [REPORT.json]   (default seed_report.json in the current directory)
 */
#include <inttypes.h>
#include <stdio.h>

#include "perfkit.h"

static void my_function(void *arg)
{
    int x = *(const int *)arg;
    /* The result is unused, so without this the compiler would drop the work. */
    pk_do_not_optimize(x * 2);
}

int main(int argc, char **argv)
{
    const char *report = argc > 1 ? argv[1] : "seed_report.json";
    struct pk_err e;
    char msg[800];
    pk_err_clear(&e);

    struct pk_bench *b = pk_bench_new(NULL);
    if (!b) {
        fprintf(stderr, "seed: out of memory\n");
        return 1;
    }
    int x = 42;
    const struct pk_result *r;
    if (pk_bench_run(b, "My Function", my_function, &x, 1000, &r, &e) != 0) {
        fprintf(stderr, "seed: %s\n", pk_err_str(&e, msg, sizeof(msg)));
        pk_bench_free(b);
        return 1;
    }

    printf("%s: %" PRIu64 " iterations\n", r->name, r->iterations);
    printf("Average duration: %.9f seconds (median %.9f, 95%% CI %.9f to %.9f)\n", r->mean_ns * 1e-9,
           r->median_ns * 1e-9, r->ci_lo_ns * 1e-9, r->ci_hi_ns * 1e-9);
    if (r->allocs_per_iter >= 0)
        printf("Memory usage: %.0f allocations and %.0f bytes per iteration, peak RSS grew by %" PRId64
               " bytes\n",
               r->allocs_per_iter, r->alloc_bytes_per_iter, r->rss_growth_bytes);
    else
        printf("Memory usage: allocations not counted in this build, peak RSS grew by %" PRId64 " bytes\n",
               r->rss_growth_bytes);
    printf("CPU usage: %.1f%% (%.9f s of CPU per iteration)\n", 100 * r->cpu_util, r->cpu_ns * 1e-9);

    if (pk_bench_write_json(b, report, &e) != 0) {
        fprintf(stderr, "seed: %s\n", pk_err_str(&e, msg, sizeof(msg)));
        pk_bench_free(b);
        return 1;
    }
    printf("Report: %s\n", report);
    pk_bench_free(b);
    return 0;
}
