/*
 * seed - the performance guide's first benchmark, in C:
 *
 *     result = benchmark.run_benchmark("My Function", my_function, 42, iterations=1000)
 *     print(f"Average duration: {result.duration:.6f} seconds")
 *     report_file = benchmark.generate_report()
 *
 * Usage: seed [REPORT.json]   (default seed_report.json in the current directory)
 * It reports allocations per iteration, so it links -lperfkit_alloc (the
 * opt-in allocation counting, docs/libperfkit.md).
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
    /* The guide prints seconds with 6 decimals, which shows a 2 ns function as
     * 0.000000; three significant digits say more. */
    printf("Average duration: %.3g seconds (%.3g ns; median %.3g ns, 95%% CI %.3g to %.3g ns)\n",
           r->mean_ns * 1e-9, r->mean_ns, r->median_ns, r->ci_lo_ns, r->ci_hi_ns);
    if (r->allocs_per_iter >= 0)
        printf("Memory usage: %.3g allocations (%.3g bytes) per iteration; peak RSS grew by %" PRId64
               " bytes\n",
               r->allocs_per_iter, r->alloc_bytes_per_iter, r->rss_growth_bytes);
    else
        printf("Memory usage: allocations not counted (link -lperfkit_alloc); peak RSS grew by %" PRId64
               " bytes\n",
               r->rss_growth_bytes);
    printf("CPU usage: %.0f%% of one CPU (%.3g ns of CPU time per iteration)\n", 100 * r->cpu_util,
           r->cpu_ns);

    if (pk_bench_write_json(b, report, &e) != 0) {
        fprintf(stderr, "seed: %s\n", pk_err_str(&e, msg, sizeof(msg)));
        pk_bench_free(b);
        return 1;
    }
    printf("Report: %s\n", report);
    pk_bench_free(b);
    return 0;
}
