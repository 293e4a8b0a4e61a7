#!/usr/bin/env python3
"""The timeline of one catch-up of `ccpulse run` (bench/catchup_timeline.sh
starts it). Every --every ms (default 50), from /proc: per thread of run
(named by comm: ccp-worker0.., ccp-publish, ccp-ckpt, rdk:broker.., the
main thread "ccpulse") the time on a CPU and the time runnable but waiting
for one (/proc/PID/task/T/schedstat), the CPU of the broker's JVM and of
redis-server, and the machine's idle (/proc/stat). Two more threads poll,
so that a slow answer does not stall the /proc samples: run's /metrics
(ccpulse_events_total: records read) and Redis (HMGET <prefix>v1:meta
events cycle). Stops once Redis counts --events, then prints the key
moments (first record read, last record read, each cycle Redis shows,
Redis at N) and a table per --bin ms slice: records read, the machine's
idle cores, and per thread group "cpu/wait" in cores (on a CPU / runnable
but not running; the rest of a thread's time it slept).

  catchup_timeline.py --pid PID --jvm PID --redis-pid PID --url redis://H:P
                      --metrics H:P --events N [--t0 MS] [--every MS]
                      [--bin MS] [--out FILE]
"""
import argparse
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_watch import Resp  # noqa: E402
from sample_proc import cpu_and_faults  # noqa: E402


def threads(pid):
    """{tid: (comm, ns on a CPU, ns runnable but waiting for one)}"""
    out = {}
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/schedstat" % (base, tid)) as f:
                run, wait = (int(x) for x in f.read().split()[:2])
            with open("%s/%s/comm" % (base, tid)) as f:
                name = f.read().strip()
        except (OSError, ValueError):
            continue
        out[tid] = (name, run, wait)
    return out


def machine_idle():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[3] + v[4], sum(v[:8])  # idle + iowait, all


METRIC = re.compile(rb"^ccpulse_events_total (\d+)", re.M)


def scrape(hostport):
    host, port = hostport.rsplit(":", 1)
    try:
        s = socket.create_connection((host, int(port)), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
    except OSError:
        return None
    m = METRIC.search(data)
    return int(m.group(1)) if m else None


def group(name):
    if name.startswith("rdk:broker") and name != "rdk:broker-1":
        return "rdk:broker"
    if name.startswith("rdk:") or name.startswith("MHD") or name == "rdk:broker-1":
        return "other"
    return name


class Poller(threading.Thread):
    """Calls fn every `every` s; keeps [wall_ms, value] when it changes."""

    def __init__(self, fn, every, t0):
        super().__init__(daemon=True)
        self.fn, self.every, self.t0 = fn, every, t0
        self.seen, self.stop = [], False

    def run(self):
        while not self.stop:
            v = self.fn()
            wall = time.time() * 1000.0 - self.t0
            if v is not None and (not self.seen or self.seen[-1][1] != v):
                self.seen.append([round(wall, 1), v])
            time.sleep(self.every)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--jvm", type=int, required=True)
    ap.add_argument("--redis-pid", type=int, required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--t0", type=float, help="wall ms run was started at (default: now)")
    ap.add_argument("--every", type=float, default=50)
    ap.add_argument("--bin", type=float, default=250)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--out")
    a = ap.parse_args()
    hostport = a.url.split("://", 1)[-1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    r = Resp(host, int(port))
    t0 = a.t0 if a.t0 else time.time() * 1000.0

    def meta():
        ev, cyc = r.cmd("HMGET", "ccpulse:v1:meta", "events", "cycle")
        return None if cyc is None else (int(cyc), int(ev or 0))

    reads = Poller(lambda: scrape(a.metrics), 0.02, t0)
    cycles = Poller(meta, 0.005, t0)
    reads.start()
    cycles.start()
    samples = []
    while time.time() * 1000.0 - t0 < a.timeout * 1000:
        wall = time.time() * 1000.0 - t0
        try:
            th = threads(a.pid)
        except OSError:
            break
        idle, allt = machine_idle()
        samples.append([round(wall, 1), th, cpu_and_faults(a.jvm)[0], cpu_and_faults(a.redis_pid)[0], idle, allt])
        if cycles.seen and cycles.seen[-1][1][1] >= a.events:
            break
        time.sleep(a.every / 1000.0)
    reads.stop = cycles.stop = True
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"samples": samples, "reads": reads.seen, "cycles": cycles.seen}, f)
    report(samples, reads.seen, cycles.seen, a)
    return 0 if cycles.seen and cycles.seen[-1][1][1] >= a.events else 1


def read_at(reads, wall):
    v = 0
    for w, n in reads:
        if w > wall:
            break
        v = n
    return v


def report(samples, reads, cycles, a):
    first_read = next((w for w, n in reads if n > 0), None)
    last_read = next((w for w, n in reads if n >= a.events), None)
    counted = next((w for w, (c, ev) in cycles if ev >= a.events), None)
    print("first record read %s ms, last record read %s ms, Redis counts all %s ms"
          % (first_read, last_read, counted))
    for w, (c, ev) in cycles:
        print("  %8.0f ms  cycle %-4d events %8d (read by then %d)" % (w, c, ev, read_at(reads, w)))
    names = sorted({group(t[0]) for s in samples for t in s[1].values()})
    print("\nper slice of %d ms: records read (k), idle cores, per thread group cores on a CPU/runnable"
          % a.bin)
    print("%7s %5s %5s" % ("ms", "read", "idle") + "".join(" %10s" % n[-10:] for n in names)
          + " %5s %5s" % ("jvm", "redis"))
    last = samples[0]
    edge = a.bin
    for s in samples[1:]:
        if s[0] < edge and s is not samples[-1]:
            continue
        dt_ns = (s[0] - last[0]) * 1e6
        run, wait = {}, {}
        for tid, (n, ru, wa) in s[1].items():
            o = last[1].get(tid, (n, 0, 0))
            run[group(n)] = run.get(group(n), 0) + ru - o[1]
            wait[group(n)] = wait.get(group(n), 0) + wa - o[2]
        idle = (s[4] - last[4]) / max(1, s[5] - last[5]) * os.cpu_count()
        rd = (read_at(reads, s[0]) - read_at(reads, last[0])) / 1000.0
        dt = dt_ns / 1e9
        print("%7.0f %5.0f %5.2f" % (s[0], rd, idle)
              + "".join(" %4.2f/%4.2f" % (run.get(n, 0) / dt_ns, wait.get(n, 0) / dt_ns) for n in names)
              + " %5.2f %5.2f" % ((s[2] - last[2]) / dt, (s[3] - last[3]) / dt))
        last = s
        while edge <= s[0]:
            edge += a.bin
    run, wait = {}, {}
    for tid, (n, ru, wa) in samples[-1][1].items():
        run[group(n)] = run.get(group(n), 0) + ru
        wait[group(n)] = wait.get(group(n), 0) + wa
    print("\nseconds to all counted, on a CPU/runnable: "
          + ", ".join("%s %.2f/%.2f" % (n, run[n] / 1e9, wait[n] / 1e9) for n in sorted(run))
          + "; jvm %.2f, redis %.2f" % (samples[-1][2] - samples[0][2], samples[-1][3] - samples[0][3]))


if __name__ == "__main__":
    sys.exit(main())
