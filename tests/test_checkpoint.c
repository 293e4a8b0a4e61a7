/*
 * Checkpoints (src/engine/checkpoint.c): an engine saved and loaded at any
 * point continues exactly as the uninterrupted one — same snapshot bytes,
 * alerts in the same order, same verdicts, same export_unchanged answers —
 * and a save of the loaded engine gives the same bytes. Generated streams
 * under configurations that exercise evictions at a small ticket cap, TTL
 * expiries, duplicate-filter sweeps, retention across periods, odd windows
 * and a local day in another zone; splits mid-batch and right after an
 * export. Bad bytes (every truncation, every flipped bit, another version,
 * another configuration, resealed garbage) give NULL and a message.
 */
#include "ccp_test.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/tz.h"
#include "engine/engine_int.h" /* the checksum's seed, to reseal altered bytes */
#include "gen/gen.h"

/* What a run observed besides the final snapshot. */
typedef struct trace {
  uint64_t alerts;    /* hash of the alerts in order */
  uint64_t nalerts;   /* alerts seen */
  uint64_t verdicts;  /* hash of the verdicts in order */
  uint64_t unchanged; /* hash of export_unchanged answers */
} trace_t;

static void fold(uint64_t *h, uint64_t x) { *h = (*h ^ x) * 0x100000001B3ull + 1; }

static void on_alert(void *opaque, const ccp_alert_t *a) {
  trace_t *t = opaque;
  uint64_t x = (uint64_t)a->kind ^ (uint64_t)a->at_ms * 31 ^ (uint64_t)a->now_ms * 131 ^
               (uint64_t)a->opened_ms * 7 ^ (uint64_t)a->threshold_ms * 3 ^
               ccp_hash64(a->ticket_id, strlen(a->ticket_id), 1) ^
               ccp_hash64(a->queue, strlen(a->queue), 2) ^
               (a->agent_id ? ccp_hash64(a->agent_id, strlen(a->agent_id), 3) : 0) ^
               (uint64_t)a->channel << 40;
  fold(&t->alerts, x);
  t->nalerts++;
}

static void config_of(ccp_config_t *cfg, const char *const *kv) {
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(cfg);
  for (int i = 0; kv && kv[i]; i += 2)
    if (ccp_config_set(cfg, kv[i], kv[i + 1], NULL, err, sizeof err) != 0) {
      fprintf(stderr, "config: %s\n", err);
      exit(2);
    }
  if (ccp_config_finish(cfg, err, sizeof err) != 0 ||
      ccp_tz_use(cfg->timezone, err, sizeof err) != 0) {
    fprintf(stderr, "config: %s\n", err);
    exit(2);
  }
}

/* Saves e, loads it back (checking save -> load -> save gives the same
 * bytes, and that e saved in format 4, whose window sets held their
 * cursors, totals and histograms, and in format 5, whose duplicate filter
 * was in slot order, loads into an engine that saves those same bytes
 * too), frees e and returns the loaded engine with the callback
 * again. */
/* Duplicate-filter ids that saves of reload() took in the order of the
 * engine's save before, unsorted (ccp_u64map_save_by_val_again): the save of
 * a loaded engine right after its load sorts them all, so a later save of it
 * is compared with a save that sorted everything. */
static size_t dedup_reused;

static ccp_engine_t *reload(ccp_engine_t *e, const ccp_config_t *cfg, trace_t *t, int alerts,
                            size_t *bytes) {
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  T_EQ_INT(ccp_engine_save(e, &a), 0);
  dedup_reused += e->dedup_order.reused;
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_engine_t *l = ccp_engine_load(cfg, a.data, a.len, err, sizeof err);
  if (!l) {
    T_FAIL_("load failed: %s", err);
    exit(1);
  }
  T_EQ_INT(ccp_engine_save(l, &b), 0);
  T_EQ_INT(b.len, a.len);
  T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  ccp_buf_clear(&b);
  __typeof__(e->last_save) keep = e->last_save;
  T_EQ_INT(ccp__engine_save_version(e, &b, 4), 0);
  e->last_save = keep;
  T_TRUE(b.len > a.len || e->nscopes == 0); /* the full form is larger */
  ccp_engine_t *old = ccp_engine_load(cfg, b.data, b.len, err, sizeof err);
  if (!old) {
    T_FAIL_("load of format 4 failed: %s", err);
    exit(1);
  }
  ccp_buf_clear(&b);
  T_EQ_INT(ccp_engine_save(old, &b), 0);
  T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  ccp_engine_free(old);
  /* format 5 (the duplicate filter in slot order) loads into the same state too */
  ccp_buf_clear(&b);
  T_EQ_INT(ccp__engine_save_version(e, &b, 5), 0);
  e->last_save = keep;
  T_EQ_INT(b.len, a.len);
  old = ccp_engine_load(cfg, b.data, b.len, err, sizeof err);
  if (!old) {
    T_FAIL_("load of format 5 failed: %s", err);
    exit(1);
  }
  ccp_buf_clear(&b);
  T_EQ_INT(ccp_engine_save(old, &b), 0);
  T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  ccp_engine_free(old);
  T_EQ_INT(ccp_engine_ticket_count(l), ccp_engine_ticket_count(e));
  T_EQ_INT(ccp_engine_now(l), ccp_engine_now(e));
  *bytes = a.len;
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  ccp_engine_free(e);
  if (alerts)
    ccp_engine_set_alert_cb(l, on_alert, t);
  return l;
}

