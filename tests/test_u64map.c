/*
 * src/util/u64map.[ch]: the open-addressing u64 -> u64 map (linear probing,
 * backward-shift deletion, load <= 1/2, or 3/4 when dense).
 *
 * Covers put/get/del on an empty and a small map, growth (capacity, load
 * bound, ccp_u64map_would_grow), clusters of colliding keys that wrap around
 * the end of the table with deletes at the head, middle and tail (every
 * remaining key must still be found and sit where a lookup finds it), filter
 * (rebuilt and in place: keep() once per entry),
 * and a randomized sequence of operations (fixed seed) against a plain
 * reference array, in every mode (sparse, dense, and fine: grows by 1/4,
 * any capacity, home by multiplication), a fine map's save and load, and
 * large slot arrays (ccp_calloc_big) counted in ccp_mem_used.
 *
 * Home slots are found by experiment (the slot a key takes in an empty
 * table), so the tests do not copy the hash folding of u64map.c.
 */
#include "ccp_test.h"
#include "ccpulse/buf.h"
#include "ccpulse/common.h"
#include "util/ser.h"
#include "util/u64map.h"

/* Slot index of key in m, or -1. */
static long slot_of(const ccp_u64map_t *m, uint64_t key) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key == key)
      return (long)i;
  return -1;
}

/* Home slot of key in a table of 64 slots: where it lands when alone. */
static long home64(uint64_t key) {
  ccp_u64map_t m;
  ccp_u64map_init(&m);
  ccp_u64map_put(&m, key, NULL);
  long s = m.cap == 64 ? slot_of(&m, key) : -1;
  ccp_u64map_release(&m);
  return s;
}

/* The structural invariant, through the public surface: count equals the
 * occupied slots, and a lookup of every stored key returns its own slot (so
 * no empty slot lies between a key and its home). Returns 1 when it holds. */
static int map_consistent(const ccp_u64map_t *m) {
  size_t used = 0;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key)
      continue;
    used++;
    if (ccp_u64map_get(m, m->slots[i].key) != &m->slots[i].val) {
      fprintf(stderr, "key %" PRIu64 " in slot %zu is not found there\n", m->slots[i].key, i);
      return 0;
    }
  }
  if (used != m->count) {
    fprintf(stderr, "count %zu but %zu slots used\n", m->count, used);
    return 0;
  }
  return 1;
}

static void test_empty_and_basic(void) {
  ccp_u64map_t m;
  ccp_u64map_init(&m);
  T_EQ_INT(m.cap, 0);
  T_TRUE(ccp_u64map_get(&m, 5) == NULL);
  T_EQ_INT(ccp_u64map_del(&m, 5), 0);
  T_EQ_INT(ccp_u64map_bytes(&m), 0);
  T_EQ_U64(ccp_u64map_key(0), 1);
  T_EQ_U64(ccp_u64map_key(42), 42);

  int isnew = -1;
  uint64_t *v = ccp_u64map_put(&m, 5, &isnew);
  T_EQ_INT(isnew, 1);
  T_EQ_U64(*v, 0); /* a new key starts at 0 */
  *v = 500;
  T_EQ_INT(m.count, 1);
  T_EQ_INT(m.cap, 64); /* first allocation */
  T_EQ_INT(ccp_u64map_bytes(&m), 64 * sizeof(ccp_u64map_entry_t));
  v = ccp_u64map_put(&m, 5, &isnew);
  T_EQ_INT(isnew, 0);
  T_EQ_U64(*v, 500);
  T_EQ_INT(m.count, 1);
  T_TRUE(ccp_u64map_put(&m, 5, NULL) == v); /* isnew may be NULL */
  T_TRUE(ccp_u64map_get(&m, 5) == v);
  T_TRUE(ccp_u64map_get(&m, 6) == NULL);
  T_EQ_INT(ccp_u64map_del(&m, 6), 0);
  T_EQ_INT(ccp_u64map_del(&m, 5), 1);
  T_EQ_INT(ccp_u64map_del(&m, 5), 0);
  T_TRUE(ccp_u64map_get(&m, 5) == NULL);
  T_EQ_INT(m.count, 0);
  /* a key put again after its delete starts at 0 again */
  v = ccp_u64map_put(&m, 5, &isnew);
  T_EQ_INT(isnew, 1);
  T_EQ_U64(*v, 0);
  /* extreme keys */
  *ccp_u64map_put(&m, UINT64_MAX, NULL) = 7;
  *ccp_u64map_put(&m, 1, NULL) = 8;
  T_EQ_U64(*ccp_u64map_get(&m, UINT64_MAX), 7);
  T_EQ_U64(*ccp_u64map_get(&m, 1), 8);
  T_TRUE(map_consistent(&m));
  ccp_u64map_release(&m);
  T_EQ_INT(m.cap, 0);
  T_EQ_INT(m.count, 0);
  T_TRUE(m.slots == NULL);
}

