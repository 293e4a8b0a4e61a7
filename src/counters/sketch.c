/*
 * Log-bucketed histogram, see sketch.h. Sparse form: the non-zero bins as
 * sorted (bin << 48 | count) words, found by binary search, a removed bin's
 * word taken out; it turns dense (bitmap + counts) when it would hold more
 * than CCP_HIST_SPARSE_MAX bins, so a window with a few samples costs a few
 * words and a busy one keeps O(1) adds. Bin i >= 128 holds values in
 * (G^(k-1), G^k] with k = i - 128 + K0 and G = 1.02; its reported value
 * 2 G^k / (G + 1) is within (G - 1) / (G + 1) < 1 % of every value in it.
 *
 * Threads: the bin tables are process-wide constants built once (see
 * below); a histogram belongs to one thread at a time.
 */
#include "counters/sketch.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "ccpulse/common.h"
#include "util/prefetch.h"
#include "util/ser.h"

#define GAMMA 1.02
#define EXACT 128

/* Tables built once per process by init_tables() under pthread_once: any
 * thread may call ccp_sketch_bin/ccp_sketch_value first, and every caller
 * sees the finished tables (pthread_once orders the writes before the
 * return of every call). */
static double ln_gamma_inv; /* 1 / ln(GAMMA) */
static int k0;              /* k of the first log bin: ceil(log_G(128)) + 1 */
static double values[CCP_SKETCH_BINS];
/* Log bins: NLOG of them; bound[j] = pow(G, k0 + 1 + j), the top of bin
 * EXACT + j, as pow() gives it (the bin of v > 127 is the first whose bound
 * is >= v, the last one beyond). */
#define NLOG (CCP_SKETCH_BINS - EXACT)
static double bound[NLOG];
static double log2_gamma_inv; /* 1 / log2(GAMMA) */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void init_tables(void) {
  ln_gamma_inv = 1.0 / log(GAMMA);
  log2_gamma_inv = 1.0 / log2(GAMMA);
  k0 = (int)ceil(log((double)(EXACT - 1)) * ln_gamma_inv);
  for (int i = 0; i < CCP_SKETCH_BINS; i++) {
    if (i < EXACT) {
      values[i] = i;
    } else {
      int k = i - EXACT + k0 + 1;
      values[i] = 2.0 * pow(GAMMA, k) / (GAMMA + 1.0);
      bound[i - EXACT] = pow(GAMMA, k);
    }
  }
}

/* log2(d) for d >= 1 within ~0.005: the exponent, plus a quadratic in the
 * mantissa. Only a first guess of the bin: the bounds decide. */
static inline double log2_rough(double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  int ex = (int)(bits >> 52) - 1023;
  bits = (bits & ((1ULL << 52) - 1)) | (1023ULL << 52);
  double m;
  memcpy(&m, &bits, sizeof m);
  return ex + (-0.34484843 * m + 2.02466578) * m - 1.67981735;
}

/* The bin is the first j with bound[j] >= v: the same k as the smallest
 * with pow(G, k) >= v, which the earlier ceil(log(v) / log(G)) with a
 * one-step correction by pow() gave (test_sketch compares both over every
 * bound and a range of values). A guess from log2_rough() is at most one
 * bin off, and the two walks make it exact whatever the guess; the
 * event path calls this for every first reply and resolution, and log()
 * with two pow() cost ~380 instructions. */
uint16_t ccp_sketch_bin(int64_t v) {
  pthread_once(&tables_once, init_tables);
  if (v < EXACT)
    return (uint16_t)(v < 0 ? 0 : v);
  double d = (double)v;
  double guess = log2_rough(d) * log2_gamma_inv - (double)(k0 + 1);
  int j = guess <= 0 ? 0 : guess >= NLOG - 1 ? NLOG - 1 : (int)guess;
  while (j > 0 && bound[j - 1] >= d)
    j--;
  while (j < NLOG - 1 && bound[j] < d)
    j++;
  return (uint16_t)(EXACT + j);
}

