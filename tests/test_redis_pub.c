/* labels: redis */
/*
 * The Redis publisher (src/publish/redis_pub.c) against a real redis-server
 * that this test starts on a free loopback port (and always stops: it is our
 * child, killed at exit and, through PR_SET_PDEATHSIG, when we die).
 *
 * Covers: tiles readable with one GET, gauges, scope list, meta; the snapshot
 * stream entry (field json); gauges whose only change is longest_wait_ms
 * rewritten after publish.wait_refresh, exact waiting_since_ms; scope
 * documents and the scope list only in slow cycles (snapshot interval,
 * final); the snapshot stream paced by its bytes and capped to a byte budget; the per-kind
 * counters; alerts on pub/sub and on the stream; one MULTI/EXEC per cycle (MONITOR); tiles of
 * vanished scopes deleted (also by a fresh publisher); the scope set written
 * whole at connect, then by its changes, and an earlier version's list read
 * and deleted; Redis killed -> fast failures, alerts
 * queued; restarted on the same port -> delivered exactly once; bounded queue (also
 * with alerts the caller skipped); a refused cycle
 * (WRONGTYPE) keeps its alerts; alerts effectively once: an id already on
 * the stream is not written again (sent twice, fired again at other stream
 * times, by a second publisher, after SCRIPT FLUSH, after a cycle that
 * failed once its alerts had landed, after a hung server, also one hung while
 * a cycle bigger than the socket buffers is sent), different ids
 * never merged, the ids window trimmed by stream time, de-duplication off;
 * URL parsing.
 *
 * Skipped (exit 77, CTest SKIP_RETURN_CODE) when redis-server is not
 * installed, after the URL tests, which need no server.
 */
#include <jansson.h>

#include "ccpulse/alerts.h"
#include "ccpulse/clock.h"
#include "ccpulse/redis_pub.h"
#include "ccpulse/tz.h"
#include "ccpulse/view.h"
#include "config_testutil.h"
#include "publish/ckpt_int.h"
#include "redis_testutil.h"

#define MIN 60000LL
#define T0 1795000000000LL

static ccp_config_t cfg;
static char url[64];

/* ---- helpers ---------------------------------------------------------- */

static redisContext *rc; /* the test's own reader */

/* a command on the reader (redis_testutil.h: a connection error ends the test) */
#define cmd(...) redis_cmd(rc, __VA_ARGS__)

/* GET key as a malloc'd string, NULL when absent. */
static char *get(const char *key) {
  redisReply *r = cmd("GET %s", key);
  char *s = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
  freeReplyObject(r);
  return s;
}

static long long integer(const char *fmt, const char *arg) {
  redisReply *r = cmd(fmt, arg);
  long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  freeReplyObject(r);
  return v;
}

/* The scope document the publisher writes for scope `name` of v: the scope
 * of the snapshot with waiting_since_ms added to its gauges, as in the
 * gauges tile. */
static void want_scope_doc(const ccp_view_t *v, const char *name, ccp_buf_t *out) {
  int i = ccp_view_find_scope(v, name);
  ccp_buf_t doc;
  ccp_buf_init(&doc);
  ccp_view_scope_json(v, i, &doc);
  ccp_view_gauges_t g;
  ccp_view_gauges(v, i, &g);
  const char *end = doc.data ? strchr(doc.data, '}') : NULL;
  size_t at = end ? (size_t)(end - doc.data) : 0;
  ccp_buf_clear(out);
  ccp_buf_append(out, doc.data, at);
  ccp_buf_puts(out, ",\"waiting_since_ms\":");
  if (g.waiting_since == INT64_MIN)
    ccp_buf_puts(out, "null");
  else
    ccp_buf_put_i64(out, g.waiting_since);
  ccp_buf_puts(out, doc.data + at);
  ccp_buf_release(&doc);
}

static ccp_str_t S(const char *s) {
  ccp_str_t v = {s, s ? strlen(s) : 0};
  return v;
}

static int evseq;

static void send_event(ccp_engine_t *e, int type, int64_t ts, const char *ticket, const char *queue,
                       int channel, const char *agent) {
  ccp_event_t ev;
  char id[32];
  ccp_event_clear(&ev);
  snprintf(id, sizeof id, "e%d", ++evseq);
  ev.event_id = S(id);
  ev.ticket_id = S(ticket);
  ev.type = (uint8_t)type;
  ev.ts = ts;
  ev.channel = (uint8_t)channel;
  ev.queue = S(queue);
  ev.customer_id = S("c1");
  if (agent)
    ev.agent_id = S(agent);
  T_EQ_INT(ccp_engine_process(e, &ev), CCP_ACCEPTED);
}

/* SLA alerts of an engine, collected as JSON strings. */
typedef struct alerts {
  char *json[16];
  int n;
} alerts_t;

static void on_alert(void *opaque, const ccp_alert_t *a) {
  alerts_t *al = opaque;
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_alert_json(a, &b);
  if (al->n < 16)
    al->json[al->n++] = strdup(b.data);
  ccp_buf_release(&b);
}

static ccp_redis_pub_t *pub_new(const char *prefix, const char *u) {
  ccp_redis_pub_opts_t o = {.url = u ? u : url,
                            .prefix = prefix,
                            .cfg = &cfg,
                            .backoff_min_ms = 20,
                            .backoff_max_ms = 200,
                            .quiet = getenv("CCP_TEST_VERBOSE") == NULL};
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  if (!p) {
    fprintf(stderr, "pub_new: %s\n", err);
    server_stop();
    exit(2);
  }
  return p;
}

static int window_index(const char *name) {
  for (int w = 0; w < cfg.nwindows; w++)
    if (strcmp(cfg.windows[w].name, name) == 0)
      return w;
  return -1;
}

/* ---- tests ------------------------------------------------------------ */

