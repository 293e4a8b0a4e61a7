#!/usr/bin/env bash
# labels: kafka-mock redis
#
# The live pipeline end to end on librdkafka's mock cluster (in process of
# `ccpulse run --mock`) with a real redis-server on a free loopback port:
#   1. 1 partition, 1 worker: the last snapshot in Redis (XREVRANGE
#      <prefix>snapshots + - COUNT 1, field json) equals `ccpulse replay` of
#      the same events byte for byte; SIGTERM exits 0 after a final publish;
#   2. 3 partitions, 2 workers: byte for byte equal to `ccpulse replay
#      --partitions 3` of the same events (routed as the producer routes
#      them, each partition on its own stream time), late and duplicate
#      events included; with events in order also equal to one-partition
#      replay except what docs/semantics.md §11 lets the merge approximate
#      (tests/live_compare.py --merged);
#   3. a bad kafka.* property is rejected naming the key (exit 2);
#   4. Confluent-framed records (schema.registry.<ID>) give the same snapshot.
# Everything is bounded in time and cleaned up on exit.
# Usage: bash t_live_mock.sh <ccpulse-binary> <build-dir>
set -u
BIN=${1:?usage: t_live_mock.sh <ccpulse-binary> <build-dir>}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/ccp_live_mock.XXXXXX")
RPID=
RUNPID=
cleanup() {
  [ -n "$RUNPID" ] && kill -KILL "$RUNPID" 2>/dev/null
  [ -n "$RPID" ] && { kill -KILL "$RPID"; wait "$RPID"; } 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

command -v redis-server >/dev/null || { echo "SKIP: redis-server missing (bash scripts/setup-deps.sh)"; exit 77; }
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$T/redis.log" 2>&1 &
RPID=$!
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
R="redis-cli -p $PORT"

last_snapshot() { $R --raw XREVRANGE "$1snapshots" + - COUNT 1 | sed -n 3p; }

# run_case NAME PREFIX EXPECTED_EVENTS ARGS...: runs until the snapshot counts
# every event, then SIGTERM; leaves the last snapshot in $T/NAME.json.
run_case() {
  local name=$1 prefix=$2 n=$3
  shift 3
  "$BIN" run --mock --redis "redis://127.0.0.1:$PORT" --set "redis.prefix=$prefix" \
    --set publish.interval=100ms "$@" >"$T/$name.out" 2>"$T/$name.err" &
  RUNPID=$!
  local got=0 start=$SECONDS
  while [ $((SECONDS - start)) -lt 60 ]; do
    got=$(last_snapshot "$prefix" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["diagnostics"]["events"])
except Exception: print(0)')
    [ "$got" = "$n" ] && break
    sleep 0.2
  done
  [ "$got" = "$n" ] || fail "$name: snapshot counts $got events, want $n (stderr: $(tail -3 "$T/$name.err"))"
  kill -TERM "$RUNPID"
  local rc=0
  for _ in $(seq 150); do kill -0 "$RUNPID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$RUNPID" 2>/dev/null; then
    fail "$name: still running 15 s after SIGTERM"
    kill -KILL "$RUNPID"
  fi
  wait "$RUNPID"
  rc=$?
  RUNPID=
  [ $rc -eq 0 ] || fail "$name: exit status $rc after SIGTERM, want 0 (stderr: $(tail -3 "$T/$name.err"))"
  last_snapshot "$prefix" >"$T/$name.json"
}

GEN=$ROOT/tests/reference/gen_events.py
python3 "$GEN" --events 4000 --seed 7 --out "$T/ev.jsonl" >/dev/null
N=$(grep -c . "$T/ev.jsonl")

# 1. one partition: byte-identical to replay
run_case one "t1:" "$N" --workers 1 "$T/ev.jsonl"
"$BIN" replay "$T/ev.jsonl" >"$T/one.replay.json"
cmp -s "$T/one.json" "$T/one.replay.json" || fail "1 partition: snapshot in Redis differs from replay"

# 2. three partitions, two workers, the generator's full mix (late, shuffled,
# duplicate events): byte-identical to `ccpulse replay --partitions 3`, which
# routes each event as the producer did (keyed by ticket_id, librdkafka's
# default partitioner) and judges lateness, deadlines and TTL on each
# partition's own stream time, as the live run does (docs/live.md, time rule)
run_case three "t3:" "$N" --workers 2 --partitions 3 "$T/ev.jsonl"
"$BIN" replay --partitions 3 "$T/ev.jsonl" >"$T/three.replay.json"
cmp -s "$T/three.json" "$T/three.replay.json" || {
  fail "3 partitions: snapshot in Redis differs from replay --partitions 3"
  python3 "$ROOT/tests/live_compare.py" "$T/three.json" "$T/three.replay.json" >&2
}
# in-order events too, against one-partition replay: what docs/semantics.md §11
# lets the merge approximate (tests/live_compare.py --merged)
python3 "$GEN" --events 4000 --seed 8 --late-frac 0 --shuffle-frac 0 --skew-frac 0 --dup-frac 0 --edge-frac 0 --gaps 0 \
  --out "$T/ord.jsonl" >/dev/null
N2=$(grep -c . "$T/ord.jsonl")
run_case ord3 "to3:" "$N2" --workers 2 --partitions 3 "$T/ord.jsonl"
"$BIN" replay --partitions 3 "$T/ord.jsonl" >"$T/ord3.replay.json"
cmp -s "$T/ord3.json" "$T/ord3.replay.json" || fail "3 partitions, in order: differs from replay --partitions 3"
"$BIN" replay "$T/ord.jsonl" >"$T/ord1.replay.json"
python3 "$ROOT/tests/live_compare.py" "$T/ord3.json" "$T/ord1.replay.json" --merged ||
  fail "3 partitions, in order: merged snapshot differs from one-partition replay"

# 4. Confluent-framed records, writer schema from schema.registry.<ID>
run_case conf "tc:" "$N" --workers 1 --confluent 42 \
  --set "schema.registry.42=$ROOT/schemas/ticket_event.avsc" "$T/ev.jsonl"
cmp -s "$T/conf.json" "$T/one.replay.json" || fail "confluent-framed: snapshot differs from replay"

# 3. a bad librdkafka property is rejected at start-up, naming the key
"$BIN" run --mock --redis "redis://127.0.0.1:$PORT" --set kafka.no.such.property=1 \
  >"$T/bad.out" 2>"$T/bad.err"
rc=$?
[ $rc -eq 2 ] || fail "bad kafka property: exit $rc, want 2"
grep -q "kafka.no.such.property" "$T/bad.err" || fail "bad kafka property: message does not name the key: $(cat "$T/bad.err")"

if [ $fails -ne 0 ]; then
  echo "t_live_mock: $fails failure(s)" >&2
  exit 1
fi
echo "t_live_mock: ok"
