/*
 * ccpulse — configuration.
 *
 * One table of settings (src/config/config.c) drives the file parser, the
 * environment (CCPULSE_* variables), `--set key=value` flags, validation,
 * `--help` and docs/configuration.md. Every key has a default; a bad value is
 * rejected at start-up with a message naming the key and the problem.
 *
 * The file format is line based: `key = value`, `#` starts a comment, blank
 * lines are ignored. Durations take a unit: ms, s, m, h, d (a bare integer is
 * milliseconds).
 *
 * ccp_config_t is a plain struct, filled once at start-up and then read-only:
 * any thread may read it after ccp_config_finish() returned.
 */
#ifndef CCPULSE_CONFIG_H
#define CCPULSE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ccpulse/buf.h"
#include "ccpulse/common.h"
#include "ccpulse/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most windows a configuration may declare. */
#define CCP_MAX_WINDOWS 8
/** Most scorecard terms. */
#define CCP_MAX_SCORE_TERMS 16

/** One KPI window: trailing (span_ms > 0) or calendar `today`. */
typedef struct ccp_window_conf {
  char name[16];          /**< "1m", "5m", "today"... as it appears in JSON */
  int64_t span_ms;        /**< trailing span; 0 for `today` */
  int64_t granularity_ms; /**< bucket width g */
  int is_today;           /**< 1 for the calendar window since local midnight */
} ccp_window_conf_t;

/** A first-response SLA threshold for one queue x channel. */
typedef struct ccp_sla_override {
  char *queue; /**< owned by the config */
  int channel; /**< ccp_channel_t */
  int64_t ms;  /**< threshold */
} ccp_sla_override_t;

/** One scorecard term: KPI id, direction, target and weight in percent. */
typedef struct ccp_score_term {
  char kpi[32];         /**< a windowed KPI id, e.g. "csat_pct" */
  int higher_is_better; /**< 1 for ">=" targets, 0 for "<=" */
  double target;        /**< target value (> 0) */
  double weight;        /**< percent; the weights sum to 100 */
} ccp_score_term_t;

/** A `kafka.<name> = value` setting passed through to librdkafka. */
typedef struct ccp_kv {
  char *key;    /**< librdkafka property name (without `kafka.`), owned */
  char *value;  /**< its value, owned */
  char *origin; /**< where it was set ("cfg.conf:3", "environment CCPULSE_KAFKA_X"), owned;
                     NULL when unknown */
} ccp_kv_t;

/** A Confluent schema id and the writer schema file it stands for. */
typedef struct ccp_schema_ref {
  uint32_t id; /**< Confluent schema registry id */
  char *path;  /**< path of the writer schema (.avsc), owned */
} ccp_schema_ref_t;

