/*
 * The live pipeline: Kafka consumer group member, rebalances, and the
 * consumer's side of the publish cycle.
 *
 * Threads (docs/live.md has the full story):
 *  - main thread (ccp_consumer_run): owns the librdkafka consumer; polls it,
 *    which serves rebalances (cooperative-sticky: incremental assign and
 *    unassign); on assign creates one engine per partition, hands it to the
 *    least loaded worker, then forwards the partition's queue to that
 *    worker's queue; on revoke stops the forwarding first, then has the
 *    worker drop the engine (its uncommitted events are read again by the
 *    next owner). Between polls it wakes librdkafka's fetchers of a worker
 *    whose queue was full (nudge_fetchers). It also waits for
 *    ccp_consumer_stop() (signals).
 *  - W workers (worker.c): decode, engines, dead-letter topic.
 *  - publisher (src/publish/publisher.c: cadence, time rule, merge,
 *    publish) calls back into this file through a ccp_publisher_source_t:
 *    pub_report and pub_collect run the barrier (workers report their
 *    stream time; the publisher sets the global `now`; workers export every
 *    engine at it and hand the bundles over with an atomic exchange);
 *    pub_consumed counts the records read (the publisher paces its cycles
 *    by it while catching up);
 *    pub_commit, called only when the publish succeeded, flushes the
 *    dead-letter producer and commits the next offsets the bundles cover
 *    (synchronous rd_kafka_commit: thread-safe) for the partitions still
 *    assigned in the same generation; pub_end serves the dead-letter
 *    producer's delivery reports. A failed publish commits nothing and is
 *    retried at the next interval with fresh exports.
 *
 * Checkpoints (checkpoint.interval > 0 and a publish_ckpt function;
 * docs/checkpoints.md): on assignment the main thread takes each
 * partition's fencing epoch and reads its checkpoint from Redis on a
 * connection of its own (ccp_ckpt_reader_*: hiredis is not thread-safe and
 * the publisher's connection belongs to the publisher thread), loads the
 * engine from it and assigns the partition at the checkpoint's offset;
 * pub_checkpoint tells the workers that a cycle is a checkpoint cycle;
 * pub_commit then commits only the offsets of checkpoints that were stored
 * (a partition whose epoch could not be taken runs without checkpoints and
 * is committed as without them). With the cooperative protocol a partition
 * whose checkpoint cannot be read because Redis is unreachable is not
 * started empty: it waits outside librdkafka's assignment and the poll loop
 * retries it (waiting_*), then assigns it at the checkpoint's offset.
 */
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ccpulse/clock.h"
#include "ccpulse/file.h"
#include "ccpulse/log.h"
#include "ccpulse/tz.h"
#include "consumer_int.h"
#include "publish/publisher.h"

/* Connection state of the process's Kafka clients: monotonic ms since when
 * every broker is unreachable (librdkafka's ALL_BROKERS_DOWN), 0 while
 * reachable. Set by the error callback of any handle (the consumer or a
 * producer), cleared by the consumer's probe (probe_brokers). Process-wide
 * because the callbacks are shared by every handle and one outage is one
 * outage; seq_cst: rare. */
static _Atomic int64_t kafka_down_since;

/* The first authentication failure librdkafka reported (SASL: a wrong
 * password, an unknown user), and its text (written once, before the flag is
 * set). A TLS handshake failure is not taken as one: it also happens while a
 * broker restarts. */
static atomic_int kafka_auth_failed;
static char kafka_auth_reason[512];
static atomic_int kafka_auth_claim;

/* librdkafka's per-attempt connection failures: its "FAIL" log lines and
 * the transport/resolve errors of the error callback. */
static int is_connect_noise(const char *fac, int err) {
  return (fac && strcmp(fac, "FAIL") == 0) || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
         err == RD_KAFKA_RESP_ERR__RESOLVE;
}

/* @locality any librdkafka thread (or the caller of rd_kafka_new). Syslog
 * levels: 0-3 (emerg..err) -> ERROR, 4 warning -> WARN, 5-6 notice and info
 * -> INFO, 7 debug -> DEBUG. The level is checked before formatting. A
 * broker's repeated connection failures while every broker is down are
 * debug lines: the loss was said once (on_kafka_error), the recovery will
 * be (probe_brokers). */
static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  ccp_log_level_t lv = level <= 3   ? CCP_LOG_ERROR
                       : level == 4 ? CCP_LOG_WARN
                       : level <= 6 ? CCP_LOG_INFO
                                    : CCP_LOG_DEBUG;
  if (is_connect_noise(fac, 0))
    lv = atomic_load(&kafka_down_since) ? CCP_LOG_DEBUG : CCP_LOG_WARN;
  ccp_log(lv, "kafka", "%s [%s]: %s", fac, rk ? rd_kafka_name(rk) : "-", buf);
}

/* @locality the thread serving the handle's queue (poll). librdkafka recovers
 * from every error but a fatal one by itself: those are warnings. Every
 * broker down is logged once per outage (a state line); single connection
 * failures are rate-limited warnings, debug lines during an outage. */
static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)opaque;
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    int64_t zero = 0, now = ccp_clock_mono_ms();
    if (atomic_compare_exchange_strong(&kafka_down_since, &zero, now ? now : 1))
      ccp_log_state(CCP_LOG_WARN, "kafka",
                    "lost the connection to every broker (%s); consuming paused, retrying until "
                    "they are back",
                    reason);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION && atomic_exchange(&kafka_auth_claim, 1) == 0) {
    snprintf(kafka_auth_reason, sizeof kafka_auth_reason, "%s", reason);
    atomic_store(&kafka_auth_failed, 1);
  }
  ccp_log_level_t lv = err == RD_KAFKA_RESP_ERR__FATAL ? CCP_LOG_ERROR : CCP_LOG_WARN;
  if (is_connect_noise(NULL, err) && atomic_load(&kafka_down_since))
    lv = CCP_LOG_DEBUG;
  ccp_log(lv, "kafka", "%s [%s]: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
          rd_kafka_name(rk), reason);
}

/* Fetch nudges (docs/live.md, "Catching up"). librdkafka 2.0.2 stops fetching
 * a partition whose queue holds queued.min.messages (a worker's queue: the
 * partition queues forward into it, and librdkafka counts the queue they
 * forward to) and looks at it again only when its broker thread next wakes
 * up: when a fetch of another partition comes back, or after up to a second
 * (librdkafka #2879; 2.2.0 added fetch.queue.backoff.ms for it). While
 * catching up every queue of a broker fills, nothing is in flight, and a
 * worker that reads its queue empty in 200 ms then waits the rest of the
 * second: half the wall clock of a 3M-event catch-up. So when a worker saw
 * its queue near queued.min.messages and it is below it again, the main
 * thread asks the leaders of that worker's partitions for their end offsets
 * (rd_kafka_offsets_for_times, the answer is not used): the request is
 * handed to each leader's broker thread, which wakes up, finds the
 * partitions fetchable again and fetches them. At most one nudge per worker
 * every NUDGE_MS; none while the queues stay short (live, caught up). */
#define NUDGE_MS 20
/* How long a nudge waits for the end offsets (the main thread's poll loop). */
#define NUDGE_TIMEOUT_MS 200

/* @locality main thread (poll loop). Returns whether a worker's queue is
 * near full (the loop then looks again within NUDGE_MS). */
static int nudge_fetchers(ccp_consumer_t *c) {
  int near = 0;
  rd_kafka_topic_partition_list_t *l = NULL;
  for (int i = 0; i < c->nworkers; i++) {
    ccp__worker_t *w = &c->workers[i];
    if (!atomic_load_explicit(&w->near_full, memory_order_relaxed))
      continue;
    if ((int64_t)rd_kafka_queue_length(w->q) >= c->queued_min) {
      near = 1; /* still full: librdkafka does not fetch it yet anyway */
      continue;
    }
    atomic_store_explicit(&w->near_full, 0, memory_order_relaxed);
    for (int p = 0; p < c->parts_cap; p++)
      if (c->parts[p] && c->parts[p]->worker == i) {
        if (!l)
          l = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_add(l, c->topic, p)->offset = RD_KAFKA_OFFSET_END;
      }
  }
  if (l) {
    rd_kafka_offsets_for_times(c->rk, l, NUDGE_TIMEOUT_MS); /* only its request matters */
    rd_kafka_topic_partition_list_destroy(l);
    atomic_fetch_add_explicit(&c->nudges, 1, memory_order_relaxed);
    c->nudged_ms = ccp_clock_mono_ms();
  }
  return near;
}

/* @locality main thread (its poll loop), while every broker is down: asks
 * for the cluster's brokers (a short metadata request); an answer means a
 * broker is reachable again, which is logged once with the outage's
 * length. At most one probe a second, 200 ms each. */
