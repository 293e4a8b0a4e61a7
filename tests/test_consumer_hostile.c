/* labels: kafka-mock threads */
/*
 * The live pipeline against hostile records (docs/kpis.md §7), on
 * librdkafka's mock cluster with an injected wall clock: one partition gets
 *   - an event exactly live.max_future (5m) ahead of the wall clock
 *     (accepted) and one 1 ms further (invalid: it must not make the rest
 *     of the stream late);
 *   - invalid text: a queue of 257 bytes, an agent with 0xFF, an overlong
 *     sequence (C0 AF), a surrogate (ED A0 80), an empty customer id;
 *   - three queues under limits.queues = 2 (the third goes to queue:~other);
 *   - a queue of 256 bytes (accepted).
 *   - an event a year ahead (invalid), then one that would have been late
 *     behind it.
 * The published snapshot must count 7 invalid events and 2 overflow events,
 * keep the valid events (none late), be valid JSON, and the dead-letter
 * topic must hold the 7 invalid records with their reasons.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ccp_test.h"
#include "ccpulse/clock.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/tz.h"
#include "ccpulse/view.h"
#include "dlq_testutil.h"
#include "tsan_c11_threads.h"

#define WALL 1795347000000LL /* the injected wall clock */
#define MAXF 300000LL        /* live.max_future = 5m */

static ccp_mock_t *mock;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *last_json; /* guarded by mu */

static int64_t fake_wall(void) { return WALL; }

static int on_publish(void *opaque, const ccp_view_t *v, const ccp_alert_t *al, int n) {
  (void)opaque, (void)al, (void)n;
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_view_snapshot_json(v, &b);
  pthread_mutex_lock(&mu);
  ccp_free(last_json);
  last_json = ccp_strdup(b.data);
  pthread_mutex_unlock(&mu);
  ccp_buf_release(&b);
  return 0;
}

static void *run_main(void *arg) {
  ccp_consumer_run(arg);
  return NULL;
}

/* The records, in produce order: text of the field that breaks the rules. */
typedef struct rec {
  int64_t ts;
  const char *queue;
  size_t qlen; /* 0: strlen */
  const char *agent;
  const char *customer;
  int valid;
} rec_t;

static char q256[256], q257[257];

static const rec_t *records(size_t *n) {
  memset(q256, 'q', sizeof q256);
  memset(q257, 'q', sizeof q257);
  static rec_t r[] = {
      {WALL - 1000, "qa", 0, NULL, "c1", 1},
      {WALL + MAXF, "qb", 0, NULL, "c1", 1},          /* exactly max_future: accepted */
      {WALL + MAXF + 1, "qa", 0, NULL, "c1", 0},      /* 1 ms more: invalid */
      {WALL, q257, 257, NULL, "c1", 0},               /* 257 bytes */
      {WALL, "qa", 0, "a\xFF", "c1", 0},              /* 0xFF */
      {WALL, "qa", 0, "\xC0\xAF", "c1", 0},           /* overlong '/' */
      {WALL, "\xED\xA0\x80", 0, NULL, "c1", 0},       /* surrogate U+D800 */
      {WALL, "qa", 0, NULL, "", 0},                   /* empty customer id */
      {WALL, "qc", 0, NULL, "c2", 1},                 /* third queue: queue:~other */
      {WALL, q256, 256, NULL, "c2", 1},               /* 256 bytes: valid, also ~other */
      {WALL + 31536000000LL, "qa", 0, NULL, "c1", 0}, /* a year ahead: invalid */
      {WALL + 1000, "qa", 0, NULL, "c3", 1},          /* not late: the year was refused */
  };
  *n = CCP_ARRAY_LEN(r);
  return r;
}

static void produce(const char *topic) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", ccp_mock_bootstraps(mock), err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  CCP_ASSERT(p);
  size_t n;
  const rec_t *r = records(&n);
  ccp_buf_t val;
  ccp_buf_init(&val);
  for (size_t i = 0; i < n; i++) {
    char eid[32], tid[32];
    snprintf(eid, sizeof eid, "e%zu", i);
    snprintf(tid, sizeof tid, "t%zu", i);
    ccp_event_t ev;
    ccp_event_clear(&ev);
    ev.event_id = (ccp_str_t){eid, strlen(eid)};
    ev.ticket_id = (ccp_str_t){tid, strlen(tid)};
    ev.queue = (ccp_str_t){r[i].queue, r[i].qlen ? r[i].qlen : strlen(r[i].queue)};
    if (r[i].agent)
      ev.agent_id = (ccp_str_t){r[i].agent, strlen(r[i].agent)};
    ev.customer_id = (ccp_str_t){r[i].customer, strlen(r[i].customer)};
    ev.type = CCP_EV_OPENED;
    ev.channel = CCP_CH_CHAT;
    ev.ts = r[i].ts;
    ccp_buf_clear(&val);
    CCP_ASSERT(ccp_avro_encode(&ev, &val) == 0);
    CCP_ASSERT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(tid, strlen(tid)),
                                 RD_KAFKA_V_VALUE(val.data, val.len), RD_KAFKA_V_END) == 0);
  }
  CCP_ASSERT(rd_kafka_flush(p, 10000) == 0);
  ccp_buf_release(&val);
  rd_kafka_destroy(p);
}

