/*
 * Views: partials of several engines (one per partition) merge into exactly
 * what one engine fed with every event gives, and the accessors read it.
 */
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>

#include "ccp_test.h"
#include "ccpulse/clock.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/tz.h"
#include "ccpulse/view.h"
#include "counters/partial.h"
#include "publish/publisher.h"

#define T0 1795000000000LL
#define NPART 3

static ccp_config_t cfg;

/* A deterministic stream: tickets with a lifecycle, customers owned by one
 * ticket each (distinct counts then add across partitions), no late events. */
static int make_event(int i, ccp_event_t *ev, char *id, char *ticket, char *cust, char *agent) {
  static const char *queues[] = {"billing", "sales", "tech"};
  int t = i / 6, step = i % 6;
  ccp_event_clear(ev);
  snprintf(id, 32, "e%d", i);
  snprintf(ticket, 32, "t%d", t);
  snprintf(cust, 32, "c%d", t);
  snprintf(agent, 32, "a%d", t % 7);
  ev->event_id.ptr = id;
  ev->event_id.len = strlen(id);
  ev->ticket_id.ptr = ticket;
  ev->ticket_id.len = strlen(ticket);
  ev->customer_id.ptr = cust;
  ev->customer_id.len = strlen(cust);
  ev->queue.ptr = queues[t % 3];
  ev->queue.len = strlen(queues[t % 3]);
  ev->channel = (uint8_t)(t % CCP_CH__COUNT);
  ev->ts = T0 + (int64_t)t * 7000 + step * (int64_t)(20000 + (t % 13) * 9000);
  static const int types[6] = {CCP_EV_OPENED,  CCP_EV_ASSIGNED, CCP_EV_AGENT_REPLY,
                               CCP_EV_HANDLED, CCP_EV_RESOLVED, CCP_EV_SURVEY};
  ev->type = (uint8_t)types[step];
  if (step >= 1) {
    ev->agent_id.ptr = agent;
    ev->agent_id.len = strlen(agent);
  }
  if (t % 5 == 0 && step == 2)
    ev->type = CCP_EV_CUSTOMER_REPLY; /* some breach */
  if (t % 11 == 0 && step == 4)
    return 0; /* some stay open */
  if (step == 3) {
    ev->talk_ms = 60000 + t % 1000;
    ev->hold_ms = t % 17;
  }
  if (step == 5) {
    ev->csat = 1 + t % 5;
    ev->nps = t % 11;
  }
  return 1;
}

static void test_merge_equals_single_engine(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *one = ccp_engine_new(&cfg, err, sizeof err);
  ccp_engine_t *part[NPART];
  for (int p = 0; p < NPART; p++)
    part[p] = ccp_engine_new(&cfg, err, sizeof err);
  ccp_event_t ev;
  char id[32], ticket[32], cust[32], agent[32];
  int n = 6 * 600;
  /* feed in ts order so no event is late anywhere (insertion sort; n is small) */
  int *idx = malloc(sizeof(int) * (size_t)n);
  int64_t *tsv = malloc(sizeof(int64_t) * (size_t)n);
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (!make_event(i, &ev, id, ticket, cust, agent))
      continue;
    int k = m++;
    while (k > 0 && tsv[k - 1] > ev.ts) {
      tsv[k] = tsv[k - 1];
      idx[k] = idx[k - 1];
      k--;
    }
    tsv[k] = ev.ts;
    idx[k] = i;
  }
  for (int k = 0; k < m; k++) {
    make_event(idx[k], &ev, id, ticket, cust, agent);
    ccp_engine_process(one, &ev);
    uint64_t h = ccp_hash64(ev.ticket_id.ptr, ev.ticket_id.len, 0);
    ccp_engine_process(part[h % NPART], &ev);
  }
  int64_t now = ccp_engine_now(one);
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  ccp_engine_snapshot_json(one, &a);
  ccp_view_t *v = ccp_view_new(&cfg);
  for (int p = 0; p < NPART; p++) {
    ccp_engine_advance(part[p], now); /* every partition read to its end */
    ccp_partial_t *pp = ccp_engine_export(part[p], now);
    T_EQ_INT(ccp_partial_now(pp), now);
    ccp_view_merge(v, pp);
    ccp_partial_free(pp);
  }
  ccp_view_snapshot_json(v, &b);
  T_EQ_STR(b.data, a.data);

  /* accessors */
  int all = ccp_view_find_scope(v, "all");
  T_EQ_INT(all, 0);
  T_EQ_STR(ccp_view_scope_name(v, all), "all");
  int q = ccp_view_find_scope(v, "queue:billing");
  T_TRUE(q > 0);
  T_EQ_INT(ccp_view_find_scope(v, "queue:nope"), -1);
  double x = 0;
  T_EQ_INT(ccp_view_value(v, all, 1, "opened", &x), 0);
  json_t *j = json_loads(a.data, 0, NULL);
  json_t *opened = json_object_get(
      json_object_get(
          json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "windows"), "5m"),
      "opened");
  T_EQ_INT(x, json_integer_value(opened));
  T_EQ_INT(ccp_view_value(v, all, 1, "no_such_kpi", &x), -CCP_ENOTFOUND);
  T_EQ_INT(ccp_view_value(v, q, 0, "waiting", &x), 0);
  ccp_buf_t tile;
  ccp_buf_init(&tile);
  ccp_view_window_json(v, all, 1, &tile);
  json_t *tj = json_loads(tile.data, 0, NULL);
  T_TRUE(tj != NULL);
  T_TRUE(json_equal(
      tj,
      json_object_get(
          json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "windows"), "5m")));
  json_decref(tj);
  json_decref(j);
  ccp_buf_release(&tile);

  ccp_view_free(v);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  free(idx);
  free(tsv);
  ccp_engine_free(one);
  for (int p = 0; p < NPART; p++)
    ccp_engine_free(part[p]);
}

/* One event of customer `cust` on ticket `ticket` into the single engine and
 * into the partition its ticket hashes to. */
static void feed_both(ccp_engine_t *one, ccp_engine_t **part, int npart, int type, int64_t ts,
                      const char *ticket, const char *cust, const char *agent, int seq) {
  char id[32];
  ccp_event_t ev;
  ccp_event_clear(&ev);
  snprintf(id, sizeof id, "e%d", seq);
  ev.event_id = (ccp_str_t){id, strlen(id)};
  ev.ticket_id = (ccp_str_t){ticket, strlen(ticket)};
  ev.customer_id = (ccp_str_t){cust, strlen(cust)};
  ev.queue = (ccp_str_t){"billing", 7};
  ev.channel = (uint8_t)(seq % CCP_CH__COUNT);
  ev.agent_id = (ccp_str_t){agent, strlen(agent)};
  ev.type = (uint8_t)type;
  ev.ts = ts;
  if (type == CCP_EV_HANDLED)
    ev.talk_ms = 60000;
  ccp_engine_process(one, &ev);
  ccp_engine_process(part[ccp_hash64(ticket, strlen(ticket), 0) % (uint64_t)npart], &ev);
}

/* customers_handled of `all` in window w of the view. */
static double cust_in(const ccp_view_t *v, int w) {
  double x = -1;
  ccp_view_value(v, ccp_view_find_scope(v, "all"), w, "customers_handled", &x);
  return x;
}

/* A partition's histogram whose bins stay and whose counts move between
 * two exports (first replies of 2 s and 60 s, then two more of 60 s: the
 * median moves from one bin to the other): a view kept from the first
 * export shows what a fresh view of the second shows. */
static void test_kept_histogram_counts_move(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *one = ccp_engine_new(&cfg, err, sizeof err), *part[1];
  part[0] = ccp_engine_new(&cfg, err, sizeof err);
  ccp_view_t *kept = ccp_view_new(&cfg), *fresh = ccp_view_new(&cfg);
  static const int64_t frt[4] = {2000, 60000, 60000, 60000};
  ccp_partial_t *last = NULL;
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  for (int t = 0; t < 4; t++) {
    char ticket[32];
    snprintf(ticket, sizeof ticket, "h%d", t);
    int64_t ts = T0 + t * 1000;
    feed_both(one, part, 1, CCP_EV_OPENED, ts, ticket, "c1", "a1", 2 * t);
    feed_both(one, part, 1, CCP_EV_AGENT_REPLY, ts + frt[t], ticket, "c1", "a1", 2 * t + 1);
    if (t == 0)
      continue;
    ccp_partial_t *pp = ccp_engine_export_next(part[0], T0 + 70000, last);
    ccp_partial_free(last);
    last = pp;
    ccp_view_reset(kept);
    ccp_view_merge(kept, pp);
  }
  ccp_view_merge(fresh, last);
  ccp_view_snapshot_json(kept, &a);
  ccp_view_snapshot_json(fresh, &b);
  T_EQ_STR(a.data, b.data);
  T_TRUE(strstr(b.data, "\"frt_p50_ms\":59") != NULL); /* the median moved: ~60 s */
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  ccp_partial_free(last);
  ccp_view_free(kept);
  ccp_view_free(fresh);
  ccp_engine_free(one);
  ccp_engine_free(part[0]);
}

/* The default configuration with a retention period of 20 minutes. */
static void config_20m(ccp_config_t *c) {
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(c);
  T_EQ_INT(ccp_config_set(c, "retention.period", "20m", NULL, err, sizeof err), 0);
  T_EQ_INT(ccp_config_finish(c, err, sizeof err), 0);
}

/* Ticket t, 3 s after ticket t - 1, into one and its partition: OPENED,
 * then HANDLED within the same second unless t % 4 == 3; customer
 * (7 t) mod ncust, so customer k has tickets ncust apart, hashed apart. */
static void cust_ticket(ccp_engine_t *one, ccp_engine_t **part, int np, int t, int ncust,
                        int *seq) {
  char ticket[32], cust[32], agent[32];
  int64_t ts = T0 + (int64_t)t * 3000;
  snprintf(ticket, sizeof ticket, "t%d", t);
  snprintf(cust, sizeof cust, "c%d", (t * 7) % ncust);
  snprintf(agent, sizeof agent, "a%d", t % 5);
  feed_both(one, part, np, CCP_EV_OPENED, ts, ticket, cust, agent, (*seq)++);
  if (t % 4 != 3)
    feed_both(one, part, np, CCP_EV_HANDLED, ts + 1, ticket, cust, agent, (*seq)++);
}

/* Customers whose tickets land in 2-4 partitions: the merged view equals one
 * engine fed every event, customers_handled and retention included, in
 * memory and through the partials' bytes; the per-partition counts summed
 * would not. Retention over a 20-minute period, so the stream has both. */
