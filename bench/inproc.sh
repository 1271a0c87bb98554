#!/usr/bin/env bash
# In-process harness overhead and accuracy: libperfkit against Google
# Benchmark 1.7.1 (Debian libbenchmark-dev) on the same four functions
# (bench/inproc/bodies.h: an empty body, memcpy of 4 KiB, qsort of 1,000
# ints re-copied each iteration, FNV-1a over 64 bytes).
#
# Usage: bench/inproc.sh [BUILD_DIR]   (default: build; a normal, not a sanitizer, build)
#        (also run by bench/run-all.sh, i.e. `make bench`, which sets PK_BENCH_COMMAND)
# Env:   PAIRS (default 9) alternating A B runs; MIN_TIME (default 0.5) seconds per benchmark.
# Writes the section between <!-- inproc:begin --> and <!-- inproc:end --> of bench/RESULTS.md.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
# A relative build directory is taken from the current directory, else from the tree.
if [ -d "$BUILD" ]; then BUILD=$(cd "$BUILD" && pwd); else BUILD="$SRC/$BUILD"; fi
PAIRS=${PAIRS:-9}
MIN_TIME=${MIN_TIME:-0.5}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

for f in libperfkit.a libperfkit_main.a; do
    [ -f "$BUILD/$f" ] || { echo "inproc.sh: $BUILD/$f missing: run 'make' first" >&2; exit 1; }
done
if grep -q '^PK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "inproc.sh: $BUILD is a sanitizer build; use a normal one" >&2
    exit 1
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# Same optimisation level for both; the bodies are inline in both programs.
cc -std=gnu11 -O2 -I"$SRC/include" -o "$OUT/pk_inproc" "$SRC/bench/inproc/pk_inproc.c" \
    "$BUILD/libperfkit_main.a" "$BUILD/libperfkit.a" $(pkg-config --libs jansson) -lm -lpthread
g++ -O2 -o "$OUT/gb_inproc" "$SRC/bench/inproc/gb_inproc.cc" -lbenchmark -lpthread

# Both on the same CPU when we can choose one, so neither gets the quieter core.
PIN=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -gt 1 ]; then
    PIN=(taskset -c 1)
fi

# One benchmark per process, the two harnesses back to back on the same
# function: on a shared (virtual) machine the speed drifts over seconds, and
# pairs close in time see the same drift.
NAMES="BM_empty BM_memcpy_4k BM_qsort_1000 BM_hash_64"
echo "inproc.sh: $PAIRS pairs per function, min time ${MIN_TIME}s${PIN:+, pinned to CPU 1}" >&2
for i in $(seq "$PAIRS"); do
    for name in $NAMES; do
        "${PIN[@]}" "$OUT/pk_inproc" --filter "^$name\$" --min-time "${MIN_TIME}s" \
            --json "$OUT/pk_${name}_$i.json" >/dev/null 2>&1
        "${PIN[@]}" "$OUT/gb_inproc" --benchmark_filter="^$name\$" --benchmark_min_time="$MIN_TIME" \
            --benchmark_out="$OUT/gb_${name}_$i.json" --benchmark_out_format=json >/dev/null 2>&1
    done
    echo "  round $i of $PAIRS done" >&2
done

# The command recorded with the figures: bench/run-all.sh (make bench) names itself.
CMD=${PK_BENCH_COMMAND:-"bench/inproc.sh $(realpath --relative-to="$SRC" "$BUILD" 2>/dev/null || echo "$BUILD")"}
[ "$PAIRS" = 9 ] || CMD="PAIRS=$PAIRS $CMD"
[ "$MIN_TIME" = 0.5 ] || CMD="MIN_TIME=$MIN_TIME $CMD"

"$PY" - "$OUT" "$PAIRS" "$SRC/bench/RESULTS.md" "$CMD" "$MIN_TIME" "${PIN[*]:-}" <<'PYEOF'
import json, os, statistics, sys, datetime

out, pairs, results, cmd, min_time, pin = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
names = ["BM_empty", "BM_memcpy_4k", "BM_qsort_1000", "BM_hash_64"]
labels = {"BM_empty": "empty body", "BM_memcpy_4k": "memcpy 4 KiB", "BM_qsort_1000": "qsort 1,000 ints",
          "BM_hash_64": "FNV-1a 64 B"}

