/*
 * Threshold rules (src/alerts/rules.c) and alert JSON (src/alerts/alert_json.c):
 * parse errors name the rule and the problem; warn -> crit -> hysteresis ->
 * resolved; nulls and absent scopes; SLA alert ids.
 */
#include <jansson.h>

#include "ccp_test.h"
#include "ccpulse/alerts.h"
#include "config_testutil.h"

static ccp_config_t cfg;

/* Values served to the rules: one scope, one KPI value, or "absent". */
typedef struct fake {
  const char *scope; /* the only scope with data */
  double value;      /* value of every KPI in it */
} fake_t;

static int fake_lookup(void *opaque, const char *scope, int window, const char *kpi, double *out) {
  fake_t *f = opaque;
  if (!f->scope || strcmp(scope, f->scope) != 0)
    return -1;
  *out = f->value;
  return 0;
}

static void expect_error(const char *text, const char *needle) {
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_rules_t *r = ccp_rules_parse(text, &cfg, err, sizeof err);
  T_TRUE(r == NULL);
  if (!strstr(err, needle))
    T_FAIL_("error for \"%s\": got \"%s\", expected \"%s\"", text, err, needle);
  ccp_rules_free(r);
}

static void test_parse_errors(void) {
  expect_error("sl: service_level_pct queue:billing 10m < 80 warn",
               "alert rule 'sl': unknown window '10m'");
  expect_error("sl: service_level_pct queue:billing < 80 warn",
               "alert rule 'sl': KPI 'service_level_pct' needs a window");
  expect_error("sl: bogus queue:billing 15m < 80 warn", "alert rule 'sl': unknown KPI 'bogus'");
  expect_error("sl: csat_pct team:x 15m < 80 warn", "alert rule 'sl': invalid scope 'team:x'");
  expect_error("sl: csat_pct channel:FAX 15m < 80 warn", "unknown channel in scope 'channel:FAX'");
  expect_error("w: waiting all 5m > 3 warn", "alert rule 'w': gauge 'waiting' takes no window");
  expect_error("sl: csat_pct all 15m", "alert rule 'sl': missing condition");
  expect_error("sl: csat_pct all 15m < eighty warn", "expected a number after '<'");
  expect_error("sl: csat_pct all 15m < 80", "expected a level (warn or crit)");
  expect_error("sl: csat_pct all 15m < 80 warn, < 70 warn", "level 'warning' given twice");
  expect_error("sl: csat_pct all 15m < 70 warn, < 80 crit",
               "crit threshold 80 must be at or below the warn threshold 70");
  expect_error("sl: csat_pct all 15m < 80 warn, > 90 crit", "must both use");
  expect_error("sl: csat_pct all 15m < 80 warn, hysteresis -1", "hysteresis needs a number >= 0");
  expect_error("sl: csat_pct all 15m < 80 warn\nsl: nps all 1h < 0 crit",
               "alert rule 'sl': duplicate rule name");
  expect_error("csat_pct all 15m < 80 warn", "expected 'NAME: KPI SCOPE");
  expect_error("bad name: csat_pct all 15m < 80 warn", "invalid rule name");
  expect_error("sl: csat_pct all 15m < 80 warn 3", "unexpected '3' (expected ',')");
  expect_error("sl: hysteresis 2", "unknown KPI 'hysteresis'");
  /* the scope is copied into alert JSON: text only (a 0xFF byte, an overlong
   * '/', a surrogate), while any valid UTF-8 is fine */
  expect_error("sl: waiting queue:b\xff > 3 warn", "alert rule 'sl': scope is not valid UTF-8");
  expect_error("sl: waiting queue:\xc0\xaf > 3 warn", "scope is not valid UTF-8");
  expect_error("sl: waiting agent:\xed\xa0\x80 > 3 warn", "scope is not valid UTF-8");
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_rules_t *r = ccp_rules_parse("sl: waiting queue:caf\xc3\xa9\xf0\x9f\x93\x9e > 3 warn", &cfg,
                                   err, sizeof err);
  T_TRUE(r != NULL);
  ccp_rules_free(r);
}

