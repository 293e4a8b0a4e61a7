/*
 * src/windows/window.[ch]: the windows of one scope over one shared store
 * (trailing windows as cursors into it, `today` as a total that a new edge
 * resets).
 *
 * Window-set level: a value added at base unit β is in window w's total
 * while β >= w's edge and leaves exactly when the edge passes it; jumps of
 * more than the span empty the window; values before every edge or past now
 * are ignored; time never goes back; histograms slide with the counters.
 * Randomized sequences (fixed seeds) over several window configurations
 * (nested granularities, odd ones, `today`) compare every total and
 * histogram with a model that keeps every value, and check the store's
 * invariants (entries sorted, none straddling an edge, rows summing to the
 * totals, records sorted by unit, histogram and bin with each window's record
 * cursor at its edge, merges keeping the store small); now and then a value
 * leaves the int32 range, so rows widen in the middle of a run. Memory: an
 * agent-like set with a handful of values stays small, and so does a quiet
 * agent's whole scope in an engine, counted by the allocator (4 KB at most).
 *
 * `today`: window.c only resets when it is given a new edge; the edge (the
 * bucket of local midnight in `timezone`) is computed by the engine
 * (set_buckets/local_midnight in src/engine/engine.c). So the reset is tested
 * here twice: the window set's part directly, and local midnight through the
 * engine's public API (the smallest surface that owns it): a zone with a
 * half-hour offset, an advance across midnight without events, and a 25-hour
 * day. (tests/test_engine.c covers the 23-hour day in Europe/Berlin.)
 */
#include "ccpulse/buf.h"
#include "engine/engine_int.h" /* the engine-wide tables, to tell them from a scope's bytes */
#include "engine_testutil.h"
#include "windows/window.h"

#define HOUR 3600000LL

/* A geometry from "span:granularity" pairs in ms (span 0: today). */
static void geom(ccp_wgeom_t *g, ccp_config_t *wc, const int64_t (*w)[2], int n) {
  memset(wc, 0, sizeof *wc);
  wc->nwindows = n;
  for (int i = 0; i < n; i++) {
    wc->windows[i].span_ms = w[i][0];
    wc->windows[i].granularity_ms = w[i][1];
    wc->windows[i].is_today = w[i][0] == 0;
  }
  ccp_wgeom_init(g, wc);
}

/* Moves g to now (ms); `today` starts at day_start (ms). */
static void at_now(ccp_wgeom_t *g, const ccp_config_t *wc, int64_t now, int64_t day_start) {
  int64_t start[CCP_MAX_WINDOWS];
  for (int w = 0; w < wc->nwindows; w++) {
    int64_t gr = wc->windows[w].granularity_ms;
    start[w] = wc->windows[w].is_today ? ccp_floordiv(day_start, gr)
                                       : ccp_floordiv(now, gr) - wc->windows[w].span_ms / gr + 1;
  }
  ccp_wgeom_set(g, now, start);
}

