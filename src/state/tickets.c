/*
 * Ticket table; see tickets.h. Invariants:
 *   - every live record (key != 0) is in the index exactly once (tagged
 *     with its key, see tag_of) and in the
 *     LRU list exactly once; free records are on the free list only;
 *   - the LRU list is ordered by touch (touch only ever grows per engine).
 * Records live in 64K-record chunks, so growth never moves a record and the
 * peak memory is the live set plus one partly used chunk. Chunks and the
 * index are ccp_calloc_big blocks: a replaced index goes back to the system.
 */
#include "state/tickets.h"

#include <string.h>

#include "ccpulse/common.h"
#include "util/ser.h"

_Static_assert(sizeof(ccp_ticket_t) == 48, "ticket record must stay 48 bytes");
_Static_assert(CCP_EVENT_TS_MAX - CCP_EVENT_TS_MIN < (int64_t)CCP_T_NO_OPEN,
               "an accepted event's ts must fit the 42-bit open time");

void ccp_tickets_init(ccp_tickets_t *t) {
  memset(t, 0, sizeof *t);
  t->free_head = CCP_NIL;
  t->lru_head = t->lru_tail = CCP_NIL;
}

void ccp_tickets_release(ccp_tickets_t *t) {
  for (uint32_t c = 0; c < t->nchunks; c++)
    ccp_free_big(t->chunks[c]);
  ccp_free(t->chunks);
  ccp_free_big(t->index);
  ccp_tickets_init(t);
}

static inline size_t home(const ccp_tickets_t *t, uint64_t key) { return ccp_tickets_home(t, key); }

/* Record numbers stay below 2^index_bits, so they fit under the tag:
 * records are handed out only while count <= 3/4 of the slots. */
static inline uint32_t tag_of(uint64_t key, uint32_t bits) { return ccp_tickets_tag(key, bits); }

static inline uint32_t slot_of(const ccp_tickets_t *t, uint64_t key, uint32_t rec) {
  uint32_t tag = tag_of(key, t->index_bits);
  return (t->index_bits >= 32 ? 0 : tag << t->index_bits) | (rec + 1);
}

uint32_t ccp_tickets_find(const ccp_tickets_t *t, uint64_t key) {
  if (!t->index_cap)
    return CCP_NIL;
  uint32_t mask = ccp_tickets_rec_mask(t);
  uint32_t bits = t->index_bits;
  uint32_t tag = tag_of(key, bits);
  size_t i = home(t, key);
  for (;;) {
    uint32_t s = t->index[i];
    if (!s)
      return CCP_NIL;
    if ((bits >= 32 ? 0 : s >> bits) == tag) {
      uint32_t r = (s & mask) - 1;
      if (ccp_tickets_at(t, r)->key == key)
        return r;
    }
    i = ccp_tickets_next(t, i);
  }
}

static void index_insert(ccp_tickets_t *t, uint64_t key, uint32_t rec) {
  size_t i = home(t, key);
  while (t->index[i])
    i = ccp_tickets_next(t, i);
  t->index[i] = slot_of(t, key, rec);
}

/* The index capacity after cap: 1024, then 1/4 more. */
static size_t index_next_cap(size_t cap) { return cap ? cap + cap / 4 : 1024; }

/* Smallest k with 2^k >= cap. */
static uint32_t index_bits_for(size_t cap) {
  uint32_t k = 0;
  while (((size_t)1 << k) < cap)
    k++;
  return k;
}

/* An empty index of cap slots (records and their keys are not touched). */
static void index_alloc(ccp_tickets_t *t, size_t cap) {
  t->index_cap = cap;
  t->index_bits = index_bits_for(cap);
  t->index = cap ? ccp_calloc_big_filled(cap, sizeof *t->index) : NULL;
}

static void index_grow(ccp_tickets_t *t) {
  size_t ocap = t->index_cap;
  uint32_t *old = t->index, omask = ccp_tickets_rec_mask(t);
  index_alloc(t, index_next_cap(ocap));
  /* Every record's key is read, in index order: a cache miss each, so the
   * records a few slots ahead are fetched meanwhile (the new slots are
   * written nearly in order: a home is monotonic in the key's low bits). */
  enum { AHEAD = 16 };
  for (size_t j = 0; j < ocap; j++) {
    if (j + AHEAD < ocap && old[j + AHEAD])
      ccp_prefetch(&ccp_tickets_at(t, (old[j + AHEAD] & omask) - 1)->key);
    if (!old[j])
      continue;
    uint32_t rec = (old[j] & omask) - 1;
    index_insert(t, ccp_tickets_at(t, rec)->key, rec);
  }
  ccp_free_big(old);
}