static void probe_brokers(ccp_consumer_t *c) {
  int64_t since = atomic_load(&kafka_down_since), now = ccp_clock_mono_ms();
  if (!since || now < c->next_probe_ms)
    return;
  c->next_probe_ms = now + 1000;
  const struct rd_kafka_metadata *md = NULL;
  if (rd_kafka_metadata(c->rk, 0, NULL, &md, 200) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  int nb = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  if (nb > 0 && atomic_compare_exchange_strong(&kafka_down_since, &since, 0))
    ccp_log_state(CCP_LOG_INFO, "kafka", "brokers reachable again after %.1f s (%d known)",
                  (double)(ccp_clock_mono_ms() - since) / 1000.0, nb);
}

/* @locality main thread (librdkafka serves statistics on the consumer's
 * queue, polled there): keeps the lag of the partitions assigned here and
 * every real broker's state for scrapes (ccp_consumer_kafka_stats). The
 * JSON is librdkafka's STATISTICS.md; a part missing is skipped. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  ccp_consumer_t *c = opaque;
  json_error_t je;
  json_t *root = json_loadb(json, len, 0, &je);
  if (!root)
    return 0;
  pthread_mutex_lock(&c->stats_mu);
  c->nlag = c->nbrokers = 0;
  const char *key;
  json_t *b;
  json_object_foreach(json_object_get(root, "brokers"), key, b) {
    const char *src = json_string_value(json_object_get(b, "source"));
    const char *st = json_string_value(json_object_get(b, "state"));
    if (!st || (src && (strcmp(src, "internal") == 0 || strcmp(src, "logical") == 0)))
      continue;
    if (c->nbrokers == c->brokers_cap) {
      c->brokers_cap = c->brokers_cap ? 2 * c->brokers_cap : 4;
      c->brokers = ccp_realloc(c->brokers, (size_t)c->brokers_cap * sizeof *c->brokers);
    }
    ccp_kafka_broker_t *kb = &c->brokers[c->nbrokers++];
    snprintf(kb->name, sizeof kb->name, "%s", key);
    snprintf(kb->state, sizeof kb->state, "%s", st);
  }
  json_t *parts =
      json_object_get(json_object_get(json_object_get(root, "topics"), c->topic), "partitions");
  json_t *tp;
  json_object_foreach(parts, key, tp) {
    json_int_t id = json_integer_value(json_object_get(tp, "partition"));
    json_int_t lag = json_integer_value(json_object_get(tp, "consumer_lag"));
    if (id < 0 || id >= c->parts_cap || !c->parts[id] ||
        !json_is_integer(json_object_get(tp, "consumer_lag")) || lag < 0)
      continue; /* not ours, or nothing committed yet */
    if (c->nlag == c->lag_cap) {
      c->lag_cap = c->lag_cap ? 2 * c->lag_cap : 8;
      c->lag = ccp_realloc(c->lag, (size_t)c->lag_cap * sizeof *c->lag);
    }
    c->lag[c->nlag].partition = (int32_t)id;
    c->lag[c->nlag++].lag = lag;
  }
  c->stats_ms = ccp_clock_mono_ms();
  pthread_mutex_unlock(&c->stats_mu);
  json_decref(root);
  return 0; /* librdkafka frees json */
}

void ccp_kafka_conf_set_logger(rd_kafka_conf_t *conf) {
  rd_kafka_conf_set_log_cb(conf, on_kafka_log);
  rd_kafka_conf_set_error_cb(conf, on_kafka_error);
}

/* @locality any thread. */
rd_kafka_conf_t *ccp_kafka_conf_new(const ccp_config_t *cfg, const char *brokers, char *errbuf,
                                    size_t errlen) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[512];
  ccp_kafka_conf_set_logger(conf);
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers ? brokers : cfg->kafka_brokers, err,
                        sizeof err) != RD_KAFKA_CONF_OK) {
    snprintf(errbuf, errlen, "config key 'kafka.brokers': %s", err);
    goto fail;
  }
  for (int i = 0; i < cfg->nkafka_props; i++) {
    const ccp_kv_t *kv = &cfg->kafka_props[i];
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, kv->key, kv->value, err, sizeof err);
    if (r != RD_KAFKA_CONF_OK) {
      /* CCPULSE_KAFKA_LOG_LEVEL means log.level: say how to write log_level */
      int env = kv->origin && strncmp(kv->origin, "environment ", 12) == 0;
      snprintf(errbuf, errlen, "%s%sconfig key 'kafka.%s': %s%s", kv->origin ? kv->origin : "",
               kv->origin ? ": " : "", kv->key, err,
               env && r == RD_KAFKA_CONF_UNKNOWN ? " (in CCPULSE_KAFKA_<PROPERTY>, '_' stands for "
                                                   "'.' and '__' for '_')"
                                                 : "");
      char key[512];
      snprintf(key, sizeof key, "kafka.%s", kv->key);
      if (ccp_config_is_secret_key(key)) /* librdkafka may quote the value: docs/kpis.md §7 */
        ccp_config_mask_value(errbuf, errlen, kv->value);
      goto fail;
    }
  }
  return conf;
fail:
  rd_kafka_conf_destroy(conf);
  return NULL;
}

static ccp_avro_decoder_t *decoder_from(const char *path, char *errbuf, size_t errlen) {
  char err[CCP_ERRBUF_SIZE / 2]; /* room for the prefix in errbuf */
  if (!path || !*path)
    return ccp_avro_decoder_new(ccp_avro_schema_v1, strlen(ccp_avro_schema_v1), errbuf, errlen);
  size_t len;
  char *text = ccp_file_read(path, &len, err, sizeof err);
  if (!text) {
    snprintf(errbuf, errlen, "writer schema: %s", err);
    return NULL;
  }
  ccp_avro_decoder_t *d = ccp_avro_decoder_new(text, len, err, sizeof err);
  if (!d)
    snprintf(errbuf, errlen, "writer schema '%s': %s", path, err);
  ccp_free(text);
  return d;
}

/* The consumer properties ccpulse sets itself, and why. */
static const struct {
  const char *name, *value, *why;
} forced_props[] = {
    {"enable.auto.commit", "false", "ccpulse commits offsets itself after each publish"},
    {"enable.auto.offset.store", "false", "ccpulse commits offsets itself after each publish"},
    {"enable.partition.eof", "true", "the live time rule needs each partition's end"},
};

/* 0, or -CCP_EINVAL with errbuf when a kafka.* property contradicts one
 * that ccpulse forces (the same value is fine). */
static int check_forced(const ccp_config_t *cfg, char *errbuf, size_t errlen) {
  for (size_t f = 0; f < CCP_ARRAY_LEN(forced_props); f++)
    for (int i = 0; i < cfg->nkafka_props; i++) {
      const ccp_kv_t *kv = &cfg->kafka_props[i];
      if (strcmp(kv->key, forced_props[f].name) != 0 ||
          strcasecmp(kv->value, forced_props[f].value) == 0)
        continue;
      snprintf(errbuf, errlen,
               "%s%sconfig key 'kafka.%s': %s, so it is always '%s' (docs/live.md); remove the "
               "setting",
               kv->origin ? kv->origin : "", kv->origin ? ": " : "", kv->key, forced_props[f].why,
               forced_props[f].value);
      return -CCP_EINVAL;
    }
  return 0;
}

/* @locality the thread polling the DLQ producer: report a record lost. */
static void on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  if (m->err)
    ccp_log(CCP_LOG_ERROR, "dlq", "cannot deliver a dead-letter record to '%s': %s",
            m->rkt ? rd_kafka_topic_name(m->rkt) : "?", rd_kafka_err2str(m->err));
}

/* ---- rebalances (main thread, inside rd_kafka_consumer_poll) ----------- */

/* @locality main thread (rebalance callback). Takes assign_mu. */
static void set_assigned(ccp_consumer_t *c, int32_t partition, uint32_t gen) {
  pthread_mutex_lock(&c->assign_mu);
  if (partition >= c->assigned_cap) {
    int cap = CCP_MAX(partition + 1, 2 * c->assigned_cap);
    c->assigned_gen = ccp_realloc(c->assigned_gen, (size_t)cap * sizeof *c->assigned_gen);
    memset(c->assigned_gen + c->assigned_cap, 0,
           (size_t)(cap - c->assigned_cap) * sizeof *c->assigned_gen);
    c->assigned_cap = cap;
  }
  c->assigned_gen[partition] = gen;
  pthread_mutex_unlock(&c->assign_mu);
}

/* Shutdown bounds (docs/operations.md, "Stopping": exit within 5 s whatever
 * is down): a member that never got its first assignment waits this long
 * for it before it is destroyed without closing (librdkafka #4312 below);
 * the group close, the dead-letter flushes of the final cycle and of the
 * end each get at most these. The final publish has its own deadline
 * (ccp_consumer_opts_t.final_timeout_ms; `run` gives 3 s). */
