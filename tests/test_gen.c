/*
 * Tests of src/gen/gen.c, the workload generator behind `ccpulse gen` and
 * bench_engine: the same options give the same events; the planted
 * duplicates, late and invalid events come out at the requested fractions
 * (within tolerance) and the engine classifies them as such; every event
 * survives an Avro encode/decode round trip; the daily curve puts more
 * arrivals at 10:00 than at 03:00. The live (wall-clock) mode of `ccpulse
 * demo`: events never before their time and in time order, arrivals at the
 * rate, every lifecycle complete, first replies mostly within 25 s with a
 * share late enough to breach the demo's 30 s PHONE SLA.
 *
 * The center's shape (--agents, --queues): the default stream is frozen (a
 * digest taken before the shape options existed); a wide center has the
 * same lifecycles as the default one with other labels; every queue occurs,
 * almost every agent, big queues and small ones, each agent always in the
 * same queue whatever the seed and size, ids as documented; bad values are
 * refused, and `ccpulse gen` names the option.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ccp_test.h"
#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/decode.h"
#include "ccpulse/engine.h"
#include "ccpulse/log.h"
#include "ccpulse/ocf.h"
#include "ccpulse/tz.h"
#include "cli/cli.h"
#include "gen/gen.h"

#define N 200000

/* FNV-1a over the Avro encoding of every event. */
static uint64_t digest(const ccp_gen_opts_t *o) {
  ccp_gen_t *g = ccp_gen_new(o);
  T_TRUE(g != NULL);
  if (!g)
    return 0;
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_event_t ev;
  uint64_t h = 1469598103934665603ull, n = 0;
  while (ccp_gen_next(g, &ev) == 0) {
    ccp_buf_clear(&b);
    T_TRUE(ccp_avro_encode(&ev, &b) == 0);
    for (size_t i = 0; i < b.len; i++)
      h = (h ^ (uint8_t)b.data[i]) * 1099511628211ull;
    n++;
  }
  T_EQ_INT(n, o->events);
  ccp_buf_release(&b);
  ccp_gen_free(g);
  return h;
}

static void test_deterministic(void) {
  ccp_gen_opts_t a = {.events = N, .seed = 7};
  ccp_gen_opts_t b = a;
  b.seed = 8;
  uint64_t x = digest(&a), y = digest(&a), z = digest(&b);
  T_TRUE(x == y);
  T_TRUE(x != z);
  ccp_gen_opts_t d = a;
  d.daily = 1;
  T_TRUE(digest(&d) == digest(&d));
  T_TRUE(digest(&d) != x);
}

/* Runs the stream through an engine (after an Avro round trip) and checks the
 * verdicts against what the generator planted. */
static void check_fractions(double dup, double late, double invalid) {
  ccp_gen_opts_t o = {
      .events = N, .seed = 11, .dup_frac = dup, .late_frac = late, .invalid_frac = invalid};
  ccp_gen_t *g = ccp_gen_new(&o);
  T_TRUE(g != NULL);
  if (!g)
    return;
  const ccp_gen_stats_t *st = ccp_gen_stats(g);
  T_EQ_INT(st->events, N);
  /* each planted record follows one emitted lifecycle event */
  double base = (double)(N - st->duplicates - st->late - st->invalid);
  T_EQ_DBL((double)st->duplicates / base, dup, 0.25 * dup + 0.0005);
  T_EQ_DBL((double)st->late / base, late, 0.25 * late + 0.0005);
  T_EQ_DBL((double)st->invalid / base, invalid, 0.25 * invalid + 0.0005);

  char err[CCP_ERRBUF_SIZE];
  ccp_config_t cfg;
  ccp_config_init(&cfg);
  T_EQ_INT(ccp_config_finish(&cfg, err, sizeof err), 0);
  T_EQ_INT(ccp_tz_use(cfg.timezone, err, sizeof err), 0);
  ccp_engine_t *e = ccp_engine_new(&cfg, err, sizeof err);
  T_TRUE(e != NULL);
  ccp_avro_decoder_t *d =
      ccp_avro_decoder_new(ccp_avro_schema_v1, strlen(ccp_avro_schema_v1), err, sizeof err);
  T_TRUE(d != NULL);
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_event_t ev, back;
  long counts[4] = {0}, kinds[4] = {0}, bad = 0;
  while (e && d && ccp_gen_next(g, &ev) == 0) {
    kinds[ccp_gen_kind(g)]++;
    ccp_buf_clear(&b);
    T_TRUE(ccp_avro_encode(&ev, &b) == 0);
    if (ccp_avro_decode(d, b.data, b.len, &back, err, sizeof err) != 0) {
      bad++;
      continue;
    }
    if (back.ts != ev.ts || back.type != ev.type || back.ticket_id.len != ev.ticket_id.len)
      bad++;
    counts[ccp_engine_process(e, &back)]++;
  }
  T_EQ_INT(bad, 0);
  T_EQ_INT(kinds[CCP_GEN_DUP], st->duplicates);
  T_EQ_INT(kinds[CCP_GEN_LATE], st->late);
  T_EQ_INT(kinds[CCP_GEN_INVALID], st->invalid);
  /* the engine sees what was planted: every duplicate and invalid event; late
   * ones may also arrive before stream time has moved on (then accepted) */
  T_EQ_INT(counts[CCP_DUPLICATE], st->duplicates);
  T_EQ_INT(counts[CCP_INVALID], st->invalid);
  T_TRUE(counts[CCP_LATE] <= (long)st->late);
  T_TRUE(counts[CCP_LATE] >= (long)st->late * 9 / 10);
  ccp_buf_release(&b);
  ccp_avro_decoder_free(d);
  ccp_engine_free(e);
  ccp_config_release(&cfg);
  ccp_gen_free(g);
}

