/*
 * Deadline timers; see timers.h. Order: fire_at, then kind, then ticket
 * record number and life, so equal inputs give equal firing orders.
 *
 * Invariants:
 *   - every timer with fire_at < loaded is near: in the run (run_pos..run_n,
 *     sorted) or the near heap; the others are in the ring (loaded <=
 *     fire_at < loaded + the ring's span, below FAR_LIMIT) or in the far
 *     heap;
 *   - whenever any timer is pending the earliest near timer fires before
 *     loaded, or nothing else is pending (settle()): so it is the earliest
 *     timer of all;
 *   - loaded is a multiple of the bucket width, below FAR_LIMIT + width.
 * Heap entries are packed into two words (ccp_timer_key_t) so that the
 * order is one two-word unsigned comparison; the top is kept unpacked for
 * readers. A heap array is placed so that entry 1 starts a cache line: the
 * children of entry i (4i+1 .. 4i+4, 16 bytes each) fill exactly one line.
 * A bucket is loaded into the run only when the run is used up; its
 * entries keep their packing (offset in the bucket << 50 | kind << 48 |
 * ticket << 16 | life), in which one unsigned comparison orders by fire_at,
 * kind, ticket and life within a bucket, and are sorted once by an LSD
 * radix sort over the bytes that differ. A ring bucket's segments are freed
 * when the bucket is loaded, so memory follows the timers pending.
 */
#include "state/timers.h"

#include <stdlib.h>
#include <string.h>

#include "ccpulse/common.h"
#include "util/ser.h"
#include "util/sort.h"

#define W ((int64_t)1 << CCP_TM_BUCKET_BITS)
#define SPAN ((uint64_t)CCP_TM_RING << CCP_TM_BUCKET_BITS)
/* Timers this late (292 million years) skip the ring: loaded never
 * overflows. */
#define FAR_LIMIT (INT64_MAX - 4 * (int64_t)SPAN)
#define LO_BITS 50 /* kind << 48 | ticket << 16 | life */

_Static_assert(CCP_TM_BUCKET_BITS + LO_BITS <= 64, "ring entries must fit 8 bytes");
_Static_assert((CCP_TM_RING & (CCP_TM_RING - 1)) == 0, "ring size must be a power of two");

void ccp_timers_init(ccp_timers_t *t) {
  memset(t, 0, sizeof *t);
  t->loaded = INT64_MIN;
}

/* Appends entry x to bucket b (a new segment when the last is full). */
static inline void bucket_append(ccp_tm_bucket_t *b, uint64_t x) {
  uint32_t k = b->n % CCP_TM_SEG;
  if (k == 0) {
    ccp_tm_seg_t *sg = ccp_malloc(sizeof *sg);
    sg->next = NULL;
    if (b->tail)
      b->tail->next = sg;
    else
      b->head = sg;
    b->tail = sg;
  }
  b->tail->e[k] = x;
  b->n++;
}

/* Frees a bucket's segments and empties it. */
static void bucket_free(ccp_tm_bucket_t *b) {
  for (ccp_tm_seg_t *sg = b->head, *next; sg; sg = next) {
    next = sg->next;
    ccp_free(sg);
  }
  memset(b, 0, sizeof *b);
}

/* Segments of a bucket of n entries. */
static inline size_t bucket_segs(uint32_t n) { return (n + CCP_TM_SEG - 1) / CCP_TM_SEG; }

void ccp_timers_release(ccp_timers_t *t) {
  ccp_free(t->run);
  ccp_free(t->near.raw);
  ccp_free(t->far.raw);
  if (t->ring) {
    for (size_t j = 0; j < CCP_TM_RING; j++)
      bucket_free(&t->ring[j]);
    ccp_free(t->ring);
  }
  ccp_timers_init(t);
}

/* ------------------------------------------------------------ the heaps */

/* Moves a heap into a block of cap entries, aligned as the design block says. */
static void heap_resize(ccp_tm_heap_t *q, size_t cap) {
  char *raw = ccp_malloc(cap * sizeof *q->h + 64);
  uintptr_t a = ((uintptr_t)raw + 16 + 63) & ~(uintptr_t)63; /* &h[1] on a line */
  ccp_timer_key_t *h = (ccp_timer_key_t *)(a - 16);
  if (q->n)
    memcpy(h, q->h, q->n * sizeof *h);
  ccp_free(q->raw);
  q->raw = raw;
  q->h = h;
  q->cap = cap;
}

static inline int less(const ccp_timer_key_t *a, const ccp_timer_key_t *b) {
  return a->hi < b->hi || (a->hi == b->hi && a->lo < b->lo);
}

static inline uint64_t hi_of(int64_t fire_at) { return (uint64_t)fire_at ^ (1ULL << 63); }

