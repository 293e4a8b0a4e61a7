/*
 * ccpulse — the live pipeline: a Kafka consumer group member feeding one
 * engine per assigned partition on W worker threads, and a publisher thread
 * that merges the partitions' exports every publish.interval, hands the view
 * to a publish function (Redis in `ccpulse run`) and commits the offsets the
 * view covers once that succeeded. docs/live.md describes the threads, the
 * commit protocol, the time rule, the dead-letter topic and shutdown.
 *
 * Threads: ccp_consumer_new(), ccp_consumer_run() and ccp_consumer_free()
 * belong to one thread (the main thread: it owns the librdkafka consumer and
 * serves rebalances). ccp_consumer_stop() may be called from any thread or
 * a signal handler. The publish function runs on the publisher thread.
 */
#ifndef CCPULSE_CONSUMER_H
#define CCPULSE_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/ckpt_store.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/view.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Builds a librdkafka configuration: bootstrap.servers = cfg->kafka_brokers
 * (unless brokers is not NULL), then every `kafka.<property>` pass-through
 * in set order, and librdkafka's log and error callbacks routed into
 * ccp_log (ccp_kafka_conf_set_logger). Returns NULL with errbuf "config key
 * 'kafka.X': <librdkafka's message>" when librdkafka rejects one. The caller
 * owns the result.
 */
rd_kafka_conf_t *ccp_kafka_conf_new(const ccp_config_t *cfg, const char *brokers, char *errbuf,
                                    size_t errlen);
/**
 * Routes librdkafka's log lines (component "kafka", its facility and client
 * name in the message, syslog levels mapped to ours) and its error callback
 * into ccp_log; call on every conf before rd_kafka_new(). Any thread; the
 * callbacks run on librdkafka's threads.
 */
void ccp_kafka_conf_set_logger(rd_kafka_conf_t *conf);

/**
 * Publishes one cycle: the merged view at its stream time and the deadline
 * alerts fired since the previous call (pointers valid during the call; each
 * alert is given once: the function keeps it until a cycle succeeds).
 * Returns 0 when the cycle is durably written (offsets are then committed),
 * non-zero to have it retried at the next interval with nothing committed.
 * Runs on the publisher thread.
 */
typedef int (*ccp_publish_fn)(void *opaque, const ccp_view_t *view, const ccp_alert_t *alerts,
                              int nalerts);

/** What a cycle writes besides the view and the alerts (ccp_publish_ckpt_fn). */
typedef struct ccp_publish_extra {
  ccp_checkpoint_t *ckpts;     /**< the partitions' checkpoints (a checkpoint cycle), stored set */
  int nckpts;                  /**< 0 outside checkpoint cycles (docs/checkpoints.md) */
  uint64_t ckpt_batch;         /**< 0: write ckpts in this cycle; else they are a batch saved in
                                    an earlier cycle or this one, given again every cycle until
                                    written (ccp_redis_cycle_t.ckpt_batch) */
  int ckpt_pending;            /**< out: the batch is not written yet (compressing) */
  ccp_partial_rec_t *partials; /**< own partials to store for the view writer (several
                                    instances, docs/live.md), stored set */
  int npartials;
  int64_t stream_time; /**< the cycle's stream time to raise the shared one to; INT64_MIN:
                            one instance, nothing shared */
  int64_t shared_time; /**< out: the largest stream time over all instances, as stored
                            after the cycle (INT64_MIN: unknown) */
  const int32_t *alert_partitions; /**< per alert of the call, the Kafka partition whose engine
                                        fired it when checkpoints are on (its id is then kept
                                        per partition, docs/redis.md), else -1 */
  int64_t alerts_dropped; /**< deadline alerts fired before those of the call and never handed
                               over: older than the alert_cap newest of a worker's cycle
                               (ccp_consumer_opts_t.alert_cap); the function counts them as
                               dropped from its queue, as it would have */
} ccp_publish_extra_t;

/**
 * ccp_publish_fn with checkpoints and several instances: view is NULL when
 * this instance writes no view this cycle (it does not own partition 0, or
 * a partition's partial is missing); the function then writes no view keys
 * and no meta, but the alerts and x's checkpoints and partials, in one
 * transaction. Sets the stored flags; the offsets of a stored checkpoint are
 * committed once the function returned 0. Runs on the publisher thread.
 */
