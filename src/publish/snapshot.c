/*
 * The snapshot document (KPIS.md §5, docs/semantics.md §6-§10): reads an
 * engine's scopes, windows and gauges at its stream time and writes one JSON
 * line. Advances every scope's windows to now first (that is a state change,
 * so this runs on the engine's thread like everything else).
 *
 * Output is deterministic: scopes sorted (all first, then bytewise), KPIs
 * in the contract's order, numbers in their shortest round-trip form.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/engine.h"
#include "engine/engine_int.h"

/** Windowed KPI ids, in output order. */
enum {
  K_OPENED, K_RESOLVED, K_REOPENED, K_ABANDONED, K_ABANDONED_SHORT, K_ABANDON_PCT,
  K_FRT_COUNT, K_FRT_AVG, K_FRT_P50, K_FRT_P90, K_FRT_P99, K_SL_PCT, K_BREACHES,
  K_RES_AVG, K_RES_P90, K_AHT_AVG, K_FCR_PCT, K_CSAT_PCT, K_NPS, K_CES_AVG,
  K_COMPLAINTS, K_QA_ERR_RATE, K_HANDLED, K_CUSTOMERS, K_COST, K__COUNT
};

static const char *const kpi_names[K__COUNT] = {
    "opened", "resolved", "reopened", "abandoned", "abandoned_short", "abandon_pct",
    "frt_count", "frt_avg_ms", "frt_p50_ms", "frt_p90_ms", "frt_p99_ms", "service_level_pct",
    "sla_breaches", "resolution_avg_ms", "resolution_p90_ms", "aht_avg_ms", "fcr_pct",
    "csat_pct", "nps", "ces_avg", "complaints", "qa_error_rate", "handled",
    "customers_handled", "cost_per_resolution"};

/* 1 for KPIs that are counts (written as integers, never null). */
static const unsigned char kpi_is_count[K__COUNT] = {
    [K_OPENED] = 1, [K_RESOLVED] = 1, [K_REOPENED] = 1, [K_ABANDONED] = 1,
    [K_ABANDONED_SHORT] = 1, [K_FRT_COUNT] = 1, [K_BREACHES] = 1, [K_COMPLAINTS] = 1,
    [K_HANDLED] = 1, [K_CUSTOMERS] = 1};

static double ratio(double num, int64_t den, double scale) {
  return den ? scale * num / (double)den : NAN;
}

/* Computes every windowed KPI of one scope window (NaN = null). */
static void compute(const ccp_engine_t *e, const ccp_win_t *w, double *k) {
  const int64_t *v = w->total.v;
  k[K_OPENED] = (double)v[CCP_F_OPENED];
  k[K_RESOLVED] = (double)v[CCP_F_RESOLVED];
  k[K_REOPENED] = (double)v[CCP_F_REOPENED];
  k[K_ABANDONED] = (double)v[CCP_F_ABANDONED];
  k[K_ABANDONED_SHORT] = (double)v[CCP_F_AB_SHORT];
  k[K_ABANDON_PCT] = ratio((double)v[CCP_F_ABANDONED], v[CCP_F_OPENED], 100.0);
  k[K_FRT_COUNT] = (double)v[CCP_F_FRT_N];
  k[K_FRT_AVG] = ratio((double)v[CCP_F_FRT_SUM], v[CCP_F_FRT_N], 1.0);
  static const int frt_pct[3] = {50, 90, 99};
  ccp_hist_percentiles(&w->frt, frt_pct, 3, &k[K_FRT_P50]);
  k[K_SL_PCT] = ratio((double)v[CCP_F_FRT_WITHIN], v[CCP_F_FRT_N] + v[CCP_F_AB_LONG], 100.0);
  k[K_BREACHES] = (double)v[CCP_F_BREACHES];
  k[K_RES_AVG] = ratio((double)v[CCP_F_RES_SUM], v[CCP_F_RES_N], 1.0);
  static const int res_pct[1] = {90};
  ccp_hist_percentiles(&w->res, res_pct, 1, &k[K_RES_P90]);
  k[K_AHT_AVG] = ratio((double)v[CCP_F_AHT_SUM], v[CCP_F_HANDLED], 1.0);
  k[K_FCR_PCT] = ratio((double)v[CCP_F_FCR_OK], v[CCP_F_FCR_N], 100.0);
  k[K_CSAT_PCT] = ratio((double)v[CCP_F_CSAT_SAT], v[CCP_F_CSAT_N], 100.0);
  k[K_NPS] = ratio((double)(v[CCP_F_NPS_PRO] - v[CCP_F_NPS_DET]), v[CCP_F_NPS_N], 100.0);
  k[K_CES_AVG] = ratio((double)v[CCP_F_CES_SUM], v[CCP_F_CES_N], 1.0);
  k[K_COMPLAINTS] = (double)v[CCP_F_COMPLAINTS];
  k[K_QA_ERR_RATE] = ratio((double)v[CCP_F_QA_ERR], v[CCP_F_QA_N], 1.0);
  k[K_HANDLED] = (double)v[CCP_F_HANDLED];
  k[K_CUSTOMERS] = (double)v[CCP_F_CUST];
  k[K_COST] = NAN;
  if (e->has_cost && v[CCP_F_RESOLVED]) {
    double cost = 0;
    for (int c = 0; c < CCP_CH__COUNT; c++)
      if (!isnan(e->cfg->cost_per_hour[c]))
        cost += (double)v[CCP_F_HMS_PHONE + c] * e->cfg->cost_per_hour[c];
    k[K_COST] = cost / 3600000.0 / (double)v[CCP_F_RESOLVED];
  }
}

