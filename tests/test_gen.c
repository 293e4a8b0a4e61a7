/*
 * Tests of src/gen/gen.c, the workload generator behind `ccpulse gen` and
 * bench_engine: the same options give the same events; the planted
 * duplicates, late and invalid events come out at the requested fractions
 * (within tolerance) and the engine classifies them as such; every event
 * survives an Avro encode/decode round trip; the daily curve puts more
 * arrivals at 10:00 than at 03:00. The live (wall-clock) mode of `ccpulse
 * demo`: events never before their time and in time order, arrivals at the
 * rate, every lifecycle complete, first replies mostly within 25 s with a
 * share late enough to breach the demo's 30 s PHONE SLA.
 */
#include "ccp_test.h"
#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/decode.h"
#include "ccpulse/engine.h"
#include "ccpulse/tz.h"
#include "gen/gen.h"

#define N 200000

/* FNV-1a over the Avro encoding of every event. */
static uint64_t digest(const ccp_gen_opts_t *o) {
  ccp_gen_t *g = ccp_gen_new(o);
  T_TRUE(g != NULL);
  if (!g)
    return 0;
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_event_t ev;
  uint64_t h = 1469598103934665603ull, n = 0;
  while (ccp_gen_next(g, &ev) == 0) {
    ccp_buf_clear(&b);
    T_TRUE(ccp_avro_encode(&ev, &b) == 0);
    for (size_t i = 0; i < b.len; i++)
      h = (h ^ (uint8_t)b.data[i]) * 1099511628211ull;
    n++;
  }
  T_EQ_INT(n, o->events);
  ccp_buf_release(&b);
  ccp_gen_free(g);
  return h;
}

static void test_deterministic(void) {
  ccp_gen_opts_t a = {.events = N, .seed = 7};
  ccp_gen_opts_t b = a;
  b.seed = 8;
  uint64_t x = digest(&a), y = digest(&a), z = digest(&b);
  T_TRUE(x == y);
  T_TRUE(x != z);
  ccp_gen_opts_t d = a;
  d.daily = 1;
  T_TRUE(digest(&d) == digest(&d));
  T_TRUE(digest(&d) != x);
}

/* Runs the stream through an engine (after an Avro round trip) and checks the
 * verdicts against what the generator planted. */
static void check_fractions(double dup, double late, double invalid) {
  ccp_gen_opts_t o = {
      .events = N, .seed = 11, .dup_frac = dup, .late_frac = late, .invalid_frac = invalid};
  ccp_gen_t *g = ccp_gen_new(&o);
  T_TRUE(g != NULL);
  if (!g)
    return;
  const ccp_gen_stats_t *st = ccp_gen_stats(g);
  T_EQ_INT(st->events, N);
  /* each planted record follows one emitted lifecycle event */
  double base = (double)(N - st->duplicates - st->late - st->invalid);
  T_EQ_DBL((double)st->duplicates / base, dup, 0.25 * dup + 0.0005);
  T_EQ_DBL((double)st->late / base, late, 0.25 * late + 0.0005);
  T_EQ_DBL((double)st->invalid / base, invalid, 0.25 * invalid + 0.0005);

  char err[CCP_ERRBUF_SIZE];
  ccp_config_t cfg;
  ccp_config_init(&cfg);
  T_EQ_INT(ccp_config_finish(&cfg, err, sizeof err), 0);
  T_EQ_INT(ccp_tz_use(cfg.timezone, err, sizeof err), 0);
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  T_TRUE(e != NULL);
  ccp_avro_decoder_t *d =
      ccp_avro_decoder_new(ccp_avro_schema_v1, strlen(ccp_avro_schema_v1), err, sizeof err);
  T_TRUE(d != NULL);
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_event_t ev, back;
  long counts[4] = {0}, kinds[4] = {0}, bad = 0;
  while (e && d && ccp_gen_next(g, &ev) == 0) {
    kinds[ccp_gen_kind(g)]++;
    ccp_buf_clear(&b);
    T_TRUE(ccp_avro_encode(&ev, &b) == 0);
    if (ccp_avro_decode(d, b.data, b.len, &back, err, sizeof err) != 0) {
      bad++;
      continue;
    }
    if (back.ts != ev.ts || back.type != ev.type || back.ticket_id.len != ev.ticket_id.len)
      bad++;
    counts[ccp_engine_process(e, &back)]++;
  }
  T_EQ_INT(bad, 0);
  T_EQ_INT(kinds[CCP_GEN_DUP], st->duplicates);
  T_EQ_INT(kinds[CCP_GEN_LATE], st->late);
  T_EQ_INT(kinds[CCP_GEN_INVALID], st->invalid);
  /* the engine sees what was planted: every duplicate and invalid event; late
   * ones may also arrive before stream time has moved on (then accepted) */
  T_EQ_INT(counts[CCP_DUPLICATE], st->duplicates);
  T_EQ_INT(counts[CCP_INVALID], st->invalid);
  T_TRUE(counts[CCP_LATE] <= (long)st->late);
  T_TRUE(counts[CCP_LATE] >= (long)st->late * 9 / 10);
  ccp_buf_release(&b);
  ccp_avro_decoder_free(d);
  ccp_engine_free(e);
  ccp_config_release(&cfg);
  ccp_gen_free(g);
}

static void test_fractions_default(void) { check_fractions(0.005, 0.002, 0.002); }
static void test_fractions_high(void) { check_fractions(0.05, 0.03, 0.02); }

