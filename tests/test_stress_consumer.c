/* labels: stress kafka-mock redis threads */
/*
 * Concurrency stress test of the live pipeline (include/ccpulse/consumer.h),
 * in the Concurrency Kit manner: N producer threads x M events, rebalances
 * and a fast publisher meanwhile, then the sums must match. Meant to run
 * under ThreadSanitizer (scripts/test.sh runs the `threads` label in
 * build-tsan/); about 20 s without a sanitizer.
 *
 * Set-up: librdkafka's mock cluster, a topic of NPART partitions, a real
 * redis-server child (redis_testutil.h; skipped with exit 77 without it).
 * Member A (3 workers) runs throughout, publishing to Redis every 10 ms
 * (publish.interval) through ccp_redis_pub. One producer thread per
 * partition writes its events in small batches while a rebalancer thread
 * makes member B (2 workers, its own Redis prefix) join the group, take
 * partitions (cooperative-sticky: incremental assign/unassign on both
 * members while their workers and publishers run) and leave again, round
 * after round.
 *
 * Every event is an OPENED of its own ticket in queue "p<partition>", with
 * ts = T0 + offset * STEP, so each published view tells, per partition, how
 * many events its current owner counted (opened, waiting, open) and from
 * which offset (longest_wait_ms = now - ts of the oldest). The stream time
 * rule's wall clock is pinned far in the past (clock_ms; live.max_future is
 * set to the whole valid range so the §7 future rule accepts every ts), so only events
 * move time.
 *
 * Checked in every published cycle of every member: per partition
 * open == waiting == opened, and [first, first + opened) lies within what
 * was produced (no event counted twice or out of thin air by one owner);
 * `all` opened == the sum of the partitions == diagnostics.events; no late,
 * duplicate or invalid event.
 * Checked at the end (B gone, A stopped after its final publish and commit):
 *   - A's last view counts every partition exactly once from its owner's
 *     start offset to the last produced event (first + opened == produced);
 *   - no event lost: the published ranges of all members together cover
 *     every produced offset of every partition;
 *   - the group's committed offsets equal the produced counts;
 *   - the last snapshot in Redis (A's stream) is A's last view, byte for
 *     byte, with diagnostics.events equal to A's count;
 *   - B really took partitions and consumed in each round; A cycled often.
 * A partition that moves restarts from its committed offset on the new
 * owner (docs/live.md: no checkpoints yet), and a commit racing a revoke
 * may leave that offset behind the last publish, so two owners may count
 * the same event: that overlap is allowed (and not checked).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "ccp_test.h"
#include "ccpulse/alerts.h"
#include "ccpulse/clock.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/event.h"
#include "ccpulse/redis_pub.h"
#include "ccpulse/tz.h"
#include "redis_testutil.h"
#include "tsan_c11_threads.h"

#define NPART 4
#define MAXEV 20000        /* events per partition, at most (producers stop with the churn) */
#define BATCH 10           /* events per producer batch */
#define BATCH_GAP_MS 40    /* pause between batches */
#define ROUNDS 3           /* B joins and leaves this many times */
#define STEP 1000LL        /* ms between two events of a partition */
#define T0 1795347000000LL /* ts of offset 0 */
#define TOPIC "stress"
#define GROUP "stress-group"

static ccp_mock_t *mock;
static ccp_config_t cfg;
static int w24h; /* index of the 24h window */
static char redis_url[64];

static atomic_long produced[NPART]; /* events handed to producev, per partition */
static atomic_int producing;        /* 1 while producers run */

/* Published ranges [first, first + n) per partition, of every member. */
static pthread_mutex_t cov_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char covered[NPART][MAXEV]; /* times counted at its last publish by an owner */
static atomic_long cycle_errors;            /* invariant violations seen in cycles */

/* The stream time rule's wall clock: far in the past, so never used. */
static int64_t clock_zero(void) { return 0; }

/* ---- producers ---------------------------------------------------------- */

