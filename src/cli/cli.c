/*
 * Helpers shared by the subcommands: the table-driven option parser and
 * help writer (ccp_cli_parse, ccp_cli_usage), the value parsers of the
 * tables, configuration loading in the documented order, and the producer
 * helpers of gen, produce and demo. Main thread only, except
 * ccp_cli_on_delivery (librdkafka's poll) and ccp_cli_produce_event (the
 * producing thread: demo's generator thread).
 */
#include "cli.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/buf.h"
#include "ccpulse/consumer.h"
#include "ccpulse/decode.h"
#include "ccpulse/libversions.h"
#include "ccpulse/log.h"
#include "ccpulse/tz.h"
#include "ccpulse/version.h"

/* Help layout: option column from 2, text from column HELP_COL. */
#define HELP_COL 20
#define WRAP_COL 80

/* ------------------------------------------------------------ parsing */

static int usage_error(const ccp_cli_spec_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const ccp_cli_spec_t *s, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ccp_log(CCP_LOG_ERROR, s->name, "%s", msg);
  fprintf(stderr, "Try 'ccpulse %s --help'.\n", s->name);
  return CCP_EXIT_USAGE;
}

/* The row whose name is arg or the part of arg before '='; NULL if none. */
static const ccp_cli_opt_t *find_opt(const ccp_cli_spec_t *s, const char *arg) {
  for (size_t i = 0; i < s->nopts; i++) {
    size_t n = strlen(s->opts[i].name);
    if (strncmp(arg, s->opts[i].name, n) == 0 && (arg[n] == '\0' || arg[n] == '='))
      return &s->opts[i];
  }
  return NULL;
}

int ccp_cli_parse(const ccp_cli_spec_t *s, int argc, char **argv, void *args) {
  ccp_cli_args_t *a = args;
  a->spec = s;
  a->operands = ccp_calloc((size_t)argc + 1, sizeof *a->operands);
  int only_operands = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (only_operands || arg[0] != '-' || strcmp(arg, "-") == 0) {
      a->operands[a->noperands++] = argv[i];
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_operands = 1;
      continue;
    }
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      ccp_cli_usage(s, stdout);
      return CCP_EXIT_OK;
    }
    const ccp_cli_opt_t *o = find_opt(s, arg);
    if (!o) /* `--redis=redis://:pw@host` to a command without --redis: the name only */
      return usage_error(s, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
    const char *eq = strchr(arg, '='), *value = NULL;
    if (!o->arg) {
      if (eq)
        return usage_error(s, "option %s takes no value", o->name);
    } else if (eq) {
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return usage_error(s, "option %s needs a value", o->name);
    }
    char err[256] = "";
    if (o->key) {
      ccp_cli_args_add_set(a, o->key, value);
      a->set_from[a->nsets - 1] = o->name; /* named in conflict messages */
    } else if (o->parse(o, value, (char *)args + o->off, err, sizeof err) != 0) {
      return usage_error(s, "%s '%s': %s", o->name, value ? value : "", err);
    }
  }
  if (a->noperands < s->min_operands)
    return usage_error(s, "%s", s->missing ? s->missing : "missing arguments");
  if (s->max_operands >= 0 && a->noperands > s->max_operands)
    return usage_error(s, s->max_operands ? "too many arguments" : "unexpected argument '%s'",
                       a->operands[s->max_operands]);
  return CCP_CLI_RUN;
}

void ccp_cli_args_release(ccp_cli_args_t *a) {
  for (int i = 0; i < a->nsets; i++)
    ccp_free(a->sets[i]);
  ccp_free(a->sets);
  ccp_free(a->set_from);
  a->set_from = NULL;
  ccp_free(a->operands);
  a->sets = a->operands = NULL;
  a->nsets = a->sets_cap = a->noperands = 0;
}

void ccp_cli_args_add_set(ccp_cli_args_t *a, const char *key, const char *value) {
  if (a->nsets == a->sets_cap) {
    a->sets_cap = a->sets_cap ? 2 * a->sets_cap : 8;
    a->sets = ccp_realloc(a->sets, (size_t)a->sets_cap * sizeof *a->sets);
    a->set_from = ccp_realloc(a->set_from, (size_t)a->sets_cap * sizeof *a->set_from);
  }
  a->set_from[a->nsets] = NULL;
  size_t n = (key ? strlen(key) + 1 : 0) + strlen(value) + 1;
  char *s = ccp_malloc(n);
  snprintf(s, n, "%s%s%s", key ? key : "", key ? "=" : "", value);
  a->sets[a->nsets++] = s;
}

/* --------------------------------------------------------------- help */

/* Writes text from the current column `col`, continuation lines indented
 * to HELP_COL. */
