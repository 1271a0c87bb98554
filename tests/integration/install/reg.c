/* A file of registered benchmarks made a program by pk_bench_main (perfkit-main.pc). */
#include <perfkit.h>
static void BM_add(struct pk_state *st)
{
    uint64_t x = (uint64_t)pk_state_arg(st);
    PK_LOOP(st) { x += 3; pk_do_not_optimize(x); }
}
PK_BENCHMARK_ARGS(BM_add, 1, 2);
int main(int argc, char **argv) { return pk_bench_main(argc, argv); }
