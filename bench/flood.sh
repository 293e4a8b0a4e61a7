#!/usr/bin/env bash
# Hostile floods (issue 10, docs/kpis.md section 7), measured, not a test:
#
#   agents       `ccpulse replay` of 1M distinct agent ids (2M events: per
#                agent a ticket opened and answered by it), next to the same
#                events with 400 agents (agents400, the baseline: ratios)
#   tickets      `ccpulse replay` of 10M distinct ticket ids (and customers),
#                one OPENED each, none closed
#   bigstr       `ccpulse replay` of 60 events whose text fields carry 1 MiB
#                strings (one field each: event_id, ticket_id, queue,
#                agent_id, customer_id, category in turn) between ordinary ones
#   undecodable  live: `ccpulse run` against a real broker and Redis
#                (scripts/kafka.sh, scripts/redis.sh, as bench/run), 1,000
#                valid events, a burst of 100k records that are not Avro, then
#                1,000 valid events: the bad ones must reach the dead-letter
#                topic and the process must keep consuming
#
# For each: wall seconds and peak RSS of ccpulse, whether every snapshot
# document is valid UTF-8 JSON (bench/flood_check.py parses each: the
# `replay --every` documents, or every entry of the Redis snapshot stream),
# and the counters the last document has (its whole `diagnostics`, whatever
# keys this version writes: invalid_events, overflow_events, evicted_*,
# dead_letter...), the scopes by kind and any overflow scope; live, also the
# records counted on the dead-letter topic.
#
#   bench/flood.sh [case...]            (default: all four)
# Environment:
#   FLOOD_SCALE        multiplies every size (default 1; e.g. 0.01 for a quick run)
#   FLOOD_RSS_LIMIT_MB a replay above this RSS is killed and reported as such
#                      (default 16384)
#   FLOOD_BIN          the ccpulse binary (default: build-bench/ccpulse, built Release)
#   FLOOD_KEEP=1       keep the work directory (its path is logged)
# Prints one JSON object per case on stdout (and a summary table on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scale=${FLOOD_SCALE:-1}
rss_limit_mb=${FLOOD_RSS_LIMIT_MB:-16384}
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(agents tickets bigstr undecodable)
sized() { python3 -c "import sys; print(max(int(float(sys.argv[1]) * float(sys.argv[2])), int(sys.argv[3])))" "$1" "$scale" "$2"; }
N_AGENTS=$(sized 1000000 100) N_TICKETS=$(sized 10000000 100) N_BIG=$(sized 60 6) N_BAD=$(sized 100000 100)
N_GOOD=1000

