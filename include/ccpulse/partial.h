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

#include <stddef.h>
#include <stdint.h>

#include "ccpulse/buf.h"
#include "ccpulse/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ccp_partial ccp_partial_t;

/** Releases a reference to a partial, freeing it with the last (NULL is fine); the holder's thread.
 */
void ccp_partial_free(ccp_partial_t *p);
/** Stream time the partial was exported at (INT64_MIN: the engine saw nothing). */
int64_t ccp_partial_now(const ccp_partial_t *p);
/**
 * Appends the partial as bytes to out (versioned, with a checksum), with the
 * time header (stream time, window bounds) of hdr, or p's own when hdr is
 * NULL; cfg is the configuration it was exported under. Any thread holding
 * a reference.
 */
void ccp_partial_save(const ccp_partial_t *p, const ccp_partial_t *hdr, const ccp_config_t *cfg,
                      ccp_buf_t *out);
/**
 * Builds a partial from the bytes of ccp_partial_save() under cfg (same
 * build and `windows`); NULL with errbuf on any problem (truncated, corrupt,
 * another version or configuration). The caller owns the result.
 */
ccp_partial_t *ccp_partial_load(const ccp_config_t *cfg, const void *data, size_t len, char *errbuf,
                                size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
