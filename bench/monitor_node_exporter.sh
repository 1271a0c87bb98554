#!/usr/bin/env bash
# Peer comparison: `perfkit monitor` against Debian's prometheus-node-exporter
# (/usr/bin/prometheus-node-exporter), both on the loopback of this machine,
# both with their defaults but for the listen address (and perfkit's --db).
#
# Usage: bench/monitor_node_exporter.sh [BUILD_DIR]      (default: build)
#        (also run by bench/run-all.sh, i.e. `make bench`, which sets PK_BENCH_COMMAND)
#
# Five measurements (issue 4, "Performance"):
#   1. CPU per /metrics scrape. Both agents run side by side; after SETTLE
#      seconds, ROUNDS rounds, the agents alternating (perfkit first in odd
#      rounds, node_exporter first in even ones). Each turn: an idle window
#      as long as that agent's previous burst, then SCRAPES sequential scrapes
#      (one Python http.client connection per scrape, `Connection: close`, no
#      Accept or Accept-Encoding header: the same client and the plain text
#      format for both). CPU per scrape = (CPU over the burst - the idle
#      window's CPU rate x the burst's length) / SCRAPES, from utime+stime of
#      /proc/PID/stat (clock ticks) and from the per-thread schedstat run
#      times (ns; the same figure without the tick rounding). Also the bytes
#      and the number of series of one scrape.
#   2. Resident memory: both agents started afresh, perfkit with --interval
#      1s (its default), each scraped once a second by one loop (so that
#      node_exporter, which collects on scrape, does the same work), for
#      MONITOR_MINUTES minutes; VmRSS (and VmHWM) from /proc/PID/status.
#   3. Sampling cost: perfkit alone, afresh, no scrapes, interval 1 s: CPU
#      (utime+stime, and schedstat) over SAMPLE_SECONDS (at least 60; a
#      multiple of 30 s covers whole periods of the tcpstat collector) as a
#      share of one core; perfkit's own perfkit_collector_duration_seconds
#      read afterwards says which collector took the time.
#   4. /api/status under `wrk -t1 -c50 -d${WRK_SECONDS}s`, WRK_RUNS runs, on the
#      perfkit of 3: requests/s, median.
#   5. /api/history over 24 h at 1,000 points: bench/store_history.sh's
#      figure for the store's query (run as is), and end to end: a database
#      made by perfkit monitor, filled with DATA_SECONDS (default a day) of
#      1 s samples of SERIES (default 40) of its series, written as the
#      store writes finished minutes (a chunk and a rollup per series and
#      minute), then perfkit monitor on it with --retention-raw 48h and
#      HISTORY_RUNS timed curls of
#      /api/history?metric=perfkit_cpu_utilization_ratio&from=-24h&points=1000.
# Prints a table and replaces the <!-- monitor:begin --> … <!-- monitor:end -->
# section of bench/RESULTS.md (RESULTS_MD=FILE writes another file instead),
# leaving every other section as it is.
#
# Env: MONITOR_MINUTES (default 10), SCRAPES (200), ROUNDS (9), SETTLE (s, 5),
#      SAMPLE_SECONDS (120, at least 60), WRK_RUNS (3), WRK_SECONDS (10),
#      HISTORY_RUNS (20), SERIES (40), DATA_SECONDS (86400),
#      WAIT_QUIET (s, default 0: before starting, wait up to that long for the
#      1-minute load average to fall below QUIET_LOAD, default 0.7; the
#      section says whether it did).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-build}
case $BUILD_DIR in
    /*) BUILD_ABS=$BUILD_DIR ;;
    *) BUILD_ABS=$ROOT/$BUILD_DIR ;;
esac
PK=$BUILD_ABS/perfkit
NE=/usr/bin/prometheus-node-exporter
RESULTS=${RESULTS_MD:-$ROOT/bench/RESULTS.md}
# Who asked for these figures, as a reader would re-run them (run-all.sh
# passes its own invocation down).
COMMAND=${PK_BENCH_COMMAND:-bash bench/monitor_node_exporter.sh $BUILD_DIR}

MONITOR_MINUTES=${MONITOR_MINUTES:-10}
SCRAPES=${SCRAPES:-200}
ROUNDS=${ROUNDS:-9}
SETTLE=${SETTLE:-5}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-120}
WRK_RUNS=${WRK_RUNS:-3}
WRK_SECONDS=${WRK_SECONDS:-10}
HISTORY_RUNS=${HISTORY_RUNS:-20}
SERIES=${SERIES:-40}
DATA_SECONDS=${DATA_SECONDS:-86400}
WAIT_QUIET=${WAIT_QUIET:-0}
QUIET_LOAD=${QUIET_LOAD:-0.7}
for v in MONITOR_MINUTES SCRAPES ROUNDS SETTLE SAMPLE_SECONDS WRK_RUNS WRK_SECONDS HISTORY_RUNS SERIES DATA_SECONDS; do
    case ${!v} in
        '' | *[!0-9]* | 0) echo "monitor_node_exporter: $v must be a positive whole number" >&2; exit 2 ;;
    esac
done
case $WAIT_QUIET in
    '' | *[!0-9]*) echo "monitor_node_exporter: WAIT_QUIET must be a whole number of seconds" >&2; exit 2 ;;
esac
[ "$SAMPLE_SECONDS" -ge 60 ] || { echo "monitor_node_exporter: SAMPLE_SECONDS must be at least 60" >&2; exit 2; }

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
for tool in wrk curl timeout "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "monitor_node_exporter: '$tool' not found" >&2; exit 1; }
done
[ -x "$NE" ] || { echo "monitor_node_exporter: $NE not found (apt-get install prometheus-node-exporter)" >&2; exit 1; }
[ -x "$PK" ] || { echo "monitor_node_exporter: $PK not found; run 'make build' first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "monitor_node_exporter: /usr/bin/time not found (Debian package 'time')" >&2; exit 1; }
[ -r /proc/self/schedstat ] || { echo "monitor_node_exporter: no /proc/PID/schedstat on this kernel" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pk-monitor-ne.XXXXXX")
# Every process this script starts: stopped on exit, with whatever it started
# (TERM, then KILL after 5 s). Each is also bounded on its own (perfkit's
# --duration, timeout(1) around node_exporter), should this shell die without
# running its trap. Long steps run in the background and are waited for, so
# that a signal reaches the trap at once.
PIDS=()
tree() { # tree PID: PID and its descendants, by PID
    local p c
    for p in "$@"; do
        echo "$p"
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree "$c"; done
    done
}
stop() { # stop PID...: TERM to each and its descendants, wait up to 5 s, KILL
    local all p i
    all=$(tree "$@")
    for p in $all; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $all; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null || true
    done
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
cleanup() {
    [ "${#PIDS[@]}" -eq 0 ] || stop "${PIDS[@]}"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cc -O2 "$(dirname "$0")/monitor_floor.c" -o "$TMP/monitor_floor" $(pkg-config --cflags --libs libmicrohttpd sqlite3) ||
    { echo "monitor_node_exporter: cannot build bench/monitor_floor.c" >&2; exit 1; }
# step CMD...: runs CMD in the background and waits for it; its status.
step() {
    local p rc=0
    "$@" &
    p=$!
    PIDS+=("$p")
    wait "$p" || rc=$?
    forget "$p"
    return "$rc"
}
forget() { # forget PID...: no longer stopped on exit (it has ended)
    local keep=() p q gone
    for p in "${PIDS[@]}"; do
        gone=0
        for q in "$@"; do [ "$p" = "$q" ] && gone=1; done
        [ "$gone" = 1 ] || keep+=("$p")
    done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
c() { curl --noproxy '*' -sS --max-time 10 "$@"; }
wait_http() { # wait_http URL: until it answers 200 (at most 15 s)
    local i
    for ((i = 0; i < 150; i++)); do
        [ "$(c -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ] && return 0
        sleep 0.1
    done
    echo "monitor_node_exporter: $1 did not answer" >&2
    return 1
}

# start_pk TAG SECONDS PORT [options]: perfkit monitor in the background,
# bounded by --duration SECONDS; sets PK_PID.
start_pk() {
    local tag=$1 secs=$2 port=$3
    shift 3
    "$PK" monitor --listen "127.0.0.1:$port" --duration "${secs}s" "$@" >"$TMP/$tag.log" 2>&1 &
    PK_PID=$!
    PIDS+=("$PK_PID")
    wait_http "http://127.0.0.1:$port/ready" || { tail -n 5 "$TMP/$tag.log" >&2; exit 1; }
}
# start_ne TAG SECONDS PORT: node_exporter under timeout(1); sets NE_PID to
# node_exporter itself (timeout's child), NE_WRAP to timeout.
start_ne() {
    local tag=$1 secs=$2 port=$3 i
    timeout -k 5 "$secs" "$NE" --web.listen-address="127.0.0.1:$port" >"$TMP/$tag.log" 2>&1 &
    NE_WRAP=$!
    PIDS+=("$NE_WRAP")
    NE_PID=
    for ((i = 0; i < 50; i++)); do
        NE_PID=$(cat "/proc/$NE_WRAP/task/$NE_WRAP/children" 2>/dev/null || true)
        NE_PID=${NE_PID%% *}
        [ -n "$NE_PID" ] && break
        sleep 0.1
    done
    [ -n "$NE_PID" ] || { echo "monitor_node_exporter: node_exporter did not start" >&2; exit 1; }
    wait_http "http://127.0.0.1:$port/metrics" || { tail -n 5 "$TMP/$tag.log" >&2; exit 1; }
}
# Stops what start_pk / start_ne started and forgets it.
stop_started() {
    stop "$@"
    forget "$@"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The measuring side: one Python program, the same for both agents.
cat >"$TMP/drive.py" <<'EOF'
import http.client, json, os, sqlite3, statistics, struct, sys, time, random

def cpu(pid):
    """utime+stime in ticks (the whole process, exited threads included) and
    the sum of the live threads' run times in ns (schedstat), per thread."""
    with open(f"/proc/{pid}/stat") as f:
        st = f.read()
    rest = st[st.rindex(")") + 2:].split()
    ticks = int(rest[11]) + int(rest[12])          # fields 14 and 15
    threads = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                ns = int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{t}/comm") as f:
                comm = f.read().strip()
        except (FileNotFoundError, ProcessLookupError):
            continue
        threads[t] = (comm, ns)
    return ticks, threads

def ns_delta(a, b, only=None):
    """Run time of the threads between two readings: the threads alive at the
    second one (a thread that started in between counts from its start). A
    thread that ends before the second reading is not seen: its time is
    missing here, not in the ticks."""
    return sum(ns - (a[1][t][1] if t in a[1] else 0)
               for t, (comm, ns) in b[1].items() if only is None or comm.startswith(only))

def scrape(port, path="/metrics"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers={"Connection": "close"})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise SystemExit(f"GET {path} on port {port}: status {r.status}")
    return body

def memory(pid):
    """VmRSS, VmHWM, RssAnon, RssFile (status), Pss (smaps_rollup), and the
    five mappings with the most resident memory (smaps), in kB."""
    m = {k: vm(pid, k) for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for l in f:
            if l.startswith("Pss:"):
                m["Pss"] = int(l.split()[1])
    per, cur = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for l in f:
            p = l.split()
            if p and "-" in p[0] and not p[0].endswith(":"):
                cur = os.path.basename(p[5]) if len(p) > 5 else "[anon]"
            elif p and p[0] == "Rss:":
                per[cur] = per.get(cur, 0) + int(p[1])
    m["top"] = sorted(per.items(), key=lambda kv: -kv[1])[:5]
    return m

def series(body):
    return sum(1 for l in body.decode().splitlines() if l and not l.startswith("#"))

def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith(key + ":"):
                return int(l.split()[1])            # kB
    return None

def scrapecpu(out, n, rounds, agents):
    # agents: [(name, pid, port)]
    res = {"scrapes": n, "rounds": []}
    burst = {}
    for name, pid, port in agents:                   # warm-up, and the first burst length
        b = scrape(port)
        res[name] = {"bytes": len(b), "series": series(b)}
        t0 = time.monotonic()
        for _ in range(n):
            scrape(port)
        burst[name] = time.monotonic() - t0
    for r in range(rounds):
        order = agents if r % 2 == 0 else agents[::-1]
        row = {}
        for name, pid, port in order:
            idle_len = burst[name]
            i0, t0 = cpu(pid), time.monotonic()
            time.sleep(idle_len)
            i1, t1 = cpu(pid), time.monotonic()
            s0, u0 = cpu(pid), time.monotonic()
            for _ in range(n):
                scrape(port)
            s1, u1 = cpu(pid), time.monotonic()
            burst[name] = u1 - u0
            row[name] = {"idle_s": t1 - t0, "idle_ticks": i1[0] - i0[0], "idle_ns": ns_delta(i0, i1),
                         "burst_s": u1 - u0, "burst_ticks": s1[0] - s0[0], "burst_ns": ns_delta(s0, s1),
                         "burst_http_ns": ns_delta(s0, s1, "MHD"), "threads": len(s1[1])}
        res["rounds"].append(row)
    json.dump(res, open(out, "w"), indent=1)

def rss(out, seconds, agents):
    # Every agent scraped once a second (drift-free), VmRSS every 60 s.
    res = {"seconds": seconds, "rss": [], "scrapes": 0}
    t0 = time.monotonic()
    k = 0
    while True:
        now = time.monotonic() - t0
        if k % 60 == 0:
            res["rss"].append([round(now), {name: vm(pid, "VmRSS") for name, pid, port in agents}])
        if now >= seconds:
            break
        for name, pid, port in agents:
            scrape(port)
        res["scrapes"] += 1
        k += 1
        time.sleep(max(0.0, k - (time.monotonic() - t0)))
    res["final"] = {name: memory(pid) for name, pid, port in agents}
    json.dump(res, open(out, "w"), indent=1)

def idle(out, seconds, pid):
    # Readings once a second for SECONDS; no scrapes.
    t0 = time.monotonic()
    reads = []
    for k in range(seconds + 1):
        time.sleep(max(0.0, k - (time.monotonic() - t0)))
        c = cpu(pid)
        reads.append((time.monotonic() - t0, c))
    first, last = reads[0], reads[-1]
    per_s = []
    for (ta, a), (tb, b) in zip(reads, reads[1:]):
        d = ns_delta(a, b)
        if d is not None:
            per_s.append(d / (tb - ta))
    json.dump({"window_s": last[0] - first[0], "ticks": last[1][0] - first[1][0],
               "ns": ns_delta(first[1], last[1]), "per_second_ns": per_s}, open(out, "w"), indent=1)

def fill(db, seconds, nseries, now_ms):
    """DATA_SECONDS of 1 s samples of NSERIES of the series perfkit made,
    perfkit_cpu_utilization_ratio first, ending before its own first sample,
    in whole minutes, written as the store writes a finished minute
    (docs/monitor-store.md, schema version 2): one chunk per series and
    minute (a format byte 1, then per sample a little-endian u16 of ms into
    the minute and an f64) and its rollup (min, avg summed in time order,
    max, count). Time-major values, as the agent samples."""
    d = sqlite3.connect(db)
    keys = [k for (k,) in d.execute("SELECT key FROM series ORDER BY key")]
    want = ["perfkit_cpu_utilization_ratio"] + [k for k in keys if k != "perfkit_cpu_utilization_ratio"]
    want = want[:nseries]
    for i in range(len(want), nseries):
        want.append(f'perfkit_bench_gauge{{n="{i}"}}')
    ids = []
    for k in want:
        row = d.execute("SELECT id FROM series WHERE key = ?", (k,)).fetchone()
        if row is None:
            d.execute("INSERT INTO series(key) VALUES(?)", (k,))
            row = d.execute("SELECT id FROM series WHERE key = ?", (k,)).fetchone()
        ids.append(row[0])
    first = min([v for (v,) in d.execute("SELECT min(ts) FROM frames UNION ALL"
                                         " SELECT min(minute) * 60000 FROM chunks") if v is not None] or [now_ms])
    end_ms = (first // 60000) * 60000                # whole minutes only
    start_ms = end_ms - seconds * 1000
    rnd = random.Random(1)
    val = [rnd.random() for _ in ids]
    def rows():
        for m0 in range(start_ms, end_ms, 60000):
            minute = m0 // 60000
            pts = [[] for _ in ids]
            for t in range(m0, m0 + 60000, 1000):
                ts = t + rnd.randrange(4)
                for j in range(len(ids)):
                    val[j] = min(1.0, max(0.0, val[j] + rnd.uniform(-0.02, 0.02)))
                    pts[j].append((ts, val[j]))
            for j, sid in enumerate(ids):
                p = pts[j]
                blob = b"\x01" + b"".join(struct.pack("<Hd", ts - m0, v) for ts, v in p)
                total = 0.0
                for _, v in p:
                    total += v
                vs = [v for _, v in p]
                yield (sid << 32 | minute, blob, sid, minute, min(vs), total / len(vs), max(vs), len(vs))
    n = 0
    with d:
        for r in rows():
            d.execute("INSERT OR REPLACE INTO chunks(id, data) VALUES(?, ?)", r[:2])
            d.execute("INSERT OR REPLACE INTO rollups(series, minute, min, avg, max, n) VALUES(?, ?, ?, ?, ?, ?)",
                      r[2:])
            n += r[7]
    d.close()
    print(f"{len(ids)} series, {n} samples, from {start_ms} to {end_ms} ms")

cmd = sys.argv[1]
if cmd == "scrapecpu":
    out, n, rounds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    a = sys.argv[5:]
    scrapecpu(out, n, rounds, [(a[i], int(a[i + 1]), int(a[i + 2])) for i in range(0, len(a), 3)])
elif cmd == "rss":
    out, secs = sys.argv[2], int(sys.argv[3])
    a = sys.argv[4:]
    rss(out, secs, [(a[i], int(a[i + 1]), int(a[i + 2])) for i in range(0, len(a), 3)])
elif cmd == "idle":
    idle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif cmd == "fill":
    fill(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
else:
    raise SystemExit("drive.py: unknown command " + cmd)
EOF

# Everything runs from the scratch directory so that no tool drops files in
# the tree.
cd "$TMP"

QUIET_NOTE=
if [ "$WAIT_QUIET" -gt 0 ]; then
    waited=0
    while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v q="$QUIET_LOAD" 'BEGIN { exit !(l >= q) }'; do
        if [ "$waited" -ge "$WAIT_QUIET" ]; then
            QUIET_NOTE="waited ${waited} s for the 1-minute load average to fall below $QUIET_LOAD; it did not (other work was running), so this ran anyway"
            break
        fi
        [ "$waited" -eq 0 ] && echo "monitor_node_exporter: waiting up to ${WAIT_QUIET} s for load average < $QUIET_LOAD (now $(loadavg))"
        sleep 15
        waited=$((waited + 15))
    done
    if [ -z "$QUIET_NOTE" ]; then
        if [ "$waited" -eq 0 ]; then
            QUIET_NOTE="the 1-minute load average was already below $QUIET_LOAD"
        else
            QUIET_NOTE="waited ${waited} s for the 1-minute load average to fall below $QUIET_LOAD"
        fi
    fi
fi

LOAD_START=$(loadavg)
echo "monitor_node_exporter: $ROUNDS rounds of $SCRAPES scrapes, ${MONITOR_MINUTES} min for memory," \
    "${SAMPLE_SECONDS} s of sampling, $WRK_RUNS wrk runs, $HISTORY_RUNS history queries (load average: $LOAD_START)"
[ "$MONITOR_MINUTES" -ge 10 ] || echo "monitor_node_exporter: MONITOR_MINUTES=$MONITOR_MINUTES: a trial run (the target is at 10 minutes)" >&2
STAGE_LOADS=()

# 1. CPU per scrape, both agents side by side.
echo "  1/5 CPU per /metrics scrape"
STAGE_LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
P1=$(free_port)
P2=$(free_port)
BOUND=$((SETTLE + 1800))
start_pk pk1 "$BOUND" "$P1" --db "$TMP/m.db"
PK1=$PK_PID
start_ne ne1 "$BOUND" "$P2"
NE1=$NE_WRAP
NE1_PID=$NE_PID
sleep "$SETTLE"
step "$PY" "$TMP/drive.py" scrapecpu "$TMP/scrape.json" "$SCRAPES" "$ROUNDS" pk "$PK1" "$P1" ne "$NE1_PID" "$P2"
# node_exporter's collectors, as it logged them at start.
NE_COLLECTORS=$(sed -n 's/.*level=info collector=\([a-z_0-9]*\)$/\1/p' "$TMP/ne1.log" | tr '\n' ' ')
NE_FAILED=$(sed -n 's/.*msg="collector failed" name=\([a-z_0-9]*\).*/\1/p' "$TMP/ne1.log" | sort -u | tr '\n' ' ')
stop_started "$PK1" "$NE1"

