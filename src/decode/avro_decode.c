/*
 * Avro binary decoder for TicketEvent: writer schema -> compiled program.
 *
 * Design. ccp_avro_decoder_new() parses the writer schema with Avro C (the
 * schema is configuration, not untrusted data), walks it with the Avro C
 * schema API and resolves each top-level writer field against our reader
 * fields (the v1 schema, by name; see decode.h for the rules). The result is
 * one op per writer field: read a value into an offset of ccp_event_t, or
 * skip a value of some writer type. Unions become a per-branch action table.
 * Writer types that must be skipped are compiled into a small node graph
 * (named types shared, recursion through links allowed). Avro C's schema is
 * released before ccp_avro_decoder_new() returns; the program owns copies of
 * every name it needs for messages.
 *
 * ccp_avro_decode() runs the ops over the record bytes with no allocation and
 * no Avro C call. Invariants of the hot loop:
 *  - every varint is read with a bound on the bytes left and on its length
 *    (10 bytes for long, 5 for int); every length is checked to be >= 0 and
 *    <= the bytes left before the pointer moves;
 *  - skipping is bounded by the input size: every array/map block consumes at
 *    least one byte, a positive block count is checked against the bytes left
 *    unless the items encode in zero bytes (then they are skipped in O(1)),
 *    and nesting deeper than CCP__SKIP_DEPTH is refused;
 *  - on failure a small error record (code, position, op) is filled and only
 *    then formatted into text: the fast path never touches snprintf.
 *
 * Threads: a decoder is immutable after construction and may be shared.
 */
#include <avro.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ccpulse/decode.h"
#include "decode/avro_varint.h"

/** Deepest nesting of writer types we skip (and compile). */
#define CCP__SKIP_DEPTH 64

/* ---- reader fields ------------------------------------------------------ */

enum rkind { RK_STR, RK_LONG, RK_INT, RK_TYPE, RK_CHANNEL };

static const struct rfield {
  const char *name;
  uint8_t kind;
  uint8_t required;
  uint16_t off;
} rfields[] = {
    {"event_id", RK_STR, 1, offsetof(ccp_event_t, event_id)},
    {"ticket_id", RK_STR, 1, offsetof(ccp_event_t, ticket_id)},
    {"type", RK_TYPE, 1, offsetof(ccp_event_t, type)},
    {"ts", RK_LONG, 1, offsetof(ccp_event_t, ts)},
    {"channel", RK_CHANNEL, 1, offsetof(ccp_event_t, channel)},
    {"queue", RK_STR, 1, offsetof(ccp_event_t, queue)},
    {"agent_id", RK_STR, 0, offsetof(ccp_event_t, agent_id)},
    {"customer_id", RK_STR, 1, offsetof(ccp_event_t, customer_id)},
    {"talk_ms", RK_LONG, 0, offsetof(ccp_event_t, talk_ms)},
    {"hold_ms", RK_LONG, 0, offsetof(ccp_event_t, hold_ms)},
    {"acw_ms", RK_LONG, 0, offsetof(ccp_event_t, acw_ms)},
    {"csat", RK_INT, 0, offsetof(ccp_event_t, csat)},
    {"nps", RK_INT, 0, offsetof(ccp_event_t, nps)},
    {"ces", RK_INT, 0, offsetof(ccp_event_t, ces)},
    {"category", RK_STR, 0, offsetof(ccp_event_t, category)},
    {"qa_errors", RK_INT, 0, offsetof(ccp_event_t, qa_errors)},
};
#define NRFIELDS ((int)CCP_ARRAY_LEN(rfields))

static const char *rkind_text(int kind) {
  switch (kind) {
  case RK_STR:
    return "string";
  case RK_LONG:
    return "long";
  case RK_INT:
    return "int";
  case RK_TYPE:
    return "enum EventType";
  default:
    return "enum Channel";
  }
}

/* ---- compiled program --------------------------------------------------- */

enum wkind {
  W_NULL,
  W_BOOL,
  W_INT,
  W_LONG,
  W_FLOAT,
  W_DOUBLE,
  W_BYTES,
  W_FIXED,
  W_ENUM,
  W_RECORD,
  W_ARRAY,
  W_MAP,
  W_UNION
};