static void test_customers_across_partitions(void) {
  enum { NP = 4, NT = 3000, NCUST = 300 };
  char err[CCP_ERRBUF_SIZE];
  ccp_config_t c2;
  config_20m(&c2);
  ccp_engine_t *one = ccp_engine_new(&c2, err, sizeof err), *part[NP];
  for (int p = 0; p < NP; p++)
    part[p] = ccp_engine_new(&c2, err, sizeof err);
  int seq = 0;
  for (int t = 0; t < NT; t++) /* a ticket every 3 s: 2.5 hours */
    cust_ticket(one, part, NP, t, NCUST, &seq);
  int64_t now = ccp_engine_now(one);
  ccp_buf_t a, b, bytes;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  ccp_buf_init(&bytes);
  ccp_engine_snapshot_json(one, &a);
  ccp_view_t *v = ccp_view_new(&c2), *vb = ccp_view_new(&c2);
  double summed[CCP_MAX_WINDOWS] = {0};
  for (int p = 0; p < NP; p++) {
    ccp_engine_advance(part[p], now);
    ccp_partial_t *pp = ccp_engine_export(part[p], now);
    T_EQ_INT(pp->rs_l, 0); /* a few hundred customers: every one in the sample */
    ccp_view_merge(v, pp);
    ccp_view_t *alone = ccp_view_new(&c2);
    ccp_view_merge(alone, pp);
    for (int w = 0; w < c2.nwindows; w++)
      summed[w] += cust_in(alone, w);
    ccp_view_free(alone);
    ccp_buf_clear(&bytes);
    ccp_partial_save(pp, NULL, &c2, &bytes);
    ccp_partial_t *lp = ccp_partial_load(&c2, bytes.data, bytes.len, err, sizeof err);
    T_TRUE(lp != NULL);
    if (lp)
      ccp_view_merge(vb, lp);
    ccp_partial_free(lp);
    ccp_partial_free(pp);
  }
  ccp_view_snapshot_json(v, &b);
  T_EQ_STR(b.data, a.data);
  ccp_buf_clear(&b);
  ccp_view_snapshot_json(vb, &b);
  T_EQ_STR(b.data, a.data);
  int w24 = 4;                                 /* 24h: every customer handled */
  T_EQ_DBL(cust_in(v, w24), NCUST * 3 / 4, 0); /* t % 4 == 3: never handled (300 % 4 == 0) */
  T_TRUE(summed[w24] > 2 * NCUST * 3 / 4);     /* what summing gave: a customer per partition */
  json_t *j = json_loads(a.data, 0, NULL);
  json_t *ret = json_object_get(
      json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "customers"),
      "retention_pct");
  T_TRUE(json_is_number(ret) && json_number_value(ret) > 0); /* both periods have customers */
  json_decref(j);
  ccp_view_free(v);
  ccp_view_free(vb);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  ccp_buf_release(&bytes);
  ccp_engine_free(one);
  for (int p = 0; p < NP; p++)
    ccp_engine_free(part[p]);
  ccp_config_release(&c2);
}

/* A stream like the one above, each customer back after 30 min (the
 * period is 20 min), exported every 5 tickets (15 s: three exports a
 * retention slot; customers come and come back between exports)
 * into one view kept from cycle to cycle: the partitions hand their
 * customer entries and samples as the previous ones with the changes put
 * in (partial.h), and the view applies just those; every cycle's snapshot
 * is the one engine's. */
static void test_customers_kept_across_cycles(void) {
  enum { NP = 4, NT = 2000, NCUST = 600 }; /* a customer every 30 min: a period apart */
  char err[CCP_ERRBUF_SIZE];
  ccp_config_t c2;
  config_20m(&c2);
  ccp_engine_t *one = ccp_engine_new(&c2, err, sizeof err), *part[NP];
  ccp_partial_t *last[NP] = {0};
  for (int p = 0; p < NP; p++)
    part[p] = ccp_engine_new(&c2, err, sizeof err);
  ccp_view_t *v = ccp_view_new(&c2);
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  int seq = 0, cycles = 0, differ = 0, retained = 0;
  for (int t = 0; t < NT; t++) {
    cust_ticket(one, part, NP, t, NCUST, &seq);
    if (t % 5 != 4)
      continue;
    int64_t now = ccp_engine_now(one);
    ccp_view_reset(v);
    for (int p = 0; p < NP; p++) {
      ccp_engine_advance(part[p], now);
      ccp_partial_t *pp = ccp_engine_export_next(part[p], now, last[p]);
      ccp_view_merge(v, pp);
      ccp_partial_free(last[p]);
      last[p] = pp;
    }
    ccp_buf_clear(&a);
    ccp_buf_clear(&b);
    ccp_engine_snapshot_json(one, &a);
    ccp_view_snapshot_json(v, &b);
    differ += a.len != b.len || memcmp(a.data, b.data, a.len) != 0;
    retained += strstr(b.data, "\"retention_pct\":null") == NULL;
    cycles++;
  }
  fprintf(stderr, "  %d cycles, %d differ, %d with a retention figure\n", cycles, differ, retained);
  T_EQ_INT(differ, 0);
  T_TRUE(retained > cycles / 2);
  for (int p = 0; p < NP; p++) {
    ccp_partial_free(last[p]);
    ccp_engine_free(part[p]);
  }
  ccp_view_free(v);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  ccp_engine_free(one);
  ccp_config_release(&c2);
}

/* Retention of a population too big for an exact sample (L > 0 in every
 * partition): each customer's previous-period ticket and current-period
 * ticket hash to partitions independently, so the per-partition counts
 * summed would call most returning customers lost (about 1/4 retained
 * instead of 7/10); the merged sample is within 2 points of one engine fed
 * every event (the standard error here is about 0.2 points: docs/semantics.md
 * §11), and the single engine's snapshot keeps its exact counts. An export
 * midway makes the partitions keep their samples as customers come (L grows
 * then), the final one goes through the bytes too. */
static void test_retention_sample(void) {
  enum { NP = 4, NPREV = 240000, NNEW = 80000 };
  char err[CCP_ERRBUF_SIZE];
  ccp_config_t c2;
  ccp_config_init(&c2);
  T_EQ_INT(ccp_config_set(&c2, "retention.period", "1h", NULL, err, sizeof err), 0);
  T_EQ_INT(ccp_config_set(&c2, "tickets.ttl", "30d", NULL, err, sizeof err), 0);
  T_EQ_INT(ccp_config_finish(&c2, err, sizeof err), 0);
  ccp_engine_t *one = ccp_engine_new(&c2, err, sizeof err), *part[NP];
  for (int p = 0; p < NP; p++)
    part[p] = ccp_engine_new(&c2, err, sizeof err);
  char ticket[32], cust[32];
  int seq = 0;
  for (int i = 0; i < NPREV; i++) { /* the previous period: [T0, T0 + 1h) */
    snprintf(ticket, sizeof ticket, "p%d", i);
    snprintf(cust, sizeof cust, "c%d", i);
    feed_both(one, part, NP, CCP_EV_OPENED, T0 + (int64_t)i * 3600000 / NPREV, ticket, cust, "a",
              seq++);
  }
  for (int p = 0; p < NP; p++) { /* midway: ~60k customers each, all sampled */
    ccp_partial_t *pp = ccp_engine_export(part[p], ccp_engine_now(one));
    T_EQ_INT(pp->rs_l, 0);
    ccp_partial_free(pp);
  }
  int n = 0;
  for (int i = 0; i < NPREV + NNEW; i++) { /* the current one: 7 in 10 return, new ones */
    if (i < NPREV && i % 10 >= 7)
      continue;
    snprintf(ticket, sizeof ticket, "n%d", i);
    snprintf(cust, sizeof cust, "c%d", i);
    feed_both(one, part, NP, CCP_EV_OPENED, T0 + 3600000 + 1000 + (int64_t)n++ * 3500000 / 250000,
              ticket, cust, "a", seq++);
  }
  int64_t now = ccp_engine_now(one);
  ccp_buf_t a, bytes;
  ccp_buf_init(&a);
  ccp_buf_init(&bytes);
  ccp_engine_snapshot_json(one, &a);
  json_t *j = json_loads(a.data, 0, NULL);
  double exact = json_number_value(json_object_get(
      json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "customers"),
      "retention_pct"));
  json_decref(j);
  ccp_view_t *v = ccp_view_new(&c2);
  int64_t sum_prev = 0, sum_both = 0;
  for (int p = 0; p < NP; p++) {
    ccp_engine_advance(part[p], now);
    ccp_partial_t *pp = ccp_engine_export(part[p], now);
    T_TRUE(pp->rs_l > 0 && pp->rs && pp->rs->n <= CCP_RS_CAP);
    sum_prev += pp->ret_prev;
    sum_both += pp->ret_both;
    ccp_buf_clear(&bytes);
    ccp_partial_save(pp, NULL, &c2, &bytes);
    ccp_partial_t *lp = ccp_partial_load(&c2, bytes.data, bytes.len, err, sizeof err);
    T_TRUE(lp != NULL);
    if (lp)
      ccp_view_merge(v, p % 2 ? lp : pp);
    ccp_partial_free(lp);
    ccp_partial_free(pp);
  }
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_view_snapshot_json(v, &b);
  j = json_loads(b.data, 0, NULL);
  json_t *cu = json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "customers");
  double merged = json_number_value(json_object_get(cu, "retention_pct"));
  double churn = json_number_value(json_object_get(cu, "churn_pct"));
  json_decref(j);
  double summed = 100.0 * (double)sum_both / (double)sum_prev;
  fprintf(stderr, "  retention: exact %.3f, merged sample %.3f, summed per partition %.3f\n", exact,
          merged, summed);
  T_TRUE(exact > 60 && exact < 80);
  T_TRUE(fabs(merged - exact) <= 2.0);
  T_EQ_DBL(churn, 100.0 - merged, 1e-9);
  T_TRUE(fabs(summed - exact) > 20); /* the old summing: far off */
  ccp_view_free(v);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  ccp_buf_release(&bytes);
  ccp_engine_free(one);
  for (int p = 0; p < NP; p++)
    ccp_engine_free(part[p]);
  ccp_config_release(&c2);
}

/* A view kept across cycles (reset, merge: what the publisher does) writes
 * byte for byte what a fresh view writes, cycle after cycle, while it reuses
 * the windows whose figures did not change; window hashes follow the bytes;
 * scopes that leave the partials leave the view. */
