/* labels: kafka-mock threads */
/*
 * The schema registry client in the live consumer (docs/schemas.md), on
 * librdkafka's in-process mock cluster and a registry stand-in started by
 * the test (tests/registry_stub.py: GET /schemas/ids/<ID> with basic auth,
 * a schema "registered" by writing <dir>/<ID>.avsc, request counts at
 * /__stats). No Redis: a publish callback keeps the view's event count.
 *   1. records framed with id 7, registered but in no local file, written
 *      with a v2 writer schema (v1 + a trailing `region` string the reader
 *      skips) over 2 partitions and 2 workers: every one decoded; the
 *      registry asked for id 7 exactly once (cached across workers);
 *   2. records with id 9, not registered yet: each goes to the dead-letter
 *      topic with the 404 reason, the registry asked once for the whole
 *      batch (back-off); 9 registered, the back-off over, new records with
 *      id 9 are decoded, with one more request;
 *   3. wrong credentials (in the URL): the records go to the dead-letter
 *      topic with "refused the credentials of user 'ccp' (HTTP 401)", an
 *      ERROR line says the same, and the password is in neither; records of
 *      an id with a local schema.registry.<ID> file are decoded and the
 *      registry is never asked for it (the file wins).
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "ccp_test.h"
#include "ccpulse/clock.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/log.h"
#include "ccpulse/tz.h"
#include "ccpulse/view.h"
#include "dlq_testutil.h"
#include "tsan_c11_threads.h"

#define T0 1795347000000LL
#define PASSWORD "s3cret-pw"

static ccp_mock_t *mock;
static char dir[64]; /* the stub's schema directory */
static pid_t stub_pid;
static int stub_port;
static char *schema_v2; /* v1 + a trailing "region" string */

/* ---- the registry stand-in ---------------------------------------------- */

static int stub_start(void) {
  char pf[96];
  snprintf(pf, sizeof pf, "%s/port", dir);
  stub_pid = fork();
  if (stub_pid == 0) {
    execlp("python3", "python3", "registry_stub.py", "--dir", dir, "--port-file", pf, "--user",
           "ccp", "--password", PASSWORD, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 100; i++) {
    FILE *f = fopen(pf, "r");
    if (f) {
      int ok = fscanf(f, "%d", &stub_port) == 1;
      fclose(f);
      if (ok)
        return 0;
    }
    if (waitpid(stub_pid, NULL, WNOHANG) == stub_pid)
      return -1;
    ccp_clock_sleep_ms(50);
  }
  return -1;
}

static void stub_stop(void) {
  if (stub_pid > 0) {
    kill(stub_pid, SIGTERM);
    waitpid(stub_pid, NULL, 0);
  }
}

static size_t on_stats(char *d, size_t size, size_t n, void *opaque) {
  ccp_buf_append(opaque, d, size * n);
  return size * n;
}

/* Requests the stub got for /schemas/ids/<id> (-1 when it cannot tell). */
static int stub_count(uint32_t id) {
  char url[96], key[16];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/__stats", stub_port);
  snprintf(key, sizeof key, "%u", id);
  ccp_buf_t b;
  ccp_buf_init(&b);
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stats);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  int n = -1;
  if (curl_easy_perform(h) == CURLE_OK) {
    json_t *root = json_loadb(b.data, b.len, 0, NULL);
    json_t *v = root ? json_object_get(root, key) : NULL;
    n = root ? (v ? (int)json_integer_value(v) : 0) : -1;
    json_decref(root);
  }
  curl_easy_cleanup(h);
  ccp_buf_release(&b);
  return n;
}

/* "Registers" schema text as id in the stub. */
static void stub_register(uint32_t id, const char *text) {
  char path[96];
  snprintf(path, sizeof path, "%s/%u.avsc", dir, id);
  FILE *f = fopen(path, "w");
  CCP_ASSERT(f);
  fputs(text, f);
  fclose(f);
}

/* ---- producing ------------------------------------------------------------ */

