#!/usr/bin/env bash
# labels: integration redis
#
# Checkpoints (docs/checkpoints.md) against a real Kafka broker and a real
# redis-server: half of a generated stream is produced, `ccpulse run`
# consumes it and checkpoints (checkpoint.interval=500ms), is killed with
# SIGKILL once every partition's checkpoint covers its half, the rest is
# produced, and a second `ccpulse run` (same group and prefix) restores the
# checkpoints and consumes the rest. The final snapshot in Redis must equal
# `ccpulse replay` of the whole stream:
#   1. 1 partition: byte for byte; the committed offset after the kill is
#      the checkpoint's (never past it);
#   2. 3 partitions, 2 workers: per the merge guarantees
#      (tests/live_compare.py --merged), in-order events.
# The second run must log one "restored" line per partition. (The killed
# member leaves the group after kafka.session.timeout.ms, 6 s here.)
#
#   bash tests/t_checkpoint_kafka.sh <ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
live_setup t_checkpoint_kafka "${1:?usage: t_checkpoint_kafka.sh <ccpulse-binary> <build-dir>}" \
  "${2:?usage: t_checkpoint_kafka.sh <ccpulse-binary> <build-dir>}"

# ckpt_offsets PREFIX TOPIC PARTITIONS: the checkpoints' offsets summed (-1: one missing)
ckpt_offsets() {
  local sum=0 o
  for ((p = 0; p < $3; p++)); do
    o=$(timeout 5 $R --raw HGET "$1ckpt:$2:$p" offset 2>/dev/null)
    [ -n "$o" ] || { echo -1; return; }
    sum=$((sum + o))
  done
  echo $sum
}
# wait_ckpt PREFIX TOPIC PARTITIONS N SECONDS: until the offsets sum to N
wait_ckpt() {
  local got=-1 start=$SECONDS
  while [ $((SECONDS - start)) -lt "$5" ]; do
    got=$(ckpt_offsets "$1" "$2" "$3")
    [ "$got" = "$4" ] && return 0
    sleep 0.2
  done
  echo "  checkpoints of '$2' cover $got records, want $4" >&2
  return 1
}
# committed GROUP TOPIC: the committed offsets summed (kafka-consumer-groups)
committed() {
  kafka tool consumer-groups --bootstrap-server "$B" --describe --group "$1" 2>/dev/null |
    awk -v t="$2" '$2 == t && $4 ~ /^[0-9]+$/ { s += $4 } END { print s + 0 }'
}

# scenario NAME PARTITIONS WORKERS COMPARE GEN-ARGS...: one kill-and-restore run
scenario() {
  local name=$1 parts=$2 workers=$3 compare=$4
  shift 4
  local t=$SECONDS
  python3 "$GEN" --events 4000 --seed 21 "$@" --out "$work/$name.jsonl" >/dev/null
  local n h
  n=$(grep -c . "$work/$name.jsonl")
  h=$((n / 2))
  head -n "$h" "$work/$name.jsonl" >"$work/$name.1.jsonl"
  tail -n +"$((h + 1))" "$work/$name.jsonl" >"$work/$name.2.jsonl"
  topic "$name" "$parts"
  "$BIN" produce --brokers "$B" --topic "$name" "$work/$name.1.jsonl" >/dev/null ||
    fail "$name: produce the first half"
  local args=(--topic "$name" --group "g-$name" --set "redis.prefix=$name:" --workers "$workers"
    --set checkpoint.interval=500ms --set kafka.session.timeout.ms=6000)
  start_run "$name.1" "${args[@]}"
  wait_ckpt "$name:" "$name" "$parts" "$h" 90 || fail "$name: first half not checkpointed"
  kill -KILL "$RUNPID"
  wait "$RUNPID" 2>/dev/null
  RUNPID=
  local c
  c=$(committed "g-$name" "$name")
  [ "$c" -le "$h" ] || fail "$name: committed offsets ($c) pass the checkpoints ($h)"
  "$BIN" produce --brokers "$B" --topic "$name" "$work/$name.2.jsonl" >/dev/null ||
    fail "$name: produce the second half"
  start_run "$name.2" "${args[@]}"
  wait_events "$name:" "$n" 90 || fail "$name: not every event published after the restart"
  stop_run "$name.2"
  local restored
  restored=$(grep -c "restored .* bytes at offset" "$work/$name.2.err")
  [ "$restored" = "$parts" ] ||
    fail "$name: $restored 'restored' log line(s), want $parts ($(grep checkpoint "$work/$name.2.err" | head -3))"
  "$BIN" replay "$work/$name.jsonl" >"$work/$name.replay.json"
  last_snapshot "$name:" >"$work/$name.json"
  if [ "$compare" = exact ]; then
    cmp -s "$work/$name.json" "$work/$name.replay.json" ||
      fail "$name: snapshot after kill and restore differs from replay"
  else
    python3 "$root/tests/live_compare.py" "$work/$name.json" "$work/$name.replay.json" --merged ||
      fail "$name: merged snapshot after kill and restore differs from replay"
  fi
  echo "ok: $name, $parts partition(s): committed $c of $h before the kill ($((SECONDS - t))s)"
}

scenario ck1 1 1 exact
scenario ck3 3 2 merged --late-frac 0 --shuffle-frac 0 --skew-frac 0 --dup-frac 0 --edge-frac 0 \
  --gaps 0

live_done t_checkpoint_kafka
