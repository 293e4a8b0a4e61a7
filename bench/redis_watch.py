#!/usr/bin/env python3
"""Watches the snapshots stream ccpulse run writes to Redis (docs/redis.md).

Blocks on XREAD for each new entry of <prefix>snapshots, so the wall clock
taken when an entry arrives is when that snapshot became visible to readers.
For every entry it records (visible wall ms, diagnostics.events, now_ms) and
stops once diagnostics.events >= --events (or at --timeout). Prints one JSON
document: {"done": bool, "done_wall_ms": ..., "samples": [[wall_ms, events,
now_ms], ...]}. A tiny RESP client: no Python package needed.

  redis_watch.py --url redis://127.0.0.1:P [--prefix ccpulse:] --events N
                 [--timeout S] [--out FILE]
"""
import argparse
import json
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--prefix", default="ccpulse:")
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--out")
    a = ap.parse_args()
    hostport = a.url.split("://", 1)[-1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    r = Resp(host, int(port))
    key = a.prefix + "snapshots"
    last = "0-0"
    samples = []
    done = False
    done_wall = None
    t_end = time.time() + a.timeout
    while time.time() < t_end and not done:
        rep = r.cmd("XREAD", "COUNT", "100", "BLOCK", "1000", "STREAMS", key, last)
        wall = time.time() * 1000.0
        if not rep:
            continue
        for _stream, entries in rep:
            for eid, fields in entries:
                last = eid.decode()
                doc = None
                for i in range(0, len(fields), 2):
                    if fields[i] == b"json":
                        doc = json.loads(fields[i + 1])
                if doc is None:
                    continue
                ev = doc.get("diagnostics", {}).get("events", 0)
                samples.append([round(wall, 1), ev, doc.get("now_ms")])
                if ev >= a.events and not done:
                    done = True
                    done_wall = wall
    res = {"done": done, "done_wall_ms": done_wall, "samples": samples}
    s = json.dumps(res)
    if a.out:
        with open(a.out, "w") as f:
            f.write(s)
    else:
        print(s)
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
