#!/usr/bin/env bash
# The main job, for now: build ccpulse, generate a sample day of contact-center
# events, replay them and print the last KPI snapshot (KPIS.md §5).
# The live Kafka -> Redis wall replaces this once `ccpulse run` exists.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh
bash scripts/build.sh build

gen=tests/reference/gen_events.py
if [ ! -f "$gen" ]; then
  echo "demo.sh: $gen (the sample event generator) is not in this tree yet" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$gen" --events 20000 --seed 1 --out "$tmp/events.jsonl"
echo "replaying $(wc -l <"$tmp/events.jsonl") events; last snapshot:"
build/ccpulse replay --every 1h "$tmp/events.jsonl" | tail -n 1 | python3 -m json.tool
