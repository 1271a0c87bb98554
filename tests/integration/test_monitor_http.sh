#!/usr/bin/env bash
# perfkit monitor's HTTP server on the real binary, as clients see it: an
# IPv4-mapped loopback --listen, and the Host header rules of RFC 9112
# (HTTP/1.1 without Host, or with two, is a 400). The agent has a --duration;
# every request a timeout.
. "$(dirname "$0")/lib.sh"

# raw PORT REQUEST: sends REQUEST (printf format) to 127.0.0.1:PORT and prints the answer
raw() {
    $PY - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
out = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        out += b
        head, _, body = out.partition(b"\r\n\r\n")
        cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
        if cl and len(body) >= int(cl[0].split(b":")[1]):
            break
except socket.timeout:
    pass
print(out.decode(errors="replace"))
PY
}

PORT=$(free_port)
start_bg "$PERFKIT" monitor --listen "[::ffff:127.0.0.1]:$PORT" --db "$TMP/m.db" --interval 250ms --duration 60s \
    2>"$TMP/agent.log"
if wait_for 10 http_ok "http://127.0.0.1:$PORT/ready"; then
    ok "--listen [::ffff:127.0.0.1]:PORT: the agent serves on the IPv4 loopback it maps"
else
    fail "--listen [::ffff:127.0.0.1]:PORT: the agent serves on the IPv4 loopback it maps" "$(cat "$TMP/agent.log")"
fi
contains "  ... and says where" "$(cat "$TMP/agent.log")" "dashboard http://127.0.0.1:$PORT/"

got=$(raw "$PORT" 'GET /health HTTP/1.1\r\n\r\n')
contains "HTTP/1.1 without Host: 400" "$got" "HTTP/1.1 400 "
contains "  ... saying why" "$got" '{"error":"bad request: an HTTP/1.1 request needs a Host header"}'
got=$(raw "$PORT" 'GET /health HTTP/1.1\r\nHost: localhost\r\nHost: 127.0.0.1\r\n\r\n')
contains "two Host headers: 400" "$got" "HTTP/1.1 400 "
contains "  ... saying why" "$got" '{"error":"bad request: more than one Host header"}'
got=$(raw "$PORT" 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n')
contains "one Host header: 200" "$got" "HTTP/1.1 200 "
got=$(raw "$PORT" 'GET /health HTTP/1.0\r\n\r\n')
contains "HTTP/1.0 without Host: 200" "$got" " 200 "
got=$(http -o /dev/null -w '%{http_code}' -H 'Host:' "http://127.0.0.1:$PORT/health")
contains "curl without Host (-H 'Host:'): 400" "$got" "400"

finish
