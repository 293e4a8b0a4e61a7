/*
 * Ticket table; see tickets.h. Invariants:
 *   - every live record (key != 0) is in the index exactly once (tagged
 *     with its key, see tag_of) and in the
 *     LRU list exactly once; free records are on the free list only;
 *   - the LRU list is ordered by touch (touch only ever grows per engine).
 * Records live in 64K-record chunks, so growth never moves a record and the
 * peak memory is the live set plus one partly used chunk.
 */
#include "state/tickets.h"

#include <string.h>

#include "ccpulse/common.h"

_Static_assert(sizeof(ccp_ticket_t) == 56, "ticket record must stay 56 bytes");

void ccp_tickets_init(ccp_tickets_t *t) {
  memset(t, 0, sizeof *t);
  t->free_head = CCP_NIL;
  t->lru_head = t->lru_tail = CCP_NIL;
}

void ccp_tickets_release(ccp_tickets_t *t) {
  for (uint32_t c = 0; c < t->nchunks; c++)
    ccp_free(t->chunks[c]);
  ccp_free(t->chunks);
  ccp_free(t->index);
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
  size_t mask = t->index_cap - 1;
  uint32_t bits = t->index_bits;
  uint32_t tag = tag_of(key, bits);
  size_t i = home(t, key);
  for (;;) {
    uint32_t s = t->index[i];
    if (!s)
      return CCP_NIL;
    if ((bits >= 32 ? 0 : s >> bits) == tag) {
      uint32_t r = (uint32_t)(s & mask) - 1;
      if (ccp_tickets_at(t, r)->key == key)
        return r;
    }
    i = (i + 1) & mask;
  }
}

static void index_insert(ccp_tickets_t *t, uint64_t key, uint32_t rec) {
  size_t i = home(t, key);
  while (t->index[i])
    i = (i + 1) & (t->index_cap - 1);
  t->index[i] = slot_of(t, key, rec);
}

static void index_grow(ccp_tickets_t *t) {
  size_t ocap = t->index_cap;
  uint32_t *old = t->index;
  t->index_cap = ocap ? ocap * 2 : 1024;
  t->index_bits = ocap ? t->index_bits + 1 : 10;
  t->index = ccp_calloc(t->index_cap, sizeof *t->index);
  for (size_t j = 0; j < ocap; j++) {
    if (!old[j])
      continue;
    uint32_t rec = (uint32_t)(old[j] & (ocap - 1)) - 1;
    index_insert(t, ccp_tickets_at(t, rec)->key, rec);
  }
  ccp_free(old);
}

static void index_delete(ccp_tickets_t *t, uint64_t key, uint32_t rec) {
  size_t mask = t->index_cap - 1;
  size_t i = home(t, key);
  uint32_t want = slot_of(t, key, rec);
  while (t->index[i] != want)
    i = (i + 1) & mask;
  size_t j = i;
  for (;;) { /* backward-shift deletion */
    j = (j + 1) & mask;
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
    index_grow(t); /* load <= 3/4: 4-byte slots, hits probe ~2.5 */
  uint32_t i;
  if (t->free_head != CCP_NIL) {
    i = t->free_head;
    t->free_head = ccp_tickets_at(t, i)->lru_next;
    if (t->free_head != CCP_NIL) /* the next create's record, long cold */
      ccp_tickets_prefetch_at(t, t->free_head);
  } else {
    if (t->used == t->nchunks * CCP_TCHUNK) {
      if (t->nchunks == (CCP_NIL >> CCP_TCHUNK_BITS))
        ccp__fatal(__FILE__, __LINE__, "ticket table full");
      t->chunks = ccp_realloc(t->chunks, (t->nchunks + 1) * sizeof *t->chunks);
      t->chunks[t->nchunks++] = ccp_calloc(CCP_TCHUNK, sizeof(ccp_ticket_t));
    }
    i = t->used++;
  }
  ccp_ticket_t *r = ccp_tickets_at(t, i);
  uint16_t life = r->life;
  memset(r, 0, sizeof *r);
  r->life = (uint16_t)(life + 1); /* stale timers of the slot's old owner no longer match */
  r->key = key;
  r->open_ts = CCP_NO_TS;
  r->agent = CCP_NIL;
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
