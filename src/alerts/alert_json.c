/*
 * Alert JSON for engine deadline alerts (sla_at_risk, sla_breach), and the
 * line splitter shared by the rule evaluator and the publisher's callers.
 *
 * The id "<type>:<ticket_id>:<opened_ms>:<at_ms>" is a pure function of
 * what the alert is about: which deadline (at-risk point or breach) of which
 * ticket life. A life is known by its open time and threshold (both fixed
 * when the open time becomes known), which opened_ms and at_ms together
 * give (at_ms - opened_ms is the threshold or its at-risk part), so the
 * deadlines of a ticket id opened again (a new life) never share an id with
 * the old ones unless that life opened at the same millisecond with the same
 * threshold, i.e. its deadlines are the same moments. Fields that depend on
 * when the alert fired (now_ms, the current queue, channel and agent) stay
 * out: a deadline re-fired after a restart from a checkpoint, a re-read, or
 * a second instance carries the same id, and the publisher writes it once
 * (docs/redis.md). ticket_id may hold ':' (the two numbers after it are
 * always last). Pure functions; any thread.
 */
#include <string.h>

#include "ccpulse/alerts.h"

static void put_cstr(ccp_buf_t *b, const char *s) {
  if (s)
    ccp_buf_put_json_str(b, s, strlen(s));
  else
    ccp_buf_puts(b, "null");
}

static const char *type_name(const ccp_alert_t *a) {
  return a->kind == CCP_ALERT_SLA_BREACH ? "sla_breach" : "sla_at_risk";
}

void ccp_alert_id(const ccp_alert_t *a, ccp_buf_t *out) {
  ccp_buf_puts(out, type_name(a));
  ccp_buf_putc(out, ':');
  ccp_buf_puts(out, a->ticket_id ? a->ticket_id : "");
  ccp_buf_putc(out, ':');
  ccp_buf_put_i64(out, a->opened_ms);
  ccp_buf_putc(out, ':');
  ccp_buf_put_i64(out, a->at_ms);
}

void ccp_alert_json(const ccp_alert_t *a, ccp_buf_t *out) {
  const char *type = type_name(a);
  ccp_buf_t id;
  ccp_buf_init(&id);
  ccp_alert_id(a, &id);

  ccp_buf_puts(out, "{\"id\":");
  ccp_buf_put_json_str(out, id.data, id.len);
  ccp_buf_puts(out, ",\"type\":\"");
  ccp_buf_puts(out, type);
  ccp_buf_puts(out, "\",\"ticket_id\":");
  put_cstr(out, a->ticket_id);
  ccp_buf_puts(out, ",\"queue\":");
  put_cstr(out, a->queue);
  ccp_buf_puts(out, ",\"channel\":");
  put_cstr(out, ccp_channel_name(a->channel));
  ccp_buf_puts(out, ",\"agent_id\":");
  put_cstr(out, a->agent_id);
  ccp_buf_puts(out, ",\"at_ms\":");
  ccp_buf_put_i64(out, a->at_ms);
  ccp_buf_puts(out, ",\"now_ms\":");
  ccp_buf_put_i64(out, a->now_ms);
  ccp_buf_puts(out, ",\"opened_ms\":");
  ccp_buf_put_i64(out, a->opened_ms);
  ccp_buf_puts(out, ",\"threshold_ms\":");
  ccp_buf_put_i64(out, a->threshold_ms);
  ccp_buf_putc(out, '}');
  ccp_buf_release(&id);
}

size_t ccp_alert_lines_each(const ccp_buf_t *lines,
                            void (*fn)(void *opaque, const char *line, size_t len), void *opaque) {
  size_t n = 0;
  if (!lines->data) /* never written to: NULL + 0 is undefined behaviour */
    return 0;
  const char *p = lines->data, *end = lines->data + lines->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    if (e > p) {
      fn(opaque, p, (size_t)(e - p));
      n++;
    }
    p = nl ? nl + 1 : end;
  }
  return n;
}
