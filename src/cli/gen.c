/*
 * `ccpulse gen`: the load generator. Builds the deterministic workload of
 * src/gen/gen.h (same options and seed -> same events) and writes it either
 * to a Kafka topic (Avro binary v1, optionally Confluent-framed, keyed by
 * ticket_id like `ccpulse produce`) at a target rate or as fast as possible,
 * or to an Avro container file (--out). Prints one JSON line with what was
 * written and how fast. --agents and --queues size the center (a wide one
 * gets the same lifecycles as the default with other queue and agent
 * labels; see src/gen/gen.h).
 *
 * --now replaces each event's time by the wall clock at the moment it is
 * produced (late stragglers keep their lag), so a live pipeline can measure
 * event -> KPI latency (bench/run); the summary's start_wall_ms is when
 * event 1 was due, event k is due (k - 1) / rate seconds later. With --rate
 * the summary also tells how well the producer kept its schedule, so that a
 * latency run can keep the producer's own lag apart from event -> Redis
 * latency: lag_p50_ms/lag_p99_ms/lag_max_ms (checked every 64 events: how
 * late event k was handed to librdkafka against its due time) and
 * produced_ms, the time since start_wall_ms at which events 1, 1 + stride,
 * 1 + 2 stride, ... were handed over (produced_stride, at most ~4,096 entries).
 *
 * Threads: main thread only (librdkafka's own threads deliver; delivery
 * reports are served by rd_kafka_poll/flush on this thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/buf.h"
#include "ccpulse/clock.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/log.h"
#include "ccpulse/ocf.h"
#include "cli.h"
#include "gen/gen.h"

/* Arguments of `ccpulse gen`. */
typedef struct gen_args {
  ccp_cli_args_t base; /* first: --config, --set, --brokers, --topic */
  ccp_gen_opts_t go;   /* --seed, --daily and the fractions */
  uint64_t events;     /* --events */
  uint64_t rate;       /* --rate, 0 = as fast as possible */
  int now;             /* --now */
  const char *out;     /* --out FILE */
  int64_t schema_id;   /* --confluent, -1 = none */
  int64_t agents;      /* --agents */
  int64_t queues;      /* --queues */
  uint64_t id_offset;  /* --id-offset */
} gen_args_t;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The q-th percentile (0..100) of n sorted values; 0 when n is 0. */
static double percentile(const double *v, size_t n, double q) {
  if (!n)
    return 0;
  size_t k = (size_t)(q / 100.0 * (double)(n - 1) + 0.5);
  return v[k < n ? k : n - 1];
}

/* A number of events per second; the suffix "/s" is allowed. */
static int parse_rate(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                      size_t errlen) {
  size_t n = strlen(value);
  char num[32];
  if (n >= 2 && strcmp(value + n - 2, "/s") == 0 && n - 2 < sizeof num) {
    memcpy(num, value, n - 2);
    num[n - 2] = '\0';
    value = num;
  }
  return ccp_cli_u64(o, value, target, err, errlen);
}

#define GEN_FRAC(flag, field, text)                                                                \
  { flag, "F", ccp_cli_frac, offsetof(gen_args_t, go.field), .help = text }

static const ccp_cli_opt_t gen_opts[] = {
    {"--events", "N", ccp_cli_u64, offsetof(gen_args_t, events),
     .help = "number of events (default 1000000)"},
    {"--seed", "S", ccp_cli_u64, offsetof(gen_args_t, go.seed), .help = "random seed (default 1)"},
    {"--rate", "N", parse_rate, offsetof(gen_args_t, rate),
     .help = "events per second (suffix /s allowed); 0 = as fast as\n"
             "possible (default)"},
    {"--now", NULL, ccp_cli_flag, offsetof(gen_args_t, now),
     .help = "event time = wall clock when produced (latency runs)"},
    {"--agents", "N", ccp_cli_int, offsetof(gen_args_t, agents), .lo = 1, .hi = CCP_GEN_MAX_AGENTS,
     .help = "agents of the center (default 400); at least --queues"},
    {"--queues", "N", ccp_cli_int, offsetof(gen_args_t, queues), .lo = 1, .hi = CCP_GEN_MAX_QUEUES,
     .help = "queues (default 8, the named ones, equally staffed); more\n"
             "than 8: a few big queues and a long tail of small ones,\n"
             "each staffed by a slice of agents in proportion"},
    {"--id-offset", "N", ccp_cli_u64, offsetof(gen_args_t, id_offset),
     .help = "add N to event and ticket numbers (e<N+1>, T<N+1>, ...):\n"
             "a second stream into the same pipeline (default 0)"},
    {"--daily", NULL, ccp_cli_flag, offsetof(gen_args_t, go.daily),
     .help = "arrivals follow a 24 h daily curve (default: 4 h ramp,\n"
             "then a backlog worked down over 20 h)"},
    GEN_FRAC("--dup", dup_frac, "fraction of duplicate re-deliveries (default 0.005)"),
    GEN_FRAC("--late", late_frac, "fraction of late events (default 0.002)"),
    GEN_FRAC("--invalid", invalid_frac, "fraction of invalid events (default 0.002)"),
    GEN_FRAC("--open", open_frac,
             "fraction of backlog tickets left open (default 0.20);\n"
             "raises or lowers the peak of open tickets"),
    {"--out", "FILE", ccp_cli_str, offsetof(gen_args_t, out),
     .help = "write an Avro container file instead of producing"},
    CCP_CLI_KAFKA_OPTS,
    {"--confluent", "ID", ccp_cli_schema_id, offsetof(gen_args_t, schema_id),
     .help = "frame each record Confluent-style with schema ID"},
    CCP_CLI_CONFIG_OPTS,
};

