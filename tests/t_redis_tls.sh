#!/usr/bin/env bash
# labels: kafka-mock redis
#
# Redis over TLS through the documented tunnel (docs/operations.md, "TLS and
# authentication"): hiredis 0.14 has no TLS, so ccpulse talks plain RESP to
# stunnel on loopback, which carries it over TLS to the server.
#   - a throwaway CA (scripts/lib/tls.sh) signs a server and a client
#     certificate; Debian's redis-server runs TLS only (--port 0, --tls-port,
#     client certificates required) with a password (requirepass);
#   - stunnel in client mode: 127.0.0.1:<plain port> -> TLS to the server,
#     verifying the server's certificate against the CA and its name
#     (checkHost localhost), presenting the client certificate; a second
#     service of the tunnel, checking against another CA, is refused;
#   - `ccpulse run --mock` with --redis redis://:PASSWORD@127.0.0.1:<plain
#     port>: the snapshot read back over TLS (redis-cli --tls) equals
#     `ccpulse replay` byte for byte; SIGTERM exits 0;
#   - the server has no plain port (--port 0) and refuses plain RESP on
#     its TLS port, so whatever reached it came over TLS;
#   - --redis rediss://... is refused at start-up (exit 2) saying TLS is not
#     supported directly and pointing to the tunnel, without the password.
# Skipped (77) without redis-server, stunnel or openssl, or when
# redis-server has no TLS built in; in CI (CI=true) those fail instead.
#
#   bash tests/t_redis_tls.sh <ccpulse-binary> <build-dir>
set -uo pipefail
BIN=${1:?usage: t_redis_tls.sh <ccpulse-binary> <build-dir>}
BUILD=${2:?usage: t_redis_tls.sh <ccpulse-binary> <build-dir>}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/tls.sh"
mkdir -p "$BUILD"
work=$(cd "$BUILD" && pwd)/t_redis_tls
RPID= SPID= RUNPID=
fails=0
cleanup() {
  local p
  for p in $RUNPID $SPID $RPID; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }
missing() {
  [ "${CI:-}" = true ] && die "$* (CI: bash scripts/setup-deps.sh installs it)"
  echo "SKIP: $* (bash scripts/setup-deps.sh)" >&2
  exit 77
}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

command -v redis-server >/dev/null 2>&1 || missing "redis-server missing"
command -v openssl >/dev/null 2>&1 || missing "openssl missing"
STUNNEL=$(command -v stunnel4 || command -v stunnel) || missing "stunnel (Debian: stunnel4) missing"
rm -rf "$work"
mkdir -p "$work"
t_all=$SECONDS

tls_make_ca "$work/tls" && tls_make_cert "$work/tls" redis && tls_make_cert "$work/tls" client ||
  die "cannot make the test certificates"
tls_make_ca "$work/other-ca" || die "cannot make a second CA"
PW=pw$(python3 -c 'import secrets; print(secrets.token_hex(12))')
TPORT=$(free_port)
LPORT=$(free_port)
while [ "$LPORT" = "$TPORT" ]; do LPORT=$(free_port); done
LPORT2=$(free_port)
while [ "$LPORT2" = "$TPORT" ] || [ "$LPORT2" = "$LPORT" ]; do LPORT2=$(free_port); done

# redis-server, TLS only
redis-server --bind 127.0.0.1 --port 0 --tls-port "$TPORT" \
  --tls-cert-file "$work/tls/redis.pem" --tls-key-file "$work/tls/redis.key" \
  --tls-ca-cert-file "$work/tls/ca.pem" --tls-auth-clients yes \
  --requirepass "$PW" --save '' --appendonly no --dir "$work" \
  >"$work/redis.log" 2>&1 &
RPID=$!
TLSCLI=(redis-cli --tls --cacert "$work/tls/ca.pem" --cert "$work/tls/client.pem"
  --key "$work/tls/client.key" -h 127.0.0.1 -p "$TPORT" --no-auth-warning -a "$PW")
for _ in $(seq 100); do
  [ "$(timeout 2 "${TLSCLI[@]}" ping 2>/dev/null)" = PONG ] && break
  kill -0 "$RPID" 2>/dev/null || break
  sleep 0.1
done
if ! kill -0 "$RPID" 2>/dev/null; then
  grep -qiE "tls.*(not|support)|unrecognized|Bad directive" "$work/redis.log" &&
    missing "this redis-server has no TLS built in: $(tail -2 "$work/redis.log")"
  die "redis-server with TLS did not start: $(tail -5 "$work/redis.log")"
fi
[ "$(timeout 2 "${TLSCLI[@]}" ping 2>/dev/null)" = PONG ] ||
  die "redis-server on TLS port $TPORT does not answer PING over TLS: $(tail -5 "$work/redis.log")"
echo "ok: redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), TLS only on 127.0.0.1:$TPORT"

# the server refuses plain RESP on its TLS port (and has no plain port)
plain=$(timeout 3 redis-cli -h 127.0.0.1 -p "$TPORT" --no-auth-warning -a "$PW" ping 2>&1)
[ "$plain" != PONG ] || fail "redis-server answered a plain PING on its TLS port"

