/* labels: kafka-mock threads */
/*
 * Tests of the live consumer (src/consume) on librdkafka's in-process mock
 * cluster, no Redis (a publish callback keeps the last snapshot JSON):
 *   - 3 partitions, 2 workers: the merged snapshot equals, every field, one
 *     engine per partition fed that partition's events (routed as the
 *     producer routes them: librdkafka's default partitioner on the key),
 *     exported at the largest stream time and merged, as `ccpulse replay
 *     --partitions 3` does (replies at or 1 ms past their deadlines, see
 *     make_event); a garbage record lands in the dead-letter
 *     topic with its reason/topic/partition/offset headers and counts as
 *     dead_letter = 1;
 *   - a failing publish commits nothing: a second consumer of the group then
 *     reads every event again;
 *   - rebalance: a second member joins the group (cooperative-sticky), the
 *     first gives partitions up while its workers run; at the end the two
 *     members' views together count every event exactly once;
 *   - partitions read at very different speeds (one on a broker that answers
 *     after 1.5 s): while the view stands at the
 *     final now, the slow partition breaches no ticket replied at its
 *     deadline; at the end the snapshot equals that of one engine per
 *     partition, and a ticket whose deadline only the global now passes
 *     (not its partition's events) never breaches (old data: the wall
 *     clock does not apply).
 * Run it under ThreadSanitizer (CCP_SANITIZE=thread) to check the hand-overs,
 * with TSAN_OPTIONS=suppressions=tests/tsan.supp (librdkafka's own atomics);
 * the C11 thread shims of tsan_c11_threads.h make librdkafka's threads and
 * locks visible.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ccp_test.h"
#include "ccpulse/clock.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/engine.h"
#include "ccpulse/partial.h"
#include "ccpulse/tz.h"
#include "ccpulse/view.h"
#include "dlq_testutil.h"
#include "tsan_c11_threads.h"

#define NTICKETS 200
#define T0 1795347000000LL

static ccp_mock_t *mock;
static char topic[64];
static const char *brokers; /* where members connect: the mock, or the uneven test's cluster */

/* The events: each ticket OPENED, AGENT_REPLY (some late), RESOLVED, in ts order. */
static int make_event(int i, ccp_event_t *ev, char *eid, char *tid, char *cid) {
  int t = i / 3, kind = i % 3;
  ccp_event_clear(ev);
  snprintf(eid, 32, "e%d", i);
  snprintf(tid, 32, "t%d", t);
  snprintf(cid, 32, "c%d", t % 37);
  ev->event_id = (ccp_str_t){eid, strlen(eid)};
  ev->ticket_id = (ccp_str_t){tid, strlen(tid)};
  ev->customer_id = (ccp_str_t){cid, strlen(cid)};
  ev->queue = (ccp_str_t){t % 2 ? "billing" : "tech", t % 2 ? 7 : 4};
  ev->channel = (uint8_t)(t % 4);
  ev->type = kind == 0 ? CCP_EV_OPENED : kind == 1 ? CCP_EV_AGENT_REPLY : CCP_EV_RESOLVED;
  if (kind)
    ev->agent_id = (ccp_str_t){"a-1", 3};
  /* replies at the deadline (within), 1 ms past it (a breach) or far past
   * it (sla.* = 30s, config()): partitions are read at uneven speed, and
   * only deadlines judged on each partition's own stream time (KPIS.md §2)
   * keep the first two apart as the per-partition reference does */
  int64_t reply = t % 3 == 0 ? 30000 : t % 3 == 1 ? 30001 : 900000;
  ev->ts = T0 + (int64_t)t * 1000 + (kind == 1 ? reply : kind == 2 ? 1000000 : 0);
  return 0;
}

#define NEVENTS (3 * NTICKETS)

/* The partition librdkafka's default partitioner gives a message keyed by
 * key (what the producers here use). */
static int partition_of(const char *key, int n) {
  return (int)rd_kafka_msg_partitioner_consistent_random(NULL, key, strlen(key), n, NULL, NULL);
}

/* The snapshot of n partitions' engines: each exported at the largest
 * stream time and merged, as the live publisher does (and `ccpulse replay
 * --partitions n`); frees the engines. */
static char *merged_json(const ccp_config_t *cfg, ccp_engine_t **e, int n) {
  int64_t g = INT64_MIN;
  for (int i = 0; i < n; i++)
    g = CCP_MAX(g, ccp_engine_now(e[i]));
  ccp_view_t *v = ccp_view_new(cfg);
  for (int i = 0; i < n; i++) {
    ccp_partial_t *p = ccp_engine_export(e[i], g);
    ccp_view_merge(v, p);
    ccp_partial_free(p);
    ccp_engine_free(e[i]);
  }
  ccp_buf_t out;
  ccp_buf_init(&out);
  ccp_view_snapshot_json(v, &out);
  char *js = ccp_strdup(out.data);
  ccp_buf_release(&out);
  ccp_view_free(v);
  return js;
}

