/*
 * Growable byte buffer. Single-threaded: a buffer belongs to its embedder.
 * Capacity doubles, so appends are amortised O(1); the buffer is reused
 * (ccp_buf_clear) rather than reallocated on hot paths.
 *
 * Numbers: ccp_buf_put_double() writes the first of %.15g, %.16g, %.17g that
 * reads back (the JSON of every KPI). Searching that with snprintf and strtod
 * cost ~1 us a number, a quarter of `ccpulse run`'s CPU; for magnitudes in
 * [1e-5, 1e15) (every KPI in practice) the rounding and the read-back test
 * are done exactly in 128-bit integers instead (~17x faster), with the same
 * bytes: tests/test_buf.c compares the two on a million doubles. The 17
 * digits are computed once (the 15 and 16 are their quotient by 100 and
 * 10) and written two at a time from a table, in place in the buffer.
 */
#include "ccpulse/buf.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/common.h"

void ccp_buf_init(ccp_buf_t *b) { memset(b, 0, sizeof *b); }

void ccp_buf_release(ccp_buf_t *b) {
  ccp_free(b->data);
  memset(b, 0, sizeof *b);
}

/* A catch-up's burst (thousands of deadline alerts in one cycle) grows the
 * publisher's scratch buffers to tens of MB that an idle or steady stream
 * never needs again; kept, they stay resident. The factor 8 leaves a buffer
 * whose uses vary a few times in size alone (no release and regrowth each
 * cycle). */
void ccp_buf_shrink(ccp_buf_t *b, size_t used) {
  if (ccp_scratch_oversized(b->cap, used, 1))
    ccp_buf_release(b);
}

void ccp_buf_reserve(ccp_buf_t *b, size_t n) {
  if (b->len + n + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1)
    cap *= 2;
  b->data = ccp_realloc(b->data, cap);
  b->cap = cap;
}

void ccp_buf_append(ccp_buf_t *b, const void *p, size_t n) {
  ccp_buf_reserve(b, n);
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
}

void ccp_buf_puts(ccp_buf_t *b, const char *s) { ccp_buf_append(b, s, strlen(s)); }

void ccp_buf_putc(ccp_buf_t *b, char c) {
  ccp_buf_reserve(b, 1);
  b->data[b->len++] = c;
  b->data[b->len] = 0;
}

void ccp_buf_printf(ccp_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof tmp) {
    ccp_buf_append(b, tmp, (size_t)n);
    return;
  }
  ccp_buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void ccp_buf_put_i64(ccp_buf_t *b, int64_t v) {
  char tmp[24];
  char *e = tmp + sizeof tmp, *p = e;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    *--p = '-';
  ccp_buf_append(b, p, (size_t)(e - p));
}

/* The rendering of ccp_buf_put_double() by search: %.15g, %.16g, %.17g (from
 * %.1g for a subnormal, which carries fewer digits), the first that strtod
 * reads back. The reference the fast path below must match byte for byte,
 * and what serves the values that path leaves out. Returns the length. */
static int double_by_search(char *tmp, size_t size, double v) {
  int n = 0;
  for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
    n = snprintf(tmp, size, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v)
      break;
  }
  return n;
}

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

/* 10^k for k = 0..22. */
static u128 pow10_128(int k) {
  static const uint64_t p[20] = {1ULL,
                                 10ULL,
                                 100ULL,
                                 1000ULL,
                                 10000ULL,
                                 100000ULL,
                                 1000000ULL,
                                 10000000ULL,
                                 100000000ULL,
                                 1000000000ULL,
                                 10000000000ULL,
                                 100000000000ULL,
                                 1000000000000ULL,
                                 10000000000000ULL,
                                 100000000000000ULL,
                                 1000000000000000ULL,
                                 10000000000000000ULL,
                                 100000000000000000ULL,
                                 1000000000000000000ULL,
                                 10000000000000000000ULL};
  return k < 20 ? (u128)p[k] : (u128)p[19] * p[k - 19];
}

/* The 8 decimal digits of v < 10^8 at o, two at a time from a table: four
 * independent products where a loop of divisions by 10 is a chain of 8. */
