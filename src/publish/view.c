/*
 * Partial aggregates, merged views and the snapshot document (KPIS.md §5,
 * docs/semantics.md §6-§11).
 *
 * ccp_engine_export() copies what the KPIs need out of one engine (window
 * totals, histograms, gauges, retention counts, diagnostics) into an
 * immutable partial; ccp_view_merge() adds partials together; the view then
 * computes KPIs and writes JSON. Replay's snapshot is the view of its single
 * engine, so one code path serves replay, the live publisher and tests.
 *
 * Threads: export runs on the engine's thread (it advances the engine); a
 * partial is read-only afterwards and may be handed to another thread; a
 * view belongs to one thread.
 *
 * Output is deterministic: scopes sorted (all first, then bytewise), KPIs in
 * the contract's order, numbers in their shortest round-trip form.
 */
#include "ccpulse/view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "counters/kpis.h"
#include "engine/engine_int.h"

/* ------------------------------------------------------------ structures */

/* A histogram in sparse form: the non-zero bins only. Partials carry these
 * (a window's values cluster in a few dozen bins, against 1024 dense), views
 * merge them into dense histograms. */
typedef struct shist {
  uint32_t n; /* non-zero bins */
  uint16_t *bin;
  uint32_t *count;
} shist_t;

typedef struct pwin {
  ccp_counters_t total;
  ccp_hist_t frt, res; /* dense (views); bins owned, NULL when empty */
  shist_t sfrt, sres;  /* sparse (partials) */
  double *kpis;        /* views: the computed KPIs (CCP_K__COUNT), NULL until read */
  char *json;          /* views: the window's KPI object, rendered once per merge */
  size_t json_len;
} pwin_t;

typedef struct pscope {
  char *name;
  size_t name_len;
  uint8_t kind;
  int64_t open, waiting, aged;
  int64_t oldest_open; /* INT64_MAX when none waits */
  pwin_t win[CCP_MAX_WINDOWS];
} pscope_t;

struct ccp_partial {
  int64_t now;
  int nwindows;
  int64_t cur_b[CCP_MAX_WINDOWS], start_b[CCP_MAX_WINDOWS];
  pscope_t *scopes;
  int nscopes;
  int64_t ret_prev, ret_both;
  ccp_diag_t diag;
  int64_t tickets;
};

struct ccp_view {
  const ccp_config_t *cfg;
  int has_cost;
  ccp_partial_t agg; /* merged values; scopes unsorted */
  int scopes_cap;
  ccp_u64map_t index; /* hash(name) -> scope index in agg */
  int *order;         /* sorted scope indices (those with data) */
  int norder;
  int sorted; /* order is up to date */
};

static void pscope_release(pscope_t *s, int nwindows) {
  for (int w = 0; w < nwindows; w++) {
    ccp_hist_release(&s->win[w].frt);
    ccp_hist_release(&s->win[w].res);
    ccp_free(s->win[w].kpis);
    ccp_free(s->win[w].json);
    ccp_free(s->win[w].sfrt.count); /* count and bin share one block */
    ccp_free(s->win[w].sres.count);
  }
  ccp_free(s->name);
}

static void shist_put(void *opaque, uint16_t bin, uint32_t count) {
  shist_t *d = opaque;
  d->bin[d->n] = bin;
  d->count[d->n++] = count;
}

static void shist_from(shist_t *dst, const ccp_hist_t *src) {
  memset(dst, 0, sizeof *dst);
  int n = ccp_hist_nonzero(src);
  if (!n)
    return;
  /* one block: n counts, then n bins */
  dst->count = ccp_malloc((size_t)n * (sizeof *dst->count + sizeof *dst->bin));
  dst->bin = (uint16_t *)(dst->count + n);
  ccp_hist_each(src, shist_put, dst);
}

static void shist_merge(ccp_hist_t *dst, const shist_t *src) {
  for (uint32_t i = 0; i < src->n; i++) {
    uint16_t b = src->bin[i];
    ccp_hist_add(dst, b, 0); /* allocates the bins on first use */
    dst->bins[b] += src->count[i];
    dst->n += src->count[i];
    dst->nz[b >> 6] |= 1ULL << (b & 63);
  }
}

