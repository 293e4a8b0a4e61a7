/*
 * The wall (docs/wall.md): the page's routes on the embedded HTTP server and
 * one reader thread that follows what `ccpulse run` writes to Redis
 * (docs/redis.md) and posts it to four feeds, which every open page receives
 * as Server-Sent Events on /wall/events:
 *
 *   tiles   every publish cycle (meta's `cycle` or `published_ms` moved): the
 *           `gauges` tile and the `kpi` tiles of the windows 5m, 15m, 1h and
 *           today of every scope but agents, with meta's `cycle`, `now_ms`
 *           and `published_ms`, read in one MULTI/EXEC so they are one
 *           cycle's (the publisher writes a cycle in one transaction);
 *   agents  at most once a second, from the newest snapshot-stream entry:
 *           the top N agents by open tickets with their gauges and windows
 *           (score included);
 *   alerts  when the alerts stream grows (XREAD BLOCK): the latest 20
 *           alerts, newest first;
 *   status  when it changes: Redis reachable or not (with the error), and the
 *           settings document `<prefix>v1:wall` (publish interval, windows,
 *           alert rules) that run writes.
 *
 * The reader follows Redis only while a page is open (an event stream):
 * with none it reads nothing, and when one opens it reads everything again
 * at once (tiles, agents, the latest alerts, settings).
 *
 * A feed keeps only its latest message (a slow page skips to the present),
 * so every message is whole: tiles carry every scope, alerts the latest 20.
 * The reader never interprets a figure: tiles are parsed only to check they
 * are JSON (a key another program wrote with junk becomes null) and passed
 * on as they are.
 *
 * Threads: the reader thread alone owns the Redis connection and the reader
 * state below the `reader` comment; connection threads run stream_next()
 * and read only the feeds; the owner's thread runs new/start/stop/free.
 * `stop` is an atomic flag polled by the reader between commands (each
 * command waits at most poll_ms for data, 2 s for a dead server).
 */
#include "ccpulse/wall.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/clock.h"
#include "ccpulse/common.h"
#include "ccpulse/log.h"
#include "ccpulse/redis_pub.h"
#include "publish/ckpt_int.h"
#include "wall/assets.h"

/* The windows the page offers (its selector), in its order. */
static const char *const page_windows[] = {"5m", "15m", "1h", "today"};
#define NPW ((int)CCP_ARRAY_LEN(page_windows))

enum { F_TILES, F_AGENTS, F_ALERTS, F_STATUS, NFEEDS };
static const char *const feed_event[NFEEDS] = {"tiles", "agents", "alerts", "status"};

#define RECENT 20       /* alerts kept and sent */
#define MAX_SCOPES 5000 /* non-agent scopes read per cycle (more are left out, logged) */
#define HEARTBEAT_MS 15000

/* Only the page's own files: no inline script or style, nothing from elsewhere. */
static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct ccp_wall {
  ccp_http_t *h;
  char *url, *prefix;
  int agents;
  int64_t poll_ms;
  ccp_http_feed_t *feeds[NFEEDS];
  ccp_http_feed_t *bell; /* posted after any feed: what a stream blocks on */
  pthread_t th;
  int started;
  atomic_int stop;  /* relaxed is enough: a flag polled, no data published with it */
  atomic_int pages; /* open event streams (relaxed: a count polled by the reader) */

  /* reader thread only */
  redisContext *ctx;
  char alert_last[64]; /* id of the newest alert read */
  char *recent[RECENT];
  int nrecent;        /* recent[0] is the newest */
  char snap_last[64]; /* id of the newest snapshot entry read, "" none */
  char meta_seen[64]; /* "cycle/published_ms" last posted */
  char *settings;     /* validated JSON of <prefix>v1:wall, or NULL */
  char status_err[256];
  int up; /* -1 unknown, 0 down, 1 connected */
  ccp_buf_t last_status;
  int64_t next_slow_ms; /* monotonic time of the next agents/settings read */
  int idle;             /* no page was open at the last look: nothing read meanwhile */
};

/* ---- routes ------------------------------------------------------------- */

