/*
 * Engine unit tests: one test per rule of KPIS.md / docs/semantics.md with
 * its edge. Each test feeds events, takes the snapshot document and reads it
 * back with jansson, so the assertions are on the contract's output.
 */
#include "ccpulse/alerts.h"
#include "ccpulse/view.h"
#include "counters/partial.h"  /* the partial's time header and diagnostics */
#include "engine/engine_int.h" /* the scopes' delta-log hints (test_hints_off_same_sums) */
#include "engine_testutil.h"
#include "gen/gen.h"

#define MIN 60000LL
#define T0 1795000000000LL /* 2026-11-18T10:13:20Z */

/* ------------------------------------------------------------------ tests */

static void test_no_data_nulls(void) {
  setup();
  json_t *j = snap();
  T_TRUE(json_is_null(json_object_get(j, "now_ms")));
  T_EQ_INT(kpi(j, "all", "5m", "opened"), 0);
  T_NULL(kpi(j, "all", "5m", "frt_avg_ms"));
  T_NULL(kpi(j, "all", "5m", "service_level_pct"));
  T_NULL(kpi(j, "all", "5m", "csat_pct"));
  T_NULL(kpi(j, "all", "5m", "abandon_pct"));
  T_NULL(gauge(j, "all", "longest_wait_ms"));
  json_decref(j);
  /* one OPENED: counts 1, every ratio but abandon_pct still null */
  send(CCP_EV_OPENED, T0, "t1");
  j = snap();
  T_EQ_INT(kpi(j, "all", "5m", "opened"), 1);
  T_EQ_DBL(kpi(j, "all", "5m", "abandon_pct"), 0, 0);
  T_NULL(kpi(j, "all", "5m", "frt_avg_ms"));
  T_NULL(kpi(j, "all", "5m", "nps"));
  T_NULL(kpi(j, "all", "5m", "fcr_pct"));
  T_NULL(kpi(j, "all", "5m", "cost_per_resolution"));
  /* KPIS.md §5: a null KPI and a zero count are left out of the window
   * object; a non-count that is 0 (abandon_pct) and the gauges stay */
  json_t *w5 = json_object_get(
      json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "windows"), "5m");
  T_TRUE(json_is_object(w5));
  T_TRUE(json_object_get(w5, "frt_p90_ms") == NULL);
  T_TRUE(json_object_get(w5, "resolved") == NULL);
  T_EQ_INT(json_integer_value(json_object_get(w5, "opened")), 1);
  T_TRUE(json_is_number(json_object_get(w5, "abandon_pct")));
  json_t *g = json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "gauges");
  T_EQ_INT(json_object_size(g), 4);
  T_TRUE(json_is_null(json_object_get(g, "longest_wait_ms")) ||
         json_is_number(json_object_get(g, "longest_wait_ms")));
  json_decref(j);
  teardown();
}

static void test_frt_at_threshold(void) {
  setup(); /* CHAT threshold 2m */
  send(CCP_EV_OPENED, T0, "a");
  send(CCP_EV_OPENED, T0, "b");
  send(CCP_EV_AGENT_REPLY, T0 + 2 * MIN, "a");     /* exactly at threshold: within */
  send(CCP_EV_AGENT_REPLY, T0 + 2 * MIN + 1, "b"); /* 1 ms over: not within */
  json_t *j = snap();
  T_EQ_INT(kpi(j, "all", "15m", "frt_count"), 2);
  T_EQ_DBL(kpi(j, "all", "15m", "frt_avg_ms"), 2 * MIN + 0.5, 1e-9);
  T_EQ_DBL(kpi(j, "all", "15m", "service_level_pct"), 50.0, 1e-9);
  /* b breached: its deadline passed unreplied when stream time reached +1 ms */
  T_EQ_INT(kpi(j, "all", "15m", "sla_breaches"), 1);
  T_EQ_INT(kpi(j, "queue:q1", "15m", "sla_breaches"), 1);
  json_decref(j);
  teardown();
}

static void test_breach_strictly_after_deadline(void) {
  setup();
  send(CCP_EV_OPENED, T0, "a");
  send(CCP_EV_OPENED, T0, "r");
  send(CCP_EV_AGENT_REPLY, T0 + MIN, "r");        /* replied first: never breaches */
  send(CCP_EV_CUSTOMER_REPLY, T0 + 2 * MIN, "x"); /* now == deadline: no breach yet */
  json_t *j = snap();
  T_EQ_INT(kpi(j, "all", "15m", "sla_breaches"), 0);
  T_EQ_INT(gauge(j, "all", "waiting"), 2); /* a, and x (opened before the stream) */
  T_EQ_DBL(gauge(j, "all", "longest_wait_ms"), 2 * MIN, 0);
  json_decref(j);
  send(CCP_EV_CUSTOMER_REPLY, T0 + 2 * MIN + 1, "x"); /* now > deadline: breach, once */
  send(CCP_EV_CUSTOMER_REPLY, T0 + 10 * MIN, "x");
  j = snap();
  T_EQ_INT(kpi(j, "all", "15m", "sla_breaches"), 1);
  T_EQ_INT(kpi(j, "channel:CHAT", "15m", "sla_breaches"), 1);
  json_decref(j);
  teardown();
}

static int alerts_seen[2];
static int64_t alert_at[2];
static void on_alert(void *opaque, const ccp_alert_t *a) {
  (void)opaque;
  alerts_seen[a->kind]++;
  alert_at[a->kind] = a->at_ms;
  if (strcmp(a->ticket_id, "t9") != 0)
    fprintf(stderr, "alert for '%s'\n", a->ticket_id);
}

static void test_breach_by_time_passing(void) {
  setup();
  memset(alerts_seen, 0, sizeof alerts_seen);
  ccp_engine_set_alert_cb(eng, on_alert, NULL);
  send(CCP_EV_OPENED, T0, "t9");
  ccp_engine_advance(eng, T0 + 96000); /* 80 % of 2m: at risk */
  T_EQ_INT(alerts_seen[CCP_ALERT_SLA_AT_RISK], 1);
  T_EQ_INT(alert_at[CCP_ALERT_SLA_AT_RISK], T0 + 96000);
  T_EQ_INT(alerts_seen[CCP_ALERT_SLA_BREACH], 0);
  ccp_engine_advance(eng, T0 + 2 * MIN);
  T_EQ_INT(alerts_seen[CCP_ALERT_SLA_BREACH], 0);
  ccp_engine_advance(eng, T0 + 2 * MIN + 1); /* no event needed */
  T_EQ_INT(alerts_seen[CCP_ALERT_SLA_BREACH], 1);
  T_EQ_INT(alert_at[CCP_ALERT_SLA_BREACH], T0 + 2 * MIN);
  ccp_engine_advance(eng, T0 + 60 * MIN);
  T_EQ_INT(alerts_seen[CCP_ALERT_SLA_BREACH], 1);
  json_t *j = snap();
  T_EQ_INT(kpi(j, "all", "1h", "sla_breaches"), 1);
  json_decref(j);
  teardown();
}

