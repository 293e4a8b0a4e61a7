/*
 * src/state/tickets.[ch]: the ticket table (chunked records, an index with
 * backward-shift deletion, the LRU list in touch order).
 *
 * The table gives the engine O(1) TTL expiry and cap eviction through its
 * LRU list: the head is the least recently touched ticket, touch moves a
 * ticket to the tail. The policies themselves (forget when now - touch >
 * tickets.ttl; evict the head when a new ticket would pass tickets.max) live
 * in src/engine/engine.c, so they are tested here through the engine's
 * public API (the smallest surface that owns them), with several tickets
 * whose touch order differs from their creation order.
 *
 * Table level: create/find/remove, fresh record fields, life bumps on reuse,
 * LRU order and links (both directions), removal at head/middle/tail, the
 * packed fields of the 48-byte record over their whole range,
 * records that never move across chunk and index growth, and a randomized
 * sequence (fixed seed, colliding keys) against a reference, including the
 * engine's two uses of the head: expire while touch < cutoff, evict at a cap.
 */
#include "engine_testutil.h"
#include "state/tickets.h"
#include "util/ser.h"

#define MIN 60000LL
#define T0 1795000000000LL

/* Walks the LRU list both ways: returns the number of records from head to
 * tail (writing them to out when not NULL), or -1 when the links disagree. */
static long lru_walk(const ccp_tickets_t *t, uint32_t *out, size_t max) {
  long n = 0;
  uint32_t prev = CCP_NIL;
  for (uint32_t i = t->lru_head; i != CCP_NIL; i = ccp_tickets_at(t, i)->lru_next) {
    const ccp_ticket_t *r = ccp_tickets_at(t, i);
    if (r->lru_prev != prev || !r->key || (size_t)n > max + 1)
      return -1;
    if (out && (size_t)n < max)
      out[n] = i;
    n++;
    prev = i;
  }
  if (t->lru_tail != prev)
    return -1;
  return n;
}

/* LRU order is touch order: touch never decreases from head to tail. */
static int lru_sorted_by_touch(const ccp_tickets_t *t) {
  int64_t last = INT64_MIN;
  for (uint32_t i = t->lru_head; i != CCP_NIL; i = ccp_tickets_at(t, i)->lru_next) {
    if (ccp_tickets_at(t, i)->touch < last)
      return 0;
    last = ccp_tickets_at(t, i)->touch;
  }
  return 1;
}

static void test_empty(void) {
  ccp_tickets_t t;
  ccp_tickets_init(&t);
  T_EQ_INT(ccp_tickets_find(&t, 42), CCP_NIL);
  T_EQ_INT(t.lru_head, CCP_NIL);
  T_EQ_INT(t.lru_tail, CCP_NIL);
  T_EQ_INT(t.count, 0);
  T_EQ_INT(ccp_tickets_bytes(&t), 0);
  T_EQ_INT(lru_walk(&t, NULL, 0), 0);
  ccp_tickets_release(&t);
  ccp_tickets_release(&t); /* twice is harmless */
}

