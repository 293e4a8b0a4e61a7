/*
 * Engine internals shared by src/engine/engine.c (the event path) and
 * src/engine/export.c (reading the state into a partial aggregate). Private
 * to src/engine/: everything outside reads an engine through engine.h and
 * the partials it exports (src/counters/partial.h). Single-threaded like the
 * engine itself.
 */
#ifndef CCP_ENGINE_INT_H
#define CCP_ENGINE_INT_H

#include "ccpulse/engine.h"
#include "counters/partial.h" /* scope kinds, ccp_diag_t */
#include "state/tickets.h"
#include "state/timers.h"
#include "util/strpool.h"
#include "util/u32map.h"
#include "util/u64map.h"
#include "windows/window.h"

/** Entries of a scope's delta log at most (it starts at CCP_DELTA_MIN and
 * doubles; it is allocated only while it holds deltas). A fuller log is
 * applied less often: an agent's windows, out of cache by its next events,
 * are advanced and walked once per CCP_DELTA_MAX entries, and deltas that
 * have left the short windows by then are never added to them. */
#define CCP_DELTA_MAX 1024
#define CCP_DELTA_MIN 8
/** Entries of a saved delta log at most (checkpoint layout): a save first
 * applies the logs that grew beyond it (ccp__engine_fit_logs), so checkpoints
 * read the same in builds of either CCP_DELTA_MAX. */
#define CCP_DELTA_CAP 256
_Static_assert(CCP_DELTA_CAP <= CCP_DELTA_MAX, "a saved log fits in memory");

/** Base buckets of one log whose field deltas can be summed in place at once
 * (ccp_scope_t.log_at): events land within a few base buckets of the newest. */
#define CCP_DELTA_WAYS 8
/** Bits of a log index in a hint (CCP_LOG_HINT). */
#define CCP_LOG_IDX_BITS 10
_Static_assert(CCP_DELTA_MAX <= 1u << CCP_LOG_IDX_BITS, "hints hold log indices in 10 bits");

/** A delta-log hint (ccp_scope_t.log_at, .log_bin): the index of the entry it
 * names, and above it the low bits of that entry's dbase. The entry is read
 * only when those bits are the ones sought: a quiet scope's hints name old
 * entries of other buckets (an agent's events seldom share a base bucket),
 * whose reads missed the cache on most events for nothing. Exact: a hint set
 * when its entry was made carries that entry's bits, so an entry that matches
 * is never skipped; zeroed hints (a new or loaded scope) name entry 0, whose
 * dbase is 0 (log_room starts each log at the base of its first delta). */
#define CCP_LOG_HINT(idx, dbase)                                                                   \
  ((uint16_t)((uint32_t)(idx) | (uint32_t)(dbase) << CCP_LOG_IDX_BITS))
/** The log index a hint names. */
#define CCP_LOG_HINT_IDX(h) ((uint32_t)(h) & ((1u << CCP_LOG_IDX_BITS) - 1))

/** Logs a scope fills without hints after one in which they summed fewer
 * than 1 in CCP_HINT_MIN_RATE deltas (then one log with hints checks again).
 * An agent's events seldom share a base bucket with its last ones (about
 * 1 % of its deltas were summed in place, against 40-80 % for the other
 * scopes), and its hint row, out of cache by its next event, cost a miss
 * per event for nothing. A hint is only a shortcut: with or without it the
 * windows get the same sums (flush_scope), only the log holds more entries. */
#define CCP_HINT_SKIP 8
#define CCP_HINT_MIN_RATE 16
/** Entries a log needs before its hits decide whether the next ones take hints. */
#define CCP_HINT_JUDGE 64

/** Delta kinds. */
enum { CCP_WD_FIELD = 0, CCP_WD_FRT = 1, CCP_WD_RES = 2 };

/** Base buckets x bins of one log whose samples can be counted in place at once
 * (ccp_scope_t.log_bin). */
#define CCP_DELTA_BINS 64

