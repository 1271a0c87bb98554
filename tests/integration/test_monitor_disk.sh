#!/usr/bin/env bash
# perfkit monitor when its disk is full, end to end on the real binary: "a full
# disk or read-only database is logged and counted (perfkit_store_errors_total);
# sampling, serving and alerting go on, and writing resumes when it can"
# (docs/monitor.md, docs/monitor-store.md). The agent's --db is on a real
# 8 MiB tmpfs, filled with dd until ENOSPC while the agent runs, then emptied
# again. The read-only case is test_monitor_readonly.sh.
#
# Everything runs in a private mount namespace (lib.sh's mount_ns), so the
# mount is invisible to other tests and vanishes with the script even if it is
# killed. Mounting needs root (or an unprivileged user namespace for the
# tmpfs); without it the test is skipped. Every wait is bounded (20 s), every
# agent has a --duration.
. "$(dirname "$0")/lib.sh"
mount_ns "$@"

FS1="$TMP/fs1"
alert_firing() {
    [ "$(json_at "$1/api/alerts" 'any(a["alertname"] == "StoreFailing" and a["state"] == "firing" for a in j)')" = True ]
}
# log_count FILE PATTERN: lines of FILE matching the extended regex
log_count() { grep -cE -- "$2" "$1" 2>/dev/null; }

mkdir -p "$FS1"
on_exit umount -q "$FS1"
if ! mount -t tmpfs -o size=8m,mode=0755 pk-disk-test "$FS1" 2>"$TMP/mount.err"; then
    skip "cannot mount a tmpfs here (namespace: $PK_MOUNT_NS): $(cat "$TMP/mount.err")"
fi

cat >"$TMP/m.conf" <<'EOF'
# fires only while the history cannot be written: alerting must go on
interval 1s
default-rules off
alert StoreFailing: perfkit_store_errors_total > 0 for 2s severity warning
EOF
expect_exit 0 "--check-config accepts a rule on perfkit_store_errors_total" \
    "$PERFKIT" monitor --config "$TMP/m.conf" --check-config

PORT=$(free_port)
A="http://127.0.0.1:$PORT"
ONALERT="$TMP/on-alert.txt"
start_bg "$PERFKIT" monitor --config "$TMP/m.conf" --listen "127.0.0.1:$PORT" --db "$FS1/m.db" --duration 90s \
    --on-alert "echo \"\$PERFKIT_ALERT_NAME \$PERFKIT_ALERT_STATE\" >>'$ONALERT'" 2>"$TMP/agent1.log"
AGENT=$BG_PID
if wait_for 20 http_ok "$A/ready"; then
    ok "full disk: the agent becomes ready on the tmpfs"
else
    fail "full disk: the agent becomes ready on the tmpfs" "$(tail -5 "$TMP/agent1.log")"
fi
S0=$(metric "$A" perfkit_agent_samples_total)
E0=$(metric "$A" perfkit_store_errors_total)
T0=$(json_at "$A/api/status" 'j["ts_ms"]')
contains "full disk: no store error before the disk fills (perfkit_store_errors_total 0)" "E0=$E0" "E0=0"
contains "full disk: the StoreFailing alert is not firing yet" \
    "$(json_at "$A/api/alerts" 'any(a["alertname"] == "StoreFailing" and a["state"] == "firing" for a in j)')" False

# fill it: dd stops at ENOSPC
dd if=/dev/zero of="$FS1/filler" bs=64k status=none 2>"$TMP/dd.err"
contains "full disk: dd stopped at ENOSPC" "$(cat "$TMP/dd.err")" "No space left on device"
contains "full disk: statvfs says 0 bytes available" \
    "$($PY -c 'import os,sys; print("avail", os.statvfs(sys.argv[1]).f_bavail)' "$FS1")" "avail 0"
T_FULL=$(now_ms)

# every sample from now on fails; wait for three of them to be counted
if wait_for 20 errors_at_least "$A" 3; then
    ok "full disk: perfkit_store_errors_total rises (to $(metric "$A" perfkit_store_errors_total))"
else
    fail "full disk: perfkit_store_errors_total rises" "now $(metric "$A" perfkit_store_errors_total)" \
        "$(tail -5 "$TMP/agent1.log")"
fi
S1=$(metric "$A" perfkit_agent_samples_total)
if ge "$S1" $((${S0:-0} + 3)); then ok "full disk: sampling goes on (samples $S0 -> $S1)"; else
    fail "full disk: sampling goes on" "samples $S0 -> $S1"; fi
