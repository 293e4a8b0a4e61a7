/*
 * Configuration: one property table drives everything.
 *
 * Design (after librdkafka's rdkafka_conf.c and Redis' config.c): `props[]`
 * below has one row per key with its type, where it lives in ccp_config_t,
 * its default (as text), its bounds, a one-sentence doc and a setter. From
 * that table alone come:
 *   - ccp_config_init()       every default, by running the setter on the
 *                             default text (so defaults obey the same rules);
 *   - ccp_config_set()        lookup, parsing, validation, error messages;
 *   - ccp_config_load_file()  `key = value` lines;
 *   - ccp_config_load_env()   CCPULSE_<KEY> variables;
 *   - ccp_config_write_docs() the table in docs/configuration.md (a unit test
 *                             fails when the committed page is out of date);
 *   - ccp_config_write_help() the `--help` text.
 *
 * Adding a key: add a field to ccp_config_t, then one row here. A new value
 * type needs one setter (parse into locals, validate, then store: a failed set
 * leaves the config untouched). A key family (`sla.queue.<Q>.<CH>` today; the
 * `kafka.*` pass-through of the live pipeline later) is a row with PF_PREFIX:
 * exact keys are looked up first, then prefixes.
 *
 * Threads: a config is filled by one thread at start-up; after
 * ccp_config_finish() it is read-only and any thread may read it. The table
 * is constant. Nothing here keeps global state; ccp_config_apply_log() hands
 * the log settings to the logger, which does.
 *
 * Invariants: every key has a valid default; the queue x channel overrides
 * are kept sorted by (queue bytes, channel) with no duplicate pair, so that
 * ccp_config_sla_ms() is a binary search with no allocation.
 */
#include "ccpulse/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ccpulse/log.h"
#include "kpi/kpi.h" /* KPI names for the scorecard (a leaf module) */

/* Longest duration any key accepts: 3650 days. Far beyond any sensible
 * setting, and small enough that ts + duration never overflows int64. */
#define DUR_MAX ((int64_t)3650 * 86400000)
/* Largest count (tickets.max, dedup.max): keeps tables sized from them, and
 * any int arithmetic on them, in range. */
#define COUNT_MAX ((int64_t)2147483647)
/* Most buckets one window may need (the `today` window counts 25 hours, the
 * longest local day). Bounds the memory of every scope. */
#define MAX_BUCKETS 10000

/* Property flags. */
#define PF_MIN_EXCL 0x01 /* value must be > min (else >= min) */
#define PF_MAX_EXCL 0x02 /* value must be < max (else <= max) */
#define PF_PREFIX 0x04   /* `key` is a prefix: a family of dynamic keys */
#define PF_OPTIONAL 0x08 /* default unset; an empty value unsets */
#define PF_APPEND 0x10   /* lines add up: set again in one source, appended (ccp_config_append) */

typedef struct prop prop_t;
typedef struct list_kind list_kind_t;

/* Parses and stores `value` for `key` (the full key, for families); on error
 * writes the problem (without the "config key" prefix) into msg. */
typedef int (*prop_set_fn)(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                           char *msg, size_t msglen);

struct prop {
  const char *key;         /* exact key, or the prefix of a PF_PREFIX family */
  const char *doc_key;     /* how the docs spell it (families); NULL = key */
  const char *type;        /* type name shown in the docs */
  prop_set_fn set;         /* parser + validator + store */
  size_t off;              /* offsetof the field in ccp_config_t */
  size_t size;             /* field size (strings) */
  const list_kind_t *list; /* item parser and bounds of list keys (set_list) */
  const char *def;         /* default as text; NULL when unset by default */
  double min, max;         /* bounds of numbers, durations in ms */
  int flags;               /* PF_* */
  const char *doc;         /* one sentence for docs and --help */
};

/* ---- small helpers ----------------------------------------------------- */

/* printf into msg, never overflowing; the result is always terminated. */
static void msgf(char *msg, size_t len, const char *fmt, ...) {
  if (!msg || !len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, len, fmt, ap);
  va_end(ap);
}

/* Quotes at most 80 bytes of a value in messages. */
#define QV(s) (strlen(s) > 80 ? 77 : (int)strlen(s)), (s), (strlen(s) > 80 ? "..." : "")

static const char *skip_ws(const char *s) {
  while (*s && isspace((unsigned char)*s))
    s++;
  return s;
}

/* Copies s[0..len) without surrounding whitespace into out (outlen bytes). */
static void trim_copy(const char *s, size_t len, char *out, size_t outlen) {
  while (len && isspace((unsigned char)*s))
    s++, len--;
  while (len && isspace((unsigned char)s[len - 1]))
    len--;
  if (len >= outlen)
    len = outlen - 1;
  memcpy(out, s, len);
  out[len] = '\0';
}

/* Writes a duration in its largest exact unit: 300000 -> "5m", 1500 -> "1500ms", 0 -> "0". */
static void fmt_duration(int64_t ms, char *out, size_t len) {
  static const struct {
    int64_t mult;
    const char *unit;
  } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
  if (ms == 0) {
    snprintf(out, len, "0");
    return;
  }
  for (size_t i = 0; i < CCP_ARRAY_LEN(units); i++)
    if (ms % units[i].mult == 0) {
      snprintf(out, len, "%lld%s", (long long)(ms / units[i].mult), units[i].unit);
      return;
    }
  snprintf(out, len, "%lldms", (long long)ms);
}

int ccp_parse_duration(const char *s, int64_t *out_ms) {
  if (!s || !isdigit((unsigned char)*s))
    return -CCP_EPARSE;
  int64_t v = 0;
  int overflow = 0;
  for (; isdigit((unsigned char)*s); s++) {
    int d = *s - '0';
    if (v > (INT64_MAX - d) / 10)
      overflow = 1;
    else
      v = v * 10 + d;
  }
  int64_t mult;
  if (*s == '\0' || strcmp(s, "ms") == 0)
    mult = 1;
  else if (strcmp(s, "s") == 0)
    mult = 1000;
  else if (strcmp(s, "m") == 0)
    mult = 60000;
  else if (strcmp(s, "h") == 0)
    mult = 3600000;
  else if (strcmp(s, "d") == 0)
    mult = 86400000;
  else
    return -CCP_EPARSE;
  if (overflow || v > INT64_MAX / mult)
    return -CCP_ERANGE;
  *out_ms = v * mult;
  return 0;
}

/* ccp_parse_duration with a message for the user. */
static int parse_duration_msg(const char *s, int64_t *out, char *msg, size_t msglen) {
  int rc = ccp_parse_duration(s, out);
  if (rc == -CCP_ERANGE)
    msgf(msg, msglen, "duration '%.*s%s' is too large", QV(s));
  else if (rc < 0 && s[0] == '-')
    msgf(msg, msglen, "invalid duration '%.*s%s' (must not be negative)", QV(s));
  else if (rc < 0)
    msgf(msg, msglen, "invalid duration '%.*s%s' (use ms, s, m, h or d)", QV(s));
  return rc;
}

/* p's bounds as text into lo and hi (32 bytes each): durations as written
 * in the docs, numbers in %.15g. */
static void bounds_text(const prop_t *p, int is_duration, char *lo, char *hi) {
  if (is_duration) {
    fmt_duration((int64_t)p->min, lo, 32);
    fmt_duration((int64_t)p->max, hi, 32);
  } else {
    snprintf(lo, 32, "%.15g", p->min);
    snprintf(hi, 32, "%.15g", p->max);
  }
}

/* Checks v against the bounds of p; writes "must be > 0" style messages. */
static int check_bounds(const prop_t *p, double v, const char *shown, char *msg, size_t msglen,
                        int is_duration) {
  int lo_bad = (p->flags & PF_MIN_EXCL) ? !(v > p->min) : !(v >= p->min);
  int hi_bad = (p->flags & PF_MAX_EXCL) ? !(v < p->max) : !(v <= p->max);
  if (!lo_bad && !hi_bad)
    return 0;
  char lo[32], hi[32];
  bounds_text(p, is_duration, lo, hi);
  if (lo_bad)
    msgf(msg, msglen, "%s is out of range (must be %s %s)", shown,
         (p->flags & PF_MIN_EXCL) ? ">" : ">=", lo);
  else
    msgf(msg, msglen, "%s is out of range (must be %s %s)", shown,
         (p->flags & PF_MAX_EXCL) ? "<" : "<=", hi);
  return -CCP_ERANGE;
}

/* Strict decimal number: digits, '.', exponent; no inf/nan/hex. */
static int parse_double(const char *s, double *out) {
  if (!*s)
    return -CCP_EPARSE;
  for (const char *c = s; *c; c++)
    if (!isdigit((unsigned char)*c) && !strchr(".eE+-", *c))
      return -CCP_EPARSE;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end || end == s || errno == ERANGE || !isfinite(v))
    return -CCP_EPARSE;
  *out = v;
  return 0;
}

/* ---- setters, one per value type ---------------------------------------- */

#define FIELD(cfg, p, T) ((T *)(void *)((char *)(cfg) + (p)->off))

/* Parses a duration within p's bounds into *ms. */
static int parse_duration_in(const prop_t *p, const char *value, int64_t *ms, char *msg,
                             size_t msglen) {
  int rc = parse_duration_msg(value, ms, msg, msglen);
  if (rc < 0)
    return rc;
  char shown[128];
  snprintf(shown, sizeof shown, "duration '%.*s%s'", QV(value));
  return check_bounds(p, (double)*ms, shown, msg, msglen, 1);
}

static int set_duration(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                        char *msg, size_t msglen) {
  int64_t v;
  int rc = parse_duration_in(p, value, &v, msg, msglen);
  if (rc < 0)
    return rc;
  *FIELD(cfg, p, int64_t) = v;
  return 0;
}

