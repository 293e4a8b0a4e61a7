/*
 * Worker threads of the live pipeline.
 *
 * A worker owns the engines of the partitions the main thread handed it and
 * one librdkafka queue that those partitions' queues forward into. Its loop:
 *   1. a pending command (ADD/DROP of a partition, from a rebalance)?
 *      execute it under the worker mutex and signal the main thread;
 *   2. a new publish epoch? reach the barrier: report its stream time, wait
 *      for the publisher's target time G and its wall target (wall -
 *      live.idle_advance, only while the stream is live); advance the
 *      deadline time of every partition that has read everything there is
 *      and settled to the wall target (never to G: a partition's deadlines
 *      and TTL follow its own events, and the wall clock only while live;
 *      docs/live.md, time rule), then export every engine at G (an
 *      engine unchanged since its last export but for time,
 *      ccp_engine_export_unchanged(), hands that partial again, shared by
 *      reference, with a fresh time header); in a checkpoint cycle save
 *      each engine right after its export, but for one that read no record
 *      and saw only time move since its last save (ccp_engine_saved_unchanged()),
 *      unless the cycle asks for every partition: that one names its last
 *      save instead (docs/checkpoints.md, "Idle partitions"); only engines
 *      not saved yet in the cycle's checkpoint round, and in a spread round
 *      only about a quarter of the worker's state per cycle, the rest
 *      counted in the bundle's ckpt_left ("Spread over cycles"); hand the
 *      bundle over with one atomic exchange; a partition whose engine
 *      evicted tickets at the tickets.max cap, or refused event ids at the
 *      dedup.max cap, since the last cycle gets one WARN line for each here
 *      (once per cycle, never on the per-event path); the
 *      bundle also carries its partitions' backlog (records not read yet),
 *      by which the publisher paces its cycles while catching up;
 *   3. mark its queue near full when it is within a drain of
 *      queued.min.messages (the main thread then wakes librdkafka's fetchers
 *      once it is below: consumer.c, nudge_fetchers); take the messages
 *      waiting in its queue, up to DRAIN_MAX: one
 *      rd_kafka_consume_queue with a timeout, then more with timeout 0
 *      (never consume_batch: see docs/live.md); decode each with the writer
 *      schema or its Confluent schema id (a local file, else the schema
 *      registry: the first record of a new id waits here for its fetch,
 *      bounded by schema.registry.timeout; docs/schemas.md) into a batch of
 *      its partition
 *      (ccp_event_batch_t, strings copied), applied with
 *      ccp_engine_process_batch when the next message belongs to another
 *      partition, before a dead letter of the same drain, and at the end of
 *      the drain; an undecodable message is copied to the dead-letter topic
 *      and counted, in its place in its partition's order, and so is a
 *      decoded event that ccp_event_check() finds invalid (text, range,
 *      ts beyond the wall clock + live.max_future: docs/kpis.md §7), with
 *      ccp_event_explain()'s reason, counted in invalid_events. Offsets advance
 *      per message. A drain ends with every batch applied, so commands and
 *      exports (steps 1 and 2) always see engines that hold every event
 *      consumed. PARTITION_EOF marks the partition as read to its end until
 *      its next record.
 * Every signal is blocked here (the main thread handles SIGINT/SIGTERM).
 *
 * Invariants: only this thread touches its parts' engines between ADD and
 * DROP; a message of a partition it does not own (in the queue from before
 * a revoke) is dropped, as is one below the partition's next offset; the
 * published bundle is never written after the exchange.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ccpulse/clock.h"
#include "ccpulse/log.h"
#include "consumer_int.h"
#include "counters/partial.h" /* ccp_partial_ref */

/* @locality worker thread (engine alert callback of partition p): copy it
 * for the next bundle, with its partition when checkpoints are on (its id
 * is then kept per partition until a checkpoint rules it out of any
 * restore: docs/redis.md, "Alerts once"). With c->alert_cap, once the
 * bundle holds that many the new alert takes the oldest one's place: the
 * publish function's queue keeps only the newest alert_cap of a cycle, so
 * the oldest could not outlive this cycle's newer ones anyway; it is
 * freed here, on the thread that allocated it, and counted (a catch-up
 * fires hundreds of thousands: docs/live.md, "Catching up"). */
