/*
 * `ccpulse gen`: the load generator. Builds the deterministic workload of
 * src/gen/gen.h (same options and seed -> same events) and writes it either
 * to a Kafka topic (Avro binary v1, optionally Confluent-framed, keyed by
 * ticket_id like `ccpulse produce`) at a target rate or as fast as possible,
 * or to an Avro container file (--out). Prints one JSON line with what was
 * written and how fast.
 *
 * --now replaces each event's time by the wall clock at the moment it is
 * produced (late stragglers keep their lag), so a live pipeline can measure
 * event -> KPI latency (bench/run); the summary's start_wall_ms is when
 * event 1 was due, event k is due (k - 1) / rate seconds later.
 *
 * Threads: main thread only (librdkafka's own threads deliver; delivery
 * reports are served by rd_kafka_poll/flush on this thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/buf.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/ocf.h"
#include "cli.h"
#include "gen/gen.h"

void ccp_cli_gen_usage(FILE *out) {
  fputs("usage: ccpulse gen [--events N] [--seed S] [--rate N] [--now] [--daily]\n"
        "                   [--dup F] [--late F] [--invalid F] [--open F]\n"
        "                   (--out FILE | [--brokers HOST:PORT] [--topic TOPIC]\n"
        "                   [--confluent ID] [--config FILE] [--set key=value]...)\n"
        "\n"
        "Generates a realistic contact-center workload (8 queues, 4 channels with\n"
        "their own wait, abandon, reply, talk and resolution time distributions,\n"
        "400 agents; abandons, transfers, reopens, surveys, QA reviews; planted\n"
        "duplicates, late and invalid events) and writes it to a Kafka topic (Avro\n"
        "binary, keyed by ticket_id) or to an Avro container file. The same options\n"
        "and seed always give the same events. Prints a JSON summary line.\n"
        "\n"
        "  --events N        number of events (default 1000000)\n"
        "  --seed S          random seed (default 1)\n"
        "  --rate N          events per second (suffix /s allowed); 0 = as fast as\n"
        "                    possible (default)\n"
        "  --now             event time = wall clock when produced (latency runs)\n"
        "  --daily           arrivals follow a 24 h daily curve (default: 4 h ramp,\n"
        "                    then a backlog worked down over 20 h)\n"
        "  --dup F           fraction of duplicate re-deliveries (default 0.005)\n"
        "  --late F          fraction of late events (default 0.002)\n"
        "  --invalid F       fraction of invalid events (default 0.002)\n"
        "  --open F          fraction of backlog tickets left open (default 0.20);\n"
        "                    raises or lowers the peak of open tickets\n"
        "  --out FILE        write an Avro container file instead of producing\n"
        "  --brokers LIST    bootstrap servers (config kafka.brokers)\n"
        "  --topic TOPIC     topic (config kafka.topic)\n"
        "  --confluent ID    frame each record Confluent-style with schema ID\n"
        "  --config FILE     configuration file; kafka.<property> keys go to librdkafka\n"
        "  --set key=value   set one configuration key (repeatable)\n"
        "\n"
        "Exit status: 0 all written, 1 failed write or delivery, 2 usage.\n",
        out);
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses a fraction in [0,1]; 0 becomes "none" (negative) for the generator. */
static int parse_frac(const char *name, const char *v, double *out) {
  char *end;
  double d = strtod(v, &end);
  if (!*v || *end || !(d >= 0 && d <= 1)) {
    fprintf(stderr, "ccpulse gen: %s '%s': expected a fraction 0..1\n", name, v);
    return -1;
  }
  *out = d == 0 ? -1 : d;
  return 0;
}

static int parse_u64(const char *name, const char *v, const char *suffix, uint64_t *out) {
  char *end;
  if (!*v || v[0] == '-') {
    fprintf(stderr, "ccpulse gen: %s '%s': expected a number\n", name, v);
    return -1;
  }
  unsigned long long n = strtoull(v, &end, 10);
  if (*end && !(suffix && strcmp(end, suffix) == 0)) {
    fprintf(stderr, "ccpulse gen: %s '%s': expected a number\n", name, v);
    return -1;
  }
  *out = n;
  return 0;
}

