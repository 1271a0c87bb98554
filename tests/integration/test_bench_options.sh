#!/usr/bin/env bash
# perfkit bench takes hyperfine 1.20's options with hyperfine's meanings, or
# refuses one with a message that says what to use instead (docs/bench.md
# has the table); unknown options are named as typed; every output path is
# checked before the first run.
# A quoted 'sleep N', 'true', 'echo' is a command being benchmarked, never a wait.
. "$(dirname "$0")/lib.sh"

# json_check FILE PYTHON: runs PYTHON with d = FILE's JSON
json_check() { $PY -c "import json, sys; d = json.load(open(sys.argv[1])); $2" "$1"; }

# ---- run counts: -M alone lowers the minimum; -r with -m/-M is refused
expect_exit 0 "-M 3 alone: three runs of a fast command" "$PERFKIT" bench -N -M 3 --export-json "$TMP/m.json" true
check "-M 3 alone ran 3 times" json_check "$TMP/m.json" "assert len(d['results'][0]['times']) == 3, d"
expect_exit 2 "-r with -m is refused" "$PERFKIT" bench -N -r 3 -m 2 true
contains "-r with -m: what to give instead" "$OUT" "-r/--runs cannot be used with -m/--min-runs or -M/--max-runs"
expect_exit 2 "-r with -M is refused" "$PERFKIT" bench -N -r 3 -M 5 true
expect_exit 0 "--min-benchmarking-time (seconds, hyperfine's)" "$PERFKIT" bench -N --min-benchmarking-time 0.05 -M 4 true
expect_exit 2 "--min-benchmarking-time: not a number" "$PERFKIT" bench -N --min-benchmarking-time 3s true
contains "--min-benchmarking-time: --min-time is named" "$OUT" "perfkit's --min-time takes 500ms, 3s"

# ---- -i / --ignore-failure[=CODES]
expect_exit 0 "-i=1 keeps exit code 1 (was: unknown option '2')" "$PERFKIT" bench -r 2 -i=1 false
expect_exit 0 "--ignore-failure=2,3 keeps exit code 3" "$PERFKIT" bench -r 2 --ignore-failure=2,3 'exit 3'
expect_exit 1 "-i=2 does not keep exit code 3" "$PERFKIT" bench -r 2 -i=2 'exit 3'
contains "-i=2: the code is named" "$OUT" "exited with status 3. It is not among the exit codes --ignore-failure keeps"
expect_exit 0 "--ignore-failure=all-non-zero" "$PERFKIT" bench -r 2 --ignore-failure=all-non-zero 'exit 9'
expect_exit 0 "-i=137: a run killed by SIGKILL (128 + 9)" "$PERFKIT" bench -r 2 -i=137 'kill -9 $$'
expect_exit 0 "-iN: -i and -N" "$PERFKIT" bench -r 2 -iN false
expect_exit 2 "-i=x is refused" "$PERFKIT" bench -r 2 -i=x false
contains "-i=x: the form is given" "$OUT" "--ignore-failure: 'x' is not all-non-zero or a list of exit codes"

# ---- unknown options are named as typed
expect_exit 2 "unknown short option" "$PERFKIT" bench -r 2 -x false
contains "the short option is named" "$OUT" "unknown option '-x'"
expect_exit 2 "unknown option in a cluster" "$PERFKIT" bench -r 2 -Nx false
contains "the cluster is named" "$OUT" "unknown option '-x' (in '-Nx')"
expect_exit 2 "unknown long option" "$PERFKIT" bench -r 2 --bogus=1 false
contains "the long option is named" "$OUT" "unknown or ambiguous option '--bogus=1'"
expect_exit 2 "a missing value" "$PERFKIT" bench true --runs
contains "the option without its value is named" "$OUT" "option '--runs' needs a value"
expect_exit 2 "--debug-mode is refused" "$PERFKIT" bench --debug-mode 'sleep 1'
contains "--debug-mode: what to use instead" "$OUT" "use --runs 1"

