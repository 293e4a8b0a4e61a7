/*
 * The publisher thread: cadence, time rule, merge, publish, then commit
 * (see publisher.h for the cycle and docs/live.md for the protocol).
 *
 * Threads: the thread started by ccp_publisher_start() owns the view, the
 * pending alerts, G and the bundles of the cycle; the owner thread only
 * starts, finishes and frees it. The counters are atomics any thread reads.
 *
 * Checkpoints (publish_ckpt and checkpoint.interval > 0; docs/checkpoints.md):
 * a cycle is a checkpoint cycle when the interval has passed since the last
 * checkpoint cycle that was published, and the final cycle always is; the
 * source is told before collect, so every worker saves its engines right
 * after that cycle's export (state and next offset match exactly), and the
 * publish function gets the states to write in the cycle's transaction; the
 * exports whose checkpoint it stored are marked for the commit.
 *
 * Invariants: the source's commit runs only after the publish function
 * returned 0 for the same cycle; G never decreases; every bundle is freed in
 * the cycle that collected it.
 */
#include "publish/publisher.h"

#include <pthread.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#include <malloc.h> /* malloc_trim */
#endif
#include <stdatomic.h>
#include <string.h>

#include "ccpulse/clock.h"
#include "ccpulse/view.h"
#include "counters/partial.h" /* ccp_partial_ref */

struct ccp_publisher {
  ccp_publisher_opts_t o;
  pthread_t thread;
  int started; /* owner thread only */

  /* publisher thread only */
  ccp_view_t *view;
  ccp_alert_t *pending; /* alerts not yet handed to the publish function */
  int npending, pending_cap;
  int64_t g;                        /* global stream time */
  ccp_publisher_bundle_t **bundles; /* the cycle's, one per source bundle */
  ccp_publisher_export_t *last;     /* the exports merged into the view, partials referenced */
  int nlast, last_cap;
  int trimmed;             /* free heap looked at since the view last changed */
  int64_t ckpt_next_ms;    /* wall clock: the next checkpoint cycle is due (0: at once) */
  ccp_checkpoint_t *ckpts; /* the cycle's checkpoints handed to publish_ckpt */
  int ckpts_cap;

  atomic_int final_req; /* the owner asks for the final cycle */
  atomic_int final_rc;  /* result of the final cycle; 1 = pending */
  _Atomic int64_t cycles, failed_cycles, now_ms;
};

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
  ccp_free(b);
}

/* ---- the cycle (publisher thread) -------------------------------------- */

