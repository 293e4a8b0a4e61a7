/*
 * 4-ary min-heap of timers; see timers.h. Order: fire_at, then kind, then
 * ticket record number and life, so equal inputs give equal firing orders.
 */
#include "state/timers.h"

#include <string.h>

#include "ccpulse/common.h"

void ccp_timers_init(ccp_timers_t *t) { memset(t, 0, sizeof *t); }

void ccp_timers_release(ccp_timers_t *t) {
  ccp_free(t->h);
  memset(t, 0, sizeof *t);
}

static inline int less(const ccp_timer_t *a, const ccp_timer_t *b) {
  if (a->fire_at != b->fire_at)
    return a->fire_at < b->fire_at;
  if (a->kind != b->kind)
    return a->kind < b->kind;
  if (a->ticket != b->ticket)
    return a->ticket < b->ticket;
  return a->life < b->life;
}

void ccp_timers_push(ccp_timers_t *t, int64_t fire_at, uint8_t kind, uint32_t ticket,
                     uint16_t life) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap + t->cap / 2 : 1024; /* 1.5x: less slack at a million timers */
    t->h = ccp_realloc(t->h, t->cap * sizeof *t->h);
  }
  ccp_timer_t x = {.fire_at = fire_at, .ticket = ticket, .life = life, .kind = kind};
  size_t i = t->n++;
  while (i > 0) {
    size_t p = (i - 1) / 4;
    if (!less(&x, &t->h[p]))
      break;
    t->h[i] = t->h[p];
    i = p;
  }
  t->h[i] = x;
}

void ccp_timers_pop(ccp_timers_t *t, ccp_timer_t *out) {
  *out = t->h[0];
  ccp_timer_t x = t->h[--t->n];
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
  /* shrink when mostly empty, so a burst does not pin memory forever */
  if (t->cap > 4096 && t->n < t->cap / 4) {
    t->cap /= 2;
    t->h = ccp_realloc(t->h, t->cap * sizeof *t->h);
  }
}