/* Growth keeps every entry, doubles the capacity, and never exceeds the
 * load bound; would_grow predicts exactly when the capacity changes. */
/* mode: 0 sparse, 1 dense, 2 fine and dense, 3 fine and sparse */
static void growth_mode(int mode) {
  int dense = mode == 1 || mode == 2, fine = mode >= 2;
  ccp_u64map_t m;
  ccp_u64map_init(&m);
  m.dense = dense;
  m.fine = fine;
  uint64_t rng = 99 + (uint64_t)mode;
  enum { N = 20000 };
  static uint64_t keys[N];
  int grew = 0;
  for (int i = 0; i < N; i++) {
    keys[i] = ccp_u64map_key(t_rand(&rng));
    size_t cap = m.cap;
    int predicted = ccp_u64map_would_grow(&m);
    int isnew;
    *ccp_u64map_put(&m, keys[i], &isnew) = (uint64_t)i * 3;
    T_EQ_INT(isnew, 1);
    T_EQ_INT(m.cap != cap, predicted);
    if (m.cap != cap) {
      grew++;
      T_EQ_INT(m.cap, !cap ? 64 : fine ? cap + cap / 4 : cap * 2);
      if (fine && cap) /* right after growing by 1/4: load about 3/5 (dense) or 2/5 */
        T_LE_INT(m.cap * (dense ? 3 : 2), m.count * 5 + 5);
    }
    /* load bound: count <= cap/2 (or 3/4 dense) */
    if (dense)
      T_LE_INT(m.count * 4, m.cap * 3);
    else
      T_LE_INT(m.count * 2, m.cap);
  }
  T_EQ_INT(m.count, N);
  T_TRUE(grew >= 8);
  /* the first capacity of the growth sequence that holds N at the bound */
  size_t want = 64;
  while (dense ? N * 4 > want * 3 : N * 2 > want)
    want = fine ? want + want / 4 : want * 2;
  T_EQ_INT(m.cap, want);
  int missing = 0;
  for (int i = 0; i < N; i++) {
    uint64_t *v = ccp_u64map_get(&m, keys[i]);
    if (!v || *v != (uint64_t)i * 3)
      missing++;
  }
  T_EQ_INT(missing, 0);
  T_TRUE(map_consistent(&m));
  ccp_u64map_release(&m);
}

static void test_growth(void) { growth_mode(0); }
static void test_growth_dense(void) { growth_mode(1); }
static void test_growth_fine(void) { growth_mode(2); }
static void test_growth_fine_sparse(void) { growth_mode(3); }

/* A cluster that wraps: keys whose homes are 60, 62, 63 and 0 in a 64-slot
 * table, inserted so that the run of occupied slots goes 60..63, 0..n. */
enum { NCL = 20 };
static uint64_t cl_keys[NCL];
static long cl_home[NCL];

static int build_cluster_keys(void) {
  static const long homes[] = {60, 60, 60, 62, 60, 63, 0,  62, 63, 0,
                               1,  60, 0,  2,  62, 1,  63, 0,  60, 3};
  int filled[NCL] = {0};
  int n = 0;
  for (uint64_t k = 1; k < 100000 && n < NCL; k++) {
    long h = home64(k);
    for (int i = 0; i < NCL; i++)
      if (!filled[i] && homes[i] == h) {
        filled[i] = 1;
        cl_keys[i] = k;
        cl_home[i] = h;
        n++;
        break;
      }
  }
  return n == NCL;
}

static void cluster_fill(ccp_u64map_t *m) {
  ccp_u64map_init(m);
  for (int i = 0; i < NCL; i++)
    *ccp_u64map_put(m, cl_keys[i], NULL) = 1000 + (uint64_t)i;
}

