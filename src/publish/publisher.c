/*
 * The publisher thread: cadence, time rule, merge, publish, then commit
 * (see publisher.h for the cycle and docs/live.md for the protocol).
 *
 * Threads: the thread started by ccp_publisher_start() owns the view, the
 * pending alerts, G and the bundles of the cycle; the owner thread only
 * starts, finishes and frees it. The counters are atomics any thread reads.
 *
 * Checkpoints (publish_ckpt and checkpoint.interval > 0; docs/checkpoints.md):
 * a checkpoint round saves every partition once; it starts when the
 * interval has passed since the first cycle of the last round and no batch
 * is being written, and the final cycle always is one. The source is told
 * before collect, so every worker saves its engines right after that
 * cycle's export (state and next offset match exactly) — while the stream
 * is live only about a quarter of its state per cycle: the round's next
 * checkpoint cycle comes as soon as that cycle's batch is written, until
 * no worker has a partition left (bundle ckpt_left; "Spread over cycles").
 * Each checkpoint cycle's states go into a batch that the publish
 * function gets every cycle until it is written (it compresses it on its
 * own thread meanwhile: "Off the view cycle"); the saving cycle's bundles
 * are kept (offsets only) and, once the batch is written, their exports
 * whose checkpoint was stored are marked and committed. The final cycle's
 * batch is written in that cycle; it replaces one still being written.
 * An idle partition's export names its last save instead of a state
 * (ckpt_same); the batch carries it as kept (ccp_checkpoint_t.same) only
 * when that save is the one this publisher saw stored last (known[]);
 * after a failed cycle, a checkpoint not stored or a kept one not
 * accepted, the next checkpoint cycle asks for every partition
 * (CCP_CKPT_ALL), and so does the final cycle ("Idle partitions").
 *
 * Several instances (a fetch function and the topic's partition count;
 * docs/live.md, "Several instances"; several()): only the owner of
 * partition 0 writes the view, its Redis transaction fenced by that
 * partition's epoch; per partition it keeps, in slots[], the partial that
 * covers the most records (largest next offset) among its own export, the
 * one the partition's owner stored in Redis and the one it merged the cycle
 * before (on a tie its own, else the later export: an owner re-exports the
 * same records as the stream time moves), so the view never steps back to
 * a restored checkpoint nor to a partial view, and shows every partition
 * at its latest time; a partition without any partial yet skips the view. An
 * instance that does not own every partition hands its partials
 * (ccp_partial_save) to the publish function every cycle and raises the
 * shared stream time, which the next cycle's time rule follows
 * (shared_time()). Before its first assignment (no partition count, no
 * export) such an instance writes no view: it may be joining a group
 * whose writer publishes.
 *
 * Invariants: the source's commit runs only after the publish function
 * returned 0 for the same cycle, and for a batch only in the cycle that
 * wrote it; G never decreases; every bundle is freed in the cycle that
 * collected it, but those of a batch, freed with it; a batch's states are
 * freed only after a publish call that did not leave it pending.
 */
#include "publish/publisher.h"

#include <pthread.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#include <malloc.h> /* malloc_trim */
#endif
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "ccpulse/clock.h"
#include "ccpulse/log.h"
#include "ccpulse/view.h"
#include "counters/partial.h" /* ccp_partial_ref */

struct ccp_publisher {
  ccp_publisher_opts_t o;
  pthread_t thread;
  int started; /* owner thread only */

  /* publisher thread only */
  ccp_view_t *view;
  ccp_alert_t *pending;    /* alerts not yet handed to the publish function */
  int64_t pending_dropped; /* alerts the workers dropped before them (bundle alerts_dropped) */
  int32_t *pending_part;   /* their partitions (bundle->alert_partitions) */
  int npending, pending_cap;
  int64_t g;                        /* global stream time */
  ccp_publisher_bundle_t **bundles; /* the cycle's, one per source bundle */
  ccp_publisher_export_t *last;     /* the exports merged into the view, partials referenced */
  int nlast, last_cap;
  int trimmed;          /* free heap looked at since the view last changed */
  int trim_batches;     /* written batches still to look at free heap after (trim_after_batch) */
  int64_t ckpt_next_ms; /* wall clock: the next checkpoint cycle is due (0: at once) */
  /* the checkpoint round (docs/checkpoints.md, "Spread over cycles"): its
   * cycles save every partition once; spread while the stream is live */
  uint64_t ckpt_round;   /* the round in progress or the last one (0: none yet) */
  int ckpt_round_mode;   /* its mode (CCP_CKPT_CHANGED or CCP_CKPT_ALL) */
  int64_t ckpt_round_ms; /* wall clock of its first cycle */
  int ckpt_left;         /* partitions its last cycle left to later cycles of the round */
  /* the checkpoints being written (docs/checkpoints.md, "Off the view
   * cycle"): saved in one cycle, handed to publish_ckpt every cycle until
   * written (compressed meanwhile on the checkpoint writer's thread), then
   * the offsets of the stored ones committed */
  struct batch {
    int active;
    uint64_t id;         /* 0: written in the cycle that saved it (the final cycle) */
    ccp_checkpoint_t *c; /* handed to publish_ckpt */
    int n;
    ccp_buf_t *states;             /* owned: the states, taken from the exports */
    ccp_publisher_bundle_t **held; /* the saving cycle's bundles (offsets, generations), for
                                      the commit; NULL entries during that cycle */
    int64_t saved_ms;              /* wall clock of the saving cycle */
  } batch;
  uint64_t batch_seq;
  /* idle partitions (docs/checkpoints.md): per partition the save whose
   * checkpoint was stored last (id 0: none known), and whether the next
   * checkpoint cycle saves every partition (after anything not stored) */
  struct known {
    int64_t epoch;
    uint64_t id;
  } * known;
  int nknown;
  int ckpt_all;

