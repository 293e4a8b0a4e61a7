/*
 * The checkpoint store: partition checkpoints in Redis (docs/checkpoints.md,
 * "Where checkpoints live and how they are used"; keys in docs/redis.md).
 *
 * Write (publisher thread, inside the MULTI/EXEC of the cycle that saved
 * the checkpoint or of a later one, whose commit then covers its offsets;
 * docs/checkpoints.md, "Off the view cycle"). A checkpoint is stored as a
 * base (the state, zstd-compressed) and at most one delta (the state
 * compressed with the base state as zstd prefix), store format 2
 * (docs/checkpoints.md, "Stored as a base and a delta"): at 1,000 events/s
 * a partition's state changes a little in nearly every scope, so a delta is
 * 2-5 % of the state where chunk-level deduplication still rewrote most of
 * it. A whole write (a new base) goes into a staging hash <key>:new (DEL,
 * then HSETs of at most CCP_CKPT_CHUNK bytes each, so no command carries
 * one huge argument and those bytes never pass through Lua), then EVALSHA
 * of the fencing script renames the staging hash over <key> when
 * <key>:epoch still holds the writer's epoch, and deletes it otherwise. A
 * delta write is the script alone with the delta (at most CCP_CKPT_CHUNK)
 * as an argument: set in <key> in place, under the same epoch check and
 * only when <key> holds the delta's base whole (else it answers 2 and
 * changes nothing). So a stale owner (a rebalance in flight, a zombie
 * instance) never overwrites a newer owner's checkpoint, and a checkpoint
 * changes only as a whole, with the view of the same cycle. SCRIPT LOAD is
 * pipelined ahead of the cycle's MULTI (idempotent, no extra round trip),
 * so EVALSHA finds the script after a Redis restart or SCRIPT FLUSH; its
 * reply is checked against the sha compiled in here.
 *
 * Compression (the costly part: a delta is zstd with long-distance
 * matching over base and state) runs before the commands are appended:
 * ccp__ckpt_prepare() with a batch id hands the batch to the writer's own
 * thread and the publisher goes on with its cycles, appending the batch
 * in the first cycle that finds it prepared; with batch 0 (the final
 * cycle, the tests) it runs at once. The thread and the publisher thread
 * share the batch (its states, the plans) and the partitions' bases
 * through `job` under `mu`: while a job is QUEUED or RUNNING the
 * publisher thread reads or writes none of them (only parts[].valid and
 * epoch, which the thread never reads), and it frees a batch's states only
 * after settle() (ccp__ckpt_results(), ccp__ckpt_drop(), a new batch).
 *
 * What Redis holds: the writer (ccp__ckpt_writer_t, owned by the Redis
 * publisher) keeps each partition's base as stored (compressed) and its
 * epoch, and while the partition writes deltas also the base state itself,
 * their prefix (decompressing it for every delta was a fifth of the
 * writer's time); an idle partition's (kept) drops that copy, and its next
 * delta decompresses the base again. It writes a partition whole when it
 * knows nothing (first write, a new epoch: a takeover), after the
 * partition's write was not stored, when the checkpoint was saved while
 * catching up (c->whole: the state moved too far for a delta, and trying
 * one cost the indexing of the whole base; no copy of its state is kept
 * then either), when the delta would exceed half the
 * base's compressed size (zstd stops at
 * the block that overflows it), or is expected to (delta_doomed(): the
 * deltas stored against the base so far grew towards it), and after every
 * failed or unanswered cycle and every reconnect (the publisher calls
 * ccp__ckpt_writer_forget() then; a delta made against a base forgotten
 * meanwhile is made again, whole, before it is written). A delta whose base Redis lost (flush,
 * restart without a reconnect seen) is reported by the script; the
 * publisher counts that cycle as failed, so the next one writes it whole.
 * Partitions that have no checkpoint in a cycle (no longer ours) lose
 * their base copy. An idle partition's checkpoint is kept (c->same, no
 * state): nothing is written; the script (mode 'k') checks that Redis holds
 * the checkpoint this writer stored last (epoch, base, offset, sum, delta),
 * else answers 2 as for a lost base (docs/checkpoints.md, "Idle partitions").
 *
 * The same script, when it stores a checkpoint, forgets the ids of the
 * partition's deadline alerts due before the checkpoint's alert floor
 * (ccp_engine_alert_floor()): a restore, always of the newest stored
 * checkpoint, cannot fire them again (docs/redis.md, "Alerts once"). A
 * refused write forgets nothing.
 *
 * An epoch key that is missing (Redis lost its data) is set by the first
 * writer: Redis keeps no token to compare with, and refusing every write
 * would stop checkpoints (and commits) for good.
 *
 * Read (main thread, rebalance callback, a reader's own connection: the
 * publisher's context belongs to the publisher thread): INCR of the epoch
 * and HGETALL of the checkpoint in one MULTI/EXEC, so the new owner's token
 * is taken before it reads, and no older owner can write after the read.
 * Connection attempts are bounded by the reader's wait. The base and delta
 * are decompressed and checked (lengths, the base's id, the state's sum);
 * any mismatch makes the checkpoint malformed. Format 1 (the state
 * uncompressed in state, state:1, ...) is still read.
 */
#include "ccpulse/ckpt_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>
#ifdef __linux__
#include <sys/resource.h> /* setpriority */
#include <sys/syscall.h>  /* SYS_gettid */
#include <unistd.h>
#endif

#include "ccpulse/clock.h"
#include "ccpulse/common.h"
#include "ccpulse/log.h"
#include "ccpulse/redis_pub.h"
#include "publish/ckpt_int.h"

/* KEYS: the checkpoint, its epoch, the staging hash, the partition's alert
 * ids; ARGV[1]: the writer's epoch, ARGV[2]: the checkpoint's alert floor
 * ('' = none), ARGV[3]: 'f' (a full write: the staging hash becomes the
 * checkpoint), 'd' (a delta: ARGV[4] the id of the base it needs, then
 * offset, bytes, saved_ms, sum and the delta itself, set in the checkpoint
 * in place) or 'k' (keep: an idle partition's checkpoint, written before,
 * is still exact; ARGV[4] its base's id, then its offset, sum and whether
 * it has a delta ('1'/'0'): nothing is written). Returns 1 when the
 * checkpoint was stored, or kept as it is (and the ids due before the floor
 * were forgotten: no restore can fire them again, docs/redis.md), 0 when
 * the epoch belongs to another owner (the staging hash is deleted, the ids
 * are left alone), 2 when a delta's base is not stored whole, or a kept
 * checkpoint is not the one the writer stored (Redis lost it: nothing is
 * changed; the writer writes the whole state next time). */
