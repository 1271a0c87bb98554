#!/usr/bin/env bash
# perfkit bench's regression gate: a command the baseline lacks and an empty
# baseline fail before anything runs; the gate metrics wall, cpu and
# instructions; a baseline of millions of times finishes and answers Ctrl-C.
# A quoted 'sleep N' or 'true' is a command being benchmarked, never a wait.
. "$(dirname "$0")/lib.sh"

# ---- what the gate cannot compare fails before anything runs (exit 2)
printf '{"results": [{"command": "job", "times": [0.01, 0.011, 0.012]}]}' >"$TMP/one.json"
printf '{"results": []}' >"$TMP/empty.json"
rm -f "$TMP/ran"
expect_exit 2 "--fail-on-regression: a command the baseline lacks" "$PERFKIT" bench --runs 3 -n renamed \
    -p "touch $TMP/ran" --baseline "$TMP/one.json" --fail-on-regression true
contains "the missing command is named, with what the baseline holds" "$OUT" \
    "no result for command 'renamed' (it holds 'job')"
[ ! -e "$TMP/ran" ] && ok "nothing ran" || fail "nothing ran"
expect_exit 2 "--fail-on-regression: an empty baseline" "$PERFKIT" bench --runs 3 -n job \
    -p "touch $TMP/ran" --baseline "$TMP/empty.json" --fail-on-regression true
contains "the empty baseline is named" "$OUT" "$TMP/empty.json: cannot gate on this baseline: it holds no results"
[ ! -e "$TMP/ran" ] && ok "nothing ran" || fail "nothing ran"
expect_exit 2 "--fail-on-regression: one result for two commands of its name" "$PERFKIT" bench --runs 3 \
    -n job -n job --baseline "$TMP/one.json" --fail-on-regression true true
contains "the count is named" "$OUT" "command 'job' is there 1 time(s), this run has it 2 times"
# Without the gate, the same is said and the run goes on.
expect_exit 0 "--baseline alone: a command the baseline lacks is reported" "$PERFKIT" bench --runs 3 -n renamed \
    --baseline "$TMP/one.json" true
contains "not in the baseline" "$OUT" "renamed"
expect_exit 0 "--baseline alone: an empty baseline is reported" "$PERFKIT" bench --runs 3 --baseline "$TMP/empty.json" true
contains "empty baseline reported" "$OUT" "it holds no results: nothing to compare"

# ---- --gate-metric: a command that spins tens of ms of CPU, against a
# baseline that took long on the wall but used almost no CPU. The wall gate
# sees it faster, the CPU gate slower, whatever the load on the machine.
SPIN='i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done'
$PY - "$TMP/cpu.json" <<'PY'
import json, sys
n = 12
json.dump({"results": [{"command": "spin", "times": [0.8 + i * 1e-3 for i in range(n)],
                        "user_times": [1e-4] * n, "system_times": [0.0] * n}]}, open(sys.argv[1], "w"))
PY
expect_exit 0 "--gate-metric wall: faster, no regression" "$PERFKIT" bench --runs 12 -n spin --baseline "$TMP/cpu.json" \
    --fail-on-regression "$SPIN"
contains "the metric is reported" "$OUT" "gate metric: wall time per run"
contains "wall: faster" "$OUT" "faster"
expect_exit 3 "--gate-metric cpu: slower, a regression" "$PERFKIT" bench --runs 12 -n spin --baseline "$TMP/cpu.json" \
    --gate-metric cpu --fail-on-regression --export-json "$TMP/gate.json" "$SPIN"
contains "the metric is reported" "$OUT" "gate metric: cpu (user + system time per run)"
contains "the regression names the metric" "$OUT" "(gate metric: cpu)"
check "the JSON export holds the gate: metric, verdict, ratio" $PY -c "
import json; g = json.load(open('$TMP/gate.json'))['baseline']
assert g['metric'] == 'cpu' and g['file'] == '$TMP/cpu.json' and g['fail_on_regression'] is True, g
c = g['comparisons'][0]
assert c['command'] == 'spin' and c['verdict'] == 'slower' and c['ratio_median'] > 10, c"
# A hyperfine export has no per-run CPU times: said before anything runs.
printf '{"results": [{"command": "spin", "times": [0.8], "user": 0.0001, "system": 0}]}' >"$TMP/hf.json"
expect_exit 2 "--gate-metric cpu on a baseline without per-run CPU times" "$PERFKIT" bench --runs 3 -n spin \
    --baseline "$TMP/hf.json" --gate-metric cpu "$SPIN"
contains "what is missing is named" "$OUT" "no per-run CPU times (user_times, system_times)"
expect_exit 2 "--gate-metric needs --baseline" "$PERFKIT" bench --runs 3 --gate-metric cpu true
expect_exit 2 "--gate-metric: an unknown metric" "$PERFKIT" bench --runs 3 --baseline "$TMP/cpu.json" --gate-metric cycles true
contains "the metric is named" "$OUT" "--gate-metric: 'cycles' is not wall, cpu or instructions"
# instructions: where the kernel gives hardware counters, a baseline of one
# instruction per run is a regression; elsewhere the run fails before timing.
$PY - "$TMP/ins.json" <<'PY'
import json, sys
json.dump({"results": [{"command": "spin", "times": [0.8] * 12, "counters": {"instructions": [1] * 12}}]},
          open(sys.argv[1], "w"))
PY
if "$PERFKIT" bench -N --counters --runs 1 true 2>&1 | grep -q "hardware counters unavailable"; then
    expect_exit 2 "--gate-metric instructions without hardware counters" "$PERFKIT" bench --runs 3 -n spin \
        --baseline "$TMP/ins.json" --gate-metric instructions "$SPIN"
    contains "the reason is given" "$OUT" "--gate-metric instructions: hardware counters unavailable"
else
    expect_exit 3 "--gate-metric instructions: a regression" "$PERFKIT" bench --runs 5 -n spin \
        --baseline "$TMP/ins.json" --gate-metric instructions --fail-on-regression "$SPIN"
    contains "the metric is reported" "$OUT" "gate metric: instructions per run"
fi

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
