/*
 * The contents of a partial aggregate (include/ccpulse/partial.h): the value
 * type the engine's exporter (src/engine/export.c) writes and the view
 * (src/publish/view.c) merges. It lives with the counters, below both, so
 * that neither includes the other's internals.
 *
 * A partial owns everything it points to (scope names, and per scope one
 * block holding its windows, their values and their histograms' bins) and
 * is immutable once exported; ccp_partial_free() releases one reference
 * (the export holds the first; ccp_partial_ref() takes another, so a live
 * worker and the publisher can hold the same partial of an unchanged
 * partition, on different threads). A window
 * carries only its non-zero counters (a field mask and their values): a
 * wide center's agents have a few non-zero fields each.
 * Customers (docs/semantics.md §11): per scope the sorted entries of the
 * customers that can still count in a window, and for retention a nested
 * hash sample of every customer's activity; both are ccp_words_t blocks an
 * engine shares between its successive partials (an unchanged scope hands
 * the same block again), so a partial frees them by reference too. An
 * engine that built a block from its previous one and the customers that
 * changed says so (cust_from/cust_chg, rs_from/rs_chg): a view that holds
 * the previous block applies just those (a hint, never written to bytes).
 * Scope kinds and the diagnostics counters are defined here because the
 * partial carries them; the engine's own state (engine_int.h) uses the same
 * definitions.
 */
#ifndef CCP_PARTIAL_H
#define CCP_PARTIAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ccpulse/config.h"
#include "ccpulse/partial.h"
#include "counters/counters.h"
#include "counters/sketch.h"

/** Scope kinds, in the order scopes are attributed. */
enum { CCP_SC_ALL = 0, CCP_SC_QUEUE = 1, CCP_SC_CHANNEL = 2, CCP_SC_AGENT = 3 };

/** Name of the overflow scopes beyond limits.queues / limits.agents
 * (`queue:~other`, `agent:~other`: docs/limits.md). */
#define CCP_OVERFLOW_NAME "~other"

/** Diagnostics counters of an engine (all int64_t: views add them field by field). */
typedef struct ccp_diag {
  int64_t events, late, duplicate, invalid, expired, evicted, dead_letter;
  int64_t dedup_full; /**< ids not remembered because dedup.max was reached */
  int64_t alerts_at_risk, alerts_breach;
  int64_t overflow;          /**< events attributed to queue:~other or agent:~other (limits.*) */
  int64_t evicted_customers; /**< customers not tracked at the limits.customers cap */
} ccp_diag_t;

/** An immutable array of 64-bit words shared by reference: the engine's
 * export cache and every partial holding it (any thread; the last release
 * frees it, or gives it back to the pool it was taken from). */
typedef struct ccp_words {
  _Atomic int refs;            /**< references less one */
  uint32_t n;                  /**< entries (an entry is one or two words, by its user) */
  struct ccp_words_pool *pool; /**< where the last release gives it back; NULL: freed */
  uint64_t cap;                /**< words the block has room for */
  uint64_t w[];
} ccp_words_t;

/** A block for n entries of `stride` words, one reference (the caller's). */
ccp_words_t *ccp_words_new(size_t n, size_t stride);

/** Blocks one thread takes (an engine's export, every cycle) and any thread
 * releases (the publisher, dropping the partial before): a block's last
 * release gives it back to its pool instead of freeing it, and the owner
 * takes it again for the next block of its size class, so the cycle's
 * blocks are neither allocated nor freed across threads (an arena's lock
 * and bins, fresh pages) in the steady state. */
typedef struct ccp_words_pool ccp_words_pool_t;
/** A pool with its owner's reference. */
ccp_words_pool_t *ccp_words_pool_new(void);
/** Like ccp_words_new(), from the pool (the owner's thread only; NULL pool: ccp_words_new). */
ccp_words_t *ccp_words_pool_take(ccp_words_pool_t *p, size_t n, size_t stride);
/** Owner, once a cycle before its takes: frees the blocks given back before the last cycle
 * that it did not take again, and keeps those given back since. */
void ccp_words_pool_cycle(ccp_words_pool_t *p);
/** Owner: frees every block held back (no take expected soon). */
void ccp_words_pool_trim(ccp_words_pool_t *p);
/** Owner's release: the pool is freed with the last block out given back (NULL is fine). */
void ccp_words_pool_close(ccp_words_pool_t *p);
/** Takes another reference (NULL stays NULL). */
ccp_words_t *ccp_words_ref(ccp_words_t *b);
/** Releases a reference, freeing the block with the last (NULL is fine). */
void ccp_words_free(ccp_words_t *b);
/** The index of the entry whose key is `key` in block b of entries of `stride` words, keys
 * (an entry's first word from bit lo) ascending; b->n when there is none. */