static void test_persistent_view_equals_fresh(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *part[NPART];
  for (int p = 0; p < NPART; p++)
    part[p] = ccp_engine_new(&cfg, err, sizeof err);
  ccp_view_t *kept = ccp_view_new(&cfg);
  ccp_partial_t *last[NPART] = {0};
  ccp_event_t ev;
  char id[32], ticket[32], cust[32], agent[32];
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  int64_t now = T0;
  int unchanged_seen = 0, changed_seen = 0;
  uint64_t prev_hash = 0;
  int i = 0;
  for (int cycle = 0; cycle < 40; cycle++) {
    /* a burst of events on some cycles, none on others (time still moves) */
    int burst = cycle % 3 == 0 ? 0 : 40;
    for (int k = 0; k < burst; k++, i++) {
      if (!make_event(i, &ev, id, ticket, cust, agent))
        continue;
      if (ev.ts < now)
        ev.ts = now; /* keep stream time monotone: nothing late */
      now = ev.ts;
      uint64_t h = ccp_hash64(ev.ticket_id.ptr, ev.ticket_id.len, 0);
      ccp_engine_process(part[h % NPART], &ev);
    }
    now += cycle % 3 == 0 ? 1000 : 7000;
    ccp_view_t *fresh = ccp_view_new(&cfg);
    ccp_view_reset(kept);
    /* exported against the last export (unchanged scopes hand their block
     * again), merged in a rotating order, one partition left out at times */
    for (int k = 0; k < NPART; k++) {
      int p = (k + cycle / 4) % NPART;
      ccp_partial_t *pp = ccp_engine_export_next(part[p], now, last[p]);
      ccp_partial_free(last[p]);
      last[p] = pp;
      if (cycle % 5 == 4 && p == (cycle / 5) % NPART)
        continue;
      ccp_partial_t *copy = NULL; /* at times as a peer's: loaded from bytes, no blocks */
      if (cycle % 7 == 3 && p == (cycle / 7) % NPART) {
        ccp_buf_t x;
        ccp_buf_init(&x);
        ccp_partial_save(pp, NULL, &cfg, &x);
        copy = ccp_partial_load(&cfg, x.data, x.len, err, sizeof err);
        T_TRUE(copy != NULL && copy->scopes[0].blk == NULL);
        ccp_buf_release(&x);
      }
      ccp_view_merge(kept, copy ? copy : pp);
      ccp_view_merge(fresh, copy ? copy : pp);
      ccp_partial_free(copy);
    }
    ccp_buf_clear(&a);
    ccp_buf_clear(&b);
    ccp_view_snapshot_json(fresh, &a);
    ccp_view_snapshot_json(kept, &b);
    T_EQ_STR(b.data, a.data);
    T_EQ_INT(ccp_view_nscopes(kept), ccp_view_nscopes(fresh));
    for (int s = 0; s < ccp_view_nscopes(kept); s++)
      for (int w = 0; w < cfg.nwindows; w++) {
        ccp_buf_clear(&a);
        ccp_view_window_json(kept, s, w, &a);
        T_TRUE(ccp_view_window_hash(kept, s, w) == ccp_hash64(a.data, a.len, 0x6a736f6e));
        T_TRUE(ccp_view_window_hash(kept, s, w) == ccp_view_window_hash(fresh, s, w));
      }
    /* the 24h window of `all`: unchanged on quiet cycles, changed on busy ones */
    int all = ccp_view_find_scope(kept, "all");
    uint64_t h24 = ccp_view_window_hash(kept, all, 4);
    if (cycle > 0) {
      if (burst == 0 && h24 == prev_hash)
        unchanged_seen++;
      if (burst && h24 != prev_hash)
        changed_seen++;
    }
    prev_hash = h24;
    T_EQ_INT(ccp__view_entries_kept(fresh), 0); /* nothing rendered before */
    ccp_view_free(fresh);
  }
  T_TRUE(unchanged_seen > 5);
  T_TRUE(changed_seen > 5);
  /* windows written again copied the entries whose values had not moved */
  T_TRUE(ccp__view_entries_kept(kept) > 100);
  /* a scope that leaves the partials leaves the kept view */
  ccp_view_reset(kept);
  ccp_view_t *empty = ccp_view_new(&cfg);
  ccp_engine_t *one = ccp_engine_new(&cfg, err, sizeof err);
  ccp_partial_t *pp = ccp_engine_export(one, now);
  ccp_view_merge(kept, pp);
  ccp_view_merge(empty, pp);
  ccp_partial_free(pp);
  T_EQ_INT(ccp_view_nscopes(kept), 1);
  T_EQ_INT(ccp_view_find_scope(kept, "queue:billing"), -1);
  ccp_buf_clear(&a);
  ccp_buf_clear(&b);
  ccp_view_snapshot_json(empty, &a);
  ccp_view_snapshot_json(kept, &b);
  T_EQ_STR(b.data, a.data);
  ccp_engine_free(one);
  ccp_view_free(empty);
  ccp_view_free(kept);
  for (int p = 0; p < NPART; p++)
    ccp_partial_free(last[p]);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  for (int p = 0; p < NPART; p++)
    ccp_engine_free(part[p]);
}

/* Kept histograms against a fresh merge: hand-made `all` blocks of HP
 * partitions whose FRT and resolution bins, at random each cycle, stay as
 * they were (the same block handed again, or a new block with the same
 * figures), move counts on the same bins, or gain and lose bins anywhere
 * (the in-place move, and the merge from the first bin that comes or goes);
 * a partition is left out at times. The kept view's KPIs, percentiles
 * included, equal the fresh view's every cycle, and a window whose figures
 * did not change keeps its rendering. */
#define HP 4   /* partitions */
#define HB 160 /* bins drawn from */
typedef struct hpart {
  uint32_t cnt[CCP_H__COUNT][HB]; /* per histogram: count per bin (0: absent) */
  ccp_words_t *blk;               /* the last block built from them (a reference) */
} hpart_t;

static uint64_t hrand(uint64_t *x) {
  *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
  return *x >> 33;
}

/* A block in scope_block()'s layout (windows, name, values, bins) with the
 * same histograms and one count (opened: their FRT total) in every window. */
static ccp_words_t *hblock(const hpart_t *hp) {
  int nw = cfg.nwindows;
  uint32_t nb[CCP_H__COUNT] = {0}, tot = 0;
  for (int h = 0; h < CCP_H__COUNT; h++)
    for (int b = 0; b < HB; b++)
      nb[h] += hp->cnt[h][b] != 0;
  for (int b = 0; b < HB; b++)
    tot += hp->cnt[CCP_H_FRT][b];
  size_t nbins = (size_t)nw * (nb[0] + nb[1]);
  size_t bytes = (size_t)nw * (sizeof(ccp_partial_win_t) + sizeof(int64_t)) + 8 +
                 nbins * (sizeof(uint32_t) + sizeof(uint16_t));
  ccp_words_t *blk = ccp_words_new((bytes + 7) / 8, 1);
  memset(blk->w, 0, (bytes + 7) / 8 * 8);
  ccp_partial_win_t *win = (ccp_partial_win_t *)blk->w;
  char *name = (char *)(win + nw);
  memcpy(name, "all", 4);
  int64_t *val = (int64_t *)(name + 8);
  uint32_t *count = (uint32_t *)(val + nw);
  uint16_t *bin = (uint16_t *)(count + nbins);
  for (int w = 0; w < nw; w++) {
    if (tot) {
      win[w].fields = 1u << CCP_F_OPENED;
      val[w] = tot;
      win[w].val = &val[w];
    }
    for (int h = 0; h < CCP_H__COUNT; h++) {
      win[w].hist[h] = (ccp_shist_t){nb[h], nb[h] ? bin : NULL, nb[h] ? count : NULL};
      for (int b = 0; b < HB; b++)
        if (hp->cnt[h][b]) {
          *bin++ = (uint16_t)(b * 5); /* spread: exact and log bins */
          *count++ = hp->cnt[h][b];
        }
    }
  }
  return blk;
}

/* A partial of one `all` scope holding a reference to blk. */
static ccp_partial_t *hpartial(ccp_words_t *blk, int64_t now) {
  ccp_partial_t *p = ccp_calloc(1, sizeof *p);
  p->now = now;
  p->nwindows = cfg.nwindows;
  p->rs_c = INT64_MIN;
  p->scopes = ccp_calloc(1, sizeof *p->scopes);
  p->nscopes = 1;
  ccp_partial_scope_t *s = &p->scopes[0];
  s->blk = ccp_words_ref(blk);
  s->win = (ccp_partial_win_t *)blk->w;
  s->name = (char *)(s->win + cfg.nwindows);
  s->name_len = 3;
  s->kind = CCP_SC_ALL;
  s->oldest_open = INT64_MAX;
  return p;
}

static void test_kept_histograms_equal_fresh(void) {
  static hpart_t hp[HP];
  memset(hp, 0, sizeof hp);
  uint64_t x = 42;
  ccp_view_t *kept = ccp_view_new(&cfg);
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  int kinds[4] = {0}, prev_out = 0, kept_seen = 0;
  uint64_t prev_h = 0;
  for (int cycle = 0; cycle < 300; cycle++) {
    ccp_partial_t *pp[HP];
    int still = 1; /* every partition hands the same figures as the cycle before */
    for (int q = 0; q < HP; q++) {
      int kind = cycle == 0 ? 3 : (int)(hrand(&x) % 4);
      kinds[kind]++;
      still &= kind <= 1;
      for (int h = 0; h < CCP_H__COUNT && kind >= 2; h++) {
        uint32_t *c = hp[q].cnt[h];
        for (int k = 0; k < 6; k++) {
          int bn = (int)(hrand(&x) % HB);
          if (kind == 2 && c[bn]) /* the same bins: a count moves, none empties */
            c[bn] += 1 + (uint32_t)(hrand(&x) % 3);
          else if (kind == 3) /* bins come and go */
            c[bn] = hrand(&x) % 3 ? (uint32_t)(hrand(&x) % 4) : 0;
        }
      }
      if (kind != 0 || !hp[q].blk) { /* kind 1: a new block with the same figures */
        ccp_words_free(hp[q].blk);
        hp[q].blk = hblock(&hp[q]);
      }
      pp[q] = hpartial(hp[q].blk, T0 + cycle * 1000);
    }
    int out = cycle % 9 == 8 ? (cycle / 9) % HP : -1; /* a partition left out */
    ccp_view_t *fresh = ccp_view_new(&cfg);
    ccp_view_reset(kept);
    for (int q = 0; q < HP; q++)
      if (q != out) {
        ccp_view_merge(kept, pp[q]);
        ccp_view_merge(fresh, pp[q]);
      }
    ccp_buf_clear(&a);
    ccp_buf_clear(&b);
    ccp_view_snapshot_json(fresh, &a);
    ccp_view_snapshot_json(kept, &b);
    T_EQ_STR(b.data, a.data);
    for (int w = 0; w < cfg.nwindows; w++)
      T_TRUE(ccp_view_window_hash(kept, 0, w) == ccp_view_window_hash(fresh, 0, w));
    uint64_t h0 = ccp_view_window_hash(kept, 0, 0);
    if (still && out < 0 && prev_out < 0) { /* nothing moved: the same tile */
      T_TRUE(h0 == prev_h);
      kept_seen++;
    }
    prev_h = h0;
    prev_out = out;
    ccp_view_free(fresh);
    for (int q = 0; q < HP; q++)
      ccp_partial_free(pp[q]);
  }
  for (int k = 0; k < 4; k++)
    T_TRUE(kinds[k] > 100);
  T_TRUE(kept_seen > 3);
  T_TRUE(strstr(b.data, "\"frt_p99_ms\":") != NULL);
  for (int q = 0; q < HP; q++)
    ccp_words_free(hp[q].blk);
  ccp_view_free(kept);
  ccp_buf_release(&a);
  ccp_buf_release(&b);
}

