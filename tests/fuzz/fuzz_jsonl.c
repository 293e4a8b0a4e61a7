/*
 * Fuzz target: the JSON Lines reader (src/decode/jsonl.c) over a whole
 * input file, as `ccpulse replay` reads one: line splitting (LF, CRLF, blank
 * lines, no final newline), JSON parsing, field checks. Bad lines are
 * stepped over so that the lines after them are read too.
 *
 * Checked besides memory safety: a bad line is -CCP_EPARSE with a message
 * naming the file and line; every event read is written back by
 * ccp_jsonl_write() into a line that reads as the same event, and survives
 * the v1 Avro encoder and decoder.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0; /* fmemopen refuses an empty buffer */
  FILE *f = fmemopen((void *)data, size, "r");
  FZ_CHECK(f != NULL);
  ccp_jsonl_reader_t *r = ccp_jsonl_reader_new(f, "fuzz.jsonl");
  ccp_jsonl_reader_t *back = ccp_jsonl_reader_new(NULL, "back");
  ccp_buf_t line;
  ccp_buf_init(&line);
  char err[CCP_ERRBUF_SIZE];
  for (int guard = 0; guard < 100000; guard++) {
    ccp_event_t ev, ev2;
    err[0] = 0;
    int rc = ccp_jsonl_reader_next(r, &ev, err, sizeof err);
    if (rc == -CCP_EEOF)
      break;
    if (rc != 0) {
      FZ_CHECK(rc == -CCP_EPARSE);
      FZ_CHECK(strncmp(err, "fuzz.jsonl:", 11) == 0);
      continue;
    }
    line.len = 0;
    ccp_jsonl_write(&ev, &line);
    int rc2 = ccp_jsonl_reader_decode_line(back, line.data, line.len, &ev2, err, sizeof err);
    if (rc2 != 0)
      fprintf(stderr, "fuzz: written line '%s' does not read: %s\n", line.data, err);
    FZ_CHECK(rc2 == 0);
    FZ_CHECK(fz_event_eq(&ev, &ev2));
    fz_check_v1_roundtrip(&ev);
  }
  ccp_buf_release(&line);
  ccp_jsonl_reader_free(back);
  ccp_jsonl_reader_free(r);
  fclose(f);
  return 0;
}
