/*
 * The windows of one scope over one shared store; see window.h for the
 * layout and the invariants. In short:
 *   - adding a value finds its entry (from the newest end, where nearly
 *     every value lands), or lets a neighbour grow over its unit when the
 *     merge rule allows (joinable), or inserts a one-unit entry; then adds
 *     to its row and to the total of every window whose edge it has passed;
 *   - advancing moves each trailing window's cursors over the entries and
 *     records that fell behind its new edge, subtracting them, then merges
 *     each entry that changed windows into its live predecessor where the
 *     merge rule allows (rows add), then compacts when a quarter of the
 *     entries are dead or dropped; compaction also merges the histogram
 *     records of each entry into one key-sorted run at its first unit (by
 *     merging the sorted runs of its units), once the records grew by a
 *     quarter since the last time;
 *   - int32 rows widen to int64 (make_wide) the first time an add or a
 *     merge would leave the int32 range; totals are always int64;
 *   - cursors are indices, and compaction renumbers them.
 */
#include "windows/window.h"

#include <string.h>

#include "ccpulse/common.h"
#include "util/ser.h"

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

/* Bytes of one value of the rows. */
static inline size_t vsize(const ccp_wset_t *s) {
  return s->wide ? sizeof(int64_t) : sizeof(int32_t);
}

/* Bytes of one row. */
static inline size_t rsize(const ccp_wset_t *s) { return s->nc * vsize(s); }

/* Copies nrows rows of the columns `from` (elem bytes a value) into new rows
 * (room for cap rows) of the columns `to` (a superset), new columns zero;
 * frees the old rows. */
static void *relayout(void *old, uint32_t nrows, uint32_t cap, uint32_t from, uint32_t to,
                      size_t elem) {
  uint32_t nf = (uint32_t)__builtin_popcount(from), nt = (uint32_t)__builtin_popcount(to);
  unsigned char *rows = ccp_calloc((size_t)cap * nt, elem);
  if (nf) { /* no rows to copy before the first column */
    uint32_t pos[32], c = 0;
    for (uint32_t m = from; m; m &= m - 1) /* each old column's place in a new row */
      pos[c++] = (uint32_t)__builtin_popcount(to & ((1u << __builtin_ctz(m)) - 1));
    for (uint32_t k = 0; k < nrows; k++)
      for (c = 0; c < nf; c++)
        memcpy(rows + ((size_t)k * nt + pos[c]) * elem,
               (unsigned char *)old + ((size_t)k * nf + c) * elem, elem);
  }
  ccp_free(old);
  return rows;
}

void ccp_wset_reserve(ccp_wset_t *s, const ccp_wgeom_t *g, uint32_t mask) {
  uint32_t to = s->cols | mask;
  if (to == s->cols)
    return;
  s->tot = relayout(s->tot, (uint32_t)g->nw, (uint32_t)g->nw, s->cols, to, sizeof *s->tot);
  if (s->ecap)
    s->val = relayout(s->val, s->nent, s->ecap, s->cols, to, vsize(s));
  s->cols = to;
  s->nc = (uint32_t)__builtin_popcount(to);
}

/* Column of field f, adding it (every row widens by one) on first use. */
static inline uint32_t column(ccp_wset_t *s, const ccp_wgeom_t *g, int f) {
  if (!(s->cols >> f & 1))
    ccp_wset_reserve(s, g, 1u << f);
  return ccp_pop32(s->cols & ((1u << f) - 1));
}

/* Rows turn from int32_t to int64_t values, for good. */
static void make_wide(ccp_wset_t *s) {
  if (s->ecap) {
    int64_t *rows = ccp_malloc((size_t)s->ecap * s->nc * sizeof *rows);
    const int32_t *old = s->val;
    for (size_t i = 0; i < (size_t)s->nent * s->nc; i++)
      rows[i] = old[i];
    ccp_free(s->val);
    s->val = rows;
  }
  s->wide = 1;
}

