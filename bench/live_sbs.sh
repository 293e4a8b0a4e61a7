#!/usr/bin/env bash
# Side-by-side live case: the CPU `ccpulse run` uses at a fixed event rate,
# for several binaries (and settings), alternating, so a change's cost is a
# ratio measured in one run on a noisy machine. The same case as bench/run's
# live step: starts a broker (scripts/kafka.sh) and Redis (scripts/redis.sh)
# on loopback; for each round and each variant: a fresh 8-partition topic, an
# empty Redis, `ccpulse run` (default settings plus the variant's), PRE
# events of the shape pre-loaded as fast as possible (`gen --now`) until
# Redis counts them all, 2 s, then RATE events/s for SECS s (`gen --seed 2
# --rate RATE --now`); CPU of run (user + system, /proc/PID/stat) and Redis
# input bytes over the steady window (2 s after the producer started to
# 0.5 s before it finished), as bench/report.py computes them.
#
#   bench/live_sbs.sh [--rate R] [--secs S] [--pre P] [--wide] [--rounds N] VARIANT...
#
# Defaults: --rate 10000 --secs 30 --pre 300000, 400 agents x 8 queues
# (--wide: 20,000 x 500), 3 rounds. A VARIANT is `BIN` or
# `BIN:key=value[,key=value...]` (extra --set flags), e.g.
#
#   bench/live_sbs.sh /tmp/old/ccpulse build-rel/ccpulse \
#                     build-rel/ccpulse:checkpoint.interval=off
#
# Prints one line per run and, per variant, the median CPU in cores.
set -euo pipefail
R=10000 S=30 P=300000 ROUNDS=3 shape="--agents 400 --queues 8"
while [ $# -gt 0 ]; do
  case $1 in
  --rate) R=$2; shift ;;
  --secs) S=$2; shift ;;
  --pre) P=$2; shift ;;
  --wide) shape="--agents 20000 --queues 500" ;;
  --rounds) ROUNDS=$2; shift ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  -*) echo "live_sbs: unknown option '$1' (--help)" >&2; exit 2 ;;
  *) break ;;
  esac
  shift
done
[ $# -ge 1 ] || { echo "live_sbs: give at least one VARIANT (--help)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/sbs_lib.sh
. bench/sbs_lib.sh
sbs_start live-sbs
rcli() { redis-cli -u "$URL" "$@"; }
ne=$((R * S))
echo "live_sbs: $shape, $P pre-loaded, then $ne events at $R/s; $ROUNDS round(s); CPU of run and Redis written over the steady window"
for r in $(seq "$ROUNDS"); do
  k=0
  for v in "$@"; do
    k=$((k + 1))
    sbs_variant "$v"
    T=live-$r-$k
    bash scripts/kafka.sh topic create "$T" --partitions 8 --bootstrap "$B" --dir "$work/kafka" >/dev/null
    # its dead-letter topic: `gen` plants invalid events, and the broker creates no topic
    bash scripts/kafka.sh topic create "$T.dlq" --partitions 1 --bootstrap "$B" --dir "$work/kafka" >/dev/null
    rcli FLUSHALL >/dev/null
    "$bin" run --set http.listen=127.0.0.1:0 --brokers "$B" --topic "$T" --group "g-$T" --redis "$URL" \
      "${sets[@]}" >"$work/run.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 200); do
      [ "$(rcli EXISTS ccpulse:v1:meta)" = 1 ] && break
      sleep 0.1
    done
    python3 bench/sample_proc.py --pid "$pid" --url "$URL" --every 0.5 --out "$work/samples.jsonl" &
    spid=$!
    pids+=("$spid")
    # shellcheck disable=SC2086
    "$bin" gen --events "$P" --seed 1 --now $shape --brokers "$B" --topic "$T" >/dev/null
    python3 bench/redis_watch.py --url "$URL" --events "$P" --timeout 600 --out "$work/pre.json" >/dev/null ||
      { echo "variant $v: the pre-load never became visible: $(tail -2 "$work/run.log")" >&2; exit 1; }
    sleep 2
    # shellcheck disable=SC2086
    "$bin" gen --events "$ne" --seed 2 --id-offset 100000000 --rate "$R" --now $shape --brokers "$B" \
      --topic "$T" >"$work/gen.json"
    python3 bench/redis_watch.py --url "$URL" --events $((P + ne)) --timeout 120 --out "$work/w.json" >/dev/null ||
      echo "variant $v: not every event became visible" >&2
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pids=()
    python3 - "$work/gen.json" "$work/samples.jsonl" "$r" "$v" <<'EOF'
import json, sys
sys.path.insert(0, "bench")
from report import steady
gen = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
w = steady(gen, rows)
print("round %s  %-60s %.4f core  %6.2f MB/s Redis  (%.1f s window, produced at %.0f/s)" % (
    sys.argv[3], sys.argv[4], w.get("cpu_cores", float("nan")),
    w.get("redis_in_bytes_per_s", float("nan")) / 1e6, w.get("seconds", 0),
    gen.get("events", 0) / gen["seconds"] if gen.get("seconds") else 0))
EOF
  done
done | tee "$work/out.txt"
echo "medians:"
for v in "$@"; do
  awk -v v="$v" '$3 == v { print $4 }' "$work/out.txt" | sort -g |
    awk -v v="$v" '{ a[NR] = $1 } END { printf "  %-60s %.4f core\n", v, (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
done
