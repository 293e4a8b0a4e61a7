# Shared by the tests of `ccpulse run` against a real Kafka broker and a real
# redis-server (t_live_kafka.sh, t_checkpoint_kafka.sh, t_fault_kafka.sh);
# sourced, not run.
#
#   live_setup NAME BIN BUILD   work dir <BUILD>/NAME (emptied), broker and
#                               Redis started (stopped on exit: trap), sets
#                               root work kdir rdir B URL RPORT R GEN; exits
#                               77 (skipped) when java, redis-server or the
#                               broker's jars (cached, or fetched with mvn)
#                               are not to be had; calls live_before_kafka
#                               first when the test defines it (it may set
#                               LIVE_KAFKA_OPTS, more kafka.sh start
#                               arguments); KAFKA_START_OUT holds what
#                               kafka.sh start printed
# then: topic NAME PARTITIONS; start_run NAME ARGS... (RUNPID); wait_events
# PREFIX N SECONDS; wait_cycles PREFIX N; kill_run (SIGKILL); stop_run NAME
# (SIGTERM, exit 0 within 30 s); last_snapshot PREFIX; snap_events PREFIX;
# ckpt_offsets PREFIX TOPIC PARTITIONS; wait_ckpt PREFIX TOPIC PARTITIONS N
# SECONDS; split_halves NAME (sets N, H); alerts_dump PREFIX FILE;
# check_alerts WHAT ARGS... (tests/live_alerts.py); check_tiles WHAT PREFIX
# REPLAY.json; fail MSG (counted in $fails); die MSG; live_done NAME (exit
# status).
RUNPID=
fails=0
t_all=$SECONDS
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GEN=$root/tests/reference/gen_events.py

cleanup() {
  [ -n "$RUNPID" ] && kill -KILL "$RUNPID" 2>/dev/null
  bash "$root/scripts/kafka.sh" stop --dir "$kdir" >/dev/null 2>&1 || true
  bash "$root/scripts/redis.sh" stop --dir "$rdir" >/dev/null 2>&1 || true
}
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }
kafka() { bash "$root/scripts/kafka.sh" "$@"; }

# skip MSG: this machine cannot run the broker or Redis: exit 77 (ctest: skipped)
skip() {
  echo "SKIP: $*" >&2
  exit 77
}

live_setup() {
  BIN=$2
  command -v redis-server >/dev/null 2>&1 || skip "redis-server missing (bash scripts/setup-deps.sh)"
  if [ -z "${JAVA:-}" ] && [ -z "${JAVA_HOME:-}" ] && ! command -v java >/dev/null 2>&1; then
    skip "java missing (bash scripts/setup-deps.sh)"
  fi
  # the broker's jars: cached, or fetched now; no Maven or no network is a skip
  local fetched
  fetched=$(timeout 900 bash "$root/scripts/kafka.sh" fetch 2>&1) ||
    skip "the Kafka broker's jars cannot be fetched: $(tail -2 <<<"$fetched")"
  mkdir -p "$3"
  work=$(cd "$3" && pwd)/$1
  kdir=$work/kafka
  rdir=$work/redis
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  cleanup
  rm -rf "$work"
  mkdir -p "$work"
  local out
  # a test may define live_before_kafka: run here (after $work exists), it
  # may fill LIVE_KAFKA_OPTS with more arguments of kafka.sh start
  LIVE_KAFKA_OPTS=()
  if declare -F live_before_kafka >/dev/null; then live_before_kafka || die "live_before_kafka failed"; fi
  out=$(kafka start --dir "$kdir" "${LIVE_KAFKA_OPTS[@]}") || die "kafka.sh start failed: $out"
  KAFKA_START_OUT=$out
  B=$(sed -n 's/^BOOTSTRAP=//p' <<<"$out")
  [ -n "$B" ] || die "no BOOTSTRAP from kafka.sh: $out"
  out=$(bash "$root/scripts/redis.sh" start --dir "$rdir") || die "redis.sh start failed: $out"
  URL=$(sed -n 's/^REDIS=//p' <<<"$out")
  RPORT=${URL##*:}
  R="redis-cli -h 127.0.0.1 -p $RPORT"
  echo "broker $B, redis $URL ($((SECONDS - t_all))s)"
}

# topic NAME N: NAME with N partitions, and its dead-letter topic NAME.dlq
# (1 partition: the test broker does not create topics by itself, and a run
# whose stream holds invalid events waits on dead letters it cannot deliver)
topic() {
  kafka topic create "$1" --partitions "$2" --bootstrap "$B" --dir "$kdir" >/dev/null || return 1
  case $1 in
  *.dlq) ;;
  *) kafka topic create "$1.dlq" --partitions 1 --bootstrap "$B" --dir "$kdir" >/dev/null ;;
  esac
}
last_snapshot() { timeout 5 $R --raw XREVRANGE "$1snapshots" + - COUNT 1 2>/dev/null | sed -n 3p; }
snap_events() {
  last_snapshot "$1" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["diagnostics"]["events"])
