#!/usr/bin/env python3
"""Plain Python peer of ccpulse (bench issue 4, optional part).

Per queue over 5-minute tumbling event-time windows: opened, FRT avg/p90,
service level, CSAT and NPS, from the ccpulse topic (raw Avro binary,
schemas/ticket_event.avsc, key ticket_id). W worker processes (default: number
of cores); worker i owns the partitions p with p % W == i (static assignment,
no rebalances). Each keeps its tickets in a dict (ticket_id -> state), sums the
window contributions of one consumed batch locally, writes them to Redis in
one pipeline (HINCRBY counters, RPUSH FRT samples), then commits the batch's
offsets (at-least-once: a crash between the two re-adds the batch).

usage: peer.py --bootstrap B --topic T --events N --redis HOST:PORT
               [--app-id ID] [--workers W] [--timeout S] [--dump FILE]
Prints {"peer":"python","events":N,"seconds":S,"events_per_s":R}.
"""
import argparse
import io
import json
import math
import multiprocessing as mp
import os
import sys
import time

import fastavro
import redis
from confluent_kafka import Consumer, TopicPartition

MINUTE = 60000
WINDOW = 5 * MINUTE
LATENESS = 5 * MINUTE
SHORT_ABANDON = 5000
SLA = {"PHONE": 4 * MINUTE, "CHAT": 2 * MINUTE, "EMAIL": 24 * 60 * MINUTE, "SOCIAL": 60 * MINUTE}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def invalid(e):
    c, n, s = e.get("csat"), e.get("nps"), e.get("ces")
    if c is not None and not 1 <= c <= 5:
        return True
    if n is not None and not 0 <= n <= 10:
        return True
    if s is not None and not 1 <= s <= 7:
        return True
    for f in ("talk_ms", "hold_ms", "acw_ms", "qa_errors"):
        v = e.get(f)
        if v is not None and v < 0:
            return True
    return False


