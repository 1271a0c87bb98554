#!/bin/sh
# Installs the Debian 12 packages perfkit needs, by what they are for:
#
#   run    build perfkit and run it: `make`, `make run`, `make install`
#   test   `make test`: run's, and the real servers and tools the tests drive
#   bench  `make bench`: run's, and the peers the benchmarks compare perfkit with
#
# Usage: sh scripts/install-deps.sh [--list] [run] [test] [bench]
#   (no set named: all three; --list prints the packages instead of installing them)
#
# Idempotent: installs only what is missing, and needs no network when nothing is.
# It installs packages and does nothing else: it never starts, stops, enables,
# disables or reconfigures a service. Debian's own scripts start some services
# when their package is first installed (nginx, prometheus, the node exporter);
# that is Debian's behaviour, and a service the user already runs is left as it
# is. The tests and benchmarks start their own instances, on 127.0.0.1 and on
# free ports, with their files in their own directories, so a service running
# on the machine changes nothing for them.
set -eu

# Building perfkit: the compiler and CMake, the libraries it links, and cmocka,
# which the build's configuration of the unit tests requires.
RUN="build-essential cmake ninja-build pkg-config
libmicrohttpd-dev libgnutls28-dev libsqlite3-dev libcurl4-openssl-dev libjansson-dev libssl-dev zlib1g-dev
libcmocka-dev"

# make test: nginx (perfkit load's server), Prometheus and promtool (the monitor's
# scraper and linter), Chromium (the dashboard, headless), curl and openssl
# (clients, certificates), Python with numpy and SciPy (the helpers, and Google
# Benchmark's compare.py, which imports both), GNU time (the accuracy tests'
# reference), clang-format (the formatting check).
TEST="nginx-light prometheus chromium curl openssl
python3 python3-numpy python3-scipy libbenchmark-tools time clang-format"

# make bench: nginx and wrk (load), hyperfine (bench), Google Benchmark (libperfkit),
# node_exporter (monitor), curl, openssl, Python, GNU time.
BENCH="nginx-light wrk hyperfine libbenchmark-dev prometheus-node-exporter curl openssl python3 time"

list=0
sets=""
for a in "$@"; do
    case $a in
        --list) list=1 ;;
        run | test | bench) sets="$sets $a" ;;
        *)
            echo "install-deps: unknown argument '$a' (usage: install-deps.sh [--list] [run] [test] [bench])" >&2
            exit 2
            ;;
    esac
done
[ -n "$sets" ] || sets="run test bench"

pkgs=""
for s in $sets; do
    case $s in
        run) more=$RUN ;;
        test) more="$RUN $TEST" ;;
        bench) more="$RUN $BENCH" ;;
    esac
    for p in $more; do
        case " $pkgs " in *" $p "*) ;; *) pkgs="$pkgs $p" ;; esac
    done
done

if [ "$list" = 1 ]; then
    printf '%s\n' $pkgs
    exit 0
fi

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps:$sets: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: missing packages:$missing; run as root or install them" >&2
        exit 1
    fi
else
    SUDO=
fi
# through env: sudo does not pass the caller's environment on
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
