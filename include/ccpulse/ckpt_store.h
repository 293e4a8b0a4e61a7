/*
 * ccpulse — where partition checkpoints live: Redis, next to the published
 * view (docs/checkpoints.md, "Where checkpoints live and how they are used";
 * the keys are in docs/redis.md).
 *
 * A checkpoint is one partition's engine state (ccp_engine_save()) and the
 * offset of the next record to read. The Redis publisher writes the
 * checkpoints of a cycle inside that cycle's MULTI/EXEC
 * (ccp_redis_pub_cycle_ckpt()), or, given as a batch prepared ahead, inside
 * the first later cycle's once compressed on the checkpoint writer's own
 * thread (ccp_redis_cycle_t.ckpt_batch), each conditional on the partition's fencing
 * epoch still being the writer's; a new owner takes the epoch and reads the
 * checkpoint in one transaction with a reader (ccp_ckpt_reader_*()), on its
 * own short-lived connection.
 *
 * Keys, for topic T and partition P under the prefix:
 *   <prefix>ckpt:T:P        hash: format (2), offset, bytes, saved_ms, epoch,
 *                           sum, base_id, base_bytes, base_parts, base,
 *                           base:1... (the state zstd-compressed: the base),
 *                           delta (the state against the base; optional)
 *   <prefix>ckpt:T:P:epoch  the fencing token (INCR by each new owner)
 *   <prefix>ckpt:T:P:new    staging hash of a whole write, renamed over the first
 *                           key by the fencing script (never left behind)
 * and, trimmed by the same script when it stores a checkpoint, the
 * partition's alert ids <prefix>v1:alert_ids:T:P (docs/redis.md).
 *
 * Threads: a reader (and its hiredis context) belongs to the thread that
 * created it; ccp_checkpoint_t is plain data.
 */
#ifndef CCPULSE_CKPT_STORE_H
#define CCPULSE_CKPT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ccpulse/buf.h"
#include "ccpulse/partial.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest field a checkpoint's compressed base is split into, and the largest delta (4 MiB): no
 * command carries one huge argument. */
#define CCP_CKPT_CHUNK ((size_t)4 << 20)

/** One partition's checkpoint of a publish cycle (borrowed pointers, valid during the call). */
typedef struct ccp_checkpoint {
  const char *topic;   /**< Kafka topic */
  int32_t partition;   /**< Kafka partition */
  int64_t offset;      /**< next offset to read once restored */
  int64_t epoch;       /**< fencing token the writer took at assignment (> 0) */
  int64_t saved_ms;    /**< wall clock when saved (informational) */
  const void *state;   /**< ccp_engine_save() bytes */
  size_t len;          /**< their length */
  int64_t alert_floor; /**< ccp_engine_alert_floor() of the state: when the checkpoint is
                            stored, the partition's alert ids due before it are forgotten
                            (INT64_MIN: none) */
  int stored;          /**< out: 1 written (same: still stored), 0 not (fenced, lost, or the
                            cycle failed) */
  int same;            /**< 1: no state (NULL, 0): the partition's checkpoint this writer
                            stored last is still exact for it (only time moved); the cycle
                            checks that Redis still holds it, unchanged, under the epoch
                            (docs/checkpoints.md, "Idle partitions") */
  int whole;           /**< 1: saved while the stream was catching up: written whole (a new
                            base) without trying a delta, and its state is not kept as the
                            deltas' prefix (docs/checkpoints.md, "While catching up") */
} ccp_checkpoint_t;

/**
 * One partition's partial as its owner stores it for the view writer when
 * several instances share the topic (docs/live.md, "Several instances"),
 * under <prefix>v1:partial:<topic>:<partition>: written in the owner's
 * cycle transaction, fenced by the partition's epoch like a checkpoint, and
 * never replaced by one that covers fewer records (a lower offset).
 */
typedef struct ccp_partial_rec {
  int32_t partition; /**< Kafka partition */
  int64_t epoch;     /**< fencing token of the writer (> 0) */
  int64_t offset;    /**< next offset the partial covers; -1: nothing read yet */
  int64_t now;       /**< its stream time (informational) */
  const void *data;  /**< ccp_partial_save() bytes (borrowed) */
  size_t len;        /**< their length */
  int stored;        /**< out: 1 written, 0 not (fenced, behind the stored one, or failed) */
} ccp_partial_rec_t;

/** A stored partial read by ccp_redis_pub_fetch(). */
typedef struct ccp_partial_got {
  int32_t partition;      /**< asked for */
  int64_t offset;         /**< its next offset (INT64_MIN: none stored or refused) */
  ccp_partial_t *partial; /**< owned by the caller (ccp_partial_free); NULL: none */
} ccp_partial_got_t;

/** What a reader found for a partition (ccp_ckpt_reader_claim()). */
typedef struct ccp_ckpt_found {
  int64_t epoch;    /**< the token this reader took: its writes must carry it */
  int present;      /**< 1 when a checkpoint was stored */
  int64_t offset;   /**< its next offset */
  int64_t epoch_of; /**< the epoch of the owner that wrote it */
  int64_t saved_ms; /**< when it was saved */
  ccp_buf_t state;  /**< its bytes (owned: ccp_buf_release) */
} ccp_ckpt_found_t;

/** A connection that claims and reads checkpoints (opaque). */
typedef struct ccp_ckpt_reader ccp_ckpt_reader_t;

/**
 * Creates a reader for url and prefix (NULL: "ccpulse:"); does not connect
 * yet. Connection attempts of all its calls stop wait_ms after this call
 * (then each call tries once). NULL with errbuf on a bad url.
 */
ccp_ckpt_reader_t *ccp_ckpt_reader_new(const char *url, const char *prefix, int64_t wait_ms,
                                       char *errbuf, size_t errlen);
/**
 * Takes the next fencing epoch of topic/partition (INCR) and reads its
 * checkpoint, in one transaction. Returns 0 with *out filled (out->present
 * 0: none stored), or -CCP_EIO (Redis unreachable within the wait) /
 * -CCP_EPARSE (a stored checkpoint is malformed: out->epoch is still taken)
 * with errbuf. Call ccp_ckpt_found_release(out) in every case.
 */
int ccp_ckpt_reader_claim(ccp_ckpt_reader_t *r, const char *topic, int32_t partition,
                          ccp_ckpt_found_t *out, char *errbuf, size_t errlen);
/** Frees what a found checkpoint owns. */
void ccp_ckpt_found_release(ccp_ckpt_found_t *f);
/** Closes the connection and frees the reader; NULL is fine. */
void ccp_ckpt_reader_free(ccp_ckpt_reader_t *r);

#ifdef __cplusplus
}
#endif
#endif