typedef struct wnode wnode_t;
/* A writer type, for skipping. */
struct wnode {
  uint8_t kind;     /* enum wkind */
  uint8_t zero;     /* encodes in zero bytes (null, empty fixed/record) */
  uint8_t state;    /* compile only: 0 new, 1 in progress, 2 done */
  uint32_t n;       /* fixed size, enum symbols, record fields, union branches */
  wnode_t **kids;   /* record fields, union branches; array items / map values in [0] */
  const char *name; /* type name for messages */
};

enum act { A_SKIP, A_STR, A_LONG, A_INT_LONG, A_INT, A_ENUM, A_NULL, A_NULL_REQ, A_BAD };

/* What to do with one writer value. */
typedef struct action {
  uint8_t a;           /* enum act */
  uint8_t rk;          /* reader kind (A_NULL, A_ENUM, messages) */
  uint16_t off;        /* offset in ccp_event_t */
  uint32_t nsym;       /* A_ENUM: writer symbols */
  const uint8_t *emap; /* A_ENUM: writer symbol -> reader value, 0xFF unknown */
  char *const *syms;   /* A_ENUM: writer symbol names */
  const wnode_t *node; /* A_SKIP: the type; A_BAD: the unreadable type */
} action_t;

/* One top-level writer field. */
typedef struct op {
  action_t one;     /* when nbr == 0 */
  uint32_t nbr;     /* > 0: a union with this many branches */
  action_t *br;     /* per-branch actions */
  const char *name; /* writer field name */
  int8_t rf;        /* reader field index, -1 when skipped */
} op_t;

struct ccp_avro_decoder {
  op_t *ops;
  uint32_t nops;
  ccp_event_t tmpl; /* every reader field at its default */
  void **mem;       /* everything allocated for the program */
  size_t nmem, capmem;
};

static void *d_alloc(ccp_avro_decoder_t *d, size_t n) {
  if (d->nmem == d->capmem) {
    d->capmem = d->capmem ? d->capmem * 2 : 32;
    d->mem = ccp_realloc(d->mem, d->capmem * sizeof *d->mem);
  }
  void *p = ccp_calloc(1, n ? n : 1);
  d->mem[d->nmem++] = p;
  return p;
}

static char *d_strdup(ccp_avro_decoder_t *d, const char *s) {
  size_t n = strlen(s);
  char *p = d_alloc(d, n + 1);
  memcpy(p, s, n);
  return p;
}

void ccp_avro_decoder_free(ccp_avro_decoder_t *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->nmem; i++)
    ccp_free(d->mem[i]);
  ccp_free(d->mem);
  ccp_free(d);
}

/* ---- compiling ---------------------------------------------------------- */

typedef struct cc {
  ccp_avro_decoder_t *d;
  struct memo {
    avro_schema_t s;
    wnode_t *n;
  } * memo; /* named types */
  size_t nmemo, capmemo;
  char *err;
  size_t errlen;
} cc_t;

static avro_schema_t deref(avro_schema_t s) {
  while (s && is_avro_link(s))
    s = avro_schema_link_target(s);
  return s;
}

static const char *avro_type_text(avro_schema_t s) {
  s = deref(s);
  if (!s)
    return "?";
  switch (avro_typeof(s)) {
  case AVRO_RECORD:
  case AVRO_ENUM:
  case AVRO_FIXED:
    return avro_schema_name(s);
  case AVRO_UNION:
    return "union";
  default:
    return avro_schema_type_name(s);
  }
}

/* The writer kind of each primitive Avro type (no size, no children). */
static const struct {
  avro_type_t type;
  uint8_t kind;
} primitive_kinds[] = {
    {AVRO_NULL, W_NULL},   {AVRO_BOOLEAN, W_BOOL},  {AVRO_INT32, W_INT},    {AVRO_INT64, W_LONG},
    {AVRO_FLOAT, W_FLOAT}, {AVRO_DOUBLE, W_DOUBLE}, {AVRO_STRING, W_BYTES}, {AVRO_BYTES, W_BYTES},
};

