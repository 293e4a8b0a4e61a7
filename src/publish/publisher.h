/*
 * The publisher thread of the live pipeline (docs/live.md, "Publish cycle
 * and commit protocol").
 *
 * Every publish.interval it runs one cycle:
 *   1. asks its source for the largest stream time of all partitions (the
 *      first half of the barrier: every worker reports);
 *   2. sets the global stream time G by the time rule (G never goes back;
 *      while the stream is live, wall - G <= lateness, also
 *      G >= wall - live.idle_advance);
 *   3. has the source export every partition at G and hand over one bundle
 *      per worker (partials, commit positions, deadline alerts): windows and
 *      gauges are taken at G; deadlines and TTL of a partition follow its
 *      own events and, only while the stream is live and the partition has
 *      read everything and settled, the wall target wall - live.idle_advance
 *      (handed over separately from G; never G itself);
 *   4. merges the partials into its view and calls the publish function with
 *      the view and the alerts; a partition whose engine did not change
 *      since its last export comes as that same partial plus a fresh time
 *      header, and when every partial of a cycle is the one of the cycle
 *      before (same partitions, generations and partials: the publisher
 *      holds references to them, so none can be a new one at an old
 *      address) the view keeps its merged figures and only takes the new
 *      time (ccp_view_set_time());
 *   5. only when that returned 0, asks the source to commit what the bundles
 *      cover (the consumer flushes its dead letters, then commits the
 *      partitions still assigned in the same generation);
 *   6. frees the bundles and lets the source do its housekeeping.
 * A failed cycle commits nothing and is retried at the next interval with
 * fresh exports. While catching up old data (the stream not live, and the
 * bundles' backlog more than two intervals of reading at the pace measured
 * since the last cycle) a cycle comes only every publish.catchup_interval
 * (docs/live.md, "Catching up").
 *
 * Several instances in one group (a fetch function and the topic's
 * partition count; docs/live.md, "Several instances"): only the owner of
 * partition 0 writes the view, fenced by that partition's epoch; it merges,
 * per partition, the partial that covers the most records among its own
 * export, the partial stored by the partition's owner and the one it merged
 * last, and writes no view while a partition has none. An instance that
 * does not own every partition stores the partials of its own partitions
 * and raises the shared stream time each cycle, and exports at the largest
 * stream time read back (shared_time()). On ccp_publisher_finish() it runs a final cycle, retried
 * with backoff for final_timeout_ms.
 *
 * The publisher knows neither Kafka nor the workers: the consumer
 * (src/consume/consumer.c) gives it a ccp_publisher_source_t. Bundles are the
 * hand-over format between the workers and this thread.
 *
 * Threads: new/start/finish/free on the thread that owns the consumer (main);
 * ccp_publisher_stats() on any thread; the source callbacks and the publish
 * function run on the publisher thread, which owns the view and the pending
 * alerts.
 */
#ifndef CCP_PUBLISHER_H
#define CCP_PUBLISHER_H

#include <stdint.h>

#include "ccpulse/config.h"
#include "ccpulse/consumer.h" /* ccp_publish_fn */
#include "ccpulse/engine.h"   /* ccp_alert_t */
#include "ccpulse/partial.h"

/** Checkpoint cycles (ccp_publisher_source_t.checkpoint). */
enum { CCP_CKPT_CHANGED = 1, CCP_CKPT_ALL = 2 };

/** One partition's export of one cycle. */
typedef struct ccp_publisher_export {
  int32_t partition;      /**< Kafka partition */
  uint32_t gen;           /**< assignment generation it was exported in */
  int64_t next_offset;    /**< offset to commit once published; -1: none */
  ccp_partial_t *partial; /**< one reference (the worker may hold another) */
  ccp_partial_t *header;  /**< owned; non-NULL: partial is the partition's last export,
                               unchanged, and this its time header of this cycle */
  int has_ckpt;           /**< a checkpoint cycle: ckpt holds the engine's state after
                               this export, at next_offset */
  int ckpt_same;          /**< a checkpoint cycle that may skip: not saved, only time moved
                               since the save ckpt_id at this next_offset
                               (ccp_engine_saved_unchanged(); docs/checkpoints.md) */
  uint64_t ckpt_id;       /**< with has_ckpt or ckpt_same: the save's id, unique per
                               partition in this process (assignment generation, count) */
  int ckpt_stored;        /**< set by the publisher: the checkpoint was written */
  int64_t epoch;          /**< the partition's fencing epoch (0: none, not written) */
  ccp_buf_t ckpt;         /**< owned: ccp_engine_save() bytes */
  int64_t alert_floor;    /**< with has_ckpt: ccp_engine_alert_floor() of the saved state */
} ccp_publisher_export_t;

/**
 * What one worker hands the publisher for one cycle. Built by the worker,
 * handed over with one atomic exchange, never written afterwards; the
 * publisher frees it with ccp_publisher_bundle_free().
 */
typedef struct ccp_publisher_bundle {
  uint64_t epoch; /**< barrier epoch it answers (checked by the source) */
  int n;
  ccp_publisher_export_t *items; /**< n exports */
  ccp_alert_t *alerts;           /**< deadline alerts since the last bundle; owned strings */
  int32_t *alert_partitions;     /**< owned, per alert: its partition when checkpoints are on
                                      (the ids are then kept per partition), else -1 */
  int nalerts;
  int64_t alerts_dropped; /**< alerts fired before these and dropped by the worker unseen (more
                               than ccp_consumer_opts_t.alert_cap since the last bundle) */
  int64_t backlog;        /**< records of its partitions not read yet at the export (each one's high
                               watermark of its latest fetch - next offset, summed; 0 where unknown) */
  int ckpt_left;          /**< a checkpoint cycle: its partitions not saved (nor kept) yet in the
                               checkpoint round (a spread round leaves some to later cycles) */
} ccp_publisher_bundle_t;