static const ccp__wall_asset_t *asset(const char *name) {
  for (int i = 0; i < ccp__wall_nassets; i++)
    if (strcmp(ccp__wall_assets[i].name, name) == 0)
      return &ccp__wall_assets[i];
  return NULL;
}

static void security_headers(ccp_http_resp_t *resp) {
  ccp_http_resp_header(resp, "Content-Security-Policy", csp);
  ccp_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
  ccp_http_resp_header(resp, "Referrer-Policy", "no-referrer");
}

/* /wall/ and its files: embedded bytes, not copied. */
static int serve_file(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  const char *path = ccp_http_req_path(req), *name = NULL, *type = NULL;
  if (strcmp(path, "/wall/") == 0 || strcmp(path, "/wall/index.html") == 0)
    name = "wall.html", type = "text/html; charset=utf-8";
  else if (strcmp(path, "/wall/wall.css") == 0)
    name = "wall.css", type = "text/css; charset=utf-8";
  else if (strcmp(path, "/wall/wall.js") == 0)
    name = "wall.js", type = "text/javascript; charset=utf-8";
  const ccp__wall_asset_t *a = name ? asset(name) : NULL;
  security_headers(resp);
  if (!a) {
    ccp_http_resp_text(resp, 404, "not found\n");
    return 0;
  }
  ccp_http_resp_header(resp, "Content-Type", type);
  ccp_http_resp_header(resp, "Cache-Control", "no-cache");
  ccp_http_resp_static(resp, a->data, a->len);
  return 0;
}

static int redirect(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  security_headers(resp);
  ccp_http_resp_header(resp, "Location", "/wall/");
  ccp_http_resp_text(resp, 302, "the wall is at /wall/\n");
  return 0;
}

/* One page's event stream: the feeds' sequence numbers it has sent. */
typedef struct conn {
  ccp_wall_t *w;
  uint64_t seq[NFEEDS], bell_seq;
  ccp_buf_t msg;
  int started;
} conn_t;

static void conn_free(void *ctx) {
  conn_t *c = ctx;
  atomic_fetch_sub_explicit(&c->w->pages, 1, memory_order_relaxed);
  ccp_buf_release(&c->msg);
  ccp_free(c);
}

/* @locality connection thread: sends what any feed has new, else waits on the bell. */
static int stream_next(void *ctx, ccp_buf_t *out) {
  conn_t *c = ctx;
  if (!c->started) {
    c->started = 1;
    ccp_buf_puts(out, "retry: 1000\n\n"); /* the browser reconnects after 1 s */
  }
  for (int i = 0; i < NFEEDS; i++) {
    int r = ccp_http_feed_wait(c->w->feeds[i], &c->seq[i], &c->msg, 0);
    if (r < 0)
      return -1;
    if (r == 1)
      ccp_http_sse_format(out, feed_event[i], NULL, c->msg.data, c->msg.len);
  }
  if (out->len)
    return 0;
  int r = ccp_http_feed_wait(c->w->bell, &c->bell_seq, &c->msg, HEARTBEAT_MS);
  if (r < 0)
    return -1;
  if (r == 0)
    ccp_buf_puts(out, ": ping\n\n");
  return 0; /* after a bell: called again at once, and reads the feeds */
}

static int serve_events(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  conn_t *c = ccp_calloc(1, sizeof *c);
  c->w = opaque;
  atomic_fetch_add_explicit(&c->w->pages, 1, memory_order_relaxed);
  ccp_buf_init(&c->msg);
  ccp_http_resp_header(resp, "Content-Type", "text/event-stream");
  ccp_http_resp_header(resp, "Cache-Control", "no-store");
  ccp_http_resp_header(resp, "X-Accel-Buffering", "no");
  security_headers(resp);
  ccp_http_resp_stream(resp, stream_next, c, conn_free);
  return 0;
}

/* ---- the reader: Redis -> feeds ----------------------------------------- */

static void post(ccp_wall_t *w, int feed, const char *data, size_t len) {
  ccp_http_feed_post(w->feeds[feed], data, len);
  ccp_http_feed_post(w->bell, "!", 1);
}

