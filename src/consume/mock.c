/*
 * librdkafka's mock cluster, in process: brokers on loopback ports that any
 * client (this process or another) can reach through ccp_mock_bootstraps().
 * ARCHITECTURE.md: each partition keeps only about 5 MB, and consumers
 * should set fetch.wait.max.ms low (a few ms) for throughput.
 *
 * Threads: create and free on one thread; the cluster runs on librdkafka's
 * own threads and is hosted by a producer handle kept here.
 */
#include <stdio.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ccpulse/consumer.h"

struct ccp_mock {
  rd_kafka_t *host;
  rd_kafka_mock_cluster_t *mc;
};

ccp_mock_t *ccp_mock_new(char *errbuf, size_t errlen) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  ccp_kafka_conf_set_logger(conf);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    snprintf(errbuf, errlen, "cannot create the mock cluster host: %s", err);
    return NULL;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
  if (!mc) {
    rd_kafka_destroy(rk);
    snprintf(errbuf, errlen, "cannot start a librdkafka mock cluster");
    return NULL;
  }
  ccp_mock_t *m = ccp_calloc(1, sizeof *m);
  m->host = rk;
  m->mc = mc;
  return m;
}

int ccp_mock_topic(ccp_mock_t *m, const char *topic, int partitions) {
  return rd_kafka_mock_topic_create(m->mc, topic, partitions, 1) ? -CCP_EINVAL : 0;
}

const char *ccp_mock_bootstraps(const ccp_mock_t *m) {
  return rd_kafka_mock_cluster_bootstraps(m->mc);
}

void ccp_mock_free(ccp_mock_t *m) {
  if (!m)
    return;
  rd_kafka_mock_cluster_destroy(m->mc);
  rd_kafka_destroy(m->host);
  ccp_free(m);
}
