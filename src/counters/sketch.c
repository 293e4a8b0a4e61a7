/*
 * Log-bucketed histogram, see sketch.h. Bin i >= 128 holds values in
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

#define GAMMA 1.02
#define EXACT 128

/* Tables built once per process by init_tables() under pthread_once: any
 * thread may call ccp_sketch_bin/ccp_sketch_value first, and every caller
 * sees the finished tables (pthread_once orders the writes before the
 * return of every call). */
static double ln_gamma_inv; /* 1 / ln(GAMMA) */
static int k0;              /* k of the first log bin: ceil(log_G(128)) + 1 */
static double values[CCP_SKETCH_BINS];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void init_tables(void) {
  ln_gamma_inv = 1.0 / log(GAMMA);
  k0 = (int)ceil(log((double)(EXACT - 1)) * ln_gamma_inv);
  for (int i = 0; i < CCP_SKETCH_BINS; i++) {
    if (i < EXACT) {
      values[i] = i;
    } else {
      int k = i - EXACT + k0 + 1;
      values[i] = 2.0 * pow(GAMMA, k) / (GAMMA + 1.0);
    }
  }
}

uint16_t ccp_sketch_bin(int64_t v) {
  pthread_once(&tables_once, init_tables);
  if (v < EXACT)
    return (uint16_t)(v < 0 ? 0 : v);
  int k = (int)ceil(log((double)v) * ln_gamma_inv);
  /* guard against rounding at exact powers */
  if (pow(GAMMA, k - 1) >= (double)v)
    k--;
  else if (pow(GAMMA, k) < (double)v)
    k++;
  int i = k - k0 - 1 + EXACT;
  if (i < EXACT)
    i = EXACT;
  if (i >= CCP_SKETCH_BINS)
    i = CCP_SKETCH_BINS - 1;
  return (uint16_t)i;
}

double ccp_sketch_value(uint16_t bin) {
  pthread_once(&tables_once, init_tables);
  return values[bin < CCP_SKETCH_BINS ? bin : CCP_SKETCH_BINS - 1];
}

void ccp_hist_add(ccp_hist_t *h, uint16_t b, int delta) {
  if (!h->bins)
    h->bins = ccp_calloc(CCP_SKETCH_BINS, sizeof *h->bins);
  h->bins[b] += (uint32_t)delta;
  h->n += (uint64_t)(int64_t)delta;
  uint64_t bit = 1ULL << (b & 63);
  if (h->bins[b])
    h->nz[b >> 6] |= bit;
  else
    h->nz[b >> 6] &= ~bit;
}

void ccp_hist_each(const ccp_hist_t *h, void (*fn)(void *, uint16_t, uint32_t), void *opaque) {
  if (!h->bins || !h->n)
    return;
  for (int w = 0; w < CCP_SKETCH_BINS / 64; w++)
    for (uint64_t m = h->nz[w]; m; m &= m - 1) {
      uint16_t b = (uint16_t)(w * 64 + __builtin_ctzll(m));
      fn(opaque, b, h->bins[b]);
    }
}

int ccp_hist_nonzero(const ccp_hist_t *h) {
  int n = 0;
  if (!h->bins || !h->n)
    return 0;
  for (int w = 0; w < CCP_SKETCH_BINS / 64; w++)
    n += __builtin_popcountll(h->nz[w]);
  return n;
}

void ccp_hist_merge(ccp_hist_t *dst, const ccp_hist_t *src) {
  if (!src->bins || !src->n)
    return;
  if (!dst->bins)
    dst->bins = ccp_calloc(CCP_SKETCH_BINS, sizeof *dst->bins);
  for (int w = 0; w < CCP_SKETCH_BINS / 64; w++) {
    for (uint64_t m = src->nz[w]; m; m &= m - 1) {
      int b = w * 64 + __builtin_ctzll(m);
      dst->bins[b] += src->bins[b];
    }
    dst->nz[w] |= src->nz[w];
  }
  dst->n += src->n;
}

void ccp_hist_clear(ccp_hist_t *h) {
  if (h->bins && h->n)
    memset(h->bins, 0, CCP_SKETCH_BINS * sizeof *h->bins);
  memset(h->nz, 0, sizeof h->nz);
  h->n = 0;
}

void ccp_hist_release(ccp_hist_t *h) {
  ccp_free(h->bins);
  h->bins = NULL;
  h->n = 0;
  memset(h->nz, 0, sizeof h->nz);
}

static void shist_put(void *opaque, uint16_t bin, uint32_t count) {
  ccp_shist_t *d = opaque;
  d->bin[d->n] = bin;
  d->count[d->n++] = count;
}

void ccp_shist_from(ccp_shist_t *dst, const ccp_hist_t *src) {
  memset(dst, 0, sizeof *dst);
  int n = ccp_hist_nonzero(src);
  if (!n)
    return;
  /* one block: n counts, then n bins */
  dst->count = ccp_malloc((size_t)n * (sizeof *dst->count + sizeof *dst->bin));
  dst->bin = (uint16_t *)(dst->count + n);
  ccp_hist_each(src, shist_put, dst);
}

void ccp_shist_release(ccp_shist_t *h) {
  ccp_free(h->count); /* count and bin share one block */
  memset(h, 0, sizeof *h);
}

void ccp_hist_add_sparse(ccp_hist_t *h, const ccp_shist_t *src) {
  if (!src->n)
    return;
  if (!h->bins)
    h->bins = ccp_calloc(CCP_SKETCH_BINS, sizeof *h->bins);
  for (uint32_t i = 0; i < src->n; i++) {
    uint16_t b = src->bin[i];
    h->bins[b] += src->count[i];
    h->n += src->count[i];
    h->nz[b >> 6] |= 1ULL << (b & 63);
  }
}

void ccp_hist_percentiles(const ccp_hist_t *h, const int *pct, int npct, double *out) {
  if (!h->n || !h->bins) {
    for (int i = 0; i < npct; i++)
      out[i] = NAN;
    return;
  }
  uint64_t cum = 0;
  int j = 0;
  for (int b = 0; b < CCP_SKETCH_BINS && j < npct; b++) {
    if (!(b & 63) && !h->nz[b >> 6]) { /* an empty run of 64 bins */
      b += 63;
      continue;
    }
    cum += h->bins[b];
    while (j < npct) {
      uint64_t rank = ((uint64_t)pct[j] * h->n + 99) / 100; /* ceil(p n) */
      if (rank < 1)
        rank = 1;
      if (cum < rank)
        break;
      out[j++] = ccp_sketch_value((uint16_t)b);
    }
  }
  while (j < npct)
    out[j++] = ccp_sketch_value(CCP_SKETCH_BINS - 1);
}
