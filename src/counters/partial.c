/*
 * Partial aggregates (include/ccpulse/partial.h, src/counters/partial.h):
 * sharing one (a reference count), releasing one, reading its stream time,
 * and writing one to bytes and back (ccp_partial_save / ccp_partial_load:
 * how an instance hands the partials of its partitions to the instance that
 * writes the view, docs/live.md "Several instances"). Filled by
 * src/engine/export.c, merged by src/publish/view.c. Any thread; a
 * reference belongs to one thread at a time.
 *
 * Bytes (host byte order, like the engine checkpoint: they move between
 * processes of one build): a 32-byte header — magic "CCPPART\0", version,
 * a layout word (the counter and histogram geometry and the configured
 * windows: another build or another `windows` is refused), the body length
 * and a ccp_hash64 checksum of the body — then the body: stream time,
 * window bounds, retention counts, diagnostics, tickets, the customer base
 * unit, the retention sample (slot, L, count, then its (hash, activity)
 * pairs, hashes ascending), and per scope its name, kind, gauges, per
 * window the field mask, the non-zero values and the two sparse histograms
 * (bins ascending, counts > 0), then its customer entries (count, then the
 * 64-bit entries, hashes ascending).
 *
 * Loading trusts nothing: header, length and checksum first, then every
 * count against the bytes left before allocating for it, every bin, mask
 * and kind against its range. A loaded partial has the layout of an
 * exported one (one block per scope with its windows, values and bins), so
 * ccp_partial_free() releases both alike.
 */
#include "counters/partial.h"

#include <stdio.h>
#include <string.h>

#include "ccpulse/common.h"
#include "util/ser.h"

#define PART_MAGIC "CCPPART"
#define PART_VERSION 3u /* 3: diagnostics overflow, evicted_customers */
#define PART_HEADER 32
#define PART_SEED 0x70617274ULL

ccp_partial_t *ccp_partial_ref(ccp_partial_t *p) {
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  return p;
}

ccp_words_t *ccp_words_new(size_t n, size_t stride) {
  CCP_ASSERT(n <= UINT32_MAX);
  ccp_words_t *b = ccp_malloc(sizeof *b + n * stride * sizeof(uint64_t));
  atomic_init(&b->refs, 0);
  b->n = (uint32_t)n;
  b->pool = NULL;
  b->cap = n * stride;
  return b;
}

/* ------------------------------------------------------------ pool */

/* Size classes: 8 words, then four a doubling (a block at most a quarter
 * larger than asked), up to POOL_MAX_WORDS; larger blocks are not pooled. */
#define POOL_MAX_WORDS 8192u
#define POOL_CLASSES 41

struct ccp_words_pool {
  /* given back by any thread since the owner's last cycle, by class,
   * linked through w[0]; the owner takes a whole stack at once (no ABA),
   * without reading the blocks (cold: the giver's thread released them) */
  _Atomic(ccp_words_t *) back[POOL_CLASSES];
  _Atomic int refs;                /* the owner's and one per block out, less one */
  ccp_words_t *kept[POOL_CLASSES]; /* the owner's: given back, by class, linked */
};

/* The class of a block of `words` words and its room (<= POOL_MAX_WORDS). */
static int pool_class(size_t words, size_t *cap) {
  if (words <= 8) {
    *cap = 8;
    return 0;
  }
  int b = 63 - __builtin_clzll((unsigned long long)(words - 1)); /* 2^b < words <= 2^(b+1) */
  size_t step = (size_t)1 << (b - 2);
  size_t j = (words - ((size_t)1 << b) + step - 1) / step; /* 1..4 */
  *cap = ((size_t)1 << b) + j * step;
  return 1 + 4 * (b - 3) + (int)(j - 1);
}

static ccp_words_t *link_of(const ccp_words_t *b) {
  ccp_words_t *next;
  memcpy(&next, b->w, sizeof next);
  return next;
}

static void set_link(ccp_words_t *b, ccp_words_t *next) { memcpy(b->w, &next, sizeof next); }

