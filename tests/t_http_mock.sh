#!/usr/bin/env bash
# labels: kafka-mock redis
#
# The HTTP endpoint of `ccpulse run` (http.listen; docs/operations.md,
# Monitoring) on librdkafka's mock cluster with a real redis-server, fetched
# with curl:
#   1. Redis not there yet: /healthz 200, /readyz 503 naming the reason, and
#      /metrics counts failed publish cycles; Redis started: /readyz flips to
#      200, the outage's start and end are logged once each; every line of /metrics parses (tests/prom_check.py: HELP and TYPE
#      per family, _total counters, cumulative histogram), the counters move
#      as events flow (events_total reaches the count produced; cycles grow),
#      lag and broker state are there; unknown paths 404;
#   2. a second instance on the same port exits 2 naming http.listen; a bad
#      http.listen exits 2 naming the key; an empty one serves nothing;
#   3. SIGTERM: exit 0, the port is closed.
# Usage: bash t_http_mock.sh <ccpulse-binary> <build-dir>
set -u
BIN=${1:?usage: t_http_mock.sh <ccpulse-binary> <build-dir>}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/ccp_http_mock.XXXXXX")
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
command -v curl >/dev/null || { echo "SKIP: curl missing (bash scripts/setup-deps.sh)"; exit 77; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RPORT=$(free_port)

python3 "$ROOT/tests/reference/gen_events.py" --events 3000 --seed 5 --out "$T/ev.jsonl" >/dev/null
N=$(grep -c . "$T/ev.jsonl")

# 1. Redis down at first: the start-up line gives the port chosen for :0
"$BIN" run --mock --partitions 2 --redis "redis://127.0.0.1:$RPORT" --set http.listen=127.0.0.1:0 \
  --set publish.interval=100ms --set kafka.statistics.interval.ms=200 "$T/ev.jsonl" \
  >"$T/run.out" 2>"$T/run.err" &
RUNPID=$!
HP=
for _ in $(seq 100); do
  HP=$(sed -n "s/.*http: serving .* (port \([0-9]*\)).*/\1/p" "$T/run.err" | head -1)
  [ -n "$HP" ] && break
  sleep 0.1
done
[ -n "$HP" ] || { fail "no 'http: serving' line: $(tail -3 "$T/run.err")"; exit 1; }
U=http://127.0.0.1:$HP
code() { curl -s -o "$T/body" -w '%{http_code}' "$U$1"; }

[ "$(code /healthz)" = 200 ] && grep -qx ok "$T/body" || fail "/healthz: $(cat "$T/body")"
for _ in $(seq 100); do # assigned, but nothing published: not ready for that reason
  [ "$(code /readyz)" = 503 ] && grep -q "no publish cycle succeeded yet" "$T/body" && break
  sleep 0.1
done
grep -q "not ready: no publish cycle succeeded yet" "$T/body" || fail "/readyz before Redis: $(cat "$T/body")"
curl -s "$U/metrics" >"$T/m0" || fail "/metrics before Redis"
python3 "$ROOT/tests/prom_check.py" "$T/m0" >"$T/m0.json" || fail "/metrics before Redis: format"
python3 - "$T/m0.json" <<'PY' || fail "/metrics before Redis: values"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["ccpulse_publish_failures_total"] > 0, m
assert m["ccpulse_publish_cycles_total"] == 0, m
assert m["ccpulse_assigned_partitions"] == 2, m
PY

redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >"$T/redis.log" 2>&1 &
RPID=$!
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 30 ]; do [ "$(code /readyz)" = 200 ] && break; sleep 0.1; done
[ "$(cat "$T/body")" = ready ] || fail "/readyz did not flip to 200: $(cat "$T/body")"
echo "ok: /readyz 503 then 200 $((SECONDS - t0)) s after Redis started"
# the outage in the log: one line when it began, one when it ended
[ "$(grep -c "redis: publishing to '127.0.0.1:$RPORT' stopped" "$T/run.err")" = 1 ] &&
  grep -q "redis: publishing to '127.0.0.1:$RPORT' again after [0-9.]* s" "$T/run.err" ||
  fail "redis loss and recovery lines: $(grep redis: "$T/run.err" | head -5)"

# every event consumed, a commit made and the statistics refreshed
for i in 1 2; do
  for _ in $(seq 100); do
    curl -s "$U/metrics" >"$T/m$i"
    python3 "$ROOT/tests/prom_check.py" "$T/m$i" >"$T/m$i.json" || { fail "/metrics format"; cat "$T/m$i" >&2; break; }
    python3 -c 'import json,sys;m=json.load(open(sys.argv[1]));sys.exit(not(m["ccpulse_events_total"]=='"$N"' and any(k.startswith("ccpulse_consumer_lag{") for k in m)))' "$T/m$i.json" && break
    sleep 0.2
  done
  sleep 0.5
