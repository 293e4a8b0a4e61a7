/*
 * Avro Object Container Files: reader and writer (see include/ccpulse/ocf.h).
 *
 * Reader. The whole file is in memory (read once, or borrowed bytes). The
 * header is parsed at open; blocks are then taken one at a time: count and
 * size are bounded by the bytes left, the 16-byte sync marker after the data
 * must match the header's before any record of the block is decoded, deflate
 * data is inflated into one buffer reused across blocks (bounded by
 * CCP_OCF_MAX_BLOCK). Records inside a block are not framed, so the decoder
 * itself finds each record's end (ccp_avro_decode_prefix); after the last
 * record of a block no byte may be left. Avro C is used for nothing here but
 * parsing the schema text (inside ccp_avro_decoder_new).
 *
 * Once a reader reported an error it keeps reporting it: a container whose
 * framing is broken cannot be resynchronised reliably, and replay stops at
 * the first bad record anyway.
 *
 * Writer. Records are encoded into a pending block buffer; when it reaches
 * the block size (or on flush/close) the block is written: count, size,
 * data (deflated if asked), sync marker.
 *
 * Threads: a reader or writer belongs to one thread.
 */
#include "ccpulse/ocf.h"

#include <avro.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "ccpulse/file.h"
#include "decode/avro_varint.h"

#define SYNC_LEN 16

int ccp_ocf_codec_parse(const char *name) {
  if (!name)
    return -1;
  if (strcmp(name, "null") == 0)
    return CCP_OCF_NULL;
  if (strcmp(name, "deflate") == 0)
    return CCP_OCF_DEFLATE;
  return -1;
}

const char *ccp_ocf_codec_name(int codec) {
  return codec == CCP_OCF_NULL ? "null" : codec == CCP_OCF_DEFLATE ? "deflate" : NULL;
}

/* ---- reader ------------------------------------------------------------- */

struct ccp_ocf_reader {
  char *name;         /* for messages */
  uint8_t *owned;     /* file bytes read by ccp_ocf_reader_open */
  const uint8_t *buf; /* the container */
  size_t len;
  size_t pos; /* offset of the next block */
  uint8_t sync[SYNC_LEN];
  const char *schema; /* view into buf */
  size_t schema_len;
  int codec;
  ccp_avro_decoder_t *dec;

  /* current block */
  const uint8_t *blk; /* decoded block data */
  size_t blk_len, blk_pos, blk_off;
  int64_t blk_count, blk_done, block;
  int64_t index; /* records returned so far */

  uint8_t *inflated; /* reused inflate buffer */
  size_t inflated_cap;
  int failed;    /* sticky error code */
  char *failmsg; /* message repeated after a failure */
};

void ccp_ocf_reader_free(ccp_ocf_reader_t *r) {
  if (!r)
    return;
  ccp_avro_decoder_free(r->dec);
  ccp_free(r->owned);
  ccp_free(r->inflated);
  ccp_free(r->name);
  ccp_free(r->failmsg);
  ccp_free(r);
}

/* Reads a long from the header: 0, or -1 when it is cut off or too long. */
static int hdr_long(const uint8_t **p, const uint8_t *end, int64_t *v) {
  return ccp__get_long(p, end, v) == 0 ? 0 : -1;
}

/* Reads a length-prefixed byte string of the header into *s, *n and moves
 * past it: 0, -1 when it is cut off, -2 when the length is negative. */
static int hdr_bytes(const uint8_t **p, const uint8_t *end, const uint8_t **s, int64_t *n) {
  if (hdr_long(p, end, n))
    return -1;
  if (*n < 0)
    return -2;
  if ((uint64_t)*n > (size_t)(end - *p))
    return -1;
  *s = *p;
  *p += *n;
  return 0;
}

