/*
 * Deadline timers: a priority queue of (fire_at, kind, ticket, life) with
 * lazy cancellation — an entry whose ticket has moved on (another life, or
 * the condition no longer holds) is simply ignored when it pops. Deadlines
 * are pushed in nearly increasing order (open time + a per-channel
 * threshold, up to a day or more ahead).
 *
 * Two tiers (a calendar queue in front of a heap): timers due within the
 * current bucket of CCP_TM_BUCKET_MS (or earlier) are near: the bucket's
 * timers sorted once into an array read from its front (the run), and the
 * timers pushed after it was loaded with a time before its end in a small
 * 4-ary min-heap of 16-byte entries; the earlier of the two fronts pops.
 * Later ones wait unsorted in 8-byte entries, one chain of fixed-size
 * segments per bucket of a ring that covers CCP_TM_RING buckets (~37 h);
 * the rare ones beyond the ring sit in a second heap. A bucket is loaded
 * when nothing near is left before its start, so pops work on a few
 * cache-hot lines instead of sifting through a million-entry heap (and a
 * pop from the run costs no sifting at all), and the ring takes half the
 * bytes. The order of pops is exactly that of one heap.
 *
 * A timer fires when stream time reaches fire_at (now >= fire_at); "strictly
 * after the deadline" timers are pushed with fire_at = deadline + 1.
 *
 * Single-threaded: the queue belongs to one engine.
 */
#ifndef CCP_TIMERS_H
#define CCP_TIMERS_H

#include <stddef.h>
#include <stdint.h>

/** Timer kinds, in their tie-break order. */
enum { CCP_TM_AT_RISK = 0, CCP_TM_BREACH = 1, CCP_TM_AGED = 2 };

/** log2 of the width of a ring bucket in ms (16.4 s). */
#define CCP_TM_BUCKET_BITS 14
/** Buckets in the ring (a power of two): 8192 x 16.4 s = 37 h ahead. */
#define CCP_TM_RING 8192

typedef struct ccp_timer {
  int64_t fire_at; /**< first stream time at which it fires */
  uint32_t ticket; /**< record number */
  uint16_t life;   /**< ticket life it belongs to */
  uint8_t kind;    /**< CCP_TM_* */
  uint8_t pad_;
} ccp_timer_t;

/** A heap entry: the timer packed so that one unsigned comparison of
 * (hi, lo) orders by fire_at, kind, ticket, life. */
typedef struct ccp_timer_key {
  uint64_t hi; /**< fire_at with the sign bit flipped */
  uint64_t lo; /**< kind << 48 | ticket << 16 | life */
} ccp_timer_key_t;

/** Entries of a ring bucket's segment: with its link, a segment takes 504
 * bytes (a 512-byte block of the allocator). */
#define CCP_TM_SEG 62

/** A fixed-size piece of a ring bucket. Buckets are chains of equal
 * segments instead of arrays grown by realloc, so the blocks a drained
 * bucket frees fit the next bucket's segments exactly and leave no holes of
 * odd sizes in the heap. */
typedef struct ccp_tm_seg {
  struct ccp_tm_seg *next;
  uint64_t e[CCP_TM_SEG];
} ccp_tm_seg_t;

/** A ring bucket: timers of one bucket, unsorted, in push order, each packed
 * in 8 bytes (offset in the bucket << 50 | kind << 48 | ticket << 16 |
 * life), in a chain of segments (the last one partly filled). */
typedef struct ccp_tm_bucket {
  ccp_tm_seg_t *head, *tail; /**< NULL while empty */
  uint32_t n;                /**< entries */
} ccp_tm_bucket_t;

/** A 4-ary min-heap of packed timers. */
typedef struct ccp_tm_heap {
  ccp_timer_key_t *h; /**< cap entries; &h[1] is 64-byte aligned, so the four
                           children of an entry share one cache line */
  void *raw;          /**< the allocation h lies in */
  size_t n, cap;
} ccp_tm_heap_t;

typedef struct ccp_timers {
  ccp_tm_heap_t near;    /**< the timers with fire_at < loaded not in the run */
  uint64_t *run;         /**< the last loaded bucket's timers, packed as in a bucket and
                              sorted (so in pop order), popped from run_pos */
  size_t run_pos, run_n; /**< next to pop; entries */
  size_t run_cap;        /**< allocated */
  int64_t run_base;      /**< start of that bucket (the entries' offsets are from it) */
  int top_run;           /**< the top comes from the run (else the near heap) */
  ccp_tm_heap_t far;     /**< timers at or beyond loaded + the ring's span */
  ccp_tm_bucket_t *ring; /**< CCP_TM_RING buckets (NULL until the first push);
                              bucket b holds [b * width, (b + 1) * width) */
  size_t nring;          /**< timers in the ring */
  int64_t loaded;        /**< start of the first bucket not in the near heap */
  ccp_timer_t top;       /**< the earliest timer, unpacked (valid while any) */
} ccp_timers_t;

/** Initialises an empty queue. */
void ccp_timers_init(ccp_timers_t *t);
/** Frees the queue. */
void ccp_timers_release(ccp_timers_t *t);
/** Adds a timer. */
void ccp_timers_push(ccp_timers_t *t, int64_t fire_at, uint8_t kind, uint32_t ticket,
                     uint16_t life);
/** Timers pending. */
static inline size_t ccp_timers_count(const ccp_timers_t *t) {
  return t->near.n + (t->run_n - t->run_pos) + t->nring + t->far.n;
}
/** The earliest timer, or NULL. */
static inline const ccp_timer_t *ccp_timers_top(const ccp_timers_t *t) {
  return t->near.n || t->run_pos < t->run_n ? &t->top : NULL;
}
/** Ticket record number of a timer that pops soon after the top (the k-th
 * of the run after its front, k >= 1), or UINT32_MAX: for prefetching only
 * (timers pushed meanwhile may pop before it). */
static inline uint32_t ccp_timers_ahead(const ccp_timers_t *t, size_t k) {
  return t->run_pos + k < t->run_n ? (uint32_t)(t->run[t->run_pos + k] >> 16) : UINT32_MAX;
}
/** Removes the earliest timer (there must be one) into *out. */
void ccp_timers_pop(ccp_timers_t *t, ccp_timer_t *out);
struct ccp_ser_rd;
struct ccp_buf;
/** Appends the queue to out: the near timers (the run's and the near heap's)
 * as one heap array, sorted, then the far heap in array order and the
 * ring's non-empty buckets with their capacities. */
void ccp_timers_save(const ccp_timers_t *t, struct ccp_buf *out);
/**
 * Reads a queue of ccp_timers_save() into t (initialised, empty), checking
 * kinds, bucket places and that every timer's ticket is below nrec; marks r
 * bad and returns -1 otherwise (release t then).
 */
int ccp_timers_load(ccp_timers_t *t, struct ccp_ser_rd *r, uint32_t nrec);
/** Bytes held. */
size_t ccp_timers_bytes(const ccp_timers_t *t);

#endif
