# Shared by the integration tests: a tiny runner that counts and reports, and
# every helper two or more tests use. Each test file sources this, calls
# `check NAME COMMAND...` / `expect_exit` / `contains`, and ends with `finish`,
# which prints "N passed, M failed" and sets the status. A test that cannot run
# here calls `skip REASON` before its first check: exit 77, which ctest
# (SKIP_RETURN_CODE in tests/CMakeLists.txt) reports as skipped, not passed.
#
# Cleanup is this file's single EXIT trap: it stops every process started with
# start_bg, runs what was registered with on_exit (last first), removes $TMP
# and keeps the script's exit status. A test never sets an EXIT trap itself.
# Waiting for something to happen is wait_for with a deadline, never a fixed
# sleep. Servers bind to 127.0.0.1; HTTP helpers bypass proxies and time out.
set -uo pipefail
: "${PERFKIT:?PERFKIT must point at the perfkit binary}"
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/perfkit-it.XXXXXX")
passed=0
failed=0
_PK_BG=()     # pids from start_bg not yet stopped
_PK_HOOKS=()  # on_exit commands, each quoted for eval
_PK_MAIN=$BASHPID  # a subshell signalled before its exec inherits the traps: it must not clean up

# ---- the runner

# ok NAME: counts a passed check and prints "ok   - NAME"
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
# fail NAME [DETAIL...]: counts a failed check, prints "FAIL - NAME" and each DETAIL indented
fail() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    shift
    if [ $# -gt 0 ]; then printf '       %s\n' "$@"; fi
}

# check NAME CMD... : passes when CMD exits 0 (CMD runs in a subshell; its output shows on failure)
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$(printf '%s' "$out" | tail -n 15)"; fi
}

# expect_exit CODE NAME CMD... : passes when CMD exits CODE; its output is in $OUT
expect_exit() {
    local want=$1 name=$2; shift 2
    OUT=$("$@" 2>&1)
    local got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else fail "$name" "exit $got, wanted $want" "$(printf '%s' "$OUT" | tail -n 15)"; fi
}

# contains NAME TEXT NEEDLE: passes when TEXT contains the fixed string NEEDLE
contains() {
    if printf '%s' "$2" | grep -qF -- "$3"; then ok "$1"; else fail "$1" "missing: $3" "$(printf '%s' "$2" | tail -n 15)"; fi
}

# finish: prints "N passed, M failed"; returns 0 when nothing failed, 1 otherwise
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# die NAME [DETAIL...]: a failed check the rest depends on: fail, finish, exit 1
die() { fail "$@"; finish; exit 1; }

# skip REASON...: prints "SKIPPED - REASON" and exits 77; after a check it is a failure instead (split the test)
skip() {
    if [ $((passed + failed)) -gt 0 ]; then
        die "skip after $((passed + failed)) checks: a test is run fully or skipped whole" "$*"
    fi
    echo "SKIPPED - $*"
    exit 77
}

# ---- time, waiting, processes (also sourced alone by bench/ scripts)
. "$(dirname "${BASH_SOURCE[0]}")/wait.sh"

# ---- background processes

# start_bg CMD...: starts CMD in the background with the call's redirections (stdin too), stopped on exit; pid in BG_PID (not in $(...))
start_bg() {
    "$@" <&0 &
    BG_PID=$!
    _PK_BG+=("$BG_PID")
}