/** The bin of a sample delta's amt (CCP_WD_FRT / CCP_WD_RES): its low 16 bits. */
#define CCP_WD_BIN(amt) ((uint16_t)((amt)&0xffff))
/** The samples a sample delta's amt counts: 1 + its bits from 16 on (so an amt that is a
 * bin alone, as checkpoints before format 7 wrote it, is one sample). */
#define CCP_WD_COUNT(amt) ((uint32_t)((amt) >> 16) + 1u)
/** What one more sample adds to a sample delta's amt. */
#define CCP_WD_ONE ((int64_t)1 << 16)

/** One logged change: amt to field f (or samples of a histogram bin) of base bucket
 * log_base + dbase. */
typedef struct ccp_wdelta {
  int64_t amt;   /**< amount; CCP_WD_FRT / CCP_WD_RES: bin + (samples - 1) * CCP_WD_ONE */
  int32_t dbase; /**< base bucket relative to the scope's log_base */
  uint8_t f;     /**< CCP_F_* (CCP_WD_FIELD) */
  uint8_t kind;  /**< CCP_WD_* */
} ccp_wdelta_t;

/** One scope: gauges, windows and its distinct-customer map. One block with
 * its name; what every event touches (the delta log, the gauges, the name
 * lookup's kind and length) comes first, in the first cache line. */
typedef struct ccp_scope {
  /* Deltas not yet added to the windows: applied in one batch when the log
   * is full or before a read, so one scope's windows are touched together
   * (hot in cache) instead of once per event. */
  ccp_wdelta_t *log;                 /**< logcap entries, NULL while empty */
  uint32_t nlog;                     /**< entries in use */
  uint32_t logcap;                   /**< entries allocated */
  int64_t log_base;                  /**< base bucket that dbase is relative to */
  int64_t g_open, g_waiting, g_aged; /**< gauges */
  uint32_t name_len;                 /**< bytes of name */
  uint8_t kind;                      /**< CCP_SC_* */
  uint8_t in_dirty;                  /**< listed in the engine's dirty list */
  uint8_t log_hits;                  /**< deltas the hints summed into the log (saturates) */
  uint8_t hint_skip;                 /**< logs left that take no hints (CCP_HINT_SKIP) */
  /* The waiting-list combos this scope owns, by channel (combo_of): an agent
   * scope's own, all of the queue in wl_queue; a queue scope's those with no
   * agent. A cache of combo_index next to the gauges the same change moves:
   * the id + 1, 0 when not known. Never saved: combos are never removed or
   * renumbered, so a cached id stays right. */
  uint32_t wl_queue;                /**< agent scope: the queue scope id + 1 its entries are of */
  uint32_t wl_combo[CCP_CH__COUNT]; /**< combo id + 1 of each channel, 0: not known */
  ccp_wset_t ws;                    /**< its windows (src/windows/window.h) */
  ccp_u32map_t cust;                /**< 32-bit customer hash -> latest HANDLED (cust_unit);
                                         allocated on the first HANDLED */
  int64_t oldest_open;              /**< scratch for the snapshot */
  int64_t cust_gc_at;               /**< stream time of the last sweep of cust */
  ccp_words_t *cust_x;              /**< export.c: cust's entries as last exported (a
                                         reference), NULL: none or stale */
  int64_t cust_x_min;               /**< the oldest unit in cust_x (a sweep drops it) */
  uint32_t *cust_chg;               /**< export.c: keys set in cust since cust_x was built
                                         (ccp__cust_note(); repeats possible) */
  uint32_t cust_nchg, cust_chg_cap; /**< keys in cust_chg; allocated */
  uint32_t x_at;                    /**< export.c: 1 + its entry in the last export, whose
                                         block is still right; CCP__X_NODATA: its windows
                                         are still all zero; 0: stale */
  uint8_t x_wdata;                  /**< export.c: its windows held data at that export */
  /* Where the log may already hold a field delta of base bucket dbase (a
   * CCP_LOG_HINT of its index, by dbase mod CCP_DELTA_WAYS and field): a later
   * delta of the same bucket and field adds to that entry (log_add) instead of
   * taking one, so a busy scope's log holds about one entry per bucket and
   * field instead of one per event. A hint, checked against the entry it
   * names, never saved. */
  uint16_t log_at[CCP_DELTA_WAYS][CCP_F__COUNT];
  /* Where the log may already hold samples of a base bucket, histogram and
   * bin (a CCP_LOG_HINT of its index, by a hash of the three): a later sample
   * of the same adds one to its count (log_sample), so a busy scope's log
   * holds one entry per bucket and bin in use, not one per sample. A hint
   * like log_at. */
  uint16_t log_bin[CCP_DELTA_BINS];
  char name[]; /**< "all", "queue:billing", ... (NUL-terminated) */
} ccp_scope_t;