static void test_fractions_default(void) { check_fractions(0.005, 0.002, 0.002); }
static void test_fractions_high(void) { check_fractions(0.05, 0.03, 0.02); }

static void test_none(void) {
  ccp_gen_opts_t o = {.events = N, .seed = 3, .dup_frac = -1, .late_frac = -1, .invalid_frac = -1};
  ccp_gen_t *g = ccp_gen_new(&o);
  T_TRUE(g != NULL);
  if (!g)
    return;
  T_EQ_INT(ccp_gen_stats(g)->duplicates, 0);
  T_EQ_INT(ccp_gen_stats(g)->late, 0);
  T_EQ_INT(ccp_gen_stats(g)->invalid, 0);
  ccp_gen_free(g);
  ccp_gen_opts_t bad = {.events = N, .dup_frac = 0.4, .late_frac = 0.2};
  T_TRUE(ccp_gen_new(&bad) == NULL);
}

/* Daily curve: OPENED events per hour of the first day follow the weights. */
static void test_daily(void) {
  ccp_gen_opts_t o = {.events = N, .seed = 5, .daily = 1, .start_ms = 1795046400000LL};
  ccp_gen_t *g = ccp_gen_new(&o);
  T_TRUE(g != NULL);
  if (!g)
    return;
  long per_hour[24] = {0};
  ccp_event_t ev;
  while (ccp_gen_next(g, &ev) == 0) {
    int64_t rel = ev.ts - o.start_ms;
    if (ev.type == CCP_EV_OPENED && ccp_gen_kind(g) == CCP_GEN_NORMAL && rel >= 0 &&
        rel < 24 * 3600000LL)
      per_hour[rel / 3600000]++;
  }
  T_TRUE(per_hour[10] > 5 * per_hour[3]);
  T_TRUE(per_hour[15] > 3 * per_hour[22]);
  ccp_gen_free(g);
}

/* Live mode on a simulated clock: 20 ms ticks for 10 minutes, arrivals
 * during the first 2 (one whole period of the wave). */
