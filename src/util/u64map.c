/*
 * Open-addressing u64 -> u64 map; see u64map.h. Linear probing keeps probes
 * in one or two cache lines; deletion shifts the following cluster back so
 * no tombstones accumulate, and a filter works in place. Slot arrays are
 * ccp_calloc_big_filled blocks: a large table replaced by its growth goes
 * back to the system at once.
 */
#include "util/u64map.h"

#include <stdlib.h>
#include <string.h>

#include "ccpulse/common.h"
#include "util/ser.h"

void ccp_u64map_init(ccp_u64map_t *m) { memset(m, 0, sizeof *m); }

void ccp_u64map_release(ccp_u64map_t *m) {
  ccp_free_big(m->slots);
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
    i = ccp_u64map_next(m, i);
  }
}

static void grow(ccp_u64map_t *m) {
  size_t ncap = !m->cap ? 64 : m->fine ? m->cap + m->cap / 4 : m->cap * 2;
  ccp_u64map_entry_t *old = m->slots;
  size_t ocap = m->cap;
  m->slots = ccp_calloc_big_filled(ncap, sizeof *m->slots);
  m->cap = ncap;
  for (size_t j = 0; j < ocap; j++) {
    if (!old[j].key)
      continue;
    size_t i = home(m, old[j].key);
    while (m->slots[i].key)
      i = ccp_u64map_next(m, i);
    m->slots[i] = old[j];
  }
  ccp_free_big(old);
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
    i = ccp_u64map_next(m, i);
  }
}

static void del_at(ccp_u64map_t *m, size_t i) {
  size_t j = i;
  for (;;) {
    j = ccp_u64map_next(m, j);
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
    i = ccp_u64map_next(m, i);
  }
}

size_t ccp_u64map_filter(ccp_u64map_t *m, int (*keep)(void *opaque, uint64_t key, uint64_t val),
                         void *opaque) {
  if (!m->count)
    return 0;
  /* One walk once around from an empty slot: a refused entry is emptied,
   * a kept one moves to the first empty slot from its home on, if that
   * comes before where it is. The entries looked at before it are placed
   * already, so this is inserting the kept ones anew in this order (what a
   * rebuild does) without the new table; a home lies in its entry's
   * cluster, which the walk entered after an empty slot, so the slots from
   * the home to the entry have all been looked at. Cheaper than a
   * backward shift per refused entry when many go (the duplicate filter's
   * sweeps drop about half). */
  size_t start = 0, removed = 0;
  while (m->slots[start].key) /* load < 1: an empty slot exists */
    start++;
  for (size_t k = 1, i = start; k < m->cap; k++) {
    i = ccp_u64map_next(m, i);
    ccp_u64map_entry_t *e = &m->slots[i];
    if (!e->key)
      continue;
    if (!keep(opaque, e->key, e->val)) {
      e->key = 0;
      e->val = 0;
      removed++;
      continue;
    }
    size_t p = home(m, e->key);
    while (p != i && m->slots[p].key)
      p = ccp_u64map_next(m, p);
    if (p != i) {
      m->slots[p] = *e;
      e->key = 0;
      e->val = 0;
    }
  }
  m->count -= removed;
  return removed;
}

/* -------------------------------------------------------- checkpoints */

size_t ccp_u64map_each_ordered(const ccp_u64map_t *m,
                               void (*fn)(void *opaque, const ccp_u64map_entry_t *ent),
                               void *opaque) {
  if (!m->count)
    return 0;
  size_t start = 0, n = 0;
  while (m->slots[start].key) /* load < 1: an empty slot exists */
    start++;
  for (size_t k = 1, i = start; k <= m->cap; k++) {
    i = ccp_u64map_next(m, i);
    const ccp_u64map_entry_t *e = &m->slots[i];
    if (e->key) {
      fn(opaque, e);
      n++;
    }
  }
  return n;
}

void ccp_u64map_restore_init(ccp_u64map_t *m, size_t cap) {
  ccp_free_big(m->slots);
  m->slots = cap ? ccp_calloc_big_filled(cap, sizeof *m->slots) : NULL;
  m->cap = cap;
  m->count = 0;
}

int ccp_u64map_restore_put(ccp_u64map_t *m, uint64_t key, uint64_t val) {
  if (!key || m->count + 1 >= m->cap)
    return -1;
  size_t i = home(m, key);
  while (m->slots[i].key) {
    if (m->slots[i].key == key)
      return -1;
    i = ccp_u64map_next(m, i);
  }
  m->slots[i].key = key;
  m->slots[i].val = val;
  m->count++;
  return 0;
}

