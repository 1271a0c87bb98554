/*
 * check - PK_ASSERT(cond): an invariant the code relies on, checked where it
 * costs nothing that matters.
 *
 * Active in the sanitizer build (PK_SANITIZED, which CI runs every test
 * under): a false condition prints the file, line and condition on stderr
 * and aborts, so the test that broke it fails at the cause. Compiled out
 * otherwise (the condition is not evaluated: keep side effects out of it),
 * like assert() under NDEBUG, since release builds are what gets measured.
 * Not for input validation: bad input is an error the caller sees.
 */
#ifndef PK_CORE_CHECK_H
#define PK_CORE_CHECK_H

#if defined(PK_SANITIZED)
#include <stdio.h>
#include <stdlib.h>
#define PK_ASSERT(cond)                                                                                \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "%s:%d: %s: invariant failed: %s\n", __FILE__, __LINE__, __func__, #cond); \
            abort();                                                                                   \
        }                                                                                              \
    } while (0)
#else
#define PK_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif
