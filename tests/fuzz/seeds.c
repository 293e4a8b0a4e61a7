/*
 * Writes the seed corpora of the fuzz targets: fuzz_seeds OUTDIR creates
 * OUTDIR/<target>/seed-<what> for every target of tests/fuzz/CMakeLists.txt
 * (tests/fuzz/gen-corpus.sh runs it into tests/fuzz/corpus/). Valid inputs
 * are made by the project's own encoders (ccp_avro_encode, the OCF writer,
 * ccp_jsonl_write) and, for the writer schemas other than v1, by Avro C's
 * generic writer (the reference encoder of tests/test_avro_decode.c); a few
 * edge cases (empty, truncated, trailing bytes, bad magic) are added by hand.
 * The same build writes the same bytes.
 *
 * Threads: one.
 */
#include <errno.h>
#include <sys/stat.h>

#include "avro_testutil.h"
#include "ccpulse/ocf.h"
#include "fuzz.h"

static const char *outdir;

static void put(const char *target, const char *what, const void *data, size_t len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", outdir, target);
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    perror(path);
    exit(1);
  }
  snprintf(path, sizeof path, "%s/%s/seed-%s", outdir, target, what);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

static void put_str(const char *target, const char *what, const char *text) {
  put(target, what, text, strlen(text));
}

/* Gives every value of a generic Avro value some data (the fields the reader
 * does not know included), recursing at most a few levels. */
static void fill_any(avro_value_t *v, int depth) {
  avro_value_t e;
  avro_schema_t s = avro_value_get_schema(v);
  switch (avro_value_get_type(v)) {
  case AVRO_STRING:
    avro_value_set_string(v, "s\xc3\xa9");
    break;
  case AVRO_BYTES:
    avro_value_set_bytes(v, "b\x00\xff", 3);
    break;
  case AVRO_INT32:
    avro_value_set_int(v, -7);
    break;
  case AVRO_INT64:
    avro_value_set_long(v, -70000000000LL);
    break;
  case AVRO_FLOAT:
    avro_value_set_float(v, 1.5f);
    break;
  case AVRO_DOUBLE:
    avro_value_set_double(v, -2.25);
    break;
  case AVRO_BOOLEAN:
    avro_value_set_boolean(v, 1);
    break;
  case AVRO_NULL:
    avro_value_set_null(v);
    break;
  case AVRO_ENUM:
    avro_value_set_enum(v, 0);
    break;
  case AVRO_FIXED: {
    static const char zeros[64];
    avro_value_set_fixed(v, (void *)zeros, (size_t)avro_schema_fixed_size(s));
    break;
  }
  case AVRO_RECORD: {
    size_t n;
    avro_value_get_size(v, &n);
    for (size_t i = 0; i < n; i++) {
      avro_value_get_by_index(v, i, &e, NULL);
      fill_any(&e, depth + 1);
    }
    break;
  }
  case AVRO_ARRAY:
    for (int i = 0; depth < 3 && i < 2; i++) {
      avro_value_append(v, &e, NULL);
      fill_any(&e, depth + 1);
    }
    break;
  case AVRO_MAP:
    if (depth < 3) {
      avro_value_add(v, "k", &e, NULL, NULL);
      fill_any(&e, depth + 1);
    }
    break;
  case AVRO_UNION: {
    /* the last branch while shallow (often the non-null one), then null */
    size_t n = avro_schema_union_size(s), pick = n - 1;
    for (size_t i = 0; depth >= 3 && i < n; i++)
      if (avro_typeof(avro_schema_union_branch(s, (int)i)) == AVRO_NULL)
        pick = i;
    avro_value_set_branch(v, (int)pick, &e);
    fill_any(&e, depth + 1);
    break;
  }
  default:
    break;
  }
}

/* Encodes ev with writer schema i through Avro C: every unknown field filled,
 * every reader field from ev. Returns the length written into out. */
static size_t encode_with(int i, const ccp_event_t *ev, char *out, size_t cap) {
  size_t slen;
  const char *json = fz_schema(i, &slen);
  avro_schema_t s;
  if (avro_schema_from_json_length(json, slen, &s) != 0) {
    fprintf(stderr, "schema %d: %s\n", i, avro_strerror());
    exit(1);
  }
  avro_value_iface_t *cls = avro_generic_class_from_schema(s);
  avro_value_t v;
  avro_generic_value_new(cls, &v);
  fill_any(&v, 0);
  tu_fill(&v, ev);
  avro_writer_t w = avro_writer_memory(out, (int64_t)cap);
  if (avro_value_write(w, &v) != 0) {
    fprintf(stderr, "schema %d: %s\n", i, avro_strerror());
    exit(1);
  }
  size_t n = (size_t)avro_writer_tell(w);
  avro_writer_free(w);
  avro_value_decref(&v);
  avro_value_iface_decref(cls);
  avro_schema_decref(s);
  /* the decoder must read what we wrote, else the seed teaches nothing */
  ccp_event_t back;
  char err[CCP_ERRBUF_SIZE];
  if (ccp_avro_decode(fz_decoder(i), out, n, &back, err, sizeof err) != 0) {
    fprintf(stderr, "schema %d: seed does not decode: %s\n", i, err);
    exit(1);
  }
  return n;
}

/* An event of a type every writer schema's enum has (exotic.avsc has few). */
static ccp_event_t sample(int k, int full) {
  static const uint8_t types[] = {CCP_EV_OPENED,   CCP_EV_AGENT_REPLY, CCP_EV_HANDLED,
                                  CCP_EV_RESOLVED, CCP_EV_SURVEY,      CCP_EV_QA_REVIEWED};
  ccp_event_t ev = tu_event(k, full);
  ev.type = types[k % 6];
  return ev;
}

static void avro_seeds(void) {
  char rec[4096], msg[4100], name[64];
  for (int i = 0; i < FZ_NSCHEMAS; i++)
    for (int k = 0; k < 3; k++) {
      ccp_event_t ev = sample(k + i, k != 1);
      size_t n = encode_with(i, &ev, rec, sizeof rec);
      msg[0] = (char)i;
      memcpy(msg + 1, rec, n);
      snprintf(name, sizeof name, "schema%d-ev%d", i, k);
      put("avro", name, msg, n + 1);
      if (k == 0) { /* truncated, and one byte too many */
        snprintf(name, sizeof name, "schema%d-truncated", i);
        put("avro", name, msg, 1 + n / 2);
        msg[n + 1] = 0;
        snprintf(name, sizeof name, "schema%d-trailing", i);
        put("avro", name, msg, n + 2);
      }
      /* Confluent: the registry ids of fuzz_confluent.c */
      static const uint32_t ids[] = {1, 2, 3, 0xFFFFFFFFu};
      ccp_buf_t b;
      ccp_buf_init(&b);
      ccp_confluent_frame(&b, ids[i]);
      ccp_buf_append(&b, rec, n);
      snprintf(name, sizeof name, "id%u-ev%d", (unsigned)ids[i], k);
      put("confluent", name, b.data, b.len);
      ccp_buf_release(&b);
    }
  put("avro", "empty", "", 0);
  ccp_event_t ev = sample(5, 1);
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_avro_encode(&ev, &b);
  put("confluent", "plain-v1", b.data, b.len);
  b.len = 0;
  ccp_confluent_frame(&b, 9);
  ccp_avro_encode(&ev, &b);
  put("confluent", "unknown-id", b.data, b.len);
  put("confluent", "short-header", "\0\0\0", 3);
  ccp_buf_release(&b);
}

static void ocf_seeds(void) {
  char rec[4096], name[64];
  for (int i = 0; i < FZ_NSCHEMAS; i++)
    for (int codec = 0; codec < 2; codec++) {
      ccp_buf_t mem;
      ccp_buf_init(&mem);
      size_t slen;
      char err[CCP_ERRBUF_SIZE];
      ccp_ocf_writer_opts_t o = {
          .schema_json = i ? fz_schema(i, &slen) : NULL, .codec = codec, .block_bytes = 200};
      ccp_ocf_writer_t *w = ccp_ocf_writer_new(NULL, &mem, &o, err, sizeof err);
      if (!w) {
        fprintf(stderr, "ocf: %s\n", err);
        exit(1);
      }
      for (int k = 0; k < 4; k++) {
        ccp_event_t ev = sample(k, k % 2);
        size_t n = encode_with(i, &ev, rec, sizeof rec);
        ccp_ocf_writer_append_raw(w, rec, n);
      }
      if (ccp_ocf_writer_close(w) != 0)
        exit(1);
      snprintf(name, sizeof name, "schema%d-%s", i, ccp_ocf_codec_name(codec));
      put("ocf", name, mem.data, mem.len);
      if (i == 0 && codec == 0) {
        put("ocf", "truncated", mem.data, mem.len - 7);
        put("ocf", "magic-only", "Obj\x01", 4);
      }
      ccp_buf_release(&mem);
    }
}

