/*
 * The event validator (src/util/event.c, docs/kpis.md §7) at its
 * boundaries: text fields of 256 bytes (valid) and 257 (invalid), empty
 * strings, null where null is allowed, and each kind of malformed UTF-8
 * (overlong C0 AF and E0 80 AF, surrogate ED A0 80, 0xFF, above U+10FFFF,
 * truncated, a lone continuation byte) against the well-formed sequences
 * next to them; ts at 2000-01-01 and 2100-01-01 and 1 ms outside; the
 * caller's limit (live: wall clock + live.max_future) exactly and 1 ms
 * past; the explanation names the field and the problem.
 */
#include <string.h>

#include "ccp_test.h"
#include "ccpulse/event.h"

#define T0 1795000000000LL /* 2026-11-18T10:13:20Z */

static ccp_str_t S(const char *s) { return (ccp_str_t){s, strlen(s)}; }

static void base(ccp_event_t *ev) {
  ccp_event_clear(ev);
  ev->event_id = S("e1");
  ev->ticket_id = S("t1");
  ev->queue = S("billing");
  ev->customer_id = S("c1");
  ev->type = CCP_EV_OPENED;
  ev->channel = CCP_CH_CHAT;
  ev->ts = T0;
}

/* The verdict of ev with one text field set to bytes[0..len). */
static int with_field(size_t off, const char *bytes, size_t len) {
  ccp_event_t ev;
  base(&ev);
  *(ccp_str_t *)((char *)&ev + off) = (ccp_str_t){bytes, len};
  return ccp_event_check(&ev, CCP_EVENT_TS_MAX);
}

static void test_length(void) {
  char buf[300];
  memset(buf, 'x', sizeof buf);
  static const size_t offs[] = {
      offsetof(ccp_event_t, event_id),    offsetof(ccp_event_t, ticket_id),
      offsetof(ccp_event_t, queue),       offsetof(ccp_event_t, agent_id),
      offsetof(ccp_event_t, customer_id), offsetof(ccp_event_t, category)};
  for (size_t i = 0; i < CCP_ARRAY_LEN(offs); i++) {
    T_EQ_INT(with_field(offs[i], buf, 1), CCP_EVF_NONE);
    T_EQ_INT(with_field(offs[i], buf, 256), CCP_EVF_NONE);
    T_EQ_INT(with_field(offs[i], buf, 257), CCP_EVF_TEXT);
    T_EQ_INT(with_field(offs[i], buf, 0), CCP_EVF_TEXT); /* empty string (not null) */
  }
  /* 256 bytes made of 2-byte characters: 128 characters, valid */
  for (int i = 0; i < 256; i += 2)
    buf[i] = (char)0xC3, buf[i + 1] = (char)0xA9; /* é */
  T_EQ_INT(with_field(offsetof(ccp_event_t, queue), buf, 256), CCP_EVF_NONE);
  /* null: allowed for agent_id and category only */
  T_EQ_INT(with_field(offsetof(ccp_event_t, agent_id), NULL, 0), CCP_EVF_NONE);
  T_EQ_INT(with_field(offsetof(ccp_event_t, category), NULL, 0), CCP_EVF_NONE);
  T_EQ_INT(with_field(offsetof(ccp_event_t, queue), NULL, 0), CCP_EVF_TEXT);
  T_EQ_INT(with_field(offsetof(ccp_event_t, customer_id), NULL, 0), CCP_EVF_TEXT);
}

static void test_utf8(void) {
  static const struct {
    const char *b;
    size_t len, bad_at; /* bad_at == len: valid */
  } cases[] = {
      {"plain ascii queue name", 22, 22},
      {"\xC2\x80", 2, 2},             /* U+0080, the first 2-byte */
      {"\xC0\xAF", 2, 0},             /* overlong '/' */
      {"\xC1\xBF", 2, 0},             /* overlong U+007F */
      {"\xE0\xA0\x80", 3, 3},         /* U+0800, the first 3-byte */
      {"\xE0\x80\xAF", 3, 0},         /* overlong '/' in 3 bytes */
      {"\xED\x9F\xBF", 3, 3},         /* U+D7FF, just below the surrogates */
      {"\xED\xA0\x80", 3, 0},         /* U+D800, a surrogate */
      {"\xED\xBF\xBF", 3, 0},         /* U+DFFF, the last surrogate */
      {"\xEE\x80\x80", 3, 3},         /* U+E000, just above them */
      {"\xF0\x90\x80\x80", 4, 4},     /* U+10000 */
      {"\xF0\x8F\xBF\xBF", 4, 0},     /* overlong U+FFFF */
      {"\xF4\x8F\xBF\xBF", 4, 4},     /* U+10FFFF, the last code point */
      {"\xF4\x90\x80\x80", 4, 0},     /* U+110000 */
      {"\xF5\x80\x80\x80", 4, 0},     /* lead byte beyond F4 */
      {"\xFF", 1, 0},                 /* never in UTF-8 */
      {"ab\xFF", 3, 2},               /* ... after ASCII */
      {"\x80", 1, 0},                 /* a lone continuation byte */
      {"\xE2\x82", 2, 0},             /* truncated € */
      {"\xE2\x82\xAC", 3, 3},         /* € */
      {"\xE2\x82x", 3, 0},            /* € with a bad third byte */
      {"12345678\xF0\x9F\x98", 11, 8} /* truncated emoji after the 8-byte fast path */
  };
  for (size_t i = 0; i < CCP_ARRAY_LEN(cases); i++) {
    size_t got = ccp_utf8_valid_prefix(cases[i].b, cases[i].len);
    if (got != cases[i].bad_at)
      fprintf(stderr, "case %zu: prefix %zu, want %zu\n", i, got, cases[i].bad_at);
    T_EQ_INT(got, cases[i].bad_at);
    int want = cases[i].bad_at == cases[i].len ? CCP_EVF_NONE : CCP_EVF_TEXT;
    T_EQ_INT(with_field(offsetof(ccp_event_t, agent_id), cases[i].b, cases[i].len), want);
  }
  /* a NUL byte is valid UTF-8 but ends a C string: refused */
  T_EQ_INT(with_field(offsetof(ccp_event_t, queue), "a\0b", 3), CCP_EVF_TEXT);
}

