/*
 * Decode benchmark: typical TicketEvents (v1 schema) encoded once into memory,
 * then decoded repeatedly. Prints one JSON line per case:
 *   {"bench":"avro_decode","records":...,"ns_per_record":...,"mb_per_s":...}
 * Cases: single records through ccp_avro_decode (v1 writer and v2 writer),
 * the OCF reader over a null and a deflate container in memory, and the
 * encoder. Usage: bench_decode [records] [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccpulse/clock.h"
#include "ccpulse/decode.h"
#include "ccpulse/ocf.h"

/* A plausible event mix: ids of realistic length, agent on most events,
 * durations on HANDLED, survey answers on SURVEY. */
static ccp_event_t make_event(long i, char *ids) {
  static const char *queues[] = {"billing", "tech-support", "sales", "retention-priority"};
  ccp_event_t ev;
  ccp_event_clear(&ev);
  char *eid = ids, *tid = ids + 64, *aid = ids + 128, *cid = ids + 192;
  snprintf(eid, 64, "evt-%016lx", (unsigned long)i * 2654435761u);
  snprintf(tid, 64, "T-%08ld", i / 7);
  snprintf(aid, 64, "agent-%03ld", i % 250);
  snprintf(cid, 64, "cust-%07ld", (i / 7) % 500000);
  ev.event_id = (ccp_str_t){eid, strlen(eid)};
  ev.ticket_id = (ccp_str_t){tid, strlen(tid)};
  ev.customer_id = (ccp_str_t){cid, strlen(cid)};
  ev.queue = (ccp_str_t){queues[i % 4], strlen(queues[i % 4])};
  ev.type = (uint8_t)(i % 7 == 0   ? CCP_EV_OPENED
                      : i % 7 == 5 ? CCP_EV_HANDLED
                      : i % 7 == 6 ? CCP_EV_SURVEY
                                   : CCP_EV_AGENT_REPLY);
  ev.channel = (uint8_t)(i % CCP_CH__COUNT);
  ev.ts = 1795347112234LL + i * 37;
  if (ev.type != CCP_EV_OPENED)
    ev.agent_id = (ccp_str_t){aid, strlen(aid)};
  if (ev.type == CCP_EV_HANDLED) {
    ev.talk_ms = 180000 + i % 60000;
    ev.hold_ms = i % 30000;
    ev.acw_ms = 45000;
  }
  if (ev.type == CCP_EV_SURVEY) {
    ev.csat = 1 + (int)(i % 5);
    ev.nps = (int)(i % 11);
  }
  if (ev.type == CCP_EV_OPENED && i % 10 == 0)
    ev.category = (ccp_str_t){"complaint", 9};
  return ev;
}

