/*
 * bench_ckpt: the CPU one partition's checkpoints cost in `ccpulse run`,
 * without Kafka, Redis or the other threads, so that two builds can be
 * compared in CPU seconds that the machine's load barely moves
 * (bench/README.md, "Issue 8, session 10: checkpoints").
 *
 * One engine takes the generator's stream as one partition of the live
 * case sees it: PRE events pre-loaded at 100 per millisecond of event time,
 * then events at RATE per second of event time (the times replaced, as
 * `ccpulse gen --now` does with the wall clock); an export every 250 ms of
 * event time, as the worker's publish cycle; every 5 s of event time a
 * checkpoint as `ccpulse run` makes it: ccp_engine_save() into a buffer
 * sized from the last one (the worker), then the store's preparation
 * (ccp__ckpt_prepare(): the sum, a delta against the base or the whole
 * state compressed), its commands appended and every one answered as
 * stored (ccp__ckpt_results()), so the writer keeps its base and makes the
 * next delta against it. Reports the thread CPU seconds of the saves and of
 * the preparations over the steady intervals (the pre-load's first ones
 * left out), and the bytes written: the same from two builds means the
 * same deltas and bases.
 *
 *   bench_ckpt [--pre N] [--intervals K] [--rate R] [--seed S] [--agents A] [--queues Q]
 *              [--catchup] [--dump DIR]
 *
 * --catchup marks every checkpoint as saved while catching up (written
 * whole, no delta tried, no base state kept: docs/checkpoints.md, "While
 * catching up"); with a high --rate (e.g. --pre 0 --rate 300000, 1.5M
 * events between checkpoints, as a one-partition catch-up reads them) it
 * compares that rule with the live one in one build.
 *
 * --dump DIR writes each checkpoint's state (the bytes ccp_engine_save()
 * wrote) to DIR/state-NNN.bin, NNN counting from 000, for tools that look
 * at what changes between two checkpoints (bench/ckpt_sections.py).
 *
 * Defaults: --pre 37500 --intervals 40 --rate 1250 --seed 1, 400 agents x 8
 * queues (1/8 of `bench/live_sbs.sh`: 300,000 pre-loaded, 10,000/s over 8
 * partitions). Prints one line of totals and one of JSON.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccpulse/buf.h"
#include "ccpulse/ckpt_store.h"
#include "ccpulse/common.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/tz.h"
#include "gen/gen.h"
#include "publish/ckpt_int.h"

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long arg_ll(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "bench_ckpt: %s needs a value\n", argv[*i]);
    exit(2);
  }
  return atoll(argv[++*i]);
}

/* Every command of the checkpoint answered 1 (stored), as the script does. */
static int store_all(ccp__ckpt_writer_t *w, ccp_checkpoint_t *c, uint64_t *bytes) {
  ccp_buf_t o;
  ccp_buf_init(&o);
  int ncmds = 0;
  ccp__ckpt_append(&o, w, "bench:", c, 1, &ncmds, bytes);
  redisReply one = {.type = REDIS_REPLY_INTEGER, .integer = 1};
  redisReply **el = ccp_malloc((size_t)(ncmds + 1) * sizeof *el);
  for (int k = 0; k < ncmds; k++)
    el[k] = &one;
  redisReply exec = {.type = REDIS_REPLY_ARRAY, .elements = (size_t)ncmds, .element = el};
  ccp__ckpt_results(&exec, 0, w, c, 1, 1);
  ccp_free(el);
  ccp_buf_release(&o);
  return c->stored;
}