  /* several instances (docs/live.md): per partition of the topic the
   * partial that covers the most records known to this publisher */
  struct slot {
    ccp_partial_t *partial; /* a reference; NULL: none known */
    int64_t offset;         /* its next offset; INT64_MIN: none */
    int64_t now;            /* the stream time it was exported at */
    uint32_t checked_gen;   /* own generation whose stored partial was read (0: none) */
  } * slots;
  int nslots;
  int64_t shared_g;                   /* the shared stream time read by the last cycle */
  int writer;                         /* the last cycle wrote the view (for the log) */
  const ccp_publisher_export_t **own; /* scratch: own export by partition */
  int32_t *want;                      /* scratch: partitions whose stored partial is read */
  ccp_partial_got_t *got;             /* scratch: what was read */
  ccp_partial_rec_t *recs;            /* scratch: own partials to store */
  ccp_buf_t pbuf;                     /* their bytes */
  int scratch_cap;

  /* catching up (docs/live.md): what the last cycle saw, for pacing the
   * next; backlog 0 after a failed cycle (retried at the normal cadence) */
  int64_t pace_backlog;  /* records not read yet at its export, over all bundles */
  int64_t pace_consumed; /* src.consumed() at its export */
  int64_t pace_wall_ms;  /* wall clock at its export */
  int pace_live;         /* its stream was live */
  int pacing;            /* the cycles are paced now (for the log) */

  atomic_int final_req;              /* the owner asks for the final cycle */
  pthread_mutex_t wake_mu;           /* with wake_cv: the wait between cycles ends at */
  pthread_cond_t wake_cv;            /* the cycle's time or at final_req, no polling */
  _Atomic int64_t final_deadline_ms; /* monotonic: no final attempt starts after it */
  atomic_int final_rc;               /* result of the final cycle; 1 = pending */
  _Atomic int64_t cycles, failed_cycles, now_ms, last_ok_ms;
  /* relaxed everywhere: independent counters read by scrapes; a reader may
   * see one cycle in a bucket before its duration in the sum */
  _Atomic int64_t buckets[CCP_PUBLISH_NBUCKETS], duration_us;
};

const double ccp_publish_bucket_s[CCP_PUBLISH_NBUCKETS - 1] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

