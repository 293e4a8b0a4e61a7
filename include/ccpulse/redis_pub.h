/*
 * ccpulse — the Redis publisher: writes each publish cycle (KPI tiles, the
 * snapshot document, alerts) to Redis as one MULTI/EXEC transaction, under
 * the versioned key layout of docs/redis.md.
 *
 * Guarantees (docs/redis.md): a cycle is applied whole or not at all; tiles
 * are absolute values, so a failed cycle needs no repair — the next one
 * rewrites them; alerts of a failed cycle stay queued here and go out with
 * the next cycle that succeeds. Alerts are de-duplicated by their "id" in
 * Redis, inside the cycle's transaction: an id already on the stream (sent
 * again after a lost reply, a restart, a re-read, by a second instance) is
 * not written again while it is remembered: a partition's deadline alerts
 * until a stored checkpoint of the partition rules them out of any restore,
 * other alerts for dedup_window_ms of stream time (docs/redis.md). When Redis
 * is away a cycle returns at once with an error; reconnects follow an
 * exponential backoff; errors go to stderr, one line each, rate-limited.
 *
 * Threads: a publisher (and its hiredis context, which is not thread-safe)
 * belongs to one thread; every function below must be called from it.
 */
#ifndef CCPULSE_REDIS_PUB_H
#define CCPULSE_REDIS_PUB_H

#include <stddef.h>
#include <stdint.h>

#include "ccpulse/ckpt_store.h"
#include "ccpulse/config.h"
#include "ccpulse/partial.h"
#include "ccpulse/view.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Publisher settings; zero fields take the defaults given. */
typedef struct ccp_redis_pub_opts {
  const char *url;         /**< "redis://[[user:]password@]host[:port][/db]"; port 6379 */
  const char *prefix;      /**< key prefix; NULL: "ccpulse:" */
  const ccp_config_t *cfg; /**< windows of the views (borrowed, outlives the publisher) */
  int64_t
      snapshot_maxlen; /**< XADD MAXLEN ~ of <prefix>snapshots; 0: 1000; < 0: no snapshot stream */
  int64_t snapshot_interval_ms; /**< at most one snapshot entry per this (and one in a final view);
                                   0: every cycle; also the cadence of the scope documents */
  int64_t wait_refresh_ms;      /**< a gauges tile or scope document whose only change is
                                   longest_wait_ms is rewritten once it is this far behind; 0: at
                                   once */
  double snapshot_max_mb;       /**< the snapshot stream keeps about this many MB (10^6 bytes):
                                   an entry of S bytes goes with MAXLEN ~ min(snapshot_maxlen,
                                   max(1, this / S)); 0: 512; < 0: no byte cap */
  double snapshot_mb_per_s;     /**< after an entry of S MB the next is due no sooner than S / this
                                   seconds later (and on the snapshot_interval grid); 0: 1.5;
                                   < 0: no pacing */
  int64_t alerts_maxlen;        /**< XADD MAXLEN ~ of <prefix>alerts; 0: 100000 */
  int64_t dedup_window_ms;      /**< ids of alerts without a partition (threshold alerts; all
                                   alerts with checkpoints off) are remembered while their due
                                   time (at_ms, else now_ms) is within this much stream time (and
                                   at least lateness) of the view's now; 0: 24 h; < 0: no
                                   de-duplication (plain XADD and PUBLISH, at least once) */
  int connect_timeout_ms;       /**< 0: 500 */
  int command_timeout_ms;       /**< 0: 2000 (a whole cycle's replies) */
  int backoff_min_ms;           /**< first reconnect delay; 0: 100 */
  int backoff_max_ms;           /**< delay cap, doubling up to it; 0: 5000 */
  size_t max_queued_alerts;     /**< alerts kept while Redis is away; 0: 100000 */
  int quiet;                    /**< 1: no log lines on stderr (tests) */
} ccp_redis_pub_opts_t;

