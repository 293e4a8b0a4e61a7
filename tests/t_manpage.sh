#!/usr/bin/env bash
# labels: unit
# docs/ccpulse.1 is what scripts/gen-manpage.py writes from the binary's help
# texts (regenerate: python3 scripts/gen-manpage.py build/ccpulse > docs/ccpulse.1),
# names every subcommand of `ccpulse --help`, every option of each and every
# configuration key, and renders without a warning (groff -ww; man -l).
# Usage: bash t_manpage.sh <path-to-ccpulse-binary> <build-dir>
set -euo pipefail
BIN=$1
root=$(cd "$(dirname "$0")/.." && pwd)
page=$root/docs/ccpulse.1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
missing() { # missing TOOL PACKAGE: fail in CI (setup-deps installs it), else skip
  if [ "${CI:-}" = true ]; then fail "$1 missing (package $2, scripts/setup-deps.sh)"; else echo "SKIP: $1 missing (package $2)"; exit 77; fi
}
command -v python3 >/dev/null 2>&1 || missing python3 python3

python3 "$root/scripts/gen-manpage.py" "$BIN" >"$tmp/ccpulse.1"
if diff -u "$page" "$tmp/ccpulse.1" >"$tmp/diff"; then
  ok "docs/ccpulse.1 is up to date with the help texts"
else
  head -n 40 "$tmp/diff"
  fail "docs/ccpulse.1 is out of date; regenerate: python3 scripts/gen-manpage.py build/ccpulse > docs/ccpulse.1"
fi

# every subcommand, each of its options, every configuration key
cmds=$("$BIN" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on { exit }')
[ -n "$cmds" ] || fail "no commands in 'ccpulse --help'"
for c in $cmds; do
  grep -qxF ".SS \"ccpulse $c\"" "$page" || fail "command '$c' has no section in the man page"
  for o in $("$BIN" "$c" --help | grep -oE '^  --[a-z-]+' | tr -d ' '); do
    grep -qF "\\fB${o//-/\\-}\\fR" "$page" || fail "option $o of '$c' is not in the man page"
  done
done
ok "sections for: $(echo $cmds)"
nkeys=0
for k in $("$BIN" help config | grep -oE '^  [a-z][^ ]*' | tr -d ' '); do
  nkeys=$((nkeys + 1))
  grep -qF "\\fB${k//-/\\-}\\fR (" "$page" || fail "configuration key '$k' is not in the man page"
done
ok "$nkeys configuration keys"
grep -q '^\.TH CCPULSE 1 .*"ccpulse '"$("$BIN" --version | head -1 | cut -d' ' -f2)"'"' "$page" ||
  fail "the .TH line does not carry the binary's version"

# renders: groff without warnings, then man -l
command -v groff >/dev/null 2>&1 || missing groff groff-base
if groff -man -Tutf8 -ww -z "$page" 2>"$tmp/warn" && [ ! -s "$tmp/warn" ]; then
  ok "groff -man -ww: no warnings"
else
  cat "$tmp/warn"
  fail "groff warns about docs/ccpulse.1"
fi
command -v man >/dev/null 2>&1 || missing man man-db
if MANWIDTH=80 man -l "$page" >"$tmp/out" 2>"$tmp/err" && [ ! -s "$tmp/err" ]; then
  for c in $cmds; do grep -q "^   ccpulse $c\$" "$tmp/out" || fail "man -l: no 'ccpulse $c' heading in the rendered page"; done
  ok "man -l renders ($(wc -l <"$tmp/out") lines)"
else
  cat "$tmp/err"
  fail "man -l docs/ccpulse.1 failed"
fi

[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "man page checks passed"