# ---- --output once per command, --show-output, --input null
rm -f "$TMP/o1" "$TMP/o2"
expect_exit 0 "--output once per command" "$PERFKIT" bench -N --runs 2 --output "$TMP/o1" --output "$TMP/o2" 'echo one' 'echo two'
contains "the first command's output in the first file" "$(tr '\n' ' ' <"$TMP/o1")" "one one "
contains "the second command's output in the second file" "$(tr '\n' ' ' <"$TMP/o2")" "two two "
expect_exit 2 "--output three times for two commands" "$PERFKIT" bench -N --runs 2 --output null --output null \
    --output null 'echo one' 'echo two'
contains "--output count named" "$OUT" "--output given 3 times: give it once, once per command (2)"
expect_exit 0 "--show-output" "$PERFKIT" bench -N --runs 2 'echo shown-output'
[ "$(printf '%s\n' "$OUT" | grep -c shown-output)" -eq 1 ] && ok "without it, only the name shows" ||
    fail "without it, only the name shows" "$OUT"
expect_exit 0 "--show-output shows the output" "$PERFKIT" bench -N --runs 2 --show-output 'echo shown-output'
[ "$(printf '%s\n' "$OUT" | grep -c shown-output)" -ge 3 ] && ok "--show-output: the runs' lines are there" ||
    fail "--show-output: the runs' lines are there" "$OUT"
expect_exit 2 "--show-output with --output" "$PERFKIT" bench --runs 2 --show-output --output null true
(cd "$TMP" && rm -f null && "$PERFKIT" bench -N --runs 2 --input null cat >/dev/null 2>&1)
rc=$?
[ $rc -eq 0 ] && [ ! -e "$TMP/null" ] && ok "--input null is /dev/null, not a file named null" ||
    fail "--input null is /dev/null, not a file named null" "exit $rc"

# ---- $HYPERFINE_ITERATION: warmup-<i>, then 0, 1, ... for the timed runs
rm -f "$TMP/it"
expect_exit 0 "\$HYPERFINE_ITERATION" "$PERFKIT" bench --runs 3 -w 2 "echo \$HYPERFINE_ITERATION >> $TMP/it"
contains "\$HYPERFINE_ITERATION as hyperfine sets it" "$(tr '\n' ' ' <"$TMP/it")" "warmup-0 warmup-1 0 1 2 "

# ---- --reference-name
expect_exit 0 "--reference-name" "$PERFKIT" bench -N --runs 2 --reference 'sleep 0.002' --reference-name REF \
    --export-json "$TMP/ref.json" 'sleep 0.001'
check "--reference-name names the reference" json_check "$TMP/ref.json" \
    "assert [r['command'] for r in d['results']] == ['REF', 'sleep 0.001'], d['results']"
expect_exit 2 "--reference-name without --reference" "$PERFKIT" bench --runs 2 --reference-name REF true

# ---- --style: none prints nothing; full colours without a terminal; basic and nocolor do not
expect_exit 0 "--style none" "$PERFKIT" bench -N --runs 2 --style none true
[ -z "$OUT" ] && ok "--style none: nothing printed" || fail "--style none: nothing printed" "$OUT"
"$PERFKIT" bench -N --runs 2 --style full true >"$TMP/full.out" 2>/dev/null
grep -q $'\033\[' "$TMP/full.out" && ok "--style full: colours on a pipe" || fail "--style full: colours on a pipe"
for st in basic nocolor auto; do
    "$PERFKIT" bench -N --runs 2 --style $st true >"$TMP/st.out" 2>&1
    ! grep -q $'\033\[' "$TMP/st.out" && ok "--style $st: no colours on a pipe" || fail "--style $st: no colours on a pipe"
done
expect_exit 2 "--style: an unknown type" "$PERFKIT" bench --style fancy true
contains "--style: the types are listed" "$OUT" "'fancy' is not auto, basic, full, nocolor, color or none"

