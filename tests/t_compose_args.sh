#!/usr/bin/env bash
# labels: integration redis
# The commands of docker/docker-compose.yml, run as written against the
# locally built binary, a local broker (scripts/kafka.sh) and a local Redis
# (scripts/redis.sh), so that the compose file cannot rot unnoticed. Only
# addresses are replaced: kafka:9092 -> the local broker, redis:6379 -> the
# local Redis, 0.0.0.0:9464 -> 127.0.0.1:<free port>, and /opt/kafka/bin/X.sh
# (the broker image's tools) -> scripts/kafka.sh tool X. In order:
#   1. kafka-init's entrypoint and command (sh -c): creates the topics, exit 0;
#      the events topic has the partitions it asks for;
#   2. ccpulse's command (`ccpulse run ...`) with its environment, in the
#      background;
#   3. gen's command (`ccpulse gen ... --rate 200`) for a few seconds;
#   4. KPI tiles appear in Redis and meta counts the events; when the binary
#      has the `http.listen` key (ccpulse help config), /healthz answers 200
#      and /metrics names ccpulse_events_total on the port the command sets
#      (a binary without the key gets the command without that --set pair,
#      said in the output); the image's HEALTHCHECK URL is the one run
#      serves by default;
#   5. SIGTERM: run exits 0.
# Usage: bash t_compose_args.sh <path-to-ccpulse-binary> <build-dir>
set -uo pipefail
. "$(dirname "$0")/live_kafka_lib.sh"
compose=$root/docker/docker-compose.yml

py=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then py=$p; break; fi
done
if [ -z "$py" ]; then
  [ "${CI:-}" = true ] && die "PyYAML missing (python3-yaml, scripts/setup-deps.sh)"
  skip "PyYAML missing (python3-yaml: bash scripts/setup-deps.sh)"
fi
command -v curl >/dev/null 2>&1 || { [ "${CI:-}" = true ] && die "curl missing"; skip "curl missing"; }

live_setup compose_args "$1" "$2"
GENPID=
trap '[ -n "$GENPID" ] && kill -KILL "$GENPID" 2>/dev/null; cleanup' EXIT
HPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/bin"
for t in topics console-producer console-consumer consumer-groups; do
  printf '#!/bin/sh\nexec bash "%s/scripts/kafka.sh" tool %s "$@"\n' "$root" "$t" >"$work/bin/kafka-$t.sh"
  chmod +x "$work/bin/kafka-$t.sh"
done

# services -> $work/<service>.argv (entrypoint + command, NUL-separated, the
# addresses replaced) and $work/<service>.env (KEY=VALUE lines)
"$py" - "$compose" "$work" "$B" "127.0.0.1:$RPORT" "127.0.0.1:$HPORT" "$work/bin/" <<'PY' || die "cannot read the compose file"
import os, sys, yaml
path, work, broker, redis, http, tools = sys.argv[1:7]
svc = yaml.safe_load(open(path))["services"]
subst = [("kafka:9092", broker), ("redis:6379", redis), ("0.0.0.0:9464", http), ("/opt/kafka/bin/", tools)]
def words(v):
    return [] if v is None else ([str(w) for w in v] if isinstance(v, list) else [str(v)])
for name in ("kafka-init", "ccpulse", "gen"):
    s = svc[name]
    argv = words(s.get("entrypoint")) + words(s.get("command"))
    out = []
    for w in argv:
        for a, b in subst:
            w = w.replace(a, b)
        out.append(w)
    with open(os.path.join(work, name + ".argv"), "wb") as f:
        f.write(b"".join(w.encode() + b"\0" for w in out))
    env = s.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    with open(os.path.join(work, name + ".env"), "w") as f:
        for k, v in env.items():
            f.write("%s=%s\n" % (k, v))
PY
readarray -d '' init <"$work/kafka-init.argv"
readarray -d '' runargs <"$work/ccpulse.argv"
readarray -d '' genargs <"$work/gen.argv"
readarray -t runenv <"$work/ccpulse.env"
readarray -t genenv <"$work/gen.env"

# 1. topic creation, exactly as kafka-init runs it
[ "${init[0]}" = /bin/sh ] || fail "kafka-init's entrypoint is '${init[0]}', this test runs /bin/sh scripts"
echo "kafka-init: ${init[*]}"
if timeout 180 "${init[@]}" >"$work/init.out" 2>&1; then
  echo "  topics created ($((SECONDS - t_all))s)"
else
  cat "$work/init.out"
  die "kafka-init's command failed"
