/*
 * Reading an engine out: the partial aggregate of one engine (its scopes'
 * gauges, window counters and histograms, retention counts, diagnostics) and
 * the snapshot document of one engine.
 *
 * The only code besides engine.c that reads engine internals (engine_int.h);
 * what it produces is the value type of src/counters/partial.h, which the
 * view merges without knowing the engine. The snapshot of one engine is that
 * partial merged into a view of its own (include/ccpulse/view.h), so replay,
 * the live publisher and the tests write the document by one code path.
 *
 * Publishing follows change: an export records in the engine what its
 * contents depended on besides the time header (ccp__export_key_t: events
 * counted, the earliest pending timer or expiry, the buckets, the retention
 * slot). ccp_engine_export_unchanged() moves the view time and compares: no
 * event since, nothing due by the deadline time now (a timer or expiry that
 * a ccp_engine_advance() fired since), the same buckets and slot mean the
 * same scopes, windows, gauges, retention counts, diagnostics and tickets,
 * so the live worker hands the publisher its last partial again
 * with a fresh header (ccp_engine_export_header()) instead of exporting.
 * The check is conservative: a bucket edge counts as a change, whether or
 * not a bucket with data leaves a window, unless every scope's windows were
 * all zero and no scope carried customer entries (an idle center whose data
 * has aged out: zero windows stay zero, so nothing is exported again).
 *
 * Per scope the same (ccp_engine_export_next(), given the caller's previous
 * export): a scope's windows and name are one block (ccp_words_t, shared by
 * reference), and a scope whose windows cannot have changed since that
 * export hands its block again instead of reading its windows and
 * histograms out. Changed are the scopes in the dirty list (deltas since;
 * taken before the flush empties it) and, when a window edge moved, every
 * scope whose windows held data. The engine keeps only the index of each scope's entry in its last
 * export (x_at), not the block: the caller's reference keeps it alive, so
 * the cache costs no memory when nobody exports again (replay, tests).
 *
 * Customers across partitions (docs/semantics.md §11): besides its counts
 * a partial carries, per scope, the entries of its distinct-customer map
 * that can still count in a window (32-bit hash and latest HANDLED unit,
 * those at or after the earliest window edge, sorted by hash), and the
 * retention sample: the activity bits of the customers whose 64-bit hash is
 * at most CCP_RS_MAX(L), L the smallest that keeps the sample within
 * CCP_RS_CAP (0, every customer, while that fits). The view unites them
 * over partitions. Both are ccp_words_t blocks cached in the engine and
 * handed again while still right, and otherwise rebuilt from the changes:
 * the engine notes each customer key it sets in a scope's map while that
 * scope's entries are cached (ccp__cust_note()), and each sampled customer
 * whose activity changed (ccp__rs_note()); the next export sorts the few
 * keys noted and merges their current entries into a copy of the cached
 * block (merge_block(): one walk copying the unchanged runs) instead of
 * reading the whole map out and sorting it again. Exact because nothing
 * else changes those entries: a customer's latest unit only moves up, and
 * within one slot activity bits only grow. The block is read out of the
 * map afresh when there is none, when the horizon passed its oldest entry
 * or a sweep dropped entries (engine.c drops cust_x), when more keys were
 * noted than half the block, and for the sample when the slot or L changed
 * or a noted customer has no activity at the slot. The sample itself
 * (e->rs) is kept by customer_active() through ccp__rs_note() and rebuilt
 * here from acts after a sweep or a load.
 * ccp_engine_snapshot_json() (one engine, no merge) carries neither.
 *
 * An export moves only the view time (windows slide, gauges are taken at
 * the export's `now`); deadlines and TTL follow the deadline time, which
 * only events and ccp_engine_advance() move (engine.c, docs/kpis.md §2).
 *
 * Threads: the engine's thread (export moves the view time). The partial is
 * immutable afterwards and belongs to the caller.
 */
#include <string.h>

#include "ccpulse/view.h"
#include "engine/engine_int.h"
#include "util/sort.h"

int64_t ccp__engine_next_due(const ccp_engine_t *e) {
  const ccp_timer_t *top = ccp_timers_top(&e->timers);
  int64_t due = top ? top->fire_at : INT64_MAX;
  uint32_t head = e->tickets.lru_head;
  if (head != CCP_NIL) {
    int64_t touch = ccp_tickets_at(&e->tickets, head)->touch;
    if (touch <= INT64_MAX - e->cfg->ticket_ttl_ms - 1)
      due = CCP_MIN(due, touch + e->cfg->ticket_ttl_ms + 1);
  }
  return due;
}

