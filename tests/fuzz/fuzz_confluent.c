/*
 * Fuzz target: a Kafka record value as the live pipeline reads it
 * (src/consume/worker.c): a Confluent frame (magic byte 0, 4-byte big-endian
 * schema id, Avro payload) decoded with the writer schema registered for the
 * id, or, when the first byte is not 0, a plain record of the configured
 * writer schema. The registry here: ids 1 (v1), 2 (v2), 3 (exotic),
 * 0xFFFFFFFF (minimal); the plain writer is v1.
 *
 * Checked besides memory safety: an unframed header is refused only when
 * shorter than 5 bytes; a frame re-made from its id is the message's first
 * 5 bytes; a decoded event survives the v1 encoder and decoder unchanged.
 */
#include "fuzz.h"

static const struct {
  uint32_t id;
  int schema;
} registry[] = {{1, 0}, {2, 1}, {3, 2}, {0xFFFFFFFFu, 3}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ccp_event_t ev;
  char err[CCP_ERRBUF_SIZE] = "";
  int rc;
  if (size > 0 && data[0] == 0) {
    uint32_t id;
    const uint8_t *payload;
    size_t plen;
    if (ccp_confluent_unframe(data, size, &id, &payload, &plen) != 0) {
      FZ_CHECK(size < CCP_CONFLUENT_HEADER);
      return 0;
    }
    FZ_CHECK(payload == data + CCP_CONFLUENT_HEADER && plen == size - CCP_CONFLUENT_HEADER);
    ccp_buf_t frame;
    ccp_buf_init(&frame);
    ccp_confluent_frame(&frame, id);
    FZ_CHECK(frame.len == CCP_CONFLUENT_HEADER && memcmp(frame.data, data, frame.len) == 0);
    ccp_buf_release(&frame);
    const ccp_avro_decoder_t *d = NULL;
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
      if (registry[i].id == id)
        d = fz_decoder(registry[i].schema);
    if (!d)
      return 0; /* unknown schema id: a dead letter */
    rc = ccp_avro_decode(d, payload, plen, &ev, err, sizeof err);
  } else {
    rc = ccp_avro_decode(fz_decoder(0), data, size, &ev, err, sizeof err);
  }
  if (rc != 0) {
    FZ_CHECK(err[0] != 0);
    return 0;
  }
  fz_check_v1_roundtrip(&ev);
  return 0;
}
