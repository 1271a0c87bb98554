#!/bin/sh
# Peer comparison: the cost of `perfkit bench` itself, against hyperfine and
# against a bare posix_spawn + wait4 loop (bench/spawn_loop.c).
#
# Usage: bench/cmd_overhead.sh [BUILD_DIR]      (default: build)
#
# Three measurements, each over 2000 runs of `true` without a shell, repeated
# PAIRS times (default 11, at least 7) with the tools alternating A B A B … so
# that drift on a shared machine hits every tool alike; the figures kept are
# medians over the repetitions, with their min–max:
#   1. whole-process cost of `perfkit bench -N --runs 2000 true` vs
#      `hyperfine -N --runs 2000 true`, all output discarded: wall time
#      (date +%s%N around the process), user+sys CPU and peak RSS
#      (/usr/bin/time; CPU and RSS include the 2000 reaped `true` children,
#      which are the same for both tools);
#   2. the mean (and median) per-run time perfkit reports for `true`
#      (--export-json) vs what the bare spawn loop measures over 2000 runs;
#   3. hyperfine's own reported mean for `true`, for context (taken in the
#      same rotation as 2).
# Prints a table and replaces the <!-- cmd:begin --> … <!-- cmd:end --> section
# of bench/RESULTS.md, leaving every other section as it is.
set -eu

RUNS=2000
PAIRS=${PAIRS:-11}
case $PAIRS in
    '' | *[!0-9]*) echo "cmd_overhead: PAIRS must be a number" >&2; exit 2 ;;
