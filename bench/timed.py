#!/usr/bin/env python3
"""Runs one command for bench/run and reports its cost: wall seconds, peak
RSS (ru_maxrss of the child), user and system CPU seconds, exit status, and
the size of what it wrote to standard output (sent to --stdout FILE).

  timed.py --out JSON --stdout FILE -- COMMAND [ARGS...]
"""
import argparse
import json
import os
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--stdout", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    with open(a.stdout, "wb") as so:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=so)
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.monotonic() - t0
    res = {"command": " ".join(cmd), "seconds": secs, "max_rss_bytes": ru.ru_maxrss * 1024,
           "user_seconds": ru.ru_utime, "sys_seconds": ru.ru_stime,
           "exit": os.waitstatus_to_exitcode(status), "stdout_bytes": os.path.getsize(a.stdout)}
    with open(a.out, "w") as f:
        json.dump(res, f)
    return 0 if res["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
