/*
 * Per-ticket state: a compact record per ticket id (48 bytes), stored in
 * chunked arrays so a record's index never changes, found through an
 * open-addressing index keyed by the 64-bit id hash (load at most 3/4; it
 * grows by 1/4, not 2x, so it holds 4/3 to 5/3 slots per ticket: any number
 * of slots, a key's home slot is the high word of its low 32 bits x the
 * capacity). An index slot of a table of at most 2^k slots holds the record
 * number + 1 in its low k bits and the top 32 - k bits of the key above
 * them (a tag), so a lookup reads only the record whose tag matches: one
 * index line and one record per hit, instead of one record per probed slot.
 *
 * Records are linked in touch order (LRU list; touch = stream time of the
 * ticket's latest event, non-decreasing), which gives TTL expiry and cap
 * eviction in O(1), and optionally in one "waiting" list (open, unreplied
 * tickets of one queue x channel x agent, kept by the engine: a part sorted
 * by open time and an unsorted part of those added since the last export).
 *
 * Single-threaded: a table belongs to one engine (one partition).
 */
#ifndef CCP_TICKETS_H
#define CCP_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#include "ccpulse/common.h"
#include "ccpulse/event.h"
#include "util/prefetch.h"

/** "No record" link value. */
#define CCP_NIL UINT32_MAX
/** Marker of an unknown open time. */
#define CCP_NO_TS INT64_MIN

/** Ticket flags. */
enum {
  CCP_T_OPEN = 1 << 0,          /**< open (not resolved/abandoned) */
  CCP_T_TRANSFERRED = 1 << 1,   /**< a TRANSFERRED was seen this life */
  CCP_T_RESOLVED_ONCE = 1 << 2, /**< its first resolution was counted */
  CCP_T_BREACHED = 1 << 3,      /**< SLA breach handled (fired or moot) */
  CCP_T_AT_RISK = 1 << 4,       /**< at-risk alert handled */
  CCP_T_AGED = 1 << 5,          /**< counted in backlog_aged */
  CCP_T_WAITING = 1 << 6,       /**< in a waiting list (open, unreplied, known open) */
  CCP_T_AGE_DONE = 1 << 7,      /**< the backlog-age timer has popped */
  CCP_T_RECENT = 1 << 8         /**< waiting, in its list's unsorted recent part */
};

/** Most distinct SLA thresholds (ccp_config_sla_ms values) a configuration can
 * have: a record holds its threshold as an index into the engine's sorted
 * table of them (ccp_config_finish refuses more). */
#define CCP_TICKET_THRESHOLDS 256
/** open_ of a ticket whose open time is unknown. */
#define CCP_T_NO_OPEN ((UINT64_C(1) << 42) - 1)
/** The 24-bit scope-id fields' "none" (agent_); scope ids stay below it
 * under the caps on limits.queues and limits.agents (engine.c). */
#define CCP_T_NO_SCOPE 0xFFFFFFu

/** One ticket (48 bytes): the SLA threshold is an index into the engine's
 * table, the open time an offset from CCP_EVENT_TS_MIN (accepted events lie
 * within 42 bits of it), the scope ids 24 bits each. Read and write the
 * packed fields through the accessors below. */
typedef struct ccp_ticket {
  uint64_t key;                /**< hash of ticket_id (0 = free record) */
  int64_t touch;               /**< stream time when its latest event was applied */
  uint32_t lru_prev, lru_next; /**< touch-order links (free list when free) */
  uint32_t w_prev, w_next;     /**< waiting-list links */
  uint64_t open_ : 42;         /**< OPENED ts - CCP_EVENT_TS_MIN, CCP_T_NO_OPEN: unknown */
  uint64_t flags : 9;          /**< CCP_T_* */
  uint64_t thr : 8;            /**< SLA threshold fixed at open: index in the engine's table */
  uint64_t channel : 3;        /**< current channel */
  uint64_t replies : 2;        /**< AGENT_REPLY count, saturating at 3 */
  uint64_t queue_ : 24;        /**< scope id of the current queue */
  uint64_t agent_ : 24;        /**< scope id of the current agent, CCP_T_NO_SCOPE if none */
  uint64_t life : 16;          /**< generation: bumps on reuse and on a new life */
} ccp_ticket_t;

