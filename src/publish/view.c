/*
 * Merged views and the snapshot document (KPIS.md §5, docs/semantics.md
 * §6-§11).
 *
 * ccp_view_merge() adds partial aggregates (src/counters/partial.h, exported
 * by src/engine/export.c) into dense per-scope totals; the view then computes
 * KPIs by the KPI table (src/kpi/kpi.h: formulas as data, cost and score
 * spelled out below) and writes JSON. Replay's snapshot is the view of its
 * single engine, so one code path serves replay, the live publisher and
 * tests. The view never sees an engine.
 *
 * Publishing follows change (docs/redis.md): the publisher keeps one view
 * for its whole life and resets it every cycle. A reset keeps the scopes
 * merged in the cycle before (their names, allocations and rendered JSON)
 * and frees those that were absent. A window's KPIs and JSON are kept
 * until its inputs change: its counters and sparse histograms (a window is
 * marked dirty where a merge moves them; replacing a block by one with the
 * same figures does not), its customers_handled (compared, as it is put
 * back after every reset) and for `all` the channels' opened counts behind
 * channel_share_pct (a hash of those, compared): a window whose figures did
 * not change costs a comparison, not a computation and a rendering.
 * ccp_view_window_hash() gives the hash of the rendered bytes, so the
 * publisher can skip tiles it already wrote.
 *
 * The window figures are kept from cycle to cycle as well: a scope's totals
 * and histograms are the sums of the partials' scope blocks it holds, by
 * merge index (the i-th partial merged since the reset). A partial that
 * hands the block already held (an engine's unchanged scope) costs nothing;
 * another block replaces it by one walk that subtracts the old windows and
 * adds the new (figures_merge()), and the first read takes out the blocks
 * no partial merged again (figures_finish()). Sums of integers: the same
 * totals as a fresh merge, whatever the order. A scope that holds figures
 * no block accounts for (a partial without a block, a fold into
 * `<kind>:~other`) is marked stale and summed afresh from the next reset.
 *
 * Customers (docs/semantics.md §11): counts of distinct customers do not
 * add, so a partial also carries, per scope, its customer entries (hash,
 * latest HANDLED unit; sorted by hash) and a retention sample (hash,
 * activity bits; the customers whose 64-bit hash is at most CCP_RS_MAX(L)).
 * The merge takes references to those blocks; the first read after it
 * unites them (customers_finish()): a scope with entries from two or more
 * partials gets customers_handled per window from the latest unit of each
 * distinct hash, which is what one engine fed every event counts;
 * retention, when two or more partials carry a sample, comes from the OR of
 * every customer's aligned activity over the sample at the largest L (L = 0
 * everywhere: every customer, exact). With one partial its own counts
 * stand (the same numbers).
 *
 * The customer union is kept from cycle to cycle (cust_sync()): per scope a
 * map of customer hash -> latest unit over the blocks it holds (by merge
 * index: the i-th partial merged), the count per window, and those blocks.
 * A cycle compares each partial's block with the one held at its index
 * (engines hand an unchanged scope's block again: the same pointer costs
 * nothing) and applies the entries that differ to the map and the counts:
 * when the partial says its block is the one held with some entries put in
 * (partial.h: cust_from/cust_chg, what an engine's export merged), just
 * those, each looked up in the held block (union_apply()); else the ones
 * one walk of the two sorted lists finds (union_diff()). An entry whose
 * latest unit went down or away is looked up again in every held block. Which partial
 * a block came from does not matter for the result (the union is a
 * function of the blocks held), so a partition lost or gained, a restored
 * engine or a new merge order need no special case, only more differences.
 * The counts are taken again from the map when a window edge moves (entries
 * below the earliest edge, counting nowhere, are dropped then), and the map
 * is rebuilt when an edge moves back (an older time after a restore) or
 * the unit changes. A scope that other scopes were folded into this cycle
 * (fold_overflow()) is united by the k-way merge (cust_union()) instead.
 * The retention union is kept the same way (rs_sync()): a map of sampled
 * customer -> activity ORed over the samples held (by merge index), and its
 * two counts; a customer whose bits went away in a sample is ORed again
 * over every sample held; rebuilt when the union's slot or L changes. A
 * sample that says it is the one held with some pairs put in (rs_from,
 * rs_chg) is applied as just those pairs.
 *
 * Histograms are sparse here (sorted bins and counts): a window's values fall
 * in a few dozen bins, and 20,000 agents x 6 windows x 2 dense 1024-bin
 * histograms would be 1 GB.
 *
 * Threads: a view belongs to one thread; the partials it merges are
 * immutable.
 *
 * Output is deterministic: scopes sorted (all first, then bytewise), KPIs in
 * the table's order, counts and gauges as integers, other numbers in their
 * shortest round-trip form, null for NaN. Window objects leave out zeros
 * (KPIS.md §5, docs/semantics.md §10): a count equal to 0 and a KPI of any
 * other kind that is null are not written; a non-count equal to 0 (e.g.
 * abandon_pct) is. Gauges, `customers`, the window header and diagnostics
 * are always complete.
 */
#include "ccpulse/view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters/partial.h"
#include "kpi/kpi.h"
#include "util/prefetch.h"
#include "util/u64map.h"

/* ------------------------------------------------------------ structures */

/* The entries of a window object whose lengths are kept (the table's, then the score). */
#define KLEN_N (CCP_K_SCORE + 1)

/* A merged histogram in sparse form: ascending bins with their counts. */
typedef struct vhist {
  uint32_t n, cap;
  uint64_t total; /* sum of the counts */
  uint16_t *bin;  /* cap entries (owned) */
  uint32_t *count;
} vhist_t;

typedef struct vwin {
  ccp_counters_t total;
  vhist_t hist[CCP_H__COUNT];
  unsigned dirty;   /* moved since kpis were computed: bit 0 total (but customers_handled),
                       bit 1 + h hist[h] (whose percentiles are computed again) */
  int64_t in_cust;  /* customers_handled kpis were computed from (it moves without dirty) */
  uint64_t in_hash; /* `all`: hash of the channels' opened counts they were computed from */
  double *kpis;     /* CCP_K__WINDOWED computed KPIs, NULL until first read, then KLEN_N
                       bytes: the length of each one's entry in json (0: not there), the
                       score's at CCP_K_SCORE */
  char *json;       /* the window's KPI object (json_len bytes when json_ok), NULL until rendered */
  size_t json_len;
  size_t json_cap;    /* bytes allocated at json: kept for the next rendering */
  int json_ok;        /* json belongs to kpis */
  uint64_t json_hash; /* hash of json's bytes */
  uint32_t kmoved;    /* bit i: kpis[i] moved since json was rendered (all set: never rendered) */
  int cust_over;      /* total's customers_handled is the union's, not the blocks' sum */
  int64_t cust_sum;   /* the blocks' sum meanwhile */
} vwin_t;

typedef struct vscope {
  char *name;
  size_t name_len;
  uint8_t kind; /* CCP_SC_* */
  int present;  /* merged since the last reset (or `all`) */
  int64_t open, waiting, aged;
  int64_t oldest_open;     /* INT64_MAX when none waits */
  vwin_t *win;             /* cfg->nwindows (owned) */
  ccp_words_t **cust;      /* customer entries of the partials merged (references) */
  int *cust_src;           /* merge index of the partial each came from (-1: folded in) */
  ccp_words_t **cust_hint; /* per entry 2 references, NULL: none: the block those entries
                              were merged from and the entries merged (partial.h) */
  int ncust, cust_cap;
  int cust_fold; /* entries folded in this merge: united afresh (cust_union) */
  /* the union kept from cycle to cycle (cust_sync()): valid when uvalid */
  int uvalid;
  int nprev;
  ccp_words_t **prev;    /* by merge index: the entries the union holds (references) */
  ccp_u64map_t umap;     /* customer hash -> latest unit over prev (at least ufloor) */
  int64_t uunit, ufloor; /* the entries' ms per unit; the smallest edge counted at */
  int64_t uedge[CCP_MAX_WINDOWS], ucount[CCP_MAX_WINDOWS]; /* umap's count per window */
  /* the window figures kept from cycle to cycle (figures_*): by merge index
   * the block whose windows the totals hold, and the cycle it came in */
  ccp_words_t **fblk;
  uint32_t *fseen;
  int nfblk;
  int fstale; /* the totals hold figures no block accounts for: zeroed at the next reset */
} vscope_t;

/* A partial's retention sample, referenced until customers_finish(). */
typedef struct vsample {
  ccp_words_t *w;
  int64_t c;               /* its slot */
  int l;                   /* its L */
  int src;                 /* merge index of its partial */
  ccp_words_t *from, *chg; /* the partial's hint (rs_from, rs_chg: references), NULL: none */
} vsample_t;

/* A scope's customer entries from one partial, and the hint they came with. */
typedef struct ucur {
  ccp_words_t *w, *from, *chg; /* references (from, chg: NULL when no hint) */
} ucur_t;

/* A heap entry of a k-way merge: a run's current key, and the run. */
typedef struct kent {
  uint64_t key;
  int run;
} kent_t;

/* Cursor of one sorted run in a k-way merge. */
typedef struct krun {
  const uint64_t *w; /* entries of `stride` words, their first word's key ascending */
  uint32_t at, n;
  int shift; /* bits of the retention sample moved to the view's slot */
} krun_t;

struct ccp_view {
  const ccp_config_t *cfg;
  int has_cost;
  int score_ki[CCP_MAX_SCORE_TERMS]; /* the KPI index of each scorecard term (ccp_kpi_index) */
  uint32_t score_in;                 /* bits of the windowed KPIs the score reads */
  /* merged values */
  int64_t now; /* INT64_MIN when empty */
  int64_t cur_b[CCP_MAX_WINDOWS], start_b[CCP_MAX_WINDOWS];
  int64_t ret_prev, ret_both;
  ccp_diag_t diag;
  int64_t tickets;
  vscope_t *scopes; /* unsorted */
  int nscopes, scopes_cap;
  ccp_u64map_t index; /* hash(name) -> scope index */
  int *order;         /* sorted scope indices (those with data) */
  int norder;
  int sorted;         /* order is up to date */
  int order_all;      /* order holds every scope, and none came or moved since it was sorted */
  int final;          /* ccp_view_set_final() */
  int folded;         /* fold_overflow() ran since the last merge */
  vhist_t scratch;    /* merge buffer of the sparse histograms */
  int64_t cust_unit;  /* ms per base unit of the customer entries */
  int cust_pending;   /* entries or samples merged and not yet united */
  vsample_t *samples; /* the partials' retention samples (non-empty ones) */
  int nsamples, samples_cap;
  krun_t *runs; /* k-way merge scratch: cursors and the heap of their keys */
  kent_t *heap;
  int runs_cap;
  int nmerged;    /* partials merged since the reset (the next one's merge index) */
  uint32_t cycle; /* resets so far (fseen) */
  /* the retention union kept from cycle to cycle (rs_sync()), valid when rvalid */
  int rvalid, r_l, nrprev;
  int64_t r_c, r_prev, r_both; /* its slot and L; its counts */
  vsample_t *rprev;            /* by merge index: the samples it holds (w NULL: none) */
  ccp_u64map_t rmap;           /* customer hash -> activity ORed over rprev (non-zero) */
  vsample_t *rcur;             /* rs_sync() scratch: this cycle's samples by merge index */
  int rcur_cap;
  int fpending; /* blocks may have left since figures_finish() */
  ucur_t *ucur; /* cust_sync() scratch: a scope's entries by merge index */
  int ucur_cap;
  ccp_buf_t wjson; /* window_rendered() scratch: a window object rendered beside its last bytes */
  long kept;       /* entries copied from a window's last rendering (ccp__view_entries_kept) */
};

