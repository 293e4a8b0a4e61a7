"""Self-test of the reference engine: small event files, numbers worked out by
hand from docs/kpis.md and docs/semantics.md. Run: python3 -m unittest (from
this directory) or tests/t_reference_selftest.sh."""

import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_engine as R  # noqa: E402

T = 1735689600000          # 2025-01-01T00:00:00Z, a multiple of one day
S = R.SECOND
M = R.MINUTE
H = R.HOUR
D = R.DAY

_n = [0]


def ev(off, typ, ticket="t1", queue="q1", channel="PHONE", agent=None,
       customer="c1", eid=None, **fields):
    """One event at T + off."""
    _n[0] += 1
    e = {"event_id": eid or "e%d" % _n[0], "ticket_id": ticket, "type": typ,
         "ts": T + off, "channel": channel, "queue": queue,
         "agent_id": agent, "customer_id": customer}
    e.update(fields)
    return e


def run(events, config=None, every=None):
    """Replays the events; returns the list of snapshot documents."""
    cfg = R.Config()
    for k, v in (config or {}).items():
        cfg.set(k, v)
    out = io.StringIO()
    lines = [json.dumps(e) for e in events]
    R.replay(lines, cfg, every, out)
    return [json.loads(x) for x in out.getvalue().splitlines()]


def last(events, **kw):
    return run(events, **kw)[-1]


def win(snap, scope, window):
    return snap["scopes"][scope]["windows"][window]


class BasicTicket(unittest.TestCase):
    """One phone ticket through its whole life."""

    def setUp(self):
        self.events = [
            ev(0, "OPENED", category="billing"),
            ev(10 * S, "ASSIGNED", agent="a1"),
            ev(30 * S, "AGENT_REPLY", agent="a1"),
            ev(5 * M, "HANDLED", agent="a1", talk_ms=200000, hold_ms=10000,
               acw_ms=30000),
            ev(6 * M, "RESOLVED", agent="a1"),
            ev(7 * M, "SURVEY", csat=5, nps=9, ces=2),
        ]
        self.snap = last(self.events)

    def test_hour_window_of_all(self):
        k = win(self.snap, "all", "1h")
        self.assertEqual(k["opened"], 1)
        self.assertEqual(k["resolved"], 1)
        self.assertEqual(k["frt_count"], 1)
        self.assertEqual(k["frt_avg_ms"], 30000)
        self.assertEqual(k["frt_p50_ms"], 30000)
        self.assertEqual(k["frt_p99_ms"], 30000)
        self.assertEqual(k["service_level_pct"], 100.0)
        self.assertEqual(k["sla_breaches"], 0)
        self.assertEqual(k["resolution_avg_ms"], 360000)
        self.assertEqual(k["resolution_p90_ms"], 360000)
        self.assertEqual(k["aht_avg_ms"], 240000)
        self.assertEqual(k["fcr_pct"], 100.0)
        self.assertEqual(k["csat_pct"], 100.0)
        self.assertEqual(k["nps"], 100.0)
        self.assertEqual(k["ces_avg"], 2)
        self.assertEqual(k["abandon_pct"], 0.0)
        self.assertEqual(k["handled"], 1)
        self.assertEqual(k["customers_handled"], 1)
        self.assertIsNone(k["cost_per_resolution"])
        self.assertIsNone(k["qa_error_rate"])
        self.assertEqual(k["complaints"], 0)
        self.assertEqual(k["channel_share_pct"], {"PHONE": 100.0})
        self.assertEqual(sorted(k), sorted(R.KPI_IDS + ("channel_share_pct",)))

    def test_short_windows(self):
        # now = T+7m. 1m (g=5s) covers ts >= T+7m-55s: only the survey.
        k = win(self.snap, "all", "1m")
        self.assertEqual((k["opened"], k["resolved"], k["csat_pct"]),
                         (0, 0, 100.0))
        self.assertIsNone(k["abandon_pct"])
        self.assertIsNone(k["channel_share_pct"])
        # 5m (g=10s) covers ts >= T+7m-290s = T+130s: handled, resolved, survey
        k = win(self.snap, "all", "5m")
        self.assertEqual((k["opened"], k["resolved"], k["handled"],
                          k["frt_count"]), (0, 1, 1, 0))
        self.assertEqual(self.snap["windows"]["1m"],
                         {"span_ms": 60000, "granularity_ms": 5000,
                          "start_ms": T + 7 * M - 55 * S})
        self.assertEqual(self.snap["windows"]["today"],
                         {"span_ms": 8 * M, "granularity_ms": 60000,
                          "start_ms": T})

    def test_agent_scope_and_score(self):
        # OPENED has no agent and the ticket none yet; the survey has no
        # agent_id and goes to the ticket's agent a1.
        k = win(self.snap, "agent:a1", "1h")
        self.assertEqual((k["opened"], k["frt_count"], k["resolved"]),
                         (0, 1, 1))
        self.assertEqual(k["csat_pct"], 100.0)
        self.assertEqual(k["score"], 100.0)
        self.assertNotIn("channel_share_pct", k)
        self.assertNotIn("score", win(self.snap, "queue:q1", "1h"))
        self.assertEqual(list(self.snap["scopes"]),
                         ["all", "agent:a1", "channel:PHONE", "queue:q1"])

    def test_gauges_and_diagnostics(self):
        self.assertEqual(self.snap["scopes"]["all"]["gauges"],
                         {"open": 0, "waiting": 0, "longest_wait_ms": None,
                          "backlog_aged": 0})
        self.assertEqual(self.snap["diagnostics"]["events"], 6)
        self.assertEqual(self.snap["scopes"]["all"]["customers"],
                         {"period_ms": 30 * D, "retention_pct": None,
                          "churn_pct": None})
        self.assertEqual(self.snap["now_ms"], T + 7 * M)
        self.assertEqual(self.snap["schema"], "ccpulse.snapshot.v1")


