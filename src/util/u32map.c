/*
 * Compact u32 -> u32 map; see u32map.h. Slot arrays are ccp_calloc_big_filled
 * blocks (a large one replaced by a rebuild goes back to the system).
 */
#include "util/u32map.h"

#include <string.h>

#include "ccpulse/common.h"
#include "util/ser.h"

void ccp_u32map_init(ccp_u32map_t *m) { memset(m, 0, sizeof *m); }

void ccp_u32map_release(ccp_u32map_t *m) {
  ccp_free_big(m->slots);
  memset(m, 0, sizeof *m);
}

static inline size_t home(size_t cap, uint32_t key) { return ccp_u32map_home(cap, key); }

int ccp_u32map_get(const ccp_u32map_t *m, uint32_t key, uint32_t *val) {
  if (!m->cap)
    return 0;
  for (size_t i = home(m->cap, key);; i = (i + 1) & (m->cap - 1)) {
    uint64_t w = m->slots[i];
    if (!w)
      return 0;
    if ((uint32_t)(w >> 32) == key) {
      *val = (uint32_t)w;
      return 1;
    }
  }
}

static void place(uint64_t *slots, size_t cap, uint64_t w) {
  size_t i = home(cap, (uint32_t)(w >> 32));
  while (slots[i])
    i = (i + 1) & (cap - 1);
  slots[i] = w;
}

static void rebuild(ccp_u32map_t *m, size_t ncap, int (*keep)(void *, uint32_t, uint32_t),
                    void *opaque) {
  uint64_t *old = m->slots;
  size_t ocap = m->cap;
  m->slots = ccp_calloc_big_filled(ncap, sizeof *m->slots);
  m->cap = ncap;
  m->count = 0;
  for (size_t j = 0; j < ocap; j++) {
    uint64_t w = old[j];
    if (!w || (keep && !keep(opaque, (uint32_t)(w >> 32), (uint32_t)w)))
      continue;
    place(m->slots, ncap, w);
    m->count++;
  }
  ccp_free_big(old);
}

void ccp_u32map_set(ccp_u32map_t *m, uint32_t key, uint32_t val) {
  if ((m->count + 1) * 4 > m->cap * 3)
    rebuild(m, m->cap ? m->cap * 2 : 8, NULL, NULL);
  uint64_t w = ((uint64_t)key << 32) | val;
  for (size_t i = home(m->cap, key);; i = (i + 1) & (m->cap - 1)) {
    uint64_t x = m->slots[i];
    if (!x) {
      m->slots[i] = w;
      m->count++;
      return;
    }
    if ((uint32_t)(x >> 32) == key) {
      m->slots[i] = w;
      return;
    }
  }
}

void ccp_u32map_filter(ccp_u32map_t *m, int (*keep)(void *, uint32_t, uint32_t), void *opaque) {
  if (!m->cap)
    return;
  size_t ncap = m->cap;
  /* shrink when the survivors would fill under 1/4 */
  rebuild(m, ncap, keep, opaque);
  while (ncap > 64 && m->count * 4 < ncap / 2)
    ncap /= 2;
  if (ncap != m->cap)
    rebuild(m, ncap, NULL, NULL);
}

/* -------------------------------------------------------- checkpoints */

void ccp_u32map_save(const ccp_u32map_t *m, ccp_buf_t *out) {
  ccp_ser_put_u64(out, m->cap);
  ccp_ser_put_u64(out, m->count);
  if (!m->count)
    return;
  size_t mask = m->cap - 1, start = 0;
  while (m->slots[start]) /* load <= 3/4: an empty slot exists */
    start++;
  ccp_buf_reserve(out, m->count * sizeof(uint64_t));
  for (size_t k = 1; k <= m->cap; k++) {
    uint64_t w = m->slots[(start + k) & mask];
    if (w)
      ccp_ser_put_u64(out, w);
  }
}

int ccp_u32map_load(ccp_u32map_t *m, ccp_ser_rd_t *r) {
  uint64_t cap = ccp_ser_get_u64(r), count = ccp_ser_get_u64(r);
  /* growth stops at load 3/4 and ccp_u32map_filter() shrinks to load >= 1/8: a larger
   * table is corrupt */
  if (!CCP_SER_CHECK(r,
                     (cap & (cap - 1)) == 0 && count < (cap ? cap : 1) &&
                         cap <= CCP_MAX(64, 16 * count + 16),
                     "bad map: %llu entries in %llu slots", (unsigned long long)count,
                     (unsigned long long)cap))
    return -1;
  const unsigned char *words = ccp_ser_get_array(r, count, sizeof(uint64_t));
  if (r->bad)
    return -1;
  ccp_u32map_release(m);
  m->cap = (size_t)cap;
  m->slots = cap ? ccp_calloc_big_filled((size_t)cap, sizeof *m->slots) : NULL;
  for (uint64_t j = 0; j < count; j++) {
    uint64_t w;
    memcpy(&w, words + j * sizeof w, sizeof w);
    uint32_t key = (uint32_t)(w >> 32);
    if (!key)
      return ccp_ser_fail(r, "bad map: zero key"), -1;
    size_t i = home(m->cap, key);
    for (; m->slots[i]; i = (i + 1) & (m->cap - 1))
      if ((uint32_t)(m->slots[i] >> 32) == key)
        return ccp_ser_fail(r, "bad map: repeated key %u", key), -1;
    m->slots[i] = w;
    m->count++;
  }
  return 0;
}
