/*
 * Tests of the /metrics exposition writer and the /readyz rule
 * (src/http/metrics.c) on hand-made snapshots: every family has HELP and
 * TYPE before its samples, counters end in _total, the histogram is
 * cumulative with +Inf equal to _count, label values are escaped, lag and
 * broker samples follow the statistics; readiness and its reasons.
 */
#include "http/metrics.h"

#include <stdio.h>
#include <string.h>

#include "ccp_test.h"
#include "ccpulse/common.h"

static ccp_metrics_snapshot_t sample_snapshot(void) {
  ccp_metrics_snapshot_t s;
  memset(&s, 0, sizeof s);
  s.topic = "tick\"ets\\";
  s.st.messages = 1000;
  s.st.late = 3;
  s.st.duplicate = 2;
  s.st.invalid = 1;
  s.st.dead_letters = 4;
  s.st.cycles = 40;
  s.st.failed_cycles = 2;
  s.st.commits = 38;
  s.st.commits_held = 5;
  s.st.assignments_lost = 1;
  s.st.partitions = 2;
  s.st.open_tickets = 17;
  s.st.publish_buckets[0] = 10;                       /* <= 1 ms */
  s.st.publish_buckets[3] = 30;                       /* <= 10 ms */
  s.st.publish_buckets[CCP_PUBLISH_NBUCKETS - 1] = 2; /* > 2.5 s */
  s.st.publish_us = 5500000;
  s.mem_bytes = 123456;
  s.rss_bytes = -1;
  s.ks.age_ms = 1500;
  s.ks.nlag = 2;
  s.ks.lag = ccp_calloc(2, sizeof *s.ks.lag);
  s.ks.lag[0].partition = 0;
  s.ks.lag[0].lag = 5;
  s.ks.lag[1].partition = 7;
  s.ks.lag[1].lag = 0;
  s.ks.nbrokers = 2;
  s.ks.brokers = ccp_calloc(2, sizeof *s.ks.brokers);
  snprintf(s.ks.brokers[0].name, sizeof s.ks.brokers[0].name, "127.0.0.1:9092/1");
  snprintf(s.ks.brokers[0].state, sizeof s.ks.brokers[0].state, "UP");
  snprintf(s.ks.brokers[1].name, sizeof s.ks.brokers[1].name, "127.0.0.1:9093/2");
  snprintf(s.ks.brokers[1].state, sizeof s.ks.brokers[1].state, "DOWN");
  return s;
}

static int has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; (p = strstr(p, line)); p++)
    if ((p == text || p[-1] == '\n') && p[n] == '\n')
      return 1;
  return 0;
}

/* Every sample line's family was declared with HELP and TYPE before it;
 * counters end in _total. Returns the number of bad lines. */
static int check_structure(const char *text) {
  char declared[64][96], types[64][16];
  int nd = 0, bad = 0;
  const char *p = text;
  while (*p) {
    const char *e = strchr(p, '\n');
    if (!e)
      return bad + 1; /* every line ends in a newline */
    char line[512];
    size_t n = CCP_MIN((size_t)(e - p), sizeof line - 1);
    memcpy(line, p, n);
    line[n] = 0;
    p = e + 1;
    char name[96], type[16];
    if (sscanf(line, "# TYPE %95s %15s", name, type) == 2) {
      snprintf(declared[nd], sizeof declared[nd], "%s", name);
      snprintf(types[nd++], sizeof types[0], "%s", type);
      continue;
    }
    if (strncmp(line, "# HELP ", 7) == 0)
      continue;
    size_t k = strcspn(line, "{ ");
    int found = 0;
    for (int i = 0; i < nd && !found; i++) {
      size_t dl = strlen(declared[i]);
      if (k >= dl && strncmp(line, declared[i], dl) == 0 &&
          (k == dl || (strcmp(types[i], "histogram") == 0))) {
        found = 1;
        if (strcmp(types[i], "counter") == 0 && strcmp(declared[i] + dl - 6, "_total") != 0)
          found = 0;
      }
    }
    if (!found) {
      fprintf(stderr, "undeclared or badly named: %s\n", line);
      bad++;
    }
  }
  return bad;
}

