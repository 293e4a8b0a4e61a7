/*
 * The bounds of docs/limits.md and the hostile-input rules of docs/kpis.md
 * §7 at the engine and view boundary, read from the snapshot document:
 *   - invalid text through the Avro decoder (0xFF, overlong, surrogate, 257
 *     bytes) counts in invalid_events, changes nothing else, and the
 *     document stays valid JSON; 256 bytes are accepted;
 *   - limits.queues / limits.agents: the cap-th new scope is created, the
 *     next one goes to queue:~other / agent:~other (still in `all` and its
 *     channel), counted in overflow_events; a known scope keeps working;
 *     a checkpoint keeps the counts and the caps;
 *   - the merged view of two partitions under the cap folds the scopes
 *     beyond the cap (bytewise largest names) into ~other;
 *   - limits.customers: cap customers tracked, the next refused and counted
 *     in evicted_customers; one idle in both periods frees its place.
 */
#include "ccpulse/decode.h"
#include "ccpulse/view.h"
#include "engine_testutil.h"

#define MIN 60000LL
#define T0 1795000000000LL /* 2026-11-18T10:13:20Z */

/* Processes an OPENED of ticket t in queue q by agent a (NULL: none). */
static ccp_verdict_t opened(int64_t ts, const char *t, const char *q, const char *a) {
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_OPENED, ts, t);
  ev->queue = S(q);
  ev->agent_id = S(a);
  return ccp_engine_process(eng, ev);
}

static int has_scope(json_t *j, const char *name) {
  return json_object_get(json_object_get(j, "scopes"), name) != NULL;
}

static void test_invalid_text_avro(void) {
  setup();
  char err[256];
  ccp_avro_decoder_t *d =
      ccp_avro_decoder_new(ccp_avro_schema_v1, strlen(ccp_avro_schema_v1), err, sizeof err);
  T_TRUE(d != NULL);
  char q256[256], q257[257];
  memset(q256, 'q', sizeof q256);
  memset(q257, 'q', sizeof q257);
  static const struct {
    const char *b;
    size_t len;
  } bad[] = {{"bill\xFFing", 8}, {"\xC0\xAF", 2}, {"\xED\xA0\x80", 3}, {"", 0}};
  ccp_buf_t rec;
  ccp_buf_init(&rec);
  for (size_t i = 0; i < CCP_ARRAY_LEN(bad) + 2; i++) {
    evb_t b;
    ccp_event_t *ev = mk(&b, CCP_EV_OPENED, T0 + (int64_t)i, "t");
    if (i < CCP_ARRAY_LEN(bad))
      ev->queue = (ccp_str_t){bad[i].b, bad[i].len};
    else
      ev->queue = i == CCP_ARRAY_LEN(bad) ? (ccp_str_t){q257, 257} : (ccp_str_t){q256, 256};
    ccp_buf_clear(&rec);
    T_EQ_INT(ccp_avro_encode(ev, &rec), 0);
    ccp_event_t back;
    T_EQ_INT(ccp_avro_decode(d, rec.data, rec.len, &back, err, sizeof err), 0);
    ccp_verdict_t want = i == CCP_ARRAY_LEN(bad) + 1 ? CCP_ACCEPTED : CCP_INVALID;
    T_EQ_INT(ccp_engine_process(eng, &back), want);
  }
  json_t *j = snap(); /* exits when the document is not JSON */
  T_EQ_INT(diag(j, "invalid_events"), 5);
  T_EQ_INT(diag(j, "events"), 6);
  T_EQ_INT(kpi(j, "all", "5m", "opened"), 1);
  char name[300];
  snprintf(name, sizeof name, "queue:%.*s", 256, q256);
  T_TRUE(has_scope(j, name));
  json_decref(j);
  ccp_buf_release(&rec);
  ccp_avro_decoder_free(d);
  teardown();
}

static void test_time_range(void) {
  setup();
  T_EQ_INT(send(CCP_EV_OPENED, CCP_EVENT_TS_MAX + 1, "future"), CCP_INVALID);
  T_EQ_INT(send(CCP_EV_OPENED, CCP_EVENT_TS_MIN - 1, "past"), CCP_INVALID);
  T_EQ_INT(send(CCP_EV_OPENED, T0, "now"), CCP_ACCEPTED);
  json_t *j = snap();
  T_EQ_INT(diag(j, "invalid_events"), 2);
  T_EQ_INT((int64_t)json_integer_value(json_object_get(j, "now_ms")), T0);
  json_decref(j);
  teardown();
}

