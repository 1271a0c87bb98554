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

# ---- --check-config refuses what the start refuses, with the same message
# refused NAME NEEDLE ARGS...: `monitor ARGS --check-config` and the start
# (`monitor ARGS --duration 2s`) both exit 2, their message holding NEEDLE
refused() {
    local name=$1 needle=$2
    shift 2
    expect_exit 2 "--check-config refuses $name" timeout 30 "$PERFKIT" monitor "$@" --check-config
    contains "  ... naming the setting: $needle" "$OUT" "$needle"
    expect_exit 2 "  ... and the start refuses it too" timeout 30 "$PERFKIT" monitor "$@" --duration 2s
    contains "  ... with the same message" "$OUT" "$needle"
}
C="$TMP/m.conf"
DB="$TMP/ok.db"

printf '# public\nlisten 0.0.0.0:9310\n' >"$C"
refused "a non-loopback listen without auth (config file)" \
    "$C:2: listen: refusing to serve 0.0.0.0:9310 without authentication" --config "$C" --db "$DB"
refused "a non-loopback --listen without auth" \
    "--listen: refusing to serve [::]:9310 without authentication" --listen '[::]:9310' --db "$DB"
printf 'interval 1s\nlisten 127.0.0.1:99999\n' >"$C"
refused "listen 127.0.0.1:99999" \
    "$C:2: listen: invalid listen address '127.0.0.1:99999': port out of range (0..65535)" --config "$C" --db "$DB"
refused "--listen garbage" "--listen: invalid listen address 'garbage': missing port" --listen garbage --db "$DB"

printf 'auth-token-file %s\n' "$TMP/missing-token" >"$C"
refused "a missing token file" \
    "$C:1: auth-token-file: $TMP/missing-token: cannot read file: No such file or directory" \
    --config "$C" --db "$DB" --listen 127.0.0.1:0
printf 'abcde\n' >"$TMP/token5"
printf '\n\nauth-token-file %s\n' "$TMP/token5" >"$C"
refused "a 5-byte token file" \
    "$C:3: auth-token-file: invalid token: 5 bytes: at least 16 are needed" \
    --config "$C" --db "$DB" --listen 127.0.0.1:0
refused "a 5-byte --auth-token-file" "--auth-token-file: invalid token: 5 bytes" \
    --auth-token-file "$TMP/token5" --db "$DB" --listen 127.0.0.1:0

printf 'tls-cert %s\ntls-key %s\n' "$TMP/missing.crt" "$TMP/missing.key" >"$C"
refused "missing TLS files" "$C:1: tls-cert: $TMP/missing.crt: cannot read file: No such file or directory" \
    --config "$C" --db "$DB" --listen 127.0.0.1:0
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/t.key" -out "$TMP/t.crt" \
    -days 2 -subj /CN=localhost >"$TMP/openssl.log" 2>&1; then
    refused "a missing --tls-key file" "--tls-key: $TMP/missing.key: cannot read file: No such file or directory" \
        --tls-cert "$TMP/t.crt" --tls-key "$TMP/missing.key" --db "$DB" --listen 127.0.0.1:0
    refused "a --tls-key that is not a key" "--tls-key: not a PEM private key" \
        --tls-cert "$TMP/t.crt" --tls-key "$TMP/t.crt" --db "$DB" --listen 127.0.0.1:0
    expect_exit 0 "--check-config accepts a certificate and its key" \
        "$PERFKIT" monitor --tls-cert "$TMP/t.crt" --tls-key "$TMP/t.key" --db "$DB" --listen 127.0.0.1:0 --check-config
else
    fail "openssl makes a certificate" "$(cat "$TMP/openssl.log")"
fi

refused "--db /tmp (a directory)" "--db: unusable history database: '/tmp' is a directory" \
    --db /tmp --listen 127.0.0.1:0
printf 'db %s\n' "$TMP/no-such-dir/m.db" >"$C"
refused "a db in a missing directory" \
    "$C:1: db: unusable history database: cannot create '$TMP/no-such-dir/m.db': directory '$TMP/no-such-dir': No such file or directory" \
    --config "$C" --listen 127.0.0.1:0
printf 'not a database, but text long enough\n' >"$TMP/text.db"
refused "a db that is not an SQLite database" "--db: unusable history database: '$TMP/text.db' is not an SQLite database" \
    --db "$TMP/text.db" --listen 127.0.0.1:0

# nothing was written: no database where the checks looked
check "--check-config wrote no database" test ! -e "$DB"
expect_exit 0 "--check-config accepts a sound configuration" \
    "$PERFKIT" monitor --db "$DB" --listen 127.0.0.1:0 --check-config
check "  ... and creates no database" test ! -e "$DB"

finish
