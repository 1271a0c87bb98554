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

# ---- the systemd unit starts the binary of this install, wherever --prefix put it
unit_exec() { sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$1"; }
UNIT="$P/lib/systemd/system/perfkit-monitor.service"
[ "$(unit_exec "$UNIT")" = "$P/bin/perfkit" ] && ok "the unit's ExecStart is the installed binary" ||
    fail "the unit's ExecStart is the installed binary" "ExecStart: $(unit_exec "$UNIT")" "installed: $P/bin/perfkit"
P2="$TMP/prefix2"
check "cmake --install into a second prefix" cmake --install "$PK_BUILD" --prefix "$P2"
[ "$(unit_exec "$P2/lib/systemd/system/perfkit-monitor.service")" = "$P2/bin/perfkit" ] &&
    ok "a second prefix: its unit starts its own binary" ||
    fail "a second prefix: its unit starts its own binary" "$(unit_exec "$P2/lib/systemd/system/perfkit-monitor.service")"
# DESTDIR stages a package: files under it, ExecStart the path they will have once installed
check "cmake --install with DESTDIR" env DESTDIR="$TMP/stage" cmake --install "$PK_BUILD" --prefix /opt/perfkit
[ "$(unit_exec "$TMP/stage/opt/perfkit/lib/systemd/system/perfkit-monitor.service")" = /opt/perfkit/bin/perfkit ] &&
    ok "DESTDIR: ExecStart is the final path, without the staging directory" ||
    fail "DESTDIR: ExecStart is the final path, without the staging directory" \
        "$(unit_exec "$TMP/stage/opt/perfkit/lib/systemd/system/perfkit-monitor.service")"
contains "make install PREFIX= installs with that prefix" \
    "$(make -n -C "$PK_SRC" install BUILD="$PK_BUILD" PREFIX=/opt/pk 2>&1)" "cmake --install $PK_BUILD --prefix /opt/pk"

# ---- perfkit(1) names every subcommand, and each has its page
cmds=$("$P/bin/perfkit" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF && $1 != "help" { print $1 }')
[ -n "$cmds" ] || fail "perfkit --help lists the subcommands" "$("$P/bin/perfkit" --help)"
for c in $cmds; do
    grep -qx "\.B $c" "$P/share/man/man1/perfkit.1" && ok "perfkit(1) describes $c" || fail "perfkit(1) describes $c"
    grep -q "^\.BR perfkit-$c (1)" "$P/share/man/man1/perfkit.1" && ok "perfkit(1) refers to perfkit-$c(1)" ||
        fail "perfkit(1) refers to perfkit-$c(1)"
    [ -e "$P/share/man/man1/perfkit-$c.1" ] && ok "perfkit-$c.1 installed" || fail "perfkit-$c.1 installed"
done

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
