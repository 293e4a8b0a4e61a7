/*
 * Test helpers shared by test_avro_decode.c and test_ocf.c: build Avro C
 * generic values (the reference writer) from ccp_event_t, sample events,
 * comparison of events, file loading. Header-only, static functions.
 */
#ifndef CCP_AVRO_TESTUTIL_H
#define CCP_AVRO_TESTUTIL_H

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccp_test.h"
#include "ccpulse/decode.h"
#include "ccpulse/file.h"

/** Reads a whole file (NUL-terminated, free with ccp_free); ends the test
 * binary with exit status 2 when it cannot. */
static inline char *tu_slurp(const char *path, size_t *len) {
  char err[CCP_ERRBUF_SIZE];
  char *p = ccp_file_read(path, len, err, sizeof err);
  if (!p) {
    fprintf(stderr, "%s\n", err);
    exit(2);
  }
  return p;
}

/** Parses a schema with Avro C; aborts on failure. */
static inline avro_schema_t tu_schema(const char *json) {
  avro_schema_t s;
  if (avro_schema_from_json_length(json, strlen(json), &s) != 0) {
    fprintf(stderr, "bad test schema: %s\n", avro_strerror());
    exit(2);
  }
  return s;
}

static inline ccp_str_t tu_s(const char *s) {
  ccp_str_t v = {s, s ? strlen(s) : 0};
  return v;
}

/** A sample event; `full` fills every optional field. */
static inline ccp_event_t tu_event(int i, int full) {
  static char ids[8][32];
  ccp_event_t ev;
  ccp_event_clear(&ev);
  snprintf(ids[i % 8], sizeof ids[0], "ev-%06d", i);
  ev.event_id = tu_s(ids[i % 8]);
  ev.ticket_id = tu_s(i % 2 ? "T-1000042" : "T-77");
  ev.type = (uint8_t)(i % CCP_EV__COUNT);
  ev.ts = 1795347112234LL + i * 1000;
  ev.channel = (uint8_t)(i % CCP_CH__COUNT);
  ev.queue = tu_s("billing");
  ev.customer_id = tu_s("cust-9");
  if (full) {
    ev.agent_id = tu_s("a-17");
    ev.talk_ms = 123456;
    ev.hold_ms = 0;
    ev.acw_ms = -1;
    ev.csat = 5;
    ev.nps = 10;
    ev.ces = 1;
    ev.category = tu_s("complaint");
    ev.qa_errors = 2;
  }
  return ev;
}

