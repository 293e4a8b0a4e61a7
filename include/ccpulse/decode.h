/*
 * ccpulse — decoding and encoding of ticket events (KPIS.md §1).
 *
 * Avro binary: ccp_avro_decoder_new() compiles ANY writer schema, resolved
 * against our reader fields (schemas/ticket_event.avsc) by field name, into a
 * small program. ccp_avro_decode() then runs it over one record: no malloc,
 * no Avro C call, every length checked against the bytes left before use.
 * Avro C only ever sees schema text (trusted configuration), never record
 * bytes: Avro C 1.11.1 hands negative lengths from crafted input to malloc.
 *
 * Resolution rules (Avro 1.11 spec, "Schema Resolution"):
 *  - writer fields the reader does not know are skipped (any type: records,
 *    arrays, maps, fixed, unions, recursive named types);
 *  - reader fields missing from the writer take their default (null); a
 *    missing required field (event_id, ticket_id, type, ts, channel, queue,
 *    customer_id) rejects the schema;
 *  - int is promoted to long; string and bytes read as each other;
 *  - enums must have the same (unqualified) name and are mapped by symbol
 *    name; a writer symbol we do not know fails the RECORD that uses it
 *    ("unknown channel symbol 'FAX'"), not the schema;
 *  - unions in any branch order on either side; a writer union branch the
 *    reader cannot read fails the record that selects it; a null branch for a
 *    required field likewise. A writer type no branch of which is readable
 *    rejects the schema. The top-level record name is not compared (a Kafka
 *    producer's record name is not ours to police).
 *
 * Decoded string views point into the input bytes (zero copy): they stay
 * valid as long as the caller keeps those bytes.
 *
 * Threads: a compiled decoder is immutable; any number of threads may call
 * ccp_avro_decode() on it at once. JSON Lines readers belong to one thread.
 */
#ifndef CCPULSE_DECODE_H
#define CCPULSE_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ccpulse/buf.h"
#include "ccpulse/common.h"
#include "ccpulse/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Avro binary -------------------------------------------------------- */

/** The v1 writer/reader schema (same as schemas/ticket_event.avsc), JSON. */
extern const char ccp_avro_schema_v1[];

/** A compiled writer-schema -> ccp_event_t program. Immutable once built. */
typedef struct ccp_avro_decoder ccp_avro_decoder_t;

/**
 * Compiles a writer schema (JSON text, need not be NUL-terminated). Returns
 * NULL and fills errbuf when the JSON is not a schema or cannot be resolved
 * against our reader ("writer schema has no field 'queue' (required)").
 */
ccp_avro_decoder_t *ccp_avro_decoder_new(const char *schema_json, size_t len, char *errbuf,
                                         size_t errlen);
/** Frees a decoder (NULL is fine). */
void ccp_avro_decoder_free(ccp_avro_decoder_t *d);

/**
 * Decodes exactly one record occupying [data, data+len) into ev. Returns 0,
 * or -CCP_EPARSE with errbuf holding the reason ("truncated record at byte
 * 17 (field 'queue')", "trailing bytes: 3 after the record end at byte 60").
 * ev's string views point into data. errbuf may be NULL.
 */
int ccp_avro_decode(const ccp_avro_decoder_t *d, const void *data, size_t len, ccp_event_t *ev,
                    char *errbuf, size_t errlen);

/**
 * Like ccp_avro_decode() but the record only has to start at data: *used
 * receives its length (how OCF blocks are walked: records are not framed).
 */
int ccp_avro_decode_prefix(const ccp_avro_decoder_t *d, const void *data, size_t len,
                           ccp_event_t *ev, size_t *used, char *errbuf, size_t errlen);

/** Most bytes ccp_avro_encode() appends for ev. */
size_t ccp_avro_encoded_max(const ccp_event_t *ev);

/**
 * Appends ev encoded with the v1 schema. Returns 0, or -CCP_EINVAL (nothing
 * appended) when type or channel is out of range or a required string view
 * has a NULL ptr with a non-zero length.
 */
int ccp_avro_encode(const ccp_event_t *ev, ccp_buf_t *out);

/* ---- Confluent wire format ---------------------------------------------- */

/** Bytes of the Confluent header: magic 0 + 4-byte big-endian schema id. */
#define CCP_CONFLUENT_HEADER 5

/**
 * Splits a Confluent-framed message into schema id and Avro payload (a view
 * into msg). Returns 0, or -CCP_EPARSE when it is shorter than the header or
 * the magic byte is not 0.
 */
int ccp_confluent_unframe(const void *msg, size_t len, uint32_t *schema_id, const uint8_t **payload,
                          size_t *payload_len);
/** Appends the Confluent header for schema_id (the payload follows). */
void ccp_confluent_frame(ccp_buf_t *out, uint32_t schema_id);

/* ---- JSON Lines --------------------------------------------------------- */

/**
 * Reads one event per line: a JSON object with the schema's field names,
 * enums as symbol strings, optional fields null or absent, `ts` an integer.
 * Unknown fields are ignored (a v2 producer's extra fields); blank lines are
 * skipped; CRLF is accepted. Owned by one thread.
 */
typedef struct ccp_jsonl_reader ccp_jsonl_reader_t;

/**
 * Creates a reader over f (borrowed: the caller closes it; NULL for a reader
 * fed only through ccp_jsonl_reader_decode_line). `name` is copied and used
 * in messages ("events.jsonl:12: ...").
 */
ccp_jsonl_reader_t *ccp_jsonl_reader_new(FILE *f, const char *name);
/** Frees the reader (not the FILE). */
void ccp_jsonl_reader_free(ccp_jsonl_reader_t *r);

/**
 * Reads the next event. Returns 0; -CCP_EEOF at the end; -CCP_EPARSE with
 * errbuf "name:LINE: reason" on a bad line; -CCP_EIO when reading fails.
 * ev's string views are valid until the next call on this reader.
 */
int ccp_jsonl_reader_next(ccp_jsonl_reader_t *r, ccp_event_t *ev, char *errbuf, size_t errlen);

/**
 * Decodes one line (without the newline) into ev; errbuf gets the bare reason
 * ("field 'csat': expected integer or null"). A blank line returns -CCP_EEOF.
 * String views are valid until the next call on this reader.
 */
int ccp_jsonl_reader_decode_line(ccp_jsonl_reader_t *r, const char *line, size_t len,
                                 ccp_event_t *ev, char *errbuf, size_t errlen);

/** Line number of the last line read (1-based; 0 before the first). */
long ccp_jsonl_reader_line(const ccp_jsonl_reader_t *r);

/** Appends ev as one JSON object (no newline), null fields left out. */
void ccp_jsonl_write(const ccp_event_t *ev, ccp_buf_t *out);

#ifdef __cplusplus
}
#endif
#endif