/** What a command of a cycle writes (the per-kind counters of ccp_redis_pub_stats_t). */
typedef enum ccp_redis_kind {
  CCP_RK_KPI,      /**< SET v1:kpi:<scope>:<window> */
  CCP_RK_GAUGES,   /**< SET v1:gauges:<scope> */
  CCP_RK_SCOPE,    /**< SET v1:scope:<scope> */
  CCP_RK_SCOPES,   /**< ZADD / ZREM v1:scope_set (a member each) */
  CCP_RK_DEL,      /**< DEL of a scope's keys */
  CCP_RK_SNAPSHOT, /**< XADD of the snapshot stream */
  CCP_RK_ALERT,    /**< the alerts: one EVAL of the de-duplicating script per 10,000 (without
                        de-duplication an XADD and a PUBLISH each) */
  CCP_RK_META,     /**< HSET v1:meta */
  CCP_RK__COUNT
} ccp_redis_kind_t;

/** Counters of a publisher (ccp_redis_pub_stats). */
typedef struct ccp_redis_pub_stats {
  uint64_t cycles_ok;         /**< cycles whose EXEC succeeded */
  uint64_t cycles_failed;     /**< cycles not applied (Redis away, error, skipped in backoff) */
  uint64_t reconnects;        /**< successful connects after the first */
  uint64_t alerts_published;  /**< alerts written to the stream (with de-duplication also by
                                 a cycle that failed after its alerts landed) */
  uint64_t alerts_repeated;   /**< alerts not written because Redis remembered their id */
  uint64_t alerts_dropped;    /**< oldest queued alerts dropped because the queue was full */
  size_t alerts_queued;       /**< alerts waiting for the next successful cycle */
  uint64_t tiles_written;     /**< tiles and scope documents set by successful cycles */
  uint64_t snapshots_written; /**< snapshot stream entries of successful cycles */
  uint64_t bytes_written;     /**< argument bytes of the commands of successful cycles */
  uint64_t kind_cmds[CCP_RK__COUNT];  /**< per ccp_redis_kind_t, in successful cycles: keys set
                                         or deleted (one MSET, one DEL a cycle), stream entries,
                                         alert commands, meta writes */
  uint64_t kind_bytes[CCP_RK__COUNT]; /**< their bytes (keys and values; the other commands'
                                         arguments) */
  uint64_t ckpts_written;             /**< checkpoints stored (ccp_redis_pub_cycle_ckpt) */
  uint64_t ckpts_refused;             /**< checkpoints refused by the fence (a newer owner) */
  uint64_t ckpt_bytes;                /**< argument bytes of the checkpoint commands of EXECs */
  uint64_t partials_written;          /**< partials stored (several instances) */
  uint64_t partial_bytes;             /**< their argument bytes */
  int connected;                      /**< 1 while a connection is up */
  int64_t retry_in_ms;                /**< when disconnected: ms until the next connect attempt */
  char last_error[256];               /**< last error text, "" when none yet */
} ccp_redis_pub_stats_t;

/** Opaque publisher. */
typedef struct ccp_redis_pub ccp_redis_pub_t;

/**
 * Checks a Redis URL; returns 0, or -CCP_EINVAL with errbuf e.g.
 * "invalid redis url 'redis://h:99999': port must be 1..65535". Any thread.
 */
int ccp_redis_url_check(const char *url, char *errbuf, size_t errlen);
/**
 * Writes url into out for messages, with its userinfo (the `user:password`
 * before '@') replaced by three asterisks; returns out. A url without
 * credentials is copied as it is. Any thread.
 */
const char *ccp_redis_url_redact(const char *url, char *out, size_t outlen);