static void test_bucket_leaves_exactly(void) {
  static const int64_t w5[][2] = {{50, 10}}; /* 5 buckets of 10 ms */
  ccp_config_t wc;
  ccp_wgeom_t g;
  geom(&g, &wc, w5, 1);
  T_EQ_INT(g.unit, 10);
  ccp_wset_t s;
  ccp_wset_init(&s);
  ccp_wset_add(&s, &g, 100, CCP_F_OPENED, 1); /* before any time: ignored */
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 0);
  T_EQ_INT(s.nc, 0);
  at_now(&g, &wc, 1000, 0); /* buckets 96..100 */
  ccp_wset_advance(&s, &g);
  ccp_wset_add(&s, &g, 100, CCP_F_OPENED, 1);
  ccp_wset_add_bin(&s, &g, 100, CCP_H_FRT, 7, 1);
  at_now(&g, &wc, 1020, 0);
  ccp_wset_advance(&s, &g);
  ccp_wset_add(&s, &g, 102, CCP_F_OPENED, 10);
  ccp_wset_add(&s, &g, 101, CCP_F_OPENED, 100); /* a past bucket still in the window */
  ccp_wset_add(&s, &g, 101, CCP_F_QA_ERR, 0);   /* a zero takes no column */
  T_EQ_INT(s.nc, 1);
  for (int64_t cur = 102; cur <= 104; cur++) {
    at_now(&g, &wc, cur * 10, 0);
    ccp_wset_advance(&s, &g);
    T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 111);
  }
  T_EQ_INT(ccp_wset_hist(&s, 0, CCP_H_FRT)->n, 1);
  at_now(&g, &wc, 1050, 0); /* bucket 100 leaves: 100 = 105 - 5 */
  ccp_wset_advance(&s, &g);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 110);
  T_EQ_INT(ccp_wset_hist(&s, 0, CCP_H_FRT)->n, 0);
  at_now(&g, &wc, 1040, 0); /* time never goes back */
  ccp_wset_advance(&s, &g);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 110);
  at_now(&g, &wc, 1070, 0); /* 101 and 102 leave */
  ccp_wset_advance(&s, &g);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 0);
  T_TRUE(ccp_wset_zero(&s, 0));
  /* adds outside the window: before it and in the future */
  ccp_wset_add(&s, &g, 102, CCP_F_OPENED, 1000);
  ccp_wset_add(&s, &g, 108, CCP_F_OPENED, 1000);
  ccp_wset_add_bin(&s, &g, 108, CCP_H_RES, 3, 1);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 0);
  T_EQ_INT(ccp_wset_hist(&s, 0, CCP_H_RES)->n, 0);
  /* a jump longer than the span empties everything */
  ccp_wset_add(&s, &g, 107, CCP_F_RESOLVED, 5);
  ccp_wset_add(&s, &g, 105, CCP_F_RESOLVED, 6);
  ccp_wset_add_bin(&s, &g, 106, CCP_H_RES, 200, 1);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_RESOLVED), 11);
  T_EQ_INT(ccp_wset_hist(&s, 0, CCP_H_RES)->n, 1);
  at_now(&g, &wc, 1070 + 50, 0);
  ccp_wset_advance(&s, &g);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_RESOLVED), 0);
  T_EQ_INT(ccp_wset_hist(&s, 0, CCP_H_RES)->n, 0);
  T_EQ_INT(s.nent, 0); /* compacted away */
  /* negative time */
  at_now(&g, &wc, -70, 0);
  ccp_wset_advance(&s, &g); /* earlier than before: ignored */
  ccp_wset_release(&s, &g);
  ccp_wset_init(&s);
  at_now(&g, &wc, -70, 0); /* buckets -11..-7 */
  ccp_wset_advance(&s, &g);
  ccp_wset_add(&s, &g, -7, CCP_F_OPENED, 1);
  ccp_wset_add(&s, &g, -11, CCP_F_OPENED, 2);
  ccp_wset_add(&s, &g, -12, CCP_F_OPENED, 4); /* before the edge */
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 3);
  at_now(&g, &wc, -60, 0);
  ccp_wset_advance(&s, &g);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 1);
  ccp_wset_release(&s, &g);
}

/* One value the model keeps. */
typedef struct mval {
  int64_t at, amt;
  int f;       /* field, or -1 - which for a histogram sample */
  int bin;     /* histogram bin */
  int64_t day; /* today's edge when it was added (INT64_MIN: not in today) */
} mval_t;

/* The store's invariants (window.h): live entries sorted and disjoint, none
 * straddling an edge, each window's total the sum of the rows from its
 * cursor on. */