/*
 * Drives the stream of go through an engine under kv: batches of varying
 * sizes, an export check every `every` events (export_unchanged at a later
 * time, then an export when it said no), a quiet-period advance now and
 * then. With splits (sorted event indices), the engine is saved and replaced
 * by its load before each of those events (mid-batch: the batch is cut
 * there), and also right after every fourth export. Fills the final
 * snapshot and the trace; returns the number of reloads.
 */
static int drive(const char *const *kv, const ccp_gen_opts_t *go, int alerts,
                 const uint64_t *splits, size_t nsplits, ccp_buf_t *snap, trace_t *t) {
  ccp_config_t cfg;
  config_of(&cfg, kv);
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  T_TRUE(e != NULL);
  memset(t, 0, sizeof *t);
  if (alerts)
    ccp_engine_set_alert_cb(e, on_alert, t);
  ccp_gen_t *g = ccp_gen_new(go);
  T_TRUE(g != NULL);
  static ccp_event_batch_t batch;
  ccp_event_batch_clear(&batch);
  ccp_verdict_t v[CCP_ENGINE_BATCH];
  ccp_event_t ev;
  uint64_t i = 0, exports = 0;
  size_t si = 0, bytes = 0;
  unsigned cut = 5;
  int reloads = 0, more = 1;
  while (more) {
    more = ccp_gen_next(g, &ev) == 0;
    int split = nsplits && si < nsplits && more && splits[si] == i;
    if (batch.n && (!more || split || batch.n >= cut)) {
      ccp_engine_process_batch(e, batch.ev, batch.n, v);
      for (size_t k = 0; k < batch.n; k++)
        fold(&t->verdicts, v[k]);
      ccp_event_batch_clear(&batch);
      cut = cut * 7 % (CCP_ENGINE_BATCH + 3) + 1;
    }
    if (split) {
      e = reload(e, &cfg, t, alerts, &bytes);
      reloads++;
      si++;
    }
    if (!more)
      break;
    if (ccp_event_batch_add(&batch, &ev) != 0) { /* arena full: process, then add */
      ccp_engine_process_batch(e, batch.ev, batch.n, v);
      for (size_t k = 0; k < batch.n; k++)
        fold(&t->verdicts, v[k]);
      ccp_event_batch_clear(&batch);
      T_EQ_INT(ccp_event_batch_add(&batch, &ev), 0);
    }
    if (++i % 1500 == 0) { /* an export check, as the live worker does */
      ccp_engine_process_batch(e, batch.ev, batch.n, v);
      for (size_t k = 0; k < batch.n; k++)
        fold(&t->verdicts, v[k]);
      ccp_event_batch_clear(&batch);
      int64_t now = ccp_engine_now(e);
      int64_t at = now + (int64_t)(i % 7) * 1000;
      int u = ccp_engine_export_unchanged(e, at);
      fold(&t->unchanged, (uint64_t)u);
      if (!u) {
        ccp_partial_t *p = ccp_engine_export(e, at);
        ccp_partial_free(p);
      }
      fold(&t->unchanged, (uint64_t)ccp_engine_export_unchanged(e, at)); /* 1: nothing since */
      if (++exports % 5 == 0) /* a quiet period: time moves without events */
        ccp_engine_advance(e, ccp_engine_now(e) + 7 * 60000);
      if (nsplits && exports % 4 == 0) { /* right after an export */
        e = reload(e, &cfg, t, alerts, &bytes);
        reloads++;
        fold(&t->unchanged, (uint64_t)ccp_engine_export_unchanged(e, ccp_engine_now(e)));
      } else if (!nsplits && exports % 4 == 0) {
        fold(&t->unchanged, (uint64_t)ccp_engine_export_unchanged(e, ccp_engine_now(e)));
      }
    }
  }
  ccp_gen_free(g);
  ccp_buf_init(snap);
  ccp_engine_snapshot_json(e, snap);
  ccp_engine_free(e);
  ccp_config_release(&cfg);
  return reloads;
}

