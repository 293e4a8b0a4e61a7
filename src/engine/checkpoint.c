/*
 * Checkpoints: an engine's whole state written to bytes and read back into
 * an engine that continues exactly as the original would (docs/checkpoints.md
 * describes the format).
 *
 * The state was laid out for this: flat arrays with record numbers and
 * indices, no pointers between them. So a checkpoint is mostly a few large
 * copies (the ticket records chunk by chunk, the timer heaps, each scope's
 * window arrays); what is written as it is, not rebuilt, is everything whose
 * order can show in the output or in later behaviour: record numbers (they
 * break timer ties), the free list (the order records are reused), the LRU
 * and waiting lists, heap arrays, the delta logs, the dirty list. Hash tables
 * are written without their empty slots, their entries in an order that
 * rebuilds the very same table (ccp_u64map_each_ordered), except the
 * duplicate filter, written by time remembered (only its entries can show:
 * save_dedup); the ticket index
 * is not written at all (rebuilt from the records: it is only ever looked
 * up). Pointers are never written: the alert ids map ticket keys to strings
 * of the engine's string pool, written as strings. Scratch (the waiting-list
 * sort buffer) and the alert callback are not state.
 *
 * Loading trusts nothing: the header (magic, version, layout, length) and a
 * 64-bit checksum of the body come first, then a fingerprint of the settings
 * the state depends on, then every count and index is checked against the
 * arrays it points into before it is used, so bad bytes give NULL and a
 * message, never a crash or a half-built engine.
 *
 * Threads: the engine's thread (engine.h); a load builds a new engine.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine_int.h"
#include "util/ser.h"

/** Bump on any change of what is written (docs/checkpoints.md, "Versions"). */
#define CKPT_VERSION                                                                               \
  7u /* 2: the deadline time due_now; 3: limits (overflow and customer                             \
        diagnostics, cust_cap_gc_at); 4: the retention map grows by 1/4                            \
        (acts_sweep_cap); 5: window sets in the compact form (ccp_wset_save);                      \
        6: the duplicate filter by time remembered (ccp_u64map_save_by_val);                       \
        7: a sample delta of the log counts samples (CCP_WD_COUNT) */
/** The oldest format version still read: 4 differs only in the window sets' full form, 4 and
 * 5 in the duplicate filter's order (slot order; the same entries); before 7 a sample delta
 * was one sample, its amt the bin alone, which is how 7 reads such an amt. */
#define CKPT_VERSION_OLDEST 4u
#define CKPT_MAGIC "CCPCKPT"
#define CKPT_HEADER CCP__CKPT_HEADER
#define CKPT_SEED CCP__CKPT_SEED

#define DELTA_BYTES 14 /* a delta log entry: amt 8, dbase 4, field 1, kind 1 */
#define COMBO_BYTES 25 /* a waiting-list head: 6 x 4 bytes, channel 1 */
#define TAG(a, b, c, d)                                                                            \
  ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* ---------------------------------------------------- scalar fields */

/*
 * The engine's scalar fields, written and read in this order: THE place to
 * add one (a new stream time, a counter...) — one line here, and a bump of
 * CKPT_VERSION. Their sizes go into the layout word, so a build with another
 * table refuses the checkpoints of this one.
 */