/* --dump: the k-th checkpoint's state to dir/state-NNN.bin; 0, or -1 with a message. */
static int dump_state(const char *dir, int k, const ccp_buf_t *state) {
  char path[4096];
  snprintf(path, sizeof path, "%s/state-%03d.bin", dir, k);
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(state->data, 1, state->len, f) == state->len;
  if (f && fclose(f) != 0)
    ok = 0;
  if (!ok)
    fprintf(stderr, "bench_ckpt: cannot write %s\n", path);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  long long pre = 37500, intervals = 40, rate = 1250, seed = 1, agents = 400, queues = 8;
  int catchup = 0;
  const char *dump = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--pre"))
      pre = arg_ll(argc, argv, &i);
    else if (!strcmp(argv[i], "--intervals"))
      intervals = arg_ll(argc, argv, &i);
    else if (!strcmp(argv[i], "--rate"))
      rate = arg_ll(argc, argv, &i);
    else if (!strcmp(argv[i], "--seed"))
      seed = arg_ll(argc, argv, &i);
    else if (!strcmp(argv[i], "--agents"))
      agents = arg_ll(argc, argv, &i);
    else if (!strcmp(argv[i], "--queues"))
      queues = arg_ll(argc, argv, &i);
    else if (!strcmp(argv[i], "--catchup"))
      catchup = 1;
    else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
      dump = argv[++i];
    else {
      fprintf(stderr, "usage: bench_ckpt [--pre N] [--intervals K] [--rate R] [--seed S] "
                      "[--agents A] [--queues Q] [--catchup] [--dump DIR]\n");
      return 2;
    }
  }
  if (pre < 0 || intervals < 1 || rate < 1) {
    fprintf(stderr, "bench_ckpt: --pre >= 0, --intervals and --rate >= 1\n");
    return 2;
  }
  char err[CCP_ERRBUF_SIZE];
  ccp_config_t cfg;
  ccp_config_init(&cfg);
  if (ccp_config_finish(&cfg, err, sizeof err) != 0 ||
      ccp_tz_use(cfg.timezone, err, sizeof err) != 0) {
    fprintf(stderr, "bench_ckpt: %s\n", err);
    return 1;
  }
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  uint64_t steady = (uint64_t)intervals * 5 * (uint64_t)rate;
  ccp_gen_opts_t go = {.events = (uint64_t)pre + steady,
                       .seed = (uint64_t)seed,
                       .agents = (uint32_t)agents,
                       .queues = (uint32_t)queues};
  ccp_gen_t *g = ccp_gen_new(&go);
  if (!e || !g) {
    fprintf(stderr, "bench_ckpt: %s\n", e ? "bad generator options" : err);
    return 1;
  }
  ccp__ckpt_writer_t *w = ccp__ckpt_writer_new();
  const int64_t t0 = 1795000000000LL;
  int64_t pre_ms = pre / 100, next_export = t0 + 250, next_ckpt = t0 + 5000;
  ccp_buf_t state;
  ccp_buf_init(&state);
  size_t last_len = 0;
  int skip = (int)(pre_ms / 5000) + 2; /* the pre-load's checkpoints and the first after it */
  int n = 0, counted = 0, stored = 0;
  double save_s = 0, prep_s = 0;
  uint64_t written = 0, state_bytes = 0;
  ccp_event_t ev;
  for (uint64_t i = 0; ccp_gen_next(g, &ev) == 0; i++) {
    int64_t ts = i < (uint64_t)pre ? t0 + (int64_t)i / 100
                                   : t0 + pre_ms + (int64_t)(i - (uint64_t)pre) * 1000 / rate;
    while (ts >= next_export) { /* the worker's cycles up to this event */
      ccp_partial_free(ccp_engine_export(e, next_export));
      if (next_export >= next_ckpt) {
        ccp_buf_clear(&state);
        ccp_buf_reserve(&state, last_len + last_len / 8);
        double c0 = thread_cpu_s();
        ccp_engine_save(e, &state);
        double c1 = thread_cpu_s();
        last_len = state.len;
        if (dump && dump_state(dump, n, &state) != 0)
          return 1;
        ccp_checkpoint_t c = {.topic = "bench",
                              .partition = 0,
                              .offset = (int64_t)i,
                              .epoch = 1,
                              .saved_ms = next_export,
                              .state = state.data,
                              .len = state.len,
                              .alert_floor = INT64_MIN,
                              .whole = catchup};
        uint64_t bytes = 0;
        double c2 = thread_cpu_s();
        ccp__ckpt_prepare(w, &c, 1, 0);
        stored += store_all(w, &c, &bytes);
        double c3 = thread_cpu_s();
        if (n++ >= skip) {
          save_s += c1 - c0;
          prep_s += c3 - c2;
          written += bytes;
          state_bytes += state.len;
          counted++;
        }
        next_ckpt += 5000;
      }
      next_export += 250;
    }
    ev.ts = ts;
    ccp_engine_process(e, &ev);
  }
  const ccp__ckpt_writer_stats_t *st = ccp__ckpt_writer_stats(w);
  printf("bench_ckpt: %d checkpoints (%d counted, %d stored; %llu whole, %llu deltas): "
         "save %.4f s, prepare %.4f s CPU; %.0f state bytes and %.0f written per checkpoint\n",
         n, counted, stored, (unsigned long long)st->full, (unsigned long long)st->delta, save_s,
         prep_s, counted ? (double)state_bytes / counted : 0,
         counted ? (double)written / counted : 0);
  printf("{\"checkpoints\":%d,\"counted\":%d,\"save_cpu_s\":%.6f,\"prepare_cpu_s\":%.6f,"
         "\"state_bytes\":%llu,\"written_bytes\":%llu}\n",
         n, counted, save_s, prep_s, (unsigned long long)state_bytes, (unsigned long long)written);
  ccp_buf_release(&state);
  ccp__ckpt_writer_free(w);
  ccp_gen_free(g);
  ccp_engine_free(e);
  ccp_config_release(&cfg);
  return 0;
}
