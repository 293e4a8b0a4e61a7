#!/usr/bin/env python3
"""Finds the shortest prefix of an event file on which `ccpulse replay` and
the reference engine disagree (final snapshots, no --every).

  python3 bisect_diff.py CCPULSE CONFIG EVENTS.jsonl [--match TEXT] [--hi N]

--match keeps only differences whose printed path contains TEXT (e.g.
`retention_pct`, `scope all window 1h sla_breaches`). Bisection assumes that
once the two sides disagree they keep disagreeing; the answer is verified
(the prefix of K records differs, the prefix of K-1 does not) and printed
with the last records, the differences, and the history of the last
record's ticket within the prefix.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare  # noqa: E402
import ref_engine  # noqa: E402


def differences(ccpulse, config, lines, match, tmpdir):
    path = os.path.join(tmpdir, "prefix.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    c_out = subprocess.run([ccpulse, "replay", "--config", config, path],
                           check=True, capture_output=True, text=True).stdout
    cfg = ref_engine.Config()
    cfg.load(config)
    r_out = io.StringIO()
    ref_engine.replay(lines, cfg, None, r_out)
    report = io.StringIO()
    compare.MAX_SHOWN = 10 ** 9
    compare.compare_streams(r_out.getvalue().splitlines(),
                            c_out.splitlines(), report)
    diffs = [x for x in report.getvalue().splitlines()
             if x.startswith("line ") and (not match or match in x)]
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ccpulse")
    ap.add_argument("config")
    ap.add_argument("events")
    ap.add_argument("--match", default="")
    ap.add_argument("--hi", type=int, default=0,
                    help="a prefix length known to differ (default: all)")
    args = ap.parse_args()
    with open(args.events, encoding="utf-8") as f:
        lines = f.readlines()
    with tempfile.TemporaryDirectory() as tmp:
        def bad(k):
            return bool(differences(args.ccpulse, args.config, lines[:k],
                                    args.match, tmp))
        hi = args.hi or len(lines)
        if not bad(hi):
            print("no difference on the first %d records" % hi)
            return 0
        lo = 0                      # lines[:lo] agree, lines[:hi] differ
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if bad(mid):
                hi = mid
            else:
                lo = mid
        print("first differing prefix: %d records (record %d of the file)"
              % (hi, hi))
        print("-- last records:")
        for line in lines[max(0, hi - 5):hi]:
            print("   " + line.rstrip())
        last = json.loads(lines[hi - 1])
        print("-- differences:")
        for d in differences(args.ccpulse, args.config, lines[:hi],
                             args.match, tmp)[:20]:
            print("   " + d)
        print("-- ticket %s in the prefix:" % last["ticket_id"])
        for n, line in enumerate(lines[:hi], 1):
            if json.loads(line)["ticket_id"] == last["ticket_id"]:
                print("   %6d %s" % (n, line.rstrip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