static void *producer_main(void *arg) {
  int part = (int)(intptr_t)arg;
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", ccp_mock_bootstraps(mock), err, sizeof err);
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err); /* keeps order */
  rd_kafka_conf_set(conf, "linger.ms", "2", err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  CCP_ASSERT(p);
  ccp_buf_t val;
  ccp_buf_init(&val);
  char eid[32], tid[32], cid[32], queue[8];
  snprintf(queue, sizeof queue, "p%d", part);
  for (long i = 0; i < MAXEV && atomic_load(&producing); i++) {
    ccp_event_t ev;
    ccp_event_clear(&ev);
    snprintf(eid, sizeof eid, "e%d-%ld", part, i);
    snprintf(tid, sizeof tid, "t%d-%ld", part, i);
    snprintf(cid, sizeof cid, "c%ld", i % 97);
    ev.event_id = (ccp_str_t){eid, strlen(eid)};
    ev.ticket_id = (ccp_str_t){tid, strlen(tid)};
    ev.customer_id = (ccp_str_t){cid, strlen(cid)};
    ev.queue = (ccp_str_t){queue, strlen(queue)};
    ev.channel = (uint8_t)(i % 4);
    ev.type = CCP_EV_OPENED;
    ev.ts = T0 + i * STEP;
    ccp_buf_clear(&val);
    CCP_ASSERT(ccp_avro_encode(&ev, &val) == 0);
    atomic_fetch_add(&produced[part], 1); /* before: a consumer never sees more */
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(part),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_KEY(tid, strlen(tid)),
                                  RD_KAFKA_V_VALUE(val.data, val.len), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(p, 10);
    CCP_ASSERT(e == 0);
    if (i % BATCH == BATCH - 1) {
      rd_kafka_poll(p, 0);
      ccp_clock_sleep_ms(BATCH_GAP_MS);
    }
  }
  CCP_ASSERT(rd_kafka_flush(p, 30000) == 0);
  ccp_buf_release(&val);
  rd_kafka_destroy(p);
  return NULL;
}

/* ---- members ------------------------------------------------------------ */

typedef struct member {
  const char *name;
  ccp_consumer_t *c;
  ccp_redis_pub_t *pub; /* used on the member's publisher thread only */
  ccp_buf_t alerts;     /* publisher thread: alert JSON lines of a cycle */
  const char **ptrs;
  size_t nptrs;
  pthread_t th;
  int rc;
  pthread_mutex_t mu; /* guards the fields below */
  char *json;         /* last published snapshot */
  long first[NPART];  /* per partition in the last published view: first offset, */
  long opened[NPART]; /* events counted (0 and first -1 when absent) */
  long published;     /* cycles published */
} member_t;

static long json_long(const char *js, const char *key) {
  const char *d = strstr(js, key);
  return d ? atol(d + strlen(key)) : -1;
}

static void cycle_error(const char *who, const char *fmt, long a, long b) {
  if (atomic_fetch_add(&cycle_errors, 1) < 10) {
    fprintf(stderr, "%s: ", who);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
  }
}

static double value(const ccp_view_t *v, int scope, const char *id) {
  double x = NAN;
  if (ccp_view_value(v, scope, w24h, id, &x) != 0)
    return NAN;
  return isnan(x) ? 0 : x;
}

/* Reads one partition's figures off a view; checks the per-cycle rules. */
static void read_partition(member_t *m, const ccp_view_t *v, int part, long *first, long *n) {
  char scope[16];
  snprintf(scope, sizeof scope, "queue:p%d", part);
  int s = ccp_view_find_scope(v, scope);
  *first = -1;
  *n = 0;
  if (s < 0)
    return;
  long opened = (long)value(v, s, "opened");
  long waiting = (long)value(v, s, "waiting"), open = (long)value(v, s, "open");
  if (waiting != opened || open != opened)
    cycle_error(m->name, "waiting %ld / open != opened %ld", waiting, opened);
  if (opened == 0)
    return;
  int64_t oldest = ccp_view_now(v) - (int64_t)value(v, s, "longest_wait_ms");
  if ((oldest - T0) % STEP != 0 || oldest < T0)
    cycle_error(m->name, "oldest ticket of partition %ld at %ld is no event's ts", part,
                (long)oldest);
  *first = (long)((oldest - T0) / STEP);
  *n = opened;
  long have = atomic_load(&produced[part]);
  if (*first + opened > have)
    cycle_error(m->name, "counted up to offset %ld of %ld produced", *first + opened, have);
}