# ---- -u/--time-unit and --sort, on the summary and the tables
expect_exit 0 "-u second" "$PERFKIT" bench -N --runs 2 -u second --export-markdown "$TMP/u.md" 'sleep 0.01'
contains "-u second: the summary in seconds" "$OUT" " s ±"
contains "-u second: the table in seconds" "$(head -n 1 "$TMP/u.md")" "| Mean [s] |"
expect_exit 0 "-u microsecond" "$PERFKIT" bench -N --runs 2 --time-unit microsecond --export-orgmode "$TMP/u.org" 'sleep 0.01'
contains "-u microsecond: the summary in us" "$OUT" " us ±"
contains "-u microsecond: the table in µs" "$(head -n 1 "$TMP/u.org")" "Mean [µs]"
expect_exit 2 "-u: an unknown unit" "$PERFKIT" bench -u minute true
contains "-u: the units are listed" "$OUT" "'minute' is not microsecond, millisecond or second"
# Wide gaps, so that no load reorders the means.
"$PERFKIT" bench -N --runs 3 --export-markdown "$TMP/cmd.md" 'sleep 0.09' 'sleep 0.01' 'sleep 0.04' >"$TMP/auto.txt" 2>&1
"$PERFKIT" bench -N --runs 3 --sort mean-time --export-markdown "$TMP/mean.md" 'sleep 0.09' 'sleep 0.01' 'sleep 0.04' \
    >"$TMP/mean.txt" 2>&1
"$PERFKIT" bench -N --runs 3 --sort command 'sleep 0.09' 'sleep 0.01' 'sleep 0.04' >"$TMP/command.txt" 2>&1
rows() { grep -o '`sleep 0.0[0-9]`' "$1" | tr -d '`' | tr '\n' ' '; }
others() { sed -n '/^Summary/,$p' "$1" | grep -o 'than sleep 0.0[0-9]\|from sleep 0.0[0-9]' | sed 's/.* //' | tr '\n' ' '; }
contains "--sort auto: tables as given" "$(rows "$TMP/cmd.md")" "sleep 0.09 sleep 0.01 sleep 0.04 "
contains "--sort auto: summary by mean time" "$(others "$TMP/auto.txt")" "0.04 0.09 "
contains "--sort mean-time: tables by mean time" "$(rows "$TMP/mean.md")" "sleep 0.01 sleep 0.04 sleep 0.09 "
contains "--sort command: summary as given" "$(others "$TMP/command.txt")" "0.09 0.04 "
expect_exit 2 "--sort: an unknown method" "$PERFKIT" bench --sort name true

# ---- -V
expect_exit 0 "-V" "$PERFKIT" bench -V
contains "-V prints the version" "$OUT" "perfkit "

# ---- every output path is checked before the first run
for opt in --export-json --export-csv --export-markdown --export-asciidoc --export-orgmode --save-baseline; do
    rm -f "$TMP/ran"
    expect_exit 2 "$opt into /proc: refused before any run" "$PERFKIT" bench --runs 1 -p "touch $TMP/ran" "$opt" \
        /proc/perfkit-x.out true
    contains "$opt: the path is named" "$OUT" "$opt: /proc/perfkit-x.out: cannot write file"
    [ ! -e "$TMP/ran" ] && ok "$opt into /proc: nothing ran" || fail "$opt into /proc: nothing ran"
done
rm -f "$TMP/ran"
expect_exit 2 "a second --output into /proc: refused before any run" "$PERFKIT" bench --runs 1 -p "touch $TMP/ran" \
    --output "$TMP/first.out" --output /proc/perfkit-x.out true true
contains "--output: the path is named" "$OUT" "'/proc/perfkit-x.out'"
[ ! -e "$TMP/ran" ] && ok "--output into /proc: nothing ran" || fail "--output into /proc: nothing ran"

finish
