/*
 * The KPI engine: events in, per-ticket state, timers and windowed counters.
 *
 * Path of one event (docs/semantics.md §1): count it; drop it if invalid,
 * late or duplicate; advance stream time (firing due timers and TTL
 * expiries in due order); apply it to its ticket and to the counters of its
 * scopes; fire timers that the event armed in the past.
 *
 * Two stream times (docs/kpis.md §2): the deadline time `due_now` (this
 * engine's own largest event ts, or an explicit ccp_engine_advance()) judges
 * deadlines, backlog age and TTL, so a partition read behind the others fires
 * nothing before its own events or an advance pass it; the view time `now`
 * (the same, or later when an export asked for a later `now`: the global
 * time of the live view) places the windows' bucket edges and the gauges at
 * now. due_now <= now; in replay (one engine, no export ahead) they are equal.
 *
 * Invariants:
 *   - each scope's gauges equal the sum of its tickets' contributions
 *     (gsnap_t below); every change of a ticket goes through
 *     gsnap()/gauges_move() so the two never drift;
 *   - a ticket is in a waiting list (combo) iff it is open, unreplied and
 *     its open time is known (CCP_T_WAITING);
 *   - timers are lazily cancelled: a timer acts only when its ticket record
 *     still has the same life and the condition still holds.
 *   - after every call nothing due by due_now is pending (every path that
 *     moves due_now runs ccp__engine_run_due()).
 *
 * No I/O: what goes wrong is counted in diagnostics (evictions at the ticket
 * cap, dedup ids not remembered) and the caller decides what to log. Local
 * time (the `today` window) uses the process time zone, which ccp_tz_use()
 * sets once before threads start; ccp_engine_new() only checks it.
 *
 * Threads: one engine, one thread (see engine.h). src/engine/export.c reads
 * the same state into partials (engine_int.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccpulse/engine.h"
#include "ccpulse/tz.h"
#include "counters/sketch.h"
#include "engine/engine_int.h"
#include "util/prefetch.h"

#define SEED_TICKET 0x7469636b6574ULL
#define SEED_EVENT 0x6576656e74ULL
#define SEED_CUST 0x637573746f6dULL
#define SEED_SCOPE 0x73636f7065ULL

/* Every scope id (`all`, the channels, the queues and agents under their caps
 * and the two overflow scopes) fits a ticket record's 24-bit fields. */
_Static_assert(1 + CCP_CH__COUNT + (CCP_CONFIG_QUEUES_MAX + 1) + (CCP_CONFIG_AGENTS_MAX + 1) <
                   CCP_T_NO_SCOPE,
               "scope ids must fit 24 bits");
_Static_assert(CCP_CONFIG_SLA_DISTINCT_MAX <= CCP_TICKET_THRESHOLDS,
               "a ticket's threshold index must fit its field");

/* The index of threshold ms (one of the configuration's) in e->thr_ms. */
static uint8_t thr_index(const ccp_engine_t *e, uint32_t ms) {
  int lo = 0, hi = e->nthr - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (e->thr_ms[mid] < ms)
      lo = mid + 1;
    else
      hi = mid;
  }
  CCP_ASSERT(e->nthr > 0 && e->thr_ms[lo] == ms);
  return (uint8_t)lo;
}

/* ---------------------------------------------------------------- scopes */

const char *const ccp__scope_prefix[] = {"", "queue:", "channel:", "agent:"};

static uint32_t scope_add(ccp_engine_t *e, uint8_t kind, const char *name, size_t len) {
  if (e->nscopes == e->scopes_cap) {
    e->scopes_cap = e->scopes_cap ? e->scopes_cap * 2 : 16;
    e->scopes = ccp_realloc(e->scopes, e->scopes_cap * sizeof *e->scopes);
  }
  size_t plen = strlen(ccp__scope_prefix[kind]);
  ccp_scope_t *s = ccp_calloc(1, sizeof *s + plen + len + 1);
  memcpy(s->name, ccp__scope_prefix[kind], plen);
  memcpy(s->name + plen, name, len);
  s->name[plen + len] = 0;
  s->name_len = (uint32_t)(plen + len);
  s->kind = kind;
  ccp_wset_init(&s->ws);
  ccp_u32map_init(&s->cust);
  e->scopes[e->nscopes] = s;
  return e->nscopes++;
}

static void scope_free(ccp_engine_t *e, ccp_scope_t *s) {
  ccp_free(s->log);
  ccp_wset_release(&s->ws, &e->geom);
  ccp_u32map_release(&s->cust);
  ccp_words_free(s->cust_x);
  ccp_free(s->cust_chg);
  ccp_free(s);
}

/* Length of ccp__scope_prefix[kind] (scope_intern() runs twice an event:
 * no strlen there). */
static inline size_t prefix_len(uint8_t kind) {
  static const uint8_t len[] = {0, sizeof "queue:" - 1, sizeof "channel:" - 1, sizeof "agent:" - 1};
  return len[kind];
}

/* 1 when scope s is (kind, name): its name is the kind's prefix, then name.
 * Names are short (queue and agent ids): up to 8 bytes they are compared
 * as two overlapping loads, not by a call to memcmp. */
