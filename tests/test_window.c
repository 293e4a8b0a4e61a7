/*
 * src/windows/window.[ch]: one KPI window of one scope (ring of buckets with
 * a running total; `today` as a total that a new start resets).
 *
 * Window level: a bucket added at b is in the total while b lies in
 * [cur - nb + 1, cur] and leaves exactly when cur reaches b + nb; jumps of
 * more than the span empty the window; adds outside [start, cur] are
 * ignored; time never goes back; histograms slide with the counters. A
 * randomized sequence (fixed seed) compares the totals and histograms with
 * a reference that sums the kept buckets from scratch.
 *
 * `today`: window.c only resets when it is given a new start; the start (the
 * bucket of local midnight in `timezone`) is computed by the engine
 * (set_buckets/local_midnight in src/engine/engine.c). So the reset is tested
 * here twice: the window's part directly, and local midnight through the
 * engine's public API (the smallest surface that owns it): a zone with a
 * half-hour offset, an advance across midnight without events, and a 25-hour
 * day. (tests/test_engine.c covers the 23-hour day in Europe/Berlin.)
 */
#include "engine_testutil.h"
#include "windows/window.h"

#define HOUR 3600000LL

static ccp_window_conf_t trailing(int64_t span, int64_t g) {
  ccp_window_conf_t c = {.span_ms = span, .granularity_ms = g, .is_today = 0};
  snprintf(c.name, sizeof c.name, "t");
  return c;
}

/* Advances a trailing window the way the engine does: start = cur - nb + 1. */
static void adv(ccp_win_t *w, int64_t cur) { ccp_win_advance(w, cur, cur - w->nb + 1); }

static void test_bucket_leaves_exactly(void) {
  ccp_window_conf_t c = trailing(50, 10); /* 5 buckets */
  ccp_win_t w;
  ccp_win_init(&w, &c);
  T_EQ_INT(w.nb, 5);
  T_EQ_INT(w.cur, INT64_MIN);
  adv(&w, 100);
  ccp_win_add(&w, 100, CCP_F_OPENED, 1);
  ccp_win_add_bin(&w, 100, 0, 7);
  adv(&w, 102);
  ccp_win_add(&w, 102, CCP_F_OPENED, 10);
  ccp_win_add(&w, 101, CCP_F_OPENED, 100); /* a past bucket still in the window */
  for (int64_t cur = 102; cur <= 104; cur++) {
    adv(&w, cur);
    T_EQ_INT(w.total.v[CCP_F_OPENED], 111);
  }
  T_EQ_INT(w.frt.n, 1);
  adv(&w, 105); /* bucket 100 leaves: 100 = 105 - 5 */
  T_EQ_INT(w.total.v[CCP_F_OPENED], 110);
  T_EQ_INT(w.frt.n, 0);
  adv(&w, 105); /* same bucket again: nothing happens */
  T_EQ_INT(w.total.v[CCP_F_OPENED], 110);
  adv(&w, 104); /* time never goes back */
  T_EQ_INT(w.cur, 105);
  T_EQ_INT(w.total.v[CCP_F_OPENED], 110);
  adv(&w, 106); /* 101 leaves */
  T_EQ_INT(w.total.v[CCP_F_OPENED], 10);
  adv(&w, 107); /* 102 leaves */
  T_EQ_INT(w.total.v[CCP_F_OPENED], 0);
  /* adds outside [start, cur]: before the window and in the future */
  ccp_win_add(&w, 102, CCP_F_OPENED, 1000);
  ccp_win_add(&w, 108, CCP_F_OPENED, 1000);
  ccp_win_add_bin(&w, 108, 1, 3);
  T_EQ_INT(w.total.v[CCP_F_OPENED], 0);
  T_EQ_INT(w.res.n, 0);
  adv(&w, 108); /* the future add was dropped, not kept for later */
  T_EQ_INT(w.total.v[CCP_F_OPENED], 0);
  /* a jump longer than the span empties everything */
  ccp_win_add(&w, 108, CCP_F_RESOLVED, 5);
  ccp_win_add(&w, 105, CCP_F_RESOLVED, 6);
  ccp_win_add_bin(&w, 106, 1, 200);
  T_EQ_INT(w.total.v[CCP_F_RESOLVED], 11);
  T_EQ_INT(w.res.n, 1);
  adv(&w, 108 + 5);
  T_EQ_INT(w.total.v[CCP_F_RESOLVED], 0);
  T_EQ_INT(w.res.n, 0);
  adv(&w, 1000000);
  ccp_win_add(&w, 1000000, CCP_F_RESOLVED, 1);
  T_EQ_INT(w.total.v[CCP_F_RESOLVED], 1);
  ccp_win_release(&w);
}

