/*
 * Partials as bytes (ccp_partial_save / ccp_partial_load): what an instance
 * stores for the view writer (docs/live.md, "Several instances"). A loaded
 * partial merges into exactly the view of the one it was saved from; a view
 * of some partials in memory and the others loaded from bytes equals the
 * view of all in memory; truncated, corrupt or foreign bytes are refused
 * (run under AddressSanitizer: never a read out of bounds). An export
 * against the previous one (ccp_engine_export_next) is byte for byte a plain
 * export, handing unchanged scopes' blocks again; its customer entries and
 * retention sample, merged from the changes, are those read out afresh.
 */
#include "ccp_test.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/tz.h"
#include "ccpulse/view.h"
#include "counters/partial.h"
#include "gen/gen.h"

#define T0 1795000000000LL
#define NPART 3

static ccp_config_t cfg;
static ccp_engine_t *part[NPART];
static int64_t now_all;

/* Events [from, to) of a small stream over NPART engines eng: tickets with a
 * lifecycle, in time order; *ts is the stream's clock (T0 at the start). */
static void feed_range(ccp_engine_t **eng, int from, int to, int64_t *ts_io) {
  static const char *queues[] = {"billing", "sales", "tech"};
  static const int types[6] = {CCP_EV_OPENED,  CCP_EV_ASSIGNED, CCP_EV_AGENT_REPLY,
                               CCP_EV_HANDLED, CCP_EV_RESOLVED, CCP_EV_SURVEY};
  char id[32], ticket[32], cust[32], agent[32];
  int64_t ts = *ts_io;
  for (int i = from; i < to; i++) {
    int t = i % 300, step = i / 300; /* every ticket's step k before step k+1 */
    ccp_event_t ev;
    ccp_event_clear(&ev);
    snprintf(id, sizeof id, "e%d", i);
    snprintf(ticket, sizeof ticket, "t%d", t);
    snprintf(cust, sizeof cust, "c%d", t % 40);
    snprintf(agent, sizeof agent, "a%d", t % 7);
    ev.event_id = (ccp_str_t){id, strlen(id)};
    ev.ticket_id = (ccp_str_t){ticket, strlen(ticket)};
    ev.customer_id = (ccp_str_t){cust, strlen(cust)};
    ev.queue = (ccp_str_t){queues[t % 3], strlen(queues[t % 3])};
    ev.channel = (uint8_t)(t % CCP_CH__COUNT);
    ev.type = (uint8_t)types[step];
    ts += 1000 + (t % 7) * 300;
    ev.ts = ts;
    if (step >= 1)
      ev.agent_id = (ccp_str_t){agent, strlen(agent)};
    if (step == 3)
      ev.talk_ms = 60000 + t;
    if (step == 5)
      ev.csat = 1 + t % 5;
    if (t % 9 == 0 && step >= 4)
      continue; /* some stay open */
    ccp_engine_process(eng[ccp_hash64(ticket, strlen(ticket), 0) % NPART], &ev);
  }
  *ts_io = ts;
}

/* The whole stream into part[]. */
static void feed(void) {
  char err[CCP_ERRBUF_SIZE];
  for (int p = 0; p < NPART; p++)
    part[p] = ccp_engine_new(&cfg, err, sizeof err);
  now_all = T0;
  feed_range(part, 0, 6 * 300, &now_all);
}

static void snapshot_of(ccp_partial_t *const *ps, int n, ccp_buf_t *out) {
  ccp_view_t *v = ccp_view_new(&cfg);
  for (int i = 0; i < n; i++)
    ccp_view_merge(v, ps[i]);
  ccp_buf_clear(out);
  ccp_view_snapshot_json(v, out);
  ccp_view_free(v);
}