/* The uninterrupted run and the one reloaded at every split agree. */
static void check_stream(const char *name, const char *const *kv, const ccp_gen_opts_t *go,
                         int alerts) {
  ccp_t_name = name;
  uint64_t splits[64];
  size_t n = 0;
  uint64_t total = go->events;
  /* early (before anything is due), then spread over the stream at odd
   * places so some fall inside batches */
  splits[n++] = 1;
  splits[n++] = 2;
  splits[n++] = 37;
  for (uint64_t s = 1000; s < total && n < CCP_ARRAY_LEN(splits); s += total / 23 + 1)
    splits[n++] = s + (s % 61);
  ccp_buf_t a, b;
  trace_t ta, tb;
  drive(kv, go, alerts, NULL, 0, &a, &ta);
  int reloads = drive(kv, go, alerts, splits, n, &b, &tb);
  T_TRUE(reloads > 20);
  T_EQ_INT(a.len, b.len);
  if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
    T_FAIL_("snapshots differ:\n%s\n%s", a.data, b.data);
  T_TRUE(ta.alerts == tb.alerts);
  T_EQ_INT(ta.nalerts, tb.nalerts);
  T_TRUE(ta.verdicts == tb.verdicts);
  T_TRUE(ta.unchanged == tb.unchanged);
  if (alerts)
    T_TRUE(ta.nalerts > 0);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
}

static void test_default_alerts_evictions(void) {
  static const char *const kv[] = {"tickets.max", "700", "tickets.ttl", "20m", NULL};
  ccp_gen_opts_t go = {.events = 40000, .seed = 7};
  check_stream("default windows, alerts, evictions and expiries", kv, &go, 1);
}

static void test_odd_windows_retention(void) {
  static const char *const kv[] = {"windows",
                                   "1m:1s,7m:7s,1h:1h,today:5m,2d:1h",
                                   "retention.period",
                                   "2h",
                                   "timezone",
                                   "America/New_York",
                                   "tickets.max",
                                   "3000",
                                   "sla.CHAT",
                                   "3m",
                                   "backlog_age",
                                   "30m",
                                   NULL};
  ccp_gen_opts_t go = {
      .events = 60000, .seed = 11, .daily = 1, .start_ms = 1795046400000LL - 3600000};
  check_stream("odd windows, retention across periods, local day", kv, &go, 1);
}

static void test_dedup_sweeps_no_alerts(void) {
  static const char *const kv[] = {"lateness", "1m", "dedup.max", "70000", NULL};
  ccp_gen_opts_t go = {.events = 90000, .seed = 3, .dup_frac = 0.02, .late_frac = 0.01};
  dedup_reused = 0;
  check_stream("dedup sweeps and a full filter, no alert callback", kv, &go, 0);
  T_TRUE(dedup_reused > 10000); /* the saves after the first took ids from the order */
}

/* Feeds events [from, to) of g's stream (opened by the caller) to e in batches. */
static void feed(ccp_engine_t *e, ccp_gen_t *g, uint64_t from, uint64_t to) {
  static ccp_event_batch_t batch;
  ccp_event_t ev;
  ccp_event_batch_clear(&batch);
  for (uint64_t i = from; i < to && ccp_gen_next(g, &ev) == 0; i++) {
    if (ccp_event_batch_add(&batch, &ev) != 0) {
      ccp_engine_process_batch(e, batch.ev, batch.n, NULL);
      ccp_event_batch_clear(&batch);
      T_EQ_INT(ccp_event_batch_add(&batch, &ev), 0);
    }
  }
  ccp_engine_process_batch(e, batch.ev, batch.n, NULL);
}

/* A delta log longer than a checkpoint holds (CCP_DELTA_CAP entries: a scope
 * that saw many events and no export) is applied before the save; the
 * loaded engine saves the same bytes and ends where the uninterrupted one
 * does. */
static void test_long_delta_logs(void) {
  ccp_t_name = "delta logs longer than a checkpoint holds";
  ccp_config_t cfg;
  config_of(&cfg, NULL);
  ccp_gen_opts_t go = {.events = 40000, .seed = 5, .agents = 4, .queues = 2};
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *a = ccp_engine_new(&cfg, err, sizeof err),
               *b = ccp_engine_new(&cfg, err, sizeof err);
  T_TRUE(a && b);
  ccp_gen_t *ga = ccp_gen_new(&go), *gb = ccp_gen_new(&go);
  feed(a, ga, 0, go.events);
  feed(b, gb, 0, 25000);
  uint32_t longer = 0;
  for (uint32_t i = 0; i < b->nscopes; i++)
    longer += b->scopes[i]->logcap > CCP_DELTA_CAP;
  T_TRUE(longer > 0);
  trace_t t;
  size_t bytes;
  b = reload(b, &cfg, &t, 0, &bytes);
  for (uint32_t i = 0; i < b->nscopes; i++)
    T_TRUE(b->scopes[i]->logcap <= CCP_DELTA_CAP);
  feed(b, gb, 25000, go.events);
  ccp_buf_t sa, sb;
  ccp_buf_init(&sa);
  ccp_buf_init(&sb);
  ccp_engine_snapshot_json(a, &sa);
  ccp_engine_snapshot_json(b, &sb);
  T_TRUE(sa.len == sb.len && memcmp(sa.data, sb.data, sa.len) == 0);
  ccp_buf_release(&sa);
  ccp_buf_release(&sb);
  ccp_gen_free(ga);
  ccp_gen_free(gb);
  ccp_engine_free(a);
  ccp_engine_free(b);
  ccp_config_release(&cfg);
}

