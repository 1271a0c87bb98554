#!/usr/bin/env bash
# perfkit load end to end against real servers on loopback: Debian's nginx
# (tests/integration/nginx.sh) and pk_badserver's misbehaving modes
# (tests/helpers/badserver.c). Every run is bounded by -n or -d and a timeout.
# Values are checked against what the servers did: request counts the server
# read, bytes nginx sent (measured with curl), status codes by construction.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"

L() { "$PERFKIT" load --no-progress "$@"; }

nginx_start "$TMP/nginx" || die "nginx starts"
N="http://127.0.0.1:$NGINX_PORT"
NS="https://127.0.0.1:$NGINX_TLS_PORT"

# One response of nginx for / as bytes on the wire (headers + 612 body bytes);
# every response of a run is the same size.
HDR=$(HTTP_MAX_TIME=3 http -D - -o /dev/null "$N/" | wc -c)
RESP=$((HDR + 612))

# ---- closed model, exact counts
expect_exit 0 "closed -n 2000 against nginx" L -t 1 -c 4 -n 2000 --json "$TMP/c.json" "$N/"
jcheck "closed: 2000 requests" "$TMP/c.json" 'j["requests"] == 2000'
jcheck "closed: all 200" "$TMP/c.json" 'j["status_codes"] == {"200": 2000}'
jcheck "closed: no errors" "$TMP/c.json" 'j["errors"]["total"] == 0 and j["error_rate"] == 0'
jcheck "closed: bytes in = 2000 nginx responses ($RESP bytes each)" "$TMP/c.json" "j['bytes']['in'] == 2000 * $RESP"
jcheck "closed: latencies ordered" "$TMP/c.json" \
    'l=j["latency_us"]; 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p999"] <= l["max"] and l["count"] == 2000'
jcheck "closed: model, threads, connections" "$TMP/c.json" \
    'j["model"] == "closed" and j["threads"] == 1 and j["connections"] == 4'
contains "summary names the percentiles" "$OUT" "p99.99"

badserver_start ok
expect_exit 0 "closed -n 500 -c 3 against the ok server" L -t 2 -c 3 -n 500 --json "$TMP/ok.json" "http://127.0.0.1:$BADSERVER_PORT/x"
badserver_stop
jcheck "the server read exactly 500 requests" "$TMP/ok.json" "j['requests'] == 500 and $(cat "$BADSERVER_REQUESTS") == 500"

expect_exit 0 "pipelining 8 deep" L -t 1 -c 2 --pipeline 8 -n 1000 --json "$TMP/p.json" "$N/"
jcheck "pipelining: 1000 responses, no errors" "$TMP/p.json" 'j["requests"] == 1000 and j["errors"]["total"] == 0'

expect_exit 0 "HEAD" L -t 1 -c 1 -n 100 -m HEAD --json "$TMP/h.json" "$N/"
jcheck "HEAD: headers only ($HDR bytes each)" "$TMP/h.json" "j['requests'] == 100 and j['bytes']['in'] == 100 * $HDR"

expect_exit 0 "no keep-alive" L -t 1 -c 2 -n 200 --no-keepalive --json "$TMP/nk.json" "$N/"
jcheck "no keep-alive: one connection per request" "$TMP/nk.json" 'j["requests"] == 200 and j["connects"] >= 200'

# --no-keepalive closes after each response itself (RFC 9112 9.6): against a
# server that ignores "Connection: close" (badserver ok keeps every
# connection open) the server still sees one connection per request.
badserver_start ok --connections-file "$TMP/nk.conns"
expect_exit 0 "no keep-alive, the server ignores Connection: close" L -t 1 -c 1 -n 200 --no-keepalive \
    --json "$TMP/nki.json" "http://127.0.0.1:$BADSERVER_PORT/"
badserver_stop
jcheck "no keep-alive: 200 responses, no errors, 200 connects" "$TMP/nki.json" \
    'j["requests"] == 200 and j["errors"]["total"] == 0 and j["connects"] == 200'
check "no keep-alive: the server accepted 200 connections for its 200 requests" \
    test "$(cat "$TMP/nk.conns") $(cat "$BADSERVER_REQUESTS")" = "200 200"

