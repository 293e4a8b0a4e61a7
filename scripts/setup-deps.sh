#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages ccpulse needs to build, test and demo.
# Idempotent: exits at once when everything is present. Works without a
# terminal (CI): apt runs non-interactively, sudo is used only when not root.
#
#   bash scripts/setup-deps.sh [--for test]   everything (CI, scripts/test.sh)
#   bash scripts/setup-deps.sh --for demo     building and `ccpulse demo` only
#                                             (scripts/demo.sh): no Java, Maven
#                                             or test-only tools
set -euo pipefail

for_what=test
case "${1:-}" in
  "") ;;
  --for=*) for_what=${1#--for=} ;;
  --for) for_what=${2:-} ;;
  *) echo "setup-deps: unknown argument '$1' (--for demo|test)" >&2; exit 2 ;;
esac
case $for_what in demo | test) ;; *) echo "setup-deps: --for takes demo or test, not '$for_what'" >&2; exit 2 ;; esac

# building and the demo
pkgs=(build-essential cmake ninja-build pkg-config librdkafka-dev libavro-dev
      libhiredis-dev libjansson-dev zlib1g-dev redis-server tzdata python3
      libmicrohttpd-dev libcurl4-openssl-dev
      libzstd-dev) # libzstd: checkpoints stored compressed (src/publish/ckpt_store.c); libmicrohttpd: the HTTP endpoint (src/http); libcurl: the schema registry client (src/decode/registry.c)
# the tests only: formatting check, compose file and client example tests,
# the man page test; TLS tests: a throwaway CA (openssl), the Redis TLS
# tunnel (stunnel4)
test_pkgs=(clang-format-14 python3-yaml python3-redis man-db curl
           openssl stunnel4
           clang libclang-rt-14-dev # libFuzzer, sanitizer runtimes: tests/fuzz/run.sh
           chromium chromium-driver) # the wall's browser test
[ "$for_what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
# Java and Maven run the real Kafka broker of the integration tests
# (scripts/kafka.sh); any java/mvn on PATH will do, else Debian's.
if [ "$for_what" = test ]; then
  command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#pkgs[@]} packages for $for_what present"
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
