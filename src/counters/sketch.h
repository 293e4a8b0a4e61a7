/*
 * Log-bucketed histogram for duration percentiles (DDSketch-style).
 *
 * Values 0..127 ms have exact bins; larger values fall in bins of ratio
 * gamma = 1.02, reported as the bin's relative midpoint, so every reported
 * percentile is within 1 % of the true nearest-rank value. Values beyond
 * about 75 days (6.5e9 ms) clamp to the last bin. Histograms add and subtract exactly
 * (bin counts), which is what lets windows slide and shards merge.
 *
 * Single-threaded: a histogram belongs to its window.
 */
#ifndef CCP_SKETCH_H
#define CCP_SKETCH_H

#include <stddef.h>
#include <stdint.h>

/** Number of bins. */
#define CCP_SKETCH_BINS 1024

/** Bin of a duration in ms (negative clamps to 0). */
uint16_t ccp_sketch_bin(int64_t v);
/** Value reported for a bin. */
double ccp_sketch_value(uint16_t bin);

/** Non-zero bins a histogram holds in sparse form before it turns dense. */
#define CCP_HIST_SPARSE_MAX 64

/**
 * A histogram: sparse while it has few non-zero bins (a sorted array of
 * (bin << 48 | count) words, 8 bytes a bin), dense beyond
 * CCP_HIST_SPARSE_MAX (one block: a 16-word bitmap of the non-zero bins,
 * then CCP_SKETCH_BINS uint32 counts; 4.2 KB). A dense histogram stays dense
 * until cleared or released. Zero-initialised = empty, nothing allocated.
 */
typedef struct ccp_hist {
  uint64_t *p;   /**< sparse words, or the dense block; NULL when nothing allocated */
  uint64_t n;    /**< total count */
  uint16_t ns;   /**< sparse: non-zero bins held */
  uint16_t cap;  /**< sparse: words allocated */
  uint8_t dense; /**< 1: p is the dense block */
} ccp_hist_t;

/** Count of bin b (0 when absent). */
uint32_t ccp_hist_get(const ccp_hist_t *h, uint16_t b);
/** Bytes allocated by the histogram (without its struct). */
size_t ccp_hist_bytes(const ccp_hist_t *h);

/** ccp_hist_add() of a sparse histogram (and the first add that turns it dense). */
void ccp__hist_add_sparse_bin(ccp_hist_t *h, uint16_t b, int64_t delta);
/** Adds delta to bin b of a dense histogram's block (CCP_SKETCH_BINS / 64
 * bitmap words of the non-zero bins, then the counts as uint32), without
 * touching its total n: ccp_hist_add() and sketch.c's loads. */
static inline void ccp__hist_dense_add(ccp_hist_t *h, uint16_t b, int64_t delta) {
  uint32_t *bins = (uint32_t *)(h->p + CCP_SKETCH_BINS / 64);
  bins[b] += (uint32_t)delta;
  uint64_t bit = 1ULL << (b & 63);
  if (bins[b])
    h->p[b >> 6] |= bit;
  else
    h->p[b >> 6] &= ~bit;
}
/** Adds delta values of bin b (negative: removes values added before). A dense
 * histogram's add is here, inline: the windows make several per event (one per
 * window a sample is in, and as many when it leaves them), and a call cost
 * about as much as the add. */
static inline void ccp_hist_add(ccp_hist_t *h, uint16_t b, int64_t delta) {
  if (!delta)
    return;
  if (!h->dense) {
    ccp__hist_add_sparse_bin(h, b, delta);
    return;
  }
  h->n += (uint64_t)delta;
  ccp__hist_dense_add(h, b, delta);
}
/** Adds every count of src into dst. */
void ccp_hist_merge(ccp_hist_t *dst, const ccp_hist_t *src);
/** Calls fn(opaque, bin, count) for each non-zero bin, in bin order. */
void ccp_hist_each(const ccp_hist_t *h, void (*fn)(void *opaque, uint16_t bin, uint32_t count),
                   void *opaque);
/** Number of non-zero bins. */
int ccp_hist_nonzero(const ccp_hist_t *h);
/** Asks for the cache lines ccp_shist_fill() will read of h (a hint: no value changes). */
void ccp_hist_prefetch(const ccp_hist_t *h);
/** Empties the histogram (a dense one keeps its block). */
void ccp_hist_clear(ccp_hist_t *h);
/** Frees the bins. */
void ccp_hist_release(ccp_hist_t *h);

struct ccp_ser_rd;
struct ccp_buf;
/** Appends the histogram (form, total, capacity, non-zero bins) to out. */
void ccp_hist_save(const ccp_hist_t *h, struct ccp_buf *out);
/** Reads a histogram of ccp_hist_save() into h (empty), in the same form; marks r bad
 * and returns -1 on bad bins. */
int ccp_hist_load(ccp_hist_t *h, struct ccp_ser_rd *r);

/**
 * A histogram in sparse form: its non-zero bins only. Partials carry these
 * (a window's values fall in a few dozen bins, against 1024 dense); views
 * add them into dense histograms.
 */
typedef struct ccp_shist {
  uint32_t n;      /**< non-zero bins */
  uint16_t *bin;   /**< n bins, ascending (same block as count) */
  uint32_t *count; /**< n counts, all > 0; owns the block (NULL when n == 0) */
} ccp_shist_t;

/** Fills dst (uninitialised) with the non-zero bins of src; dst owns them. */
void ccp_shist_from(ccp_shist_t *dst, const ccp_hist_t *src);
/** Fills dst (uninitialised) with the non-zero bins of src, written to count
 * and bin (room for ccp_hist_nonzero(src) each): dst borrows that memory and
 * is not released. Returns the bins written. */
uint32_t ccp_shist_fill(ccp_shist_t *dst, const ccp_hist_t *src, uint32_t *count, uint16_t *bin);
/** Frees the bins of a sparse histogram. */
void ccp_shist_release(ccp_shist_t *h);
/** Adds every count of a sparse histogram into h. */
void ccp_hist_add_sparse(ccp_hist_t *h, const ccp_shist_t *src);

/**
 * Nearest-rank percentiles: for each pct[i] (0 < pct <= 100, integer percent
 * points), the value of rank ceil(pct/100 * n). pct must be ascending. Writes
 * NaN when the histogram is empty.
 */
void ccp_hist_percentiles(const ccp_hist_t *h, const int *pct, int npct, double *out);

#endif