/* checkpoint.interval: a duration, or `off` (= 0: no checkpoints). */
static int set_duration_or_off(const prop_t *p, ccp_config_t *cfg, const char *key,
                               const char *value, char *msg, size_t msglen) {
  if (strcmp(value, "off") == 0) {
    *FIELD(cfg, p, int64_t) = 0;
    return 0;
  }
  return set_duration(p, cfg, key, value, msg, msglen);
}

static int set_int(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                   char *msg, size_t msglen) {
  const char *c = value;
  int64_t v = 0;
  if (!isdigit((unsigned char)*c))
    goto bad;
  for (; isdigit((unsigned char)*c); c++) {
    if (v > (INT64_MAX - (*c - '0')) / 10) {
      msgf(msg, msglen, "integer '%.*s%s' is too large", QV(value));
      return -CCP_ERANGE;
    }
    v = v * 10 + (*c - '0');
  }
  if (*c)
    goto bad;
  char shown[128];
  snprintf(shown, sizeof shown, "integer '%.*s%s'", QV(value));
  int rc = check_bounds(p, (double)v, shown, msg, msglen, 0);
  if (rc < 0)
    return rc;
  *FIELD(cfg, p, int64_t) = v;
  return 0;
bad:
  msgf(msg, msglen, "invalid integer '%.*s%s'", QV(value));
  return -CCP_EINVAL;
}

static int set_double(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                      char *msg, size_t msglen) {
  if ((p->flags & PF_OPTIONAL) && !*value) {
    *FIELD(cfg, p, double) = NAN;
    return 0;
  }
  double v;
  if (parse_double(value, &v) < 0) {
    msgf(msg, msglen, "invalid number '%.*s%s'", QV(value));
    return -CCP_EINVAL;
  }
  char shown[128];
  snprintf(shown, sizeof shown, "number '%.*s%s'", QV(value));
  int rc = check_bounds(p, v, shown, msg, msglen, 0);
  if (rc < 0)
    return rc;
  *FIELD(cfg, p, double) = v;
  return 0;
}

/* The IANA zone must exist as a TZif file under $TZDIR (when set, as glibc
 * does) or /usr/share/zoneinfo. "UTC" is always accepted: every libc knows it
 * without a file. */
static int set_timezone(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                        char *msg, size_t msglen) {
  size_t n = strlen(value);
  int ok = n > 0 && n < p->size && value[0] != '/' && !strstr(value, "..");
  for (size_t i = 0; ok && i < n; i++)
    ok = isalnum((unsigned char)value[i]) || strchr("/_+-", value[i]) != NULL;
  if (ok && strcmp(value, "UTC") != 0) {
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
      dir = "/usr/share/zoneinfo";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, value);
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    ok = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    if (f)
      fclose(f);
  }
  if (!ok) {
    msgf(msg, msglen, "unknown IANA time zone '%.*s%s'", QV(value));
    return -CCP_EINVAL;
  }
  memcpy(FIELD(cfg, p, char), value, n + 1);
  return 0;
}

/* One window: `name:granularity` (name = span or `today`) or
 * `name=span:granularity`. */
static int parse_window(const char *item, ccp_window_conf_t *w, char *msg, size_t msglen) {
  const char *colon = strrchr(item, ':');
  if (!colon || colon == item || !colon[1]) {
    msgf(msg, msglen, "window '%.*s%s' must look like span:granularity or name=span:granularity",
         QV(item));
    return -CCP_EINVAL;
  }
  const char *eq = memchr(item, '=', (size_t)(colon - item));
  const char *name = item, *span = eq ? eq + 1 : item;
  size_t name_len = eq ? (size_t)(eq - item) : (size_t)(colon - item);
  char span_s[64], gran_s[64];
  trim_copy(span, (size_t)(colon - span), span_s, sizeof span_s);
  trim_copy(colon + 1, strlen(colon + 1), gran_s, sizeof gran_s);
  char name_s[64];
  trim_copy(name, name_len, name_s, sizeof name_s);
  if (!name_s[0] || strlen(name_s) >= sizeof w->name || name_len >= sizeof name_s)
    goto badname;
  for (const char *c = name_s; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
      goto badname;
  memcpy(w->name, name_s, strlen(name_s) + 1);

  int64_t g;
  if (parse_duration_msg(gran_s, &g, msg, msglen) < 0)
    return -CCP_EINVAL;
  char gs[32];
  fmt_duration(g, gs, sizeof gs);
  if (g <= 0) {
    msgf(msg, msglen, "window '%s': granularity must be > 0", w->name);
    return -CCP_ERANGE;
  }
  w->granularity_ms = g;
  if (strcmp(span_s, "today") == 0) {
    w->is_today = 1;
    w->span_ms = 0;
    /* Local midnight is a multiple of 15 minutes from UTC midnight in every
     * current zone (e.g. +05:45 Kathmandu), so buckets of g dividing 15m start
     * exactly at it. Dividing 1h would not be enough. */
    if (900000 % g != 0) {
      msgf(msg, msglen, "window '%s': granularity %s of a 'today' window must divide 15m", w->name,
           gs);
      return -CCP_ERANGE;
    }
    if (25 * 3600000LL / g > MAX_BUCKETS) {
      msgf(msg, msglen, "window '%s': granularity %s makes more than %d buckets", w->name, gs,
           MAX_BUCKETS);
      return -CCP_ERANGE;
    }
    return 0;
  }
  int64_t s;
  if (parse_duration_msg(span_s, &s, msg, msglen) < 0)
    return -CCP_EINVAL;
  char ss[32];
  fmt_duration(s, ss, sizeof ss);
  w->is_today = 0;
  w->span_ms = s;
  if (s <= 0 || s % g != 0) {
    msgf(msg, msglen, "window '%s': span %s is not a positive multiple of granularity %s", w->name,
         ss, gs);
    return -CCP_ERANGE;
  }
  if (s / g > MAX_BUCKETS) {
    msgf(msg, msglen, "window '%s': span %s / granularity %s is more than %d buckets", w->name, ss,
         gs, MAX_BUCKETS);
    return -CCP_ERANGE;
  }
  return 0;
badname:
  msgf(msg, msglen,
       "window '%.*s%s': the name must be 1-%zu letters, digits, '_' or '-' (or the span itself)",
       QV(item), sizeof w->name - 1);
  return -CCP_EINVAL;
}

/* Calls fn on each comma-separated, trimmed, non-empty item of value; returns
 * the first error. Items longer than 255 bytes are an error. */
typedef int (*item_fn)(void *ctx, const char *item, char *msg, size_t msglen);
static int for_each_item(const char *value, item_fn fn, void *ctx, char *msg, size_t msglen) {
  const char *s = value;
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    char item[256];
    if (len >= sizeof item) {
      msgf(msg, msglen, "item '%.40s...' is too long", s);
      return -CCP_EINVAL;
    }
    trim_copy(s, len, item, sizeof item);
    if (!item[0]) {
      msgf(msg, msglen, "empty item in list '%.*s%s'", QV(value));
      return -CCP_EINVAL;
    }
    int rc = fn(ctx, item, msg, msglen);
    if (rc < 0)
      return rc;
    if (!comma)
      return 0;
    s = comma + 1;
  }
}

/* A comma-separated list key stored as an array at prop.off with its count
 * at count_off. parse fills *out (zeroed) from one item; items holds the n
 * items already parsed. */
struct list_kind {
  const char *one;  /* what one item is called in "at least one ..." */
  const char *many; /* what items are called in "more than N ..." */
  size_t item_size;
  int max;
  size_t count_off;
  int (*parse)(const char *item, void *out, const void *items, int n, char *msg, size_t msglen);
};

typedef struct {
  const list_kind_t *k;
  char *items; /* k->max items */
  int n;
} list_ctx_t;

static int list_item(void *ctx, const char *item, char *msg, size_t msglen) {
  list_ctx_t *l = ctx;
  if (l->n == l->k->max) {
    msgf(msg, msglen, "more than %d %s", l->k->max, l->k->many);
    return -CCP_EFULL;
  }
  int rc =
      l->k->parse(item, l->items + (size_t)l->n * l->k->item_size, l->items, l->n, msg, msglen);
  if (rc < 0)
    return rc;
  l->n++;
  return 0;
}

static int set_list(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                    char *msg, size_t msglen) {
  const list_kind_t *k = p->list;
  if (!*skip_ws(value)) {
    msgf(msg, msglen, "at least one %s is needed", k->one);
    return -CCP_EINVAL;
  }
  list_ctx_t l = {k, ccp_calloc((size_t)k->max, k->item_size), 0};
  int rc = for_each_item(value, list_item, &l, msg, msglen);
  if (rc == 0) {
    memcpy(FIELD(cfg, p, char), l.items, (size_t)k->max * k->item_size);
    *(int *)(void *)((char *)cfg + k->count_off) = l.n;
  }
  ccp_free(l.items);
  return rc;
}

static int window_item(const char *item, void *out, const void *items, int n, char *msg,
                       size_t msglen) {
  ccp_window_conf_t *w = out;
  const ccp_window_conf_t *prev = items;
  int rc = parse_window(item, w, msg, msglen);
  if (rc < 0)
    return rc;
  for (int i = 0; i < n; i++)
    if (strcmp(prev[i].name, w->name) == 0) {
      msgf(msg, msglen, "duplicate window name '%s'", w->name);
      return -CCP_EINVAL;
    }
  return 0;
}