/* Adds v to column c of entry k's row, widening the rows when the sum
 * leaves the int32_t range. */
static inline void cell_add(ccp_wset_t *s, uint32_t k, uint32_t c, int64_t v) {
  size_t i = (size_t)k * s->nc + c;
  if (!s->wide) {
    int32_t *p = (int32_t *)s->val + i;
    int64_t sum = *p + v;
    if (sum == (int32_t)sum) {
      *p = (int32_t)sum;
      return;
    }
    make_wide(s);
  }
  ((int64_t *)s->val)[i] += v;
}

/* ------------------------------------------------------------ the store */

/* Start of entry k's row. */
static inline unsigned char *row(const ccp_wset_t *s, uint32_t k) {
  return (unsigned char *)s->val + k * rsize(s);
}

/* Room for one more entry: the arrays grow by half (a quiet scope's few
 * entries waste little). */
static void entry_room(ccp_wset_t *s) {
  if (s->nent < s->ecap)
    return;
  s->ecap = s->ecap < 4 ? 4 : s->ecap + s->ecap / 2;
  s->ent = ccp_realloc(s->ent, s->ecap * sizeof *s->ent);
  s->val = ccp_realloc(s->val, s->ecap * rsize(s));
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

/* Trailing windows (bit w) that entry k is inside. */
static inline uint32_t windows_of(const ccp_wset_t *s, const ccp_wgeom_t *g, uint32_t k) {
  uint32_t m = 0;
  for (int w = 0; w < g->nw; w++)
    if ((g->trailing >> w & 1) && k >= s->ecur[w])
      m |= 1u << w;
  return m;
}

/* The merge rule: base units [a, b], inside the trailing windows `in` and
 * no others (the caller compares), may be one entry when they are inside at
 * least one window and in one bucket of each; then no edge of any window
 * can ever fall strictly inside them. */
static int one_entry(const ccp_wgeom_t *g, uint32_t in, int64_t a, int64_t b) {
  for (uint32_t m = in; m; m &= m - 1) {
    int w = __builtin_ctz(m);
    if (ccp_floordiv(a, g->gu[w]) != ccp_floordiv(b, g->gu[w]))
      return 0;
  }
  return in != 0;
}

/* 1 when live entry k and base unit at (not in it) may be one entry. */
static int joinable(const ccp_wset_t *s, const ccp_wgeom_t *g, uint32_t k, int64_t at) {
  uint32_t in = windows_of(s, g, k);
  if (in != (inside(g, at) & g->trailing))
    return 0;
  return one_entry(g, in, CCP_MIN(s->ent[k].lo, at), CCP_MAX(s->ent[k].lo + s->ent[k].len - 1, at));
}

/* Index of the entry holding base unit at: an entry covering it, else a
 * neighbour it may join (a value added late, e.g. from a delta log, lands
 * in the entry of its bucket rather than in one of its own), else a new
 * one-unit entry. Only called for a unit inside some trailing window. */
static uint32_t entry_at(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at) {
  uint32_t k = s->nent;
  while (k > 0 && (s->ent[k - 1].len == 0 || s->ent[k - 1].lo > at))
    k--;
  if (k > 0 && at < s->ent[k - 1].lo + s->ent[k - 1].len)
    return k - 1;
  if (k > 0 && joinable(s, g, k - 1, at)) { /* the entry before grows up to at */
    s->ent[k - 1].len = at + 1 - s->ent[k - 1].lo;
    return k - 1;
  }
  /* insert after the last live entry starting at or before `at` and after
   * the dead entries merged into it (they follow it), so that every dead
   * entry stays right behind its owner and a cursor never skips a live one */
  while (k < s->nent && s->ent[k].len == 0)
    k++;
  if (k < s->nent && joinable(s, g, k, at)) { /* the entry after starts at at */
    s->ent[k].len += s->ent[k].lo - at;
    s->ent[k].lo = at;
    return k;
  }
  entry_room(s);
  memmove(s->ent + k + 1, s->ent + k, (s->nent - k) * sizeof *s->ent);
  memmove(row(s, k + 1), row(s, k), (s->nent - k) * rsize(s));
  s->nent++;
  s->ent[k].lo = at;
  s->ent[k].len = 1;
  memset(row(s, k), 0, rsize(s));
  for (int w = 0; w < g->nw; w++) {
    if (!(g->trailing >> w & 1))
      continue;
    if (s->ecur[w] > k || (s->ecur[w] == k && at < g->edge[w]))
      s->ecur[w]++;
  }
  return k;
}

/* Key of a record within its base unit: histogram, then bin. */
static inline uint32_t hkey(const ccp_hrec_t *r) { return (uint32_t)r->which << 16 | r->bin; }

void ccp_wset_add(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at, int f, int64_t amt) {
  uint32_t m = amt ? inside(g, at) : 0;
  if (!m)
    return;
  uint32_t c = column(s, g, f);
  if (m & g->trailing)
    cell_add(s, entry_at(s, g, at), c, amt);
  for (; m; m &= m - 1)
    s->tot[(size_t)__builtin_ctz(m) * s->nc + c] += amt;
}

void ccp_wset_add_run(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at, const uint8_t *f,
                      const int64_t *amt, uint32_t n) {
  uint32_t m = inside(g, at);
  if (!m)
    return;
  int64_t acc[32]; /* per field: what the run adds to every window's total */
  uint32_t touched = 0, k = UINT32_MAX;
  for (uint32_t i = 0; i < n; i++) {
    if (!amt[i])
      continue;
    uint32_t c = column(s, g, f[i]); /* a new column renumbers later ones: acc is per field */
    if (touched >> f[i] & 1) {
      acc[f[i]] += amt[i];
    } else {
      acc[f[i]] = amt[i];
      touched |= 1u << f[i];
    }
    if (m & g->trailing) {
      if (k == UINT32_MAX)
        k = entry_at(s, g, at);  /* the first value finds, grows or makes the entry */
      cell_add(s, k, c, amt[i]); /* in order: the rows widen when ccp_wset_add's would */
    }
  }
  for (uint32_t t = touched; t; t &= t - 1) {
    uint32_t fi = (uint32_t)__builtin_ctz(t), c = ccp_pop32(s->cols & ((1u << fi) - 1));
    for (uint32_t mm = m; mm; mm &= mm - 1)
      s->tot[(size_t)__builtin_ctz(mm) * s->nc + c] += acc[fi];
  }
}

void ccp_wset_add_bin(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at, int which, uint16_t bin,
                      uint32_t count) {
  uint32_t m = count ? inside(g, at) : 0;
  if (!m)
    return;
  if (!s->hist)
    s->hist = ccp_calloc((size_t)g->nw * CCP_H__COUNT, sizeof *s->hist);
  for (uint32_t mm = m; mm; mm &= mm - 1)
    ccp_hist_add(&s->hist[__builtin_ctz(mm) * CCP_H__COUNT + which], bin, count);
  if (!(m & g->trailing))
    return;
  /* after the records of later units, and among those of this unit by key */
  uint32_t k = s->nhr, key = (uint32_t)which << 16 | bin;
  while (k > 0 && s->hr[k - 1].at > at)
    k--;
  while (k > 0 && s->hr[k - 1].at == at && hkey(&s->hr[k - 1]) >= key) {
    if (hkey(&s->hr[k - 1]) == key) {
      s->hr[k - 1].count += count;
      return;
    }
    k--;
  }
  if (s->nhr == s->hcap) {
    s->hcap = s->hcap < 4 ? 4 : s->hcap + s->hcap / 2;
    s->hr = ccp_realloc(s->hr, s->hcap * sizeof *s->hr);
  }
  memmove(s->hr + k + 1, s->hr + k, (s->nhr - k) * sizeof *s->hr);
  s->nhr++;
  s->hr[k] = (ccp_hrec_t){.at = at, .count = count, .bin = bin, .which = (uint8_t)which};
  for (int w = 0; w < g->nw; w++) {
    if (!(g->trailing >> w & 1))
      continue;
    if (s->hcur[w] > k || (s->hcur[w] == k && at < g->edge[w]))
      s->hcur[w]++;
  }
}

/* ------------------------------------------------------------- advance */

/* Live entries i < j may become one. */
static int mergeable(const ccp_wset_t *s, const ccp_wgeom_t *g, uint32_t i, uint32_t j) {
  uint32_t in = windows_of(s, g, i);
  return in == windows_of(s, g, j) &&
         one_entry(g, in, s->ent[i].lo, s->ent[j].lo + s->ent[j].len - 1);
}

/* First record in [from, to) at or after base unit at. */
static uint32_t record_at(const ccp_wset_t *s, uint32_t from, uint32_t to, int64_t at) {
  while (from < to) {
    uint32_t mid = from + (to - from) / 2;
    if (s->hr[mid].at < at)
      from = mid + 1;
    else
      to = mid;
  }
  return from;
}

/* Merges the key-sorted runs x[0, nx) and y[0, ny) into out (records of one
 * key become one), all at base unit at; returns the records written. */
static uint32_t merge_two(const ccp_hrec_t *x, uint32_t nx, const ccp_hrec_t *y, uint32_t ny,
                          ccp_hrec_t *out, int64_t at) {
  uint32_t i = 0, j = 0, n = 0;
  while (i < nx || j < ny) {
    const ccp_hrec_t *r = j >= ny || (i < nx && hkey(&x[i]) <= hkey(&y[j])) ? &x[i++] : &y[j++];
    if (n && hkey(&out[n - 1]) == hkey(r)) {
      out[n - 1].count += r->count;
    } else {
      out[n] = *r;
      out[n++].at = at;
    }
  }
  return n;
}

/* Merges the records of one entry, runs of units each sorted by key, into
 * one run at the entry's first unit; tmp has room for 2 * len records.
 * Returns the records left (at the start of tmp). */
static uint32_t merge_runs(ccp_hrec_t *tmp, uint32_t len, int64_t lo) {
  ccp_hrec_t *a = tmp, *b = tmp + len;
  for (;;) { /* pairs of adjacent runs (told apart by their unit) per round */
    uint32_t o = 0, i = 0;
    int merged = 0;
    while (i < len) {
      uint32_t j = i, k;
      while (j < len && a[j].at == a[i].at)
        j++;
      for (k = j; k < len && a[k].at == a[j].at; k++)
        ;
      o += merge_two(a + i, j - i, a + j, k - j, b + o, a[i].at);
      merged |= k > j;
      i = k;
    }
    ccp_hrec_t *t = a;
    a = b;
    b = t;
    len = o;
    if (!merged)
      break;
  }
  for (uint32_t i = 0; i < len; i++)
    a[i].at = lo;
  if (a != tmp)
    memcpy(tmp, a, len * sizeof *tmp);
  return len;
}

/* Moves records [from, to) to dst (dst <= from). */
static inline void move_records(ccp_wset_t *s, uint32_t dst, uint32_t from, uint32_t to) {
  if (dst != from)
    memmove(s->hr + dst, s->hr + from, (to - from) * sizeof *s->hr);
}

/* Every record inside a live entry moves to the entry's first unit, and
 * those of one entry, histogram and bin become one; then each record cursor
 * is found again at its window's edge. Exact for the reason merging rows
 * is: an entry is inside a window or not as a whole, now and later, so
 * which unit of it a sample sits at changes nothing. One pass over the
 * records (entries must be compacted: all live, sorted). */
static void merge_records(ccp_wset_t *s, const ccp_wgeom_t *g) {
  ccp_hrec_t stack[128], *tmp = stack; /* room for 2 * an entry's records */
  uint32_t tcap = 128, n = 0, r = 0, k = 0;
  while (r < s->nhr) {
    int64_t at = s->hr[r].at;
    while (k < s->nent && s->ent[k].lo + s->ent[k].len <= at)
      k++;
    uint32_t q = r;
    if (k == s->nent || at < s->ent[k].lo) { /* outside every entry: stays */
      while (q < s->nhr && (k == s->nent || s->hr[q].at < s->ent[k].lo))
        q++;
      move_records(s, n, r, q);
      n += q - r;
      r = q;
      continue;
    }
    int64_t lo = s->ent[k].lo, end = lo + s->ent[k].len;
    while (q < s->nhr && s->hr[q].at < end)
      q++;
    uint32_t len = q - r;
    if (s->hr[q - 1].at == at) { /* one unit: sorted and merged already */
      for (uint32_t i = r; i < q; i++)
        s->hr[i].at = lo;
      move_records(s, n, r, q);
    } else {
      if (2 * len > tcap) {
        tcap = 2 * len;
        tmp = tmp == stack ? ccp_malloc(tcap * sizeof *tmp) : ccp_realloc(tmp, tcap * sizeof *tmp);
      }
      memcpy(tmp, s->hr + r, len * sizeof *tmp);
      len = merge_runs(tmp, len, lo);
      memcpy(s->hr + n, tmp, len * sizeof *tmp);
    }
    n += len;
    r = q;
  }
  if (tmp != stack)
    ccp_free(tmp);
  s->nhr = s->hmerged = n;
  for (int w = 0; w < g->nw; w++)
    if (g->trailing >> w & 1)
      s->hcur[w] = record_at(s, 0, n, s->edge[w]);
}

/* Merges each live entry of [a, b) into its live predecessor where allowed
 * (their records follow at the next compaction). */
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
      for (uint32_t c = 0; c < s->nc; c++)
        cell_add(s, prev, c, ccp_wset_cell(s, j, c));
      memset(row(s, j), 0, rsize(s));
      s->ent[prev].len = s->ent[j].lo + s->ent[j].len - s->ent[prev].lo;
      s->ent[j].len = 0;
      s->ndead++;
      continue;
    }
    prev = j;
    has_prev = 1;
  }
}

