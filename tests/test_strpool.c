/*
 * String pool: copies are exact, freed blocks are reused by their size class,
 * long strings fall back to the heap, release frees everything (ASan checks).
 */
#include "ccp_test.h"
#include "util/strpool.h"

static void test_dup_and_reuse(void) {
  ccp_strpool_t p;
  ccp_strpool_init(&p);
  char *a = ccp_strpool_dup(&p, "T-000123xyz", 8);
  T_EQ_STR(a, "T-000123");
  char *b = ccp_strpool_dup(&p, "another-ticket-id-of-30-bytes", 29);
  T_EQ_STR(b, "another-ticket-id-of-30-bytes");
  ccp_strpool_free(&p, a);
  char *c = ccp_strpool_dup(&p, "T-999", 5); /* same class as a: reuses its block */
  T_TRUE(c == a);
  T_EQ_STR(c, "T-999");
  T_EQ_STR(b, "another-ticket-id-of-30-bytes"); /* untouched */
  char big[600];
  memset(big, 'x', sizeof big);
  char *d = ccp_strpool_dup(&p, big, sizeof big); /* beyond the classes: heap */
  T_EQ_INT(strlen(d), sizeof big);
  ccp_strpool_free(&p, d);
  ccp_strpool_free(&p, NULL);
  ccp_strpool_release(&p);
}

static void test_many(void) {
  ccp_strpool_t p;
  ccp_strpool_init(&p);
  enum { N = 20000 };
  static char *keep[N];
  char tmp[64];
  size_t chunks_first = 0;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < N; i++) {
      int n = snprintf(tmp, sizeof tmp, "ticket-%d-%0*d", i, i % 40, round);
      keep[i] = ccp_strpool_dup(&p, tmp, (size_t)n);
    }
    for (int i = 0; i < N; i++) {
      snprintf(tmp, sizeof tmp, "ticket-%d-%0*d", i, i % 40, round);
      if (strcmp(keep[i], tmp) != 0) {
        T_EQ_STR(keep[i], tmp);
        break;
      }
    }
    if (round == 0)
      chunks_first = p.nchunks;
    else
      T_EQ_INT(p.nchunks, chunks_first); /* warmed up: freed blocks reused, no new chunk */
    for (int i = 0; i < N; i++)
      ccp_strpool_free(&p, keep[i]);
  }
  ccp_strpool_release(&p);
}

int main(void) {
  T_RUN(test_dup_and_reuse);
  T_RUN(test_many);
  return T_DONE();
}
