/*
 * src/state/timers.[ch]: the deadline timer queue (a ring of buckets in
 * front of a sorted run of the loaded bucket and 4-ary min-heaps).
 *
 * The contract: pop returns timers in the total order (fire_at, kind, ticket,
 * life), ascending. Ties on fire_at therefore come out by kind
 * (CCP_TM_AT_RISK, then CCP_TM_BREACH, then CCP_TM_AGED), then by ticket
 * record number, then by life; only entries equal in all four fields are
 * interchangeable (and are then indistinguishable).
 *
 * The heap has no removal from the middle: a timer whose ticket moved on is
 * cancelled lazily (the engine ignores it when it pops, by its life). What
 * the heap owes that scheme is checked here: stale entries (same ticket,
 * older life) stay in the heap and pop in order with the rest, and a
 * re-armed ticket (same ticket, new fire_at) pops once per push.
 *
 * Also: empty heap (top NULL), pops interleaved with pushes against a sorted
 * reference (fixed seed), the same over spans far wider than the ring
 * (negative times, bucket edges, timers beyond the ring and absurdly late
 * ones), memory given back after a burst, and a save and load of buckets
 * longer than a segment (also as an older build wrote them: the capacity of
 * an array, not the count), and saves and loads while a bucket is part
 * popped and pushed into (save -> load -> save gives the same bytes).
 */
#include <string.h>

#include "ccp_test.h"
#include "ccpulse/buf.h"
#include "state/timers.h"
#include "util/ser.h"

static int cmp_timer(const void *pa, const void *pb) {
  const ccp_timer_t *a = pa, *b = pb;
  if (a->fire_at != b->fire_at)
    return a->fire_at < b->fire_at ? -1 : 1;
  if (a->kind != b->kind)
    return a->kind < b->kind ? -1 : 1;
  if (a->ticket != b->ticket)
    return a->ticket < b->ticket ? -1 : 1;
  if (a->life != b->life)
    return a->life < b->life ? -1 : 1;
  return 0;
}

static int same(const ccp_timer_t *a, const ccp_timer_t *b) {
  return a->fire_at == b->fire_at && a->kind == b->kind && a->ticket == b->ticket &&
         a->life == b->life;
}

static void push(ccp_timers_t *t, const ccp_timer_t *x) {
  ccp_timers_push(t, x->fire_at, x->kind, x->ticket, x->life);
}

static void test_empty(void) {
  ccp_timers_t t;
  ccp_timers_init(&t);
  T_TRUE(ccp_timers_top(&t) == NULL);
  T_EQ_INT(ccp_timers_count(&t), 0);
  ccp_timers_push(&t, 10, CCP_TM_BREACH, 3, 1);
  const ccp_timer_t *top = ccp_timers_top(&t);
  T_TRUE(top != NULL);
  if (top) {
    T_EQ_INT(top->fire_at, 10);
    T_EQ_INT(top->kind, CCP_TM_BREACH);
    T_EQ_INT(top->ticket, 3);
    T_EQ_INT(top->life, 1);
  }
  ccp_timer_t out;
  ccp_timers_pop(&t, &out);
  T_EQ_INT(out.fire_at, 10);
  T_TRUE(ccp_timers_top(&t) == NULL); /* empty again */
  /* reusable after it emptied */
  ccp_timers_push(&t, -5, CCP_TM_AGED, 0, 0);
  ccp_timers_push(&t, INT64_MIN, CCP_TM_AGED, 0, 0);
  ccp_timers_push(&t, INT64_MAX, CCP_TM_AT_RISK, 0, 0);
  ccp_timers_pop(&t, &out);
  T_EQ_INT(out.fire_at, INT64_MIN);
  ccp_timers_pop(&t, &out);
  T_EQ_INT(out.fire_at, -5);
  ccp_timers_pop(&t, &out);
  T_EQ_INT(out.fire_at, INT64_MAX);
  T_TRUE(ccp_timers_top(&t) == NULL);
  ccp_timers_release(&t);
  T_TRUE(t.near.h == NULL && t.ring == NULL);
  T_EQ_INT(ccp_timers_bytes(&t), 0);
  T_EQ_INT(ccp_timers_count(&t), 0);
  ccp_timers_release(&t); /* twice is harmless */
}

