#!/usr/bin/env python3
"""Checks the snapshot documents of a flood run (bench/flood.sh): every
document must be valid UTF-8 and strict JSON (no NaN/Infinity) and an object.
Reads one document per line from a file (`ccpulse replay --every` output), or
every entry of the Redis snapshot stream (--redis URL). Prints one JSON object:
{"documents": n, "invalid": n, "first_error": str|null, "max_bytes": n,
 "diagnostics": <diagnostics of the last valid document, whatever keys it has>,
 "scopes": {"agent": n, "queue": n, ...} of the last valid document,
 "overflow_scopes": [names ending in "~other"]}

  flood_check.py FILE
  flood_check.py --redis redis://127.0.0.1:P [--prefix ccpulse:]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def no_constant(name):
    raise ValueError("non-JSON number constant %s" % name)


def documents(a):
    if a.redis:
        from redis_watch import Resp
        host, port = a.redis.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
        r = Resp(host, int(port))
        last = "-"
        while True:  # XRANGE in pages: documents may be large
            page = r.cmd("XRANGE", a.prefix + "snapshots", last, "+", "COUNT", "20")
            if not page:
                return
            for entry_id, fields in page:
                kv = dict(zip(fields[::2], fields[1::2]))
                yield kv.get(b"json", b"")
            last = "(" + page[-1][0].decode()
    else:
        with open(a.file, "rb") as f:
            for line in f:
                if line.strip():
                    yield line.rstrip(b"\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?")
    ap.add_argument("--redis")
    ap.add_argument("--prefix", default="ccpulse:")
    a = ap.parse_args()
    res = {"documents": 0, "invalid": 0, "first_error": None, "max_bytes": 0,
           "diagnostics": None, "scopes": {}, "overflow_scopes": []}
    last = None
    for raw in documents(a):
        res["documents"] += 1
        res["max_bytes"] = max(res["max_bytes"], len(raw))
        try:
            doc = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
            last = doc
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError included
            res["invalid"] += 1
            if res["first_error"] is None:
                res["first_error"] = "document %d: %s" % (res["documents"], str(e)[:200])
    if last is not None:
        res["diagnostics"] = last.get("diagnostics")
        for name in last.get("scopes", {}):
            kind = name.split(":", 1)[0] if ":" in name else name
            res["scopes"][kind] = res["scopes"].get(kind, 0) + 1
            if name.endswith("~other"):
                res["overflow_scopes"].append(name)
    json.dump(res, sys.stdout)
    print()
    return 1 if res["invalid"] or not res["documents"] else 0


if __name__ == "__main__":
    sys.exit(main())