work=$(mktemp -d "${TMPDIR:-/tmp}/ccpulse-flood.XXXXXX")
kdir=$work/kafka rdir=$work/redis
pids=()
log() { echo "[flood $(date -u +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -f "$kdir/kafka.pid" ]; then bash "$root/scripts/kafka.sh" stop --dir "$kdir" >/dev/null 2>&1 || true; fi
  if [ -f "$rdir/redis.pid" ]; then bash "$root/scripts/redis.sh" stop --dir "$rdir" >/dev/null 2>&1 || true; fi
  if [ "${FLOOD_KEEP:-0}" = 1 ]; then log "work files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BIN=${FLOOD_BIN:-}
if [ -z "$BIN" ]; then
  log "building Release in build-bench/"
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-bench --target ccpulse >/dev/null
  BIN=$root/build-bench/ccpulse
fi
log "binary $BIN ($("$BIN" version 2>/dev/null || echo '?')); scale $scale; work $work"

# watchdog PID FLAG: kills the child of PID (the replay under timed.py) when
# its RSS passes the limit, and writes FLAG
watchdog() {
  local tp=$1 flag=$2 child rss
  while kill -0 "$tp" 2>/dev/null; do
    child=$(pgrep -P "$tp" | head -1 || true)
    if [ -n "$child" ]; then
      rss=$(awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$child/status" 2>/dev/null || echo 0)
      if [ "${rss:-0}" -gt "$rss_limit_mb" ]; then
        echo "killed at ${rss} MB RSS (FLOOD_RSS_LIMIT_MB=$rss_limit_mb)" >"$flag"
        kill -KILL "$child" 2>/dev/null || true
        return
      fi
    fi
    sleep 0.2
  done
}

# replay_case NAME EVENTS GEN-ARGS...: generate (not timed), replay with a
# snapshot about every quarter of the stream's event time, check, report
replay_case() {
  local name=$1 events=$2
  shift 2
  log "$name: generating ($*)"
  python3 bench/flood_gen.py "$@" >"$work/$name.jsonl"
  local every=$((events * ${STEP:-10} / 4)) # ms: flood_gen advances STEP ms an event
  [ $every -ge 1000 ] || every=1000
  log "$name: ccpulse replay --every ${every}ms ($events events, $(du -h "$work/$name.jsonl" | cut -f1))"
  python3 bench/timed.py --out "$work/$name-time.json" --stdout "$work/$name.snap" -- \
    "$BIN" replay --every "${every}ms" "$work/$name.jsonl" 2>"$work/$name.err" &
  local tp=$!
  pids+=("$tp")
  watchdog "$tp" "$work/$name.killed" &
  local wd=$!
  wait "$tp" || true
  wait "$wd" 2>/dev/null || true
  python3 bench/flood_check.py "$work/$name.snap" >"$work/$name-check.json" || true
  python3 - "$name" "$events" "$work" <<'PY'
import json, os, sys
name, events, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = json.load(open(os.path.join(work, name + "-time.json")))
c = json.load(open(os.path.join(work, name + "-check.json")))
killed = os.path.join(work, name + ".killed")
err = open(os.path.join(work, name + ".err"), errors="replace").read().strip().splitlines()
print(json.dumps({"case": name, "mode": "replay", "events": events, "seconds": round(t["seconds"], 3),
                  "peak_rss_mb": round(t["max_rss_bytes"] / 1e6, 1), "exit": t["exit"],
                  "killed": open(killed).read().strip() if os.path.exists(killed) else None,
                  "stderr_tail": err[-3:], "snapshots": c["documents"], "invalid_snapshots": c["invalid"],
                  "first_error": c["first_error"], "max_snapshot_bytes": c["max_bytes"],
                  "scopes": c["scopes"], "overflow_scopes": c["overflow_scopes"],
                  "diagnostics": c["diagnostics"]}))
PY
  rm -f "$work/$name.jsonl" "$work/$name.snap"
}

# ---- live: undecodable records --------------------------------------------------
live_undecodable() {
  log "undecodable: starting Kafka (scripts/kafka.sh) and Redis (scripts/redis.sh)"
  local out B URL T=flood-$$ dlq group=flood-$$
  out=$(bash scripts/kafka.sh start --dir "$kdir") || die "kafka.sh start failed: $out"
  B=$(sed -n 's/^BOOTSTRAP=//p' <<<"$out")
  out=$(bash scripts/redis.sh start --dir "$rdir") || die "redis.sh start failed: $out"
  URL=$(sed -n 's/^REDIS=//p' <<<"$out")
  dlq=$T.dlq
  bash scripts/kafka.sh topic create "$T" --partitions 4 --bootstrap "$B" --dir "$kdir" >/dev/null
  bash scripts/kafka.sh topic create "$dlq" --partitions 1 --bootstrap "$B" --dir "$kdir" >/dev/null
  # the snapshot stream keeps every document of the run (checked at the end)
  local t0 pid
  t0=$(date +%s%3N)
  "$BIN" run --brokers "$B" --topic "$T" --group "$group" --redis "$URL" --workers 2 \
    --set redis.snapshots.maxlen=100000 --set publish.snapshot_interval=250ms \
    --set "dlq.topic=$dlq" >"$work/run.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  log "undecodable: $N_GOOD valid events (ccpulse gen --now), $N_BAD records that are not Avro, $N_GOOD valid"
  local clean=(--dup 0 --late 0 --invalid 0) # no planted anomalies: the counters are the flood's
  "$BIN" gen --now --events "$N_GOOD" --seed 1 "${clean[@]}" --brokers "$B" --topic "$T" >/dev/null
  python3 bench/flood_gen.py garbage "$N_BAD" >"$work/garbage.txt"
  local tb
  tb=$(date +%s%3N)
  bash scripts/kafka.sh tool console-producer --bootstrap-server "$B" --topic "$T" \
    <"$work/garbage.txt" >"$work/producer.log" 2>&1 || die "console-producer failed: $(tail -3 "$work/producer.log")"
  "$BIN" gen --now --events "$N_GOOD" --seed 2 --id-offset 100000000 "${clean[@]}" --brokers "$B" \
    --topic "$T" >/dev/null
  # done when diagnostics.events counts every record (what it counts today:
  # every record read, the dead-lettered ones too), or, for a version that
  # leaves those out, when dead_letter has the burst and the sum holds still
  local want=$((2 * N_GOOD + N_BAD)) ev=0 dl=0 prev= still=0 hwm=0
  for _ in $(seq 1200); do
    kill -0 "$pid" 2>/dev/null || break
    read -r ev dl < <(python3 - "$URL" <<'PY' || echo "0 0"
import json, sys
sys.path.insert(0, "bench")
from redis_watch import Resp
host, port = sys.argv[1].split("://")[1].split("/")[0].rsplit(":", 1)
r = Resp(host, int(port))
last = r.cmd("XREVRANGE", "ccpulse:snapshots", "+", "-", "COUNT", "1")
d = json.loads(dict(zip(last[0][1][::2], last[0][1][1::2]))[b"json"]).get("diagnostics", {}) if last else {}
print(d.get("events", 0), d.get("dead_letter", 0))
PY
    )
    [ "$ev" -ge "$want" ] && break
    if [ "$dl" -ge "$N_BAD" ] && [ $((ev + dl)) -ge "$want" ]; then
      [ "$ev $dl" = "$prev" ] && still=$((still + 1)) || still=0
      [ $still -ge 3 ] && break
    fi
    prev="$ev $dl"
    sleep 0.5
  done
  local seen=$ev
  local tdone alive=0
  tdone=$(date +%s%3N)
  kill -0 "$pid" 2>/dev/null && alive=1
  [ $alive = 1 ] && hwm=$(awk '/^VmHWM/ {print $2 * 1024}' "/proc/$pid/status")
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  log "undecodable: counting the dead-letter topic '$dlq'"
  local ndlq
  ndlq=$(bash scripts/kafka.sh tool console-consumer --bootstrap-server "$B" --topic "$dlq" \
    --from-beginning --timeout-ms 15000 2>/dev/null | wc -l)
  python3 bench/flood_check.py --redis "$URL" >"$work/live-check.json" || true
  python3 - "$work" "$want" "$seen" "$alive" "$hwm" "$ndlq" "$t0" "$tb" "$tdone" "$N_BAD" <<'PY'
import json, os, sys
work, want, seen, alive, hwm, ndlq, t0, tb, tdone, nbad = sys.argv[1:]
c = json.load(open(os.path.join(work, "live-check.json")))
log = open(os.path.join(work, "run.log"), errors="replace").read().splitlines()
print(json.dumps({"case": "undecodable", "mode": "live", "records": int(want), "bad_records": int(nbad),
                  "events_counted": int(seen), "kept_consuming": int(seen) >= int(want) - int(nbad),
                  "alive_at_end": alive == "1", "peak_rss_mb": round(int(hwm) / 1e6, 1),
                  "seconds_from_burst_to_all_counted": round((int(tdone) - int(tb)) / 1000, 3),
                  "dead_letter_topic_records": int(ndlq), "snapshots": c["documents"],
                  "invalid_snapshots": c["invalid"], "first_error": c["first_error"],
                  "diagnostics": c["diagnostics"], "run_log_lines": len(log),
                  "run_log_tail": log[-2:]}))
PY
}

results=$work/results.jsonl
for c in "${cases[@]}"; do
  case $c in
  agents)
    replay_case agents400 $((2 * N_AGENTS)) agents "$N_AGENTS" --agent-mod 400 | tee -a "$results"
    replay_case agents $((2 * N_AGENTS)) agents "$N_AGENTS" | tee -a "$results"
    ;;
  tickets) replay_case tickets "$N_TICKETS" tickets "$N_TICKETS" | tee -a "$results" ;;
  bigstr) STEP=1000 replay_case bigstr $((2 * N_BIG)) bigstr "$N_BIG" --step 1000 | tee -a "$results" ;;
  undecodable) live_undecodable | tee -a "$results" ;;
  *) die "unknown case '$c' (agents, tickets, bigstr, undecodable)" ;;
  esac
