/*
 * ccpulse — an event source over one input file, format found by content:
 * an Avro object container file when it starts with "Obj\x01", else JSON
 * Lines. "-" is stdin (same sniffing). Pipes work. Used by `ccpulse replay`
 * and `ccpulse convert` (and any driver that reads files).
 *
 * Threads: a source belongs to one thread.
 */
#ifndef CCPULSE_SOURCE_H
#define CCPULSE_SOURCE_H

#include <stddef.h>

#include "ccpulse/common.h"
#include "ccpulse/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Input formats. */
typedef enum ccp_source_format {
  CCP_SRC_JSONL = 0, /**< JSON Lines */
  CCP_SRC_OCF = 1    /**< Avro object container file */
} ccp_source_format_t;

typedef struct ccp_source ccp_source_t;

/**
 * Opens path ("-" = stdin, named "<stdin>" in messages). Returns NULL with
 * errbuf ("cannot open 'x': No such file or directory", or an OCF header
 * problem).
 */
ccp_source_t *ccp_source_open(const char *path, char *errbuf, size_t errlen);

/**
 * Reads the next event. Returns 0, -CCP_EEOF at the end, or another negative
 * code with errbuf "events.jsonl:12: reason" / "events.avro: record 3 (block
 * 0 at offset 310): reason". ev's string views are valid until the next call.
 */
int ccp_source_next(ccp_source_t *s, ccp_event_t *ev, char *errbuf, size_t errlen);

/** The source's format. */
int ccp_source_format(const ccp_source_t *s);

/** Closes the source (stdin itself stays open). */
void ccp_source_free(ccp_source_t *s);

#ifdef __cplusplus
}
#endif
#endif