static void test_abandon_short_long(void) {
  setup();
  send(CCP_EV_OPENED, T0, "s");
  send(CCP_EV_OPENED, T0, "l");
  send(CCP_EV_OPENED, T0, "r");
  send(CCP_EV_ABANDONED, T0 + 4999, "s"); /* short */
  send(CCP_EV_ABANDONED, T0 + 5000, "l"); /* exactly the threshold: not short */
  send(CCP_EV_AGENT_REPLY, T0 + 6000, "r");
  send(CCP_EV_ABANDONED, T0 + 7000, "r"); /* after a reply: not an abandon */
  send(CCP_EV_ABANDONED, T0 + 8000, "u"); /* unknown ticket: counted, wait unknown */
  json_t *j = snap();
  T_EQ_INT(kpi(j, "all", "5m", "abandoned"), 3);
  T_EQ_INT(kpi(j, "all", "5m", "abandoned_short"), 1);
  T_EQ_DBL(kpi(j, "all", "5m", "abandon_pct"), 100.0, 1e-9);
  /* SL: r within / (1 first reply + 1 long abandon) */
  T_EQ_DBL(kpi(j, "all", "5m", "service_level_pct"), 50.0, 1e-9);
  T_EQ_INT(gauge(j, "all", "open"), 0);
  json_decref(j);
  teardown();
}

static void test_reopen_and_fcr(void) {
  setup();
  send(CCP_EV_OPENED, T0, "a");
  send(CCP_EV_AGENT_REPLY, T0 + 1000, "a");
  send(CCP_EV_RESOLVED, T0 + 10000, "a");
  send(CCP_EV_RESOLVED, T0 + 11000, "a"); /* already solved: not counted */
  send(CCP_EV_REOPENED, T0 + 20000, "a");
  json_t *j = snap();
  T_EQ_INT(gauge(j, "all", "open"), 1);
  T_EQ_INT(gauge(j, "all", "waiting"), 0);
  json_decref(j);
  send(CCP_EV_AGENT_REPLY, T0 + 30000, "a");
  send(CCP_EV_RESOLVED, T0 + 40000, "a");
  j = snap();
  T_EQ_INT(kpi(j, "all", "5m", "resolved"), 2);
  T_EQ_INT(kpi(j, "all", "5m", "reopened"), 1);
  T_EQ_DBL(kpi(j, "all", "5m", "resolution_avg_ms"), 25000.0, 1e-9); /* (10000+40000)/2 */
  T_EQ_DBL(kpi(j, "all", "5m", "fcr_pct"), 100.0, 1e-9);             /* first resolution only */
  T_EQ_INT(kpi(j, "all", "5m", "frt_count"), 1);
  json_decref(j);
  teardown();
}

static void test_transfer_removes_fcr(void) {
  setup();
  send(CCP_EV_OPENED, T0, "a");
  send(CCP_EV_TRANSFERRED, T0 + 1000, "a");
  send(CCP_EV_RESOLVED, T0 + 2000, "a");
  send(CCP_EV_OPENED, T0, "b");
  send(CCP_EV_AGENT_REPLY, T0 + 3000, "b");
  send(CCP_EV_AGENT_REPLY, T0 + 4000, "b"); /* two replies: not FCR */
  send(CCP_EV_RESOLVED, T0 + 5000, "b");
  send(CCP_EV_OPENED, T0, "c");
  send(CCP_EV_AGENT_REPLY, T0 + 3000, "c");
  send(CCP_EV_RESOLVED, T0 + 5000, "c"); /* one reply, no transfer: FCR */
  json_t *j = snap();
  T_EQ_DBL(kpi(j, "all", "5m", "fcr_pct"), 100.0 / 3.0, 1e-9);
  json_decref(j);
  teardown();
}

static void test_invalid_late_duplicate(void) {
  setup();
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_SURVEY, T0, "a");
  ev->csat = 6;
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_INVALID);
  ev = mk(&b, CCP_EV_SURVEY, T0, "a");
  ev->nps = 11;
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_INVALID);
  ev = mk(&b, CCP_EV_HANDLED, T0, "a");
  ev->talk_ms = -1;
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_INVALID);
  ev = mk(&b, CCP_EV_SURVEY, T0, "a");
  ev->csat = 5;
  ev->nps = 10;
  ev->ces = 2;
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_ACCEPTED);
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_DUPLICATE); /* same event_id */
  T_EQ_INT(send(CCP_EV_OPENED, T0 + 10 * MIN, "b"), CCP_ACCEPTED);
  T_EQ_INT(send(CCP_EV_OPENED, T0 + 5 * MIN, "c"), CCP_ACCEPTED); /* ts == now - lateness */
  T_EQ_INT(send(CCP_EV_OPENED, T0 + 5 * MIN - 1, "d"), CCP_LATE);
  /* the survey's id is beyond the lateness horizon now: its re-delivery is late anyway */
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_LATE);
  /* an invalid event does not count as seen: a valid one with its id is accepted */
  ev = mk(&b, CCP_EV_SURVEY, T0 + 10 * MIN, "a");
  ev->csat = 0;
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_INVALID);
  ev->csat = 1;
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_ACCEPTED);
  json_t *j = snap();
  T_EQ_INT(diag(j, "events"), 11);
  T_EQ_INT(diag(j, "invalid_events"), 4);
  T_EQ_INT(diag(j, "late_events"), 2);
  T_EQ_INT(diag(j, "duplicate_events"), 1);
  T_EQ_DBL(kpi(j, "all", "1h", "csat_pct"), 50.0, 1e-9);
  T_EQ_DBL(kpi(j, "all", "1h", "nps"), 100.0, 1e-9);
  T_EQ_DBL(kpi(j, "all", "1h", "ces_avg"), 2.0, 1e-9);
  T_EQ_INT(kpi(j, "all", "1h", "opened"), 2);
  json_decref(j);
  teardown();
}

