/*
 * A deterministic contact-center workload (see gen.h for its shape).
 *
 * How it is built:
 *   1. Each ticket i has its own random stream (splitmix64 of seed and i), so
 *      its lifecycle (which events, which fields) does not depend on how many
 *      tickets there are; only its times do (arrival i/n on the curve). A
 *      counting pass therefore finds the number of tickets n whose events
 *      reach the requested total, without storing anything.
 *   2. The real pass stores one compact record per event (48 bytes) with a
 *      delivery key = ts + jitter, made non-decreasing within each ticket so
 *      its events stay in order, and the generation index as tie-break.
 *   3. The records are sorted by that key and cut to exactly the requested
 *      count (the last few deliveries go).
 *   4. ccp_gen_next() formats one record into a ccp_event_t with ids
 *      written into a small scratch buffer.
 *
 * The center's shape (agents, queues) is a table built once: a volume
 * weight per queue, the slice of agents staffing it and its name. A ticket
 * draws its queue, its agent within the queue's slice and a transfer target
 * with one random number each whatever the shape, so a wide center gets the
 * same lifecycles as the default one.
 *
 * Invariant: the number of random draws per ticket never depends on a time
 * value, or the counting pass and the real pass would disagree.
 *
 * Threads: a generator belongs to one thread.
 */
#include "gen/gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/common.h"

#define NQUEUES 8   /* the named queues; the default shape */
#define NAGENTS 400 /* the default shape: 50 agents per queue */
#define HOUR_MS 3600000LL
#define PHASE1_MS (4 * HOUR_MS)  /* arrivals */
#define PHASE2_MS (20 * HOUR_MS) /* the backlog is worked down */
#define JITTER_MS 20000          /* delivery jitter, far below the 5 min lateness */
#define SEQ_BITS 27              /* generation index in the order key */
#define MAX_EVENTS ((1ull << SEQ_BITS) - 1024)
#define NULL_V INT32_MIN

/* Record kinds (ccp_gen_kind_t), for the stats. */
enum {
  K_NORMAL = CCP_GEN_NORMAL,
  K_DUP = CCP_GEN_DUP,
  K_LATE = CCP_GEN_LATE,
  K_INVALID = CCP_GEN_INVALID
};

/* One stored event (48 bytes). Strings are rebuilt from the numbers. */
typedef struct rec {
  uint64_t order;  /* (delivery key ms << SEQ_BITS) | generation index */
  int64_t ts;      /* ms relative to start_ms (late ones may be negative) */
  uint32_t ticket; /* ticket number, 0-based */
  uint32_t eid;    /* event number (duplicates repeat the original's) */
  uint32_t cust;   /* customer number, 0-based */
  int32_t v[3];    /* HANDLED talk/hold/acw, SURVEY csat/nps/ces, QA errors in v[0] */
  uint16_t agent;  /* 0 = null, else agent number + 1 */
  uint16_t queue;
  uint8_t type, channel;
  uint8_t cat_kind; /* low 4 bits category (0 = null), high 4 bits K_* */
} rec_t;

struct ccp_gen {
  ccp_gen_opts_t o;
  /* the center's shape (shape_init) */
  uint32_t nq;      /* queues */
  int zipf;         /* more than the named queues: Zipf volumes, staffing by volume */
  double *qw;       /* volume share of each queue (sums to 1) */
  uint32_t *qfirst; /* queue q is staffed by agents qfirst[q] .. qfirst[q] + qsize[q] - 1 */
  uint32_t *qsize;  /* at least 1 */
  ccp_str_t *qname; /* names, in qname_buf */
  char *qname_buf;
  int agent_width; /* digits of agent ids */
  rec_t *recs;
  size_t nrecs, cap;
  size_t pos; /* next record for ccp_gen_next */
  uint32_t next_eid;
  uint64_t ntickets, ncust;
  int64_t p1_ms;                   /* arrival phase: 4 h ramp or 24 h daily curve */
  double p_dup, p_late, p_invalid; /* per emitted event */
  double p_open;                   /* backlog tickets still open at the end */
  int last_kind;                   /* kind of the event ccp_gen_next returned last */
  ccp_gen_stats_t st;
  char scratch[128]; /* ids of the current event */
  /* live mode: recs is a min-heap by (ts, order); ts are wall-clock ms */
  int live;
  double rate, carry; /* tickets per second; fraction of a ticket owed */
  int64_t last_ms;    /* arrivals are drawn up to here */
  uint64_t rng;       /* arrivals and lifecycles */
  uint32_t ticket_base;
};