/* Ties on fire_at: by kind, then ticket, then life, whatever the push order. */
static void test_ties(void) {
  static const ccp_timer_t want[] = {
      {.fire_at = 100, .kind = CCP_TM_AT_RISK, .ticket = 1, .life = 1},
      {.fire_at = 100, .kind = CCP_TM_AT_RISK, .ticket = 1, .life = 2},
      {.fire_at = 100, .kind = CCP_TM_AT_RISK, .ticket = 2, .life = 0},
      {.fire_at = 100, .kind = CCP_TM_BREACH, .ticket = 0, .life = 9},
      {.fire_at = 100, .kind = CCP_TM_BREACH, .ticket = 1, .life = 1},
      {.fire_at = 100, .kind = CCP_TM_BREACH, .ticket = UINT32_MAX - 1, .life = 0},
      {.fire_at = 100, .kind = CCP_TM_AGED, .ticket = 0, .life = 0},
      {.fire_at = 100, .kind = CCP_TM_AGED, .ticket = 0, .life = UINT16_MAX},
      {.fire_at = 101, .kind = CCP_TM_AT_RISK, .ticket = 0, .life = 0},
  };
  enum { N = sizeof want / sizeof want[0] };
  /* every rotation and the reverse of the list as push orders */
  for (int order = 0; order < 2 * N; order++) {
    ccp_timers_t t;
    ccp_timers_init(&t);
    for (int i = 0; i < N; i++) {
      int k = order < N ? (i + order) % N : N - 1 - (i + order) % N;
      push(&t, &want[k]);
    }
    for (int i = 0; i < N; i++) {
      ccp_timer_t out;
      ccp_timers_pop(&t, &out);
      if (!same(&out, &want[i])) {
        T_FAIL_("push order %d, pop %d: got (%" PRId64 ",%d,%u,%u), expected (%" PRId64
                ",%d,%u,%u)",
                order, i, out.fire_at, out.kind, out.ticket, out.life, want[i].fire_at,
                want[i].kind, want[i].ticket, want[i].life);
        break;
      }
    }
    T_TRUE(ccp_timers_top(&t) == NULL);
    ccp_timers_release(&t);
  }
}

/* Lazy cancellation: a ticket re-armed twice (new life, new deadline) leaves
 * its stale entries in the heap; all pop, each once, in order. */
static void test_stale_entries(void) {
  ccp_timers_t t;
  ccp_timers_init(&t);
  ccp_timers_push(&t, 500, CCP_TM_BREACH, 7, 1); /* life 1's deadline */
  ccp_timers_push(&t, 300, CCP_TM_BREACH, 8, 1);
  ccp_timers_push(&t, 900, CCP_TM_BREACH, 7, 2); /* reopened: life 2, later deadline */
  ccp_timers_push(&t, 200, CCP_TM_BREACH, 7, 3); /* life 3, earlier deadline */
  ccp_timers_push(&t, 500, CCP_TM_BREACH, 7, 1); /* the very same entry again */
  static const ccp_timer_t want[] = {
      {.fire_at = 200, .kind = CCP_TM_BREACH, .ticket = 7, .life = 3},
      {.fire_at = 300, .kind = CCP_TM_BREACH, .ticket = 8, .life = 1},
      {.fire_at = 500, .kind = CCP_TM_BREACH, .ticket = 7, .life = 1},
      {.fire_at = 500, .kind = CCP_TM_BREACH, .ticket = 7, .life = 1},
      {.fire_at = 900, .kind = CCP_TM_BREACH, .ticket = 7, .life = 2},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const ccp_timer_t *top = ccp_timers_top(&t);
    T_TRUE(top && same(top, &want[i]));
    ccp_timer_t out;
    ccp_timers_pop(&t, &out);
    T_TRUE(same(&out, &want[i]));
  }
  T_TRUE(ccp_timers_top(&t) == NULL);
  ccp_timers_release(&t);
}

/* Random timers with many ties (small ranges), pops interleaved with pushes,
 * against a reference: the multiset kept sorted. */
/* Pops one timer (top first) and checks it is the least of ref[0..*nref),
 * which it then removes from ref; returns the errors (0, 1 or 2). */
