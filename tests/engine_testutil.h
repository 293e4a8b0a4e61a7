/*
 * Test helpers for tests that drive one engine through its public API and
 * read the snapshot document back with jansson (test_engine.c,
 * test_tickets.c, test_window.c): a configuration from key/value pairs, an
 * event builder, and readers of scopes.<s>.windows.<w>.<kpi>, gauges and
 * diagnostics. Header-only; one engine at a time (file-level state).
 */
#ifndef CCP_ENGINE_TESTUTIL_H
#define CCP_ENGINE_TESTUTIL_H

#include <jansson.h>

#include "ccp_test.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/tz.h"
#include "kpi/kpi.h"

static ccp_config_t cfg;  /* the configuration of the engine under test */
static ccp_engine_t *eng; /* the engine under test */
static int evseq;         /* event ids e1, e2... */

/** Creates cfg and eng from key/value pairs (NULL-terminated; NULL: defaults). */
static inline void setup_with(const char *const *kv) {
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(&cfg);
  for (int i = 0; kv && kv[i]; i += 2) {
    if (ccp_config_set(&cfg, kv[i], kv[i + 1], NULL, err, sizeof err) != 0) {
      fprintf(stderr, "config: %s\n", err);
      exit(2);
    }
  }
  if (ccp_config_finish(&cfg, err, sizeof err) != 0) {
    fprintf(stderr, "config: %s\n", err);
    exit(2);
  }
  if (ccp_tz_use(cfg.timezone, err, sizeof err) != 0) { /* single-threaded: may switch */
    fprintf(stderr, "tz: %s\n", err);
    exit(2);
  }
  eng = ccp_engine_new(&cfg, err, sizeof err);
  if (!eng) {
    fprintf(stderr, "engine: %s\n", err);
    exit(2);
  }
  evseq = 0;
}

/** Creates the engine with the default configuration. */
static inline void setup(void) { setup_with(NULL); }

/** Frees the engine and its configuration. */
static inline void teardown(void) {
  ccp_engine_free(eng);
  ccp_config_release(&cfg);
}

/** A ccp_str_t of a C string (NULL: absent). */
static inline ccp_str_t S(const char *s) {
  ccp_str_t v = {s, s ? strlen(s) : 0};
  return v;
}

/** A builder for one event: defaults queue "q1", channel CHAT, customer "c1". */
typedef struct evb {
  ccp_event_t ev;
  char id[32];
} evb_t;

/** Fills b with an event of a type, time and ticket (a fresh event id). */
static inline ccp_event_t *mk(evb_t *b, int type, int64_t ts, const char *ticket) {
  ccp_event_clear(&b->ev);
  snprintf(b->id, sizeof b->id, "e%d", ++evseq);
  b->ev.event_id = S(b->id);
  b->ev.ticket_id = S(ticket);
  b->ev.type = (uint8_t)type;
  b->ev.ts = ts;
  b->ev.channel = CCP_CH_CHAT;
  b->ev.queue = S("q1");
  b->ev.customer_id = S("c1");
  return &b->ev;
}

/** Builds and processes one event. */
static inline ccp_verdict_t send(int type, int64_t ts, const char *ticket) {
  evb_t b;
  return ccp_engine_process(eng, mk(&b, type, ts, ticket));
}

/** The engine's snapshot document, parsed (the caller json_decref()s it). */
static inline json_t *snap(void) {
  ccp_buf_t buf;
  ccp_buf_init(&buf);
  ccp_engine_snapshot_json(eng, &buf);
  json_error_t jerr;
  json_t *j = json_loadb(buf.data, buf.len, 0, &jerr);
  if (!j) {
    fprintf(stderr, "snapshot is not JSON: %s\n%s\n", jerr.text, buf.data);
    exit(1);
  }
  ccp_buf_release(&buf);
  return j;
}

/**
 * Reads scopes.<scope>.windows.<win>.<kpi>; NAN for null. A KPI left out of
 * a present window object (KPIS.md §5) reads as 0 when it is a count of the
 * KPI table and as NAN otherwise; a missing scope or window reads as NAN.
 */
static inline double kpi(json_t *j, const char *scope, const char *win, const char *key) {
  json_t *w = json_object_get(
      json_object_get(json_object_get(json_object_get(j, "scopes"), scope), "windows"), win);
  json_t *v = json_object_get(w, key);
  if (!v && json_is_object(w)) {
    int ki = ccp_kpi_index(key, strlen(key));
    return ki >= 0 && ccp_kpi_defs[ki].kind == CCP_KPI_COUNT ? 0 : NAN;
  }
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/** Reads scopes.<scope>.gauges.<key>; NAN for null/missing. */
static inline double gauge(json_t *j, const char *scope, const char *key) {
  json_t *v = json_object_get(
      json_object_get(json_object_get(json_object_get(j, "scopes"), scope), "gauges"), key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/** Reads diagnostics.<key>; NAN for null/missing. */
static inline double diag(json_t *j, const char *key) {
  json_t *v = json_object_get(json_object_get(j, "diagnostics"), key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/** Checks a value read above is null or missing. */
#define T_NULL(x) T_TRUE(isnan(x))

#endif