def worker(idx, nworkers, a, processed, stop):
    raw = json.load(open(os.path.join(ROOT, "schemas", "ticket_event.avsc")))
    for f in raw["fields"]:  # ts as the plain long (millis), not a datetime
        if isinstance(f["type"], dict):
            f["type"].pop("logicalType", None)
    schema = fastavro.parse_schema(raw)
    host, port = a.redis.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port))
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.app_id, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "fetch.wait.max.ms": 10})
    md = c.list_topics(a.topic, timeout=30)
    parts = sorted(md.topics[a.topic].partitions)
    mine = [p for p in parts if p % nworkers == idx]
    c.assign([TopicPartition(a.topic, p, -2) for p in mine])  # -2 = beginning
    # ticket_id -> [open_ts or None, threshold, replies, open, recent ids]
    tickets = {}
    stream_time = {}
    pfx = f"pyp:{a.app_id}"
    while not stop.is_set():
        msgs = c.consume(num_messages=2000, timeout=0.1)
        if not msgs:
            continue
        agg = {}
        frts = {}
        n = 0
        for m in msgs:
            if m.error():
                continue
            n += 1
            try:
                e = fastavro.schemaless_reader(io.BytesIO(m.value()), schema)
            except Exception:
                continue
            if invalid(e):
                continue
            ts = e["ts"]
            p = m.partition()
            st = stream_time.get(p)
            if st is not None and ts < st - LATENESS:
                continue
            tid = e["ticket_id"]
            t = tickets.get(tid)
            eid = e["event_id"]
            if t is not None and eid in t[4]:
                continue
            if st is None or ts > st:
                stream_time[p] = ts
            key = (e["queue"], ts // WINDOW * WINDOW)
            typ = e["type"]
            if t is None:
                t = [None, 0, 0, True, []]
                new = True
            else:
                new = False
            if typ == "OPENED":
                w = agg.setdefault(key, {})
                w["opened"] = w.get("opened", 0) + 1
                if new or not t[3]:
                    t[0], t[1], t[2], t[3] = ts, SLA.get(e["channel"], 4 * MINUTE), 0, True
                elif t[0] is None:
                    t[0], t[1] = ts, SLA.get(e["channel"], 4 * MINUTE)
            elif typ == "AGENT_REPLY":
                if t[2] == 0 and t[0] is not None:
                    frt = max(0, ts - t[0])
                    w = agg.setdefault(key, {})
                    w["frt_count"] = w.get("frt_count", 0) + 1
                    w["frt_sum"] = w.get("frt_sum", 0) + frt
                    if frt <= t[1]:
                        w["sl_within"] = w.get("sl_within", 0) + 1
                    frts.setdefault(key, []).append(frt)
                t[2] += 1
            elif typ == "RESOLVED":
                t[3] = False
            elif typ == "REOPENED":
                t[3] = True
            elif typ == "ABANDONED":
                if t[3] and t[2] == 0 and t[0] is not None and ts - t[0] >= SHORT_ABANDON:
                    w = agg.setdefault(key, {})
                    w["long_abandons"] = w.get("long_abandons", 0) + 1
                t[3] = False
            elif typ == "SURVEY":
                cs, np_ = e.get("csat"), e.get("nps")
                if cs is not None or np_ is not None:
                    w = agg.setdefault(key, {})
                    if cs is not None:
                        w["csat_n"] = w.get("csat_n", 0) + 1
                        if cs >= 4:
                            w["csat_sat"] = w.get("csat_sat", 0) + 1
                    if np_ is not None:
                        w["nps_n"] = w.get("nps_n", 0) + 1
                        if np_ >= 9:
                            w["nps_prom"] = w.get("nps_prom", 0) + 1
                        elif np_ <= 6:
                            w["nps_det"] = w.get("nps_det", 0) + 1
            t[4].append(eid)
            if len(t[4]) > 8:
                del t[4][0]
            tickets[tid] = t
        pipe = r.pipeline(transaction=False)
        for (q, ws), w in agg.items():
            hk = f"{pfx}:w:{q}:{ws}"
            for f, v in w.items():
                pipe.hincrby(hk, f, v)
            pipe.sadd(f"{pfx}:windows", f"{q}\t{ws}")
        for (q, ws), vals in frts.items():
            pipe.rpush(f"{pfx}:frt:{q}:{ws}", *vals)
        pipe.execute()
        c.commit(asynchronous=True)  # after the Redis write that covers the batch
        with processed.get_lock():
            processed.value += n
    c.close()


def dump(a, path):
    host, port = a.redis.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), decode_responses=True)
    pfx = f"pyp:{a.app_id}"
    out = []
    for m in r.smembers(f"{pfx}:windows"):
        q, ws = m.split("\t")
        ws = int(ws)
        h = {k: int(v) for k, v in r.hgetall(f"{pfx}:w:{q}:{ws}").items()}
        frt = sorted(int(x) for x in r.lrange(f"{pfx}:frt:{q}:{ws}", 0, -1))
        g = h.get
        fc, la = g("frt_count", 0), g("long_abandons", 0)
        out.append({"queue": q, "window_start_ms": ws, "window_end_ms": ws + WINDOW,
                    "opened": g("opened", 0), "frt_count": fc,
                    "frt_avg_ms": g("frt_sum", 0) / fc if fc else None,
                    "frt_p90_ms": frt[math.ceil(0.9 * fc) - 1] if fc else None,
                    "service_level_pct": 100.0 * g("sl_within", 0) / (fc + la) if fc + la else None,
                    "csat_pct": 100.0 * g("csat_sat", 0) / g("csat_n") if g("csat_n") else None,
                    "nps": 100.0 * (g("nps_prom", 0) - g("nps_det", 0)) / g("nps_n") if g("nps_n") else None})
    with open(path, "w") as f:
        for o in sorted(out, key=lambda o: (o["window_start_ms"], o["queue"])):
            f.write(json.dumps(o) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("--app-id", default=f"ccpulse-py-peer-{int(time.time())}-{os.getpid()}")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--dump")
    a = ap.parse_args()
    processed = mp.Value("q", 0)
    stop = mp.Event()
    t0 = time.monotonic()
    procs = [mp.Process(target=worker, args=(i, a.workers, a, processed, stop)) for i in range(a.workers)]
    for p in procs:
        p.start()
    done = False
    while time.monotonic() - t0 < a.timeout:
        if processed.value >= a.events:
            done = True
            break
        if not any(p.is_alive() for p in procs):
            break
        time.sleep(0.005)
    secs = time.monotonic() - t0
    stop.set()
    for p in procs:
        p.join(30)
        if p.is_alive():
            p.kill()
    if not done:
        print(f"py-peer: not done after {secs:.1f}s ({processed.value} of {a.events})", file=sys.stderr)
        return 1
    if a.dump:
        dump(a, a.dump)
    print(json.dumps({"peer": "python", "events": a.events, "seconds": round(secs, 3),
                      "events_per_s": round(a.events / secs)}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
