#!/usr/bin/env bash
# labels: integration redis
#
# Several instances in one consumer group (docs/live.md, "Several
# instances") against a real Kafka broker and a real redis-server, on
# 4-partition topics, one broker start for both cases.
#
# Case 1, the writer killed: two `ccpulse run` publish ONE view.
#   1. both hold 2 partitions; half of a generated stream is produced: the
#      snapshot in Redis equals `ccpulse replay --partitions 4` of that half
#      byte for byte;
#   2. a third of the rest is produced and, while it is read, the instance
#      that writes the view (the owner of partition 0) is killed with
#      SIGKILL; then the rest is produced: the survivor takes its
#      partitions over from their checkpoints, and the snapshot equals
#      replay of the whole stream; after SIGTERM (exit 0) still.
#
# Case 2, instances added and one leaving under load: a stream is produced
# in 16 chunks, a fraction of a second apart, for the whole case:
#   1. one `ccpulse run` (a) holds the 4 partitions; once every partition
#      has a checkpoint, a second instance (b) joins mid-stream: the
#      cooperative rebalance moves 2 partitions to b, which restores their
#      checkpoints (every partition b takes is `restored`, none starts
#      empty);
#   2. a third (c) joins: 3 members, every partition held once, c restores
#      what it takes;
#   3. the instance that writes the view leaves with SIGTERM (exit 0):
#      the others restore its partitions from the checkpoints of its final
#      cycle;
#   4. when the last chunk is read, the snapshot equals replay of the whole
#      stream, and after SIGTERM of both (exit 0) still.
#
# The generated streams hold invalid events (kpis.md §7: the generator's
# --invalid-frac), which go to the dead-letter topic <topic>.dlq; the broker
# creates no topic by itself, so topic() (tests/live_kafka_lib.sh) creates it
# with every topic: without it every cycle
# after a dead letter waits 10 s for a delivery that cannot happen, commits
# nothing, and a SIGTERM can take longer than the 30 s allowed.
#
# In case 2 the alerts stream holds every alert of `ccpulse replay
# --alerts` exactly once (tests/live_alerts.py: 0 lost, 0 repeated, 0
# extra). In both, a reader polling `v1:meta` every 50 ms checks what the docs
# promise about `meta.events` (docs/live.md, "Several instances"): it never
# decreases while the writer stays; where the writer changes (a "writes the
# view" log line between the two writes, by their published_ms) it may step
# back only in the case the docs leave uncovered -- partition 0 moves away
# from an instance that owned every partition, whose partials were in its
# memory only -- and then by at most what the view gained in the last
# checkpoint.interval (plus a cycle and 1 s) before the old writer's last
# write. Each writer change and any step back is printed.
#
#   bash tests/t_scale_kafka.sh <ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
live_setup t_scale_kafka "${1:?usage: t_scale_kafka.sh <ccpulse-binary> <build-dir>}" \
  "${2:?usage: t_scale_kafka.sh <ccpulse-binary> <build-dir>}"

PIDS=()   # every instance started, for the EXIT trap
POLL=     # the meta reader
PROD=     # case 2's producer
stop_all() {
  for p in "${PIDS[@]}" $POLL $PROD; do kill -KILL "$p" 2>/dev/null; done
  cleanup
}
trap stop_all EXIT

