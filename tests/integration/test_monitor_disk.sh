#!/usr/bin/env bash
# perfkit monitor when its history cannot be written, end to end on the real
# binary: "a full disk or read-only database is logged and counted
# (perfkit_store_errors_total); sampling, serving and alerting go on, and
# writing resumes when it can" (docs/monitor.md, docs/monitor-store.md).
#
#  1. A full disk: the agent's --db on a real 8 MiB tmpfs, filled with dd
#     until ENOSPC while the agent runs, then emptied again.
#  2. A read-only file system: the --db on a loop-mounted ext4 image with
#     errors=remount-ro, which the kernel turns read-only under the running
#     agent (ext4's trigger_fs_error); then, as after a restart, a fresh agent
#     on the same file system mounted read-only, remounted read-write while
#     the agent runs.
#
# Everything runs in a private mount namespace (lib.sh's mount_ns), so the
# mounts are invisible to other tests and vanish with the script even if it is
# killed. Mounting needs root (or an unprivileged user namespace for the
# tmpfs); without it the parts are skipped with a message. Every wait is
# bounded (20 s), every agent has a --duration.
. "$(dirname "$0")/lib.sh"
mount_ns "$@"

FS1="$TMP/fs1"
FS2="$TMP/fs2"
alert_firing() {
    [ "$(json_at "$1/api/alerts" 'any(a["alertname"] == "StoreFailing" and a["state"] == "firing" for a in j)')" = True ]
}
# load1_times DB T1 T2: whether node_load1 has samples before T1, and at or after T2 (ms),
# decoded from the store's rows (docs/monitor-store.md): chunks (per sample a u16 of ms into
# the minute and an f64, after a format byte) and frames (per series a u32 id and an f64)
load1_times() {
    $PY - "$@" <<'PY' 2>&1
import sqlite3, struct, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
sid = c.execute("select id from series where key = 'node_load1'").fetchone()[0]
ts = []
for cid, data in c.execute("select id, data from chunks where series = ?", (sid,)):
    ts += [(cid & 0xffffffff) * 60000 + struct.unpack_from("<H", data, i)[0] for i in range(1, len(data), 10)]
for t, data in c.execute("select ts, data from frames"):
    ts += [t for i in range(1, len(data), 12) if struct.unpack_from("<I", data, i)[0] == sid]
print(any(t < int(sys.argv[2]) for t in ts), any(t >= int(sys.argv[3]) for t in ts))
PY
}
# log_count FILE PATTERN: lines of FILE matching the extended regex
log_count() { grep -cE -- "$2" "$1" 2>/dev/null; }

# ======================================================================
# 1. A full disk
# ======================================================================
mkdir -p "$FS1"
on_exit umount -q "$FS1"
if ! mount -t tmpfs -o size=8m,mode=0755 pk-disk-test "$FS1" 2>"$TMP/mount.err"; then
    ok "full disk: skipped: cannot mount a tmpfs here (namespace: $PK_MOUNT_NS): $(cat "$TMP/mount.err")"
    ok "read-only file system: skipped for the same reason"
    finish
    exit
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
umount "$FS1"

# ======================================================================
# 2. A read-only file system
# ======================================================================
# A mount with files open for writing cannot be remounted read-only
# (EBUSY), and chmod does not touch open descriptors: the real way a file
# system turns read-only under a running program is the kernel's, after an
# error (errors=remount-ro). ext4 can be told to report one.
IMG="$TMP/ext4.img"
mkdir -p "$FS2"
on_exit umount -q "$FS2"
skip2=""
if ! command -v mkfs.ext4 >/dev/null; then
    skip2="mkfs.ext4 is not installed"
elif ! truncate -s 16M "$IMG" || ! mkfs.ext4 -q -F -O ^has_journal "$IMG" >"$TMP/mkfs.out" 2>&1; then
    skip2="mkfs.ext4 failed: $(cat "$TMP/mkfs.out")"
elif ! mount -o loop,errors=remount-ro "$IMG" "$FS2" 2>"$TMP/mount.err"; then
    skip2="cannot loop-mount an ext4 image (namespace: $PK_MOUNT_NS): $(cat "$TMP/mount.err")"
else
    DEV=$(findmnt -n -o SOURCE --mountpoint "$FS2")
    TRIGGER="/sys/fs/ext4/${DEV##*/}/trigger_fs_error"
    [ -w "$TRIGGER" ] || skip2="the kernel has no $TRIGGER"
fi
if [ -n "$skip2" ]; then
    ok "read-only file system: skipped: $skip2"
    finish
    exit
fi

# ---- 2a. read-only under the running agent
PORT=$(free_port)
B="http://127.0.0.1:$PORT"
T_B=$(now_ms)
start_bg "$PERFKIT" monitor --no-default-rules --interval 1s --listen "127.0.0.1:$PORT" --db "$FS2/m.db" --duration 90s \
    2>"$TMP/agent2.log"
AGENT=$BG_PID
if wait_for 20 http_ok "$B/ready"; then
    ok "read-only: the agent becomes ready on the ext4 image"
else
    fail "read-only: the agent becomes ready on the ext4 image" "$(tail -5 "$TMP/agent2.log")"
