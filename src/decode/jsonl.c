/*
 * JSON Lines reader (one TicketEvent object per line) and writer.
 *
 * Each line is parsed with jansson into a document the reader keeps until the
 * next call: the event's string views point into it (no copy). Checks, in
 * field order of the schema: required fields present and of the right JSON
 * type, enums known, integers within their Avro type (int: 32 bits), optional
 * fields null or absent. Unknown fields are ignored, as an Avro reader skips
 * writer fields it does not know. Strings with an embedded NUL are refused by
 * jansson (the engine hands ids on as C strings).
 *
 * Messages: the reason alone from ccp_jsonl_reader_decode_line ("field
 * 'csat': expected integer or null"), prefixed with "name:LINE: " by
 * ccp_jsonl_reader_next.
 *
 * Threads: a reader belongs to one thread.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/decode.h"

struct ccp_jsonl_reader {
  FILE *f; /* borrowed */
  char *name;
  long line; /* lines read */
  char *buf; /* getline buffer */
  size_t cap;
  json_t *doc; /* document of the last event: its strings back the views */
};

ccp_jsonl_reader_t *ccp_jsonl_reader_new(FILE *f, const char *name) {
  ccp_jsonl_reader_t *r = ccp_calloc(1, sizeof *r);
  r->f = f;
  r->name = ccp_strdup(name ? name : "<stdin>");
  return r;
}

void ccp_jsonl_reader_free(ccp_jsonl_reader_t *r) {
  if (!r)
    return;
  json_decref(r->doc);
  free(r->buf); /* from getline: libc's malloc */
  ccp_free(r->name);
  ccp_free(r);
}

long ccp_jsonl_reader_line(const ccp_jsonl_reader_t *r) { return r->line; }

enum jkind { J_STR, J_OSTR, J_LONG, J_OLONG, J_OINT, J_TYPE, J_CHANNEL };

static const struct jfield {
  const char *name;
  uint8_t kind;
  uint16_t off;
} jfields[] = {
    {"event_id", J_STR, offsetof(ccp_event_t, event_id)},
    {"ticket_id", J_STR, offsetof(ccp_event_t, ticket_id)},
    {"type", J_TYPE, offsetof(ccp_event_t, type)},
    {"ts", J_LONG, offsetof(ccp_event_t, ts)},
    {"channel", J_CHANNEL, offsetof(ccp_event_t, channel)},
    {"queue", J_STR, offsetof(ccp_event_t, queue)},
    {"agent_id", J_OSTR, offsetof(ccp_event_t, agent_id)},
    {"customer_id", J_STR, offsetof(ccp_event_t, customer_id)},
    {"talk_ms", J_OLONG, offsetof(ccp_event_t, talk_ms)},
    {"hold_ms", J_OLONG, offsetof(ccp_event_t, hold_ms)},
    {"acw_ms", J_OLONG, offsetof(ccp_event_t, acw_ms)},
    {"csat", J_OINT, offsetof(ccp_event_t, csat)},
    {"nps", J_OINT, offsetof(ccp_event_t, nps)},
    {"ces", J_OINT, offsetof(ccp_event_t, ces)},
    {"category", J_OSTR, offsetof(ccp_event_t, category)},
    {"qa_errors", J_OINT, offsetof(ccp_event_t, qa_errors)},
};

static int is_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
      return 0;
  return 1;
}

/* Text of a JSON value's type for messages. */
static const char *jtype(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
    return "an integer";
  case JSON_REAL:
    return "a number with a fraction or exponent";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  default:
    return "null";
  }
}