class Sla(unittest.TestCase):

    def test_breach_fires_when_now_passes_deadline(self):
        base = [ev(0, "OPENED", channel="CHAT", queue="q1"),
                ev(10 * S, "ASSIGNED", channel="CHAT", queue="q1", agent="a2"),
                ev(2 * M, "OPENED", ticket="t2")]
        # now == deadline: no breach yet
        s = last(base)
        self.assertEqual(win(s, "all", "1h")["sla_breaches"], 0)
        self.assertEqual(s["scopes"]["all"]["gauges"]["waiting"], 2)
        self.assertEqual(s["scopes"]["all"]["gauges"]["longest_wait_ms"],
                         2 * M)
        # one ms later: breach, to the ticket's current scopes
        s = last(base + [ev(2 * M + 1, "CUSTOMER_REPLY", ticket="t2")])
        self.assertEqual(win(s, "all", "1h")["sla_breaches"], 1)
        self.assertEqual(win(s, "channel:CHAT", "1h")["sla_breaches"], 1)
        self.assertEqual(win(s, "agent:a2", "1h")["sla_breaches"], 1)
        self.assertEqual(win(s, "channel:PHONE", "1h")["sla_breaches"], 0)
        # bucket of the deadline (T+2m): in the 1m window (>= T+2m-55s)
        self.assertEqual(win(s, "all", "1m")["sla_breaches"], 1)
        # a late reply: FRT counted, outside SLA, breach counted once
        s = last(base + [ev(2 * M + 1, "CUSTOMER_REPLY", ticket="t2"),
                         ev(2 * M + 10 * S, "AGENT_REPLY", channel="CHAT",
                            agent="a2"),
                         ev(9 * M, "OPENED", ticket="t3")])
        k = win(s, "channel:CHAT", "1h")
        self.assertEqual((k["sla_breaches"], k["frt_count"]), (1, 1))
        self.assertEqual(k["service_level_pct"], 0.0)
        self.assertEqual(k["frt_avg_ms"], 130000)
        # t2 is phone (4m): breached at T+6m (now T+9m), replied never
        self.assertEqual(win(s, "channel:PHONE", "1h")["sla_breaches"], 1)
        self.assertEqual(win(s, "all", "1h")["sla_breaches"], 2)

    def test_reply_exactly_at_threshold(self):
        s = last([ev(0, "OPENED", channel="CHAT"),
                  ev(2 * M, "AGENT_REPLY", channel="CHAT", agent="a1"),
                  ev(10 * M, "OPENED", ticket="t9")])
        k = win(s, "all", "1h")
        self.assertEqual((k["sla_breaches"], k["service_level_pct"]),
                         (0, 100.0))

    def test_queue_channel_override(self):
        cfg = {"sla.queue.vip.CHAT": "30s"}
        s = last([ev(0, "OPENED", channel="CHAT", queue="vip"),
                  ev(31 * S, "AGENT_REPLY", channel="CHAT", queue="vip"),
                  ev(40 * S, "OPENED", ticket="t2", channel="CHAT"),
                  ev(80 * S, "AGENT_REPLY", ticket="t2", channel="CHAT")],
                 config=cfg)
        k = win(s, "all", "1h")
        # vip: breached at T+30s+1 (reply at 31s moves now past it first)
        self.assertEqual(k["sla_breaches"], 1)
        self.assertEqual(k["service_level_pct"], 50.0)

    def test_transfer_keeps_threshold(self):
        # opened in vip (30s), transferred to q1 (CHAT 2m): still 30s
        cfg = {"sla.queue.vip.CHAT": "30s"}
        s = last([ev(0, "OPENED", channel="CHAT", queue="vip"),
                  ev(5 * S, "TRANSFERRED", channel="CHAT", queue="q1"),
                  ev(40 * S, "AGENT_REPLY", channel="CHAT", queue="q1")],
                 config=cfg)
        self.assertEqual(win(s, "queue:q1", "1h")["sla_breaches"], 1)
        self.assertEqual(win(s, "queue:vip", "1h")["sla_breaches"], 0)
        self.assertEqual(win(s, "all", "1h")["service_level_pct"], 0.0)

    def test_closed_before_deadline_no_breach_reopened_breaches(self):
        s = last([ev(0, "OPENED", channel="CHAT"),
                  ev(10 * S, "RESOLVED", channel="CHAT"),
                  ev(20 * M, "OPENED", ticket="t2")])
        self.assertEqual(win(s, "all", "1h")["sla_breaches"], 0)
        s = last([ev(0, "OPENED", channel="CHAT"),
                  ev(10 * S, "RESOLVED", channel="CHAT"),
                  ev(20 * S, "REOPENED", channel="CHAT"),
                  ev(20 * M, "OPENED", ticket="t2")])
        k = win(s, "all", "1h")
        self.assertEqual((k["sla_breaches"], k["reopened"]), (1, 1))

    def test_timer_armed_already_due_fires_right_after(self):
        # now = T+10m; a chat OPENED at exactly now - lateness (accepted) has
        # its deadline (T+7m) behind now: it fires right after the OPENED
        # (semantics.md §1 step 6), to the bucket of the deadline
        base = [ev(10 * M, "OPENED", ticket="t0"),
                ev(5 * M, "OPENED", channel="CHAT")]
        s = last(base)
        self.assertEqual(s["diagnostics"]["late_events"], 0)
        self.assertEqual(win(s, "all", "1h")["sla_breaches"], 1)
        self.assertEqual(win(s, "all", "1m")["sla_breaches"], 0)
        self.assertEqual(win(s, "channel:CHAT", "5m")["sla_breaches"], 1)
        # a reply with ts before the deadline arriving next cannot undo it,
        # but its FRT is within SLA
        s = last(base + [ev(6 * M, "AGENT_REPLY", channel="CHAT")])
        k = win(s, "all", "1h")
        self.assertEqual((k["sla_breaches"], k["service_level_pct"]),
                         (1, 100.0))


