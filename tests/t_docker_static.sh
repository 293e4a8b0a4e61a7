#!/usr/bin/env bash
# labels: unit
# Static checks of docker/ (no Docker engine needed):
#   - every COPY source of docker/Dockerfile exists in the repository;
#   - both stages are debian:bookworm-slim and the entrypoint is ccpulse;
#   - every package the Dockerfile installs exists in Debian (apt-cache show;
#     skipped when apt-cache or bookworm package lists are not available);
#   - docker/docker-compose.yml parses (PyYAML, else a structural grep) and
#     has the kafka (apache/kafka, KRaft), redis and ccpulse services.
# Usage: bash t_docker_static.sh <path-to-ccpulse-binary> <build-dir> (both unused)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dockerfile=$root/docker/Dockerfile
compose=$root/docker/docker-compose.yml
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

[ -f "$dockerfile" ] || { echo "FAIL: $dockerfile missing"; exit 1; }
[ -f "$compose" ] || { echo "FAIL: $compose missing"; exit 1; }

# The Dockerfile with continuation lines joined and comments dropped.
joined=$(sed -e '/^[[:space:]]*#/d' "$dockerfile" | sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba' -e '}')

# COPY sources, relative to the build context (the repository root).
ncopy=0
while read -r -a words; do
  [ "${words[0]:-}" = "COPY" ] || continue
  args=()
  from=0
  for w in "${words[@]:1}"; do
    case $w in
      --from=*) from=1 ;;
      --*) ;;
      *) args+=("$w") ;;
    esac
  done
  [ $from -eq 1 ] && continue
  if [ ${#args[@]} -lt 2 ]; then
    fail "COPY needs a source and a destination: ${words[*]}"
    continue
  fi
  for src in "${args[@]:0:${#args[@]}-1}"; do
    ncopy=$((ncopy + 1))
    if compgen -G "$root/$src" >/dev/null; then ok "COPY source '$src' exists"; else fail "COPY source '$src' not found in the repository"; fi
  done
done <<<"$joined"
[ $ncopy -gt 0 ] || fail "no COPY from the build context found"

# Base images and entrypoint.
froms=$(grep -E '^FROM ' <<<"$joined" | awk '{print $2}' | sort -u)
if [ "$froms" = "debian:bookworm-slim" ]; then ok "every stage is debian:bookworm-slim"; else fail "unexpected base images: $froms"; fi
if grep -qE '^ENTRYPOINT \["ccpulse"\]' <<<"$joined"; then ok "ENTRYPOINT is ccpulse"; else fail "ENTRYPOINT [\"ccpulse\"] missing"; fi
if grep -qE 'COPY --from=[a-z]+ /src/build/ccpulse ' <<<"$joined"; then ok "runtime stage copies the built binary"; else fail "runtime stage does not copy build/ccpulse"; fi

# Packages installed by apt-get install lines.
pkgs=$(grep -oE 'apt-get install[^&]*' <<<"$joined" | sed 's/apt-get install//' | tr ' ' '\n' | grep -vE '^(-.*|)$' | sort -u)
for need in librdkafka-dev libavro-dev libhiredis-dev libjansson-dev libmicrohttpd-dev librdkafka1 libavro23 libhiredis0.14 libjansson4 libmicrohttpd12 tzdata; do
  grep -qx "$need" <<<"$pkgs" || fail "package $need is not installed by the Dockerfile"
done
codename=$( (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true)
if ! command -v apt-cache >/dev/null 2>&1; then
  echo "skip: apt-cache not available; package names not checked"
elif [ "$codename" != "bookworm" ]; then
  echo "skip: host is '${codename:-unknown}', not bookworm; package names not checked"
elif ! apt-cache show dpkg >/dev/null 2>&1; then
  echo "skip: apt package lists are empty (run apt-get update); package names not checked"
else
  for p in $pkgs; do
    if apt-cache show "$p" >/dev/null 2>&1; then ok "package $p exists in Debian"; else fail "package $p not found by apt-cache"; fi
  done
fi

# The compose file.
py=$(command -v python3 || true)
if [ -n "$py" ] && "$py" -c 'import yaml' 2>/dev/null; then
  if "$py" - "$compose" "$root" <<'PY'
import os, sys, yaml
path, root = sys.argv[1], sys.argv[2]
doc = yaml.safe_load(open(path))
errs = []
svc = doc.get("services") or {}
for name in ("kafka", "redis", "ccpulse"):
    if name not in svc:
        errs.append("service %s missing" % name)
k = svc.get("kafka") or {}
if not str(k.get("image", "")).startswith("apache/kafka:"):
    errs.append("kafka image is not apache/kafka")
env = k.get("environment") or {}
if "broker" not in str(env.get("KAFKA_PROCESS_ROLES", "")) or "controller" not in str(env.get("KAFKA_PROCESS_ROLES", "")):
    errs.append("kafka is not in KRaft broker,controller mode")
c = svc.get("ccpulse") or {}
b = c.get("build") or {}
ctx = os.path.normpath(os.path.join(os.path.dirname(path), b.get("context", ".")))
df = os.path.join(ctx, b.get("dockerfile", "Dockerfile"))
if not os.path.isfile(df):
    errs.append("ccpulse build dockerfile %s not found" % df)
for dep in ("kafka", "redis"):
    if dep not in (c.get("depends_on") or {}):
        errs.append("ccpulse does not depend on %s" % dep)
for e in errs:
    print("FAIL: compose: " + e)
sys.exit(1 if errs else 0)
PY
  then ok "compose file parses (PyYAML) with kafka, redis and ccpulse"; else fail "compose file checks (PyYAML)"; fi
else
  echo "note: PyYAML not available; structural check of the compose file only"
  if grep -qP '\t' "$compose"; then fail "compose file contains tabs"; fi
  grep -q '^services:$' "$compose" || fail "compose: no top-level services:"
  for s in kafka redis ccpulse; do grep -q "^  $s:$" "$compose" || fail "compose: service $s missing"; done
  grep -q 'image: apache/kafka:' "$compose" || fail "compose: kafka image is not apache/kafka"
  grep -q 'KAFKA_PROCESS_ROLES: broker,controller' "$compose" || fail "compose: kafka is not in KRaft mode"
  grep -q 'dockerfile: docker/Dockerfile' "$compose" || fail "compose: ccpulse is not built from docker/Dockerfile"
  [ $fails -eq 0 ] && ok "compose file structure"
fi

# The Grafana dashboard: valid JSON, and every metric its queries use is one
# that /metrics writes (src/http/metrics.c), so a renamed metric fails here.
dash=$root/docker/grafana/ccpulse-dashboard.json
if python3 - "$dash" "$root/src/http/metrics.c" <<'PY'; then ok "grafana dashboard parses and uses only metrics ccpulse writes"; else fail "grafana dashboard ($dash)"; fi
import json, re, sys
d = json.load(open(sys.argv[1]))
src = open(sys.argv[2]).read()
written = set(re.findall(r'"((?:ccpulse|process)_[a-z_]+)', src))
exprs = [t["expr"] for p in d["panels"] for t in p["targets"]]
assert d["panels"] and all(p.get("title") for p in d["panels"]), "panels without titles"
used = set(re.findall(r"\b((?:ccpulse|process)_[a-z_]+)", " ".join(exprs)))
hist = {n[: -len(s)] for n in used for s in ("_bucket", "_sum", "_count") if n.endswith(s)}
missing = {n for n in used if n not in written and not any(n.startswith(h + "_") for h in hist & written)}
assert not missing, "metrics not written by ccpulse: %s" % sorted(missing)
for need in ("ccpulse_events_total", "ccpulse_consumer_lag", "ccpulse_publish_duration_seconds_bucket"):
    assert need in used, need + " not on the dashboard"
PY

if [ $fails -gt 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all docker checks passed"