static int64_t ret_slot(const ccp_engine_t *e) {
  return e->now == INT64_MIN ? INT64_MIN : ccp_floordiv(e->now, e->slot_ms);
}

/* Moves the view time as an export does (no deadline fires). */
static void export_advance(ccp_engine_t *e, int64_t now_ms) {
  if (now_ms != INT64_MIN || e->now != INT64_MIN)
    ccp__engine_view_to(e, CCP_MAX(now_ms, e->now));
}

/* Whether a window edge (or the base unit) moved since the last export. */
static int edges_moved(const ccp_engine_t *e) {
  const ccp__export_key_t *k = &e->last_export;
  size_t nw = (size_t)e->cfg->nwindows;
  return !k->valid || e->geom.hi != k->hi ||
         memcmp(e->cur_b, k->cur_b, nw * sizeof *k->cur_b) != 0 ||
         memcmp(e->start_b, k->start_b, nw * sizeof *k->start_b) != 0;
}

int ccp_engine_export_unchanged(ccp_engine_t *e, int64_t now_ms) {
  ccp__export_key_t *k = &e->last_export;
  if (!k->valid || e->diag.events != k->events)
    return 0; /* events since: the engine moved on its own */
  if (k->due <= e->due_now)
    return 0; /* a timer or expiry fired since: the deadline time passed it */
  export_advance(e, now_ms);
  if (ret_slot(e) != k->slot)
    return 0;
  if (!edges_moved(e)) {
    ccp_words_pool_trim(e->xpool); /* no blocks taken while nothing changes */
    return 1;
  }
  /* an edge moved: nothing changes when no scope's windows held data and
   * no scope carried customer entries (the windows stay all zero) */
  for (uint32_t i = 0; i < e->nscopes; i++) {
    const ccp_scope_t *s = e->scopes[i];
    if (!s->x_at || s->x_wdata || (s->cust_x && s->cust_x->n))
      return 0;
  }
  if (e->now != INT64_MIN) /* the windows follow the edges, as an export moves them */
    for (uint32_t i = 0; i < e->nscopes; i++)
      ccp__scope_advance(e, e->scopes[i]);
  k->hi = e->geom.hi;
  memcpy(k->cur_b, e->cur_b, sizeof k->cur_b);
  memcpy(k->start_b, e->start_b, sizeof k->start_b);
  ccp_words_pool_trim(e->xpool);
  return 1;
}

ccp_partial_t *ccp_engine_export_header(const ccp_engine_t *e) {
  ccp_partial_t *p = ccp_calloc(1, sizeof *p);
  p->now = e->now;
  p->rs_c = INT64_MIN;
  p->nwindows = e->cfg->nwindows;
  memcpy(p->cur_b, e->cur_b, sizeof p->cur_b);
  memcpy(p->start_b, e->start_b, sizeof p->start_b);
  return p;
}

/* ------------------------------------------------------------ customers */

/* Scratch of 2n words (n to sort, n for the radix passes). */
static uint64_t *scratch(ccp_engine_t *e, size_t n) {
  if (2 * n > e->xs_cap) {
    e->xs_cap = CCP_MAX(2 * n, e->xs_cap * 2);
    ccp_free(e->xs);
    e->xs = ccp_malloc(e->xs_cap * sizeof *e->xs);
  }
  return e->xs;
}

/* The first base unit any window covers (the earliest window edge). */
static int64_t cust_horizon(const ccp_engine_t *e) {
  int64_t h = INT64_MAX;
  for (int w = 0; w < e->cfg->nwindows; w++)
    h = CCP_MIN(h, e->start_b[w] * (e->cfg->windows[w].granularity_ms / e->cust_unit));
  return h;
}

/* Changes noted past this many (of a block of n entries) are no longer
 * kept: the block is read out anew (about as costly as merging them). */
static inline int chg_full(size_t nchg, size_t n) { return nchg >= n / 2 + 64; }

/* Grows a change list of 8- or 4-byte keys to hold one more. */
static void *chg_grow(void *a, size_t *cap, size_t size) {
  *cap = *cap ? 2 * *cap : 16;
  return ccp_realloc(a, *cap * size);
}

