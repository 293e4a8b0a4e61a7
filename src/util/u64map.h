/*
 * Open-addressing hash map from a non-zero 64-bit key to a 64-bit value
 * (linear probing, backward-shift deletion, power-of-two capacity, load at
 * most 1/2, or 3/4 for a "dense" map whose lookups mostly hit). Keys are expected to be good hashes
 * already; key 0 is reserved (callers map it to 1 with ccp_u64map_key()).
 *
 * A "fine" map grows by 1/4 instead of doubling, so its load stays between
 * 3/5 and 3/4 when dense, 2/5 and 1/2 when not (a doubling map's halves
 * after each growth): its capacity is any number of slots, and a key's home
 * slot is the high word of (folded key x capacity) instead of its low bits.
 * For the large maps whose bytes matter more than the rare rehash
 * (retention).
 *
 * Single-threaded: a map belongs to its embedder.
 */
#ifndef CCP_U64MAP_H
#define CCP_U64MAP_H

#include <stddef.h>
#include <stdint.h>

#include "util/prefetch.h"

typedef struct ccp_u64map_entry {
  uint64_t key; /**< 0 = empty slot */
  uint64_t val;
} ccp_u64map_entry_t;

typedef struct ccp_u64map {
  ccp_u64map_entry_t *slots; /**< capacity entries */
  size_t cap;                /**< power of two, or 0 */
  size_t count;              /**< entries in use */
  int dense;                 /**< 1: grow at load 3/4 (maps whose lookups mostly hit), else 1/2 */
  int fine;                  /**< 1: grow by 1/4, any capacity (see above) */
} ccp_u64map_t;

/** Maps a raw hash to a usable key (0 becomes 1). */
static inline uint64_t ccp_u64map_key(uint64_t h) { return h ? h : 1; }

/** Slot where a lookup of key starts (map not empty). */
static inline size_t ccp_u64map_home(const ccp_u64map_t *m, uint64_t key) {
  uint64_t x = key ^ (key >> 29); /* keys are hashes; fold high bits in */
  if (m->fine)
    return (size_t)(((unsigned __int128)x * m->cap) >> 64);
  return (size_t)x & (m->cap - 1);
}

/** The slot after slot i (wrapping at the capacity). */
static inline size_t ccp_u64map_next(const ccp_u64map_t *m, size_t i) {
  return i + 1 == m->cap ? 0 : i + 1;
}

/** Prefetches the slot where a lookup of key starts (a hint; no effect on the map). */
static inline void ccp_u64map_prefetch(const ccp_u64map_t *m, uint64_t key) {
  if (m->cap)
    ccp_prefetch(&m->slots[ccp_u64map_home(m, key)]);
}

/** Initialises an empty map (no allocation). */
void ccp_u64map_init(ccp_u64map_t *m);
/** Frees the slots. */
void ccp_u64map_release(ccp_u64map_t *m);
/** Returns a pointer to the value of key, or NULL. */
uint64_t *ccp_u64map_get(const ccp_u64map_t *m, uint64_t key);
/** Returns the value slot of key, inserting it with value 0 if absent (*isnew set). */
uint64_t *ccp_u64map_put(ccp_u64map_t *m, uint64_t key, int *isnew);
/** Removes key; returns 1 if it was there. */
int ccp_u64map_del(ccp_u64map_t *m, uint64_t key);
/**
 * Removes every entry for which keep(opaque, key, val) returns 0, in place,
 * in one walk over the slots: keep() is called once for every entry, a
 * refused one is emptied and a kept one moves back to the first empty slot
 * from its home on, so no table is allocated (no new pages to fault in and
 * zero), the capacity stays and the kept ones mostly stay in their slots.
 * The layout is that of inserting the kept entries anew in
 * ccp_u64map_each_ordered()'s order. Returns the number removed.
 */
size_t ccp_u64map_filter(ccp_u64map_t *m, int (*keep)(void *opaque, uint64_t key, uint64_t val),
                         void *opaque);