static void vhist_release(vhist_t *h) {
  ccp_free(h->bin);
  ccp_free(h->count);
  memset(h, 0, sizeof *h);
}

static void vhist_reserve(vhist_t *h, uint32_t n) {
  if (n <= h->cap)
    return;
  uint32_t cap = h->cap ? h->cap : 16;
  while (cap < n)
    cap *= 2;
  h->bin = ccp_realloc(h->bin, cap * sizeof *h->bin);
  h->count = ccp_realloc(h->count, cap * sizeof *h->count);
  h->cap = cap;
}

/* Drops the references to the customer entries a scope collected. */
static void vscope_drop_cust(vscope_t *s) {
  for (int i = 0; i < s->ncust; i++) {
    ccp_words_free(s->cust[i]);
    ccp_words_free(s->cust_hint[2 * i]);
    ccp_words_free(s->cust_hint[2 * i + 1]);
  }
  s->ncust = 0;
  s->cust_fold = 0;
}

/* Forgets the union a scope kept (cust_sync() starts afresh next time). */
static void vscope_drop_union(vscope_t *s) {
  for (int i = 0; i < s->nprev; i++)
    ccp_words_free(s->prev[i]);
  ccp_free(s->prev);
  s->prev = NULL;
  s->nprev = 0;
  ccp_u64map_release(&s->umap);
  s->uvalid = 0;
}

/* Releases a sample's hint. */
static void vsample_drop_hint(vsample_t *x) {
  ccp_words_free(x->from);
  ccp_words_free(x->chg);
  x->from = x->chg = NULL;
}

static void drop_samples(ccp_view_t *v) {
  for (int i = 0; i < v->nsamples; i++) {
    ccp_words_free(v->samples[i].w);
    vsample_drop_hint(&v->samples[i]);
  }
  v->nsamples = 0;
}

static void rs_drop(ccp_view_t *v);

/* An array of `from` elements of `size` bytes grown to `to`, the new ones zero. */
static void *grow_zeroed(void *a, int from, int to, size_t size) {
  a = ccp_realloc(a, (size_t)to * size);
  memset((char *)a + (size_t)from * size, 0, (size_t)(to - from) * size);
  return a;
}

/* Releases the blocks whose windows a scope's totals hold. */
static void vscope_drop_fblk(vscope_t *s) {
  for (int i = 0; i < s->nfblk; i++)
    ccp_words_free(s->fblk[i]);
  ccp_free(s->fblk);
  ccp_free(s->fseen);
  s->fblk = NULL;
  s->fseen = NULL;
  s->nfblk = 0;
}

static void vscope_release(vscope_t *s, int nwindows) {
  vscope_drop_cust(s);
  vscope_drop_union(s);
  vscope_drop_fblk(s);
  ccp_free(s->cust);
  ccp_free(s->cust_src);
  ccp_free(s->cust_hint);
  for (int w = 0; w < nwindows; w++) {
    for (int h = 0; h < CCP_H__COUNT; h++)
      vhist_release(&s->win[w].hist[h]);
    ccp_free(s->win[w].kpis);
    ccp_free(s->win[w].json);
  }
  ccp_free(s->win);
  ccp_free(s->name);
}

/* Keeps the blocks' customers_handled sum before the union's count replaces it. */
static inline void vwin_cust_keep(vwin_t *vw) {
  if (!vw->cust_over) {
    vw->cust_sum = vw->total.v[CCP_F_CUST];
    vw->cust_over = 1;
  }
}

/* Gives a window's customers_handled back the blocks' sum. */
static inline void vwin_cust_restore(vwin_t *vw) {
  if (vw->cust_over) {
    vw->total.v[CCP_F_CUST] = vw->cust_sum;
    vw->cust_over = 0;
  }
}

/* Zeroes a scope's window figures and forgets the blocks they came from. */
static void vscope_zero_figures(vscope_t *s, int nwindows) {
  vscope_drop_fblk(s);
  s->fstale = 0;
  for (int w = 0; w < nwindows; w++) {
    vwin_t *vw = &s->win[w];
    memset(&vw->total, 0, sizeof vw->total);
    vw->cust_over = 0;
    for (int h = 0; h < CCP_H__COUNT; h++)
      vw->hist[h].n = 0, vw->hist[h].total = 0;
    vw->dirty = ~0u;
  }
}

/* Zeroes the merged values of a scope for a new cycle, keeping its caches
 * and the window figures of the blocks it holds (see figures_merge()). */
static void vscope_clear(vscope_t *s, int nwindows) {
  s->open = s->waiting = s->aged = 0;
  s->oldest_open = INT64_MAX;
  s->present = 0;
  vscope_drop_cust(s);
  if (s->fstale) {
    vscope_zero_figures(s, nwindows);
    return;
  }
  for (int w = 0; w < nwindows; w++)
    vwin_cust_restore(&s->win[w]);
}

/* ----------------------------------------------------------------- merge */

ccp_view_t *ccp_view_new(const ccp_config_t *cfg) {
  ccp_view_t *v = ccp_calloc(1, sizeof *v);
  v->cfg = cfg;
  for (int c = 0; c < CCP_CH__COUNT; c++)
    if (!isnan(cfg->cost_per_hour[c]))
      v->has_cost = 1;
  for (int i = 0; i < cfg->nscore_terms; i++)
    v->score_ki[i] = ccp_kpi_index(cfg->score_terms[i].kpi, strlen(cfg->score_terms[i].kpi));
  for (int i = 0; i < cfg->nscore_terms; i++)
    if (v->score_ki[i] >= 0 && v->score_ki[i] < CCP_K__WINDOWED)
      v->score_in |= 1u << v->score_ki[i];
  ccp_u64map_init(&v->index);
  v->now = INT64_MIN;
  return v;
}

/* Inserts scope index i under its name into the index. */
static void index_put(ccp_view_t *v, int i) {
  const vscope_t *s = &v->scopes[i];
  for (uint64_t seed = 0x766965;; seed++) {
    int isnew;
    uint64_t *slot =
        ccp_u64map_put(&v->index, ccp_u64map_key(ccp_hash64(s->name, s->name_len, seed)), &isnew);
    if (isnew) {
      *slot = (uint64_t)i;
      return;
    }
  }
}

void ccp_view_reset(ccp_view_t *v) {
  /* keep the scopes of the last cycle with their caches; free the others */
  int k = 0;
  for (int i = 0; i < v->nscopes; i++) {
    if (v->scopes[i].present) {
      vscope_clear(&v->scopes[i], v->cfg->nwindows);
      v->scopes[k++] = v->scopes[i];
    } else {
      vscope_release(&v->scopes[i], v->cfg->nwindows);
    }
  }
  if (k != v->nscopes) { /* indices moved: rebuild the index */
    v->order_all = 0;
    ccp_u64map_release(&v->index);
    ccp_u64map_init(&v->index);
    v->nscopes = k;
    for (int i = 0; i < k; i++)
      index_put(v, i);
  }
  v->now = INT64_MIN;
  memset(v->cur_b, 0, sizeof v->cur_b);
  memset(v->start_b, 0, sizeof v->start_b);
  v->ret_prev = v->ret_both = 0;
  drop_samples(v);
  v->cust_pending = 0;
  v->nmerged = 0;
  v->cycle++;
  v->fpending = 1;
  memset(&v->diag, 0, sizeof v->diag);
  v->tickets = 0;
  v->norder = 0;
  v->sorted = 0;
  v->folded = 0;
  v->final = 0;
}

void ccp_view_free(ccp_view_t *v) {
  if (!v)
    return;
  for (int i = 0; i < v->nscopes; i++)
    vscope_release(&v->scopes[i], v->cfg->nwindows);
  ccp_free(v->scopes);
  ccp_free(v->order);
  ccp_u64map_release(&v->index);
  vhist_release(&v->scratch);
  drop_samples(v);
  ccp_free(v->samples);
  ccp_free(v->runs);
  ccp_free(v->heap);
  ccp_free(v->ucur);
  ccp_buf_release(&v->wjson);
  rs_drop(v);
  ccp_free(v->rcur);
  ccp_free(v);
}

/* The scope named name[0..len), created (empty) on first sight. */
/* Adds gauges into a scope (present from now on). */
static void vscope_add_gauges(vscope_t *dst, int64_t open, int64_t waiting, int64_t aged,
                              int64_t oldest_open) {
  dst->present = 1;
  dst->open += open;
  dst->waiting += waiting;
  dst->aged += aged;
  if (oldest_open < dst->oldest_open)
    dst->oldest_open = oldest_open;
}

/* Appends a reference to customer entries (taken by the caller) to a
 * scope, with the merge index of their partial (-1: folded in) and its
 * hint (references taken by the caller; NULL: none). */
static void vscope_add_cust(vscope_t *dst, ccp_words_t *w, int src, ccp_words_t *from,
                            ccp_words_t *chg) {
  if (dst->ncust == dst->cust_cap) {
    dst->cust_cap = dst->cust_cap ? 2 * dst->cust_cap : 4;
    dst->cust = ccp_realloc(dst->cust, (size_t)dst->cust_cap * sizeof *dst->cust);
    dst->cust_src = ccp_realloc(dst->cust_src, (size_t)dst->cust_cap * sizeof *dst->cust_src);
    dst->cust_hint =
        ccp_realloc(dst->cust_hint, (size_t)dst->cust_cap * 2 * sizeof *dst->cust_hint);
  }
  dst->cust_src[dst->ncust] = src;
  dst->cust_hint[2 * dst->ncust] = from;
  dst->cust_hint[2 * dst->ncust + 1] = chg;
  dst->cust[dst->ncust++] = w;
}

static vscope_t *view_scope(ccp_view_t *v, const char *name, size_t len, uint8_t kind) {
  for (uint64_t seed = 0x766965;; seed++) {
    uint64_t k = ccp_u64map_key(ccp_hash64(name, len, seed));
    int isnew;
    uint64_t *slot = ccp_u64map_put(&v->index, k, &isnew);
    if (!isnew) {
      vscope_t *s = &v->scopes[*slot];
      if (s->name_len == len && memcmp(s->name, name, len) == 0)
        return s;
      continue; /* hash collision: probe with the next seed */
    }
    if (v->nscopes == v->scopes_cap) {
      v->scopes_cap = v->scopes_cap ? v->scopes_cap * 2 : 32;
      v->scopes = ccp_realloc(v->scopes, (size_t)v->scopes_cap * sizeof *v->scopes);
    }
    *slot = (uint64_t)v->nscopes;
    v->order_all = 0;
    vscope_t *s = &v->scopes[v->nscopes++];
    memset(s, 0, sizeof *s);
    s->name = ccp_strndup(name, len);
    s->name_len = len;
    s->kind = kind;
    s->oldest_open = INT64_MAX;
    s->win = ccp_calloc((size_t)v->cfg->nwindows, sizeof *s->win);
    return s;
  }
}

