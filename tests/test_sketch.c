/*
 * src/counters/sketch.[ch]: the log-bucketed duration histogram.
 *
 * The stated claim (sketch.h, docs/semantics.md): values 0..127 ms are kept
 * exactly; above, a value's bin reports a value within 1 % of it (bins of
 * ratio 1.02, reported at the relative midpoint: error < 0.02/2.02 =
 * 0.990 %); values past about 75 days clamp to the last bin. Percentiles are
 * nearest-rank: the value reported for the bin of the ceil(p/100 * n)-th
 * smallest value, so they carry the same bound against the exact
 * nearest-rank value.
 *
 * Checked: every integer value 0 .. 2,000,000 ms, log-spaced values from
 * 128 ms to the clamp (20 per factor of two, each with its neighbours +-1)
 * and random ones (fixed seed): the bound, bins monotone in the value, bin
 * values increasing; percentiles of random samples (uniform, log-uniform,
 * heavy ties, tiny n) against an exact nearest rank over the sorted values;
 * add/remove, merge, clear, empty -> NaN.
 */
#include "ccp_test.h"
#include "counters/sketch.h"

#define EXACT 128
#define BOUND 0.0099010 /* (1.02 - 1) / (1.02 + 1), rounded up */
#define CLAMP_MS 6.49e9 /* the bound holds up to here: the last bin ends at 1.02^1141 = 6.498e9 */

/* Relative error of the reported value of v's bin; 0 required below EXACT. */
static double rel_err(int64_t v) {
  double r = ccp_sketch_value(ccp_sketch_bin(v));
  return v ? fabs(r - (double)v) / (double)v : fabs(r);
}

static long check_value(int64_t v, double *worst) {
  double e = rel_err(v);
  if (e > *worst)
    *worst = e;
  if (v < EXACT ? e != 0 : !(e <= BOUND)) {
    fprintf(stderr, "value %" PRId64 " ms: bin %u reports %.6f (relative error %.6f)\n", v,
            ccp_sketch_bin(v), ccp_sketch_value(ccp_sketch_bin(v)), e);
    return 1;
  }
  return 0;
}

static void test_exact_below_128(void) {
  for (int64_t v = 0; v < EXACT; v++) {
    T_EQ_INT(ccp_sketch_bin(v), v);
    T_EQ_DBL(ccp_sketch_value((uint16_t)v), (double)v, 0);
  }
  T_EQ_INT(ccp_sketch_bin(-1), 0); /* negative clamps to 0 */
  T_EQ_INT(ccp_sketch_bin(INT64_MIN), 0);
  T_TRUE(ccp_sketch_bin(EXACT) >= EXACT); /* 128 is the first log-bin value */
}

static void test_bound_every_integer(void) {
  long bad = 0;
  double worst = 0;
  int prev = -1;
  for (int64_t v = 0; v <= 2000000 && bad < 10; v++) {
    bad += check_value(v, &worst);
    int b = ccp_sketch_bin(v);
    if (b < prev) { /* bins never go down as values go up */
      fprintf(stderr, "bin(%" PRId64 ") = %d < bin(%" PRId64 ") = %d\n", v, b, v - 1, prev);
      bad++;
    }
    prev = b;
  }
  T_EQ_INT(bad, 0);
  T_TRUE(worst > 0.0098); /* the bound is nearly reached: it is the real one */
}

static void test_bound_log_spaced_and_random(void) {
  long bad = 0, n = 0;
  double worst = 0;
  /* log-spaced from 128 ms to past the clamp, with neighbours */
  for (double x = EXACT; x < CLAMP_MS; x *= 1.0352649238413776) { /* 2^(1/20) */
    for (int64_t d = -1; d <= 1; d++) {
      int64_t v = (int64_t)x + d;
      if (v >= EXACT) {
        bad += check_value(v, &worst);
        n++;
      }
    }
  }
  T_TRUE(n > 3 * 20 * 25);
  /* exact powers of the bin ratio (bin edges) and their neighbours */
  for (int k = 245; k < 1140; k++) {
    int64_t v = (int64_t)llround(pow(1.02, k));
    for (int64_t d = -1; d <= 1; d++)
      if (v + d >= EXACT && v + d < CLAMP_MS)
        bad += check_value(v + d, &worst);
  }
  /* random: log-uniform over 1 ms .. 70 days, and uniform over big ranges */
  uint64_t rng = 2718;
  for (int i = 0; i < 300000; i++) {
    double lg = log(1.0) + (double)(t_rand(&rng) >> 11) * 0x1.0p-53 * log(70 * 86400e3);
    int64_t v = (int64_t)exp(lg);
    bad += check_value(v, &worst);
    bad += check_value((int64_t)t_rand_below(&rng, 6000000000ULL), &worst);
  }
  T_EQ_INT(bad, 0);
  /* bin values strictly increase, so bins order values */
  for (int b = 1; b < CCP_SKETCH_BINS; b++)
    if (!(ccp_sketch_value((uint16_t)b) > ccp_sketch_value((uint16_t)(b - 1))))
      T_FAIL_("value of bin %d not above bin %d", b, b - 1);
}