static json_t *diag_of(json_t *j) { return json_object_get(j, "diagnostics"); }

static int64_t jint(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void test_hostile_live(void) {
  const char *topic = "hostile";
  ccp_mock_topic(mock, topic, 1);
  ccp_mock_topic(mock, "hostile.dlq", 1);
  produce(topic);
  ccp_config_t cfg;
  char err[512];
  ccp_config_init(&cfg);
  const char *kv[] = {"kafka.topic",
                      topic,
                      "kafka.group",
                      "hostile",
                      "kafka.fetch.wait.max.ms",
                      "5",
                      "kafka.log_level",
                      "3",
                      "publish.interval",
                      "50ms",
                      "limits.queues",
                      "2",
                      "checkpoint.interval",
                      "off",
                      NULL};
  for (int i = 0; kv[i]; i += 2)
    CCP_ASSERT(ccp_config_set(&cfg, kv[i], kv[i + 1], NULL, err, sizeof err) == 0);
  CCP_ASSERT(ccp_config_finish(&cfg, err, sizeof err) == 0);
  ccp_consumer_opts_t o = {.cfg = &cfg,
                           .brokers = ccp_mock_bootstraps(mock),
                           .workers = 1,
                           .publish = on_publish,
                           .clock_ms = fake_wall,
                           .final_timeout_ms = 300};
  ccp_consumer_t *c = ccp_consumer_new(&o, err, sizeof err);
  if (!c)
    fprintf(stderr, "consumer: %s\n", err);
  CCP_ASSERT(c);
  pthread_t th;
  CCP_ASSERT(pthread_create(&th, NULL, run_main, c) == 0);
  size_t n;
  records(&n);
  int64_t events = 0;
  for (int i = 0; i < 600 && events < (int64_t)n; i++) {
    ccp_clock_sleep_ms(50);
    pthread_mutex_lock(&mu);
    json_t *j = last_json ? json_loads(last_json, 0, NULL) : NULL;
    pthread_mutex_unlock(&mu);
    events = j ? jint(diag_of(j), "events") : 0;
    json_decref(j);
  }
  /* the dead letters, read while the consumer runs: a cycle waits only
   * briefly for them (docs/live.md), later cycles deliver the rest */
  char *dead[7];
  int got = dlq_reasons(mock, "hostile.dlq", 7, dead);
  ccp_consumer_stop(c);
  pthread_join(th, NULL);
  ccp_consumer_free(c);
  T_EQ_INT(events, n);

  pthread_mutex_lock(&mu);
  json_error_t jerr;
  json_t *j = last_json ? json_loads(last_json, 0, &jerr) : NULL; /* valid JSON (and UTF-8) */
  pthread_mutex_unlock(&mu);
  T_TRUE(j != NULL);
  if (j) {
    json_t *d = diag_of(j);
    T_EQ_INT(jint(d, "invalid_events"), 7);
    T_EQ_INT(jint(d, "late_events"), 0);
    T_EQ_INT(jint(d, "overflow_events"), 2);
    T_EQ_INT(jint(d, "dead_letter"), 0); /* undecodable ones only */
    json_t *scopes = json_object_get(j, "scopes");
    T_TRUE(json_object_get(scopes, "queue:qa") && json_object_get(scopes, "queue:qb"));
    T_TRUE(json_object_get(scopes, "queue:~other") && !json_object_get(scopes, "queue:qc"));
    /* the accepted event exactly max_future ahead set now */
    T_EQ_INT(jint(j, "now_ms"), WALL + MAXF);
    json_decref(j);
  }

  T_EQ_INT(got, 7);
  char reasons[4096] = ""; /* the reasons, each followed by '|' */
  for (int i = 0; i < got; i++) {
    size_t at = strlen(reasons);
    snprintf(reasons + at, sizeof reasons - at, "%s|", dead[i]);
    ccp_free(dead[i]);
  }
  static const char *const want[] = {"live.max_future", "257 bytes", "'agent_id': invalid UTF-8",
                                     "'queue': invalid UTF-8", "'customer_id': empty"};
  for (size_t i = 0; i < CCP_ARRAY_LEN(want); i++) {
    T_TRUE(strstr(reasons, want[i]) != NULL);
    if (!strstr(reasons, want[i]))
      fprintf(stderr, "no reason with '%s' in: %s\n", want[i], reasons);
  }
  ccp_config_release(&cfg);
}

int main(void) {
  char err[256];
  CCP_ASSERT(ccp_tz_use("UTC", err, sizeof err) == 0);
  mock = ccp_mock_new(err, sizeof err);
  if (!mock) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  T_RUN(test_hostile_live);
  ccp_mock_free(mock);
  ccp_free(last_json);
  return T_DONE();
}