/* save, load: the same snapshot, and saving the loaded one gives the same bytes */
static void test_roundtrip(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_buf_t a, b, s1, s2;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  ccp_buf_init(&s1);
  ccp_buf_init(&s2);
  ccp_partial_t *mem[NPART], *loaded[NPART];
  for (int p = 0; p < NPART; p++) {
    mem[p] = ccp_engine_export(part[p], now_all);
    ccp_buf_clear(&s1);
    ccp_partial_save(mem[p], NULL, &cfg, &s1);
    loaded[p] = ccp_partial_load(&cfg, s1.data, s1.len, err, sizeof err);
    T_TRUE(loaded[p] != NULL);
    if (!loaded[p])
      return;
    ccp_buf_clear(&s2);
    ccp_partial_save(loaded[p], NULL, &cfg, &s2);
    T_EQ_INT(s2.len, s1.len);
    T_TRUE(s1.len == s2.len && memcmp(s1.data, s2.data, s1.len) == 0);
    T_EQ_INT(ccp_partial_now(loaded[p]), now_all);
  }
  snapshot_of(mem, NPART, &a);
  snapshot_of(loaded, NPART, &b);
  T_EQ_STR(b.data, a.data);
  /* stored + own: partitions 0 and 1 in memory, 2 from bytes */
  ccp_partial_t *mixed[NPART] = {mem[0], mem[1], loaded[2]};
  snapshot_of(mixed, NPART, &b);
  T_EQ_STR(b.data, a.data);
  /* the same through ccp_view_merge_figures for the stored one (the
   * writer's time, the stored one's figures) */
  ccp_view_t *v = ccp_view_new(&cfg);
  ccp_view_merge(v, mem[0]);
  ccp_view_merge(v, mem[1]);
  ccp_view_merge_figures(v, loaded[2]);
  ccp_buf_clear(&b);
  ccp_view_snapshot_json(v, &b);
  T_EQ_STR(b.data, a.data);
  ccp_view_free(v);
  for (int p = 0; p < NPART; p++) {
    ccp_partial_free(mem[p]);
    ccp_partial_free(loaded[p]);
  }
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  ccp_buf_release(&s1);
  ccp_buf_release(&s2);
}

/* A header of a later time: the loaded partial carries it. A partial
 * lagging the writer by a bucket merges without its time. */
static void test_header_and_lag(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_buf_t s;
  ccp_buf_init(&s);
  ccp_partial_t *old = ccp_engine_export(part[0], now_all);
  ccp_partial_t *hdr = ccp_engine_export_header(part[0]);
  ccp_partial_t *later = ccp_engine_export(part[1], now_all + 120000);
  ccp_partial_t *hdr2 = ccp_engine_export_header(part[1]);
  ccp_partial_save(old, hdr2, &cfg, &s);
  ccp_partial_t *x = ccp_partial_load(&cfg, s.data, s.len, err, sizeof err);
  T_TRUE(x != NULL);
  if (x)
    T_EQ_INT(ccp_partial_now(x), now_all + 120000);
  ccp_partial_free(x);
  /* writer at now_all + 120 s; the other partition lagging at now_all */
  ccp_view_t *v = ccp_view_new(&cfg);
  ccp_view_merge(v, later);
  ccp_view_merge_figures(v, old);
  T_EQ_INT(ccp_view_now(v), now_all + 120000);
  T_EQ_INT(ccp_view_events(v),
           ccp_view_events(v)); /* read it: the figures of both are in (no crash, once each) */
  ccp_buf_clear(&s);
  ccp_view_snapshot_json(v, &s);
  T_TRUE(s.len > 0);
  ccp_view_free(v);
  ccp_partial_free(old);
  ccp_partial_free(hdr);
  ccp_partial_free(later);
  ccp_partial_free(hdr2);
  ccp_buf_release(&s);
}

