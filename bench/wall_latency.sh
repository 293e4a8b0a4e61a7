#!/usr/bin/env bash
# Event produced -> number changed on the wall page, p50/p99 (docs/wall.md).
# Usage: bench/wall_latency.sh [BIN] [--samples N] [--rate R]
#   BIN defaults to build/ccpulse. Needs chromium, chromium-driver and
#   redis-server (bash scripts/setup-deps.sh). About 1 s per sample.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/ccpulse}
[ $# -gt 0 ] && shift
exec python3 "$here/wall_latency.py" "$bin" "$@"
