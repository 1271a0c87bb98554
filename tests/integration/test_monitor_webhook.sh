#!/usr/bin/env bash
# perfkit monitor's webhooks when delivery fails, on the real binary: a
# receiver that is down (nothing listens on its port) and one that answers
# 500 (a real HTTP server started here, which records every POST). Each
# failure is counted per receiver (perfkit_alert_webhook_failures_total, the
# URL with any password hidden), listed by /health, and logged: the first at once,
# then at most once a minute, so three failed messages make one line. Every
# process is bounded (--duration, timeouts) and stopped on exit.
. "$(dirname "$0")/lib.sh"

DEAD=$(free_port)
H500=$(free_port)
POSTS="$TMP/posts"
start_bg $PY - "$H500" "$POSTS" <<'PY'
import http.server, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "a") as f:
            f.write("post\n")
        body = b"down for maintenance\n"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", port), H)
s.timeout = 1
end = time.time() + 120
while time.time() < end: s.handle_request()
PY
# listening PORT: something accepts connections on 127.0.0.1:PORT
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 10 listening "$H500" || die "the 500 receiver listens"

DEAD_URL="http://127.0.0.1:$DEAD/hook"
DEAD_SHOWN=$DEAD_URL
URL500="http://127.0.0.1:$H500/hook"
PORT=$(free_port)
A="http://127.0.0.1:$PORT"
# three rules firing at once: three messages per receiver, each given up after 5 tries
start_bg "$PERFKIT" monitor --listen "127.0.0.1:$PORT" --db "$TMP/m.db" --interval 250ms --duration 90s \
    --no-default-rules --webhook "$DEAD_URL" --webhook "$URL500" \
    --alert 'One: perfkit_agent_samples_total >= 0 for 0s' \
    --alert 'Two: perfkit_agent_samples_total >= 0 for 0s' \
    --alert 'Three: perfkit_agent_samples_total >= 0 for 0s' 2>"$TMP/agent.log"
AGENT=$BG_PID
wait_for 10 http_ok "$A/ready" || die "the agent becomes ready" "$(cat "$TMP/agent.log")"

# failures RECEIVER: perfkit_alert_webhook_failures_total{receiver="RECEIVER"} on /metrics
failures() {
    http "$A/metrics" 2>/dev/null | awk -v k="perfkit_alert_webhook_failures_total{receiver=\"$1\"}" \
        '$1 == k { print $2; exit }'
}
failed_3() { ge "$(failures "$DEAD_SHOWN")" 3 && ge "$(failures "$URL500")" 3; }
if wait_for 40 failed_3; then
    ok "both receivers: 3 messages counted as failed, per receiver"
else
    fail "both receivers: 3 messages counted as failed, per receiver" \
        "down: $(failures "$DEAD_SHOWN"), 500: $(failures "$URL500")" "$(tail -5 "$TMP/agent.log")"
fi
metrics=$(http "$A/metrics")
contains "the counter names the receiver" "$metrics" \
    "perfkit_alert_webhook_failures_total{receiver=\"$DEAD_SHOWN\"}"
contains "  ... it is a counter" "$metrics" "# TYPE perfkit_alert_webhook_failures_total counter"
# the receiver's own record against the agent's count: 5 tries of each message it was given
F500=$(failures "$URL500")
N500=$(wc -l <"$POSTS")
if [ "$N500" -eq $((F500 * 5)) ]; then ok "the 500 receiver saw 5 tries per failed message ($N500 posts, $F500 failures)"; else
    fail "the 500 receiver saw 5 tries per failed message" "$N500 posts, $F500 failures"; fi

health=$(http "$A/health")
contains "/health lists the failing receivers" "$health" "\"failing_webhooks\":[\"$DEAD_SHOWN\",\"$URL500\"]"
contains "  ... and the agent is still alive" "$health" '"status":"alive"'
contains "  ... with status 200" "$(http_code "$A/health")" 200

log=$(cat "$TMP/agent.log")
n_dead=$(grep -cF "webhook $DEAD_SHOWN: " "$TMP/agent.log")
n_500=$(grep -cF "webhook $URL500: " "$TMP/agent.log")
if [ "$n_dead" = 1 ] && [ "$n_500" = 1 ]; then
    ok "one log line per receiver for 3 failed messages each (rate-limited)"
else
    fail "one log line per receiver for 3 failed messages each (rate-limited)" "$n_dead and $n_500 lines" "$log"
fi
check "the down receiver's line says why" grep -Eq \
    "webhook $DEAD_SHOWN: [0-9]+ messages? not delivered: Failed to connect" "$TMP/agent.log"
check "the 500 receiver's line says why" grep -Eq \
    "webhook $URL500: [0-9]+ messages? not delivered: HTTP status 500" "$TMP/agent.log"
stop_bg "$AGENT" 20
rc=$?
if [ $rc -eq 0 ]; then ok "SIGTERM: exit 0"; else fail "SIGTERM: exit 0" "exit $rc" "$(tail -5 "$TMP/agent.log")"; fi

finish
