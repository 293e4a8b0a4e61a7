/*
 * `ccpulse run`: the live pipeline (docs/live.md). Kafka -> one engine per
 * partition on W workers -> every publish.interval a merged view -> Redis
 * (one MULTI/EXEC per cycle, src/publish/redis_pub.c) -> commit.
 *
 * This file wires the consumer (src/consume) to the Redis publisher and the
 * threshold rules, installs the SIGINT/SIGTERM handlers (main thread; every
 * other thread blocks signals) and, with --mock, starts librdkafka's mock
 * cluster in process and produces the given files into it first (tests).
 * ccp_cli_live() is shared with `ccpulse demo`.
 *
 * Threads: main thread, except live_publish() which runs on the publisher
 * thread and alone touches the Redis publisher and the rule set.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ccpulse/alerts.h"
#include "ccpulse/clock.h"
#include "ccpulse/consumer.h"
#include "ccpulse/http.h"
#include "ccpulse/log.h"
#include "ccpulse/redis_pub.h"
#include "ccpulse/wall.h"
#include "cli.h"
#include "http/metrics.h"

/* Arguments of `ccpulse run`. */
typedef struct run_args {
  ccp_cli_args_t base; /* first: --config, --set and the key options, the files */
  int mock;            /* --mock */
  int64_t partitions;  /* of the mock topic */
  int64_t schema_id;   /* --confluent, -1 = none */
  const char *listen;  /* --listen: http.listen (docs/wall.md), NULL = the key's */
} run_args_t;

static const ccp_cli_opt_t run_opts[] = {
    CCP_CLI_KAFKA_OPTS,
    {"--group", "GROUP", .key = "kafka.group", .help = "consumer group (config kafka.group)"},
    {"--redis", "URL", .key = "redis", .help = "Redis server (config redis)"},
    {"--workers", "N", .key = "workers", .help = "worker threads, 0 = cores (config workers)"},
    CCP_CLI_CONFIG_OPTS,
    {"--mock", NULL, ccp_cli_flag, offsetof(run_args_t, mock),
     .help = "start librdkafka's mock cluster in process, create the\n"
             "topic, produce the FILE arguments into it, then consume"},
    {"--partitions", "N", ccp_cli_int, offsetof(run_args_t, partitions), .lo = 1, .hi = 1000,
     .help = "partitions of the mock topic (default 1)"},
    {"--confluent", "ID", ccp_cli_schema_id, offsetof(run_args_t, schema_id),
     .help = "with --mock: produce the files Confluent-framed with ID"},
    {"--listen", "HOST:PORT", ccp_cli_str, offsetof(run_args_t, listen),
     .help = "the same as --set http.listen=HOST:PORT: /metrics, /healthz,\n"
             "/readyz and the wall page at http://HOST:PORT/wall/ (docs/wall.md)"},
};

const ccp_cli_spec_t ccp_cli_run_spec = {
    .name = "run",
    .summary = "consume events from Kafka and publish live KPIs and alerts to Redis",
    .about = "Consumes ticket events from Kafka (consumer group, cooperative rebalancing),\n"
             "keeps one engine per partition on N worker threads, and every publish.interval\n"
             "writes the merged KPI snapshot, tiles and alerts to Redis in one transaction,\n"
             "then commits the offsets it covers. Undecodable records go to the dead-letter\n"
             "topic (dlq.topic). SIGINT/SIGTERM: stop consuming, publish once more, commit,\n"
             "exit 0. See docs/live.md.",
    .opts = run_opts,
    .nopts = CCP_ARRAY_LEN(run_opts),
    .operands = "[FILE...]",
    .max_operands = -1,
    .epilog = "Exit status: 0 after a clean stop, 1 when the final publish failed, 2 usage\n"
              "or configuration error. Configuration keys: ccpulse help config.",
};

