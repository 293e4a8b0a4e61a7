#!/usr/bin/env bash
# labels: differential
#
# Differential test: the C engine (`ccpulse replay`) against the plain Python
# reference (tests/reference/ref_engine.py), on generated event streams under
# three configurations, snapshot by snapshot (--every 1h). Also checks that
# replaying the Avro file written by `ccpulse convert` prints byte-identical
# output to replaying the JSON Lines file. See docs/testing.md.
#
#   bash tests/t_differential.sh <ccpulse-binary> <build-dir> [case...]
#
# Cases: defaults, berlin, newyork, edge, wide, limits (all when none is
# named); wide is a large center (3,000 agents, 600 queues) with snapshots
# every 12 h; limits runs under caps below its queues, agents and customers
# with records that break the text and time rules (docs/kpis.md §7). The work files
# go to <build-dir>/t_differential/<case>/ and are kept when a case fails.
# For soak runs: CCP_DIFF_SEED=N shifts every generator seed by N, and
# CCP_DIFF_SCALE=F multiplies the number of events (e.g. 2.5).
set -euo pipefail

CCPULSE=${1:?usage: t_differential.sh <ccpulse-binary> <build-dir> [case...]}
BUILD=${2:?usage: t_differential.sh <ccpulse-binary> <build-dir> [case...]}
shift 2
CASES=${*:-defaults berlin newyork edge wide limits}

HERE=$(cd "$(dirname "$0")" && pwd)
REF=$HERE/reference
CCPULSE=$(cd "$(dirname "$CCPULSE")" && pwd)/$(basename "$CCPULSE")
WORK=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)/t_differential
export PYTHONDONTWRITEBYTECODE=1

if [ ! -x "$CCPULSE" ]; then
  echo "t_differential: no ccpulse binary at '$CCPULSE'" >&2
  exit 1
fi

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# write_config <case> <file>: the configuration of one case.
write_config() {
  case $1 in
    defaults)
      # every default of docs/kpis.md (UTC, 30 d retention and TTL, no costs)
      echo "# t_differential: defaults" >"$2" ;;
    wide)
      # a wide center: thousands of agent and queue scopes, default settings
      # plus a scorecard (every agent scope gets a score)
      cat >"$2" <<'EOF'
# t_differential: wide (3,000 agents, 600 queues)
scorecard = service_level_pct>=80:40,csat_pct>=85:30,aht_avg_ms<=360000:30
EOF
      ;;
    berlin)
      # Europe/Berlin across the end of DST (2025-10-26 is 25 h long),
      # small retention period and TTL, queue x channel SLA overrides, costs
      cat >"$2" <<'EOF'
# t_differential: Berlin, DST end, small retention and TTL, overrides, costs
timezone = Europe/Berlin
retention.period = 1d
tickets.ttl = 36h
backlog_age = 12h
sla.EMAIL = 8h
sla.queue.vip.CHAT = 30s
sla.queue.billing.PHONE = 90s
cost.PHONE = 30
cost.CHAT = 18.5
cost.EMAIL = 12
EOF
      ;;
    newyork)
      # America/New_York across the start of DST (2025-03-09 is 23 h long),
      # shorter lateness, other windows and scorecard, longer short abandon
      cat >"$2" <<'EOF'
# t_differential: New York, DST start, other windows, lateness 2m
timezone = America/New_York
lateness = 2m
windows = 1m:1s,10m:1m,2h:5m,today:15m,3d:1h
short_abandon = 10s
backlog_age = 6h
retention.period = 2d
tickets.ttl = 2d
sla.SOCIAL = 20m
sla.queue.tech.EMAIL = 2h
cost.SOCIAL = 5
scorecard = service_level_pct>=80:25,csat_pct>=85:25,fcr_pct>=70:20,aht_avg_ms<=360000:20,qa_error_rate<=0.5:10
EOF
      ;;
    edge)
      # extremes: no lateness at all, a TTL shorter than most SLA
      # thresholds (tickets forgotten before they breach, then brought
      # back), a 1-minute backlog age, no short abandons, a half-hour zone
      # offset, single-bucket and odd-granularity windows, a zero cost, and
      # a scorecard on a percentile (compared within 1 %)
      cat >"$2" <<'EOF'
# t_differential: extremes
lateness = 0
tickets.ttl = 10m
backlog_age = 1m
short_abandon = 0
windows = 1m:1s,7m:7s,1h:1h,today:5m,2d:1h
timezone = Asia/Kolkata
retention.period = 2h
sla.EMAIL = 30m
sla.SOCIAL = 10m
cost.PHONE = 0
scorecard = frt_p90_ms<=60000:50,abandon_pct<=5:50
EOF
      ;;
    limits)
      # hostile input and bounds (docs/kpis.md §7, docs/limits.md): caps
      # below the generated queues, agents and customers (overflow scopes,
      # refused customers), and records breaking the text and time rules
      cat >"$2" <<'EOF'
# t_differential: limits and hostile records
limits.queues = 4
limits.agents = 25
limits.customers = 300
retention.period = 6h
EOF
      ;;
    *) echo "t_differential: unknown case '$1'" >&2; return 1 ;;
  esac
}