done
python3 - "$results" <<'PY' >&2
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
base = {r["case"]: r for r in rows}.get("agents400")
print("%-12s %-6s %10s %9s %9s %6s %8s  %s" % ("case", "mode", "events", "seconds", "rss_MB", "snaps", "invalid", "diagnostics"))
for r in rows:
    n = r.get("events", r.get("records"))
    secs = r.get("seconds", r.get("seconds_from_burst_to_all_counted"))
    print("%-12s %-6s %10s %9s %9s %6s %8s  %s" % (r["case"], r["mode"], n, secs, r["peak_rss_mb"], r["snapshots"],
          r["invalid_snapshots"], json.dumps(r["diagnostics"])))
    if r.get("killed"):
        print("             %s" % r["killed"])
    if r.get("dead_letter_topic_records") is not None:
        print("             dead-letter topic: %d records; kept consuming: %s" % (r["dead_letter_topic_records"], r["kept_consuming"]))
a = {r["case"]: r for r in rows}.get("agents")
if base and a and base["seconds"] > 0 and base["peak_rss_mb"] > 0:
    print("agents vs agents400 (same events, 400 agents): time x%.2f, peak RSS x%.2f"
          % (a["seconds"] / base["seconds"], a["peak_rss_mb"] / base["peak_rss_mb"]))
PY