# Python's http.server closes after each response without echoing
# "Connection: close" (as HTTP/1.0, and as HTTP/1.1 with -p HTTP/1.1):
# its close must not turn into read errors. It logs each request it answers.
mkdir -p "$TMP/pyroot" && printf 'hello\n' >"$TMP/pyroot/index.html"
for proto in HTTP/1.0 HTTP/1.1; do
    PYPORT=$(free_port)
    start_bg $PY -m http.server "$PYPORT" --bind 127.0.0.1 --directory "$TMP/pyroot" -p "$proto" \
        >/dev/null 2>"$TMP/py.log"
    pypid=$BG_PID
    wait_for 5 http_ok "http://127.0.0.1:$PYPORT/" || fail "python http.server $proto starts"
    : >"$TMP/py.log"  # the probe's line out
    expect_exit 0 "no keep-alive against python http.server $proto" L -t 1 -c 1 -n 200 --no-keepalive \
        --json "$TMP/py.json" "http://127.0.0.1:$PYPORT/"
    stop_bg "$pypid"
    jcheck "python $proto: 200 responses, no errors, 200 connects" "$TMP/py.json" \
        'j["requests"] == 200 and j["errors"]["total"] == 0 and j["connects"] == 200'
    check "python $proto: the server answered 200 requests" test "$(grep -c '"GET / HTTP/1.1" 200' "$TMP/py.log")" -eq 200
done

# Weighted URLs: smooth weighted round-robin gives exact proportions.
expect_exit 0 "two URLs weighted 3:1" L -t 1 -c 1 -n 400 --json "$TMP/w.json" "$N/@3" "$N/status/404@1"
jcheck "weights: 300 x 200, 100 x 404" "$TMP/w.json" 'j["status_codes"] == {"200": 300, "404": 100}'
jcheck "weights: 404s are errors" "$TMP/w.json" 'j["errors"]["status"] == 100 and abs(j["error_rate"] - 0.25) < 1e-12'
# by URL: what nginx answers on each (200 on /, 404 on /status/404), counted apart
jcheck "by URL: 300 answers of 200 on /, 100 of 404 on /status/404, each with its latencies" "$TMP/w.json" \
    "g={x['name']: x for x in j['by_request']}; a=g['$N/']; b=g['$N/status/404']; len(g) == 2 and a['requests'] == 300 and a['status_codes'] == {'200': 300} and a['errors']['total'] == 0 and b['requests'] == 100 and b['status_codes'] == {'404': 100} and b['errors'] == {'total': 100, 'status': 100, 'transport': 0, 'dropped': 0} and a['latency_us']['count'] == 300 and b['latency_us']['count'] == 100"
contains "by URL: the summary names each" "$OUT" "$N/status/404"
contains "by URL: with its counts" "$OUT" "100 requests · 100 errors (100.00%)"

badserver_start status
expect_exit 0 "status map" L -t 1 -c 1 -n 300 --json "$TMP/st.json" "http://127.0.0.1:$BADSERVER_PORT/"
badserver_stop
jcheck "status: 100 each of 200, 404, 500" "$TMP/st.json" 'j["status_codes"] == {"200": 100, "404": 100, "500": 100}'

# ---- scenario
cat >"$TMP/s.scn" <<EOF
request GET $N/ weight 1
  header Accept: text/html
request POST $N/status/404 weight 1
  body {"a": 1}
EOF
expect_exit 0 "scenario" L -t 1 -c 2 -n 400 --seed 7 --json "$TMP/s.json" --scenario "$TMP/s.scn"
jcheck "scenario: both requests sent" "$TMP/s.json" \
    's=j["status_codes"]; s.get("200",0) + s.get("404",0) == 400 and 100 < s.get("404",0) < 300'
jcheck "scenario: by request, METHOD URL when unnamed" "$TMP/s.json" \
    "g={x['name']: x for x in j['by_request']}; sorted(g) == ['GET $N/', 'POST $N/status/404'] and g['GET $N/']['status_codes'] == {'200': g['GET $N/']['requests']} and g['POST $N/status/404']['status_codes'] == {'404': g['POST $N/status/404']['requests']} and sum(x['requests'] for x in g.values()) == 400"
cat >"$TMP/n.scn" <<EOF
request GET $N/?id=1
  name item
request GET $N/?id=2
  name item
request GET $N/status/404
  name missing
