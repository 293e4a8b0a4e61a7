/*
 * /healthz, /readyz and /metrics (see metrics.h).
 *
 * A scrape copies everything it shows first (ccp_metrics_snapshot_t: the
 * consumer's counters are atomics summed over the workers and the
 * publisher, librdkafka's statistics a copy taken under the consumer's
 * stats mutex), then writes the exposition from the copy; so the writer is
 * a pure function, tested without a server. Counters are per process and
 * only grow (events consumed, dropped, dead-lettered, cycles): they are
 * never the engines' diagnostics, which move with partition assignments.
 * No configuration value is shown, so no secret can leak: only counts,
 * states, the topic name and broker addresses as librdkafka names them.
 *
 * Threads: handlers run on the server's connection threads, several at
 * once; they share nothing but the borrowed context.
 */
#include "http/metrics.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/clock.h"
#include "ccpulse/common.h"
#include "ccpulse/version.h"

/* Appends a label value with the exposition format's escapes. */
static void put_label(ccp_buf_t *out, const char *v) {
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      ccp_buf_putc(out, '\\');
    if (*v == '\n') {
      ccp_buf_puts(out, "\\n");
      continue;
    }
    ccp_buf_putc(out, *v);
  }
}

static void family(ccp_buf_t *out, const char *name, const char *type, const char *help) {
  ccp_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one unlabelled sample. */
static void scalar(ccp_buf_t *out, const char *name, const char *type, const char *help,
                   int64_t v) {
  family(out, name, type, help);
  ccp_buf_printf(out, "%s %lld\n", name, (long long)v);
}

void ccp_metrics_write(const ccp_metrics_snapshot_t *s, ccp_buf_t *out) {
  const ccp_consumer_stats_t *st = &s->st;
  family(out, "ccpulse_build_info", "gauge",
         "Always 1; the labels name the version of ccpulse and of librdkafka.");
  ccp_buf_printf(out, "ccpulse_build_info{version=\"%s\",librdkafka=\"", CCP_VERSION_STRING);
  put_label(out, rd_kafka_version_str());
  ccp_buf_puts(out, "\"} 1\n");

  scalar(out, "ccpulse_events_total", "counter", "Records consumed from Kafka by this process.",
         st->messages);
  family(out, "ccpulse_events_dropped_total", "counter",
         "Decoded events the engines dropped, by reason: late (older than now - lateness), "
         "duplicate (event_id seen before), invalid (a field out of range).");
  ccp_buf_printf(out, "ccpulse_events_dropped_total{reason=\"late\"} %lld\n", (long long)st->late);
  ccp_buf_printf(out, "ccpulse_events_dropped_total{reason=\"duplicate\"} %lld\n",
                 (long long)st->duplicate);
  ccp_buf_printf(out, "ccpulse_events_dropped_total{reason=\"invalid\"} %lld\n",
                 (long long)st->invalid);
  scalar(out, "ccpulse_dead_letter_total", "counter",
         "Undecodable records copied to the dead-letter topic.", st->dead_letters);

  scalar(out, "ccpulse_assigned_partitions", "gauge",
         "Partitions of the topic assigned to this process.", st->partitions);
  family(out, "ccpulse_consumer_lag", "gauge",
         "Records of an assigned partition past its committed offset (high watermark - "
         "committed), from librdkafka's statistics: what a restart would read again.");
  for (int i = 0; i < s->ks.nlag; i++) {
    ccp_buf_puts(out, "ccpulse_consumer_lag{topic=\"");
    put_label(out, s->topic ? s->topic : "");
    ccp_buf_printf(out, "\",partition=\"%d\"} %lld\n", (int)s->ks.lag[i].partition,
                   (long long)s->ks.lag[i].lag);
  }

  scalar(out, "ccpulse_publish_cycles_total", "counter",
         "Publish cycles written to Redis (then committed).", st->cycles);
  scalar(out, "ccpulse_publish_failures_total", "counter",
         "Publish cycles that failed (Redis unreachable or refusing); retried at the next "
         "interval, nothing committed.",
         st->failed_cycles);
  family(out, "ccpulse_publish_duration_seconds", "histogram",
         "Duration of a publish cycle, failed ones included: barrier, export, merge, Redis "
         "transaction and commit.");
  int64_t cum = 0;
  for (int i = 0; i < CCP_PUBLISH_NBUCKETS; i++) {
    cum += st->publish_buckets[i];
    if (i < CCP_PUBLISH_NBUCKETS - 1)
      ccp_buf_printf(out, "ccpulse_publish_duration_seconds_bucket{le=\"%g\"} %lld\n",
                     ccp_publish_bucket_s[i], (long long)cum);
    else
      ccp_buf_printf(out, "ccpulse_publish_duration_seconds_bucket{le=\"+Inf\"} %lld\n",
                     (long long)cum);
  }
  ccp_buf_printf(out, "ccpulse_publish_duration_seconds_sum %.6f\n", (double)st->publish_us / 1e6);
  ccp_buf_printf(out, "ccpulse_publish_duration_seconds_count %lld\n", (long long)cum);
  scalar(out, "ccpulse_commits_total", "counter", "Offset commits to Kafka that succeeded.",
         st->commits);
  scalar(out, "ccpulse_commits_held_total", "counter",
         "Publish cycles whose offset commit waited for a rebalance of this member.",
         st->commits_held);
  scalar(out, "ccpulse_kafka_assignments_lost_total", "counter",
         "Assignments librdkafka declared lost (revoked without a clean hand-over).",
         st->assignments_lost);

  scalar(out, "ccpulse_open_tickets", "gauge",
         "Open tickets held by this process's engines at the last publish cycle.",
         st->open_tickets);
  scalar(out, "ccpulse_memory_bytes", "gauge",
         "Bytes allocated through ccpulse's allocator (engines, tables, buffers).", s->mem_bytes);
  if (s->rss_bytes >= 0) {
    scalar(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           s->rss_bytes);
  }

  scalar(out, "ccpulse_kafka_up", "gauge", "0 while librdkafka reports every broker down, else 1.",
         !s->ks.down);
  family(out, "ccpulse_kafka_broker_up", "gauge",
         "1 when librdkafka's connection to the broker is UP, from its statistics "
         "(statistics.interval.ms).");
  for (int i = 0; i < s->ks.nbrokers; i++) {
    ccp_buf_puts(out, "ccpulse_kafka_broker_up{broker=\"");
    put_label(out, s->ks.brokers[i].name);
    ccp_buf_printf(out, "\"} %d\n", strcmp(s->ks.brokers[i].state, "UP") == 0);
  }
  if (s->ks.age_ms >= 0) {
    family(out, "ccpulse_kafka_stats_age_seconds", "gauge",
           "Age of the librdkafka statistics the lag and broker states come from.");
    ccp_buf_printf(out, "ccpulse_kafka_stats_age_seconds %.3f\n", (double)s->ks.age_ms / 1000.0);
  }
}

int ccp_metrics_ready(const ccp_metrics_snapshot_t *s, int64_t now_ms, int64_t max_age_ms,
                      char *why, size_t whylen) {
  if (s->st.stopping) {
    snprintf(why, whylen, "shutting down");
    return 0;
  }
  if (s->st.partitions <= 0) {
    snprintf(why, whylen, "no partition assigned");
    return 0;
  }
  if (s->st.last_publish_ms <= 0) {
    snprintf(why, whylen, "no publish cycle succeeded yet");
    return 0;
  }
  int64_t age = now_ms - s->st.last_publish_ms;
  if (age > max_age_ms) {
    snprintf(why, whylen, "the last successful publish cycle was %.1f s ago (more than %.1f s)",
             (double)age / 1000.0, (double)max_age_ms / 1000.0);
    return 0;
  }
  return 1;
}

int64_t ccp_metrics_ready_age_ms(const ccp_config_t *cfg) {
  return CCP_MAX(5 * cfg->publish_interval_ms, 2000);
}

/* Resident set size from /proc/self/statm, -1 when unknown. */
static int64_t rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f)
    return -1;
  long long size, res;
  int n = fscanf(f, "%lld %lld", &size, &res);
  fclose(f);
  return n == 2 ? (int64_t)res * sysconf(_SC_PAGESIZE) : -1;
}