/* Every truncation, every bit flip, foreign settings: refused, never a crash. */
static void test_refused(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_buf_t s;
  ccp_buf_init(&s);
  ccp_partial_t *p = ccp_engine_export(part[1], now_all);
  ccp_partial_save(p, NULL, &cfg, &s);
  int bad = 0;
  for (size_t n = 0; n < s.len; n++) {
    ccp_partial_t *x = ccp_partial_load(&cfg, s.data, n, err, sizeof err);
    bad += x != NULL;
    ccp_partial_free(x);
  }
  T_EQ_INT(bad, 0);
  char *c = malloc(s.len);
  bad = 0;
  for (size_t i = 0; i < s.len; i++) {
    memcpy(c, s.data, s.len);
    c[i] ^= (char)(1 << (i % 8));
    ccp_partial_t *x = ccp_partial_load(&cfg, c, s.len, err, sizeof err);
    bad += x != NULL;
    ccp_partial_free(x);
  }
  T_EQ_INT(bad, 0);
  /* altered body bytes resealed with a valid checksum: loaded or refused,
   * never out of bounds (ASan), and what loads merges and frees */
  int loaded = 0, refused = 0;
  for (size_t i = 32; i < s.len; i++) {
    memcpy(c, s.data, s.len);
    c[i] = (char)(c[i] + 0x41);
    uint64_t sum = ccp_hash64(c + 32, s.len - 32, 0x70617274ULL);
    memcpy(c + 24, &sum, sizeof sum);
    ccp_partial_t *x = ccp_partial_load(&cfg, c, s.len, err, sizeof err);
    if (x) {
      loaded++;
      ccp_view_t *v = ccp_view_new(&cfg);
      ccp_view_merge(v, x);
      ccp_partial_t *y = ccp_engine_export(part[0], now_all); /* two runs: united on read */
      ccp_view_merge(v, y);
      ccp_partial_free(y);
      ccp_buf_t j;
      ccp_buf_init(&j);
      ccp_view_snapshot_json(v, &j);
      ccp_buf_release(&j);
      ccp_view_free(v);
    } else {
      refused++;
    }
    ccp_partial_free(x);
  }
  T_TRUE(refused > 0);
  T_TRUE(loaded + refused == (int)(s.len - 32));
  free(c);
  /* another `windows` setting */
  ccp_config_t other;
  ccp_config_init(&other);
  ccp_config_set(&other, "windows", "1m:5s,5m:10s", NULL, err, sizeof err);
  T_EQ_INT(ccp_config_finish(&other, err, sizeof err), 0);
  ccp_partial_t *x = ccp_partial_load(&other, s.data, s.len, err, sizeof err);
  T_TRUE(x == NULL);
  T_TRUE(strstr(err, "windows") != NULL);
  ccp_partial_free(x);
  ccp_config_release(&other);
  ccp_partial_free(p);
  ccp_buf_release(&s);
}

/* Scopes of q whose block is p's (handed again), and of those with window
 * data (a non-zero field in some window). */
static void shared_blocks(const ccp_partial_t *p, const ccp_partial_t *q, int *shared,
                          int *with_data) {
  *shared = *with_data = 0;
  for (int j = 0; j < q->nscopes; j++)
    for (int i = 0; i < p->nscopes; i++)
      if (q->scopes[j].blk && q->scopes[j].blk == p->scopes[i].blk) {
        int data = 0;
        for (int w = 0; w < q->nwindows; w++)
          data |= q->scopes[j].win[w].fields != 0;
        ++*shared;
        *with_data += data;
      }
}

/* ccp_engine_export_next() against the previous export gives the bytes of a
 * plain export of an engine fed the same (a twin), in cycles with events,
 * without events, across window edges with and without data, and long
 * after the data aged out; it hands unchanged scopes' blocks again, never a
 * block of a scope with data across an edge; an engine whose windows are
 * all zero stays unchanged (ccp_engine_export_unchanged) across edges. */
