#!/usr/bin/env bash
# perfkit bench against hyperfine itself, run here: what each writes for the
# same commands has the same shape, so programs written for hyperfine's files
# read perfkit's.
# A quoted 'true' or 'false' is a command being benchmarked, never a wait.
. "$(dirname "$0")/lib.sh"
command -v hyperfine >/dev/null 2>&1 || skip "hyperfine is not installed (make test installs it)"

# same_shape HF PK: every result hyperfine wrote is a result of perfkit's, in
# order, with each of hyperfine's keys holding the same JSON type (a number
# where hyperfine has a number: never null).
same_shape() {
    $PY - "$1" "$2" <<'PY'
import json, sys
def kind(v):
    return "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__
hf = json.load(open(sys.argv[1]))["results"] if open(sys.argv[1]).read().strip() else []
pk = json.load(open(sys.argv[2]))["results"]
assert [r["command"] for r in hf] == [r["command"] for r in pk], ([r["command"] for r in hf], [r["command"] for r in pk])
for h, p in zip(hf, pk):
    for k, v in h.items():
        assert k in p, k
        if k in ("times", "exit_codes", "memory_usage_byte"):
            assert len(v) == len(p[k]), (k, v, p[k])
            assert all(kind(a) == kind(b) for a, b in zip(v, p[k])), (k, v, p[k])
        elif k != "parameters":
            assert kind(v) == kind(p[k]), (k, v, p[k])
    assert p["exit_codes"] == h["exit_codes"], (p["exit_codes"], h["exit_codes"])
PY
}

# ---- a failing command, without -i: hyperfine stops and lists only the
# benchmarks it finished; so does perfkit's results[].
for cmds in "false" "true false" "true false true"; do
    # shellcheck disable=SC2086
    hyperfine -N --runs 3 --style none --export-json "$TMP/hf.json" $cmds >/dev/null 2>&1
    # shellcheck disable=SC2086
    "$PERFKIT" bench -N --runs 3 --style none --export-json "$TMP/pk.json" $cmds >/dev/null 2>&1
    check "failing command ($cmds): results[] as hyperfine's" same_shape "$TMP/hf.json" "$TMP/pk.json"
done
check "the failed command is kept under 'incomplete'" $PY -c "
import json; d = json.load(open('$TMP/pk.json'))
inc = d['incomplete']
assert [(i['command'], i['status']) for i in inc] == [('false', 'failed'), ('true', 'not run')], inc
assert inc[0]['exit_code'] == 1 and inc[0]['phase'] == 'command', inc[0]"

# ---- with -i every run is a result, its exit code recorded
hyperfine -N -i --runs 3 --style none --export-json "$TMP/hf.json" false true >/dev/null 2>&1
"$PERFKIT" bench -N -i --runs 3 --style none --export-json "$TMP/pk.json" false true >/dev/null 2>&1
check "-i: results[] as hyperfine's, exit codes included" same_shape "$TMP/hf.json" "$TMP/pk.json"
check "-i: nothing incomplete" $PY -c "
import json; assert json.load(open('$TMP/pk.json'))['incomplete'] == []"

# ---- the tables: Markdown, AsciiDoc and Org mode as hyperfine writes them
# (perfkit's Relative cell carries its CI instead of hyperfine's ± and a line
# under the table says so; numbers differ from run to run)
hyperfine -N --runs 3 --style none -u millisecond --export-markdown "$TMP/hf.md" --export-asciidoc "$TMP/hf.adoc" \
    --export-orgmode "$TMP/hf.org" 'sleep 0.01' 'sleep 0.02' >/dev/null 2>&1
"$PERFKIT" bench -N --runs 3 --style none -u millisecond --export-markdown "$TMP/pk.md" --export-asciidoc "$TMP/pk.adoc" \
    --export-orgmode "$TMP/pk.org" 'sleep 0.01' 'sleep 0.02' >/dev/null 2>&1
for fmt in md adoc org; do
    check "--export-$fmt: hyperfine's table" $PY - "$TMP/hf.$fmt" "$TMP/pk.$fmt" <<'PY'
import re, sys
def table(path):
    lines = open(path).read().split("\n")
    if path.endswith(".adoc"):
        lines = lines[: lines.index("|===", 2) + 1]
    else:
        lines = lines[: lines.index("")]
    # numbers, and the whole Relative cell, are the run's own
    out = []
    for l in lines:
        l = re.sub(r"\d+\.\d+ \(\d+\.\d+\u2013\d+\.\d+\)|\d+\.\d+ \u00b1 \d+\.\d+|\d+\.\d+", "N", l)
        out.append(l)
    return out
hf, pk = table(sys.argv[1]), table(sys.argv[2])
assert hf == pk, "\n".join(["hyperfine:"] + hf + ["perfkit:"] + pk)
PY
done

finish
