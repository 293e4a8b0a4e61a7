#!/usr/bin/env python3
"""Samples a process and Redis at a fixed period for bench/run: the CPU time
(user + system, /proc/PID/stat), RSS (/proc/PID/status VmRSS) and minor
page faults (/proc/PID/stat) of the process, and Redis' INFO counters
total_net_input_bytes (bytes clients wrote to Redis) and used_memory. One
JSON array per line: [wall_ms, cpu_seconds, rss_bytes,
redis_net_input_bytes, redis_used_memory, minor_faults].
Stops when the process is gone or on SIGTERM/SIGINT. bench/report.py turns
two samples into CPU cores (cpu delta / wall delta), minor page faults
per second and Redis bytes/s.

  sample_proc.py --pid PID --url redis://127.0.0.1:P [--every S] --out FILE
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_watch import Resp  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_and_faults(pid):
    """CPU seconds (utime + stime, fields 14 and 15) and minor faults (field 10)."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()  # after "(comm)": field 3 onwards
    return (int(rest[11]) + int(rest[12])) / float(TICK), int(rest[7])


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def redis_info(r):
    info = r.cmd("INFO", "all").decode()
    vals = {}
    for line in info.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            vals[k] = v
    return int(vals.get("total_net_input_bytes", 0)), int(vals.get("used_memory", 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--every", type=float, default=0.5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    hostport = a.url.split("://", 1)[-1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    r = Resp(host, int(port))
    with open(a.out, "w", buffering=1) as out:
        while not stop:
            try:
                wall = time.time() * 1000.0
                cpu, minflt = cpu_and_faults(a.pid)
                rss = rss_bytes(a.pid)
            except (OSError, IndexError, ValueError):
                break
            nin, mem = redis_info(r)
            out.write("[%.1f,%.3f,%s,%d,%d,%d]\n" % (wall, cpu, rss if rss is not None else "null", nin, mem,
                                                     minflt))
            time.sleep(a.every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