static long check_store(const ccp_wset_t *s, const ccp_wgeom_t *g) {
  long bad = 0;
  int64_t last_end = INT64_MIN;
  for (uint32_t k = 0; k < s->nent; k++) {
    const ccp_went_t *e = &s->ent[k];
    if (!e->len)
      continue;
    if (e->lo < last_end) {
      fprintf(stderr, "entry %u: lo %" PRId64 " before the end of the previous one\n", k, e->lo);
      bad++;
    }
    last_end = e->lo + e->len;
    for (int w = 0; w < g->nw; w++)
      if ((g->trailing >> w & 1) && g->edge[w] > e->lo && g->edge[w] < e->lo + e->len) {
        fprintf(stderr, "entry %u [%" PRId64 ", +%" PRId64 ") straddles window %d's edge\n", k,
                e->lo, e->len, w);
        bad++;
      }
  }
  for (uint32_t k = 1; k < s->nhr; k++)
    if (s->hr[k].at < s->hr[k - 1].at ||
        (s->hr[k].at == s->hr[k - 1].at &&
         (s->hr[k].which << 16 | s->hr[k].bin) <= (s->hr[k - 1].which << 16 | s->hr[k - 1].bin))) {
      fprintf(stderr, "record %u: not after the previous one (unit, histogram, bin)\n", k);
      bad++;
    }
  for (int w = 0; w < g->nw; w++) {
    if (!(g->trailing >> w & 1))
      continue;
    uint32_t hc = s->hcur[w]; /* the first record inside the window */
    if ((hc < s->nhr && s->hr[hc].at < s->edge[w]) || (hc > 0 && s->hr[hc - 1].at >= s->edge[w])) {
      fprintf(stderr, "window %d: record cursor %u is not at the edge\n", w, hc);
      bad++;
    }
    for (uint32_t c = 0; c < s->nc; c++) {
      int64_t sum = 0;
      for (uint32_t k = s->ecur[w]; k < s->nent; k++)
        sum += ccp_wset_cell(s, k, c);
      if (sum != s->tot[(size_t)w * s->nc + c]) {
        fprintf(stderr, "window %d column %u: total %" PRId64 ", rows %" PRId64 "\n", w, c,
                s->tot[(size_t)w * s->nc + c], sum);
        bad++;
      }
    }
  }
  return bad;
}

/* Random advances (small steps, long jumps, new days) and adds (inside and
 * outside the windows, late ones) against the model. */
