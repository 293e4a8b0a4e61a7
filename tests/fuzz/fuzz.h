/*
 * Helpers shared by the fuzz targets of tests/fuzz/ (header-only, static):
 * a check that aborts with a message (a failed property is a crash to
 * libFuzzer), the writer schemas the Avro targets decode with, and event
 * equality for the round-trip checks.
 *
 * Threads: libFuzzer and standalone.c call a target from one thread; the
 * lazily built decoders are process-wide and never freed (reachable, so not a
 * leak to LeakSanitizer).
 */
#ifndef CCP_FUZZ_H
#define CCP_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/decode.h"
#include "ccpulse/file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Aborts with file, line and the condition when c is false. */
#define FZ_CHECK(c)                                                                                \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "fuzz check failed (%s:%d): %s\n", __FILE__, __LINE__, #c);                  \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/** The writer schemas the Avro targets use, in the order fz_decoder() numbers them. */
static const char *const fz_schema_files[] = {
    NULL,                              /* 0: the built-in v1 (ccp_avro_schema_v1) */
    "schemas/ticket_event_v2.avsc",    /* 1: v2, one more optional field */
    "tests/fuzz/schemas/exotic.avsc",  /* 2: every Avro type, reordered, promoted */
    "tests/fuzz/schemas/minimal.avsc", /* 3: required fields only, unions, bytes */
};
#define FZ_NSCHEMAS ((int)(sizeof fz_schema_files / sizeof *fz_schema_files))

/** Reads a file of the source tree whole (NUL-terminated); aborts when it cannot. */
static inline char *fz_read_source(const char *rel, size_t *len) {
  char path[4096], err[CCP_ERRBUF_SIZE];
  snprintf(path, sizeof path, "%s/%s", CCP_FUZZ_SOURCE_DIR, rel);
  char *text = ccp_file_read(path, len, err, sizeof err);
  if (!text) {
    fprintf(stderr, "fuzz: %s\n", err);
    abort();
  }
  return text;
}

/** Schema text i (static for 0, else read once and kept). */
static inline const char *fz_schema(int i, size_t *len) {
  static char *text[FZ_NSCHEMAS];
  static size_t lens[FZ_NSCHEMAS];
  if (i == 0) {
    *len = strlen(ccp_avro_schema_v1);
    return ccp_avro_schema_v1;
  }
  if (!text[i])
    text[i] = fz_read_source(fz_schema_files[i], &lens[i]);
  *len = lens[i];
  return text[i];
}

/** The compiled decoder of schema i (built once, kept). */
static inline const ccp_avro_decoder_t *fz_decoder(int i) {
  static ccp_avro_decoder_t *dec[FZ_NSCHEMAS];
  if (!dec[i]) {
    char err[CCP_ERRBUF_SIZE];
    size_t len;
    const char *json = fz_schema(i, &len);
    if (!(dec[i] = ccp_avro_decoder_new(json, len, err, sizeof err))) {
      fprintf(stderr, "fuzz: schema %d: %s\n", i, err);
      abort();
    }
  }
  return dec[i];
}

static inline int fz_str_eq(ccp_str_t a, ccp_str_t b) {
  if (!a.ptr || !b.ptr)
    return !a.ptr && !b.ptr;
  return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/** 1 when two events carry the same values (strings by bytes, null as null). */
static inline int fz_event_eq(const ccp_event_t *a, const ccp_event_t *b) {
  return fz_str_eq(a->event_id, b->event_id) && fz_str_eq(a->ticket_id, b->ticket_id) &&
         a->type == b->type && a->ts == b->ts && a->channel == b->channel &&
         fz_str_eq(a->queue, b->queue) && fz_str_eq(a->agent_id, b->agent_id) &&
         fz_str_eq(a->customer_id, b->customer_id) && a->talk_ms == b->talk_ms &&
         a->hold_ms == b->hold_ms && a->acw_ms == b->acw_ms && a->csat == b->csat &&
         a->nps == b->nps && a->ces == b->ces && fz_str_eq(a->category, b->category) &&
         a->qa_errors == b->qa_errors;
}

/**
 * Checks that a decoded event survives the v1 encoder and decoder unchanged
 * (what `ccpulse convert` and `produce` rely on).
 */
static inline void fz_check_v1_roundtrip(const ccp_event_t *ev) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  FZ_CHECK(ccp_avro_encode(ev, &b) == 0);
  FZ_CHECK(b.len <= ccp_avro_encoded_max(ev));
  ccp_event_t back;
  char err[CCP_ERRBUF_SIZE];
  int rc = ccp_avro_decode(fz_decoder(0), b.data, b.len, &back, err, sizeof err);
  if (rc != 0)
    fprintf(stderr, "fuzz: re-encoded event does not decode: %s\n", err);
  FZ_CHECK(rc == 0);
  FZ_CHECK(fz_event_eq(ev, &back));
  ccp_buf_release(&b);
}

#endif
