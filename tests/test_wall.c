/* labels: redis threads */
/*
 * Tests of the wall's server (src/wall/wall.c) against a redis-server child,
 * read with curl over 127.0.0.1: the page address (ccp_wall_url), the rules
 * and settings JSON, the page's files with their Content-Security-Policy and
 * nosniff headers, 404 and the redirect, and the event stream: tiles of
 * every non-agent scope (names passed through as data), the agents table
 * from the newest snapshot entry, the latest alerts, the status with the
 * settings, a new alert and a new cycle reaching an open stream.
 * The page itself is tested in a browser by t_wall_browser.
 */
#include "ccpulse/wall.h"

#include <jansson.h>

#include "ccpulse/alerts.h"
#include "config_testutil.h"
#include "redis_testutil.h"

static ccp_config_t cfg;
static redisContext *rc;
static char url[128];

static void test_url(void) {
  char b[128];
  T_EQ_STR(ccp_wall_url("127.0.0.1:0", 4242, b, sizeof b), "http://127.0.0.1:4242/wall/");
  T_EQ_STR(ccp_wall_url("0.0.0.0:9464", 9464, b, sizeof b), "http://127.0.0.1:9464/wall/");
  T_EQ_STR(ccp_wall_url(":9464", 9464, b, sizeof b), "http://127.0.0.1:9464/wall/");
  T_EQ_STR(ccp_wall_url("[::]:80", 80, b, sizeof b), "http://[::1]:80/wall/");
  T_EQ_STR(ccp_wall_url("wall.example:8080", 8080, b, sizeof b), "http://wall.example:8080/wall/");
}

static void test_settings_json(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_rules_t *r = ccp_rules_parse("sl: service_level_pct queue:billing 15m < 80 warn, < 70 crit, "
                                   "hysteresis 2; w: waiting all > 20 crit",
                                   &cfg, err, sizeof err);
  T_TRUE(r != NULL);
  if (!r)
    return;
  ccp_buf_t rj, out;
  ccp_buf_init(&rj);
  ccp_buf_init(&out);
  ccp_rules_json(r, &rj);
  const char *wins[] = {"5m", "today"};
  ccp_wall_settings_json(250, wins, 2, rj.data, &out);
  json_t *d = json_loads(out.data, 0, NULL);
  T_TRUE(d != NULL);
  T_EQ_STR(json_string_value(json_object_get(d, "schema")), "ccpulse.wall.v1");
  T_EQ_INT(json_integer_value(json_object_get(d, "publish_interval_ms")), 250);
  T_EQ_STR(json_string_value(json_array_get(json_object_get(d, "windows"), 1)), "today");
  json_t *rules = json_object_get(d, "rules"), *sl = json_array_get(rules, 0),
         *w = json_array_get(rules, 1);
  T_EQ_INT(json_array_size(rules), 2);
  T_EQ_STR(json_string_value(json_object_get(sl, "scope")), "queue:billing");
  T_EQ_STR(json_string_value(json_object_get(sl, "window")), "15m");
  T_EQ_STR(json_string_value(json_object_get(json_object_get(sl, "warning"), "op")), "<");
  T_EQ_DBL(json_number_value(json_object_get(json_object_get(sl, "critical"), "threshold")), 70, 0);
  T_EQ_DBL(json_number_value(json_object_get(sl, "hysteresis")), 2, 0);
  T_TRUE(json_is_null(json_object_get(w, "window")));  /* a gauge */
  T_TRUE(json_is_null(json_object_get(w, "warning"))); /* crit only */
  json_decref(d);
  ccp_buf_release(&rj);
  ccp_buf_release(&out);
  ccp_rules_free(r);
}

/* Runs a shell command and returns its output (at most cap bytes). */
static void run(const char *cmd, char *out, size_t cap) {
  FILE *p = popen(cmd, "r");
  size_t n = p ? fread(out, 1, cap - 1, p) : 0;
  out[n] = 0;
  if (p)
    pclose(p);
}

static int have_curl(void) { return system("command -v curl >/dev/null 2>&1") == 0; }

static void test_files(int hport) {
  char cmd[256], out[8192];
  snprintf(cmd, sizeof cmd, "curl -s -i --max-time 5 http://127.0.0.1:%d/wall/", hport);
  run(cmd, out, sizeof out);
  T_TRUE(strstr(out, "HTTP/1.1 200") != NULL);
  T_TRUE(strstr(out, "Content-Security-Policy: default-src 'self'; script-src 'self'") != NULL);
  T_TRUE(strstr(out, "X-Content-Type-Options: nosniff") != NULL);
  T_TRUE(strstr(out, "<script src=\"wall.js\"") != NULL);
  T_TRUE(strstr(out, "unsafe-inline") == NULL);
  snprintf(cmd, sizeof cmd, "curl -s -i --max-time 5 http://127.0.0.1:%d/wall/wall.js", hport);
  run(cmd, out, sizeof out);
  T_TRUE(strstr(out, "Content-Type: text/javascript") != NULL);
  T_TRUE(strstr(out, "textContent") != NULL);
  snprintf(cmd, sizeof cmd, "curl -s -i --max-time 5 http://127.0.0.1:%d/wall/nope.js", hport);
  run(cmd, out, sizeof out);
  T_TRUE(strstr(out, "HTTP/1.1 404") != NULL);
  snprintf(cmd, sizeof cmd, "curl -s -i --max-time 5 http://127.0.0.1:%d/", hport);
  run(cmd, out, sizeof out);
  T_TRUE(strstr(out, "HTTP/1.1 302") != NULL && strstr(out, "Location: /wall/") != NULL);
}