# 2. Resident memory after MONITOR_MINUTES at a 1 s interval.
echo "  2/5 resident memory after ${MONITOR_MINUTES} min (each agent scraped once a second)"
STAGE_LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
P1=$(free_port)
P2=$(free_port)
BOUND=$((MONITOR_MINUTES * 60 + 300))
rm -f "$TMP"/m.db*
start_pk pk2 "$BOUND" "$P1" --db "$TMP/m.db" --interval 1s
PK2=$PK_PID
start_ne ne2 "$BOUND" "$P2"
NE2=$NE_WRAP
NE2_PID=$NE_PID
# The floor: libmicrohttpd and SQLite alone, doing what the agent does with them.
P3=$(free_port)
rm -f "$TMP"/floor.db*
timeout -k 5 "$BOUND" "$TMP/monitor_floor" "$P3" "$TMP/floor.db" "$BOUND" >"$TMP/floor.log" 2>&1 &
FLOOR=$!
PIDS+=("$FLOOR")
wait_http "http://127.0.0.1:$P3/metrics" || { cat "$TMP/floor.log" >&2; exit 1; }
FLOOR_PID=$(cat "/proc/$FLOOR/task/$FLOOR/children")
FLOOR_PID=${FLOOR_PID%% *}
step "$PY" "$TMP/drive.py" rss "$TMP/rss.json" $((MONITOR_MINUTES * 60)) pk "$PK2" "$P1" ne "$NE2_PID" "$P2" \
    floor "$FLOOR_PID" "$P3"