static wnode_t *compile_node(cc_t *c, avro_schema_t s, int depth) {
  s = deref(s);
  if (!s) {
    snprintf(c->err, c->errlen, "unresolved named type in writer schema");
    return NULL;
  }
  if (depth > CCP__SKIP_DEPTH) {
    snprintf(c->err, c->errlen, "writer schema nests deeper than %d", CCP__SKIP_DEPTH);
    return NULL;
  }
  int named = is_avro_named_type(s);
  if (named)
    for (size_t i = 0; i < c->nmemo; i++)
      if (c->memo[i].s == s)
        return c->memo[i].n;

  wnode_t *n = d_alloc(c->d, sizeof *n);
  n->name = d_strdup(c->d, avro_type_text(s));
  if (named) {
    if (c->nmemo == c->capmemo) {
      c->capmemo = c->capmemo ? c->capmemo * 2 : 16;
      c->memo = ccp_realloc(c->memo, c->capmemo * sizeof *c->memo);
    }
    c->memo[c->nmemo].s = s;
    c->memo[c->nmemo].n = n;
    c->nmemo++;
  }
  n->state = 1;
  avro_type_t t = avro_typeof(s);
  for (size_t i = 0; i < sizeof primitive_kinds / sizeof *primitive_kinds; i++)
    if (primitive_kinds[i].type == t) {
      n->kind = primitive_kinds[i].kind;
      n->zero = t == AVRO_NULL;
      n->state = 2;
      return n;
    }
  switch (t) {
  case AVRO_FIXED: {
    int64_t sz = avro_schema_fixed_size(s);
    if (sz < 0 || sz > INT32_MAX) {
      snprintf(c->err, c->errlen, "fixed '%s' has a bad size %" PRId64, n->name, sz);
      return NULL;
    }
    n->kind = W_FIXED;
    n->n = (uint32_t)sz;
    n->zero = sz == 0;
    break;
  }
  case AVRO_ENUM:
    n->kind = W_ENUM;
    n->n = (uint32_t)avro_schema_enum_number_of_symbols(s);
    break;
  case AVRO_RECORD: {
    n->kind = W_RECORD;
    n->n = (uint32_t)avro_schema_record_size(s);
    n->kids = d_alloc(c->d, n->n * sizeof *n->kids);
    int zero = 1;
    for (uint32_t i = 0; i < n->n; i++) {
      avro_schema_t f = avro_schema_record_field_get_by_index(s, (int)i);
      if (!(n->kids[i] = compile_node(c, f, depth + 1)))
        return NULL;
      /* A kid still in progress is a recursive reference: it cannot be
       * zero-sized (it recurses through a union or an array). */
      if (n->kids[i]->state != 2 || !n->kids[i]->zero)
        zero = 0;
    }
    n->zero = (uint8_t)zero;
    break;
  }
  case AVRO_ARRAY:
  case AVRO_MAP: {
    n->kind = is_avro_array(s) ? W_ARRAY : W_MAP;
    n->n = 1;
    n->kids = d_alloc(c->d, sizeof *n->kids);
    avro_schema_t it = is_avro_array(s) ? avro_schema_array_items(s) : avro_schema_map_values(s);
    if (!(n->kids[0] = compile_node(c, it, depth + 1)))
      return NULL;
    break;
  }
  case AVRO_UNION: {
    n->kind = W_UNION;
    n->n = (uint32_t)avro_schema_union_size(s);
    if (n->n == 0) {
      snprintf(c->err, c->errlen, "writer schema has an empty union");
      return NULL;
    }
    n->kids = d_alloc(c->d, n->n * sizeof *n->kids);
    for (uint32_t i = 0; i < n->n; i++)
      if (!(n->kids[i] = compile_node(c, avro_schema_union_branch(s, (int)i), depth + 1)))
        return NULL;
    break;
  }
  default:
    snprintf(c->err, c->errlen, "writer schema has an unknown type");
    return NULL;
  }
  n->state = 2;
  return n;
}

/* Resolves one non-union writer type against reader field rf. Returns 1 when
 * values of it are readable, 0 when they fail records, -1 on a compile error
 * (c->err set). */