static void test_none(void) {
  ccp_gen_opts_t o = {.events = N, .seed = 3, .dup_frac = -1, .late_frac = -1, .invalid_frac = -1};
  ccp_gen_t *g = ccp_gen_new(&o);
  T_TRUE(g != NULL);
  if (!g)
    return;
  T_EQ_INT(ccp_gen_stats(g)->duplicates, 0);
  T_EQ_INT(ccp_gen_stats(g)->late, 0);
  T_EQ_INT(ccp_gen_stats(g)->invalid, 0);
  ccp_gen_free(g);
  ccp_gen_opts_t bad = {.events = N, .dup_frac = 0.4, .late_frac = 0.2};
  T_TRUE(ccp_gen_new(&bad) == NULL);
}

/* Daily curve: OPENED events per hour of the first day follow the weights. */
static void test_daily(void) {
  ccp_gen_opts_t o = {.events = N, .seed = 5, .daily = 1, .start_ms = 1795046400000LL};
  ccp_gen_t *g = ccp_gen_new(&o);
  T_TRUE(g != NULL);
  if (!g)
    return;
  long per_hour[24] = {0};
  ccp_event_t ev;
  while (ccp_gen_next(g, &ev) == 0) {
    int64_t rel = ev.ts - o.start_ms;
    if (ev.type == CCP_EV_OPENED && ccp_gen_kind(g) == CCP_GEN_NORMAL && rel >= 0 &&
        rel < 24 * 3600000LL)
      per_hour[rel / 3600000]++;
  }
  T_TRUE(per_hour[10] > 5 * per_hour[3]);
  T_TRUE(per_hour[15] > 3 * per_hour[22]);
  ccp_gen_free(g);
}

/* Live mode on a simulated clock: 20 ms ticks for 10 minutes, arrivals
 * during the first 2 (one whole period of the wave). */
static void test_live(void) {
  ccp_gen_live_opts_t lo = {.rate = 20, .seed = 42, .start_ms = 1795000000000LL};
  T_TRUE(ccp_gen_live_new(&(ccp_gen_live_opts_t){.rate = -1}) == NULL);
  T_TRUE(ccp_gen_live_new(&(ccp_gen_live_opts_t){.rate = 200000}) == NULL);
  ccp_gen_t *g = ccp_gen_live_new(&lo);
  T_TRUE(g != NULL);
  if (!g)
    return;
  ccp_event_t ev;
  T_EQ_INT(ccp_gen_next(g, &ev), -CCP_EEOF); /* not a batch stream */
  ccp_buf_t b;
  ccp_buf_init(&b);
  enum { MAXT = 4000 };
  static int64_t opened[MAXT], first_reply[MAXT];
  static int done[MAXT];
  long long first = -1;
  int nt = 0, disorder = 0, early = 0, bad_encode = 0;
  long events = 0;
  int64_t last_ts = INT64_MIN, now = lo.start_ms;
  for (int tick = 1; tick <= 30000; tick++) {
    now = lo.start_ms + 20LL * tick;
    while (ccp_gen_live_next(g, now, &ev) == 0) {
      events++;
      disorder += ev.ts < last_ts;
      early += ev.ts > now;
      last_ts = ev.ts;
      ccp_buf_clear(&b);
      bad_encode += ccp_avro_encode(&ev, &b) != 0;
      /* tickets are numbered in order of arrival: T<first + k> */
      char id[24];
      snprintf(id, sizeof id, "%.*s", (int)ev.ticket_id.len, ev.ticket_id.ptr);
      long long num = strtoll(id + 1, NULL, 10);
      if (first < 0)
        first = num;
      long long k = num - first;
      if (ev.type == CCP_EV_OPENED && k == nt && nt < MAXT && now <= lo.start_ms + 120000) {
        nt++;
        opened[k] = ev.ts;
        first_reply[k] = -1;
      }
      if (k < 0 || k >= nt)
        continue;
      if (ev.type == CCP_EV_AGENT_REPLY && first_reply[k] < 0 && ev.channel == CCP_CH_PHONE)
        first_reply[k] = ev.ts;
      done[k] |= ev.type == CCP_EV_RESOLVED || ev.type == CCP_EV_ABANDONED;
    }
  }
  T_EQ_INT(disorder, 0);
  T_EQ_INT(early, 0);
  T_EQ_INT(bad_encode, 0);
  /* 20 tickets/s over one period of the wave: about 2400 */
  T_TRUE(nt > 2200 && nt < 2600);
  int complete = 0, phone = 0, late = 0;
  for (int i = 0; i < nt; i++) {
    complete += done[i];
    if (first_reply[i] >= 0) {
      phone++;
      late += first_reply[i] - opened[i] > 30000;
    }
  }
  T_EQ_INT(complete, nt);
  T_TRUE(phone > nt / 4);
  /* 15 % answered after 30-90 s, plus some of the rest near 30 s */
  T_TRUE(late > phone / 20 && late < phone / 3);
  T_TRUE(ccp_gen_stats(g)->tickets >= (uint64_t)nt);
  ccp_buf_release(&b);
  ccp_gen_free(g);
}

int main(void) {
  T_RUN(test_deterministic);
  T_RUN(test_fractions_default);
  T_RUN(test_fractions_high);
  T_RUN(test_none);
  T_RUN(test_daily);
  T_RUN(test_live);
  return T_DONE();
}
