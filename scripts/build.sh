#!/usr/bin/env bash
# Configures and builds ccpulse with CMake + Ninja.
#   bash scripts/build.sh [build-dir] [extra cmake args...]
# build-dir defaults to build/. With CI=true warnings are errors (-DCCP_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
[ $# -gt 0 ] && shift

args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${CI:-}" = "true" ]; then
  args+=(-DCCP_WERROR=ON)
fi

# A build dir configured by another generator cannot be switched to Ninja.
if [ -f "$build_dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build_dir/CMakeCache.txt"; then
  echo "build.sh: $build_dir was configured with another generator; remove it or pick another dir" >&2
  exit 1
fi

cmake -S . -B "$build_dir" "${args[@]}" "$@"
cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)"
