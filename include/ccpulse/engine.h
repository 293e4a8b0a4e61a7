/*
 * ccpulse — the KPI engine (no I/O).
 *
 * One engine holds the state of one shard (one Kafka partition, or one replay
 * run): per-ticket state, its stream times (the deadline time that its own
 * events and explicit advances move, the view time that exports may move
 * further), the duplicate filter, deadline timers, and the time-bucketed KPI
 * counters of every scope and window. It turns
 * events (KPIS.md §1) into the KPIs, gauges and diagnostics of KPIS.md §3 and
 * the snapshot document of §5. docs/semantics.md states every rule.
 *
 * Threads: an engine is single-writer. Every function below must be called
 * from the thread that owns the engine.
 */
#ifndef CCPULSE_ENGINE_H
#define CCPULSE_ENGINE_H

#include <stdint.h>

#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/event.h"
#include "ccpulse/partial.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ccp_engine ccp_engine_t;

/** What the engine did with an event. */
typedef enum ccp_verdict {
  CCP_ACCEPTED = 0, /**< processed */
  CCP_INVALID = 1,  /**< a field out of range; dropped */
  CCP_LATE = 2,     /**< older than now - lateness; dropped */
  CCP_DUPLICATE = 3 /**< event_id seen before; dropped */
} ccp_verdict_t;

/** Alert kinds raised by time passing. */
typedef enum ccp_alert_kind {
  CCP_ALERT_SLA_AT_RISK = 0,
  CCP_ALERT_SLA_BREACH = 1
} ccp_alert_kind_t;

/** A deadline alert, valid only during the callback. */
typedef struct ccp_alert {
  int kind;              /**< ccp_alert_kind_t */
  int64_t at_ms;         /**< the moment it is due (deadline or at-risk time) */
  int64_t now_ms;        /**< stream time when it fired */
  int64_t opened_ms;     /**< ticket open time */
  int64_t threshold_ms;  /**< SLA threshold of the ticket */
  const char *ticket_id; /**< NUL-terminated ticket id */
  const char *queue;     /**< current queue */
  const char *agent_id;  /**< current agent or NULL */
  int channel;           /**< current channel */
} ccp_alert_t;

/** Called for each alert; runs on the engine's thread. */
typedef void (*ccp_alert_cb)(void *opaque, const ccp_alert_t *alert);

/**
 * Creates an engine for a finished configuration (borrowed; must outlive the
 * engine). Returns NULL and fills errbuf on a bad time zone or similar.
 */
ccp_engine_t *ccp_engine_new(const ccp_config_t *cfg, char *errbuf, size_t errlen);
/** Frees the engine and all it holds. */
void ccp_engine_free(ccp_engine_t *e);

/** Sets the alert callback (NULL: alerts are only counted). */
void ccp_engine_set_alert_cb(ccp_engine_t *e, ccp_alert_cb cb, void *opaque);

/** Processes one decoded event; counts it in diagnostics.events. */
ccp_verdict_t ccp_engine_process(ccp_engine_t *e, const ccp_event_t *ev);

/** Most events one ccp_engine_process_batch() call takes; drivers fill batches of this size. */
#define CCP_ENGINE_BATCH 64

/**
 * Processes evs[0..n) in order, exactly as n calls of ccp_engine_process()
 * would (same state, same alerts, same verdicts; verdicts may be NULL, else
 * verdicts[i] receives event i's). Faster: it hashes the batch's ids first
 * and prefetches each event's ticket, duplicate-filter and customer slots a
 * few events ahead, so their cache misses overlap. The events' strings must
 * stay valid during the call (ccp_event_batch_t keeps copies). Any n; the
 * look-ahead works best with CCP_ENGINE_BATCH.
 */
void ccp_engine_process_batch(ccp_engine_t *e, const ccp_event_t *evs, size_t n,
                              ccp_verdict_t *verdicts);

/** Bytes of string copies a ccp_event_batch_t holds. */
#define CCP_EVENT_BATCH_ARENA 16384

