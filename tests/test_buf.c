/*
 * src/util/buf.c (include/ccpulse/buf.h): the growable byte buffer and its
 * JSON number and string writers.
 *
 * Covers: init/append/puts/putc/printf (short and longer than the internal
 * 256-byte scratch), growth across many doublings with the data always
 * NUL-terminated, clear keeping the capacity, reserve; shrink releasing a
 * scratch buffer only when it is over 1 MiB and over 8 times its last use; put_i64 at the int64
 * limits; put_double: integers as integers, "-0" as "0", NaN and infinities
 * as null, the shortest text that reads back (checked against strtod and
 * against every shorter %.*g) on fixed and random doubles, and byte for
 * byte the rendering by search (%.15g..%.17g, the first strtod reads back)
 * on a million doubles of the families where the exact integer path
 * differs from it most easily (ties, powers of two and ten, subnormals,
 * KPI-like ratios), each of its three precisions served; written in place
 * at every length around a growth; put_json_str:
 * quotes, backslash, the short escapes, every other control byte as
 * \u00XX, DEL and bytes >= 0x80 passed through unchanged, embedded NULs,
 * and a round trip through jansson.
 */
#include <float.h>
#include <jansson.h>

#include "ccp_test.h"
#include "ccpulse/buf.h"

static void test_append_and_growth(void) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  T_TRUE(b.data == NULL);
  T_EQ_INT(b.len, 0);
  T_EQ_INT(b.cap, 0);
  ccp_buf_clear(&b); /* clear of an empty buffer is fine */
  ccp_buf_append(&b, "", 0);
  T_EQ_INT(b.len, 0);
  T_TRUE(b.data != NULL && b.data[0] == 0);
  ccp_buf_puts(&b, "abc");
  ccp_buf_putc(&b, '-');
  ccp_buf_append(&b, "xyz", 2);
  T_EQ_STR(b.data, "abc-xy");
  T_EQ_INT(b.len, 6);
  T_EQ_INT(b.cap, 256); /* first allocation */
  /* many appends: every length, NUL-terminated each time, content intact */
  ccp_buf_clear(&b);
  T_EQ_INT(b.len, 0);
  T_EQ_STR(b.data, "");
  T_EQ_INT(b.cap, 256);
  size_t last_cap = b.cap;
  int doublings = 0, bad = 0;
  for (int i = 0; i < 100000; i++) {
    char c = (char)('a' + i % 26);
    if (i % 3)
      ccp_buf_putc(&b, c);
    else
      ccp_buf_append(&b, &c, 1);
    bad += b.data[b.len] != 0 || b.len != (size_t)i + 1;
    if (b.cap != last_cap) {
      bad += b.cap != 2 * last_cap;
      last_cap = b.cap;
      doublings++;
    }
  }
  T_EQ_INT(bad, 0);
  T_EQ_INT(doublings, 9); /* 256 -> 131072 */
  for (int i = 0; i < 100000; i++)
    bad += b.data[i] != (char)('a' + i % 26);
  T_EQ_INT(bad, 0);
  /* reserve makes room without changing the content */
  ccp_buf_reserve(&b, 1000000);
  T_TRUE(b.cap >= b.len + 1000000 + 1);
  T_EQ_INT(b.len, 100000);
  T_EQ_INT(b.data[99999], (char)('a' + 99999 % 26));
  ccp_buf_release(&b);
  T_TRUE(b.data == NULL);
  T_EQ_INT(b.cap, 0);
}

static void test_shrink(void) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_buf_shrink(&b, 0); /* an empty buffer stays empty */
  T_TRUE(b.data == NULL && b.cap == 0);
  ccp_buf_reserve(&b, CCP_BUF_SHRINK_MIN / 2); /* small: kept whatever its use */
  ccp_buf_puts(&b, "x");
  size_t cap = b.cap;
  ccp_buf_shrink(&b, 0);
  T_EQ_INT(b.cap, cap);
  T_EQ_STR(b.data, "x");
  ccp_buf_reserve(&b, 4 * CCP_BUF_SHRINK_MIN); /* large */
  cap = b.cap;
  ccp_buf_shrink(&b, cap / 8); /* used an eighth: kept */
  T_EQ_INT(b.cap, cap);
  T_EQ_STR(b.data, "x");
  ccp_buf_shrink(&b, cap / 8 - 1); /* used less: released */
  T_TRUE(b.data == NULL);
  T_EQ_INT(b.len, 0);
  T_EQ_INT(b.cap, 0);
  ccp_buf_puts(&b, "again"); /* usable again */
  T_EQ_STR(b.data, "again");
  ccp_buf_release(&b);
}

