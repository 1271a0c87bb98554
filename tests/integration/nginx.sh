# A real nginx (Debian's /usr/sbin/nginx) on loopback for the integration tests
# of perfkit load. Source it after lib.sh:
#
#   . "$(dirname "$0")/nginx.sh"
#   nginx_start "$TMP/nginx" || { fail "nginx starts"; finish; exit; }
#   curl --cacert "$NGINX_CERT" --resolve "localhost:$NGINX_TLS_PORT:127.0.0.1" \
#        "https://localhost:$NGINX_TLS_PORT/"
#   nginx_stop "$TMP/nginx"
#
# nginx_start DIR creates DIR (the caller owns it and removes it), writes a
# self-signed certificate for CN=localhost (SAN DNS:localhost, IP:127.0.0.1),
# the document root and the config into it, and starts nginx (daemon, one
# worker) listening on 127.0.0.1:$NGINX_PORT (http) and 127.0.0.1:$NGINX_TLS_PORT
# (https). Ports are random in 20000..60999, retried up to 20 times when taken.
# It exports NGINX_PORT, NGINX_TLS_PORT, NGINX_CERT (the certificate, usable as a
# client's CA file) and NGINX_DIR, and returns non-zero (with the reason on
# stderr) when nginx cannot be started.
#
# What it serves (files under DIR/www, so tests can compare bytes):
#   /            DIR/www/index.html, exactly 612 bytes, text/html
#   /big         DIR/www/big.bin, exactly 102400 bytes (64-byte lines)
#   /slow        /big at 10 KiB/s (about 10 s for the body)
#   /head        index.html again, for HEAD requests
#   /status/404  404 with a short body; /status/500 likewise with 500
#
# nginx_stop DIR stops that nginx (TERM, then KILL after 3 s) and waits until
# it is gone; it is safe to call twice or when nginx_start failed.
#
# The misbehaving server (tests/helpers/badserver.c; its modes are listed at
# the top of that file) has helpers here too, so every test starts it alike:
#
#   badserver_start MODE [ARGS...]   start pk_badserver in the background on
#       127.0.0.1, wait for its port; sets BADSERVER_PORT, BADSERVER_PID and
#       BADSERVER_REQUESTS (its --requests-file); files go to $BADSERVER_DIR
#       (default $TMP). Must run in the test's own shell (not in $(...)) so
#       the test can wait for it. ARGS go to pk_badserver (e.g. --max-seconds).
#   badserver_stop [PID]     SIGTERM and wait (default: the last started);
#       afterwards BADSERVER_REQUESTS holds the final request count.
#   badserver_stop_all       stops every one still running (for an EXIT trap).
#
# nginx runs as a daemon, so it outlives the test unless stopped: lib.sh's own
# EXIT trap only removes $TMP, so a test replaces it, e.g.
#   trap 'badserver_stop_all; nginx_stop "$TMP/nginx"; rm -rf "$TMP"' EXIT
#   trap 'exit 130' INT TERM

NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
NGINX_CONF_IN=${NGINX_CONF_IN:-${PK_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/nginx/nginx.conf.in}

# A port in 20000..60999 (RANDOM alone stops at 32767).
_nginx_random_port() {
    echo $(( ((RANDOM << 15) | RANDOM) % 41000 + 20000 ))
}

# Succeeds when both ports can be bound on 127.0.0.1 right now. nginx itself
# retries a busy port for 2.5 s before giving up; this check avoids most of that.
_nginx_ports_free() {
    [ -x /usr/bin/python3 ] || return 0
    /usr/bin/python3 - "$@" <<'PY' 2>/dev/null
import socket, sys
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(p)))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
}

