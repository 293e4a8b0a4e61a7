/*
 * Event type and channel symbols (KPIS.md §1), in Avro enum order, and the
 * one validator of decoded events (docs/kpis.md §2 ranges, §7 text and
 * time; docs/semantics.md §1 step 1): the engine runs ccp_event_check() on
 * every event of replay (Avro, OCF, JSON Lines); the live workers run it
 * instead, with the wall-clock limit, so that an invalid record goes to the
 * dead-letter topic with ccp_event_explain()'s reason (their engines skip
 * it: ccp_engine_set_prechecked). Text checks cost a pass over the bytes: eight ASCII bytes at a
 * time, byte by byte only where a byte >= 0x80 appears.
 * Pure functions; any thread.
 */
#include "ccpulse/event.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[CCP_EV__COUNT] = {
    "OPENED",   "ASSIGNED", "AGENT_REPLY", "CUSTOMER_REPLY", "TRANSFERRED", "HANDLED",
    "RESOLVED", "REOPENED", "ABANDONED",   "SURVEY",         "QA_REVIEWED"};

static const char *const channel_names[CCP_CH__COUNT] = {"PHONE", "CHAT", "EMAIL", "SOCIAL"};

void ccp_event_clear(ccp_event_t *ev) {
  memset(ev, 0, sizeof *ev);
  ev->talk_ms = ev->hold_ms = ev->acw_ms = CCP_NULL_I64;
  ev->csat = ev->nps = ev->ces = ev->qa_errors = CCP_NULL_I32;
}

static int lookup(const char *const *names, int n, const char *s, size_t len) {
  for (int i = 0; i < n; i++)
    if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
      return i;
  return -1;
}

const char *ccp_event_type_name(int type) {
  return type >= 0 && type < CCP_EV__COUNT ? type_names[type] : NULL;
}

int ccp_event_type_parse(const char *s, size_t len) {
  return lookup(type_names, CCP_EV__COUNT, s, len);
}

const char *ccp_channel_name(int ch) {
  return ch >= 0 && ch < CCP_CH__COUNT ? channel_names[ch] : NULL;
}

int ccp_channel_parse(const char *s, size_t len) {
  return lookup(channel_names, CCP_CH__COUNT, s, len);
}

/* ------------------------------------------------------------- validator */

size_t ccp_utf8_valid_prefix(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    if (len - i >= 8) { /* ASCII fast path */
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!(w & 0x8080808080808080ULL)) {
        i += 8;
        continue;
      }
    }
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    /* RFC 3629 table: the second byte's range depends on the first */
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
      n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0)
        lo = 0xA0; /* overlong below U+0800 */
      else if (c == 0xED)
        hi = 0x9F; /* surrogates U+D800..U+DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0)
        lo = 0x90; /* overlong below U+10000 */
      else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    } else {
      return i; /* 0x80..0xC1 (continuation or overlong lead), 0xF5..0xFF */
    }
    if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
      return i;
    for (size_t k = 2; k < n; k++)
      if ((s[i + k] & 0xC0) != 0x80)
        return i;
    i += n;
  }
  return len;
}

/* The text fields in the order they are checked. */
static const struct text_field {
  const char *name;
  size_t off;
  int nullable;
} text_fields[] = {
    {"event_id", offsetof(ccp_event_t, event_id), 0},
    {"ticket_id", offsetof(ccp_event_t, ticket_id), 0},
    {"queue", offsetof(ccp_event_t, queue), 0},
    {"agent_id", offsetof(ccp_event_t, agent_id), 1},
    {"customer_id", offsetof(ccp_event_t, customer_id), 0},
    {"category", offsetof(ccp_event_t, category), 1},
};

/* 0 when a text field is fine, else why not: 1 empty, 2 too long, 3 NUL, 4 not UTF-8. */
static int text_fault(const ccp_str_t *v, int nullable, size_t *at) {
  if (!v->ptr)
    return nullable ? 0 : 1;
  if (v->len == 0)
    return 1;
  if (v->len > CCP_EVENT_TEXT_MAX)
    return 2;
  const char *z = memchr(v->ptr, 0, v->len);
  if (z) {
    *at = (size_t)(z - v->ptr);
    return 3;
  }
  *at = ccp_utf8_valid_prefix(v->ptr, v->len);
  return *at < v->len ? 4 : 0;
}

static int range_fault(const ccp_event_t *ev, const char **what, int64_t *val) {
  static const struct {
    const char *name;
    int lo, hi;
    size_t off;
  } ints[] = {{"csat", 1, 5, offsetof(ccp_event_t, csat)},
              {"nps", 0, 10, offsetof(ccp_event_t, nps)},
              {"ces", 1, 7, offsetof(ccp_event_t, ces)},
              {"qa_errors", 0, INT32_MAX, offsetof(ccp_event_t, qa_errors)}};
  static const struct {
    const char *name;
    size_t off;
  } durs[] = {{"talk_ms", offsetof(ccp_event_t, talk_ms)},
              {"hold_ms", offsetof(ccp_event_t, hold_ms)},
              {"acw_ms", offsetof(ccp_event_t, acw_ms)}};
  for (size_t i = 0; i < CCP_ARRAY_LEN(ints); i++) {
    int32_t v;
    memcpy(&v, (const char *)ev + ints[i].off, sizeof v);
    if (v != CCP_NULL_I32 && (v < ints[i].lo || v > ints[i].hi)) {
      *what = ints[i].name;
      *val = v;
      return 1;
    }
  }
  for (size_t i = 0; i < CCP_ARRAY_LEN(durs); i++) {
    int64_t v;
    memcpy(&v, (const char *)ev + durs[i].off, sizeof v);
    if (v != CCP_NULL_I64 && v < 0) {
      *what = durs[i].name;
      *val = v;
      return 1;
    }
  }
  if (ev->type >= CCP_EV__COUNT) {
    *what = "type";
    *val = ev->type;
    return 1;
  }
  if (ev->channel >= CCP_CH__COUNT) {
    *what = "channel";
    *val = ev->channel;
    return 1;
  }
  return 0;
}