void ccp__cust_x_drop(ccp_scope_t *s) {
  ccp_words_free(s->cust_x);
  s->cust_x = NULL;
  s->cust_nchg = 0;
}

void ccp__cust_note(ccp_scope_t *s, uint32_t key) {
  if (chg_full(s->cust_nchg, s->cust_x->n)) { /* read out anew at the next export */
    ccp__cust_x_drop(s);
    return;
  }
  if (s->cust_nchg == s->cust_chg_cap) {
    size_t cap = s->cust_chg_cap;
    s->cust_chg = chg_grow(s->cust_chg, &cap, sizeof *s->cust_chg);
    s->cust_chg_cap = (uint32_t)cap;
  }
  s->cust_chg[s->cust_nchg++] = key;
}

/* Sorts the n keys (in the high half of a's words) and drops repeats;
 * returns how many are left. a holds 2n words (the radix passes). */
static size_t sort_unique(uint64_t *a, size_t n, int lo) {
  ccp_sort_u64(a, a + n, n, lo);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!m || a[i] >> lo != a[m - 1] >> lo)
      a[m++] = a[i];
  return m;
}

/* The index of the first of the n entries of `stride` words at w (keys
 * ascending, compared from bit lo) from index i on whose key is >= k (n:
 * none): a gallop from i, then a binary search. */
static size_t words_seek(const uint64_t *w, size_t n, size_t stride, int lo, size_t i, uint64_t k) {
  if (i >= n || w[i * stride] >> lo >= k)
    return i;
  size_t a = i, step = 1; /* key of a < k */
  while (a + step < n && w[(a + step) * stride] >> lo < k) {
    a += step;
    step *= 2;
  }
  size_t b = a + step < n ? a + step : n; /* key of b >= k, or b == n */
  while (b - a > 1) {
    size_t mid = a + (b - a) / 2;
    if (w[mid * stride] >> lo < k)
      a = mid;
    else
      b = mid;
  }
  return b;
}

/* The block o of entries of `stride` words (key first, ascending) with the
 * m entries of c (same layout, keys ascending and distinct) merged in, an
 * entry of c replacing the one of o with its key: the unchanged runs
 * between them are found by a search and copied whole (a scope's block
 * holds thousands of customers where an export merges a few dozen). Keys
 * are compared from bit lo. */
static ccp_words_t *merge_block(ccp_words_pool_t *pool, const ccp_words_t *o, const uint64_t *c,
                                size_t m, size_t stride, int lo) {
  ccp_words_t *b = ccp_words_pool_take(pool, o->n + m, stride);
  const uint64_t *ow = o->w;
  uint64_t *bw = b->w;
  size_t i = 0, n = 0, on = o->n;
  for (size_t j = 0; j < m; j++) {
    uint64_t k = c[j * stride] >> lo;
    size_t run = words_seek(ow, on, stride, lo, i, k);
    memcpy(bw + n * stride, ow + i * stride, (run - i) * stride * sizeof *bw);
    n += run - i;
    i = run;
    if (i < on && ow[i * stride] >> lo == k)
      i++; /* replaced */
    memcpy(bw + n * stride, c + j * stride, stride * sizeof *bw);
    n++;
  }
  memcpy(bw + n * stride, ow + i * stride, (on - i) * stride * sizeof *bw);
  b->n = (uint32_t)(n + on - i);
  return b;
}

/* The scope's customer entries that can count in a window, sorted by hash
 * (a reference for the partial; NULL: none). The map's words are the
 * entries: key (the hash) in the high half, the unit mod 2^32 in the low.
 * Read out of the map when none are cached or the horizon passed the oldest
 * (a sweep drops only entries older than every window: below it too);
 * else the keys set since (ccp__cust_note()) are merged into the cached
 * block: a customer's unit only moves up, so those are all that changed;
 * then d also names the block they were merged into and carries them. */