static void test_cycle(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  alerts_t al = {{0}, 0};
  ccp_engine_set_alert_cb(e, on_alert, &al);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, NULL);
  send_event(e, CCP_EV_AGENT_REPLY, T0 + 30000, "t1", "billing", CCP_CH_PHONE, "a-1");
  send_event(e, CCP_EV_OPENED, T0 + 40000, "t2", "tech", CCP_CH_CHAT, NULL);
  /* 3 minutes later: t2 (CHAT, 2 min) is at risk, then breached */
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 3 * MIN);
  T_EQ_INT(al.n, 2);

  redisContext *sub = connect_plain(1000);
  T_TRUE(sub != NULL);
  redisReply *r = redisCommand(sub, "SUBSCRIBE t1:alerts");
  T_TRUE(r && r->type == REDIS_REPLY_ARRAY);
  if (r)
    freeReplyObject(r);

  ccp_redis_pub_t *p = pub_new("t1:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, (const char *const *)al.json, (size_t)al.n), 0);

  /* one GET per tile: the window's KPI object, as the view writes it */
  int all = ccp_view_find_scope(v, "all"), w15 = window_index("15m");
  ccp_buf_t want;
  ccp_buf_init(&want);
  ccp_view_window_json(v, all, w15, &want);
  char *tile = get("t1:v1:kpi:all:15m");
  T_EQ_STR(tile, want.data);
  free(tile);
  tile = get("t1:v1:kpi:queue:billing:5m");
  json_t *j = tile ? json_loads(tile, 0, NULL) : NULL;
  T_EQ_INT(json_integer_value(json_object_get(j, "opened")), 1);
  T_EQ_INT(json_integer_value(json_object_get(j, "frt_count")), 1);
  json_decref(j);
  free(tile);
  tile = get("t1:v1:kpi:channel:CHAT:1h");
  j = tile ? json_loads(tile, 0, NULL) : NULL;
  T_EQ_INT(json_integer_value(json_object_get(j, "sla_breaches")), 1);
  json_decref(j);
  free(tile);

  tile = get("t1:v1:gauges:queue:tech");
  j = tile ? json_loads(tile, 0, NULL) : NULL;
  T_TRUE(json_is_object(j));
  T_EQ_INT(json_integer_value(json_object_get(j, "waiting")), 1);
  T_EQ_INT(json_integer_value(json_object_get(j, "open")), 1);
  json_decref(j);
  free(tile);

  tile = get("t1:v1:scope:agent:a-1");
  j = tile ? json_loads(tile, 0, NULL) : NULL;
  T_TRUE(json_is_object(json_object_get(j, "windows")));
  json_decref(j);
  free(tile);

  /* the scope set lists the view's scopes in its order: all first */
  r = cmd("ZRANGE %s 0 -1", "t1:v1:scope_set");
  T_EQ_INT(r->elements, ccp_view_nscopes(v));
  for (size_t i = 0; i < r->elements && i < (size_t)ccp_view_nscopes(v); i++)
    T_EQ_STR(r->element[i]->str, ccp_view_scope_name(v, (int)i));
  freeReplyObject(r);

  r = cmd("HGET t1:v1:meta %s", "schema");
  T_EQ_STR(r->str, "ccpulse.redis.v1");
  freeReplyObject(r);
  r = cmd("HGET t1:v1:meta %s", "now_ms");
  T_EQ_INT(r->str ? atoll(r->str) : -1, T0 + 3 * MIN);
  freeReplyObject(r);
  r = cmd("HGET t1:v1:meta %s", "cycle");
  T_EQ_STR(r->str, "1");
  freeReplyObject(r);

  /* the snapshot stream: the latest entry's field json is the document */
  ccp_buf_clear(&want);
  ccp_view_snapshot_json(v, &want);
  r = cmd("XREVRANGE t1:snapshots + - COUNT 1");
  T_EQ_INT(r->elements, 1);
  if (r->elements == 1) {
    redisReply *fields = r->element[0]->element[1];
    T_EQ_INT(fields->elements, 2);
    T_EQ_STR(fields->element[0]->str, "json");
    T_EQ_STR(fields->element[1]->str, want.data);
  }
  freeReplyObject(r);

  /* alerts on the stream, in order, field json */
  r = cmd("XRANGE t1:alerts - +");
  T_EQ_INT(r->elements, 2);
  for (size_t i = 0; i < r->elements && i < 2; i++) {
    redisReply *fields = r->element[i]->element[1];
    T_EQ_STR(fields->element[0]->str, "json");
    T_EQ_STR(fields->element[1]->str, al.json[i]);
  }
  freeReplyObject(r);
  T_TRUE(strstr(al.json[1], "\"type\":\"sla_breach\"") != NULL);
  T_TRUE(strstr(al.json[1], "\"id\":\"sla_breach:t2:") != NULL);

  /* and on pub/sub */
  for (int i = 0; i < 2 && sub; i++) {
    void *rv = NULL;
    T_EQ_INT(redisGetReply(sub, &rv), REDIS_OK);
    redisReply *m = rv;
    T_TRUE(m && m->type == REDIS_REPLY_ARRAY && m->elements == 3);
    if (m && m->elements == 3) {
      T_EQ_STR(m->element[0]->str, "message");
      T_EQ_STR(m->element[1]->str, "t1:alerts");
      T_EQ_STR(m->element[2]->str, al.json[i]);
    }
    if (m)
      freeReplyObject(m);
  }

  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.cycles_ok, 1);
  T_EQ_INT(st.cycles_failed, 0);
  T_EQ_INT(st.alerts_published, 2);
  T_EQ_INT(st.alerts_queued, 0);
  T_EQ_INT(st.connected, 1);

  /* a second cycle without alerts sends none again */
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  T_EQ_INT(integer("XLEN %s", "t1:alerts"), 2);
  T_EQ_INT(integer("XLEN %s", "t1:snapshots"), 2);

  if (sub)
    redisFree(sub);
  ccp_redis_pub_free(p);
  ccp_view_free(v);
  ccp_buf_release(&want);
  for (int i = 0; i < al.n; i++)
    free(al.json[i]);
  ccp_engine_free(e);
}

/* MONITOR sees MULTI first and EXEC last, nothing of ours outside. */
static void test_one_transaction(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, "a-1");
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 1000);
  ccp_redis_pub_t *p = pub_new("t2:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0); /* connected before MONITOR */

  redisContext *mon = connect_plain(1000);
  T_TRUE(mon != NULL);
  if (!mon)
    return;
  redisReply *r = redisCommand(mon, "MONITOR");
  T_TRUE(r && r->type == REDIS_REPLY_STATUS);
  if (r)
    freeReplyObject(r);
  const char *al[] = {"{\"id\":\"x1\",\"type\":\"test\"}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, v, al, 1), 0);
  redisReply *ping = cmd("PING"); /* marks the end of the cycle in the monitor */
  freeReplyObject(ping);

  int n = 0, multi_at = -1, exec_at = -1, sets = 0, xadds = 0, publishes = 0, bad = 0;
  for (;;) {
    void *rv = NULL;
    if (redisGetReply(mon, &rv) != REDIS_OK)
      break;
    redisReply *m = rv;
    const char *line = m->type == REDIS_REPLY_STATUS ? m->str : "";
    if (strstr(line, "\"PING\"")) {
      freeReplyObject(m);
      break;
    }
    if (strstr(line, "\"MULTI\""))
      multi_at = n;
    if (strstr(line, "\"EXEC\""))
      exec_at = n;
    if (strstr(line, "\"SET\""))
      sets++;
    if (strstr(line, "\"XADD\""))
      xadds++;
    if (strstr(line, "\"PUBLISH\""))
      publishes++;
    if ((multi_at < 0 || exec_at >= 0) && !strstr(line, "\"EXEC\""))
      bad++;
    n++;
    freeReplyObject(m);
  }
  T_EQ_INT(multi_at, 0);
  T_EQ_INT(exec_at, n - 1);
  T_EQ_INT(bad, 0);
  T_EQ_INT(sets, 0); /* the same view again: every tile is unchanged */
  T_EQ_INT(xadds, 2);
  T_EQ_INT(publishes, 1);
  redisFree(mon);
  ccp_redis_pub_free(p);
  ccp_view_free(v);
  ccp_engine_free(e);
}

/* Publishing follows change: the first cycle writes every tile, a cycle
 * with the same figures none, a new event only the tiles of the scopes it
 * touched (a tile not rewritten keeps what it held); a reconnect writes
 * everything again. meta carries events and now_ms. */
static void test_changed_tiles_only(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, "a-1");
  send_event(e, CCP_EV_OPENED, T0, "t2", "tech", CCP_CH_CHAT, "a-2");
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 1000);
  int nsc = ccp_view_nscopes(v), nw = cfg.nwindows;
  ccp_redis_pub_t *p = pub_new("t8:", NULL);
  ccp_redis_pub_stats_t st;
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.tiles_written, nsc * (nw + 2));
  T_EQ_INT(st.kind_cmds[CCP_RK_SCOPES], nsc); /* each scope added to the scope set */
  uint64_t before = st.tiles_written;
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.tiles_written, before);
  T_EQ_INT(st.kind_cmds[CCP_RK_SCOPES], nsc);
  redisReply *r = cmd("HGET t8:v1:meta %s", "events");
  T_EQ_STR(r->str, "2");
  freeReplyObject(r);

  /* mark an untouched tile: if the next cycle rewrote it, the mark would go */
  freeReplyObject(cmd("SET t8:v1:kpi:queue:billing:5m %s", "mark"));
  freeReplyObject(cmd("SET t8:v1:gauges:queue:billing %s", "mark"));
  send_event(e, CCP_EV_AGENT_REPLY, T0 + 2000, "t2", "tech", CCP_CH_CHAT, "a-2");
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 2000);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_stats(p, &st);
  uint64_t delta = st.tiles_written - before;
  T_TRUE(delta > 0 && delta < (uint64_t)(nsc * (nw + 2)));
  char *t = get("t8:v1:kpi:queue:billing:5m");
  T_EQ_STR(t, "mark");
  free(t);
  ccp_buf_t want;
  ccp_buf_init(&want);
  int tech = ccp_view_find_scope(v, "queue:tech");
  ccp_view_window_json(v, tech, window_index("5m"), &want);
  t = get("t8:v1:kpi:queue:tech:5m");
  T_EQ_STR(t, want.data);
  T_TRUE(t && strstr(t, "\"frt_count\":1") != NULL);
  free(t);
  /* gauges of `all` changed (waiting 2 -> 1): rewritten, the snapshot's
   * gauges plus waiting_since_ms */
  ccp_buf_clear(&want);
  ccp_view_gauges_json(v, ccp_view_find_scope(v, "all"), &want);
  want.len--; /* the closing brace */
  ccp_buf_printf(&want, ",\"waiting_since_ms\":%lld}", (long long)T0);
  t = get("t8:v1:gauges:all");
  T_EQ_STR(t, want.data);
  free(t);
  r = cmd("HGET t8:v1:meta %s", "events");
  T_EQ_STR(r->str, "3");
  freeReplyObject(r);

  /* the publisher's connection is cut: the next cycle fails, the one after
   * reconnects and writes every tile again (the marks go) */
  freeReplyObject(cmd("CLIENT KILL TYPE normal SKIPME yes"));
  int res = ccp_redis_pub_cycle(p, v, NULL, 0);
  for (int i = 0; i < 50 && res != 0; i++) {
    ccp_clock_sleep_ms(20);
    res = ccp_redis_pub_cycle(p, v, NULL, 0);
  }
  T_EQ_INT(res, 0);
  t = get("t8:v1:kpi:queue:billing:5m");
  T_TRUE(t && strcmp(t, "mark") != 0);
  free(t);
  t = get("t8:v1:gauges:queue:billing");
  T_TRUE(t && strcmp(t, "mark") != 0);
  free(t);

  ccp_buf_release(&want);
  ccp_redis_pub_free(p);
  ccp_view_free(v);
  ccp_engine_free(e);
}