static const char SCRIPT[] =
    "local cur = redis.call('GET', KEYS[2])\n"
    "if cur == false then\n"
    "  redis.call('SET', KEYS[2], ARGV[1])\n"
    "elseif cur ~= ARGV[1] then\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  return 0\n"
    "end\n"
    "if ARGV[3] ~= 'f' then\n"
    "  local h = redis.call('HMGET', KEYS[1], 'format', 'base_id', 'base_parts')\n"
    "  if h[1] ~= '2' or h[2] ~= ARGV[4] or not h[3] then return 2 end\n"
    "  if redis.call('HEXISTS', KEYS[1], 'base') == 0 then return 2 end\n"
    "  for j = 1, tonumber(h[3]) - 1 do\n"
    "    if redis.call('HEXISTS', KEYS[1], 'base:' .. j) == 0 then return 2 end\n"
    "  end\n"
    "end\n"
    "if ARGV[3] == 'd' then\n"
    "  redis.call('HSET', KEYS[1], 'offset', ARGV[5], 'bytes', ARGV[6], 'saved_ms', ARGV[7],\n"
    "             'epoch', ARGV[1], 'sum', ARGV[8], 'delta', ARGV[9])\n"
    "elseif ARGV[3] == 'k' then\n"
    "  local k = redis.call('HMGET', KEYS[1], 'offset', 'sum', 'epoch')\n"
    "  if k[1] ~= ARGV[5] or k[2] ~= ARGV[6] or k[3] ~= ARGV[1] or\n"
    "     redis.call('HEXISTS', KEYS[1], 'delta') ~= tonumber(ARGV[7]) then return 2 end\n"
    "else\n"
    "  redis.call('RENAME', KEYS[3], KEYS[1])\n"
    "end\n"
    "if ARGV[2] ~= '' then redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[2]) end\n"
    "return 1\n";
/* SHA1 of SCRIPT (what SCRIPT LOAD answers; checked at every load). */
static const char SCRIPT_SHA[] = "289913f6e3b82c5108f9f4b804070340ab7dfdc3";

/* ---- write (publisher thread; compression on the writer's own thread) --- */

/* What the writer knows Redis holds for one partition. */
typedef struct ckw_part {
  char *topic;
  int32_t partition;
  int64_t epoch;    /* the epoch of the writes it describes */
  int valid;        /* Redis holds base_id's base whole (as far as the writer knows) */
  uint64_t base_id; /* ccp_hash64 of the base state */
  ccp_buf_t zbase;  /* the base as stored (compressed) */
  ccp_buf_t base;   /* the base state, a delta's prefix; empty: decompress zbase */
  int seen;         /* has a checkpoint in the batch being planned */
  int unseen;       /* batches planned in a row without a checkpoint of it */
  /* the checkpoint stored last (with valid): what a kept one is checked against */
  int64_t offset;
  uint64_t sum;
  int has_delta;
  size_t d_last, d_prev; /* compressed sizes of the last two deltas stored against this base */
} ckw_part_t;

/* One checkpoint of the batch being written. */
typedef struct ckw_plan {
  int part;         /* index into parts; -1: not written (no epoch or offset) */
  int try_delta;    /* planned: a delta against the base `against`, when small enough */
  uint64_t against; /* that base's id */
  int full;         /* prepared: 1 the whole state (a new base), 0 a delta */
  int keep;         /* planned: the checkpoint stored last is kept (c->same) */
  int ncmds;        /* its commands inside MULTI */
  uint64_t id;      /* full: the new base's id */
  uint64_t sum;     /* ccp_hash64 of the state (field sum) */
  ccp_buf_t zb;     /* prepared: the compressed base or delta */
  int64_t code;     /* the script's reply (results) */
  int64_t prep_us;  /* time the preparation took */
} ckw_plan_t;

/* The batch's preparation (job): IDLE nothing, QUEUED handed to the thread,
 * RUNNING being prepared, DONE prepared (the publisher thread appends it). */