/* Reads the stream file until it holds needle or 5 s pass; 1 when found. */
static int stream_has(const char *path, const char *needle) {
  char buf[65536];
  for (int i = 0; i < 100; i++) {
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f)
      fclose(f);
    if (strstr(buf, needle))
      return 1;
    ccp_clock_sleep_ms(50);
  }
  fprintf(stderr, "stream lacks %s; it has:\n%.2000s\n", needle, buf);
  return 0;
}

static void test_stream(int hport) {
  char cmd[512], path[] = "/tmp/ccp_test_wall.XXXXXX";
  int fd = mkstemp(path);
  T_TRUE(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof cmd, "curl -s -N --max-time 8 http://127.0.0.1:%d/wall/events > %s &", hport,
           path);
  T_EQ_INT(system(cmd), 0);
  T_TRUE(stream_has(path, "retry: 1000"));
  /* the tiles: every non-agent scope, names as data (escaped JSON) */
  T_TRUE(stream_has(path, "event: tiles\ndata: {\"cycle\":1,\"published_ms\":1000,\"now_ms\":"));
  T_TRUE(stream_has(path, "{\"scope\":\"queue:<b>x</b>\",\"gauges\":null"));
  T_TRUE(stream_has(path, "\"scope\":\"all\",\"gauges\":{\"open\":3,\"waiting\":2"));
  T_TRUE(stream_has(path, "\"15m\":{\"opened\":5,\"service_level_pct\":87.5}"));
  T_TRUE(stream_has(path, "\"today\":{}")); /* a missing tile: no data */
  /* agents by open tickets, from the newest snapshot entry */
  T_TRUE(stream_has(path, "event: agents\ndata: {\"now_ms\":2000,\"total\":2,\"agents\":[{"
                          "\"agent\":\"a2\""));
  /* alerts newest first; the status carries the settings */
  T_TRUE(stream_has(path, "event: alerts\ndata: [{\"id\":\"x2\"},{\"id\":\"x1\"}]"));
  T_TRUE(stream_has(path, "event: status\ndata: {\"redis\":\"ok\",\"error\":null,\"settings\":{"
                          "\"publish_interval_ms\":250}"));
  /* a new alert and a new cycle reach the open stream */
  redisReply *r = redis_cmd(rc, "XADD ccpulse:alerts * json {\"id\":\"x3\"}");
  freeReplyObject(r);
  T_TRUE(stream_has(path, "[{\"id\":\"x3\"},{\"id\":\"x2\"},{\"id\":\"x1\"}]"));
  r = redis_cmd(rc, "HSET ccpulse:v1:meta cycle 2 published_ms 1250");
  freeReplyObject(r);
  T_TRUE(stream_has(path, "data: {\"cycle\":2,\"published_ms\":1250"));
  unlink(path);
}

static void test_wall(void) {
  const char *cmds[] = {
      "FLUSHALL",
      "ZADD ccpulse:v1:scope_set 0 all 1 agent:a1 3 queue:<b>x</b>",
      "SET ccpulse:v1:gauges:all {\"open\":3,\"waiting\":2}",
      "SET ccpulse:v1:kpi:all:15m {\"opened\":5,\"service_level_pct\":87.5}",
      "HSET ccpulse:v1:meta cycle 1 published_ms 1000 now_ms 1000",
      "XADD ccpulse:alerts * json {\"id\":\"x1\"}",
      "XADD ccpulse:alerts * json {\"id\":\"x2\"}",
      "XADD ccpulse:snapshots * json {\"now_ms\":2000,\"scopes\":{\"all\":{},\"agent:a1\":{"
      "\"gauges\":{\"open\":1}},\"agent:a2\":{\"gauges\":{\"open\":4}}}}",
      "SET ccpulse:v1:wall {\"publish_interval_ms\":250}",
  };
  for (size_t i = 0; i < CCP_ARRAY_LEN(cmds); i++) {
    /* split on spaces into at most 8 arguments (no argument holds a space) */
    char buf[512], *argv[8];
    snprintf(buf, sizeof buf, "%s", cmds[i]);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 8; t = strtok(NULL, " "))
      argv[argc++] = t;
    redisReply *r = redisCommandArgv(rc, argc, (const char **)argv, NULL);
    T_TRUE(r && r->type != REDIS_REPLY_ERROR);
    if (r)
      freeReplyObject(r);
  }
  ccp_http_t *h;
  ccp_wall_t *w;
  char err[CCP_ERRBUF_SIZE];
  ccp_wall_opts_t o = {.redis_url = url};
  T_EQ_INT(ccp_wall_serve("127.0.0.1:0", &o, &h, &w, err, sizeof err), 0);
  if (!h)
    return;
  test_files(ccp_http_port(h));
  test_stream(ccp_http_port(h));
  ccp_wall_serve_end(h, w);
}

static void test_bad_url(void) {
  ccp_http_t *h = ccp_http_new();
  char err[CCP_ERRBUF_SIZE];
  ccp_wall_opts_t o = {.redis_url = "http://nope"};
  T_TRUE(ccp_wall_new(h, &o, err, sizeof err) == NULL);
  T_TRUE(strstr(err, "redis://") != NULL);
  ccp_http_free(h);
}

int main(void) {
  tu_default_config(&cfg);
  T_RUN(test_url);
  T_RUN(test_settings_json);
  T_RUN(test_bad_url);
  if (ccp_t_failed)
    return T_DONE();
  if (!have_curl())
    T_SKIP("curl is not installed (bash scripts/setup-deps.sh installs it)");
  rc = redis_child_connect_or_skip(url, sizeof url);
  T_RUN(test_wall);
  redisFree(rc);
  ccp_config_release(&cfg);
  return T_DONE();
}