/** Frees a bundle and what it owns (partials, alerts); NULL is fine. */
void ccp_publisher_bundle_free(ccp_publisher_bundle_t *b);
/** Copies an alert with owned strings (ticket_id, queue, agent_id), for a bundle. */
void ccp_publisher_alert_copy(ccp_alert_t *dst, const ccp_alert_t *src);
/** Frees the strings of n alerts copied with ccp_publisher_alert_copy(). */
void ccp_publisher_alerts_free(ccp_alert_t *a, int n);

/** What the publisher needs from the consumer; every callback runs on the publisher thread. */
typedef struct ccp_publisher_source {
  void *opaque;
  int nbundles; /**< bundles per cycle (one per worker) */
  /** Barrier, first half: every worker reports; returns the largest stream
   * time of all partitions (INT64_MIN: none yet). */
  int64_t (*report)(void *opaque);
  /** Before collect: whether the coming export is a checkpoint cycle (may be NULL): 0 no,
   * CCP_CKPT_CHANGED the partitions whose engine changed since its last save are saved,
   * CCP_CKPT_ALL every partition is; only those not saved yet in checkpoint round `round`
   * (a number that grows). With `spread`, each worker saves only about a quarter of its
   * partitions' state per cycle (at least one partition) and counts the others in the
   * bundle's ckpt_left: the round goes on in the next checkpoint cycles (docs/checkpoints.md,
   * "Spread over cycles"). */
  void (*checkpoint)(void *opaque, int on, uint64_t round, int spread);
  /** Barrier, second half: every partition is exported at now_ms (G); a
   * partition that has read everything and settled first advances its
   * deadline time to live_ms (wall - live.idle_advance while the stream is
   * live, else INT64_MIN: no advance); fills bundles[0..nbundles) (the
   * publisher then owns them). */
  void (*collect)(void *opaque, int64_t now_ms, int64_t live_ms, ccp_publisher_bundle_t **bundles);
  /** Called only after the publish function returned 0 for this cycle: make
   * what the bundles cover durable (commit their offsets; with checkpoints,
   * of the exports whose ckpt_stored is set). */
  void (*commit)(void *opaque, ccp_publisher_bundle_t *const *bundles);
  /** End of every cycle, published or not (may be NULL). */
  void (*end)(void *opaque);
  /** Partitions of the topic, from its metadata (may be NULL; 0: unknown). With a fetch
   * function it decides whether this instance owns every partition. */
  int (*partitions)(void *opaque);
  /** Records read so far, a running total over the workers (may be NULL: the cycles are
   * never paced for a catch-up). Called between cycles too. */
  int64_t (*consumed)(void *opaque);
} ccp_publisher_source_t;

/** Options of a publisher. */
typedef struct ccp_publisher_opts {
  const ccp_config_t *cfg;          /**< publish.interval, lateness, live.idle_advance (borrowed) */
  ccp_publish_fn publish;           /**< NULL: publish nothing, commit */
  ccp_publish_ckpt_fn publish_ckpt; /**< instead of publish when set; with checkpoints every
                                         cfg->checkpoint_interval_ms (> 0) and in the final cycle */
  ccp_fetch_fn fetch;               /**< several instances (docs/live.md): the view writer's reads;
                                         NULL: the view of the own partitions, unfenced */
  void *opaque;                     /**< passed to publish and fetch */
  int64_t (*clock_ms)(void);        /**< wall clock of the time rule; NULL = CLOCK_REALTIME */
  int64_t final_timeout_ms;         /**< the final cycle is retried until this long after
                                         ccp_publisher_finish() (the cycle in flight included);
                                         0 = 10 s */
  ccp_publisher_source_t src;
} ccp_publisher_opts_t;

typedef struct ccp_publisher ccp_publisher_t;

/** Creates a publisher (no thread yet); opts is copied. */
ccp_publisher_t *ccp_publisher_new(const ccp_publisher_opts_t *opts);
/** Starts the thread (the caller blocks signals around it); 0 or -CCP_EIO. */
int ccp_publisher_start(ccp_publisher_t *p);
/**
 * Asks for the final cycle and waits for the thread. Returns 0 when the final
 * cycle was published, else -CCP_EIO.
 */
int ccp_publisher_finish(ccp_publisher_t *p);
/** Frees the publisher (after finish, or when never started); NULL is fine. */
void ccp_publisher_free(ccp_publisher_t *p);

/** Counters of a publisher (any thread). */
typedef struct ccp_publisher_stats {
  int64_t cycles;        /**< successful cycles */
  int64_t failed_cycles; /**< cycles whose publish failed */
  int64_t now_ms;        /**< G of the last successful cycle */
  int64_t last_ok_ms;    /**< monotonic ms when the last successful cycle ended; 0 none */
  /** cycles (successful or not) by duration: buckets[i] counts those taking at most
   * ccp_publish_bucket_s[i] and more than the bound before; the last, the rest */
  int64_t buckets[CCP_PUBLISH_NBUCKETS];
  int64_t duration_us; /**< sum of the durations of the cycles counted in buckets */
} ccp_publisher_stats_t;

/** Copies the counters (any thread). */
void ccp_publisher_stats(const ccp_publisher_t *p, ccp_publisher_stats_t *out);

#endif