/* The capacity an array of cap slots, n of them in use, keeps at a
 * compaction: more than 1.75 n + 2 shrinks to 1.5 n, else it stays. Between
 * compactions a busy store's arrays take about a third more than they keep
 * (a compaction drops a quarter); shrunk to 1.25 n at 1.5 n + 2 as they
 * were, most of them grew again right after, each time a copy into a fresh
 * block (entry_room, ccp_wset_add_bin), and held 1.875 n most of the time. */
static inline uint32_t shrunk_cap(uint32_t cap, uint32_t n) {
  return cap > 4 && cap > n + n / 2 + n / 4 + 2 ? CCP_MAX(4, n + n / 2) : cap;
}

/* Drops what lies before every cursor and the dead entries; gives back room
 * when the arrays are mostly empty. */
static void compact(ccp_wset_t *s, const ccp_wgeom_t *g) {
  uint32_t head = UINT32_MAX, hhead = UINT32_MAX;
  for (int w = 0; w < g->nw; w++)
    if (g->trailing >> w & 1)
      head = CCP_MIN(head, s->ecur[w]);
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
      memmove(row(s, n), row(s, k), rsize(s));
      n++;
    }
    s->nent = n;
    s->ndead = 0;
    if (s->nhr >= s->hmerged + s->hmerged / 4 + 8) /* a pass pays for a quarter more records */
      merge_records(s, g);
    if (shrunk_cap(s->ecap, n) != s->ecap) {
      s->ecap = shrunk_cap(s->ecap, n);
      s->ent = ccp_realloc(s->ent, s->ecap * sizeof *s->ent);
      s->val = ccp_realloc(s->val, s->ecap * rsize(s));
    }
  }
  for (int w = 0; w < g->nw; w++) /* after merge_records, which renumbers them */
    if (g->trailing >> w & 1)
      hhead = CCP_MIN(hhead, s->hcur[w]);
  if (hhead * 4 > s->nhr && hhead >= 2) {
    memmove(s->hr, s->hr + hhead, (s->nhr - hhead) * sizeof *s->hr);
    s->nhr -= hhead;
    s->hmerged = s->hmerged > hhead ? s->hmerged - hhead : 0;
    for (int w = 0; w < g->nw; w++)
      if (g->trailing >> w & 1)
        s->hcur[w] -= hhead;
  }
  if (shrunk_cap(s->hcap, s->nhr) != s->hcap) {
    s->hcap = shrunk_cap(s->hcap, s->nhr);
    s->hr = ccp_realloc(s->hr, s->hcap * sizeof *s->hr);
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
      if (s->wide) {
        const int64_t *r = (const int64_t *)s->val + (size_t)k * s->nc;
        for (uint32_t c = 0; c < s->nc; c++)
          t[c] -= r[c];
      } else {
        const int32_t *r = (const int32_t *)s->val + (size_t)k * s->nc;
        for (uint32_t c = 0; c < s->nc; c++)
          t[c] -= r[c];
      }
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
  n += s->ecap * (sizeof *s->ent + rsize(s)) + s->hcap * sizeof *s->hr;
  if (s->hist) {
    n += (size_t)g->nw * CCP_H__COUNT * sizeof *s->hist;
    for (int i = 0; i < g->nw * CCP_H__COUNT; i++)
      n += ccp_hist_bytes(&s->hist[i]);
  }
  return n;
}

