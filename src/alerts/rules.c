/*
 * Threshold rules on windowed KPIs and gauges (KPIS.md §4, docs/alerts.md).
 *
 * A rule watches one value (KPI, scope, window) and has up to two levels,
 * warning and critical, each "OP threshold" with the same direction (both
 * "below" or both "above"), plus a hysteresis amount H >= 0. Each evaluation
 * computes the new level from the value and the current level:
 *   - a level is entered when the value crosses its threshold;
 *   - a level already held (or a lower one, when downgrading) is kept while
 *     the value has not gone back past its threshold by H;
 *   - a null value (no data) changes nothing.
 * A level change emits one alert line: "threshold" when entering or changing
 * level, "threshold_resolved" when going back to ok.
 *
 * The KPIs a rule may watch are the rows of the KPI table (src/kpi/kpi.h)
 * marked CCP_KPI_ALERT: the windowed KPIs and the gauges. A scope absent from
 * the view reads 0 for those that cannot be null (counts, count gauges).
 *
 * Threads: a rule set belongs to the thread that evaluates it; nothing here
 * is shared. Invariants: 1 <= nconds <= 2 per rule; conds[CCP_RULE_WARNING]
 * and conds[CCP_RULE_CRITICAL] use the same direction; critical is at least
 * as far on the alerting side as warning.
 */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/alerts.h"
#include "kpi/kpi.h"

typedef enum op { OP_LT, OP_LE, OP_GT, OP_GE } op_t;
static const char *const op_text[] = {"<", "<=", ">", ">="};
static const char *const level_text[] = {"ok", "warning", "critical"};

typedef struct cond {
  int set; /* 1 when the level is configured */
  op_t op;
  double threshold;
} cond_t;

typedef struct rule {
  char *name;
  const ccp_kpi_def_t *kpi; /* a row of the KPI table with CCP_KPI_ALERT */
  char *scope;
  int window;      /* index in cfg->windows; -1 for gauges */
  cond_t conds[3]; /* indexed by level; conds[0] unused */
  double hysteresis;
  int level;              /* ccp_rule_level_t */
  int64_t last_alert_now; /* now_ms of the last alert, for unique ids */
  int same_now;           /* alerts already emitted at last_alert_now */
} rule_t;

struct ccp_rules {
  const ccp_config_t *cfg;
  rule_t *rules;
  int n, cap;
};

/* ---- parsing ---------------------------------------------------------- */

enum { TK_END, TK_WORD, TK_OP, TK_COMMA };

typedef struct lexer {
  const char *p, *end;
  int kind;
  const char *tok;
  size_t len;
} lexer_t;

static void lex_next(lexer_t *lx) {
  while (lx->p < lx->end && isspace((unsigned char)*lx->p))
    lx->p++;
  lx->tok = lx->p;
  if (lx->p >= lx->end) {
    lx->kind = TK_END;
    lx->len = 0;
    return;
  }
  char c = *lx->p;
  if (c == ',') {
    lx->kind = TK_COMMA;
    lx->p++;
  } else if (c == '<' || c == '>') {
    lx->kind = TK_OP;
    lx->p++;
    if (lx->p < lx->end && *lx->p == '=')
      lx->p++;
  } else {
    lx->kind = TK_WORD;
    while (lx->p < lx->end && !isspace((unsigned char)*lx->p) && *lx->p != ',' && *lx->p != '<' &&
           *lx->p != '>')
      lx->p++;
  }
  lx->len = (size_t)(lx->p - lx->tok);
}

static int tok_is(const lexer_t *lx, const char *s) {
  return lx->kind == TK_WORD && lx->len == strlen(s) && memcmp(lx->tok, s, lx->len) == 0;
}