stop_started "$PK2" "$NE2" "$FLOOR"

# 3. Sampling cost, perfkit alone, then 4. /api/status under wrk on it.
echo "  3/5 sampling cost over ${SAMPLE_SECONDS} s, perfkit alone"
STAGE_LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
P1=$(free_port)
rm -f "$TMP"/m.db*
start_pk pk3 $((SETTLE + SAMPLE_SECONDS + WRK_RUNS * (WRK_SECONDS + 5) + 300)) "$P1" --db "$TMP/m.db"
PK3=$PK_PID
sleep "$SETTLE"
step "$PY" "$TMP/drive.py" idle "$TMP/idle.json" "$SAMPLE_SECONDS" "$PK3"
# After the window: perfkit's own account of its collectors, and the size of
# what tcpstat reads.
c "http://127.0.0.1:$P1/metrics" >"$TMP/pk3.metrics"
TCP_SOCKETS=$(($(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | wc -l) - 2))
PROCS=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)

echo "  4/5 /api/status under wrk -t1 -c50 -d${WRK_SECONDS}s"
STAGE_LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
step wrk -t1 -c10 -d1s "http://127.0.0.1:$P1/api/status" >/dev/null # warm-up
for ((i = 1; i <= WRK_RUNS; i++)); do
    step wrk -t1 -c50 -d"${WRK_SECONDS}s" "http://127.0.0.1:$P1/api/status" >"$TMP/wrk.$i.out" 2>&1 || {
        echo "monitor_node_exporter: wrk failed" >&2
        cat "$TMP/wrk.$i.out" >&2
        exit 1
    }
