/*
 * bench_publish — the CPU of `ccpulse run`'s publish cycle without Kafka or
 * Redis: the export of every partition's engine, the merge into the
 * publisher's kept view and the rendering of what changed, cycle after
 * cycle, on the live case of bench/live_sbs.sh.
 *
 *   bench_publish [--agents A] [--queues Q] [--rate R] [--events N]
 *                 [--partitions P] [--interval MS]
 *
 * Defaults: 400 agents x 8 queues, 8 partitions, 250 ms cycles (the default
 * publish.interval), then as live_sbs.sh: 300,000 events of seed 1 at
 * 50,000 events/s of stream time (the pre-load), then N = 300,000 events of
 * seed 2 (ids offset by 10^8) at R = 10,000 events/s. Each event takes the
 * time of its place in that schedule (a late straggler keeps its lag, as
 * `ccpulse gen --now` does) and goes to the partition librdkafka's default
 * partitioner gives its ticket_id. Every interval of stream time every
 * engine applies its events, then, as in run: the workers' export
 * (ccp_engine_export_unchanged(), else ccp_engine_export_next() against the
 * partition's last partial), the publisher's merge (a reset and a merge of
 * every partial into one view kept for the whole run), and the Redis
 * publisher's rendering: per scope the window tiles whose hash changed
 * (ccp_view_window_hash(), ccp_view_window_json()) and the gauges, and
 * every fourth cycle (publish.snapshot_interval 1s) every scope document
 * and the snapshot document.
 *
 * Prints, for the rate phase only, the CPU seconds (this thread's) of the
 * export, the merge and the rendering and the tiles rendered, and a
 * checksum of every byte rendered in both phases: two builds that render
 * the same bytes print the same checksum, so a side-by-side run checks
 * exactness too. Single thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/partial.h"
#include "ccpulse/tz.h"
#include "ccpulse/view.h"
#include "gen/gen.h"

#define MAXP 64

static double thread_cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* What the Redis publisher last wrote for a scope. */
typedef struct tile_state {
  char *name;
  uint64_t h[CCP_MAX_WINDOWS];
} tile_state_t;

typedef struct bench {
  const ccp_config_t *cfg;
  int np;
  int64_t interval;
  ccp_engine_t *e[MAXP];
  ccp_partial_t *last[MAXP];
  ccp_event_batch_t *batch[MAXP];
  ccp_view_t *view;
  ccp_buf_t out;
  tile_state_t *tiles, *next; /* the last cycle's scopes and this one's, in the view's order */
  int ntiles, cap;
  /* the rate phase's figures */
  int counting;
  long cycles, rendered;
  double t_export, t_merge, t_render;
  uint64_t sum;
} bench_t;

static void apply(bench_t *b, int p) {
  if (b->batch[p]->n)
    ccp_engine_process_batch(b->e[p], b->batch[p]->ev, b->batch[p]->n, NULL);
  ccp_event_batch_clear(b->batch[p]);
}

/* The view's order of scope names: `all` first, then bytewise. */
static int scope_cmp(const char *a, const char *b) {
  int aa = !strcmp(a, "all"), ba = !strcmp(b, "all");
  return aa || ba ? ba - aa : strcmp(a, b);
}

/* The Redis publisher's rendering of one cycle into b->out: the tiles whose
 * hash differs from what was written for the scope of that name. */