EOF
expect_exit 0 "scenario with names" L -t 1 -c 2 -n 300 --seed 3 --json "$TMP/n.json" --scenario "$TMP/n.scn"
jcheck "scenario: requests of one name counted together" "$TMP/n.json" \
    "g={x['name']: x for x in j['by_request']}; sorted(g) == ['item', 'missing'] and g['item']['requests'] + g['missing']['requests'] == 300 and g['missing']['errors']['status'] == g['missing']['requests'] and g['item']['errors']['total'] == 0"

# ---- open model
expect_exit 0 "open model -R 2000 for 3 s" L -t 1 -c 20 -R 2000 -d 3s --json "$TMP/o.json" "$N/"
jcheck "open: achieved within 2% of the target" "$TMP/o.json" \
    'r=j["rate"]; abs(r["achieved"] - r["target"]) <= 0.02 * r["target"] and abs(r["target"] - 2000) <= 20'
jcheck "open: corrected >= uncorrected" "$TMP/o.json" \
    'all(j["latency_us"][k] >= j["latency_uncorrected_us"][k] for k in ("p50", "p99", "max"))'
jcheck "open: three seconds of about 2000" "$TMP/o.json" \
    'len(j["series"]) == 3 and all(abs(s["requests"] - 2000) <= 40 for s in j["series"])'

# The schedule's boundary: -R 1000 -d 2s is 2000 requests due, the last at
# exactly 2 s; all are sent, and the target is what was asked.
badserver_start ok
expect_exit 0 "open model -R 1000 -d 2s" L -t 2 -c 50 -R 1000 -d 2s --json "$TMP/due.json" "http://127.0.0.1:$BADSERVER_PORT/"
badserver_stop
jcheck "open: rate.target is 1000/s as asked, and the 2000 due were sent" "$TMP/due.json" \
    'j["rate"]["target"] == 1000 and j["rate"]["sends"] == 2000 and j["duration_s"] == 2'
check "open: the server read the 2000 requests due (rate x duration)" test "$(cat "$BADSERVER_REQUESTS")" -eq 2000

# Overload in the open model: 2000/s on 5 connections to a server that takes
# 10 ms per response (at most 500/s). What was due and never sent is
# dropped: due (rate x duration, 6000) = what the server received + dropped.
badserver_start delay
expect_exit 3 "open model overload, dropped<1% fails" L -t 1 -c 5 -R 2000 -d 3s --threshold 'dropped<1%' \
    --json "$TMP/dr.json" "http://127.0.0.1:$BADSERVER_PORT/"
badserver_stop
got=$(cat "$BADSERVER_REQUESTS")
jcheck "overload: dropped = 6000 due - $got the server received" "$TMP/dr.json" \
    "j['errors']['dropped'] == 6000 - $got and j['rate']['due'] == 6000 and j['rate']['sends'] == $got and j['errors']['dropped'] > 0"
jcheck "overload: dropped requests are failed attempts of the error rate" "$TMP/dr.json" \
    "e=j['errors']; e['total'] == e['dropped'] + e['transport'] + e['status'] and abs(j['error_rate'] - e['total'] / (j['requests'] + e['transport'] + e['dropped'])) < 1e-12"
jcheck "overload: unfinished are only requests sent (at most one per connection)" "$TMP/dr.json" 'j["unfinished"] <= 5'
jcheck "overload: the threshold's value is dropped / due" "$TMP/dr.json" \
    't=j["thresholds"][0]; t["metric"] == "dropped" and not t["pass"] and abs(t["value"] - j["errors"]["dropped"] / 6000) < 1e-12'
contains "overload: the summary's dropped line" "$OUT" "of 6,000 due"

# Coordinated omission: every 100th request stalls 500 ms; at 100/s on one
# connection the requests due meanwhile wait behind it.
badserver_start stall
expect_exit 0 "open model against a stalling server" L -t 1 -c 1 -R 100 -d 3s --json "$TMP/co.json" "http://127.0.0.1:$BADSERVER_PORT/"
badserver_stop
jcheck "stall: corrected p75 shows the wait (> 100 ms)" "$TMP/co.json" 'j["latency_us"]["p75"] > 100000'
jcheck "stall: uncorrected p75 does not (< 50 ms)" "$TMP/co.json" 'j["latency_uncorrected_us"]["p75"] < 50000'
jcheck "stall: max about 500 ms both ways" "$TMP/co.json" \
    '450000 < j["latency_uncorrected_us"]["max"] <= j["latency_us"]["max"] < 1000000'
