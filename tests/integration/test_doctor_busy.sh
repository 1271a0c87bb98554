#!/usr/bin/env bash
# perfkit doctor on a live machine whose CPUs a process of the test keeps busy:
# the cpu.busy bottleneck names the processes using the CPU in the window, this
# one among them, with its pid. The busy loop is real (tests/integration/doctor/spin.c),
# with more threads than CPUs, and ends by itself after 60 s at most.
. "$(dirname "$0")/lib.sh"
SRC="$(dirname "$0")/doctor"
command -v cc >/dev/null 2>&1 || skip "no C compiler to build the busy loop"
cc -std=gnu11 -O1 -pthread "$SRC/spin.c" -o "$TMP/pkspin" || skip "the busy loop does not build here"
threads=$(($(nproc) * 2))

# comm_is PID NAME: PID runs the program NAME (after its exec)
comm_is() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
# threads_are PID N: PID has started its N threads
threads_are() { [ "$(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = "$2" ]; }
start_bg "$TMP/pkspin" "$threads" 60  # the CPU load under test
spin=$BG_PID
wait_for 5 comm_is "$spin" pkspin && wait_for 5 threads_are "$spin" "$threads" ||
    skip "the busy loop did not start its $threads threads"

"$PERFKIT" doctor --sample 1s --json "$TMP/d.json" >"$TMP/d.txt" 2>&1
rc=$?
busy=$(json_eval "$TMP/d.json" '[b for b in j["bottlenecks"] if b["id"] == "cpu.busy"]' 2>&1)
# Every CPU runs a thread of the loop unless a quota (a cgroup's cpu.max) holds it back.
[ "$busy" = "[]" ] && skip "$threads busy threads did not make the CPUs busy (a CPU quota?): $(cat "$TMP/d.txt" | tail -n 3)"

case $rc in 3|4) ok "a busy machine exits 3 or 4 (got $rc)" ;; *) fail "busy run exit" "$rc" "$(tail -n 5 "$TMP/d.txt")" ;; esac
jcheck "cpu.busy names the busy loop as a culprit, with its pid" "$TMP/d.json" \
    "b = [b for b in j['bottlenecks'] if b['id'] == 'cpu.busy'][0]; 'pkspin (pid $spin) ' in (b['culprit'] or '')"
jcheck "its advice names the busiest process, not a placeholder" "$TMP/d.json" \
    "b = [b for b in j['bottlenecks'] if b['id'] == 'cpu.busy'][0]; 'the busiest process' not in b['advice']"
contains "the text report names the busy loop on a culprit line" "$(grep 'culprit:' "$TMP/d.txt")" "pkspin (pid $spin)"
stop_bg "$spin"
finish