class Abandons(unittest.TestCase):

    def test_short_and_long(self):
        s = last([ev(0, "OPENED"),
                  ev(4999, "ABANDONED"),
                  ev(0, "OPENED", ticket="t2"),
                  ev(5000, "ABANDONED", ticket="t2"),
                  ev(6000, "ABANDONED", ticket="t3"),       # no OPENED seen
                  ev(7000, "OPENED", ticket="t4"),
                  ev(8000, "AGENT_REPLY", ticket="t4"),
                  ev(9000, "ABANDONED", ticket="t4")])      # replied: no
        k = win(s, "all", "1h")
        self.assertEqual(k["abandoned"], 3)
        self.assertEqual(k["abandoned_short"], 1)
        self.assertEqual(k["opened"], 3)
        self.assertEqual(k["abandon_pct"], 100.0)
        # first responses 1 (within), long abandons 1
        self.assertEqual(k["service_level_pct"], 50.0)
        self.assertEqual(s["scopes"]["all"]["gauges"]["open"], 0)


class Filters(unittest.TestCase):

    def test_invalid_late_duplicate(self):
        s = last([ev(10 * M, "OPENED", eid="x1"),
                  ev(10 * M, "SURVEY", csat=6, eid="x2"),       # invalid
                  ev(10 * M, "SURVEY", nps=11),                 # invalid
                  ev(10 * M, "SURVEY", ces=0),                  # invalid
                  ev(10 * M, "HANDLED", talk_ms=-1),            # invalid
                  ev(10 * M, "QA_REVIEWED", qa_errors=-1),      # invalid
                  ev(10 * M, "OPENED", eid="x1"),               # duplicate
                  ev(5 * M - 1, "OPENED", ticket="t2"),         # late
                  ev(5 * M - 1, "OPENED", eid="x1"),            # late first
                  ev(5 * M, "OPENED", ticket="t3"),             # on the edge
                  ev(10 * M, "SURVEY", csat=4, eid="x2")])      # id unseen
        d = s["diagnostics"]
        self.assertEqual((d["events"], d["invalid_events"], d["late_events"],
                          d["duplicate_events"]), (11, 5, 2, 1))
        k = win(s, "all", "1h")
        self.assertEqual((k["opened"], k["csat_pct"]), (2, 100.0))

    def test_duplicate_within_lateness(self):
        s = last([ev(0, "OPENED", eid="a"),
                  ev(5 * M, "OPENED", ticket="t2"),
                  ev(0, "OPENED", eid="a"),        # ts == now - lateness
                  ev(5 * M + 1, "OPENED", ticket="t3"),
                  ev(0, "OPENED", eid="a")])       # now late
        d = s["diagnostics"]
        self.assertEqual((d["duplicate_events"], d["late_events"]), (1, 1))

    def test_undecodable(self):
        cfg = R.Config()
        out = io.StringIO()
        R.replay(["not json", json.dumps(ev(0, "OPENED"))], cfg, None, out)
        d = json.loads(out.getvalue())["diagnostics"]
        self.assertEqual((d["events"], d["dead_letter"]), (2, 1))


