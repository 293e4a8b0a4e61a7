#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages ccpulse needs to build, test and demo.
# Idempotent: exits at once when everything is present. Works without a
# terminal (CI): apt runs non-interactively, sudo is used only when not root.
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config librdkafka-dev libavro-dev
      libhiredis-dev libjansson-dev zlib1g-dev redis-server tzdata python3
      clang-format-14 libmicrohttpd-dev curl
      chromium chromium-driver)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
# Java and Maven run the real Kafka broker of the integration tests
# (scripts/kafka.sh); any java/mvn on PATH will do, else Debian's.
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "setup-deps: not root and no sudo; install as root: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"
echo "setup-deps: done"