static void test_printf(void) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_buf_printf(&b, "%s=%d;", "x", 42);
  ccp_buf_printf(&b, "%s", "");
  ccp_buf_printf(&b, "%05.1f", 3.14159);
  T_EQ_STR(b.data, "x=42;003.1");
  /* longer than the 256-byte scratch: written in place after a reserve */
  char big[1000];
  for (int i = 0; i < 999; i++)
    big[i] = (char)('A' + i % 26);
  big[999] = 0;
  size_t before = b.len;
  ccp_buf_printf(&b, "<%s>", big);
  T_EQ_INT(b.len, before + 1001);
  T_TRUE(b.data[before] == '<' && b.data[b.len - 1] == '>' && b.data[b.len] == 0);
  T_TRUE(memcmp(b.data + before + 1, big, 999) == 0);
  /* exactly 255 and 256 characters: both sides of the scratch size */
  for (int n = 254; n <= 257; n++) {
    ccp_buf_clear(&b);
    ccp_buf_printf(&b, "%.*s", n, big);
    T_EQ_INT(b.len, n);
    T_EQ_INT(strlen(b.data), n);
    T_TRUE(memcmp(b.data, big, (size_t)n) == 0);
  }
  ccp_buf_release(&b);
}

static void test_i64(void) {
  static const struct {
    int64_t v;
    const char *s;
  } cases[] = {{0, "0"},
               {7, "7"},
               {-7, "-7"},
               {10, "10"},
               {-1000000, "-1000000"},
               {INT64_MAX, "9223372036854775807"},
               {INT64_MIN, "-9223372036854775808"},
               {INT64_MIN + 1, "-9223372036854775807"}};
  ccp_buf_t b;
  ccp_buf_init(&b);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ccp_buf_clear(&b);
    ccp_buf_put_i64(&b, cases[i].v);
    T_EQ_STR(b.data, cases[i].s);
  }
  /* random values against printf */
  uint64_t rng = 5;
  char want[32];
  int bad = 0;
  for (int i = 0; i < 100000; i++) {
    int64_t v = (int64_t)t_rand(&rng) >> t_rand_below(&rng, 64);
    ccp_buf_clear(&b);
    ccp_buf_put_i64(&b, v);
    snprintf(want, sizeof want, "%" PRId64, v);
    bad += strcmp(b.data, want) != 0;
  }
  T_EQ_INT(bad, 0);
  ccp_buf_release(&b);
}

static const char *dbl(ccp_buf_t *b, double v) {
  ccp_buf_clear(b);
  ccp_buf_put_double(b, v);
  return b->data;
}

/* Significant digits of a %g rendering (mantissa digits without leading
 * zeros). */
static int sig_digits(const char *s) {
  int n = 0, started = 0;
  for (; *s && *s != 'e' && *s != 'E'; s++) {
    if (*s >= '1' && *s <= '9')
      started = 1;
    if (started && *s >= '0' && *s <= '9')
      n++;
  }
  return n;
}