/* Fills errbuf with "alert rule 'NAME': <fmt>" and returns -CCP_EPARSE. */
static int rule_err(char *errbuf, size_t errlen, const char *name, size_t name_len, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static int rule_err(char *errbuf, size_t errlen, const char *name, size_t name_len, const char *fmt,
                    ...) {
  if (errbuf && errlen) {
    int n = snprintf(errbuf, errlen, "alert rule '%.*s': ", (int)name_len, name);
    if (n >= 0 && (size_t)n < errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(errbuf + n, errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -CCP_EPARSE;
}

static int parse_number(const char *s, size_t len, double *out) {
  char tmp[64];
  if (len == 0 || len >= sizeof tmp)
    return -1;
  memcpy(tmp, s, len);
  tmp[len] = 0;
  char *e;
  double v = strtod(tmp, &e);
  if (*e || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

static int valid_name(const char *s, size_t len) {
  if (len == 0 || len > 64)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
      return 0;
  return 1;
}

static void windows_list(const ccp_config_t *cfg, char *out, size_t outlen) {
  size_t n = 0;
  out[0] = 0;
  for (int w = 0; w < cfg->nwindows && n < outlen; w++) {
    int k = snprintf(out + n, outlen - n, "%s%s", w ? " " : "", cfg->windows[w].name);
    if (k < 0)
      break;
    n += (size_t)k;
  }
}

/* The gauges of the KPI table, ", "-separated, for messages. */
static void gauges_list(char *out, size_t outlen) {
  size_t n = 0;
  out[0] = 0;
  for (int i = 0; i < CCP_K__COUNT && n < outlen; i++) {
    if (ccp_kpi_defs[i].kind != CCP_KPI_GAUGE)
      continue;
    int k = snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", ccp_kpi_defs[i].name);
    if (k < 0)
      break;
    n += (size_t)k;
  }
}

/* Parses one rule from [s, end) (comment and separator already removed). */
static int parse_rule(ccp_rules_t *rs, const char *s, const char *end, char *errbuf,
                      size_t errlen) {
  while (s < end && isspace((unsigned char)*s))
    s++;
  while (end > s && isspace((unsigned char)end[-1]))
    end--;
  if (s == end)
    return 0;
  const char *colon = memchr(s, ':', (size_t)(end - s));
  const char *name = s;
  size_t name_len = colon ? (size_t)(colon - s) : (size_t)(end - s);
  while (name_len && isspace((unsigned char)name[name_len - 1]))
    name_len--;
  if (!colon)
    return rule_err(errbuf, errlen, name, name_len,
                    "expected 'NAME: KPI SCOPE [WINDOW] OP VALUE LEVEL, ...'");
  if (!valid_name(name, name_len))
    return rule_err(errbuf, errlen, name, name_len,
                    "invalid rule name (use letters, digits, '_', '-', '.'; at most 64)");
  for (int i = 0; i < rs->n; i++)
    if (strlen(rs->rules[i].name) == name_len && !memcmp(rs->rules[i].name, name, name_len))
      return rule_err(errbuf, errlen, name, name_len, "duplicate rule name");

  rule_t r;
  memset(&r, 0, sizeof r);
  r.window = -1;
  r.last_alert_now = INT64_MIN;
  lexer_t lx = {.p = colon + 1, .end = end};

  /* KPI */
  lex_next(&lx);
  if (lx.kind != TK_WORD)
    return rule_err(errbuf, errlen, name, name_len, "missing KPI");
  int ki = ccp_kpi_index(lx.tok, lx.len);
  if (ki >= 0 && (ccp_kpi_defs[ki].flags & CCP_KPI_ALERT))
    r.kpi = &ccp_kpi_defs[ki];
  if (!r.kpi) {
    char gauges[256];
    gauges_list(gauges, sizeof gauges);
    return rule_err(errbuf, errlen, name, name_len,
                    "unknown KPI '%.*s' (a windowed KPI of KPIS.md §3 or a gauge: %s)", (int)lx.len,
                    lx.tok, gauges);
  }

  /* scope */
  lex_next(&lx);
  if (lx.kind != TK_WORD)
    return rule_err(errbuf, errlen, name, name_len,
                    "missing scope (all, queue:<q>, channel:<CH>, agent:<a>)");
  const char *sc = lx.tok;
  size_t sl = lx.len;
  int scope_ok = 0;
  if (sl == 3 && !memcmp(sc, "all", 3)) {
    scope_ok = 1;
  } else if (sl > 6 && !memcmp(sc, "queue:", 6)) {
    scope_ok = 1;
  } else if (sl > 6 && !memcmp(sc, "agent:", 6)) {
    scope_ok = 1;
  } else if (sl > 8 && !memcmp(sc, "channel:", 8)) {
    if (ccp_channel_parse(sc + 8, sl - 8) < 0)
      return rule_err(errbuf, errlen, name, name_len,
                      "unknown channel in scope '%.*s' (PHONE, CHAT, EMAIL, SOCIAL)", (int)sl, sc);
    scope_ok = 1;
  }
  if (!scope_ok)
    return rule_err(errbuf, errlen, name, name_len,
                    "invalid scope '%.*s' (all, queue:<q>, channel:<CH>, agent:<a>)", (int)sl, sc);
  /* the scope goes into every alert's JSON as it is: it must be text
   * (jansson's check: no overlong form, surrogate or byte beyond U+10FFFF) */
  json_t *text = json_stringn(sc, sl);
  if (!text)
    return rule_err(errbuf, errlen, name, name_len, "scope is not valid UTF-8");
  json_decref(text);

  /* window */
  lex_next(&lx);
  if (r.kpi->kind != CCP_KPI_GAUGE) {
    if (lx.kind != TK_WORD) {
      char list[256];
      windows_list(rs->cfg, list, sizeof list);
      return rule_err(errbuf, errlen, name, name_len, "KPI '%s' needs a window (configured: %s)",
                      r.kpi->name, list);
    }
    for (int w = 0; w < rs->cfg->nwindows; w++)
      if (tok_is(&lx, rs->cfg->windows[w].name))
        r.window = w;
    if (r.window < 0) {
      char list[256];
      windows_list(rs->cfg, list, sizeof list);
      return rule_err(errbuf, errlen, name, name_len, "unknown window '%.*s' (configured: %s)",
                      (int)lx.len, lx.tok, list);
    }
    lex_next(&lx);
  } else if (lx.kind == TK_WORD) {
    return rule_err(errbuf, errlen, name, name_len, "gauge '%s' takes no window (got '%.*s')",
                    r.kpi->name, (int)lx.len, lx.tok);
  }

  /* conditions: OP VALUE LEVEL | hysteresis VALUE, separated by commas */
  int have_hyst = 0;
  for (;;) {
    if (lx.kind == TK_OP) {
      op_t op =
          lx.len == 2 ? (lx.tok[0] == '<' ? OP_LE : OP_GE) : (lx.tok[0] == '<' ? OP_LT : OP_GT);
      double v;
      lex_next(&lx);
      if (lx.kind != TK_WORD || parse_number(lx.tok, lx.len, &v) != 0)
        return rule_err(errbuf, errlen, name, name_len, "expected a number after '%s'",
                        op_text[op]);
      lex_next(&lx);
      int level;
      if (tok_is(&lx, "warn") || tok_is(&lx, "warning"))
        level = CCP_RULE_WARNING;
      else if (tok_is(&lx, "crit") || tok_is(&lx, "critical"))
        level = CCP_RULE_CRITICAL;
      else
        return rule_err(errbuf, errlen, name, name_len,
                        "expected a level (warn or crit) after '%s %g'", op_text[op], v);
      if (r.conds[level].set)
        return rule_err(errbuf, errlen, name, name_len, "level '%s' given twice",
                        level_text[level]);
      r.conds[level] = (cond_t){1, op, v};
    } else if (tok_is(&lx, "hysteresis")) {
      lex_next(&lx);
      if (lx.kind != TK_WORD || parse_number(lx.tok, lx.len, &r.hysteresis) != 0 ||
          r.hysteresis < 0)
        return rule_err(errbuf, errlen, name, name_len, "hysteresis needs a number >= 0");
      if (have_hyst)
        return rule_err(errbuf, errlen, name, name_len, "hysteresis given twice");
      have_hyst = 1;
    } else if (lx.kind == TK_END) {
      return rule_err(errbuf, errlen, name, name_len,
                      "missing condition (e.g. '< 80 warn, < 70 crit')");
    } else {
      return rule_err(errbuf, errlen, name, name_len,
                      "unexpected '%.*s' (expected '<', '<=', '>', '>=' or 'hysteresis')",
                      (int)lx.len, lx.tok);
    }
    lex_next(&lx);
    if (lx.kind == TK_END)
      break;
    if (lx.kind != TK_COMMA)
      return rule_err(errbuf, errlen, name, name_len, "unexpected '%.*s' (expected ',')",
                      (int)lx.len, lx.tok);
    lex_next(&lx);
  }

  cond_t *w = &r.conds[CCP_RULE_WARNING], *c = &r.conds[CCP_RULE_CRITICAL];
  if (!w->set && !c->set)
    return rule_err(errbuf, errlen, name, name_len, "needs a warn or crit condition");
  if (w->set && c->set) {
    int wbelow = w->op == OP_LT || w->op == OP_LE, cbelow = c->op == OP_LT || c->op == OP_LE;
    if (wbelow != cbelow)
      return rule_err(errbuf, errlen, name, name_len,
                      "warn and crit must both use '<'/'<=' or both '>'/'>='");
    if (wbelow ? c->threshold > w->threshold : c->threshold < w->threshold)
      return rule_err(errbuf, errlen, name, name_len,
                      "crit threshold %g must be %s the warn threshold %g", c->threshold,
                      wbelow ? "at or below" : "at or above", w->threshold);
  }

  r.name = ccp_strndup(name, name_len);
  r.scope = ccp_strndup(sc, sl);
  if (rs->n == rs->cap) {
    rs->cap = rs->cap ? 2 * rs->cap : 8;
    rs->rules = ccp_realloc(rs->rules, (size_t)rs->cap * sizeof *rs->rules);
  }
  rs->rules[rs->n++] = r;
  return 0;
}

ccp_rules_t *ccp_rules_parse(const char *text, const ccp_config_t *cfg, char *errbuf,
                             size_t errlen) {
  ccp_rules_t *rs = ccp_calloc(1, sizeof *rs);
  rs->cfg = cfg;
  const char *p = text ? text : "";
  while (*p) {
    /* one rule: up to ';' or newline; '#' comments run to the end of line */
    size_t n = strcspn(p, ";\n#");
    const char *end = p + n;
    if (parse_rule(rs, p, end, errbuf, errlen) != 0) {
      ccp_rules_free(rs);
      return NULL;
    }
    p = end;
    if (*p == '#')
      p += strcspn(p, "\n");
    if (*p)
      p++;
  }
  return rs;
}

void ccp_rules_free(ccp_rules_t *rs) {
  if (!rs)
    return;
  for (int i = 0; i < rs->n; i++) {
    ccp_free(rs->rules[i].name);
    ccp_free(rs->rules[i].scope);
  }
  ccp_free(rs->rules);
  ccp_free(rs);
}

int ccp_rules_count(const ccp_rules_t *rs) { return rs->n; }
const char *ccp_rules_name(const ccp_rules_t *rs, int i) { return rs->rules[i].name; }
int ccp_rules_level(const ccp_rules_t *rs, int i) { return rs->rules[i].level; }

/* ---- evaluation ------------------------------------------------------- */

static int holds(op_t op, double v, double t) {
  switch (op) {
  case OP_LT:
    return v < t;
  case OP_LE:
    return v <= t;
  case OP_GT:
    return v > t;
  case OP_GE:
    return v >= t;
  }
  return 0;
}

/* Level for value v given the current level (see the design note above). */
static int next_level(const rule_t *r, double v) {
  for (int l = CCP_RULE_CRITICAL; l >= CCP_RULE_WARNING; l--) {
    const cond_t *c = &r->conds[l];
    if (!c->set)
      continue;
    if (holds(c->op, v, c->threshold))
      return l;
    double relaxed = (c->op == OP_LT || c->op == OP_LE) ? c->threshold + r->hysteresis
                                                        : c->threshold - r->hysteresis;
    if (l <= r->level && holds(c->op, v, relaxed))
      return l;
  }
  return CCP_RULE_OK;
}

static void put_cstr(ccp_buf_t *b, const char *s) { ccp_buf_put_json_str(b, s, strlen(s)); }

/* The rule's "kpi" value, then its "scope" and "window" members (the alert
 * and the rules' JSON share them). */
static void put_target(ccp_buf_t *out, const ccp_rules_t *rs, const rule_t *r) {
  put_cstr(out, r->kpi->name);
  ccp_buf_puts(out, ",\"scope\":");
  put_cstr(out, r->scope);
  ccp_buf_puts(out, ",\"window\":");
  if (r->window >= 0)
    put_cstr(out, rs->cfg->windows[r->window].name);
  else
    ccp_buf_puts(out, "null");
}

static void emit(ccp_rules_t *rs, rule_t *r, int prev, double v, int64_t now, ccp_buf_t *out) {
  int level = r->level;
  const char *tag = level == CCP_RULE_OK ? "resolved" : level_text[level];
  if (r->last_alert_now == now) {
    r->same_now++;
  } else {
    r->last_alert_now = now;
    r->same_now = 0;
  }
  const cond_t *c = &r->conds[level == CCP_RULE_OK ? prev : level];

  ccp_buf_t id;
  ccp_buf_init(&id);
  ccp_buf_printf(&id, "%s:%s:", r->name, tag);
  ccp_buf_put_i64(&id, now);
  if (r->same_now)
    ccp_buf_printf(&id, ":%d", r->same_now);

  ccp_buf_puts(out, "{\"id\":");
  ccp_buf_put_json_str(out, id.data, id.len);
  ccp_buf_puts(out, level == CCP_RULE_OK ? ",\"type\":\"threshold_resolved\""
                                         : ",\"type\":\"threshold\"");
  ccp_buf_puts(out, ",\"rule\":");
  put_cstr(out, r->name);
  ccp_buf_printf(out, ",\"level\":\"%s\",\"previous\":\"%s\",\"kpi\":", level_text[level],
                 level_text[prev]);
  put_target(out, rs, r);
  ccp_buf_puts(out, ",\"value\":");
  ccp_buf_put_double(out, v);
  ccp_buf_printf(out, ",\"op\":\"%s\",\"threshold\":", op_text[c->op]);
  ccp_buf_put_double(out, c->threshold);
  ccp_buf_puts(out, ",\"hysteresis\":");
  ccp_buf_put_double(out, r->hysteresis);
  ccp_buf_puts(out, ",\"now_ms\":");
  ccp_buf_put_i64(out, now);
  ccp_buf_puts(out, "}\n");
  ccp_buf_release(&id);
}

int ccp_rules_eval_with(ccp_rules_t *rs, int64_t now_ms, ccp_rules_lookup_fn lookup, void *opaque,
                        ccp_buf_t *out) {
  int nalerts = 0;
  for (int i = 0; i < rs->n; i++) {
    rule_t *r = &rs->rules[i];
    double v = NAN;
    if (lookup(opaque, r->scope, r->window < 0 ? 0 : r->window, r->kpi->name, &v) != 0)
      v = (r->kpi->flags & CCP_KPI_NULLABLE) ? NAN : 0.0; /* counts, count gauges: 0 */
    if (isnan(v))
      continue; /* no data: the state stands */
    int prev = r->level;
    int level = next_level(r, v);
    if (level == prev)
      continue;
    r->level = level;
    emit(rs, r, prev, v, now_ms, out);
    nalerts++;
  }
  return nalerts;
}

static int view_lookup(void *opaque, const char *scope, int window, const char *kpi, double *out) {
  const ccp_view_t *v = opaque;
  int i = ccp_view_find_scope(v, scope);
  if (i < 0)
    return -1;
  if (ccp_view_value(v, i, window, kpi, out) != 0)
    *out = NAN;
  return 0;
}

int ccp_rules_eval(ccp_rules_t *rs, const ccp_view_t *v, ccp_buf_t *out) {
  int64_t now = ccp_view_now(v);
  if (now == INT64_MIN)
    return 0; /* no event yet: nothing to judge */
  return ccp_rules_eval_with(rs, now, view_lookup, (void *)v, out);
}

/* One condition as {"op":..,"threshold":..} or null when the level is not set. */
static void put_cond(ccp_buf_t *out, const cond_t *c) {
  if (!c->set) {
    ccp_buf_puts(out, "null");
    return;
  }
  ccp_buf_printf(out, "{\"op\":\"%s\",\"threshold\":", op_text[c->op]);
  ccp_buf_put_double(out, c->threshold);
  ccp_buf_putc(out, '}');
}

void ccp_rules_json(const ccp_rules_t *rs, ccp_buf_t *out) {
  ccp_buf_putc(out, '[');
  for (int i = 0; i < rs->n; i++) {
    const rule_t *r = &rs->rules[i];
    ccp_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
    put_cstr(out, r->name);
    ccp_buf_puts(out, ",\"kpi\":");
    put_target(out, rs, r);
    ccp_buf_puts(out, ",\"warning\":");
    put_cond(out, &r->conds[CCP_RULE_WARNING]);
    ccp_buf_puts(out, ",\"critical\":");
    put_cond(out, &r->conds[CCP_RULE_CRITICAL]);
    ccp_buf_puts(out, ",\"hysteresis\":");
    ccp_buf_put_double(out, r->hysteresis);
    ccp_buf_putc(out, '}');
  }
  ccp_buf_putc(out, ']');
}