#define NPARTS 3 /* of the topic "tickets" */

/* Reference: one engine per partition, each fed its partition's events in
 * ts order (the produce order), merged. */
static char *reference_json(const ccp_config_t *cfg, int with_garbage) {
  char err[256];
  ccp_engine_t *e[NPARTS];
  for (int p = 0; p < NPARTS; p++)
    e[p] = ccp_engine_new(cfg, err, sizeof err);
  /* sort by ts: produce order is by index, engine order must be by time */
  int idx[NEVENTS];
  int64_t ts[NEVENTS];
  char a[32], b[32], c[32];
  ccp_event_t ev;
  for (int i = 0; i < NEVENTS; i++) {
    make_event(i, &ev, a, b, c);
    idx[i] = i;
    ts[i] = ev.ts;
  }
  for (int i = 1; i < NEVENTS; i++)
    for (int j = i; j > 0 && ts[idx[j - 1]] > ts[idx[j]]; j--) {
      int t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  for (int i = 0; i < NEVENTS; i++) {
    make_event(idx[i], &ev, a, b, c);
    ccp_engine_process(e[partition_of(b, NPARTS)], &ev);
  }
  if (with_garbage)
    ccp_engine_count_undecodable(e[partition_of("bad", NPARTS)]);
  return merged_json(cfg, e, NPARTS);
}

/* Produces the events in ts order (keyed by ticket) plus one garbage record. */
static void produce_range(int lo, int hi, int garbage) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", ccp_mock_bootstraps(mock), err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  CCP_ASSERT(p);
  int n = hi - lo;
  int *idx = ccp_calloc((size_t)n, sizeof *idx);
  int64_t *ts = ccp_calloc((size_t)n, sizeof *ts);
  char a[32], b[32], c[32];
  ccp_event_t ev;
  for (int i = 0; i < n; i++) {
    make_event(lo + i, &ev, a, b, c);
    idx[i] = lo + i;
    ts[i] = ev.ts;
  }
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && ts[idx[j - 1] - lo] > ts[idx[j] - lo]; j--) {
      int t = idx[j];
      idx[j] = idx[j - 1];
      idx[j - 1] = t;
    }
  ccp_buf_t val;
  ccp_buf_init(&val);
  for (int i = 0; i < n; i++) {
    make_event(idx[i], &ev, a, b, c);
    ccp_buf_clear(&val);
    CCP_ASSERT(ccp_avro_encode(&ev, &val) == 0);
    CCP_ASSERT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(b, strlen(b)), RD_KAFKA_V_VALUE(val.data, val.len),
                                 RD_KAFKA_V_END) == 0);
  }
  if (garbage)
    CCP_ASSERT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY("bad", 3),
                                 RD_KAFKA_V_VALUE("\x7f garbage", 9), RD_KAFKA_V_END) == 0);
  CCP_ASSERT(rd_kafka_flush(p, 10000) == 0);
  ccp_buf_release(&val);
  rd_kafka_destroy(p);
  ccp_free(idx);
  ccp_free(ts);
}

/* A member of the group: runs ccp_consumer_run on its own thread. */
typedef struct member {
  ccp_consumer_t *c;
  pthread_t th;
  pthread_mutex_t mu;
  char *json;      /* last snapshot (guarded by mu) */
  int64_t events;  /* diagnostics.events of the last view (guarded by mu) */
  int breaches;    /* sla_breach alerts published (guarded by mu) */
  int early;       /* of them, for tickets replied at their deadline (uneven test) */
  int so;          /* of them, for "so" (uneven test: never due on its partition's time) */
  int lag_cycles;  /* views at the final now that still miss events (uneven test) */
  atomic_int fail; /* publish fails while set */
  int rc;
  /* alert cap test (publish_ckpt): the opts' alert_cap, and what the calls got */
  size_t alert_cap;
  int workers;
  int64_t alerts;  /* alerts handed over (every member) */
  int64_t dropped; /* alert cap test: dropped before them (x->alerts_dropped) */
  int over;        /* calls that broke the cap's bounds */
  int disorder;    /* alerts older than one handed before them, on their partition */
  int64_t last_fire[NPARTS];
} member_t;

/* Uneven test: the final now and the number of events (else INT64_MIN, 0). */
static int64_t uneven_now = INT64_MIN, uneven_total;