static void test_double(void) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  T_EQ_STR(dbl(&b, 0.0), "0");
  T_EQ_STR(dbl(&b, -0.0), "0");
  T_EQ_STR(dbl(&b, 1.0), "1");
  T_EQ_STR(dbl(&b, -42.0), "-42");
  T_EQ_STR(dbl(&b, 2.5), "2.5");
  T_EQ_STR(dbl(&b, 0.1), "0.1");
  T_EQ_STR(dbl(&b, 0.3), "0.3");
  T_EQ_STR(dbl(&b, 0.1 + 0.2), "0.30000000000000004"); /* 17 digits needed */
  T_EQ_STR(dbl(&b, 1.0 / 3), "0.3333333333333333");    /* 16 */
  T_EQ_STR(dbl(&b, 99.5), "99.5");
  T_EQ_STR(dbl(&b, 1e300), "1e+300");
  T_EQ_STR(dbl(&b, -1.5e-7), "-1.5e-07");
  T_EQ_STR(dbl(&b, 123456789012345.0), "123456789012345");   /* integer below 9e15 */
  T_EQ_STR(dbl(&b, 9007199254740992.0), "9007199254740992"); /* 2^53: the %g path */
  T_EQ_STR(dbl(&b, 1e16), "1e+16");
  T_EQ_STR(dbl(&b, 5e-324), "5e-324"); /* subnormals hold fewer digits */
  T_EQ_STR(dbl(&b, 2.2250738585072009e-308), "2.225073858507201e-308");  /* largest subnormal */
  T_EQ_STR(dbl(&b, 2.2250738585072014e-308), "2.2250738585072014e-308"); /* DBL_MIN */
  T_EQ_STR(dbl(&b, NAN), "null");
  T_EQ_STR(dbl(&b, INFINITY), "null");
  T_EQ_STR(dbl(&b, -INFINITY), "null");
  /* appends, not overwrites */
  ccp_buf_clear(&b);
  ccp_buf_put_double(&b, 1.25);
  ccp_buf_putc(&b, ',');
  ccp_buf_put_double(&b, NAN);
  T_EQ_STR(b.data, "1.25,null");

  /* random doubles (bit patterns, small exponents, KPI-like ratios): read
   * back exactly, and no shorter %g rendering would */
  uint64_t rng = 99;
  int bad_rt = 0, bad_short = 0;
  for (int i = 0; i < 200000; i++) {
    double v;
    if (i % 4 == 3) { /* subnormal or barely normal */
      uint64_t bits = t_rand(&rng) & 0x801fffffffffffffULL;
      memcpy(&v, &bits, sizeof v);
    } else if (i % 2) {
      uint64_t bits = t_rand(&rng);
      memcpy(&v, &bits, sizeof v);
      if (!isfinite(v))
        continue;
    } else {
      v = (double)t_rand_below(&rng, 1000000) / (double)(1 + t_rand_below(&rng, 10000));
    }
    const char *s = dbl(&b, v);
    if (strtod(s, NULL) != v) {
      if (bad_rt++ < 5)
        fprintf(stderr, "%.17g printed as %s does not read back\n", v, s);
      continue;
    }
    if (v == (double)(int64_t)v && fabs(v) < 9e15)
      continue; /* integers print all their digits, as integers */
    int d = sig_digits(s);
    char shorter[400];
    if (d > 1) {
      snprintf(shorter, sizeof shorter, "%.*g", d - 1, v);
      if (strtod(shorter, NULL) == v && bad_short++ < 5)
        fprintf(stderr, "%s is not the shortest: %s reads back too\n", s, shorter);
    }
  }
  T_EQ_INT(bad_rt, 0);
  T_EQ_INT(bad_short, 0);
  ccp_buf_release(&b);
}

/* put_double as it was before its exact integer path: the reference. */
static void double_by_search(char *out, size_t size, double v) {
  if (!isfinite(v)) {
    snprintf(out, size, "null");
    return;
  }
  if (v == 0)
    v = 0;
  if (fabs(v) < 9e15 && v == (double)(int64_t)v) {
    snprintf(out, size, "%" PRId64, (int64_t)v);
    return;
  }
  for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
    snprintf(out, size, "%.*g", prec, v);
    if (strtod(out, NULL) == v)
      break;
  }
}