static void test_export_next(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *a[NPART], *b[NPART];
  ccp_partial_t *last[NPART] = {0};
  for (int p = 0; p < NPART; p++) {
    a[p] = ccp_engine_new(&cfg, err, sizeof err);
    b[p] = ccp_engine_new(&cfg, err, sizeof err);
  }
  ccp_buf_t x, y;
  ccp_buf_init(&x);
  ccp_buf_init(&y);
  int64_t ta = T0, tb = T0, at = T0;
  int shared_total = 0, cycles = 0;
  /* chunks of events, then quiet cycles: 250 ms apart, across 5 s edges,
   * then a jump of two days (every window empties) and edges after it */
  static const int64_t step[] = {250, 250, 250, 5000, 250, 250, 10000, 172800000, 250, 5000, 5000};
  for (int c = 0; c < 12 + (int)(sizeof step / sizeof *step); c++) {
    if (c < 12) {
      feed_range(a, c * 150, c * 150 + (c % 3 == 2 ? 4 : 150), &ta);
      feed_range(b, c * 150, c * 150 + (c % 3 == 2 ? 4 : 150), &tb);
      at = ta;
    } else {
      at += step[c - 12];
    }
    for (int p = 0; p < NPART; p++) {
      ccp_partial_t *pa = ccp_engine_export_next(a[p], at, last[p]);
      ccp_partial_t *pb = ccp_engine_export(b[p], at);
      ccp_buf_clear(&x);
      ccp_buf_clear(&y);
      ccp_partial_save(pa, NULL, &cfg, &x);
      ccp_partial_save(pb, NULL, &cfg, &y);
      T_EQ_INT(x.len, y.len);
      T_TRUE(x.len == y.len && memcmp(x.data, y.data, x.len) == 0);
      if (last[p]) {
        int shared, with_data;
        shared_blocks(last[p], pa, &shared, &with_data);
        shared_total += shared;
        if (c >= 12 && step[c - 12] >= 5000) /* an edge: no block with data handed again */
          T_EQ_INT(with_data, 0);
      }
      ccp_partial_free(last[p]);
      ccp_partial_free(pb);
      last[p] = pa;
    }
    cycles++;
  }
  T_TRUE(shared_total > 0);
  /* two days on, every window of every scope is empty: an edge changes nothing */
  for (int p = 0; p < NPART; p++) {
    T_EQ_INT(ccp_engine_export_unchanged(a[p], at + 5000), 1);
    T_EQ_INT(ccp_engine_export_unchanged(a[p], at + 65000), 1);
    ccp_partial_t *hdr = ccp_engine_export_header(a[p]);
    ccp_partial_t *pb = ccp_engine_export(b[p], at + 65000);
    ccp_buf_clear(&x);
    ccp_buf_clear(&y);
    ccp_partial_save(last[p], hdr, &cfg, &x); /* the last partial with a fresh header */
    ccp_partial_save(pb, NULL, &cfg, &y);
    T_TRUE(x.len == y.len && memcmp(x.data, y.data, x.len) == 0);
    ccp_partial_free(hdr);
    ccp_partial_free(pb);
  }
  fprintf(stderr, "  %d cycles, %d blocks handed again\n", cycles, shared_total);
  for (int p = 0; p < NPART; p++) {
    ccp_partial_free(last[p]);
    ccp_engine_free(a[p]);
    ccp_engine_free(b[p]);
  }
  ccp_buf_release(&x);
  ccp_buf_release(&y);
}

/* export_next against a plain export on the generator's stream (40 agents,
 * sparse per agent), exported every 13 events: byte for byte every cycle */
static void test_export_next_stream(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *a = ccp_engine_new(&cfg, err, sizeof err);
  ccp_engine_t *b = ccp_engine_new(&cfg, err, sizeof err);
  ccp_gen_opts_t go = {.events = 4000, .seed = 11, .agents = 60, .queues = 4};
  ccp_gen_t *g = ccp_gen_new(&go);
  T_TRUE(g != NULL);
  ccp_partial_t *last = NULL;
  ccp_buf_t x, y;
  ccp_buf_init(&x);
  ccp_buf_init(&y);
  ccp_event_t ev;
  int n = 0, cycles = 0, diff = 0;
  for (int more = 1; more;) {
    more = ccp_gen_next(g, &ev) == 0;
    if (more) {
      ccp_engine_process(a, &ev);
      ccp_engine_process(b, &ev);
    }
    if (!more || ++n % 13 == 0) {
      int64_t now = ccp_engine_now(a);
      ccp_partial_t *pa = ccp_engine_export_next(a, now, last);
      ccp_partial_t *pb = ccp_engine_export(b, now);
      ccp_buf_clear(&x);
      ccp_buf_clear(&y);
      ccp_partial_save(pa, NULL, &cfg, &x);
      ccp_partial_save(pb, NULL, &cfg, &y);
      diff += !(x.len == y.len && memcmp(x.data, y.data, x.len) == 0);
      ccp_partial_free(last);
      ccp_partial_free(pb);
      last = pa;
      cycles++;
    }
  }
  fprintf(stderr, "  %d cycles, %d differ\n", cycles, diff);
  T_EQ_INT(diff, 0);
  ccp_partial_free(last);
  ccp_gen_free(g);
  ccp_engine_free(a);
  ccp_engine_free(b);
  ccp_buf_release(&x);
  ccp_buf_release(&y);
}