/**
 * A driver's batch of decoded events whose strings are copied into an arena
 * of its own, so the decoder may reuse its buffers. Fill with
 * ccp_event_batch_add(), hand ev[0..n) to ccp_engine_process_batch(), then
 * ccp_event_batch_clear(). Plain data: embed it (about 24 KB), one per thread.
 */
typedef struct ccp_event_batch {
  ccp_event_t ev[CCP_ENGINE_BATCH];
  size_t n;    /**< events held */
  size_t used; /**< arena bytes in use */
  char arena[CCP_EVENT_BATCH_ARENA];
} ccp_event_batch_t;

/** Empties a batch. */
static inline void ccp_event_batch_clear(ccp_event_batch_t *b) { b->n = b->used = 0; }
/**
 * Appends a copy of ev (its strings into the arena). Returns 0, or -1 when
 * the batch is full or the strings do not fit: process and clear the batch,
 * then add again (an event that does not fit an empty batch, with strings
 * over CCP_EVENT_BATCH_ARENA bytes, is processed on its own).
 */
int ccp_event_batch_add(ccp_event_batch_t *b, const ccp_event_t *ev);

/** Counts a record that could not be decoded (diagnostics.events too). */
void ccp_engine_count_undecodable(ccp_engine_t *e);

/** Counts an event a driver found invalid before handing it over (the live
 * workers' ccp_event_check() with the wall-clock limit): diagnostics.events
 * and invalid_events, exactly as ccp_engine_process() counts one. */
void ccp_engine_count_invalid(ccp_engine_t *e);

/** Tells e that its driver runs ccp_event_check() on every event before
 * handing it over (counting the invalid ones with ccp_engine_count_invalid):
 * e then skips its own check, a second pass over the same bytes. Not saved
 * in checkpoints: set after ccp_engine_new() or ccp_engine_load(). The
 * owning thread. */
void ccp_engine_set_prechecked(ccp_engine_t *e);

/**
 * Moves both stream times (view and deadline time) forward to at least
 * now_ms without an event: fires the deadlines due by then and expires
 * tickets. The live worker calls it for a partition that has read
 * everything there is, with the global time (docs/live.md, time rule).
 * Lateness stays judged on this engine's own event time.
 */
void ccp_engine_advance(ccp_engine_t *e, int64_t now_ms);

/** View time: the largest event ts, advanced or exported time (windows and
 * gauges are taken at it); INT64_MIN before any. */
int64_t ccp_engine_now(const ccp_engine_t *e);

/** Deadline time (<= ccp_engine_now()): the largest event ts or advanced
 * time, never an export's; deadlines, backlog age and TTL are judged at it
 * (docs/kpis.md §2). INT64_MIN before any. */
int64_t ccp_engine_due_now(const ccp_engine_t *e);

/**
 * The alert floor: no deadline alert this engine fires from now on, nor one
 * loaded from a checkpoint saved now, can have an at_ms below it — the
 * largest accepted event ts minus lateness (a new deadline belongs to a
 * ticket opened by a later event, which is not late; a pending one is due
 * after the deadline time, which is at least that ts). INT64_MIN before any
 * event. The live publisher forgets a partition's alert ids below the floor
 * of its stored checkpoint (docs/redis.md, "Alerts once").
 */
int64_t ccp_engine_alert_floor(const ccp_engine_t *e);

/**
 * Moves the view time to now_ms (when later: windows slide, gauges at now
 * are taken at now_ms) and exports the engine's aggregates as a partial
 * (partial.h). Fires no deadline beyond the deadline time: a partition read
 * behind now_ms exports its tickets as its own time judges them (call
 * ccp_engine_advance() first when it has read everything). The caller owns
 * the result; it is immutable and may be handed to another thread.
 */
ccp_partial_t *ccp_engine_export(ccp_engine_t *e, int64_t now_ms);