static void cust_entries(ccp_engine_t *e, ccp_scope_t *s, int64_t horizon, ccp_partial_scope_t *d) {
  if (!s->cust.count)
    return;
  int64_t ref = ccp_floordiv(e->now, e->cust_unit);
  if (!s->cust_x || s->cust_x_min < horizon) {
    ccp_words_free(s->cust_x);
    uint64_t *a = scratch(e, s->cust.count);
    int64_t lo = INT64_MAX;
    size_t n = 0;
    for (size_t j = 0; j < s->cust.cap; j++) {
      uint64_t w = s->cust.slots[j];
      if (!w)
        continue;
      int64_t tu = ref + (int32_t)((uint32_t)w - (uint32_t)ref); /* engine.c cust_abs() */
      if (tu < horizon)
        continue;
      lo = CCP_MIN(lo, tu);
      a[n++] = w;
    }
    ccp_sort_u64(a, a + n, n, 32);
    s->cust_x = ccp_words_pool_take(e->xpool, n, 1);
    memcpy(s->cust_x->w, a, n * sizeof *a);
    s->cust_x_min = lo;
  } else if (s->cust_nchg) {
    uint64_t *a = scratch(e, s->cust_nchg);
    for (size_t i = 0; i < s->cust_nchg; i++)
      a[i] = (uint64_t)s->cust_chg[i] << 32;
    size_t m = 0, nk = sort_unique(a, s->cust_nchg, 32);
    for (size_t i = 0; i < nk; i++) { /* the keys' entries now (m <= i: in place) */
      uint32_t key = (uint32_t)(a[i] >> 32), u;
      if (!ccp_u32map_get(&s->cust, key, &u))
        continue;
      int64_t tu = ref + (int32_t)(u - (uint32_t)ref);
      if (tu < horizon)
        continue; /* a late HANDLED of a new customer, counting nowhere */
      s->cust_x_min = CCP_MIN(s->cust_x_min, tu);
      a[m++] = (uint64_t)key << 32 | u;
    }
    ccp_words_t *b = merge_block(e->xpool, s->cust_x, a, m, 1, 32);
    if (s->cust_x->n && b->n) { /* the hint for the view (partial.h) */
      d->cust_from = ccp_words_ref(s->cust_x);
      d->cust_chg = ccp_words_pool_take(e->xpool, m, 1);
      memcpy(d->cust_chg->w, a, m * sizeof *a);
    }
    ccp_words_free(s->cust_x);
    s->cust_x = b;
  }
  s->cust_nchg = 0;
  d->cust = s->cust_x->n ? ccp_words_ref(s->cust_x) : NULL;
}

static int rs_keep(void *opaque, uint64_t key, uint64_t val) {
  const int64_t *c = opaque; /* c[0] the slot, c[1] the largest key sampled */
  return key <= (uint64_t)c[1] && ccp__act_at(val, c[0]) != 0;
}

void ccp__rs_note(ccp_engine_t *e, uint64_t key, uint64_t v) {
  int isnew;
  *ccp_u64map_put(&e->rs, key, &isnew) = v;
  if (!e->rs_changed) { /* noted for the next export's merge (export_sample()) */
    if (!e->rs_x || chg_full(e->rs_nchg, e->rs_x->n)) {
      e->rs_changed = 1;
    } else {
      if (e->rs_nchg == e->rs_chg_cap)
        e->rs_chg = chg_grow(e->rs_chg, &e->rs_chg_cap, sizeof *e->rs_chg);
      e->rs_chg[e->rs_nchg++] = key;
    }
  }
  if (e->rs.count <= CCP_RS_CAP)
    return;
  e->rs_changed = 1; /* customers leave the sample below: built afresh */
  /* over the cap: drop the customers no longer active, then halve the
   * sample (L + 1) until it fits */
  int64_t c[2] = {ccp_floordiv(e->now, e->slot_ms), (int64_t)e->rs_max};
  ccp_u64map_filter(&e->rs, rs_keep, c);
  while (e->rs.count > CCP_RS_CAP) {
    e->rs_max = CCP_RS_MAX(++e->rs_l);
    c[1] = (int64_t)e->rs_max;
    ccp_u64map_filter(&e->rs, rs_keep, c);
  }
}

/* Chooses L anew (the smallest whose sample fits the cap) and fills the
 * sample from acts: after a sweep of acts, a load, or the first export. */
static void rs_rebuild(ccp_engine_t *e, int64_t c) {
  size_t nz[65] = {0}; /* active customers by leading zeros of their key */
  const ccp_u64map_t *m = &e->acts;
  for (size_t j = 0; j < m->cap; j++)
    if (m->slots[j].key && ccp__act_at(m->slots[j].val, c))
      nz[__builtin_clzll(m->slots[j].key)]++;
  int l = 64;
  for (size_t in = nz[64]; l > 0 && in + nz[l - 1] <= CCP_RS_CAP; l--)
    in += nz[l - 1]; /* keys <= CCP_RS_MAX(l - 1): those with >= l - 1 leading zeros */
  e->rs_l = l;
  e->rs_max = CCP_RS_MAX(l);
  ccp_u64map_release(&e->rs);
  ccp_u64map_init(&e->rs);
  for (size_t j = 0; j < m->cap; j++) {
    const ccp_u64map_entry_t *x = &m->slots[j];
    if (x->key && x->key <= e->rs_max && ccp__act_at(x->val, c)) {
      int isnew;
      *ccp_u64map_put(&e->rs, x->key, &isnew) = x->val;
    }
  }
  e->rs_valid = 1;
  e->rs_changed = 1;
}

