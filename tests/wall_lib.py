"""Helpers of the wall's browser test and latency bench (stdlib only).

- Browser: headless Chromium driven by chromedriver's WebDriver HTTP protocol
  (urllib + json; no selenium).
- Redis: a minimal RESP client over a socket (commands as arrays).
- Demo: `ccpulse demo` started against a given Redis with the wall on a free
  port, its addresses parsed from its first lines.
- page_state(): the figures the page shows, read from the DOM.
- fmt_*: the page's formatting (web/wall.js), to check the text shown.

Used by tests/wall_browser.py and bench/wall_latency.py.
"""
import base64
import decimal
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import redis_watch  # noqa: E402  (its RESP client)

CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1600,1000"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def find_browser():
    """(chromium, chromedriver) paths, or None when either is missing."""
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chrome, driver) if chrome and driver else None


class WebDriverError(Exception):
    pass


class Browser:
    """One chromedriver process and one session of headless Chromium."""

    def __init__(self, chrome, driver, logdir):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="ccp_wall_chrome.", dir=logdir)
        self.log = open(os.path.join(logdir, "chromedriver.log"), "w")
        self.proc = subprocess.Popen([driver, "--port=%d" % self.port],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.time() + 15
        while True:
            try:
                self._req("GET", "/status")
                break
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise WebDriverError("chromedriver did not start (log: %s)" % self.log.name)
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chrome,
                                   "args": CHROME_FLAGS + ["--user-data-dir=" + self.profile]}}}}
        try:
            v = self._req("POST", "/session", caps)
        except Exception:
            self.close()
            raise
        self.sid = v["sessionId"]

    def _req(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode())["value"]
        except urllib.error.HTTPError as e:
            try:
                v = json.loads(e.read().decode())["value"]
                raise WebDriverError("%s: %s" % (v.get("error"), v.get("message", "")[:300]))
            except (ValueError, KeyError):
                raise WebDriverError("HTTP %d on %s %s" % (e.code, method, path))

    def s(self, method, path, body=None):
        return self._req(method, "/session/%s%s" % (self.sid, path), body)

    def get(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def alert_open(self):
        """The text of an open JavaScript dialog, or None."""
        try:
            return self.s("GET", "/alert/text")
        except WebDriverError as e:
            if "no such alert" in str(e):
                return None
            raise

    def screenshot(self, path):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def close(self):
        try:
            if getattr(self, "sid", None):
                self._req("DELETE", "/session/%s" % self.sid, timeout=10)
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class Redis:
    """bench/redis_watch.py's RESP client with replies as text:
    call("GET", "k") -> str/int/list/None; errors raise."""

    def __init__(self, port, host="127.0.0.1"):
        self.r = redis_watch.Resp(host, port)

    def call(self, *args):
        return _text(self.r.cmd(*args))

    def close(self):
        self.r.s.close()


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list):
        return [_text(x) for x in v]
    return v


WINDOWS = ["5m", "15m", "1h", "today"]


def read_tiles(r, prefix="ccpulse:"):
    """One publish cycle's tiles, read in one MULTI/EXEC like the wall server:
    (cycle, now_ms, {scope: {"gauges": dict|None, "windows": {w: dict}}})."""
    # the scope set's scores keep agents at 1: channels and queues are 2 and up
    scopes = ["all"] + [s for s in r.call("ZRANGEBYSCORE", prefix + "v1:scope_set", "2", "+inf") or []
                        if not s.startswith("agent:") and s != "all"]
    keys = []
    for s in scopes:
        keys.append(prefix + "v1:gauges:" + s)
        keys += [prefix + "v1:kpi:%s:%s" % (s, w) for w in WINDOWS]
    r.call("MULTI")  # one cycle: the publisher writes each in one MULTI/EXEC
    r.call("HMGET", prefix + "v1:meta", "cycle", "now_ms")
    r.call("MGET", *keys)
    meta, vals = r.call("EXEC")
    out = {}
    for i, s in enumerate(scopes):
        g = vals[i * 5]
        out[s] = {"gauges": json.loads(g) if g else None,
                  "windows": {w: json.loads(vals[i * 5 + 1 + j] or "{}")
                              for j, w in enumerate(WINDOWS)}}
    return int(meta[0]), int(meta[1]), out


PAGE_STATE_JS = """
const out = {cycle: document.body.dataset.cycle || null, state: document.body.dataset.state,
             window: document.body.dataset.window, now: Date.now(),
             status: document.getElementById('status').textContent, scopes: {}};
for (const t of document.querySelectorAll('.tile')) {
  const f = {};
  for (const fig of t.querySelectorAll('.fig')) {
    const v = fig.querySelector('.val');
    f[fig.dataset.kpi] = {value: v.dataset.value, text: v.textContent, cls: fig.className,
                          changed: Number(v.dataset.changedMs || 0)};
  }
  out.scopes[t.dataset.scope] = {name: t.querySelector('.name').textContent, figs: f,
                                 cls: t.className, hidden: t.hidden};
}
return out;
"""


