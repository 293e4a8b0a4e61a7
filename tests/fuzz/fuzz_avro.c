/*
 * Fuzz target: the Avro binary decoder (src/decode/avro_decode.c) with
 * several writer schemas resolved against the v1 reader. The first byte
 * picks the writer schema (fuzz.h: v1, v2, an exotic schema with every Avro
 * type to skip, a minimal one of unions and promotions); the rest is one
 * record, as a Kafka value or an OCF block carries it.
 *
 * Checked besides memory safety: a failure is -CCP_EPARSE with a message; a
 * success decodes the same with ccp_avro_decode_prefix() using every byte,
 * and the event survives the v1 encoder and decoder unchanged.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int which = data[0] % FZ_NSCHEMAS;
  const ccp_avro_decoder_t *d = fz_decoder(which);
  const uint8_t *rec = data + 1;
  size_t len = size - 1;
  ccp_event_t ev, ev2;
  char err[CCP_ERRBUF_SIZE] = "";
  int rc = ccp_avro_decode(d, rec, len, &ev, err, sizeof err);
  size_t used = 0;
  char err2[CCP_ERRBUF_SIZE] = "";
  int rc2 = ccp_avro_decode_prefix(d, rec, len, &ev2, &used, err2, sizeof err2);
  if (rc != 0) {
    FZ_CHECK(rc == -CCP_EPARSE);
    FZ_CHECK(err[0] != 0);
    /* the prefix reader fails alike, or stops before the end (trailing bytes) */
    FZ_CHECK(rc2 != 0 ? err2[0] != 0 : used < len);
    return 0;
  }
  FZ_CHECK(rc2 == 0 && used == len);
  FZ_CHECK(fz_event_eq(&ev, &ev2));
  FZ_CHECK(ev.type < CCP_EV__COUNT && ev.channel < CCP_CH__COUNT);
  fz_check_v1_roundtrip(&ev);
  return 0;
}