done
stop_started "$PK3"

# 5. /api/history.
echo "  5/5 /api/history over 24 h at 1,000 points"
STAGE_LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
# Its scratch directory goes under ours, which the trap removes.
TMPDIR=$TMP step bash "$ROOT/bench/store_history.sh" "$BUILD_DIR" >"$TMP/store_history.out" 2>&1 || {
    echo "monitor_node_exporter: bench/store_history.sh failed" >&2
    tail -n 5 "$TMP/store_history.out" >&2
    exit 1
}
P1=$(free_port)
HDB=$TMP/history.db
start_pk pk5a 30 "$P1" --db "$HDB"
sleep 2
stop_started "$PK_PID"
step "$PY" "$TMP/drive.py" fill "$HDB" "$DATA_SECONDS" "$SERIES" "$(date +%s%3N)" >"$TMP/fill.out"
HDB_BYTES=$(stat -c %s "$HDB")
start_pk pk5 $((HISTORY_RUNS * 10 + 300)) "$P1" --db "$HDB" --retention-raw 48h
PK5=$PK_PID
HURL="http://127.0.0.1:$P1/api/history?metric=perfkit_cpu_utilization_ratio&from=-24h&points=1000"
c "$HURL" >"$TMP/history.json"
: >"$TMP/history.times"
for ((i = 1; i <= HISTORY_RUNS; i++)); do
    c -o /dev/null -w '%{http_code} %{time_total}\n' "$HURL" >>"$TMP/history.times"
