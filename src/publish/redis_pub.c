/*
 * The Redis publisher (docs/redis.md is the consumer contract).
 *
 * One cycle = one pipelined MULTI ... EXEC: an MSET of the KPI tiles and
 * gauges that changed (in a slow cycle also the scope documents that
 * changed), a DEL of the tiles of scopes that left the view, a ZADD of the
 * scopes that came and a ZREM of those that left to the scope set (one of
 * each per 100,000 keys), in a slow cycle the snapshot's XADD, an XADD
 * and a PUBLISH per queued alert, and the meta hash. Commands are written as
 * RESP into one buffer, kept from cycle to cycle, sent to the socket at once
 * (send_cmds: not through hiredis' output buffer, a fresh copy each cycle),
 * and all replies are read with hiredis after EXEC, so a cycle costs one
 * round trip. Redis applies a transaction
 * whole (PUBLISH inside it is delivered at EXEC); when a queued command is
 * refused Redis discards the transaction (EXECABORT); a runtime error inside
 * EXEC (WRONGTYPE on a key another program wrote) is the one case where part
 * of a cycle lands — the cycle then counts as failed and its alerts are sent
 * again with the next.
 *
 * Publishing follows change: the publisher remembers, per scope, a hash of
 * each tile it last wrote successfully (one per window, the gauges, the
 * scope document) and writes only tiles whose hash changed; the view hands
 * out the hash of each rendered window object, so an unchanged window costs
 * neither formatting nor bytes. The gauges and scope hashes leave out now:
 * longest_wait_ms moves with it in every scope where a ticket waits, so a
 * tile whose only change is longest_wait_ms is rewritten once the value it
 * holds (the stream time it was written at is kept) is wait_refresh_ms
 * behind; the gauges tile carries waiting_since_ms, from which a reader
 * gets the exact wait. Slow cycles, at most one per snapshot_interval_ms (on
 * a grid: the first cycle at or after each due time) and the final one,
 * also write the scope documents that changed and the snapshot entry; the
 * scope documents repeat the tiles and were most of the bytes when written
 * every cycle. The scope set (a sorted set: scopes change one at a time, and
 * a whole JSON list of 20,000 names rewritten for each was 280 KB a second)
 * gets only the scopes that came or left, in the cycle their tiles come or
 * go. The final cycle writes every value exact.
 * meta goes out every cycle. After a failed cycle or a (re)connect every
 * hash is forgotten and the next cycle writes everything, the scope set
 * whole (a DEL, then a ZADD of every scope).
 *
 * Alerts wait in a bounded ring until a cycle with them succeeds; a failed
 * cycle leaves the ring as it was. Each alert id goes out once: one EVAL of
 * a small Lua script (alerts_lua, below) inside the cycle's MULTI writes the
 * alerts whose id is not remembered to the stream and the channel and adds
 * their ids to a sorted set (id -> due time): a deadline alert of a
 * partition (with checkpoints) to <prefix>v1:alert_ids:<topic>:<p>, which
 * only a stored checkpoint of that partition trims, below its alert floor
 * (ckpt_store.c), so no restore can fire an alert whose id is gone; any
 * other alert to <prefix>v1:alert_ids, trimmed by the window of stream time.
 * So a failed cycle de-duplicates nothing, and an alert sent again — after
 * a lost EXEC reply, a runtime error in another command of a cycle whose
 * script ran, a restart that re-reads events, by a second instance — finds
 * its id and is not written twice. Tiles are absolute values: nothing to
 * redo.
 *
 * Redis away: the context is dropped, and a connect is tried only when the
 * backoff delay (doubling from backoff_min to backoff_max) has passed, so a
 * cycle in between returns at once. Errors are logged one line each
 * through ccp_log (component "redis"), whose per-call-site rate limit keeps
 * an outage from flooding the log and counts what it suppressed; the
 * counters of the outage (reconnects, cycles_failed, alerts_dropped) go to
 * the meta hash. Credentials of the URL never appear in a message.
 *
 * Threads: everything here runs on the publisher's thread; the hiredis
 * context is not thread-safe and never leaves it.
 */
#include "ccpulse/redis_pub.h"

#include <ctype.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h> /* sdslen of the context's output buffer */
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ccpulse/buf.h"
#include "ccpulse/clock.h"
#include "ccpulse/common.h"
#include "ccpulse/config.h"
#include "ccpulse/log.h"
#include "publish/ckpt_int.h"

/** Schema of the key layout; bumped with any incompatible change (docs/redis.md). */
#define LAYOUT_SCHEMA "ccpulse.redis.v1"

/* What the publisher last wrote for one scope: hashes of the tiles, h[w] for
 * window w, then the gauges and the scope document (0 = unknown), and the
 * stream time each of the last two was written at (the longest_wait_ms it
 * holds). The gauges and scope hashes are of their figures without now:
 * longest_wait_ms alone does not change them. */
enum { H_GAUGES = CCP_MAX_WINDOWS, H_SCOPE = CCP_MAX_WINDOWS + 1, H__COUNT };
typedef struct known {
  char *name;
  uint64_t h[H__COUNT];
  int64_t gauges_now, scope_now;
} known_t;

/* What the publisher reads from a queued alert for de-duplication. */
typedef struct alert_meta {
  size_t id_len;     /* 0: no string "id": never de-duplicated */
  int64_t due;       /* at_ms, else now_ms; INT64_MIN: neither (the cycle's now) */
  int32_t partition; /* whose ids set: the partition's (>= 0), else the global one (-1) */
} alert_meta_t;

typedef struct url {
  char host[256];
  int port;
  int db;
  char user[128];
  char password[256];
} url_t;

struct ccp_redis_pub {
  ccp_redis_pub_opts_t o;
  url_t url;
  char addr[300]; /* "host:port" for messages */
  char *prefix;
  redisContext *ctx;
  int ever_connected;
  int timeout_fixed; /* ccp_redis_pub_set_timeouts() was called: no stretching */

  /* backoff */
  int64_t next_attempt_ms; /* monotonic; connect allowed from then on */
  int64_t backoff_ms;      /* delay after the next failure */

  /* alert ring: oldest at head; ring[i] holds the JSON (ring_len[i] bytes), a
   * NUL, the id (ring_meta[i].id_len bytes) and a NUL */
  char **ring;
  size_t *ring_len;
  struct alert_meta *ring_meta;
  size_t ring_cap, ring_head, ring_n;
  int alert_cmd_first, alert_cmd_n; /* the cycle's EVALs: commands [first, first + n) */
  uint64_t cycle_alerts_new;        /* alerts the cycle's EVALs wrote (their replies) */

  /* scopes written by the last successful cycle (sorted bytewise, names
   * owned), plus those found in Redis at connect: their tiles are deleted
   * when they leave; h[] are the hashes of what was written (0: unknown) */
  known_t *prev;
  int nprev;
  int known_next; /* find_known's guess: the entry after the last one found */
  known_t *next;  /* this cycle's scopes (names borrowed from the view) */
  int nnext, next_cap;
  int set_known;        /* Redis' scope set (v1:scope_set) holds exactly prev's names; 0: unknown */
  int64_t slow_next_ms; /* monotonic: the next slow cycle is due; 0: now */
  int64_t slow_pending_due; /* the due time this cycle answers as a slow one; -1: not slow */
  int snap_pending;         /* this cycle carries a snapshot entry */
  int64_t snap_next_ms;     /* monotonic: no snapshot entry due before (pacing); 0: none */

  /* scratch buffers, kept between cycles; out: the cycle's commands (RESP) */
  ccp_buf_t key, val, snap, out;
  ccp_buf_t pkey; /* a partition's alert ids key */
  int *pslot;     /* append_alerts: partition -> its KEYS index in the EVAL (0: none yet) */
  int pslot_cap;
  ccp_buf_t sets, dels; /* the key/value pairs of the cycle's MSET, the keys of its DEL */
  int nsets, ndels;
  ccp_buf_t zadds, zrems; /* the score/name pairs of its ZADD, the names of its ZREM */
  ccp_buf_t setkey;       /* <prefix>v1:scope_set */
  int nzadds, nzrems;
  uint64_t cycle_no;
  uint64_t cycle_bytes, cycle_sets; /* of the cycle being built */
  uint64_t cycle_kind_cmds[CCP_RK__COUNT], cycle_kind_bytes[CCP_RK__COUNT];
  int64_t bw_at_ms; /* monotonic: start of the byte report's window; 0: none */
  uint64_t bw_cycles, bw_kind_cmds[CCP_RK__COUNT], bw_kind_bytes[CCP_RK__COUNT];
  uint64_t bw_ckpt_bytes;          /* st.ckpt_bytes at its start */
  ccp__ckpt_writer_stats_t bw_ckw; /* the checkpoint writer's counters at its start */
  uint64_t fail_streak;            /* cycles failed since the last one that succeeded */
  int64_t down_since_ms;           /* monotonic: the first failed cycle of the streak */
  ccp_redis_pub_stats_t st;
  ccp__ckpt_writer_t *ckw; /* what Redis holds of each partition's checkpoint (ckpt_store.c) */
};

/* Writing to a socket the server reset raises SIGPIPE, which would end the
 * process; hiredis 0.14 uses plain write(). Around our I/O, SIGPIPE is
 * blocked on this thread, and one raised meanwhile is consumed before the
 * old mask comes back (other threads and the process disposition are left
 * alone). */
typedef struct sigpipe_guard {
  sigset_t old;
  int active;
} sigpipe_guard_t;

static void sigpipe_block(sigpipe_guard_t *g) {
  sigset_t set, pending;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  g->active = 0;
  sigpending(&pending);
  if (sigismember(&pending, SIGPIPE))
    return; /* not ours to consume */
  if (pthread_sigmask(SIG_BLOCK, &set, &g->old) != 0)
    return;
  g->active = !sigismember(&g->old, SIGPIPE);
  if (!g->active)
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static void sigpipe_unblock(sigpipe_guard_t *g) {
  if (!g->active)
    return;
  sigset_t set, pending;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigpending(&pending);
  if (sigismember(&pending, SIGPIPE)) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) == -1 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- url -------------------------------------------------------------- */

const char *ccp_redis_url_redact(const char *url, char *out, size_t outlen) {
  return ccp_config_redact_url(url, out, outlen);
}

static int url_err(char *errbuf, size_t errlen, const char *url, const char *why) {
  char shown[1100];
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "invalid redis url '%s': %s",
             ccp_redis_url_redact(url, shown, sizeof shown), why);
  return -CCP_EINVAL;
}

/* Parses a decimal integer of [s, e) into lo..hi. */
static int parse_int(const char *s, const char *e, long lo, long hi, int *out) {
  if (s == e || e - s > 10)
    return -1;
  long v = 0;
  for (const char *q = s; q < e; q++) {
    if (!isdigit((unsigned char)*q))
      return -1;
    v = v * 10 + (*q - '0');
  }
  if (v < lo || v > hi)
    return -1;
  *out = (int)v;
  return 0;
}