/* -------------------------------------------------------- checkpoints */

/* The columns, the row width and the arrays' counts and capacities (both forms). */
static void put_counts(const ccp_wset_t *s, ccp_buf_t *out) {
  ccp_ser_put_u32(out, s->cols);
  ccp_ser_put_u8(out, s->wide);
  ccp_ser_put_u32(out, s->nent);
  ccp_ser_put_u32(out, s->ecap);
  ccp_ser_put_u32(out, s->ndead);
  ccp_ser_put_u32(out, s->nhr);
  ccp_ser_put_u32(out, s->hcap);
  ccp_ser_put_u32(out, s->hmerged);
}

/* The entries, their rows and the records, then whether histograms exist (both forms). */
static void put_store(const ccp_wset_t *s, ccp_buf_t *out) {
  ccp_ser_put(out, s->ent, s->nent * sizeof *s->ent);
  ccp_ser_put(out, s->val, s->nent * rsize(s));
  ccp_ser_put(out, s->hr, s->nhr * sizeof *s->hr);
  ccp_ser_put_u8(out, s->hist != NULL);
}

/* Windows (bit w) that are trailing and have a cursor. */
static inline uint32_t trailing_of(const ccp_wgeom_t *g) {
  return g->trailing & (g->nw >= 32 ? UINT32_MAX : (1u << g->nw) - 1);
}

