#!/usr/bin/env bash
# perfkit monitor end to end, on loopback: its endpoints through curl, its
# /metrics through the real promtool, a real Prometheus server scraping it and
# answering through its HTTP API, a webhook receiver and an --on-alert
# command, SIGHUP and SIGTERM, the history database afterwards, and the
# dashboard rendered by headless Chromium. Every process is bounded
# (--duration, timeouts) and stopped on exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"

nginx_start "$TMP/nginx" || die "nginx starts"
DEAD=$(free_port)

# ---- configuration checks
cat >"$TMP/m.conf" <<EOF
# test configuration
interval 250ms
probe tcp://127.0.0.1:$NGINX_PORT
probe http://127.0.0.1:$NGINX_PORT/ limit 2s
probe tcp://127.0.0.1:$DEAD
alert Always: perfkit_agent_samples_total >= 0 for 0s severity info
EOF
expect_exit 0 "--check-config accepts a valid file" "$PERFKIT" monitor --config "$TMP/m.conf" --check-config
contains "--check-config counts the rules" "$OUT" "alert rules, 3 probes"
printf 'interval 1s\nalert Bad: perfkit_cpu_utilization_ratio > 0.8 fr 1m\n' >"$TMP/bad.conf"
expect_exit 2 "--check-config refuses a bad rule" "$PERFKIT" monitor --config "$TMP/bad.conf" --check-config
contains "the error names file:line" "$OUT" "bad.conf:2"
expect_exit 2 "a non-loopback --listen without a token is refused" "$PERFKIT" monitor --listen 0.0.0.0:9 --duration 1s --db "$TMP/x.db"
contains "the refusal names --listen" "$OUT" "--listen"
expect_exit 2 "an unknown setting" "$PERFKIT" monitor --intervall 1s
contains "the unknown option is named" "$OUT" "intervall"

# ---- the agent
PORT=$(free_port)
A="http://127.0.0.1:$PORT"
ENVFILE="$TMP/alert.env"
HOOKS="$TMP/hooks"
mkdir -p "$HOOKS"
HPORT=$(free_port)
start_bg $PY - "$HPORT" "$HOOKS" <<'PY'
import http.server, sys, os, itertools
port, out = int(sys.argv[1]), sys.argv[2]
n = itertools.count()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(os.path.join(out, "%03d.json" % next(n)), "wb") as f:
            f.write(body)
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", port), H)
s.timeout = 1
import time; end = time.time() + 120
while time.time() < end: s.handle_request()
PY
# listening PORT: something accepts connections on 127.0.0.1:PORT
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 10 listening "$HPORT" || fail "the webhook receiver listens" "$(tail -5 "$TMP/agent.log")"
start_bg "$PERFKIT" monitor --config "$TMP/m.conf" --listen "127.0.0.1:$PORT" --db "$TMP/m.db" --duration 60s \
    --webhook "http://127.0.0.1:$HPORT/hook" --on-alert "env | grep ^PERFKIT_ALERT_ > $ENVFILE" \
    2>"$TMP/agent.log"
AGENT=$BG_PID
if wait_for 10 http_ok "$A/ready"; then ok "the agent becomes ready"; else fail "the agent becomes ready" "$(cat "$TMP/agent.log")"; fi
# a few samples, probes and alert evaluations (250 ms apart) for what follows
wait_for 10 samples_at_least "$A" 5
# libcurl is loaded only for webhooks and HTTP probes (core/dynlib.h); this agent has both.
contains "with a webhook, libcurl is loaded" "$(cat /proc/$AGENT/maps)" "libcurl"