/* dedup.max bounds the ids remembered at once, not the ids ever seen: ids
 * older than the lateness horizon leave the filter and make room, so a
 * re-delivery within the horizon is caught however many ids came before
 * (docs/limits.md). One event each 10 s keeps 30 ids within the default 5
 * minutes, under the cap of 100, over 1,000 events. */
static void test_dedup_cap_forgets_old_ids(void) {
  static const char *const kv[] = {"dedup.max", "100", NULL};
  setup_with(kv);
  evb_t b;
  ccp_event_t *ev = NULL;
  for (int i = 0; i < 1000; i++) {
    ev = mk(&b, CCP_EV_OPENED, T0 + i * 10000LL, "t");
    T_EQ_INT(ccp_engine_process(eng, ev), CCP_ACCEPTED);
    if (i % 97 == 0) /* a re-delivery within the horizon, now and then */
      T_EQ_INT(ccp_engine_process(eng, ev), CCP_DUPLICATE);
  }
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_DUPLICATE);
  json_t *j = snap();
  T_EQ_INT(diag(j, "duplicate_events"), 12);
  json_decref(j);
  teardown();
}

static void test_ttl_forgets_ticket(void) {
  const char *kv[] = {"tickets.ttl", "1h", NULL};
  setup_with(kv);
  send(CCP_EV_OPENED, T0, "old");
  send(CCP_EV_OPENED, T0 + 30 * MIN, "young");
  send(CCP_EV_CUSTOMER_REPLY, T0 + 60 * MIN, "young"); /* now - touch(old) == ttl: kept */
  json_t *j = snap();
  T_EQ_INT(gauge(j, "all", "open"), 2);
  T_EQ_INT(diag(j, "expired_tickets"), 0);
  json_decref(j);
  send(CCP_EV_CUSTOMER_REPLY, T0 + 60 * MIN + 1, "young");
  j = snap();
  T_EQ_INT(gauge(j, "all", "open"), 1);
  T_EQ_INT(diag(j, "expired_tickets"), 1);
  T_EQ_INT(diag(j, "tickets"), 1);
  json_decref(j);
  /* an event for the forgotten ticket makes a new one with unknown open time */
  send(CCP_EV_RESOLVED, T0 + 61 * MIN, "old");
  j = snap();
  T_EQ_INT(kpi(j, "all", "5m", "resolved"), 1);
  T_NULL(kpi(j, "all", "5m", "resolution_avg_ms"));
  json_decref(j);
  teardown();
}

/* The engine does not change the process time zone (a data race inside libc
 * with running workers): it refuses a configuration in another zone. */
static void test_zone_must_be_set_first(void) {
  const char *kv[] = {"timezone", "Europe/Berlin", NULL};
  setup_with(kv); /* sets Europe/Berlin */
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_config_t other;
  ccp_config_init(&other);
  T_EQ_INT(ccp_config_finish(&other, err, sizeof err), 0); /* UTC */
  ccp_engine_t *e = ccp_engine_new(&other, err, sizeof err);
  T_TRUE(e == NULL);
  T_EQ_STR(err, "time zone 'UTC' is not the process time zone 'Europe/Berlin' (set once with "
                "ccp_tz_use before threads start)");
  ccp_engine_free(e);
  ccp_config_release(&other);
  teardown();
}

static void test_today_across_dst(void) {
  const char *kv[] = {"timezone", "Europe/Berlin", NULL};
  setup_with(kv);
  /* 2026-03-29: clocks go 02:00 CET -> 03:00 CEST. Local midnight of the
   * 29th is 2026-03-28T23:00Z; of the 30th, 2026-03-29T22:00Z (23 h later). */
  const int64_t mid29 = 1774738800000LL;             /* 2026-03-28T23:00:00Z */
  const int64_t mid30 = 1774821600000LL;             /* 2026-03-29T22:00:00Z */
  send(CCP_EV_OPENED, mid29 - 1, "before");          /* 23:59:59.999 on the 28th */
  send(CCP_EV_OPENED, mid29, "first");               /* 00:00 on the 29th */
  send(CCP_EV_OPENED, mid29 + 3 * 3600000LL, "dst"); /* 03:00 CEST, after the change */
  json_t *j = snap();
  T_EQ_INT(kpi(j, "all", "today", "opened"), 2);
  json_t *w = json_object_get(json_object_get(j, "windows"), "today");
  T_EQ_INT(json_integer_value(json_object_get(w, "start_ms")), mid29);
  T_EQ_INT(json_integer_value(json_object_get(w, "span_ms")), 3 * 3600000LL + 60000);
  json_decref(j);
  send(CCP_EV_OPENED, mid30 - 60000, "last"); /* 23:59 CEST on the 29th */
  j = snap();
  T_EQ_INT(kpi(j, "all", "today", "opened"), 3);
  T_EQ_INT(json_integer_value(
               json_object_get(json_object_get(json_object_get(j, "windows"), "today"), "span_ms")),
           23 * 3600000LL);
  json_decref(j);
  send(CCP_EV_OPENED, mid30, "next"); /* the 23-hour day is over */
  j = snap();
  T_EQ_INT(kpi(j, "all", "today", "opened"), 1);
  T_EQ_INT(kpi(j, "all", "24h", "opened"), 5);
  json_decref(j);
  teardown();
}

static void test_windows_slide(void) {
  setup();
  send(CCP_EV_OPENED, T0, "a"); /* T0 is a multiple of 5 s and 10 s */
  send(CCP_EV_OPENED, T0 + 30000, "b");
  send(CCP_EV_CUSTOMER_REPLY, T0 + 59999, "b");
  json_t *j = snap();
  T_EQ_INT(kpi(j, "all", "1m", "opened"), 2);
  json_decref(j);
  send(CCP_EV_CUSTOMER_REPLY, T0 + 60000, "b"); /* bucket of T0 leaves the 1m window */
  j = snap();
  T_EQ_INT(kpi(j, "all", "1m", "opened"), 1);
  T_EQ_INT(kpi(j, "all", "5m", "opened"), 2);
  json_decref(j);
  send(CCP_EV_CUSTOMER_REPLY, T0 + 100 * MIN, "b");
  j = snap();
  T_EQ_INT(kpi(j, "all", "1m", "opened"), 0);
  T_EQ_INT(kpi(j, "all", "1h", "opened"), 0);
  T_EQ_INT(kpi(j, "all", "24h", "opened"), 2);
  json_decref(j);
  teardown();
}

