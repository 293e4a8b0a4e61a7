/*
 * Avro binary encoder for ccp_event_t (v1 schema) and the Confluent framing.
 *
 * The encoder reserves the worst case once (ccp_avro_encoded_max) and then
 * writes varints straight into the buffer: one possible realloc per call, and
 * none once the buffer has grown to the largest record. Used by the OCF
 * writer, `ccpulse convert`, the tests and the benchmarks.
 *
 * ccp_avro_schema_v1 must stay equal (avro_schema_equal) to
 * schemas/ticket_event.avsc; tests/test_avro_decode.c checks it.
 *
 * Threads: pure functions on caller-owned buffers.
 */
#include <string.h>

#include "ccpulse/decode.h"
#include "decode/avro_varint.h"

const char ccp_avro_schema_v1[] =
    "{\"type\":\"record\",\"name\":\"TicketEvent\",\"namespace\":\"ccpulse\",\"fields\":["
    "{\"name\":\"event_id\",\"type\":\"string\"},"
    "{\"name\":\"ticket_id\",\"type\":\"string\"},"
    "{\"name\":\"type\",\"type\":{\"type\":\"enum\",\"name\":\"EventType\",\"symbols\":["
    "\"OPENED\",\"ASSIGNED\",\"AGENT_REPLY\",\"CUSTOMER_REPLY\",\"TRANSFERRED\",\"HANDLED\","
    "\"RESOLVED\",\"REOPENED\",\"ABANDONED\",\"SURVEY\",\"QA_REVIEWED\"]}},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"channel\",\"type\":{\"type\":\"enum\",\"name\":\"Channel\",\"symbols\":["
    "\"PHONE\",\"CHAT\",\"EMAIL\",\"SOCIAL\"]}},"
    "{\"name\":\"queue\",\"type\":\"string\"},"
    "{\"name\":\"agent_id\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"customer_id\",\"type\":\"string\"},"
    "{\"name\":\"talk_ms\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"hold_ms\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"acw_ms\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"csat\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"nps\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"ces\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"category\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"qa_errors\",\"type\":[\"null\",\"int\"],\"default\":null}]}";

/* Worst case of the fixed part: 16 fields x (union byte + 10-byte varint). */
#define FIXED_MAX (16 * 11)

size_t ccp_avro_encoded_max(const ccp_event_t *ev) {
  return FIXED_MAX + ev->event_id.len + ev->ticket_id.len + ev->queue.len + ev->customer_id.len +
         (ev->agent_id.ptr ? ev->agent_id.len : 0) + (ev->category.ptr ? ev->category.len : 0);
}

#define put_long ccp__put_long

static inline uint8_t *put_str(uint8_t *p, ccp_str_t s) {
  p = put_long(p, (int64_t)s.len);
  if (s.len)
    memcpy(p, s.ptr, s.len);
  return p + s.len;
}

/* Optional string: union ["null","string"]. */
static inline uint8_t *put_ostr(uint8_t *p, ccp_str_t s) {
  if (!s.ptr) {
    *p++ = 0;
    return p;
  }
  *p++ = 2; /* zigzag(1) */
  return put_str(p, s);
}

static inline uint8_t *put_olong(uint8_t *p, int64_t v, int64_t null) {
  if (v == null) {
    *p++ = 0;
    return p;
  }
  *p++ = 2;
  return put_long(p, v);
}

int ccp_avro_encode(const ccp_event_t *ev, ccp_buf_t *out) {
  if (ev->type >= CCP_EV__COUNT || ev->channel >= CCP_CH__COUNT)
    return -CCP_EINVAL;
  const ccp_str_t *req[] = {&ev->event_id, &ev->ticket_id, &ev->queue, &ev->customer_id};
  for (size_t i = 0; i < CCP_ARRAY_LEN(req); i++)
    if (!req[i]->ptr && req[i]->len)
      return -CCP_EINVAL;
  size_t max = ccp_avro_encoded_max(ev);
  ccp_buf_reserve(out, max);
  uint8_t *start = (uint8_t *)out->data + out->len, *p = start;
  p = put_str(p, ev->event_id);
  p = put_str(p, ev->ticket_id);
  p = put_long(p, ev->type);
  p = put_long(p, ev->ts);
  p = put_long(p, ev->channel);
  p = put_str(p, ev->queue);
  p = put_ostr(p, ev->agent_id);
  p = put_str(p, ev->customer_id);
  p = put_olong(p, ev->talk_ms, CCP_NULL_I64);
  p = put_olong(p, ev->hold_ms, CCP_NULL_I64);
  p = put_olong(p, ev->acw_ms, CCP_NULL_I64);
  p = put_olong(p, ev->csat, CCP_NULL_I32);
  p = put_olong(p, ev->nps, CCP_NULL_I32);
  p = put_olong(p, ev->ces, CCP_NULL_I32);
  p = put_ostr(p, ev->category);
  p = put_olong(p, ev->qa_errors, CCP_NULL_I32);
  out->len += (size_t)(p - start);
  out->data[out->len] = 0;
  return 0;
}

int ccp_confluent_unframe(const void *msg, size_t len, uint32_t *schema_id, const uint8_t **payload,
                          size_t *payload_len) {
  const uint8_t *m = msg;
  if (len < CCP_CONFLUENT_HEADER || m[0] != 0)
    return -CCP_EPARSE;
  *schema_id = (uint32_t)m[1] << 24 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 8 | m[4];
  *payload = m + CCP_CONFLUENT_HEADER;
  *payload_len = len - CCP_CONFLUENT_HEADER;
  return 0;
}

void ccp_confluent_frame(ccp_buf_t *out, uint32_t schema_id) {
  uint8_t h[CCP_CONFLUENT_HEADER] = {0, (uint8_t)(schema_id >> 24), (uint8_t)(schema_id >> 16),
                                     (uint8_t)(schema_id >> 8), (uint8_t)schema_id};
  ccp_buf_append(out, h, sizeof h);
}