jcheck "stall: late sends counted" "$TMP/co.json" 'j["rate"]["late_sends"] > 0'

expect_exit 0 "rate stages" L -t 1 -c 10 --stage 1s:500/s --stage 1s:1000/s --json "$TMP/rs.json" "$N/"
jcheck "rate stages: 500 then 1000" "$TMP/rs.json" \
    's=j["series"]; len(s) == 2 and abs(s[0]["requests"] - 500) <= 10 and abs(s[1]["requests"] - 1000) <= 20'
jcheck "rate stages: each step's target, length, rate and latencies" "$TMP/rs.json" \
    's=j["stages"]; len(s) == 2 and [x["target"] for x in s] == [500, 1000] and all(x["duration_s"] == 1 for x in s) and abs(s[0]["rps"] - 500) <= 10 and abs(s[1]["rps"] - 1000) <= 20 and sum(x["requests"] for x in s) == j["requests"] and all(0 < x["latency_us"]["p50"] <= x["latency_us"]["p99"] for x in s)'
contains "rate stages: the summary's rows" "$OUT" "2: 1,000/s for 1.00 s"

expect_exit 0 "warmup" L -t 1 -c 2 -R 500 -d 2s --warmup 1s --json "$TMP/wu.json" "$N/"
jcheck "warmup: one measured second of 500" "$TMP/wu.json" \
    'abs(j["duration_s"] - 1) < 0.01 and abs(j["requests"] - 500) <= 5 and j["warmup_s"] == 1'

expect_exit 0 "host metrics" L -t 1 -c 2 -R 200 -d 3s --host-metrics --json "$TMP/hm.json" "$N/"
jcheck "host metrics: CPU and memory each second, in range" "$TMP/hm.json" \
    'j["host_metrics"] and len(j["series"]) == 3 and all(0 <= s["cpu_pct"] <= 100 and 0 < s["mem_used_pct"] < 100 for s in j["series"])'
contains "host metrics: summary line" "$OUT" "host"

# ---- https
# libssl is loaded only by a run with an https:// URL (core/dynlib.h).
# load_running PID: its worker thread has started (the engine sets TLS up before it starts threads)
load_running() { [ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -ge 2 ]; }
maps_during() {  # maps_during OUT ARGS...: OUT gets the maps of a 2 s load run, read once it runs
    local out=$1
    shift
    start_bg "$PERFKIT" load --no-progress -t 1 -c 1 -d 2s "$@" >/dev/null 2>&1
    local pid=$BG_PID
    wait_for 2 load_running "$pid"
    cat "/proc/$pid/maps" >"$out" 2>/dev/null
    wait_for 5 gone "$pid"
    stop_bg "$pid"
}
maps_during "$TMP/maps.http" "$N/"
got=$(cat "$TMP/maps.http")
check "plain http: libssl and libcrypto are not loaded" test -n "$got" -a -z "$(grep -E 'libssl|libcrypto' <<<"$got")"
maps_during "$TMP/maps.https" -k "$NS/"
contains "https: libssl is loaded" "$(cat "$TMP/maps.https")" "libssl.so.3"
expect_exit 0 "https --insecure" L -t 1 -c 2 -n 200 -k --json "$TMP/t.json" "$NS/"
jcheck "https: 200 responses" "$TMP/t.json" 'j["status_codes"] == {"200": 200}'
expect_exit 4 "https without trust: nothing succeeded, exit 4" L -t 1 -c 1 -d 1s --json "$TMP/tv.json" "$NS/"
jcheck "https: the self-signed certificate is refused in the tls phase" "$TMP/tv.json" \
    'j["requests"] == 0 and j["errors"]["tls"].get("self-signed certificate", 0) > 0'
expect_exit 0 "https trusting the certificate" env SSL_CERT_FILE="$NGINX_CERT" \
    "$PERFKIT" load --no-progress -t 1 -c 1 -n 50 --json "$TMP/tc.json" "https://localhost:$NGINX_TLS_PORT/"
jcheck "https: verified by name" "$TMP/tc.json" 'j["status_codes"] == {"200": 50}'