done
stop_started "$PK5"
LOAD_END=$(loadavg)

# What loading the program alone costs: peak RSS of a --version run.
LOAD_RSS_PK=$(/usr/bin/time -f '%M' "$PK" --version 2>&1 >/dev/null | tail -n 1 || echo 0)
LOAD_RSS_NE=$(/usr/bin/time -f '%M' "$NE" --version 2>&1 >/dev/null | tail -n 1 || echo 0)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
NPROC=$(nproc)
KERNEL=$(uname -sr)
PK_VERSION=$("$PK" --version 2>&1 | head -n 1)
NE_VERSION=$("$NE" --version 2>&1 | head -n 1)
NE_DEB=$(dpkg-query -W -f '${Version}' prometheus-node-exporter 2>/dev/null || echo '?')
WRK_VERSION="wrk $(dpkg-query -W -f '${Version}' wrk 2>/dev/null || echo '?')"
CURL_VERSION=$(curl --version | head -n 1 | cut -d' ' -f1-2)
PY_VERSION=$("$PY" -c 'import platform; print(platform.python_version())')
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CLK_TCK=$(getconf CLK_TCK)
STAGE_LOADS_STR="${STAGE_LOADS[*]}"
export TMP RESULTS COMMAND MONITOR_MINUTES SCRAPES ROUNDS SETTLE SAMPLE_SECONDS WRK_RUNS WRK_SECONDS \
    HISTORY_RUNS SERIES DATA_SECONDS LOAD_START LOAD_END STAGE_LOADS_STR QUIET_NOTE CPU NPROC KERNEL \
    PK_VERSION NE_VERSION NE_DEB WRK_VERSION CURL_VERSION PY_VERSION DATE CLK_TCK NE_COLLECTORS NE_FAILED \
    TCP_SOCKETS PROCS HDB_BYTES LOAD_RSS_PK LOAD_RSS_NE

# Medians, ratios, verdicts; the same text goes to the terminal and into the
# RESULTS.md section.
"$PY" - <<'EOF'
import json, os, re, statistics

env = os.environ
tmp = env["TMP"]
clk = int(env["CLK_TCK"])
n_scrapes, rounds = int(env["SCRAPES"]), int(env["ROUNDS"])
minutes = int(env["MONITOR_MINUTES"])

def med(xs): return statistics.median(xs)
def rng(xs, f): return f"{f(min(xs))}–{f(max(xs))}"
def cell(xs, f): return f"{f(med(xs))} ({rng(xs, f)})"
def us(x): return f"{x * 1e6:.1f} µs" if abs(x) < 1e-3 else f"{x * 1e3:.2f} ms"
def ms(x): return f"{x * 1e3:.2f} ms"
def mib(kb): return f"{kb / 1024:.1f} MiB"
def pct(x): return f"{x * 100:.3f} %"
def count(x): return f"{x:,.0f}"
def verdict(ok): return "**met**" if ok else "**NOT met**"

# 1. CPU per scrape.
sc = json.load(open(os.path.join(tmp, "scrape.json")))
def per_scrape(row, unit):
    if unit == "ticks":
        burst, idle = row["burst_ticks"] / clk, row["idle_ticks"] / clk
    else:
        burst, idle = row["burst_ns"] * 1e-9, row["idle_ns"] * 1e-9
    return (burst - idle * row["burst_s"] / row["idle_s"]) / n_scrapes
cpu = {(name, unit): [per_scrape(r[name], unit) for r in sc["rounds"]]
       for name in ("pk", "ne") for unit in ("ticks", "ns")}