http -D "$TMP/h" -o "$TMP/metrics.txt" "$A/metrics"
contains "/metrics is Prometheus text 0.0.4" "$(cat "$TMP/h")" "text/plain; version=0.0.4"
contains "node_exporter's names" "$(cat "$TMP/metrics.txt")" 'node_cpu_seconds_total{cpu="0",mode="idle"}'
contains "perfkit's gauges" "$(cat "$TMP/metrics.txt")" "perfkit_cpu_utilization_ratio"
contains "alert states as perfkit_alerts" "$(cat "$TMP/metrics.txt")" 'perfkit_alerts{alertname="Always",alertstate="firing"} 1'
contains "probe results" "$(cat "$TMP/metrics.txt")" "perfkit_probe_success{target=\"tcp://127.0.0.1:$NGINX_PORT\"} 1"
contains "a failing probe" "$(cat "$TMP/metrics.txt")" "perfkit_probe_success{target=\"tcp://127.0.0.1:$DEAD\"} 0"
# node_* families keep node_exporter's names (node_memory_MemTotal_bytes is
# camelCase, which promtool's lint dislikes); perfkit's own must be clean.
grep -E '^(# (HELP|TYPE) )?perfkit_' "$TMP/metrics.txt" >"$TMP/perfkit_metrics.txt"
if promtool check metrics <"$TMP/perfkit_metrics.txt" >"$TMP/promtool.out" 2>&1; then
    ok "promtool check metrics on perfkit_*: no finding"
else
    fail "promtool check metrics on perfkit_*: no finding" "$(head -20 "$TMP/promtool.out")"
fi
check "promtool check metrics parses the whole output" sh -c \
    "promtool check metrics <'$TMP/metrics.txt' 2>&1 | grep -v 'snake_case' | grep -q . && exit 1 || exit 0"
http -H 'Accept: application/openmetrics-text; version=1.0.0' -D "$TMP/h2" -o "$TMP/om.txt" "$A/metrics"
contains "OpenMetrics on request" "$(cat "$TMP/h2")" "application/openmetrics-text"
check "OpenMetrics ends with # EOF" sh -c "tail -n 1 '$TMP/om.txt' | grep -qx '# EOF'"

http -o "$TMP/status.json" "$A/api/status"
jcheck "/api/status: system, cpu, memory, disk, network, processes" "$TMP/status.json" \
    'all(k in j for k in ("system", "cpu", "memory", "disk", "network", "processes")) and j["system"]["cpus"] >= 1'
jcheck "/api/status: ratios in range" "$TMP/status.json" \
    '0 <= j["cpu"]["utilization_ratio"] <= 1 and 0 < j["memory"]["used_ratio"] < 1'
jcheck "/api/status: top processes" "$TMP/status.json" \
    'len(j["processes"]["top_memory"]) >= 1 and all("pid" in p and "comm" in p for p in j["processes"]["top_memory"])'
jcheck "/api/status: probes" "$TMP/status.json" \
    'len(j["probes"]) == 3 and j["probes"][0]["success"] and j["probes"][2]["success"] is False'
http -o "$TMP/alerts.json" "$A/api/alerts"
jcheck "/api/alerts: the rule fires" "$TMP/alerts.json" \
    'any(a["alertname"] == "Always" and a["state"] == "firing" for a in j)'
http -o "$TMP/hist.json" "$A/api/history?metric=perfkit_memory_used_ratio&from=-5m"
jcheck "/api/history: points from the store" "$TMP/hist.json" \
    'len(j["points"]) >= 3 and all(0 < p[1] <= p[2] <= p[3] < 1 for p in j["points"])'
http -o "$TMP/health.json" "$A/health"
jcheck "/health: the age of the last sample" "$TMP/health.json" \
    'j["status"] == "alive" and 0 <= j["last_sample_age_s"] < 2'
expect_exit 0 "POST" http -o /dev/null -w '%{http_code}' -X POST "$A/metrics"
contains "POST is 405" "$OUT" "405"
expect_exit 0 "bad query" http -w '%{http_code}' "$A/api/history?metric=x&points=0"
contains "a bad query is 400 naming the parameter" "$OUT" '"parameter":"points"'
contains "  ... with status 400" "$OUT" "400"
expect_exit 0 "unknown path" http -o /dev/null -w '%{http_code}' "$A/nope"
contains "an unknown path is 404" "$OUT" "404"

