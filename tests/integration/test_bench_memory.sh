#!/usr/bin/env bash
# perfkit bench's peak RSS per run is the command's own: the figure GNU time
# (-f %M) gives for the same command, measured in this test, turn about with
# perfkit; from the build tree and from an installed tree.
# A quoted 'sleep N' or 'true' is a command being benchmarked, never a wait.
. "$(dirname "$0")/lib.sh"
TIME=/usr/bin/time
[ -x "$TIME" ] || skip "GNU time is not installed (Debian package 'time')"
"$TIME" -f %M true 2>/dev/null >/dev/null || skip "$TIME does not take -f %M"
TOUCH="$PK_BUILD/tests/helpers/pk_touch_mem"

# A static program that does nothing: the smallest peak there is, which a
# run spawned from a copy of perfkit would read several times too large.
printf 'int main(void) { return 0; }\n' >"$TMP/nop.c"
NOP=
if cc -O2 -static -o "$TMP/nop" "$TMP/nop.c" 2>/dev/null; then NOP="$TMP/nop"; fi

# gnu_kib CMD...: GNU time's peak RSS of CMD, in KiB
gnu_kib() { "$TIME" -f %M -o "$TMP/time.out" "$@" >/dev/null 2>&1; tail -n 1 "$TMP/time.out"; }

# compare LABEL PERFKIT-BINARY CMD: five rounds of one GNU time run and one
# perfkit run (perfkit runs the command as one word list, as time does), then
# the medians must agree within 5 % or 256 KiB.
compare() {
    local label=$1 pk=$2 cmd=$3 i
    : >"$TMP/gnu.txt"
    : >"$TMP/pk.txt"
    for i in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        gnu_kib $cmd >>"$TMP/gnu.txt"
        "$pk" bench -N --runs 1 --export-json "$TMP/m.json" "$cmd" >/dev/null 2>"$TMP/pk.err" &&
            $PY -c "import json; print(json.load(open('$TMP/m.json'))['results'][0]['memory_usage_byte'][0] // 1024)" \
                >>"$TMP/pk.txt"
    done
    check "$label: peak RSS as GNU time's (within 5 % or 256 KiB)" $PY - "$TMP/gnu.txt" "$TMP/pk.txt" <<'PY'
import statistics, sys
gnu = [int(x) for x in open(sys.argv[1]).read().split()]
pk = [int(x) for x in open(sys.argv[2]).read().split()]
assert len(gnu) == 5 and len(pk) == 5, (gnu, pk)
g, p = statistics.median(gnu), statistics.median(pk)
assert abs(p - g) <= max(0.05 * g, 256), "perfkit %s KiB, GNU time %s KiB (perfkit %s, GNU time %s)" % (p, g, pk, gnu)
print("perfkit %s KiB, GNU time %s KiB" % (p, g))
PY
}

compare "sleep 0.01" "$PERFKIT" "sleep 0.01"
compare "true" "$PERFKIT" "true"
compare "a program touching 0 MiB" "$PERFKIT" "$TOUCH 0"
compare "a program touching 50 MiB" "$PERFKIT" "$TOUCH 50"
if [ -n "$NOP" ]; then
    compare "a static program doing nothing" "$PERFKIT" "$NOP"
else
    echo "# no static C library here: the static program is left out"
fi
! grep -q "perfkit-spawner is not installed" "$TMP/pk.err" && ok "no note about a missing perfkit-spawner" ||
    fail "no note about a missing perfkit-spawner" "$(cat "$TMP/pk.err")"

# A large baseline loaded by perfkit is not charged to the runs.
$PY -c "
import json; json.dump({'results': [{'command': 'true', 'times': [0.001] * 2000000}]}, open('$TMP/big.json', 'w'))"
"$PERFKIT" bench -N --runs 3 --baseline "$TMP/big.json" --export-json "$TMP/b.json" true >/dev/null 2>&1
g=$(gnu_kib true)
check "with a large baseline loaded, true's peak is still its own" $PY -c "
import json; m = json.load(open('$TMP/b.json'))['results'][0]['memory_usage_byte']
assert max(m) // 1024 <= $g + max(0.05 * $g, 256), (m, $g)"

# ---- installed: perfkit-spawner goes to libexec/perfkit, where perfkit finds it
if cmake --install "$PK_BUILD" --prefix "$TMP/p" >"$TMP/install.log" 2>&1; then
    ok "cmake --install into a prefix"
    [ -x "$TMP/p/libexec/perfkit/perfkit-spawner" ] && ok "perfkit-spawner installed in libexec/perfkit" ||
        fail "perfkit-spawner installed in libexec/perfkit" "$(ls -R "$TMP/p" | head -n 20)"
    compare "installed, true" "$TMP/p/bin/perfkit" "true"
    ! grep -q "perfkit-spawner is not installed" "$TMP/pk.err" && ok "the installed perfkit finds perfkit-spawner" ||
        fail "the installed perfkit finds perfkit-spawner" "$(cat "$TMP/pk.err")"
else
    fail "cmake --install into a prefix" "$(tail -n 5 "$TMP/install.log")"
fi

# Without perfkit-spawner, the runs come from a copy of perfkit, and it says so.
mkdir -p "$TMP/alone"
cp "$PERFKIT" "$TMP/alone/perfkit"
expect_exit 0 "perfkit alone still benchmarks" "$TMP/alone/perfkit" bench -N --runs 2 true
contains "and says its peaks read high" "$OUT" "perfkit-spawner is not installed beside perfkit"

finish
