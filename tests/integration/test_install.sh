#!/usr/bin/env bash
# make install's layout: binary, static and shared library, header, pkg-config
# file, man pages; and a program built against the installed tree with pkg-config.
. "$(dirname "$0")/lib.sh"
P="$TMP/prefix"
check "cmake --install into a prefix" cmake --install "$PK_BUILD" --prefix "$P"
LIBDIR=$(ls -d "$P"/lib* | head -n 1)
for f in "$P/bin/perfkit" "$P/include/perfkit.h" "$LIBDIR/libperfkit.a" "$LIBDIR/libperfkit.so" \
         "$LIBDIR/pkgconfig/perfkit.pc" "$LIBDIR/pkgconfig/perfkit-main.pc" "$P/share/man/man1/perfkit.1" "$P/share/man/man1/perfkit-bench.1" "$P/share/man/man1/perfkit-doctor.1"; do
    [ -e "$f" ] && ok "installed ${f#$P/}" || fail "installed ${f#$P/}" "missing"
done
if [ -e "$LIBDIR/libperfkit_main.a" ]; then ok "installed libperfkit_main.a"; else fail "installed libperfkit_main.a" "missing"; fi
expect_exit 0 "installed perfkit runs" "$P/bin/perfkit" --version
contains "version printed" "$OUT" "perfkit "

export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
# A sanitizer build installs instrumented libraries: programs linking them need the same runtime.
SAN=""
[ "${PK_SANITIZED:-0}" = 1 ] && SAN="-fsanitize=address,undefined"
cat > "$TMP/use.c" <<'C'
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
C
# shellcheck disable=SC2046
check "compile against the installed header and shared library (pkg-config)" \
    cc $SAN -std=gnu11 -Wall -Werror "$TMP/use.c" -o "$TMP/use" $(pkg-config --cflags --libs perfkit)
expect_exit 0 "program linked with the shared library runs" env LD_LIBRARY_PATH="$LIBDIR" "$TMP/use"
contains "it ran 1000 iterations" "$OUT" " 1000"
# shellcheck disable=SC2046
check "compile statically (pkg-config --static)" \
    cc $SAN -std=gnu11 -Wall -Werror "$TMP/use.c" -o "$TMP/use-static" $(pkg-config --cflags perfkit) \
    "$LIBDIR/libperfkit.a" $(pkg-config --static --libs-only-other --libs-only-l perfkit | sed 's/-lperfkit//')
expect_exit 0 "statically linked program runs" "$TMP/use-static"

# A file of registered benchmarks becomes a program through pk_bench_main (perfkit-main.pc).
cat > "$TMP/reg.c" <<'C'
#include <perfkit.h>
static void BM_add(struct pk_state *st)
{
    uint64_t x = (uint64_t)pk_state_arg(st);
    PK_LOOP(st) { x += 3; pk_do_not_optimize(x); }
}
PK_BENCHMARK_ARGS(BM_add, 1, 2);
int main(int argc, char **argv) { return pk_bench_main(argc, argv); }
C
# shellcheck disable=SC2046
check "compile a PK_BENCHMARK file (pkg-config perfkit-main)" \
    cc $SAN -std=gnu11 -Wall -Werror "$TMP/reg.c" -o "$TMP/reg" $(pkg-config --cflags --libs perfkit-main)
expect_exit 0 "its --list names the registered benchmarks" "$TMP/reg" --list
contains "BM_add/1 listed" "$OUT" "BM_add/1"
contains "BM_add/2 listed" "$OUT" "BM_add/2"

# ---- libperfkit is only the library: no tool's dependencies, no malloc of its own
needed=$(readelf -d "$LIBDIR/libperfkit.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
if [ "${PK_SANITIZED:-0}" = 1 ]; then
    needed=$(printf '%s' "$needed" | tr ' ' '\n' | grep -Ev '^(libasan|libubsan|libstdc\+\+|libgcc_s)' | tr '\n' ' ')
fi
[ "$needed" = "libc.so.6 libjansson.so.4 libm.so.6 " ] && ok "libperfkit.so NEEDs libc, libjansson and libm only" ||
    fail "libperfkit.so NEEDs libc, libjansson and libm only" "NEEDED: $needed"
exported=$(nm -D --defined-only "$LIBDIR/libperfkit.so" | awk '{print $3}' | grep -v '^pk_' | tr '\n' ' ')
[ -z "$exported" ] && ok "libperfkit.so exports pk_* only (no malloc)" ||
    fail "libperfkit.so exports pk_* only (no malloc)" "also: $exported"
if nm -D --defined-only "$P/bin/perfkit" | grep -qwE 'malloc|free|calloc|realloc'; then
    fail "the perfkit binary keeps glibc's malloc" "$(nm -D --defined-only "$P/bin/perfkit" | grep -wE 'malloc|free|calloc|realloc')"
else
    ok "the perfkit binary keeps glibc's malloc"
fi

# Allocation counting is opt-in: a plain program does not count, one linked
# with libperfkit_alloc or preloading it does, and pk_bench_main programs do.
if [ "${PK_SANITIZED:-0}" = 1 ]; then
    echo "ok   - allocation counting: not checked in a sanitizer build (ASan owns malloc)"
else
    cat > "$TMP/allocs.c" <<'C'
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
C
    # shellcheck disable=SC2046
    check "compile the allocation probe" \
        cc -std=gnu11 -Wall -Werror "$TMP/allocs.c" -o "$TMP/allocs" $(pkg-config --cflags --libs perfkit)
    expect_exit 0 "plain library user: runs" env LD_LIBRARY_PATH="$LIBDIR" "$TMP/allocs"
    contains "plain library user: allocations not counted, malloc untouched" "$OUT" "allocs_per_iter=-1"
    expect_exit 0 "LD_PRELOAD=libperfkit_alloc.so: runs" env LD_LIBRARY_PATH="$LIBDIR" LD_PRELOAD="$LIBDIR/libperfkit_alloc.so" "$TMP/allocs"
    contains "LD_PRELOAD=libperfkit_alloc.so: 3 allocations per iteration" "$OUT" "allocs_per_iter=3"
    # shellcheck disable=SC2046
    check "compile with -lperfkit_alloc" \
        cc -std=gnu11 -Wall -Werror "$TMP/allocs.c" -o "$TMP/allocs-opt" $(pkg-config --cflags --libs perfkit) -lperfkit_alloc
    expect_exit 0 "-lperfkit_alloc: runs" env LD_LIBRARY_PATH="$LIBDIR" "$TMP/allocs-opt"
    contains "-lperfkit_alloc: 3 allocations per iteration" "$OUT" "allocs_per_iter=3"
    expect_exit 0 "a pk_bench_main program writes JSON" "$TMP/reg" --min-time 1ms --json "$TMP/reg.json"
    check "a pk_bench_main program counts allocations" grep -q '"allocations_counted": true' "$TMP/reg.json"
fi
finish
