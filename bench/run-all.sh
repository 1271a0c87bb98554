#!/bin/sh
# Runs every peer-comparison benchmark under bench/ against one build; this is
# what `make bench` calls. Stops at the first failure so that a broken
# benchmark never leaves stale figures looking current.
#
# Usage: sh bench/run-all.sh [BUILD_DIR]      (default: build)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-build}

# Each benchmark records in bench/RESULTS.md the command that produced its
# figures: `make bench` when make called us (make sets MAKELEVEL), this script
# otherwise.
if [ -z "${PK_BENCH_COMMAND:-}" ]; then
    if [ -n "${MAKELEVEL:-}" ]; then
        PK_BENCH_COMMAND="make bench"
        [ "$BUILD_DIR" = build ] || PK_BENCH_COMMAND="make bench BUILD=$BUILD_DIR"
    else
        PK_BENCH_COMMAND="sh bench/run-all.sh $BUILD_DIR"
    fi
fi
export PK_BENCH_COMMAND

# Runs a benchmark script with the shell its #! line names (a bash script
# run by sh would fail on bash-only options), whether or not it is executable.
run_script() {
    script=$1
    shift
    first=$(head -n 1 "$script")
    case $first in
        '#!'*bash*) bash "$script" "$@" ;;
        *) sh "$script" "$@" ;;
    esac
}

run_script "$ROOT/bench/cmd_overhead.sh" "$BUILD_DIR"
if [ -f "$ROOT/bench/inproc.sh" ]; then
    run_script "$ROOT/bench/inproc.sh" "$BUILD_DIR"
fi
run_script "$ROOT/bench/load_wrk.sh" "$BUILD_DIR"
run_script "$ROOT/bench/monitor_node_exporter.sh" "$BUILD_DIR"