static void free_list(ccp_words_t *b) {
  while (b) {
    ccp_words_t *next = link_of(b);
    ccp_free(b);
    b = next;
  }
}

static void pool_free_kept(ccp_words_pool_t *p) {
  for (int c = 0; c < POOL_CLASSES; c++) {
    free_list(p->kept[c]);
    p->kept[c] = NULL;
  }
}

/* Drops a reference; the last frees the pool with what was given back. */
static void pool_unref(ccp_words_pool_t *p) {
  /* acq_rel: the last sees every give (push) before its release */
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) > 0)
    return;
  for (int c = 0; c < POOL_CLASSES; c++)
    free_list(atomic_load_explicit(&p->back[c], memory_order_acquire));
  pool_free_kept(p);
  ccp_free(p);
}

static void pool_give(ccp_words_t *b) {
  ccp_words_pool_t *p = b->pool;
  size_t cap;
  _Atomic(ccp_words_t *) *back = &p->back[pool_class(b->cap, &cap)];
  ccp_words_t *head = atomic_load_explicit(back, memory_order_relaxed);
  do
    set_link(b, head);
  while (!atomic_compare_exchange_weak_explicit(back, &head, b, memory_order_release,
                                                memory_order_relaxed));
  pool_unref(p);
}

ccp_words_pool_t *ccp_words_pool_new(void) {
  ccp_words_pool_t *p = ccp_calloc(1, sizeof *p);
  for (int c = 0; c < POOL_CLASSES; c++)
    atomic_init(&p->back[c], NULL);
  atomic_init(&p->refs, 0);
  return p;
}

ccp_words_t *ccp_words_pool_take(ccp_words_pool_t *p, size_t n, size_t stride) {
  size_t words = n * stride, cap;
  if (!p || words > POOL_MAX_WORDS)
    return ccp_words_new(n, stride);
  int c = pool_class(words, &cap);
  ccp_words_t *b = p->kept[c];
  if (b) {
    p->kept[c] = link_of(b);
  } else {
    b = ccp_malloc(sizeof *b + cap * sizeof(uint64_t));
    b->cap = cap;
  }
  atomic_init(&b->refs, 0);
  b->n = (uint32_t)n;
  b->pool = p;
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  return b;
}

void ccp_words_pool_cycle(ccp_words_pool_t *p) {
  if (!p)
    return;
  for (int c = 0; c < POOL_CLASSES; c++) {
    free_list(p->kept[c]); /* not taken again for a whole cycle: not needed */
    p->kept[c] = atomic_load_explicit(&p->back[c], memory_order_relaxed)
                     ? atomic_exchange_explicit(&p->back[c], NULL, memory_order_acquire)
                     : NULL;
  }
}

void ccp_words_pool_trim(ccp_words_pool_t *p) {
  if (!p)
    return;
  pool_free_kept(p);
  for (int c = 0; c < POOL_CLASSES; c++)
    free_list(atomic_exchange_explicit(&p->back[c], NULL, memory_order_acquire));
}

void ccp_words_pool_close(ccp_words_pool_t *p) {
  if (!p)
    return;
  ccp_words_pool_trim(p);
  pool_unref(p);
}

ccp_words_t *ccp_words_ref(ccp_words_t *b) {
  if (b)
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
  return b;
}

void ccp_words_free(ccp_words_t *b) {
  /* acq_rel: the last holder sees every other holder's reads done */
  if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 0) {
    if (b->pool)
      pool_give(b);
    else
      ccp_free(b);
  }
}

uint32_t ccp_words_find(const ccp_words_t *b, size_t stride, int lo, uint64_t key) {
  uint32_t from = 0, to = b->n;
  while (from < to) {
    uint32_t mid = from + (to - from) / 2;
    if (b->w[mid * stride] >> lo < key)
      from = mid + 1;
    else
      to = mid;
  }
  return from < b->n && b->w[from * stride] >> lo == key ? from : b->n;
}

