#!/usr/bin/env python3
"""Deterministic, realistic ccpulse event generator (JSON Lines).

Writes the TicketEvent records of docs/kpis.md §1, one JSON object per line, in
the order a consumer would receive them. Same --seed and options, same bytes.

The stream models several queues x 4 channels x ~40 agents with a daily
arrival curve over several days of event time, and mixes in what the engine
must cope with:

  * tickets whose OPENED is never seen, reopens (some before the deadline
    of an unreplied ticket), transfers (some to another channel), ticket ids
    opened again (a new life), long waits that breach the SLA, tickets that
    never close (gauges, backlog age, TTL), events days later that bring a
    forgotten ticket back, OPENED stamped after the first reply (clamps);
  * abandons short and long, and exactly at the short-abandon threshold;
  * first replies exactly at the SLA threshold and 1 ms after it;
  * surveys (csat / nps / ces, some partial), QA reviews, HANDLED with
    talk / hold / after-contact work, complaints;
  * outages (no record for 61 s ... 25 h), so windows jump and deadlines
    fall due together;
  * out-of-order delivery within lateness, late events, duplicates
    (an earlier record re-sent verbatim a little later), invalid events
    (csat 0 or 6, nps 11, ces 8, negative durations or QA errors), some
    re-sent, some sent just before a good record with the same id;
  * events with ts exactly at now - lateness (accepted) and 1 ms before
    it (late), computed against the stream time the engine will have;
  * with --hostile-frac, copies of records (new ids, the same ts) that
    break the text and time rules of docs/kpis.md §7 (257 bytes, empty
    ids, ts before 2000 or after 2100) or sit just inside them (256 bytes,
    128 two-byte characters): invalid, or valid CUSTOMER_REPLY events.

Usage:
  python3 gen_events.py --events 60000 --seed 7 --start-ms 1761264000000 \
      --out events.jsonl
"""

import argparse
import json
import math
import random
import sys

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

CHANNELS = ("PHONE", "CHAT", "EMAIL", "SOCIAL")
CHANNEL_WEIGHTS = (0.40, 0.30, 0.20, 0.10)
QUEUES = ("billing", "tech", "sales", "retention", "vip")
QUEUE_WEIGHTS = (0.30, 0.30, 0.20, 0.12, 0.08)
# Default first-response thresholds (docs/kpis.md §4) plus the queue x channel
# overrides the test configurations use, for the "exactly at the threshold"
# cases.
SLA = {"PHONE": 4 * MINUTE, "CHAT": 2 * MINUTE, "EMAIL": 24 * HOUR,
       "SOCIAL": 1 * HOUR}
SLA_OVERRIDES = {("vip", "CHAT"): 30 * SECOND, ("billing", "PHONE"): 90 * SECOND}
SHORT_ABANDON = 5 * SECOND

FIELDS = ("event_id", "ticket_id", "type", "ts", "channel", "queue",
          "agent_id", "customer_id", "talk_ms", "hold_ms", "acw_ms", "csat",
          "nps", "ces", "category", "qa_errors")
OPTIONAL = ("talk_ms", "hold_ms", "acw_ms", "csat", "nps", "ces", "category",
            "qa_errors")