def times(path):
    d = json.load(open(path))
    its = [b for b in d["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    return {b["name"]: b["real_time"] for b in its}, {b["name"]: b["iterations"] for b in its}, d["context"]

pk = {n: [] for n in names}
gb = {n: [] for n in names}
ctx = None
pk_run = []   # whole timed stretch of the empty loop: real_time x iterations
gb_run = []
for i in range(1, pairs + 1):
    for n in names:
        a, ai, ctx = times(os.path.join(out, "pk_%s_%d.json" % (n, i)))
        b, bi, _ = times(os.path.join(out, "gb_%s_%d.json" % (n, i)))
        pk[n].append(a[n])
        gb[n].append(b[n])
        if n == "BM_empty":
            pk_run.append(a[n] * ai[n])
            gb_run.append(b[n] * bi[n])

def fmt(ns):
    if ns < 0.01:
        return "%.1e ns" % ns if ns > 0 else "0 ns"
    return "%.3f ns" % ns if ns < 10 else ("%.1f ns" % ns if ns < 1000 else "%.2f us" % (ns / 1000))

rows = []
for n in names:
    mp, mg = statistics.median(pk[n]), statistics.median(gb[n])
    ratio = "%.3f" % (mp / mg) if mg > 0 else "n/a"
    pair = [p / g for p, g in zip(pk[n], gb[n]) if g > 0]
    spread = "%.3f (%.3f-%.3f)" % (statistics.median(pair), min(pair), max(pair)) if pair else "-"
    rows.append((labels[n], n, fmt(mp), fmt(mg), ratio, spread))
    print("%-18s perfkit %-12s Google Benchmark %-12s ratio %s (per pair %s)" % (labels[n], fmt(mp), fmt(mg), ratio, spread))
print("empty loop, whole timed run: perfkit %.0f ns, Google Benchmark %.0f ns" % (statistics.median(pk_run), statistics.median(gb_run)))

host = "%s, %d CPUs at %d MHz" % (ctx.get("host_name", "?"), ctx.get("num_cpus", 0), ctx.get("mhz_per_cpu", 0))
lines = [
    "<!-- inproc:begin -->",
    "## libperfkit vs Google Benchmark 1.7.1: in-process timing",
    "",
    "Real time per iteration, median of %d alternating runs of each harness (A B A B ...; one "
    "benchmark per run, the two harnesses back to back on each function), "
    "each benchmark calibrated to %s s, on %s%s. Same function bodies in both "
    "(`bench/inproc/bodies.h`), both built with `-O2`. The ratio is perfkit / Google Benchmark "
    "(1.000 = the same figure); \"per pair\" is the median of the ratio within each A B pair "
    "and its range, which shows how much this machine drifts between two runs seconds apart."
    % (pairs, min_time, host, ", both pinned with `%s`" % pin if pin else ""),
    "",
    "| function | benchmark | perfkit | Google Benchmark | ratio | per pair |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
]
for r in rows:
    lines.append("| %s | `%s` | %s | %s | %s | %s |" % r)
lines += [
    "",
    "The empty loop is removed by the compiler in both (their loops are plain counters), so both "
    "calibrate to the 10^9-iteration cap; its figure is what each harness adds to a whole timed "
    "run, divided by 10^9: a median of %.0f ns per run for perfkit (10 timed batches, less the "
    "measured cost of a clock read) against %.0f ns for Google Benchmark."
    % (statistics.median(pk_run), statistics.median(gb_run)),
    "",
    "Command: `%s` (%s)" % (cmd, datetime.date.today().isoformat()),
    "<!-- inproc:end -->",
]
section = "\n".join(lines) + "\n"

text = open(results).read() if os.path.exists(results) else "# Benchmark results\n\nFigures of perfkit against its peers, each with the command that produced it.\n\n"
begin, end = "<!-- inproc:begin -->", "<!-- inproc:end -->"
if begin in text and end in text and text.index(begin) < text.index(end):
    head = text[:text.index(begin)]
    tail = text[text.index(end) + len(end):]
    if tail.startswith("\n"):
        tail = tail[1:]
    text = head + section + tail
else:
    if not text.endswith("\n\n"):
        text += "\n" if text.endswith("\n") else "\n\n"
    text += section
tmp = results + ".tmp"
open(tmp, "w").write(text)
os.replace(tmp, results)
print("wrote the inproc section of %s" % results)
PYEOF