static void test_create_find_fields(void) {
  ccp_tickets_t t;
  ccp_tickets_init(&t);
  uint32_t a = ccp_tickets_create(&t, 100);
  uint32_t b = ccp_tickets_create(&t, 200);
  T_EQ_INT(a, 0);
  T_EQ_INT(b, 1);
  T_EQ_INT(t.count, 2);
  T_EQ_INT(ccp_tickets_find(&t, 100), a);
  T_EQ_INT(ccp_tickets_find(&t, 200), b);
  T_EQ_INT(ccp_tickets_find(&t, 300), CCP_NIL);
  const ccp_ticket_t *r = ccp_tickets_at(&t, a);
  T_EQ_U64(r->key, 100);
  T_EQ_INT(ccp_ticket_open(r), CCP_NO_TS);
  T_EQ_INT(ccp_ticket_agent(r), CCP_NIL);
  T_EQ_INT(r->w_prev, CCP_NIL);
  T_EQ_INT(r->w_next, CCP_NIL);
  T_EQ_INT(r->flags, 0);
  T_EQ_INT(r->replies, 0);
  T_EQ_INT(r->touch, 0);
  T_EQ_INT(r->life, 1); /* a fresh slot starts at life 1 */
  /* created at the tail: creation order until touched */
  T_EQ_INT(t.lru_head, a);
  T_EQ_INT(t.lru_tail, b);
  T_TRUE(ccp_tickets_bytes(&t) >= CCP_TCHUNK * sizeof(ccp_ticket_t));

  /* removal frees the record; the next create reuses it with life + 1 and
   * fields reset, so stale timers of the old owner no longer match */
  ccp_ticket_t *ra = ccp_tickets_at(&t, a);
  ra->flags = CCP_T_OPEN | CCP_T_BREACHED;
  ccp_ticket_set_open(ra, T0);
  ccp_ticket_set_agent(ra, 7);
  ra->replies = 2;
  ccp_tickets_remove(&t, a);
  T_EQ_INT(t.count, 1);
  T_EQ_INT(ccp_tickets_find(&t, 100), CCP_NIL);
  T_EQ_INT(t.lru_head, b);
  T_EQ_INT(t.lru_tail, b);
  uint32_t c = ccp_tickets_create(&t, 300);
  T_EQ_INT(c, a); /* the freed record */
  r = ccp_tickets_at(&t, c);
  T_EQ_INT(r->life, 2);
  T_EQ_U64(r->key, 300);
  T_EQ_INT(r->flags, 0);
  T_EQ_INT(ccp_ticket_open(r), CCP_NO_TS);
  T_EQ_INT(ccp_ticket_agent(r), CCP_NIL);
  T_EQ_INT(r->replies, 0);
  T_EQ_INT(t.lru_tail, c); /* a new ticket is the most recent */
  T_EQ_INT(t.lru_head, b);
  /* the life counter wraps without trouble (uint16) */
  for (int i = 0; i < 70000; i++) {
    ccp_tickets_remove(&t, c);
    c = ccp_tickets_create(&t, 300);
  }
  T_EQ_INT(ccp_tickets_at(&t, c)->life, (uint16_t)(2 + 70000));
  ccp_tickets_release(&t);
}

static void test_touch_order(void) {
  ccp_tickets_t t;
  ccp_tickets_init(&t);
  uint32_t id[5];
  for (int i = 0; i < 5; i++) {
    id[i] = ccp_tickets_create(&t, 1000 + (uint64_t)i);
    ccp_tickets_touch(&t, id[i], T0 + i);
  }
  uint32_t got[8];
  T_EQ_INT(lru_walk(&t, got, 8), 5);
  for (int i = 0; i < 5; i++)
    T_EQ_INT(got[i], id[i]);
  /* touch the head: it moves to the tail */
  ccp_tickets_touch(&t, id[0], T0 + 10);
  /* touch a middle one */
  ccp_tickets_touch(&t, id[2], T0 + 11);
  /* touch the tail: it stays, its time changes */
  ccp_tickets_touch(&t, id[2], T0 + 12);
  T_EQ_INT(ccp_tickets_at(&t, id[2])->touch, T0 + 12);
  static const int want[] = {1, 3, 4, 0, 2};
  T_EQ_INT(lru_walk(&t, got, 8), 5);
  for (int i = 0; i < 5; i++)
    T_EQ_INT(got[i], id[want[i]]);
  T_TRUE(lru_sorted_by_touch(&t));
  /* removal at head, middle and tail keeps the links */
  ccp_tickets_remove(&t, id[1]); /* head */
  ccp_tickets_remove(&t, id[4]); /* middle */
  ccp_tickets_remove(&t, id[2]); /* tail */
  T_EQ_INT(lru_walk(&t, got, 8), 2);
  T_EQ_INT(got[0], id[3]);
  T_EQ_INT(got[1], id[0]);
  T_EQ_INT(t.lru_head, id[3]);
  T_EQ_INT(t.lru_tail, id[0]);
  ccp_tickets_remove(&t, id[0]);
  ccp_tickets_remove(&t, id[3]);
  T_EQ_INT(lru_walk(&t, NULL, 0), 0);
  T_EQ_INT(t.lru_head, CCP_NIL);
  T_EQ_INT(t.lru_tail, CCP_NIL);
  T_EQ_INT(t.count, 0);
  ccp_tickets_release(&t);
}

