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
 * bytes: tests/test_buf.c compares the two on a million doubles.
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

/* Writes the %.{prec}g rendering of D * 10^(x - prec + 1), D having exactly
 * prec digits: exponent form when x < -4 or x >= prec, trailing zeros of
 * the fraction dropped (glibc's %g, without '#'). Returns the length. */
static int g_render(char *out, uint64_t d, int prec, int x) {
  char dig[20];
  for (int i = prec - 1; i >= 0; i--, d /= 10)
    dig[i] = (char)('0' + d % 10);
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

/* The rendering of double_by_search() for a positive a in [1e-5, 1e15),
 * exactly, without printf or strtod: a = m 2^-s with 3 <= s <= 69, so
 * a 10^k for the k of 17 digits is a 128-bit fraction N / 2^s; its correct
 * rounding to prec digits (half to even, as glibc's printf) and whether that
 * reads back (within half the gap to the neighbouring double, a tie going to
 * the even mantissa, as glibc's strtod) are integer comparisons. Returns the
 * length, or 0 when no precision up to 17 reads back (does not happen). */
static int double_fast(char *out, double a) {
  uint64_t bits;
  memcpy(&bits, &a, sizeof bits);
  int e = (int)(bits >> 52) & 0x7ff;
  uint64_t m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
  int s = 1075 - e; /* a = m 2^-s */
  u128 S = (u128)1 << s, half = S >> 1;
  /* floor(log10(2^(e-1023))): the decimal exponent, or one less */
  int x = (int)(((int64_t)(e - 1023) * 78913) >> 18);
  for (int prec = 15; prec <= 17; prec++) {
    u128 lo = pow10_128(prec - 1), hi = lo * 10, n, q;
    int k;
    for (;;) { /* x such that 10^(prec-1) <= a 10^k < 10^prec, k = prec-1-x */
      k = prec - 1 - x;
      n = (u128)m * pow10_128(k);
      q = n >> s;
      if (q >= hi)
        x++;
      else if (q < lo)
        x--;
      else
        break;
    }
    u128 r = n & (S - 1);
    int up = r > half || (r == half && (q & 1));
    u128 dist = up ? S - r : r; /* |rounded - a 10^k| in units of 2^-s */
    u128 gap = pow10_128(k);    /* the spacing of doubles at a, times 10^k, in the same units */
    int lower_narrow = !up && m == (1ULL << 52); /* the double below a is only half as far */
    u128 twice = lower_narrow ? dist << 2 : dist << 1;
    int reads_back = twice < gap || (twice == gap && !(m & 1));
    if (!reads_back)
      continue;
    uint64_t d = (uint64_t)(q + (u128)up);
    int xr = x;
    if (d == (uint64_t)hi) { /* rounded up to 10^prec */
      d = (uint64_t)lo;
      xr++;
    }
    return g_render(out, d, prec, xr);
  }
  return 0;
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
  char tmp[40];
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
    n = double_by_search(tmp, sizeof tmp, v);
  ccp_buf_append(b, tmp, (size_t)n);
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