/* publish.wait_refresh: a gauges tile whose only change is longest_wait_ms
 * is rewritten once it is wait_refresh_ms behind, another change at once; a
 * scope document not for longest_wait_ms alone (it carries waiting_since_ms
 * too); waiting_since_ms is exact; the final cycle writes the exact
 * longest_wait_ms in both. */
static void test_wait_refresh(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, NULL);
  ccp_redis_pub_opts_t o = {.url = url,
                            .prefix = "t11:",
                            .cfg = &cfg,
                            .wait_refresh_ms = 5000,
                            .quiet = getenv("CCP_TEST_VERBOSE") == NULL};
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  T_TRUE(p != NULL);
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 1000);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  char *t = get("t11:v1:gauges:queue:billing");
  json_t *j = t ? json_loads(t, 0, NULL) : NULL;
  T_EQ_INT(json_integer_value(json_object_get(j, "longest_wait_ms")), 1000);
  T_EQ_INT(json_integer_value(json_object_get(j, "waiting_since_ms")), T0);
  json_decref(j);
  free(t);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  uint64_t gauges0 = st.kind_cmds[CCP_RK_GAUGES], scope0 = st.kind_cmds[CCP_RK_SCOPE];
  T_TRUE(gauges0 > 0 && scope0 > 0 && st.kind_cmds[CCP_RK_META] == 1);
  T_EQ_INT(st.kind_cmds[CCP_RK_SNAPSHOT], 1);

  /* 4.9 s later only longest_wait_ms moved: nothing rewritten */
  freeReplyObject(cmd("SET t11:v1:scope:queue:billing %s", "mark"));
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 5900);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.kind_cmds[CCP_RK_GAUGES], gauges0);
  T_EQ_INT(st.kind_cmds[CCP_RK_SCOPE], scope0);
  t = get("t11:v1:gauges:queue:billing");
  j = t ? json_loads(t, 0, NULL) : NULL;
  T_EQ_INT(json_integer_value(json_object_get(j, "longest_wait_ms")), 1000);
  json_decref(j);
  free(t);
  t = get("t11:v1:scope:queue:billing");
  T_EQ_STR(t, "mark");
  free(t);

  /* 5 s behind: rewritten, with the value of the cycle */
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 6000);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_stats(p, &st);
  T_TRUE(st.kind_cmds[CCP_RK_GAUGES] > gauges0);
  t = get("t11:v1:gauges:queue:billing");
  j = t ? json_loads(t, 0, NULL) : NULL;
  T_EQ_INT(json_integer_value(json_object_get(j, "longest_wait_ms")), 6000);
  T_EQ_INT(json_integer_value(json_object_get(j, "waiting_since_ms")), T0);
  json_decref(j);
  free(t);
  /* the scope document is not rewritten for longest_wait_ms alone: it
   * holds the cycle it was written at, waiting_since_ms gives the wait */
  T_EQ_INT(st.kind_cmds[CCP_RK_SCOPE], scope0);
  t = get("t11:v1:scope:queue:billing");
  T_EQ_STR(t, "mark");
  free(t);
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 30000); /* nor 30 s behind */
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.kind_cmds[CCP_RK_SCOPE], scope0);
  ccp_buf_t want;
  ccp_buf_init(&want);

  /* another figure changes (a reply: nobody waits): rewritten at once */
  uint64_t gauges1 = st.kind_cmds[CCP_RK_GAUGES];
  send_event(e, CCP_EV_AGENT_REPLY, T0 + 30500, "t1", "billing", CCP_CH_PHONE, "a-1");
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 30500);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_stats(p, &st);
  T_TRUE(st.kind_cmds[CCP_RK_GAUGES] > gauges1);
  t = get("t11:v1:gauges:queue:billing");
  j = t ? json_loads(t, 0, NULL) : NULL;
  T_TRUE(json_is_null(json_object_get(j, "longest_wait_ms")));
  T_TRUE(json_is_null(json_object_get(j, "waiting_since_ms")));
  T_EQ_INT(json_integer_value(json_object_get(j, "waiting")), 0);
  json_decref(j);
  free(t);
  ccp_redis_pub_stats(p, &st);
  T_TRUE(st.kind_cmds[CCP_RK_SCOPE] > scope0);
  want_scope_doc(v, "queue:billing", &want);
  T_TRUE(strstr(want.data, "\"waiting_since_ms\":null}") != NULL);
  t = get("t11:v1:scope:queue:billing");
  T_EQ_STR(t, want.data);
  free(t);

  /* the final cycle writes the exact value, however little it moved */
  send_event(e, CCP_EV_OPENED, T0 + 31000, "t2", "tech", CCP_CH_CHAT, NULL);
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 31000);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 31100);
  ccp_view_set_final(v);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  t = get("t11:v1:gauges:queue:tech");
  j = t ? json_loads(t, 0, NULL) : NULL;
  T_EQ_INT(json_integer_value(json_object_get(j, "longest_wait_ms")), 100);
  json_decref(j);
  free(t);
  want_scope_doc(v, "queue:tech", &want);
  T_TRUE(strstr(want.data, "\"longest_wait_ms\":100,") != NULL);
  T_TRUE(strstr(want.data, "\"waiting_since_ms\":") != NULL);
  t = get("t11:v1:scope:queue:tech");
  T_EQ_STR(t, want.data);
  free(t);
  ccp_buf_release(&want);
  ccp_redis_pub_free(p);
  ccp_view_free(v);
  ccp_engine_free(e);
}

/* Scope documents follow the snapshot interval: a cycle between two due
 * times writes the KPI tiles of a new event (and adds its scopes to the
 * scope set) but not its scope documents; the next due cycle writes them. */
static void test_slow_cycle(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, NULL);
  ccp_redis_pub_opts_t o = {.url = url,
                            .prefix = "t12:",
                            .cfg = &cfg,
                            .snapshot_interval_ms = 400,
                            .snapshot_maxlen = -1,
                            .quiet = getenv("CCP_TEST_VERBOSE") == NULL};
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  T_TRUE(p != NULL);
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 1000);
  int64_t t0 = ccp_clock_mono_ms();
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  T_TRUE(integer("ZRANK t12:v1:scope_set %s", "queue:billing") >= 0);
  T_EQ_INT(integer("ZRANK t12:v1:scope_set %s", "queue:tech"), -1); /* nil */
  char *t;

  send_event(e, CCP_EV_OPENED, T0 + 1100, "t2", "tech", CCP_CH_CHAT, NULL);
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 1100);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  if (ccp_clock_mono_ms() - t0 < 400) { /* not yet due (a slow machine may skip this) */
    T_EQ_INT(integer("EXISTS %s", "t12:v1:kpi:queue:tech:5m"), 1);
    T_EQ_INT(integer("EXISTS %s", "t12:v1:gauges:queue:tech"), 1);
    T_EQ_INT(integer("EXISTS %s", "t12:v1:scope:queue:tech"), 0);
  }
  T_TRUE(integer("ZRANK t12:v1:scope_set %s", "queue:tech") >= 0); /* every cycle */
  ccp_clock_sleep_ms(420);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_buf_t want;
  ccp_buf_init(&want);
  want_scope_doc(v, "queue:tech", &want);
  t = get("t12:v1:scope:queue:tech");
  T_EQ_STR(t, want.data);
  free(t);
  T_EQ_INT(integer("EXISTS %s", "t12:snapshots"), 0);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.kind_cmds[CCP_RK_SCOPES], ccp_view_nscopes(v)); /* each scope added once */
  T_EQ_INT(st.kind_cmds[CCP_RK_SNAPSHOT], 0);
  T_EQ_INT(st.snapshots_written, 0);
  uint64_t sum = 0;
  for (int k = 0; k < CCP_RK__COUNT; k++)
    sum += st.kind_bytes[k];
  T_EQ_INT(sum, st.bytes_written); /* every byte counted once, under its kind */
  ccp_buf_release(&want);
  ccp_redis_pub_free(p);
  ccp_view_free(v);
  ccp_engine_free(e);
}

/* publish.snapshot_interval: at most one stream entry per interval, always
 * one in the final cycle; a negative maxlen: no stream at all. */