static void post_json(ccp_wall_t *w, int feed, json_t *doc) {
  char *s = json_dumps(doc, JSON_COMPACT);
  if (s) {
    post(w, feed, s, strlen(s));
    free(s);
  }
}

static void post_status(ccp_wall_t *w) {
  json_t *st = json_object();
  json_object_set_new(st, "redis", json_string(w->up == 1 ? "ok" : "down"));
  json_object_set_new(st, "error", w->up == 1 ? json_null() : json_string(w->status_err));
  json_t *set = w->settings ? json_loads(w->settings, 0, NULL) : NULL;
  json_object_set_new(st, "settings", set ? set : json_null());
  json_object_set_new(st, "agents", json_integer(w->agents));
  char *s = json_dumps(st, JSON_COMPACT);
  json_decref(st);
  if (!s)
    return;
  size_t n = strlen(s);
  if (n != w->last_status.len || memcmp(s, w->last_status.data, n) != 0) {
    ccp_buf_clear(&w->last_status);
    ccp_buf_append(&w->last_status, s, n);
    post(w, F_STATUS, s, n);
  }
  free(s);
}

/* Sends a command; NULL (and the connection dropped) when the server is gone. */
static redisReply *cmd(ccp_wall_t *w, int argc, const char **argv) {
  redisReply *r = redisCommandArgv(w->ctx, argc, argv, NULL);
  if (!r || w->ctx->err) {
    snprintf(w->status_err, sizeof w->status_err, "%s", w->ctx->err ? w->ctx->errstr : "no reply");
    if (r)
      freeReplyObject(r);
    redisFree(w->ctx);
    w->ctx = NULL;
    return NULL;
  }
  return r;
}

static void key(char *out, size_t len, const ccp_wall_t *w, const char *rest) {
  snprintf(out, len, "%s%s", w->prefix, rest);
}

/* A JSON text from Redis, or NULL when it is not JSON. */
static json_t *parse_tile(const redisReply *r) {
  if (!r || r->type != REDIS_REPLY_STRING)
    return NULL;
  return json_loadb(r->str, r->len, JSON_DECODE_ANY, NULL);
}

static void remember_alert(ccp_wall_t *w, const char *json, size_t len) {
  json_t *a = json_loadb(json, len, 0, NULL);
  if (!a || !json_is_object(a)) {
    ccp_log(CCP_LOG_WARN, "wall", "an alert on the stream is not a JSON object; skipped");
    json_decref(a);
    return;
  }
  char *s = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  if (!s)
    return;
  if (w->nrecent == RECENT)
    free(w->recent[--w->nrecent]);
  memmove(w->recent + 1, w->recent, (size_t)w->nrecent * sizeof *w->recent);
  w->recent[0] = s;
  w->nrecent++;
}

static void post_alerts(ccp_wall_t *w) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_buf_putc(&b, '[');
  for (int i = 0; i < w->nrecent; i++) {
    if (i)
      ccp_buf_putc(&b, ',');
    ccp_buf_puts(&b, w->recent[i]);
  }
  ccp_buf_putc(&b, ']');
  post(w, F_ALERTS, b.data, b.len);
  ccp_buf_release(&b);
}

/* The `json` field of a stream entry [id, [field, value, ...]], or NULL. */
static const redisReply *entry_json(const redisReply *e) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[1]->type != REDIS_REPLY_ARRAY)
    return NULL;
  const redisReply *f = e->element[1];
  for (size_t i = 0; i + 1 < f->elements; i += 2)
    if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, "json") == 0 &&
        f->element[i + 1]->type == REDIS_REPLY_STRING)
      return f->element[i + 1];
  return NULL;
}

