/*
 * ccpulse benchmarks — a deterministic, realistic contact-center workload.
 *
 * Builds a stream of ticket events (KPIS.md §1) for a given size and seed:
 * 8 queues, 4 channels, 400 agents, a customer population of about a quarter
 * more than the tickets (1.5M at the default 6M events). Tickets arrive over
 * a first phase of 4 hours of event time with a rising arrival rate; only a
 * few are worked at once (abandoned or answered within minutes), the rest
 * pile up as a backlog (peak: about 1.1M open tickets at 6M events) that a
 * second phase of 20 hours works down. Lifecycles: OPENED, ASSIGNED, 1-3
 * AGENT_REPLY, CUSTOMER_REPLY, sometimes TRANSFERRED, HANDLED with talk/hold/
 * after-contact work, RESOLVED, sometimes REOPENED, ABANDONED for some
 * unreplied tickets, SURVEY (csat/nps/ces), QA_REVIEWED; some tickets were
 * opened before the stream began, some stay open. On top: about 0.5 %
 * duplicates (re-deliveries within a minute), 0.2 % late events (older than
 * the 5-minute lateness) and 0.2 % invalid events (a field out of range).
 *
 * Delivery order follows event time with up to 20 s of jitter (well within
 * the default lateness), while each ticket's events keep their order, as a
 * Kafka topic keyed by ticket id would deliver them.
 *
 * The whole stream is built up front (about 48 bytes per event) and sorted;
 * gen_workload_next() then formats one event at a time. The same options
 * always give the same events, on any machine.
 *
 * Threads: a generator belongs to one thread.
 */
#ifndef CCP_BENCH_GEN_WORKLOAD_H
#define CCP_BENCH_GEN_WORKLOAD_H

#include <stdint.h>

#include "ccpulse/event.h"

/** Generator options; zero fields take the defaults. */
typedef struct gen_workload_opts {
  uint64_t events;  /**< exact number of events; 0 = 6,000,000 */
  uint64_t seed;    /**< any value; 0 is a valid seed */
  int64_t start_ms; /**< event time of the stream start; 0 = 1795000000000 */
} gen_workload_opts_t;

/** What was generated (planted anomalies are counts of records). */
typedef struct gen_workload_stats {
  uint64_t events;     /**< records in the stream */
  uint64_t tickets;    /**< distinct ticket ids */
  uint64_t customers;  /**< size of the customer population */
  uint64_t duplicates; /**< re-deliveries of an earlier event id */
  uint64_t late;       /**< events older than now - 5 min when delivered */
  uint64_t invalid;    /**< events with a field out of range */
  int64_t first_ms;    /**< smallest ts */
  int64_t last_ms;     /**< largest ts */
} gen_workload_stats_t;

typedef struct gen_workload gen_workload_t;

/** Builds the whole stream (a few seconds for 6M events); NULL on bad options. */
gen_workload_t *gen_workload_new(const gen_workload_opts_t *opts);
/** Frees the generator and every event it holds. */
void gen_workload_free(gen_workload_t *g);
/**
 * Fills ev with the next event. Returns 0, or -CCP_EEOF after the last. The
 * string views point into the generator and stay valid until the next call.
 */
int gen_workload_next(gen_workload_t *g, ccp_event_t *ev);
/** Rewinds to the first event. */
void gen_workload_rewind(gen_workload_t *g);
/** Counts of what was generated. */
const gen_workload_stats_t *gen_workload_stats(const gen_workload_t *g);

#endif