/* State of the publisher thread's side. */
typedef struct live {
  const ccp_config_t *cfg;
  ccp_redis_pub_t *pub;
  ccp_rules_t *rules;
  ccp_consumer_t *consumer;
  ccp_buf_t alerts;  /* JSON lines of this cycle */
  const char **ptrs; /* into alerts */
  int32_t *parts;    /* per line: the partition of a deadline alert, -1 (docs/redis.md) */
  ccp_buf_t ids;     /* the deadline alerts' ids, NUL-terminated */
  const char **idp;  /* per line: its id in ids (NULL: a rule's alert) */
  int64_t *due;      /* per line: a deadline alert's at_ms */
  size_t ptrs_cap;
  const ccp_cli_live_opts_t *opts;
  int64_t last_summary_ms;
  int64_t last_messages;
  int short_timeouts;          /* the shutdown's Redis time-outs are set */
  ccp_buf_t wall_settings;     /* <prefix>v1:wall (docs/redis.md), written per connection */
  int wall_settings_ok;        /* written on the current connection */
  uint64_t wall_settings_conn; /* the publisher's reconnects when it was written */
} live_t;

/* Shutdown within 5 s whatever is down (docs/operations.md, "Stopping"):
 * the final publish is retried until FINAL_MS after SIGTERM, each attempt
 * with these Redis time-outs; the consumer's close and flushes take the rest
 * (src/consume/consumer.c, SHUTDOWN_*). */
#define FINAL_MS 2000
#define SHUTDOWN_CONNECT_MS 300
#define SHUTDOWN_COMMAND_MS 800

static ccp_consumer_t *volatile g_consumer; /* for the signal handler */

static void on_signal(int sig) {
  ccp_consumer_t *c = g_consumer;
  if (c)
    ccp_consumer_stop(c); /* one atomic store: async-signal-safe */
}

/* Value of a KPI of scope `all` in window `win`, or NaN. */
static double all_value(const ccp_view_t *v, const ccp_config_t *cfg, const char *win,
                        const char *id) {
  int s = ccp_view_find_scope(v, "all"), w = 0;
  for (int i = 0; i < cfg->nwindows; i++)
    if (strcmp(cfg->windows[i].name, win) == 0)
      w = i;
  double out = 0.0 / 0.0;
  if (s >= 0)
    ccp_view_value(v, s, w, id, &out);
  return out;
}

static void summary(live_t *l, const ccp_view_t *v, int ok) {
  int64_t now = ccp_clock_mono_ms();
  if (now - l->last_summary_ms < 1000)
    return;
  double secs = l->last_summary_ms ? (double)(now - l->last_summary_ms) / 1000.0 : 1.0;
  l->last_summary_ms = now;
  ccp_consumer_stats_t st;
  ccp_consumer_stats(l->consumer, &st);
  double rate = (double)(st.messages - l->last_messages) / secs;
  l->last_messages = st.messages;
  double open = all_value(v, l->cfg, "5m", "open"), waiting = all_value(v, l->cfg, "5m", "waiting");
  double sl = all_value(v, l->cfg, "5m", "service_level_pct");
  double br = all_value(v, l->cfg, "5m", "sla_breaches");
  char slbuf[16];
  if (sl == sl)
    snprintf(slbuf, sizeof slbuf, "%.1f%%", sl);
  else
    snprintf(slbuf, sizeof slbuf, "-");
  fprintf(stdout,
          "events/s %6.0f | open %5.0f | waiting %4.0f | SL 5m %6s | breaches 5m %4.0f | "
          "partitions %lld | redis %s\n",
          rate, open == open ? open : 0, waiting == waiting ? waiting : 0, slbuf, br == br ? br : 0,
          (long long)st.partitions, ok ? "ok" : "DOWN (retrying)");
  fflush(stdout);
}

/* @locality publisher thread: after a successful cycle, the wall's settings
 * document once per connection (a Redis that restarted empty gets it again). */
static void write_wall_settings(live_t *l) {
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(l->pub, &st);
  if (l->wall_settings_ok && st.reconnects == l->wall_settings_conn)
    return;
  char err[CCP_ERRBUF_SIZE];
  if (ccp_wall_settings_write(l->cfg->redis_url, l->cfg->redis_prefix, l->wall_settings.data, err,
                              sizeof err) != 0) {
    ccp_log(CCP_LOG_WARN, "run", "cannot write the wall settings: %s; retrying", err);
    return;
  }
  l->wall_settings_ok = 1;
  l->wall_settings_conn = st.reconnects;
}

/* @locality publisher thread. The cycle's alert scratch, once the alerts
 * are queued: a catch-up renders thousands of deadline alerts in a cycle
 * (tens of MB), which kept would stay resident through an idle or steady
 * stream (ccp_scratch_oversized: over 1 MiB and over 8 times this use). */
