/*
 * Tests of the logging facility (src/util/log.c): line formats, level filter
 * (arguments not evaluated when disabled), per-call-site rate limiting with a
 * count of what was suppressed, and the parsers.
 */
#include "ccpulse/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ccp_test.h"
#include "ccpulse/common.h"

static FILE *cap;

/* Starts capturing log lines into a temporary file. */
static void capture(void) {
  cap = tmpfile();
  ccp_log_set_fd(fileno(cap));
  ccp_log_reset();
}

/* Returns what was captured since capture() (static buffer) and stops. */
static const char *captured(void) {
  static char out[16384];
  fflush(cap);
  rewind(cap);
  size_t n = fread(out, 1, sizeof out - 1, cap);
  out[n] = 0;
  fclose(cap);
  cap = NULL;
  ccp_log_set_fd(2);
  return out;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static int side_effects;
static int bump(void) { return ++side_effects; }

static void test_text_line(void) {
  ccp_log_set_format(CCP_LOG_TEXT);
  ccp_log_set_level(CCP_LOG_INFO);
  capture();
  ccp_log(CCP_LOG_WARN, "redis", "cannot connect to '%s': %s", "127.0.0.1:1", "refused");
  const char *s = captured();
  /* 2026-12-02T03:52:09.123Z WARN  redis: ... */
  T_TRUE(strlen(s) > 25);
  T_TRUE(s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[23] == 'Z');
  T_TRUE(strstr(s, " WARN  redis: cannot connect to '127.0.0.1:1': refused\n") != NULL);
  T_EQ_INT(count_lines(s), 1);
}

static void test_json_line(void) {
  ccp_log_set_format(CCP_LOG_JSON);
  capture();
  ccp_log(CCP_LOG_ERROR, "kafka", "bad \"quote\"\nnext\\%d", 7);
  const char *s = captured();
  ccp_log_set_format(CCP_LOG_TEXT);
  T_TRUE(strncmp(s, "{\"ts\":\"", 7) == 0);
  T_TRUE(strstr(s, "\"level\":\"error\",\"component\":\"kafka\","
                   "\"msg\":\"bad \\\"quote\\\"\\nnext\\\\7\"}\n") != NULL);
  T_EQ_INT(count_lines(s), 1);
}

static void test_level_filter(void) {
  ccp_log_set_level(CCP_LOG_WARN);
  capture();
  side_effects = 0;
  ccp_log(CCP_LOG_INFO, "t", "not written %d", bump());
  ccp_log(CCP_LOG_DEBUG, "t", "not written %d", bump());
  ccp_log(CCP_LOG_WARN, "t", "written %d", bump());
  const char *s = captured();
  T_EQ_INT(side_effects, 1); /* disabled lines never evaluate their arguments */
  T_EQ_INT(count_lines(s), 1);
  T_TRUE(strstr(s, "written 1") != NULL);
  ccp_log_set_level(CCP_LOG_INFO);
  T_EQ_INT(ccp_log_get_level(), CCP_LOG_INFO);
}

static void test_rate_limit(void) {
  capture();
  for (int i = 0; i < CCP_LOG_BURST + 7; i++)
    ccp_log(CCP_LOG_WARN, "t", "same site %d", i);
  ccp_log(CCP_LOG_WARN, "t", "another site"); /* its own budget */
  ccp_log_flush();
  const char *s = captured();
  T_EQ_INT(count_lines(s), CCP_LOG_BURST + 2);
  T_TRUE(strstr(s, "same site 4\n") != NULL);
  T_TRUE(strstr(s, "same site 5") == NULL);
  T_TRUE(strstr(s, "another site\n") != NULL);
  T_TRUE(strstr(s, "7 line(s) like \"same site 4\" suppressed") != NULL);
  /* flushed: nothing pending any more */
  capture();
  ccp_log_flush();
  T_EQ_INT(count_lines(captured()), 0);
}

/* A site is its format and level; DEBUG lines are never limited. */
static void test_rate_limit_sites(void) {
  static const char *const fmt = "bridge %d";
  ccp_log_set_level(CCP_LOG_DEBUG);
  capture();
  for (int i = 0; i < CCP_LOG_BURST + 3; i++)
    ccp_log(CCP_LOG_WARN, "t", fmt, i);
  for (int i = 0; i < CCP_LOG_BURST + 3; i++)
    ccp_log(CCP_LOG_ERROR, "t", fmt, i); /* same format, another level: its own budget */
  for (int i = 0; i < 3 * CCP_LOG_BURST; i++)
    ccp_log(CCP_LOG_DEBUG, "t", "detail %d", i);
  ccp_log_flush();
  const char *s = captured();
  ccp_log_set_level(CCP_LOG_INFO);
  /* BURST warn + BURST error + every debug line + 2 flush lines */
  T_EQ_INT(count_lines(s), 2 * CCP_LOG_BURST + 3 * CCP_LOG_BURST + 2);
  T_TRUE(strstr(s, " ERROR t: bridge 4\n") != NULL);
  T_TRUE(strstr(s, " WARN  t: bridge 4\n") != NULL);
  T_TRUE(strstr(s, "detail 14\n") != NULL);
}

/* The fatal path: one unfiltered line whatever the level or the budget. */
static void test_log_line(void) {
  ccp_log_set_level(CCP_LOG_ERROR);
  capture();
  ccp__log_line(CCP_LOG_ERROR, "ccpulse", "fatal: out of memory (x.c:1)");
  ccp__log_line(CCP_LOG_INFO, "ccpulse", "written although below the level");
  const char *s = captured();
  ccp_log_set_level(CCP_LOG_INFO);
  T_EQ_INT(count_lines(s), 2);
  T_TRUE(strstr(s, " ERROR ccpulse: fatal: out of memory (x.c:1)\n") != NULL);
}

/* A line written after a quiet window reports what its site suppressed. */
static void test_suppressed_reported_later(void) {
  capture();
  for (int i = 0; i < CCP_LOG_BURST + 2; i++)
    ccp_log(CCP_LOG_WARN, "t", "again %d", i);
  const char *s = captured();
  T_EQ_INT(count_lines(s), CCP_LOG_BURST);
  T_TRUE(strstr(s, "again 5") == NULL);
  /* the window ends: the next line carries the count */
  ccp__log_test_age(CCP_LOG_WINDOW_MS);
  cap = tmpfile();
  ccp_log_set_fd(fileno(cap));
  ccp_log(CCP_LOG_WARN, "t", "again %d", 99);
  s = captured();
  T_EQ_INT(count_lines(s), 1);
  T_TRUE(strstr(s, " WARN  t: again 99 (2 similar line(s) suppressed)\n") != NULL);
}

static void test_long_message_cut(void) {
  static char big[10000];
  memset(big, 'x', sizeof big - 1);
  capture();
  ccp_log(CCP_LOG_ERROR, "t", "%s", big);
  const char *s = captured();
  T_EQ_INT(count_lines(s), 1);
  T_TRUE(strstr(s, "xxx...\n") != NULL);
}

static void test_parsers(void) {
  ccp_log_level_t lv;
  ccp_log_format_t f;
  T_EQ_INT(ccp_log_level_parse("debug", &lv), 0);
  T_EQ_INT(lv, CCP_LOG_DEBUG);
  T_EQ_INT(ccp_log_level_parse("error", &lv), 0);
  T_EQ_INT(lv, CCP_LOG_ERROR);
  T_EQ_INT(ccp_log_level_parse("verbose", &lv), -CCP_EINVAL);
  T_EQ_INT(ccp_log_format_parse("json", &f), 0);
  T_EQ_INT(f, CCP_LOG_JSON);
  T_EQ_INT(ccp_log_format_parse("xml", &f), -CCP_EINVAL);
  T_EQ_STR(ccp_log_level_name(CCP_LOG_WARN), "warn");
}

int main(void) {
  T_RUN(test_text_line);
  T_RUN(test_json_line);
  T_RUN(test_level_filter);
  T_RUN(test_rate_limit);
  T_RUN(test_rate_limit_sites);
  T_RUN(test_log_line);
  T_RUN(test_suppressed_reported_later);
  T_RUN(test_long_message_cut);
  T_RUN(test_parsers);
  return T_DONE();
}
