/* labels: redis threads */
/*
 * The checkpoint store (src/publish/ckpt_store.c, written through the Redis
 * publisher's cycle, src/publish/redis_pub.c) against a real redis-server
 * that this test starts (redis_testutil.h).
 *
 * Covers: a checkpoint written in a cycle's transaction reads back whole
 * (offset, bytes, epoch, state) with the claim that takes the next epoch;
 * fencing: after a newer claim the older owner's write is refused, counted,
 * leaves the newer checkpoint and no staging key; a state of several chunks
 * (CCP_CKPT_CHUNK) round-trips; a failed cycle (transaction refused: Redis
 * out of memory) leaves the previous checkpoint intact; SCRIPT FLUSH does not
 * break writes; an epoch key Redis lost is set again by the writer; a
 * malformed checkpoint is reported while its epoch is still taken; an
 * unreachable Redis fails the claim within the reader's wait. Several
 * instances (docs/live.md): a partial lands only with the partition's epoch
 * and never over one with a larger offset, reads back through
 * ccp_redis_pub_fetch(); the view writer's fence reports a partition 0
 * taken by another owner, and a cycle after a fetch whose epoch changed
 * meanwhile is aborted whole (WATCH); the shared stream time keeps the max.
 * The alert ids of a partition: forgotten below a checkpoint's alert floor
 * only when that partition's checkpoint is stored. Checkpoints prepared off
 * the cycle (a batch id): written by a later cycle, read back as the very
 * states; dropped when a cycle no longer gives them; made again whole when
 * a failed cycle made the writer forget the bases of its deltas.
 *
 * Skipped (exit 77) when redis-server is not installed.
 */
#include <stdlib.h>
#include <string.h>

#include "ccpulse/ckpt_store.h"
#include "ccpulse/clock.h"
#include "ccpulse/engine.h"
#include "ccpulse/redis_pub.h"
#include "config_testutil.h"
#include "counters/partial.h"
#include "gen/gen.h"
#include "redis_testutil.h"

static ccp_config_t cfg;
static char url[64];
static redisContext *rc; /* the test's own connection */

#define cmd(...) redis_cmd(rc, __VA_ARGS__)

static int64_t exists(const char *key) {
  redisReply *r = cmd("EXISTS %s", key);
  int64_t n = r->integer;
  freeReplyObject(r);
  return n;
}

static ccp_redis_pub_t *new_pub(void) {
  ccp_redis_pub_opts_t o = {.url = url, .prefix = "ck:", .cfg = &cfg, .quiet = 1};
  char err[CCP_ERRBUF_SIZE];
  ccp_redis_pub_t *p = ccp_redis_pub_new(&o, err, sizeof err);
  if (!p) {
    fprintf(stderr, "%s\n", err);
    exit(2);
  }
  return p;
}

/* Claims topic/partition with a fresh reader; returns the claim's rc. */
static int claim(const char *topic, int32_t partition, ccp_ckpt_found_t *f) {
  char err[CCP_ERRBUF_SIZE];
  ccp_ckpt_reader_t *r = ccp_ckpt_reader_new(url, "ck:", 2000, err, sizeof err);
  T_TRUE(r != NULL);
  int rc2 = ccp_ckpt_reader_claim(r, topic, partition, f, err, sizeof err);
  if (rc2 != 0)
    fprintf(stderr, "  claim: %s\n", err);
  ccp_ckpt_reader_free(r);
  return rc2;
}

/* Claims topic/partition and returns the epoch taken. */
static int64_t claim_epoch(const char *topic, int32_t partition) {
  ccp_ckpt_found_t f;
  T_EQ_INT(claim(topic, partition, &f), 0);
  int64_t e = f.epoch;
  ccp_ckpt_found_release(&f);
  return e;
}

/* Hands checkpoint c alone to a cycle; returns the cycle's rc, *stored. */
static int cycle1(ccp_redis_pub_t *p, ccp_checkpoint_t c, int *stored) {
  c.saved_ms = ccp_clock_wall_ms();
  int r = ccp_redis_pub_cycle_ckpt(p, NULL, NULL, 0, &c, 1);
  *stored = c.stored;
  return r;
}

/* Writes one checkpoint in a cycle; returns the cycle's rc, *stored. */
static int write1(ccp_redis_pub_t *p, const char *topic, int32_t partition, int64_t epoch,
                  int64_t offset, const void *state, size_t len, int *stored) {
  return cycle1(p,
                (ccp_checkpoint_t){.topic = topic,
                                   .partition = partition,
                                   .offset = offset,
                                   .epoch = epoch,
                                   .state = state,
                                   .len = len},
                stored);
}

static void test_write_read(void) {
  ccp_redis_pub_t *p = new_pub();
  ccp_ckpt_found_t f;
  T_EQ_INT(claim("t", 0, &f), 0);
  T_EQ_INT(f.present, 0);
  T_EQ_INT(f.epoch, 1);
  ccp_ckpt_found_release(&f);

  static const char state[] = "engine\0state\x01\xff bytes";
  int stored = -1;
  T_EQ_INT(write1(p, "t", 0, 1, 1234, state, sizeof state, &stored), 0);
  T_EQ_INT(stored, 1);
  T_EQ_INT(exists("ck:ckpt:t:0:new"), 0); /* renamed, nothing left behind */

  T_EQ_INT(claim("t", 0, &f), 0);
  T_EQ_INT(f.present, 1);
  T_EQ_INT(f.epoch, 2);
  T_EQ_INT(f.epoch_of, 1);
  T_EQ_INT(f.offset, 1234);
  T_EQ_INT(f.state.len, sizeof state);
  T_TRUE(f.state.len == sizeof state && memcmp(f.state.data, state, sizeof state) == 0);
  T_TRUE(f.saved_ms > 0);
  ccp_ckpt_found_release(&f);

  /* another partition is another key */
  T_EQ_INT(claim("t", 1, &f), 0);
  T_EQ_INT(f.present, 0);
  ccp_ckpt_found_release(&f);
  ccp_redis_pub_free(p);
}

static void test_fencing(void) {
  ccp_redis_pub_t *old = new_pub(), *cur = new_pub();
  int64_t e_old = claim_epoch("fence", 3); /* the old owner's */
  ccp_ckpt_found_t f;
  int stored;
  T_EQ_INT(write1(old, "fence", 3, e_old, 10, "old-a", 5, &stored), 0);
  T_EQ_INT(stored, 1);

  T_EQ_INT(claim("fence", 3, &f), 0); /* a new owner takes the partition */
  int64_t e_new = f.epoch;
  T_TRUE(e_new > e_old);
  T_EQ_INT(f.offset, 10);
  ccp_ckpt_found_release(&f);
  T_EQ_INT(write1(cur, "fence", 3, e_new, 20, "new-b", 5, &stored), 0);
  T_EQ_INT(stored, 1);

  /* the stale owner writes again: the cycle succeeds, its checkpoint does not land */
  T_EQ_INT(write1(old, "fence", 3, e_old, 30, "old-c", 5, &stored), 0);
  T_EQ_INT(stored, 0);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(old, &st);
  T_EQ_U64(st.ckpts_refused, 1);
  T_EQ_U64(st.ckpts_written, 1);
  T_EQ_INT(exists("ck:ckpt:fence:3:new"), 0);

  T_EQ_INT(claim("fence", 3, &f), 0);
  T_EQ_INT(f.offset, 20);
  T_EQ_INT(f.epoch_of, e_new);
  T_TRUE(f.state.len == 5 && memcmp(f.state.data, "new-b", 5) == 0);
  ccp_ckpt_found_release(&f);
  /* ... and now `cur` is stale too */
  T_EQ_INT(write1(cur, "fence", 3, e_new, 40, "new-d", 5, &stored), 0);
  T_EQ_INT(stored, 0);
  ccp_redis_pub_free(old);
  ccp_redis_pub_free(cur);
}