fi
topic_name=$(printf '%s\n' "${runargs[@]}" | sed -n '/^--topic$/{n;p;q}')
[ -n "$topic_name" ] || die "ccpulse's command names no --topic"
want_parts=$(grep -oE -- "--topic $topic_name --partitions [0-9]+" <<<"${init[*]}" | awk '{print $4}')
got_parts=$(kafka topic describe "$topic_name" --bootstrap "$B" --dir "$kdir" 2>/dev/null | grep -c 'Partition: ')
[ -n "$want_parts" ] && [ "$got_parts" = "$want_parts" ] ||
  fail "topic '$topic_name' has $got_parts partition(s), kafka-init asks for '${want_parts:-?}'"
kafka topic list --bootstrap "$B" --dir "$kdir" 2>/dev/null | grep -qx "$topic_name.dlq" ||
  fail "kafka-init did not create the dead-letter topic $topic_name.dlq"

# 2. ccpulse run, exactly as the ccpulse service runs it
[ "${runargs[0]}" = run ] || die "the ccpulse service's command is not 'run ...': ${runargs[*]}"
http=0
if "$BIN" help config | grep -q '^  http\.listen '; then
  http=1
else
  # this binary predates the HTTP endpoint: the same command without the key
  echo "note: this ccpulse has no http.listen key; running the command without its --set http.listen pair"
  keep=()
  for ((i = 0; i < ${#runargs[@]}; i++)); do
    if [ "${runargs[i]}" = --set ] && [[ ${runargs[i + 1]:-} == http.listen=* ]]; then i=$((i + 1)); continue; fi
    keep+=("${runargs[i]}")
  done
  runargs=("${keep[@]}")
fi
echo "ccpulse: ${runargs[*]}"
env "${runenv[@]}" "$BIN" "${runargs[@]}" >"$work/run.out" 2>"$work/run.err" &
RUNPID=$!

# 3. the generator, exactly as the gen service runs it, for a few seconds
[ "${genargs[0]}" = gen ] || die "the gen service's command is not 'gen ...': ${genargs[*]}"
echo "gen: ${genargs[*]}"
env "${genenv[@]}" "$BIN" "${genargs[@]}" >"$work/gen.out" 2>"$work/gen.err" &
GENPID=$!

# 4. tiles in Redis; the HTTP endpoint when the binary has it
prefix=ccpulse:
events=0 scopes=
for _ in $(seq 600); do # 60 s at most; the scope set follows in the same cycle
  events=$(timeout 5 $R --raw HGET "${prefix}v1:meta" events 2>/dev/null)
  scopes=$(timeout 5 $R --raw ZRANGE "${prefix}v1:scope_set" 0 -1 2>/dev/null)
  [ -n "$events" ] && [ "$events" -ge 200 ] && grep -q '^queue:' <<<"$scopes" && break
  kill -0 "$RUNPID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$GENPID" 2>/dev/null || fail "gen exited early: $(tail -3 "$work/gen.err")"
kill -TERM "$GENPID" 2>/dev/null
wait "$GENPID" 2>/dev/null
GENPID=
kill -0 "$RUNPID" 2>/dev/null || die "ccpulse run exited: $(tail -5 "$work/run.err")"
[ -n "$events" ] && [ "$events" -ge 200 ] || fail "meta counts ${events:-no} events after 60 s, want >= 200"
tile=$(timeout 5 $R --raw GET "${prefix}v1:kpi:all:1m" 2>/dev/null)
opened=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1] or "{}").get("opened", 0))' "$tile" 2>/dev/null || echo 0)
[ "${opened:-0}" -gt 0 ] || fail "tile ${prefix}v1:kpi:all:1m counts no opened ticket: '$tile'"
grep -q '^queue:' <<<"$scopes" || fail "no queue scope in ${prefix}v1:scope_set: '$scopes'"
echo "  Redis: meta.events=$events, all/1m opened=$opened, $(grep -c . <<<"$scopes") scopes ($((SECONDS - t_all))s)"

if [ $http -eq 1 ]; then
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/healthz")
  [ "$code" = 200 ] || fail "GET /healthz on the compose command's port answered '$code', want 200"
  curl -s "http://127.0.0.1:$HPORT/metrics" | grep -q '^ccpulse_events_total' ||
    fail "GET /metrics names no ccpulse_events_total"
  # the image's HEALTHCHECK asks the default http.listen: the same endpoint
  hc=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/healthz' "$root/docker/Dockerfile" | head -1)
  [ "$hc" = "http://127.0.0.1:9464/healthz" ] || fail "the image's HEALTHCHECK asks '$hc'"
  "$BIN" help config | grep -A1 '^  http\.listen ' | grep -q 'default 127\.0\.0\.1:9464' ||
    fail "http.listen's default is not 127.0.0.1:9464, which the image's HEALTHCHECK asks"
  echo "  HTTP: /healthz 200, /metrics has ccpulse_events_total"
fi

# 5. a clean stop
stop_run run
live_done compose_args