int ccp_jsonl_reader_decode_line(ccp_jsonl_reader_t *r, const char *line, size_t len,
                                 ccp_event_t *ev, char *errbuf, size_t errlen) {
  char dummy[CCP_ERRBUF_SIZE];
  if (!errbuf || !errlen) {
    errbuf = dummy;
    errlen = sizeof dummy;
  }
  if (is_blank(line, len))
    return -CCP_EEOF;
  json_decref(r->doc);
  r->doc = NULL;
  json_error_t jerr;
  json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (!doc) {
    snprintf(errbuf, errlen, "invalid JSON at column %d: %s", jerr.column, jerr.text);
    return -CCP_EPARSE;
  }
  r->doc = doc;
  if (!json_is_object(doc)) {
    snprintf(errbuf, errlen, "expected a JSON object, got %s", jtype(doc));
    return -CCP_EPARSE;
  }
  ccp_event_clear(ev);
  char *base = (char *)ev;
  for (size_t i = 0; i < CCP_ARRAY_LEN(jfields); i++) {
    const struct jfield *f = &jfields[i];
    json_t *v = json_object_get(doc, f->name);
    int optional = f->kind == J_OSTR || f->kind == J_OLONG || f->kind == J_OINT;
    if (!v || json_is_null(v)) {
      if (optional)
        continue; /* the event was cleared to null */
      if (!v)
        snprintf(errbuf, errlen, "missing required field '%s'", f->name);
      else
        snprintf(errbuf, errlen, "field '%s': null but required", f->name);
      return -CCP_EPARSE;
    }
    switch (f->kind) {
    case J_STR:
    case J_OSTR: {
      if (!json_is_string(v)) {
        snprintf(errbuf, errlen, "field '%s': expected string%s, got %s", f->name,
                 optional ? " or null" : "", jtype(v));
        return -CCP_EPARSE;
      }
      ccp_str_t *s = (ccp_str_t *)(base + f->off);
      s->ptr = json_string_value(v);
      s->len = json_string_length(v);
      break;
    }
    case J_LONG:
    case J_OLONG:
      if (!json_is_integer(v)) {
        snprintf(errbuf, errlen, "field '%s': expected integer%s, got %s", f->name,
                 optional ? " or null" : "", jtype(v));
        return -CCP_EPARSE;
      }
      *(int64_t *)(base + f->off) = (int64_t)json_integer_value(v);
      if (f->kind == J_OLONG && *(int64_t *)(base + f->off) == CCP_NULL_I64) {
        snprintf(errbuf, errlen, "field '%s': %lld out of range", f->name,
                 (long long)json_integer_value(v));
        return -CCP_EPARSE;
      }
      break;
    case J_OINT: {
      if (!json_is_integer(v)) {
        snprintf(errbuf, errlen, "field '%s': expected integer or null, got %s", f->name, jtype(v));
        return -CCP_EPARSE;
      }
      json_int_t x = json_integer_value(v);
      /* INT32_MIN is our null marker: refuse it along with out-of-int values. */
      if (x <= INT32_MIN || x > INT32_MAX) {
        snprintf(errbuf, errlen, "field '%s': %lld out of int range", f->name, (long long)x);
        return -CCP_EPARSE;
      }
      *(int32_t *)(base + f->off) = (int32_t)x;
      break;
    }
    case J_TYPE:
    case J_CHANNEL: {
      const char *what = f->kind == J_TYPE ? "type" : "channel";
      if (!json_is_string(v)) {
        snprintf(errbuf, errlen, "field '%s': expected a %s symbol string, got %s", f->name, what,
                 jtype(v));
        return -CCP_EPARSE;
      }
      const char *sym = json_string_value(v);
      size_t n = json_string_length(v);
      int x = f->kind == J_TYPE ? ccp_event_type_parse(sym, n) : ccp_channel_parse(sym, n);
      if (x < 0) {
        snprintf(errbuf, errlen, "unknown %s symbol '%.*s'", what, (int)CCP_MIN(n, 64), sym);
        return -CCP_EPARSE;
      }
      *(uint8_t *)(base + f->off) = (uint8_t)x;
      break;
    }
    }
  }
  return 0;
}

int ccp_jsonl_reader_next(ccp_jsonl_reader_t *r, ccp_event_t *ev, char *errbuf, size_t errlen) {
  char dummy[CCP_ERRBUF_SIZE];
  if (!errbuf || !errlen) {
    errbuf = dummy;
    errlen = sizeof dummy;
  }
  if (!r->f)
    return -CCP_EEOF;
  for (;;) {
    errno = 0;
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    if (n < 0) {
      if (ferror(r->f)) {
        snprintf(errbuf, errlen, "%s:%ld: cannot read: %s", r->name, r->line + 1,
                 strerror(errno ? errno : EIO));
        return -CCP_EIO;
      }
      return -CCP_EEOF;
    }
    r->line++;
    size_t len = (size_t)n;
    while (len && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r'))
      len--;
    char why[CCP_ERRBUF_SIZE];
    int rc = ccp_jsonl_reader_decode_line(r, r->buf, len, ev, why, sizeof why);
    if (rc == -CCP_EEOF)
      continue; /* blank line */
    if (rc) {
      snprintf(errbuf, errlen, "%s:%ld: %s", r->name, r->line, why);
      return rc;
    }
    return 0;
  }
}

static void put_field_str(ccp_buf_t *b, const char *name, ccp_str_t s) {
  ccp_buf_printf(b, ",\"%s\":", name);
  ccp_buf_put_json_str(b, s.ptr ? s.ptr : "", s.len);
}

void ccp_jsonl_write(const ccp_event_t *ev, ccp_buf_t *b) {
  ccp_buf_puts(b, "{\"event_id\":");
  ccp_buf_put_json_str(b, ev->event_id.ptr ? ev->event_id.ptr : "", ev->event_id.len);
  put_field_str(b, "ticket_id", ev->ticket_id);
  const char *t = ccp_event_type_name(ev->type), *c = ccp_channel_name(ev->channel);
  ccp_buf_printf(b, ",\"type\":\"%s\",\"ts\":", t ? t : "?");
  ccp_buf_put_i64(b, ev->ts);
  ccp_buf_printf(b, ",\"channel\":\"%s\"", c ? c : "?");
  put_field_str(b, "queue", ev->queue);
  if (ev->agent_id.ptr)
    put_field_str(b, "agent_id", ev->agent_id);
  put_field_str(b, "customer_id", ev->customer_id);
  const struct {
    const char *n;
    int64_t v;
    int set;
  } nums[] = {{"talk_ms", ev->talk_ms, ev->talk_ms != CCP_NULL_I64},
              {"hold_ms", ev->hold_ms, ev->hold_ms != CCP_NULL_I64},
              {"acw_ms", ev->acw_ms, ev->acw_ms != CCP_NULL_I64},
              {"csat", ev->csat, ev->csat != CCP_NULL_I32},
              {"nps", ev->nps, ev->nps != CCP_NULL_I32},
              {"ces", ev->ces, ev->ces != CCP_NULL_I32}};
  for (size_t i = 0; i < CCP_ARRAY_LEN(nums); i++)
    if (nums[i].set) {
      ccp_buf_printf(b, ",\"%s\":", nums[i].n);
      ccp_buf_put_i64(b, nums[i].v);
    }
  if (ev->category.ptr)
    put_field_str(b, "category", ev->category);
  if (ev->qa_errors != CCP_NULL_I32) {
    ccp_buf_puts(b, ",\"qa_errors\":");
    ccp_buf_put_i64(b, ev->qa_errors);
  }
  ccp_buf_putc(b, '}');
}