static void put_entry(void *opaque, const ccp_u64map_entry_t *e) {
  ccp_ser_put(opaque, e, sizeof *e);
}

void ccp_u64map_save(const ccp_u64map_t *m, ccp_buf_t *out) {
  ccp_ser_put_u64(out, m->cap);
  ccp_ser_put_u64(out, m->count);
  ccp_buf_reserve(out, m->count * sizeof(ccp_u64map_entry_t));
  ccp_u64map_each_ordered(m, put_entry, out);
}

/* Orders entries by value, then key. */
static int cmp_key(const void *a, const void *b) {
  uint64_t x = ((const ccp_u64map_entry_t *)a)->key, y = ((const ccp_u64map_entry_t *)b)->key;
  return (x > y) - (x < y);
}

/* Sorts a[0..n) by key (keys are distinct): a quicksort on the middle
 * key, insertion below 24 entries, qsort when `depth` splits did not do
 * (keys are hashes: not expected). Inline compares: the runs of equal
 * values are sorted at every save of the duplicate filter. */
static void sort_by_key(ccp_u64map_entry_t *a, size_t n, int depth) {
  while (n > 24) {
    if (!depth--) {
      qsort(a, n, sizeof *a, cmp_key);
      return;
    }
    uint64_t p = a[(n - 1) / 2].key; /* the lower middle: both sides non-empty */
    size_t i = 0, j = n - 1;
    for (;;) { /* Hoare: a[0..j] <= p <= a[j+1..n) */
      while (a[i].key < p)
        i++;
      while (a[j].key > p)
        j--;
      if (i >= j)
        break;
      ccp_u64map_entry_t t = a[i];
      a[i++] = a[j];
      a[j--] = t;
    }
    size_t left = j + 1;
    if (left < n - left) {
      sort_by_key(a, left, depth);
      a += left;
      n -= left;
    } else {
      sort_by_key(a + left, n - left, depth);
      n = left;
    }
  }
  for (size_t k = 1; k < n; k++) {
    ccp_u64map_entry_t x = a[k];
    size_t at = k;
    for (; at > 0 && a[at - 1].key > x.key; at--)
      a[at] = a[at - 1];
    a[at] = x;
  }
}

/* Sorts a[0..n) by value, then key: stable LSD radix passes of 11 bits over
 * val - min (two passes for values spanning up to 4M, such as milliseconds
 * of a lateness horizon), then each run of equal values by key (runs are
 * short: entries remembered in the same millisecond). tmp has room for n. */
static void sort_by_val(ccp_u64map_entry_t *a, ccp_u64map_entry_t *tmp, size_t n) {
  if (n < 2)
    return;
  uint64_t lo = a[0].val, hi = a[0].val;
  for (size_t i = 1; i < n; i++) {
    lo = a[i].val < lo ? a[i].val : lo;
    hi = a[i].val > hi ? a[i].val : hi;
  }
  ccp_u64map_entry_t *src = a, *dst = tmp;
  for (unsigned sh = 0; sh < 64 && (hi - lo) >> sh; sh += 11) {
    size_t pos[2048] = {0};
    for (size_t i = 0; i < n; i++)
      pos[(src[i].val - lo) >> sh & 2047]++;
    for (size_t d = 0, at = 0; d < 2048; d++) {
      size_t c = pos[d];
      pos[d] = at;
      at += c;
    }
    for (size_t i = 0; i < n; i++)
      dst[pos[(src[i].val - lo) >> sh & 2047]++] = src[i];
    ccp_u64map_entry_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != a)
    memcpy(a, src, n * sizeof *a);
  for (size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && a[j].val == a[i].val; j++)
      ;
    if (j - i > 1)
      sort_by_key(a + i, j - i, 64);
  }
}

/* m's entries sorted by value, then key, in a new array of m->count (+ 1) entries. */
static ccp_u64map_entry_t *sorted_by_val(const ccp_u64map_t *m) {
  size_t n = 0;
  ccp_u64map_entry_t *a = ccp_malloc((m->count + 1) * sizeof *a);
  ccp_u64map_entry_t *tmp = ccp_malloc((m->count + 1) * sizeof *tmp);
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key)
      a[n++] = m->slots[i];
  sort_by_val(a, tmp, n);
  ccp_free(tmp);
  return a;
}

void ccp_u64map_save_by_val(const ccp_u64map_t *m, ccp_buf_t *out) {
  ccp_ser_put_u64(out, m->cap);
  ccp_ser_put_u64(out, m->count);
  if (!m->count)
    return;
  ccp_u64map_entry_t *a = sorted_by_val(m);
  ccp_ser_put(out, a, m->count * sizeof *a);
  ccp_free(a);
}

