#!/usr/bin/env bash
# labels: integration redis
#
# Checkpoints (docs/checkpoints.md) against a real Kafka broker and a real
# redis-server: half of a generated stream is produced, `ccpulse run`
# consumes it and checkpoints (checkpoint.interval=4s); once every
# partition's checkpoint covers its half, a quarter more is produced, and
# the run is killed with SIGKILL as soon as it published that quarter
# (view and alerts; the checkpoints most likely still cover the half only);
# the rest is produced, and a second `ccpulse run` (same group and prefix)
# restores the checkpoints, reads the records after them again and
# consumes the rest. The final snapshot in Redis must equal, byte for byte,
# `ccpulse replay --partitions N` of the whole stream (N: the topic's
# partitions, routed as `ccpulse produce` routes them):
#   1. 1 partition; the committed offset after the kill never passes the
#      checkpoint's;
#   2. 3 partitions, 2 workers, in-order events; once on one day of event
#      time, once on four.
# The second run must log one "restored" line per partition. The alerts
# stream must hold every alert of `ccpulse replay --alerts` exactly once
# (tests/live_alerts.py: 0 lost, 0 repeated; the alerts fired again by the
# records read again after the kill are the ones de-duplicated). On four
# days of event time (the generator's default: cases 1 and 2b) what is
# read again after the kill, with what the same cycles catch up after it,
# spans more than alerts.dedup_window (24 h): the ids of deadline alerts
# are kept per partition until a stored checkpoint rules them out of any
# restore, whatever the span read again (docs/redis.md, "Alerts once";
# before, 99 of 226 alerts were written twice here). The stream holds no
# other alerts than replay's (0 extra), on four days of event time too: a
# partition's deadlines follow its own events (the wall clock only while
# the stream is live), never the largest stream time, so a burst of old
# events produced while the run reads it breaches nothing early
# (docs/live.md, time rule; before, with deadlines following the largest
# stream time once a partition had read to its end, 2b wrote 157 early
# breaches in one run of three). (The killed member leaves the group after
# kafka.session.timeout.ms, 6 s here.)
#
#   bash tests/t_checkpoint_kafka.sh <ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
live_setup t_checkpoint_kafka "${1:?usage: t_checkpoint_kafka.sh <ccpulse-binary> <build-dir>}" \
  "${2:?usage: t_checkpoint_kafka.sh <ccpulse-binary> <build-dir>}"

# scenario NAME PARTITIONS WORKERS GEN-ARGS...: one kill-and-restore run; the
# snapshot byte for byte and the alerts (exactly once, no other) against
# `ccpulse replay --partitions PARTITIONS`
scenario() {
  local name=$1 parts=$2 workers=$3
  shift 3
  local t=$SECONDS
  python3 "$GEN" --events 4000 --seed 21 "$@" --out "$work/$name.jsonl" >/dev/null
  local n h q
  n=$(grep -c . "$work/$name.jsonl")
  h=$((n / 2))
  q=$((n / 4))
  head -n "$h" "$work/$name.jsonl" >"$work/$name.1.jsonl"
  sed -n "$((h + 1)),$((h + q))p" "$work/$name.jsonl" >"$work/$name.2a.jsonl"
  tail -n +"$((h + q + 1))" "$work/$name.jsonl" >"$work/$name.2b.jsonl"
  topic "$name" "$parts"
  "$BIN" produce --brokers "$B" --topic "$name" "$work/$name.1.jsonl" >/dev/null ||
    fail "$name: produce the first half"
  local args=(--topic "$name" --group "g-$name" --set "redis.prefix=$name:" --workers "$workers"
    --set checkpoint.interval=4s --set kafka.session.timeout.ms=6000)
  start_run "$name.1" "${args[@]}"
  wait_ckpt "$name:" "$name" "$parts" "$h" 90 || fail "$name: first half not checkpointed"
  # a quarter more, published (view and alerts) but, 4 s apart, most
  # likely not yet checkpointed: the restart reads it again
  "$BIN" produce --brokers "$B" --topic "$name" "$work/$name.2a.jsonl" >/dev/null ||
    fail "$name: produce the third quarter"
  local e0=0 start=$SECONDS
  while [ "$e0" != $((h + q)) ] && [ $((SECONDS - start)) -lt 60 ]; do
    sleep 0.05
    e0=$(timeout 5 $R --raw HGET "$name:v1:meta" events 2>/dev/null)
  done
  kill_run
  [ "$e0" = $((h + q)) ] || fail "$name: the third quarter was not published ($e0 events)"
  local ck c
  ck=$(ckpt_offsets "$name:" "$name" "$parts")
  c=$(committed "g-$name" "$name")
  [ "$c" -le "$ck" ] || fail "$name: committed offsets ($c) pass the checkpoints ($ck)"
  "$BIN" produce --brokers "$B" --topic "$name" "$work/$name.2b.jsonl" >/dev/null ||
    fail "$name: produce the last quarter"
  start_run "$name.2" "${args[@]}"
  wait_events "$name:" "$n" 90 || fail "$name: not every event published after the restart"
  stop_run "$name.2"
  local restored
  restored=$(grep -c "restored .* bytes at offset" "$work/$name.2.err")
  [ "$restored" = "$parts" ] ||
    fail "$name: $restored 'restored' log line(s), want $parts ($(grep checkpoint "$work/$name.2.err" | head -3))"
  "$BIN" replay --partitions "$parts" --alerts "$work/$name.replay.alerts" "$work/$name.jsonl" \
    >"$work/$name.replay.json"
  last_snapshot "$name:" >"$work/$name.json"
  cmp -s "$work/$name.json" "$work/$name.replay.json" || {
    fail "$name: snapshot after kill and restore differs from replay --partitions $parts"
    python3 "$root/tests/live_compare.py" "$work/$name.json" "$work/$name.replay.json" >&2
  }
  alerts_dump "$name:" "$work/$name.alerts"
  check_alerts "$name" "$work/$name.replay.alerts" "$work/$name.alerts"
  echo "ok: $name, $parts partition(s): killed with $e0 events published, $ck checkpointed, $c committed ($((SECONDS - t))s)"
}

inorder=(--late-frac 0 --shuffle-frac 0 --skew-frac 0 --dup-frac 0 --edge-frac 0 --gaps 0)
scenario ck1 1 1
scenario ck3 3 2 --days 1 "${inorder[@]}"
scenario ck3d 3 2 "${inorder[@]}"

live_done t_checkpoint_kafka
