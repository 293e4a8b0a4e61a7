#!/usr/bin/env python3
"""Compares the peer's per-queue 5m windows (--dump JSONL) with ccpulse replay.

ccpulse is run with `--set windows=5m:5m --every 5m`: one 5-minute bucket, so
its `5m` window is exactly the epoch-aligned tumbling window of the peer, and
each snapshot (printed just before stream time crosses a 5m edge, plus the
final one) holds the complete window of its now_ms.

A snapshot misses the events of its window that arrive after it (out of
order within the lateness), so with --events FILE the peer's `opened` is also
checked against the final tumbling counts recomputed from the event file
(invalid, late and duplicate events dropped as one stream, docs/semantics.md
section 1).

usage: compare.py PEER_DUMP REPLAY_SNAPSHOTS [--show N] [--min-opened K] [--events FILE]
Prints a summary (windows compared, exact matches per KPI) and the first N
windows with at least K opened side by side; exit 0 unless nothing matched.
"""
import collections
import json
import math
import sys

KPIS = ("opened", "frt_avg_ms", "frt_p90_ms", "service_level_pct", "csat_pct", "nps")
W = 300000


def close(k, a, b):
    if a is None or b is None:
        return a is None and b is None
    if k == "frt_p90_ms":  # ccpulse: log-bucketed sketch, <= 1 % relative error
        return abs(a - b) <= max(1.0, 0.011 * max(abs(a), abs(b)))
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-3)


def opened_final(path, lateness=300000):
    now, seen, cnt = None, {}, collections.Counter()
    for line in open(path):
        e = json.loads(line)
        c, n, s = e.get("csat"), e.get("nps"), e.get("ces")
        if ((c is not None and not 1 <= c <= 5) or (n is not None and not 0 <= n <= 10)
                or (s is not None and not 1 <= s <= 7)
                or any((e.get(f) or 0) < 0 for f in ("talk_ms", "hold_ms", "acw_ms", "qa_errors"))):
            continue
        ts = e["ts"]
        if now is not None and ts < now - lateness:
            continue
        if e["event_id"] in seen and seen[e["event_id"]] >= now - lateness:
            continue
        now = ts if now is None else max(now, ts)
        seen[e["event_id"]] = now
        if e["type"] == "OPENED":
            cnt[(e["queue"], ts // W * W)] += 1
    return cnt


def main():
    args = sys.argv[1:]
    show = int(args[args.index("--show") + 1]) if "--show" in args else 3
    min_opened = int(args[args.index("--min-opened") + 1]) if "--min-opened" in args else 10
    peer = {}
    for line in open(args[0]):
        r = json.loads(line)
        peer[(r["queue"], r["window_start_ms"])] = r
    ref = {}
    for line in open(args[1]):
        s = json.loads(line)
        if s["now_ms"] is None:
            continue
        start = s["now_ms"] // W * W
        for scope, v in s["scopes"].items():
            if scope.startswith("queue:") and "5m" in v.get("windows", {}):
                ref[(scope[6:], start)] = v["windows"]["5m"]
    keys = sorted(set(ref) & set(peer), key=lambda k: (k[1], k[0]))
    match = {k: 0 for k in KPIS}
    shown = 0
    for key in keys:
        p, r = peer[key], ref[key]
        ok = {k: close(k, p[k], r[k]) for k in KPIS}
        for k in KPIS:
            match[k] += ok[k]
        if shown < show and p["opened"] >= min_opened and p["frt_count"] >= 5:
            shown += 1
            print(f"queue={key[0]} window=[{key[1]},{key[1] + W})")
            for k in KPIS:
                print(f"  {k:18} peer={p[k]!s:>12} ccpulse={r[k]!s:>12} {'ok' if ok[k] else 'DIFF'}")
    print(f"windows: peer {len(peer)}, ccpulse {len(ref)}, compared {len(keys)}")
    print("exact matches: " + ", ".join(f"{k} {match[k]}/{len(keys)}" for k in KPIS))
    if "--events" in args:
        fin = opened_final(args[args.index("--events") + 1])
        allk = set(fin) | {k for k, v in peer.items() if v["opened"]}
        same = sum(fin.get(k, 0) == (peer[k]["opened"] if k in peer else 0) for k in allk)
        print(f"opened vs final tumbling counts from the event file: {same}/{len(allk)} windows equal")
    return 0 if keys and match["opened"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