/* Every key not deleted is found with its value, every deleted one is not. */
static int cluster_check(const ccp_u64map_t *m, const int *gone) {
  int bad = 0;
  for (int i = 0; i < NCL; i++) {
    uint64_t *v = ccp_u64map_get(m, cl_keys[i]);
    if (gone[i] ? v != NULL : (!v || *v != 1000 + (uint64_t)i)) {
      fprintf(stderr, "cluster key #%d (home %ld): %s\n", i, cl_home[i],
              gone[i] ? "found after its delete" : "lost");
      bad++;
    }
  }
  return bad == 0 && map_consistent(m);
}

static void test_wrapping_cluster(void) {
  T_TRUE(build_cluster_keys());
  ccp_u64map_t m;
  cluster_fill(&m);
  T_EQ_INT(m.cap, 64); /* 20 keys stay below the 1/2 load */
  /* the run wraps: slots 60..63 and 0..15 are used, 16..59 empty */
  int used_tail = 0, used_head = 0, used_mid = 0;
  for (int i = 0; i < 64; i++) {
    int u = m.slots[i].key != 0;
    if (i >= 60)
      used_tail += u;
    else if (i < 16)
      used_head += u;
    else
      used_mid += u;
  }
  T_EQ_INT(used_tail, 4);
  T_EQ_INT(used_head, 16);
  T_EQ_INT(used_mid, 0);
  ccp_u64map_release(&m);

  /* every single delete, from each position of the run */
  for (int d = 0; d < NCL; d++) {
    int gone[NCL] = {0};
    cluster_fill(&m);
    T_EQ_INT(ccp_u64map_del(&m, cl_keys[d]), 1);
    gone[d] = 1;
    T_EQ_INT(m.count, NCL - 1);
    if (!cluster_check(&m, gone))
      T_FAIL_("after deleting cluster key #%d", d);
    ccp_u64map_release(&m);
  }

  /* the head of the run over and over (the first used slot from 60 on,
   * cyclically): the rest shifts back, across the end of the table */
  {
    int gone[NCL] = {0};
    cluster_fill(&m);
    for (int step = 0; step < NCL; step++) {
      uint64_t k = 0;
      for (int s = 0; s < 64 && !k; s++)
        k = m.slots[(60 + s) % 64].key;
      T_TRUE(k != 0);
      if (!k)
        break;
      int idx = -1;
      for (int i = 0; i < NCL; i++)
        if (cl_keys[i] == k)
          idx = i;
      T_EQ_INT(ccp_u64map_del(&m, k), 1);
      gone[idx] = 1;
      if (!cluster_check(&m, gone)) {
        T_FAIL_("head delete step %d", step);
        break;
      }
    }
    T_EQ_INT(m.count, 0);
    ccp_u64map_release(&m);
  }

  /* random delete orders interleaved with re-inserts (fixed seed) */
  uint64_t rng = 7;
  for (int trial = 0; trial < 300; trial++) {
    int gone[NCL] = {0};
    cluster_fill(&m);
    for (int step = 0; step < 3 * NCL; step++) {
      int i = (int)t_rand_below(&rng, NCL);
      if (gone[i]) {
        int isnew;
        *ccp_u64map_put(&m, cl_keys[i], &isnew) = 1000 + (uint64_t)i;
        T_EQ_INT(isnew, 1);
        gone[i] = 0;
      } else {
        T_EQ_INT(ccp_u64map_del(&m, cl_keys[i]), 1);
        gone[i] = 1;
      }
      if (!cluster_check(&m, gone)) {
        T_FAIL_("trial %d step %d", trial, step);
        trial = 1 << 20;
        break;
      }
    }
    T_EQ_INT(m.cap, 64); /* never more than NCL keys: no growth */
    ccp_u64map_release(&m);
  }
}

static int keep_even(void *opaque, uint64_t key, uint64_t val) {
  (*(int *)opaque)++;
  (void)key;
  return val % 2 == 0;
}

/* keep_even, counting its calls and summing the keys it was called with */
typedef struct seen {
  size_t calls;
  uint64_t sum;
} seen_t;

static int keep_even_seen(void *opaque, uint64_t key, uint64_t val) {
  seen_t *x = opaque;
  x->calls++;
  x->sum += key;
  return val % 2 == 0;
}

