#!/usr/bin/env bash
# The layers (docs/HACKING.md): each layer's library compiles against an
# include tree that holds only itself and the layers below it, so a tool that
# includes another tool's header, or core that includes sys, does not build.
# A probe file is compiled with the exact command of a file of each layer
# (from compile_commands.json): the allowed includes must compile, the
# forbidden ones must not. And no source reaches around the trees with a
# relative or absolute include path.
. "$(dirname "$0")/lib.sh"
: "${PK_BUILD:?}" "${PK_SRC:?}"
DB="$PK_BUILD/compile_commands.json"
[ -f "$DB" ] || die "compile_commands.json" "missing in $PK_BUILD"

# compile LAYER HEADER: compiles '#include "HEADER"' as a file of LAYER would be.
compile() {
    local layer=$1 header=$2
    printf '#include "%s"\nint pk_layer_probe;\n' "$header" >"$TMP/probe.c"
    "$PY" - "$DB" "$PK_SRC/src/$layer/" "$TMP/probe.c" "$TMP/probe.o" <<'PY' >"$TMP/cmd"
import json, shlex, sys
db, prefix, probe, obj = sys.argv[1:]
for e in json.load(open(db)):
    f = e["file"]
    if f.startswith(prefix) and f.endswith(".c") and "CMakeFiles/pk_%s.dir/" % prefix.rstrip("/").rsplit("/", 1)[1] in e["command"]:
        args = shlex.split(e["command"])
        out, i = [], 0
        while i < len(args):
            a = args[i]
            if a in ("-o", "-c", "-MF", "-MT"):
                i += 2
                continue
            if a in ("-MD", "-MMD") or a == f:
                i += 1
                continue
            out.append(a)
            i += 1
        print(shlex.join(out + ["-c", probe, "-o", obj]))
        break
PY
    [ -s "$TMP/cmd" ] || return 99
    (cd "$PK_BUILD" && eval "$(cat "$TMP/cmd")") >"$TMP/err" 2>&1
}

allowed() {
    compile "$1" "$2"
    local rc=$?
    [ $rc -eq 0 ] && ok "$1 may include $2" || fail "$1 may include $2" "exit $rc" "$(tail -n 5 "$TMP/err")"
}
forbidden() {
    compile "$1" "$2"
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 99 ] && grep -q "$2" "$TMP/err"; then
        ok "$1 cannot include $2"
    else
        fail "$1 cannot include $2" "exit $rc" "$(tail -n 5 "$TMP/err")"
    fi
}

allowed core core/err.h
forbidden core sys/cpu.h
forbidden core load/engine.h
allowed sys core/hist.h
allowed sys sys/cpu.h
forbidden sys bench/runner.h
forbidden sys monitor/store.h
allowed bench bench/runner.h
allowed bench sys/host.h
forbidden bench load/engine.h
forbidden bench cli/cli.h
allowed load load/engine.h
forbidden load monitor/store.h
forbidden load doctor/doctor.h
allowed monitor monitor/store.h
allowed monitor sys/cpu.h
forbidden monitor load/engine.h
forbidden monitor bench/runner.h
allowed doctor doctor/doctor.h
forbidden doctor load/engine.h
forbidden doctor monitor/store.h
allowed cli load/engine.h
allowed cli monitor/store.h

around=$(grep -rnE '#[[:space:]]*include[[:space:]]*"(\.\./|/)' "$PK_SRC/src" || true)
[ -z "$around" ] && ok "no include reaches around the layer trees (../ or absolute)" ||
    fail "no include reaches around the layer trees (../ or absolute)" "$around"
finish