/* Makes the first n entries of the merge buffer dst's bins and counts. */
static void vhist_take(ccp_view_t *v, vhist_t *dst, uint32_t n) {
  vhist_t *m = &v->scratch;
  if (m->cap > 2 * n + 16) { /* a buffer grown by a larger histogram stays the buffer */
    vhist_reserve(dst, n);
    memcpy(dst->bin, m->bin, n * sizeof *dst->bin);
    memcpy(dst->count, m->count, n * sizeof *dst->count);
    dst->n = n;
    return;
  }
  vhist_t t = *dst; /* the merge buffer becomes dst's arrays, dst's the buffer: no copy */
  dst->bin = m->bin;
  dst->count = m->count;
  dst->cap = m->cap;
  dst->n = n;
  m->bin = t.bin;
  m->count = t.count;
  m->cap = t.cap;
}

/* Adds a partial's sparse histogram into a merged one (a merge of two
 * ascending lists into the view's merge buffer, whose arrays then trade
 * places with dst's unless the buffer is much larger than the result:
 * every histogram keeps a capacity of at most about twice its bins). */
static void vhist_add(ccp_view_t *v, vhist_t *dst, const ccp_shist_t *src) {
  if (!src->n)
    return;
  if (!dst->n) {
    vhist_reserve(dst, src->n);
    memcpy(dst->bin, src->bin, src->n * sizeof *dst->bin);
    memcpy(dst->count, src->count, src->n * sizeof *dst->count);
    dst->n = src->n;
    for (uint32_t i = 0; i < src->n; i++)
      dst->total += src->count[i];
    return;
  }
  vhist_t *m = &v->scratch;
  vhist_reserve(m, dst->n + src->n);
  uint32_t i = 0, j = 0, n = 0;
  while (i < dst->n || j < src->n) {
    if (j == src->n || (i < dst->n && dst->bin[i] < src->bin[j])) {
      m->bin[n] = dst->bin[i];
      m->count[n++] = dst->count[i++];
    } else if (i == dst->n || src->bin[j] < dst->bin[i]) {
      m->bin[n] = src->bin[j];
      m->count[n++] = src->count[j++];
    } else {
      m->bin[n] = dst->bin[i];
      m->count[n++] = dst->count[i++] + src->count[j++];
    }
  }
  for (uint32_t k = 0; k < src->n; k++)
    dst->total += src->count[k];
  vhist_take(v, dst, n);
}

/* The index of the first of the n ascending bins at or after index i that
 * is >= b (n: none): a gallop from i, then a binary search. A merged
 * histogram holds hundreds of bins where a cycle moves a few: looking each
 * up is cheaper than walking them all. */