double ccp_sketch_value(uint16_t bin) {
  pthread_once(&tables_once, init_tables);
  return values[bin < CCP_SKETCH_BINS ? bin : CCP_SKETCH_BINS - 1];
}

/* Dense block layout: NZW bitmap words, then the counts as uint32. */
#define NZW (CCP_SKETCH_BINS / 64)
#define SP_BIN(wd) ((uint16_t)((wd) >> 48))
#define SP_CNT(wd) ((wd) & ((1ULL << 48) - 1))
static inline uint64_t *dnz(const ccp_hist_t *h) { return h->p; }
static inline uint32_t *dbins(const ccp_hist_t *h) { return (uint32_t *)(h->p + NZW); }

/* Index of the first sparse word with bin >= b. */
static uint32_t sp_find(const ccp_hist_t *h, uint16_t b) {
  uint32_t lo = 0, hi = h->ns;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (SP_BIN(h->p[mid]) < b)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Turns a sparse histogram dense (its sparse words move into the block). */
static void make_dense(ccp_hist_t *h) {
  uint64_t *blk = ccp_calloc(NZW + CCP_SKETCH_BINS / 2, sizeof *blk);
  uint32_t *bins = (uint32_t *)(blk + NZW);
  for (uint32_t i = 0; i < h->ns; i++) {
    uint16_t b = SP_BIN(h->p[i]);
    bins[b] = (uint32_t)SP_CNT(h->p[i]);
    blk[b >> 6] |= 1ULL << (b & 63);
  }
  ccp_free(h->p);
  h->p = blk;
  h->dense = 1;
  h->ns = h->cap = 0;
}

void ccp__hist_add_sparse_bin(ccp_hist_t *h, uint16_t b, int64_t delta) {
  h->n += (uint64_t)delta;
  uint32_t i = sp_find(h, b);
  if (i < h->ns && SP_BIN(h->p[i]) == b) {
    uint64_t c = SP_CNT(h->p[i]) + (uint64_t)delta;
    c &= (1ULL << 48) - 1;
    if (c) {
      h->p[i] = ((uint64_t)b << 48) | c;
    } else { /* the bin empties: close the gap */
      memmove(h->p + i, h->p + i + 1, (h->ns - i - 1) * sizeof *h->p);
      h->ns--;
    }
    return;
  }
  if (h->ns == CCP_HIST_SPARSE_MAX) {
    make_dense(h);
    ccp__hist_dense_add(h, b, delta);
    return;
  }
  if (h->ns == h->cap) {
    h->cap = (uint16_t)(h->cap ? CCP_MIN(2 * h->cap, CCP_HIST_SPARSE_MAX) : 4);
    h->p = ccp_realloc(h->p, h->cap * sizeof *h->p);
  }
  memmove(h->p + i + 1, h->p + i, (h->ns - i) * sizeof *h->p);
  h->p[i] = ((uint64_t)b << 48) | ((uint64_t)delta & ((1ULL << 48) - 1));
  h->ns++;
}

uint32_t ccp_hist_get(const ccp_hist_t *h, uint16_t b) {
  if (h->dense)
    return dbins(h)[b];
  uint32_t i = sp_find(h, b);
  return i < h->ns && SP_BIN(h->p[i]) == b ? (uint32_t)SP_CNT(h->p[i]) : 0;
}

size_t ccp_hist_bytes(const ccp_hist_t *h) {
  if (h->dense)
    return (NZW + CCP_SKETCH_BINS / 2) * sizeof(uint64_t);
  return h->cap * sizeof(uint64_t);
}

void ccp_hist_each(const ccp_hist_t *h, void (*fn)(void *, uint16_t, uint32_t), void *opaque) {
  if (!h->n)
    return;
  if (!h->dense) {
    for (uint32_t i = 0; i < h->ns; i++)
      fn(opaque, SP_BIN(h->p[i]), (uint32_t)SP_CNT(h->p[i]));
    return;
  }
  const uint32_t *bins = dbins(h);
  for (int w = 0; w < NZW; w++)
    for (uint64_t m = dnz(h)[w]; m; m &= m - 1) {
      uint16_t b = (uint16_t)(w * 64 + __builtin_ctzll(m));
      fn(opaque, b, bins[b]);
    }
}

int ccp_hist_nonzero(const ccp_hist_t *h) {
  if (!h->n)
    return 0;
  if (!h->dense)
    return h->ns;
  int n = 0;
  for (int w = 0; w < NZW; w++)
    n += __builtin_popcountll(dnz(h)[w]);
  return n;
}

static void merge_one(void *opaque, uint16_t bin, uint32_t count) {
  ccp_hist_add(opaque, bin, count);
}

void ccp_hist_merge(ccp_hist_t *dst, const ccp_hist_t *src) {
  if (!src->n)
    return;
  if (!dst->dense && dst->ns + ccp_hist_nonzero(src) > CCP_HIST_SPARSE_MAX)
    make_dense(dst);
  ccp_hist_each(src, merge_one, dst);
}

void ccp_hist_clear(ccp_hist_t *h) {
  if (h->dense) {
    if (h->n)
      memset(h->p, 0, (NZW + CCP_SKETCH_BINS / 2) * sizeof *h->p);
  } else {
    h->ns = 0;
  }
  h->n = 0;
}

void ccp_hist_release(ccp_hist_t *h) {
  ccp_free(h->p);
  memset(h, 0, sizeof *h);
}

void ccp_hist_prefetch(const ccp_hist_t *h) {
  if (!h->n)
    return;
  /* sparse: every line of its words (at most CCP_HIST_SPARSE_MAX, 8 lines);
   * dense: the bitmap (its bins follow only from the bits) */
  size_t bytes = h->dense ? NZW * sizeof *h->p : (size_t)h->ns * sizeof *h->p;
  for (size_t off = 0; off < bytes; off += 64)
    ccp_prefetch((const char *)h->p + off);
}

uint32_t ccp_shist_fill(ccp_shist_t *dst, const ccp_hist_t *src, uint32_t *count, uint16_t *bin) {
  /* ccp_hist_each() written out with a local count: the export fills every
   * histogram of every changed scope (src/engine/export.c) */
  memset(dst, 0, sizeof *dst);
  if (!src->n)
    return 0;
  uint32_t n = 0;
  if (!src->dense) {
    for (; n < src->ns; n++) {
      bin[n] = SP_BIN(src->p[n]);
      count[n] = (uint32_t)SP_CNT(src->p[n]);
    }
  } else {
    const uint32_t *bins = dbins(src);
    for (int w = 0; w < NZW; w++)
      for (uint64_t m = dnz(src)[w]; m; m &= m - 1) {
        uint16_t b = (uint16_t)(w * 64 + __builtin_ctzll(m));
        bin[n] = b;
        count[n++] = bins[b];
      }
  }
  if (n) {
    dst->count = count;
    dst->bin = bin;
    dst->n = n;
  }
  return n;
}

void ccp_shist_from(ccp_shist_t *dst, const ccp_hist_t *src) {
  int n = ccp_hist_nonzero(src);
  /* one block: n counts, then n bins */
  uint32_t *block = n ? ccp_malloc((size_t)n * (sizeof *dst->count + sizeof *dst->bin)) : NULL;
  ccp_shist_fill(dst, src, block, (uint16_t *)(block + n));
}

void ccp_shist_release(ccp_shist_t *h) {
  ccp_free(h->count); /* count and bin share one block */
  memset(h, 0, sizeof *h);
}

void ccp_hist_add_sparse(ccp_hist_t *h, const ccp_shist_t *src) {
  if (!src->n)
    return;
  if (!h->dense && h->ns + src->n > CCP_HIST_SPARSE_MAX)
    make_dense(h);
  else if (!h->dense && h->ns + src->n > h->cap) { /* room for all at once, not by doubling */
    h->cap = (uint16_t)(h->ns + src->n);
    h->p = ccp_realloc(h->p, h->cap * sizeof *h->p);
  }
  for (uint32_t i = 0; i < src->n; i++)
    ccp_hist_add(h, src->bin[i], src->count[i]);
}

typedef struct pct_walk {
  const int *pct;
  int npct, j;
  uint64_t n, cum;
  double *out;
} pct_walk_t;

static void pct_step(void *opaque, uint16_t b, uint32_t count) {
  pct_walk_t *pw = opaque;
  pw->cum += count;
  while (pw->j < pw->npct) {
    uint64_t rank = ((uint64_t)pw->pct[pw->j] * pw->n + 99) / 100; /* ceil(p n) */
    if (rank < 1)
      rank = 1;
    if (pw->cum < rank)
      break;
    pw->out[pw->j++] = ccp_sketch_value(b);
  }
}

void ccp_hist_percentiles(const ccp_hist_t *h, const int *pct, int npct, double *out) {
  if (!h->n) {
    for (int i = 0; i < npct; i++)
      out[i] = NAN;
    return;
  }
  /* the walk visits the non-zero bins in order (it cannot stop early, but
   * past the last percentile each step is one comparison) */
  pct_walk_t pw = {pct, npct, 0, h->n, 0, out};
  ccp_hist_each(h, pct_step, &pw);
  while (pw.j < npct)
    out[pw.j++] = ccp_sketch_value(CCP_SKETCH_BINS - 1);
}

/* -------------------------------------------------------- checkpoints */

static void put_word(void *opaque, uint16_t bin, uint32_t count) {
  ccp_ser_put_u64(opaque, (uint64_t)bin << 48 | count);
}

void ccp_hist_save(const ccp_hist_t *h, ccp_buf_t *out) {
  ccp_ser_put_u8(out, h->dense);
  ccp_ser_put_u64(out, h->n);
  ccp_ser_put_u16(out, h->cap);
  ccp_ser_put_u8(out, h->p != NULL);
  uint32_t nz = h->dense ? (uint32_t)ccp_hist_nonzero(h) : h->ns;
  ccp_ser_put_u32(out, nz);
  if (h->dense)
    ccp_hist_each(h, put_word, out);
  else
    ccp_ser_put(out, h->p, (size_t)h->ns * sizeof *h->p);
}

int ccp_hist_load(ccp_hist_t *h, ccp_ser_rd_t *r) {
  uint8_t dense = ccp_ser_get_u8(r);
  uint64_t n = ccp_ser_get_u64(r);
  uint16_t cap = ccp_ser_get_u16(r);
  uint8_t has_p = ccp_ser_get_u8(r);
  uint32_t nz = ccp_ser_get_u32(r);
  if (!CCP_SER_CHECK(r,
                     dense <= 1 && has_p <= 1 &&
                         (dense ? has_p && nz <= CCP_SKETCH_BINS && !cap
                                : cap <= CCP_HIST_SPARSE_MAX && nz <= cap && has_p == (cap != 0)),
                     "bad histogram"))
    return -1;
  const unsigned char *w = ccp_ser_get_array(r, nz, sizeof(uint64_t));
  if (r->bad)
    return -1;
  memset(h, 0, sizeof *h);
  if (dense) {
    h->p = ccp_calloc(NZW + CCP_SKETCH_BINS / 2, sizeof *h->p);
    h->dense = 1;
  } else if (cap) {
    h->p = ccp_malloc(cap * sizeof *h->p);
    h->cap = cap;
  }
  uint16_t prev = 0;
  for (uint32_t i = 0; i < nz; i++) { /* bins ascending in both forms */
    uint64_t wd;
    memcpy(&wd, w + (size_t)i * sizeof wd, sizeof wd);
    uint16_t b = SP_BIN(wd);
    uint64_t c = SP_CNT(wd);
    if (b >= CCP_SKETCH_BINS || !c || (i && b <= prev) || (dense && c > UINT32_MAX))
      return ccp_ser_fail(r, "bad histogram bin %u", b), -1;
    prev = b;
    if (dense)
      ccp__hist_dense_add(h, b, (int64_t)c);
    else
      h->p[h->ns++] = wd;
  }
  h->n = n; /* as written: the live counts wrap the same way */
  return 0;
}
