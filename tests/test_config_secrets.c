/*
 * Unit tests of the secret handling of src/config/config.c and
 * src/util/log.c (docs/kpis.md §7: no secret in a log line or an error), of
 * the effective configuration (ccp_config_each, ccp_config_describe), and of
 * keys repeated in a config file (an error, except alerts.rules whose lines
 * add up; the example of docs/alerts.md is loaded verbatim).
 */
#include <stdlib.h>
#include <unistd.h>

#include "ccp_test.h"
#include "ccpulse/alerts.h"
#include "ccpulse/config.h"
#include "ccpulse/file.h"
#include "ccpulse/log.h"
#include "config_testutil.h"

#define SECRET "s3cretXYZ"

static char err[CCP_ERRBUF_SIZE];

/* Loads text as a config file into c (initialised); returns the code. */
static int load_text(ccp_config_t *c, const char *text) {
  ccp_config_init(c);
  char *path = tu_write_tmp(text);
  err[0] = '\0';
  int rc = ccp_config_load_file(c, path, err, sizeof err);
  unlink(path);
  return rc;
}

static void test_is_secret_key(void) {
  T_TRUE(ccp_config_is_secret_key("kafka.sasl.password"));
  T_TRUE(ccp_config_is_secret_key("kafka.sasl.username"));
  T_TRUE(ccp_config_is_secret_key("kafka.sasl.mechanism"));
  T_TRUE(ccp_config_is_secret_key("kafka.ssl.key.password"));
  T_TRUE(ccp_config_is_secret_key("kafka.ssl.keystore.password"));
  T_TRUE(ccp_config_is_secret_key("kafka.ssl.ca.location"));
  T_TRUE(ccp_config_is_secret_key("kafka.sasl.oauthbearer.client.secret"));
  T_TRUE(ccp_config_is_secret_key("kafka.my.password.thing"));
  T_TRUE(!ccp_config_is_secret_key("kafka.fetch.wait.max.ms"));
  T_TRUE(!ccp_config_is_secret_key("kafka.security.protocol"));
  T_TRUE(!ccp_config_is_secret_key("kafka.brokers"));
  T_TRUE(!ccp_config_is_secret_key("redis"));         /* shown redacted instead */
  T_TRUE(!ccp_config_is_secret_key("sasl.password")); /* not a config key */
}

static void test_redact_url(void) {
  char out[256];
  T_EQ_STR(ccp_config_redact_url("redis://:" SECRET "@h:6380/2", out, sizeof out),
           "redis://***@h:6380/2");
  T_EQ_STR(ccp_config_redact_url("rediss://user:" SECRET "@h:6380", out, sizeof out),
           "rediss://***@h:6380");
  T_EQ_STR(ccp_config_redact_url("redis://h:6379/0", out, sizeof out), "redis://h:6379/0");
  /* a '/' or '@' inside the password: everything up to the last '@' */
  T_EQ_STR(ccp_config_redact_url("redis://:pa/ss@wo@h", out, sizeof out), "redis://***@h");
  T_EQ_STR(ccp_config_redact_url("u:" SECRET "@h", out, sizeof out), "***@h");
  /* a too small buffer: cut, never past the mask */
  T_EQ_STR(ccp_config_redact_url("redis://:" SECRET "@host", out, 12), "redis://***");
}

/* A value that is too long for `redis`: the error must not quote it. */
static void test_set_errors_hide_values(void) {
  ccp_config_t c;
  ccp_config_init(&c);
  char big[1500];
  snprintf(big, sizeof big, "redis://:%s", SECRET);
  memset(big + strlen(big), 'x', 1200);
  big[1300] = '\0';
  T_TRUE(ccp_config_set(&c, "redis", big, "--set", err, sizeof err) < 0);
  T_TRUE(strstr(err, "config key 'redis'") != NULL);
  T_TRUE(strstr(err, SECRET) == NULL);
  if (strstr(err, SECRET))
    fprintf(stderr, "  message was: %s\n", err);
  ccp_config_release(&c);
  /* a config line without '=' shows only the first word of a kafka. key */
  T_TRUE(load_text(&c, "kafka.sasl.password " SECRET "\n") < 0);
  T_TRUE(strstr(err, "expected 'key = value'") != NULL);
  T_TRUE(strstr(err, SECRET) == NULL);
  ccp_config_release(&c);

  char msg[200];
  snprintf(msg, sizeof msg, "Invalid value \"%s\" for \"ssl.x\"; again %s", SECRET, SECRET);
  ccp_config_mask_value(msg, sizeof msg, SECRET);
  T_EQ_STR(msg, "Invalid value \"***\" for \"ssl.x\"; again ***");
}

typedef struct pairs {
  char keys[128][96];
  char values[128][512];
  int n;
} pairs_t;

static void collect(void *opaque, const char *key, const char *value) {
  pairs_t *p = opaque;
  if (p->n < 128) {
    snprintf(p->keys[p->n], sizeof p->keys[0], "%s", key);
    snprintf(p->values[p->n], sizeof p->values[0], "%s", value);
    p->n++;
  }
}

