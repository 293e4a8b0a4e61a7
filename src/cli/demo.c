/*
 * `ccpulse demo`: the whole live pipeline in one command, nothing to set up
 * but redis-server (scripts/setup-deps.sh installs it):
 *   - librdkafka's mock cluster in process (topic `tickets`, 3 partitions,
 *     and its dead-letter topic);
 *   - a built-in generator thread producing a contact-center stream at the
 *     wall clock: tickets arrive at --rate per second on the four channels,
 *     are assigned, answered (some too late: SLA breaches), handled,
 *     resolved, sometimes abandoned, surveyed and reviewed;
 *   - the processor (`ccpulse run`'s pipeline, ccp_cli_live);
 *   - a redis-server child on a free loopback port (or --redis URL).
 * Prints one summary line per second and the redis-cli commands to watch the
 * keys and alerts; runs until Ctrl-C or --duration. The demo shortens the
 * SLA thresholds (PHONE 30s, CHAT 45s, SOCIAL 2m, EMAIL 10m) so breaches
 * happen while you watch; --set overrides them.
 *
 * Threads: main (pipeline main thread, signals), the generator, a timer for
 * --duration, and the pipeline's own threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "cli.h"

void ccp_cli_demo_usage(FILE *out) {
  fputs("usage: ccpulse demo [--duration DURATION] [--rate N] [--redis URL] [--workers N]\n"
        "                    [--config FILE] [--set key=value]...\n"
        "\n"
        "Runs the live pipeline on the embedded default: librdkafka's mock cluster in\n"
        "process, a generator of contact-center events at the wall clock, the KPI\n"
        "engines, and a redis-server started on a free loopback port (needs the\n"
        "redis-server package) unless --redis is given. Prints a summary line per\n"
        "second and how to watch the Redis keys and alerts. Ctrl-C stops it.\n"
        "\n"
        "  --duration D      stop after D (e.g. 30s, 5m); default: until Ctrl-C\n"
        "  --rate N          new tickets per second (default 20)\n"
        "  --redis URL       use this Redis instead of starting one\n"
        "  --workers N       worker threads (default 2)\n"
        "  --config FILE     configuration file\n"
        "  --set key=value   set one configuration key (repeatable)\n",
        out);
}

/* ---- the generator ----------------------------------------------------- */

enum { ST_OPEN, ST_ASSIGNED, ST_REPLIED, ST_HANDLED, ST_RESOLVED, ST_DONE };

typedef struct gticket {
  int64_t next_ms; /* when its next event is due */
  int64_t opened_ms;
  int state;
  int channel;
  int queue;
  int agent;
  int customer;
  int abandon; /* will abandon before a reply */
  uint32_t id;
} gticket_t;

typedef struct gen {
  rd_kafka_t *rk;
  const char *topic;
  double rate;
  atomic_int stop;
  uint64_t rng;
  uint64_t seq;
  gticket_t *t;
  int n, cap;
  ccp_buf_t val;
} gen_t;

static const char *const queues[] = {"billing", "tech", "sales", "returns", "vip"};

