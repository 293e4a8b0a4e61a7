#!/usr/bin/env bash
# Plain Python peer (confluent-kafka + fastavro + redis), same interface as
# bench/peers/kafka-streams/run.sh:
#   bash bench/peers/python/run.sh --bootstrap B --topic T --events N [--app-id ID]
#        [--workers W] [--timeout S] [--dump FILE] [--redis HOST:PORT]
# Creates .venv (pip from PyPI) on first use; without --redis starts a private
# redis-server on a free loopback port for the run and stops it afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
args=() redis_addr=
while [ $# -gt 0 ]; do
  case $1 in
    --redis) redis_addr=$2; shift 2 ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
venv=$here/.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import confluent_kafka, fastavro, redis' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q confluent-kafka fastavro redis >&2
fi
rdir=
cleanup() {
  if [ -n "$rdir" ]; then
    [ -f "$rdir/redis.pid" ] && kill "$(cat "$rdir/redis.pid")" 2>/dev/null || true
    sleep 0.2; rm -rf "$rdir"
  fi
}
trap cleanup EXIT
if [ -z "$redis_addr" ]; then
  rdir=$(mktemp -d "${TMPDIR:-/tmp}/py-peer-redis.XXXXXX")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$rdir" \
    --daemonize yes --pidfile "$rdir/redis.pid" --logfile "$rdir/redis.log" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis_addr=127.0.0.1:$port
fi
"$venv/bin/python" "$here/peer.py" --redis "$redis_addr" "${args[@]}"