static inline uint32_t bins_seek(const uint16_t *bin, uint32_t n, uint32_t i, uint16_t b) {
  if (i >= n || bin[i] >= b)
    return i;
  uint32_t lo = i, step = 1; /* bin[lo] < b */
  while (lo + step < n && bin[lo + step] < b) {
    lo += step;
    step *= 2;
  }
  uint32_t hi = lo + step < n ? lo + step : n; /* bin[hi] >= b, or hi == n */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (bin[mid] < b)
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

static inline uint32_t vhist_seek(const vhist_t *h, uint32_t i, uint16_t b) {
  return bins_seek(h->bin, h->n, i, b);
}

/* Moves dst's counts by add - sub in place, bin by bin in one walk of sub
 * and add (skipping the bins whose count both give alike) with each moved
 * bin looked up in dst; returns the first bin at which that cannot be done
 * in place (a new bin, or one that empties; it and the bins above are left
 * as they were), UINT32_MAX when every bin was moved. */
static uint32_t vhist_shift(vhist_t *dst, const ccp_shist_t *sub, const ccp_shist_t *add) {
  uint32_t i = 0, j = 0, k = 0;
  for (;;) {
    while (j < sub->n && k < add->n && sub->bin[j] == add->bin[k] && sub->count[j] == add->count[k])
      j++, k++;
    if (j == sub->n && k == add->n)
      break;
    uint16_t b =
        k == add->n || (j < sub->n && sub->bin[j] < add->bin[k]) ? sub->bin[j] : add->bin[k];
    int64_t d = 0;
    if (j < sub->n && sub->bin[j] == b)
      d -= sub->count[j++];
    if (k < add->n && add->bin[k] == b)
      d += add->count[k++];
    if (!d)
      continue;
    i = vhist_seek(dst, i, b);
    if (i == dst->n || dst->bin[i] != b || (int64_t)dst->count[i] + d <= 0)
      return b;
    dst->count[i] = (uint32_t)((int64_t)dst->count[i] + d);
    dst->total = (uint64_t)((int64_t)dst->total + d);
  }
  return UINT32_MAX;
}

/* Moves a partition's histogram in a merged one from sub (the one added
 * before, its bins all in dst) to add; returns 0 when the two are the same
 * (dst did not change), else 1. */
static int vhist_move(ccp_view_t *v, vhist_t *dst, const ccp_shist_t *sub, const ccp_shist_t *add) {
  if (sub->n == add->n && (sub->n == 0 || !memcmp(sub->bin, add->bin, sub->n * sizeof *sub->bin))) {
    /* the usual case: the same bins, some counts moved (often none: a
     * window's FRT or resolution bins not touched). Every bin of sub is in
     * dst, and a count stays positive: dst's less sub's, plus add's > 0 */
    if (sub->n == 0 || !memcmp(sub->count, add->count, sub->n * sizeof *sub->count))
      return 0;
    for (uint32_t j = 0, i = 0; j < sub->n; j++) {
      if (sub->count[j] == add->count[j])
        continue;
      int64_t d = (int64_t)add->count[j] - (int64_t)sub->count[j];
      i = vhist_seek(dst, i, sub->bin[j]);
      CCP_ASSERT(i < dst->n && dst->bin[i] == sub->bin[j]);
      dst->count[i] = (uint32_t)((int64_t)dst->count[i] + d);
      dst->total = (uint64_t)((int64_t)dst->total + d);
    }
    return 1;
  }
  if (!sub->n) {
    vhist_add(v, dst, add);
    return 1;
  }
  /* counts move, bins mostly stay; else, from the first bin that comes or
   * goes on, the lists are merged anew into the buffer after a copy of the
   * bins below it (moved in place already) */
  uint32_t at = vhist_shift(dst, sub, add);
  if (at == UINT32_MAX)
    return 1;
  vhist_t *m = &v->scratch;
  vhist_reserve(m, dst->n + add->n);
  uint32_t i = vhist_seek(dst, 0, (uint16_t)at), j = bins_seek(sub->bin, sub->n, 0, (uint16_t)at),
           k = bins_seek(add->bin, add->n, 0, (uint16_t)at), n = i;
  memcpy(m->bin, dst->bin, i * sizeof *m->bin);
  memcpy(m->count, dst->count, i * sizeof *m->count);
  for (uint32_t x = k; x < add->n; x++)
    dst->total += add->count[x];
  for (uint32_t x = j; x < sub->n; x++)
    dst->total -= sub->count[x];
  while (i < dst->n || k < add->n) {
    uint16_t b =
        k == add->n || (i < dst->n && dst->bin[i] < add->bin[k]) ? dst->bin[i] : add->bin[k];
    int64_t c = 0;
    if (i < dst->n && dst->bin[i] == b)
      c += dst->count[i++];
    if (k < add->n && add->bin[k] == b)
      c += add->count[k++];
    if (j < sub->n && sub->bin[j] == b)
      c -= sub->count[j++];
    CCP_ASSERT(c >= 0);
    if (c) {
      m->bin[n] = b;
      m->count[n++] = (uint32_t)c;
    }
  }
  CCP_ASSERT(j == sub->n);
  vhist_take(v, dst, n);
  return 1;
}

/* Nearest-rank percentiles of a sparse histogram, as ccp_hist_percentiles()
 * gives them for the dense one (the empty bins it walks add nothing); pct
 * ascending. A rank in the lower half is found walking up from the first
 * bin, one in the upper half (p90, p99) walking down from the last: bin b
 * holds rank r when fewer than r values lie below it, that is when more
 * than total - r lie at or above it. */
static void vhist_percentiles(const vhist_t *h, const int *pct, int npct, double *out) {
  if (!h->total) {
    for (int i = 0; i < npct; i++)
      out[i] = NAN;
    return;
  }
  uint64_t rank[CCP_K__WINDOWED];
  int split = 0; /* ranks [0, split) are in the lower half */
  for (int j = 0; j < npct; j++) {
    rank[j] = ((uint64_t)pct[j] * h->total + 99) / 100; /* ceil(p n) */
    if (rank[j] < 1)
      rank[j] = 1;
    split += rank[j] <= h->total / 2;
  }
  uint64_t cum = 0;
  int j = 0;
  for (uint32_t b = 0; b < h->n && j < split; b++) {
    cum += h->count[b];
    while (j < split && cum >= rank[j])
      out[j++] = ccp_sketch_value(h->bin[b]);
  }
  while (j < split)
    out[j++] = ccp_sketch_value(CCP_SKETCH_BINS - 1);
  uint64_t above = 0; /* values at or above bin b */
  int k = npct - 1;
  for (uint32_t b = h->n; b-- > 0 && k >= split;) {
    above += h->count[b];
    while (k >= split && above > h->total - rank[k])
      out[k--] = ccp_sketch_value(h->bin[b]);
  }
  while (k >= split)
    out[k--] = ccp_sketch_value(CCP_SKETCH_BINS - 1);
}

/* Subtracts the fields a partial window carries from dst. */
static inline void partial_win_sub(ccp_counters_t *dst, const ccp_partial_win_t *w) {
  const int64_t *x = w->val;
  for (uint32_t m = w->fields; m; m &= m - 1)
    dst->v[__builtin_ctz(m)] -= *x++;
}

/* Whether two partial windows carry the same counters (histograms aside):
 * the same fields, then the same values one by one (a few; no library
 * popcount and memcmp for each of a cycle's thousands of windows). */
static int win_same_values(const ccp_partial_win_t *a, const ccp_partial_win_t *b) {
  if (a->fields != b->fields)
    return 0;
  const int64_t *x = a->val, *y = b->val;
  for (uint32_t m = a->fields; m; m &= m - 1)
    if (*x++ != *y++)
      return 0;
  return 1;
}

/* Asks for the first lines of the histograms figures_move() reads: the
 * merged ones are blocks of their own, cold since the last cycle, and each
 * move stalled on its misses in turn; asked for all at once they overlap. */
static void figures_prefetch(const vscope_t *dst, const ccp_partial_win_t *old,
                             const ccp_partial_win_t *src, int nwin) {
  for (int w = 0; w < nwin; w++)
    for (int h = 0; h < CCP_H__COUNT; h++) {
      const vhist_t *d = &dst->win[w].hist[h];
      if (d->n) {
        ccp_prefetch(d->bin);
        ccp_prefetch(d->count);
      }
      if (old && old[w].hist[h].n)
        ccp_prefetch(old[w].hist[h].count);
      if (src && src[w].hist[h].n)
        ccp_prefetch(src[w].hist[h].count);
    }
}

/* Moves a scope's window figures from the windows old (a block merged
 * before from the same merge index; NULL: none) to src's. A window whose
 * figures moved is dirty: its KPIs are computed again on the next read. */
static void figures_move(ccp_view_t *v, vscope_t *dst, const ccp_partial_win_t *old,
                         const ccp_partial_win_t *src, int nwin) {
  static const ccp_shist_t none = {0, NULL, NULL};
  figures_prefetch(dst, old, src, nwin);
  for (int w = 0; w < nwin; w++) {
    vwin_t *vw = &dst->win[w];
    vwin_cust_restore(vw);
    unsigned moved = old && src ? !win_same_values(&old[w], &src[w])
                                : (old && old[w].fields) || (src && src[w].fields);
    if (moved && old)
      partial_win_sub(&vw->total, &old[w]);
    if (moved && src)
      ccp_partial_win_add(&vw->total, &src[w]);
    for (int h = 0; h < CCP_H__COUNT; h++)
      if (vhist_move(v, &vw->hist[h], old ? &old[w].hist[h] : &none, src ? &src[w].hist[h] : &none))
        moved |= 2u << h;
    vw->dirty |= moved;
  }
}

/* Adds a partial scope's windows to a merged scope (see the top): a block
 * already held at this merge index costs nothing, another replaces it. */
static void figures_merge(ccp_view_t *v, vscope_t *dst, const ccp_partial_scope_t *src, int nwin) {
  int i = v->nmerged;
  if (dst->fstale) { /* figures no block accounts for: plain sums until the reset */
    figures_move(v, dst, NULL, src->win, nwin);
    return;
  }
  if (i >= dst->nfblk) {
    int n = CCP_MAX(i + 1, 2 * dst->nfblk);
    dst->fblk = grow_zeroed(dst->fblk, dst->nfblk, n, sizeof *dst->fblk);
    dst->fseen = grow_zeroed(dst->fseen, dst->nfblk, n, sizeof *dst->fseen);
    dst->nfblk = n;
  }
  ccp_words_t *old = dst->fblk[i];
  dst->fseen[i] = v->cycle;
  if (src->blk && old == src->blk)
    return; /* the same windows as merged the cycle before */
  figures_move(v, dst, old ? (const ccp_partial_win_t *)old->w : NULL, src->win, nwin);
  ccp_words_free(old);
  dst->fblk[i] = ccp_words_ref(src->blk);
  if (!src->blk)
    dst->fstale = 1; /* windows of their own: nothing to subtract them by later */
}

/* Takes out of every scope the windows of the blocks not merged again
 * since the reset (a partial gone, or a scope it no longer carries). */
static void figures_finish(ccp_view_t *v) {
  v->fpending = 0;
  for (int k = 0; k < v->nscopes; k++) {
    vscope_t *s = &v->scopes[k]; /* stale or not: its totals hold those blocks */
    for (int i = 0; i < s->nfblk; i++)
      if (s->fblk[i] && s->fseen[i] != v->cycle) {
        figures_move(v, s, (const ccp_partial_win_t *)s->fblk[i]->w, NULL, v->cfg->nwindows);
        ccp_words_free(s->fblk[i]);
        s->fblk[i] = NULL;
      }
  }
}

void ccp_view_set_time(ccp_view_t *v, const ccp_partial_t *p) {
  if (p->now != INT64_MIN && (v->now == INT64_MIN || p->now > v->now)) {
    v->now = p->now;
    memcpy(v->cur_b, p->cur_b, sizeof v->cur_b);
    memcpy(v->start_b, p->start_b, sizeof v->start_b);
  }
}

void ccp_view_merge(ccp_view_t *v, const ccp_partial_t *p) {
  ccp_view_set_time(v, p);
  ccp_view_merge_figures(v, p);
}

void ccp_view_merge_figures(ccp_view_t *v, const ccp_partial_t *p) {
  for (int i = 0; i < p->nscopes; i++) {
    const ccp_partial_scope_t *src = &p->scopes[i];
    vscope_t *dst = view_scope(v, src->name, src->name_len, src->kind);
    vscope_add_gauges(dst, src->open, src->waiting, src->aged, src->oldest_open);
    figures_merge(v, dst, src, CCP_MIN(p->nwindows, v->cfg->nwindows));
    if (src->cust) {
      vscope_add_cust(dst, ccp_words_ref(src->cust), v->nmerged, ccp_words_ref(src->cust_from),
                      ccp_words_ref(src->cust_chg));
      v->cust_pending = 1;
    }
  }
  if (p->cust_unit > 0)
    v->cust_unit = p->cust_unit;
  if (p->rs) {
    if (v->nsamples == v->samples_cap) {
      v->samples_cap = v->samples_cap ? 2 * v->samples_cap : 8;
      v->samples = ccp_realloc(v->samples, (size_t)v->samples_cap * sizeof *v->samples);
    }
    v->samples[v->nsamples++] = (vsample_t){
        ccp_words_ref(p->rs),    p->rs_c, p->rs_l, v->nmerged, ccp_words_ref(p->rs_from),
        ccp_words_ref(p->rs_chg)};
    v->cust_pending = 1;
  }
  v->ret_prev += p->ret_prev;
  v->ret_both += p->ret_both;
  const int64_t *s = (const int64_t *)&p->diag;
  int64_t *d = (int64_t *)&v->diag;
  for (size_t k = 0; k < sizeof p->diag / sizeof(int64_t); k++)
    d[k] += s[k];
  v->tickets += p->tickets;
  v->sorted = 0;
  v->folded = 0;
  v->nmerged++;
}

/* ------------------------------------------------------------- customers */

/* Key of a run's current entry: the customer hash of its first word. */
static inline uint64_t krun_key(const krun_t *r, int stride) {
  uint64_t w = r->w[(size_t)r->at * stride];
  return stride == 1 ? w >> 32 : w;
}

/* Restores the heap (smallest key on top) below slot i. The keys are in
 * the heap itself: a comparison reads no run. */
static void kheap_down(kent_t *heap, int n, int i) {
  kent_t x = heap[i];
  for (;;) {
    int l = 2 * i + 1;
    if (l >= n)
      break;
    if (l + 1 < n && heap[l + 1].key < heap[l].key)
      l++;
    if (heap[l].key >= x.key)
      break;
    heap[i] = heap[l];
    i = l;
  }
  heap[i] = x;
}

/* Heap of the non-empty runs v->runs[0..n); returns its size. */
static int kheap_init(ccp_view_t *v, int n, int stride) {
  int k = 0;
  for (int i = 0; i < n; i++)
    if (v->runs[i].n)
      v->heap[k++] = (kent_t){krun_key(&v->runs[i], stride), i};
  for (int i = k / 2 - 1; i >= 0; i--)
    kheap_down(v->heap, k, i);
  return k;
}

/* Moves the top run past its entry; returns the new heap size. */
static int kheap_next(ccp_view_t *v, int k, int stride) {
  krun_t *r = &v->runs[v->heap[0].run];
  if (++r->at == r->n)
    v->heap[0] = v->heap[--k];
  else
    v->heap[0].key = krun_key(r, stride);
  kheap_down(v->heap, k, 0);
  return k;
}

static void runs_reserve(ccp_view_t *v, int n) {
  if (n <= v->runs_cap)
    return;
  v->runs_cap = CCP_MAX(n, 2 * v->runs_cap);
  v->runs = ccp_realloc(v->runs, (size_t)v->runs_cap * sizeof *v->runs);
  v->heap = ccp_realloc(v->heap, (size_t)v->runs_cap * sizeof *v->heap);
}

/* customers_handled of a scope merged from several partials: each distinct
 * hash counts in the windows whose edge its latest unit reaches. */
static void cust_union(ccp_view_t *v, vscope_t *s) {
  const ccp_config_t *cfg = v->cfg;
  int nw = cfg->nwindows;
  int64_t edge[CCP_MAX_WINDOWS], count[CCP_MAX_WINDOWS] = {0};
  for (int w = 0; w < nw; w++)
    edge[w] = v->start_b[w] * (cfg->windows[w].granularity_ms / v->cust_unit);
  int64_t ref = ccp_floordiv(v->now, v->cust_unit);
  runs_reserve(v, s->ncust);
  for (int i = 0; i < s->ncust; i++)
    v->runs[i] = (krun_t){s->cust[i]->w, 0, s->cust[i]->n, 0};
  int k = kheap_init(v, s->ncust, 1);
  while (k) {
    uint64_t key = v->heap[0].key;
    int64_t latest = INT64_MIN;
    do { /* every run's entry of this hash: the latest unit */
      const krun_t *r = &v->runs[v->heap[0].run];
      uint32_t u = ccp_cust_unit(r->w[r->at]);
      latest = CCP_MAX(latest, ref + (int32_t)(u - (uint32_t)ref));
      k = kheap_next(v, k, 1);
    } while (k && v->heap[0].key == key);
    for (int w = 0; w < nw; w++)
      count[w] += latest >= edge[w];
  }
  for (int w = 0; w < nw; w++) {
    vwin_cust_keep(&s->win[w]);
    s->win[w].total.v[CCP_F_CUST] = count[w];
  }
}

/* An entry's latest unit, read near ref (as the engine reads its map). */
static inline int64_t cust_abs(uint64_t ent, int64_t ref) {
  return ref + (int32_t)(ccp_cust_unit(ent) - (uint32_t)ref);
}

/* Moves one customer's latest unit in a scope's union from `from` to `to`
 * (INT64_MIN: none) in the counts per window. */
static void union_move(vscope_t *s, int nw, int64_t from, int64_t to) {
  for (int w = 0; w < nw; w++)
    s->ucount[w] += (to >= s->uedge[w]) - (from >= s->uedge[w]);
}

/* The latest unit of hash h over the entries the union holds (INT64_MIN:
 * none), by a binary search in each. */
static int64_t union_latest(const vscope_t *s, uint32_t h, int64_t ref) {
  int64_t best = INT64_MIN;
  for (int i = 0; i < s->nprev; i++) {
    const ccp_words_t *b = s->prev[i];
    uint32_t at = b ? ccp_words_find(b, 1, 32, h) : 0;
    if (b && at < b->n)
      best = CCP_MAX(best, cust_abs(b->w[at], ref));
  }
  return best;
}

/* One customer's entry in one partial changed from a to b (units;
 * INT64_MIN: none); s->prev already holds the new entries. Keeps
 * umap[h] = the latest over prev whenever that is at least ufloor (below
 * it, counting in no window, the entry may be missing or stale). */
static void union_change(vscope_t *s, int nw, uint32_t h, int64_t a, int64_t b, int64_t ref) {
  uint64_t *m = ccp_u64map_get(&s->umap, h);
  int64_t cur = m ? (int64_t)*m : INT64_MIN;
  if (b > cur) { /* a new latest */
    if (!m) {
      if (b < s->ufloor)
        return;
      int isnew;
      m = ccp_u64map_put(&s->umap, h, &isnew);
    }
    *m = (uint64_t)b;
    union_move(s, nw, cur, b);
  } else if (m && a == cur && b < a) { /* the latest may have gone: look again */
    int64_t x = union_latest(s, h, ref);
    if (x < s->ufloor) {
      ccp_u64map_del(&s->umap, h);
      x = INT64_MIN;
    } else {
      *m = (uint64_t)x;
    }
    union_move(s, nw, cur, x);
  }
}

/* Applies the difference between one partial's previous entries o and its
 * current ones c (either NULL) to the union: a walk of two sorted lists. */
static void union_diff(vscope_t *s, int nw, const ccp_words_t *o, const ccp_words_t *c,
                       int64_t ref) {
  uint32_t i = 0, j = 0, no = o ? o->n : 0, nc = c ? c->n : 0;
  while (i < no || j < nc) {
    if (i < no && j < nc && o->w[i] == c->w[j]) {
      i++, j++;
      continue;
    }
    uint32_t ho = i < no ? ccp_cust_hash(o->w[i]) : UINT32_MAX;
    uint32_t hc = j < nc ? ccp_cust_hash(c->w[j]) : UINT32_MAX;
    if (j == nc || (i < no && ho < hc)) { /* gone */
      union_change(s, nw, ho, cust_abs(o->w[i++], ref), INT64_MIN, ref);
    } else if (i == no || hc < ho) { /* new */
      union_change(s, nw, hc, INT64_MIN, cust_abs(c->w[j++], ref), ref);
    } else { /* moved */
      union_change(s, nw, ho, cust_abs(o->w[i++], ref), cust_abs(c->w[j++], ref), ref);
    }
  }
}

/* Applies one partial's entries that changed to the union: the current
 * entries are its previous ones o with the entries of chg put in (a new
 * customer, or a later unit: partial.h), so only those differ from o; each
 * is looked up in o by a binary search. The same changes as union_diff()
 * of o and the current entries finds by walking both whole. */
static void union_apply(vscope_t *s, int nw, const ccp_words_t *o, const ccp_words_t *chg,
                        int64_t ref) {
  for (uint32_t k = 0; k < chg->n; k++) {
    uint32_t h = ccp_cust_hash(chg->w[k]), at = ccp_words_find(o, 1, 32, h);
    if (at < o->n && o->w[at] == chg->w[k])
      continue;
    union_change(s, nw, h, at < o->n ? cust_abs(o->w[at], ref) : INT64_MIN,
                 cust_abs(chg->w[k], ref), ref);
  }
}

/* ccp_u64map_filter() callback of a recount: drops the entries below the
 * floor, counts the others per window. */
static int union_recount(void *opaque, uint64_t key, uint64_t val) {
  vscope_t *s = opaque;
  (void)key;
  int64_t u = (int64_t)val;
  if (u < s->ufloor)
    return 0;
  for (int w = 0; w < CCP_MAX_WINDOWS; w++)
    s->ucount[w] += u >= s->uedge[w];
  return 1;
}

/* customers_handled of a scope merged from several partials, from the union
 * kept since the last cycle: the partials' entries that differ from the
 * ones the union holds (by merge index; an engine hands an unchanged
 * scope's block again) are applied as changes, so a cycle walks the changed
 * blocks once instead of a k-way merge of all. The same counts as
 * cust_union() (the union is a function of the entries held, whichever
 * partial they came from); afresh when the unit changes or an edge moves
 * back (a restored or lost partition's older time). */
static void cust_sync(ccp_view_t *v, vscope_t *s) {
  const ccp_config_t *cfg = v->cfg;
  int nw = cfg->nwindows;
  int64_t edge[CCP_MAX_WINDOWS], floor = INT64_MAX;
  for (int w = 0; w < CCP_MAX_WINDOWS; w++)
    edge[w] = INT64_MAX; /* unused windows count nothing */
  for (int w = 0; w < nw; w++) {
    edge[w] = v->start_b[w] * (cfg->windows[w].granularity_ms / v->cust_unit);
    floor = CCP_MIN(floor, edge[w]);
  }
  int64_t ref = ccp_floordiv(v->now, v->cust_unit);
  if (s->uvalid && (s->uunit != v->cust_unit || floor < s->ufloor))
    vscope_drop_union(s);
  if (!s->uvalid) {
    ccp_u64map_init(&s->umap);
    s->uvalid = 1;
    s->uunit = v->cust_unit;
    s->ufloor = floor;
    memcpy(s->uedge, edge, sizeof edge);
    memset(s->ucount, 0, sizeof s->ucount);
  } else if (memcmp(s->uedge, edge, sizeof edge) != 0) { /* edges moved on */
    s->ufloor = floor;
    memcpy(s->uedge, edge, sizeof edge);
    memset(s->ucount, 0, sizeof s->ucount);
    ccp_u64map_filter(&s->umap, union_recount, s); /* few leave */
  }
  /* the current entries by merge index */
  int n = CCP_MAX(v->nmerged, s->nprev);
  if (n > v->ucur_cap) {
    v->ucur_cap = CCP_MAX(n, 2 * v->ucur_cap);
    v->ucur = ccp_realloc(v->ucur, (size_t)v->ucur_cap * sizeof *v->ucur);
  }
  memset(v->ucur, 0, (size_t)n * sizeof *v->ucur);
  for (int i = 0; i < s->ncust; i++) {
    CCP_ASSERT(s->cust_src[i] >= 0 && s->cust_src[i] < v->nmerged && !v->ucur[s->cust_src[i]].w);
    /* the references move: the entries to prev below, the hint is released there */
    v->ucur[s->cust_src[i]] = (ucur_t){s->cust[i], s->cust_hint[2 * i], s->cust_hint[2 * i + 1]};
  }
  s->ncust = 0;
  if (n > s->nprev) {
    s->prev = grow_zeroed(s->prev, s->nprev, n, sizeof *s->prev);
    s->nprev = n;
  }
  for (int i = 0; i < n; i++) {
    ucur_t *u = &v->ucur[i];
    ccp_words_t *o = s->prev[i], *c = u->w;
    if (o == c) {
      ccp_words_free(c); /* the union holds it already */
    } else {
      s->prev[i] = c; /* before the diff: a lookup reads the entries now held */
      if (o && c && u->chg && u->from == o)
        union_apply(s, nw, o, u->chg, ref); /* c is o with these put in */
      else
        union_diff(s, nw, o, c, ref);
      ccp_words_free(o);
    }
    ccp_words_free(u->from);
    ccp_words_free(u->chg);
  }
  while (s->nprev && !s->prev[s->nprev - 1])
    s->nprev--;
  for (int w = 0; w < nw; w++) {
    vwin_cust_keep(&s->win[w]);
    s->win[w].total.v[CCP_F_CUST] = s->ucount[w];
  }
}

/* Forgets the retention union kept (rs_sync() starts afresh next time). */
static void rs_drop(ccp_view_t *v) {
  for (int i = 0; i < v->nrprev; i++)
    ccp_words_free(v->rprev[i].w);
  ccp_free(v->rprev);
  v->rprev = NULL;
  v->nrprev = 0;
  ccp_u64map_release(&v->rmap);
  v->rvalid = 0;
}

/* A sampled customer's activity bits in a sample, moved to the union's slot
 * (0 when it is not in the sample at the union's L). */
static inline uint64_t rs_bits_of(const ccp_view_t *v, int64_t c, const uint64_t *pair) {
  const uint64_t mask = (1ULL << CCP_RS_BITS) - 1;
  int64_t d = v->r_c - c;
  if (d >= CCP_RS_BITS || pair[0] > CCP_RS_MAX(v->r_l))
    return 0;
  return (pair[1] << d) & mask;
}

/* The same for the pair at index `at` of a sample. */
static inline uint64_t rs_bits(const ccp_view_t *v, const vsample_t *x, uint32_t at) {
  return rs_bits_of(v, x->c, &x->w->w[2 * (size_t)at]);
}

/* The activity of hash h ORed over the samples held, by a binary search in each. */
static uint64_t rs_or(const ccp_view_t *v, uint64_t h) {
  uint64_t bits = 0;
  for (int i = 0; i < v->nrprev; i++) {
    const vsample_t *x = &v->rprev[i];
    uint32_t at = x->w ? ccp_words_find(x->w, 2, 0, h) : 0;
    if (x->w && at < x->w->n)
      bits |= rs_bits(v, x, at);
  }
  return bits;
}

/* One customer's aligned activity in one sample went from a to b. */
static void rs_change(ccp_view_t *v, uint64_t h, uint64_t a, uint64_t b) {
  const uint64_t cur = (1ULL << CCP_RS_BITS / 2) - 1;
  uint64_t *m = ccp_u64map_get(&v->rmap, h);
  uint64_t old = m ? *m : 0, now = a & ~b ? rs_or(v, h) : old | b;
  if (now == old)
    return;
  v->r_prev += (int64_t)((now & ~cur) != 0) - (int64_t)((old & ~cur) != 0);
  v->r_both += (int64_t)((now & ~cur) && (now & cur)) - (int64_t)((old & ~cur) && (old & cur));
  if (!now) {
    ccp_u64map_del(&v->rmap, h);
  } else {
    if (!m) {
      int isnew;
      m = ccp_u64map_put(&v->rmap, h, &isnew);
    }
    *m = now;
  }
}

/* Retention from the partials' samples, kept from cycle to cycle as the
 * customer union is (cust_sync()): a sample that differs from the one held
 * at its merge index is applied as changes (one walk of the two sorted
 * lists); a customer whose bits went away is ORed again over every sample
 * held. The same counts as rs_union(): the union is a function of the
 * samples held. Afresh when the slot or L of the union changes. */
static void rs_sync(ccp_view_t *v) {
  int l = 0;
  int64_t c = INT64_MIN;
  for (int i = 0; i < v->nsamples; i++) {
    l = CCP_MAX(l, v->samples[i].l);
    c = CCP_MAX(c, v->samples[i].c);
  }
  if (v->rvalid && (v->r_c != c || v->r_l != l))
    rs_drop(v);
  if (!v->rvalid) {
    ccp_u64map_init(&v->rmap);
    v->rvalid = 1;
    v->r_c = c;
    v->r_l = l;
    v->r_prev = v->r_both = 0;
  }
  int n = CCP_MAX(v->nmerged, v->nrprev);
  if (n > v->rcur_cap) {
    v->rcur_cap = CCP_MAX(n, 2 * v->rcur_cap);
    v->rcur = ccp_realloc(v->rcur, (size_t)v->rcur_cap * sizeof *v->rcur);
  }
  memset(v->rcur, 0, (size_t)n * sizeof *v->rcur);
  for (int i = 0; i < v->nsamples; i++) {
    CCP_ASSERT(v->samples[i].src < v->nmerged && !v->rcur[v->samples[i].src].w);
    v->rcur[v->samples[i].src] = v->samples[i]; /* the reference moves to rprev below */
  }
  v->nsamples = 0;
  if (n > v->nrprev) {
    v->rprev = grow_zeroed(v->rprev, v->nrprev, n, sizeof *v->rprev);
    v->nrprev = n;
  }
  for (int i = 0; i < n; i++) {
    vsample_t o = v->rprev[i], x = v->rcur[i];
    ccp_words_t *from = x.from, *chg = x.chg; /* released below: rprev holds no hint */
    x.from = x.chg = NULL;
    if (o.w == x.w && o.c == x.c) {
      ccp_words_free(x.w); /* held already */
      ccp_words_free(from);
      ccp_words_free(chg);
      continue;
    }
    v->rprev[i] = x; /* before the walk: a lookup reads the samples now held */
    uint32_t j = 0, k = 0, no = o.w ? o.w->n : 0, nx = x.w ? x.w->n : 0;
    if (o.w && x.w && chg && from == o.w && o.c == x.c && o.l == x.l) {
      /* x is o with chg's pairs put in (partial.h): only those differ */
      for (uint32_t q = 0; q < chg->n; q++) {
        const uint64_t *pair = &chg->w[2 * (size_t)q];
        uint32_t at = ccp_words_find(o.w, 2, 0, pair[0]);
        uint64_t a = at < no ? rs_bits(v, &o, at) : 0, b = rs_bits_of(v, x.c, pair);
        if (a != b)
          rs_change(v, pair[0], a, b);
      }
      j = no, k = nx; /* no walk */
    }
    ccp_words_free(from);
    ccp_words_free(chg);
    while (j < no || k < nx) {
      uint64_t ho = j < no ? o.w->w[2 * (size_t)j] : UINT64_MAX;
      uint64_t hx = k < nx ? x.w->w[2 * (size_t)k] : UINT64_MAX;
      if (k == nx || (j < no && ho < hx)) {
        rs_change(v, ho, rs_bits(v, &o, j++), 0);
      } else if (j == no || hx < ho) {
        rs_change(v, hx, 0, rs_bits(v, &x, k++));
      } else {
        uint64_t a = rs_bits(v, &o, j++), b = rs_bits(v, &x, k++);
        if (a != b)
          rs_change(v, ho, a, b);
      }
    }
    ccp_words_free(o.w);
  }
  while (v->nrprev && !v->rprev[v->nrprev - 1].w)
    v->nrprev--;
  v->ret_prev = v->r_prev; /* of the sample: only their ratio is published */
  v->ret_both = v->r_both;
}

/* Unites the customers merged since the last read (see the top). */
static void customers_finish(ccp_view_t *v) {
  v->cust_pending = 0;
  for (int i = 0; i < v->nscopes; i++) {
    vscope_t *s = &v->scopes[i];
    if (s->ncust > 1 && v->cust_unit > 0 && v->now != INT64_MIN && !s->cust_fold) {
      cust_sync(v, s);
      continue;
    }
    vscope_drop_union(s); /* one partial's own counts stand, or entries were folded in */
    if (s->ncust > 1 && v->cust_unit > 0 && v->now != INT64_MIN)
      cust_union(v, s);
    vscope_drop_cust(s);
  }
  if (v->nsamples > 1)
    rs_sync(v);
  else
    rs_drop(v);
  drop_samples(v);
}

/* ------------------------------------------------------------------ KPIs */

static double ratio(double num, int64_t den, double scale) {
  return den ? scale * num / (double)den : NAN;
}

/* cost_per_resolution: handled hours per channel times cost.<CH> per hour,
 * per resolved ticket; null while no channel has a cost or nothing was
 * resolved (semantics.md). */
static double cost(const ccp_view_t *v, const int64_t *c) {
  if (!v->has_cost || !c[CCP_F_RESOLVED])
    return NAN;
  double sum = 0;
  for (int ch = 0; ch < CCP_CH__COUNT; ch++)
    if (!isnan(v->cfg->cost_per_hour[ch]))
      sum += (double)c[CCP_F_HMS_PHONE + ch] * v->cfg->cost_per_hour[ch];
  return sum / 3600000.0 / (double)c[CCP_F_RESOLVED];
}

/* Whether two doubles are the same bits (a NaN is the same as itself). */
static inline int same_bits(double a, double b) {
  uint64_t x, y;
  memcpy(&x, &a, sizeof x);
  memcpy(&y, &b, sizeof y);
  return x == y;
}

/* Computes every windowed KPI of one scope window by the table (NaN = null);
 * the percentiles only of the histograms h with bit h of hists set (the
 * others' stand in k from the last computation). */
static void compute(const ccp_view_t *v, const vwin_t *w, double *k, unsigned hists) {
  const int64_t *c = w->total.v;
  /* the percentile walks start at both ends of the histograms' arrays
   * (blocks of their own, mostly cold): asked for before the other KPIs */
  for (int h = 0; h < CCP_H__COUNT; h++) {
    const vhist_t *x = &w->hist[h];
    if (hists >> h & 1 && x->n) {
      ccp_prefetch(x->count);
      ccp_prefetch(x->bin);
      ccp_prefetch(x->count + x->n - 1);
      ccp_prefetch(x->bin + x->n - 1);
    }
  }
  for (int i = 0; i < CCP_K__WINDOWED; i++) {
    const ccp_kpi_def_t *d = &ccp_kpi_defs[i];
    switch (d->kind) {
    case CCP_KPI_COUNT:
      k[i] = (double)c[d->num];
      break;
    case CCP_KPI_RATIO: {
      int64_t num = c[d->num] - (d->num_minus == CCP_F_NONE ? 0 : c[d->num_minus]);
      int64_t den = c[d->den] + (d->den_plus == CCP_F_NONE ? 0 : c[d->den_plus]);
      k[i] = ratio((double)num, den, d->scale);
      break;
    }
    case CCP_KPI_PERCENTILE:
      break; /* below: one walk per histogram */
    case CCP_KPI_COST:
      k[i] = cost(v, c);
      break;
    default:
      CCP_ASSERT(!"a windowed KPI of a kind compute() does not know");
    }
  }
  /* the ranks of each histogram in one walk (table order is ascending) */
  for (int h = 0; h < CCP_H__COUNT; h++) {
    if (!(hists >> h & 1))
      continue;
    int pct[CCP_K__WINDOWED], at[CCP_K__WINDOWED], n = 0;
    for (int i = 0; i < CCP_K__WINDOWED; i++)
      if (ccp_kpi_defs[i].kind == CCP_KPI_PERCENTILE && ccp_kpi_defs[i].hist == h) {
        CCP_ASSERT(n == 0 || ccp_kpi_defs[i].pct > pct[n - 1]);
        pct[n] = ccp_kpi_defs[i].pct;
        at[n++] = i;
      }
    double out[CCP_K__WINDOWED];
    vhist_percentiles(&w->hist[h], pct, n, out);
    for (int j = 0; j < n; j++)
      k[at[j]] = out[j];
  }
}

static const vscope_t *channel_scope(const ccp_view_t *v, int ch);

/* What a window's KPIs and JSON are computed from besides its figures
 * (tracked by dirty): for `all`, the channels' opened counts behind
 * channel_share_pct, hashed; 0 for the other scopes. */
static uint64_t others_hash(const ccp_view_t *v, const vscope_t *s, int wi) {
  if (s->kind != CCP_SC_ALL)
    return 0;
  int64_t opened[CCP_CH__COUNT];
  for (int c = 0; c < CCP_CH__COUNT; c++) {
    const vscope_t *cs = channel_scope(v, c);
    opened[c] = cs ? cs->win[wi].total.v[CCP_F_OPENED] : 0;
  }
  return ccp_hash64(opened, sizeof opened, 0x6b7069);
}

/* The KPIs of a view's scope window (the snapshot, the tiles and the rules
 * all read them), computed only when its inputs changed since they were
 * last computed: its figures moved (dirty, set where they move: a window
 * whose blocks were replaced by the same figures is not), its
 * customers_handled (the union's count, put in after the blocks' sum is
 * restored every reset) or, for `all`, a channel's opened count differs. A
 * change drops the rendered JSON. */
static const double *kpis_of(const ccp_view_t *v, const vscope_t *s, int wi) {
  vwin_t *w = (vwin_t *)&s->win[wi]; /* a cache: the view is logically const */
  uint64_t oh = others_hash(v, s, wi);
  int64_t cust = w->total.v[CCP_F_CUST];
  if (!w->kpis || w->dirty || cust != w->in_cust || oh != w->in_hash) {
    unsigned hists = w->dirty >> 1; /* the histograms that moved */
    double was[CCP_K__WINDOWED];
    if (!w->kpis) {
      w->kpis = ccp_malloc(CCP_K__WINDOWED * sizeof *w->kpis + KLEN_N);
      hists = ~0u;
      w->kmoved = ~0u;
    } else {
      memcpy(was, w->kpis, sizeof was);
    }
    compute(v, w, w->kpis, hists);
    if (w->kmoved != ~0u) /* which values moved: the others keep their rendered bytes */
      for (int i = 0; i < CCP_K__WINDOWED; i++)
        if (!same_bits(was[i], w->kpis[i]))
          w->kmoved |= 1u << i;
    w->dirty = 0;
    w->in_cust = cust;
    w->in_hash = oh;
    w->json_ok = 0; /* its bytes are rendered again over the same allocation */
  }
  return w->kpis;
}

/* The lengths of a window's entries in its json (klen of KLEN_N), after its KPIs. */
static inline uint8_t *kpi_lens(const vwin_t *w) { return (uint8_t *)(w->kpis + CCP_K__WINDOWED); }

/* Agent scorecard (semantics.md §8) over the window's KPIs k. */
static double score(const ccp_view_t *v, const double *k) {
  const ccp_config_t *cfg = v->cfg;
  double num = 0, den = 0;
  for (int i = 0; i < cfg->nscore_terms; i++) {
    const ccp_score_term_t *t = &cfg->score_terms[i];
    int ki = v->score_ki[i]; /* a CCP_KPI_SCORECARD one: windowed */
    if (ki < 0 || ki >= CCP_K__WINDOWED || isnan(k[ki]))
      continue;
    double a;
    if (t->higher_is_better) {
      a = k[ki] / t->target;
      a = a < 0 ? 0 : (a > 1 ? 1 : a);
    } else {
      a = k[ki] <= t->target ? 1.0 : t->target / k[ki];
    }
    num += t->weight * a;
    den += t->weight;
  }
  return den > 0 ? 100.0 * num / den : NAN;
}

/* Gauge g of a scope; 0 when null (longest_wait_ms with nobody waiting). */
static int gauge(const ccp_view_t *v, const vscope_t *s, int g, int64_t *out) {
  switch (g) {
  case CCP_G_OPEN:
    *out = s->open;
    return 1;
  case CCP_G_WAITING:
    *out = s->waiting;
    return 1;
  case CCP_G_LONGEST_WAIT:
    if (s->oldest_open == INT64_MAX)
      return 0;
    *out = v->now - s->oldest_open;
    return 1;
  case CCP_G_BACKLOG_AGED:
    *out = s->aged;
    return 1;
  }
  CCP_ASSERT(!"unknown gauge");
  return 0;
}

/* ---------------------------------------------------------------- order */

/* qsort_r comparator: the view comes as the context, so views in different
 * threads sort independently. */
static int cmp_scope(const void *a, const void *b, void *ctx) {
  const ccp_view_t *v = ctx;
  const vscope_t *x = &v->scopes[*(const int *)a];
  const vscope_t *y = &v->scopes[*(const int *)b];
  if (x->kind == CCP_SC_ALL)
    return -1;
  if (y->kind == CCP_SC_ALL)
    return 1;
  return strcmp(x->name, y->name);
}

/* Adds a folded scope's merged figures into the overflow scope dst. */
static void vscope_fold(ccp_view_t *v, vscope_t *dst, vscope_t *src) {
  vscope_add_gauges(dst, src->open, src->waiting, src->aged, src->oldest_open);
  for (int w = 0; w < v->cfg->nwindows; w++) {
    ccp_counters_t *d = &dst->win[w].total;
    const ccp_counters_t *x = &src->win[w].total;
    for (int f = 0; f < CCP_F__COUNT; f++)
      d->v[f] += x->v[f];
    for (int h = 0; h < CCP_H__COUNT; h++) {
      const vhist_t *sh = &src->win[w].hist[h];
      ccp_shist_t as = {sh->n, sh->bin, sh->count};
      vhist_add(v, &dst->win[w].hist[h], &as);
    }
    dst->win[w].dirty = ~0u;
  }
  /* its customer entries go along: the overflow scope unites them
   * (customers_finish), so a customer of two folded scopes counts once */
  for (int i = 0; i < src->ncust; i++) { /* the reference moves; a hint is of no use there */
    vscope_add_cust(dst, src->cust[i], -1, NULL, NULL);
    ccp_words_free(src->cust_hint[2 * i]);
    ccp_words_free(src->cust_hint[2 * i + 1]);
  }
  src->ncust = 0;
  dst->cust_fold = 1;
  dst->fstale = 1;                     /* its totals hold the folded figures now */
  vscope_clear(src, v->cfg->nwindows); /* not present: left out, freed at the next reset */
  vscope_zero_figures(src, v->cfg->nwindows);
  src->fstale = 1;
}

static int cmp_index_name(const void *a, const void *b, void *ctx) {
  const ccp_view_t *v = ctx;
  return strcmp(v->scopes[*(const int *)a].name, v->scopes[*(const int *)b].name);
}

/* The caps in the merged view (docs/semantics.md §12): each engine keeps at
 * most limits.queues queue and limits.agents agent scopes, but the
 * partitions of a view may hold different ones. When more than the cap of
 * a kind are present, the cap bytewise-smallest names stay and the others
 * are folded into `<kind>:~other`: one rule whatever the number of
 * partitions and the order of the merge, and nothing when one partition
 * (replay, or any view within its cap) is merged. */
static void fold_overflow(ccp_view_t *v) {
  static const uint8_t kinds[2] = {CCP_SC_QUEUE, CCP_SC_AGENT};
  for (int ki = 0; ki < 2; ki++) {
    uint8_t kind = kinds[ki];
    int64_t cap = kind == CCP_SC_QUEUE ? v->cfg->max_queues : v->cfg->max_agents;
    const char *pre = kind == CCP_SC_QUEUE ? "queue:" : "agent:";
    char oname[32];
    int olen = snprintf(oname, sizeof oname, "%s%s", pre, CCP_OVERFLOW_NAME);
    int n = 0;
    for (int i = 0; i < v->nscopes; i++) {
      const vscope_t *s = &v->scopes[i];
      n += s->present && s->kind == kind &&
           !(s->name_len == (size_t)olen && memcmp(s->name, oname, (size_t)olen) == 0);
    }
    if (n <= cap)
      continue;
    int *idx = ccp_malloc((size_t)n * sizeof *idx);
    n = 0;
    for (int i = 0; i < v->nscopes; i++) {
      const vscope_t *s = &v->scopes[i];
      if (s->present && s->kind == kind &&
          !(s->name_len == (size_t)olen && memcmp(s->name, oname, (size_t)olen) == 0))
        idx[n++] = i;
    }
    qsort_r(idx, (size_t)n, sizeof *idx, cmp_index_name, v);
    /* the overflow scope may be created here: v->scopes may move, so by index */
    int other = (int)(view_scope(v, oname, (size_t)olen, kind) - v->scopes);
    for (int j = (int)cap; j < n; j++)
      vscope_fold(v, &v->scopes[other], &v->scopes[idx[j]]);
    v->cust_pending = 1;
    ccp_free(idx);
  }
}

/* Sorts the scopes once per merge, or keeps the last order when the same
 * scopes are all present again (a live center's usual cycle: sorting 20,000
 * names every cycle is avoidable work); the view is logically const. */
static void ensure_sorted(const ccp_view_t *cv) {
  ccp_view_t *v = (ccp_view_t *)cv;
  if (v->fpending)
    figures_finish(v);
  if (!v->sorted && !v->folded) {
    v->folded = 1; /* once per merge: before the customers are united */
    fold_overflow(v);
  }
  if (v->cust_pending)
    customers_finish(v);
  if (v->sorted)
    return;
  int all_present = 1;
  for (int i = 0; i < v->nscopes; i++) {
    if (v->scopes[i].kind == CCP_SC_ALL)
      v->scopes[i].present = 1; /* an empty view still shows `all` */
    all_present &= v->scopes[i].present;
  }
  if (v->order_all && all_present) {
    v->norder = v->nscopes;
    v->sorted = 1;
    return;
  }
  ccp_free(v->order);
  v->order = ccp_malloc((size_t)(v->nscopes ? v->nscopes : 1) * sizeof *v->order);
  v->norder = 0;
  int has_all = 0;
  for (int i = 0; i < v->nscopes; i++) {
    vscope_t *s = &v->scopes[i];
    if (s->kind == CCP_SC_ALL) {
      has_all = 1;
      s->present = 1; /* an empty view still shows `all` */
    }
    if (s->present)
      v->order[v->norder++] = i;
  }
  if (!has_all) {
    view_scope(v, "all", 3, CCP_SC_ALL)->present = 1;
    v->order = ccp_realloc(v->order, (size_t)v->nscopes * sizeof *v->order);
    v->order[v->norder++] = v->nscopes - 1;
  }
  qsort_r(v->order, (size_t)v->norder, sizeof *v->order, cmp_scope, v);
  v->sorted = 1;
  v->order_all = v->norder == v->nscopes;
}

/* ----------------------------------------------------------------- JSON */

/* "name": in one reserve (every KPI of every rendered window passes here) */
static void put_name(ccp_buf_t *b, const char *name) {
  size_t len = strlen(name);
  ccp_buf_reserve(b, len + 3);
  char *o = b->data + b->len;
  o[0] = '"';
  memcpy(o + 1, name, len);
  o[len + 1] = '"';
  o[len + 2] = ':';
  o[len + 3] = 0;
  b->len += len + 3;
}

/* The scope of a name when it has data this cycle, else NULL. */
static const vscope_t *scope_by_name(const ccp_view_t *v, const char *name, size_t len) {
  for (uint64_t seed = 0x766965;; seed++) {
    const uint64_t *slot = ccp_u64map_get(&v->index, ccp_u64map_key(ccp_hash64(name, len, seed)));
    if (!slot)
      return NULL;
    const vscope_t *s = &v->scopes[*slot];
    if (s->name_len == len && memcmp(s->name, name, len) == 0)
      return s->present ? s : NULL;
  }
}

static const vscope_t *channel_scope(const ccp_view_t *v, int ch) {
  char name[32];
  int len = snprintf(name, sizeof name, "channel:%s", ccp_channel_name(ch));
  return scope_by_name(v, name, (size_t)len);
}

/* Renders a window's KPI object into out; old (NULL: none) is its last
 * rendering, whose entries' lengths kpi_lens() holds: the entries of the
 * values that did not move since (not in kmoved) are copied from it, not
 * formatted again (number formatting is most of a rendering's cost, and a
 * cycle moves a few of a window's values). */
static void window_kpis_render(const ccp_view_t *v, const vscope_t *s, int w, ccp_buf_t *out,
                               const char *old) {
  const double *k = kpis_of(v, s, w);
  vwin_t *vw = (vwin_t *)&s->win[w]; /* a cache: the view is logically const */
  uint8_t *klen = kpi_lens(vw);
  const char *op = old ? old + 1 : NULL; /* the next entry of old */
  ccp_buf_putc(out, '{');
  int first = 1; /* zero counts and null values are left out (KPIS.md §5) */
  for (int i = 0; i < CCP_K__WINDOWED; i++) {
    int is_count = ccp_kpi_defs[i].kind == CCP_KPI_COUNT;
    const char *oe = NULL;
    size_t olen = old ? klen[i] : 0;
    if (olen) { /* its entry in old */
      oe = op;
      op += olen + 1;
    }
    klen[i] = 0;
    if (is_count ? k[i] == 0 : isnan(k[i]))
      continue;
    if (!first)
      ccp_buf_putc(out, ',');
    first = 0;
    size_t at = out->len;
    if (oe && !(vw->kmoved >> i & 1)) { /* the same value: the same bytes */
      ccp_buf_append(out, oe, olen);
      klen[i] = (uint8_t)olen;
      ((ccp_view_t *)v)->kept++;
      continue;
    }
    put_name(out, ccp_kpi_defs[i].name);
    if (is_count)
      ccp_buf_put_i64(out, (int64_t)k[i]);
    else
      ccp_buf_put_double(out, k[i]);
    klen[i] = (uint8_t)(out->len - at); /* a name and a number: < 64 bytes */
  }
  if (s->kind == CCP_SC_ALL) { /* not in the KPI table: an object, `all` only */
    int64_t opened = s->win[w].total.v[CCP_F_OPENED];
    if (opened) { /* null otherwise: left out */
      ccp_buf_puts(out, first ? "\"channel_share_pct\":" : ",\"channel_share_pct\":");
      first = 0;
      ccp_buf_putc(out, '{');
      int firstc = 1;
      for (int c = 0; c < CCP_CH__COUNT; c++) {
        const vscope_t *cs = channel_scope(v, c);
        int64_t oc = cs ? cs->win[w].total.v[CCP_F_OPENED] : 0;
        if (!oc)
          continue;
        if (!firstc)
          ccp_buf_putc(out, ',');
        firstc = 0;
        ccp_buf_printf(out, "\"%s\":", ccp_channel_name(c));
        ccp_buf_put_double(out, 100.0 * (double)oc / (double)opened);
      }
      ccp_buf_putc(out, '}');
    }
  }
  size_t olen = old ? klen[CCP_K_SCORE] : 0; /* agents': after the table's KPIs */
  klen[CCP_K_SCORE] = 0;
  if (olen && !(vw->kmoved & v->score_in)) { /* the score of the same values */
    if (!first)
      ccp_buf_putc(out, ',');
    ccp_buf_append(out, op, olen);
    klen[CCP_K_SCORE] = (uint8_t)olen;
    ((ccp_view_t *)v)->kept++;
  } else {
    double sc = s->kind == CCP_SC_AGENT ? score(v, k) : NAN;
    if (!isnan(sc)) { /* agents only; null: left out */
      if (!first)
        ccp_buf_putc(out, ',');
      size_t at = out->len;
      put_name(out, ccp_kpi_defs[CCP_K_SCORE].name);
      ccp_buf_put_double(out, sc);
      klen[CCP_K_SCORE] = (uint8_t)(out->len - at);
    }
  }
  ccp_buf_putc(out, '}');
  vw->kmoved = 0;
}

/* The window's rendered KPI object, cached: the snapshot, the tiles and the
 * scope keys all write the same window objects, and a window whose inputs
 * did not change since the last cycle keeps its bytes (number formatting is
 * the cost). */
static const vwin_t *window_rendered(const ccp_view_t *v, const vscope_t *s, int w) {
  vwin_t *pw = (vwin_t *)&s->win[w]; /* a cache: the view is logically const */
  kpis_of(v, s, w);                  /* json stale when the inputs changed */
  if (!pw->json_ok) {
    ccp_buf_t b = {pw->json, 0, pw->json_cap}; /* the last rendering's room */
    if (pw->json && ~pw->kmoved) {             /* beside the last bytes, then over them */
      ccp_buf_t *x = &((ccp_view_t *)v)->wjson;
      ccp_buf_clear(x);
      window_kpis_render(v, s, w, x, pw->json);
      ccp_buf_append(&b, x->data, x->len);
    } else {
      window_kpis_render(v, s, w, &b, NULL);
    }
    pw->json = b.data; /* ownership moves from the buffer */
    pw->json_len = b.len;
    pw->json_cap = b.cap;
    pw->json_ok = 1;
    pw->json_hash = ccp_hash64(pw->json, pw->json_len, 0x6a736f6e);
  }
  return pw;
}

static void window_kpis_json(const ccp_view_t *v, const vscope_t *s, int w, ccp_buf_t *out) {
  const vwin_t *pw = window_rendered(v, s, w);
  ccp_buf_append(out, pw->json, pw->json_len);
}

/* The gauge rows of the table, in its order. */
static void gauges_json(const ccp_view_t *v, const vscope_t *s, ccp_buf_t *out) {
  ccp_buf_putc(out, '{');
  for (int i = CCP_K__WINDOWED, first = 1; i < CCP_K__COUNT; i++) {
    const ccp_kpi_def_t *d = &ccp_kpi_defs[i];
    if (d->kind != CCP_KPI_GAUGE)
      continue;
    if (!first)
      ccp_buf_putc(out, ',');
    first = 0;
    put_name(out, d->name);
    int64_t g;
    if (gauge(v, s, d->gauge, &g))
      ccp_buf_put_i64(out, g);
    else
      ccp_buf_puts(out, "null");
  }
  ccp_buf_putc(out, '}');
}

static void scope_json(const ccp_view_t *v, const vscope_t *s, ccp_buf_t *out) {
  const ccp_config_t *cfg = v->cfg;
  ccp_buf_puts(out, "{\"gauges\":");
  gauges_json(v, s, out);
  ccp_buf_puts(out, ",\"windows\":{");
  for (int w = 0; w < cfg->nwindows; w++) {
    if (w)
      ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, cfg->windows[w].name, strlen(cfg->windows[w].name));
    ccp_buf_putc(out, ':');
    window_kpis_json(v, s, w, out);
  }
  ccp_buf_putc(out, '}');
  if (s->kind == CCP_SC_ALL) { /* not windowed, not in the KPI table */
    ccp_buf_puts(out, ",\"customers\":{\"period_ms\":");
    ccp_buf_put_i64(out, cfg->retention_period_ms);
    double ret = ratio((double)v->ret_both, v->ret_prev, 100.0);
    ccp_buf_puts(out, ",\"retention_pct\":");
    ccp_buf_put_double(out, ret);
    ccp_buf_puts(out, ",\"churn_pct\":");
    ccp_buf_put_double(out, isnan(ret) ? NAN : 100.0 - ret);
    ccp_buf_putc(out, '}');
  }
  ccp_buf_putc(out, '}');
}