static int64_t json_now(const char *js) {
  const char *d = strstr(js, "\"now_ms\":");
  return d ? atoll(d + strlen("\"now_ms\":")) : INT64_MIN;
}

static int64_t json_events(const char *js) {
  const char *d = strstr(js, "\"diagnostics\":{\"events\":");
  return d ? atoll(d + strlen("\"diagnostics\":{\"events\":")) : -1;
}

static int on_publish(void *opaque, const ccp_view_t *v, const ccp_alert_t *al, int n) {
  member_t *m = opaque;
  if (atomic_load(&m->fail))
    return -1;
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_view_snapshot_json(v, &b);
  pthread_mutex_lock(&m->mu);
  ccp_free(m->json);
  m->json = ccp_strdup(b.data);
  m->events = json_events(m->json);
  m->alerts += n;
  for (int i = 0; i < n; i++) {
    if (al[i].kind != CCP_ALERT_SLA_BREACH)
      continue;
    m->breaches++;
    /* uneven test: "s<even>" was replied exactly at its deadline */
    if (al[i].ticket_id[0] == 's' && al[i].ticket_id[1] != 'o' &&
        atoi(al[i].ticket_id + 1) % 2 == 0)
      m->early++;
    m->so += strcmp(al[i].ticket_id, "so") == 0;
  }
  if (uneven_now != INT64_MIN && m->events < uneven_total && json_now(m->json) == uneven_now)
    m->lag_cycles++;
  pthread_mutex_unlock(&m->mu);
  ccp_buf_release(&b);
  return 0;
}

/* The firing time of a deadline alert (a breach is due a ms before its timer). */
static int64_t fire_time(const ccp_alert_t *a) {
  return a->at_ms + (a->kind == CCP_ALERT_SLA_BREACH);
}

/* publish_ckpt of the alert cap test: on_publish, then the cap's bounds (a
 * worker hands at most alert_cap per cycle, and drops only once it holds
 * that many) and each partition's alerts in firing order across calls. */
static int on_publish_x(void *opaque, const ccp_view_t *v, const ccp_alert_t *al, int n,
                        ccp_publish_extra_t *x) {
  member_t *m = opaque;
  int rc = on_publish(opaque, v, al, n);
  if (rc)
    return rc;
  pthread_mutex_lock(&m->mu);
  m->dropped += x->alerts_dropped;
  if (m->alert_cap && ((size_t)n > m->alert_cap * (size_t)m->workers ||
                       (x->alerts_dropped > 0 && (size_t)n < m->alert_cap)))
    m->over++;
  for (int i = 0; i < n; i++) {
    int p = partition_of(al[i].ticket_id, NPARTS);
    m->disorder += fire_time(&al[i]) < m->last_fire[p];
    m->last_fire[p] = fire_time(&al[i]);
  }
  pthread_mutex_unlock(&m->mu);
  return 0;
}

static void *member_main(void *arg) {
  member_t *m = arg;
  m->rc = ccp_consumer_run(m->c);
  return NULL;
}

/* alert_cap > 0: through publish_ckpt (on_publish_x) with that cap. */
static void member_start_cap(member_t *m, const ccp_config_t *cfg, int workers, size_t alert_cap) {
  memset(m, 0, sizeof *m);
  pthread_mutex_init(&m->mu, NULL);
  m->alert_cap = alert_cap;
  m->workers = workers;
  for (int p = 0; p < NPARTS; p++)
    m->last_fire[p] = INT64_MIN;
  ccp_consumer_opts_t o = {.cfg = cfg,
                           .brokers = brokers,
                           .workers = workers,
                           .publish = alert_cap ? NULL : on_publish,
                           .publish_ckpt = alert_cap ? on_publish_x : NULL,
                           .alert_cap = alert_cap,
                           .opaque = m,
                           .final_timeout_ms = 300};
  char err[512];
  m->c = ccp_consumer_new(&o, err, sizeof err);
  if (!m->c)
    fprintf(stderr, "consumer: %s\n", err);
  CCP_ASSERT(m->c);
  CCP_ASSERT(pthread_create(&m->th, NULL, member_main, m) == 0);
}

static void member_start(member_t *m, const ccp_config_t *cfg, int workers) {
  member_start_cap(m, cfg, workers, 0);
}

static int64_t member_events(member_t *m) {
  pthread_mutex_lock(&m->mu);
  int64_t n = m->json ? m->events : 0;
  pthread_mutex_unlock(&m->mu);
  return n;
}

static void member_stop(member_t *m) {
  ccp_consumer_stop(m->c);
  pthread_join(m->th, NULL);
  ccp_consumer_free(m->c);
  pthread_mutex_destroy(&m->mu);
}

