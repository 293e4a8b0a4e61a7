#!/usr/bin/env bash
# labels: integration redis
#
# Several instances in one consumer group (docs/live.md, "Several
# instances") against a real Kafka broker and a real redis-server: two
# `ccpulse run` on a 4-partition topic publish ONE view.
#   1. both hold 2 partitions; half of a generated stream is produced: the
#      snapshot in Redis equals `ccpulse replay --partitions 4` of that half
#      byte for byte (routed as `ccpulse produce` routes them, each
#      partition on its own stream time);
#   2. a third of the rest is produced and, while it is read, the instance
#      that writes the view (the owner of partition 0) is killed with
#      SIGKILL; then the rest is produced: the survivor takes its
#      partitions over from their checkpoints, and the snapshot equals
#      `ccpulse replay --partitions 4` of the whole stream byte for byte;
#      after SIGTERM (exit 0) still;
#   3. a reader polling `v1:meta` events every 50 ms during the whole run
#      never sees the count go backwards (no flapping between partial views).
#
#   bash tests/t_scale_kafka.sh <ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
live_setup t_scale_kafka "${1:?usage: t_scale_kafka.sh <ccpulse-binary> <build-dir>}" \
  "${2:?usage: t_scale_kafka.sh <ccpulse-binary> <build-dir>}"

T=sc
P="sc:"
PIDS=()
POLL=
stop_all() {
  for p in "${PIDS[@]}" $POLL; do kill -KILL "$p" 2>/dev/null; done
  cleanup
}
trap stop_all EXIT

python3 "$GEN" --events 4000 --seed 33 --late-frac 0 --shuffle-frac 0 --skew-frac 0 \
  --dup-frac 0 --edge-frac 0 --gaps 0 --out "$work/all.jsonl" >/dev/null
n=$(grep -c . "$work/all.jsonl")
h=$((n / 2))
head -n "$h" "$work/all.jsonl" >"$work/half1.jsonl"
q=$(((n - h) / 3))
tail -n +"$((h + 1))" "$work/all.jsonl" | head -n "$q" >"$work/half2a.jsonl"
tail -n +"$((h + q + 1))" "$work/all.jsonl" >"$work/half2b.jsonl"
"$BIN" replay --partitions 4 "$work/half1.jsonl" >"$work/replay1.json"
"$BIN" replay --partitions 4 "$work/all.jsonl" >"$work/replay.json"
topic "$T" 4

args=(--topic "$T" --group "g-$T" --set "redis.prefix=$P" --workers 1
  --set checkpoint.interval=500ms --set kafka.session.timeout.ms=6000)
# start NAME: one instance in the background, its pid appended to PIDS
start() {
  "$BIN" run --brokers "$B" --redis "$URL" --set publish.interval=100ms \
    --set kafka.log_level=3 "${args[@]}" >"$work/$1.out" 2>"$work/$1.err" &
  PIDS+=($!)
}
# held NAME: partitions the instance holds by its last assignment line
held() { grep -E "(assigned|revoked) .* held" "$work/$1.err" | tail -1 | sed 's/.*; \([0-9]*\) held/\1/'; }
# wait_equal REPLAY SECONDS: until the last snapshot equals the replay byte for byte
wait_equal() {
  local start=$SECONDS
  while [ $((SECONDS - start)) -lt "$2" ]; do
    last_snapshot "$P" >"$work/live.json"
    cmp -s "$work/live.json" "$1" && return 0
    sleep 0.3
  done
  python3 "$root/tests/live_compare.py" "$work/live.json" "$1" >&2
  return 1
}

# the reader: meta events every 50 ms
(while :; do timeout 2 $R HGET "${P}v1:meta" events 2>/dev/null; sleep 0.05; done) \
  >"$work/meta_events.txt" &
POLL=$!

start a
sleep 2
start b
t=$SECONDS
while [ $((SECONDS - t)) -lt 60 ]; do
  [ "$(held a)" = 2 ] && [ "$(held b)" = 2 ] && break
  sleep 0.2
done
[ "$(held a)" = 2 ] && [ "$(held b)" = 2 ] ||
  die "the two instances do not hold 2 partitions each (a: $(held a), b: $(held b))"
echo "ok: two instances, 2 partitions each ($((SECONDS - t_all))s)"

"$BIN" produce --brokers "$B" --topic "$T" "$work/half1.jsonl" >/dev/null || fail "produce half 1"
wait_equal "$work/replay1.json" 60 || fail "two instances: snapshot differs from replay of half 1"
echo "ok: two instances publish one view equal to replay ($((SECONDS - t_all))s)"

# the writer: the instance whose last word on it is that it writes the view
writer=
for i in a b; do
  if grep -E "writes the view|no longer writes the view" "$work/$i.err" | tail -1 | grep -q "this instance writes"; then
    writer=$i
  fi
done
[ -n "$writer" ] || die "no instance says it writes the view"
if [ "$writer" = a ]; then wpid=${PIDS[0]} spid=${PIDS[1]} survivor=b; else wpid=${PIDS[1]} spid=${PIDS[0]} survivor=a; fi
# mid-stream: a third of the second half, read by both for a moment, then the kill
"$BIN" produce --brokers "$B" --topic "$T" "$work/half2a.jsonl" >/dev/null || fail "produce half 2a"
sleep 0.4
kill -KILL "$wpid"
wait "$wpid" 2>/dev/null
"$BIN" produce --brokers "$B" --topic "$T" "$work/half2b.jsonl" >/dev/null || fail "produce half 2b"
wait_equal "$work/replay.json" 90 ||
  fail "after SIGKILL of the writer ($writer): snapshot differs from replay of the whole stream"
[ "$(held $survivor)" = 4 ] || fail "the survivor holds $(held $survivor) partition(s), want 4"
restored=$(grep -c "restored .* bytes at offset" "$work/$survivor.err")
[ "$restored" -ge 2 ] || fail "the survivor restored $restored checkpoint(s), want 2 or more"
echo "ok: writer $writer killed, survivor $survivor took over: equal to replay ($((SECONDS - t_all))s)"

kill -TERM "$spid"
rc=0
wait "$spid" || rc=$?
[ $rc -eq 0 ] || fail "the survivor exited $rc after SIGTERM"
last_snapshot "$P" >"$work/final.json"
cmp -s "$work/final.json" "$work/replay.json" || {
  fail "final snapshot differs from replay --partitions 4"
  python3 "$root/tests/live_compare.py" "$work/final.json" "$work/replay.json" >&2
}
kill -KILL $POLL 2>/dev/null
wait $POLL 2>/dev/null
POLL=
back=$(awk 'NF && $1 ~ /^[0-9]+$/ { if (seen && $1 < last) { print NR ": " last " -> " $1; exit } last = $1; seen = 1 }' "$work/meta_events.txt")
[ -z "$back" ] || fail "meta events went backwards (line $back)"
reads=$(grep -c . "$work/meta_events.txt")
echo "ok: $reads reads of meta events, never backwards"
live_done t_scale_kafka