#define SHUTDOWN_JOIN_MS 1000
#define SHUTDOWN_CLOSE_MS 800
#define SHUTDOWN_FLUSH_MS 300
#define SHUTDOWN_DESTROY_MS 1500

/* How long a publish cycle waits for the dead letters in flight before it
 * commits; past it the commit waits for a later cycle (pub_commit). */
#define DLQ_CYCLE_FLUSH_MS 100
/* Dead letters undelivered this long are logged as an error (pub_commit). */
#define DLQ_LATE_MS 5000

/* How long a rebalance callback tries to reach Redis to restore
 * checkpoints: with the cooperative protocol a partition that cannot be
 * restored then waits (waiting_*); with an eager assignor it starts with a
 * new engine after the longer wait. */
#define RESTORE_WAIT_MS 1000
#define RESTORE_WAIT_EAGER_MS 10000
/* Retries of waiting partitions: backoff bounds, partitions per attempt. */
#define WAITING_BACKOFF_MIN_MS 100
#define WAITING_BACKOFF_MAX_MS 1000
#define WAITING_BATCH 16

/* @locality main thread (rebalance callback, or waiting_retry): p's
 * engine. With a reader (checkpoints on): takes p's fencing epoch and reads
 * its checkpoint; when one is stored and the engine accepts it, the engine
 * continues from it and *offset is where consumption resumes; otherwise a
 * new engine (at the committed offset). Redis unreachable: NULL when
 * can_wait (the caller keeps the partition waiting; *why says why), else a
 * new engine without checkpoints. One log line says which and why (none
 * for a NULL). */
static ccp_engine_t *restore(ccp_consumer_t *c, ccp_ckpt_reader_t *r, ccp__part_t *p,
                             int64_t *offset, int can_wait, char *whybuf, size_t whylen) {
  char err[CCP_ERRBUF_SIZE], why[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = NULL;
  if (!r)
    goto fresh;
  int64_t t0 = ccp_clock_mono_ms();
  ccp_ckpt_found_t f;
  int rc = ccp_ckpt_reader_claim(r, c->topic, p->partition, &f, why, sizeof why);
  if (rc == -CCP_EIO && can_wait) {
    snprintf(whybuf, whylen, "%s", why);
    ccp_ckpt_found_release(&f);
    return NULL;
  } else if (rc == -CCP_EIO) {
    ccp_log(CCP_LOG_ERROR, "checkpoint",
            "partition %d of '%s': %s; a new engine from the committed offset, without "
            "checkpoints until the partition is assigned again",
            (int)p->partition, c->topic, why);
  } else if (rc != 0) {
    p->epoch = f.epoch;
    ccp_log(CCP_LOG_WARN, "checkpoint",
            "partition %d of '%s': %s; a new engine from the "
            "committed offset",
            (int)p->partition, c->topic, why);
  } else if (!f.present) {
    p->epoch = f.epoch;
    ccp_log(CCP_LOG_INFO, "checkpoint",
            "partition %d of '%s': no checkpoint stored; a new engine from the committed offset "
            "(epoch %lld)",
            (int)p->partition, c->topic, (long long)f.epoch);
  } else if (!(e = ccp_engine_load(c->cfg, f.state.data, f.state.len, err, sizeof err))) {
    p->epoch = f.epoch;
    ccp_log(CCP_LOG_WARN, "checkpoint",
            "partition %d of '%s': checkpoint at offset %lld refused: %s; a new engine from the "
            "committed offset",
            (int)p->partition, c->topic, (long long)f.offset, err);
  } else {
    p->epoch = f.epoch;
    p->next_offset = *offset = f.offset;
    p->evicted = ccp_engine_evicted(e);
    p->dedup_refused = ccp_engine_dedup_refused(e);
    ccp_log_state(
        CCP_LOG_INFO, "checkpoint",
        "partition %d of '%s': restored %zu bytes at offset %lld in %lld ms (saved %lld ms "
        "ago; epoch %lld)",
        (int)p->partition, c->topic, f.state.len, (long long)f.offset,
        (long long)(ccp_clock_mono_ms() - t0), (long long)(ccp_clock_wall_ms() - f.saved_ms),
        (long long)f.epoch);
  }
  ccp_ckpt_found_release(&f);
  if (e)
    goto ready;
fresh:
  if (!(e = ccp_engine_new(c->cfg, err, sizeof err))) /* the config was checked: a bug */
    ccp__fatal(__FILE__, __LINE__, err);
ready:
  ccp_engine_set_prechecked(e); /* the workers validate every event (worker.c handle()) */
  return e;
}

/* @locality main thread (rebalance callback, or waiting_retry): engine,
 * worker, forwarding. tp->offset is set when the partition resumes from a
 * checkpoint. Returns 0, or 1 when its checkpoint could not be read and
 * can_wait: nothing was set up (the caller keeps it waiting; why says why). */
static int add_partition(ccp_consumer_t *c, ccp_ckpt_reader_t *r, rd_kafka_topic_partition_t *tp,
                         int can_wait, char *why, size_t whylen) {
  int32_t partition = tp->partition;
  if (partition < 0)
    return 0;
  if (partition >= c->parts_cap) {
    int cap = CCP_MAX(partition + 1, 2 * c->parts_cap);
    c->parts = ccp_realloc(c->parts, (size_t)cap * sizeof *c->parts);
    memset(c->parts + c->parts_cap, 0, (size_t)(cap - c->parts_cap) * sizeof *c->parts);
    c->parts_cap = cap;
  }
  if (c->parts[partition])
    return 0; /* already ours */
  ccp__part_t *p = ccp_calloc(1, sizeof *p);
  p->partition = partition;
  p->next_offset = -1;
  if (!(p->engine = restore(c, r, p, &tp->offset, can_wait, why, whylen))) {
    ccp_free(p);
    return 1;
  }
  p->gen = ++c->next_gen;
  /* least loaded worker */
  int counts[1024] = {0};
  for (int i = 0; i < c->parts_cap; i++)
    if (c->parts[i])
      counts[c->parts[i]->worker % 1024]++;
  int best = 0;
  for (int i = 1; i < c->nworkers && i < 1024; i++)
    if (counts[i] < counts[best])
      best = i;
  p->worker = best;
  c->parts[partition] = p;
  set_assigned(c, partition, p->gen);
  ccp__worker_command(&c->workers[best], CCP__CMD_ADD, p, partition);
  p->pq = rd_kafka_queue_get_partition(c->rk, c->topic, partition);
  CCP_ASSERT(p->pq != NULL);
  rd_kafka_queue_forward(p->pq, c->workers[best].q);
  atomic_fetch_add(&c->nassigned, 1);
  return 0;
}

/* @locality main thread. closing: the workers are gone (shutdown) and the engines are freed by
 * ccp_consumer_free. */
static void remove_partition(ccp_consumer_t *c, int32_t partition, int closing) {
  if (partition < 0 || partition >= c->parts_cap || !c->parts[partition])
    return;
  ccp__part_t *p = c->parts[partition];
  set_assigned(c, partition, 0);       /* the publisher commits it no more */
  rd_kafka_queue_forward(p->pq, NULL); /* nothing new reaches the worker */
  rd_kafka_queue_destroy(p->pq);
  p->pq = NULL;
  if (closing) {
    ccp_engine_free(p->engine);
    ccp_partial_free(p->last);
  } else {
    ccp__worker_command(&c->workers[p->worker], CCP__CMD_DROP, NULL, partition);
  }
  ccp_free(p);
  c->parts[partition] = NULL;
  atomic_fetch_sub(&c->nassigned, 1);
}

/* @locality main thread (rebalance callback): the topic's partition count
 * from the brokers' metadata, for the publisher (several instances: does
 * this instance own every partition? docs/live.md). Keeps the last known
 * count when the metadata cannot be had within 5 s. */
static void refresh_partitions(ccp_consumer_t *c) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err =
      rkt ? rd_kafka_metadata(c->rk, 0, rkt, &md, 5000) : RD_KAFKA_RESP_ERR__FAIL;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && !md->topics[0].err)
    atomic_store(&c->npartitions, md->topics[0].partition_cnt);
  else
    ccp_log(CCP_LOG_WARN, "consumer",
            "cannot read the metadata of '%s': %s; %d partition(s) assumed", c->topic,
            err ? rd_kafka_err2str(err) : rd_kafka_err2str(md->topics[0].err),
            atomic_load(&c->npartitions));
  if (md)
    rd_kafka_metadata_destroy(md);
  if (rkt)
    rd_kafka_topic_destroy(rkt);
}

/* ---- partitions waiting for their checkpoint (main thread) ------------- */

