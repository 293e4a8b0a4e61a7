/*
 * Internals shared by the Redis publisher (redis_pub.c: the connection and
 * the cycle's transaction) and the checkpoint store (ckpt_store.c: the
 * checkpoint keys, the fencing script, the reader). Every function runs on
 * the thread that owns the buffer or context it is given.
 */
#ifndef CCP_CKPT_INT_H
#define CCP_CKPT_INT_H

#include <hiredis/hiredis.h>

#include "ccpulse/buf.h"
#include "ccpulse/ckpt_store.h"

/**
 * Connects to the Redis server of url (AUTH and SELECT as the url says),
 * with the timeouts given; NULL with what filled (the problem, lower case).
 * addr receives "host:port" for messages (may be NULL).
 */
redisContext *ccp__redis_connect(const char *url, int connect_timeout_ms, int command_timeout_ms,
                                 char *addr, size_t addrlen, char *what, size_t wlen);
/** How long a cycle's replies may take: command_timeout_ms plus Redis's
 * work for nalerts alerts and bytes of commands (redis_pub.c). */
int ccp__redis_cycle_timeout_ms(int command_timeout_ms, size_t nalerts, size_t bytes);
/** Appends one command (argc arguments of lens[i] bytes) as RESP to o. */
void ccp__resp_argv(ccp_buf_t *o, int argc, const char *const *argv, const size_t *lens);

/** Sets k to the key of the ids of a partition's deadline alerts, <prefix>v1:alert_ids:<topic>:<p>.
 */
void ccp__alert_ids_key(ccp_buf_t *k, const char *prefix, const char *topic, int32_t partition);
/** Format of a stored checkpoint written by this build (docs/checkpoints.md: 2, a base and a
 * delta; 1, the state in fields state, state:1..., is still read). */
#define CCP_CKPT_STORE_FORMAT 2
/** Seed of the checksum of a stored state (field sum; a base's id uses the seed ^ 1). */
#define CCP_CKPT_SUM_SEED 0x636b70747374ULL
/** Largest zstd window of a delta (its base and the state must fit for the best delta). */
#define CCP_CKPT_WINDOWLOG_MAX 30
/** A delta is written while it is at most 1/this of its base's compressed size, else a new base. */
#define CCP_CKPT_DELTA_DIV 2
/** Largest state a stored checkpoint may claim (a reader allocates that much). */
#define CCP_CKPT_MAX_BYTES ((int64_t)1 << 40)

/**
 * What the checkpoint writer knows Redis holds (opaque): per partition the
 * base of its stored checkpoint (compressed), so that a checkpoint cycle
 * writes only a delta against it. Owned by the Redis publisher: every call
 * on the publisher thread; it runs one thread of its own that compresses
 * batches prepared ahead (ccp__ckpt_prepare()).
 */
typedef struct ccp__ckpt_writer ccp__ckpt_writer_t;
/** What a writer wrote (stored checkpoints only). */
typedef struct ccp__ckpt_writer_stats {
  uint64_t full, delta;             /**< checkpoints stored whole (a new base) / as a delta */
  uint64_t full_bytes, delta_bytes; /**< their compressed bytes */
  uint64_t state_bytes;             /**< the uncompressed states they stored */
  uint64_t base_lost;               /**< deltas refused because Redis no longer held their base */
  uint64_t kept;                    /**< idle partitions' checkpoints found still stored as
                                         written, and not written again */
} ccp__ckpt_writer_stats_t;
/** Creates a writer that knows nothing yet (every partition is written whole first). */
ccp__ckpt_writer_t *ccp__ckpt_writer_new(void);
/** Frees a writer; NULL is fine. */
void ccp__ckpt_writer_free(ccp__ckpt_writer_t *w);
/** Forgets everything (a failed or unknown cycle, a new connection): the next checkpoint of
 * every partition is written whole. */
void ccp__ckpt_writer_forget(ccp__ckpt_writer_t *w);
/** How many checkpoints of the last ccp__ckpt_results() found their base gone from Redis (the
 * cycle then counts as failed, so the next one writes them whole at once). */