/* At connect: the latest RECENT alerts and where the stream is. */
static int load_alerts(ccp_wall_t *w) {
  char k[600];
  key(k, sizeof k, w, "alerts");
  const char *argv[] = {"XREVRANGE", k, "+", "-", "COUNT", "20"};
  redisReply *r = cmd(w, 6, argv);
  if (!r)
    return -1;
  for (int i = 0; i < w->nrecent; i++)
    free(w->recent[i]);
  w->nrecent = 0;
  snprintf(w->alert_last, sizeof w->alert_last, "0-0");
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t i = r->elements; i-- > 0;) { /* oldest first, so recent[0] ends newest */
      const redisReply *e = r->element[i], *j = entry_json(e);
      if (j)
        remember_alert(w, j->str, j->len);
      if (i == 0 && e->type == REDIS_REPLY_ARRAY && e->element[0]->type == REDIS_REPLY_STRING)
        snprintf(w->alert_last, sizeof w->alert_last, "%s", e->element[0]->str);
    }
  }
  freeReplyObject(r);
  post_alerts(w);
  return 0;
}

/* Waits up to poll_ms for new alerts; posts them. */
static int read_alerts(ccp_wall_t *w) {
  char k[600], block[24];
  key(k, sizeof k, w, "alerts");
  snprintf(block, sizeof block, "%lld", (long long)w->poll_ms);
  const char *argv[] = {"XREAD", "COUNT", "100", "BLOCK", block, "STREAMS", k, w->alert_last};
  redisReply *r = cmd(w, 8, argv);
  if (!r)
    return -1;
  int got = 0;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
      r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
    const redisReply *es = r->element[0]->element[1];
    for (size_t i = 0; es->type == REDIS_REPLY_ARRAY && i < es->elements; i++) {
      const redisReply *e = es->element[i], *j = entry_json(e);
      if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
          e->element[0]->type == REDIS_REPLY_STRING)
        snprintf(w->alert_last, sizeof w->alert_last, "%s", e->element[0]->str);
      if (j) {
        remember_alert(w, j->str, j->len);
        got++;
      }
    }
  }
  freeReplyObject(r);
  if (got)
    post_alerts(w);
  return 0;
}

/* "all" and the non-agent scopes of the scope set <prefix>v1:scope_set:
 * its scores (docs/redis.md) keep the agents at 1, so the channels and the
 * queues are those scored 2 and up, and 20,000 agents are not read. */
static json_t *read_scopes(ccp_wall_t *w, int *err) {
  char k[600];
  key(k, sizeof k, w, "v1:scope_set");
  const char *argv[] = {"ZRANGEBYSCORE", k, "2", "+inf"};
  redisReply *r = cmd(w, 4, argv);
  *err = r == NULL;
  json_t *out = json_array();
  json_array_append_new(out, json_string("all"));
  for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
    const char *s = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : NULL;
    if (!s || strncmp(s, "agent:", 6) == 0 || strcmp(s, "all") == 0)
      continue;
    if (json_array_size(out) == MAX_SCOPES) {
      ccp_log(CCP_LOG_WARN, "wall", "more than %d scopes: the wall shows the first %d", MAX_SCOPES,
              MAX_SCOPES);
      break;
    }
    json_array_append_new(out, json_string(s));
  }
  if (r)
    freeReplyObject(r);
  return out;
}

static long long reply_ll(const redisReply *r) {
  return r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;
}

