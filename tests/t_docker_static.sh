#!/usr/bin/env bash
# labels: unit
# Static checks of docker/ (no Docker engine needed):
#   - every COPY source of docker/Dockerfile exists and is not left out of the
#     build context by .dockerignore; build*/ and .git are left out;
#   - both stages are one pinned Debian point release (debian:12.N-slim), the
#     runtime copies the tree `cmake --install` staged, runs as nobody, has
#     ENTRYPOINT ccpulse, ca-certificates, and a HEALTHCHECK on /healthz with
#     a client (curl) it installs;
#   - the runtime stage installs the package of every shared library the
#     locally built binary needs directly (readelf NEEDED -> ldd -> dpkg -S),
#     the builder the -dev package of every pkg-config module CMakeLists.txt
#     requires (its .pc file -> dpkg -S): a new dependency cannot be missed;
#   - every package named exists in Debian (apt-cache; skipped when the host
#     is not bookworm or has no package lists);
#   - docker/docker-compose.yml: the services kafka (apache/kafka, KRaft, the
#     version of scripts/kafka.sh), kafka-init, redis, ccpulse and gen; every
#     image pinned to a version; the ccpulse image tagged with the project
#     version; ports published on 127.0.0.1 only; ccpulse publishes the HTTP
#     port it listens on, gen has no health check; Redis URLs are URLs;
#   - no "being written" / "not working yet" text is left in docker/.
# The commands of the compose file are run for real by t_compose_args.sh.
# Usage: bash t_docker_static.sh <path-to-ccpulse-binary> <build-dir>
set -euo pipefail
BIN=$1
root=$(cd "$(dirname "$0")/.." && pwd)
dockerfile=$root/docker/Dockerfile
compose=$root/docker/docker-compose.yml
ignore=$root/.dockerignore
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

for f in "$dockerfile" "$compose" "$ignore" "$root/docker/README.md"; do
  [ -f "$f" ] || { echo "FAIL: $f missing"; exit 1; }