static int parse_header(ccp_ocf_reader_t *r, char *errbuf, size_t errlen) {
  const uint8_t *p = r->buf, *end = r->buf + r->len;
  if (r->len < 4 || memcmp(p, CCP_OCF_MAGIC, 4) != 0) {
    snprintf(errbuf, errlen, "%s: not an Avro object container file (bad magic)", r->name);
    return -CCP_EPARSE;
  }
  p += 4;
  const char *codec = NULL;
  size_t codec_len = 0;
  for (;;) {
    const uint8_t *at = p;
    int64_t count, size;
    if (hdr_long(&p, end, &count))
      goto trunc;
    if (count == 0)
      break;
    if (count < 0) {
      if (count == INT64_MIN)
        goto bad;
      count = -count;
      if (hdr_long(&p, end, &size) || size < 0)
        goto bad;
    }
    if ((uint64_t)count > (size_t)(end - p) / 2) { /* each entry >= 2 bytes */
      snprintf(errbuf, errlen, "%s: header metadata count %" PRId64 " at byte %zu exceeds the file",
               r->name, count, (size_t)(at - r->buf));
      return -CCP_EPARSE;
    }
    for (int64_t i = 0; i < count; i++) {
      const uint8_t *key, *val;
      int64_t kl, vl;
      int hr = hdr_bytes(&p, end, &key, &kl);
      if (hr == 0)
        hr = hdr_bytes(&p, end, &val, &vl);
      if (hr == -1)
        goto trunc;
      if (hr < 0)
        goto bad;
      if (kl == 11 && memcmp(key, "avro.schema", 11) == 0) {
        r->schema = (const char *)val;
        r->schema_len = (size_t)vl;
      } else if (kl == 10 && memcmp(key, "avro.codec", 10) == 0) {
        codec = (const char *)val;
        codec_len = (size_t)vl;
      }
    }
  }
  if ((size_t)(end - p) < SYNC_LEN)
    goto trunc;
  memcpy(r->sync, p, SYNC_LEN);
  p += SYNC_LEN;
  r->pos = (size_t)(p - r->buf);

  if (!r->schema) {
    snprintf(errbuf, errlen, "%s: header has no avro.schema", r->name);
    return -CCP_ESCHEMA;
  }
  r->codec = CCP_OCF_NULL;
  if (codec) {
    char name[32];
    if (codec_len >= sizeof name)
      codec_len = sizeof name - 1;
    memcpy(name, codec, codec_len);
    name[codec_len] = 0;
    for (size_t i = 0; i < codec_len; i++)
      if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
        name[i] = '?';
    r->codec = ccp_ocf_codec_parse(name);
    if (r->codec < 0) {
      snprintf(errbuf, errlen, "%s: unsupported codec '%s' (ccpulse reads null and deflate)",
               r->name, name);
      return -CCP_EPARSE;
    }
  }
  char why[CCP_ERRBUF_SIZE];
  r->dec = ccp_avro_decoder_new(r->schema, r->schema_len, why, sizeof why);
  if (!r->dec) {
    snprintf(errbuf, errlen, "%s: %s", r->name, why);
    return -CCP_ESCHEMA;
  }
  return 0;

trunc:
  snprintf(errbuf, errlen, "%s: truncated header", r->name);
  return -CCP_EPARSE;
bad:
  snprintf(errbuf, errlen, "%s: malformed header metadata at byte %zu", r->name,
           (size_t)(p - r->buf));
  return -CCP_EPARSE;
}

/* Builds a reader over [buf, buf + len) named name, taking owned (may be
 * NULL) to free with it; NULL with errbuf set when the header is bad. */
static ccp_ocf_reader_t *reader_new(const void *buf, size_t len, void *owned, const char *name,
                                    char *errbuf, size_t errlen) {
  char dummy[CCP_ERRBUF_SIZE];
  if (!errbuf || !errlen) {
    errbuf = dummy;
    errlen = sizeof dummy;
  }
  ccp_ocf_reader_t *r = ccp_calloc(1, sizeof *r);
  r->name = ccp_strdup(name);
  r->owned = owned;
  r->buf = buf;
  r->len = len;
  if (parse_header(r, errbuf, errlen) != 0) {
    ccp_ocf_reader_free(r);
    return NULL;
  }
  return r;
}

ccp_ocf_reader_t *ccp_ocf_reader_new_mem(const void *data, size_t len, const char *name,
                                         char *errbuf, size_t errlen) {
  return reader_new(data, len, NULL, name ? name : "<memory>", errbuf, errlen);
}

ccp_ocf_reader_t *ccp_ocf_reader_open(const char *path, char *errbuf, size_t errlen) {
  char dummy[CCP_ERRBUF_SIZE];
  if (!errbuf || !errlen) {
    errbuf = dummy;
    errlen = sizeof dummy;
  }
  size_t len;
  char *data = ccp_file_read(path, &len, errbuf, errlen);
  if (!data)
    return NULL;
  return reader_new(data, len, data, path, errbuf, errlen);
}

const char *ccp_ocf_reader_schema(const ccp_ocf_reader_t *r, size_t *len) {
  *len = r->schema_len;
  return r->schema;
}

int ccp_ocf_reader_codec(const ccp_ocf_reader_t *r) { return r->codec; }

