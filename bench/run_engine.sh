#!/usr/bin/env bash
# Builds Release in build-bench/, runs bench_engine at the default size
# pinned to CPU 0, writes bench/results/engine-<UTC date and time>.json and
# appends one line to bench/results/README.md. Prints the exact command that
# reproduces the run.
#
#   bench/run_engine.sh [extra bench_engine options, e.g. --events 10000000]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench --target bench_engine >/dev/null

stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p bench/results
out=bench/results/engine-$stamp.json
cmd=(build-bench/bench/bench_engine --events 6000000 --seed 1 --cpu 0 "$@" --json "$out")

echo "+ ${cmd[*]}"
"${cmd[@]}"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no -- src include 2>/dev/null | head -1)
[ -n "$dirty" ] && commit="$commit+dirty"
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/^[^:]*: *//')
summary=bench/results/README.md
if [ ! -f "$summary" ]; then
  cat >"$summary" <<'EOF'
# bench_engine results

One line per run of `bench/run_engine.sh` (figures explained in
`bench/README.md`; the JSON of each run sits next to this file). Goals:
replay ≥ 2,000,000 events/s on one core; ≤ 100 bytes of RSS per open ticket.
Profiles of runs that missed a goal: `engine-<date>-analysis.md`.

| date (UTC) | commit | machine | events | decode ev/s | replay ev/s | replay/decode | engine ns/ev | peak open | B/open ticket | goals (eps, bytes) | command |
|---|---|---|---|---|---|---|---|---|---|---|---|
EOF
fi
row=$(jq -r --arg date "$stamp" --arg commit "$commit" --arg mach "$(nproc) × $cpu" \
  --arg cmd "${cmd[*]}" '
  def r0: . * 1 | round;
  def r3: (. * 1000 | round) / 1000;
  def r1: (. * 10 | round) / 10;
  def yn: if . then "met" else "missed" end;
  "| \($date) | \($commit) | \($mach) | \(.workload.events) | \(.decode.eps | r0) | \(.replay.eps | r0) | \(.ratio_replay_decode | r3) | \(.engine_ns_per_event | r1) | \(.peak_open_tickets) | \(.bytes_per_open_ticket | r1) | \(.goals.replay_eps_met | yn), \(.goals.bytes_per_open_ticket_met | yn) | `\($cmd)` |"' "$out")
echo "$row" >>"$summary"
echo "wrote $out and a line in $summary"
echo "reproduce: (cd $root && cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench --target bench_engine && ${cmd[*]})"
