#!/usr/bin/env python3
"""A ccpulse client in Python (redis-py): reads the KPI tiles, follows the
snapshot stream, and consumes the alerts with a consumer group, handling
each alert id once. Keys and values: docs/redis.md; alerts: docs/alerts.md.

    python3 ccpulse_client.py [--redis URL] [--prefix P] tiles [--scope all]
    python3 ccpulse_client.py ... snapshots [--count N] [--block-ms MS]
    python3 ccpulse_client.py ... alerts [--group G] [--consumer C] [--idle-ms MS]

Needs redis-py (Debian: python3-redis; else pip install redis), 4.x or newer.
"""
import argparse
import json
import sys
import time

import redis


# ---------------------------------------------------------------- tiles

def read_tiles(r, prefix, scope):
    """The tiles of one scope, all of one publish cycle: (meta, windows, gauges).

    The window names come from the scope document (refreshed every
    publish.snapshot_interval); the tiles themselves are read in one MGET,
    which never mixes two cycles. A missing tile means no data: counts 0,
    other KPIs null (docs/redis.md, "Zeros are left out").
    """
    meta = r.hgetall(prefix + "v1:meta")
    doc = r.get(prefix + "v1:scope:" + scope)
    names = list(json.loads(doc)["windows"]) if doc else []
    keys = [prefix + "v1:kpi:%s:%s" % (scope, w) for w in names] + [prefix + "v1:gauges:" + scope]
    values = r.mget(keys)
    windows = {w: json.loads(v) if v else {} for w, v in zip(names, values)}
    gauges = json.loads(values[-1]) if values[-1] else None
    return meta, windows, gauges


def cmd_tiles(r, a):
    meta, windows, gauges = read_tiles(r, a.prefix, a.scope)
    if not meta:
        print("no data yet: %sv1:meta is missing (is ccpulse running?)" % a.prefix)
        return 1
    age_s = (time.time() * 1000 - int(meta["published_ms"])) / 1000
    print("meta now_ms=%s events=%s cycle=%s published %.1fs ago"
          % (meta["now_ms"], meta["events"], meta["cycle"], age_s))
    scopes = r.zrange(a.prefix + "v1:scope_set", 0, -1)  # all first, then bytewise
    print("scopes %d: %s%s" % (len(scopes), " ".join(scopes[:6]), " ..." if len(scopes) > 6 else ""))
    for w, kpis in windows.items():
        print("tile %s %s %s" % (a.scope, w, json.dumps(kpis, separators=(",", ":"))))
        print("  opened=%d service_level_pct=%s" % (kpis.get("opened", 0), kpis.get("service_level_pct")))
    print("gauges %s %s" % (a.scope, json.dumps(gauges, separators=(",", ":"))))
    return 0


# ---------------------------------------------------------------- snapshots

def follow_snapshots(r, prefix, block_ms):
    """Yields (entry id, document) for each new entry of the snapshot stream,
    starting after the latest one; XREAD blocks up to block_ms for the next."""
    stream = prefix + "snapshots"
    last = r.xrevrange(stream, count=1)
    last_id = last[0][0] if last else "0-0"
    while True:
        resp = r.xread({stream: last_id}, count=10, block=block_ms)
        if not resp:
            return  # nothing within block_ms: the processor is stopped or cut off
        for entry_id, fields in resp[0][1]:
            last_id = entry_id
            yield entry_id, json.loads(fields["json"])


def cmd_snapshots(r, a):
    n = 0
    for entry_id, doc in follow_snapshots(r, a.prefix, a.block_ms):
        print("snapshot %s now_ms=%s events=%s scopes=%d"
              % (entry_id, doc["now_ms"], doc["diagnostics"]["events"], len(doc["scopes"])))
        sys.stdout.flush()
        n += 1
        if n == a.count:
            break
    print("snapshots followed=%d" % n)
    return 0 if n == a.count else 1


# ---------------------------------------------------------------- alerts

