#!/usr/bin/env bash
# labels: integration redis
#
# Kafka security end to end: a real single-node broker (scripts/kafka.sh
# start --sasl-ssl) with a SASL_SSL listener whose certificate is signed by a
# throwaway CA made here (scripts/lib/tls.sh, openssl), a SCRAM user created
# when the KRaft storage is formatted (kafka-storage --add-scram), and
# ccpulse configured only through the kafka.* pass-through keys
# (kafka.security.protocol, kafka.sasl.mechanisms, kafka.sasl.username,
# kafka.sasl.password, kafka.ssl.ca.location) in a config file:
#   0. `ccpulse version`: the librdkafka it runs with has ssl and sasl_scram
#      built in;
#   1. `ccpulse produce` over SASL_SSL (SCRAM-SHA-256) to a topic of 2
#      partitions, `ccpulse run` over SASL_SSL (SCRAM-SHA-512): the snapshot
#      in Redis equals `ccpulse replay --partitions 2` byte for byte;
#      SIGTERM exits 0;
#   2. a CA that did not sign the broker's certificate: produce fails
#      (exit 1) naming the certificate verification;
#   3. a wrong SCRAM password: produce fails (exit 1) naming the
#      authentication; `ccpulse run` logs "SASL authentication error ...
#      invalid credentials" within 15 s and stops by itself with exit 2
#      (the brokers refused the credentials before the first assignment);
#   4. neither password appears in any output of ccpulse.
# One broker start; bounded in time; broker and Redis are stopped on exit.
# Work files: <build-dir>/t_kafka_sasl/.
#
#   bash tests/t_kafka_sasl.sh <ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
. "$root/scripts/lib/tls.sh"

command -v openssl >/dev/null 2>&1 || {
  [ "${CI:-}" = true ] && die "openssl missing (bash scripts/setup-deps.sh)"
  skip "openssl missing (bash scripts/setup-deps.sh)"
}
PW=pw$(python3 -c 'import secrets; print(secrets.token_hex(12))')
BADPW=bad$(python3 -c 'import secrets; print(secrets.token_hex(12))')
USER_=ccp-sasl-test

# the CA and the broker's certificate, made before the broker starts
live_before_kafka() {
  tls_make_ca "$work/tls" && tls_make_cert "$work/tls" broker || return 1
  tls_make_ca "$work/other-ca" || return 1
  export KAFKA_SH_SCRAM_USER=$USER_ KAFKA_SH_SCRAM_PASSWORD=$PW
  LIVE_KAFKA_OPTS=(--sasl-ssl --tls-dir "$work/tls")
}
live_setup t_kafka_sasl "${1:?usage: t_kafka_sasl.sh <ccpulse-binary> <build-dir>}" \
  "${2:?usage: t_kafka_sasl.sh <ccpulse-binary> <build-dir>}"
SB=$(sed -n 's/^SASL_SSL_BOOTSTRAP=//p' <<<"$KAFKA_START_OUT")
[ -n "$SB" ] || die "kafka.sh start --sasl-ssl printed no SASL_SSL_BOOTSTRAP: $KAFKA_START_OUT"
openssl verify -CAfile "$work/tls/ca.pem" "$work/tls/broker.pem" >/dev/null ||
  die "the broker certificate is not signed by the test's CA"

# sasl_conf FILE PASSWORD CA MECHANISM: a ccpulse config of kafka.* keys only
sasl_conf() {
  cat >"$1" <<CONF
kafka.brokers = $SB
kafka.security.protocol = SASL_SSL
kafka.sasl.mechanisms = $4
kafka.sasl.username = $USER_
kafka.sasl.password = $2
kafka.ssl.ca.location = $3
CONF
}
sasl_conf "$work/good512.conf" "$PW" "$work/tls/ca.pem" SCRAM-SHA-512
sasl_conf "$work/good256.conf" "$PW" "$work/tls/ca.pem" SCRAM-SHA-256
sasl_conf "$work/badpw.conf" "$BADPW" "$work/tls/ca.pem" SCRAM-SHA-512
sasl_conf "$work/badca.conf" "$PW" "$work/other-ca/ca.pem" SCRAM-SHA-512

# 0. SSL and SCRAM built into the librdkafka ccpulse runs with
features=$("$BIN" version | sed -n 's/^librdkafka .*(builtin.features \(.*\))$/\1/p')
for f in ssl sasl_scram; do
  [[ ,$features, == *",$f,"* ]] || fail "librdkafka has no '$f' built in (builtin.features: '$features')"
