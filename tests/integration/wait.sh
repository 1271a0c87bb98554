# Time, bounded waiting and processes: the helpers of lib.sh that have no side
# effect (no trap, no temporary directory), so that scripts outside the test
# runner (bench/, through nginx.sh) can source them alone. Bash only.
: "${PY:=/usr/bin/python3}"

# now_ms: prints the wall-clock time in milliseconds since the epoch
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

# wait_for SECONDS CMD...: runs CMD until it succeeds (returns 0) or SECONDS (fractions allowed) have passed (returns 1)
wait_for() {
    local secs=$1 frac=000000
    shift
    [[ $secs == *.* ]] && frac=${secs#*.}000000
    local now=${EPOCHREALTIME/[.,]/}
    local end=$((now + 10#${secs%%.*} * 1000000 + 10#${frac:0:6}))
    until "$@"; do
        now=${EPOCHREALTIME/[.,]/}
        [ "$now" -ge "$end" ] && return 1
        sleep 0.1  # the polling interval, not a wait for anything
    done
}

# ge A B: succeeds when A >= B as numbers (and both are present)
ge() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# ---- processes

# alive PID: succeeds while PID runs (a zombie waiting for its reaper counts as gone)
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# gone PID: succeeds once PID no longer runs (for wait_for)
gone() { ! alive "$1"; }


# free_port: prints a TCP port of 127.0.0.1 that was free a moment ago
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