/* The customer union a kept view carries from cycle to cycle (cust_sync):
 * hand-made partials of an `all` scope whose entries change at random
 * (latest units move on and back, customers come and go, a partition's
 * block is handed again unchanged, a partition leaves and comes back, the
 * merge order changes, time steps back as after a restore) give the counts
 * a brute-force union of the entries merged gives, cycle after cycle. */
#define UP 4   /* partitions */
#define UH 300 /* customer hashes */
static ccp_partial_t *union_partial(const int64_t *unit, ccp_words_t *blk, int64_t now, int64_t cu,
                                    const int64_t *start_b) {
  ccp_partial_t *p = ccp_calloc(1, sizeof *p);
  p->now = now;
  p->nwindows = cfg.nwindows;
  p->rs_c = INT64_MIN;
  p->cust_unit = cu;
  memcpy(p->start_b, start_b, sizeof p->start_b);
  memcpy(p->cur_b, start_b, sizeof p->cur_b);
  p->scopes = ccp_calloc(1, sizeof *p->scopes);
  p->nscopes = 1;
  ccp_partial_scope_t *s = &p->scopes[0];
  s->name = ccp_strndup("all", 3);
  s->name_len = 3;
  s->kind = CCP_SC_ALL;
  s->oldest_open = INT64_MAX;
  /* the windows and their one value (this partition's own count) in one allocation */
  s->win = ccp_calloc(1, (size_t)cfg.nwindows * (sizeof *s->win + sizeof(int64_t)));
  int64_t *val = (int64_t *)(s->win + cfg.nwindows);
  for (int w = 0; w < cfg.nwindows; w++) {
    int64_t edge = start_b[w] * (cfg.windows[w].granularity_ms / cu);
    for (int h = 0; h < UH; h++)
      val[w] += unit[h] != INT64_MIN && unit[h] >= edge;
    s->win[w].fields = val[w] ? 1u << CCP_F_CUST : 0;
    s->win[w].val = &val[w];
  }
  s->cust = blk && blk->n ? ccp_words_ref(blk) : NULL;
  return p;
}

static void test_customer_union_kept(void) {
  int64_t cu = 0; /* the gcd of the granularities, as the engine's unit */
  for (int w = 0; w < cfg.nwindows; w++)
    for (int64_t x = cfg.windows[w].granularity_ms, y; x; cu = x, x = y)
      y = cu % x;
  static int64_t unit[UP][UH]; /* INT64_MIN: no entry */
  ccp_words_t *blk[UP] = {0};
  for (int p = 0; p < UP; p++)
    for (int h = 0; h < UH; h++)
      unit[p][h] = INT64_MIN;
  uint64_t seed = 12345;
#define URND() (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL, (int)(seed >> 33))
  ccp_view_t *v = ccp_view_new(&cfg);
  int64_t now = T0;
  int checked = 0;
  for (int cycle = 0; cycle < 300; cycle++) {
    int back = cycle % 37 == 36; /* time steps back (a restore) */
    now += back ? -2500 * cu : cycle % 29 == 28 ? 2000 * cu : (URND() % 4) * cu / 2;
    int64_t ref = now / cu;
    for (int p = 0; p < UP; p++) {
      if (URND() % 3 == 0)
        continue; /* unchanged: its block is handed again */
      int nch = URND() % 40;
      for (int k = 0; k < nch; k++) {
        int h = URND() % UH, r = URND() % 10;
        if (r < 6)
          unit[p][h] = ref - URND() % 5; /* handled now, or a little late */
        else if (r < 8)
          unit[p][h] = INT64_MIN; /* evicted, or swept */
        else if (unit[p][h] != INT64_MIN)
          unit[p][h] -= 1 + URND() % 3000; /* an older one (a restored state) */
      }
      ccp_words_free(blk[p]);
      int n = 0;
      for (int h = 0; h < UH; h++)
        n += unit[p][h] != INT64_MIN;
      blk[p] = ccp_words_new((size_t)n, 1);
      n = 0;
      for (int h = 0; h < UH; h++) /* ascending hashes, spread over 32 bits */
        if (unit[p][h] != INT64_MIN)
          blk[p]->w[n++] = ((uint64_t)(h + 1) * 14000000u) << 32 | (uint32_t)unit[p][h];
    }
    /* this cycle's partitions, in a rotating order; sometimes one is lost */
    int order[UP], np = 0, lost = cycle % 11 == 5 ? URND() % UP : -1;
    for (int k = 0; k < UP; k++)
      if ((k + cycle / 7) % UP != lost)
        order[np++] = (k + cycle / 7) % UP;
    int64_t start_b[CCP_MAX_WINDOWS] = {0}, want[CCP_MAX_WINDOWS];
    for (int w = 0; w < cfg.nwindows; w++) {
      int64_t g = cfg.windows[w].granularity_ms;
      start_b[w] = ccp_floordiv(now, g) - (w + 1) * (g == cu ? 20 : 2);
      int64_t edge = start_b[w] * (g / cu);
      want[w] = 0;
      for (int h = 0; h < UH; h++) {
        int64_t best = INT64_MIN;
        for (int k = 0; k < np; k++)
          best = CCP_MAX(best, unit[order[k]][h]);
        want[w] += best != INT64_MIN && best >= edge;
      }
    }
    ccp_view_reset(v);
    for (int k = 0; k < np; k++) {
      ccp_partial_t *pp = union_partial(unit[order[k]], blk[order[k]], now, cu, start_b);
      ccp_view_merge(v, pp);
      ccp_partial_free(pp);
    }
    int all = ccp_view_find_scope(v, "all");
    for (int w = 0; w < cfg.nwindows; w++) {
      double x = 0;
      ccp_view_value(v, all, w, "customers_handled", &x);
      T_EQ_DBL(x, (double)want[w], 0);
      checked += want[w] > 0;
    }
  }
  T_TRUE(checked > 300);
  for (int p = 0; p < UP; p++)
    ccp_words_free(blk[p]);
  ccp_view_free(v);
#undef URND
}

/* The retention union a kept view carries from cycle to cycle (rs_sync):
 * hand-made partials whose samples change at random (activity bits come
 * and go, customers leave the sample, a partition's slot lags or its L
 * grows, a partition is lost for a cycle, a block is handed again) give the
 * retention a brute-force union of the samples merged gives. */
#define RH 200 /* sampled customers */
static void rs_counts(const uint64_t *bits, int64_t *prev, int64_t *both) {
  const uint64_t cur = (1ULL << CCP_RS_BITS / 2) - 1;
  *prev = *both = 0;
  for (int h = 0; h < RH; h++)
    if (bits[h] & ~cur) {
      (*prev)++;
      *both += (bits[h] & cur) != 0;
    }
}

static void test_retention_union_kept(void) {
  const uint64_t mask = (1ULL << CCP_RS_BITS) - 1;
  static uint64_t act[UP][RH]; /* activity at the partition's slot; 0: not sampled */
  int64_t slot[UP];
  int lv[UP];
  ccp_words_t *blk[UP] = {0};
  uint64_t key[RH];
  for (int h = 0; h < RH; h++) /* ascending 64-bit hashes, half above CCP_RS_MAX(1) */
    key[h] = (uint64_t)(h + 1) * (UINT64_MAX / (RH + 1));
  uint64_t seed = 777;
#define URND() (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL, (int)(seed >> 33))
  ccp_view_t *v = ccp_view_new(&cfg);
  int64_t start_b[CCP_MAX_WINDOWS] = {0}, no_units[UH];
  for (int h = 0; h < UH; h++)
    no_units[h] = INT64_MIN;
  json_error_t jerr;
  ccp_buf_t out;
  ccp_buf_init(&out);
  int checked = 0;
  for (int p = 0; p < UP; p++) {
    slot[p] = 1000, lv[p] = 0;
    blk[p] = ccp_words_new(0, 2);
  }
  for (int cycle = 0; cycle < 300; cycle++) {
    for (int p = 0; p < UP; p++) {
      if (URND() % 3 == 0)
        continue; /* unchanged: its block is handed again */
      int nch = URND() % 30;
      for (int k = 0; k < nch; k++) {
        int h = URND() % RH, r = URND() % 10;
        if (r < 6)
          act[p][h] |= 1ULL << (URND() % CCP_RS_BITS); /* active in some slot */
        else if (r < 8)
          act[p][h] = 0; /* left the sample */
        else
          act[p][h] &= ~(1ULL << (URND() % CCP_RS_BITS)); /* bits gone (a restored state) */
      }
      if (URND() % 25 == 0)
        slot[p] += 1 + URND() % 2; /* its slot moves on */
      if (URND() % 40 == 0)
        lv[p] = !lv[p]; /* its L grows, or shrinks after a sweep */
      ccp_words_free(blk[p]);
      int n = 0;
      for (int h = 0; h < RH; h++)
        n += act[p][h] != 0 && key[h] <= CCP_RS_MAX(lv[p]);
      blk[p] = ccp_words_new((size_t)n, 2);
      n = 0;
      for (int h = 0; h < RH; h++)
        if (act[p][h] && key[h] <= CCP_RS_MAX(lv[p])) {
          blk[p]->w[2 * n] = key[h];
          blk[p]->w[2 * n++ + 1] = act[p][h] & mask;
        }
    }
    int order[UP], np = 0, lost = cycle % 9 == 4 ? URND() % UP : -1;
    for (int k = 0; k < UP; k++)
      if ((k + cycle / 5) % UP != lost)
        order[np++] = (k + cycle / 5) % UP;
    /* brute force: the largest slot and L, every sample's bits moved there */
    int64_t c = INT64_MIN, want_prev, want_both;
    int l = 0, nsamp = 0;
    for (int k = 0; k < np; k++)
      if (blk[order[k]]->n) {
        c = CCP_MAX(c, slot[order[k]]);
        l = CCP_MAX(l, lv[order[k]]);
        nsamp++;
      }
    uint64_t bits[RH] = {0};
    for (int k = 0; k < np; k++) {
      int p = order[k];
      for (uint32_t e = 0; blk[p]->n && e < blk[p]->n; e++) {
        int64_t d = c - slot[p];
        int h = (int)(blk[p]->w[2 * e] / (UINT64_MAX / (RH + 1))) - 1;
        if (d < CCP_RS_BITS && key[h] <= CCP_RS_MAX(l))
          bits[h] |= (blk[p]->w[2 * e + 1] << d) & mask;
      }
    }
    rs_counts(bits, &want_prev, &want_both);
    ccp_view_reset(v);
    for (int k = 0; k < np; k++) {
      int p = order[k];
      ccp_partial_t *pp = union_partial(no_units, NULL, T0, 1000, start_b);
      if (blk[p]->n) {
        pp->rs = ccp_words_ref(blk[p]);
        pp->rs_c = slot[p];
        pp->rs_l = lv[p];
        uint64_t own[RH] = {0}; /* its own counts: what stands when it is the only sample */
        for (uint32_t e = 0; e < blk[p]->n; e++)
          own[(int)(blk[p]->w[2 * e] / (UINT64_MAX / (RH + 1))) - 1] = blk[p]->w[2 * e + 1];
        rs_counts(own, &pp->ret_prev, &pp->ret_both);
      }
      ccp_view_merge(v, pp);
      ccp_partial_free(pp);
    }
    ccp_buf_clear(&out);
    ccp_view_snapshot_json(v, &out);
    json_t *j = json_loadb(out.data, out.len, 0, &jerr);
    json_t *ret = json_object_get(
        json_object_get(json_object_get(json_object_get(j, "scopes"), "all"), "customers"),
        "retention_pct");
    if (want_prev) {
      T_TRUE(json_is_number(ret));
      T_EQ_DBL(json_number_value(ret), 100.0 * (double)want_both / (double)want_prev, 0);
      checked += nsamp > 1;
    } else {
      T_TRUE(json_is_null(ret));
    }
    json_decref(j);
  }
  T_TRUE(checked > 200);
  for (int p = 0; p < UP; p++)
    ccp_words_free(blk[p]);
  ccp_buf_release(&out);
  ccp_view_free(v);
#undef URND
}

