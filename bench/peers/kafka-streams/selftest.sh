#!/usr/bin/env bash
# Self-test of the Kafka Streams peer (not part of ctest):
#   bash bench/peers/kafka-streams/selftest.sh [--events N] [--keep]
# starts a broker (scripts/kafka.sh) in a temp dir, creates an 8-partition
# topic, produces N (default 50000) generated events with `ccpulse produce`,
# runs run.sh (must report every produced record), compares its per-queue 5m
# windows with `ccpulse replay --set windows=5m:5m --every 5m` of the same
# file (compare.py), and stops the broker. Exit 0 = pass.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
events=50000 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --events) events=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "selftest.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ks-peer-selftest.XXXXXX")
cleanup() {
  bash "$root/scripts/kafka.sh" stop --dir "$work/kafka" >/dev/null 2>&1 || true
  [ "$keep" = 1 ] && echo "selftest: kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "selftest: FAIL: $*" >&2; exit 1; }

ccpulse=$root/build/ccpulse
[ -x "$ccpulse" ] || bash "$root/scripts/build.sh" build >&2
python3 "$root/tests/reference/gen_events.py" --events "$events" --seed 1 --out "$work/events.jsonl"
bootstrap=$(bash "$root/scripts/kafka.sh" start --dir "$work/kafka" | sed -n 's/^BOOTSTRAP=//p')
[ -n "$bootstrap" ] || fail "broker did not start"
bash "$root/scripts/kafka.sh" topic create events --partitions 8 --bootstrap "$bootstrap" >&2
produced=$("$ccpulse" produce --brokers "$bootstrap" --topic events "$work/events.jsonl")
echo "selftest: produced $produced records ($events generated events plus the generator's duplicates/invalid/late extras)" >&2

out=$(bash "$here/run.sh" --bootstrap "$bootstrap" --topic events --events "$produced" --timeout 300 \
  --dump "$work/peer.jsonl" 2>"$work/peer.err") || { tail -n 20 "$work/peer.err" >&2; fail "run.sh failed"; }
grep '^ks-peer:' "$work/peer.err" >&2 || true
echo "$out"
python3 - "$out" "$produced" <<'PY' || fail "run.sh output is not the expected JSON line"
import json, sys
r = json.loads(sys.argv[1])
assert r["peer"] == "kafka-streams" and r["events"] == int(sys.argv[2]) and r["seconds"] > 0 and r["events_per_s"] > 0, r
PY

"$ccpulse" replay --set windows=5m:5m --every 5m "$work/events.jsonl" >"$work/replay.jsonl"
python3 "$here/compare.py" "$work/peer.jsonl" "$work/replay.jsonl" --show 3 --events "$work/events.jsonl" | tee "$work/compare.txt"
# Most windows must agree exactly (the rest differ for the documented reasons:
# lateness per partition vs one replay stream, duplicate memory, events of a
# window arriving after ccpulse's snapshot of it).
python3 - "$work/compare.txt" <<'PY' || fail "too few windows agree with ccpulse replay"
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"opened (\d+)/(\d+)", t)
ok, n = int(m.group(1)), int(m.group(2))
assert n > 100 and ok >= 0.9 * n, (ok, n)
m = re.search(r"final tumbling counts from the event file: (\d+)/(\d+)", t)
ok, n = int(m.group(1)), int(m.group(2))
assert ok >= 0.99 * n, (ok, n)
PY
echo "selftest: PASS" >&2
