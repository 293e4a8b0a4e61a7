/*
 * Tests of src/gen/gen.c, the workload generator behind `ccpulse gen` and
 * bench_engine: the same options give the same events; the planted
 * duplicates, late and invalid events come out at the requested fractions
 * (within tolerance) and the engine classifies them as such; every event
 * survives an Avro encode/decode round trip; the daily curve puts more
 * arrivals at 10:00 than at 03:00.
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

int main(void) {
  T_RUN(test_deterministic);
  T_RUN(test_fractions_default);
  T_RUN(test_fractions_high);
  T_RUN(test_none);
  T_RUN(test_daily);
  return T_DONE();
}