static void test_percentiles_nearest_rank(void) {
  setup();
  char t[16];
  for (int i = 1; i <= 100; i++) {
    snprintf(t, sizeof t, "t%d", i);
    send(CCP_EV_OPENED, T0, t);
  }
  for (int i = 1; i <= 100; i++) {
    snprintf(t, sizeof t, "t%d", i);
    send(CCP_EV_AGENT_REPLY, T0 + i, t); /* FRT = i ms */
  }
  json_t *j = snap();
  T_EQ_DBL(kpi(j, "all", "5m", "frt_p50_ms"), 50, 0);
  T_EQ_DBL(kpi(j, "all", "5m", "frt_p90_ms"), 90, 0);
  T_EQ_DBL(kpi(j, "all", "5m", "frt_p99_ms"), 99, 0);
  json_decref(j);
  teardown();
  /* large values: within 1 % */
  setup();
  send(CCP_EV_OPENED, T0, "x");
  send(CCP_EV_AGENT_REPLY, T0 + 98765, "x");
  j = snap();
  double p = kpi(j, "all", "5m", "frt_p50_ms");
  T_TRUE(fabs(p - 98765) <= 0.01 * 98765);
  json_decref(j);
  teardown();
}

static void test_gauges_and_scopes(void) {
  const char *kv[] = {"backlog_age", "10m", NULL};
  setup_with(kv);
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_OPENED, T0, "a");
  ev->queue = S("billing");
  ccp_engine_process(eng, ev);
  ev = mk(&b, CCP_EV_OPENED, T0 + MIN, "b");
  ev->queue = S("sales");
  ev->channel = CCP_CH_EMAIL;
  ccp_engine_process(eng, ev);
  ev = mk(&b, CCP_EV_ASSIGNED, T0 + 2 * MIN, "b");
  ev->queue = S("sales");
  ev->channel = CCP_CH_EMAIL;
  ev->agent_id = S("ag1");
  ccp_engine_process(eng, ev);
  ev = mk(&b, CCP_EV_TRANSFERRED, T0 + 3 * MIN, "a");
  ev->queue = S("sales");
  ccp_engine_process(eng, ev);
  json_t *j = snap();
  T_EQ_INT(gauge(j, "all", "waiting"), 2);
  T_EQ_DBL(gauge(j, "all", "longest_wait_ms"), 3 * MIN, 0);
  T_EQ_INT(gauge(j, "queue:sales", "waiting"), 2);
  T_TRUE(json_object_get(json_object_get(j, "scopes"), "queue:billing") != NULL); /* opened there */
  T_EQ_INT(gauge(j, "queue:billing", "open"), 0);
  T_EQ_DBL(gauge(j, "agent:ag1", "longest_wait_ms"), 2 * MIN, 0);
  T_EQ_DBL(gauge(j, "channel:EMAIL", "longest_wait_ms"), 2 * MIN, 0);
  T_EQ_INT(gauge(j, "all", "backlog_aged"), 0);
  json_decref(j);
  ccp_engine_advance(eng, T0 + 11 * MIN); /* a is older than 10m, b is not */
  j = snap();
  T_EQ_INT(gauge(j, "all", "backlog_aged"), 1);
  T_EQ_INT(gauge(j, "queue:sales", "backlog_aged"), 1);
  json_decref(j);
  ev = mk(&b, CCP_EV_AGENT_REPLY, T0 + 12 * MIN, "a");
  ev->queue = S("sales");
  ev->agent_id = S("ag2");
  ccp_engine_process(eng, ev);
  j = snap();
  T_EQ_INT(gauge(j, "all", "waiting"), 1);
  T_EQ_DBL(gauge(j, "all", "longest_wait_ms"), 11 * MIN, 0);
  T_EQ_INT(kpi(j, "agent:ag2", "15m", "frt_count"), 1);
  T_EQ_INT(gauge(j, "agent:ag2", "open"), 1);
  json_decref(j);
  teardown();
}

static void test_customers_and_cost_and_score(void) {
  const char *kv[] = {"cost.CHAT", "36", "scorecard", "csat_pct>=80:50,aht_avg_ms<=1000:50", NULL};
  setup_with(kv);
  evb_t b;
  const char *custs[] = {"c1", "c2", "c1", "c3"};
  for (int i = 0; i < 4; i++) {
    ccp_event_t *ev = mk(&b, CCP_EV_HANDLED, T0 + i * 5000, "h");
    ev->customer_id = S(custs[i]);
    ev->agent_id = S("ag");
    ev->talk_ms = 1000;
    ev->hold_ms = 500;
    ev->acw_ms = CCP_NULL_I64;
    ccp_engine_process(eng, ev);
  }
  ccp_event_t *ev = mk(&b, CCP_EV_SURVEY, T0 + 16000, "h");
  ev->csat = 3;
  ev->agent_id = S("ag");
  ccp_engine_process(eng, ev);
  send(CCP_EV_RESOLVED, T0 + 17000, "h");
  json_t *j = snap();
  T_EQ_INT(kpi(j, "all", "5m", "handled"), 4);
  T_EQ_INT(kpi(j, "all", "5m", "customers_handled"), 3);
  T_EQ_DBL(kpi(j, "all", "5m", "aht_avg_ms"), 1500, 1e-9);
  /* 4 x 1.5 s at 36 per hour = 0.06, over 1 resolution */
  T_EQ_DBL(kpi(j, "all", "5m", "cost_per_resolution"), 0.06, 1e-12);
  /* csat 0 % -> 0 of 50; aht 1500 > 1000 -> 1000/1500 of 50 */
  T_EQ_DBL(kpi(j, "agent:ag", "5m", "score"), 100.0 * (50.0 * (1000.0 / 1500.0)) / 100.0, 1e-9);
  json_decref(j);
  /* customers slide out with their bucket: c1's latest HANDLED is at +10 s */
  ccp_engine_advance(eng, T0 + 60000); /* 1m window starts at +5 s */
  j = snap();
  T_EQ_INT(kpi(j, "all", "1m", "customers_handled"), 3);
  json_decref(j);
  ccp_engine_advance(eng, T0 + 65000); /* starts at +10 s: c2 (+5 s) is out */
  j = snap();
  T_EQ_INT(kpi(j, "all", "1m", "customers_handled"), 2);
  T_EQ_INT(kpi(j, "all", "1m", "handled"), 2);
  json_decref(j);
  teardown();
}

