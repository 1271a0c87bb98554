#!/bin/sh
# The main job on its embedded default, run by `make run`: the host agent,
# `perfkit monitor`, on loopback with its history in a local SQLite file. It
# prints the dashboard's URL and runs until Ctrl-C (which flushes and exits 0).
# PK_RUN_LISTEN (ADDR:PORT, default 127.0.0.1:9310) is the address it serves on;
# PK_RUN_DB (default perfkit-monitor.db) its history; PK_RUN_DURATION (e.g. 30s)
# stops it by itself.
set -eu
B=${1:-build}
DB=${PK_RUN_DB:-perfkit-monitor.db}
LISTEN=${PK_RUN_LISTEN:-127.0.0.1:9310}
echo "== perfkit monitor: metrics, alerts, history and dashboard of this host (Ctrl-C stops)"
if [ -n "${PK_RUN_DURATION:-}" ]; then
    exec "$B/perfkit" monitor --listen "$LISTEN" --db "$DB" --duration "$PK_RUN_DURATION"
fi
exec "$B/perfkit" monitor --listen "$LISTEN" --db "$DB"