static void test_big_state(void) {
  ccp_redis_pub_t *p = new_pub();
  size_t len = 2 * CCP_CKPT_CHUNK + 12345;
  unsigned char *big = malloc(len);
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    big[i] = (unsigned char)x;
  }
  int64_t e = claim_epoch("big", 0);
  ccp_ckpt_found_t f;
  int stored;
  T_EQ_INT(write1(p, "big", 0, e, 777, big, len, &stored), 0);
  T_EQ_INT(stored, 1);
  redisReply *r = cmd("HGET ck:ckpt:big:0 base_parts"); /* random bytes: zstd cannot shrink them */
  T_EQ_STR(r->str, "3");
  freeReplyObject(r);
  r = cmd("HGET ck:ckpt:big:0 format");
  T_EQ_STR(r->str, "2");
  freeReplyObject(r);
  T_EQ_INT(claim("big", 0, &f), 0);
  T_EQ_INT(f.present, 1);
  T_EQ_INT(f.offset, 777);
  T_TRUE(f.state.len == len && memcmp(f.state.data, big, len) == 0);
  ccp_ckpt_found_release(&f);
  /* a smaller state replaces every chunk of the bigger one */
  e = e + 1;
  T_EQ_INT(write1(p, "big", 0, e, 778, "tiny", 4, &stored), 0);
  T_EQ_INT(stored, 1);
  r = cmd("HEXISTS ck:ckpt:big:0 base:2");
  T_EQ_INT(r->integer, 0);
  freeReplyObject(r);
  free(big);
  ccp_redis_pub_free(p);
}

static void test_failed_cycle(void) {
  ccp_redis_pub_t *p = new_pub();
  int64_t e = claim_epoch("fail", 0);
  ccp_ckpt_found_t f;
  int stored;
  T_EQ_INT(write1(p, "fail", 0, e, 50, "before", 6, &stored), 0);
  T_EQ_INT(stored, 1);
  /* Redis refuses writes (out of memory): the transaction is discarded */
  freeReplyObject(cmd("CONFIG SET maxmemory-policy noeviction"));
  freeReplyObject(cmd("CONFIG SET maxmemory 1"));
  int r = write1(p, "fail", 0, e, 60, "after!", 6, &stored);
  freeReplyObject(cmd("CONFIG SET maxmemory 0"));
  T_TRUE(r != 0);
  T_EQ_INT(stored, 0);
  T_EQ_INT(claim("fail", 0, &f), 0);
  T_EQ_INT(f.offset, 50);
  T_TRUE(f.state.len == 6 && memcmp(f.state.data, "before", 6) == 0);
  e = f.epoch;
  ccp_ckpt_found_release(&f);
  /* the next cycle writes it */
  T_EQ_INT(write1(p, "fail", 0, e, 60, "after!", 6, &stored), 0);
  T_EQ_INT(stored, 1);
  ccp_redis_pub_free(p);
}

static void test_script_flush_and_lost_epoch(void) {
  ccp_redis_pub_t *p = new_pub();
  int64_t e = claim_epoch("lost", 0);
  ccp_ckpt_found_t f;
  int stored;
  T_EQ_INT(write1(p, "lost", 0, e, 5, "a", 1, &stored), 0);
  freeReplyObject(cmd("SCRIPT FLUSH"));
  T_EQ_INT(write1(p, "lost", 0, e, 6, "b", 1, &stored), 0);
  T_EQ_INT(stored, 1);
  /* Redis lost the epoch (and the checkpoint): the next write restores both
   * (a state this small is always written whole; test_lost_base: a delta) */
  freeReplyObject(cmd("DEL ck:ckpt:lost:0 ck:ckpt:lost:0:epoch"));
  T_EQ_INT(write1(p, "lost", 0, e, 7, "c", 1, &stored), 0);
  T_EQ_INT(stored, 1);
  redisReply *r = cmd("GET ck:ckpt:lost:0:epoch");
  char want[24];
  snprintf(want, sizeof want, "%lld", (long long)e);
  T_EQ_STR(r->str, want);
  freeReplyObject(r);
  T_EQ_INT(claim("lost", 0, &f), 0);
  T_EQ_INT(f.offset, 7);
  T_EQ_INT(f.epoch, e + 1);
  ccp_ckpt_found_release(&f);
  ccp_redis_pub_free(p);
}

static void test_malformed(void) {
  freeReplyObject(cmd("HSET ck:ckpt:bad:0 offset 9 bytes 10 chunks 2 state abcde"));
  ccp_ckpt_found_t f;
  T_EQ_INT(claim("bad", 0, &f), -CCP_EPARSE);
  T_EQ_INT(f.present, 0);
  T_EQ_INT(f.epoch, 1); /* taken all the same: the owner writes a good one */
  ccp_ckpt_found_release(&f);
  freeReplyObject(cmd("HSET ck:ckpt:bad:0 offset x"));
  T_EQ_INT(claim("bad", 0, &f), -CCP_EPARSE);
  ccp_ckpt_found_release(&f);
}

static void test_unreachable(void) {
  char u[64], err[CCP_ERRBUF_SIZE];
  snprintf(u, sizeof u, "redis://127.0.0.1:%d", free_port());
  ccp_ckpt_reader_t *r = ccp_ckpt_reader_new(u, "ck:", 300, err, sizeof err);
  T_TRUE(r != NULL);
  int64_t t0 = ccp_clock_mono_ms();
  ccp_ckpt_found_t f;
  T_EQ_INT(ccp_ckpt_reader_claim(r, "t", 0, &f, err, sizeof err), -CCP_EIO);
  ccp_ckpt_found_release(&f);
  int64_t took = ccp_clock_mono_ms() - t0;
  T_LE_INT(took, 3000);
  T_TRUE(strstr(err, "cannot reach redis") != NULL);
  /* after the wait: one attempt per call */
  t0 = ccp_clock_mono_ms();
  T_EQ_INT(ccp_ckpt_reader_claim(r, "t", 1, &f, err, sizeof err), -CCP_EIO);
  ccp_ckpt_found_release(&f);
  T_LE_INT(ccp_clock_mono_ms() - t0, 1500);
  ccp_ckpt_reader_free(r);
  T_TRUE(ccp_ckpt_reader_new("http://x", "ck:", 10, err, sizeof err) == NULL);
}

/* Stores one partial (bytes of an empty one, offset given) in a cycle
 * without a view; returns stored, *shared the shared stream time. */
static int store_partial(ccp_redis_pub_t *p, int32_t partition, int64_t epoch, int64_t offset,
                         int64_t t, int64_t *shared) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *eng = ccp_engine_new(&cfg, err, sizeof err); /* an empty engine's export at t */
  T_TRUE(eng != NULL);
  ccp_partial_t *e = ccp_engine_export(eng, t);
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_partial_save(e, NULL, &cfg, &b);
  ccp_partial_free(e);
  ccp_engine_free(eng);
  ccp_partial_rec_t r = {.partition = partition,
                         .epoch = epoch,
                         .offset = offset,
                         .now = t,
                         .data = b.data,
                         .len = b.len};
  ccp_redis_cycle_t c = {
      .no_meta = 1, .topic = "tp", .partials = &r, .npartials = 1, .stream_time = t};
  T_EQ_INT(ccp_redis_pub_cycle_x(p, &c), 0);
  *shared = c.shared_time;
  ccp_buf_release(&b);
  return r.stored;
}

