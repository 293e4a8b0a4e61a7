#!/usr/bin/env bash
# The main job: a live KPI wall on the embedded default. Installs what is
# missing for building and the demo (scripts/setup-deps.sh --for demo: no
# Java or Maven, which only the integration tests need), builds, then runs
# `ccpulse demo`: librdkafka's mock cluster in process, a generator of
# contact-center events at the wall clock, the pipeline (one engine per
# partition, worker threads), and a redis-server on a free loopback port. One KPI line per second; the
# redis-cli commands to watch the snapshot and alerts are printed first.
# Ctrl-C stops it. Extra arguments go to `ccpulse demo` (e.g. --duration 60s,
# --rate 50, --redis redis://127.0.0.1:6379); docs/live.md.
#
#   bash scripts/demo.sh --replay   the offline demo: replay 20 000 generated
#                                   events and print the last snapshot
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh --for demo
mkdir -p build
bash scripts/build.sh build >build/demo-build.log 2>&1 || { tail -n 40 build/demo-build.log; exit 1; }

if [ "${1:-}" = "--replay" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 tests/reference/gen_events.py --events 20000 --seed 1 --out "$tmp/events.jsonl"
  echo "replaying $(wc -l <"$tmp/events.jsonl") events; last snapshot:"
  build/ccpulse replay --every 1h "$tmp/events.jsonl" | tail -n 1 | python3 -m json.tool
  exit 0
fi
exec build/ccpulse demo "$@"