/* With the cooperative protocol a partition whose checkpoint cannot be read
 * at assignment (Redis unreachable) is not started with an empty engine: it
 * stays out of librdkafka's assignment (the group still counts it as ours,
 * so nobody else reads it, and nothing of it is fetched, consumed or
 * committed) and is retried from the poll loop; once its checkpoint is
 * read it is set up and incrementally assigned at the checkpoint's offset,
 * exactly as at a rebalance. Why not assign it paused and seek later:
 * rd_kafka_seek_partitions() is for partitions already being fetched (a
 * seek racing the assignment's committed-offset lookup can be overridden by
 * it), whereas the offset given to rd_kafka_incremental_assign() is where
 * fetching starts. librdkafka refuses to unassign a partition it does not
 * hold, so revocations leave the waiting ones out. */

/* @locality main thread (rebalance callback): partition waits; why: the claim's error. */
static void waiting_add(ccp_consumer_t *c, int32_t partition, const char *why) {
  int64_t now = ccp_clock_mono_ms();
  if (!c->waiting)
    c->waiting = rd_kafka_topic_partition_list_new(8);
  if (c->waiting->cnt == 0) {
    c->waiting_since_ms = now;
    c->waiting_backoff_ms = WAITING_BACKOFF_MIN_MS;
  }
  rd_kafka_topic_partition_list_add(c->waiting, c->topic, partition);
  c->waiting_next_ms = now + c->waiting_backoff_ms;
  ccp_log(CCP_LOG_WARN, "checkpoint",
          "partition %d of '%s': %s; the partition waits (not consumed) until its checkpoint can "
          "be read",
          (int)partition, c->topic, why);
}

/* @locality main thread (rebalance callback): a copy of parts without the
 * waiting partitions, which leave the waiting list (revoked or lost). */
static rd_kafka_topic_partition_list_t *waiting_drop(ccp_consumer_t *c,
                                                     const rd_kafka_topic_partition_list_t *parts) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(CCP_MAX(parts->cnt, 1));
  for (int i = 0; i < parts->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &parts->elems[i];
    if (c->waiting && strcmp(tp->topic, c->topic) == 0 &&
        rd_kafka_topic_partition_list_del(c->waiting, c->topic, tp->partition)) {
      ccp_log(CCP_LOG_INFO, "checkpoint", "partition %d of '%s' revoked while it waited for redis",
              (int)tp->partition, c->topic);
      continue;
    }
    rd_kafka_topic_partition_list_add(l, tp->topic, tp->partition)->offset = tp->offset;
  }
  return l;
}

/* @locality main thread (poll loop). When their time has come, tries the
 * waiting partitions again: one connection attempt, at most WAITING_BATCH
 * restores per call; the restored ones are assigned at their checkpoint's
 * offset. Backs off from 100 ms to 1 s while Redis stays unreachable. */
static void waiting_retry(ccp_consumer_t *c) {
  if (!c->waiting || c->waiting->cnt == 0 || ccp_clock_mono_ms() < c->waiting_next_ms)
    return;
  char err[CCP_ERRBUF_SIZE], why[CCP_ERRBUF_SIZE];
  /* wait 0: one connection attempt; NULL (a bad url, refused at start-up
   * already) makes add_partition start new engines */
  ccp_ckpt_reader_t *r =
      ccp_ckpt_reader_new(c->cfg->redis_url, c->cfg->redis_prefix, 0, err, sizeof err);
  rd_kafka_topic_partition_list_t *ready = rd_kafka_topic_partition_list_new(WAITING_BATCH);
  int unreachable = 0;
  while (c->waiting->cnt > 0 && ready->cnt < WAITING_BATCH) {
    rd_kafka_topic_partition_t tp = {.topic = c->topic,
                                     .partition = c->waiting->elems[0].partition,
                                     .offset = RD_KAFKA_OFFSET_INVALID};
    if (add_partition(c, r, &tp, 1, why, sizeof why)) {
      unreachable = 1;
      break;
    }
    rd_kafka_topic_partition_list_add(ready, c->topic, tp.partition)->offset = tp.offset;
    rd_kafka_topic_partition_list_del_by_idx(c->waiting, 0);
  }
  ccp_ckpt_reader_free(r);
  int64_t now = ccp_clock_mono_ms();
  if (ready->cnt > 0) {
    rd_kafka_error_t *e = rd_kafka_incremental_assign(c->rk, ready);
    if (e) {
      ccp_log(CCP_LOG_ERROR, "consumer", "cannot assign %d partition(s) of '%s': %s", ready->cnt,
              c->topic, rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    ccp_log_state(CCP_LOG_INFO, "consumer",
                  "assigned %d partition(s) of '%s' after %lld ms waiting for redis; %lld held, %d "
                  "still waiting",
                  ready->cnt, c->topic, (long long)(now - c->waiting_since_ms),
                  (long long)atomic_load(&c->nassigned), c->waiting->cnt);
  }
  rd_kafka_topic_partition_list_destroy(ready);
  if (unreachable) {
    c->waiting_backoff_ms = CCP_MIN(2 * c->waiting_backoff_ms, WAITING_BACKOFF_MAX_MS);
    c->waiting_next_ms = now + c->waiting_backoff_ms;
  } else {
    c->waiting_backoff_ms = WAITING_BACKOFF_MIN_MS;
    c->waiting_next_ms = now; /* the rest of the batch, at the next poll */
  }
}

/* ---- commits during a rebalance (librdkafka 2.0.2, #4059) ------------- */

/* A commit sent while this member's JoinGroup waits at the coordinator is
 * answered after the join, for the old generation: ILLEGAL_GENERATION, on
 * which librdkafka 2.0.2 declares the whole assignment lost, drops it and
 * joins again (librdkafka #4059, fixed upstream by #4908). That join is a new
 * rebalance, during which the next commit does the same: with a commit
 * every cycle two members could pass partitions back and forth for tens of
 * seconds. So commits wait while this member is known to be in a
 * rebalance: from a revocation (a join follows it) or a commit the group
 * refused for its generation, until the next assign callback (the member
 * has its new generation), at most session.timeout.ms. A waiting cycle's
 * offsets are not lost: the next commit takes the offsets of its own cycle
 * (docs/live.md, "Commits during a rebalance"). */

/* Any thread: commits wait for the next assign callback. */
static void hold_commits(ccp_consumer_t *c) {
  atomic_store(&c->hold_since_ms, ccp_clock_mono_ms());
  atomic_store(&c->hold_until_assigns, atomic_load(&c->assigns) + 1);
}

/* @locality publisher thread: whether this cycle's commit waits. */
static int commit_held(ccp_consumer_t *c) {
  if (atomic_load(&c->assigns) >= atomic_load(&c->hold_until_assigns))
    return 0;
  return ccp_clock_mono_ms() - atomic_load(&c->hold_since_ms) < c->hold_max_ms;
}

/* A commit error that says the group moved to another generation or is
 * rebalancing (the member joins again). */
static int commit_err_rebalance(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
         e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
}

/* @locality main thread, inside rd_kafka_consumer_poll / consumer_close. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  ccp_consumer_t *c = opaque;
  int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  int n = 0;
  for (int i = 0; i < parts->cnt; i++)
    n += strcmp(parts->elems[i].topic, c->topic) == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    c->ever_assigned = 1;
    /* this member has its new generation: commits may go on (commit_held) */
    atomic_fetch_add(&c->assigns, 1);
    if (c->opts.fetch && !c->closing)
      refresh_partitions(c);
    char rerr[CCP_ERRBUF_SIZE];
    ccp_ckpt_reader_t *r = NULL; /* one connection for the whole assignment */
    if (c->ckpt_on && n > 0 &&
        !(r = ccp_ckpt_reader_new(c->cfg->redis_url, c->cfg->redis_prefix,
                                  cooperative ? RESTORE_WAIT_MS : RESTORE_WAIT_EAGER_MS, rerr,
                                  sizeof rerr)))
      ccp_log(CCP_LOG_ERROR, "checkpoint", "config key 'redis': %s", rerr);
    /* what librdkafka assigns now: all but the partitions left waiting */
    rd_kafka_topic_partition_list_t *now =
        rd_kafka_topic_partition_list_new(CCP_MAX(parts->cnt, 1));
    for (int i = 0; i < parts->cnt; i++) {
      rd_kafka_topic_partition_t *tp = &parts->elems[i];
      if (strcmp(tp->topic, c->topic) == 0 &&
          add_partition(c, r, tp, cooperative, rerr, sizeof rerr)) {
        waiting_add(c, tp->partition, rerr);
        continue;
      }
      rd_kafka_topic_partition_list_add(now, tp->topic, tp->partition)->offset = tp->offset;
    }
    ccp_ckpt_reader_free(r);
    int nwaiting = c->waiting ? c->waiting->cnt : 0;
    if (nwaiting > 0)
      ccp_log_state(CCP_LOG_INFO, "consumer",
                    "assigned %d partition(s) of '%s'; %lld held, %d waiting", n, c->topic,
                    (long long)atomic_load(&c->nassigned), nwaiting);
    else
      ccp_log_state(CCP_LOG_INFO, "consumer", "assigned %d partition(s) of '%s'; %lld held", n,
                    c->topic, (long long)atomic_load(&c->nassigned));
    if (cooperative) {
      rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, now);
      if (e) {
        ccp_log(CCP_LOG_ERROR, "consumer", "cannot assign %d partition(s) of '%s': %s", n, c->topic,
                rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, parts); /* eager: nothing waits (can_wait 0) */
    }
    rd_kafka_topic_partition_list_destroy(now);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    /* a join follows a revocation: commits wait for its assignment */
    hold_commits(c);
    int lost = rd_kafka_assignment_lost(rk);
    if (lost)
      atomic_fetch_add(&c->lost, 1);
    rd_kafka_topic_partition_list_t *held = waiting_drop(c, parts);
    for (int i = 0; i < held->cnt; i++)
      if (strcmp(held->elems[i].topic, c->topic) == 0)
        remove_partition(c, held->elems[i].partition, c->closing);
    ccp_log_state(CCP_LOG_INFO, "consumer", "revoked %d partition(s) of '%s'%s; %lld held", n,
                  c->topic, lost ? " (assignment lost)" : "",
                  (long long)atomic_load(&c->nassigned));
    if (cooperative) {
      rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, held);
      if (e) {
        ccp_log(CCP_LOG_ERROR, "consumer", "cannot unassign %d partition(s) of '%s': %s", n,
                c->topic, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, NULL);
    }
    rd_kafka_topic_partition_list_destroy(held);
  } else {
    ccp_log(CCP_LOG_ERROR, "consumer", "rebalance failed: %s; every partition dropped",
            rd_kafka_err2str(err));
    hold_commits(c);
    for (int i = 0; i < c->parts_cap; i++)
      if (c->parts[i])
        remove_partition(c, i, c->closing);
    rd_kafka_topic_partition_list_t *held = waiting_drop(c, parts);
    if (cooperative)
      rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, held));
    else
      rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(held);
  }
}