static void window_header(const ccp_view_t *v, ccp_buf_t *out) {
  const ccp_config_t *cfg = v->cfg;
  ccp_buf_puts(out, "\"windows\":{");
  for (int w = 0; w < cfg->nwindows; w++) {
    const ccp_window_conf_t *wc = &cfg->windows[w];
    if (w)
      ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, wc->name, strlen(wc->name));
    ccp_buf_puts(out, ":{\"span_ms\":");
    if (v->now == INT64_MIN) {
      if (wc->is_today)
        ccp_buf_puts(out, "null");
      else
        ccp_buf_put_i64(out, wc->span_ms);
      ccp_buf_puts(out, ",\"granularity_ms\":");
      ccp_buf_put_i64(out, wc->granularity_ms);
      ccp_buf_puts(out, ",\"start_ms\":null}");
      continue;
    }
    ccp_buf_put_i64(out, (v->cur_b[w] - v->start_b[w] + 1) * wc->granularity_ms);
    ccp_buf_puts(out, ",\"granularity_ms\":");
    ccp_buf_put_i64(out, wc->granularity_ms);
    ccp_buf_puts(out, ",\"start_ms\":");
    ccp_buf_put_i64(out, v->start_b[w] * wc->granularity_ms);
    ccp_buf_putc(out, '}');
  }
  ccp_buf_putc(out, '}');
}