static void test_several_instances(void) {
  freeReplyObject(cmd("DEL ck:v1:meta")); /* earlier tests' cycles wrote it */
  ccp_redis_pub_t *p = new_pub();
  int64_t e1 = claim_epoch("tp", 1), shared;
  T_EQ_INT(store_partial(p, 1, e1, 10, 5000, &shared), 1);
  T_EQ_INT(shared, 5000);
  T_EQ_INT(store_partial(p, 1, e1, 9, 4000, &shared), 0); /* fewer records: refused */
  T_EQ_INT(shared, 5000);                                 /* the max stays */
  T_EQ_INT(exists("ck:v1:partial:tp:1:new"), 0);
  int64_t e2 = claim_epoch("tp", 1);
  T_EQ_INT(store_partial(p, 1, e1, 20, 6000, &shared), 0); /* stale owner */
  T_EQ_INT(shared, 6000);
  T_EQ_INT(store_partial(p, 1, e2, 10, 6000, &shared), 1); /* new owner, same offset */
  T_EQ_INT(exists("ck:v1:meta"), 0);                       /* no view, no meta */
  /* the writer's read: the partial and the fence of partition 0 */
  int64_t z = claim_epoch("tp", 0);
  int32_t want[2] = {1, 2};
  ccp_partial_got_t got[2];
  int ok = 0;
  T_EQ_INT(ccp_redis_pub_fetch(p, "tp", 0, z, want, 2, got, &ok), 0);
  T_EQ_INT(ok, 1);
  T_EQ_INT(got[0].offset, 10);
  T_TRUE(got[0].partial != NULL);
  if (got[0].partial)
    T_EQ_INT(ccp_partial_now(got[0].partial), 6000);
  T_TRUE(got[1].partial == NULL); /* none stored */
  ccp_partial_free(got[0].partial);
  /* partition 0 taken by another owner between the read and the EXEC: aborted */
  int64_t z2 = claim_epoch("tp", 0);
  ccp_redis_cycle_t c = {.no_meta = 0, .stream_time = INT64_MIN};
  T_TRUE(ccp_redis_pub_cycle_x(p, &c) != 0);
  T_EQ_INT(exists("ck:v1:meta"), 0);
  /* the old token is refused by the fence itself, the new one accepted */
  T_EQ_INT(ccp_redis_pub_fetch(p, "tp", 0, z, want, 0, got, &ok), 0);
  T_EQ_INT(ok, 0);
  T_EQ_INT(ccp_redis_pub_cycle_x(p, &c), 0); /* UNWATCHed: goes through */
  T_EQ_INT(ccp_redis_pub_fetch(p, "tp", 0, z2, want, 0, got, &ok), 0);
  T_EQ_INT(ok, 1);
  T_EQ_INT(ccp_redis_pub_cycle_x(p, &c), 0);
  ccp_redis_pub_free(p);
}

/* Sends alerts (JSON) of the given partitions (-1: none) in one cycle. */
/* One cycle of the alerts json[0..n) of partitions parts (n = 0: none new,
 * the queue only); returns the cycle's rc. */
static int cycle_alerts(ccp_redis_pub_t *p, const char *const *json, const int32_t *parts, int n) {
  ccp_redis_cycle_t c = {
      .alerts = json, .nalerts = (size_t)n, .alert_partitions = parts, .stream_time = INT64_MIN};
  return ccp_redis_pub_cycle_x(p, &c);
}

static void send_alerts(ccp_redis_pub_t *p, const char *const *json, const int32_t *parts, int n) {
  T_EQ_INT(cycle_alerts(p, json, parts, n), 0);
}

/* The ids keys of partitions 0 and 1 into k0 and k1 (300 bytes each), those
 * and the alerts and global ids deleted; a new publisher. */
static ccp_redis_pub_t *alert_keys_fresh(char *k0, char *k1) {
  snprintf(k0, 300, "ck:v1:alert_ids:%s:0", cfg.kafka_topic);
  snprintf(k1, 300, "ck:v1:alert_ids:%s:1", cfg.kafka_topic);
  freeReplyObject(cmd("DEL ck:alerts ck:v1:alert_ids %s %s", k0, k1));
  return new_pub();
}

/* Stores a checkpoint of topic/partition with an alert floor; returns stored. */
static int store_floor(ccp_redis_pub_t *p, const char *topic, int32_t partition, int64_t epoch,
                       int64_t floor) {
  ccp_checkpoint_t c = {.topic = topic,
                        .partition = partition,
                        .offset = 1,
                        .epoch = epoch,
                        .state = "s",
                        .len = 1,
                        .alert_floor = floor};
  ccp_redis_cycle_t cy = {.ckpts = &c, .nckpts = 1, .stream_time = INT64_MIN};
  T_EQ_INT(ccp_redis_pub_cycle_x(p, &cy), 0);
  return c.stored;
}

static int64_t zcard(const char *key) {
  redisReply *r = cmd("ZCARD %s", key);
  int64_t n = r->integer;
  freeReplyObject(r);
  return n;
}

static int64_t xlen(const char *key) {
  redisReply *r = cmd("XLEN %s", key);
  int64_t n = r->integer;
  freeReplyObject(r);
  return n;
}

/* The pruning rule of the alert ids (docs/redis.md, "Alerts once"): a
 * partition's deadline alert ids are kept in its own set, and an id due
 * before a checkpoint's alert floor is forgotten only when a checkpoint of
 * that partition is stored: not by another partition's checkpoint, not by
 * a refused (stale) one, not by one without a floor, not by the window; an
 * id at the floor stays. Alerts without a partition (threshold) stay in the
 * global set, which no checkpoint trims; an id found there (kept before
 * the sets per partition) is not written again for a partition. */