/* --------------------------------------------------------------- export */

static int scope_has_data(const ccp_engine_t *e, const ccp_scope_t *s) {
  if (s->kind == CCP_SC_ALL)
    return 1;
  if (s->g_open || s->g_waiting || s->g_aged)
    return 1;
  for (int w = 0; w < e->cfg->nwindows; w++)
    if (!ccp_counters_zero(&s->win[w].total))
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
    pscope_t *d = &p->scopes[p->nscopes++];
    d->name = ccp_strndup(s->name, s->name_len);
    d->name_len = s->name_len;
    d->kind = s->kind;
    d->open = s->g_open;
    d->waiting = s->g_waiting;
    d->aged = s->g_aged;
    d->oldest_open = s->oldest_open;
    for (int w = 0; w < cfg->nwindows; w++) {
      d->win[w].total = s->win[w].total;
      shist_from(&d->win[w].sfrt, &s->win[w].frt);
      shist_from(&d->win[w].sres, &s->win[w].res);
    }
  }
  ccp__engine_retention(e, &p->ret_prev, &p->ret_both);
  p->diag = e->diag;
  p->tickets = (int64_t)e->tickets.count;
  return p;
}

void ccp_partial_free(ccp_partial_t *p) {
  if (!p)
    return;
  for (int i = 0; i < p->nscopes; i++)
    pscope_release(&p->scopes[i], p->nwindows);
  ccp_free(p->scopes);
  ccp_free(p);
}

int64_t ccp_partial_now(const ccp_partial_t *p) { return p->now; }

/* ----------------------------------------------------------------- merge */

ccp_view_t *ccp_view_new(const ccp_config_t *cfg) {
  ccp_view_t *v = ccp_calloc(1, sizeof *v);
  v->cfg = cfg;
  for (int c = 0; c < CCP_CH__COUNT; c++)
    if (!isnan(cfg->cost_per_hour[c]))
      v->has_cost = 1;
  ccp_u64map_init(&v->index);
  ccp_view_reset(v);
  return v;
}

void ccp_view_reset(ccp_view_t *v) {
  for (int i = 0; i < v->agg.nscopes; i++)
    pscope_release(&v->agg.scopes[i], v->cfg->nwindows);
  ccp_free(v->agg.scopes);
  ccp_free(v->order);
  ccp_u64map_release(&v->index);
  memset(&v->agg, 0, sizeof v->agg);
  v->agg.now = INT64_MIN;
  v->agg.nwindows = v->cfg->nwindows;
  v->agg.scopes = NULL;
  v->scopes_cap = 0;
  v->order = NULL;
  v->norder = 0;
  v->sorted = 0;
}

void ccp_view_free(ccp_view_t *v) {
  if (!v)
    return;
  ccp_view_reset(v);
  ccp_free(v);
}

static pscope_t *view_scope(ccp_view_t *v, const pscope_t *src) {
  for (uint64_t seed = 0x766965;; seed++) {
    uint64_t k = ccp_u64map_key(ccp_hash64(src->name, src->name_len, seed));
    int isnew;
    uint64_t *slot = ccp_u64map_put(&v->index, k, &isnew);
    if (!isnew) {
      pscope_t *s = &v->agg.scopes[*slot];
      if (s->name_len == src->name_len && memcmp(s->name, src->name, src->name_len) == 0)
        return s;
      continue; /* hash collision: probe with the next seed */
    }
    if (v->agg.nscopes == v->scopes_cap) {
      v->scopes_cap = v->scopes_cap ? v->scopes_cap * 2 : 32;
      v->agg.scopes = ccp_realloc(v->agg.scopes, (size_t)v->scopes_cap * sizeof *v->agg.scopes);
    }
    *slot = (uint64_t)v->agg.nscopes;
    pscope_t *s = &v->agg.scopes[v->agg.nscopes++];
    memset(s, 0, sizeof *s);
    s->name = ccp_strndup(src->name, src->name_len);
    s->name_len = src->name_len;
    s->kind = src->kind;
    s->oldest_open = INT64_MAX;
    return s;
  }
}

