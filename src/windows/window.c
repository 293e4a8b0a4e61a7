/*
 * The windows of one scope over one shared store; see window.h for the
 * layout and the invariants. In short:
 *   - adding a value finds (from the newest end, where nearly every value
 *     lands) or inserts its entry, adds to its row and to the total of
 *     every window whose edge it has passed;
 *   - advancing moves each trailing window's cursors over the entries and
 *     records that fell behind its new edge, subtracting them, then merges
 *     each entry that changed windows into its live predecessor where the
 *     merge rule allows, then compacts when half the arrays are dead or
 *     dropped;
 *   - cursors are indices, and compaction renumbers them.
 */
#include "windows/window.h"

#include <string.h>

#include "ccpulse/common.h"

void ccp_wgeom_init(ccp_wgeom_t *g, const ccp_config_t *cfg) {
  memset(g, 0, sizeof *g);
  g->nw = cfg->nwindows;
  int64_t u = 0;
  for (int w = 0; w < cfg->nwindows; w++) { /* gcd of the granularities */
    int64_t a = u, b = cfg->windows[w].granularity_ms;
    while (b) {
      int64_t t = a % b;
      a = b;
      b = t;
    }
    u = a;
  }
  g->unit = u > 0 ? u : 1;
  for (int w = 0; w < cfg->nwindows; w++) {
    g->gu[w] = CCP_MAX(1, cfg->windows[w].granularity_ms / g->unit);
    if (!cfg->windows[w].is_today)
      g->trailing |= 1u << w;
    g->edge[w] = INT64_MAX;
  }
  g->hi = INT64_MIN;
}

void ccp_wgeom_set(ccp_wgeom_t *g, int64_t now_ms, const int64_t *start_b) {
  for (int w = 0; w < g->nw; w++)
    g->edge[w] = start_b[w] * g->gu[w];
  g->hi = ccp_floordiv(now_ms, g->unit);
}

void ccp_wset_init(ccp_wset_t *s) {
  memset(s, 0, sizeof *s);
  for (int w = 0; w < CCP_MAX_WINDOWS; w++)
    s->edge[w] = INT64_MAX; /* like a geometry before any time */
}

void ccp_wset_release(ccp_wset_t *s, const ccp_wgeom_t *g) {
  if (s->hist)
    for (int i = 0; i < g->nw * CCP_H__COUNT; i++)
      ccp_hist_release(&s->hist[i]);
  ccp_free(s->hist);
  ccp_free(s->tot);
  ccp_free(s->ent);
  ccp_free(s->val);
  ccp_free(s->hr);
  ccp_wset_init(s);
}

/* ------------------------------------------------------------- columns */

/* Copies of nrows rows of nc values (room for cap rows) with a zero column
 * inserted at c; frees the old rows. */
static int64_t *widen(int64_t *old, uint32_t nrows, uint32_t cap, uint32_t nc, uint32_t c) {
  int64_t *rows = ccp_calloc((size_t)cap * (nc + 1), sizeof *rows);
  for (uint32_t k = 0; k < nrows && nc; k++) { /* no rows to copy before the first column */
    memcpy(rows + (size_t)k * (nc + 1), old + (size_t)k * nc, c * sizeof *rows);
    memcpy(rows + (size_t)k * (nc + 1) + c + 1, old + (size_t)k * nc + c, (nc - c) * sizeof *rows);
  }
  ccp_free(old);
  return rows;
}

/* Column of field f, adding it (every row widens by one) on first use. */
static uint32_t column(ccp_wset_t *s, const ccp_wgeom_t *g, int f) {
  uint32_t c = (uint32_t)__builtin_popcount(s->cols & ((1u << f) - 1));
  if (s->cols >> f & 1)
    return c;
  s->tot = widen(s->tot, (uint32_t)g->nw, (uint32_t)g->nw, s->nc, c);
  if (s->ecap)
    s->val = widen(s->val, s->nent, s->ecap, s->nc, c);
  s->cols |= 1u << f;
  s->nc++;
  return c;
}

/* ------------------------------------------------------------ the store */

static inline int64_t *row(const ccp_wset_t *s, uint32_t k) { return s->val + (size_t)k * s->nc; }

/* Index of the entry holding base unit at, inserting a one-unit entry where
 * none does. Only called for a unit inside some trailing window. */
static uint32_t entry_at(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at) {
  uint32_t k = s->nent;
  while (k > 0 && (s->ent[k - 1].len == 0 || s->ent[k - 1].lo > at))
    k--;
  if (k > 0 && at < s->ent[k - 1].lo + s->ent[k - 1].len)
    return k - 1;
  /* insert after the last live entry starting at or before `at` and after
   * the dead entries merged into it (they follow it), so that every dead
   * entry stays right behind its owner and a cursor never skips a live one */
  while (k < s->nent && s->ent[k].len == 0)
    k++;
  if (s->nent == s->ecap) {
    s->ecap = s->ecap ? s->ecap * 2 : 4;
    s->ent = ccp_realloc(s->ent, s->ecap * sizeof *s->ent);
    s->val = ccp_realloc(s->val, (size_t)s->ecap * s->nc * sizeof *s->val);
  }
  memmove(s->ent + k + 1, s->ent + k, (s->nent - k) * sizeof *s->ent);
  memmove(row(s, k + 1), row(s, k), (size_t)(s->nent - k) * s->nc * sizeof *s->val);
  s->nent++;
  s->ent[k].lo = at;
  s->ent[k].len = 1;
  memset(row(s, k), 0, s->nc * sizeof *s->val);
  for (int w = 0; w < g->nw; w++) {
    if (!(g->trailing >> w & 1))
      continue;
    if (s->ecur[w] > k || (s->ecur[w] == k && at < g->edge[w]))
      s->ecur[w]++;
  }
  return k;
}