class Tickets(unittest.TestCase):

    def test_without_opened(self):
        s = last([ev(0, "AGENT_REPLY", agent="a1"),
                  ev(10 * S, "RESOLVED")])
        k = win(s, "all", "1h")
        self.assertEqual((k["opened"], k["resolved"], k["frt_count"]),
                         (0, 1, 0))
        self.assertIsNone(k["resolution_avg_ms"])
        self.assertEqual(k["fcr_pct"], 100.0)
        # the resolve goes to the ticket's agent
        self.assertEqual(win(s, "agent:a1", "1h")["resolved"], 1)

    def test_unknown_open_time_gauges_and_late_opened(self):
        evs = [ev(0, "CUSTOMER_REPLY", channel="CHAT"),
               ev(26 * H, "OPENED", ticket="t2")]
        s = last(evs)
        g = s["scopes"]["all"]["gauges"]
        # t1 waits, open time unknown: no longest wait, not aged
        self.assertEqual(g, {"open": 2, "waiting": 2, "longest_wait_ms": 0,
                             "backlog_aged": 0})
        # OPENED of the open ticket with unknown open time sets it and arms
        # the SLA (chat 2m): deadline T+26h-4m+2m is behind now -> fires
        # right after the OPENED
        s = last(evs + [ev(26 * H - 4 * M, "OPENED", channel="CHAT")])
        k = win(s, "all", "1h")
        self.assertEqual((k["opened"], k["sla_breaches"]), (2, 1))
        self.assertEqual(s["scopes"]["all"]["gauges"]["longest_wait_ms"],
                         4 * M)

    def test_reopen_and_fcr(self):
        s = last([ev(0, "OPENED"),
                  ev(10 * S, "AGENT_REPLY", agent="a1"),
                  ev(1 * M, "RESOLVED", agent="a1"),
                  ev(2 * M, "RESOLVED", agent="a1"),       # closed: nothing
                  ev(3 * M, "REOPENED"),
                  ev(4 * M, "AGENT_REPLY", agent="a1"),
                  ev(5 * M, "RESOLVED", agent="a1")])
        k = win(s, "all", "1h")
        self.assertEqual((k["resolved"], k["reopened"], k["frt_count"]),
                         (2, 1, 1))
        self.assertEqual(k["fcr_pct"], 100.0)            # one sample
        self.assertEqual(k["resolution_avg_ms"], (60000 + 300000) / 2)
        self.assertEqual(k["resolution_p90_ms"], 300000)

    def test_transfer_fails_fcr(self):
        s = last([ev(0, "OPENED"),
                  ev(10 * S, "AGENT_REPLY", agent="a1"),
                  ev(20 * S, "TRANSFERRED", queue="q2", agent="a2"),
                  ev(30 * S, "RESOLVED", queue="q2"),
                  ev(0, "OPENED", ticket="t2"),
                  ev(10 * S, "AGENT_REPLY", ticket="t2"),
                  ev(15 * S, "AGENT_REPLY", ticket="t2"),
                  ev(20 * S, "RESOLVED", ticket="t2")])
        k = win(s, "all", "1h")
        self.assertEqual(k["fcr_pct"], 0.0)
        self.assertEqual(win(s, "queue:q2", "1h")["resolved"], 1)
        self.assertEqual(win(s, "agent:a2", "1h")["resolved"], 1)
        self.assertEqual(win(s, "queue:q1", "1h")["resolved"], 1)

    def test_new_life(self):
        s = last([ev(0, "OPENED"),
                  ev(10 * S, "AGENT_REPLY"),
                  ev(20 * S, "RESOLVED"),
                  ev(60 * S, "OPENED"),
                  ev(90 * S, "AGENT_REPLY"),
                  ev(100 * S, "AGENT_REPLY"),
                  ev(110 * S, "RESOLVED")])
        k = win(s, "all", "1h")
        self.assertEqual((k["opened"], k["frt_count"], k["resolved"]),
                         (2, 2, 2))
        self.assertEqual(k["frt_avg_ms"], 20000)
        self.assertEqual(k["fcr_pct"], 50.0)
        self.assertEqual(k["resolution_avg_ms"], 35000)

    def test_opened_on_open_ticket_counts_only(self):
        s = last([ev(0, "OPENED"), ev(30 * S, "OPENED"),
                  ev(40 * S, "AGENT_REPLY")])
        k = win(s, "all", "1h")
        self.assertEqual((k["opened"], k["frt_avg_ms"]), (2, 40000))

    def test_ttl(self):
        evs = [ev(0, "OPENED", agent="a1"),
               ev(1 * H, "OPENED", ticket="t2")]
        s = last(evs, config={"tickets.ttl": "1h"})
        self.assertEqual(s["diagnostics"]["expired_tickets"], 0)
        evs.append(ev(1 * H + 1, "RESOLVED", ticket="t2"))
        s = last(evs, config={"tickets.ttl": "1h"})
        self.assertEqual(s["diagnostics"]["expired_tickets"], 1)
        self.assertEqual(s["diagnostics"]["tickets"], 1)
        self.assertEqual(s["scopes"]["all"]["gauges"]["open"], 0)
        # t1 (agent a1) left the gauges; its breach (T+4m) stays counted
        self.assertEqual(s["scopes"]["agent:a1"]["gauges"]["open"], 0)
        self.assertEqual(win(s, "agent:a1", "1h")["sla_breaches"], 1)
        # a later event creates a new ticket: open, open time unknown
        evs.append(ev(1 * H + 2, "AGENT_REPLY"))
        s = last(evs, config={"tickets.ttl": "1h"})
        g = s["scopes"]["all"]["gauges"]
        self.assertEqual((g["open"], g["waiting"]), (1, 0))
        self.assertEqual(win(s, "all", "1h")["frt_count"], 0)

    def test_backlog_aged(self):
        s = last([ev(0, "OPENED"), ev(10 * S, "AGENT_REPLY"),
                  ev(24 * H, "OPENED", ticket="t2")])
        self.assertEqual(s["scopes"]["all"]["gauges"]["backlog_aged"], 0)
        s = last([ev(0, "OPENED"), ev(10 * S, "AGENT_REPLY"),
                  ev(24 * H + 1, "OPENED", ticket="t2")])
        g = s["scopes"]["all"]["gauges"]
        self.assertEqual((g["backlog_aged"], g["open"], g["waiting"]),
                         (1, 2, 1))
        self.assertEqual(g["longest_wait_ms"], 0)