static int resolve_one(cc_t *c, const struct rfield *rf, avro_schema_t wt, action_t *a) {
  wt = deref(wt);
  a->rk = rf->kind;
  a->off = rf->off;
  avro_type_t t = wt ? avro_typeof(wt) : AVRO_NULL;
  if (t == AVRO_NULL) {
    a->a = rf->required ? A_NULL_REQ : A_NULL;
    return !rf->required;
  }
  if ((t == AVRO_STRING || t == AVRO_BYTES) && rf->kind == RK_STR) {
    a->a = A_STR;
    return 1;
  }
  if (t == AVRO_INT32 && rf->kind == RK_LONG) {
    a->a = A_INT_LONG;
    return 1;
  }
  if (t == AVRO_INT32 && rf->kind == RK_INT) {
    a->a = A_INT;
    return 1;
  }
  if (t == AVRO_INT64 && rf->kind == RK_LONG) {
    a->a = A_LONG;
    return 1;
  }
  if (t == AVRO_ENUM && (rf->kind == RK_TYPE || rf->kind == RK_CHANNEL)) {
    const char *want = rf->kind == RK_TYPE ? "EventType" : "Channel";
    const char *name = avro_schema_name(wt);
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (dot)
      name = dot + 1;
    if (!name || strcmp(name, want) != 0) {
      snprintf(c->err, c->errlen, "field '%s': writer enum '%s' does not match reader enum '%s'",
               rf->name, name ? name : "?", want);
      return -1;
    }
    int n = avro_schema_enum_number_of_symbols(wt);
    uint8_t *map = d_alloc(c->d, (size_t)n);
    char **syms = d_alloc(c->d, (size_t)n * sizeof *syms);
    for (int i = 0; i < n; i++) {
      const char *sym = avro_schema_enum_get(wt, i);
      syms[i] = d_strdup(c->d, sym ? sym : "");
      int v = rf->kind == RK_TYPE ? ccp_event_type_parse(syms[i], strlen(syms[i]))
                                  : ccp_channel_parse(syms[i], strlen(syms[i]));
      map[i] = v < 0 ? 0xFF : (uint8_t)v;
    }
    a->a = A_ENUM;
    a->nsym = (uint32_t)n;
    a->emap = map;
    a->syms = syms;
    return 1;
  }
  a->a = A_BAD;
  a->node = compile_node(c, wt, 1);
  return a->node ? 0 : -1;
}

/* Avro C 1.11.1 leaks the types it has built when a schema defines a named
 * type twice (it fails with "Cannot save enum schema" and frees nothing; an
 * OCF header is untrusted input, found by tests/fuzz/fuzz_ocf.c). So such a
 * schema is refused before Avro C sees it, by Avro C's own rule for full
 * names: a name with a dot is full; else "namespace" ("" = none) or the
 * enclosing record's namespace, then ".name". Walks the parsed JSON the way
 * Avro C does (records' field types, array items, map values, union
 * branches); anything Avro C would reject otherwise is left to it. Returns 1
 * and fills errbuf on a duplicate. `seen` is a JSON object used as a set. */
static int dup_named_type(json_t *j, const char *ns, json_t *seen, char *errbuf, size_t errlen) {
  if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++)
      if (dup_named_type(json_array_get(j, i), ns, seen, errbuf, errlen))
        return 1;
    return 0;
  }
  const char *t = json_string_value(json_object_get(j, "type"));
  if (!t)
    return 0;
  if (!strcmp(t, "array") || !strcmp(t, "map"))
    return dup_named_type(json_object_get(j, t[0] == 'a' ? "items" : "values"), ns, seen, errbuf,
                          errlen);
  const char *name = json_string_value(json_object_get(j, "name"));
  if (!name || (strcmp(t, "record") && strcmp(t, "enum") && strcmp(t, "fixed")))
    return 0;
  char *own_ns = NULL, *full;
  const char *dot = strrchr(name, '.'), *space = json_string_value(json_object_get(j, "namespace"));
  if (dot) {
    own_ns = ccp_strndup(name, (size_t)(dot - name));
    full = ccp_strdup(name);
  } else {
    if (space)
      ns = space[0] ? space : NULL;
    own_ns = ns ? ccp_strdup(ns) : NULL;
    size_t n = strlen(name) + (ns ? strlen(ns) + 1 : 0) + 1;
    full = ccp_malloc(n);
    snprintf(full, n, "%s%s%s", ns ? ns : "", ns ? "." : "", name);
  }
  int dup = json_object_get(seen, full) != NULL;
  if (dup)
    snprintf(errbuf, errlen, "invalid writer schema: type '%s' is defined twice", full);
  else
    json_object_set_new(seen, full, json_true());
  json_t *fields = json_object_get(j, "fields");
  if (!dup && !strcmp(t, "record") && json_is_array(fields))
    for (size_t i = 0; !dup && i < json_array_size(fields); i++)
      dup = dup_named_type(json_object_get(json_array_get(fields, i), "type"), own_ns, seen, errbuf,
                           errlen);
  ccp_free(own_ns);
  ccp_free(full);
  return dup;
}