typedef int (*ccp_publish_ckpt_fn)(void *opaque, const ccp_view_t *view, const ccp_alert_t *alerts,
                                   int nalerts, ccp_publish_extra_t *x);

/**
 * The view writer's reads before it merges (several instances, docs/live.md):
 * the fence of fence_partition's epoch (fence_epoch > 0; *fence_ok 0 when
 * another owner took it) and the stored partials of want[0..nwant) into got
 * (ccp_redis_pub_fetch()). Returns 0, or non-zero to fail the cycle. Runs on
 * the publisher thread.
 */
typedef int (*ccp_fetch_fn)(void *opaque, int32_t fence_partition, int64_t fence_epoch,
                            const int32_t *want, int nwant, ccp_partial_got_t *got, int *fence_ok);

/** Options of a consumer. */
typedef struct ccp_consumer_opts {
  const ccp_config_t *cfg;          /**< finished configuration (borrowed, outlives the consumer) */
  const char *brokers;              /**< bootstrap servers; NULL = cfg->kafka_brokers */
  int workers;                      /**< worker threads; 0 = cfg->workers, and 0 there = cores */
  ccp_publish_fn publish;           /**< called every cycle; NULL = publish nothing, commit */
  ccp_publish_ckpt_fn publish_ckpt; /**< instead of publish: with checkpoints, which also are
                                         restored from cfg->redis at assignment; used when
                                         checkpoint.interval > 0 (else publish is) */
  ccp_fetch_fn fetch;               /**< with publish_ckpt: reads of the view writer when several
                                         instances share the topic (NULL: every instance
                                         publishes the view of its own partitions) */
  void *opaque;                     /**< passed to publish */
  int64_t (*clock_ms)(void);        /**< wall clock for the time rule; NULL = CLOCK_REALTIME */
  int64_t final_timeout_ms;         /**< the final cycle is retried until this long after the
                                         shutdown began (not after the cycle in flight); 0 = 10 s */
  size_t alert_cap; /**< with publish_ckpt: the most deadline alerts publish_ckpt's queue holds,
                         dropping the oldest beyond (ccp_redis_pub_alert_cap()); each worker
                         then keeps only the newest alert_cap alerts of a cycle and counts the
                         older ones in ccp_publish_extra_t.alerts_dropped (a catch-up fires
                         hundreds of thousands); 0: every alert is handed over */
} ccp_consumer_opts_t;

typedef struct ccp_consumer ccp_consumer_t;

/** Buckets of the publish cycle duration histogram (the last one unbounded). */
#define CCP_PUBLISH_NBUCKETS 12
/** Upper bounds in seconds of the first CCP_PUBLISH_NBUCKETS - 1 buckets. */
extern const double ccp_publish_bucket_s[CCP_PUBLISH_NBUCKETS - 1];

/** Counters of a consumer (read with ccp_consumer_stats, any thread). */
typedef struct ccp_consumer_stats {
  int64_t messages;         /**< records consumed */
  int64_t dead_letters;     /**< records sent to the dead-letter topic */
  int64_t late;             /**< events dropped as late (by this process's engines) */
  int64_t duplicate;        /**< events dropped as duplicates */
  int64_t invalid;          /**< events dropped with a field out of range */
  int64_t open_tickets;     /**< open tickets in this process's engines at the last export */
  int64_t cycles;           /**< successful publish cycles */
  int64_t failed_cycles;    /**< publish attempts that failed */
  int64_t commits;          /**< successful offset commits */
  int64_t commits_held;     /**< cycles whose commit waited for a rebalance (docs/live.md) */
  int64_t assignments_lost; /**< revocations librdkafka made as "assignment lost" */
  int64_t fetch_nudges;     /**< fetchers woken after a full queue (docs/live.md, Catching up) */
  int64_t partitions;       /**< partitions currently assigned */
  int64_t now_ms;           /**< global stream time of the last cycle */
  int64_t last_publish_ms;  /**< monotonic ms of the last successful cycle; 0 none */
  int64_t publish_buckets[CCP_PUBLISH_NBUCKETS]; /**< cycles by duration (not cumulative) */
  int64_t publish_us;                            /**< their summed duration */
  int stopping; /**< ccp_consumer_stop() was called: shutting down */
} ccp_consumer_stats_t;