/* Waits up to 30 s for pred(m) to be true. */
static int wait_events(member_t *m, int64_t want) {
  for (int i = 0; i < 600; i++) {
    if (member_events(m) == want)
      return 1;
    ccp_clock_sleep_ms(50);
  }
  ccp_consumer_stats_t st;
  ccp_consumer_stats(m->c, &st);
  fprintf(stderr,
          "wait_events: want %lld, view has %lld; consumed %lld, partitions %lld, cycles %lld\n",
          (long long)want, (long long)member_events(m), (long long)st.messages,
          (long long)st.partitions, (long long)st.cycles);
  return 0;
}

static void config(ccp_config_t *cfg, const char *group) {
  char err[256];
  ccp_config_init(cfg);
  CCP_ASSERT(ccp_config_set(cfg, "kafka.topic", topic, NULL, err, sizeof err) == 0);
  CCP_ASSERT(ccp_config_set(cfg, "kafka.group", group, NULL, err, sizeof err) == 0);
  CCP_ASSERT(ccp_config_set(cfg, "kafka.fetch.wait.max.ms", "5", NULL, err, sizeof err) == 0);
  CCP_ASSERT(ccp_config_set(cfg, "kafka.log_level", "3", NULL, err, sizeof err) == 0);
  /* a member that left uncleanly is forgotten quickly */
  CCP_ASSERT(ccp_config_set(cfg, "kafka.session.timeout.ms", "6000", NULL, err, sizeof err) == 0);
  CCP_ASSERT(ccp_config_set(cfg, "kafka.heartbeat.interval.ms", "500", NULL, err, sizeof err) == 0);
  CCP_ASSERT(ccp_config_set(cfg, "publish.interval", "50ms", NULL, err, sizeof err) == 0);
  static const char *const sla[] = {"sla.PHONE", "sla.CHAT", "sla.EMAIL", "sla.SOCIAL"};
  for (size_t i = 0; i < CCP_ARRAY_LEN(sla); i++)
    CCP_ASSERT(ccp_config_set(cfg, sla[i], "30s", NULL, err, sizeof err) == 0);
  CCP_ASSERT(ccp_config_finish(cfg, err, sizeof err) == 0);
}

static void test_merge_and_dlq(void) {
  ccp_config_t cfg;
  config(&cfg, "g1");
  member_t m;
  member_start(&m, &cfg, 2);
  T_TRUE(wait_events(&m, NEVENTS + 1));
  ccp_clock_sleep_ms(200); /* a few more cycles: commits done */
  member_stop(&m);
  T_EQ_INT(m.rc, 0);
  char *ref = reference_json(&cfg, 1);
  /* every field, sla_breaches included: each partition judges deadlines on
   * its own stream time, as each reference engine does */
  T_TRUE(m.json && strcmp(m.json, ref) == 0);
  if (m.json && strcmp(m.json, ref) != 0) {
    size_t i = 0;
    while (m.json[i] == ref[i])
      i++;
    fprintf(stderr, "first difference at byte %zu: live ...%.120s\n  reference ...%.120s\n", i,
            m.json + (i > 60 ? i - 60 : 0), ref + (i > 60 ? i - 60 : 0));
  }
  ccp_free(ref);
  ccp_free(m.json);

  /* the dead-letter topic has the record with its headers */
  char dlq[128];
  snprintf(dlq, sizeof dlq, "%s.dlq", topic);
  rd_kafka_t *rk = dlq_reader(mock, dlq);
  rd_kafka_message_t *msg = NULL;
  for (int i = 0; i < 100 && !msg; i++) {
    msg = rd_kafka_consumer_poll(rk, 100);
    if (msg && msg->err) {
      rd_kafka_message_destroy(msg);
      msg = NULL;
    }
  }
  T_TRUE(msg != NULL);
  if (msg) {
    T_EQ_INT(msg->len, 9);
    T_TRUE(msg->len == 9 && memcmp(msg->payload, "\x7f garbage", 9) == 0);
    rd_kafka_headers_t *h = NULL;
    T_EQ_INT(rd_kafka_message_headers(msg, &h), 0);
    const void *hv;
    size_t hl;
    T_EQ_INT(rd_kafka_header_get_last(h, "ccpulse.reason", &hv, &hl), 0);
    T_TRUE(hl > 0);
    T_EQ_INT(rd_kafka_header_get_last(h, "ccpulse.topic", &hv, &hl), 0);
    T_TRUE(hl == strlen(topic) && memcmp(hv, topic, hl) == 0);
    T_EQ_INT(rd_kafka_header_get_last(h, "ccpulse.partition", &hv, &hl), 0);
    T_EQ_INT(rd_kafka_header_get_last(h, "ccpulse.offset", &hv, &hl), 0);
    rd_kafka_message_destroy(msg);
  }
  dlq_reader_free(rk);
  ccp_config_release(&cfg);
}