enum { JOB_IDLE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct ccp__ckpt_writer {
  /* publisher thread, and the preparation while the job runs (below) */
  ckw_part_t *parts;
  int nparts, parts_cap;
  ckw_plan_t *plan;
  int nplan, plan_cap;
  const ccp_checkpoint_t *jc; /* the batch (borrowed; valid until settled) */
  uint64_t batch;             /* its id (ccp__ckpt_prepare()); 0: a synchronous one or none */
  ccp__ckpt_writer_stats_t st;
  int lost; /* checkpoints of the last results whose base was gone */
  /* the preparation's (one at a time: publisher thread inline, or the thread) */
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
  /* the thread: `job` and `quit` under mu. While the job is QUEUED or
   * RUNNING the thread owns plan[].zb/full/id/sum/prep_us, cctx and dctx, and
   * reads jc, plan[].part/try_delta and parts[].zbase, and fills parts[].base;
   * the publisher thread touches none of them (only parts[].valid and
   * epoch, which the thread never reads) until it sees DONE under mu. */
  pthread_t th;
  int th_started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int job, quit;
};

ccp__ckpt_writer_t *ccp__ckpt_writer_new(void) {
  ccp__ckpt_writer_t *w = ccp_calloc(1, sizeof *w);
  w->cctx = ZSTD_createCCtx();
  w->dctx = ZSTD_createDCtx();
  CCP_ASSERT(w->cctx && w->dctx);
  ZSTD_DCtx_setParameter(w->dctx, ZSTD_d_windowLogMax, CCP_CKPT_WINDOWLOG_MAX);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  return w;
}

/* The job's state (under mu). */
static int job_get(ccp__ckpt_writer_t *w) {
  pthread_mutex_lock(&w->mu);
  int j = w->job;
  pthread_mutex_unlock(&w->mu);
  return j;
}

static void job_set(ccp__ckpt_writer_t *w, int j) {
  pthread_mutex_lock(&w->mu);
  w->job = j;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Waits until no preparation runs; a prepared one is discarded (the batch
 * is forgotten: its states may be freed once this returns). */
static void settle(ccp__ckpt_writer_t *w) {
  pthread_mutex_lock(&w->mu);
  while (w->job == JOB_QUEUED || w->job == JOB_RUNNING)
    pthread_cond_wait(&w->cv, &w->mu);
  w->job = JOB_IDLE;
  pthread_mutex_unlock(&w->mu);
  w->batch = 0;
  w->jc = NULL;
}

void ccp__ckpt_writer_free(ccp__ckpt_writer_t *w) {
  if (!w)
    return;
  settle(w);
  if (w->th_started) {
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
  }
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  for (int i = 0; i < w->nparts; i++) {
    ccp_free(w->parts[i].topic);
    ccp_buf_release(&w->parts[i].base);
    ccp_buf_release(&w->parts[i].zbase);
  }
  ccp_free(w->parts);
  for (int i = 0; i < w->plan_cap; i++)
    ccp_buf_release(&w->plan[i].zb);
  ccp_free(w->plan);
  ZSTD_freeCCtx(w->cctx);
  ZSTD_freeDCtx(w->dctx);
  ccp_free(w);
}

/* Forgets a partition's base: its next checkpoint is written whole. Only
 * `valid` while a preparation may read the base; the bytes go when the
 * next batch is planned. */
static void part_forget(ckw_part_t *e) { e->valid = 0; }

/* Releases the base bytes of a partition that has none (no preparation runs). */
static void part_trim(ckw_part_t *e) {
  if (!e->valid && (e->base.cap || e->zbase.cap)) {
    ccp_buf_release(&e->base);
    ccp_buf_init(&e->base);
    ccp_buf_release(&e->zbase);
    ccp_buf_init(&e->zbase);
  }
}

void ccp__ckpt_writer_forget(ccp__ckpt_writer_t *w) {
  if (!w)
    return;
  for (int i = 0; i < w->nparts; i++)
    part_forget(&w->parts[i]);
  w->lost = 0;
}

int ccp__ckpt_writer_lost(const ccp__ckpt_writer_t *w) { return w ? w->lost : 0; }

const ccp__ckpt_writer_stats_t *ccp__ckpt_writer_stats(const ccp__ckpt_writer_t *w) {
  return &w->st;
}

/* The entry of topic/partition (created unknown). */
static int part_of(ccp__ckpt_writer_t *w, const char *topic, int32_t partition) {
  for (int i = 0; i < w->nparts; i++)
    if (w->parts[i].partition == partition && strcmp(w->parts[i].topic, topic) == 0)
      return i;
  if (w->nparts == w->parts_cap) {
    w->parts_cap = w->parts_cap ? 2 * w->parts_cap : 8;
    w->parts = ccp_realloc(w->parts, (size_t)w->parts_cap * sizeof *w->parts);
  }
  ckw_part_t *e = &w->parts[w->nparts];
  memset(e, 0, sizeof *e);
  e->topic = ccp_strdup(topic);
  e->partition = partition;
  ccp_buf_init(&e->base);
  ccp_buf_init(&e->zbase);
  return w->nparts++;
}

/* The largest delta written against part e's base: a larger one makes a new base. */
static size_t delta_limit(const ckw_part_t *e) {
  return CCP_MIN((size_t)CCP_CKPT_CHUNK, e->zbase.len / CCP_CKPT_DELTA_DIV);
}

/* Whether the next delta against e's base is expected to exceed the limit:
 * what changed since the base accumulates, so deltas grow about linearly
 * with the intervals since it; the next is estimated as the last plus its
 * growth (half of it after the first delta). Trying one that comes out too
 * large cost a compression with long matching over base and state (most of
 * the writer's time) for nothing. */
static int delta_doomed(const ckw_part_t *e) {
  if (!e->d_last)
    return 0;
  size_t grow = !e->d_prev ? e->d_last / 2 : e->d_last > e->d_prev ? e->d_last - e->d_prev : 0;
  return e->d_last + grow > delta_limit(e);
}

/* Compresses src into dst, with prefix (a base state) when not NULL; 0, or
 * -1 when the result would exceed limit bytes (0: no limit; zstd stops at
 * the block that overflows). */
static int compress(ccp__ckpt_writer_t *w, ccp_buf_t *dst, const void *src, size_t len,
                    const ccp_buf_t *prefix, size_t limit) {
  size_t cap = ZSTD_compressBound(len);
  if (limit && limit < cap)
    cap = limit;
  ccp_buf_clear(dst);
  ccp_buf_reserve(dst, cap);
  ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, 1);
  if (prefix) {
    /* the window must reach back over the whole prefix */
    int wl = 10; /* zstd's smallest window */
    while (wl < CCP_CKPT_WINDOWLOG_MAX && ((size_t)1 << wl) < prefix->len + len)
      wl++;
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_windowLog, wl);
    /* long-distance matching indexes the whole prefix (the regular tables of
     * level 1 keep only its last MiB or so), as zstd --patch-from does */
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_enableLongDistanceMatching, 1);
    ZSTD_CCtx_refPrefix(w->cctx, prefix->data, prefix->len);
  }
  size_t n = ZSTD_compress2(w->cctx, dst->data, cap, src, len);
  if (ZSTD_isError(n) && limit && ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
    return -1;
  CCP_ASSERT(!ZSTD_isError(n)); /* else fails only when out of memory: the bound is enough */
  dst->len = n;
  return 0;
}

/* Part e's base state in e->base, decompressed from the stored bytes when
 * not kept; 0, or -1 (cannot happen with bytes this writer compressed; the
 * checkpoint is then written whole). */
static int base_state(ccp__ckpt_writer_t *w, ckw_part_t *e) {
  if (e->base.len)
    return 0;
  unsigned long long n = ZSTD_getFrameContentSize(e->zbase.data, e->zbase.len);
  if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR || n == 0 ||
      n > CCP_CKPT_MAX_BYTES)
    return -1;
  ccp_buf_reserve(&e->base, (size_t)n);
  ZSTD_DCtx_reset(w->dctx, ZSTD_reset_session_only);
  size_t got = ZSTD_decompressDCtx(w->dctx, e->base.data, (size_t)n, e->zbase.data, e->zbase.len);
  if (ZSTD_isError(got) || got != n)
    return -1;
  e->base.len = got;
  return 0;
}

/* Prepares the checkpoints of the planned batch c (any one thread at a
 * time): per checkpoint its sum, and a delta against its base when planned
 * and small enough, else the whole state compressed (a new base). */
static void prepare(ccp__ckpt_writer_t *w, const ccp_checkpoint_t *c) {
  for (int i = 0; i < w->nplan; i++) {
    ckw_plan_t *pl = &w->plan[i];
    if (pl->part < 0 || pl->keep)
      continue;
    int64_t t0 = ccp_clock_mono_ns();
    ckw_part_t *e = &w->parts[pl->part];
    pl->sum = ccp_hash64(c[i].state, c[i].len, CCP_CKPT_SUM_SEED);
    pl->full = 1;
    if (pl->try_delta && base_state(w, e) == 0) {
      size_t limit = delta_limit(e);
      pl->full = !limit || compress(w, &pl->zb, c[i].state, c[i].len, &e->base, limit) != 0;
    }
    if (pl->full) {
      pl->id = ccp_hash64(c[i].state, c[i].len, CCP_CKPT_SUM_SEED ^ 1);
      compress(w, &pl->zb, c[i].state, c[i].len, NULL, 0);
    }
    pl->prep_us = (ccp_clock_mono_ns() - t0) / 1000;
  }
}

/* The writer's thread runs at a lower priority (nice CKW_NICE, Linux: a
 * thread's own nice value): its compression is not on any cycle's path,
 * while the workers, the publisher, and on a small machine the broker and
 * the producers beside it, are; it still gets every idle moment, and a
 * share of a busy CPU (docs/checkpoints.md, "Spread over cycles"). */
#define CKW_NICE 10

static void lower_priority(void) {
#ifdef __linux__
  /* errors ignored: the thread then compresses at the process's priority */
  (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), CKW_NICE);
