#!/usr/bin/env python3
"""Compares a live snapshot (Redis) with `ccpulse replay` of the same events.

usage: live_compare.py LIVE.json REPLAY.json [--merged]

The one live-vs-replay comparator of the tests (t_live_mock.sh,
t_live_kafka.sh); the single-partition cases there compare bytes with cmp.

Without --merged (one partition) the documents must be equal. With --merged
(several partitions) it checks what the merge guarantees (docs/semantics.md
§11, docs/live.md): everything equal (floats to 1e-6 relative),
customers_handled included (the partitions' customers are united), except
retention_pct and churn_pct, which must be within 2 points (exact while every
partition's retention sample holds all its customers; a hash sample of them
beyond that), and sla_breaches included: each partition judges deadlines on its own
stream time, and once every partition has read to its end they all stand at
the snapshot's now, as one replay does. A KPI left out of
a window object (docs/kpis.md §5) stands for 0 when the other side has a
count there and null otherwise, so it matches only a zero or null. Prints the
differences; exit 1 when any.
"""
import json
import sys

live, ref = (json.load(open(p)) for p in sys.argv[1:3])
merged = "--merged" in sys.argv
POINTS = {"retention_pct", "churn_pct"} if merged else set()  # within 2 points
bad = []
MISSING = object()


def in_window(path):
    """True inside /scopes/<s>/windows/<w> (and its channel_share_pct)."""
    parts = path.split("/")
    return len(parts) >= 5 and parts[1] == "scopes" and parts[3] == "windows"


def cmp(x, y, path):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            xv, yv = x.get(k, MISSING), y.get(k, MISSING)
            if xv is MISSING or yv is MISSING:
                if not in_window(path):
                    bad.append("%s/%s: missing on one side" % (path, k))
                    continue
                # left out: 0 against a count (an int), null otherwise
                other = yv if xv is MISSING else xv
                absent = 0 if isinstance(other, int) else None
                xv = absent if xv is MISSING else xv
                yv = absent if yv is MISSING else yv
            if k in POINTS and isinstance(xv, (int, float)) and isinstance(yv, (int, float)):
                if abs(xv - yv) > 2.0:
                    bad.append("%s/%s: %r not within 2 points of %r" % (path, k, xv, yv))
                continue
            cmp(xv, yv, path + "/" + k)
    elif isinstance(x, float) or isinstance(y, float):
        if x is None or y is None or abs(x - y) > 1e-6 * max(1.0, abs(y)):
            bad.append("%s: %r != %r" % (path, x, y))
    elif x != y:
        bad.append("%s: %r != %r" % (path, x, y))


cmp(live, ref, "")
for line in bad[:15]:
    print(line, file=sys.stderr)
sys.exit(1 if bad else 0)
