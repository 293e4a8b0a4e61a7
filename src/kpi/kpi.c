/*
 * The KPI table (see kpi.h). Each row is placed at its CCP_K_* index with a
 * designated initializer, so ids and rows cannot drift apart; the rows'
 * order is the snapshot's output order. Constant data; any thread.
 */
#include "kpi/kpi.h"

#include <string.h>

#define WIN (CCP_KPI_ALERT | CCP_KPI_SCORECARD) /* a windowed KPI: rules, scorecard */
#define NUL CCP_KPI_NULLABLE

#define COUNT(id, f)                                                                               \
  { id, CCP_KPI_COUNT, WIN, f, CCP_F_NONE, CCP_F_NONE, CCP_F_NONE, 0, 0, 0, 0 }
#define RATIO(id, n, nminus, d, dplus, sc)                                                         \
  { id, CCP_KPI_RATIO, WIN | NUL, n, nminus, d, dplus, 0, 0, 0, sc }
#define PCTL(id, h, p)                                                                             \
  { id, CCP_KPI_PERCENTILE, WIN | NUL, CCP_F_NONE, CCP_F_NONE, CCP_F_NONE, CCP_F_NONE, h, p, 0, 0 }
#define SPECIAL(id, kind, flags)                                                                   \
  { id, kind, flags, CCP_F_NONE, CCP_F_NONE, CCP_F_NONE, CCP_F_NONE, 0, 0, 0, 0 }
#define GAUGE(id, g, flags)                                                                        \
  {                                                                                                \
    id, CCP_KPI_GAUGE, CCP_KPI_ALERT | (flags), CCP_F_NONE, CCP_F_NONE, CCP_F_NONE, CCP_F_NONE, 0, \
        0, g, 0                                                                                    \
  }

#define N CCP_F_NONE

const ccp_kpi_def_t ccp_kpi_defs[CCP_K__COUNT] = {
    [CCP_K_OPENED] = COUNT("opened", CCP_F_OPENED),
    [CCP_K_RESOLVED] = COUNT("resolved", CCP_F_RESOLVED),
    [CCP_K_REOPENED] = COUNT("reopened", CCP_F_REOPENED),
    [CCP_K_ABANDONED] = COUNT("abandoned", CCP_F_ABANDONED),
    [CCP_K_ABANDONED_SHORT] = COUNT("abandoned_short", CCP_F_AB_SHORT),
    [CCP_K_ABANDON_PCT] = RATIO("abandon_pct", CCP_F_ABANDONED, N, CCP_F_OPENED, N, 100.0),
    [CCP_K_FRT_COUNT] = COUNT("frt_count", CCP_F_FRT_N),
    [CCP_K_FRT_AVG] = RATIO("frt_avg_ms", CCP_F_FRT_SUM, N, CCP_F_FRT_N, N, 1.0),
    [CCP_K_FRT_P50] = PCTL("frt_p50_ms", CCP_H_FRT, 50),
    [CCP_K_FRT_P90] = PCTL("frt_p90_ms", CCP_H_FRT, 90),
    [CCP_K_FRT_P99] = PCTL("frt_p99_ms", CCP_H_FRT, 99),
    /* answered within the threshold / (answered + abandoned after the short threshold) */
    [CCP_K_SL_PCT] =
        RATIO("service_level_pct", CCP_F_FRT_WITHIN, N, CCP_F_FRT_N, CCP_F_AB_LONG, 100.0),
    [CCP_K_BREACHES] = COUNT("sla_breaches", CCP_F_BREACHES),
    [CCP_K_RES_AVG] = RATIO("resolution_avg_ms", CCP_F_RES_SUM, N, CCP_F_RES_N, N, 1.0),
    [CCP_K_RES_P90] = PCTL("resolution_p90_ms", CCP_H_RES, 90),
    [CCP_K_AHT_AVG] = RATIO("aht_avg_ms", CCP_F_AHT_SUM, N, CCP_F_HANDLED, N, 1.0),
    [CCP_K_FCR_PCT] = RATIO("fcr_pct", CCP_F_FCR_OK, N, CCP_F_FCR_N, N, 100.0),
    [CCP_K_CSAT_PCT] = RATIO("csat_pct", CCP_F_CSAT_SAT, N, CCP_F_CSAT_N, N, 100.0),
    /* promoters minus detractors, in percent of the answers */
    [CCP_K_NPS] = RATIO("nps", CCP_F_NPS_PRO, CCP_F_NPS_DET, CCP_F_NPS_N, N, 100.0),
    [CCP_K_CES_AVG] = RATIO("ces_avg", CCP_F_CES_SUM, N, CCP_F_CES_N, N, 1.0),
    [CCP_K_COMPLAINTS] = COUNT("complaints", CCP_F_COMPLAINTS),
    [CCP_K_QA_ERR_RATE] = RATIO("qa_error_rate", CCP_F_QA_ERR, N, CCP_F_QA_N, N, 1.0),
    [CCP_K_HANDLED] = COUNT("handled", CCP_F_HANDLED),
    [CCP_K_CUSTOMERS] = COUNT("customers_handled", CCP_F_CUST),
    [CCP_K_COST] = SPECIAL("cost_per_resolution", CCP_KPI_COST, WIN | NUL),
    /* neither thresholded nor a scorecard term (it is made of them) */
    [CCP_K_SCORE] = SPECIAL("score", CCP_KPI_SCORE, NUL),
    [CCP_K_OPEN] = GAUGE("open", CCP_G_OPEN, 0),
    [CCP_K_WAITING] = GAUGE("waiting", CCP_G_WAITING, 0),
    [CCP_K_LONGEST_WAIT] = GAUGE("longest_wait_ms", CCP_G_LONGEST_WAIT, NUL),
    [CCP_K_BACKLOG_AGED] = GAUGE("backlog_aged", CCP_G_BACKLOG_AGED, 0),
};

int ccp_kpi_index(const char *name, size_t len) {
  for (int i = 0; i < CCP_K__COUNT; i++)
    if (strlen(ccp_kpi_defs[i].name) == len && memcmp(ccp_kpi_defs[i].name, name, len) == 0)
      return i;
  return -1;
}