except Exception: print(0)'
}
# start_run NAME ARGS...: ccpulse run in the background
start_run() {
  local name=$1
  shift
  "$BIN" run --brokers "$B" --redis "$URL" --set publish.interval=100ms \
    --set kafka.log_level=3 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  RUNPID=$!
}
# wait_events PREFIX N SECONDS
wait_events() {
  local got=0 start=$SECONDS
  while [ $((SECONDS - start)) -lt "$3" ]; do
    got=$(snap_events "$1")
    [ "$got" = "$2" ] && return 0
    sleep 0.2
  done
  echo "  snapshot of '$1' counts $got events, want $2" >&2
  return 1
}
# stop_run NAME: SIGTERM, exit status must be 0 within 30 s
stop_run() {
  kill -TERM "$RUNPID"
  for _ in $(seq 300); do kill -0 "$RUNPID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$RUNPID" 2>/dev/null; then
    fail "$1: still running 30 s after SIGTERM"
    kill -KILL "$RUNPID"
  fi
  wait "$RUNPID"
  local rc=$?
  RUNPID=
  [ $rc -eq 0 ] || fail "$1: exit status $rc after SIGTERM (stderr: $(tail -3 "$work/$1.err"))"
}
# kill_run: SIGKILL, no final cycle
kill_run() {
  kill -KILL "$RUNPID"
  wait "$RUNPID" 2>/dev/null
  RUNPID=
}
# wait_cycles PREFIX N: until meta's cycle counter moved N further (30 s at most)
wait_cycles() {
  local c0 c start=$SECONDS
  c0=$(timeout 5 $R --raw HGET "$1v1:meta" cycle 2>/dev/null)
  while [ $((SECONDS - start)) -lt 30 ]; do
    c=$(timeout 5 $R --raw HGET "$1v1:meta" cycle 2>/dev/null)
    [ -z "$c0" ] && c0=$c
    [ -n "$c" ] && [ "$c" -ge $((c0 + $2)) ] && return 0
    sleep 0.1
  done
  echo "  meta of '$1' did not move $2 cycle(s) in 30 s" >&2
  return 1
}
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
# committed GROUP TOPIC: the committed offsets summed (kafka-consumer-groups; 0: none)
committed() {
  kafka tool consumer-groups --bootstrap-server "$B" --describe --group "$1" 2>/dev/null |
    awk -v t="$2" '$2 == t && $4 ~ /^[0-9]+$/ { s += $4 } END { print s + 0 }'
}
# split_halves NAME: $work/NAME.jsonl into NAME.1.jsonl and NAME.2.jsonl; sets N and H
split_halves() {
  N=$(grep -c . "$work/$1.jsonl")
  H=$((N / 2))
  head -n "$H" "$work/$1.jsonl" >"$work/$1.1.jsonl"
  tail -n +"$((H + 1))" "$work/$1.jsonl" >"$work/$1.2.jsonl"
}
# alerts_dump PREFIX FILE: the alerts stream as it is now (XRANGE --raw)
alerts_dump() { timeout 10 $R --raw XRANGE "$1alerts" - + >"$2" 2>/dev/null; }
# check_alerts WHAT REPLAY-ALERTS DUMP...: every alert of replay (of as many
# partitions as the topic has: `ccpulse replay --partitions N`) on the
# stream exactly once, and no other (tests/live_alerts.py); counted in $fails
check_alerts() {
  local what=$1 out rc
  shift
  out=$(python3 "$root/tests/live_alerts.py" "$@" 2>&1)
  rc=$?
  echo "  $what: $(head -1 <<<"$out")"
  [ $rc -eq 0 ] || fail "$what: the alerts stream differs from replay's alerts: $(tail -n +2 <<<"$out" | head -8)"
}
# check_tiles WHAT PREFIX REPLAY.json: the scope list and every KPI tile in
# Redis equal the replay document (docs/redis.md: a tile is exactly the
# snapshot's window object); counted in $fails
check_tiles() {
  local out
  out=$(python3 - "$2" "$3" "$RPORT" 2>&1 <<'PY'
import json, subprocess, sys
prefix, doc, port = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
def cli(*args):
    r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", port, "--raw", *args],
                       capture_output=True, text=True, timeout=10)
    return r.stdout.split("\n")
scopes = list(doc["scopes"])
bad = []
got = [s for s in cli("ZRANGE", prefix + "v1:scope_set", "0", "-1") if s]
if sorted(got) != sorted(scopes):
    bad.append("scope set %s" % " ".join(got)[:200])
keys = [(s, w) for s in scopes for w in doc["scopes"][s]["windows"]]
vals = cli("MGET", *[prefix + "v1:kpi:%s:%s" % k for k in keys])
for (s, w), v in zip(keys, vals):
    if not v or json.loads(v) != doc["scopes"][s]["windows"][w]:
        bad.append("tile %s:%s = %s" % (s, w, (v or "(missing)")[:120]))
print("%d tile(s) and the scope set compared, %d differ" % (len(keys), len(bad)))
for b in bad[:8]:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
  ) || fail "$1: tiles in Redis differ from replay: $out"
  echo "  $1: $(head -1 <<<"$out")"
}
# live_done NAME: the test's verdict and exit status
live_done() {
  if [ $fails -ne 0 ]; then
    echo "$1: $fails failure(s); work files: $work" >&2
    exit 1
  fi
  echo "$1: passed in $((SECONDS - t_all))s"
}
