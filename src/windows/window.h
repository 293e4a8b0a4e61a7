/*
 * The KPI windows of one scope, all of them over one shared store of
 * buckets (docs/semantics.md §5).
 *
 * Time is counted in base units u: the gcd of the windows' granularities, so
 * the bucket of a value at base unit β in a window of granularity g is
 * floor(β / (g/u)). A window covers the base units β >= its edge (the first
 * base unit of its first covered bucket) up to now; edges only move forward.
 *
 * Per scope (ccp_wset_t), in flat arrays with indices, no pointers between
 * them (so a scope's state can be written out and read back as it is):
 *  - a column map: the fields that ever occurred in the scope; fields that
 *    never occurred take no room;
 *  - one running total row per window (trailing and calendar), int64;
 *  - the store: entries (lo, len) sorted by lo, each a run of base units
 *    [lo, lo + len) with one row of values, only for runs that hold values;
 *    rows hold int32 values until a sum leaves that range, then the whole
 *    set widens to int64 once (busy scopes' sums of milliseconds do, an
 *    agent's quarter-hours seldom);
 *  - histogram records (base unit, which, bin, count) sorted by base unit,
 *    then histogram and bin; at compaction the records of each entry move
 *    to its first unit and those of one histogram and bin become one, so a
 *    busy scope keeps about one record per bin in use of each bucket of the
 *    finest remaining granularity, not one per base unit;
 *  - per trailing window a cursor into the entries and one into the records:
 *    everything from the cursor on is inside the window.
 * A calendar window (`today`) keeps only its total and histograms: values
 * older than its edge are not added, and a new edge (a new local day)
 * resets it; it has no cursor and holds nothing in the store.
 *
 * Invariants (checked by tests/test_window.c against a plain model):
 *  - total[w] == the sum of the rows of live entries from cursor[w] on, and
 *    window w's histograms == the records from its record cursor on;
 *  - live entries are sorted by lo and disjoint, and no window edge ever
 *    falls strictly inside an entry: an entry is inside a window or not as
 *    a whole. The merge rule: two runs may be one when both are inside the
 *    same windows and, for each of these, lie in the same bucket of it. A
 *    value for a unit no entry covers joins a neighbouring entry by that
 *    rule, else starts a one-unit entry; as entries leave windows, an entry
 *    merges into its live predecessor by the same rule. So a busy scope
 *    holds about one entry per bucket of each window's finest remaining
 *    granularity (the default windows: ~230 entries) and a quiet one about
 *    one per bucket it used, however late its values were added. A merged-away entry stays as a
 * dead entry (len 0, zero row) right behind its owner until the next compaction (a new entry is
 * inserted after them), so a cursor never rests on one;
 *  - entries and records before every cursor are out of every window and
 *    are dropped by compaction, which also gives back unused room.
 *
 * Single-threaded: a window set belongs to its scope, which belongs to one
 * engine.
 */
#ifndef CCP_WINDOW_H
#define CCP_WINDOW_H

#include <stddef.h>
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

/** Where the windows are: shared by every scope of an engine. */
typedef struct ccp_wgeom {
  int nw;                        /**< windows */
  int64_t unit;                  /**< base unit, ms: gcd of the granularities */
  int64_t gu[CCP_MAX_WINDOWS];   /**< granularity in base units */
  uint32_t trailing;             /**< bit w: window w is trailing (else `today`) */
  int64_t edge[CCP_MAX_WINDOWS]; /**< first covered base unit; INT64_MAX before any time */
  int64_t hi;                    /**< base unit of now: later values are not added */
} ccp_wgeom_t;

/** Sets up the geometry of a configuration's windows, before any time. */
void ccp_wgeom_init(ccp_wgeom_t *g, const ccp_config_t *cfg);
/** Moves the geometry to now_ms, given each window's first covered bucket. */
void ccp_wgeom_set(ccp_wgeom_t *g, int64_t now_ms, const int64_t *start_b);

/** A run of base units of the store; len 0: merged into an earlier entry. */
typedef struct ccp_went {
  int64_t lo;  /**< first base unit */
  int64_t len; /**< base units covered */
} ccp_went_t;

/** Histogram samples of one base unit, histogram and bin. */
typedef struct ccp_hrec {
  int64_t at;     /**< base unit */
  uint32_t count; /**< samples */
  uint16_t bin;   /**< sketch bin */
  uint8_t which;  /**< CCP_H_* */
  uint8_t pad_;
} ccp_hrec_t;