# ---- notifications
hooks_have() { cat "$HOOKS"/*.json 2>/dev/null | grep -qF -- "$1"; }
wait_for 10 test -s "$ENVFILE"
wait_for 10 hooks_have '"status":"firing"'
if [ -s "$ENVFILE" ]; then ok "--on-alert ran"; else fail "--on-alert ran" "$(tail -5 "$TMP/agent.log")"; fi
contains "--on-alert: the alert in the environment" "$(cat "$ENVFILE" 2>/dev/null)" "PERFKIT_ALERT_NAME=Always"
first=$(ls "$HOOKS" | head -1)
if [ -n "$first" ]; then
    jcheck "webhook: Alertmanager v4 JSON, firing" "$HOOKS/$first" \
        'j["version"] == "4" and j["status"] == "firing" and j["alerts"][0]["labels"]["alertname"] == "Always"'
else
    fail "webhook: a message arrived" "$(tail -5 "$TMP/agent.log")"
fi

# ---- a real Prometheus scraping the agent
PPORT=$(free_port)
cat >"$TMP/prom.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: perfkit
    static_configs: [ { targets: ["127.0.0.1:$PORT"] } ]
EOF
start_bg prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/prom" \
    --web.listen-address="127.0.0.1:$PPORT" >"$TMP/prom.log" 2>&1
got=""
# prom_scraped: Prometheus answers the query with a value (the answer in $got)
prom_scraped() {
    got=$(http "http://127.0.0.1:$PPORT/api/v1/query?query=perfkit_agent_samples_total" 2>/dev/null)
    case $got in *'"value"'*) return 0 ;; esac
    return 1
}
wait_for 30 prom_scraped
contains "Prometheus scraped the agent" "$got" '"job":"perfkit"'
got=$(http "http://127.0.0.1:$PPORT/api/v1/query?query=up%7Bjob%3D%22perfkit%22%7D")
contains "Prometheus: the target is up" "$got" '"value":['
contains "  ... with value 1" "$got" ',"1"]'
got=$(http "http://127.0.0.1:$PPORT/api/v1/query?query=node_memory_MemTotal_bytes")
want=$($PY -c 'print([int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal:")][0])')
contains "Prometheus reads node_memory_MemTotal_bytes = /proc/meminfo's" "$got" "\"$want\""

# ---- reload and stop
printf 'interval 250ms\nalert Other: perfkit_agent_samples_total >= 0 for 0s\n' >"$TMP/m.conf"
kill -HUP $AGENT
rules_swapped() {
    [ "$(json_at "$A/api/alerts" 'any(a["alertname"] == "Other" for a in j) and not any(a["alertname"] == "Always" for a in j)')" = True ]
}
wait_for 10 rules_swapped
wait_for 10 grep -q "alert Always resolved" "$TMP/agent.log"
wait_for 10 hooks_have '"status":"resolved"'
http -o "$TMP/alerts2.json" "$A/api/alerts"
jcheck "SIGHUP: the new rule fires, the old one is gone" "$TMP/alerts2.json" \
    'any(a["alertname"] == "Other" for a in j) and not any(a["alertname"] == "Always" for a in j)'
contains "SIGHUP: the removed rule's alert is logged resolved" "$(cat "$TMP/agent.log")" "alert Always resolved"
got=$(cat "$HOOKS"/*.json 2>/dev/null)
contains "SIGHUP: the webhook hears it resolved" "$got" '"status":"resolved"'
contains "webhook: the instance label" "$got" "\"instance\":\"$(hostname):$PORT\""
stop_bg "$AGENT" 20
rc=$?
if [ $rc -eq 0 ]; then ok "SIGTERM: exit 0"; else fail "SIGTERM: exit 0" "exit $rc" "$(tail -5 "$TMP/agent.log")"; fi
# samples: one frame per sample of the current minute, a chunk per series per finished minute
got=$($PY -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("pragma integrity_check").fetchone()[0], c.execute("select (select count(*) from frames) + (select count(*) from chunks)").fetchone()[0] > 0)' "$TMP/m.db")
contains "the database passes integrity_check and holds samples" "$got" "ok True"

# ---- kill -9 while sampling every 100 ms: the history stays consistent
KPORT=$(free_port)
start_bg "$PERFKIT" monitor --listen "127.0.0.1:$KPORT" --db "$TMP/k.db" --interval 100ms --duration 30s \
    2>"$TMP/agent4.log"
K=$BG_PID
wait_for 20 samples_at_least "http://127.0.0.1:$KPORT" 20
stop_bg "$K" 5 KILL
got=$(db_check "$TMP/k.db")
if [ "${got%% *}" = ok ] && ge "${got#* }" 10; then ok "kill -9: integrity_check ok, the samples kept"; else
    fail "kill -9: integrity_check ok, the samples kept" "integrity_check, samples of node_load1: $got"; fi

# ---- authentication
printf 'a-long-enough-secret-token-123\n' >"$TMP/token"
PORT2=$(free_port)
start_bg "$PERFKIT" monitor --listen "127.0.0.1:$PORT2" --auth-token-file "$TMP/token" --db "$TMP/a.db" --duration 20s \
    2>"$TMP/agent2.log"
AGENT2=$BG_PID
wait_for 10 http_ok "http://127.0.0.1:$PORT2/ready" -H 'Authorization: Bearer a-long-enough-secret-token-123'
# No webhook, no HTTP probe, no https: none of libcurl, libssl, libcrypto is mapped.
check "without webhooks or HTTP probes, no libcurl, libssl or libcrypto" \
    sh -c "! grep -Eq 'libcurl|libssl|libcrypto' /proc/$AGENT2/maps"
expect_exit 0 "no token" http -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/api/status"
contains "without the token: 401" "$OUT" "401"
expect_exit 0 "the token" http -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer a-long-enough-secret-token-123' "http://127.0.0.1:$PORT2/api/status"
contains "with the token: 200" "$OUT" "200"

# ---- the dashboard in headless Chromium
if command -v chromium >/dev/null 2>&1; then
    PORT3=$(free_port)
    start_bg "$PERFKIT" monitor --listen "127.0.0.1:$PORT3" --db "$TMP/d.db" --interval 250ms --duration 40s \
        --probe "tcp://127.0.0.1:$NGINX_PORT" --alert 'Shown: perfkit_agent_samples_total >= 0 for 0s' \
        2>"$TMP/agent3.log"
    wait_for 10 http_ok "http://127.0.0.1:$PORT3/ready"
    # history for the charts: a couple of seconds of samples, 250 ms apart
    wait_for 10 samples_at_least "http://127.0.0.1:$PORT3" 9
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --virtual-time-budget=8000 --dump-dom "http://127.0.0.1:$PORT3/" >"$TMP/dom.html" 2>"$TMP/chromium.log"
    dom=$(cat "$TMP/dom.html")
    contains "dashboard: the host line" "$dom" "$(hostname)"
    contains "dashboard: CPU as a percentage" "$dom" ' %</div>'
    contains "dashboard: the firing alert" "$dom" "<td>Shown</td><td>firing</td>"
    contains "dashboard: the probe" "$dom" "1 / 1 up"
    check "dashboard: the CPU chart has points" grep -Eq 'id="cpu-chart"[^>]*data-points="[1-9]' "$TMP/dom.html"
    check "dashboard: no request left the host" sh -c "! grep -Eiq 'https?://[a-z]' '$TMP/dom.html' || ! grep -Eio 'src=\"https?://[^\"]*' '$TMP/dom.html'"
else
    fail "chromium is installed (make deps)"
fi

finish