static void on_alert(void *opaque, const ccp_alert_t *a) {
  const ccp__part_t *p = opaque;
  ccp__worker_t *w = p->owner;
  int32_t part = w->c->ckpt_on ? p->partition : -1;
  if (w->c->alert_cap && w->nalerts == w->c->alert_cap) {
    int at = w->alerts_head;
    ccp_publisher_alerts_free(&w->alerts[at], 1);
    ccp_publisher_alert_copy(&w->alerts[at], a);
    w->alert_parts[at] = part;
    w->alerts_head = at + 1 == w->nalerts ? 0 : at + 1;
    w->alerts_dropped++;
    return;
  }
  if (w->nalerts == w->alerts_cap) {
    w->alerts_cap = w->alerts_cap ? 2 * w->alerts_cap : 64;
    w->alerts = ccp_realloc(w->alerts, (size_t)w->alerts_cap * sizeof *w->alerts);
    w->alert_parts = ccp_realloc(w->alert_parts, (size_t)w->alerts_cap * sizeof *w->alert_parts);
  }
  w->alert_parts[w->nalerts] = part;
  ccp_publisher_alert_copy(&w->alerts[w->nalerts++], a);
}

/* @locality worker thread: the ring of on_alert() in firing order (the
 * oldest first), as the bundle hands them over. */
static void alerts_in_order(ccp__worker_t *w) {
  int h = w->alerts_head, n = w->nalerts;
  if (!h)
    return;
  ccp_alert_t *a = ccp_malloc((size_t)n * sizeof *a);
  int32_t *pt = ccp_malloc((size_t)n * sizeof *pt);
  memcpy(a, w->alerts + h, (size_t)(n - h) * sizeof *a);
  memcpy(a + (n - h), w->alerts, (size_t)h * sizeof *a);
  memcpy(pt, w->alert_parts + h, (size_t)(n - h) * sizeof *pt);
  memcpy(pt + (n - h), w->alert_parts, (size_t)h * sizeof *pt);
  ccp_free(w->alerts);
  ccp_free(w->alert_parts);
  w->alerts = a;
  w->alert_parts = pt;
  w->alerts_head = 0;
}

/* @locality main thread. Blocks until the worker executed the command. */
void ccp__worker_command(ccp__worker_t *w, int cmd, ccp__part_t *part, int32_t partition) {
  pthread_mutex_lock(&w->mu);
  w->cmd = cmd;
  w->cmd_part = part;
  w->cmd_partition = partition;
  atomic_store_explicit(&w->has_cmd, 1, memory_order_relaxed);
  rd_kafka_queue_yield(w->q); /* wake it from rd_kafka_consume_queue */
  while (w->cmd != CCP__CMD_NONE)
    pthread_cond_wait(&w->cv, &w->mu);
  pthread_mutex_unlock(&w->mu);
}

static void update_now(ccp__worker_t *w, int64_t t) {
  /* relaxed: a monotonic hint read by the publisher inside the barrier,
   * after the acquire on `reported` that orders it */
  if (t > atomic_load_explicit(&w->now, memory_order_relaxed))
    atomic_store_explicit(&w->now, t, memory_order_relaxed);
}