static inline void digits8(char *o, uint32_t v) {
  static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                 "25262728293031323334353637383940414243444546474849"
                                 "50515253545556575859606162636465666768697071727374"
                                 "75767778798081828384858687888990919293949596979899";
  uint32_t hi = v / 10000, lo = v % 10000;
  memcpy(o, pairs + 2 * (hi / 100), 2);
  memcpy(o + 2, pairs + 2 * (hi % 100), 2);
  memcpy(o + 4, pairs + 2 * (lo / 100), 2);
  memcpy(o + 6, pairs + 2 * (lo % 100), 2);
}

/* Writes the %.{prec}g rendering of D * 10^(x - prec + 1), D having exactly
 * prec digits: exponent form when x < -4 or x >= prec, trailing zeros of
 * the fraction dropped (glibc's %g, without '#'). Returns the length. */
static int g_render(char *out, uint64_t d, int prec, int x) {
  char all[18]; /* d < 10^17: its 18 digits, leading zeros included */
  uint64_t top = d / 100000000;
  digits8(all + 10, (uint32_t)(d % 100000000));
  digits8(all + 2, (uint32_t)(top % 100000000));
  all[0] = '0';
  all[1] = (char)('0' + top / 100000000);
  const char *dig = all + 18 - prec;
  int nd = prec; /* significant digits left after dropping trailing zeros */
  while (nd > 1 && dig[nd - 1] == '0')
    nd--;
  int n = 0;
  if (x < -4 || x >= prec) {
    out[n++] = dig[0];
    if (nd > 1) {
      out[n++] = '.';
      memcpy(out + n, dig + 1, (size_t)nd - 1);
      n += nd - 1;
    }
    out[n++] = 'e';
    out[n++] = x < 0 ? '-' : '+';
    int ax = x < 0 ? -x : x;
    if (ax >= 100)
      out[n++] = (char)('0' + ax / 100);
    out[n++] = (char)('0' + ax / 10 % 10);
    out[n++] = (char)('0' + ax % 10);
  } else if (x >= 0) {
    int ni = x + 1; /* integer digits; nd may be fewer (trailing zeros) */
    for (int i = 0; i < ni; i++)
      out[n++] = i < nd ? dig[i] : '0';
    if (nd > ni) {
      out[n++] = '.';
      memcpy(out + n, dig + ni, (size_t)(nd - ni));
      n += nd - ni;
    }
  } else {
    out[n++] = '0';
    out[n++] = '.';
    for (int i = 0; i < -x - 1; i++)
      out[n++] = '0';
    memcpy(out + n, dig, (size_t)nd);
    n += nd;
  }
  out[n] = '\0';
  return n;
}

/* One precision of double_fast(): a 10^k = (q + r17 / S) with q of 17
 * digits (x the decimal exponent of its first) and m the mantissa; p =
 * 10^(17 - prec). Writes the rendering and returns its length when the
 * correct rounding to prec digits reads back, else returns 0. */
static inline int prec_fast(char *out, uint64_t q, u128 r17, u128 S, uint64_t m, int k, int x,
                            int prec, uint64_t p) {
  uint64_t qp = q / p;
  u128 r = (u128)(q % p) * S + r17; /* a 10^k - qp p, in units of 2^-s */
  u128 half = (u128)p * (S >> 1);
  int up = r > half || (r == half && (qp & 1));
  u128 dist = up ? (u128)p * S - r : r; /* |rounded - a 10^k| in units of 2^-s */
  u128 gap = pow10_128(k); /* the spacing of doubles at a, times 10^k, in the same units */
  int lower_narrow = !up && m == (1ULL << 52); /* the double below a is only half as far */
  u128 twice = lower_narrow ? dist << 2 : dist << 1;
  int reads_back = twice < gap || (twice == gap && !(m & 1));
  if (!reads_back)
    return 0;
  uint64_t d = qp + (uint64_t)up;
  if (d == 100000000000000000ULL / p) /* rounded up to 10^prec */
    return g_render(out, d / 10, prec, x + 1);
  return g_render(out, d, prec, x);
}