void ccp_view_merge(ccp_view_t *v, const ccp_partial_t *p) {
  ccp_partial_t *a = &v->agg;
  if (p->now != INT64_MIN && (a->now == INT64_MIN || p->now > a->now)) {
    a->now = p->now;
    memcpy(a->cur_b, p->cur_b, sizeof a->cur_b);
    memcpy(a->start_b, p->start_b, sizeof a->start_b);
  }
  for (int i = 0; i < p->nscopes; i++) {
    const pscope_t *src = &p->scopes[i];
    pscope_t *dst = view_scope(v, src);
    dst->open += src->open;
    dst->waiting += src->waiting;
    dst->aged += src->aged;
    if (src->oldest_open < dst->oldest_open)
      dst->oldest_open = src->oldest_open;
    for (int w = 0; w < p->nwindows; w++) {
      ccp_counters_add(&dst->win[w].total, &src->win[w].total);
      shist_merge(&dst->win[w].frt, &src->win[w].sfrt);
      shist_merge(&dst->win[w].res, &src->win[w].sres);
      ccp_free(dst->win[w].kpis); /* recomputed on the next read */
      dst->win[w].kpis = NULL;
      ccp_free(dst->win[w].json);
      dst->win[w].json = NULL;
    }
  }
  a->ret_prev += p->ret_prev;
  a->ret_both += p->ret_both;
  const int64_t *s = (const int64_t *)&p->diag;
  int64_t *d = (int64_t *)&a->diag;
  for (size_t k = 0; k < sizeof p->diag / sizeof(int64_t); k++)
    d[k] += s[k];
  a->tickets += p->tickets;
  v->sorted = 0;
}

/* ------------------------------------------------------------------ KPIs */

/* 1 for KPIs that are counts (written as integers, never null). */
static const unsigned char kpi_is_count[CCP_K__COUNT] = {
    [CCP_K_OPENED] = 1,    [CCP_K_RESOLVED] = 1,        [CCP_K_REOPENED] = 1,
    [CCP_K_ABANDONED] = 1, [CCP_K_ABANDONED_SHORT] = 1, [CCP_K_FRT_COUNT] = 1,
    [CCP_K_BREACHES] = 1,  [CCP_K_COMPLAINTS] = 1,      [CCP_K_HANDLED] = 1,
    [CCP_K_CUSTOMERS] = 1};

static double ratio(double num, int64_t den, double scale) {
  return den ? scale * num / (double)den : NAN;
}