static void test_parse_ok(void) {
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_rules_t *r = ccp_rules_parse(
      "# service level of billing\n"
      "sl_billing: service_level_pct queue:billing 15m < 80 warn, < 70 crit, hysteresis 2;"
      " waiting_all: waiting all >= 20 warn  # a comment\n"
      "\n  ;  \n"
      "breaches: sla_breaches channel:CHAT today >5 crit,hysteresis 1\n",
      &cfg, err, sizeof err);
  T_TRUE(r != NULL);
  if (!r) {
    fprintf(stderr, "%s\n", err);
    return;
  }
  T_EQ_INT(ccp_rules_count(r), 3);
  T_EQ_STR(ccp_rules_name(r, 0), "sl_billing");
  T_EQ_STR(ccp_rules_name(r, 1), "waiting_all");
  T_EQ_STR(ccp_rules_name(r, 2), "breaches");
  ccp_rules_free(r);

  r = ccp_rules_parse("", &cfg, err, sizeof err);
  T_TRUE(r != NULL);
  T_EQ_INT(ccp_rules_count(r), 0);
  ccp_rules_free(r);
}

/* Evaluates at value v; returns the alerts appended (buffer cleared first). */
static int step(ccp_rules_t *r, fake_t *f, double v, int64_t now, ccp_buf_t *out) {
  f->value = v;
  ccp_buf_clear(out);
  return ccp_rules_eval_with(r, now, fake_lookup, f, out);
}

static json_t *parse_line(const ccp_buf_t *b) {
  json_error_t je;
  T_TRUE(b->len > 0 && b->data[b->len - 1] == '\n');
  json_t *j = json_loadb(b->data, b->len, 0, &je);
  if (!j)
    T_FAIL_("bad alert JSON: %s: %.*s", je.text, (int)b->len, b->data);
  return j;
}

#define T_JSTR(j, key, want) T_EQ_STR(json_string_value(json_object_get(j, key)), want)

static void test_sequence(void) {
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_rules_t *r = ccp_rules_parse(
      "sl_billing: service_level_pct queue:billing 15m < 80 warn, < 70 crit, hysteresis 2", &cfg,
      err, sizeof err);
  T_TRUE(r != NULL);
  if (!r)
    return;
  fake_t f = {"queue:billing", 0};
  ccp_buf_t out;
  ccp_buf_init(&out);

  T_EQ_INT(step(r, &f, 85, 1000, &out), 0);
  T_EQ_INT(ccp_rules_level(r, 0), CCP_RULE_OK);

  T_EQ_INT(step(r, &f, 79, 2000, &out), 1); /* enter warning */
  json_t *j = parse_line(&out);
  T_JSTR(j, "id", "sl_billing:warning:2000");
  T_JSTR(j, "type", "threshold");
  T_JSTR(j, "rule", "sl_billing");
  T_JSTR(j, "level", "warning");
  T_JSTR(j, "previous", "ok");
  T_JSTR(j, "kpi", "service_level_pct");
  T_JSTR(j, "scope", "queue:billing");
  T_JSTR(j, "window", "15m");
  T_JSTR(j, "op", "<");
  T_EQ_DBL(json_number_value(json_object_get(j, "value")), 79, 0);
  T_EQ_DBL(json_number_value(json_object_get(j, "threshold")), 80, 0);
  T_EQ_INT(json_integer_value(json_object_get(j, "now_ms")), 2000);
  json_decref(j);

  T_EQ_INT(step(r, &f, 75, 3000, &out), 0); /* still warning: no repeat */

  T_EQ_INT(step(r, &f, 69.5, 4000, &out), 1); /* escalate to critical */
  j = parse_line(&out);
  T_JSTR(j, "id", "sl_billing:critical:4000");
  T_JSTR(j, "level", "critical");
  T_JSTR(j, "previous", "warning");
  T_EQ_DBL(json_number_value(json_object_get(j, "threshold")), 70, 0);
  json_decref(j);

  /* null: no data changes nothing */
  T_EQ_INT(step(r, &f, NAN, 5000, &out), 0);
  T_EQ_INT(ccp_rules_level(r, 0), CCP_RULE_CRITICAL);

  /* 71 is above 70 but within the hysteresis of 2: stays critical */
  T_EQ_INT(step(r, &f, 71, 6000, &out), 0);
  T_EQ_INT(ccp_rules_level(r, 0), CCP_RULE_CRITICAL);
  T_EQ_INT(step(r, &f, 71.99, 6500, &out), 0);

  /* 72 is past 70 + 2: downgrade to warning (79 < 80) */
  T_EQ_INT(step(r, &f, 72, 7000, &out), 1);
  j = parse_line(&out);
  T_JSTR(j, "type", "threshold");
  T_JSTR(j, "level", "warning");
  T_JSTR(j, "previous", "critical");
  json_decref(j);

  /* 81 is above 80 but within hysteresis: stays warning */
  T_EQ_INT(step(r, &f, 81, 8000, &out), 0);
  T_EQ_INT(ccp_rules_level(r, 0), CCP_RULE_WARNING);

  /* 82: cleared */
  T_EQ_INT(step(r, &f, 82, 9000, &out), 1);
  j = parse_line(&out);
  T_JSTR(j, "id", "sl_billing:resolved:9000");
  T_JSTR(j, "type", "threshold_resolved");
  T_JSTR(j, "level", "ok");
  T_JSTR(j, "previous", "warning");
  T_EQ_DBL(json_number_value(json_object_get(j, "threshold")), 80, 0);
  json_decref(j);
  T_EQ_INT(ccp_rules_level(r, 0), CCP_RULE_OK);

  /* straight to critical from ok, then straight to resolved */
  T_EQ_INT(step(r, &f, 10, 10000, &out), 1);
  T_EQ_INT(ccp_rules_level(r, 0), CCP_RULE_CRITICAL);
  T_EQ_INT(step(r, &f, 100, 11000, &out), 1);
  j = parse_line(&out);
  T_JSTR(j, "type", "threshold_resolved");
  T_JSTR(j, "previous", "critical");
  json_decref(j);

  /* absent scope: service_level_pct is null there, state stands */
  T_EQ_INT(step(r, &f, 10, 12000, &out), 1);
  f.scope = NULL;
  T_EQ_INT(step(r, &f, 0, 13000, &out), 0);
  T_EQ_INT(ccp_rules_level(r, 0), CCP_RULE_CRITICAL);

  /* two changes at the same stream time get distinct ids */
  f.scope = "queue:billing";
  T_EQ_INT(step(r, &f, 100, 14000, &out), 1);
  T_EQ_INT(step(r, &f, 10, 14000, &out), 1);
  j = parse_line(&out);
  T_JSTR(j, "id", "sl_billing:critical:14000:1");
  json_decref(j);

  ccp_buf_release(&out);
  ccp_rules_free(r);
}

