#!/usr/bin/env bash
# labels: integration redis
#
# Faults of the servers around `ccpulse run`, against a real Kafka broker
# and a real redis-server (one broker start for all cases), with
# checkpoints on (checkpoint.interval=500ms). Each case compares the final
# snapshot in Redis byte for byte with `ccpulse replay` of the same events
# (1 partition) and the alerts stream with `ccpulse replay --alerts`
# (tests/live_alerts.py: every id once, 0 lost, 0 repeated, 0 extra):
#   1. Redis restarted EMPTY mid-run (scripts/redis.sh stop, start on the
#      same port) while `ccpulse run` keeps running and the second half is
#      produced: the next cycles write everything again — every KPI tile and
#      the scope list equal replay's, the checkpoint is stored again and
#      covers every record; then the run is SIGKILLed and a new one restores
#      that rewritten checkpoint (the snapshot stream is emptied first, so
#      the final snapshot is the new run's) and publishes what replay does.
#      The alerts are the stream before the restart and after it together.
#   2. The broker restarted mid-run (scripts/kafka.sh stop, start
#      --keep-data on the same ports): `ccpulse run` reconnects and reads
#      the second half, produced after the restart.
#   3. Redis unreachable when the partition is assigned (docs/checkpoints.md,
#      Restore on assignment): a checkpoint is stored in a Redis with an
#      append-only file, Redis stops, the second half is produced and a new
#      `ccpulse run` starts; Redis stays away 12 s (longer than the restore's
#      first attempts), then comes back with its data: the partition waited
#      (not consumed, no empty engine), restores the checkpoint and resumes
#      at its offset.
#   4. The dead-letter topic missing (docs/live.md, the publish cycle): the
#      stream holds events §7 refuses, and `<topic>.dlq` does not exist; the
#      view still counts every event and keeps publishing (a cycle waits at
#      most 100 ms for dead letters), nothing is committed while the dead
#      letters are undelivered, an error is logged once they waited 5 s;
#      once the topic is created they are delivered, every one, and the
#      offsets are committed.
#
#   bash tests/t_fault_kafka.sh <ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
live_setup t_fault_kafka "${1:?usage: t_fault_kafka.sh <ccpulse-binary> <build-dir>}" \
  "${2:?usage: t_fault_kafka.sh <ccpulse-binary> <build-dir>}"

redis_stop() { bash "$root/scripts/redis.sh" stop --dir "$rdir" >/dev/null 2>&1; }
# redis_start [--persist]: on the same port as before
redis_start() {
  bash "$root/scripts/redis.sh" start --port "$RPORT" --dir "$rdir" "$@" >/dev/null ||
    die "cannot start redis-server again on port $RPORT"
}
# args NAME: the flags of a run on topic NAME (1 partition, group g-NAME, prefix NAME:)
args() {
  echo --topic "$1" --group "g-$1" --set "redis.prefix=$1:" --workers 1 \
    --set checkpoint.interval=500ms --set kafka.session.timeout.ms=6000
}
# replay_of NAME: NAME.replay.json and NAME.replay.alerts
replay_of() {
  "$BIN" replay --alerts "$work/$1.replay.alerts" "$work/$1.jsonl" >"$work/$1.replay.json"
}
# prepare NAME SEED: events, halves, replay, a 1-partition topic NAME, the first half produced
prepare() {
  python3 "$GEN" --events 4000 --seed "$2" --out "$work/$1.jsonl" >/dev/null
  split_halves "$1"
  replay_of "$1"
  topic "$1" 1
  "$BIN" produce --brokers "$B" --topic "$1" "$work/$1.1.jsonl" >/dev/null || fail "$1: produce the first half"
}
# same_snapshot NAME WHAT: the last snapshot equals replay's byte for byte
same_snapshot() {
  last_snapshot "$1:" >"$work/$1.json"
  cmp -s "$work/$1.json" "$work/$1.replay.json" || fail "$1: $2: snapshot differs from replay"
}

# 1. Redis restarted empty mid-run
t=$SECONDS
prepare re 31
start_run re.1 $(args re)
wait_events re: "$H" 90 || fail "re: first half not published"
wait_cycles re: 3 || fail "re: no cycles after the first half"
alerts_dump re: "$work/re.alerts.1" # every alert of the first half is out: nothing fires without events
redis_stop
"$BIN" produce --brokers "$B" --topic re "$work/re.2.jsonl" >/dev/null || fail "re: produce the second half"
sleep 2 # read while Redis is away
redis_start
wait_events re: "$N" 60 || fail "re: not every event published after Redis came back empty"
wait_ckpt re: re 1 "$N" 30 || fail "re: the checkpoint was not written again"
[ "$(timeout 5 $R --raw EXISTS re:ckpt:re:0:epoch)" = 1 ] || fail "re: no fencing epoch after the restart"
check_tiles "re, after the restart" re: "$work/re.replay.json"
same_snapshot re "after Redis came back empty"
kill_run # the new run must restore what was written after the restart
timeout 5 $R DEL re:snapshots >/dev/null
start_run re.2 $(args re)
wait_events re: "$N" 90 || fail "re: the restored run did not publish every event"
stop_run re.2
grep -q "restored .* bytes at offset $N " "$work/re.2.err" ||
  fail "re: no restore at offset $N ($(grep checkpoint "$work/re.2.err" | head -2))"
same_snapshot re "restored from the checkpoint written after the restart"
alerts_dump re: "$work/re.alerts.2"
check_alerts "re, alerts before and after the restart" "$work/re.replay.alerts" \
  "$work/re.alerts.1" "$work/re.alerts.2"
echo "ok: Redis restarted empty ($((SECONDS - t))s)"