static void shrink_alerts(live_t *l, size_t n) {
  ccp_buf_shrink(&l->alerts, l->alerts.len);
  ccp_buf_shrink(&l->ids, l->ids.len);
  if (ccp_scratch_oversized(l->ptrs_cap, n, sizeof *l->ptrs)) {
    ccp_free(l->ptrs);
    ccp_free(l->parts);
    ccp_free(l->idp);
    ccp_free(l->due);
    l->ptrs = NULL;
    l->parts = NULL;
    l->idp = NULL;
    l->due = NULL;
    l->ptrs_cap = 0;
  }
}

/* @locality publisher thread. In a checkpoint cycle x's checkpoints are
 * written in the same transaction (docs/checkpoints.md), with several
 * instances its partials and stream time (docs/live.md); without a view
 * (not the view writer) neither the view, meta nor the threshold rules. */
static int live_publish(void *opaque, const ccp_view_t *view, const ccp_alert_t *alerts,
                        int nalerts, ccp_publish_extra_t *x) {
  live_t *l = opaque;
  if (!l->short_timeouts && ccp_consumer_stopping(l->consumer)) {
    /* shutting down: each attempt of the final cycle fits the deadline */
    ccp_redis_pub_set_timeouts(l->pub, SHUTDOWN_CONNECT_MS, SHUTDOWN_COMMAND_MS);
    l->short_timeouts = 1;
  }
  ccp_buf_clear(&l->alerts);
  ccp_buf_clear(&l->ids);
  /* more deadline alerts than the publisher's queue holds (a catch-up): the
   * oldest would be dropped on arrival, so they are not rendered, only
   * counted (rc_.alerts_skipped), with those older still that the workers
   * dropped already (co.alert_cap) */
  size_t cap = ccp_redis_pub_alert_cap(l->pub);
  int skip = (size_t)nalerts > cap ? nalerts - (int)cap : 0;
  alerts += skip;
  nalerts -= skip;
  const int32_t *alert_parts = x->alert_partitions ? x->alert_partitions + skip : NULL;
  for (int i = 0; i < nalerts; i++) {
    ccp_alert_json(&alerts[i], &l->alerts);
    ccp_buf_putc(&l->alerts, '\n');
    ccp_alert_id(&alerts[i], &l->ids); /* what the JSON's "id" holds: Redis need not parse it */
    ccp_buf_putc(&l->ids, '\0');
  }
  if (l->rules && view) /* rules judge the view: only its writer evaluates them */
    ccp_rules_eval(l->rules, view, &l->alerts);
  /* split the lines in place into NUL-terminated strings */
  size_t n = 0;
  for (size_t i = 0; i < l->alerts.len; i++)
    n += l->alerts.data[i] == '\n';
  if (n > l->ptrs_cap) {
    l->ptrs_cap = n * 2;
    l->ptrs = ccp_realloc(l->ptrs, l->ptrs_cap * sizeof *l->ptrs);
    l->parts = ccp_realloc(l->parts, l->ptrs_cap * sizeof *l->parts);
    l->idp = ccp_realloc(l->idp, l->ptrs_cap * sizeof *l->idp);
    l->due = ccp_realloc(l->due, l->ptrs_cap * sizeof *l->due);
  }
  const char *id = l->ids.data;
  size_t k = 0, start = 0;
  for (size_t i = 0; i < l->alerts.len; i++)
    if (l->alerts.data[i] == '\n') {
      l->alerts.data[i] = '\0';
      if (i > start) { /* the deadline alerts' lines first, then the rules' */
        l->parts[k] = (int)k < nalerts && alert_parts ? alert_parts[k] : -1;
        l->idp[k] = (int)k < nalerts ? id : NULL;
        l->due[k] = (int)k < nalerts ? alerts[k].at_ms : INT64_MIN;
        if ((int)k < nalerts)
          id += strlen(id) + 1;
        l->ptrs[k++] = l->alerts.data + start;
      }
      start = i + 1;
    }
  /* the publisher queues the alerts itself until a cycle succeeds */
  ccp_redis_cycle_t rc_ = {.view = view,
                           .no_meta = view == NULL,
                           .alerts = l->ptrs,
                           .nalerts = k,
                           .alerts_skipped = (size_t)skip + (size_t)x->alerts_dropped,
                           .alert_partitions = l->parts,
                           .alert_ids = l->idp,
                           .alert_due = l->due,
                           .ckpts = x->ckpts,
                           .nckpts = x->nckpts,
                           .ckpt_batch = x->ckpt_batch,
                           .topic = l->cfg->kafka_topic,
                           .partials = x->partials,
                           .npartials = x->npartials,
                           .stream_time = x->stream_time};
  int rc = ccp_redis_pub_cycle_x(l->pub, &rc_);
  shrink_alerts(l, k); /* queued (copied): a catch-up's burst need not stay */
  x->shared_time = rc_.shared_time;
  x->ckpt_pending = rc_.ckpt_pending;
  if (rc == 0 && view)
    write_wall_settings(l);
  if (l->opts->summary && view)
    summary(l, view, rc == 0);
  return rc;
}