static void render(bench_t *b, int slow) {
  int n = ccp_view_nscopes(b->view);
  if (n > b->cap) {
    b->cap = 2 * n;
    b->next = ccp_realloc(b->next, (size_t)b->cap * sizeof *b->next);
    b->tiles = ccp_realloc(b->tiles, (size_t)b->cap * sizeof *b->tiles); /* they trade places */
  }
  ccp_buf_clear(&b->out);
  int j = 0;
  for (int i = 0; i < n; i++) {
    const char *sc = ccp_view_scope_name(b->view, i);
    tile_state_t *t = &b->next[i];
    while (j < b->ntiles && scope_cmp(b->tiles[j].name, sc) < 0)
      ccp_free(b->tiles[j++].name); /* a scope that left */
    if (j < b->ntiles && !strcmp(b->tiles[j].name, sc)) {
      *t = b->tiles[j++];
    } else {
      t->name = ccp_strdup(sc);
      memset(t->h, 0, sizeof t->h);
    }
    for (int w = 0; w < b->cfg->nwindows; w++) {
      uint64_t h = ccp_view_window_hash(b->view, i, w);
      if (h == t->h[w])
        continue;
      t->h[w] = h;
      ccp_view_window_json(b->view, i, w, &b->out);
      b->rendered++;
    }
    ccp_view_gauges_t g;
    ccp_view_gauges(b->view, i, &g);
    ccp_view_gauges_json(b->view, i, &b->out);
    if (slow)
      ccp_view_scope_json(b->view, i, &b->out);
  }
  while (j < b->ntiles)
    ccp_free(b->tiles[j++].name);
  tile_state_t *x = b->tiles; /* this cycle's become the last */
  b->tiles = b->next;
  b->next = x;
  b->ntiles = n;
  if (slow)
    ccp_view_snapshot_json(b->view, &b->out);
  for (size_t k = 0; k < b->out.len; k++) /* FNV-1a over every byte rendered */
    b->sum = (b->sum ^ (uint8_t)b->out.data[k]) * 1099511628211ULL;
}

/* One cycle at stream time g. */
static void cycle(bench_t *b, int64_t g) {
  for (int p = 0; p < b->np; p++)
    apply(b, p);
  double t0 = thread_cpu_s();
  ccp_partial_t *x[MAXP], *hdr[MAXP];
  for (int p = 0; p < b->np; p++) {
    hdr[p] = NULL;
    if (b->last[p] && ccp_engine_export_unchanged(b->e[p], g)) {
      x[p] = b->last[p];
      hdr[p] = ccp_engine_export_header(b->e[p]);
    } else {
      x[p] = ccp_engine_export_next(b->e[p], g, b->last[p]);
      ccp_partial_free(b->last[p]);
      b->last[p] = x[p];
    }
  }
  double t1 = thread_cpu_s();
  ccp_view_reset(b->view);
  for (int p = 0; p < b->np; p++) {
    ccp_view_merge(b->view, x[p]);
    if (hdr[p])
      ccp_view_set_time(b->view, hdr[p]);
  }
  double t2 = thread_cpu_s();
  render(b, b->cycles % 4 == 0);
  double t3 = thread_cpu_s();
  for (int p = 0; p < b->np; p++)
    ccp_partial_free(hdr[p]);
  if (b->counting) {
    b->t_export += t1 - t0;
    b->t_merge += t2 - t1;
    b->t_render += t3 - t2;
  }
  b->cycles++;
}

/* Feeds n events of seed `seed` at per_s events per second of stream time
 * from start_ms, a cycle at every interval edge. Returns the stream time
 * after the last. */
static int64_t phase(bench_t *b, const ccp_gen_opts_t *o, double per_s, int64_t start_ms) {
  ccp_gen_t *g = ccp_gen_new(o);
  if (!g) {
    fprintf(stderr, "bench_publish: bad workload options\n");
    exit(2);
  }
  int64_t next = start_ms + b->interval, now = start_ms;
  ccp_event_t ev;
  for (uint64_t k = 0; ccp_gen_next(g, &ev) == 0; k++) {
    now = start_ms + (int64_t)((double)k * 1000.0 / per_s);
    while (now >= next) {
      cycle(b, next);
      next += b->interval;
    }
    int64_t lag = ccp_gen_kind(g) == CCP_GEN_LATE ? 6 * 60000 + (ev.ts % 60000 + 60000) % 60000 : 0;
    ev.ts = now - lag;
    int p = ev.ticket_id.len ? (int)rd_kafka_msg_partitioner_consistent_random(
                                   NULL, ev.ticket_id.ptr, ev.ticket_id.len, b->np, NULL, NULL)
                             : 0;
    if (ccp_event_batch_add(b->batch[p], &ev) != 0) {
      apply(b, p);
      ccp_event_batch_add(b->batch[p], &ev);
    }
  }
  cycle(b, next);
  ccp_gen_free(g);
  return next;
}