# A TLS server that ends each response by closing its socket without
# TLS's close_notify (as Python's ssl does on close(), and servers that skip
# the shutdown): an HTTP/1.0 body delimited by the close ("close"), or a
# Content-Length body cut short ("short"). OpenSSL 3 reports both closes as
# an error; curl takes them as the end of the stream, and so must perfkit.
cat >"$TMP/tls_close.py" <<'PY'
import os, socket, ssl, sys, threading
port_file, mode, cert, key = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(64)
ls.settimeout(60)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
def serve(c):
    try:
        s = ctx.wrap_socket(c, server_side=True)
        data = b""
        while b"\r\n\r\n" not in data:
            b = s.recv(4096)
            if not b:
                return
            data += b
        if mode == "close":
            s.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 1000)
        else:
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        s.close()  # no close_notify
    except OSError:
        pass
while True:
    try:
        c, _ = ls.accept()
    except OSError:
        break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
tls_close_start() {  # tls_close_start MODE: sets TLSC_PORT
    rm -f "$TMP/tlsc.port"
    start_bg $PY "$TMP/tls_close.py" "$TMP/tlsc.port" "$1" "$NGINX_CERT" "$NGINX_DIR/key.pem" 2>"$TMP/tlsc.log"
    TLSC_PID=$BG_PID
    wait_for 5 test -s "$TMP/tlsc.port" || fail "TLS close server $1 starts" "$(cat "$TMP/tlsc.log")"
    TLSC_PORT=$(cat "$TMP/tlsc.port")
}
tls_close_start close
curl_got=$(HTTP_MAX_TIME=3 http -k -o /dev/null -w '%{http_code} %{size_header} %{size_download}' "https://127.0.0.1:$TLSC_PORT/")
expect_exit 0 "https, body delimited by a close without close_notify" L -t 1 -c 1 -n 20 -k \
    --json "$TMP/tlsc.json" "https://127.0.0.1:$TLSC_PORT/"
stop_bg "$TLSC_PID"
check "https close-delimited: curl -k gets 200 and the 1000-byte body" test "${curl_got%% *} ${curl_got##* }" = "200 1000"
jcheck "https close-delimited: 20 responses of 200, no errors, curl's bytes each ($curl_got)" "$TMP/tlsc.json" \
    "j['status_codes'] == {'200': 20} and j['errors']['total'] == 0 and j['bytes']['in'] == 20 * ($(echo "$curl_got" | awk '{ print $2 + $3 }'))"
# The same against openssl s_server -WWW: HTTP/1.0, the body delimited by
# the close (which s_server ends with a close_notify).
mkdir -p "$TMP/sroot" && head -c 3000 /dev/zero | tr '\0' 'y' >"$TMP/sroot/f.txt"
SPORT=$(free_port)
start_bg bash -c 'cd "$1" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$2" -cert "$3" -key "$4"' _ \
    "$TMP/sroot" "$SPORT" "$NGINX_CERT" "$NGINX_DIR/key.pem" >/dev/null 2>&1
spid=$BG_PID
wait_for 5 http_ok "https://127.0.0.1:$SPORT/f.txt" -k || fail "openssl s_server starts"
curl_got=$(HTTP_MAX_TIME=3 http -k -o /dev/null -w '%{http_code} %{size_header} %{size_download}' "https://127.0.0.1:$SPORT/f.txt")
expect_exit 0 "https against openssl s_server -WWW (HTTP/1.0, delimited by the close)" L -t 1 -c 1 -n 20 -k \
    --json "$TMP/sserv.json" "https://127.0.0.1:$SPORT/f.txt"
stop_bg "$spid"
jcheck "s_server: 20 responses of 200, no errors, curl's bytes each ($curl_got)" "$TMP/sserv.json" \
    "j['status_codes'] == {'200': 20} and j['errors']['total'] == 0 and j['bytes']['in'] == 20 * ($(echo "$curl_got" | awk '{ print $2 + $3 }'))"
tls_close_start short
expect_exit 18 "https short body: curl -k reports the partial body" http -k -o /dev/null "https://127.0.0.1:$TLSC_PORT/"
expect_exit 4 "https, a Content-Length body cut short without close_notify" L -t 1 -c 1 -n 20 -k \
    --json "$TMP/tlss.json" "https://127.0.0.1:$TLSC_PORT/"