/** The windows of one scope; zero-initialised = empty (ccp_wset_init). */
typedef struct ccp_wset {
  uint32_t cols;    /**< bit f: field f has a column */
  uint32_t nc;      /**< columns (popcount of cols) */
  int64_t *tot;     /**< nw rows of nc: each window's total; NULL while nc == 0 */
  ccp_hist_t *hist; /**< nw * CCP_H__COUNT, NULL before the first sample */
  ccp_went_t *ent;  /**< entries [0, nent), live ones sorted by lo */
  void *val;        /**< one row of nc values per entry: int32_t, or int64_t when wide */
  uint32_t nent, ecap, ndead;
  uint8_t wide;   /**< 1: rows hold int64_t (a value left the int32 range once) */
  ccp_hrec_t *hr; /**< records [0, nhr), sorted by at */
  uint32_t nhr, hcap;
  uint32_t hmerged;               /**< records right after they were last merged (merge_records) */
  uint32_t ecur[CCP_MAX_WINDOWS]; /**< trailing: first entry inside the window */
  uint32_t hcur[CCP_MAX_WINDOWS]; /**< trailing: first record inside the window */
  int64_t edge[CCP_MAX_WINDOWS];  /**< the edges the set was last advanced to */
} ccp_wset_t;

/** Sets up an empty window set. */
void ccp_wset_init(ccp_wset_t *s);
/** Frees everything the set holds. */
void ccp_wset_release(ccp_wset_t *s, const ccp_wgeom_t *g);
/** Moves the set to g's edges: expires what left each window, resets `today` on a new day. */
void ccp_wset__advance(ccp_wset_t *s, const ccp_wgeom_t *g);
static inline void ccp_wset_advance(ccp_wset_t *s, const ccp_wgeom_t *g) {
  if (memcmp(s->edge, g->edge, (size_t)g->nw * sizeof *g->edge) != 0)
    ccp_wset__advance(s, g);
}
/** Gives every field of mask (bit f: field f) a column now, in one widening of the rows. */
void ccp_wset_reserve(ccp_wset_t *s, const ccp_wgeom_t *g, uint32_t mask);
/** Adds amt to field f at base unit at (the set must be advanced to g). */
void ccp_wset_add(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at, int f, int64_t amt);
/** Adds amt[i] to field f[i] at base unit at for i < n, in that order: the
 * same as n ccp_wset_add() calls, but the unit's windows and entry are found
 * once and each window's totals get one sum per field. */
void ccp_wset_add_run(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at, const uint8_t *f,
                      const int64_t *amt, uint32_t n);
/** Adds count (> 0) samples of histogram `which` (CCP_H_*) in bin at base unit at: the same
 * as count calls with one sample each, in one record and one count per window. */
void ccp_wset_add_bin(ccp_wset_t *s, const ccp_wgeom_t *g, int64_t at, int which, uint16_t bin,
                      uint32_t count);
/** Bits set in x (without -mpopcnt, __builtin_popcount is a library call). */
static inline uint32_t ccp_pop32(uint32_t x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  return (((x + (x >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}
/** Window w's value of field f. */
static inline int64_t ccp_wset_get(const ccp_wset_t *s, int w, int f) {
  if (!(s->cols >> f & 1))
    return 0;
  return s->tot[(size_t)w * s->nc + ccp_pop32(s->cols & ((1u << f) - 1))];
}
/** Value of column c in entry k's row. */
static inline int64_t ccp_wset_cell(const ccp_wset_t *s, uint32_t k, uint32_t c) {
  size_t i = (size_t)k * s->nc + c;
  return s->wide ? ((const int64_t *)s->val)[i] : ((const int32_t *)s->val)[i];
}
/** Writes window w's totals into out (all fields). */
void ccp_wset_total(const ccp_wset_t *s, int w, ccp_counters_t *out);
/** 1 when every total of window w is zero. */
int ccp_wset_zero(const ccp_wset_t *s, int w);
/** Window w's histogram `which`, or NULL when none was ever filled. */
static inline const ccp_hist_t *ccp_wset_hist(const ccp_wset_t *s, int w, int which) {
  return s->hist ? &s->hist[w * CCP_H__COUNT + which] : NULL;
}
struct ccp_ser_rd;
struct ccp_buf;
/** Appends the set to out in the compact form (columns, entries with their rows, records,
 * the calendar windows' totals and histograms, the edges as one byte when they are g's, the
 * arrays' capacities; not what the edges and entries give: cursors, trailing totals and
 * histograms); g gives the windows. */
void ccp_wset_save(const ccp_wset_t *s, const ccp_wgeom_t *g, struct ccp_buf *out);
/** Appends the set in the full form of checkpoint format 4 (also its cursors, every total and
 * histogram, its edges as they are): for tests of the loader of old checkpoints. */
void ccp_wset_save_full(const ccp_wset_t *s, const ccp_wgeom_t *g, struct ccp_buf *out);
/** Reads a set of ccp_wset_save() (full 0), or of the full form of checkpoint format 4 that
 * also held cursors, every total and histogram (full 1), into s (initialised, empty), checking
 * that counts and cursors stay inside its arrays and rebuilding what the compact form leaves
 * out; marks r bad and returns -1 otherwise (release s then). */
int ccp_wset_load(ccp_wset_t *s, const ccp_wgeom_t *g, struct ccp_ser_rd *r, int full);
/** Bytes allocated by the set (without its struct). */
size_t ccp_wset_bytes(const ccp_wset_t *s, const ccp_wgeom_t *g);

#endif