/* Group g1 committed everything: a new member of g1 sees nothing new;
 * group g2 with failing publishes commits nothing, so g2 again reads all. */
static void test_no_commit_without_publish(void) {
  ccp_config_t cfg;
  config(&cfg, "g2");
  member_t m;
  member_start(&m, &cfg, 1);
  atomic_store(&m.fail, 1);
  ccp_clock_sleep_ms(1500); /* consumes everything, publishes nothing */
  member_stop(&m);
  T_EQ_INT(m.rc, -CCP_EIO); /* the final publish failed too */
  T_TRUE(m.json == NULL);

  member_start(&m, &cfg, 1);
  T_TRUE(wait_events(&m, NEVENTS + 1)); /* all of it again */
  member_stop(&m);
  T_EQ_INT(m.rc, 0);
  ccp_free(m.json);

  member_start(&m, &cfg, 1); /* committed now: starts at the end */
  ccp_clock_sleep_ms(1500);
  member_stop(&m);
  T_EQ_INT(m.rc, 0);
  T_TRUE(m.json == NULL || json_events(m.json) == 0);
  ccp_free(m.json);
  ccp_config_release(&cfg);
}

/* More deadline alerts in a cycle than the publish function keeps
 * (ccp_consumer_opts_t.alert_cap, `run`'s alert queue): each worker hands
 * over only its newest alert_cap and counts the older ones, so handed +
 * dropped is every alert the engines fired (as counted by a member without
 * a cap), each partition's alerts still come in firing order, and the
 * view is the same. */
static void test_alert_cap(void) {
  ccp_config_t cfg;
  config(&cfg, "g5a");
  char err[256];
  CCP_ASSERT(ccp_config_set(&cfg, "checkpoint.interval", "off", NULL, err, sizeof err) == 0);
  member_t all, cap;
  member_start(&all, &cfg, 2);
  T_TRUE(wait_events(&all, NEVENTS + 1));
  member_stop(&all);
  T_EQ_INT(all.rc, 0);
  ccp_config_release(&cfg);

  config(&cfg, "g5b");
  CCP_ASSERT(ccp_config_set(&cfg, "checkpoint.interval", "off", NULL, err, sizeof err) == 0);
  member_start_cap(&cap, &cfg, 2, 4);
  T_TRUE(wait_events(&cap, NEVENTS + 1));
  member_stop(&cap);
  T_EQ_INT(cap.rc, 0);
  fprintf(stderr, "alert cap: %lld alerts without a cap; with 4: %lld handed, %lld dropped\n",
          (long long)all.alerts, (long long)cap.alerts, (long long)cap.dropped);
  T_TRUE(cap.dropped > 0); /* the cap acted */
  T_EQ_INT(cap.over, 0);
  T_EQ_INT(cap.disorder, 0);
  T_EQ_INT(cap.alerts + cap.dropped, all.alerts);
  T_TRUE(all.json && cap.json && strcmp(all.json, cap.json) == 0);
  ccp_free(all.json);
  ccp_free(cap.json);
  ccp_config_release(&cfg);
}

/* A second member joins: partitions move (cooperative-sticky) while the
 * first member's workers run. A moved partition starts afresh at its
 * committed offset on the new owner (no checkpoints yet, docs/live.md), so
 * the check is on what comes after: a second batch of events is counted by
 * the two members together exactly once. A commit that the join overtakes
 * may cost a member its assignment once, never again and again. */
