# A real nginx (Debian's /usr/sbin/nginx) on loopback for the integration tests
# of perfkit load (and the bench/ scripts that load nginx). Source it after lib.sh:
#
#   . "$(dirname "$0")/nginx.sh"
#   nginx_start "$TMP/nginx" || die "nginx starts"
#   http --cacert "$NGINX_CERT" --resolve "localhost:$NGINX_TLS_PORT:127.0.0.1" \
#        "https://localhost:$NGINX_TLS_PORT/"
#   nginx_stop "$TMP/nginx"     # optional: the EXIT trap stops it too
#
# nginx_start DIR creates DIR (the caller owns it and removes it), writes a
# self-signed certificate for CN=localhost (SAN DNS:localhost, IP:127.0.0.1),
# the document root and the config into it, and starts nginx (daemon, one
# worker) listening on 127.0.0.1:$NGINX_PORT (http) and 127.0.0.1:$NGINX_TLS_PORT
# (https). Ports come from free_port (lib.sh), retried up to 20 times when one
# is taken before nginx binds it. It exports NGINX_PORT, NGINX_TLS_PORT,
# NGINX_CERT (the certificate, usable as a client's CA file) and NGINX_DIR,
# registers nginx_stop DIR with lib.sh's on_exit, and returns non-zero (with
# the reason on stderr) when nginx cannot be started.
#
# What it serves (files under DIR/www, so tests can compare bytes):
#   /            DIR/www/index.html, exactly 612 bytes, text/html
#   /big         DIR/www/big.bin, exactly 102400 bytes (64-byte lines)
#   /slow        /big at 10 KiB/s (about 10 s for the body)
#   /head        index.html again, for HEAD requests
#   /status/404  404 with a short body; /status/500 likewise with 500
#
# nginx_stop DIR stops that nginx (TERM, then KILL after 3 s) and waits at
# most 2 s more until it is gone; it is safe to call twice or when
# nginx_start failed.
#
# The misbehaving server (tests/helpers/badserver.c; its modes are listed at
# the top of that file) has helpers here too, so every test starts it alike:
#
#   badserver_start MODE [ARGS...]   start pk_badserver in the background on
#       127.0.0.1 (lib.sh's start_bg), wait at most 5 s for its port; sets
#       BADSERVER_PORT, BADSERVER_PID and BADSERVER_REQUESTS (its
#       --requests-file); files go to $BADSERVER_DIR (default $TMP). Must run
#       in the test's own shell (not in $(...)) so the test can stop it. ARGS
#       go to pk_badserver (e.g. --max-seconds).
#   badserver_stop [PID]     stop_bg it (default: the last started) and return
#       its exit status; afterwards BADSERVER_REQUESTS holds the final count.
#
# nginx runs as a daemon and pk_badserver in the background: lib.sh's EXIT
# trap stops both, so a test sets no trap of its own.

# free_port, wait_for, alive, gone (lib.sh has them too; bench/ scripts source only this file).
. "$(dirname "${BASH_SOURCE[0]}")/wait.sh"
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
NGINX_CONF_IN=${NGINX_CONF_IN:-${PK_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/nginx/nginx.conf.in}

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

    ! declare -F on_exit >/dev/null || on_exit nginx_stop "$dir"
    local attempt port tls_port
    for ((attempt = 1; attempt <= 20; attempt++)); do
        port=$(free_port)
        tls_port=$(free_port)
        [ "$port" = "$tls_port" ] && continue
        sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@TLS_PORT@|$tls_port|g" \
            -e "s|@USER_LINE@|$user_line|" "$NGINX_CONF_IN" >"$dir/nginx.conf" || return 1
        rm -f "$dir/nginx.pid"
        if "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/start.log" 2>&1; then
            # The master writes its pid file just after it daemonizes.
            if ! wait_for 5 test -s "$dir/nginx.pid"; then
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

nginx_stop() {
    local dir=${1:?nginx_stop DIR} pid workers
    [ -s "$dir/nginx.pid" ] || return 0
    pid=$(cat "$dir/nginx.pid")
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    # Only signal the pid while it is still an nginx master.
    if alive "$pid" && grep -qa 'nginx: master' "/proc/$pid/cmdline" 2>/dev/null; then
        workers=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null)
        kill -TERM "$pid" 2>/dev/null
        if ! wait_for 3 gone "$pid"; then
            # shellcheck disable=SC2086  # one word per worker pid
            kill -KILL "$pid" $workers 2>/dev/null
            wait_for 2 gone "$pid"
        fi
    fi
    rm -f "$dir/nginx.pid"
}

# ---- pk_badserver

BADSERVER_BIN=${BADSERVER_BIN:-${PK_BUILD:-.}/tests/helpers/pk_badserver}
_BADSERVER_SEQ=0

# _badserver_up BASE PID: its port file is written, or it has died trying
_badserver_up() { [ -s "$1.port" ] || gone "$2"; }

badserver_start() {
    local mode=${1:?badserver_start MODE}
    shift
    local dir=${BADSERVER_DIR:-${TMP:?}}
    _BADSERVER_SEQ=$((_BADSERVER_SEQ + 1))
    local base=$dir/badserver.$_BADSERVER_SEQ.$mode
    rm -f "$base.port" "$base.requests"
    start_bg "$BADSERVER_BIN" --mode "$mode" --port-file "$base.port" \
        --requests-file "$base.requests" "$@" 2>"$base.log"
    BADSERVER_PID=$BG_PID
    BADSERVER_REQUESTS=$base.requests
    wait_for 5 _badserver_up "$base" "$BADSERVER_PID"
    if [ ! -s "$base.port" ]; then
        echo "badserver_start: $mode did not start: $(tail -n 3 "$base.log")" >&2
        return 1
    fi
    BADSERVER_PORT=$(cat "$base.port")
}

badserver_stop() {
    local pid=${1:-${BADSERVER_PID:-}}
    [ -n "$pid" ] || return 0
    stop_bg "$pid"
}