/*
 * The compact form (checkpoint format 5) writes only what time alone does
 * not move: the cursors, the totals and the histograms of the trailing
 * windows follow from the edges, the entries and the records (the
 * invariants in window.h), so they are rebuilt at load; the edges are one
 * byte when they are the geometry's (every set an export advanced). A set
 * that only slid between two saves then changes in its bytes only where an
 * entry merged or was compacted away, not in every cursor, total and edge.
 * The full form (format 4) wrote them as they were.
 */
void ccp_wset_save(const ccp_wset_t *s, const ccp_wgeom_t *g, ccp_buf_t *out) {
  size_t nw = (size_t)g->nw;
  uint32_t tr = trailing_of(g);
  put_counts(s, out);
  int same = memcmp(s->edge, g->edge, nw * sizeof *s->edge) == 0;
  ccp_ser_put_u8(out, (uint8_t)same);
  if (!same)
    ccp_ser_put(out, s->edge, nw * sizeof *s->edge);
  for (size_t w = 0; s->nc && w < nw; w++) /* the calendar windows' totals only */
    if (!(tr >> w & 1))
      ccp_ser_put(out, s->tot + w * s->nc, s->nc * sizeof *s->tot);
  put_store(s, out);
  for (size_t w = 0; s->hist && w < nw; w++)
    if (!(tr >> w & 1))
      for (int i = 0; i < CCP_H__COUNT; i++)
        ccp_hist_save(&s->hist[w * CCP_H__COUNT + (size_t)i], out);
}

