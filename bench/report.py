#!/usr/bin/env python3
"""Turns the work files of bench/run into bench/results/<name>.json, PNG
figures <name>-*.png and the summary <name>.md (figures, ratios, goals met
or missed, the exact command). Called by bench/run only."""
import argparse
import datetime
import json
import os
import platform
import re


def null_budget_note(null_secs, null, run):
    """What the goal run / null consumer >= 0.90 leaves `ccpulse run` on this
    machine: it must finish within null_secs / 0.90, in which the machine's
    cores give at most cores x that many CPU-seconds. The broker serving the
    same records and the fetching itself (run fetches as the null consumer
    does, through librdkafka) come out of it, as the null consumer's pass
    measured them, before decoding, the engine, publishing and Redis get any."""
    if not null_secs or not run.get("cpu_seconds"):
        return None
    cores = os.cpu_count() or 1
    secs = null_secs / 0.90
    budget = cores * secs
    note = "at 0.90 run is done within %.2f s: %.2f CPU-s of %d cores" % (secs, budget, cores)
    fetch, broker = null.get("cpu_seconds"), null.get("broker_cpu_seconds")
    if fetch is not None and broker is not None:
        note += (", less %.2f for the broker and %.2f for fetching (the null consumer's pass) leaves %.2f"
                 % (broker, fetch, budget - broker - fetch))
    note += "; this run: %.2f CPU-s" % run["cpu_seconds"]
    if run.get("broker_cpu_seconds") is not None and run.get("redis_cpu_seconds") is not None:
        note += ", broker %.2f, Redis %.2f" % (run["broker_cpu_seconds"], run["redis_cpu_seconds"])
    return note


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def window(samples, t0, t1):
    """CPU cores and Redis input bytes/s between the first sample at or after
    t0 and the last at or before t1 (sample_proc.py rows: wall_ms, cpu_s,
    rss, redis_in_bytes, redis_used_memory, and minor faults in newer ones)."""
    inside = [x for x in samples if t0 <= x[0] <= t1]
    if len(inside) < 2:
        return {}
    a, b = inside[0], inside[-1]
    secs = (b[0] - a[0]) / 1000.0
    w = {"seconds": secs, "cpu_cores": (b[1] - a[1]) / secs,
         "redis_in_bytes_per_s": (b[3] - a[3]) / secs, "rss_bytes_end": b[2],
         "rss_bytes_max": max(x[2] or 0 for x in inside), "redis_used_memory_end": b[4]}
    if len(a) > 5 and len(b) > 5:
        w["minor_faults_per_s"] = (b[5] - a[5]) / secs
    return w


def produced_at(gen, k):
    """ms after start_wall_ms at which event k (1-based) was handed to the
    producer, from gen's produced_ms samples (every produced_stride events);
    its due time when gen did not report them."""
    rate = gen.get("rate") or 0
    pm, stride = gen.get("produced_ms"), gen.get("produced_stride")
    if not pm or not stride:
        return (k - 1) * 1000.0 / rate if rate else 0.0
    i = (k - 1) // stride
    if i + 1 < len(pm):
        f = ((k - 1) - i * stride) / float(stride)
        return pm[i] + f * (pm[i + 1] - pm[i])
    last = len(pm) - 1
    return pm[last] + ((k - 1) - last * stride) * 1000.0 / rate


def latency(gen, watch, offset=0):
    """event->Redis latency per publish cycle seen: wall clock when seen minus
    when the newest event it counts (k = events - offset) was handed to the
    producer; and, for comparison, minus its due time on the producer's
    schedule (which adds the producer's own lag). The first second is
    warm-up and left out."""
    start, rate = gen.get("start_wall_ms"), gen.get("rate")
    e2r, sched, pts = [], [], []
    for wall, ev, _now in (watch or {}).get("samples", []):
        k = ev - offset
        if not start or not rate or k <= 0:
            continue
        due = start + (k - 1) * 1000.0 / rate
        if due < start + 1000:
            continue
        e2r.append(wall - (start + produced_at(gen, k)))
        sched.append(wall - due)
        pts.append(((wall - start) / 1000.0, e2r[-1]))
    return {"cycles": len(e2r), "e2r_p50_ms": pct(e2r, 50), "e2r_p99_ms": pct(e2r, 99),
            "e2r_max_ms": max(e2r) if e2r else None, "due_p50_ms": pct(sched, 50),
            "due_p99_ms": pct(sched, 99), "producer_lag_p50_ms": gen.get("lag_p50_ms"),
            "producer_lag_p99_ms": gen.get("lag_p99_ms"), "producer_lag_max_ms": gen.get("lag_max_ms"),
            "watch_mode": (watch or {}).get("mode")}, pts


def steady(gen, samples):
    """The steady window of a fixed-rate run: from 2 s after the producer
    started to 0.5 s before it finished."""
    start, secs = gen.get("start_wall_ms"), gen.get("seconds")
    if not start or not secs:
        return {}
    return window(samples, start + 2000, start + secs * 1000 - 500)


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(q / 100.0 * (len(xs) - 1)))))
    return xs[k]


def log_ms(line):
    """Wall clock ms of a ccpulse log line (2026-12-02T06:58:10.231Z ...)."""
    t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000.0