/* ----------------------------------------------------------- alert floor */

/* What the floor test saw: the floor before the call that fired an alert. */
typedef struct floor_trace {
  int64_t floor, ev_now; /* ccp_engine_alert_floor() and ev_now before the call */
  uint64_t alerts, below_floor, below_ev_now, below_due_now;
  int64_t due_now; /* deadline time before the call */
  int64_t min_gap; /* smallest at_ms - floor seen */
} floor_trace_t;

static void on_floor_alert(void *opaque, const ccp_alert_t *a) {
  floor_trace_t *t = opaque;
  t->alerts++;
  t->below_floor += a->at_ms < t->floor;
  t->below_ev_now += a->at_ms < t->ev_now;
  t->below_due_now += a->at_ms < t->due_now;
  if (a->at_ms - t->floor < t->min_gap)
    t->min_gap = a->at_ms - t->floor;
}

static void floor_before(floor_trace_t *t, const ccp_engine_t *e) {
  t->floor = ccp_engine_alert_floor(e);
  t->ev_now = e->ev_now;
  t->due_now = ccp_engine_due_now(e);
}

/* The alert floor (docs/checkpoints.md, "Alerts after a restore"): an
 * engine saved at any call boundary (a checkpoint; its load continues as
 * the original, checked above) never fires an alert due before its floor,
 * ev_now - lateness. Every call is such a boundary here: events one at a
 * time, and advances far ahead (a partition read to its end following G).
 * OPENED delivered late (a 10 s chat SLA whose at-risk point passes within
 * the generator's delivery jitter; stragglers within a 1 h lateness) fire
 * alerts due before the event and deadline times of the call: the floor
 * cannot be either of them, the lateness term is needed. */
static void test_alert_floor(void) {
  ccp_t_name = "alert floor";
  static const char *const kv[] = {"lateness", "1h", "sla.CHAT", "10s", "tickets.ttl", "2h", NULL};
  ccp_config_t cfg;
  config_of(&cfg, kv);
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  T_EQ_INT(ccp_engine_alert_floor(e), INT64_MIN); /* nothing read: no floor */
  floor_trace_t t = {.min_gap = INT64_MAX};
  ccp_engine_set_alert_cb(e, on_floor_alert, &t);
  ccp_gen_opts_t go = {.events = 60000, .seed = 5, .late_frac = 0.02};
  ccp_gen_t *g = ccp_gen_new(&go);
  ccp_event_t ev;
  for (uint64_t i = 0; ccp_gen_next(g, &ev) == 0; i++) {
    floor_before(&t, e);
    ccp_engine_process(e, &ev);
    if (i % 997 == 0) { /* time jumps ahead without events */
      floor_before(&t, e);
      ccp_engine_advance(e, ccp_engine_now(e) + (int64_t)(i % 5) * 600000);
    }
  }
  floor_before(&t, e);
  ccp_engine_advance(e, ccp_engine_now(e) + 48 * 3600000LL); /* everything fires */
  printf("alert floor: %llu alerts, %llu due before the call's event time, %llu before its "
         "deadline time, smallest margin over the floor %lld ms\n",
         (unsigned long long)t.alerts, (unsigned long long)t.below_ev_now,
         (unsigned long long)t.below_due_now, (long long)t.min_gap);
  T_TRUE(t.alerts > 1000);
  T_EQ_INT(t.below_floor, 0);
  T_TRUE(t.below_ev_now > 0); /* the floor could not be ev_now or due_now */
  T_TRUE(t.below_due_now > 0);
  ccp_gen_free(g);
  ccp_engine_free(e);
  ccp_config_release(&cfg);
}

static ccp_event_t opened(const char *id, const char *ticket, int64_t ts) {
  ccp_event_t ev;
  ccp_event_clear(&ev);
  ev.event_id = (ccp_str_t){id, strlen(id)};
  ev.ticket_id = (ccp_str_t){ticket, strlen(ticket)};
  ev.customer_id = (ccp_str_t){"c", 1};
  ev.queue = (ccp_str_t){"q", 1};
  ev.type = CCP_EV_OPENED;
  ev.channel = CCP_CH_CHAT;
  ev.ts = ts;
  return ev;
}

/* The floor is exact: after a restore, an OPENED exactly lateness behind
 * the checkpoint's event time (not late) fires an alert due at the floor
 * itself (a 1 ms SLA: its at-risk point is its open time); one a
 * millisecond older is late and fires nothing. */