/* ---- the publisher's source (publisher thread) ------------------------- */

/* Yields before the publisher sleeps at the barrier: a worker's report
 * usually comes within microseconds. */
#define BARRIER_YIELDS 32
/* The longest sleep there: a bound, not a poll (a worker wakes it). */
#define BARRIER_SLEEP_MS 2

/* @locality publisher thread: whether worker w reached epoch e's barrier
 * (report) or has its bundle ready (collect). */
static int barrier_ready(ccp__worker_t *w, uint64_t e, int collect) {
  if (collect) /* the exchange that takes it acquires */
    return atomic_load_explicit(&w->out, memory_order_relaxed) != NULL;
  return atomic_load_explicit(&w->reported, memory_order_acquire) >= e;
}

/* @locality publisher thread: waits until barrier_ready(). A few yields,
 * then a sleep on bar_cv that the worker ends (ccp__barrier_poke). A
 * worker's export takes milliseconds, tens of ms for a wide center: yielding
 * all that time burned a fifth of the process's CPU on a 2-core machine,
 * and sleeping 100 us at a time woke the publisher ~30 times a second at
 * 10,000 events/s for nothing (bench/README.md, session 13). */
static void barrier_wait(ccp_consumer_t *c, ccp__worker_t *w, uint64_t e, int collect) {
  for (int i = 0; i < BARRIER_YIELDS; i++) {
    if (barrier_ready(w, e, collect))
      return;
    sched_yield();
  }
  pthread_mutex_lock(&c->bar_mu);
  atomic_store_explicit(&c->pub_waiting, 1, memory_order_relaxed);
  /* the flag before the look below; ccp__barrier_poke's fence orders the
   * worker's store before its look at the flag: one of the two sees the other */
  atomic_thread_fence(memory_order_seq_cst);
  while (!barrier_ready(w, e, collect)) {
    struct timespec at = ccp_clock_deadline(CLOCK_MONOTONIC, BARRIER_SLEEP_MS);
    pthread_cond_timedwait(&c->bar_cv, &c->bar_mu, &at);
  }
  atomic_store_explicit(&c->pub_waiting, 0, memory_order_relaxed);
  pthread_mutex_unlock(&c->bar_mu);
}

void ccp__barrier_poke(ccp_consumer_t *c) {
  atomic_thread_fence(memory_order_seq_cst); /* pairs with barrier_wait's fence */
  if (!atomic_load_explicit(&c->pub_waiting, memory_order_relaxed))
    return;
  pthread_mutex_lock(&c->bar_mu);
  pthread_cond_signal(&c->bar_cv);
  pthread_mutex_unlock(&c->bar_mu);
}

/* Barrier, first half: a new epoch makes every worker report its stream
 * time; returns the largest. */
static int64_t pub_report(void *opaque) {
  ccp_consumer_t *c = opaque;
  /* seq_cst increment: orders it after the last cycle's reads for workers */
  uint64_t e = atomic_fetch_add(&c->epoch, 1) + 1;
  c->pub_epoch = e;
  for (int i = 0; i < c->nworkers; i++)
    rd_kafka_queue_yield(c->workers[i].q);
  int64_t g = INT64_MIN;
  for (int i = 0; i < c->nworkers; i++) {
    ccp__worker_t *w = &c->workers[i];
    barrier_wait(c, w, e, 0);
    int64_t now = atomic_load_explicit(&w->now, memory_order_relaxed);
    g = CCP_MAX(g, now);
  }
  return g;
}

/* Barrier, second half: publishes the target time; every worker exports its
 * engines at it and hands its bundle over. */
static void pub_collect(void *opaque, int64_t now_ms, int64_t live_ms,
                        ccp_publisher_bundle_t **bundles) {
  ccp_consumer_t *c = opaque;
  uint64_t e = c->pub_epoch;
  atomic_store_explicit(&c->target_now, now_ms, memory_order_relaxed);
  atomic_store_explicit(&c->target_live, live_ms, memory_order_relaxed);
  /* release: the target above is visible to a worker that sees the epoch */
  atomic_store_explicit(&c->target_epoch, e, memory_order_release);
  for (int i = 0; i < c->nworkers; i++) {
    barrier_wait(c, &c->workers[i], e, 1);
    /* acquire: pairs with the worker's exchange; the bundle is complete */
    ccp_publisher_bundle_t *b =
        atomic_exchange_explicit(&c->workers[i].out, NULL, memory_order_acq_rel);
    CCP_ASSERT(b->epoch == e);
    bundles[i] = b;
  }
}

/* Before collect: tells the workers whether this cycle saves checkpoints,
 * of every partition or of those that changed, not saved yet in the round,
 * and whether the round is spread over cycles (relaxed: pub_collect's
 * release store of target_epoch publishes it). */
static void pub_checkpoint(void *opaque, int on, uint64_t round, int spread) {
  ccp_consumer_t *c = opaque;
  atomic_store_explicit(&c->target_ckpt, c->ckpt_on ? on : 0, memory_order_relaxed);
  atomic_store_explicit(&c->target_ckpt_round, round, memory_order_relaxed);
  atomic_store_explicit(&c->target_ckpt_spread, spread, memory_order_relaxed);
}

/* Whether an export's offset may be committed: with checkpoints, only the
 * offset of a checkpoint that was stored (a partition without a fencing
 * epoch has none: it is committed as without checkpoints). */
static int commit_allowed(const ccp_consumer_t *c, const ccp_publisher_export_t *x) {
  return !c->ckpt_on || x->epoch <= 0 || x->ckpt_stored;
}

/* After a published cycle: dead letters first (a committed offset never
 * skips an undelivered one), then the next offsets of the partitions still
 * assigned in the generation they were exported in (with checkpoints: of
 * the checkpoints stored). Takes assign_mu to choose them, not to commit. */