static int url_parse(const char *url, url_t *u, char *errbuf, size_t errlen) {
  memset(u, 0, sizeof *u);
  u->port = 6379;
  if (!url || !*url)
    return url_err(errbuf, errlen, url ? url : "", "empty (expected redis://host:port[/db])");
  if (strncmp(url, "rediss://", 9) == 0) /* hiredis 0.14 of Debian 12 has no TLS */
    return url_err(errbuf, errlen, url,
                   "TLS (rediss://) is not supported directly: run a TLS tunnel (stunnel) beside "
                   "ccpulse and give its local end, redis://127.0.0.1:PORT (docs/operations.md, "
                   "TLS and authentication)");
  if (strncmp(url, "redis://", 8) != 0)
    return url_err(errbuf, errlen, url, "must start with redis:// (e.g. redis://127.0.0.1:6379/0)");
  const char *p = url + 8, *end = p + strlen(p);
  const char *slash = memchr(p, '/', (size_t)(end - p));
  const char *auth_end = slash ? slash : end;
  const char *at = NULL;
  for (const char *q = p; q < auth_end; q++)
    if (*q == '@')
      at = q;
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (!colon)
      return url_err(errbuf, errlen, url, "credentials must be ':password@' or 'user:password@'");
    size_t ul = (size_t)(colon - p), pl = (size_t)(at - colon - 1);
    if (ul >= sizeof u->user || pl >= sizeof u->password || pl == 0)
      return url_err(errbuf, errlen, url, "user or password empty or too long");
    memcpy(u->user, p, ul);
    memcpy(u->password, colon + 1, pl);
    p = at + 1;
  }
  const char *hs = p, *he;
  if (*p == '[') {
    he = memchr(p, ']', (size_t)(auth_end - p));
    if (!he)
      return url_err(errbuf, errlen, url, "missing ']' after an IPv6 address");
    hs = p + 1;
    p = he + 1;
  } else {
    he = p;
    while (he < auth_end && *he != ':')
      he++;
    p = he;
  }
  if (he == hs)
    return url_err(errbuf, errlen, url, "missing host");
  if ((size_t)(he - hs) >= sizeof u->host)
    return url_err(errbuf, errlen, url, "host too long");
  memcpy(u->host, hs, (size_t)(he - hs));
  for (const char *q = hs; q < he; q++)
    if (isspace((unsigned char)*q) || *q == '@' || *q == '?')
      return url_err(errbuf, errlen, url, "invalid character in host");
  if (p < auth_end) {
    if (*p != ':')
      return url_err(errbuf, errlen, url, "expected ':port' after the host");
    if (parse_int(p + 1, auth_end, 1, 65535, &u->port) != 0)
      return url_err(errbuf, errlen, url, "port must be 1..65535");
  }
  if (slash && slash + 1 < end) {
    if (parse_int(slash + 1, end, 0, INT_MAX, &u->db) != 0)
      return url_err(errbuf, errlen, url, "database must be a number >= 0 (redis://host:port/0)");
  }
  return 0;
}

int ccp_redis_url_check(const char *url, char *errbuf, size_t errlen) {
  url_t u;
  return url_parse(url, &u, errbuf, errlen);
}

/* ---- logging ---------------------------------------------------------- */

/* Records the error for the stats and logs "<problem> '<addr>': <what><tail>"
 * (problem e.g. "cannot connect to"). */
static void record_error(ccp_redis_pub_t *p, const char *what) {
  /* truncation is fine: last_error is a summary for stats */
  size_t n = strnlen(what, sizeof p->st.last_error - 1);
  memcpy(p->st.last_error, what, n);
  p->st.last_error[n] = '\0';
}

static void pub_error(ccp_redis_pub_t *p, const char *problem, const char *what, const char *tail) {
  record_error(p, what);
  if (!p->o.quiet)
    ccp_log(CCP_LOG_WARN, "redis", "%s '%s': %s%s", problem, p->addr, what, tail);
}

/* hiredis error text in house style: lower-case first letter. */
static void ctx_errstr(const redisContext *c, char *out, size_t outlen) {
  const char *e = c && c->errstr[0] ? c->errstr : "connection lost";
  if (c && c->err == REDIS_ERR_IO && strstr(e, "temporarily unavailable"))
    e = "timed out";
  snprintf(out, outlen, "%s", e);
  if (out[0])
    out[0] = (char)tolower((unsigned char)out[0]);
}

/* The time a cycle's replies may take: the command time-out plus what
 * Redis needs for the cycle's own work, so that a server busy with a big
 * cycle is not taken for a dead one. A catch-up cycle runs up to 100,000
 * alerts through the de-duplicating script (~10 us each on an idle 2-core
 * machine, several times that beside a broker and two workers) and may carry
 * tens of MB of checkpoints; with the plain 2 s such an EXEC timed out under
 * load, the connection was dropped and the whole cycle sent again, Redis
 * running it twice. 40 us per alert and 20 ms per MiB sent: 100,000 alerts
 * add 4 s. */
int ccp__redis_cycle_timeout_ms(int command_timeout_ms, size_t nalerts, size_t bytes) {
  int64_t extra = (int64_t)(nalerts / 25) + (int64_t)(bytes >> 20) * 20;
  return (int)CCP_MIN((int64_t)command_timeout_ms + extra, (int64_t)INT32_MAX / 2);
}

/* The command time-out of c (reads and writes; NULL: none open). */
static void set_read_timeout(redisContext *c, int ms) {
  if (!c)
    return;
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  redisSetTimeout(c, tv);
}

/* Sends the RESP commands data[0..len) on c, whose replies the caller then
 * reads with redisGetReply. hiredis would copy them into its output buffer,
 * a fresh sds of the cycle's size that it frees once written: at catch-up
 * tens of MB a cycle, each time new pages the kernel must fault in and
 * clear. So the bytes go from the caller's reused buffer straight to the
 * socket (blocking, bounded by the command timeout, SO_SNDTIMEO); only
 * while hiredis still holds unsent bytes do they queue behind them. A
 * failed send marks the context broken (REDIS_ERR_IO, errno's text), so the
 * first redisGetReply fails as it would after hiredis' own write. */
static void send_cmds(redisContext *c, const char *data, size_t len) {
  if (c->err || sdslen(c->obuf) > 0) {
    int arc = redisAppendFormattedCommand(c, data, len);
    CCP_ASSERT(arc == REDIS_OK); /* fails only when out of memory */
    (void)arc;
    return;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      c->err = REDIS_ERR_IO;
      snprintf(c->errstr, sizeof c->errstr, "%s", n < 0 ? strerror(errno) : "connection lost");
      return;
    }
  }
}

/* ---- connection --------------------------------------------------------- */

static void disconnect(ccp_redis_pub_t *p) {
  if (p->ctx)
    redisFree(p->ctx);
  p->ctx = NULL;
  p->st.connected = 0;
}

/* After a connection failure: drop the context, schedule the next attempt,
 * log with the delay. */
static void fail_connection(ccp_redis_pub_t *p, const char *problem, const char *what) {
  disconnect(p);
  int64_t delay = p->backoff_ms;
  p->next_attempt_ms = ccp_clock_mono_ms() + delay;
  p->backoff_ms = CCP_MIN(2 * p->backoff_ms, (int64_t)p->o.backoff_max_ms);
  char tail[64];
  snprintf(tail, sizeof tail, "; retrying in %lld ms", (long long)delay);
  pub_error(p, problem, what, tail);
}

static int cmp_known(const void *a, const void *b) {
  return strcmp(((const known_t *)a)->name, ((const known_t *)b)->name);
}

static void prev_clear(ccp_redis_pub_t *p) {
  for (int i = 0; i < p->nprev; i++)
    ccp_free(p->prev[i].name);
  ccp_free(p->prev);
  p->prev = NULL;
  p->nprev = 0;
}

/* Forgets what was written: the next cycle writes every tile (after a failed
 * cycle, or a connect, Redis may hold anything). */
static void forget_written(ccp_redis_pub_t *p) {
  for (int i = 0; i < p->nprev; i++)
    memset(p->prev[i].h, 0, sizeof p->prev[i].h);
  p->set_known = 0;
  ccp__ckpt_writer_forget(p->ckw); /* and every checkpoint is written whole */
}

/* Adds scope `name` to p->prev (unsorted until prev_settle). */
static void prev_add(ccp_redis_pub_t *p, const char *name, size_t len, size_t *cap) {
  if ((size_t)p->nprev == *cap) {
    *cap = *cap ? 2 * *cap : 64;
    p->prev = ccp_realloc(p->prev, *cap * sizeof *p->prev);
  }
  memset(&p->prev[p->nprev], 0, sizeof p->prev[p->nprev]);
  p->prev[p->nprev++].name = ccp_strndup(name, len);
}

/* Sorts p->prev bytewise and drops duplicates. */
static void prev_settle(ccp_redis_pub_t *p) {
  if (p->nprev)
    qsort(p->prev, (size_t)p->nprev, sizeof *p->prev, cmp_known);
  int k = 0;
  for (int i = 0; i < p->nprev; i++) {
    if (k && strcmp(p->prev[k - 1].name, p->prev[i].name) == 0)
      ccp_free(p->prev[i].name);
    else
      p->prev[k++] = p->prev[i];
  }
  p->nprev = k;
}

/* Adds to p->prev the scopes Redis names at connect: the members of the scope
 * set (a ZRANGE reply) and those of the scope list of earlier versions (a
 * GET reply: a JSON array string, or nil), so that tiles written by an
 * earlier process are deleted when their scope is gone. */
static void prev_merge(ccp_redis_pub_t *p, const redisReply *set, const redisReply *legacy) {
  size_t cap = (size_t)p->nprev;
  for (size_t i = 0; set && set->type == REDIS_REPLY_ARRAY && i < set->elements; i++)
    if (set->element[i]->type == REDIS_REPLY_STRING)
      prev_add(p, set->element[i]->str, set->element[i]->len, &cap);
  json_t *arr = legacy && legacy->type == REDIS_REPLY_STRING
                    ? json_loadb(legacy->str, legacy->len, 0, NULL)
                    : NULL;
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) { /* nothing for a non-array */
    if (json_is_string(v))
      prev_add(p, json_string_value(v), json_string_length(v), &cap);
  }
  json_decref(arr);
  prev_settle(p);
}

/* Runs one command synchronously during connect; returns the reply or NULL
 * (what filled). */
