#!/usr/bin/env bash
# make install's layout: binary, static and shared library, header, pkg-config
# file, man pages; and a program built against the installed tree with pkg-config.
# Allocation counting with the installed libraries is test_install_alloc.sh.
. "$(dirname "$0")/lib.sh"
SRC="$(dirname "$0")/install"  # the C programs built against the installed tree
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
# shellcheck disable=SC2046
check "compile against the installed header and shared library (pkg-config)" \
    cc $SAN -std=gnu11 -Wall -Werror "$SRC/use.c" -o "$TMP/use" $(pkg-config --cflags --libs perfkit)
expect_exit 0 "program linked with the shared library runs" env LD_LIBRARY_PATH="$LIBDIR" "$TMP/use"
contains "it ran 1000 iterations" "$OUT" " 1000"
# shellcheck disable=SC2046
check "compile statically (pkg-config --static)" \
    cc $SAN -std=gnu11 -Wall -Werror "$SRC/use.c" -o "$TMP/use-static" $(pkg-config --cflags perfkit) \
    "$LIBDIR/libperfkit.a" $(pkg-config --static --libs-only-other --libs-only-l perfkit | sed 's/-lperfkit//')
expect_exit 0 "statically linked program runs" "$TMP/use-static"

# A file of registered benchmarks becomes a program through pk_bench_main (perfkit-main.pc).
# shellcheck disable=SC2046
check "compile a PK_BENCHMARK file (pkg-config perfkit-main)" \
    cc $SAN -std=gnu11 -Wall -Werror "$SRC/reg.c" -o "$TMP/reg" $(pkg-config --cflags --libs perfkit-main)
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

finish
