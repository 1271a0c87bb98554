#!/usr/bin/env bash
# perfkit bench's regression gate: a baseline of millions of times finishes
# and answers Ctrl-C.
# A quoted 'sleep N' or 'true' is a command being benchmarked, never a wait.
. "$(dirname "$0")/lib.sh"

# ---- a baseline of 3 million times: the bootstrap is bounded, Ctrl-C is answered
$PY - "$TMP/big.json" <<'PY'
import sys
times = ",".join("%.7f" % (0.001 + (i % 997) * 1e-7) for i in range(3000000))
with open(sys.argv[1], "w") as f:
    f.write('{"results": [{"command": "job", "times": [%s]}]}' % times)
PY
# The reference for "quickly": reading the same file with Python's json, on
# this machine under its present load. perfkit parses it, compares with it
# and exports; before the bound on the bootstrap it took over 20 minutes.
t0=$(now_ms)
$PY -c 'import json, sys; json.load(open(sys.argv[1]))' "$TMP/big.json"
ref_ms=$(($(now_ms) - t0))
t0=$(now_ms)
OUT=$(timeout 600 "$PERFKIT" bench -N --runs 3 -n job --baseline "$TMP/big.json" --export-json "$TMP/big-out.json" true 2>&1)
rc=$?
took=$(($(now_ms) - t0))
[ $rc -eq 0 ] && ok "3 M baseline times: the comparison completes" || fail "3 M baseline times: the comparison completes" "exit $rc" "$OUT"
[ $took -le $((20 * ref_ms + 10000)) ] && ok "3 M baseline times: done in ${took} ms (json.load: ${ref_ms} ms)" ||
    fail "3 M baseline times: done in ${took} ms, over 20 x json.load (${ref_ms} ms) + 10 s"
contains "3 M baseline times: a verdict is printed" "$OUT" "ratio"

# ticks_at_least N: the hook below has run N times
ticks_at_least() { [ "$(cat "$TMP/ticks" 2>/dev/null | wc -l)" -ge "$1" ]; }

# interrupt NSIG GAP CMD: starts perfkit bench on CMD with the big baseline,
# a run count it would take hours to finish and a hook that counts runs; once
# a few runs are done (the baseline is loaded) sends SIGINT NSIG times GAP s
# apart. Sets RC (perfkit's exit status), AFTER (ms from the last signal to
# the exit) and BEFORE (ms from the start to the last signal).
interrupt() {
    local nsig=$1 gap=$2 t_start t_sig t_end pid i
    shift 2
    rm -f "$TMP/ticks"
    RC=none AFTER=999999999 BEFORE=0
    t_start=$(now_ms)
    start_bg "$PERFKIT" bench --runs 1000000 -p "echo >> $TMP/ticks" -n job --baseline "$TMP/big.json" \
        --export-json "$TMP/int.json" "$@" >"$TMP/int.txt" 2>&1
    pid=$BG_PID
    if ! wait_for 120 ticks_at_least 3; then
        stop_bg "$pid" 1
        return 1
    fi
    for ((i = 0; i < nsig; i++)); do
        [ "$i" -gt 0 ] && sleep "$gap"  # not a wait: the next Ctrl-C must come while the statistics run
        t_sig=$(now_ms)
        kill -INT "$pid" 2>/dev/null
    done
    wait_for 600 gone "$pid"
    t_end=$(now_ms)
    stop_bg "$pid" 1
    RC=$?
    AFTER=$((t_end - t_sig))
    BEFORE=$((t_sig - t_start))
}

# One Ctrl-C stops the runs; what was measured is compared with the 3 M times
# and exported. The bound is generous, against the process's own life before
# the signal (which includes reading the same baseline).
interrupt 1 0 true
[ "$RC" = 130 ] && ok "Ctrl-C with a 3 M baseline: exit 130" ||
    fail "Ctrl-C with a 3 M baseline: exit 130" "exit $RC" "$(tail -n 5 "$TMP/int.txt")"
[ "$AFTER" -le $((5000 + 2 * BEFORE)) ] && ok "Ctrl-C with a 3 M baseline: exits ${AFTER} ms after the signal" ||
    fail "Ctrl-C with a 3 M baseline: exits ${AFTER} ms after the signal, over 5 s + 2 x ${BEFORE} ms"
check "Ctrl-C with a 3 M baseline: the runs so far are exported" $PY -c "
import json; r = json.load(open('$TMP/int.json'))['results'][0]; assert len(r['times']) >= 3, r"

# A second Ctrl-C while the statistics are computed stops them too.
interrupt 2 0.2 true
[ "$RC" = 130 ] && ok "two Ctrl-C: exit 130" || fail "two Ctrl-C: exit 130" "exit $RC" "$(tail -n 5 "$TMP/int.txt")"
[ "$AFTER" -le $((5000 + 2 * BEFORE)) ] && ok "two Ctrl-C: exits ${AFTER} ms after the second" ||
    fail "two Ctrl-C: exits ${AFTER} ms after the second, over 5 s + 2 x ${BEFORE} ms"

finish
