/*
 * ccpulse — partial aggregates and merged views (the publish side).
 *
 * A worker thread owns one engine per Kafka partition. At each publish tick
 * it exports each engine's aggregates at the global stream time as an
 * immutable ccp_partial_t (partial.h: counts, sums, histograms, gauges per
 * scope and window; ccp_engine_export() in engine.h) and hands it to the
 * publisher. The publisher merges the partials of all partitions into a
 * ccp_view_t — the numbers one engine fed with all partitions would give
 * (docs/semantics.md §11: distinct customers are united exactly; retention
 * exactly, or on a hash sample within its stated bound) — and writes the snapshot document
 * and the Redis tiles from it. KPIs are computed from the merged counters by
 * the KPI table (src/kpi/kpi.h).
 *
 * Threads: a view belongs to its creator; the partials it merges must not be
 * written meanwhile (they never are after export).
 */
#ifndef CCPULSE_VIEW_H
#define CCPULSE_VIEW_H

#include <stdint.h>

#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/partial.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ccp_view ccp_view_t;

/** Creates an empty view for a configuration (borrowed). */
ccp_view_t *ccp_view_new(const ccp_config_t *cfg);
/** Frees a view. */
void ccp_view_free(ccp_view_t *v);
/**
 * Empties the view for the next cycle. Keeps the scopes merged since the last
 * reset, with their allocations and rendered JSON (reused when a window's
 * figures did not change), and frees the others.
 */
void ccp_view_reset(ccp_view_t *v);
/**
 * Adds a partial into the view. All partials merged into one view must have
 * been exported at the same stream time (the largest over all partitions).
 */
void ccp_view_merge(ccp_view_t *v, const ccp_partial_t *p);
/**
 * Takes only the time header of p (stream time, current and first buckets)
 * by the rule of ccp_view_merge(): the latest wins. With it the publisher
 * moves the time of a view whose merged figures it keeps (unchanged
 * partitions, ccp_engine_export_unchanged()).
 */
void ccp_view_set_time(ccp_view_t *v, const ccp_partial_t *p);
/**
 * Adds the figures of p without its time header: a partition of another
 * instance, exported at that instance's stream time, merged at the view
 * writer's time (docs/live.md, "Several instances": its windows are counted
 * as of its own time, at most about a cycle behind or ahead).
 */
void ccp_view_merge_figures(ccp_view_t *v, const ccp_partial_t *p);

/** Appends the snapshot JSON document (KPIS.md §5) of the view, one line. */
void ccp_view_snapshot_json(const ccp_view_t *v, ccp_buf_t *out);

/** Number of scopes in the view (those with data, `all` first, sorted). */
int ccp_view_nscopes(const ccp_view_t *v);
/** Name of scope i ("all", "queue:billing", ...). */
const char *ccp_view_scope_name(const ccp_view_t *v, int i);
/** Appends scope i's JSON object ({"gauges":..,"windows":..}), as in the snapshot. */
void ccp_view_scope_json(const ccp_view_t *v, int i, ccp_buf_t *out);
/** Appends the KPI object of scope i, window w (w indexes cfg->windows). */
void ccp_view_window_json(const ccp_view_t *v, int i, int w, ccp_buf_t *out);
/**
 * Hash of the bytes ccp_view_window_json() appends for scope i, window w:
 * equal hashes in two cycles mean (up to a 64-bit collision) the same tile.
 * Rendered once per change, so asking costs no formatting when nothing changed.
 */
uint64_t ccp_view_window_hash(const ccp_view_t *v, int i, int w);
/** Appends scope i's gauges object, as in the snapshot. */
void ccp_view_gauges_json(const ccp_view_t *v, int i, ccp_buf_t *out);

/** The figures behind scope i's gauges; with the view's now they give its gauges object. */
typedef struct ccp_view_gauges {
  int64_t open, waiting, backlog_aged;
  int64_t waiting_since; /**< open time of the longest-waiting ticket; INT64_MIN: none waits */
} ccp_view_gauges_t;
/** Fills *out with scope i's gauge figures (zeros for a bad i). */
void ccp_view_gauges(const ccp_view_t *v, int i, ccp_view_gauges_t *out);
/** diagnostics.events of the view: events counted by every merged partition. */
int64_t ccp_view_events(const ccp_view_t *v);
/** Marks the view as the last one of the process (the publisher's final cycle; until the next
 * reset). */
void ccp_view_set_final(ccp_view_t *v);
/** 1 when ccp_view_set_final() was called since the last reset. */
int ccp_view_final(const ccp_view_t *v);

/** KPI entries a re-rendered window object copied from its last rendering
 * (their values had not moved) instead of formatting them again; for tests. */
long ccp__view_entries_kept(const ccp_view_t *v);
/**
 * Value of a KPI of the KPI table: a windowed KPI or gauge ("opened",
 * "service_level_pct", "waiting", "longest_wait_ms"...) or an agent scope's
 * "score", of scope i, window w (ignored for gauges). Returns 0 and sets *out
 * (NaN for null), or -CCP_ENOTFOUND for an unknown id (or score elsewhere).
 */
int ccp_view_value(const ccp_view_t *v, int i, int w, const char *id, double *out);
/** Index of a scope by name, or -1. */
int ccp_view_find_scope(const ccp_view_t *v, const char *name);
/** Stream time of the view (INT64_MIN when empty). */
int64_t ccp_view_now(const ccp_view_t *v);

#ifdef __cplusplus
}
#endif
#endif