/* Posts the tiles when meta says a new cycle was written. */
static int read_tiles(ccp_wall_t *w) {
  char mk[600];
  key(mk, sizeof mk, w, "v1:meta");
  const char *hm[] = {"HMGET", mk, "cycle", "published_ms"};
  redisReply *r = cmd(w, 4, hm);
  if (!r)
    return -1;
  char seen[64] = "";
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
    snprintf(seen, sizeof seen, "%lld/%lld", reply_ll(r->element[0]), reply_ll(r->element[1]));
  freeReplyObject(r);
  if (strcmp(seen, w->meta_seen) == 0)
    return 0;

  int err;
  json_t *scopes = read_scopes(w, &err);
  if (err) {
    json_decref(scopes);
    return -1;
  }
  size_t ns = json_array_size(scopes), nkeys = ns * (1 + NPW);
  char **keys = ccp_calloc(nkeys + 2, sizeof *keys);
  const char **argv = ccp_calloc(nkeys + 2, sizeof *argv);
  argv[0] = "MGET";
  for (size_t i = 0; i < ns; i++) {
    const char *s = json_string_value(json_array_get(scopes, i));
    size_t n = strlen(w->prefix) + strlen(s) + 32;
    keys[i * (1 + NPW)] = ccp_malloc(n);
    snprintf(keys[i * (1 + NPW)], n, "%sv1:gauges:%s", w->prefix, s);
    for (int j = 0; j < NPW; j++) {
      keys[i * (1 + NPW) + 1 + (size_t)j] = ccp_malloc(n);
      snprintf(keys[i * (1 + NPW) + 1 + (size_t)j], n, "%sv1:kpi:%s:%s", w->prefix, s,
               page_windows[j]);
    }
  }
  for (size_t i = 0; i < nkeys; i++)
    argv[1 + i] = keys[i];
  /* meta and the tiles of one cycle: the publisher writes a cycle in one MULTI/EXEC */
  const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
  const char *hm2[] = {"HMGET", mk, "cycle", "published_ms", "now_ms"};
  redisAppendCommandArgv(w->ctx, 1, multi, NULL);
  redisAppendCommandArgv(w->ctx, 5, hm2, NULL);
  redisAppendCommandArgv(w->ctx, (int)nkeys + 1, argv, NULL);
  redisAppendCommandArgv(w->ctx, 1, exec, NULL);
  redisReply *rep[4] = {NULL};
  int rc = 0;
  for (int i = 0; i < 4; i++) {
    void *p = NULL;
    if (redisGetReply(w->ctx, &p) != REDIS_OK) {
      snprintf(w->status_err, sizeof w->status_err, "%s", w->ctx->errstr);
      redisFree(w->ctx);
      w->ctx = NULL;
      rc = -1;
      break;
    }
    rep[i] = p;
  }
  const redisReply *ex = rep[3];
  if (rc == 0 && ex && ex->type == REDIS_REPLY_ARRAY && ex->elements == 2 &&
      ex->element[0]->type == REDIS_REPLY_ARRAY && ex->element[0]->elements == 3 &&
      ex->element[1]->type == REDIS_REPLY_ARRAY && ex->element[1]->elements == nkeys) {
    const redisReply *meta = ex->element[0], *tiles = ex->element[1];
    json_t *doc = json_object(), *arr = json_array();
    json_object_set_new(doc, "cycle", json_integer(reply_ll(meta->element[0])));
    json_object_set_new(doc, "published_ms", json_integer(reply_ll(meta->element[1])));
    json_object_set_new(doc, "now_ms", json_integer(reply_ll(meta->element[2])));
    for (size_t i = 0; i < ns; i++) {
      json_t *sc = json_object(), *wins = json_object();
      json_object_set(sc, "scope", json_array_get(scopes, i));
      json_t *g = parse_tile(tiles->element[i * (1 + NPW)]);
      json_object_set_new(sc, "gauges", g ? g : json_null());
      for (int j = 0; j < NPW; j++) {
        json_t *t = parse_tile(tiles->element[i * (1 + NPW) + 1 + (size_t)j]);
        json_object_set_new(wins, page_windows[j], t ? t : json_object());
      }
      json_object_set_new(sc, "windows", wins);
      json_array_append_new(arr, sc);
    }
    json_object_set_new(doc, "scopes", arr);
    post_json(w, F_TILES, doc);
    json_decref(doc);
    snprintf(w->meta_seen, sizeof w->meta_seen, "%s", seen);
  } else if (rc == 0) {
    ccp_log(CCP_LOG_WARN, "wall", "unexpected reply reading the tiles (%s); retrying",
            ex && ex->type == REDIS_REPLY_ERROR ? ex->str : "shape");
  }
  for (int i = 0; i < 4; i++)
    if (rep[i])
      freeReplyObject(rep[i]);
  for (size_t i = 0; i < nkeys; i++)
    ccp_free(keys[i]);
  ccp_free(keys);
  ccp_free(argv);
  json_decref(scopes);
  return rc;
}

typedef struct agent_row {
  const char *id;
  json_t *scope;
  json_int_t open;
} agent_row_t;