static redisReply *connect_cmd(redisContext *ctx, char *what, size_t wlen, int argc,
                               const char **argv) {
  redisReply *r = redisCommandArgv(ctx, argc, argv, NULL);
  if (!r) {
    ctx_errstr(ctx, what, wlen);
    return NULL;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(what, wlen, "%s failed: %s", argv[0], r->str);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}

/* A connection to u's server: connect and command timeouts, keep-alive,
 * AUTH and SELECT as the url says; NULL with what filled. */
static redisContext *open_ctx(const url_t *u, int connect_timeout_ms, int command_timeout_ms,
                              char *what, size_t wlen, int *refused) {
  struct timeval ctv = {connect_timeout_ms / 1000, (connect_timeout_ms % 1000) * 1000};
  struct timeval ktv = {command_timeout_ms / 1000, (command_timeout_ms % 1000) * 1000};
  redisContext *ctx = redisConnectWithTimeout(u->host, u->port, ctv);
  redisReply *r;
  if (!ctx || ctx->err || redisSetTimeout(ctx, ktv) != REDIS_OK) {
    ctx_errstr(ctx, what, wlen);
    goto fail;
  }
  redisEnableKeepAlive(ctx);
  if (u->password[0]) {
    const char *argv[3] = {"AUTH", u->user, u->password};
    if (u->user[0]) {
      r = connect_cmd(ctx, what, wlen, 3, argv);
    } else {
      argv[1] = u->password;
      r = connect_cmd(ctx, what, wlen, 2, argv);
    }
    if (!r)
      goto refused;
    freeReplyObject(r);
  }
  if (u->db) {
    char db[16];
    snprintf(db, sizeof db, "%d", u->db);
    const char *argv[2] = {"SELECT", db};
    if (!(r = connect_cmd(ctx, what, wlen, 2, argv)))
      goto refused;
    freeReplyObject(r);
  }
  return ctx;
refused: /* an error reply, unless the connection failed (ctx->err) */
  if (refused)
    *refused = !ctx->err;
fail:
  if (ctx)
    redisFree(ctx);
  return NULL;
}

/* "host:port" (IPv6 in brackets) of u. */
static void addr_of(const url_t *u, char *addr, size_t len) {
  if (strchr(u->host, ':'))
    snprintf(addr, len, "[%s]:%d", u->host, u->port);
  else
    snprintf(addr, len, "%s:%d", u->host, u->port);
}

redisContext *ccp__redis_connect(const char *url, int connect_timeout_ms, int command_timeout_ms,
                                 char *addr, size_t addrlen, char *what, size_t wlen) {
  url_t u;
  if (url_parse(url, &u, what, wlen) != 0)
    return NULL;
  if (addr)
    addr_of(&u, addr, addrlen);
  sigpipe_guard_t g;
  sigpipe_block(&g);
  redisContext *ctx = open_ctx(&u, connect_timeout_ms, command_timeout_ms, what, wlen, NULL);
  sigpipe_unblock(&g);
  memset(&u, 0, sizeof u); /* the password */
  return ctx;
}

static int do_connect(ccp_redis_pub_t *p) {
  char what[200];
  redisReply *r;
  if (!(p->ctx = open_ctx(&p->url, p->o.connect_timeout_ms, p->o.command_timeout_ms, what,
                          sizeof what, NULL)))
    goto fail;
  const char *zr[4] = {"ZRANGE", p->setkey.data, "0", "-1"};
  if (!(r = connect_cmd(p->ctx, what, sizeof what, 4, zr)))
    goto fail;
  ccp_buf_clear(&p->key);
  ccp_buf_printf(&p->key, "%sv1:scopes", p->prefix); /* the list of earlier versions */
  const char *gt[2] = {"GET", p->key.data};
  redisReply *legacy = connect_cmd(p->ctx, what, sizeof what, 2, gt);
  if (!legacy) {
    freeReplyObject(r);
    goto fail;
  }
  prev_merge(p, r, legacy);
  freeReplyObject(r);
  freeReplyObject(legacy);
  forget_written(p); /* a new connection: write every tile once */

  if (p->ever_connected)
    p->st.reconnects++;
  p->ever_connected = 1;
  p->st.connected = 1;
  return 0;

fail:
  fail_connection(p, "cannot connect to", what);
  return -CCP_EIO;
}

/* ---- alert ring --------------------------------------------------------- */

/* Copies an alert for the ring: its JSON, a NUL, its string "id" (none:
 * *m says id_len 0, never de-duplicated) and a NUL; m->due is the integer
 * "at_ms", else "now_ms", else INT64_MIN. */
static char *alert_copy(const char *json, size_t len, alert_meta_t *m) {
  m->id_len = 0;
  m->due = INT64_MIN;
  json_t *o = json_loadb(json, len, 0, NULL);
  const json_t *id = json_object_get(o, "id"); /* NULL for a non-object */
  const json_t *due = json_object_get(o, "at_ms");
  if (!json_is_integer(due))
    due = json_object_get(o, "now_ms");
  if (json_is_integer(due))
    m->due = (int64_t)json_integer_value(due);
  if (json_is_string(id))
    m->id_len = json_string_length(id);
  char *q = ccp_malloc(len + m->id_len + 2);
  memcpy(q, json, len);
  q[len] = '\0';
  if (m->id_len)
    memcpy(q + len + 1, json_string_value(id), m->id_len);
  q[len + 1 + m->id_len] = '\0';
  json_decref(o);
  return q;
}

/* The ring entry of an alert whose id (NUL-terminated) and due time the
 * caller knows: what alert_copy() makes of its JSON, without parsing it. */
static char *alert_copy_known(const char *json, size_t len, const char *id, int64_t due,
                              alert_meta_t *m) {
  m->id_len = strlen(id);
  m->due = due;
  char *q = ccp_malloc(len + m->id_len + 2);
  memcpy(q, json, len);
  q[len] = '\0';
  memcpy(q + len + 1, id, m->id_len + 1);
  return q;
}

/* ccp_redis_pub_queue_alert(), with the alert's id and due time when id is
 * not NULL. */
/* Room for one more entry in the ring: when full, the oldest is dropped,
 * counted and logged. */
static void ring_room(ccp_redis_pub_t *p) {
  if (p->ring_n == p->ring_cap) { /* full: drop the oldest */
    ccp_free(p->ring[p->ring_head]);
    p->ring_head = (p->ring_head + 1) % p->ring_cap;
    p->ring_n--;
    p->st.alerts_dropped++;
    if (p->st.alerts_dropped == 1 || p->st.alerts_dropped % 1000 == 0) {
      char what[128];
      snprintf(what, sizeof what, "alert queue full (%zu); dropped %llu oldest alerts so far",
               p->ring_cap, (unsigned long long)p->st.alerts_dropped);
      /* a log line of its own: a catch-up writes thousands of these, which
       * must not use up the rate limit of pub_error's lines (a cycle that
       * failed would go unlogged) */
      record_error(p, what);
      if (!p->o.quiet)
        ccp_log(CCP_LOG_WARN, "redis", "cannot publish to '%s': %s", p->addr, what);
    }
  }
}

/* An alert the caller did not render (ccp_redis_cycle_t.alerts_skipped):
 * an empty entry where queue_alert() would have put it, pushed out (and
 * counted as dropped) by the ring_cap alerts of the same cycle that follow
 * it, before anything is sent. */
static void skip_alert(ccp_redis_pub_t *p) {
  ring_room(p);
  size_t at = (p->ring_head + p->ring_n) % p->ring_cap;
  p->ring[at] = NULL;
  p->ring_meta[at] = (alert_meta_t){.due = INT64_MIN, .partition = -1};
  p->ring_len[at] = 0;
  p->ring_n++;
  p->st.alerts_queued = p->ring_n;
}

static void queue_alert(ccp_redis_pub_t *p, const char *json, size_t len, int32_t partition,
                        const char *id, int64_t due) {
  ring_room(p);
  size_t at = (p->ring_head + p->ring_n) % p->ring_cap;
  p->ring[at] = id ? alert_copy_known(json, len, id, due, &p->ring_meta[at])
                   : alert_copy(json, len, &p->ring_meta[at]);
  p->ring_meta[at].partition = partition >= 0 ? partition : -1;
  p->ring_len[at] = len;
  p->ring_n++;
  p->st.alerts_queued = p->ring_n;
}

size_t ccp_redis_pub_alert_cap(const ccp_redis_pub_t *p) { return p->ring_cap; }

void ccp_redis_pub_queue_alert(ccp_redis_pub_t *p, const char *json, size_t len,
                               int32_t partition) {
  queue_alert(p, json, len, partition, NULL, INT64_MIN);
}

static void ring_clear(ccp_redis_pub_t *p) {
  for (size_t i = 0; i < p->ring_n; i++)
    ccp_free(p->ring[(p->ring_head + i) % p->ring_cap]);
  p->ring_head = p->ring_n = 0;
  p->st.alerts_queued = 0;
}

/* ---- the cycle ---------------------------------------------------------- */

/* Appends one RESP bulk string. */
static void bulk(ccp_buf_t *o, const char *data, size_t len) {
  ccp_buf_putc(o, '$');
  ccp_buf_put_i64(o, (int64_t)len);
  ccp_buf_append(o, "\r\n", 2);
  ccp_buf_append(o, data ? data : "", len);
  ccp_buf_append(o, "\r\n", 2);
}

void ccp__resp_argv(ccp_buf_t *o, int argc, const char *const *argv, const size_t *lens) {
  ccp_buf_putc(o, '*');
  ccp_buf_put_i64(o, argc);
  ccp_buf_append(o, "\r\n", 2);
  for (int i = 0; i < argc; i++)
    bulk(o, argv[i], lens ? lens[i] : strlen(argv[i]));
}

/* Appends one command of kind `kind` to the cycle's RESP buffer; counts it
 * and its argument bytes. The buffer goes to hiredis whole at the end of the
 * cycle (one copy, no per-command formatting there). */
static void cmd(ccp_redis_pub_t *p, int *ncmds, ccp_redis_kind_t kind, int argc, const char **argv,
                const size_t *lens) {
  ccp__resp_argv(&p->out, argc, argv, lens);
  uint64_t bytes = 0;
  for (int i = 0; i < argc; i++)
    bytes += lens ? lens[i] : strlen(argv[i]);
  (*ncmds)++;
  p->cycle_bytes += bytes;
  p->cycle_kind_cmds[kind]++;
  p->cycle_kind_bytes[kind] += bytes;
}

/* Keys per MSET or DEL: older servers refuse more than 1024 * 1024 arguments
 * in one command. */
#define BATCH_MAX 100000

static void flush_sets(ccp_redis_pub_t *p, int *ncmds);

/* Sets key k to v in this cycle: a pair of the cycle's MSET (one command and
 * one reply for thousands of tiles, the same effect inside MULTI). */
static void cmd_set(ccp_redis_pub_t *p, int *ncmds, ccp_redis_kind_t kind, const ccp_buf_t *k,
                    const ccp_buf_t *v) {
  if (p->nsets == BATCH_MAX)
    flush_sets(p, ncmds);
  bulk(&p->sets, k->data, k->len);
  bulk(&p->sets, v->data, v->len);
  p->nsets++;
  p->cycle_sets++;
  p->cycle_bytes += k->len + v->len;
  p->cycle_kind_cmds[kind]++;
  p->cycle_kind_bytes[kind] += k->len + v->len;
}

/* Deletes key k in this cycle: a key of the cycle's DEL. */
static void cmd_del(ccp_redis_pub_t *p, int *ncmds, const ccp_buf_t *k) {
  if (p->ndels == BATCH_MAX)
    flush_sets(p, ncmds);
  bulk(&p->dels, k->data, k->len);
  p->ndels++;
  p->cycle_bytes += k->len;
  p->cycle_kind_cmds[CCP_RK_DEL]++;
  p->cycle_kind_bytes[CCP_RK_DEL] += k->len;
}

/* Score of scope `name` in the scope set: `all` 0, then by kind in the
 * bytewise order of the kinds' prefixes, so a ZRANGE lists `all` first and
 * the others sorted bytewise (members of one score come in bytewise order),
 * and ZRANGEBYSCORE 2 3 gives the channels and queues without the agents. */
static const char *scope_score(const char *name) {
  if (strcmp(name, "all") == 0)
    return "0";
  if (strncmp(name, "agent:", 6) == 0)
    return "1";
  if (strncmp(name, "channel:", 8) == 0)
    return "2";
  if (strncmp(name, "queue:", 6) == 0)
    return "3";
  return "4";
}

/* Adds scope `name` to the scope set in this cycle (a pair of its ZADD), or
 * with `gone` removes it (a member of its ZREM). */
static void cmd_zset(ccp_redis_pub_t *p, int *ncmds, const char *name, int gone) {
  if ((gone ? p->nzrems : p->nzadds) == BATCH_MAX)
    flush_sets(p, ncmds);
  size_t len = strlen(name);
  if (gone) {
    bulk(&p->zrems, name, len);
    p->nzrems++;
  } else {
    bulk(&p->zadds, scope_score(name), 1);
    bulk(&p->zadds, name, len);
    p->nzadds++;
    len++;
  }
  p->cycle_bytes += len;
  p->cycle_kind_cmds[CCP_RK_SCOPES]++;
  p->cycle_kind_bytes[CCP_RK_SCOPES] += len;
}

/* Appends to the cycle's commands one `verb` [key] with the nargs arguments
 * gathered in args (RESP bulk strings), when there are any. */
static void put_batch(ccp_redis_pub_t *p, int *ncmds, const char *verb, const ccp_buf_t *key,
                      int64_t nargs, const ccp_buf_t *args) {
  if (!nargs)
    return;
  ccp_buf_t *o = &p->out;
  ccp_buf_putc(o, '*');
  ccp_buf_put_i64(o, 1 + (key != NULL) + nargs);
  ccp_buf_append(o, "\r\n", 2);
  bulk(o, verb, strlen(verb));
  if (key)
    bulk(o, key->data, key->len);
  ccp_buf_append(o, args->data, args->len);
  (*ncmds)++;
}

/* Appends the MSET, DEL, ZADD and ZREM of the keys and scopes gathered so far,
 * when there are any (in this order: a DEL of the scope set comes before the
 * ZADD that writes it again). */
static void flush_sets(ccp_redis_pub_t *p, int *ncmds) {
  put_batch(p, ncmds, "MSET", NULL, 2 * (int64_t)p->nsets, &p->sets);
  put_batch(p, ncmds, "DEL", NULL, (int64_t)p->ndels, &p->dels);
  put_batch(p, ncmds, "ZADD", &p->setkey, 2 * (int64_t)p->nzadds, &p->zadds);
  put_batch(p, ncmds, "ZREM", &p->setkey, (int64_t)p->nzrems, &p->zrems);
  ccp_buf_clear(&p->sets);
  ccp_buf_clear(&p->dels);
  ccp_buf_clear(&p->zadds);
  ccp_buf_clear(&p->zrems);
  p->nsets = p->ndels = p->nzadds = p->nzrems = 0;
}

static void cmd_xadd(ccp_redis_pub_t *p, int *ncmds, ccp_redis_kind_t kind, const ccp_buf_t *stream,
                     int64_t maxlen, const char *json, size_t len) {
  char ml[24];
  snprintf(ml, sizeof ml, "%lld", (long long)maxlen);
  const char *argv[7] = {"XADD", stream->data, "MAXLEN", "~", ml, "*", "json"};
  const char *full[8];
  size_t lens[8];
  for (int i = 0; i < 7; i++) {
    full[i] = argv[i];
    lens[i] = i == 1 ? stream->len : strlen(argv[i]);
  }
  full[7] = json;
  lens[7] = len;
  cmd(p, ncmds, kind, 8, full, lens);
}

static void key_of(ccp_redis_pub_t *p, const char *what, const char *scope, const char *window) {
  ccp_buf_clear(&p->key);
  ccp_buf_puts(&p->key, p->prefix);
  ccp_buf_puts(&p->key, "v1:");
  ccp_buf_puts(&p->key, what);
  ccp_buf_putc(&p->key, ':');
  ccp_buf_puts(&p->key, scope);
  if (window) {
    ccp_buf_putc(&p->key, ':');
    ccp_buf_puts(&p->key, window);
  }
}

/* Hash of tile bytes; never 0 (0 means "unknown"). */
static uint64_t tile_hash(const char *data, size_t len) {
  uint64_t h = ccp_hash64(data ? data : "", len, 0x74696c65);
  return h ? h : 1;
}

/* What was written for scope name, or NULL. The view hands the scopes out
 * in (nearly) the order of p->prev, so the entry after the last one found
 * is tried first: one strcmp per scope instead of a binary search. */
static const known_t *find_known(ccp_redis_pub_t *p, const char *name) {
  if (p->known_next < p->nprev && strcmp(p->prev[p->known_next].name, name) == 0)
    return &p->prev[p->known_next++];
  known_t key = {.name = (char *)name};
  if (!p->nprev)
    return NULL; /* bsearch wants a non-NULL base even for no elements */
  const known_t *k = bsearch(&key, p->prev, (size_t)p->nprev, sizeof *p->prev, cmp_known);
  if (k)
    p->known_next = (int)(k - p->prev) + 1;
  return k;
}

/* Hash of a scope's gauge figures (not now: longest_wait_ms moves with it). */
static uint64_t gauges_hash(const ccp_view_gauges_t *g) {
  int64_t f[4] = {g->open, g->waiting, g->backlog_aged, g->waiting_since};
  uint64_t h = ccp_hash64(f, sizeof f, 0x67617567);
  return h ? h : 1;
}

/* Whether a tile holding the gauges of stream time `at` (hash h, figures
 * `want` now) is to be written: never written or other figures, or only
 * longest_wait_ms moved and by refresh or more. */
static int tile_due(uint64_t h, uint64_t want, int64_t at, int64_t now, int waits,
                    int64_t refresh) {
  if (h != want)
    return 1;
  return waits && now != at && now - at >= refresh;
}

/* Appends the gauges tile of scope i: the gauges object of the snapshot
 * plus waiting_since_ms, the stream time the longest-waiting ticket opened
 * (a reader's exact longest wait at any later time). */
static void gauges_tile(ccp_redis_pub_t *p, const ccp_view_t *v, int i,
                        const ccp_view_gauges_t *g) {
  ccp_buf_clear(&p->val);
  ccp_view_gauges_json(v, i, &p->val);
  if (p->val.len && p->val.data[p->val.len - 1] == '}') {
    p->val.len--;
    ccp_buf_puts(&p->val, ",\"waiting_since_ms\":");
    if (g->waiting_since == INT64_MIN)
      ccp_buf_puts(&p->val, "null");
    else
      ccp_buf_put_i64(&p->val, g->waiting_since);
    ccp_buf_putc(&p->val, '}');
  }
}

/* Adds waiting_since_ms (as in the gauges tile) to the gauges object of the
 * scope document in p->val, which comes first and is flat: its first '}'
 * ends it. */
static void scope_doc_since(ccp_redis_pub_t *p, const ccp_view_gauges_t *g) {
  char *end = p->val.data ? memchr(p->val.data, '}', p->val.len) : NULL;
  if (!end)
    return;
  char ins[48];
  int n = g->waiting_since == INT64_MIN ? snprintf(ins, sizeof ins, ",\"waiting_since_ms\":null")
                                        : snprintf(ins, sizeof ins, ",\"waiting_since_ms\":%lld",
                                                   (long long)g->waiting_since);
  size_t at = (size_t)(end - p->val.data);
  ccp_buf_append(&p->val, ins, (size_t)n); /* grows the buffer; then moved into place */
  memmove(p->val.data + at + n, p->val.data + at, p->val.len - (size_t)n - at);
  memcpy(p->val.data + at, ins, (size_t)n);
}

/* Sorts the cycle's scopes bytewise. They come in the view's order, `all`
 * first and the others sorted, so `all` moves into its place (n strcmp
 * instead of a sort of 20,000 names per cycle); anything else is sorted. */
static void sort_known(known_t *k, int n) {
  int sorted_after_first = 1;
  for (int i = 2; i < n && sorted_after_first; i++)
    sorted_after_first = strcmp(k[i - 1].name, k[i].name) < 0;
  if (!sorted_after_first) {
    qsort(k, (size_t)n, sizeof *k, cmp_known);
    return;
  }
  known_t first = n ? k[0] : (known_t){0};
  int at = 0; /* the first's place: after every smaller name */
  while (at + 1 < n && strcmp(k[at + 1].name, first.name) < 0) {
    k[at] = k[at + 1];
    at++;
  }
  if (n)
    k[at] = first;
}

/* Whether a slow cycle carries a snapshot entry: always the final one,
 * otherwise once the pacing of the last entry (snap_paced) has passed. */
static int snap_due(const ccp_redis_pub_t *p, int final) {
  return final || !p->snap_next_ms || ccp_clock_mono_ms() >= p->snap_next_ms;
}

/* MAXLEN of a snapshot entry of len bytes: snapshot_maxlen, lowered so that
 * about snapshot_max_mb of entries this size are kept (at least 1): Redis
 * cannot cap a stream by bytes, and at 20,000 agents one document is tens of
 * MB. */
static int64_t snap_maxlen(const ccp_redis_pub_t *p, size_t len) {
  int64_t maxlen = p->o.snapshot_maxlen;
  if (p->o.snapshot_max_mb < 0 || !len)
    return maxlen;
  double fit = p->o.snapshot_max_mb * 1e6 / (double)len;
  return fit >= (double)maxlen ? maxlen : CCP_MAX((int64_t)fit, 1);
}

/* After a successful cycle that wrote a snapshot entry of len bytes: the
 * next entry is due no sooner than len / snapshot_mb_per_s after this one's
 * due time, in the first slow cycle from then on (the slow cycles stay on
 * their grid). A pace within the snapshot interval or one publish interval
 * changes nothing: a small document goes with every slow cycle. */
static void snap_paced(ccp_redis_pub_t *p, size_t len) {
  p->snap_next_ms = 0;
  if (p->o.snapshot_mb_per_s <= 0 || p->slow_pending_due < 0)
    return;
  double pace_ms = (double)len / (p->o.snapshot_mb_per_s * 1e6) * 1000.0;
  double within = (double)CCP_MAX(p->o.snapshot_interval_ms, p->o.cfg->publish_interval_ms);
  if (pace_ms > within)
    p->snap_next_ms = p->slow_pending_due + (int64_t)pace_ms;
}

/* Appends the commands of the view's tiles that changed since they were last
 * written, the DELs of scopes that left, the changes of the scope set, and
 * in a slow cycle (due by snapshot_interval_ms, or final) the scope
 * documents that changed and the snapshot. Fills p->next with this cycle's scopes
 * (sorted bytewise) and what Redis holds for them after it. */
static void append_tiles(ccp_redis_pub_t *p, int *ncmds, const ccp_view_t *v) {
  const ccp_config_t *cfg = p->o.cfg;
  int nw = cfg->nwindows;
  int n = ccp_view_nscopes(v);
  int final = ccp_view_final(v);
  int64_t now = ccp_view_now(v);
  int64_t refresh = final ? 0 : p->o.wait_refresh_ms; /* the last state is exact */
  /* a scope document is not rewritten for longest_wait_ms alone (its gauges
   * carry waiting_since_ms), but for the final cycle and with wait_refresh 0 */
  int64_t doc_refresh = final || !p->o.wait_refresh_ms ? 0 : INT64_MAX;
  int64_t mono = ccp_clock_mono_ms();
  int slow = final || p->o.snapshot_interval_ms == 0 || !p->slow_next_ms || mono >= p->slow_next_ms;
  p->slow_pending_due = slow ? (p->slow_next_ms ? p->slow_next_ms : mono) : -1;
  if (n > p->next_cap) {
    p->next_cap = n * 2;
    p->next = ccp_realloc(p->next, (size_t)p->next_cap * sizeof *p->next);
  }
  for (int i = 0; i < n; i++) {
    const char *sc = ccp_view_scope_name(v, i);
    known_t *nk = &p->next[i];
    const known_t *old = find_known(p, sc);
    memset(nk, 0, sizeof *nk);
    nk->name = (char *)sc; /* borrowed until the cycle ends */
    for (int w = 0; w < nw; w++) {
      uint64_t h = ccp_view_window_hash(v, i, w);
      nk->h[w] = h ? h : 1;
      if (old && old->h[w] == nk->h[w])
        continue;
      key_of(p, "kpi", sc, cfg->windows[w].name);
      ccp_buf_clear(&p->val);
      ccp_view_window_json(v, i, w, &p->val);
      cmd_set(p, ncmds, CCP_RK_KPI, &p->key, &p->val);
    }
    ccp_view_gauges_t g;
    ccp_view_gauges(v, i, &g);
    int waits = g.waiting_since != INT64_MIN;
    uint64_t gh = gauges_hash(&g);
    if (!old || tile_due(old->h[H_GAUGES], gh, old->gauges_now, now, waits, refresh)) {
      gauges_tile(p, v, i, &g);
      key_of(p, "gauges", sc, NULL);
      cmd_set(p, ncmds, CCP_RK_GAUGES, &p->key, &p->val);
      nk->h[H_GAUGES] = gh;
      nk->gauges_now = now;
    } else {
      nk->h[H_GAUGES] = old->h[H_GAUGES];
      nk->gauges_now = old->gauges_now;
    }
    /* the scope document: the windows and gauges above (plus, for `all`,
     * the customers object, which only its bytes tell), in slow cycles */
    if (old) {
      nk->h[H_SCOPE] = old->h[H_SCOPE];
      nk->scope_now = old->scope_now;
    }
    if (!slow)
      continue;
    int is_all = strcmp(sc, "all") == 0;
    uint64_t parts[CCP_MAX_WINDOWS + 2];
    memcpy(parts, nk->h, (size_t)nw * sizeof *parts);
    parts[nw] = gh;
    parts[nw + 1] = 0;
    if (is_all) { /* the bytes after the gauges object (flat: its first '}' ends it) */
      ccp_buf_clear(&p->val);
      ccp_view_scope_json(v, i, &p->val);
      const char *end = p->val.data ? memchr(p->val.data, '}', p->val.len) : NULL;
      size_t off = end ? (size_t)(end - p->val.data) : 0;
      parts[nw + 1] = tile_hash(p->val.data + off, p->val.len - off);
    }
    uint64_t sh = tile_hash((const char *)parts, (size_t)(nw + 2) * sizeof *parts);
    if (!old || tile_due(old->h[H_SCOPE], sh, old->scope_now, now, waits, doc_refresh)) {
      if (!is_all) {
        ccp_buf_clear(&p->val);
        ccp_view_scope_json(v, i, &p->val);
      }
      scope_doc_since(p, &g);
      key_of(p, "scope", sc, NULL);
      cmd_set(p, ncmds, CCP_RK_SCOPE, &p->key, &p->val);
      nk->h[H_SCOPE] = sh;
      nk->scope_now = now;
    }
  }
  sort_known(p->next, n);
  p->nnext = n;
  /* the scope set: when Redis holds prev's names, the scopes that came are
   * added and those that left removed below; else it is written whole (and
   * the scope list of earlier versions deleted) */
  if (!p->set_known) {
    cmd_del(p, ncmds, &p->setkey);
    ccp_buf_clear(&p->key);
    ccp_buf_printf(&p->key, "%sv1:scopes", p->prefix);
    cmd_del(p, ncmds, &p->key);
  }
  for (int i = 0, j = 0; i < n; i++) {
    while (p->set_known && j < p->nprev && strcmp(p->prev[j].name, p->next[i].name) < 0)
      j++;
    if (!p->set_known || j == p->nprev || strcmp(p->prev[j].name, p->next[i].name) != 0)
      cmd_zset(p, ncmds, p->next[i].name, 0);
  }
  /* tiles of scopes that left the view (both lists sorted) */
  for (int j = 0, i = 0; j < p->nprev; j++) {
    const char *gone = p->prev[j].name;
    while (i < n && strcmp(p->next[i].name, gone) < 0)
      i++;
    if (i < n && strcmp(p->next[i].name, gone) == 0)
      continue;
    if (p->set_known)
      cmd_zset(p, ncmds, gone, 1);
    for (int w = 0; w < nw; w++) {
      key_of(p, "kpi", gone, cfg->windows[w].name);
      cmd_del(p, ncmds, &p->key);
    }
    key_of(p, "scope", gone, NULL);
    cmd_del(p, ncmds, &p->key);
    key_of(p, "gauges", gone, NULL);
    cmd_del(p, ncmds, &p->key);
  }

  /* the snapshot document, in slow cycles */
  p->snap_pending = 0;
  if (!slow || p->o.snapshot_maxlen < 0 || !snap_due(p, final))
    return; /* not due, or no snapshot stream */
  p->snap_pending = 1;
  ccp_buf_clear(&p->snap);
  ccp_view_snapshot_json(v, &p->snap);
  ccp_buf_clear(&p->key);
  ccp_buf_printf(&p->key, "%ssnapshots", p->prefix);
  cmd_xadd(p, ncmds, CCP_RK_SNAPSHOT, &p->key, snap_maxlen(p, p->snap.len),
           p->snap.data ? p->snap.data : "", p->snap.len);
}

/* After a successful cycle: this cycle's scopes and hashes become what was
 * written (names moved over from the old list or copied from the view). */
static void commit_written(ccp_redis_pub_t *p) {
  known_t *nw = ccp_malloc(((size_t)p->nnext + 1) * sizeof *nw);
  int j = 0;
  for (int i = 0; i < p->nnext; i++) {
    nw[i] = p->next[i];
    while (j < p->nprev && strcmp(p->prev[j].name, nw[i].name) < 0)
      ccp_free(p->prev[j++].name);
    if (j < p->nprev && strcmp(p->prev[j].name, nw[i].name) == 0)
      nw[i].name = p->prev[j++].name; /* moved */
    else
      nw[i].name = ccp_strdup(nw[i].name);
  }
  while (j < p->nprev)
    ccp_free(p->prev[j++].name);
  ccp_free(p->prev);
  p->prev = nw;
  p->nprev = p->nnext;
  p->nnext = 0;
  p->set_known = 1;
}

/* The de-duplicating alert script (docs/redis.md). KEYS[1]: the global ids
 * (sorted set, score = due time: threshold alerts, and every alert with
 * checkpoints off); KEYS[2]: the alerts stream, also the channel's name;
 * KEYS[3...]: the ids of the partitions whose deadline alerts are in this
 * call (trimmed only by the checkpoint script, ckpt_store.c). ARGV[1]: the
 * global ids due before this are forgotten first ('' = none); ARGV[2]: the
 * stream's MAXLEN ~; then per alert its id ('' = always written), due time,
 * JSON and set (0: the global one, k: KEYS[2 + k]). An alert is written when
 * its id is in neither its set nor the global one (where ids of deadline
 * alerts were kept before there were sets per partition). Returns the number
 * of alerts written.
 *
 * No id is ever kept without its entry. When every key holds its type (or
 * is absent), no later command can fail on one (a script runs alone), so
 * one ZADD NX both looks the id up and adds it, before the alert's XADD;
 * and the global set is looked in only while it holds an id (in a catch-up
 * it is empty: it gets threshold alerts and legacy ids only). That is 3
 * commands a new deadline alert instead of 5. Otherwise (another program
 * changed a key's type) the checked path runs as before: two ZSCOREs, the
 * writes, then the ZADD, so the first command on the wrong key fails before
 * that alert's first write, and what lands is what always landed. */
static const char alerts_lua[] =
    "local g, s, m, n = KEYS[1], KEYS[2], ARGV[2], 0\n"
    "if ARGV[1] ~= '' then redis.call('ZREMRANGEBYSCORE', g, '-inf', '(' .. ARGV[1]) end\n"
    "local function bad(r) return type(r) == 'table' and r.err ~= nil end\n"
    "local any = redis.pcall('ZCARD', g)\n"
    "local fast = not bad(any) and not bad(redis.pcall('XLEN', s))\n"
    "for i = 3, #KEYS do fast = fast and not bad(redis.pcall('ZCARD', KEYS[i])) end\n"
    "any = not fast or any > 0\n"
    "for i = 3, #ARGV, 4 do\n"
    "  local id, k, j = ARGV[i], g, ARGV[i + 3]\n"
    "  if j ~= '0' then k = KEYS[2 + tonumber(j)] end\n"
    "  local new = id == ''\n"
    "  if new then\n"
    "    -- no id: always written\n"
    "  elseif fast then\n"
    "    new = not (any and k ~= g and redis.call('ZSCORE', g, id)) and\n"
    "          redis.call('ZADD', k, 'NX', ARGV[i + 1], id) == 1\n"
    "    any = any or (new and k == g)\n"
    "  else\n"
    "    new = not (redis.call('ZSCORE', k, id) or (k ~= g and redis.call('ZSCORE', g, id)))\n"
    "  end\n"
    "  if new then\n"
    "    local json = ARGV[i + 2]\n"
    "    redis.call('XADD', s, 'MAXLEN', '~', m, '*', 'json', json)\n"
    "    redis.call('PUBLISH', s, json)\n"
    "    if id ~= '' and not fast then redis.call('ZADD', k, ARGV[i + 1], id) end\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";

/* Alerts per EVAL: 4 arguments each, far below the 1024 * 1024 arguments
 * older servers accept in one command. */
#define ALERTS_PER_EVAL 10000

/* Appends the queued alerts, in order: one EVAL of alerts_lua per
 * ALERTS_PER_EVAL (EVAL, not EVALSHA: the script travels with the cycle, so
 * it cannot be missing — a NOSCRIPT after a Redis restart or SCRIPT FLUSH
 * would be a runtime error inside EXEC that lets the rest of the cycle land
 * without its alerts; Redis compiles it once and finds it by its SHA1 after),
 * or without de-duplication an XADD and a PUBLISH each. Records which
 * commands they are for alerts_tally(). The global ids window: the view's
 * now minus the larger of dedup_window_ms and lateness (an alert can be due
 * up to lateness before the stream time that fires it); an alert without a
 * due time takes the view's now (without a view the wall clock). An alert of
 * a partition goes to that partition's ids, which only a stored checkpoint
 * of the partition trims (ckpt_store.c). */
static void append_alerts(ccp_redis_pub_t *p, int *ncmds, const ccp_view_t *v) {
  ccp_buf_clear(&p->key);
  ccp_buf_printf(&p->key, "%salerts", p->prefix);
  p->alert_cmd_first = *ncmds;
  p->alert_cmd_n = 0;
  p->cycle_alerts_new = 0;
  if (p->o.dedup_window_ms < 0) {
    for (size_t i = 0; i < p->ring_n; i++) {
      size_t at = (p->ring_head + i) % p->ring_cap;
      cmd_xadd(p, ncmds, CCP_RK_ALERT, &p->key, p->o.alerts_maxlen, p->ring[at], p->ring_len[at]);
      const char *argv[3] = {"PUBLISH", p->key.data, p->ring[at]};
      size_t lens[3] = {7, p->key.len, p->ring_len[at]};
      cmd(p, ncmds, CCP_RK_ALERT, 3, argv, lens);
    }
    return;
  }
  if (!p->ring_n)
    return;
  int64_t now = v ? ccp_view_now(v) : INT64_MIN;
  char horizon[24] = "", maxlen[24], due[24];
  if (now != INT64_MIN)
    snprintf(horizon, sizeof horizon, "%lld",
             (long long)(now - CCP_MAX(p->o.dedup_window_ms, p->o.cfg->lateness_ms)));
  int64_t due_default = now != INT64_MIN ? now : ccp_clock_wall_ms();
  snprintf(maxlen, sizeof maxlen, "%lld", (long long)p->o.alerts_maxlen);
  ccp_buf_clear(&p->val);
  ccp_buf_printf(&p->val, "%sv1:alert_ids", p->prefix);
  ccp_buf_t *o = &p->out;
  for (size_t first = 0; first < p->ring_n; first += ALERTS_PER_EVAL) {
    size_t n = CCP_MIN((size_t)ALERTS_PER_EVAL, p->ring_n - first);
    /* the partitions of this call, each one key, by partition number */
    int32_t top = -1;
    for (size_t i = first; i < first + n; i++)
      top = CCP_MAX(top, p->ring_meta[(p->ring_head + i) % p->ring_cap].partition);
    if (top >= p->pslot_cap) {
      p->pslot_cap = CCP_MAX(top + 1, 2 * p->pslot_cap);
      p->pslot = ccp_realloc(p->pslot, (size_t)p->pslot_cap * sizeof *p->pslot);
    }
    if (top >= 0)
      memset(p->pslot, 0, (size_t)(top + 1) * sizeof *p->pslot);
    for (size_t i = first; i < first + n; i++) {
      int32_t q = p->ring_meta[(p->ring_head + i) % p->ring_cap].partition;
      if (q >= 0)
        p->pslot[q] = 1;
    }
    int nparts = 0;
    for (int32_t q = 0; q <= top; q++)
      if (p->pslot[q])
        p->pslot[q] = ++nparts;
    ccp_buf_putc(o, '*');
    ccp_buf_put_i64(o, 7 + nparts + 4 * (int64_t)n);
    ccp_buf_append(o, "\r\n", 2);
    size_t start = o->len;
    char num[24];
    bulk(o, "EVAL", 4);
    bulk(o, alerts_lua, sizeof alerts_lua - 1);
    snprintf(num, sizeof num, "%d", 2 + nparts);
    bulk(o, num, strlen(num));
    bulk(o, p->val.data, p->val.len);
    bulk(o, p->key.data, p->key.len);
    for (int32_t q = 0; q <= top; q++) /* KEYS[2 + pslot[q]] */
      if (p->pslot[q]) {
        ccp__alert_ids_key(&p->pkey, p->prefix, p->o.cfg->kafka_topic, q);
        bulk(o, p->pkey.data, p->pkey.len);
      }
    bulk(o, horizon, strlen(horizon));
    bulk(o, maxlen, strlen(maxlen));
    for (size_t i = first; i < first + n; i++) {
      size_t at = (p->ring_head + i) % p->ring_cap;
      const alert_meta_t *m = &p->ring_meta[at];
      snprintf(due, sizeof due, "%lld", (long long)(m->due != INT64_MIN ? m->due : due_default));
      bulk(o, p->ring[at] + p->ring_len[at] + 1, m->id_len);
      bulk(o, due, strlen(due));
      bulk(o, p->ring[at], p->ring_len[at]);
      snprintf(num, sizeof num, "%d", m->partition >= 0 ? p->pslot[m->partition] : 0);
      bulk(o, num, strlen(num));
    }
    (*ncmds)++;
    p->alert_cmd_n++;
    uint64_t bytes = o->len - start; /* framing included: close enough for a counter */
    p->cycle_bytes += bytes;
    p->cycle_kind_cmds[CCP_RK_ALERT]++;
    p->cycle_kind_bytes[CCP_RK_ALERT] += bytes;
  }
}

/* Adds up the replies of the cycle's EVALs (EXEC's array): alerts written. */
static void alerts_tally(ccp_redis_pub_t *p, const redisReply *exec) {
  for (int k = p->alert_cmd_first; k < p->alert_cmd_first + p->alert_cmd_n; k++)
    if ((size_t)k < exec->elements && exec->element[k]->type == REDIS_REPLY_INTEGER)
      p->cycle_alerts_new += (uint64_t)exec->element[k]->integer;
}

/* After a cycle: counts the alerts written and those Redis already had.
 * Without de-duplication only a successful cycle wrote its alerts. */
static void alerts_account(ccp_redis_pub_t *p, int ok) {
  if (p->o.dedup_window_ms < 0) {
    p->st.alerts_published += ok ? p->ring_n : 0;
    return;
  }
  p->st.alerts_published += p->cycle_alerts_new;
  if (ok)
    p->st.alerts_repeated += p->ring_n - CCP_MIN(p->cycle_alerts_new, (uint64_t)p->ring_n);
}

static void append_meta(ccp_redis_pub_t *p, int *ncmds, const ccp_view_t *v) {
  char f[9][32];
  const char *argv[24];
  size_t lens[24];
  int argc = 0;
  ccp_buf_clear(&p->key);
  ccp_buf_printf(&p->key, "%sv1:meta", p->prefix);
  argv[argc++] = "HSET";
  argv[argc++] = p->key.data;
  argv[argc++] = "schema";
  argv[argc++] = LAYOUT_SCHEMA;
  int64_t now = v ? ccp_view_now(v) : INT64_MIN;
  if (now != INT64_MIN) {
    snprintf(f[0], sizeof f[0], "%lld", (long long)now);
    argv[argc++] = "now_ms";
    argv[argc++] = f[0];
  }
  if (v) { /* a small key for latency watchers: diagnostics.events of the cycle */
    snprintf(f[6], sizeof f[6], "%lld", (long long)ccp_view_events(v));
    argv[argc++] = "events";
    argv[argc++] = f[6];
  }
  snprintf(f[1], sizeof f[1], "%llu", (unsigned long long)p->cycle_no);
  snprintf(f[2], sizeof f[2], "%lld", (long long)ccp_clock_wall_ms());
  snprintf(f[3], sizeof f[3], "%llu", (unsigned long long)p->st.reconnects);
  snprintf(f[4], sizeof f[4], "%llu", (unsigned long long)p->st.cycles_failed);
  snprintf(f[5], sizeof f[5], "%llu", (unsigned long long)p->st.alerts_dropped);
  const char *names[] = {"cycle", "published_ms", "reconnects", "cycles_failed", "alerts_dropped"};
  for (int i = 0; i < 5; i++) {
    argv[argc++] = names[i];
    argv[argc++] = f[i + 1];
  }
  snprintf(f[7], sizeof f[7], "%llu", (unsigned long long)p->st.alerts_repeated);
  argv[argc++] = "alerts_repeated";
  argv[argc++] = f[7];
  for (int i = 0; i < argc; i++)
    lens[i] = strlen(argv[i]);
  cmd(p, ncmds, CCP_RK_META, argc, argv, lens);
}

/* Reads the replies of a cycle: SCRIPT LOAD of the checkpoint script when
 * load (pipelined ahead of MULTI), then ncmds commands between MULTI and
 * EXEC. Returns 0, -CCP_EIO (connection lost: context dropped) or
 * -CCP_EINVAL (Redis refused: what filled). *exec receives EXEC's reply
 * (the caller frees it) when keep_exec (the cycle had checkpoints, partials
 * or the stream time) and EXEC answered. */
static int read_replies(ccp_redis_pub_t *p, int load, int keep_exec, int ncmds, char *what,
                        size_t wlen, redisReply **exec) {
  int rc = 0;
  void *rv;
  if (load) {
    if (redisGetReply(p->ctx, &rv) != REDIS_OK) {
      ctx_errstr(p->ctx, what, wlen);
      return -CCP_EIO;
    }
    rc = ccp__ckpt_check_load(rv, what, wlen);
    freeReplyObject(rv);
  }
  for (int i = 0; i < ncmds + 2; i++) {
    if (redisGetReply(p->ctx, &rv) != REDIS_OK) {
      ctx_errstr(p->ctx, what, wlen);
      return -CCP_EIO;
    }
    redisReply *r = rv;
    if (i == ncmds + 1 && keep_exec && r->type == REDIS_REPLY_ARRAY) {
      *exec = r; /* checked below, freed by the caller */
      alerts_tally(p, r);
      for (size_t k = 0; k < r->elements && !rc; k++)
        if (r->element[k]->type == REDIS_REPLY_ERROR) {
          snprintf(what, wlen, "command %zu of the cycle failed: %s", k + 1, r->element[k]->str);
          rc = -CCP_EINVAL;
        }
      continue;
    }
    if (i == ncmds + 1) { /* EXEC */
      if (r->type == REDIS_REPLY_ERROR) {
        if (!rc)
          snprintf(what, wlen, "transaction refused: %s", r->str);
        rc = -CCP_EINVAL;
      } else if (r->type != REDIS_REPLY_ARRAY) {
        if (!rc)
          snprintf(what, wlen, "transaction aborted");
        rc = -CCP_EINVAL;
      } else {
        alerts_tally(p, r);
        for (size_t k = 0; k < r->elements; k++)
          if (r->element[k]->type == REDIS_REPLY_ERROR) {
            if (!rc)
              snprintf(what, wlen, "command %zu of the cycle failed: %s", k + 1,
                       r->element[k]->str);
            rc = -CCP_EINVAL;
            break;
          }
      }
    } else if (r->type == REDIS_REPLY_ERROR && !rc) {
      snprintf(what, wlen, "%s", r->str);
      rc = -CCP_EINVAL;
    }
    freeReplyObject(r);
  }
  return rc;
}

int ccp_redis_pub_cycle(ccp_redis_pub_t *p, const ccp_view_t *view, const char *const *alerts,
                        size_t nalerts) {
  return ccp_redis_pub_cycle_ckpt(p, view, alerts, nalerts, NULL, 0);
}

int ccp_redis_pub_cycle_ckpt(ccp_redis_pub_t *p, const ccp_view_t *view, const char *const *alerts,
                             size_t nalerts, ccp_checkpoint_t *ckpts, int nckpts) {
  ccp_redis_cycle_t c = {.view = view,
                         .alerts = alerts,
                         .nalerts = nalerts,
                         .ckpts = ckpts,
                         .nckpts = nckpts,
                         .stream_time = INT64_MIN};
  return ccp_redis_pub_cycle_x(p, &c);
}

void ccp_redis_pub_set_timeouts(ccp_redis_pub_t *p, int connect_timeout_ms,
                                int command_timeout_ms) {
  if (connect_timeout_ms > 0)
    p->o.connect_timeout_ms = connect_timeout_ms;
  if (command_timeout_ms > 0) {
    p->timeout_fixed = 1;
    p->o.command_timeout_ms = command_timeout_ms;
    set_read_timeout(p->ctx, command_timeout_ms); /* the open connection at once */
  }
}

/* Counts a failed cycle; the first of a streak is one state line (never
 * rate-limited), the failures' own lines are (pub_error). */
static void streak_fail(ccp_redis_pub_t *p) {
  p->st.cycles_failed++;
  if (p->fail_streak++ == 0) {
    p->down_since_ms = ccp_clock_mono_ms();
    if (!p->o.quiet)
      ccp_log_state(CCP_LOG_WARN, "redis",
                    "publishing to '%s' stopped: alerts are queued and offsets not committed "
                    "until a cycle succeeds",
                    p->addr);
  }
}

/* Connects when not connected and the backoff allows; 0 or -CCP_EIO. */
static int ensure_connected(ccp_redis_pub_t *p) {
  if (p->ctx)
    return 0;
  int crc = -CCP_EIO;
  if (ccp_clock_mono_ms() >= p->next_attempt_ms) {
    sigpipe_guard_t g;
    sigpipe_block(&g);
    crc = do_connect(p);
    sigpipe_unblock(&g);
  }
  return crc;
}

static void bw_report(ccp_redis_pub_t *p);

int ccp_redis_pub_cycle_x(ccp_redis_pub_t *p, ccp_redis_cycle_t *c) {
  const ccp_view_t *view = c->view;
  ccp_checkpoint_t *ckpts = c->ckpts;
  c->shared_time = INT64_MIN;
  c->ckpt_pending = 0;
  for (int i = 0; i < c->nckpts; i++)
    ckpts[i].stored = 0;
  /* checkpoints prepared ahead are written once their compression is done;
   * a batch not given again is forgotten (its states may be freed) */
  if (c->nckpts && !p->ckw)
    p->ckw = ccp__ckpt_writer_new();
  if (c->nckpts && c->ckpt_batch)
    c->ckpt_pending = !ccp__ckpt_prepare(p->ckw, ckpts, c->nckpts, c->ckpt_batch);
  else if (p->ckw && !c->nckpts)
    ccp__ckpt_drop(p->ckw);
  int nckpts = c->ckpt_pending ? 0 : c->nckpts; /* written in this cycle */
  for (int i = 0; i < c->npartials; i++)
    c->partials[i].stored = 0;
  CCP_ASSERT(!c->alerts_skipped || c->nalerts >= p->ring_cap); /* none of them is sent */
  for (size_t i = 0; i < c->alerts_skipped; i++)
    skip_alert(p);
  for (size_t i = 0; i < c->nalerts; i++)
    queue_alert(p, c->alerts[i], strlen(c->alerts[i]),
                c->alert_partitions ? c->alert_partitions[i] : -1,
                c->alert_ids ? c->alert_ids[i] : NULL, c->alert_due ? c->alert_due[i] : INT64_MIN);

  if (ensure_connected(p) != 0) {
    if (nckpts)
      ccp__ckpt_drop(p->ckw); /* not written: the caller frees the batch */
    streak_fail(p);
    return -CCP_EIO;
  }

  int ncmds = 0;
  p->cycle_no++;
  p->cycle_bytes = p->cycle_sets = 0;
  memset(p->cycle_kind_cmds, 0, sizeof p->cycle_kind_cmds);
  memset(p->cycle_kind_bytes, 0, sizeof p->cycle_kind_bytes);
  p->nnext = 0;
  p->slow_pending_due = -1;
  p->snap_pending = 0;
  ccp_buf_clear(&p->out);
  if (nckpts) /* the fencing script, ahead of the MULTI that runs it */
    ccp__ckpt_append_load(&p->out);
  ccp_buf_puts(&p->out, "*1\r\n$5\r\nMULTI\r\n");
  if (view)
    append_tiles(p, &ncmds, view);
  flush_sets(p, &ncmds);
  append_alerts(p, &ncmds, view);
  int ckpt_base = ncmds;
  uint64_t ckpt_bytes = 0, part_bytes = 0;
  if (nckpts)
    ccp__ckpt_append(&p->out, p->ckw, p->prefix, ckpts, nckpts, &ncmds, &ckpt_bytes);
  int part_base = ncmds;
  if (c->npartials)
    ccp__partials_append(&p->out, p->prefix, c->topic, c->partials, c->npartials, &ncmds,
                         &part_bytes);
  int time_at = -1;
  if (c->stream_time != INT64_MIN && c->topic) {
    ccp__stream_time_append(&p->out, p->prefix, c->topic, c->stream_time);
    time_at = ncmds++;
  }
  if (!c->no_meta)
    append_meta(p, &ncmds, view);
  ccp_buf_puts(&p->out, "*1\r\n$4\r\nEXEC\r\n");
  char what[300];
  sigpipe_guard_t g;
  sigpipe_block(&g);
  int wait_ms = p->timeout_fixed
                    ? p->o.command_timeout_ms
                    : ccp__redis_cycle_timeout_ms(p->o.command_timeout_ms, p->ring_n, p->out.len);
  set_read_timeout(p->ctx, wait_ms);
  send_cmds(p->ctx, p->out.data, p->out.len);
  redisReply *exec = NULL;
  int keep = nckpts > 0 || c->npartials > 0 || time_at >= 0;
  int rc = read_replies(p, nckpts > 0, keep, ncmds, what, sizeof what, &exec);
  if (wait_ms != p->o.command_timeout_ms)
    set_read_timeout(p->ctx, p->o.command_timeout_ms);
  sigpipe_unblock(&g);
  ccp_buf_shrink(&p->out, p->out.len); /* sent: a catch-up's burst need not stay */
  alerts_account(p, rc == 0);
  if (exec) { /* what landed (also when another command failed) */
    int refused =
        nckpts ? ccp__ckpt_results(exec, ckpt_base, p->ckw, ckpts, nckpts, p->o.quiet) : 0;
    if (rc == 0 && nckpts &&
        ccp__ckpt_writer_lost(p->ckw)) { /* Redis lost data: write all again now */
      snprintf(what, sizeof what, "%d checkpoint(s) found their base gone from redis",
               ccp__ckpt_writer_lost(p->ckw));
      rc = -CCP_EINVAL;
    }
    for (int i = 0; i < nckpts; i++)
      p->st.ckpts_written += (uint64_t)(ckpts[i].stored && !ckpts[i].same);
    p->st.ckpts_refused += (uint64_t)refused;
    p->st.ckpt_bytes += ckpt_bytes;
    ccp__partials_results(exec, part_base, c->partials, c->npartials);
    for (int i = 0; i < c->npartials; i++)
      p->st.partials_written += (uint64_t)c->partials[i].stored;
    p->st.partial_bytes += part_bytes;
    if (time_at >= 0 && (size_t)time_at < exec->elements) {
      const redisReply *t = exec->element[time_at];
      if (t->type == REDIS_REPLY_STRING)
        c->shared_time = strtoll(t->str, NULL, 10);
      else if (t->type == REDIS_REPLY_INTEGER)
        c->shared_time = t->integer;
    }
    freeReplyObject(exec);
  } else if (nckpts) {
    ccp__ckpt_drop(p->ckw); /* no answer: none stored, the caller frees the batch */
  }
  if (rc != 0) {
    p->nnext = 0;
    forget_written(p); /* part of it may have landed: write everything next time */
    p->cycle_no--;
    streak_fail(p);
    if (rc == -CCP_EIO)
      fail_connection(p, "lost the connection to", what);
    else
      pub_error(p, "cannot publish to", what,
                "; the cycle counts as failed, its alerts go again with the next");
    return rc;
  }

  /* applied: remember the scopes and what their tiles hold, forget the alerts */
  if (view)
    commit_written(p);
  if (p->slow_pending_due >= 0) { /* the next slow cycle is due one interval on the grid */
    int64_t mono = ccp_clock_mono_ms();
    p->slow_next_ms = p->slow_pending_due + p->o.snapshot_interval_ms;
    if (p->slow_next_ms <= mono)
      p->slow_next_ms = mono + p->o.snapshot_interval_ms;
  }
  if (p->snap_pending)
    snap_paced(p, p->snap.len);
  p->st.snapshots_written += p->snap_pending;
  p->st.tiles_written += p->cycle_sets;
  p->st.bytes_written += p->cycle_bytes;
  for (int k = 0; k < CCP_RK__COUNT; k++) {
    p->st.kind_cmds[k] += p->cycle_kind_cmds[k];
    p->st.kind_bytes[k] += p->cycle_kind_bytes[k];
  }
  if (p->fail_streak && !p->o.quiet)
    ccp_log_state(CCP_LOG_INFO, "redis",
                  "publishing to '%s' again after %.1f s and %llu failed cycle(s); %zu queued "
                  "alert(s) delivered",
                  p->addr, (double)(ccp_clock_mono_ms() - p->down_since_ms) / 1000.0,
                  (unsigned long long)p->fail_streak, p->ring_n);
  p->fail_streak = 0;
  ring_clear(p);
  p->st.cycles_ok++;
  p->backoff_ms = p->o.backoff_min_ms;
  bw_report(p);
  return 0;
}

/* With log.level=debug, one line per BW_REPORT_MS: the bytes per second of
 * each key kind written by the successful cycles since the last line (the
 * total is of these kinds), then apart those of the checkpoints, for
 * docs/redis.md "Load" without a MONITOR (which slows the server). */
#define BW_REPORT_MS 10000

static void bw_report(ccp_redis_pub_t *p) {
  if (CCP_LOG_DEBUG > ccp_log_get_level())
    return;
  int64_t mono = ccp_clock_mono_ms();
  if (!p->bw_at_ms) {
    p->bw_at_ms = mono;
    p->bw_cycles = 0;
    memcpy(p->bw_kind_cmds, p->st.kind_cmds, sizeof p->bw_kind_cmds);
    memcpy(p->bw_kind_bytes, p->st.kind_bytes, sizeof p->bw_kind_bytes);
    p->bw_ckpt_bytes = p->st.ckpt_bytes;
    if (p->ckw)
      p->bw_ckw = *ccp__ckpt_writer_stats(p->ckw);
    return;
  }
  p->bw_cycles++;
  if (mono - p->bw_at_ms < BW_REPORT_MS)
    return;
  static const char *const names[CCP_RK__COUNT] = {"kpi", "gauges",   "scope",  "scopes",
                                                   "del", "snapshot", "alerts", "meta"};
  double secs = (double)(mono - p->bw_at_ms) / 1000.0;
  char line[800];
  size_t at = 0;
  uint64_t total = 0;
  for (int k = 0; k < CCP_RK__COUNT; k++) {
    uint64_t b = p->st.kind_bytes[k] - p->bw_kind_bytes[k];
    uint64_t c = p->st.kind_cmds[k] - p->bw_kind_cmds[k];
    total += b;
    at += (size_t)snprintf(line + at, sizeof line - at, " %s %.0f B/s (%.1f/s)", names[k],
                           (double)b / secs, (double)c / secs);
    if (at >= sizeof line)
      break;
  }
  if (at < sizeof line && p->ckw) { /* checkpoints: their own commands, not a kind above */
    const ccp__ckpt_writer_stats_t *cs = ccp__ckpt_writer_stats(p->ckw);
    uint64_t nf = cs->full - p->bw_ckw.full, nd = cs->delta - p->bw_ckw.delta;
    snprintf(line + at, sizeof line - at,
             " ckpt %.0f B/s (%llu whole of %.0f B, %llu deltas of %.0f B)",
             (double)(p->st.ckpt_bytes - p->bw_ckpt_bytes) / secs, (unsigned long long)nf,
             nf ? (double)(cs->full_bytes - p->bw_ckw.full_bytes) / (double)nf : 0.0,
             (unsigned long long)nd,
             nd ? (double)(cs->delta_bytes - p->bw_ckw.delta_bytes) / (double)nd : 0.0);
  }
  ccp_log(CCP_LOG_DEBUG, "redis", "written over %.1f s, %llu cycles: %.0f B/s;%s", secs,
          (unsigned long long)p->bw_cycles, (double)total / secs, line);
  p->bw_at_ms = 0;
  bw_report(p); /* starts the next window */
}

/* ---- several instances: the view writer's reads ---------------------- */

/* Fills g from an HGETALL reply of a stored partial; a malformed or refused
 * one counts as none (logged, rate-limited). */
static void got_from(ccp_redis_pub_t *p, const redisReply *h, ccp_partial_got_t *g) {
  g->offset = INT64_MIN;
  g->partial = NULL;
  if (h->type != REDIS_REPLY_ARRAY || h->elements == 0)
    return;
  const redisReply *data = NULL;
  int64_t offset = INT64_MIN;
  for (size_t i = 0; i + 1 < h->elements; i += 2) {
    const redisReply *k = h->element[i], *v = h->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      continue;
    if (strcmp(k->str, "offset") == 0) {
      char *end;
      long long o = strtoll(v->str, &end, 10);
      if (end != v->str && !*end)
        offset = o;
    } else if (strcmp(k->str, "data") == 0) {
      data = v;
    }
  }
  char err[CCP_ERRBUF_SIZE];
  if (!data || offset == INT64_MIN ||
      !(g->partial = ccp_partial_load(p->o.cfg, data->str, data->len, err, sizeof err))) {
    if (!p->o.quiet)
      ccp_log(CCP_LOG_WARN, "redis", "stored partial of partition %d not used: %s",
              (int)g->partition, data && offset != INT64_MIN ? err : "fields missing");
    return;
  }
  g->offset = offset;
}

int ccp_redis_pub_fetch(ccp_redis_pub_t *p, const char *topic, int32_t fence_partition,
                        int64_t fence_epoch, const int32_t *want, int nwant, ccp_partial_got_t *got,
                        int *fence_ok) {
  *fence_ok = 1;
  for (int i = 0; i < nwant; i++)
    got[i] = (ccp_partial_got_t){.partition = want[i], .offset = INT64_MIN};
  if (ensure_connected(p) != 0)
    return -CCP_EIO;
  ccp_buf_t *o = &p->out;
  ccp_buf_clear(o);
  int n = 0;
  if (fence_epoch > 0) {
    ccp_buf_clear(&p->key);
    ccp_buf_printf(&p->key, "%sckpt:%s:%d:epoch", p->prefix, topic, (int)fence_partition);
    const char *w[2] = {"WATCH", p->key.data}, *gt[2] = {"GET", p->key.data};
    size_t l1[2] = {5, p->key.len}, l2[2] = {3, p->key.len};
    ccp__resp_argv(o, 2, w, l1);
    ccp__resp_argv(o, 2, gt, l2);
    n += 2;
  }
  for (int i = 0; i < nwant; i++) {
    ccp_buf_clear(&p->key);
    ccp_buf_printf(&p->key, "%sv1:partial:%s:%d", p->prefix, topic, (int)want[i]);
    const char *h[2] = {"HGETALL", p->key.data};
    size_t hl[2] = {7, p->key.len};
    ccp__resp_argv(o, 2, h, hl);
    n++;
  }
  if (!n)
    return 0;
  char what[300];
  int rc = 0;
  sigpipe_guard_t g;
  sigpipe_block(&g);
  send_cmds(p->ctx, o->data, o->len);
  for (int i = 0; i < n; i++) {
    void *rv;
    if (redisGetReply(p->ctx, &rv) != REDIS_OK) {
      ctx_errstr(p->ctx, what, sizeof what);
      rc = -CCP_EIO;
      break;
    }
    redisReply *r = rv;
    if (fence_epoch > 0 && i == 1) { /* GET of the epoch */
      if (r->type == REDIS_REPLY_STRING)
        *fence_ok = strtoll(r->str, NULL, 10) == fence_epoch;
    } else if (i >= (fence_epoch > 0 ? 2 : 0)) {
      got_from(p, r, &got[i - (fence_epoch > 0 ? 2 : 0)]);
    }
    freeReplyObject(r);
  }
  if (rc == 0 && !*fence_ok) { /* not ours: the cycle writes no view, nothing watched */
    redisReply *r = redisCommand(p->ctx, "UNWATCH");
    if (!r) {
      ctx_errstr(p->ctx, what, sizeof what);
      rc = -CCP_EIO;
    }
    freeReplyObject(r);
  }
  sigpipe_unblock(&g);
  if (rc != 0) {
    for (int i = 0; i < nwant; i++) {
      ccp_partial_free(got[i].partial);
      got[i].partial = NULL;
      got[i].offset = INT64_MIN;
    }
    fail_connection(p, "lost the connection to", what);
  }
  return rc;
}

/* ---- access check at start-up ------------------------------------------- */

/* A refusal of a probe that passes by itself (the server is loading,
 * failing over, busy with a script): retried like an outage. */
static int transient_error(const char *e) {
  static const char *const codes[] = {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"};
  for (size_t i = 0; i < CCP_ARRAY_LEN(codes); i++)
    if (strncmp(e, codes[i], strlen(codes[i])) == 0 && e[strlen(codes[i])] == ' ')
      return 1;
  return 0;
}

int ccp_redis_check_access(const char *url, const char *prefix, const char *topic, char *errbuf,
                           size_t errlen) {
  url_t u;
  if (url_parse(url, &u, errbuf, errlen) != 0)
    return -CCP_EINVAL;
  char addr[300], what[300] = "", user[160]; /* what: set by open_ctx on failure only */
  addr_of(&u, addr, sizeof addr);
  snprintf(user, sizeof user, "user '%s'", u.user[0] ? u.user : "default");
  int refused = 0, rc = 0;
  sigpipe_guard_t g;
  sigpipe_block(&g);
  redisContext *ctx = open_ctx(&u, 2000, 5000, what, sizeof what, &refused);
  const char *e = strstr(what, ": ") ? strstr(what, ": ") + 2 : what; /* the server's words */
  if (!ctx && refused && !transient_error(e)) {
    rc = -CCP_EINVAL;
    if (strncmp(what, "AUTH", 4) == 0)
      snprintf(errbuf, errlen,
               "redis '%s' refused the credentials of %s (wrong password, or no such ACL user): %s",
               addr, user, what);
    else
      snprintf(errbuf, errlen, "redis '%s' refused the database of the url: %s", addr, what);
  } else if (!ctx) {
    rc = -CCP_EIO;
    snprintf(errbuf, errlen, "cannot connect to redis '%s': %s", addr, what);
  }
  if (!ctx)
    goto done;
  /* Every kind of command a cycle, a checkpoint and a restore send, on a key
   * of each family, queued in a MULTI that is discarded: Redis checks the
   * ACL (command, key, channel) when it queues, and runs nothing. */
  char k_v1[512], k_set[512], k_snap[512], k_alerts[512], k_ids[512], k_part[512], k_ckpt[512];
  const char *t = topic ? topic : "";
  snprintf(k_v1, sizeof k_v1, "%sv1:meta", prefix);
  snprintf(k_set, sizeof k_set, "%sv1:scope_set", prefix);
  snprintf(k_snap, sizeof k_snap, "%ssnapshots", prefix);
  snprintf(k_alerts, sizeof k_alerts, "%salerts", prefix);
  snprintf(k_ids, sizeof k_ids, "%sv1:alert_ids", prefix);
  snprintf(k_part, sizeof k_part, "%sv1:partial:%s:0", prefix, t);
  snprintf(k_ckpt, sizeof k_ckpt, "%sckpt:%s:0:epoch", prefix, t);
  static const char sha0[] = "0000000000000000000000000000000000000000";
  const struct {
    const char *argv[8];
    int obj; /* the argument naming the key or channel; 0: none */
  } probes[] = {
      {{"MULTI"}, 0},
      {{"MSET", k_v1, "0"}, 1},
      {{"DEL", k_v1}, 1},
      {{"HSET", k_v1, "probe", "0"}, 1},
      {{"GET", k_v1}, 1},
      {{"ZADD", k_set, "0", "all"}, 1},
      {{"ZREM", k_set, "all"}, 1},
      {{"ZRANGE", k_set, "0", "-1"}, 1},
      {{"HGETALL", k_part}, 1},
      {{"XADD", k_snap, "MAXLEN", "~", "1", "*", "probe", "0"}, 1},
      {{"XADD", k_alerts, "MAXLEN", "~", "1", "*", "probe", "0"}, 1},
      {{"PUBLISH", k_alerts, "probe"}, 1},
      {{"EVAL", "return 0", "1", k_ids}, 3},
      {{"EVALSHA", sha0, "1", k_ckpt}, 3},
      {{"SCRIPT", "LOAD", "return 0"}, 0},
      {{"DISCARD"}, 0},
      {{"WATCH", k_ckpt}, 1},
      {{"UNWATCH"}, 0},
  };
  for (size_t i = 0; i < CCP_ARRAY_LEN(probes) && rc == 0; i++) {
    const char *argv[8];
    int argc = 0;
    while (argc < 8 && probes[i].argv[argc]) {
      argv[argc] = probes[i].argv[argc];
      argc++;
    }
    redisReply *r = redisCommandArgv(ctx, argc, argv, NULL);
    const char *cmd_ = probes[i].argv[0], *obj = probes[i].obj ? probes[i].argv[probes[i].obj] : "";
    if (!r) {
      ctx_errstr(ctx, what, sizeof what);
      snprintf(errbuf, errlen, "cannot connect to redis '%s': %s", addr, what);
      rc = -CCP_EIO;
    } else if (r->type != REDIS_REPLY_ERROR) {
    } else if (transient_error(r->str)) {
      snprintf(errbuf, errlen, "redis '%s' is not ready: %s", addr, r->str);
      rc = -CCP_EIO;
    } else if (strncmp(r->str, "NOAUTH", 6) == 0) {
      snprintf(errbuf, errlen,
               "redis '%s' requires authentication: put ':PASSWORD@' (or 'USER:PASSWORD@' for an "
               "ACL user) before the host in the url",
               addr);
      rc = -CCP_EINVAL;
    } else {
      snprintf(errbuf, errlen, "redis '%s' refuses %s %s%s%s%s: %s (docs/redis.md, access)", addr,
               user, cmd_, *obj ? " on '" : "", obj, *obj ? "'" : "", r->str);
      rc = -CCP_EINVAL;
    }
    freeReplyObject(r);
  }
  redisFree(ctx);
done:
  sigpipe_unblock(&g);
  memset(&u, 0, sizeof u); /* the password */
  return rc;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int64_t or_default(int64_t v, int64_t def) { return v ? v : def; }

ccp_redis_pub_t *ccp_redis_pub_new(const ccp_redis_pub_opts_t *opts, char *errbuf, size_t errlen) {
  url_t u;
  if (url_parse(opts->url, &u, errbuf, errlen) != 0)
    return NULL;
  if (!opts->cfg) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "redis publisher: no configuration given");
    return NULL;
  }
  const char *prefix = opts->prefix ? opts->prefix : "ccpulse:";
  for (const char *q = prefix; *q; q++)
    if (isspace((unsigned char)*q) || !isprint((unsigned char)*q)) {
      if (errbuf && errlen)
        snprintf(errbuf, errlen,
                 "invalid redis prefix '%s': spaces and control characters are not allowed",
                 prefix);
      return NULL;
    }
  if (opts->snapshot_interval_ms < 0 || opts->wait_refresh_ms < 0 || opts->alerts_maxlen < 0 ||
      opts->connect_timeout_ms < 0 || opts->command_timeout_ms < 0 || opts->backoff_min_ms < 0 ||
      opts->backoff_max_ms < 0) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "redis publisher: negative option");
    return NULL;
  }
  ccp_redis_pub_t *p = ccp_calloc(1, sizeof *p);
  p->o = *opts;
  p->url = u;
  p->prefix = ccp_strdup(prefix);
  p->o.prefix = p->prefix;
  p->o.url = NULL; /* not kept: may hold a password */
  /* 0 = the default of ccp_redis_pub_opts_t */
  p->o.snapshot_maxlen = or_default(p->o.snapshot_maxlen, 1000);
  p->o.alerts_maxlen = or_default(p->o.alerts_maxlen, 100000);
  p->o.dedup_window_ms = or_default(p->o.dedup_window_ms, 24 * 3600000LL);
  p->o.snapshot_max_mb = p->o.snapshot_max_mb ? p->o.snapshot_max_mb : 512;
  p->o.snapshot_mb_per_s = p->o.snapshot_mb_per_s ? p->o.snapshot_mb_per_s : 1.5;
  p->o.connect_timeout_ms = (int)or_default(p->o.connect_timeout_ms, 500);
  p->o.command_timeout_ms = (int)or_default(p->o.command_timeout_ms, 2000);
  p->o.backoff_min_ms = (int)or_default(p->o.backoff_min_ms, 100);
  p->o.backoff_max_ms = (int)or_default(p->o.backoff_max_ms, 5000);
  if (p->o.backoff_max_ms < p->o.backoff_min_ms)
    p->o.backoff_max_ms = p->o.backoff_min_ms;
  p->o.max_queued_alerts = (size_t)or_default((int64_t)p->o.max_queued_alerts, 100000);
  p->backoff_ms = p->o.backoff_min_ms;
  p->ring_cap = p->o.max_queued_alerts;
  p->ring = ccp_calloc(p->ring_cap, sizeof *p->ring);
  p->ring_len = ccp_calloc(p->ring_cap, sizeof *p->ring_len);
  p->ring_meta = ccp_calloc(p->ring_cap, sizeof *p->ring_meta);
  addr_of(&u, p->addr, sizeof p->addr);
  ccp_buf_init(&p->key);
  ccp_buf_init(&p->val);
  ccp_buf_init(&p->snap);
  ccp_buf_init(&p->out);
  ccp_buf_init(&p->pkey);
  ccp_buf_init(&p->sets);
  ccp_buf_init(&p->zadds);
  ccp_buf_init(&p->zrems);
  ccp_buf_init(&p->setkey);
  ccp_buf_printf(&p->setkey, "%sv1:scope_set", p->prefix);
  ccp_buf_init(&p->dels);
  return p;
}

