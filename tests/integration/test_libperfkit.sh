#!/usr/bin/env bash
# libperfkit end to end: the hashsort example driven by pk_bench_main, its
# JSON read by Google Benchmark's own compare.py, and the option handling.
# Env: PK_BUILD (build directory), PK_SRC (source directory). Each step
# depends on the one before: the first failure ends the test (die).
. "$(dirname "$0")/lib.sh"

: "${PK_BUILD:?PK_BUILD must name the build directory}"
: "${PK_SRC:?PK_SRC must name the source directory}"
BIN="$PK_BUILD/examples/hashsort"
COMPARE=/usr/share/benchmark/compare.py

[ -x "$BIN" ] || die "$BIN is not built"

# ---- --list and --filter
"$BIN" --list >"$TMP/list" || die "--list exited $?"
for name in BM_fnv1a/64 BM_fnv1a/65536 BM_xxh64ish/1024 BM_qsort/1000 BM_radix_sort/100000 BM_memcpy_4k; do
    grep -qx "$name" "$TMP/list" || die "--list does not show $name"
done
[ "$(wc -l <"$TMP/list")" -eq 13 ] || die "--list shows $(wc -l <"$TMP/list") benchmarks, expected 13"
ok "--list"

"$BIN" --list --filter 'sort/1000$' >"$TMP/filtered" || die "--list --filter exited $?"
printf 'BM_qsort/1000\nBM_radix_sort/1000\n' | diff - "$TMP/filtered" >/dev/null ||
    die "--filter 'sort/1000\$' listed: $(tr '\n' ' ' <"$TMP/filtered")"
ok "--filter selects by extended regex"

# ---- two runs, compared by Google Benchmark's compare.py
for run in A B; do
    "$BIN" --min-time 20ms --repetitions 3 --json "$TMP/$run.json" >"$TMP/$run.out" 2>"$TMP/$run.err" ||
        die "run $run exited $?: $(cat "$TMP/$run.err")"
    [ -s "$TMP/$run.json" ] || die "run $run wrote no JSON"
    grep -q '^BM_qsort/1000 ' "$TMP/$run.out" || die "run $run: no table row for BM_qsort/1000"
    grep -q '^Slowest: ' "$TMP/$run.out" || die "run $run: no analysis"
done
ok "two runs with --json and --repetitions 3"

"$PY" - "$TMP/A.json" <<'PYEOF' || die "A.json is not what Google Benchmark writes"
import json, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
for k in ("date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled",
          "caches", "load_avg", "library_build_type"):
    assert k in ctx, k
names = {"BM_%s/%d" % (f, n) for f in ("fnv1a", "xxh64ish") for n in (64, 1024, 65536)}
names |= {"BM_%s/%d" % (f, n) for f in ("qsort", "radix_sort") for n in (1000, 10000, 100000)}
names.add("BM_memcpy_4k")
its = [b for b in d["benchmarks"] if b["run_type"] == "iteration"]
aggs = [b for b in d["benchmarks"] if b["run_type"] == "aggregate"]
assert {b["name"] for b in its} == names, {b["name"] for b in its}
assert len(its) == 13 * 3 and len(aggs) == 13 * 4, (len(its), len(aggs))
fam = {b["name"]: (b["family_index"], b["per_family_instance_index"]) for b in its}
assert fam["BM_fnv1a/64"] == (0, 0) and fam["BM_fnv1a/65536"] == (0, 2), fam
assert fam["BM_qsort/10000"] == (2, 1) and fam["BM_memcpy_4k"] == (4, 0), fam
for b in its:
    assert b["time_unit"] == "ns" and b["real_time"] > 0 and b["cpu_time"] > 0 and b["iterations"] >= 1
    assert b["repetitions"] == 3 and b["threads"] == 1
q = [b for b in its if b["name"] == "BM_qsort/1000"]
assert [b["repetition_index"] for b in q] == [0, 1, 2]
assert len({b["iterations"] for b in q}) == 1          # calibrated once, reused
if d["context"].get("allocations_counted"):
    # glibc's qsort mallocs a merge buffer per call (2.36; newer versions may not): a whole number.
    assert all(b["allocs_per_iter"] in (0, 1) for b in q), [b["allocs_per_iter"] for b in q]
    r = [b for b in its if b["name"].startswith("BM_radix_sort/")]
    assert all(b["allocs_per_iter"] == 0 for b in r), [b["allocs_per_iter"] for b in r]  # buffer set up outside the loop
