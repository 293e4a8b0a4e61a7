/*
 * The checkpoint store: partition checkpoints in Redis (docs/checkpoints.md,
 * "Where checkpoints live and how they are used"; keys in docs/redis.md).
 *
 * Write (publisher thread, inside the Redis publisher's MULTI/EXEC of the
 * cycle whose offsets the checkpoint covers): the state goes into a staging
 * hash <key>:new (DEL, then HSETs of at most CCP_CKPT_CHUNK bytes of state
 * each, so no command carries one huge argument and the bytes never pass
 * through Lua), then EVALSHA of the fencing script renames the staging hash
 * over <key> when <key>:epoch still holds the writer's epoch, and deletes it
 * otherwise. So a stale owner (a rebalance in flight, a zombie instance)
 * never overwrites a newer owner's checkpoint, and a checkpoint changes only
 * as a whole, with the view of the same cycle. SCRIPT LOAD is pipelined
 * ahead of the cycle's MULTI (idempotent, no extra round trip), so EVALSHA
 * finds the script after a Redis restart or SCRIPT FLUSH; its reply is
 * checked against the sha compiled in here.
 *
 * The same script, when it stores a checkpoint, forgets the ids of the
 * partition's deadline alerts due before the checkpoint's alert floor
 * (ccp_engine_alert_floor()): a restore, always of the newest stored
 * checkpoint, cannot fire them again (docs/redis.md, "Alerts once"). A
 * refused write forgets nothing.
 *
 * An epoch key that is missing (Redis lost its data) is set by the first
 * writer: Redis keeps no token to compare with, and refusing every write
 * would stop checkpoints (and commits) for good.
 *
 * Read (main thread, rebalance callback, a reader's own connection: the
 * publisher's context belongs to the publisher thread): INCR of the epoch
 * and HGETALL of the checkpoint in one MULTI/EXEC, so the new owner's token
 * is taken before it reads, and no older owner can write after the read.
 * Connection attempts are bounded by the reader's wait.
 */
#include "ccpulse/ckpt_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/clock.h"
#include "ccpulse/common.h"
#include "ccpulse/log.h"
#include "ccpulse/redis_pub.h"
#include "publish/ckpt_int.h"

/* KEYS: the checkpoint, its epoch, the staging hash, the partition's alert
 * ids; ARGV[1]: the writer's epoch, ARGV[2]: the checkpoint's alert floor
 * ('' = none). Returns 1 when the staging hash became the checkpoint (and
 * the ids due before the floor were forgotten: no restore can fire them
 * again, docs/redis.md), 0 when the epoch belongs to another owner (the
 * staging hash is deleted, the ids are left alone). */
static const char SCRIPT[] =
    "local cur = redis.call('GET', KEYS[2])\n"
    "if cur == false then\n"
    "  redis.call('SET', KEYS[2], ARGV[1])\n"
    "elseif cur ~= ARGV[1] then\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  return 0\n"
    "end\n"
    "redis.call('RENAME', KEYS[3], KEYS[1])\n"
    "if ARGV[2] ~= '' then redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[2]) end\n"
    "return 1\n";
/* SHA1 of SCRIPT (what SCRIPT LOAD answers; checked at every load). */
static const char SCRIPT_SHA[] = "06d6ba8585a741388b020afc857f3e3deff56cb2";

/* ---- write (publisher thread) ------------------------------------------ */

void ccp__ckpt_append_load(ccp_buf_t *o) {
  const char *argv[3] = {"SCRIPT", "LOAD", SCRIPT};
  size_t lens[3] = {6, 4, sizeof SCRIPT - 1};
  ccp__resp_argv(o, 3, argv, lens);
}

int ccp__ckpt_check_load(const redisReply *r, char *what, size_t wlen) {
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(what, wlen, "SCRIPT LOAD of the checkpoint script failed: %s", r->str);
    return -CCP_EINVAL;
  }
  if (r->type != REDIS_REPLY_STRING || strcmp(r->str, SCRIPT_SHA) != 0) {
    snprintf(what, wlen, "SCRIPT LOAD of the checkpoint script answered '%s', not its sha %s",
             r->type == REDIS_REPLY_STRING ? r->str : "?", SCRIPT_SHA);
    return -CCP_EINVAL;
  }
  return 0;
}

/* Number of state chunks of a checkpoint of len bytes (at least one field). */
static size_t nchunks(size_t len) { return len ? (len + CCP_CKPT_CHUNK - 1) / CCP_CKPT_CHUNK : 1; }

static int writable(const ccp_checkpoint_t *c) { return c->epoch > 0 && c->offset >= 0; }