def recovery(w):
    """The recovery step (bench/run): catch-up with checkpoint.interval=off
    and with the default, pass by pass; the throughput cost of checkpoints;
    the restore of the last checkpoint, and its bytes per open ticket."""
    gen = load(os.path.join(w, "gen-rec.json"))
    if not gen:
        return {}
    n = gen.get("events")
    runs = {"off": [], "default": []}
    for mode in runs:
        for rep in range(1, 100):
            meta = load(os.path.join(w, "rec-%s-%d.json" % (mode, rep)))
            if not meta:
                break
            wt = load(os.path.join(w, "watch-rec-%s-%d.json" % (mode, rep))) or {}
            done = wt.get("done_wall_ms")
            seen = [x for x in wt.get("samples", []) if x[1] > 0]
            r = {"rep": rep, "caught_up": bool(wt.get("done"))}
            if done:
                r["seconds_from_start"] = (done - meta["start_wall_ms"]) / 1000.0
            try:
                text = open(os.path.join(w, "run-rec-%s-%d.log" % (mode, rep))).read()
            except OSError:
                text = ""
            m = re.search(r"^\S+ INFO  consumer: assigned \d+ partition", text, re.M)
            if done and m:
                # assignment -> all events published: the consuming, the
                # same span in both modes (no process start, no group join)
                r["seconds_assignment_to_last"] = (done - log_ms(m.group(0))) / 1000.0
                r["eps"] = n / r["seconds_assignment_to_last"]
            if seen:
                r["first_publish_events"] = seen[0][1]
            runs[mode].append(r)
    rec = {"events": n, "open_frac": 0.8, "catch_up": runs}

    def cost(key):
        pairs = [(a[key], b[key]) for a, b in zip(runs["off"], runs["default"])
                 if a.get(key) and b.get(key)]
        return sum(d / o - 1.0 for o, d in pairs) / len(pairs) if pairs else None

    # time of the same catch-up with checkpoints against without, minus 1
    rec["checkpoint_cost"] = cost("seconds_assignment_to_last")
    rec["checkpoint_cost_from_start"] = cost("seconds_from_start")
    rec["checkpoint_cost_basis"] = ("assignment to last event published" if rec["checkpoint_cost"] is not None
                                    else "process start to last event published")
    if rec["checkpoint_cost"] is None:
        rec["checkpoint_cost"] = rec["checkpoint_cost_from_start"]

    def num(name):
        try:
            return int(open(os.path.join(w, name)).read().strip())
        except (OSError, ValueError):
            return None

    rec["checkpoint_bytes"] = num("rec-ckpt-bytes.txt")
    rec["checkpoint_offset"] = num("rec-ckpt-offset.txt")
    op = load(os.path.join(w, "rec-open.json")) or {}
    rec["open_tickets"] = op.get("open")
    if rec["checkpoint_bytes"] and rec["open_tickets"]:
        rec["checkpoint_bytes_per_open"] = rec["checkpoint_bytes"] / float(rec["open_tickets"])
    meta = load(os.path.join(w, "rec-restore.json")) or {}
    wt = load(os.path.join(w, "watch-rec-restore.json")) or {}
    restore = {"caught_up": bool(wt.get("done"))}
    try:
        text = open(os.path.join(w, "run-rec-restore.log")).read()
    except OSError:
        text = ""
    m = re.search(r"^(\S+) INFO  checkpoint: partition \d+ of '[^']*': restored (\d+) bytes at offset "
                  r"(\d+) in (\d+) ms", text, re.M)
    done = wt.get("done_wall_ms")
    if m:
        restore.update(bytes=int(m.group(2)), offset=int(m.group(3)), claim_and_load_ms=int(m.group(4)))
        # the rebalance callback began the claim this long before its line
        assigned = log_ms(m.group(0)) - int(m.group(4))
        if done:
            restore["seconds_assignment_to_caught_up"] = (done - assigned) / 1000.0
        if meta.get("start_wall_ms"):
            restore["seconds_start_to_assignment"] = (assigned - meta["start_wall_ms"]) / 1000.0
    if done and meta.get("start_wall_ms"):
        restore["seconds_start_to_caught_up"] = (done - meta["start_wall_ms"]) / 1000.0
    rec["restore"] = restore
    return rec