static void pub_commit(void *opaque, ccp_publisher_bundle_t *const *bundles) {
  ccp_consumer_t *c = opaque;
  /* shutting down: the flush shares the 5 s budget (docs/operations.md,
   * Stopping); otherwise a short wait: dead letters in flight are delivered
   * within librdkafka's linger, and a dead-letter topic that does not take
   * them (missing, unreachable) must not hold the view back: the offsets
   * wait for a later cycle, the publishing goes on (docs/live.md) */
  int flush_ms = atomic_load(&c->stop) ? SHUTDOWN_FLUSH_MS : DLQ_CYCLE_FLUSH_MS;
  if (rd_kafka_outq_len(c->dlq) > 0 && rd_kafka_flush(c->dlq, flush_ms) != 0) {
    /* the first dead letters to a topic wait for its metadata: an error only
     * once they have waited DLQ_LATE_MS (every cycle then; repeats folded) */
    int64_t now = ccp_clock_mono_ms();
    if (!c->dlq_waiting_since)
      c->dlq_waiting_since = now;
    if (now - c->dlq_waiting_since >= DLQ_LATE_MS || atomic_load(&c->stop))
      ccp_log(CCP_LOG_ERROR, "publish",
              "dead-letter topic '%s': records not delivered for %lld ms; offsets not committed "
              "until they are",
              c->dlq_topic, (long long)(now - c->dlq_waiting_since));
    return;
  }
  c->dlq_waiting_since = 0;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
  pthread_mutex_lock(&c->assign_mu);
  for (int i = 0; i < c->nworkers; i++)
    for (int j = 0; j < bundles[i]->n; j++) {
      const ccp_publisher_export_t *x = &bundles[i]->items[j];
      if (x->next_offset < 0 || !commit_allowed(c, x) || x->partition >= c->assigned_cap ||
          c->assigned_gen[x->partition] != x->gen)
        continue;
      if (x->partition < c->committed_cap && c->committed[x->partition] == x->next_offset)
        continue;
      rd_kafka_topic_partition_list_add(l, c->topic, x->partition)->offset = x->next_offset;
    }
  /* The commit itself runs without assign_mu: a synchronous commit can wait
   * for the group while a rebalance is in progress, and the rebalance
   * callback (main thread) takes assign_mu: holding it here deadlocked a
   * joining instance (t_scale_kafka). A partition revoked meanwhile is
   * committed once more at an offset this instance has published (and
   * checkpointed): its next owner restores the checkpoint's own offset, or
   * without checkpoints starts there with what was published. Only this
   * thread touches `committed`. */
  pthread_mutex_unlock(&c->assign_mu);
  int held = l->cnt > 0 && commit_held(c);
  if (held) {
    atomic_fetch_add(&c->held, 1);
    if (!c->holding)
      ccp_log(CCP_LOG_INFO, "publish",
              "offsets not committed while this member rebalances; committed after it");
  }
  c->holding = held;
  if (l->cnt > 0 && !held) {
    rd_kafka_resp_err_t ce = rd_kafka_commit(c->rk, l, 0);
    if (ce && commit_err_rebalance(ce)) {
      hold_commits(c);
      ccp_log(CCP_LOG_WARN, "publish", "cannot commit offsets: %s; committed after the rebalance",
              rd_kafka_err2str(ce));
    } else if (ce && ce != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      ccp_log(CCP_LOG_ERROR, "publish", "cannot commit offsets: %s", rd_kafka_err2str(ce));
    } else {
      atomic_fetch_add(&c->commits, 1);
      for (int k = 0; k < l->cnt; k++) {
        int32_t p = l->elems[k].partition;
        if (l->elems[k].err)
          continue;
        if (p >= c->committed_cap) {
          int cap = CCP_MAX(p + 1, 2 * c->committed_cap);
          c->committed = ccp_realloc(c->committed, (size_t)cap * sizeof *c->committed);
          for (int z = c->committed_cap; z < cap; z++)
            c->committed[z] = -1;
          c->committed_cap = cap;
        }
        c->committed[p] = l->elems[k].offset;
      }
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
}

/* The topic's partition count (0: unknown). */
static int pub_partitions(void *opaque) {
  ccp_consumer_t *c = opaque;
  return atomic_load(&c->npartitions);
}

/* Records the workers have read so far (the publisher paces its cycles
 * while catching up; relaxed: a running count, compared with itself). */
static int64_t pub_consumed(void *opaque) {
  ccp_consumer_t *c = opaque;
  int64_t n = 0;
  for (int i = 0; i < c->nworkers; i++)
    n += atomic_load_explicit(&c->workers[i].messages, memory_order_relaxed);
  return n;
}

/* End of every cycle: serve the dead-letter producer's delivery reports. */
static void pub_end(void *opaque) {
  ccp_consumer_t *c = opaque;
  rd_kafka_poll(c->dlq, 0);
}

/* ---- public API -------------------------------------------------------- */

/* An integer property of the handle's configuration as librdkafka holds it
 * (the user's kafka.* or librdkafka's default); dflt when it cannot be read
 * or is not positive. */
static int conf_int(rd_kafka_t *rk, const char *name, int dflt) {
  char v[32];
  size_t len = sizeof v;
  if (rd_kafka_conf_get(rd_kafka_conf(rk), name, v, &len) != RD_KAFKA_CONF_OK || atoi(v) <= 0)
    return dflt;
  return atoi(v);
}

ccp_consumer_t *ccp_consumer_new(const ccp_consumer_opts_t *opts, char *errbuf, size_t errlen) {
  const ccp_config_t *cfg = opts->cfg;
  /* engines are created during rebalances, with workers running */
  if (ccp_tz_check(cfg->timezone, errbuf, errlen) != 0)
    return NULL;
  ccp_consumer_t *c = ccp_calloc(1, sizeof *c);
  char err[CCP_ERRBUF_SIZE];
  /* no outage known yet for this consumer (the flag is process-wide: an
   * earlier handle's outage, never probed away, would mute its lines) */
  atomic_store(&kafka_down_since, 0);
  c->opts = *opts;
  c->cfg = cfg;
  pthread_mutex_init(&c->assign_mu, NULL);
  pthread_mutex_init(&c->stats_mu, NULL);
  pthread_mutex_init(&c->bar_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* barrier_wait's bound */
  pthread_cond_init(&c->bar_cv, &ca);
  pthread_condattr_destroy(&ca);
  snprintf(c->topic, sizeof c->topic, "%s", cfg->kafka_topic);
  if (cfg->dlq_topic[0])
    snprintf(c->dlq_topic, sizeof c->dlq_topic, "%s", cfg->dlq_topic);
  else
    snprintf(c->dlq_topic, sizeof c->dlq_topic, "%s.dlq", cfg->kafka_topic);

  c->ckpt_on = cfg->checkpoint_interval_ms > 0 && opts->publish_ckpt != NULL;
  /* only publish_ckpt is told of the alerts a worker dropped (ccp_publish_extra_t) */
  c->alert_cap = opts->publish_ckpt ? (int)CCP_MIN(opts->alert_cap, (size_t)INT_MAX / 2) : 0;
  int w = opts->workers > 0 ? opts->workers : (int)cfg->workers;
  if (w <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    w = n > 0 ? (int)CCP_MIN(n, 64) : 1;
  }
  c->nworkers = w;

  if (!(c->writer = decoder_from(cfg->schema_writer, errbuf, errlen)))
    goto fail;
  if (cfg->nschema_registry) {
    c->reg = ccp_calloc((size_t)cfg->nschema_registry, sizeof *c->reg);
    for (int i = 0; i < cfg->nschema_registry; i++) {
      c->reg[i].id = cfg->schema_registry[i].id;
      if (!(c->reg[i].d = decoder_from(cfg->schema_registry[i].path, err, sizeof err))) {
        snprintf(errbuf, errlen, "config key 'schema.registry.%u': %s", cfg->schema_registry[i].id,
                 err);
        c->nreg = i;
        goto fail;
      }
    }
    c->nreg = cfg->nschema_registry;
  }
  if (cfg->schema_registry_url[0]) {
    ccp_registry_opts_t ro = {.url = cfg->schema_registry_url,
                              .user_info = cfg->schema_registry_user_info,
                              .connect_timeout_ms = cfg->schema_registry_connect_ms,
                              .timeout_ms = cfg->schema_registry_timeout_ms,
                              .retry_ms = cfg->schema_registry_retry_ms};
    if (!(c->registry = ccp_registry_new(&ro, errbuf, errlen)))
      goto fail;
    ccp_log(CCP_LOG_INFO, "consumer",
            "schema registry '%s': writer schemas of Confluent ids are fetched from it, but "
            "for the %d id(s) with a schema.registry.<ID> file",
            ccp_registry_url(c->registry), c->nreg);
  }

  /* the consumer: our protocol settings first, the user's kafka.* may tune
   * the rest, and the commit settings are forced after them */
  struct {
    const char *k, *v;
  } pre[] = {{"partition.assignment.strategy", "cooperative-sticky"},
             {"auto.offset.reset", "earliest"},
             {"statistics.interval.ms", "5000"}, /* lag and broker states (/metrics) */
             /* a fetch answers once 64 KiB wait or after 100 ms, not at the
              * first byte: at 10,000 events/s librdkafka's defaults (1 byte,
              * 500 ms) mean hundreds of small fetches a second, each waking
              * the broker thread and a worker, about two thirds of the CPU
              * of `ccpulse run`. 64 KiB take ~80 ms to arrive at that rate:
              * a wait of 25 ms ended 40 fetches a second, each waking the
              * broker thread and both workers; with 100 ms the 64 KiB end
              * them, ~12 a second, for ~50 ms more median latency there,
              * well inside the p99 goal (docs/live.md, bench/README.md
              * session 13) */
             {"fetch.min.bytes", "65536"},
             {"fetch.wait.max.ms", "100"}};
  rd_kafka_conf_t *conf;
  if (!(conf = ccp_kafka_conf_new(cfg, opts->brokers, errbuf, errlen)))
    goto fail;
  /* our defaults where the user's kafka.* said nothing */
  for (size_t i = 0; i < CCP_ARRAY_LEN(pre); i++) {
    int user = 0;
    for (int j = 0; j < cfg->nkafka_props; j++)
      user |= strcmp(cfg->kafka_props[j].key, pre[i].k) == 0;
    if (!user)
      rd_kafka_conf_set(conf, pre[i].k, pre[i].v, err, sizeof err);
  }
  /* forced: commits follow publishes; a partition's end lets its deadline
   * time follow the wall clock while live (worker.c, docs/live.md time rule).
   * A user's kafka.* with another value would be silently overwritten: it is
   * rejected instead (group.id is kafka.group: ccp_config_finish) */
  if (check_forced(cfg, errbuf, errlen) != 0) {
    rd_kafka_conf_destroy(conf);
    goto fail;
  }
  if (rd_kafka_conf_set(conf, "group.id", cfg->kafka_group, err, sizeof err) ||
      rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
      rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof err) ||
      rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err)) {
    snprintf(errbuf, errlen, "kafka consumer: %s", err);
    rd_kafka_conf_destroy(conf);
    goto fail;
  }
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_stats_cb(conf, on_stats);
  rd_kafka_conf_set_opaque(conf, c);
  if (!(c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err))) {
    snprintf(errbuf, errlen, "cannot create a Kafka consumer: %s", err);
    rd_kafka_conf_destroy(conf);
    goto fail;
  }
  c->queued_min = conf_int(c->rk, "queued.min.messages", 0);
  c->hold_max_ms = conf_int(c->rk, "session.timeout.ms", 45000); /* librdkafka's default */

  /* the dead-letter producer */
  if (!(conf = ccp_kafka_conf_new(cfg, opts->brokers, errbuf, errlen)))
    goto fail;
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err); /* consumer-only keys warn */
  rd_kafka_conf_set_dr_msg_cb(conf, on_dlq_delivery);
  if (!(c->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
    snprintf(errbuf, errlen, "cannot create the dead-letter producer: %s", err);
    rd_kafka_conf_destroy(conf);
    goto fail;
  }

  c->workers = ccp_calloc((size_t)w, sizeof *c->workers);
  for (int i = 0; i < w; i++) {
    ccp__worker_t *wk = &c->workers[i];
    wk->c = c;
    wk->idx = i;
    wk->q = rd_kafka_queue_new(c->rk);
    pthread_mutex_init(&wk->mu, NULL);
    pthread_cond_init(&wk->cv, NULL);
    atomic_init(&wk->now, INT64_MIN);
  }

  ccp_publisher_opts_t po = {.cfg = cfg,
                             .publish = opts->publish,
                             .publish_ckpt = opts->publish_ckpt,
                             .fetch = opts->publish_ckpt ? opts->fetch : NULL,
                             .opaque = opts->opaque,
                             .clock_ms = opts->clock_ms,
                             .final_timeout_ms = opts->final_timeout_ms,
                             .src = {.opaque = c,
                                     .nbundles = w,
                                     .report = pub_report,
                                     .checkpoint = pub_checkpoint,
                                     .collect = pub_collect,
                                     .commit = pub_commit,
                                     .end = pub_end,
                                     .partitions = pub_partitions,
                                     .consumed = pub_consumed}};
  c->pub = ccp_publisher_new(&po);

  rd_kafka_poll_set_consumer(c->rk);
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, c->topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t se = rd_kafka_subscribe(c->rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (se) {
    snprintf(errbuf, errlen, "cannot subscribe to '%s': %s", c->topic, rd_kafka_err2str(se));
    goto fail;
  }
  return c;

fail:
  ccp_consumer_free(c);
  return NULL;
}

/* @locality any thread or a signal handler: one lock-free atomic store. */
void ccp_consumer_stop(ccp_consumer_t *c) { atomic_store(&c->stop, 1); }

int ccp_consumer_stopping(const ccp_consumer_t *c) {
  return atomic_load(&((ccp_consumer_t *)c)->stop);
}

/* @locality main thread, at shutdown: leaves the group (librdkafka's
 * consumer close, served here so it can be bounded: rd_kafka_consumer_close
 * of 2.0.2 waits as long as the coordinator is unreachable). A member never
 * assigned, or a close not done within SHUTDOWN_CLOSE_MS, is left to
 * rd_kafka_destroy_flags(NO_CONSUMER_CLOSE) in ccp_consumer_free: the group
 * then notices the member gone after session.timeout.ms, and what was not
 * committed is read again by the next owner. */
static void close_bounded(ccp_consumer_t *c) {
  if (!c->ever_assigned) {
    ccp_log(CCP_LOG_INFO, "consumer", "never assigned: leaving the group without closing");
    c->no_close = 1;
    return;
  }
  rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
  rd_kafka_error_t *e = rd_kafka_consumer_close_queue(c->rk, q);
  if (e) {
    ccp_log(CCP_LOG_WARN, "consumer", "cannot close the consumer: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    c->no_close = 1;
  } else {
    int64_t t0 = ccp_clock_mono_ms();
    while (!rd_kafka_consumer_closed(c->rk) && ccp_clock_mono_ms() - t0 < SHUTDOWN_CLOSE_MS)
      rd_kafka_queue_poll_callback(q, 50); /* serves the revocation (on_rebalance) */
    if (!rd_kafka_consumer_closed(c->rk)) {
      ccp_log(CCP_LOG_WARN, "consumer",
              "the group close did not finish in %d ms (coordinator unreachable?): leaving "
              "without it; uncommitted records are read again by the next owner",
              SHUTDOWN_CLOSE_MS);
      c->no_close = 1;
    }
  }
  rd_kafka_queue_destroy(q);
}

/* @locality the thread that owns the consumer (main). */
int ccp_consumer_run(ccp_consumer_t *c) {
  /* workers and the publisher block every signal: only this thread takes
   * SIGINT/SIGTERM */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (int i = 0; i < c->nworkers; i++)
    if (pthread_create(&c->workers[i].thread, NULL, ccp__worker_main, &c->workers[i]) != 0)
      ccp__fatal(__FILE__, __LINE__, "cannot start a worker thread");
  if (ccp_publisher_start(c->pub) != 0)
    ccp__fatal(__FILE__, __LINE__, "cannot start the publisher thread");
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  ccp_log(CCP_LOG_INFO, "consumer",
          "started: topic '%s', group '%s', brokers '%s', %d worker(s), dead letters to '%s'",
          c->topic, c->cfg->kafka_group, c->opts.brokers ? c->opts.brokers : c->cfg->kafka_brokers,
          c->nworkers, c->dlq_topic);

  int poll_ms = 100;
  while (!atomic_load(&c->stop)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, poll_ms);
    if (m) { /* errors only: every partition is forwarded to a worker */
      ccp__log_consume_error(m);
      rd_kafka_message_destroy(m);
    }
    waiting_retry(c);
    probe_brokers(c);
    /* catching up (a queue near full, or a nudge within the last second): a
     * look every NUDGE_MS; else the poll's 100 ms */
    int near = c->queued_min > 0 && nudge_fetchers(c);
    poll_ms = near || (c->nudged_ms && ccp_clock_mono_ms() - c->nudged_ms < 1000) ? NUDGE_MS : 100;
    if (!c->ever_assigned && atomic_load(&kafka_auth_failed)) {
      /* refused before the first assignment: a configuration error (docs/
       * operations.md, TLS and authentication), not an outage to wait out */
      ccp_log_state(CCP_LOG_ERROR, "consumer",
                    "the brokers refused ccpulse's credentials at start-up: %s; stopping "
                    "(check kafka.sasl.*)",
                    kafka_auth_reason);
      c->auth_failed = 1;
      break;
    }
  }

  /* shutdown: stop consuming, final publish + commit, close */
  atomic_store(&c->paused, 1);
  /* librdkafka 2.0.2 aborts when a cooperative-sticky member that never got
   * its first assignment is closed (assignor_state NULL, librdkafka #4312,
   * fixed in 2.3.0): let the join finish first (bounded); one that still
   * has none (brokers down) is destroyed without the close below */
  int64_t join_until = ccp_clock_mono_ms() + SHUTDOWN_JOIN_MS;
  while (!c->ever_assigned && ccp_clock_mono_ms() < join_until) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
    if (m)
      rd_kafka_message_destroy(m);
  }
  int final_rc = ccp_publisher_finish(c->pub); /* the final cycle, then the thread ends */
  atomic_store_explicit(&c->workers_stop, 1, memory_order_release);
  for (int i = 0; i < c->nworkers; i++) {
    rd_kafka_queue_yield(c->workers[i].q);
    pthread_join(c->workers[i].thread, NULL);
  }
  c->closing = 1;
  for (int i = 0; i < c->parts_cap; i++)
    if (c->parts[i])
      rd_kafka_queue_forward(c->parts[i]->pq, NULL);
  close_bounded(c); /* revokes: remove_partition(closing) */
  for (int i = 0; i < c->parts_cap; i++)
    if (c->parts[i])
      remove_partition(c, i, 1);
  c->closing = 0;
  if (rd_kafka_flush(c->dlq, SHUTDOWN_FLUSH_MS) != 0)
    ccp_log(CCP_LOG_ERROR, "dlq", "cannot deliver %d dead-letter record(s) to '%s' at shutdown",
            rd_kafka_outq_len(c->dlq), c->dlq_topic);
  int final_ok = final_rc == 0;
  ccp_consumer_stats_t st;
  ccp_consumer_stats(c, &st);
  ccp_log(final_ok ? CCP_LOG_INFO : CCP_LOG_ERROR, "consumer",
          "shutdown done%s: %lld record(s) consumed, %lld dead-lettered, %lld publish cycle(s), "
          "%lld commit(s)",
          final_ok ? "" : " without the final publish (its offsets are not committed)",
          (long long)st.messages, (long long)st.dead_letters, (long long)st.cycles,
          (long long)st.commits);
  ccp_log_flush();
  return c->auth_failed ? -CCP_EINVAL : final_ok ? 0 : -CCP_EIO;
}