/* The first advance fixes the window; negative buckets (times before 1970)
 * behave like any other. */
static void test_first_advance_and_negative_time(void) {
  ccp_window_conf_t c = trailing(30, 10);
  ccp_win_t w;
  ccp_win_init(&w, &c);
  ccp_win_add(&w, 0, CCP_F_OPENED, 1); /* before any advance: ignored */
  T_EQ_INT(w.total.v[CCP_F_OPENED], 0);
  adv(&w, -5);
  T_EQ_INT(w.start, -7);
  ccp_win_add(&w, -7, CCP_F_OPENED, 1);
  ccp_win_add(&w, -5, CCP_F_OPENED, 2);
  ccp_win_add(&w, -8, CCP_F_OPENED, 4); /* before start */
  T_EQ_INT(w.total.v[CCP_F_OPENED], 3);
  adv(&w, -4);
  T_EQ_INT(w.total.v[CCP_F_OPENED], 2);
  adv(&w, -2);
  T_EQ_INT(w.total.v[CCP_F_OPENED], 0);
  ccp_win_release(&w);
}

/* Random advances (small steps and long jumps) and adds (inside and outside
 * the window) against a reference keeping every bucket's amounts. */
static void test_randomized_sliding(void) {
  enum { NB = 12, HORIZON = 20000, NF = 3 };
  static const int fields[NF] = {CCP_F_OPENED, CCP_F_FRT_SUM, CCP_F_QA_ERR};
  static int64_t ref[HORIZON][NF]; /* amount per bucket and field */
  static uint32_t ref_bins[HORIZON][4];
  memset(ref, 0, sizeof ref);
  memset(ref_bins, 0, sizeof ref_bins);
  static const uint16_t bins[4] = {0, 127, 500, CCP_SKETCH_BINS - 1};
  ccp_window_conf_t c = trailing(NB * 1000, 1000);
  ccp_win_t w;
  ccp_win_init(&w, &c);
  uint64_t rng = 31337;
  int64_t cur = 100; /* every bucket index stays >= 0 */
  adv(&w, cur);
  long errors = 0;
  while (cur < HORIZON - 50 && errors < 5) {
    uint64_t r = t_rand_below(&rng, 100);
    if (r < 20) { /* advance: mostly small, sometimes past the whole span */
      cur += r < 2 ? NB + (int64_t)t_rand_below(&rng, 3) : (int64_t)t_rand_below(&rng, 3);
      adv(&w, cur);
    } else {
      int64_t b = cur - NB - 2 + (int64_t)t_rand_below(&rng, NB + 4); /* some outside */
      int in = b >= cur - NB + 1 && b <= cur;
      if (r < 80) {
        int k = (int)t_rand_below(&rng, NF);
        int64_t amt = (int64_t)t_rand_below(&rng, 1000) - 100;
        ccp_win_add(&w, b, fields[k], amt);
        if (in)
          ref[b][k] += amt;
      } else {
        int k = (int)t_rand_below(&rng, 4);
        ccp_win_add_bin(&w, b, 0, bins[k]);
        if (in)
          ref_bins[b][k]++;
      }
    }
    /* the window equals the sum of the reference buckets it covers */
    int64_t want[NF] = {0};
    uint32_t want_bins[4] = {0};
    for (int64_t b = cur - NB + 1; b <= cur; b++) {
      for (int k = 0; k < NF; k++)
        want[k] += ref[b][k];
      for (int k = 0; k < 4; k++)
        want_bins[k] += ref_bins[b][k];
    }
    for (int k = 0; k < NF; k++)
      if (w.total.v[fields[k]] != want[k]) {
        fprintf(stderr, "cur %" PRId64 ": field %d total %" PRId64 ", expected %" PRId64 "\n", cur,
                fields[k], w.total.v[fields[k]], want[k]);
        errors++;
      }
    uint64_t n = 0;
    for (int k = 0; k < 4; k++) {
      uint32_t got = w.frt.bins ? w.frt.bins[bins[k]] : 0;
      if (got != want_bins[k]) {
        fprintf(stderr, "cur %" PRId64 ": bin %u holds %u, expected %u\n", cur, bins[k], got,
                want_bins[k]);
        errors++;
      }
      n += want_bins[k];
    }
    if (w.frt.n != n)
      errors++;
  }
  T_EQ_INT(errors, 0);
  T_TRUE(cur >= HORIZON - 50);
  T_TRUE(ccp_win_bytes(&w) > sizeof w + NB * sizeof(ccp_slot_t));
  ccp_win_release(&w);
}