void ccp_view_snapshot_json(const ccp_view_t *v, ccp_buf_t *out) {
  ensure_sorted(v);
  ccp_buf_puts(out, "{\"schema\":\"ccpulse.snapshot.v1\",\"now_ms\":");
  if (v->now == INT64_MIN)
    ccp_buf_puts(out, "null");
  else
    ccp_buf_put_i64(out, v->now);
  ccp_buf_putc(out, ',');
  window_header(v, out);
  ccp_buf_puts(out, ",\"scopes\":{");
  for (int oi = 0; oi < v->norder; oi++) {
    const vscope_t *s = &v->scopes[v->order[oi]];
    if (oi)
      ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, s->name, s->name_len);
    ccp_buf_putc(out, ':');
    scope_json(v, s, out);
  }
  const ccp_diag_t *dg = &v->diag;
  ccp_buf_printf(
      out,
      "},\"diagnostics\":{\"events\":%lld,\"late_events\":%lld,\"duplicate_events\":%lld,"
      "\"invalid_events\":%lld,\"dead_letter\":%lld,\"expired_tickets\":%lld,"
      "\"evicted_tickets\":%lld,\"tickets\":%lld,\"overflow_events\":%lld,"
      "\"evicted_customers\":%lld}}",
      (long long)dg->events, (long long)dg->late, (long long)dg->duplicate, (long long)dg->invalid,
      (long long)dg->dead_letter, (long long)dg->expired, (long long)dg->evicted,
      (long long)v->tickets, (long long)dg->overflow, (long long)dg->evicted_customers);
}