/* A filter over clusters that wrap around the end of the table, among
 * 30,000 other keys: keep() is called once for every entry, the odd values
 * go, the even stay where a lookup finds them, the capacity stays, and a
 * checkpoint's save and load give back the very slots. */
static void test_filter(void) {
  ccp_u64map_t m;
  ccp_u64map_init(&m);
  T_EQ_INT(ccp_u64map_filter(&m, keep_even, &(int){0}), 0); /* empty: no call */
  T_TRUE(build_cluster_keys());
  for (int i = 0; i < NCL; i++)
    *ccp_u64map_put(&m, cl_keys[i], NULL) = (uint64_t)i;
  for (uint64_t k = 1; k <= 30000; k++)
    if (!ccp_u64map_get(&m, k * 7919))
      *ccp_u64map_put(&m, k * 7919, NULL) = k + NCL;
  size_t before = m.count, cap = m.cap;
  uint64_t want_sum = 0;
  for (size_t i = 0; i < m.cap; i++)
    want_sum += m.slots[i].key;
  seen_t seen = {0, 0};
  size_t removed = ccp_u64map_filter(&m, keep_even_seen, &seen);
  T_EQ_INT(seen.calls, before);
  T_TRUE(seen.sum == want_sum); /* every key once */
  T_EQ_INT(removed + m.count, before);
  T_EQ_INT(m.cap, cap); /* the capacity stays */
  for (int i = 0; i < NCL; i++) {
    uint64_t *v = ccp_u64map_get(&m, cl_keys[i]);
    T_TRUE(i % 2 == 0 ? v && *v == (uint64_t)i : v == NULL);
  }
  size_t odd_left = 0;
  for (size_t i = 0; i < m.cap; i++)
    odd_left += m.slots[i].key && m.slots[i].val % 2;
  T_EQ_INT(odd_left, 0);
  T_TRUE(map_consistent(&m));
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_u64map_save(&m, &b);
  ccp_ser_rd_t r;
  ccp_ser_rd_init(&r, b.data, b.len);
  ccp_u64map_t n;
  ccp_u64map_init(&n);
  T_EQ_INT(ccp_u64map_load(&n, &r, 1u << 20), 0);
  T_EQ_INT(n.count, m.count);
  T_TRUE(n.cap == m.cap && memcmp(n.slots, m.slots, m.cap * sizeof *m.slots) == 0);
  ccp_u64map_release(&n);
  ccp_buf_release(&b);
  ccp_u64map_release(&m);
}

/* A randomized sequence of put/get/del/filter against a reference: a plain
 * array over a fixed universe of keys. Half the universe collides on purpose
 * (keys j*4096 + 4088..4095: homes at the very end of any table up to 4096
 * slots, so the runs wrap), half is random 64-bit. */