void ccp_partial_free(ccp_partial_t *p) {
  if (!p)
    return;
  /* acq_rel: the last holder sees every other holder's reads done */
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) > 0)
    return;
  for (int i = 0; i < p->nscopes; i++) {
    if (p->scopes[i].blk) { /* win and name live in the shared block */
      ccp_words_free(p->scopes[i].blk);
    } else {
      ccp_free(p->scopes[i].win); /* with the values and histogram bins */
      ccp_free(p->scopes[i].name);
    }
    ccp_words_free(p->scopes[i].cust);
    ccp_words_free(p->scopes[i].cust_chg);
    ccp_words_free(p->scopes[i].cust_from);
  }
  ccp_free(p->scopes);
  ccp_words_free(p->rs);
  ccp_words_free(p->rs_chg);
  ccp_words_free(p->rs_from);
  ccp_free(p);
}

int64_t ccp_partial_now(const ccp_partial_t *p) { return p->now; }

/* ---------------------------------------------------------- bytes */

/* The layout word: what must agree between writer and reader besides the
 * version (geometry of the counters and histograms, the windows). */
static uint32_t layout_word(const ccp_config_t *cfg) {
  uint64_t g[4] = {CCP_F__COUNT, CCP_H__COUNT, CCP_SKETCH_BINS, (uint64_t)cfg->nwindows};
  uint64_t h = ccp_hash64(g, sizeof g, PART_SEED);
  for (int w = 0; w < cfg->nwindows; w++) {
    const ccp_window_conf_t *wc = &cfg->windows[w];
    int64_t x[3] = {wc->span_ms, wc->granularity_ms, wc->is_today};
    h = ccp_hash64(x, sizeof x, h);
    h = ccp_hash64(wc->name, strnlen(wc->name, sizeof wc->name), h);
  }
  return (uint32_t)(h ^ h >> 32);
}

void ccp_partial_save(const ccp_partial_t *p, const ccp_partial_t *hdr, const ccp_config_t *cfg,
                      ccp_buf_t *out) {
  const ccp_partial_t *t = hdr ? hdr : p;
  size_t at = out->len;
  ccp_ser_put(out, PART_MAGIC, 8);
  ccp_ser_put_u32(out, PART_VERSION);
  ccp_ser_put_u32(out, layout_word(cfg));
  ccp_ser_put_u64(out, 0); /* body length, below */
  ccp_ser_put_u64(out, 0); /* checksum, below */
  size_t body = out->len;
  int nw = p->nwindows;
  ccp_ser_put_i64(out, t->now);
  ccp_ser_put_u32(out, (uint32_t)nw);
  ccp_ser_put(out, t->cur_b, (size_t)nw * sizeof *t->cur_b);
  ccp_ser_put(out, t->start_b, (size_t)nw * sizeof *t->start_b);
  ccp_ser_put_i64(out, p->ret_prev);
  ccp_ser_put_i64(out, p->ret_both);
  ccp_ser_put(out, &p->diag, sizeof p->diag);
  ccp_ser_put_i64(out, p->tickets);
  ccp_ser_put_i64(out, p->cust_unit);
  ccp_ser_put_i64(out, p->rs_c);
  ccp_ser_put_u8(out, (uint8_t)p->rs_l);
  uint32_t nrs = p->rs ? p->rs->n : 0;
  ccp_ser_put_u32(out, nrs);
  if (nrs)
    ccp_ser_put(out, p->rs->w, (size_t)nrs * 2 * sizeof *p->rs->w);
  ccp_ser_put_u32(out, (uint32_t)p->nscopes);
  for (int i = 0; i < p->nscopes; i++) {
    const ccp_partial_scope_t *s = &p->scopes[i];
    ccp_ser_put_u32(out, (uint32_t)s->name_len);
    ccp_ser_put(out, s->name, s->name_len);
    ccp_ser_put_u8(out, s->kind);
    ccp_ser_put_i64(out, s->open);
    ccp_ser_put_i64(out, s->waiting);
    ccp_ser_put_i64(out, s->aged);
    ccp_ser_put_i64(out, s->oldest_open);
    for (int w = 0; w < nw; w++) {
      const ccp_partial_win_t *pw = &s->win[w];
      ccp_ser_put_u32(out, pw->fields);
      ccp_ser_put(out, pw->val, (size_t)__builtin_popcount(pw->fields) * sizeof *pw->val);
      for (int h = 0; h < CCP_H__COUNT; h++) {
        const ccp_shist_t *sh = &pw->hist[h];
        ccp_ser_put_u32(out, sh->n);
        ccp_ser_put(out, sh->bin, sh->n * sizeof *sh->bin);
        ccp_ser_put(out, sh->count, sh->n * sizeof *sh->count);
      }
    }
    uint32_t nc = s->cust ? s->cust->n : 0;
    ccp_ser_put_u32(out, nc);
    if (nc)
      ccp_ser_put(out, s->cust->w, (size_t)nc * sizeof *s->cust->w);
  }
  uint64_t blen = out->len - body;
  uint64_t sum = ccp_hash64(out->data + body, blen, PART_SEED);
  memcpy(out->data + at + 16, &blen, sizeof blen);
  memcpy(out->data + at + 24, &sum, sizeof sum);
}

