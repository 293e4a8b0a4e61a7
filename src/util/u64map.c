/*
 * Open-addressing u64 -> u64 map; see u64map.h. Linear probing keeps probes
 * in one or two cache lines; deletion shifts the following cluster back so
 * no tombstones accumulate.
 */
#include "util/u64map.h"

#include <string.h>

#include "ccpulse/common.h"

void ccp_u64map_init(ccp_u64map_t *m) { memset(m, 0, sizeof *m); }

void ccp_u64map_release(ccp_u64map_t *m) {
  ccp_free(m->slots);
  memset(m, 0, sizeof *m);
}

static inline size_t home(const ccp_u64map_t *m, uint64_t key) { return ccp_u64map_home(m, key); }

uint64_t *ccp_u64map_get(const ccp_u64map_t *m, uint64_t key) {
  if (!m->cap)
    return NULL;
  size_t i = home(m, key);
  for (;;) {
    ccp_u64map_entry_t *e = &m->slots[i];
    if (e->key == key)
      return &e->val;
    if (e->key == 0)
      return NULL;
    i = (i + 1) & (m->cap - 1);
  }
}

static void grow(ccp_u64map_t *m) {
  size_t ncap = m->cap ? m->cap * 2 : 64;
  ccp_u64map_entry_t *old = m->slots;
  size_t ocap = m->cap;
  m->slots = ccp_calloc(ncap, sizeof *m->slots);
  m->cap = ncap;
  for (size_t j = 0; j < ocap; j++) {
    if (!old[j].key)
      continue;
    size_t i = home(m, old[j].key);
    while (m->slots[i].key)
      i = (i + 1) & (ncap - 1);
    m->slots[i] = old[j];
  }
  ccp_free(old);
}

uint64_t *ccp_u64map_put(ccp_u64map_t *m, uint64_t key, int *isnew) {
  if (ccp_u64map_would_grow(m))
    grow(m);
  size_t i = home(m, key);
  for (;;) {
    ccp_u64map_entry_t *e = &m->slots[i];
    if (e->key == key) {
      if (isnew)
        *isnew = 0;
      return &e->val;
    }
    if (e->key == 0) {
      e->key = key;
      e->val = 0;
      m->count++;
      if (isnew)
        *isnew = 1;
      return &e->val;
    }
    i = (i + 1) & (m->cap - 1);
  }
}

static void del_at(ccp_u64map_t *m, size_t i) {
  size_t mask = m->cap - 1;
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (!m->slots[j].key)
      break;
    size_t k = home(m, m->slots[j].key);
    /* move j back to i unless its home lies cyclically in (i, j] */
    if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
      m->slots[i] = m->slots[j];
      i = j;
    }
  }
  m->slots[i].key = 0;
  m->slots[i].val = 0;
  m->count--;
}

int ccp_u64map_del(ccp_u64map_t *m, uint64_t key) {
  if (!m->cap)
    return 0;
  size_t i = home(m, key);
  for (;;) {
    if (m->slots[i].key == key) {
      del_at(m, i);
      return 1;
    }
    if (!m->slots[i].key)
      return 0;
    i = (i + 1) & (m->cap - 1);
  }
}

size_t ccp_u64map_filter(ccp_u64map_t *m, int (*keep)(void *, uint64_t, uint64_t), void *opaque) {
  if (!m->cap)
    return 0;
  /* Rebuild: simplest way to stay correct with backward-shift semantics. */
  size_t removed = 0;
  ccp_u64map_entry_t *old = m->slots;
  size_t ocap = m->cap;
  m->slots = ccp_calloc(ocap, sizeof *m->slots);
  m->count = 0;
  for (size_t j = 0; j < ocap; j++) {
    if (!old[j].key)
      continue;
    if (!keep(opaque, old[j].key, old[j].val)) {
      removed++;
      continue;
    }
    size_t i = home(m, old[j].key);
    while (m->slots[i].key)
      i = (i + 1) & (ocap - 1);
    m->slots[i] = old[j];
    m->count++;
  }
  ccp_free(old);
  return removed;
}
