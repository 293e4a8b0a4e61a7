#!/usr/bin/env bash
# The timeline of one catch-up: the setup of bench/catchup_sbs.sh (a broker
# and Redis on loopback, N events of `ccpulse gen --seed 1` in an
# 8-partition topic), then one `ccpulse run --workers 2` per VARIANT in a
# fresh group, sampled every 50 ms by bench/catchup_timeline.py until Redis
# counts all N: per thread of run its time on a CPU and runnable, the CPU
# of the broker's JVM and of Redis, the machine's idle, the records read
# (run's /metrics) and the cycles Redis shows.
#
#   bench/catchup_timeline.sh [--events N] [--every MS] [--bin MS] VARIANT...
#
# A VARIANT is `BIN` or `BIN:key=value[,key=value...]` as for
# bench/catchup_sbs.sh. The raw samples of the K-th variant are kept in
# /tmp/catchup-timeline-K.jsonl, its log in /tmp/catchup-timeline-K.log.
set -euo pipefail
N=3000000 EVERY=50 BIN=250
while [ $# -gt 0 ]; do
  case $1 in
  --events) N=$2; shift ;;
  --every) EVERY=$2; shift ;;
  --bin) BIN=$2; shift ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) break ;;
  esac
  shift
done
[ $# -ge 1 ] || { echo "catchup_timeline: give at least one VARIANT (--help)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/sbs_lib.sh
. bench/sbs_lib.sh
sbs_start tl
sbs_catchup_topic "$N" "${1%%:*}"
jvm=$(cat "$work/kafka/kafka.pid") rds=$(cat "$work/redis/redis.pid")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
k=0
for v in "$@"; do
  k=$((k + 1))
  sbs_variant "$v"
  redis-cli -u "$URL" FLUSHALL >/dev/null
  echo "== $v"
  t0=$(date +%s%3N)
  "$bin" run --brokers "$B" --topic cu --group "tl-$k" --redis "$URL" --workers 2 \
    --set "http.listen=127.0.0.1:$port" "${sets[@]}" >"$work/run.log" 2>&1 &
  pid=$!
  python3 bench/catchup_timeline.py --pid "$pid" --jvm "$jvm" --redis-pid "$rds" --url "$URL" --metrics "127.0.0.1:$port" \
    --events "$N" --t0 "$t0" --every "$EVERY" --bin "$BIN" --out "/tmp/catchup-timeline-$k.jsonl" || true
  kill -TERM "$pid" && wait "$pid" || true
  cp "$work/run.log" "/tmp/catchup-timeline-$k.log"
done