/* @locality publisher thread of m's consumer. */
static int on_publish(void *opaque, const ccp_view_t *v, const ccp_alert_t *al, int nal) {
  member_t *m = opaque;
  /* alerts as `ccpulse run` sends them: one JSON line each */
  ccp_buf_clear(&m->alerts);
  size_t *offs = ccp_calloc((size_t)nal + 1, sizeof *offs);
  for (int i = 0; i < nal; i++) {
    offs[i] = m->alerts.len;
    ccp_alert_json(&al[i], &m->alerts);
    ccp_buf_putc(&m->alerts, '\0');
  }
  if ((size_t)nal > m->nptrs) {
    m->nptrs = (size_t)nal;
    m->ptrs = ccp_realloc(m->ptrs, m->nptrs * sizeof *m->ptrs);
  }
  for (int i = 0; i < nal; i++)
    m->ptrs[i] = m->alerts.data + offs[i];
  ccp_free(offs);
  if (ccp_redis_pub_cycle(m->pub, v, m->ptrs, (size_t)nal) != 0)
    return -1;

  long first[NPART], n[NPART], sum = 0;
  for (int p = 0; p < NPART; p++) {
    read_partition(m, v, p, &first[p], &n[p]);
    sum += n[p];
  }
  ccp_buf_t js;
  ccp_buf_init(&js);
  ccp_view_snapshot_json(v, &js);
  int s_all = ccp_view_find_scope(v, "all");
  long all = s_all >= 0 ? (long)value(v, s_all, "opened") : 0;
  long events = json_long(js.data, "\"diagnostics\":{\"events\":");
  if (all != sum || (sum > 0 && events != sum))
    cycle_error(m->name, "all opened %ld / diagnostics.events %ld differ from the partitions' sum",
                all, events);
  if (json_long(js.data, "\"late_events\":") > 0 ||
      json_long(js.data, "\"duplicate_events\":") > 0 ||
      json_long(js.data, "\"invalid_events\":") > 0)
    cycle_error(m->name, "late/duplicate/invalid events (%ld, %ld...)",
                json_long(js.data, "\"late_events\":"),
                json_long(js.data, "\"duplicate_events\":"));
  pthread_mutex_lock(&cov_mu);
  for (int p = 0; p < NPART; p++)
    for (long k = first[p]; n[p] > 0 && k < first[p] + n[p] && k < MAXEV; k++)
      covered[p][k] = 1;
  pthread_mutex_unlock(&cov_mu);
  pthread_mutex_lock(&m->mu);
  ccp_free(m->json);
  m->json = ccp_strdup(js.data);
  memcpy(m->first, first, sizeof first);
  memcpy(m->opened, n, sizeof n);
  m->published++;
  pthread_mutex_unlock(&m->mu);
  ccp_buf_release(&js);
  return 0;
}

static void *member_main(void *arg) {
  member_t *m = arg;
  m->rc = ccp_consumer_run(m->c);
  return NULL;
}

static void member_start(member_t *m, const char *name, int workers) {
  char err[CCP_ERRBUF_SIZE], prefix[32];
  memset(m, 0, sizeof *m);
  m->name = name;
  pthread_mutex_init(&m->mu, NULL);
  ccp_buf_init(&m->alerts);
  snprintf(prefix, sizeof prefix, "stress%s:", name);
  ccp_redis_pub_opts_t ro = {.url = redis_url, .prefix = prefix, .cfg = &cfg, .quiet = 1};
  m->pub = ccp_redis_pub_new(&ro, err, sizeof err);
  CCP_ASSERT(m->pub);
  ccp_consumer_opts_t o = {.cfg = &cfg,
                           .brokers = ccp_mock_bootstraps(mock),
                           .workers = workers,
                           .publish = on_publish,
                           .opaque = m,
                           .clock_ms = clock_zero,
                           .final_timeout_ms = 5000};
  if (!(m->c = ccp_consumer_new(&o, err, sizeof err)))
    fprintf(stderr, "member %s: %s\n", name, err);
  CCP_ASSERT(m->c);
  CCP_ASSERT(pthread_create(&m->th, NULL, member_main, m) == 0);
}

static void member_stop(member_t *m) {
  ccp_consumer_stop(m->c);
  pthread_join(m->th, NULL);
  ccp_consumer_free(m->c);
  ccp_redis_pub_free(m->pub);
  ccp_buf_release(&m->alerts);
  ccp_free(m->ptrs);
  pthread_mutex_destroy(&m->mu);
}