#endif
}

static void *prepare_main(void *arg) {
  ccp__ckpt_writer_t *w = arg;
  pthread_setname_np(pthread_self(), "ccp-ckpt"); /* for top -H, perf, /proc */
  lower_priority();
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->job != JOB_QUEUED && !w->quit)
      pthread_cond_wait(&w->cv, &w->mu);
    if (w->quit)
      break;
    w->job = JOB_RUNNING;
    pthread_mutex_unlock(&w->mu);
    prepare(w, w->jc);
    pthread_mutex_lock(&w->mu);
    w->job = JOB_DONE;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static int writable(const ccp_checkpoint_t *c) { return c->epoch > 0 && c->offset >= 0; }

/* A partition is forgotten (its base copies freed) once this many batches
 * in a row had no checkpoint of it: no longer this instance's. Not at the
 * first: a spread round (docs/checkpoints.md, "Spread over cycles") writes
 * each partition in one of its few batches, and forgetting the others
 * would write their next checkpoint whole, and refuse a kept one. A
 * partition assigned again has a new epoch, which forgets it anyway. */
#define CKW_UNSEEN_MAX 64

/* Plans batch c[0..n) (no preparation runs): which partition each one is,
 * whether a delta is tried and against which base; forgets the bases of a
 * new epoch and of partitions long absent from the batches (CKW_UNSEEN_MAX). */
static void plan(ccp__ckpt_writer_t *w, const ccp_checkpoint_t *c, int n) {
  if (n > w->plan_cap) {
    w->plan = ccp_realloc(w->plan, (size_t)n * sizeof *w->plan);
    for (int i = w->plan_cap; i < n; i++)
      ccp_buf_init(&w->plan[i].zb);
    w->plan_cap = n;
  }
  w->nplan = n;
  for (int i = 0; i < w->nparts; i++)
    w->parts[i].seen = 0;
  for (int i = 0; i < n; i++) {
    ckw_plan_t *pl = &w->plan[i];
    ccp_buf_t zb = pl->zb;
    memset(pl, 0, sizeof *pl);
    pl->zb = zb;
    ccp_buf_clear(&pl->zb);
    pl->part = -1;
    if (!writable(&c[i]))
      continue;
    pl->part = part_of(w, c[i].topic, c[i].partition);
    ckw_part_t *e = &w->parts[pl->part];
    e->seen = 1;
    if (e->epoch != c[i].epoch) { /* a new owner's epoch: Redis may hold anything */
      part_forget(e);
      e->epoch = c[i].epoch;
    }
    pl->keep = c[i].same;
    pl->try_delta = e->valid && !delta_doomed(e) && !c[i].whole;
    pl->against = e->base_id;
  }
  for (int i = 0; i < w->nparts; i++) { /* no longer this instance's: keep no copy of its base */
    ckw_part_t *e = &w->parts[i];
    e->unseen = e->seen ? 0 : e->unseen + 1;
    if (e->unseen > CKW_UNSEEN_MAX)
      part_forget(e);
    part_trim(e);
  }
  w->jc = c;
}

/* Whether every delta of the prepared batch still has the base it was made
 * against (a failed cycle or a reconnect meanwhile makes the writer forget). */
static int still_good(const ccp__ckpt_writer_t *w) {
  for (int i = 0; i < w->nplan; i++) {
    const ckw_plan_t *pl = &w->plan[i];
    if (pl->part >= 0 && !pl->full && !pl->keep &&
        (!w->parts[pl->part].valid || w->parts[pl->part].base_id != pl->against))
      return 0;
  }
  return 1;
}

/* Hands the planned batch to the thread (started on first use). */
static void queue_job(ccp__ckpt_writer_t *w) {
  if (!w->th_started) {
    if (pthread_create(&w->th, NULL, prepare_main, w) != 0) {
      prepare(w, w->jc); /* no thread: prepared here, at once */
      job_set(w, JOB_DONE);
      return;
    }
    w->th_started = 1;
  }
  job_set(w, JOB_QUEUED);
}

int ccp__ckpt_prepare(ccp__ckpt_writer_t *w, const ccp_checkpoint_t *c, int n, uint64_t batch) {
  if (batch == 0 || batch != w->batch || c != w->jc) { /* a new batch: prepare it */
    settle(w);
    plan(w, c, n);
    w->batch = batch;
    if (batch == 0) { /* synchronous */
      prepare(w, c);
      job_set(w, JOB_DONE);
      return 1;
    }
    queue_job(w);
  }
  if (job_get(w) != JOB_DONE)
    return 0;
  if (!still_good(w)) { /* a delta's base is gone: prepare it again (whole) */
    job_set(w, JOB_IDLE);
    plan(w, c, n);
    queue_job(w);
    return 0;
  }
  return 1;
}

void ccp__ckpt_drop(ccp__ckpt_writer_t *w) {
  if (w)
    settle(w);
}

void ccp__ckpt_append_load(ccp_buf_t *o) {
  const char *argv[3] = {"SCRIPT", "LOAD", SCRIPT};
  size_t lens[3] = {6, 4, sizeof SCRIPT - 1};
  ccp__resp_argv(o, 3, argv, lens);
}

int ccp__ckpt_check_load(const redisReply *r, char *what, size_t wlen) {
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(what, wlen, "SCRIPT LOAD of the checkpoint script failed: %s", r->str);
    return -CCP_EINVAL;
  }
  if (r->type != REDIS_REPLY_STRING || strcmp(r->str, SCRIPT_SHA) != 0) {
    snprintf(what, wlen, "SCRIPT LOAD of the checkpoint script answered '%s', not its sha %s",
             r->type == REDIS_REPLY_STRING ? r->str : "?", SCRIPT_SHA);
    return -CCP_EINVAL;
  }
  return 0;
}

/* Its key, with `suffix` ("", ":epoch", ":new"). */
static void key_of(ccp_buf_t *k, const char *prefix, const char *topic, int32_t partition,
                   const char *suffix) {
  ccp_buf_clear(k);
  ccp_buf_printf(k, "%sckpt:%s:%d%s", prefix, topic, (int)partition, suffix);
}

void ccp__alert_ids_key(ccp_buf_t *k, const char *prefix, const char *topic, int32_t partition) {
  ccp_buf_clear(k);
  ccp_buf_printf(k, "%sv1:alert_ids:%s:%d", prefix, topic ? topic : "", (int)partition);
}

/* Appends the HSETs of a full write of c (its compressed state in w->z) to
 * the staging hash skey; returns the commands. */