/* KPIS.md §5 as the view writes it: zero counts and null values left out of
 * window objects, a non-count 0 kept, gauges complete. */
static void test_zeros_left_out(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  ccp_event_t ev;
  char id[32], ticket[32], cust[32], agent[32];
  make_event(0, &ev, id, ticket, cust, agent); /* one OPENED */
  ccp_engine_process(e, &ev);
  ccp_view_t *v = ccp_view_new(&cfg);
  ccp_partial_t *pp = ccp_engine_export(e, ev.ts + 1000);
  ccp_view_merge(v, pp);
  ccp_partial_free(pp);
  int q = ccp_view_find_scope(v, "queue:billing");
  T_TRUE(q > 0);
  ccp_buf_t t;
  ccp_buf_init(&t);
  ccp_view_window_json(v, q, 0, &t);
  T_EQ_STR(t.data, "{\"opened\":1,\"abandon_pct\":0}");
  ccp_buf_clear(&t);
  ccp_view_gauges_json(v, q, &t);
  T_EQ_STR(t.data, "{\"open\":1,\"waiting\":1,\"longest_wait_ms\":1000,\"backlog_aged\":0}");
  double x = -1;
  T_EQ_INT(ccp_view_value(v, q, 0, "resolved", &x), 0); /* the accessor still reads 0 */
  T_EQ_INT(x, 0);
  T_EQ_INT(ccp_view_events(v), 1);
  ccp_buf_release(&t);
  ccp_view_free(v);
  ccp_engine_free(e);
}

static void test_empty_view(void) {
  ccp_view_t *v = ccp_view_new(&cfg);
  ccp_buf_t a;
  ccp_buf_init(&a);
  ccp_view_snapshot_json(v, &a);
  json_t *j = json_loads(a.data, 0, NULL);
  T_TRUE(j != NULL);
  T_TRUE(json_is_null(json_object_get(j, "now_ms")));
  T_TRUE(json_object_get(json_object_get(j, "scopes"), "all") != NULL);
  T_EQ_INT(ccp_view_nscopes(v), 1);
  json_decref(j);
  ccp_buf_release(&a);
  ccp_view_free(v);
}

/* ---- the publisher reusing unchanged partitions ------------------------ */

/* The live rule (src/consume/worker.c): a partition whose engine did not
 * change but for time hands its last partial again with a fresh header; the
 * publisher then keeps its view's figures when nothing changed anywhere.
 * Checked against fresh exports of twin engines fed the same events, over
 * cycles with time standing, creeping, jumping bucket and day edges, timers
 * and expiries firing, sporadic events and undecodable records. */
#define RP_CYCLES 1200
typedef struct reuse_rig {
  ccp_engine_t *a[NPART], *b[NPART]; /* a: reused exports; b: fresh ones */
  ccp_partial_t *last[NPART];
  ccp_view_t *ref;
  int64_t wall;
  int cycle, next_event, mismatches, reused, all_reused_cycles, published;
  int prev_all_reused;
} reuse_rig_t;

static int64_t rig_wall; /* the fake wall clock (publisher thread only) */
static int64_t rig_clock(void) { return rig_wall; }

static int64_t rig_report(void *opaque) {
  reuse_rig_t *r = opaque;
  int k = r->cycle++;
  /* mostly steps inside one 5 s bucket, where only timers change anything */
  static const int64_t step[8] = {250, 250, 0, 250, 1000, 250, 250, 3000};
  rig_wall += k % 331 == 330 ? 7 * 3600000LL : k % 53 == 52 ? 61000 : step[k % 8];
  if (k % 7 == 3 || k % 13 == 0) { /* a few events on some cycles */
    ccp_event_t ev;
    char id[32], ticket[32], cust[32], agent[32];
    for (int n = 0; n < 1 + k % 3; n++) {
      int i = r->next_event++;
      if (!make_event(i, &ev, id, ticket, cust, agent) || (i / 6 % 3 == 0 && i % 6 >= 2))
        continue; /* every third ticket is never replied to: its deadlines pass */
      ev.ts = rig_wall - 100 - (i % 7) * 311; /* live, not late; deadlines off the edges */
      uint64_t h = ccp_hash64(ev.ticket_id.ptr, ev.ticket_id.len, 0);
      ccp_engine_process(r->a[h % NPART], &ev);
      ccp_engine_process(r->b[h % NPART], &ev);
    }
  }
  if (k % 29 == 5) { /* an undecodable record */
    ccp_engine_count_undecodable(r->a[k % NPART]);
    ccp_engine_count_undecodable(r->b[k % NPART]);
  }
  int64_t t = INT64_MIN;
  for (int p = 0; p < NPART; p++)
    t = CCP_MAX(t, ccp_engine_now(r->a[p]));
  return t;
}

static void rig_collect(void *opaque, int64_t now, int64_t live, ccp_publisher_bundle_t **bundles) {
  reuse_rig_t *r = opaque;
  ccp_view_reset(r->ref);
  int all_reused = 1;
  for (int i = 0; i < 2; i++) {
    ccp_publisher_bundle_t *b = bundles[i] = ccp_calloc(1, sizeof *b);
    b->items = ccp_calloc(NPART, sizeof *b->items);
    for (int p = i; p < NPART; p += 2) { /* partitions split over two bundles */
      ccp_publisher_export_t *x = &b->items[b->n++];
      x->partition = p;
      x->next_offset = -1;
      /* every partition has read everything and settled: its deadlines
       * follow the wall target while live, as the worker advances a
       * partition at its end (never G) */
      T_TRUE(live == INT64_MIN || live <= now);
      if (live != INT64_MIN) {
        ccp_engine_advance(r->a[p], live);
        ccp_engine_advance(r->b[p], live);
      }
      if (r->last[p] && ccp_engine_export_unchanged(r->a[p], now)) {
        x->partial = ccp_partial_ref(r->last[p]);
        x->header = ccp_engine_export_header(r->a[p]);
        r->reused++;
      } else {
        x->partial = ccp_engine_export(r->a[p], now);
        ccp_partial_free(r->last[p]);
        r->last[p] = ccp_partial_ref(x->partial);
        all_reused = 0;
      }
      ccp_partial_t *fresh = ccp_engine_export(r->b[p], now);
      ccp_view_merge(r->ref, fresh);
      ccp_partial_free(fresh);
    }
  }
  r->all_reused_cycles += all_reused && r->prev_all_reused;
  r->prev_all_reused = all_reused;
}

static void rig_commit(void *opaque, ccp_publisher_bundle_t *const *bundles) {
  (void)opaque;
  (void)bundles;
}

static int rig_publish(void *opaque, const ccp_view_t *v, const ccp_alert_t *alerts, int n) {
  reuse_rig_t *r = opaque;
  (void)alerts;
  (void)n;
  ccp_buf_t a, b;
  ccp_buf_init(&a);
  ccp_buf_init(&b);
  ccp_view_snapshot_json(v, &a);
  ccp_view_snapshot_json(r->ref, &b);
  int bad = a.len != b.len || memcmp(a.data, b.data, a.len) != 0;
  bad |= ccp_view_nscopes(v) != ccp_view_nscopes(r->ref);
  for (int s = 0; !bad && s < ccp_view_nscopes(v); s++) {
    for (int w = 0; w < cfg.nwindows; w++)
      bad |= ccp_view_window_hash(v, s, w) != ccp_view_window_hash(r->ref, s, w);
    ccp_buf_clear(&a);
    ccp_buf_clear(&b);
    ccp_view_gauges_json(v, s, &a);
    ccp_view_gauges_json(r->ref, s, &b);
    bad |= a.len != b.len || memcmp(a.data, b.data, a.len) != 0;
  }
  r->mismatches += bad;
  r->published++;
  ccp_buf_release(&a);
  ccp_buf_release(&b);
  return 0;
}