/** Waiting tickets of one queue x channel x agent: a list sorted by open
 * time, and a list of the tickets added since the last export in the order
 * they came (CCP_T_RECENT), sorted into the first at the next export. */
typedef struct ccp_combo {
  uint32_t queue, agent; /**< scope ids (agent CCP_NIL when none) */
  uint32_t head, tail;   /**< sorted part: oldest / newest ticket record */
  uint32_t rhead, rtail; /**< recent part: first / last added */
  uint8_t channel;
} ccp_combo_t;

/** (open time, record) of a recent waiting ticket, while sorting it in. */
typedef struct ccp_wsort {
  int64_t open_ts;
  uint32_t rec;
} ccp_wsort_t;

/** Retention activity of a customer, packed in the u64map value: bits
 * 0..47 = activity in slots (last - j), bits 48..63 = last slot mod 2^16. */
#define CCP_ACT_BITS 48
_Static_assert(CCP_ACT_BITS == CCP_RS_BITS, "the sample carries the activity bits as they are");

/** Activity bits of a packed value relative to slot c: bit k = slot c - k. */
static inline uint64_t ccp__act_at(uint64_t v, int64_t c) {
  const uint64_t mask = (1ULL << CCP_ACT_BITS) - 1;
  int64_t d = (int16_t)(uint16_t)((uint64_t)c - (v >> CCP_ACT_BITS)); /* c - last, mod 2^16 */
  if (d < 0)
    return (v & mask) >> -d; /* cannot happen: activity is never after now */
  return d >= CCP_ACT_BITS ? 0 : ((v & mask) << d) & mask;
}

/** ccp_scope_t.x_at of a scope known to have no window data. */
#define CCP__X_NODATA UINT32_MAX

/** What an export carries besides its time header depends on: the events
 * since (any verdict, undecodable ones included), the timers and expiries
 * due, the buckets and the retention slot (export.c). */
typedef struct ccp__export_key {
  int valid;      /**< an export happened */
  int64_t events; /**< diag.events at that export */
  int64_t due;    /**< earliest timer or expiry then pending; INT64_MAX: none */
  int64_t hi;     /**< geom.hi (base unit of now) */
  int64_t slot;   /**< retention slot of now */
  int64_t cur_b[CCP_MAX_WINDOWS], start_b[CCP_MAX_WINDOWS];
  uint64_t xid; /**< the export's ccp_partial_t serial (the scopes' x_at refer to it) */
} ccp__export_key_t;

struct ccp_engine {
  const ccp_config_t *cfg;
  int prechecked;  /**< the driver ran ccp_event_check() (ccp_engine_set_prechecked) */
  int64_t now;     /**< view time: largest ts, advanced or exported time */
  int64_t due_now; /**< deadline time (<= now): largest ts or advanced time */
  int64_t ev_now;  /**< largest accepted event ts (lateness, dedup) */
  int64_t cur_b[CCP_MAX_WINDOWS];     /**< floor(now / g) per window */
  int64_t start_b[CCP_MAX_WINDOWS];   /**< first covered bucket per window */
  int64_t cur_start[CCP_MAX_WINDOWS]; /**< start ms of the current bucket */
  int64_t day_start, day_end;         /**< local day containing now */

