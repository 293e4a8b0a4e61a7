/*
 * ccpulse — alerts: the JSON of SLA deadline alerts, and threshold rules on
 * windowed KPIs and gauges (KPIS.md §4, docs/alerts.md).
 *
 * Every alert is one JSON object on one line (no newline inside) with a
 * stable "id" and a "type": sla_at_risk, sla_breach, threshold or
 * threshold_resolved. The publisher (redis_pub.h) writes each id once to the
 * alerts stream (de-duplicated in Redis, docs/redis.md).
 *
 * Threshold rules are parsed once from text (config key alerts.rules) and
 * evaluated once per publish cycle against the merged view. A rule set keeps
 * per-rule state (ok / warning / critical) and emits an alert when the level
 * changes. Threads: a rule set belongs to the thread that evaluates it (the
 * publisher's); parsing may happen on any thread before that.
 */
#ifndef CCPULSE_ALERTS_H
#define CCPULSE_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/view.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Appends the stable id of an engine deadline alert,
 * "<type>:<ticket_id>:<opened_ms>:<at_ms>" (e.g.
 * "sla_breach:t2:1795347010000:1795347250000"): the same every time the same
 * deadline of the same ticket life fires (replay, restart, re-read), another
 * for any other deadline. Any thread (pure function).
 */
void ccp_alert_id(const ccp_alert_t *a, ccp_buf_t *out);

/**
 * Appends the JSON object of an engine deadline alert (no newline):
 * {"id":<ccp_alert_id>,"type":"sla_breach","ticket_id":..,"queue":..,
 * "channel":..,"agent_id":..,"at_ms":..,"now_ms":..,"opened_ms":..,
 * "threshold_ms":..}. Any thread (pure function).
 */
void ccp_alert_json(const ccp_alert_t *a, ccp_buf_t *out);

/** Level of a threshold rule. */
typedef enum ccp_rule_level {
  CCP_RULE_OK = 0,      /**< condition clear (or never seen) */
  CCP_RULE_WARNING = 1, /**< warning threshold crossed */
  CCP_RULE_CRITICAL = 2 /**< critical threshold crossed */
} ccp_rule_level_t;

/** A parsed set of threshold rules with their state (opaque). */
typedef struct ccp_rules ccp_rules_t;

/**
 * Parses rules text (docs/alerts.md), e.g.
 *   "sl_billing: service_level_pct queue:billing 15m < 80 warn, < 70 crit, hysteresis 2;
 *    waiting_all: waiting all > 20 warn, > 50 crit"
 * Rules are separated by ';' or newlines; '#' starts a comment. Window names
 * are checked against cfg (borrowed: must outlive the rule set). Returns NULL
 * with errbuf naming the rule and the problem, e.g.
 * "alert rule 'sl_billing': unknown window '10m' (configured: 1m 5m ...)".
 * Empty text gives an empty rule set.
 */
ccp_rules_t *ccp_rules_parse(const char *text, const ccp_config_t *cfg, char *errbuf,
                             size_t errlen);
/** Frees a rule set (NULL is fine). */
void ccp_rules_free(ccp_rules_t *r);
/** Number of rules. */
int ccp_rules_count(const ccp_rules_t *r);
/** Name of rule i. */
const char *ccp_rules_name(const ccp_rules_t *r, int i);
/** Current level of rule i (ccp_rule_level_t). */
int ccp_rules_level(const ccp_rules_t *r, int i);

/**
 * Appends the rules as a JSON array (the wall's colours, docs/wall.md):
 * [{"name":..,"kpi":..,"scope":..,"window":.. or null,"warning":{"op":"<",
 * "threshold":80} or null,"critical":..,"hysteresis":..}]. Any thread that
 * may read the rule set.
 */
void ccp_rules_json(const ccp_rules_t *r, ccp_buf_t *out);

/**
 * Evaluates every rule against the view at its stream time and appends one
 * alert JSON line ('\n'-terminated) per level change to out: "threshold"
 * when a rule enters warning/critical or changes level, "threshold_resolved"
 * when it goes back to ok. A null value (no data) changes nothing; a scope
 * absent from the view counts as 0 for counts and gauges and null otherwise.
 * Returns the number of alerts appended. Thread: the rule set's owner.
 */
int ccp_rules_eval(ccp_rules_t *r, const ccp_view_t *v, ccp_buf_t *out);

/**
 * Value lookup for ccp_rules_eval_with(): sets *out (NaN for null) for a KPI
 * or gauge of a scope and window index (ignored for gauges); returns 0, or -1
 * when the scope has no data (then counts and gauges read 0, others null).
 */
typedef int (*ccp_rules_lookup_fn)(void *opaque, const char *scope, int window, const char *kpi,
                                   double *out);

/**
 * ccp_rules_eval() with values from a callback instead of a view (tests, other
 * drivers); now_ms goes into the alerts and their ids.
 */
int ccp_rules_eval_with(ccp_rules_t *r, int64_t now_ms, ccp_rules_lookup_fn lookup, void *opaque,
                        ccp_buf_t *out);

/**
 * Calls fn for each line of a buffer of alert lines (as ccp_rules_eval
 * appends them), with the line's bytes without the newline. Empty lines are
 * skipped. Returns the number of lines seen.
 */
size_t ccp_alert_lines_each(const ccp_buf_t *lines,
                            void (*fn)(void *opaque, const char *line, size_t len), void *opaque);

#ifdef __cplusplus
}
#endif
#endif