static void randomized(const int64_t (*wins)[2], int nw, uint64_t seed, int64_t unit_ms) {
  enum { NV = 60000, NF = 3 };
  static const int fields[NF] = {CCP_F_OPENED, CCP_F_FRT_SUM, CCP_F_QA_ERR};
  static const uint16_t bins[4] = {0, 127, 500, CCP_SKETCH_BINS - 1};
  static mval_t vals[NV];
  int nv = 0;
  ccp_config_t wc;
  ccp_wgeom_t g;
  geom(&g, &wc, wins, nw);
  T_EQ_INT(g.unit, unit_ms);
  int64_t longest = 0;
  for (int w = 0; w < nw; w++)
    longest = CCP_MAX(longest, wins[w][0]);
  ccp_wset_t s;
  ccp_wset_init(&s);
  uint64_t rng = seed;
  int64_t now = 1000000007LL, day = now - 1000;
  at_now(&g, &wc, now, day);
  ccp_wset_advance(&s, &g);
  long errors = 0;
  uint32_t max_ent = 0;
  for (int step = 0; step < 40000 && nv < NV && errors < 5; step++) {
    uint64_t r = t_rand_below(&rng, 100);
    if (r < 25) { /* advance: mostly small, sometimes past every span */
      int64_t d = r < 1 ? longest + (int64_t)t_rand_below(&rng, 5000)
                        : (int64_t)t_rand_below(&rng, (uint64_t)unit_ms * 3);
      now += d;
      if (r < 3)
        day = now - (int64_t)t_rand_below(&rng, 1000); /* a new local day */
      at_now(&g, &wc, now, day);
      ccp_wset_advance(&s, &g);
    } else { /* mostly recent values, some late, some out of every window */
      int64_t back = r < 90 ? (int64_t)t_rand_below(&rng, (uint64_t)unit_ms * 40)
                            : (int64_t)t_rand_below(&rng, (uint64_t)longest + 2 * unit_ms);
      int64_t at = ccp_floordiv(now - back, g.unit);
      mval_t *m = &vals[nv++];
      m->at = at;
      int today_w = -1;
      for (int w = 0; w < nw; w++)
        if (!(g.trailing >> w & 1))
          today_w = w;
      m->day = today_w >= 0 && at >= g.edge[today_w] ? g.edge[today_w] : INT64_MIN;
      if (r < 80) {
        int k = (int)t_rand_below(&rng, NF);
        m->f = fields[k];
        m->amt = (int64_t)t_rand_below(&rng, 1000) - 100;
        if (t_rand_below(&rng, 20000) == 0) /* now and then a sum past int32: the rows widen */
          m->amt *= 5000000;
        ccp_wset_add(&s, &g, at, m->f, m->amt);
      } else {
        m->f = -1 - (int)t_rand_below(&rng, 2);
        m->bin = bins[t_rand_below(&rng, 4)];
        m->amt = t_rand_below(&rng, 4) ? 1 : 2 + (int64_t)t_rand_below(&rng, 3); /* samples */
        ccp_wset_add_bin(&s, &g, at, -1 - m->f, (uint16_t)m->bin, (uint32_t)m->amt);
      }
    }
    if (step % 7)
      continue;
    errors += check_store(&s, &g);
    max_ent = CCP_MAX(max_ent, s.nent);
    for (int w = 0; w < nw; w++) {
      int64_t want[NF] = {0};
      uint32_t want_bins[2][4] = {{0}};
      int is_today = !(g.trailing >> w & 1);
      for (int i = 0; i < nv; i++) {
        const mval_t *m = &vals[i];
        int in = is_today ? m->day == g.edge[w] : m->at >= g.edge[w];
        if (!in)
          continue;
        for (int k = 0; k < 4 && m->f < 0; k++)
          want_bins[-1 - m->f][k] += m->bin == bins[k] ? (uint32_t)m->amt : 0;
        for (int k = 0; k < NF && m->f >= 0; k++)
          want[k] += m->f == fields[k] ? m->amt : 0;
      }
      for (int k = 0; k < NF; k++)
        if (ccp_wset_get(&s, w, fields[k]) != want[k]) {
          fprintf(stderr, "step %d window %d: field %d total %" PRId64 ", expected %" PRId64 "\n",
                  step, w, fields[k], ccp_wset_get(&s, w, fields[k]), want[k]);
          errors++;
        }
      for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++) {
          const ccp_hist_t *hh = ccp_wset_hist(&s, w, h);
          uint32_t got = hh ? ccp_hist_get(hh, bins[k]) : 0;
          if (got != want_bins[h][k]) {
            fprintf(stderr, "step %d window %d: hist %d bin %u holds %u, expected %u\n", step, w, h,
                    bins[k], got, want_bins[h][k]);
            errors++;
          }
        }
    }
  }
  T_EQ_INT(errors, 0);
  /* merges keep the store near one entry per bucket of the finest remaining
   * granularity, whatever the number of values */
  T_TRUE(max_ent < 4000);
  fprintf(stderr, "  %d windows: %u entries, %u records, rows of %s\n", nw, s.nent, s.nhr,
          s.wide ? "int64" : "int32");
  T_TRUE(ccp_wset_bytes(&s, &g) > 0);
  ccp_wset_release(&s, &g);
}

static void test_randomized_default_windows(void) {
  static const int64_t w[][2] = {{60000, 5000},    {300000, 10000},    {900000, 30000},
                                 {3600000, 60000}, {86400000, 900000}, {0, 60000}};
  randomized(w, 6, 31337, 5000);
}

static void test_randomized_odd_windows(void) {
  /* granularities that do not nest (7 s, 1 h), a single-bucket window */
  static const int64_t w[][2] = {
      {60000, 1000}, {420000, 7000}, {3600000, 3600000}, {0, 300000}, {7200000, 3600000}};
  randomized(w, 5, 4242, 1000);
}

static void test_randomized_same_span(void) {
  /* two windows of one span and different granularities: their edges cross */
  static const int64_t w[][2] = {{300000, 10000}, {300000, 60000}, {120000, 20000}};
  randomized(w, 3, 777, 10000);
}

/* `today`: the same edge accumulates, a new edge resets the counters and
 * histograms; adds before the edge are ignored; nothing goes to the store. */
/* ccp_wset_add_run (what the engine's delta-log flush uses) leaves the set
 * exactly as the same values added one by one with ccp_wset_add: the saved
 * bytes are compared (entries, rows, widening, cursors, totals), over runs of
 * one base unit with zeros, new columns in the middle of a run and sums that
 * leave the int32 range. */