/* Reads one window of a scope (the reader at its field mask). With w NULL
 * it only checks and counts: *nvals values and *nbins bins; with w it fills
 * w from the block cursors *v, *count, *bin. */
static void read_window(ccp_ser_rd_t *r, ccp_partial_win_t *w, int64_t **v, uint32_t **count,
                        uint16_t **bin, size_t *nvals, size_t *nbins) {
  uint32_t fields = ccp_ser_get_u32(r);
  if (!CCP_SER_CHECK(r, (uint64_t)fields >> CCP_F__COUNT == 0, "field mask %#x beyond %d fields",
                     fields, CCP_F__COUNT))
    return;
  size_t nv = (size_t)__builtin_popcount(fields);
  const void *vals = ccp_ser_get_array(r, nv, sizeof(int64_t));
  if (r->bad)
    return;
  if (w) {
    w->fields = fields;
    w->val = *v;
    memcpy(*v, vals, nv * sizeof **v);
    *v += nv;
  } else {
    *nvals += nv;
  }
  for (int h = 0; h < CCP_H__COUNT; h++) {
    uint32_t n = ccp_ser_get_u32(r);
    if (!CCP_SER_CHECK(r, n <= CCP_SKETCH_BINS, "histogram of %u bins", n))
      return;
    const unsigned char *b = ccp_ser_get_array(r, n, sizeof(uint16_t));
    const unsigned char *c = ccp_ser_get_array(r, n, sizeof(uint32_t));
    if (r->bad)
      return;
    if (!w) { /* check: bins ascending and in range, counts > 0 */
      for (uint32_t i = 0; i < n; i++) {
        uint16_t bi, prev = 0;
        uint32_t ci;
        memcpy(&bi, b + (size_t)i * sizeof bi, sizeof bi);
        memcpy(&ci, c + (size_t)i * sizeof ci, sizeof ci);
        if (i)
          memcpy(&prev, b + (size_t)(i - 1) * sizeof prev, sizeof prev);
        if (!CCP_SER_CHECK(r, bi < CCP_SKETCH_BINS && ci > 0 && (i == 0 || bi > prev),
                           "histogram bin %u (count %u) out of order or range", bi, ci))
          return;
      }
      *nbins += n;
      continue;
    }
    ccp_shist_t *sh = &w->hist[h];
    sh->n = n;
    sh->count = n ? *count : NULL;
    sh->bin = n ? *bin : NULL;
    memcpy(*count, c, n * sizeof **count);
    memcpy(*bin, b, n * sizeof **bin);
    *count += n;
    *bin += n;
  }
}

/* Reads n entries of `stride` words into a new block after checking them:
 * the first word of each ascends strictly (by its bits from `shift` up), is
 * not 0 there and is at most `max`; a second word, when there is one, is a
 * non-zero value below 2^CCP_RS_BITS. NULL with r marked bad otherwise. */