/* Every shown value set back gives the same configuration; secrets masked. */
static void test_each_round_trip(void) {
  static const char *sets[][2] = {
      {"lateness", "90s"},
      {"windows", "24h:15m,today:1m,hour=60m:1m"},
      {"sla.queue.vip.PHONE", "1m"},
      {"sla.queue.a.b.CHAT", "45s"},
      {"cost.PHONE", "18.5"},
      {"scorecard", "csat_pct>=85:50,frt_avg_ms<=60000:50"},
      {"kafka.fetch.wait.max.ms", "10"},
      {"kafka.sasl.password", SECRET},
      {"kafka.ssl.key.password", SECRET},
      {"redis", "redis://ccp:" SECRET "@127.0.0.1:6380/1"},
      {"schema.registry.7", "/tmp/x.avsc"},
      {"alerts.rules", "a: waiting all > 5 warn\nb: open all > 9 crit"},
      {"checkpoint.interval", "off"},
      {"log.level", "debug"},
      {"log.format", "json"},
  };
  ccp_config_t c, d;
  ccp_config_init(&c);
  for (size_t i = 0; i < CCP_ARRAY_LEN(sets); i++)
    T_EQ_INT(ccp_config_set(&c, sets[i][0], sets[i][1], NULL, err, sizeof err), 0);
  static pairs_t a, b;
  a.n = b.n = 0;
  ccp_config_each(&c, collect, &a);
  int seen_pw = 0, seen_url = 0, seen_fetch = 0;
  for (int i = 0; i < a.n; i++) {
    T_TRUE(strstr(a.values[i], SECRET) == NULL);
    T_TRUE(strcmp(a.values[i], "(not shown)") != 0); /* every setter is known */
    if (strcmp(a.keys[i], "kafka.sasl.password") == 0)
      seen_pw = strcmp(a.values[i], "***") == 0;
    if (strcmp(a.keys[i], "redis") == 0)
      seen_url = strcmp(a.values[i], "redis://***@127.0.0.1:6380/1") == 0;
    if (strcmp(a.keys[i], "kafka.fetch.wait.max.ms") == 0)
      seen_fetch = strcmp(a.values[i], "10") == 0;
  }
  T_TRUE(seen_pw && seen_url && seen_fetch);
  /* set every non-secret value back into a fresh config: the same text */
  ccp_config_init(&d);
  for (int i = 0; i < a.n; i++) {
    if (ccp_config_is_secret_key(a.keys[i]) || strcmp(a.keys[i], "redis") == 0)
      continue;
    T_EQ_INT(ccp_config_set(&d, a.keys[i], a.values[i], NULL, err, sizeof err), 0);
  }
  ccp_config_each(&d, collect, &b);
  int j = 0;
  for (int i = 0; i < a.n; i++) {
    if (ccp_config_is_secret_key(a.keys[i]) || strcmp(a.keys[i], "redis") == 0)
      continue;
    while (j < b.n && strcmp(b.keys[j], a.keys[i]) != 0)
      j++;
    T_TRUE(j < b.n);
    if (j < b.n)
      T_EQ_STR(b.values[j], a.values[i]);
  }
  ccp_buf_t out;
  ccp_buf_init(&out);
  ccp_config_describe(&c, &out);
  T_TRUE(strstr(out.data, SECRET) == NULL);
  T_TRUE(strstr(out.data, " kafka.sasl.password=*** ") != NULL);
  T_TRUE(strstr(out.data, "alerts.rules=\"a: waiting all > 5 warn\\nb: open all > 9 crit\"") !=
         NULL);
  static const char head[] = "lateness=90s timezone=UTC windows=\"24h:15m,today:1m,hour=1h:1m\" ";
  T_TRUE(strncmp(out.data, head, sizeof head - 1) == 0);
  if (strncmp(out.data, head, sizeof head - 1) != 0)
    fprintf(stderr, "  described: %.120s\n", out.data);
  ccp_buf_release(&out);
  ccp_config_release(&c);
  ccp_config_release(&d);
}

/* Lines written to a temporary file instead of stderr. */
static FILE *cap;
static void capture(void) {
  cap = tmpfile();
  ccp_log_set_fd(fileno(cap));
}
static const char *captured(void) {
  static char out[16384];
  fflush(cap);
  rewind(cap);
  size_t n = fread(out, 1, sizeof out - 1, cap);
  out[n] = '\0';
  fclose(cap);
  ccp_log_set_fd(2);
  return out;
}