static void test_add_run_same_as_adds(void) {
  static const int64_t w[][2] = {{60000, 5000},    {300000, 10000},    {900000, 30000},
                                 {3600000, 60000}, {86400000, 900000}, {0, 60000}};
  ccp_config_t wc;
  ccp_wgeom_t g;
  geom(&g, &wc, w, 6);
  ccp_wset_t a, b;
  ccp_wset_init(&a);
  ccp_wset_init(&b);
  uint64_t rng = 4242;
  int64_t now = 1000000007LL, day = now - 1000;
  long differ = 0;
  for (int step = 0; step < 20000; step++) {
    if (t_rand_below(&rng, 4) == 0) {
      now += (int64_t)t_rand_below(&rng, 15000);
      at_now(&g, &wc, now, day);
      ccp_wset_advance(&a, &g);
      ccp_wset_advance(&b, &g);
    }
    int64_t at = ccp_floordiv(now - (int64_t)t_rand_below(&rng, 200000), g.unit);
    uint8_t f[12];
    int64_t amt[12];
    uint32_t n = 1 + (uint32_t)t_rand_below(&rng, 12);
    for (uint32_t i = 0; i < n; i++) {
      f[i] = (uint8_t)t_rand_below(&rng, CCP_F__COUNT);
      amt[i] = t_rand_below(&rng, 5) == 0 ? 0 : (int64_t)t_rand_below(&rng, 1000) - 100;
      if (t_rand_below(&rng, 5000) == 0)
        amt[i] *= 5000000; /* past int32: the rows widen in the middle of a run */
      ccp_wset_add(&a, &g, at, f[i], amt[i]);
    }
    ccp_wset_add_run(&b, &g, at, f, amt, n);
    if (step % 97)
      continue;
    ccp_buf_t sa, sb;
    ccp_buf_init(&sa);
    ccp_buf_init(&sb);
    ccp_wset_save(&a, &g, &sa);
    ccp_wset_save(&b, &g, &sb);
    if (sa.len != sb.len || memcmp(sa.data, sb.data, sa.len) != 0) {
      fprintf(stderr, "step %d: the sets differ (%zu and %zu bytes saved)\n", step, sa.len, sb.len);
      differ++;
    }
    ccp_buf_release(&sa);
    ccp_buf_release(&sb);
    if (differ >= 3)
      break;
  }
  T_EQ_INT(differ, 0);
  T_TRUE(a.wide); /* the run reached a widening */
  ccp_wset_release(&a, &g);
  ccp_wset_release(&b, &g);
}

static void test_today_window_reset(void) {
  static const int64_t w[][2] = {{0, 60000}};
  ccp_config_t wc;
  ccp_wgeom_t g;
  geom(&g, &wc, w, 1);
  const int64_t day = 86400000LL;
  ccp_wset_t s;
  ccp_wset_init(&s);
  at_now(&g, &wc, 10 * day + 5 * 60000, 10 * day);
  ccp_wset_advance(&s, &g);
  int64_t u0 = 10 * day / 60000;
  ccp_wset_add(&s, &g, u0 + 5, CCP_F_OPENED, 2);
  ccp_wset_add(&s, &g, u0, CCP_F_OPENED, 3);
  ccp_wset_add(&s, &g, u0 - 1, CCP_F_OPENED, 100); /* yesterday: ignored */
  ccp_wset_add_bin(&s, &g, u0 + 1, CCP_H_RES, 9, 1);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 5);
  T_EQ_INT(ccp_wset_hist(&s, 0, CCP_H_RES)->n, 1);
  T_EQ_INT(s.nent, 0);
  T_EQ_INT(s.nhr, 0);
  at_now(&g, &wc, 11 * day, 11 * day); /* the next day's first bucket */
  ccp_wset_advance(&s, &g);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 0);
  T_EQ_INT(ccp_wset_hist(&s, 0, CCP_H_RES)->n, 0);
  ccp_wset_add(&s, &g, u0 + 1440, CCP_F_OPENED, 1);
  ccp_wset_add(&s, &g, u0 + 1439, CCP_F_OPENED, 100);
  T_EQ_INT(ccp_wset_get(&s, 0, CCP_F_OPENED), 1);
  ccp_wset_release(&s, &g);
}

/* A quiet scope costs little: an agent-like set (the default windows) with
 * a few tickets' values spread over a day. */
