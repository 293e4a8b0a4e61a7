#!/usr/bin/env python3
"""The wall in a real browser (headless Chromium over WebDriver).

Runs `ccpulse demo` against a redis-server of scripts/redis.sh with the wall
on a free port, loads the page and checks:
  1. the demo prints the wall's address first, the page and its files carry
     the Content-Security-Policy and nosniff headers;
  2. the figures appear, and change over time;
  3. they match the tiles in Redis read at the same moment (one MULTI/EXEC,
     the same publish cycle as the page shows), in two windows;
  4. the colours follow the configured rule (waiting > 3 warn);
  5. a queue named `<img src=x onerror=alert(1)>` (an event fed through the
     mock cluster) shows as those characters: no element made, no dialog;
  6. an alert XADDed to the alerts stream appears on the page within 1 s
     (three times; its rule name is markup, shown as text);
  7. a screenshot is saved (build/test-logs/wall.png);
  8. the page says "stale" within 3 s when Redis stops, and is live again
     after Redis comes back on the same port.
Usage: wall_browser.py <ccpulse-binary> <build-dir>. Exit 77 = skipped (no
chromium, chromedriver or redis-server), except in CI (CI=true): fail.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wall_lib as wl  # noqa: E402

BIN, BUILD = sys.argv[1], sys.argv[2]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(BUILD, "test-logs")
os.makedirs(LOGS, exist_ok=True)
XSS = "<img src=x onerror=alert(1)>"
fails = []


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    fails.append(msg)


def wait_for(what, fn, timeout, step=0.1):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            fail("%s: not within %.1f s" % (what, timeout))
            return None
        time.sleep(step)


def skip(why):
    if os.environ.get("CI") == "true":
        print("FAIL: %s (CI installs it: bash scripts/setup-deps.sh)" % why, file=sys.stderr)
        sys.exit(1)
    print("SKIP: " + why)
    sys.exit(77)


def redis_sh(*args):
    return subprocess.run(["bash", os.path.join(ROOT, "scripts/redis.sh")] + list(args),
                          capture_output=True, text=True, timeout=30)


def main():
    br = wl.find_browser()
    if not br:
        skip("chromium or chromedriver missing")
    if subprocess.run(["sh", "-c", "command -v redis-server"], capture_output=True).returncode:
        skip("redis-server missing")
    tmp = tempfile.mkdtemp(prefix="ccp_wall_test.")
    rdir = os.path.join(tmp, "redis")
    r = redis_sh("start", "--dir", rdir)
    if r.returncode:
        fail("cannot start redis: " + r.stderr)
        return
    url = r.stdout.strip().split("=", 1)[1]
    rport = int(url.rsplit(":", 1)[1])
    demo = browser = prod = None
    try:
        demo = wl.Demo(BIN, url, tmp, ["--rate", "8", "--set",
                                       "alerts.rules=wait_all: waiting all > 3 warn, > 100000 crit"])
        if not demo.first_line.startswith("ccpulse demo: wall at http://127.0.0.1:"):
            fail("first line is not the wall's address: %r" % demo.first_line)
        wall = demo.wall
        for path in ("", "wall.js", "wall.css", "events"):
            req = urllib.request.Request(wall + path, method="HEAD")
            with urllib.request.urlopen(req, timeout=5) as resp:
                csp = resp.headers.get("Content-Security-Policy", "")
                if "default-src 'self'" not in csp or "'unsafe-inline'" in csp:
                    fail("%s: Content-Security-Policy %r" % (path or "page", csp))
                if resp.headers.get("X-Content-Type-Options") != "nosniff":
                    fail("%s: no X-Content-Type-Options nosniff" % (path or "page"))
        browser = wl.Browser(br[0], br[1], tmp)
        browser.get(wall)
        rc = wl.Redis(rport)

        # 2. figures appear
        st = wait_for("page live with the 'all' tile",
                      lambda: (lambda p: p if p["state"] == "live" and "all" in p["scopes"]
                               and p["scopes"]["all"]["figs"]["open"]["value"] not in ("", "0")
                               else None)(wl.page_state(browser)), 20)
        if not st:
            return
        print("page live: %s, cycle %s, %d tiles" % (st["status"], st["cycle"], len(st["scopes"])))

        # 3. the same figures as the tiles of the same cycle, in two windows
        def match(window, need):
            hist, matched, diffs = {}, 0, []
            for _ in range(60):
                cyc, now_ms, tiles = wl.read_tiles(rc)
                hist[cyc] = (now_ms, tiles)
                p = wl.page_state(browser)
                pc = int(p["cycle"] or -1)
                if pc in hist and p["window"] == window:
                    d = wl.compare(p, hist[pc][1], hist[pc][0], window)
                    if d:
                        diffs.append("cycle %d: %s" % (pc, "; ".join(d[:5])))
                    else:
                        matched += 1
                        if matched >= need:
                            break
                time.sleep(0.02)
            if diffs:
                fail("window %s: the page differs from redis: %s" % (window, diffs[:3]))
            if matched < need:
                fail("window %s: only %d cycles compared (need %d)" % (window, matched, need))
            print("window %s: %d cycles match the tiles of redis" % (window, matched))

        match("15m", 3)
        browser.js("document.querySelector('button[data-window=\"today\"]').click();")
        match("today", 2)

        # 2b. change over time
        a = wl.page_state(browser)
        time.sleep(2.5)
        b = wl.page_state(browser)
        if int(b["cycle"]) <= int(a["cycle"]):
            fail("cycle did not move in 2.5 s: %s -> %s" % (a["cycle"], b["cycle"]))
        fa, fb = a["scopes"]["all"]["figs"], b["scopes"]["all"]["figs"]
        if all(fa[k]["text"] == fb[k]["text"] for k in fa):
            fail("no figure of 'all' changed in 2.5 s")

        # 4. colours from the rule: waiting all > 3 warn
        p = wl.page_state(browser)
        w = p["scopes"]["all"]["figs"]["waiting"]
        if w["value"] and float(w["value"]) > 3 and "level-warning" not in w["cls"]:
            fail("waiting %s > 3 but not coloured warning (class %r)" % (w["value"], w["cls"]))
        if w["value"] and float(w["value"]) <= 3 and "level-" in w["cls"]:
            fail("waiting %s <= 3 but coloured (class %r)" % (w["value"], w["cls"]))

        # 5. a hostile queue name is text
        prod = wl.Producer(BIN, demo.brokers, tmp)
        now = int(time.time() * 1000)
        prod.send({"event_id": "xss-1", "ticket_id": "xss-t1", "type": "OPENED", "ts": now,
                   "channel": "CHAT", "queue": XSS, "customer_id": "c-xss"})
        tile = wait_for("the hostile queue's tile", lambda: wl.page_state(browser)["scopes"].get("queue:" + XSS), 10)
        if tile:
            if tile["name"] != XSS:
                fail("queue name shown as %r, not %r" % (tile["name"], XSS))
            opt = browser.js("return Array.from(document.querySelectorAll('#filter option')).map(o => o.textContent);")
            if "queue: " + XSS not in opt:
                fail("queue filter has no option %r: %r" % ("queue: " + XSS, opt[:5]))
        if browser.js("return document.querySelectorAll('img, script:not([src])').length;") != 0:
            fail("markup from data became elements")
        if browser.alert_open() is not None:
            fail("a JavaScript dialog opened: %r" % browser.alert_open())

        # 6. alerts within 1 s of reaching the stream
        delays = []
        for i in range(3):
            aid = "wall-test-%d-%d" % (i, now)
            doc = {"id": aid, "type": "threshold", "rule": "<b>wall_test</b>", "level": "critical",
                   "previous": "ok", "kpi": "waiting", "scope": "queue:" + XSS, "window": None,
                   "value": 7, "op": ">", "threshold": 5, "hysteresis": 0, "now_ms": now}
            t0 = time.time() * 1000
            rc.call("XADD", "ccpulse:alerts", "*", "json", json.dumps(doc))
            li = wait_for("alert %s on the page" % aid, lambda: browser.js(
                "const e = document.querySelector('[data-alert-id=\"' + arguments[0] + '\"]');"
                "return e ? {shown: Number(e.dataset.shownMs), text: e.textContent} : null;", aid), 3, 0.05)
            if li:
                delays.append(li["shown"] - t0)
                if "<b>wall_test</b>" not in li["text"]:
                    fail("alert text %r lacks the rule name as text" % li["text"])
            time.sleep(0.3)
        if delays:
            print("alert stream -> page: %s ms" % ", ".join("%.0f" % d for d in delays))
            if max(delays) >= 1000:
                fail("an alert took %.0f ms to appear (limit 1000)" % max(delays))
        if browser.js("return document.querySelectorAll('#alerts b').length;") != 0:
            fail("alert markup became elements")

        # 7. screenshot
        browser.js("document.querySelector('button[data-window=\"15m\"]').click();")
        time.sleep(0.6)
        shot = os.path.join(LOGS, "wall.png")
        browser.screenshot(shot)
        print("screenshot: %s" % shot)

        # 8. stale when Redis stops, live again when it is back
        rc.close()
        t0 = time.time()
        redis_sh("stop", "--dir", rdir)
        p = wait_for("stale mark after redis stopped", lambda: (lambda q: q if q["state"] == "stale" else None)(
            wl.page_state(browser)), 3)
        if p:
            print("stale %.1f s after redis stopped: %s" % (time.time() - t0, p["status"]))
            if "STALE" not in p["status"]:
                fail("status text %r lacks STALE" % p["status"])
        r = redis_sh("start", "--dir", rdir, "--port", str(rport))
        if r.returncode:
            fail("cannot restart redis: " + r.stderr)
        else:
            t1 = time.time()
            if wait_for("live again after redis came back", lambda: wl.page_state(browser)["state"] == "live", 15):
                print("live again %.1f s after redis restarted" % (time.time() - t1))
    finally:
        rc_ = wl.cleanup(prod, browser, demo, rdir)
        if rc_ not in (0, None):
            fail("demo exited %s (stderr in %s)" % (rc_, os.path.join(tmp, "demo.err")))
        if fails:
            for f in ("demo.out", "demo.err"):
                try:
                    with open(os.path.join(tmp, f)) as fh:
                        sys.stderr.write("--- %s (tail)\n%s\n" % (f, "".join(fh.readlines()[-15:])))
                except OSError:
                    pass
        else:
            subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    t = time.time()
    main()
    print("t_wall_browser: %s in %.1f s" % ("FAILED" if fails else "ok", time.time() - t))
    sys.exit(1 if fails else 0)
