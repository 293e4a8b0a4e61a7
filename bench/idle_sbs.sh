#!/usr/bin/env bash
# Side-by-side idle case: the memory `ccpulse run` keeps once caught up, for
# several binaries (and settings), alternating. The same case as bench/run's
# idle step: starts a broker (scripts/kafka.sh) and Redis (scripts/redis.sh)
# on loopback, a 32-partition topic holding `ccpulse gen --events N --seed
# 1` (400 agents x 8 queues, made once with the first variant's binary);
# for each round and each variant: an empty Redis, `ccpulse run` (default
# settings plus the variant's, a fresh consumer group) until Redis counts
# the N events, then SETTLE + IDLE + 1 s with no new events; then VmRSS and
# VmHWM (/proc/PID/status) and the anonymous memory (/proc/PID/smaps_rollup).
#
#   bench/idle_sbs.sh [--events N] [--settle S] [--idle I] [--rounds R] VARIANT...
#
# Defaults: --events 300000 --settle 5 --idle 20 (bench/run's), 3 rounds. A
# VARIANT is `BIN` or `BIN:key=value[,key=value...]` (extra --set flags).
# Prints one line per run and, per variant, the medians of VmRSS and VmHWM
# in MB (10^6 bytes, as bench/report.py). With IDLE_SBS_DIAG=PREFIX set it
# also keeps, per run, glibc's malloc_stats (gdb calls it in the process;
# in PREFIX-R-K.log) and /proc/PID/smaps (PREFIX-R-K.smaps).
set -euo pipefail
N=300000 SETTLE=5 IDLE=20 ROUNDS=3
while [ $# -gt 0 ]; do
  case $1 in
  --events) N=$2; shift ;;
  --settle) SETTLE=$2; shift ;;
  --idle) IDLE=$2; shift ;;
  --rounds) ROUNDS=$2; shift ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  -*) echo "idle_sbs: unknown option '$1' (--help)" >&2; exit 2 ;;
  *) break ;;
  esac
  shift
done
[ $# -ge 1 ] || { echo "idle_sbs: give at least one VARIANT (--help)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/sbs_lib.sh
. bench/sbs_lib.sh
sbs_start idle-sbs
rcli() { redis-cli -u "$URL" "$@"; }
T=idle
bash scripts/kafka.sh topic create "$T" --partitions 32 --bootstrap "$B" --dir "$work/kafka" >/dev/null
# its dead-letter topic: `gen` plants invalid events, and the broker creates no topic
bash scripts/kafka.sh topic create "$T.dlq" --partitions 1 --bootstrap "$B" --dir "$work/kafka" >/dev/null
sbs_variant "$1"
"$bin" gen --events "$N" --seed 1 --brokers "$B" --topic "$T" >/dev/null
echo "idle_sbs: 32 partitions, $N events, caught up, then $((SETTLE + IDLE + 1)) s idle; $ROUNDS round(s)"
kb() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }
for r in $(seq "$ROUNDS"); do
  k=0
  for v in "$@"; do
    k=$((k + 1))
    sbs_variant "$v"
    rcli FLUSHALL >/dev/null
    "$bin" run --set http.listen=127.0.0.1:0 --brokers "$B" --topic "$T" --group "g-$r-$k" --redis "$URL" \
      "${sets[@]}" >"$work/run.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    python3 bench/redis_watch.py --url "$URL" --events "$N" --timeout 600 --out "$work/w.json" >/dev/null ||
      { echo "variant $v: the events never became visible: $(tail -2 "$work/run.log")" >&2; exit 1; }
    sleep $((SETTLE + IDLE + 1))
    cp "/proc/$pid/status" "$work/status"
    cp "/proc/$pid/smaps_rollup" "$work/smaps"
    if [ -n "${IDLE_SBS_DIAG:-}" ]; then # glibc's arenas (malloc_stats goes to run's stderr) and the mappings
      gdb -p "$pid" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || true
      sleep 0.5
      cp "/proc/$pid/smaps" "$IDLE_SBS_DIAG-$r-$k.smaps"
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pids=()
    [ -n "${IDLE_SBS_DIAG:-}" ] && cp "$work/run.log" "$IDLE_SBS_DIAG-$r-$k.log"
    printf 'round %s  %-60s VmRSS %7.1f MB  VmHWM %7.1f MB  anon %7.1f MB\n' "$r" "$v" \
      "$(kb VmRSS "$work/status" | awk '{ print $1 * 1024 / 1e6 }')" \
      "$(kb VmHWM "$work/status" | awk '{ print $1 * 1024 / 1e6 }')" \
      "$(kb Anonymous "$work/smaps" | awk '{ print $1 * 1024 / 1e6 }')"
  done
done | tee "$work/out.txt"
echo "medians (VmRSS):"
sbs_medians "$work/out.txt" 5 "%.1f MB" "$@"
echo "medians (VmHWM):"
sbs_medians "$work/out.txt" 8 "%.1f MB" "$@"