void ccp_u64map_order_init(ccp_u64map_order_t *o) { memset(o, 0, sizeof *o); }

void ccp_u64map_order_release(ccp_u64map_order_t *o) {
  ccp_free(o->ents);
  memset(o, 0, sizeof *o);
}

/* A hash of an entry, summed over a set of entries (the order does not matter). */
static inline uint64_t ent_hash(const ccp_u64map_entry_t *e) {
  unsigned __int128 x = (unsigned __int128)(e->key ^ 0x9e3779b97f4a7c15ULL) * (e->val | 1);
  return (uint64_t)x ^ (uint64_t)(x >> 64) ^ e->key;
}

/* The first of a[0..n) (sorted by value) whose value is >= v. */
static size_t first_at(const ccp_u64map_entry_t *a, size_t n, uint64_t v) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid].val < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* m's entries sorted by value, then key, from the last save's order o (valid): the entries
 * below o->upto must be a run of o's (entries never get a value below upto again, so those
 * of m are ones o held, unchanged; sweeps remove the lowest values), which their count and
 * hash sum check; then only the entries at or above it are sorted. NULL when the check fails. */
static ccp_u64map_entry_t *sorted_again(const ccp_u64map_t *m, ccp_u64map_order_t *o) {
  ccp_u64map_entry_t *a = ccp_malloc((m->count + 1) * sizeof *a);
  size_t nold = 0, nnew = 0;
  uint64_t sum = 0, lo = UINT64_MAX;
  ccp_u64map_entry_t *fresh = a + m->count; /* the new ones fill a from its end, backwards */
  for (size_t i = 0; i < m->cap; i++) {
    const ccp_u64map_entry_t *e = &m->slots[i];
    if (!e->key)
      continue;
    if (e->val < o->upto) {
      nold++;
      sum += ent_hash(e);
      lo = e->val < lo ? e->val : lo;
    } else {
      *--fresh = *e;
      nnew++;
    }
  }
  size_t to = first_at(o->ents, o->n, o->upto), from = nold ? first_at(o->ents, o->n, lo) : to;
  uint64_t was = 0;
  for (size_t i = from; i < to && to - from == nold; i++)
    was += ent_hash(&o->ents[i]);
  if (to - from != nold || was != sum) {
    ccp_free(a);
    return NULL;
  }
  if (nold) /* the new ones are a[nold..count) already */
    memcpy(a, o->ents + from, nold * sizeof *a);
  o->reused = nold;
  ccp_u64map_entry_t *tmp = ccp_malloc((nnew + 1) * sizeof *tmp);
  sort_by_val(fresh, tmp, nnew);
  ccp_free(tmp);
  return a;
}

void ccp_u64map_save_by_val_again(const ccp_u64map_t *m, ccp_buf_t *out, ccp_u64map_order_t *o,
                                  uint64_t upto) {
  ccp_ser_put_u64(out, m->cap);
  ccp_ser_put_u64(out, m->count);
  o->reused = 0;
  ccp_u64map_entry_t *a = o->valid && m->count ? sorted_again(m, o) : NULL;
  if (!a && m->count)
    a = sorted_by_val(m);
  if (m->count)
    ccp_ser_put(out, a, m->count * sizeof *a);
  ccp_free(o->ents);
  o->ents = a;
  o->n = m->count;
  o->upto = upto;
  o->valid = 1;
}

int ccp_u64map_load(ccp_u64map_t *m, ccp_ser_rd_t *r, uint64_t max_cap) {
  uint64_t cap = ccp_ser_get_u64(r), count = ccp_ser_get_u64(r);
  /* a fine map's capacity is 0, or 64 grown by 1/4 at a time: any size from 64 up */
  int shape_ok = m->fine ? cap == 0 || cap >= 64 : (cap & (cap - 1)) == 0;
  if (!CCP_SER_CHECK(r, shape_ok && count < (cap ? cap : 1) && cap <= max_cap,
                     "bad map: %llu entries in %llu slots", (unsigned long long)count,
                     (unsigned long long)cap))
    return -1;
  const ccp_u64map_entry_t *ents = ccp_ser_get_array(r, count, sizeof *ents);
  if (r->bad)
    return -1;
  ccp_u64map_restore_init(m, (size_t)cap);
  for (uint64_t i = 0; i < count; i++) {
    ccp_u64map_entry_t e;
    memcpy(&e, &ents[i], sizeof e); /* the bytes need not be aligned */
    if (ccp_u64map_restore_put(m, e.key, e.val) != 0)
      return ccp_ser_fail(r, "bad map: key %llu is zero or repeated", (unsigned long long)e.key),
             -1;
  }
  return 0;
}