static int score_item(const char *item, void *out, const void *items, int n, char *msg,
                      size_t msglen) {
  ccp_score_term_t *t = out;
  const char *op = strstr(item, ">=");
  if (op)
    t->higher_is_better = 1;
  else
    op = strstr(item, "<=");
  const char *colon = op ? strrchr(op, ':') : NULL;
  if (!op || !colon) {
    msgf(msg, msglen, "term '%.*s%s' must look like kpi>=target:weight or kpi<=target:weight",
         QV(item));
    return -CCP_EINVAL;
  }
  char target_s[64], weight_s[64];
  trim_copy(item, (size_t)(op - item), t->kpi, sizeof t->kpi);
  trim_copy(op + 2, (size_t)(colon - op - 2), target_s, sizeof target_s);
  trim_copy(colon + 1, strlen(colon + 1), weight_s, sizeof weight_s);
  int ki = ccp_kpi_index(t->kpi, strlen(t->kpi));
  if (ki < 0 || !(ccp_kpi_defs[ki].flags & CCP_KPI_SCORECARD)) { /* windowed, KPIS.md §3 */
    msgf(msg, msglen, "unknown KPI '%s' in term '%.*s%s' (use a windowed KPI id, e.g. csat_pct)",
         t->kpi, QV(item));
    return -CCP_EINVAL;
  }
  if (parse_double(target_s, &t->target) < 0 || !(t->target > 0)) {
    msgf(msg, msglen, "term '%.*s%s': target must be a number > 0", QV(item));
    return -CCP_EINVAL;
  }
  if (parse_double(weight_s, &t->weight) < 0 || !(t->weight > 0) || t->weight > 100) {
    msgf(msg, msglen, "term '%.*s%s': weight must be a number > 0 and <= 100", QV(item));
    return -CCP_EINVAL;
  }
  return 0;
}

/* The list keys: what an item is called, its size and count, its parser. */
enum { L_WINDOWS, L_SCORECARD };
static const list_kind_t lists[] = {
    [L_WINDOWS] = {"window", "windows", sizeof(ccp_window_conf_t), CCP_MAX_WINDOWS,
                   offsetof(ccp_config_t, nwindows), window_item},
    [L_SCORECARD] = {"term", "scorecard terms", sizeof(ccp_score_term_t), CCP_MAX_SCORE_TERMS,
                     offsetof(ccp_config_t, nscore_terms), score_item},
};

/* Orders overrides by queue bytes, then length, then channel. */
static int ovr_cmp(const char *q, size_t qlen, int ch, const ccp_sla_override_t *o) {
  size_t olen = strlen(o->queue);
  int c = memcmp(q, o->queue, CCP_MIN(qlen, olen));
  if (c)
    return c;
  if (qlen != olen)
    return qlen < olen ? -1 : 1;
  return ch - o->channel;
}

