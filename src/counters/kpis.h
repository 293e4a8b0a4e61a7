/*
 * The windowed KPI ids of KPIS.md §3, in snapshot output order: one list for
 * the snapshot writer (src/publish/view.c) and for the configuration that
 * names KPIs (the scorecard). Constant data; any thread.
 */
#ifndef CCP_KPIS_H
#define CCP_KPIS_H

/** Windowed KPIs, in output order. */
enum {
  CCP_K_OPENED,
  CCP_K_RESOLVED,
  CCP_K_REOPENED,
  CCP_K_ABANDONED,
  CCP_K_ABANDONED_SHORT,
  CCP_K_ABANDON_PCT,
  CCP_K_FRT_COUNT,
  CCP_K_FRT_AVG,
  CCP_K_FRT_P50,
  CCP_K_FRT_P90,
  CCP_K_FRT_P99,
  CCP_K_SL_PCT,
  CCP_K_BREACHES,
  CCP_K_RES_AVG,
  CCP_K_RES_P90,
  CCP_K_AHT_AVG,
  CCP_K_FCR_PCT,
  CCP_K_CSAT_PCT,
  CCP_K_NPS,
  CCP_K_CES_AVG,
  CCP_K_COMPLAINTS,
  CCP_K_QA_ERR_RATE,
  CCP_K_HANDLED,
  CCP_K_CUSTOMERS,
  CCP_K_COST,
  CCP_K__COUNT
};

/** The JSON id of each KPI ("opened", "frt_avg_ms", ...). */
extern const char *const ccp_kpi_names[CCP_K__COUNT];

/** Index of a KPI id, or -1. */
int ccp_kpi_index(const char *name);

#endif
