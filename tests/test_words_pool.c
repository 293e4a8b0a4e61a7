/* labels: unit threads */
/*
 * The pool of ccp_words_t blocks (src/counters/partial.c): an engine's
 * export takes its scopes' blocks from it and the last holder of a block,
 * on any thread, gives it back.
 *
 * Covers: a taken block has room for what was asked, at most a quarter more
 * (8 words at least), its n set and one reference; a block given back is
 * taken again, after the owner's next cycle, for a request of its size
 * class, and not for another class; one not taken again for a whole cycle
 * is freed (the sanitizer build sees no leak), and trim frees them all;
 * requests over the largest class and a NULL pool are plain blocks; a pool
 * closed while blocks are out is freed with the last of them given back;
 * and two threads, the owner taking blocks every cycle and another
 * releasing them (the live export and publisher), with each block's
 * contents checked while it is held: a block is never handed out twice.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "ccp_test.h"
#include "counters/partial.h"

static void fill(ccp_words_t *b, uint64_t tag) {
  for (uint32_t i = 0; i < b->n; i++)
    b->w[i] = tag + i;
}

static int intact(const ccp_words_t *b, uint64_t tag) {
  for (uint32_t i = 0; i < b->n; i++)
    if (b->w[i] != tag + i)
      return 0;
  return 1;
}

static void test_room(void) {
  ccp_words_pool_t *p = ccp_words_pool_new();
  int bad = 0;
  for (size_t n = 1; n <= 8192; n++) {
    ccp_words_t *b = ccp_words_pool_take(p, n, 1);
    size_t most = n <= 8 ? 8 : n + n / 4 + 1;
    if ((b->cap < n || b->cap > most || b->n != n || b->pool != p) && bad++ < 5)
      fprintf(stderr, "n %zu: cap %llu, n %u\n", n, (unsigned long long)b->cap, b->n);
    fill(b, n);
    T_TRUE(intact(b, n));
    ccp_words_free(b);
  }
  T_EQ_INT(bad, 0);
  ccp_words_t *two = ccp_words_pool_take(p, 100, 2); /* n entries of two words */
  T_EQ_INT(two->n, 100);
  T_TRUE(two->cap >= 200);
  ccp_words_free(two);
  ccp_words_t *big = ccp_words_pool_take(p, 8193, 1); /* over the largest class */
  T_TRUE(big->pool == NULL);
  T_EQ_INT(big->n, 8193);
  ccp_words_free(big);
  ccp_words_t *plain = ccp_words_pool_take(NULL, 10, 1);
  T_TRUE(plain->pool == NULL);
  ccp_words_free(plain);
  ccp_words_pool_close(p);
}

static void test_reuse(void) {
  ccp_words_pool_t *p = ccp_words_pool_new();
  ccp_words_t *a = ccp_words_pool_take(p, 100, 1);
  ccp_words_t *b = ccp_words_pool_take(p, 1000, 1);
  ccp_words_ref(a); /* two holders: the first release keeps it */
  ccp_words_free(a);
  ccp_words_free(b);
  ccp_words_pool_cycle(p);
  ccp_words_t *b2 = ccp_words_pool_take(p, 990, 1); /* b's class (896 < 990 <= 1024) */
  T_TRUE(b2 == b);
  T_EQ_INT(b2->n, 990);
  ccp_words_t *c = ccp_words_pool_take(p, 1000, 1); /* the class is empty again */
  T_TRUE(c != b);
  ccp_words_free(a); /* the last holder gives it back */
  ccp_words_free(b2);
  ccp_words_free(c);
  ccp_words_pool_cycle(p);
  ccp_words_t *other = ccp_words_pool_take(p, 50, 1); /* another class than a's */
  T_TRUE(other != a);
  ccp_words_t *a2 = ccp_words_pool_take(p, 97, 1);
  T_TRUE(a2 == a);
  ccp_words_free(other);
  ccp_words_free(a2);
  ccp_words_pool_cycle(p); /* the blocks of before are kept, those of now freed */
  ccp_words_pool_cycle(p);
  ccp_words_pool_trim(p);
  ccp_words_pool_close(p);
}

static void test_close_with_blocks_out(void) {
  ccp_words_pool_t *p = ccp_words_pool_new();
  ccp_words_t *out[10];
  for (int i = 0; i < 10; i++) {
    out[i] = ccp_words_pool_take(p, (size_t)(10 + 100 * i), 1);
    fill(out[i], (uint64_t)i << 32);
  }
  ccp_words_free(out[0]); /* given back before the close: freed by it */
  ccp_words_pool_close(p);
  for (int i = 1; i < 10; i++) { /* still whole; the last frees the pool */
    T_TRUE(intact(out[i], (uint64_t)i << 32));
    ccp_words_free(out[i]);
  }
}

/* The owner takes RING blocks a cycle and hands them over; the releaser
 * checks and releases each. */
#define RING 64
#define CYCLES 400

typedef struct {
  ccp_words_t *slot[RING];
  uint64_t tag[RING];
  _Atomic int full[RING]; /* 1: the slot holds a block for the releaser */
  _Atomic int bad;
} handover_t;

static void *releaser(void *arg) {
  handover_t *h = arg;
  for (int k = 0; k < CYCLES * RING; k++) {
    int i = k % RING;
    while (!atomic_load_explicit(&h->full[i], memory_order_acquire))
      ;
    if (!intact(h->slot[i], h->tag[i]))
      atomic_fetch_add(&h->bad, 1);
    ccp_words_free(h->slot[i]);
    atomic_store_explicit(&h->full[i], 0, memory_order_release);
  }
  return NULL;
}

static void test_two_threads(void) {
  static handover_t h;
  memset(&h, 0, sizeof h);
  ccp_words_pool_t *p = ccp_words_pool_new();
  pthread_t t;
  T_EQ_INT(pthread_create(&t, NULL, releaser, &h), 0);
  uint64_t rng = 5;
  for (int c = 0; c < CYCLES; c++) {
    ccp_words_pool_cycle(p);
    for (int i = 0; i < RING; i++) {
      while (atomic_load_explicit(&h.full[i], memory_order_acquire))
        ;
      ccp_words_t *b = ccp_words_pool_take(p, 1 + t_rand_below(&rng, 600), 1);
      uint64_t tag = (uint64_t)(c * RING + i) << 20;
      fill(b, tag);
      ccp_words_ref(b); /* the owner holds it a while too, as an engine its last export */
      h.slot[i] = b;
      h.tag[i] = tag;
      atomic_store_explicit(&h.full[i], 1, memory_order_release);
      if (!intact(b, tag))
        atomic_fetch_add(&h.bad, 1);
      ccp_words_free(b);
    }
  }
  pthread_join(t, NULL);
  T_EQ_INT(atomic_load(&h.bad), 0);
  ccp_words_pool_close(p);
}

int main(void) {
  T_RUN(test_room);
  T_RUN(test_reuse);
  T_RUN(test_close_with_blocks_out);
  T_RUN(test_two_threads);
  return T_DONE();
}