static int by_open(const void *a, const void *b) {
  const agent_row_t *x = a, *y = b;
  if (x->open != y->open)
    return x->open > y->open ? -1 : 1;
  return strcmp(x->id, y->id);
}

/* The agents table from a snapshot document. */
static void post_agents(ccp_wall_t *w, const char *json, size_t len) {
  json_t *doc = json_loadb(json, len, 0, NULL), *scopes = json_object_get(doc, "scopes");
  if (!json_is_object(scopes)) {
    ccp_log(CCP_LOG_WARN, "wall", "the newest snapshot entry is not a snapshot document");
    json_decref(doc);
    return;
  }
  size_t n = 0, cap = 64;
  agent_row_t *rows = ccp_malloc(cap * sizeof *rows);
  const char *k;
  json_t *v;
  json_object_foreach(scopes, k, v) {
    if (strncmp(k, "agent:", 6) != 0)
      continue;
    if (n == cap)
      rows = ccp_realloc(rows, (cap *= 2) * sizeof *rows);
    json_t *open = json_object_get(json_object_get(v, "gauges"), "open");
    rows[n++] = (agent_row_t){k + 6, v, json_is_integer(open) ? json_integer_value(open) : 0};
  }
  qsort(rows, n, sizeof *rows, by_open);
  json_t *out = json_object(), *arr = json_array();
  json_object_set(out, "now_ms", json_object_get(doc, "now_ms"));
  json_object_set_new(out, "total", json_integer((json_int_t)n));
  for (size_t i = 0; i < n && i < (size_t)w->agents; i++) {
    json_t *a = json_object(), *wins = json_object(),
           *sw = json_object_get(rows[i].scope, "windows");
    json_object_set_new(a, "agent", json_string(rows[i].id));
    json_object_set(a, "gauges", json_object_get(rows[i].scope, "gauges"));
    for (int j = 0; j < NPW; j++) {
      json_t *t = json_object_get(sw, page_windows[j]);
      json_object_set_new(wins, page_windows[j], t ? json_incref(t) : json_object());
    }
    json_object_set_new(a, "windows", wins);
    json_array_append_new(arr, a);
  }
  json_object_set_new(out, "agents", arr);
  post_json(w, F_AGENTS, out);
  json_decref(out);
  ccp_free(rows);
  json_decref(doc);
}

/* Once a second: the settings document and a newer snapshot entry, if any. */
static int read_slow(ccp_wall_t *w) {
  char k[600];
  key(k, sizeof k, w, "v1:wall");
  const char *g[] = {"GET", k};
  redisReply *r = cmd(w, 2, g);
  if (!r)
    return -1;
  json_t *s = parse_tile(r);
  freeReplyObject(r);
  free(w->settings); /* json_dumps: malloc */
  w->settings = NULL;
  if (json_is_object(s))
    w->settings = json_dumps(s, JSON_COMPACT);
  json_decref(s);
  post_status(w);

  key(k, sizeof k, w, "snapshots");
  char from[80];
  if (w->snap_last[0])
    snprintf(from, sizeof from, "(%s", w->snap_last); /* exclusive: Redis >= 6.2 */
  else
    snprintf(from, sizeof from, "-");
  const char *x[] = {"XREVRANGE", k, "+", from, "COUNT", "1"};
  if (!(r = cmd(w, 6, x)))
    return -1;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
    const redisReply *e = r->element[0], *j = entry_json(e);
    if (e->type == REDIS_REPLY_ARRAY && e->element[0]->type == REDIS_REPLY_STRING)
      snprintf(w->snap_last, sizeof w->snap_last, "%s", e->element[0]->str);
    if (j)
      post_agents(w, j->str, j->len);
  } else if (r->type == REDIS_REPLY_ERROR) {
    ccp_log(CCP_LOG_WARN, "wall", "cannot read the snapshot stream: %s", r->str);
  }
  freeReplyObject(r);
  return 0;
}

static void sleep_unless_stopped(ccp_wall_t *w, int64_t ms) {
  for (int64_t t = 0; t < ms && !atomic_load_explicit(&w->stop, memory_order_relaxed); t += 50)
    ccp_clock_sleep_ms(50);
}

