/*
 * The operations endpoints of `ccpulse run` and `ccpulse demo` on the
 * embedded HTTP server: /healthz, /readyz and /metrics (Prometheus text
 * exposition format 0.0.4). docs/operations.md, "Monitoring", lists every
 * metric.
 *
 * Threads: ccp_metrics_routes() on the main thread before the server
 * starts; the handlers run on connection threads and read the consumer only
 * through its thread-safe copies (ccp_consumer_stats, atomics;
 * ccp_consumer_kafka_stats, a mutex). The writer and the readiness rule are
 * pure functions of a snapshot (unit tests).
 */
#ifndef CCP_HTTP_METRICS_H
#define CCP_HTTP_METRICS_H

#include <stdint.h>

#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/consumer.h"
#include "ccpulse/http.h"

/** Everything one scrape shows, copied at once. */
typedef struct ccp_metrics_snapshot {
  const char *topic;       /**< kafka.topic (a label) */
  ccp_consumer_stats_t st; /**< the consumer's and publisher's counters */
  ccp_kafka_stats_t ks;    /**< librdkafka's statistics (lag, brokers) */
  int64_t mem_bytes;       /**< bytes allocated through ccp_malloc (ccp_mem_used) */
  int64_t rss_bytes;       /**< resident set size; -1 unknown */
} ccp_metrics_snapshot_t;

/** Appends the Prometheus text exposition of s to out (HELP and TYPE per family). */
void ccp_metrics_write(const ccp_metrics_snapshot_t *s, ccp_buf_t *out);

/**
 * The readiness rule: not shutting down, partitions assigned and a publish
 * cycle that succeeded within max_age_ms of now_ms (monotonic). Returns 1 when ready,
 * else 0 with the reason in why ("no partition assigned", ...).
 */
int ccp_metrics_ready(const ccp_metrics_snapshot_t *s, int64_t now_ms, int64_t max_age_ms,
                      char *why, size_t whylen);

/** How old the last successful publish may be for /readyz: max(5 x publish.interval, 2 s). */
int64_t ccp_metrics_ready_age_ms(const ccp_config_t *cfg);

/** What the endpoints read; the caller owns it (it must outlive the server's stop). */
typedef struct ccp_metrics_ctx {
  ccp_http_t *h;           /**< the server the routes go to */
  ccp_consumer_t *c;       /**< borrowed */
  const ccp_config_t *cfg; /**< borrowed */
} ccp_metrics_ctx_t;

/**
 * Adds /healthz, /readyz and /metrics over ctx to ctx->h (before
 * ccp_http_start). Returns 0 or -CCP_EINVAL (server already started).
 */
int ccp_metrics_routes(ccp_metrics_ctx_t *ctx);

#endif