/* 1 (errbuf filled) when schema_json defines a named type twice; see above. */
static int schema_has_dup_names(const char *schema_json, size_t len, char *errbuf, size_t errlen) {
  json_t *root = json_loadb(schema_json, len, JSON_DECODE_ANY, NULL);
  if (!root)
    return 0; /* Avro C reports bad JSON */
  json_t *seen = json_object();
  int dup = dup_named_type(root, NULL, seen, errbuf, errlen);
  json_decref(seen);
  json_decref(root);
  return dup;
}

ccp_avro_decoder_t *ccp_avro_decoder_new(const char *schema_json, size_t len, char *errbuf,
                                         size_t errlen) {
  char dummy[CCP_ERRBUF_SIZE];
  if (!errbuf || !errlen) {
    errbuf = dummy;
    errlen = sizeof dummy;
  }
  errbuf[0] = 0;
  avro_schema_t s = NULL;
  if (schema_has_dup_names(schema_json, len, errbuf, errlen))
    return NULL;
  if (avro_schema_from_json_length(schema_json, len, &s) != 0) {
    snprintf(errbuf, errlen, "invalid writer schema: %s", avro_strerror());
    return NULL;
  }
  ccp_avro_decoder_t *d = ccp_calloc(1, sizeof *d);
  cc_t c = {.d = d, .err = errbuf, .errlen = errlen};
  int seen[NRFIELDS] = {0};

  if (!is_avro_record(s)) {
    snprintf(errbuf, errlen, "writer schema is not a record (got '%s')", avro_type_text(s));
    goto fail;
  }
  d->nops = (uint32_t)avro_schema_record_size(s);
  d->ops = d_alloc(d, d->nops * sizeof *d->ops);
  for (uint32_t i = 0; i < d->nops; i++) {
    op_t *op = &d->ops[i];
    const char *fname = avro_schema_record_field_name(s, (int)i);
    avro_schema_t ft = deref(avro_schema_record_field_get_by_index(s, (int)i));
    op->name = d_strdup(d, fname ? fname : "?");
    op->rf = -1;
    for (int k = 0; k < NRFIELDS; k++)
      if (strcmp(rfields[k].name, op->name) == 0)
        op->rf = (int8_t)k;
    if (op->rf < 0) { /* unknown to the reader: skip */
      op->one.a = A_SKIP;
      if (!(op->one.node = compile_node(&c, ft, 1)))
        goto fail;
      continue;
    }
    const struct rfield *rf = &rfields[op->rf];
    if (seen[op->rf]++) {
      snprintf(errbuf, errlen, "writer schema has field '%s' twice", rf->name);
      goto fail;
    }
    if (ft && is_avro_union(ft)) {
      op->nbr = (uint32_t)avro_schema_union_size(ft);
      if (op->nbr == 0) {
        snprintf(errbuf, errlen, "field '%s': writer union has no branch", rf->name);
        goto fail;
      }
      op->br = d_alloc(d, op->nbr * sizeof *op->br);
      int readable = 0;
      for (uint32_t b = 0; b < op->nbr; b++) {
        int r = resolve_one(&c, rf, avro_schema_union_branch(ft, (int)b), &op->br[b]);
        if (r < 0)
          goto fail;
        readable += r;
      }
      if (!readable) {
        snprintf(errbuf, errlen, "field '%s': no branch of the writer union can be read as %s%s",
                 rf->name, rf->required ? "" : "null or ", rkind_text(rf->kind));
        goto fail;
      }
    } else {
      int r = resolve_one(&c, rf, ft, &op->one);
      if (r < 0)
        goto fail;
      if (r == 0) {
        snprintf(errbuf, errlen, "field '%s': writer type '%s' cannot be read as %s%s", rf->name,
                 avro_type_text(ft), rf->required ? "" : "null or ", rkind_text(rf->kind));
        goto fail;
      }
    }
  }
  for (int k = 0; k < NRFIELDS; k++)
    if (rfields[k].required && !seen[k]) {
      snprintf(errbuf, errlen, "writer schema has no field '%s' (required)", rfields[k].name);
      goto fail;
    }
  ccp_event_clear(&d->tmpl);
  ccp_free(c.memo);
  avro_schema_decref(s);
  return d;

fail:
  ccp_free(c.memo);
  ccp_avro_decoder_free(d);
  avro_schema_decref(s);
  return NULL;
}