/* Every length up to 24 (the word-at-a-time checks: shorter than a word,
 * whole words, a tail overlapping the word before) with one odd byte at
 * every place: a NUL or a lone 0x80 is refused, 0x01 and 0x7F are fine. The
 * field is copied to a block of exactly its length, so a read past it shows
 * under AddressSanitizer. */
static void test_every_length(void) {
  static const struct {
    unsigned char b;
    int want;
  } odd[] = {
      {0x00, CCP_EVF_TEXT}, {0x80, CCP_EVF_TEXT}, {0x01, CCP_EVF_NONE}, {0x7F, CCP_EVF_NONE}};
  int bad = 0;
  for (size_t len = 1; len <= 24; len++)
    for (size_t at = 0; at < len; at++)
      for (size_t k = 0; k < CCP_ARRAY_LEN(odd); k++) {
        char *b = malloc(len);
        memset(b, 'x', len);
        b[at] = (char)odd[k].b;
        int got = with_field(offsetof(ccp_event_t, event_id), b, len);
        if (got != odd[k].want) {
          fprintf(stderr, "len %zu, byte 0x%02x at %zu: verdict %d\n", len, odd[k].b, at, got);
          bad++;
        }
        free(b);
      }
  T_EQ_INT(bad, 0);
}

static void test_time(void) {
  ccp_event_t ev;
  base(&ev);
  ev.ts = CCP_EVENT_TS_MIN; /* 2000-01-01T00:00:00Z */
  T_EQ_INT(ccp_event_check(&ev, CCP_EVENT_TS_MAX), CCP_EVF_NONE);
  ev.ts = CCP_EVENT_TS_MIN - 1;
  T_EQ_INT(ccp_event_check(&ev, CCP_EVENT_TS_MAX), CCP_EVF_TS);
  ev.ts = CCP_EVENT_TS_MAX; /* 2100-01-01T00:00:00Z */
  T_EQ_INT(ccp_event_check(&ev, CCP_EVENT_TS_MAX), CCP_EVF_NONE);
  ev.ts = CCP_EVENT_TS_MAX + 1;
  T_EQ_INT(ccp_event_check(&ev, CCP_EVENT_TS_MAX), CCP_EVF_TS);
  ev.ts = 0;
  T_EQ_INT(ccp_event_check(&ev, CCP_EVENT_TS_MAX), CCP_EVF_TS);
  /* the live limit: wall + max_future accepted, 1 ms more refused */
  int64_t limit = T0 + 300000;
  ev.ts = limit;
  T_EQ_INT(ccp_event_check(&ev, limit), CCP_EVF_NONE);
  ev.ts = limit + 1;
  T_EQ_INT(ccp_event_check(&ev, limit), CCP_EVF_FUTURE);
}

static void test_ranges_and_explain(void) {
  ccp_event_t ev;
  char why[256];
  base(&ev);
  ev.csat = 6;
  T_EQ_INT(ccp_event_check(&ev, CCP_EVENT_TS_MAX), CCP_EVF_RANGE);
  ccp_event_explain(&ev, CCP_EVENT_TS_MAX, why, sizeof why);
  T_TRUE(strstr(why, "'csat'") != NULL);
  base(&ev);
  ev.channel = CCP_CH__COUNT;
  T_EQ_INT(ccp_event_check(&ev, CCP_EVENT_TS_MAX), CCP_EVF_RANGE);

  base(&ev);
  ccp_event_explain(&ev, CCP_EVENT_TS_MAX, why, sizeof why);
  T_TRUE(why[0] == 0); /* valid: nothing to explain */
  char big[257];
  memset(big, 'q', sizeof big);
  ev.queue = (ccp_str_t){big, 257};
  ccp_event_explain(&ev, CCP_EVENT_TS_MAX, why, sizeof why);
  T_TRUE(strcmp(why, "field 'queue': 257 bytes (at most 256)") == 0);
  base(&ev);
  ev.agent_id = (ccp_str_t){"a\xED\xA0\x80", 4};
  ccp_event_explain(&ev, CCP_EVENT_TS_MAX, why, sizeof why);
  T_TRUE(strcmp(why, "field 'agent_id': invalid UTF-8 at byte 1 (0xed)") == 0);
  base(&ev);
  ev.category = (ccp_str_t){"", 0};
  ccp_event_explain(&ev, CCP_EVENT_TS_MAX, why, sizeof why);
  T_TRUE(strcmp(why, "field 'category': empty") == 0);
  base(&ev);
  ev.ts = T0 + 300001;
  ccp_event_explain(&ev, T0 + 300000, why, sizeof why);
  T_TRUE(strstr(why, "field 'ts'") && strstr(why, "1 ms past") && strstr(why, "live.max_future"));
  if (!strstr(why, "1 ms past"))
    fprintf(stderr, "explain: %s\n", why);
}

int main(void) {
  T_RUN(test_length);
  T_RUN(test_every_length);
  T_RUN(test_utf8);
  T_RUN(test_time);
  T_RUN(test_ranges_and_explain);
  return T_DONE();
}