int main(int argc, char **argv) {
  long agents = 400, queues = 8, rate = 10000, events = 300000, np = 8, interval = 250;
  for (int i = 1; i + 1 < argc; i += 2) {
    long v = atol(argv[i + 1]);
    if (!strcmp(argv[i], "--agents"))
      agents = v;
    else if (!strcmp(argv[i], "--queues"))
      queues = v;
    else if (!strcmp(argv[i], "--rate"))
      rate = v;
    else if (!strcmp(argv[i], "--events"))
      events = v;
    else if (!strcmp(argv[i], "--partitions"))
      np = v;
    else if (!strcmp(argv[i], "--interval"))
      interval = v;
    else {
      fprintf(stderr, "bench_publish: unknown option '%s'\n", argv[i]);
      return 2;
    }
  }
  if (argc % 2 == 0 || np < 1 || np > MAXP || rate < 1 || events < 1 || interval < 1) {
    fprintf(stderr, "usage: bench_publish [--agents A] [--queues Q] [--rate R] [--events N] "
                    "[--partitions P] [--interval MS]\n");
    return 2;
  }
  ccp_config_t cfg;
  char err[256];
  ccp_config_init(&cfg);
  if (ccp_config_finish(&cfg, err, sizeof err) || ccp_tz_use(cfg.timezone, err, sizeof err)) {
    fprintf(stderr, "bench_publish: %s\n", err);
    return 2;
  }
  bench_t b = {.cfg = &cfg, .np = (int)np, .interval = interval, .sum = 14695981039346656037ULL};
  for (int p = 0; p < b.np; p++) {
    b.e[p] = ccp_engine_new(&cfg, err, sizeof err);
    b.batch[p] = ccp_calloc(1, sizeof *b.batch[p]);
  }
  b.view = ccp_view_new(&cfg);
  ccp_buf_init(&b.out);
  int64_t t0 = 1796000000000LL;
  ccp_gen_opts_t pre = {
      .events = 300000, .seed = 1, .agents = (uint32_t)agents, .queues = (uint32_t)queues};
  int64_t t = phase(&b, &pre, 50000, t0);
  b.counting = 1;
  b.cycles = b.rendered = 0;
  ccp_gen_opts_t live = {.events = (uint64_t)events,
                         .seed = 2,
                         .agents = (uint32_t)agents,
                         .queues = (uint32_t)queues,
                         .id_offset = 100000000};
  phase(&b, &live, (double)rate, t + 2000);
  double all = b.t_export + b.t_merge + b.t_render;
  printf("{\"cycles\":%ld,\"export_s\":%.3f,\"merge_s\":%.3f,\"render_s\":%.3f,\"publish_s\":%.3f,"
         "\"ms_per_cycle\":%.3f,\"tiles\":%ld,\"checksum\":\"%016llx\"}\n",
         b.cycles, b.t_export, b.t_merge, b.t_render, all, 1000.0 * all / (double)b.cycles,
         b.rendered, (unsigned long long)b.sum);
  for (int p = 0; p < b.np; p++) {
    ccp_partial_free(b.last[p]);
    ccp_engine_free(b.e[p]);
    ccp_free(b.batch[p]);
  }
  for (int i = 0; i < b.ntiles; i++)
    ccp_free(b.tiles[i].name);
  ccp_free(b.tiles);
  ccp_free(b.next);
  ccp_buf_release(&b.out);
  ccp_view_free(b.view);
  ccp_config_release(&cfg);
  return 0;
}