static void test_log_masks(void) {
  ccp_log_reset();
  ccp_config_t c;
  ccp_config_init(&c);
  T_EQ_INT(ccp_config_set(&c, "redis", "redis://ccp:" SECRET "@h:1", NULL, err, sizeof err), 0);
  T_EQ_INT(ccp_config_set(&c, "kafka.sasl.password", "kPassw0rd", NULL, err, sizeof err), 0);
  T_EQ_INT(ccp_config_set(&c, "kafka.ssl.key.password", "ab", NULL, err, sizeof err), 0);
  ccp_config_protect_log(&c);
  capture();
  ccp_log(CCP_LOG_ERROR, "t", "librdkafka said: bad \"kPassw0rd\" and %s", SECRET);
  ccp_log(CCP_LOG_ERROR, "t", "cannot open 'redis://u:other@host:6379/0' or x://a@b");
  char big[5000];
  memset(big, 'y', sizeof big);
  big[4090] = '\0';
  memcpy(big + 3000, "s3cret", 6); /* a part of a secret is no secret */
  ccp_log(CCP_LOG_ERROR, "t", "%s%s", big, SECRET);
  const char *out = captured();
  T_TRUE(strstr(out, SECRET) == NULL);
  T_TRUE(strstr(out, "kPassw0rd") == NULL);
  T_TRUE(strstr(out, "librdkafka said: bad \"***\" and ***\n") != NULL);
  T_TRUE(strstr(out, "cannot open 'redis://***@host:6379/0' or x://***@b\n") != NULL);
  T_TRUE(strstr(out, "ys3crety") != NULL);
  T_TRUE(strstr(out, "ys3cretXYZ") == NULL);
  char text[64] = "x " SECRET " y";
  T_EQ_INT((int)ccp_log_scrub(text, sizeof text), 7);
  T_EQ_STR(text, "x *** y");
  ccp_log_clear_secrets();
  ccp_config_release(&c);
}

static void test_repeated_keys(void) {
  ccp_config_t c;
  T_TRUE(load_text(&c, "# c\nsla.CHAT = 90s\nlateness = 1m\n\nsla.CHAT = 2m\n") < 0);
  T_TRUE(strstr(err, ":5: config key 'sla.CHAT' is set again (first on line 2)") != NULL);
  if (!strstr(err, ":5: config key 'sla.CHAT' is set again (first on line 2)"))
    fprintf(stderr, "  message was: %s\n", err);
  ccp_config_release(&c);
  T_TRUE(load_text(&c, "kafka.sasl.password = a\nkafka.sasl.password = " SECRET "\n") < 0);
  T_TRUE(strstr(err, "'kafka.sasl.password' is set again (first on line 1)") != NULL);
  T_TRUE(strstr(err, SECRET) == NULL);
  ccp_config_release(&c);
  /* members of a family are different keys */
  T_EQ_INT(load_text(&c, "sla.queue.a.CHAT = 1m\nsla.queue.b.CHAT = 2m\n"), 0);
  T_EQ_INT(c.nsla_overrides, 2);
  ccp_config_release(&c);
  /* alerts.rules lines add up, in order; a later source replaces them */
  T_EQ_INT(load_text(&c, "alerts.rules = a: waiting all > 5 warn\n"
                         "alerts.rules = b: open all > 9 crit   # the second\n"),
           0);
  T_EQ_STR(c.alerts_rules, "a: waiting all > 5 warn\nb: open all > 9 crit");
  T_EQ_INT(ccp_config_set(&c, "alerts.rules", "z: open all > 1 warn", "--set", err, sizeof err), 0);
  T_EQ_STR(c.alerts_rules, "z: open all > 1 warn");
  T_EQ_INT(ccp_config_append(&c, "alerts.rules", "y: open all > 2 warn", "--set", err, sizeof err),
           0);
  T_EQ_STR(c.alerts_rules, "z: open all > 1 warn\ny: open all > 2 warn");
  /* appending to any other key sets it */
  T_EQ_INT(ccp_config_append(&c, "lateness", "7s", "--set", err, sizeof err), 0);
  T_EQ_INT(c.lateness_ms, 7000);
  ccp_config_release(&c);
}

/* The ```ini example under "### Examples" of docs/alerts.md, verbatim. */
static void test_alerts_doc_example(void) {
  size_t len;
  char *doc = ccp_file_read("../docs/alerts.md", &len, err, sizeof err);
  T_TRUE(doc != NULL);
  if (!doc)
    return;
  char *ex = strstr(doc, "### Examples");
  char *start = ex ? strstr(ex, "```ini\n") : NULL;
  char *end = start ? strstr(start + 7, "```") : NULL;
  T_TRUE(start && end);
  if (start && end) {
    *end = '\0';
    ccp_config_t c;
    T_EQ_INT(load_text(&c, start + 7), 0);
    ccp_rules_t *r = ccp_rules_parse(c.alerts_rules, &c, err, sizeof err);
    T_TRUE(r != NULL);
    if (!r)
      fprintf(stderr, "  rules: %s\n", err);
    T_EQ_INT(r ? ccp_rules_count(r) : 0, 4);
    if (r) {
      T_EQ_STR(ccp_rules_name(r, 0), "sl_billing");
      T_EQ_STR(ccp_rules_name(r, 3), "abandon");
    }
    ccp_rules_free(r);
    ccp_config_release(&c);
  }
  ccp_free(doc);
}

int main(void) {
  T_RUN(test_is_secret_key);
  T_RUN(test_redact_url);
  T_RUN(test_set_errors_hide_values);
  T_RUN(test_each_round_trip);
  T_RUN(test_log_masks);
  T_RUN(test_repeated_keys);
  T_RUN(test_alerts_doc_example);
  return T_DONE();
}
