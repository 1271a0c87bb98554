// The bodies of bodies.h under Google Benchmark (see pk_inproc.c for the twin).
#include <benchmark/benchmark.h>

#include "bodies.h"

static void BM_empty(benchmark::State &st)
{
    for (auto _ : st) {
    }
}
BENCHMARK(BM_empty);

static void BM_memcpy_4k(benchmark::State &st)
{
    static unsigned char src[INPROC_COPY_LEN] INPROC_ALIGNED, dst[INPROC_COPY_LEN] INPROC_ALIGNED;
    inproc_fill(src, sizeof(src), 1);
    for (auto _ : st) {
        inproc_memcpy(dst, src);
    }
}
BENCHMARK(BM_memcpy_4k);

static void BM_qsort_1000(benchmark::State &st)
{
    static int input[INPROC_QSORT_N] INPROC_ALIGNED, work[INPROC_QSORT_N] INPROC_ALIGNED;
    inproc_qsort_input(input);
    for (auto _ : st) {
        inproc_qsort(work, input);
    }
}
BENCHMARK(BM_qsort_1000);

static void BM_hash_64(benchmark::State &st)
{
    static unsigned char buf[INPROC_HASH_LEN] INPROC_ALIGNED;
    inproc_fill(buf, sizeof(buf), 2);
    for (auto _ : st) {
        inproc_hash(buf);
    }
}
BENCHMARK(BM_hash_64);

BENCHMARK_MAIN();