  ccp_tickets_t tickets;
  uint32_t thr_ms[CCP_TICKET_THRESHOLDS]; /**< the configuration's distinct SLA thresholds
                                               (ms, at most UINT32_MAX), ascending: a ticket's
                                               thr indexes them */
  int nthr;                               /**< entries of thr_ms */
  ccp_timers_t timers;
  ccp_u64map_t dedup;    /**< event id hash -> stream time accepted */
  size_t dedup_sweep_at; /**< sweep stale ids when count reaches this (less one per id refused at
                            the cap) */

  ccp_scope_t **scopes; /**< id -> scope; 0 = all, 1..4 = channels */
  uint32_t nscopes, scopes_cap;
  ccp_u64map_t scope_index; /**< hash(kind, name) -> scope id */

  ccp_combo_t *combos;
  uint32_t ncombos, combos_cap;
  ccp_u64map_t combo_index; /**< (queue, channel, agent) -> combo id */
  ccp_wsort_t *wsort;       /**< scratch of ccp__engine_oldest_waiting */
  size_t wsort_cap;

  ccp_u64map_t acts;     /**< customer hash -> packed activity (a fine map: grows by 1/4) */
  size_t acts_sweep_cap; /**< the capacity acts would have if it doubled at load 3/4 (as it
                              did before it grew by 1/4): a sweep runs when this would double,
                              so sweeps, and the retention sample chosen after one, come at
                              the same events as they did then */
  int64_t slot_ms;       /**< retention slot: period / 24 */
  int64_t cust_unit;     /**< gcd of window granularities (ms): the base bucket */
  ccp_wgeom_t geom;      /**< the windows' edges at now, shared by every scope */
  uint32_t *dirty;       /**< scopes with a non-empty delta log */
  uint32_t ndirty, dirty_cap;
  int64_t acts_gc_slot;       /**< slot of the last sweep of acts */
  int64_t ret_c;              /**< slot the cached retention counts are for */
  int64_t ret_prev, ret_both; /**< cached: active in the previous period / in both */

  /* The retention sample (export.c): the customers of acts whose key is at
   * most rs_max = CCP_RS_MAX(rs_l), mirrored with their packed activity;
   * rs_l grows when more than CCP_RS_CAP are sampled. Derived from acts:
   * rebuilt (and rs_l chosen anew) by the next export after a sweep of
   * acts or a checkpoint load (rs_valid 0). */
  ccp_u64map_t rs;
  uint64_t rs_max;
  int rs_l;
  int rs_valid;      /**< rs mirrors acts */
  int rs_changed;    /**< rs_x is to be built afresh (a new sample, or too many changes) */
  uint64_t *rs_chg;  /**< sampled keys whose activity changed since rs_x was built (repeats
                          possible; export.c merges them in) */
  size_t rs_nchg;    /**< keys in rs_chg */
  size_t rs_chg_cap; /**< allocated */
  ccp_words_t *rs_x; /**< the sample as last exported (a reference), NULL: none */
  int64_t rs_x_c;    /**< its slot */
  int rs_x_l;        /**< its L */
  uint64_t *xs;      /**< export.c: sort scratch */
  size_t xs_cap;
  ccp_words_pool_t *xpool; /**< export.c: the scopes' blocks, given back by their last holder
                                (created at the first export) */

  ccp_u64map_t ids;     /**< ticket key -> id string in idpool (alerts only) */
  ccp_strpool_t idpool; /**< the id strings: no malloc per OPENED */
  ccp_alert_cb alert_cb;
  void *alert_opaque;

  /* Bounds of docs/limits.md (not saved: recounted from the state at a load) */
  uint32_t nnamed[CCP_SC_AGENT + 1]; /**< queue and agent scopes held, ~other left out */
  size_t cust_entries;               /**< entries of every scope's cust map together */
  int64_t cust_cap_gc_at;            /**< stream time of the last sweep of every cust map at
                                          the 4 x limits.customers cap (saved) */

  int has_cost; /**< any cost.<CH> configured */
  ccp_diag_t diag;
  ccp__export_key_t last_export; /**< export.c only: what the last export depended on */

