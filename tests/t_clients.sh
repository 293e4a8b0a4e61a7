#!/usr/bin/env bash
# labels: redis
# The client examples of docs/clients.md against what ccpulse really writes:
# `ccpulse demo` (mock cluster, generator, pipeline) into a local
# redis-server, with 2 s SLA thresholds so that alerts fire within seconds.
#   - python client `snapshots --count 3` while the demo runs: three new
#     entries, stream time not going back;
#   - `tiles` after the demo stopped: meta and every window tile of `all`,
#     each printed tile equal to what GET returns;
#   - `alerts` in a consumer group: every alert id on the stream handled
#     once; then the same alerts are delivered again (three copies added to
#     the stream, the group reset to read it all again, two entries left
#     pending to the consumer as after a crash): the second run handles
#     nothing, counts every entry as a duplicate, and leaves nothing pending;
#   - the Node client: `node --check` when node is installed (ioredis is not
#     installed in CI).
# redis-py: Debian's python3-redis (scripts/setup-deps.sh), found with the
# first python3 on PATH or /usr/bin/python3.
# Usage: bash t_clients.sh <path-to-ccpulse-binary> <build-dir>
set -uo pipefail
BIN=$1
root=$(cd "$(dirname "$0")/.." && pwd)
client=$root/docs/clients/python/ccpulse_client.py
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
need() { # need WHAT PACKAGE: a missing dependency fails in CI, else skips
  if [ "${CI:-}" = true ]; then echo "FAIL: $1 missing ($2: scripts/setup-deps.sh)"; exit 1; fi
  echo "SKIP: $1 missing ($2: bash scripts/setup-deps.sh)"
  exit 77
}
command -v redis-server >/dev/null 2>&1 || need redis-server redis-server
py=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import redis' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || need "redis-py" python3-redis

mkdir -p "$2"
work=$(cd "$2" && pwd)/clients
DEMOPID=
cleanup() {
  [ -n "$DEMOPID" ] && kill -KILL "$DEMOPID" 2>/dev/null
  bash "$root/scripts/redis.sh" stop --dir "$work/redis" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
rm -rf "$work"
mkdir -p "$work"
out=$(bash "$root/scripts/redis.sh" start --dir "$work/redis") || { echo "FAIL: redis.sh start: $out"; exit 1; }
URL=$(sed -n 's/^REDIS=//p' <<<"$out")
R="redis-cli -u $URL --raw"
cl() { "$py" "$client" --redis "$URL" "$@"; }

# the demo; its HTTP endpoint (when this binary has one) off: tests run side by side
sets=(--set sla.PHONE=2s --set sla.CHAT=2s --set sla.SOCIAL=2s --set sla.EMAIL=2s)
"$BIN" help config | grep -q '^  http\.listen ' && sets+=(--set http.listen=)
"$BIN" demo --redis "$URL" --duration 9s "${sets[@]}" >"$work/demo.out" 2>"$work/demo.err" &
DEMOPID=$!
for _ in $(seq 100); do
  [ -n "$($R HGET ccpulse:v1:meta cycle 2>/dev/null)" ] && break
  sleep 0.1
done

# snapshots: followed while the demo runs
cl snapshots --count 3 --block-ms 5000 >"$work/snap.out" 2>&1 || fail "snapshots: $(tail -2 "$work/snap.out")"
"$py" - "$work/snap.out" <<'PY' || fail "snapshots: $(cat "$work/snap.out")"
import re, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("snapshot ")]
now = [int(re.search(r"now_ms=(\d+)", l).group(1)) for l in lines]
ids = [l.split()[1] for l in lines]
assert len(lines) == 3, "want 3 snapshot lines"
assert len(set(ids)) == 3 and now == sorted(now), "entries repeat or stream time goes back"
print("  snapshots: 3 followed, now_ms %d..%d" % (now[0], now[-1]))
PY

wait "$DEMOPID"
rc=$?
DEMOPID=
[ $rc -eq 0 ] || fail "demo exited $rc: $(tail -3 "$work/demo.err")"