void ccp_consumer_stats(const ccp_consumer_t *c, ccp_consumer_stats_t *out) {
  memset(out, 0, sizeof *out);
  ccp_consumer_t *m = (ccp_consumer_t *)c;
  for (int i = 0; i < c->nworkers; i++) {
    out->messages += atomic_load_explicit(&m->workers[i].messages, memory_order_relaxed);
    out->dead_letters += atomic_load_explicit(&m->workers[i].dead, memory_order_relaxed);
    out->late += atomic_load_explicit(&m->workers[i].late, memory_order_relaxed);
    out->duplicate += atomic_load_explicit(&m->workers[i].duplicate, memory_order_relaxed);
    out->invalid += atomic_load_explicit(&m->workers[i].invalid, memory_order_relaxed);
    out->open_tickets += atomic_load_explicit(&m->workers[i].open, memory_order_relaxed);
  }
  ccp_publisher_stats_t ps;
  ccp_publisher_stats(c->pub, &ps);
  out->cycles = ps.cycles;
  out->failed_cycles = ps.failed_cycles;
  out->commits = atomic_load(&m->commits);
  out->commits_held = atomic_load(&m->held);
  out->assignments_lost = atomic_load(&m->lost);
  out->fetch_nudges = atomic_load_explicit(&m->nudges, memory_order_relaxed);
  out->partitions = atomic_load(&m->nassigned);
  out->now_ms = ps.now_ms;
  out->last_publish_ms = ps.last_ok_ms;
  memcpy(out->publish_buckets, ps.buckets, sizeof out->publish_buckets);
  out->publish_us = ps.duration_us;
  out->stopping = atomic_load(&m->stop);
}

