#!/usr/bin/env bash
# Side-by-side catch-up: `ccpulse run` binaries (and settings) timed on the
# same topic, alternating, so a change's cost is a ratio measured in one run
# on a noisy machine. Starts a broker (scripts/kafka.sh) and Redis
# (scripts/redis.sh) on loopback, writes N events with `ccpulse gen --seed 1`
# into an 8-partition topic, then for each round and each variant: FLUSHALL,
# `ccpulse run --workers 2` in a fresh group, time from its start until
# `ccpulse:v1:meta` counts all N events (bench/redis_watch.py), VmHWM, and
# the CPU seconds (user + system) and minor page faults of `run` up to that
# point (/proc/PID/stat: less sensitive to a noisy machine than seconds),
# and the CPU seconds the broker's JVM and redis-server used meanwhile (they
# share the 2 cores with run: the alerts and checkpoints a catch-up writes
# cost Redis CPU too).
#
#   bench/catchup_sbs.sh [--events N] [--rounds R] [--one] VARIANT...
#
# --one: the shape of bench/run's recovery step instead (issue 9's
# "throughput cost of checkpointing"): one partition holding N events
# (default then 3,600,000) of `ccpulse gen --seed 3 --open 0.8` (about 1M
# tickets left open), `ccpulse run --workers 1`.
#
# A VARIANT is `BIN` or `BIN:key=value[,key=value...]` (extra --set flags),
# e.g. to cost checkpoints and compare with an older build:
#
#   bench/catchup_sbs.sh /tmp/old/ccpulse build-bench/ccpulse:checkpoint.interval=off \
#                        build-bench/ccpulse:checkpoint.interval=5s
set -euo pipefail
N= R=3 one=0
while [ $# -gt 0 ]; do
  case $1 in
  --events) N=$2; shift ;;
  --one) one=1 ;;
  --rounds) R=$2; shift ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) break ;;
  esac
  shift
done
[ $# -ge 1 ] || { echo "catchup_sbs: give at least one VARIANT (--help)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/sbs_lib.sh
. bench/sbs_lib.sh
sbs_start sbs
if [ $one = 1 ]; then
  N=${N:-3600000} W=1
  bash scripts/kafka.sh topic create cu --partitions 1 --bootstrap "$B" --dir "$work/kafka" >/dev/null
  bash scripts/kafka.sh topic create cu.dlq --partitions 1 --bootstrap "$B" --dir "$work/kafka" >/dev/null
  "${1%%:*}" gen --events "$N" --seed 3 --open 0.8 --brokers "$B" --topic cu >/dev/null
else
  N=${N:-3000000} W=2
  sbs_catchup_topic "$N" "${1%%:*}"
fi
echo "catchup_sbs: $N events, $([ $one = 1 ] && echo "1 partition (--open 0.8), --workers 1" || echo "8 partitions"), $R round(s); seconds start -> all counted, VmHWM, CPU seconds and minor faults of run, CPU seconds of the broker and Redis"
# CPU ticks (user + system) of a process other than run
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
jvm=$(cat "$work/kafka/kafka.pid") rds=$(cat "$work/redis/redis.pid")
for r in $(seq "$R"); do
  k=0
  for v in "$@"; do
    k=$((k + 1))
    sbs_variant "$v"
    redis-cli -u "$URL" FLUSHALL >/dev/null
    j0=$(ticks "$jvm") r0=$(ticks "$rds")
    t0=$(date +%s%3N)
    "$bin" run --brokers "$B" --topic cu --group "g$r-$k" --redis "$URL" --workers "$W" "${sets[@]}" \
      >"$work/run.log" 2>&1 &
    pid=$!
    python3 bench/redis_watch.py --url "$URL" --events "$N" --timeout 300 --out "$work/w.json" >/dev/null ||
      { echo "variant $v never counted $N events: $(tail -2 "$work/run.log")" >&2; kill "$pid"; exit 1; }
    hwm=$(awk '/^VmHWM/ {print int($2 / 1024)}' /proc/$pid/status)
    # fields 10, 14, 15 of stat (the name in field 2 has no blank: "(ccpulse)")
    read -r flt ut st < <(awk '{print $10, $14, $15}' /proc/$pid/stat)
    j1=$(ticks "$jvm") r1=$(ticks "$rds")
    kill -TERM "$pid" && wait "$pid" || true
    done_ms=$(python3 -c 'import json,sys;print(int(json.load(open(sys.argv[1]))["done_wall_ms"]))' "$work/w.json")
    awk -v r="$r" -v v="$v" -v ms="$((done_ms - t0))" -v h="$hwm" -v f="$flt" -v c="$((ut + st))" \
      -v tk="$(getconf CLK_TCK)" -v j="$((j1 - j0))" -v rd="$((r1 - r0))" \
      'BEGIN { printf "round %d  %-60s %6.2f s  %5d MB  %6.2f cpu-s  %7d minflt  %5.2f broker  %5.2f redis\n",
               r, v, ms / 1000, h, c / tk, f, j / tk, rd / tk }'
  done
done
