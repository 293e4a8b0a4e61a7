"""Self-test of compare.py. Run: python3 -m unittest (from this directory)."""

import copy
import io
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare as C  # noqa: E402

BASE = {
    "schema": "ccpulse.snapshot.v1", "now_ms": 1000,
    "windows": {"1h": {"span_ms": 3600000, "granularity_ms": 60000,
                       "start_ms": 0}},
    "scopes": {
        "all": {"gauges": {"open": 1, "waiting": 1, "longest_wait_ms": 5,
                           "backlog_aged": 0},
                "windows": {"1h": {"opened": 3, "frt_avg_ms": 1000.5,
                                   "frt_p90_ms": 20000, "frt_p50_ms": 100,
                                   "csat_pct": None,
                                   "channel_share_pct": {"PHONE": 100.0}}},
                "customers": {"period_ms": 5, "retention_pct": 50.0,
                              "churn_pct": 50.0}},
        "agent:a": {"gauges": {"open": 0, "waiting": 0,
                               "longest_wait_ms": None, "backlog_aged": 0},
                    "windows": {"1h": {"opened": 0, "qa_error_rate": 0.0,
                                       "score": None}}}},
    "diagnostics": {"events": 3, "late_events": 0}}


def run(a_docs, b_docs):
    out = io.StringIO()
    res = C.compare_streams([json.dumps(d) for d in a_docs],
                            [json.dumps(d) for d in b_docs], out)
    return res, out.getvalue()


class Compare(unittest.TestCase):

    def test_identical(self):
        (p, f, n), text = run([BASE, BASE], [BASE, BASE])
        self.assertEqual((p, f, n), (2, 0, 0))
        self.assertIn("2 passed, 0 failed", text)

    def test_tolerances(self):
        b = copy.deepcopy(BASE)
        w = b["scopes"]["all"]["windows"]["1h"]
        w["frt_p90_ms"] = 20199.0          # within 1 %
        w["frt_avg_ms"] = 1000.5 * (1 + 1e-12)
        self.assertEqual(run([BASE], [b])[0][2], 0)
        w["frt_p90_ms"] = 20250            # 1.2 %: too far
        self.assertEqual(run([BASE], [b])[0][2], 1)
        w["frt_p90_ms"] = 20000
        w["frt_p50_ms"] = 101              # below 128: exact
        self.assertEqual(run([BASE], [b])[0][2], 1)
        w["frt_p50_ms"] = 100
        w["frt_avg_ms"] = 1000.5001
        self.assertEqual(run([BASE], [b])[0][2], 1)

    def test_counts_exact_and_nulls(self):
        b = copy.deepcopy(BASE)
        b["scopes"]["all"]["windows"]["1h"]["opened"] = 4
        b["scopes"]["all"]["windows"]["1h"]["csat_pct"] = 0.0
        (p, f, n), text = run([BASE], [b])
        self.assertEqual((p, f, n), (0, 1, 2))
        self.assertIn("line 1 scope all window 1h opened: A=3 B=4", text)

    def test_customers_handled_hash_slack(self):
        a = copy.deepcopy(BASE)
        b = copy.deepcopy(BASE)
        a["scopes"]["all"]["windows"]["1h"]["customers_handled"] = 5000
        b["scopes"]["all"]["windows"]["1h"]["customers_handled"] = 4999
        self.assertEqual(run([a], [b])[0][2], 0)
        b["scopes"]["all"]["windows"]["1h"]["customers_handled"] = 4997
        self.assertEqual(run([a], [b])[0][2], 1)

    def test_missing_scope_is_zero(self):
        b = copy.deepcopy(BASE)
        del b["scopes"]["agent:a"]
        self.assertEqual(run([BASE], [b])[0][2], 0)
        self.assertEqual(run([b], [BASE])[0][2], 0)
        a = copy.deepcopy(BASE)
        a["scopes"]["agent:a"]["windows"]["1h"]["opened"] = 1
        (_, _, n), text = run([a], [b])
        self.assertEqual(n, 1)
        self.assertIn("scope agent:a window 1h opened: A=1 "
                      "B=\"<scope missing>\"", text)

    def test_left_out_kpi_is_zero_or_null(self):
        # docs/kpis.md §5: ccpulse leaves zero counts and null values out
        b = copy.deepcopy(BASE)
        w = b["scopes"]["agent:a"]["windows"]["1h"]
        del w["opened"], w["score"]
        del b["scopes"]["all"]["windows"]["1h"]["csat_pct"]
        self.assertEqual(run([BASE], [b])[0][2], 0)
        self.assertEqual(run([b], [BASE])[0][2], 0)
        # a non-zero value left out is a difference, on either side
        c = copy.deepcopy(BASE)
        del c["scopes"]["all"]["windows"]["1h"]["opened"]
        (_, _, n), text = run([BASE], [c])
        self.assertEqual(n, 1)
        self.assertIn("scope all window 1h opened: A=3 B=\"<missing>\"", text)
        self.assertEqual(run([c], [BASE])[0][2], 1)
        del c["scopes"]["all"]["windows"]["1h"]["channel_share_pct"]
        self.assertEqual(run([BASE], [c])[0][2], 2)
        # left out outside a window object: still a difference
        d = copy.deepcopy(BASE)
        del d["scopes"]["agent:a"]["gauges"]["open"]
        self.assertEqual(run([BASE], [d])[0][2], 1)

    def test_missing_key_and_line(self):
        b = copy.deepcopy(BASE)
        del b["diagnostics"]["late_events"]
        self.assertEqual(run([BASE], [b])[0][2], 1)
        (p, f, n), _ = run([BASE, BASE], [BASE])
        self.assertEqual((p, f), (1, 1))


if __name__ == "__main__":
    unittest.main()
