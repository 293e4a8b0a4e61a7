/*
 * Minimal test harness: assertions print both values on failure, every test
 * binary ends with the plain line "N passed, N failed" and exits non-zero on
 * any failure. A test that cannot run here (a missing redis-server...) says
 * why and exits with T_SKIP_CODE, which CTest reports as skipped
 * (SKIP_RETURN_CODE, tests/CMakeLists.txt).
 *
 * Labels: the first lines of a test file may hold a comment
 * "labels: <label>..." (see tests/CMakeLists.txt); without one the test is
 * labelled "unit".
 */
#ifndef CCP_TEST_H
#define CCP_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ccp_t_passed, ccp_t_failed, ccp_t_cur_failed;
static const char *ccp_t_name = "";

#define T_FAIL_(fmt, ...)                                                                          \
  do {                                                                                             \
    fprintf(stderr, "FAIL %s (%s:%d): " fmt "\n", ccp_t_name, __FILE__, __LINE__, __VA_ARGS__);    \
    ccp_t_cur_failed = 1;                                                                          \
  } while (0)

/** Checks a condition. */
#define T_TRUE(c)                                                                                  \
  do {                                                                                             \
    if (!(c))                                                                                      \
      T_FAIL_("expected true: %s", #c);                                                            \
  } while (0)
/** Checks two integers are equal, printing both. */
#define T_EQ_INT(a, b)                                                                             \
  do {                                                                                             \
    long long _a = (long long)(a), _b = (long long)(b);                                            \
    if (_a != _b)                                                                                  \
      T_FAIL_("%s == %s: got %lld, expected %lld", #a, #b, _a, _b);                                \
  } while (0)
/** Checks two doubles are within eps, printing both. */
#define T_EQ_DBL(a, b, eps)                                                                        \
  do {                                                                                             \
    double _a = (double)(a), _b = (double)(b);                                                     \
    if (!(fabs(_a - _b) <= (eps)))                                                                 \
      T_FAIL_("%s == %s: got %.17g, expected %.17g", #a, #b, _a, _b);                              \
  } while (0)
/** Checks two C strings are equal, printing both. */
#define T_EQ_STR(a, b)                                                                             \
  do {                                                                                             \
    const char *_a = (a), *_b = (b);                                                               \
    if (!_a || !_b || strcmp(_a, _b) != 0)                                                         \
      T_FAIL_("%s == %s: got \"%s\", expected \"%s\"", #a, #b, _a ? _a : "(null)",                 \
              _b ? _b : "(null)");                                                                 \
  } while (0)

/** Checks two unsigned 64-bit integers are equal, printing both. */
#define T_EQ_U64(a, b)                                                                             \
  do {                                                                                             \
    uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);                                               \
    if (_a != _b)                                                                                  \
      T_FAIL_("%s == %s: got %" PRIu64 ", expected %" PRIu64, #a, #b, _a, _b);                     \
  } while (0)
/** Checks a <= b for integers, printing both. */
#define T_LE_INT(a, b)                                                                             \
  do {                                                                                             \
    long long _a = (long long)(a), _b = (long long)(b);                                            \
    if (!(_a <= _b))                                                                               \
      T_FAIL_("%s <= %s: got %lld > %lld", #a, #b, _a, _b);                                        \
  } while (0)

/** Exit code of a test that could not run here; CTest's SKIP_RETURN_CODE. */
#define T_SKIP_CODE 77
/** Prints "SKIP: <why>" and ends the test binary as skipped. */
#define T_SKIP(...)                                                                                \
  do {                                                                                             \
    printf("SKIP: " __VA_ARGS__);                                                                  \
    printf("\n");                                                                                  \
    exit(T_SKIP_CODE);                                                                             \
  } while (0)

/** Deterministic pseudo-random numbers (splitmix64) for fixed-seed tests. */
static inline uint64_t t_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
/** Uniform integer in [0, n) (n > 0; the modulo bias is irrelevant for tests). */
static inline uint64_t t_rand_below(uint64_t *state, uint64_t n) { return t_rand(state) % n; }

/** Runs one test function. */
#define T_RUN(fn)                                                                                  \
  do {                                                                                             \
    ccp_t_name = #fn;                                                                              \
    ccp_t_cur_failed = 0;                                                                          \
    fn();                                                                                          \
    if (ccp_t_cur_failed)                                                                          \
      ccp_t_failed++;                                                                              \
    else                                                                                           \
      ccp_t_passed++;                                                                              \
  } while (0)

/** Prints the closing line and returns the exit code. */
#define T_DONE()                                                                                   \
  (printf("%d passed, %d failed\n", ccp_t_passed, ccp_t_failed), ccp_t_failed ? 1 : 0)

#endif