/* `today` in window.c: the same start accumulates, a new start resets the
 * counters and histograms; adds before the start are ignored. */
static void test_today_window_reset(void) {
  ccp_window_conf_t c = {.span_ms = 0, .granularity_ms = 60000, .is_today = 1};
  snprintf(c.name, sizeof c.name, "today");
  ccp_win_t w;
  ccp_win_init(&w, &c);
  T_EQ_INT(w.nb, 0);
  T_TRUE(w.slots == NULL);
  const int64_t day = 1440; /* buckets per day */
  ccp_win_advance(&w, 10 * day + 5, 10 * day);
  ccp_win_add(&w, 10 * day + 5, CCP_F_OPENED, 2);
  ccp_win_add(&w, 10 * day, CCP_F_OPENED, 3);
  ccp_win_add(&w, 10 * day - 1, CCP_F_OPENED, 100); /* yesterday: ignored */
  ccp_win_add_bin(&w, 10 * day + 1, 1, 9);
  ccp_win_advance(&w, 11 * day - 1, 10 * day); /* the last bucket of the day */
  ccp_win_add(&w, 11 * day - 1, CCP_F_OPENED, 4);
  T_EQ_INT(w.total.v[CCP_F_OPENED], 9);
  T_EQ_INT(w.res.n, 1);
  ccp_win_advance(&w, 11 * day, 11 * day); /* the next day's first bucket */
  T_EQ_INT(w.total.v[CCP_F_OPENED], 0);
  T_EQ_INT(w.res.n, 0);
  T_EQ_INT(w.start, 11 * day);
  ccp_win_add(&w, 11 * day, CCP_F_OPENED, 1);
  ccp_win_add(&w, 11 * day - 1, CCP_F_OPENED, 100);
  T_EQ_INT(w.total.v[CCP_F_OPENED], 1);
  /* a day skipped entirely: still one reset */
  ccp_win_advance(&w, 13 * day + 3, 13 * day);
  T_EQ_INT(w.total.v[CCP_F_OPENED], 0);
  ccp_win_release(&w);
}

/* ---- local midnight, through the engine --------------------------------- */

static double today_opened(void) {
  json_t *j = snap();
  double v = kpi(j, "all", "today", "opened");
  json_decref(j);
  return isnan(v) ? 0 : v;
}