/** The OPENED ts of r, CCP_NO_TS when unknown. */
static inline int64_t ccp_ticket_open(const ccp_ticket_t *r) {
  return r->open_ == CCP_T_NO_OPEN ? CCP_NO_TS : CCP_EVENT_TS_MIN + (int64_t)r->open_;
}

/** Sets the OPENED ts of r: CCP_NO_TS, or the ts of an accepted event
 * (CCP_EVENT_TS_MIN..CCP_EVENT_TS_MAX). */
static inline void ccp_ticket_set_open(ccp_ticket_t *r, int64_t ts) {
  CCP_ASSERT(ts == CCP_NO_TS || (ts >= CCP_EVENT_TS_MIN && ts <= CCP_EVENT_TS_MAX));
  r->open_ = ts == CCP_NO_TS ? CCP_T_NO_OPEN : (uint64_t)(ts - CCP_EVENT_TS_MIN);
}

/** Scope id of r's current queue. */
static inline uint32_t ccp_ticket_queue(const ccp_ticket_t *r) { return (uint32_t)r->queue_; }

/** Sets r's queue scope id (below CCP_T_NO_SCOPE). */
static inline void ccp_ticket_set_queue(ccp_ticket_t *r, uint32_t id) {
  CCP_ASSERT(id < CCP_T_NO_SCOPE);
  r->queue_ = id;
}

/** Scope id of r's current agent, CCP_NIL if none. */
static inline uint32_t ccp_ticket_agent(const ccp_ticket_t *r) {
  return r->agent_ == CCP_T_NO_SCOPE ? CCP_NIL : (uint32_t)r->agent_;
}

/** Sets r's agent scope id (below CCP_T_NO_SCOPE, or CCP_NIL: none). */
static inline void ccp_ticket_set_agent(ccp_ticket_t *r, uint32_t id) {
  CCP_ASSERT(id == CCP_NIL || id < CCP_T_NO_SCOPE);
  r->agent_ = id == CCP_NIL ? CCP_T_NO_SCOPE : id;
}

/** Most replies a ticket counts (only 0, 1 and "more" matter). */
#define CCP_REPLIES_MAX 3

typedef struct ccp_tickets {
  ccp_ticket_t **chunks; /**< CCP_TCHUNK records each */
  uint32_t nchunks;
  uint32_t used;               /**< records handed out so far (high-water mark) */
  uint32_t free_head;          /**< free records, linked through lru_next */
  uint32_t *index;             /**< tag << index_bits | record number + 1; 0 = empty */
  size_t index_cap;            /**< slots (1024, then growing by 1/4), or 0 */
  uint32_t index_bits;         /**< smallest k with 2^k >= index_cap: the record number's bits */
  size_t count;                /**< live tickets */
  uint32_t lru_head, lru_tail; /**< least / most recently touched */
} ccp_tickets_t;

#define CCP_TCHUNK_BITS 16
#define CCP_TCHUNK (1u << CCP_TCHUNK_BITS)

/** Record number -> record. */
static inline ccp_ticket_t *ccp_tickets_at(const ccp_tickets_t *t, uint32_t i) {
  return &t->chunks[i >> CCP_TCHUNK_BITS][i & (CCP_TCHUNK - 1)];
}

/** Mask of the record-number bits of an index slot. */
static inline uint32_t ccp_tickets_rec_mask(const ccp_tickets_t *t) {
  return t->index_bits >= 32 ? UINT32_MAX : (1u << t->index_bits) - 1;
}

/** Record number held by index slot j, or CCP_NIL when the slot is empty. */
static inline uint32_t ccp_tickets_slot_rec(const ccp_tickets_t *t, size_t j) {
  uint32_t s = t->index[j];
  return s ? (s & ccp_tickets_rec_mask(t)) - 1 : CCP_NIL;
}

/** Index slot where a lookup of key starts (table not empty): the high word
 * of key's low 32 bits x the capacity. */
static inline size_t ccp_tickets_home(const ccp_tickets_t *t, uint64_t key) {
  return (size_t)(((uint64_t)(uint32_t)key * t->index_cap) >> 32);
}

/** The index slot after slot i (wrapping at the capacity). */
static inline size_t ccp_tickets_next(const ccp_tickets_t *t, size_t i) {
  return i + 1 == t->index_cap ? 0 : i + 1;
}

/** The tag of key in an index of at most 2^bits slots: its top 32 - bits
 * bits (the home slot uses bits 0..31, so the two are independent). */
