#!/usr/bin/env python3
"""Counts the alerts a live run wrote against `ccpulse replay --alerts`.

usage: live_alerts.py REPLAY-ALERTS.jsonl DUMP...

REPLAY-ALERTS.jsonl: the alert lines of `ccpulse replay --alerts FILE` of
the same events (`--partitions N` for a topic of N partitions). DUMP: the alerts stream of the run, `redis-cli --raw
XRANGE <prefix>alerts - +` (id, field, value lines); several dumps are
taken together (a Redis emptied mid-run: the stream before and after).

Alerts are compared by their stable id (docs/alerts.md): every id of replay
must be on the stream (0 lost), none twice (0 repeated), and none that
replay has not (0 extra): each partition judges deadlines on its own
stream time, as each partition of `ccpulse replay --partitions N` does
(docs/live.md, time rule), so a breach never fires before its partition
read the reply.

Prints one summary line, then the differences; exit 1 when any counts.
"""
import collections
import json
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
if len(args) < 2:
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    sys.exit(2)

want = collections.Counter()
for line in open(args[0]):
    if line.strip():
        want[json.loads(line)["id"]] += 1
if any(n > 1 for n in want.values()):
    print("replay itself wrote an id twice", file=sys.stderr)
    sys.exit(2)

got = collections.Counter()
for path in args[1:]:
    lines = open(path).read().split("\n")
    # XRANGE --raw: entry id, field, value
    for i in range(0, len(lines) - 2, 3):
        if lines[i + 1] == "json":
            got[json.loads(lines[i + 2])["id"]] += 1

lost = sorted(set(want) - set(got))
extra = sorted(set(got) - set(want))
repeated = sorted(k for k, n in got.items() if n > 1)
print("replay %d alert(s); stream %d entries, %d ids: %d lost, %d repeated, %d extra%s"
      % (sum(want.values()), sum(got.values()), len(got), len(lost), len(repeated), len(extra),
         ""))
for name, ids in (("lost", lost), ("repeated", repeated), ("extra", extra)):
    if ids:
        print("%s: %s" % (name, " ".join(ids[:5])))
sys.exit(1 if lost or repeated or extra else 0)
