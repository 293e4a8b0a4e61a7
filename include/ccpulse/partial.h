/*
 * ccpulse — a partial aggregate: what one engine (one Kafka partition, or one
 * replay run) counted, exported at one stream time, in the form a view merges
 * (docs/live.md: the publish cycle).
 *
 * ccp_engine_export() (engine.h) creates one; ccp_view_merge() (view.h) reads
 * it. The contents are defined in src/counters/partial.h, the one place both
 * sides see without reaching into each other: per scope its gauges and, per
 * window, its counters and sparse histograms; stream time and window bounds;
 * retention counts; diagnostics.
 *
 * Ownership and threads: the caller of ccp_engine_export() owns the partial.
 * It is never written after the export, so it may be handed to another
 * thread (the live workers pass theirs to the publisher inside a bundle, with
 * one atomic exchange) and read there by one thread at a time, which frees it.
 */
#ifndef CCPULSE_PARTIAL_H
#define CCPULSE_PARTIAL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ccp_partial ccp_partial_t;

/** Releases a reference to a partial, freeing it with the last (NULL is fine); the holder's thread.
 */
void ccp_partial_free(ccp_partial_t *p);
/** Stream time the partial was exported at (INT64_MIN: the engine saw nothing). */
int64_t ccp_partial_now(const ccp_partial_t *p);

#ifdef __cplusplus
}
#endif
#endif