/* Stores a failure: the message is kept and repeated by later calls. */
static int fail(ccp_ocf_reader_t *r, int code, char *errbuf, size_t errlen, const char *msg) {
  r->failed = code;
  ccp_free(r->failmsg);
  r->failmsg = ccp_strdup(msg);
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "%s", msg);
  return code;
}

static int block_fail(ccp_ocf_reader_t *r, size_t off, char *errbuf, size_t errlen,
                      const char *why) {
  char msg[CCP_ERRBUF_SIZE];
  snprintf(msg, sizeof msg, "%s: block %" PRId64 " at offset %zu: %s", r->name, r->block, off, why);
  return fail(r, -CCP_EPARSE, errbuf, errlen, msg);
}

static int inflate_block(ccp_ocf_reader_t *r, const uint8_t *src, size_t n, size_t off,
                         char *errbuf, size_t errlen) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, -15) != Z_OK)
    CCP_ASSERT(!"inflateInit2 failed");
  if (!r->inflated) {
    r->inflated_cap = 1 << 16;
    r->inflated = ccp_malloc(r->inflated_cap);
  }
  size_t out = 0;
  int rc = Z_OK;
  /* zlib counts in uInt: feed the input in pieces of at most 1 GiB. */
  const uint8_t *in = src;
  size_t left = n;
  for (;;) {
    if (zs.avail_in == 0 && left) {
      uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
      zs.next_in = (Bytef *)in;
      zs.avail_in = take;
      in += take;
      left -= take;
    }
    if (out == r->inflated_cap) {
      if (r->inflated_cap >= CCP_OCF_MAX_BLOCK) {
        inflateEnd(&zs);
        char why[128];
        snprintf(why, sizeof why, "deflate data inflates beyond %u bytes", CCP_OCF_MAX_BLOCK);
        return block_fail(r, off, errbuf, errlen, why);
      }
      r->inflated_cap *= 2;
      r->inflated = ccp_realloc(r->inflated, r->inflated_cap);
    }
    zs.next_out = r->inflated + out;
    zs.avail_out = (uInt)(r->inflated_cap - out);
    rc = inflate(&zs, Z_NO_FLUSH);
    out = r->inflated_cap - zs.avail_out;
    if (rc == Z_STREAM_END)
      break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && !left && zs.avail_out > 0) {
      inflateEnd(&zs);
      return block_fail(r, off, errbuf, errlen, "truncated deflate data");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      char why[160];
      snprintf(why, sizeof why, "corrupt deflate data (%s)", zs.msg ? zs.msg : "zlib error");
      inflateEnd(&zs);
      return block_fail(r, off, errbuf, errlen, why);
    }
  }
  inflateEnd(&zs);
  r->blk = r->inflated;
  r->blk_len = out;
  return 0;
}

/* Loads the next block. 0, -CCP_EEOF or an error. */
static int next_block(ccp_ocf_reader_t *r, char *errbuf, size_t errlen) {
  if (r->pos == r->len)
    return -CCP_EEOF;
  const uint8_t *p = r->buf + r->pos, *end = r->buf + r->len;
  size_t off = r->pos;
  int64_t count, size;
  char why[200];
  if (ccp__get_long(&p, end, &count) || ccp__get_long(&p, end, &size))
    return block_fail(r, off, errbuf, errlen, "truncated block header");
  if (count < 0) {
    snprintf(why, sizeof why, "negative record count %" PRId64, count);
    return block_fail(r, off, errbuf, errlen, why);
  }
  if (size < 0) {
    snprintf(why, sizeof why, "negative block size %" PRId64, size);
    return block_fail(r, off, errbuf, errlen, why);
  }
  size_t left = (size_t)(end - p);
  if ((uint64_t)size > left || left - (size_t)size < SYNC_LEN) {
    snprintf(why, sizeof why, "truncated: block of %" PRId64 " bytes + sync marker, %zu bytes left",
             size, left);
    return block_fail(r, off, errbuf, errlen, why);
  }
  const uint8_t *data = p;
  p += size;
  if (memcmp(p, r->sync, SYNC_LEN) != 0)
    return block_fail(r, off, errbuf, errlen, "sync marker mismatch after the block data");
  p += SYNC_LEN;
  if (r->codec == CCP_OCF_DEFLATE) {
    int rc = inflate_block(r, data, (size_t)size, off, errbuf, errlen);
    if (rc)
      return rc;
  } else {
    r->blk = data;
    r->blk_len = (size_t)size;
  }
  /* Every TicketEvent record takes at least one byte (required strings). */
  if ((uint64_t)count > r->blk_len) {
    snprintf(why, sizeof why, "record count %" PRId64 " exceeds its %zu bytes", count, r->blk_len);
    return block_fail(r, off, errbuf, errlen, why);
  }
  r->blk_off = off;
  r->blk_pos = 0;
  r->blk_count = count;
  r->blk_done = 0;
  r->pos = (size_t)(p - r->buf);
  return 0;
}

