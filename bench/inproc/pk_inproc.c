/* The bodies of bodies.h under libperfkit (see gb_inproc.cc for the twin). */
#include "perfkit.h"

#include "bodies.h"

static void BM_empty(struct pk_state *st)
{
    PK_LOOP(st) {}
}
PK_BENCHMARK(BM_empty);

static void BM_memcpy_4k(struct pk_state *st)
{
    static unsigned char src[INPROC_COPY_LEN] INPROC_ALIGNED, dst[INPROC_COPY_LEN] INPROC_ALIGNED;
    inproc_fill(src, sizeof(src), 1);
    PK_LOOP(st)
    {
        inproc_memcpy(dst, src);
    }
}
PK_BENCHMARK(BM_memcpy_4k);

static void BM_qsort_1000(struct pk_state *st)
{
    static int input[INPROC_QSORT_N] INPROC_ALIGNED, work[INPROC_QSORT_N] INPROC_ALIGNED;
    inproc_qsort_input(input);
    PK_LOOP(st)
    {
        inproc_qsort(work, input);
    }
}
PK_BENCHMARK(BM_qsort_1000);

static void BM_hash_64(struct pk_state *st)
{
    static unsigned char buf[INPROC_HASH_LEN] INPROC_ALIGNED;
    inproc_fill(buf, sizeof(buf), 2);
    PK_LOOP(st)
    {
        inproc_hash(buf);
    }
}
PK_BENCHMARK(BM_hash_64);

int main(int argc, char **argv)
{
    return pk_bench_main(argc, argv);
}