const ccp_cli_spec_t ccp_cli_gen_spec = {
    .name = "gen",
    .summary = "generate a realistic workload into a Kafka topic (at a rate) or an Avro file",
    .about = "Generates a realistic contact-center workload (8 queues, 4 channels with\n"
             "their own wait, abandon, reply, talk and resolution time distributions,\n"
             "400 agents; abandons, transfers, reopens, surveys, QA reviews; planted\n"
             "duplicates, late and invalid events) and writes it to a Kafka topic (Avro\n"
             "binary, keyed by ticket_id) or, with --out, to an Avro container file. The\n"
             "same options and seed always give the same events; --agents and --queues\n"
             "change only the queue and agent labels of the same lifecycles. Prints a\n"
             "JSON summary line.",
    .opts = gen_opts,
    .nopts = CCP_ARRAY_LEN(gen_opts),
    .epilog = "Exit status: 0 all written, 1 failed write or delivery, 2 usage.",
};

int ccp_cli_gen(int argc, char **argv) {
  gen_args_t args = {
      .events = 1000000, .go = {.seed = 1}, .schema_id = -1, .agents = 400, .queues = 8};
  int have_cfg = 0;
  ccp_config_t cfg;
  rd_kafka_t *rk = NULL;
  ccp_gen_t *g = NULL;
  FILE *f = NULL;
  ccp_ocf_writer_t *w = NULL;
  ccp_buf_t val;
  ccp_buf_init(&val);
  ccp_cli_delivery_t st;
  memset(&st, 0, sizeof st);
  char err[CCP_ERRBUF_SIZE];
  const char *topic = NULL, *out = NULL;
  double *lags = NULL;      /* with --rate: lag in ms at each pacing check */
  int64_t *produced = NULL; /* with --rate: ms since start of events 1, 1 + stride, ... */
  size_t nlags = 0, nprod = 0;
  uint64_t stride = 64;

  int rc = ccp_cli_parse(&ccp_cli_gen_spec, argc, argv, &args);
  if (rc != CCP_CLI_RUN)
    goto done;
  rc = CCP_EXIT_USAGE;
  out = args.out;
  if (args.agents < args.queues) {
    ccp_log(CCP_LOG_ERROR, "gen",
            "--agents %lld is fewer than --queues %lld: every queue needs an agent",
            (long long)args.agents, (long long)args.queues);
    goto done;
  }
  args.go.events = args.events;
  args.go.agents = (uint32_t)args.agents;
  args.go.queues = (uint32_t)args.queues;
  args.go.id_offset = args.id_offset;
  if (args.events == 0 || !(g = ccp_gen_new(&args.go))) {
    ccp_log(CCP_LOG_ERROR, "gen", "cannot build a workload of %llu events with these options",
            (unsigned long long)args.events);
    goto done;
  }

  /* the configuration is checked whatever the output, so a bad key is
   * reported even when it would not matter for a file */
  if ((rc = ccp_cli_load_config(&cfg, &args.base)) != 0)
    goto done;
  have_cfg = 1;
  rc = CCP_EXIT_USAGE;

  if (out) {
    if (!(f = fopen(out, "wb"))) {
      ccp_log(CCP_LOG_ERROR, "gen", "cannot open '%s' for writing", out);
      rc = CCP_EXIT_INPUT;
      goto done;
    }
    ccp_ocf_writer_opts_t wo;
    memset(&wo, 0, sizeof wo);
    if (!(w = ccp_ocf_writer_new(f, NULL, &wo, err, sizeof err))) {
      ccp_log(CCP_LOG_ERROR, "gen", "%s: %s", out, err);
      rc = CCP_EXIT_INPUT;
      goto done;
    }
  } else {
    topic = cfg.kafka_topic;
    /* throughput defaults */
    static const char *const tune[][2] = {{"linger.ms", "5"},
                                          {"batch.num.messages", "10000"},
                                          {"queue.buffering.max.kbytes", "1048576"}};
    if (!(rk = ccp_cli_producer_new(&cfg, tune, CCP_ARRAY_LEN(tune), &st, "gen")))
      goto done;
  }

  rc = CCP_EXIT_INPUT;
  if (args.rate) {
    stride = 64 * (1 + args.events / (64 * 4096));
    lags = ccp_malloc((args.events / 64 + 1) * sizeof *lags);
    produced = ccp_malloc((args.events / stride + 1) * sizeof *produced);
  }
  double t0 = ccp_clock_mono_s();
  int64_t t0_wall = ccp_clock_wall_ms();
  uint64_t sent = 0;
  ccp_event_t ev;
  while (ccp_gen_next(g, &ev) == 0) {
    if (args.rate && (sent & 63) == 0) { /* pace: event k is due at t0 + k / rate */
      double due = t0 + (double)sent / (double)args.rate, ahead = due - ccp_clock_mono_s();
      if (ahead > 0) {
        if (rk)
          rd_kafka_poll(rk, 0);
        ccp_clock_sleep_ms((int64_t)(ahead * 1000)); /* under 1 ms ahead: go on */
      }
      double t = ccp_clock_mono_s();
      lags[nlags++] = (t - due) * 1000;
      if (sent % stride == 0)
        produced[nprod++] = (int64_t)((t - t0) * 1000);
    }
    if (args.now) {
      int64_t lag =
          ccp_gen_kind(g) == CCP_GEN_LATE ? 6 * 60000 + (ev.ts % 60000 + 60000) % 60000 : 0;
      ev.ts = ccp_clock_wall_ms() - lag;
    }
    if (w) {
      if (ccp_ocf_writer_append(w, &ev) != 0) {
        ccp_log(CCP_LOG_ERROR, "gen", "%s: write failed at event %llu", out,
                (unsigned long long)sent + 1);
        goto done;
      }
      sent++;
      continue;
    }
    if (ccp_cli_produce_event(rk, topic, &ev, args.schema_id, &val, err, sizeof err) != 0) {
      ccp_log(CCP_LOG_ERROR, "gen", "event %llu: %s", (unsigned long long)sent + 1, err);
      goto done;
    }
    sent++;
    if ((sent & 1023) == 0)
      rd_kafka_poll(rk, 0);
  }
  if (rk) {
    if (ccp_cli_producer_flush(rk, topic, &st, (unsigned long long)sent, 120000, "gen") != 0)
      goto done;
  } else {
    int cr = ccp_ocf_writer_close(w);
    w = NULL;
    if (cr != 0 || fclose(f) != 0) {
      f = NULL;
      ccp_log(CCP_LOG_ERROR, "gen", "%s: write failed", out);
      goto done;
    }
    f = NULL;
  }
  double secs = ccp_clock_mono_s() - t0;
  const ccp_gen_stats_t *gs = ccp_gen_stats(g);
  printf("{\"events\":%llu,\"seconds\":%.3f,\"eps\":%.0f,\"tickets\":%llu,\"duplicates\":%llu,"
         "\"late\":%llu,\"invalid\":%llu,\"first_ms\":%lld,\"last_ms\":%lld,\"rate\":%llu,"
         "\"start_wall_ms\":%lld,\"agents\":%u,\"queues\":%u",
         (unsigned long long)sent, secs, secs > 0 ? (double)sent / secs : 0.0,
         (unsigned long long)gs->tickets, (unsigned long long)gs->duplicates,
         (unsigned long long)gs->late, (unsigned long long)gs->invalid, (long long)gs->first_ms,
         (long long)gs->last_ms, (unsigned long long)args.rate, (long long)t0_wall,
         (unsigned)gs->agents, (unsigned)gs->queues);
  if (args.rate) {
    qsort(lags, nlags, sizeof *lags, cmp_double);
    printf(",\"lag_p50_ms\":%.1f,\"lag_p99_ms\":%.1f,\"lag_max_ms\":%.1f,\"produced_stride\":%llu,"
           "\"produced_ms\":[",
           percentile(lags, nlags, 50), percentile(lags, nlags, 99), nlags ? lags[nlags - 1] : 0.0,
           (unsigned long long)stride);
    for (size_t i = 0; i < nprod; i++)
      printf("%s%lld", i ? "," : "", (long long)produced[i]);
    printf("]");
  }
  printf("}\n");
  fflush(stdout);
  rc = CCP_EXIT_OK;

done:
  if (w)
    ccp_ocf_writer_close(w);
  if (f)
    fclose(f);
  if (rk)
    rd_kafka_destroy(rk);
  if (have_cfg)
    ccp_config_release(&cfg);
  ccp_gen_free(g);
  ccp_free(lags);
  ccp_free(produced);
  ccp_buf_release(&val);
  ccp_cli_args_release(&args.base);
  return rc;
}
