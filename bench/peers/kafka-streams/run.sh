#!/usr/bin/env bash
# Kafka Streams peer of ccpulse (bench issue 4).
#   bash bench/peers/kafka-streams/run.sh --bootstrap HOST:PORT --topic T --events N
#        [--app-id ID] [--threads N] [--commit-ms MS] [--grace-ms MS] [--store rocksdb|memory]
#        [--timeout S] [--dump FILE]
# Builds the jar if needed (mvn -o when ~/.m2 already holds the deps), runs the
# app with a fresh application id (unless --app-id) from the earliest offset,
# and prints one JSON line {"peer":"kafka-streams","events":N,"seconds":S,"events_per_s":R}
# once N input records are processed (and every per-queue contribution they
# produced is read back from the repartition topic into the window aggregate).
# Exit 0 on success, 1 on timeout/failure, 2 on usage. State dir removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bootstrap= topic= events= app_id= grace_ms= store= threads=$(nproc) commit_ms=1000 timeout_s=600 dump=
while [ $# -gt 0 ]; do
  case $1 in
    --bootstrap) bootstrap=$2; shift 2 ;;
    --topic) topic=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --app-id) app_id=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --commit-ms) commit_ms=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --dump) dump=$2; shift 2 ;;
    --grace-ms) grace_ms=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$bootstrap" ] && [ -n "$topic" ] && [[ ${events:-} =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: run.sh --bootstrap B --topic T --events N [--app-id ID] [--timeout S]" >&2; exit 2; }
[ -n "$app_id" ] || app_id=ccpulse-ks-peer-$(date +%s)-$$

jar=$here/target/kstreams-peer.jar
if [ ! -f "$jar" ] || [ -n "$(find "$here/src" "$here/pom.xml" -newer "$jar" 2>/dev/null | head -1)" ]; then
  (cd "$here" && { mvn -q -B -o package >"$here/target-build.log" 2>&1 || mvn -q -B package >"$here/target-build.log" 2>&1; }) || {
    tail -n 30 "$here/target-build.log" >&2; echo "run.sh: build failed" >&2; exit 1; }
fi
state=$(mktemp -d "${TMPDIR:-/tmp}/ks-peer-state.XXXXXX")
trap 'rm -rf "$state"' EXIT
java_opts=${KS_PEER_JAVA_OPTS:--Xmx1g -XX:+UseG1GC}
# shellcheck disable=SC2086
timeout --kill-after=30 $((timeout_s + 60)) java $java_opts -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -jar "$jar" --bootstrap "$bootstrap" --topic "$topic" --events "$events" \
  --schema "$root/schemas/ticket_event.avsc" --app-id "$app_id" --state-dir "$state" \
  --threads "$threads" --commit-ms "$commit_ms" --timeout "$timeout_s" ${dump:+--dump "$dump"} ${grace_ms:+--grace-ms "$grace_ms"} ${store:+--store "$store"}