/* One event of ticket tk at ts on both engines (agent NULL: none). */
static void ev2(ccp_engine_t *a, ccp_engine_t *b, int type, const char *tk, const char *agent,
                int64_t ts) {
  static int k;
  char id[32];
  snprintf(id, sizeof id, "x%d", ++k);
  ccp_event_t ev;
  ccp_event_clear(&ev);
  ev.event_id = (ccp_str_t){id, strlen(id)};
  ev.ticket_id = (ccp_str_t){tk, strlen(tk)};
  ev.customer_id = (ccp_str_t){"c1", 2};
  ev.queue = (ccp_str_t){"q1", 2};
  ev.channel = 1;
  ev.type = (uint8_t)type;
  ev.ts = ts;
  if (agent)
    ev.agent_id = (ccp_str_t){agent, strlen(agent)};
  ccp_engine_process(a, &ev);
  ccp_engine_process(b, &ev);
}

/* export_next of a against a plain export of b at now: byte for byte;
 * *last becomes the new export */
static int same_export(ccp_engine_t *a, ccp_engine_t *b, int64_t now, ccp_partial_t **last) {
  ccp_buf_t x, y;
  ccp_buf_init(&x);
  ccp_buf_init(&y);
  ccp_partial_t *pa = ccp_engine_export_next(a, now, *last);
  ccp_partial_t *pb = ccp_engine_export(b, now);
  ccp_partial_save(pa, NULL, &cfg, &x);
  ccp_partial_save(pb, NULL, &cfg, &y);
  int same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
  ccp_partial_free(*last);
  ccp_partial_free(pb);
  *last = pa;
  ccp_buf_release(&x);
  ccp_buf_release(&y);
  return same;
}

/* A scope left out as empty (its data aged out of every window, no gauge)
 * whose gauges then move with no delta in its windows: a ticket handed to
 * it, a ticket of it aged by the backlog timer. It must come back in the
 * next export (a live run once lost an agent's open ticket so). */
static void test_export_next_gauges_only(void) {
  static const int types[] = {CCP_EV_ASSIGNED, CCP_EV_TRANSFERRED};
  for (int c = 0; c < 2; c++) {
    char err[CCP_ERRBUF_SIZE];
    ccp_engine_t *a = ccp_engine_new(&cfg, err, sizeof err);
    ccp_engine_t *b = ccp_engine_new(&cfg, err, sizeof err);
    ccp_partial_t *last = NULL;
    int64_t t = T0, day = 86400000;
    ev2(a, b, CCP_EV_OPENED, "t1", NULL, t);
    ev2(a, b, CCP_EV_ASSIGNED, "t1", "x", t + 1000);
    ev2(a, b, CCP_EV_RESOLVED, "t1", "x", t + 2000);
    ev2(a, b, CCP_EV_OPENED, "t2", NULL, t + 3000);
    ev2(a, b, CCP_EV_ASSIGNED, "t2", "y", t + 4000);
    T_TRUE(same_export(a, b, t + 5000, &last));
    t += 3 * day; /* x's data leaves every window; x is left out */
    ev2(a, b, CCP_EV_OPENED, "t3", NULL, t);
    T_TRUE(same_export(a, b, t, &last));
    ev2(a, b, types[c], "t2", "x", t + 1000); /* t2 (open) to x */
    T_TRUE(same_export(a, b, t + 1000, &last));
    T_TRUE(same_export(a, b, t + 1250, &last));
    ev2(a, b, CCP_EV_ASSIGNED, "t3", "z", t + 2000);
    T_TRUE(same_export(a, b, t + 2000, &last));
    for (int h = 1; h <= 30; h++) /* t3 ages under z (backlog_age 1 d) */
      T_TRUE(same_export(a, b, t + 2000 + (int64_t)h * 3600000, &last));
    ccp_partial_free(last);
    ccp_engine_free(a);
    ccp_engine_free(b);
  }
}

/* Whether two partials carry the same customer entries per scope (by
 * name) and the same retention sample. */