static void test_retention(void) {
  const char *kv[] = {"retention.period", "30d", NULL};
  setup_with(kv);
  const int64_t D = 86400000LL;
  evb_t b;
  const char *prev[] = {"p1", "p2", "p3", "p4"};
  for (int i = 0; i < 4; i++) {
    ccp_event_t *ev = mk(&b, CCP_EV_CUSTOMER_REPLY, T0 + i, "x");
    ev->customer_id = S(prev[i]);
    ccp_engine_process(eng, ev);
  }
  /* 40 days later p1 and p2 come back, n1 is new */
  const char *cur[] = {"p1", "p2", "n1"};
  for (int i = 0; i < 3; i++) {
    ccp_event_t *ev = mk(&b, CCP_EV_CUSTOMER_REPLY, T0 + 40 * D + i, "x");
    ev->customer_id = S(cur[i]);
    ccp_engine_process(eng, ev);
  }
  json_t *j = snap();
  json_t *c = json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "customers");
  T_EQ_DBL(json_number_value(json_object_get(c, "retention_pct")), 50.0, 1e-9);
  T_EQ_DBL(json_number_value(json_object_get(c, "churn_pct")), 50.0, 1e-9);
  json_decref(j);
  teardown();
}

static void test_cap_evicts_oldest(void) {
  const char *kv[] = {"tickets.max", "2", NULL};
  setup_with(kv);
  send(CCP_EV_OPENED, T0, "a");
  send(CCP_EV_OPENED, T0 + 1, "b");
  send(CCP_EV_CUSTOMER_REPLY, T0 + 2, "a"); /* a is now the most recent */
  send(CCP_EV_OPENED, T0 + 3, "c");         /* evicts b */
  json_t *j = snap();
  T_EQ_INT(diag(j, "evicted_tickets"), 1);
  T_EQ_INT(diag(j, "tickets"), 2);
  T_EQ_INT(gauge(j, "all", "open"), 2);
  json_decref(j);
  send(CCP_EV_AGENT_REPLY, T0 + 4, "b"); /* b is new again: no FRT */
  j = snap();
  T_EQ_INT(kpi(j, "all", "5m", "frt_count"), 0);
  json_decref(j);
  teardown();
}

static void test_sla_override_and_new_life(void) {
  const char *kv[] = {"sla.queue.vip.CHAT", "30s", NULL};
  setup_with(kv);
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_OPENED, T0, "v");
  ev->queue = S("vip");
  ccp_engine_process(eng, ev);
  send(CCP_EV_CUSTOMER_REPLY, T0 + 30001, "zz"); /* passes the 30 s deadline */
  json_t *j = snap();
  T_EQ_INT(kpi(j, "queue:vip", "5m", "sla_breaches"), 1);
  json_decref(j);
  /* OPENED on a closed ticket starts a new life: new FRT clock */
  send(CCP_EV_RESOLVED, T0 + 40000, "v");
  send(CCP_EV_OPENED, T0 + 50000, "v"); /* queue q1: CHAT 2 m */
  send(CCP_EV_AGENT_REPLY, T0 + 60000, "v");
  j = snap();
  T_EQ_INT(kpi(j, "all", "5m", "frt_count"), 1);
  T_EQ_DBL(kpi(j, "all", "5m", "frt_avg_ms"), 10000, 0);
  T_EQ_INT(kpi(j, "all", "5m", "opened"), 2);
  json_decref(j);
  teardown();
}

static void test_deterministic_bytes(void) {
  ccp_buf_t a, b2;
  ccp_buf_init(&a);
  ccp_buf_init(&b2);
  for (int round = 0; round < 2; round++) {
    setup();
    send(CCP_EV_OPENED, T0, "a");
    send(CCP_EV_AGENT_REPLY, T0 + 1234, "a");
    send(CCP_EV_RESOLVED, T0 + 5678, "a");
    ccp_engine_snapshot_json(eng, round ? &b2 : &a);
    teardown();
  }
  T_EQ_STR(a.data, b2.data);
  ccp_buf_release(&a);
  ccp_buf_release(&b2);
}

/* Folds an alert into a running hash (order matters). */
static void fold_alert(void *opaque, const ccp_alert_t *a) {
  uint64_t *h = opaque;
  uint64_t x = (uint64_t)a->kind ^ (uint64_t)a->at_ms * 31 ^ (uint64_t)a->now_ms * 131 ^
               (uint64_t)a->opened_ms * 7 ^ ccp_hash64(a->ticket_id, strlen(a->ticket_id), 1);
  *h = (*h ^ x) * 0x100000001B3ull;
}

/* ccp_engine_process_batch (events copied into a ccp_event_batch_t) gives
 * the same snapshot, verdicts and alerts, in the same order, as one
 * ccp_engine_process per event — with a small ticket cap and TTL so that
 * evictions, expiries and record reuse happen inside batches. */
static void test_batch_equals_single(void) {
  static const char *const kv[] = {"tickets.max", "700", "tickets.ttl", "20m", NULL};
  ccp_buf_t snap[2];
  uint64_t verdict_h[2] = {0, 0}, alert_h[2] = {0, 0};
  static ccp_event_batch_t batch;
  for (int round = 0; round < 2; round++) {
    setup_with(kv);
    ccp_engine_set_alert_cb(eng, fold_alert, &alert_h[round]);
    ccp_gen_opts_t go = {.events = 40000, .seed = 7};
    ccp_gen_t *g = ccp_gen_new(&go);
    T_TRUE(g != NULL);
    ccp_event_t ev;
    ccp_verdict_t v[CCP_ENGINE_BATCH];
    ccp_event_batch_clear(&batch);
    int more = 1;
    unsigned cut = 1; /* batches of varying sizes */
    while (more) {
      more = ccp_gen_next(g, &ev) == 0;
      if (round == 0) {
        if (more)
          verdict_h[0] = (verdict_h[0] + ccp_engine_process(eng, &ev)) * 31;
        continue;
      }
      if (more)
        T_EQ_INT(ccp_event_batch_add(&batch, &ev), 0);
      if (batch.n && (!more || batch.n >= cut || batch.n == CCP_ENGINE_BATCH)) {
        ccp_engine_process_batch(eng, batch.ev, batch.n, v);
        for (size_t i = 0; i < batch.n; i++)
          verdict_h[1] = (verdict_h[1] + v[i]) * 31;
        ccp_event_batch_clear(&batch);
        cut = cut * 7 % (CCP_ENGINE_BATCH + 3) + 1;
      }
    }
    ccp_gen_free(g);
    T_TRUE(ccp_engine_evicted(eng) > 0);
    ccp_buf_init(&snap[round]);
    ccp_engine_snapshot_json(eng, &snap[round]);
    teardown();
  }
  T_EQ_STR(snap[0].data, snap[1].data);
  T_TRUE(verdict_h[0] == verdict_h[1]);
  T_TRUE(alert_h[0] == alert_h[1] && alert_h[0] != 0);
  ccp_buf_release(&snap[0]);
  ccp_buf_release(&snap[1]);
}