fi
wait_for 20 has_points_since "$B" "$T_B" 2
# what was stored so far reaches the image: the error below drops unwritten pages
sync -f "$FS2/m.db"
S0=$(metric "$B" perfkit_agent_samples_total)
E0=$(metric "$B" perfkit_store_errors_total)
echo "perfkit test_monitor_disk: going read-only" >"$TRIGGER"
T_RO=$(now_ms)  # after: nothing stamped later can have been stored
out=$(touch "$FS2/probe" 2>&1)
contains "read-only: the kernel made the file system read-only" "$out" "Read-only file system"
if wait_for 20 errors_at_least "$B" $((${E0:-0} + 3)); then
    ok "read-only: perfkit_store_errors_total rises ($E0 -> $(metric "$B" perfkit_store_errors_total))"
else
    fail "read-only: perfkit_store_errors_total rises" "$E0 -> $(metric "$B" perfkit_store_errors_total)" \
        "$(tail -5 "$TMP/agent2.log")"
fi
S1=$(metric "$B" perfkit_agent_samples_total)
if ge "$S1" $((${S0:-0} + 3)); then ok "read-only: sampling goes on (samples $S0 -> $S1)"; else
    fail "read-only: sampling goes on" "samples $S0 -> $S1"; fi
contains "read-only: /health is 200" "$(http_code "$B/health")" 200
contains "read-only: /api/history serves what was stored, nothing after the error" \
    "$(json_at "$B/api/history?metric=node_load1&from=-5m" "len(j['points']) >= 1 and max(p[0] for p in j['points']) < $T_RO")" True
contains "read-only: the log names the store error" "$(cat "$TMP/agent2.log")" "store: $FS2/m.db: cannot store the sample"
stop_bg "$AGENT" 20
RC=$?
if [ "$RC" = 0 ]; then ok "read-only: SIGTERM: exit 0 (the last flush fails)"; else
    fail "read-only: SIGTERM: exit 0 (the last flush fails)" "exit $RC" "$(tail -5 "$TMP/agent2.log")"; fi

# ---- 2b. started on a read-only mount, made writable while it runs. The
# kernel will not remount an errored ext4 read-write while it is mounted, so,
# as an administrator would: unmount, mount again read-only, start the agent.
# The file is first closed cleanly, as a stopped agent leaves it: no m.db-wal,
# no m.db-shm, which SQLite cannot create on a read-only mount (the store then
# opens it immutable, read-only).
umount "$FS2"
if ! mount -o loop,errors=remount-ro "$IMG" "$FS2" 2>"$TMP/mount.err" ||
    ! $PY -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("SELECT count(*) FROM series").fetchone(); c.close()' \
        "$FS2/m.db" 2>>"$TMP/mount.err" ||
    ! mount -o remount,ro "$FS2" 2>>"$TMP/mount.err"; then
    die "read-only: mount the image again, read-only" "$(cat "$TMP/mount.err")"
fi
check "read-only mount: the file was closed cleanly (no m.db-wal, no m.db-shm)" \
    sh -c "[ ! -e '$FS2/m.db-wal' ] && [ ! -e '$FS2/m.db-shm' ]"
PORT=$(free_port)
C="http://127.0.0.1:$PORT"
start_bg "$PERFKIT" monitor --no-default-rules --interval 1s --listen "127.0.0.1:$PORT" --db "$FS2/m.db" --duration 90s \
    2>"$TMP/agent3.log"
AGENT=$BG_PID
if wait_for 20 errors_at_least "$C" 2; then
    ok "read-only mount: the agent runs, each sample counted as a store error"
else
    fail "read-only mount: the agent runs, each sample counted as a store error" \
        "errors: $(metric "$C" perfkit_store_errors_total)" "$(tail -5 "$TMP/agent3.log")"
fi
contains "read-only mount: /health is 200" "$(http_code "$C/health")" 200
contains "read-only mount: /ready is 503 (nothing stored yet, as documented)" "$(http_code "$C/ready")" 503
contains "read-only mount: /api/history serves the history from before the error" \
    "$(json_at "$C/api/history?metric=node_load1&from=-5m" "len(j['points']) >= 1 and max(p[0] for p in j['points']) < $T_RO")" True
contains "read-only mount: the log says the database is read-only" "$(cat "$TMP/agent3.log")" \
    "cannot store the sample: the database is read-only"
check "read-only mount: remount it read-write while the agent runs" mount -o remount,rw "$FS2"
T_RW=$(now_ms)
if wait_for 20 has_points_since "$C" "$T_RW" 2; then
    ok "read-only mount: remounted read-write, writing resumes (points stamped after the remount)"
else
    fail "read-only mount: remounted read-write, writing resumes" "$(points_since "$C" "$T_RW") points" \
        "$(tail -5 "$TMP/agent3.log")"
fi
contains "read-only mount: /ready is 200 once a sample is stored" "$(http_code "$C/ready")" 200
E_C=$(metric "$C" perfkit_store_errors_total)
contains "read-only mount: the log says writing resumed" "$(cat "$TMP/agent3.log")" \
    "store: writing again after $E_C failed samples"
stop_bg "$AGENT" 20
RC=$?
if [ "$RC" = 0 ]; then ok "read-only mount: SIGTERM: exit 0"; else
    fail "read-only mount: SIGTERM: exit 0" "exit $RC" "$(tail -5 "$TMP/agent3.log")"; fi
got=$(db_check "$FS2/m.db")
contains "read-only mount: PRAGMA integrity_check ok" "$got" "ok "
contains "read-only mount: the file holds the samples from before the error and after the remount" \
    "$(load1_times "$FS2/m.db" "$T_RO" "$T_RW")" "True True"

finish