static void test_alert_floor_exact(void) {
  ccp_t_name = "alert floor, exact";
  static const char *const kv[] = {"sla.CHAT", "1ms", NULL};
  ccp_config_t cfg;
  config_of(&cfg, kv);
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  const int64_t t = 1795000000000LL;
  ccp_event_t ev = opened("e1", "t1", t);
  T_EQ_INT(ccp_engine_process(e, &ev), CCP_ACCEPTED);
  int64_t floor = ccp_engine_alert_floor(e);
  T_EQ_INT(floor, t - cfg.lateness_ms);
  size_t bytes;
  floor_trace_t tr = {.floor = floor, .min_gap = INT64_MAX};
  trace_t unused;
  e = reload(e, &cfg, &unused, 0, &bytes); /* a checkpoint, restored */
  ccp_engine_set_alert_cb(e, on_floor_alert, &tr);
  ev = opened("e2", "t2", t - cfg.lateness_ms - 1);
  T_EQ_INT(ccp_engine_process(e, &ev), CCP_LATE);
  T_EQ_INT(tr.alerts, 0);
  ev = opened("e3", "t3", t - cfg.lateness_ms);
  T_EQ_INT(ccp_engine_process(e, &ev), CCP_ACCEPTED);
  T_EQ_INT(tr.alerts, 2); /* at risk and breach, at once */
  T_EQ_INT(tr.below_floor, 0);
  T_EQ_INT(tr.min_gap, 0); /* the at-risk alert is due at the floor */
  ccp_engine_free(e);
  ccp_config_release(&cfg);
}

/* ------------------------------------------------------------ idle saves */

/* The live worker's cycle as the test runs it: the deadline time follows
 * the clock, then an export (the last partial again when unchanged). */
static void idle_cycle(ccp_engine_t *e, int64_t at, ccp_partial_t **last) {
  ccp_engine_advance(e, at);
  if (*last && ccp_engine_export_unchanged(e, at))
    return;
  ccp_partial_t *p = ccp_engine_export_next(e, at, *last);
  ccp_partial_free(*last);
  *last = p;
}

/* What an engine shows: its snapshot (at its view time), then the alerts
 * and verdicts of 400 more events starting at its view time and the
 * snapshot two days later, everything due by then fired. Frees e. */
static uint64_t future_of(ccp_engine_t *e, uint64_t seed) {
  trace_t t;
  memset(&t, 0, sizeof t);
  ccp_engine_set_alert_cb(e, on_alert, &t);
  ccp_buf_t snap;
  ccp_buf_init(&snap);
  ccp_engine_snapshot_json(e, &snap);
  uint64_t h = ccp_hash64(snap.data, snap.len, 1);
  ccp_gen_opts_t go = {.events = 400, .seed = seed, .start_ms = ccp_engine_now(e)};
  ccp_gen_t *g = ccp_gen_new(&go);
  ccp_event_t ev;
  while (ccp_gen_next(g, &ev) == 0)
    fold(&t.verdicts, ccp_engine_process(e, &ev));
  ccp_gen_free(g);
  ccp_engine_advance(e, ccp_engine_now(e) + 2 * 86400000LL);
  ccp_buf_clear(&snap);
  ccp_engine_snapshot_json(e, &snap);
  fold(&h, ccp_hash64(snap.data, snap.len, 2));
  fold(&h, t.alerts);
  fold(&h, t.nalerts);
  fold(&h, t.verdicts);
  ccp_buf_release(&snap);
  ccp_engine_free(e);
  return h;
}

/* Whether the checkpoint `ck`, loaded and moved to e's times as a restore
 * is (an advance to e's deadline time, an export at its view time), fires
 * no alert on the way (none fired since the save) and shows what e shows (future_of: the same
 * snapshot, then the same alerts, verdicts and snapshots on the same events). The bytes of the two
 * states may differ where they do not show: a window set slid in several steps keeps other dead
 * entries and capacities than one slid in one jump, as an engine restored from any checkpoint does.
 * e itself is left as it was. */
static int restores_to(const ccp_config_t *cfg, const ccp_buf_t *ck, ccp_engine_t *e,
                       uint64_t seed) {
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_engine_t *x = ccp_engine_load(cfg, ck->data, ck->len, err, sizeof err);
  T_TRUE(x != NULL);
  if (!x)
    return 0;
  trace_t caught;
  memset(&caught, 0, sizeof caught);
  ccp_engine_set_alert_cb(x, on_alert, &caught);
  ccp_engine_advance(x, ccp_engine_due_now(e));
  ccp_partial_free(ccp_engine_export(x, ccp_engine_now(e)));
  T_EQ_INT(caught.nalerts, 0); /* catching up in time fires nothing e did not */
  T_EQ_INT(ccp_engine_now(x), ccp_engine_now(e));
  T_EQ_INT(ccp_engine_due_now(x), ccp_engine_due_now(e));
  ccp_buf_t a;
  ccp_buf_init(&a);
  __typeof__(e->last_save) keep = e->last_save;
  ccp_engine_save(e, &a);
  e->last_save = keep;
  ccp_engine_t *y = ccp_engine_load(cfg, a.data, a.len, err, sizeof err); /* e, as it is */
  T_TRUE(y != NULL);
  ccp_buf_release(&a);
  if (!y) {
    ccp_engine_free(x);
    return 0;
  }
  return caught.nalerts == 0 && future_of(x, seed) == future_of(y, seed);
}

