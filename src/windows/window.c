/*
 * Sliding and calendar windows; see window.h for the invariants:
 *   total == sum of slot counters with idx in [start, cur]
 *   frt/res histograms == the bins listed in those slots
 * Slots outside [start, cur] are empty (idx INT64_MIN, counters zero).
 */
#include "windows/window.h"

#include <string.h>

#include "ccpulse/common.h"

void ccp_win_init(ccp_win_t *w, const ccp_window_conf_t *conf) {
  memset(w, 0, sizeof *w);
  w->g = conf->granularity_ms;
  w->nb = conf->is_today ? 0 : conf->span_ms / conf->granularity_ms;
  w->cur = INT64_MIN;
  w->start = INT64_MIN;
  if (w->nb) {
    w->slots = ccp_calloc((size_t)w->nb, sizeof *w->slots);
    for (int64_t i = 0; i < w->nb; i++)
      w->slots[i].idx = INT64_MIN;
  }
}

void ccp_win_release(ccp_win_t *w) {
  for (int64_t i = 0; i < w->nb; i++) {
    ccp_free(w->slots[i].frt);
    ccp_free(w->slots[i].res);
  }
  ccp_free(w->slots);
  ccp_hist_release(&w->frt);
  ccp_hist_release(&w->res);
  memset(w, 0, sizeof *w);
}

/* Removes a slot's contents from the running total and empties it. */
static void expire_slot(ccp_win_t *w, ccp_slot_t *s) {
  if (s->idx == INT64_MIN)
    return;
  ccp_counters_move_out(&w->total, &s->c, s->mask); /* leaves s->c zero */
  for (uint32_t i = 0; i < s->nfrt; i++)
    ccp_hist_add(&w->frt, s->frt[i], -1);
  for (uint32_t i = 0; i < s->nres; i++)
    ccp_hist_add(&w->res, s->res[i], -1);
  s->mask = 0;
  s->nfrt = s->nres = 0;
  s->idx = INT64_MIN;
}

void ccp_win__advance(ccp_win_t *w, int64_t cur, int64_t start) {
  if (!w->nb) { /* today */
    if (start != w->start) {
      memset(&w->total, 0, sizeof w->total);
      ccp_hist_clear(&w->frt);
      ccp_hist_clear(&w->res);
      w->start = start;
    }
    w->cur = cur;
    return;
  }
  if (w->cur == INT64_MIN) {
    w->cur = cur;
    w->start = start;
    w->cur_slot = 0;
    return;
  }
  if (cur <= w->cur)
    return;
  int64_t shift = cur - w->cur;
  if (shift >= w->nb) {
    for (int64_t i = 0; i < w->nb; i++)
      expire_slot(w, &w->slots[i]);
  } else {
    /* the buckets entering the window reuse the slots of those leaving */
    for (int64_t k = 1; k <= shift; k++) {
      int64_t i = w->cur_slot + k;
      if (i >= w->nb)
        i -= w->nb;
      expire_slot(w, &w->slots[i]);
    }
  }
  w->cur_slot = (w->cur_slot + shift) % w->nb;
  w->cur = cur;
  w->start = start;
}

static void push_bin(uint16_t **arr, uint32_t *n, uint32_t *cap, uint16_t b) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 8;
    *arr = ccp_realloc(*arr, *cap * sizeof **arr);
  }
  (*arr)[(*n)++] = b;
}

void ccp_win_add(ccp_win_t *w, int64_t b, int f, int64_t amt) {
  if (b < w->start || b > w->cur)
    return;
  w->total.v[f] += amt;
  if (!w->nb)
    return;
  ccp_slot_t *s = ccp_win_slot(w, b);
  s->idx = b;
  s->c.v[f] += amt;
  s->mask |= 1u << f;
}

void ccp_win_add_bin(ccp_win_t *w, int64_t b, int which, uint16_t bin) {
  if (b < w->start || b > w->cur)
    return;
  ccp_hist_add(which ? &w->res : &w->frt, bin, 1);
  if (!w->nb)
    return;
  ccp_slot_t *s = ccp_win_slot(w, b);
  s->idx = b;
  if (which)
    push_bin(&s->res, &s->nres, &s->cres, bin);
  else
    push_bin(&s->frt, &s->nfrt, &s->cfrt, bin);
}

size_t ccp_win_bytes(const ccp_win_t *w) {
  size_t n = sizeof *w + (size_t)w->nb * sizeof(ccp_slot_t);
  for (int64_t i = 0; i < w->nb; i++)
    n += (w->slots[i].cfrt + w->slots[i].cres) * sizeof(uint16_t);
  if (w->frt.bins)
    n += CCP_SKETCH_BINS * sizeof(uint32_t);
  if (w->res.bins)
    n += CCP_SKETCH_BINS * sizeof(uint32_t);
  return n;
}
