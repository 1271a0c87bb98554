#!/usr/bin/env bash
# perfkit doctor on the live machine: structure, exit codes, fix script,
# per-process checks of a real process, and bad input. Values vary by machine;
# the verdicts themselves are unit-tested on recorded trees (test_doctor.c).
. "$(dirname "$0")/lib.sh"

"$PERFKIT" doctor --sample 1s --json "$TMP/d.json" --fix-script "$TMP/fix.sh" >"$TMP/d.txt" 2>&1
rc=$?
case $rc in 0|3|4) ok "live run exits 0, 3 or 4 (got $rc)" ;; *) fail "live run exit" "$rc" "$(tail -n 5 "$TMP/d.txt")" ;; esac
check "JSON: checks[] and bottlenecks[] with the documented keys; exit code matches the worst" $PY - "$TMP/d.json" "$rc" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); rc = int(sys.argv[2])
assert len(d["checks"]) >= 20, len(d["checks"])
for c in d["checks"]:
    for k in ("id", "area", "status", "observed", "recommended", "why", "fix", "persist", "skip_reason", "source"):
        assert k in c, (k, c)
    assert c["status"] in ("ok", "warn", "crit", "skipped")
    if c["status"] == "skipped":
        assert c["skip_reason"], c
    if c["status"] in ("warn", "crit"):
        assert c["fix"] or c["persist"], c
ids = {c["id"] for c in d["checks"]}
for want in ("fd.nofile.soft", "vm.swappiness", "net.core.somaxconn", "cpu.clocksource", "mm.thp.enabled"):
    assert want in ids, want
worst = d["summary"]["worst"]
assert {"ok": 0, "warn": 3, "crit": 4}[worst] == rc, (worst, rc)
PY
check "the fix script is valid shell" sh -n "$TMP/fix.sh"
contains "human output grouped by area" "$(cat "$TMP/d.txt")" "network"

# --pid: a real process with 5 descriptors over its 16-descriptor limit
# comm_is PID NAME: PID runs the program NAME (after its exec)
comm_is() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
limited_sleep() { ulimit -n 16; exec sleep 30; }  # the process under test: sleep only keeps it alive
start_bg limited_sleep
child=$BG_PID
wait_for 5 comm_is "$child" sleep
expect_exit 4 "--pid: a process near its open-files limit is critical" "$PERFKIT" doctor --sample 0.5s --pid $child
contains "--pid finding names the process" "$OUT" "sleep (pid $child)"
contains "--pid finding gives the fix" "$OUT" "prlimit --pid $child --nofile=65536:65536"
if printf '%s' "$OUT" | grep -qF "(in )"; then fail "no persistent fix without its file" "$(grep -F "(in )" <<<"$OUT")"; else ok "no persistent fix without its file"; fi
# --sample 0: no window, but the process's limit is still checked
"$PERFKIT" doctor --sample 0 --pid $child --json "$TMP/p0.json" >"$TMP/p0.txt" 2>&1
rc=$?
case $rc in 3|4) ok "--sample 0 --pid exits 3 or 4 (got $rc)" ;; *) fail "--sample 0 --pid exit" "$rc" "$(tail -n 5 "$TMP/p0.txt")" ;; esac
contains "--sample 0 keeps --pid's checks" "$(cat "$TMP/p0.txt")" "sleep (pid $child)"
jcheck "--sample 0: the limit checked, its persistent file named, the growth skipped for want of a window" "$TMP/p0.json" \
    "c = {x['id']: x for x in j['checks']}; c['process.nofile.$child']['status'] in ('warn', 'crit') and c['process.nofile.$child']['persist_file'].startswith('/etc/') and c['process.rss_growth.$child']['status'] == 'skipped' and '--sample 0' in c['process.rss_growth.$child']['skip_reason']"
stop_bg "$child"