/*
 * Idle saves (docs/checkpoints.md, "Idle partitions"): a partition whose
 * engine ccp_engine_saved_unchanged() says only time moved since its last
 * save is not saved again; its stored checkpoint, restored and moved to the
 * same time, must then be the engine itself. Chunks of a generated stream,
 * each followed by cycles whose clock moves by steps from 250 ms (the
 * publish interval) to 13 min, every fourth a checkpoint cycle: across
 * bucket edges, window slides, local days, retention slots, TTL expiries
 * and deadlines. Every skipped save is checked; the first checkpoint cycle
 * after events, and one after a fired timer, must save.
 */
static void check_idle(const char *name, const char *const *kv, const ccp_gen_opts_t *go) {
  ccp_t_name = name;
  ccp_config_t cfg;
  config_of(&cfg, kv);
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  T_TRUE(e != NULL);
  T_EQ_INT(ccp_engine_saved_unchanged(e), 0); /* never saved */
  ccp_gen_t *g = ccp_gen_new(go);
  ccp_event_t ev;
  ccp_buf_t stored;
  ccp_buf_init(&stored);
  ccp_partial_t *last = NULL;
  static const int64_t steps[] = {250, 250, 1000, 5000, 250, 70000, 250, 780000, 3000, 250};
  int64_t skipped = 0, saved_events = 0, saved_fired = 0, k = 0;
  int more = 1;
  while (more) {
    int n = 0;
    while (n < 1800 && (more = ccp_gen_next(g, &ev) == 0)) {
      ccp_engine_process(e, &ev);
      n++;
    }
    int64_t at = ccp_engine_now(e);
    int after_events = n > 0;
    for (int c = 0; c < 48; c++, k++) {
      at += steps[k % CCP_ARRAY_LEN(steps)];
      idle_cycle(e, at, &last);
      if (c % 4 != 3)
        continue; /* a checkpoint cycle every fourth */
      int64_t fired = e->diag.expired + e->diag.alerts_at_risk + e->diag.alerts_breach;
      if (ccp_engine_saved_unchanged(e)) {
        T_TRUE(!after_events);
        skipped++;
        if (!restores_to(&cfg, &stored, e, (uint64_t)k)) {
          T_FAIL_("skipped save %lld: the stored checkpoint does not restore to the engine",
                  (long long)skipped);
          break;
        }
        continue;
      }
      if (!after_events && stored.len) /* no event since: a timer or expiry fired */
        saved_fired += fired != e->last_save.diag.expired + e->last_save.diag.alerts_at_risk +
                                    e->last_save.diag.alerts_breach ||
                       e->last_save.due <= ccp_engine_due_now(e);
      saved_events += after_events;
      after_events = 0;
      ccp_buf_clear(&stored);
      ccp_engine_save(e, &stored);
      T_EQ_INT(ccp_engine_saved_unchanged(e), 1); /* nothing since */
    }
  }
  printf("%s: %lld saves skipped (each checked), %lld after events, %lld after a timer or "
         "expiry\n",
         name, (long long)skipped, (long long)saved_events, (long long)saved_fired);
  T_TRUE(skipped > 30);
  T_TRUE(saved_events > 5);
  T_TRUE(saved_fired > 5);
  /* a loaded engine was not saved by itself: its first checkpoint cycle saves */
  char lerr[CCP_ERRBUF_SIZE] = "";
  ccp_engine_t *l = ccp_engine_load(&cfg, stored.data, stored.len, lerr, sizeof lerr);
  T_TRUE(l != NULL);
  T_EQ_INT(ccp_engine_saved_unchanged(l), 0);
  ccp_engine_free(l);
  ccp_partial_free(last);
  ccp_buf_release(&stored);
  ccp_gen_free(g);
  ccp_engine_free(e);
  ccp_config_release(&cfg);
}

static void test_idle_default(void) {
  static const char *const kv[] = {"tickets.ttl", "20m", NULL};
  ccp_gen_opts_t go = {.events = 20000, .seed = 17};
  check_idle("idle saves, default windows", kv, &go);
}