http_only = [r["pk"]["burst_http_ns"] * 1e-9 / n_scrapes for r in sc["rounds"]]
burst_len = {name: [r[name]["burst_s"] for r in sc["rounds"]] for name in ("pk", "ne")}
r_cpu = med(cpu[("pk", "ns")]) / med(cpu[("ne", "ns")])
ne_ticks = med(cpu[("ne", "ticks")])
r_cpu_ticks = f"{med(cpu[('pk', 'ticks')]) / ne_ticks:.3f}" if ne_ticks > 0 else "n/a"
pair_r = [a / b for a, b in zip(cpu[("pk", "ns")], cpu[("ne", "ns")]) if b > 0]

# 2. Memory.
rs = json.load(open(os.path.join(tmp, "rss.json")))
fin = rs["final"]
pkm, nem = fin["pk"], fin["ne"]
flm = fin.get("floor")
r_rss = pkm["VmRSS"] / nem["VmRSS"]

# 3. Sampling cost: utime+stime is the figure (it includes threads that
# start and end between two readings, which schedstat cannot see).
idl = json.load(open(os.path.join(tmp, "idle.json")))
share = idl["ticks"] / clk / idl["window_s"]
share_ns = idl["ns"] * 1e-9 / idl["window_s"]
per_s_med = med(idl["per_second_ns"]) * 1e-9
coll, sample_dur = {}, None
for line in open(os.path.join(tmp, "pk3.metrics")):
    m = re.match(r'perfkit_collector_duration_seconds\{collector="([a-z_]+)"\} (\S+)', line)
    if m:
        coll[m.group(1)] = float(m.group(2))
    m = re.match(r"perfkit_agent_sample_duration_seconds (\S+)", line)
    if m:
        sample_dur = float(m.group(1))
period = {"tcpstat": 30, "processes": 5}
every = sum(v for k, v in coll.items() if k not in period)
coll_rate = every + sum(coll.get(k, 0) / p for k, p in period.items())

# 4. wrk.
rps, wrk_err = [], 0
for i in range(1, int(env["WRK_RUNS"]) + 1):
    text = open(os.path.join(tmp, f"wrk.{i}.out")).read()
    rps.append(float(re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M).group(1)))
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if se:
        wrk_err += sum(int(x) for x in se.groups())
    n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if n2:
        wrk_err += int(n2.group(1))

# 5. History.
sh = open(os.path.join(tmp, "store_history.out")).read()
m = re.search(r"store_history source=auto\s+median\s+([\d.]+) ms\s+min\s+([\d.]+)\s+max\s+([\d.]+)\s+"
              r"\((\d+) runs, (\d+) points, used (\w+), step (\d+) ms\)", sh)
store_auto = m.groups() if m else None
times, codes = [], set()
for line in open(os.path.join(tmp, "history.times")):
    code, t = line.split()
    codes.add(code)
    times.append(float(t))
hj = json.load(open(os.path.join(tmp, "history.json")))
fill = open(os.path.join(tmp, "fill.out")).read().strip()
stage_loads = [float(x) for x in env["STAGE_LOADS_STR"].split()]

out = []
out.append(f"Figures from `{env['COMMAND']}` on {env['DATE']}.")
out.append("")
out.append(f"- Machine: {env['NPROC']} CPUs, {env['CPU']}, {env['KERNEL']}; load average {env['LOAD_START']} "
           f"at start, {env['LOAD_END']} at end; 1-minute load average at the start of parts 1–5: "
           f"{', '.join(env['STAGE_LOADS_STR'].split())} (part 5's right after part 4's own wrk runs).")
if env["QUIET_NOTE"]:
    out.append(f"- Before starting: {env['QUIET_NOTE']}.")
out.append(f"- Versions: {env['PK_VERSION']}; {env['NE_VERSION'].replace('node_exporter, version', 'node_exporter')} "
           f"(Debian prometheus-node-exporter {env['NE_DEB']}); {env['WRK_VERSION']}; {env['CURL_VERSION']}; "
           f"Python {env['PY_VERSION']} (the scraping client).")
out.append(f"- node_exporter runs its default collectors: {env['NE_COLLECTORS'].strip()}." +
           (f" Of these, {env['NE_FAILED'].strip()} failed on every scrape here (no D-Bus on this machine) "
            f"and logged an error line each time, which is part of its CPU figure." if env["NE_FAILED"].strip() else ""))
out.append("- perfkit samples every second on its own timer (tcpstat every 30 s, processes every 5 s, the "
           "other collectors every sample), stores each sample in SQLite and renders `/metrics` and "
           "`/api/status` at most once per sample, on the first request for it: later requests for the same sample copy the rendered text. node_exporter collects on "
           "each scrape. So part 1 compares serving a scrape with collecting and serving one; the cost of "
           "perfkit's sampling, scraped or not, is part 3.")
out.append("- Commands (P1, P2: free loopback ports; each agent otherwise on its defaults):")
out.append("  - `perfkit monitor --listen 127.0.0.1:P1 --db TMP/m.db` (part 2: `--interval 1s` added, its default)")
out.append("  - `prometheus-node-exporter --web.listen-address=127.0.0.1:P2`")
out.append("  - scrapes: Python `http.client`, one connection per request, `GET /metrics` with `Connection: close`, "
           "no `Accept`/`Accept-Encoding` (text format 0.0.4, uncompressed, for both)")
out.append(f"  - `wrk -t1 -c50 -d{env['WRK_SECONDS']}s http://127.0.0.1:P1/api/status`")
out.append("  - `curl \"http://127.0.0.1:P1/api/history?metric=perfkit_cpu_utilization_ratio&from=-24h&points=1000\"` "
           "on `perfkit monitor --db H.db --retention-raw 48h`")