/* ------------------------------------------------------------- accessors */

int ccp_view_nscopes(const ccp_view_t *v) {
  ensure_sorted(v);
  return v->norder;
}

const char *ccp_view_scope_name(const ccp_view_t *v, int i) {
  ensure_sorted(v);
  return i >= 0 && i < v->norder ? v->scopes[v->order[i]].name : NULL;
}

void ccp_view_scope_json(const ccp_view_t *v, int i, ccp_buf_t *out) {
  ensure_sorted(v);
  if (i < 0 || i >= v->norder)
    return;
  scope_json(v, &v->scopes[v->order[i]], out);
}

void ccp_view_window_json(const ccp_view_t *v, int i, int w, ccp_buf_t *out) {
  ensure_sorted(v);
  if (i < 0 || i >= v->norder || w < 0 || w >= v->cfg->nwindows)
    return;
  window_kpis_json(v, &v->scopes[v->order[i]], w, out);
}

int ccp_view_find_scope(const ccp_view_t *v, const char *name) {
  ensure_sorted(v);
  size_t len = strlen(name);
  for (uint64_t seed = 0x766965;; seed++) {
    uint64_t k = ccp_u64map_key(ccp_hash64(name, len, seed));
    const uint64_t *slot = ccp_u64map_get(&v->index, k);
    if (!slot)
      return -1;
    const vscope_t *s = &v->scopes[*slot];
    if (s->name_len == len && memcmp(s->name, name, len) == 0) {
      for (int i = 0; i < v->norder; i++)
        if (v->order[i] == (int)*slot)
          return i;
      return -1;
    }
  }
}