SEED_SHIFT=${CCP_DIFF_SEED:-0}
SCALE=${CCP_DIFF_SCALE:-1}

# gen_args <case>: generator options (seed, size, start, lateness).
gen_args() {
  local seed n rest
  case $1 in
    defaults) seed=11; n=120000; rest="--start-ms 1743120000000 --days 4" ;;  # 2025-03-28 (>= 100k: issue 2)
    berlin)   seed=12; n=100000; rest="--start-ms 1761264000000 --days 4" ;;  # 2025-10-24
    newyork)  seed=13; n=30000; rest="--start-ms 1741305600000 --days 3 --lateness 120000" ;;  # 2025-03-07
    edge)     seed=14; n=20000; rest="--start-ms 1767139200000 --days 2 --lateness 0" ;;  # 2025-12-31
    wide)     seed=15; n=60000; rest="--start-ms 1764547200000 --days 2 --agents 3000 --queues 600" ;;  # 2025-12-01
    limits)   seed=16; n=20000; rest="--start-ms 1764547200000 --days 2 --queues 8 --hostile-frac 0.01" ;;  # 2025-12-01
  esac
  n=$(awk -v n="$n" -v f="$SCALE" 'BEGIN { printf "%d", n * f }')
  echo "--seed $((seed + SEED_SHIFT)) --events $n $rest"
}

failed=""
t_all=$(now_s)
# every_of <case>: the snapshot period of one case.
every_of() {
  case $1 in
    wide) echo 12h ;;
    *) echo 1h ;;
  esac
}

for c in $CASES; do
  EVERY=$(every_of "$c")
  dir=$WORK/$c
  rm -rf "$dir"
  mkdir -p "$dir"
  cfg=$dir/config.conf
  write_config "$c" "$cfg"
  t0=$(now_s)
  # shellcheck disable=SC2046
  python3 "$REF/gen_events.py" $(gen_args "$c") --out "$dir/events.jsonl"
  nev=$(wc -l <"$dir/events.jsonl")
  echo "== $c: $nev events (generated in $(elapsed "$t0") s)"

  ok=1
  # the reference and the engine side by side
  t0=$(now_s)
  python3 "$REF/ref_engine.py" --config "$cfg" --every "$EVERY" \
    "$dir/events.jsonl" >"$dir/ref.out" 2>"$dir/ref.err" &
  ref_pid=$!
  t1=$(now_s)
  if ! "$CCPULSE" replay --config "$cfg" --every "$EVERY" "$dir/events.jsonl" \
      >"$dir/ccpulse.out" 2>"$dir/ccpulse.err"; then
    echo "$c: ccpulse replay failed:"; tail -5 "$dir/ccpulse.err"; ok=0
  fi
  echo "   ccpulse replay: $(elapsed "$t1") s"
  if ! wait "$ref_pid"; then
    echo "$c: reference failed:"; tail -5 "$dir/ref.err"; ok=0
  fi
  echo "   reference:      $(elapsed "$t0") s"

  if [ $ok = 1 ]; then
    echo "   compare (A = reference, B = ccpulse):"
    score_rel=()
    [ "$c" = edge ] && score_rel=(--score-rel 0.01)
    if ! python3 "$REF/compare.py" "${score_rel[@]}" "$dir/ref.out" \
        "$dir/ccpulse.out" >"$dir/compare.txt"; then
      ok=0
    fi
    sed 's/^/   /' "$dir/compare.txt"
  fi

  # Avro: convert, replay, byte-identical output
  t0=$(now_s)
  if ! "$CCPULSE" convert "$dir/events.jsonl" "$dir/events.avro" \
      2>"$dir/convert.err"; then
    echo "$c: ccpulse convert failed:"; tail -5 "$dir/convert.err"; ok=0
  elif ! "$CCPULSE" replay --config "$cfg" --every "$EVERY" "$dir/events.avro" \
      >"$dir/ccpulse_avro.out" 2>"$dir/ccpulse_avro.err"; then
    echo "$c: ccpulse replay of the Avro file failed:"
    tail -5 "$dir/ccpulse_avro.err"; ok=0
  elif ! cmp -s "$dir/ccpulse.out" "$dir/ccpulse_avro.out"; then
    echo "$c: replay of events.avro differs from replay of events.jsonl:"
    cmp "$dir/ccpulse.out" "$dir/ccpulse_avro.out" || true
    ok=0
  else
    echo "   avro round trip: identical output ($(elapsed "$t0") s)"
  fi

  if [ $ok = 1 ]; then
    rm -f "$dir/events.jsonl" "$dir/events.avro" "$dir"/*.out
  else
    failed="$failed $c"
    echo "   kept in $dir; reproduce with:"
    echo "     $CCPULSE replay --config $cfg --every $EVERY $dir/events.jsonl > $dir/ccpulse.out"
    echo "     python3 $REF/ref_engine.py --config $cfg --every $EVERY $dir/events.jsonl > $dir/ref.out"
    echo "     python3 $REF/compare.py $dir/ref.out $dir/ccpulse.out"
  fi
done

echo "t_differential: $(elapsed "$t_all") s in all"
if [ -n "$failed" ]; then
  echo "t_differential: FAILED:$failed"
  exit 1
fi
echo "t_differential: all cases agree"