/* Computes every windowed KPI of one scope window (NaN = null). */
static void compute(const ccp_view_t *v, const pwin_t *w, double *k) {
  const int64_t *c = w->total.v;
  k[CCP_K_OPENED] = (double)c[CCP_F_OPENED];
  k[CCP_K_RESOLVED] = (double)c[CCP_F_RESOLVED];
  k[CCP_K_REOPENED] = (double)c[CCP_F_REOPENED];
  k[CCP_K_ABANDONED] = (double)c[CCP_F_ABANDONED];
  k[CCP_K_ABANDONED_SHORT] = (double)c[CCP_F_AB_SHORT];
  k[CCP_K_ABANDON_PCT] = ratio((double)c[CCP_F_ABANDONED], c[CCP_F_OPENED], 100.0);
  k[CCP_K_FRT_COUNT] = (double)c[CCP_F_FRT_N];
  k[CCP_K_FRT_AVG] = ratio((double)c[CCP_F_FRT_SUM], c[CCP_F_FRT_N], 1.0);
  static const int frt_pct[3] = {50, 90, 99};
  ccp_hist_percentiles(&w->frt, frt_pct, 3, &k[CCP_K_FRT_P50]);
  k[CCP_K_SL_PCT] = ratio((double)c[CCP_F_FRT_WITHIN], c[CCP_F_FRT_N] + c[CCP_F_AB_LONG], 100.0);
  k[CCP_K_BREACHES] = (double)c[CCP_F_BREACHES];
  k[CCP_K_RES_AVG] = ratio((double)c[CCP_F_RES_SUM], c[CCP_F_RES_N], 1.0);
  static const int res_pct[1] = {90};
  ccp_hist_percentiles(&w->res, res_pct, 1, &k[CCP_K_RES_P90]);
  k[CCP_K_AHT_AVG] = ratio((double)c[CCP_F_AHT_SUM], c[CCP_F_HANDLED], 1.0);
  k[CCP_K_FCR_PCT] = ratio((double)c[CCP_F_FCR_OK], c[CCP_F_FCR_N], 100.0);
  k[CCP_K_CSAT_PCT] = ratio((double)c[CCP_F_CSAT_SAT], c[CCP_F_CSAT_N], 100.0);
  k[CCP_K_NPS] = ratio((double)(c[CCP_F_NPS_PRO] - c[CCP_F_NPS_DET]), c[CCP_F_NPS_N], 100.0);
  k[CCP_K_CES_AVG] = ratio((double)c[CCP_F_CES_SUM], c[CCP_F_CES_N], 1.0);
  k[CCP_K_COMPLAINTS] = (double)c[CCP_F_COMPLAINTS];
  k[CCP_K_QA_ERR_RATE] = ratio((double)c[CCP_F_QA_ERR], c[CCP_F_QA_N], 1.0);
  k[CCP_K_HANDLED] = (double)c[CCP_F_HANDLED];
  k[CCP_K_CUSTOMERS] = (double)c[CCP_F_CUST];
  k[CCP_K_COST] = NAN;
  if (v->has_cost && c[CCP_F_RESOLVED]) {
    double cost = 0;
    for (int ch = 0; ch < CCP_CH__COUNT; ch++)
      if (!isnan(v->cfg->cost_per_hour[ch]))
        cost += (double)c[CCP_F_HMS_PHONE + ch] * v->cfg->cost_per_hour[ch];
    k[CCP_K_COST] = cost / 3600000.0 / (double)c[CCP_F_RESOLVED];
  }
}

/* The KPIs of a view's scope window, computed once per merge (the snapshot,
 * the tiles and the rules all read them). */
static const double *kpis_of(const ccp_view_t *v, const pwin_t *cw) {
  pwin_t *w = (pwin_t *)cw; /* a cache: the view is logically const */
  if (!w->kpis) {
    w->kpis = ccp_malloc(CCP_K__COUNT * sizeof *w->kpis);
    compute(v, w, w->kpis);
  }
  return w->kpis;
}

/* Agent scorecard (semantics.md §8). */
static double score(const ccp_config_t *cfg, const double *k) {
  double num = 0, den = 0;
  for (int i = 0; i < cfg->nscore_terms; i++) {
    const ccp_score_term_t *t = &cfg->score_terms[i];
    int ki = ccp_kpi_index(t->kpi);
    if (ki < 0 || isnan(k[ki]))
      continue;
    double a;
    if (t->higher_is_better) {
      a = k[ki] / t->target;
      a = a < 0 ? 0 : (a > 1 ? 1 : a);
    } else {
      a = k[ki] <= t->target ? 1.0 : t->target / k[ki];
    }
    num += t->weight * a;
    den += t->weight;
  }
  return den > 0 ? 100.0 * num / den : NAN;
}

/* ---------------------------------------------------------------- order */

/* qsort_r comparator: the view comes as the context, so views in different
 * threads sort independently. */
static int cmp_scope(const void *a, const void *b, void *ctx) {
  const ccp_view_t *v = ctx;
  const pscope_t *x = &v->agg.scopes[*(const int *)a];
  const pscope_t *y = &v->agg.scopes[*(const int *)b];
  if (x->kind == CCP_SC_ALL)
    return -1;
  if (y->kind == CCP_SC_ALL)
    return 1;
  return strcmp(x->name, y->name);
}