static void test_snapshot_interval(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, NULL);
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 1000);
  ccp_redis_pub_opts_t o = {.url = url,
                            .prefix = "t9:",
                            .cfg = &cfg,
                            .snapshot_interval_ms = 300,
                            .quiet = getenv("CCP_TEST_VERBOSE") == NULL};
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  T_TRUE(p != NULL);
  int64_t t0 = ccp_clock_mono_ms();
  for (int i = 0; i < 5; i++)
    T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  if (ccp_clock_mono_ms() - t0 < 300)
    T_EQ_INT(integer("XLEN %s", "t9:snapshots"), 1);
  ccp_clock_sleep_ms(320);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  T_EQ_INT(integer("XLEN %s", "t9:snapshots"), 2);
  /* 12 cycles 50 ms apart (600 ms): 2 or 3 entries, not 12 */
  for (int i = 0; i < 12; i++) {
    ccp_clock_sleep_ms(50);
    T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  }
  long long n = integer("XLEN %s", "t9:snapshots");
  T_TRUE(n >= 3 && n <= 5);
  ccp_view_set_final(v); /* the final cycle: always an entry */
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  T_EQ_INT(integer("XLEN %s", "t9:snapshots"), n + 1);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.snapshots_written, n + 1);
  ccp_redis_pub_free(p);

  o.prefix = "t10:";
  o.snapshot_maxlen = -1;
  p = ccp_redis_pub_new(&o, err, sizeof err);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  T_EQ_INT(integer("EXISTS %s", "t10:snapshots"), 0);
  T_EQ_INT(integer("EXISTS %s", "t10:v1:kpi:all:5m"), 1);
  ccp_redis_pub_free(p);
  ccp_view_free(v);
  ccp_engine_free(e);
}

/* redis.snapshots.mb_per_s: after an entry of S MB the next waits S / rate
 * seconds (here ~1 s for a few-KB document); redis.snapshots.max_mb: the
 * stream's MAXLEN is lowered to what fits (here 2 entries). */
static void test_snapshot_pacing(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, NULL);
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 1000);
  ccp_buf_t doc;
  ccp_buf_init(&doc);
  ccp_view_snapshot_json(v, &doc);
  double mb = (double)doc.len / 1e6;
  ccp_redis_pub_opts_t o = {.url = url,
                            .prefix = "t13:",
                            .cfg = &cfg,
                            .snapshot_interval_ms = 50,
                            .snapshot_mb_per_s = mb, /* one entry per second */
                            .snapshot_max_mb = 2.5 * mb,
                            .quiet = getenv("CCP_TEST_VERBOSE") == NULL};
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  T_TRUE(p != NULL);
  freeReplyObject(cmd("CONFIG SET stream-node-max-entries 1")); /* MAXLEN ~ trims exactly */
  int64_t t0 = ccp_clock_mono_ms();
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  T_EQ_INT(integer("XLEN %s", "t13:snapshots"), 1);
  /* 600 ms of cycles 60 ms apart: every one is slow, none carries an entry */
  while (ccp_clock_mono_ms() - t0 < 600) {
    ccp_clock_sleep_ms(60);
    T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  }
  if (ccp_clock_mono_ms() - t0 < 950)
    T_EQ_INT(integer("XLEN %s", "t13:snapshots"), 1);
  ccp_clock_sleep_ms(1000 - (ccp_clock_mono_ms() - t0) + 60);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  T_EQ_INT(integer("XLEN %s", "t13:snapshots"), 2);
  /* the final cycle writes one whatever the pacing; the cap keeps two */
  ccp_view_set_final(v);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  T_EQ_INT(integer("XLEN %s", "t13:snapshots"), 2);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.snapshots_written, 3);
  freeReplyObject(cmd("CONFIG SET stream-node-max-entries 100"));
  ccp_redis_pub_free(p);
  ccp_buf_release(&doc);
  ccp_view_free(v);
  ccp_engine_free(e);
}

/* Scopes that leave the view lose their tiles, also across publishers. */
static void test_vanished_scopes(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, NULL);
  send_event(e, CCP_EV_OPENED, T0, "t2", "tech", CCP_CH_PHONE, NULL);
  ccp_view_t *big = tu_view_of(&cfg, e, T0 + 1000);
  ccp_engine_free(e);
  e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t2", "tech", CCP_CH_PHONE, NULL);
  ccp_view_t *small = tu_view_of(&cfg, e, T0 + 1000);
  T_EQ_INT(ccp_view_find_scope(small, "queue:billing"), -1);

  ccp_redis_pub_t *p = pub_new("t3:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p, big, NULL, 0), 0);
  T_EQ_INT(integer("EXISTS %s", "t3:v1:kpi:queue:billing:5m"), 1);
  T_EQ_INT(ccp_redis_pub_cycle(p, small, NULL, 0), 0);
  T_EQ_INT(integer("EXISTS %s", "t3:v1:kpi:queue:billing:5m"), 0);
  T_EQ_INT(integer("EXISTS %s", "t3:v1:gauges:queue:billing"), 0);
  T_EQ_INT(integer("EXISTS %s", "t3:v1:scope:queue:billing"), 0);
  T_EQ_INT(integer("EXISTS %s", "t3:v1:kpi:queue:tech:5m"), 1);

  /* a new publisher (a restarted process) learns the old scopes from Redis */
  T_EQ_INT(ccp_redis_pub_cycle(p, big, NULL, 0), 0);
  ccp_redis_pub_free(p);
  p = pub_new("t3:", NULL);
  T_EQ_INT(integer("EXISTS %s", "t3:v1:kpi:queue:billing:today"), 1);
  T_EQ_INT(ccp_redis_pub_cycle(p, small, NULL, 0), 0);
  T_EQ_INT(integer("EXISTS %s", "t3:v1:kpi:queue:billing:today"), 0);
  T_EQ_INT(integer("EXISTS %s", "t3:v1:kpi:queue:tech:today"), 1);

  ccp_redis_pub_free(p);
  ccp_view_free(big);
  ccp_view_free(small);
  ccp_engine_free(e);
}

/* The members of sorted set `key` from ZRANGE (args: "0 -1") or
 * ZRANGEBYSCORE, joined by spaces into out. */
static void zmembers(const char *fmt, const char *key, char *out, size_t len) {
  redisReply *r = cmd(fmt, key);
  size_t at = 0;
  out[0] = '\0';
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && at < len; i++)
    at += (size_t)snprintf(out + at, len - at, "%s%s", i ? " " : "", r->element[i]->str);
  freeReplyObject(r);
}

/* The scope set: written whole by the first cycle (a connect), then only the
 * scopes that came (ZADD) and left (ZREM), in the cycle their tiles come and
 * go; its scores put `all` first and keep the agents apart; a scope named
 * only by the set (a process that died) or by the JSON list of earlier
 * versions (an upgrade) has its tiles deleted by the next process, which
 * deletes that list too. */