static void index_delete(ccp_tickets_t *t, uint64_t key, uint32_t rec) {
  size_t i = home(t, key);
  uint32_t want = slot_of(t, key, rec);
  while (t->index[i] != want)
    i = ccp_tickets_next(t, i);
  size_t j = i;
  for (;;) { /* backward-shift deletion */
    j = ccp_tickets_next(t, j);
    if (!t->index[j])
      break;
    size_t k = home(t, ccp_tickets_at(t, ccp_tickets_slot_rec(t, j))->key);
    if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
      t->index[i] = t->index[j];
      i = j;
    }
  }
  t->index[i] = 0;
}

static void lru_unlink(ccp_tickets_t *t, uint32_t i, ccp_ticket_t *r) {
  if (r->lru_prev != CCP_NIL)
    ccp_tickets_at(t, r->lru_prev)->lru_next = r->lru_next;
  else
    t->lru_head = r->lru_next;
  if (r->lru_next != CCP_NIL)
    ccp_tickets_at(t, r->lru_next)->lru_prev = r->lru_prev;
  else
    t->lru_tail = r->lru_prev;
  (void)i;
}

/* Record chunk c, zeroed. The first chunk keeps small pages: a partition
 * holding a few thousand tickets maps only what it wrote, not a whole 2 MiB
 * page (bench/README.md, "huge pages"). Later ones, of a table already past
 * 65,536 records, ask for huge pages: their records are read at random, a
 * few per event (the ticket, its LRU and waiting-list neighbours, timers'
 * tickets), and with small pages nearly each such read also walked the page
 * tables; what that costs is at most one partly written 2 MiB page. */
static ccp_ticket_t *chunk_alloc(uint32_t c) {
  return c ? ccp_calloc_big_huge(CCP_TCHUNK, sizeof(ccp_ticket_t))
           : ccp_calloc_big(CCP_TCHUNK, sizeof(ccp_ticket_t));
}

static void lru_append(ccp_tickets_t *t, uint32_t i, ccp_ticket_t *r) {
  r->lru_prev = t->lru_tail;
  r->lru_next = CCP_NIL;
  if (t->lru_tail != CCP_NIL)
    ccp_tickets_at(t, t->lru_tail)->lru_next = i;
  else
    t->lru_head = i;
  t->lru_tail = i;
}

uint32_t ccp_tickets_create(ccp_tickets_t *t, uint64_t key) {
  if ((t->count + 1) * 4 > t->index_cap * 3)
    index_grow(t); /* load 3/5..3/4: 4-byte slots, hits probe ~2.5 */
  uint32_t i;
  uint16_t life = 0; /* a record never used: its chunk's pages are not read before written */
  if (t->free_head != CCP_NIL) {
    i = t->free_head;
    t->free_head = ccp_tickets_at(t, i)->lru_next;
    if (t->free_head != CCP_NIL) /* the next create's record, long cold */
      ccp_tickets_prefetch_at(t, t->free_head);
    life = (uint16_t)ccp_tickets_at(t, i)->life;
  } else {
    if (t->used == t->nchunks * CCP_TCHUNK) {
      if (t->nchunks == (CCP_NIL >> CCP_TCHUNK_BITS))
        ccp__fatal(__FILE__, __LINE__, "ticket table full");
      t->chunks = ccp_realloc(t->chunks, (t->nchunks + 1) * sizeof *t->chunks);
      t->chunks[t->nchunks] = chunk_alloc(t->nchunks);
      t->nchunks++;
    }
    i = t->used++;
  }
  ccp_ticket_t *r = ccp_tickets_at(t, i);
  memset(r, 0, sizeof *r);
  r->life = (uint16_t)(life + 1); /* stale timers of the slot's old owner no longer match */
  r->key = key;
  ccp_ticket_set_open(r, CCP_NO_TS);
  ccp_ticket_set_agent(r, CCP_NIL);
  r->w_prev = r->w_next = CCP_NIL;
  index_insert(t, key, i);
  lru_append(t, i, r);
  t->count++;
  return i;
}

void ccp_tickets_remove(ccp_tickets_t *t, uint32_t i) {
  ccp_ticket_t *r = ccp_tickets_at(t, i);
  index_delete(t, r->key, i);
  lru_unlink(t, i, r);
  r->key = 0;
  r->flags = 0;
  r->lru_next = t->free_head;
  t->free_head = i;
  t->count--;
}

void ccp_tickets_touch(ccp_tickets_t *t, uint32_t i, int64_t now) {
  ccp_ticket_t *r = ccp_tickets_at(t, i);
  r->touch = now;
  if (t->lru_tail == i)
    return;
  lru_unlink(t, i, r);
  lru_append(t, i, r);
}

size_t ccp_tickets_bytes(const ccp_tickets_t *t) {
  return (size_t)t->nchunks * CCP_TCHUNK * sizeof(ccp_ticket_t) + t->index_cap * sizeof(uint32_t) +
         t->nchunks * sizeof(ccp_ticket_t *);
}