/* v1 with one more field at the end, which our reader does not know. */
static char *make_v2(void) {
  json_t *s = json_loads(ccp_avro_schema_v1, 0, NULL);
  CCP_ASSERT(s);
  json_array_append_new(json_object_get(s, "fields"),
                        json_pack("{s:s, s:s}", "name", "region", "type", "string"));
  char *text = json_dumps(s, JSON_COMPACT);
  json_decref(s);
  char *out = ccp_strdup(text);
  free(text);
  return out;
}

/* Produces n OPENED events (tickets <prefix><k>), framed with schema id;
 * v2: with the trailing region of schema_v2. */
static void produce(const char *topic, const char *prefix, int n, uint32_t id, int v2) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", ccp_mock_bootstraps(mock), err, sizeof err);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  CCP_ASSERT(p);
  ccp_buf_t val;
  ccp_buf_init(&val);
  for (int k = 0; k < n; k++) {
    char eid[32], tid[32];
    snprintf(eid, sizeof eid, "e-%s%d", prefix, k);
    snprintf(tid, sizeof tid, "%s%d", prefix, k);
    ccp_event_t ev;
    ccp_event_clear(&ev);
    ev.event_id = (ccp_str_t){eid, strlen(eid)};
    ev.ticket_id = (ccp_str_t){tid, strlen(tid)};
    ev.customer_id = (ccp_str_t){"c1", 2};
    ev.queue = (ccp_str_t){"tech", 4};
    ev.channel = CCP_CH_CHAT;
    ev.type = CCP_EV_OPENED;
    ev.ts = T0 + k;
    ccp_buf_clear(&val);
    ccp_confluent_frame(&val, id);
    CCP_ASSERT(ccp_avro_encode(&ev, &val) == 0);
    if (v2) { /* region: zigzag length 4 = 8, then the bytes */
      ccp_buf_putc(&val, 8);
      ccp_buf_append(&val, "east", 4);
    }
    CCP_ASSERT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(tid, strlen(tid)),
                                 RD_KAFKA_V_VALUE(val.data, val.len), RD_KAFKA_V_END) == 0);
  }
  CCP_ASSERT(rd_kafka_flush(p, 10000) == 0);
  ccp_buf_release(&val);
  rd_kafka_destroy(p);
}

/* ---- the consumer ----------------------------------------------------------- */

typedef struct member {
  ccp_consumer_t *c;
  pthread_t th;
  pthread_mutex_t mu;
  int64_t events; /* diagnostics.events of the last view: decoded + dead letters (mu) */
  int64_t dead;   /* diagnostics.dead_letter of the last view (guarded by mu) */
  int rc;
} member_t;

static int on_publish(void *opaque, const ccp_view_t *v, const ccp_alert_t *al, int n) {
  member_t *m = opaque;
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_view_snapshot_json(v, &b);
  const char *d = strstr(b.data, "\"diagnostics\":{\"events\":");
  const char *dl = d ? strstr(d, "\"dead_letter\":") : NULL;
  pthread_mutex_lock(&m->mu);
  m->events = d ? atoll(d + strlen("\"diagnostics\":{\"events\":")) : -1;
  m->dead = dl ? atoll(dl + strlen("\"dead_letter\":")) : -1;
  pthread_mutex_unlock(&m->mu);
  ccp_buf_release(&b);
  return 0;
}

static void *member_main(void *arg) {
  member_t *m = arg;
  m->rc = ccp_consumer_run(m->c);
  return NULL;
}

static void config(ccp_config_t *cfg, const char *topic, const char *group, const char *url,
                   const char *user_info) {
  char err[256];
  ccp_config_init(cfg);
  const char *kv[][2] = {
      {"kafka.topic", topic},           {"kafka.group", group},
      {"kafka.fetch.wait.max.ms", "5"}, {"kafka.log_level", "3"},
      {"publish.interval", "50ms"},     {"checkpoint.interval", "off"},
      {"schema.registry.url", url},     {"schema.registry.basic.auth.user.info", user_info},
      {"schema.registry.retry", "1s"}};
  for (size_t i = 0; i < CCP_ARRAY_LEN(kv); i++)
    if (ccp_config_set(cfg, kv[i][0], kv[i][1], NULL, err, sizeof err) != 0) {
      fprintf(stderr, "config: %s\n", err);
      CCP_ASSERT(0);
    }
  CCP_ASSERT(ccp_config_finish(cfg, err, sizeof err) == 0);
}

