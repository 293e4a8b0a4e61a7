#!/usr/bin/env python3
"""Plain reference implementation of the ccpulse KPI contract.

This is the second, independent implementation of the KPI contract
(docs/kpis.md) as read by docs/semantics.md, used by the differential test
(tests/t_differential.sh). It is written from those two documents only, never
from the C engine, and it is deliberately plain:

  * every accepted value is kept as one "sample" (time, kind, scopes, value)
    in a list; a window is computed at snapshot time by filtering the samples
    whose bucket lies in the window (no running totals);
  * percentiles are exact nearest rank over the sorted values;
  * deadlines (SLA breach, ticket TTL) sit in a heap and fire on each time
    advance, in deadline order, and right after an event that armed one that
    is already due (semantics.md §1 steps 4 and 6);
  * gauges are computed at snapshot time by scanning every ticket.

Python 3.11 standard library only.

Usage:
  python3 ref_engine.py [--config FILE] [--every DURATION] EVENTS.jsonl
prints one snapshot document (docs/kpis.md §5, one line of JSON) per --every
interval crossing, and always a final one, like `ccpulse replay`.
"""

import argparse
import heapq
import json
import re
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

CHANNELS = ("PHONE", "CHAT", "EMAIL", "SOCIAL")
TYPES = ("OPENED", "ASSIGNED", "AGENT_REPLY", "CUSTOMER_REPLY", "TRANSFERRED",
         "HANDLED", "RESOLVED", "REOPENED", "ABANDONED", "SURVEY",
         "QA_REVIEWED")

# KPI ids of docs/kpis.md §3, in output order.
KPI_IDS = ("opened", "resolved", "reopened", "abandoned", "abandoned_short",
           "abandon_pct", "frt_count", "frt_avg_ms", "frt_p50_ms",
           "frt_p90_ms", "frt_p99_ms", "service_level_pct", "sla_breaches",
           "resolution_avg_ms", "resolution_p90_ms", "aht_avg_ms", "fcr_pct",
           "csat_pct", "nps", "ces_avg", "complaints", "qa_error_rate",
           "handled", "customers_handled", "cost_per_resolution")



# ---------------------------------------------------------------- config --

def parse_duration(text):
    """'250ms', '5s', '4m', '1h', '30d' or a bare integer of milliseconds."""
    s = text.strip()
    m = re.fullmatch(r"(\d+)\s*(ms|s|m|h|d)?", s)
    if not m:
        raise ValueError("invalid duration '%s'" % text)
    mult = {None: 1, "ms": 1, "s": SECOND, "m": MINUTE, "h": HOUR,
            "d": DAY}[m.group(2)]
    return int(m.group(1)) * mult


