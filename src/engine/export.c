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
 * Publishing follows change: an export records in the engine what its
 * contents depended on besides the time header (ccp__export_key_t: events
 * counted, the earliest pending timer or expiry, the buckets, the retention
 * slot). ccp_engine_export_unchanged() moves the view time and compares: no
 * event since, nothing due by the deadline time now (a timer or expiry that
 * a ccp_engine_advance() fired since), the same buckets and slot mean the
 * same scopes, windows, gauges, retention counts, diagnostics and tickets,
 * so the live worker hands the publisher its last partial again
 * with a fresh header (ccp_engine_export_header()) instead of exporting.
 * The check is conservative: any bucket edge counts as a change, whether or
 * not a bucket with data leaves a window.
 *
 * An export moves only the view time (windows slide, gauges are taken at
 * the export's `now`); deadlines and TTL follow the deadline time, which
 * only events and ccp_engine_advance() move (engine.c, docs/kpis.md §2).
 *
 * Threads: the engine's thread (export moves the view time). The partial is
 * immutable afterwards and belongs to the caller.
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

/* When ccp__engine_run_due() acts next: the earliest timer or expiry. */
static int64_t next_due(const ccp_engine_t *e) {
  const ccp_timer_t *top = ccp_timers_top(&e->timers);
  int64_t due = top ? top->fire_at : INT64_MAX;
  uint32_t head = e->tickets.lru_head;
  if (head != CCP_NIL) {
    int64_t touch = ccp_tickets_at(&e->tickets, head)->touch;
    if (touch <= INT64_MAX - e->cfg->ticket_ttl_ms - 1)
      due = CCP_MIN(due, touch + e->cfg->ticket_ttl_ms + 1);
  }
  return due;
}

static int64_t ret_slot(const ccp_engine_t *e) {
  return e->now == INT64_MIN ? INT64_MIN : ccp_floordiv(e->now, e->slot_ms);
}

/* Moves the view time as an export does (no deadline fires). */
static void export_advance(ccp_engine_t *e, int64_t now_ms) {
  if (now_ms != INT64_MIN || e->now != INT64_MIN)
    ccp__engine_view_to(e, CCP_MAX(now_ms, e->now));
}

int ccp_engine_export_unchanged(ccp_engine_t *e, int64_t now_ms) {
  const ccp__export_key_t *k = &e->last_export;
  if (!k->valid || e->diag.events != k->events)
    return 0; /* events since: the engine moved on its own */
  if (k->due <= e->due_now)
    return 0; /* a timer or expiry fired since: the deadline time passed it */
  export_advance(e, now_ms);
  int nw = e->cfg->nwindows;
  return e->geom.hi == k->hi && ret_slot(e) == k->slot &&
         memcmp(e->cur_b, k->cur_b, (size_t)nw * sizeof *k->cur_b) == 0 &&
         memcmp(e->start_b, k->start_b, (size_t)nw * sizeof *k->start_b) == 0;
}

ccp_partial_t *ccp_engine_export_header(const ccp_engine_t *e) {
  ccp_partial_t *p = ccp_calloc(1, sizeof *p);
  p->now = e->now;
  p->nwindows = e->cfg->nwindows;
  memcpy(p->cur_b, e->cur_b, sizeof p->cur_b);
  memcpy(p->start_b, e->start_b, sizeof p->start_b);
  return p;
}

ccp_partial_t *ccp_engine_export(ccp_engine_t *e, int64_t now_ms) {
  const ccp_config_t *cfg = e->cfg;
  export_advance(e, now_ms);
  ccp_partial_t *p = ccp_engine_export_header(e); /* then the scopes */
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
  ccp__export_key_t *k = &e->last_export;
  k->valid = 1;
  k->events = e->diag.events;
  k->due = next_due(e);
  k->hi = e->geom.hi;
  k->slot = ret_slot(e);
  memcpy(k->cur_b, e->cur_b, sizeof k->cur_b);
  memcpy(k->start_b, e->start_b, sizeof k->start_b);
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