int ccp_cli_gen(int argc, char **argv) {
  const char *config_file = NULL, *brokers = NULL, *topic = NULL, *confluent = NULL, *out = NULL;
  const char *v;
  char **sets = ccp_calloc((size_t)argc, sizeof *sets);
  int nsets = 0, rc = CCP_EXIT_USAGE, have_cfg = 0, now = 0;
  uint64_t rate = 0, seed = 1, nevents = 1000000, schema_id = 0;
  ccp_gen_opts_t go;
  memset(&go, 0, sizeof go);
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

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int m;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      ccp_cli_gen_usage(stdout);
      rc = CCP_EXIT_OK;
      goto done;
    } else if (strcmp(a, "--now") == 0) {
      now = 1;
    } else if (strcmp(a, "--daily") == 0) {
      go.daily = 1;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--events", &v)) != 0) {
      if (m < 0 || parse_u64("--events", v, NULL, &nevents) < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--seed", &v)) != 0) {
      if (m < 0 || parse_u64("--seed", v, NULL, &seed) < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--rate", &v)) != 0) {
      if (m < 0 || parse_u64("--rate", v, "/s", &rate) < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--dup", &v)) != 0) {
      if (m < 0 || parse_frac("--dup", v, &go.dup_frac) < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--late", &v)) != 0) {
      if (m < 0 || parse_frac("--late", v, &go.late_frac) < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--invalid", &v)) != 0) {
      if (m < 0 || parse_frac("--invalid", v, &go.invalid_frac) < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--open", &v)) != 0) {
      if (m < 0 || parse_frac("--open", v, &go.open_frac) < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--out", &v)) != 0) {
      if (m < 0)
        goto done;
      out = v;
    } else if ((m = ccp_cli_config_opt(argc, argv, &i, &config_file, sets, &nsets)) != 0) {
      if (m < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--brokers", &v)) != 0) {
      if (m < 0)
        goto done;
      brokers = v;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--topic", &v)) != 0) {
      if (m < 0)
        goto done;
      topic = v;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--confluent", &v)) != 0) {
      if (m < 0 || parse_u64("--confluent", v, NULL, &schema_id) < 0)
        goto done;
      if (schema_id > UINT32_MAX) {
        fprintf(stderr, "ccpulse gen: --confluent '%s': expected a schema id 0..4294967295\n", v);
        goto done;
      }
      confluent = v;
    } else {
      fprintf(stderr, "ccpulse gen: unknown option '%s'\nTry 'ccpulse gen --help'.\n", a);
      goto done;
    }
  }
  go.events = nevents;
  go.seed = seed;
  if (nevents == 0 || !(g = ccp_gen_new(&go))) {
    fprintf(stderr, "ccpulse gen: cannot build a workload of %llu events with these options\n",
            (unsigned long long)nevents);
    goto done;
  }

  /* the configuration is checked whatever the output, so a bad key is
   * reported even when it would not matter for a file */
  if ((rc = ccp_cli_load_config(&cfg, config_file, sets, nsets)) != 0)
    goto done;
  have_cfg = 1;
  rc = CCP_EXIT_USAGE;

  if (out) {
    if (!(f = fopen(out, "wb"))) {
      fprintf(stderr, "ccpulse: cannot open '%s' for writing\n", out);
      rc = CCP_EXIT_INPUT;
      goto done;
    }
    ccp_ocf_writer_opts_t wo;
    memset(&wo, 0, sizeof wo);
    if (!(w = ccp_ocf_writer_new(f, NULL, &wo, err, sizeof err))) {
      fprintf(stderr, "ccpulse: %s: %s\n", out, err);
      rc = CCP_EXIT_INPUT;
      goto done;
    }
  } else {
    if (!topic)
      topic = cfg.kafka_topic;
    rd_kafka_conf_t *conf = ccp_kafka_conf_new(&cfg, brokers, err, sizeof err);
    if (!conf) {
      fprintf(stderr, "ccpulse: %s\n", err);
      goto done;
    }
    /* throughput defaults; kafka.* keys given by the user win */
    static const char *const tune[][2] = {{"linger.ms", "5"},
                                          {"batch.num.messages", "10000"},
                                          {"queue.buffering.max.kbytes", "1048576"}};
    for (size_t t = 0; t < CCP_ARRAY_LEN(tune); t++) {
      int user = 0;
      for (int j = 0; j < cfg.nkafka_props; j++)
        user |= strcmp(cfg.kafka_props[j].key, tune[t][0]) == 0;
      if (!user)
        rd_kafka_conf_set(conf, tune[t][0], tune[t][1], err, sizeof err);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, ccp_cli_on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
      rd_kafka_conf_destroy(conf);
      fprintf(stderr, "ccpulse: cannot create a Kafka producer: %s\n", err);
      goto done;
    }
  }

  rc = CCP_EXIT_INPUT;
  double t0 = mono_s();
  int64_t t0_wall = wall_ms();
  uint64_t sent = 0;
  ccp_event_t ev;
  while (ccp_gen_next(g, &ev) == 0) {
    if (rate && (sent & 63) == 0) { /* pace: event k is due at t0 + k / rate */
      double due = t0 + (double)sent / (double)rate, lag = due - mono_s();
      if (lag > 0) {
        struct timespec ts = {(time_t)lag, (long)((lag - (double)(time_t)lag) * 1e9)};
        if (rk)
          rd_kafka_poll(rk, 0);
        nanosleep(&ts, NULL);
      }
    }
    if (now) {
      int64_t lag =
          ccp_gen_kind(g) == CCP_GEN_LATE ? 6 * 60000 + (ev.ts % 60000 + 60000) % 60000 : 0;
      ev.ts = wall_ms() - lag;
    }
    if (w) {
      if (ccp_ocf_writer_append(w, &ev) != 0) {
        fprintf(stderr, "ccpulse: %s: write failed at event %llu\n", out,
                (unsigned long long)sent + 1);
        goto done;
      }
      sent++;
      continue;
    }
    ccp_buf_clear(&val);
    if (confluent)
      ccp_confluent_frame(&val, (uint32_t)schema_id);
    if (ccp_avro_encode(&ev, &val) != 0) {
      fprintf(stderr, "ccpulse: event %llu cannot be encoded\n", (unsigned long long)sent + 1);
      goto done;
    }
    rd_kafka_resp_err_t e = ccp_cli_produce_record(rk, topic, ev.ticket_id, val.data, val.len);
    if (e) {
      fprintf(stderr, "ccpulse: cannot produce to '%s': %s\n", topic, rd_kafka_err2str(e));
      goto done;
    }
    sent++;
    if ((sent & 1023) == 0)
      rd_kafka_poll(rk, 0);
  }
  if (rk) {
    rd_kafka_resp_err_t fe = rd_kafka_flush(rk, 120000);
    if (fe) {
      fprintf(stderr, "ccpulse: cannot deliver to '%s' within 120 s: %s\n", topic,
              rd_kafka_err2str(fe));
      goto done;
    }
    if (st.failed) {
      fprintf(stderr, "ccpulse: %ld of %llu events not delivered to '%s': %s\n", st.failed,
              (unsigned long long)sent, topic, st.first_error);
      goto done;
    }
  } else {
    int cr = ccp_ocf_writer_close(w);
    w = NULL;
    if (cr != 0 || fclose(f) != 0) {
      f = NULL;
      fprintf(stderr, "ccpulse: %s: write failed\n", out);
      goto done;
    }
    f = NULL;
  }
  double secs = mono_s() - t0;
  const ccp_gen_stats_t *gs = ccp_gen_stats(g);
  printf("{\"events\":%llu,\"seconds\":%.3f,\"eps\":%.0f,\"tickets\":%llu,\"duplicates\":%llu,"
         "\"late\":%llu,\"invalid\":%llu,\"first_ms\":%lld,\"last_ms\":%lld,\"rate\":%llu,"
         "\"start_wall_ms\":%lld}\n",
         (unsigned long long)sent, secs, secs > 0 ? (double)sent / secs : 0.0,
         (unsigned long long)gs->tickets, (unsigned long long)gs->duplicates,
         (unsigned long long)gs->late, (unsigned long long)gs->invalid, (long long)gs->first_ms,
         (long long)gs->last_ms, (unsigned long long)rate, (long long)t0_wall);
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
  ccp_buf_release(&val);
  ccp_free(sets);
  return rc;
}
