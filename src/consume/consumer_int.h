/*
 * Internals shared by consumer.c (main thread: consumer, rebalances; and
 * the callbacks the publisher thread calls: barrier, commit) and worker.c
 * (worker threads: decode, engines, DLQ). The publisher thread itself is
 * src/publish/publisher.c; it sees the consumer only through the
 * ccp_publisher_source_t that consumer.c gives it. docs/live.md describes
 * the protocol; the invariants are:
 *
 *  - a part_t (one assigned partition) is created by the main thread and
 *    handed to exactly one worker by a command under the worker's mutex;
 *    from then on only that worker touches its engine and next_offset,
 *    until a DROP command (also under the mutex) makes the worker free it;
 *  - the publisher never touches an engine: workers export at its request
 *    and hand over an immutable bundle (publish/publisher.h) through an
 *    atomic pointer;
 *  - the commit filter (which partitions are still assigned, in which
 *    generation) is guarded by c->assign_mu, held by the main thread while
 *    it changes an assignment and by the publisher while it commits.
 */
#ifndef CCP_CONSUMER_INT_H
#define CCP_CONSUMER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/registry.h"
#include "publish/publisher.h"

#define CCP_CACHELINE 64

/* One assigned partition. */
typedef struct ccp__part {
  int32_t partition;
  uint32_t gen;              /* assignment generation: immutable */
  int worker;                /* main thread only */
  rd_kafka_queue_t *pq;      /* main thread only: the partition's queue, forwarded */
  ccp_engine_t *engine;      /* the owning worker only (after the ADD hand-over) */
  int64_t next_offset;       /* the owning worker only: last processed + 1; -1 none */
  int64_t epoch;             /* immutable: checkpoint fencing epoch taken at assignment; 0 none */
  int64_t evicted;           /* the owning worker only: evictions already reported */
  int64_t dedup_refused;     /* the owning worker only: refused event ids already reported */
  ccp_partial_t *last;       /* the owning worker only: a reference to its last export */
  size_t ckpt_len;           /* the owning worker only: bytes of its last checkpoint (0: none) */
  uint64_t ckpt_id;          /* the owning worker only: id of its last save (0: none) */
  int64_t ckpt_offset;       /* the owning worker only: the next offset of that save */
  uint64_t ckpt_round;       /* the owning worker only: the checkpoint round it was last saved
                                (or kept) in; 0: none */
  int at_end;                /* the owning worker only: its end was reported (PARTITION_EOF) at
                                end_offset, no record since */
  int64_t end_offset;        /* the owning worker only: the offset of that end */
  int fetched;               /* the owning worker only: a record or the end arrived in this
                                assignment, so librdkafka's cached watermarks of the partition come
                                from this assignment's fetches (before, maybe from an earlier one) */
  int fresh;                 /* the owning worker only: a record arrived since the last barrier
                                (a partition still being written to does not follow G) */
  struct ccp__worker *owner; /* set by the ADD: the worker its engine's alerts go to */
} ccp__part_t;

/* Commands from the main thread to a worker (rebalances). */
enum { CCP__CMD_NONE = 0, CCP__CMD_ADD, CCP__CMD_DROP };

typedef struct ccp__worker {
  struct ccp_consumer *c;
  int idx;
  pthread_t thread;
  rd_kafka_queue_t *q; /* the worker's queue: partition queues forward into it */

  /* worker thread only */
  ccp__part_t **by_id; /* indexed by partition number */
  int by_id_cap;
  int nparts;
  ccp_alert_t *alerts;  /* alerts fired since the last export; with c->alert_cap, a ring of the
                           newest alert_cap once full (the oldest at alerts_head) */
  int32_t *alert_parts; /* their partitions (-1 with checkpoints off) */
  int nalerts, alerts_cap, alerts_head;
  int64_t alerts_dropped; /* older alerts of this cycle overwritten in the ring */
  uint64_t seen_epoch;
  struct {
    uint32_t id;
    const ccp_avro_decoder_t *d; /* owned by c->registry */
  } * schemas;                   /* registry schemas this worker has used, sorted by id */
  int nschemas, schemas_cap;

  /* command slot: main thread writes under mu, worker executes and clears */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int cmd;
  ccp__part_t *cmd_part; /* ADD: the part handed over */
  int32_t cmd_partition; /* DROP: which one */
  /* relaxed is enough: a hint to take mu; the data is read under mu */
  atomic_int has_cmd;

  /* padding, not alignas: ccp_malloc gives no 64-byte alignment; the
   * fields below (written per message) stay off the lines above */
  char pad0[CCP_CACHELINE];
  _Atomic(ccp_publisher_bundle_t *) out;    /* hand-over to the publisher */
  _Atomic uint64_t reported;                /* epoch whose barrier this worker reached */
  _Atomic int64_t now;                      /* largest stream time of its partitions */
  _Atomic int64_t messages;                 /* records consumed */
  _Atomic int64_t dead;                     /* records sent to the DLQ */
  _Atomic int64_t late, duplicate, invalid; /* events its engines dropped (metrics) */
  _Atomic int64_t open;                     /* open tickets of its engines at the last export */
  /* the worker sets it when its queue is within a drain of queued.min.messages (librdkafka
   * may then stop fetching its partitions); the main thread clears it when it wakes the
   * fetchers (consumer.c, nudge_fetchers) */
  atomic_int near_full;
  char pad[CCP_CACHELINE];
} ccp__worker_t;

struct ccp_consumer {
  ccp_consumer_opts_t opts;
  const ccp_config_t *cfg;
  int nworkers;
  ccp__worker_t *workers;
  rd_kafka_t *rk;  /* the consumer: main thread (commit: any thread) */
  rd_kafka_t *dlq; /* dead-letter producer: thread-safe */
  char topic[256];
  char dlq_topic[512];