/* Scopes (by kind, bit CCP_SC_*) whose next delta logs take no hints. */
static unsigned hints_off_kinds(const ccp_engine_t *e) {
  unsigned m = 0;
  for (uint32_t i = 0; i < e->nscopes; i++)
    if (e->scopes[i]->hint_skip)
      m |= 1u << e->scopes[i]->kind;
  return m;
}

/* A scope whose delta-log hints seldom sum anything (an agent's events
 * seldom share a base bucket) fills its next logs without them
 * (CCP_HINT_SKIP): the log holds more entries, the windows the same sums.
 * The same stream with hints kept on everywhere gives the same snapshots,
 * at exports in the middle too; the agents' hints go off, the busiest
 * scope's stay on. */
static void test_hints_off_same_sums(void) {
  ccp_buf_t snap[2];
  unsigned off[2] = {0, 0};
  for (int round = 0; round < 2; round++) {
    setup();
    ccp_buf_init(&snap[round]);
    ccp_gen_opts_t go = {.events = 120000, .seed = 3, .agents = 40};
    ccp_gen_t *g = ccp_gen_new(&go);
    T_TRUE(g != NULL);
    ccp_event_t ev;
    for (int n = 1; ccp_gen_next(g, &ev) == 0; n++) {
      ccp_engine_process(eng, &ev);
      off[round] |= hints_off_kinds(eng);
      if (round == 0) /* hints on for every log */
        for (uint32_t i = 0; i < eng->nscopes; i++)
          eng->scopes[i]->hint_skip = 0;
      if (n % 20000 == 0)
        ccp_engine_snapshot_json(eng, &snap[round]);
    }
    ccp_gen_free(g);
    ccp_engine_snapshot_json(eng, &snap[round]);
    teardown();
  }
  T_EQ_STR(snap[0].data, snap[1].data);
  T_TRUE(off[1] >> CCP_SC_AGENT & 1);  /* an agent's events: ~1 per 30 s of stream time */
  T_TRUE(!(off[1] >> CCP_SC_ALL & 1)); /* `all`: ~7 events per 5 s base bucket */
  ccp_buf_release(&snap[0]);
  ccp_buf_release(&snap[1]);
}

/* Alert ids of one run, in the order raised. */
typedef struct idlist {
  char **id;
  int64_t *now;
  int n, cap;
} idlist_t;

static void collect_id(void *opaque, const ccp_alert_t *a) {
  idlist_t *l = opaque;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->id = realloc(l->id, (size_t)l->cap * sizeof *l->id);
    l->now = realloc(l->now, (size_t)l->cap * sizeof *l->now);
  }
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_alert_id(a, &b);
  l->id[l->n] = strdup(b.data);
  l->now[l->n++] = a->now_ms;
  ccp_buf_release(&b);
}

static void idlist_free(idlist_t *l) {
  for (int i = 0; i < l->n; i++)
    free(l->id[i]);
  free(l->id);
  free(l->now);
  memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of ids that occur more than once. */
static int repeated_ids(const idlist_t *l) {
  char **s = malloc((size_t)(l->n ? l->n : 1) * sizeof *s);
  memcpy(s, l->id, (size_t)l->n * sizeof *s);
  qsort(s, (size_t)l->n, sizeof *s, cmp_str);
  int rep = 0;
  for (int i = 1; i < l->n; i++)
    rep += strcmp(s[i - 1], s[i]) == 0;
  free(s);
  return rep;
}

/* A deadline alert's id (docs/alerts.md) is a pure function of the deadline:
 * the same events give the same ids in the same order, however time
 * advances between them (now_ms differs, the id does not), and distinct
 * deadlines — at risk and breach, other tickets, a ticket's new life whose
 * deadline falls on the same millisecond as its old one's — get distinct
 * ids. The Redis publisher writes each id once on the strength of this. */
static void test_alert_ids_stable_and_distinct(void) {
  /* a generated day, twice: equal id sequences, no id twice */
  idlist_t run[2] = {{0}, {0}};
  for (int round = 0; round < 2; round++) {
    setup();
    ccp_engine_set_alert_cb(eng, collect_id, &run[round]);
    ccp_gen_opts_t go = {.events = 20000, .seed = 11};
    ccp_gen_t *g = ccp_gen_new(&go);
    ccp_event_t ev;
    while (ccp_gen_next(g, &ev) == 0)
      ccp_engine_process(eng, &ev);
    ccp_gen_free(g);
    ccp_engine_advance(eng, T0 + 1000LL * 86400000);
    teardown();
  }
  T_TRUE(run[0].n > 100);
  T_EQ_INT(run[1].n, run[0].n);
  for (int i = 0; i < run[0].n && i < run[1].n; i++)
    if (strcmp(run[0].id[i], run[1].id[i]) != 0) {
      T_FAIL_("alert %d: id '%s' in the first run, '%s' in the second", i, run[0].id[i],
              run[1].id[i]);
      break;
    }
  T_EQ_INT(repeated_ids(&run[0]), 0);
  idlist_free(&run[0]);
  idlist_free(&run[1]);

  /* the same ticket, time advanced in one jump or in steps: same ids */
  for (int round = 0; round < 2; round++) {
    setup();
    ccp_engine_set_alert_cb(eng, collect_id, &run[round]);
    send(CCP_EV_OPENED, T0, "t");
    if (round) {
      ccp_engine_advance(eng, T0 + 96000);
      ccp_engine_advance(eng, T0 + 2 * MIN + 1);
    } else {
      ccp_engine_advance(eng, T0 + 10 * MIN);
    }
    teardown();
  }
  T_EQ_INT(run[0].n, 2);
  T_EQ_INT(run[1].n, 2);
  if (run[0].n == 2 && run[1].n == 2) {
    T_EQ_STR(run[0].id[0], "sla_at_risk:t:1795000000000:1795000096000");
    T_EQ_STR(run[0].id[1], "sla_breach:t:1795000000000:1795000120000");
    T_EQ_STR(run[1].id[0], run[0].id[0]);
    T_EQ_STR(run[1].id[1], run[0].id[1]);
    T_TRUE(run[1].now[0] != run[0].now[0]); /* fired at other stream times */
  }
  idlist_free(&run[0]);
  idlist_free(&run[1]);

  /* a new life of "v" opened (late, within lateness) so that its at-risk
   * point is the old life's (T0 + 24 s): 30 s * 0.8 = 6 s + 22.5 s * 0.8 */
  const char *kv[] = {"sla.queue.vip.CHAT", "30s", "sla.queue.mid.CHAT", "22500ms", NULL};
  setup_with(kv);
  ccp_engine_set_alert_cb(eng, collect_id, &run[0]);
  evb_t b;
  ccp_event_t *ev = mk(&b, CCP_EV_OPENED, T0, "v");
  ev->queue = S("vip");
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_ACCEPTED);
  send(CCP_EV_CUSTOMER_REPLY, T0 + 30001, "other"); /* at risk and breach of life 1 */
  T_EQ_INT(send(CCP_EV_ABANDONED, T0 + 30001, "v"), CCP_ACCEPTED);
  ev = mk(&b, CCP_EV_OPENED, T0 + 6000, "v");
  ev->queue = S("mid");
  T_EQ_INT(ccp_engine_process(eng, ev), CCP_ACCEPTED);
  ccp_engine_advance(eng, T0 + 40000); /* at risk and breach of life 2 */
  teardown();
  T_EQ_INT(run[0].n, 4);
  if (run[0].n == 4) {
    T_EQ_STR(run[0].id[0], "sla_at_risk:v:1795000000000:1795000024000");
    T_EQ_STR(run[0].id[2], "sla_at_risk:v:1795000006000:1795000024000");
  }
  T_EQ_INT(repeated_ids(&run[0]), 0);
  idlist_free(&run[0]);
}