# Writes DIR/www/index.html of exactly 612 bytes and DIR/www/big.bin of 102400.
_nginx_content() {
    local www=$1/www
    local head='<!DOCTYPE html>
<html>
<head><title>perfkit test page</title></head>
<body>
<h1>perfkit test page</h1>
<p>Served by nginx for the integration tests of perfkit load.</p>
<!-- '
    local tail=' -->
</body>
</html>
'
    local pad=$(( 612 - ${#head} - ${#tail} ))
    { printf '%s' "$head"; printf '%*s' "$pad" '' | tr ' ' '.'; printf '%s' "$tail"; } >"$www/index.html"
    # 1600 lines of 64 bytes: line N is "NNNNN " then a fixed 57-byte pattern
    local i line=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234
    for ((i = 0; i < 1600; i++)); do printf '%05d %s\n' "$i" "$line"; done >"$www/big.bin"
}

nginx_start() {
    local dir=${1:?nginx_start DIR}
    mkdir -p "$dir/www" "$dir/tmp" || return 1
    dir=$(cd "$dir" && pwd) || return 1
    if [ ! -x "$NGINX_BIN" ]; then
        echo "nginx_start: $NGINX_BIN not found (apt-get install nginx-light)" >&2
        return 1
    fi
    if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 30 -subj /CN=localhost \
            -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' >"$dir/openssl.log" 2>&1; then
        echo "nginx_start: openssl failed: $(tail -n 3 "$dir/openssl.log")" >&2
        return 1
    fi
    _nginx_content "$dir" || return 1
    local user_line='# (not root: workers run as the current user)'
    [ "$(id -u)" -eq 0 ] && user_line='user root;  # workers must read the test directory'

    local attempt port tls_port
    for ((attempt = 1; attempt <= 20; attempt++)); do
        port=$(_nginx_random_port)
        tls_port=$(_nginx_random_port)
        [ "$port" = "$tls_port" ] && continue
        _nginx_ports_free "$port" "$tls_port" || continue
        sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@TLS_PORT@|$tls_port|g" \
            -e "s|@USER_LINE@|$user_line|" "$NGINX_CONF_IN" >"$dir/nginx.conf" || return 1
        rm -f "$dir/nginx.pid"
        if "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/start.log" 2>&1; then
            # The master writes its pid file just after it daemonizes.
            local i
            for ((i = 0; i < 50; i++)); do
                [ -s "$dir/nginx.pid" ] && break
                sleep 0.1
            done
            if [ ! -s "$dir/nginx.pid" ]; then
                echo "nginx_start: no pid file: $(tail -n 3 "$dir/error.log" 2>/dev/null)" >&2
                return 1
            fi
            export NGINX_PORT=$port NGINX_TLS_PORT=$tls_port NGINX_CERT=$dir/cert.pem NGINX_DIR=$dir
            return 0
        fi
        # A port taken between the check and nginx's bind: try other ports.
        grep -q 'Address already in use' "$dir/start.log" "$dir/error.log" 2>/dev/null || break
    done
    echo "nginx_start: nginx did not start: $(tail -n 5 "$dir/start.log" 2>/dev/null)" >&2
    return 1
}

# Succeeds while PID runs (a zombie waiting for its reaper counts as gone).
_nginx_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

nginx_stop() {
    local dir=${1:?nginx_stop DIR} pid i workers
    [ -s "$dir/nginx.pid" ] || return 0
    pid=$(cat "$dir/nginx.pid")
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    # Only signal the pid while it is still an nginx master.
    if _nginx_alive "$pid" && grep -qa 'nginx: master' "/proc/$pid/cmdline" 2>/dev/null; then
        workers=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null)
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 30; i++)); do
            _nginx_alive "$pid" || break
            sleep 0.1
        done
        if _nginx_alive "$pid"; then
            # shellcheck disable=SC2086  # one word per worker pid
            kill -KILL "$pid" $workers 2>/dev/null
            for ((i = 0; i < 20; i++)); do
                _nginx_alive "$pid" || break
                sleep 0.1
            done
        fi
    fi
    rm -f "$dir/nginx.pid"
}

# ---- pk_badserver

BADSERVER_BIN=${BADSERVER_BIN:-${PK_BUILD:-.}/tests/helpers/pk_badserver}
_BADSERVER_PIDS=()
_BADSERVER_SEQ=0

badserver_start() {
    local mode=${1:?badserver_start MODE}
    shift
    local dir=${BADSERVER_DIR:-${TMP:?}} i
    _BADSERVER_SEQ=$((_BADSERVER_SEQ + 1))
    local base=$dir/badserver.$_BADSERVER_SEQ.$mode
    rm -f "$base.port" "$base.requests"
    "$BADSERVER_BIN" --mode "$mode" --port-file "$base.port" \
        --requests-file "$base.requests" "$@" 2>"$base.log" &
    BADSERVER_PID=$!
    _BADSERVER_PIDS+=("$BADSERVER_PID")
    BADSERVER_REQUESTS=$base.requests
    for ((i = 0; i < 250; i++)); do
        [ -s "$base.port" ] && break
        kill -0 "$BADSERVER_PID" 2>/dev/null || break
        sleep 0.02
    done
    if [ ! -s "$base.port" ]; then
        echo "badserver_start: $mode did not start: $(tail -n 3 "$base.log")" >&2
        return 1
    fi
    BADSERVER_PORT=$(cat "$base.port")
}

badserver_stop() {
    local pid=${1:-${BADSERVER_PID:-}} p rest=()
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    for p in "${_BADSERVER_PIDS[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
    _BADSERVER_PIDS=("${rest[@]}")
}

badserver_stop_all() {
    local p
    for p in "${_BADSERVER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${_BADSERVER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    _BADSERVER_PIDS=()
}