/* The rendering of double_by_search() for a positive a in [1e-5, 1e15),
 * exactly, without printf or strtod: a = m 2^-s with 3 <= s <= 69, so
 * a 10^k for the k of 17 digits is a 128-bit fraction N / 2^s, computed
 * once; its 15 and 16 digits are its 17 with the last two or one dropped
 * (floor of the quotient by 100 or 10, the dropped digits joining the
 * fraction), so each precision's correct rounding (half to even, as
 * glibc's printf) and whether that reads back (within half the gap to the
 * neighbouring double, a tie going to the even mantissa, as glibc's
 * strtod) are integer comparisons at the scale of the 17 digits. Returns
 * the length, or 0 when no precision up to 17 reads back (does not
 * happen). */
static int double_fast(char *out, double a) {
  uint64_t bits;
  memcpy(&bits, &a, sizeof bits);
  int e = (int)(bits >> 52) & 0x7ff;
  uint64_t m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
  int s = 1075 - e; /* a = m 2^-s */
  u128 S = (u128)1 << s;
  /* floor(log10(2^(e-1023))): the decimal exponent, or one less */
  int x = (int)(((int64_t)(e - 1023) * 78913) >> 18);
  const uint64_t lo17 = 10000000000000000ULL, hi17 = 10 * lo17;
  u128 n;
  uint64_t q;
  int k;
  for (;;) { /* x such that 10^16 <= a 10^k < 10^17, k = 16 - x */
    k = 16 - x;
    n = (u128)m * pow10_128(k);
    u128 q128 = n >> s;
    if (q128 >= hi17) {
      x++;
    } else if (q128 < lo17) {
      x--;
    } else {
      q = (uint64_t)q128;
      break;
    }
  }
  u128 r17 = n & (S - 1);
  /* the divisors constant in each (inlined): no division instruction */
  int len = prec_fast(out, q, r17, S, m, k, x, 15, 100);
  if (!len)
    len = prec_fast(out, q, r17, S, m, k, x, 16, 10);
  if (!len)
    len = prec_fast(out, q, r17, S, m, k, x, 17, 1);
  return len;
}
#endif

void ccp_buf_put_double(ccp_buf_t *b, double v) {
  if (!isfinite(v)) {
    ccp_buf_append(b, "null", 4);
    return;
  }
  if (v == 0)
    v = 0; /* no "-0" */
  if (fabs(v) < 9e15 && v == (double)(int64_t)v) {
    ccp_buf_put_i64(b, (int64_t)v);
    return;
  }
  /* The shortest of 15 to 17 digits that reads back: for a normal double,
   * the correctly rounded %.15g is its shortest form whenever that has <= 15
   * digits. */
  enum { ROOM = 40 }; /* written in place: "-d.dddddddddddddddde-308" and its NUL fit */
  ccp_buf_reserve(b, ROOM);
  char *tmp = b->data + b->len;
  int n = 0;
#ifdef __SIZEOF_INT128__
  double a = fabs(v);
  if (a >= 1e-5 && a < 1e15) { /* what KPIs are: no printf, no strtod */
    char *o = tmp;
    if (v < 0)
      *o++ = '-';
    int k = double_fast(o, a);
    n = k ? (int)(o - tmp) + k : 0;
  }
#endif
  if (!n)
    n = double_by_search(tmp, ROOM, v);
  b->len += (size_t)n;
  b->data[b->len] = 0;
}

void ccp_buf_put_json_str(ccp_buf_t *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  /* the letter after the backslash of the two-character escapes; 0 = none */
  static const char short_esc[0x80] = {
      ['"'] = '"', ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
  ccp_buf_reserve(b, len + 2);
  ccp_buf_putc(b, '"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80 && short_esc[c]) {
      char e[2] = {'\\', short_esc[c]};
      ccp_buf_append(b, e, 2);
    } else if (c < 0x20) {
      char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      ccp_buf_append(b, u, 6);
    } else {
      ccp_buf_putc(b, (char)c);
    }
  }
  ccp_buf_putc(b, '"');
}