static const char *const named_queues[NQUEUES] = {"billing", "tech-support", "sales", "orders",
                                                  "returns", "accounts",     "vip",   "fraud"};
static const double queue_weights[NQUEUES] = {0.22, 0.18, 0.15, 0.12, 0.10, 0.09, 0.08, 0.06};
static const double channel_weights[CCP_CH__COUNT] = {0.30, 0.30, 0.30, 0.10};
static const char *const categories[] = {NULL, "complaint", "question", "problem", "request"};

/* Per channel: mean wait before an agent picks up a freshly arrived ticket in
 * the first phase, chance that such a contact is abandoned, mean gap from
 * pick-up to a reply, mean customer reply delay. */
static const double fast_wait_ms[CCP_CH__COUNT] = {45e3, 70e3, 20 * 60e3, 8 * 60e3};
static const double fast_abandon_p[CCP_CH__COUNT] = {0.35, 0.30, 0.03, 0.05};
static const double reply_gap_ms[CCP_CH__COUNT] = {15e3, 60e3, 15 * 60e3, 8 * 60e3};
static const double cust_gap_ms[CCP_CH__COUNT] = {30e3, 90e3, 2 * HOUR_MS, 30 * 60e3};
static const double handled_p[CCP_CH__COUNT] = {1.0, 1.0, 0.4, 0.4};
static const double talk_ms[CCP_CH__COUNT] = {5 * 60e3, 9 * 60e3, 6 * 60e3, 4 * 60e3};
/* mean gap from the last reply (or HANDLED) to RESOLVED */
static const double resolve_gap_ms[CCP_CH__COUNT] = {20e3, 30e3, 10 * 60e3, 5 * 60e3};

/* Daily curve: relative arrival rate per hour of the day (quiet night, a
 * morning peak at 10-12, a smaller one at 14-16, tailing off in the evening). */
static const double hour_weights[24] = {0.15, 0.10, 0.08, 0.08, 0.10, 0.20, 0.45, 0.80,
                                        1.20, 1.55, 1.70, 1.65, 1.30, 1.35, 1.50, 1.45,
                                        1.25, 1.00, 0.80, 0.65, 0.50, 0.40, 0.30, 0.20};

/* ------------------------------------------------------------------ random */

static inline uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static inline double u01(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1.0p-53; }
static inline uint64_t below(uint64_t *s, uint64_t n) { return (uint64_t)(u01(s) * (double)n); }
static inline int64_t expo(uint64_t *s, double mean) {
  return (int64_t)(-mean * log(1.0 - u01(s)));
}
static int pick(uint64_t *s, const double *w, int n) {
  double u = u01(s);
  for (int i = 0; i < n - 1; i++) {
    if (u < w[i])
      return i;
    u -= w[i];
  }
  return n - 1;
}

/* Arrival curve of the first phase: rate rising linearly from 0.25 to 1.25
 * (relative), so the inverse CDF of u in [0,1) is a square root. */
static double arrival(double u) { return -0.25 + sqrt(0.0625 + 1.5 * u); }

/* Daily curve: inverse CDF of the hourly weights, linear within an hour;
 * returns the fraction of the day in [0,1). */
static double arrival_daily(double u) {
  double total = 0;
  for (int h = 0; h < 24; h++)
    total += hour_weights[h];
  double x = u * total;
  for (int h = 0; h < 24; h++) {
    if (x < hour_weights[h])
      return ((double)h + x / hour_weights[h]) / 24.0;
    x -= hour_weights[h];
  }
  return 23.999 / 24.0;
}

/* ----------------------------------------------------------- one ticket */

/* The lifecycle of one ticket. In counting mode (g->recs == NULL) records
 * are only counted. */
typedef struct tk {
  ccp_gen_t *g;
  uint64_t rng;
  uint64_t count; /* records this ticket produced */
  uint32_t ticket, cust;
  uint8_t channel;
  uint16_t queue;
  uint16_t agent; /* current agent + 1, 0 = none */
  int64_t ts;     /* time of the latest event */
  int64_t key;    /* delivery key of the latest event */
} tk_t;

static rec_t *push(ccp_gen_t *g) {
  if (g->nrecs == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 1 << 16;
    g->recs = ccp_realloc(g->recs, g->cap * sizeof *g->recs);
  }
  return &g->recs[g->nrecs++];
}

