#!/usr/bin/env bash
# Installs the Debian bookworm packages CustomerJourneyData needs to build, test and run.
# Idempotent: installs only what is missing. Needs root (or sudo).
#   --tests   also what only the tests need: Debian's Chromium for the dashboard's browser tests,
#             Node.js and npm for Segment's own client library (the Segment-compatible API's test)
#             when the machine has no node and npm yet, lintian and debootstrap for the packages'
#             test (tests/packaging/install_test.sh)
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ca-certificates
  libboost-dev libboost-system-dev
  libpaho-mqttpp-dev libpaho-mqtt-dev libssl-dev
  libsqlite3-dev sqlite3
  libpq-dev
  libsodium-dev libzstd-dev zlib1g-dev tzdata
  libphonenumber-dev
  nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  mosquitto mosquitto-clients
  prometheus
  curl procps jq
  help2man
)
if [ "${1:-}" = "--tests" ]; then
  PACKAGES+=(chromium fonts-dejavu-core lintian debootstrap)
  # A TLS-terminating proxy in front of a hub, for the https:// tests (cjdctl --hub https://,
  # https webhooks): started by the tests on their own loopback ports, never as a service.
  PACKAGES+=(nginx-light)
  # PostgreSQL's server, for the hub's PostgreSQL backend (issue 17): the tests run initdb in a
  # temporary folder and start it on a loopback port as an unprivileged user, never as a service.
  PACKAGES+=(postgresql)
  # A machine may have Node.js from elsewhere (with its own npm): keep it.
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(nodejs npm)
  fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with a daemon (mosquitto; prometheus, for its promtool) must not start one: tests start
# their own on loopback ports. policy-rc.d is Debian's switch for that, removed afterwards.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system-wide mosquitto on port 1883 when it can; ours run on their own ports.