static void report(const char *name, long records, double ns, size_t bytes) {
  printf("{\"bench\":\"%s\",\"records\":%ld,\"ns_per_record\":%.1f,\"mb_per_s\":%.1f}\n", name,
         records, ns / records, bytes / (ns / 1e9) / 1e6);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int rounds = argc > 2 ? atoi(argv[2]) : 10;
  ccp_buf_t data;
  ccp_buf_init(&data);
  size_t *off = malloc((n + 1) * sizeof *off);
  char ids[256];
  double t0;
  for (long i = 0; i < n; i++) {
    off[i] = data.len;
    ccp_event_t ev = make_event(i, ids);
    ccp_avro_encode(&ev, &data);
  }
  off[n] = data.len;

  char err[CCP_ERRBUF_SIZE];
  ccp_avro_decoder_t *d =
      ccp_avro_decoder_new(ccp_avro_schema_v1, strlen(ccp_avro_schema_v1), err, sizeof err);
  if (!d)
    return fprintf(stderr, "%s\n", err), 1;
  ccp_event_t ev;
  uint64_t sink = 0;
  double best = 1e300;

  /* encoder: re-encode the decoded events (views into data) */
  {
    ccp_event_t *evs = malloc(n * sizeof *evs);
    for (long i = 0; i < n; i++)
      ccp_avro_decode(d, data.data + off[i], off[i + 1] - off[i], &evs[i], NULL, 0);
    ccp_buf_t out;
    ccp_buf_init(&out);
    ccp_buf_reserve(&out, data.len + 1024);
    for (int r = 0; r < rounds; r++) {
      ccp_buf_clear(&out);
      t0 = (double)ccp_clock_mono_ns();
      for (long i = 0; i < n; i++)
        ccp_avro_encode(&evs[i], &out);
      double dt = (double)ccp_clock_mono_ns() - t0;
      if (dt < best)
        best = dt;
    }
    if (out.len != data.len || memcmp(out.data, data.data, data.len) != 0)
      return fprintf(stderr, "re-encoding differs\n"), 1;
    report("avro_encode", n, best, out.len);
    ccp_buf_release(&out);
    free(evs);
    best = 1e300;
  }
  for (int r = 0; r < rounds; r++) {
    t0 = (double)ccp_clock_mono_ns();
    for (long i = 0; i < n; i++) {
      if (ccp_avro_decode(d, data.data + off[i], off[i + 1] - off[i], &ev, err, sizeof err))
        return fprintf(stderr, "%s\n", err), 1;
      sink += (uint64_t)ev.ts + ev.queue.len;
    }
    double dt = (double)ccp_clock_mono_ns() - t0;
    if (dt < best)
      best = dt;
  }
  report("avro_decode_v1", n, best, data.len);

  /* same bytes, decoder compiled from a writer schema with one more field at
   * the end is not the same data; instead measure the v2 schema with the
   * language field appended to every record (null) */
  {
    char v2[4096];
    size_t l = strlen(ccp_avro_schema_v1);
    snprintf(v2, sizeof v2,
             "%.*s,{\"name\":\"language\",\"type\":[\"null\",\"string\"],\"default\":null}]}",
             (int)(l - 2), ccp_avro_schema_v1);
    ccp_avro_decoder_t *d2 = ccp_avro_decoder_new(v2, strlen(v2), err, sizeof err);
    if (!d2)
      return fprintf(stderr, "%s\n", err), 1;
    ccp_buf_t data2;
    ccp_buf_init(&data2);
    size_t *off2 = malloc((n + 1) * sizeof *off2);
    for (long i = 0; i < n; i++) {
      off2[i] = data2.len;
      ccp_buf_append(&data2, data.data + off[i], off[i + 1] - off[i]);
      ccp_buf_putc(&data2, 0);
    }
    off2[n] = data2.len;
    best = 1e300;
    for (int r = 0; r < rounds; r++) {
      t0 = (double)ccp_clock_mono_ns();
      for (long i = 0; i < n; i++) {
        if (ccp_avro_decode(d2, data2.data + off2[i], off2[i + 1] - off2[i], &ev, err, sizeof err))
          return fprintf(stderr, "%s\n", err), 1;
        sink += (uint64_t)ev.ts;
      }
      double dt = (double)ccp_clock_mono_ns() - t0;
      if (dt < best)
        best = dt;
    }
    report("avro_decode_v2_writer", n, best, data2.len);
    free(off2);
    ccp_buf_release(&data2);
    ccp_avro_decoder_free(d2);
  }

  for (int codec = 0; codec <= 1; codec++) {
    ccp_buf_t file;
    ccp_buf_init(&file);
    ccp_ocf_writer_opts_t o = {.codec = codec};
    ccp_ocf_writer_t *w = ccp_ocf_writer_new(NULL, &file, &o, err, sizeof err);
    for (long i = 0; i < n; i++)
      ccp_ocf_writer_append_raw(w, data.data + off[i], off[i + 1] - off[i]);
    ccp_ocf_writer_close(w);
    best = 1e300;
    for (int r = 0; r < rounds; r++) {
      t0 = (double)ccp_clock_mono_ns();
      ccp_ocf_reader_t *rd = ccp_ocf_reader_new_mem(file.data, file.len, "bench", err, sizeof err);
      if (!rd)
        return fprintf(stderr, "%s\n", err), 1;
      long k = 0;
      while (ccp_ocf_reader_next(rd, &ev, NULL, err, sizeof err) == 0) {
        sink += (uint64_t)ev.ts;
        k++;
      }
      ccp_ocf_reader_free(rd);
      if (k != n)
        return fprintf(stderr, "read %ld of %ld\n", k, n), 1;
      double dt = (double)ccp_clock_mono_ns() - t0;
      if (dt < best)
        best = dt;
    }
    report(codec ? "ocf_read_deflate" : "ocf_read_null", n, best, file.len);
    ccp_buf_release(&file);
  }
  fprintf(stderr, "(checksum %llu, %.1f bytes/record)\n", (unsigned long long)sink,
          (double)data.len / n);
  ccp_avro_decoder_free(d);
  free(off);
  ccp_buf_release(&data);
  return 0;
}