static void randomized(int mode, uint64_t seed) {
  int dense = mode == 1 || mode == 2, fine = mode >= 2;
  enum { U = 3000, OPS = 200000 };
  static uint64_t key[U], val[U];
  static int present[U];
  uint64_t rng = seed;
  for (int i = 0; i < U; i++) {
    /* the first half collides near the end of the table: in the low bits (sparse, dense),
     * in the high bits (fine: every home is the last slot) */
    uint64_t near = (uint64_t)i * 4096 + 4088 + (uint64_t)(i % 8);
    key[i] = i < U / 2 ? (fine ? ~near : near) : ccp_u64map_key(t_rand(&rng));
    present[i] = 0;
  }
  ccp_u64map_t m;
  ccp_u64map_init(&m);
  m.dense = dense;
  m.fine = fine;
  size_t count = 0;
  long errors = 0;
  for (int op = 0; op < OPS && errors < 10; op++) {
    int i = (int)t_rand_below(&rng, U);
    uint64_t r = t_rand_below(&rng, 100);
    if (r < 45) { /* put */
      int isnew;
      uint64_t *v = ccp_u64map_put(&m, key[i], &isnew);
      if (isnew != !present[i] || (!isnew && *v != val[i]) || (isnew && *v != 0)) {
        fprintf(stderr, "op %d: put of key #%d: isnew %d, present %d\n", op, i, isnew, present[i]);
        errors++;
      }
      val[i] = t_rand(&rng);
      *v = val[i];
      count += !present[i];
      present[i] = 1;
    } else if (r < 75) { /* del */
      int rc = ccp_u64map_del(&m, key[i]);
      if (rc != present[i]) {
        fprintf(stderr, "op %d: del of key #%d returned %d, present %d\n", op, i, rc, present[i]);
        errors++;
      }
      count -= present[i];
      present[i] = 0;
    } else if (r < 99) { /* get */
      uint64_t *v = ccp_u64map_get(&m, key[i]);
      if (present[i] ? !v || *v != val[i] : v != NULL) {
        fprintf(stderr, "op %d: get of key #%d wrong (present %d)\n", op, i, present[i]);
        errors++;
      }
    } else if (t_rand_below(&rng, 20) == 0) { /* now and then: drop the values with bit 0 set */
      size_t removed = ccp_u64map_filter(&m, keep_even, &(int){0});
      size_t want = 0;
      for (int k = 0; k < U; k++)
        if (present[k] && val[k] % 2) {
          present[k] = 0;
          want++;
        }
      count -= want;
      if (removed != want) {
        fprintf(stderr, "op %d: filter removed %zu, expected %zu\n", op, removed, want);
        errors++;
      }
    }
    if (m.count != count) {
      fprintf(stderr, "op %d: count %zu, expected %zu\n", op, m.count, count);
      errors++;
    }
    if (op % 5000 == 0 && !map_consistent(&m))
      errors++;
  }
  T_EQ_INT(errors, 0);
  /* full sweep at the end */
  int wrong = 0;
  for (int i = 0; i < U; i++) {
    uint64_t *v = ccp_u64map_get(&m, key[i]);
    wrong += present[i] ? !v || *v != val[i] : v != NULL;
  }
  T_EQ_INT(wrong, 0);
  T_TRUE(map_consistent(&m));
  /* the colliding half made runs that wrap around the end of the table */
  T_TRUE(m.slots[0].key != 0 && m.slots[m.cap - 1].key != 0);
  ccp_u64map_release(&m);
}

static void test_randomized(void) { randomized(0, 12345); }
static void test_randomized_dense(void) { randomized(1, 54321); }
static void test_randomized_fine(void) { randomized(2, 24680); }
static void test_randomized_fine_sparse(void) { randomized(3, 13579); }

/* A fine map saved and loaded into a fine map: the same capacity, every
 * entry in the slot it had; a capacity below 64 is refused. */
static void test_fine_save_load(void) {
  ccp_u64map_t m, n;
  ccp_u64map_init(&m);
  m.dense = m.fine = 1;
  uint64_t rng = 7;
  for (int i = 0; i < 5000; i++)
    *ccp_u64map_put(&m, ccp_u64map_key(t_rand(&rng)), NULL) = (uint64_t)i;
  T_TRUE((m.cap & (m.cap - 1)) != 0); /* not a power of two */
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_u64map_save(&m, &b);
  ccp_ser_rd_t r;
  ccp_ser_rd_init(&r, b.data, b.len);
  ccp_u64map_init(&n);
  n.dense = n.fine = 1;
  T_EQ_INT(ccp_u64map_load(&n, &r, 1u << 20), 0);
  T_EQ_INT(n.cap, m.cap);
  T_EQ_INT(n.count, m.count);
  T_EQ_INT(memcmp(n.slots, m.slots, m.cap * sizeof *m.slots), 0);
  ccp_u64map_release(&n);
  ccp_buf_clear(&b);
  ccp_ser_put_u64(&b, 48); /* capacity 48 (never reached by growth from 64), no entries */
  ccp_ser_put_u64(&b, 0);
  ccp_ser_rd_init(&r, b.data, b.len);
  ccp_u64map_init(&n);
  n.dense = n.fine = 1;
  T_EQ_INT(ccp_u64map_load(&n, &r, 1u << 20), -1);
  ccp_u64map_release(&n);
  ccp_buf_release(&b);
  ccp_u64map_release(&m);
}

/* ccp_u64map_save_by_val: entries by value then key (values spanning more
 * than one radix digit, many ties, runs of 2,000 and 40 equal values (sorted
 * by key by a quicksort, not only insertion), one huge value), whatever the layout:
 * the same entries inserted in another order, or loaded, save the same
 * bytes; the load holds every entry. */