/* Index slot of key's record in t, or -1. */
static long index_slot(const ccp_tickets_t *t, uint64_t key) {
  for (size_t i = 0; i < t->index_cap; i++)
    if (t->index[i] && ccp_tickets_at(t, ccp_tickets_slot_rec(t, i))->key == key)
      return (long)i;
  return -1;
}

/* Index deletes shift entries back across the end of the index: a run of
 * keys whose homes are the last two slots and slot 0 (homes found by
 * experiment: the slot a key takes in an empty index), each deleted in turn
 * from a fresh table; every other key must still be found. */
static void test_index_wrap(void) {
  static const long homes[] = {1022, 1023, 1023, 1022, 0, 1023, 0, 1};
  enum { N = sizeof homes / sizeof homes[0] };
  uint64_t keys[N];
  int n = 0;
  ccp_tickets_t probe; /* holds one key at a time: it sits at its home */
  ccp_tickets_init(&probe);
  for (uint64_t j = 1; j < 200000 && n < N; j++) {
    uint64_t k = j * 0x9e3779b97f4a7c15ULL; /* distinct, spread over the home slots */
    uint32_t r = ccp_tickets_create(&probe, k);
    long h = probe.index_cap == 1024 ? index_slot(&probe, k) : -1;
    ccp_tickets_remove(&probe, r);
    int used = 0;
    for (int i = 0; i < n; i++)
      used += keys[i] == k;
    if (!used && h == homes[n])
      keys[n++] = k;
  }
  if (n < N) {
    T_FAIL_("no key with home %ld", homes[n]);
    ccp_tickets_release(&probe);
    return;
  }
  ccp_tickets_release(&probe);
  for (int d = 0; d < N; d++) {
    ccp_tickets_t t;
    ccp_tickets_init(&t);
    uint32_t rec[N];
    for (int i = 0; i < N; i++)
      rec[i] = ccp_tickets_create(&t, keys[i]);
    T_EQ_INT(index_slot(&t, keys[N - 1]), 5); /* the run wraps: 1022, 1023, 0..5 */
    ccp_tickets_remove(&t, rec[d]);
    for (int i = 0; i < N; i++)
      if (ccp_tickets_find(&t, keys[i]) != (i == d ? CCP_NIL : rec[i]))
        T_FAIL_("after removing key #%d: key #%d %s", d, i, i == d ? "still found" : "lost");
    ccp_tickets_release(&t);
  }
}

/* The packed fields keep what they are given over their whole range: open
 * times of accepted events and "unknown", scope ids up to the 24-bit bound
 * and "no agent", every threshold index; neighbours are untouched. */
