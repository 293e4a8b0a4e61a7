#!/usr/bin/env bash
# labels: integration redis
#
# Smoke test of the real components the live pipeline runs against:
#   - scripts/kafka.sh fetches the Kafka broker jars (Maven Central, cached in
#     ${CCPULSE_CACHE:-~/.cache/ccpulse}) and starts a single-node KRaft broker;
#   - scripts/redis.sh starts Debian's redis-server;
#   - a topic with 3 partitions is created, 10 keyed text messages are produced
#     and consumed back with the broker's own console tools, and must match;
#   - redis-cli PING must answer PONG;
#   - both are stopped (also on failure: trap on EXIT).
# Prints how long each step took. Work files: <build-dir>/t_kafka_smoke/
# (kafka.log, redis.log are kept for a look after a failure).
#
#   bash tests/t_kafka_smoke.sh <ccpulse-binary> <build-dir>   (the binary is unused)
set -euo pipefail

BUILD=${2:?usage: t_kafka_smoke.sh <ccpulse-binary> <build-dir>}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$BUILD"
work=$(cd "$BUILD" && pwd)/t_kafka_smoke
kdir=$work/kafka
rdir=$work/redis

cleanup() {
  local rc=$?
  # After a pass both are stopped already; this is for the failure paths.
  bash "$root/scripts/kafka.sh" stop --dir "$kdir" >/dev/null 2>&1 || true
  bash "$root/scripts/redis.sh" stop --dir "$rdir" >/dev/null 2>&1 || true
  if [ $rc -ne 0 ]; then
    echo "--- last lines of $kdir/kafka.log"
    tail -n 40 "$kdir/kafka.log" 2>/dev/null || true
    echo "--- last lines of $rdir/redis.log"
    tail -n 10 "$rdir/redis.log" 2>/dev/null || true
    echo "FAIL: t_kafka_smoke (work files: $work)"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# If a previous run was killed before its trap ran, stop what it left.
bash "$root/scripts/kafka.sh" stop --dir "$kdir" >/dev/null 2>&1 || true
bash "$root/scripts/redis.sh" stop --dir "$rdir" >/dev/null 2>&1 || true
rm -rf "$work"
mkdir -p "$work"

t_all=$SECONDS
t_step=$SECONDS
step_done() {
  printf 'ok: %-44s %4ds\n' "$1" $((SECONDS - t_step))
  t_step=$SECONDS
}
fail() {
  echo "FAIL: $*"
  exit 1
}
kafka() { bash "$root/scripts/kafka.sh" "$@"; }

kafka fetch >"$work/fetch.out"
step_done "fetch kafka $(sed -n 's/^KAFKA_VERSION=//p' "$work/fetch.out") jars"

out=$(kafka start --dir "$kdir")
bootstrap=$(sed -n 's/^BOOTSTRAP=//p' <<<"$out")
[ -n "$bootstrap" ] || fail "kafka.sh start printed no BOOTSTRAP= line: $out"
[ "$(cat "$kdir/bootstrap")" = "$bootstrap" ] || fail "$kdir/bootstrap does not hold '$bootstrap'"
kafka status --dir "$kdir" >/dev/null || fail "kafka.sh status says the broker is down"
step_done "start broker ($bootstrap)"

out=$(bash "$root/scripts/redis.sh" start --dir "$rdir")
redis_url=$(sed -n 's/^REDIS=//p' <<<"$out")
[[ $redis_url =~ ^redis://127\.0\.0\.1:[0-9]+$ ]] || fail "redis.sh start printed no REDIS= url: $out"
redis_port=${redis_url##*:}
step_done "start redis ($redis_url)"

topic=ccp-smoke
kafka topic create "$topic" --partitions 3 --dir "$kdir" >/dev/null
desc=$(kafka topic describe "$topic" --dir "$kdir")
grep -q 'PartitionCount: 3' <<<"$desc" || fail "topic '$topic' does not have 3 partitions: $desc"
step_done "create topic $topic (3 partitions)"

for i in $(seq 1 10); do echo "ticket-$i:event number $i"; done >"$work/sent.txt"
kafka tool console-producer --bootstrap-server "$bootstrap" --topic "$topic" \
  --property parse.key=true --property key.separator=: \
  --producer-property acks=all <"$work/sent.txt"
step_done "produce 10 messages"

timeout 120 bash "$root/scripts/kafka.sh" tool console-consumer --bootstrap-server "$bootstrap" \
  --topic "$topic" --group ccp-smoke --from-beginning --max-messages 10 --timeout-ms 60000 \
  --property print.key=true --property key.separator=: \
  --property print.partition=true >"$work/received.raw" 2>"$work/consumer.err" \
  || { cat "$work/consumer.err"; fail "console consumer failed"; }
# print.partition prefixes "Partition:N" and the separator; keep it to count
# the partitions used.
sed 's/^Partition:[0-9]*://' "$work/received.raw" | sort >"$work/received.txt"
sort "$work/sent.txt" >"$work/sent.sorted"
if ! cmp -s "$work/sent.sorted" "$work/received.txt"; then
  diff "$work/sent.sorted" "$work/received.txt" || true
  fail "consumed messages differ from the produced ones (expected < got >)"
fi
nparts=$(sed -n 's/^Partition:\([0-9]*\):.*/\1/p' "$work/received.raw" | sort -u | wc -l)
step_done "consume 10 messages back (from $nparts partitions)"

[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$redis_port" ping)" = PONG ] || fail "redis-cli ping did not answer PONG"
timeout 5 redis-cli -h 127.0.0.1 -p "$redis_port" set ccp:smoke ok >/dev/null
[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$redis_port" get ccp:smoke)" = ok ] || fail "redis GET after SET"
step_done "redis ping, set, get"

kafka stop --dir "$kdir"
bash "$root/scripts/redis.sh" stop --dir "$rdir"
[ ! -e "$kdir/kafka.pid" ] && [ ! -e "$rdir/redis.pid" ] || fail "pid files left after stop"
step_done "stop broker and redis"

echo "t_kafka_smoke: passed in $((SECONDS - t_all))s"