static int same_customers(const ccp_partial_t *a, const ccp_partial_t *b) {
  if (a->nscopes != b->nscopes || a->rs_c != b->rs_c || a->rs_l != b->rs_l || !a->rs != !b->rs ||
      (a->rs && (a->rs->n != b->rs->n || memcmp(a->rs->w, b->rs->w, 16 * (size_t)a->rs->n) != 0)))
    return 0;
  for (int i = 0; i < a->nscopes; i++) {
    const ccp_partial_scope_t *x = &a->scopes[i], *y = &b->scopes[i];
    if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) != 0 ||
        !x->cust != !y->cust ||
        (x->cust &&
         (x->cust->n != y->cust->n || memcmp(x->cust->w, y->cust->w, 8 * (size_t)x->cust->n) != 0)))
      return 0;
  }
  return 1;
}

/* Events [from, to) of the generator's stream (many customers, most seen
 * once) into e. */
static void gen_events(ccp_engine_t *e, int from, int to) {
  ccp_gen_opts_t go = {.events = 3000, .seed = 5, .agents = 12, .queues = 3};
  ccp_gen_t *g = ccp_gen_new(&go);
  ccp_event_t ev;
  for (int k = 0; k < to && ccp_gen_next(g, &ev) == 0; k++)
    if (k >= from)
      ccp_engine_process(e, &ev);
  ccp_gen_free(g);
}

/* Events [from, to) of feed_range()'s stream (40 customers, each HANDLED
 * again and again) into e. */
static void ticket_events(ccp_engine_t *e, int from, int to) {
  ccp_engine_t *eng[NPART];
  for (int p = 0; p < NPART; p++)
    eng[p] = e;
  int64_t ts = T0;
  for (int i = 0; i < from; i++) /* feed_range()'s clock at event `from` */
    ts += 1000 + (i % 300 % 7) * 300;
  feed_range(eng, from, to, &ts);
}

/* Customer entries and the retention sample exported again and again,
 * merged from the customers that changed since (export.c), against those
 * of a fresh engine fed the same events and exported once at the same
 * time (read out of its maps): the same, whether a cycle saw a few
 * changes, many (past what a merge keeps), or a jump of hours. */
static void check_cust_changes(void (*events)(ccp_engine_t *, int, int), int total) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *a = ccp_engine_new(&cfg, err, sizeof err);
  ccp_partial_t *last = NULL;
  int n = 0, checks = 0, diff = 0, with_cust = 0;
  for (int late = 0; late < 3;) {
    int next = CCP_MIN(total, n + (checks % 8 == 7 ? 300 : 11)); /* mostly a few changes */
    events(a, n, next);
    int64_t now = ccp_engine_now(a) + (n == next ? ++late * 1800000 : 0); /* then windows pass */
    n = next;
    ccp_partial_t *pa = ccp_engine_export_next(a, now, last);
    ccp_partial_free(last);
    last = pa;
    ccp_engine_t *b = ccp_engine_new(&cfg, err, sizeof err); /* the reference */
    events(b, 0, n);
    ccp_partial_t *pb = ccp_engine_export(b, now);
    diff += !same_customers(pa, pb);
    for (int i = 0; i < pa->nscopes; i++)
      with_cust += pa->scopes[i].cust != NULL;
    checks++;
    ccp_partial_free(pb);
    ccp_engine_free(b);
  }
  fprintf(stderr, "  %d exports, %d differ, %d scopes with customers\n", checks, diff, with_cust);
  T_EQ_INT(diff, 0);
  T_TRUE(checks > 30 && with_cust > 200);
  ccp_partial_free(last);
  ccp_engine_free(a);
}

static void test_export_cust_changes(void) {
  check_cust_changes(gen_events, 3000);
  check_cust_changes(ticket_events, 1800);
}

int main(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(&cfg);
  if (ccp_config_finish(&cfg, err, sizeof err) != 0 || ccp_tz_use(cfg.timezone, err, sizeof err))
    return 2;
  feed();
  T_RUN(test_roundtrip);
  T_RUN(test_header_and_lag);
  T_RUN(test_refused);
  T_RUN(test_export_next);
  T_RUN(test_export_next_stream);
  T_RUN(test_export_next_gauges_only);
  T_RUN(test_export_cust_changes);
  for (int p = 0; p < NPART; p++)
    ccp_engine_free(part[p]);
  ccp_config_release(&cfg);
  return T_DONE();
}