static void test_save_by_val(void) {
  ccp_u64map_t m, n;
  ccp_u64map_init(&m);
  ccp_u64map_init(&n);
  uint64_t rng = 11;
  enum { N = 20000 };
  static uint64_t key[N], val[N];
  for (int i = 0; i < N; i++) {
    key[i] = ccp_u64map_key(t_rand(&rng));
    val[i] = i == 7                  ? UINT64_MAX - 3
             : i >= 1000 && i < 3000 ? 123456
             : i >= 3000 && i < 3040 ? 654321
                                     : (uint64_t)(i / 5) * 977 % 3000000;
    *ccp_u64map_put(&m, key[i], NULL) = val[i];
  }
  for (int i = N - 1; i >= 0; i--) /* reverse order: another layout */
    *ccp_u64map_put(&n, key[i], NULL) = val[i];
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  ccp_u64map_save_by_val(&m, &a);
  ccp_u64map_save_by_val(&n, &b);
  T_EQ_INT(a.len, 16 + (size_t)N * sizeof(ccp_u64map_entry_t));
  T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  int unsorted = 0;
  for (int i = 1; i < N; i++) {
    ccp_u64map_entry_t p, q;
    memcpy(&p, a.data + 16 + (size_t)(i - 1) * sizeof p, sizeof p);
    memcpy(&q, a.data + 16 + (size_t)i * sizeof q, sizeof q);
    unsorted += p.val > q.val || (p.val == q.val && p.key >= q.key);
  }
  T_EQ_INT(unsorted, 0);
  ccp_u64map_release(&n);
  ccp_u64map_init(&n);
  ccp_ser_rd_t r;
  ccp_ser_rd_init(&r, a.data, a.len);
  T_EQ_INT(ccp_u64map_load(&n, &r, 1u << 20), 0);
  T_EQ_INT(n.cap, m.cap);
  T_EQ_INT(n.count, m.count);
  int wrong = 0;
  for (int i = 0; i < N; i++) {
    uint64_t *v = ccp_u64map_get(&n, key[i]);
    wrong += !v || *v != val[i];
  }
  T_EQ_INT(wrong, 0);
  ccp_buf_clear(&b);
  ccp_u64map_save_by_val(&n, &b);
  T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  ccp_u64map_release(&n);
  ccp_u64map_release(&m);
}

/* Saves m both ways: ccp_u64map_save_by_val_again() must write the very bytes of
 * ccp_u64map_save_by_val(). Returns the entries it took from the order before. */
static size_t save_both(const ccp_u64map_t *m, ccp_u64map_order_t *o, uint64_t upto) {
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  ccp_u64map_save_by_val(m, &a);
  ccp_u64map_save_by_val_again(m, &b, o, upto);
  T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  return o->reused;
}

static int keep_from(void *opaque, uint64_t key, uint64_t val) {
  (void)key;
  return val >= *(const uint64_t *)opaque;
}

/* ccp_u64map_save_by_val_again on a map used as the duplicate filter is:
 * ids remembered at a clock that never goes back (many in one tick), stale
 * ones remembered again, sweeps of the oldest, saves in between; each save
 * writes the bytes of ccp_u64map_save_by_val and, after the first, takes the
 * ids below the last save's clock from its order. A map changed against the
 * promise (an entry deleted or put below the bound) is still saved exactly:
 * the check sees it and everything is sorted. */