def consume_alerts(r, prefix, group, consumer, handle, idle_ms, seen_key, keep_s=7 * 86400):
    """Reads the alerts stream in consumer group `group` and calls handle(alert)
    once per alert id; returns (handled, duplicates) when no alert came for
    idle_ms (idle_ms None: forever).

    Redis delivers each stream entry to one consumer of the group, and again
    (as pending) when it was never acknowledged: after a crash this consumer
    first reads its own pending entries. ccpulse writes each id once, but an
    id can come twice all the same (a Redis that restarted empty, a group
    reset to read the stream again, an entry handled but not acknowledged).
    So the ids handled go into a sorted set (score: when), checked before
    handling; marking and XACK are one transaction after handle() returns.
    A crash inside handle() or before the transaction hands the alert over
    again: at least once, never lost, never twice otherwise.
    """
    stream = prefix + "alerts"
    try:
        r.xgroup_create(stream, group, id="0", mkstream=True)  # "$": only alerts from now on
    except redis.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise
    handled = duplicates = 0
    cursor = "0"  # our pending entries first, then ">" (never delivered to the group)
    while True:
        if cursor == ">":
            resp = r.xreadgroup(group, consumer, {stream: ">"}, count=100, block=idle_ms or 0)
        else:
            resp = r.xreadgroup(group, consumer, {stream: cursor}, count=100)
        entries = resp[0][1] if resp else []
        if not entries:
            if cursor != ">":
                cursor = ">"
                continue
            return handled, duplicates
        for entry_id, fields in entries:
            if cursor != ">":
                cursor = entry_id
            if not fields:  # trimmed from the stream while pending
                r.xack(stream, group, entry_id)
                continue
            alert = json.loads(fields["json"])
            aid = alert.get("id")
            if aid is not None and r.zscore(seen_key, aid) is not None:
                duplicates += 1
            else:
                handle(alert)
                handled += 1
            with r.pipeline(transaction=True) as p:
                if aid is not None:
                    p.zadd(seen_key, {aid: time.time()})
                p.xack(stream, group, entry_id)
                p.execute()
        r.zremrangebyscore(seen_key, "-inf", time.time() - keep_s)


def cmd_alerts(r, a):
    def handle(alert):  # page someone, open an incident, ...
        if alert["type"] in ("sla_at_risk", "sla_breach"):
            what = "ticket %s (%s, %s)" % (alert["ticket_id"], alert["queue"], alert["channel"])
        else:
            what = "%s %s %s = %s" % (alert["rule"], alert["scope"], alert["kpi"], alert["value"])
        print("alert %s %s %s" % (alert["id"], alert["type"], what))

    seen = a.seen_key or "ccpulse-client:%s:seen" % a.group
    handled, dups = consume_alerts(r, a.prefix, a.group, a.consumer, handle, a.idle_ms, seen)
    print("alerts handled=%d duplicates=%d" % (handled, dups))
    return 0


def main():
    ap = argparse.ArgumentParser(description="read what ccpulse writes to Redis")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis URL")
    ap.add_argument("--prefix", default="ccpulse:", help="ccpulse's redis.prefix")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tiles", help="the KPI tiles and gauges of one scope")
    t.add_argument("--scope", default="all", help="all, queue:<q>, channel:<C>, agent:<a>")
    s = sub.add_parser("snapshots", help="follow the snapshot stream")
    s.add_argument("--count", type=int, default=3, help="stop after this many entries")
    s.add_argument("--block-ms", type=int, default=5000, help="give up after this long without one")
    al = sub.add_parser("alerts", help="consume the alerts in a consumer group")
    al.add_argument("--group", default="ccpulse-client")
    al.add_argument("--consumer", default="c1", help="this consumer's name (stable across restarts)")
    al.add_argument("--idle-ms", type=int, default=2000, help="return after this long without an alert; 0 = never")
    al.add_argument("--seen-key", help="sorted set of the ids handled (default ccpulse-client:<group>:seen)")
    a = ap.parse_args()
    r = redis.Redis.from_url(a.redis, decode_responses=True)
    return {"tiles": cmd_tiles, "snapshots": cmd_snapshots, "alerts": cmd_alerts}[a.cmd](r, a)


if __name__ == "__main__":
    sys.exit(main())