static ccp_words_t *read_words(ccp_ser_rd_t *r, size_t stride, int shift, uint64_t max,
                               const char *what) {
  uint32_t n = ccp_ser_get_u32(r);
  const unsigned char *src = ccp_ser_get_array(r, (uint64_t)n * stride, sizeof(uint64_t));
  if (r->bad || !n)
    return NULL;
  ccp_words_t *b = ccp_words_new(n, stride);
  memcpy(b->w, src, (size_t)n * stride * sizeof *b->w);
  for (uint32_t i = 0; i < n; i++) {
    uint64_t k = b->w[i * stride] >> shift;
    uint64_t prev = i ? b->w[(i - 1) * stride] >> shift : 0;
    uint64_t val = stride > 1 ? b->w[i * stride + 1] : 1;
    if (!CCP_SER_CHECK(r, k > prev && k <= max && val && val >> CCP_RS_BITS == 0,
                       "%s entry %u of %u out of order or range", what, i, n)) {
      ccp_words_free(b);
      return NULL;
    }
  }
  return b;
}

ccp_partial_t *ccp_partial_load(const ccp_config_t *cfg, const void *data, size_t len, char *errbuf,
                                size_t errlen) {
  ccp_ser_rd_t r;
  ccp_ser_rd_init(&r, data, len);
  ccp_partial_t *p = NULL;
  const char *magic = ccp_ser_get(&r, 8);
  uint32_t version = ccp_ser_get_u32(&r);
  uint32_t layout = ccp_ser_get_u32(&r);
  uint64_t blen = ccp_ser_get_u64(&r);
  uint64_t sum = ccp_ser_get_u64(&r);
  if (r.bad || memcmp(magic, PART_MAGIC, 8) != 0) {
    snprintf(errbuf, errlen, "cannot read partial: not a partial (%zu bytes)", len);
    return NULL;
  }
  if (version != PART_VERSION) {
    snprintf(errbuf, errlen, "cannot read partial: format version %u, this build reads %u", version,
             PART_VERSION);
    return NULL;
  }
  if (layout != layout_word(cfg)) {
    snprintf(errbuf, errlen,
             "cannot read partial: written by another build or under other 'windows'");
    return NULL;
  }
  if (blen != r.left) {
    snprintf(errbuf, errlen, "cannot read partial: truncated (body of %zu bytes, header says %llu)",
             r.left, (unsigned long long)blen);
    return NULL;
  }
  if (ccp_hash64(r.p, r.left, PART_SEED) != sum) {
    snprintf(errbuf, errlen, "cannot read partial: checksum mismatch (corrupt bytes)");
    return NULL;
  }
  p = ccp_calloc(1, sizeof *p);
  p->now = ccp_ser_get_i64(&r);
  uint32_t nw = ccp_ser_get_u32(&r);
  if (!CCP_SER_CHECK(&r, nw == (uint32_t)cfg->nwindows, "%u windows, the configuration has %d", nw,
                     cfg->nwindows))
    goto fail;
  p->nwindows = (int)nw;
  ccp_ser_get_into(&r, p->cur_b, nw * sizeof *p->cur_b);
  ccp_ser_get_into(&r, p->start_b, nw * sizeof *p->start_b);
  /* window bounds as an export sets them: the view multiplies them out */
  if (!CCP_SER_CHECK(&r, p->now == INT64_MIN || p->now > INT64_MIN / 2, "stream time %lld",
                     (long long)p->now))
    goto fail;
  for (uint32_t w = 0; w < nw && p->now != INT64_MIN; w++) {
    const ccp_window_conf_t *wc = &cfg->windows[w];
    int64_t nb = CCP_MAX(wc->span_ms, 26 * 3600000LL) / wc->granularity_ms; /* today: <= 25 h */
    if (!CCP_SER_CHECK(&r,
                       p->cur_b[w] == ccp_floordiv(p->now, wc->granularity_ms) &&
                           p->start_b[w] <= p->cur_b[w] && p->cur_b[w] - p->start_b[w] <= nb,
                       "window %u bounds %lld..%lld at %lld", w, (long long)p->start_b[w],
                       (long long)p->cur_b[w], (long long)p->now))
      goto fail;
  }
  p->ret_prev = ccp_ser_get_i64(&r);
  p->ret_both = ccp_ser_get_i64(&r);
  ccp_ser_get_into(&r, &p->diag, sizeof p->diag);
  p->tickets = ccp_ser_get_i64(&r);
  p->cust_unit = ccp_ser_get_i64(&r);
  p->rs_c = ccp_ser_get_i64(&r);
  p->rs_l = ccp_ser_get_u8(&r);
  int unit_ok = p->cust_unit >= 0;
  for (int w = 0; w < cfg->nwindows && p->cust_unit > 0; w++)
    unit_ok &= cfg->windows[w].granularity_ms % p->cust_unit == 0;
  if (!CCP_SER_CHECK(&r, unit_ok && p->rs_l <= 64, "customer unit %lld, sample L %d",
                     (long long)p->cust_unit, p->rs_l))
    goto fail;
  p->rs = read_words(&r, 2, 0, CCP_RS_MAX(p->rs_l), "retention sample");
  if (r.bad)
    goto fail;
  uint32_t ns = ccp_ser_get_u32(&r);
  /* every scope takes at least its name length, kind and gauges */
  if (!CCP_SER_CHECK(&r, ns <= r.left / (4 + 1 + 32), "%u scopes in %zu bytes", ns, r.left))
    goto fail;
  p->scopes = ccp_calloc(ns ? ns : 1, sizeof *p->scopes);
  for (uint32_t i = 0; i < ns; i++) {
    ccp_partial_scope_t *s = &p->scopes[i];
    uint32_t nl = ccp_ser_get_u32(&r);
    const char *name = ccp_ser_get_array(&r, nl, 1);
    uint8_t kind = ccp_ser_get_u8(&r);
    if (r.bad || !CCP_SER_CHECK(&r, kind <= CCP_SC_AGENT && nl > 0,
                                "scope %u: kind %u, name of %u bytes", i, kind, nl))
      goto fail;
    s->name = ccp_strndup(name, nl);
    s->name_len = nl;
    s->kind = kind;
    p->nscopes++; /* from here on ccp_partial_free releases it */
    s->open = ccp_ser_get_i64(&r);
    s->waiting = ccp_ser_get_i64(&r);
    s->aged = ccp_ser_get_i64(&r);
    s->oldest_open = ccp_ser_get_i64(&r);
    /* first pass: check and count, then the block, then fill it */
    ccp_ser_rd_t again = r;
    size_t nvals = 0, nbins = 0;
    for (uint32_t w = 0; w < nw && !r.bad; w++)
      read_window(&r, NULL, NULL, NULL, NULL, &nvals, &nbins);
    if (r.bad)
      goto fail;
    s->win = ccp_calloc(1, nw * sizeof *s->win + nvals * sizeof(int64_t) +
                               nbins * (sizeof(uint32_t) + sizeof(uint16_t)));
    int64_t *v = (int64_t *)(s->win + nw);
    uint32_t *count = (uint32_t *)(v + nvals);
    uint16_t *bin = (uint16_t *)(count + nbins);
    for (uint32_t w = 0; w < nw; w++)
      read_window(&again, &s->win[w], &v, &count, &bin, NULL, NULL);
    CCP_ASSERT(!again.bad && again.p == r.p);
    s->cust = read_words(&r, 1, 32, UINT32_MAX, "customer");
    if (r.bad)
      goto fail;
  }
  if (!CCP_SER_CHECK(&r, r.left == 0, "%zu bytes after the last scope", r.left))
    goto fail;
  return p;
fail:
  snprintf(errbuf, errlen, "cannot read partial: %s", r.msg[0] ? r.msg : "truncated");
  ccp_partial_free(p);
  return NULL;
}
