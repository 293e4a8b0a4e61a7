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
#include "ccpulse/log.h"
#include "ccpulse/source.h"
#include "cli.h"

/* Arguments of `ccpulse produce`. */
typedef struct produce_args {
  ccp_cli_args_t base; /* first: --config, --set, --brokers, --topic, the files */
  int64_t schema_id;   /* --confluent, -1 = plain Avro binary */
} produce_args_t;

static const ccp_cli_opt_t produce_opts[] = {
    CCP_CLI_KAFKA_OPTS,
    {"--confluent", "ID", ccp_cli_schema_id, offsetof(produce_args_t, schema_id),
     .help = "frame each record Confluent-style: byte 0, 4-byte schema ID"},
    CCP_CLI_CONFIG_OPTS,
};

const ccp_cli_spec_t ccp_cli_produce_spec = {
    .name = "produce",
    .summary = "produce event files to a Kafka topic as Avro records keyed by ticket_id",
    .about = "Produces ticket events from files (JSON Lines or Avro container, by content;\n"
             "'-' reads stdin) to a Kafka topic, Avro binary (v1 schema), keyed by ticket_id,\n"
             "and prints the number delivered.",
    .opts = produce_opts,
    .nopts = CCP_ARRAY_LEN(produce_opts),
    .operands = "FILE...",
    .min_operands = 1,
    .max_operands = -1,
    .missing = "no input file",
    .epilog = "Exit status: 0 all delivered, 1 unreadable input or failed delivery, 2 usage.",
};

int ccp_cli_produce(int argc, char **argv) {
  produce_args_t args = {.schema_id = -1};
  int have_cfg = 0;
  ccp_config_t cfg;
  rd_kafka_t *rk = NULL;
  ccp_source_t *src = NULL;
  ccp_buf_t val;
  ccp_buf_init(&val);
  ccp_cli_delivery_t st;
  memset(&st, 0, sizeof st);
  char err[CCP_ERRBUF_SIZE];
  const char *topic = NULL;

  int rc = ccp_cli_parse(&ccp_cli_produce_spec, argc, argv, &args);
  if (rc != CCP_CLI_RUN)
    goto done;
  if ((rc = ccp_cli_load_config(&cfg, &args.base)) != 0)
    goto done;
  have_cfg = 1;
  rc = CCP_EXIT_USAGE;
  topic = cfg.kafka_topic;

  if (!(rk = ccp_cli_producer_new(&cfg, NULL, 0, &st, "produce")))
    goto done;

  rc = CCP_EXIT_INPUT;
  long sent = 0;
  for (int f = 0; f < args.base.noperands; f++) {
    const char *file = args.base.operands[f];
    if (!(src = ccp_source_open(file, err, sizeof err))) {
      ccp_log(CCP_LOG_ERROR, "produce", "%s", err);
      goto done;
    }
    ccp_event_t ev;
    int n;
    while ((n = ccp_source_next(src, &ev, err, sizeof err)) == 0) {
      if (ccp_cli_produce_event(rk, topic, &ev, args.schema_id, &val, err, sizeof err) != 0) {
        ccp_log(CCP_LOG_ERROR, "produce", "%s: event %ld: %s", file, sent + 1, err);
        goto done;
      }
      sent++;
      rd_kafka_poll(rk, 0);
    }
    if (n != -CCP_EEOF) {
      ccp_log(CCP_LOG_ERROR, "produce", "%s", err);
      goto done;
    }
    ccp_source_free(src);
    src = NULL;
  }
  if (ccp_cli_producer_flush(rk, topic, &st, (unsigned long long)sent, 60000, "produce") != 0)
    goto done;
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
  ccp_cli_args_release(&args.base);
  return rc;
}