static void test_scope_set(void) {
  char err[CCP_ERRBUF_SIZE], got[512];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, "a-1");
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 1000);
  /* an earlier version's list and tiles of a scope gone since */
  freeReplyObject(cmd("SET ts1:v1:scopes %s", "[\"all\",\"queue:old\"]"));
  freeReplyObject(cmd("SET ts1:v1:kpi:queue:old:5m %s", "{}"));
  ccp_redis_pub_t *p = pub_new("ts1:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  zmembers("ZRANGE %s 0 -1", "ts1:v1:scope_set", got, sizeof got);
  T_EQ_STR(got, "all agent:a-1 channel:PHONE queue:billing");
  zmembers("ZRANGEBYSCORE %s 2 3", "ts1:v1:scope_set", got, sizeof got);
  T_EQ_STR(got, "channel:PHONE queue:billing"); /* what the wall reads */
  T_EQ_INT(integer("EXISTS %s", "ts1:v1:kpi:queue:old:5m"), 0);
  T_EQ_INT(integer("EXISTS %s", "ts1:v1:scopes"), 0);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  uint64_t added = st.kind_cmds[CCP_RK_SCOPES], bytes = st.kind_bytes[CCP_RK_SCOPES];
  T_EQ_INT(added, 4);

  /* a new queue and agent: only they are added */
  send_event(e, CCP_EV_OPENED, T0 + 2000, "t2", "tech", CCP_CH_PHONE, "a-2");
  ccp_view_free(v);
  v = tu_view_of(&cfg, e, T0 + 2000);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.kind_cmds[CCP_RK_SCOPES] - added, 2);
  T_EQ_INT(st.kind_bytes[CCP_RK_SCOPES] - bytes, 2 + strlen("queue:tech") + strlen("agent:a-2"));
  zmembers("ZRANGE %s 0 -1", "ts1:v1:scope_set", got, sizeof got);
  T_EQ_STR(got, "all agent:a-1 agent:a-2 channel:PHONE queue:billing queue:tech");

  /* queue:billing's data gone (another engine): removed with its tiles */
  ccp_engine_t *e2 = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e2, CCP_EV_OPENED, T0 + 2000, "t2", "tech", CCP_CH_PHONE, "a-2");
  ccp_view_t *small = tu_view_of(&cfg, e2, T0 + 2000);
  T_EQ_INT(ccp_redis_pub_cycle(p, small, NULL, 0), 0);
  zmembers("ZRANGE %s 0 -1", "ts1:v1:scope_set", got, sizeof got);
  T_EQ_STR(got, "all agent:a-2 channel:PHONE queue:tech");
  T_EQ_INT(integer("EXISTS %s", "ts1:v1:kpi:queue:billing:5m"), 0);

  /* a process that died after writing queue:billing (its scope in the set,
   * its tiles there): the next process deletes both */
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  ccp_redis_pub_free(p); /* no final cycle here: as if it died */
  T_EQ_INT(integer("EXISTS %s", "ts1:v1:kpi:queue:billing:5m"), 1);
  p = pub_new("ts1:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p, small, NULL, 0), 0);
  T_EQ_INT(integer("EXISTS %s", "ts1:v1:kpi:queue:billing:5m"), 0);
  zmembers("ZRANGE %s 0 -1", "ts1:v1:scope_set", got, sizeof got);
  T_EQ_STR(got, "all agent:a-2 channel:PHONE queue:tech");

  /* another program changed the set: a reconnect writes it whole again */
  freeReplyObject(cmd("ZREM ts1:v1:scope_set %s", "queue:tech"));
  freeReplyObject(cmd("CLIENT KILL TYPE normal SKIPME yes"));
  int res = ccp_redis_pub_cycle(p, small, NULL, 0);
  for (int i = 0; i < 50 && res != 0; i++) {
    ccp_clock_sleep_ms(20);
    res = ccp_redis_pub_cycle(p, small, NULL, 0);
  }
  T_EQ_INT(res, 0);
  zmembers("ZRANGE %s 0 -1", "ts1:v1:scope_set", got, sizeof got);
  T_EQ_STR(got, "all agent:a-2 channel:PHONE queue:tech");

  ccp_redis_pub_free(p);
  ccp_view_free(v);
  ccp_view_free(small);
  ccp_engine_free(e);
  ccp_engine_free(e2);
}

/* A publisher with short timeouts (200 ms) whose first cycle succeeded;
 * NULL on failure. */
static ccp_redis_pub_t *hung_pub(const char *prefix) {
  ccp_redis_pub_opts_t o = {.url = url,
                            .prefix = prefix,
                            .cfg = &cfg,
                            .command_timeout_ms = 200,
                            .connect_timeout_ms = 200,
                            .backoff_min_ms = 20,
                            .backoff_max_ms = 100,
                            .quiet = getenv("CCP_TEST_VERBOSE") == NULL};
  char err[CCP_ERRBUF_SIZE];
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  T_TRUE(p != NULL);
  if (p && ccp_redis_pub_cycle(p, NULL, NULL, 0) != 0) {
    T_FAIL_("the first cycle of '%s' failed", prefix);
    ccp_redis_pub_free(p);
    p = NULL;
  }
  return p;
}

/* Cycles until one succeeds (2 s at most); 1 when one did. */
static int resume(ccp_redis_pub_t *p) {
  for (int i = 0; i < 100; i++) {
    if (ccp_redis_pub_cycle(p, NULL, NULL, 0) == 0)
      return 1;
    ccp_clock_sleep_ms(20);
  }
  return 0;
}

/* A hung server (SIGSTOP) during a cycle with n alerts of about pad bytes
 * each: the cycle gives up after the command timeout, the alerts stay
 * queued; once the server runs again, publishing resumes and each alert is
 * there once (the abandoned transaction may have been applied too: then an
 * alert sent again finds its id). */
static void hung_server(const char *prefix, int n, int pad) {
  ccp_redis_pub_t *p = hung_pub(prefix);
  if (!p)
    return;
  char **al = calloc((size_t)n, sizeof *al);
  for (int i = 0; i < n; i++) {
    al[i] = malloc((size_t)pad + 64);
    int k = snprintf(al[i], 64, "{\"id\":\"h%d\",\"pad\":\"", i);
    memset(al[i] + k, 'x', (size_t)pad);
    memcpy(al[i] + k + pad, "\"}", 3);
  }
  kill(server_pid, SIGSTOP);
  int64_t t = ccp_clock_mono_ms();
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, (const char *const *)al, (size_t)n), -CCP_EIO);
  int64_t took = ccp_clock_mono_ms() - t;
  /* the send and the reply may each take the cycle's time-out, which grows
   * with its size (~2 x n x pad bytes of RESP) */
  int64_t bound =
      2 * (int64_t)ccp__redis_cycle_timeout_ms(200, (size_t)n, 2 * (size_t)n * (size_t)pad) + 1100;
  if (took > bound)
    T_FAIL_("a cycle against a hung server took %lld ms (bound %lld)", (long long)took,
            (long long)bound);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_TRUE(strstr(st.last_error, "timed out") != NULL);
  T_EQ_INT(st.alerts_queued, n);
  kill(server_pid, SIGCONT);
  ccp_redis_pub_set_timeouts(p, 1000, 10000); /* a loaded machine: no retry for slowness */
  T_TRUE(resume(p));
  char key[64];
  snprintf(key, sizeof key, "%salerts", prefix);
  T_EQ_INT(integer("XLEN %s", key), n);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_queued, 0);
  for (int i = 0; i < n; i++)
    free(al[i]);
  free(al);
  ccp_redis_pub_free(p);
}

/* Hung while the reply is awaited (a small cycle). */
static void test_hung_server(void) { hung_server("t7:", 1, 0); }

/* Hung while a cycle bigger than the socket buffers is being sent (the
 * publisher writes it to the socket itself): ~2 x 16 MB of RESP. */
static void test_hung_server_big_cycle(void) { hung_server("t7b:", 1000, 16000); }

/* The wait for a cycle's replies grows with the cycle's work: a big
 * catch-up cycle (100,000 alerts through the de-duplicating script, MBs of
 * checkpoints) is not taken for a dead server, a small one keeps the plain
 * time-out. */
static void test_cycle_timeout(void) {
  T_EQ_INT(ccp__redis_cycle_timeout_ms(2000, 0, 0), 2000);
  T_EQ_INT(ccp__redis_cycle_timeout_ms(2000, 10, 4096), 2000);
  T_EQ_INT(ccp__redis_cycle_timeout_ms(2000, 100000, 0), 6000);
  T_EQ_INT(ccp__redis_cycle_timeout_ms(2000, 0, (size_t)30 << 20), 2600);
  T_EQ_INT(ccp__redis_cycle_timeout_ms(800, 100000, (size_t)30 << 20), 5400);
  T_TRUE(ccp__redis_cycle_timeout_ms(2000, 50000, 0) <
         ccp__redis_cycle_timeout_ms(2000, 50001 * 2, 0));
  T_TRUE(ccp__redis_cycle_timeout_ms(2000, (size_t)-1, (size_t)-1) > 0); /* no overflow */
}

/* Redis killed: cycles fail fast, alerts wait; restarted: delivered once. */
static void test_outage(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, NULL);
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 1000);
  ccp_redis_pub_t *p = pub_new("t4:", NULL);
  const char *a0[] = {"{\"id\":\"a0\"}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, v, a0, 1), 0);
  ccp_redis_pub_t *p2 = pub_new("t6:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p2, v, NULL, 0), 0);

  redisFree(rc);
  rc = NULL;
  server_stop();

  /* a cycle of several MB on a dead connection: writes hit a reset socket
   * (EPIPE), which must not raise SIGPIPE in the caller */
  ccp_clock_sleep_ms(50);
  {
    static char big[4096];
    memset(big, 'x', sizeof big - 1);
    const char *many[1000];
    for (int i = 0; i < 1000; i++)
      many[i] = big;
    T_EQ_INT(ccp_redis_pub_cycle(p2, v, many, 1000), -CCP_EIO);
    ccp_redis_pub_free(p2);
  }

  const char *a1[] = {"{\"id\":\"a1\"}"}, *a2[] = {"{\"id\":\"a2\"}"};
  int64_t t = ccp_clock_mono_ms();
  T_TRUE(ccp_redis_pub_cycle(p, v, a1, 1) < 0);
  T_TRUE(ccp_redis_pub_cycle(p, v, a2, 1) < 0);
  for (int i = 0; i < 20; i++)
    T_TRUE(ccp_redis_pub_cycle(p, v, NULL, 0) < 0);
  int64_t took = ccp_clock_mono_ms() - t;
  if (took > 1000)
    T_FAIL_("22 cycles while Redis is down took %lld ms", (long long)took);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.connected, 0);
  T_EQ_INT(st.alerts_queued, 2);
  T_EQ_INT(st.cycles_failed, 22);
  T_EQ_INT(st.cycles_ok, 1);
  T_TRUE(st.last_error[0] != 0);

  server_start(); /* same port, empty data set */
  rc = connect_plain(1000);
  int ok = 0;
  for (int i = 0; i < 100 && !ok; i++) { /* backoff is at most 200 ms here */
    ok = ccp_redis_pub_cycle(p, v, NULL, 0) == 0;
    if (!ok)
      ccp_clock_sleep_ms(20);
  }
  T_TRUE(ok);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.reconnects, 1);
  T_EQ_INT(st.alerts_queued, 0);
  T_EQ_INT(st.alerts_published, 3);
  T_EQ_INT(st.connected, 1);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  /* the restarted (empty) server runs the de-duplication as before */
  T_EQ_INT(ccp_redis_pub_cycle(p, v, a1, 1), 0);

  redisReply *r = cmd("XRANGE t4:alerts - +");
  T_EQ_INT(r->elements, 2);
  if (r->elements == 2) {
    T_EQ_STR(r->element[0]->element[1]->element[1]->str, a1[0]);
    T_EQ_STR(r->element[1]->element[1]->element[1]->str, a2[0]);
  }
  freeReplyObject(r);
  char *tile = get("t4:v1:kpi:all:5m");
  T_TRUE(tile != NULL); /* tiles are back after the restart */
  free(tile);

  ccp_redis_pub_free(p);
  ccp_view_free(v);
  ccp_engine_free(e);
}

