#!/usr/bin/env bash
# Peer comparison: `perfkit load` against Debian's wrk, both loading the same
# real nginx on the loopback (tests/integration/nginx.sh: one worker process,
# / is a 612-byte static file, keep-alive, no access log).
#
# Usage: bench/load_wrk.sh [BUILD_DIR]      (default: build)
#        (also run by bench/run-all.sh, i.e. `make bench`, which sets PK_BENCH_COMMAND)
#
# Three measurements, the tools alternating wrk, perfkit, wrk, perfkit … so
# that drift on a shared machine hits both alike; medians over the runs, with
# their min–max:
#   1. throughput and CPU, closed model, at -t1 -c50 and at -t2 -c100,
#      PAIRS pairs of DURATION-second runs each: requests/s (wrk's
#      "Requests/sec:", perfkit's JSON "rps"), the generator's CPU (user+sys
#      from /usr/bin/time, startup included for both), CPU per request
#      (CPU / requests completed), peak RSS, and the CPU the nginx worker used
#      during the run (from /proc, as a share of one core);
#   2. memory per connection: peak RSS at -t1 -c10 and at -t1 -c1000,
#      MEM_PAIRS pairs of MEM_DURATION-second runs; per connection =
#      (RSS at 1000 - RSS at 10) / 990;
#   3. the open model: perfkit at -t1 -c100 -R OPEN_RATE for OPEN_DURATION
#      seconds, OPEN_RUNS runs: achieved rate against the target, late sends,
#      and the corrected against the uncorrected latency percentiles. wrk has
#      no open model (that is wrk2, which Debian does not package), so this
#      part has no peer figure.
# Prints a table and replaces the <!-- load:begin --> … <!-- load:end -->
# section of bench/RESULTS.md (RESULTS_MD=FILE writes another file instead),
# leaving every other section as it is.
#
# Env: PAIRS (default 7), DURATION (s, default 5), MEM_PAIRS (default 3),
#      MEM_DURATION (s, default 3), OPEN_RUNS (default 3), OPEN_DURATION (s,
#      default 10), OPEN_RATE (default 20000). Smaller values make a quick
#      trial run; the section says which values produced its figures.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-build}
case $BUILD_DIR in
    /*) BUILD_ABS=$BUILD_DIR ;;
    *) BUILD_ABS=$ROOT/$BUILD_DIR ;;
esac
PK=$BUILD_ABS/perfkit
RESULTS=${RESULTS_MD:-$ROOT/bench/RESULTS.md}
# Who asked for these figures, as a reader would re-run them (run-all.sh
# passes its own invocation down).
COMMAND=${PK_BENCH_COMMAND:-bash bench/load_wrk.sh $BUILD_DIR}

PAIRS=${PAIRS:-7}
DURATION=${DURATION:-5}
MEM_PAIRS=${MEM_PAIRS:-3}
MEM_DURATION=${MEM_DURATION:-3}
OPEN_RUNS=${OPEN_RUNS:-3}
OPEN_DURATION=${OPEN_DURATION:-10}
OPEN_RATE=${OPEN_RATE:-20000}
for v in PAIRS DURATION MEM_PAIRS MEM_DURATION OPEN_RUNS OPEN_DURATION OPEN_RATE; do
    case ${!v} in
        '' | *[!0-9]* | 0) echo "load_wrk: $v must be a positive whole number" >&2; exit 2 ;;
    esac
done

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
for tool in wrk "$PY" openssl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "load_wrk: '$tool' not found" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "load_wrk: /usr/bin/time not found (Debian package 'time')" >&2; exit 1; }
[ -x /usr/sbin/nginx ] || { echo "load_wrk: /usr/sbin/nginx not found (apt-get install nginx-light)" >&2; exit 1; }
[ -x "$PK" ] || { echo "load_wrk: $PK not found; run 'make build' first" >&2; exit 1; }

# 1000 connections need 1000 descriptors in the generator and as many in the
# nginx worker, which inherits this limit: ask for 4096 (nginx's
# worker_connections) and fail if 2048 cannot be had.
WANT_FDS=4096
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$WANT_FDS" ]; then
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge "$WANT_FDS" ]; then
        ulimit -n "$WANT_FDS"
    else
        ulimit -n "$hard"
    fi
fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 2048 ]; then
    echo "load_wrk: open-file limit $(ulimit -n) is below 2048 (ulimit -Hn: $(ulimit -Hn))" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pk-load-wrk.XXXXXX")
# nginx_start/nginx_stop and the 612-byte page live with the integration tests.
# shellcheck source=../tests/integration/nginx.sh
. "$ROOT/tests/integration/nginx.sh"
trap 'nginx_stop "$TMP/nginx"; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

nginx_start "$TMP/nginx" || { echo "load_wrk: nginx did not start" >&2; exit 1; }
URL=http://127.0.0.1:$NGINX_PORT/
# The one worker, whose CPU each run reads; the master may still be forking it.
NGINX_MASTER=$(cat "$TMP/nginx/nginx.pid")
NGINX_WORKER=
for ((i = 0; i < 50; i++)); do
    NGINX_WORKER=$(cat "/proc/$NGINX_MASTER/task/$NGINX_MASTER/children" 2>/dev/null || true)
    NGINX_WORKER=${NGINX_WORKER%% *}
    [ -n "$NGINX_WORKER" ] && break
    sleep 0.1
done
[ -n "$NGINX_WORKER" ] || { echo "load_wrk: no nginx worker process found" >&2; exit 1; }
CLK_TCK=$(getconf CLK_TCK)

# Everything runs from the scratch directory so that no tool drops files in
# the tree.
cd "$TMP"

# The nginx worker's user+sys CPU so far, in clock ticks (fields 14 and 15 of
# /proc/PID/stat; its comm is "nginx", without spaces).
nginx_ticks() {
    awk '{ print $14 + $15 }' "/proc/$NGINX_WORKER/stat"
}

# run TAG TOOL ARGS... : runs one load generator under /usr/bin/time with its
# output kept in TAG.out, and appends "TAG TOOL wall_ns user sys rss_kb
# nginx_ticks" to runs.txt. TOOL is wrk or pk; a perfkit run writes TAG.json.
run() {
    local tag=$1 tool=$2 t0 t1 n0 n1 user sys rss
    shift 2
    n0=$(nginx_ticks)
    t0=$(date +%s%N)
    if ! /usr/bin/time -f '%U %S %M' -o "$TMP/$tag.time" "$@" >"$TMP/$tag.out" 2>&1; then
        echo "load_wrk: failed: $*" >&2
        tail -n 5 "$TMP/$tag.out" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    n1=$(nginx_ticks)
    case $tool in
        wrk)
            grep -q '^Requests/sec:' "$TMP/$tag.out" || {
                echo "load_wrk: no 'Requests/sec:' from: $*" >&2
                tail -n 5 "$TMP/$tag.out" >&2
                exit 1
            } ;;
        pk)
            [ -s "$TMP/$tag.json" ] || { echo "load_wrk: no JSON from: $*" >&2; exit 1; } ;;
    esac
    read -r user sys rss <"$TMP/$tag.time"
    echo "$tag $tool $((t1 - t0)) $user $sys $rss $((n1 - n0))" >>"$TMP/runs.txt"
}

wrk_run() { # TAG THREADS CONNECTIONS SECONDS
    run "$1" wrk wrk -t"$2" -c"$3" -d"$4"s "$URL"
}
pk_run() { # TAG THREADS CONNECTIONS SECONDS [more perfkit options]
    local tag=$1 t=$2 c=$3 d=$4
    shift 4
    run "$tag" pk "$PK" load --no-progress -t"$t" -c"$c" -d"$d"s "$@" --json "$TMP/$tag.json" "$URL"
}

# A progress counter, on a terminal only: logs stay clean.
progress() {
    [ -t 2 ] && printf '\r  %s: %d/%d' "$1" "$2" "$3" >&2
    return 0
}
progress_done() {
    [ -t 2 ] && printf '\n' >&2
    return 0
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load_wrk: nginx on $URL; $PAIRS pairs of ${DURATION} s per closed-model configuration," \
    "$MEM_PAIRS pairs for memory, $OPEN_RUNS open-model runs of ${OPEN_DURATION} s (load average: $LOAD_START)"
[ "$PAIRS" -ge 7 ] || echo "load_wrk: fewer than 7 pairs: a trial run, the medians are fragile" >&2

# One short untimed run of each first, so that neither pays for loading
# binaries from disk, nor for nginx's first connections.
: >"$TMP/runs.txt"
wrk_run warm.wrk 1 10 1
pk_run warm.pk 1 10 1
: >"$TMP/runs.txt"

# 1. Throughput and CPU.
for cfg in 1:50 2:100; do
    t=${cfg%%:*} c=${cfg##*:}
    for ((i = 1; i <= PAIRS; i++)); do
        progress "throughput -t$t -c$c" "$i" "$PAIRS"
        wrk_run "tp.t$t.c$c.wrk.$i" "$t" "$c" "$DURATION"
        pk_run "tp.t$t.c$c.pk.$i" "$t" "$c" "$DURATION"
    done
    progress_done
done

# 2. Memory per connection.
for ((i = 1; i <= MEM_PAIRS; i++)); do
    progress "memory -c10 and -c1000" "$i" "$MEM_PAIRS"
    for c in 10 1000; do
        wrk_run "mem.c$c.wrk.$i" 1 "$c" "$MEM_DURATION"
        pk_run "mem.c$c.pk.$i" 1 "$c" "$MEM_DURATION"
    done
done
progress_done

# 3. The open model, perfkit only.
for ((i = 1; i <= OPEN_RUNS; i++)); do
    progress "open model -R $OPEN_RATE" "$i" "$OPEN_RUNS"
    pk_run "open.pk.$i" 1 100 "$OPEN_DURATION" -R "$OPEN_RATE"
done
progress_done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
NPROC=$(nproc)
KERNEL=$(uname -sr)
PK_VERSION=$("$PK" --version 2>&1 | head -n 1)
WRK_VERSION="wrk $(dpkg-query -W -f '${Version}' wrk 2>/dev/null || wrk -v 2>&1 | head -n 1)"
NGINX_VERSION=$(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: nginx\///')
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
export TMP PAIRS DURATION MEM_PAIRS MEM_DURATION OPEN_RUNS OPEN_DURATION OPEN_RATE RESULTS COMMAND \
    LOAD_START LOAD_END CPU NPROC KERNEL PK_VERSION WRK_VERSION NGINX_VERSION DATE CLK_TCK

# Parsing, medians, ratios; the same text goes to the terminal and into the
# RESULTS.md section.
"$PY" - <<'EOF'
import json, os, re, statistics

env = os.environ
tmp = env["TMP"]
pairs, dur = int(env["PAIRS"]), int(env["DURATION"])
mem_pairs, mem_dur = int(env["MEM_PAIRS"]), int(env["MEM_DURATION"])
open_runs, open_dur, open_rate = int(env["OPEN_RUNS"]), int(env["OPEN_DURATION"]), int(env["OPEN_RATE"])
clk_tck = int(env["CLK_TCK"])

def med(xs):
    return statistics.median(xs)

def rng(xs, f):
    return f"{f(min(xs))}–{f(max(xs))}"

def cell(xs, f):
    return f"{f(med(xs))} ({rng(xs, f)})"

def count(x): return f"{x:,.0f}"
def s(x):     return f"{x:.2f} s"
def us(x):    return f"{x:.2f} µs"
def mib(x):   return f"{x / 1024:.1f} MiB"
def kib(x):   return f"{x:.2f} KiB"
def pct(x):   return f"{x * 100:.0f} %"
def lat(x):
    return f"{x / 1000:.2f} ms" if x >= 1000 else f"{x:.0f} µs"

WRK_SIZE = {"k": 1e3, "M": 1e6, "G": 1e9, "": 1}

def wrk_figures(path):
    text = open(path).read()
    m = re.search(r"^\s*(\d+) requests in ", text, re.M)
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    errors = 0
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if se:
        errors += sum(int(x) for x in se.groups())
    n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if n2:
        errors += int(n2.group(1))
    return int(m.group(1)), float(rps.group(1)), errors

def pk_figures(path):
    d = json.load(open(path))
    return d["requests"], float(d["rps"]), int(d["errors"]["total"]), d

runs = {}
with open(os.path.join(tmp, "runs.txt")) as f:
    for line in f:
        tag, tool, wall_ns, user, sys_, rss, nticks = line.split()
        r = {"tool": tool, "wall": int(wall_ns) * 1e-9, "cpu": float(user) + float(sys_),
             "rss": int(rss), "nginx": int(nticks) / clk_tck}
        if tool == "wrk":
            r["requests"], r["rps"], r["errors"] = wrk_figures(os.path.join(tmp, tag + ".out"))
        else:
            r["requests"], r["rps"], r["errors"], r["json"] = pk_figures(os.path.join(tmp, tag + ".json"))
        r["cpu_per_req"] = r["cpu"] / r["requests"] * 1e6 if r["requests"] else float("nan")
        r["nginx_share"] = r["nginx"] / r["wall"]
        runs[tag] = r

def series(prefix, tool, n, key):
    return [runs[f"{prefix}.{tool}.{i}"][key] for i in range(1, n + 1)]

out = []
out.append(f"Figures from `{env['COMMAND']}` on {env['DATE']}.")
out.append("")
out.append(f"- Machine: {env['NPROC']} CPUs, {env['CPU']}, {env['KERNEL']}; load average "
           f"{env['LOAD_START']} at start, {env['LOAD_END']} at end")
out.append(f"- Versions: {env['PK_VERSION']}; {env['WRK_VERSION']} (Debian); nginx {env['NGINX_VERSION']} (Debian)")
out.append("- Server: nginx from `tests/integration/nginx.sh` on 127.0.0.1, `worker_processes 1`, "
           "keep-alive, no access log, `GET /` = a 612-byte static file; generator and nginx share the "
           "machine's CPUs, unpinned.")
out.append(f"- Method: the tools alternate wrk, perfkit, wrk, perfkit …; medians over the runs, min–max in "
           f"brackets; ratio = median(perfkit) / median(wrk). CPU is user+sys of the generator process from "
           f"`/usr/bin/time -f '%U %S %M'` (10 ms resolution, startup included for both), CPU per request = "
           f"CPU / requests completed; peak RSS is `%M`; nginx CPU is its worker's user+sys over the run's "
           f"wall time, from `/proc/PID/stat`.")
out.append("- Commands (PORT is the port nginx got):")
out.append(f"  - `wrk -tT -cC -d{dur}s http://127.0.0.1:PORT/`")
out.append(f"  - `perfkit load --no-progress -tT -cC -d{dur}s --json F http://127.0.0.1:PORT/`")
out.append(f"  - memory: the same with `-t1 -c10` and `-t1 -c1000`, `-d{mem_dur}s`")
out.append(f"  - open model: `perfkit load --no-progress -t1 -c100 -d{open_dur}s -R {open_rate} "
           f"--json F http://127.0.0.1:PORT/`")
out.append("")

ratios = {}
for t, c in ((1, 50), (2, 100)):
    prefix = f"tp.t{t}.c{c}"
    out.append(f"### Closed model, `-t{t} -c{c}`, {pairs} pairs of {dur} s runs")
    out.append("")
    out.append("| | perfkit load | wrk | perfkit / wrk |")
    out.append("|---|---|---|---|")
    for name, key, f in (("requests/s", "rps", count),
                         ("generator CPU (user+sys)", "cpu", s),
                         ("CPU per request", "cpu_per_req", us),
                         ("peak RSS", "rss", mib),
                         ("nginx worker CPU, share of a core", "nginx_share", pct)):
        a, b = series(prefix, "pk", pairs, key), series(prefix, "wrk", pairs, key)
        ratio = med(a) / med(b)
        ratios[(t, c, key)] = ratio
        out.append(f"| {name} | {cell(a, f)} | {cell(b, f)} | {ratio:.3f} |")
    a, b = series(prefix, "pk", pairs, "errors"), series(prefix, "wrk", pairs, "errors")
    out.append(f"| errors, all runs | {sum(a)} | {sum(b)} | |")
    pr = [x / y for x, y in zip(series(prefix, "pk", pairs, "rps"), series(prefix, "wrk", pairs, "rps"))]
    pc = [x / y for x, y in zip(series(prefix, "pk", pairs, "cpu_per_req"),
                                series(prefix, "wrk", pairs, "cpu_per_req"))]
    out.append("")
    out.append(f"Per-pair ratio perfkit / wrk: requests/s {min(pr):.3f}–{max(pr):.3f}, "
               f"CPU per request {min(pc):.3f}–{max(pc):.3f}.")
    out.append("")

out.append(f"### Memory per connection: peak RSS at `-t1 -c10` and `-t1 -c1000`, {mem_pairs} pairs of {mem_dur} s runs")
out.append("")
out.append("| | perfkit load | wrk | perfkit / wrk |")
out.append("|---|---|---|---|")
per_conn = {}
for c in (10, 1000):
    a, b = series(f"mem.c{c}", "pk", mem_pairs, "rss"), series(f"mem.c{c}", "wrk", mem_pairs, "rss")
    out.append(f"| peak RSS, {c} connections | {cell(a, mib)} | {cell(b, mib)} | {med(a) / med(b):.3f} |")
for tool in ("pk", "wrk"):
    lo, hi = series("mem.c10", tool, mem_pairs, "rss"), series("mem.c1000", tool, mem_pairs, "rss")
    per_conn[tool] = ((med(hi) - med(lo)) / 990, [(h - l) / 990 for h, l in zip(hi, lo)])
pk_pc, wrk_pc = per_conn["pk"][0], per_conn["wrk"][0]
out.append(f"| per connection, (RSS₁₀₀₀ − RSS₁₀) / 990 | {kib(pk_pc)} ({rng(per_conn['pk'][1], kib)}) "
           f"| {kib(wrk_pc)} ({rng(per_conn['wrk'][1], kib)}) "
           f"| {pk_pc / wrk_pc:.3f} |" if wrk_pc > 0 else
           f"| per connection, (RSS₁₀₀₀ − RSS₁₀) / 990 | {kib(pk_pc)} | {kib(wrk_pc)} | |")
a = series("mem.c1000", "pk", mem_pairs, "errors")
b = series("mem.c1000", "wrk", mem_pairs, "errors")
a2 = series("mem.c1000", "pk", mem_pairs, "rps")
b2 = series("mem.c1000", "wrk", mem_pairs, "rps")
out.append(f"| requests/s at 1000 connections | {cell(a2, count)} | {cell(b2, count)} | {med(a2) / med(b2):.3f} |")
out.append(f"| errors at 1000 connections, all runs | {sum(a)} | {sum(b)} | |")
out.append("")
out.append("Per connection: the median RSS at 1000 less the median at 10, over 990; in brackets the same "
           "within each pair.")
out.append("")

out.append(f"### Open model: perfkit load at {open_rate:,}/s, `-t1 -c100`, {open_runs} runs of {open_dur} s")
out.append("")
op = [runs[f"open.pk.{i}"] for i in range(1, open_runs + 1)]
rate = [r["json"]["rate"] for r in op]
corr = [r["json"]["latency_us"] for r in op]
unc = [r["json"]["latency_uncorrected_us"] for r in op]
achieved = [x["achieved"] / x["target"] for x in rate]
late = [x["late_sends"] / x["sends"] if x["sends"] else 0.0 for x in rate]
out.append("| | median (min–max) |")
out.append("|---|---|")
out.append(f"| target rate | {cell([x['target'] for x in rate], lambda v: f'{v:,.0f}/s')} |")
out.append(f"| achieved rate (requests written/s) | {cell([x['achieved'] for x in rate], lambda v: f'{v:,.0f}/s')} |")
out.append(f"| achieved / target | {cell(achieved, lambda v: f'{v:.4f}')} |")
out.append(f"| late sends (> 1 ms after their time) | {cell([x['late_sends'] for x in rate], count)} "
           f"of {count(med([x['sends'] for x in rate]))}, {cell(late, lambda v: f'{v * 100:.2f} %')} |")
out.append(f"| worst lateness | {cell([x['lateness_max_us'] for x in rate], lat)} |")
for p, name in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9"), ("max", "max")):
    out.append(f"| {name} latency, corrected / uncorrected | {cell([x[p] for x in corr], lat)} "
               f"/ {cell([x[p] for x in unc], lat)} |")
out.append(f"| generator CPU per request | {cell([r['cpu_per_req'] for r in op], us)} |")
out.append(f"| nginx worker CPU, share of a core | {cell([r['nginx_share'] for r in op], pct)} |")
out.append(f"| errors, all runs | {sum(r['errors'] for r in op)} |")
out.append("")

# What the figures mean, worded from the figures themselves.
out.append("### Reading")
out.append("")
n1 = med(series("tp.t1.c50", "wrk", pairs, "nginx_share")), med(series("tp.t1.c50", "pk", pairs, "nginx_share"))
n2 = med(series("tp.t2.c100", "wrk", pairs, "nginx_share")), med(series("tp.t2.c100", "pk", pairs, "nginx_share"))
busy = min(n1 + n2) >= 0.95
cpu_share = [med(series(f"tp.t{t}.c{c}", tool, pairs, "cpu")) / dur
             for t, c in ((1, 50), (2, 100)) for tool in ("pk", "wrk")]
out.append(
    f"- Both tools and the single nginx worker share {env['NPROC']} CPUs. The nginx worker was busy "
    f"{pct(n1[0])} of a core with wrk and {pct(n1[1])} with perfkit at `-t1 -c50`, {pct(n2[0])} and "
    f"{pct(n2[1])} at `-t2 -c100`; the generators used about {pct(min(cpu_share))}–{pct(max(cpu_share))} of a "
    f"core. " +
    ("So requests/s is nginx's limit here, not the generators': the requests/s ratio compares runs of "
     "the same saturated server, and what tells the generators apart is their CPU per request, the "
     "cost of each tool itself: " if busy else
     "Where nginx is not close to 100 %, the generators (or the CPU they take from nginx on a machine "
     "this small) are part of the limit, and requests/s compares them too. CPU per request is the cost "
     "of each tool itself: ") +
    f"perfkit / wrk = {ratios[(1, 50, 'cpu_per_req')]:.3f} at `-t1 -c50` and "
    f"{ratios[(2, 100, 'cpu_per_req')]:.3f} at `-t2 -c100` (below 1: perfkit spends less CPU per "
    f"request).")
out.append(
    f"- requests/s, perfkit / wrk: {ratios[(1, 50, 'rps')]:.3f} at `-t1 -c50`, "
    f"{ratios[(2, 100, 'rps')]:.3f} at `-t2 -c100`. wrk's figure is requests completed over its run time; "
    f"perfkit's is complete responses over the measured time. Both CPU figures include the tool's start, "
    f"its connects and its exit.")
out.append(
    f"- Memory: each connection costs perfkit about {kib(pk_pc)} and wrk about {kib(wrk_pc)} of resident "
    f"memory (perfkit reads all of a thread's connections into one buffer, wrk keeps a receive "
    f"buffer in each connection; the kernel's socket buffers are in neither figure). The RSS at 10 "
    f"connections is mostly the program itself (wrk links LuaJIT; perfkit allocates its latency "
    f"histograms up front).")
lt = med(late)
out.append(
    f"- Open model: wrk has none (wrk2 adds one; Debian packages no wrk2), so there is no peer figure. "
    f"At {open_rate:,}/s perfkit wrote {med(achieved) * 100:.2f} % of the requests due, "
    f"{lt * 100:.2f} % of them more than 1 ms late (median of the runs). The corrected latency counts "
    f"from when each request was due, so it includes those delays; the uncorrected one starts at the "
    f"write. The gap between the two (p99 {lat(med([x['p99'] for x in corr]))} against "
    f"{lat(med([x['p99'] for x in unc]))}, p50 {lat(med([x['p50'] for x in corr]))} against "
    f"{lat(med([x['p50'] for x in unc]))}) is the time from when a request was due to its write: the "
    f"thread waking from its timer, waiting for a free connection, or for a CPU, which it shares with "
    f"nginx here.")
open_cpu = med([r["cpu_per_req"] for r in op])
closed_cpu = med(series("tp.t1.c50", "pk", pairs, "cpu_per_req"))
out.append(
    f"- The open model costs perfkit {us(open_cpu)} of CPU per request against {us(closed_cpu)} in the "
    f"closed model at `-t1 -c50` ({open_cpu / closed_cpu:.1f}×): with requests due every "
    f"{1e6 / open_rate:.0f} µs, the thread sleeps until each request is due "
    f"and wakes up for it, where in the closed model one wake-up serves every response that is ready.")
load1 = float(env["LOAD_START"].split()[0])
if load1 >= 0.5:
    out.append(
        f"- The machine was not idle when this ran (1-minute load average {load1:.2f} at the start): "
        f"other work took CPU from nginx and the generators, which widens the ranges.")
text = "\n".join(out) + "\n"
print()
print(text, end="")

# Replace (or append) our section; everything else in the file stays as is.
# Written to a temporary file and renamed so a reader never sees half a file.
begin, end = "<!-- load:begin -->", "<!-- load:end -->"
section = f"{begin}\n## HTTP load: perfkit load vs wrk against nginx\n\n{text}{end}"
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
tmp_path = path + ".tmp.load"
with open(tmp_path, "w", encoding="utf-8") as f:
    f.write(doc)
os.replace(tmp_path, path)
print(f"\nload_wrk: wrote the load section of {path}")
EOF