/** The whole configuration (see docs/configuration.md for every key). */
typedef struct ccp_config {
  /* time */
  int64_t lateness_ms;                        /**< lateness: late if ts < now - lateness */
  char timezone[64];                          /**< IANA zone of the `today` window */
  ccp_window_conf_t windows[CCP_MAX_WINDOWS]; /**< in output order */
  int nwindows;                               /**< number of windows */

  /* SLA */
  int64_t sla_ms[CCP_CH__COUNT];     /**< first-response threshold per channel */
  ccp_sla_override_t *sla_overrides; /**< queue x channel thresholds */
  int nsla_overrides;                /**< number of overrides */
  double sla_at_risk_fraction;       /**< sla_at_risk at this fraction (0,1) */
  int64_t short_abandon_ms;          /**< abandons with wait < this are short */
  int64_t backlog_age_ms;            /**< open tickets older than this are aged */

  /* money and scorecard */
  double cost_per_hour[CCP_CH__COUNT];               /**< NaN when not configured */
  ccp_score_term_t score_terms[CCP_MAX_SCORE_TERMS]; /**< agent scorecard */
  int nscore_terms;                                  /**< number of terms */

  /* customers */
  int64_t retention_period_ms; /**< P of retention/churn */

  /* memory bounds */
  int64_t ticket_ttl_ms;    /**< forget tickets idle this long */
  int64_t max_tickets;      /**< hard cap; oldest evicted past it */
  int64_t max_dedup;        /**< cap on remembered event ids */
  int64_t max_queues;       /**< limits.queues: queue scopes; more go to queue:~other */
  int64_t max_agents;       /**< limits.agents: agent scopes; more go to agent:~other */
  int64_t max_customers;    /**< limits.customers: customers tracked for retention */
  int64_t max_cust_entries; /**< limits.customer_entries: customer x scope entries */

  /* live pipeline (ccpulse run, docs/live.md) */
  char kafka_brokers[1024];       /**< bootstrap servers */
  char kafka_topic[256];          /**< topic of ticket events */
  char kafka_group[256];          /**< consumer group id */
  ccp_kv_t *kafka_props;          /**< pass-through librdkafka properties, in set order */
  int nkafka_props;               /**< number of pass-through properties */
  char redis_url[1024];           /**< redis://host:port[/db] */
  char redis_prefix[128];         /**< prefix of every Redis key */
  int64_t publish_interval_ms;    /**< publish cycle period */
  int64_t catchup_interval_ms;    /**< cycle period while catching up old data; 0 = none */
  int64_t snapshot_interval_ms;   /**< least period of snapshot stream entries; 0 = every cycle */
  int64_t redis_snapshots_maxlen; /**< MAXLEN ~ of the snapshot stream; 0 = no stream */
  double redis_snap_max_mb;       /**< MB of snapshot entries the stream keeps; 0 = no cap */
  double redis_snap_mb_per_s;     /**< pacing of the snapshot stream in MB/s; 0 = none */
  int64_t wait_refresh_ms;        /**< longest_wait_ms alone: tile rewritten this late */
  int64_t workers;                /**< worker threads; 0 = number of cores */
  char schema_writer[1024];       /**< writer schema file; "" = built-in v1 */
  ccp_schema_ref_t *schema_registry; /**< Confluent ids -> schema files, sorted by id */
  int nschema_registry;              /**< number of registry entries */
  char dlq_topic[256];               /**< dead-letter topic; "" = <topic>.dlq */
  char *alerts_rules;                /**< threshold rules text (owned; "" = none) */
  int64_t alerts_dedup_window_ms;    /**< alert ids remembered this long in Redis; 0 = off */
  int64_t idle_advance_ms;           /**< quiet period after which stream time follows the clock */
  int64_t max_future_ms;             /**< live.max_future: events further ahead of the wall
                                          clock are invalid */
  int64_t checkpoint_interval_ms;    /**< period of partition checkpoints; 0 = none */
  char http_listen[256];             /**< HOST:PORT of /metrics, /healthz...; "" = no server */

  /* logs (docs/live.md) */
  int log_level;  /**< ccp_log_level_t of log.level */
  int log_format; /**< ccp_log_format_t of log.format */

  /* Confluent schema registry (docs/schemas.md) */
  char schema_registry_url[1024];      /**< http(s)://[user:password@]host[:port][/path]; "" off */
  char schema_registry_user_info[512]; /**< basic auth `user:password` (a secret); "" none */
  int64_t schema_registry_retry_ms;    /**< back-off before an id that failed is asked again */
  int64_t schema_registry_timeout_ms;  /**< longest fetch of one schema, all included */
  int64_t schema_registry_connect_ms;  /**< longest TCP (and TLS) connect of a fetch */

  /* where the keys librdkafka also knows were set (ccp_config_finish) */
  char kafka_brokers_origin[96]; /**< where kafka.brokers was set; "" = default */
  char kafka_group_origin[96];   /**< where kafka.group was set; "" = default */
} ccp_config_t;

/** Fills cfg with every default. */
void ccp_config_init(ccp_config_t *cfg);
/** Frees what the config owns (overrides); cfg may be re-initialised. */
void ccp_config_release(ccp_config_t *cfg);

/**
 * Sets one key from text (file, environment or flag). Returns 0, or a
 * negative code with errbuf holding e.g. "config key 'sla.CHAT': invalid
 * duration 'soon'". `origin` (may be NULL) is prefixed to the message, e.g.
 * "cfg.conf:12".
 */
int ccp_config_set(ccp_config_t *cfg, const char *key, const char *value, const char *origin,
                   char *errbuf, size_t errlen);
/**
 * As ccp_config_set(), but a key whose lines add up (alerts.rules) gets
 * value appended to what it holds, after a newline; any other key is set.
 * For a key repeated within one source (a file, the `--set` flags).
 */
int ccp_config_append(ccp_config_t *cfg, const char *key, const char *value, const char *origin,
                      char *errbuf, size_t errlen);
/**
 * Reads a config file; stops at the first bad line (errbuf names it). A key
 * may appear once per file, except alerts.rules, whose lines add up
 * (ccp_config_append); a second line of any other key is an error naming
 * the key and both lines.
 */
int ccp_config_load_file(ccp_config_t *cfg, const char *path, char *errbuf, size_t errlen);
/**
 * Applies CCPULSE_* environment variables: CCPULSE_<KEY> for every key of the
 * table (KEY upper-cased, '.' -> '_'), then CCPULSE_KAFKA_<PROPERTY> for the
 * librdkafka pass-through (`kafka.<property>`: lower-cased, '_' -> '.', and
 * '__' -> '_', e.g. CCPULSE_KAFKA_SASL_PASSWORD -> kafka.sasl.password,
 * CCPULSE_KAFKA_LOG__LEVEL -> kafka.log_level), in name order. An empty
 * variable counts as unset.
 */