declare -A PID # instance name -> pid
# start NAME: one instance of the current case (T, P, args) in the background
start() {
  "$BIN" run --brokers "$B" --redis "$URL" --set publish.interval=100ms \
    --set kafka.log_level=3 "${args[@]}" >"$work/$1.out" 2>"$work/$1.err" &
  PID[$1]=$!
  PIDS+=($!)
}
# held NAME: partitions the instance holds by its last assignment line
held() {
  local h
  h=$(grep -E "(assigned|revoked) .* held" "$work/$1.err" 2>/dev/null | tail -1 |
    sed -E 's/.*; ([0-9]+) held.*/\1/')
  echo "${h:-0}"
}
# restored NAME: its "restored" checkpoint lines
restored() { grep -c "restored .* bytes at offset" "$work/$1.err"; }
# wait_until SECONDS CMD...: until CMD succeeds (0) or the time is up (1)
wait_until() {
  local start=$SECONDS limit=$1
  shift
  while [ $((SECONDS - start)) -lt "$limit" ]; do
    "$@" && return 0
    sleep 0.2
  done
  "$@"
}
# wait_equal REPLAY SECONDS: until the last snapshot equals `replay --partitions 4` byte for byte
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
# writer NAME...: the instance whose last word on it is that it writes the view
writer() {
  local i
  for i in "$@"; do
    if grep -E "writes the view|no longer writes the view" "$work/$i.err" | tail -1 |
      grep -q "this instance writes"; then
      echo "$i"
      return
    fi
  done
}
# stop NAME: SIGTERM, exit 0 within 30 s
stop() {
  local pid=${PID[$1]} rc=0
  kill -TERM "$pid"
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { fail "$1: still running 30 s after SIGTERM"; kill -KILL "$pid"; }
  wait "$pid" || rc=$?
  [ $rc -eq 0 ] || fail "$1 exited $rc after SIGTERM (stderr: $(tail -3 "$work/$1.err"))"
}
# poll FILE: the reader, every 50 ms one line "events published_ms" of meta
poll() {
  (while :; do
    echo $(timeout 2 $R --raw HMGET "${P}v1:meta" events published_ms 2>/dev/null)
    sleep 0.05
  done) >"$1" &
  POLL=$!
}
# check_meta FILE NAME...: what the docs promise about meta.events (header);
# counted in $fails
check_meta() {
  kill -KILL $POLL 2>/dev/null
  wait $POLL 2>/dev/null
  POLL=
  local file=$1 out
  shift
  out=$(python3 - "$file" 4 500 100 "$work" "$@" 2>&1 <<'PY'
import datetime, re, sys
path, nparts, ckpt_ms, cycle_ms, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
names = sys.argv[6:]
def ms(stamp):
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
# per instance: when it starts writing the view, and its holdings over time
starts, holds, stops = [], {}, {}
for n in names:
    holds[n], stops[n] = [], []
    for line in open("%s/%s.err" % (work, n)):
        m = re.match(r"(\S+Z) ", line)
        if not m:
            continue
        if "this instance writes the view" in line:
            starts.append((ms(m.group(1)), n))
        if "this instance no longer writes the view" in line:
            stops[n].append(ms(m.group(1)))
        h = re.search(r"consumer: (assigned|revoked) .*; ([0-9]+) held", line)
        if h:
            holds[n].append((ms(m.group(1)), h.group(1), int(h.group(2))))
starts.sort()
def owned_all_before_revoke(n, t):
    """Whether n held every partition until the revoke that took partition 0
    from it: the last revoke before n stopped writing the view (a rebalance
    may revoke in two steps, partition 0 in the first), or, when n was killed
    and never said so, the last revoke before t."""
    t = max([s for s in stops[n] if s <= t] or [t])
    prev, before = 0, None
    for when, kind, count in holds[n]:
        if when > t:
            break
        if kind == "revoked":
            before = prev
        prev = count
    return before == nparts
writes = []  # (events, published_ms), one per write seen
for line in open(path):
    f = line.split()
    if len(f) == 2 and f[0].isdigit() and f[1].isdigit():
        w = (int(f[0]), int(f[1]))
        if not writes or writes[-1] != w:
            writes.append(w)
bad, notes, told = [], [], set()
for (e0, w0), (e1, w1) in zip(writes, writes[1:]):
    moves = [(t, n) for t, n in starts if w0 <= t <= w1]
    for t, n in moves:
        old = [m for tt, m in starts if tt < t]
        if (t, n) not in told:
            told.add((t, n))
            notes.append("writer %s -> %s at %d: events %d -> %d" % (old[-1] if old else "-", n, t, e0, e1))
    if e1 >= e0:
        continue
    if not moves:
        bad.append("went back from %d to %d while the writer stayed (writes at %d, %d)" % (e0, e1, w0, w1))
        continue
    # the one case the docs leave uncovered: partition 0 moved away from an
    # instance that owned every partition (its partials in memory only)
    t, n = moves[-1]
    old = [m for tt, m in starts if tt < t]
    if not old or not owned_all_before_revoke(old[-1], t):
        bad.append("went back from %d to %d when the writer moved from %s (not the owner of every "
                   "partition) to %s" % (e0, e1, old[-1] if old else "-", n))
        continue
    floor = max([e for e, w in writes if w <= w0 - ckpt_ms - cycle_ms - 1000] or [0])
    notes.append("  stepped back by %d (at most to %d allowed)" % (e0 - e1, floor))
    if e1 < floor:
        bad.append("stepped back from %d to %d at the writer move to %s: more than a checkpoint "
                   "interval of records (the view had %d then)" % (e0, e1, n, floor))
print("%d writes of meta seen, %d writer move(s), %d step(s) back not allowed" % (
    len(writes), sum(1 for x in notes if x.startswith("writer")), len(bad)))
for x in notes + bad:
    print("  " + x)
sys.exit(1 if bad or len(writes) < 10 else 0)
PY
  ) || fail "meta.events: $(tail -n +2 <<<"$out" | grep -v '^  writer' | head -5)"
  echo "  meta: $out"
}