void ccp_wset_save_full(const ccp_wset_t *s, const ccp_wgeom_t *g, ccp_buf_t *out) {
  size_t nw = (size_t)g->nw;
  put_counts(s, out);
  ccp_ser_put(out, s->ecur, nw * sizeof *s->ecur);
  ccp_ser_put(out, s->hcur, nw * sizeof *s->hcur);
  ccp_ser_put(out, s->edge, nw * sizeof *s->edge);
  if (s->nc)
    ccp_ser_put(out, s->tot, nw * s->nc * sizeof *s->tot);
  put_store(s, out);
  for (size_t i = 0; s->hist && i < nw * CCP_H__COUNT; i++)
    ccp_hist_save(&s->hist[i], out);
}

/* First entry whose first unit is at or after edge (lo never decreases). */
static uint32_t entry_lb(const ccp_wset_t *s, int64_t edge) {
  uint32_t from = 0, to = s->nent;
  while (from < to) {
    uint32_t mid = from + (to - from) / 2;
    if (s->ent[mid].lo < edge)
      from = mid + 1;
    else
      to = mid;
  }
  return from;
}

/* Rebuilds what the compact form leaves out: each trailing window's cursors
 * at its edge, its totals (the rows from its cursor on; wrapping sums, so
 * altered bytes cannot overflow) and its histograms (the records from its
 * record cursor on). */
