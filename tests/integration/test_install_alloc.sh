#!/usr/bin/env bash
# Allocation counting with the installed libraries is opt-in: a plain library
# user does not count (and keeps glibc's malloc), one linked with
# libperfkit_alloc or preloading it does, and pk_bench_main programs do. A
# sanitizer build is skipped: ASan owns malloc there. The rest of the installed
# tree is test_install.sh.
. "$(dirname "$0")/lib.sh"
[ "${PK_SANITIZED:-0}" = 1 ] && skip "a sanitizer build: ASan owns malloc"
SRC="$(dirname "$0")/install"  # the C programs built against the installed tree
P="$TMP/prefix"
cmake --install "$PK_BUILD" --prefix "$P" >"$TMP/install.log" 2>&1 ||
    die "cmake --install into a prefix" "$(tail -n 15 "$TMP/install.log")"
LIBDIR=$(ls -d "$P"/lib* | head -n 1)
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"

# shellcheck disable=SC2046
check "compile the allocation probe" \
    cc -std=gnu11 -Wall -Werror "$SRC/allocs.c" -o "$TMP/allocs" $(pkg-config --cflags --libs perfkit)
expect_exit 0 "plain library user: runs" env LD_LIBRARY_PATH="$LIBDIR" "$TMP/allocs"
contains "plain library user: allocations not counted, malloc untouched" "$OUT" "allocs_per_iter=-1"
expect_exit 0 "LD_PRELOAD=libperfkit_alloc.so: runs" env LD_LIBRARY_PATH="$LIBDIR" LD_PRELOAD="$LIBDIR/libperfkit_alloc.so" "$TMP/allocs"
contains "LD_PRELOAD=libperfkit_alloc.so: 3 allocations per iteration" "$OUT" "allocs_per_iter=3"
# shellcheck disable=SC2046
check "compile with -lperfkit_alloc" \
    cc -std=gnu11 -Wall -Werror "$SRC/allocs.c" -o "$TMP/allocs-opt" $(pkg-config --cflags --libs perfkit) -lperfkit_alloc
expect_exit 0 "-lperfkit_alloc: runs" env LD_LIBRARY_PATH="$LIBDIR" "$TMP/allocs-opt"
contains "-lperfkit_alloc: 3 allocations per iteration" "$OUT" "allocs_per_iter=3"
# shellcheck disable=SC2046
check "compile a PK_BENCHMARK file (pkg-config perfkit-main)" \
    cc -std=gnu11 -Wall -Werror "$SRC/reg.c" -o "$TMP/reg" $(pkg-config --cflags --libs perfkit-main)
expect_exit 0 "a pk_bench_main program writes JSON" "$TMP/reg" --min-time 1ms --json "$TMP/reg.json"
check "a pk_bench_main program counts allocations" grep -q '"allocations_counted": true' "$TMP/reg.json"

finish
