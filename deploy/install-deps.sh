#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running sandhive
# needs. Idempotent and non-interactive; run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (it calls apt-get)" >&2
  exit 1
fi

packages=(
  # toolchain
  build-essential cmake ccache pkg-config
  # libraries (see README, "Dependencies")
  libcaf-dev libboost1.74-dev libboost-test1.74-dev
  libprotobuf-dev protobuf-compiler libpqxx-dev libhiredis-dev libssl-dev
  libspdlog-dev libfmt-dev prometheus-cpp-dev nlohmann-json3-dev libcli11-dev
  libseccomp-dev zlib1g-dev libedit-dev libjemalloc-dev
  # servers that `sandhive up` embeds and the integration tests start
  postgresql-15 redis-server
  # used by the tests and the README examples
  curl procps openssl
  # programs the base sandbox template copies from the host
  python3 bash coreutils
)
# The end-to-end tests run the official e2b npm package (Node >= 20.18). A
# machine with its own Node keeps it; otherwise Debian's is installed, and
# the e2e test says so and skips if it is too old for the SDK.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
