# Shared by the integration tests: a tiny runner that counts and reports.
# Each test file sources this, calls `check NAME COMMAND...` / `expect_exit`,
# and ends with `finish`, which prints "N passed, M failed" and sets the status.
set -uo pipefail
: "${PERFKIT:?PERFKIT must point at the perfkit binary}"
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/perfkit-it.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; shift; [ $# -gt 0 ] && printf '       %s\n' "$@"; }

# check NAME CMD... : passes when CMD exits 0
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$(printf '%s' "$out" | tail -n 15)"; fi
}

# expect_exit CODE NAME CMD... : passes when CMD exits CODE; its output is in $OUT
expect_exit() {
    local want=$1 name=$2; shift 2
    OUT=$("$@" 2>&1)
    local got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else fail "$name" "exit $got, wanted $want" "$(printf '%s' "$OUT" | tail -n 15)"; fi
}

# contains NAME TEXT NEEDLE
contains() {
    if printf '%s' "$2" | grep -qF -- "$3"; then ok "$1"; else fail "$1" "missing: $3" "$(printf '%s' "$2" | tail -n 15)"; fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