/* Index of the first override >= (q, ch). */
static int ovr_lower_bound(const ccp_config_t *cfg, const char *q, size_t qlen, int ch) {
  int lo = 0, hi = cfg->nsla_overrides;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (ovr_cmp(q, qlen, ch, &cfg->sla_overrides[mid]) > 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* sla.queue.<QUEUE>.<CHANNEL>: QUEUE is everything up to the last '.'. */
static int set_sla_queue(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                         char *msg, size_t msglen) {
  const char *q = key + strlen(p->key);
  const char *dot = strrchr(q, '.');
  if (!dot || dot == q) {
    msgf(msg, msglen, "expected sla.queue.<QUEUE>.<CHANNEL>");
    return -CCP_EINVAL;
  }
  int ch = ccp_channel_parse(dot + 1, strlen(dot + 1));
  if (ch < 0) {
    msgf(msg, msglen, "unknown channel '%.*s%s' (use PHONE, CHAT, EMAIL or SOCIAL)", QV(dot + 1));
    return -CCP_EINVAL;
  }
  int64_t ms;
  int rc = parse_duration_in(p, value, &ms, msg, msglen);
  if (rc < 0)
    return rc;

  size_t qlen = (size_t)(dot - q);
  int i = ovr_lower_bound(cfg, q, qlen, ch);
  if (i < cfg->nsla_overrides && ovr_cmp(q, qlen, ch, &cfg->sla_overrides[i]) == 0) {
    cfg->sla_overrides[i].ms = ms; /* same pair again: replace */
    return 0;
  }
  cfg->sla_overrides = ccp_realloc(cfg->sla_overrides,
                                   (size_t)(cfg->nsla_overrides + 1) * sizeof *cfg->sla_overrides);
  memmove(&cfg->sla_overrides[i + 1], &cfg->sla_overrides[i],
          (size_t)(cfg->nsla_overrides - i) * sizeof *cfg->sla_overrides);
  cfg->sla_overrides[i].queue = ccp_strndup(q, qlen);
  cfg->sla_overrides[i].channel = ch;
  cfg->sla_overrides[i].ms = ms;
  cfg->nsla_overrides++;
  return 0;
}

/* A string kept in a fixed char array of p->size bytes. */
static int set_str(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                   char *msg, size_t msglen) {
  size_t n = strlen(value);
  if (n >= p->size) {
    msgf(msg, msglen, "value '%.*s%s' is too long (at most %zu bytes)", QV(value), p->size - 1);
    return -CCP_ERANGE;
  }
  memcpy(FIELD(cfg, p, char), value, n + 1);
  return 0;
}

/* A string of any length owned by the config (char *). */
static int set_heap_str(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                        char *msg, size_t msglen) {
  char **f = FIELD(cfg, p, char *);
  ccp_free(*f);
  *f = ccp_strdup(value);
  return 0;
}

/* kafka.<name>: stored as given; librdkafka itself validates the pair when
 * `ccpulse run` builds its configuration (its message names the key). The
 * same name set twice keeps the last value. */
static int set_kafka_prop(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                          char *msg, size_t msglen) {
  const char *name = key + strlen(p->key);
  if (!*name) {
    msgf(msg, msglen, "expected kafka.<librdkafka property>");
    return -CCP_EINVAL;
  }
  for (int i = 0; i < cfg->nkafka_props; i++)
    if (strcmp(cfg->kafka_props[i].key, name) == 0) {
      ccp_free(cfg->kafka_props[i].value);
      cfg->kafka_props[i].value = ccp_strdup(value);
      return 0;
    }
  cfg->kafka_props =
      ccp_realloc(cfg->kafka_props, (size_t)(cfg->nkafka_props + 1) * sizeof *cfg->kafka_props);
  cfg->kafka_props[cfg->nkafka_props].key = ccp_strdup(name);
  cfg->kafka_props[cfg->nkafka_props].value = ccp_strdup(value);
  cfg->kafka_props[cfg->nkafka_props].origin = NULL; /* ccp_config_set() notes it */
  cfg->nkafka_props++;
  return 0;
}

/* schema.registry.<ID> = path: kept sorted by id, one path per id. */
static int set_schema_reg(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                          char *msg, size_t msglen) {
  const char *ids = key + strlen(p->key);
  uint64_t id = 0;
  const char *c = ids;
  for (; isdigit((unsigned char)*c) && id <= UINT32_MAX; c++)
    id = id * 10 + (uint64_t)(*c - '0');
  if (c == ids || *c || id > UINT32_MAX) {
    msgf(msg, msglen, "schema id '%.*s%s' must be an integer from 0 to 4294967295", QV(ids));
    return -CCP_EINVAL;
  }
  if (!*value) {
    msgf(msg, msglen, "expected the path of a writer schema file");
    return -CCP_EINVAL;
  }
  int i = 0;
  while (i < cfg->nschema_registry && cfg->schema_registry[i].id < id)
    i++;
  if (i < cfg->nschema_registry && cfg->schema_registry[i].id == id) {
    ccp_free(cfg->schema_registry[i].path);
    cfg->schema_registry[i].path = ccp_strdup(value);
    return 0;
  }
  cfg->schema_registry = ccp_realloc(cfg->schema_registry, (size_t)(cfg->nschema_registry + 1) *
                                                               sizeof *cfg->schema_registry);
  memmove(&cfg->schema_registry[i + 1], &cfg->schema_registry[i],
          (size_t)(cfg->nschema_registry - i) * sizeof *cfg->schema_registry);
  cfg->schema_registry[i].id = (uint32_t)id;
  cfg->schema_registry[i].path = ccp_strdup(value);
  cfg->nschema_registry++;
  return 0;
}

/* schema.registry.url: empty (no registry) or an http:// or https:// URL;
 * the rest is checked when the registry client is built (src/decode/
 * registry.c). The value may hold a password: messages never quote it. */
static int set_registry_url(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                            char *msg, size_t msglen) {
  int ok = !*value || (strncasecmp(value, "http://", 7) == 0 && value[7]) ||
           (strncasecmp(value, "https://", 8) == 0 && value[8]);
  for (const char *c = value; ok && *c; c++)
    ok = !isspace((unsigned char)*c) && !iscntrl((unsigned char)*c);
  if (!ok) {
    msgf(msg, msglen, "expected http://host[:port][/path] or https://..., without spaces");
    return -CCP_EINVAL;
  }
  if (strlen(value) >= p->size) { /* set_str would quote the value */
    msgf(msg, msglen, "value is too long (at most %zu bytes)", p->size - 1);
    return -CCP_ERANGE;
  }
  return set_str(p, cfg, key, value, msg, msglen);
}

/* schema.registry.basic.auth.user.info: empty or `user:password` (a secret:
 * messages never quote it). */
static int set_user_info(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                         char *msg, size_t msglen) {
  if (*value && (value[0] == ':' || !strchr(value, ':'))) {
    msgf(msg, msglen, "expected user:password");
    return -CCP_EINVAL;
  }
  if (strlen(value) >= p->size) {
    msgf(msg, msglen, "value is too long (at most %zu bytes)", p->size - 1);
    return -CCP_ERANGE;
  }
  return set_str(p, cfg, key, value, msg, msglen);
}

/* log.level and log.format: a word the logger parses, stored as an int
 * (ccp_log_level_t, ccp_log_format_t). */
static int set_log(const prop_t *p, ccp_config_t *cfg, const char *key, const char *value,
                   char *msg, size_t msglen) {
  int is_level = strcmp(p->key, "log.level") == 0, rc;
  ccp_log_level_t lv = CCP_LOG_INFO;
  ccp_log_format_t f = CCP_LOG_TEXT;
  rc = is_level ? ccp_log_level_parse(value, &lv) : ccp_log_format_parse(value, &f);
  if (rc < 0) {
    msgf(msg, msglen, "unknown %s '%.*s%s' (use %s)", p->type, QV(value),
         is_level ? "error, warn, info or debug" : "text or json");
    return -CCP_EINVAL;
  }
  *FIELD(cfg, p, int) = is_level ? (int)lv : (int)f;
  return 0;
}

/* ---- the table ----------------------------------------------------------- */

#define OFF(field) offsetof(ccp_config_t, field)
#define DURATION .type = "duration", .set = set_duration
#define SLA_ROW(CH, def_)                                                                          \
  {                                                                                                \
    .key = "sla." #CH, DURATION, .off = OFF(sla_ms[CCP_CH_##CH]), .def = def_, .max = DUR_MAX,     \
    .flags = PF_MIN_EXCL,                                                                          \
    .doc = "First-response SLA threshold of " #CH " tickets: a ticket breaches when no agent has " \
           "replied by open + threshold; `service_level_pct` counts first replies within it."      \
  }
#define COST_ROW(CH)                                                                               \
  {                                                                                                \
    .key = "cost." #CH, .type = "number", .set = set_double,                                       \
    .off = OFF(cost_per_hour[CCP_CH_##CH]), .max = 1e12, .flags = PF_OPTIONAL,                     \
    .doc = "Cost of one handled hour (talk + hold + after-contact work) on " #CH ", in any "       \
           "currency, for `cost_per_resolution`; unset = 0, and while no channel has a cost "      \
           "`cost_per_resolution` is null."                                                        \
  }

#define STR(field)                                                                                 \
  .type = "string", .set = set_str, .off = OFF(field), .size = sizeof(((ccp_config_t *)0)->field)

/* clang-format off */
static const prop_t props[] = {
  /* time */
  {.key = "lateness", DURATION, .off = OFF(lateness_ms), .def = "5m", .max = DUR_MAX,
   .doc = "An event with ts < now - lateness is late and dropped; event ids are remembered this "
          "long to drop duplicates."},
  {.key = "timezone", .type = "string", .set = set_timezone, .off = OFF(timezone),
   .size = sizeof(((ccp_config_t *)0)->timezone), .def = "UTC",
   .doc = "IANA time zone whose local midnight starts the `today` window (DST-aware), e.g. "
          "`Asia/Jakarta`; must exist under $TZDIR or /usr/share/zoneinfo."},
  {.key = "windows", .type = "window list", .set = set_list, .off = OFF(windows),
   .list = &lists[L_WINDOWS],
   .def = "1m:5s,5m:10s,15m:30s,1h:1m,24h:15m,today:1m",
   .doc = "KPI windows in output order, comma-separated: `span:granularity` (named by the span "
          "as written, or `today` for the calendar day) or `name=span:granularity`; the span must "
          "be a positive multiple of the granularity, a `today` granularity must divide 15m "
          "(local midnights fall on 15-minute edges); at most 8 windows of at most 10000 "
          "buckets each."},
  /* SLA */
  SLA_ROW(PHONE, "4m"),
  SLA_ROW(CHAT, "2m"),
  SLA_ROW(EMAIL, "24h"),
  SLA_ROW(SOCIAL, "1h"),
  {.key = "sla.queue.", .doc_key = "sla.queue.<QUEUE>.<CHANNEL>", .type = "duration",
   .set = set_sla_queue, .max = DUR_MAX, .flags = PF_PREFIX | PF_MIN_EXCL,
   .doc = "First-response SLA threshold for one queue x channel, overriding `sla.<CHANNEL>` "
          "(QUEUE is everything between `sla.queue.` and the last `.`; CHANNEL is PHONE, CHAT, "
          "EMAIL or SOCIAL); not read from the environment. At most 256 distinct thresholds "
          "together with `sla.<CHANNEL>`."},
  {.key = "sla.at_risk", .type = "number", .set = set_double, .off = OFF(sla_at_risk_fraction),
   .def = "0.8", .max = 1, .flags = PF_MIN_EXCL | PF_MAX_EXCL,
   .doc = "An `sla_at_risk` alert fires when a waiting ticket has used this fraction of its SLA "
          "threshold."},
  {.key = "short_abandon", DURATION, .off = OFF(short_abandon_ms), .def = "5s", .max = DUR_MAX,
   .doc = "An abandon whose wait (abandon - open) is below this is short: counted in "
          "`abandoned_short` and left out of `service_level_pct`."},
  {.key = "backlog_age", DURATION, .off = OFF(backlog_age_ms), .def = "24h", .max = DUR_MAX,
   .flags = PF_MIN_EXCL,
   .doc = "An open ticket older than this counts in the `backlog_aged` gauge."},
  /* money and scorecard */
  COST_ROW(PHONE),
  COST_ROW(CHAT),
  COST_ROW(EMAIL),
  COST_ROW(SOCIAL),
  {.key = "scorecard", .type = "scorecard", .set = set_list, .off = OFF(score_terms),
   .list = &lists[L_SCORECARD],
   .def = "csat_pct>=85:40,fcr_pct>=70:30,aht_avg_ms<=360000:30",
   .doc = "Agent scorecard terms `kpi>=target:weight` or `kpi<=target:weight` (a windowed KPI "
          "id, a target > 0, a weight in percent); the weights must sum to 100."},
  /* customers */
  {.key = "retention.period", DURATION, .off = OFF(retention_period_ms), .def = "30d",
   .max = DUR_MAX, .flags = PF_MIN_EXCL,
   .doc = "Period P of `retention_pct` and `churn_pct`: customers active in (now-2P, now-P] who "
          "are active again in (now-P, now]."},
  /* memory bounds */
  {.key = "tickets.ttl", DURATION, .off = OFF(ticket_ttl_ms), .def = "30d", .max = DUR_MAX,
   .flags = PF_MIN_EXCL,
   .doc = "A ticket with no event for this long (stream time) is forgotten."},
  {.key = "tickets.max", .type = "integer", .set = set_int, .off = OFF(max_tickets),
   .def = "10000000", .min = 1, .max = (double)COUNT_MAX,
   .doc = "Most tickets held; one more evicts the least recently touched (counted in diagnostics.evicted_tickets and logged by replay and the live workers)."},
  {.key = "dedup.max", .type = "integer", .set = set_int, .off = OFF(max_dedup),
   .def = "16000000", .min = 1, .max = (double)COUNT_MAX,
   .doc = "Most event ids remembered for duplicate detection."},
  {.key = "limits.queues", .type = "integer", .set = set_int, .off = OFF(max_queues),
   .def = "2000", .min = 1, .max = (double)CCP_CONFIG_QUEUES_MAX,
   .doc = "Most queue scopes per engine (partition); an event whose new queue would be one more "
          "is attributed to `queue:~other` (still counted in `all` and its channel) and counted "
          "in diagnostics.overflow_events; the merged view keeps at most this many too "
          "(docs/limits.md)."},
  {.key = "limits.agents", .type = "integer", .set = set_int, .off = OFF(max_agents),
   .def = "50000", .min = 1, .max = (double)CCP_CONFIG_AGENTS_MAX,
   .doc = "Most agent scopes per engine (partition); beyond it as `limits.queues`, into "
          "`agent:~other` (docs/limits.md)."},
  {.key = "limits.customers", .type = "integer", .set = set_int, .off = OFF(max_customers),
   .def = "10000000", .min = 1, .max = (double)COUNT_MAX,
   .doc = "Most customers an engine tracks for `retention_pct`; a new customer beyond it is "
          "not tracked, counted in diagnostics.evicted_customers (docs/limits.md)."},
  {.key = "limits.customer_entries", .type = "integer", .set = set_int,
   .off = OFF(max_cust_entries), .def = "40000000", .min = 1, .max = (double)COUNT_MAX,
   .doc = "Most (customer, scope) entries an engine holds for `customers_handled`, all scopes "
          "together; at the cap the entries older than every window are swept (at most once "
          "per hour of stream time) and a new one is refused, counted in "
          "diagnostics.evicted_customers (docs/limits.md)."},
  /* live pipeline (ccpulse run, docs/live.md) */
  {.key = "kafka.brokers", STR(kafka_brokers), .def = "127.0.0.1:9092",
   .doc = "Kafka bootstrap servers, `host:port[,host:port...]` (`ccpulse run --brokers`)."},
  {.key = "kafka.topic", STR(kafka_topic), .def = "tickets",
   .doc = "Topic of ticket events, keyed by ticket_id (`ccpulse run --topic`)."},
  {.key = "kafka.group", STR(kafka_group), .def = "ccpulse",
   .doc = "Consumer group id; instances in one group share the partitions (`--group`)."},
  {.key = "kafka.", .doc_key = "kafka.<property>", .type = "string", .set = set_kafka_prop,
   .flags = PF_PREFIX,
   .doc = "Any other librdkafka property, passed through to the consumer and the dead-letter "
          "producer (e.g. `kafka.fetch.wait.max.ms = 10`); an unknown property or bad value is "
          "rejected at start-up with librdkafka's message; from the environment as "
          "`CCPULSE_KAFKA_<PROPERTY>` ('_' -> '.', '__' -> '_'); `kafka.bootstrap.servers` "
          "and `kafka.group.id` stand for `kafka.brokers` and `kafka.group` (set both with "
          "different values: an error)."},
  {.key = "redis", STR(redis_url), .def = "redis://127.0.0.1:6379",
   .doc = "Redis server the snapshots and alerts go to, `redis://host:port[/db]` (`--redis`)."},
  {.key = "redis.prefix", STR(redis_prefix), .def = "ccpulse:",
   .doc = "Prefix of every Redis key ccpulse writes."},
  {.key = "redis.snapshots.maxlen", .type = "integer", .set = set_int,
   .off = OFF(redis_snapshots_maxlen), .def = "1000", .max = 100000000,
   .doc = "Approximate cap (`XADD MAXLEN ~`) of the snapshot stream `<prefix>snapshots`; "
          "0 = no snapshot stream (tiles only; docs/redis.md)."},
  {.key = "redis.snapshots.max_mb", .type = "number", .set = set_double,
   .off = OFF(redis_snap_max_mb), .def = "512", .max = 1e9,
   .doc = "About this many MB (10^6 bytes) of documents are kept in the snapshot stream: an "
          "entry of S MB is added with `MAXLEN ~ min(redis.snapshots.maxlen, max(1, this / S))` "
          "(a 20,000-agent document is tens of MB); 0 = no byte cap (docs/redis.md)."},
  {.key = "redis.snapshots.mb_per_s", .type = "number", .set = set_double,
   .off = OFF(redis_snap_mb_per_s), .def = "1.5", .max = 1e9,
   .doc = "Pacing of the snapshot stream: after an entry of S MB the next one comes no sooner "
          "than S / this seconds later (on the `publish.snapshot_interval` grid), so large "
          "documents go out less often than every interval; 0 = no pacing (docs/redis.md)."},
  {.key = "publish.interval", DURATION, .off = OFF(publish_interval_ms), .def = "250ms",
   .min = 10, .max = 3600000,
   .doc = "Period of the publish cycle: export every partition, merge, write the changed Redis "
          "tiles atomically, then commit the offsets covered."},
  {.key = "publish.catchup_interval", .type = "duration", .set = set_duration_or_off,
   .off = OFF(catchup_interval_ms), .def = "1s", .min = 0, .max = 3600000,
   .doc = "While `ccpulse run` catches up old data (the stream is not live and the records "
          "not yet read would take more than two publish intervals to read at the current "
          "pace), a publish cycle comes only this often: each cycle exports, merges and "
          "renders everything that changed, which far behind is every scope; back to "
          "`publish.interval` as soon as the rest is within two intervals of reading, so the "
          "last records are published as promptly as ever; `0` or `off`: always "
          "`publish.interval` (docs/live.md, \"Catching up\")."},
  {.key = "publish.snapshot_interval", DURATION, .off = OFF(snapshot_interval_ms), .def = "1s",
   .min = 0, .max = 3600000,
   .doc = "The snapshot stream gets a document at most this often (on the first publish cycle "
          "at or after each due time, and in the final cycle); 0 = with every cycle. The tiles "
          "and the scope set keep the `publish.interval` cadence; the `scope` documents follow "
          "this cadence (docs/redis.md)."},
  {.key = "publish.wait_refresh", DURATION, .off = OFF(wait_refresh_ms), .def = "5s", .min = 0,
   .max = 3600000,
   .doc = "A Redis `gauges` tile whose only change is `longest_wait_ms` (it grows while "
          "tickets wait) is rewritten once the value it holds is this far behind; a `scope` "
          "document is not rewritten for `longest_wait_ms` alone. Both carry "
          "`waiting_since_ms` for an exact wait at any time (docs/redis.md); 0 = both rewritten "
          "whenever it changes."},
  {.key = "workers", .type = "integer", .set = set_int, .off = OFF(workers), .def = "0",
   .max = 1024,
   .doc = "Worker threads that own the partitions' engines; 0 = the number of cores."},
  {.key = "schema.writer", STR(schema_writer), .def = "",
   .doc = "Path of the Avro writer schema (.avsc) of plain (unframed) records; empty = the "
          "built-in v1 schema (schemas/ticket_event.avsc)."},
  {.key = "schema.registry.", .doc_key = "schema.registry.<ID>", .type = "path",
   .set = set_schema_reg, .flags = PF_PREFIX,
   .doc = "Writer schema file of Confluent schema id ID: records starting with magic byte 0 and "
          "a 4-byte id are decoded with it; not read from the environment."},
  /* Confluent schema registry (docs/schemas.md) */
  {.key = "schema.registry.url", .type = "url", .set = set_registry_url,
   .off = OFF(schema_registry_url), .size = sizeof(((ccp_config_t *)0)->schema_registry_url),
   .def = "",
   .doc = "Confluent Schema Registry, `http(s)://[user:password@]host[:port][/path]`: the writer "
          "schema of a Confluent-framed record whose id has no `schema.registry.<ID>` file is "
          "fetched from `GET /schemas/ids/<ID>` on first sight and kept (a local file for an id "
          "wins); empty = local files only (docs/schemas.md)."},
  {.key = "schema.registry.basic.auth.user.info", .type = "secret", .set = set_user_info,
   .off = OFF(schema_registry_user_info),
   .size = sizeof(((ccp_config_t *)0)->schema_registry_user_info), .def = "",
   .doc = "HTTP basic auth of the registry as `user:password` (as Confluent clients name it; "
          "never logged), e.g. from `CCPULSE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`; empty = the "
          "user and password of the URL, if any."},
  {.key = "schema.registry.retry", DURATION, .off = OFF(schema_registry_retry_ms), .def = "30s",
   .min = 100, .max = 3600000,
   .doc = "After a failed fetch (id not found, registry unreachable, refused credentials) "
          "records with that id go to the dead-letter topic without asking again for this long; "
          "the next record after it asks again, so a newly registered id starts working without "
          "a restart."},
  {.key = "schema.registry.timeout", DURATION, .off = OFF(schema_registry_timeout_ms),
   .def = "3s", .min = 100, .max = 60000,
   .doc = "Longest time one schema fetch may take, connect included; the worker that asks waits "
          "for it (once per id, or per back-off)."},
  {.key = "schema.registry.connect_timeout", DURATION, .off = OFF(schema_registry_connect_ms),
   .def = "1s", .min = 10, .max = 60000,
   .doc = "Longest TCP (and TLS) connect of a schema fetch."},
  {.key = "dlq.topic", STR(dlq_topic), .def = "",
   .doc = "Dead-letter topic that undecodable records are copied to (with `ccpulse.reason` "
          "headers); empty = `<kafka.topic>.dlq`."},
  {.key = "alerts.rules", .type = "string", .set = set_heap_str, .off = OFF(alerts_rules),
   .def = "", .flags = PF_APPEND,
   .doc = "Threshold alert rules on windowed KPIs (syntax in docs/alerts.md), separated by `;` or "
          "newlines; repeated in one config file (or by several `--set`), the lines add up, one "
          "rule or more each; empty = none."},
  {.key = "alerts.dedup_window", DURATION, .off = OFF(alerts_dedup_window_ms), .def = "24h",
   .max = DUR_MAX,
   .doc = "`ccpulse run` writes each alert id once to the Redis alerts stream: the ids of "
          "threshold alerts (with `checkpoint.interval=off` of every alert) are remembered while "
          "the alert's due time is within this much stream time (and at least `lateness`) of the "
          "newest publish cycle; with checkpoints, a partition's deadline alert ids are kept until "
          "a stored checkpoint of the partition rules them out of any restore, whatever span is "
          "read again; about 100 bytes of Redis memory plus the id per alert (docs/redis.md); 0 = "
          "no de-duplication (at least once)."},
  {.key = "checkpoint.interval", .type = "duration", .set = set_duration_or_off,
   .off = OFF(checkpoint_interval_ms), .def = "5s", .min = 0, .max = 3600000,
   .doc = "In `ccpulse run`, every partition's engine state and next offset are written to Redis "
          "this often (and at shutdown), in the transaction of a publish cycle (one that read "
          "nothing and saw only time move keeps its stored checkpoint); a partition "
          "assigned later, to this or another instance, continues from its checkpoint; offsets "
          "committed to Kafka are those of the last stored checkpoint; `0` or `off` = no "
          "checkpoints, commit every cycle (docs/checkpoints.md)."},
  {.key = "live.idle_advance", DURATION, .off = OFF(idle_advance_ms), .def = "500ms", .min = 0,
   .max = DUR_MAX,
   .doc = "In `ccpulse run`, while the stream is live (its stream time within `lateness` of the "
          "wall clock) stream time follows the wall clock minus this delay, so deadline alerts "
          "fire on time in quiet periods while replies in flight this long still count "
          "(docs/live.md)."},
  {.key = "live.max_future", DURATION, .off = OFF(max_future_ms), .def = "5m", .min = 0,
   .max = DUR_MAX,
   .doc = "In `ccpulse run`, an event whose ts is more than this ahead of the wall clock is "
          "invalid: counted in diagnostics.invalid_events and sent to the dead-letter topic "
          "with the reason, so one producer with a wrong clock cannot make the rest of the "
          "stream late (docs/kpis.md §7; replay has no wall clock)."},
  {.key = "http.listen", STR(http_listen), .def = "127.0.0.1:9464",
   .doc = "`HOST:PORT` of the HTTP endpoint of `ccpulse run` and `ccpulse demo`: `/metrics` "
          "(Prometheus), `/healthz`, `/readyz` (docs/operations.md, Monitoring); `[::1]:9464` "
          "for IPv6, `0.0.0.0:9464` or `:9464` for every interface, port 0 for any free port; "
          "empty = no HTTP server. A port in use stops the start-up (exit 2)."},
  /* logs */
  {.key = "log.level", .type = "level", .set = set_log, .off = OFF(log_level),
   .def = "info",
   .doc = "Least severe log line written to standard error: `error`, `warn`, `info` or `debug` "
          "(librdkafka's own debug lines, from `kafka.debug`, need `debug`; docs/live.md)."},
  {.key = "log.format", .type = "format", .set = set_log, .off = OFF(log_format),
   .def = "text",
   .doc = "Log line format: `text` (`TIME LEVEL component: message`) or `json` (one object per "
          "line with ts, level, component and msg)."},
};
/* clang-format on */

static const prop_t *find_prop(const char *key) {
  for (size_t i = 0; i < CCP_ARRAY_LEN(props); i++)
    if (!(props[i].flags & PF_PREFIX) && strcmp(props[i].key, key) == 0)
      return &props[i];
  for (size_t i = 0; i < CCP_ARRAY_LEN(props); i++)
    if ((props[i].flags & PF_PREFIX) && strncmp(props[i].key, key, strlen(props[i].key)) == 0)
      return &props[i];
  return NULL;
}

/* ---- keys of ours that librdkafka knows by another name ----------------- */

/* kafka.brokers and kafka.group are librdkafka's bootstrap.servers (alias
 * metadata.broker.list) and group.id. Each may come from a flag (--brokers,
 * --group), a file, the environment, or as `kafka.<name>`: two places with
 * different values are an error (before, one silently beat the other);
 * equal values are fine. Origins are kept for the message. */
static const struct kafka_alias {
  const char *key;      /* our key */
  size_t off, size;     /* its value */
  size_t origin_off;    /* where it was set ("" = default) */
  const char *names[2]; /* librdkafka's names of the property (NULL-padded) */
} kafka_aliases[] = {
    {"kafka.brokers",
     OFF(kafka_brokers),
     sizeof(((ccp_config_t *)0)->kafka_brokers),
     OFF(kafka_brokers_origin),
     {"bootstrap.servers", "metadata.broker.list"}},
    {"kafka.group",
     OFF(kafka_group),
     sizeof(((ccp_config_t *)0)->kafka_group),
     OFF(kafka_group_origin),
     {"group.id", NULL}},
};

#define ALIAS_FIELD(cfg, off) ((char *)(cfg) + (off))

/* After a successful set: where a kafka.* property or an aliased key of
 * ours was set (NULL origin: "set by the program"). */
static void note_origin(ccp_config_t *cfg, const prop_t *p, const char *key, const char *origin) {
  const char *o = origin ? origin : "set by the program";
  if (p->set == set_kafka_prop) {
    const char *name = key + strlen(p->key);
    for (int i = 0; i < cfg->nkafka_props; i++)
      if (strcmp(cfg->kafka_props[i].key, name) == 0) {
        ccp_free(cfg->kafka_props[i].origin);
        cfg->kafka_props[i].origin = ccp_strdup(o);
      }
    return;
  }
  for (size_t a = 0; a < CCP_ARRAY_LEN(kafka_aliases); a++)
    if (strcmp(kafka_aliases[a].key, key) == 0)
      snprintf(ALIAS_FIELD(cfg, kafka_aliases[a].origin_off), sizeof cfg->kafka_brokers_origin,
               "%s", o);
}

/* Settles one alias (ccp_config_finish): at most one value among our key
 * (when set) and the kafka.<name> properties; the property moves to our key. */
static int settle_alias(ccp_config_t *cfg, const struct kafka_alias *al, char *errbuf,
                        size_t errlen) {
  char *val = ALIAS_FIELD(cfg, al->off), *origin = ALIAS_FIELD(cfg, al->origin_off);
  /* the value and name of the first place that set it */
  const char *first = origin[0] ? val : NULL, *first_origin = origin;
  char first_name[64];
  snprintf(first_name, sizeof first_name, "%s", al->key);
  for (int i = 0; i < cfg->nkafka_props;) {
    ccp_kv_t *kv = &cfg->kafka_props[i];
    int match = 0;
    for (size_t n = 0; n < CCP_ARRAY_LEN(al->names) && al->names[n]; n++)
      match |= strcmp(kv->key, al->names[n]) == 0;
    if (!match) {
      i++;
      continue;
    }
    const char *kv_origin = kv->origin ? kv->origin : "set by the program";
    if (first && strcmp(first, kv->value) != 0) {
      msgf(errbuf, errlen,
           "conflicting settings: '%s' = '%.*s%s' (%s) and 'kafka.%s' = '%.*s%s' (%s) both set "
           "librdkafka's %s; keep one",
           first_name, QV(first), first_origin, kv->key, QV(kv->value), kv_origin, al->names[0]);
      return -CCP_EINVAL;
    }
    if (!first) {
      if (strlen(kv->value) >= al->size) {
        msgf(errbuf, errlen, "%s: config key 'kafka.%s': value is too long (at most %zu bytes)",
             kv_origin, kv->key, al->size - 1);
        return -CCP_ERANGE;
      }
      memcpy(val, kv->value, strlen(kv->value) + 1);
      snprintf(origin, sizeof cfg->kafka_brokers_origin, "%s", kv_origin);
      snprintf(first_name, sizeof first_name, "kafka.%s", kv->key);
      first = val;
      first_origin = origin;
    }
    /* it reaches librdkafka through our key: drop the property */
    ccp_free(kv->key);
    ccp_free(kv->value);
    ccp_free(kv->origin);
    memmove(kv, kv + 1, (size_t)(cfg->nkafka_props - i - 1) * sizeof *kv);
    cfg->nkafka_props--;
  }
  return 0;
}

/* ---- public API ---------------------------------------------------------- */

void ccp_config_init(ccp_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  char msg[CCP_ERRBUF_SIZE];
  for (size_t i = 0; i < CCP_ARRAY_LEN(props); i++) {
    const prop_t *p = &props[i];
    if (p->flags & PF_PREFIX)
      continue;
    if (!p->def) {
      CCP_ASSERT(p->set == set_double); /* only numbers may be unset */
      *FIELD(cfg, p, double) = NAN;
      continue;
    }
    if (p->set(p, cfg, p->key, p->def, msg, sizeof msg) < 0)
      ccp__fatal(__FILE__, __LINE__, msg); /* a bad default is a bug */
  }
}

void ccp_config_release(ccp_config_t *cfg) {
  for (int i = 0; i < cfg->nsla_overrides; i++)
    ccp_free(cfg->sla_overrides[i].queue);
  ccp_free(cfg->sla_overrides);
  cfg->sla_overrides = NULL;
  cfg->nsla_overrides = 0;
  for (int i = 0; i < cfg->nkafka_props; i++) {
    ccp_free(cfg->kafka_props[i].key);
    ccp_free(cfg->kafka_props[i].value);
    ccp_free(cfg->kafka_props[i].origin);
  }
  ccp_free(cfg->kafka_props);
  cfg->kafka_props = NULL;
  cfg->nkafka_props = 0;
  for (int i = 0; i < cfg->nschema_registry; i++)
    ccp_free(cfg->schema_registry[i].path);
  ccp_free(cfg->schema_registry);
  cfg->schema_registry = NULL;
  cfg->nschema_registry = 0;
  ccp_free(cfg->alerts_rules);
  cfg->alerts_rules = NULL;
}

/* Replaces each occurrence of shown (n > 0 bytes) in msg by "***". */
static void mask_in(char *msg, size_t size, const char *shown, size_t n) {
  char *at;
  while ((at = strstr(msg, shown)) != NULL && strlen(msg) - n + 3 < size) {
    memmove(at + 3, at + n, strlen(at + n) + 1);
    memcpy(at, "***", 3);
  }
}

void ccp_config_mask_value(char *msg, size_t size, const char *value) {
  if (!*value)
    return;
  mask_in(msg, size, value, strlen(value));
  char shown[128]; /* as the setters quote a long value (QV) */
  snprintf(shown, sizeof shown, "%.*s%s", QV(value));
  mask_in(msg, size, shown, strlen(shown));
}

int ccp_config_set(ccp_config_t *cfg, const char *key, const char *value, const char *origin,
                   char *errbuf, size_t errlen) {
  const char *pre = origin ? origin : "", *sep = origin ? ": " : "";
  const prop_t *p = find_prop(key);
  if (!p) {
    for (size_t i = 0; i < CCP_ARRAY_LEN(props); i++)
      if (!(props[i].flags & PF_PREFIX) && strcasecmp(props[i].key, key) == 0) {
        msgf(errbuf, errlen, "%s%sunknown config key '%s' (did you mean '%s'?)", pre, sep, key,
             props[i].key);
        return -CCP_ENOTFOUND;
      }
    msgf(errbuf, errlen, "%s%sunknown config key '%.*s%s'", pre, sep, QV(key));
    return -CCP_ENOTFOUND;
  }
  char msg[CCP_ERRBUF_SIZE];
  msg[0] = '\0';
  /* Setters see the value without surrounding whitespace. */
  char *v = ccp_strdup(value ? value : "");
  size_t vlen = strlen(v);
  while (vlen && isspace((unsigned char)v[vlen - 1]))
    v[--vlen] = '\0';
  int rc = p->set(p, cfg, key, skip_ws(v), msg, sizeof msg);
  if (rc < 0 && (ccp_config_is_secret_key(key) || strcmp(key, "redis") == 0))
    ccp_config_mask_value(msg, sizeof msg, skip_ws(v));
  ccp_free(v);
  if (rc < 0)
    msgf(errbuf, errlen, "%s%sconfig key '%.*s%s': %s", pre, sep, QV(key), msg);
  else
    note_origin(cfg, p, key, origin);
  return rc;
}

int ccp_config_append(ccp_config_t *cfg, const char *key, const char *value, const char *origin,
                      char *errbuf, size_t errlen) {
  const prop_t *p = find_prop(key);
  const char *old = p && (p->flags & PF_APPEND) ? *FIELD(cfg, p, char *) : NULL;
  if (!old || !*old)
    return ccp_config_set(cfg, key, value, origin, errbuf, errlen);
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_buf_printf(&b, "%s\n%s", old, skip_ws(value ? value : ""));
  int rc = ccp_config_set(cfg, key, b.data, origin, errbuf, errlen);
  ccp_buf_release(&b);
  return rc;
}

/* The keys a config file has set so far, with their lines. */
typedef struct seen {
  char *key;
  int line;
} seen_t;

/* Sets key from line `lineno` of a file: the first time with
 * ccp_config_set(), again only for a PF_APPEND key (appended); any other key
 * set twice in one file is an error naming both lines. */
static int file_set(ccp_config_t *cfg, seen_t **seen, int *nseen, const char *key,
                    const char *value, const char *origin, int lineno, char *errbuf,
                    size_t errlen) {
  for (int i = 0; i < *nseen; i++) {
    if (strcmp((*seen)[i].key, key) != 0)
      continue;
    const prop_t *p = find_prop(key);
    if (p && (p->flags & PF_APPEND))
      return ccp_config_append(cfg, key, value, origin, errbuf, errlen);
    msgf(errbuf, errlen,
         "%s: config key '%.*s%s' is set again (first on line %d); a key may appear once per "
         "file (only alerts.rules lines add up)",
         origin, QV(key), (*seen)[i].line);
    return -CCP_EINVAL;
  }
  int rc = ccp_config_set(cfg, key, value, origin, errbuf, errlen);
  if (rc == 0) {
    *seen = ccp_realloc(*seen, (size_t)(*nseen + 1) * sizeof **seen);
    (*seen)[*nseen].key = ccp_strdup(key);
    (*seen)[(*nseen)++].line = lineno;
  }
  return rc;
}

int ccp_config_load_file(ccp_config_t *cfg, const char *path, char *errbuf, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    msgf(errbuf, errlen, "cannot open config file '%s': %s", path, strerror(errno));
    return -CCP_EIO;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int lineno = 0, rc = 0, nseen = 0;
  seen_t *seen = NULL;
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    /* Comments: '#' at the start of the line or after whitespace. */
    for (char *c = line; *c; c++)
      if (*c == '#' && (c == line || isspace((unsigned char)c[-1]))) {
        *c = '\0';
        break;
      }
    char *s = (char *)skip_ws(line);
    if (!*s)
      continue;
    char origin[512];
    snprintf(origin, sizeof origin, "%s:%d", path, lineno);
    char *eq = strchr(s, '=');
    char key[256];
    if (eq)
      trim_copy(s, (size_t)(eq - s), key, sizeof key);
    if (!eq || !key[0]) {
      char shown[256];
      trim_copy(s, strlen(s), shown, sizeof shown);
      /* `kafka.sasl.password s3cret`: the first word only */
      size_t w = strcspn(shown, " \t");
      if (shown[w] && (strncmp(shown, "redis", 5) == 0 || strncmp(shown, "kafka.", 6) == 0))
        memcpy(shown + w, " ...", 5);
      msgf(errbuf, errlen, "%s: expected 'key = value', got '%.*s%s'", origin, QV(shown));
      rc = -CCP_EPARSE;
      break;
    }
    if ((rc = file_set(cfg, &seen, &nseen, key, eq + 1, origin, lineno, errbuf, errlen)) < 0)
      break;
  }
  for (int i = 0; i < nseen; i++)
    ccp_free(seen[i].key);
  ccp_free(seen);
  if (rc == 0 && ferror(f)) {
    msgf(errbuf, errlen, "cannot read config file '%s': %s", path, strerror(errno));
    rc = -CCP_EIO;
  }
  free(line); /* from getline: plain malloc */
  fclose(f);
  return rc;
}

/* CCPULSE_ + key upper-cased, '.' -> '_'. */
static void env_name(const char *key, char *out, size_t len) {
  size_t j = (size_t)snprintf(out, len, "CCPULSE_");
  for (; *key && j + 1 < len; key++)
    out[j++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
  out[j] = '\0';
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The kafka.<property> of CCPULSE_KAFKA_<REST>: REST lower-cased, '_' ->
 * '.', '__' -> '_' (librdkafka's log_level and enabled_events), into key
 * (keylen bytes). Returns 0, or -CCP_EINVAL when REST is empty, starts or
 * ends with '_', or holds more than two '_' in a row. */
static int env_kafka_key(const char *rest, char *key, size_t keylen) {
  size_t j = (size_t)snprintf(key, keylen, "kafka.");
  size_t n = strlen(rest);
  if (!n || rest[0] == '_' || rest[n - 1] == '_' || strstr(rest, "___"))
    return -CCP_EINVAL;
  for (size_t i = 0; i < n && j + 1 < keylen; i++) {
    if (rest[i] == '_' && rest[i + 1] == '_') {
      key[j++] = '_';
      i++;
    } else {
      key[j++] = rest[i] == '_' ? '.' : (char)tolower((unsigned char)rest[i]);
    }
  }
  key[j] = '\0';
  return 0;
}

extern char **environ;

int ccp_config_load_env(ccp_config_t *cfg, char *errbuf, size_t errlen) {
  for (size_t i = 0; i < CCP_ARRAY_LEN(props); i++) {
    if (props[i].flags & PF_PREFIX)
      continue;
    char name[128], origin[160];
    env_name(props[i].key, name, sizeof name);
    const char *v = getenv(name);
    if (!v || !*v)
      continue; /* an empty variable counts as unset */
    snprintf(origin, sizeof origin, "environment %s", name);
    int rc = ccp_config_set(cfg, props[i].key, v, origin, errbuf, errlen);
    if (rc < 0)
      return rc;
  }
  /* CCPULSE_KAFKA_<PROPERTY>: every variable but those of the table's own
   * kafka.* keys (CCPULSE_KAFKA_BROKERS...), in name order */
  static const char pre[] = "CCPULSE_KAFKA_";
  size_t n = 0, cap = 0;
  char **names = NULL;
  for (char **e = environ; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq || strncmp(*e, pre, sizeof pre - 1) != 0 || !eq[1])
      continue;
    char *name = ccp_strndup(*e, (size_t)(eq - *e)), table[128];
    int own = 0;
    for (size_t i = 0; i < CCP_ARRAY_LEN(props) && !own; i++) {
      env_name(props[i].key, table, sizeof table);
      own = !(props[i].flags & PF_PREFIX) && strcmp(table, name) == 0;
    }
    if (own) {
      ccp_free(name);
      continue;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 8;
      names = ccp_realloc(names, cap * sizeof *names);
    }
    names[n++] = name;
  }
  if (n)
    qsort(names, n, sizeof *names, cmp_str);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    char key[256], origin[300];
    snprintf(origin, sizeof origin, "environment %s", names[i]);
    if (env_kafka_key(names[i] + sizeof pre - 1, key, sizeof key) < 0) {
      msgf(errbuf, errlen,
           "%s: expected CCPULSE_KAFKA_<PROPERTY> ('_' for '.', '__' for '_' in the name)", origin);
      rc = -CCP_EINVAL;
    } else {
      rc = ccp_config_set(cfg, key, getenv(names[i]), origin, errbuf, errlen);
    }
  }
  for (size_t i = 0; i < n; i++)
    ccp_free(names[i]);
  ccp_free(names);
  return rc;
}

int ccp_config_finish(ccp_config_t *cfg, char *errbuf, size_t errlen) {
  for (size_t a = 0; a < CCP_ARRAY_LEN(kafka_aliases); a++) {
    int rc = settle_alias(cfg, &kafka_aliases[a], errbuf, errlen);
    if (rc < 0)
      return rc;
  }
  double sum = 0;
  for (int i = 0; i < cfg->nscore_terms; i++)
    sum += cfg->score_terms[i].weight;
  if (fabs(sum - 100.0) > 1e-9) {
    msgf(errbuf, errlen, "config key 'scorecard': weights sum to %.15g, not 100", sum);
    return -CCP_EINVAL;
  }
  int64_t thr[CCP_CONFIG_SLA_DISTINCT_MAX];
  if (ccp_config_sla_distinct(cfg, thr) < 0) {
    msgf(errbuf, errlen,
         "config key 'sla.queue.*': more than %d distinct first-response thresholds "
         "(sla.<CHANNEL> and sla.queue.* together)",
         CCP_CONFIG_SLA_DISTINCT_MAX);
    return -CCP_EINVAL;
  }
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int ccp_config_sla_distinct(const ccp_config_t *cfg, int64_t *out) {
  int n = 0;
  for (int i = 0; i < CCP_CH__COUNT + cfg->nsla_overrides; i++) {
    int64_t v = i < CCP_CH__COUNT ? cfg->sla_ms[i] : cfg->sla_overrides[i - CCP_CH__COUNT].ms;
    int seen = 0;
    for (int k = 0; k < n && !seen; k++)
      seen = out[k] == v;
    if (seen)
      continue;
    if (n == CCP_CONFIG_SLA_DISTINCT_MAX)
      return -1;
    out[n++] = v;
  }
  qsort(out, (size_t)n, sizeof *out, cmp_i64);
  return n;
}

void ccp_config_apply_log(const ccp_config_t *cfg) {
  ccp_log_set_level((ccp_log_level_t)cfg->log_level);
  ccp_log_set_format((ccp_log_format_t)cfg->log_format);
  ccp_config_protect_log(cfg);
}

int64_t ccp_config_sla_ms(const ccp_config_t *cfg, const char *queue, size_t queue_len,
                          int channel) {
  CCP_ASSERT(channel >= 0 && channel < CCP_CH__COUNT);
  if (cfg->nsla_overrides && queue) {
    int i = ovr_lower_bound(cfg, queue, queue_len, channel);
    if (i < cfg->nsla_overrides && ovr_cmp(queue, queue_len, channel, &cfg->sla_overrides[i]) == 0)
      return cfg->sla_overrides[i].ms;
  }
  return cfg->sla_ms[channel];
}

/* ---- secrets and the effective configuration ---------------------------- */

int ccp_config_is_secret_key(const char *key) {
  if (strcmp(key, "schema.registry.basic.auth.user.info") == 0)
    return 1;
  if (strncmp(key, "kafka.", 6) != 0)
    return 0;
  const char *name = key + 6;
  return strncmp(name, "sasl.", 5) == 0 || strncmp(name, "ssl.", 4) == 0 ||
         strstr(name, "password") != NULL || strstr(name, "secret") != NULL;
}

/* The userinfo of url: [*start, *at) between "://" (or the start) and the
 * last '@' of the whole url; 0 when it has none. */
static int url_userinfo(const char *url, size_t *start, size_t *at) {
  const char *p = strstr(url, "://"), *q = strrchr(url, '@');
  *start = p ? (size_t)(p - url) + 3 : 0;
  if (!q || (size_t)(q - url) < *start)
    return 0;
  *at = (size_t)(q - url);
  return 1;
}

const char *ccp_config_redact_url(const char *url, char *out, size_t outlen) {
  size_t start, at;
  if (url_userinfo(url, &start, &at))
    snprintf(out, outlen, "%.*s***%s", (int)start, url, url + at);
  else
    snprintf(out, outlen, "%s", url);
  return out;
}

/* Registers the user info of a URL or a "user:password" with the logger:
 * the whole and the password alone. */
static void protect_user_info(const char *info, size_t len) {
  if (!len)
    return;
  char *s = ccp_strndup(info, len);
  char *colon = strchr(s, ':');
  ccp_log_add_secret(s); /* user:password */
  if (colon)
    ccp_log_add_secret(colon + 1); /* the password alone */
  ccp_free(s);
}

void ccp_config_protect_log(const ccp_config_t *cfg) {
  size_t start, at;
  if (url_userinfo(cfg->redis_url, &start, &at))
    protect_user_info(cfg->redis_url + start, at - start);
  if (url_userinfo(cfg->schema_registry_url, &start, &at))
    protect_user_info(cfg->schema_registry_url + start, at - start);
  protect_user_info(cfg->schema_registry_user_info, strlen(cfg->schema_registry_user_info));
  for (int i = 0; i < cfg->nkafka_props; i++) {
    char key[512];
    snprintf(key, sizeof key, "kafka.%s", cfg->kafka_props[i].key);
    if (ccp_config_is_secret_key(key))
      ccp_log_add_secret(cfg->kafka_props[i].value);
  }
}

/* Calls fn with p's value in cfg as text ccp_config_set() takes back. */
static void visit_prop(const prop_t *p, const ccp_config_t *cfg, ccp_config_visit_fn fn,
                       void *opaque) {
  char v[1100], k[512];
  ccp_buf_t b;
  v[0] = '\0';
  if (p->set == set_duration || p->set == set_duration_or_off) {
    fmt_duration(*FIELD(cfg, p, int64_t), v, sizeof v);
  } else if (p->set == set_int) {
    snprintf(v, sizeof v, "%lld", (long long)*FIELD(cfg, p, int64_t));
  } else if (p->set == set_double) {
    double d = *FIELD(cfg, p, double);
    if (d == d)
      snprintf(v, sizeof v, "%.15g", d);
  } else if (p->set == set_str || p->set == set_timezone) {
    if (strcmp(p->key, "redis") == 0)
      ccp_config_redact_url(FIELD(cfg, p, char), v, sizeof v);
    else
      snprintf(v, sizeof v, "%s", FIELD(cfg, p, char));
  } else if (p->set == set_heap_str) {
    const char *h = *FIELD(cfg, p, char *);
    fn(opaque, p->key, h ? h : ""); /* any length */
    return;
  } else if (p->set == set_log) {
    int x = *FIELD(cfg, p, int);
    snprintf(v, sizeof v, "%s",
             strcmp(p->key, "log.level") == 0 ? ccp_log_level_name((ccp_log_level_t)x)
             : x == CCP_LOG_JSON              ? "json"
                                              : "text");
  } else if (p->set == set_list && p->list == &lists[L_WINDOWS]) {
    ccp_buf_init(&b);
    for (int i = 0; i < cfg->nwindows; i++) {
      const ccp_window_conf_t *w = &cfg->windows[i];
      char span[32], gran[32];
      snprintf(span, sizeof span, "today");
      if (!w->is_today)
        fmt_duration(w->span_ms, span, sizeof span);
      fmt_duration(w->granularity_ms, gran, sizeof gran);
      int64_t named = -1; /* a name that is the span as the user wrote it: "24h", not "1d" */
      int own = strcmp(w->name, span) != 0 &&
                !(!w->is_today && ccp_parse_duration(w->name, &named) == 0 && named == w->span_ms);
      ccp_buf_printf(&b, "%s%s%s%s:%s", i ? "," : "", own ? w->name : "", own ? "=" : "",
                     own || w->is_today ? span : w->name, gran);
    }
    fn(opaque, p->key, b.len ? b.data : "");
    ccp_buf_release(&b);
    return;
  } else if (p->set == set_list && p->list == &lists[L_SCORECARD]) {
    ccp_buf_init(&b);
    for (int i = 0; i < cfg->nscore_terms; i++) {
      const ccp_score_term_t *t = &cfg->score_terms[i];
      ccp_buf_printf(&b, "%s%s%s%.15g:%.15g", i ? "," : "", t->kpi,
                     t->higher_is_better ? ">=" : "<=", t->target, t->weight);
    }
    fn(opaque, p->key, b.len ? b.data : "");
    ccp_buf_release(&b);
    return;
  } else if (p->set == set_sla_queue) {
    for (int i = 0; i < cfg->nsla_overrides; i++) {
      const ccp_sla_override_t *o = &cfg->sla_overrides[i];
      snprintf(k, sizeof k, "%s%s.%s", p->key, o->queue, ccp_channel_name(o->channel));
      fmt_duration(o->ms, v, sizeof v);
      fn(opaque, k, v);
    }
    return;
  } else if (p->set == set_kafka_prop) {
    for (int i = 0; i < cfg->nkafka_props; i++) {
      snprintf(k, sizeof k, "%s%s", p->key, cfg->kafka_props[i].key);
      fn(opaque, k, ccp_config_is_secret_key(k) ? "***" : cfg->kafka_props[i].value);
    }
    return;
  } else if (p->set == set_schema_reg) {
    for (int i = 0; i < cfg->nschema_registry; i++) {
      snprintf(k, sizeof k, "%s%u", p->key, cfg->schema_registry[i].id);
      fn(opaque, k, cfg->schema_registry[i].path);
    }
    return;
  } else if (p->set == set_registry_url) {
    ccp_config_redact_url(FIELD(cfg, p, char), v, sizeof v);
  } else if (p->set == set_user_info) {
    snprintf(v, sizeof v, "%s", *FIELD(cfg, p, char) ? "***" : "");
  } else {
    snprintf(v, sizeof v, "(not shown)"); /* a setter this function does not know yet */
  }
  fn(opaque, p->key, v);
}

void ccp_config_each(const ccp_config_t *cfg, ccp_config_visit_fn fn, void *opaque) {
  for (size_t i = 0; i < CCP_ARRAY_LEN(props); i++)
    visit_prop(&props[i], cfg, fn, opaque);
}

static void describe_one(void *opaque, const char *key, const char *value) {
  ccp_buf_t *out = opaque;
  if (out->len)
    ccp_buf_putc(out, ' ');
  ccp_buf_printf(out, "%s=", key);
  int plain = *value != '\0';
  for (const char *c = value; *c && plain; c++)
    plain = (unsigned char)*c > ' ' && !strchr("\"\\=", *c);
  if (plain)
    ccp_buf_puts(out, value);
  else
    ccp_buf_put_json_str(out, value, strlen(value));
}

void ccp_config_describe(const ccp_config_t *cfg, ccp_buf_t *out) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_config_each(cfg, describe_one, &b);
  ccp_buf_append(out, b.data, b.len);
  ccp_buf_release(&b);
}

/* Range text of a number or duration row, e.g. "> 0 and < 1"; "" for other types. */
static void range_text(const prop_t *p, char *out, size_t len) {
  int dur = strcmp(p->type, "duration") == 0;
  out[0] = '\0';
  if (p->set != set_duration && p->set != set_duration_or_off && p->set != set_sla_queue &&
      p->set != set_int && p->set != set_double)
    return;
  char lo[32], hi[32];
  bounds_text(p, dur, lo, hi);
  snprintf(out, len, "%s %s and %s %s", (p->flags & PF_MIN_EXCL) ? ">" : ">=", lo,
           (p->flags & PF_MAX_EXCL) ? "<" : "<=", hi);
}

void ccp_config_write_docs(FILE *out) {
  fprintf(out, "| key | default | meaning |\n|---|---|---|\n");
  for (size_t i = 0; i < CCP_ARRAY_LEN(props); i++) {
    const prop_t *p = &props[i];
    char range[96];
    range_text(p, range, sizeof range);
    fprintf(out, "| `%s` | %s%s%s | %s (%s%s%s) |\n", p->doc_key ? p->doc_key : p->key,
            p->def ? "`" : "",
            p->def                   ? p->def
            : (p->flags & PF_PREFIX) ? "none"
                                     : "unset",
            p->def ? "`" : "", p->doc, p->type, range[0] ? ", " : "", range);
  }
}

void ccp_config_write_help(FILE *out) {
  for (size_t i = 0; i < CCP_ARRAY_LEN(props); i++) {
    const prop_t *p = &props[i];
    char range[96];
    range_text(p, range, sizeof range);
    fprintf(out, "  %s (%s%s%s; default %s)\n      %s\n", p->doc_key ? p->doc_key : p->key, p->type,
            range[0] ? ", " : "", range,
            p->def                   ? p->def
            : (p->flags & PF_PREFIX) ? "none"
                                     : "unset",
            p->doc);
  }
}