def main():
    ap = argparse.ArgumentParser()
    for a in ("--work", "--name", "--out", "--command", "--commit", "--rates", "--engine-sizes"):
        ap.add_argument(a, required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--live-rates", default="")
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--wall-seconds", type=int, default=0)
    ap.add_argument("--load-start", default="")
    a = ap.parse_args()
    w = a.work
    N = a.events
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    res = {
        "bench": "capacity",
        "name": a.name,
        "command": a.command,
        "commit": a.commit,
        "quick": bool(a.quick),
        "machine": {"cpu_model": cpu, "nproc": os.cpu_count(), "kernel": platform.release(),
                    "loadavg_start": a.load_start, "loadavg_end": open("/proc/loadavg").read().strip()},
        "wall_seconds": a.wall_seconds,
    }

    # engine and memory (bench_engine at sizes)
    eng = []
    for s in a.engine_sizes.split():
        e = load(os.path.join(w, "engine-%s.json" % s))
        if e:
            eng.append({
                "events": e["workload"]["events"],
                "decode_eps": e["decode"]["eps"],
                "replay_eps": e["replay"]["eps"],
                "peak_open_tickets": e["peak_open_tickets"],
                "bytes_per_open_ticket": e["bytes_per_open_ticket"],
                "marginal_bytes_per_open_ticket": e.get("marginal_bytes_per_open_ticket"),
                "vm_hwm_bytes": e.get("vm_hwm_bytes"),
            })
    res["engine"] = eng

    # catch-up
    gen = load(os.path.join(w, "gen.json")) or {}
    null = load(os.path.join(w, "null.json")) or {}
    cu = {}
    for k in ("2", "1"):
        c = load(os.path.join(w, "catchup-%s.json" % k))
        if c:
            c["eps"] = N / c["seconds"] if c["seconds"] > 0 else None
            c["eps_per_cpu"] = N / c["cpu_seconds"] if c.get("cpu_seconds") else None
            cu[k] = c
    null_secs = null.get("total_seconds") or None
    null_eps = N / null_secs if null_secs else None
    null["eps_per_cpu"] = N / null["cpu_seconds"] if null.get("cpu_seconds") else None
    run2 = cu.get("2", {})
    run1 = cu.get("1", {})
    ratio_null = run2.get("eps") / null_eps if run2.get("eps") and null_eps else None
    res["catch_up"] = {
        "events": N,
        "partitions": 8,
        "gen": gen,
        "null_consumer": dict(null, eps_total=null_eps),
        "run_workers_2": run2,
        "run_workers_1": run1,
        "ratio_run_to_null": ratio_null,
        "note": "seconds from process start until done for both (run: until Redis shows diagnostics.events == N; null: until the N-th message)",
    }
    res["scaling"] = {
        "workers_1_seconds": run1.get("seconds"),
        "workers_2_seconds": run2.get("seconds"),
        "speedup": run1["seconds"] / run2["seconds"] if run1.get("seconds") and run2.get("seconds") else None,
    }

    # latency: event->Redis from when each event was handed to the producer,
    # the producer's own lag apart; CPU of run and Redis input over the steady window
    lat = []
    series = {}
    for r in a.rates.split():
        rate = int(r)
        g = load(os.path.join(w, "gen-lat-%s.json" % r)) or {}
        s = load(os.path.join(w, "watch-lat-%s.json" % r)) or {}
        L, pts = latency(g, s)
        series[rate] = pts
        win = steady(g, load_jsonl(os.path.join(w, "samples-lat-%s.jsonl" % r)))
        lat.append(dict(L, rate=rate, events=g.get("events"), gen_eps=g.get("eps"),
                        visible_all=bool(s.get("done")), snapshots=L["cycles"],
                        p50_ms=L["e2r_p50_ms"], p99_ms=L["e2r_p99_ms"], max_ms=L["e2r_max_ms"],
                        run_cpu_cores=win.get("cpu_cores"),
                        redis_in_bytes_per_s=win.get("redis_in_bytes_per_s")))
    # sustained: every event became visible, the producer kept >= 95 % of the
    # rate, and p99 stayed within 1 s (a backlog would make it grow without bound)
    for l in lat:
        l["sustained"] = bool(l["visible_all"] and l["gen_eps"] and l["gen_eps"] >= 0.95 * l["rate"]
                              and l["p99_ms"] is not None and l["p99_ms"] <= 1000)
    res["latency"] = lat
    sus = [l["rate"] for l in lat if l["sustained"]]
    res["highest_sustained_rate"] = max(sus) if sus else None

    # wide: replay of the same events for both shapes
    wide = {}
    for shape in ("narrow", "wide"):
        runs = []
        for rep_ in range(1, 4):
            x = load(os.path.join(w, "replay-%s-%d.json" % (shape, rep_)))
            if x:
                runs.append(x)
        g = load(os.path.join(w, "gen-%s.json" % shape)) or {}
        if runs:
            wide[shape] = {"agents": g.get("agents"), "queues": g.get("queues"), "events": g.get("events"),
                           "seconds": min(x["seconds"] for x in runs), "passes": len(runs),
                           "max_rss_bytes": max(x["max_rss_bytes"] for x in runs),
                           "snapshot_bytes": runs[-1]["stdout_bytes"]}
    if wide.get("narrow") and wide.get("wide"):
        nw, ww = wide["narrow"], wide["wide"]
        wide["time_ratio"] = ww["seconds"] / nw["seconds"] if nw["seconds"] else None
        wide["rss_ratio"] = ww["max_rss_bytes"] / float(nw["max_rss_bytes"])
        wide["snapshot_ratio"] = ww["snapshot_bytes"] / float(nw["snapshot_bytes"] or 1)
    res["wide_replay"] = wide

    # wide, live: pre-loaded, then a fixed rate
    live = []
    for r in a.live_rates.split():
        for shape in ("narrow", "wide"):
            tag = "%s-%s" % (shape, r)
            meta = load(os.path.join(w, "live-%s.json" % tag))
            if not meta:
                continue
            g = load(os.path.join(w, "gen-live-%s.json" % tag)) or {}
            s = load(os.path.join(w, "watch-live-%s.json" % tag)) or {}
            pre = load(os.path.join(w, "watch-live-pre-%s.json" % tag)) or {}
            L, _ = latency(g, s, offset=meta["preload"])
            win = steady(g, load_jsonl(os.path.join(w, "samples-live-%s.jsonl" % tag)))
            live.append(dict(L, shape=shape, args=meta.get("args"), rate=int(r), preload=meta["preload"],
                             preload_visible=bool(pre.get("done")), events=g.get("events"),
                             gen_eps=g.get("eps"), visible_all=bool(s.get("done")),
                             vm_hwm_bytes=meta.get("vm_hwm_bytes"), window=win,
                             run_cpu_cores=win.get("cpu_cores"),
                             redis_in_bytes_per_s=win.get("redis_in_bytes_per_s"),
                             redis_used_memory=win.get("redis_used_memory_end")))
    res["live"] = live

    # idle: 32 partitions, caught up, no new events
    idle = load(os.path.join(w, "idle.json")) or {}
    if idle:
        wi = load(os.path.join(w, "watch-idle.json")) or {}
        done = wi.get("done_wall_ms")
        smp = load_jsonl(os.path.join(w, "samples-idle.jsonl"))
        win = {}
        if done:
            t0 = done + idle["settle_seconds"] * 1000
            win = window(smp, t0, t0 + idle["idle_seconds"] * 1000 + 600)
        idle.update(caught_up=bool(wi.get("done")), window=win, run_cpu_cores=win.get("cpu_cores"),
                    rss_bytes=win.get("rss_bytes_end"), watch_mode=wi.get("mode"))
    res["idle"] = idle

    rec = recovery(w)
    res["recovery"] = rec

    peer = load(os.path.join(w, "peer.json")) or {"skipped": "no result"}
    if peer.get("seconds"):
        peer["eps"] = peer["events"] / peer["seconds"]
    if (peer.get("cpu_seconds") or -1) > 0:
        peer["eps_per_cpu"] = peer["events"] / peer["cpu_seconds"]
    res["peer"] = peer
    ratio_peer = run2.get("eps") / peer["eps"] if peer.get("eps") and run2.get("eps") else None
    # per core: events per CPU-second of each process (the project's claim is
    # "events per core"; the wall-clock ratio cannot exceed null/peer here,
    # where broker, consumer and peer share the machine's cores)
    ratio_peer_cpu = (run2["eps_per_cpu"] / peer["eps_per_cpu"]
                      if peer.get("eps_per_cpu") and run2.get("eps_per_cpu") else None)
    ceiling_peer = null_eps / peer["eps"] if peer.get("eps") and null_eps else None
    res["catch_up"]["ratio_run_to_peer_per_cpu"] = ratio_peer_cpu
    res["catch_up"]["ratio_null_to_peer"] = ceiling_peer

    # goals: the table of issue 8 ("now" is the figure before the work)
    def live_of(shape, rate):
        return next((x for x in live if x["shape"] == shape and x["rate"] == rate), None)

    def goal(now, target, value, met, unit="", note=None):
        g = {"now": now, "goal": target, "value": value, "unit": unit,
             "met": None if value is None else bool(met(value))}
        if note:
            g["note"] = note
        return g

    lat100 = next((l for l in lat if l["rate"] == 100000), None)
    mem = [e for e in eng if e["peak_open_tickets"]]
    big = eng[-1] if eng else None
    ww, nw = wide.get("wide"), wide.get("narrow")
    lw1k, ln10k = live_of("wide", 1000), live_of("narrow", 10000)
    size_note = ("%s events (the issue: 1,000,000)" % "{:,}".format(ww["events"])
                 if ww and ww.get("events") != 1000000 else None)
    goals = {
        "wide_time_ratio": goal("4.2x", "<= 1.5x", wide.get("time_ratio"), lambda v: v <= 1.5, "x", size_note),
        "wide_peak_rss": goal("2.98 GB", "<= 400 MB", ww and ww["max_rss_bytes"], lambda v: v <= 400e6,
                              "bytes", size_note),
        "wide_snapshot": goal("63 MB", "<= 8 MB", ww and ww["snapshot_bytes"], lambda v: v <= 8e6, "bytes",
                              size_note),
        "wide_redis_write": goal("~250 MB/s", "<= 5 MB/s", lw1k and lw1k["redis_in_bytes_per_s"],
                                 lambda v: v <= 5e6, "bytes/s",
                                 "pre-loaded with %s events" % "{:,}".format(lw1k["preload"]) if lw1k else None),
        "engine_eps": goal("0.58-0.70M (0.03)", ">= 2M (>= 0.09)", big and big["replay_eps"],
                           lambda v: v >= 2e6 and big["replay_eps"] / big["decode_eps"] >= 0.09, "events/s",
                           big and "replay/decode %.3f at %s events" % (big["replay_eps"] / big["decode_eps"],
                                                                        "{:,}".format(big["events"]))),
        "bytes_per_open_ticket": goal("134-180", "<= 100", big and big["bytes_per_open_ticket"],
                                      lambda v: v <= 100, "bytes",
                                      big and "largest size: %s open tickets" % "{:,}".format(big["peak_open_tickets"])),
        "run_cpu_10k": goal("0.52 core", "<= 0.10 core", ln10k and ln10k["run_cpu_cores"], lambda v: v <= 0.10,
                            "cores"),
        "idle32_rss": goal("1.41 GB", "<= 250 MB", idle.get("rss_bytes"), lambda v: v <= 250e6, "bytes",
                           idle and "%s events" % "{:,}".format(idle["events"])),
        "idle32_cpu": goal("0.45 core", "<= 0.03 core", idle.get("run_cpu_cores"), lambda v: v <= 0.03, "cores"),
        "p99_at_100k_ms": goal("0.18-1.6 s", "<= 500 ms", lat100 and lat100["e2r_p99_ms"], lambda v: v <= 500, "ms",
                               None if lat100 else "--quick runs 10k/s only"),
        "end_to_end_vs_null": goal("0.36-0.54", ">= 0.90", ratio_null, lambda v: v >= 0.9, "",
                                   null_budget_note(null_secs, null, run2)),
        "vs_kafka_streams": goal("2.8-3.0x", ">= 10x", ratio_peer, lambda v: v >= 10, "x",
                                 ("wall clock; on this machine it cannot exceed null consumer / peer = %.2fx"
                                  % ceiling_peer) if ceiling_peer else
                                 None if ratio_peer else "peer: %s" % peer.get("skipped", "no result")),
        "vs_kafka_streams_per_cpu": goal("-", ">= 10x", ratio_peer_cpu, lambda v: v >= 10, "x",
                                         "events per CPU-second of each process, same topic"
                                         if ratio_peer_cpu else "peer: %s" % peer.get("skipped", "no CPU figure")),
    }
    res["goals"] = goals
    rr = rec.get("restore", {})
    rec_note = rec and "%s open tickets in one partition" % "{:,}".format(rec.get("open_tickets") or 0)
    goals9 = {
        "recovery_seconds": goal("-", "<= 5 s", rr.get("seconds_assignment_to_caught_up"), lambda v: v <= 5, "s",
                                 rec_note),
        "checkpoint_cost": goal("-", "<= 10 %", rec.get("checkpoint_cost"), lambda v: v <= 0.10, "share",
                                rec and "catch-up time with checkpoints / without - 1, %s" %
                                rec["checkpoint_cost_basis"]),
        "checkpoint_bytes_per_open": goal("-", "(reported)", rec.get("checkpoint_bytes_per_open"), lambda v: True,
                                          "B", rec_note),
    }
    res["goals_issue9"] = goals9

    out = a.out
    base = os.path.join(out, a.name)
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1)

    figs = []
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        def save(fig, suffix, caption):
            fig.tight_layout()
            fig.savefig(base + "-" + suffix + ".png", dpi=100)
            plt.close(fig)
            figs.append((caption, a.name + "-" + suffix + ".png"))

        def goal_axes(ax, goal, goal_label, xlabel, ylabel, title):
            ax.axhline(goal, color="r", ls="--", lw=1, label=goal_label)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            ax.legend()

        # throughput
        labels, vals = [], []
        if null_eps:
            labels.append("null consumer"); vals.append(null_eps)
        if run2.get("eps"):
            labels.append("ccpulse run\nworkers=2"); vals.append(run2["eps"])
        if run1.get("eps"):
            labels.append("ccpulse run\nworkers=1"); vals.append(run1["eps"])
        if peer.get("eps"):
            labels.append("Kafka Streams\npeer"); vals.append(peer["eps"])
        if labels:
            fig, ax = plt.subplots(figsize=(7, 4))
            bars = ax.bar(labels, vals, color=["#888", "#1f77b4", "#6baed6", "#d62728"][: len(vals)])
            for b, v in zip(bars, vals):
                ax.text(b.get_x() + b.get_width() / 2, v, "%.0fk/s" % (v / 1e3), ha="center", va="bottom")
            ax.set_ylabel("events/s (start to last event visible)")
            ax.set_title("Catch-up of %d events, 8 partitions" % N)
            save(fig, "throughput", "Catch-up throughput")
        # latency
        if any(series.values()):
            fig, ax = plt.subplots(figsize=(7, 4))
            for rate, pts in series.items():
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], ".-", label="%dk/s" % (rate // 1000))
            goal_axes(ax, 500, "goal p99 (2 x 250 ms)", "seconds since produce start",
                      "ms, newest event produced -> visible in Redis",
                      "Event -> KPI latency per published snapshot")
            save(fig, "latency", "Latency")
        # memory
        if mem:
            fig, ax = plt.subplots(figsize=(7, 4))
            xs = [e["peak_open_tickets"] for e in mem]
            ax.plot(xs, [e["bytes_per_open_ticket"] for e in mem], "o-", label="RSS / open ticket")
            if all(e.get("marginal_bytes_per_open_ticket") for e in mem):
                ax.plot(xs, [e["marginal_bytes_per_open_ticket"] for e in mem], "s--", label="marginal")
            ax.set_xscale("log")
            goal_axes(ax, 100, "goal 100 B", "peak open tickets (bench_engine)", "bytes",
                      "Memory per open ticket")
            save(fig, "memory", "Memory")
        # wide against narrow: the same events
        if wide.get("narrow") and wide.get("wide"):
            panels = [("replay seconds", [wide[k]["seconds"] for k in ("narrow", "wide")]),
                      ("replay peak RSS (MB)", [wide[k]["max_rss_bytes"] / 1e6 for k in ("narrow", "wide")]),
                      ("snapshot document (MB)", [wide[k]["snapshot_bytes"] / 1e6 for k in ("narrow", "wide")])]
            l1 = [live_of(k, 1000) for k in ("narrow", "wide")]
            if all(x and x["redis_in_bytes_per_s"] is not None for x in l1):
                panels.append(("Redis written at 1k events/s (MB/s)", [x["redis_in_bytes_per_s"] / 1e6 for x in l1]))
            fig, axs = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.5))
            for ax, (title, vals) in zip(axs, panels):
                bars = ax.bar(["400 × 8", "20,000 × 500"], vals, color=["#6baed6", "#d62728"])
                for b, v in zip(bars, vals):
                    ax.text(b.get_x() + b.get_width() / 2, v, "%.3g" % v, ha="center", va="bottom")
                ax.set_title(title, fontsize=9)
            fig.suptitle("Narrow and wide center, same %s events" % "{:,}".format(wide["wide"]["events"]))
            save(fig, "wide", "Wide and narrow")
    except ImportError:
        pass

    def f0(x):
        return "n/a" if x is None else "{:,.0f}".format(x)

    def f2(x):
        return "n/a" if x is None else "{:.2f}".format(x)

    def yn(m):
        return "not measured" if m is None else ("**met**" if m else "**missed**")

    md = []
    md.append("# Capacity run %s\n" % a.name)
    md.append("Command: `%s` (commit %s, %s × %s, %d s wall)\n"
              % (a.command, a.commit, os.cpu_count(), cpu, a.wall_seconds))
    md.append("Load average (1/5/15 min) at start: %s; at end: %s. The machine is shared: other "
              "processes running at the same time (above 0 load before the run) disturb the figures.\n"
              % (" ".join(a.load_start.split()[:3]), " ".join(res["machine"]["loadavg_end"].split()[:3])))
    md.append("Kafka: single-node KRaft broker from scripts/kafka.sh on loopback; Redis from scripts/redis.sh. "
              "Workload: `ccpulse gen --seed 1` (src/gen). See bench/README.md for what each figure means.\n")
    def fmt_goal(g):
        v, u = g["value"], g["unit"]
        if v is None:
            return "n/a"
        if u == "bytes":
            return "%.1f MB" % (v / 1e6) if v >= 1e6 else "{:,.0f} B".format(v)
        if u == "bytes/s":
            return "%.2f MB/s" % (v / 1e6)
        if u == "events/s":
            return "%.2fM" % (v / 1e6)
        if u == "cores":
            return "%.3f core" % v
        if u == "ms":
            return "{:,.0f} ms".format(v)
        if u == "x":
            return "%.2fx" % v
        if u == "s":
            return "%.2f s" % v
        if u == "share":
            return "%+.1f %%" % (100 * v)
        if u == "B":
            return "{:,.1f} B".format(v)
        return f2(v)

    md.append("## Goals of issue 8\n")
    md.append("\"now\" is the issue's figure before the work; \"this run\" is measured here (bench/README.md "
              "says how).\n")
    md.append("| figure | now | goal | this run | |")
    md.append("|---|---|---|---|---|")
    names = {
        "wide_time_ratio": "wide / narrow replay time, same events",
        "wide_peak_rss": "peak RSS of `ccpulse replay`, wide",
        "wide_snapshot": "snapshot document, wide",
        "wide_redis_write": "Redis write bandwidth, 20,000 agents, 1,000 events/s",
        "engine_eps": "engine events/s, one core (replay/decode)",
        "bytes_per_open_ticket": "bytes per open ticket (RSS, bench_engine)",
        "run_cpu_10k": "CPU of `ccpulse run` at 10,000 events/s, 400 agents",
        "idle32_rss": "`ccpulse run`, 32 partitions, 400 agents, caught up: RSS with no new events",
        "idle32_cpu": "the same: CPU with no new events",
        "p99_at_100k_ms": "p99 event→Redis at 100,000 events/s",
        "end_to_end_vs_null": "`ccpulse run` catch-up / null consumer (8 partitions)",
        "vs_kafka_streams": "`ccpulse run` / Kafka Streams peer",
        "vs_kafka_streams_per_cpu": "the same, per core (events per CPU-second)",
    }
    for k, g in goals.items():
        md.append("| %s | %s | %s | %s | %s%s |" % (names[k], g["now"], g["goal"], fmt_goal(g), yn(g["met"]),
                                                    (" — " + g["note"]) if g.get("note") else ""))
    md.append("")
    names9 = {
        "recovery_seconds": "recovery: assignment → caught up, one partition",
        "checkpoint_cost": "throughput cost of checkpointing (catch-up, one partition)",
        "checkpoint_bytes_per_open": "checkpoint bytes per open ticket",
    }
    md.append("## Goals of issue 9 (checkpoints)\n")
    md.append("| figure | goal | this run | |")
    md.append("|---|---|---|---|")
    for k, g in goals9.items():
        md.append("| %s | %s | %s | %s%s |" % (names9[k], g["goal"], fmt_goal(g),
                                             yn(g["met"]) if g["goal"] != "(reported)" else "",
                                             (" — " + g["note"]) if g.get("note") else ""))
    md.append("")
    if rec:
        md.append("## Recovery: one partition, checkpoints (`ccpulse run --workers 1`)\n")
        md.append("`ccpulse gen --events %s --seed 3 --open 0.8` into a 1-partition topic. Catch-up, each pass "
                  "with a fresh group and an empty Redis, alternating:\n" % "{:,}".format(rec["events"]))
        md.append("| pass | checkpoint.interval | seconds, start → all published | seconds, assignment → all "
                  "published | events/s (from assignment) |")
        md.append("|---|---|---|---|---|")
        for off, dflt in zip(rec["catch_up"]["off"], rec["catch_up"]["default"]):
            for mode, x in (("off", off), ("default (5s)", dflt)):
                md.append("| %d | %s | %s | %s | %s |" % (x["rep"], mode, f2(x.get("seconds_from_start")),
                                                         f2(x.get("seconds_assignment_to_last")),
                                                         f0(x.get("eps"))))
        md.append("")
        md.append("Cost of checkpointing (time with / without − 1, mean over the passes): %s (%s); from "
                  "process start: %s.\n" % (
                      "n/a" if rec.get("checkpoint_cost") is None else "%+.1f %%" % (100 * rec["checkpoint_cost"]),
                      rec["checkpoint_cost_basis"],
                      "n/a" if rec.get("checkpoint_cost_from_start") is None
                      else "%+.1f %%" % (100 * rec["checkpoint_cost_from_start"])))
        md.append("Then the last run with checkpoints is stopped (SIGTERM: final checkpoint at offset %s, %s bytes, "
                  "%s open tickets: %s bytes per open ticket) and a new `ccpulse run` in the same group restores "
                  "it: start → assignment %s s, claim and load %s ms (its `restored` log line), assignment → "
                  "caught up (the first cycle it publishes, seen in `ccpulse:v1:meta`) **%s s**, start → caught "
                  "up %s s.\n" % (
                      f0(rec.get("checkpoint_offset")), f0(rec.get("checkpoint_bytes")), f0(rec.get("open_tickets")),
                      f2(rec.get("checkpoint_bytes_per_open")), f2(rr.get("seconds_start_to_assignment")),
                      f0(rr.get("claim_and_load_ms")), f2(rr.get("seconds_assignment_to_caught_up")),
                      f2(rr.get("seconds_start_to_caught_up"))))
        if rec["events"] < 1000000:
            md.append("At this size the catch-up takes about a second and checkpoints are due every 5 s: the "
                      "cost figure is indicative only; the full run (3.6M events, ~1M open) measures it.\n")
    if wide.get("narrow") and wide.get("wide"):
        md.append("## Wide and narrow center, same events (`ccpulse replay`)\n")
        md.append("| shape | events | seconds (best of %d) | peak RSS MB | snapshot document MB |" %
                  wide["narrow"]["passes"])
        md.append("|---|---|---|---|---|")
        for shape in ("narrow", "wide"):
            x = wide[shape]
            md.append("| %s agents × %s queues | %s | %s | %s | %s |" % (
                f0(x["agents"]), f0(x["queues"]), f0(x["events"]), f2(x["seconds"]),
                f0(x["max_rss_bytes"] / 1e6), f2(x["snapshot_bytes"] / 1e6)))
        md.append("\nwide / narrow: time %sx, peak RSS %sx, snapshot %sx. Command per shape: "
                  "`ccpulse gen --events N --seed 1 --agents A --queues Q --out F`, then "
                  "`ccpulse replay F` (one partition, file order; its stdout is the snapshot document).\n"
                  % (f2(wide.get("time_ratio")), f2(wide.get("rss_ratio")), f2(wide.get("snapshot_ratio"))))
    if live:
        md.append("## Live at a fixed rate, narrow and wide (`ccpulse run`, 8 partitions)\n")
        md.append("| shape | rate | produced ev/s | run CPU (cores) | Redis written MB/s | Redis memory MB "
                  "| run VmHWM MB | event→Redis p50 / p99 ms | producer lag p50 / p99 ms | all visible |")
        md.append("|---|---|---|---|---|---|---|---|---|---|")
        for x in live:
            md.append("| %s | %s/s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s |" % (
                x["args"], "{:,}".format(x["rate"]), f0(x["gen_eps"]),
                "n/a" if x["run_cpu_cores"] is None else "%.3f" % x["run_cpu_cores"],
                "n/a" if x["redis_in_bytes_per_s"] is None else "%.3f" % (x["redis_in_bytes_per_s"] / 1e6),
                "n/a" if x["redis_used_memory"] is None else f0(x["redis_used_memory"] / 1e6),
                f0((x["vm_hwm_bytes"] or 0) / 1e6), f0(x["e2r_p50_ms"]), f0(x["e2r_p99_ms"]),
                f2(x["producer_lag_p50_ms"]), f2(x["producer_lag_p99_ms"]), x["visible_all"]))
        md.append("\nEach case: a fresh topic and an empty Redis; `ccpulse gen --now --events P --seed 1` of the "
                  "shape as fast as possible (P = %s) until Redis counts them, so the scopes of a center of that "
                  "size exist; then `ccpulse gen --now --rate R --seed 2 --id-offset 100000000` of the same shape. "
                  "CPU = user+system seconds of the `ccpulse run` process (/proc/PID/stat) per wall second, and "
                  "Redis written = `INFO` total_net_input_bytes per second, both over the steady window (2 s "
                  "after the producer started to 0.5 s before it ended); Redis memory = used_memory at its end.\n"
                  % f0(live[0]["preload"]))
    if idle:
        md.append("## Idle: 32 partitions, caught up, no new events\n")
        md.append("`ccpulse gen --events %s --seed 1` (400 agents) into a 32-partition topic; `ccpulse run` "
                  "catches up (caught up: %s), then %d s settle and %d s with no new events: RSS %s MB at the "
                  "end, CPU %s core over the idle window, VmHWM %s MB.\n" % (
                      "{:,}".format(idle["events"]), idle.get("caught_up"), idle["settle_seconds"],
                      idle["idle_seconds"], f0((idle.get("rss_bytes") or 0) / 1e6),
                      "n/a" if idle.get("run_cpu_cores") is None else "%.3f" % idle["run_cpu_cores"],
                      f0((idle.get("vm_hwm_bytes") or 0) / 1e6)))
    md.append("## Catch-up (%s events, 8 partitions)\n" % "{:,}".format(N))
    md.append("| consumer | seconds (start → all done) | events/s | until first events seen (s) "
              "| CPU seconds | events per CPU-second | broker / Redis CPU seconds meanwhile |")
    md.append("|---|---|---|---|---|---|---|")
    md.append("| bench_null_consumer | %s | %s | %s (join) | %s | %s | %s / - |"
              % (f2(null_secs), f0(null_eps), f2(null.get("join_seconds")), f2(null.get("cpu_seconds")),
                 f0(null.get("eps_per_cpu")), f2(null.get("broker_cpu_seconds"))))
    md.append("| ccpulse run, workers=2 | %s | %s | %s (first snapshot with events) | %s | %s | %s / %s |"
              % (f2(run2.get("seconds")), f0(run2.get("eps")), f2(run2.get("startup_seconds")),
                 f2(run2.get("cpu_seconds")), f0(run2.get("eps_per_cpu")), f2(run2.get("broker_cpu_seconds")),
                 f2(run2.get("redis_cpu_seconds"))))
    md.append("| ccpulse run, workers=1 | %s | %s | %s | %s | %s | %s / %s |"
              % (f2(run1.get("seconds")), f0(run1.get("eps")), f2(run1.get("startup_seconds")),
                 f2(run1.get("cpu_seconds")), f0(run1.get("eps_per_cpu")), f2(run1.get("broker_cpu_seconds")),
                 f2(run1.get("redis_cpu_seconds"))))
    if peer.get("eps"):
        md.append("| Kafka Streams peer | %s | %s | | %s | %s | |" % (f2(peer["seconds"]), f0(peer["eps"]),
                                                                    f2(peer.get("cpu_seconds")),
                                                                    f0(peer.get("eps_per_cpu"))))
    else:
        md.append("| Kafka Streams peer | — | %s | | | | |" % peer.get("skipped", "n/a"))
    md.append("")
    md.append("CPU seconds: user + system of the process, all threads — run and the null consumer from "
              "process start to done, the peer from starting its topology to done (JVM start-up left out). "
              "Per core: run / peer = %s events per CPU-second; wall clock: run / peer = %s, and null "
              "consumer / peer = %s is the most any consumer of this topic could show on this machine, "
              "where the broker shares its cores.\n" % (f2(ratio_peer_cpu), f2(ratio_peer), f2(ceiling_peer)))
    md.append("Ratios: run/null = %s; run/peer = %s; scaling workers 2 vs 1 = %s× (on %s cores). "
              "Both timed from process start (group join included) to the last event — "
              "for run, until a snapshot in Redis shows diagnostics.events == N (so up to one publish interval "
              "plus the snapshot write is included). Null consumer alone, first to last message: %s events/s. "
              "ccpulse run VmHWM: workers=2 %s MB, workers=1 %s MB.\n"
              % (f2(ratio_null), f2(ratio_peer), f2(res["scaling"]["speedup"]), os.cpu_count(), f0(null.get("eps")),
                 f0((run2.get("vm_hwm_bytes") or 0) / 1e6), f0((run1.get("vm_hwm_bytes") or 0) / 1e6)))
    if N < 1000000:
        md.append("At this size the catch-up takes about a second: process start, group join and the "
                  "publish interval (the end is seen at the next snapshot, up to 250 ms late) weigh as much "
                  "as the consuming itself, so the ratios are indicative only; the full run (3M) measures them.\n")
    md.append("## Latency (event handed to the producer → visible in Redis)\n")
    md.append("| rate | produced ev/s | events | event→Redis p50 / p99 / max ms | producer lag p50 / p99 / max ms "
              "| due→Redis p50 / p99 ms | run CPU (cores) | Redis written MB/s | cycles | all visible | sustained |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for l in lat:
        md.append("| %s/s | %s | %s | %s / %s / %s | %s / %s / %s | %s / %s | %s | %s | %d | %s | %s |" % (
            "{:,}".format(l["rate"]), f0(l["gen_eps"]), f0(l["events"]), f0(l["e2r_p50_ms"]),
            f0(l["e2r_p99_ms"]), f0(l["e2r_max_ms"]), f2(l["producer_lag_p50_ms"]), f2(l["producer_lag_p99_ms"]),
            f2(l["producer_lag_max_ms"]), f0(l["due_p50_ms"]), f0(l["due_p99_ms"]),
            "n/a" if l["run_cpu_cores"] is None else "%.3f" % l["run_cpu_cores"],
            "n/a" if l["redis_in_bytes_per_s"] is None else "%.3f" % (l["redis_in_bytes_per_s"] / 1e6),
            l["snapshots"], l["visible_all"], "yes" if l["sustained"] else "no"))
    hs = res.get("highest_sustained_rate")
    md.append("\nHighest sustained rate of the ladder: **%s** (sustained = every event visible, the producer "
              "kept >= 95 %% of the rate, event→Redis p99 <= 1 s).\n" % ("{:,}/s".format(hs) if hs else "none"))
    modes = sorted(set(str(l.get("watch_mode")) for l in lat + live))
    md.append("\nMethod: `ccpulse gen --now --rate R` hands event k to librdkafka at a time it reports "
              "(`produced_ms`, sampled); its *producer lag* is how late that was against its schedule "
              "(start + (k−1)/R). The watcher (bench/redis_watch.py, mode: %s) sees each publish cycle counting E "
              "events: *event→Redis* = wall clock when seen − when event E was handed over; *due→Redis* adds the "
              "producer's lag (the figure reported before). The first second is warm-up and left out. In `meta` "
              "mode the watcher polls `HMGET ccpulse:v1:meta events now_ms cycle` every 5 ms (a sample is at most "
              "5 ms late); in `snapshot` mode (a `ccpulse run` without `events` in meta) it reads each snapshot "
              "stream entry and byte-searches `diagnostics.events` without parsing the document.\n"
              % ", ".join(modes))
    md.append("## Engine and memory (bench_engine, one core, Avro in memory)\n")
    md.append("| events | decode ev/s | engine ev/s | peak open tickets | RSS B/open ticket | marginal B/open ticket |")
    md.append("|---|---|---|---|---|---|")
    for e in eng:
        md.append("| %s | %s | %s | %s | %s | %s |" % (f0(e["events"]), f0(e["decode_eps"]), f0(e["replay_eps"]),
                  f0(e["peak_open_tickets"]), f0(e["bytes_per_open_ticket"]),
                  f0(e.get("marginal_bytes_per_open_ticket"))))
    md.append("\nMemory is measured with bench_engine at sizes (RSS growth to the peak of open tickets), "
              "not from `ccpulse run`'s /proc status (whose VmHWM is above).\n")
    missed = [names[k] for k, g in goals.items() if g.get("met") is False]
    if missed:
        md.append("## Missed goals\n")
        md.append("Missed in this run: %s. Where the time and memory go: bench/README.md (\"Where the time "
                  "goes\") and bench/results/engine-2026-11-24-analysis.md.\n" % "; ".join(missed))
    for title, fn in figs:
        md.append("## Figure: %s\n\n![%s](%s)\n" % (title, title, fn))
    with open(base + ".md", "w") as f:
        f.write("\n".join(md))


if __name__ == "__main__":
    main()
