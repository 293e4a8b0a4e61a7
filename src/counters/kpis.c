/*
 * KPI ids; see kpis.h.
 */
#include "counters/kpis.h"

#include <string.h>

const char *const ccp_kpi_names[CCP_K__COUNT] = {"opened",
                                                 "resolved",
                                                 "reopened",
                                                 "abandoned",
                                                 "abandoned_short",
                                                 "abandon_pct",
                                                 "frt_count",
                                                 "frt_avg_ms",
                                                 "frt_p50_ms",
                                                 "frt_p90_ms",
                                                 "frt_p99_ms",
                                                 "service_level_pct",
                                                 "sla_breaches",
                                                 "resolution_avg_ms",
                                                 "resolution_p90_ms",
                                                 "aht_avg_ms",
                                                 "fcr_pct",
                                                 "csat_pct",
                                                 "nps",
                                                 "ces_avg",
                                                 "complaints",
                                                 "qa_error_rate",
                                                 "handled",
                                                 "customers_handled",
                                                 "cost_per_resolution"};

int ccp_kpi_index(const char *name) {
  for (int i = 0; i < CCP_K__COUNT; i++)
    if (strcmp(ccp_kpi_names[i], name) == 0)
      return i;
  return -1;
}