static void test_rebalance(void) {
  ccp_config_t cfg;
  config(&cfg, "g3");
  member_t a, b;
  member_start(&a, &cfg, 2);
  T_TRUE(wait_events(&a, NEVENTS + 1));
  member_start(&b, &cfg, 2);
  int ok = 0, stable = 0;
  int64_t ea = -1, eb = -1;
  /* the mock's rebalance rounds last session.timeout.ms - 1 s each: up to a
   * minute for a few of them on a loaded machine (sanitizers). Stable: both
   * members' counts unchanged for `quiet` polls, for a new owner re-reads a
   * moved partition from its committed offset only after its first fetch;
   * in one TSan run that fetch seemed to come more than 1 s after the
   * assignment (its re-reads were then counted with the second batch) */
  const int quiet = 60; /* 3 s of 50-ms polls */
  for (int i = 0; i < 1200 && stable < quiet; i++) {
    ccp_consumer_stats_t sa, sb;
    ccp_consumer_stats(a.c, &sa);
    ccp_consumer_stats(b.c, &sb);
    ok = sb.partitions > 0 && sa.partitions > 0 && sa.partitions + sb.partitions == 3;
    int64_t na = member_events(&a), nb = member_events(&b);
    stable = ok && na == ea && nb == eb ? stable + 1 : 0;
    ea = na;
    eb = nb;
    ccp_clock_sleep_ms(50);
  }
  T_TRUE(ok && stable >= quiet);
  produce_range(NEVENTS, 2 * NEVENTS, 0);
  int done = 0;
  for (int i = 0; i < 600 && !done; i++) {
    done = member_events(&a) - ea + member_events(&b) - eb == NEVENTS;
    if (!done)
      ccp_clock_sleep_ms(50);
  }
  if (!done)
    fprintf(stderr, "rebalance: a %lld -> %lld, b %lld -> %lld, want +%d in all\n", (long long)ea,
            (long long)member_events(&a), (long long)eb, (long long)member_events(&b), NEVENTS);
  T_TRUE(done);
  ccp_consumer_stats_t sa, sb;
  ccp_consumer_stats(a.c, &sa);
  ccp_consumer_stats(b.c, &sb);
  fprintf(stderr, "rebalance: assignments lost a %lld b %lld; commits held a %lld b %lld\n",
          (long long)sa.assignments_lost, (long long)sb.assignments_lost,
          (long long)sa.commits_held, (long long)sb.commits_held);
  /* a commit that a join overtakes makes librdkafka 2.0.2 drop the whole
   * assignment; commits wait during a rebalance, so that happens at most
   * once per member and does not cascade (docs/live.md, "Commits during a
   * rebalance") */
  T_TRUE(sa.assignments_lost <= 1 && sb.assignments_lost <= 1);
  member_stop(&b);
  member_stop(&a);
  T_EQ_INT(a.rc, 0);
  T_EQ_INT(b.rc, 0);
  ccp_free(a.json);
  ccp_free(b.json);
  ccp_config_release(&cfg);
}

/* ---- a queue full of records (catching up) ---------------------------- */

#define FULLQ_N 3000  /* events of the topic "fullq" (2 partitions) */
#define FULLQ_MIN 100 /* kafka.queued.min.messages of the member */

/* One worker whose queue librdkafka finds full after every fetch (each
 * brings two batches of 150 records, queued.min.messages is 100; the events
 * open a ticket each, in ts order): librdkafka
 * 2.0.2 looks at the partitions again only when its broker thread wakes,
 * up to a second later, so ten fetches took ten seconds; the main thread's
 * nudges (consumer.c, nudge_fetchers) make it a fraction of one. The view
 * counts every event. */
static void test_full_queue(void) {
  char err[256];
  char saved_topic[64];
  snprintf(saved_topic, sizeof saved_topic, "%s", topic);
  snprintf(topic, sizeof topic, "fullq");
  ccp_mock_topic(mock, topic, 2);
  ccp_mock_topic(mock, "fullq.dlq", 1);
  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  rd_kafka_conf_set(pc, "bootstrap.servers", ccp_mock_bootstraps(mock), err, sizeof err);
  rd_kafka_conf_set(pc, "batch.num.messages", "150", err, sizeof err);
  rd_kafka_conf_set(pc, "linger.ms", "50", err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  CCP_ASSERT(p);
  ccp_buf_t val;
  ccp_buf_init(&val);
  char a[32], b[32], c[32];
  ccp_event_t ev;
  for (int i = 0; i < FULLQ_N; i++) {
    make_event(3 * i, &ev, a, b, c); /* ticket i opened at T0 + i s: in ts order */
    ccp_buf_clear(&val);
    CCP_ASSERT(ccp_avro_encode(&ev, &val) == 0);
    CCP_ASSERT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % 2),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_VALUE(val.data, val.len), RD_KAFKA_V_END) == 0);
  }
  CCP_ASSERT(rd_kafka_flush(p, 10000) == 0);
  rd_kafka_destroy(p);
  ccp_buf_release(&val);

  ccp_config_t cfg;
  config(&cfg, "g-fullq");
  char qmin[16];
  snprintf(qmin, sizeof qmin, "%d", FULLQ_MIN);
  CCP_ASSERT(ccp_config_set(&cfg, "kafka.queued.min.messages", qmin, NULL, err, sizeof err) == 0);
  member_t m;
  member_start(&m, &cfg, 1);
  ccp_consumer_stats_t st = {0};
  int64_t t0 = 0; /* from the assignment (the group join takes seconds on a busy machine) */
  for (int i = 0; i < 1200 && st.messages < FULLQ_N; i++) {
    ccp_clock_sleep_ms(20);
    ccp_consumer_stats(m.c, &st);
    if (!t0 && st.partitions > 0)
      t0 = ccp_clock_mono_ms();
  }
  int64_t ms = ccp_clock_mono_ms() - t0;
  T_EQ_INT(st.messages, FULLQ_N);
  /* ten fetches or more: over ten seconds without the nudges */
  if (ms >= 5000 || st.fetch_nudges == 0)
    fprintf(stderr, "full queue: %d records read in %lld ms, %lld nudge(s)\n", FULLQ_N,
            (long long)ms, (long long)st.fetch_nudges);
  T_TRUE(ms < 5000);
  T_TRUE(st.fetch_nudges > 0);
  T_TRUE(wait_events(&m, FULLQ_N));
  member_stop(&m);
  T_EQ_INT(m.rc, 0);
  ccp_free(m.json);
  ccp_config_release(&cfg);
  snprintf(topic, sizeof topic, "%s", saved_topic);
}