/* ---- decoding ----------------------------------------------------------- */

enum {
  E_TRUNC = CCP__VARINT_TRUNC,
  E_VARINT = CCP__VARINT_LONG,
  E_NEGLEN,
  E_NEGSIZE,
  E_UNION,
  E_ENUMIDX,
  E_SYMBOL,
  E_NULLREQ,
  E_BRANCH,
  E_DEPTH,
  E_COUNT,
  E_TRAILING
};

/* Where and why decoding stopped; formatted only on failure. */
typedef struct derr {
  int code;
  const uint8_t *at; /* start of the value that failed */
  int64_t val;       /* offending number */
  uint32_t aux;      /* branch/symbol count, or writer symbol index */
  const op_t *op;
  const action_t *act;
} derr_t;

/* The shared readers fail with CCP__VARINT_TRUNC / CCP__VARINT_LONG, which
 * are E_TRUNC / E_VARINT: their result is an E_ code as it is. */
#define get_long ccp__get_long
#define get_int ccp__get_int

#define FAIL_AT(code_, at_)                                                                        \
  do {                                                                                             \
    e->code = (code_);                                                                             \
    e->at = (at_);                                                                                 \
    return e->code;                                                                                \
  } while (0)

/* skip() and run() below repeat their length-prefix checks case by case on
 * purpose: a shared get_len() helper made decoding ~20 % slower
 * (bench_decode avro_decode_v1), and this is the innermost loop. */
static int skip(const wnode_t *n, const uint8_t **pp, const uint8_t *end, int depth, derr_t *e) {
  const uint8_t *p = *pp, *at = p;
  int rc;
  int64_t v;
  if (depth > CCP__SKIP_DEPTH)
    FAIL_AT(E_DEPTH, p);
  switch (n->kind) {
  case W_NULL:
    break;
  case W_BOOL:
    if (p >= end)
      FAIL_AT(E_TRUNC, p);
    p++;
    break;
  case W_INT: {
    int32_t i;
    if ((rc = get_int(&p, end, &i)))
      FAIL_AT(rc, at);
    break;
  }
  case W_LONG:
    if ((rc = get_long(&p, end, &v)))
      FAIL_AT(rc, at);
    break;
  case W_ENUM:
    if ((rc = get_long(&p, end, &v)))
      FAIL_AT(rc, at);
    if (v < 0 || (uint64_t)v >= n->n) {
      e->val = v;
      e->aux = n->n;
      FAIL_AT(E_ENUMIDX, at);
    }
    break;
  case W_FLOAT:
  case W_DOUBLE:
  case W_FIXED: {
    size_t sz = n->kind == W_FLOAT ? 4 : n->kind == W_DOUBLE ? 8 : n->n;
    if (sz > (size_t)(end - p))
      FAIL_AT(E_TRUNC, p);
    p += sz;
    break;
  }
  case W_BYTES:
    if ((rc = get_long(&p, end, &v)))
      FAIL_AT(rc, at);
    if (v < 0) {
      e->val = v;
      FAIL_AT(E_NEGLEN, at);
    }
    if ((uint64_t)v > (size_t)(end - p))
      FAIL_AT(E_TRUNC, at);
    p += v;
    break;
  case W_RECORD:
    for (uint32_t i = 0; i < n->n; i++)
      if ((rc = skip(n->kids[i], &p, end, depth + 1, e)))
        return rc;
    break;
  case W_ARRAY:
  case W_MAP:
    for (;;) {
      at = p;
      if ((rc = get_long(&p, end, &v)))
        FAIL_AT(rc, at);
      if (v == 0)
        break;
      if (v < 0) { /* negative count: a byte size follows, skip the block whole */
        if (v == INT64_MIN) {
          e->val = v;
          FAIL_AT(E_COUNT, at);
        }
        at = p;
        if ((rc = get_long(&p, end, &v)))
          FAIL_AT(rc, at);
        if (v < 0) {
          e->val = v;
          FAIL_AT(E_NEGSIZE, at);
        }
        if ((uint64_t)v > (size_t)(end - p))
          FAIL_AT(E_TRUNC, at);
        p += v;
        continue;
      }
      if (n->kind == W_ARRAY && n->kids[0]->zero)
        continue;                            /* nothing to read */
      if ((uint64_t)v > (size_t)(end - p)) { /* every item takes >= 1 byte */
        e->val = v;
        FAIL_AT(E_COUNT, at);
      }
      for (int64_t k = 0; k < v; k++) {
        if (n->kind == W_MAP) {
          const uint8_t *kat = p;
          int64_t kl;
          if ((rc = get_long(&p, end, &kl)))
            FAIL_AT(rc, kat);
          if (kl < 0) {
            e->val = kl;
            FAIL_AT(E_NEGLEN, kat);
          }
          if ((uint64_t)kl > (size_t)(end - p))
            FAIL_AT(E_TRUNC, kat);
          p += kl;
        }
        if ((rc = skip(n->kids[0], &p, end, depth + 1, e)))
          return rc;
      }
    }
    break;
  case W_UNION:
    if ((rc = get_long(&p, end, &v)))
      FAIL_AT(rc, at);
    if (v < 0 || (uint64_t)v >= n->n) {
      e->val = v;
      e->aux = n->n;
      FAIL_AT(E_UNION, at);
    }
    if ((rc = skip(n->kids[v], &p, end, depth + 1, e)))
      return rc;
    break;
  }
  *pp = p;
  return 0;
}