/* Sorts the scopes once per merge; the view is logically const. */
static void ensure_sorted(const ccp_view_t *cv) {
  ccp_view_t *v = (ccp_view_t *)cv;
  if (v->sorted)
    return;
  ccp_free(v->order);
  v->order = ccp_malloc((size_t)(v->agg.nscopes ? v->agg.nscopes : 1) * sizeof *v->order);
  v->norder = 0;
  int has_all = 0;
  for (int i = 0; i < v->agg.nscopes; i++) {
    v->order[v->norder++] = i;
    if (v->agg.scopes[i].kind == CCP_SC_ALL)
      has_all = 1;
  }
  if (!has_all) { /* an empty view still shows `all` */
    pscope_t proto;
    memset(&proto, 0, sizeof proto);
    proto.name = (char *)"all";
    proto.name_len = 3;
    proto.kind = CCP_SC_ALL;
    view_scope(v, &proto);
    v->order = ccp_realloc(v->order, (size_t)v->agg.nscopes * sizeof *v->order);
    v->order[v->norder++] = v->agg.nscopes - 1;
  }
  qsort_r(v->order, (size_t)v->norder, sizeof *v->order, cmp_scope, v);
  v->sorted = 1;
}

/* ----------------------------------------------------------------- JSON */

static void put_num(ccp_buf_t *b, double x, int is_count) {
  if (is_count)
    ccp_buf_put_i64(b, (int64_t)x);
  else
    ccp_buf_put_double(b, x);
}

static const pscope_t *channel_scope(const ccp_view_t *v, int ch) {
  char name[32];
  snprintf(name, sizeof name, "channel:%s", ccp_channel_name(ch));
  int i = ccp_view_find_scope(v, name);
  return i < 0 ? NULL : &v->agg.scopes[v->order[i]];
}

static void window_kpis_render(const ccp_view_t *v, const pscope_t *s, int w, ccp_buf_t *out) {
  const double *k = kpis_of(v, &s->win[w]);
  ccp_buf_putc(out, '{');
  for (int i = 0; i < CCP_K__COUNT; i++) {
    if (i)
      ccp_buf_putc(out, ',');
    ccp_buf_putc(out, '"');
    ccp_buf_puts(out, ccp_kpi_names[i]);
    ccp_buf_puts(out, "\":");
    put_num(out, k[i], kpi_is_count[i]);
  }
  if (s->kind == CCP_SC_ALL) {
    ccp_buf_puts(out, ",\"channel_share_pct\":");
    int64_t opened = s->win[w].total.v[CCP_F_OPENED];
    if (!opened) {
      ccp_buf_puts(out, "null");
    } else {
      ccp_buf_putc(out, '{');
      int first = 1;
      for (int c = 0; c < CCP_CH__COUNT; c++) {
        const pscope_t *cs = channel_scope(v, c);
        int64_t oc = cs ? cs->win[w].total.v[CCP_F_OPENED] : 0;
        if (!oc)
          continue;
        if (!first)
          ccp_buf_putc(out, ',');
        first = 0;
        ccp_buf_printf(out, "\"%s\":", ccp_channel_name(c));
        ccp_buf_put_double(out, 100.0 * (double)oc / (double)opened);
      }
      ccp_buf_putc(out, '}');
    }
  }
  if (s->kind == CCP_SC_AGENT) {
    ccp_buf_puts(out, ",\"score\":");
    ccp_buf_put_double(out, score(v->cfg, k));
  }
  ccp_buf_putc(out, '}');
}

/* The snapshot, the tiles and the scope keys all write the same window
 * objects: render each once per merge (number formatting is the cost). */
static void window_kpis_json(const ccp_view_t *v, const pscope_t *s, int w, ccp_buf_t *out) {
  pwin_t *pw = (pwin_t *)&s->win[w]; /* a cache: the view is logically const */
  if (!pw->json) {
    ccp_buf_t b;
    ccp_buf_init(&b);
    window_kpis_render(v, s, w, &b);
    pw->json = b.data; /* ownership moves from the buffer */
    pw->json_len = b.len;
  }
  ccp_buf_append(out, pw->json, pw->json_len);
}