out.append("")
out.append("| | perfkit monitor | node_exporter | perfkit / node_exporter | target |")
out.append("|---|---|---|---|---|")
out.append(f"| 1. CPU per `/metrics` scrape (schedstat) | {cell(cpu[('pk', 'ns')], us)} | {cell(cpu[('ne', 'ns')], us)} "
           f"| {r_cpu:.3f} | ≤ 0.1×: {verdict(r_cpu <= 0.1)} |")
out.append(f"| CPU per scrape from utime+stime ({1000 // clk} ms ticks) | {cell(cpu[('pk', 'ticks')], us)} "
           f"| {cell(cpu[('ne', 'ticks')], us)} | {r_cpu_ticks} | |")
out.append(f"| wall time of {n_scrapes} scrapes, client included | {cell(burst_len['pk'], ms)} | {cell(burst_len['ne'], ms)} "
           f"| {med(burst_len['pk']) / med(burst_len['ne']):.3f} | |")
out.append(f"| bytes of one scrape | {count(sc['pk']['bytes'])} | {count(sc['ne']['bytes'])} "
           f"| {sc['pk']['bytes'] / sc['ne']['bytes']:.3f} | |")
out.append(f"| series in one scrape | {count(sc['pk']['series'])} | {count(sc['ne']['series'])} "
           f"| {sc['pk']['series'] / sc['ne']['series']:.3f} | |")
out.append(f"| 2. VmRSS after {minutes} min at 1 s | {mib(pkm['VmRSS'])} | {mib(nem['VmRSS'])} "
           f"| {r_rss:.3f} | ≤ 0.25×: {verdict(r_rss <= 0.25)}{'' if minutes >= 10 else ' (a trial: under 10 min)'} |")
for key, label in (("RssAnon", "of which anonymous (RssAnon)"), ("RssFile", "of which file-backed (RssFile)"),
                   ("Pss", "PSS (shared pages divided among their users)"), ("VmHWM", f"peak RSS over the {minutes} min (VmHWM)")):
    out.append(f"| {label} | {mib(pkm[key])} | {mib(nem[key])} | {pkm[key] / nem[key]:.3f} | |")
if flm:
    out.append(f"| the floor: libmicrohttpd and SQLite alone (`bench/monitor_floor.c`), VmRSS | {mib(flm['VmRSS'])} "
               f"| {mib(nem['VmRSS'])} | {flm['VmRSS'] / nem['VmRSS']:.3f} | |")
out.append(f"| 3. sampling at 1 s, alone, {idl['window_s']:.0f} s: share of one core (utime+stime, {idl['ticks']} ticks) "
           f"| {pct(share)} | | | ≤ 0.1 %: {verdict(share <= 0.001)} |")
out.append(f"| the same from schedstat (threads alive at the readings) | {pct(share_ns)} | | | |")
out.append(f"| 4. `/api/status`, `wrk -t1 -c50 -d{env['WRK_SECONDS']}s`, requests/s, median of {len(rps)} "
           f"| {cell(rps, count)} | | | ≥ 20,000: {verdict(med(rps) >= 20000)} |")
out.append(f"| 5. `/api/history`, 24 h at 1,000 points, end to end (curl), median of {len(times)} "
           f"| {cell(times, ms)} | | | ≤ 20 ms: {verdict(med(times) <= 0.020)} |")
if store_auto:
    out.append(f"| the store's query alone (`bench/store_history.sh`, source auto), median of {store_auto[3]} "
               f"| {store_auto[0]} ms ({store_auto[1]}–{store_auto[2]} ms) | | | |")
out.append("")
out.append("Method")
out.append("")
out.append(f"- Part 1: both agents side by side; after {env['SETTLE']} s of settling and one untimed burst each, "
           f"{rounds} rounds, the agents alternating (perfkit first in odd rounds); each turn an idle window as "
           f"long as that agent's previous burst, then {n_scrapes} sequential scrapes; CPU per scrape = (CPU "
           f"over the burst − the idle window's CPU rate × the burst's length) / {n_scrapes}. Medians over the "
           f"rounds, min–max in brackets. utime+stime from `/proc/PID/stat` counts whole {1000 // clk} ms "
           f"ticks, more than perfkit's whole burst takes, so the ratio uses the threads' run times from "
           f"`/proc/PID/task/*/schedstat` (ns). Per-round ratio {min(pair_r):.3f}–{max(pair_r):.3f}. perfkit's two "
           f"HTTP threads alone (sampling runs on its main thread, so no idle subtraction is needed) used "
           f"{cell(http_only, us)} per scrape.")
curve_txt = ", ".join(f"{t // 60} min {mib(v['pk'])} / {mib(v['ne'])}" for t, v in rs["rss"])
out.append(f"- Part 2: both agents started afresh, each scraped once a second by one loop ({rs['scrapes']} "
           f"scrapes each: node_exporter collects on scrape; perfkit samples on its own timer and is scraped "
           f"too, which only adds to its figure); `/proc/PID/status` and `smaps_rollup` at the end of "
           f"{minutes} min. VmRSS perfkit / node_exporter along the way: {curve_txt}.")
out.append(f"- Part 3: perfkit alone, afresh, nothing scraping it; after {env['SETTLE']} s, utime+stime over "
           f"{idl['window_s']:.0f} s (a multiple of 30 s, so tcpstat's period is covered whole); "
           f"{idl['ticks']} ticks of {1000 // clk} ms, so ±{100 / clk / idl['window_s']:.3f} % of a core.")
out.append(f"- Part 4: on the perfkit of part 3, right after its window; wrk and perfkit share the "
           f"{env['NPROC']} CPUs. Errors (socket errors and non-2xx), all runs: {wrk_err}.")