static void member_start(member_t *m, const ccp_config_t *cfg, int workers) {
  memset(m, 0, sizeof *m);
  pthread_mutex_init(&m->mu, NULL);
  ccp_consumer_opts_t o = {.cfg = cfg,
                           .brokers = ccp_mock_bootstraps(mock),
                           .workers = workers,
                           .publish = on_publish,
                           .opaque = m,
                           .final_timeout_ms = 300};
  char err[512];
  m->c = ccp_consumer_new(&o, err, sizeof err);
  if (!m->c)
    fprintf(stderr, "consumer: %s\n", err);
  CCP_ASSERT(m->c);
  CCP_ASSERT(pthread_create(&m->th, NULL, member_main, m) == 0);
}

static void member_stop(member_t *m) {
  ccp_consumer_stop(m->c);
  pthread_join(m->th, NULL);
  ccp_consumer_free(m->c);
  pthread_mutex_destroy(&m->mu);
}

/* Waits up to 30 s until the view counts `decoded` events decoded and
 * `dead` dead letters, as the consumer's counter does. */
static int wait_for(member_t *m, int64_t decoded, int64_t dead) {
  ccp_consumer_stats_t st;
  int64_t ev = 0, dl = 0;
  for (int i = 0; i < 600; i++) {
    ccp_consumer_stats(m->c, &st);
    pthread_mutex_lock(&m->mu);
    ev = m->events;
    dl = m->dead;
    pthread_mutex_unlock(&m->mu);
    if (ev - dl == decoded && dl == dead && st.dead_letters == dead)
      return 1;
    ccp_clock_sleep_ms(50);
  }
  fprintf(stderr,
          "wait_for: want %lld decoded and %lld dead letters; the view has %lld events, %lld dead "
          "letters, the consumer sent %lld\n",
          (long long)decoded, (long long)dead, (long long)ev, (long long)dl,
          (long long)st.dead_letters);
  return 0;
}

static void test_fetch_dlq_retry(void) {
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", stub_port);
  stub_register(7, schema_v2);
  ccp_config_t cfg;
  config(&cfg, "reg", "g-reg", url, "ccp:" PASSWORD);
  produce("reg", "a", 100, 7, 1);
  member_t m;
  member_start(&m, &cfg, 2);
  /* 1. id 7 from the registry, v2 resolved against our reader */
  T_TRUE(wait_for(&m, 100, 0));
  T_EQ_INT(stub_count(7), 1);

  /* 2. id 9 not registered: dead letters with the reason, one request */
  produce("reg", "b", 10, 9, 0);
  T_TRUE(wait_for(&m, 100, 10));
  int asked = stub_count(9);
  T_TRUE(asked >= 1 && asked <= 2); /* 2 only if the batch straddled the 1 s back-off */
  char *reasons[10];
  int n = dlq_reasons(mock, "reg.dlq", 10, reasons);
  T_EQ_INT(n, 10);
  char want[256];
  snprintf(want, sizeof want,
           "schema id 9 is not registered at '%s' (HTTP 404: Schema 9 not found); asked again "
           "in ",
           url);
  for (int i = 0; i < n; i++) {
    if (strncmp(reasons[i], want, strlen(want)) != 0)
      T_FAIL_("dead letter %d: reason \"%s\", want \"%s...\"", i, reasons[i], want);
    ccp_free(reasons[i]);
  }
  /* registered now; after the back-off new records of id 9 decode */
  stub_register(9, ccp_avro_schema_v1);
  ccp_clock_sleep_ms(1100);
  produce("reg", "c", 10, 9, 0);
  T_TRUE(wait_for(&m, 110, 10));
  T_EQ_INT(stub_count(9), asked + 1);
  T_EQ_INT(stub_count(7), 1);
  member_stop(&m);
  T_EQ_INT(m.rc, 0);
  ccp_config_release(&cfg);
}