stop_bg "$TLSC_PID"
jcheck "https short body under -k: read eof_in_body, not the certificate's name" "$TMP/tlss.json" \
    'j["requests"] == 0 and j["errors"]["read"] == {"eof_in_body": 20} and j["errors"]["total"] == 20'

# ---- faults: each counted under its phase, the run ends on time
fault() {  # fault MODE PHASE NAME
    badserver_start "$1"
    local t0=$SECONDS
    expect_exit 4 "fault $1: run completes, nothing succeeded (exit 4)" L -t 1 -c 3 -d 1.5s --timeout 500ms --json "$TMP/f.json" \
        "http://127.0.0.1:$BADSERVER_PORT/"
    badserver_stop
    jcheck "fault $1: counted as $2 $3" "$TMP/f.json" \
        "j['requests'] == 0 and j['errors']['$2'].get('$3', 0) > 0 and j['errors']['total'] == j['errors']['$2']['$3']"
    if [ $((SECONDS - t0)) -le 4 ]; then ok "fault $1: ends on time"; else fail "fault $1: ends on time" "took $((SECONDS - t0)) s"; fi
}
fault reset read ECONNRESET
fault close-mid read eof_in_body
fault close-head read eof_in_head
fault bad-chunk parse bad_chunk_size
fault garbage parse bad_version
fault oversized parse header_line_too_long
fault hang timeout timeout
fault slow-body timeout timeout
fault no-accept timeout timeout

# A second response to every request: counted as an error of its own (and
# the connection opened again), never dropped silently.
badserver_start extra --connections-file "$TMP/extra.conns"
expect_exit 0 "extra responses" L -t 1 -c 1 -n 100 --json "$TMP/ex.json" "http://127.0.0.1:$BADSERVER_PORT/"
badserver_stop
jcheck "extra responses: 100 answers, 100 parse unsolicited_data errors" "$TMP/ex.json" \
    'j["requests"] == 100 and j["errors"]["parse"] == {"unsolicited_data": 100} and j["errors"]["total"] == 100'
check "extra responses: a connection per request, as the server saw" \
    test "$(cat "$TMP/extra.conns") $(cat "$BADSERVER_REQUESTS")" = "100 100"
contains "extra responses: the summary names them" "$OUT" "parse unsolicited_data 100"

badserver_start close
expect_exit 0 "Connection: close honoured" L -t 1 -c 2 -n 100 --json "$TMP/cl.json" "http://127.0.0.1:$BADSERVER_PORT/"
badserver_stop
jcheck "close: 100 responses, 100 connections" "$TMP/cl.json" \
    'j["requests"] == 100 and j["errors"]["total"] == 0 and j["connects"] >= 100'

PORT=$(free_port)
expect_exit 4 "refused port: nothing succeeded, exit 4" L -t 1 -c 2 -n 20 --json "$TMP/rf.json" "http://127.0.0.1:$PORT/"
jcheck "refused: 20 connect errors ECONNREFUSED" "$TMP/rf.json" 'j["errors"]["connect"] == {"ECONNREFUSED": 20}'
contains "refused: the summary explains" "$OUT" "ECONNREFUSED"
contains "refused: says why the exit status" "$OUT" "no request succeeded (20 errors"
expect_exit 4 "refused port, more connections than -n" L -t 2 -c 50 -n 7 --json "$TMP/rf7.json" "http://127.0.0.1:$PORT/"
jcheck "refused: -n 7 attempts 7 requests, whatever -c" "$TMP/rf7.json" 'j["errors"]["connect"] == {"ECONNREFUSED": 7}'

expect_exit 4 "https to a plain http port: nothing succeeded, exit 4" L -t 1 -c 1 -n 10 -k --json "$TMP/tp.json" \
    "https://127.0.0.1:$NGINX_PORT/"
jcheck "https to a plain port: every error in the tls phase" "$TMP/tp.json" \
    'j["requests"] == 0 and j["errors"]["total"] == sum(j["errors"]["tls"].values()) > 0'
expect_exit 4 "every response 500: nothing succeeded, exit 4" L -t 1 -c 1 -n 10 "$N/status/500"
expect_exit 0 "one success of three is a run that worked (no threshold)" L -t 1 -c 1 -n 30 "$N/" "$N/status/500@2"

expect_exit 1 "unresolvable host" L -n 1 http://nosuch.invalid/
contains "unresolvable: names the host" "$OUT" "nosuch.invalid"

