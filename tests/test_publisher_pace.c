/* labels: unit threads */
/*
 * The publisher's pacing while catching up (docs/live.md, "Catching up"),
 * through the real publisher thread and a source that reports what the
 * test sets: the bundles' backlog, the records read so far and the stream
 * time (old data, or the wall clock: live). publish.interval is 10 ms,
 * publish.catchup_interval 1.5 s; the bounds below leave a loaded machine
 * an order of magnitude of room. Last, the finish request ends the wait
 * between cycles (an hour apart there).
 */
#include <stdatomic.h>

#include "ccp_test.h"
#include "ccpulse/clock.h"
#include "ccpulse/config.h"
#include "ccpulse/view.h"
#include "publish/publisher.h"

#define T_OLD 1795000000000LL /* a stream time far behind the wall clock */

static _Atomic int64_t backlog, consumed, stream_live;

static int64_t src_report(void *opaque) {
  (void)opaque;
  return atomic_load(&stream_live) ? ccp_clock_wall_ms() : T_OLD;
}

static void src_collect(void *opaque, int64_t now_ms, int64_t live_ms,
                        ccp_publisher_bundle_t **bundles) {
  (void)opaque;
  (void)now_ms;
  (void)live_ms;
  bundles[0] = ccp_calloc(1, sizeof *bundles[0]);
  bundles[0]->backlog = atomic_load(&backlog);
}

static void src_commit(void *opaque, ccp_publisher_bundle_t *const *bundles) {
  (void)opaque;
  (void)bundles;
}

static int64_t src_consumed(void *opaque) {
  (void)opaque;
  return atomic_load(&consumed);
}

static int pub_ok(void *opaque, const ccp_view_t *v, const ccp_alert_t *alerts, int n) {
  (void)opaque;
  (void)v;
  (void)alerts;
  (void)n;
  return 0;
}

static int64_t cycles(const ccp_publisher_t *p) {
  ccp_publisher_stats_t st;
  ccp_publisher_stats(p, &st);
  return st.cycles;
}

/* Waits until a cycle after the present one has ended (at most ms). */
static int next_cycle(const ccp_publisher_t *p, int64_t ms) {
  int64_t c0 = cycles(p), t0 = ccp_clock_mono_ms();
  while (cycles(p) == c0 && ccp_clock_mono_ms() - t0 < ms)
    ccp_clock_sleep_ms(1);
  return cycles(p) > c0;
}

/* Cycles that end within the next ms. */
static int64_t cycles_in(const ccp_publisher_t *p, int64_t ms) {
  int64_t c0 = cycles(p);
  ccp_clock_sleep_ms(ms);
  return cycles(p) - c0;
}

/* A publisher every `every`, publish.catchup_interval as given, on old data
 * a million records behind of which none is read yet. */
static ccp_publisher_t *start_every(ccp_config_t *c, const char *every, const char *catchup) {
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(c);
  T_EQ_INT(ccp_config_set(c, "publish.interval", every, "test", err, sizeof err), 0);
  T_EQ_INT(ccp_config_set(c, "publish.catchup_interval", catchup, "test", err, sizeof err), 0);
  T_EQ_INT(ccp_config_finish(c, err, sizeof err), 0);
  atomic_store(&stream_live, 0);
  atomic_store(&backlog, 1000000);
  atomic_store(&consumed, 0);
  ccp_publisher_opts_t o = {.cfg = c,
                            .publish = pub_ok,
                            .src = {.nbundles = 1,
                                    .report = src_report,
                                    .collect = src_collect,
                                    .commit = src_commit,
                                    .consumed = src_consumed}};
  ccp_publisher_t *p = ccp_publisher_new(&o);
  T_EQ_INT(ccp_publisher_start(p), 0);
  return p;
}

static ccp_publisher_t *start(ccp_config_t *c, const char *catchup) {
  return start_every(c, "10ms", catchup);
}

static void test_paced_while_catching_up(void) {
  ccp_config_t c;
  ccp_publisher_t *p = start(&c, "1500ms");
  /* nothing read: one cycle per catchup interval */
  T_TRUE(next_cycle(p, 5000));
  T_TRUE(next_cycle(p, 5000)); /* the first one saw the backlog */
  T_LE_INT(cycles_in(p, 1000), 1);
  /* the first records read: the cycle after them comes at once (the first
   * figures within an interval, not a catchup interval later), the next
   * one is paced again */
  T_TRUE(next_cycle(p, 5000)); /* just after a cycle: the next is paced */
  atomic_fetch_add(&consumed, 1000);
  T_TRUE(next_cycle(p, 700)); /* nominally 10 ms */
  T_LE_INT(cycles_in(p, 1000), 1);
  /* reading, but far from the end at this pace: still paced */
  for (int i = 0; i < 50; i++) {
    atomic_fetch_add(&consumed, 1000);
    ccp_clock_sleep_ms(20);
  }
  T_TRUE(next_cycle(p, 5000)); /* (the catchup interval may have run out meanwhile) */
  T_LE_INT(cycles_in(p, 1000), 1);
  /* everything read (and none left for the next export): the next cycle
   * comes at once, not a catchup interval later, and so do the ones after */
  atomic_store(&backlog, 0);
  atomic_fetch_add(&consumed, 1000000); /* the whole backlog of the last cycle */
  T_TRUE(next_cycle(p, 700));
  T_TRUE(cycles_in(p, 400) >= 8); /* nominally 40 */
  /* a live stream is never paced, whatever its backlog */
  atomic_store(&stream_live, 1); /* first: a cycle between the two must not see old data behind */
  atomic_store(&backlog, 1000000);
  T_TRUE(next_cycle(p, 700));
  T_TRUE(cycles_in(p, 400) >= 8);
  T_EQ_INT(ccp_publisher_finish(p), 0);
  ccp_publisher_free(p);
  ccp_config_release(&c);
}

static void test_catchup_off(void) {
  ccp_config_t c;
  ccp_publisher_t *p = start(&c, "off");
  T_EQ_INT(c.catchup_interval_ms, 0);
  T_TRUE(next_cycle(p, 5000));
  T_TRUE(cycles_in(p, 400) >= 8);
  T_EQ_INT(ccp_publisher_finish(p), 0);
  ccp_publisher_free(p);
  ccp_config_release(&c);
}

/* The wait for the next cycle ends when the owner asks for the final one:
 * with an hour between cycles, finish returns at once, after that cycle. */
static void test_finish_ends_the_wait(void) {
  ccp_config_t c;
  ccp_publisher_t *p = start_every(&c, "1h", "off");
  ccp_clock_sleep_ms(50); /* the thread is in its wait by now */
  T_EQ_INT(cycles(p), 0);
  int64_t t0 = ccp_clock_mono_ms();
  T_EQ_INT(ccp_publisher_finish(p), 0);
  T_LE_INT(ccp_clock_mono_ms() - t0, 3000); /* not an hour */
  T_EQ_INT(cycles(p), 1);                   /* the final cycle */
  ccp_publisher_free(p);
  ccp_config_release(&c);
}

int main(void) {
  T_RUN(test_paced_while_catching_up);
  T_RUN(test_catchup_off);
  T_RUN(test_finish_ends_the_wait);
  return T_DONE();
}