static void gauges_json(const ccp_view_t *v, const pscope_t *s, ccp_buf_t *out) {
  ccp_buf_puts(out, "{\"open\":");
  ccp_buf_put_i64(out, s->open);
  ccp_buf_puts(out, ",\"waiting\":");
  ccp_buf_put_i64(out, s->waiting);
  ccp_buf_puts(out, ",\"longest_wait_ms\":");
  if (s->oldest_open == INT64_MAX)
    ccp_buf_puts(out, "null");
  else
    ccp_buf_put_i64(out, v->agg.now - s->oldest_open);
  ccp_buf_puts(out, ",\"backlog_aged\":");
  ccp_buf_put_i64(out, s->aged);
  ccp_buf_putc(out, '}');
}

static void scope_json(const ccp_view_t *v, const pscope_t *s, ccp_buf_t *out) {
  const ccp_config_t *cfg = v->cfg;
  ccp_buf_puts(out, "{\"gauges\":");
  gauges_json(v, s, out);
  ccp_buf_puts(out, ",\"windows\":{");
  for (int w = 0; w < cfg->nwindows; w++) {
    if (w)
      ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, cfg->windows[w].name, strlen(cfg->windows[w].name));
    ccp_buf_putc(out, ':');
    window_kpis_json(v, s, w, out);
  }
  ccp_buf_putc(out, '}');
  if (s->kind == CCP_SC_ALL) {
    ccp_buf_puts(out, ",\"customers\":{\"period_ms\":");
    ccp_buf_put_i64(out, cfg->retention_period_ms);
    double ret = ratio((double)v->agg.ret_both, v->agg.ret_prev, 100.0);
    ccp_buf_puts(out, ",\"retention_pct\":");
    ccp_buf_put_double(out, ret);
    ccp_buf_puts(out, ",\"churn_pct\":");
    ccp_buf_put_double(out, isnan(ret) ? NAN : 100.0 - ret);
    ccp_buf_putc(out, '}');
  }
  ccp_buf_putc(out, '}');
}

static void window_header(const ccp_view_t *v, ccp_buf_t *out) {
  const ccp_config_t *cfg = v->cfg;
  const ccp_partial_t *a = &v->agg;
  ccp_buf_puts(out, "\"windows\":{");
  for (int w = 0; w < cfg->nwindows; w++) {
    const ccp_window_conf_t *wc = &cfg->windows[w];
    if (w)
      ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, wc->name, strlen(wc->name));
    ccp_buf_puts(out, ":{\"span_ms\":");
    if (a->now == INT64_MIN) {
      if (wc->is_today)
        ccp_buf_puts(out, "null");
      else
        ccp_buf_put_i64(out, wc->span_ms);
      ccp_buf_puts(out, ",\"granularity_ms\":");
      ccp_buf_put_i64(out, wc->granularity_ms);
      ccp_buf_puts(out, ",\"start_ms\":null}");
      continue;
    }
    ccp_buf_put_i64(out, (a->cur_b[w] - a->start_b[w] + 1) * wc->granularity_ms);
    ccp_buf_puts(out, ",\"granularity_ms\":");
    ccp_buf_put_i64(out, wc->granularity_ms);
    ccp_buf_puts(out, ",\"start_ms\":");
    ccp_buf_put_i64(out, a->start_b[w] * wc->granularity_ms);
    ccp_buf_putc(out, '}');
  }
  ccp_buf_putc(out, '}');
}

void ccp_view_snapshot_json(const ccp_view_t *v, ccp_buf_t *out) {
  ensure_sorted(v);
  const ccp_partial_t *a = &v->agg;
  ccp_buf_puts(out, "{\"schema\":\"ccpulse.snapshot.v1\",\"now_ms\":");
  if (a->now == INT64_MIN)
    ccp_buf_puts(out, "null");
  else
    ccp_buf_put_i64(out, a->now);
  ccp_buf_putc(out, ',');
  window_header(v, out);
  ccp_buf_puts(out, ",\"scopes\":{");
  for (int oi = 0; oi < v->norder; oi++) {
    const pscope_t *s = &a->scopes[v->order[oi]];
    if (oi)
      ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, s->name, s->name_len);
    ccp_buf_putc(out, ':');
    scope_json(v, s, out);
  }
  const ccp_diag_t *dg = &a->diag;
  ccp_buf_printf(
      out,
      "},\"diagnostics\":{\"events\":%lld,\"late_events\":%lld,\"duplicate_events\":%lld,"
      "\"invalid_events\":%lld,\"dead_letter\":%lld,\"expired_tickets\":%lld,"
      "\"evicted_tickets\":%lld,\"tickets\":%lld}}",
      (long long)dg->events, (long long)dg->late, (long long)dg->duplicate, (long long)dg->invalid,
      (long long)dg->dead_letter, (long long)dg->expired, (long long)dg->evicted,
      (long long)a->tickets);
}