/* ---- partitions read at very different speeds ------------------------- */

/* Two partitions on a cluster of two brokers: partition 0 ("s" tickets) on
 * a broker that answers after 1.5 s; partition 1 ("f" tickets, 20 minutes
 * of events) on a fast one. */
#define UNEVEN_NS 150 /* slow tickets */
#define UNEVEN_NF 600 /* fast tickets */
#define UNEVEN_N (2 * UNEVEN_NS + 1 + 2 * UNEVEN_NF)

/* Event i of the uneven test and its partition: s<k> opened at +k s and
 * replied at its deadline (k even: within) or 1 ms after (k odd: a breach);
 * "so", opened after every slow record and never replied, is due only at a
 * time no event of its partition reaches: it never breaches, though the
 * global now passes its deadline (the wall clock, far ahead of these old
 * events, does not apply); f<k> opened at
 * +2k s, replied after 30 s or 15 min. */
static int uneven_event(int i, ccp_event_t *ev, char *eid, char *tid, char *cid) {
  ccp_event_clear(ev);
  snprintf(eid, 32, "u%d", i);
  int part, k = i / 2, reply = i % 2;
  int64_t open, after;
  if (i < 2 * UNEVEN_NS) {
    part = 0;
    snprintf(tid, 32, "s%d", k);
    open = T0 + (int64_t)k * 1000;
    after = k % 2 ? 30001 : 30000;
  } else if (i == 2 * UNEVEN_NS) {
    part = 0;
    snprintf(tid, 32, "so");
    open = T0 + (int64_t)UNEVEN_NS * 1000 + 30001;
    after = 0;
  } else {
    part = 1;
    k = (i - 2 * UNEVEN_NS - 1) / 2;
    reply = (i - 2 * UNEVEN_NS - 1) % 2;
    snprintf(tid, 32, "f%d", k);
    open = T0 + (int64_t)k * 2000;
    after = k % 2 ? 900000 : 30000;
  }
  snprintf(cid, 32, "c%c%d", tid[0], k % 37); /* customers of one partition each */
  ev->event_id = (ccp_str_t){eid, strlen(eid)};
  ev->ticket_id = (ccp_str_t){tid, strlen(tid)};
  ev->customer_id = (ccp_str_t){cid, strlen(cid)};
  ev->queue = (ccp_str_t){"q", 1};
  ev->channel = (uint8_t)(k % 4);
  ev->type = reply ? CCP_EV_AGENT_REPLY : CCP_EV_OPENED;
  if (reply)
    ev->agent_id = (ccp_str_t){"a-1", 3};
  ev->ts = open + (reply ? after : 0);
  return part;
}

/* Event indexes of the uneven test sorted by ts (stable). */
static void uneven_order(int *idx) {
  static int64_t ts[UNEVEN_N];
  char a[32], b[32], c[32];
  ccp_event_t ev;
  for (int i = 0; i < UNEVEN_N; i++) {
    uneven_event(i, &ev, a, b, c);
    ts[i] = ev.ts;
    int j = i;
    for (; j > 0 && ts[idx[j - 1]] > ev.ts; j--)
      idx[j] = idx[j - 1];
    idx[j] = i;
  }
}