/* The bin as ccp_sketch_bin() computed it before its table of bounds: the
 * ceiling of log_G(v), corrected by one step with pow(). Bins are saved in
 * checkpoints and decide every percentile, so the two must agree. */
static int bin_by_pow(int64_t v) {
  if (v < EXACT)
    return v < 0 ? 0 : (int)v;
  double inv = 1.0 / log(1.02);
  int k0 = (int)ceil(log((double)(EXACT - 1)) * inv);
  int k = (int)ceil(log((double)v) * inv);
  if (pow(1.02, k - 1) >= (double)v)
    k--;
  else if (pow(1.02, k) < (double)v)
    k++;
  int i = k - k0 - 1 + EXACT;
  return i < EXACT ? EXACT : i >= CCP_SKETCH_BINS ? CCP_SKETCH_BINS - 1 : i;
}

/* Every integer up to 2^22, +-4 around every bin's bound (where rounding
 * could differ), and random values of every magnitude up to the clamp and
 * beyond. */
static void test_bin_same_as_pow(void) {
  int bad = 0;
  for (int64_t v = -3; v < (1 << 22); v++)
    bad += ccp_sketch_bin(v) != bin_by_pow(v);
  double inv = 1.0 / log(1.02);
  int k0 = (int)ceil(log((double)(EXACT - 1)) * inv);
  for (int k = k0 - 2; k < k0 + CCP_SKETCH_BINS - EXACT + 4; k++) {
    int64_t top = (int64_t)pow(1.02, k);
    for (int64_t v = top - 4; v <= top + 4; v++)
      bad += ccp_sketch_bin(v) != bin_by_pow(v);
  }
  uint64_t rng = 4242;
  for (int i = 0; i < 2000000; i++) {
    int64_t v = (int64_t)(t_rand(&rng) >> (1 + t_rand_below(&rng, 62)));
    bad += ccp_sketch_bin(v) != bin_by_pow(v);
  }
  bad += ccp_sketch_bin(INT64_MAX) != bin_by_pow(INT64_MAX);
  T_EQ_INT(bad, 0);
}

