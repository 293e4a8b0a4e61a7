#!/usr/bin/env python3
"""Watches what ccpulse run publishes to Redis (docs/redis.md) without
measuring itself: it reads a small key, not the snapshot document.

Preferred (the "meta" mode): polls HMGET <prefix>v1:meta events now_ms cycle
published_ms every --poll ms (default 5); each new cycle is one sample,
taken at the wall clock when the poll saw it, so a sample is at most one poll
interval late; "cycles" then holds each sample's cycle number and
published_ms (the wall clock of its write), to line samples up with the
cycles of a log. Fallback (the "snapshot" mode, when meta has no `events`
field): XREAD BLOCK on <prefix>snapshots one entry at a time, reading only
`diagnostics.events` and `now_ms` out of the document with a byte search
(no JSON parse of the whole document). The mode is chosen once meta exists.

Stops once events >= --events (or at --timeout). Prints one JSON document:
{"done": bool, "done_wall_ms": ..., "mode": "meta"|"snapshot",
 "samples": [[wall_ms, events, now_ms], ...],
 "cycles": [[cycle, published_ms], ...] (meta mode; one per sample)}. A tiny RESP client: no
Python package needed.

  redis_watch.py --url redis://127.0.0.1:P [--prefix ccpulse:] --events N
                 [--timeout S] [--poll MS] [--out FILE]
"""
import argparse
import json
import re
import socket
import sys
import time


class Resp:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port))
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self.read()

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


EVENTS_RE = re.compile(rb'"diagnostics":\{"events":(\d+)')
NOW_RE = re.compile(rb'"now_ms":(-?\d+)')


def from_document(doc):
    """(events, now_ms) of a snapshot document, by byte search: diagnostics
    is the document's last member, now_ms one of its first."""
    at = doc.rfind(b'"diagnostics"')
    m = EVENTS_RE.search(doc, at if at >= 0 else 0)
    n = NOW_RE.search(doc, 0, 200)
    return (int(m.group(1)) if m else 0), (int(n.group(1)) if n else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--prefix", default="ccpulse:")
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--poll", type=float, default=5, help="ms between HMGETs of meta")
    ap.add_argument("--out")
    a = ap.parse_args()
    hostport = a.url.split("://", 1)[-1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    r = Resp(host, int(port))
    meta = a.prefix + "v1:meta"
    stream = a.prefix + "snapshots"
    samples = []
    cycles = []
    done = False
    done_wall = None
    t_end = time.time() + a.timeout
    mode = None
    while time.time() < t_end and mode is None:  # until ccpulse has published once
        if r.cmd("EXISTS", meta):
            mode = "meta" if r.cmd("HEXISTS", meta, "events") else "snapshot"
        else:
            time.sleep(a.poll / 1000.0)
    last_cycle = None
    last = "0-0"
    while time.time() < t_end and not done and mode:
        if mode == "meta":
            ev, now, cycle, pub = r.cmd("HMGET", meta, "events", "now_ms", "cycle", "published_ms")
            wall = time.time() * 1000.0
            if cycle == last_cycle or ev is None:
                time.sleep(a.poll / 1000.0)
                continue
            last_cycle = cycle
            ev = int(ev)
            now = int(now) if now is not None else None
            cycles.append([int(cycle), int(pub) if pub is not None else None])
        else:
            rep = r.cmd("XREAD", "COUNT", "1", "BLOCK", "1000", "STREAMS", stream, last)
            wall = time.time() * 1000.0
            if not rep:
                continue
            _stream, entries = rep[0]
            eid, fields = entries[0]
            last = eid.decode()
            doc = next((fields[i + 1] for i in range(0, len(fields), 2) if fields[i] == b"json"), None)
            if doc is None:
                continue
            ev, now = from_document(doc)
        samples.append([round(wall, 1), ev, now])
        if ev >= a.events:
            done = True
            done_wall = wall
    res = {"done": done, "done_wall_ms": done_wall, "mode": mode, "samples": samples}
    if cycles:
        res["cycles"] = cycles
    s = json.dumps(res)
    if a.out:
        with open(a.out, "w") as f:
            f.write(s)
    else:
        print(s)
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
