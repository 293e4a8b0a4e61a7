#!/usr/bin/env python3
"""Hostile floods for bench/flood.sh (issue 10, docs/kpis.md section 7): writes
JSON Lines ticket events (the schema of schemas/ticket_event.avsc) to stdout.

  flood_gen.py agents N    N distinct agents: per agent a ticket OPENED and
                           answered by it (AGENT_REPLY with agent_id), 2N events;
                           with --agent-mod M the same events with M agents
                           (the baseline: a center of ordinary size)
  flood_gen.py tickets N   N distinct tickets (and customers), one OPENED each,
                           none closed
  flood_gen.py bigstr N    N events whose text fields carry 1 MiB strings
                           (each event one field: event_id, ticket_id, queue,
                           agent_id, customer_id, category in turn; ASCII and
                           2-byte UTF-8), between ordinary events
  flood_gen.py garbage N   N lines that are not Avro records (for the live
                           dead-letter case: each line one Kafka record)

Deterministic: the same case and N give the same bytes. Event times start at
--start (ms, default 1795000000000) and advance --step ms (default 10) per
event, so no event is late.
"""
import argparse
import json
import sys

CHANNELS = ("PHONE", "CHAT", "EMAIL", "SOCIAL")
QUEUES = ("billing", "tech", "sales", "returns")


def event(i, ts, ticket, typ, k, **kw):
    """Event i of ticket number k (whose channel, queue and customer it keeps)."""
    ev = {"event_id": "fe%d" % i, "ticket_id": ticket, "type": typ, "ts": ts,
          "channel": CHANNELS[k % 4], "queue": QUEUES[k % 4], "customer_id": "fc%d" % k}
    ev.update(kw)
    return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=("agents", "tickets", "bigstr", "garbage"))
    ap.add_argument("n", type=int)
    ap.add_argument("--start", type=int, default=1795000000000)
    ap.add_argument("--step", type=int, default=10)
    ap.add_argument("--agent-mod", type=int, default=0)
    a = ap.parse_args()
    out = sys.stdout
    w = out.write
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    ts = a.start
    if a.case == "garbage":
        for i in range(a.n):
            # 'g' (0x67) as a zigzag varint is -52: a negative string length
            w("garbage-%d-not-avro\n" % i)
        return
    if a.case == "agents":
        for i in range(a.n):
            t = "ft%d" % i
            w(dumps(event(2 * i, ts, t, "OPENED", i)) + "\n")
            w(dumps(event(2 * i + 1, ts + a.step, t, "AGENT_REPLY", i, agent_id="fa%07d" % (i % a.agent_mod if a.agent_mod else i))) + "\n")
            ts += 2 * a.step
        return
    if a.case == "tickets":
        # the formatting by hand: 10M lines through json.dumps cost minutes
        for i in range(a.n):
            w('{"event_id":"fe%d","ticket_id":"ft%d","type":"OPENED","ts":%d,"channel":"%s",'
              '"queue":"%s","customer_id":"fc%d"}\n' % (i, i, ts, CHANNELS[i % 4], QUEUES[i % 4], i))
            ts += a.step
        return
    # bigstr
    fields = ("event_id", "ticket_id", "queue", "agent_id", "customer_id", "category")
    mib = 1 << 20
    for i in range(a.n):
        w(dumps(event(2 * i, ts, "ft%d" % i, "OPENED", i)) + "\n")
        ts += a.step
        f = fields[i % len(fields)]
        big = ("x" * mib) if i % 2 == 0 else ("\u00e9" * (mib // 2))  # 1 MiB either way
        ev = event(2 * i + 1, ts, "ft%d" % i, "AGENT_REPLY", i, agent_id="fa%d" % (i % 7))
        ev[f] = big
        w(dumps(ev) + "\n")
        ts += a.step


if __name__ == "__main__":
    main()