static void test_packed_fields(void) {
  ccp_tickets_t t;
  ccp_tickets_init(&t);
  ccp_ticket_t *r = ccp_tickets_at(&t, ccp_tickets_create(&t, 42));
  r->flags = CCP_T_OPEN | CCP_T_RECENT;
  r->channel = 3;
  r->replies = CCP_REPLIES_MAX;
  uint16_t life = (uint16_t)r->life;
  const int64_t ts[] = {CCP_EVENT_TS_MIN, CCP_EVENT_TS_MIN + 1, T0, CCP_EVENT_TS_MAX, CCP_NO_TS};
  for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
    ccp_ticket_set_open(r, ts[k]);
    T_EQ_INT(ccp_ticket_open(r), ts[k]);
  }
  const uint32_t ids[] = {0, 1, 4, 65536, CCP_T_NO_SCOPE - 1};
  for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
    ccp_ticket_set_queue(r, ids[k]);
    ccp_ticket_set_agent(r, ids[k]);
    T_EQ_INT(ccp_ticket_queue(r), ids[k]);
    T_EQ_INT(ccp_ticket_agent(r), ids[k]);
  }
  ccp_ticket_set_agent(r, CCP_NIL);
  T_EQ_INT(ccp_ticket_agent(r), CCP_NIL);
  T_EQ_INT(ccp_ticket_queue(r), CCP_T_NO_SCOPE - 1);
  for (int k = 0; k < CCP_TICKET_THRESHOLDS; k++) {
    r->thr = (uint8_t)k;
    T_EQ_INT(r->thr, k);
  }
  T_EQ_INT(r->flags, CCP_T_OPEN | CCP_T_RECENT);
  T_EQ_INT(r->channel, 3);
  T_EQ_INT(r->replies, CCP_REPLIES_MAX);
  T_EQ_INT(r->life, life);
  T_EQ_INT(r->key, 42);
  T_EQ_INT(sizeof(ccp_ticket_t), 48);
  ccp_tickets_release(&t);
}

/* More than one chunk of records and several index growths: record numbers
 * and addresses never change. */
static void test_growth_keeps_records(void) {
  enum { N = CCP_TCHUNK + 5000 };
  ccp_tickets_t t;
  ccp_tickets_init(&t);
  uint32_t first = ccp_tickets_create(&t, 1);
  ccp_ticket_t *addr = ccp_tickets_at(&t, first);
  ccp_ticket_set_open(addr, CCP_EVENT_TS_MIN + 1234);
  for (uint64_t k = 2; k <= N; k++) {
    uint32_t i = ccp_tickets_create(&t, k * 0x9e3779b97f4a7c15ULL);
    ccp_ticket_set_open(ccp_tickets_at(&t, i), CCP_EVENT_TS_MIN + (int64_t)k);
  }
  T_EQ_INT(t.nchunks, 2);
  T_EQ_INT(t.count, N);
  T_TRUE(ccp_tickets_at(&t, first) == addr);
  T_EQ_INT(ccp_ticket_open(addr), CCP_EVENT_TS_MIN + 1234);
  T_LE_INT(t.count * 4, t.index_cap * 3); /* index load <= 3/4 */
  int bad = 0;
  for (uint64_t k = 2; k <= N; k++) {
    uint32_t i = ccp_tickets_find(&t, k * 0x9e3779b97f4a7c15ULL);
    bad += i == CCP_NIL || ccp_ticket_open(ccp_tickets_at(&t, i)) != CCP_EVENT_TS_MIN + (int64_t)k;
  }
  T_EQ_INT(bad, 0);
  T_EQ_INT(lru_walk(&t, NULL, N), N);
  T_TRUE(ccp_tickets_bytes(&t) >= 2 * CCP_TCHUNK * sizeof(ccp_ticket_t) + t.index_cap * 4);
  ccp_tickets_release(&t);
}

/* The index grows by 1/4 (load 3/5..3/4 after the first growths), and a
 * load sizes it as the table grew: the same capacity, every key found. A
 * table saved with the larger index bits of a doubling index (older
 * builds) loads the same. */