static double bits_double(uint64_t bits) {
  double v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* A double of family i % 9. */
static double double_family(uint64_t *rng, int i) {
  switch (i % 9) {
  case 0: /* any bit pattern */
    return bits_double(t_rand(rng));
  case 1: /* subnormal */
    return bits_double(t_rand(rng) & 0x800fffffffffffffULL);
  case 2: { /* normal, 2^-30 .. 2^50, either sign */
    uint64_t e = (uint64_t)(1023 - 30 + (int)t_rand_below(rng, 80));
    return bits_double((e << 52) | (t_rand(rng) & 0x800fffffffffffffULL));
  }
  case 3: /* ratios, as averages */
    return (double)t_rand_below(rng, 1000000) / (double)(1 + t_rand_below(rng, 100000));
  case 4: /* percentages */
    return 100.0 * (double)t_rand_below(rng, 100000) / (double)(1 + t_rand_below(rng, 100000));
  case 5: /* finite binary fractions: exact decimal ties at some precision */
    return ldexp((double)(t_rand(rng) >> 11), -(int)(1 + t_rand_below(rng, 60)));
  case 6: { /* a few ulps around a power of ten */
    uint64_t b;
    double p = pow(10, (int)t_rand_below(rng, 24) - 7);
    memcpy(&b, &p, sizeof b);
    return bits_double(b + t_rand_below(rng, 5) - 2);
  }
  case 7: { /* at and just below a power of two (a narrower gap below) */
    uint64_t e = (uint64_t)(1023 - 30 + (int)t_rand_below(rng, 80));
    return bits_double((e << 52) - t_rand_below(rng, 2));
  }
  default: /* short decimals, a few ulps off */
    return nextafter((double)t_rand_below(rng, 100000000) / 1e3,
                     t_rand_below(rng, 2) ? INFINITY : -INFINITY);
  }
}

/* put_double writes in place past the buffer's end: appended at every
 * length around a growth (the capacity doubles from 256), the text is
 * whole and NUL-terminated and what was there stays. */
static void test_double_in_place(void) {
  const double v = -2.2250738585072014e-300; /* the longest: 24 bytes, by search */
  const double w = 33333333333333.332;       /* the fast path's */
  for (size_t pre = 200; pre < 300; pre++) {
    ccp_buf_t b;
    ccp_buf_init(&b);
    for (size_t i = 0; i < pre; i++)
      ccp_buf_putc(&b, (char)('a' + i % 26));
    ccp_buf_put_double(&b, v);
    ccp_buf_put_double(&b, w);
    T_EQ_INT(b.len, pre + 24 + 18);
    T_TRUE(b.cap > b.len && b.data[b.len] == 0);
    T_EQ_STR(b.data + pre, "-2.2250738585072014e-30033333333333333.332");
    T_TRUE(b.data[pre - 1] == (char)('a' + (pre - 1) % 26));
    ccp_buf_release(&b);
  }
}

static void test_double_same_as_search(void) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  char want[64];
  const double edge[] = {1e-5,
                         nextafter(1e-5, 0),
                         1e15,
                         nextafter(1e15, 0),
                         999999999999999.9,
                         nextafter(9e15, 0),
                         1e14 + 0.5,
                         4503599627370495.5,
                         0.1 + 0.2,
                         2.0 / 3,
                         0.3 - 0.2, /* 15 digits round up to 0.1, a digit more: not read back */
                         nextafter(0.001, 0),
                         nextafter(1e-5, 1),
                         1e14 / 3, /* 17 digits, 14 of them before the point */
                         0.07,     /* 15 digits read back, 17 would not be shortest */
                         DBL_MIN,
                         nextafter(DBL_MIN, 0),
                         DBL_MAX,
                         -0.0,
                         NAN,
                         -INFINITY};
  int bad = 0;
  for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
    double_by_search(want, sizeof want, edge[i]);
    if (strcmp(dbl(&b, edge[i]), want) != 0 && bad++ < 5)
      fprintf(stderr, "%a: %s, by search %s\n", edge[i], b.data, want);
  }
  uint64_t rng = 2024;
  int at_prec[18] = {0}; /* how many fast-path renderings of each precision */
  for (int i = 0; i < 1000000; i++) {
    double v = double_family(&rng, i);
    double_by_search(want, sizeof want, v);
    if (strcmp(dbl(&b, v), want) != 0 && bad++ < 5)
      fprintf(stderr, "%a: %s, by search %s\n", v, b.data, want);
    double a = fabs(v);
    if (a >= 1e-5 && a < 1e15 && a != (double)(int64_t)a) {
      int d = sig_digits(b.data);
      at_prec[d < 15 ? 15 : d]++; /* %.15g drops trailing zeros */
    }
  }
  T_EQ_INT(bad, 0);
  /* the fast path's three precisions (15 from the 17 digits' quotient by
   * 100, 16 by 10, 17 as they are) each served many */
  for (int d = 15; d <= 17; d++)
    T_TRUE(at_prec[d] > 10000);
  ccp_buf_release(&b);
}