static void test_wrong_auth(void) {
  char url[128], logpath[96];
  snprintf(url, sizeof url, "http://ccp:wrong-pw@127.0.0.1:%d/", stub_port);
  snprintf(logpath, sizeof logpath, "%s/log", dir);
  ccp_config_t cfg;
  config(&cfg, "regauth", "g-auth", url, "");
  /* a local file for id 5 wins: the registry is never asked for it */
  char err[256];
  CCP_ASSERT(ccp_config_set(&cfg, "schema.registry.5", "../schemas/ticket_event.avsc", NULL, err,
                            sizeof err) == 0);
  produce("regauth", "d", 3, 7, 1);
  produce("regauth", "f", 2, 5, 0);
  FILE *log = fopen(logpath, "w+");
  CCP_ASSERT(log);
  ccp_log_reset();
  ccp_log_set_fd(fileno(log));
  member_t m;
  member_start(&m, &cfg, 1);
  T_TRUE(wait_for(&m, 2, 3));
  /* read while the member runs: a cycle waits only briefly for its dead
   * letters (docs/live.md), later cycles deliver the rest */
  char *reasons[3];
  int n = dlq_reasons(mock, "regauth.dlq", 3, reasons);
  member_stop(&m);
  T_EQ_INT(stub_count(5), 0);
  ccp_log_set_fd(2);
  T_EQ_INT(n, 3);
  char want[256];
  snprintf(want, sizeof want,
           "schema registry 'http://127.0.0.1:%d' refused the credentials of user 'ccp' (HTTP "
           "401); check schema.registry.basic.auth.user.info",
           stub_port);
  for (int i = 0; i < n; i++) {
    if (strncmp(reasons[i], want, strlen(want)) != 0)
      T_FAIL_("dead letter %d: reason \"%s\", want \"%s...\"", i, reasons[i], want);
    T_TRUE(strstr(reasons[i], "wrong-pw") == NULL);
    ccp_free(reasons[i]);
  }
  /* one ERROR line says so; the password appears nowhere in the log */
  fflush(log);
  size_t cap = 1 << 20;
  char *text = ccp_calloc(1, cap);
  rewind(log);
  size_t len = fread(text, 1, cap - 1, log);
  fclose(log);
  text[len] = '\0';
  T_TRUE(strstr(text, "ERROR registry: schema registry 'http://127.0.0.1:") != NULL);
  T_TRUE(strstr(text, "refused the credentials of user 'ccp' (HTTP 401)") != NULL);
  T_TRUE(strstr(text, "wrong-pw") == NULL);
  if (strstr(text, "wrong-pw") || !strstr(text, "(HTTP 401)"))
    fprintf(stderr, "log was:\n%s\n", text);
  ccp_free(text);
  ccp_config_release(&cfg);
}

int main(void) {
  char err[256];
  CCP_ASSERT(ccp_tz_use("UTC", err, sizeof err) == 0); /* before any thread */
  snprintf(dir, sizeof dir, "/tmp/ccp_registry_XXXXXX");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (stub_start() != 0) {
    if (getenv("CI"))
      return 1;
    T_SKIP("cannot start tests/registry_stub.py (python3 missing?)\n");
  }
  schema_v2 = make_v2();
  mock = ccp_mock_new(err, sizeof err);
  CCP_ASSERT(mock);
  ccp_mock_topic(mock, "reg", 2);
  ccp_mock_topic(mock, "reg.dlq", 1);
  ccp_mock_topic(mock, "regauth", 1);
  ccp_mock_topic(mock, "regauth.dlq", 1);
  T_RUN(test_fetch_dlq_retry);
  T_RUN(test_wrong_auth);
  ccp_mock_free(mock);
  stub_stop();
  ccp_free(schema_v2);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cannot remove %s\n", dir);
  curl_global_cleanup();
  return T_DONE();
}