static void test_publisher_reuse_equals_fresh(void) {
  char err[CCP_ERRBUF_SIZE];
  static reuse_rig_t r; /* the publisher thread uses it until finish */
  memset(&r, 0, sizeof r);
  ccp_config_t c = cfg;
  c.publish_interval_ms = 1;
  for (int p = 0; p < NPART; p++) {
    r.a[p] = ccp_engine_new(&c, err, sizeof err);
    r.b[p] = ccp_engine_new(&c, err, sizeof err);
  }
  r.ref = ccp_view_new(&c);
  rig_wall = T0;
  ccp_publisher_opts_t o = {.cfg = &c,
                            .publish = rig_publish,
                            .opaque = &r,
                            .clock_ms = rig_clock,
                            .src = {.opaque = &r,
                                    .nbundles = 2,
                                    .report = rig_report,
                                    .collect = rig_collect,
                                    .commit = rig_commit}};
  ccp_publisher_t *pub = ccp_publisher_new(&o);
  T_EQ_INT(ccp_publisher_start(pub), 0);
  ccp_publisher_stats_t st;
  do {
    ccp_clock_sleep_ms(5);
    ccp_publisher_stats(pub, &st);
  } while (st.cycles < RP_CYCLES);
  T_EQ_INT(ccp_publisher_finish(pub), 0);
  ccp_publisher_free(pub);
  T_EQ_INT(r.mismatches, 0);
  T_TRUE(r.published > RP_CYCLES);
  T_TRUE(r.reused > RP_CYCLES / 2);             /* partitions were reused... */
  T_TRUE(r.all_reused_cycles > RP_CYCLES / 10); /* ...and whole views kept */
  T_TRUE(r.reused < (r.published - 1) * NPART); /* and exported afresh too */
  for (int p = 0; p < NPART; p++) {
    ccp_partial_free(r.last[p]);
    ccp_engine_free(r.a[p]);
    ccp_engine_free(r.b[p]);
  }
  ccp_view_free(r.ref);
}

/* ---- the view writer's choice per partition (several instances) ------- */

/* publisher.c several(), driven through the real publisher thread with a
 * script of cycles: the writer (owner of partition 0) keeps, per
 * partition, the partial covering the most records (largest next offset)
 * among its own export, the stored one (read for partitions it does not
 * own and once per new assignment generation) and the one it merged the
 * cycle before; on a tie its own export. No view while a partition has no
 * partial, while the fence of partition 0 fails, or when partition 0 is not
 * its own. Own exports and stored partials at the same offset are given
 * different figures here, so the view shows which one was taken. A stored
 * partial at the offset of the one merged before replaces it when it was
 * exported later (its owner re-exports the same records as the stream time
 * moves on): the same events exported SV_LATER_MS later. */
#define SV_NP 3
#define SV_MAXOFF 24
#define SV_LATER_MS (2 * 3600 * 1000LL) /* past the 1h window */
enum { SV_NONE = -1 };
typedef struct sv_step {
  int own_gen[SV_NP];  /* 0: not own */
  int own_off[SV_NP];  /* own export's next offset */
  int stored[SV_NP];   /* offset of the stored partial read back; SV_NONE: none */
  int fence_ok;        /* what the fetch says about partition 0's epoch */
  int want[SV_NP + 1]; /* partitions the writer must read, -1 ended; {-2}: no fetch */
  char pick[SV_NP];    /* 'o' own export, 's' stored, 0: no view expected */
  int pick_off[SV_NP]; /* offset of the picked partial */
  int npartials;       /* own partials handed over to be stored */
  int later;           /* bit q: partition q's stored partial is the later export */
} sv_step_t;

static const sv_step_t sv_steps[] = {
    /* 0: partition 2 has no partial anywhere: no view; 1's stored one covers more */
    {{1, 1, 0}, {10, 10, 0}, {SV_NONE, 12, SV_NONE}, 1, {0, 1, 2, -1}, {0}, {0}, 2, 0},
    /* 1: 0 and 1 are not read again (same generation); 1 keeps the stored 12 over own 11 */
    {{1, 1, 0}, {11, 11, 0}, {0, 0, 5}, 1, {2, -1}, {'o', 's', 's'}, {11, 12, 5}, 2, 0},
    /* 2: own 12 ties with the kept 12: own */
    {{1, 1, 0}, {12, 12, 0}, {0, 0, 7}, 1, {2, -1}, {'o', 'o', 's'}, {12, 12, 7}, 2, 0},
    /* 3: the stored partial of 2 reads behind the one merged before: that one stays */
    {{1, 1, 0}, {13, 13, 0}, {0, 0, 6}, 1, {2, -1}, {'o', 'o', 's'}, {13, 13, 7}, 2, 0},
    /* 3a: the stored partial of 2 at the offset merged before, exported later: taken */
    {{1, 1, 0}, {13, 13, 0}, {0, 0, 7}, 1, {2, -1}, {'o', 'o', 'l'}, {13, 13, 7}, 2, 1 << 2},
    /* 3b: the same offset exported earlier again: the later one stays */
    {{1, 1, 0}, {13, 13, 0}, {0, 0, 7}, 1, {2, -1}, {'o', 'o', 'l'}, {13, 13, 7}, 2, 0},
    /* 4: 2 newly assigned, restored behind its stored partial: the stored one */
    {{1, 1, 2}, {14, 14, 3}, {0, 0, 8}, 1, {2, -1}, {'o', 'o', 's'}, {14, 14, 8}, 0, 0},
    /* 5: the restored engine reached it: own on the tie (all own: one instance's path) */
    {{1, 1, 2}, {15, 15, 8}, {0, 0, 0}, 1, {-1}, {'o', 'o', 'o'}, {15, 15, 8}, 0, 0},
    /* 6: partition 0's epoch taken by another: no view */
    {{1, 1, 2}, {16, 16, 9}, {0, 0, 0}, 0, {-1}, {0}, {0}, 0, 0},
    /* 7: partition 1 lost, its new owner stored nothing yet: the last one merged stays */
    {{1, 0, 2}, {17, 0, 10}, {0, SV_NONE, 0}, 1, {1, -1}, {'o', 'o', 'o'}, {17, 16, 10}, 2, 0},
    /* 8: its new owner stored one that covers more */
    {{1, 0, 2}, {18, 0, 11}, {0, 19, 0}, 1, {1, -1}, {'o', 's', 'o'}, {18, 19, 11}, 2, 0},
    /* 9: partition 0 lost: not the writer, nothing read */
    {{0, 0, 2}, {0, 0, 12}, {0, 0, 0}, 1, {-2}, {0}, {0}, 1, 0},
};
#define SV_NSTEPS ((int)(sizeof sv_steps / sizeof sv_steps[0]))

typedef struct sv_rig {
  ccp_config_t *cfg;
  ccp_partial_t *cand[3][SV_NP][SV_MAXOFF]; /* [own 0 / stored 1 / stored later 2][q][offset] */
  int step;                                 /* the cycle being run (publisher thread) */
  int fetched;                              /* the fetch ran this cycle */
  _Atomic int checked;                      /* cycles checked */
  int bad;
} sv_rig_t;

/* A partial of partition q after n of its events (own and stored
 * candidates of one offset get different n), exported later ms after the
 * last of them and a second. */
static ccp_partial_t *sv_partial(const ccp_config_t *c, int q, int n, int64_t later) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(c, err, sizeof err);
  ccp_event_t ev;
  char id[32], ticket[32], cust[32], agent[32];
  int64_t now = T0;
  for (int i = 0, got = 0; got < n; i++) {
    if (!make_event(i, &ev, id, ticket, cust, agent) ||
        ccp_hash64(ev.ticket_id.ptr, ev.ticket_id.len, 0) % SV_NP != (uint64_t)q)
      continue;
    ccp_engine_process(e, &ev);
    now = CCP_MAX(now, ev.ts);
    got++;
  }
  ccp_partial_t *pp = ccp_engine_export(e, now + 1000 + later);
  ccp_engine_free(e);
  return pp;
}

/* kind: 0 own, 1 stored, 2 the stored one exported SV_LATER_MS later */
static ccp_partial_t *sv_cand(sv_rig_t *r, int kind, int q, int off) {
  if (!r->cand[kind][q][off])
    r->cand[kind][q][off] =
        sv_partial(r->cfg, q, 3 * off + (kind > 0), kind == 2 ? SV_LATER_MS : 0);
  return r->cand[kind][q][off];
}

/* The candidate kind of a pick. */
static int sv_kind(char pick) { return pick == 'l' ? 2 : pick == 's'; }

static const sv_step_t *sv_cur(const sv_rig_t *r) {
  static const sv_step_t idle = {{0}, {0}, {0}, 1, {-2}, {0}, {0}, 0, 0};
  return r->step < SV_NSTEPS ? &sv_steps[r->step] : &idle;
}

static int64_t sv_report(void *opaque) {
  sv_rig_t *r = opaque;
  r->step++; /* starts at -1 */
  r->fetched = 0;
  return T0;
}

static void sv_collect(void *opaque, int64_t now, int64_t live, ccp_publisher_bundle_t **bundles) {
  sv_rig_t *r = opaque;
  const sv_step_t *st = sv_cur(r);
  (void)now;
  (void)live;
  ccp_publisher_bundle_t *b = bundles[0] = ccp_calloc(1, sizeof *b);
  b->items = ccp_calloc(SV_NP, sizeof *b->items);
  for (int q = 0; q < SV_NP; q++) {
    if (!st->own_gen[q])
      continue;
    ccp_publisher_export_t *x = &b->items[b->n++];
    x->partition = q;
    x->gen = (uint32_t)st->own_gen[q];
    x->next_offset = st->own_off[q];
    x->epoch = 1;
    x->partial = ccp_partial_ref(sv_cand(r, 0, q, st->own_off[q]));
  }
}

static int sv_partitions(void *opaque) {
  (void)opaque;
  return SV_NP;
}

static int sv_fetch(void *opaque, int32_t fence_partition, int64_t fence_epoch, const int32_t *want,
                    int nwant, ccp_partial_got_t *got, int *fence_ok) {
  sv_rig_t *r = opaque;
  const sv_step_t *st = sv_cur(r);
  r->fetched = 1;
  int k = 0;
  while (st->want[k] >= 0)
    k++;
  int same = st->want[0] != -2 && fence_partition == 0 && fence_epoch == 1 && nwant == k;
  for (int i = 0; same && i < nwant; i++)
    same = want[i] == st->want[i];
  if (!same) {
    fprintf(stderr, "  several step %d: the writer read %d partition(s), not the expected ones\n",
            r->step, nwant);
    r->bad++;
  }
  for (int i = 0; i < nwant; i++) {
    int q = want[i], off = q >= 0 && q < SV_NP ? st->stored[q] : SV_NONE;
    got[i].partition = q;
    got[i].offset = off == SV_NONE ? INT64_MIN : off;
    got[i].partial =
        off == SV_NONE ? NULL : ccp_partial_ref(sv_cand(r, st->later >> q & 1 ? 2 : 1, q, off));
  }
  *fence_ok = st->fence_ok;
  return 0;
}

