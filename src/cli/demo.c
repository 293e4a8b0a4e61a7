/*
 * `ccpulse demo`: the whole live pipeline in one command, nothing to set up
 * but redis-server (scripts/setup-deps.sh installs it):
 *   - librdkafka's mock cluster in process (topic `tickets`, 3 partitions,
 *     and its dead-letter topic);
 *   - a generator thread producing the live mode of src/gen at the wall
 *     clock (ccp_gen_live_next): tickets arrive at --rate per second on the
 *     four channels, are assigned, answered (some too late: SLA breaches),
 *     handled, resolved, sometimes abandoned, surveyed and reviewed;
 *   - the processor (`ccpulse run`'s pipeline, ccp_cli_live);
 *   - a redis-server child on a free loopback port (or --redis URL).
 * Prints one summary line per second and the redis-cli commands to watch the
 * keys and alerts; runs until Ctrl-C or --duration. The demo's settings
 * (ccp_cli_demo_spec.config_sets) shorten the SLA thresholds (PHONE 30s,
 * CHAT 45s, SOCIAL 2m, EMAIL 10m) so breaches happen while you watch;
 * --set overrides them.
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

#include "ccpulse/clock.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/log.h"
#include "ccpulse/wall.h"
#include "cli.h"
#include "gen/gen.h"

/* Arguments of `ccpulse demo`. */
typedef struct demo_args {
  ccp_cli_args_t base; /* first: --config, --set, --workers */
  int64_t duration_ms; /* --duration, 0 = until Ctrl-C */
  double rate;         /* --rate: new tickets per second */
  const char *redis;   /* --redis URL, NULL = start a redis-server */
  const char *listen;  /* --listen: http.listen (the wall, docs/wall.md), NULL = the key's */
} demo_args_t;

static int parse_rate(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                      size_t errlen) {
  char *end;
  double r = strtod(value, &end);
  if (!*value || *end || !(r > 0 && r <= 100000)) {
    snprintf(err, errlen, "expected 1..100000 tickets per second");
    return -1;
  }
  *(double *)target = r;
  return 0;
}

static const ccp_cli_opt_t demo_opts[] = {
    {"--duration", "D", ccp_cli_duration, offsetof(demo_args_t, duration_ms),
     .help = "stop after D (e.g. 30s, 5m); default: until Ctrl-C"},
    {"--rate", "N", parse_rate, offsetof(demo_args_t, rate),
     .help = "new tickets per second (default 20)"},
    {"--redis", "URL", ccp_cli_str, offsetof(demo_args_t, redis),
     .help = "use this Redis instead of starting one"},
    {"--workers", "N", .key = "workers", .help = "worker threads (default 2)"},
    {"--listen", "HOST:PORT", ccp_cli_str, offsetof(demo_args_t, listen),
     .help = "the same as --set http.listen=HOST:PORT: the wall page, /metrics,\n"
             "/healthz, /readyz (default 127.0.0.1:9464, or a free port when\n"
             "9464 is taken; docs/wall.md)"},
    CCP_CLI_CONFIG_OPTS,
};

/* The demo's settings: short SLAs so that breaches come within a minute. */
static const char *const demo_sets[] = {"sla.PHONE=30s", "sla.CHAT=45s", "sla.SOCIAL=2m",
                                        "sla.EMAIL=10m", "kafka.topic=tickets", "workers=2",
                                        "kafka.fetch.wait.max.ms=5", "kafka.log_level=3",
                                        /* a new mock cluster each run: offsets of
                                         * an older run's checkpoints mean nothing */
                                        "checkpoint.interval=off", NULL};

const ccp_cli_spec_t ccp_cli_demo_spec = {
    .name = "demo",
    .summary = "live demo: mock Kafka, event generator, pipeline and Redis in one command",
    .about = "Runs the live pipeline on the embedded default: librdkafka's mock cluster in\n"
             "process, a generator of contact-center events at the wall clock, the KPI\n"
             "engines, and a redis-server started on a free loopback port (needs the\n"
             "redis-server package) unless --redis is given. Prints a summary line per\n"
             "second and how to watch the Redis keys and alerts. Ctrl-C stops it.",
    .opts = demo_opts,
    .nopts = CCP_ARRAY_LEN(demo_opts),
    .config_sets = demo_sets,
    .epilog = "Exit status: 0 after a clean stop, 1 when Redis or the pipeline failed,\n"
              "2 usage or configuration error.",
};

