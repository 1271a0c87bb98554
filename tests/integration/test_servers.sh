#!/usr/bin/env bash
# The servers the perfkit load tests run against behave as documented: a real
# nginx (tests/integration/nginx.sh) and every mode of pk_badserver
# (tests/helpers/badserver.c), checked with curl and raw sockets. Loopback only;
# every client call has a time limit; every server is stopped on exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"

# lib.sh's http: curl on loopback, never through a proxy, never for long.
HTTP_MAX_TIME=3

# listens_on_loopback_only PORT: the socket listening on PORT is bound to
# 127.0.0.1 (and nothing listens on PORT on any other address).
listens_on_loopback_only() {
    $PY - "$1" <<'PY'
import sys
port = int(sys.argv[1])
found = []
for path in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(path).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        f = l.split()
        addr, p = f[1].split(":")
        if int(p, 16) == port and f[3] == "0A":  # LISTEN
            found.append(addr)
assert found == ["0100007F"], found
PY
}

# raw PORT PYTHON-EXPR-FOR-BYTES: sends the bytes, prints repr of all it reads
# until EOF (then "<EOF>"), a reset ("<RESET>") or 1 s of silence ("<QUIET>").
raw() {
    $PY - "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(eval(sys.argv[2]))
s.settimeout(1)
data, end = b"", ""
try:
    while True:
        b = s.recv(65536)
        if not b:
            end = "<EOF>"
            break
        data += b
except socket.timeout:
    end = "<QUIET>"
except ConnectionResetError:
    end = "<RESET>"
print(repr(data) + end)
PY
}

GET='b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"'

# ---- nginx
if nginx_start "$TMP/nginx" 2>"$TMP/nginx.err"; then
    ok "nginx starts on 127.0.0.1:$NGINX_PORT and :$NGINX_TLS_PORT"
    U=http://127.0.0.1:$NGINX_PORT
    check "nginx: http listens on 127.0.0.1 only" listens_on_loopback_only "$NGINX_PORT"
    check "nginx: https listens on 127.0.0.1 only" listens_on_loopback_only "$NGINX_TLS_PORT"
    contains "nginx: / is 200 with 612 bytes" "$(http -o "$TMP/index" -w '%{http_code} %{size_download}' "$U/")" "200 612"
    check "nginx: / is the index.html nginx_start wrote" cmp "$TMP/index" "$NGINX_DIR/www/index.html"
    check "nginx: index.html is exactly 612 bytes" test "$(wc -c <"$NGINX_DIR/www/index.html")" -eq 612
    contains "nginx: /big is 200 with 102400 bytes" "$(http -o "$TMP/big" -w '%{http_code} %{size_download}' "$U/big")" "200 102400"
    check "nginx: /big is big.bin" cmp "$TMP/big" "$NGINX_DIR/www/big.bin"
    contains "nginx: /status/404 is 404" "$(http -o /dev/null -w '%{http_code}' "$U/status/404")" "404"
    contains "nginx: /status/500 is 500" "$(http -o /dev/null -w '%{http_code}' "$U/status/500")" "500"
    contains "nginx: HEAD /head gives Content-Length 612 and no body" \
        "$(http -I -w 'size=%{size_download}' "$U/head" | tr -d '\r')" "Content-Length: 612"
    contains "nginx: keep-alive (two requests, one connection)" \
        "$(http -v -o /dev/null -o /dev/null "$U/" "$U/big" 2>&1)" "Re-using existing connection"
    contains "nginx: https with --cacert \$NGINX_CERT works" \
        "$(http --cacert "$NGINX_CERT" --resolve "localhost:$NGINX_TLS_PORT:127.0.0.1" \
              -o /dev/null -w '%{http_code} %{size_download}' "https://localhost:$NGINX_TLS_PORT/")" "200 612"
    contains "nginx: the certificate also names IP 127.0.0.1" \
        "$(http --cacert "$NGINX_CERT" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$NGINX_TLS_PORT/big")" "200"
    expect_exit 60 "nginx: https without the CA fails verification" \
        http --resolve "localhost:$NGINX_TLS_PORT:127.0.0.1" -o /dev/null "https://localhost:$NGINX_TLS_PORT/"
    # /slow sends about 10 KiB/s: after 1 s only part of the 100 KiB has arrived.
    http --max-time 1 -o /dev/null -w '%{size_download}' "$U/slow" >"$TMP/slow" 2>/dev/null
    rc=$?
    got=$(cat "$TMP/slow")
    if [ "$rc" -eq 28 ] && [ "${got:-0}" -gt 0 ] && [ "$got" -lt 51200 ]; then
        ok "nginx: /slow is rate-limited ($got bytes in 1 s)"
    else
        fail "nginx: /slow is rate-limited" "curl exit $rc, $got bytes in 1 s"
    fi
    check "nginx: error.log is in DIR" test -f "$NGINX_DIR/error.log"
    nginx_stop "$TMP/nginx"
    if http -o /dev/null "$U/" 2>/dev/null; then fail "nginx_stop stops nginx"; else ok "nginx_stop stops nginx"; fi