/* The alert queue is bounded: the oldest go first, counted. */
static void test_queue_bound(void) {
  char u[64];
  snprintf(u, sizeof u, "redis://127.0.0.1:%d", free_port()); /* nobody listens */
  ccp_redis_pub_opts_t o = {.url = u, .cfg = &cfg, .max_queued_alerts = 3, .quiet = 1};
  char err[CCP_ERRBUF_SIZE];
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  T_TRUE(p != NULL);
  if (!p)
    return;
  const char *al[] = {"{\"id\":1}", "{\"id\":2}", "{\"id\":3}", "{\"id\":4}", "{\"id\":5}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, al, 5), -CCP_EIO);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_queued, 3);
  T_EQ_INT(st.alerts_dropped, 2);
  T_TRUE(st.retry_in_ms > 0 && st.retry_in_ms <= 100);
  T_TRUE(strstr(st.last_error, "refused") != NULL);
  /* inside the backoff delay no connect is tried: the error stands */
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, NULL, 0), -CCP_EIO);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.cycles_failed, 2);
  ccp_redis_pub_free(p);
}

/* A cycle Redis refuses (WRONGTYPE) keeps its alerts for the next one. */
static void test_refused_cycle(void) {
  ccp_redis_pub_t *p = pub_new("t5:", NULL);
  freeReplyObject(cmd("SET t5:alerts %s", "not a stream"));
  const char *al[] = {"{\"id\":\"r1\"}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, al, 1), -CCP_EINVAL);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_queued, 1);
  T_EQ_INT(st.connected, 1);
  T_TRUE(strstr(st.last_error, "WRONGTYPE") != NULL);
  freeReplyObject(cmd("DEL t5:alerts"));
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, NULL, 0), 0);
  T_EQ_INT(integer("XLEN %s", "t5:alerts"), 1);
  ccp_redis_pub_free(p);
}

/* ---- alerts effectively once ------------------------------------------ */

/* The alerts stream's entries: their JSON, oldest first (the caller frees). */
typedef struct entries {
  char **json;
  size_t n;
} entries_t;

static entries_t stream_entries(const char *key) {
  entries_t en = {NULL, 0};
  redisReply *r = cmd("XRANGE %s - +", key);
  en.json = calloc(r->elements + 1, sizeof *en.json);
  for (size_t i = 0; i < r->elements; i++) {
    redisReply *f = r->element[i]->element[1];
    if (f->elements == 2 && strcmp(f->element[0]->str, "json") == 0)
      en.json[en.n++] = strdup(f->element[1]->str);
  }
  freeReplyObject(r);
  return en;
}

static void entries_free(entries_t *en) {
  for (size_t i = 0; i < en->n; i++)
    free(en->json[i]);
  free(en->json);
}

/* Alerts a caller left out (alerts_skipped: the queue would drop them on
 * arrival) are dropped and counted as if given, after the ones already
 * queued; the cycle sends exactly its own alerts. */
static void test_queue_skipped(void) {
  ccp_redis_pub_opts_t o = {
      .url = url, .prefix = "t5s:", .cfg = &cfg, .max_queued_alerts = 3, .quiet = 1};
  char err[CCP_ERRBUF_SIZE];
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  T_TRUE(p != NULL);
  if (!p)
    return;
  T_EQ_INT(ccp_redis_pub_alert_cap(p), 3);
  const char *old_ = "{\"id\":\"q0\"}";
  ccp_redis_pub_queue_alert(p, old_, strlen(old_), -1);
  ccp_redis_pub_queue_alert(p, old_, strlen(old_), -1);
  const char *al[] = {"{\"id\":\"q1\"}", "{\"id\":\"q2\"}", "{\"id\":\"q3\"}"};
  ccp_redis_cycle_t c = {.alerts = al, .nalerts = 3, .alerts_skipped = 4, .stream_time = INT64_MIN};
  T_EQ_INT(ccp_redis_pub_cycle_x(p, &c), 0);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_dropped, 6);
  T_EQ_INT(st.alerts_queued, 0);
  entries_t en = stream_entries("t5s:alerts");
  T_EQ_INT(en.n, 3);
  for (size_t i = 0; i < en.n && i < 3; i++)
    T_EQ_STR(en.json[i], al[i]);
  entries_free(&en);
  ccp_redis_pub_free(p);
}

/* The "id" of each entry, checked present; returns how many ids occur more
 * than once. */
static int entries_repeated_ids(const entries_t *en) {
  int rep = 0;
  for (size_t i = 0; i < en->n; i++) {
    json_t *a = json_loads(en->json[i], 0, NULL);
    const char *id = json_string_value(json_object_get(a, "id"));
    if (!id)
      T_FAIL_("stream entry without an id: %s", en->json[i]);
    for (size_t k = 0; id && k < i; k++) {
      json_t *b = json_loads(en->json[k], 0, NULL);
      const char *id2 = json_string_value(json_object_get(b, "id"));
      rep += id2 && strcmp(id, id2) == 0;
      json_decref(b);
    }
    json_decref(a);
  }
  return rep;
}

/* Engine alerts of two tickets (t1 PHONE 4 m, t2 CHAT 2 m, opened at T0),
 * the engine advanced to `to` in `steps` equal steps: the same deadlines
 * whatever the steps, fired at other stream times (other now_ms bytes). */
static void fire_two_tickets(alerts_t *al, int64_t to, int steps) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  ccp_engine_set_alert_cb(e, on_alert, al);
  send_event(e, CCP_EV_OPENED, T0, "t1", "billing", CCP_CH_PHONE, NULL);
  send_event(e, CCP_EV_OPENED, T0, "t2", "tech", CCP_CH_CHAT, NULL);
  for (int i = 1; i <= steps; i++)
    ccp_engine_advance(e, T0 + (to - T0) * i / steps);
  ccp_engine_free(e);
}

static void alerts_free(alerts_t *al) {
  for (int i = 0; i < al->n; i++)
    free(al->json[i]);
  al->n = 0;
}

/* The same alerts in two cycles (fired again by a second run over the same
 * events, at other stream times), from a second publisher (another
 * instance), after SCRIPT FLUSH: each id once on the stream and the channel,
 * entries carrying their id; new alerts still go out. */