static void test_save_by_val_again(void) {
  ccp_u64map_t m;
  ccp_u64map_init(&m);
  ccp_u64map_order_t o;
  ccp_u64map_order_init(&o);
  T_EQ_INT(save_both(&m, &o, 0), 0); /* empty */
  uint64_t rng = 99, t = 5000, horizon = 3000;
  enum { NK = 4096 };
  static uint64_t keys[NK];
  size_t nk = 0, reused = 0;
  for (int interval = 0; interval < 60; interval++) {
    for (int op = 0; op < 700; op++) {
      uint64_t r = t_rand(&rng);
      t += r % 7 == 0 ? 1 + r % 3 : 0; /* most ids share their tick with others */
      if (r % 10 < 8 || nk == 0) {
        uint64_t k = ccp_u64map_key(t_rand(&rng));
        *ccp_u64map_put(&m, k, NULL) = t;
        keys[nk++ % NK] = k;
      } else { /* an id seen before: remembered again only when stale */
        uint64_t *v = ccp_u64map_get(&m, keys[t_rand(&rng) % (nk < NK ? nk : NK)]);
        if (v && *v + horizon < t)
          *v = t;
      }
    }
    if (interval % 7 == 3) { /* a sweep drops the oldest */
      uint64_t from = t - horizon;
      ccp_u64map_filter(&m, keep_from, &from);
    }
    size_t took = save_both(&m, &o, t);
    T_TRUE(interval == 0 ? took == 0 : took > 0 && took < m.count);
    reused += took;
  }
  T_TRUE(reused > 20 * 700);
  /* against the promise: a deleted old entry, then an old value put back */
  T_TRUE(ccp_u64map_del(&m, o.ents[o.n / 2].key));
  T_EQ_INT(save_both(&m, &o, t), 0);
  T_TRUE(save_both(&m, &o, t) > 0);
  uint64_t gone = o.ents[1].key, old_val = o.ents[1].val;
  T_TRUE(ccp_u64map_del(&m, gone));
  *ccp_u64map_put(&m, ccp_u64map_key(t_rand(&rng)), NULL) = old_val; /* same count */
  T_EQ_INT(save_both(&m, &o, t), 0);
  /* every id of the last save swept, new ones since: those sorted, none to take */
  T_TRUE(save_both(&m, &o, t) > 0);
  ccp_u64map_filter(&m, keep_from, &(uint64_t){t + 1});
  *ccp_u64map_put(&m, ccp_u64map_key(t_rand(&rng)), NULL) = t + 5;
  T_EQ_INT(save_both(&m, &o, t + 5), 0);
  T_EQ_INT(o.valid, 1);
  T_EQ_INT(o.n, 1);
  ccp_u64map_filter(&m, keep_from, &(uint64_t){UINT64_MAX}); /* emptied */
  T_EQ_INT(save_both(&m, &o, t), 0);
  ccp_u64map_order_release(&o);
  ccp_u64map_release(&m);
}

/* A table of more than 1 MiB (its own mapping outside AddressSanitizer) is
 * zeroed, counted in ccp_mem_used while held and uncounted when replaced or
 * released, like any other. */
static void test_big_slots_counted(void) {
  size_t base = ccp_mem_used();
  ccp_u64map_t m;
  ccp_u64map_init(&m);
  m.dense = 1;
  uint64_t rng = 3;
  for (int i = 0; i < 200000; i++)
    *ccp_u64map_put(&m, ccp_u64map_key(t_rand(&rng)), NULL) = 1;
  T_TRUE(ccp_u64map_bytes(&m) > (1u << 20));
  T_EQ_INT(ccp_mem_used() - base, ccp_u64map_bytes(&m));
  T_TRUE(map_consistent(&m));
  size_t zero = 0;
  for (size_t j = 0; j < m.cap; j++)
    zero += !m.slots[j].key && !m.slots[j].val;
  T_EQ_INT(zero, m.cap - m.count);
  ccp_u64map_release(&m);
  T_EQ_INT(ccp_mem_used(), base);
  unsigned char *b = ccp_calloc_big(3u << 20, 1);
  T_EQ_INT(ccp_mem_used() - base, 3u << 20);
  int nonzero = 0;
  for (size_t j = 0; j < (3u << 20); j += 4096)
    nonzero |= b[j];
  T_EQ_INT(nonzero, 0);
  ccp_free_big(b);
  ccp_free_big(NULL);
  T_EQ_INT(ccp_mem_used(), base);
}

int main(void) {
  T_RUN(test_empty_and_basic);
  T_RUN(test_growth);
  T_RUN(test_growth_dense);
  T_RUN(test_growth_fine);
  T_RUN(test_growth_fine_sparse);
  T_RUN(test_wrapping_cluster);
  T_RUN(test_filter);
  T_RUN(test_randomized);
  T_RUN(test_randomized_dense);
  T_RUN(test_randomized_fine);
  T_RUN(test_randomized_fine_sparse);
  T_RUN(test_fine_save_load);
  T_RUN(test_save_by_val);
  T_RUN(test_save_by_val_again);
  T_RUN(test_big_slots_counted);
  return T_DONE();
}
