/*
 * Tests of src/decode/ocf.c: our writer and reader with the null and deflate
 * codecs, files written by Avro C's avro_file_writer read by ours (v1 and
 * v2), ours read by Avro C, and broken containers: bad magic, unsupported
 * codec, corrupt sync marker, truncated blocks, bad counts, corrupt deflate
 * data -> errors naming the file and the block or record.
 */
#include <avro.h>
#include <unistd.h>
#include <zlib.h>

#include "avro_testutil.h"
#include "ccp_test.h"
#include "ccpulse/ocf.h"

#define NEV 1000

static char tmpdir[] = "/tmp/ccp_test_ocf_XXXXXX";

static const char *tmp_path(const char *name) {
  static char p[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
  return p[k];
}

/* Writes NEV sample events with our writer into mem. */
static void write_ours(ccp_buf_t *mem, int codec, size_t block_bytes) {
  char err[CCP_ERRBUF_SIZE];
  ccp_ocf_writer_opts_t o = {.codec = codec, .block_bytes = block_bytes};
  ccp_ocf_writer_t *w = ccp_ocf_writer_new(NULL, mem, &o, err, sizeof err);
  T_TRUE(w != NULL);
  for (int i = 0; i < NEV; i++) {
    ccp_event_t ev = tu_event(i, i % 3 == 0);
    T_EQ_INT(ccp_ocf_writer_append(w, &ev), 0);
  }
  T_EQ_INT(ccp_ocf_writer_close(w), 0);
}

/* Reads every event back and checks them against tu_event(). */
static int64_t read_all(ccp_ocf_reader_t *r, int full_mod, int64_t *blocks) {
  ccp_event_t ev;
  ccp_ocf_record_t rec;
  char err[CCP_ERRBUF_SIZE] = "";
  int64_t n = 0, last_block = -1;
  int rc;
  while ((rc = ccp_ocf_reader_next(r, &ev, &rec, err, sizeof err)) == 0) {
    ccp_event_t want = tu_event((int)n, n % full_mod == 0);
    TU_EV_EQ(&ev, &want);
    T_EQ_INT(rec.index, n);
    T_TRUE(rec.block >= last_block);
    last_block = rec.block;
    n++;
  }
  T_EQ_INT(rc, -CCP_EEOF);
  if (rc != -CCP_EEOF)
    fprintf(stderr, "  %s\n", err);
  T_EQ_INT(ccp_ocf_reader_next(r, &ev, &rec, err, sizeof err), -CCP_EEOF); /* stays at EOF */
  if (blocks)
    *blocks = last_block + 1;
  return n;
}

static void test_roundtrip_codecs(void) {
  for (int codec = 0; codec <= 1; codec++) {
    ccp_buf_t mem;
    ccp_buf_init(&mem);
    write_ours(&mem, codec, 2000);
    char err[CCP_ERRBUF_SIZE] = "";
    ccp_ocf_reader_t *r = ccp_ocf_reader_new_mem(mem.data, mem.len, "mem.avro", err, sizeof err);
    T_TRUE(r != NULL);
    if (!r) {
      fprintf(stderr, "  %s\n", err);
      return;
    }
    T_EQ_INT(ccp_ocf_reader_codec(r), codec);
    int64_t blocks = 0;
    T_EQ_INT(read_all(r, 3, &blocks), NEV);
    T_TRUE(blocks > 10); /* the block size cut it into many blocks */
    ccp_ocf_reader_free(r);

    /* the same through a file */
    const char *path = tmp_path(codec ? "ours_deflate.avro" : "ours_null.avro");
    FILE *f = fopen(path, "wb");
    fwrite(mem.data, 1, mem.len, f);
    fclose(f);
    r = ccp_ocf_reader_open(path, err, sizeof err);
    T_TRUE(r != NULL);
    if (r)
      T_EQ_INT(read_all(r, 3, NULL), NEV);
    ccp_ocf_reader_free(r);

    /* Avro C reads our container */
    avro_file_reader_t ar;
    T_EQ_INT(avro_file_reader(path, &ar), 0);
    avro_schema_t ws = avro_file_reader_get_writer_schema(ar);
    avro_value_iface_t *cls = avro_generic_class_from_schema(ws);
    avro_value_t v;
    avro_generic_value_new(cls, &v);
    int n = 0;
    while (avro_file_reader_read_value(ar, &v) == 0) {
      avro_value_t fld;
      int64_t ts;
      avro_value_get_by_name(&v, "ts", &fld, NULL);
      avro_value_get_long(&fld, &ts);
      T_EQ_INT(ts, tu_event(n, 0).ts);
      n++;
    }
    T_EQ_INT(n, NEV);
    avro_value_decref(&v);
    avro_value_iface_decref(cls);
    avro_schema_decref(ws);
    avro_file_reader_close(ar);
    ccp_buf_release(&mem);
  }
}

/* The same events give the same bytes (deterministic sync marker). */
static void test_writer_deterministic(void) {
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  write_ours(&a, CCP_OCF_DEFLATE, 0);
  write_ours(&b, CCP_OCF_DEFLATE, 0);
  T_TRUE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
}

/* A container written by Avro C's avro_file_writer. */
static void write_avro_c(const char *path, const char *schema_json, const char *codec,
                         int with_language) {
  avro_schema_t s = tu_schema(schema_json);
  avro_file_writer_t w;
  unlink(path);
  int rc = avro_file_writer_create_with_codec(path, s, &w, codec, 4096);
  if (rc) {
    fprintf(stderr, "avro_file_writer_create_with_codec(%s): %s\n", codec, avro_strerror());
    exit(2);
  }
  avro_value_iface_t *cls = avro_generic_class_from_schema(s);
  avro_value_t v;
  avro_generic_value_new(cls, &v);
  for (int i = 0; i < NEV; i++) {
    ccp_event_t ev = tu_event(i, i % 2 == 0);
    avro_value_reset(&v);
    tu_fill(&v, &ev);
    if (with_language) {
      avro_value_t f, b;
      avro_value_get_by_name(&v, "language", &f, NULL);
      avro_value_set_branch(&f, 1, &b);
      avro_value_set_string(&b, i % 2 ? "id" : "en");
    }
    if (avro_file_writer_append_value(w, &v)) {
      fprintf(stderr, "append: %s\n", avro_strerror());
      exit(2);
    }
  }
  avro_file_writer_close(w);
  avro_value_decref(&v);
  avro_value_iface_decref(cls);
  avro_schema_decref(s);
}

static void test_avro_c_files(void) {
  char *v1 = tu_slurp("../schemas/ticket_event.avsc", NULL);
  char *v2 = tu_slurp("../schemas/ticket_event_v2.avsc", NULL);
  const char *codecs[] = {"null", "deflate"};
  for (int c = 0; c < 2; c++) {
    for (int ver = 1; ver <= 2; ver++) {
      const char *path = tmp_path("avroc.avro");
      write_avro_c(path, ver == 1 ? v1 : v2, codecs[c], ver == 2);
      char err[CCP_ERRBUF_SIZE] = "";
      ccp_ocf_reader_t *r = ccp_ocf_reader_open(path, err, sizeof err);
      T_TRUE(r != NULL);
      if (!r) {
        fprintf(stderr, "  %s\n", err);
        continue;
      }
      T_EQ_INT(ccp_ocf_reader_codec(r), c);
      size_t sl;
      const char *sj = ccp_ocf_reader_schema(r, &sl);
      T_TRUE((ver == 2) == (memmem(sj, sl, "language", 8) != NULL));
      T_EQ_INT(read_all(r, 2, NULL), NEV);
      ccp_ocf_reader_free(r);
    }
  }
  ccp_free(v1);
  ccp_free(v2);
}

static int64_t get_varint(const uint8_t **pp) {
  uint64_t z = 0;
  int sh = 0;
  const uint8_t *p = *pp;
  do {
    z |= (uint64_t)(*p & 0x7f) << sh;
    sh += 7;
  } while (*p++ & 0x80);
  *pp = p;
  return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

/* Byte offset of the n-th block (0-based) of a valid container: the header
 * ends with the first copy of the sync marker (the file's last 16 bytes). */
static size_t block_offset(const ccp_buf_t *mem, int n, int64_t *count, int64_t *size) {
  const uint8_t *b = (const uint8_t *)mem->data, *sync = b + mem->len - 16;
  const uint8_t *p = memmem(b, mem->len, sync, 16);
  CCP_ASSERT(p && p < sync);
  p += 16;
  for (int i = 0;; i++) {
    const uint8_t *start = p;
    *count = get_varint(&p);
    *size = get_varint(&p);
    if (i == n)
      return (size_t)(start - b);
    p += *size + 16;
    CCP_ASSERT(p <= b + mem->len);
  }
}

/* Reads to the end or the first error; returns the message ("" at a clean
 * end) and checks errors are sticky. */
static const char *read_to_end(const void *data, size_t len, int *rc_out) {
  static char err[CCP_ERRBUF_SIZE];
  err[0] = 0;
  ccp_ocf_reader_t *r = ccp_ocf_reader_new_mem(data, len, "bad.avro", err, sizeof err);
  if (!r) {
    *rc_out = -CCP_EPARSE;
    return err;
  }
  ccp_event_t ev;
  int rc;
  while ((rc = ccp_ocf_reader_next(r, &ev, NULL, err, sizeof err)) == 0) {
  }
  char again[CCP_ERRBUF_SIZE] = "";
  T_EQ_INT(ccp_ocf_reader_next(r, &ev, NULL, again, sizeof again), rc); /* sticky */
  if (rc != -CCP_EEOF)
    T_EQ_STR(again, err);
  ccp_ocf_reader_free(r);
  *rc_out = rc;
  return err;
}

/* Reads until the error that must come; returns its message. */
static const char *read_error(const void *data, size_t len) {
  int rc;
  const char *e = read_to_end(data, len, &rc);
  T_TRUE(rc != -CCP_EEOF);
  return e;
}

#define T_CONTAINS(s, want)                                                                        \
  do {                                                                                             \
    const char *_s = (s);                                                                          \
    if (!strstr(_s, (want)))                                                                       \
      T_FAIL_("\"%s\" lacks \"%s\"", _s, (want));                                                  \
  } while (0)

/* A hand-made header with the given schema and codec (strings < 64 bytes). */
static void mk_header(ccp_buf_t *h, const char *schema, const char *codec) {
  const char *kv[] = {"avro.schema", schema, "avro.codec", codec};
  ccp_buf_append(h, "Obj\x01", 4);
  ccp_buf_putc(h, 4); /* 2 entries */
  for (int i = 0; i < 4; i++) {
    ccp_buf_putc(h, (char)(strlen(kv[i]) * 2));
    ccp_buf_puts(h, kv[i]);
  }
  ccp_buf_putc(h, 0);
  ccp_buf_append(h, "0123456789abcdef", 16);
}

static void test_broken_containers(void) {
  ccp_buf_t mem;
  ccp_buf_init(&mem);
  write_ours(&mem, CCP_OCF_NULL, 2000);
  int64_t count, size;
  size_t b1 = block_offset(&mem, 1, &count, &size);
  size_t b2 = block_offset(&mem, 2, &count, &size);
  char want[160];
  char *copy = malloc(mem.len);

  /* corrupt sync marker after block 1 */
  memcpy(copy, mem.data, mem.len);
  copy[b2 - 3] ^= 0x55;
  snprintf(want, sizeof want, "bad.avro: block 1 at offset %zu: sync marker mismatch", b1);
  T_CONTAINS(read_error(copy, mem.len), want);

  /* truncated inside block 2 */
  snprintf(want, sizeof want, "bad.avro: block 2 at offset %zu: truncated", b2);
  T_CONTAINS(read_error(mem.data, b2 + 20), want);
  /* truncated inside block 2's header */
  snprintf(want, sizeof want, "bad.avro: block 2 at offset %zu: truncated block header", b2);
  T_CONTAINS(read_error(mem.data, b2 + 1), want);

  /* block count larger than its records: the record after the last fails */
  memcpy(copy, mem.data, mem.len);
  CCP_ASSERT(count < 60);
  copy[b2] = (char)((count + 1) << 1);
  T_CONTAINS(read_error(copy, mem.len), "truncated record at byte 0 (field 'event_id')");
  T_CONTAINS(read_error(copy, mem.len), "(block 2 at offset");
  /* smaller: bytes left over */
  copy[b2] = (char)((count - 1) << 1);
  snprintf(want, sizeof want, "block 2 at offset %zu: ", b2);
  T_CONTAINS(read_error(copy, mem.len), want);
  T_CONTAINS(read_error(copy, mem.len), "bytes left after its");
  /* negative count */
  copy[b2] = 1;
  T_CONTAINS(read_error(copy, mem.len), "negative record count -1");

  /* garbage inside a record of block 2 */
  memcpy(copy, mem.data, mem.len);
  copy[b2 + 3] = 0x01; /* first record's event_id length: -1 */
  T_CONTAINS(read_error(copy, mem.len), "negative string length -1 at byte 0 (field 'event_id')");
  T_CONTAINS(read_error(copy, mem.len), "bad.avro: record ");

  /* header problems */
  T_CONTAINS(read_error("Obj\x02", 4), "bad.avro: not an Avro object container file");
  T_CONTAINS(read_error("", 0), "not an Avro object container file");
  T_CONTAINS(read_error(mem.data, 40), "bad.avro: truncated header");

  ccp_buf_t h;
  ccp_buf_init(&h);
  mk_header(&h, "\"string\"", "snappy");
  T_CONTAINS(read_error(h.data, h.len),
             "bad.avro: unsupported codec 'snappy' (ccpulse reads null and deflate)");
  ccp_buf_clear(&h);
  mk_header(&h, "\"string\"", "null");
  T_CONTAINS(read_error(h.data, h.len), "bad.avro: writer schema is not a record (got 'string')");
  /* no schema at all */
  ccp_buf_clear(&h);
  ccp_buf_append(&h, "Obj\x01", 4);
  ccp_buf_putc(&h, 0);
  ccp_buf_append(&h, "0123456789abcdef", 16);
  T_CONTAINS(read_error(h.data, h.len), "bad.avro: header has no avro.schema");
  /* a metadata count no file could hold */
  ccp_buf_clear(&h);
  ccp_buf_append(&h, "Obj\x01", 4);
  ccp_buf_append(&h, "\xfe\xff\xff\xff\x0f", 5);
  T_CONTAINS(read_error(h.data, h.len), "header metadata count");
  ccp_buf_release(&h);

  /* unreadable file */
  char err[CCP_ERRBUF_SIZE];
  T_TRUE(ccp_ocf_reader_open(tmp_path("missing.avro"), err, sizeof err) == NULL);
  T_CONTAINS(err, "cannot open '");
  T_CONTAINS(err, "No such file or directory");

  free(copy);
  ccp_buf_release(&mem);
}

static void test_broken_deflate(void) {
  ccp_buf_t mem;
  ccp_buf_init(&mem);
  write_ours(&mem, CCP_OCF_DEFLATE, 2000);
  /* flip bytes all over the blocks: every outcome is a clean end or a clean
   * error naming the file (raw deflate has no checksum, so a flipped literal
   * can inflate to other, still valid, records) */
  int64_t count, size;
  size_t b0 = block_offset(&mem, 0, &count, &size);
  int saw_deflate = 0, errors = 0;
  for (size_t pos = b0; pos < mem.len; pos += 37) {
    char *copy = malloc(mem.len);
    memcpy(copy, mem.data, mem.len);
    copy[pos] ^= 0xff;
    int rc;
    const char *e = read_to_end(copy, mem.len, &rc);
    if (rc != -CCP_EEOF) {
      errors++;
      T_CONTAINS(e, "bad.avro: ");
      if (strstr(e, "deflate"))
        saw_deflate = 1;
    }
    free(copy);
  }
  T_TRUE(errors > 0);
  T_TRUE(saw_deflate);
  ccp_buf_release(&mem);
}

/* A deflate bomb: a small block that inflates past CCP_OCF_MAX_BLOCK. */
static void test_deflate_bomb(void) {
  ccp_buf_t h, z;
  ccp_buf_init(&h);
  ccp_buf_init(&z);
  mk_header(&h, "{\"type\":\"record\",\"name\":\"X\",\"fields\":[]}", "deflate");
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  T_EQ_INT(deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  static unsigned char zeros[1 << 20], out[1 << 16];
  for (unsigned i = 0; i <= CCP_OCF_MAX_BLOCK >> 20; i++) {
    zs.next_in = zeros;
    zs.avail_in = sizeof zeros;
    int flush = i == CCP_OCF_MAX_BLOCK >> 20 ? Z_FINISH : Z_NO_FLUSH;
    do {
      zs.next_out = out;
      zs.avail_out = sizeof out;
      deflate(&zs, flush);
      ccp_buf_append(&z, out, sizeof out - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  ccp_buf_putc(&h, 2); /* 1 record */
  uint8_t v[10];
  size_t n = 0;
  uint64_t zz = (uint64_t)z.len << 1;
  while (zz >= 0x80)
    v[n++] = (uint8_t)(zz | 0x80), zz >>= 7;
  v[n++] = (uint8_t)zz;
  ccp_buf_append(&h, v, n);
  ccp_buf_append(&h, z.data, z.len);
  ccp_buf_append(&h, "0123456789abcdef", 16);
  /* the schema is not ours, so open fails before any block: use ours */
  ccp_buf_t h2;
  ccp_buf_init(&h2);
  mk_header(&h2, "{\"type\":\"record\",\"name\":\"X\",\"fields\":[]}", "deflate");
  const char *e = read_error(h.data, h.len);
  T_CONTAINS(e, "writer schema has no field 'event_id'");
  /* same block behind a v1 header */
  ccp_buf_t f;
  ccp_buf_init(&f);
  ccp_ocf_writer_opts_t o = {.codec = CCP_OCF_DEFLATE, .sync = (const uint8_t *)"0123456789abcdef"};
  ccp_ocf_writer_t *w = ccp_ocf_writer_new(NULL, &f, &o, NULL, 0);
  ccp_ocf_writer_close(w);
  ccp_buf_append(&f, h.data + h2.len, h.len - h2.len);
  T_CONTAINS(read_error(f.data, f.len), "block 0 at offset");
  T_CONTAINS(read_error(f.data, f.len), "deflate data inflates beyond 268435456 bytes");
  ccp_buf_release(&f);
  ccp_buf_release(&h2);
  ccp_buf_release(&h);
  ccp_buf_release(&z);
}

static void test_raw_append_and_positions(void) {
  /* raw records under a v2 schema, one record per block */
  char *v2 = tu_slurp("../schemas/ticket_event_v2.avsc", NULL);
  ccp_buf_t mem, rec;
  ccp_buf_init(&mem);
  ccp_buf_init(&rec);
  ccp_ocf_writer_opts_t o = {.schema_json = v2, .block_bytes = 1};
  ccp_ocf_writer_t *w = ccp_ocf_writer_new(NULL, &mem, &o, NULL, 0);
  ccp_event_t ev = tu_event(1, 1);
  T_EQ_INT(ccp_ocf_writer_append(w, &ev), -CCP_ESCHEMA); /* not v1 */
  size_t lens[3];
  for (int i = 0; i < 3; i++) {
    ccp_buf_clear(&rec);
    ev = tu_event(i, 0);
    ccp_avro_encode(&ev, &rec);
    ccp_buf_append(&rec, "\x02\x04id", 4); /* language = "id" */
    lens[i] = rec.len;
    T_EQ_INT(ccp_ocf_writer_append_raw(w, rec.data, rec.len), 0);
  }
  T_EQ_INT(ccp_ocf_writer_close(w), 0);
  ccp_ocf_reader_t *r = ccp_ocf_reader_new_mem(mem.data, mem.len, "v2.avro", NULL, 0);
  T_TRUE(r != NULL);
  ccp_ocf_record_t pos;
  for (int i = 0; i < 3; i++) {
    T_EQ_INT(ccp_ocf_reader_next(r, &ev, &pos, NULL, 0), 0);
    T_EQ_INT(pos.block, i);
    T_EQ_INT(pos.in_block, 0);
    T_EQ_INT(pos.index, i);
    T_EQ_INT(pos.len, lens[i]);
    T_EQ_INT(ev.ts, tu_event(i, 0).ts);
  }
  T_EQ_INT(ccp_ocf_reader_next(r, &ev, &pos, NULL, 0), -CCP_EEOF);
  ccp_ocf_reader_free(r);
  ccp_buf_release(&rec);
  ccp_buf_release(&mem);
  ccp_free(v2);

  T_EQ_INT(ccp_ocf_codec_parse("deflate"), CCP_OCF_DEFLATE);
  T_EQ_INT(ccp_ocf_codec_parse("null"), CCP_OCF_NULL);
  T_EQ_INT(ccp_ocf_codec_parse("snappy"), -1);
  char err[CCP_ERRBUF_SIZE];
  ccp_ocf_writer_opts_t bad = {.schema_json = "{nope"};
  T_TRUE(ccp_ocf_writer_new(NULL, &mem, &bad, err, sizeof err) == NULL);
  T_CONTAINS(err, "invalid writer schema");
}

/* Random byte flips anywhere in a null-codec container (header included)
 * and random cuts: always a clean end or a clean error. For the sanitizer
 * build. */
static void test_fuzz_container(void) {
  ccp_buf_t mem;
  ccp_buf_init(&mem);
  write_ours(&mem, CCP_OCF_NULL, 700);
  uint64_t x = 0x2545f4914f6cdd1dULL;
  int errors = 0;
  for (int it = 0; it < 3000; it++) {
    size_t len = mem.len;
    char *copy = malloc(len);
    memcpy(copy, mem.data, len);
    for (int k = 0; k < 3; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t pos = x % len;
      if (k == 2 && (x >> 40) % 4 == 0)
        len = pos; /* a cut */
      else
        copy[pos] = (char)(x >> 32);
    }
    int rc;
    const char *e = read_to_end(copy, len, &rc);
    if (rc != -CCP_EEOF) {
      errors++;
      T_CONTAINS(e, "bad.avro: ");
    }
    free(copy);
  }
  T_TRUE(errors > 0);
  ccp_buf_release(&mem);
}

/* An empty container (header only) reads as no events. */
static void test_empty(void) {
  ccp_buf_t mem;
  ccp_buf_init(&mem);
  ccp_ocf_writer_t *w = ccp_ocf_writer_new(NULL, &mem, NULL, NULL, 0);
  T_EQ_INT(ccp_ocf_writer_close(w), 0);
  ccp_ocf_reader_t *r = ccp_ocf_reader_new_mem(mem.data, mem.len, "e.avro", NULL, 0);
  T_TRUE(r != NULL);
  ccp_event_t ev;
  T_EQ_INT(ccp_ocf_reader_next(r, &ev, NULL, NULL, 0), -CCP_EEOF);
  ccp_ocf_reader_free(r);
  ccp_buf_release(&mem);
}

int main(void) {
  if (!mkdtemp(tmpdir))
    return 2;
  T_RUN(test_roundtrip_codecs);
  T_RUN(test_writer_deterministic);
  T_RUN(test_avro_c_files);
  T_RUN(test_broken_containers);
  T_RUN(test_broken_deflate);
  T_RUN(test_deflate_bomb);
  T_RUN(test_raw_append_and_positions);
  T_RUN(test_empty);
  T_RUN(test_fuzz_container);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  return T_DONE();
}