/* Merges the customers noted since rs_x was built (the same slot and L)
 * into it, and tells p (rs_from, rs_chg); 0 when one of them has no activity at slot c (then the
 * sample is built afresh: activity only grows within a slot, so that is not expected). */
static int rs_merge(ccp_engine_t *e, int64_t c, ccp_partial_t *p) {
  uint64_t *a = scratch(e, 2 * e->rs_nchg); /* the keys, the radix passes, the entries */
  memcpy(a, e->rs_chg, e->rs_nchg * sizeof *a);
  size_t nk = sort_unique(a, e->rs_nchg, 0);
  uint64_t *ent = a + 2 * e->rs_nchg;
  for (size_t i = 0; i < nk; i++) {
    const uint64_t *val = ccp_u64map_get(&e->rs, a[i]);
    ent[2 * i] = a[i];
    if (!val || !(ent[2 * i + 1] = ccp__act_at(*val, c)))
      return 0;
  }
  ccp_words_t *b = merge_block(e->xpool, e->rs_x, ent, nk, 2, 0);
  if (e->rs_x->n) { /* the hint for the view (partial.h) */
    p->rs_from = ccp_words_ref(e->rs_x);
    p->rs_chg = ccp_words_pool_take(e->xpool, nk, 2);
    memcpy(p->rs_chg->w, ent, 2 * nk * sizeof *ent);
  }
  ccp_words_free(e->rs_x);
  e->rs_x = b;
  return 1;
}

/* Puts the retention sample at the export's slot into p (shared block):
 * the cached one, the changes noted since merged into it (rs_merge()), or
 * built afresh from rs. */
static void export_sample(ccp_engine_t *e, ccp_partial_t *p) {
  p->rs_c = INT64_MIN;
  if (e->now == INT64_MIN)
    return;
  int64_t c = ccp_floordiv(e->now, e->slot_ms);
  if (!e->rs_valid)
    rs_rebuild(e, c);
  if (!e->rs_x || e->rs_changed || e->rs_x_c != c || e->rs_x_l != e->rs_l ||
      (e->rs_nchg && !rs_merge(e, c, p))) {
    ccp_words_free(e->rs_x);
    uint64_t *a = scratch(e, e->rs.count);
    size_t n = 0;
    for (size_t j = 0; j < e->rs.cap; j++)
      if (e->rs.slots[j].key && ccp__act_at(e->rs.slots[j].val, c))
        a[n++] = e->rs.slots[j].key;
    ccp_sort_u64(a, a + n, n, 0);
    e->rs_x = ccp_words_pool_take(e->xpool, n, 2);
    for (size_t i = 0; i < n; i++) {
      e->rs_x->w[2 * i] = a[i];
      e->rs_x->w[2 * i + 1] = ccp__act_at(*ccp_u64map_get(&e->rs, a[i]), c);
    }
    e->rs_x_c = c;
    e->rs_x_l = e->rs_l;
    e->rs_changed = 0;
  }
  e->rs_nchg = 0;
  p->rs_c = c;
  p->rs_l = e->rs_l;
  p->rs = e->rs_x->n ? ccp_words_ref(e->rs_x) : NULL;
}

void ccp__export_release(ccp_engine_t *e) {
  ccp_words_free(e->rs_x);
  ccp_free(e->rs_chg);
  ccp_u64map_release(&e->rs);
  ccp_free(e->xs);
  ccp_words_pool_close(e->xpool); /* freed with the last block a partial still holds */
}

/* ---------------------------------------------------------------- export */

/* The scope's windows and name in one new block (see the top); *data: a
 * window holds data. */