int ccp_config_load_env(ccp_config_t *cfg, char *errbuf, size_t errlen);
/**
 * Cross-key validation (weights sum to 100...); call after all sets. Also
 * settles the keys of ours that name a librdkafka property (kafka.brokers =
 * bootstrap.servers or metadata.broker.list, kafka.group = group.id): set
 * in two places with different values is an error naming both and where
 * each was set; set only as `kafka.<property>`, the value moves to our key
 * (and leaves kafka_props), so one value reaches librdkafka.
 */
int ccp_config_finish(ccp_config_t *cfg, char *errbuf, size_t errlen);

/**
 * Sets the process's logger (ccpulse/log.h) from log.level and log.format.
 * Main thread, once after loading the configuration, before threads start.
 */
void ccp_config_apply_log(const ccp_config_t *cfg);

/** Threshold for a queue x channel: override if any, else per channel. */
int64_t ccp_config_sla_ms(const ccp_config_t *cfg, const char *queue, size_t queue_len,
                          int channel);

/** Most distinct values ccp_config_sla_ms() may return under one configuration
 * (sla.<CHANNEL> and sla.queue.* together; ccp_config_finish() refuses more):
 * an engine keeps a ticket's threshold as an index into their table. */
#define CCP_CONFIG_SLA_DISTINCT_MAX 256
/** Most limits.queues and limits.agents: every scope id of an engine then fits
 * 24 bits (a ticket record holds two). */
#define CCP_CONFIG_QUEUES_MAX 1000000
#define CCP_CONFIG_AGENTS_MAX 15000000

/**
 * Fills out (room for CCP_CONFIG_SLA_DISTINCT_MAX) with the distinct values
 * ccp_config_sla_ms() can return, ascending; returns how many, or -1 when
 * there are more than fit (nothing then is meaningful in out).
 */
int ccp_config_sla_distinct(const ccp_config_t *cfg, int64_t *out);

/** Parses a duration ("250ms", "5s", "4m", "1h", "30d", "1500"). */
int ccp_parse_duration(const char *s, int64_t *out_ms);

/* ---- secrets (docs/kpis.md §7: never in a log line, an error, Redis or /metrics) ---- */

/**
 * 1 when the value of config key `key` must never be shown: `kafka.sasl.*`,
 * `kafka.ssl.*` and every `kafka.*` property whose name contains `password`
 * or `secret`; else 0. The `redis` url is not secret as a whole: show it
 * through ccp_config_redact_url(). Any thread.
 */
int ccp_config_is_secret_key(const char *key);

/**
 * Writes url into out (outlen bytes, always terminated) with its userinfo,
 * everything between `://` (or the start) and the last `@`, replaced by
 * `***` (`redis://:pw@host:6379/0` is shown with `***@host:6379/0` after
 * the scheme); a url without `@` is copied as it is. Returns out. Any thread.
 */
const char *ccp_config_redact_url(const char *url, char *out, size_t outlen);

/**
 * Replaces every occurrence of value in msg (NUL-terminated, size bytes),
 * also as a message quotes a long value (its first 77 bytes and "..."), by
 * `***`: for a message about a secret key's value (librdkafka's "Invalid
 * value ..."). Any thread.
 */
void ccp_config_mask_value(char *msg, size_t size, const char *value);

/**
 * Hands the logger (ccp_log_add_secret) every secret cfg holds: the password
 * and userinfo of the `redis` url and the value of every secret key, so that
 * no later log line shows one whatever wrote it (librdkafka's messages
 * included); called by ccp_config_apply_log(). Main thread, at start-up.
 */
void ccp_config_protect_log(const ccp_config_t *cfg);

/** Called by ccp_config_each() with one key and its value as it may be shown. */
typedef void (*ccp_config_visit_fn)(void *opaque, const char *key, const char *value);

/**
 * Calls fn for every key in table order with its effective value as text
 * that ccp_config_set() accepts back (durations in their largest exact unit;
 * a family such as `kafka.<property>` once per member; an unset number as
 * ""), secrets as `***` and the `redis` url redacted: the effective
 * configuration for a start-up line or a metrics endpoint. Any thread once
 * cfg is finished.
 */
void ccp_config_each(const ccp_config_t *cfg, ccp_config_visit_fn fn, void *opaque);

/**
 * Appends the effective configuration to out as `key=value` pairs separated
 * by spaces (ccp_config_each; a value with a space, quote, `=` or control
 * character, or empty, as a JSON string). Any thread once cfg is finished.
 */
void ccp_config_describe(const ccp_config_t *cfg, ccp_buf_t *out);

/** Writes the settings table as markdown (docs/configuration.md). */
void ccp_config_write_docs(FILE *out);
/** Writes every key with its type, range, default and meaning as plain text (--help). */
void ccp_config_write_help(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