static void test_alert_dedup(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t0", "billing", CCP_CH_PHONE, NULL);
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + 5 * MIN);
  ccp_engine_free(e);

  redisContext *sub = connect_plain(1000);
  T_TRUE(sub != NULL);
  redisReply *r = sub ? redisCommand(sub, "SUBSCRIBE d1:alerts") : NULL;
  if (r)
    freeReplyObject(r);

  alerts_t first = {{0}, 0}, again = {{0}, 0};
  fire_two_tickets(&first, T0 + 5 * MIN, 1); /* 4 alerts at once */
  fire_two_tickets(&again, T0 + 5 * MIN, 7); /* the same 4, fired at other times */
  T_EQ_INT(first.n, 4);
  T_EQ_INT(again.n, 4);
  int differ = 0;
  for (int i = 0; i < first.n && i < again.n; i++)
    differ += strcmp(first.json[i], again.json[i]) != 0;
  T_TRUE(differ > 0); /* other bytes (now_ms), same ids */

  ccp_redis_pub_t *p = pub_new("d1:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p, v, (const char *const *)first.json, 2), 0);
  T_EQ_INT(integer("XLEN %s", "d1:alerts"), 2);
  /* all four again, in one cycle: the first two are remembered */
  T_EQ_INT(ccp_redis_pub_cycle(p, v, (const char *const *)again.json, 4), 0);
  T_EQ_INT(integer("XLEN %s", "d1:alerts"), 4);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_published, 4);
  T_EQ_INT(st.alerts_repeated, 2);
  T_EQ_INT(st.alerts_queued, 0);
  /* the same alert twice in one cycle: once */
  const char *twice[] = {first.json[3], first.json[3]};
  T_EQ_INT(ccp_redis_pub_cycle(p, v, twice, 2), 0);
  T_EQ_INT(integer("XLEN %s", "d1:alerts"), 4);
  /* meta says how many were held back (written with the next cycle) */
  T_EQ_INT(ccp_redis_pub_cycle(p, v, NULL, 0), 0);
  r = cmd("HGET d1:v1:meta %s", "alerts_repeated");
  T_EQ_STR(r->str, "4");
  freeReplyObject(r);

  /* another instance on the same prefix, e.g. during a rebalance */
  ccp_redis_pub_t *p2 = pub_new("d1:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p2, v, (const char *const *)first.json, 4), 0);
  T_EQ_INT(integer("XLEN %s", "d1:alerts"), 4);

  /* the script cache emptied: still de-duplicated, new alerts still written */
  freeReplyObject(cmd("SCRIPT FLUSH"));
  const char *more[] = {first.json[0], "{\"id\":\"x:new\",\"type\":\"test\",\"now_ms\":1}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, v, more, 2), 0);
  T_EQ_INT(integer("XLEN %s", "d1:alerts"), 5);

  /* the entries: in order, each with its id, none twice; the ids remembered */
  entries_t en = stream_entries("d1:alerts");
  T_EQ_INT(en.n, 5);
  for (int i = 0; i < 2 && (size_t)i < en.n; i++)
    T_EQ_STR(en.json[i], first.json[i]);
  for (int i = 2; i < 4 && (size_t)i < en.n; i++)
    T_EQ_STR(en.json[i], again.json[i]);
  T_EQ_INT(entries_repeated_ids(&en), 0);
  entries_free(&en);
  T_EQ_INT(integer("ZCARD %s", "d1:v1:alert_ids"), 5);
  json_t *j = json_loads(first.json[1], 0, NULL);
  r = cmd("ZSCORE d1:v1:alert_ids %s", json_string_value(json_object_get(j, "id")));
  T_TRUE(r->type == REDIS_REPLY_STRING && /* the due time */
         atoll(r->str) == json_integer_value(json_object_get(j, "at_ms")));
  freeReplyObject(r);
  json_decref(j);

  /* the channel carried the same five messages, then nothing more */
  for (int i = 0; i < 5 && sub; i++) {
    void *rv = NULL;
    T_EQ_INT(redisGetReply(sub, &rv), REDIS_OK);
    redisReply *m = rv;
    T_TRUE(m && m->type == REDIS_REPLY_ARRAY && m->elements == 3);
    if (m)
      freeReplyObject(m);
  }
  if (sub) {
    r = redisCommand(sub, "PING");
    T_TRUE(r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
           strcmp(r->element[0]->str, "pong") == 0);
    if (r)
      freeReplyObject(r);
    redisFree(sub);
  }

  ccp_redis_pub_free(p);
  ccp_redis_pub_free(p2);
  alerts_free(&first);
  alerts_free(&again);
  ccp_view_free(v);
}

/* A cycle that fails after its script ran (a runtime error in another
 * command: meta is not a hash) keeps its alerts and counts as failed; the
 * next cycle sends them again and Redis writes none twice. */
static void test_alert_dedup_failed_cycle(void) {
  ccp_redis_pub_t *p = pub_new("d2:", NULL);
  freeReplyObject(cmd("SET d2:v1:meta %s", "not a hash"));
  const char *al[] = {"{\"id\":\"f1\",\"at_ms\":1795000000000}",
                      "{\"id\":\"f2\",\"at_ms\":1795000000001}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, al, 2), -CCP_EINVAL);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_queued, 2);
  T_EQ_INT(st.cycles_failed, 1);
  T_EQ_INT(integer("XLEN %s", "d2:alerts"), 2); /* they landed */
  freeReplyObject(cmd("DEL d2:v1:meta"));
  const char *al3[] = {"{\"id\":\"f3\",\"at_ms\":1795000000002}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, al3, 1), 0);
  T_EQ_INT(integer("XLEN %s", "d2:alerts"), 3);
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_queued, 0);
  T_EQ_INT(st.alerts_published, 3);
  T_EQ_INT(st.alerts_repeated, 2);

  /* a refused script (the ids key of another type) writes nothing at all */
  freeReplyObject(cmd("SET d2:v1:alert_ids %s", "not a zset"));
  const char *al4[] = {"{\"id\":\"f4\",\"at_ms\":1795000000003}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, al4, 1), -CCP_EINVAL);
  T_EQ_INT(integer("XLEN %s", "d2:alerts"), 3);
  freeReplyObject(cmd("DEL d2:v1:alert_ids"));
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, NULL, 0), 0);
  entries_t en = stream_entries("d2:alerts");
  T_EQ_INT(en.n, 4);
  T_EQ_INT(entries_repeated_ids(&en), 0);
  entries_free(&en);
  ccp_redis_pub_free(p);
}

/* Different alerts are never merged: 10,050 distinct ids in one cycle (two
 * EVALs) all land, in order; the same again adds nothing. Alerts without a
 * string id are never held back. */
static void test_alert_dedup_many(void) {
  enum { N = 10050 };
  static char buf[N][64];
  static const char *al[N];
  for (int i = 0; i < N; i++) {
    snprintf(buf[i], sizeof buf[i], "{\"id\":\"m:%d\",\"at_ms\":%lld}", i, T0 + i);
    al[i] = buf[i];
  }
  ccp_redis_pub_t *p = pub_new("d3:", NULL);
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, al, N), 0);
  T_EQ_INT(integer("XLEN %s", "d3:alerts"), N);
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, al, N), 0);
  T_EQ_INT(integer("XLEN %s", "d3:alerts"), N);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.kind_cmds[CCP_RK_ALERT], 4); /* two EVALs a cycle */
  redisReply *r = cmd("XREVRANGE d3:alerts + - COUNT 1");
  T_EQ_STR(r->element[0]->element[1]->element[1]->str, buf[N - 1]);
  freeReplyObject(r);
  const char *noid[] = {"{\"type\":\"test\"}", "{\"type\":\"test\"}", "{\"id\":7}"};
  T_EQ_INT(ccp_redis_pub_cycle(p, NULL, noid, 3), 0);
  T_EQ_INT(integer("XLEN %s", "d3:alerts"), N + 3);
  ccp_redis_pub_free(p);
  freeReplyObject(cmd("DEL d3:alerts d3:v1:alert_ids"));
}

/* Alerts whose id and due time the caller gives (ccp_redis_cycle_t
 * alert_ids / alert_due, as `ccpulse run` gives its deadline alerts') are
 * remembered as if read from their JSON: the same alert parsed later is
 * held back, an entry NULL is parsed, and the ids' scores are the due times
 * given (not what the JSON says). */
static void test_alert_known_ids(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t0", "billing", CCP_CH_PHONE, NULL);
  ccp_view_t *v = tu_view_of(&cfg, e, T0 + MIN);
  ccp_engine_free(e);
  ccp_redis_pub_t *p = pub_new("d6:", NULL);
  char a[96], b[96];
  snprintf(a, sizeof a, "{\"id\":\"k:a\",\"at_ms\":%lld}", T0);
  snprintf(b, sizeof b, "{\"id\":\"k:b\",\"at_ms\":%lld}", T0 + 2);
  const char *json[] = {a, b};
  const char *ids[] = {"k:a", NULL};   /* b: read from its JSON */
  int64_t due[] = {T0 + 1, INT64_MIN}; /* a: the score given wins */
  ccp_redis_cycle_t c = {
      .view = v, .alerts = json, .nalerts = 2, .alert_ids = ids, .alert_due = due};
  T_EQ_INT(ccp_redis_pub_cycle_x(p, &c), 0);
  T_EQ_INT(integer("XLEN %s", "d6:alerts"), 2);
  redisReply *r = cmd("ZSCORE d6:v1:alert_ids %s", "k:a");
  T_TRUE(r && r->type == REDIS_REPLY_STRING && atoll(r->str) == T0 + 1);
  freeReplyObject(r);
  r = cmd("ZSCORE d6:v1:alert_ids %s", "k:b");
  T_TRUE(r && r->type == REDIS_REPLY_STRING && atoll(r->str) == T0 + 2);
  freeReplyObject(r);
  /* the same two, parsed this time, and a given id again: held back */
  T_EQ_INT(ccp_redis_pub_cycle(p, v, json, 2), 0);
  const char *ids2[] = {"k:b"};
  ccp_redis_cycle_t c2 = {
      .view = v, .alerts = json + 1, .nalerts = 1, .alert_ids = ids2, .alert_due = due};
  T_EQ_INT(ccp_redis_pub_cycle_x(p, &c2), 0);
  T_EQ_INT(integer("XLEN %s", "d6:alerts"), 2);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_repeated, 3);
  ccp_redis_pub_free(p);
  ccp_view_free(v);
  freeReplyObject(cmd("DEL d6:alerts d6:v1:alert_ids"));
}

