#!/usr/bin/env bash
# perfkit bench end to end: accuracy, hyperfine-compatible exports, hooks,
# parameters, baselines and the regression gate, bad input, Ctrl-C.
# A quoted 'sleep N' is a command being benchmarked, never a wait.
. "$(dirname "$0")/lib.sh"
TOUCH="$PK_BUILD/tests/helpers/pk_touch_mem"

# ---- accuracy: 'sleep 0.05' as perfkit times it is what a bare posix_spawn +
# wait4 loop (tests/helpers/spawn_time.c) times of the same command, the two
# taking turns, two runs each, after a warm-up each, in this test and under
# whatever load the machine has. Load only ever delays a run, by chance: the
# shortest runs, those it spared, agree within 1 ms, the medians within 5 ms
# (with both cores busy they move by a few ms from one sample to the next).
SPAWN_TIME="$PK_BUILD/tests/helpers/pk_spawn_time"
: >"$TMP/pk.times"
: >"$TMP/bare.times"
for round in 1 2 3 4 5 6 7 8 9 10; do
    "$PERFKIT" bench -N --warmup 1 --runs 2 --style none --export-json "$TMP/sleep.json" 'sleep 0.05' \
        >/dev/null 2>&1 &&
        $PY -c "import json; print('\n'.join(map(str, json.load(open('$TMP/sleep.json'))['results'][0]['times'])))" \
            >>"$TMP/pk.times"
    "$SPAWN_TIME" 3 sleep 0.05 | tail -n 2 >>"$TMP/bare.times"
done
check "sleep 0.05: perfkit's times are a bare spawn loop's (shortest within 1 ms, medians 5 ms)" \
    $PY - "$TMP/pk.times" "$TMP/bare.times" <<'PY'
import statistics, sys
pk = [float(x) for x in open(sys.argv[1]).read().split()]
bare = [float(x) for x in open(sys.argv[2]).read().split()]
assert len(pk) == 20 and len(bare) == 20, (len(pk), len(bare))
assert min(pk) >= 0.050, min(pk)  # a run never takes less than its sleep
dmin, dmed = min(pk) - min(bare), statistics.median(pk) - statistics.median(bare)
assert abs(dmin) <= 0.001 and abs(dmed) <= 0.005, \
    "shortest %+.4f s, median %+.4f s (perfkit %s, bare %s)" % (dmin, dmed, sorted(pk), sorted(bare))
print("shortest %+.4f s, median %+.4f s" % (dmin, dmed))
PY

# ---- accuracy: a program touching 100 MiB reports its own peak RSS within 5 %
"$PERFKIT" bench -N --runs 5 --export-json "$TMP/mem.json" "$TOUCH 100" 'true' >/dev/null 2>&1
check "100 MiB toucher: peak RSS within 5 % of 100 MiB, and true's stays small" $PY - "$TMP/mem.json" <<'PY'
import json, sys, statistics
res = json.load(open(sys.argv[1]))["results"]
peaks = res[0]["memory_usage_byte"]
assert len(peaks) == 5
m = statistics.median(peaks)
assert abs(m - 100 * 2**20) <= 0.05 * 100 * 2**20, m
# each run is measured alone: the small command after it is not charged the big peak
assert max(res[1]["memory_usage_byte"]) < 20 * 2**20, res[1]["memory_usage_byte"]
PY

# ---- hyperfine's JSON schema, perfkit's added keys, and the context block
"$PERFKIT" bench --runs 4 -L n 1,2 --export-json "$TMP/p.json" --export-csv "$TMP/p.csv" \
    --export-markdown "$TMP/p.md" 'sleep 0.00{n}' >"$TMP/p.txt" 2>&1
check "JSON export: hyperfine keys, parameters, context, comparisons" $PY - "$TMP/p.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
res = d["results"]
assert [r["command"] for r in res] == ["sleep 0.001", "sleep 0.002"], [r["command"] for r in res]
for r in res:
    for k in ("command", "mean", "stddev", "median", "user", "system", "min", "max", "times",
              "exit_codes", "memory_usage_byte", "parameters"):
        assert k in r, k
    assert len(r["times"]) == 4 and r["exit_codes"] == [0] * 4
    assert r["min"] <= r["median"] <= r["max"]
assert res[0]["parameters"] == {"n": "1"} and res[1]["parameters"] == {"n": "2"}
ctx = d["context"]
for k in ("host", "kernel", "cpu_model", "cpus", "perfkit_version", "date"):
    assert k in ctx, k
