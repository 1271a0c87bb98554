#!/usr/bin/env bash
# The /metrics exposition of perfkit monitor's collector, checked by Prometheus'
# own tools (Debian's prometheus package): `promtool check metrics` on the text
# format, and Prometheus' OpenMetrics parser (`promtool tsdb
# create-blocks-from openmetrics`) on OpenMetrics, for node_exporter's fixture
# tree, the 2-CPU VM's tree and the live /proc.
#
# promtool's lint flags node_exporter's meminfo names with camelCase keys
# (node_memory_MemTotal_bytes, ...): node_exporter itself gets the same
# findings on its own e2e-output.txt, and dashboards need those names, so
# they are the only findings allowed, and only for node_memory_*. Everything
# else, perfkit_* included, must pass with no finding at all.
. "$(dirname "$0")/lib.sh"

DUMP="$PK_BUILD/tests/test_collect"
PROMTOOL=${PROMTOOL:-$(command -v promtool)}
[ -x "$PROMTOOL" ] || skip "promtool is not installed (Debian package prometheus)"
[ -x "$DUMP" ] || die "test_collect built" "$DUMP missing"

NE="$PK_FIXTURES/node_exporter"
VM="$PK_FIXTURES/sys/vm-2cpu"
printf '/\t4096\t1000\t600\t500\t100\t40\n' >"$TMP/ne-statvfs.tsv"

# node_exporter's own findings on its own output: what perfkit may inherit
"$PROMTOOL" check metrics <"$NE/e2e-output.txt" >"$TMP/e2e.lint" 2>&1

# lint NAME FILE: promtool's findings on FILE are only inherited node_memory_* camelCase names
lint() {
    local name=$1 file=$2
    "$PROMTOOL" check metrics <"$file" >"$TMP/$name.lint" 2>&1
    local rc=$?
    local other
    other=$(grep -v -E "^node_memory_[A-Za-z0-9_]+ metric names should be written in 'snake_case' not 'camelCase'$" \
        "$TMP/$name.lint")
    if [ -z "$other" ]; then
        ok "$name: promtool check metrics: no finding but node_exporter's camelCase meminfo names ($(wc -l <"$TMP/$name.lint") of those, exit $rc)"
    else
        fail "$name: promtool check metrics" "$other"
    fi
    # without node_memory_*, not a single finding and exit 0
    awk '/^# (HELP|TYPE) node_memory_/ {next} /^node_memory_/ {next} {print}' "$file" >"$TMP/$name.rest"
    if "$PROMTOOL" check metrics <"$TMP/$name.rest" >"$TMP/$name.rest.lint" 2>&1 && [ ! -s "$TMP/$name.rest.lint" ]; then
        ok "$name: promtool check metrics on everything but node_memory_*: exit 0, nothing printed"
    else
        fail "$name: promtool on everything but node_memory_*" "$(head -n 20 "$TMP/$name.rest.lint")"
    fi
    # perfkit's own families alone
    grep -E '^(# (HELP|TYPE) )?perfkit_' "$file" >"$TMP/$name.perfkit"
    if [ -s "$TMP/$name.perfkit" ] && "$PROMTOOL" check metrics <"$TMP/$name.perfkit" >"$TMP/$name.perfkit.lint" 2>&1 &&
        [ ! -s "$TMP/$name.perfkit.lint" ]; then
        ok "$name: perfkit_* alone: promtool-clean ($(grep -c '^# TYPE' "$TMP/$name.perfkit") families)"
    else
        fail "$name: perfkit_* alone" "$(head -n 20 "$TMP/$name.perfkit.lint")"
    fi
}