static int append_full(ccp_buf_t *o, const ccp_buf_t *zb, const ccp_buf_t *skey,
                       const ccp_checkpoint_t *c, uint64_t id, uint64_t sum, uint64_t *bytes) {
  size_t zlen = zb->len, parts = zlen ? (zlen + CCP_CKPT_CHUNK - 1) / CCP_CKPT_CHUNK : 1;
  char num[9][24];
  snprintf(num[0], sizeof num[0], "%lld", (long long)c->offset);
  snprintf(num[1], sizeof num[1], "%zu", c->len);
  snprintf(num[2], sizeof num[2], "%lld", (long long)c->saved_ms);
  snprintf(num[3], sizeof num[3], "%lld", (long long)c->epoch);
  snprintf(num[4], sizeof num[4], "%d", CCP_CKPT_STORE_FORMAT);
  snprintf(num[5], sizeof num[5], "%016llx", (unsigned long long)id);
  snprintf(num[6], sizeof num[6], "%zu", parts);
  snprintf(num[7], sizeof num[7], "%zu", c->len);
  snprintf(num[8], sizeof num[8], "%016llx", (unsigned long long)sum);
  const char *names[9] = {"offset",  "bytes",      "saved_ms",   "epoch", "format",
                          "base_id", "base_parts", "base_bytes", "sum"};
  const char *argv[22];
  size_t lens[22];
  int ncmds = 0;
  for (size_t j = 0; j < parts; j++) {
    char field[32];
    int argc = 0;
    argv[argc] = "HSET", lens[argc++] = 4;
    argv[argc] = skey->data, lens[argc++] = skey->len;
    if (j == 0) {
      for (int f = 0; f < 9; f++) {
        argv[argc] = names[f], lens[argc++] = strlen(names[f]);
        argv[argc] = num[f], lens[argc++] = strlen(num[f]);
      }
      snprintf(field, sizeof field, "base");
    } else {
      snprintf(field, sizeof field, "base:%zu", j);
    }
    size_t at = j * CCP_CKPT_CHUNK, len = CCP_MIN(CCP_CKPT_CHUNK, zlen - at);
    argv[argc] = field, lens[argc++] = strlen(field);
    argv[argc] = zlen ? zb->data + at : "", lens[argc++] = len;
    ccp__resp_argv(o, argc, argv, lens);
    for (int a = 1; a < argc; a++)
      *bytes += lens[a];
    ncmds++;
  }
  return ncmds;
}

void ccp__ckpt_append(ccp_buf_t *o, ccp__ckpt_writer_t *w, const char *prefix,
                      const ccp_checkpoint_t *c, int n, int *ncmds, uint64_t *bytes) {
  if (c != w->jc || n != w->nplan || job_get(w) != JOB_DONE)
    ccp__ckpt_prepare(w, c, n, 0); /* not prepared ahead: here, at once */
  ccp_buf_t key, ekey, skey, ikey;
  ccp_buf_init(&key);
  ccp_buf_init(&ekey);
  ccp_buf_init(&skey);
  ccp_buf_init(&ikey);
  for (int i = 0; i < n; i++) {
    ckw_plan_t *pl = &w->plan[i];
    if (pl->part < 0)
      continue;
    const ckw_part_t *e = &w->parts[pl->part];
    key_of(&key, prefix, c[i].topic, c[i].partition, "");
    key_of(&ekey, prefix, c[i].topic, c[i].partition, ":epoch");
    key_of(&skey, prefix, c[i].topic, c[i].partition, ":new");
    ccp__alert_ids_key(&ikey, prefix, c[i].topic, c[i].partition);
    char num[6][24];
    snprintf(num[0], sizeof num[0], "%lld", (long long)c[i].epoch);
    num[1][0] = '\0';
    if (c[i].alert_floor != INT64_MIN)
      snprintf(num[1], sizeof num[1], "%lld", (long long)c[i].alert_floor);
    if (pl->keep) {
      pl->ncmds = 0;
      if (!e->valid || e->offset != c[i].offset)
        continue; /* the writer knows no stored checkpoint to keep: not stored */
      snprintf(num[2], sizeof num[2], "%016llx", (unsigned long long)e->base_id);
      snprintf(num[3], sizeof num[3], "%lld", (long long)c[i].offset);
      snprintf(num[4], sizeof num[4], "%016llx", (unsigned long long)e->sum);
      const char *ev[14] = {
          "EVALSHA", SCRIPT_SHA, "4", key.data, ekey.data, skey.data, ikey.data,
          num[0],    num[1],     "k", num[2],   num[3],    num[4],    e->has_delta ? "1" : "0"};
      size_t el[14];
      for (int a = 0; a < 14; a++)
        el[a] = strlen(ev[a]);
      ccp__resp_argv(o, 14, ev, el);
      for (int a = 3; a < 14; a++)
        *bytes += el[a];
      pl->ncmds = 1;
    } else if (!pl->full) {
      snprintf(num[2], sizeof num[2], "%016llx", (unsigned long long)e->base_id);
      snprintf(num[3], sizeof num[3], "%lld", (long long)c[i].offset);
      snprintf(num[4], sizeof num[4], "%zu", c[i].len);
      snprintf(num[5], sizeof num[5], "%lld", (long long)c[i].saved_ms);
      char sumx[24];
      snprintf(sumx, sizeof sumx, "%016llx", (unsigned long long)pl->sum);
      const char *ev[16] = {"EVALSHA", SCRIPT_SHA, "4",       key.data,
                            ekey.data, skey.data,  ikey.data, num[0],
                            num[1],    "d",        num[2],    num[3],
                            num[4],    num[5],     sumx,      pl->zb.len ? pl->zb.data : ""};
      size_t el[16];
      for (int a = 0; a < 15; a++)
        el[a] = strlen(ev[a]);
      el[15] = pl->zb.len;
      ccp__resp_argv(o, 16, ev, el);
      for (int a = 3; a < 16; a++)
        *bytes += el[a];
      pl->ncmds = 1;
    } else {
      const char *del[2] = {"DEL", skey.data};
      size_t dlens[2] = {3, skey.len};
      ccp__resp_argv(o, 2, del, dlens);
      int k = append_full(o, &pl->zb, &skey, &c[i], pl->id, pl->sum, bytes);
      const char *ev[10] = {"EVALSHA", SCRIPT_SHA, "4",    key.data, ekey.data,
                            skey.data, ikey.data,  num[0], num[1],   "f"};
      size_t el[10];
      for (int a = 0; a < 10; a++)
        el[a] = strlen(ev[a]);
      ccp__resp_argv(o, 10, ev, el);
      for (int a = 3; a < 10; a++)
        *bytes += el[a];
      pl->ncmds = 2 + k;
    }
    *ncmds += pl->ncmds;
  }
  ccp_buf_release(&key);
  ccp_buf_release(&ekey);
  ccp_buf_release(&skey);
  ccp_buf_release(&ikey);
}

