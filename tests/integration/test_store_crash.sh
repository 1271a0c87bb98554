#!/usr/bin/env bash
# The history store under kill -9: a writer appending 40 series as fast as it
# can is killed at a random moment, several times over; after each kill the
# file passes PRAGMA integrity_check, holds a gap-free run of whole samples
# with their rollups, and has lost nothing the writer knew was committed
# (at most the sample in flight). Then the same with pruning at work. The
# store on a full disk is test_store_diskfull.sh.
. "$(dirname "$0")/lib.sh"

W="$PK_BUILD/tests/helpers/pk_store_writer"
[ -x "$W" ] || die "pk_store_writer built" "missing $W (build the tests first)"
NSERIES=40

# crash_rounds DB ROUNDS [RETENTION_RAW_S]
crash_rounds() {
    local db=$1 rounds=$2 ret=${3:-} out="$TMP/writer.out"
    for round in $(seq 1 "$rounds"); do
        : >"$out"
        start_bg "$W" write "$db" "$NSERIES" $ret >"$out" 2>"$TMP/writer.err"
        local pid=$BG_PID
        # not a wait: a random moment, 50 ms .. 1.5 s: sometimes while opening, mostly mid-stream
        sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.05 + (r % 1450) / 1000 }')"
        stop_bg "$pid" 5 KILL
        if [ -s "$TMP/writer.err" ]; then
            fail "round $round${ret:+ (pruning)}: the writer failed" "$(cat "$TMP/writer.err")"
            continue
        fi
        local last
        last=$(tail -n 1 "$out")
        [ -n "$last" ] || last=$(cat "$TMP/last" 2>/dev/null || echo 0)
        local res
        if res=$("$W" check "$db" "$NSERIES" "$last" $ret 2>&1); then
            ok "round $round${ret:+ (pruning)}: killed after sample $last: $res"
            echo "${res#ok }" >"$TMP/last"
        else
            fail "round $round${ret:+ (pruning)}: killed after sample $last" "$res"
        fi
    done
}

rm -f "$TMP/last"
crash_rounds "$TMP/crash.db" 8
rm -f "$TMP/last"
crash_rounds "$TMP/prune.db" 4 120

finish