static inline int tu_str_eq(ccp_str_t a, ccp_str_t b) {
  if (!a.ptr || !b.ptr)
    return a.ptr == b.ptr;
  return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/** Checks two events are equal field by field (T_ assertions). */
#define TU_EV_EQ(a, b)                                                                             \
  do {                                                                                             \
    const ccp_event_t *_x = (a), *_y = (b);                                                        \
    T_TRUE(tu_str_eq(_x->event_id, _y->event_id));                                                 \
    T_TRUE(tu_str_eq(_x->ticket_id, _y->ticket_id));                                               \
    T_EQ_INT(_x->type, _y->type);                                                                  \
    T_EQ_INT(_x->ts, _y->ts);                                                                      \
    T_EQ_INT(_x->channel, _y->channel);                                                            \
    T_TRUE(tu_str_eq(_x->queue, _y->queue));                                                       \
    T_TRUE(tu_str_eq(_x->agent_id, _y->agent_id));                                                 \
    T_TRUE(tu_str_eq(_x->customer_id, _y->customer_id));                                           \
    T_EQ_INT(_x->talk_ms, _y->talk_ms);                                                            \
    T_EQ_INT(_x->hold_ms, _y->hold_ms);                                                            \
    T_EQ_INT(_x->acw_ms, _y->acw_ms);                                                              \
    T_EQ_INT(_x->csat, _y->csat);                                                                  \
    T_EQ_INT(_x->nps, _y->nps);                                                                    \
    T_EQ_INT(_x->ces, _y->ces);                                                                    \
    T_TRUE(tu_str_eq(_x->category, _y->category));                                                 \
    T_EQ_INT(_x->qa_errors, _y->qa_errors);                                                        \
  } while (0)

/* Selects in union field f the first branch of Avro type t; b = the branch. */
static inline int tu_branch(avro_value_t *f, avro_type_t t, avro_value_t *b) {
  if (avro_value_get_type(f) != AVRO_UNION) {
    *b = *f;
    return 0;
  }
  avro_schema_t us = avro_value_get_schema(f);
  for (size_t i = 0; i < avro_schema_union_size(us); i++) {
    avro_schema_t bs = avro_schema_union_branch(us, (int)i);
    if (avro_typeof(bs) == t)
      return avro_value_set_branch(f, (int)i, b);
  }
  fprintf(stderr, "test: union has no branch of type %d\n", (int)t);
  exit(2);
}

static inline void tu_set_str(avro_value_t *rec, const char *name, ccp_str_t s) {
  avro_value_t f, b;
  if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
    return; /* not in this schema */
  if (!s.ptr) {
    tu_branch(&f, AVRO_NULL, &b);
    avro_value_set_null(&b);
    return;
  }
  avro_schema_t fs = avro_value_get_schema(&f);
  int bytes = avro_typeof(fs) == AVRO_BYTES;
  if (avro_typeof(fs) == AVRO_UNION) {
    tu_branch(&f, AVRO_STRING, &b);
  } else {
    b = f;
  }
  if (bytes)
    avro_value_set_bytes(&b, (void *)s.ptr, s.len);
  else
    avro_value_set_string_len(&b, s.ptr, s.len + 1); /* size counts the NUL */
}

static inline void tu_set_num(avro_value_t *rec, const char *name, int64_t v, int64_t null) {
  avro_value_t f, b;
  if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
    return;
  if (v == null) {
    tu_branch(&f, AVRO_NULL, &b);
    avro_value_set_null(&b);
    return;
  }
  avro_schema_t fs = avro_value_get_schema(&f);
  if (avro_typeof(fs) == AVRO_UNION) {
    /* prefer the long branch, else int */
    avro_schema_t us = fs;
    int want = -1;
    for (size_t i = 0; i < avro_schema_union_size(us); i++) {
      avro_type_t t = avro_typeof(avro_schema_union_branch(us, (int)i));
      if (t == AVRO_INT64 && want < 0)
        want = (int)i;
    }
    if (want < 0)
      tu_branch(&f, AVRO_INT32, &b);
    else
      avro_value_set_branch(&f, want, &b);
  } else {
    b = f;
  }
  if (avro_value_get_type(&b) == AVRO_INT64)
    avro_value_set_long(&b, v);
  else
    avro_value_set_int(&b, (int32_t)v);
}

static inline void tu_set_enum(avro_value_t *rec, const char *name, const char *sym) {
  avro_value_t f;
  if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
    return;
  int i = avro_schema_enum_get_by_name(avro_value_get_schema(&f), sym);
  if (i < 0) {
    fprintf(stderr, "test: enum %s has no symbol %s\n", name, sym);
    exit(2);
  }
  avro_value_set_enum(&f, i);
}

/** Sets every v1 field of a generic record value from ev. */
static inline void tu_fill(avro_value_t *rec, const ccp_event_t *ev) {
  tu_set_str(rec, "event_id", ev->event_id);
  tu_set_str(rec, "ticket_id", ev->ticket_id);
  tu_set_enum(rec, "type", ccp_event_type_name(ev->type));
  tu_set_num(rec, "ts", ev->ts, INT64_MIN + 1); /* never null */
  tu_set_enum(rec, "channel", ccp_channel_name(ev->channel));
  tu_set_str(rec, "queue", ev->queue);
  tu_set_str(rec, "agent_id", ev->agent_id);
  tu_set_str(rec, "customer_id", ev->customer_id);
  tu_set_num(rec, "talk_ms", ev->talk_ms, CCP_NULL_I64);
  tu_set_num(rec, "hold_ms", ev->hold_ms, CCP_NULL_I64);
  tu_set_num(rec, "acw_ms", ev->acw_ms, CCP_NULL_I64);
  tu_set_num(rec, "csat", ev->csat, CCP_NULL_I32);
  tu_set_num(rec, "nps", ev->nps, CCP_NULL_I32);
  tu_set_num(rec, "ces", ev->ces, CCP_NULL_I32);
  tu_set_str(rec, "category", ev->category);
  tu_set_num(rec, "qa_errors", ev->qa_errors, CCP_NULL_I32);
}

/** Writes a value with Avro C's binary encoder; returns the byte count. */
static inline size_t tu_write(avro_value_t *v, void *buf, size_t cap) {
  avro_writer_t w = avro_writer_memory(buf, (int64_t)cap);
  if (avro_value_write(w, v) != 0) {
    fprintf(stderr, "test: avro_value_write: %s\n", avro_strerror());
    exit(2);
  }
  size_t n = (size_t)avro_writer_tell(w);
  avro_writer_free(w);
  return n;
}

#endif