# 2. broker restarted mid-run
t=$SECONDS
prepare br 32
start_run br $(args br)
wait_events br: "$H" 90 || fail "br: first half not published"
cport=$(sed -n 's/^controller.quorum.voters=1@127.0.0.1://p' "$kdir/server.properties")
kafka stop --dir "$kdir" >/dev/null 2>&1 || fail "br: cannot stop the broker"
sleep 1
kill -0 "$RUNPID" 2>/dev/null || fail "br: ccpulse run exited while the broker was away"
out=$(kafka start --dir "$kdir" --keep-data --port "${B##*:}" --controller-port "$cport") ||
  die "br: cannot start the broker again: $out"
"$BIN" produce --brokers "$B" --topic br "$work/br.2.jsonl" >/dev/null || fail "br: produce the second half"
wait_events br: "$N" 120 || fail "br: not every event published after the broker restart"
wait_cycles br: 3 || fail "br: no cycles after the second half"
stop_run br
same_snapshot br "after the broker restart"
alerts_dump br: "$work/br.alerts"
check_alerts "br" "$work/br.replay.alerts" "$work/br.alerts"
echo "ok: broker restarted ($((SECONDS - t))s; ccpulse log: $(grep -c 'checkpoint: .*restored' "$work/br.err") restore(s))"

# 3. Redis unreachable at assignment, then back with its data
t=$SECONDS
redis_stop
redis_start --persist
prepare rd 33
start_run rd.1 $(args rd)
wait_events rd: "$H" 90 || fail "rd: first half not published"
stop_run rd.1 # the final checkpoint covers the first half
[ "$(ckpt_offsets rd: rd 1)" = "$H" ] || fail "rd: the checkpoint does not cover the first half"
redis_stop # the append-only file keeps the checkpoint
"$BIN" produce --brokers "$B" --topic rd "$work/rd.2.jsonl" >/dev/null || fail "rd: produce the second half"
start_run rd.2 $(args rd)
sleep 12
grep -q "cannot reach redis" "$work/rd.2.err" ||
  fail "rd: no line about Redis being unreachable at assignment ($(tail -2 "$work/rd.2.err"))"
redis_start --persist
wait_events rd: "$N" 60 || fail "rd: not every event published after Redis came back"
wait_cycles rd: 3 || fail "rd: no cycles after Redis came back"
stop_run rd.2
grep -q "restored .* bytes at offset $H " "$work/rd.2.err" ||
  fail "rd: no restore at offset $H ($(grep checkpoint "$work/rd.2.err" | tail -2))"
same_snapshot rd "Redis unreachable at assignment"
alerts_dump rd: "$work/rd.alerts"
check_alerts "rd" "$work/rd.replay.alerts" "$work/rd.alerts"
echo "ok: Redis unreachable at assignment ($((SECONDS - t))s)"

# 4. the dead-letter topic missing, then created
t=$SECONDS
python3 "$GEN" --events 2000 --seed 34 --out "$work/dl.jsonl" >/dev/null
# five events with a time before 2000-01-01: invalid (docs/kpis.md §7), dead-lettered
head -n 5 "$work/dl.jsonl" | python3 -c 'import json, sys
for i, line in enumerate(sys.stdin):
    e = json.loads(line)
    e["event_id"], e["ts"] = "E-before-2000-%d" % i, 900000000000
    print(json.dumps(e))' >>"$work/dl.jsonl"
N=$(grep -c . "$work/dl.jsonl")
kafka topic create dl --partitions 1 --bootstrap "$B" --dir "$kdir" >/dev/null || die "dl: cannot create the topic"
"$BIN" produce --brokers "$B" --topic dl "$work/dl.jsonl" >/dev/null || fail "dl: produce"
start_run dl $(args dl)
wait_events dl: "$N" 30 || fail "dl: the view did not count every event while dl.dlq is missing"
wait_cycles dl: 10 || fail "dl: publishing stopped while dl.dlq is missing"
for _ in $(seq 100); do # an error once they waited 5 s
  grep -q "dead-letter topic 'dl.dlq': records not delivered for [0-9]* ms" "$work/dl.err" && break
  sleep 0.1
done
grep -q "dead-letter topic 'dl.dlq': records not delivered for [0-9]* ms" "$work/dl.err" ||
  fail "dl: no line about the undelivered dead letters ($(tail -2 "$work/dl.err"))"
wait_cycles dl: 10 || fail "dl: publishing stopped after the dead letters were late"
got=$(committed g-dl dl)
[ "$got" = 0 ] || fail "dl: offsets committed ($got) while dead letters were undelivered"
kafka topic create dl.dlq --partitions 1 --bootstrap "$B" --dir "$kdir" >/dev/null || die "dl: cannot create dl.dlq"
wait_cycles dl: 20 || fail "dl: publishing stopped after dl.dlq was created"
stop_run dl
got=$(committed g-dl dl)
[ "$got" = "$N" ] || fail "dl: committed offset $got after the dead letters were delivered, want $N"
want=$(sed -n 's/.*shutdown done: .* \([0-9][0-9]*\) dead-lettered.*/\1/p' "$work/dl.err")
[ "${want:-0}" -ge 5 ] || fail "dl: $want record(s) dead-lettered, want at least the 5 planted"
# one line per record (the values are binary)
got=$(kafka tool console-consumer --bootstrap-server "$B" --topic dl.dlq --from-beginning \
  --property print.value=false --property print.offset=true --timeout-ms 10000 2>/dev/null | grep -c Offset)
[ "$got" = "$want" ] || fail "dl: dl.dlq holds $got dead letters, want $want (each once)"
echo "ok: dead-letter topic missing, then created ($((SECONDS - t))s)"

live_done t_fault_kafka
