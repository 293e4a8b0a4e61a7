/*
 * Compact open-addressing map from a non-zero 32-bit key to a 32-bit value,
 * each entry one 64-bit word (key in the high half; 0 = empty), linear
 * probing, load at most 3/4. Used where a few bytes per entry matter more
 * than exact keys (keys are truncated hashes; see the users' notes on the
 * collision rate). No single-key delete: ccp_u32map_filter() rebuilds.
 *
 * Single-threaded: a map belongs to its embedder.
 */
#ifndef CCP_U32MAP_H
#define CCP_U32MAP_H

#include <stddef.h>
#include <stdint.h>

#include "util/prefetch.h"

typedef struct ccp_u32map {
  uint64_t *slots; /**< (key << 32 | val), 0 = empty */
  size_t cap;      /**< power of two, or 0 */
  size_t count;
} ccp_u32map_t;

/** Maps a hash to a usable key (never 0). */
static inline uint32_t ccp_u32map_key(uint64_t h) {
  uint32_t k = (uint32_t)(h >> 32);
  return k ? k : 1;
}
/** Slot where a lookup of key starts (map not empty). */
static inline size_t ccp_u32map_home(size_t cap, uint32_t key) {
  return (size_t)((key * 0x9e3779b1u) ^ (key >> 16)) & (cap - 1);
}
/** Prefetches the slot where a lookup of key starts (a hint; no effect on the map). */
static inline void ccp_u32map_prefetch(const ccp_u32map_t *m, uint32_t key) {
  if (m->cap)
    ccp_prefetch(&m->slots[ccp_u32map_home(m->cap, key)]);
}
/** Initialises an empty map. */
void ccp_u32map_init(ccp_u32map_t *m);
/** Frees the slots. */
void ccp_u32map_release(ccp_u32map_t *m);
/** Looks key up: returns 1 and sets *val when present. */
int ccp_u32map_get(const ccp_u32map_t *m, uint32_t key, uint32_t *val);
/** Inserts or replaces key's value. */
void ccp_u32map_set(ccp_u32map_t *m, uint32_t key, uint32_t val);
/** Keeps only the entries for which keep() returns non-zero. */
void ccp_u32map_filter(ccp_u32map_t *m, int (*keep)(void *opaque, uint32_t key, uint32_t val),
                       void *opaque);
/** 1 when the next insert of a new key would grow the table. */
static inline int ccp_u32map_would_grow(const ccp_u32map_t *m) {
  return (m->count + 1) * 4 > m->cap * 3;
}
struct ccp_ser_rd;
struct ccp_buf;
/** Appends the map (capacity, count, words in slot order from after an empty slot, so
 * that reinserting them in that order rebuilds the same table) to out. */
void ccp_u32map_save(const ccp_u32map_t *m, struct ccp_buf *out);
/** Reads a map of ccp_u32map_save() into m (initialised, empty); marks r bad on a
 * malformed map. Returns 0 or -1. */
int ccp_u32map_load(ccp_u32map_t *m, struct ccp_ser_rd *r);
/** Bytes held. */
static inline size_t ccp_u32map_bytes(const ccp_u32map_t *m) { return m->cap * sizeof(uint64_t); }

#endif