/** 1 when the next insert of a new key would grow the table. */
static inline int ccp_u64map_would_grow(const ccp_u64map_t *m) {
  return m->dense ? (m->count + 1) * 4 > m->cap * 3 : (m->count + 1) * 2 > m->cap;
}
/**
 * Calls fn(opaque, entry) for every entry in checkpoint order: slot order
 * starting after an empty slot, so that inserting the keys in this order
 * into an empty table of the same capacity puts each in the slot it holds
 * now (linear probing: the slots from a key's home to its own are filled by
 * keys that come earlier in this order). Returns the entries visited.
 */
size_t ccp_u64map_each_ordered(const ccp_u64map_t *m,
                               void (*fn)(void *opaque, const ccp_u64map_entry_t *ent),
                               void *opaque);
/** Empties m into a table of cap slots (a power of two, or 0) for ccp_u64map_restore_put(). */
void ccp_u64map_restore_init(ccp_u64map_t *m, size_t cap);
/**
 * Inserts key (non-zero, absent) with val without growing: for keys in the
 * order of ccp_u64map_each_ordered(). Returns 0, or -1 when the key is 0,
 * already present, or the table is full.
 */
int ccp_u64map_restore_put(ccp_u64map_t *m, uint64_t key, uint64_t val);

struct ccp_ser_rd;
struct ccp_buf;
/** Appends the map (capacity, count, entries in checkpoint order) to out. */
void ccp_u64map_save(const ccp_u64map_t *m, struct ccp_buf *out);
/** Appends the map like ccp_u64map_save() but with its entries sorted by value, then key: an
 * order that depends on the set of entries only, not on the table's layout (for maps whose
 * values only grow, such as times, it is the order of their last update, so two saves share
 * long runs of bytes). Loading it rebuilds a table of the same entries and capacity, whose
 * layout may differ from m's. */
void ccp_u64map_save_by_val(const ccp_u64map_t *m, struct ccp_buf *out);
/**
 * What ccp_u64map_save_by_val_again() keeps between saves of one map: the entries as the last
 * save wrote them (sorted by value, then key) and the bound below which no entry has been written
 * since. Not state: a cache that makes the next save sort only what was written since (an empty
 * one, as after ccp_u64map_order_init(), makes it sort everything).
 */
typedef struct ccp_u64map_order {
  ccp_u64map_entry_t *ents; /**< the last save's entries, in its order */
  size_t n;
  uint64_t upto; /**< every entry put or changed after that save has a value >= upto */
  int valid;     /**< 0: none kept */
  size_t reused; /**< entries the last save took in the order before it, unsorted */
} ccp_u64map_order_t;
/** Initialises an empty order (no allocation). */
void ccp_u64map_order_init(ccp_u64map_order_t *o);
/** Frees what o keeps and empties it. */
void ccp_u64map_order_release(ccp_u64map_order_t *o);
/**
 * Appends the very bytes of ccp_u64map_save_by_val(), and keeps its order in o for the next save
 * of the same map. The caller promises that every entry put into m or changed from now on gets a
 * value >= upto (a map of times written with a clock that never goes back: upto is the clock now).
 * Then the entries below the last save's bound are the last save's entries of that range, less a
 * prefix that sweeps removed and the entries changed since: when their count and a sum of their
 * hashes say so, they are copied in the last save's order and only the entries at or above the
 * bound are sorted; otherwise everything is sorted, as ccp_u64map_save_by_val() does.
 */
void ccp_u64map_save_by_val_again(const ccp_u64map_t *m, struct ccp_buf *out, ccp_u64map_order_t *o,
                                  uint64_t upto);
/** Reads a map of ccp_u64map_save() or ccp_u64map_save_by_val() into m (initialised, empty; its
 * dense and fine flags are kept); marks r bad on a malformed map or one of more than max_cap slots
 * (the caller's bound on what the map can have grown to: maps never shrink). Returns 0 or -1. */
int ccp_u64map_load(ccp_u64map_t *m, struct ccp_ser_rd *r, uint64_t max_cap);

/** Bytes held by the map. */
static inline size_t ccp_u64map_bytes(const ccp_u64map_t *m) {
  return m->cap * sizeof(ccp_u64map_entry_t);
}

#endif
