/*
 * bench_null_consumer: the ceiling of consuming a topic on this machine.
 *
 * A librdkafka consumer group member with the consumer settings `ccpulse run`
 * uses (src/consume/consumer.c: cooperative-sticky assignment, earliest
 * offsets, no auto commit, no auto offset store; fetch settings are
 * librdkafka's defaults there too, and -X passes any key the same way
 * kafka.<key> does for run) that reads every message of a topic and discards
 * it, until it has seen N messages (--events) or, without --events, until
 * every assigned partition reached its end. Prints one JSON line:
 *   {"events":N,"seconds":S,"eps":R,"bytes":B}
 * where seconds run from the first message to the last (group join and
 * metadata are not counted; "join_seconds" gives them, "total_seconds" is
 * from start to the last message, as bench/run times `ccpulse run`;
 * "cpu_seconds" the process's user + system CPU from its start to then).
 *
 *   bench_null_consumer --brokers B --topic T [--events N] [--group G]
 *                       [--timeout S] [--no-nudge] [-X key=value]...
 *
 * Fetch nudges: like `ccpulse run` (src/consume/consumer.c, nudge_fetchers;
 * docs/live.md "Full queues"), so that this is the most any consumer of the
 * topic can read and not librdkafka 2.0.2's full-queue wait (#2879): once
 * the consumer queue (every partition forwards into it) holds about
 * queued.min.messages, librdkafka stops fetching and looks again only when
 * its broker thread wakes up, up to a second later. Every NUDGE_EVERY
 * messages the loop looks at the queue's length; when it was within
 * NUDGE_EVERY of the bound and is below it again, it asks the leaders for
 * the assigned partitions' end offsets (rd_kafka_offsets_for_times, answer
 * unused), which wakes their broker threads to fetch. "nudges" in the JSON
 * counts them; --no-nudge leaves librdkafka's wait in (the old baseline).
 *
 * Threads: main thread only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/resource.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/clock.h"

/* messages between two looks at the consumer queue's length, and the margin
 * below queued.min.messages at which it counts as full */
#define NUDGE_EVERY 64
/* how long a nudge waits for the end offsets (its answer is not used) */
#define NUDGE_TIMEOUT_MS 200

/* Wakes the broker threads of rk's assigned partitions: a ListOffsets
 * request for their ends goes to each leader's thread. */
