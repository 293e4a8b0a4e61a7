/*
 * Reading an engine out: the partial aggregate of one engine (its scopes'
 * gauges, window counters and histograms, retention counts, diagnostics) and
 * the snapshot document of one engine.
 *
 * The only code besides engine.c that reads engine internals (engine_int.h);
 * what it produces is the value type of src/counters/partial.h, which the
 * view merges without knowing the engine. The snapshot of one engine is that
 * partial merged into a view of its own (include/ccpulse/view.h), so replay,
 * the live publisher and the tests write the document by one code path.
 *
 * Threads: the engine's thread (export advances the engine: due deadlines
 * fire, windows slide). The partial is immutable afterwards and belongs to
 * the caller.
 */
#include <string.h>

#include "ccpulse/view.h"
#include "engine/engine_int.h"

/* `all` always; another scope when it holds a gauge or a counter. */
static int scope_has_data(const ccp_engine_t *e, const ccp_scope_t *s) {
  if (s->kind == CCP_SC_ALL)
    return 1;
  if (s->g_open || s->g_waiting || s->g_aged)
    return 1;
  if (!s->ws.nc) /* no field ever occurred: nothing to look at */
    return 0;
  for (int w = 0; w < e->cfg->nwindows; w++)
    if (!ccp_wset_zero(&s->ws, w))
      return 1;
  return 0;
}

ccp_partial_t *ccp_engine_export(ccp_engine_t *e, int64_t now_ms) {
  const ccp_config_t *cfg = e->cfg;
  if (now_ms != INT64_MIN || e->now != INT64_MIN)
    ccp_engine_advance(e, CCP_MAX(now_ms, e->now));
  ccp_partial_t *p = ccp_calloc(1, sizeof *p);
  p->now = e->now;
  p->nwindows = cfg->nwindows;
  memcpy(p->cur_b, e->cur_b, sizeof p->cur_b);
  memcpy(p->start_b, e->start_b, sizeof p->start_b);
  if (e->now != INT64_MIN)
    for (uint32_t i = 0; i < e->nscopes; i++)
      ccp__scope_advance(e, e->scopes[i]);
  ccp__engine_flush(e);
  ccp__engine_oldest_waiting(e);
  int n = 0;
  for (uint32_t i = 0; i < e->nscopes; i++)
    if (scope_has_data(e, e->scopes[i]))
      n++;
  p->scopes = ccp_calloc((size_t)(n ? n : 1), sizeof *p->scopes);
  for (uint32_t i = 0; i < e->nscopes; i++) {
    const ccp_scope_t *s = e->scopes[i];
    if (!scope_has_data(e, s))
      continue;
    ccp_partial_scope_t *d = &p->scopes[p->nscopes++];
    d->name = ccp_strndup(s->name, s->name_len);
    d->name_len = s->name_len;
    d->kind = s->kind;
    d->open = s->g_open;
    d->waiting = s->g_waiting;
    d->aged = s->g_aged;
    d->oldest_open = s->oldest_open;
    /* one block: the windows, then their non-zero values, then the bins'
     * counts and the bins of their histograms */
    size_t nw = (size_t)cfg->nwindows, nbins = 0;
    for (int k = 0; k < cfg->nwindows * CCP_H__COUNT; k++) {
      const ccp_hist_t *src = ccp_wset_hist(&s->ws, k / CCP_H__COUNT, k % CCP_H__COUNT);
      nbins += src ? (size_t)ccp_hist_nonzero(src) : 0;
    }
    d->win = ccp_calloc(1, nw * sizeof *d->win + nw * s->ws.nc * sizeof(int64_t) +
                               nbins * (sizeof(uint32_t) + sizeof(uint16_t)));
    int64_t *v = (int64_t *)(d->win + nw);
    uint32_t *count = (uint32_t *)(v + nw * s->ws.nc);
    uint16_t *bin = (uint16_t *)(count + nbins);
    for (int w = 0; w < cfg->nwindows; w++) {
      d->win[w].val = v; /* the non-zero totals, in field order */
      for (uint32_t m = s->ws.cols; m; m &= m - 1) {
        int f = __builtin_ctz(m);
        int64_t x = ccp_wset_get(&s->ws, w, f);
        if (x) {
          d->win[w].fields |= 1u << f;
          *v++ = x;
        }
      }
      for (int h = 0; h < CCP_H__COUNT; h++) {
        const ccp_hist_t *src = ccp_wset_hist(&s->ws, w, h);
        if (!src)
          continue;
        uint32_t nb = ccp_shist_fill(&d->win[w].hist[h], src, count, bin);
        count += nb;
        bin += nb;
      }
    }
  }
  ccp__engine_retention(e, &p->ret_prev, &p->ret_both);
  p->diag = e->diag;
  p->tickets = (int64_t)e->tickets.count;
  return p;
}

void ccp_engine_snapshot_json(ccp_engine_t *e, ccp_buf_t *out) {
  ccp_partial_t *p = ccp_engine_export(e, e->now);
  ccp_view_t *v = ccp_view_new(e->cfg);
  ccp_view_merge(v, p);
  ccp_partial_free(p); /* before the document is written: not both at their peak */
  ccp_view_snapshot_json(v, out);
  ccp_view_free(v);
}