static void test_quiet_scope_is_small(void) {
  static const int64_t w[][2] = {{60000, 5000},    {300000, 10000},    {900000, 30000},
                                 {3600000, 60000}, {86400000, 900000}, {0, 60000}};
  ccp_config_t wc;
  ccp_wgeom_t g;
  geom(&g, &wc, w, 6);
  ccp_wset_t s;
  ccp_wset_init(&s);
  int64_t t0 = 1800000000000LL;
  for (int ticket = 0; ticket < 5; ticket++) {
    int64_t t = t0 + ticket * 2 * HOUR;
    static const int f[] = {CCP_F_FRT_N,   CCP_F_FRT_SUM,   CCP_F_FRT_WITHIN, CCP_F_HANDLED,
                            CCP_F_AHT_SUM, CCP_F_HMS_PHONE, CCP_F_RESOLVED,   CCP_F_RES_N,
                            CCP_F_RES_SUM, CCP_F_FCR_N,     CCP_F_FCR_OK,     CCP_F_CUST};
    for (int step = 0; step < 3; step++) {
      t += 7 * 60000;
      at_now(&g, &wc, t, t0);
      ccp_wset_advance(&s, &g);
      for (int i = step * 4; i < step * 4 + 4; i++)
        ccp_wset_add(&s, &g, ccp_floordiv(t, g.unit), f[i], 1000 + i);
      ccp_wset_add_bin(&s, &g, ccp_floordiv(t, g.unit), step % 2, (uint16_t)(300 + ticket), 1);
    }
  }
  at_now(&g, &wc, t0 + 12 * HOUR, t0);
  ccp_wset_advance(&s, &g);
  size_t bytes = sizeof s + ccp_wset_bytes(&s, &g);
  fprintf(stderr, "  quiet scope: %zu bytes, %u entries, %u columns\n", bytes, s.nent, s.nc);
  T_TRUE(bytes < 4000);
  T_EQ_INT(ccp_wset_get(&s, 4, CCP_F_HANDLED), 5 * 1003);
  ccp_wset_release(&s, &g);
}

/* Bytes of the engine's tables that are not any one scope's (tickets,
 * duplicate filter, timers, maps, scope and combo arrays). */
static size_t shared_bytes(const ccp_engine_t *e) {
  return ccp_tickets_bytes(&e->tickets) + ccp_u64map_bytes(&e->dedup) +
         ccp_u64map_bytes(&e->scope_index) + ccp_u64map_bytes(&e->combo_index) +
         ccp_u64map_bytes(&e->acts) + ccp_u64map_bytes(&e->ids) + ccp_timers_bytes(&e->timers) +
         e->scopes_cap * sizeof *e->scopes + e->combos_cap * sizeof *e->combos +
         e->wsort_cap * sizeof *e->wsort + e->dirty_cap * sizeof *e->dirty +
         ccp_u64map_bytes(&e->rs) + e->xs_cap * sizeof *e->xs +
         (e->rs_x ? sizeof *e->rs_x + e->rs_x->cap * sizeof(uint64_t) : 0);
}

/* What a scope says it holds: its block with the name, windows, customer
 * map (and its exported entries) and delta log. */
static size_t scope_bytes(const ccp_engine_t *e, const ccp_scope_t *sc) {
  return sizeof *sc + sc->name_len + 1 + ccp_wset_bytes(&sc->ws, &e->geom) +
         ccp_u32map_bytes(&sc->cust) + sc->logcap * sizeof *sc->log +
         (sc->cust_x ? sizeof *sc->cust_x + sc->cust_x->cap * sizeof(uint64_t) : 0);
}

/* Sum of scope_bytes() over the first n scopes. */
static size_t scopes_bytes(const ccp_engine_t *e, uint32_t n) {
  size_t sum = 0;
  for (uint32_t i = 0; i < n; i++)
    sum += scope_bytes(e, e->scopes[i]);
  return sum;
}

/* One of a quiet agent's tickets, on a ticket opened before: its first
 * reply, a handled contact, the resolve and a survey, minutes apart. */