static void rebuild_trailing(ccp_wset_t *s, const ccp_wgeom_t *g) {
  uint32_t tr = trailing_of(g);
  for (uint32_t m = tr; m; m &= m - 1) {
    int w = __builtin_ctz(m);
    s->ecur[w] = entry_lb(s, s->edge[w]);
    s->hcur[w] = record_at(s, 0, s->nhr, s->edge[w]);
    uint64_t *t = (uint64_t *)(s->tot + (size_t)w * s->nc);
    for (uint32_t k = s->ecur[w]; k < s->nent; k++)
      for (uint32_t c = 0; c < s->nc; c++)
        t[c] += (uint64_t)ccp_wset_cell(s, k, c);
    if (s->hist)
      for (uint32_t k = s->hcur[w]; k < s->nhr; k++)
        ccp_hist_add(&s->hist[(size_t)w * CCP_H__COUNT + s->hr[k].which], s->hr[k].bin,
                     s->hr[k].count);
  }
}

int ccp_wset_load(ccp_wset_t *s, const ccp_wgeom_t *g, ccp_ser_rd_t *r, int full) {
  size_t nw = (size_t)g->nw;
  uint32_t tr = full ? 0 : trailing_of(g); /* windows left out of the bytes */
  s->cols = ccp_ser_get_u32(r);
  s->nc = (uint32_t)__builtin_popcount(s->cols);
  s->wide = ccp_ser_get_u8(r);
  uint32_t nent = ccp_ser_get_u32(r), ecap = ccp_ser_get_u32(r), ndead = ccp_ser_get_u32(r);
  uint32_t nhr = ccp_ser_get_u32(r), hcap = ccp_ser_get_u32(r), hmerged = ccp_ser_get_u32(r);
  if (full) {
    ccp_ser_get_into(r, s->ecur, nw * sizeof *s->ecur);
    ccp_ser_get_into(r, s->hcur, nw * sizeof *s->hcur);
    ccp_ser_get_into(r, s->edge, nw * sizeof *s->edge);
  } else {
    uint8_t same = ccp_ser_get_u8(r);
    if (!CCP_SER_CHECK(r, same <= 1, "bad window edges"))
      return -1;
    if (same)
      memcpy(s->edge, g->edge, nw * sizeof *s->edge);
    else
      ccp_ser_get_into(r, s->edge, nw * sizeof *s->edge);
  }
  if (!CCP_SER_CHECK(r,
                     s->cols < (1ull << CCP_F__COUNT) && s->wide <= 1 && nent <= ecap &&
                         ndead <= nent && nhr <= hcap && (s->nc || !ecap) &&
                         ecap <= 2 * (uint64_t)nent + 8 && hcap <= 2 * (uint64_t)nhr + 8,
                     "bad window set"))
    return -1;
  for (size_t w = 0; full && w < nw; w++)
    if (!CCP_SER_CHECK(r, s->ecur[w] <= nent && s->hcur[w] <= nhr, "window cursor out of range"))
      return -1;
  size_t ntot = (nw - (size_t)ccp_pop32(tr)) * s->nc; /* totals in the bytes */
  const unsigned char *tot = ccp_ser_get_array(r, ntot, sizeof *s->tot);
  const void *ent = ccp_ser_get_array(r, nent, sizeof *s->ent);
  const void *val = ccp_ser_get_array(r, (uint64_t)nent * s->nc, vsize(s));
  const void *hr = ccp_ser_get_array(r, nhr, sizeof *s->hr);
  if (r->bad)
    return -1;
  if (s->nc) {
    s->tot = ccp_calloc(nw * s->nc, sizeof *s->tot);
    for (size_t w = 0; w < nw; w++)
      if (!(tr >> w & 1)) {
        memcpy(s->tot + w * s->nc, tot, s->nc * sizeof *s->tot);
        tot += s->nc * sizeof *s->tot;
      }
  }
  if (ecap) {
    s->ent = ccp_malloc(ecap * sizeof *s->ent);
    s->val = ccp_malloc(ecap * rsize(s));
    memcpy(s->ent, ent, nent * sizeof *s->ent);
    memcpy(s->val, val, nent * rsize(s));
  }
  if (hcap) {
    s->hr = ccp_malloc(hcap * sizeof *s->hr);
    memcpy(s->hr, hr, nhr * sizeof *s->hr);
  }
  s->nent = nent;
  s->ecap = ecap;
  s->ndead = ndead;
  s->nhr = nhr;
  s->hcap = hcap;
  s->hmerged = hmerged;
  for (uint32_t i = 0; i < nhr; i++)
    if (!CCP_SER_CHECK(r, s->hr[i].which < CCP_H__COUNT && s->hr[i].bin < CCP_SKETCH_BINS,
                       "bad histogram record"))
      return -1;
  uint8_t has_hist = ccp_ser_get_u8(r);
  if (!CCP_SER_CHECK(r, has_hist <= 1 && (has_hist || !nhr), "bad window histograms"))
    return -1;
  if (has_hist) {
    s->hist = ccp_calloc(nw * CCP_H__COUNT, sizeof *s->hist);
    for (size_t w = 0; w < nw; w++)
      for (size_t i = 0; !(tr >> w & 1) && i < CCP_H__COUNT; i++)
        if (ccp_hist_load(&s->hist[w * CCP_H__COUNT + i], r) != 0)
          return -1;
  }
  if (!full)
    rebuild_trailing(s, g);
  return 0;
}