static void test_alert_ids_per_partition(void) {
  const char *topic = cfg.kafka_topic;
  char k0[300], k1[300];
  ccp_redis_pub_t *p = alert_keys_fresh(k0, k1);
  const int64_t t = 1795000000000LL;
  char js[6][80];
  const char *al[6];
  const char *ids[5] = {"a0", "b0", "c0", "a1", "b1"};
  const int64_t due[5] = {t, t + 10, t + 20, t, t + 20};
  const int32_t parts[6] = {0, 0, 0, 1, 1, -1};
  for (int i = 0; i < 5; i++) {
    snprintf(js[i], sizeof js[i], "{\"id\":\"%s\",\"at_ms\":%lld}", ids[i], (long long)due[i]);
    al[i] = js[i];
  }
  snprintf(js[5], sizeof js[5], "{\"id\":\"th\",\"now_ms\":%lld}", (long long)t);
  al[5] = js[5];
  send_alerts(p, al, parts, 6);
  T_EQ_INT(xlen("ck:alerts"), 6);
  T_EQ_INT(zcard(k0), 3);
  T_EQ_INT(zcard(k1), 2);
  T_EQ_INT(zcard("ck:v1:alert_ids"), 1); /* the threshold alert only */

  int64_t e0 = claim_epoch(topic, 0), e1 = claim_epoch(topic, 1);
  /* partition 1's checkpoint forgets partition 1's ids below its floor only */
  T_EQ_INT(store_floor(p, topic, 1, e1, t + 15), 1);
  T_EQ_INT(zcard(k1), 1);
  T_EQ_INT(zcard(k0), 3);
  T_EQ_INT(zcard("ck:v1:alert_ids"), 1);
  /* a stale owner's checkpoint of partition 0 is refused and forgets nothing */
  int64_t e0b = claim_epoch(topic, 0);
  T_EQ_INT(store_floor(p, topic, 0, e0, t + 1000), 0);
  T_EQ_INT(zcard(k0), 3);
  /* a stored one without a floor (nothing read yet) neither */
  T_EQ_INT(store_floor(p, topic, 0, e0b, INT64_MIN), 1);
  T_EQ_INT(zcard(k0), 3);
  /* the floor t + 10: a0 goes, b0 (at the floor) and c0 stay */
  T_EQ_INT(store_floor(p, topic, 0, e0b, t + 10), 1);
  T_EQ_INT(zcard(k0), 2);
  redisReply *r = cmd("ZSCORE %s a0", k0);
  T_TRUE(r->type == REDIS_REPLY_NIL);
  freeReplyObject(r);

  /* sent again: what a restore can fire again is still known; a0 and a1,
   * below their partitions' stored floors, no restore fires again (were
   * they sent, they would be written again) */
  send_alerts(p, al, parts, 6);
  T_EQ_INT(xlen("ck:alerts"), 8);
  r = cmd("XREVRANGE ck:alerts + - COUNT 2");
  T_EQ_STR(r->element[0]->element[1]->element[1]->str, js[3]);
  T_EQ_STR(r->element[1]->element[1]->element[1]->str, js[0]);
  freeReplyObject(r);
  /* an id the global set holds (written before there were sets per
   * partition): not written again for its partition */
  freeReplyObject(cmd("ZADD ck:v1:alert_ids %lld old", (long long)t));
  const char *old[] = {"{\"id\":\"old\",\"at_ms\":1795000000000}"};
  const int32_t p0[] = {0};
  send_alerts(p, old, p0, 1);
  T_EQ_INT(xlen("ck:alerts"), 8);
  ccp_redis_pub_stats_t st;
  ccp_redis_pub_stats(p, &st);
  T_EQ_INT(st.alerts_published, 8);
  T_EQ_INT(st.alerts_repeated, 5);
  ccp_redis_pub_free(p);
}

/* The alert script's two paths (redis_pub.c, alerts_lua). Every key of its
 * type: the global set is looked in only while it holds an id, yet a
 * legacy id alone there still holds back a deadline alert, and so does an
 * id a threshold alert added earlier in the same call. A key of another
 * type: the checked path fails at the first alert that meets it, after
 * writing (with their ids) the alerts before it and nothing after, even
 * where that alert's id is in the global set; with the stream of another
 * type a call whose alerts are all known still succeeds. */
static void test_alert_script_paths(void) {
  char k0[300], k1[300];
  ccp_redis_pub_t *p = alert_keys_fresh(k0, k1);
  /* the global set holds a legacy id only */
  freeReplyObject(cmd("ZADD ck:v1:alert_ids 1795000000000 legacy"));
  const char *a1[] = {"{\"id\":\"legacy\",\"at_ms\":1795000000000}",
                      "{\"id\":\"n0\",\"at_ms\":1795000000000}"};
  const int32_t p1[] = {0, 0};
  send_alerts(p, a1, p1, 2);
  T_EQ_INT(xlen("ck:alerts"), 1);
  T_EQ_INT(zcard(k0), 1);
  redisReply *r = cmd("ZSCORE %s legacy", k0);
  T_TRUE(r->type == REDIS_REPLY_NIL);
  freeReplyObject(r);

  /* the global set empty when the call starts: a threshold alert's id */
  freeReplyObject(cmd("DEL ck:v1:alert_ids"));
  const char *a2[] = {"{\"id\":\"same\",\"now_ms\":1795000000000}",
                      "{\"id\":\"same\",\"at_ms\":1795000000000}",
                      "{\"id\":\"n1\",\"at_ms\":1795000000000}"};
  const int32_t p2[] = {-1, 1, 1};
  send_alerts(p, a2, p2, 3);
  T_EQ_INT(xlen("ck:alerts"), 3);
  T_EQ_INT(zcard(k1), 1);
  T_EQ_INT(zcard("ck:v1:alert_ids"), 1);

  /* partition 1's set of another type; "same" is in the global set */
  freeReplyObject(cmd("DEL %s", k1));
  freeReplyObject(cmd("SET %s %s", k1, "not a zset"));
  const char *a3[] = {"{\"id\":\"c0\",\"at_ms\":1795000000000}",
                      "{\"id\":\"same\",\"at_ms\":1795000000000}",
                      "{\"id\":\"c2\",\"at_ms\":1795000000000}"};
  const int32_t p3[] = {0, 1, 0};
  T_TRUE(cycle_alerts(p, a3, p3, 3) != 0);
  T_EQ_INT(xlen("ck:alerts"), 4); /* c0 */
  T_EQ_INT(zcard(k0), 2);         /* n0, c0 */
  r = cmd("ZSCORE %s c2", k0);
  T_TRUE(r->type == REDIS_REPLY_NIL);
  freeReplyObject(r);
  freeReplyObject(cmd("DEL %s", k1));
  T_EQ_INT(cycle_alerts(p, NULL, NULL, 0), 0); /* sent again: c2 only is new */
  T_EQ_INT(xlen("ck:alerts"), 5);
  T_EQ_INT(zcard(k0), 3);
  T_EQ_INT(zcard(k1), 0);

  /* the stream of another type: known alerts only succeed, a new one fails */
  freeReplyObject(cmd("RENAME ck:alerts ck:alerts:kept"));
  freeReplyObject(cmd("SET ck:alerts %s", "not a stream"));
  T_EQ_INT(cycle_alerts(p, a3, p3, 1), 0);
  const char *a4[] = {"{\"id\":\"c4\",\"at_ms\":1795000000000}"};
  T_TRUE(cycle_alerts(p, a4, p3, 1) != 0);
  T_EQ_INT(zcard(k0), 3);
  freeReplyObject(cmd("DEL ck:alerts"));
  freeReplyObject(cmd("RENAME ck:alerts:kept ck:alerts"));
  T_EQ_INT(cycle_alerts(p, NULL, NULL, 0), 0);
  T_EQ_INT(xlen("ck:alerts"), 6);
  T_EQ_INT(zcard(k0), 4);
  ccp_redis_pub_free(p);
  freeReplyObject(cmd("DEL ck:alerts ck:v1:alert_ids %s %s", k0, k1));
}

/* The engine after n events of the generator (seed 3), saved into out. */
static void engine_state(ccp_engine_t *e, ccp_gen_t *g, int n, ccp_buf_t *out) {
  static ccp_event_batch_t batch;
  ccp_verdict_t v[CCP_ENGINE_BATCH];
  ccp_event_t ev;
  ccp_event_batch_clear(&batch);
  for (int i = 0; i < n && ccp_gen_next(g, &ev) == 0; i++) {
    if (batch.n == CCP_ENGINE_BATCH || ccp_event_batch_add(&batch, &ev) != 0) {
      ccp_engine_process_batch(e, batch.ev, batch.n, v);
      ccp_event_batch_clear(&batch);
      T_EQ_INT(ccp_event_batch_add(&batch, &ev), 0);
    }
  }
  ccp_engine_process_batch(e, batch.ev, batch.n, v);
  ccp_buf_clear(out);
  T_EQ_INT(ccp_engine_save(e, out), 0);
}

static int64_t hexists(const char *key, const char *field) {
  redisReply *r = cmd("HEXISTS %s %s", key, field);
  int64_t n = r->integer;
  freeReplyObject(r);
  return n;
}