assert "comparisons" in d
PY
contains "CSV export: hyperfine header with parameter column" "$(head -n 1 "$TMP/p.csv")" \
    "command,mean,stddev,median,user,system,min,max,parameter_n"
contains "Markdown export: hyperfine table" "$(cat "$TMP/p.md")" "| Command | Mean"

# ---- -P scan with -D, command names with parameters, stdout export
expect_exit 0 "-P scan and -n with {param}" "$PERFKIT" bench -N --runs 2 -P x 1 3 -D 2 -n 'step {x}' \
    --export-json - 'sleep 0.00{x}'
# With an export on stdout, stdout carries the JSON alone (the summary goes to stderr).
"$PERFKIT" bench -N --runs 2 -P x 1 3 -D 2 -n 'step {x}' --export-json - 'sleep 0.00{x}' 2>/dev/null |
    $PY -c '
import json, sys
d = json.load(sys.stdin)
names = [r["command"] for r in d["results"]]
assert names == ["step 1", "step 3"], names
' && ok "-P values and names; stdout holds only the JSON" || fail "-P values and names; stdout holds only the JSON"

# ---- comparison line with CI and p-value
expect_exit 0 "two commands compared" "$PERFKIT" bench -N --runs 12 'sleep 0.01' 'sleep 0.03'
contains "comparison says which is faster, with CI and p" "$OUT" "× faster than sleep 0.03 (95% CI"

# ---- hooks run in order: setup, prepare before each run, conclude after, cleanup
rm -f "$TMP/log"
expect_exit 0 "hooks" "$PERFKIT" bench --runs 3 --warmup 1 -s "echo setup >> $TMP/log" \
    -p "echo prepare >> $TMP/log" -C "echo conclude >> $TMP/log" -c "echo cleanup >> $TMP/log" true
contains "hook order" "$(tr '\n' ' ' < "$TMP/log")" \
    "setup prepare conclude prepare conclude prepare conclude prepare conclude cleanup"

# ---- shell commands: overhead subtracted, pipes work
expect_exit 0 "shell command with a pipe" "$PERFKIT" bench --runs 3 --export-json "$TMP/sh.json" 'echo hi | cat'
check "shell overhead recorded" $PY -c "
import json; r = json.load(open('$TMP/sh.json'))['results'][0]
assert r['statistics']['shell_overhead'] > 0, r['statistics']"

# ---- --output and --input
echo "from-input" > "$TMP/in.txt"
expect_exit 0 "--input feeds stdin, --output FILE keeps stdout" "$PERFKIT" bench -N --runs 2 \
    --input "$TMP/in.txt" --output "$TMP/out.txt" cat
contains "--output FILE has every run's output" "$(cat "$TMP/out.txt")" "from-input
from-input"
expect_exit 0 "--output pipe" "$PERFKIT" bench -N --runs 2 --output pipe "seq 100000"

# ---- interleave
expect_exit 0 "--interleave" "$PERFKIT" bench -N --runs 3 --interleave --export-json "$TMP/i.json" 'sleep 0.001' true
check "--interleave measured both" $PY -c "
import json; d = json.load(open('$TMP/i.json'))
assert [len(r['times']) for r in d['results']] == [3, 3]"

# ---- baselines: save, compare, and the regression gate. The gaps are wide
# (2 x slower, 5 x faster) so that no load on the machine turns a verdict:
# a busy machine only ever adds to a run's time, by a few ms.
expect_exit 0 "save a baseline" "$PERFKIT" bench -N --runs 12 -n job --save-baseline "$TMP/base.json" 'sleep 0.05'
expect_exit 0 "same speed: no change" "$PERFKIT" bench -N --runs 12 -n job --baseline "$TMP/base.json" \
    --threshold 30% --fail-on-regression 'sleep 0.05'
contains "verdict no change" "$OUT" "no change"
expect_exit 3 "slower: regression exits 3" "$PERFKIT" bench -N --runs 12 -n job --baseline "$TMP/base.json" \
    --fail-on-regression 'sleep 0.1'
contains "verdict slower" "$OUT" "slower"
expect_exit 0 "faster is not a regression" "$PERFKIT" bench -N --runs 12 -n job --baseline "$TMP/base.json" \
    --fail-on-regression 'sleep 0.01'
contains "verdict faster" "$OUT" "faster"