a = d["analysis"]
assert a["slowest"] == "BM_qsort/100000", a["slowest"]
assert "BM_qsort/100000" in a["bottlenecks"], a["bottlenecks"]
assert abs(sum(x["share"] for x in a["benchmarks"]) - 1) < 1e-9
PYEOF
ok "JSON schema and values"

"$PY" "$COMPARE" benchmarks "$TMP/A.json" "$TMP/B.json" >"$TMP/compare.out" 2>&1 ||
    die "compare.py exited $?: $(cat "$TMP/compare.out")"
# compare.py colours its output even into a pipe: strip the escapes first.
sed 's/\x1b\[[0-9;]*m//g' "$TMP/compare.out" >"$TMP/compare.txt" || die "sed exited $?"
for name in BM_fnv1a/64 BM_xxh64ish/65536 BM_qsort/1000 BM_radix_sort/100000 BM_memcpy_4k \
    BM_qsort/1000_mean BM_qsort/1000_median; do
    grep -q "^$name  *[-+]" "$TMP/compare.txt" ||
        die "compare.py output does not list $name: $(cat "$TMP/compare.txt")"
done
grep -q OVERALL_GEOMEAN "$TMP/compare.txt" || die "compare.py did not compute its geomean"
ok "compare.py reads perfkit's JSON"

# ---- --json - : the JSON alone on stdout
"$BIN" --filter 'memcpy' --iterations 1000 --json - >"$TMP/stdout.json" 2>"$TMP/stdout.err" ||
    die "--json - exited $?"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["benchmarks"][0]["iterations"] == 1000' \
    "$TMP/stdout.json" || die "--json - did not write the JSON alone to stdout"
grep -q 'BM_memcpy_4k' "$TMP/stdout.err" || die "--json -: the table should go to stderr"
ok "--json - and --iterations"

# ---- usage errors: exit 2, the message names the option
expect_usage() {
    local what="$1" needle="$2"
    shift 2
    "$BIN" "$@" >"$TMP/u.out" 2>"$TMP/u.err"
    local rc=$?
    [ "$rc" -eq 2 ] || die "$what: exit $rc, expected 2 ($(cat "$TMP/u.err"))"
    grep -q -- "$needle" "$TMP/u.err" || die "$what: message does not name $needle: $(cat "$TMP/u.err")"
    [ ! -s "$TMP/u.out" ] || die "$what: something ran: $(head -3 "$TMP/u.out")"
}
expect_usage "unknown option" "--bogus" --bogus
expect_usage "bad duration" "--min-time" --min-time 5x
expect_usage "missing value" "--repetitions" --repetitions
expect_usage "zero repetitions" "--repetitions" --repetitions 0
expect_usage "bad regex" "--filter" --filter '('
expect_usage "no match" "--filter" --filter 'no-such-benchmark'
expect_usage "unwritable --json" "--json" --json /nonexistent-dir/out.json
expect_usage "--json under a file" "--json" --json /etc/hostname/out.json
ok "usage errors exit 2 and name the option"

# The unwritable path is refused before anything is measured: no table, and
# quickly. (Not a permission case: the tests may run as root.)
start=$(date +%s%N)
"$BIN" --min-time 1s --json "$TMP/no-such-dir/out.json" >"$TMP/w.out" 2>"$TMP/w.err"
rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" -eq 2 ] || die "--json into a missing directory: exit $rc, expected 2"
[ ! -s "$TMP/w.out" ] || die "--json to an unwritable path ran benchmarks first"
[ "$elapsed_ms" -lt 1500 ] || die "--json to an unwritable path took ${elapsed_ms} ms: it ran first"
ok "--json to an unwritable path fails before running"

"$BIN" --help | grep -q -- '--min-time' || die "--help does not describe --min-time"
ok "--help"
finish