void ccp_engine_snapshot_json(ccp_engine_t *e, ccp_buf_t *out) {
  ccp_partial_t *p = ccp_engine_export(e, e->now);
  ccp_view_t *v = ccp_view_new(e->cfg);
  ccp_view_merge(v, p);
  ccp_view_snapshot_json(v, out);
  ccp_view_free(v);
  ccp_partial_free(p);
}

/* ------------------------------------------------------------- accessors */

int ccp_view_nscopes(const ccp_view_t *v) {
  ensure_sorted(v);
  return v->norder;
}

const char *ccp_view_scope_name(const ccp_view_t *v, int i) {
  ensure_sorted(v);
  return i >= 0 && i < v->norder ? v->agg.scopes[v->order[i]].name : NULL;
}

void ccp_view_scope_json(const ccp_view_t *v, int i, ccp_buf_t *out) {
  ensure_sorted(v);
  if (i < 0 || i >= v->norder)
    return;
  scope_json(v, &v->agg.scopes[v->order[i]], out);
}

void ccp_view_window_json(const ccp_view_t *v, int i, int w, ccp_buf_t *out) {
  ensure_sorted(v);
  if (i < 0 || i >= v->norder || w < 0 || w >= v->cfg->nwindows)
    return;
  window_kpis_json(v, &v->agg.scopes[v->order[i]], w, out);
}

int ccp_view_find_scope(const ccp_view_t *v, const char *name) {
  ensure_sorted(v);
  size_t len = strlen(name);
  for (uint64_t seed = 0x766965;; seed++) {
    uint64_t k = ccp_u64map_key(ccp_hash64(name, len, seed));
    const uint64_t *slot = ccp_u64map_get(&v->index, k);
    if (!slot)
      return -1;
    const pscope_t *s = &v->agg.scopes[*slot];
    if (s->name_len == len && memcmp(s->name, name, len) == 0) {
      for (int i = 0; i < v->norder; i++)
        if (v->order[i] == (int)*slot)
          return i;
      return -1;
    }
  }
}

int ccp_view_value(const ccp_view_t *v, int i, int w, const char *id, double *out) {
  ensure_sorted(v);
  if (i < 0 || i >= v->norder)
    return -CCP_ENOTFOUND;
  const pscope_t *s = &v->agg.scopes[v->order[i]];
  if (strcmp(id, "open") == 0) {
    *out = (double)s->open;
    return 0;
  }
  if (strcmp(id, "waiting") == 0) {
    *out = (double)s->waiting;
    return 0;
  }
  if (strcmp(id, "backlog_aged") == 0) {
    *out = (double)s->aged;
    return 0;
  }
  if (strcmp(id, "longest_wait_ms") == 0) {
    *out = s->oldest_open == INT64_MAX ? NAN : (double)(v->agg.now - s->oldest_open);
    return 0;
  }
  if (w < 0 || w >= v->cfg->nwindows)
    return -CCP_ENOTFOUND;
  const double *k = kpis_of(v, &s->win[w]);
  if (strcmp(id, "score") == 0) {
    if (s->kind != CCP_SC_AGENT)
      return -CCP_ENOTFOUND;
    *out = score(v->cfg, k);
    return 0;
  }
  int ki = ccp_kpi_index(id);
  if (ki < 0)
    return -CCP_ENOTFOUND;
  *out = k[ki];
  return 0;
}

int64_t ccp_view_now(const ccp_view_t *v) { return v->agg.now; }
