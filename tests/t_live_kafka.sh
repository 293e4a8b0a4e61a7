#!/usr/bin/env bash
# labels: integration redis
#
# `ccpulse run` against a real single-node Kafka broker (scripts/kafka.sh,
# KRaft, jars from Maven Central, cached) and Debian's redis-server
# (scripts/redis.sh), events sent with `ccpulse produce`:
#   1. 1 partition: the last snapshot in Redis equals `ccpulse replay` of the
#      same events byte for byte; SIGTERM exits 0 after a final publish;
#   2. 3 partitions, 2 workers, the generator's full mix (late, shuffled and
#      duplicate events): byte for byte equal to `ccpulse replay
#      --partitions 3` (routed as `ccpulse produce` routes them, each
#      partition on its own stream time);
#   3. breach alerts of tickets opened at the wall clock (sla.PHONE=3s) reach
#      the Redis alerts stream within 1 s of their deadline (stream entry time
#      minus at_ms) and exactly once each; answered tickets raise none;
# (The dead-letter topic is checked on the mock cluster: test_consumer_mock;
# Redis restarted empty mid-run, and other faults, in t_fault_kafka.sh.)
# Bounded in time; broker and Redis are stopped on exit (trap). Work files:
# <build-dir>/t_live_kafka/.
#
#   bash tests/t_live_kafka.sh <ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
live_setup t_live_kafka "${1:?usage: t_live_kafka.sh <ccpulse-binary> <build-dir>}" \
  "${2:?usage: t_live_kafka.sh <ccpulse-binary> <build-dir>}"

# 1. one partition
t=$SECONDS
python3 "$GEN" --events 3000 --seed 11 --out "$work/one.jsonl" >/dev/null
N1=$(grep -c . "$work/one.jsonl")
topic one 1
"$BIN" produce --brokers "$B" --topic one "$work/one.jsonl" >"$work/one.produce" || fail "produce one"
start_run one --topic one --group g-one --set redis.prefix=one: --workers 1
wait_events one: "$N1" 90 || fail "1 partition: not every event published"
stop_run one
"$BIN" replay "$work/one.jsonl" >"$work/one.replay.json"
last_snapshot one: >"$work/one.json"
cmp -s "$work/one.json" "$work/one.replay.json" || fail "1 partition: snapshot differs from replay"
echo "ok: 1 partition ($((SECONDS - t))s)"

# 2. three partitions (see t_live_mock.sh)
t=$SECONDS
python3 "$GEN" --events 3000 --seed 12 --out "$work/three.jsonl" >/dev/null
N2=$(grep -c . "$work/three.jsonl")
topic three 3
"$BIN" produce --brokers "$B" --topic three "$work/three.jsonl" >/dev/null || fail "produce three"
start_run three --topic three --group g-three --set redis.prefix=three: --workers 2
wait_events three: "$N2" 90 || fail "3 partitions: not every event published"
stop_run three
"$BIN" replay --partitions 3 "$work/three.jsonl" >"$work/three.replay.json"
last_snapshot three: >"$work/three.json"
cmp -s "$work/three.json" "$work/three.replay.json" || {
  fail "3 partitions: snapshot differs from replay --partitions 3"
  python3 "$root/tests/live_compare.py" "$work/three.json" "$work/three.replay.json" >&2
}
echo "ok: 3 partitions ($((SECONDS - t))s)"

# 3. breach alerts near the wall clock
t=$SECONDS
topic alerts 3
start_run alerts --topic alerts --group g-alerts --set redis.prefix=al: --workers 2 \
  --set sla.PHONE=3s
sleep 4 # joined the group
python3 - "$work/alerts.jsonl" <<'EOF'
import json, sys, time
now = int(time.time() * 1000)
with open(sys.argv[1], "w") as f:
    for i in range(15):
        tid = "W%02d" % i
        base = {"ticket_id": tid, "channel": "PHONE", "queue": "q", "customer_id": "c%d" % i}
        f.write(json.dumps(dict(base, event_id=tid + "o", type="OPENED", ts=now + i * 10)) + "\n")
        if i >= 10:  # answered after 1 s: no breach
            f.write(json.dumps(dict(base, event_id=tid + "r", type="AGENT_REPLY", agent_id="a",
                                    ts=now + i * 10 + 1000)) + "\n")
EOF
"$BIN" produce --brokers "$B" --topic alerts "$work/alerts.jsonl" >/dev/null || fail "produce alerts"
sleep 6 # deadlines at +3 s, then some quiet time
stop_run alerts
timeout 5 $R --raw XRANGE al:alerts - + >"$work/alerts.stream"
python3 - "$work/alerts.stream" <<'EOF' || fail "breach alerts: late, missing or repeated"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
breaches = {}
bad = 0
# XRANGE --raw: id, field, value triples
for i in range(0, len(lines) - 2, 3):
    sid, field, val = lines[i], lines[i + 1], lines[i + 2]
    if field != "json":
        continue
    a = json.loads(val)
    if a.get("type") != "sla_breach":
        continue
    tid = a["ticket_id"]
    breaches[tid] = breaches.get(tid, 0) + 1
    delay = int(sid.split("-")[0]) - a["at_ms"]
    if not (0 <= delay <= 1000):
        print("breach of %s written %d ms after its deadline" % (tid, delay), file=sys.stderr)
        bad += 1
want = {"W%02d" % i for i in range(10)}
if set(breaches) != want:
    print("breaches for %s, want %s" % (sorted(breaches), sorted(want)), file=sys.stderr)
    bad += 1
rep = {t: n for t, n in breaches.items() if n != 1}
if rep:
    print("repeated breach alerts: %s" % rep, file=sys.stderr)
    bad += 1
sys.exit(1 if bad else 0)
EOF
echo "ok: breach alerts ($((SECONDS - t))s)"

live_done t_live_kafka