int ccp__ckpt_results(const redisReply *exec, int base, ccp__ckpt_writer_t *w, ccp_checkpoint_t *c,
                      int n, int quiet) {
  int at = base, refused = 0;
  CCP_ASSERT(n == w->nplan);
  w->lost = 0;
  for (int i = 0; i < n; i++) {
    c[i].stored = 0;
    ckw_plan_t *pl = &w->plan[i];
    if (pl->part < 0)
      continue;
    ckw_part_t *e = &w->parts[pl->part];
    at += pl->ncmds; /* the script is the checkpoint's last command */
    const redisReply *r =
        pl->ncmds && exec && at - 1 < (int)exec->elements ? exec->element[at - 1] : NULL;
    pl->code = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (pl->code == 1 && pl->keep) { /* still stored as written: nothing to note */
      c[i].stored = 1;
      w->st.kept++;
      ccp_buf_release(&e->base); /* idle: no delta soon; decompressed again if one comes */
      ccp_buf_init(&e->base);
      continue;
    }
    if (pl->code == 1) {
      c[i].stored = 1;
      e->offset = c[i].offset;
      e->sum = pl->sum;
      e->has_delta = !pl->full;
      if (pl->full) { /* the new base: its stored bytes, and the state as the deltas' prefix */
        ccp_buf_t old = e->zbase;
        e->zbase = pl->zb;
        pl->zb = old;
        ccp_buf_clear(&pl->zb);
        ccp_buf_clear(&e->base);
        if (c[i].whole) { /* catching up: the next one is whole too; a delta decompresses it */
          ccp_buf_release(&e->base);
          ccp_buf_init(&e->base);
        } else {
          ccp_buf_append(&e->base, c[i].state, c[i].len);
        }
        e->base_id = pl->id;
        e->valid = 1;
        e->d_last = e->d_prev = 0;
        w->st.full++;
        w->st.full_bytes += e->zbase.len;
      } else {
        w->st.delta++;
        w->st.delta_bytes += pl->zb.len;
        e->d_prev = e->d_last;
        e->d_last = pl->zb.len;
      }
      w->st.state_bytes += c[i].len;
      continue;
    }
    part_forget(e); /* not stored: Redis may hold anything of it */
    if (pl->code == 2) {
      w->st.base_lost++;
      w->lost++;
      if (!quiet)
        ccp_log(CCP_LOG_WARN, "checkpoint",
                "checkpoint of '%s' [%d] at offset %lld not %s: its base is no longer in "
                "redis (lost or replaced); the cycle counts as failed and the next writes it whole",
                c[i].topic, (int)c[i].partition, (long long)c[i].offset,
                pl->keep ? "kept (idle partition)" : "written");
    } else if (pl->code == 0) {
      refused++;
      if (!quiet)
        ccp_log(CCP_LOG_WARN, "checkpoint",
                "checkpoint of '%s' [%d] at offset %lld not written: epoch %lld is no longer the "
                "partition's (a newer owner took it); its offsets are not committed",
                c[i].topic, (int)c[i].partition, (long long)c[i].offset, (long long)c[i].epoch);
    }
  }
  settle(w); /* the batch is written: the caller may free its states */
  return refused;
}

/* ---- read (the reader's thread) ---------------------------------------- */

struct ccp_ckpt_reader {
  redisContext *ctx;
  char *url, *prefix;
  char addr[300];
  int64_t deadline_ms; /* monotonic: connection attempts stop then */
  ccp_buf_t key;
};

ccp_ckpt_reader_t *ccp_ckpt_reader_new(const char *url, const char *prefix, int64_t wait_ms,
                                       char *errbuf, size_t errlen) {
  if (ccp_redis_url_check(url, errbuf, errlen) != 0)
    return NULL;
  ccp_ckpt_reader_t *r = ccp_calloc(1, sizeof *r);
  r->url = ccp_strdup(url);
  r->prefix = ccp_strdup(prefix ? prefix : "ccpulse:");
  r->deadline_ms = ccp_clock_mono_ms() + wait_ms;
  ccp_buf_init(&r->key);
  return r;
}

void ccp_ckpt_reader_free(ccp_ckpt_reader_t *r) {
  if (!r)
    return;
  if (r->ctx)
    redisFree(r->ctx);
  ccp_free(r->url);
  ccp_free(r->prefix);
  ccp_buf_release(&r->key);
  ccp_free(r);
}

void ccp_ckpt_found_release(ccp_ckpt_found_t *f) { ccp_buf_release(&f->state); }

/* Connects when not connected; retries with a short backoff until the
 * deadline (one attempt after it). */
static int reader_connect(ccp_ckpt_reader_t *r, char *what, size_t wlen) {
  int64_t backoff = 100;
  while (!r->ctx) {
    r->ctx = ccp__redis_connect(r->url, 500, 5000, r->addr, sizeof r->addr, what, wlen);
    if (r->ctx)
      break;
    int64_t left = r->deadline_ms - ccp_clock_mono_ms();
    if (left <= 0)
      return -CCP_EIO;
    ccp_clock_sleep_ms(CCP_MIN(backoff, left));
    backoff = CCP_MIN(backoff * 2, 1000);
  }
  return 0;
}

static int parse_i64(const char *s, size_t len, int64_t *out) {
  char tmp[24];
  if (len == 0 || len >= sizeof tmp)
    return -1;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end;
  errno = 0;
  long long v = strtoll(tmp, &end, 10);
  if (*end || errno)
    return -1;
  *out = v;
  return 0;
}

/* The value of field name in an HGETALL reply; NULL when absent. */
static const redisReply *field_of(const redisReply *h, const char *name) {
  for (size_t i = 0; i + 1 < h->elements; i += 2)
    if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, name) == 0)
      return h->element[i + 1]->type == REDIS_REPLY_STRING ? h->element[i + 1] : NULL;
  return NULL;
}

/* A 64-bit id written as 16 hex digits; 0 or -1. */
static int parse_hex64(const redisReply *v, uint64_t *out) {
  if (!v || v->len != 16)
    return -1;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v->str, &end, 16);
  if (*end || errno)
    return -1;
  *out = x;
  return 0;
}

/* Format 2 (docs/checkpoints.md, "Stored as a base and a delta"): the base
 * (zstd, in base_parts fields) and, when present, the delta (zstd with the
 * base as its prefix) give the state; every length and id is checked. */