/* As FAIL_AT, also naming the op (the writer field) that failed. */
#define RFAIL(code_, at_)                                                                          \
  do {                                                                                             \
    e->op = op;                                                                                    \
    FAIL_AT(code_, at_);                                                                           \
  } while (0)

/* Runs the program; on success *endp is the end of the record. */
static int run(const ccp_avro_decoder_t *d, const uint8_t *p, const uint8_t *end, ccp_event_t *ev,
               const uint8_t **endp, derr_t *e) {
  char *base = (char *)ev;
  *ev = d->tmpl;
  const op_t *op = d->ops, *op_end = d->ops + d->nops;
  for (; op < op_end; op++) {
    const action_t *a = &op->one;
    const uint8_t *at = p;
    int rc;
    int64_t v;
    if (op->nbr) {
      if ((rc = get_long(&p, end, &v)))
        RFAIL(rc, at);
      if (v < 0 || (uint64_t)v >= op->nbr) {
        e->val = v;
        e->aux = op->nbr;
        RFAIL(E_UNION, at);
      }
      a = &op->br[v];
      e->aux = (uint32_t)v;
      at = p;
    }
    switch (a->a) {
    case A_STR: {
      if ((rc = get_long(&p, end, &v)))
        RFAIL(rc, at);
      if (v < 0) {
        e->val = v;
        RFAIL(E_NEGLEN, at);
      }
      if ((uint64_t)v > (size_t)(end - p))
        RFAIL(E_TRUNC, at);
      ccp_str_t *s = (ccp_str_t *)(base + a->off);
      s->ptr = (const char *)p;
      s->len = (size_t)v;
      p += v;
      break;
    }
    case A_LONG:
      if ((rc = get_long(&p, end, (int64_t *)(base + a->off))))
        RFAIL(rc, at);
      break;
    case A_INT_LONG: {
      int32_t i;
      if ((rc = get_int(&p, end, &i)))
        RFAIL(rc, at);
      *(int64_t *)(base + a->off) = i;
      break;
    }
    case A_INT:
      if ((rc = get_int(&p, end, (int32_t *)(base + a->off))))
        RFAIL(rc, at);
      break;
    case A_ENUM:
      if ((rc = get_long(&p, end, &v)))
        RFAIL(rc, at);
      if (v < 0 || (uint64_t)v >= a->nsym) {
        e->val = v;
        e->aux = a->nsym;
        e->act = a;
        RFAIL(E_ENUMIDX, at);
      }
      if (a->emap[v] == 0xFF) {
        e->val = v;
        e->act = a;
        RFAIL(E_SYMBOL, at);
      }
      *(uint8_t *)(base + a->off) = a->emap[v];
      break;
    case A_NULL:
      if (a->rk == RK_STR) {
        ccp_str_t *s = (ccp_str_t *)(base + a->off);
        s->ptr = NULL;
        s->len = 0;
      } else if (a->rk == RK_LONG) {
        *(int64_t *)(base + a->off) = CCP_NULL_I64;
      } else {
        *(int32_t *)(base + a->off) = CCP_NULL_I32;
      }
      break;
    case A_NULL_REQ:
      RFAIL(E_NULLREQ, at);
    case A_BAD:
      e->act = a;
      RFAIL(E_BRANCH, at);
    case A_SKIP:
      if ((rc = skip(a->node, &p, end, 1, e))) {
        e->op = op;
        return rc;
      }
      break;
    }
  }
  *endp = p;
  return 0;
}

