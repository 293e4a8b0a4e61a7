#!/usr/bin/env bash
# labels: unit
#
# CLI checks of `ccpulse replay` and `ccpulse convert`:
#   - replay of a small JSON Lines file prints one parsable snapshot;
#   - the JSONL and its converted Avro (deflate and null) give byte-identical
#     output, with and without --every; stdin works; runs are deterministic;
#   - --every prints several snapshots, --alerts writes alert lines;
#   - --partitions 1 is the default byte for byte; --partitions 3 routes by
#     the producer's partitioner and judges deadlines per partition;
#   - unreadable input exits 1 naming file and line/block, stdout empty;
#   - a bad configuration exits 2 naming the key.
# Usage: bash t_replay_cli.sh <ccpulse-binary> <build-dir>
set -u
BIN=${1:?usage: t_replay_cli.sh <ccpulse-binary> <build-dir>}
T=$(mktemp -d "${TMPDIR:-/tmp}/ccp_replay_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
check() { if eval "$1"; then ok; else fail "$2"; fi; }

# A small day: chat answered and resolved, a phone call that breaches its
# 4 min SLA and is abandoned, an email, a survey; spread over 12 minutes.
cat > "$T/ev.jsonl" <<'EOF'
{"event_id":"e1","ticket_id":"t1","type":"OPENED","ts":1795347000000,"channel":"CHAT","queue":"billing","customer_id":"c1","category":"complaint"}
{"event_id":"e2","ticket_id":"t2","type":"OPENED","ts":1795347010000,"channel":"PHONE","queue":"tech","customer_id":"c2"}
{"event_id":"e3","ticket_id":"t1","type":"ASSIGNED","ts":1795347020000,"channel":"CHAT","queue":"billing","agent_id":"a-1","customer_id":"c1"}
{"event_id":"e4","ticket_id":"t1","type":"AGENT_REPLY","ts":1795347060000,"channel":"CHAT","queue":"billing","agent_id":"a-1","customer_id":"c1"}

{"event_id":"e5","ticket_id":"t1","type":"HANDLED","ts":1795347300000,"channel":"CHAT","queue":"billing","agent_id":"a-1","customer_id":"c1","talk_ms":200000,"hold_ms":10000,"acw_ms":30000}
{"event_id":"e6","ticket_id":"t1","type":"RESOLVED","ts":1795347310000,"channel":"CHAT","queue":"billing","agent_id":"a-1","customer_id":"c1","csat":null}
{"event_id":"e7","ticket_id":"t1","type":"SURVEY","ts":1795347400000,"channel":"CHAT","queue":"billing","customer_id":"c1","csat":5,"nps":9,"language":"id"}
{"event_id":"e7","ticket_id":"t1","type":"SURVEY","ts":1795347400000,"channel":"CHAT","queue":"billing","customer_id":"c1","csat":5,"nps":9}
{"event_id":"e8","ticket_id":"t3","type":"OPENED","ts":1795347500000,"channel":"EMAIL","queue":"billing","customer_id":"c3"}
{"event_id":"e9","ticket_id":"t2","type":"ABANDONED","ts":1795347600000,"channel":"PHONE","queue":"tech","customer_id":"c2"}
{"event_id":"e10","ticket_id":"t4","type":"OPENED","ts":1795347700000,"channel":"SOCIAL","queue":"social","customer_id":"c4"}
EOF
NEV=11

# --- one snapshot, parsable, counts every record -------------------------
"$BIN" replay "$T/ev.jsonl" > "$T/out.json" 2> "$T/err"
rc=$?
check '[ $rc -eq 0 ]' "replay exit $rc: $(cat "$T/err")"
check '[ "$(wc -l < "$T/out.json")" -eq 1 ]' "replay printed $(wc -l < "$T/out.json") lines, expected 1"
python3 - "$T/out.json" "$NEV" <<'EOF' || fail "snapshot not as expected"
import json, sys
doc = json.loads(open(sys.argv[1]).read())
assert doc["schema"] == "ccpulse.snapshot.v1", doc.get("schema")
assert doc["now_ms"] == 1795347700000, doc["now_ms"]
assert doc["diagnostics"]["events"] == int(sys.argv[2]), doc["diagnostics"]
assert doc["diagnostics"]["duplicate_events"] == 1, doc["diagnostics"]
assert "all" in doc["scopes"]
EOF

# --- JSONL == converted Avro, byte for byte ------------------------------
"$BIN" convert "$T/ev.jsonl" "$T/ev.avro" 2> "$T/err"
rc=$?
check '[ $rc -eq 0 ]' "convert failed: $(cat "$T/err")"
"$BIN" convert --codec null --block-size 200 "$T/ev.jsonl" "$T/ev_null.avro" 2> "$T/err"
rc=$?
check '[ $rc -eq 0 ]' "convert --codec null failed: $(cat "$T/err")"
check '[ "$(head -c 4 "$T/ev.avro" | od -An -c | tr -d " ")" = "Obj001" ]' "convert output lacks the OCF magic"
for f in ev.avro ev_null.avro; do
  "$BIN" replay "$T/$f" > "$T/out_$f.json" 2> "$T/err"
  check '[ $? -eq 0 ]' "replay $f: $(cat "$T/err")"
  check 'cmp -s "$T/out.json" "$T/out_$f.json"' "replay of $f differs from the JSONL replay"
done
# Avro -> Avro convert is stable, and through stdin/pipes too
"$BIN" convert "$T/ev.avro" "$T/ev2.avro"
check 'cmp -s "$T/ev.avro" "$T/ev2.avro"' "convert of the converted file is not byte-identical"
"$BIN" replay - < "$T/ev.jsonl" > "$T/out_stdin.json"
check 'cmp -s "$T/out.json" "$T/out_stdin.json"' "replay from stdin differs"
"$BIN" convert "$T/ev.jsonl" - | "$BIN" replay - > "$T/out_pipe.json"
check 'cmp -s "$T/out.json" "$T/out_pipe.json"' "replay of Avro through a pipe differs"
"$BIN" replay "$T/ev.jsonl" > "$T/out_again.json"
check 'cmp -s "$T/out.json" "$T/out_again.json"' "two runs differ"

# --- --every and --alerts -------------------------------------------------
"$BIN" replay --every 1m --alerts "$T/alerts.jsonl" "$T/ev.jsonl" > "$T/every.json" 2> "$T/err"
rc=$?
check '[ $rc -eq 0 ]' "replay --every: $(cat "$T/err")"
"$BIN" replay --every=1m "$T/ev_null.avro" > "$T/every_avro.json"
check 'cmp -s "$T/every.json" "$T/every_avro.json"' "--every output differs between JSONL and Avro"
# minute boundaries crossed by the events: 1..2 (e4->e5 crosses 4), e6, e7, e8, e9, e10
python3 - "$T/every.json" "$T/alerts.jsonl" <<'EOF' || fail "--every / --alerts output not as expected"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
docs = [json.loads(l) for l in lines]
assert len(docs) >= 4, len(docs)
nows = [d["now_ms"] for d in docs]
assert nows == sorted(nows), nows
assert nows[-1] == 1795347700000, nows
# every snapshot but the last shows the state before an event that crosses a minute
for a, b in zip(nows, nows[1:]):
    assert a // 60000 < b // 60000 or a == b, (a, b)
alerts = [json.loads(l) for l in open(sys.argv[2]).read().splitlines()]
kinds = [a["type"] for a in alerts]
assert "sla_breach" in kinds and "sla_at_risk" in kinds, kinds
br = [a for a in alerts if a["type"] == "sla_breach"][0]
assert br["ticket_id"] == "t2" and br["channel"] == "PHONE" and br["queue"] == "tech", br
assert br["agent_id"] is None and br["threshold_ms"] == 240000, br
assert br["at_ms"] == br["opened_ms"] + br["threshold_ms"], br
for k in ("at_ms", "now_ms", "opened_ms"):
    assert isinstance(br[k], int), br
EOF
check '[ "$(wc -l < "$T/every.json")" -ge 4 ]' "--every printed $(wc -l < "$T/every.json") lines"

# --- --partitions N ------------------------------------------------------
# 1 is the default byte for byte; N routes as the producer does (keyed by
# ticket_id, librdkafka's default partitioner: CRC-32 of the key modulo N),
# each partition judging deadlines on its own events only: PHONE tickets tA
# (partition 2) and tC (partition 1) opened together, then tB (partition 1)
# 10 minutes later: one partition breaches both, three only tC
"$BIN" replay --partitions 1 --every 1m --alerts "$T/alerts1.jsonl" "$T/ev.jsonl" > "$T/every1.json"
check 'cmp -s "$T/every.json" "$T/every1.json" && cmp -s "$T/alerts.jsonl" "$T/alerts1.jsonl"' \
  "--partitions 1 differs from the default"
python3 - "$T/parts.jsonl" <<'EOF'
import json, sys, zlib
assert [zlib.crc32(k.encode()) % 3 for k in ("tA", "tB", "tC")] == [2, 1, 1]
T = 1795347000000
ev = lambda i, t, typ, ts: dict(event_id="p%d" % i, ticket_id=t, type=typ, ts=ts, channel="PHONE",
                                 queue="q", customer_id="c" + t)
with open(sys.argv[1], "w") as f:
    for e in (ev(1, "tA", "OPENED", T), ev(2, "tC", "OPENED", T + 1), ev(3, "tB", "OPENED", T + 600000)):
        f.write(json.dumps(e) + "\n")
EOF
"$BIN" replay --alerts "$T/pa1.jsonl" "$T/parts.jsonl" > "$T/pa1.json"
"$BIN" replay --partitions 3 --alerts "$T/pa3.jsonl" "$T/parts.jsonl" > "$T/pa3.json"
"$BIN" replay --partitions 3 --every 1m "$T/parts.jsonl" > "$T/pa3e.json"
python3 - "$T/pa1.jsonl" "$T/pa3.jsonl" "$T/pa1.json" "$T/pa3.json" <<'EOF' || fail "--partitions 3: routing or per-partition deadlines not as expected"
import json, sys
br = lambda p: sorted(json.loads(l)["ticket_id"] for l in open(p) if '"sla_breach"' in l)
assert br(sys.argv[1]) == ["tA", "tC"], br(sys.argv[1])
assert br(sys.argv[2]) == ["tC"], br(sys.argv[2])
one, three = (json.load(open(p)) for p in sys.argv[3:5])
assert one["now_ms"] == three["now_ms"] == 1795347600000, (one["now_ms"], three["now_ms"])
assert three["diagnostics"]["events"] == 3, three["diagnostics"]
EOF
check '[ "$(tail -n 1 "$T/pa3e.json")" = "$(cat "$T/pa3.json")" ] && [ "$(wc -l < "$T/pa3e.json")" -eq 2 ]' \
  "--partitions 3 --every: the last line differs from the final snapshot"
"$BIN" replay --partitions 0 "$T/ev.jsonl" > "$T/out" 2> "$T/err"
rc=$?
check '[ $rc -eq 2 ] && [ ! -s "$T/out" ] && grep -q -- "--partitions" "$T/err"' "--partitions 0: exit $rc"

# --- unreadable input: exit 1, message names the line, stdout empty ------
head -n 3 "$T/ev.jsonl" > "$T/bad.jsonl"
echo '{"event_id":"x","ticket_id":"t9","type":"OPENED","ts":1795347800000,"channel":"CHAT","queue":"q","customer_id":"c","csat":"five"}' >> "$T/bad.jsonl"
"$BIN" replay --every 1m "$T/ev.jsonl" "$T/bad.jsonl" > "$T/out_bad" 2> "$T/err"
rc=$?
check '[ $rc -eq 1 ]' "bad line: exit $rc, expected 1"
check 'grep -q "ERROR replay: $T/bad.jsonl:4: field '"'"'csat'"'"': expected integer or null" "$T/err"' "bad line message: $(cat "$T/err")"
check '[ ! -s "$T/out_bad" ]' "bad line: stdout not empty"
printf '{"event_id":"x","ticket_id":"t","type":"OPENED","ts":1,"channel":"FAX","queue":"q","customer_id":"c"}\n' > "$T/fax.jsonl"
"$BIN" replay "$T/fax.jsonl" > /dev/null 2> "$T/err"
rc=$?
check '[ $rc -eq 1 ] && grep -q "fax.jsonl:1: unknown channel symbol '"'"'FAX'"'"'" "$T/err"' "unknown symbol: $(cat "$T/err")"
printf '{"event_id":"x","type":"OPENED","ts":1,"channel":"CHAT","queue":"q","customer_id":"c"}\n' > "$T/miss.jsonl"
"$BIN" replay "$T/miss.jsonl" > /dev/null 2> "$T/err"
rc=$?
check '[ $rc -eq 1 ] && grep -q "miss.jsonl:1: missing required field '"'"'ticket_id'"'"'" "$T/err"' "missing field: $(cat "$T/err")"
size=$(wc -c < "$T/ev_null.avro")
head -c $((size - 40)) "$T/ev_null.avro" > "$T/trunc.avro"
"$BIN" replay "$T/trunc.avro" > "$T/out_bad" 2> "$T/err"
rc=$?
check '[ $rc -eq 1 ] && grep -q "trunc.avro: block [0-9]* at offset [0-9]*: truncated" "$T/err"' "truncated Avro: exit $rc: $(cat "$T/err")"
check '[ ! -s "$T/out_bad" ]' "truncated Avro: stdout not empty"
"$BIN" replay "$T/nonexistent.jsonl" > /dev/null 2> "$T/err"
rc=$?
check '[ $rc -eq 1 ] && grep -q "cannot open" "$T/err"' "missing file: $(cat "$T/err")"
"$BIN" convert "$T/bad.jsonl" "$T/conv_bad.avro" 2> "$T/err"
rc=$?
check '[ $rc -eq 1 ] && [ ! -e "$T/conv_bad.avro" ] && [ ! -e "$T/conv_bad.avro.partial" ]' "failed convert left a file"

# --- bad configuration: exit 2 naming the key -----------------------------
"$BIN" replay --set sla.CHAT=soon "$T/ev.jsonl" > "$T/out_bad" 2> "$T/err"
rc=$?
check '[ $rc -eq 2 ] && grep -q "sla.CHAT" "$T/err"' "bad --set: exit $rc: $(cat "$T/err")"
check '[ ! -s "$T/out_bad" ]' "bad --set: stdout not empty"
"$BIN" replay --set no.such.key=1 "$T/ev.jsonl" > /dev/null 2> "$T/err"
rc=$?
check '[ $rc -eq 2 ] && grep -q "no.such.key" "$T/err"' "unknown key: $(cat "$T/err")"
printf 'lateness = 5m\nsla.PHONE = forever\n' > "$T/bad.conf"
"$BIN" replay --config "$T/bad.conf" "$T/ev.jsonl" > /dev/null 2> "$T/err"
rc=$?
check '[ $rc -eq 2 ] && grep -q "bad.conf:2" "$T/err" && grep -q "sla.PHONE" "$T/err"' "bad config file: $(cat "$T/err")"
CCPULSE_SLA_CHAT=nope "$BIN" replay "$T/ev.jsonl" > /dev/null 2> "$T/err"
rc=$?
check '[ $rc -eq 2 ] && grep -q "CCPULSE_SLA_CHAT" "$T/err"' "bad environment: $(cat "$T/err")"
# order: file < environment < --set
printf 'sla.PHONE = 1h\n' > "$T/good.conf"
CCPULSE_SLA_PHONE=2h "$BIN" replay --config "$T/good.conf" --set sla.PHONE=4m --alerts "$T/al2.jsonl" "$T/ev.jsonl" > /dev/null
check 'cmp -s "$T/alerts.jsonl" "$T/al2.jsonl"' "--set did not win over file and environment"
CCPULSE_SLA_PHONE=2h "$BIN" replay --config "$T/good.conf" --alerts "$T/al3.jsonl" "$T/ev.jsonl" > /dev/null
check '[ ! -s "$T/al3.jsonl" ]' "a 2h PHONE SLA still raised alerts"
"$BIN" replay --every soon "$T/ev.jsonl" > /dev/null 2> "$T/err"
rc=$?
check '[ $rc -eq 2 ]' "bad --every accepted"
"$BIN" replay > /dev/null 2> "$T/err"
rc=$?
check '[ $rc -eq 2 ]' "replay without files: not exit 2"

# --- help and version -----------------------------------------------------
check '"$BIN" --help | grep -q "replay"' "--help lacks replay"
check '"$BIN" help replay | grep -q -- "--every"' "help replay lacks --every"
check '"$BIN" version | grep -q "^ccpulse [0-9]"' "version"
"$BIN" frobnicate > /dev/null 2>&1
rc=$?
check '[ $rc -eq 2 ]' "unknown command: exit $rc, not 2"

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
