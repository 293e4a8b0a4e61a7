/*
 * Tests of src/decode/jsonl.c: good lines, absent and null optional fields,
 * unknown fields, blank lines and CRLF, every error message form with its
 * line number, and the writer round trip.
 */
#include <stdio.h>

#include "ccp_test.h"
#include "ccpulse/decode.h"

#define GOOD                                                                                       \
  "{\"event_id\":\"e1\",\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":1000,"                     \
  "\"channel\":\"CHAT\",\"queue\":\"billing\",\"customer_id\":\"c1\""

static ccp_jsonl_reader_t *R;

/* Decodes one line; returns the code, msg gets the reason. */
static int dec(const char *line, ccp_event_t *ev, char *msg) {
  msg[0] = 0;
  return ccp_jsonl_reader_decode_line(R, line, strlen(line), ev, msg, CCP_ERRBUF_SIZE);
}

static int view_is(ccp_str_t v, const char *s) {
  return v.ptr && v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

static void test_good_lines(void) {
  ccp_event_t ev;
  char msg[CCP_ERRBUF_SIZE];
  T_EQ_INT(dec(GOOD "}", &ev, msg), 0);
  T_TRUE(view_is(ev.event_id, "e1"));
  T_TRUE(view_is(ev.ticket_id, "t1"));
  T_EQ_INT(ev.type, CCP_EV_OPENED);
  T_EQ_INT(ev.ts, 1000);
  T_EQ_INT(ev.channel, CCP_CH_CHAT);
  T_TRUE(view_is(ev.queue, "billing"));
  T_TRUE(view_is(ev.customer_id, "c1"));
  /* absent optionals are null */
  T_TRUE(ev.agent_id.ptr == NULL && ev.category.ptr == NULL);
  T_EQ_INT(ev.talk_ms, CCP_NULL_I64);
  T_EQ_INT(ev.hold_ms, CCP_NULL_I64);
  T_EQ_INT(ev.acw_ms, CCP_NULL_I64);
  T_EQ_INT(ev.csat, CCP_NULL_I32);
  T_EQ_INT(ev.nps, CCP_NULL_I32);
  T_EQ_INT(ev.ces, CCP_NULL_I32);
  T_EQ_INT(ev.qa_errors, CCP_NULL_I32);

  /* explicit nulls, every optional set, unknown fields (a v2 producer) */
  T_EQ_INT(dec(GOOD ",\"agent_id\":null,\"csat\":null,\"language\":\"id\",\"x\":[1,{}]}", &ev, msg),
           0);
  T_TRUE(ev.agent_id.ptr == NULL);
  T_EQ_INT(ev.csat, CCP_NULL_I32);
  T_EQ_INT(dec(GOOD ",\"agent_id\":\"a-17\",\"talk_ms\":120000,\"hold_ms\":0,\"acw_ms\":30000,"
                    "\"csat\":5,\"nps\":0,\"ces\":7,\"category\":\"complaint\",\"qa_errors\":2}",
               &ev, msg),
           0);
  T_TRUE(view_is(ev.agent_id, "a-17"));
  T_EQ_INT(ev.talk_ms, 120000);
  T_EQ_INT(ev.hold_ms, 0);
  T_EQ_INT(ev.acw_ms, 30000);
  T_EQ_INT(ev.csat, 5);
  T_EQ_INT(ev.nps, 0);
  T_EQ_INT(ev.ces, 7);
  T_TRUE(view_is(ev.category, "complaint"));
  T_EQ_INT(ev.qa_errors, 2);
  /* out-of-range values are the engine's business (invalid_events), not ours */
  T_EQ_INT(dec(GOOD ",\"csat\":9,\"talk_ms\":-5}", &ev, msg), 0);
  T_EQ_INT(ev.csat, 9);
  T_EQ_INT(ev.talk_ms, -5);
  /* empty strings and unicode */
  T_EQ_INT(dec("{\"event_id\":\"\",\"ticket_id\":\"t\\u00e9\",\"type\":\"SURVEY\",\"ts\":-1,"
               "\"channel\":\"SOCIAL\",\"queue\":\"q\",\"customer_id\":\"c\"}",
               &ev, msg),
           0);
  T_TRUE(ev.event_id.ptr != NULL && ev.event_id.len == 0);
  T_TRUE(view_is(ev.ticket_id, "t\xc3\xa9"));
  T_EQ_INT(ev.ts, -1);
  /* a blank line is not an event */
  T_EQ_INT(dec("  \t", &ev, msg), -CCP_EEOF);
}

static void expect_err(const char *line, const char *want) {
  ccp_event_t ev;
  char msg[CCP_ERRBUF_SIZE];
  int rc = dec(line, &ev, msg);
  T_EQ_INT(rc, -CCP_EPARSE);
  if (!strstr(msg, want))
    T_FAIL_("line %s: error \"%s\" lacks \"%s\"", line, msg, want);
}

static void test_error_forms(void) {
  expect_err("{\"event_id\":", "invalid JSON at column");
  expect_err("not json", "invalid JSON at column ");
  expect_err(GOOD ",\"ts\":5}", "invalid JSON"); /* duplicate key */
  expect_err("[1,2]", "expected a JSON object, got an array");
  expect_err("17", "expected a JSON object, got an integer");
  expect_err("{\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":1,\"channel\":\"CHAT\","
             "\"queue\":\"q\",\"customer_id\":\"c\"}",
             "missing required field 'event_id'");
  expect_err("{\"event_id\":\"e\",\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":1,"
             "\"channel\":\"CHAT\",\"customer_id\":\"c\"}",
             "missing required field 'queue'");
  expect_err("{\"event_id\":null,\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":1,"
             "\"channel\":\"CHAT\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "field 'event_id': null but required");
  expect_err("{\"event_id\":7,\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":1,"
             "\"channel\":\"CHAT\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "field 'event_id': expected string, got an integer");
  expect_err(GOOD ",\"agent_id\":true}",
             "field 'agent_id': expected string or null, got a boolean");
  expect_err(GOOD ",\"category\":{}}", "field 'category': expected string or null, got an object");
  expect_err("{\"event_id\":\"e\",\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":1.5,"
             "\"channel\":\"CHAT\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "field 'ts': expected integer, got a number with a fraction or exponent");
  expect_err("{\"event_id\":\"e\",\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":\"1\","
             "\"channel\":\"CHAT\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "field 'ts': expected integer, got a string");
  expect_err(GOOD ",\"talk_ms\":\"5\"}", "field 'talk_ms': expected integer or null, got a string");
  expect_err(GOOD ",\"csat\":\"5\"}", "field 'csat': expected integer or null, got a string");
  expect_err(GOOD ",\"csat\":4.0}", "field 'csat': expected integer or null");
  expect_err(GOOD ",\"nps\":3000000000}", "field 'nps': 3000000000 out of int range");
  expect_err(GOOD ",\"qa_errors\":-2147483648}", "field 'qa_errors': -2147483648 out of int range");
  expect_err(GOOD ",\"hold_ms\":-9223372036854775808}",
             "field 'hold_ms': -9223372036854775808 out of range");
  expect_err("{\"event_id\":\"e\",\"ticket_id\":\"t1\",\"type\":\"ESCALATED\",\"ts\":1,"
             "\"channel\":\"CHAT\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "unknown type symbol 'ESCALATED'");
  expect_err("{\"event_id\":\"e\",\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":1,"
             "\"channel\":\"FAX\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "unknown channel symbol 'FAX'");
  expect_err("{\"event_id\":\"e\",\"ticket_id\":\"t1\",\"type\":\"opened\",\"ts\":1,"
             "\"channel\":\"CHAT\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "unknown type symbol 'opened'"); /* symbols are case-sensitive */
  expect_err("{\"event_id\":\"e\",\"ticket_id\":\"t1\",\"type\":1,\"ts\":1,"
             "\"channel\":\"CHAT\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "field 'type': expected a type symbol string, got an integer");
  expect_err("{\"event_id\":\"e\\u0000x\",\"ticket_id\":\"t1\",\"type\":\"OPENED\",\"ts\":1,"
             "\"channel\":\"CHAT\",\"queue\":\"q\",\"customer_id\":\"c\"}",
             "invalid JSON"); /* NUL inside a string */
}

/* The stream reader: line numbers count blank lines, CRLF accepted, the
 * message is "name:LINE: reason". */
static void test_stream(void) {
  const char *text =
      GOOD "}\n"
           "\n"
           "   \r\n" GOOD ",\"type\":\"RESOLVED\"}\r\n" GOOD "}" /* last line without \n */
           "\n" GOOD ",\"csat\":\"x\"}\n" GOOD "}\n";
  FILE *f = fmemopen((void *)text, strlen(text), "r");
  ccp_jsonl_reader_t *r = ccp_jsonl_reader_new(f, "events.jsonl");
  ccp_event_t ev;
  char err[CCP_ERRBUF_SIZE] = "";
  T_EQ_INT(ccp_jsonl_reader_next(r, &ev, err, sizeof err), 0);
  T_EQ_INT(ccp_jsonl_reader_line(r), 1);
  /* duplicate key "type" on line 4 */
  T_EQ_INT(ccp_jsonl_reader_next(r, &ev, err, sizeof err), -CCP_EPARSE);
  T_TRUE(strncmp(err, "events.jsonl:4: invalid JSON", 28) == 0);
  T_EQ_INT(ccp_jsonl_reader_next(r, &ev, err, sizeof err), 0);
  T_EQ_INT(ccp_jsonl_reader_line(r), 5);
  T_EQ_INT(ccp_jsonl_reader_next(r, &ev, err, sizeof err), -CCP_EPARSE);
  T_EQ_STR(err, "events.jsonl:6: field 'csat': expected integer or null, got a string");
  T_EQ_INT(ccp_jsonl_reader_next(r, &ev, err, sizeof err), 0);
  T_EQ_INT(ccp_jsonl_reader_line(r), 7);
  T_EQ_INT(ccp_jsonl_reader_next(r, &ev, err, sizeof err), -CCP_EEOF);
  ccp_jsonl_reader_free(r);
  fclose(f);

  /* CRLF line decodes */
  const char *crlf = GOOD "}\r\n";
  f = fmemopen((void *)crlf, strlen(crlf), "r");
  r = ccp_jsonl_reader_new(f, "crlf.jsonl");
  T_EQ_INT(ccp_jsonl_reader_next(r, &ev, err, sizeof err), 0);
  T_TRUE(view_is(ev.customer_id, "c1"));
  ccp_jsonl_reader_free(r);
  fclose(f);
}

/* Writer -> reader round trip. */
static void test_write_roundtrip(void) {
  ccp_event_t ev, out;
  ccp_event_clear(&ev);
  ev.event_id = (ccp_str_t){"e\"1\n", 4};
  ev.ticket_id = (ccp_str_t){"t", 1};
  ev.type = CCP_EV_HANDLED;
  ev.ts = 1795347112234LL;
  ev.channel = CCP_CH_PHONE;
  ev.queue = (ccp_str_t){"", 0};
  ev.customer_id = (ccp_str_t){"c", 1};
  ev.agent_id = (ccp_str_t){"a", 1};
  ev.talk_ms = 1;
  ev.acw_ms = INT64_MAX;
  ev.csat = -3;
  ev.qa_errors = 0;
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_jsonl_write(&ev, &b);
  char msg[CCP_ERRBUF_SIZE];
  T_EQ_INT(ccp_jsonl_reader_decode_line(R, b.data, b.len, &out, msg, sizeof msg), 0);
  T_TRUE(out.event_id.len == 4 && memcmp(out.event_id.ptr, "e\"1\n", 4) == 0);
  T_EQ_INT(out.type, CCP_EV_HANDLED);
  T_EQ_INT(out.ts, ev.ts);
  T_TRUE(out.queue.ptr && out.queue.len == 0);
  T_TRUE(view_is(out.agent_id, "a"));
  T_EQ_INT(out.talk_ms, 1);
  T_EQ_INT(out.hold_ms, CCP_NULL_I64);
  T_EQ_INT(out.acw_ms, INT64_MAX);
  T_EQ_INT(out.csat, -3);
  T_EQ_INT(out.nps, CCP_NULL_I32);
  T_EQ_INT(out.qa_errors, 0);
  T_TRUE(out.category.ptr == NULL);
  ccp_buf_release(&b);
}

int main(void) {
  R = ccp_jsonl_reader_new(NULL, "t");
  T_RUN(test_good_lines);
  T_RUN(test_error_forms);
  T_RUN(test_stream);
  T_RUN(test_write_roundtrip);
  ccp_jsonl_reader_free(R);
  return T_DONE();
}