int ccp_ocf_reader_next(ccp_ocf_reader_t *r, ccp_event_t *ev, ccp_ocf_record_t *rec, char *errbuf,
                        size_t errlen) {
  if (r->failed) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "%s", r->failmsg);
    return r->failed;
  }
  while (r->blk_done == r->blk_count) {
    if (r->blk && r->blk_pos != r->blk_len) {
      char why[160];
      snprintf(why, sizeof why, "%zu bytes left after its %" PRId64 " records",
               r->blk_len - r->blk_pos, r->blk_count);
      return block_fail(r, r->blk_off, errbuf, errlen, why);
    }
    if (r->blk)
      r->block++;
    r->blk = NULL;
    int rc = next_block(r, errbuf, errlen);
    if (rc)
      return rc;
  }
  char why[CCP_ERRBUF_SIZE];
  size_t used;
  const uint8_t *at = r->blk + r->blk_pos;
  if (ccp_avro_decode_prefix(r->dec, at, r->blk_len - r->blk_pos, ev, &used, why, sizeof why) !=
      0) {
    char msg[CCP_ERRBUF_SIZE + 128];
    snprintf(msg, sizeof msg, "%s: record %" PRId64 " (block %" PRId64 " at offset %zu): %s",
             r->name, r->index, r->block, r->blk_off, why);
    return fail(r, -CCP_EPARSE, errbuf, errlen, msg);
  }
  if (rec) {
    rec->data = at;
    rec->len = used;
    rec->block = r->block;
    rec->in_block = r->blk_done;
    rec->index = r->index;
  }
  r->blk_pos += used;
  r->blk_done++;
  r->index++;
  return 0;
}

/* ---- writer ------------------------------------------------------------- */

struct ccp_ocf_writer {
  FILE *f;
  ccp_buf_t *mem;
  int codec, level;
  size_t block_bytes;
  uint8_t sync[SYNC_LEN];
  int v1;        /* schema is ccp_avro_schema_v1: ccp_ocf_writer_append allowed */
  ccp_buf_t blk; /* pending records */
  int64_t count; /* records in blk */
  ccp_buf_t out; /* framing / compressed bytes */
  int err;
};

static void w_emit(ccp_ocf_writer_t *w, const void *p, size_t n) {
  if (w->err || n == 0)
    return;
  if (w->f) {
    if (fwrite(p, 1, n, w->f) != n)
      w->err = -CCP_EIO;
  } else {
    ccp_buf_append(w->mem, p, n);
  }
}

static void buf_long(ccp_buf_t *b, int64_t v) {
  ccp_buf_reserve(b, 10);
  uint8_t *s = (uint8_t *)b->data + b->len;
  b->len += (size_t)(ccp__put_long(s, v) - s);
  b->data[b->len] = 0;
}

static void buf_bytes(ccp_buf_t *b, const void *p, size_t n) {
  buf_long(b, (int64_t)n);
  ccp_buf_append(b, p, n);
}