int ccp__ckpt_writer_lost(const ccp__ckpt_writer_t *w);
/** Its counters (valid while w lives). */
const ccp__ckpt_writer_stats_t *ccp__ckpt_writer_stats(const ccp__ckpt_writer_t *w);
/** Appends SCRIPT LOAD of the fencing script (pipelined ahead of a cycle's MULTI). */
void ccp__ckpt_append_load(ccp_buf_t *o);
/** Checks the reply to ccp__ckpt_append_load(); 0, or -CCP_EINVAL with what filled. */
int ccp__ckpt_check_load(const redisReply *r, char *what, size_t wlen);
/**
 * Prepares checkpoints c[0..n) for ccp__ckpt_append(): per checkpoint its
 * sum and its compressed bytes (a delta against the base w knows Redis
 * holds, or the whole state). batch 0: at once, here; returns 1. Else on
 * the writer's own thread: the first call with a new batch id starts it
 * (a batch in preparation is dropped first) and returns 0; later calls with
 * the same id and c return 1 once it is prepared (and its deltas' bases are
 * still known; if not it starts again, whole). c's states must stay valid
 * until ccp__ckpt_results() or ccp__ckpt_drop(). Publisher thread.
 */
int ccp__ckpt_prepare(ccp__ckpt_writer_t *w, const ccp_checkpoint_t *c, int n, uint64_t batch);
/** Forgets the batch being prepared or prepared (waits while it is being compressed): its
 * states may be freed afterwards. Publisher thread. */
void ccp__ckpt_drop(ccp__ckpt_writer_t *w);
/**
 * Appends the commands writing checkpoints c[0..n) (inside MULTI): per
 * checkpoint either one EVALSHA of the fencing script carrying a delta
 * against the base w knows Redis holds, or (nothing known, or the delta too
 * large) a DEL and HSETs of its staging hash with the whole state
 * compressed, then EVALSHA. The script also trims the partition's alert ids
 * below the checkpoint's alert_floor when it stores it. Adds the commands
 * to *ncmds and their argument bytes to *bytes. A checkpoint without an
 * epoch (<= 0) or offset (< 0) is skipped. Uses what ccp__ckpt_prepare()
 * prepared for c, else prepares it at once. The states must stay valid until
 * ccp__ckpt_results() of the same cycle.
 */
void ccp__ckpt_append(ccp_buf_t *o, ccp__ckpt_writer_t *w, const char *prefix,
                      const ccp_checkpoint_t *c, int n, int *ncmds, uint64_t *bytes);
/**
 * Sets c[i].stored from the EXEC reply (NULL: none) of a cycle whose
 * checkpoint commands (ccp__ckpt_append() with the same w, c, n) started at
 * command index base, and updates what w knows (a stored whole state's
 * compressed bytes become its partition's base); logs (unless quiet) each
 * one refused by the fence; forgets the batch. Returns how many were refused.
 */
int ccp__ckpt_results(const redisReply *exec, int base, ccp__ckpt_writer_t *w, ccp_checkpoint_t *c,
                      int n, int quiet);

/**
 * Appends the commands storing partials r[0..n) (inside MULTI): per partial
 * a DEL and an HSET of its staging hash, then an EVAL of the partial fence
 * (renamed over <prefix>v1:partial:<topic>:<p> only while the partition's
 * checkpoint epoch is the writer's and the stored partial's offset is not
 * larger). Adds the commands to *ncmds and their argument bytes to *bytes.
 * A partial without an epoch (<= 0) is skipped.
 */
void ccp__partials_append(ccp_buf_t *o, const char *prefix, const char *topic,
                          const ccp_partial_rec_t *r, int n, int *ncmds, uint64_t *bytes);
/** Sets r[i].stored from the EXEC reply of a cycle whose partial commands started at base. */
void ccp__partials_results(const redisReply *exec, int base, ccp_partial_rec_t *r, int n);
/** Appends the EVAL raising <prefix>v1:stream_time:<topic> to at least t (one command); its
 * reply is the stored value after it. */
void ccp__stream_time_append(ccp_buf_t *o, const char *prefix, const char *topic, int64_t t);

#endif