#define SCALAR(f)                                                                                  \
  { #f, offsetof(ccp_engine_t, f), sizeof(((ccp_engine_t *)0)->f) }
static const struct scalar {
  const char *name;
  size_t off, size;
} scalars[] = {
    SCALAR(now),
    SCALAR(due_now),
    SCALAR(ev_now),
    SCALAR(cur_b),
    SCALAR(start_b),
    SCALAR(cur_start),
    SCALAR(day_start),
    SCALAR(day_end),
    SCALAR(dedup_sweep_at),
    SCALAR(geom.edge),
    SCALAR(geom.hi),
    SCALAR(acts_gc_slot),
    SCALAR(acts_sweep_cap),
    SCALAR(cust_cap_gc_at),
    SCALAR(ret_c),
    SCALAR(ret_prev),
    SCALAR(ret_both),
    SCALAR(diag),
    SCALAR(last_export.valid),
    SCALAR(last_export.events),
    SCALAR(last_export.due),
    SCALAR(last_export.hi),
    SCALAR(last_export.slot),
    SCALAR(last_export.cur_b),
    SCALAR(last_export.start_b),
};

/* ------------------------------------------------- layout and settings */

/* What the raw copies depend on: byte order, record sizes, table geometry. */
static uint32_t layout_word(void) {
  uint64_t v[] = {0x0102030405060708ULL,   sizeof(ccp_ticket_t), CCP_TCHUNK_BITS,
                  sizeof(ccp_timer_key_t), CCP_TM_BUCKET_BITS,   CCP_TM_RING,
                  sizeof(ccp_went_t),      sizeof(ccp_hrec_t),   sizeof(ccp_u64map_entry_t),
                  CCP_MAX_WINDOWS,         CCP_F__COUNT,         CCP_H__COUNT,
                  CCP_SKETCH_BINS,         CCP_DELTA_CAP,        CCP_ACT_BITS,
                  CCP_ARRAY_LEN(scalars)};
  uint64_t h = ccp_hash64(v, sizeof v, CKPT_SEED);
  for (size_t i = 0; i < CCP_ARRAY_LEN(scalars); i++)
    h = ccp_hash64(&scalars[i].size, sizeof scalars[i].size, h);
  return (uint32_t)(h ^ h >> 32);
}

/* The settings the state depends on, each with a hash of its value; a
 * checkpoint is only read under settings with the same hashes. */
enum {
  K_WINDOWS,
  K_TIMEZONE,
  K_LATENESS,
  K_SLA,
  K_SLA_QUEUE,
  K_AT_RISK,
  K_SHORT_ABANDON,
  K_BACKLOG_AGE,
  K_RETENTION,
  K_TTL,
  K_MAX_TICKETS,
  K_MAX_DEDUP,
  K__COUNT
};
static const char *const key_names[K__COUNT] = {"windows",       "timezone",    "lateness",
                                                "sla.<CHANNEL>", "sla.queue.*", "sla.at_risk",
                                                "short_abandon", "backlog_age", "retention.period",
                                                "tickets.ttl",   "tickets.max", "dedup.max"};

static uint64_t hv(const void *p, size_t n, uint64_t h) { return ccp_hash64(p, n, h); }

static void fingerprint(const ccp_config_t *cfg, uint64_t out[K__COUNT]) {
  uint64_t h = CKPT_SEED;
  for (int w = 0; w < cfg->nwindows; w++) {
    const ccp_window_conf_t *wc = &cfg->windows[w];
    h = hv(wc->name, strnlen(wc->name, sizeof wc->name), h);
    h = hv(&wc->span_ms, sizeof wc->span_ms, h);
    h = hv(&wc->granularity_ms, sizeof wc->granularity_ms, h);
    h = hv(&wc->is_today, sizeof wc->is_today, h);
  }
  out[K_WINDOWS] = hv(&cfg->nwindows, sizeof cfg->nwindows, h);
  out[K_TIMEZONE] = hv(cfg->timezone, strnlen(cfg->timezone, sizeof cfg->timezone), CKPT_SEED);
  out[K_LATENESS] = hv(&cfg->lateness_ms, sizeof cfg->lateness_ms, CKPT_SEED);
  out[K_SLA] = hv(cfg->sla_ms, sizeof cfg->sla_ms, CKPT_SEED);
  h = hv(&cfg->nsla_overrides, sizeof cfg->nsla_overrides, CKPT_SEED);
  for (int i = 0; i < cfg->nsla_overrides; i++) {
    const ccp_sla_override_t *o = &cfg->sla_overrides[i];
    h = hv(o->queue, strlen(o->queue) + 1, h);
    h = hv(&o->channel, sizeof o->channel, h);
    h = hv(&o->ms, sizeof o->ms, h);
  }
  out[K_SLA_QUEUE] = h;
  out[K_AT_RISK] = hv(&cfg->sla_at_risk_fraction, sizeof cfg->sla_at_risk_fraction, CKPT_SEED);
  out[K_SHORT_ABANDON] = hv(&cfg->short_abandon_ms, sizeof cfg->short_abandon_ms, CKPT_SEED);
  out[K_BACKLOG_AGE] = hv(&cfg->backlog_age_ms, sizeof cfg->backlog_age_ms, CKPT_SEED);
  out[K_RETENTION] = hv(&cfg->retention_period_ms, sizeof cfg->retention_period_ms, CKPT_SEED);
  out[K_TTL] = hv(&cfg->ticket_ttl_ms, sizeof cfg->ticket_ttl_ms, CKPT_SEED);
  out[K_MAX_TICKETS] = hv(&cfg->max_tickets, sizeof cfg->max_tickets, CKPT_SEED);
  out[K_MAX_DEDUP] = hv(&cfg->max_dedup, sizeof cfg->max_dedup, CKPT_SEED);
}

/* ------------------------------------------------------------ saving */

/* Starts a section: its tag and a length patched by sec_end. */
static size_t sec_begin(ccp_buf_t *b, uint32_t tag) {
  ccp_ser_put_u32(b, tag);
  ccp_ser_put_u64(b, 0);
  return b->len;
}

static void sec_end(ccp_buf_t *b, size_t start) {
  uint64_t n = b->len - start;
  memcpy(b->data + start - sizeof n, &n, sizeof n);
}

static void save_scope(const ccp_engine_t *e, const ccp_scope_t *s, ccp_buf_t *out) {
  ccp_ser_put_u32(out, s->name_len);
  ccp_ser_put(out, s->name, s->name_len);
  ccp_ser_put_u8(out, s->kind);
  ccp_ser_put_i64(out, s->g_open);
  ccp_ser_put_i64(out, s->g_waiting);
  ccp_ser_put_i64(out, s->g_aged);
  ccp_ser_put_i64(out, s->oldest_open);
  ccp_ser_put_i64(out, s->cust_gc_at);
  ccp_ser_put_u8(out, s->in_dirty);
  ccp_ser_put_i64(out, s->log_base);
  ccp_ser_put_u32(out, s->nlog);
  ccp_ser_put_u32(out, s->logcap);
  for (uint32_t i = 0; i < s->nlog; i++) { /* field by field: the struct has padding */
    const ccp_wdelta_t *d = &s->log[i];
    ccp_ser_put_i64(out, d->amt);
    ccp_ser_put_u32(out, (uint32_t)d->dbase);
    ccp_ser_put_u8(out, d->f);
    ccp_ser_put_u8(out, d->kind);
  }
  if (e->ckpt_version == 4)
    ccp_wset_save_full(&s->ws, &e->geom, out);
  else
    ccp_wset_save(&s->ws, &e->geom, out);
  ccp_u32map_save(&s->cust, out);
}

static void put_id(void *opaque, const ccp_u64map_entry_t *ent) {
  const char *id = (const char *)(uintptr_t)ent->val;
  uint32_t n = (uint32_t)strlen(id);
  ccp_ser_put_u64(opaque, ent->key);
  ccp_ser_put_u32(opaque, n);
  ccp_ser_put(opaque, id, n);
}

static void save_settings(const ccp_engine_t *e, ccp_buf_t *out) {
  uint64_t fp[K__COUNT];
  fingerprint(e->cfg, fp);
  ccp_ser_put_u32(out, K__COUNT);
  ccp_ser_put(out, fp, sizeof fp);
}

static void save_scalars(const ccp_engine_t *e, ccp_buf_t *out) {
  for (size_t i = 0; i < CCP_ARRAY_LEN(scalars); i++)
    ccp_ser_put(out, (const char *)e + scalars[i].off, scalars[i].size);
}

static void save_scopes(const ccp_engine_t *e, ccp_buf_t *out) {
  ccp_ser_put_u32(out, e->nscopes);
  ccp_ser_put_u32(out, e->scopes_cap);
  for (uint32_t i = 0; i < e->nscopes; i++)
    save_scope(e, e->scopes[i], out);
  ccp_u64map_save(&e->scope_index, out);
  ccp_ser_put_u32(out, e->ndirty);
  ccp_ser_put_u32(out, e->dirty_cap);
  ccp_ser_put(out, e->dirty, e->ndirty * sizeof *e->dirty);
}

static void save_tickets(const ccp_engine_t *e, ccp_buf_t *out) {
  ccp_tickets_save(&e->tickets, out);
}

static void save_timers(const ccp_engine_t *e, ccp_buf_t *out) { ccp_timers_save(&e->timers, out); }

static void save_combos(const ccp_engine_t *e, ccp_buf_t *out) {
  ccp_ser_put_u32(out, e->ncombos);
  ccp_ser_put_u32(out, e->combos_cap);
  for (uint32_t i = 0; i < e->ncombos; i++) {
    const ccp_combo_t *c = &e->combos[i];
    uint32_t v[6] = {c->queue, c->agent, c->head, c->tail, c->rhead, c->rtail};
    ccp_ser_put(out, v, sizeof v);
    ccp_ser_put_u8(out, c->channel);
  }
  ccp_u64map_save(&e->combo_index, out);
}

/* From format 6 by the time each id was last remembered (then its key):
 * new ids come last and a sweep removes a prefix, so two checkpoints share
 * the filter as one long run where slot order broke it at every insert
 * (a delta against the previous state, docs/checkpoints.md). The loaded
 * table holds the same entries in the same capacity, in another layout:
 * only membership and the count can show, and a save sorts again. */
static void save_dedup(const ccp_engine_t *e, ccp_buf_t *out) {
  if (e->ckpt_version < 6) {
    ccp_u64map_save(&e->dedup, out);
  } else if (e->ev_now >= 0) {
    /* an id is remembered at ev_now, which never goes back: the ids of
     * the last save below it are still in its order, so only those
     * remembered since are sorted (the bytes are the same) */
    ccp_engine_t *me = (ccp_engine_t *)e; /* the order is a cache, not state */
    ccp_u64map_save_by_val_again(&e->dedup, out, &me->dedup_order, (uint64_t)e->ev_now);
  } else {
    ccp_u64map_save_by_val(&e->dedup, out);
  }
}

static void save_acts(const ccp_engine_t *e, ccp_buf_t *out) { ccp_u64map_save(&e->acts, out); }

static void save_ids(const ccp_engine_t *e, ccp_buf_t *out) {
  ccp_ser_put_u64(out, e->ids.cap);
  ccp_ser_put_u64(out, e->ids.count);
  ccp_u64map_each_ordered(&e->ids, put_id, out);
}

/* ----------------------------------------------------------- loading */

/* Opens the next section, which must carry tag: sub reads its bytes. */
static int sec_open(ccp_ser_rd_t *r, uint32_t tag, const char *name, ccp_ser_rd_t *sub) {
  r->section = name;
  uint32_t t = ccp_ser_get_u32(r);
  uint64_t n = ccp_ser_get_u64(r);
  if (!r->bad && t != tag)
    return ccp_ser_fail(r, "section missing"), -1;
  const void *p = ccp_ser_get_array(r, n, 1);
  if (r->bad)
    return -1;
  ccp_ser_rd_init(sub, p, (size_t)n);
  sub->section = name;
  return 0;
}

/* Closes a section: it must have been read to its end. Copies a problem to r. */
static int sec_close(ccp_ser_rd_t *r, ccp_ser_rd_t *sub) {
  if (!sub->bad && sub->left)
    ccp_ser_fail(sub, "%zu bytes left over", sub->left);
  if (sub->bad && !r->bad) {
    ccp_ser_fail(r, "%s", sub->msg);
    r->section = sub->section;
  }
  return r->bad ? -1 : 0;
}

/* The most slots a map that never shrinks can have grown to for n entries
 * (load at most 1/2 before it doubles). */
static uint64_t map_bound(int64_t n) { return n < 0 ? 128 : 4 * (uint64_t)n + 128; }

static ccp_scope_t *load_scope(ccp_engine_t *e, ccp_ser_rd_t *r) {
  uint32_t len = ccp_ser_get_u32(r);
  const char *name = ccp_ser_get_array(r, len, 1);
  uint8_t kind = ccp_ser_get_u8(r);
  if (r->bad || !CCP_SER_CHECK(r, kind <= CCP_SC_AGENT, "bad scope kind %u", kind))
    return NULL;
  const char *pre = ccp__scope_prefix[kind];
  size_t plen = strlen(pre);
  if (!CCP_SER_CHECK(r, len >= plen && memcmp(name, pre, plen) == 0 && !memchr(name, 0, len),
                     "bad scope name"))
    return NULL;
  ccp_scope_t *s = ccp_calloc(1, sizeof *s + len + 1);
  memcpy(s->name, name, len);
  s->name_len = len;
  s->kind = kind;
  ccp_wset_init(&s->ws);
  ccp_u32map_init(&s->cust);
  s->g_open = ccp_ser_get_i64(r);
  s->g_waiting = ccp_ser_get_i64(r);
  s->g_aged = ccp_ser_get_i64(r);
  s->oldest_open = ccp_ser_get_i64(r);
  s->cust_gc_at = ccp_ser_get_i64(r);
  s->in_dirty = ccp_ser_get_u8(r);
  s->log_base = ccp_ser_get_i64(r);
  uint32_t nlog = ccp_ser_get_u32(r), logcap = ccp_ser_get_u32(r);
  if (CCP_SER_CHECK(r, s->in_dirty <= 1 && nlog <= logcap && logcap <= CCP_DELTA_CAP,
                    "bad delta log") &&
      CCP_SER_CHECK(r, nlog <= r->left / DELTA_BYTES, "truncated") && logcap) {
    s->log = ccp_malloc(logcap * sizeof *s->log);
    s->logcap = logcap;
    for (uint32_t i = 0; i < nlog; i++) {
      ccp_wdelta_t *d = &s->log[i];
      memset(d, 0, sizeof *d);
      d->amt = ccp_ser_get_i64(r);
      d->dbase = (int32_t)ccp_ser_get_u32(r);
      d->f = ccp_ser_get_u8(r);
      d->kind = ccp_ser_get_u8(r);
      int ok = d->kind == CCP_WD_FIELD
                   ? d->f < CCP_F__COUNT
                   : d->kind <= CCP_WD_RES && d->amt >= 0 && CCP_WD_BIN(d->amt) < CCP_SKETCH_BINS &&
                         (d->amt >> 16) < UINT32_MAX;
      if (!CCP_SER_CHECK(r, ok, "bad delta %u", i))
        break;
      s->nlog++;
    }
  }
  if (!r->bad)
    ccp_wset_load(&s->ws, &e->geom, r, e->ckpt_version == 4);
  if (!r->bad)
    ccp_u32map_load(&s->cust, r);
  return s; /* the caller frees it when r is bad */
}

static int load_scopes(ccp_engine_t *e, ccp_ser_rd_t *r) {
  uint32_t n = ccp_ser_get_u32(r), cap = ccp_ser_get_u32(r);
  /* each scope takes well over 64 bytes: a count beyond that is corrupt */
  if (!CCP_SER_CHECK(r,
                     n >= 1u + CCP_CH__COUNT && n <= cap && n <= r->left / 64 + 1 &&
                         cap <= CCP_MAX(16, 2 * (uint64_t)n),
                     "%u scopes (room for %u)", n, cap))
    return -1;
  e->scopes = ccp_calloc(cap, sizeof *e->scopes);
  e->scopes_cap = cap;
  for (uint32_t i = 0; i < n; i++) {
    ccp_scope_t *s = load_scope(e, r);
    if (s) {
      e->scopes[e->nscopes++] = s;
      int want = i == 0 ? CCP_SC_ALL : i <= CCP_CH__COUNT ? CCP_SC_CHANNEL : -1;
      if (want >= 0 && s->kind != want)
        ccp_ser_fail(r, "scope %u is '%s'", i, s->name);
      if (want == CCP_SC_CHANNEL &&
          strcmp(s->name + strlen("channel:"), ccp_channel_name((int)i - 1)))
        ccp_ser_fail(r, "scope %u is '%s'", i, s->name);
    }
    if (r->bad)
      return -1;
  }
  if (ccp_u64map_load(&e->scope_index, r, 4 * (uint64_t)n + 128) != 0)
    return -1;
  for (size_t j = 0; j < e->scope_index.cap; j++)
    if (e->scope_index.slots[j].key && e->scope_index.slots[j].val >= n)
      return ccp_ser_fail(r, "scope index names scope %llu of %u",
                          (unsigned long long)e->scope_index.slots[j].val, n),
             -1;
  uint32_t nd = ccp_ser_get_u32(r), dcap = ccp_ser_get_u32(r);
  if (!CCP_SER_CHECK(r, nd <= dcap && nd <= n && dcap <= CCP_MAX(64, 2 * (uint64_t)n),
                     "bad dirty list"))
    return -1;
  const uint32_t *d = ccp_ser_get_array(r, nd, sizeof *d);
  if (r->bad)
    return -1;
  if (dcap) {
    e->dirty = ccp_malloc(dcap * sizeof *e->dirty);
    e->dirty_cap = dcap;
    memcpy(e->dirty, d, nd * sizeof *d);
  }
  e->ndirty = nd;
  uint32_t flagged = 0;
  for (uint32_t i = 0; i < n; i++)
    flagged += e->scopes[i]->in_dirty;
  for (uint32_t i = 0; i < nd; i++)
    if (e->dirty[i] >= n || !e->scopes[e->dirty[i]]->in_dirty)
      return ccp_ser_fail(r, "bad dirty list"), -1;
  return CCP_SER_CHECK(r, flagged == nd, "bad dirty list") ? 0 : -1;
}

/* A scope id of the kind a ticket or combo needs. */
static int scope_ok(const ccp_engine_t *e, uint32_t id, int kind) {
  return id < e->nscopes && e->scopes[id]->kind == kind;
}

static int load_combos(ccp_engine_t *e, ccp_ser_rd_t *r) {
  uint32_t n = ccp_ser_get_u32(r), cap = ccp_ser_get_u32(r);
  uint32_t used = e->tickets.used;
  if (!CCP_SER_CHECK(r,
                     n <= cap && n <= r->left / COMBO_BYTES && cap <= CCP_MAX(64, 2 * (uint64_t)n),
                     "%u combos (room for %u)", n, cap))
    return -1;
  e->combos = cap ? ccp_calloc(cap, sizeof *e->combos) : NULL;
  e->combos_cap = cap;
  for (uint32_t i = 0; i < n; i++) {
    ccp_combo_t *c = &e->combos[i];
    uint32_t v[6];
    ccp_ser_get_into(r, v, sizeof v);
    c->queue = v[0];
    c->agent = v[1];
    c->head = v[2];
    c->tail = v[3];
    c->rhead = v[4];
    c->rtail = v[5];
    c->channel = ccp_ser_get_u8(r);
    int ok = scope_ok(e, c->queue, CCP_SC_QUEUE) &&
             (c->agent == CCP_NIL || scope_ok(e, c->agent, CCP_SC_AGENT)) &&
             c->channel < CCP_CH__COUNT;
    for (int k = 2; k < 6; k++)
      ok &= v[k] == CCP_NIL || (v[k] < used && ccp_tickets_at(&e->tickets, v[k])->key);
    if (!CCP_SER_CHECK(r, ok, "bad waiting list %u", i))
      return -1;
  }
  e->ncombos = n;
  if (ccp_u64map_load(&e->combo_index, r, 4 * (uint64_t)n + 128) != 0)
    return -1;
  for (size_t j = 0; j < e->combo_index.cap; j++)
    if (e->combo_index.slots[j].key && e->combo_index.slots[j].val >= n)
      return ccp_ser_fail(r, "combo index out of range"), -1;
  return 0;
}

static int load_ids(ccp_engine_t *e, ccp_ser_rd_t *r) {
  uint64_t cap = ccp_ser_get_u64(r), count = ccp_ser_get_u64(r);
  /* one id per ticket at most, and the map never shrinks: 4 x tickets.max bounds it */
  if (!CCP_SER_CHECK(r,
                     (cap & (cap - 1)) == 0 && count < (cap ? cap : 1) && count <= r->left / 12 &&
                         cap <= map_bound(e->cfg->max_tickets),
                     "bad id map"))
    return -1;
  ccp_u64map_restore_init(&e->ids, (size_t)cap);
  for (uint64_t i = 0; i < count; i++) {
    uint64_t key = ccp_ser_get_u64(r);
    uint32_t n = ccp_ser_get_u32(r);
    const char *s = ccp_ser_get_array(r, n, 1);
    if (r->bad || !CCP_SER_CHECK(r, !n || !memchr(s, 0, n), "bad ticket id"))
      return -1;
    char *copy = ccp_strpool_dup(&e->idpool, n ? s : "", n);
    if (ccp_u64map_restore_put(&e->ids, key, (uint64_t)(uintptr_t)copy) != 0) {
      ccp_strpool_free(&e->idpool, copy);
      return ccp_ser_fail(r, "bad id map"), -1;
    }
  }
  return 0;
}

/* Cross-checks between sections: live tickets name scopes of the right kind,
 * one of the configuration's thresholds and an open time an event can have. */
static int check_tickets(const ccp_engine_t *e, ccp_ser_rd_t *r) {
  const ccp_tickets_t *t = &e->tickets;
  for (uint32_t i = 0; i < t->used; i++) {
    const ccp_ticket_t *x = ccp_tickets_at(t, i);
    uint32_t agent = ccp_ticket_agent(x);
    if (x->key &&
        !(scope_ok(e, ccp_ticket_queue(x), CCP_SC_QUEUE) &&
          (agent == CCP_NIL || scope_ok(e, agent, CCP_SC_AGENT)) && x->channel < CCP_CH__COUNT))
      return ccp_ser_fail(r, "ticket record %u names a bad queue, agent or channel", i), -1;
    if (x->key && !(x->thr < (uint64_t)e->nthr &&
                    (x->open_ == CCP_T_NO_OPEN ||
                     x->open_ <= (uint64_t)(CCP_EVENT_TS_MAX - CCP_EVENT_TS_MIN))))
      return ccp_ser_fail(r, "ticket record %u has a bad threshold or open time", i), -1;
  }
  return 0;
}

static int load_scalars(ccp_engine_t *e, ccp_ser_rd_t *r) {
  for (size_t i = 0; i < CCP_ARRAY_LEN(scalars); i++)
    ccp_ser_get_into(r, (char *)e + scalars[i].off, scalars[i].size);
  return r->bad ? -1 : 0;
}

static int load_tickets(ccp_engine_t *e, ccp_ser_rd_t *r) {
  return ccp_tickets_load(&e->tickets, r) || check_tickets(e, r) ? -1 : 0;
}

static int load_timers(ccp_engine_t *e, ccp_ser_rd_t *r) {
  return ccp_timers_load(&e->timers, r, e->tickets.used);
}

static int load_dedup(ccp_engine_t *e, ccp_ser_rd_t *r) {
  return ccp_u64map_load(&e->dedup, r, map_bound(e->cfg->max_dedup));
}

static int load_acts(ccp_engine_t *e, ccp_ser_rd_t *r) {
  uint64_t bound = map_bound(e->diag.events); /* a customer per event */
  size_t sc = e->acts_sweep_cap;              /* read with the engine's scalars */
  if (ccp_u64map_load(&e->acts, r, bound))
    return -1;
  /* a doubling map's capacity: 0 or a power of two from 64, above 4/3 of the entries */
  return CCP_SER_CHECK(r,
                       (sc == 0 || (sc >= 64 && (sc & (sc - 1)) == 0)) && sc <= bound &&
                           e->acts.count * 4 <= (uint64_t)sc * 3,
                       "retention sweep capacity %zu for %zu customers", sc, e->acts.count)
             ? 0
             : -1;
}

/*
 * The sections of a checkpoint body, in order: the format at a glance
 * (docs/checkpoints.md). A section is a tag, a length and its bytes; each
 * loader must read its section to the end. A later section may rely on the
 * earlier ones (timers and waiting lists check ticket numbers, tickets check
 * scope ids, the retention bound uses the event count).
 */
static const struct section {
  uint32_t tag;
  const char *name;
  void (*save)(const ccp_engine_t *e, ccp_buf_t *out);
  int (*load)(ccp_engine_t *e, ccp_ser_rd_t *r);
} sections[] = {
    {TAG('C', 'O', 'N', 'F'), "settings", save_settings, NULL}, /* read first, by ccp_engine_load */
    {TAG('E', 'N', 'G', 'N'), "engine", save_scalars, load_scalars},
    {TAG('S', 'C', 'O', 'P'), "scopes", save_scopes, load_scopes},
    {TAG('T', 'I', 'C', 'K'), "tickets", save_tickets, load_tickets},
    {TAG('T', 'I', 'M', 'R'), "timers", save_timers, load_timers},
    {TAG('C', 'O', 'M', 'B'), "waiting lists", save_combos, load_combos},
    {TAG('D', 'E', 'D', 'U'), "duplicate filter", save_dedup, load_dedup},
    {TAG('A', 'C', 'T', 'S'), "retention activity", save_acts, load_acts},
    {TAG('I', 'D', 'S', ' '), "alert ids", save_ids, load_ids},
};

int ccp_engine_save(ccp_engine_t *e, ccp_buf_t *out) {
  return ccp__engine_save_version(e, out, CKPT_VERSION);
}

int ccp__engine_save_version(ccp_engine_t *e, ccp_buf_t *out, uint32_t version) {
  CCP_ASSERT(version >= CKPT_VERSION_OLDEST && version <= CKPT_VERSION);
  ccp__engine_fit_logs(e); /* a saved log holds at most CCP_DELTA_CAP entries */
  e->ckpt_version = version;
  size_t base = out->len;
  /* one reservation for the bulk (the records, heaps and maps), so the
   * buffer does not move while they are copied */
  ccp_buf_reserve(
      out, CKPT_HEADER + 4096 + (size_t)e->tickets.used * sizeof(ccp_ticket_t) +
               ccp_timers_count(&e->timers) * sizeof(ccp_timer_key_t) +
               (e->dedup.count + e->acts.count + e->scope_index.count + e->combo_index.count) *
                   sizeof(ccp_u64map_entry_t) +
               e->ncombos * COMBO_BYTES + (size_t)e->nscopes * 512);
  char hdr[CKPT_HEADER] = CKPT_MAGIC;
  ccp_ser_put(out, hdr, sizeof hdr); /* filled in at the end */

  for (size_t i = 0; i < CCP_ARRAY_LEN(sections); i++) {
    size_t sec = sec_begin(out, sections[i].tag);
    sections[i].save(e, out);
    sec_end(out, sec);
  }

  /* the header: magic, version, layout, body length and checksum */
  uint32_t layout = layout_word();
  uint64_t body = out->len - base - CKPT_HEADER;
  uint64_t sum =
      ccp_hash64(out->data + base + CKPT_HEADER, (size_t)body, CCP__CKPT_SEED_OF(version));
  char *h = out->data + base;
  memcpy(h + 8, &version, 4);
  memcpy(h + 12, &layout, 4);
  memcpy(h + 16, &body, 8);
  memcpy(h + 24, &sum, 8);
  e->last_save.valid = 1;
  e->last_save.diag = e->diag;
  e->last_save.due = ccp__engine_next_due(e);
  return 0;
}

/* Only time moved since the last save when no counter moved (every event
 * and record counted is one: events, invalid, dead letters...; every alert,
 * expiry and eviction too) and the deadline time has not reached what was
 * due next then (no timer or expiry fired, not even a cancelled timer's
 * pop). Time alone then changes only what follows from time: the view and
 * deadline times, the buckets and windows' edges (a slide over k steps
 * leaves the windows a slide in one jump leaves), the cached retention
 * counts of the slot, the last export's key; a checkpoint of the saved
 * state, loaded and advanced to the same time, is the engine now
 * (tests/test_checkpoint.c, "idle saves"). */
int ccp_engine_saved_unchanged(const ccp_engine_t *e) {
  return e->last_save.valid && memcmp(&e->last_save.diag, &e->diag, sizeof e->diag) == 0 &&
         e->last_save.due > e->due_now;
}

/* Reads the sections after the settings into e; r is bad with a message on failure. */
static int load_body(ccp_engine_t *e, ccp_ser_rd_t *r) {
  for (size_t i = 1; i < CCP_ARRAY_LEN(sections); i++) {
    ccp_ser_rd_t s;
    if (sec_open(r, sections[i].tag, sections[i].name, &s) != 0)
      return -1;
    sections[i].load(e, &s);
    if (sec_close(r, &s) != 0)
      return -1;
  }
  r->section = "end";
  if (!CCP_SER_CHECK(r, r->left == 0, "%zu bytes after the last section", r->left))
    return -1;
  ccp__engine_recount(e); /* scopes under the caps, customer entries */
  return 0;
}

ccp_engine_t *ccp_engine_load(const ccp_config_t *cfg, const void *data, size_t len, char *errbuf,
                              size_t errlen) {
  const unsigned char *p = data;
  uint32_t version, layout;
  uint64_t body, sum;
  if (len < CKPT_HEADER || memcmp(p, CKPT_MAGIC, sizeof CKPT_MAGIC) != 0) {
    snprintf(errbuf, errlen, "cannot restore checkpoint: %s",
             len < CKPT_HEADER ? "truncated header" : "not a checkpoint (bad magic)");
    return NULL;
  }
  memcpy(&version, p + 8, 4);
  memcpy(&layout, p + 12, 4);
  memcpy(&body, p + 16, 8);
  memcpy(&sum, p + 24, 8);
  if (version < CKPT_VERSION_OLDEST || version > CKPT_VERSION) {
    snprintf(errbuf, errlen,
             "cannot restore checkpoint: format version %u, this build reads %u to %u", version,
             CKPT_VERSION_OLDEST, CKPT_VERSION);
    return NULL;
  }
  if (layout != layout_word()) {
    snprintf(errbuf, errlen,
             "cannot restore checkpoint: written by a build with another memory layout or byte "
             "order");
    return NULL;
  }
  if (body != len - CKPT_HEADER) {
    snprintf(errbuf, errlen, "cannot restore checkpoint: %s (%zu bytes, header says %llu)",
             body > len - CKPT_HEADER ? "truncated" : "trailing bytes", len,
             (unsigned long long)(body + CKPT_HEADER));
    return NULL;
  }
  if (ccp_hash64(p + CKPT_HEADER, (size_t)body, CCP__CKPT_SEED_OF(version)) != sum) {
    snprintf(errbuf, errlen, "cannot restore checkpoint: checksum mismatch (corrupt bytes)");
    return NULL;
  }
  ccp_ser_rd_t r, s;
  ccp_ser_rd_init(&r, p + CKPT_HEADER, (size_t)body);
  uint64_t fp[K__COUNT], want[K__COUNT];
  fingerprint(cfg, want);
  if (sec_open(&r, sections[0].tag, sections[0].name, &s) == 0) {
    uint32_t nk = ccp_ser_get_u32(&s);
    if (CCP_SER_CHECK(&s, nk == K__COUNT, "%u settings", nk))
      ccp_ser_get_into(&s, fp, sizeof fp);
  }
  if (sec_close(&r, &s) == 0) {
    for (int k = 0; k < K__COUNT; k++) {
      if (fp[k] != want[k]) {
        snprintf(errbuf, errlen,
                 "cannot restore checkpoint: written under another configuration ('%s' differs)",
                 key_names[k]);
        return NULL;
      }
    }
  }
  ccp_engine_t *e = NULL;
  if (!r.bad) {
    e = ccp__engine_alloc(cfg, errbuf, errlen);
    if (!e)
      return NULL;
    e->ckpt_version = version;
    if (load_body(e, &r) == 0)
      return e;
  }
  snprintf(errbuf, errlen, "cannot restore checkpoint: section '%s' is corrupt: %s", r.section,
           r.msg);
  ccp_engine_free(e);
  return NULL;
}