class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.agents = ["a-%02d" % i for i in range(1, args.agents + 1)]
        # the named queues, then (--queues > 5) generated ones sharing half
        # of the traffic equally: a wide center with many small queues
        self.queues = QUEUES
        self.queue_weights = QUEUE_WEIGHTS
        extra = max(0, args.queues - len(QUEUES))
        if extra:
            self.queues = QUEUES + tuple("q-%04d" % i for i in range(extra))
            self.queue_weights = (tuple(w / 2 for w in QUEUE_WEIGHTS)
                                  + (0.5 / extra,) * extra)
        # each queue is staffed by a slice of the agents (with overlap)
        self.queue_agents = {}
        n = len(self.agents)
        for qi, q in enumerate(self.queues):
            lo = (qi * n) // len(self.queues)
            self.queue_agents[q] = [self.agents[(lo + k) % n]
                                    for k in range(max(4, n // 3))]
        self.ncust = max(50, args.customers or args.events // 12)
        self.ticket_n = 0

    # -- random helpers --

    def pick(self, items, weights=None):
        return self.rng.choices(items, weights)[0]

    def chance(self, p):
        return self.rng.random() < p

    def customer(self):
        # heavy repeaters: a Pareto-ish choice over the pool
        k = int(self.ncust * (self.rng.random() ** 2.2))
        return "cust-%05d" % min(k, self.ncust - 1)

    def arrival(self, start, span):
        """An open time in [start, start+span) following a daily curve."""
        while True:
            t = start + self.rng.randrange(span)
            h = (t % DAY) / HOUR
            rate = (0.15 + math.exp(-((h - 10) / 2.5) ** 2)
                    + 0.8 * math.exp(-((h - 15) / 3.0) ** 2))
            if self.rng.random() * 2.0 < rate:
                return t

    def threshold(self, queue, channel):
        return SLA_OVERRIDES.get((queue, channel), SLA[channel])

    def first_response(self, queue, channel):
        """FRT in ms: mostly within SLA, some at the edge, some breaching."""
        thr = self.threshold(queue, channel)
        # at the edge; the default threshold too when an override applies
        r = self.rng.random()
        if r < self.a.exact_frac:
            return self.pick((thr, thr + 1, SLA[channel], SLA[channel] + 1))
        if r < self.a.exact_frac + 0.08:           # breaching
            return int(thr * self.rng.uniform(1.05, 3.0))
        return max(500, int(thr * self.rng.betavariate(1.3, 3.0)))

    def handle_times(self, channel):
        u = self.rng.randint
        if channel == "PHONE":
            talk, hold, acw = u(30, 900) * SECOND, u(0, 120) * SECOND, \
                u(5, 120) * SECOND
        elif channel == "CHAT":
            talk, hold, acw = u(60, 1200) * SECOND, None, u(0, 60) * SECOND
        elif channel == "EMAIL":
            talk, hold, acw = None, None, u(60, 900) * SECOND
        else:
            talk, hold, acw = u(30, 600) * SECOND, None, u(0, 60) * SECOND
        if self.chance(0.05):
            hold = None
        return talk, hold, acw

    # -- one ticket --

    def ticket(self, start, span):
        """The events of one ticket (one or more lives), in ts order."""
        a = self.a
        self.ticket_n += 1
        tid = "T%d-%06d" % (a.seed, self.ticket_n)
        channel = self.pick(CHANNELS, CHANNEL_WEIGHTS)
        queue = self.pick(self.queues, self.queue_weights)
        st = {"tid": tid, "queue": queue, "channel": channel,
              "cust": self.customer(), "evs": []}
        t0 = self.arrival(start, span)
        if self.chance(a.no_opened_frac):
            self.no_opened_life(st, t0)
            return st["evs"]
        t = self.life(st, t0)
        # the same ticket id opened again later: a new life (semantics.md §2)
        while t is not None and self.chance(a.reuse_frac):
            t = self.life(st, t + self.rng.randrange(1 * MINUTE, 20 * HOUR))
        st["evs"].sort(key=lambda e: e["ts"])
        return st["evs"]

    def emit(self, st, ts, typ, agent=None, **kw):
        e = {"ticket_id": st["tid"], "type": typ, "ts": ts,
             "channel": st["channel"], "queue": st["queue"],
             "agent_id": agent, "customer_id": st["cust"]}
        e.update(kw)
        st["evs"].append(e)

    def no_opened_life(self, st, t0):
        """A ticket opened before the stream began: no OPENED is seen."""
        rng = self.rng
        agent = self.pick(self.queue_agents[st["queue"]])
        r = rng.random()
        if r < 0.2:                             # only its end is seen
            self.emit(st, t0, self.pick(("RESOLVED", "ABANDONED",
                                         "REOPENED")),
                      agent=agent if self.chance(0.5) else None)
        elif r < 0.3:
            self.emit(st, t0, "SURVEY", csat=rng.randint(1, 5))
        else:                                   # the rest of a normal life
            first = self.pick(("ASSIGNED", "AGENT_REPLY", "CUSTOMER_REPLY"))
            self.emit(st, t0, first,
                      agent=None if first == "CUSTOMER_REPLY" else agent)
            t = t0 + rng.randrange(1 * SECOND, 10 * MINUTE)
            self.emit(st, t, "AGENT_REPLY", agent=agent)
            t = self.handled(st, t, agent)
            if self.chance(0.8):
                self.emit(st, t + rng.randrange(SECOND, 10 * MINUTE),
                          "RESOLVED", agent=agent)

    def handled(self, st, t, agent):
        talk, hold, acw = self.handle_times(st["channel"])
        t += (talk or 0) + (hold or 0) + (acw or 0)
        self.emit(st, t, "HANDLED", agent=agent, talk_ms=talk, hold_ms=hold,
                  acw_ms=acw)
        return t

    def life(self, st, t0):
        """One life from OPENED; returns the time of its last event, or None
        when the ticket stays open."""
        a = self.a
        rng = self.rng
        emit = self.emit
        queue, channel = st["queue"], st["channel"]
        thr = self.threshold(queue, channel)
        r = rng.random()
        cat = ("complaint" if r < a.complaint_frac else
               "Complaint" if r < a.complaint_frac + 0.005 else
               self.pick(("billing", "technical", "account", None)))
        # clock skew: OPENED stamped after the first agent events (FRT and
        # resolution time clamp at 0)
        skew = rng.randrange(1, 5 * SECOND) if self.chance(a.skew_frac) else 0
        emit(st, t0 + skew, "OPENED", category=cat)

        # abandons: mostly voice and chat
        ab_p = a.abandon_frac * (1.0 if channel in ("PHONE", "CHAT") else 0.2)
        if self.chance(ab_p):
            r = rng.random()
            if r < 0.15:
                wait = self.pick((SHORT_ABANDON, SHORT_ABANDON - 1))
            elif r < 0.45:
                wait = rng.randrange(0, SHORT_ABANDON)
            else:
                wait = rng.randrange(SHORT_ABANDON, 2 * thr)
            emit(st, t0 + wait, "ABANDONED")
            return t0 + wait

        agent = self.pick(self.queue_agents[queue])
        if self.chance(a.never_close_frac):
            # waits forever (or is assigned, then forgotten)
            if self.chance(0.5):
                emit(st, t0 + rng.randrange(1000, 60000), "ASSIGNED",
                     agent=agent)
            return None

        if self.chance(a.selfserve_frac):
            # solved before any agent reply (no FRT); some are reopened
            # before the deadline and so still breach if nobody answers
            t = t0 + rng.randrange(1 * SECOND, thr)
            emit(st, t, "RESOLVED")
            if self.chance(0.4):
                t = rng.randrange(t, t0 + thr + 1)
                emit(st, t, "REOPENED")
                t = t0 + thr + rng.randrange(1, thr + 1)
                emit(st, t, "AGENT_REPLY", agent=agent)
                t = self.handled(st, t, agent)
                t += rng.randrange(SECOND, 10 * MINUTE)
                emit(st, t, "RESOLVED", agent=agent)
            return t

        frt = self.first_response(queue, channel)
        if self.chance(a.long_wait_frac):
            frt = int(thr * rng.uniform(3, 30))
        t = t0 + rng.randrange(0, max(1, min(frt, 30 * SECOND)))
        emit(st, t, "ASSIGNED", agent=agent)
        t = max(t, t0 + frt)
        emit(st, t, "AGENT_REPLY", agent=agent)

        def conversation(t, agent, rounds):
            for _ in range(rounds):
                t += rng.randrange(10 * SECOND, 10 * MINUTE)
                emit(st, t, "CUSTOMER_REPLY")
                t += rng.randrange(5 * SECOND, 5 * MINUTE)
                emit(st, t, "AGENT_REPLY", agent=agent)
            return t

        extra = 0 if channel == "PHONE" and self.chance(0.8) else \
            self.pick((0, 0, 1, 1, 2, 3))
        t = conversation(t, agent, extra)
        t = self.handled(st, t, agent)
        if self.chance(a.transfer_frac):
            t += rng.randrange(5 * SECOND, 3 * MINUTE)
            st["queue"] = self.pick([q for q in self.queues if q != queue])
            if self.chance(0.2):
                # escalated to another channel: the current channel changes
                st["channel"] = self.pick([c for c in CHANNELS
                                           if c != channel])
            new_agent = self.pick(self.queue_agents[st["queue"]])
            emit(st, t, "TRANSFERRED",
                 agent=new_agent if self.chance(0.5) else None)
            agent = new_agent
            t += rng.randrange(5 * SECOND, 10 * MINUTE)
            emit(st, t, "AGENT_REPLY", agent=agent)
            t = self.handled(st, t, agent)
        if self.chance(0.04):                   # left open after the work
            return None
        t += rng.randrange(1 * SECOND, 20 * MINUTE)
        emit(st, t, "RESOLVED", agent=agent if self.chance(0.8) else None)
        t_res = t

        if self.chance(a.reopen_frac):
            t += rng.randrange(10 * MINUTE, 30 * HOUR)
            emit(st, t, "REOPENED")
            t += rng.randrange(30 * SECOND, 2 * HOUR)
            emit(st, t, "AGENT_REPLY", agent=agent)
            t = self.handled(st, t, agent)
            t += rng.randrange(1 * SECOND, 30 * MINUTE)
            emit(st, t, "RESOLVED", agent=agent)
        if self.chance(a.survey_frac):
            ts = t_res + rng.randrange(1 * MINUTE, 20 * HOUR)
            kw = {"csat": rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 35, 45))[0]
                  if self.chance(0.85) else None,
                  "nps": rng.choices(range(11), (3, 2, 2, 3, 3, 5, 7, 10, 15,
                                                 25, 25))[0]
                  if self.chance(0.6) else None,
                  "ces": rng.randint(1, 7) if self.chance(0.4) else None}
            if all(v is None for v in kw.values()):
                kw["csat"] = 5
            emit(st, ts, "SURVEY", **kw)
            t = max(t, ts)
        if self.chance(a.qa_frac):
            # some reviews come days later, after the ticket may have been
            # forgotten (TTL): they bring it back as a new, open ticket
            late = self.chance(0.3)
            ts = t_res + rng.randrange(1 * HOUR, 80 * HOUR if late
                                       else 30 * HOUR)
            emit(st, ts, "QA_REVIEWED", agent=agent,
                 qa_errors=None if self.chance(0.1) else
                 rng.choices((0, 1, 2, 3, 4), (50, 25, 12, 8, 5))[0])
            t = max(t, ts)
        return t


def build(args):
    g = Gen(args)
    rng = g.rng
    start = args.start_ms
    span = int(args.days * DAY)

    # tickets until there are comfortably more events than asked for; the
    # ordered stream is cut at --events
    events = []
    while len(events) < args.events * 1.15 + 100:
        events.extend(g.ticket(start, span))

    # order of delivery: by ts, some delayed within lateness (out of order),
    # some beyond it (late); duplicates re-sent a little later
    lateness = args.lateness
    stream = []                   # (emit key, seq, event)
    for i, e in enumerate(events):
        key = e["ts"]
        r = rng.random()
        if r < args.shuffle_frac:
            # delayed, but (with lateness above a minute) not late
            hi = lateness - 30 * SECOND if lateness > MINUTE else lateness
            hi = max(2, hi)
            key += rng.randrange(min(SECOND, hi - 1), hi)
        elif r < args.shuffle_frac + args.late_frac:
            key += lateness + rng.randrange(1, 30 * MINUTE)
        stream.append((key, i, e))
    stream.sort(key=lambda x: (x[0], x[1]))
    stream = stream[:args.events]
    # outages: no record at all for a while (windows jump several buckets
    # or their whole span at once, many deadlines and TTLs fall due together)
    gaps = [parse_ms(x) for x in args.gaps.split(",") if x.strip()]
    if gaps and stream:
        first, last_key = stream[0][0], stream[-1][0]
        points = sorted(first + (last_key - first) * (k + 1) // (len(gaps) + 1)
                        for k in range(len(gaps)))
        rng.shuffle(gaps)
        shifted = []
        for key, i, e in stream:
            shift = sum(g for p, g in zip(points, gaps) if key >= p)
            if shift:
                e["ts"] += shift
            shifted.append((key + shift, i, e))
        stream = shifted
    # event ids in delivery order
    for n, (_, _, e) in enumerate(stream):
        e["event_id"] = "E%d-%07d" % (args.seed, n)

    extra = []
    for key, i, e in stream:
        if rng.random() < args.dup_frac:
            extra.append((key + rng.randrange(0, lateness + 2 * MINUTE),
                          i, dict(e)))
        if rng.random() < args.invalid_frac:
            bad = dict(e)
            bad["event_id"] = e["event_id"] + "-bad"
            kind = rng.randrange(6)
            if kind == 0:
                bad.update(type="SURVEY", agent_id=None,
                           csat=rng.choice((0, 6)))
            elif kind == 1:
                bad.update(type="SURVEY", agent_id=None, nps=11)
            elif kind == 2:
                bad.update(type="SURVEY", agent_id=None, ces=8, csat=4)
            elif kind == 3:
                bad.update(type="HANDLED", talk_ms=-rng.randrange(1, 5000),
                           hold_ms=0, acw_ms=1000)
            elif kind == 4:
                bad.update(type="HANDLED", talk_ms=1000, acw_ms=-1)
            else:
                bad.update(type="QA_REVIEWED", qa_errors=-1)
            if rng.random() < 0.3:
                # a bad version sent first under the same id: dropped as
                # invalid, its id is not remembered, the good one counts
                bad["event_id"] = e["event_id"]
                extra.append((key - rng.randrange(0, 2 * SECOND), i, bad))
            else:
                extra.append((key, i, bad))
            if rng.random() < 0.1:                 # an invalid one re-sent
                extra.append((key + rng.randrange(0, MINUTE), i, dict(bad)))
    stream.extend(extra)
    stream.sort(key=lambda x: (x[0], x[1]))
    ordered = [e for _, _, e in stream]
    return edge_pass(args, g, ordered)


def parse_ms(text):
    """'61s', '5m', '3h', '1d' or bare ms."""
    text = text.strip()
    for unit, mult in (("ms", 1), ("s", SECOND), ("m", MINUTE), ("h", HOUR),
                       ("d", DAY)):
        if text.endswith(unit) and text[:-len(unit)].isdigit():
            return int(text[:-len(unit)]) * mult
    return int(text)


def is_invalid(e):
    for k, lo, hi in (("csat", 1, 5), ("nps", 0, 10), ("ces", 1, 7)):
        v = e.get(k)
        if v is not None and not lo <= v <= hi:
            return True
    for k in ("talk_ms", "hold_ms", "acw_ms", "qa_errors"):
        v = e.get(k)
        if v is not None and v < 0:
            return True
    return False


def edge_pass(args, g, ordered):
    """Follows the stream time the engine will have (semantics.md §1) and
    adds records exactly at the lateness edge:
      * an OPENED of a ticket not yet seen, moved to ts = now - lateness
        (accepted; a chat or phone one has its deadline already behind now);
      * a SURVEY at now - lateness (accepted) or now - lateness - 1 (late);
      * a re-sent copy of an accepted record whose ts is now - lateness."""
    rng = g.rng
    lateness = args.lateness
    now = None
    seen = {}                     # event_id -> stream time when accepted
    seen_tickets = set()
    accepted_at_edge = {}         # ts -> an accepted record with that ts
    out = []
    # future OPENED records that may be pulled forward: index by position
    removed = set()
    opened_positions = [i for i, e in enumerate(ordered)
                        if e["type"] == "OPENED" and not is_invalid(e)]
    op_cursor = 0
    edge_n = 0

    for i, e in enumerate(ordered):
        if i in removed:
            continue
        if now is not None and rng.random() < args.edge_frac:
            edge = now - lateness
            choice = rng.randrange(4)
            if choice == 0:
                # pull a future OPENED of an unseen ticket forward
                while op_cursor < len(opened_positions) and \
                        opened_positions[op_cursor] <= i:
                    op_cursor += 1
                for j in opened_positions[op_cursor:op_cursor + 50]:
                    f = ordered[j]
                    if (j not in removed and f["ticket_id"] not in seen_tickets
                            and f["ts"] >= edge):
                        removed.add(j)
                        f = dict(f)
                        f["ts"] = edge
                        out.append(f)
                        seen[f["event_id"]] = now
                        seen_tickets.add(f["ticket_id"])
                        break
            elif choice in (1, 2):
                edge_n += 1
                late = choice == 2
                s = {"event_id": "E%d-edge-%05d" % (args.seed, edge_n),
                     "ticket_id": e["ticket_id"], "type": "SURVEY",
                     "ts": edge - (1 if late else 0),
                     "channel": e["channel"], "queue": e["queue"],
                     "agent_id": None, "customer_id": e["customer_id"],
                     "csat": rng.randint(1, 5)}
                out.append(s)
                if not late:
                    seen[s["event_id"]] = now
                    seen_tickets.add(s["ticket_id"])
            else:
                old = accepted_at_edge.get(edge)
                if old is not None:
                    out.append(dict(old))          # a duplicate at the edge
        out.append(e)
        # the engine's verdict on e, and the stream time after it
        if is_invalid(e):
            continue
        if now is not None and e["ts"] < now - lateness:
            continue
        if e["event_id"] in seen and seen[e["event_id"]] >= now - lateness:
            continue
        now = e["ts"] if now is None else max(now, e["ts"])
        seen[e["event_id"]] = now
        seen_tickets.add(e["ticket_id"])
        accepted_at_edge[e["ts"]] = e
        if len(accepted_at_edge) > 200000:
            accepted_at_edge.clear()
    return out


def dump(e, rng):
    rec = {}
    for k in FIELDS:
        v = e.get(k)
        if v is None and k in OPTIONAL and rng.random() < 0.5:
            continue                      # absent rather than null
        rec[k] = v
    return json.dumps(rec, separators=(",", ":"))


def hostile_pass(args, events):
    """After some records, a copy at the same ts (stream time unchanged)
    with a new id that breaks or just meets a rule of docs/kpis.md §7."""
    rng = random.Random(args.seed * 7 + 3)
    out = []
    n = 0
    for e in events:
        out.append(e)
        if rng.random() >= args.hostile_frac:
            continue
        n += 1
        h = dict(e)
        h["event_id"] = "H%d-%06d" % (args.seed, n)
        kind = rng.randrange(10)
        if kind >= 6:   # valid ones: a customer reply, no type fields
            h["type"] = "CUSTOMER_REPLY"
            for k in OPTIONAL:
                h[k] = None
        if kind == 0:
            h["queue"] = "q" * 257
        elif kind == 1:
            h["agent_id"] = "a" * 257
        elif kind == 2:
            h["customer_id"] = ""
        elif kind == 3:
            h["ticket_id"] = ""
        elif kind == 4:
            h["ts"] = rng.choice((946684800000 - 1, 4102444800000 + 1))
        elif kind == 5:
            h["queue"] = "\u00e9" * 128 + "x"     # 257 bytes
        elif kind == 6:
            h["queue"] = "\u00e9" * 128           # 256 bytes: a new queue
        elif kind == 7:
            h["event_id"] = ("H%d-%06d-" % (args.seed, n)).ljust(256, "x")
        elif kind == 8:
            h["agent_id"] = "x%d" % rng.randrange(1000)   # agents beyond a cap
        else:
            h["customer_id"] = "hc%d" % rng.randrange(100000)  # new customers
        out.append(h)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10000,
                    help="records of the base stream (duplicates, invalid "
                         "and edge records come on top, a few %%)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-")
    ap.add_argument("--start-ms", type=int, default=1761264000000,
                    help="first possible open time (default "
                         "2025-10-24T00:00Z: Berlin's DST ends on the 26th)")
    ap.add_argument("--days", type=float, default=4.0,
                    help="span of open times in days")
    ap.add_argument("--agents", type=int, default=40)
    ap.add_argument("--queues", type=int, default=len(QUEUES),
                    help="queues (default 5 named ones; more adds generated "
                         "queues that share half of the traffic)")
    ap.add_argument("--customers", type=int, default=0,
                    help="customer pool (default events/12)")
    ap.add_argument("--lateness", type=int, default=5 * MINUTE,
                    help="the engine's lateness in ms (for the edge cases)")
    ap.add_argument("--dup-frac", type=float, default=0.01)
    ap.add_argument("--late-frac", type=float, default=0.005)
    ap.add_argument("--invalid-frac", type=float, default=0.004)
    ap.add_argument("--shuffle-frac", type=float, default=0.03)
    ap.add_argument("--edge-frac", type=float, default=0.003,
                    help="records at the lateness edge (per record)")
    ap.add_argument("--exact-frac", type=float, default=0.02,
                    help="first replies exactly at the SLA threshold or "
                         "1 ms after it (per ticket)")
    ap.add_argument("--no-opened-frac", type=float, default=0.02)
    ap.add_argument("--never-close-frac", type=float, default=0.02)
    ap.add_argument("--long-wait-frac", type=float, default=0.03)
    ap.add_argument("--abandon-frac", type=float, default=0.10)
    ap.add_argument("--transfer-frac", type=float, default=0.08)
    ap.add_argument("--reopen-frac", type=float, default=0.05)
    ap.add_argument("--gaps", default="61s,301s,16m,61m,3h,25h",
                    help="outages (comma-separated durations) spread over "
                         "the stream, in random order; '' for none")
    ap.add_argument("--reuse-frac", type=float, default=0.02,
                    help="ticket ids opened again after their last event "
                         "(a new life)")
    ap.add_argument("--selfserve-frac", type=float, default=0.03,
                    help="tickets resolved before any agent reply")
    ap.add_argument("--skew-frac", type=float, default=0.003,
                    help="OPENED stamped after the first agent events")
    ap.add_argument("--survey-frac", type=float, default=0.35)
    ap.add_argument("--qa-frac", type=float, default=0.10)
    ap.add_argument("--complaint-frac", type=float, default=0.07)
    ap.add_argument("--hostile-frac", type=float, default=0.0,
                    help="records followed by a copy breaking (or just "
                         "meeting) a text or time rule of docs/kpis.md §7")
    args = ap.parse_args(argv)

    events = build(args)
    if args.hostile_frac > 0:
        events = hostile_pass(args, events)
    out = sys.stdout if args.out == "-" else open(args.out, "w",
                                                   encoding="utf-8")
    rng = random.Random(args.seed + 1)
    for e in events:
        out.write(dump(e, rng) + "\n")
    if out is not sys.stdout:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