static void test_uneven_speed(void) {
  char err[512];
  rd_kafka_conf_t *hc = rd_kafka_conf_new();
  rd_kafka_conf_set(hc, "log_level", "3", err, sizeof err);
  rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, hc, err, sizeof err);
  CCP_ASSERT(host);
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(host, 2);
  CCP_ASSERT(mc);
  CCP_ASSERT(rd_kafka_mock_topic_create(mc, "uneven", 2, 1) == 0);
  CCP_ASSERT(rd_kafka_mock_partition_set_leader(mc, "uneven", 0, 1) == 0);
  CCP_ASSERT(rd_kafka_mock_partition_set_leader(mc, "uneven", 1, 2) == 0);
  const char *saved_brokers = brokers;
  char saved_topic[sizeof topic];
  snprintf(saved_topic, sizeof saved_topic, "%s", topic);
  brokers = rd_kafka_mock_cluster_bootstraps(mc);
  snprintf(topic, sizeof topic, "uneven");

  /* every record is in the log before the member starts, in ts order per partition */
  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  rd_kafka_conf_set(pc, "bootstrap.servers", brokers, err, sizeof err);
  rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  CCP_ASSERT(prod);
  static int idx[UNEVEN_N];
  uneven_order(idx);
  char a[32], b[32], c[32];
  ccp_event_t ev;
  ccp_buf_t val;
  ccp_buf_init(&val);
  for (int i = 0; i < UNEVEN_N; i++) {
    int part = uneven_event(idx[i], &ev, a, b, c);
    ccp_buf_clear(&val);
    CCP_ASSERT(ccp_avro_encode(&ev, &val) == 0);
    CCP_ASSERT(rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(b, strlen(b)), RD_KAFKA_V_VALUE(val.data, val.len),
                                 RD_KAFKA_V_END) == 0);
  }
  CCP_ASSERT(rd_kafka_flush(prod, 10000) == 0);
  rd_kafka_destroy(prod);
  ccp_buf_release(&val);

  /* the reference: one engine per partition fed its events in ts order */
  ccp_config_t cfg;
  config(&cfg, "g4");
  ccp_engine_t *two[2] = {ccp_engine_new(&cfg, err, sizeof err),
                          ccp_engine_new(&cfg, err, sizeof err)};
  for (int i = 0; i < UNEVEN_N; i++) {
    int part = uneven_event(idx[i], &ev, a, b, c);
    ccp_engine_process(two[part], &ev);
  }
  uneven_now = CCP_MAX(ccp_engine_now(two[0]), ccp_engine_now(two[1]));
  char *ref = merged_json(&cfg, two, 2);
  uneven_total = UNEVEN_N;

  /* partition 0's broker answers after 1.5 s: its first records arrive
   * seconds after partition 1's last ones, even under a sanitizer; the
   * group's coordinator is the fast broker */
  CCP_ASSERT(rd_kafka_mock_coordinator_set(mc, "group", "g4", 2) == 0);
  CCP_ASSERT(rd_kafka_mock_broker_set_rtt(mc, 1, 1500) == 0);
  member_t m;
  member_start(&m, &cfg, 2);
  T_TRUE(wait_events(&m, UNEVEN_N));
  member_stop(&m);
  T_EQ_INT(m.rc, 0);
  /* partition 1 was read to its end, and the view stood at the final now,
   * while partition 0 was still being read */
  T_TRUE(m.lag_cycles >= 3);
  /* no ticket replied at its deadline breached on the way */
  T_EQ_INT(m.early, 0);
  /* nor "so", due only on the global now (another partition's events) */
  T_EQ_INT(m.so, 0);
  T_EQ_INT(m.breaches, UNEVEN_NS / 2 + UNEVEN_NF / 2);
  T_TRUE(m.json && strcmp(m.json, ref) == 0);
  if (m.json && strcmp(m.json, ref) != 0) {
    size_t i = 0;
    while (m.json[i] == ref[i])
      i++;
    fprintf(stderr, "uneven: first difference at byte %zu: live ...%.120s\n  reference ...%.120s\n",
            i, m.json + (i > 60 ? i - 60 : 0), ref + (i > 60 ? i - 60 : 0));
  }
  fprintf(stderr, "uneven: %d cycles at the final now before every event was read\n", m.lag_cycles);
  ccp_free(m.json);
  ccp_free(ref);
  ccp_config_release(&cfg);
  uneven_now = INT64_MIN;
  uneven_total = 0;
  brokers = saved_brokers;
  snprintf(topic, sizeof topic, "%s", saved_topic);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(host);
}

int main(void) {
  char err[256];
  CCP_ASSERT(ccp_tz_use("UTC", err, sizeof err) == 0); /* the default zone, before any thread */
  mock = ccp_mock_new(err, sizeof err);
  if (!mock) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  brokers = ccp_mock_bootstraps(mock);
  snprintf(topic, sizeof topic, "tickets");
  ccp_mock_topic(mock, topic, NPARTS);
  ccp_mock_topic(mock, "tickets.dlq", 1);
  produce_range(0, NEVENTS, 1);
  T_RUN(test_merge_and_dlq);
  T_RUN(test_full_queue);
  T_RUN(test_no_commit_without_publish);
  T_RUN(test_alert_cap);
  T_RUN(test_rebalance);
  T_RUN(test_uneven_speed);
  ccp_mock_free(mock);
  return T_DONE();
}
