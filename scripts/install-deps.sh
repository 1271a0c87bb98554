#!/bin/sh
# Installs the Debian 12 packages perfkit builds, tests and benchmarks with.
# Idempotent: does nothing (and needs no network) when everything is present.
set -eu

PKGS="build-essential cmake ninja-build pkg-config
libmicrohttpd-dev libgnutls28-dev libsqlite3-dev libcurl4-openssl-dev libjansson-dev libssl-dev zlib1g-dev
libcmocka-dev
nginx-light prometheus wrk hyperfine prometheus-node-exporter curl chromium openssl
libbenchmark-dev libbenchmark-tools
python3 python3-numpy python3-scipy"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing" >&2
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
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts nginx and the exporters as services on install; perfkit's tests
# start their own instances on their own ports and need none of these running.
for svc in nginx prometheus prometheus-node-exporter; do
    if command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
done