/**
 * Connects to url once and checks that ccpulse may work there: the
 * credentials are accepted, and every kind of command it sends is allowed
 * on its keys under prefix (and those of topic's checkpoints) and on its
 * alerts channel (queued in a MULTI that is discarded: nothing is written).
 * Returns 0; -CCP_EINVAL when Redis refuses (wrong password, unknown ACL
 * user, a password needed, NOPERM, a read-only replica): errbuf names the
 * problem, never the password, and start-up should stop; -CCP_EIO when
 * Redis cannot be reached or is not ready (loading): errbuf says so, and a
 * publisher retries as in any outage. Any thread.
 */
int ccp_redis_check_access(const char *url, const char *prefix, const char *topic, char *errbuf,
                           size_t errlen);

/**
 * Creates a publisher. Does not connect: the first cycle does, so a Redis
 * that is down at start-up is retried like any outage. Returns NULL with
 * errbuf filled on a bad url, prefix or option.
 */
ccp_redis_pub_t *ccp_redis_pub_new(const ccp_redis_pub_opts_t *opts, char *errbuf, size_t errlen);
/** Closes the connection and frees the publisher (queued alerts are lost). */
void ccp_redis_pub_free(ccp_redis_pub_t *p);

/**
 * Queues one alert JSON (one line, copied) for the next cycle. Its string
 * "id" (an alert without one is never de-duplicated) and its due time, the
 * integer "at_ms" or else "now_ms" (else the stream time of the cycle that
 * sends it), are read from it here. partition >= 0: a deadline alert of that
 * Kafka partition (of the configuration's kafka.topic), whose id is kept in
 * the partition's ids until a stored checkpoint of it rules the alert out of
 * any restore; -1: its id is kept in the global ids for the window. When the
 * queue is full the oldest queued alert is dropped and counted.
 */
void ccp_redis_pub_queue_alert(ccp_redis_pub_t *p, const char *json, size_t len, int32_t partition);

/**
 * Writes one cycle as one MULTI/EXEC: the tiles of view that changed since
 * they were last written (all of them after a failure or a connect), the
 * snapshot when one is due (snapshot_interval_ms, paced by snapshot_mb_per_s;
 * always for a final view;
 * NULL view: alerts only), then every queued alert plus alerts[0..nalerts)
 * (NUL-terminated JSON, copied into the queue first) whose id Redis does not
 * remember, in order, to the stream and the channel. Returns 0 when EXEC
 * succeeded (the queue is then empty), else a negative code (-CCP_EIO: not
 * connected or connection lost; -CCP_EINVAL: Redis refused a command) with
 * the alerts still queued and nothing half-applied (except a runtime error
 * inside EXEC, e.g. WRONGTYPE: docs/redis.md). Fast while disconnected: tries
 * to connect only when the backoff delay has passed; a hung server costs at
 * most the command timeout.
 */
int ccp_redis_pub_cycle(ccp_redis_pub_t *p, const ccp_view_t *view, const char *const *alerts,
                        size_t nalerts);

/**
 * ccp_redis_pub_cycle() plus the checkpoints ckpts[0..nckpts) of the same
 * cycle, written in its MULTI/EXEC (ckpt_store.h: each conditional on its
 * fencing epoch, a stale owner's refused and logged). Sets ckpts[i].stored;
 * a checkpoint is stored only when it landed, which with a runtime error
 * inside EXEC can be so even though the cycle returns an error.
 */
int ccp_redis_pub_cycle_ckpt(ccp_redis_pub_t *p, const ccp_view_t *view, const char *const *alerts,
                             size_t nalerts, ccp_checkpoint_t *ckpts, int nckpts);

