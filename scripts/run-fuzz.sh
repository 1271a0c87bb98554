#!/bin/sh
# Runs every libFuzzer target built in BUILD/fuzz for FUZZ_SECONDS each (default 60),
# with a corpus directory per target under BUILD/fuzz/corpus/. Bounded in time.
set -eu
B=${1:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
for f in "$B"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    mkdir -p "$B/fuzz/corpus/$name"
    echo "== $name (${SECS}s)"
    "$f" -max_total_time="$SECS" -print_final_stats=1 "$B/fuzz/corpus/$name" 2>&1 |
        grep -E "number_of_executed_units|new_units_added|ERROR|SUMMARY"
done
