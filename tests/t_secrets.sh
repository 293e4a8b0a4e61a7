#!/usr/bin/env bash
# labels: kafka-mock redis
#
# Secrets never shown (docs/kpis.md §7): every path of ccpulse that handles
# the Redis password or a kafka.sasl.* / kafka.ssl.* value is provoked, all
# standard output and error is kept, and the test fails if the secret string
# appears anywhere in it or in the keys and values ccpulse wrote to Redis.
# A redis-server (scripts/redis.sh) on a free port gets `requirepass` and ACL
# users: `ccp` (all of ccpulse:*), `lim` (no ccpulse: keys), `nochan` (keys
# but no pub/sub channel). Cases, each with its exit status and message:
#   start-up refusals, exit 2: wrong password, unknown ACL user, no password
#   given (NOAUTH), NOPERM on our keys, NOPERM on the alerts channel, a bad
#   database, a rediss:// url (run and demo); an invalid kafka.ssl.* value;
#   a config file with a secret line twice or without '='; replay with the
#   url in --set and in an unknown --redis option;
#   run time: a debug-level run through the mock cluster with kafka.sasl.*
#   set and librdkafka's conf debug on; Redis's password changed under it
#   (auth failure after a reconnect: logged, retried with backoff, recovers);
#   an unreachable Redis with a password in the url and the final-publish
#   error after SIGTERM; an unreachable broker with kafka.sasl.password set.
# Usage: bash t_secrets.sh <ccpulse-binary> <build-dir>
set -u
BIN=${1:?usage: t_secrets.sh <ccpulse-binary> <build-dir>}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/ccp_secrets.XXXXXX")
RUNPID=
cleanup() {
  [ -n "$RUNPID" ] && kill -KILL "$RUNPID" 2>/dev/null
  bash "$ROOT/scripts/redis.sh" stop --dir "$T/redis" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

command -v redis-server >/dev/null || { echo "SKIP: redis-server missing (bash scripts/setup-deps.sh)"; exit 77; }
mkdir -p "$T/redis"
URL=$(bash "$ROOT/scripts/redis.sh" start --dir "$T/redis" | sed -n 's/^REDIS=//p')
PORT=${URL##*:}
[ -n "$PORT" ] || { echo "FAIL: cannot start redis-server" >&2; exit 1; }

S=s3cretQz9Pw    # every password and secret value below contains it
ADMIN="$S-admin"
R() { redis-cli -p "$PORT" --user default --pass "$ADMIN" --no-auth-warning "$@"; }
redis-cli -p "$PORT" CONFIG SET requirepass "$ADMIN" >/dev/null
R ACL SETUSER ccp on ">$S-ccp" '~ccpulse:*' '&ccpulse:*' '+@all' >/dev/null
R ACL SETUSER lim on ">$S-lim" '~other:*' '&*' '+@all' >/dev/null
R ACL SETUSER nochan on ">$S-nochan" '~ccpulse:*' resetchannels '+@all' >/dev/null
GOOD="redis://ccp:$S-ccp@127.0.0.1:$PORT"

python3 "$ROOT/tests/reference/gen_events.py" --events 300 --seed 3 --out "$T/ev.jsonl" >/dev/null

# expect NAME RC WORDS CMD...: runs CMD (20 s at most), its output in
# $T/NAME.out and .err; checks the exit status and that stderr has WORDS.
expect() {
  local name=$1 want=$2 words=$3
  shift 3
  timeout 20 "$@" >"$T/$name.out" 2>"$T/$name.err"
  local rc=$?
  [ $rc -eq "$want" ] || fail "$name: exit $rc, want $want: $(tail -2 "$T/$name.err")"
  [ -z "$words" ] || grep -q -- "$words" "$T/$name.err" || fail "$name: stderr lacks '$words': $(tail -2 "$T/$name.err")"
}

# 1. start-up refusals: a clear message, exit 2
expect wrongpw 2 "refused the credentials of user 'default'" \
  "$BIN" run --mock --redis "redis://:$S-wrong@127.0.0.1:$PORT" "$T/ev.jsonl"
expect nouser 2 "refused the credentials of user 'ghost'" \
  "$BIN" run --mock --redis "redis://ghost:$S-x@127.0.0.1:$PORT" "$T/ev.jsonl"
expect noauth 2 "requires authentication" "$BIN" run --mock --redis "redis://127.0.0.1:$PORT"
expect nokeys 2 "refuses user 'lim' MSET on 'ccpulse:v1:meta': NOPERM" \
  "$BIN" run --mock --redis "redis://lim:$S-lim@127.0.0.1:$PORT"
expect nochan 2 "refuses user 'nochan' PUBLISH on 'ccpulse:alerts': NOPERM" \
  "$BIN" run --mock --redis "redis://nochan:$S-nochan@127.0.0.1:$PORT"
expect baddb 2 "refused the database of the url" \
  "$BIN" run --mock --redis "redis://ccp:$S-ccp@127.0.0.1:$PORT/999"
expect rediss 2 "TLS (rediss://) is not supported directly" \
  "$BIN" run --mock --redis "rediss://ccp:$S-ccp@127.0.0.1:$PORT"
expect demo_wrongpw 2 "refused the credentials" \
  "$BIN" demo --duration 2s --redis "redis://:$S-wrong@127.0.0.1:$PORT"
expect demo_nokeys 2 "NOPERM" "$BIN" demo --duration 2s --redis "redis://lim:$S-lim@127.0.0.1:$PORT"
# an invalid kafka.ssl.* value: librdkafka quotes it, we do not
expect badssl 2 "kafka.ssl.endpoint.identification.algorithm" \
  "$BIN" run --mock --redis "$GOOD" --set "kafka.ssl.endpoint.identification.algorithm=$S"
expect badsslkey 2 "ssl" "$BIN" run --mock --redis "$GOOD" --set kafka.security.protocol=SSL \
  --set kafka.ssl.key.location=/nonexistent/key.pem --set "kafka.ssl.key.password=$S"
# config files: a secret line twice, a line without '='
printf 'kafka.sasl.password = %s-1\nkafka.sasl.password = %s-2\n' "$S" "$S" >"$T/dup.conf"
expect dupkey 2 "is set again (first on line 1)" "$BIN" run --mock --config "$T/dup.conf"
printf 'redis redis://:%s@127.0.0.1:%s\n' "$S" "$PORT" >"$T/noeq.conf"
expect noeq 2 "expected 'key = value'" "$BIN" run --mock --config "$T/noeq.conf"
# replay does not use Redis: a url given to it is never echoed
expect replay_set 0 "" "$BIN" replay --set "redis=redis://:$S@127.0.0.1:1" "$T/ev.jsonl"
expect replay_opt 2 "unknown option '--redis'" \
  "$BIN" replay "--redis=redis://:$S@127.0.0.1:$PORT" "$T/ev.jsonl"
CCPULSE_REDIS="redis://:$S@h:1" expect help 0 "" "$BIN" help config
expect help_run 0 "" "$BIN" run --help --redis "redis://:$S@h:1"

# 2. a working run at debug level with kafka.sasl.* set and librdkafka's
# configuration dump on; the password of `ccp` changes under it: the
# reconnect fails, is logged and retried, and recovers once it is back
"$BIN" run --mock --redis "$GOOD" --set publish.interval=50ms --set log.level=debug \
  --set kafka.debug=conf,generic --set "kafka.sasl.username=$S-user" \
  --set "kafka.sasl.password=$S-kafka" --set kafka.sasl.mechanism=PLAIN \
  --set 'alerts.rules=w: waiting all > 0 warn' "$T/ev.jsonl" >"$T/live.out" 2>"$T/live.err" &
RUNPID=$!
wait_for() { # wait_for SECONDS CMD...: true once CMD succeeds
  local end=$((SECONDS + $1))
  shift
  until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done
}
published() { [ "$(R --raw HGET ccpulse:v1:meta events 2>/dev/null)" = "$1" ]; }
N=$(grep -c . "$T/ev.jsonl")
wait_for 30 published "$N" || fail "live: the events never reached Redis: $(tail -3 "$T/live.err")"
R ACL SETUSER ccp resetpass ">$S-changed" >/dev/null
R CLIENT KILL USER ccp >/dev/null
auth_failed() { grep -q "WRONGPASS" "$T/live.err"; }
wait_for 10 auth_failed || fail "live: no auth failure logged after the password changed"
sleep 1.5 # a few retries with backoff
R ACL SETUSER ccp resetpass ">$S-ccp" >/dev/null
recovered() { grep -q "publishing to '127.0.0.1:$PORT' again" "$T/live.err"; }
wait_for 15 recovered || fail "live: no recovery after the password came back: $(tail -3 "$T/live.err")"
grep -q "retrying in" "$T/live.err" || fail "live: the auth failure is not retried with backoff"
retries=$(grep -c "WRONGPASS" "$T/live.err")
[ "$retries" -le 12 ] || fail "live: $retries auth-failure lines in ~2 s: not backed off / rate-limited"
kill -TERM "$RUNPID"
wait "$RUNPID"
rc=$?
RUNPID=
[ $rc -eq 0 ] || fail "live: exit $rc after SIGTERM, want 0: $(tail -3 "$T/live.err")"
grep -q "kafka.sasl.password=\*\*\*" "$T/live.err" || fail "live: start-up line lacks the masked kafka.sasl.password"
grep -q "redis=redis://\*\*\*@127.0.0.1:$PORT" "$T/live.err" || fail "live: start-up line lacks the redacted redis url"
# everything ccpulse wrote to Redis
R --scan --pattern 'ccpulse:*' >"$T/keys.txt"
while read -r k; do
  echo "== $k"
  case $(R TYPE "$k") in
    string) R --raw GET "$k" ;;
    hash) R --raw HGETALL "$k" ;;
    stream) R --raw XRANGE "$k" - + ;;
    zset) R --raw ZRANGE "$k" 0 -1 WITHSCORES ;;
    *) R --raw DUMP "$k" ;;
  esac