static void test_index_growth_and_load(void) {
  enum { N = 50000 };
  ccp_tickets_t t;
  ccp_tickets_init(&t);
  size_t caps = 0, last = 0;
  for (uint64_t k = 1; k <= N; k++) {
    ccp_tickets_create(&t, k * 0x9e3779b97f4a7c15ULL);
    if (t.index_cap != last) {
      T_TRUE(last == 0 || t.index_cap == last + last / 4);
      last = t.index_cap;
      caps++;
    }
  }
  T_TRUE(caps > 10);
  T_LE_INT(t.count * 4, t.index_cap * 3);
  T_TRUE(t.count * 5 > t.index_cap * 3); /* no more than 1/4 above what 3/4 needs */
  for (uint64_t k = 1; k <= N; k += 7)   /* some freed records: used stays */
    ccp_tickets_remove(&t, ccp_tickets_find(&t, k * 0x9e3779b97f4a7c15ULL));
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_tickets_save(&t, &b);
  for (int variant = 0; variant < 2; variant++) {
    if (variant == 1) { /* the index bits of a doubling index: 2^17 slots for 50,000 */
      uint32_t bits = 17;
      memcpy((char *)b.data + 8, &bits, 4);
    }
    ccp_ser_rd_t r;
    ccp_ser_rd_init(&r, b.data, b.len);
    ccp_tickets_t u;
    ccp_tickets_init(&u);
    T_EQ_INT(ccp_tickets_load(&u, &r), 0);
    T_EQ_INT(u.index_cap, t.index_cap);
    T_EQ_INT(u.count, t.count);
    int bad = 0;
    for (uint64_t k = 1; k <= N; k++) {
      uint32_t i = ccp_tickets_find(&u, k * 0x9e3779b97f4a7c15ULL);
      bad += (k % 7 == 1) ? i != CCP_NIL : i != ccp_tickets_find(&t, k * 0x9e3779b97f4a7c15ULL);
    }
    T_EQ_INT(bad, 0);
    ccp_tickets_release(&u);
  }
  ccp_buf_release(&b);
  ccp_tickets_release(&t);
}

/* Randomized: create / touch / remove / expire-from-head / evict-at-cap,
 * against a reference list of live keys in touch order. Half the keys collide
 * in the index (keys whose low 32 bits are just below 2^32 and share a tag:
 * homes in the last four slots of a 1024-slot index, so index deletes shift
 * entries back across the end). */