# openmetrics NAME FILE: Prometheus' OpenMetrics parser accepts it, and its shape is right
openmetrics() {
    local name=$1 file=$2
    if [ "$(tail -n 1 "$file")" = "# EOF" ] && [ "$(grep -c '^# EOF$' "$file")" -eq 1 ]; then
        ok "$name: OpenMetrics ends with one # EOF"
    else
        fail "$name: # EOF" "$(tail -n 3 "$file")"
    fi
    check "$name: OpenMetrics counters: family without _total, samples with it, units are suffixes" \
        $PY - "$file" <<'PY'
import re, sys
fam = None; typ = None; n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line == "# EOF":
        break
    m = re.match(r"# (HELP|TYPE|UNIT) (\S+)(?: (.*))?$", line)
    if m:
        kind, name, rest = m.groups()
        if name != fam:
            fam, typ = name, None
        if kind == "TYPE":
            typ = rest
            assert typ in ("counter", "gauge", "unknown"), line
            assert not (typ == "counter" and name.endswith("_total")), line
        if kind == "UNIT":
            assert name.endswith("_" + rest), line
        continue
    sample = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", line).group(1)
    want = fam + "_total" if typ == "counter" else fam
    assert sample == want, (line, fam, typ)
    n += 1
assert n > 0
PY
    # promtool's backfill reads OpenMetrics with Prometheus' scrape parser; it wants a timestamp on each sample
    local ts
    ts=$(date +%s)
    awk -v ts="$ts" '/^#/ {print; next} {print $0 " " ts}' "$file" >"$TMP/$name.ts.om"
    rm -rf "$TMP/$name.tsdb"
    if "$PROMTOOL" tsdb create-blocks-from openmetrics "$TMP/$name.ts.om" "$TMP/$name.tsdb" >"$TMP/$name.om.log" 2>&1; then
        ok "$name: Prometheus' OpenMetrics parser reads all $(grep -vc '^#' "$file") samples"
    else
        fail "$name: promtool tsdb create-blocks-from openmetrics" "$(tail -n 5 "$TMP/$name.om.log")"
    fi
}

run() {
    local name=$1 procfs=$2 table=${3:-}
    if "$DUMP" --dump "$procfs" text $table >"$TMP/$name.prom" 2>"$TMP/$name.err"; then
        ok "$name: collect + render (text): $(grep -o 'sample+render: .*' "$TMP/$name.err")"
    else
        fail "$name: collect + render" "$(cat "$TMP/$name.err")"
        return
    fi
    lint "$name" "$TMP/$name.prom"
    if "$DUMP" --dump "$procfs" openmetrics $table >"$TMP/$name.om" 2>"$TMP/$name.om.err"; then
        ok "$name: collect + render (OpenMetrics): $(grep -o 'sample+render: .*' "$TMP/$name.om.err")"
        openmetrics "$name" "$TMP/$name.om"
    else
        fail "$name: collect + render (OpenMetrics)" "$(cat "$TMP/$name.om.err")"
    fi
}

run node_exporter "$NE/proc" "$TMP/ne-statvfs.tsv"
# the findings perfkit has on node_exporter's tree are ones node_exporter has on its own output
if comm -23 <(sort "$TMP/node_exporter.lint") <(sort "$TMP/e2e.lint") | grep -q .; then
    fail "node_exporter tree: every camelCase finding is one of node_exporter's own" \
        "$(comm -23 <(sort "$TMP/node_exporter.lint") <(sort "$TMP/e2e.lint"))"
else
    ok "node_exporter tree: every finding is also one of node_exporter's own on e2e-output.txt"
fi
run vm-2cpu "$VM/proc" "$VM/statvfs.tsv"
run live /proc

# the live output has what a dashboard asks for first
for fam in node_cpu_seconds_total node_memory_MemTotal_bytes node_load1 node_filesystem_avail_bytes \
    node_network_receive_bytes_total node_disk_io_time_seconds_total perfkit_cpu_utilization_ratio \
    perfkit_memory_used_ratio perfkit_filesystem_used_ratio perfkit_processes_all perfkit_fd_used_ratio; do
    if grep -q "^$fam[{ ]" "$TMP/live.prom"; then ok "live: $fam"; else fail "live: $fam" "missing"; fi
done

finish