static inline int64_t fire_of(const ccp_timer_key_t *k) { return (int64_t)(k->hi ^ (1ULL << 63)); }

static void heap_push(ccp_tm_heap_t *q, ccp_timer_key_t x) {
  if (q->n == q->cap)
    heap_resize(q, q->cap ? q->cap + q->cap / 2 : 1024); /* 1.5x: less slack */
  size_t i = q->n++;
  while (i > 0) {
    size_t p = (i - 1) / 4;
    if (!less(&x, &q->h[p]))
      break;
    q->h[i] = q->h[p];
    i = p;
  }
  q->h[i] = x;
}

/* Removes h[0] (the heap is not empty). */
static void heap_pop(ccp_tm_heap_t *q) {
  ccp_timer_key_t x = q->h[--q->n];
  size_t n = q->n, i = 0;
  if (n) {
    for (;;) {
      size_t c = 4 * i + 1;
      if (c >= n)
        break;
      size_t best = c;
      size_t end = c + 4 < n ? c + 4 : n;
      for (size_t k = c + 1; k < end; k++)
        if (less(&q->h[k], &q->h[best]))
          best = k;
      if (!less(&q->h[best], &x))
        break;
      q->h[i] = q->h[best];
      i = best;
    }
    q->h[i] = x;
  }
  /* shrink when mostly empty, so a burst does not pin memory forever */
  if (q->cap > 4096 && q->n < q->cap / 4)
    heap_resize(q, q->cap / 2);
}

/* ------------------------------------------------------------- the ring */

static inline size_t bucket_of(int64_t fire_at) {
  return (size_t)(((uint64_t)fire_at >> CCP_TM_BUCKET_BITS) & (CCP_TM_RING - 1));
}

static void ring_push(ccp_timers_t *t, int64_t fire_at, uint64_t lo) {
  bucket_append(&t->ring[bucket_of(fire_at)], (uint64_t)(fire_at & (W - 1)) << LO_BITS | lo);
  t->nring++;
}

/* Makes bucket b (starting at loaded, not empty) the run: its entries
 * copied out of the segments as they are, then sorted. The array shrinks
 * when a bucket fills under a quarter of it, so a burst does not pin memory. */
static void run_load(ccp_timers_t *t, const ccp_tm_bucket_t *b) {
  CCP_ASSERT(t->run_pos == t->run_n);
  if (b->n > t->run_cap || (t->run_cap > 4096 && b->n < t->run_cap / 4)) {
    ccp_free(t->run);
    t->run_cap = CCP_MAX((size_t)b->n, 1024);
    t->run = ccp_malloc(t->run_cap * sizeof *t->run);
  }
  uint32_t i = 0;
  for (const ccp_tm_seg_t *sg = b->head; sg; sg = sg->next) {
    uint32_t k = CCP_MIN(b->n - i, CCP_TM_SEG);
    memcpy(t->run + i, sg->e, k * sizeof *sg->e);
    i += k;
  }
  uint64_t *tmp = b->n >= 64 ? ccp_malloc(b->n * sizeof *tmp) : NULL;
  ccp_sort_u64(t->run, tmp, b->n, 0);
  ccp_free(tmp);
  t->run_pos = 0;
  t->run_n = b->n;
  t->run_base = t->loaded;
}

/* Moves the bucket starting at loaded into the run, and the far timers
 * before its end into the near heap; then loaded moves to the next bucket. */
static void load_next(ccp_timers_t *t) {
  if (!t->nring) { /* only far timers: jump to the first of them */
    int64_t f = fire_of(&t->far.h[0]);
    if (f >= FAR_LIMIT) { /* absurdly late: all of them into the near heap */
      while (t->far.n) {
        heap_push(&t->near, t->far.h[0]);
        heap_pop(&t->far);
      }
      return;
    }
    int64_t start = f & ~(W - 1);
    if (start > t->loaded)
      t->loaded = start;
  }
  ccp_tm_bucket_t *b = &t->ring[bucket_of(t->loaded)];
  if (b->n) /* settle() loads only when nothing near is left: the run is used up */
    run_load(t, b);
  t->nring -= b->n;
  bucket_free(b);
  t->loaded += W;
  while (t->far.n && fire_of(&t->far.h[0]) < t->loaded) {
    heap_push(&t->near, t->far.h[0]);
    heap_pop(&t->far);
  }
}

/* The run's entry i as a heap entry. */
static inline ccp_timer_key_t run_key(const ccp_timers_t *t, size_t i) {
  uint64_t e = t->run[i];
  ccp_timer_key_t k = {hi_of(t->run_base + (int64_t)(e >> LO_BITS)), e & ((1ULL << LO_BITS) - 1)};
  return k;
}

