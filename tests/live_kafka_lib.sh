# Shared by the tests of `ccpulse run` against a real Kafka broker and a real
# redis-server (t_live_kafka.sh, t_checkpoint_kafka.sh); sourced, not run.
#
#   live_setup NAME BIN BUILD   work dir <BUILD>/NAME (emptied), broker and
#                               Redis started (stopped on exit: trap), sets
#                               root work kdir rdir B URL RPORT R GEN
# then: topic NAME PARTITIONS; start_run NAME ARGS... (RUNPID); wait_events
# PREFIX N SECONDS; stop_run NAME (SIGTERM, exit 0 within 30 s); last_snapshot
# PREFIX; snap_events PREFIX; fail MSG (counted in $fails); die MSG;
# live_done NAME (exit status).
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

live_setup() {
  BIN=$2
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
  out=$(kafka start --dir "$kdir") || die "kafka.sh start failed: $out"
  B=$(sed -n 's/^BOOTSTRAP=//p' <<<"$out")
  [ -n "$B" ] || die "no BOOTSTRAP from kafka.sh: $out"
  out=$(bash "$root/scripts/redis.sh" start --dir "$rdir") || die "redis.sh start failed: $out"
  URL=$(sed -n 's/^REDIS=//p' <<<"$out")
  RPORT=${URL##*:}
  R="redis-cli -h 127.0.0.1 -p $RPORT"
  echo "broker $B, redis $URL ($((SECONDS - t_all))s)"
}

topic() { kafka topic create "$1" --partitions "$2" --bootstrap "$B" --dir "$kdir" >/dev/null; }
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
# live_done NAME: the test's verdict and exit status
live_done() {
  if [ $fails -ne 0 ]; then
    echo "$1: $fails failure(s); work files: $work" >&2
    exit 1
  fi
  echo "$1: passed in $((SECONDS - t_all))s"
}