static void *reader_main(void *arg) {
  ccp_wall_t *w = arg;
  char shown[1100], what[256];
  ccp_redis_url_redact(w->url, shown, sizeof shown);
  while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
    if (!w->ctx) {
      w->ctx = ccp__redis_connect(w->url, 500, 2000, NULL, 0, what, sizeof what);
      if (!w->ctx || load_alerts(w) != 0) {
        if (w->ctx) {
          redisFree(w->ctx);
          w->ctx = NULL;
        } else {
          snprintf(w->status_err, sizeof w->status_err, "%s", what);
        }
        if (w->up != 0)
          ccp_log(CCP_LOG_WARN, "wall", "cannot read redis '%s': %s; retrying every 500 ms", shown,
                  w->status_err);
        w->up = 0;
        post_status(w);
        sleep_unless_stopped(w, 500);
        continue;
      }
      ccp_log(CCP_LOG_INFO, "wall", "reading redis '%s'", shown);
      w->up = 1;
      w->meta_seen[0] = w->snap_last[0] = '\0'; /* everything again after a reconnect */
      w->next_slow_ms = 0;
    }
    if (!atomic_load_explicit(&w->pages, memory_order_relaxed)) {
      /* no page open: nothing to follow (parsing every cycle's tiles was a
       * tenth of the CPU of `ccpulse run` at 10,000 events/s); a page that
       * opens gets everything at once */
      w->idle = 1;
      sleep_unless_stopped(w, 50);
      continue;
    }
    if (w->idle) {
      w->idle = 0;
      w->meta_seen[0] = w->snap_last[0] = '\0';
      w->next_slow_ms = 0;
      if (load_alerts(w) != 0)
        continue;
    }
    int64_t now = ccp_clock_mono_ms();
    if (now >= w->next_slow_ms) {
      w->next_slow_ms = now + 1000;
      if (read_slow(w) != 0)
        continue;
    }
    if (read_tiles(w) != 0 || read_alerts(w) != 0)
      continue;
  }
  if (w->ctx)
    redisFree(w->ctx);
  w->ctx = NULL;
  return NULL;
}

/* ---- life cycle ----------------------------------------------------------- */

ccp_wall_t *ccp_wall_new(ccp_http_t *h, const ccp_wall_opts_t *o, char *errbuf, size_t errlen) {
  if (ccp_redis_url_check(o->redis_url, errbuf, errlen) != 0)
    return NULL;
  ccp_wall_t *w = ccp_calloc(1, sizeof *w);
  w->h = h;
  w->url = ccp_strdup(o->redis_url);
  w->prefix = ccp_strdup(o->prefix ? o->prefix : "ccpulse:");
  w->agents = o->agents > 0 ? o->agents : CCP_WALL_AGENTS_DEFAULT;
  w->poll_ms = o->poll_ms > 0 ? o->poll_ms : 25;
  w->up = -1;
  ccp_buf_init(&w->last_status);
  for (int i = 0; i < NFEEDS; i++)
    w->feeds[i] = ccp_http_feed_new(h);
  w->bell = ccp_http_feed_new(h);
  if (ccp_http_route(h, "/wall/events", serve_events, w) != 0 ||
      ccp_http_route(h, "/wall", redirect, w) != 0 || ccp_http_route(h, "/", redirect, w) != 0 ||
      ccp_http_route_prefix(h, "/wall/", serve_file, w) != 0) {
    snprintf(errbuf, errlen, "cannot add the wall's routes (server already started)");
    ccp_wall_free(w);
    return NULL;
  }
  return w;
}

int ccp_wall_start(ccp_wall_t *w) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the reader blocks every signal */
  w->started = pthread_create(&w->th, NULL, reader_main, w) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return w->started ? 0 : -CCP_EIO;
}

void ccp_wall_stop(ccp_wall_t *w) {
  if (!w || !w->started)
    return;
  atomic_store_explicit(&w->stop, 1, memory_order_relaxed);
  pthread_join(w->th, NULL);
  w->started = 0;
}