/* A batch copies strings into its arena; it refuses what does not fit. */
static void test_event_batch_arena(void) {
  static ccp_event_batch_t b;
  static char big[CCP_EVENT_BATCH_ARENA];
  memset(big, 'x', sizeof big);
  ccp_event_t ev;
  ccp_event_clear(&ev);
  char id[] = "T1";
  ev.ticket_id = (ccp_str_t){id, 2};
  ev.agent_id = (ccp_str_t){NULL, 0};
  ccp_event_batch_clear(&b);
  T_EQ_INT(ccp_event_batch_add(&b, &ev), 0);
  id[1] = '2'; /* the copy does not follow the decoder's buffer */
  T_TRUE(memcmp(b.ev[0].ticket_id.ptr, "T1", 2) == 0);
  T_TRUE(b.ev[0].agent_id.ptr == NULL);
  ev.queue = (ccp_str_t){big, sizeof big};
  T_EQ_INT(ccp_event_batch_add(&b, &ev), -1); /* too big for what is left */
  T_EQ_INT(b.n, 1);
  ev.queue = (ccp_str_t){big, 10};
  while (b.n < CCP_ENGINE_BATCH)
    T_EQ_INT(ccp_event_batch_add(&b, &ev), 0);
  T_EQ_INT(ccp_event_batch_add(&b, &ev), -1); /* full */
}

/* KPIS.md §2: deadlines, backlog age and TTL are judged on the stream time
 * of the ticket's own partition. Two engines as two partitions: A has read
 * up to +90 min, B is far behind at +0. Exported at the same G (the view
 * time), both give windows and gauges at G, but B fires no deadline and
 * expires no ticket until its own events or an advance (B read to its end)
 * pass them; then the merge equals one engine fed every event in ts order. */
typedef struct pev {
  int part, type;
  int64_t ts;
  const char *ticket;
} pev_t;

static int part_breaches;
static int64_t part_breach_now;
static void on_part_alert(void *opaque, const ccp_alert_t *a) {
  (void)opaque;
  if (a->kind == CCP_ALERT_SLA_BREACH) {
    part_breaches++;
    part_breach_now = a->now_ms;
  }
}

/* Exports both partitions at g and merges them; returns the document and
 * B's diagnostics. */
static json_t *merged_at(ccp_engine_t *const part[2], int64_t g, ccp_diag_t *b_diag, char **doc) {
  ccp_view_t *v = ccp_view_new(&cfg);
  ccp_partial_t *pp[2];
  for (int i = 0; i < 2; i++) {
    pp[i] = ccp_engine_export(part[i], g);
    T_EQ_INT(ccp_partial_now(pp[i]), g);
    ccp_view_merge(v, pp[i]);
  }
  /* the lagging partition's windows are taken at G like the other's */
  T_TRUE(memcmp(pp[0]->cur_b, pp[1]->cur_b, sizeof pp[0]->cur_b) == 0);
  T_TRUE(memcmp(pp[0]->start_b, pp[1]->start_b, sizeof pp[0]->start_b) == 0);
  *b_diag = pp[1]->diag;
  ccp_partial_free(pp[0]);
  ccp_partial_free(pp[1]);
  ccp_buf_t out;
  ccp_buf_init(&out);
  ccp_view_snapshot_json(v, &out);
  ccp_view_free(v);
  json_t *j = json_loads(out.data, 0, NULL);
  T_TRUE(j != NULL);
  if (doc)
    *doc = ccp_strdup(out.data);
  ccp_buf_release(&out);
  return j;
}