void ccp_redis_pub_free(ccp_redis_pub_t *p) {
  if (!p)
    return;
  disconnect(p);
  ring_clear(p);
  ccp_free(p->ring);
  ccp_free(p->ring_len);
  ccp_free(p->ring_meta);
  prev_clear(p);
  ccp_free(p->next);
  ccp_buf_release(&p->key);
  ccp_buf_release(&p->val);
  ccp_buf_release(&p->snap);
  ccp_buf_release(&p->out);
  ccp_buf_release(&p->pkey);
  ccp_free(p->pslot);
  ccp_buf_release(&p->sets);
  ccp_buf_release(&p->zadds);
  ccp_buf_release(&p->zrems);
  ccp_buf_release(&p->setkey);
  ccp_buf_release(&p->dels);
  ccp_free(p->prefix);
  ccp__ckpt_writer_free(p->ckw);
  memset(&p->url, 0, sizeof p->url);
  ccp_free(p);
}

void ccp_redis_pub_stats(const ccp_redis_pub_t *p, ccp_redis_pub_stats_t *out) {
  *out = p->st;
  out->alerts_queued = p->ring_n;
  out->connected = p->ctx != NULL;
  out->retry_in_ms = p->ctx ? 0 : CCP_MAX(0, p->next_attempt_ms - ccp_clock_mono_ms());
}

const char *ccp_redis_pub_addr(const ccp_redis_pub_t *p) { return p->addr; }