# ---- bad input: usage errors name what was wrong
expect_exit 2 "unknown option" "$PERFKIT" bench --bogus true
contains "unknown option named" "$OUT" "--bogus"
expect_exit 2 "bad duration" "$PERFKIT" bench --min-time 5x true
contains "bad duration named" "$OUT" "--min-time: invalid duration '5x'"
expect_exit 2 "bad run count" "$PERFKIT" bench --runs abc true
contains "bad count named" "$OUT" "--runs"
expect_exit 2 "no command" "$PERFKIT" bench --runs 3
expect_exit 2 "command not found before timing" "$PERFKIT" bench -N no-such-command-xyz
contains "not-found names it" "$OUT" "no-such-command-xyz: command not found"
expect_exit 2 "unwritable export path before timing" "$PERFKIT" bench --export-json /nonexistent/dir/x.json 'sleep 5'
contains "export path named" "$OUT" "/nonexistent/dir/x.json"
printf '{"results": [{"command": "x", "times": ["a"]}]}' > "$TMP/bad.json"
expect_exit 2 "malformed baseline before timing" "$PERFKIT" bench --baseline "$TMP/bad.json" 'sleep 5'
contains "baseline error names the key" "$OUT" "times"
expect_exit 2 "unterminated quote" "$PERFKIT" bench -N "echo 'oops"
contains "quote error" "$OUT" "unterminated single quote"

# ---- a failing command stops the run, shows its status and stderr tail; -i keeps going
expect_exit 1 "failing command" "$PERFKIT" bench --runs 3 'echo boom-on-stderr >&2; exit 7'
contains "exit status shown" "$OUT" "exited with status 7"
contains "stderr tail shown" "$OUT" "boom-on-stderr"
expect_exit 0 "-i ignores failures" "$PERFKIT" bench -i --runs 3 --export-json "$TMP/f.json" "$TOUCH 1 3"
check "-i: exit codes recorded" $PY -c "
import json; r = json.load(open('$TMP/f.json'))['results'][0]; assert r['exit_codes'] == [3, 3, 3], r"
# Without -i, a failed command is no result (hyperfine lists only the
# benchmarks it finished, and its scripts break on a null mean): it and the
# commands that did not run are under 'incomplete'.
expect_exit 1 "a failing command among others" "$PERFKIT" bench -N --runs 3 --export-json "$TMP/f2.json" \
    --export-csv "$TMP/f2.csv" true "$TOUCH 1 3" 'echo later'
check "the failed command is no result; it and the rest are incomplete" $PY -c "
import json; d = json.load(open('$TMP/f2.json'))
assert [r['command'] for r in d['results']] == ['true'], d['results']
assert all(d['results'][0][k] is not None for k in ('mean', 'stddev', 'median', 'min', 'max', 'user', 'system'))
inc = d['incomplete']
assert [(i['command'], i['status']) for i in inc] == [('$TOUCH 1 3', 'failed'), ('echo later', 'not run')], inc
assert inc[0]['exit_code'] == 3 and inc[0]['phase'] == 'command' and inc[0]['times'] == [], inc[0]"
contains "the CSV has a row for the finished command only" "$(cut -d, -f1 "$TMP/f2.csv" | tr '\n' ' ')" "command true "

# ---- Ctrl-C: stops, prints and exports what was measured, exits 130
rm -f "$TMP/ticks"
start_bg "$PERFKIT" bench --runs 1000 -p "echo >> $TMP/ticks" --export-json "$TMP/int.json" 'sleep 0.05' \
    >"$TMP/int.txt" 2>&1
pid=$BG_PID
ticks_at_least() { [ "$(cat "$TMP/ticks" 2>/dev/null | wc -l)" -ge "$1" ]; }
wait_for 60 ticks_at_least 6 || fail "6 runs started within 60 s"
stop_bg "$pid" 10 INT
rc=$?
[ $rc -eq 130 ] && ok "SIGINT exits 130" || fail "SIGINT exits 130" "exit $rc" "$(tail -n 5 "$TMP/int.txt")"
check "SIGINT: partial results exported" $PY -c "
import json; r = json.load(open('$TMP/int.json'))['results'][0]
assert 5 <= len(r['times']) < 1000, len(r['times'])"
contains "SIGINT: summary printed" "$(cat "$TMP/int.txt")" "Time (mean"

# ---- hardware counters: per-run figures where the kernel allows, else one clear reason
expect_exit 0 "--counters never fails the benchmark" "$PERFKIT" bench -N --counters --runs 3 \
    --export-json "$TMP/ctr.json" 'sleep 0.001'
n=$(printf '%s\n' "$OUT" | grep -c "hardware counters unavailable" || true)
if [ "$n" -eq 1 ]; then
    ok "--counters refused: the reason is given once"
    contains "--counters: the reason is specific" "$OUT" "perf_event"