/* The run's front as a heap entry (the run is not used up). */
static inline ccp_timer_key_t run_front(const ccp_timers_t *t) { return run_key(t, t->run_pos); }

/* The earliest near timer into *k, and whether it is the run's front; 0 when
 * nothing is near. */
static inline int near_front(const ccp_timers_t *t, ccp_timer_key_t *k, int *from_run) {
  int has_run = t->run_pos < t->run_n;
  if (!has_run && !t->near.n)
    return 0;
  if (has_run) {
    *k = run_front(t);
    *from_run = !t->near.n || !less(&t->near.h[0], k);
    if (!*from_run)
      *k = t->near.h[0];
  } else {
    *k = t->near.h[0];
    *from_run = 0;
  }
  return 1;
}

/* Restores the second invariant and the unpacked top. */
static void settle(ccp_timers_t *t) {
  ccp_timer_key_t k;
  int from_run = 0, any;
  while (!(any = near_front(t, &k, &from_run)) || fire_of(&k) >= t->loaded) {
    if (!t->nring && !t->far.n)
      break;
    load_next(t);
  }
  if (any) {
    memset(&t->top, 0, sizeof t->top);
    t->top.fire_at = fire_of(&k);
    t->top.kind = (uint8_t)(k.lo >> 48);
    t->top.ticket = (uint32_t)(k.lo >> 16);
    t->top.life = (uint16_t)k.lo;
    t->top_run = from_run;
  }
}

void ccp_timers_push(ccp_timers_t *t, int64_t fire_at, uint8_t kind, uint32_t ticket,
                     uint16_t life) {
  uint64_t lo = (uint64_t)kind << 48 | (uint64_t)ticket << 16 | life;
  if (!t->ring && fire_at < FAR_LIMIT) {
    t->ring = ccp_calloc(CCP_TM_RING, sizeof *t->ring);
    if (!t->near.n && !t->far.n)
      t->loaded = fire_at & ~(W - 1);
  }
  if (fire_at < t->loaded) {
    ccp_timer_key_t k = {hi_of(fire_at), lo};
    heap_push(&t->near, k);
  } else if (fire_at >= FAR_LIMIT || !t->ring || (uint64_t)fire_at - (uint64_t)t->loaded >= SPAN) {
    ccp_timer_key_t k = {hi_of(fire_at), lo};
    heap_push(&t->far, k);
  } else {
    ring_push(t, fire_at, lo);
  }
  settle(t);
}

void ccp_timers_pop(ccp_timers_t *t, ccp_timer_t *out) {
  *out = t->top;
  if (t->top_run)
    t->run_pos++;
  else
    heap_pop(&t->near);
  settle(t);
}

size_t ccp_timers_bytes(const ccp_timers_t *t) {
  size_t b = (t->near.cap + t->far.cap) * sizeof(ccp_timer_key_t) + t->run_cap * sizeof *t->run;
  if (t->ring) {
    b += CCP_TM_RING * sizeof *t->ring;
    for (size_t j = 0; j < CCP_TM_RING; j++)
      b += bucket_segs(t->ring[j].n) * sizeof(ccp_tm_seg_t);
  }
  return b;
}

/* -------------------------------------------------------- checkpoints */

static void heap_save(const ccp_tm_heap_t *q, ccp_buf_t *out) {
  ccp_ser_put_u64(out, q->n);
  ccp_ser_put_u64(out, q->cap);
  ccp_ser_put(out, q->h, q->n * sizeof *q->h);
}

static int key_cmp(const void *pa, const void *pb) {
  const ccp_timer_key_t *a = pa, *b = pb;
  return less(a, b) ? -1 : less(b, a);
}

/* The near timers (the run's rest and the near heap) as one heap: sorted (a
 * sorted array is a heap), with a capacity that depends on their count only,
 * so a loaded queue saves the same bytes. */
static void near_save(const ccp_timers_t *t, ccp_buf_t *out) {
  size_t nr = t->run_n - t->run_pos, n = nr + t->near.n;
  ccp_timer_key_t *a = ccp_malloc((n ? n : 1) * sizeof *a);
  for (size_t i = 0; i < nr; i++)
    a[i] = run_key(t, t->run_pos + i);
  if (t->near.n)
    memcpy(a + nr, t->near.h, t->near.n * sizeof *a);
  qsort(a, n, sizeof *a, key_cmp);
  ccp_ser_put_u64(out, n);
  ccp_ser_put_u64(out, n ? CCP_MAX(n, 1024) : 0); /* a heap's first size, at least */
  ccp_ser_put(out, a, n * sizeof *a);
  ccp_free(a);
}