static void store(tk_t *t, const rec_t *r, int64_t key, int kind) {
  ccp_gen_t *g = t->g;
  t->count++;
  if (!g->recs)
    return;
  rec_t *o = push(g);
  *o = *r;
  o->cat_kind = (uint8_t)((r->cat_kind & 0x0f) | (kind << 4));
  o->order = ((uint64_t)key << SEQ_BITS) | (uint64_t)(g->nrecs - 1);
}

/* Emits an event `gap` ms (at least 1 s) after the ticket's previous one,
 * then possibly a duplicate, a late copy or an invalid sibling. */
static void emit(tk_t *t, int64_t gap, int type, uint16_t agent, int cat, int32_t v0, int32_t v1,
                 int32_t v2) {
  uint64_t *s = &t->rng;
  t->ts += gap < 1000 ? 1000 : gap;
  int64_t key = t->ts + (int64_t)below(s, JITTER_MS);
  if (key <= t->key)
    key = t->key + 1; /* keep the ticket's order */
  t->key = key;
  rec_t r = {.ts = t->ts,
             .ticket = t->ticket,
             .cust = t->cust,
             .v = {v0, v1, v2},
             .agent = agent,
             .type = (uint8_t)type,
             .channel = t->channel,
             .queue = t->queue,
             .cat_kind = (uint8_t)cat};
  if (t->g->recs)
    r.eid = t->g->next_eid++;
  store(t, &r, key, K_NORMAL);

  double u = u01(s);
  int64_t d = (int64_t)below(s, 60000);
  ccp_gen_t *g = t->g;
  if (u < g->p_dup) { /* re-delivery within a minute: same id, same ts */
    store(t, &r, key + 100 + d, K_DUP);
  } else if (u < g->p_dup + g->p_late) { /* a straggler 6-60 minutes old: a new id */
    rec_t l = r;
    l.ts = key - 6 * 60000 - d * 54;
    if (t->g->recs)
      l.eid = t->g->next_eid++;
    store(t, &l, key, K_LATE);
  } else if (u < g->p_dup + g->p_late + g->p_invalid) { /* a sibling with a field out of range */
    rec_t b = r;
    if (t->g->recs)
      b.eid = t->g->next_eid++;
    b.cat_kind = 0;
    if (d & 1) {
      b.type = CCP_EV_SURVEY;
      b.v[0] = 6 + (int32_t)(d % 4); /* csat 6..9 */
      b.v[1] = b.v[2] = NULL_V;
    } else {
      b.type = CCP_EV_HANDLED;
      b.v[0] = 60000;
      b.v[1] = -(int32_t)(d % 5000) - 1; /* negative hold */
      b.v[2] = 0;
    }
    store(t, &b, key + 1, K_INVALID);
  }
}

/* An agent of the queue's slice, + 1 (one draw). */
static uint16_t queue_agent(const ccp_gen_t *g, uint64_t *s, uint32_t q) {
  return (uint16_t)(g->qfirst[q] + below(s, g->qsize[q]) + 1);
}

static uint16_t pick_agent(tk_t *t) { return queue_agent(t->g, &t->rng, t->queue); }

/* The queue a ticket in queue q is transferred to (one draw): any other one
 * alike among the named queues, else one by volume. */
static uint16_t transfer_queue(const ccp_gen_t *g, uint64_t *s, uint32_t q) {
  if (!g->zipf)
    return (uint16_t)((q + 1 + below(s, g->nq - 1)) % g->nq);
  uint32_t to = (uint32_t)pick(s, g->qw, (int)g->nq);
  return (uint16_t)(to == q ? (q + 1) % g->nq : to);
}

#define EMIT0(t, gap, type, agent) emit(t, gap, type, agent, 0, NULL_V, NULL_V, NULL_V)