/* Windows (bit w) whose edge base unit `at` has passed; 0 past now. */
static inline uint32_t inside(const ccp_wgeom_t *g, int64_t at) {
  uint32_t m = 0;
  if (at > g->hi)
    return 0;
  for (int w = 0; w < g->nw; w++)
    if (at >= g->edge[w])
      m |= 1u << w;
  return m;
}

void ccp_wset_add(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at, int f, int64_t amt) {
  uint32_t m = amt ? inside(g, at) : 0;
  if (!m)
    return;
  uint32_t c = column(s, g, f);
  if (m & g->trailing)
    row(s, entry_at(s, g, at))[c] += amt;
  for (; m; m &= m - 1)
    s->tot[(size_t)__builtin_ctz(m) * s->nc + c] += amt;
}

void ccp_wset_add_bin(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at, int which, uint16_t bin) {
  uint32_t m = inside(g, at);
  if (!m)
    return;
  if (!s->hist)
    s->hist = ccp_calloc((size_t)g->nw * CCP_H__COUNT, sizeof *s->hist);
  for (uint32_t mm = m; mm; mm &= mm - 1)
    ccp_hist_add(&s->hist[__builtin_ctz(mm) * CCP_H__COUNT + which], bin, 1);
  if (!(m & g->trailing))
    return;
  uint32_t k = s->nhr;
  while (k > 0 && s->hr[k - 1].at > at)
    k--;
  for (uint32_t j = k; j > 0 && s->hr[j - 1].at == at; j--)
    if (s->hr[j - 1].bin == bin && s->hr[j - 1].which == which) {
      s->hr[j - 1].count++;
      return;
    }
  if (s->nhr == s->hcap) {
    s->hcap = s->hcap ? s->hcap * 2 : 4;
    s->hr = ccp_realloc(s->hr, s->hcap * sizeof *s->hr);
  }
  memmove(s->hr + k + 1, s->hr + k, (s->nhr - k) * sizeof *s->hr);
  s->nhr++;
  s->hr[k] = (ccp_hrec_t){.at = at, .count = 1, .bin = bin, .which = (uint8_t)which};
  for (int w = 0; w < g->nw; w++) {
    if (!(g->trailing >> w & 1))
      continue;
    if (s->hcur[w] > k || (s->hcur[w] == k && at < g->edge[w]))
      s->hcur[w]++;
  }
}

/* ------------------------------------------------------------- advance */

/* Entries i < j (both live) may become one: inside the same trailing
 * windows, at least one, and in one bucket of each. */
static int mergeable(const ccp_wset_t *s, const ccp_wgeom_t *g, uint32_t i, uint32_t j) {
  int any = 0;
  int64_t a = s->ent[i].lo, b = s->ent[j].lo + s->ent[j].len - 1;
  for (int w = 0; w < g->nw; w++) {
    if (!(g->trailing >> w & 1))
      continue;
    int in_i = i >= s->ecur[w], in_j = j >= s->ecur[w];
    if (in_i != in_j)
      return 0;
    if (in_i) {
      if (ccp_floordiv(a, g->gu[w]) != ccp_floordiv(b, g->gu[w]))
        return 0;
      any = 1;
    }
  }
  return any;
}

/* Merges each live entry of [a, b) into its live predecessor where allowed. */
static void merge_range(ccp_wset_t *s, const ccp_wgeom_t *g, uint32_t a, uint32_t b) {
  uint32_t prev = a;
  while (prev > 0 && s->ent[prev - 1].len == 0)
    prev--;
  int has_prev = prev > 0;
  prev = has_prev ? prev - 1 : 0;
  for (uint32_t j = a; j < b && j < s->nent; j++) {
    if (!s->ent[j].len)
      continue;
    if (has_prev && mergeable(s, g, prev, j)) {
      int64_t *rp = row(s, prev), *rj = row(s, j);
      for (uint32_t c = 0; c < s->nc; c++) {
        rp[c] += rj[c];
        rj[c] = 0;
      }
      s->ent[prev].len = s->ent[j].lo + s->ent[j].len - s->ent[prev].lo;
      s->ent[j].len = 0;
      s->ndead++;
      continue;
    }
    prev = j;
    has_prev = 1;
  }
}

/* Drops what lies before every cursor and the dead entries; gives back room
 * when the arrays are mostly empty. */