static void jsonl_seeds(void) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  for (int k = 0; k < 4; k++) {
    ccp_event_t ev = sample(k, k % 2);
    ccp_jsonl_write(&ev, &b);
    ccp_buf_puts(&b, k == 2 ? "\r\n\n" : "\n");
  }
  put("jsonl", "events", b.data, b.len);
  put_str("jsonl", "edge",
          "{\"event_id\":\"e\\u00e9\\\"1\",\"ticket_id\":\"t\",\"type\":\"OPENED\",\"ts\":0,"
          "\"channel\":\"CHAT\",\"queue\":\"q\\n\",\"customer_id\":\"c\",\"agent_id\":null,"
          "\"csat\":2147483647,\"talk_ms\":-9223372036854775807,\"language\":\"fr\"}\n"
          "[1]\n{\"event_id\":1}\n   \n{\"ts\":1.5,\"event_id\":\"x\"}\n{\"a\":1,\"a\":2}");
  ccp_buf_release(&b);
}

static void text_seeds(void) {
  put_str("config", "file",
          "# a config file\n"
          "lateness = 2m\n"
          "timezone = Europe/Paris\n"
          "windows = 1m:5s,15m:30s,today:1m\n"
          "sla.CHAT = 90s   # comment\n"
          "sla.queue.billing.PHONE = 3m\n"
          "cost.PHONE = 42.5\n"
          "scorecard = csat_pct>=85:50,aht_avg_ms<=360000:50\n"
          "tickets.max = 1000\n"
          "kafka.security.protocol = plaintext\n"
          "schema.registry.7 = schemas/ticket_event.avsc\n"
          "redis = redis://:pw@127.0.0.1:6379/2\n"
          "alerts.rules = sl: service_level_pct all 15m < 80 warn, < 70 crit, hysteresis 2\n"
          "log.level = debug\n");
  put_str("config", "bad-lines", "lateness = soon\nno equals sign\n= value\nwindows = 0m:1s\n");
  put_str("config", "sets",
          "sla.EMAIL=1d\nworkers=3\nalerts.rules=w: waiting all > 20 warn\npublish.interval=0\n");
  static const char *const urls[] = {"redis://127.0.0.1:6379",
                                     "redis://:s3cret@host:6380/1",
                                     "redis://user:pw@[::1]:7000/0",
                                     "redis://h",
                                     "rediss://user:pw@host:6380",
                                     "redis://h:99999",
                                     "redis://[::1",
                                     "redis://u@h/x",
                                     ""};
  for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
    char name[16];
    snprintf(name, sizeof name, "%zu", i);
    put_str("redis_url", name, urls[i]);
  }
  put_str("rules", "docs",
          "sl_billing: service_level_pct queue:billing 15m < 80 warn, < 70 crit, hysteresis 2; "
          "waiting_all: waiting all > 20 warn, > 50 crit, hysteresis 5\n"
          "chat_frt: frt_p90_ms channel:CHAT 5m > 120000 crit, hysteresis 10000 # comment\n"
          "abandon: abandon_pct all 1h >= 10 warn, >= 20 crit");
  put_str("rules", "agent", "a-1: aht_avg_ms agent:a-17 today <= 1e3 warning,<=5 critical");
  put_str("rules", "bad", "x: waiting all 5m > 1 warn; y no colon; z: nope all > 1 crit");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fuzz_seeds OUTDIR\n");
    return 2;
  }
  outdir = argv[1];
  avro_seeds();
  ocf_seeds();
  jsonl_seeds();
  text_seeds();
  return 0;
}