/* An agent works the ticket from time `at` on, to its resolution. */
static void work(tk_t *t, int64_t at) {
  uint64_t *s = &t->rng;
  int ch = t->channel;
  t->agent = pick_agent(t);
  EMIT0(t, at - t->ts, CCP_EV_ASSIGNED, t->agent);
  double u = u01(s);
  int replies = u < 0.6 ? 1 : u < 0.9 ? 2 : 3;
  int transfer = u01(s) < 0.06;
  for (int j = 0; j < replies; j++) {
    EMIT0(t, expo(s, reply_gap_ms[ch]), CCP_EV_AGENT_REPLY, t->agent);
    int more = j + 1 < replies;
    if (more || u01(s) < 0.25)
      EMIT0(t, expo(s, cust_gap_ms[ch]), CCP_EV_CUSTOMER_REPLY, 0);
    if (transfer && j == 0) { /* to another queue and one of its agents */
      t->queue = transfer_queue(t->g, s, t->queue);
      t->agent = pick_agent(t);
      EMIT0(t, expo(s, 60e3), CCP_EV_TRANSFERRED, t->agent);
    }
  }
  if (u01(s) < handled_p[ch]) {
    int32_t talk = (int32_t)expo(s, talk_ms[ch]);
    int32_t hold = u01(s) < 0.3 ? (int32_t)expo(s, 40e3) : 0;
    int32_t acw = (int32_t)expo(s, 60e3);
    emit(t, talk + hold, CCP_EV_HANDLED, t->agent, 0, talk, hold, acw);
  }
  EMIT0(t, expo(s, resolve_gap_ms[ch]), CCP_EV_RESOLVED, t->agent);
  if (u01(s) < 0.03) { /* the customer comes back */
    EMIT0(t, expo(s, 2 * HOUR_MS), CCP_EV_REOPENED, 0);
    EMIT0(t, expo(s, reply_gap_ms[ch]), CCP_EV_AGENT_REPLY, t->agent);
    EMIT0(t, expo(s, 60e3), CCP_EV_RESOLVED, t->agent);
  }
  if (u01(s) < 0.2) { /* csat skewed to satisfied; nps and ces less often */
    static const double csat_w[5] = {0.06, 0.06, 0.13, 0.30, 0.45};
    int32_t csat = u01(s) < 0.9 ? 1 + pick(s, csat_w, 5) : NULL_V;
    int32_t nps = u01(s) < 0.6 ? (int32_t)below(s, 11) : NULL_V;
    int32_t ces = u01(s) < 0.4 ? 1 + (int32_t)below(s, 7) : NULL_V;
    if (csat == NULL_V && nps == NULL_V && ces == NULL_V)
      csat = 5;
    emit(t, expo(s, 30 * 60e3), CCP_EV_SURVEY, t->agent, 0, csat, nps, ces);
  }
  if (u01(s) < 0.05) {
    double e = u01(s);
    int32_t errs = e < 0.6 ? 0 : e < 0.85 ? 1 : e < 0.95 ? 2 : 3;
    emit(t, expo(s, 3 * HOUR_MS), CCP_EV_QA_REVIEWED, t->agent, 0, errs, NULL_V, NULL_V);
  }
}

/* Ticket i of n (n may be a placeholder in counting mode: only times depend
 * on it). Returns the number of records. */
static uint64_t gen_ticket(ccp_gen_t *g, uint64_t i, uint64_t n) {
  tk_t t = {.g = g, .ticket = (uint32_t)i, .key = INT64_MIN};
  t.rng = g->o.seed * 0xD1B54A32D192ED03ull ^ (i + 1) * 0x9E3779B97F4A7C15ull;
  splitmix(&t.rng);
  uint64_t *s = &t.rng;
  t.channel = (uint8_t)pick(s, channel_weights, CCP_CH__COUNT);
  t.queue = (uint16_t)pick(s, g->qw, (int)g->nq);
  t.cust = (uint32_t)below(s, g->ncust ? g->ncust : 1);
  double cls = u01(s);
  double pos = ((double)i + u01(s)) / (double)n;
  double a = pos < 1 ? pos : 1;
  int64_t t_open = (int64_t)((double)g->p1_ms * (g->o.daily ? arrival_daily(a) : arrival(a)));
  static const double cat_w[5] = {0.14, 0.06, 0.50, 0.25, 0.05};
  int cat = pick(s, cat_w, 5);
  double r = u01(s);
  int ch = t.channel;

  if (cls < 0.03) { /* opened before the stream began: no OPENED */
    t.ts = (int64_t)((double)(g->p1_ms + PHASE2_MS) * pos);
    t.agent = pick_agent(&t);
    EMIT0(&t, 0, CCP_EV_CUSTOMER_REPLY, 0);
    if (r < 0.7) {
      EMIT0(&t, expo(s, reply_gap_ms[ch]), CCP_EV_AGENT_REPLY, t.agent);
      EMIT0(&t, expo(s, 60e3), CCP_EV_RESOLVED, t.agent);
    }
    return t.count;
  }
  t.ts = t_open - 1000; /* emit() adds at least 1 s */
  emit(&t, 1000, CCP_EV_OPENED, 0, cat, NULL_V, NULL_V, NULL_V);
  if (cls < 0.10) { /* worked at once: answered or abandoned within minutes */
    int64_t wait = expo(s, fast_wait_ms[ch]);
    if (r < fast_abandon_p[ch]) {
      EMIT0(&t, expo(s, 45e3), CCP_EV_ABANDONED, 0);
    } else {
      work(&t, t.ts + wait);
    }
    return t.count;
  }
  /* backlog: roughly first in, first out over the second phase */
  double w = 0.85 * (double)t_open / (double)g->p1_ms + 0.15 * u01(s);
  int64_t t_work = g->p1_ms + (int64_t)(PHASE2_MS * (w < 1 ? w : 1));
  if (r < 0.12) { /* the customer gave up waiting */
    EMIT0(&t, t_work - t.ts, CCP_EV_ABANDONED, 0);
  } else if (r < 0.12 + g->p_open) { /* still open at the end */
    if (u01(s) < 0.5) {
      t.agent = pick_agent(&t);
      EMIT0(&t, t_work - t.ts, CCP_EV_ASSIGNED, t.agent);
    }
    if (u01(s) < 0.5)
      EMIT0(&t, expo(s, HOUR_MS), CCP_EV_CUSTOMER_REPLY, 0);
  } else {
    work(&t, t_work);
  }
  return t.count;
}