/**
 * ccp_engine_export() given prev, the caller's previous export of e (held,
 * or NULL): the scopes whose windows did not change since prev hand prev's
 * blocks again instead of reading their windows out (publishing follows
 * change); the same partial as ccp_engine_export() otherwise. A prev that is
 * not e's last export is ignored. Engine's thread; prev stays the caller's.
 */
ccp_partial_t *ccp_engine_export_next(ccp_engine_t *e, int64_t now_ms, const ccp_partial_t *prev);

/**
 * Moves the view time to now_ms as ccp_engine_export() does and returns 1
 * when an export now would carry exactly what its last export carried except
 * the time header (stream time, current and first buckets), else 0 (also
 * before any export): no event of any verdict, undecodable count, timer or
 * expiry fired (also by ccp_engine_advance()) or retention slot change
 * since, and no bucket edge moved unless every window of every scope was
 * all zero and no scope carried customer entries at that export (zero
 * windows stay zero). Engine's thread.
 */
int ccp_engine_export_unchanged(ccp_engine_t *e, int64_t now_ms);

/**
 * A partial with the engine's time header only (stream time, buckets; no
 * scope, zero counters), to go with its last export when
 * ccp_engine_export_unchanged() said 1 (ccp_view_set_time()). Caller owns it.
 */
ccp_partial_t *ccp_engine_export_header(const ccp_engine_t *e);

/**
 * Appends the snapshot JSON document (KPIS.md §5, one line, no newline): the
 * engine's partial at its stream time merged into a view of its own, so the
 * document is written by the same code as the live publisher's.
 */
void ccp_engine_snapshot_json(ccp_engine_t *e, ccp_buf_t *out);

/**
 * Appends the engine's whole state (tickets, timers, duplicate filter, scopes
 * with their windows and customer maps, waiting lists, retention activity,
 * alert ids, diagnostics, stream times) to out in a versioned, checksummed
 * binary format (docs/checkpoints.md); the alert callback is not state.
 * Returns 0 (out of memory ends the process, as every allocation does).
 * Engine's thread; the state is unchanged (the engine notes what the save
 * depended on, for ccp_engine_saved_unchanged()).
 */
int ccp_engine_save(ccp_engine_t *e, ccp_buf_t *out);

/**
 * 1 when nothing but time moved since the last ccp_engine_save() of e: no
 * event or record counted, no timer or expiry fired, so that checkpoint,
 * loaded and moved to the same time (ccp_engine_advance(), an export), is
 * this engine (docs/checkpoints.md, "Idle partitions"); 0 otherwise, and
 * before the first save (also of a loaded engine). Engine's thread.
 */
int ccp_engine_saved_unchanged(const ccp_engine_t *e);

/**
 * Creates an engine from the bytes of ccp_engine_save() (borrowed, any
 * alignment) that continues exactly as the saved one would have, under cfg
 * (borrowed; must outlive the engine), which must be equivalent in every
 * setting the state depends on (windows, time zone, lateness, SLA
 * thresholds, at-risk fraction, short abandon, backlog age, retention
 * period, tickets.ttl, tickets.max, dedup.max). Returns NULL with errbuf
 * naming the problem on another configuration, another format version or
 * build layout, a bad checksum, or truncated or corrupt bytes (never a
 * crash, never a half-built engine). Set the alert callback again.
 */
ccp_engine_t *ccp_engine_load(const ccp_config_t *cfg, const void *data, size_t len, char *errbuf,
                              size_t errlen);

/** Number of tickets held (open and recently closed). */
int64_t ccp_engine_ticket_count(const ccp_engine_t *e);
/** Number of open tickets. */
int64_t ccp_engine_open_count(const ccp_engine_t *e);
/** Tickets evicted at the tickets.max cap so far (diagnostics.evicted_tickets). */
int64_t ccp_engine_evicted(const ccp_engine_t *e);
/** New event ids the duplicate filter refused at the dedup.max cap so far (their duplicates are
 * not caught; not in the snapshot: docs/limits.md). */
int64_t ccp_engine_dedup_refused(const ccp_engine_t *e);

#ifdef __cplusplus
}
#endif
#endif