static int parse_v2(const redisReply *h, ccp_ckpt_found_t *f, int64_t bytes, char *what,
                    size_t wlen) {
  int64_t parts = -1, base_bytes = -1;
  uint64_t base_id, sum;
  const redisReply *v;
  if ((v = field_of(h, "base_parts")) == NULL || parse_i64(v->str, v->len, &parts) != 0 ||
      (v = field_of(h, "base_bytes")) == NULL || parse_i64(v->str, v->len, &base_bytes) != 0 ||
      parse_hex64(field_of(h, "base_id"), &base_id) != 0 ||
      parse_hex64(field_of(h, "sum"), &sum) != 0 || parts < 1 || parts > (int64_t)1 << 20 ||
      base_bytes < 0 || base_bytes > CCP_CKPT_MAX_BYTES || bytes > CCP_CKPT_MAX_BYTES) {
    snprintf(what, wlen, "fields base_parts, base_bytes, base_id or sum missing or out of range");
    return -CCP_EPARSE;
  }
  ccp_buf_t z, b;
  ccp_buf_init(&z);
  ccp_buf_init(&b);
  ZSTD_DCtx *d = ZSTD_createDCtx();
  CCP_ASSERT(d);
  ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, CCP_CKPT_WINDOWLOG_MAX);
  int rc = -CCP_EPARSE;
  for (int64_t j = 0; j < parts; j++) {
    char field[32];
    snprintf(field, sizeof field, j ? "base:%lld" : "base", (long long)j);
    if ((v = field_of(h, field)) == NULL) {
      snprintf(what, wlen, "part '%s' of the base (%lld parts) missing", field, (long long)parts);
      goto out;
    }
    ccp_buf_append(&z, v->str, v->len);
  }
  ccp_buf_reserve(&b, (size_t)base_bytes);
  size_t got = ZSTD_decompressDCtx(d, b.data, (size_t)base_bytes, z.data ? z.data : "", z.len);
  if (ZSTD_isError(got) || got != (size_t)base_bytes ||
      ccp_hash64(b.data, got, CCP_CKPT_SUM_SEED ^ 1) != base_id) {
    snprintf(what, wlen, "the base does not decompress to its %lld bytes of id %016llx%s%s",
             (long long)base_bytes, (unsigned long long)base_id, ZSTD_isError(got) ? ": " : "",
             ZSTD_isError(got) ? ZSTD_getErrorName(got) : "");
    goto out;
  }
  b.len = got;
  const redisReply *delta = field_of(h, "delta");
  if (!delta) {
    ccp_buf_append(&f->state, b.data, b.len);
  } else {
    ccp_buf_reserve(&f->state, (size_t)bytes);
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
    ZSTD_DCtx_refPrefix(d, b.data, b.len);
    got = ZSTD_decompressDCtx(d, f->state.data, (size_t)bytes, delta->str, delta->len);
    if (ZSTD_isError(got) || got != (size_t)bytes) {
      snprintf(what, wlen, "the delta does not decompress to %lld bytes%s%s", (long long)bytes,
               ZSTD_isError(got) ? ": " : "", ZSTD_isError(got) ? ZSTD_getErrorName(got) : "");
      goto out;
    }
    f->state.len = got;
  }
  if ((int64_t)f->state.len != bytes ||
      ccp_hash64(f->state.data, f->state.len, CCP_CKPT_SUM_SEED) != sum) {
    snprintf(what, wlen, "%zu bytes of state with another sum, the checkpoint says %lld bytes",
             f->state.len, (long long)bytes);
    goto out;
  }
  rc = 0;
out:
  ZSTD_freeDCtx(d);
  ccp_buf_release(&z);
  ccp_buf_release(&b);
  return rc;
}

/* Fills f from an HGETALL reply (field, value pairs); 0 or -CCP_EPARSE with
 * what. Reads format 2 (a base and a delta) and format 1 (the state in
 * fields state, state:1, ...: written before format 2). */
static int parse_found(const redisReply *h, ccp_ckpt_found_t *f, char *what, size_t wlen) {
  int64_t bytes = -1, chunks = -1, format = 1;
  const redisReply *state0 = NULL;
  f->offset = f->epoch_of = f->saved_ms = -1;
  for (size_t i = 0; i + 1 < h->elements; i += 2) {
    const redisReply *k = h->element[i], *v = h->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      continue;
    int64_t *num = strcmp(k->str, "offset") == 0     ? &f->offset
                   : strcmp(k->str, "bytes") == 0    ? &bytes
                   : strcmp(k->str, "epoch") == 0    ? &f->epoch_of
                   : strcmp(k->str, "saved_ms") == 0 ? &f->saved_ms
                   : strcmp(k->str, "chunks") == 0   ? &chunks
                   : strcmp(k->str, "format") == 0   ? &format
                                                     : NULL;
    if (num && parse_i64(v->str, v->len, num) != 0) {
      snprintf(what, wlen, "field '%s' is not an integer", k->str);
      return -CCP_EPARSE;
    }
    if (strcmp(k->str, "state") == 0)
      state0 = v;
  }
  if (format == CCP_CKPT_STORE_FORMAT) {
    if (f->offset < 0 || bytes < 0) {
      snprintf(what, wlen, "fields offset or bytes missing or out of range");
      return -CCP_EPARSE;
    }
    return parse_v2(h, f, bytes, what, wlen);
  }
  if (format != 1) {
    snprintf(what, wlen, "store format %lld, this build reads 1 and %d", (long long)format,
             CCP_CKPT_STORE_FORMAT);
    return -CCP_EPARSE;
  }
  if (f->offset < 0 || bytes < 0 || chunks < 1 || chunks > (int64_t)1 << 20 || !state0) {
    snprintf(what, wlen, "fields offset, bytes, chunks or state missing or out of range");
    return -CCP_EPARSE;
  }
  ccp_buf_reserve(&f->state, (size_t)bytes);
  ccp_buf_append(&f->state, state0->str, state0->len);
  for (int64_t j = 1; j < chunks; j++) {
    char field[32];
    snprintf(field, sizeof field, "state:%lld", (long long)j);
    const redisReply *v = field_of(h, field);
    if (!v) {
      snprintf(what, wlen, "chunk '%s' of %lld missing", field, (long long)chunks);
      return -CCP_EPARSE;
    }
    ccp_buf_append(&f->state, v->str, v->len);
  }
  if ((int64_t)f->state.len != bytes) {
    snprintf(what, wlen, "%zu bytes of state, the checkpoint says %lld", f->state.len,
             (long long)bytes);
    return -CCP_EPARSE;
  }
  return 0;
}