done
python3 - "$T/m0.json" "$T/m1.json" "$T/m2.json" "$N" <<'PY' || fail "/metrics values"
import json, sys
m0, m1, m2 = (json.load(open(f)) for f in sys.argv[1:4])
n = int(sys.argv[4])
assert m0["ccpulse_events_total"] <= n and m2["ccpulse_events_total"] == n, (m0["ccpulse_events_total"], n)
assert m2["ccpulse_publish_cycles_total"] > m1["ccpulse_publish_cycles_total"] > 0, "cycles do not grow"
assert m2["ccpulse_publish_duration_seconds_count"] >= m2["ccpulse_publish_cycles_total"]
assert m2["ccpulse_commits_total"] > 0
for r in ("late", "duplicate", "invalid"):
    assert 'ccpulse_events_dropped_total{reason="%s"}' % r in m2, r
assert m2['ccpulse_events_dropped_total{reason="late"}'] > 0, "the generator's late events"
assert m2['ccpulse_events_dropped_total{reason="duplicate"}'] > 0, "the generator's duplicates"
lags = {k: v for k, v in m2.items() if k.startswith("ccpulse_consumer_lag{")}
assert set(lags) <= {'ccpulse_consumer_lag{topic="tickets",partition="%d"}' % p for p in (0, 1)}, lags
assert all(v >= 0 for v in lags.values()), lags
assert any(k.startswith("ccpulse_kafka_broker_up{") and v == 1 for k, v in m2.items()), "broker state"
assert m2["ccpulse_kafka_up"] == 1
assert m2["ccpulse_open_tickets"] > 0 and m2["ccpulse_memory_bytes"] > 0
assert any(k.startswith('ccpulse_build_info{version="') and v == 1 for k, v in m2.items())
PY
grep -q '^# TYPE ccpulse_publish_duration_seconds histogram$' "$T/m2" || fail "histogram TYPE"
! grep -qi "redis://\|password" "$T/m2" || fail "/metrics shows a configuration value"
[ "$(code /nowhere)" = 404 ] || fail "/nowhere: not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/metrics")" = 405 ] || fail "POST /metrics: not 405"
echo "ok: /metrics parses and moves ($(grep -c '^ccpulse_' "$T/m2") samples)"

# 2. the port in use, a bad value, an empty one
"$BIN" run --mock --redis "redis://127.0.0.1:$RPORT" --set "http.listen=127.0.0.1:$HP" \
  >"$T/dup.out" 2>"$T/dup.err"
rc=$?
[ $rc -eq 2 ] && grep -q "config key 'http.listen': cannot listen on '127.0.0.1:$HP': Address already in use" "$T/dup.err" ||
  fail "port in use: exit $rc, $(tail -2 "$T/dup.err")"
"$BIN" run --mock --redis "redis://127.0.0.1:$RPORT" --set "http.listen=localhost" >/dev/null 2>"$T/bad.err"
rc=$?
[ $rc -eq 2 ] && grep -q "config key 'http.listen': invalid listen address 'localhost'" "$T/bad.err" ||
  fail "bad http.listen: exit $rc, $(tail -2 "$T/bad.err")"
"$BIN" run --mock --redis "redis://127.0.0.1:$RPORT" --set "http.listen=" --set redis.prefix=e: \
  "$T/ev.jsonl" >/dev/null 2>"$T/empty.err" &
EPID=$!
for _ in $(seq 100); do grep -q "consumer: started" "$T/empty.err" && break; sleep 0.1; done
kill -TERM $EPID
wait $EPID
rc=$?
[ $rc -eq 0 ] && grep -q "consumer: started" "$T/empty.err" && ! grep -q "http:" "$T/empty.err" ||
  fail "empty http.listen: exit $rc, $(grep http: "$T/empty.err")"
echo "ok: port in use, bad and empty http.listen"

# 3. SIGTERM: exit 0 and the port closed
kill -TERM $RUNPID
wait $RUNPID
rc=$?
RUNPID=
[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM: $(tail -3 "$T/run.err")"
curl -s -o /dev/null "$U/healthz" && fail "/healthz still answers after exit"

[ $fails -eq 0 ] && echo "t_http_mock: ok" || echo "t_http_mock: $fails failure(s)"
[ $fails -eq 0 ]