ccp_ocf_writer_t *ccp_ocf_writer_new(FILE *f, ccp_buf_t *mem, const ccp_ocf_writer_opts_t *opts,
                                     char *errbuf, size_t errlen) {
  char dummy[CCP_ERRBUF_SIZE];
  if (!errbuf || !errlen) {
    errbuf = dummy;
    errlen = sizeof dummy;
  }
  ccp_ocf_writer_opts_t o = {0};
  if (opts)
    o = *opts;
  const char *schema = o.schema_json ? o.schema_json : ccp_avro_schema_v1;
  const char *codec = ccp_ocf_codec_name(o.codec);
  if (!codec) {
    snprintf(errbuf, errlen, "unknown codec %d", o.codec);
    return NULL;
  }
  if (o.level < 0 || o.level > 9) {
    snprintf(errbuf, errlen, "deflate level %d out of range 1..9", o.level);
    return NULL;
  }
  if (!f && !mem) {
    snprintf(errbuf, errlen, "no output for the OCF writer");
    return NULL;
  }
  avro_schema_t s;
  if (avro_schema_from_json_length(schema, strlen(schema), &s) != 0) {
    snprintf(errbuf, errlen, "invalid writer schema: %s", avro_strerror());
    return NULL;
  }
  avro_schema_decref(s);

  ccp_ocf_writer_t *w = ccp_calloc(1, sizeof *w);
  w->f = f;
  w->mem = f ? NULL : mem;
  w->codec = o.codec;
  w->level = o.level ? o.level : Z_DEFAULT_COMPRESSION;
  w->block_bytes = o.block_bytes ? o.block_bytes : 64 * 1024;
  w->v1 = schema == ccp_avro_schema_v1 || strcmp(schema, ccp_avro_schema_v1) == 0;
  ccp_buf_init(&w->blk);
  ccp_buf_init(&w->out);
  if (o.sync) {
    memcpy(w->sync, o.sync, SYNC_LEN);
  } else {
    uint64_t h1 = ccp_hash64(schema, strlen(schema), 0x6f63665f73796e63ULL);
    uint64_t h2 = ccp_hash64(codec, strlen(codec), h1);
    memcpy(w->sync, &h1, 8);
    memcpy(w->sync + 8, &h2, 8);
  }

  ccp_buf_t *b = &w->out;
  ccp_buf_append(b, CCP_OCF_MAGIC, 4);
  buf_long(b, 2);
  buf_bytes(b, "avro.schema", 11);
  buf_bytes(b, schema, strlen(schema));
  buf_bytes(b, "avro.codec", 10);
  buf_bytes(b, codec, strlen(codec));
  buf_long(b, 0);
  ccp_buf_append(b, w->sync, SYNC_LEN);
  w_emit(w, b->data, b->len);
  ccp_buf_clear(b);
  if (w->err) {
    snprintf(errbuf, errlen, "cannot write the OCF header: %s", strerror(errno));
    ccp_buf_release(&w->blk);
    ccp_buf_release(&w->out);
    ccp_free(w);
    return NULL;
  }
  return w;
}

int ccp_ocf_writer_flush(ccp_ocf_writer_t *w) {
  if (w->count == 0 || w->err)
    return w->err;
  ccp_buf_t *b = &w->out;
  ccp_buf_clear(b);
  buf_long(b, w->count);
  if (w->codec == CCP_OCF_DEFLATE) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, w->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      CCP_ASSERT(!"deflateInit2 failed");
    CCP_ASSERT(w->blk.len < (1u << 30)); /* block sizes are small: one zlib call */
    uLong bound = deflateBound(&zs, (uLong)w->blk.len);
    uint8_t *tmp = ccp_malloc(bound);
    zs.next_in = (Bytef *)w->blk.data;
    zs.avail_in = (uInt)w->blk.len;
    zs.next_out = tmp;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    CCP_ASSERT(rc == Z_STREAM_END);
    size_t n = bound - zs.avail_out;
    deflateEnd(&zs);
    buf_bytes(b, tmp, n);
    ccp_free(tmp);
  } else {
    buf_bytes(b, w->blk.data, w->blk.len);
  }
  ccp_buf_append(b, w->sync, SYNC_LEN);
  w_emit(w, b->data, b->len);
  ccp_buf_clear(b);
  ccp_buf_clear(&w->blk);
  w->count = 0;
  return w->err;
}

int ccp_ocf_writer_append_raw(ccp_ocf_writer_t *w, const void *rec, size_t len) {
  if (w->err)
    return w->err;
  ccp_buf_append(&w->blk, rec, len);
  w->count++;
  if (w->blk.len >= w->block_bytes)
    return ccp_ocf_writer_flush(w);
  return 0;
}

int ccp_ocf_writer_append(ccp_ocf_writer_t *w, const ccp_event_t *ev) {
  if (!w->v1)
    return -CCP_ESCHEMA;
  if (w->err)
    return w->err;
  int rc = ccp_avro_encode(ev, &w->blk);
  if (rc)
    return rc;
  w->count++;
  if (w->blk.len >= w->block_bytes)
    return ccp_ocf_writer_flush(w);
  return 0;
}

int ccp_ocf_writer_close(ccp_ocf_writer_t *w) {
  if (!w)
    return 0;
  int rc = ccp_ocf_writer_flush(w);
  if (!rc && w->f && fflush(w->f) != 0)
    rc = -CCP_EIO;
  ccp_buf_release(&w->blk);
  ccp_buf_release(&w->out);
  ccp_free(w);
  return rc;
}