  /* what the last ccp_engine_save() depended on (not saved: a loaded engine
   * has none, so its first save is never skipped) */
  struct {
    int valid;
    ccp_diag_t diag; /**< the counters then: any event or record since changes one */
    int64_t due;     /**< the earliest timer or expiry then (ccp__engine_next_due) */
  } last_save;
  uint32_t ckpt_version; /**< checkpoint.c: format version being loaded or written */
  /** checkpoint.c: the duplicate filter as the last save wrote it, so the next sorts only the
   * ids remembered since (not state: a loaded engine starts without it) */
  ccp_u64map_order_t dedup_order;
};

/** Bytes of a checkpoint's header (magic 8, version 4, layout 4, body length 8,
 * body checksum 8), and the seed of the checksum: ccp_hash64() of the body
 * (checkpoint.c; the corruption tests reseal bytes they altered with it). */
#define CCP__CKPT_HEADER 32
#define CCP__CKPT_SEED 0x636b707431ULL
/** The checksum's seed in format `version`: from 7 the version goes into it, so a version
 * field altered to an older one that reads the same bytes (6) cannot pass the check. */
#define CCP__CKPT_SEED_OF(version)                                                                 \
  ((version) >= 7 ? CCP__CKPT_SEED ^ (uint64_t)(version) << 40 : CCP__CKPT_SEED)

/** When ccp__engine_run_due() acts next: the earliest timer or ticket
 * expiry (INT64_MAX: none). export.c. */
int64_t ccp__engine_next_due(const ccp_engine_t *e);

/** Recounts what engine_int.h says is not saved (nnamed, cust_entries), after a load. */
void ccp__engine_recount(ccp_engine_t *e);

/** Name prefix of each scope kind (CCP_SC_*): "", "queue:", "channel:", "agent:". */
extern const char *const ccp__scope_prefix[];
/** An engine for cfg with everything derived from the configuration set up
 * and no state at all, not even the `all` and channel scopes (ccp_engine_new
 * adds them; a checkpoint load reads them); NULL and errbuf on a bad config. */
ccp_engine_t *ccp__engine_alloc(const ccp_config_t *cfg, char *errbuf, size_t errlen);
/** ccp_engine_save() in checkpoint format `version`: the current one, or 4 (window sets in
 * the full form), which the tests write to check that such checkpoints still load. */
int ccp__engine_save_version(ccp_engine_t *e, ccp_buf_t *out, uint32_t version);
/** Applies every scope's delta log to its windows (before any read). */
void ccp__engine_flush(ccp_engine_t *e);
/** Applies the delta logs that grew beyond CCP_DELTA_CAP entries, which a
 * checkpoint cannot hold (before a save); the scopes stay in the dirty list. */
void ccp__engine_fit_logs(ccp_engine_t *e);
/** Moves every window of a scope to the engine's current buckets. */
void ccp__scope_advance(ccp_engine_t *e, ccp_scope_t *s);
/** Moves the view time to t when later (the windows' buckets follow); fires nothing. */
void ccp__engine_view_to(ccp_engine_t *e, int64_t t);
/** Fires the timers and expiries due by the deadline time. */
void ccp__engine_run_due(ccp_engine_t *e);
/** Customers active in the previous period, and of those in both periods. */
void ccp__engine_retention(ccp_engine_t *e, int64_t *prev, int64_t *both);
/** Notes that scope s's customer key changed in its map while s->cust_x is held, so the
 * next export merges the change into the entries instead of reading the map out again
 * (scopes_customer; the engine's thread). */
void ccp__cust_note(ccp_scope_t *s, uint32_t key);
/** Drops scope s's cached export entries and the keys noted since: the next export reads
 * its map out anew (export.c). */
void ccp__cust_x_drop(ccp_scope_t *s);
/** Mirrors a sampled customer's new packed activity v into the sample
 * (customer_active, for keys <= rs_max while rs_valid). */
void ccp__rs_note(ccp_engine_t *e, uint64_t key, uint64_t v);
/** Releases what export.c caches in the engine (ccp_engine_free). */
void ccp__export_release(ccp_engine_t *e);
/** Fills scope->oldest_open from the waiting lists (INT64_MAX: none). */
void ccp__engine_oldest_waiting(ccp_engine_t *e);

#endif
