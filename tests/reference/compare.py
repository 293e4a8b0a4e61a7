#!/usr/bin/env python3
"""Compares two ccpulse snapshot streams (one JSON document per line).

  python3 compare.py [--score-rel R] A B

Line n of A is compared with line n of B:
  * the same scopes: a scope missing on one side counts as all zero / null
    (docs/kpis.md §5: a scope with no non-zero value may be left out);
  * in a window object a KPI missing on one side counts as zero / null, so
    the other side must be 0 or null there (docs/kpis.md §5: ccpulse leaves
    out zero counts and null values; the reference engine prints them);
  * the same keys everywhere else;
  * integers exactly; other numbers (averages, ratios, score, retention)
    within 1e-9 relative;
  * percentiles (`*_p50_ms`, `*_p90_ms`, `*_p99_ms`) within 1 % relative
    (the engine keeps a log-bucketed sketch of 1 % error; values below
    128 ms are exact there, so both below 128 must be equal);
  * `customers_handled` within 1 + 4 n^2 / 2^33 (n the larger count): the
    engine counts 32-bit hashes per scope, so a hash collision makes it low
    by one with probability about n^2 / 2^33 (semantics.md §6); an
    off-by-one elsewhere in small windows still shows.
--score-rel R allows `score` within R relative, for a scorecard with a
percentile term (whose attainment inherits the sketch's 1 %).
Prints the first 20 differences with their path (line, scope, window, key,
both values), then `N passed, N failed` over the compared snapshots; exits
1 on any difference.
"""

import json
import sys

MAX_SHOWN = 20
REL = 1e-9
PCT_REL = 0.01
SCORE_REL = REL
EXACT_BELOW = 128


def is_percentile(key):
    return key.endswith(("_p50_ms", "_p90_ms", "_p99_ms"))


def zeroish(v):
    """What a left-out scope stands for: zero counts, null averages."""
    if v is None or v is False:
        return True
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v == 0
    if isinstance(v, dict):
        return all(zeroish(x) for k, x in v.items() if k != "period_ms")
    return False


def num_equal(key, a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_percentile(key):
        if a < EXACT_BELOW and b < EXACT_BELOW:
            return a == b
        return abs(a - b) <= PCT_REL * max(abs(a), abs(b)) * (1 + 1e-12)
    if key == "score":
        return abs(a - b) <= SCORE_REL * max(abs(a), abs(b))
    if key == "customers_handled":
        n = max(abs(a), abs(b))
        return abs(a - b) <= 1 + 4 * n * n / 2.0 ** 33
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if a == b:
        return True
    return abs(a - b) <= REL * max(abs(a), abs(b))


class Diff:
    def __init__(self):
        self.lines = []
        self.count = 0

    def add(self, path, a, b):
        self.count += 1
        if self.count <= MAX_SHOWN:
            self.lines.append("%s: A=%s B=%s" % (
                " ".join(path), json.dumps(a), json.dumps(b)))


MISSING = object()


def show(v):
    return "<missing>" if v is MISSING else v


def in_window(path):
    """True for a value inside a window object (or its channel shares)."""
    return len(path) > 1 and (path[-2].startswith("window ")
                              or path[-2] == "channel_share_pct")


def compare_values(path, a, b, diff):
    key = path[-1]
    if (a is MISSING or b is MISSING) and in_window(path) and zeroish(
            b if a is MISSING else a):
        return                  # a zero or null KPI may be left out
    if a is MISSING or b is MISSING:
        diff.add(path, show(a), show(b))
    elif isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            compare_values(path + [k], a.get(k, MISSING), b.get(k, MISSING),
                           diff)
    elif (isinstance(a, (int, float)) and isinstance(b, (int, float))
          and not isinstance(a, bool) and not isinstance(b, bool)):
        if not num_equal(key, a, b):
            diff.add(path, a, b)
    elif a != b:
        diff.add(path, a, b)


def compare_missing_scope(path, present, side_a, diff):
    """A scope on one side only: every value of it must be zero / null."""
    def walk(p, v):
        if isinstance(v, dict) and p[-1] == "windows":
            for k, x in v.items():
                walk(p[:-1] + ["window " + k], x)
        elif isinstance(v, dict) and p[-1] != "channel_share_pct":
            for k, x in v.items():
                walk(p + [k], x)
        elif not zeroish(v) and p[-1] != "period_ms":
            if side_a:
                diff.add(p, v, "<scope missing>")
            else:
                diff.add(p, "<scope missing>", v)
    walk(path, present)


def compare_snapshot(lineno, a, b, diff):
    path = ["line %d" % lineno]
    for k in list(a) + [k for k in b if k not in a]:
        va, vb = a.get(k, MISSING), b.get(k, MISSING)
        if k == "scopes" and isinstance(va, dict) and isinstance(vb, dict):
            for s in list(va) + [s for s in vb if s not in va]:
                p = path + ["scope " + s]
                if s not in vb:
                    compare_missing_scope(p, va[s], True, diff)
                elif s not in va:
                    compare_missing_scope(p, vb[s], False, diff)
                else:
                    compare_scope(p, va[s], vb[s], diff)
        else:
            compare_values(path + [k], va, vb, diff)


def compare_scope(path, a, b, diff):
    for k in list(a) + [k for k in b if k not in a]:
        va, vb = a.get(k, MISSING), b.get(k, MISSING)
        if k == "windows" and isinstance(va, dict) and isinstance(vb, dict):
            for w in list(va) + [w for w in vb if w not in va]:
                compare_values(path + ["window " + w], va.get(w, MISSING),
                               vb.get(w, MISSING), diff)
        else:
            compare_values(path + [k], va, vb, diff)


def compare_streams(lines_a, lines_b, out=sys.stdout):
    """Returns (passed, failed, number of differences)."""
    diff = Diff()
    passed = failed = 0
    n = max(len(lines_a), len(lines_b))
    for i in range(n):
        before = diff.count
        if i >= len(lines_a) or i >= len(lines_b):
            diff.add(["line %d" % (i + 1)],
                     "<no line>" if i >= len(lines_a) else "<a snapshot>",
                     "<no line>" if i >= len(lines_b) else "<a snapshot>")
        else:
            try:
                a = json.loads(lines_a[i])
                b = json.loads(lines_b[i])
            except ValueError as exc:
                diff.add(["line %d" % (i + 1)], "<invalid JSON>", str(exc))
            else:
                compare_snapshot(i + 1, a, b, diff)
        if diff.count == before:
            passed += 1
        else:
            failed += 1
    for line in diff.lines:
        out.write(line + "\n")
    if diff.count > MAX_SHOWN:
        out.write("... and %d more differences\n" % (diff.count - MAX_SHOWN))
    out.write("%d passed, %d failed\n" % (passed, failed))
    return passed, failed, diff.count


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line for line in f.read().splitlines() if line.strip()]


def main(argv):
    global SCORE_REL
    argv = list(argv)
    if len(argv) == 5 and argv[1] == "--score-rel":
        SCORE_REL = float(argv[2])
        del argv[1:3]
    if len(argv) != 3:
        sys.stderr.write("usage: compare.py [--score-rel R] A B\n")
        return 2
    _, _, count = compare_streams(read_lines(argv[1]), read_lines(argv[2]))
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
