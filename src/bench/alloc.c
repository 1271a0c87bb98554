/*
 * alloc - counts allocations by interposing the C allocator's entry points.
 *
 * Why interposition: the harness must count the allocations of the code it
 * times without that code's cooperation, and glibc supports replacing
 * malloc by ELF symbol interposition (the program, or a library loaded
 * before libc, defines malloc; every caller, glibc's own included, then
 * calls it).
 *
 * Opt-in: this file is in neither libperfkit nor the perfkit binary, whose
 * allocations must stay glibc's own. It is linked into the programs that
 * ask for counting: those built on pk_bench_main() (libperfkit_main.a,
 * whose driver references pk_alloc_snapshot and so pulls this object in),
 * and any program linked with, or started with LD_PRELOAD of,
 * libperfkit_alloc.so. The harness finds the counters through a weak
 * reference to pk_alloc_snapshot (harness.c): where it is absent,
 * allocations are reported as not counted. Each wrapper forwards to glibc's allocator through its
 * __libc_* aliases, so memory from any entry point may be freed by any
 * other and malloc_usable_size() and friends keep working.
 *
 * What is counted: successful malloc, calloc, realloc to a non-zero size
 * (whether it moves or not), reallocarray, posix_memalign, aligned_alloc,
 * memalign, valloc and pvalloc, with the bytes asked for (not the chunk
 * sizes). Not counted: mmap, brk, allocations made inside libc through its
 * internal aliases (rare), and the allocations of other threads.
 *
 * Sanitizer builds (PK_SANITIZED) compile the wrappers and pk_alloc_snapshot
 * out: ASan replaces malloc itself, and counts are then reported as
 * unavailable.
 */
#include "bench/harness.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(PK_SANITIZED)

#include <malloc.h>

/* glibc's allocator under its own names (exported by libc.so.6 since 2.2.5). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/*
 * Per-thread, not global: the harness measures the code running on its own
 * thread, and a thread-local counter needs no atomic operation on every
 * malloc of every thread of the process (nor does it pick up their noise).
 * initial-exec: access is a plain %fs-relative load even from libperfkit.so,
 * where the default (general-dynamic) model would call __tls_get_addr, which
 * may itself call malloc.
 */
static __thread struct alloc_counts tls_counts __attribute__((tls_model("initial-exec")));

/* The interposed symbols must be exported although the build hides symbols by default. */
#define ALLOC_EXPORT __attribute__((visibility("default")))

static inline void *counted(void *p, size_t bytes)
{
    if (p) {
        tls_counts.count++;
        tls_counts.bytes += bytes;
    }
    return p;
}

ALLOC_EXPORT void *malloc(size_t size)
{
    return counted(__libc_malloc(size), size);
}

ALLOC_EXPORT void *calloc(size_t nmemb, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(nmemb, size, &bytes))
        bytes = SIZE_MAX; /* glibc fails it with ENOMEM; nothing is counted */
    return counted(__libc_calloc(nmemb, size), bytes);
}

ALLOC_EXPORT void *realloc(void *p, size_t size)
{
    /* realloc(p, 0) frees p (and returns NULL): not an allocation. */
    void *q = __libc_realloc(p, size);
    return size || !p ? counted(q, size) : q;
}

ALLOC_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(nmemb, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, bytes);
}

ALLOC_EXPORT void free(void *p)
{
    __libc_free(p);
}

ALLOC_EXPORT void *memalign(size_t alignment, size_t size)
{
    return counted(__libc_memalign(alignment, size), size);
}

ALLOC_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    /* As glibc's own: the alignment must be a power of two. */
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return counted(__libc_memalign(alignment, size), size);
}

ALLOC_EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
        return EINVAL;
    int saved = errno; /* posix_memalign must not touch errno */
    void *p = __libc_memalign(alignment, size);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = counted(p, size);
    return 0;
}

ALLOC_EXPORT void *valloc(size_t size)
{
    return counted(__libc_valloc(size), size);
}

ALLOC_EXPORT void *pvalloc(size_t size)
{
    return counted(__libc_pvalloc(size), size);
}

ALLOC_EXPORT void pk_alloc_snapshot(struct alloc_counts *out)
{
    *out = tls_counts;
}

#endif
