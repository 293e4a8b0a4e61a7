#!/usr/bin/env python3
"""Compares the peer's per-queue 5m windows (--dump JSONL) with ccpulse replay.

ccpulse is run with `--set windows=5m:5m --every 5m`: one 5-minute bucket, so
its `5m` window is exactly the epoch-aligned tumbling window of the peer, and
each snapshot (printed just before stream time crosses a 5m edge, plus the
final one) holds the complete window of its now_ms.

usage: compare.py PEER_DUMP REPLAY_SNAPSHOTS [--show N] [--min-opened K]
Prints a summary (windows compared, exact matches per KPI) and the first N
windows with at least K opened side by side; exit 0 unless nothing matched.
"""
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
    return 0 if keys and match["opened"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
