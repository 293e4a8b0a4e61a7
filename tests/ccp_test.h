/*
 * Minimal test harness: assertions print both values on failure, every test
 * binary ends with the plain line "N passed, N failed" and exits non-zero on
 * any failure.
 */
#ifndef CCP_TEST_H
#define CCP_TEST_H

#include <inttypes.h>
#include <math.h>
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
