#!/usr/bin/env bash
# labels: kafka-mock redis
#
# `ccpulse demo --duration 8s` (mock cluster, generator, pipeline, its own
# redis-server child): exits 0, prints summary lines with events flowing from
# 3 partitions and Redis ok, and leaves no redis-server behind.
# Usage: bash t_live_demo.sh <ccpulse-binary> <build-dir>
set -u
BIN=${1:?usage: t_live_demo.sh <ccpulse-binary> <build-dir>}
command -v redis-server >/dev/null || { echo "SKIP: redis-server missing (bash scripts/setup-deps.sh)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ccp_live_demo.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

timeout 60 "$BIN" demo --duration 8s >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] || fail "exit status $rc (stderr: $(tail -3 "$T/err"))"
port=$(sed -n 's/.*Redis at redis:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/out" | head -1)
[ -n "$port" ] || fail "no Redis address printed"
grep -q 'redis-cli -p [0-9]* --raw XREVRANGE ccpulse:snapshots' "$T/out" || fail "no redis-cli hint printed"
grep -Eq 'events/s +[1-9][0-9]* .*partitions 3 \| redis ok' "$T/out" ||
  fail "no summary line with events from 3 partitions and redis ok: $(tail -3 "$T/out")"
grep -q 'ccpulse demo: stopped' "$T/out" || fail "no clean stop"
if [ -n "$port" ] && redis-cli -p "$port" ping >/dev/null 2>&1; then
  fail "the demo's redis-server on port $port still answers"
fi
if [ $fails -ne 0 ]; then
  cat "$T/out" >&2
  exit 1
fi
echo "t_live_demo: ok"