done
echo "ok: librdkafka $("$BIN" version | sed -n 's/^librdkafka \([^ ]*\).*/\1/p') has ssl and sasl_scram"

# 1. produce and run over SASL_SSL; equal to replay
t=$SECONDS
python3 "$GEN" --events 2000 --seed 21 --out "$work/ev.jsonl" >/dev/null
N=$(grep -c . "$work/ev.jsonl")
topic sec 2 # over the PLAINTEXT listener (kafka.sh topic); ccpulse never uses it
n=$("$BIN" produce --config "$work/good256.conf" --topic sec "$work/ev.jsonl" 2>"$work/produce.err") ||
  fail "produce over SASL_SSL (SCRAM-SHA-256) failed: $(tail -3 "$work/produce.err")"
[ "$n" = "$N" ] || fail "produce over SASL_SSL delivered '$n' events, want $N"
B=$SB # start_run passes --brokers "$B": the SASL_SSL listener
start_run sec --config "$work/good512.conf" --topic sec --group g-sec \
  --set redis.prefix=sec: --workers 2
wait_events sec: "$N" 60 || fail "SASL_SSL: not every event published (stderr: $(tail -3 "$work/sec.err"))"
stop_run sec
"$BIN" replay --partitions 2 "$work/ev.jsonl" >"$work/sec.replay.json"
last_snapshot sec: >"$work/sec.json"
cmp -s "$work/sec.json" "$work/sec.replay.json" || fail "SASL_SSL: snapshot differs from replay --partitions 2"
echo "ok: produce (SCRAM-SHA-256) and run (SCRAM-SHA-512) over SASL_SSL, $N events equal to replay ($((SECONDS - t))s)"

# produce_refused NAME WHAT PATTERN: produce with NAME.conf must fail (exit 1,
# within librdkafka's message timeout) with PATTERN on stderr
produce_refused() {
  local rc t=$SECONDS
  timeout 60 "$BIN" produce --config "$work/$1.conf" --set kafka.message.timeout.ms=4000 \
    --topic sec "$work/ev.jsonl" >"$work/$1-produce.out" 2>"$work/$1-produce.err"
  rc=$?
  [ $rc -eq 1 ] || fail "$2: produce exit $rc, want 1"
  grep -qi "$3" "$work/$1-produce.err" || fail "$2: produce does not say '$3': $(tail -3 "$work/$1-produce.err")"
  echo "ok: $2: produce refused, exit $rc ($((SECONDS - t))s)"
}

# 2. a CA that did not sign the broker: refused
produce_refused badca "a CA that did not sign the broker" "certificate verify failed"

# 3. a wrong SCRAM password
produce_refused badpw "wrong SCRAM password" "SASL authentication error.*invalid credentials"
t=$SECONDS
start_run badpw --config "$work/badpw.conf" --topic sec --group g-badpw --set redis.prefix=bad:
said=0 exited=0 t2=$SECONDS
# up to 15 s; once the error is logged, 3 s more for a start-up check to stop it
for _ in $(seq 150); do
  grep -q "SASL authentication error.*invalid credentials" "$work/badpw.err" && said=1
  kill -0 "$RUNPID" 2>/dev/null || { exited=1; break; }
  [ $said = 1 ] && [ $((SECONDS - t2)) -ge 3 ] && break
  sleep 0.1
done
[ $exited = 1 ] || { stop_run badpw; fail "wrong password: run did not stop by itself within 3 s of the authentication error (said: $said)"; }
wait "$RUNPID"
rc=$?
RUNPID=
[ $rc -eq 2 ] || fail "wrong password: run exited by itself with $rc, want 2 (stderr: $(tail -3 "$work/badpw.err"))"
grep -q "refused ccpulse's credentials" "$work/badpw.err" || fail "wrong password: run's message does not name the credentials"
echo "ok: wrong SCRAM password: run stops by itself with exit 2 ($((SECONDS - t))s)"

# 4. no password in any output
for f in "$work"/*.out "$work"/*.err; do
  if grep -qF -e "$PW" -e "$BADPW" "$f"; then fail "a SCRAM password appears in $(basename "$f")"; fi
done

live_done t_kafka_sasl