/* Takes the alerts of a bundle into the pending list (with their strings). */
static void take_alerts(ccp_publisher_t *p, ccp_publisher_bundle_t *b) {
  for (int j = 0; j < b->nalerts; j++) {
    if (p->npending == p->pending_cap) {
      p->pending_cap = p->pending_cap ? 2 * p->pending_cap : 64;
      p->pending = ccp_realloc(p->pending, (size_t)p->pending_cap * sizeof *p->pending);
    }
    p->pending[p->npending++] = b->alerts[j];
  }
  b->nalerts = 0;
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
 * cycle or the interval passed since the last published one. */
static int checkpoint_due(const ccp_publisher_t *p, int final) {
  int64_t every = p->o.cfg->checkpoint_interval_ms;
  if (!p->o.publish_ckpt || every <= 0)
    return 0;
  return final || ccp_clock_wall_ms() >= p->ckpt_next_ms;
}

/* Calls the publish function; in a checkpoint cycle, with the bundles'
 * checkpoints, and marks the exports whose checkpoint was stored. */
static int publish(ccp_publisher_t *p, int ckpt) {
  if (!p->o.publish_ckpt)
    return p->o.publish ? p->o.publish(p->o.opaque, p->view, p->pending, p->npending) : 0;
  int n = 0;
  for (int i = 0; ckpt && i < p->o.src.nbundles; i++)
    for (int j = 0; j < p->bundles[i]->n; j++) {
      const ccp_publisher_export_t *x = &p->bundles[i]->items[j];
      if (!x->has_ckpt)
        continue;
      if (n == p->ckpts_cap) {
        p->ckpts_cap = p->ckpts_cap ? 2 * p->ckpts_cap : 16;
        p->ckpts = ccp_realloc(p->ckpts, (size_t)p->ckpts_cap * sizeof *p->ckpts);
      }
      p->ckpts[n++] = (ccp_checkpoint_t){.topic = p->o.cfg->kafka_topic,
                                         .partition = x->partition,
                                         .offset = x->next_offset,
                                         .epoch = x->epoch,
                                         .saved_ms = ccp_clock_wall_ms(),
                                         .state = x->ckpt.data,
                                         .len = x->ckpt.len};
    }
  int rc = p->o.publish_ckpt(p->o.opaque, p->view, p->pending, p->npending, p->ckpts, n);
  int k = 0;
  for (int i = 0; ckpt && i < p->o.src.nbundles; i++)
    for (int j = 0; j < p->bundles[i]->n; j++) {
      ccp_publisher_export_t *x = &p->bundles[i]->items[j];
      if (x->has_ckpt)
        x->ckpt_stored = p->ckpts[k++].stored;
    }
  if (rc == 0 && ckpt)
    p->ckpt_next_ms = ccp_clock_wall_ms() + p->o.cfg->checkpoint_interval_ms;
  return rc;
}

/* One cycle; returns 0 when published (and committed), else non-zero. */
static int cycle(ccp_publisher_t *p, int final) {
  const ccp_config_t *cfg = p->o.cfg;
  const ccp_publisher_source_t *src = &p->o.src;
  int64_t reported = src->report(src->opaque);
  int64_t g = CCP_MAX(p->g, reported);
  if (g != INT64_MIN) { /* time rule: follow the wall clock while live */
    int64_t wall = p->o.clock_ms ? p->o.clock_ms() : ccp_clock_wall_ms();
    if (wall - g <= cfg->lateness_ms)
      g = CCP_MAX(g, wall - cfg->idle_advance_ms);
  }
  p->g = g;
  int ckpt = checkpoint_due(p, final);
  if (src->checkpoint)
    src->checkpoint(src->opaque, ckpt);
  src->collect(src->opaque, g, p->bundles);

  /* nothing changed anywhere: the merged figures stay, only time moves */
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
  /* The first cycle of a quiet period: a catch-up leaves free pages in
   * every thread's arena; give them back when there are many (a live
   * stream's bucket edges end quiet periods: little is free by then). */
  if (same && !p->trimmed) {
    if (mallinfo2().fordblks >= (size_t)32 << 20)
      malloc_trim(0);
    p->trimmed = 1;
  }
#endif
  if (final) /* the publish function writes everything it was holding back */
    ccp_view_set_final(p->view);

  int rc = publish(p, ckpt);
  /* the publish function took the alerts (it queues them until a cycle succeeds) */
  ccp_publisher_alerts_free(p->pending, p->npending);
  p->npending = 0;
  if (rc == 0) {
    atomic_store(&p->now_ms, g);
    atomic_fetch_add(&p->cycles, 1);
    src->commit(src->opaque, p->bundles); /* only now: the view is durable */
  } else {
    atomic_fetch_add(&p->failed_cycles, 1);
  }
  for (int i = 0; i < src->nbundles; i++) {
    ccp_publisher_bundle_free(p->bundles[i]);
    p->bundles[i] = NULL;
  }
  if (src->end)
    src->end(src->opaque);
  return rc;
}

static void *publisher_main(void *arg) {
  ccp_publisher_t *p = arg;
  const ccp_config_t *cfg = p->o.cfg;
  int64_t next = ccp_clock_wall_ms() + cfg->publish_interval_ms;
  while (!atomic_load(&p->final_req)) {
    int64_t now = ccp_clock_wall_ms();
    if (now < next) {
      ccp_clock_sleep_ms(CCP_MIN(next - now, 20));
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
  /* final cycle: retried for at most final_timeout_ms */
  int64_t deadline =
      ccp_clock_wall_ms() + (p->o.final_timeout_ms > 0 ? p->o.final_timeout_ms : 10000);
  int rc;
  long backoff = 100;
  while ((rc = cycle(p, 1)) != 0 && ccp_clock_wall_ms() < deadline) {
    ccp_clock_sleep_ms(backoff);
    backoff = CCP_MIN(backoff * 2, 2000);
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
  p->bundles =
      ccp_calloc((size_t)(opts->src.nbundles ? opts->src.nbundles : 1), sizeof *p->bundles);
  atomic_store(&p->final_rc, 1);
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
  atomic_store(&p->final_req, 1);
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
  ccp_free(p->ckpts);
  ccp_publisher_alerts_free(p->pending, p->npending);
  ccp_free(p->pending);
  ccp_view_free(p->view);
  ccp_free(p);
}

void ccp_publisher_stats(const ccp_publisher_t *cp, ccp_publisher_stats_t *out) {
  ccp_publisher_t *p = (ccp_publisher_t *)cp; /* atomics: loads only */
  out->cycles = atomic_load(&p->cycles);
  out->failed_cycles = atomic_load(&p->failed_cycles);
  out->now_ms = atomic_load(&p->now_ms);
}