  ccp_avro_decoder_t *writer; /* plain records */
  struct {
    uint32_t id;
    ccp_avro_decoder_t *d;
  } * reg; /* Confluent ids, sorted */
  int nreg;
  ccp_registry_t *registry; /* schema.registry.url: ids without a local file; NULL = none */

  /* main thread only: parts by partition number */
  ccp__part_t **parts;
  int parts_cap;
  uint32_t next_gen;
  int closing;       /* main thread only: inside rd_kafka_consumer_close */
  int ever_assigned; /* main thread only: a rebalance assign was served */
  int auth_failed;   /* main thread only: stopped on an authentication failure at start-up */
  int no_close;      /* main thread only: destroy without the consumer close (shutdown) */

  /* main thread only (consumer.c, waiting_*): partitions the group gave us
   * whose checkpoint could not be read yet (Redis unreachable); not yet
   * assigned to librdkafka, so not fetched; retried from the poll loop */
  rd_kafka_topic_partition_list_t *waiting;
  int64_t waiting_since_ms; /* monotonic: when the first of them began to wait */
  int64_t waiting_next_ms;  /* monotonic: the next attempt */
  int64_t waiting_backoff_ms;

  /* commit filter: assigned_gen[p] (0 = not assigned); guarded by assign_mu */
  pthread_mutex_t assign_mu;
  uint32_t *assigned_gen;
  int assigned_cap;

  ccp_publisher_t *pub;   /* the publisher thread (src/publish/publisher.c) */
  int ckpt_on;            /* immutable: checkpoints stored and restored (docs/checkpoints.md) */
  atomic_int target_ckpt; /* publisher writes before target_epoch: a checkpoint cycle */
  _Atomic uint64_t target_ckpt_round; /* with target_ckpt: its checkpoint round */
  atomic_int target_ckpt_spread;      /* with target_ckpt: the round is spread over cycles */

  /* publish barrier (publisher writes, workers read) */
  _Atomic uint64_t epoch;        /* a new value asks workers to report */
  _Atomic uint64_t target_epoch; /* epoch whose target_now is set */
  _Atomic int64_t target_now;    /* stream time to export at (G) */
  _Atomic int64_t target_live;   /* wall - live.idle_advance while live, else INT64_MIN:
                                    the deadline time of a settled partition at its end */
  uint64_t pub_epoch;            /* publisher thread only: the cycle's epoch */
  /* the publisher's sleep at the barrier (consumer.c, barrier_wait): a
   * worker that reports or hands its bundle over while pub_waiting is set
   * signals bar_cv (ccp__barrier_poke); bar_cv runs on CLOCK_MONOTONIC */
  pthread_mutex_t bar_mu;
  pthread_cond_t bar_cv;
  atomic_int pub_waiting;

  /* publisher thread only (pub_commit): last committed next offset by partition */
  int64_t *committed;
  int committed_cap;
  /* publisher thread only: monotonic ms since which dead letters wait to be
   * delivered (0: none waiting at the last commit) */
  int64_t dlq_waiting_since;

  atomic_int stop;   /* ccp_consumer_stop() was called */
  atomic_int paused; /* workers stop taking messages */
  atomic_int workers_stop;

  /* librdkafka statistics (on_stats, main thread) for scrapes: under stats_mu */
  pthread_mutex_t stats_mu;
  ccp_kafka_lag_t *lag;
  int nlag, lag_cap;
  ccp_kafka_broker_t *brokers;
  int nbrokers, brokers_cap;
  int64_t stats_ms;       /* monotonic ms of the last statistics; 0 none */
  int64_t next_probe_ms;  /* main thread: next reachability probe while Kafka is down */
  int queued_min;         /* immutable: librdkafka's queued.min.messages of the consumer */
  int alert_cap;          /* immutable: alerts a worker keeps per cycle (opts alert_cap); 0: all */
  int64_t nudged_ms;      /* main thread: monotonic ms of the last fetch nudge (0: none) */
  _Atomic int64_t nudges; /* fetch nudges sent (nudge_fetchers), for tests and the log */

  _Atomic int64_t commits, nassigned;
  /* Commits wait while this member is in a rebalance (pub_commit,
   * commit_held): the main thread counts assign callbacks (assigns); a
   * revoke callback (main) or a commit refused for the group's generation
   * (publisher) asks commits to wait for the next one (hold_until_assigns)
   * and notes when (hold_since_ms, monotonic); at most hold_max_ms. */
  _Atomic uint64_t assigns, hold_until_assigns;
  _Atomic int64_t hold_since_ms;
  int64_t hold_max_ms;    /* immutable: the member's session.timeout.ms */
  int holding;            /* publisher thread only: the last cycle's commit waited */
  _Atomic int64_t lost;   /* assignments librdkafka declared lost (revoked as lost) */
  _Atomic int64_t held;   /* cycles whose commit waited for a rebalance */
  atomic_int npartitions; /* partitions of the topic (metadata, main thread writes); 0 unknown */
};

/* worker.c */
void *ccp__worker_main(void *arg);
/* Sends a command to a worker and waits until it was executed (main thread). */
void ccp__worker_command(ccp__worker_t *w, int cmd, ccp__part_t *part, int32_t partition);
/* Logs the error a consumed message carries (none for PARTITION_EOF); any thread. */
void ccp__log_consume_error(const rd_kafka_message_t *m);

/* consumer.c */
/* Wakes the publisher if it sleeps at the barrier; a worker calls it right
 * after storing its report or handing its bundle over. */
void ccp__barrier_poke(struct ccp_consumer *c);

#endif