/** Everything one cycle writes (ccp_redis_pub_cycle_x()). */
typedef struct ccp_redis_cycle {
  const ccp_view_t *view;    /**< NULL: no tiles, scope documents or snapshot */
  int no_meta;               /**< 1: no meta either (an instance that does not write the view) */
  const char *const *alerts; /**< NUL-terminated JSON, as for ccp_redis_pub_cycle() */
  size_t nalerts;
  size_t alerts_skipped; /**< alerts of the cycle, older than alerts[0], that the caller did
                              not render because the queue would drop them anyway: only when
                              nalerts >= ccp_redis_pub_alert_cap(); queued as empty entries, so
                              they are dropped and counted (and logged) exactly as if given */
  const int32_t *alert_partitions; /**< NULL, or per alert its partition as for
                                        ccp_redis_pub_queue_alert() (-1: none) */
  const char *const *alert_ids;    /**< NULL, or per alert its id (NUL-terminated) as the
                                         JSON's string "id" holds it, with alert_due: the JSON
                                         is then not parsed (an entry NULL: it is) */
  const int64_t *alert_due;        /**< with alert_ids: per alert its due time ("at_ms") */
  ccp_checkpoint_t *ckpts;         /**< the cycle's checkpoints (ccp_redis_pub_cycle_ckpt()) */
  int nckpts;
  uint64_t ckpt_batch; /**< 0: ckpts are compressed and written in this cycle; else the id of a
                            batch prepared ahead (docs/checkpoints.md, "Off the view cycle"):
                            the first cycle given it starts compressing it on the writer's own
                            thread and writes none of it, and each cycle given it again writes
                            it once prepared; its states must stay valid until a cycle returns
                            with ckpt_pending 0, or one is called with another batch or none */
  int ckpt_pending;    /**< out: the batch is not written yet (stored flags all 0) */
  const char *topic;   /**< Kafka topic of the partials and the stream time */
  ccp_partial_rec_t *partials; /**< own partials to store (several instances); stored set */
  int npartials;
  int64_t stream_time; /**< INT64_MIN: the shared stream time is neither raised nor read */
  int64_t shared_time; /**< out: the shared stream time after the cycle (INT64_MIN: unknown) */
} ccp_redis_cycle_t;

/**
 * ccp_redis_pub_cycle_ckpt() generalised for several instances (docs/live.md,
 * "Several instances"): besides the view (when c->view is set), alerts and
 * checkpoints, stores the partials of c->partials, each fenced by its
 * partition's epoch, and raises the shared stream time to c->stream_time,
 * all in the cycle's MULTI/EXEC. After ccp_redis_pub_fetch() with a fence
 * the EXEC is conditional on the fence's epoch key (WATCH).
 */
int ccp_redis_pub_cycle_x(ccp_redis_pub_t *p, ccp_redis_cycle_t *c);

/**
 * Before a cycle of the view writer (docs/live.md, "Several instances"):
 * in one round trip, WATCHes and reads the checkpoint epoch of
 * fence_partition when fence_epoch > 0 (*fence_ok = 1 when it is still
 * fence_epoch, or missing), and reads the stored partials of want[0..nwant)
 * of topic into got[0..nwant). A fence that failed is UNWATCHed. Returns 0,
 * or a negative code when Redis could not be read (the cycle then fails).
 */
int ccp_redis_pub_fetch(ccp_redis_pub_t *p, const char *topic, int32_t fence_partition,
                        int64_t fence_epoch, const int32_t *want, int nwant, ccp_partial_got_t *got,
                        int *fence_ok);

/** Copies the counters into *out. */
void ccp_redis_pub_stats(const ccp_redis_pub_t *p, ccp_redis_pub_stats_t *out);

/** How many alerts the queue holds at most (max_queued_alerts); any thread (never changes). */
size_t ccp_redis_pub_alert_cap(const ccp_redis_pub_t *p);

/** "host:port" of the publisher, as its log lines name it. */
const char *ccp_redis_pub_addr(const ccp_redis_pub_t *p);

/**
 * Changes the connect and command time-outs (a value <= 0 keeps the old
 * one); the open connection takes the new command time-out at once. For
 * the shutdown's deadline. Publisher thread.
 */
void ccp_redis_pub_set_timeouts(ccp_redis_pub_t *p, int connect_timeout_ms, int command_timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