/* 1 when none of w's eight bytes is zero or >= 0x80 (the classic
 * has-zero-byte test, exact for "any"). */
static inline int text_word_fine(uint64_t w) {
  return !((w | ((w - 0x0101010101010101ULL) & ~w)) & 0x8080808080808080ULL);
}

/* The hot path of ccp_event_check() for one text field: 1 when it is fine.
 * Eight bytes at a time while they are ASCII without NUL (the usual id; a
 * shorter one or the tail of a longer one read as one word too); anything
 * else is left to text_fault(). */
static inline int text_fine(const ccp_str_t *v, int nullable) {
  if (!v->ptr)
    return nullable;
  if (v->len == 0 || v->len > CCP_EVENT_TEXT_MAX)
    return 0;
  const unsigned char *p = (const unsigned char *)v->ptr;
  size_t n = v->len;
  uint64_t w;
  if (n >= 8) { /* whole words, the last one overlapping the one before */
    for (size_t i = 0;; i += 8) {
      memcpy(&w, p + (i + 8 <= n ? i : n - 8), 8);
      if (!text_word_fine(w))
        goto slow;
      if (i + 8 >= n)
        return 1;
    }
  }
  /* shorter: the bytes gathered into one word by two overlapping loads,
   * the rest of it filled with 0x01 (a fine byte) */
  if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + n - 4, 4);
    w = a | (uint64_t)b << 32;
  } else if (n >= 2) {
    uint16_t a, b;
    memcpy(&a, p, 2);
    memcpy(&b, p + n - 2, 2);
    w = a | (uint64_t)b << 16 | 0x0101010100000000ULL;
  } else {
    w = p[0] | 0x0101010101010100ULL;
  }
  if (text_word_fine(w))
    return 1;
slow:;
  size_t at;
  return text_fault(v, nullable, &at) == 0;
}

int ccp_event_check(const ccp_event_t *ev, int64_t max_ts) {
  /* plain comparisons first (the cheap, common case); range_fault() says
   * which field when one fails */
  if ((ev->csat != CCP_NULL_I32 && (ev->csat < 1 || ev->csat > 5)) ||
      (ev->nps != CCP_NULL_I32 && (ev->nps < 0 || ev->nps > 10)) ||
      (ev->ces != CCP_NULL_I32 && (ev->ces < 1 || ev->ces > 7)) ||
      (ev->qa_errors != CCP_NULL_I32 && ev->qa_errors < 0) ||
      (ev->talk_ms != CCP_NULL_I64 && ev->talk_ms < 0) ||
      (ev->hold_ms != CCP_NULL_I64 && ev->hold_ms < 0) ||
      (ev->acw_ms != CCP_NULL_I64 && ev->acw_ms < 0) || ev->type >= CCP_EV__COUNT ||
      ev->channel >= CCP_CH__COUNT)
    return CCP_EVF_RANGE;
  if (ev->ts < CCP_EVENT_TS_MIN || ev->ts > CCP_EVENT_TS_MAX)
    return CCP_EVF_TS;
  if (ev->ts > max_ts)
    return CCP_EVF_FUTURE;
  if (!text_fine(&ev->event_id, 0) || !text_fine(&ev->ticket_id, 0) || !text_fine(&ev->queue, 0) ||
      !text_fine(&ev->agent_id, 1) || !text_fine(&ev->customer_id, 0) ||
      !text_fine(&ev->category, 1))
    return CCP_EVF_TEXT;
  return CCP_EVF_NONE;
}

void ccp_event_explain(const ccp_event_t *ev, int64_t max_ts, char *buf, size_t len) {
  if (!len)
    return;
  buf[0] = 0;
  const char *what = "?";
  int64_t val = 0;
  switch (ccp_event_check(ev, max_ts)) {
  case CCP_EVF_RANGE:
    range_fault(ev, &what, &val);
    snprintf(buf, len, "field '%s': %" PRId64 " is out of range", what, val);
    return;
  case CCP_EVF_TS:
    snprintf(buf, len, "field 'ts': %" PRId64 " is outside 2000-01-01..2100-01-01", ev->ts);
    return;
  case CCP_EVF_FUTURE:
    snprintf(buf, len,
             "field 'ts': %" PRId64 " is %" PRId64 " ms past the latest accepted (%" PRId64
             ": wall clock + live.max_future)",
             ev->ts, ev->ts - max_ts, max_ts);
    return;
  case CCP_EVF_TEXT:
    break;
  default:
    return;
  }
  for (size_t i = 0; i < CCP_ARRAY_LEN(text_fields); i++) {
    size_t at = 0;
    const ccp_str_t *v = (const ccp_str_t *)((const char *)ev + text_fields[i].off);
    const char *f = text_fields[i].name;
    switch (text_fault(v, text_fields[i].nullable, &at)) {
    case 1:
      snprintf(buf, len, "field '%s': empty", f);
      return;
    case 2:
      snprintf(buf, len, "field '%s': %zu bytes (at most %d)", f, v->len, CCP_EVENT_TEXT_MAX);
      return;
    case 3:
      snprintf(buf, len, "field '%s': NUL byte at byte %zu", f, at);
      return;
    case 4:
      snprintf(buf, len, "field '%s': invalid UTF-8 at byte %zu (0x%02x)", f, at,
               (unsigned)(unsigned char)v->ptr[at]);
      return;
    default:
      break;
    }
  }
}