static inline uint32_t ccp_tickets_tag(uint64_t key, uint32_t bits) {
  return bits >= 32 ? 0 : (uint32_t)(key >> (32 + bits));
}

/** Prefetches the index slot where a lookup of key starts (a hint only). */
static inline void ccp_tickets_prefetch_slot(const ccp_tickets_t *t, uint64_t key) {
  if (t->index_cap)
    ccp_prefetch(&t->index[ccp_tickets_home(t, key)]);
}

/** Prefetches both cache lines that record i may straddle (a hint only). */
static inline void ccp_tickets_prefetch_at(const ccp_tickets_t *t, uint32_t i) {
  const char *r = (const char *)ccp_tickets_at(t, i);
  ccp_prefetch(r);
  ccp_prefetch(r + sizeof(ccp_ticket_t) - 1);
}

/** The record of the first index slot tagged like key within a few slots of
 * its home, or NULL (for the prefetch hints below: reads the index only). */
static inline const ccp_ticket_t *ccp_tickets_peek(const ccp_tickets_t *t, uint64_t key) {
  if (!t->index_cap)
    return NULL;
  size_t i = ccp_tickets_home(t, key);
  uint32_t bits = t->index_bits, tag = ccp_tickets_tag(key, bits);
  uint32_t mask = ccp_tickets_rec_mask(t);
  for (int k = 0; k < 4; k++, i = ccp_tickets_next(t, i)) {
    uint32_t s = t->index[i];
    if (!s)
      return NULL;
    if ((bits >= 32 ? 0 : s >> bits) == tag)
      return ccp_tickets_at(t, (s & mask) - 1);
  }
  return NULL;
}

/** Prefetches the record of key's ticket, found by ccp_tickets_peek (a hint:
 * best after ccp_tickets_prefetch_slot). */
static inline void ccp_tickets_prefetch_rec(const ccp_tickets_t *t, uint64_t key) {
  const ccp_ticket_t *r = ccp_tickets_peek(t, key);
  if (r) {
    ccp_prefetch(r);
    ccp_prefetch((const char *)r + sizeof(ccp_ticket_t) - 1);
  }
}

/** Prefetches the records that touching key's ticket and taking it out of
 * its waiting list will write: its LRU and waiting-list neighbours (a hint:
 * best once its record is in cache, after ccp_tickets_prefetch_rec). */
static inline void ccp_tickets_prefetch_links(const ccp_tickets_t *t, uint64_t key) {
  const ccp_ticket_t *r = ccp_tickets_peek(t, key);
  if (!r || r->key != key)
    return;
  uint32_t nb[4] = {r->lru_prev, r->lru_next, r->w_prev, r->w_next};
  for (int j = 0; j < 4; j++)
    if (nb[j] != CCP_NIL)
      ccp_prefetch(&ccp_tickets_at(t, nb[j])->lru_prev);
}

/** Initialises an empty table. */
void ccp_tickets_init(ccp_tickets_t *t);
/** Frees everything. */
void ccp_tickets_release(ccp_tickets_t *t);
/** Finds a ticket by key; returns its record number or CCP_NIL. */
uint32_t ccp_tickets_find(const ccp_tickets_t *t, uint64_t key);
/** Creates a zeroed ticket with key (must be absent) at the LRU tail. */
uint32_t ccp_tickets_create(ccp_tickets_t *t, uint64_t key);
/** Removes a ticket (index, LRU) and frees its record. */
void ccp_tickets_remove(ccp_tickets_t *t, uint32_t i);
/** Moves a ticket to the LRU tail and sets its touch time. */
void ccp_tickets_touch(ccp_tickets_t *t, uint32_t i, int64_t now);
struct ccp_ser_rd;
struct ccp_buf;
/**
 * Appends the table to out: its counters and list ends, then the records
 * handed out so far as they are (free ones too: their life numbers and the
 * free list keep the order of record reuse). The index is not written: a
 * load rebuilds it.
 */
void ccp_tickets_save(const ccp_tickets_t *t, struct ccp_buf *out);
/**
 * Reads a table of ccp_tickets_save() into t (initialised, empty), checking
 * that every link stays inside the table and the live records number
 * count; marks r bad and returns -1 otherwise (t then holds what was read:
 * release it).
 */
int ccp_tickets_load(ccp_tickets_t *t, struct ccp_ser_rd *r);
/** Bytes held (records + index). */
size_t ccp_tickets_bytes(const ccp_tickets_t *t);

#endif
