#!/usr/bin/env python3
"""Checks a Prometheus text exposition (format 0.0.4) read from a file and
prints its samples as JSON ({"name{labels}": value}) on stdout.

Every line must be a HELP or TYPE comment or a sample that parses; every
sample's family must have HELP and TYPE lines before it; counters end in
_total; a histogram's buckets are cumulative, end with le="+Inf" and equal
its _count. Exit status 1 with the problems on stderr otherwise.

    python3 tests/prom_check.py FILE
"""
import json
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)(?: -?\d+)?$" % (NAME, LABEL, LABEL))
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def main():
    problems, samples, helps, types = [], {}, set(), {}
    for n, line in enumerate(open(sys.argv[1], encoding="utf-8").read().split("\n"), 1):
        if line == "":
            continue
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                problems.append("line %d: bad HELP: %r" % (n, line))
            else:
                helps.add(parts[2])
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in TYPES:
                problems.append("line %d: bad TYPE: %r" % (n, line))
            else:
                types[parts[2]] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append("line %d: not a sample: %r" % (n, line))
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        try:
            v = float(value)
        except ValueError:
            problems.append("line %d: bad value: %r" % (n, line))
            continue
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                fam = name[: -len(suffix)]
        if fam not in helps or fam not in types:
            problems.append("line %d: %s has no HELP or TYPE before it" % (n, fam))
        if types.get(fam) == "counter" and not fam.endswith("_total"):
            problems.append("line %d: counter %s does not end in _total" % (n, fam))
        if types.get(fam) == "counter" and v < 0:
            problems.append("line %d: negative counter" % n)
        samples[name + labels] = v
    for fam, t in types.items():
        if t != "histogram":
            continue
        bounds = []
        for key, v in samples.items():
            m = re.fullmatch(re.escape(fam) + r'_bucket\{le="([^"]+)"\}', key)
            if m:
                bounds.append((math.inf if m.group(1) == "+Inf" else float(m.group(1)), v))
        bounds.sort()
        if not bounds or bounds[-1][0] != math.inf:
            problems.append("%s: no +Inf bucket" % fam)
            continue
        if any(b[1] > c[1] for b, c in zip(bounds, bounds[1:])):
            problems.append("%s: buckets not cumulative" % fam)
        if samples.get(fam + "_count") != bounds[-1][1]:
            problems.append("%s: _count differs from the +Inf bucket" % fam)
        if fam + "_sum" not in samples:
            problems.append("%s: no _sum" % fam)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    json.dump(samples, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
