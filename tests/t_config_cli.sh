#!/usr/bin/env bash
# labels: unit
#
# Configuration through the binary (docs/configuration.md): kafka.* from the
# environment (CCPULSE_KAFKA_<PROPERTY>) and conflicts between flags and
# kafka.* keys, each refused at start-up with exit 2 and a message naming
# both places, before anything connects:
#   1. --group X with kafka.group.id=Y in a file: exit 2, both named;
#   2. --brokers with CCPULSE_KAFKA_BOOTSTRAP_SERVERS of another value: exit
#      2, the variable named; the same value passes the check;
#   3. CCPULSE_KAFKA_LOG_LEVEL (log.level, unknown to librdkafka): exit 2,
#      the variable and the '__' rule named;
#   4. kafka.enable.auto.commit=true: exit 2, the key and its origin named;
#   5. a password from schema.registry.basic.auth.user.info that is refused
#      never appears in the message.
# Usage: bash t_config_cli.sh <ccpulse-binary> <build-dir>
set -u
BIN=${1:?usage: t_config_cli.sh <ccpulse-binary> <build-dir>}
T=$(mktemp -d "${TMPDIR:-/tmp}/ccp_config_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# run_rc EXPECTED NAME CMD...: runs CMD (10 s at most), checks its exit status
run_rc() {
  local want=$1 name=$2
  shift 2
  timeout 10 "$@" >"$T/$name.out" 2>"$T/$name.err"
  local rc=$?
  [ "$rc" -eq "$want" ] || fail "$name: exit $rc, want $want: $(cat "$T/$name.err")"
}
# Redis on a port nothing listens on: every case must stop before any use.
R=redis://127.0.0.1:1

printf 'kafka.group.id = Y\n' >"$T/g.conf"
run_rc 2 group "$BIN" run --config "$T/g.conf" --group X --redis $R
grep -q "'kafka.group' = 'X' (--group) and 'kafka.group.id' = 'Y' ($T/g.conf:1)" "$T/group.err" ||
  fail "group: message does not name both: $(cat "$T/group.err")"

CCPULSE_KAFKA_BOOTSTRAP_SERVERS=k2:9092 run_rc 2 brokers "$BIN" run --brokers k1:9092 --redis $R
grep -q "'kafka.brokers' = 'k1:9092' (--brokers) and 'kafka.bootstrap.servers' = 'k2:9092' (environment CCPULSE_KAFKA_BOOTSTRAP_SERVERS)" \
  "$T/brokers.err" || fail "brokers: message does not name both: $(cat "$T/brokers.err")"
# equal values are no conflict: replay loads the same configuration and runs
printf '{"event_id":"e1","ticket_id":"t1","type":"OPENED","ts":1795347000000,"channel":"CHAT","queue":"q","customer_id":"c1"}\n' >"$T/ev.jsonl"
CCPULSE_KAFKA_BOOTSTRAP_SERVERS=k1:9092 run_rc 0 same "$BIN" replay --set kafka.brokers=k1:9092 "$T/ev.jsonl"
CCPULSE_KAFKA_GROUP_ID=Y run_rc 2 replay_conflict "$BIN" replay --set kafka.group=X "$T/ev.jsonl"

CCPULSE_KAFKA_LOG_LEVEL=3 run_rc 2 underscore "$BIN" run --mock --redis $R
grep -q "environment CCPULSE_KAFKA_LOG_LEVEL: config key 'kafka.log.level'.*'__' for '_'" "$T/underscore.err" ||
  fail "underscore: message does not name the variable and the rule: $(cat "$T/underscore.err")"

run_rc 2 forced "$BIN" run --mock --redis $R --set kafka.enable.auto.commit=true
grep -q "\-\-set: config key 'kafka.enable.auto.commit'" "$T/forced.err" ||
  fail "forced: message does not name the key and its origin: $(cat "$T/forced.err")"

CCPULSE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=hunter2 run_rc 2 userinfo "$BIN" replay "$T/ev.jsonl"
grep -q "CCPULSE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: config key 'schema.registry.basic.auth.user.info': expected user:password" \
  "$T/userinfo.err" || fail "userinfo: unexpected message: $(cat "$T/userinfo.err")"
grep -q hunter2 "$T/userinfo.err" && fail "userinfo: the secret is in the message"

if [ $fails -ne 0 ]; then
  echo "t_config_cli: $fails failure(s)" >&2
  exit 1
fi
echo "t_config_cli: ok"
