#!/usr/bin/env python3
"""How long an event takes to reach the wall page (docs/wall.md).

Starts a redis-server (scripts/redis.sh), `ccpulse demo --redis URL --rate R`
(background traffic, the wall on a free port), headless Chromium on the
wall, and `ccpulse produce -` into the demo's mock cluster. Then, N times at
random 300-700 ms gaps: note the wall clock T0, produce one OPENED event of
queue `bench-latency`; a thread polls Redis every 2 ms for the queue's
gauges tile (T1: the tile counts it), the browser polls the page for the
`open` figure of that queue, whose element records Date.now() when its text
changes (T2). Prints p50/p90/p99/max of event -> Redis tile (T1-T0, the
baseline: what a direct Redis reader sees, measured side by side) and
event -> number changed on the page (T2-T0), one JSON line at the end.

Usage: bench/wall_latency.py BIN [--samples N] [--rate R]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import wall_lib as wl  # noqa: E402

QUEUE = "bench-latency"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))]  # nearest rank


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--rate", type=float, default=20)
    a = ap.parse_args()
    br = wl.find_browser()
    if not br:
        sys.exit("chromium or chromedriver missing: bash scripts/setup-deps.sh")
    tmp = tempfile.mkdtemp(prefix="ccp_wall_bench.")
    rdir = os.path.join(tmp, "redis")
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts/redis.sh"), "start", "--dir", rdir],
                       capture_output=True, text=True, check=True)
    url = r.stdout.strip().split("=", 1)[1]
    rport = int(url.rsplit(":", 1)[1])
    demo = browser = prod = None
    try:
        demo = wl.Demo(a.bin, url, tmp, ["--rate", str(a.rate)])
        browser = wl.Browser(br[0], br[1], tmp)
        browser.get(demo.wall + "#w=5m&q=queue:" + QUEUE)
        prod = wl.Producer(a.bin, demo.brokers, tmp)
        rc = wl.Redis(rport)
        key = "ccpulse:v1:gauges:queue:" + QUEUE

        def redis_open():
            g = rc.call("GET", key)
            return json.loads(g)["open"] if g else 0

        def page_open():
            return browser.js(
                "const t = document.querySelector('.tile[data-scope=\"queue:" + QUEUE + "\"]');"
                "if (!t) return null; const v = t.querySelector('.fig[data-kpi=\"open\"] .val');"
                "return {v: v.dataset.value, changed: Number(v.dataset.changedMs || 0)};")

        seq = [0]

        def produce():
            seq[0] += 1
            t0 = time.time() * 1000
            prod.send({"event_id": "lat-%d" % seq[0], "ticket_id": "lat-t%d" % seq[0], "type": "OPENED",
                       "ts": int(t0), "channel": "CHAT", "queue": QUEUE, "customer_id": "c-lat"})
            return t0

        produce()  # the queue's first event: its tile appears with the next scope list
        deadline = time.time() + 20
        while time.time() < deadline:
            p = page_open()
            if p and p["v"] == "1":
                break
            time.sleep(0.1)
        else:
            sys.exit("the bench queue's tile did not appear on the page")
        to_redis, to_page = [], []
        for i in range(a.samples):
            want = seq[0] + 1
            got = {}

            def watch():
                end = time.time() + 5
                while time.time() < end:
                    if redis_open() >= want:
                        got["redis"] = time.time() * 1000
                        return
                    time.sleep(0.002)

            th = threading.Thread(target=watch)
            th.start()
            t0 = produce()
            end = time.time() + 5
            while time.time() < end:
                p = page_open()
                if p and p["v"] and int(float(p["v"])) >= want:
                    to_page.append(p["changed"] - t0)
                    break
                time.sleep(0.02)
            th.join()
            if "redis" in got:
                to_redis.append(got["redis"] - t0)
            time.sleep(random.uniform(0.3, 0.7))
        res = {"samples": a.samples, "rate": a.rate, "page_n": len(to_page), "redis_n": len(to_redis)}
        for name, xs in (("redis", to_redis), ("page", to_page)):
            if xs:
                res.update({"%s_p50_ms" % name: round(pct(xs, 50), 1), "%s_p90_ms" % name: round(pct(xs, 90), 1),
                            "%s_p99_ms" % name: round(pct(xs, 99), 1), "%s_max_ms" % name: round(max(xs), 1)})
        print("event -> redis tile : p50 %s ms, p90 %s ms, p99 %s ms, max %s ms (%d samples)" % (
            res.get("redis_p50_ms"), res.get("redis_p90_ms"), res.get("redis_p99_ms"), res.get("redis_max_ms"), len(to_redis)))
        print("event -> page figure: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms (%d samples)" % (
            res.get("page_p50_ms"), res.get("page_p90_ms"), res.get("page_p99_ms"), res.get("page_max_ms"), len(to_page)))
        print(json.dumps(res))
    finally:
        wl.cleanup(prod, browser, demo, rdir)
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