/* Its key, with `suffix` ("", ":epoch", ":new"). */
static void key_of(ccp_buf_t *k, const char *prefix, const char *topic, int32_t partition,
                   const char *suffix) {
  ccp_buf_clear(k);
  ccp_buf_printf(k, "%sckpt:%s:%d%s", prefix, topic, (int)partition, suffix);
}

void ccp__alert_ids_key(ccp_buf_t *k, const char *prefix, const char *topic, int32_t partition) {
  ccp_buf_clear(k);
  ccp_buf_printf(k, "%sv1:alert_ids:%s:%d", prefix, topic ? topic : "", (int)partition);
}

void ccp__ckpt_append(ccp_buf_t *o, const char *prefix, const ccp_checkpoint_t *c, int n,
                      int *ncmds, uint64_t *bytes) {
  ccp_buf_t key, ekey, skey, ikey;
  ccp_buf_init(&key);
  ccp_buf_init(&ekey);
  ccp_buf_init(&skey);
  ccp_buf_init(&ikey);
  for (int i = 0; i < n; i++) {
    if (!writable(&c[i]))
      continue;
    key_of(&key, prefix, c[i].topic, c[i].partition, "");
    key_of(&ekey, prefix, c[i].topic, c[i].partition, ":epoch");
    key_of(&skey, prefix, c[i].topic, c[i].partition, ":new");
    ccp__alert_ids_key(&ikey, prefix, c[i].topic, c[i].partition);
    const char *del[2] = {"DEL", skey.data};
    size_t dlens[2] = {3, skey.len};
    ccp__resp_argv(o, 2, del, dlens);
    char num[5][24];
    size_t k = nchunks(c[i].len);
    snprintf(num[0], sizeof num[0], "%lld", (long long)c[i].offset);
    snprintf(num[1], sizeof num[1], "%zu", c[i].len);
    snprintf(num[2], sizeof num[2], "%lld", (long long)c[i].saved_ms);
    snprintf(num[3], sizeof num[3], "%lld", (long long)c[i].epoch);
    snprintf(num[4], sizeof num[4], "%zu", k);
    const char *names[5] = {"offset", "bytes", "saved_ms", "epoch", "chunks"};
    const char *argv[14];
    size_t lens[14];
    int argc = 0;
    argv[argc] = "HSET", lens[argc++] = 4;
    argv[argc] = skey.data, lens[argc++] = skey.len;
    for (int f = 0; f < 5; f++) {
      argv[argc] = names[f], lens[argc++] = strlen(names[f]);
      argv[argc] = num[f], lens[argc++] = strlen(num[f]);
    }
    for (size_t j = 0; j < k; j++) {
      char field[32];
      size_t at = j * CCP_CKPT_CHUNK, len = CCP_MIN(CCP_CKPT_CHUNK, c[i].len - at);
      if (j == 0) {
        snprintf(field, sizeof field, "state");
      } else {
        argc = 0;
        argv[argc] = "HSET", lens[argc++] = 4;
        argv[argc] = skey.data, lens[argc++] = skey.len;
        snprintf(field, sizeof field, "state:%zu", j);
      }
      argv[argc] = field, lens[argc++] = strlen(field);
      argv[argc] = c[i].len ? (const char *)c[i].state + at : "", lens[argc++] = len;
      ccp__resp_argv(o, argc, argv, lens);
      for (int a = 1; a < argc; a++)
        *bytes += lens[a];
    }
    char floor[24] = "";
    if (c[i].alert_floor != INT64_MIN)
      snprintf(floor, sizeof floor, "%lld", (long long)c[i].alert_floor);
    const char *ev[9] = {"EVALSHA", SCRIPT_SHA, "4",    key.data, ekey.data,
                         skey.data, ikey.data,  num[3], floor};
    size_t elens[9] = {7,
                       sizeof SCRIPT_SHA - 1,
                       1,
                       key.len,
                       ekey.len,
                       skey.len,
                       ikey.len,
                       strlen(num[3]),
                       strlen(floor)};
    ccp__resp_argv(o, 9, ev, elens);
    *ncmds += 2 + (int)k;
    *bytes += skey.len + key.len + ekey.len + ikey.len;
  }
  ccp_buf_release(&key);
  ccp_buf_release(&ekey);
  ccp_buf_release(&skey);
  ccp_buf_release(&ikey);
}