static void test_randomized(void) {
  enum { U = 4000, OPS = 150000, CAP = 800 };
  static uint64_t key[U];
  static uint32_t rec[U];
  static int live[U];
  static int64_t touch[U];
  static uint64_t seq[U]; /* order of the last touch */
  static int order[U];
  uint64_t rng = 4242, clock = 0;
  for (int i = 0; i < U; i++) {
    key[i] = i % 2 ? (uint64_t)i << 32 | (UINT32_MAX - (uint32_t)(i % 4) * (1u << 22))
                   : t_rand(&rng) | 1;
    live[i] = 0;
  }
  ccp_tickets_t t;
  ccp_tickets_init(&t);
  int64_t now = T0;
  size_t count = 0;
  long errors = 0, expired = 0, evicted = 0;
  for (int op = 0; op < OPS && errors < 10; op++) {
    now += (int64_t)t_rand_below(&rng, 3); /* stream time never goes back */
    int i = (int)t_rand_below(&rng, U);
    uint64_t r = t_rand_below(&rng, 100);
    if (r < 40) { /* event of ticket i: create if absent (evicting at the cap), touch */
      uint32_t f = ccp_tickets_find(&t, key[i]);
      if ((f != CCP_NIL) != live[i]) {
        fprintf(stderr, "op %d: find of key #%d: %u, live %d\n", op, i, f, live[i]);
        errors++;
      }
      if (!live[i]) {
        while (count >= CAP) { /* the engine's cap: evict the head */
          uint32_t h = t.lru_head;
          int oldest = -1;
          for (int k = 0; k < U; k++)
            if (live[k] && (oldest < 0 || seq[k] < seq[oldest]))
              oldest = k;
          if (ccp_tickets_at(&t, h)->key != key[oldest]) {
            fprintf(stderr, "op %d: head is not the least recently touched\n", op);
            errors++;
          }
          ccp_tickets_remove(&t, h);
          live[oldest] = 0;
          count--;
          evicted++;
        }
        rec[i] = ccp_tickets_create(&t, key[i]);
        live[i] = 1;
        count++;
      }
      ccp_tickets_touch(&t, rec[i], now);
      touch[i] = now;
      seq[i] = ++clock;
    } else if (r < 55) { /* resolved and forgotten: remove */
      if (live[i]) {
        ccp_tickets_remove(&t, rec[i]);
        live[i] = 0;
        count--;
      }
    } else if (r < 57) { /* the engine's TTL: expire from the head while touch < cutoff */
      int64_t cutoff = now - 2000 - (int64_t)t_rand_below(&rng, 6000);
      size_t want = 0;
      for (int k = 0; k < U; k++)
        want += live[k] && touch[k] < cutoff;
      size_t got = 0;
      while (t.lru_head != CCP_NIL && ccp_tickets_at(&t, t.lru_head)->touch < cutoff) {
        uint64_t hk = ccp_tickets_at(&t, t.lru_head)->key;
        ccp_tickets_remove(&t, t.lru_head);
        got++;
        for (int k = 0; k < U; k++)
          if (live[k] && key[k] == hk) {
            if (touch[k] >= cutoff)
              errors++;
            live[k] = 0;
          }
      }
      count -= got;
      expired += (long)got;
      if (got != want) {
        fprintf(stderr, "op %d: expired %zu, expected %zu\n", op, got, want);
        errors++;
      }
    } else { /* lookups */
      uint32_t f = ccp_tickets_find(&t, key[i]);
      if (live[i] ? f != rec[i] : f != CCP_NIL) {
        fprintf(stderr, "op %d: find of key #%d wrong (live %d)\n", op, i, live[i]);
        errors++;
      }
    }
    if (t.count != count) {
      fprintf(stderr, "op %d: count %zu, expected %zu\n", op, t.count, count);
      errors++;
    }
    if (op % 2000 == 0) { /* the whole LRU list against the reference order */
      int n = 0;
      for (int k = 0; k < U; k++)
        if (live[k])
          order[n++] = k;
      for (int a = 1; a < n; a++) /* insertion sort by seq */
        for (int b = a; b > 0 && seq[order[b - 1]] > seq[order[b]]; b--) {
          int tmp = order[b];
          order[b] = order[b - 1];
          order[b - 1] = tmp;
        }
      static uint32_t walk[U];
      long w = lru_walk(&t, walk, U);
      int same = w == n;
      for (int k = 0; same && k < n; k++)
        same = walk[k] == rec[order[k]];
      if (!same || !lru_sorted_by_touch(&t)) {
        fprintf(stderr, "op %d: LRU list differs from touch order (%ld vs %d)\n", op, w, n);
        errors++;
      }
    }
  }
  T_EQ_INT(errors, 0);
  T_TRUE(expired > 100); /* both paths really ran */
  T_TRUE(evicted > 100);
  int wrong = 0;
  for (int k = 0; k < U; k++) {
    uint32_t f = ccp_tickets_find(&t, key[k]);
    wrong += live[k] ? f != rec[k] : f != CCP_NIL;
  }
  T_EQ_INT(wrong, 0);
  ccp_tickets_release(&t);
}

/* ---- the engine's policies over the table ----------------------------- */

/* One OPENED per ticket, in a queue of its own name, so the gauges tell
 * which tickets are still held. */
static void open_in_own_queue(const char *ticket, int64_t ts) {
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_OPENED, ts, ticket);
  ev->queue = S(ticket);
  ccp_engine_process(eng, ev);
}

static void customer_reply(const char *ticket, int64_t ts) {
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_CUSTOMER_REPLY, ts, ticket);
  ev->queue = S(ticket);
  ccp_engine_process(eng, ev);
}

/* 1 when ticket's own queue still shows it open. */
static int held(json_t *j, const char *ticket) {
  char scope[64];
  snprintf(scope, sizeof scope, "queue:%s", ticket);
  double v = gauge(j, scope, "open");
  return !isnan(v) && v == 1;
}