static ccp_consumer_stats_t stats(const member_t *m) {
  ccp_consumer_stats_t s;
  ccp_consumer_stats(m->c, &s);
  return s;
}

/* Waits up to ms for m to hold `want` partitions (-1: any > 0). */
static int wait_partitions(const member_t *m, int want, long ms) {
  for (long t = 0; t < ms; t += 20) {
    int64_t n = stats(m).partitions;
    if (want < 0 ? n > 0 : n == want)
      return 1;
    ccp_clock_sleep_ms(20);
  }
  return 0;
}

/* ---- rebalancer --------------------------------------------------------- */

typedef struct churn {
  member_t *a;
  int rounds_with_partitions; /* rounds in which B held partitions and consumed */
  int rounds;
} churn_t;

static void *churn_main(void *arg) {
  churn_t *ch = arg;
  for (int r = 0; r < ROUNDS; r++) {
    member_t b;
    member_start(&b, "B", 2);
    int64_t t0 = ccp_clock_mono_ms();
    int got = wait_partitions(&b, -1, 20000);
    int64_t waited_ms = ccp_clock_mono_ms() - t0;
    ccp_clock_sleep_ms(got ? 1500 : 0); /* B works for a while, then leaves */
    ccp_consumer_stats_t sb = stats(&b);
    member_stop(&b);
    if (b.rc != 0)
      fprintf(stderr, "member B, round %d: run returned %d\n", r, b.rc);
    ch->rounds_with_partitions += got && sb.messages > 0 && b.rc == 0;
    ch->rounds++;
    ccp_free(b.json);
    if (!wait_partitions(ch->a, NPART, 20000))
      fprintf(stderr, "round %d: A did not get all %d partitions back\n", r, NPART);
    printf("round %d: B held partitions after %.1f s, consumed %lld events, left\n", r,
           (double)waited_ms / 1000.0, (long long)sb.messages);
  }
  return NULL;
}

/* ---- the test ----------------------------------------------------------- */

/* The group's committed offsets (a handle of the group that never joins). */
static void committed_offsets(int64_t *out) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", ccp_mock_bootstraps(mock), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", GROUP, err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  CCP_ASSERT(rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++)
    rd_kafka_topic_partition_list_add(l, TOPIC, p);
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, 10000);
  T_EQ_INT(e, 0);
  for (int p = 0; p < NPART; p++)
    out[p] = e ? -1 : l->elems[p].offset;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(rk);
}

/* The last entry of A's snapshot stream in Redis. */
static char *redis_last_snapshot(void) {
  redisContext *rc = connect_plain(1000);
  CCP_ASSERT(rc);
  redisReply *r = redisCommand(rc, "XREVRANGE stressA:snapshots + - COUNT 1");
  char *s = NULL;
  if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
    redisReply *fields = r->element[0]->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
      if (strcmp(fields->element[i]->str, "json") == 0)
        s = ccp_strdup(fields->element[i + 1]->str);
  }
  if (r)
    freeReplyObject(r);
  redisFree(rc);
  return s;
}

static void setup_config(void) {
  static const char *const kv[] = {"kafka.topic", TOPIC, "kafka.group", GROUP,
                                   "kafka.fetch.wait.max.ms", "5", "kafka.log_level", "3",
                                   /* librdkafka's mock group waits session.timeout.ms - 1 s for
                                    * members to rejoin in each of the two rebalances a cooperative
                                    * join or leave takes: keep it short so a round takes seconds */
                                   "kafka.session.timeout.ms", "2500",
                                   "kafka.heartbeat.interval.ms", "250", "publish.interval", "10ms",
                                   NULL};
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(&cfg);
  /* the wall clock is pinned at 0 (clock_zero): live.max_future reaches the
   * end of the valid range so that no event is "from the future" */
  cfg.max_future_ms = CCP_EVENT_TS_MAX;
  for (int i = 0; kv[i]; i += 2)
    if (ccp_config_set(&cfg, kv[i], kv[i + 1], NULL, err, sizeof err) != 0) {
      fprintf(stderr, "config: %s\n", err);
      exit(2);
    }
  CCP_ASSERT(ccp_config_finish(&cfg, err, sizeof err) == 0);
  w24h = -1;
  for (int w = 0; w < cfg.nwindows; w++)
    if (strcmp(cfg.windows[w].name, "24h") == 0)
      w24h = w;
  CCP_ASSERT(w24h >= 0);
}