static void test_gauge_absent_is_zero(void) {
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_rules_t *r =
      ccp_rules_parse("w: waiting queue:tech > 10 warn, > 20 crit", &cfg, err, sizeof err);
  T_TRUE(r != NULL);
  if (!r)
    return;
  fake_t f = {"queue:tech", 25};
  ccp_buf_t out;
  ccp_buf_init(&out);
  T_EQ_INT(step(r, &f, 25, 1000, &out), 1);
  json_t *j = parse_line(&out);
  T_TRUE(json_is_null(json_object_get(j, "window")));
  T_JSTR(j, "op", ">");
  json_decref(j);
  /* the queue has nobody waiting any more and left the view: resolved */
  f.scope = NULL;
  T_EQ_INT(step(r, &f, 0, 2000, &out), 1);
  j = parse_line(&out);
  T_JSTR(j, "type", "threshold_resolved");
  T_EQ_DBL(json_number_value(json_object_get(j, "value")), 0, 0);
  json_decref(j);
  ccp_buf_release(&out);
  ccp_rules_free(r);
}

static ccp_str_t S(const char *s) {
  ccp_str_t v = {s, s ? strlen(s) : 0};
  return v;
}

static void send_event(ccp_engine_t *e, int type, int64_t ts, const char *id, const char *ticket) {
  ccp_event_t ev;
  ccp_event_clear(&ev);
  ev.event_id = S(id);
  ev.ticket_id = S(ticket);
  ev.type = (uint8_t)type;
  ev.ts = ts;
  ev.channel = CCP_CH_CHAT;
  ev.queue = S("tech");
  ev.customer_id = S("c1");
  if (type == CCP_EV_AGENT_REPLY)
    ev.agent_id = S("a-1");
  T_EQ_INT(ccp_engine_process(e, &ev), CCP_ACCEPTED);
}