done <"$T/keys.txt" >"$T/redis_dump.txt"
[ -s "$T/keys.txt" ] || fail "live: nothing in Redis to check"

# 3. Redis unreachable, a password in the url: retried, then the final
# publish fails after SIGTERM (exit 1) naming the redacted url
"$BIN" run --mock --redis "redis://:$S@127.0.0.1:1" --set publish.interval=50ms "$T/ev.jsonl" \
  >"$T/down.out" 2>"$T/down.err" &
RUNPID=$!
sleep 2
kill -TERM "$RUNPID"
wait "$RUNPID"
rc=$?
RUNPID=
[ $rc -eq 1 ] || fail "down: exit $rc, want 1"
grep -q "the final publish to 'redis://\*\*\*@127.0.0.1:1' failed" "$T/down.err" ||
  fail "down: no final-publish error with the redacted url: $(tail -2 "$T/down.err")"

# 4. a broker that cannot be reached, kafka.sasl.password set
"$BIN" run --brokers 127.0.0.1:1 --redis "$GOOD" --set kafka.security.protocol=SASL_PLAINTEXT \
  --set kafka.sasl.mechanism=PLAIN --set "kafka.sasl.username=$S-u" \
  --set "kafka.sasl.password=$S-kafka" --set checkpoint.interval=off >"$T/nobroker.out" \
  2>"$T/nobroker.err" &
RUNPID=$!
sleep 2
kill -KILL "$RUNPID" # its errors are out; closing a consumer without a broker takes 10 s
wait "$RUNPID" 2>/dev/null
RUNPID=
grep -q "127.0.0.1:1" "$T/nobroker.err" || fail "nobroker: no broker error logged"

# the secret, anywhere
if grep -l -- "$S" "$T"/*.out "$T"/*.err "$T/redis_dump.txt" "$T/keys.txt" >"$T/leaks" 2>/dev/null; then
  while read -r f; do
    fail "the secret appears in $(basename "$f"): $(grep -m2 -o -- ".\{0,60\}$S.\{0,20\}" "$f" | head -2)"
  done <"$T/leaks"
fi

if [ $fails -ne 0 ]; then
  echo "t_secrets: $fails failure(s)" >&2
  exit 1
fi
echo "t_secrets: ok ($(ls "$T"/*.err | wc -l) commands, $(wc -l <"$T/keys.txt") redis keys checked)"
