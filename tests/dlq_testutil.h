/*
 * Reading a dead-letter topic of librdkafka's mock cluster in tests
 * (test_consumer_mock.c, test_consumer_hostile.c, test_registry_mock.c):
 * a consumer assigned to partition 0 from the beginning, and the
 * `ccpulse.reason` headers of its first records. Header-only.
 */
#ifndef CCP_DLQ_TESTUTIL_H
#define CCP_DLQ_TESTUTIL_H

#include <librdkafka/rdkafka.h>

#include "ccpulse/common.h"
#include "ccpulse/consumer.h"

/** A consumer of partition 0 of dlq on the mock cluster, from its first
 * record (no group membership: assigned, never committed). Destroy with
 * dlq_reader_free(). */
static inline rd_kafka_t *dlq_reader(const ccp_mock_t *mock, const char *dlq) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", ccp_mock_bootstraps(mock), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "dlq-reader", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, dlq, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  return rk;
}

/** Closes and destroys a dlq_reader(). */
static inline void dlq_reader_free(rd_kafka_t *rk) {
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

/** The `ccpulse.reason` headers of the first n records of dlq, read for up
 * to 10 s, into reasons[] (ccp_free each); returns how many were read. */
static inline int dlq_reasons(const ccp_mock_t *mock, const char *dlq, int n, char **reasons) {
  rd_kafka_t *rk = dlq_reader(mock, dlq);
  int got = 0;
  for (int i = 0; i < 100 && got < n; i++) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m)
      continue;
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    if (!m->err && rd_kafka_message_headers(m, &h) == 0 &&
        rd_kafka_header_get_last(h, "ccpulse.reason", &v, &len) == 0)
      reasons[got++] = ccp_strndup(v, len);
    rd_kafka_message_destroy(m);
  }
  dlq_reader_free(rk);
  return got;
}

#endif