static void compact(ccp_wset_t *s, const ccp_wgeom_t *g) {
  uint32_t head = UINT32_MAX, hhead = UINT32_MAX;
  for (int w = 0; w < g->nw; w++)
    if (g->trailing >> w & 1) {
      head = CCP_MIN(head, s->ecur[w]);
      hhead = CCP_MIN(hhead, s->hcur[w]);
    }
  if (head == UINT32_MAX)
    return; /* no trailing window: nothing stored */
  if ((head + s->ndead) * 4 > s->nent && head + s->ndead >= 2) {
    uint32_t n = 0;
    for (uint32_t k = 0; k <= s->nent; k++) {
      for (int w = 0; w < g->nw; w++)
        if ((g->trailing >> w & 1) && s->ecur[w] == k)
          s->ecur[w] = n; /* cursors are >= head and never on a dead entry */
      if (k == s->nent || k < head || !s->ent[k].len)
        continue;
      s->ent[n] = s->ent[k];
      memmove(row(s, n), row(s, k), s->nc * sizeof *s->val);
      n++;
    }
    s->nent = n;
    s->ndead = 0;
    if (s->ecap > 4 && s->ecap > n + n / 2 + 2) {
      s->ecap = CCP_MAX(4, n + n / 4);
      s->ent = ccp_realloc(s->ent, s->ecap * sizeof *s->ent);
      s->val = ccp_realloc(s->val, (size_t)s->ecap * s->nc * sizeof *s->val);
    }
  }
  if (hhead * 4 > s->nhr && hhead >= 2) {
    memmove(s->hr, s->hr + hhead, (s->nhr - hhead) * sizeof *s->hr);
    s->nhr -= hhead;
    for (int w = 0; w < g->nw; w++)
      if (g->trailing >> w & 1)
        s->hcur[w] -= hhead;
    if (s->hcap > 4 && s->hcap > s->nhr + s->nhr / 2 + 2) {
      s->hcap = CCP_MAX(4, s->nhr + s->nhr / 4);
      s->hr = ccp_realloc(s->hr, s->hcap * sizeof *s->hr);
    }
  }
}

void ccp_wset__advance(ccp_wset_t *s, const ccp_wgeom_t *g) {
  uint32_t ma = UINT32_MAX, mb = 0; /* entries that changed windows */
  for (int w = 0; w < g->nw; w++) {
    int64_t edge = g->edge[w];
    if (s->edge[w] == edge)
      continue;
    if (s->edge[w] != INT64_MAX && edge < s->edge[w])
      continue; /* time never goes back */
    s->edge[w] = edge;
    ccp_hist_t *h = s->hist ? &s->hist[w * CCP_H__COUNT] : NULL;
    if (!(g->trailing >> w & 1)) { /* today: a new day starts empty */
      if (s->nc)
        memset(s->tot + (size_t)w * s->nc, 0, s->nc * sizeof *s->tot);
      if (h)
        for (int i = 0; i < CCP_H__COUNT; i++)
          ccp_hist_clear(&h[i]);
      continue;
    }
    uint32_t k = s->ecur[w];
    int64_t *t = s->tot + (size_t)w * s->nc;
    if (k < s->nent && s->ent[k].lo < edge)
      ma = CCP_MIN(ma, k);
    for (; k < s->nent && s->ent[k].lo < edge; k++) {
      const int64_t *r = row(s, k);
      for (uint32_t c = 0; c < s->nc; c++)
        t[c] -= r[c];
    }
    mb = CCP_MAX(mb, k);
    s->ecur[w] = k;
    for (k = s->hcur[w]; k < s->nhr && s->hr[k].at < edge; k++)
      ccp_hist_add(&h[s->hr[k].which], s->hr[k].bin, -(int64_t)s->hr[k].count);
    s->hcur[w] = k;
  }
  if (ma < mb)
    merge_range(s, g, ma, mb);
  compact(s, g);
}

/* -------------------------------------------------------------- reading */

void ccp_wset_total(const ccp_wset_t *s, int w, ccp_counters_t *out) {
  memset(out, 0, sizeof *out);
  uint32_t c = 0;
  for (uint32_t m = s->cols; m; m &= m - 1)
    out->v[__builtin_ctz(m)] = s->tot[(size_t)w * s->nc + c++];
}

int ccp_wset_zero(const ccp_wset_t *s, int w) {
  for (uint32_t c = 0; c < s->nc; c++)
    if (s->tot[(size_t)w * s->nc + c])
      return 0;
  return 1;
}

size_t ccp_wset_bytes(const ccp_wset_t *s, const ccp_wgeom_t *g) {
  size_t n = (size_t)g->nw * s->nc * sizeof *s->tot;
  n += s->ecap * (sizeof *s->ent + s->nc * sizeof *s->val) + s->hcap * sizeof *s->hr;
  if (s->hist) {
    n += (size_t)g->nw * CCP_H__COUNT * sizeof *s->hist;
    for (int i = 0; i < g->nw * CCP_H__COUNT; i++)
      n += ccp_hist_bytes(&s->hist[i]);
  }
  return n;
}