static void format_err(const derr_t *e, const uint8_t *start, char *errbuf, size_t errlen) {
  if (!errbuf || !errlen)
    return;
  size_t pos = (size_t)(e->at - start);
  const char *f = e->op ? e->op->name : "?";
  long long v = (long long)e->val;
  switch (e->code) {
  case E_TRUNC:
    snprintf(errbuf, errlen, "truncated record at byte %zu (field '%s')", pos, f);
    break;
  case E_VARINT:
    snprintf(errbuf, errlen, "varint too long at byte %zu (field '%s')", pos, f);
    break;
  case E_NEGLEN:
    snprintf(errbuf, errlen, "negative string length %lld at byte %zu (field '%s')", v, pos, f);
    break;
  case E_NEGSIZE:
    snprintf(errbuf, errlen, "negative block size %lld at byte %zu (field '%s')", v, pos, f);
    break;
  case E_COUNT:
    snprintf(errbuf, errlen, "block count %lld exceeds the bytes left at byte %zu (field '%s')", v,
             pos, f);
    break;
  case E_UNION:
    snprintf(errbuf, errlen, "bad union index %lld at byte %zu (field '%s' has %u branches)", v,
             pos, f, e->aux);
    break;
  case E_ENUMIDX:
    snprintf(errbuf, errlen, "bad enum index %lld at byte %zu (field '%s' has %u symbols)", v, pos,
             f, e->aux);
    break;
  case E_SYMBOL:
    snprintf(errbuf, errlen, "unknown %s symbol '%s' at byte %zu (field '%s')",
             e->act->rk == RK_TYPE ? "type" : "channel", e->act->syms[e->val], pos, f);
    break;
  case E_NULLREQ:
    snprintf(errbuf, errlen, "field '%s' is null but required (byte %zu)", f, pos);
    break;
  case E_BRANCH:
    snprintf(errbuf, errlen,
             "field '%s': writer union branch %u (%s) cannot be read as %s (byte %zu)", f, e->aux,
             e->act->node ? e->act->node->name : "?", rkind_text(e->act->rk), pos);
    break;
  case E_DEPTH:
    snprintf(errbuf, errlen, "nesting deeper than %d at byte %zu (field '%s')", CCP__SKIP_DEPTH,
             pos, f);
    break;
  default:
    snprintf(errbuf, errlen, "undecodable record at byte %zu", pos);
  }
}

int ccp_avro_decode_prefix(const ccp_avro_decoder_t *d, const void *data, size_t len,
                           ccp_event_t *ev, size_t *used, char *errbuf, size_t errlen) {
  static const uint8_t none[1];
  const uint8_t *start = data ? data : none, *endp;
  derr_t e;
  e.op = NULL;
  if (run(d, start, start + len, ev, &endp, &e) != 0) {
    format_err(&e, start, errbuf, errlen);
    return -CCP_EPARSE;
  }
  *used = (size_t)(endp - start);
  return 0;
}

int ccp_avro_decode(const ccp_avro_decoder_t *d, const void *data, size_t len, ccp_event_t *ev,
                    char *errbuf, size_t errlen) {
  static const uint8_t none[1];
  const uint8_t *start = data ? data : none, *endp;
  derr_t e;
  e.op = NULL;
  if (run(d, start, start + len, ev, &endp, &e) != 0) {
    format_err(&e, start, errbuf, errlen);
    return -CCP_EPARSE;
  }
  if (endp != start + len) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "trailing bytes: %zu after the record end at byte %zu",
               (size_t)(start + len - endp), (size_t)(endp - start));
    return -CCP_EPARSE;
  }
  return 0;
}
