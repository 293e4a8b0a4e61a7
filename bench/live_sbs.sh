#!/usr/bin/env bash
# Side-by-side live case: the CPU `ccpulse run` uses at a fixed event rate,
# or (--latency) its event->Redis latency, for several binaries (and
# settings), alternating, so a change's cost is a ratio measured in one run
# on a noisy machine. Starts a broker (scripts/kafka.sh) and Redis
# (scripts/redis.sh) on loopback; for each round and each variant a fresh
# 8-partition topic, an empty Redis and `ccpulse run` (default settings plus
# the variant's).
#
# CPU (the default; bench/run's live step): PRE events of the shape
# pre-loaded as fast as possible (`gen --now`) until Redis counts them all,
# 2 s, then RATE events/s for SECS s (`gen --seed 2 --rate RATE --now`);
# CPU of run (user + system, /proc/PID/stat), its minor page faults per
# second (the same file) and Redis input bytes over the steady window (2 s
# after the producer started to 0.5 s before it finished), as
# bench/report.py computes them.
#
# Latency (--latency; bench/run's latency step): no pre-load; run publishes
# once, 3 s to join, then RATE events/s for SECS s (`gen --seed 2 --rate
# RATE --now`) while bench/redis_watch.py polls the meta hash; per publish
# cycle seen, event->Redis (wall clock seen - when the newest event it
# counts was handed to the producer; the first second left out) and the
# producer's own lag, p50/p99/max as bench/report.py computes them, and the
# CPU of run over the steady window. Defaults then --rate 100000 --secs 20.
#
#   bench/live_sbs.sh [--latency] [--rate R] [--secs S] [--pre P] [--wide] [--rounds N]
#                     [--keep DIR] VARIANT...
#
# Defaults: --rate 10000 --secs 30 --pre 300000, 400 agents x 8 queues
# (--wide: 20,000 x 500), 3 rounds. --keep DIR keeps each run's files (run
# log, gen's and the watcher's JSON, the CPU samples) in DIR/ROUND-K/ (K:
# the variant's place). A VARIANT is `BIN` or `BIN:key=value[,key=value...]`
# (extra --set flags), e.g.
#
#   bench/live_sbs.sh /tmp/old/ccpulse build-rel/ccpulse \
#                     build-rel/ccpulse:checkpoint.interval=off
#   bench/live_sbs.sh --latency --rounds 4 /tmp/old/ccpulse build-rel/ccpulse
#
# Prints one line per run and, per variant, the medians (CPU in cores; with
# --latency event->Redis p50/p99/max, producer lag p99 and CPU), and with
# several variants the median over rounds of each one's ratio to the first
# variant of the same round (CPU; with --latency p99 event->Redis).
set -euo pipefail
R= S= P=300000 ROUNDS=3 shape="--agents 400 --queues 8" lat=0 keep=
while [ $# -gt 0 ]; do
  case $1 in
  --latency) lat=1 ;;
  --rate) R=$2; shift ;;
  --secs) S=$2; shift ;;
  --pre) P=$2; shift ;;
  --wide) shape="--agents 20000 --queues 500" ;;
  --rounds) ROUNDS=$2; shift ;;
  --keep) keep=$2; shift ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  -*) echo "live_sbs: unknown option '$1' (--help)" >&2; exit 2 ;;
  *) break ;;
  esac
  shift