int ccp_view_value(const ccp_view_t *v, int i, int w, const char *id, double *out) {
  ensure_sorted(v);
  if (i < 0 || i >= v->norder)
    return -CCP_ENOTFOUND;
  const vscope_t *s = &v->scopes[v->order[i]];
  int ki = ccp_kpi_index(id, strlen(id));
  if (ki < 0)
    return -CCP_ENOTFOUND;
  const ccp_kpi_def_t *d = &ccp_kpi_defs[ki];
  if (d->kind == CCP_KPI_GAUGE) {
    int64_t g;
    *out = gauge(v, s, d->gauge, &g) ? (double)g : NAN;
    return 0;
  }
  if (w < 0 || w >= v->cfg->nwindows)
    return -CCP_ENOTFOUND;
  const double *k = kpis_of(v, s, w);
  if (d->kind == CCP_KPI_SCORE) {
    if (s->kind != CCP_SC_AGENT)
      return -CCP_ENOTFOUND;
    *out = score(v, k);
    return 0;
  }
  *out = k[ki];
  return 0;
}

int64_t ccp_view_now(const ccp_view_t *v) { return v->now; }

uint64_t ccp_view_window_hash(const ccp_view_t *v, int i, int w) {
  ensure_sorted(v);
  if (i < 0 || i >= v->norder || w < 0 || w >= v->cfg->nwindows)
    return 0;
  return window_rendered(v, &v->scopes[v->order[i]], w)->json_hash;
}

void ccp_view_gauges_json(const ccp_view_t *v, int i, ccp_buf_t *out) {
  ensure_sorted(v);
  if (i < 0 || i >= v->norder)
    return;
  gauges_json(v, &v->scopes[v->order[i]], out);
}

void ccp_view_gauges(const ccp_view_t *v, int i, ccp_view_gauges_t *out) {
  ensure_sorted(v);
  memset(out, 0, sizeof *out);
  out->waiting_since = INT64_MIN;
  if (i < 0 || i >= v->norder)
    return;
  const vscope_t *s = &v->scopes[v->order[i]];
  out->open = s->open;
  out->waiting = s->waiting;
  out->backlog_aged = s->aged;
  if (s->oldest_open != INT64_MAX)
    out->waiting_since = s->oldest_open;
}

int64_t ccp_view_events(const ccp_view_t *v) { return v->diag.events; }

void ccp_view_set_final(ccp_view_t *v) { v->final = 1; }

int ccp_view_final(const ccp_view_t *v) { return v->final; }

long ccp__view_entries_kept(const ccp_view_t *v) { return v->kept; }