/* ------------------------------------------------------------------ API */

/* Builds the shape table for `agents` agents and `queues` queues (both in
 * range, agents >= queues). Up to NQUEUES: the named queues, their volume
 * shares (renormalised when fewer) and equal slices; more: Zipf shares and
 * slices in proportion (one agent each, the rest by share, what rounding
 * leaves to the biggest queues). */
static void shape_init(ccp_gen_t *g, uint32_t agents, uint32_t queues) {
  uint32_t nq = queues;
  g->nq = nq;
  g->zipf = nq > NQUEUES;
  g->qw = ccp_calloc(nq, sizeof *g->qw);
  g->qfirst = ccp_calloc(nq, sizeof *g->qfirst);
  g->qsize = ccp_calloc(nq, sizeof *g->qsize);
  g->qname = ccp_calloc(nq, sizeof *g->qname);
  if (nq == NQUEUES) {
    memcpy(g->qw, queue_weights, sizeof queue_weights); /* as is: the default stream */
  } else {
    double sum = 0;
    for (uint32_t q = 0; q < nq; q++)
      sum += g->qw[q] = g->zipf ? 1.0 / (double)(q + 1) : queue_weights[q];
    for (uint32_t q = 0; q < nq; q++)
      g->qw[q] /= sum;
  }
  if (!g->zipf) {
    for (uint32_t q = 0; q < nq; q++)
      g->qsize[q] = agents / nq + (q < agents % nq);
  } else {
    uint32_t rest = agents - nq, given = 0;
    for (uint32_t q = 0; q < nq; q++) {
      g->qsize[q] = 1 + (uint32_t)((double)rest * g->qw[q]);
      given += g->qsize[q] - 1;
    }
    for (uint32_t q = 0; given < rest; q = (q + 1) % nq, given++)
      g->qsize[q]++;
  }
  for (uint32_t q = 1; q < nq; q++)
    g->qfirst[q] = g->qfirst[q - 1] + g->qsize[q - 1];
  CCP_ASSERT(g->qfirst[nq - 1] + g->qsize[nq - 1] == agents);

  g->agent_width = 3;
  for (uint32_t v = agents - 1; v >= 1000; v /= 10)
    g->agent_width++;
  int qwidth = 3;
  for (uint32_t v = nq - 1; v >= 1000; v /= 10)
    qwidth++;
  size_t cap = 0;
  for (uint32_t q = 0; q < nq; q++)
    cap += (q < NQUEUES ? strlen(named_queues[q]) : (size_t)qwidth + 1) + 1;
  char *p = g->qname_buf = ccp_malloc(cap);
  for (uint32_t q = 0; q < nq; q++) {
    int n = q < NQUEUES ? snprintf(p, cap, "%s", named_queues[q])
                        : snprintf(p, cap, "q%0*u", qwidth, (unsigned)q);
    g->qname[q] = (ccp_str_t){p, (size_t)n};
    p += n + 1;
    cap -= (size_t)n + 1;
  }
  g->st.agents = agents;
  g->st.queues = nq;
}