/* @locality publisher thread: the view writer's reads (several instances). */
static int live_fetch(void *opaque, int32_t fence_partition, int64_t fence_epoch,
                      const int32_t *want, int nwant, ccp_partial_got_t *got, int *fence_ok) {
  live_t *l = opaque;
  return ccp_redis_pub_fetch(l->pub, l->cfg->kafka_topic, fence_partition, fence_epoch, want, nwant,
                             got, fence_ok);
}

int ccp_cli_live_begin(const ccp_config_t *cfg, const char *component) {
  char err[CCP_ERRBUF_SIZE];
  ccp_cli_log_startup(cfg, component);
  /* refused credentials or permissions stop start-up; a Redis that cannot
   * be reached yet is retried like any outage */
  int rc =
      ccp_redis_check_access(cfg->redis_url, cfg->redis_prefix, cfg->kafka_topic, err, sizeof err);
  if (rc == -CCP_EINVAL) {
    ccp_log(CCP_LOG_ERROR, component, "config key 'redis': %s", err);
    return CCP_EXIT_USAGE;
  }
  if (rc != 0)
    ccp_log(CCP_LOG_WARN, component, "%s; starting anyway, publishing is retried with backoff",
            err);
  return CCP_EXIT_OK;
}

int ccp_cli_live(const ccp_config_t *cfg, const ccp_cli_live_opts_t *o) {
  char err[CCP_ERRBUF_SIZE];
  int rc = CCP_EXIT_USAGE;
  live_t l;
  memset(&l, 0, sizeof l);
  l.cfg = cfg;
  l.opts = o;
  ccp_buf_init(&l.alerts);
  ccp_buf_init(&l.ids);
  ccp_buf_init(&l.wall_settings);
  ccp_consumer_t *c = NULL;
  ccp_http_t *http = NULL;
  ccp_wall_t *wall = NULL;
  ccp_metrics_ctx_t mx = {.cfg = cfg};

  if (cfg->http_listen[0] && ccp_http_listen_check(cfg->http_listen, err, sizeof err) != 0) {
    ccp_log(CCP_LOG_ERROR, "run", "config key 'http.listen': %s", err);
    goto done;
  }
  if (!(l.rules =
            ccp_rules_parse(cfg->alerts_rules ? cfg->alerts_rules : "", cfg, err, sizeof err))) {
    ccp_log(CCP_LOG_ERROR, "run", "config key 'alerts.rules': %s", err);
    goto done;
  }
  {
    ccp_buf_t rj;
    ccp_buf_init(&rj);
    ccp_rules_json(l.rules, &rj);
    const char *wn[CCP_MAX_WINDOWS];
    for (int i = 0; i < cfg->nwindows; i++)
      wn[i] = cfg->windows[i].name;
    ccp_wall_settings_json(cfg->publish_interval_ms, wn, cfg->nwindows, rj.data, &l.wall_settings);
    ccp_buf_release(&rj);
  }
  ccp_redis_pub_opts_t ro;
  memset(&ro, 0, sizeof ro);
  ro.url = cfg->redis_url;
  ro.prefix = cfg->redis_prefix;
  ro.cfg = cfg;
  ro.snapshot_maxlen = cfg->redis_snapshots_maxlen ? cfg->redis_snapshots_maxlen : -1;
  ro.snapshot_interval_ms = cfg->snapshot_interval_ms;
  ro.wait_refresh_ms = cfg->wait_refresh_ms;
  ro.dedup_window_ms = cfg->alerts_dedup_window_ms ? cfg->alerts_dedup_window_ms : -1;
  ro.snapshot_max_mb = cfg->redis_snap_max_mb ? cfg->redis_snap_max_mb : -1;
  ro.snapshot_mb_per_s = cfg->redis_snap_mb_per_s ? cfg->redis_snap_mb_per_s : -1;
  if (!(l.pub = ccp_redis_pub_new(&ro, err, sizeof err))) {
    ccp_log(CCP_LOG_ERROR, "run", "%s", err);
    goto done;
  }
  ccp_consumer_opts_t co;
  memset(&co, 0, sizeof co);
  co.cfg = cfg;
  co.brokers = o->brokers;
  co.publish_ckpt = live_publish;
  co.fetch = live_fetch;
  co.final_timeout_ms = FINAL_MS;
  co.alert_cap = ccp_redis_pub_alert_cap(l.pub); /* the older ones would be dropped on arrival */
  co.opaque = &l;
  if (!(c = ccp_consumer_new(&co, err, sizeof err))) {
    ccp_log(CCP_LOG_ERROR, "run", "%s", err);
    goto done;
  }
  l.consumer = c;
  if (o->wall_url && o->wall_url_len)
    o->wall_url[0] = '\0';
  if (cfg->http_listen[0]) { /* /metrics, /healthz, /readyz (docs/operations.md), the wall */
    const char *listen = cfg->http_listen;
    http = ccp_http_new();
    mx.h = http;
    mx.c = c;
    ccp_wall_opts_t wo = {.redis_url = cfg->redis_url, .prefix = cfg->redis_prefix};
    if (ccp_metrics_routes(&mx) != 0 || !(wall = ccp_wall_new(http, &wo, err, sizeof err)))
      goto http_fail;
    if (ccp_http_start(http, listen, err, sizeof err) != 0) {
      if (!o->http_any_port)
        goto http_fail;
      ccp_log(CCP_LOG_INFO, "run", "%s; serving HTTP on a free port", err);
      listen = "127.0.0.1:0";
      if (ccp_http_start(http, listen, err, sizeof err) != 0)
        goto http_fail;
    }
    if (ccp_wall_start(wall) != 0) {
      snprintf(err, sizeof err, "cannot start the wall's reader thread");
      goto http_fail;
    }
    char wurl[300];
    ccp_wall_url(listen, ccp_http_port(http), wurl, sizeof wurl);
    if (o->wall_url && o->wall_url_len)
      snprintf(o->wall_url, o->wall_url_len, "%s", wurl);
    ccp_log_state(CCP_LOG_INFO, "http",
                  "serving /metrics, /healthz, /readyz and the wall on '%s' (port %d): %s", listen,
                  ccp_http_port(http), wurl);
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  g_consumer = c;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  if (o->started)
    o->started(o->opaque, c);
  int r = ccp_consumer_run(c);
  ccp_http_stop(http); /* /readyz says "shutting down" until here */
  ccp_wall_stop(wall);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  g_consumer = NULL;
  if (r == -CCP_EINVAL) {
    rc = CCP_EXIT_USAGE; /* the brokers refused the credentials: logged by the consumer */
  } else if (r != 0) {
    char shown[1100];
    ccp_log(CCP_LOG_ERROR, "run",
            "the final publish to '%s' failed; uncommitted events will be read again",
            ccp_redis_url_redact(cfg->redis_url, shown, sizeof shown));
    rc = CCP_EXIT_INPUT;
  } else {
    rc = CCP_EXIT_OK;
  }

done:
  ccp_wall_stop(wall);
  ccp_http_free(http); /* before the consumer its handlers read */
  ccp_wall_free(wall); /* after the server: its routes point into it */
  ccp_consumer_free(c);
  if (ccp_consumer_abandoned()) { /* its threads still use the handle (and the mock cluster) */
    fflush(NULL);
    _exit(rc);
  }
  ccp_redis_pub_free(l.pub);
  ccp_rules_free(l.rules);
  ccp_buf_release(&l.alerts);
  ccp_buf_release(&l.ids);
  ccp_free(l.idp);
  ccp_free(l.due);
  ccp_buf_release(&l.wall_settings);
  ccp_free(l.ptrs);
  ccp_free(l.parts);
  return rc;
http_fail:
  ccp_log(CCP_LOG_ERROR, "run", "config key 'http.listen': %s", err);
  rc = CCP_EXIT_USAGE;
  goto done;
}

int ccp_cli_run(int argc, char **argv) {
  run_args_t args = {.partitions = 1, .schema_id = -1};
  int have_cfg = 0;
  ccp_config_t cfg;
  ccp_mock_t *mk = NULL;
  char err[CCP_ERRBUF_SIZE];

  int rc = ccp_cli_parse(&ccp_cli_run_spec, argc, argv, &args);
  if (rc != CCP_CLI_RUN)
    goto done;
  if (args.listen) /* --listen is http.listen */
    ccp_cli_args_add_set(&args.base, "http.listen", args.listen);
  rc = CCP_EXIT_USAGE;
  if (args.base.noperands && !args.mock) {
    ccp_log(CCP_LOG_ERROR, "run", "files are only read with --mock");
    goto done;
  }
  if ((rc = ccp_cli_load_config(&cfg, &args.base)) != 0)
    goto done;
  have_cfg = 1;
  rc = CCP_EXIT_USAGE;
  if (ccp_redis_url_check(cfg.redis_url, err, sizeof err) != 0) {
    ccp_log(CCP_LOG_ERROR, "run", "config key 'redis': %s", err);
    goto done;
  }
  if ((rc = ccp_cli_live_begin(&cfg, "run")) != CCP_EXIT_OK)
    goto done;
  rc = CCP_EXIT_USAGE;

  ccp_cli_live_opts_t lo;
  memset(&lo, 0, sizeof lo);
  if (args.mock) {
    if (!(mk = ccp_mock_new(err, sizeof err))) {
      ccp_log(CCP_LOG_ERROR, "run", "%s", err);
      goto done;
    }
    char dlq[512];
    snprintf(dlq, sizeof dlq, "%s.dlq", cfg.kafka_topic);
    ccp_mock_topic(mk, cfg.kafka_topic, (int)args.partitions);
    ccp_mock_topic(mk, cfg.dlq_topic[0] ? cfg.dlq_topic : dlq, 1);
    lo.brokers = ccp_mock_bootstraps(mk);
    char fw[] = "kafka.fetch.wait.max.ms";
    int user = 0;
    for (int i = 0; i < cfg.nkafka_props; i++)
      user |= strcmp(cfg.kafka_props[i].key, fw + 6) == 0;
    if (!user)
      ccp_config_set(&cfg, fw, "5", NULL, err, sizeof err);
    /* a new cluster each run: the offsets of stored checkpoints mean nothing here */
    ccp_config_set(&cfg, "checkpoint.interval", "off", NULL, err, sizeof err);
    if (args.base.noperands) { /* `ccpulse produce` of the files into the mock topic */
      int nf = args.base.noperands, pn = 0;
      char **pargv = ccp_calloc((size_t)nf + 8, sizeof *pargv);
      char id[24];
      pargv[pn++] = "produce";
      pargv[pn++] = "--brokers";
      pargv[pn++] = (char *)lo.brokers;
      pargv[pn++] = "--topic";
      pargv[pn++] = cfg.kafka_topic;
      if (args.schema_id >= 0) {
        snprintf(id, sizeof id, "%lld", (long long)args.schema_id);
        pargv[pn++] = "--confluent";
        pargv[pn++] = id;
      }
      pargv[pn++] = "--";
      for (int i = 0; i < nf; i++)
        pargv[pn++] = args.base.operands[i];
      ccp_log(CCP_LOG_INFO, "run", "mock cluster at %s; producing %d file(s), count on stdout",
              lo.brokers, nf);
      int prc = ccp_cli_produce(pn, pargv);
      ccp_config_apply_log(&cfg); /* produce applied its own configuration's */
      ccp_free(pargv);
      if (prc != 0) {
        rc = prc;
        goto done;
      }
    }
  }
  rc = ccp_cli_live(&cfg, &lo);

done:
  if (have_cfg)
    ccp_config_release(&cfg);
  ccp_mock_free(mk);
  ccp_cli_args_release(&args.base);
  return rc;
}