int ccp__ckpt_results(const redisReply *exec, int base, ccp_checkpoint_t *c, int n, int quiet) {
  int at = base, refused = 0;
  for (int i = 0; i < n; i++) {
    c[i].stored = 0;
    if (!writable(&c[i]))
      continue;
    at += 2 + (int)nchunks(c[i].len); /* DEL, HSET x chunks, EVALSHA */
    const redisReply *r = exec && at - 1 < (int)exec->elements ? exec->element[at - 1] : NULL;
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
      c[i].stored = 1;
    } else if (r && r->type == REDIS_REPLY_INTEGER) {
      refused++;
      if (!quiet)
        ccp_log(CCP_LOG_WARN, "checkpoint",
                "checkpoint of '%s' [%d] at offset %lld not written: epoch %lld is no longer the "
                "partition's (a newer owner took it); its offsets are not committed",
                c[i].topic, (int)c[i].partition, (long long)c[i].offset, (long long)c[i].epoch);
    }
  }
  return refused;
}

/* ---- read (the reader's thread) ---------------------------------------- */

struct ccp_ckpt_reader {
  redisContext *ctx;
  char *url, *prefix;
  char addr[300];
  int64_t deadline_ms; /* monotonic: connection attempts stop then */
  ccp_buf_t key;
};

ccp_ckpt_reader_t *ccp_ckpt_reader_new(const char *url, const char *prefix, int64_t wait_ms,
                                       char *errbuf, size_t errlen) {
  if (ccp_redis_url_check(url, errbuf, errlen) != 0)
    return NULL;
  ccp_ckpt_reader_t *r = ccp_calloc(1, sizeof *r);
  r->url = ccp_strdup(url);
  r->prefix = ccp_strdup(prefix ? prefix : "ccpulse:");
  r->deadline_ms = ccp_clock_mono_ms() + wait_ms;
  ccp_buf_init(&r->key);
  return r;
}

void ccp_ckpt_reader_free(ccp_ckpt_reader_t *r) {
  if (!r)
    return;
  if (r->ctx)
    redisFree(r->ctx);
  ccp_free(r->url);
  ccp_free(r->prefix);
  ccp_buf_release(&r->key);
  ccp_free(r);
}

void ccp_ckpt_found_release(ccp_ckpt_found_t *f) { ccp_buf_release(&f->state); }

/* Connects when not connected; retries with a short backoff until the
 * deadline (one attempt after it). */
static int reader_connect(ccp_ckpt_reader_t *r, char *what, size_t wlen) {
  int64_t backoff = 100;
  while (!r->ctx) {
    r->ctx = ccp__redis_connect(r->url, 500, 5000, r->addr, sizeof r->addr, what, wlen);
    if (r->ctx)
      break;
    int64_t left = r->deadline_ms - ccp_clock_mono_ms();
    if (left <= 0)
      return -CCP_EIO;
    ccp_clock_sleep_ms(CCP_MIN(backoff, left));
    backoff = CCP_MIN(backoff * 2, 1000);
  }
  return 0;
}

static int parse_i64(const char *s, size_t len, int64_t *out) {
  char tmp[24];
  if (len == 0 || len >= sizeof tmp)
    return -1;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end;
  errno = 0;
  long long v = strtoll(tmp, &end, 10);
  if (*end || errno)
    return -1;
  *out = v;
  return 0;
}

/* Fills f from an HGETALL reply (field, value pairs); 0 or -CCP_EPARSE with what. */
static int parse_found(const redisReply *h, ccp_ckpt_found_t *f, char *what, size_t wlen) {
  int64_t bytes = -1, chunks = -1;
  const redisReply *state0 = NULL;
  f->offset = f->epoch_of = f->saved_ms = -1;
  for (size_t i = 0; i + 1 < h->elements; i += 2) {
    const redisReply *k = h->element[i], *v = h->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      continue;
    int64_t *num = strcmp(k->str, "offset") == 0     ? &f->offset
                   : strcmp(k->str, "bytes") == 0    ? &bytes
                   : strcmp(k->str, "epoch") == 0    ? &f->epoch_of
                   : strcmp(k->str, "saved_ms") == 0 ? &f->saved_ms
                   : strcmp(k->str, "chunks") == 0   ? &chunks
                                                     : NULL;
    if (num && parse_i64(v->str, v->len, num) != 0) {
      snprintf(what, wlen, "field '%s' is not an integer", k->str);
      return -CCP_EPARSE;
    }
    if (strcmp(k->str, "state") == 0)
      state0 = v;
  }
  if (f->offset < 0 || bytes < 0 || chunks < 1 || chunks > (int64_t)1 << 20 || !state0) {
    snprintf(what, wlen, "fields offset, bytes, chunks or state missing or out of range");
    return -CCP_EPARSE;
  }
  ccp_buf_reserve(&f->state, (size_t)bytes);
  ccp_buf_append(&f->state, state0->str, state0->len);
  for (int64_t j = 1; j < chunks; j++) {
    char field[32];
    snprintf(field, sizeof field, "state:%lld", (long long)j);
    const redisReply *v = NULL;
    for (size_t i = 0; i + 1 < h->elements && !v; i += 2)
      if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, field) == 0)
        v = h->element[i + 1];
    if (!v || v->type != REDIS_REPLY_STRING) {
      snprintf(what, wlen, "chunk '%s' of %lld missing", field, (long long)chunks);
      return -CCP_EPARSE;
    }
    ccp_buf_append(&f->state, v->str, v->len);
  }
  if ((int64_t)f->state.len != bytes) {
    snprintf(what, wlen, "%zu bytes of state, the checkpoint says %lld", f->state.len,
             (long long)bytes);
    return -CCP_EPARSE;
  }
  return 0;
}

