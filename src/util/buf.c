/*
 * Growable byte buffer. Single-threaded: a buffer belongs to its embedder.
 * Capacity doubles, so appends are amortised O(1); the buffer is reused
 * (ccp_buf_clear) rather than reallocated on hot paths.
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

void ccp_buf_put_double(ccp_buf_t *b, double v) {
  if (!isfinite(v)) {
    ccp_buf_append(b, "null", 4);
    return;
  }
  if (v == 0)
    v = 0; /* no "-0" */
  if (v == (double)(int64_t)v && fabs(v) < 9e15) {
    ccp_buf_put_i64(b, (int64_t)v);
    return;
  }
  char tmp[40];
  /* 15 to 17 digits: for a normal double, the correctly rounded %.15g is its
   * shortest form whenever that has <= 15 digits. A subnormal carries fewer
   * digits of precision, so its search starts at 1. */
  for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v)
      break;
  }
  ccp_buf_puts(b, tmp);
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