static void test_idle_odd(void) {
  static const char *const kv[] = {"windows",
                                   "1m:1s,7m:7s,1h:1h,today:5m,2d:1h",
                                   "retention.period",
                                   "2h",
                                   "timezone",
                                   "America/New_York",
                                   "sla.CHAT",
                                   "3m",
                                   "backlog_age",
                                   "30m",
                                   NULL};
  ccp_gen_opts_t go = {
      .events = 20000, .seed = 19, .daily = 1, .start_ms = 1795046400000LL - 3600000};
  check_idle("idle saves, odd windows, retention, local day", kv, &go);
}

/* ------------------------------------------------------------ corruption */

/* The default configuration and a small engine's checkpoint under it
 * (release both with small_release). */
static void small_checkpoint(ccp_config_t *cfg, ccp_buf_t *out) {
  config_of(cfg, NULL);
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(cfg, err, sizeof err);
  trace_t t;
  memset(&t, 0, sizeof t);
  ccp_engine_set_alert_cb(e, on_alert, &t);
  ccp_gen_opts_t go = {.events = 300, .seed = 5, .queues = 2, .agents = 3};
  ccp_gen_t *g = ccp_gen_new(&go);
  ccp_event_t ev;
  while (ccp_gen_next(g, &ev) == 0)
    ccp_engine_process(e, &ev);
  ccp_gen_free(g);
  ccp_buf_init(out);
  ccp_engine_save(e, out);
  ccp_engine_free(e);
}

static void small_release(ccp_config_t *cfg, ccp_buf_t *ck) {
  ccp_buf_release(ck);
  ccp_config_release(cfg);
}

static int contains(const char *s, const char *part) { return strstr(s, part) != NULL; }

static void test_truncated_and_flipped(void) {
  ccp_t_name = "truncation and flipped bits";
  ccp_config_t cfg;
  ccp_buf_t ck;
  small_checkpoint(&cfg, &ck);
  char err[CCP_ERRBUF_SIZE];
  unsigned char *copy = malloc(ck.len);
  size_t bad = 0;
  for (size_t n = 0; n < ck.len; n++) { /* every truncation; exact-size copies for ASan */
    memcpy(copy, ck.data, n);
    err[0] = 0;
    ccp_engine_t *e = ccp_engine_load(&cfg, copy, n, err, sizeof err);
    if (e || !contains(err, "cannot restore checkpoint"))
      bad++;
    ccp_engine_free(e);
  }
  T_EQ_INT(bad, 0);
  for (size_t i = 0; i < ck.len; i++) { /* every byte, one bit each (rotating) */
    memcpy(copy, ck.data, ck.len);
    copy[i] ^= (unsigned char)(1u << (i % 8));
    err[0] = 0;
    ccp_engine_t *e = ccp_engine_load(&cfg, copy, ck.len, err, sizeof err);
    if (e || !contains(err, "cannot restore checkpoint"))
      bad++;
    ccp_engine_free(e);
  }
  T_EQ_INT(bad, 0);
  memcpy(copy, ck.data, ck.len); /* the original still loads */
  ccp_engine_t *e = ccp_engine_load(&cfg, copy, ck.len, err, sizeof err);
  T_TRUE(e != NULL);
  ccp_engine_free(e);
  free(copy);
  small_release(&cfg, &ck);
}

static void test_version_and_config(void) {
  ccp_t_name = "another version, another configuration";
  ccp_config_t cfg;
  ccp_buf_t ck;
  small_checkpoint(&cfg, &ck);
  char err[CCP_ERRBUF_SIZE];
  uint32_t version;
  memcpy(&version, ck.data + 8, 4);
  uint32_t other = version + 1;
  memcpy(ck.data + 8, &other, 4);
  T_TRUE(ccp_engine_load(&cfg, ck.data, ck.len, err, sizeof err) == NULL);
  T_TRUE(contains(err, "format version"));
  other = 3; /* before the oldest format still read */
  memcpy(ck.data + 8, &other, 4);
  T_TRUE(ccp_engine_load(&cfg, ck.data, ck.len, err, sizeof err) == NULL);
  T_TRUE(contains(err, "format version 3, this build reads 4 to"));
  memcpy(ck.data + 8, &version, 4);
  memcpy(ck.data, "XXPCKPT", 8);
  T_TRUE(ccp_engine_load(&cfg, ck.data, ck.len, err, sizeof err) == NULL);
  T_TRUE(contains(err, "not a checkpoint"));
  memcpy(ck.data, "CCPCKPT", 8);
  static const char *const diffs[][3] = {
      {"windows", "1m:5s,5m:10s,15m:30s,1h:1m,24h:15m", "'windows' differs"},
      {"timezone", "Europe/Paris", "'timezone' differs"},
      {"tickets.ttl", "1d", "'tickets.ttl' differs"},
      {"sla.EMAIL", "5h", "'sla.<CHANNEL>' differs"},
      {"sla.queue.billing.CHAT", "1m", "'sla.queue.*' differs"},
      {"retention.period", "7d", "'retention.period' differs"},
      {"tickets.max", "1000", "'tickets.max' differs"}};
  for (size_t i = 0; i < CCP_ARRAY_LEN(diffs); i++) {
    const char *kv[] = {diffs[i][0], diffs[i][1], NULL};
    ccp_config_t o;
    config_of(&o, kv);
    err[0] = 0;
    T_TRUE(ccp_engine_load(&o, ck.data, ck.len, err, sizeof err) == NULL);
    if (!contains(err, diffs[i][2]))
      T_FAIL_("%s: message \"%s\"", diffs[i][0], err);
    ccp_config_release(&o);
  }
  /* what the state does not depend on may change: the scorecard, cost, publishing */
  const char *same[] = {"cost.CHAT", "30", "publish.interval", "2s", NULL};
  ccp_config_t o;
  config_of(&o, same);
  ccp_engine_t *e = ccp_engine_load(&o, ck.data, ck.len, err, sizeof err);
  T_TRUE(e != NULL);
  ccp_engine_free(e);
  ccp_config_release(&o);
  config_of(&o, NULL); /* back to the default zone for the tests after */
  ccp_config_release(&o);
  small_release(&cfg, &ck);
}

