/*
 * Fuzz target: the Avro object container file reader (src/decode/ocf.c) over
 * bytes in memory, as `ccpulse replay` and `convert` read a file: header
 * (magic, metadata map, the file's own writer schema, codec null or deflate,
 * sync marker), then every block and record until the end or an error.
 *
 * Checked besides memory safety: an error is sticky (the next call repeats
 * it); each record's bytes lie inside the container or the inflated block
 * and decode alone to the same event; record indexes count up from 0.
 */
#include "ccpulse/ocf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[CCP_ERRBUF_SIZE] = "";
  ccp_ocf_reader_t *r = ccp_ocf_reader_new_mem(data, size, "fuzz.avro", err, sizeof err);
  if (!r) {
    FZ_CHECK(err[0] != 0);
    return 0;
  }
  size_t slen;
  const char *schema = ccp_ocf_reader_schema(r, &slen);
  ccp_avro_decoder_t *own = ccp_avro_decoder_new(schema, slen, err, sizeof err);
  FZ_CHECK(own != NULL); /* the reader compiled the same schema */
  int rc;
  int64_t n = 0;
  ccp_event_t ev, ev2;
  ccp_ocf_record_t rec;
  while ((rc = ccp_ocf_reader_next(r, &ev, &rec, err, sizeof err)) == 0) {
    FZ_CHECK(rec.index == n);
    FZ_CHECK(ccp_avro_decode(own, rec.data, rec.len, &ev2, NULL, 0) == 0);
    FZ_CHECK(fz_event_eq(&ev, &ev2));
    n++;
  }
  if (rc != -CCP_EEOF) {
    FZ_CHECK(err[0] != 0);
    char again[CCP_ERRBUF_SIZE] = "";
    FZ_CHECK(ccp_ocf_reader_next(r, &ev, &rec, again, sizeof again) == rc);
    FZ_CHECK(strcmp(err, again) == 0);
  }
  ccp_avro_decoder_free(own);
  ccp_ocf_reader_free(r);
  return 0;
}