static int pop_check(ccp_timers_t *t, ccp_timer_t *ref, int *nref, int step) {
  int best = 0, errors = 0;
  for (int k = 1; k < *nref; k++)
    if (cmp_timer(&ref[k], &ref[best]) < 0)
      best = k;
  ccp_timer_t out;
  const ccp_timer_t *top = ccp_timers_top(t);
  if (!top || !same(top, &ref[best]))
    errors++;
  ccp_timers_pop(t, &out);
  if (!same(&out, &ref[best])) {
    fprintf(stderr, "step %d: popped (%" PRId64 ",%d,%u,%u), expected (%" PRId64 ",%d,%u,%u)\n",
            step, out.fire_at, out.kind, out.ticket, out.life, ref[best].fire_at, ref[best].kind,
            ref[best].ticket, ref[best].life);
    errors++;
  }
  ref[best] = ref[--*nref];
  return errors;
}

/* Sorts rest[0..n), pops n timers and counts those out of that order; the
 * queue must then be empty (counted as one more error otherwise). */
static int drain_sorted(ccp_timers_t *t, ccp_timer_t *rest, int n) {
  qsort(rest, (size_t)n, sizeof *rest, cmp_timer);
  int bad = 0;
  for (int i = 0; i < n; i++) {
    ccp_timer_t out;
    ccp_timers_pop(t, &out);
    bad += !same(&out, &rest[i]);
  }
  return bad + (ccp_timers_top(t) != NULL);
}

static void test_against_sort(void) {
  enum { N = 60000 };
  static ccp_timer_t ref[N]; /* pending timers, unsorted */
  static ccp_timer_t all[N];
  int nref = 0;
  uint64_t rng = 2024;
  ccp_timers_t t;
  ccp_timers_init(&t);
  int64_t floor_at = 0; /* deadlines grow roughly, like open time + threshold */
  long errors = 0;
  for (int i = 0; i < N && errors < 5; i++) {
    ccp_timer_t x = {.fire_at = floor_at + (int64_t)t_rand_below(&rng, 50),
                     .kind = (uint8_t)t_rand_below(&rng, 3),
                     .ticket = (uint32_t)t_rand_below(&rng, 40),
                     .life = (uint16_t)t_rand_below(&rng, 3)};
    if (t_rand_below(&rng, 100) < 3) /* now and then one far in the past or future */
      x.fire_at += t_rand_below(&rng, 2) ? 100000 : -100000;
    floor_at += (int64_t)t_rand_below(&rng, 3);
    push(&t, &x);
    ref[nref++] = x;
    /* pop about as often as push, in bursts */
    int pops = (int)t_rand_below(&rng, 3);
    for (int p = 0; p < pops && nref > 0; p++)
      errors += pop_check(&t, ref, &nref, i);
    T_EQ_INT(ccp_timers_count(&t), nref);
  }
  T_EQ_INT(errors, 0);
  /* drain: the remainder comes out sorted */
  memcpy(all, ref, (size_t)nref * sizeof *ref);
  T_EQ_INT(drain_sorted(&t, all, nref), 0);
  ccp_timers_release(&t);
}

/* Saved and loaded again and again while a bucket is part popped and timers
 * are pushed into it (the run and the near heap both hold some): a save of
 * the loaded queue gives the same bytes, and every pop of the loaded one
 * matches a sorted reference. */
static void test_save_load_midway(void) {
  enum { N = 30000 };
  static ccp_timer_t ref[N];
  int nref = 0;
  uint64_t rng = 4242;
  ccp_timers_t t;
  ccp_timers_init(&t);
  int64_t floor_at = 0;
  long errors = 0;
  int reloads = 0;
  for (int i = 0; i < N && errors < 5; i++) {
    ccp_timer_t x = {.fire_at = floor_at + (int64_t)t_rand_below(&rng, 40000),
                     .kind = (uint8_t)t_rand_below(&rng, 3),
                     .ticket = (uint32_t)t_rand_below(&rng, 5000),
                     .life = (uint16_t)t_rand_below(&rng, 3)};
    floor_at += (int64_t)t_rand_below(&rng, 4);
    push(&t, &x);
    ref[nref++] = x;
    int pops = (int)t_rand_below(&rng, 3);
    for (int p = 0; p < pops && nref > 0; p++)
      errors += pop_check(&t, ref, &nref, i);
    if (i % 997 == 500) {
      ccp_buf_t a, b;
      ccp_buf_init(&a);
      ccp_buf_init(&b);
      ccp_timers_save(&t, &a);
      ccp_ser_rd_t r;
      ccp_ser_rd_init(&r, a.data, a.len);
      ccp_timers_t u;
      ccp_timers_init(&u);
      T_EQ_INT(ccp_timers_load(&u, &r, 5000), 0);
      ccp_timers_save(&u, &b);
      T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
      T_EQ_INT(ccp_timers_count(&u), nref);
      ccp_timers_release(&t);
      t = u;
      reloads++;
      ccp_buf_release(&a);
      ccp_buf_release(&b);
    }
  }
  T_EQ_INT(errors, 0);
  T_TRUE(reloads > 20);
  T_EQ_INT(drain_sorted(&t, ref, nref), 0);
  ccp_timers_release(&t);
}

