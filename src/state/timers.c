/*
 * 4-ary min-heap of timers; see timers.h. Order: fire_at, then kind, then
 * ticket record number and life, so equal inputs give equal firing orders.
 * Entries are packed into two words (ccp_timer_key_t) so that this order is
 * one two-word unsigned comparison; the top is kept unpacked for readers.
 */
#include "state/timers.h"

#include <string.h>

#include "ccpulse/common.h"

void ccp_timers_init(ccp_timers_t *t) { memset(t, 0, sizeof *t); }

void ccp_timers_release(ccp_timers_t *t) {
  ccp_free(t->h);
  memset(t, 0, sizeof *t);
}

static inline int less(const ccp_timer_key_t *a, const ccp_timer_key_t *b) {
  return a->hi < b->hi || (a->hi == b->hi && a->lo < b->lo);
}

static inline ccp_timer_key_t pack(int64_t fire_at, uint8_t kind, uint32_t ticket, uint16_t life) {
  ccp_timer_key_t k = {(uint64_t)fire_at ^ (1ULL << 63),
                       (uint64_t)kind << 48 | (uint64_t)ticket << 16 | life};
  return k;
}

static inline void unpack(const ccp_timer_key_t *k, ccp_timer_t *out) {
  memset(out, 0, sizeof *out);
  out->fire_at = (int64_t)(k->hi ^ (1ULL << 63));
  out->kind = (uint8_t)(k->lo >> 48);
  out->ticket = (uint32_t)(k->lo >> 16);
  out->life = (uint16_t)k->lo;
}

void ccp_timers_push(ccp_timers_t *t, int64_t fire_at, uint8_t kind, uint32_t ticket,
                     uint16_t life) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap + t->cap / 2 : 1024; /* 1.5x: less slack at a million timers */
    t->h = ccp_realloc(t->h, t->cap * sizeof *t->h);
  }
  ccp_timer_key_t x = pack(fire_at, kind, ticket, life);
  size_t i = t->n++;
  while (i > 0) {
    size_t p = (i - 1) / 4;
    if (!less(&x, &t->h[p]))
      break;
    t->h[i] = t->h[p];
    i = p;
  }
  t->h[i] = x;
  if (i == 0)
    unpack(&x, &t->top);
}

void ccp_timers_pop(ccp_timers_t *t, ccp_timer_t *out) {
  *out = t->top;
  ccp_timer_key_t x = t->h[--t->n];
  size_t n = t->n, i = 0;
  if (!n)
    return;
  for (;;) {
    size_t c = 4 * i + 1;
    if (c >= n)
      break;
    size_t best = c;
    size_t end = c + 4 < n ? c + 4 : n;
    for (size_t k = c + 1; k < end; k++)
      if (less(&t->h[k], &t->h[best]))
        best = k;
    if (!less(&t->h[best], &x))
      break;
    t->h[i] = t->h[best];
    i = best;
  }
  t->h[i] = x;
  unpack(&t->h[0], &t->top);
  /* shrink when mostly empty, so a burst does not pin memory forever */
  if (t->cap > 4096 && t->n < t->cap / 4) {
    t->cap /= 2;
    t->h = ccp_realloc(t->h, t->cap * sizeof *t->h);
  }
}