static void test_live(void) {
  ccp_gen_live_opts_t lo = {.rate = 20, .seed = 42, .start_ms = 1795000000000LL};
  T_TRUE(ccp_gen_live_new(&(ccp_gen_live_opts_t){.rate = -1}) == NULL);
  T_TRUE(ccp_gen_live_new(&(ccp_gen_live_opts_t){.rate = 200000}) == NULL);
  ccp_gen_t *g = ccp_gen_live_new(&lo);
  T_TRUE(g != NULL);
  if (!g)
    return;
  ccp_event_t ev;
  T_EQ_INT(ccp_gen_next(g, &ev), -CCP_EEOF); /* not a batch stream */
  ccp_buf_t b;
  ccp_buf_init(&b);
  enum { MAXT = 4000 };
  static int64_t opened[MAXT], first_reply[MAXT];
  static int done[MAXT];
  long long first = -1;
  int nt = 0, disorder = 0, early = 0, bad_encode = 0;
  long events = 0;
  int64_t last_ts = INT64_MIN, now = lo.start_ms;
  for (int tick = 1; tick <= 30000; tick++) {
    now = lo.start_ms + 20LL * tick;
    while (ccp_gen_live_next(g, now, &ev) == 0) {
      events++;
      disorder += ev.ts < last_ts;
      early += ev.ts > now;
      last_ts = ev.ts;
      ccp_buf_clear(&b);
      bad_encode += ccp_avro_encode(&ev, &b) != 0;
      /* tickets are numbered in order of arrival: T<first + k> */
      char id[24];
      snprintf(id, sizeof id, "%.*s", (int)ev.ticket_id.len, ev.ticket_id.ptr);
      long long num = strtoll(id + 1, NULL, 10);
      if (first < 0)
        first = num;
      long long k = num - first;
      if (ev.type == CCP_EV_OPENED && k == nt && nt < MAXT && now <= lo.start_ms + 120000) {
        nt++;
        opened[k] = ev.ts;
        first_reply[k] = -1;
      }
      if (k < 0 || k >= nt)
        continue;
      if (ev.type == CCP_EV_AGENT_REPLY && first_reply[k] < 0 && ev.channel == CCP_CH_PHONE)
        first_reply[k] = ev.ts;
      done[k] |= ev.type == CCP_EV_RESOLVED || ev.type == CCP_EV_ABANDONED;
    }
  }
  T_EQ_INT(disorder, 0);
  T_EQ_INT(early, 0);
  T_EQ_INT(bad_encode, 0);
  /* 20 tickets/s over one period of the wave: about 2400 */
  T_TRUE(nt > 2200 && nt < 2600);
  int complete = 0, phone = 0, late = 0;
  for (int i = 0; i < nt; i++) {
    complete += done[i];
    if (first_reply[i] >= 0) {
      phone++;
      late += first_reply[i] - opened[i] > 30000;
    }
  }
  T_EQ_INT(complete, nt);
  T_TRUE(phone > nt / 4);
  /* 15 % answered after 30-90 s, plus some of the rest near 30 s */
  T_TRUE(late > phone / 20 && late < phone / 3);
  T_TRUE(ccp_gen_stats(g)->tickets >= (uint64_t)nt);
  ccp_buf_release(&b);
  ccp_gen_free(g);
}

/* The default stream does not change: these digests were taken at the
 * commit before --agents/--queues (gen.h promises the same events for the
 * same options on any machine), and the explicit default shape gives them. */
static void test_default_frozen(void) {
  ccp_gen_opts_t a = {.events = N, .seed = 7};
  T_TRUE(digest(&a) == 0x9155082c84de84a8ull);
  a.agents = 400;
  a.queues = 8;
  T_TRUE(digest(&a) == 0x9155082c84de84a8ull);
  ccp_gen_opts_t d = {.events = N, .seed = 7, .daily = 1};
  T_TRUE(digest(&d) == 0x3f50a478a4bd47ddull);
}

