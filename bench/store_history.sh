#!/usr/bin/env bash
# The query behind /api/history on a day of data, and what that day costs:
# no peer, a target (issue 4: 24 h of 1 s data at 1,000 points within 20 ms).
#
# Usage: bench/store_history.sh [BUILD_DIR]      (default: build)
#
# 1. Builds a history database through the store's own API (store_append,
#    one transaction per sample): SERIES series (default 40; half gauges with
#    fractional values, half integral counters) sampled every second for
#    DATA_SECONDS (default 86400, a day). Prints the time per append (median, p99,
#    mean, max) and the bytes per table (SQLite's dbstat) and per series.
# 2. Queries one series over the whole day at POINTS points (default 1000),
#    RUNS times (default 20) each: store_history with the automatic source
#    (rollups: the step is over a minute), forced raw samples (the series'
#    chunks, a row per minute), forced rollups. Medians, with min and max.
#
# Both parts come from tests/helpers/store_writer.c (pk_store_writer fill /
# history). The database goes to a temporary directory (DB=FILE keeps it and
# reuses it when it exists: only part 2 then runs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-build}
case $BUILD_DIR in
    /*) BUILD_ABS=$BUILD_DIR ;;
    *) BUILD_ABS=$ROOT/$BUILD_DIR ;;
esac
SERIES=${SERIES:-40}
SECONDS_OF_DATA=${DATA_SECONDS:-86400}
POINTS=${POINTS:-1000}
RUNS=${RUNS:-20}
W=$BUILD_ABS/tests/helpers/pk_store_writer

if [ ! -x "$W" ]; then
    echo "store_history.sh: $W is missing: build first (make BUILD=$BUILD_DIR)" >&2
    exit 1
fi

TMPD=$(mktemp -d "${TMPDIR:-/tmp}/pk-store-bench.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT
DB=${DB:-$TMPD/history.db}

echo "== store_history: $SERIES series x $SECONDS_OF_DATA s of 1 s samples, $(nproc) CPUs, $(uname -r)"
echo "   SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'), database $DB"
if [ ! -s "$DB" ]; then
    echo "-- building (store_append, one transaction per sample)"
    "$W" fill "$DB" "$SERIES" "$SECONDS_OF_DATA"
    echo "   per series per day: file bytes / series x 86400 / seconds of data"
fi
size=$(stat -c %s "$DB")
awk -v b="$size" -v n="$SERIES" -v s="$SECONDS_OF_DATA" \
    'BEGIN { printf "   file %d bytes: %.0f bytes per series per day (raw + rollups)\n", b, b / n * 86400 / s }'

KEY='perfkit_bench_gauge{n="3"}'
echo "-- /api/history's query: $KEY over $SECONDS_OF_DATA s at $POINTS points, $RUNS runs each"
"$W" history "$DB" "$KEY" "$SECONDS_OF_DATA" "$POINTS" "$RUNS"