# ---- case 1: two instances, the writer killed ---------------------------
T=sc
P="sc:"
args=(--topic "$T" --group "g-$T" --set "redis.prefix=$P" --workers 1
  --set checkpoint.interval=500ms --set kafka.session.timeout.ms=6000)

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

poll "$work/meta_events.txt"
start a
sleep 2
start b
two_each() { [ "$(held a)" = 2 ] && [ "$(held b)" = 2 ]; }
wait_until 60 two_each ||
  die "the two instances do not hold 2 partitions each (a: $(held a), b: $(held b))"
echo "ok: two instances, 2 partitions each ($((SECONDS - t_all))s)"

"$BIN" produce --brokers "$B" --topic "$T" "$work/half1.jsonl" >/dev/null || fail "produce half 1"
wait_equal "$work/replay1.json" 60 || fail "two instances: snapshot differs from replay of half 1"
echo "ok: two instances publish one view equal to replay ($((SECONDS - t_all))s)"

wname=$(writer a b)
[ -n "$wname" ] || die "no instance says it writes the view"
if [ "$wname" = a ]; then survivor=b; else survivor=a; fi
# mid-stream: a third of the second half, read by both for a moment, then the kill
"$BIN" produce --brokers "$B" --topic "$T" "$work/half2a.jsonl" >/dev/null || fail "produce half 2a"
sleep 0.4
kill -KILL "${PID[$wname]}"
wait "${PID[$wname]}" 2>/dev/null
"$BIN" produce --brokers "$B" --topic "$T" "$work/half2b.jsonl" >/dev/null || fail "produce half 2b"
wait_equal "$work/replay.json" 90 ||
  fail "after SIGKILL of the writer ($wname): snapshot differs from replay of the whole stream"
[ "$(held $survivor)" = 4 ] || fail "the survivor holds $(held $survivor) partition(s), want 4"
[ "$(restored $survivor)" -ge 2 ] ||
  fail "the survivor restored $(restored $survivor) checkpoint(s), want 2 or more"
echo "ok: writer $wname killed, survivor $survivor took over: equal to replay ($((SECONDS - t_all))s)"

stop $survivor
last_snapshot "$P" >"$work/final.json"
cmp -s "$work/final.json" "$work/replay.json" ||
  fail "final snapshot differs from replay"
check_meta "$work/meta_events.txt" a b
echo "ok: case 1 ($((SECONDS - t_all))s)"

# ---- case 2: instances join and one leaves under load -------------------
T=jn
P="jn:"
args=(--topic "$T" --group "g-$T" --set "redis.prefix=$P" --workers 1
  --set checkpoint.interval=500ms --set kafka.session.timeout.ms=6000
  --set kafka.heartbeat.interval.ms=500)
# one day of stream time: what a new owner reads again after a checkpoint
# lies within alerts.dedup_window (docs/checkpoints.md, Failure cases)
python3 "$GEN" --events 4000 --seed 44 --days 1 --late-frac 0 --shuffle-frac 0 --skew-frac 0 \
  --dup-frac 0 --edge-frac 0 --gaps 0 --out "$work/jn.jsonl" >/dev/null
split -n l/16 -d -a 2 "$work/jn.jsonl" "$work/jn.chunk."
"$BIN" replay --partitions 4 --alerts "$work/jn.replay.alerts" "$work/jn.jsonl" >"$work/jn.replay.json"
topic "$T" 4

# the producer: chunk after chunk; before chunks 5, 10 and 13 it waits
# (90 s at most) for the gate of the step before, so every step happens
# while records arrive and records arrive after every step
producer() {
  local k gate
  for k in $(seq 0 15); do
    case $k in 5) gate=joined_b ;; 10) gate=joined_c ;; 13) gate=left ;; *) gate= ;; esac
    if [ -n "$gate" ]; then
      for _ in $(seq 900); do [ -e "$work/jn.$gate" ] && break; sleep 0.1; done
    fi
    "$BIN" produce --brokers "$B" --topic "$T" "$work/jn.chunk.$(printf %02d "$k")" >/dev/null ||
      echo "chunk $k" >>"$work/jn.produce_failed"
    echo $((k + 1)) >"$work/jn.produced"
    echo "chunk $k produced at $(date +%s%3N)" >>"$work/jn.produced.log"
    sleep 0.3
  done
}
produced() { cat "$work/jn.produced" 2>/dev/null || echo 0; }
at_least() { [ "$(produced)" -ge "$1" ]; }