else
    fail "nginx starts" "$(cat "$TMP/nginx.err")"
fi

# ---- pk_badserver
BS_ERR=$TMP/badserver.err
start() {
    if badserver_start "$@" 2>"$BS_ERR"; then return 0; fi
    fail "pk_badserver --mode $1 starts" "$(cat "$BS_ERR")"
    return 1
}

if start ok; then
    B=http://127.0.0.1:$BADSERVER_PORT
    check "badserver: listens on 127.0.0.1 only" listens_on_loopback_only "$BADSERVER_PORT"
    contains "ok: 200 with body ok" "$(http -w ' %{http_code}' "$B/")" "ok 200"
    contains "ok: keep-alive" "$(http -v -o /dev/null -o /dev/null "$B/a" "$B/b" 2>&1)" "Re-using existing connection"
    contains "ok: pipelined GET, POST with a body, HEAD: three answers in order" \
        "$(raw "$BADSERVER_PORT" 'b"GET / HTTP/1.1\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloHEAD / HTTP/1.1\r\n\r\n"')" \
        "'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n'<QUIET>"
    # Clients that reset: the server stays up.
    $PY - "$BADSERVER_PORT" <<'PY' 2>/dev/null
import socket, struct, sys
for i in range(200):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(b"GET / HTTP/1.1\r\nHo" if i % 2 else b"GET / HTTP/1.1\r\n\r\n" * 50)
    s.close()
PY
    contains "ok: still answers after 200 clients reset their connections" "$(http -w ' %{http_code}' "$B/")" "ok 200"
    badserver_stop
fi

if start ok --connections-file "$TMP/conns"; then
    for i in 1 2 3 4 5; do http -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/$i"; done
    http -o /dev/null -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/a" "http://127.0.0.1:$BADSERVER_PORT/b"
    check "ok: --requests-file counts the requests while running (within 1 s)" \
        wait_for 1.1 grep -qx 7 "$BADSERVER_REQUESTS"
    badserver_stop
    contains "ok: --requests-file holds 7 after exit" "$(cat "$BADSERVER_REQUESTS")" "7"
    contains "ok: --connections-file holds 6 (the last two requests shared one)" "$(cat "$TMP/conns")" "6"
fi

if start extra; then
    contains "extra: two complete answers to one request" "$(raw "$BADSERVER_PORT" "$GET")" \
        "'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'<QUIET>"
    badserver_stop
fi

if start status; then
    B=http://127.0.0.1:$BADSERVER_PORT
    codes=$(for i in 1 2 3 4 5 6; do http -o /dev/null -w '%{http_code} ' "$B/"; done)
    contains "status: cycles 200 404 500 over connections" "$codes" "200 404 500 200 404 500 "
    contains "status: Content-Length 0" "$(http -i "$B/" | tr -d '\r')" "Content-Length: 0"
    badserver_stop
fi