static void quiet_ticket(const char *ticket, int64_t t) {
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_AGENT_REPLY, t, ticket);
  ev->agent_id = S("a-quiet");
  ccp_engine_process(eng, ev);
  ev = mk(&b, CCP_EV_HANDLED, t + 4 * 60000, ticket);
  ev->agent_id = S("a-quiet");
  ev->talk_ms = 240000;
  ev->acw_ms = 30000;
  ccp_engine_process(eng, ev);
  ev = mk(&b, CCP_EV_RESOLVED, t + 5 * 60000, ticket);
  ev->agent_id = S("a-quiet");
  ccp_engine_process(eng, ev);
  ev = mk(&b, CCP_EV_SURVEY, t + 9 * 60000, ticket);
  ev->agent_id = S("a-quiet");
  ev->csat = 5;
  ccp_engine_process(eng, ev);
}

/* A quiet agent, a handful of tickets today, costs at most 4 KB in all: its
 * scope with its name, windows, store, histograms, customer map and delta
 * log, as the allocator counts them (ccp_mem_used) around its events and a
 * snapshot's export (the export's pooled blocks freed), less what the
 * engine-wide tables and the scopes its events also feed (all, its queue
 * and channel) grew by meanwhile. That count must equal what the scope
 * says it holds (so the latter misses nothing). Its tickets are opened
 * (without an agent) before the count. */
static void test_quiet_agent_is_small(void) {
  setup();                            /* the default windows */
  const int64_t t0 = 1767225600000LL; /* 2026-01-01T00:00Z */
  char id[16];
  for (int i = 0; i < 40; i++) { /* a busy scope or two around it */
    snprintf(id, sizeof id, "b%d", i);
    send(CCP_EV_OPENED, t0 + i * 60000, id);
  }
  for (int i = 0; i < 5; i++) {
    snprintf(id, sizeof id, "q%d", i);
    send(CCP_EV_OPENED, t0 + 3600000 + i * 60000, id);
  }
  ccp_partial_free(ccp_engine_export(eng, INT64_MIN));
  /* the export's blocks, given back to the engine's pool with the partial,
   * are kept only until the next export (or freed when none is needed):
   * not the scope's */
  ccp_words_pool_trim(eng->xpool);
  uint32_t n0 = eng->nscopes;
  size_t m0 = ccp_mem_used(), s0 = shared_bytes(eng) + scopes_bytes(eng, n0);
  for (int i = 0; i < 5; i++) { /* five tickets over the working day */
    snprintf(id, sizeof id, "q%d", i);
    quiet_ticket(id, t0 + (2 + 2 * i) * HOUR);
  }
  ccp_partial_free(ccp_engine_export(eng, t0 + 13 * HOUR));
  ccp_words_pool_trim(eng->xpool);
  size_t m1 = ccp_mem_used(), s1 = shared_bytes(eng) + scopes_bytes(eng, n0);
  long bytes = (long)(m1 - m0) - (long)(s1 - s0);
  T_EQ_INT(eng->nscopes, n0 + 1);
  const ccp_scope_t *sc = eng->scopes[n0];
  T_EQ_STR(sc->name, "agent:a-quiet");
  fprintf(stderr, "  quiet agent: %ld bytes (scope %zu, windows %zu, customers %zu)\n", bytes,
          sizeof *sc + sc->name_len + 1, ccp_wset_bytes(&sc->ws, &eng->geom),
          ccp_u32map_bytes(&sc->cust));
  T_EQ_INT(bytes, (long)scope_bytes(eng, sc));
  T_TRUE(bytes <= 4096);
  json_t *j = snap();
  T_EQ_DBL(kpi(j, "agent:a-quiet", "today", "handled"), 5, 0);
  json_decref(j);
  teardown();
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
  T_RUN(test_randomized_default_windows);
  T_RUN(test_randomized_odd_windows);
  T_RUN(test_randomized_same_span);
  T_RUN(test_add_run_same_as_adds);
  T_RUN(test_today_window_reset);
  T_RUN(test_quiet_scope_is_small);
  T_RUN(test_quiet_agent_is_small);
  T_RUN(test_today_half_hour_zone);
  T_RUN(test_today_reset_by_advance);
  T_RUN(test_today_25_hour_day);
  return T_DONE();
}
