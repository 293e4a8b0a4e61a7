/*
 * `ccpulse produce`: reads event files (JSON Lines or Avro container, by
 * content, as replay does) and produces each event to a Kafka topic, Avro
 * binary with the v1 schema (optionally Confluent-framed), keyed by
 * ticket_id so that a ticket's events stay in one partition, in order.
 * Flushes, then prints the number of events delivered.
 *
 * Threads: main thread only (librdkafka's own threads deliver; delivery
 * reports are served by rd_kafka_poll/flush on this thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/buf.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/source.h"
#include "cli.h"

void ccp_cli_produce_usage(FILE *out) {
  fputs("usage: ccpulse produce [--brokers HOST:PORT] [--topic TOPIC] [--confluent ID]\n"
        "                       [--config FILE] [--set key=value]... FILE...\n"
        "\n"
        "Produces ticket events from files (JSON Lines or Avro container, by content;\n"
        "'-' reads stdin) to a Kafka topic, Avro binary (v1 schema), keyed by ticket_id,\n"
        "and prints the number delivered.\n"
        "\n"
        "  --brokers LIST    bootstrap servers (config kafka.brokers)\n"
        "  --topic TOPIC     topic (config kafka.topic)\n"
        "  --confluent ID    frame each record Confluent-style: byte 0, 4-byte schema ID\n"
        "  --config FILE     configuration file; kafka.<property> keys go to librdkafka\n"
        "  --set key=value   set one configuration key (repeatable)\n"
        "\n"
        "Exit status: 0 all delivered, 1 unreadable input or failed delivery, 2 usage.\n",
        out);
}

int ccp_cli_produce(int argc, char **argv) {
  const char *config_file = NULL, *brokers = NULL, *topic = NULL, *confluent = NULL, *v;
  char **sets = ccp_calloc((size_t)argc, sizeof *sets);
  char **files = ccp_calloc((size_t)argc, sizeof *files);
  int nsets = 0, nfiles = 0, rc = CCP_EXIT_USAGE, have_cfg = 0;
  uint32_t schema_id = 0;
  ccp_config_t cfg;
  rd_kafka_t *rk = NULL;
  ccp_source_t *src = NULL;
  ccp_buf_t val;
  ccp_buf_init(&val);
  ccp_cli_delivery_t st;
  memset(&st, 0, sizeof st);
  char err[CCP_ERRBUF_SIZE];

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int m;
    if (a[0] != '-' || strcmp(a, "-") == 0) {
      files[nfiles++] = argv[i];
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      ccp_cli_produce_usage(stdout);
      rc = CCP_EXIT_OK;
      goto done;
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
      if (m < 0)
        goto done;
      confluent = v;
    } else {
      fprintf(stderr, "ccpulse produce: unknown option '%s'\nTry 'ccpulse produce --help'.\n", a);
      goto done;
    }
  }
  if (nfiles == 0) {
    fprintf(stderr, "ccpulse produce: no input file\nTry 'ccpulse produce --help'.\n");
    goto done;
  }
  if (confluent) {
    char *end;
    unsigned long long id = strtoull(confluent, &end, 10);
    if (!*confluent || *end || id > UINT32_MAX || confluent[0] == '-') {
      fprintf(stderr, "ccpulse produce: --confluent '%s': expected a schema id 0..4294967295\n",
              confluent);
      goto done;
    }
    schema_id = (uint32_t)id;
  }
  if ((rc = ccp_cli_load_config(&cfg, config_file, sets, nsets)) != 0)
    goto done;
  have_cfg = 1;
  rc = CCP_EXIT_USAGE;
  if (!topic)
    topic = cfg.kafka_topic;

  rd_kafka_conf_t *conf = ccp_kafka_conf_new(&cfg, brokers, err, sizeof err);
  if (!conf) {
    fprintf(stderr, "ccpulse: %s\n", err);
    goto done;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, ccp_cli_on_delivery);
  rd_kafka_conf_set_opaque(conf, &st);
  if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
    rd_kafka_conf_destroy(conf);
    fprintf(stderr, "ccpulse: cannot create a Kafka producer: %s\n", err);
    goto done;
  }

  rc = CCP_EXIT_INPUT;
  long sent = 0;
  for (int f = 0; f < nfiles; f++) {
    if (!(src = ccp_source_open(files[f], err, sizeof err))) {
      fprintf(stderr, "ccpulse: %s\n", err);
      goto done;
    }
    ccp_event_t ev;
    int n;
    while ((n = ccp_source_next(src, &ev, err, sizeof err)) == 0) {
      ccp_buf_clear(&val);
      if (confluent)
        ccp_confluent_frame(&val, schema_id);
      if (ccp_avro_encode(&ev, &val) != 0) {
        fprintf(stderr, "ccpulse: %s: event %ld cannot be encoded\n", files[f], sent + 1);
        goto done;
      }
      rd_kafka_resp_err_t e = ccp_cli_produce_record(rk, topic, ev.ticket_id, val.data, val.len);
      if (e) {
        fprintf(stderr, "ccpulse: cannot produce to '%s': %s\n", topic, rd_kafka_err2str(e));
        goto done;
      }
      sent++;
      rd_kafka_poll(rk, 0);
    }
    if (n != -CCP_EEOF) {
      fprintf(stderr, "ccpulse: %s\n", err);
      goto done;
    }
    ccp_source_free(src);
    src = NULL;
  }
  rd_kafka_resp_err_t fe = rd_kafka_flush(rk, 60000);
  if (fe) {
    fprintf(stderr, "ccpulse: cannot deliver to '%s' within 60 s: %s\n", topic,
            rd_kafka_err2str(fe));
    goto done;
  }
  if (st.failed) {
    fprintf(stderr, "ccpulse: %ld of %ld events not delivered to '%s': %s\n", st.failed, sent,
            topic, st.first_error);
    goto done;
  }
  printf("%ld\n", st.delivered);
  fflush(stdout);
  rc = CCP_EXIT_OK;

done:
  ccp_source_free(src);
  if (rk)
    rd_kafka_destroy(rk);
  if (have_cfg)
    ccp_config_release(&cfg);
  ccp_buf_release(&val);
  ccp_free(sets);
  ccp_free(files);
  return rc;
}