out.append(f"- Part 5: `bench/store_history.sh` builds its own day of data (40 series through `store_append`) "
           f"and times the store's query in-process" +
           (f" ({store_auto[4]} points from the {store_auto[5]}s, step {int(store_auto[6]) // 1000} s)" if store_auto else "") +
           f". End to end: a database made by perfkit monitor (2 s), filled by the script ({fill}; the "
           f"chunks and rollups of each finished minute as the store writes them; file "
           f"{int(env['HDB_BYTES']) / 2**20:.0f} MiB), perfkit monitor started on it, {len(times)} sequential "
           f"curls (a new connection each), `time_total`; status {', '.join(sorted(codes))}; the answer had "
           f"{len(hj.get('points', []))} points from the {hj.get('source')}s at step "
           f"{hj.get('step_ms', 0) // 1000} s.")
out.append("")
out.append("Reading")
out.append("")
out.append(f"- CPU per scrape: perfkit {us(med(cpu[('pk', 'ns')]))} against node_exporter's "
           f"{us(med(cpu[('ne', 'ns')]))}, {r_cpu:.3f}× (target ≤ 0.1×: {verdict(r_cpu <= 0.1)}). A perfkit scrape "
           f"is a copy of {count(sc['pk']['bytes'])} bytes rendered once per sample (on its first request); node_exporter runs its "
           f"collectors for each of its {count(sc['ne']['bytes'])} bytes. The comparison leaves out perfkit's "
           f"sampling, which it does scraped or not (part 3).")
top = lambda m: ", ".join(f"{k} {mib(v)}" for k, v in m["top"])
out.append(f"- Memory after {minutes} min: perfkit {mib(pkm['VmRSS'])} against {mib(nem['VmRSS'])}, "
           f"{r_rss:.3f}× (target ≤ 0.25×: {verdict(r_rss <= 0.25)}). Anonymous memory alone: "
           f"{mib(pkm['RssAnon'])} against {mib(nem['RssAnon'])} ({pkm['RssAnon'] / nem['RssAnon']:.3f}×); "
           f"file-backed pages: {mib(pkm['RssFile'])} against {mib(nem['RssFile'])}. perfkit's largest "
           f"mappings: {top(pkm)}; node_exporter's: {top(nem)}. perfkit's file-backed pages are the "
           f"shared libraries it links (libc, SQLite, libmicrohttpd and the GnuTLS it links, with their "
           f"dependencies; libcurl and OpenSSL are loaded only when a webhook, an HTTP probe or an https load "
           f"needs them) as far as they were touched, shared with any other process "
           f"that maps them (hence the lower PSS); node_exporter's are mostly its own Go executable. "
           f"Loading alone: `perfkit --version` peaks at {mib(int(env['LOAD_RSS_PK']))} and "
           f"`prometheus-node-exporter --version` at {mib(int(env['LOAD_RSS_NE']))} (`/usr/bin/time -f %M`); "
           f"the target, {mib(0.25 * nem['VmRSS'])}, is "
           f"{'below' if 0.25 * nem['VmRSS'] < int(env['LOAD_RSS_PK']) else 'above'} what perfkit's "
           f"libraries take before it does anything." +
           (f" The floor, a program that only serves a fixed text with libmicrohttpd and writes one SQLite "
            f"transaction of 300 rows a second with SQLite's default 2 MiB page cache (perfkit's is 256 KiB) "
            f"(`bench/monitor_floor.c`, scraped like the agents), had "
            f"{mib(flm['VmRSS'])} after the same {minutes} min ({flm['VmRSS'] / nem['VmRSS']:.3f}× node_exporter's): "
            f"{'above' if flm['VmRSS'] > 0.25 * nem['VmRSS'] else 'within'} the target with the libraries the "
            f"agent must use, before any collector, rule or JSON; perfkit is "
            f"{mib(pkm['VmRSS'] - flm['VmRSS'])} above it." if flm else ""))
out.append(f"- Sampling: {pct(share)} of a core (target ≤ 0.1 %: {verdict(share <= 0.001)}). The median "
           f"second cost {us(per_s_med)}. perfkit's own `perfkit_collector_duration_seconds` (wall time of "
           f"each collector's last run, read after the window) add up to {us(coll_rate)} per second: the "
           f"every-sample collectors {us(every)}, processes {us(coll.get('processes', 0))} every 5 s, tcpstat "
           f"{us(coll.get('tcpstat', 0))} every 30 s (two sock_diag dumps; /proc/net/tcp and tcp6 held "
           f"{count(int(env['TCP_SOCKETS']))} sockets; {env['PROCS']} processes); the whole last sample "
           f"took {us(sample_dur) if sample_dur is not None else '?'}. The rest of the {us(share)} per second is "
           f"the work each sample does after collecting: the SQLite commit, the alert rules, and rendering "
           f"`/metrics` and `/api/status`.")
out.append(f"- `/api/status`: {count(med(rps))} requests/s (target ≥ 20,000: {verdict(med(rps) >= 20000)}); "
           f"the JSON is rendered once per sample, on its first request, and later requests copy it.")
out.append(f"- `/api/history`: {ms(med(times))} end to end (target ≤ 20 ms: {verdict(med(times) <= 0.020)})" +
           (f"; the store's query alone takes {store_auto[0]} ms, the rest is HTTP, JSON and curl's own "
            f"connection." if store_auto else "."))
if max(stage_loads[:4]) >= 0.7:
    out.append(f"- The machine was not quiet (1-minute load average up to {max(stage_loads[:4]):.2f} at the "
               f"start of parts 1–4): other work competed for the CPUs, which widens the ranges; CPU times are per "
               f"process and less affected than wall times.")
text = "\n".join(out) + "\n"
print()
print(text, end="")

begin, end = "<!-- monitor:begin -->", "<!-- monitor:end -->"
section = f"{begin}\n## Host agent: perfkit monitor vs prometheus-node-exporter\n\n{text}{end}"
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
tmp_path = path + ".tmp.monitor"
with open(tmp_path, "w", encoding="utf-8") as f:
    f.write(doc)
os.replace(tmp_path, path)
print(f"\nmonitor_node_exporter: wrote the monitor section of {path}")
EOF