static void shape_release(ccp_gen_t *g) {
  ccp_free(g->qw);
  ccp_free(g->qfirst);
  ccp_free(g->qsize);
  ccp_free(g->qname);
  ccp_free(g->qname_buf);
}

static int cmp_order(const void *a, const void *b) {
  uint64_t x = ((const rec_t *)a)->order, y = ((const rec_t *)b)->order;
  return x < y ? -1 : x > y;
}

ccp_gen_t *ccp_gen_new(const ccp_gen_opts_t *opts) {
  ccp_gen_t *g = ccp_calloc(1, sizeof *g);
  if (opts)
    g->o = *opts;
  if (!g->o.events)
    g->o.events = 6000000;
  if (!g->o.start_ms)
    g->o.start_ms = 1795000000000LL;
  uint32_t agents = g->o.agents ? g->o.agents : NAGENTS;
  uint32_t queues = g->o.queues ? g->o.queues : NQUEUES;
  if (g->o.events > MAX_EVENTS || agents > CCP_GEN_MAX_AGENTS || queues > CCP_GEN_MAX_QUEUES ||
      agents < queues) {
    ccp_free(g);
    return NULL;
  }
  g->p1_ms = g->o.daily ? 24 * HOUR_MS : PHASE1_MS;
  /* 0 = default, negative = none */
  g->p_dup = g->o.dup_frac < 0 ? 0 : g->o.dup_frac > 0 ? g->o.dup_frac : 0.005;
  g->p_late = g->o.late_frac < 0 ? 0 : g->o.late_frac > 0 ? g->o.late_frac : 0.002;
  g->p_invalid = g->o.invalid_frac < 0 ? 0 : g->o.invalid_frac > 0 ? g->o.invalid_frac : 0.002;
  g->p_open = g->o.open_frac < 0 ? 0 : g->o.open_frac > 0 ? g->o.open_frac : 0.20;
  if (g->p_dup + g->p_late + g->p_invalid > 0.5 || g->p_open > 0.88) {
    ccp_free(g);
    return NULL;
  }
  shape_init(g, agents, queues);
  /* counting pass: how many tickets make the requested number of events */
  uint64_t total = 0, n = 0;
  while (total < g->o.events)
    total += gen_ticket(g, n++, 1);
  g->ntickets = n;
  g->ncust = n + n / 4 + 1; /* ~1.5M customers for ~1.2M tickets */

  g->cap = total + 16;
  g->recs = ccp_malloc(g->cap * sizeof *g->recs);
  for (uint64_t i = 0; i < n; i++)
    gen_ticket(g, i, n);
  CCP_ASSERT(g->nrecs == total);
  qsort(g->recs, g->nrecs, sizeof *g->recs, cmp_order);
  g->nrecs = g->o.events;

  ccp_gen_stats_t *st = &g->st;
  st->events = g->nrecs;
  st->tickets = n;
  st->customers = g->ncust;
  st->first_ms = INT64_MAX;
  st->last_ms = INT64_MIN;
  for (size_t i = 0; i < g->nrecs; i++) {
    const rec_t *r = &g->recs[i];
    int kind = r->cat_kind >> 4;
    st->duplicates += kind == K_DUP;
    st->late += kind == K_LATE;
    st->invalid += kind == K_INVALID;
    int64_t ts = g->o.start_ms + r->ts;
    if (ts < st->first_ms)
      st->first_ms = ts;
    if (ts > st->last_ms)
      st->last_ms = ts;
  }
  return g;
}

void ccp_gen_free(ccp_gen_t *g) {
  if (!g)
    return;
  shape_release(g);
  ccp_free(g->recs);
  ccp_free(g);
}

void ccp_gen_rewind(ccp_gen_t *g) { g->pos = 0; }

const ccp_gen_stats_t *ccp_gen_stats(const ccp_gen_t *g) { return &g->st; }

int ccp_gen_kind(const ccp_gen_t *g) { return g->last_kind; }

uint64_t ccp_gen_pos(const ccp_gen_t *g) { return g->pos; }

/* Writes prefix + decimal v at p; returns the view. */
static ccp_str_t put_id(char **p, char prefix, uint64_t v, int width) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v || n < width);
  ccp_str_t out = {*p, (size_t)n + 1};
  char *q = *p;
  *q++ = prefix;
  while (n)
    *q++ = tmp[--n];
  *p = q;
  return out;
}