esac
# Fewer than 7 repetitions make the medians too fragile on a noisy machine;
# more than 30 would break the time budget (about 3 minutes on 2 cores).
[ "$PAIRS" -ge 7 ] || PAIRS=7
[ "$PAIRS" -le 30 ] || PAIRS=30

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-build}
case $BUILD_DIR in
    /*) BUILD_ABS=$BUILD_DIR ;;
    *) BUILD_ABS=$ROOT/$BUILD_DIR ;;
esac
PK=$BUILD_ABS/perfkit
RESULTS=$ROOT/bench/RESULTS.md
# Who asked for these figures, as a reader would re-run them (run-all.sh
# passes its own invocation down).
COMMAND=${PK_BENCH_COMMAND:-sh bench/cmd_overhead.sh $BUILD_DIR}

if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
for tool in hyperfine cc "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "cmd_overhead: '$tool' not found" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "cmd_overhead: /usr/bin/time not found (Debian package 'time')" >&2; exit 1; }
[ -x "$PK" ] || { echo "cmd_overhead: $PK not found; run 'make build' first" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pk-cmd-overhead.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# The bare loop is built here, not by CMake: it is a yardstick, not perfkit.
cc -O2 -o "$TMP/spawn_loop" "$ROOT/bench/spawn_loop.c"

# Everything runs from the scratch directory so that no tool drops files in
# the tree.
cd "$TMP"

# Runs "$@" with all output discarded and appends "TAG wall user sys rss_kb"
# to part1.txt. Wall time comes from date +%s%N (ns) because %e has only
# 10 ms resolution; CPU and peak RSS come from /usr/bin/time.
whole() {
    tag=$1
    shift
    t0=$(date +%s%N)
    if ! /usr/bin/time -f '%e %U %S %M' -o "$TMP/time.out" "$@" >/dev/null 2>&1; then
        echo "cmd_overhead: failed: $*" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    # %e %U %S %M: elapsed (unused), user, system, peak RSS in KiB.
    read -r _ user sys rss_kb <"$TMP/time.out"
    echo "$tag $(( t1 - t0 )) $user $sys $rss_kb" >>"$TMP/part1.txt"
}

# A progress counter, on a terminal only: logs stay clean.
progress() {
    [ -t 2 ] && printf '\r  %s: %d/%d' "$1" "$2" "$PAIRS" >&2
    return 0
}
progress_done() {
    [ -t 2 ] && printf '\n' >&2
    return 0
}

quiet() {
    if ! "$@" >/dev/null 2>&1; then
        echo "cmd_overhead: failed: $*" >&2
        exit 1
    fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "cmd_overhead: $PAIRS alternating repetitions of $RUNS runs of 'true' (load average: $LOAD_START)"

# One untimed pass of each tool first, so that no tool pays for loading
# binaries and libraries from disk in the first repetition.
quiet "$PK" bench -N --runs 100 true
quiet hyperfine -N --runs 100 --style none true
quiet "$TMP/spawn_loop" 100

: >"$TMP/part1.txt"
i=1
while [ "$i" -le "$PAIRS" ]; do
    progress "1/2 whole process" "$i"
    whole pk "$PK" bench -N --runs "$RUNS" true
    whole hf hyperfine -N --runs "$RUNS" --style none true
    i=$((i + 1))
done
progress_done

: >"$TMP/bare.txt"
i=1
while [ "$i" -le "$PAIRS" ]; do
    progress "2/2 reported per-run time" "$i"
    quiet "$PK" bench -N --runs "$RUNS" --export-json "$TMP/pk.$i.json" true
    "$TMP/spawn_loop" "$RUNS" </dev/null >>"$TMP/bare.txt"
    quiet hyperfine -N --runs "$RUNS" --style none --export-json "$TMP/hf.$i.json" true
    i=$((i + 1))
done
progress_done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
NPROC=$(nproc)
KERNEL=$(uname -sr)
PK_VERSION=$("$PK" --version 2>&1 | head -n 1)
HF_VERSION=$(hyperfine --version 2>&1 | head -n 1)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
export TMP PAIRS RUNS RESULTS COMMAND LOAD_START LOAD_END CPU NPROC KERNEL PK_VERSION HF_VERSION DATE

# Medians, ranges, ratios and the verdicts; the same text goes to the
# terminal and into the RESULTS.md section.
"$PY" - <<'EOF'
import json, os, statistics, sys

env = os.environ
tmp, pairs, runs = env["TMP"], int(env["PAIRS"]), int(env["RUNS"])

def med(xs):
    return statistics.median(xs)

def rng(xs, f):
    return f"{f(min(xs))}–{f(max(xs))}"

def s(x):   return f"{x:.3f} s"
def ms(x):  return f"{x * 1e3:.1f} ms"
def us(x):  return f"{x * 1e6:.1f} µs"
def mib(x): return f"{x / 1024:.1f} MiB"

# Part 1: whole process.
p1 = {"pk": [], "hf": []}
with open(os.path.join(tmp, "part1.txt")) as f:
    for line in f:
        tag, wall_ns, user, sys_, rss = line.split()
        p1[tag].append((int(wall_ns) * 1e-9, float(user) + float(sys_), int(rss)))
wall = {k: [r[0] for r in v] for k, v in p1.items()}
cpu = {k: [r[1] for r in v] for k, v in p1.items()}
rss = {k: [r[2] for r in v] for k, v in p1.items()}
pair_wall_ratio = [a / b for a, b in zip(wall["pk"], wall["hf"])]

# Parts 2 and 3: reported per-run times.
def load(prefix):
    mean, median = [], []
    for i in range(1, pairs + 1):
        with open(os.path.join(tmp, f"{prefix}.{i}.json")) as f:
            r = json.load(f)["results"][0]
        mean.append(float(r["mean"]))
        median.append(float(r["median"]))
    return mean, median

pk_mean, pk_median = load("pk")
hf_mean, hf_median = load("hf")
bare_mean, bare_median = [], []
with open(os.path.join(tmp, "bare.txt")) as f:
    for line in f:
        w = line.split()
        bare_mean.append(float(w[1]))
        bare_median.append(float(w[3]))
pair_mean_ratio = [a / b for a, b in zip(pk_mean, bare_mean)]
pair_median_ratio = [a / b for a, b in zip(pk_median, bare_median)]

r_wall = med(wall["pk"]) / med(wall["hf"])
r_cpu = med(cpu["pk"]) / med(cpu["hf"])
r_rss = med(rss["pk"]) / med(rss["hf"])
r_mean = med(pk_mean) / med(bare_mean)
r_median = med(pk_median) / med(bare_median)
r_hf_mean = med(hf_mean) / med(bare_mean)

wall_ok = med(wall["pk"]) <= med(wall["hf"])
mean_ok = abs(r_mean - 1) <= 0.05

def row(name, a, b, f, ratio):
    return f"| {name} | {f(med(a))} ({rng(a, f)}) | {f(med(b))} ({rng(b, f)}) | {ratio:.3f} |"

def ratio_range(xs):
    return f"{min(xs):.3f}–{max(xs):.3f}"

out = []
out.append(f"Figures from `{env['COMMAND']}` on {env['DATE']}.")
out.append("")
out.append(f"- Machine: {env['NPROC']} CPUs, {env['CPU']}, {env['KERNEL']}; "
           f"load average {env['LOAD_START']} at start, {env['LOAD_END']} at end")
out.append(f"- Versions: {env['PK_VERSION']}; {env['HF_VERSION']}")
out.append(f"- Method: {pairs} repetitions, tools alternating A B A B …, {runs} runs of `true` "
           "without a shell each time, all output discarded; medians over the repetitions, "
           "min–max in brackets. Wall time is `date +%s%N` around the process; CPU (user+sys) "
           "and peak RSS are from `/usr/bin/time` and include the reaped `true` children, "
           "the same for both tools.")
out.append("")
out.append(f"### Whole process: `perfkit bench -N --runs {runs} true` vs `hyperfine -N --runs {runs} true`")
out.append("")
out.append("| | perfkit | hyperfine | perfkit / hyperfine |")
out.append("|---|---|---|---|")
out.append(row("wall time", wall["pk"], wall["hf"], s, r_wall))
out.append(row("CPU (user+sys)", cpu["pk"], cpu["hf"], s, r_cpu))
out.append(row("peak RSS", rss["pk"], rss["hf"], mib, r_rss))
out.append("")
out.append(f"Per-repetition wall-time ratio perfkit / hyperfine: {ratio_range(pair_wall_ratio)}.")
out.append("")
out.append(f"### Reported per-run time of `true` vs the bare loop (`bench/spawn_loop.c`, {runs} runs)")
out.append("")
out.append("| | perfkit (reported) | bare posix_spawn + wait4 | perfkit / bare | hyperfine (reported) | hyperfine / bare |")
out.append("|---|---|---|---|---|---|")
out.append(f"| mean | {us(med(pk_mean))} ({rng(pk_mean, us)}) | {us(med(bare_mean))} ({rng(bare_mean, us)}) "
           f"| {r_mean:.3f} | {us(med(hf_mean))} ({rng(hf_mean, us)}) | {r_hf_mean:.3f} |")
out.append(f"| median | {us(med(pk_median))} ({rng(pk_median, us)}) | {us(med(bare_median))} ({rng(bare_median, us)}) "
           f"| {r_median:.3f} | {us(med(hf_median))} ({rng(hf_median, us)}) | {med(hf_median) / med(bare_median):.3f} |")
out.append("")
out.append(f"Per-repetition ratio perfkit / bare: mean {ratio_range(pair_mean_ratio)}, "
           f"median {ratio_range(pair_median_ratio)}.")
out.append("")
out.append("### Targets")
out.append("")
out.append(f"- perfkit's whole-process wall time ≤ hyperfine's: **{'met' if wall_ok else 'NOT met'}** "
           f"({s(med(wall['pk']))} vs {s(med(wall['hf']))}, ratio {r_wall:.3f}).")
out.append(f"- perfkit's mean for `true` within 5 % of the bare loop's: **{'met' if mean_ok else 'NOT met'}** "
           f"({us(med(pk_mean))} vs {us(med(bare_mean))}, ratio {r_mean:.3f}, "
           f"i.e. {(r_mean - 1) * 100:+.1f} %).")
text = "\n".join(out) + "\n"
print()
print(text, end="")

# Replace (or append) our section; everything else in the file stays as is.
# Written to a temporary file and renamed so a reader never sees half a file.
begin, end = "<!-- cmd:begin -->", "<!-- cmd:end -->"
section = f"{begin}\n## Command overhead: perfkit bench vs hyperfine vs a bare spawn loop\n\n{text}{end}"
path = env["RESULTS"]
try:
    with open(path, encoding="utf-8") as f:
        doc = f.read()
except FileNotFoundError:
    doc = "# perfkit — peer comparisons\n"
b, e = doc.find(begin), doc.find(end)
if b >= 0 and e > b:
    doc = doc[:b] + section + doc[e + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + section + "\n"
tmp_path = path + ".tmp.cmd"
with open(tmp_path, "w", encoding="utf-8") as f:
    f.write(doc)
os.replace(tmp_path, path)
print(f"\ncmd_overhead: wrote the cmd section of {path}")
EOF