if start close; then
    out=$(http -v -o /dev/null -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$BADSERVER_PORT/a" "http://127.0.0.1:$BADSERVER_PORT/b" 2>&1)
    contains "close: two 200s" "$out" "200 200"
    contains "close: says Connection: close" "$out" "Connection: close"
    if printf '%s' "$out" | grep -q "Re-using existing connection"; then
        fail "close: curl has to reconnect" "$out"
    else
        ok "close: curl has to reconnect"
    fi
    contains "close: FIN right after the response" "$(raw "$BADSERVER_PORT" "$GET")" "Connection: close\r\n\r\nok'<EOF>"
    badserver_stop
fi

if start reset; then
    expect_exit 56 "reset: curl sees the connection reset" http -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/"
    contains "reset: curl's message" "$OUT" "reset"
    contains "reset: RST on the wire, no response byte" "$(raw "$BADSERVER_PORT" "$GET")" "b''<RESET>"
    badserver_stop
    contains "reset: the server read both requests" "$(cat "$BADSERVER_REQUESTS")" "2"
fi

if start close-mid; then
    expect_exit 18 "close-mid: curl reports a truncated body" http -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/"
    contains "close-mid: 90 bytes missing" "$OUT" "90 bytes remaining"
    badserver_stop
fi

# curl itself accepts an EOF inside the headers (it prints a 200 with no
# body), so the bytes are checked on the wire instead.
if start close-head; then
    contains "close-head: half a header, then FIN" "$(raw "$BADSERVER_PORT" "$GET")" "b'HTTP/1.1 200 OK\r\nContent-Le'<EOF>"
    badserver_stop
fi

if start slow-body; then
    expect_exit 28 "slow-body: curl --max-time 1 times out" http --max-time 1 -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/"
    contains "slow-body: inside the body" "$OUT" "out of 50 bytes received"
    badserver_stop
fi

if start hang; then
    expect_exit 28 "hang: curl --max-time 1 times out" http --max-time 1 -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/"
    contains "hang: with 0 bytes" "$OUT" "0 bytes received"
    badserver_stop
    contains "hang: the request was read" "$(cat "$BADSERVER_REQUESTS")" "1"
fi

if start bad-chunk; then
    expect_exit 56 "bad-chunk: curl fails at once" http -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/"
    contains "bad-chunk: a chunk error" "$OUT" "chunk"
    badserver_stop
fi

if start garbage; then
    expect_exit 1 "garbage: curl rejects the reply" http -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/"
    contains "garbage: not HTTP/1.x" "$OUT" "HTTP/0.9"
    contains "garbage: an SSH banner, connection kept" "$(raw "$BADSERVER_PORT" "$GET")" "b'SSH-2.0-OpenSSH_9.2\r\n'<QUIET>"
    badserver_stop
fi

if start oversized; then
    out=$(http -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/" 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 28 ]; then ok "oversized: curl refuses the 100 KiB header (exit $rc)"; else fail "oversized: curl refuses the 100 KiB header" "exit $rc" "$out"; fi
    check "oversized: the header line is 100 KiB" $PY - "$BADSERVER_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"GET / HTTP/1.1\r\n\r\n")
data = b""
while not data.endswith(b"\r\n\r\nok"):
    b = s.recv(65536)
    assert b, data[-40:]
    data += b
lines = data.split(b"\r\n")
assert lines[0] == b"HTTP/1.1 200 OK", lines[0]
assert len(lines[1]) == 100 * 1024 and lines[1].startswith(b"X-Oversized: aaa"), len(lines[1])
assert lines[2] == b"Content-Length: 2", lines[2]
PY
    badserver_stop
fi

if start no-accept; then
    expect_exit 28 "no-accept: curl --max-time 1 times out" http --max-time 1 -o /dev/null "http://127.0.0.1:$BADSERVER_PORT/"
    contains "no-accept: connected, then nothing" "$OUT" "0 bytes received"
    badserver_stop
    contains "no-accept: no request was read" "$(cat "$BADSERVER_REQUESTS")" "0"
fi

# --max-seconds: it goes away by itself.
if start hang --max-seconds 1; then
    pid=$BADSERVER_PID
    if wait_for 3 gone "$pid"; then ok "--max-seconds 1: exits by itself"; else fail "--max-seconds 1: exits by itself"; fi
    badserver_stop "$pid"
    rc=$?
    check "--max-seconds: exit status 0" test "$rc" -eq 0
fi

expect_exit 2 "badserver: an unknown mode is a usage error" "$BADSERVER_BIN" --mode nope --port-file "$TMP/x"

finish