def parse_windows(text):
    """'1m:5s,5m:10s,...,today:1m' -> [(name, span_ms or None, g_ms)]."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, gran = part.partition(":")
        name = name.strip()
        g = parse_duration(gran)
        if g <= 0:
            raise ValueError("window '%s': granularity must be > 0" % part)
        if name == "today":
            out.append((name, None, g))
        else:
            span = parse_duration(name)
            if span <= 0 or span % g != 0:
                raise ValueError("window '%s': span must be a multiple of "
                                 "the granularity" % part)
            out.append((name, span, g))
    return out


def parse_scorecard(text):
    """'csat_pct>=85:40,...' -> [(kpi, higher_is_better, target, weight)]."""
    terms = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([a-z0-9_]+)\s*(>=|<=)\s*([-+0-9.eE]+)\s*:\s*"
                         r"([0-9.eE+]+)", part)
        if not m or m.group(1) not in KPI_IDS:
            raise ValueError("invalid scorecard term '%s'" % part)
        terms.append((m.group(1), m.group(2) == ">=", float(m.group(3)),
                      float(m.group(4))))
    if terms and abs(sum(t[3] for t in terms) - 100.0) > 1e-9:
        raise ValueError("scorecard weights must sum to 100")
    return terms


class Config:
    """The settings the KPIs depend on, with the defaults of docs/kpis.md."""

    def __init__(self):
        self.lateness = 5 * MINUTE
        self.timezone = "UTC"
        self.windows = parse_windows(
            "1m:5s,5m:10s,15m:30s,1h:1m,24h:15m,today:1m")
        self.sla = {"PHONE": 4 * MINUTE, "CHAT": 2 * MINUTE,
                    "EMAIL": 24 * HOUR, "SOCIAL": 1 * HOUR}
        self.sla_queue = {}            # (queue, channel) -> ms
        self.at_risk = 0.8             # alerts only; no KPI depends on it
        self.short_abandon = 5 * SECOND
        self.backlog_age = 24 * HOUR
        self.cost = {}                 # channel -> cost per handled hour
        self.scorecard = parse_scorecard(
            "csat_pct>=85:40,fcr_pct>=70:30,aht_avg_ms<=360000:30")
        self.retention_period = 30 * DAY
        self.ticket_ttl = 30 * DAY
        self.max_queues = 2000         # limits.* (docs/limits.md)
        self.max_agents = 50000
        self.max_customers = 10000000

    def set(self, key, value):
        if key == "lateness":
            self.lateness = parse_duration(value)
        elif key == "timezone":
            ZoneInfo(value)            # raises on an unknown zone
            self.timezone = value
        elif key == "windows":
            self.windows = parse_windows(value)
        elif key.startswith("sla.queue."):
            queue, _, ch = key[len("sla.queue."):].rpartition(".")
            if ch not in CHANNELS or not queue:
                raise ValueError("bad key '%s'" % key)
            self.sla_queue[(queue, ch)] = parse_duration(value)
        elif key == "sla.at_risk":
            self.at_risk = float(value)
        elif key.startswith("sla.") and key[4:] in CHANNELS:
            self.sla[key[4:]] = parse_duration(value)
        elif key == "short_abandon":
            self.short_abandon = parse_duration(value)
        elif key == "backlog_age":
            self.backlog_age = parse_duration(value)
        elif key.startswith("cost.") and key[5:] in CHANNELS:
            self.cost[key[5:]] = float(value)
        elif key == "scorecard":
            self.scorecard = parse_scorecard(value)
        elif key == "retention.period":
            self.retention_period = parse_duration(value)
        elif key == "tickets.ttl":
            self.ticket_ttl = parse_duration(value)
        elif key == "limits.queues":
            self.max_queues = int(value)
        elif key == "limits.agents":
            self.max_agents = int(value)
        elif key == "limits.customers":
            self.max_customers = int(value)
        else:
            # tickets.max, dedup.max, kafka.*, redis.*...: no effect on KPIs
            # (the tests use caps that are never reached).
            pass

    def load(self, path):
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                key, sep, value = line.partition("=")
                if not sep:
                    raise ValueError("%s:%d: expected 'key = value'"
                                     % (path, lineno))
                self.set(key.strip(), value.strip())

    def threshold(self, queue, channel):
        """SLA threshold of a queue x channel (semantics.md §4)."""
        return self.sla_queue.get((queue, channel), self.sla[channel])


# ---------------------------------------------------------------- events --

class BadRecord(Exception):
    """A record that cannot be decoded (goes to the dead letter)."""


OPTIONAL_INTS = ("talk_ms", "hold_ms", "acw_ms", "csat", "nps", "ces",
                 "qa_errors")


def decode(line):
    """One JSON line -> dict with every schema field (absent -> None)."""
    try:
        rec = json.loads(line)
    except ValueError as exc:
        raise BadRecord(str(exc))
    if not isinstance(rec, dict):
        raise BadRecord("not an object")
    ev = {}
    for key in ("event_id", "ticket_id", "queue", "customer_id"):
        if not isinstance(rec.get(key), str):
            raise BadRecord("missing " + key)
        ev[key] = rec[key]
    if rec.get("type") not in TYPES:
        raise BadRecord("bad type")
    if rec.get("channel") not in CHANNELS:
        raise BadRecord("bad channel")
    ts = rec.get("ts")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise BadRecord("bad ts")
    ev["type"] = rec["type"]
    ev["channel"] = rec["channel"]
    ev["ts"] = ts
    for key in ("agent_id", "category"):
        v = rec.get(key)
        if v is not None and not isinstance(v, str):
            raise BadRecord("bad " + key)
        ev[key] = v
    for key in OPTIONAL_INTS:
        v = rec.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise BadRecord("bad " + key)
        ev[key] = v
    return ev


TS_MIN = 946684800000      # 2000-01-01T00:00:00Z (docs/kpis.md §7)
TS_MAX = 4102444800000     # 2100-01-01T00:00:00Z, included
TEXT_MAX = 256             # bytes of UTF-8
OVERFLOW = "~other"        # overflow scope name (docs/limits.md)


def bad_text(v, nullable):
    """docs/kpis.md §7: 1..256 bytes of valid UTF-8 (no NUL, no surrogate)."""
    if v is None:
        return not nullable
    try:
        b = v.encode("utf-8")      # a lone surrogate raises
    except UnicodeEncodeError:
        return True
    return not 1 <= len(b) <= TEXT_MAX or "\0" in v


def is_invalid(ev):
    """A field out of range (semantics.md §1 step 1), on any event type,
    and the text and time rules of docs/kpis.md §7 (replay: no wall clock)."""
    if not TS_MIN <= ev["ts"] <= TS_MAX:
        return True
    for key, nullable in (("event_id", False), ("ticket_id", False),
                          ("queue", False), ("agent_id", True),
                          ("customer_id", False), ("category", True)):
        if bad_text(ev[key], nullable):
            return True
    if ev["csat"] is not None and not 1 <= ev["csat"] <= 5:
        return True
    if ev["nps"] is not None and not 0 <= ev["nps"] <= 10:
        return True
    if ev["ces"] is not None and not 1 <= ev["ces"] <= 7:
        return True
    for key in ("talk_ms", "hold_ms", "acw_ms", "qa_errors"):
        if ev[key] is not None and ev[key] < 0:
            return True
    return False


# ---------------------------------------------------------------- state --

class Ticket:
    """Per-ticket state (semantics.md §2)."""

    def __init__(self, seq):
        self.seq = seq              # arrival order (timer tie-break)
        self.life = 0               # bumped when OPENED starts a new life
        self.open = True
        self.open_ts = None         # None: opened before the stream began
        self.threshold = None       # SLA threshold, fixed with open_ts
        self.reply_count = 0
        self.transferred = False
        self.resolved_once = False
        self.breached = False       # breach counted in this life
        self.queue = None
        self.channel = None
        self.agent = None
        self.touched = None         # stream time of the latest applied event


def scopes_of(queue, channel, agent):
    scopes = ["all", "queue:" + queue, "channel:" + channel]
    if agent is not None:
        scopes.append("agent:" + agent)
    return tuple(scopes)


class Acc:
    """Raw material of the KPIs of one scope x window."""

    def __init__(self):
        self.samples = 0
        self.opened = 0
        self.opened_by_channel = {}
        self.complaints = 0
        self.resolved = 0
        self.resolution = []        # resolution times with known open time
        self.reopened = 0
        self.abandoned = 0
        self.abandoned_short = 0
        self.abandoned_long = 0
        self.frt = []
        self.frt_within = 0
        self.breaches = 0
        self.handled = 0
        self.handle_ms = 0
        self.customers = set()
        self.cost = 0.0
        self.fcr_samples = 0
        self.fcr_success = 0
        self.csat_answers = 0
        self.csat_satisfied = 0
        self.nps_answers = 0
        self.promoters = 0
        self.detractors = 0
        self.ces_answers = 0
        self.ces_sum = 0
        self.qa_reviews = 0
        self.qa_errors = 0

    def add(self, kind, a, b):
        self.samples += 1
        if kind == "opened":
            self.opened += 1
            self.opened_by_channel[a] = self.opened_by_channel.get(a, 0) + 1
        elif kind == "complaint":
            self.complaints += 1
        elif kind == "resolved":
            self.resolved += 1
        elif kind == "resolution":
            self.resolution.append(a)
        elif kind == "fcr":
            self.fcr_samples += 1
            self.fcr_success += 1 if a else 0
        elif kind == "reopened":
            self.reopened += 1
        elif kind == "abandoned":
            self.abandoned += 1
        elif kind == "abandoned_short":
            self.abandoned_short += 1
        elif kind == "abandoned_long":
            self.abandoned_long += 1
        elif kind == "frt":
            self.frt.append(a)
            self.frt_within += 1 if b else 0
        elif kind == "breach":
            self.breaches += 1
        elif kind == "handled":
            handle_ms, customer, cost = a
            self.handled += 1
            self.handle_ms += handle_ms
            self.customers.add(customer)
            self.cost += cost
        elif kind == "csat":
            self.csat_answers += 1
            self.csat_satisfied += 1 if a >= 4 else 0
        elif kind == "nps":
            self.nps_answers += 1
            self.promoters += 1 if a >= 9 else 0
            self.detractors += 1 if a <= 6 else 0
        elif kind == "ces":
            self.ces_answers += 1
            self.ces_sum += a
        elif kind == "qa":
            self.qa_reviews += 1
            self.qa_errors += a
        else:
            raise AssertionError(kind)


def ratio(num, den, scale=1.0):
    return None if den == 0 else scale * num / den


def nearest_rank(sorted_values, num, den):
    """Percentile num/den by nearest rank: rank ceil(p*n), 1-based."""
    n = len(sorted_values)
    if n == 0:
        return None
    rank = -(-num * n // den)
    return sorted_values[max(rank, 1) - 1]


def kpis_of(acc, cost_configured):
    """The KPI object of one scope x window (semantics.md §6)."""
    frt = sorted(acc.frt)
    res = sorted(acc.resolution)
    k = {}
    k["opened"] = acc.opened
    k["resolved"] = acc.resolved
    k["reopened"] = acc.reopened
    k["abandoned"] = acc.abandoned
    k["abandoned_short"] = acc.abandoned_short
    k["abandon_pct"] = ratio(acc.abandoned, acc.opened, 100.0)
    k["frt_count"] = len(frt)
    k["frt_avg_ms"] = ratio(sum(frt), len(frt))
    k["frt_p50_ms"] = nearest_rank(frt, 50, 100)
    k["frt_p90_ms"] = nearest_rank(frt, 90, 100)
    k["frt_p99_ms"] = nearest_rank(frt, 99, 100)
    k["service_level_pct"] = ratio(acc.frt_within,
                                   len(frt) + acc.abandoned_long, 100.0)
    k["sla_breaches"] = acc.breaches
    k["resolution_avg_ms"] = ratio(sum(res), len(res))
    k["resolution_p90_ms"] = nearest_rank(res, 90, 100)
    k["aht_avg_ms"] = ratio(acc.handle_ms, acc.handled)
    k["fcr_pct"] = ratio(acc.fcr_success, acc.fcr_samples, 100.0)
    k["csat_pct"] = ratio(acc.csat_satisfied, acc.csat_answers, 100.0)
    k["nps"] = ratio(acc.promoters - acc.detractors, acc.nps_answers, 100.0)
    k["ces_avg"] = ratio(acc.ces_sum, acc.ces_answers)
    k["complaints"] = acc.complaints
    k["qa_error_rate"] = ratio(acc.qa_errors, acc.qa_reviews)
    k["handled"] = acc.handled
    k["customers_handled"] = len(acc.customers)
    k["cost_per_resolution"] = (ratio(acc.cost, acc.resolved)
                                if cost_configured else None)
    return k


def score_of(kpis, terms):
    """Agent scorecard (semantics.md §8)."""
    num = 0.0
    den = 0.0
    for kpi, higher, target, weight in terms:
        value = kpis[kpi]
        if value is None:
            continue
        if higher:
            att = min(1.0, max(0.0, value / target))
        else:
            att = 1.0 if value <= target else target / value
        num += weight * att
        den += weight
    return None if den == 0 else 100.0 * num / den


# ---------------------------------------------------------------- engine --

BREACH = 1   # timer kinds, in tie order (at-risk would be 0: alert only)
TTL = 3


class Engine:
    def __init__(self, cfg):
        self.cfg = cfg
        self.tz = ZoneInfo(cfg.timezone)
        self.now = None
        self.tickets = {}           # ticket_id -> Ticket
        self.ticket_seq = 0
        self.seen = {}              # event_id -> stream time when accepted
        self.samples = []           # (t, kind, scopes, a, b)
        self.timers = []            # heap (deadline, kind, open, seq, n, tid, t, tag)
        self.timer_n = 0
        self.customer_slots = {}    # customer_id -> set of slot numbers
        self.slot_ms = cfg.retention_period // 24
        self.diag = {"events": 0, "late_events": 0, "duplicate_events": 0,
                     "invalid_events": 0, "expired_tickets": 0,
                     "evicted_tickets": 0, "dead_letter": 0,
                     "overflow_events": 0, "evicted_customers": 0}
        self.named = {"queue": set(), "agent": set()}  # scopes under the caps

    # -- input --

    def count_undecodable(self):
        self.diag["events"] += 1
        self.diag["dead_letter"] += 1

    def process(self, ev):
        """semantics.md §1. Returns 'accepted', 'invalid', 'late', 'dup'."""
        self.diag["events"] += 1
        ts = ev["ts"]
        if is_invalid(ev):
            self.diag["invalid_events"] += 1
            return "invalid"
        if self.now is not None and ts < self.now - self.cfg.lateness:
            self.diag["late_events"] += 1
            return "late"
        eid = ev["event_id"]
        if (eid in self.seen and self.seen[eid] >= self.now - self.cfg.lateness):
            self.diag["duplicate_events"] += 1
            return "dup"
        # step 4: time advance, then the timers due at the new `now`
        self.now = ts if self.now is None else max(self.now, ts)
        self.fire_timers()
        self.seen[eid] = self.now
        # step 5: apply
        self.apply(ev)
        # step 6: timers the event armed that are already due fire right
        # after it (an OPENED arriving more than its threshold late)
        self.fire_timers()
        return "accepted"

    # -- timers --

    def push_timer(self, deadline, kind, t, tag):
        self.timer_n += 1
        heapq.heappush(self.timers, (deadline, kind,
                                     t.open_ts if t.open_ts is not None else 0,
                                     t.seq, self.timer_n, t, tag))

    def fire_timers(self):
        """Fire every deadline that `now` has passed, in deadline order."""
        while self.timers and self.timers[0][0] < self.now:
            deadline, kind, _, _, _, t, tag = heapq.heappop(self.timers)
            if self.tickets.get(t.tid) is not t:
                continue                       # forgotten meanwhile
            if kind == BREACH:
                if tag != t.life:
                    continue                   # armed for an earlier life
                if t.open and t.reply_count == 0 and not t.breached:
                    t.breached = True
                    self.add_sample(deadline, "breach",
                                    scopes_of(t.queue, t.channel, t.agent))
            elif kind == TTL:
                if tag != t.touched:
                    continue                   # touched again since
                del self.tickets[t.tid]
                self.diag["expired_tickets"] += 1

    def arm_sla(self, t):
        """Breach deadline open + threshold; fires when now > it."""
        deadline = t.open_ts + t.threshold
        self.push_timer(deadline, BREACH, t, t.life)

    # -- applying an accepted event (semantics.md §2, §3) --

    def add_sample(self, t, kind, scopes, a=None, b=None):
        self.samples.append((t, kind, scopes, a, b))

    def apply(self, ev):
        cfg = self.cfg
        ts = ev["ts"]
        tid = ev["ticket_id"]
        typ = ev["type"]
        t = self.tickets.get(tid)
        created = t is None
        if created:
            self.ticket_seq += 1
            t = Ticket(self.ticket_seq)
            t.tid = tid
            self.tickets[tid] = t
        # limits.queues / limits.agents: a new name beyond the cap stands as
        # ~other (queue first, then agent; counted once per event)
        over = [False]

        def capped(kind, name, cap):
            known = self.named[kind]
            if name is None or name == OVERFLOW or name in known:
                return name
            if len(known) >= cap:
                over[0] = True
                return OVERFLOW
            known.add(name)
            return name

        queue = capped("queue", ev["queue"], cfg.max_queues)
        ev_agent = capped("agent", ev["agent_id"], cfg.max_agents)
        if over[0]:
            self.diag["overflow_events"] += 1
        agent = ev_agent if ev_agent is not None else t.agent
        scopes = scopes_of(queue, ev["channel"], agent)

        def add(kind, a=None, b=None):
            self.add_sample(ts, kind, scopes, a, b)

        def learn_open_time():
            t.open_ts = ts
            t.threshold = cfg.threshold(ev["queue"], ev["channel"])

        if typ == "OPENED":
            add("opened", ev["channel"])
            if ev["category"] == "complaint":
                add("complaint")
            if created:
                learn_open_time()
                self.arm_sla(t)
            elif not t.open:
                # a new life of the ticket id
                t.life += 1
                t.open = True
                t.reply_count = 0
                t.transferred = False
                t.resolved_once = False
                t.breached = False
                learn_open_time()
                self.arm_sla(t)
            elif t.open_ts is None:
                learn_open_time()
                if t.reply_count == 0:
                    self.arm_sla(t)
        elif typ == "AGENT_REPLY":
            if t.reply_count == 0 and t.open_ts is not None:
                frt = max(0, ts - t.open_ts)
                add("frt", frt, frt <= t.threshold)
            t.reply_count += 1
        elif typ == "TRANSFERRED":
            t.transferred = True
        elif typ == "HANDLED":
            handle = ((ev["talk_ms"] or 0) + (ev["hold_ms"] or 0)
                      + (ev["acw_ms"] or 0))
            cost = handle / 3600000.0 * cfg.cost.get(ev["channel"], 0.0)
            add("handled", (handle, ev["customer_id"], cost))
        elif typ == "RESOLVED":
            if t.open:
                add("resolved")
                if t.open_ts is not None:
                    add("resolution", max(0, ts - t.open_ts))
                if not t.resolved_once:
                    add("fcr", t.reply_count <= 1 and not t.transferred)
                    t.resolved_once = True
                t.open = False
        elif typ == "REOPENED":
            add("reopened")
            t.open = True
        elif typ == "ABANDONED":
            if t.open and t.reply_count == 0:
                add("abandoned")
                if t.open_ts is not None:
                    if ts - t.open_ts < cfg.short_abandon:
                        add("abandoned_short")
                    else:
                        add("abandoned_long")
            t.open = False
        elif typ == "SURVEY":
            if ev["csat"] is not None:
                add("csat", ev["csat"])
            if ev["nps"] is not None:
                add("nps", ev["nps"])
            if ev["ces"] is not None:
                add("ces", ev["ces"])
        elif typ == "QA_REVIEWED":
            add("qa", ev["qa_errors"] or 0)
        # ASSIGNED, CUSTOMER_REPLY: no counter

        # the ticket takes the event's queue, channel and agent
        t.queue = queue
        t.channel = ev["channel"]
        if ev_agent is not None:
            t.agent = ev_agent
        t.touched = self.now
        self.push_timer(self.now + cfg.ticket_ttl, TTL, t, t.touched)

        # customer activity for retention (any accepted event), within
        # limits.customers (docs/limits.md): a customer with no slot in the
        # two periods is new; one active only before them is not added; at
        # the cap the idle ones are forgotten and a new one refused if it
        # is still full
        c = self.now // self.slot_ms
        s = ts // self.slot_ms
        cid = ev["customer_id"]
        slots = self.customer_slots.get(cid)
        if not slots or max(slots) <= c - 48:
            if c - s >= 48:
                return
            if len(self.customer_slots) >= cfg.max_customers:
                self.customer_slots = {
                    k: v for k, v in self.customer_slots.items()
                    if v and max(v) > c - 48}
                if len(self.customer_slots) >= cfg.max_customers:
                    self.diag["evicted_customers"] += 1
                    return
        self.customer_slots.setdefault(cid, set()).add(s)

    # -- snapshot (docs/kpis.md §5, docs/semantics.md §5-§10) --

    def local_midnight(self, now):
        local = datetime.fromtimestamp(now // 1000, self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0,
                                 fold=0)
        return int(midnight.timestamp()) * 1000

    def window_ranges(self):
        """[(name, g, first bucket, last bucket)] at `now`."""
        out = []
        for name, span, g in self.cfg.windows:
            hi = self.now // g
            if span is None:
                lo = self.local_midnight(self.now) // g
            else:
                lo = hi - span // g + 1
            out.append((name, g, lo, hi))
        return out

    def snapshot(self):
        cfg = self.cfg
        diag = dict(self.diag)
        diag["tickets"] = len(self.tickets)
        if self.now is None:
            return {"schema": "ccpulse.snapshot.v1", "now_ms": None,
                    "windows": {name: {"span_ms": span, "granularity_ms": g,
                                       "start_ms": None}
                                for name, span, g in cfg.windows},
                    "scopes": {}, "diagnostics": diag}
        now = self.now
        ranges = self.window_ranges()

        # Forget samples no window can cover again (`now` only grows, so
        # every window start only moves forward).
        oldest = min(lo * g for _, g, lo, _ in ranges)
        self.samples = [s for s in self.samples if s[0] >= oldest]

        # windows: filter the samples
        accs = {}                   # (scope, window) -> Acc
        for s_t, kind, scopes, a, b in self.samples:
            for name, g, lo, hi in ranges:
                if lo <= s_t // g <= hi:
                    for scope in scopes:
                        acc = accs.get((scope, name))
                        if acc is None:
                            acc = accs[(scope, name)] = Acc()
                        acc.add(kind, a, b)

        # gauges: scan the tickets
        gauges = {}
        for t in self.tickets.values():
            if not t.open:
                continue
            for scope in scopes_of(t.queue, t.channel, t.agent):
                gs = gauges.get(scope)
                if gs is None:
                    gs = gauges[scope] = {"open": 0, "waiting": 0,
                                          "longest_wait_ms": None,
                                          "backlog_aged": 0}
                gs["open"] += 1
                if t.reply_count == 0:
                    gs["waiting"] += 1
                    if t.open_ts is not None:
                        wait = now - t.open_ts
                        if (gs["longest_wait_ms"] is None
                                or wait > gs["longest_wait_ms"]):
                            gs["longest_wait_ms"] = wait
                if t.open_ts is not None and now - t.open_ts > cfg.backlog_age:
                    gs["backlog_aged"] += 1

        names = set(gauges) | {scope for scope, _ in accs}
        names.discard("all")
        ordered = ["all"] + sorted(names, key=lambda n: n.encode("utf-8"))
        cost_configured = bool(cfg.cost)
        scopes_out = {}
        empty = Acc()
        for scope in ordered:
            gs = gauges.get(scope) or {"open": 0, "waiting": 0,
                                       "longest_wait_ms": None,
                                       "backlog_aged": 0}
            wins = {}
            for name, _, _, _ in ranges:
                acc = accs.get((scope, name), empty)
                k = kpis_of(acc, cost_configured)
                if scope == "all":
                    k["channel_share_pct"] = (
                        None if acc.opened == 0 else
                        {ch: 100.0 * acc.opened_by_channel[ch] / acc.opened
                         for ch in CHANNELS if acc.opened_by_channel.get(ch)})
                if scope.startswith("agent:"):
                    k["score"] = score_of(k, cfg.scorecard)
                wins[name] = k
            out = {"gauges": gs, "windows": wins}
            if scope == "all":
                out["customers"] = self.customers()
            scopes_out[scope] = out

        return {"schema": "ccpulse.snapshot.v1", "now_ms": now,
                "windows": {name: {"span_ms": (hi - lo + 1) * g,
                                   "granularity_ms": g, "start_ms": lo * g}
                            for name, g, lo, hi in ranges},
                "scopes": scopes_out, "diagnostics": diag}

    def customers(self):
        """Retention and churn on slots of P/24 (semantics.md §9)."""
        c = self.now // self.slot_ms
        previous = 0
        both = 0
        for slots in self.customer_slots.values():
            in_prev = any(c - 47 <= s <= c - 24 for s in slots)
            if in_prev:
                previous += 1
                if any(c - 23 <= s <= c for s in slots):
                    both += 1
            # slots older than the previous period never count again
            old = [s for s in slots if s < c - 47]
            for s in old:
                slots.discard(s)
        retention = ratio(both, previous, 100.0)
        return {"period_ms": self.cfg.retention_period,
                "retention_pct": retention,
                "churn_pct": None if retention is None else 100.0 - retention}


# ---------------------------------------------------------------- driver --

def dump(snap):
    return json.dumps(snap, separators=(",", ":"))


def replay(lines, cfg, every=None, out=sys.stdout):
    """Feeds JSON lines to a fresh engine; prints snapshots like replay."""
    eng = Engine(cfg)
    for line in lines:
        if not line.strip():
            continue
        try:
            ev = decode(line)
        except BadRecord:
            eng.count_undecodable()
            continue
        if (every and eng.now is not None and ev["ts"] > eng.now
                and ev["ts"] // every > eng.now // every):
            out.write(dump(eng.snapshot()) + "\n")
        eng.process(ev)
    out.write(dump(eng.snapshot()) + "\n")
    return eng


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="key = value file (ccpulse keys)")
    ap.add_argument("--every", help="also print a snapshot at each crossing "
                    "of a multiple of this duration of event time")
    ap.add_argument("events", help="JSON Lines file of events")
    args = ap.parse_args(argv)
    cfg = Config()
    if args.config:
        cfg.load(args.config)
    every = parse_duration(args.every) if args.every else None
    with open(args.events, encoding="utf-8") as f:
        replay(f, cfg, every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