static const char *jstr(ccp_buf_t *b, const char *s, size_t len) {
  ccp_buf_clear(b);
  ccp_buf_put_json_str(b, s, len);
  return b->data;
}

static void test_json_str(void) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  T_EQ_STR(jstr(&b, "", 0), "\"\"");
  T_EQ_STR(jstr(&b, "plain text", 10), "\"plain text\"");
  T_EQ_STR(jstr(&b, "a\"b\\c/d", 7), "\"a\\\"b\\\\c/d\"");
  T_EQ_STR(jstr(&b, "\n\r\t", 3), "\"\\n\\r\\t\"");
  T_EQ_STR(jstr(&b, "\x01\x08\x0c\x1f", 4), "\"\\u0001\\u0008\\u000c\\u001f\"");
  T_EQ_STR(jstr(&b, "x\0y", 3), "\"x\\u0000y\""); /* the length counts, not the NUL */
  T_EQ_STR(jstr(&b, "abc", 1), "\"a\"");
  T_EQ_STR(jstr(&b, "\x7f", 1), "\"\x7f\""); /* DEL needs no escape in JSON */
  T_EQ_STR(jstr(&b, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
           "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""); /* UTF-8 passes through */
  T_EQ_STR(jstr(&b, "\xff\x80", 2), "\"\xff\x80\"");         /* any byte >= 0x80 too */
  /* every byte value 0..255 once: the exact expected text */
  char all[256];
  for (int i = 0; i < 256; i++)
    all[i] = (char)i;
  jstr(&b, all, 256);
  ccp_buf_t want;
  ccp_buf_init(&want);
  ccp_buf_putc(&want, '"');
  for (int i = 0; i < 256; i++) {
    if (i == '"')
      ccp_buf_puts(&want, "\\\"");
    else if (i == '\\')
      ccp_buf_puts(&want, "\\\\");
    else if (i == '\n')
      ccp_buf_puts(&want, "\\n");
    else if (i == '\r')
      ccp_buf_puts(&want, "\\r");
    else if (i == '\t')
      ccp_buf_puts(&want, "\\t");
    else if (i < 0x20)
      ccp_buf_printf(&want, "\\u%04x", i);
    else
      ccp_buf_putc(&want, (char)i);
  }
  ccp_buf_putc(&want, '"');
  T_EQ_INT(b.len, want.len);
  T_TRUE(b.len == want.len && memcmp(b.data, want.data, b.len) == 0);
  ccp_buf_release(&want);

  /* a JSON parser reads back the same bytes (valid UTF-8 input, all of
   * 0x00..0x7f plus multi-byte characters) */
  char text[160];
  size_t n = 0;
  for (int i = 0; i < 128; i++)
    text[n++] = (char)i;
  memcpy(text + n, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
  n += 9;
  jstr(&b, text, n);
  json_error_t err;
  json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
  T_TRUE(j && json_is_string(j));
  if (j) {
    T_EQ_INT(json_string_length(j), n);
    T_TRUE(json_string_length(j) == n && memcmp(json_string_value(j), text, n) == 0);
    json_decref(j);
  } else {
    fprintf(stderr, "jansson: %s\n", err.text);
  }
  ccp_buf_release(&b);
}

int main(void) {
  T_RUN(test_append_and_growth);
  T_RUN(test_shrink);
  T_RUN(test_printf);
  T_RUN(test_i64);
  T_RUN(test_double);
  T_RUN(test_double_same_as_search);
  T_RUN(test_double_in_place);
  T_RUN(test_json_str);
  return T_DONE();
}