/* Bytes altered and then resealed with a valid checksum, as a bug on the
 * writing side would produce: every load gives NULL or an engine that can
 * be saved and freed, never a crash (run under ASan). */
static void test_resealed_garbage(void) {
  ccp_t_name = "resealed garbage";
  ccp_config_t cfg;
  ccp_buf_t ck;
  small_checkpoint(&cfg, &ck);
  char err[CCP_ERRBUF_SIZE];
  unsigned char *copy = malloc(ck.len);
  int refused = 0, loaded = 0;
  static const unsigned char vals[] = {0xff, 0x00, 0x7f, 0x80, 0x01};
  /* every fifth byte (each load builds an engine: every byte takes minutes under ASan) */
  for (size_t i = CCP__CKPT_HEADER; i < ck.len; i += 5) {
    memcpy(copy, ck.data, ck.len);
    copy[i] = vals[i % sizeof vals] == copy[i] ? (unsigned char)~copy[i] : vals[i % sizeof vals];
    uint32_t version;
    memcpy(&version, copy + 8, 4);
    uint64_t sum =
        ccp_hash64(copy + CCP__CKPT_HEADER, ck.len - CCP__CKPT_HEADER, CCP__CKPT_SEED_OF(version));
    memcpy(copy + 24, &sum, 8);
    ccp_engine_t *e = ccp_engine_load(&cfg, copy, ck.len, err, sizeof err);
    if (!e) {
      refused++;
      T_TRUE(contains(err, "cannot restore checkpoint"));
      continue;
    }
    loaded++;
    ccp_buf_t again;
    ccp_buf_init(&again);
    ccp_engine_save(e, &again);
    T_EQ_INT(again.len, ck.len);
    ccp_buf_release(&again);
    ccp_engine_free(e);
  }
  T_TRUE(refused > 0);
  printf("resealed garbage: %d refused, %d loaded (values the checks cannot tell apart)\n", refused,
         loaded);
  free(copy);
  small_release(&cfg, &ck);
}

/* A fresh engine (no event yet) round-trips too. */
static void test_empty_engine(void) {
  ccp_t_name = "empty engine";
  ccp_config_t cfg;
  config_of(&cfg, NULL);
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  ccp_buf_t a, b, s1, s2;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  ccp_buf_init(&s1);
  ccp_buf_init(&s2);
  ccp_engine_save(e, &a);
  ccp_engine_t *l = ccp_engine_load(&cfg, a.data, a.len, err, sizeof err);
  T_TRUE(l != NULL);
  ccp_engine_save(l, &b);
  T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  ccp_engine_snapshot_json(e, &s1);
  ccp_engine_snapshot_json(l, &s2);
  T_EQ_STR(s1.data, s2.data);
  printf("empty engine: %zu bytes\n", a.len);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  ccp_buf_release(&s1);
  ccp_buf_release(&s2);
  ccp_engine_free(e);
  ccp_engine_free(l);
  ccp_config_release(&cfg);
}

int main(void) {
  T_RUN(test_empty_engine);
  T_RUN(test_default_alerts_evictions);
  T_RUN(test_odd_windows_retention);
  T_RUN(test_dedup_sweeps_no_alerts);
  T_RUN(test_long_delta_logs);
  T_RUN(test_alert_floor);
  T_RUN(test_alert_floor_exact);
  T_RUN(test_idle_default);
  T_RUN(test_idle_odd);
  T_RUN(test_truncated_and_flipped);
  T_RUN(test_version_and_config);
  T_RUN(test_resealed_garbage);
  return T_DONE();
}
