#!/usr/bin/env bash
# labels: unit
# Floods of hostile input through `ccpulse replay`, at a size CI can afford,
# checked against what docs/kpis.md §7 and docs/limits.md promise (the full
# sizes, with memory figures, are bench/flood.sh's: this test judges, the
# bench measures). Every case writes a snapshot a quarter of the way
# through (`replay --every`), and every document must be valid UTF-8 strict
# JSON (bench/flood_check.py).
#   1. 3,000 distinct agents against limits.agents=1000: 1,000 agent scopes
#      plus agent:~other, overflow_events = the 2,000 events of the agents
#      past the cap, `all` still counts every ticket;
#   2. 12 events with a 1 MiB string in one text field each, among ordinary
#      events: each of the 12 is invalid (invalid_events = 12), no scope
#      name is longer than 256 bytes, the documents stay small;
#   3. 30,000 distinct tickets against tickets.max=5000: evicted_tickets =
#      25,000, tickets held = 5,000, and the peak RSS stays below that of
#      the same replay without the cap;
#   4. the same 30,000 event ids against dedup.max=1000: replay warns once
#      that 29,000 new ids were not remembered, and not without the cap.
#
#   bash tests/t_hostile_replay.sh <ccpulse-binary> <build-dir>
set -uo pipefail
BIN=$1
BUILD=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
work="$BUILD/t_hostile_replay"
rm -rf "$work" && mkdir -p "$work"
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# replay_case NAME EVERY ARGS...: replay $work/NAME.jsonl, documents to
# $work/NAME.out, peak RSS (KB) of the replay to $work/NAME.rss
replay_case() {
  local name=$1 every=$2
  shift 2
  python3 - "$work/$name.rss" "$BIN" replay --every "$every" "$@" "$work/$name.jsonl" \
    >"$work/$name.out" 2>"$work/$name.err" <<'EOF'
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)
EOF
  local rc=$?
  [ $rc -eq 0 ] || fail "$name: replay exited $rc: $(tail -2 "$work/$name.err")"
  python3 "$ROOT/bench/flood_check.py" "$work/$name.out" >"$work/$name.check" ||
    fail "$name: flood_check failed"
}

# field NAME EXPR: a Python expression over c (the flood_check result) and
# d (its diagnostics)
field() {
  python3 -c "import json,sys; c=json.load(open(sys.argv[1])); d=c['diagnostics']; print($2)" \
    "$work/$1.check"
}

expect() { # NAME WHAT EXPR WANT
  local got
  got=$(field "$1" "$3")
  [ "$got" = "$4" ] || fail "$1: $2 is $got, want $4"
}

# 1. agents past limits.agents
python3 "$ROOT/bench/flood_gen.py" agents 3000 >"$work/agents.jsonl"
replay_case agents 15s --set limits.agents=1000
expect agents "invalid documents" "c['invalid']" 0
expect agents "documents" "c['documents'] >= 4" True
expect agents "agent scopes" "c['scopes'].get('agent')" 1001
expect agents "overflow scopes" "c['overflow_scopes']" "['agent:~other']"
expect agents "overflow_events" "d['overflow_events']" 2000
expect agents "events" "d['events']" 6000
opened=$(python3 -c "import json; print(json.loads(open('$work/agents.out').read().splitlines()[-1])['scopes']['all']['windows']['today']['opened'])")
[ "$opened" = 3000 ] || fail "agents: all/today opened is $opened, want 3000"
echo "ok: 3,000 agents against limits.agents=1000: 1,000 scopes + agent:~other, 2,000 overflow events"

# 2. 1 MiB strings
python3 "$ROOT/bench/flood_gen.py" bigstr 12 --step 1000 >"$work/bigstr.jsonl"
replay_case bigstr 6s
expect bigstr "invalid documents" "c['invalid']" 0
expect bigstr "invalid_events" "d['invalid_events']" 12
longest=$(python3 -c "
import json
doc = json.loads(open('$work/bigstr.out').read().splitlines()[-1])
print(max(len(k.encode()) for k in doc['scopes']))")
[ "$longest" -le 260 ] || fail "bigstr: a scope name of $longest bytes"
expect bigstr "largest document under 64 KB" "c['max_bytes'] < 65536" True
echo "ok: 12 events with 1 MiB strings: all invalid, the documents stay small ($(field bigstr "c['max_bytes']") bytes at most)"

# 3. tickets past tickets.max
python3 "$ROOT/bench/flood_gen.py" tickets 30000 >"$work/tickets.jsonl"
cp "$work/tickets.jsonl" "$work/tickets_nocap.jsonl"
cp "$work/tickets.jsonl" "$work/dedup.jsonl"
replay_case tickets 75s --set tickets.max=5000
replay_case tickets_nocap 75s
expect tickets "invalid documents" "c['invalid']" 0
expect tickets "evicted_tickets" "d['evicted_tickets']" 25000
expect tickets "tickets held" "d['tickets']" 5000
expect tickets_nocap "tickets held without the cap" "d['tickets']" 30000
rss=$(cat "$work/tickets.rss") rss0=$(cat "$work/tickets_nocap.rss")
[ "$rss" -le "$rss0" ] || fail "tickets: peak RSS $rss KB with the cap, $rss0 KB without"
echo "ok: 30,000 tickets against tickets.max=5000: 25,000 evicted, 5,000 held (peak RSS $rss KB; $rss0 KB uncapped)"

# 4. event ids past dedup.max: the same 30,000 events, all within the
# 5-minute lateness of each other, so 29,000 ids find the filter full of
# fresh ones; replay says so once, at the end (docs/limits.md)
replay_case dedup 75s --set dedup.max=1000
expect dedup "invalid documents" "c['invalid']" 0
expect dedup "events" "d['events']" 30000
grep -q 'duplicate filter full (dedup.max=1000): 29000 new event id(s) not remembered' "$work/dedup.err" ||
  fail "dedup: no warning of 29,000 refused ids: $(tail -2 "$work/dedup.err")"
! grep -q 'duplicate filter full' "$work/tickets_nocap.err" || fail "dedup: a warning without the cap"
echo "ok: 30,000 event ids within the lateness against dedup.max=1000: 29,000 refused, told once"

[ $failures -eq 0 ] || {
  echo "t_hostile_replay: $failures failure(s); work files: $work"
  exit 1
}
echo "t_hostile_replay: all cases passed"
