#!/usr/bin/env bash
# labels: integration redis
#
# Shutdown within 5 s whatever is down (issue 11; docs/operations.md,
# "Stopping"): `ccpulse run` against a real broker (scripts/kafka.sh) and
# redis-server (scripts/redis.sh), events flowing, then
#   A. the broker stopped: the loss is logged once ("lost the connection to
#      every broker"), SIGTERM exits within the bound;
#   B. a run started with the broker down (never assigned) exits within the
#      bound too; started again, with the broker back on its data
#      (--keep-data): the recovery is logged, and every event is counted
#      exactly once (nothing lost, nothing twice: what was not committed is
#      read again);
#   C. the broker and Redis (frozen with SIGSTOP: connections hang, the
#      harder case) both down: SIGTERM exits within the bound.
# The bound asserted is 8 s (the deadlines add up to under 5 s; the margin
# absorbs a loaded CI machine); the measured times are printed.
#
#   bash tests/t_shutdown_kafka.sh <ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
live_setup t_shutdown_kafka "${1:?usage: t_shutdown_kafka.sh <ccpulse-binary> <build-dir>}" \
  "${2:?usage: t_shutdown_kafka.sh <ccpulse-binary> <build-dir>}"
BOUND_MS=8000

# term_timed NAME: SIGTERM, then the time to exit in ms (killed after 30 s)
term_timed() {
  local t0 t1
  t0=$(date +%s%N)
  kill -TERM "$RUNPID"
  for _ in $(seq 300); do kill -0 "$RUNPID" 2>/dev/null || break; sleep 0.02; done
  t1=$(date +%s%N)
  if kill -0 "$RUNPID" 2>/dev/null; then kill -KILL "$RUNPID"; fi
  wait "$RUNPID" 2>/dev/null
  RUNPID=
  ELAPSED_MS=$(((t1 - t0) / 1000000))
}

python3 "$GEN" --events 4000 --seed 3 --out "$work/ev.jsonl" >/dev/null
N=$(grep -c . "$work/ev.jsonl")
topic sd 2
"$BIN" produce --brokers "$B" --topic sd "$work/ev.jsonl" >/dev/null || die "produce"

# A. the broker down
start_run a --topic sd --group g-sd --set redis.prefix=sd: --set checkpoint.interval=1s
wait_events sd: "$N" 90 || fail "A: not every event published"
wait_cycles sd: 15 || fail "A: no checkpoint cycles"
kafka stop --dir "$kdir" >/dev/null
for _ in $(seq 100); do grep -q "lost the connection to every broker" "$work/a.err" && break; sleep 0.1; done
grep -q "lost the connection to every broker" "$work/a.err" || fail "A: no 'lost the connection' line"
term_timed a
echo "A: SIGTERM with Kafka down: exited in $ELAPSED_MS ms"
[ "$ELAPSED_MS" -le $BOUND_MS ] || fail "A: exit took $ELAPSED_MS ms (bound $BOUND_MS)"
n_lost=$(grep -c "lost the connection to every broker" "$work/a.err")
[ "$n_lost" -eq 1 ] || fail "A: the loss was logged $n_lost times"
n_raw=$(grep -c "Connect to .* failed" "$work/a.err")
echo "A: raw 'Connect ... failed' lines: $n_raw"

# B. started with the broker down (never assigned: destroyed without the
# group close, librdkafka #4312), then again and the broker back on its
# data: the recovery is logged, and every event is counted exactly once
start_run b1 --topic sd --group g-sd --set redis.prefix=sd: --set checkpoint.interval=1s
for _ in $(seq 100); do grep -q "lost the connection to every broker" "$work/b1.err" && break; sleep 0.1; done
grep -q "lost the connection to every broker" "$work/b1.err" || fail "B: no 'lost the connection' line at start"
pid=$RUNPID
term_timed b1
wait "$pid" 2>/dev/null
echo "B: SIGTERM with Kafka down since the start: exited in $ELAPSED_MS ms"
[ "$ELAPSED_MS" -le $BOUND_MS ] || fail "B: exit took $ELAPSED_MS ms (bound $BOUND_MS)"
grep -q "shutdown done" "$work/b1.err" || fail "B: no clean shutdown: $(tail -2 "$work/b1.err")"
start_run b --topic sd --group g-sd --set redis.prefix=sd: --set checkpoint.interval=1s
sleep 2
out=$(kafka start --dir "$kdir" --keep-data --port "${B##*:}") || die "kafka restart: $out"
for _ in $(seq 300); do grep -q "brokers reachable again" "$work/b.err" && break; sleep 0.1; done
grep -q "brokers reachable again after" "$work/b.err" || fail "B: no recovery line"
wait_events sd: "$N" 90 || fail "B: the snapshot after the restart does not count every event once"
"$BIN" replay --partitions 2 "$work/ev.jsonl" >"$work/replay.json"
wait_cycles sd: 3
last_snapshot sd: >"$work/b.json"
python3 - "$work/b.json" "$work/replay.json" <<'PY' || fail "B: diagnostics differ from replay --partitions 2"
import json, sys
a, b = (json.load(open(f))["diagnostics"] for f in sys.argv[1:])
assert a == b, (a, b)
PY
echo "ok: B: loss and recovery logged, every event counted once after the restart"

# C. the broker and Redis down (Redis frozen: its connections hang)
kafka stop --dir "$kdir" >/dev/null
kill -STOP "$(cat "$rdir/redis.pid")"
sleep 1
term_timed b
kill -CONT "$(cat "$rdir/redis.pid")"
echo "C: SIGTERM with Kafka and Redis down: exited in $ELAPSED_MS ms"
[ "$ELAPSED_MS" -le $BOUND_MS ] || fail "C: exit took $ELAPSED_MS ms (bound $BOUND_MS)"
grep -E "shutdown|deadline|final" "$work/b.err" | tail -4

live_done t_shutdown_kafka