static uint64_t rnd(gen_t *g) { /* xorshift64* */
  g->rng ^= g->rng >> 12;
  g->rng ^= g->rng << 25;
  g->rng ^= g->rng >> 27;
  return g->rng * 2685821657736338717ULL;
}
static double unif(gen_t *g) { return (double)(rnd(g) >> 11) / 9007199254740992.0; }
static int64_t between(gen_t *g, double lo_s, double hi_s) {
  return (int64_t)((lo_s + (hi_s - lo_s) * unif(g)) * 1000);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emit(gen_t *g, gticket_t *t, int type, int64_t ts) {
  char eid[32], tid[32], cid[32], aid[16];
  snprintf(eid, sizeof eid, "d%llu", (unsigned long long)++g->seq);
  snprintf(tid, sizeof tid, "T%08u", t->id);
  snprintf(cid, sizeof cid, "C%05d", t->customer);
  snprintf(aid, sizeof aid, "a-%02d", t->agent);
  ccp_event_t ev;
  ccp_event_clear(&ev);
  ev.ts = ts;
  ev.type = (uint8_t)type;
  ev.channel = (uint8_t)t->channel;
  ev.event_id = (ccp_str_t){eid, strlen(eid)};
  ev.ticket_id = (ccp_str_t){tid, strlen(tid)};
  ev.customer_id = (ccp_str_t){cid, strlen(cid)};
  ev.queue = (ccp_str_t){queues[t->queue], strlen(queues[t->queue])};
  if (type != CCP_EV_OPENED && type != CCP_EV_ABANDONED)
    ev.agent_id = (ccp_str_t){aid, strlen(aid)};
  if (type == CCP_EV_OPENED && unif(g) < 0.05)
    ev.category = (ccp_str_t){"complaint", 9};
  if (type == CCP_EV_HANDLED) {
    ev.talk_ms = between(g, 60, 400);
    ev.hold_ms = unif(g) < 0.3 ? between(g, 5, 60) : 0;
    ev.acw_ms = between(g, 10, 90);
  }
  if (type == CCP_EV_SURVEY) {
    double u = unif(g);
    ev.csat = u < 0.7 ? 4 + (int)(unif(g) * 2) : 1 + (int)(unif(g) * 3);
    ev.nps = u < 0.6 ? 9 + (int)(unif(g) * 2) : (int)(unif(g) * 9);
    ev.ces = 1 + (int)(unif(g) * 7);
  }
  if (type == CCP_EV_QA_REVIEWED)
    ev.qa_errors = unif(g) < 0.8 ? 0 : 1 + (int)(unif(g) * 3);
  ccp_buf_clear(&g->val);
  if (ccp_avro_encode(&ev, &g->val) != 0)
    return;
  while (
      rd_kafka_producev(g->rk, RD_KAFKA_V_TOPIC(g->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(tid, strlen(tid)), RD_KAFKA_V_VALUE(g->val.data, g->val.len),
                        RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
    rd_kafka_poll(g->rk, 10);
}

/* Advances one ticket whose next event is due; returns 0 when it is done. */
static int step(gen_t *g, gticket_t *t, int64_t now) {
  int64_t ts = t->next_ms;
  switch (t->state) {
  case ST_OPEN:
    if (t->abandon) {
      emit(g, t, CCP_EV_ABANDONED, ts);
      return 0;
    }
    emit(g, t, CCP_EV_ASSIGNED, ts);
    t->state = ST_ASSIGNED;
    /* first reply: most within the demo SLAs, some well after */
    t->next_ms = ts + (unif(g) < 0.85 ? between(g, 2, 25) : between(g, 30, 90));
    if (t->channel == CCP_CH_EMAIL)
      t->next_ms += between(g, 30, 200);
    return 1;
  case ST_ASSIGNED:
    emit(g, t, CCP_EV_AGENT_REPLY, ts);
    if (unif(g) < 0.3)
      emit(g, t, CCP_EV_CUSTOMER_REPLY, ts + 1);
    t->state = ST_REPLIED;
    t->next_ms = ts + between(g, 20, 90);
    return 1;
  case ST_REPLIED:
    emit(g, t, CCP_EV_HANDLED, ts);
    t->state = ST_HANDLED;
    t->next_ms = ts + between(g, 1, 10);
    return 1;
  case ST_HANDLED:
    emit(g, t, CCP_EV_RESOLVED, ts);
    t->state = ST_RESOLVED;
    t->next_ms = ts + between(g, 5, 30);
    return 1;
  case ST_RESOLVED:
    if (unif(g) < 0.4)
      emit(g, t, CCP_EV_SURVEY, ts);
    if (unif(g) < 0.15)
      emit(g, t, CCP_EV_QA_REVIEWED, ts + 1);
    return 0;
  }
  return 0;
}

static void *gen_main(void *arg) {
  gen_t *g = arg;
  int64_t last = now_ms();
  double carry = 0;
  while (!atomic_load(&g->stop)) {
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    int64_t now = now_ms();
    /* arrivals: rate per second, with a slow wave so the wall moves */
    double wave = 1.0 + 0.5 * __builtin_sin((double)(now % 120000) / 120000.0 * 6.283185307);
    carry += g->rate * wave * (double)(now - last) / 1000.0;
    last = now;
    while (carry >= 1.0) {
      carry -= 1.0;
      if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 1024;
        g->t = ccp_realloc(g->t, (size_t)g->cap * sizeof *g->t);
      }
      gticket_t *t = &g->t[g->n++];
      memset(t, 0, sizeof *t);
      t->id = (uint32_t)(rnd(g) & 0x7fffffff);
      double u = unif(g);
      t->channel = u < 0.45   ? CCP_CH_PHONE
                   : u < 0.8  ? CCP_CH_CHAT
                   : u < 0.93 ? CCP_CH_EMAIL
                              : CCP_CH_SOCIAL;
      t->queue = (int)(unif(g) * CCP_ARRAY_LEN(queues));
      t->agent = (int)(unif(g) * 40);
      t->customer = (int)(unif(g) * 20000);
      t->abandon = t->channel == CCP_CH_PHONE && unif(g) < 0.12;
      t->opened_ms = now;
      emit(g, t, CCP_EV_OPENED, now);
      t->state = ST_OPEN;
      t->next_ms = now + (t->abandon ? between(g, 2, 40) : between(g, 1, 8));
    }
    for (int i = 0; i < g->n;) {
      if (g->t[i].next_ms <= now && !step(g, &g->t[i], now)) {
        g->t[i] = g->t[--g->n];
        continue;
      }
      i++;
    }
    rd_kafka_poll(g->rk, 0);
  }
  return NULL;
}

/* ---- redis-server child ------------------------------------------------ */

static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(s, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (s >= 0)
    close(s);
  return port;
}

static int redis_ping(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = 0;
  if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
    char buf[16] = {0};
    ok = write(s, "PING\r\n", 6) == 6 && read(s, buf, sizeof buf - 1) > 0 &&
         strncmp(buf, "+PONG", 5) == 0;
  }
  if (s >= 0)
    close(s);
  return ok;
}

static pid_t start_redis(int port) {
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  pid_t pid = fork();
  if (pid == 0) {
    /* own process group: a terminal's Ctrl-C goes to us, we stop it */
    setpgid(0, 0);
    freopen("/dev/null", "w", stdout);
    execlp("redis-server", "redis-server", "--port", ps, "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; pid > 0 && i < 100; i++) {
    if (redis_ping(port))
      return pid;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid)
      return -1;
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
  if (pid > 0)
    kill(pid, SIGKILL), waitpid(pid, NULL, 0);
  return -1;
}

/* ---- --duration -------------------------------------------------------- */

typedef struct timer {
  int64_t ms;
  ccp_consumer_t *c;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  pthread_t th;
  int started;
} timer_t_;

static void *timer_main(void *arg) {
  timer_t_ *t = arg;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += t->ms / 1000;
  dl.tv_nsec += (t->ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L)
    dl.tv_sec++, dl.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&t->mu);
  while (!t->done)
    if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
      break;
  int fire = !t->done;
  pthread_mutex_unlock(&t->mu);
  if (fire)
    ccp_consumer_stop(t->c);
  return NULL;
}

static void on_started(void *opaque, struct ccp_consumer *c) {
  timer_t_ *t = opaque;
  t->c = c;
  if (t->ms > 0) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    t->started = pthread_create(&t->th, NULL, timer_main, t) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
}

int ccp_cli_demo(int argc, char **argv) {
  const char *config_file = NULL, *v, *duration_s = NULL, *rate_s = NULL, *redis = NULL,
             *workers = NULL;
  static char *demo_sets[] = {"sla.PHONE=30s",
                              "sla.CHAT=45s",
                              "sla.SOCIAL=2m",
                              "sla.EMAIL=10m",
                              "kafka.topic=tickets",
                              "workers=2",
                              "kafka.fetch.wait.max.ms=5",
                              "kafka.log_level=3"};
  int nd = (int)CCP_ARRAY_LEN(demo_sets);
  char **sets = ccp_calloc((size_t)argc + (size_t)nd + 4, sizeof *sets);
  int nsets = 0, rc = CCP_EXIT_USAGE, have_cfg = 0;
  for (int i = 0; i < nd; i++)
    sets[nsets++] = demo_sets[i];
  char redis_set[128], workers_set[64];
  ccp_config_t cfg;
  ccp_mock_t *mk = NULL;
  rd_kafka_t *prod = NULL;
  pid_t rpid = -1;
  gen_t g;
  memset(&g, 0, sizeof g);
  ccp_buf_init(&g.val);
  pthread_t gth;
  int gen_started = 0;
  timer_t_ tm;
  memset(&tm, 0, sizeof tm);
  pthread_mutex_init(&tm.mu, NULL);
  pthread_cond_init(&tm.cv, NULL);
  char err[CCP_ERRBUF_SIZE];

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int m;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      ccp_cli_demo_usage(stdout);
      rc = CCP_EXIT_OK;
      goto done;
    } else if ((m = ccp_cli_config_opt(argc, argv, &i, &config_file, sets, &nsets)) != 0) {
      if (m < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--duration", &v)) != 0) {
      if (m < 0)
        goto done;
      duration_s = v;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--rate", &v)) != 0) {
      if (m < 0)
        goto done;
      rate_s = v;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--redis", &v)) != 0) {
      if (m < 0)
        goto done;
      redis = v;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--workers", &v)) != 0) {
      if (m < 0)
        goto done;
      workers = v;
    } else {
      fprintf(stderr, "ccpulse demo: unknown option '%s'\nTry 'ccpulse demo --help'.\n", a);
      goto done;
    }
  }
  if (duration_s && (ccp_parse_duration(duration_s, &tm.ms) != 0 || tm.ms <= 0)) {
    fprintf(stderr, "ccpulse demo: --duration '%s': expected a positive duration (e.g. 30s)\n",
            duration_s);
    goto done;
  }
  g.rate = rate_s ? atof(rate_s) : 20;
  if (!(g.rate > 0 && g.rate <= 100000)) {
    fprintf(stderr, "ccpulse demo: --rate '%s': expected 1..100000 tickets per second\n", rate_s);
    goto done;
  }
  if (workers) {
    snprintf(workers_set, sizeof workers_set, "workers=%s", workers);
    sets[nsets++] = workers_set;
  }

  int port = 0;
  if (!redis) {
    if ((port = free_port()) < 0 || (rpid = start_redis(port)) < 0) {
      fprintf(stderr,
              "ccpulse: cannot start redis-server on 127.0.0.1:%d (is the redis-server "
              "package installed? bash scripts/setup-deps.sh), or pass --redis URL\n",
              port);
      rc = CCP_EXIT_INPUT;
      goto done;
    }
    snprintf(redis_set, sizeof redis_set, "redis=redis://127.0.0.1:%d", port);
  } else {
    snprintf(redis_set, sizeof redis_set, "redis=%s", redis);
  }
  sets[nsets++] = redis_set;
  if ((rc = ccp_cli_load_config(&cfg, config_file, sets, nsets)) != 0)
    goto done;
  have_cfg = 1;
  rc = CCP_EXIT_INPUT;

  if (!(mk = ccp_mock_new(err, sizeof err))) {
    fprintf(stderr, "ccpulse: %s\n", err);
    goto done;
  }
  char dlq[512];
  snprintf(dlq, sizeof dlq, "%s.dlq", cfg.kafka_topic);
  ccp_mock_topic(mk, cfg.kafka_topic, 3);
  ccp_mock_topic(mk, cfg.dlq_topic[0] ? cfg.dlq_topic : dlq, 1);

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  ccp_kafka_conf_set_logger(conf);
  rd_kafka_conf_set(conf, "bootstrap.servers", ccp_mock_bootstraps(mk), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  if (!(prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
    rd_kafka_conf_destroy(conf);
    fprintf(stderr, "ccpulse: cannot create the demo producer: %s\n", err);
    goto done;
  }
  g.rk = prod;
  g.topic = cfg.kafka_topic;
  g.rng = (uint64_t)now_ms() * 0x9E3779B97F4A7C15ULL | 1;

  const char *url = redis ? redis : redis_set + 6;
  char cli[160];
  if (redis) {
    snprintf(cli, sizeof cli, "redis-cli -u %s", redis);
  } else {
    snprintf(cli, sizeof cli, "redis-cli -p %d", port);
  }
  printf("ccpulse demo: mock Kafka at %s (topic '%s', 3 partitions), Redis at %s\n",
         ccp_mock_bootstraps(mk), cfg.kafka_topic, url);
  printf("  generator: ~%.0f new tickets/s at the wall clock; demo SLAs PHONE %llds CHAT %llds\n",
         g.rate, (long long)(cfg.sla_ms[CCP_CH_PHONE] / 1000),
         (long long)(cfg.sla_ms[CCP_CH_CHAT] / 1000));
  printf("watch it from another terminal:\n"
         "  %s --raw XREVRANGE %ssnapshots + - COUNT 1     # latest snapshot JSON\n"
         "  %s GET %sv1:gauges:all                            # live gauges (JSON)\n"
         "  %s SUBSCRIBE %salerts                              # alerts as they fire\n"
         "  %s XREVRANGE %salerts + - COUNT 10                 # the last 10 alerts\n"
         "Ctrl-C stops.\n",
         cli, cfg.redis_prefix, cli, cfg.redis_prefix, cli, cfg.redis_prefix, cli,
         cfg.redis_prefix);
  fflush(stdout);

  {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    gen_started = pthread_create(&gth, NULL, gen_main, &g) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  ccp_cli_live_opts_t lo;
  memset(&lo, 0, sizeof lo);
  lo.brokers = ccp_mock_bootstraps(mk);
  lo.summary = 1;
  lo.started = on_started;
  lo.opaque = &tm;
  rc = ccp_cli_live(&cfg, &lo);

done:
  if (tm.started) {
    pthread_mutex_lock(&tm.mu);
    tm.done = 1;
    pthread_cond_broadcast(&tm.cv);
    pthread_mutex_unlock(&tm.mu);
    pthread_join(tm.th, NULL);
  }
  if (gen_started) {
    atomic_store(&g.stop, 1);
    pthread_join(gth, NULL);
  }
  if (prod)
    rd_kafka_destroy(prod);
  ccp_mock_free(mk);
  if (rpid > 0) {
    kill(rpid, SIGTERM);
    waitpid(rpid, NULL, 0);
  }
  if (have_cfg)
    ccp_config_release(&cfg);
  ccp_free(g.t);
  ccp_buf_release(&g.val);
  pthread_mutex_destroy(&tm.mu);
  pthread_cond_destroy(&tm.cv);
  ccp_free(sets);
  if (rc == CCP_EXIT_OK)
    printf("ccpulse demo: stopped\n");
  return rc;
}
