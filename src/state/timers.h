/*
 * Deadline timers: a 4-ary min-heap of (fire_at, kind, ticket, life) with
 * lazy cancellation — an entry whose ticket has moved on (another life, or
 * the condition no longer holds) is simply ignored when it pops. Deadlines
 * are pushed in nearly increasing order (open time + a per-channel
 * threshold), so a push rarely sifts.
 *
 * A timer fires when stream time reaches fire_at (now >= fire_at); "strictly
 * after the deadline" timers are pushed with fire_at = deadline + 1.
 *
 * Single-threaded: the heap belongs to one engine.
 */
#ifndef CCP_TIMERS_H
#define CCP_TIMERS_H

#include <stddef.h>
#include <stdint.h>

/** Timer kinds, in their tie-break order. */
enum { CCP_TM_AT_RISK = 0, CCP_TM_BREACH = 1, CCP_TM_AGED = 2 };

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

typedef struct ccp_timers {
  ccp_timer_key_t *h;
  size_t n, cap;
  ccp_timer_t top; /**< h[0] unpacked (valid while n > 0) */
} ccp_timers_t;

/** Initialises an empty heap. */
void ccp_timers_init(ccp_timers_t *t);
/** Frees the heap. */
void ccp_timers_release(ccp_timers_t *t);
/** Adds a timer. */
void ccp_timers_push(ccp_timers_t *t, int64_t fire_at, uint8_t kind, uint32_t ticket,
                     uint16_t life);
/** The earliest timer, or NULL. */
static inline const ccp_timer_t *ccp_timers_top(const ccp_timers_t *t) {
  return t->n ? &t->top : NULL;
}
/** Removes the earliest timer into *out. */
void ccp_timers_pop(ccp_timers_t *t, ccp_timer_t *out);

#endif
