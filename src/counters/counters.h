/*
 * The additive KPI counters of one time bucket (or of a whole window).
 *
 * Every KPI of KPIS.md §3 is computed from these sums and counts plus two
 * histograms (FRT, resolution time). All of them add and subtract exactly, so
 * windows slide by subtracting expired buckets and shards merge by adding.
 */
#ifndef CCP_COUNTERS_H
#define CCP_COUNTERS_H

#include <stdint.h>
#include <string.h>

#include "ccpulse/event.h"

/** Counter fields; the index into ccp_counters_t.v. */
enum {
  CCP_F_OPENED = 0,
  CCP_F_RESOLVED,
  CCP_F_REOPENED,
  CCP_F_ABANDONED,
  CCP_F_AB_SHORT,
  CCP_F_AB_LONG, /* abandons with known wait >= short threshold */
  CCP_F_FRT_N,
  CCP_F_FRT_SUM,
  CCP_F_FRT_WITHIN,
  CCP_F_BREACHES,
  CCP_F_RES_N, /* resolutions with known open time */
  CCP_F_RES_SUM,
  CCP_F_HANDLED,
  CCP_F_AHT_SUM,
  CCP_F_FCR_N,
  CCP_F_FCR_OK,
  CCP_F_CSAT_N,
  CCP_F_CSAT_SAT,
  CCP_F_NPS_N,
  CCP_F_NPS_PRO,
  CCP_F_NPS_DET,
  CCP_F_CES_N,
  CCP_F_CES_SUM,
  CCP_F_COMPLAINTS,
  CCP_F_QA_N,
  CCP_F_QA_ERR,
  CCP_F_CUST,      /* customers whose latest HANDLED lies in this bucket */
  CCP_F_HMS_PHONE, /* handle ms per channel (cost), in ccp_channel_t order */
  CCP_F_HMS_CHAT,
  CCP_F_HMS_EMAIL,
  CCP_F_HMS_SOCIAL,
  CCP_F__COUNT
};

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
