/*
 * The KPI table: every number a scope shows (KPIS.md §3), its JSON id, its
 * kind, how it is computed from the counters, and who may name it. One
 * table for the snapshot writer and the view (src/publish/view.c), the alert
 * rules (src/alerts/rules.c) and the scorecard check (src/config/config.c).
 *
 * Design: a leaf module with no dependency, so that the configuration can
 * validate KPI names without depending on the counters. It therefore also
 * defines the ids the formulas refer to: the counter fields (the index into
 * ccp_counters_t.v, src/counters/counters.h includes this header), the two
 * histograms and the gauges of a scope. Formulas are data where they can be
 * (a count is one field; a ratio is scale * (num - num_minus) /
 * (den + den_plus); a percentile is a histogram and a rank); the two that
 * cannot are kinds of their own and written out where they are computed:
 * cost_per_resolution (per-channel handle time times the configured cost per
 * hour) and the agent score (a weighted mix of other KPIs, semantics.md §8).
 * No KPI is a plain sum today: averages are ratios of a sum to a count.
 *
 * Not in the table: `channel_share_pct` (an object per channel, scope `all`)
 * and the `customers` block (retention, churn: not windowed), written by the
 * snapshot writer alone and never looked up by name.
 *
 * Threads: constant data; any thread.
 */
#ifndef CCP_KPI_H
#define CCP_KPI_H

#include <stddef.h>
#include <stdint.h>

/** Counter fields: the index into ccp_counters_t.v (src/counters/counters.h). */
enum {
  CCP_F_OPENED = 0,
  CCP_F_RESOLVED,
  CCP_F_REOPENED,
  CCP_F_ABANDONED,
  CCP_F_AB_SHORT,
  CCP_F_AB_LONG, /* abandons with known wait >= short threshold */
  CCP_F_FRT_N,
  CCP_F_FRT_SUM,
  CCP_F_FRT_WITHIN,
  CCP_F_BREACHES,
  CCP_F_RES_N, /* resolutions with known open time */
  CCP_F_RES_SUM,
  CCP_F_HANDLED,
  CCP_F_AHT_SUM,
  CCP_F_FCR_N,
  CCP_F_FCR_OK,
  CCP_F_CSAT_N,
  CCP_F_CSAT_SAT,
  CCP_F_NPS_N,
  CCP_F_NPS_PRO,
  CCP_F_NPS_DET,
  CCP_F_CES_N,
  CCP_F_CES_SUM,
  CCP_F_COMPLAINTS,
  CCP_F_QA_N,
  CCP_F_QA_ERR,
  CCP_F_CUST,      /* customers whose latest HANDLED lies in this bucket */
  CCP_F_HMS_PHONE, /* handle ms per channel (cost), in ccp_channel_t order */
  CCP_F_HMS_CHAT,
  CCP_F_HMS_EMAIL,
  CCP_F_HMS_SOCIAL,
  CCP_F__COUNT
};

/** No field (an unused operand of a formula). */
#define CCP_F_NONE (-1)

/** Histograms of a window (the `which` of ccp_win_add_bin). */
enum { CCP_H_FRT = 0, CCP_H_RES = 1, CCP_H__COUNT };

/** Gauges of a scope (current values, not windowed). */
enum { CCP_G_OPEN = 0, CCP_G_WAITING, CCP_G_LONGEST_WAIT, CCP_G_BACKLOG_AGED, CCP_G__COUNT };

/** Every KPI, in table order: the windowed ones in snapshot output order,
 * then the agent score, then the gauges in snapshot output order. */
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
  CCP_K_SCORE, /* agent scopes only */
  CCP_K_OPEN,
  CCP_K_WAITING,
  CCP_K_LONGEST_WAIT,
  CCP_K_BACKLOG_AGED,
  CCP_K__COUNT
};

/** KPIs of a window every scope shows: CCP_K_OPENED .. CCP_K_COST. */
#define CCP_K__WINDOWED (CCP_K_COST + 1)

/** How a KPI is computed. */
typedef enum ccp_kpi_kind {
  CCP_KPI_COUNT = 0,      /**< counter field `num` as is; an integer, never null */
  CCP_KPI_RATIO = 1,      /**< scale * (num - num_minus) / (den + den_plus); null when 0 */
  CCP_KPI_PERCENTILE = 2, /**< nearest-rank percentile `pct` of histogram `hist`; null when empty */
  CCP_KPI_COST = 3,       /**< special: handle ms x cost.<CH> per hour / resolved (semantics.md) */
  CCP_KPI_SCORE = 4,      /**< special: the agent scorecard over other KPIs (semantics.md §8) */
  CCP_KPI_GAUGE = 5       /**< gauge `gauge` of the scope; an integer (null: none waiting) */
} ccp_kpi_kind_t;

/** Uses of a KPI (ccp_kpi_def_t.flags). */
#define CCP_KPI_ALERT 0x01     /**< an alert rule may threshold it */
#define CCP_KPI_SCORECARD 0x02 /**< a scorecard term may name it */
#define CCP_KPI_NULLABLE 0x04  /**< may be null; else 0 when its scope has no data */

/** One row of the table. */
typedef struct ccp_kpi_def {
  const char *name; /**< JSON id ("opened", "frt_avg_ms", ...) */
  uint8_t kind;     /**< ccp_kpi_kind_t */
  uint8_t flags;    /**< CCP_KPI_* */
  int8_t num;       /**< COUNT: the field; RATIO: the numerator's field */
  int8_t num_minus; /**< RATIO: field subtracted from the numerator, or CCP_F_NONE */
  int8_t den;       /**< RATIO: the denominator's field */
  int8_t den_plus;  /**< RATIO: field added to the denominator, or CCP_F_NONE */
  uint8_t hist;     /**< PERCENTILE: CCP_H_* */
  uint8_t pct;      /**< PERCENTILE: rank in percent (1..100) */
  uint8_t gauge;    /**< GAUGE: CCP_G_* */
  double scale;     /**< RATIO: factor (100 for percentages) */
} ccp_kpi_def_t;

/** The table, indexed by CCP_K_*. */
extern const ccp_kpi_def_t ccp_kpi_defs[CCP_K__COUNT];

/** Index of the KPI with JSON id name[0..len), or -1. */
int ccp_kpi_index(const char *name, size_t len);

#endif