static inline int scope_is(const ccp_scope_t *s, uint8_t kind, ccp_str_t name) {
  size_t plen = prefix_len(kind), n = name.len;
  if (s->kind != kind || s->name_len != plen + n)
    return 0;
  const char *a = s->name + plen, *b = name.ptr;
  if (n >= 4 && n <= 8) {
    uint32_t a0, a1, b0, b1;
    memcpy(&a0, a, 4);
    memcpy(&a1, a + n - 4, 4);
    memcpy(&b0, b, 4);
    memcpy(&b1, b + n - 4, 4);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return memcmp(a, b, n) == 0;
}

/* The first key scope_intern() tries for (kind, name). */
static inline uint64_t scope_key(uint8_t kind, ccp_str_t name) {
  return ccp_u64map_key(ccp_hash64(name.ptr, name.len, SEED_SCOPE + kind));
}

static int is_overflow_name(ccp_str_t name) {
  return name.len == sizeof CCP_OVERFLOW_NAME - 1 &&
         memcmp(name.ptr, CCP_OVERFLOW_NAME, name.len) == 0;
}

static uint32_t scope_overflow(ccp_engine_t *e, uint8_t kind);

/* Scope id of (kind, name), created on first sight; k is scope_key(kind,
 * name). Hash collisions between different names are resolved by probing
 * with the next seed. With `over` (queues and agents): a new scope beyond
 * its cap (limits.queues, limits.agents) is not created; the overflow scope
 * `<kind>:~other` stands for it and *over is set (docs/limits.md). A scope
 * named ~other by the producer is that overflow scope. */
static uint32_t scope_intern(ccp_engine_t *e, uint8_t kind, ccp_str_t name, uint64_t k, int *over) {
  for (uint64_t seed = SEED_SCOPE + kind;; seed += 0x100) {
    if (seed != SEED_SCOPE + kind)
      k = ccp_u64map_key(ccp_hash64(name.ptr, name.len, seed));
    uint64_t *v = ccp_u64map_get(&e->scope_index, k);
    if (!v) {
      int named = over && !is_overflow_name(name);
      if (named) {
        int64_t cap = kind == CCP_SC_QUEUE ? e->cfg->max_queues : e->cfg->max_agents;
        if ((int64_t)e->nnamed[kind] >= cap) {
          *over = 1;
          return scope_overflow(e, kind);
        }
        e->nnamed[kind]++;
      }
      v = ccp_u64map_put(&e->scope_index, k, NULL);
      uint32_t id = scope_add(e, kind, name.ptr, name.len); /* does not touch the index */
      *v = id;
      return id;
    }
    if (scope_is(e->scopes[*v], kind, name))
      return (uint32_t)*v;
  }
}

/* The overflow scope of a kind, created on first use (outside the cap). */
static uint32_t scope_overflow(ccp_engine_t *e, uint8_t kind) {
  ccp_str_t n = {CCP_OVERFLOW_NAME, sizeof CCP_OVERFLOW_NAME - 1};
  return scope_intern(e, kind, n, scope_key(kind, n), NULL);
}

void ccp__engine_recount(ccp_engine_t *e) {
  memset(e->nnamed, 0, sizeof e->nnamed);
  e->cust_entries = 0;
  size_t olen = sizeof CCP_OVERFLOW_NAME - 1;
  for (uint32_t i = 0; i < e->nscopes; i++) {
    const ccp_scope_t *s = e->scopes[i];
    size_t plen = strlen(ccp__scope_prefix[s->kind]);
    int overflow =
        s->name_len == plen + olen && memcmp(s->name + plen, CCP_OVERFLOW_NAME, olen) == 0;
    if ((s->kind == CCP_SC_QUEUE || s->kind == CCP_SC_AGENT) && !overflow)
      e->nnamed[s->kind]++;
    e->cust_entries += s->cust.count;
  }
}

void ccp__scope_advance(ccp_engine_t *e, ccp_scope_t *s) { ccp_wset_advance(&s->ws, &e->geom); }

/* ------------------------------------------------------------- local day */

static int64_t local_midnight(int64_t ms, int next_day) {
  time_t t = (time_t)ccp_floordiv(ms, 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (next_day)
    tm.tm_mday += 1;
  tm.tm_isdst = -1;
  return (int64_t)mktime(&tm) * 1000;
}

/* Recomputes the current bucket of every window for e->now. */
static void set_buckets(ccp_engine_t *e) {
  if (e->now < e->day_start || e->now >= e->day_end) {
    e->day_start = local_midnight(e->now, 0);
    e->day_end = local_midnight(e->now, 1);
    if (e->day_end <= e->day_start)
      e->day_end = e->day_start + 86400000; /* defensive */
  }
  for (int w = 0; w < e->cfg->nwindows; w++) {
    const ccp_window_conf_t *wc = &e->cfg->windows[w];
    int64_t g = wc->granularity_ms;
    e->cur_b[w] = ccp_floordiv(e->now, g);
    e->cur_start[w] = e->cur_b[w] * g;
    e->start_b[w] =
        wc->is_today ? ccp_floordiv(e->day_start, g) : e->cur_b[w] - wc->span_ms / g + 1;
  }
  ccp_wgeom_set(&e->geom, e->now, e->start_b);
}

/* ---------------------------------------------------------------- gauges */

/* What a ticket contributes to gauges and waiting lists. */
typedef struct gsnap {
  uint32_t queue, agent;
  uint8_t channel, open, waiting, aged, listed, recent, pad_[2];
} gsnap_t;

static gsnap_t gsnap(const ccp_ticket_t *r) {
  gsnap_t g;
  memset(&g, 0, sizeof g);
  g.queue = ccp_ticket_queue(r);
  g.agent = ccp_ticket_agent(r);
  g.channel = r->channel;
  g.open = (r->flags & CCP_T_OPEN) != 0;
  g.waiting = g.open && r->replies == 0;
  g.aged = (r->flags & CCP_T_AGED) != 0;
  g.listed = g.waiting && r->open_ != CCP_T_NO_OPEN;
  g.recent = (r->flags & CCP_T_RECENT) != 0;
  return g;
}

static const gsnap_t gnone; /* a ticket that does not exist */

static void gauges_add(ccp_engine_t *e, const gsnap_t *g, int sign) {
  if (!g->open && !g->aged)
    return;
  uint32_t ids[4] = {0, 1u + g->channel, g->queue, g->agent};
  for (int i = 0; i < 4; i++) {
    if (ids[i] == CCP_NIL)
      continue;
    ccp_scope_t *s = e->scopes[ids[i]];
    s->g_open += sign * g->open;
    s->g_waiting += sign * g->waiting;
    s->g_aged += sign * g->aged;
  }
}

/* combo_of through the index. */
static uint32_t combo_find(ccp_engine_t *e, uint32_t queue, uint8_t channel, uint32_t agent) {
  uint64_t raw[2] = {((uint64_t)queue << 8) | channel, agent};
  uint64_t k = ccp_u64map_key(ccp_hash64(raw, sizeof raw, 0xc0b0));
  for (;;) {
    int isnew;
    uint64_t *v = ccp_u64map_put(&e->combo_index, k, &isnew);
    if (isnew) {
      if (e->ncombos == e->combos_cap) {
        e->combos_cap = e->combos_cap ? e->combos_cap * 2 : 64;
        e->combos = ccp_realloc(e->combos, e->combos_cap * sizeof *e->combos);
      }
      ccp_combo_t *c = &e->combos[e->ncombos];
      c->queue = queue;
      c->agent = agent;
      c->channel = channel;
      c->head = c->tail = c->rhead = c->rtail = CCP_NIL;
      *v = e->ncombos;
      return e->ncombos++;
    }
    ccp_combo_t *c = &e->combos[*v];
    if (c->queue == queue && c->agent == agent && c->channel == channel)
      return (uint32_t)*v;
    k = ccp_u64map_key(k * 0x9e3779b97f4a7c15ULL + 1); /* collision: probe on */
  }
}

/* The cache of (queue, channel, agent)'s combo id in the scope that owns it
 * (ccp_scope_t.wl_combo), NULL when it has none for that channel. */
static uint32_t *combo_slot(ccp_engine_t *e, uint32_t queue, uint8_t channel, uint32_t agent) {
  if (channel >= CCP_CH__COUNT)
    return NULL;
  if (agent == CCP_NIL)
    return &e->scopes[queue]->wl_combo[channel];
  ccp_scope_t *s = e->scopes[agent];
  if (s->wl_queue != queue + 1) { /* the agent serves another queue now: start afresh */
    s->wl_queue = queue + 1;
    memset(s->wl_combo, 0, sizeof s->wl_combo);
  }
  return &s->wl_combo[channel];
}

/* The combo id of (queue, channel, agent), created on first sight: from the
 * owning scope's cache when it knows it (no hash, no probe), else from the
 * index. */
static uint32_t combo_of(ccp_engine_t *e, uint32_t queue, uint8_t channel, uint32_t agent) {
  uint32_t *slot = combo_slot(e, queue, channel, agent);
  if (slot && *slot)
    return *slot - 1;
  uint32_t id = combo_find(e, queue, channel, agent);
  if (slot)
    *slot = id + 1;
  return id;
}

/* Unlinks r from the part of its waiting list that g says it is in. */
static void list_remove(ccp_engine_t *e, const gsnap_t *g, ccp_ticket_t *r) {
  uint32_t cid = combo_of(e, g->queue, g->channel, g->agent); /* exists: nothing moves */
  ccp_combo_t *c = &e->combos[cid];
  uint32_t *head = g->recent ? &c->rhead : &c->head, *tail = g->recent ? &c->rtail : &c->tail;
  if (r->w_prev != CCP_NIL)
    ccp_tickets_at(&e->tickets, r->w_prev)->w_next = r->w_next;
  else
    *head = r->w_next;
  if (r->w_next != CCP_NIL)
    ccp_tickets_at(&e->tickets, r->w_next)->w_prev = r->w_prev;
  else
    *tail = r->w_prev;
  r->w_prev = r->w_next = CCP_NIL;
  r->flags &= (uint16_t) ~(CCP_T_WAITING | CCP_T_RECENT);
}

/* Appends a ticket to the recent part of its waiting list: O(1) per event;
 * sorting it in by open time waits for the next export (sort_recent), the
 * only reader of the order. */
static void list_insert(ccp_engine_t *e, uint32_t ti, ccp_ticket_t *r) {
  uint32_t cid = combo_of(e, ccp_ticket_queue(r), (uint8_t)r->channel,
                          ccp_ticket_agent(r)); /* may move e->combos */
  ccp_combo_t *c = &e->combos[cid];
  r->w_prev = c->rtail;
  r->w_next = CCP_NIL;
  if (c->rtail != CCP_NIL)
    ccp_tickets_at(&e->tickets, c->rtail)->w_next = ti;
  else
    c->rhead = ti;
  c->rtail = ti;
  r->flags |= CCP_T_WAITING | CCP_T_RECENT;
}

static int wsort_cmp(const void *pa, const void *pb) {
  const ccp_wsort_t *a = pa, *b = pb;
  if (a->open_ts != b->open_ts)
    return a->open_ts < b->open_ts ? -1 : 1;
  return a->rec < b->rec ? -1 : a->rec > b->rec;
}

/* Moves a combo's recent tickets into its sorted part: sorts them by open
 * time, then inserts them newest first, walking back from the sorted part's
 * tail once for all of them (each after the ones with an equal open time). */
static void sort_recent(ccp_engine_t *e, ccp_combo_t *c) {
  ccp_tickets_t *t = &e->tickets;
  size_t k = 0;
  for (uint32_t i = c->rhead; i != CCP_NIL; i = ccp_tickets_at(t, i)->w_next) {
    if (k == e->wsort_cap) {
      e->wsort_cap = e->wsort_cap ? 2 * e->wsort_cap : 256;
      e->wsort = ccp_realloc(e->wsort, e->wsort_cap * sizeof *e->wsort);
    }
    e->wsort[k].open_ts = ccp_ticket_open(ccp_tickets_at(t, i));
    e->wsort[k++].rec = i;
  }
  qsort(e->wsort, k, sizeof *e->wsort, wsort_cmp);
  uint32_t pos = c->tail; /* insert after pos (CCP_NIL: at the head) */
  for (size_t j = k; j-- > 0;) {
    uint32_t ti = e->wsort[j].rec;
    ccp_ticket_t *r = ccp_tickets_at(t, ti);
    while (pos != CCP_NIL &&
           ccp_tickets_at(t, pos)->open_ > r->open_) /* open times order as their offsets */
      pos = ccp_tickets_at(t, pos)->w_prev;
    r->w_prev = pos;
    r->w_next = pos == CCP_NIL ? c->head : ccp_tickets_at(t, pos)->w_next;
    if (r->w_next != CCP_NIL)
      ccp_tickets_at(t, r->w_next)->w_prev = ti;
    else
      c->tail = ti;
    if (pos == CCP_NIL)
      c->head = ti;
    else
      ccp_tickets_at(t, pos)->w_next = ti;
    r->flags &= (uint16_t)~CCP_T_RECENT;
  }
  c->rhead = c->rtail = CCP_NIL;
}

/* Moves a ticket's contributions from `before` to its current state. */
static void gauges_move(ccp_engine_t *e, uint32_t ti, ccp_ticket_t *r, const gsnap_t *before) {
  gsnap_t after = gsnap(r);
  if (memcmp(before, &after, sizeof after) == 0)
    return;
  int same_combo = before->queue == after.queue && before->channel == after.channel &&
                   before->agent == after.agent;
  if (same_combo) { /* the same scopes: one pass with the differences, none if all are 0 */
    int64_t dopen = after.open - before->open, dwait = after.waiting - before->waiting,
            daged = after.aged - before->aged;
    if (dopen | dwait | daged) {
      uint32_t ids[4] = {0, 1u + after.channel, after.queue, after.agent};
      for (int i = 0; i < 4; i++) {
        if (ids[i] == CCP_NIL)
          continue;
        ccp_scope_t *sc = e->scopes[ids[i]];
        sc->g_open += dopen;
        sc->g_waiting += dwait;
        sc->g_aged += daged;
      }
    }
  } else {
    gauges_add(e, before, -1);
    gauges_add(e, &after, +1);
  }
  if (before->listed && (!after.listed || !same_combo))
    list_remove(e, before, r);
  if (after.listed && !(r->flags & CCP_T_WAITING))
    list_insert(e, ti, r);
}

/* -------------------------------------------------------------- counters */

/* Whether the next log of s takes hints (CCP_HINT_SKIP), from what they
 * summed in the log being emptied: a short log (an export's) leaves it as
 * it was. */
static inline void hints_judge(ccp_scope_t *s) {
  if (s->hint_skip)
    s->hint_skip--;
  else if (s->nlog >= CCP_HINT_JUDGE && (uint32_t)s->log_hits * CCP_HINT_MIN_RATE < s->nlog)
    s->hint_skip = CCP_HINT_SKIP;
  s->log_hits = 0;
}

/* Applies a scope's delta log to its windows and empties it. The windows
 * are first moved to now (expiring what left them); a delta whose bucket is
 * no longer covered is dropped, exactly as if it had been added when it
 * happened and expired since. */
static void flush_scope(ccp_engine_t *e, ccp_scope_t *s) {
  if (!s->nlog)
    return;
  const ccp_wgeom_t *g = &e->geom;
  ccp_wset_advance(&s->ws, g);
  uint32_t fields = 0; /* new columns in one widening of the rows, not one each */
  for (uint32_t i = 0; i < s->nlog; i++)
    if (s->log[i].kind == CCP_WD_FIELD && s->log[i].amt)
      fields |= 1u << s->log[i].f;
  ccp_wset_reserve(&s->ws, g, fields);
  /* A run of deltas of one base unit (most of a busy scope's log) goes to
   * the store in one ccp_wset_add_run; the histogram samples in between
   * touch other arrays than the fields, so taking them first keeps the
   * result of applying the log in order. */
  uint8_t f[CCP_DELTA_MAX];
  int64_t amt[CCP_DELTA_MAX];
  for (uint32_t i = 0, j; i < s->nlog; i = j) {
    int32_t dbase = s->log[i].dbase;
    int64_t at = s->log_base + dbase;
    uint32_t n = 0;
    for (j = i; j < s->nlog && s->log[j].dbase == dbase; j++) {
      const ccp_wdelta_t *d = &s->log[j];
      if (d->kind == CCP_WD_FIELD) {
        f[n] = d->f;
        amt[n++] = d->amt;
      } else {
        ccp_wset_add_bin(&s->ws, g, at, d->kind == CCP_WD_FRT ? CCP_H_FRT : CCP_H_RES,
                         CCP_WD_BIN(d->amt), CCP_WD_COUNT(d->amt));
      }
    }
    if (n)
      ccp_wset_add_run(&s->ws, g, at, f, amt, n);
  }
  hints_judge(s);
  s->nlog = 0;
}

void ccp__engine_flush(ccp_engine_t *e) {
  for (uint32_t i = 0; i < e->ndirty; i++) {
    ccp_scope_t *s = e->scopes[e->dirty[i]];
    flush_scope(e, s);
    s->in_dirty = 0;
    ccp_free(s->log); /* a quiet scope holds no log until its next delta */
    s->log = NULL;
    s->logcap = 0;
  }
  e->ndirty = 0;
}

void ccp__engine_fit_logs(ccp_engine_t *e) {
  for (uint32_t i = 0; i < e->ndirty; i++) {
    ccp_scope_t *s = e->scopes[e->dirty[i]];
    if (s->logcap <= CCP_DELTA_CAP)
      continue;
    flush_scope(e, s); /* stays in the dirty list: the next export reads it anew */
    ccp_free(s->log);
    s->log = NULL;
    s->logcap = 0;
  }
}

/* Scope id, its log ready for `need` more deltas of base bucket `base`: a
 * full log (or one whose base is too far) is applied first, the log grows,
 * and the scope is in the dirty list. */
static ccp_scope_t *log_room_slow(ccp_engine_t *e, uint32_t id, int64_t base, uint32_t need) {
  ccp_scope_t *s = e->scopes[id];
  if (s->nlog && (s->nlog + need > CCP_DELTA_MAX || base - s->log_base > INT32_MAX / 2 ||
                  s->log_base - base > INT32_MAX / 2))
    flush_scope(e, s); /* stays in the dirty list */
  if (!s->nlog)
    s->log_base = base;
  while (s->nlog + need > s->logcap) {
    s->logcap = s->logcap ? CCP_MIN(2 * s->logcap, CCP_DELTA_MAX) : CCP_DELTA_MIN;
    s->log = ccp_realloc(s->log, s->logcap * sizeof *s->log);
  }
  if (!s->in_dirty) {
    s->in_dirty = 1;
    if (e->ndirty == e->dirty_cap) {
      e->dirty_cap = e->dirty_cap ? e->dirty_cap * 2 : 64;
      e->dirty = ccp_realloc(e->dirty, e->dirty_cap * sizeof *e->dirty);
    }
    e->dirty[e->ndirty++] = id;
  }
  return s;
}

/* log_room_slow(), inline when there is nothing to do (nearly every call:
 * four an event): a log holding entries, with room and a base near enough,
 * is in the dirty list already. */
static inline ccp_scope_t *log_room(ccp_engine_t *e, uint32_t id, int64_t base, uint32_t need) {
  ccp_scope_t *s = e->scopes[id];
  if (s->nlog && s->nlog + need <= s->logcap && s->in_dirty &&
      base - s->log_base <= INT32_MAX / 2 && s->log_base - base <= INT32_MAX / 2)
    return s;
  return log_room_slow(e, id, base, need);
}

/* Adds amt to field f of base bucket dbase in s's log (room for one more
 * entry made): to the entry of that bucket and field when log_at names one,
 * else in a new entry. Summing in place is what flush_scope would do with
 * the two entries: the windows add every field of a bucket alike. */
static inline void log_add(ccp_scope_t *s, int32_t dbase, int f, int64_t amt) {
  if (!s->hint_skip) {
    uint16_t *at = &s->log_at[(uint32_t)dbase % CCP_DELTA_WAYS][f];
    uint32_t i = CCP_LOG_HINT_IDX(*at);
    if (*at == CCP_LOG_HINT(i, dbase) && i < s->nlog) {
      ccp_wdelta_t *d = &s->log[i];
      if (d->kind == CCP_WD_FIELD && d->f == f && d->dbase == dbase) {
        d->amt += amt;
        s->log_hits += s->log_hits < UINT8_MAX;
        return;
      }
    }
    *at = CCP_LOG_HINT(s->nlog, dbase);
  }
  s->log[s->nlog++] =
      (ccp_wdelta_t){.amt = amt, .dbase = dbase, .f = (uint8_t)f, .kind = CCP_WD_FIELD};
}

/* Adds one sample of histogram delta kind `kind` in bin to base bucket dbase
 * in s's log (room made): one more in the entry of that bucket, kind and bin
 * when log_bin names one, else a new entry. Counting it there is what
 * flush_scope would do with two entries: a bin's samples of one unit are one
 * record and one count per window. */
static inline void log_sample(ccp_scope_t *s, int32_t dbase, uint8_t kind, int bin) {
  if (!s->hint_skip) {
    uint16_t *at = &s->log_bin[((uint32_t)dbase * 7u + (uint32_t)bin * 2u + kind) % CCP_DELTA_BINS];
    uint32_t i = CCP_LOG_HINT_IDX(*at);
    if (*at == CCP_LOG_HINT(i, dbase) && i < s->nlog) {
      ccp_wdelta_t *d = &s->log[i];
      if (d->kind == kind && d->dbase == dbase && CCP_WD_BIN(d->amt) == bin) {
        d->amt += CCP_WD_ONE;
        s->log_hits += s->log_hits < UINT8_MAX;
        return;
      }
    }
    *at = CCP_LOG_HINT(s->nlog, dbase);
  }
  s->log[s->nlog++] = (ccp_wdelta_t){.amt = bin, .dbase = dbase, .kind = kind};
}

/* Adds a field delta for base bucket `base` to scope id's log. */
static void log_delta(ccp_engine_t *e, uint32_t id, int64_t base, int f, int64_t amt) {
  ccp_scope_t *s = log_room(e, id, base, 1);
  log_add(s, (int32_t)(base - s->log_base), f, amt);
}

/* Adds one event's deltas (all for base bucket `base`) to scope id's log,
 * with one log_room() for all of them. */
static void log_event(ccp_engine_t *e, uint32_t id, int64_t base, const ccp_delta_t *d) {
  uint32_t need = (uint32_t)d->nf + (d->frt_bin >= 0) + (d->res_bin >= 0);
  ccp_scope_t *s = log_room(e, id, base, need);
  int32_t dbase = (int32_t)(base - s->log_base);
  for (int k = 0; k < d->nf; k++)
    log_add(s, dbase, d->f[k], d->amt[k]);
  if (d->frt_bin >= 0)
    log_sample(s, dbase, CCP_WD_FRT, d->frt_bin);
  if (d->res_bin >= 0)
    log_sample(s, dbase, CCP_WD_RES, d->res_bin);
}

/* Adds a delta at time ts to the given scopes (CCP_NIL entries skipped),
 * through their delta logs. */
static void scopes_apply(ccp_engine_t *e, const uint32_t ids[4], int64_t ts, const ccp_delta_t *d) {
  int64_t base = ccp_floordiv(ts, e->cust_unit);
  for (int i = 0; i < 4; i++)
    if (ids[i] != CCP_NIL)
      log_event(e, ids[i], base, d);
}

static void customers_gc(ccp_engine_t *e, ccp_scope_t *s);

/* Absolute time unit value of a stored 32-bit one, near the current time. */
static inline int64_t cust_abs(const ccp_engine_t *e, uint32_t stored) {
  int64_t ref = ccp_floordiv(e->now, e->cust_unit);
  return ref + (int32_t)(stored - (uint32_t)ref);
}

/* Distinct customers among HANDLED, per scope and window: each scope maps a
 * 32-bit customer hash to the time (in cust_unit) of its latest HANDLED. */
static void scopes_customer(ccp_engine_t *e, const uint32_t ids[4], int64_t ts, uint64_t cust) {
  uint32_t key = ccp_u32map_key(cust);
  int64_t tu = ccp_floordiv(ts, e->cust_unit);
  size_t cap = (size_t)e->cfg->max_cust_entries;
  for (int i = 0; i < 4; i++) {
    if (ids[i] == CCP_NIL)
      continue;
    ccp_scope_t *s = e->scopes[ids[i]];
    if (ccp_u32map_would_grow(&s->cust) && e->now - s->cust_gc_at >= 3600000) {
      customers_gc(e, s); /* sweep before growing, at most once per hour */
      s->cust_gc_at = e->now;
    }
    uint32_t old;
    int had = ccp_u32map_get(&s->cust, key, &old);
    int64_t prev = had ? cust_abs(e, old) : INT64_MIN;
    if (had && tu <= prev)
      continue;
    if (!had && e->cust_entries >= cap) {
      /* limits.customer_entries, every scope's entries together: sweep them all, at most
       * once per hour of stream time, before refusing one */
      if (e->now - e->cust_cap_gc_at >= 3600000) {
        for (uint32_t j = 0; j < e->nscopes; j++)
          customers_gc(e, e->scopes[j]);
        e->cust_cap_gc_at = e->now;
      }
      if (e->cust_entries >= cap) {
        e->diag.evicted_customers++;
        continue;
      }
    }
    if (!had)
      e->cust_entries++;
    ccp_u32map_set(&s->cust, key, (uint32_t)tu);
    if (s->cust_x) /* the exported entries miss it (export.c) */
      ccp__cust_note(s, key);
    /* the customer now counts in tu's bucket and no longer in prev's (the
     * same bucket of a coarse window nets to zero) */
    if (had)
      log_delta(e, ids[i], prev, CCP_F_CUST, -1);
    log_delta(e, ids[i], tu, CCP_F_CUST, +1);
  }
}

typedef struct cust_gc {
  const ccp_engine_t *e;
  int64_t horizon; /* in cust_unit */
} cust_gc_t;

/* Forgets customers whose latest HANDLED is older than every window. */
static int cust_keep(void *opaque, uint32_t key, uint32_t val) {
  const cust_gc_t *gc = opaque;
  (void)key;
  return cust_abs(gc->e, val) >= gc->horizon;
}

static void customers_gc(ccp_engine_t *e, ccp_scope_t *s) {
  int64_t longest = 26 * 3600000LL; /* today: at most 25 h, plus a margin */
  for (int w = 0; w < e->cfg->nwindows; w++)
    longest = CCP_MAX(longest, e->cfg->windows[w].span_ms + e->cfg->windows[w].granularity_ms);
  cust_gc_t gc = {e, ccp_floordiv(e->now - longest, e->cust_unit)};
  size_t before = s->cust.count;
  if (!before)
    return;
  ccp_u32map_filter(&s->cust, cust_keep, &gc);
  e->cust_entries -= before - s->cust.count;
  if (s->cust_x && s->cust.count != before) /* read out anew (export.c) */
    ccp__cust_x_drop(s);
}

/* ------------------------------------------------------------- retention */

#define ACT_MASK ((1ULL << CCP_ACT_BITS) - 1)
#define PERIOD_SLOTS (CCP_ACT_BITS / 2)

/* Signed distance a - b between two slot numbers known mod 2^16. */
static inline int64_t slot_delta16(int64_t a, uint64_t b16) {
  return (int16_t)(uint16_t)((uint64_t)a - b16);
}

static void customers_active_gc(ccp_engine_t *e);
static inline uint64_t act_at(uint64_t v, int64_t c);

/* A customer's contribution to retention at slot c: bit 0 active in the
 * previous period, bit 1 active in both. */
static inline int act_contrib(uint64_t v, int64_t c) {
  const uint64_t cur_mask = (1ULL << PERIOD_SLOTS) - 1, prev_mask = cur_mask << PERIOD_SLOTS;
  uint64_t bits = act_at(v, c);
  if (!(bits & prev_mask))
    return 0;
  return (bits & cur_mask) ? 3 : 1;
}

/* Keeps the cached retention counts of slot ret_c right across one change. */
static inline void ret_update(ccp_engine_t *e, int64_t c, int before, int after) {
  if (e->ret_c != c || before == after)
    return;
  e->ret_prev += (after & 1) - (before & 1);
  e->ret_both += ((after >> 1) & 1) - ((before >> 1) & 1);
}

/* 1 when acts, were it a doubling map (acts_sweep_cap), would grow at the next put. */
static inline int acts_would_double(const ccp_engine_t *e) {
  return (e->acts.count + 1) * 4 > e->acts_sweep_cap * 3;
}

static void customer_active(ccp_engine_t *e, uint64_t cust, int64_t ts) {
  int64_t slot = ccp_floordiv(ts, e->slot_ms);
  int64_t now_slot = ccp_floordiv(e->now, e->slot_ms);
  /* sweep before growing (at most once per slot), and at least every 2^14
   * slots so the 16-bit slot numbers stay unambiguous */
  if ((acts_would_double(e) && now_slot != e->acts_gc_slot) ||
      now_slot - e->acts_gc_slot >= 16384) {
    customers_active_gc(e);
    e->acts_gc_slot = now_slot;
  }
  /* A customer with no activity in either period (absent, or held but not
   * swept yet) is new here, so that what the cap admits does not depend on
   * when sweeps ran (docs/limits.md; the reference engine applies the same
   * rule). One active only before both periods would count nowhere: not
   * added. At limits.customers the idle ones are swept (once per slot: after
   * that sweep every customer held is active in a period), and the new one
   * is refused if the table is still full. */
  const uint64_t *held = NULL;
  int full = (int64_t)e->acts.count >= e->cfg->max_customers;
  if ((now_slot - slot >= CCP_ACT_BITS || full) && /* else nothing below applies */
      (!(held = ccp_u64map_get(&e->acts, cust)) || !ccp__act_at(*held, now_slot))) {
    if (now_slot - slot >= CCP_ACT_BITS)
      return;
    if ((int64_t)e->acts.count >= e->cfg->max_customers) {
      if (now_slot != e->acts_gc_slot) {
        customers_active_gc(e);
        e->acts_gc_slot = now_slot;
      }
      if ((int64_t)e->acts.count >= e->cfg->max_customers) {
        e->diag.evicted_customers++;
        return;
      }
    }
  }
  int isnew;
  if (acts_would_double(e)) /* where a doubling map grew: at any put, as ccp_u64map_put */
    e->acts_sweep_cap = e->acts_sweep_cap ? 2 * e->acts_sweep_cap : 64;
  uint64_t *v = ccp_u64map_put(&e->acts, cust, &isnew);
  if (isnew) {
    *v = ((uint64_t)(uint16_t)slot << CCP_ACT_BITS) | 1;
    ret_update(e, now_slot, 0, act_contrib(*v, now_slot));
    if (cust <= e->rs_max && e->rs_valid)
      ccp__rs_note(e, cust, *v);
    return;
  }
  uint64_t old = *v;
  int before = e->ret_c == now_slot ? act_contrib(*v, now_slot) : 0;
  uint64_t bits = *v & ACT_MASK;
  int64_t d = slot_delta16(slot, *v >> CCP_ACT_BITS);
  if (d > 0) {
    bits = d >= CCP_ACT_BITS ? 1 : ((bits << d) & ACT_MASK) | 1;
    *v = ((uint64_t)(uint16_t)slot << CCP_ACT_BITS) | bits;
  } else if (-d < CCP_ACT_BITS) {
    *v |= 1ULL << -d;
  }
  if (e->ret_c == now_slot)
    ret_update(e, now_slot, before, act_contrib(*v, now_slot));
  if (*v != old && cust <= e->rs_max && e->rs_valid)
    ccp__rs_note(e, cust, *v); /* a sampled customer's activity changed */
}

static inline uint64_t act_at(uint64_t v, int64_t c) { return ccp__act_at(v, c); }

static int act_keep(void *opaque, uint64_t key, uint64_t val) {
  (void)key;
  return act_at(val, *(const int64_t *)opaque) != 0;
}

/* Forgets customers with no activity in either period (keeps the 16-bit
 * slot numbers unambiguous). */
static void customers_active_gc(ccp_engine_t *e) {
  if (e->now == INT64_MIN || !e->acts.count)
    return;
  int64_t c = ccp_floordiv(e->now, e->slot_ms);
  if (ccp_u64map_filter(&e->acts, act_keep, &c))
    e->rs_valid = 0; /* the sample is chosen anew at the next export */
}

/* Retention counts at the current slot: a full scan when the slot changed
 * since the last call, else the counts kept up to date by customer_active. */
void ccp__engine_retention(ccp_engine_t *e, int64_t *prev_out, int64_t *both_out) {
  *prev_out = *both_out = 0;
  if (e->now == INT64_MIN)
    return;
  int64_t c = ccp_floordiv(e->now, e->slot_ms);
  if (e->ret_c != c) {
    int64_t prev = 0, both = 0;
    const ccp_u64map_t *m = &e->acts;
    for (size_t j = 0; j < m->cap; j++) {
      if (!m->slots[j].key)
        continue;
      int k = act_contrib(m->slots[j].val, c);
      prev += k & 1;
      both += (k >> 1) & 1;
    }
    e->ret_prev = prev;
    e->ret_both = both;
    e->ret_c = c;
  }
  *prev_out = e->ret_prev;
  *both_out = e->ret_both;
}

void ccp__engine_oldest_waiting(ccp_engine_t *e) {
  for (uint32_t i = 0; i < e->nscopes; i++)
    e->scopes[i]->oldest_open = INT64_MAX;
  for (uint32_t c = 0; c < e->ncombos; c++) {
    ccp_combo_t *cb = &e->combos[c];
    if (cb->rhead != CCP_NIL)
      sort_recent(e, cb);
    if (cb->head == CCP_NIL)
      continue;
    int64_t o = ccp_ticket_open(ccp_tickets_at(&e->tickets, cb->head)); /* lists are sorted */
    uint32_t ids[4] = {0, 1u + cb->channel, cb->queue, cb->agent};
    for (int i = 0; i < 4; i++) {
      if (ids[i] == CCP_NIL)
        continue;
      ccp_scope_t *s = e->scopes[ids[i]];
      if (o < s->oldest_open)
        s->oldest_open = o;
    }
  }
}

/* ---------------------------------------------------------------- alerts */

static void remember_id(ccp_engine_t *e, const ccp_ticket_t *r, ccp_str_t id) {
  if (!e->alert_cb)
    return;
  int isnew;
  uint64_t *v = ccp_u64map_put(&e->ids, r->key, &isnew);
  if (!isnew)
    ccp_strpool_free(&e->idpool, (char *)(uintptr_t)*v);
  *v = (uint64_t)(uintptr_t)ccp_strpool_dup(&e->idpool, id.ptr, id.len);
}

static void forget_id(ccp_engine_t *e, const ccp_ticket_t *r) {
  if (!e->ids.count)
    return;
  uint64_t *v = ccp_u64map_get(&e->ids, r->key);
  if (!v)
    return;
  ccp_strpool_free(&e->idpool, (char *)(uintptr_t)*v);
  ccp_u64map_del(&e->ids, r->key);
}

static void emit_alert(ccp_engine_t *e, const ccp_ticket_t *r, int kind, int64_t at) {
  if (kind == CCP_ALERT_SLA_BREACH)
    e->diag.alerts_breach++;
  else
    e->diag.alerts_at_risk++;
  if (!e->alert_cb)
    return;
  uint64_t *v = ccp_u64map_get(&e->ids, r->key);
  ccp_alert_t a = {
      .kind = kind,
      .at_ms = at,
      .now_ms = e->due_now,
      .opened_ms = ccp_ticket_open(r),
      .threshold_ms = e->thr_ms[r->thr],
      .ticket_id = v ? (const char *)(uintptr_t)*v : "",
      .queue = e->scopes[ccp_ticket_queue(r)]->name + strlen("queue:"),
      .agent_id = ccp_ticket_agent(r) != CCP_NIL
                      ? e->scopes[ccp_ticket_agent(r)]->name + strlen("agent:")
                      : NULL,
      .channel = r->channel,
  };
  e->alert_cb(e->alert_opaque, &a);
}

/* ---------------------------------------------------------------- timers */

/* Each ticket has one pending timer: of the stages not yet done (at risk,
 * breach, backlog age; the first two only while unreplied), the earliest.
 * When it pops (acting or not) the next one is pushed, so a ticket costs one
 * heap entry at a time. */
static int64_t stage_at(const ccp_engine_t *e, const ccp_ticket_t *r, int kind) {
  switch (kind) {
  case CCP_TM_AT_RISK:
    return ccp_ticket_open(r) +
           (int64_t)floor((double)e->thr_ms[r->thr] * e->cfg->sla_at_risk_fraction);
  case CCP_TM_BREACH:
    return ccp_ticket_open(r) + e->thr_ms[r->thr] + 1; /* strictly after the deadline */
  default:
    return ccp_ticket_open(r) + e->cfg->backlog_age_ms + 1; /* strictly older than the age */
  }
}

static void push_next_stage(ccp_engine_t *e, uint32_t ti, const ccp_ticket_t *r) {
  int kind = -1;
  int64_t at = INT64_MAX;
  if (r->replies == 0 && !(r->flags & CCP_T_AT_RISK)) {
    kind = CCP_TM_AT_RISK;
    at = stage_at(e, r, kind);
  } else if (r->replies == 0 && !(r->flags & CCP_T_BREACHED)) {
    kind = CCP_TM_BREACH;
    at = stage_at(e, r, kind);
  }
  if (!(r->flags & CCP_T_AGE_DONE)) {
    int64_t age_at = stage_at(e, r, CCP_TM_AGED);
    if (age_at < at) {
      kind = CCP_TM_AGED;
      at = age_at;
    }
  }
  if (kind >= 0)
    ccp_timers_push(&e->timers, at, (uint8_t)kind, ti, r->life);
}

static void arm_timers(ccp_engine_t *e, uint32_t ti, ccp_ticket_t *r) { push_next_stage(e, ti, r); }

static void fire_timer(ccp_engine_t *e, const ccp_timer_t *tm) {
  ccp_ticket_t *r = ccp_tickets_at(&e->tickets, tm->ticket);
  if (!r->key || r->life != tm->life)
    return;
  int unreplied_open = (r->flags & CCP_T_OPEN) && r->replies == 0;
  gsnap_t before = gsnap(r);
  switch (tm->kind) {
  case CCP_TM_AT_RISK:
    if (!(r->flags & CCP_T_AT_RISK)) {
      r->flags |= CCP_T_AT_RISK;
      if (unreplied_open)
        emit_alert(e, r, CCP_ALERT_SLA_AT_RISK, tm->fire_at);
    }
    break;
  case CCP_TM_BREACH:
    if (!(r->flags & CCP_T_BREACHED)) {
      r->flags |= CCP_T_BREACHED;
      if (unreplied_open) {
        int64_t deadline = tm->fire_at - 1;
        ccp_delta_t d;
        ccp_delta_init(&d);
        ccp_delta_add(&d, CCP_F_BREACHES, 1);
        uint32_t ids[4] = {0, 1u + (uint32_t)r->channel, ccp_ticket_queue(r), ccp_ticket_agent(r)};
        scopes_apply(e, ids, deadline, &d);
        emit_alert(e, r, CCP_ALERT_SLA_BREACH, deadline);
      }
      forget_id(e, r); /* no alert can follow in this life */
    }
    break;
  case CCP_TM_AGED:
    r->flags |= CCP_T_AGE_DONE;
    if ((r->flags & CCP_T_OPEN) && r->open_ != CCP_T_NO_OPEN)
      r->flags |= CCP_T_AGED;
    break;
  }
  push_next_stage(e, tm->ticket, r);
  gauges_move(e, tm->ticket, r, &before);
}

static void drop_ticket(ccp_engine_t *e, uint32_t ti) {
  ccp_ticket_t *r = ccp_tickets_at(&e->tickets, ti);
  gsnap_t before = gsnap(r);
  r->flags = 0; /* contributes nothing any more */
  gauges_move(e, ti, r, &before);
  forget_id(e, r);
  ccp_tickets_remove(&e->tickets, ti);
}

/* Timers popped ahead of the one whose ticket run_due prefetches; a burst
 * of due timers then finds each ticket's record on its way. */
enum { TIMER_AHEAD = 4 };

void ccp__engine_run_due(ccp_engine_t *e) {
  for (;;) {
    const ccp_timer_t *top = ccp_timers_top(&e->timers);
    int64_t t_due = top ? top->fire_at : INT64_MAX;
    int64_t x_due = INT64_MAX;
    uint32_t head = e->tickets.lru_head;
    if (head != CCP_NIL) {
      int64_t touch = ccp_tickets_at(&e->tickets, head)->touch;
      if (touch <= INT64_MAX - e->cfg->ticket_ttl_ms - 1)
        x_due = touch + e->cfg->ticket_ttl_ms + 1;
    }
    if (t_due <= x_due) {
      if (t_due > e->due_now)
        return;
      ccp_timer_t tm;
      ccp_timers_pop(&e->timers, &tm);
      const ccp_timer_t *next = ccp_timers_top(&e->timers);
      if (next) /* the next timer's ticket: due now or at a later event */
        ccp_tickets_prefetch_at(&e->tickets, next->ticket);
      uint32_t later = ccp_timers_ahead(&e->timers, TIMER_AHEAD); /* each one once, early */
      if (later != UINT32_MAX)
        ccp_tickets_prefetch_at(&e->tickets, later);
      fire_timer(e, &tm);
    } else {
      if (x_due > e->due_now)
        return;
      drop_ticket(e, head);
      e->diag.expired++;
    }
  }
}

void ccp__engine_view_to(ccp_engine_t *e, int64_t t) {
  if (t > e->now || e->now == INT64_MIN) {
    e->now = t;
    set_buckets(e);
  }
}

/* Moves both times to t (each if later) and fires what is due by then. */
static void advance_to(ccp_engine_t *e, int64_t t) {
  ccp__engine_view_to(e, t);
  if (t > e->due_now)
    e->due_now = t;
  ccp__engine_run_due(e);
}

void ccp_engine_advance(ccp_engine_t *e, int64_t now_ms) {
  if (e->now == INT64_MIN && now_ms == INT64_MIN)
    return;
  advance_to(e, now_ms);
}

/* ---------------------------------------------------------------- events */

/* The fixed rules only: replay has no wall clock (docs/kpis.md §7); the live
 * workers apply live.max_future before the engine (src/consume/worker.c),
 * which then skips this check (ccp_engine_set_prechecked). */
static int invalid(const ccp_event_t *ev) {
  return ccp_event_check(ev, CCP_EVENT_TS_MAX) != CCP_EVF_NONE;
}

static int dedup_keep(void *opaque, uint64_t key, uint64_t val) {
  (void)key;
  return (int64_t)val >= *(const int64_t *)opaque;
}

/* 1 when an id last seen at stream time *v is still a duplicate now. */
static inline int dedup_fresh(const ccp_engine_t *e, const uint64_t *v) {
  return (int64_t)*v >= e->ev_now - e->cfg->lateness_ms;
}

/* Returns 1 when ev's id was accepted within the lateness horizon. */
static int dedup_seen(ccp_engine_t *e, uint64_t k) {
  uint64_t *v = ccp_u64map_get(&e->dedup, k);
  return v && dedup_fresh(e, v);
}

/* The least count a sweep waits for: 65,536 ids, or dedup.max when smaller
 * (else a small filter would fill long before its first sweep). */
static size_t dedup_sweep_floor(const ccp_config_t *cfg) {
  return (size_t)CCP_MIN(cfg->max_dedup, 65536);
}

static void dedup_remember(ccp_engine_t *e, uint64_t k) {
  if (e->dedup.count >= e->dedup_sweep_at) {
    int64_t horizon = e->ev_now - e->cfg->lateness_ms;
    /* in place (no fresh table to fault in and zero); from format 6 the
     * filter is saved by value (save_dedup): its layout never shows */
    ccp_u64map_filter(&e->dedup, dedup_keep, &horizon);
    e->dedup_sweep_at = CCP_MAX(2 * e->dedup.count, dedup_sweep_floor(e->cfg));
  }
  uint64_t *v = ccp_u64map_get(&e->dedup, k);
  if (!v) {
    if ((int64_t)e->dedup.count >= e->cfg->max_dedup) {
      e->diag.dedup_full++;
      /* a refused id counts towards the next sweep as a remembered one
       * would: without this a filter whose sweep point lay above the cap
       * (more than half of dedup.max fresh at the last sweep) was never
       * swept again and stayed full for good; now stale ids go after at
       * most as many refusals as a sweep lets new ids in, so the sweeps
       * cost a few slots an event at the cap too */
      e->dedup_sweep_at--;
      return;
    }
    v = ccp_u64map_put(&e->dedup, k, NULL);
  }
  *v = (uint64_t)e->ev_now;
}

/* 1 when remembering any id now neither sweeps the filter, nor finds it
 * full, nor grows it: then taking the id's slot before knowing whether it
 * is a duplicate (ccp_u64map_put: a duplicate's id is there already, and
 * nothing changes) leaves the filter as dedup_seen() + dedup_remember()
 * would, with one probe instead of two or three. */
static inline int dedup_room(const ccp_engine_t *e) {
  return e->dedup.count < e->dedup_sweep_at && (int64_t)e->dedup.count < e->cfg->max_dedup &&
         !ccp_u64map_would_grow(&e->dedup);
}

static inline int64_t opt0(int64_t v) { return v == CCP_NULL_I64 ? 0 : v; }

static uint32_t ticket_get(ccp_engine_t *e, uint64_t key, int *created) {
  uint32_t ti = ccp_tickets_find(&e->tickets, key);
  *created = 0;
  if (ti != CCP_NIL)
    return ti;
  while ((int64_t)e->tickets.count >= e->cfg->max_tickets && e->tickets.lru_head != CCP_NIL) {
    drop_ticket(e, e->tickets.lru_head);
    e->diag.evicted++; /* counted, not printed: the engine does no I/O */
  }
  *created = 1;
  return ccp_tickets_create(&e->tickets, key);
}

/* An event's hashed ids: computed once, ahead of time in a batch. */
typedef struct evkeys {
  uint64_t event, ticket, cust;
  uint64_t queue, agent; /**< scope_key() of its queue and agent scopes (agent: 0 when none) */
  uint32_t qhint, ahint; /**< scope ids the batch's look-ahead found for them, or CCP_NIL */
} evkeys_t;

static inline void keys_of(const ccp_event_t *ev, evkeys_t *k) {
  k->event = ccp_u64map_key(ccp_hash64(ev->event_id.ptr, ev->event_id.len, SEED_EVENT));
  k->ticket = ccp_u64map_key(ccp_hash64(ev->ticket_id.ptr, ev->ticket_id.len, SEED_TICKET));
  k->cust = ccp_u64map_key(ccp_hash64(ev->customer_id.ptr, ev->customer_id.len, SEED_CUST));
  k->queue = scope_key(CCP_SC_QUEUE, ev->queue);
  k->agent = ev->agent_id.ptr ? scope_key(CCP_SC_AGENT, ev->agent_id) : 0;
  k->qhint = k->ahint = CCP_NIL;
}

/* scope_intern(), or the scope the batch's look-ahead found for the same
 * name (hint): a scope is the only one of its kind and name, and ids are
 * never reused, so a hint that names it is the id scope_intern() returns
 * (which then needs no probe of the scope index). */
static inline uint32_t scope_hinted(ccp_engine_t *e, uint8_t kind, ccp_str_t name, uint64_t k,
                                    uint32_t hint, int *over) {
  if (hint < e->nscopes && scope_is(e->scopes[hint], kind, name))
    return hint;
  return scope_intern(e, kind, name, k, over);
}

static void apply(ccp_engine_t *e, const ccp_event_t *ev, const evkeys_t *keys) {
  const ccp_config_t *cfg = e->cfg;
  int over = 0;
  uint32_t qid = scope_hinted(e, CCP_SC_QUEUE, ev->queue, keys->queue, keys->qhint, &over);
  uint32_t aid = ev->agent_id.ptr
                     ? scope_hinted(e, CCP_SC_AGENT, ev->agent_id, keys->agent, keys->ahint, &over)
                     : CCP_NIL;
  if (over)
    e->diag.overflow++; /* once per event, whether its queue, its agent or both overflowed */
  uint64_t tkey = keys->ticket;
  int created;
  uint32_t ti = ticket_get(e, tkey, &created);
  ccp_ticket_t *r = ccp_tickets_at(&e->tickets, ti);
  gsnap_t before = gnone;
  if (created) {
    r->flags = CCP_T_OPEN; /* opened before the stream began, unless OPENED */
    ccp_ticket_set_queue(r, qid);
    r->channel = ev->channel;
  } else {
    before = gsnap(r);
  }
  uint32_t attr_agent = aid != CCP_NIL ? aid : ccp_ticket_agent(r);
  int64_t ts = ev->ts;
  ccp_delta_t d;
  ccp_delta_init(&d);

  switch (ev->type) {
  case CCP_EV_OPENED:
    ccp_delta_add(&d, CCP_F_OPENED, 1);
    if (ev->category.ptr && ev->category.len == 9 && memcmp(ev->category.ptr, "complaint", 9) == 0)
      ccp_delta_add(&d, CCP_F_COMPLAINTS, 1);
    if (!(r->flags & CCP_T_OPEN)) { /* a new life of a closed ticket id */
      r->life++;
      r->flags = CCP_T_OPEN;
      r->replies = 0;
      ccp_ticket_set_open(r, CCP_NO_TS);
      forget_id(e, r);
    }
    if (r->open_ == CCP_T_NO_OPEN) {
      ccp_ticket_set_open(r, ts);
      int64_t thr = ccp_config_sla_ms(cfg, ev->queue.ptr, ev->queue.len, ev->channel);
      r->thr = thr_index(e, (uint32_t)CCP_MIN(thr, (int64_t)UINT32_MAX));
      if (r->replies == 0)
        remember_id(e, r, ev->ticket_id);
      arm_timers(e, ti, r);
    }
    break;
  case CCP_EV_AGENT_REPLY:
    if (r->replies == 0 && r->open_ != CCP_T_NO_OPEN) {
      int64_t frt = CCP_MAX(0, ts - ccp_ticket_open(r));
      ccp_delta_add(&d, CCP_F_FRT_N, 1);
      ccp_delta_add(&d, CCP_F_FRT_SUM, frt);
      if (frt <= (int64_t)e->thr_ms[r->thr])
        ccp_delta_add(&d, CCP_F_FRT_WITHIN, 1);
      d.frt_bin = ccp_sketch_bin(frt);
    }
    if (r->replies == 0)
      forget_id(e, r);
    if (r->replies < CCP_REPLIES_MAX)
      r->replies++;
    break;
  case CCP_EV_TRANSFERRED:
    r->flags |= CCP_T_TRANSFERRED;
    break;
  case CCP_EV_HANDLED: {
    int64_t h = opt0(ev->talk_ms) + opt0(ev->hold_ms) + opt0(ev->acw_ms);
    ccp_delta_add(&d, CCP_F_HANDLED, 1);
    ccp_delta_add(&d, CCP_F_AHT_SUM, h);
    ccp_delta_add(&d, CCP_F_HMS_PHONE + ev->channel, h);
    break;
  }
  case CCP_EV_RESOLVED:
    if (r->flags & CCP_T_OPEN) {
      ccp_delta_add(&d, CCP_F_RESOLVED, 1);
      if (r->open_ != CCP_T_NO_OPEN) {
        int64_t res = CCP_MAX(0, ts - ccp_ticket_open(r));
        ccp_delta_add(&d, CCP_F_RES_N, 1);
        ccp_delta_add(&d, CCP_F_RES_SUM, res);
        d.res_bin = ccp_sketch_bin(res);
      }
      if (!(r->flags & CCP_T_RESOLVED_ONCE)) {
        ccp_delta_add(&d, CCP_F_FCR_N, 1);
        if (r->replies <= 1 && !(r->flags & CCP_T_TRANSFERRED))
          ccp_delta_add(&d, CCP_F_FCR_OK, 1);
        r->flags |= CCP_T_RESOLVED_ONCE;
      }
      r->flags &= (uint16_t) ~(CCP_T_OPEN | CCP_T_AGED);
    }
    break;
  case CCP_EV_REOPENED:
    ccp_delta_add(&d, CCP_F_REOPENED, 1);
    if (!(r->flags & CCP_T_OPEN)) {
      r->flags |= CCP_T_OPEN;
      /* the age timer popped while it was closed, or is still pending */
      if (r->open_ != CCP_T_NO_OPEN && (r->flags & CCP_T_AGE_DONE))
        r->flags |= CCP_T_AGED;
    }
    break;
  case CCP_EV_ABANDONED:
    if ((r->flags & CCP_T_OPEN) && r->replies == 0) {
      ccp_delta_add(&d, CCP_F_ABANDONED, 1);
      if (r->open_ != CCP_T_NO_OPEN) {
        int64_t wait = CCP_MAX(0, ts - ccp_ticket_open(r));
        ccp_delta_add(&d, wait < cfg->short_abandon_ms ? CCP_F_AB_SHORT : CCP_F_AB_LONG, 1);
      }
    }
    r->flags &= (uint16_t) ~(CCP_T_OPEN | CCP_T_AGED);
    break;
  case CCP_EV_SURVEY:
    if (ev->csat != CCP_NULL_I32) {
      ccp_delta_add(&d, CCP_F_CSAT_N, 1);
      if (ev->csat >= 4)
        ccp_delta_add(&d, CCP_F_CSAT_SAT, 1);
    }
    if (ev->nps != CCP_NULL_I32) {
      ccp_delta_add(&d, CCP_F_NPS_N, 1);
      if (ev->nps >= 9)
        ccp_delta_add(&d, CCP_F_NPS_PRO, 1);
      else if (ev->nps <= 6)
        ccp_delta_add(&d, CCP_F_NPS_DET, 1);
    }
    if (ev->ces != CCP_NULL_I32) {
      ccp_delta_add(&d, CCP_F_CES_N, 1);
      ccp_delta_add(&d, CCP_F_CES_SUM, ev->ces);
    }
    break;
  case CCP_EV_QA_REVIEWED:
    ccp_delta_add(&d, CCP_F_QA_N, 1);
    ccp_delta_add(&d, CCP_F_QA_ERR, ev->qa_errors == CCP_NULL_I32 ? 0 : ev->qa_errors);
    break;
  default: /* ASSIGNED, CUSTOMER_REPLY: state only */
    break;
  }

  uint32_t ids[4] = {0, 1u + ev->channel, qid, attr_agent};
  if (d.nf)
    scopes_apply(e, ids, ts, &d);
  if (ev->type == CCP_EV_HANDLED)
    scopes_customer(e, ids, ts, keys->cust);

  ccp_ticket_set_queue(r, qid);
  r->channel = ev->channel;
  if (aid != CCP_NIL)
    ccp_ticket_set_agent(r, aid);
  gauges_move(e, ti, r, &before);
  ccp_tickets_touch(&e->tickets, ti, e->due_now); /* the TTL runs on the deadline time */

  customer_active(e, keys->cust, ts);
}

static ccp_verdict_t process(ccp_engine_t *e, const ccp_event_t *ev, const evkeys_t *keys) {
  e->diag.events++;
  if (!e->prechecked && invalid(ev)) {
    e->diag.invalid++;
    return CCP_INVALID;
  }
  if (e->ev_now != INT64_MIN && ev->ts < e->ev_now - e->cfg->lateness_ms) {
    e->diag.late++;
    return CCP_LATE;
  }
  uint64_t k = keys->event;
  uint64_t *v = NULL; /* the id's slot, taken already (dedup_room) */
  int dup;
  if (dedup_room(e)) { /* one probe finds the id or takes its slot */
    int isnew;
    v = ccp_u64map_put(&e->dedup, k, &isnew);
    dup = !isnew && e->ev_now != INT64_MIN && dedup_fresh(e, v);
  } else {
    dup = e->ev_now != INT64_MIN && dedup_seen(e, k);
  }
  if (dup) {
    e->diag.duplicate++;
    return CCP_DUPLICATE;
  }
  if (ev->ts > e->ev_now)
    e->ev_now = ev->ts;
  if (v)
    *v = (uint64_t)e->ev_now;
  else
    dedup_remember(e, k);
  advance_to(e, ev->ts); /* both times: this engine's own events move its deadlines */
  apply(e, ev, keys);
  ccp__engine_run_due(e); /* timers armed by this event and already due */
  return CCP_ACCEPTED;
}

ccp_verdict_t ccp_engine_process(ccp_engine_t *e, const ccp_event_t *ev) {
  evkeys_t k;
  keys_of(ev, &k);
  return process(e, ev, &k);
}

/* Look-ahead distances of a batch, in events: the index, duplicate-filter,
 * customer and scope-index slots of event i + AHEAD_SLOT are prefetched
 * while event i is applied (and, for a HANDLED, its slots in the
 * distinct-customer maps of its scopes), the ticket record and the queue and
 * agent scopes' places in the scope table of event i + AHEAD_REC (found
 * through their slots, by then in cache), the records of its LRU and
 * waiting-list neighbours at i + AHEAD_LINK (read from its record, by then
 * in cache) and the queue and agent scopes themselves at i + AHEAD_SCOPE.
 * Prefetches are hints: whatever the events in between change (tables
 * growing, tickets created or dropped, neighbours moving, scopes created),
 * the lookups themselves stay exact. */
enum { AHEAD_SLOT = 8, AHEAD_REC = 4, AHEAD_LINK = 2, AHEAD_SCOPE = 2 };

/* Scope id of (kind, name) if it exists, else CCP_NIL (creates nothing); k
 * is scope_key(kind, name). */
static uint32_t scope_find(const ccp_engine_t *e, uint8_t kind, ccp_str_t name, uint64_t k) {
  for (uint64_t seed = SEED_SCOPE + kind;; seed += 0x100) {
    if (seed != SEED_SCOPE + kind)
      k = ccp_u64map_key(ccp_hash64(name.ptr, name.len, seed));
    const uint64_t *v = ccp_u64map_get(&e->scope_index, k);
    if (!v)
      return CCP_NIL;
    if (scope_is(e->scopes[*v], kind, name))
      return (uint32_t)*v;
  }
}

static inline void prefetch_slots(const ccp_engine_t *e, const ccp_event_t *ev, const evkeys_t *k) {
  ccp_tickets_prefetch_slot(&e->tickets, k->ticket);
  ccp_u64map_prefetch(&e->dedup, k->event);
  ccp_u64map_prefetch(&e->acts, k->cust);
  ccp_u64map_prefetch(&e->scope_index, k->queue);
  if (k->agent)
    ccp_u64map_prefetch(&e->scope_index, k->agent);
  if (ev->type == CCP_EV_HANDLED && ev->channel < CCP_CH__COUNT) {
    uint32_t key = ccp_u32map_key(k->cust);
    uint32_t ids[4] = {0, 1u + ev->channel, scope_find(e, CCP_SC_QUEUE, ev->queue, k->queue),
                       ev->agent_id.ptr ? scope_find(e, CCP_SC_AGENT, ev->agent_id, k->agent)
                                        : CCP_NIL};
    for (int i = 0; i < 4; i++)
      if (ids[i] != CCP_NIL)
        ccp_u32map_prefetch(&e->scopes[ids[i]]->cust, key);
  }
}

/* The scope of scope_key k, when it exists and has that first key: its
 * place in the scope table is prefetched, and its id kept in *hint (for
 * prefetch_scope() and scope_hinted()). */
static inline void find_scope(const ccp_engine_t *e, uint64_t k, uint32_t *hint) {
  const uint64_t *v = k ? ccp_u64map_get(&e->scope_index, k) : NULL;
  if (!v || *v >= e->nscopes)
    return;
  *hint = (uint32_t)*v;
  ccp_prefetch(&e->scopes[*v]);
}

/* The first cache line and the name of the scope find_scope() found (what
 * scope_is() and the delta log read). */
static inline void prefetch_scope(const ccp_engine_t *e, uint32_t hint) {
  if (hint >= e->nscopes)
    return;
  const ccp_scope_t *s = e->scopes[hint];
  ccp_prefetch(s);
  ccp_prefetch(s->name);
}

void ccp_engine_process_batch(ccp_engine_t *e, const ccp_event_t *evs, size_t n,
                              ccp_verdict_t *verdicts) {
  evkeys_t k[CCP_ENGINE_BATCH];
  while (n > 0) {
    size_t m = n < CCP_ENGINE_BATCH ? n : CCP_ENGINE_BATCH;
    for (size_t i = 0; i < m; i++) {
      keys_of(&evs[i], &k[i]);
      if (i < AHEAD_SLOT)
        prefetch_slots(e, &evs[i], &k[i]);
    }
    for (size_t i = 0; i < m; i++) {
      if (i + AHEAD_SLOT < m)
        prefetch_slots(e, &evs[i + AHEAD_SLOT], &k[i + AHEAD_SLOT]);
      if (i + AHEAD_REC < m) {
        ccp_tickets_prefetch_rec(&e->tickets, k[i + AHEAD_REC].ticket);
        find_scope(e, k[i + AHEAD_REC].queue, &k[i + AHEAD_REC].qhint);
        find_scope(e, k[i + AHEAD_REC].agent, &k[i + AHEAD_REC].ahint);
      }
      if (i + AHEAD_LINK < m)
        ccp_tickets_prefetch_links(&e->tickets, k[i + AHEAD_LINK].ticket);
      if (i + AHEAD_SCOPE < m) {
        prefetch_scope(e, k[i + AHEAD_SCOPE].qhint);
        prefetch_scope(e, k[i + AHEAD_SCOPE].ahint);
      }
      ccp_verdict_t v = process(e, &evs[i], &k[i]);
      if (verdicts)
        verdicts[i] = v;
    }
    evs += m;
    n -= m;
    if (verdicts)
      verdicts += m;
  }
}

int ccp_event_batch_add(ccp_event_batch_t *b, const ccp_event_t *ev) {
  if (b->n == CCP_ENGINE_BATCH)
    return -1;
  size_t need = ev->event_id.len + ev->ticket_id.len + ev->queue.len + ev->agent_id.len +
                ev->customer_id.len + ev->category.len;
  if (need > sizeof b->arena - b->used)
    return -1;
  ccp_event_t *c = &b->ev[b->n++];
  *c = *ev;
  ccp_str_t *strs[] = {&c->event_id, &c->ticket_id,   &c->queue,
                       &c->agent_id, &c->customer_id, &c->category};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
    if (!strs[i]->ptr) /* null fields stay null */
      continue;
    char *dst = b->arena + b->used;
    if (strs[i]->len)
      memcpy(dst, strs[i]->ptr, strs[i]->len);
    strs[i]->ptr = dst;
    b->used += strs[i]->len;
  }
  return 0;
}

void ccp_engine_count_undecodable(ccp_engine_t *e) {
  e->diag.events++;
  e->diag.dead_letter++;
}

void ccp_engine_count_invalid(ccp_engine_t *e) {
  e->diag.events++;
  e->diag.invalid++;
}

void ccp_engine_set_prechecked(ccp_engine_t *e) { e->prechecked = 1; }

/* ------------------------------------------------------------- lifecycle */

ccp_engine_t *ccp__engine_alloc(const ccp_config_t *cfg, char *errbuf, size_t errlen) {
  for (int w = 0; w < cfg->nwindows; w++) {
    const ccp_window_conf_t *wc = &cfg->windows[w];
    if (wc->granularity_ms <= 0 ||
        (!wc->is_today && (wc->span_ms <= 0 || wc->span_ms % wc->granularity_ms))) {
      snprintf(errbuf, errlen,
               "config key 'windows': window '%s' needs a span that is a positive multiple of its "
               "granularity",
               wc->name);
      return NULL;
    }
    if (wc->is_today && 900000 % wc->granularity_ms != 0) {
      snprintf(errbuf, errlen,
               "config key 'windows': granularity of 'today' must divide 15m so local midnights "
               "fall on bucket edges");
      return NULL;
    }
  }
  /* local midnights use the process zone: set once before threads start */
  if (ccp_tz_check(cfg->timezone, errbuf, errlen) != 0)
    return NULL;
  int64_t thr[CCP_CONFIG_SLA_DISTINCT_MAX];
  int nthr = ccp_config_sla_distinct(cfg, thr);
  if (nthr < 0) {
    snprintf(errbuf, errlen, "config key 'sla.queue.*': more than %d distinct thresholds",
             CCP_CONFIG_SLA_DISTINCT_MAX);
    return NULL;
  }
  ccp_engine_t *e = ccp_calloc(1, sizeof *e);
  e->cfg = cfg;
  for (int i = 0; i < nthr; i++)
    e->thr_ms[i] = (uint32_t)CCP_MIN(thr[i], (int64_t)UINT32_MAX);
  e->nthr = nthr;
  e->now = e->due_now = e->ev_now = INT64_MIN;
  e->day_start = e->day_end = 0;
  ccp_tickets_init(&e->tickets);
  ccp_timers_init(&e->timers);
  ccp_u64map_init(&e->dedup);
  ccp_u64map_order_init(&e->dedup_order);
  e->dedup_sweep_at = dedup_sweep_floor(cfg);
  ccp_u64map_init(&e->scope_index);
  ccp_u64map_init(&e->combo_index);
  ccp_u64map_init(&e->acts);
  e->acts.dense = 1;       /* nearly every lookup is a returning customer */
  e->acts.fine = 1;        /* the largest map: load 3/5..3/4, not 3/8..3/4 */
  ccp_u64map_init(&e->rs); /* rs_valid 0: the first export builds the sample */
  ccp_u64map_init(&e->ids);
  ccp_strpool_init(&e->idpool);
  e->slot_ms = CCP_MAX(1, cfg->retention_period_ms / PERIOD_SLOTS);
  e->acts_gc_slot = INT64_MIN / 2;
  e->cust_cap_gc_at = INT64_MIN / 2;
  e->ret_c = INT64_MIN;
  ccp_wgeom_init(&e->geom, cfg);
  e->cust_unit = e->geom.unit; /* gcd of the granularities */
  for (int c = 0; c < CCP_CH__COUNT; c++)
    if (!isnan(cfg->cost_per_hour[c]))
      e->has_cost = 1;
  return e;
}

ccp_engine_t *ccp_engine_new(const ccp_config_t *cfg, char *errbuf, size_t errlen) {
  ccp_engine_t *e = ccp__engine_alloc(cfg, errbuf, errlen);
  if (!e)
    return NULL;
  scope_add(e, CCP_SC_ALL, "all", 3);
  for (int c = 0; c < CCP_CH__COUNT; c++) {
    const char *n = ccp_channel_name(c);
    ccp_str_t s = {n, strlen(n)};
    uint32_t id = scope_intern(e, CCP_SC_CHANNEL, s, scope_key(CCP_SC_CHANNEL, s), NULL);
    CCP_ASSERT(id == 1u + (uint32_t)c);
  }
  return e;
}

void ccp_engine_free(ccp_engine_t *e) {
  if (!e)
    return;
  for (uint32_t i = 0; i < e->nscopes; i++)
    scope_free(e, e->scopes[i]);
  ccp_free(e->scopes);
  ccp_free(e->combos);
  ccp_free(e->wsort);
  ccp_free(e->dirty);
  ccp_strpool_release(&e->idpool); /* every id string */
  ccp_u64map_release(&e->ids);
  ccp_u64map_release(&e->acts);
  ccp__export_release(e);
  ccp_u64map_release(&e->combo_index);
  ccp_u64map_release(&e->scope_index);
  ccp_u64map_release(&e->dedup);
  ccp_u64map_order_release(&e->dedup_order);
  ccp_timers_release(&e->timers);
  ccp_tickets_release(&e->tickets);
  ccp_free(e);
}

void ccp_engine_set_alert_cb(ccp_engine_t *e, ccp_alert_cb cb, void *opaque) {
  e->alert_cb = cb;
  e->alert_opaque = opaque;
}

int64_t ccp_engine_now(const ccp_engine_t *e) { return e->now; }

int64_t ccp_engine_due_now(const ccp_engine_t *e) { return e->due_now; }

/* Why nothing below it can fire (docs/checkpoints.md, "Alerts after a
 * restore"): a deadline armed later has at_ms >= its open ts, the ts of an
 * accepted OPENED, >= ev_now - lateness (ev_now never decreases); a stage
 * not yet fired is at or after the ticket's pending timer (push_next_stage
 * keeps the earliest stage not done), which is due after due_now >= ev_now,
 * since nothing due by due_now is ever pending between calls; a breach's
 * at_ms is its timer's fire_at - 1 >= due_now. */
int64_t ccp_engine_alert_floor(const ccp_engine_t *e) {
  if (e->ev_now == INT64_MIN)
    return INT64_MIN;
  return e->ev_now >= INT64_MIN + e->cfg->lateness_ms ? e->ev_now - e->cfg->lateness_ms : INT64_MIN;
}

int64_t ccp_engine_ticket_count(const ccp_engine_t *e) { return (int64_t)e->tickets.count; }

int64_t ccp_engine_open_count(const ccp_engine_t *e) { return e->scopes[0]->g_open; }

int64_t ccp_engine_evicted(const ccp_engine_t *e) { return e->diag.evicted; }

int64_t ccp_engine_dedup_refused(const ccp_engine_t *e) { return e->diag.dedup_full; }