static void test_queue_agent_caps(void) {
  const char *kv[] = {"limits.queues", "3", "limits.agents", "2", NULL};
  setup_with(kv);
  T_EQ_INT(opened(T0, "t1", "q1", "a1"), CCP_ACCEPTED);
  T_EQ_INT(opened(T0, "t2", "q2", "a2"), CCP_ACCEPTED); /* agents at the cap */
  T_EQ_INT(opened(T0, "t3", "q3", NULL), CCP_ACCEPTED); /* queues at the cap */
  T_EQ_INT(opened(T0, "t4", "q4", "a1"), CCP_ACCEPTED); /* cap + 1 queue */
  T_EQ_INT(opened(T0, "t5", "q1", "a3"), CCP_ACCEPTED); /* cap + 1 agent */
  T_EQ_INT(opened(T0, "t6", "q5", "a4"), CCP_ACCEPTED); /* both: one overflow event */
  T_EQ_INT(opened(T0, "t7", "q2", "a2"), CCP_ACCEPTED); /* known ones still work */
  json_t *j = snap();
  T_EQ_INT(diag(j, "overflow_events"), 3);
  T_EQ_INT(kpi(j, "all", "5m", "opened"), 7);
  T_EQ_INT(kpi(j, "channel:CHAT", "5m", "opened"), 7);
  T_EQ_INT(kpi(j, "queue:q1", "5m", "opened"), 2);
  T_EQ_INT(kpi(j, "queue:q3", "5m", "opened"), 1);
  T_EQ_INT(kpi(j, "queue:~other", "5m", "opened"), 2); /* q4, q5 */
  T_TRUE(!has_scope(j, "queue:q4") && !has_scope(j, "queue:q5"));
  T_EQ_INT(kpi(j, "agent:a2", "5m", "opened"), 2);
  T_EQ_INT(kpi(j, "agent:~other", "5m", "opened"), 2); /* a3, a4 */
  T_EQ_INT(gauge(j, "queue:~other", "open"), 2);
  json_decref(j);

  /* a checkpoint keeps the counts: still at the caps after a load */
  ccp_buf_t ck;
  ccp_buf_init(&ck);
  T_EQ_INT(ccp_engine_save(eng, &ck), 0);
  char err[256];
  ccp_engine_t *l = ccp_engine_load(&cfg, ck.data, ck.len, err, sizeof err);
  T_TRUE(l != NULL);
  ccp_engine_free(eng);
  eng = l;
  T_EQ_INT(opened(T0 + 1, "t8", "q6", "a5"), CCP_ACCEPTED);
  j = snap();
  T_EQ_INT(diag(j, "overflow_events"), 4);
  T_EQ_INT(kpi(j, "queue:~other", "5m", "opened"), 3);
  T_EQ_INT(kpi(j, "agent:~other", "5m", "opened"), 3);
  json_decref(j);
  ccp_buf_release(&ck);
  teardown();
}

/* Two partitions of 2 queues each under limits.queues = 3: the merged view
 * keeps q1, q2, q3 (bytewise smallest) and folds q4 into queue:~other. */