uint32_t ccp_words_find(const ccp_words_t *b, size_t stride, int lo, uint64_t key);

/** Customer entry of a scope: 32-bit customer hash (high half, never 0) and
 * its latest HANDLED in base units, mod 2^32 (low half, read near `now` as
 * the engine reads its map); entries ascend, so by hash. */
static inline uint32_t ccp_cust_hash(uint64_t ent) { return (uint32_t)(ent >> 32); }
static inline uint32_t ccp_cust_unit(uint64_t ent) { return (uint32_t)ent; }

/** Retention sample: customers whose 64-bit hash is <= CCP_RS_MAX(L) (a
 * fraction 2^-L of all, the same ones in every engine). */
#define CCP_RS_MAX(L) ((L) >= 64 ? 0 : UINT64_MAX >> (L))
/** Sampled customers an engine exports at most: L grows until it fits. */
#define CCP_RS_CAP 65536
/** Activity bits of a sampled customer: bit k = active in slot c - k. */
#define CCP_RS_BITS 48

/** One window of one scope: its non-zero counters only, and its histograms. */
typedef struct ccp_partial_win {
  uint32_t fields;                /**< bit f: field f is non-zero (zero fields are not carried) */
  const int64_t *val;             /**< one value per bit of fields, in field order */
  ccp_shist_t hist[CCP_H__COUNT]; /**< FRT and resolution histograms, sparse (bins in the
                                       scope's block: never released on their own) */
} ccp_partial_win_t;

/** Adds the fields a partial window carries into dst. */
static inline void ccp_partial_win_add(ccp_counters_t *dst, const ccp_partial_win_t *w) {
  const int64_t *v = w->val;
  for (uint32_t m = w->fields; m; m &= m - 1)
    dst->v[__builtin_ctz(m)] += *v++;
}

/** One scope with data (`all` always). */
typedef struct ccp_partial_scope {
  char *name; /**< "all", "queue:billing", ... (owned) */
  size_t name_len;
  uint8_t kind;                /**< CCP_SC_* */
  int64_t open, waiting, aged; /**< gauges */
  int64_t oldest_open;         /**< open time of the longest waiting; INT64_MAX: none */
  ccp_partial_win_t *win;      /**< nwindows; owns the block with their values and bins,
                                    unless blk holds it */
  ccp_words_t *blk;            /**< when set: the block holding win and name, shared by
                                    reference between an engine's successive partials
                                    (an unchanged scope hands the same block again) */
  ccp_words_t *cust;           /**< customer entries (ccp_cust_*), a reference; NULL: none */
  ccp_words_t *cust_from;      /**< with cust_chg: cust is this block (the engine's previous
                                    entries; a reference, so that a block at the same
                                    address is this one) with the entries of cust_chg put
                                    in (new or later) */
  ccp_words_t *cust_chg;       /**< those entries, hash ascending (a reference); NULL: no
                                    such hint (cust is to be compared whole) */
} ccp_partial_scope_t;

struct ccp_partial {
  _Atomic int refs;                 /**< references less one (0 after the export) */
  int64_t now;                      /**< stream time of the export; INT64_MIN: none yet */
  int nwindows;                     /**< cfg->nwindows */
  int64_t cur_b[CCP_MAX_WINDOWS];   /**< current bucket per window */
  int64_t start_b[CCP_MAX_WINDOWS]; /**< first covered bucket per window */
  ccp_partial_scope_t *scopes;      /**< nscopes, in the engine's order */
  int nscopes;
  int64_t ret_prev, ret_both; /**< customers active in the previous period / in both */
  int64_t cust_unit;          /**< ms per base unit of the customer entries (0: none carried) */
  int64_t rs_c;               /**< retention slot of the sample (INT64_MIN: no sample) */
  int rs_l;                   /**< the sample's L: hashes <= CCP_RS_MAX(rs_l) */
  ccp_words_t *rs;            /**< (hash, activity bits at rs_c) pairs, hash ascending; a
                                   reference, NULL: none */
  ccp_words_t *rs_from;       /**< with rs_chg: rs is this block (the engine's previous
                                   sample at the same slot and L; a reference) with the
                                   pairs of rs_chg put in */
  ccp_words_t *rs_chg;        /**< those pairs, hash ascending (a reference); NULL: none */
  ccp_diag_t diag;
  int64_t tickets; /**< tickets held */

  const void *xsrc; /**< the engine that exported it (an identity, never dereferenced) */
  uint64_t serial;  /**< that engine's export count at it */
};

/** Takes another reference to p (any thread); ccp_partial_free() releases it. */
ccp_partial_t *ccp_partial_ref(ccp_partial_t *p);

#endif