static void test_clamp(void) {
  T_EQ_INT(ccp_sketch_bin(INT64_MAX), CCP_SKETCH_BINS - 1);
  T_EQ_INT(ccp_sketch_bin((int64_t)1e12), CCP_SKETCH_BINS - 1);
  T_TRUE(ccp_sketch_bin((int64_t)6.3e9) < CCP_SKETCH_BINS - 1);
  T_EQ_INT(ccp_sketch_bin((int64_t)CLAMP_MS), CCP_SKETCH_BINS - 1); /* last bin, still in bound */
  T_TRUE(rel_err((int64_t)CLAMP_MS) <= BOUND);
  T_TRUE(rel_err((int64_t)6.6e9) > BOUND); /* past it: clamped, as documented */
  T_EQ_DBL(ccp_sketch_value(CCP_SKETCH_BINS + 5), ccp_sketch_value(CCP_SKETCH_BINS - 1), 0);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static const int PCTS[] = {1, 10, 25, 50, 75, 90, 95, 99, 100};
enum { NP = sizeof PCTS / sizeof PCTS[0] };

/* Percentiles of values[0..n) from the histogram against the exact nearest
 * rank; returns the number of violations. */
static long check_percentiles(const int64_t *values, int n, const char *what) {
  ccp_hist_t h;
  memset(&h, 0, sizeof h);
  for (int i = 0; i < n; i++)
    ccp_hist_add(&h, ccp_sketch_bin(values[i]), 1);
  int64_t *sorted = malloc((size_t)n * sizeof *sorted);
  memcpy(sorted, values, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
  double out[NP];
  ccp_hist_percentiles(&h, PCTS, NP, out);
  long bad = 0;
  for (int k = 0; k < NP; k++) {
    long rank = ((long)PCTS[k] * n + 99) / 100; /* ceil(p n / 100), integer */
    if (rank < 1)
      rank = 1;
    int64_t exact = sorted[rank - 1];
    double e = exact ? fabs(out[k] - (double)exact) / (double)exact : fabs(out[k]);
    if (exact < EXACT ? e != 0 : !(e <= BOUND)) {
      fprintf(stderr, "%s, n %d: p%d = %.3f, exact nearest rank %" PRId64 "\n", what, n, PCTS[k],
              out[k], exact);
      bad++;
    }
  }
  free(sorted);
  ccp_hist_release(&h);
  return bad;
}

static void test_percentiles_vs_exact(void) {
  enum { MAXN = 20000 };
  static int64_t v[MAXN];
  uint64_t rng = 1618;
  long bad = 0;
  static const int sizes[] = {1, 2, 3, 7, 99, 100, 101, 1000, MAXN};
  for (int trial = 0; trial < 40; trial++) {
    int n = sizes[trial % (int)(sizeof sizes / sizeof sizes[0])];
    int kind = trial % 4;
    for (int i = 0; i < n; i++) {
      switch (kind) {
      case 0: /* uniform, mostly exact range and just above */
        v[i] = (int64_t)t_rand_below(&rng, 400);
        break;
      case 1: /* log-uniform 1 ms .. 30 days */
        v[i] = (int64_t)exp((double)(t_rand(&rng) >> 11) * 0x1.0p-53 * log(30 * 86400e3));
        break;
      case 2: /* heavy ties on a few values */
        v[i] = (int64_t[]){0, 127, 128, 5000, 5001, 86400000}[t_rand_below(&rng, 6)];
        break;
      default: /* response times: mostly seconds to minutes */
        v[i] = 1000 + (int64_t)t_rand_below(&rng, 600000);
      }
    }
    static const char *names[] = {"uniform 0..400", "log-uniform", "ties", "1 s .. 10 min"};
    bad += check_percentiles(v, n, names[kind]);
  }
  T_EQ_INT(bad, 0);
}

static void test_hist_ops(void) {
  ccp_hist_t a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  double out[3];
  const int p3[] = {50, 90, 100};
  ccp_hist_percentiles(&a, p3, 3, out); /* empty: NaN, no allocation needed */
  T_TRUE(isnan(out[0]) && isnan(out[1]) && isnan(out[2]));
  T_EQ_INT(ccp_hist_nonzero(&a), 0);
  T_TRUE(a.p == NULL);

  for (int i = 1; i <= 10; i++)
    ccp_hist_add(&a, ccp_sketch_bin(i * 10), 1); /* 10..100: exact bins */
  T_EQ_INT(a.n, 10);
  T_EQ_INT(ccp_hist_nonzero(&a), 10);
  ccp_hist_percentiles(&a, p3, 3, out);
  T_EQ_DBL(out[0], 50, 0); /* rank 5 */
  T_EQ_DBL(out[1], 90, 0); /* rank 9 */
  T_EQ_DBL(out[2], 100, 0);
  /* remove (a window slides): 10 and 20 leave */
  ccp_hist_add(&a, ccp_sketch_bin(10), -1);
  ccp_hist_add(&a, ccp_sketch_bin(20), -1);
  T_EQ_INT(a.n, 8);
  T_EQ_INT(ccp_hist_nonzero(&a), 8);
  ccp_hist_percentiles(&a, p3, 3, out);
  T_EQ_DBL(out[0], 60, 0); /* rank 4 of 30..100 */
  /* merge (shards): b holds 1000 and a big value */
  ccp_hist_add(&b, ccp_sketch_bin(1000), 1);
  ccp_hist_add(&b, ccp_sketch_bin(5000000000LL), 1);
  ccp_hist_merge(&a, &b);
  T_EQ_INT(a.n, 10);
  T_EQ_INT(ccp_hist_nonzero(&a), 10);
  ccp_hist_percentiles(&a, p3, 3, out);
  T_EQ_DBL(out[2], ccp_sketch_value(ccp_sketch_bin(5000000000LL)), 0);
  T_TRUE(fabs(out[1] - 1000) <= 1000 * BOUND); /* rank 9 of 10 */
  /* merge into an empty histogram, and of an empty one */
  ccp_hist_t c;
  memset(&c, 0, sizeof c);
  ccp_hist_merge(&c, &b);
  T_EQ_INT(c.n, 2);
  ccp_hist_t empty;
  memset(&empty, 0, sizeof empty);
  ccp_hist_merge(&c, &empty);
  T_EQ_INT(c.n, 2);
  /* clear empties but keeps the allocation */
  ccp_hist_clear(&b);
  T_EQ_INT(b.n, 0);
  T_EQ_INT(ccp_hist_nonzero(&b), 0);
  ccp_hist_percentiles(&b, p3, 3, out);
  T_TRUE(isnan(out[0]));
  T_TRUE(b.p != NULL);
  ccp_hist_add(&b, 3, 1); /* reusable after clear */
  T_EQ_INT(b.n, 1);
  ccp_hist_release(&a);
  ccp_hist_release(&b);
  ccp_hist_release(&c);
  T_TRUE(a.p == NULL);
  T_EQ_INT(a.n, 0);
}

typedef struct walk {
  int last, calls;
  uint64_t total;
  int ordered;
} walk_t;

static void on_bin(void *opaque, uint16_t bin, uint32_t count) {
  walk_t *w = opaque;
  if (bin <= w->last || count == 0)
    w->ordered = 0;
  w->last = bin;
  w->calls++;
  w->total += count;
}

static void test_hist_each(void) {
  ccp_hist_t h;
  memset(&h, 0, sizeof h);
  walk_t w = {.last = -1, .ordered = 1};
  ccp_hist_each(&h, on_bin, &w);
  T_EQ_INT(w.calls, 0);
  static const uint16_t bins[] = {CCP_SKETCH_BINS - 1, 0, 63, 64, 65, 500, 64, 0};
  for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++)
    ccp_hist_add(&h, bins[i], 1);
  ccp_hist_add(&h, 500, -1); /* back to zero: not walked */
  w = (walk_t){.last = -1, .ordered = 1};
  ccp_hist_each(&h, on_bin, &w);
  T_EQ_INT(w.calls, 5); /* 0, 63, 64, 65, last */
  T_EQ_INT(w.total, 7);
  T_TRUE(w.ordered);
  T_EQ_INT(w.last, CCP_SKETCH_BINS - 1);
  ccp_hist_release(&h);
}

/* ccp_shist_fill() gives the bins ccp_hist_get() reads, ascending, sparse
 * and dense (past CCP_HIST_SPARSE_MAX bins), and nothing for an empty one. */
static void test_shist_fill(void) {
  static uint32_t count[CCP_SKETCH_BINS];
  static uint16_t bin[CCP_SKETCH_BINS];
  ccp_hist_t h;
  memset(&h, 0, sizeof h);
  ccp_shist_t d;
  T_EQ_INT(ccp_shist_fill(&d, &h, count, bin), 0);
  T_TRUE(d.n == 0 && d.bin == NULL && d.count == NULL);
  uint64_t x = 7;
  for (int round = 0; round < 3; round++) { /* 20 bins (sparse), 200, 900 (dense) */
    int adds = round == 0 ? 20 : round == 1 ? 200 : 900;
    for (int i = 0; i < adds; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      ccp_hist_add(&h, (uint16_t)((x >> 33) % CCP_SKETCH_BINS), 1 + (int64_t)(x >> 60));
    }
    uint32_t n = ccp_shist_fill(&d, &h, count, bin), seen = 0;
    T_TRUE(n == d.n && d.bin == bin && d.count == count);
    int ok = 1;
    for (int b = 0; b < CCP_SKETCH_BINS; b++) {
      uint32_t c = ccp_hist_get(&h, (uint16_t)b);
      if (!c)
        continue;
      ok &= seen < n && bin[seen] == b && count[seen] == c;
      seen++;
    }
    T_TRUE(ok && seen == n && n == (uint32_t)ccp_hist_nonzero(&h));
    T_TRUE(round == 0 ? n < CCP_HIST_SPARSE_MAX : n > CCP_HIST_SPARSE_MAX);
  }
  ccp_hist_release(&h);
}

int main(void) {
  T_RUN(test_exact_below_128);
  T_RUN(test_bound_every_integer);
  T_RUN(test_bound_log_spaced_and_random);
  T_RUN(test_clamp);
  T_RUN(test_bin_same_as_pow);
  T_RUN(test_percentiles_vs_exact);
  T_RUN(test_hist_ops);
  T_RUN(test_hist_each);
  T_RUN(test_shist_fill);
  return T_DONE();
}