static void test_view_fold(void) {
  const char *kv[] = {"limits.queues", "3", NULL};
  setup_with(kv);
  char err[256];
  ccp_engine_t *e2 = ccp_engine_new(&cfg, err, sizeof err);
  opened(T0, "t1", "q4", NULL);
  opened(T0, "t2", "q1", NULL);
  ccp_engine_t *e1 = eng;
  eng = e2;
  opened(T0, "t3", "q3", NULL);
  opened(T0, "t4", "q2", NULL);
  opened(T0, "t5", "q4", NULL);
  eng = e1;
  ccp_view_t *v = ccp_view_new(&cfg);
  ccp_partial_t *p1 = ccp_engine_export(e1, T0), *p2 = ccp_engine_export(e2, T0);
  ccp_view_merge(v, p2);
  ccp_view_merge(v, p1);
  ccp_buf_t out;
  ccp_buf_init(&out);
  ccp_view_snapshot_json(v, &out);
  json_t *j = json_loads(out.data, 0, NULL);
  T_TRUE(j != NULL);
  T_TRUE(has_scope(j, "queue:q1") && has_scope(j, "queue:q2") && has_scope(j, "queue:q3"));
  T_TRUE(!has_scope(j, "queue:q4"));
  T_EQ_INT(kpi(j, "queue:~other", "5m", "opened"), 2);
  T_EQ_INT(gauge(j, "queue:~other", "open"), 2);
  T_EQ_INT(kpi(j, "all", "5m", "opened"), 5);
  json_decref(j);
  /* the same view, merged in the other order and reused: the same bytes */
  ccp_buf_t again;
  ccp_buf_init(&again);
  ccp_view_reset(v);
  ccp_view_merge(v, p1);
  ccp_view_merge(v, p2);
  ccp_view_snapshot_json(v, &again);
  T_TRUE(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
  ccp_buf_release(&again);
  ccp_buf_release(&out);
  ccp_partial_free(p1);
  ccp_partial_free(p2);
  ccp_view_free(v);
  ccp_engine_free(e2);
  teardown();
}

/* An event of customer c at ts. */
static void active(int64_t ts, const char *t, const char *c) {
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_CUSTOMER_REPLY, ts, t);
  ev->customer_id = S(c);
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_ACCEPTED);
}

static void test_customer_cap(void) {
  /* period 24 h: slots of 1 h, a customer is idle in both periods after 48 h */
  const char *kv[] = {"limits.customers", "2", "retention.period", "24h", NULL};
  setup_with(kv);
  active(T0, "t1", "c1");
  active(T0, "t2", "c2"); /* the cap */
  active(T0, "t3", "c3"); /* cap + 1: refused */
  active(T0, "t4", "c1"); /* a tracked one: fine */
  json_t *j = snap();
  T_EQ_INT(diag(j, "evicted_customers"), 1);
  json_decref(j);
  /* 47 h later c1 is still active in the previous period; c2 too: full */
  active(T0 + 47 * 60 * MIN, "t5", "c4");
  j = snap();
  T_EQ_INT(diag(j, "evicted_customers"), 2);
  json_decref(j);
  /* c1 active again; 49 h after T0 c2 is idle in both periods: c5 takes its place */
  active(T0 + 47 * 60 * MIN + 1, "t6", "c1");
  active(T0 + 49 * 60 * MIN, "t7", "c5");
  j = snap();
  T_EQ_INT(diag(j, "evicted_customers"), 2);
  json_decref(j);
  active(T0 + 49 * 60 * MIN, "t8", "c6"); /* c1 and c5: full again */
  j = snap();
  T_EQ_INT(diag(j, "evicted_customers"), 3);
  json_decref(j);
  teardown();
}

/* limits.customer_entries: a HANDLED without agent needs 3 entries (all,
 * its channel, its queue); with 5 the second customer gets 2 of its 3. */
static void test_customer_entries_cap(void) {
  const char *kv[] = {"limits.customer_entries", "5", NULL};
  setup_with(kv);
  for (int i = 0; i < 2; i++) {
    evb_t b;
    ccp_event_t *ev = mk(&b, CCP_EV_HANDLED, T0, i ? "t2" : "t1");
    ev->customer_id = S(i ? "c2" : "c1");
    T_EQ_INT(ccp_engine_process(eng, ev), CCP_ACCEPTED);
  }
  json_t *j = snap();
  T_EQ_INT(diag(j, "evicted_customers"), 1);
  T_EQ_INT(kpi(j, "all", "5m", "customers_handled"), 2);
  T_EQ_INT(kpi(j, "queue:q1", "5m", "customers_handled"), 1); /* the refused entry */
  T_EQ_INT(kpi(j, "all", "5m", "handled"), 2);
  json_decref(j);
  teardown();
}

int main(void) {
  T_RUN(test_invalid_text_avro);
  T_RUN(test_time_range);
  T_RUN(test_queue_agent_caps);
  T_RUN(test_view_fold);
  T_RUN(test_customer_cap);
  T_RUN(test_customer_entries_cap);
  return T_DONE();
}