/* ---- the generator thread ---------------------------------------------- */

typedef struct feed {
  rd_kafka_t *rk;
  const char *topic;
  ccp_gen_t *gen;
  atomic_int stop;
} feed_t;

/* Every 20 ms: produce what the live generator has due by now. */
static void *feed_main(void *arg) {
  feed_t *f = arg;
  ccp_buf_t val;
  ccp_buf_init(&val);
  char err[CCP_ERRBUF_SIZE];
  while (!atomic_load(&f->stop)) {
    ccp_clock_sleep_ms(20);
    ccp_event_t ev;
    while (ccp_gen_live_next(f->gen, ccp_clock_wall_ms(), &ev) == 0)
      if (ccp_cli_produce_event(f->rk, f->topic, &ev, -1, &val, err, sizeof err) != 0)
        ccp_log(CCP_LOG_WARN, "demo", "%s", err);
    rd_kafka_poll(f->rk, 0);
  }
  ccp_buf_release(&val);
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
    ccp_clock_sleep_ms(50);
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
  char wall_url[300]; /* filled by ccp_cli_live before on_started */
  ccp_buf_t banner;   /* printed by on_started, after the wall's URL */
} timer_t_;

static void *timer_main(void *arg) {
  timer_t_ *t = arg;
  int64_t at = ccp_clock_wall_ms() + t->ms; /* the condvar waits on CLOCK_REALTIME */
  struct timespec dl = {(time_t)(at / 1000), (long)(at % 1000) * 1000000L};
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
  /* the wall's URL first (docs/wall.md), then how to watch Redis */
  if (t->wall_url[0])
    printf("ccpulse demo: wall at %s\n", t->wall_url);
  fputs(t->banner.data ? t->banner.data : "", stdout);
  fflush(stdout);
  if (t->ms > 0) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    t->started = pthread_create(&t->th, NULL, timer_main, t) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
}

