#!/usr/bin/env python3
"""Redis' cost per alert of the de-duplicating alert script (alerts_lua in
src/publish/redis_pub.c, docs/redis.md "Alerts once"), apart from a catch-up.

Sends the first N alerts of a JSON Lines file of deadline alerts (from
`ccpulse replay --partitions 8 --alerts FILE EVENTS.avro`; each alert goes
to partition crc32(ticket_id) % 8) as `ccpulse run` does: cycles of
--cycle alerts, each one MULTI, one EVAL per --per-eval alerts, EXEC, with
the same keys and arguments (id, due time = at_ms, JSON, set). FLUSHALL
first (use a Redis of its own: scripts/redis.sh start --dir D), then prints
the alerts written, the wall clock, the server's CPU seconds (INFO cpu) per
alert, and INFO commandstats.

  alert_script.py --port P --alerts FILE [--script FILE] [-n N] [--cycle C]
                  [--per-eval E] [--repeat R] [--global-ids G]

--script: a Lua file instead of the script compiled into redis_pub.c.
--repeat R: send the same alerts R times (the later passes are all known).
--global-ids G: G other ids in <prefix>v1:alert_ids first (as with threshold
rules or ids of before the sets per partition), so the script looks there.
The server's CPU moves with the machine's load; for a count that does not,
run the server under `valgrind --tool=callgrind` (bench/README.md, "Issue 8,
session 13"). A tiny RESP client: no Python package needed.
"""
import argparse
import json
import os
import re
import socket
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def script_of_source():
    """alerts_lua's text, from the C string literal in redis_pub.c."""
    src = open(os.path.join(ROOT, "src/publish/redis_pub.c")).read()
    body = re.search(r"static const char alerts_lua\[\] =\n(.*?);\n", src, re.S).group(1)
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    return "".join(p.encode().decode("unicode_escape") for p in parts).encode()


class Resp:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    @staticmethod
    def enc(args):
        out = [b"*%d\r\n" % len(args)]
        for x in args:
            x = x if isinstance(x, bytes) else str(x).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(x), x))
        return b"".join(out)

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def call(self, *args):
        self.s.sendall(self.enc(args))
        return self.read()

    def info(self, section):
        d = {}
        for ln in self.call("INFO", section).decode().splitlines():
            if ":" in ln and not ln.startswith("#"):
                k, v = ln.split(":", 1)
                d[k] = v
        return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--alerts", required=True)
    ap.add_argument("--script")
    ap.add_argument("-n", type=int, default=300000)
    ap.add_argument("--cycle", type=int, default=100000)
    ap.add_argument("--per-eval", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--global-ids", type=int, default=0)
    ap.add_argument("--prefix", default="ccpulse:")
    ap.add_argument("--topic", default="cu")
    a = ap.parse_args()
    script = open(a.script, "rb").read() if a.script else script_of_source()
    alerts = []
    with open(a.alerts) as fh:
        for line in fh:
            j = json.loads(line)
            alerts.append((j["id"], j["at_ms"], line.rstrip("\n"), zlib.crc32(j["ticket_id"].encode()) % 8))
            if len(alerts) >= a.n:
                break
    r = Resp(a.port)
    gkey, stream = a.prefix + "v1:alert_ids", a.prefix + "alerts"
    r.call("FLUSHALL")
    for i in range(0, a.global_ids, 1000):
        args = []
        for k in range(i, min(i + 1000, a.global_ids)):
            args += [alerts[-1][1], "other%d" % k]
        r.call("ZADD", gkey, *args)

    def evalcmd(chunk):
        parts = sorted(set(x[3] for x in chunk))
        slot = {q: i + 1 for i, q in enumerate(parts)}
        args = ["EVAL", script, 2 + len(parts), gkey, stream]
        args += ["%sv1:alert_ids:%s:%d" % (a.prefix, a.topic, q) for q in parts]
        args += [str(chunk[0][1] - 86400000), "100000"]
        for aid, due, js, q in chunk:
            args += [aid, due, js, slot[q]]
        return Resp.enc(args)

    r.call("CONFIG", "RESETSTAT")
    cpu0, t0, written = r.info("cpu"), time.time(), 0
    for _ in range(a.repeat):
        for c0 in range(0, len(alerts), a.cycle):
            cyc = alerts[c0:c0 + a.cycle]
            msg = [Resp.enc(["MULTI"])]
            evals = [evalcmd(cyc[e:e + a.per_eval]) for e in range(0, len(cyc), a.per_eval)]
            r.s.sendall(b"".join(msg + evals + [Resp.enc(["EXEC"])]))
            for _ in range(len(evals) + 1):
                r.read()
            for x in r.read():
                if isinstance(x, Exception):
                    raise x
                written += int(x)
    wall, cpu1 = time.time() - t0, r.info("cpu")
    cpu = sum(float(cpu1[k]) - float(cpu0[k]) for k in ("used_cpu_user", "used_cpu_sys"))
    sent = len(alerts) * a.repeat
    print("alerts %d written %d  wall %.2f s  server cpu %.3f s = %.2f us/alert" %
          (sent, written, wall, cpu, cpu * 1e6 / sent))
    for k, v in sorted(r.info("commandstats").items()):
        kv = dict(x.split("=") for x in v.split(","))
        print("  %-28s calls %9s usec %10s" % (k[len("cmdstat_"):], kv["calls"], kv["usec"]))


if __name__ == "__main__":
    main()
