#!/usr/bin/env bash
# perfkit load against itself: two builds (say, before and after a change)
# loading the same real nginx on the loopback (tests/integration/nginx.sh),
# alternating A B A B ... so that drift on a shared machine hits both alike.
# The figure that matters is the generator's CPU per request (user+sys from
# /usr/bin/time over requests completed): a change to the engine must not
# make perfkit load dearer. Also requests/s and peak RSS.
#
# Usage: bench/load_ab.sh BUILD_A BUILD_B [LABEL_A LABEL_B]
#   BUILD_X: a build directory holding `perfkit` (e.g. one made from another
#   revision with `git worktree add /tmp/a REV && make -C /tmp/a build`).
# Env: PAIRS (default 9), DURATION (s, default 5), THREADS (1), CONNS (50).
# Prints a table and replaces the <!-- load-ab:begin --> ... <!-- load-ab:end -->
# section of bench/RESULTS.md (RESULTS_MD=FILE writes another file instead).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { sed -n '9,14p' "$0" >&2; exit 2; }
A=$(cd "$1" && pwd)/perfkit
B=$(cd "$2" && pwd)/perfkit
LABEL_A=${3:-$1}
LABEL_B=${4:-$2}
RESULTS=${RESULTS_MD:-$ROOT/bench/RESULTS.md}
PAIRS=${PAIRS:-9}
DURATION=${DURATION:-5}
THREADS=${THREADS:-1}
CONNS=${CONNS:-50}
for v in PAIRS DURATION THREADS CONNS; do
    case ${!v} in
        '' | *[!0-9]* | 0) echo "load_ab: $v must be a positive whole number" >&2; exit 2 ;;
    esac
done
for x in "$A" "$B"; do
    [ -x "$x" ] || { echo "load_ab: $x not found" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "load_ab: /usr/bin/time not found (Debian package 'time')" >&2; exit 1; }
[ -x /usr/sbin/nginx ] || { echo "load_ab: /usr/sbin/nginx not found (apt-get install nginx-light)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pk-load-ab.XXXXXX")
# shellcheck source=../tests/integration/nginx.sh
. "$ROOT/tests/integration/nginx.sh"
trap 'nginx_stop "$TMP/nginx"; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
nginx_start "$TMP/nginx" || { echo "load_ab: nginx did not start" >&2; exit 1; }
URL=http://127.0.0.1:$NGINX_PORT/
cd "$TMP"

run() { # TAG BINARY SECONDS
    /usr/bin/time -f '%U %S %M' -o "$TMP/$1.time" \
        "$2" load --no-progress -t"$THREADS" -c"$CONNS" -d"$3"s --json "$TMP/$1.json" "$URL" >"$TMP/$1.out" 2>&1 ||
        { echo "load_ab: $2 failed:" >&2; tail -n 5 "$TMP/$1.out" >&2; exit 1; }
    [ "$1" = warm ] || echo "$1 $(cat "$TMP/$1.time")" >>"$TMP/runs.txt"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load_ab: nginx on $URL; $PAIRS pairs of $DURATION s at -t$THREADS -c$CONNS (load average: $LOAD_START)"
run warm "$A" 1
run warm "$B" 1
: >"$TMP/runs.txt"
for ((i = 1; i <= PAIRS; i++)); do
    run "a.$i" "$A" "$DURATION"
    run "b.$i" "$B" "$DURATION"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

export TMP RESULTS PAIRS DURATION THREADS CONNS LABEL_A LABEL_B LOAD_START LOAD_END
export DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CMD="bash bench/load_ab.sh $(printf '%q ' "$@")"
export CMD=${CMD% }
/usr/bin/python3 - <<'EOF'
import json, os, re, statistics
env = os.environ
tmp = env["TMP"]
runs = {"a": [], "b": []}
for line in open(os.path.join(tmp, "runs.txt")):
    tag, user, sys_, rss = line.split()
    d = json.load(open(os.path.join(tmp, tag + ".json")))
    cpu = float(user) + float(sys_)
    runs[tag[0]].append({"cpu_us": cpu / d["requests"] * 1e6, "rps": float(d["rps"]), "rss": int(rss) / 1024,
                         "errors": int(d["errors"]["total"])})
def med(k, side): return statistics.median(r[k] for r in runs[side])
def span(k, side, f): xs = [r[k] for r in runs[side]]; return f"{f(min(xs))}–{f(max(xs))}"
rows = [("CPU per request", "cpu_us", lambda x: f"{x:.3f} µs"),
        ("requests/s", "rps", lambda x: f"{x:,.0f}"),
        ("peak RSS", "rss", lambda x: f"{x:.1f} MiB")]
out = [f"## perfkit load, two builds: {env['LABEL_A']} vs {env['LABEL_B']}", "",
       f"Figures from `{env['CMD']}` on {env['DATE']}: {env['PAIRS']} pairs of {env['DURATION']} s runs, "
       f"alternating, `perfkit load -t{env['THREADS']} -c{env['CONNS']}` against nginx (one worker, a 612-byte "
       f"page, keep-alive) on the loopback; CPU is user+sys from `/usr/bin/time` over the requests completed. "
       f"Load average {env['LOAD_START']} at start, {env['LOAD_END']} at end.", "",
       f"| median (min–max) | {env['LABEL_A']} | {env['LABEL_B']} | B / A |", "| --- | --- | --- | --- |"]
for name, k, f in rows:
    a, b = med(k, "a"), med(k, "b")
    out.append(f"| {name} | {f(a)} ({span(k, 'a', f)}) | {f(b)} ({span(k, 'b', f)}) | {b / a:.3f} |")
errs = sum(r["errors"] for s in runs.values() for r in s)
out.append("")
out.append(f"Errors in all runs: {errs}.")
text = "\n".join(out)
print(text)
path = env["RESULTS"]
doc = open(path).read() if os.path.exists(path) else ""
section = "<!-- load-ab:begin -->\n" + text + "\n<!-- load-ab:end -->"
if "<!-- load-ab:begin -->" in doc:
    doc = re.sub(r"<!-- load-ab:begin -->.*?<!-- load-ab:end -->", lambda m: section, doc, flags=re.S)
else:
    doc = doc.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(doc)
EOF