static void snapshot(const ccp_metrics_ctx_t *x, ccp_metrics_snapshot_t *s) {
  memset(s, 0, sizeof *s);
  s->topic = x->cfg->kafka_topic;
  ccp_consumer_stats(x->c, &s->st);
  ccp_consumer_kafka_stats(x->c, &s->ks);
  s->mem_bytes = (int64_t)ccp_mem_used();
  s->rss_bytes = rss_bytes();
}

static int on_metrics(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  ccp_metrics_snapshot_t s;
  snapshot(opaque, &s);
  ccp_http_resp_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  ccp_http_resp_header(resp, "Cache-Control", "no-store");
  ccp_metrics_write(&s, ccp_http_resp_body(resp));
  ccp_kafka_stats_release(&s.ks);
  return 0;
}

static int on_healthz(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  ccp_http_resp_text(resp, 200, "ok\n");
  ccp_http_resp_header(resp, "Cache-Control", "no-store");
  return 0;
}

static int on_readyz(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  const ccp_metrics_ctx_t *x = opaque;
  ccp_metrics_snapshot_t s;
  snapshot(x, &s);
  char why[256], text[300];
  int ok =
      ccp_metrics_ready(&s, ccp_clock_mono_ms(), ccp_metrics_ready_age_ms(x->cfg), why, sizeof why);
  if (ok)
    snprintf(text, sizeof text, "ready\n");
  else
    snprintf(text, sizeof text, "not ready: %s\n", why);
  ccp_http_resp_text(resp, ok ? 200 : 503, text);
  ccp_http_resp_header(resp, "Cache-Control", "no-store");
  ccp_kafka_stats_release(&s.ks);
  return 0;
}

int ccp_metrics_routes(ccp_metrics_ctx_t *ctx) {
  int rc = ccp_http_route(ctx->h, "/healthz", on_healthz, ctx);
  if (rc == 0)
    rc = ccp_http_route(ctx->h, "/readyz", on_readyz, ctx);
  if (rc == 0)
    rc = ccp_http_route(ctx->h, "/metrics", on_metrics, ctx);
  return rc;
}