void ccp_consumer_kafka_stats(const ccp_consumer_t *cc, ccp_kafka_stats_t *out) {
  ccp_consumer_t *c = (ccp_consumer_t *)cc; /* the mutex only */
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&c->stats_mu);
  if (c->nlag) {
    out->lag = ccp_malloc((size_t)c->nlag * sizeof *out->lag);
    memcpy(out->lag, c->lag, (size_t)c->nlag * sizeof *out->lag);
    out->nlag = c->nlag;
  }
  if (c->nbrokers) {
    out->brokers = ccp_malloc((size_t)c->nbrokers * sizeof *out->brokers);
    memcpy(out->brokers, c->brokers, (size_t)c->nbrokers * sizeof *out->brokers);
    out->nbrokers = c->nbrokers;
  }
  out->age_ms = c->stats_ms ? ccp_clock_mono_ms() - c->stats_ms : -1;
  pthread_mutex_unlock(&c->stats_mu);
  out->down = atomic_load(&kafka_down_since) != 0;
}

void ccp_kafka_stats_release(ccp_kafka_stats_t *s) {
  ccp_free(s->lag);
  ccp_free(s->brokers);
  memset(s, 0, sizeof *s);
}

/* Handles whose destroy did not return in time (ccp_consumer_abandoned). */
static atomic_int abandoned_handles;

/* A destroy run on a thread of its own; the last of the two sides frees it. */
typedef struct destroy_job {
  rd_kafka_t *rk;
  int flags;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, abandoned;
} destroy_job_t;

static void destroy_job_free(destroy_job_t *j) {
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  ccp_free(j);
}

static void *destroy_main(void *arg) {
  destroy_job_t *j = arg;
  rd_kafka_destroy_flags(j->rk, j->flags);
  pthread_mutex_lock(&j->mu);
  j->done = 1;
  int abandoned = j->abandoned;
  pthread_cond_signal(&j->cv);
  pthread_mutex_unlock(&j->mu);
  if (abandoned)
    destroy_job_free(j);
  return NULL;
}

/* @locality the consumer's thread, at shutdown: rd_kafka_destroy_flags with
 * a bound. librdkafka 2.0.2 can fail to return from the destroy of a member
 * caught in the middle of its first join (destroyed with NO_CONSUMER_CLOSE:
 * its main thread spins; seen once under load, a `run --mock` whose member
 * was not yet assigned 1 s after SIGTERM). Past SHUTDOWN_DESTROY_MS the
 * handle is abandoned to its thread, logged and counted, so that the
 * process can still exit (ccp_consumer_abandoned: `run` then leaves with
 * _exit). Nothing is lost: what was not committed is read again. */
static void destroy_bounded(rd_kafka_t *rk, int flags) {
  destroy_job_t *j = ccp_calloc(1, sizeof *j);
  j->rk = rk;
  j->flags = flags;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  pthread_t t;
  if (pthread_create(&t, NULL, destroy_main, j) != 0) {
    destroy_job_free(j);
    rd_kafka_destroy_flags(rk, flags);
    return;
  }
  struct timespec until = ccp_clock_deadline(CLOCK_REALTIME, SHUTDOWN_DESTROY_MS);
  pthread_mutex_lock(&j->mu);
  while (!j->done && pthread_cond_timedwait(&j->cv, &j->mu, &until) == 0)
    ;
  int done = j->done;
  j->abandoned = !done;
  pthread_mutex_unlock(&j->mu);
  if (done) {
    pthread_join(t, NULL);
    destroy_job_free(j);
  } else {
    pthread_detach(t);
    atomic_fetch_add(&abandoned_handles, 1);
    ccp_log(CCP_LOG_WARN, "consumer",
            "librdkafka did not finish destroying the consumer in %d ms (a defect of 2.0.2 "
            "when a member is stopped during its first join): leaving it; uncommitted records "
            "are read again",
            SHUTDOWN_DESTROY_MS);
  }
}

int ccp_consumer_abandoned(void) { return atomic_load(&abandoned_handles); }

void ccp_consumer_free(ccp_consumer_t *c) {
  if (!c)
    return;
  for (int i = 0; i < c->parts_cap; i++)
    if (c->parts[i]) {
      if (c->parts[i]->pq)
        rd_kafka_queue_destroy(c->parts[i]->pq);
      ccp_engine_free(c->parts[i]->engine);
      ccp_partial_free(c->parts[i]->last);
      ccp_free(c->parts[i]);
    }
  ccp_free(c->parts);
  if (c->waiting)
    rd_kafka_topic_partition_list_destroy(c->waiting);
  ccp_publisher_free(c->pub); /* before the workers: it may hold their bundles */
  ccp_free(c->committed);
  if (c->workers) {
    for (int i = 0; i < c->nworkers; i++) {
      ccp__worker_t *w = &c->workers[i];
      ccp_publisher_bundle_free(atomic_load(&w->out));
      ccp_publisher_alerts_free(w->alerts, w->nalerts);
      ccp_free(w->alerts);
      ccp_free(w->alert_parts);
      ccp_free(w->schemas);
      ccp_free(w->by_id);
      if (w->q)
        rd_kafka_queue_destroy(w->q);
      pthread_mutex_destroy(&w->mu);
      pthread_cond_destroy(&w->cv);
    }
    ccp_free(c->workers);
  }
  if (c->rk)
    destroy_bounded(c->rk, c->no_close ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
  if (c->dlq)
    rd_kafka_destroy(c->dlq);
  ccp_avro_decoder_free(c->writer);
  for (int i = 0; i < c->nreg; i++)
    ccp_avro_decoder_free(c->reg[i].d);
  ccp_free(c->reg);
  ccp_registry_free(c->registry); /* after the workers: they hold its decoders */
  ccp_free(c->assigned_gen);
  pthread_mutex_destroy(&c->assign_mu);
  ccp_free(c->lag);
  ccp_free(c->brokers);
  pthread_mutex_destroy(&c->stats_mu);
  pthread_mutex_destroy(&c->bar_mu);
  pthread_cond_destroy(&c->bar_cv);
  ccp_free(c);
}