static void test_write(void) {
  ccp_metrics_snapshot_t s = sample_snapshot();
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_metrics_write(&s, &b);
  const char *t = b.data;
  T_EQ_INT(check_structure(t), 0);
  T_TRUE(has_line(t, "# TYPE ccpulse_events_total counter"));
  T_TRUE(has_line(t, "ccpulse_events_total 1000"));
  T_TRUE(has_line(t, "ccpulse_events_dropped_total{reason=\"late\"} 3"));
  T_TRUE(has_line(t, "ccpulse_events_dropped_total{reason=\"duplicate\"} 2"));
  T_TRUE(has_line(t, "ccpulse_events_dropped_total{reason=\"invalid\"} 1"));
  T_TRUE(has_line(t, "ccpulse_dead_letter_total 4"));
  T_TRUE(has_line(t, "ccpulse_publish_cycles_total 40"));
  T_TRUE(has_line(t, "ccpulse_publish_failures_total 2"));
  T_TRUE(has_line(t, "ccpulse_commits_total 38"));
  T_TRUE(has_line(t, "ccpulse_commits_held_total 5"));
  T_TRUE(has_line(t, "ccpulse_kafka_assignments_lost_total 1"));
  T_TRUE(has_line(t, "ccpulse_open_tickets 17"));
  T_TRUE(has_line(t, "ccpulse_memory_bytes 123456"));
  T_TRUE(strstr(t, "process_resident_memory_bytes") == NULL); /* unknown: not shown */
  /* the histogram: cumulative, +Inf = count, sum in seconds */
  T_TRUE(has_line(t, "# TYPE ccpulse_publish_duration_seconds histogram"));
  T_TRUE(has_line(t, "ccpulse_publish_duration_seconds_bucket{le=\"0.001\"} 10"));
  T_TRUE(has_line(t, "ccpulse_publish_duration_seconds_bucket{le=\"0.005\"} 10"));
  T_TRUE(has_line(t, "ccpulse_publish_duration_seconds_bucket{le=\"0.01\"} 40"));
  T_TRUE(has_line(t, "ccpulse_publish_duration_seconds_bucket{le=\"2.5\"} 40"));
  T_TRUE(has_line(t, "ccpulse_publish_duration_seconds_bucket{le=\"+Inf\"} 42"));
  T_TRUE(has_line(t, "ccpulse_publish_duration_seconds_count 42"));
  T_TRUE(has_line(t, "ccpulse_publish_duration_seconds_sum 5.500000"));
  /* label values escaped; lag and brokers from the statistics */
  T_TRUE(has_line(t, "ccpulse_consumer_lag{topic=\"tick\\\"ets\\\\\",partition=\"0\"} 5"));
  T_TRUE(has_line(t, "ccpulse_consumer_lag{topic=\"tick\\\"ets\\\\\",partition=\"7\"} 0"));
  T_TRUE(has_line(t, "ccpulse_kafka_broker_up{broker=\"127.0.0.1:9092/1\"} 1"));
  T_TRUE(has_line(t, "ccpulse_kafka_broker_up{broker=\"127.0.0.1:9093/2\"} 0"));
  T_TRUE(has_line(t, "ccpulse_kafka_up 1"));
  T_TRUE(has_line(t, "ccpulse_kafka_stats_age_seconds 1.500"));
  T_TRUE(has_line(t, "ccpulse_assigned_partitions 2"));

  /* no statistics yet, every broker down: no lag samples, no age */
  ccp_kafka_stats_release(&s.ks);
  s.ks.age_ms = -1;
  s.ks.down = 1;
  s.rss_bytes = 4096;
  ccp_buf_clear(&b);
  ccp_metrics_write(&s, &b);
  t = b.data;
  T_EQ_INT(check_structure(t), 0);
  T_TRUE(strstr(t, "ccpulse_consumer_lag{") == NULL);
  T_TRUE(has_line(t, "# TYPE ccpulse_consumer_lag gauge")); /* the family stays declared */
  T_TRUE(strstr(t, "ccpulse_kafka_stats_age_seconds") == NULL);
  T_TRUE(has_line(t, "ccpulse_kafka_up 0"));
  T_TRUE(has_line(t, "process_resident_memory_bytes 4096"));
  ccp_buf_release(&b);
}

static void test_ready(void) {
  ccp_metrics_snapshot_t s;
  memset(&s, 0, sizeof s);
  char why[256];
  T_EQ_INT(ccp_metrics_ready(&s, 10000, 2000, why, sizeof why), 0);
  T_EQ_STR(why, "no partition assigned");
  s.st.partitions = 1;
  T_EQ_INT(ccp_metrics_ready(&s, 10000, 2000, why, sizeof why), 0);
  T_EQ_STR(why, "no publish cycle succeeded yet");
  s.st.last_publish_ms = 9000;
  T_EQ_INT(ccp_metrics_ready(&s, 10000, 2000, why, sizeof why), 1);
  T_EQ_INT(ccp_metrics_ready(&s, 11000, 2000, why, sizeof why), 1);
  T_EQ_INT(ccp_metrics_ready(&s, 11001, 2000, why, sizeof why), 0);
  T_EQ_STR(why, "the last successful publish cycle was 2.0 s ago (more than 2.0 s)");
  s.st.stopping = 1;
  T_EQ_INT(ccp_metrics_ready(&s, 10000, 2000, why, sizeof why), 0);
  T_EQ_STR(why, "shutting down");
  ccp_config_t cfg;
  ccp_config_init(&cfg);
  T_EQ_INT(ccp_metrics_ready_age_ms(&cfg), 2000); /* 5 x 250 ms < 2 s */
  cfg.publish_interval_ms = 1000;
  T_EQ_INT(ccp_metrics_ready_age_ms(&cfg), 5000);
  ccp_config_release(&cfg);
}

int main(void) {
  T_RUN(test_write);
  T_RUN(test_ready);
  return T_DONE();
}