static int str_eq(ccp_str_t a, ccp_str_t b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* A wide center replays the default one's lifecycles: same times, types,
 * ids, channels and values; only queue and agent labels differ. */
static void test_wide_same_lifecycles(void) {
  ccp_gen_opts_t n = {.events = N, .seed = 3};
  ccp_gen_opts_t w = {.events = N, .seed = 3, .agents = 20000, .queues = 500};
  ccp_gen_t *a = ccp_gen_new(&n), *b = ccp_gen_new(&w);
  T_TRUE(a && b);
  if (!a || !b)
    goto out;
  T_EQ_INT(ccp_gen_stats(b)->agents, 20000);
  T_EQ_INT(ccp_gen_stats(b)->queues, 500);
  T_EQ_INT(ccp_gen_stats(a)->tickets, ccp_gen_stats(b)->tickets);
  ccp_event_t x, y;
  long diff = 0, relabelled = 0;
  while (ccp_gen_next(a, &x) == 0) {
    ccp_event_t x0 = x; /* the views of x stay valid: a is not called again before the compare */
    if (ccp_gen_next(b, &y) != 0) {
      diff++;
      break;
    }
    diff += x0.ts != y.ts || x0.type != y.type || x0.channel != y.channel ||
            !str_eq(x0.event_id, y.event_id) || !str_eq(x0.ticket_id, y.ticket_id) ||
            !str_eq(x0.customer_id, y.customer_id) || !str_eq(x0.category, y.category) ||
            x0.talk_ms != y.talk_ms || x0.hold_ms != y.hold_ms || x0.csat != y.csat ||
            x0.nps != y.nps || x0.qa_errors != y.qa_errors ||
            (x0.agent_id.len == 0) != (y.agent_id.len == 0) || ccp_gen_kind(a) != ccp_gen_kind(b);
    relabelled += !str_eq(x0.queue, y.queue);
  }
  T_EQ_INT(diff, 0);
  T_EQ_INT(ccp_gen_next(b, &y), -CCP_EEOF);
  T_TRUE(relabelled > N / 2);
out:
  ccp_gen_free(a);
  ccp_gen_free(b);
}

/* id_offset shifts event and ticket numbers and nothing else. */
static void test_id_offset(void) {
  ccp_gen_opts_t o = {.events = 5000, .seed = 2};
  ccp_gen_opts_t p = o;
  p.id_offset = 1000000000;
  ccp_gen_t *a = ccp_gen_new(&o), *b = ccp_gen_new(&p);
  T_TRUE(a && b);
  ccp_event_t x, y;
  long bad = 0, n = 0;
  while (a && b && ccp_gen_next(a, &x) == 0 && ccp_gen_next(b, &y) == 0) {
    char ex[32], ey[32], tx[32], ty[32];
    snprintf(ex, sizeof ex, "%.*s", (int)x.event_id.len - 1, x.event_id.ptr + 1);
    snprintf(ey, sizeof ey, "%.*s", (int)y.event_id.len - 1, y.event_id.ptr + 1);
    snprintf(tx, sizeof tx, "%.*s", (int)x.ticket_id.len - 1, x.ticket_id.ptr + 1);
    snprintf(ty, sizeof ty, "%.*s", (int)y.ticket_id.len - 1, y.ticket_id.ptr + 1);
    bad += strtoll(ey, NULL, 10) != strtoll(ex, NULL, 10) + 1000000000 ||
           strtoll(ty, NULL, 10) != strtoll(tx, NULL, 10) + 1000000000 || x.ts != y.ts ||
           !str_eq(x.customer_id, y.customer_id) || !str_eq(x.agent_id, y.agent_id);
    n++;
  }
  T_EQ_INT(n, 5000);
  T_EQ_INT(bad, 0);
  ccp_gen_free(a);
  ccp_gen_free(b);
}

/* What a shape looks like from the events. */
typedef struct shape_seen {
  int queues;            /* distinct queue names */
  char qnames[128][16];  /* in order of first occurrence */
  long qevents[128];     /* events per queue */
  int agents;            /* distinct agents */
  int agent_queue[4096]; /* agent number -> queue index + 1 (0 = unseen) */
  int conflicts;         /* an agent seen in two queues */
  int bad_ids;           /* agent ids not 'a' + `width` digits */
} shape_seen_t;

static void see_shape(const ccp_gen_opts_t *o, int width, shape_seen_t *ss) {
  memset(ss, 0, sizeof *ss);
  ccp_gen_t *g = ccp_gen_new(o);
  T_TRUE(g != NULL);
  if (!g)
    return;
  ccp_event_t ev;
  while (ccp_gen_next(g, &ev) == 0) {
    int q = 0;
    while (q < ss->queues && !(strlen(ss->qnames[q]) == ev.queue.len &&
                               memcmp(ss->qnames[q], ev.queue.ptr, ev.queue.len) == 0))
      q++;
    if (q == ss->queues) {
      T_TRUE(q < 128 && ev.queue.len < 16);
      if (q >= 128 || ev.queue.len >= 16)
        break;
      memcpy(ss->qnames[q], ev.queue.ptr, ev.queue.len);
      ss->queues++;
    }
    ss->qevents[q]++;
    if (!ev.agent_id.len)
      continue;
    char id[16] = "";
    int ok = ev.agent_id.len == (size_t)width + 1 && ev.agent_id.ptr[0] == 'a';
    if (ok) {
      memcpy(id, ev.agent_id.ptr + 1, (size_t)width);
      for (int i = 0; i < width; i++)
        ok &= id[i] >= '0' && id[i] <= '9';
    }
    long a = ok ? strtol(id, NULL, 10) : -1;
    if (!ok || a >= (long)(o->agents ? o->agents : 400) || a >= 4096) {
      ss->bad_ids++;
      continue;
    }
    if (!ss->agent_queue[a]) {
      ss->agent_queue[a] = q + 1;
      ss->agents++;
    }
    ss->conflicts += ss->agent_queue[a] != q + 1;
  }
  ccp_gen_free(g);
}

/* 2,000 agents over 100 queues: all queues occur, big and small, nearly all
 * agents, each in one queue; another seed and size agree on who is where. */
static void test_wide_shape(void) {
  static shape_seen_t s1, s2;
  ccp_gen_opts_t o = {.events = N, .seed = 5, .agents = 2000, .queues = 100};
  see_shape(&o, 4, &s1);
  T_EQ_INT(s1.queues, 100);
  T_TRUE(s1.agents >= 1980 && s1.agents <= 2000);
  T_EQ_INT(s1.conflicts, 0);
  T_EQ_INT(s1.bad_ids, 0);
  long big = 0, small = N;
  for (int q = 0; q < s1.queues; q++) {
    big = CCP_MAX(big, s1.qevents[q]);
    small = CCP_MIN(small, s1.qevents[q]);
  }
  T_TRUE(big > 20 * small); /* Zipf: 1/1 against 1/100 */
  T_TRUE(small > 0);
  /* names: the 8 named queues, then q008..q099 */
  int named = 0, numbered = 0;
  for (int q = 0; q < s1.queues; q++) {
    named += strcmp(s1.qnames[q], "billing") == 0 || strcmp(s1.qnames[q], "fraud") == 0;
    numbered += s1.qnames[q][0] == 'q' && strlen(s1.qnames[q]) == 4;
  }
  T_EQ_INT(named, 2);
  T_EQ_INT(numbered, 92);

  ccp_gen_opts_t o2 = {.events = N / 2, .seed = 6, .agents = 2000, .queues = 100, .daily = 1};
  see_shape(&o2, 4, &s2);
  T_EQ_INT(s2.conflicts, 0);
  int both = 0, agree = 0;
  for (int a = 0; a < 2000; a++) {
    if (!s1.agent_queue[a] || !s2.agent_queue[a])
      continue;
    both++;
    agree += strcmp(s1.qnames[s1.agent_queue[a] - 1], s2.qnames[s2.agent_queue[a] - 1]) == 0;
  }
  T_TRUE(both > 1900);
  T_EQ_INT(agree, both);

  /* the default shape through the same lens: 8 named queues, a000..a399,
   * 50 agents each */
  ccp_gen_opts_t d = {.events = N, .seed = 5};
  see_shape(&d, 3, &s1);
  T_EQ_INT(s1.queues, 8);
  T_EQ_INT(s1.agents, 400);
  T_EQ_INT(s1.conflicts, 0);
  T_EQ_INT(s1.bad_ids, 0);
  for (int a = 0; a < 400; a++)
    T_EQ_INT(strcmp(s1.qnames[s1.agent_queue[a] - 1], s1.qnames[s1.agent_queue[a / 50 * 50] - 1]),
             0);
  /* fewer queues than named: the first ones, equal slices */
  ccp_gen_opts_t f = {.events = N / 4, .seed = 5, .agents = 30, .queues = 3};
  see_shape(&f, 3, &s1);
  T_EQ_INT(s1.queues, 3);
  T_EQ_INT(s1.agents, 30);
  T_EQ_INT(s1.conflicts, 0);
  for (int q = 0; q < 3; q++)
    T_TRUE(strcmp(s1.qnames[q], "billing") == 0 || strcmp(s1.qnames[q], "tech-support") == 0 ||
           strcmp(s1.qnames[q], "sales") == 0);
}

static void test_shape_bad(void) {
  ccp_gen_opts_t o = {.events = 1000, .agents = 10, .queues = 11};
  T_TRUE(ccp_gen_new(&o) == NULL);
  o.agents = CCP_GEN_MAX_AGENTS + 1;
  o.queues = 0;
  T_TRUE(ccp_gen_new(&o) == NULL);
  o.agents = 0;
  o.queues = CCP_GEN_MAX_QUEUES + 1;
  T_TRUE(ccp_gen_new(&o) == NULL);
  o.queues = 401; /* more than the default 400 agents */
  T_TRUE(ccp_gen_new(&o) == NULL);
  ccp_gen_opts_t one = {.events = 20000, .agents = 1, .queues = 1};
  ccp_gen_t *g = ccp_gen_new(&one);
  T_TRUE(g != NULL);
  ccp_event_t ev;
  long other = 0;
  while (g && ccp_gen_next(g, &ev) == 0)
    other += !str_eq(ev.queue, (ccp_str_t){"billing", 7}) ||
             (ev.agent_id.len && !str_eq(ev.agent_id, (ccp_str_t){"a000", 4}));
  T_EQ_INT(other, 0);
  ccp_gen_free(g);
}

/* Runs `ccpulse gen` with args; returns its exit status and what it logged. */
static int run_gen(const char *const *args, int n, char *log, size_t loglen) {
  char path[] = "/tmp/test_gen_log.XXXXXX";
  int fd = mkstemp(path);
  T_TRUE(fd >= 0);
  unlink(path);
  char *argv[16] = {"gen"};
  for (int i = 0; i < n && i < 14; i++)
    argv[i + 1] = (char *)args[i];
  ccp_log_reset();
  ccp_log_set_fd(fd);
  int rc = ccp_cli_gen(n + 1, argv);
  ccp_log_set_fd(2);
  ssize_t got = pread(fd, log, loglen - 1, 0);
  log[got > 0 ? got : 0] = '\0';
  close(fd);
  return rc;
}

/* `ccpulse gen` refuses bad shapes and names the option; a good one is
 * written with every queue and agent ids of the right width. */
static void test_cli_shape(void) {
  static const struct {
    const char *args[4];
    const char *needle;
  } bad[] = {
      {{"--agents", "0"}, "--agents '0': expected 1..65535"},
      {{"--agents", "65536"}, "--agents '65536': expected 1..65535"},
      {{"--agents=many"}, "--agents 'many'"},
      {{"--queues", "0"}, "--queues '0': expected 1..4096"},
      {{"--queues", "4097"}, "--queues '4097'"},
      {{"--queues", "500"}, "--agents 400 is fewer than --queues 500"},
      {{"--agents", "10", "--queues", "20"}, "--agents 10 is fewer than --queues 20"},
  };
  char log[2048];
  for (size_t i = 0; i < CCP_ARRAY_LEN(bad); i++) {
    const char *args[8];
    int n = 0;
    for (int j = 0; j < 4 && bad[i].args[j]; j++)
      args[n++] = bad[i].args[j];
    args[n++] = "--out";
    args[n++] = "/dev/null";
    int rc = run_gen(args, n, log, sizeof log);
    T_EQ_INT(rc, CCP_EXIT_USAGE);
    if (!strstr(log, bad[i].needle))
      fprintf(stderr, "case %zu: expected '%s' in: %s\n", i, bad[i].needle, log);
    T_TRUE(strstr(log, bad[i].needle) != NULL);
  }

  char path[] = "/tmp/test_gen_ocf.XXXXXX";
  int fd = mkstemp(path);
  T_TRUE(fd >= 0);
  close(fd);
  const char *good[] = {"--events", "20000", "--agents", "1500", "--queues", "12", "--out", path};
  T_EQ_INT(run_gen(good, 8, log, sizeof log), CCP_EXIT_OK);
  char err[CCP_ERRBUF_SIZE];
  ccp_ocf_reader_t *r = ccp_ocf_reader_open(path, err, sizeof err);
  T_TRUE(r != NULL);
  ccp_event_t ev;
  long events = 0, wide_ids = 0, q011 = 0;
  while (r && ccp_ocf_reader_next(r, &ev, NULL, err, sizeof err) == 0) {
    events++;
    wide_ids += ev.agent_id.len == 5; /* a0000..a1499 */
    q011 += str_eq(ev.queue, (ccp_str_t){"q011", 4});
  }
  T_EQ_INT(events, 20000);
  T_TRUE(wide_ids > 10000);
  T_TRUE(q011 > 0);
  ccp_ocf_reader_free(r);
  unlink(path);
}

int main(void) {
  T_RUN(test_deterministic);
  T_RUN(test_fractions_default);
  T_RUN(test_fractions_high);
  T_RUN(test_none);
  T_RUN(test_daily);
  T_RUN(test_live);
  T_RUN(test_default_frozen);
  T_RUN(test_wide_same_lifecycles);
  T_RUN(test_wide_shape);
  T_RUN(test_shape_bad);
  T_RUN(test_id_offset);
  T_RUN(test_cli_shape);
  return T_DONE();
}
