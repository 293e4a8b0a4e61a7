#!/usr/bin/env bash
# labels: unit
# `cmake --install <build> --prefix TMP` (the install() rules of CMakeLists.txt):
#   - TMP/bin/ccpulse runs; --version prints the project version, then
#     librdkafka, hiredis, avro-c and jansson with the versions pkg-config
#     reports for the -dev packages built against;
#   - the man page is TMP/share/man/man1/ccpulse.1 (= docs/ccpulse.1) and
#     `man ccpulse` finds and renders it with MANPATH=TMP/share/man;
#   - README.md and docs/ under TMP/share/doc/ccpulse, the schemas under
#     TMP/share/ccpulse/schemas, the systemd unit and configuration examples
#     under TMP/share/doc/ccpulse/examples: the configuration is accepted by
#     the installed binary, the unit passes `systemd-analyze verify` (when
#     systemd-analyze exists) with ExecStart pointed at TMP/bin/ccpulse.
# Usage: bash t_install.sh <path-to-ccpulse-binary> <build-dir>
set -euo pipefail
BUILD=$2
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=$tmp/prefix
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

if ! cmake --install "$BUILD" --prefix "$p" >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  echo "FAIL: cmake --install failed"
  exit 1
fi
ok "cmake --install: $(grep -c 'Installing:' "$tmp/install.log") files"

bin=$p/bin/ccpulse
[ -x "$bin" ] || { echo "FAIL: $bin not installed"; exit 1; }
"$bin" --version >"$tmp/version" || fail "installed ccpulse --version exited $?"
cat "$tmp/version"
want=$(sed -n 's/^project(ccpulse VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
[ "$(head -1 "$tmp/version")" = "ccpulse $want" ] || fail "first line is not 'ccpulse $want'"
for lib in librdkafka:rdkafka hiredis:hiredis avro-c:avro-c jansson:jansson; do
  name=${lib%%:*} pc=${lib#*:}
  got=$(awk -v n="$name" '$1 == n { print $2 }' "$tmp/version")
  [ -n "$got" ] || { fail "--version names no $name"; continue; }
  if command -v pkg-config >/dev/null 2>&1 && exp=$(pkg-config --modversion "$pc" 2>/dev/null); then
    [ "$got" = "$exp" ] || fail "$name $got, but pkg-config says $exp"
  fi
done
[ "$(wc -l <"$tmp/version")" -eq 5 ] || fail "--version: expected 5 lines"

man1=$p/share/man/man1/ccpulse.1
if [ -f "$man1" ] && cmp -s "$man1" "$root/docs/ccpulse.1"; then ok "man page installed"; else fail "$man1 missing or not docs/ccpulse.1"; fi
if command -v man >/dev/null 2>&1; then
  if MANPATH=$p/share/man MANWIDTH=80 man ccpulse 2>"$tmp/man.err" | grep -q '^   ccpulse run$'; then
    ok "man ccpulse renders from the installed page"
  else
    cat "$tmp/man.err"
    fail "man ccpulse (MANPATH=$p/share/man) did not render the page"
  fi
elif [ "${CI:-}" = true ]; then
  fail "man missing (man-db, scripts/setup-deps.sh)"
fi

for f in share/doc/ccpulse/README.md share/doc/ccpulse/docs/live.md share/doc/ccpulse/docs/configuration.md \
  share/ccpulse/schemas/ticket_event.avsc share/doc/ccpulse/examples/ccpulse.service \
  share/doc/ccpulse/examples/ccpulse.conf; do
  [ -f "$p/$f" ] || fail "$f not installed"
done
ok "docs, schemas and examples checked"

conf=$p/share/doc/ccpulse/examples/ccpulse.conf
if "$bin" replay --config "$conf" /dev/null >/dev/null 2>"$tmp/conf.err"; then
  ok "the example configuration is accepted"
else
  cat "$tmp/conf.err"
  fail "the installed binary rejects examples/ccpulse.conf"
fi
unit=$p/share/doc/ccpulse/examples/ccpulse.service
grep -q '^ExecStart=/usr/local/bin/ccpulse run --config /etc/ccpulse/ccpulse.conf$' "$unit" ||
  fail "unit: ExecStart is not 'ccpulse run --config /etc/ccpulse/ccpulse.conf'"
grep -q '^Restart=on-failure$' "$unit" || fail "unit: no Restart=on-failure"
for h in NoNewPrivileges=yes ProtectSystem=strict DynamicUser=yes; do
  grep -q "^$h\$" "$unit" || fail "unit: no $h"
done
if command -v systemd-analyze >/dev/null 2>&1; then
  sed "s|/usr/local/bin/ccpulse|$bin|" "$unit" >"$tmp/ccpulse.service"
  if MANPATH=$p/share/man systemd-analyze verify "$tmp/ccpulse.service" >"$tmp/verify" 2>&1 && [ ! -s "$tmp/verify" ]; then
    ok "systemd-analyze verify: clean"
  else
    cat "$tmp/verify"
    fail "systemd-analyze verify complains about the unit"
  fi
else
  echo "note: systemd-analyze not available; the unit is not verified"
fi

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "install checks passed"
