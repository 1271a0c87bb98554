#!/bin/sh
# The main job on its embedded default, run by `make run`. Until `perfkit audit`
# takes this place, it benchmarks the bundled examples: in-process with
# libperfkit (table and analysis), then as whole commands with `perfkit bench`
# (statistics and the comparison of a quicksort against a radix sort).
set -eu
B=${1:-build}
EX="$B/examples/hashsort"

echo "== libperfkit: examples/hashsort, in-process (sorts and hashes over several sizes)"
"$EX" --min-time 0.1s
echo
echo "== perfkit bench: the same example as whole commands, qsort vs radix sort of 100k ints"
"$B/perfkit" bench --warmup 2 --min-runs 10 --min-time 2s \
    -n 'qsort 100k' "$EX --filter BM_qsort/100000 --iterations 30" \
    -n 'radix 100k' "$EX --filter BM_radix_sort/100000 --iterations 30"