# stop_bg PID [SECONDS [SIGNAL]]: sends SIGNAL (TERM), waits SECONDS (10) for PID to end, then SIGKILL; returns PID's exit status
stop_bg() {
    local pid=$1 secs=${2:-10} sig=${3:-TERM} rc p rest=()
    kill -"$sig" "$pid" 2>/dev/null
    if ! wait_for "$secs" gone "$pid"; then
        echo "stop_bg: $pid still running $secs s after SIG$sig: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    for p in "${_PK_BG[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
    _PK_BG=("${rest[@]}")
    return "$rc"
}

# ---- cleanup

# on_exit CMD...: runs CMD at exit, after the start_bg processes are stopped and before $TMP is removed
on_exit() {
    local q
    printf -v q '%q ' "$@"
    _PK_HOOKS+=("$q")
}

# _pk_exit: the EXIT trap (main shell only): stop_bg every start_bg process, run the on_exit commands, remove $TMP
_pk_exit() {
    local rc=$? p i
    [ "$BASHPID" = "$_PK_MAIN" ] || exit "$rc"
    for p in "${_PK_BG[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${_PK_BG[@]}"; do stop_bg "$p" 5; done
    for ((i = ${#_PK_HOOKS[@]} - 1; i >= 0; i--)); do eval "${_PK_HOOKS[i]}"; done
    rm -rf "$TMP"
    exit "$rc"
}
trap _pk_exit EXIT
trap 'exit 130' INT TERM

# ---- HTTP on loopback

# http CURL-ARGS...: curl without proxy, quiet but for errors, at most $HTTP_MAX_TIME s (5); prints the body
http() { curl --noproxy '*' -sS --max-time "${HTTP_MAX_TIME:-5}" "$@"; }

# http_code URL [CURL-ARGS...]: prints the HTTP status URL answers with (000 when nothing answers)
http_code() {
    local url=$1
    shift
    http -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null
}

# http_ok URL [CURL-ARGS...]: succeeds when URL answers 200
http_ok() { [ "$(http_code "$@")" = 200 ]; }

# ---- JSON

# json_eval FILE EXPR: prints the Python EXPR on the JSON in FILE ("-": stdin) as j; "; "-separated statements may come first
json_eval() {
    $PY -c 'import json,sys
ns = {"j": json.load(sys.stdin if sys.argv[1] == "-" else open(sys.argv[1]))}
*pre, last = sys.argv[2].split("; ")
exec("\n".join(pre), ns)
print(eval(last, ns))' "$1" "$2"
}

# json_at URL EXPR: prints json_eval's EXPR on the JSON URL answers with (or the error)
json_at() { http "$1" 2>/dev/null | json_eval - "$2" 2>&1; }

# jcheck NAME FILE EXPR: a check that passes when json_eval prints True for EXPR on FILE
jcheck() {
    local got
    got=$(json_eval "$2" "$3" 2>&1)
    if [ "$got" = "True" ]; then ok "$1"; else fail "$1" "$3 -> $got" "$(head -c 1500 "$2")"; fi
}

# ---- perfkit monitor agents (BASE is http://127.0.0.1:PORT)

# metric BASE NAME: prints the value of the unlabelled series NAME on BASE/metrics (empty if none)
metric() { http "$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n { print $2; exit }'; }

# samples_at_least BASE N: succeeds when BASE's agent has taken N samples (perfkit_agent_samples_total)
samples_at_least() { ge "$(metric "$1" perfkit_agent_samples_total)" "$2"; }

# errors_at_least BASE N: succeeds when BASE's agent has counted N store errors (perfkit_store_errors_total)
errors_at_least() { ge "$(metric "$1" perfkit_store_errors_total)" "$2"; }

# points_since BASE FROM_MS: prints how many node_load1 points BASE's /api/history has stamped at or after FROM_MS
points_since() {
    local from
    from=$(awk -v t="$2" 'BEGIN { printf "%.3f", t / 1000 }')
    json_at "$1/api/history?metric=node_load1&from=$from" 'len(j["points"])'
}

# has_points_since BASE FROM_MS N: succeeds when points_since BASE FROM_MS is at least N
has_points_since() { ge "$(points_since "$1" "$2")" "$3"; }

# db_check DB: prints "INTEGRITY N": PRAGMA integrity_check's answer ("ok") and the samples of node_load1 in the history DB
db_check() {
    $PY - "$1" <<'PY' 2>&1
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
ic = c.execute("pragma integrity_check").fetchone()[0]
# a frame per sample of the current minute (each holds every series), a chunk per
# series and finished minute (10 bytes per sample after a format byte)
n = c.execute("select (select count(*) from frames) + coalesce((select sum((length(data) - 1) / 10)"
              " from chunks where series = (select id from series where key = 'node_load1')), 0)").fetchone()[0]
print(ic, n)
PY
}

# ---- mounts

# mount_ns "$@": first thing in a test that mounts: re-runs it in a private mount namespace; PK_MOUNT_NS says root, userns or none
mount_ns() {
    [ -n "${PK_MOUNT_NS:-}" ] && return 0
    # The mounts then vanish with the script even if it is killed; the network
    # namespace is shared, so loopback reaches its servers as usual.
    if unshare -m --propagation private true 2>/dev/null; then
        rm -rf "$TMP"
        trap - EXIT
        PK_MOUNT_NS=root exec unshare -m --propagation private bash "$0" "$@"
    elif unshare -r -m --propagation private true 2>/dev/null; then
        rm -rf "$TMP"
        trap - EXIT
        PK_MOUNT_NS=userns exec unshare -r -m --propagation private bash "$0" "$@"
    fi
    PK_MOUNT_NS=none  # mount in place (root only); tests unmount with on_exit
}
