/*
 * One KPI window of one scope: a ring of time buckets with a running total
 * (trailing windows), or a running total reset at local midnight (`today`).
 *
 * A trailing window of span W and granularity g keeps nb = W/g bucket slots;
 * the running total always equals the sum of the buckets in
 * [cur - nb + 1, cur], so reading a window costs O(1) counters plus one
 * histogram walk, whatever its span. Advancing subtracts the buckets that
 * slide out. `today` keeps only the total since the start bucket of the local
 * day: its granularity divides 15 min, so local midnights fall on bucket
 * edges.
 *
 * Single-threaded: a window belongs to its scope, which belongs to one engine.
 */
#ifndef CCP_WINDOW_H
#define CCP_WINDOW_H

#include <stdint.h>

#include "ccpulse/config.h"
#include "counters/counters.h"
#include "counters/sketch.h"

/** Values one event adds to one bucket (same for every scope). */
typedef struct ccp_delta {
  int nf;          /**< fields used */
  uint8_t f[10];   /**< CCP_F_* */
  int64_t amt[10]; /**< amounts */
  int frt_bin;     /**< -1, or the FRT histogram bin */
  int res_bin;     /**< -1, or the resolution histogram bin */
} ccp_delta_t;

/** Starts an empty delta. */
static inline void ccp_delta_init(ccp_delta_t *d) {
  d->nf = 0;
  d->frt_bin = d->res_bin = -1;
}
/** Adds amt to field f. */
static inline void ccp_delta_add(ccp_delta_t *d, int f, int64_t amt) {
  d->f[d->nf] = (uint8_t)f;
  d->amt[d->nf++] = amt;
}

/** One bucket slot of a trailing window. */
typedef struct ccp_slot {
  int64_t idx;      /**< bucket index held, INT64_MIN when empty */
  uint32_t mask;    /**< fields of c that may be non-zero */
  ccp_counters_t c; /**< the bucket's counters */
  uint16_t *frt;    /**< FRT bins added to this bucket */
  uint16_t *res;    /**< resolution bins added to this bucket */
  uint32_t nfrt, cfrt, nres, cres;
} ccp_slot_t;

/** A window of one scope. */
typedef struct ccp_win {
  int64_t g;            /**< granularity, ms */
  int64_t nb;           /**< slots (trailing); 0 for today */
  int64_t cur;          /**< bucket of now, INT64_MIN before any */
  int64_t start;        /**< first bucket covered */
  int64_t cur_slot;     /**< slot index of bucket cur (trailing) */
  ccp_slot_t *slots;    /**< nb slots, NULL for today */
  ccp_counters_t total; /**< sum over the covered buckets */
  ccp_hist_t frt, res;  /**< histograms over the covered buckets */
} ccp_win_t;

/** Slot of bucket b in [cur - nb + 1, cur], without a division. */
static inline ccp_slot_t *ccp_win_slot(ccp_win_t *w, int64_t b) {
  int64_t i = w->cur_slot - (w->cur - b);
  if (i < 0)
    i += w->nb;
  return &w->slots[i];
}

/** Sets up an empty window for its configuration. */
void ccp_win_init(ccp_win_t *w, const ccp_window_conf_t *conf);
/** Frees slots and histograms. */
void ccp_win_release(ccp_win_t *w);
/**
 * Moves the window to cover [start, cur]: for trailing windows start must be
 * cur - nb + 1; for today, a new start (a new local day) resets the total.
 */
void ccp_win__advance(ccp_win_t *w, int64_t cur, int64_t start);
static inline void ccp_win_advance(ccp_win_t *w, int64_t cur, int64_t start) {
  if (w->cur != cur || w->start != start)
    ccp_win__advance(w, cur, start);
}
/** Adds one value of histogram bin `bin` (which: 0 FRT, 1 resolution) to bucket b. */
void ccp_win_add_bin(ccp_win_t *w, int64_t b, int which, uint16_t bin);
/** Adds amt to one field of bucket b (ignored outside [start, cur]). */
void ccp_win_add(ccp_win_t *w, int64_t b, int f, int64_t amt);
/** Bytes held by the window. */
size_t ccp_win_bytes(const ccp_win_t *w);

#endif