/* Checks exactly the tickets listed in `want` (a string of letters) are held. */
static void check_held(const char *all, const char *want, int line) {
  json_t *j = snap();
  for (const char *p = all; *p; p++) {
    char id[2] = {*p, 0};
    int h = held(j, id), w = strchr(want, *p) != NULL;
    if (h != w)
      T_FAIL_("line %d: ticket %s %s", line, id, w ? "was forgotten" : "is still held");
  }
  T_EQ_INT(ccp_engine_ticket_count(eng), (int64_t)strlen(want));
  json_decref(j);
}

/* Checks diagnostics.evicted_tickets and expired_tickets. */
static void check_forgotten(int64_t evicted, int64_t expired) {
  json_t *j = snap();
  T_EQ_INT(diag(j, "evicted_tickets"), evicted);
  T_EQ_INT(diag(j, "expired_tickets"), expired);
  json_decref(j);
}

/* tickets.max = 4: eviction takes the least recently touched ticket, which
 * is not the oldest one once touches reorder them. */
static void test_engine_cap_evicts_lru(void) {
  const char *kv[] = {"tickets.max", "4", NULL};
  setup_with(kv);
  open_in_own_queue("a", T0);
  open_in_own_queue("b", T0 + 1);
  open_in_own_queue("c", T0 + 2);
  open_in_own_queue("d", T0 + 3);
  customer_reply("b", T0 + 4); /* touch order now: a c d b */
  customer_reply("a", T0 + 5); /* c d b a */
  check_held("abcdefg", "abcd", __LINE__);
  open_in_own_queue("e", T0 + 6); /* evicts c */
  check_held("abcdefg", "abde", __LINE__);
  customer_reply("d", T0 + 7);    /* b a e d */
  open_in_own_queue("f", T0 + 8); /* evicts b */
  check_held("abcdefg", "adef", __LINE__);
  open_in_own_queue("g", T0 + 9); /* evicts a */
  check_held("abcdefg", "defg", __LINE__);
  check_forgotten(3, 0);
  teardown();
}

/* tickets.ttl = 1h: a ticket is forgotten when now - touch > ttl, in touch
 * order, whether time moves by events or by ccp_engine_advance. */
static void test_engine_ttl_in_touch_order(void) {
  const char *kv[] = {"tickets.ttl", "1h", NULL};
  setup_with(kv);
  open_in_own_queue("a", T0);
  open_in_own_queue("b", T0 + 10 * MIN);
  open_in_own_queue("c", T0 + 20 * MIN);
  customer_reply("a", T0 + 30 * MIN);     /* touch order: b c a */
  ccp_engine_advance(eng, T0 + 70 * MIN); /* b: now - touch == ttl: kept */
  check_held("abc", "abc", __LINE__);
  ccp_engine_advance(eng, T0 + 70 * MIN + 1); /* b: just past */
  check_held("abc", "ac", __LINE__);
  ccp_engine_advance(eng, T0 + 90 * MIN); /* c went at 80 min + 1; a is at exactly ttl */
  check_held("abc", "a", __LINE__);
  /* a touch by an event keeps it, and expiry also runs on events */
  customer_reply("a", T0 + 90 * MIN);
  open_in_own_queue("d", T0 + 150 * MIN); /* a touched at 90 min: 60 min ago, kept */
  check_held("abcd", "ad", __LINE__);
  open_in_own_queue("e", T0 + 150 * MIN + 1);
  check_held("abcde", "de", __LINE__);
  check_forgotten(0, 3);
  teardown();
}

int main(void) {
  T_RUN(test_empty);
  T_RUN(test_create_find_fields);
  T_RUN(test_touch_order);
  T_RUN(test_index_wrap);
  T_RUN(test_packed_fields);
  T_RUN(test_growth_keeps_records);
  T_RUN(test_index_growth_and_load);
  T_RUN(test_randomized);
  T_RUN(test_engine_cap_evicts_lru);
  T_RUN(test_engine_ttl_in_touch_order);
  return T_DONE();
}