/* -------------------------------------------------------- checkpoints */

void ccp_tickets_save(const ccp_tickets_t *t, ccp_buf_t *out) {
  ccp_ser_put_u32(out, t->used);
  ccp_ser_put_u32(out, t->free_head);
  ccp_ser_put_u32(out, t->index_bits);
  ccp_ser_put_u32(out, t->lru_head);
  ccp_ser_put_u32(out, t->lru_tail);
  ccp_ser_put_u64(out, t->count);
  ccp_buf_reserve(out, (size_t)t->used * sizeof(ccp_ticket_t));
  for (uint32_t done = 0; done < t->used; done += CCP_TCHUNK) { /* one copy per chunk */
    uint32_t n = CCP_MIN(CCP_TCHUNK, t->used - done);
    ccp_ser_put(out, t->chunks[done >> CCP_TCHUNK_BITS], (size_t)n * sizeof(ccp_ticket_t));
  }
}

static inline int link_ok(uint32_t l, uint32_t used) { return l == CCP_NIL || l < used; }

int ccp_tickets_load(ccp_tickets_t *t, ccp_ser_rd_t *r) {
  uint32_t used = ccp_ser_get_u32(r), free_head = ccp_ser_get_u32(r);
  uint32_t bits = ccp_ser_get_u32(r), lru_head = ccp_ser_get_u32(r);
  uint32_t lru_tail = ccp_ser_get_u32(r);
  uint64_t count = ccp_ser_get_u64(r);
  /* record numbers + 1 must fit under the tag: used < 2^bits */
  if (!CCP_SER_CHECK(r,
                     (bits == 0 && used == 0) || (bits >= 10 && bits <= 31 && used < (1u << bits) &&
                                                  (1u << bits) <= 4 * (uint64_t)used + 1024),
                     "%u records for an index of %u bits", used, bits) ||
      !CCP_SER_CHECK(r, count <= used, "%llu tickets in %u records", (unsigned long long)count,
                     used) ||
      !CCP_SER_CHECK(r,
                     link_ok(free_head, used) && link_ok(lru_head, used) && link_ok(lru_tail, used),
                     "list ends beyond %u records", used))
    return -1;
  const unsigned char *recs = ccp_ser_get_array(r, used, sizeof(ccp_ticket_t));
  if (r->bad)
    return -1;
  t->nchunks = (used + CCP_TCHUNK - 1) / CCP_TCHUNK;
  t->chunks = t->nchunks ? ccp_malloc(t->nchunks * sizeof *t->chunks) : NULL;
  for (uint32_t c = 0; c < t->nchunks; c++) {
    uint32_t n = CCP_MIN(CCP_TCHUNK, used - c * CCP_TCHUNK);
    t->chunks[c] = chunk_alloc(c); /* the unused tail zero */
    memcpy(t->chunks[c], recs + (size_t)c * CCP_TCHUNK * sizeof(ccp_ticket_t),
           (size_t)n * sizeof(ccp_ticket_t));
  }
  t->used = used;
  t->free_head = free_head;
  t->lru_head = lru_head;
  t->lru_tail = lru_tail;
  /* The capacity the table grew to: the first of the growth sequence that
   * held its most tickets at once (used, the records handed out); the saved
   * bits (of a doubling index before) only bound the records above. */
  size_t cap = 0;
  while (used && (uint64_t)used * 4 > (uint64_t)cap * 3)
    cap = index_next_cap(cap);
  index_alloc(t, cap);
  size_t live = 0;
  for (uint32_t i = 0; i < used; i++) {
    const ccp_ticket_t *x = ccp_tickets_at(t, i);
    if (!link_ok(x->lru_next, used) || (x->key && !link_ok(x->lru_prev, used)))
      return ccp_ser_fail(r, "record %u links beyond %u records", i, used), -1;
    if (!x->key)
      continue;
    if (!link_ok(x->w_prev, used) || !link_ok(x->w_next, used))
      return ccp_ser_fail(r, "record %u links beyond %u records", i, used), -1;
    if (++live > count || (live + 1) * 4 > t->index_cap * 3 + 4)
      return ccp_ser_fail(r, "more live records than %llu tickets", (unsigned long long)count), -1;
    index_insert(t, x->key, i);
  }
  if (!CCP_SER_CHECK(r, live == count, "%zu live records for %llu tickets", live,
                     (unsigned long long)count))
    return -1;
  t->count = live;
  if ((lru_head == CCP_NIL) != (live == 0) || (lru_tail == CCP_NIL) != (live == 0) ||
      (live && (!ccp_tickets_at(t, lru_head)->key || !ccp_tickets_at(t, lru_tail)->key)) ||
      (free_head != CCP_NIL && ccp_tickets_at(t, free_head)->key))
    return ccp_ser_fail(r, "list ends do not match the records"), -1;
  return 0;
}