else
    check "--counters: per-run instructions exported" $PY -c "
import json; r = json.load(open('$TMP/ctr.json'))['results'][0]
ins = r['counters']['instructions']; assert len(ins) == 3 and all(v > 0 for v in ins), ins"
fi

# ---- parameters as hyperfine 1.15 makes them
# order: the commands vary fastest, then the first parameter, the last slowest
"$PERFKIT" bench -N --runs 1 -L x 1,2 -L y a,b --export-json "$TMP/ord.json" 'echo {x}{y}' 'echo B{x}{y}' >/dev/null 2>&1
check "-L order is hyperfine's" $PY -c "
import json; n = [r['command'] for r in json.load(open('$TMP/ord.json'))['results']]
assert n == ['echo 1a', 'echo B1a', 'echo 2a', 'echo B2a', 'echo 1b', 'echo B1b', 'echo 2b', 'echo B2b'], n"
# -P: negative bounds, and decimals written as hyperfine writes them
"$PERFKIT" bench -N --runs 1 -P x -1 1 -D 0.5 --export-json "$TMP/neg.json" 'echo {x}' >/dev/null 2>&1
check "-P negative bounds, hyperfine's decimals" $PY -c "
import json; v = [r['parameters']['x'] for r in json.load(open('$TMP/neg.json'))['results']]
assert v == ['-1', '-0.5', '0.0', '0.5', '1.0'], v"
# -L: a backslash-comma is a comma inside a value
"$PERFKIT" bench -N --runs 1 -L x 'a\,b,c' --export-json "$TMP/esc.json" "echo '{x}'" >/dev/null 2>&1
check "-L escaped comma" $PY -c "
import json; v = [r['parameters']['x'] for r in json.load(open('$TMP/esc.json'))['results']]
assert v == ['a,b', 'c'], v"
expect_exit 2 "-L: a parameter given twice" "$PERFKIT" bench -N --runs 1 -L x 1,2 -L x 3 'echo {x}'
contains "duplicate parameter named" "$OUT" "parameter 'x' is given twice"
# a bad second -P is a usage error, not a crash (its name is not perfkit's to free)
expect_exit 2 "-P twice, the second empty" "$PERFKIT" bench -N --runs 1 -P x 1 2 -P y 5 1 'echo {x}{y}'
contains "empty range named" "$OUT" "-P y: the upper bound is below the lower bound"
expect_exit 2 "-L then an empty -P" "$PERFKIT" bench -N --runs 1 -L x 1,2 -P y 5 1 'echo {x}{y}'
# -n: fewer names than commands (the others keep their command line); with
# parameters, one name per benchmark
"$PERFKIT" bench -N --runs 1 -n A --export-json "$TMP/n1.json" 'echo a' 'echo b' >/dev/null 2>&1
check "-n: fewer names than commands" $PY -c "
import json; n = [r['command'] for r in json.load(open('$TMP/n1.json'))['results']]
assert n == ['A', 'echo b'], n"
"$PERFKIT" bench -N --runs 1 -L x 1,2 -n A -n B --export-json "$TMP/n2.json" 'echo {x}' >/dev/null 2>&1
check "-n: one name per benchmark" $PY -c "
import json; n = [r['command'] for r in json.load(open('$TMP/n2.json'))['results']]
assert n == ['A', 'B'], n"
expect_exit 2 "-n: more names than commands" "$PERFKIT" bench -N --runs 1 -n A -n B -n C 'echo a' 'echo b'
contains "-n count named" "$OUT" "--command-name given 3 times"
# --prepare: once per benchmark (hyperfine), and a single one runs before the reference too
rm -f "$TMP/plog"
expect_exit 0 "--prepare once per benchmark" "$PERFKIT" bench --runs 1 -L x 1,2 \
    -p "echo p1-{x} >> $TMP/plog" -p "echo p2-{x} >> $TMP/plog" 'echo {x}'
contains "--prepare per benchmark ran in order" "$(tr '\n' ' ' < "$TMP/plog")" "p1-1 p2-2"
rm -f "$TMP/plog"
expect_exit 0 "--prepare with --reference" "$PERFKIT" bench --runs 1 --reference 'echo ref' \
    -p "echo p >> $TMP/plog" -C "echo c >> $TMP/plog" 'echo a'
contains "--reference gets --prepare and --conclude" "$(tr '\n' ' ' < "$TMP/plog")" "p c p c"