# ---- -H 'Host: ...': a name-based virtual host on 127.0.0.1 (a second
# nginx whose default server answers 404 and whose server vhost.test
# answers 200, logging the Host it got)
cat >"$TMP/vhost.conf.in" <<'EOF'
@USER_LINE@
worker_processes 1;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
daemon on;
events {
    worker_connections 256;
}
http {
    log_format host '$host';
    access_log @DIR@/access.log host;
    client_body_temp_path @DIR@/tmp/body;
    proxy_temp_path       @DIR@/tmp/proxy;
    fastcgi_temp_path     @DIR@/tmp/fastcgi;
    uwsgi_temp_path       @DIR@/tmp/uwsgi;
    scgi_temp_path        @DIR@/tmp/scgi;
    server {
        listen 127.0.0.1:@PORT@ default_server;
        listen 127.0.0.1:@TLS_PORT@ ssl default_server;
        ssl_certificate     @DIR@/cert.pem;
        ssl_certificate_key @DIR@/key.pem;
        server_name _;
        return 404 "no such host\n";
    }
    server {
        listen 127.0.0.1:@PORT@;
        server_name vhost.test;
        return 200 "vhost.test\n";
    }
}
EOF
main_nginx=("$NGINX_PORT" "$NGINX_TLS_PORT" "$NGINX_CERT" "$NGINX_DIR")
if NGINX_CONF_IN=$TMP/vhost.conf.in nginx_start "$TMP/vhost"; then
    V="http://127.0.0.1:$NGINX_PORT/"
    expect_exit 0 "-H 'Host: vhost.test' reaches the virtual host" L -t 1 -c 2 -n 100 -H 'Host: vhost.test' \
        --json "$TMP/vh.json" "$V"
    jcheck "Host override: 100 answers of the virtual host" "$TMP/vh.json" 'j["status_codes"] == {"200": 100}'
    expect_exit 4 "without -H Host the default server answers (404)" L -t 1 -c 1 -n 10 --json "$TMP/vd.json" "$V"
    jcheck "no override: 10 answers of the default server" "$TMP/vd.json" 'j["status_codes"] == {"404": 10}'
    nginx_stop "$TMP/vhost"
    check "Host override: nginx logged 100 requests for vhost.test, 10 for the address" \
        test "$(grep -cx vhost.test "$TMP/vhost/access.log") $(grep -cx 127.0.0.1 "$TMP/vhost/access.log")" = "100 10"
else
    fail "the virtual-host nginx starts"
fi
NGINX_PORT=${main_nginx[0]} NGINX_TLS_PORT=${main_nginx[1]} NGINX_CERT=${main_nginx[2]} NGINX_DIR=${main_nginx[3]}
expect_exit 2 "-H Host twice is refused" L -n 1 -H 'Host: a' -H 'host: b' "$N/"
contains "-H Host twice: named" "$OUT" "'Host' given twice"

# ---- thresholds
expect_exit 0 "thresholds pass" L -t 1 -c 2 -n 300 --threshold 'p99<10s' --threshold 'rps>1' \
    --threshold 'error_rate<1%' --json "$TMP/th.json" "$N/"
jcheck "thresholds: all pass in the JSON" "$TMP/th.json" \
    'len(j["thresholds"]) == 3 and all(t["pass"] for t in j["thresholds"])'
expect_exit 3 "a failing threshold exits 3" L -t 1 -c 1 -n 90 --threshold 'error_rate<1%' \
    --json "$TMP/tf.json" "$N/@2" "$N/status/500"
jcheck "threshold: error_rate 1/3 fails" "$TMP/tf.json" \
    't=j["thresholds"][0]; not t["pass"] and abs(t["value"] - 1/3) < 1e-9'

# ---- output formats
expect_exit 0 "latency spectrum and HDR log" L -t 1 -c 2 -R 400 -d 2s --latency-spectrum \
    --hdr-log "$TMP/a.hlog" --json "$TMP/a.json" "$N/"
contains "spectrum: HdrHistogram's columns" "$OUT" "Value     Percentile TotalCount 1/(1-Percentile)"
contains "spectrum: its footer" "$OUT" "#[Buckets ="
check "HDR log written" grep -q '^#\[Histogram log format version 1.3\]' "$TMP/a.hlog"
expect_exit 0 "second run" L -t 1 -c 2 -R 400 -d 2s --hdr-log "$TMP/b.hlog" --json "$TMP/b.json" "$N/"