/* Deltas: after a whole first write, a checkpoint cycle writes only a small
 * delta against the stored base, and the claim gives the very bytes of the
 * engine, which load into an engine that saves the same bytes again. */
static void test_delta(void) {
  ccp_redis_pub_t *p = new_pub();
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  T_TRUE(e != NULL);
  ccp_gen_opts_t go = {.events = 60000, .seed = 3};
  ccp_gen_t *g = ccp_gen_new(&go);
  T_TRUE(g != NULL);
  ccp_buf_t st, again;
  ccp_buf_init(&st);
  ccp_buf_init(&again);
  int64_t ep = claim_epoch("dl", 0);
  int stored;
  engine_state(e, g, 20000, &st);
  T_EQ_INT(write1(p, "dl", 0, ep, 20000, st.data, st.len, &stored), 0);
  T_EQ_INT(stored, 1);
  T_EQ_INT(hexists("ck:ckpt:dl:0", "delta"), 0);
  redisReply *r = cmd("HGET ck:ckpt:dl:0 base_id");
  char base_id[24];
  snprintf(base_id, sizeof base_id, "%s", r->str);
  freeReplyObject(r);
  ccp_redis_pub_stats_t s0, s1;
  for (int k = 1; k <= 3; k++) {
    ccp_redis_pub_stats(p, &s0);
    engine_state(e, g, 300, &st);
    T_EQ_INT(write1(p, "dl", 0, ep, 20000 + 300 * k, st.data, st.len, &stored), 0);
    T_EQ_INT(stored, 1);
    ccp_redis_pub_stats(p, &s1);
    T_LE_INT((int64_t)(s1.ckpt_bytes - s0.ckpt_bytes), (int64_t)st.len / 10); /* a delta */
    T_EQ_INT(hexists("ck:ckpt:dl:0", "delta"), 1);
    r = cmd("HGET ck:ckpt:dl:0 base_id"); /* the base stays */
    T_EQ_STR(r->str, base_id);
    freeReplyObject(r);
  }
  ccp_ckpt_found_t f;
  T_EQ_INT(claim("dl", 0, &f), 0);
  T_EQ_INT(f.present, 1);
  T_EQ_INT(f.offset, 20900);
  T_TRUE(f.state.len == st.len && memcmp(f.state.data, st.data, st.len) == 0);
  ccp_engine_t *l = ccp_engine_load(&cfg, f.state.data, f.state.len, err, sizeof err);
  T_TRUE(l != NULL);
  T_EQ_INT(ccp_engine_save(l, &again), 0);
  T_TRUE(again.len == st.len && memcmp(again.data, st.data, st.len) == 0);
  ccp_engine_free(l);
  /* the new owner (epoch f.epoch) knows nothing of the base: it writes whole,
   * and nothing of the old checkpoint (its delta) is left behind */
  int64_t ep2 = f.epoch;
  ccp_ckpt_found_release(&f);
  engine_state(e, g, 300, &st);
  T_EQ_INT(write1(p, "dl", 0, ep2, 21200, st.data, st.len, &stored), 0);
  T_EQ_INT(stored, 1);
  T_EQ_INT(hexists("ck:ckpt:dl:0", "delta"), 0);
  r = cmd("HGET ck:ckpt:dl:0 base_id");
  T_TRUE(strcmp(r->str, base_id) != 0);
  freeReplyObject(r);
  /* a state that is all new: a new base, not a delta as big as it */
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < st.len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    st.data[i] = (char)x;
  }
  T_EQ_INT(write1(p, "dl", 0, ep2, 21300, st.data, st.len, &stored), 0);
  T_EQ_INT(stored, 1);
  T_EQ_INT(hexists("ck:ckpt:dl:0", "delta"), 0);
  T_EQ_INT(claim("dl", 0, &f), 0);
  T_TRUE(f.state.len == st.len && memcmp(f.state.data, st.data, st.len) == 0);
  ccp_ckpt_found_release(&f);
  ccp_gen_free(g);
  ccp_engine_free(e);
  ccp_buf_release(&st);
  ccp_buf_release(&again);
  ccp_redis_pub_free(p);
}

/* One kept checkpoint (an idle partition's, docs/checkpoints.md "Idle
 * partitions") in a cycle; returns the cycle's rc, *stored. */
static int keep1(ccp_redis_pub_t *p, const char *topic, int32_t partition, int64_t epoch,
                 int64_t offset, int64_t floor, int *stored) {
  return cycle1(p,
                (ccp_checkpoint_t){.topic = topic,
                                   .partition = partition,
                                   .offset = offset,
                                   .epoch = epoch,
                                   .alert_floor = floor,
                                   .same = 1},
                stored);
}

static void hget(const char *key, const char *field, char *out, size_t n) {
  redisReply *r = cmd("HGET %s %s", key, field);
  snprintf(out, n, "%s", r->type == REDIS_REPLY_STRING ? r->str : "(nil)");
  freeReplyObject(r);
}

/* An idle partition's checkpoint is kept, not written: the cycle checks that
 * Redis holds it as the writer stored it (epoch, base, offset, sum, delta),
 * writes nothing of it (saved_ms stays) and trims the partition's alert ids
 * below its floor; a checkpoint found changed or gone (a field deleted, a
 * flush, another sum or offset) is not stored and fails the cycle, after
 * which the writer knows nothing: the next keep stores nothing and the
 * state is written whole again. Also after a new epoch. */
static void test_keep(void) {
  static const char *const loss[] = {"HDEL ck:ckpt:kp:0 delta", "FLUSHALL",
                                     "HSET ck:ckpt:kp:0 sum 0000000000000000",
                                     "HSET ck:ckpt:kp:0 offset 7", "HDEL ck:ckpt:kp:0 base"};
  ccp_redis_pub_t *p = new_pub();
  char st[4000], saved[32], now[32];
  for (size_t i = 0; i < sizeof st; i++)
    st[i] = (char)(i % 89);
  for (size_t k = 0; k < sizeof loss / sizeof *loss; k++) {
    int64_t ep = claim_epoch("kp", 0);
    int stored;
    T_EQ_INT(write1(p, "kp", 0, ep, 1, st, sizeof st, &stored), 0); /* whole */
    T_EQ_INT(stored, 1);
    st[100] ^= 1;
    T_EQ_INT(write1(p, "kp", 0, ep, 2, st, sizeof st, &stored), 0); /* a delta */
    T_EQ_INT(stored, 1);
    hget("ck:ckpt:kp:0", "saved_ms", saved, sizeof saved);
    ccp_redis_pub_stats_t s0, s1;
    ccp_redis_pub_stats(p, &s0);
    freeReplyObject(cmd("ZADD ck:v1:alert_ids:kp:0 5 below 50 above"));
    ccp_clock_sleep_ms(2);
    T_EQ_INT(keep1(p, "kp", 0, ep, 2, 10, &stored), 0);
    T_EQ_INT(stored, 1);
    ccp_redis_pub_stats(p, &s1);
    T_EQ_U64(s1.ckpts_written, s0.ckpts_written); /* nothing written */
    hget("ck:ckpt:kp:0", "saved_ms", now, sizeof now);
    T_EQ_STR(now, saved);
    T_EQ_INT(zcard("ck:v1:alert_ids:kp:0"), 1); /* below the floor: forgotten */
    freeReplyObject(cmd("DEL ck:v1:alert_ids:kp:0"));
    /* another offset than the stored one: not kept (the caller's mistake) */
    T_EQ_INT(keep1(p, "kp", 0, ep, 3, INT64_MIN, &stored), 0);
    T_EQ_INT(stored, 0);
    T_EQ_INT(write1(p, "kp", 0, ep, 2, st, sizeof st, &stored), 0); /* whole again */
    T_EQ_INT(stored, 1);
    st[300] ^= 1;
    T_EQ_INT(write1(p, "kp", 0, ep, 2, st, sizeof st, &stored), 0); /* a delta */
    T_EQ_INT(hexists("ck:ckpt:kp:0", "delta"), 1);
    freeReplyObject(cmd(loss[k]));
    T_TRUE(keep1(p, "kp", 0, ep, 2, INT64_MIN, &stored) != 0); /* found changed: fails */
    T_EQ_INT(stored, 0);
    T_EQ_INT(keep1(p, "kp", 0, ep, 2, INT64_MIN, &stored), 0); /* the writer knows nothing */
    T_EQ_INT(stored, 0);
    T_EQ_INT(write1(p, "kp", 0, ep, 2, st, sizeof st, &stored), 0); /* written whole */
    T_EQ_INT(stored, 1);
    T_EQ_INT(hexists("ck:ckpt:kp:0", "delta"), 0);
    T_EQ_INT(keep1(p, "kp", 0, ep, 2, INT64_MIN, &stored), 0); /* kept again */
    T_EQ_INT(stored, 1);
    ccp_ckpt_found_t f;
    T_EQ_INT(claim("kp", 0, &f), 0); /* a new epoch: the old owner's keep is refused */
    T_EQ_INT(f.offset, 2);
    T_TRUE(f.state.len == sizeof st && memcmp(f.state.data, st, sizeof st) == 0);
    ccp_ckpt_found_release(&f);
    T_EQ_INT(keep1(p, "kp", 0, ep, 2, INT64_MIN, &stored), 0);
    T_EQ_INT(stored, 0);
  }
  ccp_redis_pub_free(p);
}