done
version=$(sed -n 's/^project(ccpulse VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
kafka_version=$(sed -n 's/^version=\${CCPULSE_KAFKA_VERSION:-\([0-9.]*\)}$/\1/p' "$root/scripts/kafka.sh")
[ -n "$version" ] && [ -n "$kafka_version" ] || { echo "FAIL: cannot read the project or Kafka version"; exit 1; }

# The Dockerfile with continuation lines joined and comments dropped.
joined=$(sed -e '/^[[:space:]]*#/d' "$dockerfile" | sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba' -e '}')
# The stages: stage N's lines are those after the N-th FROM.
stage() { awk -v n="$1" '/^FROM / { s++ } s == n' <<<"$joined"; }
nstages=$(grep -c '^FROM ' <<<"$joined")
[ "$nstages" -eq 2 ] || fail "expected 2 stages (builder, runtime), found $nstages"
builder=$(stage 1)
runtime=$(stage "$nstages")

# .dockerignore patterns (no negations used)
ignored() { # ignored PATH: true when a pattern of .dockerignore matches PATH or a parent
  local pat p=$1
  while read -r pat; do
    pat=${pat%/}
    [ -z "$pat" ] && continue
    case $pat in \#*) continue ;; esac
    while [ -n "$p" ]; do
      # shellcheck disable=SC2053
      [[ $p == $pat ]] && return 0
      [[ $p == */* ]] || break
      p=${p%/*}
    done
    p=$1
  done <"$ignore"
  return 1
}
for must in .git build build-asan/x; do
  ignored "$must" || fail ".dockerignore does not leave out '$must'"
done

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
    src=${src%/}
    if ! compgen -G "$root/$src" >/dev/null; then
      fail "COPY source '$src' not found in the repository"
    elif ignored "$src"; then
      fail "COPY source '$src' is left out of the build context by .dockerignore"
    fi
  done
done <<<"$joined"
[ $ncopy -gt 0 ] && ok "$ncopy COPY sources exist and are in the build context" || fail "no COPY from the build context found"

# Base images, install, runtime user, entrypoint, health check.
froms=$(grep -E '^FROM ' <<<"$joined" | awk '{print $2}' | sort -u)
if [ "$(wc -l <<<"$froms")" -eq 1 ] && grep -qE '^debian:12\.[0-9]+-slim$' <<<"$froms"; then
  ok "every stage is $froms (a pinned point release)"
else
  fail "stages must share one pinned debian:12.N-slim image, found: $(echo $froms)"
fi
grep -qE 'cmake --install build .*--prefix /usr/local' <<<"$builder" || fail "builder does not stage 'cmake --install build --prefix /usr/local'"
grep -qE '^COPY --from=build /staging/usr/local/? /usr/local/?$' <<<"$runtime" || fail "runtime does not copy the staged install tree"
grep -qE '^USER nobody$' <<<"$runtime" || fail "runtime does not run as nobody"
grep -qE '^ENTRYPOINT \["ccpulse"\]$' <<<"$runtime" || fail "ENTRYPOINT [\"ccpulse\"] missing"
hc=$(grep -E '^HEALTHCHECK ' <<<"$runtime" || true)
if [ -n "$hc" ] && grep -q 'CMD curl .*http://127\.0\.0\.1:9464/healthz' <<<"$hc"; then
  ok "HEALTHCHECK: curl on http://127.0.0.1:9464/healthz (the default http.listen)"
else
  fail "no HEALTHCHECK curl-ing http://127.0.0.1:9464/healthz in the runtime stage"
fi

# Packages installed by the apt-get install lines of a stage.
pkgs_of() { grep -oE 'apt-get install[^&]*' <<<"$1" | sed 's/apt-get install//' | tr ' ' '\n' | grep -vE '^(-.*|)$' | sort -u; }
bpkgs=$(pkgs_of "$builder")
rpkgs=$(pkgs_of "$runtime")
for need in cmake ninja-build pkg-config zlib1g-dev; do grep -qx "$need" <<<"$bpkgs" || fail "builder does not install $need"; done
for need in ca-certificates tzdata curl; do grep -qx "$need" <<<"$rpkgs" || fail "runtime does not install $need"; done

# The package owning a file, trying the /lib <-> /usr/lib aliases of usrmerge.
owner() {
  local f=$1 r c
  r=$(readlink -f "$f" 2>/dev/null || echo "$f")
  for c in "$f" "/usr$f" "${f#/usr}" "$r" "/usr$r" "${r#/usr}"; do
    if out=$(dpkg -S "$c" 2>/dev/null); then
      sed -n '1s/^\([^:,]*\).*/\1/p' <<<"$out"
      return 0
    fi
  done
  return 1
}
if ! command -v dpkg >/dev/null 2>&1 || ! command -v readelf >/dev/null 2>&1 || ! command -v ldd >/dev/null 2>&1; then
  echo "note: dpkg, readelf or ldd missing: library packages not checked against the binary"
else
  nlib=0
  for so in $(readelf -d "$BIN" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
    path=$(ldd "$BIN" | awk -v so="$so" '$1 == so { print $3 }')
    [ -n "$path" ] || { fail "ldd does not resolve $so"; continue; }
    pkg=$(owner "$path") || { fail "no Debian package owns $path ($so)"; continue; }
    case $pkg in libc6 | libgcc-s1 | libasan* | libubsan* | libtsan*) continue ;; esac # base image, or a sanitizer build
    nlib=$((nlib + 1))
    grep -qx "$pkg" <<<"$rpkgs" || fail "ccpulse needs $so ($pkg), which the runtime stage does not install"
  done
  ok "runtime stage installs the packages of the $nlib libraries ccpulse links"
  ndev=0
  for mod in $(sed -n 's/^ *pkg_check_modules([A-Za-z_]* REQUIRED IMPORTED_TARGET \([^ )]*\)).*/\1/p' "$root/CMakeLists.txt"); do
    pc=$(pkg-config --variable=pcfiledir "$mod" 2>/dev/null)/$mod.pc
    pkg=$(owner "$pc") || { fail "no Debian package owns $pc (pkg-config module $mod)"; continue; }
    ndev=$((ndev + 1))
    grep -qx "$pkg" <<<"$bpkgs" || fail "CMakeLists.txt needs pkg-config module $mod ($pkg), which the builder does not install"
  done
  [ $ndev -gt 0 ] && ok "builder installs the -dev packages of the $ndev pkg-config modules" || fail "no pkg_check_modules found in CMakeLists.txt"
fi

codename=$( (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true)
if ! command -v apt-cache >/dev/null 2>&1; then
  echo "skip: apt-cache not available; package names not checked"
elif [ "$codename" != "bookworm" ]; then
  echo "skip: host is '${codename:-unknown}', not bookworm; package names not checked"
elif ! apt-cache show dpkg >/dev/null 2>&1; then
  echo "skip: apt package lists are empty (run apt-get update); package names not checked"
else
  all=$(printf '%s\n' $bpkgs $rpkgs | sort -u)
  # one apt-cache call for all (a second each): the names it shows are those that exist
  found=$(apt-cache show --no-all-versions $all 2>/dev/null | sed -n 's/^Package: //p' | sort -u)
  absent=$(comm -23 <(echo "$all") <(echo "$found"))
  for p in $absent; do fail "package $p not found by apt-cache"; done
  [ -z "$absent" ] && ok "the $(wc -w <<<"$all") packages named exist in Debian"
fi

# No stale text.
if grep -rniE 'being written|not working yet|still in progress' "$root/docker" "$ignore"; then
  fail "stale 'not working yet' text in docker/"
fi

# The compose file.
py=$(command -v python3 || true)
if [ -n "$py" ] && "$py" -c 'import yaml' 2>/dev/null; then
  if "$py" - "$compose" "$version" "$kafka_version" <<'PY'; then
import os, re, sys, yaml
path, version, kafka_version = sys.argv[1:4]
doc = yaml.safe_load(open(path))
errs = []
svc = doc.get("services") or {}
for name in ("kafka", "kafka-init", "redis", "ccpulse", "gen"):
    if name not in svc:
        errs.append("service %s missing" % name)
for name, s in svc.items():
    img = str(s.get("image", ""))
    if not img:
        errs.append("service %s has no image" % name)
    elif not re.search(r":(\d+\.\d+\.\d+)(-[a-z0-9]+)?$", img):
        errs.append("service %s: image %s is not pinned to a version x.y.z" % (name, img))
    for p in s.get("ports") or []:
        if not str(p).startswith("127.0.0.1:"):
            errs.append("service %s publishes %s beyond loopback" % (name, p))
    words = s.get("command") or []
    words = words if isinstance(words, list) else [words]
    for i, w in enumerate(words):
        w = str(w)
        v = words[i + 1] if w == "--redis" and i + 1 < len(words) else (w[6:] if w.startswith("redis=") else None)
        if v is not None and not str(v).startswith("redis://"):
            errs.append("service %s: Redis '%s' is not a redis:// URL" % (name, v))
        if "kafka.bootstrap.servers" in w:
            errs.append("service %s: kafka.bootstrap.servers instead of --brokers" % name)
k = svc.get("kafka") or {}
if k.get("image") != "apache/kafka:" + kafka_version:
    errs.append("kafka image is %s, not apache/kafka:%s (scripts/kafka.sh)" % (k.get("image"), kafka_version))
if (svc.get("kafka-init") or {}).get("image") != k.get("image"):
    errs.append("kafka-init does not use the broker's image")
env = k.get("environment") or {}
if set(str(env.get("KAFKA_PROCESS_ROLES", "")).split(",")) != {"broker", "controller"}:
    errs.append("kafka is not in KRaft broker,controller mode")
for name in ("ccpulse", "gen"):
    c = svc.get(name) or {}
    if c.get("image") != "ccpulse:" + version:
        errs.append("%s image is %s, not ccpulse:%s (the project version)" % (name, c.get("image"), version))
    b = c.get("build") or {}
    ctx = os.path.normpath(os.path.join(os.path.dirname(path), b.get("context", ".")))
    if not os.path.isfile(os.path.join(ctx, b.get("dockerfile", "Dockerfile"))):
        errs.append("%s: build dockerfile not found" % name)
    if (c.get("depends_on") or {}).get("kafka-init", {}).get("condition") != "service_completed_successfully":
        errs.append("%s does not wait for kafka-init to complete" % name)
c = svc.get("ccpulse") or {}
cmd = [str(w) for w in c.get("command") or []]
if cmd[:1] != ["run"]:
    errs.append("ccpulse service does not run 'ccpulse run'")
listen = [w.split("=", 1)[1] for w in cmd if w.startswith("http.listen=")]
if listen != ["0.0.0.0:9464"]:
    errs.append("ccpulse does not set http.listen=0.0.0.0:9464 (got %s)" % listen)
if "127.0.0.1:9464:9464" not in [str(p) for p in c.get("ports") or []]:
    errs.append("ccpulse does not publish 127.0.0.1:9464:9464")
if "redis" not in (c.get("depends_on") or {}):
    errs.append("ccpulse does not depend on redis")
g = svc.get("gen") or {}
if [str(w) for w in g.get("command") or []][:1] != ["gen"] or "--rate" not in g.get("command", []):
    errs.append("gen service does not run 'ccpulse gen --rate'")
if not (g.get("healthcheck") or {}).get("disable"):
    errs.append("gen keeps the image's /healthz check, which it cannot pass")
for e in errs:
    print("FAIL: compose: " + e)
sys.exit(1 if errs else 0)
PY
    ok "compose file (PyYAML): services, pinned images, ports, commands"
  else
    fail "compose file checks (PyYAML)"
  fi
elif [ "${CI:-}" = true ]; then
  fail "PyYAML missing (python3-yaml, scripts/setup-deps.sh)"
else
  echo "note: PyYAML not available; structural check of the compose file only"
  if grep -qP '\t' "$compose"; then fail "compose file contains tabs"; fi
  grep -q '^services:$' "$compose" || fail "compose: no top-level services:"
  for s in kafka kafka-init redis ccpulse gen; do grep -q "^  $s:$" "$compose" || fail "compose: service $s missing"; done
  grep -q "image: apache/kafka:$kafka_version" "$compose" || fail "compose: kafka image is not apache/kafka:$kafka_version"
  grep -q 'KAFKA_PROCESS_ROLES: broker,controller' "$compose" || fail "compose: kafka is not in KRaft mode"
  grep -q 'dockerfile: docker/Dockerfile' "$compose" || fail "compose: ccpulse is not built from docker/Dockerfile"
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
