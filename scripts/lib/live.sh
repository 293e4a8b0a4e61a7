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
  local pidfile=$1 grace=$2 pid
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_exit "$pid" $((grace * 10)); then
    note "pid $pid still running after ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_exit "$pid" 50 || true
  fi
  rm -f "$pidfile"
}

# wait_exit PID TENTHS: wait up to TENTHS tenths of a second for PID to end;
# false if it still runs.
wait_exit() {
  local i
  for ((i = 0; i < $2; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$1" 2>/dev/null
}

# stop_service WHAT PIDFILE GRACE [HOOK]: stop the server of PIDFILE (in
# $dir): HOOK PID first when given (a polite shutdown), then stop_pid with
# GRACE seconds; says what it did. False when none was running.
stop_service() {
  local what=$1 pidfile=$2 grace=$3 hook=${4:-} pid
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    note "no $what running for '$dir'"
    return 1
  fi
  pid=$(cat "$pidfile")
  if [ -n "$hook" ]; then "$hook" "$pid"; fi
  stop_pid "$pidfile" "$grace"
  note "stopped $what (pid $pid)"
}

# claim_dir PIDNAME WHAT: make $dir exist and absolute; die when the WHAT
# of $dir/PIDNAME still runs there (the message says how to stop it).
claim_dir() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if pid_alive "$dir/$1"; then
    die "$2 (pid $(cat "$dir/$1")) already runs for '$dir'; stop it first: bash scripts/$LIVE_PROG stop --dir '$dir'"
  fi
}

# pick_port VALUE WHAT: print VALUE when it is a port number nothing listens
# on (else die naming WHAT), or a free port when VALUE is empty. Call it as
# port=$(pick_port ...) || exit 1.
pick_port() {
  if [ -n "$1" ]; then
    check_port "$1"
    port_open "$1" && die "cannot start $2 on '127.0.0.1:$1': the port is in use"
    echo "$1"
  else
    free_port
  fi
}

# service_status PIDFILE FILE PROBE PREFIX MSG: when the process of PIDFILE
# runs and `PROBE ADDR` succeeds on the address ADDR kept in FILE, print
# PREFIXADDR (the KEY=VALUE result); else note MSG and return 1.
service_status() {
  local pidfile=$1 file=$2 probe=$3 prefix=$4 msg=$5 addr
  addr=$(cat "$file" 2>/dev/null || true)
  if pid_alive "$pidfile" && [ -n "$addr" ] && "$probe" "$addr"; then
    echo "$prefix$addr"
  else
    note "$msg"
    return 1
  fi
}

# check_port VALUE: die unless VALUE is a TCP port number.
check_port() {
  [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "bad port '$1': expected 1..65535"
}
