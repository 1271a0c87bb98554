#!/usr/bin/env bash
# perfkit monitor's configuration checks on the real binary: what the start
# refuses, --check-config refuses too, with the same message naming the
# setting (and the file:line when it comes from a --config file), and files
# it reads whole that are not regular files (a FIFO) get an error, not a hang.
# Every agent started here has a --duration; every command a timeout.
. "$(dirname "$0")/lib.sh"

# ---- files that are not regular files
mkfifo "$TMP/fifo"
expect_exit 2 "--config FIFO that nobody writes to: exit 2, not a hang" \
    timeout 60 "$PERFKIT" monitor --config "$TMP/fifo" --check-config
contains "  ... the error names the FIFO and says why" "$OUT" \
    "$TMP/fifo: cannot read file: a FIFO or pipe that gave no end of data within 10 s"
expect_exit 0 "--config from a pipe (bash's <(...)) is read" \
    timeout 60 "$PERFKIT" monitor --config <(printf 'interval 2s\n') --check-config
contains "  ... with its setting" "$OUT" "interval 2 s"

finish