class Values(unittest.TestCase):

    def test_percentiles_nearest_rank(self):
        evs = []
        for i in range(1, 11):
            evs.append(ev(0, "OPENED", ticket="p%d" % i))
            evs.append(ev(i * S, "AGENT_REPLY", ticket="p%d" % i))
        k = win(last(evs), "all", "1h")
        self.assertEqual((k["frt_p50_ms"], k["frt_p90_ms"], k["frt_p99_ms"]),
                         (5000, 9000, 10000))
        self.assertEqual(k["frt_avg_ms"], 5500)

    def test_surveys_qa_costs(self):
        cfg = {"cost.PHONE": "36"}
        s = last([ev(0, "SURVEY", csat=3, nps=6, ces=7),
                  ev(0, "SURVEY", csat=4, nps=8),
                  ev(0, "SURVEY", nps=10),
                  ev(0, "QA_REVIEWED", agent="a1", qa_errors=3),
                  ev(0, "QA_REVIEWED", agent="a1"),
                  ev(0, "HANDLED", agent="a1", talk_ms=100000),
                  ev(0, "HANDLED", agent="a1", channel="CHAT",
                     talk_ms=100000, customer="c2"),
                  ev(0, "RESOLVED", ticket="r1"),
                  ev(0, "RESOLVED", ticket="r2")], config=cfg)
        k = win(s, "all", "1h")
        self.assertEqual(k["csat_pct"], 50.0)
        self.assertAlmostEqual(k["nps"], 0.0)           # 1 promoter, 1 det.
        self.assertEqual(k["ces_avg"], 7)
        self.assertEqual(k["qa_error_rate"], 1.5)
        self.assertEqual(k["aht_avg_ms"], 100000)
        self.assertEqual(k["customers_handled"], 2)
        # 100 s at 36/h = 1.0; chat has no cost; 2 resolved
        self.assertAlmostEqual(k["cost_per_resolution"], 0.5)

    def test_score(self):
        evs = [ev(0, "OPENED", agent="a1"),
               ev(0, "SURVEY", csat=5), ev(0, "SURVEY", csat=2),
               ev(0, "HANDLED", talk_ms=720000)]
        k = win(last(evs), "agent:a1", "1h")
        # csat 50/85 at 40, fcr null, aht 360000/720000 at 30
        self.assertAlmostEqual(k["score"],
                               100 * (40 * 50 / 85 + 30 * 0.5) / 70)

    def test_channel_share(self):
        s = last([ev(0, "OPENED", channel="CHAT"),
                  ev(0, "OPENED", ticket="t2"),
                  ev(0, "OPENED", ticket="t3"),
                  ev(0, "OPENED", ticket="t4", channel="EMAIL")])
        self.assertEqual(win(s, "all", "1h")["channel_share_pct"],
                         {"PHONE": 50.0, "CHAT": 25.0, "EMAIL": 25.0})