/* A delta after a kept checkpoint: the writer dropped its copy of the base
 * state while the partition was idle, decompresses the stored base again,
 * and the delta made against it reads back as the very state. */
static void test_keep_then_delta(void) {
  ccp_redis_pub_t *p = new_pub();
  char st[6000];
  for (size_t i = 0; i < sizeof st; i++)
    st[i] = (char)(i % 83);
  int64_t ep = claim_epoch("kd", 0);
  int stored;
  T_EQ_INT(write1(p, "kd", 0, ep, 1, st, sizeof st, &stored), 0); /* whole */
  T_EQ_INT(stored, 1);
  st[10] ^= 1;
  T_EQ_INT(write1(p, "kd", 0, ep, 2, st, sizeof st, &stored), 0); /* a delta */
  T_EQ_INT(stored, 1);
  T_EQ_INT(keep1(p, "kd", 0, ep, 2, INT64_MIN, &stored), 0); /* idle: kept */
  T_EQ_INT(stored, 1);
  st[4000] ^= 1;
  ccp_redis_pub_stats_t s0, s1;
  ccp_redis_pub_stats(p, &s0);
  T_EQ_INT(write1(p, "kd", 0, ep, 3, st, sizeof st, &stored), 0); /* a delta again */
  T_EQ_INT(stored, 1);
  ccp_redis_pub_stats(p, &s1);
  T_EQ_U64(s1.ckpts_written, s0.ckpts_written + 1);
  T_EQ_INT(hexists("ck:ckpt:kd:0", "delta"), 1);
  ccp_ckpt_found_t f;
  T_EQ_INT(claim("kd", 0, &f), 0);
  T_EQ_INT(f.offset, 3);
  T_TRUE(f.state.len == sizeof st && memcmp(f.state.data, st, sizeof st) == 0);
  ccp_ckpt_found_release(&f);
  ccp_redis_pub_free(p);
}

/* Writes st as partition 0 of "cw" saved while catching up; the cycle's rc, *stored. */
static int write_catchup(ccp_redis_pub_t *p, int64_t epoch, int64_t offset, const ccp_buf_t *st,
                         int *stored) {
  return cycle1(p,
                (ccp_checkpoint_t){.topic = "cw",
                                   .partition = 0,
                                   .offset = offset,
                                   .epoch = epoch,
                                   .state = st->data,
                                   .len = st->len,
                                   .alert_floor = INT64_MIN,
                                   .whole = 1},
                stored);
}

/* While catching up (docs/checkpoints.md, "While catching up") a
 * checkpoint is written whole, even one a small delta would cover, and
 * reads back as the very state; the writer keeps no copy of its state, so
 * the first live checkpoint after it decompresses that base and is a
 * delta against it, which reads back as the very state too. */
static void test_catchup_whole(void) {
  ccp_redis_pub_t *p = new_pub();
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  T_TRUE(e != NULL);
  ccp_gen_opts_t go = {.events = 30000, .seed = 3};
  ccp_gen_t *g = ccp_gen_new(&go);
  T_TRUE(g != NULL);
  ccp_buf_t st;
  ccp_buf_init(&st);
  int64_t ep = claim_epoch("cw", 0);
  int stored;
  ccp_redis_pub_stats_t s0, s1;
  char base_id[24] = "";
  for (int k = 1; k <= 3; k++) {
    engine_state(e, g, k == 1 ? 20000 : 300, &st);
    ccp_redis_pub_stats(p, &s0);
    T_EQ_INT(write_catchup(p, ep, 20000 + 300 * k, &st, &stored), 0);
    T_EQ_INT(stored, 1);
    ccp_redis_pub_stats(p, &s1);
    T_TRUE(s1.ckpt_bytes - s0.ckpt_bytes > st.len / 10); /* whole, not a delta */
    T_EQ_INT(hexists("ck:ckpt:cw:0", "delta"), 0);
    redisReply *r = cmd("HGET ck:ckpt:cw:0 base_id"); /* a new base each time */
    T_TRUE(strcmp(r->str, base_id) != 0);
    snprintf(base_id, sizeof base_id, "%s", r->str);
    freeReplyObject(r);
  }
  ccp_ckpt_found_t f;
  T_EQ_INT(claim("cw", 0, &f), 0);
  T_TRUE(f.state.len == st.len && memcmp(f.state.data, st.data, st.len) == 0);
  ep = f.epoch; /* the claim took a new epoch: written whole under it first */
  ccp_ckpt_found_release(&f);
  engine_state(e, g, 300, &st);
  T_EQ_INT(write1(p, "cw", 0, ep, 21500, st.data, st.len, &stored), 0);
  T_EQ_INT(stored, 1);
  engine_state(e, g, 300, &st);
  T_EQ_INT(write_catchup(p, ep, 21800, &st, &stored), 0); /* whole, no state kept */
  T_EQ_INT(stored, 1);
  T_EQ_INT(hexists("ck:ckpt:cw:0", "delta"), 0);
  engine_state(e, g, 300, &st);
  ccp_redis_pub_stats(p, &s0);
  T_EQ_INT(write1(p, "cw", 0, ep, 22100, st.data, st.len, &stored), 0); /* live: a delta */
  T_EQ_INT(stored, 1);
  ccp_redis_pub_stats(p, &s1);
  T_LE_INT((int64_t)(s1.ckpt_bytes - s0.ckpt_bytes), (int64_t)st.len / 10);
  T_EQ_INT(hexists("ck:ckpt:cw:0", "delta"), 1);
  T_EQ_INT(claim("cw", 0, &f), 0);
  T_EQ_INT(f.offset, 22100);
  T_TRUE(f.state.len == st.len && memcmp(f.state.data, st.data, st.len) == 0);
  ccp_ckpt_found_release(&f);
  ccp_gen_free(g);
  ccp_engine_free(e);
  ccp_buf_release(&st);
  ccp_redis_pub_free(p);
}