# ---- shells: builtins without an executable, and -S as a command line (as hyperfine)
expect_exit 0 "a shell builtin (:) runs through the shell" "$PERFKIT" bench --runs 2 ':'
expect_exit 0 "-S with arguments" "$PERFKIT" bench --runs 2 -S 'sh -e' 'true | true'
expect_exit 0 "-S default" "$PERFKIT" bench --runs 2 -S default 'true'
# The run count is planned on what a run takes, shell included: a command
# cheaper than the shell's overhead is neither run 10 times nor 100000 times.
# Checked against the run's own figures, not against what the machine should
# do: the count is ceil(0.5 s / the first run's whole time), which is the
# first time recorded plus the shell's cost subtracted from it.
"$PERFKIT" bench --warmup 2 --min-time 0.5 --max-runs 5000 --export-json "$TMP/plan.json" ': ; :' >/dev/null 2>&1
check "run count of a shell command follows --min-time" $PY -c "
import json, math; r = json.load(open('$TMP/plan.json'))['results'][0]
n, first, ov = len(r['times']), r['times'][0], r['statistics']['shell_overhead']
assert ov > 0 and n < 5000, (n, first, ov)
if first > 0:  # the first run took first + ov
    want = min(5000, max(10, math.ceil(0.5 / (first + ov))))
    assert want / 2 <= n <= want * 2, (n, want, first, ov)
else:  # it took at most ov (what it took less is floored at 0)
    assert n >= min(5000, math.ceil(0.5 / ov)) / 2, (n, first, ov)"

# ---- bad values are usage errors, found before anything runs or is written
expect_exit 2 "empty command" "$PERFKIT" bench --runs 1 ''
contains "empty command named" "$OUT" "empty command"
expect_exit 2 "--output that is a directory" "$PERFKIT" bench --runs 1 --output "$TMP" true
contains "--output named" "$OUT" "--output"
expect_exit 2 "--input that does not exist" "$PERFKIT" bench --runs 1 --input "$TMP/nope" true
contains "--input named" "$OUT" "--input"
expect_exit 2 "--warmup beyond its range" "$PERFKIT" bench --runs 1 -w 4294967296 true
printf '{"results": [{"command": "keep", "times": [1]}]}' > "$TMP/keep.json"
expect_exit 2 "a usage error writes nothing" "$PERFKIT" bench -N --save-baseline "$TMP/keep.json" \
    --export-csv "$TMP/none.csv" no-such-command-xyz
contains "the saved baseline is left as it was" "$(cat "$TMP/keep.json")" '"keep"'
[ ! -e "$TMP/none.csv" ] && ok "no export written on a usage error" || fail "no export written on a usage error"
expect_exit 1 "a failing command saves no baseline" "$PERFKIT" bench --runs 3 \
    --save-baseline "$TMP/keep.json" 'exit 1'
contains "the failed run's baseline was not written" "$(cat "$TMP/keep.json")" '"keep"'
if [ -w /dev/full ]; then
    "$PERFKIT" bench -N --runs 1 --export-json - true >/dev/full 2>/dev/null
    rc=$?
    [ $rc -eq 1 ] && ok "export to a full stdout exits 1" || fail "export to a full stdout exits 1" "exit $rc"
fi

# ---- baselines: two commands of one name meet their own results, in order
# (three times apart, so a mix-up is a verdict whatever the load)
expect_exit 0 "save a baseline with a repeated name" "$PERFKIT" bench -N --runs 8 -n job -n job \
    --save-baseline "$TMP/dup.json" 'sleep 0.04' 'sleep 0.12'
expect_exit 0 "a repeated name is compared with its own result" "$PERFKIT" bench -N --runs 8 -n job -n job \
    --baseline "$TMP/dup.json" --threshold 30% --fail-on-regression 'sleep 0.04' 'sleep 0.12'

# ---- context.command_line reads back as the words that were typed
"$PERFKIT" bench -N --runs 1 -n 'a|b' --export-json "$TMP/cl.json" "echo \"it's\"" >/dev/null 2>&1
check "context.command_line is quoted for a shell" $PY -c "
import json, shlex, sys; cl = json.load(open('$TMP/cl.json'))['context']['command_line']
want = ['perfkit', 'bench', '-N', '--runs', '1', '-n', 'a|b', '--export-json', '$TMP/cl.json', 'echo \"it\'s\"']
assert shlex.split(cl) == want, (cl, shlex.split(cl))"

# ---- help and version
expect_exit 0 "perfkit help bench" "$PERFKIT" help bench
contains "help lists --baseline" "$OUT" "--fail-on-regression"
expect_exit 0 "--version" "$PERFKIT" --version

finish