/* Counts one cycle of us microseconds in the duration histogram. */
static void count_duration(ccp_publisher_t *p, int64_t us) {
  int b = 0;
  while (b < CCP_PUBLISH_NBUCKETS - 1 && (double)us > ccp_publish_bucket_s[b] * 1e6)
    b++;
  atomic_fetch_add_explicit(&p->buckets[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&p->duration_us, us, memory_order_relaxed);
}

/* ---- bundles ----------------------------------------------------------- */

void ccp_publisher_alert_copy(ccp_alert_t *dst, const ccp_alert_t *src) {
  *dst = *src;
  dst->ticket_id = src->ticket_id ? ccp_strdup(src->ticket_id) : NULL;
  dst->queue = src->queue ? ccp_strdup(src->queue) : NULL;
  dst->agent_id = src->agent_id ? ccp_strdup(src->agent_id) : NULL;
}

void ccp_publisher_alerts_free(ccp_alert_t *a, int n) {
  for (int i = 0; i < n; i++) {
    ccp_free((void *)a[i].ticket_id);
    ccp_free((void *)a[i].queue);
    ccp_free((void *)a[i].agent_id);
  }
}

void ccp_publisher_bundle_free(ccp_publisher_bundle_t *b) {
  if (!b)
    return;
  for (int i = 0; i < b->n; i++) {
    ccp_partial_free(b->items[i].partial);
    ccp_partial_free(b->items[i].header);
    ccp_buf_release(&b->items[i].ckpt);
  }
  ccp_free(b->items);
  ccp_publisher_alerts_free(b->alerts, b->nalerts);
  ccp_free(b->alerts);
  ccp_free(b->alert_partitions);
  ccp_free(b);
}

/* ---- the cycle (publisher thread) -------------------------------------- */

/* Takes the alerts of a bundle into the pending list (with their strings). */
static void take_alerts(ccp_publisher_t *p, ccp_publisher_bundle_t *b) {
  for (int j = 0; j < b->nalerts; j++) {
    if (p->npending == p->pending_cap) {
      p->pending_cap = p->pending_cap ? 2 * p->pending_cap : 64;
      p->pending = ccp_realloc(p->pending, (size_t)p->pending_cap * sizeof *p->pending);
      p->pending_part =
          ccp_realloc(p->pending_part, (size_t)p->pending_cap * sizeof *p->pending_part);
    }
    p->pending_part[p->npending] = b->alert_partitions ? b->alert_partitions[j] : -1;
    p->pending[p->npending++] = b->alerts[j];
  }
  b->nalerts = 0;
  p->pending_dropped += b->alerts_dropped;
  b->alerts_dropped = 0;
}

/* Once the publish function took the pending alerts: a catch-up's burst
 * grew the queue to MBs that an idle or steady stream never fills again
 * (ccp_scratch_oversized: over 1 MiB and over 8 times this cycle's). */
static void shrink_pending(ccp_publisher_t *p) {
  if (ccp_scratch_oversized((size_t)p->pending_cap, (size_t)p->npending, sizeof *p->pending)) {
    ccp_free(p->pending);
    ccp_free(p->pending_part);
    p->pending = NULL;
    p->pending_part = NULL;
    p->pending_cap = 0;
  }
}

/* Whether the cycle's exports are, in order, the partitions, generations and
 * partials merged into the view last time (referenced in p->last: a pointer
 * seen again is the same partial). */
static int same_as_last(const ccp_publisher_t *p) {
  int k = 0;
  for (int i = 0; i < p->o.src.nbundles; i++) {
    const ccp_publisher_bundle_t *b = p->bundles[i];
    for (int j = 0; j < b->n; j++, k++) {
      const ccp_publisher_export_t *x = &b->items[j], *l = &p->last[k];
      if (k == p->nlast || x->partial != l->partial || x->partition != l->partition ||
          x->gen != l->gen)
        return 0;
    }
  }
  return k == p->nlast;
}

/* Remembers the cycle's exports as the ones merged into the view. */
static void keep_last(ccp_publisher_t *p) {
  for (int k = 0; k < p->nlast; k++)
    ccp_partial_free(p->last[k].partial);
  p->nlast = 0;
  for (int i = 0; i < p->o.src.nbundles; i++) {
    const ccp_publisher_bundle_t *b = p->bundles[i];
    for (int j = 0; j < b->n; j++) {
      if (p->nlast == p->last_cap) {
        p->last_cap = p->last_cap ? 2 * p->last_cap : 32;
        p->last = ccp_realloc(p->last, (size_t)p->last_cap * sizeof *p->last);
      }
      ccp_publisher_export_t *l = &p->last[p->nlast++];
      *l = b->items[j];
      l->partial = ccp_partial_ref(b->items[j].partial);
      l->header = NULL;
      ccp_buf_init(&l->ckpt); /* the bundle owns it */
    }
  }
}

/* Whether this cycle is a checkpoint cycle: checkpoints on, and the final
 * cycle, or none is being written and either the round in progress left
 * partitions to save (at once) or the interval passed since the first
 * cycle of the last round. Then CCP_CKPT_ALL (the final cycle, and the
 * first round after a checkpoint or a cycle that was not stored) or
 * CCP_CKPT_CHANGED; *fresh says whether it starts a new round (anything not
 * stored since the round began starts it again, asking for every
 * partition). */
static int checkpoint_due(const ccp_publisher_t *p, int final, int *fresh) {
  int64_t every = p->o.cfg->checkpoint_interval_ms;
  *fresh = 1;
  if (!p->o.publish_ckpt || every <= 0)
    return 0;
  if (final)
    return CCP_CKPT_ALL;
  if (p->batch.active || ccp_clock_wall_ms() < p->ckpt_next_ms)
    return 0;
  if (p->ckpt_left && !p->ckpt_all) {
    *fresh = 0;
    return p->ckpt_round_mode;
  }
  return p->ckpt_all ? CCP_CKPT_ALL : CCP_CKPT_CHANGED;
}

/* Tells the source whether the cycle saves checkpoints, in which round, and
 * whether spread over cycles: only while the stream is live (a catch-up
 * saves every partition in one cycle, as fast as it can; the final cycle
 * too). */
static void checkpoint_tell(ccp_publisher_t *p, int ckpt, int fresh, int final, int live) {
  const ccp_publisher_source_t *src = &p->o.src;
  if (ckpt && fresh) {
    p->ckpt_round++;
    p->ckpt_round_mode = ckpt;
    p->ckpt_round_ms = ccp_clock_wall_ms();
    if (ckpt == CCP_CKPT_ALL)
      p->ckpt_all = 0; /* set again by anything of this round not stored */
  }
  if (src->checkpoint)
    src->checkpoint(src->opaque, ckpt, p->ckpt_round, ckpt && live && !final);
}

/* After collect in a checkpoint cycle: the partitions left to later cycles
 * of its round. */
static void checkpoint_left(ccp_publisher_t *p) {
  p->ckpt_left = 0;
  for (int i = 0; i < p->o.src.nbundles; i++)
    p->ckpt_left += p->bundles[i]->ckpt_left;
}

/* The save of partition q whose checkpoint was stored last (NULL: none known). */
static struct known *known_of(ccp_publisher_t *p, int32_t q) {
  if (q < 0)
    return NULL;
  if (q >= p->nknown) {
    int n = CCP_MAX(q + 1, 2 * p->nknown);
    p->known = ccp_realloc(p->known, (size_t)n * sizeof *p->known);
    memset(p->known + p->nknown, 0, (size_t)(n - p->nknown) * sizeof *p->known);
    p->nknown = n;
  }
  return &p->known[q];
}

/* Forgets every stored save: the next checkpoint cycle saves every partition
 * (a failed cycle, a checkpoint not stored: Redis may hold anything). */
static void known_forget(ccp_publisher_t *p) {
  if (p->known)
    memset(p->known, 0, (size_t)p->nknown * sizeof *p->known);
  p->ckpt_all = 1;
}

/* Whether export e skipped its save (ckpt_same) and its save is the one
 * whose checkpoint this publisher saw stored last, under the same epoch. */
static int same_stored(ccp_publisher_t *p, const ccp_publisher_export_t *e) {
  const struct known *k = e->ckpt_same ? known_of(p, e->partition) : NULL;
  return k && k->id == e->ckpt_id && k->epoch == e->epoch;
}

/* Frees a batch (and the bundles it holds); it must not be in publish_ckpt's hands. */
static void batch_free(ccp_publisher_t *p, struct batch *b) {
  for (int i = 0; i < b->n; i++)
    ccp_buf_release(&b->states[i]);
  ccp_free(b->states);
  ccp_free(b->c);
  for (int i = 0; b->held && i < p->o.src.nbundles; i++)
    ccp_publisher_bundle_free(b->held[i]);
  ccp_free(b->held);
  memset(b, 0, sizeof *b);
}

/* A checkpoint cycle: takes the states out of the bundles' exports into a
 * new batch (none when no export has one). The final cycle's is written in
 * the cycle itself (id 0), any other's on a later one once compressed. */
static void batch_new(ccp_publisher_t *p, int final) {
  struct batch *b = &p->batch;
  int n = 0;
  for (int i = 0; i < p->o.src.nbundles; i++)
    for (int j = 0; j < p->bundles[i]->n; j++) {
      ccp_publisher_export_t *e = &p->bundles[i]->items[j];
      if (e->ckpt_same && !same_stored(p, e)) { /* its last save is not the stored one */
        e->ckpt_same = 0;                       /* no checkpoint this cycle; all saved next */
        p->ckpt_all = 1;
      }
      n += e->has_ckpt || e->ckpt_same;
    }
  if (n == 0)
    return;
  b->active = 1;
  b->id = final ? 0 : ++p->batch_seq;
  b->n = n;
  b->c = ccp_calloc((size_t)n, sizeof *b->c);
  b->states = ccp_calloc((size_t)n, sizeof *b->states);
  b->held = ccp_calloc((size_t)p->o.src.nbundles, sizeof *b->held);
  b->saved_ms = ccp_clock_wall_ms();
  int k = 0;
  for (int i = 0; i < p->o.src.nbundles; i++)
    for (int j = 0; j < p->bundles[i]->n; j++) {
      ccp_publisher_export_t *e = &p->bundles[i]->items[j];
      if (!e->has_ckpt && !e->ckpt_same)
        continue;
      b->states[k] = e->ckpt; /* moved: the batch owns it now (none when same) */
      ccp_buf_init(&e->ckpt);
      b->c[k] = (ccp_checkpoint_t){.topic = p->o.cfg->kafka_topic,
                                   .partition = e->partition,
                                   .offset = e->next_offset,
                                   .epoch = e->epoch,
                                   .saved_ms = b->saved_ms,
                                   .state = b->states[k].data,
                                   .len = b->states[k].len,
                                   .alert_floor = e->alert_floor,
                                   .same = !e->has_ckpt,
                                   /* catching up: too far from its base for a delta */
                                   .whole = !p->pace_live};
      k++;
    }
}

/* Sets ckpt_stored on the exports of bundles (the batch's saving cycle) from
 * the written batch, and notes which saves are stored; anything not stored
 * makes the next checkpoint cycle save every partition. */
static void batch_mark(ccp_publisher_t *p, ccp_publisher_bundle_t *const *bundles) {
  int k = 0;
  for (int i = 0; i < p->o.src.nbundles; i++)
    for (int j = 0; j < bundles[i]->n; j++) {
      ccp_publisher_export_t *e = &bundles[i]->items[j];
      if (!e->has_ckpt && !e->ckpt_same)
        continue;
      const ccp_checkpoint_t *c = &p->batch.c[k++];
      e->ckpt_stored = c->stored;
      struct known *kn = known_of(p, e->partition);
      if (c->stored) {
        kn->epoch = e->epoch;
        kn->id = e->ckpt_id;
      } else {
        kn->id = 0;
        p->ckpt_all = 1;
      }
    }
}

/* A written batch (not yet freed): the quiet cycle after it looks at the
 * free heap again (merge_own) when it held states, which are freed now,
 * and after the batch that follows such a one: the checkpoint writer drops
 * its copies of a partition's base state when the partition's checkpoint
 * is kept (ckpt_store.c), that is in the batch after its last state. An
 * idle stream's later batches (all kept) free nothing: malloc_trim, ~5 ms
 * with 32 partitions, then does not run every checkpoint interval. */
static void trim_after_batch(ccp_publisher_t *p) {
  for (int i = 0; i < p->batch.n; i++)
    if (!p->batch.c[i].same)
      p->trim_batches = 2;
  if (p->trim_batches > 0) {
    p->trim_batches--;
    p->trimmed = 0;
  }
}

/* Keeps the saving cycle's bundles in the batch, for its commit: only the
 * offsets (their partials and alerts are freed). */
static void batch_hold(ccp_publisher_t *p) {
  for (int i = 0; i < p->o.src.nbundles; i++) {
    ccp_publisher_bundle_t *b = p->bundles[i];
    for (int j = 0; j < b->n; j++) {
      ccp_partial_free(b->items[j].partial);
      ccp_partial_free(b->items[j].header);
      b->items[j].partial = b->items[j].header = NULL;
    }
    ccp_publisher_alerts_free(b->alerts, b->nalerts);
    ccp_free(b->alerts);
    ccp_free(b->alert_partitions);
    b->alerts = NULL;
    b->alert_partitions = NULL;
    b->nalerts = 0;
    p->batch.held[i] = b;
    p->bundles[i] = NULL;
  }
}

/* Calls the publish function with view (NULL: no view this cycle) and the
 * batch being written, if any. x: the partials and stream time of several
 * instances (NULL: none); x->ckpt_pending says whether the batch is still
 * being written. */
static int publish(ccp_publisher_t *p, const ccp_view_t *view, ccp_publish_extra_t *x) {
  if (!p->o.publish_ckpt)
    return p->o.publish ? p->o.publish(p->o.opaque, view, p->pending, p->npending) : 0;
  ccp_publish_extra_t none = {.stream_time = INT64_MIN};
  if (!x)
    x = &none;
  x->ckpts = p->batch.active ? p->batch.c : NULL;
  x->nckpts = p->batch.active ? p->batch.n : 0;
  x->ckpt_batch = p->batch.id;
  x->ckpt_pending = 0;
  x->shared_time = INT64_MIN;
  x->alert_partitions = p->pending_part;
  x->alerts_dropped = p->pending_dropped;
  return p->o.publish_ckpt(p->o.opaque, view, p->pending, p->npending, x);
}

/* ---- several instances (docs/live.md, "Several instances") ------------ */

/* The time rule's part for several instances: export at no less than the
 * largest stream time over every instance's partitions, as the last cycle
 * read it back from Redis (INT64_MIN while one instance owns everything). */
static int64_t shared_time(const ccp_publisher_t *p, int64_t g) { return CCP_MAX(g, p->shared_g); }

/* Sizes the per-partition state and the scratch arrays for n partitions. */
static void several_reserve(ccp_publisher_t *p, int n) {
  if (n > p->nslots) {
    p->slots = ccp_realloc(p->slots, (size_t)n * sizeof *p->slots);
    for (int i = p->nslots; i < n; i++)
      p->slots[i] = (struct slot){NULL, INT64_MIN, INT64_MIN, 0};
    p->nslots = n;
  }
  if (n > p->scratch_cap) {
    p->scratch_cap = n;
    p->own = ccp_realloc(p->own, (size_t)n * sizeof *p->own);
    p->want = ccp_realloc(p->want, (size_t)n * sizeof *p->want);
    p->got = ccp_realloc(p->got, (size_t)n * sizeof *p->got);
    p->recs = ccp_realloc(p->recs, (size_t)n * sizeof *p->recs);
  }
}

/* Makes c, exported at now, the best known partial of partition q (a new
 * reference). */
static void slot_take(ccp_publisher_t *p, int q, ccp_partial_t *c, int64_t offset, int64_t now) {
  struct slot *s = &p->slots[q];
  if (s->partial != c) {
    ccp_partial_free(s->partial);
    s->partial = ccp_partial_ref(c);
  }
  s->offset = offset;
  s->now = now;
}

/* Serialises the own partials into p->recs for the publish function. */
static int own_partials(ccp_publisher_t *p, int n) {
  ccp_buf_clear(&p->pbuf);
  size_t at[n > 0 ? n : 1];
  int k = 0;
  for (int q = 0; q < n; q++) {
    const ccp_publisher_export_t *x = p->own[q];
    if (!x || x->epoch <= 0)
      continue; /* no fencing epoch: not stored */
    at[k] = p->pbuf.len;
    ccp_partial_save(x->partial, x->header, p->o.cfg, &p->pbuf);
    const ccp_partial_t *t = x->header ? x->header : x->partial;
    p->recs[k++] = (ccp_partial_rec_t){.partition = x->partition,
                                       .epoch = x->epoch,
                                       .offset = x->next_offset,
                                       .now = ccp_partial_now(t)};
  }
  for (int i = 0; i < k; i++) { /* the buffer has its final address now */
    size_t end = i + 1 < k ? at[i + 1] : p->pbuf.len;
    p->recs[i].data = p->pbuf.data + at[i];
    p->recs[i].len = end - at[i];
  }
  return k;
}

static void merge_own(ccp_publisher_t *p);

/* The cycle with several instances possible (n partitions in the topic):
 * returns the view to publish (NULL: none this cycle: not the writer, a
 * partition without a partial, or the writer's reads failed) and fills x. */
static const ccp_view_t *several(ccp_publisher_t *p, int n, int64_t g, ccp_publish_extra_t *x) {
  for (int i = 0; i < p->o.src.nbundles; i++) /* metadata may lag a new partition */
    for (int j = 0; j < p->bundles[i]->n; j++)
      n = CCP_MAX(n, p->bundles[i]->items[j].partition + 1);
  several_reserve(p, n);
  int nown = 0;
  memset(p->own, 0, (size_t)n * sizeof *p->own);
  for (int i = 0; i < p->o.src.nbundles; i++)
    for (int j = 0; j < p->bundles[i]->n; j++) {
      const ccp_publisher_export_t *e = &p->bundles[i]->items[j];
      if (e->partition >= 0) {
        p->own[e->partition] = e;
        nown++;
      }
    }
  int multi = nown < n;
  x->npartials = multi ? own_partials(p, n) : 0;
  x->partials = p->recs;
  x->stream_time = multi && g != INT64_MIN ? g : INT64_MIN;

  const ccp_publisher_export_t *x0 = p->own[0];
  int writer = x0 != NULL;
  int nwant = 0;
  for (int q = 0; writer && q < n; q++)
    if (!p->own[q] || p->slots[q].checked_gen != p->own[q]->gen)
      p->want[nwant++] = q;
  int fence_ok = 1;
  int64_t fence = writer ? x0->epoch : 0;
  if (writer && (nwant || fence > 0)) {
    if (p->o.fetch(p->o.opaque, 0, fence, p->want, nwant, p->got, &fence_ok) != 0)
      return NULL; /* Redis away: the publish fails too, or writes no view */
  } else {
    nwant = 0;
  }
  /* per partition: the partial covering the most records (own on a tie:
   * its time is this cycle's; a stored one on a tie when exported later:
   * the same records, the windows at a later time, as its owner re-exports
   * them while the stream time moves on without new records of it) */
  int missing = -1;
  for (int i = 0, q = 0; writer && q < n; q++) {
    struct slot *s = &p->slots[q];
    if (i < nwant && p->want[i] == q) {
      ccp_partial_got_t *gt = &p->got[i++];
      int64_t gnow = gt->partial ? ccp_partial_now(gt->partial) : INT64_MIN;
      if (gt->partial && (gt->offset > s->offset || (gt->offset == s->offset && gnow > s->now)))
        slot_take(p, q, gt->partial, gt->offset, gnow);
      ccp_partial_free(gt->partial);
      gt->partial = NULL;
      if (p->own[q] && fence_ok)
        s->checked_gen = p->own[q]->gen;
    }
    const ccp_publisher_export_t *e = p->own[q];
    if (e && e->next_offset >= s->offset)
      slot_take(p, q, e->partial, e->next_offset,
                ccp_partial_now(e->header ? e->header : e->partial));
    if (!s->partial && missing < 0)
      missing = q;
  }
  for (int i = 0; i < nwant; i++)
    ccp_partial_free(p->got[i].partial);
  writer &= fence_ok;
  if (writer != p->writer)
    ccp_log(CCP_LOG_INFO, "publish",
            writer ? "this instance writes the view (owner of partition 0 of '%s')"
                   : "this instance no longer writes the view of '%s'",
            p->o.cfg->kafka_topic);
  p->writer = writer;
  if (!writer)
    return NULL;
  if (missing >= 0) {
    ccp_log(CCP_LOG_WARN, "publish",
            "view of '%s' not written: no partial of partition %d yet (its owner has not "
            "stored one)",
            p->o.cfg->kafka_topic, missing);
    return NULL;
  }
  int all_own = !multi;
  for (int q = 0; q < n && all_own; q++)
    all_own = p->own[q] && p->slots[q].partial == p->own[q]->partial;
  if (all_own) { /* one instance, caught up: the view of its own exports */
    merge_own(p);
    return p->view;
  }
  for (int k = 0; k < p->nlast; k++) /* that path starts afresh next time */
    ccp_partial_free(p->last[k].partial);
  p->nlast = 0;
  ccp_view_reset(p->view);
  for (int q = 0; q < n; q++) {
    const ccp_publisher_export_t *e = p->own[q];
    if (e && p->slots[q].partial == e->partial)
      ccp_view_merge(p->view, e->partial);
    else
      ccp_view_merge_figures(p->view, p->slots[q].partial);
    if (e) /* the view's time is this instance's */
      ccp_view_set_time(p->view, e->header ? e->header : e->partial);
  }
  return p->view;
}

/* One instance (or no fetch function): the view of the own partitions.
 * When nothing changed anywhere the merged figures stay, only time moves. */
static void merge_own(ccp_publisher_t *p) {
  const ccp_publisher_source_t *src = &p->o.src;
  int same = same_as_last(p);
  if (!same)
    ccp_view_reset(p->view);
  for (int i = 0; i < src->nbundles; i++) {
    ccp_publisher_bundle_t *b = p->bundles[i];
    for (int j = 0; j < b->n; j++) {
      const ccp_publisher_export_t *x = &b->items[j];
      if (!same)
        ccp_view_merge(p->view, x->partial);
      ccp_view_set_time(p->view, x->header ? x->header : x->partial);
    }
    take_alerts(p, b);
  }
  if (!same)
    keep_last(p);
  p->trimmed &= same;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  /* The first cycle of a quiet period, and the first after each of the
   * checkpoint batches that free memory in it (trim_after_batch): a
   * catch-up leaves free pages in every thread's arena; give them back
   * when there are many (a live stream's bucket edges end quiet periods:
   * little is free by then). */
  if (same && !p->trimmed) {
    if (mallinfo2().fordblks >= (size_t)32 << 20)
      malloc_trim(0);
    p->trimmed = 1;
  }
#endif
}

/* Catching up (docs/live.md): right after collect, what the next cycle's
 * pacing needs (the workers wait at the barrier: the count read now is the
 * one the bundles' backlog was taken at). */
static void pace_note(ccp_publisher_t *p, int live) {
  const ccp_publisher_source_t *src = &p->o.src;
  int64_t backlog = 0;
  for (int i = 0; i < src->nbundles; i++)
    backlog += p->bundles[i]->backlog;
  p->pace_backlog = backlog;
  p->pace_consumed = src->consumed ? src->consumed(src->opaque) : 0;
  p->pace_wall_ms = ccp_clock_wall_ms();
  p->pace_live = live;
}

/* Whether the cycle due at wall time `now` waits (docs/live.md, "Catching
 * up"): only while the last cycle's stream was not live (no verdict then
 * depends on the wall clock or on when a cycle runs), for at most
 * publish.catchup_interval since that cycle, and while what was not read
 * at its export, less what was read since, would take more than two
 * publish intervals at the pace measured since (read so far per
 * interval). So a consumer that reaches the end of its backlog publishes
 * within about an interval, and a live one, whose backlog is a fetch or
 * two, never waits. Nor does the first cycle after the first records were
 * read, when the last one came before any (at a start a cycle can see the
 * backlog of the first fetch before its records are read): the first
 * figures are shown within an interval, not a catchup interval later. */
static int pace_wait(ccp_publisher_t *p, int64_t now) {
  const ccp_config_t *cfg = p->o.cfg;
  const ccp_publisher_source_t *src = &p->o.src;
  int64_t since = now - p->pace_wall_ms;
  int wait = 0;
  if (src->consumed && cfg->catchup_interval_ms > cfg->publish_interval_ms && !p->pace_live &&
      p->pace_backlog > 0 && since > 0 && since < cfg->catchup_interval_ms) {
    int64_t read = src->consumed(src->opaque) - p->pace_consumed;
    int64_t left = p->pace_backlog - read;
    /* left > 2 x (read / since) x interval, without the division */
    wait = left > 0 && (p->pace_consumed > 0 || read == 0) &&
           (double)left * (double)since > 2.0 * (double)read * (double)cfg->publish_interval_ms;
  }
  if (wait != p->pacing) {
    p->pacing = wait;
    if (wait)
      ccp_log(CCP_LOG_DEBUG, "publisher",
              "catching up (%lld records behind): a cycle every publish.catchup_interval",
              (long long)p->pace_backlog);
    else
      ccp_log(CCP_LOG_DEBUG, "publisher", "a cycle every publish.interval again");
  }
  return wait;
}

/* One cycle; returns 0 when published (and committed), else non-zero. */
static int cycle(ccp_publisher_t *p, int final) {
  const ccp_config_t *cfg = p->o.cfg;
  const ccp_publisher_source_t *src = &p->o.src;
  int64_t t0 = ccp_clock_mono_ns();
  int64_t reported = src->report(src->opaque);
  int64_t g = shared_time(p, CCP_MAX(p->g, reported));
  int64_t live = INT64_MIN; /* the wall target of settled partitions */
  if (g != INT64_MIN) {     /* time rule: follow the wall clock while live */
    int64_t wall = p->o.clock_ms ? p->o.clock_ms() : ccp_clock_wall_ms();
    if (wall - g <= cfg->lateness_ms) {
      live = wall - cfg->idle_advance_ms;
      g = CCP_MAX(g, live);
    }
  }
  p->g = g;
  int round_fresh;
  int ckpt = checkpoint_due(p, final, &round_fresh);
  checkpoint_tell(p, ckpt, round_fresh, final, live != INT64_MIN);
  src->collect(src->opaque, g, live, p->bundles);
  pace_note(p, live != INT64_MIN);
  struct batch old = {0};
  int fresh = 0; /* the batch was saved in this cycle */
  if (ckpt) {
    checkpoint_left(p);
    old = p->batch; /* the final cycle's replaces one still being written */
    memset(&p->batch, 0, sizeof p->batch);
    batch_new(p, final);
    fresh = p->batch.active;
  }

  int n = p->o.fetch && src->partitions ? src->partitions(src->opaque) : 0;
  int nexports = 0;
  for (int i = 0; i < src->nbundles; i++)
    nexports += p->bundles[i]->n;
  const ccp_view_t *view = p->view;
  ccp_publish_extra_t x = {.stream_time = INT64_MIN};
  if (n == 0 && nexports == 0 && p->o.fetch && src->partitions) {
    /* no assignment yet (the partition count comes with the first): an
     * instance joining a group must not write its empty view over the
     * writer's, and one alone has nothing to show yet */
    view = NULL;
  } else if (n > 0) { /* possibly several instances */
    view = several(p, n, g, &x);
    for (int i = 0; i < src->nbundles; i++)
      take_alerts(p, p->bundles[i]); /* (merge_own took them already) */
  } else {
    merge_own(p);
  }
  if (final && view) /* the publish function writes everything it was holding back */
    ccp_view_set_final(p->view);

  int rc = publish(p, view, &x);
  batch_free(p, &old); /* the publish function dropped it */
  int written = p->batch.active && !x.ckpt_pending;
  if (written) { /* stored or not: the commit may take the offsets of the stored ones */
    batch_mark(p, fresh ? p->bundles : p->batch.held);
    trim_after_batch(p);
  }
  if (rc == 0 && x.shared_time != INT64_MIN)
    p->shared_g = CCP_MAX(p->shared_g, x.shared_time);
  /* the publish function took the alerts (it queues them until a cycle succeeds) */
  ccp_publisher_alerts_free(p->pending, p->npending);
  shrink_pending(p);
  p->npending = 0;
  p->pending_dropped = 0;
  if (rc == 0) {
    atomic_store(&p->now_ms, g);
    atomic_fetch_add(&p->cycles, 1);
    src->commit(src->opaque, p->bundles); /* only now: the view is durable */
    if (written && !fresh)                /* the offsets of checkpoints saved in an earlier cycle */
      src->commit(src->opaque, p->batch.held);
    /* (none to write: no partition has one); the round's next cycle at once */
    if (written || (ckpt && !p->batch.active))
      p->ckpt_next_ms = p->ckpt_left ? 0 : p->ckpt_round_ms + cfg->checkpoint_interval_ms;
  } else {
    p->pace_backlog = 0; /* retried at the normal cadence */
    atomic_fetch_add(&p->failed_cycles, 1);
    if (p->o.publish_ckpt)
      known_forget(p); /* part of it may have landed, or Redis lost data */
  }
  /* written (a failed one stays due: ckpt_next_ms unchanged), or kept for
   * the cycles to come with the offsets of its saving cycle */
  if (written)
    batch_free(p, &p->batch);
  else if (fresh)
    batch_hold(p);
  for (int i = 0; i < src->nbundles; i++) {
    ccp_publisher_bundle_free(p->bundles[i]);
    p->bundles[i] = NULL;
  }
  if (src->end)
    src->end(src->opaque);
  count_duration(p, (ccp_clock_mono_ns() - t0) / 1000);
  if (rc == 0)
    atomic_store_explicit(&p->last_ok_ms, ccp_clock_mono_ms(), memory_order_relaxed);
  return rc;
}

/* Sleeps until the wall clock reaches next_ms or the owner asks for the
 * final cycle, whichever comes first (one wake-up a cycle: a sleep of at
 * most 20 ms in a loop woke the thread ~50 times a second at the default
 * interval). */
static void wait_until(ccp_publisher_t *p, int64_t next_ms) {
  struct timespec at = {(time_t)(next_ms / 1000), (long)(next_ms % 1000) * 1000000L};
  pthread_mutex_lock(&p->wake_mu);
  if (!atomic_load(&p->final_req)) /* set under the mutex: not missed between here and the wait */
    pthread_cond_timedwait(&p->wake_cv, &p->wake_mu, &at); /* CLOCK_REALTIME, as next_ms */
  pthread_mutex_unlock(&p->wake_mu);
}

static void *publisher_main(void *arg) {
  ccp_publisher_t *p = arg;
  const ccp_config_t *cfg = p->o.cfg;
  pthread_setname_np(pthread_self(), "ccp-publish"); /* for top -H, perf, /proc */
  int64_t next = ccp_clock_wall_ms() + cfg->publish_interval_ms;
  while (!atomic_load(&p->final_req)) {
    int64_t now = ccp_clock_wall_ms();
    if (now < next) {
      wait_until(p, next);
      continue;
    }
    if (pace_wait(p, now)) { /* catching up: looked at again an interval later */
      next += cfg->publish_interval_ms;
      continue;
    }
    int rc = cycle(p, 0);
    if (rc == 0) {
      next = CCP_MAX(next + cfg->publish_interval_ms, ccp_clock_wall_ms());
    } else {
      /* the publish function backs off its reconnects and fails fast
       * meanwhile: retry at the normal cadence, with fresh exports */
      next = ccp_clock_wall_ms() + cfg->publish_interval_ms;
    }
  }
  /* final cycle: retried until final_timeout_ms after the owner asked
   * (ccp_publisher_finish), the cycle in flight then included */
  int64_t deadline = atomic_load(&p->final_deadline_ms);
  int rc;
  long backoff = 100;
  while ((rc = cycle(p, 1)) != 0 && ccp_clock_mono_ms() + backoff < deadline) {
    ccp_clock_sleep_ms(backoff);
    backoff = CCP_MIN(backoff * 2, 1000);
  }
  atomic_store(&p->final_rc, rc == 0 ? 0 : -1);
  return NULL;
}

/* ---- lifecycle (owner thread) ------------------------------------------ */

ccp_publisher_t *ccp_publisher_new(const ccp_publisher_opts_t *opts) {
  ccp_publisher_t *p = ccp_calloc(1, sizeof *p);
  p->o = *opts;
  p->view = ccp_view_new(opts->cfg);
  p->g = INT64_MIN;
  p->shared_g = INT64_MIN;
  ccp_buf_init(&p->pbuf);
  p->bundles =
      ccp_calloc((size_t)(opts->src.nbundles ? opts->src.nbundles : 1), sizeof *p->bundles);
  atomic_store(&p->final_rc, 1);
  pthread_mutex_init(&p->wake_mu, NULL);
  pthread_cond_init(&p->wake_cv, NULL);
  return p;
}

int ccp_publisher_start(ccp_publisher_t *p) {
  if (pthread_create(&p->thread, NULL, publisher_main, p) != 0)
    return -CCP_EIO;
  p->started = 1;
  return 0;
}

int ccp_publisher_finish(ccp_publisher_t *p) {
  if (!p->started)
    return -CCP_EIO;
  atomic_store(&p->final_deadline_ms,
               ccp_clock_mono_ms() + (p->o.final_timeout_ms > 0 ? p->o.final_timeout_ms : 10000));
  pthread_mutex_lock(&p->wake_mu);
  atomic_store(&p->final_req, 1);   /* seq_cst: the deadline is seen with the request */
  pthread_cond_signal(&p->wake_cv); /* out of its wait between cycles */
  pthread_mutex_unlock(&p->wake_mu);
  pthread_join(p->thread, NULL);
  p->started = 0;
  return atomic_load(&p->final_rc) == 0 ? 0 : -CCP_EIO;
}

void ccp_publisher_free(ccp_publisher_t *p) {
  if (!p)
    return;
  CCP_ASSERT(!p->started); /* finish first */
  for (int i = 0; i < p->o.src.nbundles; i++)
    ccp_publisher_bundle_free(p->bundles[i]);
  ccp_free(p->bundles);
  for (int k = 0; k < p->nlast; k++)
    ccp_partial_free(p->last[k].partial);
  ccp_free(p->last);
  batch_free(p, &p->batch);
  ccp_free(p->known);
  for (int q = 0; q < p->nslots; q++)
    ccp_partial_free(p->slots[q].partial);
  ccp_free(p->slots);
  ccp_free(p->own);
  ccp_free(p->want);
  ccp_free(p->got);
  ccp_free(p->recs);
  ccp_buf_release(&p->pbuf);
  ccp_publisher_alerts_free(p->pending, p->npending);
  ccp_free(p->pending);
  ccp_free(p->pending_part);
  ccp_view_free(p->view);
  pthread_cond_destroy(&p->wake_cv);
  pthread_mutex_destroy(&p->wake_mu);
  ccp_free(p);
}

void ccp_publisher_stats(const ccp_publisher_t *cp, ccp_publisher_stats_t *out) {
  ccp_publisher_t *p = (ccp_publisher_t *)cp; /* atomics: loads only */
  out->cycles = atomic_load(&p->cycles);
  out->failed_cycles = atomic_load(&p->failed_cycles);
  out->now_ms = atomic_load(&p->now_ms);
  out->last_ok_ms = atomic_load_explicit(&p->last_ok_ms, memory_order_relaxed);
  for (int i = 0; i < CCP_PUBLISH_NBUCKETS; i++)
    out->buckets[i] = atomic_load_explicit(&p->buckets[i], memory_order_relaxed);
  out->duration_us = atomic_load_explicit(&p->duration_us, memory_order_relaxed);
}