/* Formats one record into ev (ids into g->scratch). */
static void format(ccp_gen_t *g, const rec_t *r, ccp_event_t *ev) {
  g->last_kind = r->cat_kind >> 4;
  ccp_event_clear(ev);
  char *p = g->scratch;
  ev->ts = g->o.start_ms + r->ts;
  ev->event_id = put_id(&p, 'e', r->eid + 1 + g->o.id_offset, 1);
  ev->ticket_id = put_id(&p, 'T', (uint64_t)r->ticket + 1 + g->o.id_offset, 1);
  ev->customer_id = put_id(&p, 'C', (uint64_t)r->cust + 1, 1);
  if (r->agent)
    ev->agent_id = put_id(&p, 'a', r->agent - 1u, g->agent_width);
  ev->queue = g->qname[r->queue];
  int cat = r->cat_kind & 0x0f;
  if (cat) {
    ev->category.ptr = categories[cat];
    ev->category.len = strlen(categories[cat]);
  }
  ev->type = r->type;
  ev->channel = r->channel;
  switch (r->type) {
  case CCP_EV_HANDLED:
    ev->talk_ms = r->v[0];
    ev->hold_ms = r->v[1];
    ev->acw_ms = r->v[2];
    break;
  case CCP_EV_SURVEY:
    if (r->v[0] != NULL_V)
      ev->csat = r->v[0];
    if (r->v[1] != NULL_V)
      ev->nps = r->v[1];
    if (r->v[2] != NULL_V)
      ev->ces = r->v[2];
    break;
  case CCP_EV_QA_REVIEWED:
    ev->qa_errors = r->v[0];
    break;
  default:
    break;
  }
}

int ccp_gen_next(ccp_gen_t *g, ccp_event_t *ev) {
  if (g->live || g->pos >= g->nrecs)
    return -CCP_EEOF;
  format(g, &g->recs[g->pos++], ev);
  return 0;
}

/* ------------------------------------------------------------ live mode */

/* Heap order: time, then the order of drawing. */
static int before(const rec_t *a, const rec_t *b) {
  return a->ts < b->ts || (a->ts == b->ts && a->order < b->order);
}

static void heap_push(ccp_gen_t *g, const rec_t *r) {
  rec_t *h = push(g);
  size_t i = g->nrecs - 1;
  while (i > 0 && before(r, &g->recs[(i - 1) / 2])) {
    *h = g->recs[(i - 1) / 2];
    i = (i - 1) / 2;
    h = &g->recs[i];
  }
  *h = *r;
}

static rec_t heap_pop(ccp_gen_t *g) {
  rec_t top = g->recs[0], last = g->recs[--g->nrecs];
  size_t i = 0, n = g->nrecs;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && before(&g->recs[c + 1], &g->recs[c]))
      c++;
    if (!before(&g->recs[c], &last))
      break;
    g->recs[i] = g->recs[c];
    i = c;
  }
  if (n)
    g->recs[i] = last;
  return top;
}

/* Uniform milliseconds between lo_s and hi_s seconds. */
static int64_t between(uint64_t *s, double lo_s, double hi_s) {
  return (int64_t)((lo_s + (hi_s - lo_s) * u01(s)) * 1000);
}

/* One event of a live ticket at ts (wall-clock ms). */
static void live_emit(ccp_gen_t *g, const rec_t *t, int type, int64_t ts, int32_t v0, int32_t v1,
                      int32_t v2) {
  rec_t r = *t;
  r.ts = ts;
  r.type = (uint8_t)type;
  r.eid = g->next_eid++;
  r.order = g->st.events++;
  r.v[0] = v0;
  r.v[1] = v1;
  r.v[2] = v2;
  if (type == CCP_EV_OPENED || type == CCP_EV_ABANDONED)
    r.agent = 0;
  if (type != CCP_EV_OPENED)
    r.cat_kind = 0;
  heap_push(g, &r);
}

#define LIVE0(g, t, type, ts) live_emit(g, t, type, ts, NULL_V, NULL_V, NULL_V)