/* Pushes and pops interleaved over spans far wider than the ring (which
 * covers CCP_TM_RING buckets of 2^CCP_TM_BUCKET_BITS ms): times around zero
 * and bucket edges, steps of days, timers beyond the ring (the far heap) and
 * near INT64_MAX; every pop against a sorted reference. */
static void test_wide_spans(void) {
  enum { N = 20000 };
  static ccp_timer_t ref[N];
  int nref = 0;
  uint64_t rng = 99;
  ccp_timers_t t;
  ccp_timers_init(&t);
  const int64_t w = (int64_t)1 << CCP_TM_BUCKET_BITS, span = w * CCP_TM_RING;
  int64_t base = -3 * w;
  long errors = 0;
  for (int i = 0; i < N; i++) {
    int64_t at;
    switch (t_rand_below(&rng, 8)) {
    case 0: /* beyond the ring */
      at = base + span + (int64_t)t_rand_below(&rng, (uint64_t)span);
      break;
    case 1: /* on a bucket edge, or one ms before it */
      at = (base & ~(w - 1)) + w * (int64_t)t_rand_below(&rng, 4) - (int64_t)t_rand_below(&rng, 2);
      break;
    case 2: /* already due */
      at = base - (int64_t)t_rand_below(&rng, 100000);
      break;
    case 3:
      at = i % 500 == 0 ? INT64_MAX - (int64_t)t_rand_below(&rng, 3) : base;
      break;
    default: /* within a day ahead */
      at = base + (int64_t)t_rand_below(&rng, 86400000);
      break;
    }
    ccp_timer_t x = {.fire_at = at,
                     .kind = (uint8_t)t_rand_below(&rng, 3),
                     .ticket = (uint32_t)t_rand_below(&rng, 1u << 20),
                     .life = (uint16_t)t_rand_below(&rng, 65536)};
    push(&t, &x);
    ref[nref++] = x;
    if (t_rand_below(&rng, 4) == 0) /* now and then stream time jumps ahead */
      base += (int64_t)t_rand_below(&rng, 3 * 86400000);
    int pops = (int)t_rand_below(&rng, 3);
    for (int p = 0; p < pops && nref > 0; p++)
      errors += pop_check(&t, ref, &nref, i);
    T_EQ_INT(ccp_timers_count(&t), nref);
  }
  T_EQ_INT(errors, 0);
  T_EQ_INT(drain_sorted(&t, ref, nref), 0);
  ccp_timers_release(&t);
}

/* A burst: many pushes (capacity grows), then pops down to a few (capacity
 * shrinks) — order intact through both; the heap does not pin the burst. */
/* Buckets of up to a few hundred timers (several segments each) saved and
 * loaded pop in the same order as the original; so do they when the first
 * bucket's capacity field says 2n + 16, as an array grown by realloc may
 * have (older builds), and a capacity beyond that is refused. */