int ccp_ckpt_reader_claim(ccp_ckpt_reader_t *r, const char *topic, int32_t partition,
                          ccp_ckpt_found_t *out, char *errbuf, size_t errlen) {
  char what[300];
  memset(out, 0, sizeof *out);
  ccp_buf_init(&out->state);
  for (int attempt = 0;; attempt++) {
    if (reader_connect(r, what, sizeof what) != 0)
      goto unreachable;
    key_of(&r->key, r->prefix, topic, partition, ":epoch");
    redisAppendCommand(r->ctx, "MULTI");
    redisAppendCommand(r->ctx, "INCR %b", r->key.data, r->key.len);
    key_of(&r->key, r->prefix, topic, partition, "");
    redisAppendCommand(r->ctx, "HGETALL %b", r->key.data, r->key.len);
    redisAppendCommand(r->ctx, "EXEC");
    redisReply *rep[4] = {NULL};
    int ok = 1;
    for (int i = 0; i < 4 && ok; i++)
      ok = redisGetReply(r->ctx, (void **)&rep[i]) == REDIS_OK;
    if (!ok) { /* connection lost: reconnect while the wait lasts */
      snprintf(what, sizeof what, "%s", r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
      for (int i = 0; i < 4; i++)
        if (rep[i])
          freeReplyObject(rep[i]);
      redisFree(r->ctx);
      r->ctx = NULL;
      if (ccp_clock_mono_ms() < r->deadline_ms)
        continue;
      goto unreachable;
    }
    const redisReply *x = rep[3];
    int rc = 0;
    if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 ||
        x->element[0]->type != REDIS_REPLY_INTEGER || x->element[1]->type != REDIS_REPLY_ARRAY) {
      snprintf(errbuf, errlen, "cannot claim the checkpoint of '%s' [%d] on '%s': %s", topic,
               (int)partition, r->addr,
               x->type == REDIS_REPLY_ERROR ? x->str
               : x->type == REDIS_REPLY_ARRAY && x->elements == 2 &&
                       x->element[0]->type == REDIS_REPLY_ERROR
                   ? x->element[0]->str
               : x->type == REDIS_REPLY_ARRAY && x->elements == 2 &&
                       x->element[1]->type == REDIS_REPLY_ERROR
                   ? x->element[1]->str
                   : "unexpected reply");
      rc = -CCP_EIO;
    } else {
      out->epoch = x->element[0]->integer;
      const redisReply *h = x->element[1];
      if (h->elements > 0) {
        if (parse_found(h, out, what, sizeof what) == 0) {
          out->present = 1;
        } else {
          snprintf(errbuf, errlen, "malformed checkpoint '%s': %s", r->key.data, what);
          ccp_buf_clear(&out->state);
          rc = -CCP_EPARSE;
        }
      }
    }
    for (int i = 0; i < 4; i++)
      freeReplyObject(rep[i]);
    return rc;
  }
unreachable:
  snprintf(errbuf, errlen, "cannot reach redis '%s' to claim '%s' [%d]: %s",
           r->addr[0] ? r->addr : "?", topic, (int)partition, what);
  return -CCP_EIO;
}

/* ---- partials of several instances (publisher thread) ------------------ */

/* KEYS: the partial, the partition's checkpoint epoch, the staging hash;
 * ARGV: the writer's epoch, the partial's offset. Renames the staging hash
 * over the partial when the epoch is the writer's (or missing) and the
 * stored partial does not cover more records; returns 1, else deletes the
 * staging hash and returns 0. EVAL, not EVALSHA: a few hundred bytes, and
 * no NOSCRIPT after a Redis restart. */