int ccp_ckpt_reader_claim(ccp_ckpt_reader_t *r, const char *topic, int32_t partition,
                          ccp_ckpt_found_t *out, char *errbuf, size_t errlen) {
  char what[300];
  memset(out, 0, sizeof *out);
  ccp_buf_init(&out->state);
  for (int attempt = 0;; attempt++) {
    if (reader_connect(r, what, sizeof what) != 0)
      goto unreachable;
    key_of(&r->key, r->prefix, topic, partition, ":epoch");
    redisAppendCommand(r->ctx, "MULTI");
    redisAppendCommand(r->ctx, "INCR %b", r->key.data, r->key.len);
    key_of(&r->key, r->prefix, topic, partition, "");
    redisAppendCommand(r->ctx, "HGETALL %b", r->key.data, r->key.len);
    redisAppendCommand(r->ctx, "EXEC");
    redisReply *rep[4] = {NULL};
    int ok = 1;
    for (int i = 0; i < 4 && ok; i++)
      ok = redisGetReply(r->ctx, (void **)&rep[i]) == REDIS_OK;
    if (!ok) { /* connection lost: reconnect while the wait lasts */
      snprintf(what, sizeof what, "%s", r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
      for (int i = 0; i < 4; i++)
        if (rep[i])
          freeReplyObject(rep[i]);
      redisFree(r->ctx);
      r->ctx = NULL;
      if (ccp_clock_mono_ms() < r->deadline_ms)
        continue;
      goto unreachable;
    }
    const redisReply *x = rep[3];
    int rc = 0;
    if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 ||
        x->element[0]->type != REDIS_REPLY_INTEGER || x->element[1]->type != REDIS_REPLY_ARRAY) {
      snprintf(errbuf, errlen, "cannot claim the checkpoint of '%s' [%d] on '%s': %s", topic,
               (int)partition, r->addr,
               x->type == REDIS_REPLY_ERROR ? x->str
               : x->type == REDIS_REPLY_ARRAY && x->elements == 2 &&
                       x->element[0]->type == REDIS_REPLY_ERROR
                   ? x->element[0]->str
               : x->type == REDIS_REPLY_ARRAY && x->elements == 2 &&
                       x->element[1]->type == REDIS_REPLY_ERROR
                   ? x->element[1]->str
                   : "unexpected reply");
      rc = -CCP_EIO;
    } else {
      out->epoch = x->element[0]->integer;
      const redisReply *h = x->element[1];
      if (h->elements > 0) {
        if (parse_found(h, out, what, sizeof what) == 0) {
          out->present = 1;
        } else {
          snprintf(errbuf, errlen, "malformed checkpoint '%s': %s", r->key.data, what);
          ccp_buf_clear(&out->state);
          rc = -CCP_EPARSE;
        }
      }
    }
    for (int i = 0; i < 4; i++)
      freeReplyObject(rep[i]);
    return rc;
  }
unreachable:
  snprintf(errbuf, errlen, "cannot reach redis '%s' to claim '%s' [%d]: %s",
           r->addr[0] ? r->addr : "?", topic, (int)partition, what);
  return -CCP_EIO;
}

/* ---- partials of several instances (publisher thread) ------------------ */

/* KEYS: the partial, the partition's checkpoint epoch, the staging hash;
 * ARGV: the writer's epoch, the partial's offset. Renames the staging hash
 * over the partial when the epoch is the writer's (or missing) and the
 * stored partial does not cover more records; returns 1, else deletes the
 * staging hash and returns 0. EVAL, not EVALSHA: a few hundred bytes, and
 * no NOSCRIPT after a Redis restart. */
static const char PARTIAL_LUA[] =
    "local cur = redis.call('GET', KEYS[2])\n"
    "local o = redis.call('HGET', KEYS[1], 'offset')\n"
    "if (cur and cur ~= ARGV[1]) or (o and tonumber(o) > tonumber(ARGV[2])) then\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  return 0\n"
    "end\n"
    "redis.call('RENAME', KEYS[3], KEYS[1])\n"
    "return 1\n";

/* KEYS[1]: the shared stream time; ARGV[1]: this instance's. Keeps the
 * larger and returns it. */
static const char STREAM_TIME_LUA[] = "local c = tonumber(redis.call('GET', KEYS[1]))\n"
                                      "local t = tonumber(ARGV[1])\n"
                                      "if c == nil or t > c then\n"
                                      "  redis.call('SET', KEYS[1], ARGV[1])\n"
                                      "  return ARGV[1]\n"
                                      "end\n"
                                      "return tostring(c)\n";

void ccp__partials_append(ccp_buf_t *o, const char *prefix, const char *topic,
                          const ccp_partial_rec_t *r, int n, int *ncmds, uint64_t *bytes) {
  ccp_buf_t key, ekey, skey;
  ccp_buf_init(&key);
  ccp_buf_init(&ekey);
  ccp_buf_init(&skey);
  for (int i = 0; i < n; i++) {
    if (r[i].epoch <= 0)
      continue;
    ccp_buf_clear(&key);
    ccp_buf_printf(&key, "%sv1:partial:%s:%d", prefix, topic, (int)r[i].partition);
    ccp_buf_clear(&skey);
    ccp_buf_printf(&skey, "%sv1:partial:%s:%d:new", prefix, topic, (int)r[i].partition);
    key_of(&ekey, prefix, topic, r[i].partition, ":epoch");
    const char *del[2] = {"DEL", skey.data};
    size_t dlens[2] = {3, skey.len};
    ccp__resp_argv(o, 2, del, dlens);
    char num[3][24];
    snprintf(num[0], sizeof num[0], "%lld", (long long)r[i].offset);
    snprintf(num[1], sizeof num[1], "%lld", (long long)r[i].epoch);
    snprintf(num[2], sizeof num[2], "%lld", (long long)r[i].now);
    const char *hs[10] = {"HSET", skey.data, "offset", num[0], "epoch",
                          num[1], "now_ms",  num[2],   "data", r[i].len ? r[i].data : ""};
    size_t hl[10] = {4, skey.len,       6, strlen(num[0]), 5, strlen(num[1]),
                     6, strlen(num[2]), 4, r[i].len};
    ccp__resp_argv(o, 10, hs, hl);
    const char *ev[8] = {"EVAL", PARTIAL_LUA, "3", key.data, ekey.data, skey.data, num[1], num[0]};
    size_t el[8] = {
        4, sizeof PARTIAL_LUA - 1, 1, key.len, ekey.len, skey.len, strlen(num[1]), strlen(num[0])};
    ccp__resp_argv(o, 8, ev, el);
    *ncmds += 3;
    *bytes += r[i].len + key.len + ekey.len + 2 * skey.len;
  }
  ccp_buf_release(&key);
  ccp_buf_release(&ekey);
  ccp_buf_release(&skey);
}

void ccp__partials_results(const redisReply *exec, int base, ccp_partial_rec_t *r, int n) {
  int at = base;
  for (int i = 0; i < n; i++) {
    r[i].stored = 0;
    if (r[i].epoch <= 0)
      continue;
    at += 3; /* DEL, HSET, EVAL */
    const redisReply *x = exec && at - 1 < (int)exec->elements ? exec->element[at - 1] : NULL;
    r[i].stored = x && x->type == REDIS_REPLY_INTEGER && x->integer == 1;
  }
}

void ccp__stream_time_append(ccp_buf_t *o, const char *prefix, const char *topic, int64_t t) {
  ccp_buf_t key;
  ccp_buf_init(&key);
  ccp_buf_printf(&key, "%sv1:stream_time:%s", prefix, topic);
  char num[24];
  snprintf(num, sizeof num, "%lld", (long long)t);
  const char *ev[5] = {"EVAL", STREAM_TIME_LUA, "1", key.data, num};
  size_t el[5] = {4, sizeof STREAM_TIME_LUA - 1, 1, key.len, strlen(num)};
  ccp__resp_argv(o, 5, ev, el);
  ccp_buf_release(&key);
}