static void test_save_load_segments(void) {
  enum { N = 3000 };
  uint64_t rng = 5;
  ccp_timers_t t;
  ccp_timers_init(&t);
  for (int i = 0; i < N; i++) /* ~ 90 buckets of 16.4 s: ~33 timers each, some far more */
    ccp_timers_push(&t, 1000000 + (int64_t)t_rand_below(&rng, i % 3 ? 1500000 : 50000),
                    (uint8_t)(i % 3), (uint32_t)i, 1);
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_timers_save(&t, &b);
  /* the first bucket's capacity field: after loaded (8), two heaps (16 + 16 n
   * each), the ring flag (1), the bucket count (4), its index and count (8) */
  uint64_t near_n, far_n;
  memcpy(&near_n, (const char *)b.data + 8, 8);
  size_t off = 8 + 16 + near_n * 16;
  memcpy(&far_n, (const char *)b.data + off, 8);
  off += 16 + far_n * 16 + 1 + 4 + 8;
  uint32_t n;
  memcpy(&n, (const char *)b.data + off - 4, 4);
  T_TRUE(n > 0);
  for (int variant = 0; variant < 3; variant++) {
    uint32_t cap = variant == 0 ? n : variant == 1 ? 2 * n + 16 : 2 * n + 17;
    memcpy((char *)b.data + off, &cap, 4);
    ccp_ser_rd_t r;
    ccp_ser_rd_init(&r, b.data, b.len);
    ccp_timers_t u;
    ccp_timers_init(&u);
    int rc = ccp_timers_load(&u, &r, N);
    if (variant == 2) {
      T_TRUE(rc != 0);
      ccp_timers_release(&u);
      continue;
    }
    T_EQ_INT(rc, 0);
    T_EQ_INT(ccp_timers_count(&u), ccp_timers_count(&t));
    ccp_timers_t c; /* a copy of the original to pop against */
    ccp_ser_rd_t r2;
    ccp_buf_t b2;
    ccp_buf_init(&b2);
    ccp_timers_save(&u, &b2); /* the loaded queue saves the count as the capacity */
    memcpy((char *)b.data + off, &n, 4);
    T_TRUE(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
    ccp_ser_rd_init(&r2, b.data, b.len);
    ccp_timers_init(&c);
    T_EQ_INT(ccp_timers_load(&c, &r2, N), 0);
    int bad = 0;
    while (ccp_timers_top(&c)) {
      ccp_timer_t x, y;
      ccp_timers_pop(&c, &x);
      ccp_timers_pop(&u, &y);
      bad += !same(&x, &y);
    }
    T_EQ_INT(bad, 0);
    T_TRUE(ccp_timers_top(&u) == NULL);
    ccp_buf_release(&b2);
    ccp_timers_release(&c);
    ccp_timers_release(&u);
  }
  /* and the original pops in sorted order through its segments */
  ccp_timer_t prev = {0}, out;
  int bad = 0, first = 1;
  while (ccp_timers_top(&t)) {
    ccp_timers_pop(&t, &out);
    bad += !first && cmp_timer(&prev, &out) > 0;
    prev = out;
    first = 0;
  }
  T_EQ_INT(bad, 0);
  ccp_buf_release(&b);
  ccp_timers_release(&t);
}

static void test_burst_and_shrink(void) {
  enum { N = 100000 };
  static ccp_timer_t all[N];
  uint64_t rng = 77;
  ccp_timers_t t;
  ccp_timers_init(&t);
  for (int i = 0; i < N; i++) {
    all[i] = (ccp_timer_t){.fire_at = (int64_t)t_rand_below(&rng, 1000000),
                           .kind = (uint8_t)t_rand_below(&rng, 3),
                           .ticket = (uint32_t)i,
                           .life = 1};
    push(&t, &all[i]);
  }
  size_t peak = ccp_timers_bytes(&t);
  T_TRUE(peak >= N * sizeof(uint64_t));
  qsort(all, N, sizeof *all, cmp_timer);
  int bad = 0;
  for (int i = 0; i < N - 10; i++) {
    ccp_timer_t out;
    ccp_timers_pop(&t, &out);
    bad += !same(&out, &all[i]);
  }
  T_EQ_INT(bad, 0);
  T_EQ_INT(ccp_timers_count(&t), 10);
  T_TRUE(ccp_timers_bytes(&t) < peak / 4); /* given back after the burst */
  /* pushes after the shrink still order with what is left */
  ccp_timers_push(&t, -1, CCP_TM_AGED, 0, 0);
  ccp_timer_t out;
  ccp_timers_pop(&t, &out);
  T_EQ_INT(out.fire_at, -1);
  for (int i = N - 10; i < N; i++) {
    ccp_timers_pop(&t, &out);
    bad += !same(&out, &all[i]);
  }
  T_EQ_INT(bad, 0);
  T_TRUE(ccp_timers_top(&t) == NULL);
  ccp_timers_release(&t);
}

int main(void) {
  T_RUN(test_empty);
  T_RUN(test_ties);
  T_RUN(test_stale_entries);
  T_RUN(test_against_sort);
  T_RUN(test_wide_spans);
  T_RUN(test_burst_and_shrink);
  T_RUN(test_save_load_midway);
  T_RUN(test_save_load_segments);
  return T_DONE();
}