static ccp_words_t *scope_block(ccp_engine_t *e, const ccp_scope_t *s, int *data) {
  const ccp_config_t *cfg = e->cfg;
  /* the windows, the name (padded to 8 bytes), the windows' non-zero values,
   * then the bins' counts and the bins of their histograms */
  size_t nw = (size_t)cfg->nwindows, nbins = 0;
  for (int k = 0; k < cfg->nwindows * CCP_H__COUNT; k++) {
    const ccp_hist_t *src = ccp_wset_hist(&s->ws, k / CCP_H__COUNT, k % CCP_H__COUNT);
    if (!src)
      continue;
    /* each histogram's bins are a block of their own, cold since the last
     * export: asked for all at once, their misses overlap (the fill below
     * stalled on them one after another) */
    ccp_hist_prefetch(src);
    nbins += (size_t)ccp_hist_nonzero(src);
  }
  size_t name8 = (s->name_len + 8) / 8 * 8;
  size_t bytes = nw * sizeof(ccp_partial_win_t) + name8 + nw * s->ws.nc * sizeof(int64_t) +
                 nbins * (sizeof(uint32_t) + sizeof(uint16_t));
  ccp_words_t *b = ccp_words_pool_take(e->xpool, (bytes + 7) / 8, 1);
  ccp_partial_win_t *win = (ccp_partial_win_t *)b->w;
  char *name = (char *)(win + nw);
  /* zeroed: the windows (fields, absent histograms) and the name's padding;
   * the values, counts and bins after them are all written below */
  memset(b->w, 0, nw * sizeof(ccp_partial_win_t) + name8);
  memcpy(name, s->name, s->name_len + 1);
  int64_t *v = (int64_t *)(name + name8);
  uint32_t *count = (uint32_t *)(v + nw * s->ws.nc);
  uint16_t *bin = (uint16_t *)(count + nbins);
  *data = 0;
  for (int w = 0; w < cfg->nwindows; w++) {
    win[w].val = v; /* the non-zero totals, in field order */
    /* window w's row of totals holds the columns in field order: walked
     * along, not looked up field by field (ccp_wset_get()'s popcount) */
    const int64_t *row = s->ws.nc ? s->ws.tot + (size_t)w * s->ws.nc : NULL;
    for (uint32_t m = s->ws.cols, c = 0; m; m &= m - 1, c++) {
      int64_t x = row[c];
      if (x) {
        win[w].fields |= 1u << __builtin_ctz(m);
        *v++ = x;
      }
    }
    for (int h = 0; h < CCP_H__COUNT; h++) {
      const ccp_hist_t *src = ccp_wset_hist(&s->ws, w, h);
      if (!src)
        continue;
      uint32_t nb = ccp_shist_fill(&win[w].hist[h], src, count, bin);
      count += nb;
      bin += nb;
    }
    *data |= s->ws.nc && !ccp_wset_zero(&s->ws, w);
  }
  return b;
}

/* Marks stale what prev (the caller's previous export of e, or NULL) cannot
 * give again: every scope's block when prev is not e's last export; the
 * windows of a scope with new deltas (the dirty list, before the flush);
 * and when a window edge moved since, those of every scope whose windows
 * held data (buckets may have left; all-zero windows stay all zero).
 * Returns whether an edge moved. */
static int blocks_invalidate(ccp_engine_t *e, const ccp_partial_t *prev) {
  const ccp__export_key_t *k = &e->last_export;
  int moved = edges_moved(e);
  if (!k->valid || !prev || prev->xsrc != (const void *)e || prev->serial != k->xid) {
    for (uint32_t i = 0; i < e->nscopes; i++)
      e->scopes[i]->x_at = 0;
    return moved;
  }
  for (uint32_t i = 0; moved && i < e->nscopes; i++)
    if (e->scopes[i]->x_wdata)
      e->scopes[i]->x_at = 0;
  for (uint32_t i = 0; i < e->ndirty; i++)
    e->scopes[e->dirty[i]]->x_at = 0;
  return moved;
}

/* The export; with customers, the customer entries and the retention
 * sample too (every export but the single engine's snapshot). With prev,
 * the caller's last export of e, a scope whose windows did not change since
 * (no delta, no window edge moved) hands prev's block again: its windows
 * and histograms are not read out. */