static int64_t today_field(const char *key) {
  json_t *j = snap();
  int64_t v = json_integer_value(
      json_object_get(json_object_get(json_object_get(j, "windows"), "today"), key));
  json_decref(j);
  return v;
}

/* Asia/Kolkata (+05:30, no DST): local midnight of 2026-11-19 is
 * 2026-11-18T18:30:00Z, not on an hour of UTC. */
static void test_today_half_hour_zone(void) {
  const char *kv[] = {"timezone", "Asia/Kolkata", NULL};
  setup_with(kv);
  const int64_t mid = 1795026600000LL; /* 2026-11-19T00:00 +05:30 */
  send(CCP_EV_OPENED, mid - 2 * HOUR, "a");
  send(CCP_EV_OPENED, mid - 1, "b"); /* 23:59:59.999 */
  T_EQ_INT(today_opened(), 2);
  T_EQ_INT(today_field("start_ms"), mid - 86400000LL);
  send(CCP_EV_OPENED, mid, "c"); /* 00:00:00.000: a new day */
  T_EQ_INT(today_opened(), 1);
  T_EQ_INT(today_field("start_ms"), mid);
  json_t *j = snap();
  T_EQ_INT(kpi(j, "all", "24h", "opened"), 3); /* trailing windows do not reset */
  json_decref(j);
  teardown();
}

/* UTC, time moved by ccp_engine_advance (no event): the reset happens when
 * stream time crosses midnight, not at the next event. */
static void test_today_reset_by_advance(void) {
  setup();
  const int64_t mid = 1795046400000LL; /* 2026-11-19T00:00Z */
  send(CCP_EV_OPENED, mid - 10 * 60000, "a");
  send(CCP_EV_OPENED, mid - 5 * 60000, "b");
  ccp_engine_advance(eng, mid - 1);
  T_EQ_INT(today_opened(), 2);
  ccp_engine_advance(eng, mid);
  T_EQ_INT(today_opened(), 0);
  T_EQ_INT(today_field("start_ms"), mid);
  T_EQ_INT(today_field("span_ms"), 60000);       /* one bucket of the new day */
  ccp_engine_advance(eng, mid + 86400000LL + 1); /* a whole day later */
  T_EQ_INT(today_field("start_ms"), mid + 86400000LL);
  teardown();
}

/* America/New_York, 2026-11-01: clocks go back 02:00 EDT -> 01:00 EST, so
 * the local day lasts 25 hours; `today` keeps counting for all of them. */
static void test_today_25_hour_day(void) {
  const char *kv[] = {"timezone", "America/New_York", NULL};
  setup_with(kv);
  const int64_t mid1 = 1793505600000LL; /* 2026-11-01T00:00 EDT = 04:00Z */
  const int64_t mid2 = 1793595600000LL; /* 2026-11-02T00:00 EST = 05:00Z */
  T_EQ_INT(mid2 - mid1, 25 * HOUR);
  send(CCP_EV_OPENED, mid1, "a");
  send(CCP_EV_OPENED, mid1 + 24 * HOUR, "b"); /* 23:00 EST: still the 1st */
  T_EQ_INT(today_opened(), 2);
  send(CCP_EV_OPENED, mid2 - 1, "c");
  T_EQ_INT(today_opened(), 3);
  T_EQ_INT(today_field("start_ms"), mid1);
  T_EQ_INT(today_field("span_ms"), 25 * HOUR);
  send(CCP_EV_OPENED, mid2, "d");
  T_EQ_INT(today_opened(), 1);
  T_EQ_INT(today_field("start_ms"), mid2);
  teardown();
}

int main(void) {
  T_RUN(test_bucket_leaves_exactly);
  T_RUN(test_first_advance_and_negative_time);
  T_RUN(test_randomized_sliding);
  T_RUN(test_today_window_reset);
  T_RUN(test_today_half_hour_zone);
  T_RUN(test_today_reset_by_advance);
  T_RUN(test_today_25_hour_day);
  return T_DONE();
}
