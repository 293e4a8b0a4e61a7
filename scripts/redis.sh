#!/usr/bin/env bash
# A throwaway Redis server on loopback for tests, benchmarks and the demo,
# from Debian's redis-server package (scripts/setup-deps.sh installs it).
#
#   bash scripts/redis.sh start [--port N] [--dir D] [--persist]
#       starts redis-server on 127.0.0.1 (a free port unless --port), no
#       persistence unless --persist (then AOF in D), daemonized with
#       D/redis.pid and D/redis.log; waits until it answers PING, then prints
#       REDIS=redis://127.0.0.1:P (also written to D/url)
#   bash scripts/redis.sh stop [--dir D]     SHUTDOWN NOSAVE, then SIGKILL after 10 s
#   bash scripts/redis.sh status [--dir D]   prints REDIS=... when it answers, else exits 1
#
# D defaults to $CCPULSE_REDIS_DIR or ${TMPDIR:-/tmp}/ccpulse-redis-$UID.
# Every wait is bounded; nothing prompts. See docs/testing-live.md.
set -euo pipefail
LIVE_PROG=redis.sh
. "$(dirname "$0")/lib/live.sh"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
}

cmd=${1:-}
[ $# -gt 0 ] && shift
port=
dir=${CCPULSE_REDIS_DIR:-${TMPDIR:-/tmp}/ccpulse-redis-$(id -u)}
persist=0
while [ $# -gt 0 ]; do
  case $1 in
    --port) [ $# -ge 2 ] || die "--port needs a value"; port=$2; shift 2 ;;
    --dir) [ $# -ge 2 ] || die "--dir needs a value"; dir=$2; shift 2 ;;
    --persist) persist=1; shift ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

command -v redis-server >/dev/null 2>&1 || die "redis-server not found; run: bash scripts/setup-deps.sh"
command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found; run: bash scripts/setup-deps.sh"

ping() { # ping PORT: true when redis answers PONG within 2 s
  [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

start() {
  claim_dir redis.pid "a redis-server"
  port=$(pick_port "$port" redis) || exit 1
  local persist_args=(--save "" --appendonly no)
  [ "$persist" = 1 ] && persist_args=(--appendonly yes)
  rm -f "$dir/redis.pid" "$dir/url"
  : >"$dir/redis.log"
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
    "${persist_args[@]}" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
    </dev/null >>"$dir/redis.log" 2>&1 || {
    tail -n 20 "$dir/redis.log" >&2
    die "cannot start redis-server on '127.0.0.1:$port' (log: $dir/redis.log)"
  }
  local i
  for ((i = 0; i < 100; i++)); do
    ping "$port" && break
    sleep 0.1
  done
  if ! ping "$port"; then
    tail -n 20 "$dir/redis.log" >&2
    stop_pid "$dir/redis.pid" 5
    die "redis-server on '127.0.0.1:$port' did not answer PING within 10 s (log: $dir/redis.log)"
  fi
  echo "$port" >"$dir/port"
  echo "redis://127.0.0.1:$port" >"$dir/url"
  echo "REDIS=redis://127.0.0.1:$port"
}

# shutdown_nosave PID: ask the server on $dir/port to exit without saving.
shutdown_nosave() {
  local p
  p=$(cat "$dir/port" 2>/dev/null || true)
  if [ -n "$p" ]; then
    timeout 5 redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1 || true
    wait_exit "$1" 50 || true
  fi
}

stop() {
  [ -d "$dir" ] || { note "nothing to stop in '$dir'"; return 0; }
  if stop_service redis-server "$dir/redis.pid" 10 shutdown_nosave; then
    rm -f "$dir/url"
  fi
}

status() {
  service_status "$dir/redis.pid" "$dir/port" ping "REDIS=redis://127.0.0.1:" "no redis-server answering for '$dir'"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  -h | --help | help | "") usage ;;
  *) die "unknown command '$cmd' (start, stop, status)" ;;
esac