int ccp_cli_demo(int argc, char **argv) {
  demo_args_t args = {.rate = 20};
  int have_cfg = 0;
  char redis_url[1024];
  ccp_config_t cfg;
  ccp_mock_t *mk = NULL;
  pid_t rpid = -1;
  feed_t feed;
  memset(&feed, 0, sizeof feed);
  pthread_t feed_th;
  int feed_started = 0;
  timer_t_ tm;
  memset(&tm, 0, sizeof tm);
  pthread_mutex_init(&tm.mu, NULL);
  pthread_cond_init(&tm.cv, NULL);
  ccp_buf_init(&tm.banner);
  char err[CCP_ERRBUF_SIZE];

  int rc = ccp_cli_parse(&ccp_cli_demo_spec, argc, argv, &args);
  if (rc != CCP_CLI_RUN)
    goto done;
  tm.ms = args.duration_ms;

  int port = 0;
  if (!args.redis) {
    if ((port = free_port()) < 0 || (rpid = start_redis(port)) < 0) {
      ccp_log(CCP_LOG_ERROR, "demo",
              "cannot start redis-server on 127.0.0.1:%d (is the redis-server package "
              "installed? bash scripts/setup-deps.sh), or pass --redis URL",
              port);
      rc = CCP_EXIT_INPUT;
      goto done;
    }
    snprintf(redis_url, sizeof redis_url, "redis://127.0.0.1:%d", port);
  } else {
    snprintf(redis_url, sizeof redis_url, "%s", args.redis);
  }
  ccp_cli_args_add_set(&args.base, "redis", redis_url);
  if (args.listen) /* --listen is http.listen */
    ccp_cli_args_add_set(&args.base, "http.listen", args.listen);
  if ((rc = ccp_cli_load_config(&cfg, &args.base)) != 0)
    goto done;
  have_cfg = 1;
  if ((rc = ccp_cli_live_begin(&cfg, "demo")) != CCP_EXIT_OK)
    goto done;
  rc = CCP_EXIT_INPUT;

  if (!(mk = ccp_mock_new(err, sizeof err))) {
    ccp_log(CCP_LOG_ERROR, "demo", "%s", err);
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
  if (!(feed.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
    rd_kafka_conf_destroy(conf);
    ccp_log(CCP_LOG_ERROR, "demo", "cannot create the demo producer: %s", err);
    goto done;
  }
  feed.topic = cfg.kafka_topic;
  int64_t start = ccp_clock_wall_ms();
  ccp_gen_live_opts_t go = {
      .rate = args.rate, .seed = (uint64_t)start * 0x9E3779B97F4A7C15ULL, .start_ms = start};
  feed.gen = ccp_gen_live_new(&go); /* the rate was checked by the parser */

  /* the url as it may be shown: a password in it is never printed */
  char shown[1100], cli[1200];
  ccp_config_redact_url(cfg.redis_url, shown, sizeof shown);
  if (args.redis)
    snprintf(cli, sizeof cli, "redis-cli -u '%s'", shown);
  else
    snprintf(cli, sizeof cli, "redis-cli -p %d", port);
  ccp_buf_printf(
      &tm.banner, "ccpulse demo: mock Kafka at %s (topic '%s', 3 partitions), Redis at %s%s\n",
      ccp_mock_bootstraps(mk), cfg.kafka_topic, shown,
      strcmp(shown, cfg.redis_url) ? " (*** stands for the credentials of --redis)" : "");
  ccp_buf_printf(
      &tm.banner,
      "  generator: ~%.0f new tickets/s at the wall clock; demo SLAs PHONE %llds CHAT %llds\n",
      args.rate, (long long)(cfg.sla_ms[CCP_CH_PHONE] / 1000),
      (long long)(cfg.sla_ms[CCP_CH_CHAT] / 1000));
  ccp_buf_printf(&tm.banner,
                 "watch it from another terminal:\n"
                 "  %s --raw XREVRANGE %ssnapshots + - COUNT 1     # latest snapshot JSON\n"
                 "  %s GET %sv1:gauges:all                            # live gauges (JSON)\n"
                 "  %s SUBSCRIBE %salerts                              # alerts as they fire\n"
                 "  %s XREVRANGE %salerts + - COUNT 10                 # the last 10 alerts\n"
                 "Ctrl-C stops.\n",
                 cli, cfg.redis_prefix, cli, cfg.redis_prefix, cli, cfg.redis_prefix, cli,
                 cfg.redis_prefix);

  {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    feed_started = pthread_create(&feed_th, NULL, feed_main, &feed) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  ccp_cli_live_opts_t lo;
  memset(&lo, 0, sizeof lo);
  lo.brokers = ccp_mock_bootstraps(mk);
  lo.summary = 1;
  lo.started = on_started;
  lo.opaque = &tm;
  lo.http_any_port = !args.listen; /* 9464 taken: a free port (two demos side by side) */
  lo.wall_url = tm.wall_url;
  lo.wall_url_len = sizeof tm.wall_url;
  rc = ccp_cli_live(&cfg, &lo);

done:
  if (tm.started) {
    pthread_mutex_lock(&tm.mu);
    tm.done = 1;
    pthread_cond_broadcast(&tm.cv);
    pthread_mutex_unlock(&tm.mu);
    pthread_join(tm.th, NULL);
  }
  if (feed_started) {
    atomic_store(&feed.stop, 1);
    pthread_join(feed_th, NULL);
  }
  if (feed.rk)
    rd_kafka_destroy(feed.rk);
  ccp_gen_free(feed.gen);
  ccp_mock_free(mk);
  ccp_buf_release(&tm.banner);
  if (rpid > 0) {
    kill(rpid, SIGTERM);
    waitpid(rpid, NULL, 0);
  }
  if (have_cfg)
    ccp_config_release(&cfg);
  pthread_mutex_destroy(&tm.mu);
  pthread_cond_destroy(&tm.cv);
  ccp_cli_args_release(&args.base);
  if (rc == CCP_EXIT_OK)
    printf("ccpulse demo: stopped\n");
  return rc;
}
