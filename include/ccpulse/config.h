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
  char *key;   /**< librdkafka property name (without `kafka.`), owned */
  char *value; /**< its value, owned */
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
  int64_t ticket_ttl_ms; /**< forget tickets idle this long */
  int64_t max_tickets;   /**< hard cap; oldest evicted past it */
  int64_t max_dedup;     /**< cap on remembered event ids */

  /* live pipeline (ccpulse run, docs/live.md) */
  char kafka_brokers[1024];       /**< bootstrap servers */
  char kafka_topic[256];          /**< topic of ticket events */
  char kafka_group[256];          /**< consumer group id */
  ccp_kv_t *kafka_props;          /**< pass-through librdkafka properties, in set order */
  int nkafka_props;               /**< number of pass-through properties */
  char redis_url[1024];           /**< redis://host:port[/db] */
  char redis_prefix[128];         /**< prefix of every Redis key */
  int64_t publish_interval_ms;    /**< publish cycle period */
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
  int64_t checkpoint_interval_ms;    /**< period of partition checkpoints; 0 = none */
  char http_listen[256];             /**< HOST:PORT of /metrics, /healthz...; "" = no server */

  /* logs (docs/live.md) */
  int log_level;  /**< ccp_log_level_t of log.level */
  int log_format; /**< ccp_log_format_t of log.format */
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
/** Reads a config file; stops at the first bad line (errbuf names it). */
int ccp_config_load_file(ccp_config_t *cfg, const char *path, char *errbuf, size_t errlen);
/** Applies CCPULSE_* environment variables (KEY upper-cased, '.' -> '_'). */
int ccp_config_load_env(ccp_config_t *cfg, char *errbuf, size_t errlen);
/** Cross-key validation (weights sum to 100...); call after all sets. */
int ccp_config_finish(ccp_config_t *cfg, char *errbuf, size_t errlen);

/**
 * Sets the process's logger (ccpulse/log.h) from log.level and log.format.
 * Main thread, once after loading the configuration, before threads start.
 */
void ccp_config_apply_log(const ccp_config_t *cfg);

/** Threshold for a queue x channel: override if any, else per channel. */
int64_t ccp_config_sla_ms(const ccp_config_t *cfg, const char *queue, size_t queue_len,
                          int channel);

/** Parses a duration ("250ms", "5s", "4m", "1h", "30d", "1500"). */
int ccp_parse_duration(const char *s, int64_t *out_ms);

/** Writes the settings table as markdown (docs/configuration.md). */
void ccp_config_write_docs(FILE *out);
/** Writes every key with its type, range, default and meaning as plain text (--help). */
void ccp_config_write_help(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