/* The whole lifecycle of a ticket opened at `now`, on the demo time scale. */
static void live_ticket(ccp_gen_t *g, int64_t now) {
  uint64_t *s = &g->rng;
  static const double live_channel_w[CCP_CH__COUNT] = {0.45, 0.35, 0.13, 0.07};
  rec_t t = {.ticket = g->ticket_base + (uint32_t)g->ntickets++};
  t.channel = (uint8_t)pick(s, live_channel_w, CCP_CH__COUNT);
  t.queue = (uint16_t)pick(s, g->qw, (int)g->nq);
  t.agent = queue_agent(g, s, t.queue);
  t.cust = (uint32_t)below(s, 20000);
  t.cat_kind = u01(s) < 0.05 ? 1 : 0; /* complaint */
  g->st.tickets++;
  LIVE0(g, &t, CCP_EV_OPENED, now);
  if (t.channel == CCP_CH_PHONE && u01(s) < 0.12) {
    LIVE0(g, &t, CCP_EV_ABANDONED, now + between(s, 2, 40));
    return;
  }
  int64_t ts = now + between(s, 1, 8);
  LIVE0(g, &t, CCP_EV_ASSIGNED, ts);
  /* first reply: most within the demo SLAs, some well after */
  ts += u01(s) < 0.85 ? between(s, 2, 25) : between(s, 30, 90);
  if (t.channel == CCP_CH_EMAIL)
    ts += between(s, 30, 200);
  LIVE0(g, &t, CCP_EV_AGENT_REPLY, ts);
  if (u01(s) < 0.3)
    LIVE0(g, &t, CCP_EV_CUSTOMER_REPLY, ts + 1);
  ts += between(s, 20, 90);
  int32_t talk = (int32_t)between(s, 60, 400);
  int32_t hold = u01(s) < 0.3 ? (int32_t)between(s, 5, 60) : 0;
  live_emit(g, &t, CCP_EV_HANDLED, ts, talk, hold, (int32_t)between(s, 10, 90));
  ts += between(s, 1, 10);
  LIVE0(g, &t, CCP_EV_RESOLVED, ts);
  ts += between(s, 5, 30);
  if (u01(s) < 0.4) {
    double u = u01(s);
    int32_t csat = u < 0.7 ? 4 + (int32_t)below(s, 2) : 1 + (int32_t)below(s, 3);
    int32_t nps = u < 0.6 ? 9 + (int32_t)below(s, 2) : (int32_t)below(s, 9);
    live_emit(g, &t, CCP_EV_SURVEY, ts, csat, nps, 1 + (int32_t)below(s, 7));
  }
  if (u01(s) < 0.15) {
    int32_t errs = u01(s) < 0.8 ? 0 : 1 + (int32_t)below(s, 3);
    live_emit(g, &t, CCP_EV_QA_REVIEWED, ts + 1, errs, NULL_V, NULL_V);
  }
}

ccp_gen_t *ccp_gen_live_new(const ccp_gen_live_opts_t *opts) {
  double rate = opts->rate ? opts->rate : 20;
  if (!(rate > 0 && rate <= 100000))
    return NULL;
  ccp_gen_t *g = ccp_calloc(1, sizeof *g);
  g->live = 1;
  shape_init(g, NAGENTS, NQUEUES);
  g->rate = rate;
  g->last_ms = opts->start_ms;
  g->rng = opts->seed;
  splitmix(&g->rng);
  g->ticket_base = (uint32_t)(splitmix(&g->rng) & 0x3fffffff); /* ids differ from run to run */
  g->st.first_ms = INT64_MAX;
  g->st.last_ms = INT64_MIN;
  return g;
}

int ccp_gen_live_next(ccp_gen_t *g, int64_t now_ms, ccp_event_t *ev) {
  if (!g->live)
    return -CCP_EEOF;
  if (now_ms > g->last_ms) {
    /* arrivals at the rate, with a slow wave so the wall moves */
    double wave = 1.0 + 0.5 * sin((double)(now_ms % 120000) / 120000.0 * 6.283185307179586);
    g->carry += g->rate * wave * (double)(now_ms - g->last_ms) / 1000.0;
    g->last_ms = now_ms;
    for (; g->carry >= 1.0; g->carry -= 1.0)
      live_ticket(g, now_ms);
  }
  if (g->nrecs == 0 || g->recs[0].ts > now_ms)
    return -CCP_EEOF;
  rec_t r = heap_pop(g);
  format(g, &r, ev);
  g->pos++;
  g->st.first_ms = CCP_MIN(g->st.first_ms, ev->ts);
  g->st.last_ms = CCP_MAX(g->st.last_ms, ev->ts);
  return 0;
}