done
[ $# -ge 1 ] || { echo "live_sbs: give at least one VARIANT (--help)" >&2; exit 2; }
if [ $lat = 1 ]; then R=${R:-100000} S=${S:-20}; else R=${R:-10000} S=${S:-30}; fi
[ -z "$keep" ] || { mkdir -p "$keep" && keep=$(cd "$keep" && pwd); }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/sbs_lib.sh
. bench/sbs_lib.sh
sbs_start live-sbs
rcli() { redis-cli -u "$URL" "$@"; }
ne=$((R * S))
# stop PID: TERM and reap one process this script started
stop() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# one_cpu ROUND VARIANT: the pre-load, then the rate; prints the run's line
one_cpu() {
  # shellcheck disable=SC2086
  "$bin" gen --events "$P" --seed 1 --now $shape --brokers "$B" --topic "$T" >/dev/null
  python3 bench/redis_watch.py --url "$URL" --events "$P" --timeout 600 --out "$work/pre.json" >/dev/null ||
    { echo "variant $2: the pre-load never became visible: $(tail -2 "$work/run.log")" >&2; exit 1; }
  sleep 2
  # shellcheck disable=SC2086
  "$bin" gen --events "$ne" --seed 2 --id-offset 100000000 --rate "$R" --now $shape --brokers "$B" \
    --topic "$T" >"$work/gen.json"
  python3 bench/redis_watch.py --url "$URL" --events $((P + ne)) --timeout 120 --out "$work/w.json" >/dev/null ||
    echo "variant $2: not every event became visible" >&2
}

# one_latency ROUND VARIANT: the rate on the empty topic, watched
one_latency() {
  sleep 3 # joined and assigned
  python3 bench/redis_watch.py --url "$URL" --events "$ne" --timeout $((S + 60)) --out "$work/w.json" \
    >/dev/null &
  local wpid=$!
  pids+=("$wpid")
  # shellcheck disable=SC2086
  "$bin" gen --events "$ne" --seed 2 --rate "$R" --now $shape --brokers "$B" --topic "$T" >"$work/gen.json"
  wait "$wpid" || echo "variant $2: not every event became visible" >&2
}

echo "live_sbs: $shape, $([ $lat = 1 ] && echo "latency: an empty topic" || echo "$P pre-loaded"), then" \
  "$ne events at $R/s; $ROUNDS round(s)"
# one_run ROUND K VARIANT: one run of the variant in the K-th place
one_run() {
  local r=$1 k=$2 v=$3 pid spid
  sbs_variant "$v"
  T=live-$r-$k
  bash scripts/kafka.sh topic create "$T" --partitions 8 --bootstrap "$B" --dir "$work/kafka" >/dev/null
  # its dead-letter topic: `gen` plants invalid events, and the broker creates no topic
  bash scripts/kafka.sh topic create "$T.dlq" --partitions 1 --bootstrap "$B" --dir "$work/kafka" >/dev/null
  rcli FLUSHALL >/dev/null
  "$bin" run --set http.listen=127.0.0.1:0 --brokers "$B" --topic "$T" --group "g-$T" --redis "$URL" \
    "${sets[@]}" >"$work/run.log" 2>&1 &
  pid=$!
  pids=("$pid")
  for _ in $(seq 200); do
    [ "$(rcli EXISTS ccpulse:v1:meta)" = 1 ] && break
    sleep 0.1
  done
  python3 bench/sample_proc.py --pid "$pid" --url "$URL" --every 0.5 --out "$work/samples.jsonl" &
  spid=$!
  pids+=("$spid")
  if [ $lat = 1 ]; then one_latency "$r" "$v"; else one_cpu "$r" "$v"; fi
  stop "$spid"
  stop "$pid"
  pids=()
}

# the broker's first seconds of producing and fetching (its JIT) are slow:
# with --latency one run of the first variant, for 5 s, before round 1
if [ $lat = 1 ]; then
  ( S=5 ne=$((R * 5)); one_run 0 1 "$1" ) >/dev/null
fi
for r in $(seq "$ROUNDS"); do
  k=0
  for v in "$@"; do
    k=$((k + 1))
    one_run "$r" "$k" "$v"
    if [ -n "$keep" ]; then
      mkdir -p "$keep/$r-$k"
      cp "$work/run.log" "$work/gen.json" "$work/w.json" "$work/samples.jsonl" "$keep/$r-$k/"
      echo "$v" >"$keep/$r-$k/variant"
    fi
    python3 - "$work/gen.json" "$work/samples.jsonl" "$work/w.json" "$r" "$v" "$lat" <<'EOF'
import json, sys
sys.path.insert(0, "bench")
from report import latency, steady
gen = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
w = steady(gen, rows)
eps = gen.get("events", 0) / gen["seconds"] if gen.get("seconds") else 0
if sys.argv[6] == "1":
    L, _ = latency(gen, json.load(open(sys.argv[3])))
    nan = float("nan")
    f = lambda k: nan if L.get(k) is None else L[k]
    print("round %s  %-60s e2r p50/p99/max %5.0f / %5.0f / %5.0f ms  lag p99 %7.1f ms  %.3f core  "
          "%3d cycles  (produced at %.0f/s)" % (
        sys.argv[4], sys.argv[5], f("e2r_p50_ms"), f("e2r_p99_ms"), f("e2r_max_ms"),
        f("producer_lag_p99_ms"), w.get("cpu_cores", nan), L["cycles"], eps))
else:
    print("round %s  %-60s %.4f core  %6.2f MB/s Redis  %7.0f faults/s  (%.1f s window, produced at %.0f/s)" % (
        sys.argv[4], sys.argv[5], w.get("cpu_cores", float("nan")),
        w.get("redis_in_bytes_per_s", float("nan")) / 1e6, w.get("minor_faults_per_s", float("nan")),
        w.get("seconds", 0), eps))
EOF
  done
done | tee "$work/out.txt"
if [ $lat = 1 ]; then
  echo "medians: event->Redis p50"
  sbs_medians "$work/out.txt" 6 "%.0f ms" "$@"
  echo "medians: event->Redis p99"
  sbs_medians "$work/out.txt" 8 "%.0f ms" "$@"
  echo "medians: event->Redis max"
  sbs_medians "$work/out.txt" 10 "%.0f ms" "$@"
  echo "medians: producer lag p99"
  sbs_medians "$work/out.txt" 14 "%.1f ms" "$@"
  echo "medians: CPU of run"
  sbs_medians "$work/out.txt" 16 "%.3f core" "$@"
  [ $# -lt 2 ] || { echo "median ratio of p99 event->Redis to the first variant's, per round:"; sbs_ratios "$work/out.txt" 8 "$@"; }
else
  echo "medians:"
  sbs_medians "$work/out.txt" 4 "%.4f core" "$@"
  echo "medians: minor page faults of run"
  sbs_medians "$work/out.txt" 9 "%.0f /s" "$@"
  [ $# -lt 2 ] || { echo "median ratio of CPU to the first variant's, per round:"; sbs_ratios "$work/out.txt" 4 "$@"; }
fi