static const char PARTIAL_LUA[] =
    "local cur = redis.call('GET', KEYS[2])\n"
    "local o = redis.call('HGET', KEYS[1], 'offset')\n"
    "if (cur and cur ~= ARGV[1]) or (o and tonumber(o) > tonumber(ARGV[2])) then\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  return 0\n"
    "end\n"
    "redis.call('RENAME', KEYS[3], KEYS[1])\n"
    "return 1\n";

/* KEYS[1]: the shared stream time; ARGV[1]: this instance's. Keeps the
 * larger and returns it. */
static const char STREAM_TIME_LUA[] = "local c = tonumber(redis.call('GET', KEYS[1]))\n"
                                      "local t = tonumber(ARGV[1])\n"
                                      "if c == nil or t > c then\n"
                                      "  redis.call('SET', KEYS[1], ARGV[1])\n"
                                      "  return ARGV[1]\n"
                                      "end\n"
                                      "return tostring(c)\n";

void ccp__partials_append(ccp_buf_t *o, const char *prefix, const char *topic,
                          const ccp_partial_rec_t *r, int n, int *ncmds, uint64_t *bytes) {
  ccp_buf_t key, ekey, skey;
  ccp_buf_init(&key);
  ccp_buf_init(&ekey);
  ccp_buf_init(&skey);
  for (int i = 0; i < n; i++) {
    if (r[i].epoch <= 0)
      continue;
    ccp_buf_clear(&key);
    ccp_buf_printf(&key, "%sv1:partial:%s:%d", prefix, topic, (int)r[i].partition);
    ccp_buf_clear(&skey);
    ccp_buf_printf(&skey, "%sv1:partial:%s:%d:new", prefix, topic, (int)r[i].partition);
    key_of(&ekey, prefix, topic, r[i].partition, ":epoch");
    const char *del[2] = {"DEL", skey.data};
    size_t dlens[2] = {3, skey.len};
    ccp__resp_argv(o, 2, del, dlens);
    char num[3][24];
    snprintf(num[0], sizeof num[0], "%lld", (long long)r[i].offset);
    snprintf(num[1], sizeof num[1], "%lld", (long long)r[i].epoch);
    snprintf(num[2], sizeof num[2], "%lld", (long long)r[i].now);
    const char *hs[10] = {"HSET", skey.data, "offset", num[0], "epoch",
                          num[1], "now_ms",  num[2],   "data", r[i].len ? r[i].data : ""};
    size_t hl[10] = {4, skey.len,       6, strlen(num[0]), 5, strlen(num[1]),
                     6, strlen(num[2]), 4, r[i].len};
    ccp__resp_argv(o, 10, hs, hl);
    const char *ev[8] = {"EVAL", PARTIAL_LUA, "3", key.data, ekey.data, skey.data, num[1], num[0]};
    size_t el[8] = {
        4, sizeof PARTIAL_LUA - 1, 1, key.len, ekey.len, skey.len, strlen(num[1]), strlen(num[0])};
    ccp__resp_argv(o, 8, ev, el);
    *ncmds += 3;
    *bytes += r[i].len + key.len + ekey.len + 2 * skey.len;
  }
  ccp_buf_release(&key);
  ccp_buf_release(&ekey);
  ccp_buf_release(&skey);
}

void ccp__partials_results(const redisReply *exec, int base, ccp_partial_rec_t *r, int n) {
  int at = base;
  for (int i = 0; i < n; i++) {
    r[i].stored = 0;
    if (r[i].epoch <= 0)
      continue;
    at += 3; /* DEL, HSET, EVAL */
    const redisReply *x = exec && at - 1 < (int)exec->elements ? exec->element[at - 1] : NULL;
    r[i].stored = x && x->type == REDIS_REPLY_INTEGER && x->integer == 1;
  }
}

void ccp__stream_time_append(ccp_buf_t *o, const char *prefix, const char *topic, int64_t t) {
  ccp_buf_t key;
  ccp_buf_init(&key);
  ccp_buf_printf(&key, "%sv1:stream_time:%s", prefix, topic);
  char num[24];
  snprintf(num, sizeof num, "%lld", (long long)t);
  const char *ev[5] = {"EVAL", STREAM_TIME_LUA, "1", key.data, num};
  size_t el[5] = {4, sizeof STREAM_TIME_LUA - 1, 1, key.len, strlen(num)};
  ccp__resp_argv(o, 5, ev, el);
  ccp_buf_release(&key);
}