static int sv_publish(void *opaque, const ccp_view_t *v, const ccp_alert_t *alerts, int n,
                      ccp_publish_extra_t *x) {
  sv_rig_t *r = opaque;
  const sv_step_t *st = sv_cur(r);
  (void)alerts;
  (void)n;
  if (r->step >= SV_NSTEPS)
    return 0;
  int bad = (st->want[0] == -2) == r->fetched || x->npartials != st->npartials;
  if (!st->pick[0] || !v) {
    bad |= (v != NULL) != (st->pick[0] != 0);
  } else { /* the view several() builds from the expected picks */
    ccp_view_t *ref = ccp_view_new(r->cfg);
    for (int q = 0; q < SV_NP; q++) {
      ccp_partial_t *pp = sv_cand(r, sv_kind(st->pick[q]), q, st->pick_off[q]);
      int own = st->own_gen[q] && st->pick[q] == 'o' && st->own_off[q] == st->pick_off[q];
      if (own)
        ccp_view_merge(ref, pp);
      else
        ccp_view_merge_figures(ref, pp);
      if (st->own_gen[q])
        ccp_view_set_time(ref, sv_cand(r, 0, q, st->own_off[q]));
    }
    ccp_buf_t a, b;
    ccp_buf_init(&a);
    ccp_buf_init(&b);
    ccp_view_snapshot_json(v, &a);
    ccp_view_snapshot_json(ref, &b);
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
      fprintf(stderr, "  several step %d: view with %lld events, want %lld\n", r->step,
              (long long)ccp_view_events(v), (long long)ccp_view_events(ref));
      bad = 1;
    }
    ccp_buf_release(&a);
    ccp_buf_release(&b);
    ccp_view_free(ref);
  }
  if (bad)
    fprintf(stderr, "  several step %d: view %s, fetched %d, %d partial(s) to store\n", r->step,
            v ? "written" : "none", r->fetched, x->npartials);
  r->bad += bad;
  atomic_fetch_add(&r->checked, 1);
  return 0;
}

static void test_publisher_several_picks(void) {
  static sv_rig_t r; /* the publisher thread uses it until finish */
  memset(&r, 0, sizeof r);
  ccp_config_t c = cfg;
  c.publish_interval_ms = 1;
  c.checkpoint_interval_ms = 0;
  r.cfg = &c;
  r.step = -1;
  ccp_publisher_opts_t o = {.cfg = &c,
                            .publish_ckpt = sv_publish,
                            .fetch = sv_fetch,
                            .opaque = &r,
                            .clock_ms = rig_clock,
                            .src = {.opaque = &r,
                                    .nbundles = 1,
                                    .report = sv_report,
                                    .collect = sv_collect,
                                    .commit = rig_commit,
                                    .partitions = sv_partitions}};
  rig_wall = T0;
  ccp_publisher_t *pub = ccp_publisher_new(&o);
  T_EQ_INT(ccp_publisher_start(pub), 0);
  while (atomic_load(&r.checked) < SV_NSTEPS)
    ccp_clock_sleep_ms(2);
  T_EQ_INT(ccp_publisher_finish(pub), 0);
  ccp_publisher_free(pub);
  T_EQ_INT(r.bad, 0);
  for (int k = 0; k < 3; k++)
    for (int q = 0; q < SV_NP; q++)
      for (int off = 0; off < SV_MAXOFF; off++)
        ccp_partial_free(r.cand[k][q][off]);
}

/* ---- idle partitions' checkpoints (docs/checkpoints.md, "Idle partitions") */

/* Two partitions as the workers save them: partition 0 idle (it saves only
 * when the cycle asks for every partition, or before its first save),
 * partition 1 changed every cycle. The publish function stores what it is
 * given, or fails the cycle or leaves a kept checkpoint unstored when the
 * script says so; the test checks which cycle asks for what. */
#define IC_STEPS 8
typedef struct idle_rig {
  ccp_partial_t *part;     /* an empty engine's export */
  uint64_t id[2];          /* each partition's last save */
  int step;                /* checkpoint cycles seen */
  int mode[IC_STEPS];      /* the mode each asked for */
  int given[IC_STEPS][2];  /* per partition: 0 none, 1 a state, 2 kept (same) */
  int committed[IC_STEPS]; /* partition 0's export committed (ckpt_stored) */
  int cur_mode;
  int last_k; /* the checkpoint cycle the publish function just saw (-1: none) */
  _Atomic int done;
} idle_rig_t;

/* what the publish function does in checkpoint cycle k: 0 store all, 1 fail
 * the cycle, 2 leave partition 0's kept checkpoint unstored (lost) */
static const int ic_action[IC_STEPS] = {0, 0, 1, 0, 0, 2, 0, 0};

static int64_t ic_report(void *opaque) {
  (void)opaque;
  return T0;
}

static void ic_checkpoint(void *opaque, int on, uint64_t round, int spread) {
  (void)round;
  (void)spread;
  ((idle_rig_t *)opaque)->cur_mode = on;
}

static void ic_collect(void *opaque, int64_t now, int64_t live, ccp_publisher_bundle_t **bundles) {
  idle_rig_t *r = opaque;
  (void)now;
  (void)live;
  ccp_publisher_bundle_t *b = bundles[0] = ccp_calloc(1, sizeof *b);
  b->items = ccp_calloc(2, sizeof *b->items);
  for (int q = 0; q < 2; q++) {
    ccp_publisher_export_t *x = &b->items[b->n++];
    x->partition = q;
    x->gen = 1;
    x->next_offset = 10 + (q ? r->step : 0);
    x->epoch = 1;
    x->partial = ccp_partial_ref(r->part);
    if (!r->cur_mode || r->step >= IC_STEPS)
      continue;
    if (q == 0 && r->cur_mode == CCP_CKPT_CHANGED && r->id[0]) { /* idle: not saved */
      x->ckpt_same = 1;
      x->ckpt_id = r->id[0];
      continue;
    }
    x->has_ckpt = 1;
    x->ckpt_id = ++r->id[q];
    ccp_buf_init(&x->ckpt);
    ccp_buf_append(&x->ckpt, "state", 5);
  }
}

static void ic_commit(void *opaque, ccp_publisher_bundle_t *const *bundles) {
  idle_rig_t *r = opaque;
  if (r->last_k >= 0)
    r->committed[r->last_k] = bundles[0]->items[0].ckpt_stored;
  r->last_k = -1;
}

static int ic_publish(void *opaque, const ccp_view_t *v, const ccp_alert_t *alerts, int n,
                      ccp_publish_extra_t *x) {
  idle_rig_t *r = opaque;
  (void)v;
  (void)alerts;
  (void)n;
  x->ckpt_pending = 0; /* written at once */
  r->last_k = -1;
  if (!x->nckpts || r->step >= IC_STEPS) {
    if (r->step >= IC_STEPS)
      atomic_store(&r->done, 1);
    return 0;
  }
  int k = r->last_k = r->step++;
  r->mode[k] = r->cur_mode;
  for (int i = 0; i < x->nckpts; i++) {
    ccp_checkpoint_t *c = &x->ckpts[i];
    r->given[k][c->partition] = c->same ? 2 : 1;
    T_EQ_INT(c->same ? c->len : 5, c->len);
    c->stored = ic_action[k] == 0 || (ic_action[k] == 2 && !(c->same && c->partition == 0));
  }
  return ic_action[k] == 1 ? -1 : 0;
}

/* The publisher's side of idle partitions: a partition that skipped its save
 * is handed on as kept (same) while the save it names is the one stored,
 * and committed as stored when the cycle keeps it; after a failed cycle, or
 * a kept checkpoint not found stored, the next checkpoint cycle saves every
 * partition; the final cycle saves every partition. */
static void test_publisher_idle_checkpoints(void) {
  static idle_rig_t r;
  memset(&r, 0, sizeof r);
  r.last_k = -1;
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  r.part = ccp_engine_export(e, T0);
  ccp_engine_free(e);
  ccp_config_t c = cfg;
  c.publish_interval_ms = 1;
  c.checkpoint_interval_ms = 1;
  ccp_publisher_opts_t o = {.cfg = &c,
                            .publish_ckpt = ic_publish,
                            .opaque = &r,
                            .src = {.opaque = &r,
                                    .nbundles = 1,
                                    .report = ic_report,
                                    .checkpoint = ic_checkpoint,
                                    .collect = ic_collect,
                                    .commit = ic_commit}};
  ccp_publisher_t *pub = ccp_publisher_new(&o);
  T_EQ_INT(ccp_publisher_start(pub), 0);
  while (!atomic_load(&r.done))
    ccp_clock_sleep_ms(2);
  T_EQ_INT(ccp_publisher_finish(pub), 0);
  T_EQ_INT(r.cur_mode, CCP_CKPT_ALL); /* the final cycle's */
  ccp_publisher_free(pub);
  /* per checkpoint cycle: the mode, what partition 0 handed, committed */
  static const int want_mode[IC_STEPS] = {CCP_CKPT_CHANGED, CCP_CKPT_CHANGED, CCP_CKPT_CHANGED,
                                          CCP_CKPT_ALL,     CCP_CKPT_CHANGED, CCP_CKPT_CHANGED,
                                          CCP_CKPT_ALL,     CCP_CKPT_CHANGED};
  static const int want_p0[IC_STEPS] = {1, 2, 2, 1, 2, 2, 1, 2};
  static const int want_commit[IC_STEPS] = {1, 1, 0, 1, 1, 0, 1, 1};
  for (int k = 0; k < IC_STEPS; k++) {
    T_EQ_INT(r.mode[k], want_mode[k]);
    T_EQ_INT(r.given[k][0], want_p0[k]);
    T_EQ_INT(r.given[k][1], 1); /* the changed partition: a state every time */
    if (r.committed[k] != want_commit[k])
      T_FAIL_("checkpoint cycle %d: committed %d, want %d", k, r.committed[k], want_commit[k]);
  }
  ccp_partial_free(r.part);
}

/* ---- checkpoint rounds spread over cycles (docs/checkpoints.md) -------- */

/* One worker with three partitions, saving as the workers do in a round:
 * each partition once per round; in a spread round one per cycle, the
 * others counted in ckpt_left. Each cycle's offsets move on, so a
 * checkpoint's offset tells which cycle saved it. The publish function
 * stores every batch at once. */
#define SR_NP 3
#define SR_BATCHES 8
typedef struct spread_rig {
  ccp_partial_t *part;
  int live;              /* the stream is live (spread rounds) */
  int cycle;             /* collects so far */
  uint64_t saved[SR_NP]; /* the round each partition was saved in */
  int mode, spread;      /* what the publisher told for the coming collect */
  uint64_t round;
  int nb;                  /* batches seen */
  int batch_n[SR_BATCHES]; /* per batch: its checkpoints */
  int batch_part[SR_BATCHES][SR_NP];
  int64_t batch_off[SR_BATCHES][SR_NP];
  uint64_t batch_round[SR_BATCHES];
  int64_t save_off[SR_NP][SR_BATCHES]; /* per partition: the offset of each save */
  int nsaves[SR_NP];
  int64_t committed[SR_NP]; /* the last offset committed as stored */
  int bad;
  _Atomic int done;
} spread_rig_t;