static void nudge_fetchers(rd_kafka_t *rk) {
  rd_kafka_topic_partition_list_t *l = NULL;
  if (rd_kafka_assignment(rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR || !l)
    return;
  for (int i = 0; i < l->cnt; i++)
    l->elems[i].offset = RD_KAFKA_OFFSET_END;
  if (l->cnt > 0)
    rd_kafka_offsets_for_times(rk, l, NUDGE_TIMEOUT_MS);
  rd_kafka_topic_partition_list_destroy(l);
}

static void usage(void) {
  fputs("usage: bench_null_consumer --brokers B --topic T [--events N] [--group G]\n"
        "                           [--timeout S] [--no-nudge] [-X key=value]...\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv) {
  const char *brokers = NULL, *topic = NULL;
  char group[128];
  snprintf(group, sizeof group, "bench-null-%ld", (long)time(NULL));
  long long want = 0;
  double timeout = 600;
  int nudge = 1;
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  static const char *const settings[][2] = {
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"auto.offset.reset", "earliest"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
  };
  for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
    rd_kafka_conf_set(conf, settings[i][0], settings[i][1], err, sizeof err);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--no-nudge") == 0) {
      nudge = 0;
      continue;
    }
    if (i + 1 >= argc)
      usage();
    const char *a = argv[i], *v = argv[++i];
    if (strcmp(a, "--brokers") == 0) {
      brokers = v;
    } else if (strcmp(a, "--topic") == 0) {
      topic = v;
    } else if (strcmp(a, "--events") == 0) {
      want = atoll(v);
    } else if (strcmp(a, "--group") == 0) {
      snprintf(group, sizeof group, "%s", v);
    } else if (strcmp(a, "--timeout") == 0) {
      timeout = atof(v);
    } else if (strcmp(a, "-X") == 0) {
      char kv[512];
      snprintf(kv, sizeof kv, "%s", v);
      char *eq = strchr(kv, '=');
      if (!eq)
        usage();
      *eq = 0;
      if (rd_kafka_conf_set(conf, kv, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench_null_consumer: -X '%s': %s\n", v, err);
        return 2;
      }
    } else {
      usage();
    }
  }
  if (!brokers || !topic)
    usage();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) ||
      rd_kafka_conf_set(conf, "group.id", group, err, sizeof err) ||
      (want == 0 && rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err))) {
    fprintf(stderr, "bench_null_consumer: %s\n", err);
    return 2;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "bench_null_consumer: cannot create a Kafka consumer: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);
  int qmin = 0;
  char qv[32];
  size_t qv_len = sizeof qv;
  if (nudge &&
      rd_kafka_conf_get(rd_kafka_conf(rk), "queued.min.messages", qv, &qv_len) == RD_KAFKA_CONF_OK)
    qmin = atoi(qv);
  rd_kafka_queue_t *cq = rd_kafka_queue_get_consumer(rk);
  rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, subs);
  rd_kafka_topic_partition_list_destroy(subs);
  if (e) {
    fprintf(stderr, "bench_null_consumer: cannot subscribe to '%s': %s\n", topic,
            rd_kafka_err2str(e));
    rd_kafka_destroy(rk);
    return 1;
  }

  /* partitions at their end (enable.partition.eof mode); the topic's count
   * comes from metadata */
  int nparts = 0, neof = 0;
  const rd_kafka_metadata_t *md;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1)
      nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(rkt);
  char *eof = calloc((size_t)(nparts > 0 ? nparts : 1), 1);

  double t_start = ccp_clock_mono_s(), t_first = 0, t_last = 0;
  long long n = 0, bytes = 0, nudges = 0;
  int rc = 0, full = 0;
  for (;;) {
    if (want && n >= want)
      break;
    if (!want && nparts > 0 && neof >= nparts)
      break;
    if (ccp_clock_mono_s() - t_start > timeout) {
      fprintf(stderr, "bench_null_consumer: timeout after %.0f s with %lld messages\n", timeout, n);
      rc = 1;
      break;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m)
      continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->partition >= 0 && m->partition < nparts && !eof[m->partition]) {
        eof[m->partition] = 1;
        neof++;
      }
    } else if (m->err) {
      fprintf(stderr, "bench_null_consumer: %s\n", rd_kafka_message_errstr(m));
    } else {
      if (n++ == 0)
        t_first = ccp_clock_mono_s();
      bytes += (long long)m->len;
      t_last = ccp_clock_mono_s();
      if (qmin > 0 && n % NUDGE_EVERY == 0) {
        int64_t len = (int64_t)rd_kafka_queue_length(cq);
        if (len >= qmin - NUDGE_EVERY) {
          full = 1;
        } else if (full) {
          full = 0;
          nudge_fetchers(rk);
          nudges++;
        }
      }
    }
    rd_kafka_message_destroy(m);
  }
  double secs = t_last - t_first;
  /* CPU of the whole process (user + system, all threads) from its start to
   * here: the per-core figure bench/run sets beside ccpulse run's */
  struct rusage ru;
  double cpu = 0;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
          ru.ru_stime.tv_usec / 1e6;
  printf("{\"events\":%lld,\"seconds\":%.3f,\"eps\":%.0f,\"bytes\":%lld,\"join_seconds\":%.3f,"
         "\"total_seconds\":%.3f,\"partitions\":%d,\"cpu_seconds\":%.3f,\"nudges\":%lld}\n",
         n, secs, secs > 0 ? (double)n / secs : 0.0, bytes, t_first > 0 ? t_first - t_start : 0.0,
         t_last > 0 ? t_last - t_start : 0.0, nparts, cpu, nudges);
  fflush(stdout);
  free(eof);
  rd_kafka_queue_destroy(cq);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return rc;
}
