/*
 * ccpulse benchmarks — a deterministic, realistic contact-center workload.
 *
 * Builds a stream of ticket events (KPIS.md §1) for a given size and seed:
 * 8 queues, 4 channels, 400 agents by default, a customer population of
 * about a quarter more than the tickets (1.5M at the default 6M events). Tickets arrive over
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
 * The shape of the center (ccp_gen_opts_t.agents, .queues) changes only who
 * and where: each ticket draws the same random numbers whatever the shape, so
 * the same seed and size give the same lifecycles, times and ids, and only
 * the queue and agent labels differ. Up to 8 queues are the named ones
 * ("billing", "tech-support", ...) with fixed volume shares and equal
 * staffing (the default: 50 agents each); more queues follow a Zipf law
 * (queue i gets a share proportional to 1/(i+1): a few big queues and a long
 * tail of small ones; the first 8 keep their names, the others are q008,
 * q009, ...), each staffed by a contiguous slice of agents in proportion to
 * its volume (at least one), and transfers go to another queue by volume.
 * An agent belongs to one queue; agent ids a000..a399 (a00000..a19999 at
 * 20,000 agents: zero-padded to the width of the largest) and queue names
 * depend on the shape only, never on the seed or the size.
 *
 * Delivery order follows event time with up to 20 s of jitter (well within
 * the default lateness), while each ticket's events keep their order, as a
 * Kafka topic keyed by ticket id would deliver them.
 *
 * The whole stream is built up front (about 48 bytes per event) and sorted;
 * ccp_gen_next() then formats one event at a time. The same options
 * always give the same events, on any machine.
 *
 * Knobs (ccp_gen_opts_t): the fractions of duplicates, late and invalid
 * events; the share of backlog tickets left open (drives the peak of open
 * tickets); a daily arrival curve (24 h of arrivals with night lull and
 * morning/afternoon peaks) instead of the 4 h ramp. Each channel has its own
 * pick-up wait, abandon chance, reply, customer-reply, talk and resolution
 * time distributions (exponential, means in gen.c).
 *
 * A second mode streams at the wall clock instead (ccp_gen_live_new, for
 * `ccpulse demo`): tickets arrive at a rate (with a slow two-minute wave)
 * on the same queues and channels, and each one's lifecycle is drawn at
 * once on a demo time scale (seconds to minutes: opened, assigned, first
 * reply - mostly within 25 s, some after 30-90 s so that short SLAs breach
 * -, handled, resolved, sometimes abandoned, surveyed, reviewed); its
 * events wait in a heap until the clock reaches them. No planted anomalies.
 *
 * Used by `ccpulse gen` (src/cli/gen.c), `ccpulse demo` (live mode),
 * bench_engine and tests/test_gen.c.
 *
 * Threads: a generator belongs to one thread.
 */
#ifndef CCP_GEN_H
#define CCP_GEN_H

#include <stdint.h>

#include "ccpulse/event.h"

/** Generator options; zero fields take the defaults. */
typedef struct ccp_gen_opts {
  uint64_t events;     /**< exact number of events; 0 = 6,000,000 */
  uint64_t seed;       /**< any value; 0 is a valid seed */
  int64_t start_ms;    /**< event time of the stream start; 0 = 1795000000000 */
  double dup_frac;     /**< re-deliveries per event; 0 = 0.005, negative = none */
  double late_frac;    /**< late stragglers per event; 0 = 0.002, negative = none */
  double invalid_frac; /**< invalid siblings per event; 0 = 0.002, negative = none */
  double open_frac;    /**< backlog tickets still open at the end; 0 = 0.20, negative = none */
  int daily;           /**< 1 = arrivals follow a 24 h daily curve (else a 4 h ramp) */
  uint32_t agents;     /**< agents, 1..CCP_GEN_MAX_AGENTS, >= queues; 0 = 400 */
  uint32_t queues;     /**< queues, 1..CCP_GEN_MAX_QUEUES; 0 = 8 */
  uint64_t id_offset;  /**< added to event and ticket numbers (e<n+1+offset>, T<...>): a second
                            stream into the same pipeline repeats none of the first one's ids */
} ccp_gen_opts_t;

/** Largest number of agents (ccp_gen_opts_t.agents). */
#define CCP_GEN_MAX_AGENTS 65535
/** Largest number of queues (ccp_gen_opts_t.queues). */
#define CCP_GEN_MAX_QUEUES 4096

/** Kind of a generated record (ccp_gen_kind()). */
typedef enum ccp_gen_kind {
  CCP_GEN_NORMAL = 0, /**< an ordinary lifecycle event */
  CCP_GEN_DUP,        /**< a re-delivery of an earlier event id */
  CCP_GEN_LATE,       /**< a straggler older than the lateness */
  CCP_GEN_INVALID     /**< a field out of range */
} ccp_gen_kind_t;

/** What was generated (planted anomalies are counts of records). */
typedef struct ccp_gen_stats {
  uint64_t events;     /**< records in the stream */
  uint64_t tickets;    /**< distinct ticket ids */
  uint64_t customers;  /**< size of the customer population */
  uint64_t duplicates; /**< re-deliveries of an earlier event id */
  uint64_t late;       /**< events older than now - 5 min when delivered */
  uint64_t invalid;    /**< events with a field out of range */
  int64_t first_ms;    /**< smallest ts */
  int64_t last_ms;     /**< largest ts */
  uint32_t agents;     /**< agents of the center (all may not occur) */
  uint32_t queues;     /**< queues of the center */
} ccp_gen_stats_t;

/** Options of a wall-clock stream (ccp_gen_live_new); zero fields take the defaults. */
typedef struct ccp_gen_live_opts {
  double rate;      /**< new tickets per second on average; 0 = 20 */
  uint64_t seed;    /**< any value (the demo passes the clock) */
  int64_t start_ms; /**< wall-clock ms of the start: arrivals are counted from it */
} ccp_gen_live_opts_t;

typedef struct ccp_gen ccp_gen_t;

/** Builds the whole stream (a few seconds for 6M events); NULL on bad options
 * (more than 2^27 events, fractions summing above 0.5, open_frac above 0.88,
 * agents or queues out of range, fewer agents than queues). */
ccp_gen_t *ccp_gen_new(const ccp_gen_opts_t *opts);
/** A generator of a stream at the wall clock (see above); NULL when rate is
 * negative or above 100000 tickets per second. */
ccp_gen_t *ccp_gen_live_new(const ccp_gen_live_opts_t *opts);
/**
 * Live mode: draws the tickets that arrived up to now_ms, then fills ev with
 * the earliest event due at or before now_ms. Returns 0, or -CCP_EEOF when
 * nothing is due yet. String views as for ccp_gen_next().
 */
int ccp_gen_live_next(ccp_gen_t *g, int64_t now_ms, ccp_event_t *ev);
/** Frees the generator and every event it holds. */
void ccp_gen_free(ccp_gen_t *g);
/**
 * Fills ev with the next event. Returns 0, or -CCP_EEOF after the last. The
 * string views point into the generator and stay valid until the next call.
 */
int ccp_gen_next(ccp_gen_t *g, ccp_event_t *ev);
/** Rewinds to the first event (not in live mode). */
void ccp_gen_rewind(ccp_gen_t *g);
/** Counts of what was generated. */
const ccp_gen_stats_t *ccp_gen_stats(const ccp_gen_t *g);
/** ccp_gen_kind_t of the event ccp_gen_next() returned last. */
int ccp_gen_kind(const ccp_gen_t *g);
/** Number of events returned since the start (or the last rewind). */
uint64_t ccp_gen_pos(const ccp_gen_t *g);

#endif
