#!/usr/bin/env bash
# The set-up behind the README's commands: which Debian packages each make
# target installs (scripts/install-deps.sh run|test|bench), that installing
# them never touches a service, and the address `make run` serves on.
#
# The package manager itself cannot run in a test (it would change this
# machine), so the install path runs against stand-ins for dpkg-query,
# apt-get and the service managers, first in PATH, that record how they were
# called. Everything else is the real script, make and perfkit.
. "$(dirname "$0")/lib.sh"
: "${PK_SRC:?PK_SRC must name the source directory}"
DEPS="$PK_SRC/scripts/install-deps.sh"

# ---- the sets
list() { sh "$DEPS" --list "$@" | tr '\n' ' '; }
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
run_set=$(list run)
test_set=$(list test)
bench_set=$(list bench)
for p in build-essential cmake libmicrohttpd-dev libsqlite3-dev libjansson-dev; do
    has "$run_set" "$p" && ok "run installs $p" || fail "run installs $p" "$run_set"
done
for p in chromium prometheus prometheus-node-exporter python3-scipy python3-numpy nginx-light wrk hyperfine libbenchmark-dev; do
    has "$run_set" "$p" && fail "run does not install $p" "$run_set" || ok "run does not install $p"
done
for p in nginx-light prometheus chromium python3-scipy libbenchmark-tools curl openssl; do
    has "$test_set" "$p" && ok "test installs $p" || fail "test installs $p" "$test_set"
done
for p in wrk hyperfine libbenchmark-dev prometheus-node-exporter; do
    has "$test_set" "$p" && fail "test does not install $p (make bench's)" "$test_set" || ok "test does not install $p (make bench's)"
done
for p in wrk hyperfine libbenchmark-dev prometheus-node-exporter nginx-light; do
    has "$bench_set" "$p" && ok "bench installs $p" || fail "bench installs $p" "$bench_set"
done
for p in chromium prometheus python3-scipy; do
    has "$bench_set" "$p" && fail "bench does not install $p (make test's)" "$bench_set" || ok "bench does not install $p (make test's)"
done
missing=""
for p in $run_set; do has "$test_set" "$p" && has "$bench_set" "$p" || missing="$missing $p"; done
[ -z "$missing" ] && ok "test and bench build perfkit as run does" || fail "test and bench build perfkit as run does" "missing:$missing"
all=$(list)
missing=""
for p in $run_set $test_set $bench_set; do has "$all" "$p" || missing="$missing $p"; done
[ -z "$missing" ] && ok "no set named: all three" || fail "no set named: all three" "missing:$missing"
expect_exit 2 "an unknown set is refused" sh "$DEPS" tests
contains "the unknown set named" "$OUT" "unknown argument 'tests'"

# ---- each make target asks for its own set (make -n: nothing is run)
for t in run test bench; do
    out=$(make -n -C "$PK_SRC" "$t" BUILD="$TMP/nobuild" 2>&1)
    contains "make $t installs the $t set" "$out" "install-deps.sh $t"
done
contains "make deps installs all three" "$(make -n -C "$PK_SRC" deps 2>&1)" "install-deps.sh run test bench"

# ---- installing: apt-get with the set's missing packages, and no service touched
STUB="$TMP/stub"
LOG="$TMP/calls.log"
mkdir -p "$STUB"
: >"$LOG"
# stub NAME: a stand-in that logs "NAME ARGS..." and succeeds
stub() { printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$1" "$LOG" >"$STUB/$1" && chmod +x "$STUB/$1"; }
for c in apt-get systemctl service invoke-rc.d deb-systemd-invoke update-rc.d; do stub "$c"; done
# sudo runs the command (a non-root run goes through it)
printf '#!/bin/sh\necho "sudo $*" >>"%s"\nexec "$@"\n' "$LOG" >"$STUB/sudo" && chmod +x "$STUB/sudo"
# dpkg-query: the packages listed in $TMP/installed are installed, no other
printf '#!/bin/sh\nfor p; do :; done\ngrep -qx -- "$p" "%s" && printf "install ok installed"\nexit 0\n' "$TMP/installed" >"$STUB/dpkg-query"
chmod +x "$STUB/dpkg-query"

printf '%s\n' $run_set >"$TMP/installed"  # run's set present: test installs the rest of its own
check "install-deps.sh test with packages missing" env PATH="$STUB:$PATH" sh "$DEPS" test
installed=$(grep -E '(^| )apt-get install' "$LOG" | sed 's/.*--no-install-recommends //')
want=$(sh "$DEPS" --list test | grep -vxF -f "$TMP/installed" | tr '\n' ' ')
[ "$(echo $installed)" = "$(echo $want)" ] && ok "it installs exactly the missing packages of the test set" ||
    fail "it installs exactly the missing packages of the test set" "installed: $installed" "wanted: $want"
if grep -Ev '(^| )apt-get |^sudo ' "$LOG" | grep -q .; then
    fail "no service started, stopped, enabled or disabled" "$(grep -Ev '(^| )apt-get |^sudo ' "$LOG")"
else
    ok "no service started, stopped, enabled or disabled"
fi
: >"$LOG"
printf '%s\n' $all >"$TMP/installed"
check "install-deps.sh with everything present" env PATH="$STUB:$PATH" sh "$DEPS"
[ -s "$LOG" ] && fail "with everything present it runs nothing" "$(cat "$LOG")" || ok "with everything present it runs nothing"
if grep -v '^ *#' "$DEPS" | grep -Eq 'systemctl|invoke-rc|service |policy-rc|update-rc|deb-systemd'; then
    fail "the script names no service manager" "$(grep -nE 'systemctl|invoke-rc|service |policy-rc|update-rc|deb-systemd' "$DEPS" | grep -v ':[[:space:]]*#')"
else
    ok "the script names no service manager"
fi

# ---- make run's address: PK_RUN_LISTEN
port=$(free_port)
start_bg env PK_RUN_LISTEN="127.0.0.1:$port" PK_RUN_DB="$TMP/run.db" PK_RUN_DURATION=60s \
    sh "$PK_SRC/scripts/run-main.sh" "$PK_BUILD" >"$TMP/run.log" 2>&1
runpid=$BG_PID
if wait_for 20 http_ok "http://127.0.0.1:$port/metrics"; then
    ok "PK_RUN_LISTEN=127.0.0.1:$port: make run's agent serves there"
else
    fail "PK_RUN_LISTEN=127.0.0.1:$port: make run's agent serves there" "$(tail -n 5 "$TMP/run.log")"
fi
contains "it names its address" "$(cat "$TMP/run.log")" "127.0.0.1:$port"
stop_bg "$runpid" 10 INT
rc=$?
[ "$rc" -eq 0 ] && ok "Ctrl-C stops it cleanly (exit 0)" || fail "Ctrl-C stops it cleanly (exit 0)" "exit $rc" "$(tail -n 5 "$TMP/run.log")"
finish
