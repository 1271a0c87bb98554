#!/usr/bin/env bash
# Instructions per parsed response of the load generator's HTTP/1.1 parser
# (src/load/http1.c) on the recorded nginx responses of
# tests/fixtures/http1/*.bin, counted by valgrind's callgrind: only what runs
# inside http1_parse() and http1_finish() (their callees included), so the
# figure is repeatable to the instruction on a busy machine, unlike a timing.
#
# Usage: bash bench/http1_callgrind.sh [BUILD_DIR] [REV]
#   BUILD_DIR (default build, a normal not a sanitizer build): where its
#   compile_commands.json gives the exact flags the library compiles
#   src/load/http1.c with; the parser is compiled here with those flags.
#   REV: a git revision to compare against: its src/load/http1.{c,h} are
#   compiled the same way and the table gets before / after / ratio columns.
# Env:   ITERS (default 2000) passes over each fixture.
# Prints a Markdown table: per fixture (each parsed whole, as one read brings
# it), overall (all instructions over all responses of those rows), and
# pipelined.bin once more in reads of 16 bytes (the resumable path).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
REV=${2:-}
if [ -d "$BUILD" ]; then BUILD=$(cd "$BUILD" && pwd); else BUILD="$SRC/$BUILD"; fi
ITERS=${ITERS:-2000}
FIX="$SRC/tests/fixtures/http1"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

command -v valgrind >/dev/null || { echo "http1_callgrind: valgrind is not installed" >&2; exit 1; }
[ -f "$BUILD/compile_commands.json" ] ||
    { echo "http1_callgrind: $BUILD/compile_commands.json missing: run 'make' first" >&2; exit 1; }
if grep -q '^PK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "http1_callgrind: $BUILD is a sanitizer build; use a normal one" >&2
    exit 1
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The library's flags for http1.c, less the compiler, its -o and its -c.
mapfile -t FLAGS < <("$PY" - "$BUILD/compile_commands.json" "$SRC/src/load/http1.c" <<'EOF'
import json, shlex, sys
for e in json.load(open(sys.argv[1])):
    if e["file"] == sys.argv[2]:
        a = shlex.split(e["command"])[1:]
        out, skip = [], False
        for x in a:
            if skip:
                skip = False
            elif x in ("-o", "-c"):
                skip = True
            else:
                out.append(x)
        print("\n".join(out))
        break
else:
    sys.exit("no compile command for " + sys.argv[2])
EOF
)

# build VARIANT_DIR: the harness on the parser's files (src/load/http1*.[ch])
# in VARIANT_DIR/src/load, ahead of the tree's own on the include path.
build() {
    local v=$1 objs=() c
    for c in "$v"/src/load/http1*.c; do
        cc "${FLAGS[@]}" -I"$v/src" -c "$c" -o "$v/$(basename "$c" .c).o"
        objs+=("$v/$(basename "$c" .c).o")
    done
    cc "${FLAGS[@]}" -c "$SRC/src/core/err.c" -o "$v/err.o"
    cc "${FLAGS[@]}" -I"$v/src" -c "$SRC/bench/http1_parse.c" -o "$v/main.o"
    cc -o "$v/http1_parse" "$v/main.o" "${objs[@]}" "$v/err.o"
}

mkdir -p "$TMP/after/src/load"
cp "$SRC"/src/load/http1*.[ch] "$TMP/after/src/load/"
build "$TMP/after"
VARIANTS=(after)
if [ -n "$REV" ]; then
    mkdir -p "$TMP/before/src/load"
    git -C "$SRC" rev-parse --verify -q "$REV^{commit}" >/dev/null ||
        { echo "http1_callgrind: $REV is not a revision" >&2; exit 1; }
    for f in $(git -C "$SRC" ls-tree --name-only "$REV" src/load/ | grep '^src/load/http1[^/]*\.[ch]$'); do
        git -C "$SRC" show "$REV:$f" >"$TMP/before/$f"
    done
    build "$TMP/before"
    VARIANTS=(before after)
fi

# count VARIANT ARGS...: "INSTRUCTIONS RESPONSES" of one run.
count() {
    local v=$1
    shift
    local out="$TMP/cg.$v.out"
    local resp
    resp=$(valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
        --toggle-collect=http1_parse --toggle-collect=http1_finish \
        "$TMP/$v/http1_parse" "$@" 2>"$TMP/cg.$v.err" | awk '$1 == "responses" { print $2 }') ||
        { cat "$TMP/cg.$v.err" >&2; exit 1; }
    [ -n "$resp" ] && [ "$resp" -gt 0 ] || { cat "$TMP/cg.$v.err" >&2; exit 1; }
    local ir
    ir=$(awk '$1 == "totals:" { print $2; exit } $1 == "summary:" { s = $2 } END { if (s) print s }' "$out" | head -n 1)
    echo "$ir $resp"
}

# HEAD masks: the responses that answer HEAD (tests/fixtures/http1/README.md).
mask_of() {
    case $1 in
        head.bin) echo 1 ;;
        pipelined.bin) echo 2 ;;
        *) echo 0 ;;
    esac
}

declare -A TOT_IR TOT_RESP
for v in "${VARIANTS[@]}"; do TOT_IR[$v]=0; TOT_RESP[$v]=0; done

if [ -n "$REV" ]; then
    echo "| fixture | bytes | responses | before | after | after / before |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
else
    echo "| fixture | bytes | responses | instructions per response |"
    echo "| --- | ---: | ---: | ---: |"
fi

# row LABEL FILE ARGS...: one line of the table; sums it into the overall
# figure unless LABEL starts with "+".
row() {
    local label=$1 file=$2
    shift 2
    local line="" per=() nresp=0 ir resp
    for v in "${VARIANTS[@]}"; do
        local got
        got=$(count "$v" "$@" "$ITERS" "$file")
        read -r ir resp <<<"$got"
        nresp=$((resp / ITERS))
        per+=("$(awk -v a="$ir" -v b="$resp" 'BEGIN { printf "%.1f", a / b }')")
        if [ "${label#+}" = "$label" ]; then
            TOT_IR[$v]=$((TOT_IR[$v] + ir))
            TOT_RESP[$v]=$((TOT_RESP[$v] + resp))
        fi
    done
    line="| ${label#+} | $(stat -c %s "$file") | $nresp | ${per[0]}"
    if [ -n "$REV" ]; then
        line+=" | ${per[1]} | $(awk -v a="${per[1]}" -v b="${per[0]}" 'BEGIN { printf "%.3f", a / b }')"
    fi
    echo "$line |"
}

for f in "$FIX"/*.bin; do
    name=$(basename "$f")
    row "$name" "$f" -H "$(mask_of "$name")"
done

per=()
for v in "${VARIANTS[@]}"; do
    per+=("$(awk -v a="${TOT_IR[$v]}" -v b="${TOT_RESP[$v]}" 'BEGIN { printf "%.1f", a / b }')")
done
if [ -n "$REV" ]; then
    echo "| **overall** | | $((TOT_RESP[after] / ITERS)) | ${per[0]} | ${per[1]} |" \
         "$(awk -v a="${per[1]}" -v b="${per[0]}" 'BEGIN { printf "%.3f", a / b }') |"
else
    echo "| **overall** | | $((TOT_RESP[after] / ITERS)) | ${per[0]} |"
fi
row "+pipelined.bin in 16-byte reads" "$FIX/pipelined.bin" -H 2 -p 16

echo
echo "Command: bash bench/http1_callgrind.sh $(basename "$BUILD")${REV:+ $REV}; ITERS=$ITERS;" \
     "$(valgrind --version); $(cc --version | head -n 1)"