/**
 * Creates the consumer (librdkafka consumer, dead-letter producer, decoders
 * from schema.writer / schema.registry.<ID>) and subscribes to
 * cfg->kafka_topic. Returns NULL with errbuf on a bad setting or schema.
 */
ccp_consumer_t *ccp_consumer_new(const ccp_consumer_opts_t *opts, char *errbuf, size_t errlen);

/**
 * Runs until ccp_consumer_stop(): starts the workers and the publisher,
 * serves rebalances; on stop, stops consuming, publishes a final cycle
 * (retried for final_timeout_ms), commits, and closes the consumer. Returns 0,
 * -CCP_EIO when the final cycle could not be published, or -CCP_EINVAL when
 * it stopped by itself because the brokers refused the SASL credentials
 * before the first assignment.
 */
int ccp_consumer_run(ccp_consumer_t *c);

/** Asks ccp_consumer_run() to finish; async-signal-safe, any thread. */
void ccp_consumer_stop(ccp_consumer_t *c);
/** Non-zero once ccp_consumer_stop() was called. Any thread. */
int ccp_consumer_stopping(const ccp_consumer_t *c);

/** Copies the counters (any thread). */
void ccp_consumer_stats(const ccp_consumer_t *c, ccp_consumer_stats_t *out);

/** One assigned partition's lag in librdkafka's last statistics. */
typedef struct ccp_kafka_lag {
  int32_t partition;
  int64_t lag; /**< high watermark - committed offset (records a restart would read again) */
} ccp_kafka_lag_t;

/** One broker's connection state in librdkafka's last statistics. */
typedef struct ccp_kafka_broker {
  char name[256]; /**< "host:port/id" as librdkafka names it */
  char state[24]; /**< "UP", "DOWN", "CONNECT", "INIT", ... */
} ccp_kafka_broker_t;

/** What the consumer learnt from librdkafka's statistics (statistics.interval.ms). */
typedef struct ccp_kafka_stats {
  ccp_kafka_lag_t *lag; /**< owned: ccp_kafka_stats_release */
  int nlag;
  ccp_kafka_broker_t *brokers; /**< owned */
  int nbrokers;
  int64_t age_ms; /**< since those statistics came; -1: none yet */
  int down;       /**< every broker is unreachable right now (process-wide) */
} ccp_kafka_stats_t;

/** Copies the last statistics into out (any thread); release it after. */
void ccp_consumer_kafka_stats(const ccp_consumer_t *c, ccp_kafka_stats_t *out);
/** Frees what ccp_consumer_kafka_stats copied. */
void ccp_kafka_stats_release(ccp_kafka_stats_t *s);

/** Frees the consumer (after ccp_consumer_run returned, or instead of it). */
void ccp_consumer_free(ccp_consumer_t *c);

/**
 * How many librdkafka consumer handles ccp_consumer_free() had to abandon
 * because their destroy did not return in time (a librdkafka 2.0.2 defect;
 * their threads still run): a process should then leave with _exit().
 * Any thread.
 */
int ccp_consumer_abandoned(void);

/* ---- in-process mock cluster (tests, `ccpulse demo`, `run --mock`) ---- */

/** librdkafka's mock cluster on loopback ports (opaque). */
typedef struct ccp_mock ccp_mock_t;

/** Starts a mock cluster of one broker; NULL with errbuf on failure. */
ccp_mock_t *ccp_mock_new(char *errbuf, size_t errlen);
/** Creates a topic with n partitions; 0 or -CCP_EINVAL. */
int ccp_mock_topic(ccp_mock_t *m, const char *topic, int partitions);
/** Bootstrap servers of the cluster ("127.0.0.1:PORT"); valid until freed. */
const char *ccp_mock_bootstraps(const ccp_mock_t *m);
/** Stops the cluster. */
void ccp_mock_free(ccp_mock_t *m);

#ifdef __cplusplus
}
#endif
#endif