# tiles: what the client prints is what Redis holds
cl tiles --scope all >"$work/tiles.out" 2>&1 || fail "tiles: $(tail -2 "$work/tiles.out")"
"$py" - "$work/tiles.out" "$URL" <<'PY' || fail "tiles: $(head -5 "$work/tiles.out")"
import json, sys, redis
lines = open(sys.argv[1]).read().split("\n")
r = redis.Redis.from_url(sys.argv[2], decode_responses=True)
meta = r.hgetall("ccpulse:v1:meta")
assert lines[0].startswith("meta now_ms=%s events=%s " % (meta["now_ms"], meta["events"])), lines[0]
windows = list(json.loads(r.get("ccpulse:v1:scope:all"))["windows"])
tiles = [l.split(" ", 3) for l in lines if l.startswith("tile all ")]
assert [t[2] for t in tiles] == windows, "windows %s, want %s" % ([t[2] for t in tiles], windows)
for _, _, w, js in tiles:
    assert json.loads(js) == json.loads(r.get("ccpulse:v1:kpi:all:" + w) or "{}"), "tile " + w
assert json.loads(tiles[0][3]).get("opened", 0) > 0, "no ticket opened"
g = [l for l in lines if l.startswith("gauges all ")][0].split(" ", 2)[2]
assert json.loads(g) == json.loads(r.get("ccpulse:v1:gauges:all")), "gauges"
print("  tiles: %d windows of all equal GET, meta events=%s" % (len(tiles), meta["events"]))
PY

# alerts: each id once, also when delivered again
stream_ids() { $R XRANGE ccpulse:alerts - + | "$py" -c '
import json, sys
for l in sys.stdin:
    if l.startswith("{"): print(json.loads(l)["id"])' | sort; }
stream_ids >"$work/ids.stream"
n=$(sort -u "$work/ids.stream" | wc -l)
[ "$n" -ge 5 ] || fail "only $n alert(s) on the stream after the demo"
cl alerts --group pager --consumer c1 --idle-ms 500 >"$work/alerts1.out" 2>&1 || fail "alerts run 1: $(tail -2 "$work/alerts1.out")"
grep -qx "alerts handled=$n duplicates=0" "$work/alerts1.out" || fail "run 1: $(tail -1 "$work/alerts1.out"), want handled=$n duplicates=0"
# delivered again: copies on the stream, the group reset, two entries pending to c1
for id in $(head -3 "$work/ids.stream"); do
  js=$($R XRANGE ccpulse:alerts - + | grep -F "\"id\":\"$id\"" | head -1)
  $R XADD ccpulse:alerts '*' json "$js" >/dev/null
done
$R XGROUP SETID ccpulse:alerts pager 0 >/dev/null
$R XREADGROUP GROUP pager c1 COUNT 2 STREAMS ccpulse:alerts '>' >/dev/null
total=$($R XLEN ccpulse:alerts)
cl alerts --group pager --consumer c1 --idle-ms 500 >"$work/alerts2.out" 2>&1 || fail "alerts run 2: $(tail -2 "$work/alerts2.out")"
grep -qx "alerts handled=0 duplicates=$total" "$work/alerts2.out" || fail "run 2: $(tail -1 "$work/alerts2.out"), want handled=0 duplicates=$total"
cat "$work/alerts1.out" "$work/alerts2.out" | awk '$1 == "alert" { print $2 }' | sort >"$work/ids.handled"
sort -u "$work/ids.stream" | cmp -s - "$work/ids.handled" || fail "the ids handled are not the stream's ids, each once"
pending=$($R XPENDING ccpulse:alerts pager | head -1)
[ "$pending" = 0 ] || fail "$pending entries left pending"
echo "  alerts: $n ids handled once; again: $total entries (3 copies, 2 pending) all duplicates, none pending"

if command -v node >/dev/null 2>&1; then
  node --check "$root/docs/clients/node/client.js" || fail "node --check docs/clients/node/client.js"
  echo "  node client: syntax ok ($(node --version))"
else
  echo "note: node not installed; the Node client is not checked"
fi

[ $fails -eq 0 ] || { echo "$fails check(s) failed; work files: $work"; exit 1; }
echo "client examples passed"