static int kpi_index(const char *name) {
  for (int i = 0; i < K__COUNT; i++)
    if (strcmp(kpi_names[i], name) == 0) return i;
  return -1;
}

/* Agent scorecard (semantics.md §8). */
static double score(const ccp_config_t *cfg, const double *k) {
  double num = 0, den = 0;
  for (int i = 0; i < cfg->nscore_terms; i++) {
    const ccp_score_term_t *t = &cfg->score_terms[i];
    int ki = kpi_index(t->kpi);
    if (ki < 0 || isnan(k[ki])) continue;
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

static void put_num(ccp_buf_t *b, double v, int is_count) {
  if (is_count) ccp_buf_put_i64(b, (int64_t)v);
  else ccp_buf_put_double(b, v);
}

static int scope_has_data(const ccp_engine_t *e, const ccp_scope_t *s) {
  if (s->kind == CCP_SC_ALL) return 1;
  if (s->g_open || s->g_waiting || s->g_aged) return 1;
  for (int w = 0; w < e->cfg->nwindows; w++)
    if (!ccp_counters_zero(&s->win[w].total)) return 1;
  return 0;
}

static const ccp_engine_t *sort_engine;

static int cmp_scope(const void *a, const void *b) {
  const ccp_scope_t *x = sort_engine->scopes[*(const uint32_t *)a];
  const ccp_scope_t *y = sort_engine->scopes[*(const uint32_t *)b];
  if (x->kind == CCP_SC_ALL) return -1;
  if (y->kind == CCP_SC_ALL) return 1;
  return strcmp(x->name, y->name);
}

/* Oldest known open time among waiting tickets, per scope. */
static void oldest_waiting(ccp_engine_t *e) {
  for (uint32_t i = 0; i < e->nscopes; i++) e->scopes[i]->oldest_open = INT64_MAX;
  for (uint32_t c = 0; c < e->ncombos; c++) {
    const ccp_combo_t *cb = &e->combos[c];
    if (cb->head == CCP_NIL) continue;
    int64_t o = ccp_tickets_at(&e->tickets, cb->head)->open_ts;
    uint32_t ids[4] = {0, 1u + cb->channel, cb->queue, cb->agent};
    for (int i = 0; i < 4; i++) {
      if (ids[i] == CCP_NIL) continue;
      ccp_scope_t *s = e->scopes[ids[i]];
      if (o < s->oldest_open) s->oldest_open = o;
    }
  }
}

static void window_header(ccp_engine_t *e, ccp_buf_t *out) {
  const ccp_config_t *cfg = e->cfg;
  ccp_buf_puts(out, "\"windows\":{");
  for (int w = 0; w < cfg->nwindows; w++) {
    const ccp_window_conf_t *wc = &cfg->windows[w];
    if (w) ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, wc->name, strlen(wc->name));
    ccp_buf_puts(out, ":{\"span_ms\":");
    if (e->now == INT64_MIN) {
      if (wc->is_today) ccp_buf_puts(out, "null");
      else ccp_buf_put_i64(out, wc->span_ms);
      ccp_buf_puts(out, ",\"granularity_ms\":");
      ccp_buf_put_i64(out, wc->granularity_ms);
      ccp_buf_puts(out, ",\"start_ms\":null}");
      continue;
    }
    ccp_buf_put_i64(out, (e->cur_b[w] - e->start_b[w] + 1) * wc->granularity_ms);
    ccp_buf_puts(out, ",\"granularity_ms\":");
    ccp_buf_put_i64(out, wc->granularity_ms);
    ccp_buf_puts(out, ",\"start_ms\":");
    ccp_buf_put_i64(out, e->start_b[w] * wc->granularity_ms);
    ccp_buf_putc(out, '}');
  }
  ccp_buf_putc(out, '}');
}

void ccp_engine_snapshot_json(ccp_engine_t *e, ccp_buf_t *out) {
  const ccp_config_t *cfg = e->cfg;
  if (e->now != INT64_MIN) ccp_engine_advance(e, e->now);
  for (uint32_t i = 0; i < e->nscopes; i++)
    if (e->now != INT64_MIN) ccp__scope_advance(e, e->scopes[i]);
  oldest_waiting(e);

  uint32_t *order = ccp_malloc((e->nscopes ? e->nscopes : 1) * sizeof *order);
  uint32_t n = 0;
  for (uint32_t i = 0; i < e->nscopes; i++)
    if (scope_has_data(e, e->scopes[i])) order[n++] = i;
  sort_engine = e;
  qsort(order, n, sizeof *order, cmp_scope);

  ccp_buf_puts(out, "{\"schema\":\"ccpulse.snapshot.v1\",\"now_ms\":");
  if (e->now == INT64_MIN) ccp_buf_puts(out, "null");
  else ccp_buf_put_i64(out, e->now);
  ccp_buf_putc(out, ',');
  window_header(e, out);
  ccp_buf_puts(out, ",\"scopes\":{");
  double k[K__COUNT];
  for (uint32_t oi = 0; oi < n; oi++) {
    ccp_scope_t *s = e->scopes[order[oi]];
    if (oi) ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, s->name, s->name_len);
    ccp_buf_puts(out, ":{\"gauges\":{\"open\":");
    ccp_buf_put_i64(out, s->g_open);
    ccp_buf_puts(out, ",\"waiting\":");
    ccp_buf_put_i64(out, s->g_waiting);
    ccp_buf_puts(out, ",\"longest_wait_ms\":");
    if (s->oldest_open == INT64_MAX) ccp_buf_puts(out, "null");
    else ccp_buf_put_i64(out, e->now - s->oldest_open);
    ccp_buf_puts(out, ",\"backlog_aged\":");
    ccp_buf_put_i64(out, s->g_aged);
    ccp_buf_puts(out, "},\"windows\":{");
    for (int w = 0; w < cfg->nwindows; w++) {
      if (w) ccp_buf_putc(out, ',');
      ccp_buf_put_json_str(out, cfg->windows[w].name, strlen(cfg->windows[w].name));
      ccp_buf_putc(out, ':');
      compute(e, &s->win[w], k);
      ccp_buf_putc(out, '{');
      for (int i = 0; i < K__COUNT; i++) {
        if (i) ccp_buf_putc(out, ',');
        ccp_buf_putc(out, '"');
        ccp_buf_puts(out, kpi_names[i]);
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
            int64_t oc = e->scopes[1 + c]->win[w].total.v[CCP_F_OPENED];
            if (!oc) continue;
            if (!first) ccp_buf_putc(out, ',');
            first = 0;
            ccp_buf_printf(out, "\"%s\":", ccp_channel_name(c));
            ccp_buf_put_double(out, 100.0 * (double)oc / (double)opened);
          }
          ccp_buf_putc(out, '}');
        }
      }
      if (s->kind == CCP_SC_AGENT) {
        ccp_buf_puts(out, ",\"score\":");
        ccp_buf_put_double(out, score(cfg, k));
      }
      ccp_buf_putc(out, '}');
    }
    ccp_buf_putc(out, '}');
    if (s->kind == CCP_SC_ALL) {
      ccp_buf_puts(out, ",\"customers\":{\"period_ms\":");
      ccp_buf_put_i64(out, cfg->retention_period_ms);
      double ret = ccp__engine_retention(e);
      ccp_buf_puts(out, ",\"retention_pct\":");
      ccp_buf_put_double(out, ret);
      ccp_buf_puts(out, ",\"churn_pct\":");
      ccp_buf_put_double(out, isnan(ret) ? NAN : 100.0 - ret);
      ccp_buf_putc(out, '}');
    }
    ccp_buf_putc(out, '}');
  }
  ccp_free(order);
  const ccp_diag_t *dg = &e->diag;
  ccp_buf_printf(out,
                 "},\"diagnostics\":{\"events\":%lld,\"late_events\":%lld,\"duplicate_events\":%lld,"
                 "\"invalid_events\":%lld,\"dead_letter\":%lld,\"expired_tickets\":%lld,"
                 "\"evicted_tickets\":%lld,\"tickets\":%lld}}",
                 (long long)dg->events, (long long)dg->late, (long long)dg->duplicate,
                 (long long)dg->invalid, (long long)dg->dead_letter, (long long)dg->expired,
                 (long long)dg->evicted, (long long)e->tickets.count);
}