expect_exit 0 "merge two JSON files" "$PERFKIT" load merge --json "$TMP/m.json" "$TMP/a.json" "$TMP/b.json"
jcheck "merge: by URL adds up too" "$TMP/m.json" \
    "len(j['by_request']) == 1 and j['by_request'][0]['requests'] == j['requests'] and j['by_request'][0]['name'] == '$N/'"
jcheck "merge: totals add" "$TMP/m.json" \
    "j['requests'] == $(json_eval "$TMP/a.json" 'j["requests"]') + $(json_eval "$TMP/b.json" 'j["requests"]') and j['sources'] == 2"
expect_exit 0 "merge two HDR logs" "$PERFKIT" load merge --json "$TMP/mh.json" "$TMP/a.hlog" "$TMP/b.hlog"
jcheck "merge: logs give the same percentiles as the JSON" "$TMP/mh.json" \
    "all(j['latency_us'][k] == $(json_eval "$TMP/m.json" 'j["latency_us"]') [k] for k in ('p50', 'p99', 'max')) and j['requests'] == $(json_eval "$TMP/m.json" 'j["requests"]')"

# ---- Ctrl-C: the summary and the JSON of what was measured
start_bg "$PERFKIT" load --no-progress -t 1 -c 2 -d 60s --json "$TMP/int.json" "$N/" >"$TMP/int.out" 2>&1
pid=$BG_PID
sleep 1.5  # not a wait: the run must have measured over 1 s when Ctrl-C comes (checked below)
stop_bg "$pid" 10 INT
rc=$?
if [ $rc -eq 130 ]; then ok "Ctrl-C exits 130"; else fail "Ctrl-C exits 130" "exit $rc" "$(tail -5 "$TMP/int.out")"; fi
jcheck "Ctrl-C: the JSON holds what was measured" "$TMP/int.json" 'j["requests"] > 0 and 1 < j["duration_s"] < 5'
contains "Ctrl-C: summary printed" "$(cat "$TMP/int.out")" "p99.99"

# ---- usage errors name what is wrong, before any traffic
expect_exit 2 "bad URL" L -n 1 "ftp://127.0.0.1/"
contains "bad URL: named" "$OUT" "ftp://127.0.0.1/"
expect_exit 2 "bad threshold" L -n 1 --threshold 'p99<fast' "$N/"
contains "bad threshold: named" "$OUT" "p99<fast"
expect_exit 2 "bad -c" L -n 1 -c 0 "$N/"
contains "bad -c: named" "$OUT" "-c"
expect_exit 2 "unknown option" L --frobnicate "$N/"
contains "unknown option: named" "$OUT" "frobnicate"
expect_exit 2 "-d with --stage" L -d 1s --stage 1s:2 "$N/"
expect_exit 2 "no URL" L -n 1
expect_exit 2 "merge of nothing" "$PERFKIT" load merge
# Output paths that cannot be written are refused before the first request
# (root may write any directory by access(2), but nothing can be created in /proc).
badserver_start ok
for opt in --json --hdr-log; do
    expect_exit 2 "$opt /proc/x is refused before the run" L -t 1 -c 1 -n 50 "$opt" /proc/x.out "http://127.0.0.1:$BADSERVER_PORT/"
    contains "$opt /proc/x: names the option and the path" "$OUT" "$opt: /proc/x.out"
done
badserver_stop
check "unwritable output paths: the server read no request" test "$(cat "$BADSERVER_REQUESTS")" -eq 0
expect_exit 2 "merge --json /proc/x is refused before reading" "$PERFKIT" load merge --json /proc/m.json "$TMP/a.json"
contains "merge --json /proc/x: named" "$OUT" "--json: /proc/m.json"
expect_exit 4 "merge of a run in which nothing succeeded exits 4" "$PERFKIT" load merge "$TMP/rf.json"
contains "merge: says no request succeeded" "$OUT" "perfkit load merge: no request succeeded"
echo '{"perfkit_load": 99}' >"$TMP/bad.json"
expect_exit 2 "merge of a bad file" "$PERFKIT" load merge "$TMP/bad.json"
contains "merge: names the file" "$OUT" "bad.json"

finish