static void put_help(FILE *out, const char *left, const char *text) {
  int n = fprintf(out, "  %s", left);
  if (n >= HELP_COL) {
    fputc('\n', out);
    n = 0;
  }
  fprintf(out, "%*s", HELP_COL - n, "");
  for (const char *p = text; *p; p++) {
    fputc(*p, out);
    if (*p == '\n')
      fprintf(out, "%*s", HELP_COL, "");
  }
  fputc('\n', out);
}

void ccp_cli_usage(const ccp_cli_spec_t *s, FILE *out) {
  int col = fprintf(out, "usage: ccpulse %s", s->name), indent = col + 1;
  char item[128];
  for (size_t i = 0; i <= s->nopts; i++) {
    if (i < s->nopts) {
      const ccp_cli_opt_t *o = &s->opts[i];
      snprintf(item, sizeof item, "[%s%s%s]%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
               o->repeat ? "..." : "");
    } else if (s->operands) {
      snprintf(item, sizeof item, "%s", s->operands);
    } else {
      break;
    }
    int len = (int)strlen(item);
    if (col + 1 + len > WRAP_COL) {
      fprintf(out, "\n%*s", indent - 1, "");
      col = indent - 1;
    }
    col += fprintf(out, " %s", item);
  }
  fprintf(out, "\n\n%s\n", s->about);
  if (s->operand_help || s->nopts)
    fputc('\n', out);
  if (s->operand_help) {
    const char *sp = strchr(s->operand_help, ' ');
    char left[64];
    snprintf(left, sizeof left, "%.*s", (int)(sp - s->operand_help), s->operand_help);
    put_help(out, left, sp + strspn(sp, " "));
  }
  for (size_t i = 0; i < s->nopts; i++) {
    const ccp_cli_opt_t *o = &s->opts[i];
    snprintf(item, sizeof item, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    put_help(out, item, o->help);
  }
  if (s->epilog)
    fprintf(out, "\n%s\n", s->epilog);
}

/* ------------------------------------------------------- value parsers */

int ccp_cli_str(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen) {
  *(const char **)target = value;
  return 0;
}

int ccp_cli_flag(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                 size_t errlen) {
  *(int *)target = 1;
  return 0;
}

int ccp_cli_set(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen) {
  const char *eq = strchr(value, '=');
  if (!eq || eq == value) {
    snprintf(err, errlen, "expected key=value");
    return -1;
  }
  ccp_cli_args_add_set(target, NULL, value);
  return 0;
}

int ccp_cli_u64(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(value, &end, 10);
  if (!*value || value[0] == '-' || errno || *end) {
    snprintf(err, errlen, "expected a number");
    return -1;
  }
  *(uint64_t *)target = n;
  return 0;
}

int ccp_cli_int(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen) {
  char *end;
  errno = 0;
  long long n = strtoll(value, &end, 10);
  if (!*value || *end || errno || n < o->lo || n > o->hi) {
    snprintf(err, errlen, "expected %lld..%lld", (long long)o->lo, (long long)o->hi);
    return -1;
  }
  *(int64_t *)target = n;
  return 0;
}

int ccp_cli_frac(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                 size_t errlen) {
  char *end;
  double d = strtod(value, &end);
  if (!*value || *end || !(d >= 0 && d <= 1)) {
    snprintf(err, errlen, "expected a fraction 0..1");
    return -1;
  }
  *(double *)target = d == 0 ? -1 : d;
  return 0;
}

int ccp_cli_duration(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                     size_t errlen) {
  int64_t ms;
  if (ccp_parse_duration(value, &ms) != 0 || ms <= 0) {
    snprintf(err, errlen, "expected a positive duration (e.g. 30s, 5m)");
    return -1;
  }
  *(int64_t *)target = ms;
  return 0;
}

int ccp_cli_schema_id(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                      size_t errlen) {
  ccp_cli_opt_t r = *o;
  r.lo = 0;
  r.hi = UINT32_MAX;
  if (ccp_cli_int(&r, value, target, err, errlen) != 0) {
    snprintf(err, errlen, "expected a schema id 0..4294967295");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------- configuration */

int ccp_cli_load_config(ccp_config_t *cfg, const ccp_cli_args_t *a) {
  char err[CCP_ERRBUF_SIZE];
  const char *name = a->spec->name;
  ccp_config_init(cfg);
  if (a->config_file && ccp_config_load_file(cfg, a->config_file, err, sizeof err) != 0)
    goto fail;
  if (ccp_config_load_env(cfg, err, sizeof err) != 0)
    goto fail;
  /* the command's own settings, then the user's, each "key=value" */
  int nown = 0;
  while (a->spec->config_sets && a->spec->config_sets[nown])
    nown++;
  for (int i = 0; i < nown + a->nsets; i++) {
    const char *kv = i < nown ? a->spec->config_sets[i] : a->sets[i - nown];
    const char *eq = strchr(kv, '=');
    char *key = ccp_strndup(kv, (size_t)(eq - kv));
    const char *from = i < nown ? name : a->set_from[i - nown] ? a->set_from[i - nown] : "--set";
    /* the user's flags: a key given again replaces, alerts.rules adds up */
    int again = 0;
    for (int j = nown; j < i && !again; j++)
      again = strncmp(a->sets[j - nown], kv, (size_t)(eq - kv + 1)) == 0;
    int rc = again ? ccp_config_append(cfg, key, eq + 1, from, err, sizeof err)
                   : ccp_config_set(cfg, key, eq + 1, from, err, sizeof err);
    ccp_free(key);
    if (rc != 0)
      goto fail;
  }
  if (ccp_config_finish(cfg, err, sizeof err) != 0)
    goto fail;
  ccp_config_apply_log(cfg);
  if (ccp_tz_use(cfg->timezone, err, sizeof err) != 0) /* before any thread starts */
    goto fail;
  return 0;

fail:
  ccp_log(CCP_LOG_ERROR, name, "%s", err);
  ccp_config_release(cfg);
  return CCP_EXIT_USAGE;
}

void ccp_cli_log_startup(const ccp_config_t *cfg, const char *component) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_config_describe(cfg, &b); /* secrets masked */
  char libs[256];
  ccp_libversions_format(libs, sizeof libs);
  ccp_log_state(CCP_LOG_INFO, component, "ccpulse %s (%s) starting; config: %s", CCP_VERSION_STRING,
                libs, b.data ? b.data : "");
  ccp_buf_release(&b);
}

/* ------------------------------------------------------------ producing */

void ccp_cli_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  ccp_cli_delivery_t *st = opaque;
  (void)rk;
  if (m->err) {
    if (st->failed++ == 0)
      snprintf(st->first_error, sizeof st->first_error, "%s", rd_kafka_err2str(m->err));
  } else {
    st->delivered++;
  }
}

rd_kafka_t *ccp_cli_producer_new(const ccp_config_t *cfg, const char *const (*defaults)[2],
                                 size_t ndefaults, ccp_cli_delivery_t *st, const char *component) {
  char err[CCP_ERRBUF_SIZE];
  rd_kafka_conf_t *conf = ccp_kafka_conf_new(cfg, NULL, err, sizeof err);
  if (!conf) {
    ccp_log(CCP_LOG_ERROR, component, "%s", err);
    return NULL;
  }
  for (size_t t = 0; t < ndefaults; t++) { /* kafka.* keys given by the user win */
    int user = 0;
    for (int j = 0; j < cfg->nkafka_props; j++)
      user |= strcmp(cfg->kafka_props[j].key, defaults[t][0]) == 0;
    if (!user)
      rd_kafka_conf_set(conf, defaults[t][0], defaults[t][1], err, sizeof err);
  }
  rd_kafka_conf_set_dr_msg_cb(conf, ccp_cli_on_delivery);
  rd_kafka_conf_set_opaque(conf, st);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    ccp_log(CCP_LOG_ERROR, component, "cannot create a Kafka producer: %s", err);
  }
  return rk;
}

