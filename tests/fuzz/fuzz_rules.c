/*
 * Fuzz target: the alert-rule parser (src/alerts/rules.c) on the text of
 * `alerts.rules`, with the default windows; an accepted rule set is then
 * evaluated over a few cycles with values taken from the input, so that
 * every rule changes level and writes its alert JSON.
 *
 * Checked besides memory safety: a refusal comes with a message naming an
 * alert rule; every alert line is one valid JSON object (what the alerts
 * stream and its readers receive).
 */
#include <jansson.h>
#include <math.h>

#include "ccpulse/alerts.h"
#include "fuzz.h"

typedef struct feed {
  const uint8_t *data;
  size_t size, pos;
} feed_t;

/* A value per lookup from the input bytes, sweeping wide and small values. */
static int lookup(void *opaque, const char *scope, int window, const char *kpi, double *out) {
  feed_t *f = opaque;
  uint8_t b = f->size ? f->data[f->pos++ % f->size] : 0;
  if (b == 0xFF)
    return -1; /* scope without data */
  static const double scale[] = {1, 0.01, 100, 1e6};
  *out = b == 0xFE ? NAN : (double)(b % 64) * scale[(b >> 6) & 3] - 5;
  return 0;
}

static void check_line(void *opaque, const char *line, size_t len) {
  json_error_t jerr;
  json_t *doc = json_loadb(line, len, 0, &jerr);
  if (!doc)
    fprintf(stderr, "fuzz: alert line is not JSON (%s): %.*s\n", jerr.text, (int)len, line);
  FZ_CHECK(doc != NULL && json_is_object(doc));
  FZ_CHECK(json_is_string(json_object_get(doc, "id")));
  json_decref(doc);
  (*(int *)opaque)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static ccp_config_t cfg;
  static int ready;
  char err[CCP_ERRBUF_SIZE] = "";
  if (!ready) {
    ccp_config_init(&cfg);
    FZ_CHECK(ccp_config_finish(&cfg, err, sizeof err) == 0);
    ready = 1;
  }
  char *text = malloc(size + 1);
  FZ_CHECK(text != NULL);
  memcpy(text, data, size);
  text[size] = 0;
  ccp_rules_t *rs = ccp_rules_parse(text, &cfg, err, sizeof err);
  if (!rs) {
    FZ_CHECK(strncmp(err, "alert rule '", 12) == 0);
    free(text);
    return 0;
  }
  feed_t f = {data, size, 0};
  ccp_buf_t out;
  ccp_buf_init(&out);
  for (int cycle = 0; cycle < 4; cycle++) {
    out.len = 0;
    int n = ccp_rules_eval_with(rs, 1795347112234LL + cycle * 1000, lookup, &f, &out);
    int lines = 0;
    ccp_alert_lines_each(&out, check_line, &lines);
    FZ_CHECK(lines == n);
  }
  for (int i = 0; i < ccp_rules_count(rs); i++)
    FZ_CHECK(ccp_rules_level(rs, i) >= CCP_RULE_OK && ccp_rules_level(rs, i) <= CCP_RULE_CRITICAL);
  ccp_buf_release(&out);
  ccp_rules_free(rs);
  free(text);
  return 0;
}