void ccp_timers_save(const ccp_timers_t *t, ccp_buf_t *out) {
  ccp_ser_put_i64(out, t->loaded);
  near_save(t, out);
  heap_save(&t->far, out);
  uint32_t nb = 0;
  if (t->ring)
    for (size_t j = 0; j < CCP_TM_RING; j++)
      nb += t->ring[j].n != 0;
  ccp_ser_put_u8(out, t->ring != NULL);
  ccp_ser_put_u32(out, nb);
  ccp_buf_reserve(out, nb * 12 + t->nring * sizeof(uint64_t));
  for (size_t j = 0; t->ring && j < CCP_TM_RING; j++) {
    const ccp_tm_bucket_t *b = &t->ring[j];
    if (!b->n)
      continue;
    ccp_ser_put_u32(out, (uint32_t)j);
    ccp_ser_put_u32(out, b->n);
    ccp_ser_put_u32(out, b->n); /* the capacity of the arrays of old: a segmented bucket has none */
    uint32_t left = b->n;
    for (const ccp_tm_seg_t *sg = b->head; sg; sg = sg->next) {
      uint32_t k = CCP_MIN(left, CCP_TM_SEG);
      ccp_ser_put(out, sg->e, k * sizeof *sg->e);
      left -= k;
    }
  }
}

/* A packed timer's kind and ticket are sane. */
static inline int lo_ok(uint64_t lo, uint32_t nrec) {
  return (lo >> 48 & 3) <= CCP_TM_AGED && (lo >> 50) == 0 && (uint32_t)(lo >> 16) < nrec;
}

static int heap_load(ccp_tm_heap_t *q, ccp_ser_rd_t *r, uint32_t nrec) {
  uint64_t n = ccp_ser_get_u64(r), cap = ccp_ser_get_u64(r);
  /* heap_pop() halves the array below a quarter full: a larger one is corrupt */
  if (!CCP_SER_CHECK(r, n <= cap && cap <= 8 * n + 8192, "timer heap of %llu in %llu",
                     (unsigned long long)n, (unsigned long long)cap))
    return -1;
  const unsigned char *h = ccp_ser_get_array(r, n, sizeof(ccp_timer_key_t));
  if (r->bad)
    return -1;
  if (cap) {
    heap_resize(q, (size_t)cap);
    memcpy(q->h, h, (size_t)n * sizeof *q->h);
  }
  q->n = (size_t)n;
  for (size_t i = 0; i < q->n; i++)
    if (!lo_ok(q->h[i].lo, nrec))
      return ccp_ser_fail(r, "timer of a ticket beyond %u records", nrec), -1;
  return 0;
}

int ccp_timers_load(ccp_timers_t *t, ccp_ser_rd_t *r, uint32_t nrec) {
  t->loaded = ccp_ser_get_i64(r);
  if (heap_load(&t->near, r, nrec) || heap_load(&t->far, r, nrec))
    return -1;
  int has_ring = ccp_ser_get_u8(r);
  uint32_t nb = ccp_ser_get_u32(r);
  if (!CCP_SER_CHECK(r, has_ring <= 1 && nb <= (has_ring ? CCP_TM_RING : 0), "bad timer ring"))
    return -1;
  if (has_ring)
    t->ring = ccp_calloc(CCP_TM_RING, sizeof *t->ring);
  for (uint32_t k = 0; k < nb; k++) {
    uint32_t j = ccp_ser_get_u32(r), n = ccp_ser_get_u32(r), cap = ccp_ser_get_u32(r);
    if (!CCP_SER_CHECK(
            r, j < CCP_TM_RING && !t->ring[j].n && n && n <= cap && cap <= 2 * (uint64_t)n + 16,
            "bad timer bucket %u", j))
      return -1;
    const unsigned char *e = ccp_ser_get_array(r, n, sizeof(uint64_t));
    if (r->bad)
      return -1;
    ccp_tm_bucket_t *b = &t->ring[j];
    for (uint32_t i = 0; i < n; i++) {
      uint64_t x;
      memcpy(&x, e + (size_t)i * sizeof x, sizeof x); /* the bytes need not be aligned */
      if (!lo_ok(x & ((1ULL << LO_BITS) - 1), nrec))
        return ccp_ser_fail(r, "timer of a ticket beyond %u records", nrec), -1;
      bucket_append(b, x);
    }
    t->nring += n;
  }
  if (!CCP_SER_CHECK(r, t->near.n || !(t->nring || t->far.n), "timers pending but none near"))
    return -1;
  if (t->near.n) { /* the unpacked top, as settle() leaves it */
    const ccp_timer_key_t *k = &t->near.h[0];
    t->top.fire_at = fire_of(k);
    t->top.kind = (uint8_t)(k->lo >> 48);
    t->top.ticket = (uint32_t)(k->lo >> 16);
    t->top.life = (uint16_t)k->lo;
  }
  return 0;
}
