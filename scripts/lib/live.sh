# Shared helpers of scripts/kafka.sh and scripts/redis.sh (sourced, not run).
# Needs bash; uses python3 only to find a free port.

# die MSG...: print "<prog>: MSG" on stderr and exit 1.
die() {
  echo "${LIVE_PROG:-live}: $*" >&2
  exit 1
}

# note MSG...: progress message on stderr (stdout carries KEY=VALUE results).
note() {
  echo "${LIVE_PROG:-live}: $*" >&2
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on right now.
# The kernel picks it (bind to port 0); another process could still take it
# before our server binds, which the callers' bounded waits then report.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# pid_alive PIDFILE: true when PIDFILE names a running process.
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null
}

# stop_pid PIDFILE SECONDS: SIGTERM the process of PIDFILE, wait up to
# SECONDS for it to exit, then SIGKILL it. Removes PIDFILE.
stop_pid() {
  local pidfile=$1 grace=$2 pid i
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    note "pid $pid still running after ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile"
}

# check_port VALUE: die unless VALUE is a TCP port number.
check_port() {
  [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "bad port '$1': expected 1..65535"
}