static void test_partition_own_time(void) {
  const char *kv[] = {"tickets.ttl", "1h", "backlog_age", "10m", NULL};
  setup_with(kv); /* CHAT: 2m threshold, at risk at 96 s */
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *part[2] = {eng, ccp_engine_new(&cfg, err, sizeof err)};
  ccp_engine_t *one = ccp_engine_new(&cfg, err, sizeof err);
  ccp_engine_set_alert_cb(part[1], on_part_alert, NULL);
  part_breaches = 0;
  static const pev_t evs[] = {
      {0, CCP_EV_OPENED, T0, "a1"},
      {1, CCP_EV_OPENED, T0, "b1"},
      {1, CCP_EV_OPENED, T0, "b2"},
      {0, CCP_EV_AGENT_REPLY, T0 + 30 * MIN, "a1"}, /* breached in A at +2m */
      {0, CCP_EV_OPENED, T0 + 85 * MIN, "a2"},
      {0, CCP_EV_CUSTOMER_REPLY, T0 + 90 * MIN, "a2"},
      /* read by B after the first export */
      {1, CCP_EV_AGENT_REPLY, T0 + MIN, "b1"},        /* inside its deadline */
      {1, CCP_EV_CUSTOMER_REPLY, T0 + 3 * MIN, "b3"}, /* b2's deadline passes */
  };
  enum { NEV = sizeof evs / sizeof evs[0] };
  evb_t b;
  for (int i = 0; i < 6; i++)
    ccp_engine_process(part[evs[i].part], mk(&b, evs[i].type, evs[i].ts, evs[i].ticket));
  int64_t g = ccp_engine_now(part[0]);
  T_EQ_INT(g, T0 + 90 * MIN);
  T_EQ_INT(ccp_engine_due_now(part[1]), T0);

  /* 1. B has read only +0: at G, 90 min past b1's and b2's deadlines and
   * past their TTL, B fires nothing; windows and waits are at G */
  ccp_diag_t bd;
  json_t *j = merged_at(part, g, &bd, NULL);
  T_EQ_INT(ccp_engine_now(part[1]), g);
  T_EQ_INT(ccp_engine_due_now(part[1]), T0); /* an export moves the view time only */
  T_EQ_INT(bd.alerts_at_risk, 0);
  T_EQ_INT(bd.alerts_breach, 0);
  T_EQ_INT(bd.expired, 0);
  T_EQ_INT(part_breaches, 0);
  T_EQ_INT(kpi(j, "all", "24h", "sla_breaches"), 2); /* a1 and a2, in A */
  T_EQ_INT(kpi(j, "all", "24h", "opened"), 4);
  T_EQ_INT(kpi(j, "all", "1h", "opened"), 1);                /* B's opens slid out of 1h at G */
  T_EQ_INT(gauge(j, "all", "waiting"), 3);                   /* b1, b2, a2 */
  T_EQ_DBL(gauge(j, "all", "longest_wait_ms"), 90 * MIN, 0); /* b1, measured at G */
  T_EQ_INT(gauge(j, "all", "backlog_aged"), 1);              /* a1 only */
  T_EQ_INT(diag(j, "tickets"), 4);
  json_decref(j);

  /* 2. B reads on: b1's reply inside its deadline counts as such; b2's
   * deadline passes on B's own time (+3 min), not on G */
  for (int i = 6; i < NEV; i++)
    ccp_engine_process(part[evs[i].part], mk(&b, evs[i].type, evs[i].ts, evs[i].ticket));
  T_EQ_INT(part_breaches, 1);
  T_EQ_INT(part_breach_now, T0 + 3 * MIN);
  j = merged_at(part, g, &bd, NULL);
  T_EQ_INT(bd.alerts_at_risk, 1); /* b2 (b1 was replied before its at-risk time) */
  T_EQ_INT(bd.alerts_breach, 1);
  T_EQ_INT(bd.expired, 0); /* b2 untouched for 90 min on G, 3 min on B's time */
  T_EQ_INT(kpi(j, "all", "24h", "sla_breaches"), 3);
  T_EQ_DBL(kpi(j, "all", "24h", "service_level_pct"), 50.0, 1e-9); /* b1 within, a1 not */
  T_EQ_INT(gauge(j, "all", "backlog_aged"), 1);                    /* b2 is 3 min old on B's time */
  json_decref(j);

  /* 3. B has read everything: advanced to G, it ages b2 and forgets its
   * tickets, and the merge equals one engine fed every event in ts order */
  ccp_engine_advance(part[1], g);
  T_EQ_INT(ccp_engine_due_now(part[1]), g);
  char *doc;
  j = merged_at(part, g, &bd, &doc);
  T_EQ_INT(bd.expired, 3);
  json_decref(j);
  int order[NEV];
  for (int i = 0; i < NEV; i++) { /* insertion sort by ts, stable */
    int k = i;
    while (k > 0 && evs[order[k - 1]].ts > evs[i].ts) {
      order[k] = order[k - 1];
      k--;
    }
    order[k] = i;
  }
  for (int i = 0; i < NEV; i++)
    ccp_engine_process(one, mk(&b, evs[order[i]].type, evs[order[i]].ts, evs[order[i]].ticket));
  T_EQ_INT(ccp_engine_now(one), g);
  ccp_buf_t ref;
  ccp_buf_init(&ref);
  ccp_engine_snapshot_json(one, &ref);
  T_EQ_STR(doc, ref.data);
  ccp_buf_release(&ref);
  ccp_free(doc);
  ccp_engine_free(one);
  ccp_engine_free(part[1]);
  teardown();
}

int main(void) {
  T_RUN(test_no_data_nulls);
  T_RUN(test_frt_at_threshold);
  T_RUN(test_breach_strictly_after_deadline);
  T_RUN(test_breach_by_time_passing);
  T_RUN(test_partition_own_time);
  T_RUN(test_abandon_short_long);
  T_RUN(test_reopen_and_fcr);
  T_RUN(test_transfer_removes_fcr);
  T_RUN(test_invalid_late_duplicate);
  T_RUN(test_dedup_cap_forgets_old_ids);
  T_RUN(test_ttl_forgets_ticket);
  T_RUN(test_today_across_dst);
  T_RUN(test_windows_slide);
  T_RUN(test_percentiles_nearest_rank);
  T_RUN(test_gauges_and_scopes);
  T_RUN(test_customers_and_cost_and_score);
  T_RUN(test_retention);
  T_RUN(test_cap_evicts_oldest);
  T_RUN(test_sla_override_and_new_life);
  T_RUN(test_deterministic_bytes);
  T_RUN(test_zone_must_be_set_first);
  T_RUN(test_batch_equals_single);
  T_RUN(test_hints_off_same_sums);
  T_RUN(test_event_batch_arena);
  T_RUN(test_alert_ids_stable_and_distinct);
  return T_DONE();
}