/* Ids are remembered while their due time is within the window (at least
 * lateness, 5 m here) of the view's now; then trimmed, and an alert sent
 * again that late is written again (at least once). dedup_window_ms < 0
 * turns de-duplication off. */
static void test_alert_dedup_window(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  send_event(e, CCP_EV_OPENED, T0, "t0", "billing", CCP_CH_PHONE, NULL);
  ccp_view_t *v1 = tu_view_of(&cfg, e, T0 + MIN);
  ccp_view_t *v2 = tu_view_of(&cfg, e, T0 + 20 * MIN);
  ccp_engine_free(e);
  ccp_redis_pub_opts_t o = {.url = url,
                            .prefix = "d4:",
                            .cfg = &cfg,
                            .dedup_window_ms = 10 * MIN,
                            .quiet = getenv("CCP_TEST_VERBOSE") == NULL};
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  T_TRUE(p != NULL);
  if (!p)
    return;
  char a[64], b[64], c[64];
  snprintf(a, sizeof a, "{\"id\":\"w:a\",\"at_ms\":%lld}", T0);
  snprintf(b, sizeof b, "{\"id\":\"w:b\",\"at_ms\":%lld}", T0 + 15 * MIN);
  snprintf(c, sizeof c, "{\"id\":\"w:c\",\"now_ms\":%lld}", T0 + 11 * MIN);
  const char *ab[] = {a, b, c};
  T_EQ_INT(ccp_redis_pub_cycle(p, v1, ab, 3), 0);
  T_EQ_INT(integer("ZCARD %s", "d4:v1:alert_ids"), 3);
  /* now T0 + 20 m: ids due before T0 + 10 m are forgotten at the next alert */
  T_EQ_INT(ccp_redis_pub_cycle(p, v2, ab + 1, 2), 0);
  T_EQ_INT(integer("XLEN %s", "d4:alerts"), 3);
  T_EQ_INT(integer("ZCARD %s", "d4:v1:alert_ids"), 2);
  redisReply *r = cmd("ZSCORE d4:v1:alert_ids %s", "w:a");
  T_TRUE(r->type == REDIS_REPLY_NIL);
  freeReplyObject(r);
  T_EQ_INT(ccp_redis_pub_cycle(p, v2, ab, 1), 0); /* beyond the window: again */
  T_EQ_INT(integer("XLEN %s", "d4:alerts"), 4);
  ccp_redis_pub_free(p);

  o.dedup_window_ms = -1;
  o.prefix = "d5:";
  p = ccp_redis_pub_new(&o, err, sizeof err);
  T_EQ_INT(ccp_redis_pub_cycle(p, v1, ab, 1), 0);
  T_EQ_INT(ccp_redis_pub_cycle(p, v1, ab, 1), 0);
  T_EQ_INT(integer("XLEN %s", "d5:alerts"), 2);
  T_EQ_INT(integer("EXISTS %s", "d5:v1:alert_ids"), 0);
  ccp_redis_pub_free(p);
  ccp_view_free(v1);
  ccp_view_free(v2);
}

static void expect_url_error(const char *u, const char *needle) {
  char err[CCP_ERRBUF_SIZE] = "";
  T_EQ_INT(ccp_redis_url_check(u, err, sizeof err), -CCP_EINVAL);
  if (!strstr(err, needle))
    T_FAIL_("url \"%s\": got \"%s\", expected \"%s\"", u, err, needle);
}

static void test_url(void) {
  char err[CCP_ERRBUF_SIZE] = "";
  T_EQ_INT(ccp_redis_url_check("redis://127.0.0.1:6379/0", err, sizeof err), 0);
  T_EQ_INT(ccp_redis_url_check("redis://localhost", err, sizeof err), 0);
  T_EQ_INT(ccp_redis_url_check("redis://:secret@h:1/2", err, sizeof err), 0);
  T_EQ_INT(ccp_redis_url_check("redis://user:secret@h:1", err, sizeof err), 0);
  T_EQ_INT(ccp_redis_url_check("redis://[::1]:6380/", err, sizeof err), 0);
  expect_url_error("http://h:1", "invalid redis url 'http://h:1': must start with redis://");
  /* no TLS in hiredis 0.14: rediss:// says so and points to the tunnel */
  expect_url_error("rediss://:s3cret@h:6380", "'rediss://***@h:6380': TLS (rediss://) is not "
                                              "supported directly: run a TLS tunnel");
  expect_url_error("rediss://h:6380", "docs/operations.md, TLS and authentication");
  expect_url_error("", "empty");
  expect_url_error("redis://", "missing host");
  expect_url_error("redis://:6379", "missing host");
  expect_url_error("redis://h:0", "port must be 1..65535");
  expect_url_error("redis://h:99999", "port must be 1..65535");
  expect_url_error("redis://h:12x", "port must be 1..65535");
  expect_url_error("redis://h:1/abc", "database must be a number");
  expect_url_error("redis://[::1", "missing ']'");
  expect_url_error("redis://pw@h", "credentials");
  /* a password never appears in a message */
  expect_url_error("redis://u:s3cret@h:99999", "invalid redis url 'redis://***@h:99999'");
  T_EQ_INT(ccp_redis_url_check("redis://u:s3cret@h:1/x", err, sizeof err), -CCP_EINVAL);
  T_TRUE(strstr(err, "s3cret") == NULL);
  char shown[128];
  T_EQ_STR(ccp_redis_url_redact("redis://:pw@h:1/2", shown, sizeof shown), "redis://***@h:1/2");
  T_EQ_STR(ccp_redis_url_redact("redis://a@b:c@h", shown, sizeof shown), "redis://***@h");
  /* everything up to the last '@' is hidden, also past a '/': the password
   * of "redis://:pa/ss@h" must not show (ccp_config_redact_url) */
  T_EQ_STR(ccp_redis_url_redact("redis://h:1/x@y", shown, sizeof shown), "redis://***@y");
  T_EQ_INT(ccp_redis_url_check("redis://:pa/s3cret@h", err, sizeof err), -CCP_EINVAL);
  T_TRUE(strstr(err, "s3cret") == NULL);

  ccp_redis_pub_opts_t o = {.url = "redis://h:0", .cfg = &cfg};
  T_TRUE(ccp_redis_pub_new(&o, err, sizeof err) == NULL);
  T_TRUE(strstr(err, "port must be") != NULL);
  o.url = "redis://h:1";
  o.prefix = "bad prefix";
  T_TRUE(ccp_redis_pub_new(&o, err, sizeof err) == NULL);
  T_TRUE(strstr(err, "invalid redis prefix 'bad prefix'") != NULL);
}

int main(void) {
  tu_default_config(&cfg);
  T_RUN(test_url);
  if (ccp_t_failed) /* report a failure rather than a skip */
    return T_DONE();
  rc = redis_child_connect_or_skip(url, sizeof url);

  T_RUN(test_cycle);
  T_RUN(test_one_transaction);
  T_RUN(test_vanished_scopes);
  T_RUN(test_scope_set);
  T_RUN(test_changed_tiles_only);
  T_RUN(test_snapshot_interval);
  T_RUN(test_snapshot_pacing);
  T_RUN(test_wait_refresh);
  T_RUN(test_slow_cycle);
  T_RUN(test_refused_cycle);
  T_RUN(test_alert_dedup);
  T_RUN(test_alert_dedup_failed_cycle);
  T_RUN(test_alert_dedup_many);
  T_RUN(test_alert_dedup_window);
  T_RUN(test_alert_known_ids);
  T_RUN(test_queue_bound);
  T_RUN(test_queue_skipped);
  T_RUN(test_cycle_timeout);
  T_RUN(test_hung_server);
  T_RUN(test_hung_server_big_cycle);
  T_RUN(test_outage);

  if (rc)
    redisFree(rc);
  server_stop();
  ccp_config_release(&cfg);
  return T_DONE();
}