# the tunnel: stunnel in client mode, foreground, logging to a file
cat >"$work/stunnel.conf" <<CONF
foreground = yes
pid =
debug = notice
[redis]
client = yes
accept = 127.0.0.1:$LPORT
connect = 127.0.0.1:$TPORT
CAfile = $work/tls/ca.pem
verifyChain = yes
checkHost = localhost
cert = $work/tls/client.pem
key = $work/tls/client.key
; the same server checked against a CA that did not sign it: refused
[redis-other-ca]
client = yes
accept = 127.0.0.1:$LPORT2
connect = 127.0.0.1:$TPORT
CAfile = $work/other-ca/ca.pem
verifyChain = yes
checkHost = localhost
cert = $work/tls/client.pem
key = $work/tls/client.key
CONF
"$STUNNEL" "$work/stunnel.conf" >"$work/stunnel.out" 2>&1 &
SPID=$!
for _ in $(seq 50); do
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$LPORT" 2>/dev/null && break
  kill -0 "$SPID" 2>/dev/null || die "stunnel exited: $(tail -5 "$work/stunnel.out")"
  sleep 0.1
done
[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$LPORT" --no-auth-warning -a "$PW" ping 2>&1)" = PONG ] ||
  die "no PONG through the tunnel on 127.0.0.1:$LPORT: $(tail -5 "$work/stunnel.out")"
grep -q "Certificate accepted at depth=0: CN=localhost" "$work/stunnel.out" ||
  fail "stunnel did not log the server certificate as verified: $(tail -5 "$work/stunnel.out")"
[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$LPORT2" --no-auth-warning -a "$PW" ping 2>&1)" != PONG ] ||
  fail "a tunnel verifying against another CA reached the server"
grep -q "certificate verify failed" "$work/stunnel.out" ||
  fail "the tunnel with another CA did not fail the verification: $(tail -5 "$work/stunnel.out")"
echo "ok: $("$STUNNEL" -version 2>&1 | grep -m1 -o 'stunnel [0-9.]*') tunnel 127.0.0.1:$LPORT -> TLS 127.0.0.1:$TPORT"

# ccpulse through the tunnel; the snapshot read back over TLS equals replay
t=$SECONDS
python3 "$root/tests/reference/gen_events.py" --events 2000 --seed 31 --out "$work/ev.jsonl" >/dev/null
N=$(grep -c . "$work/ev.jsonl")
"$BIN" run --mock --workers 1 --redis "redis://:$PW@127.0.0.1:$LPORT" --set redis.prefix=tls: \
  --set publish.interval=100ms "$work/ev.jsonl" >"$work/run.out" 2>"$work/run.err" &
RUNPID=$!
snap() { timeout 5 "${TLSCLI[@]}" --raw XREVRANGE tls:snapshots + - COUNT 1 2>/dev/null | sed -n 3p; }
got=0
for _ in $(seq 300); do
  got=$(snap | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["diagnostics"]["events"])
except Exception: print(0)')
  [ "$got" = "$N" ] && break
  kill -0 "$RUNPID" 2>/dev/null || break
  sleep 0.2
done
[ "$got" = "$N" ] || fail "through the tunnel: snapshot counts $got events, want $N (stderr: $(tail -3 "$work/run.err"))"
kill -TERM "$RUNPID" 2>/dev/null
for _ in $(seq 300); do kill -0 "$RUNPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RUNPID" 2>/dev/null && { fail "ccpulse run still running 30 s after SIGTERM"; kill -KILL "$RUNPID"; }
wait "$RUNPID"
rc=$?
RUNPID=
[ $rc -eq 0 ] || fail "ccpulse run: exit $rc after SIGTERM, want 0 (stderr: $(tail -3 "$work/run.err"))"
snap >"$work/tls.json"
"$BIN" replay "$work/ev.jsonl" >"$work/replay.json"
cmp -s "$work/tls.json" "$work/replay.json" || fail "through the tunnel: snapshot differs from replay"
echo "ok: ccpulse run -> tunnel -> TLS redis: $N events equal to replay ($((SECONDS - t))s)"

# rediss:// is refused at start-up, naming the way out, without the password
"$BIN" run --mock --redis "rediss://:$PW@127.0.0.1:$TPORT" "$work/ev.jsonl" >"$work/rediss.out" 2>"$work/rediss.err"
rc=$?
[ $rc -eq 2 ] || fail "rediss://: exit $rc, want 2"
grep -q "TLS (rediss://) is not supported directly: run a TLS tunnel" "$work/rediss.err" ||
  fail "rediss://: message does not explain: $(cat "$work/rediss.err")"
grep -q "docs/operations.md" "$work/rediss.err" || fail "rediss://: message does not point to docs/operations.md"
echo "ok: rediss:// refused at start-up with exit $rc"

for f in "$work"/*.out "$work"/*.err; do
  if grep -qF "$PW" "$f"; then fail "the Redis password appears in $(basename "$f")"; fi
done

if [ $fails -ne 0 ]; then
  echo "t_redis_tls: $fails failure(s); work files: $work" >&2
  exit 1
fi
echo "t_redis_tls: passed in $((SECONDS - t_all))s"