/* @locality worker thread. */
static void run_command(ccp__worker_t *w) {
  pthread_mutex_lock(&w->mu);
  if (w->cmd == CCP__CMD_ADD) {
    ccp__part_t *p = w->cmd_part;
    if (p->partition >= w->by_id_cap) {
      int cap = CCP_MAX(p->partition + 1, 2 * w->by_id_cap);
      w->by_id = ccp_realloc(w->by_id, (size_t)cap * sizeof *w->by_id);
      memset(w->by_id + w->by_id_cap, 0, (size_t)(cap - w->by_id_cap) * sizeof *w->by_id);
      w->by_id_cap = cap;
    }
    CCP_ASSERT(w->by_id[p->partition] == NULL);
    w->by_id[p->partition] = p;
    w->nparts++;
    p->owner = w;
    ccp_engine_set_alert_cb(p->engine, on_alert, p);
  } else if (w->cmd == CCP__CMD_DROP) {
    int32_t id = w->cmd_partition;
    ccp__part_t *p = id < w->by_id_cap ? w->by_id[id] : NULL;
    if (p) {
      /* Its uncommitted events are read again by the next owner from the
       * committed offset: dropping the state loses nothing. */
      ccp_engine_free(p->engine);
      p->engine = NULL;
      ccp_partial_free(p->last);
      p->last = NULL;
      w->by_id[id] = NULL;
      w->nparts--;
    }
  }
  w->cmd = CCP__CMD_NONE;
  w->cmd_part = NULL;
  atomic_store_explicit(&w->has_cmd, 0, memory_order_relaxed);
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* @locality worker thread: in a checkpoint cycle, the engine's state right
 * after the cycle's export, at the partition's next offset
 * (docs/checkpoints.md). Not for a partition without a fencing epoch (its
 * checkpoint could not be claimed) or without an offset yet. With
 * CCP_CKPT_CHANGED, a partition that read no record and whose engine saw
 * only time move since its last save is not saved again: the export says
 * which save still holds (ckpt_same, ckpt_id), and the publisher keeps that
 * one if it is the one stored ("Idle partitions"). */
static size_t save_checkpoint(ccp__part_t *p, ccp_publisher_export_t *x, int mode) {
  if (p->epoch <= 0 || p->next_offset < 0)
    return 0;
  if (mode == CCP_CKPT_CHANGED && p->ckpt_id && p->ckpt_offset == p->next_offset &&
      ccp_engine_saved_unchanged(p->engine)) {
    x->ckpt_same = 1;
    x->ckpt_id = p->ckpt_id;
    x->alert_floor = ccp_engine_alert_floor(p->engine);
    return 0;
  }
  int64_t t0 = ccp_clock_mono_ms();
  /* room for the size of the last one and some growth at once: the save's
   * own estimate leaves out the windows, and each doubling of a buffer of
   * megabytes copies it again into fresh pages */
  ccp_buf_reserve(&x->ckpt, p->ckpt_len + p->ckpt_len / 8);
  if (ccp_engine_save(p->engine, &x->ckpt) != 0) {
    ccp_log(CCP_LOG_ERROR, "checkpoint",
            "cannot save the state of partition %d; its offsets are not committed this cycle",
            (int)p->partition);
    ccp_buf_release(&x->ckpt);
    return 0;
  }
  x->has_ckpt = 1;
  p->ckpt_len = x->ckpt.len;
  /* unique per partition in this process: a partition assigned again gets
   * a new generation (and a new engine, never saved) */
  p->ckpt_id = p->ckpt_id ? p->ckpt_id + 1 : (uint64_t)p->gen << 32 | 1;
  p->ckpt_offset = p->next_offset;
  x->ckpt_id = p->ckpt_id;
  x->alert_floor = ccp_engine_alert_floor(p->engine);
  ccp_log(CCP_LOG_DEBUG, "checkpoint", "partition %d: %zu bytes at offset %lld saved in %lld ms",
          (int)p->partition, x->ckpt.len, (long long)p->next_offset,
          (long long)(ccp_clock_mono_ms() - t0));
  return x->ckpt.len;
}

/* A spread checkpoint round saves at most about this share of a worker's
 * state per cycle (1/CKPT_SPREAD_CYCLES of its partitions' last checkpoint
 * bytes, at least CKPT_SPREAD_MIN_BYTES), so no one cycle's barrier waits
 * for every save, and no one batch is compressed and written whole
 * (docs/checkpoints.md, "Spread over cycles"). */
#define CKPT_SPREAD_CYCLES 4
#define CKPT_SPREAD_MIN_BYTES ((size_t)4 << 20)

/* @locality worker thread: the bytes a spread round saves per cycle (see above). */
static size_t spread_budget(const ccp__worker_t *w) {
  size_t all = 0;
  for (int i = 0; i < w->by_id_cap; i++)
    if (w->by_id[i])
      all += w->by_id[i]->ckpt_len;
  return CCP_MAX(all / CKPT_SPREAD_CYCLES, CKPT_SPREAD_MIN_BYTES);
}

/* @locality worker thread, in a checkpoint cycle of round `round`: saves p
 * (or names its kept save) unless it was saved in that round already or
 * the cycle's budget is spent: the first partition saved in a cycle always
 * is, a later one only when its last checkpoint's size still fits. Returns
 * whether p is left for a later cycle of the round. */
static int round_save(ccp__part_t *p, ccp_publisher_export_t *x, int mode, uint64_t round,
                      size_t budget, size_t *spent) {
  if (p->ckpt_round == round)
    return 0;
  if (*spent > 0 && *spent + p->ckpt_len > budget)
    return 1;
  *spent += save_checkpoint(p, x, mode);
  p->ckpt_round = round;
  return 0;
}

/* @locality worker thread. Whether p has read everything there is (its
 * deadline time may then follow the wall clock while the stream is live;
 * docs/live.md, time rule): its position (the
 * next offset to process, or the end librdkafka reported when that is
 * further) has reached the high watermark of its latest fetch. The
 * watermark moves with every fetch before its records are queued, so an
 * end reported earlier no longer counts once a fetch brought records that
 * are not processed yet (they may wait in the queue behind another
 * partition's while G moves with that one). Only a fetch of this
 * assignment counts: librdkafka keeps the watermarks of a partition this
 * process owned before, and those are below what a partition resumed from
 * a newer checkpoint still has to read. It must also have settled: no
 * record came in the last publish cycle (or this is the final cycle). */
static int read_to_end(ccp__worker_t *w, const ccp__part_t *p) {
  /* settled: no record since the last barrier, or the final cycle (workers
   * paused: this instance reads nothing more). A partition that reached
   * its end while a producer is still writing it must not follow the wall
   * clock yet: the replies of its tickets may be on their way. */
  if (p->fresh && !atomic_load_explicit(&w->c->paused, memory_order_relaxed))
    return 0;
  if (!p->fetched)
    return 0;
  int64_t pos = p->at_end ? CCP_MAX(p->next_offset, p->end_offset) : p->next_offset;
  int64_t lo, hi;
  if (rd_kafka_get_watermark_offsets(w->c->rk, w->c->topic, p->partition, &lo, &hi) != 0 || hi < 0)
    return p->at_end; /* no watermark known: the reported end */
  return pos >= 0 && pos >= hi;
}

/* @locality worker thread: records of p not read yet (the high watermark of
 * its latest fetch - its next offset; 0 while either is unknown): the
 * publisher paces its cycles by the sum while catching up (docs/live.md,
 * "Catching up"). A hint: the watermark may be one fetch old. */
static int64_t backlog_of(ccp__worker_t *w, const ccp__part_t *p) {
  int64_t lo, hi;
  if (!p->fetched || p->next_offset < 0 ||
      rd_kafka_get_watermark_offsets(w->c->rk, w->c->topic, p->partition, &lo, &hi) != 0)
    return 0;
  return hi > p->next_offset ? hi - p->next_offset : 0;
}

/* What a count gained since *told, the part already logged (then *told
 * takes it), or 0: the per-cycle warnings of the caps. */
static int64_t since_told(int64_t count, int64_t *told) {
  int64_t d = count - *told;
  if (d <= 0)
    return 0;
  *told = count;
  return d;
}

/* @locality worker thread: the publish barrier of epoch e. */
static void export_epoch(ccp__worker_t *w, uint64_t e) {
  struct ccp_consumer *c = w->c;
  int64_t mine = INT64_MIN;
  for (int i = 0; i < w->by_id_cap; i++)
    if (w->by_id[i])
      mine = CCP_MAX(mine, ccp_engine_now(w->by_id[i]->engine));
  atomic_store_explicit(&w->now, mine, memory_order_relaxed);
  /* release: the publisher's acquire on `reported` sees `now` above */
  atomic_store_explicit(&w->reported, e, memory_order_release);
  ccp__barrier_poke(c);
  /* The publisher sets the target as soon as every worker reported: a wait
   * of microseconds, during which this worker processes nothing so that
   * every partial of the cycle is exported at the same stream time. */
  while (atomic_load_explicit(&c->target_epoch, memory_order_acquire) < e) {
    if (atomic_load_explicit(&c->workers_stop, memory_order_relaxed))
      return;
    if (atomic_load_explicit(&w->has_cmd, memory_order_relaxed))
      run_command(w); /* the main thread may be waiting for us */
    ccp_clock_sleep_us(20);
  }
  int64_t target = atomic_load_explicit(&c->target_now, memory_order_relaxed);
  int64_t live = atomic_load_explicit(&c->target_live, memory_order_relaxed);
  /* relaxed: written before the release store of target_epoch acquired above */
  int ckpt = atomic_load_explicit(&c->target_ckpt, memory_order_relaxed);
  uint64_t round = atomic_load_explicit(&c->target_ckpt_round, memory_order_relaxed);
  size_t budget = atomic_load_explicit(&c->target_ckpt_spread, memory_order_relaxed)
                      ? spread_budget(w)
                      : SIZE_MAX;
  size_t spent = 0;
  ccp_publisher_bundle_t *b = ccp_calloc(1, sizeof *b);
  b->epoch = e;
  b->items = ccp_calloc((size_t)(w->nparts ? w->nparts : 1), sizeof *b->items);
  int64_t open = 0;
  for (int i = 0; i < w->by_id_cap; i++) {
    ccp__part_t *p = w->by_id[i];
    if (!p)
      continue;
    open += ccp_engine_open_count(p->engine);
    ccp_publisher_export_t *x = &b->items[b->n++];
    x->partition = p->partition;
    x->gen = p->gen;
    x->next_offset = p->next_offset;
    /* time rule: deadlines and TTL on the partition's own events, and on
     * the wall clock only while the stream is live and the partition has
     * read everything and settled; never on G (another partition's events) */
    if (live != INT64_MIN && read_to_end(w, p))
      ccp_engine_advance(p->engine, live);
    p->fresh = 0;
    if (p->last && ccp_engine_export_unchanged(p->engine, target)) {
      /* nothing but time moved: the last partial again, with this cycle's time */
      x->partial = ccp_partial_ref(p->last);
      x->header = ccp_engine_export_header(p->engine);
    } else {
      x->partial = ccp_engine_export_next(p->engine, target, p->last);
      ccp_partial_free(p->last);
      p->last = ccp_partial_ref(x->partial);
    }
    x->epoch = p->epoch;
    b->backlog += backlog_of(w, p);
    if (ckpt)
      b->ckpt_left += round_save(p, x, ckpt, round, budget, &spent);
    int64_t evicted = ccp_engine_evicted(p->engine), d;
    if ((d = since_told(evicted, &p->evicted)))
      ccp_log(CCP_LOG_WARN, "worker",
              "ticket cap tickets.max=%lld reached on partition %d: evicted %lld least recently "
              "active ticket(s) since the last cycle, %lld in all",
              (long long)c->cfg->max_tickets, (int)p->partition, (long long)d, (long long)evicted);
    int64_t refused = ccp_engine_dedup_refused(p->engine);
    if ((d = since_told(refused, &p->dedup_refused)))
      ccp_log(CCP_LOG_WARN, "worker",
              "duplicate filter full (dedup.max=%lld) on partition %d: %lld new event id(s) not "
              "remembered since the last cycle, %lld in all (their duplicates are not caught)",
              (long long)c->cfg->max_dedup, (int)p->partition, (long long)d, (long long)refused);
  }
  atomic_store_explicit(&w->open, open, memory_order_relaxed); /* a gauge for scrapes */
  if (target != INT64_MIN)
    atomic_store_explicit(&w->now, CCP_MAX(mine, target), memory_order_relaxed);
  alerts_in_order(w);
  b->alerts = w->alerts;
  b->alert_partitions = w->alert_parts;
  b->nalerts = w->nalerts;
  b->alerts_dropped = w->alerts_dropped;
  w->alerts = NULL;
  w->alert_parts = NULL;
  w->nalerts = w->alerts_cap = 0;
  w->alerts_dropped = 0;
  /* acq_rel: release publishes the bundle's contents; acquire because an
   * old bundle the publisher did not take is freed here */
  ccp_publisher_bundle_t *old = atomic_exchange_explicit(&w->out, b, memory_order_acq_rel);
  CCP_ASSERT(old == NULL); /* the publisher takes each bundle before the next epoch */
  ccp__barrier_poke(c);
}

void ccp__log_consume_error(const rd_kafka_message_t *m) {
  if (!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
    return;
  if (m->rkt)
    ccp_log(CCP_LOG_WARN, "consumer", "cannot consume '%s' [%d]: %s", rd_kafka_topic_name(m->rkt),
            (int)m->partition, rd_kafka_message_errstr(m));
  else
    ccp_log(CCP_LOG_WARN, "consumer", "cannot consume: %s", rd_kafka_message_errstr(m));
}

/* @locality worker thread: copies an undecodable record to the DLQ. */
static void dead_letter(ccp__worker_t *w, const rd_kafka_message_t *m, const char *reason) {
  struct ccp_consumer *c = w->c;
  char part[16], off[24];
  snprintf(part, sizeof part, "%d", (int)m->partition);
  snprintf(off, sizeof off, "%lld", (long long)m->offset);
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        c->dlq, RD_KAFKA_V_TOPIC(c->dlq_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
        RD_KAFKA_V_HEADER("ccpulse.reason", reason, -1),
        RD_KAFKA_V_HEADER("ccpulse.topic", c->topic, -1),
        RD_KAFKA_V_HEADER("ccpulse.partition", part, -1),
        RD_KAFKA_V_HEADER("ccpulse.offset", off, -1), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      /* serve delivery reports here (rd_kafka_poll is thread-safe): waiting
       * for the publisher would deadlock at its barrier */
      rd_kafka_poll(c->dlq, 10);
      continue;
    }
    if (e)
      ccp_log(CCP_LOG_ERROR, "dlq", "cannot produce to dead-letter topic '%s': %s", c->dlq_topic,
              rd_kafka_err2str(e));
    break;
  }
  atomic_fetch_add_explicit(&w->dead, 1, memory_order_relaxed);
}

static const ccp_avro_decoder_t *find_reg(struct ccp_consumer *c, uint32_t id) {
  int lo = 0, hi = c->nreg;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (c->reg[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < c->nreg && c->reg[lo].id == id ? c->reg[lo].d : NULL;
}

/* @locality worker thread: the writer schema of Confluent id `id`. A local
 * schema.registry.<ID> file wins; then the schemas this worker already got
 * from the registry (no lock); then the registry (src/decode/registry.c:
 * cached for the process, fetched on first sight, failures retried after
 * schema.registry.retry). NULL with the reason in errbuf. */
static const ccp_avro_decoder_t *writer_of(ccp__worker_t *w, uint32_t id, char *errbuf,
                                           size_t errlen) {
  struct ccp_consumer *c = w->c;
  const ccp_avro_decoder_t *d = find_reg(c, id);
  if (d)
    return d;
  if (!c->registry) {
    snprintf(errbuf, errlen, "unknown Confluent schema id %u", id);
    return NULL;
  }
  int lo = 0, hi = w->nschemas;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (w->schemas[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < w->nschemas && w->schemas[lo].id == id)
    return w->schemas[lo].d;
  if (!(d = ccp_registry_get(c->registry, id, errbuf, errlen)))
    return NULL;
  if (w->nschemas == w->schemas_cap) {
    w->schemas_cap = w->schemas_cap ? 2 * w->schemas_cap : 8;
    w->schemas = ccp_realloc(w->schemas, (size_t)w->schemas_cap * sizeof *w->schemas);
  }
  memmove(&w->schemas[lo + 1], &w->schemas[lo], (size_t)(w->nschemas - lo) * sizeof *w->schemas);
  w->schemas[lo].id = id;
  w->schemas[lo].d = d;
  w->nschemas++;
  return d;
}

/* Messages one drain takes at most: one engine batch. */
#define DRAIN_MAX CCP_ENGINE_BATCH

/* Decoded events of one partition, not yet applied (worker thread only). */
typedef struct pending {
  ccp_event_batch_t b;
  ccp__part_t *part; /**< whose events b holds; NULL while empty */
  int64_t max_ts;    /**< latest valid ts of this drain: wall clock + live.max_future */
} pending_t;

/* The latest ts a drain accepts (docs/kpis.md §7): the wall clock (the
 * consumer's injectable one) plus live.max_future, within the fixed range. */
static int64_t wall_limit(const struct ccp_consumer *c) {
  int64_t wall = c->opts.clock_ms ? c->opts.clock_ms() : ccp_clock_wall_ms();
  if (wall >= CCP_EVENT_TS_MAX - c->cfg->max_future_ms)
    return CCP_EVENT_TS_MAX;
  return wall + c->cfg->max_future_ms;
}

/* @locality worker thread: counts the dropped events of a batch (relaxed:
 * independent counters read by scrapes). */
static void count_verdicts(ccp__worker_t *w, const ccp_verdict_t *v, size_t n) {
  int64_t late = 0, dup = 0, inv = 0;
  for (size_t i = 0; i < n; i++) {
    late += v[i] == CCP_LATE;
    dup += v[i] == CCP_DUPLICATE;
    inv += v[i] == CCP_INVALID;
  }
  if (late)
    atomic_fetch_add_explicit(&w->late, late, memory_order_relaxed);
  if (dup)
    atomic_fetch_add_explicit(&w->duplicate, dup, memory_order_relaxed);
  if (inv)
    atomic_fetch_add_explicit(&w->invalid, inv, memory_order_relaxed);
}

/* @locality worker thread: applies the pending events to their engine. */
static void flush(ccp__worker_t *w, pending_t *pd) {
  if (!pd->b.n)
    return;
  ccp_verdict_t v[CCP_ENGINE_BATCH];
  size_t n = pd->b.n;
  ccp_engine_process_batch(pd->part->engine, pd->b.ev, n, v);
  count_verdicts(w, v, n);
  ccp_event_batch_clear(&pd->b);
  update_now(w, ccp_engine_now(pd->part->engine));
  pd->part = NULL;
}

/* @locality worker thread: one decoded event of partition p, in order. */
static void enqueue(ccp__worker_t *w, pending_t *pd, ccp__part_t *p, const ccp_event_t *ev) {
  if (pd->part != p)
    flush(w, pd);
  pd->part = p;
  if (ccp_event_batch_add(&pd->b, ev) == 0)
    return;
  flush(w, pd);
  pd->part = p;
  if (ccp_event_batch_add(&pd->b, ev) != 0) { /* strings larger than a batch */
    ccp_verdict_t v = ccp_engine_process(p->engine, ev);
    count_verdicts(w, &v, 1);
    update_now(w, ccp_engine_now(p->engine));
    pd->part = NULL;
  }
}

/* @locality worker thread: one record, or the end of a partition. */
static void handle(ccp__worker_t *w, pending_t *pd, rd_kafka_message_t *m) {
  struct ccp_consumer *c = w->c;
  ccp__part_t *p = m->partition >= 0 && m->partition < w->by_id_cap ? w->by_id[m->partition] : NULL;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    /* after every record before it (one queue per partition, in order): the
     * partition has read everything there is, up to a record that reaches it */
    if (p && (p->next_offset < 0 || m->offset >= p->next_offset)) {
      p->at_end = p->fetched = 1;
      p->end_offset = m->offset;
    }
    return;
  }
  if (m->err) {
    ccp__log_consume_error(m);
    return;
  }
  if (!p || m->offset < p->next_offset)
    return; /* from before a revoke, or delivered again */
  p->at_end = 0;
  p->fresh = 1;
  p->fetched = 1;
  atomic_fetch_add_explicit(&w->messages, 1, memory_order_relaxed);
  char reason[CCP_ERRBUF_SIZE];
  ccp_event_t ev;
  int rc;
  const uint8_t *data = m->payload;
  size_t len = m->len;
  if (!data) {
    snprintf(reason, sizeof reason, "empty record (null value)");
    rc = -CCP_EPARSE;
  } else if ((c->nreg || c->registry) && len > 0 && data[0] == 0) {
    uint32_t id;
    const uint8_t *payload;
    size_t plen;
    const ccp_avro_decoder_t *d = NULL;
    if ((rc = ccp_confluent_unframe(data, len, &id, &payload, &plen)) != 0)
      snprintf(reason, sizeof reason, "truncated Confluent header (%zu bytes)", len);
    else if (!(d = writer_of(w, id, reason, sizeof reason)))
      rc = -CCP_ESCHEMA;
    else
      rc = ccp_avro_decode(d, payload, plen, &ev, reason, sizeof reason);
  } else {
    rc = ccp_avro_decode(c->writer, data, len, &ev, reason, sizeof reason);
  }
  p->next_offset = m->offset + 1;
  if (rc == 0 && ccp_event_check(&ev, pd->max_ts) != CCP_EVF_NONE) {
    /* decoded but invalid (docs/kpis.md §7): counted as the engine counts
     * one, and dead-lettered with the reason so that nothing is lost */
    ccp_event_explain(&ev, pd->max_ts, reason, sizeof reason);
    flush(w, pd); /* the events before it first */
    dead_letter(w, m, reason);
    ccp_engine_count_invalid(p->engine);
    atomic_fetch_add_explicit(&w->invalid, 1,
                              memory_order_relaxed); /* ccpulse_events_dropped_total */
    update_now(w, ccp_engine_now(p->engine));
  } else if (rc == 0) {
    enqueue(w, pd, p, &ev);
  } else {
    flush(w, pd); /* the events before it first */
    dead_letter(w, m, reason);
    ccp_engine_count_undecodable(p->engine);
    update_now(w, ccp_engine_now(p->engine));
  }
}

void *ccp__worker_main(void *arg) {
  ccp__worker_t *w = arg;
  struct ccp_consumer *c = w->c;
  pending_t *pd = ccp_calloc(1, sizeof *pd); /* ~24 KB: not on the stack */
  char name[16]; /* per-thread CPU in top -H, perf and /proc/PID/task/T/comm */
  snprintf(name, sizeof name, "ccp-worker%d", w->idx);
  pthread_setname_np(pthread_self(), name);
  while (!atomic_load_explicit(&c->workers_stop, memory_order_acquire)) {
    if (atomic_load_explicit(&w->has_cmd, memory_order_relaxed))
      run_command(w);
    /* acquire: pairs with the publisher's release increment */
    uint64_t e = atomic_load_explicit(&c->epoch, memory_order_acquire);
    if (e != w->seen_epoch) {
      w->seen_epoch = e;
      export_epoch(w, e);
      continue;
    }
    if (atomic_load_explicit(&c->paused, memory_order_relaxed)) {
      ccp_clock_sleep_us(1000);
      continue;
    }
    /* near queued.min.messages (within a drain, at most half of it): librdkafka may have
     * stopped fetching for this queue; relaxed: a hint for the main thread's next look
     * (consumer.c, nudge_fetchers) */
    if (c->queued_min > 0 && !atomic_load_explicit(&w->near_full, memory_order_relaxed) &&
        (int64_t)rd_kafka_queue_length(w->q) >=
            c->queued_min - CCP_MIN(DRAIN_MAX, c->queued_min / 2))
      atomic_store_explicit(&w->near_full, 1, memory_order_relaxed);
    rd_kafka_message_t *m = rd_kafka_consume_queue(w->q, 100);
    pd->max_ts = wall_limit(c); /* once per drain: it moves little in one */
    int taken = 0;
    while (m) { /* drain what is waiting, without blocking */
      handle(w, pd, m);
      rd_kafka_message_destroy(m);
      m = ++taken < DRAIN_MAX ? rd_kafka_consume_queue(w->q, 0) : NULL;
    }
    flush(w, pd);
  }
  ccp_free(pd);
  return NULL;
}
