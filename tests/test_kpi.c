/*
 * The KPI table (src/kpi/kpi.h): every id has a row, names resolve to their
 * rows, the uses are the ones the contract allows, and formulas only name
 * counter fields that exist.
 */
#include <string.h>

#include "ccp_test.h"
#include "kpi/kpi.h"

static void test_every_row_and_lookup(void) {
  for (int i = 0; i < CCP_K__COUNT; i++) {
    const ccp_kpi_def_t *d = &ccp_kpi_defs[i];
    T_TRUE(d->name != NULL); /* a missing designated row */
    if (!d->name)
      continue;
    T_EQ_INT(ccp_kpi_index(d->name, strlen(d->name)), i);
  }
  T_EQ_INT(ccp_kpi_index("opened", 6), CCP_K_OPENED);
  T_EQ_INT(ccp_kpi_index("openedx", 6), CCP_K_OPENED); /* length-delimited */
  T_EQ_INT(ccp_kpi_index("open", 4), CCP_K_OPEN);
  T_EQ_INT(ccp_kpi_index("ope", 3), -1);
  T_EQ_INT(ccp_kpi_index("no_such_kpi", 11), -1);
  /* the snapshot's first and last windowed KPIs */
  T_EQ_STR(ccp_kpi_defs[0].name, "opened");
  T_EQ_STR(ccp_kpi_defs[CCP_K__WINDOWED - 1].name, "cost_per_resolution");
}

static void test_uses(void) {
  for (int i = 0; i < CCP_K__COUNT; i++) {
    const ccp_kpi_def_t *d = &ccp_kpi_defs[i];
    int windowed = i < CCP_K__WINDOWED;
    /* rules: every windowed KPI and gauge, not the score */
    T_EQ_INT(!!(d->flags & CCP_KPI_ALERT), i != CCP_K_SCORE);
    /* scorecard: the windowed KPIs only */
    T_EQ_INT(!!(d->flags & CCP_KPI_SCORECARD), windowed);
    /* counts are never null; gauges are, only longest_wait_ms */
    if (d->kind == CCP_KPI_COUNT)
      T_EQ_INT(d->flags & CCP_KPI_NULLABLE, 0);
    if (d->kind == CCP_KPI_GAUGE)
      T_EQ_INT(!!(d->flags & CCP_KPI_NULLABLE), d->gauge == CCP_G_LONGEST_WAIT);
    T_EQ_INT(d->kind == CCP_KPI_GAUGE, i > CCP_K_SCORE);
  }
  T_EQ_INT(ccp_kpi_defs[CCP_K_SCORE].kind, CCP_KPI_SCORE);
  T_EQ_INT(ccp_kpi_defs[CCP_K_COST].kind, CCP_KPI_COST);
}

static void test_formulas_name_fields(void) {
  int last_pct[CCP_H__COUNT] = {0};
  for (int i = 0; i < CCP_K__COUNT; i++) {
    const ccp_kpi_def_t *d = &ccp_kpi_defs[i];
    switch (d->kind) {
    case CCP_KPI_COUNT:
      T_TRUE(d->num >= 0 && d->num < CCP_F__COUNT);
      break;
    case CCP_KPI_RATIO:
      T_TRUE(d->num >= 0 && d->num < CCP_F__COUNT);
      T_TRUE(d->den >= 0 && d->den < CCP_F__COUNT);
      T_TRUE(d->num_minus == CCP_F_NONE || (d->num_minus >= 0 && d->num_minus < CCP_F__COUNT));
      T_TRUE(d->den_plus == CCP_F_NONE || (d->den_plus >= 0 && d->den_plus < CCP_F__COUNT));
      T_TRUE(d->scale == 1.0 || d->scale == 100.0);
      break;
    case CCP_KPI_PERCENTILE:
      /* the view walks each histogram once: ranks ascend in table order */
      T_TRUE(d->hist < CCP_H__COUNT);
      T_TRUE(d->pct > last_pct[d->hist] && d->pct <= 100);
      last_pct[d->hist] = d->pct;
      break;
    case CCP_KPI_GAUGE:
      T_TRUE(d->gauge < CCP_G__COUNT);
      break;
    default:
      break;
    }
  }
  /* two formulas with a second operand */
  T_EQ_INT(ccp_kpi_defs[CCP_K_NPS].num_minus, CCP_F_NPS_DET);
  T_EQ_INT(ccp_kpi_defs[CCP_K_SL_PCT].den_plus, CCP_F_AB_LONG);
}

int main(void) {
  T_RUN(test_every_row_and_lookup);
  T_RUN(test_uses);
  T_RUN(test_formulas_name_fields);
  return T_DONE();
}