static void test_stress(void) {
  member_t a;
  member_start(&a, "A", 3);
  T_TRUE(wait_partitions(&a, NPART, 30000));

  atomic_store(&producing, 1);
  pthread_t prod[NPART], churner;
  for (int p = 0; p < NPART; p++)
    CCP_ASSERT(pthread_create(&prod[p], NULL, producer_main, (void *)(intptr_t)p) == 0);
  churn_t ch = {.a = &a};
  CCP_ASSERT(pthread_create(&churner, NULL, churn_main, &ch) == 0);
  pthread_join(churner, NULL);
  atomic_store(&producing, 0); /* producers stop early if the churn ended first */
  for (int p = 0; p < NPART; p++)
    pthread_join(prod[p], NULL);
  long want[NPART], total = 0;
  for (int p = 0; p < NPART; p++) {
    want[p] = atomic_load(&produced[p]);
    total += want[p];
  }

  /* A alone now: wait until its published view reaches every last event */
  int done = 0;
  for (int t = 0; t < 1500 && !done; t++) {
    pthread_mutex_lock(&a.mu);
    done = 1;
    for (int p = 0; p < NPART; p++)
      done &= a.first[p] >= 0 && a.first[p] + a.opened[p] == want[p];
    pthread_mutex_unlock(&a.mu);
    if (!done)
      ccp_clock_sleep_ms(20);
  }
  T_TRUE(done);
  ccp_consumer_stats_t sa = stats(&a);
  member_stop(&a);
  T_EQ_INT(a.rc, 0);

  /* A's last view: each partition counted once from its start offset to the end */
  long counted = 0;
  for (int p = 0; p < NPART; p++) {
    T_EQ_INT(a.first[p] + a.opened[p], want[p]);
    counted += a.opened[p];
  }
  T_TRUE(a.json != NULL);
  if (a.json)
    T_EQ_INT(json_long(a.json, "\"diagnostics\":{\"events\":"), counted);
  /* no event lost: the published ranges cover every produced offset */
  long lost = 0, history = 0;
  for (int p = 0; p < NPART; p++)
    for (long k = 0; k < want[p]; k++)
      lost += !covered[p][k];
  T_EQ_INT(lost, 0);
  T_EQ_INT(atomic_load(&cycle_errors), 0);
  /* everything published was committed */
  int64_t off[NPART];
  committed_offsets(off);
  for (int p = 0; p < NPART; p++)
    T_EQ_INT(off[p], want[p]);
  /* Redis holds A's last view */
  char *stored = redis_last_snapshot();
  T_TRUE(stored && a.json && strcmp(stored, a.json) == 0);
  ccp_free(stored);
  /* the churn was real, and the publisher cycled every few ms */
  T_EQ_INT(ch.rounds, ROUNDS);
  T_EQ_INT(ch.rounds_with_partitions, ROUNDS);
  T_TRUE(a.published >= 200);
  T_TRUE(total >= NPART * 500);
  for (int p = 0; p < NPART; p++)
    history += a.first[p]; /* events before the final owners' start offsets */
  printf("produced %ld events on %d partitions; A: %lld consumed, %ld cycles published, %lld "
         "commits; its final view counts %ld, the %ld before its owners' start offsets were "
         "published by earlier owners; %d rounds of B\n",
         total, NPART, (long long)sa.messages, a.published, (long long)sa.commits, counted, history,
         ch.rounds);
  ccp_free(a.json);
}

int main(void) {
  char err[256];
  redis_child_start_or_skip();
  snprintf(redis_url, sizeof redis_url, "redis://127.0.0.1:%d/0", port);
  setup_config();
  if (ccp_tz_use(cfg.timezone, err, sizeof err) != 0) { /* before any thread starts */
    fprintf(stderr, "time zone: %s\n", err);
    return 1;
  }
  mock = ccp_mock_new(err, sizeof err);
  if (!mock) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  CCP_ASSERT(ccp_mock_topic(mock, TOPIC, NPART) == 0);
  CCP_ASSERT(ccp_mock_topic(mock, TOPIC ".dlq", 1) == 0);
  T_RUN(test_stress);
  ccp_mock_free(mock);
  ccp_config_release(&cfg);
  server_stop();
  return T_DONE();
}