static ccp_partial_t *export(ccp_engine_t *e, int64_t now_ms, int customers,
                             const ccp_partial_t *prev) {
  export_advance(e, now_ms);
  if (!e->xpool)
    e->xpool = ccp_words_pool_new();
  ccp_words_pool_cycle(e->xpool); /* the blocks of the scopes changed since: given back */
  ccp_partial_t *p = ccp_engine_export_header(e); /* then the scopes */
  int moved = blocks_invalidate(e, prev);
  if (e->now != INT64_MIN)
    for (uint32_t i = 0; i < e->nscopes; i++)
      if (moved || !e->scopes[i]->x_at)
        ccp__scope_advance(e, e->scopes[i]);
  ccp__engine_flush(e);
  ccp__engine_oldest_waiting(e);
  /* every scope's block (NULL: no window data), then those with data */
  ccp_words_t **blk = ccp_malloc((size_t)(e->nscopes ? e->nscopes : 1) * sizeof *blk);
  int n = 0;
  for (uint32_t i = 0; i < e->nscopes; i++) {
    ccp_scope_t *s = e->scopes[i];
    /* gauges move without a delta in the windows (a ticket handed over,
     * aged by its timer): a scope left out as empty comes back with them */
    int gauges = s->kind == CCP_SC_ALL || s->g_open || s->g_waiting || s->g_aged;
    if (s->x_at == CCP__X_NODATA && !gauges) {
      blk[i] = NULL;
    } else if (s->x_at && s->x_at != CCP__X_NODATA) {
      blk[i] = ccp_words_ref(prev->scopes[s->x_at - 1].blk);
    } else { /* its windows are all zero when it was left out: read anew */
      int data;
      blk[i] = scope_block(e, s, &data);
      s->x_wdata = (uint8_t)data;
    }
    int has = gauges || s->x_wdata;
    if (!has) { /* left out; its windows stay all zero until a delta or an edge */
      ccp_words_free(blk[i]);
      blk[i] = NULL;
      s->x_at = CCP__X_NODATA;
    } else {
      n++;
    }
  }
  int64_t horizon = customers && e->now != INT64_MIN ? cust_horizon(e) : INT64_MAX;
  p->scopes = ccp_calloc((size_t)(n ? n : 1), sizeof *p->scopes);
  for (uint32_t i = 0; i < e->nscopes; i++) {
    ccp_scope_t *s = e->scopes[i];
    if (!blk[i])
      continue;
    s->x_at = (uint32_t)p->nscopes + 1;
    ccp_partial_scope_t *d = &p->scopes[p->nscopes++];
    d->blk = blk[i]; /* the reference moves */
    d->win = (ccp_partial_win_t *)d->blk->w;
    d->name = (char *)(d->win + e->cfg->nwindows); /* scope_block()'s layout */
    d->name_len = s->name_len;
    d->kind = s->kind;
    d->open = s->g_open;
    d->waiting = s->g_waiting;
    d->aged = s->g_aged;
    d->oldest_open = s->oldest_open;
    if (horizon != INT64_MAX)
      cust_entries(e, s, horizon, d);
  }
  ccp_free(blk);
  ccp__engine_retention(e, &p->ret_prev, &p->ret_both);
  p->rs_c = INT64_MIN;
  if (customers) {
    p->cust_unit = e->cust_unit;
    export_sample(e, p);
  }
  p->diag = e->diag;
  p->tickets = (int64_t)e->tickets.count;
  ccp__export_key_t *k = &e->last_export;
  k->valid = 1;
  k->events = e->diag.events;
  k->due = ccp__engine_next_due(e);
  k->hi = e->geom.hi;
  k->slot = ret_slot(e);
  memcpy(k->cur_b, e->cur_b, sizeof k->cur_b);
  memcpy(k->start_b, e->start_b, sizeof k->start_b);
  k->xid++;
  p->xsrc = e;
  p->serial = k->xid;
  return p;
}

ccp_partial_t *ccp_engine_export(ccp_engine_t *e, int64_t now_ms) {
  return export(e, now_ms, 1, NULL);
}

ccp_partial_t *ccp_engine_export_next(ccp_engine_t *e, int64_t now_ms, const ccp_partial_t *prev) {
  return export(e, now_ms, 1, prev);
}

void ccp_engine_snapshot_json(ccp_engine_t *e, ccp_buf_t *out) {
  ccp_partial_t *p = export(e, e->now, 0, NULL); /* one engine: its own counts are exact */
  ccp_view_t *v = ccp_view_new(e->cfg);
  ccp_view_merge(v, p);
  ccp_partial_free(p); /* before the document is written: not both at their peak */
  ccp_view_snapshot_json(v, out);
  ccp_view_free(v);
}