int ccp_cli_producer_flush(rd_kafka_t *rk, const char *topic, const ccp_cli_delivery_t *st,
                           unsigned long long sent, int timeout_ms, const char *component) {
  rd_kafka_resp_err_t fe = rd_kafka_flush(rk, timeout_ms);
  if (fe) {
    ccp_log(CCP_LOG_ERROR, component, "cannot deliver to '%s' within %d s: %s", topic,
            timeout_ms / 1000, rd_kafka_err2str(fe));
    return -1;
  }
  if (st->failed) {
    ccp_log(CCP_LOG_ERROR, component, "%ld of %llu events not delivered to '%s': %s", st->failed,
            sent, topic, st->first_error);
    return -1;
  }
  return 0;
}

int ccp_cli_produce_event(rd_kafka_t *rk, const char *topic, const ccp_event_t *ev,
                          int64_t schema_id, ccp_buf_t *scratch, char *err, size_t errlen) {
  ccp_buf_clear(scratch);
  if (schema_id >= 0)
    ccp_confluent_frame(scratch, (uint32_t)schema_id);
  if (ccp_avro_encode(ev, scratch) != 0) {
    snprintf(err, errlen, "cannot be encoded");
    return -1;
  }
  for (;;) {
    rd_kafka_resp_err_t e =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY((void *)ev->ticket_id.ptr, ev->ticket_id.len),
                          RD_KAFKA_V_VALUE(scratch->data, scratch->len), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
      return 0;
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      snprintf(err, errlen, "cannot produce to '%s': %s", topic, rd_kafka_err2str(e));
      return -1;
    }
    rd_kafka_poll(rk, 10); /* local queue full: let deliveries drain */
  }
}