def page_state(b):
    return b.js(PAGE_STATE_JS)


# The page's formatting (web/wall.js fmt()).
def _fixed(v, digits):
    q = decimal.Decimal(1).scaleb(-digits)
    d = decimal.Decimal(v).quantize(q, rounding=decimal.ROUND_HALF_UP)  # toFixed on the exact double
    return format(d, "f")


def fmt_pct(v):
    return "\u2014" if v is None else _fixed(v, 1) + "%"


def fmt_count(v):
    return "\u2014" if v is None else str(int(decimal.Decimal(v).quantize(0, decimal.ROUND_HALF_UP)))


ZERO_WHEN_MISSING = {"waiting", "open", "sla_breaches"}
FIGS = [("service_level_pct", "w", fmt_pct), ("waiting", "g", fmt_count),
        ("longest_wait_ms", "g", None), ("open", "g", fmt_count), ("frt_avg_ms", "w", None),
        ("abandon_pct", "w", fmt_pct), ("sla_breaches", "w", fmt_count), ("csat_pct", "w", fmt_pct)]


def expected(tile, now_ms, kpi, src, window):
    """The value the page must show for kpi of a scope's tiles (None = no data)."""
    if src == "g":
        g = tile["gauges"]
        if kpi == "longest_wait_ms":
            return None if not g or g.get("waiting_since_ms") is None else now_ms - g["waiting_since_ms"]
        if not g or kpi not in g:
            return 0 if kpi in ZERO_WHEN_MISSING else None
        return g[kpi]
    w = tile["windows"].get(window) or {}
    if kpi not in w:
        return 0 if kpi in ZERO_WHEN_MISSING else None
    return w[kpi]


def compare(page, tiles, now_ms, window):
    """Differences between the page's figures and the tiles: list of strings."""
    diffs = []
    for scope, tile in tiles.items():
        ps = page["scopes"].get(scope)
        if ps is None:
            diffs.append("scope %r not on the page" % scope)
            continue
        for kpi, src, fmt in FIGS:
            want = expected(tile, now_ms, kpi, src, window)
            got = ps["figs"][kpi]
            gv = None if got["value"] == "" else float(got["value"])
            if (want is None) != (gv is None) or (want is not None and float(want) != gv):
                diffs.append("%s %s: page %r, redis %r" % (scope, kpi, got["value"], want))
            elif fmt and got["text"] != fmt(want):
                diffs.append("%s %s: page shows %r, expected %r" % (scope, kpi, got["text"], fmt(want)))
    for scope in page["scopes"]:
        if scope not in tiles:
            diffs.append("scope %r on the page, not in redis" % scope)
    return diffs


class Demo:
    """`ccpulse demo` against a given Redis, the wall on a free port."""

    def __init__(self, binary, redis_url, logdir, extra=()):
        self.out = open(os.path.join(logdir, "demo.out"), "w+")
        self.err = open(os.path.join(logdir, "demo.err"), "w")
        self.proc = subprocess.Popen([binary, "demo", "--redis", redis_url, "--listen", "127.0.0.1:0"]
                                     + list(extra), stdout=self.out, stderr=self.err)
        deadline = time.time() + 20
        self.wall = self.brokers = None
        while time.time() < deadline and (self.wall is None or self.brokers is None):
            time.sleep(0.1)
            self.out.seek(0)
            lines = self.out.read().splitlines()
            if lines and lines[0].startswith("ccpulse demo: wall at "):
                self.wall = lines[0].split(" wall at ")[1].strip()
            for ln in lines:
                if ln.startswith("ccpulse demo: mock Kafka at "):
                    self.brokers = ln.split(" at ")[1].split()[0]
            if self.proc.poll() is not None:
                break
        self.first_line = lines[0] if lines else ""
        if self.wall is None or self.brokers is None:
            self.stop()
            raise RuntimeError("demo did not print the wall's address first (stdout: %r)" % lines[:3])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()
        return self.proc.returncode


class Producer:
    """`ccpulse produce -` into the demo's mock cluster, fed line by line."""

    def __init__(self, binary, brokers, logdir):
        self.log = open(os.path.join(logdir, "produce.log"), "w")
        self.proc = subprocess.Popen([binary, "produce", "--brokers", brokers, "--topic", "tickets",
                                      "--set", "kafka.linger.ms=0", "-"],
                                     stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT)

    def send(self, ev):
        self.proc.stdin.write((json.dumps(ev) + "\n").encode())
        self.proc.stdin.flush()

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(15)
        except Exception:
            self.proc.kill()
        self.log.close()
        return self.proc.returncode


def cleanup(prod, browser, demo, rdir):
    """Stops what a test or bench started (None where it did not get so far);
    returns the demo's exit status (None when there was no demo)."""
    if prod:
        prod.close()
    if browser:
        browser.close()
    rc = demo.stop() if demo else None
    subprocess.run(["bash", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                         "scripts/redis.sh"), "stop", "--dir", rdir], capture_output=True)
    return rc
