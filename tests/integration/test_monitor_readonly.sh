#!/usr/bin/env bash
# perfkit monitor when its history's file system turns read-only, end to end on
# the real binary: "a full disk or read-only database is logged and counted
# (perfkit_store_errors_total); sampling, serving and alerting go on, and
# writing resumes when it can" (docs/monitor.md, docs/monitor-store.md).
#
#  a. The --db on a loop-mounted ext4 image with errors=remount-ro, which the
#     kernel turns read-only under the running agent (ext4's trigger_fs_error).
#  b. As after a restart, a fresh agent on the same file system mounted
#     read-only, remounted read-write while the agent runs.
#
# Everything runs in a private mount namespace (lib.sh's mount_ns), so the
# mounts are invisible to other tests and vanish with the script even if it is
# killed. Loop-mounting needs root, mkfs.ext4 and a kernel with ext4's
# trigger_fs_error; without them the test is skipped. Every wait is bounded
# (20 s), every agent has a --duration. The full-disk case is
# test_monitor_disk.sh.
. "$(dirname "$0")/lib.sh"
mount_ns "$@"

FS2="$TMP/fs2"
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
[ -n "$skip2" ] && skip "$skip2"

# ---- a. read-only under the running agent
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

# ---- b. started on a read-only mount, made writable while it runs. The
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
