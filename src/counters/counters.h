/*
 * The additive KPI counters of one time bucket (or of a whole window).
 *
 * Every KPI of KPIS.md §3 is computed from these sums and counts plus two
 * histograms (FRT, resolution time). All of them add and subtract exactly, so
 * windows slide by subtracting expired buckets and shards merge by adding.
 * The field ids are defined with the KPI table (src/kpi/kpi.h), whose
 * formulas refer to them. Single-threaded: counters belong to their window.
 */
#ifndef CCP_COUNTERS_H
#define CCP_COUNTERS_H

#include <stdint.h>
#include <string.h>

#include "ccpulse/event.h"
#include "kpi/kpi.h" /* the field ids CCP_F_* (a leaf: the KPI table names them) */

/** One bucket's (or window's) counters. */
typedef struct ccp_counters {
  int64_t v[CCP_F__COUNT];
} ccp_counters_t;

/** Adds src into dst. */
static inline void ccp_counters_add(ccp_counters_t *dst, const ccp_counters_t *src) {
  for (int i = 0; i < CCP_F__COUNT; i++)
    dst->v[i] += src->v[i];
}
/** Subtracts src from dst. */
static inline void ccp_counters_sub(ccp_counters_t *dst, const ccp_counters_t *src) {
  for (int i = 0; i < CCP_F__COUNT; i++)
    dst->v[i] -= src->v[i];
}
/** Adds the fields of src named in mask (bit i = field i) into dst. */
static inline void ccp_counters_add_mask(ccp_counters_t *dst, const ccp_counters_t *src,
                                         uint32_t mask) {
  while (mask) {
    int i = __builtin_ctz(mask);
    dst->v[i] += src->v[i];
    mask &= mask - 1;
  }
}
/** Subtracts the fields of src named in mask from dst and zeroes them in src. */
static inline void ccp_counters_move_out(ccp_counters_t *dst, ccp_counters_t *src, uint32_t mask) {
  while (mask) {
    int i = __builtin_ctz(mask);
    dst->v[i] -= src->v[i];
    src->v[i] = 0;
    mask &= mask - 1;
  }
}
_Static_assert(CCP_F__COUNT <= 32, "field masks are 32 bits");
/** 1 when every counter is zero. */
static inline int ccp_counters_zero(const ccp_counters_t *c) {
  for (int i = 0; i < CCP_F__COUNT; i++)
    if (c->v[i])
      return 0;
  return 1;
}

#endif