void ccp_wall_free(ccp_wall_t *w) {
  if (!w)
    return;
  ccp_wall_stop(w);
  for (int i = 0; i < w->nrecent; i++)
    free(w->recent[i]);
  ccp_buf_release(&w->last_status);
  free(w->settings); /* json_dumps: malloc */
  ccp_free(w->url);
  ccp_free(w->prefix);
  ccp_free(w);
}

int ccp_wall_serve(const char *listen, const ccp_wall_opts_t *o, ccp_http_t **hp, ccp_wall_t **wp,
                   char *errbuf, size_t errlen) {
  *hp = NULL;
  *wp = NULL;
  ccp_http_t *h = ccp_http_new();
  ccp_wall_t *w = ccp_wall_new(h, o, errbuf, errlen);
  int rc = -CCP_EINVAL;
  if (!w)
    goto fail;
  if ((rc = ccp_http_start(h, listen, errbuf, errlen)) != 0)
    goto fail;
  if ((rc = ccp_wall_start(w)) != 0) {
    snprintf(errbuf, errlen, "cannot start the wall's reader thread");
    goto fail;
  }
  *hp = h;
  *wp = w;
  return 0;
fail:
  ccp_http_stop(h);
  ccp_wall_free(w);
  ccp_http_free(h);
  return rc;
}

void ccp_wall_serve_end(ccp_http_t *h, ccp_wall_t *w) {
  ccp_wall_stop(w);
  ccp_http_stop(h); /* ends the pages' streams */
  ccp_wall_free(w);
  ccp_http_free(h);
}

const char *ccp_wall_url(const char *listen, int port, char *out, size_t outlen) {
  const char *colon = strrchr(listen, ':');
  size_t hl = colon ? (size_t)(colon - listen) : strlen(listen);
  char host[256];
  snprintf(host, sizeof host, "%.*s", (int)(hl < sizeof host ? hl : sizeof host - 1), listen);
  const char *shown = host;
  if (!host[0] || strcmp(host, "0.0.0.0") == 0)
    shown = "127.0.0.1";
  else if (strcmp(host, "[::]") == 0)
    shown = "[::1]";
  snprintf(out, outlen, "http://%s:%d/wall/", shown, port);
  return out;
}

/* ---- the settings document ---------------------------------------------- */

void ccp_wall_settings_json(int64_t publish_interval_ms, const char *const *windows, int nwindows,
                            const char *rules_json, ccp_buf_t *out) {
  ccp_buf_puts(out, "{\"schema\":\"ccpulse.wall.v1\",\"publish_interval_ms\":");
  ccp_buf_put_i64(out, publish_interval_ms);
  ccp_buf_puts(out, ",\"windows\":[");
  for (int i = 0; i < nwindows; i++) {
    if (i)
      ccp_buf_putc(out, ',');
    ccp_buf_put_json_str(out, windows[i], strlen(windows[i]));
  }
  ccp_buf_puts(out, "],\"rules\":");
  ccp_buf_puts(out, rules_json ? rules_json : "[]");
  ccp_buf_putc(out, '}');
}

int ccp_wall_settings_write(const char *redis_url, const char *prefix, const char *json,
                            char *errbuf, size_t errlen) {
  char what[256], k[600];
  redisContext *ctx = ccp__redis_connect(redis_url, 500, 2000, NULL, 0, what, sizeof what);
  if (!ctx) {
    snprintf(errbuf, errlen, "%s", what);
    return -CCP_EIO;
  }
  snprintf(k, sizeof k, "%sv1:wall", prefix ? prefix : "ccpulse:");
  const char *argv[] = {"SET", k, json};
  redisReply *r = redisCommandArgv(ctx, 3, argv, NULL);
  int rc = 0;
  if (!r || r->type == REDIS_REPLY_ERROR) {
    snprintf(errbuf, errlen, "%s", r ? r->str : ctx->errstr);
    rc = -CCP_EIO;
  }
  if (r)
    freeReplyObject(r);
  redisFree(ctx);
  return rc;
}