T1=$(json_at "$A/api/status" 'j["ts_ms"]')
if ge "$T1" $((${T0:-0} + 2000)) && ge "$T1" "$T_FULL"; then
    ok "full disk: /api/status carries a sample taken after the fill"
else
    fail "full disk: /api/status carries a sample taken after the fill" "ts_ms $T0 -> $T1, disk full at $T_FULL"
fi
contains "full disk: /health is 200" "$(http_code "$A/health")" 200
contains "full disk: /health: alive, last sample under 3 s old" \
    "$(json_at "$A/health" 'j["status"] == "alive" and j["last_sample_age_s"] < 3')" True
contains "full disk: /api/history still serves what was stored" \
    "$(json_at "$A/api/history?metric=node_load1&from=-5m" 'len(j["points"]) >= 1')" True
if wait_for 20 alert_firing "$A"; then ok "full disk: /api/alerts: StoreFailing is firing"; else
    fail "full disk: /api/alerts: StoreFailing is firing" "$(http "$A/api/alerts" | head -c 600)"; fi
wait_for 10 grep -q "StoreFailing firing" "$ONALERT" 2>/dev/null
contains "full disk: --on-alert ran for it" "$(cat "$ONALERT" 2>/dev/null)" "StoreFailing firing"
contains "full disk: the alert is logged" "$(cat "$TMP/agent1.log")" "alert StoreFailing firing"
contains "full disk: the log names the store error" "$(cat "$TMP/agent1.log")" \
    "store: $FS1/m.db: cannot store the sample: database or disk is full"
# the agent logs the first failure and then every 60th (src/monitor/agent.c)
EF=$(metric "$A" perfkit_store_errors_total)
n=$(log_count "$TMP/agent1.log" 'perfkit monitor: store: .*cannot')
if [ "$n" = 1 ] && ge "$EF" 3; then ok "full disk: one log line for $EF failed samples, not one each"; else
    fail "full disk: one log line for $EF failed samples, not one each" "$n lines" "$(tail -5 "$TMP/agent1.log")"; fi

# empty it: the next samples are stored again
rm -f "$FS1/filler"
T_RM=$(now_ms)
if wait_for 20 has_points_since "$A" "$T_RM" 2; then
    ok "full disk: writing resumes: /api/history gains points stamped after the filler went"
else
    fail "full disk: writing resumes: /api/history gains points stamped after the filler went" \
        "$(points_since "$A" "$T_RM") points" "$(tail -5 "$TMP/agent1.log")"
fi
E2=$(metric "$A" perfkit_store_errors_total)
# two more samples (1 s apart), each of which could have failed
wait_for 10 samples_at_least "$A" $(($(metric "$A" perfkit_agent_samples_total) + 2))
E3=$(metric "$A" perfkit_store_errors_total)
if [ -n "$E2" ] && [ "$E2" = "$E3" ]; then ok "full disk: no more errors counted ($E2)"; else
    fail "full disk: no more errors counted" "$E2 -> $E3"; fi
contains "full disk: the log says writing resumed after every counted failure" "$(cat "$TMP/agent1.log")" \
    "store: writing again after $E3 failed samples"

# ---- stop: exit 0, a sound file holding every sample that was not counted as failed
S_END=$(metric "$A" perfkit_agent_samples_total)
E_END=$(metric "$A" perfkit_store_errors_total)
stop_bg "$AGENT" 20
RC=$?
if [ "$RC" = 0 ]; then ok "full disk: SIGTERM: exit 0"; else
    fail "full disk: SIGTERM: exit 0" "exit $RC" "$(tail -5 "$TMP/agent1.log")"; fi
got=$(db_check "$FS1/m.db")
contains "full disk: PRAGMA integrity_check ok" "$got" "ok "
N=${got#ok }
# /metrics showed samples S_END and errors E_END of the samples before the one
# it was rendered at; that one and at most one more came before the SIGTERM
S_END=${S_END:-0} E_END=${E_END:-0}
if ge "$N" $((S_END - E_END)) && ge $((S_END - E_END + 2)) "$N"; then
    ok "full disk: stored + failed = taken ($N rows of node_load1, $S_END samples, $E_END failed)"
else
    fail "full disk: stored + failed = taken" "$N rows of node_load1, $S_END samples, $E_END failed"
fi

finish