class Time(unittest.TestCase):

    def test_today_across_dst(self):
        # 2025-10-26 is 25 h long in Berlin; local midnight = 25th 22:00Z
        noon = 1761476400000            # 2025-10-26T11:00:00Z = 12:00 CET
        midnight = noon - 13 * H
        evs = [{"event_id": "a", "ticket_id": "t1", "type": "OPENED",
                "ts": midnight - 1, "channel": "EMAIL", "queue": "q",
                "agent_id": None, "customer_id": "c"},
               {"event_id": "b", "ticket_id": "t2", "type": "OPENED",
                "ts": midnight, "channel": "EMAIL", "queue": "q",
                "agent_id": None, "customer_id": "c"},
               {"event_id": "c", "ticket_id": "t3", "type": "OPENED",
                "ts": noon, "channel": "EMAIL", "queue": "q",
                "agent_id": None, "customer_id": "c"}]
        s = last(evs, config={"timezone": "Europe/Berlin"})
        self.assertEqual(s["windows"]["today"],
                         {"span_ms": 13 * H + M, "granularity_ms": M,
                          "start_ms": midnight})
        self.assertEqual(win(s, "all", "today")["opened"], 2)
        self.assertEqual(win(s, "all", "24h")["opened"], 3)
        # UTC: today starts at 2025-10-26T00:00Z
        s = last(evs)
        self.assertEqual(win(s, "all", "today")["opened"], 1)
        # spring: 2025-03-30 is 23 h long; at 12:00 CEST (10:00Z) local
        # midnight is 00:00 CET = 29th 23:00Z, 11 h earlier
        spring_noon = 1743328800000     # 2025-03-30T10:00:00Z
        self.assertEqual(
            R.Engine(self._cfg("Europe/Berlin")).local_midnight(spring_noon),
            spring_noon - 11 * H)

    @staticmethod
    def _cfg(tz):
        c = R.Config()
        c.set("timezone", tz)
        return c

    def test_retention_slots(self):
        # P = 30 d, slots of P/24 = 1.25 d, numbered from the epoch; T is
        # in slot 16071 (day 0 = 16071.2 slots), day 5 in slot 16075, day 35
        # in slot c = 16099: previous period = slots 16052..16075 (A, B, C),
        # current = slots 16076..16099 (A, C).
        s = last([ev(0, "OPENED", customer="A"),
                  ev(0, "OPENED", customer="B", ticket="t2"),
                  ev(5 * D, "SURVEY", customer="C", csat=5),
                  ev(35 * D, "SURVEY", customer="A", csat=5),
                  ev(35 * D, "SURVEY", customer="C", csat=5)])
        c = s["scopes"]["all"]["customers"]
        self.assertAlmostEqual(c["retention_pct"], 200 / 3)
        self.assertAlmostEqual(c["churn_pct"], 100 / 3)
        # small period: P = 3 d, slots of 3 h; T+3d+1 is 24 slots after T:
        # T's slot is the last of the previous period
        s = last([ev(0, "SURVEY", customer="A", csat=5),
                  ev(3 * D + 1, "SURVEY", customer="A", csat=5)],
                 config={"retention.period": "3d"})
        self.assertEqual(s["scopes"]["all"]["customers"]["retention_pct"],
                         100.0)

    def test_retention_slot_edges(self):
        # P = 24 h: slots of 1 h. now = T+48h+30m: c = slot of T + 48.
        # previous = slots c-47..c-24 = T+1h .. T+24h(excl. T+25h), current
        # = slots c-23..c.
        s = last([ev(0, "SURVEY", customer="W", csat=5),          # c-48
                  ev(1 * H, "SURVEY", customer="X", csat=5),      # c-47
                  ev(24 * H + 59 * M, "SURVEY", customer="Y", csat=5),  # c-24
                  ev(25 * H, "SURVEY", customer="X", csat=5),     # c-23
                  ev(25 * H, "SURVEY", customer="W", csat=5),
                  ev(48 * H + 30 * M, "SURVEY", customer="Z", csat=5)],
                 config={"retention.period": "24h"})
        c = s["scopes"]["all"]["customers"]
        self.assertEqual((c["period_ms"], c["retention_pct"]), (D, 50.0))

    def test_every(self):
        evs = [ev(59 * M, "OPENED"), ev(61 * M, "OPENED", ticket="t2"),
               ev(50 * M, "OPENED", ticket="t3"),
               ev(2 * H + 5, "OPENED", ticket="t4")]
        snaps = run(evs, every=H)
        self.assertEqual([x["now_ms"] for x in snaps],
                         [T + 59 * M, T + 61 * M, T + 2 * H + 5])
        self.assertEqual([x["diagnostics"]["events"] for x in snaps],
                         [1, 3, 4])

    def test_empty(self):
        snaps = run([])
        self.assertEqual(len(snaps), 1)
        self.assertIsNone(snaps[0]["now_ms"])