static int64_t sr_report(void *opaque) {
  (void)opaque;
  return T0;
}

static void sr_checkpoint(void *opaque, int on, uint64_t round, int spread) {
  spread_rig_t *r = opaque;
  r->mode = on;
  r->round = round;
  r->spread = spread;
}

static void sr_collect(void *opaque, int64_t now, int64_t live, ccp_publisher_bundle_t **bundles) {
  spread_rig_t *r = opaque;
  (void)now;
  r->bad += r->spread && (live == INT64_MIN || !r->live); /* spread only while live */
  ccp_publisher_bundle_t *b = bundles[0] = ccp_calloc(1, sizeof *b);
  b->items = ccp_calloc(SR_NP, sizeof *b->items);
  int saved = 0;
  r->cycle++;
  for (int q = 0; q < SR_NP; q++) {
    ccp_publisher_export_t *x = &b->items[b->n++];
    x->partition = q;
    x->gen = 1;
    x->next_offset = 100 * r->cycle + q;
    x->epoch = 1;
    x->partial = ccp_partial_ref(r->part);
    if (!r->mode || r->saved[q] == r->round)
      continue;
    if (r->spread && saved) {
      b->ckpt_left++;
      continue;
    }
    saved++;
    r->saved[q] = r->round;
    x->has_ckpt = 1;
    x->ckpt_id = (uint64_t)r->cycle;
    ccp_buf_init(&x->ckpt);
    ccp_buf_append(&x->ckpt, "state", 5);
    if (r->nsaves[q] < SR_BATCHES)
      r->save_off[q][r->nsaves[q]++] = x->next_offset;
  }
}

static void sr_commit(void *opaque, ccp_publisher_bundle_t *const *bundles) {
  spread_rig_t *r = opaque;
  for (int j = 0; j < bundles[0]->n; j++) {
    const ccp_publisher_export_t *x = &bundles[0]->items[j];
    if (x->ckpt_stored) {
      r->bad += x->next_offset < r->committed[x->partition]; /* never backwards */
      r->committed[x->partition] = x->next_offset;
    }
  }
}

static int sr_publish(void *opaque, const ccp_view_t *v, const ccp_alert_t *alerts, int n,
                      ccp_publish_extra_t *x) {
  spread_rig_t *r = opaque;
  (void)v;
  (void)alerts;
  (void)n;
  x->ckpt_pending = 0; /* written at once */
  if (!x->nckpts)
    return 0;
  int k = r->nb++;
  if (k >= SR_BATCHES) {
    atomic_store(&r->done, 1);
    return 0;
  }
  r->batch_n[k] = x->nckpts;
  r->batch_round[k] = r->round;
  for (int i = 0; i < x->nckpts && i < SR_NP; i++) {
    x->ckpts[i].stored = 1;
    r->bad += x->ckpts[i].whole != !r->live; /* whole exactly while catching up */
    r->batch_part[k][i] = x->ckpts[i].partition;
    r->batch_off[k][i] = x->ckpts[i].offset;
  }
  if (k == SR_NP) /* the final cycle's, after the first round */
    atomic_store(&r->done, 1);
  return 0;
}

/* Runs a publisher on the rig until its first round is written, then the
 * final cycle. */
static void sr_run(spread_rig_t *r) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  r->part = ccp_engine_export(e, T0);
  ccp_engine_free(e);
  ccp_config_t c = cfg;
  c.publish_interval_ms = 1;
  c.checkpoint_interval_ms = 3600000; /* one round, then only the final cycle's */
  ccp_publisher_opts_t o = {.cfg = &c,
                            .publish_ckpt = sr_publish,
                            .opaque = r,
                            .clock_ms = rig_clock,
                            .src = {.opaque = r,
                                    .nbundles = 1,
                                    .report = sr_report,
                                    .checkpoint = sr_checkpoint,
                                    .collect = sr_collect,
                                    .commit = sr_commit}};
  rig_wall = r->live ? T0 : T0 + 86400000; /* a day behind: catching up, not live */
  ccp_publisher_t *pub = ccp_publisher_new(&o);
  T_EQ_INT(ccp_publisher_start(pub), 0);
  int64_t until = ccp_clock_mono_ms() + 200;
  while (!atomic_load(&r->done) && ccp_clock_mono_ms() < until)
    ccp_clock_sleep_ms(2);
  T_EQ_INT(ccp_publisher_finish(pub), 0);
  ccp_publisher_free(pub);
  ccp_partial_free(r->part);
}

/* While live a round saves one partition per cycle (as a worker whose budget
 * one state fills): three batches, one after the other, each checkpoint at
 * the offset of the cycle that saved it, committed once stored; the next
 * round waits for the interval (here only the final cycle's comes, which
 * saves every partition in one batch). Catching up, the round is one cycle.
 * Checkpoints saved while catching up are marked to be written whole
 * (docs/checkpoints.md, "While catching up"), those saved live are not. */
static void test_publisher_spread_rounds(void) {
  static spread_rig_t r;
  memset(&r, 0, sizeof r);
  r.live = 1;
  sr_run(&r);
  T_EQ_INT(r.bad, 0);
  T_EQ_INT(r.nb, SR_NP + 1); /* the round's three batches, then the final cycle's */
  for (int k = 0; k < SR_NP; k++) {
    T_EQ_INT(r.batch_n[k], 1);
    T_EQ_INT(r.batch_part[k][0], k);
    T_EQ_INT(r.batch_round[k], 1);
    T_EQ_INT(r.batch_off[k][0], r.save_off[k][0]);
    if (k > 0 && r.batch_off[k][0] / 100 <= r.batch_off[k - 1][0] / 100)
      T_FAIL_("batch %d saved in cycle %lld, not after the one before", k,
              (long long)(r.batch_off[k][0] / 100));
  }
  T_EQ_INT(r.batch_n[SR_NP], SR_NP); /* final: every partition at once, a round of its own */
  T_EQ_INT(r.batch_round[SR_NP], 2);
  for (int q = 0; q < SR_NP; q++) {
    T_EQ_INT(r.nsaves[q], 2);
    T_EQ_INT(r.committed[q], r.save_off[q][1]); /* the final one's, committed last */
  }

  memset(&r, 0, sizeof r);
  r.live = 0;
  sr_run(&r);
  T_EQ_INT(r.bad, 0);
  T_EQ_INT(r.nb, 2); /* one batch of the round, then the final cycle's */
  T_EQ_INT(r.batch_n[0], SR_NP);
  T_EQ_INT(r.batch_n[1], SR_NP);
}

/* An engine without events is unchanged until a timer fires or a bucket edge
 * passes: a breach due inside a 5 s bucket is a change when the deadline
 * time passes it (ccp_engine_advance), never when only the view time does
 * (an export of a partition that has not read that far). */
static void test_export_unchanged_timers(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  ccp_event_t ev;
  char id[32], ticket[32], cust[32], agent[32];
  T_TRUE(make_event(0, &ev, id, ticket, cust, agent)); /* OPENED, PHONE */
  T_EQ_INT(ev.channel, CCP_CH_PHONE);
  ev.ts = T0 + 1234;
  T_EQ_INT(ccp_engine_export_unchanged(e, T0), 0); /* never exported */
  ccp_engine_process(e, &ev);
  ccp_partial_free(ccp_engine_export(e, T0 + 1500));
  int64_t breach_at = ev.ts + cfg.sla_ms[CCP_CH_PHONE] + 1; /* mid-bucket */
  T_TRUE(breach_at % 5000 != 0);
  int unchanged = 0, changed_at_breach = 0;
  for (int64_t t = T0 + 1750; t < breach_at + 2000; t += 250) {
    ccp_engine_advance(e, t); /* the deadline time too */
    int u = ccp_engine_export_unchanged(e, t);
    int same_bucket = (t - 250) / 5000 == t / 5000;
    if (t - 250 < breach_at && breach_at <= t) {
      T_TRUE(same_bucket);
      changed_at_breach = !u;
    } else if (same_bucket) {
      unchanged += u;
    }
    if (!u)
      ccp_partial_free(ccp_engine_export(e, t));
    T_EQ_INT(ccp_engine_now(e), t); /* advanced either way */
  }
  T_TRUE(changed_at_breach);
  T_TRUE(unchanged > 800);         /* most quarter-seconds change nothing */
  ccp_engine_count_undecodable(e); /* a dead letter counts as a change */
  T_EQ_INT(ccp_engine_export_unchanged(e, breach_at + 2000), 0);
  ccp_engine_free(e);

  /* the view time alone passing the deadline (a partition that has not read
   * that far) fires nothing: unchanged inside the breach's bucket until the
   * deadline time passes it */
  e = ccp_engine_new(&cfg, err, sizeof err);
  ccp_engine_process(e, &ev);
  int64_t edge = breach_at / 5000 * 5000, later = CCP_MIN(breach_at + 100, edge + 4999);
  ccp_partial_free(ccp_engine_export(e, edge));
  T_EQ_INT(ccp_engine_export_unchanged(e, later), 1);
  T_EQ_INT(ccp_engine_now(e), later);
  T_EQ_INT(ccp_engine_due_now(e), ev.ts);
  ccp_partial_t *pp = ccp_engine_export(e, later);
  T_EQ_INT(pp->diag.alerts_breach, 0);
  ccp_partial_free(pp);
  ccp_engine_advance(e, later);
  T_EQ_INT(ccp_engine_due_now(e), later);
  T_EQ_INT(ccp_engine_export_unchanged(e, later), 0);
  pp = ccp_engine_export(e, later);
  T_EQ_INT(pp->diag.alerts_breach, 1);
  ccp_partial_free(pp);
  ccp_engine_free(e);
}

int main(void) {
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(&cfg);
  if (ccp_config_finish(&cfg, err, sizeof err) != 0 || ccp_tz_use(cfg.timezone, err, sizeof err))
    return 2;
  T_RUN(test_merge_equals_single_engine);
  T_RUN(test_publisher_idle_checkpoints);
  T_RUN(test_publisher_spread_rounds);
  T_RUN(test_customers_across_partitions);
  T_RUN(test_customers_kept_across_cycles);
  T_RUN(test_kept_histogram_counts_move);
  T_RUN(test_retention_sample);
  T_RUN(test_empty_view);
  T_RUN(test_persistent_view_equals_fresh);
  T_RUN(test_kept_histograms_equal_fresh);
  T_RUN(test_customer_union_kept);
  T_RUN(test_retention_union_kept);
  T_RUN(test_zeros_left_out);
  T_RUN(test_export_unchanged_timers);
  T_RUN(test_publisher_reuse_equals_fresh);
  T_RUN(test_publisher_several_picks);
  ccp_config_release(&cfg);
  return T_DONE();
}