/* The same rules against real views of an engine. */
static void test_eval_view(void) {
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_rules_t *r = ccp_rules_parse("w: waiting queue:tech >= 2 warn; "
                                   "sl: service_level_pct all 15m < 80 crit",
                                   &cfg, err, sizeof err);
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  T_TRUE(r && e);
  if (!r || !e)
    return;
  ccp_buf_t out;
  ccp_buf_init(&out);
  const int64_t t0 = 1795000000000LL;

  ccp_view_t *v = ccp_view_new(&cfg); /* empty: nothing judged */
  T_EQ_INT(ccp_rules_eval(r, v, &out), 0);
  ccp_view_free(v);

  send_event(e, CCP_EV_OPENED, t0, "e1", "t1");
  send_event(e, CCP_EV_OPENED, t0 + 1000, "e2", "t2");
  v = tu_view_of(&cfg, e, t0 + 2000);
  T_EQ_INT(ccp_rules_eval(r, v, &out), 1); /* 2 waiting; no FRT yet: sl null */
  T_TRUE(strstr(out.data, "\"id\":\"w:warning:1795000002000\"") != NULL);
  T_EQ_INT(ccp_rules_level(r, 1), CCP_RULE_OK);
  ccp_view_free(v);

  /* t1 replied after 5 min (CHAT SLA 2 min): SL 0 %; one left waiting */
  ccp_buf_clear(&out);
  send_event(e, CCP_EV_AGENT_REPLY, t0 + 5 * 60000, "e3", "t1");
  v = tu_view_of(&cfg, e, t0 + 5 * 60000);
  T_EQ_INT(ccp_rules_eval(r, v, &out), 2);
  T_TRUE(strstr(out.data, "\"type\":\"threshold_resolved\",\"rule\":\"w\"") != NULL);
  T_TRUE(strstr(out.data, "\"rule\":\"sl\",\"level\":\"critical\"") != NULL);
  T_EQ_INT(ccp_rules_level(r, 0), CCP_RULE_OK);
  T_EQ_INT(ccp_rules_level(r, 1), CCP_RULE_CRITICAL);
  ccp_view_free(v);

  ccp_buf_release(&out);
  ccp_engine_free(e);
  ccp_rules_free(r);
}

static void on_line(void *opaque, const char *line, size_t len) {
  ccp_buf_t *b = opaque;
  ccp_buf_append(b, line, len);
  ccp_buf_putc(b, '|');
}

static void test_sla_alert_json(void) {
  ccp_alert_t a = {.kind = CCP_ALERT_SLA_BREACH,
                   .at_ms = 1795347250000,
                   .now_ms = 1795347300000,
                   .opened_ms = 1795347010000,
                   .threshold_ms = 240000,
                   .ticket_id = "t\"2",
                   .queue = "tech",
                   .agent_id = NULL,
                   .channel = CCP_CH_PHONE};
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_alert_json(&a, &b);
  T_EQ_STR(b.data, "{\"id\":\"sla_breach:t\\\"2:1795347010000:1795347250000\","
                   "\"type\":\"sla_breach\","
                   "\"ticket_id\":\"t\\\"2\",\"queue\":\"tech\",\"channel\":\"PHONE\","
                   "\"agent_id\":null,\"at_ms\":1795347250000,\"now_ms\":1795347300000,"
                   "\"opened_ms\":1795347010000,\"threshold_ms\":240000}");
  ccp_buf_clear(&b);
  a.kind = CCP_ALERT_SLA_AT_RISK;
  a.agent_id = "a-1";
  ccp_alert_json(&a, &b);
  T_TRUE(strncmp(b.data, "{\"id\":\"sla_at_risk:", 19) == 0);
  T_TRUE(strstr(b.data, "\"agent_id\":\"a-1\"") != NULL);

  ccp_buf_t lines, seen;
  ccp_buf_init(&lines);
  ccp_buf_init(&seen);
  ccp_buf_puts(&lines, "a\n\nbc\nd");
  T_EQ_INT(ccp_alert_lines_each(&lines, on_line, &seen), 3);
  T_EQ_STR(seen.data, "a|bc|d|");
  ccp_buf_release(&lines);
  ccp_buf_release(&seen);
  ccp_buf_release(&b);
}

int main(void) {
  tu_default_config(&cfg);
  T_RUN(test_parse_errors);
  T_RUN(test_parse_ok);
  T_RUN(test_sequence);
  T_RUN(test_gauge_absent_is_zero);
  T_RUN(test_sla_alert_json);
  T_RUN(test_eval_view);
  ccp_config_release(&cfg);
  return T_DONE();
}