class Cli(unittest.TestCase):

    def test_cli_with_config_file(self):
        here = os.path.dirname(os.path.abspath(__file__))
        with tempfile.TemporaryDirectory() as d:
            evf = os.path.join(d, "e.jsonl")
            cff = os.path.join(d, "c.conf")
            with open(evf, "w") as f:
                f.write(json.dumps(ev(0, "OPENED", channel="CHAT")) + "\n")
                f.write(json.dumps(ev(2 * H, "HANDLED", talk_ms=3600000))
                        + "\n")
                f.write(json.dumps(ev(2 * H, "RESOLVED")) + "\n")
            with open(cff, "w") as f:
                f.write("# test\nsla.CHAT = 1h\ncost.PHONE = 20\n"
                        "windows = 1h:1m, 3h:15m\n\n")
            out = subprocess.run(
                [sys.executable, os.path.join(here, "ref_engine.py"),
                 "--config", cff, "--every", "1h", evf],
                check=True, capture_output=True, text=True).stdout
            snaps = [json.loads(x) for x in out.splitlines()]
            self.assertEqual(len(snaps), 2)
            k = snaps[-1]["scopes"]["all"]["windows"]["3h"]
            self.assertEqual((k["sla_breaches"], k["cost_per_resolution"]),
                             (1, 20.0))
            self.assertEqual(list(snaps[-1]["windows"]), ["1h", "3h"])


if __name__ == "__main__":
    unittest.main()