/* Batches of one partition each, as a spread round writes them
 * (docs/checkpoints.md, "Spread over cycles"): a partition absent from a
 * batch keeps its base, so its next checkpoint is a delta, and a kept one
 * is still accepted. */
static void test_batches_of_some(void) {
  ccp_redis_pub_t *p = new_pub();
  char st[2][5000];
  for (int q = 0; q < 2; q++)
    for (size_t i = 0; i < sizeof st[q]; i++)
      st[q][i] = (char)(i % (71 + q));
  int64_t ep[2] = {claim_epoch("sr", 0), claim_epoch("sr", 1)};
  int stored;
  for (int q = 0; q < 2; q++) { /* whole, one batch each */
    T_EQ_INT(write1(p, "sr", q, ep[q], 1, st[q], sizeof st[q], &stored), 0);
    T_EQ_INT(stored, 1);
  }
  for (int round = 2; round <= 3; round++) /* deltas, the other partition absent */
    for (int q = 0; q < 2; q++) {
      st[q][100 * round] ^= 1;
      T_EQ_INT(write1(p, "sr", q, ep[q], round, st[q], sizeof st[q], &stored), 0);
      T_EQ_INT(stored, 1);
      T_EQ_INT(hexists(q ? "ck:ckpt:sr:1" : "ck:ckpt:sr:0", "delta"), 1);
    }
  T_EQ_INT(keep1(p, "sr", 0, ep[0], 3, INT64_MIN, &stored), 0); /* idle: kept */
  T_EQ_INT(stored, 1);
  T_EQ_INT(keep1(p, "sr", 1, ep[1], 3, INT64_MIN, &stored), 0);
  T_EQ_INT(stored, 1);
  for (int q = 0; q < 2; q++) {
    ccp_ckpt_found_t f;
    T_EQ_INT(claim("sr", q, &f), 0);
    T_EQ_INT(f.offset, 3);
    T_TRUE(f.state.len == sizeof st[q] && memcmp(f.state.data, st[q], sizeof st[q]) == 0);
    ccp_ckpt_found_release(&f);
  }
  ccp_redis_pub_free(p);
}

/* Redis loses the base (a part of it deleted, the whole database flushed)
 * while the writer believes it stored: the next checkpoint cycle finds it
 * gone, stores nothing and fails; the one after writes the state whole. */
static void test_lost_base(void) {
  static const char *const loss[] = {"HDEL ck:ckpt:lb:0 base", "FLUSHALL",
                                     "HSET ck:ckpt:lb:0 base_id 0000000000000000"};
  ccp_redis_pub_t *p = new_pub();
  char st[4000];
  for (size_t i = 0; i < sizeof st; i++)
    st[i] = (char)(i % 97);
  for (size_t k = 0; k < sizeof loss / sizeof *loss; k++) {
    int64_t ep = claim_epoch("lb", 0);
    int stored;
    T_EQ_INT(write1(p, "lb", 0, ep, 1, st, sizeof st, &stored), 0); /* whole (a new epoch) */
    T_EQ_INT(stored, 1);
    st[100] ^= 1;
    T_EQ_INT(write1(p, "lb", 0, ep, 2, st, sizeof st, &stored), 0); /* a delta */
    T_EQ_INT(stored, 1);
    T_EQ_INT(hexists("ck:ckpt:lb:0", "delta"), 1);
    freeReplyObject(cmd(loss[k]));
    st[200] ^= 1;
    T_TRUE(write1(p, "lb", 0, ep, 3, st, sizeof st, &stored) != 0);
    T_EQ_INT(stored, 0);
    T_EQ_INT(write1(p, "lb", 0, ep, 3, st, sizeof st, &stored), 0);
    T_EQ_INT(stored, 1);
    T_EQ_INT(hexists("ck:ckpt:lb:0", "delta"), 0);
    ccp_ckpt_found_t f;
    T_EQ_INT(claim("lb", 0, &f), 0);
    T_EQ_INT(f.offset, 3);
    T_TRUE(f.state.len == sizeof st && memcmp(f.state.data, st, sizeof st) == 0);
    ccp_ckpt_found_release(&f);
  }
  ccp_redis_pub_free(p);
}

/* A stored checkpoint whose base, delta, ids or sums are damaged is refused
 * (malformed: the partition starts from its committed offset), never loaded. */
static void test_corrupt_v2(void) {
  static const char *const dmg[] = {
      "HSET ck:ckpt:cv:0 delta garbage",            /* not a zstd frame */
      "HSET ck:ckpt:cv:0 sum 0123456789abcdef",     /* the state's sum */
      "HSET ck:ckpt:cv:0 base_id 0123456789abcdef", /* the base's id */
      "HSET ck:ckpt:cv:0 bytes 100",                /* the state's length */
      "HSET ck:ckpt:cv:0 base_bytes 100",           /* the base's length */
      "HDEL ck:ckpt:cv:0 base",                     /* a part of the base */
      "HSET ck:ckpt:cv:0 base_parts 2",             /* a part too many */
      "HSET ck:ckpt:cv:0 format 3",                 /* another store format */
  };
  ccp_redis_pub_t *p = new_pub();
  char st[4000];
  for (size_t i = 0; i < sizeof st; i++)
    st[i] = (char)(i % 89);
  for (size_t k = 0; k < sizeof dmg / sizeof *dmg; k++) {
    ccp_ckpt_found_t f;
    claim("cv", 0, &f); /* the previous round left a damaged one: refused, the epoch is taken */
    int64_t ep = f.epoch;
    ccp_ckpt_found_release(&f);
    int stored;
    T_EQ_INT(write1(p, "cv", 0, ep, 1, st, sizeof st, &stored), 0);
    st[7] ^= 1;
    T_EQ_INT(write1(p, "cv", 0, ep, 2, st, sizeof st, &stored), 0);
    T_EQ_INT(stored, 1);
    T_EQ_INT(hexists("ck:ckpt:cv:0", "delta"), 1);
    freeReplyObject(cmd(dmg[k]));
    T_EQ_INT(claim("cv", 0, &f), -CCP_EPARSE);
    T_EQ_INT(f.present, 0);
    T_EQ_INT(f.state.len, 0);
    ccp_ckpt_found_release(&f);
  }
  /* a bit flipped inside the compressed delta: refused as well */
  ccp_ckpt_found_t f0;
  claim("cv", 0, &f0);
  int64_t ep = f0.epoch;
  ccp_ckpt_found_release(&f0);
  int stored;
  T_EQ_INT(write1(p, "cv", 0, ep, 1, st, sizeof st, &stored), 0);
  st[9] ^= 1;
  T_EQ_INT(write1(p, "cv", 0, ep, 2, st, sizeof st, &stored), 0);
  redisReply *r = cmd("HGET ck:ckpt:cv:0 delta");
  T_TRUE(r->type == REDIS_REPLY_STRING && r->len > 4);
  char *d = malloc(r->len);
  memcpy(d, r->str, r->len);
  size_t dl = r->len;
  freeReplyObject(r);
  for (size_t at = 0; at < dl; at++) {
    d[at] ^= 0x10;
    freeReplyObject(cmd("HSET ck:ckpt:cv:0 delta %b", d, dl));
    ccp_ckpt_found_t f;
    int rc2 = claim("cv", 0, &f);
    T_TRUE(rc2 == -CCP_EPARSE ||
           (f.state.len == sizeof st && memcmp(f.state.data, st, sizeof st) == 0));
    ccp_ckpt_found_release(&f);
    d[at] ^= 0x10;
  }
  free(d);
  ccp_redis_pub_free(p);
}

