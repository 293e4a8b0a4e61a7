/*
 * ccpulse — the decoded ticket event (KPIS.md §1).
 *
 * A ccp_event_t is filled by a decoder (Avro binary, Avro OCF, JSON Lines) and
 * handed to the engine. Its string views point into the decoder's buffer: they
 * are valid only until the decoder is called again. The engine copies what it
 * keeps (interned names, hashes).
 */
#ifndef CCPULSE_EVENT_H
#define CCPULSE_EVENT_H

#include <stdint.h>

#include "ccpulse/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Event types, in the order of the Avro enum symbols of schemas/. */
typedef enum ccp_event_type {
  CCP_EV_OPENED = 0,
  CCP_EV_ASSIGNED,
  CCP_EV_AGENT_REPLY,
  CCP_EV_CUSTOMER_REPLY,
  CCP_EV_TRANSFERRED,
  CCP_EV_HANDLED,
  CCP_EV_RESOLVED,
  CCP_EV_REOPENED,
  CCP_EV_ABANDONED,
  CCP_EV_SURVEY,
  CCP_EV_QA_REVIEWED,
  CCP_EV__COUNT
} ccp_event_type_t;

/** Channels, in the order of the Avro enum symbols of schemas/. */
typedef enum ccp_channel {
  CCP_CH_PHONE = 0,
  CCP_CH_CHAT,
  CCP_CH_EMAIL,
  CCP_CH_SOCIAL,
  CCP_CH__COUNT
} ccp_channel_t;

/** Marker of an absent optional long field. */
#define CCP_NULL_I64 INT64_MIN
/** Marker of an absent optional int field. */
#define CCP_NULL_I32 INT32_MIN

/** One decoded event. String views are borrowed (see file comment). */
typedef struct ccp_event {
  int64_t ts;            /**< event time, ms since the Unix epoch */
  ccp_str_t event_id;    /**< unique id (duplicates dropped) */
  ccp_str_t ticket_id;   /**< ticket key */
  ccp_str_t queue;       /**< queue at this event */
  ccp_str_t agent_id;    /**< ptr NULL when the field is null */
  ccp_str_t customer_id; /**< customer */
  ccp_str_t category;    /**< ptr NULL when null; "complaint" marks one */
  int64_t talk_ms;       /**< CCP_NULL_I64 when null */
  int64_t hold_ms;       /**< CCP_NULL_I64 when null */
  int64_t acw_ms;        /**< CCP_NULL_I64 when null */
  int32_t csat;          /**< CCP_NULL_I32 when null */
  int32_t nps;           /**< CCP_NULL_I32 when null */
  int32_t ces;           /**< CCP_NULL_I32 when null */
  int32_t qa_errors;     /**< CCP_NULL_I32 when null */
  uint8_t type;          /**< ccp_event_type_t */
  uint8_t channel;       /**< ccp_channel_t */
} ccp_event_t;

/** Longest text field in bytes (docs/kpis.md §7). */
#define CCP_EVENT_TEXT_MAX 256
/** Earliest valid ts: 2000-01-01T00:00:00Z (docs/kpis.md §7). */
#define CCP_EVENT_TS_MIN INT64_C(946684800000)
/** Latest valid ts: 2100-01-01T00:00:00Z, included (docs/kpis.md §7). */
#define CCP_EVENT_TS_MAX INT64_C(4102444800000)

/** Why an event is invalid (ccp_event_check); 0 = valid. */
typedef enum ccp_event_fault {
  CCP_EVF_NONE = 0,
  CCP_EVF_RANGE = 1, /**< a number or enum out of range (csat, nps, ces, durations...) */
  CCP_EVF_TEXT = 2,  /**< a text field empty, over 256 bytes, not UTF-8, or holding NUL */
  CCP_EVF_TS = 3,    /**< ts outside 2000-01-01..2100-01-01 */
  CCP_EVF_FUTURE = 4 /**< ts beyond the caller's limit (live: wall clock + live.max_future) */
} ccp_event_fault_t;

/** Resets every field to "absent" (strings empty, optionals null). */
void ccp_event_clear(ccp_event_t *ev);

/**
 * The one validator of decoded events, used by every path (the engine on
 * each event of replay, convert's files and the live workers; the live
 * workers also ahead of the engine, for the dead-letter reason): the ranges
 * of docs/kpis.md §2 and the text and time rules of §7. max_ts is the latest
 * ts accepted (CCP_EVENT_TS_MAX, or lower: wall clock + live.max_future).
 * Returns CCP_EVF_NONE or the first fault found. Pure; any thread.
 */
int ccp_event_check(const ccp_event_t *ev, int64_t max_ts);

/**
 * Writes why ccp_event_check(ev, max_ts) failed, naming the field and the
 * problem ("field 'queue': invalid UTF-8 at byte 3"), into buf (always
 * NUL-terminated); "" when it did not. Any thread.
 */
void ccp_event_explain(const ccp_event_t *ev, int64_t max_ts, char *buf, size_t len);

/**
 * Offset of the first byte of s[0..len) that is not part of well-formed
 * UTF-8 (RFC 3629: no overlong form, no surrogate U+D800..U+DFFF, nothing
 * above U+10FFFF, no truncated sequence), or len when all of it is. Any thread.
 */
size_t ccp_utf8_valid_prefix(const char *s, size_t len);

/** Symbol of an event type ("OPENED"...), or NULL when out of range. */
const char *ccp_event_type_name(int type);
/** Parses an event type symbol; returns the type or -1. */
int ccp_event_type_parse(const char *s, size_t len);
/** Symbol of a channel ("PHONE"...), or NULL when out of range. */
const char *ccp_channel_name(int ch);
/** Parses a channel symbol; returns the channel or -1. */
int ccp_channel_parse(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
