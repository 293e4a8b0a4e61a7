/*
 * ccpulse — Avro Object Container Files (OCF, Avro 1.11 spec "Object
 * Container Files"): a reader that yields TicketEvents from a file or from
 * bytes in memory, and a writer.
 *
 * Reader: checks the magic "Obj\x01", reads the header metadata map
 * (avro.schema required, avro.codec "null" or "deflate"; any other codec is
 * refused by name), the 16-byte sync marker, then walks the blocks: object
 * count, byte size, data, sync marker. Every count and size is checked
 * against the bytes left; deflate blocks are inflated (zlib raw inflate) into
 * one reusable buffer, refusing more than CCP_OCF_MAX_BLOCK bytes. Records are
 * decoded with the compiled decoder of decode.h built from the file's own
 * writer schema (so v1, v2 or any compatible schema reads). Messages name the
 * file, the block (0-based, with its byte offset) and the record:
 * "events.avro: block 2 (offset 4711), record 17: truncated record at byte 9
 * (field 'queue')".
 *
 * Writer: v1 schema by default (or any schema for pre-encoded records), codec
 * null or deflate, blocks cut when their uncompressed size reaches the block
 * size. The sync marker is derived from the schema and codec unless given,
 * so the same events give the same bytes.
 *
 * Threads: a reader or writer belongs to one thread.
 */
#ifndef CCPULSE_OCF_H
#define CCPULSE_OCF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ccpulse/buf.h"
#include "ccpulse/common.h"
#include "ccpulse/decode.h"
#include "ccpulse/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The four bytes every OCF starts with. */
#define CCP_OCF_MAGIC "Obj\x01"
/** Largest decompressed block the reader accepts (bytes). */
#define CCP_OCF_MAX_BLOCK (256u << 20)

/** Block codecs. */
typedef enum ccp_ocf_codec {
  CCP_OCF_NULL = 0,   /**< "null": blocks stored as is */
  CCP_OCF_DEFLATE = 1 /**< "deflate": RFC 1951 raw deflate */
} ccp_ocf_codec_t;

/** Parses a codec name ("null", "deflate"); returns the codec or -1. */
int ccp_ocf_codec_parse(const char *name);
/** Name of a codec, or NULL. */
const char *ccp_ocf_codec_name(int codec);

/* ---- reader ------------------------------------------------------------- */

typedef struct ccp_ocf_reader ccp_ocf_reader_t;

/** Where the last record came from. */
typedef struct ccp_ocf_record {
  const uint8_t *data; /**< the record's bytes (in the reader's buffers) */
  size_t len;          /**< its length */
  int64_t block;       /**< block index, 0-based */
  int64_t in_block;    /**< record index within the block, 0-based */
  int64_t index;       /**< record index within the file, 0-based */
} ccp_ocf_record_t;

/**
 * Opens a file: reads it whole into memory and parses the header. Returns
 * NULL with errbuf "events.avro: ..." when it cannot be read, is not an OCF,
 * uses another codec, or its schema cannot be resolved against ours.
 */
ccp_ocf_reader_t *ccp_ocf_reader_open(const char *path, char *errbuf, size_t errlen);

/**
 * Like ccp_ocf_reader_open() over bytes in memory (borrowed: they must
 * outlive the reader). `name` is copied and used in messages.
 */
ccp_ocf_reader_t *ccp_ocf_reader_new_mem(const void *data, size_t len, const char *name,
                                         char *errbuf, size_t errlen);

/** Frees the reader (and the file bytes it read). */
void ccp_ocf_reader_free(ccp_ocf_reader_t *r);

/**
 * Decodes the next record into ev. Returns 0; -CCP_EEOF after the last
 * block; -CCP_EPARSE with errbuf naming file, block and record. `rec` (may be
 * NULL) receives where it came from. ev's string views point into the
 * reader's buffers and stay valid until the next call.
 */
int ccp_ocf_reader_next(ccp_ocf_reader_t *r, ccp_event_t *ev, ccp_ocf_record_t *rec, char *errbuf,
                        size_t errlen);

/** The writer schema JSON from the header (not NUL-terminated; *len set). */
const char *ccp_ocf_reader_schema(const ccp_ocf_reader_t *r, size_t *len);
/** The file's codec. */
int ccp_ocf_reader_codec(const ccp_ocf_reader_t *r);

/* ---- writer ------------------------------------------------------------- */

typedef struct ccp_ocf_writer ccp_ocf_writer_t;

/** Writer options; zero-initialised means v1 schema, null codec, 64 KiB. */
typedef struct ccp_ocf_writer_opts {
  const char *schema_json; /**< writer schema; NULL = ccp_avro_schema_v1 */
  int codec;               /**< ccp_ocf_codec_t */
  size_t block_bytes;      /**< cut a block at this uncompressed size; 0 = 64 KiB */
  int level;               /**< deflate level 1..9; 0 = zlib default */
  const uint8_t *sync;     /**< 16 bytes; NULL = derived from schema and codec */
} ccp_ocf_writer_opts_t;

/**
 * Creates a writer that writes to f (borrowed, not closed) or, when f is
 * NULL, appends to mem (borrowed). Writes the header at once. Returns NULL
 * with errbuf on a bad option or a failed write.
 */
ccp_ocf_writer_t *ccp_ocf_writer_new(FILE *f, ccp_buf_t *mem, const ccp_ocf_writer_opts_t *opts,
                                     char *errbuf, size_t errlen);

/** Appends ev encoded with the v1 schema (the writer's schema must be v1). */
int ccp_ocf_writer_append(ccp_ocf_writer_t *w, const ccp_event_t *ev);

/** Appends one record already encoded with the writer's schema. */
int ccp_ocf_writer_append_raw(ccp_ocf_writer_t *w, const void *rec, size_t len);

/** Ends the current block (if any records are pending). 0 or -CCP_EIO. */
int ccp_ocf_writer_flush(ccp_ocf_writer_t *w);

/**
 * Flushes, frees the writer and reports whether every write succeeded
 * (0 or -CCP_EIO). The FILE is not closed.
 */
int ccp_ocf_writer_close(ccp_ocf_writer_t *w);

#ifdef __cplusplus
}
#endif
#endif