# --process: by name, on a program with a name of its own
cp "$(command -v sleep)" "$TMP/pkdocsleep"
start_bg "$TMP/pkdocsleep" 30  # the process under test
child=$BG_PID
wait_for 5 comm_is "$child" pkdocsleep
"$PERFKIT" doctor --sample 0.5s --process pkdocsleep --json "$TMP/p.json" >/dev/null 2>&1
check "--process finds it and reports its descriptors and RSS" $PY - "$TMP/p.json" "$child" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); pid = sys.argv[2]
c = {x["id"]: x for x in d["checks"]}
nofile = c["process.nofile." + pid]
assert ("pkdocsleep (pid %s)" % pid) in nofile["observed"], nofile
assert c["process.rss_growth." + pid]["status"] in ("ok", "warn"), c["process.rss_growth." + pid]
PY
stop_bg "$child"

# bad input
expect_exit 2 "unknown option" "$PERFKIT" doctor --bogus
contains "unknown option named" "$OUT" "--bogus"
expect_exit 2 "bad --sample" "$PERFKIT" doctor --sample 3x
contains "bad --sample named" "$OUT" "--sample: invalid duration '3x'"
expect_exit 2 "--process that does not exist" "$PERFKIT" doctor --sample 0.2s --process no-such-process-xyz
contains "--process names it" "$OUT" "no-such-process-xyz"
expect_exit 2 "--procfs that does not exist" "$PERFKIT" doctor --procfs /nonexistent/proc
contains "--procfs named" "$OUT" "/nonexistent/proc"
expect_exit 2 "unwritable --json before any work" "$PERFKIT" doctor --json /nonexistent/dir/d.json
# Every output path is checked before the first reading: no report printed, the window never opened.
expect_exit 2 "unwritable --fix-script refused before any work" "$PERFKIT" doctor --sample 5s --json "$TMP/ok.json" --fix-script /nonexistent/dir/fix.sh
contains "unwritable --fix-script named" "$OUT" "--fix-script: /nonexistent/dir/fix.sh"
if printf '%s' "$OUT" | grep -q "worst:"; then fail "no report before the paths are checked" "$OUT"; else ok "no report before the paths are checked"; fi
[ -e "$TMP/ok.json" ] && fail "nothing written when another path is bad" || ok "nothing written when another path is bad"
mkdir -p "$TMP/adir"
expect_exit 2 "a directory as --json refused" "$PERFKIT" doctor --sample 5s --json "$TMP/adir"
contains "it says it is a directory" "$OUT" "directory"
expect_exit 2 "--json and --fix-script on one file refused" "$PERFKIT" doctor --sample 5s --json "$TMP/same" --fix-script "$TMP/same"
contains "the shared file named" "$OUT" "name the same file '$TMP/same'"

# A wrong root: no proc filesystem is a usage error; a run that reads too little is incomplete (5), never healthy.
mkdir -p "$TMP/empty"
expect_exit 2 "--procfs with neither stat nor meminfo" "$PERFKIT" doctor --sample 0 --procfs "$TMP/empty"
contains "--procfs: not a proc filesystem, named" "$OUT" "--procfs: $TMP/empty: not a proc filesystem"
expect_exit 2 "--procfs /tmp-like root with a window too" "$PERFKIT" doctor --sample 0.2s --procfs "$TMP/empty"
mkdir -p "$TMP/thin"
cp /proc/meminfo "$TMP/thin/meminfo"
expect_exit 5 "a procfs where most checks are skipped exits 5" "$PERFKIT" doctor --sample 0 --procfs "$TMP/thin" --json "$TMP/thin.json"
contains "it says the run is incomplete" "$OUT" "incomplete: "
contains "with how many checks were skipped" "$OUT" "checks skipped"
jcheck "JSON summary carries why it is incomplete" "$TMP/thin.json" "'checks skipped' in j['summary']['incomplete']"
expect_exit 5 "a --sysfs that is no sysfs exits 5" "$PERFKIT" doctor --sample 0 --sysfs "$TMP/empty"
contains "it names the --sysfs" "$OUT" "incomplete: --sysfs $TMP/empty holds no devices/system/cpu"
"$PERFKIT" doctor --sample 0 --json "$TMP/live.json" >/dev/null 2>&1
jcheck "the live machine is not incomplete" "$TMP/live.json" "j['summary']['incomplete'] is None"
expect_exit 0 "perfkit help doctor" "$PERFKIT" help doctor
contains "help lists --fix-script" "$OUT" "--fix-script"
finish