t=$SECONDS
poll "$work/jn.meta_events.txt"
start ja
holds() { [ "$(held "$1")" = "$2" ]; }
wait_until 30 holds ja 4 || die "ja does not hold the 4 partitions ($(held ja))"
producer &
PROD=$!
# 1. jb joins once 3 chunks are out and every partition has a checkpoint
all_ckpt() { [ "$(ckpt_offsets "$P" "$T" 4)" -ge 0 ]; }
wait_until 30 at_least 3 || die "the producer is stuck at chunk $(produced)"
wait_until 30 all_ckpt || die "ja did not checkpoint the 4 partitions"
start jb
b_joined() { [ "$(held ja)" = 2 ] && [ "$(held jb)" = 2 ]; }
wait_until 60 b_joined || die "after jb joined: ja holds $(held ja), jb $(held jb), want 2 each"
touch "$work/jn.joined_b"
echo "ok: jb joined at chunk $(produced): ja 2, jb 2, writer $(writer ja jb) ($((SECONDS - t))s)"
# 2. jc joins
wait_until 30 at_least 8 || die "the producer is stuck at chunk $(produced)"
start jc
c_joined() {
  local x y z
  x=$(held ja) y=$(held jb) z=$(held jc)
  [ "${z:-0}" -ge 1 ] && [ "${x:-0}" -ge 1 ] && [ "${y:-0}" -ge 1 ] &&
    [ $((x + y + z)) = 4 ]
}
wait_until 60 c_joined || die "after jc joined: ja $(held ja), jb $(held jb), jc $(held jc)"
touch "$work/jn.joined_c"
echo "ok: jc joined at chunk $(produced): ja $(held ja), jb $(held jb), jc $(held jc), writer $(writer ja jb jc) ($((SECONDS - t))s)"
# 3. the writer leaves with SIGTERM
wait_until 30 at_least 11 || die "the producer is stuck at chunk $(produced)"
leaver=$(writer ja jb jc)
[ -n "$leaver" ] || die "no instance says it writes the view"
left_held=$(held "$leaver")
rest=()
for i in ja jb jc; do [ "$i" = "$leaver" ] || rest+=("$i"); done
r0=$(($(restored "${rest[0]}") + $(restored "${rest[1]}")))
stop "$leaver"
two_left() { [ $(($(held "${rest[0]}") + $(held "${rest[1]}"))) = 4 ]; }
wait_until 60 two_left ||
  fail "after $leaver left: ${rest[0]} holds $(held "${rest[0]}"), ${rest[1]} $(held "${rest[1]}")"
touch "$work/jn.left"
r1=$(($(restored "${rest[0]}") + $(restored "${rest[1]}")))
[ $((r1 - r0)) -ge "$left_held" ] || # a partition can move twice in the rebalances
  fail "the $left_held partition(s) of $leaver: $((r1 - r0)) restored by the others"
echo "ok: $leaver (the writer, $left_held partition(s)) left at chunk $(produced): ${rest[0]} $(held "${rest[0]}"), ${rest[1]} $(held "${rest[1]}"), writer $(writer "${rest[@]}") ($((SECONDS - t))s)"
# 4. the rest of the stream
wait $PROD
PROD=
[ -e "$work/jn.produce_failed" ] && fail "produce: $(cat "$work/jn.produce_failed")"
wait_equal "$work/jn.replay.json" 60 ||
  fail "join and leave: snapshot differs from replay of the whole stream"
# every partition a new member took came with its state
for i in jb jc; do
  bad=$(grep "checkpoint: partition" "$work/$i.err" | grep -cv "restored .* bytes at offset")
  [ "$bad" = 0 ] || fail "$i took $bad partition(s) without restoring a checkpoint"
done
[ "$(restored jb)" -ge 2 ] || fail "jb restored $(restored jb) checkpoint(s), want 2 or more"
[ "$(restored jc)" -ge 1 ] || fail "jc restored $(restored jc) checkpoint(s), want 1 or more"
for i in "${rest[@]}"; do stop "$i"; done
last_snapshot "$P" >"$work/jn.final.json"
cmp -s "$work/jn.final.json" "$work/jn.replay.json" ||
  fail "join and leave: final snapshot differs from replay"
alerts_dump "$P" "$work/jn.alerts.txt"
check_alerts "join and leave" "$work/jn.replay.alerts" "$work/jn.alerts.txt"
check_meta "$work/jn.meta_events.txt" ja jb jc
echo "ok: case 2, joins and a leave under load: equal to replay ($((SECONDS - t))s)"
live_done t_scale_kafka