/* Checkpoints written off the view cycle (docs/checkpoints.md, "Off the view
 * cycle"): a batch given with an id is compressed on the writer's thread
 * while cycles go on, written by the first cycle that finds it done; a
 * batch not given again is dropped (its states may be freed at once); a
 * delta whose base was forgotten while it was made is written whole. */
static int cycle_batch(ccp_redis_pub_t *p, ccp_checkpoint_t *c, int n, uint64_t batch,
                       int *pending) {
  ccp_redis_cycle_t cy = {.ckpts = c, .nckpts = n, .ckpt_batch = batch, .stream_time = INT64_MIN};
  int r = ccp_redis_pub_cycle_x(p, &cy);
  *pending = cy.ckpt_pending;
  return r;
}

/* Cycles with batch until it is written (at most 10 s); returns the cycles it took. */
static int until_written(ccp_redis_pub_t *p, ccp_checkpoint_t *c, int n, uint64_t batch) {
  int pending = 1, cycles = 0;
  int64_t end = ccp_clock_mono_ms() + 10000;
  while (pending && ccp_clock_mono_ms() < end) {
    T_EQ_INT(cycle_batch(p, c, n, batch, &pending), 0);
    cycles++;
    if (pending) {
      for (int i = 0; i < n; i++)
        T_EQ_INT(c[i].stored, 0);
      ccp_clock_sleep_ms(1);
    }
  }
  T_EQ_INT(pending, 0);
  return cycles;
}

static void test_async(void) {
  ccp_redis_pub_t *p = new_pub();
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e[2];
  ccp_gen_t *g[2];
  ccp_buf_t st[2];
  ccp_checkpoint_t c[2];
  int64_t ep[2];
  for (int i = 0; i < 2; i++) {
    e[i] = ccp_engine_new(&cfg, err, sizeof err);
    T_TRUE(e[i] != NULL);
    ccp_gen_opts_t go = {.events = 60000, .seed = 5 + (uint64_t)i};
    g[i] = ccp_gen_new(&go);
    ccp_buf_init(&st[i]);
    ep[i] = claim_epoch("as", i);
  }
#define SAVE(n, off)                                                                               \
  for (int i = 0; i < 2; i++) {                                                                    \
    engine_state(e[i], g[i], (n), &st[i]);                                                         \
    c[i] = (ccp_checkpoint_t){.topic = "as",                                                       \
                              .partition = i,                                                      \
                              .offset = (off),                                                     \
                              .epoch = ep[i],                                                      \
                              .saved_ms = ccp_clock_wall_ms(),                                     \
                              .state = st[i].data,                                                 \
                              .len = st[i].len,                                                    \
                              .alert_floor = INT64_MIN};                                           \
  }
  /* batch 1: not written by the cycle that hands it over, written whole later */
  SAVE(20000, 100);
  int pending;
  T_EQ_INT(cycle_batch(p, c, 2, 1, &pending), 0);
  T_EQ_INT(pending, 1);
  T_EQ_INT(exists("ck:ckpt:as:0"), 0);
  T_TRUE(until_written(p, c, 2, 1) >= 1);
  for (int i = 0; i < 2; i++)
    T_EQ_INT(c[i].stored, 1);
  T_EQ_INT(hexists("ck:ckpt:as:0", "delta"), 0);
  /* batch 2: deltas, read back as the very states */
  SAVE(300, 200);
  T_EQ_INT(cycle_batch(p, c, 2, 2, &pending), 0);
  T_EQ_INT(pending, 1);
  until_written(p, c, 2, 2);
  for (int i = 0; i < 2; i++) {
    T_EQ_INT(c[i].stored, 1);
    char key[32];
    snprintf(key, sizeof key, "ck:ckpt:as:%d", i);
    T_EQ_INT(hexists(key, "delta"), 1);
    ccp_ckpt_found_t f;
    T_EQ_INT(claim("as", i, &f), 0);
    T_EQ_INT(f.offset, 200);
    T_TRUE(f.state.len == st[i].len && memcmp(f.state.data, st[i].data, st[i].len) == 0);
    ep[i] = f.epoch; /* the claim took a new epoch: written whole next */
    ccp_ckpt_found_release(&f);
  }
  /* batch 3: a cycle without it drops it; its states may be overwritten at once */
  SAVE(300, 300);
  T_EQ_INT(cycle_batch(p, c, 2, 3, &pending), 0);
  T_EQ_INT(pending, 1);
  T_EQ_INT(cycle_batch(p, NULL, 0, 0, &pending), 0);
  T_EQ_INT(pending, 0);
  SAVE(300, 400);
  until_written(p, c, 2, 4);
  T_EQ_INT(c[0].stored, 1);
  T_EQ_INT(hexists("ck:ckpt:as:0", "delta"), 0);
  /* batch 5: deltas planned, then a failed cycle makes the writer forget
   * every base: the batch is made again, whole */
  SAVE(300, 500);
  T_EQ_INT(cycle_batch(p, c, 2, 5, &pending), 0);
  T_EQ_INT(pending, 1);
  ccp_redis_cycle_t none = {.stream_time = INT64_MIN};
  freeReplyObject(cmd("CONFIG SET maxmemory-policy noeviction"));
  freeReplyObject(cmd("CONFIG SET maxmemory 1"));
  none.nckpts = 2, none.ckpts = c, none.ckpt_batch = 5; /* still given: kept */
  T_TRUE(ccp_redis_pub_cycle_x(p, &none) != 0 || none.ckpt_pending == 0);
  freeReplyObject(cmd("CONFIG SET maxmemory 0"));
  if (none.ckpt_pending) { /* still compressing when the cycle failed */
    until_written(p, c, 2, 5);
    T_EQ_INT(c[0].stored, 1);
    T_EQ_INT(hexists("ck:ckpt:as:0", "delta"), 0);
  }
  for (int i = 0; i < 2; i++) {
    ccp_ckpt_found_t f;
    T_EQ_INT(claim("as", i, &f), 0);
    T_TRUE(f.offset == 500 || f.offset == 400);
    if (f.offset == 500)
      T_TRUE(f.state.len == st[i].len && memcmp(f.state.data, st[i].data, st[i].len) == 0);
    ccp_ckpt_found_release(&f);
  }
#undef SAVE
  for (int i = 0; i < 2; i++) {
    ccp_engine_free(e[i]);
    ccp_gen_free(g[i]);
    ccp_buf_release(&st[i]);
  }
  ccp_redis_pub_free(p);
}

int main(void) {
  tu_default_config(&cfg);
  rc = redis_child_connect_or_skip(url, sizeof url);
  T_RUN(test_write_read);
  T_RUN(test_fencing);
  T_RUN(test_big_state);
  T_RUN(test_failed_cycle);
  T_RUN(test_script_flush_and_lost_epoch);
  T_RUN(test_malformed);
  T_RUN(test_delta);
  T_RUN(test_async);
  T_RUN(test_lost_base);
  T_RUN(test_keep);
  T_RUN(test_keep_then_delta);
  T_RUN(test_catchup_whole);
  T_RUN(test_batches_of_some);
  T_RUN(test_corrupt_v2);
  T_RUN(test_unreachable);
  T_RUN(test_several_instances);
  T_RUN(test_alert_ids_per_partition);
  T_RUN(test_alert_script_paths);
  redisFree(rc);
  ccp_config_release(&cfg);
  return T_DONE();
}
