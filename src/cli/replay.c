/*
 * `ccpulse replay`: reads event files (JSON Lines or Avro container, by
 * content) in argument order through one engine - one partition - and prints
 * KPI snapshots (docs/replay.md).
 *
 * --partitions N (N > 1): each event goes to the engine of the partition a
 * Kafka producer of `ccpulse produce` / `ccpulse gen` sends it to (keyed by
 * ticket_id; librdkafka's default partitioner, consistent_random, called
 * through its exported function), each engine with its own stream time and
 * no advance between them (docs/kpis.md §2). A snapshot exports every
 * engine at the largest stream time G and merges the partials into one view
 * (src/publish/view.c), as the live publisher does, rendered by the same
 * code as the live snapshot. N = 1 takes the one engine's own snapshot.
 *
 * Determinism: the output depends only on the events, the configuration and
 * the options; the engine is driven by event time only (no wall clock).
 *
 * All-or-nothing output: with --every the snapshots, and the alerts, are
 * spooled to anonymous temporary files and copied to stdout / the alerts file
 * only once every input was read without error. An unreadable input therefore
 * leaves stdout empty (exit 1).
 *
 * Events are decoded into batches (ccp_event_batch_t) and applied with
 * ccp_engine_process_batch(), which gives the same result as one call per
 * event; with --every a batch is cut before any event that may cross a
 * multiple, so each snapshot still sees the state before that event.
 *
 * Main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/alerts.h"
#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/log.h"
#include "ccpulse/partial.h"
#include "ccpulse/source.h"
#include "ccpulse/view.h"
#include "cli.h"

/* Arguments of `ccpulse replay`. */
typedef struct replay_args {
  ccp_cli_args_t base; /* first: --config, --set, the files */
  int64_t every;       /* --every in ms, 0 = only the final snapshot */
  const char *alerts;  /* --alerts FILE */
  int64_t partitions;  /* --partitions N; 0: 1 */
} replay_args_t;

static const ccp_cli_opt_t replay_opts[] = {
    CCP_CLI_CONFIG_OPTS,
    {"--every", "DURATION", ccp_cli_duration, offsetof(replay_args_t, every),
     .help = "also print a snapshot each time stream time is about to\n"
             "cross a multiple of DURATION (e.g. 1m, 15m, 1h): the state\n"
             "before the event that crosses it"},
    {"--alerts", "FILE", ccp_cli_str, offsetof(replay_args_t, alerts),
     .help = "write one JSON line per SLA alert (sla_at_risk,\n"
             "sla_breach) to FILE"},
    {"--partitions", "N", ccp_cli_int, offsetof(replay_args_t, partitions), .lo = 1, .hi = 1000,
     .help = "route the events to N partitions as a Kafka producer keyed\n"
             "by ticket_id does (librdkafka's default partitioner), each\n"
             "with its own stream time, and merge them as `ccpulse run`\n"
             "does (default 1)"},
};

const ccp_cli_spec_t ccp_cli_replay_spec = {
    .name = "replay",
    .summary = "replay event files through the KPI engine and print snapshots",
    .about = "Replays ticket events through the KPI engine, as one partition in file order\n"
             "(--partitions N: as N Kafka partitions keyed by ticket_id), and prints the\n"
             "snapshot JSON document (one line) at the end.",
    .opts = replay_opts,
    .nopts = CCP_ARRAY_LEN(replay_opts),
    .operands = "FILE...",
    .operand_help = "FILE Avro object container file (starts with \"Obj\\x01\") or\n"
                    "JSON Lines (one event per line), found by content;\n"
                    "'-' reads stdin",
    .min_operands = 1,
    .max_operands = -1,
    .missing = "no input file",
    .epilog = "Exit status: 0 success, 1 unreadable input or output (nothing is printed),\n"
              "2 usage or configuration error. Configuration keys: ccpulse help config.",
};

typedef struct replay {
  int n;                     /* partitions */
  ccp_engine_t **engines;    /* n */
  ccp_event_batch_t **batch; /* n: decoded events not yet applied, per engine */
  ccp_view_t *view;          /* n > 1: the merged view of a snapshot */
  FILE *alerts;              /* spool of alert lines, NULL without --alerts */
  ccp_buf_t line;            /* scratch */
  int io_error;              /* a spool write failed */
} replay_t;

/* Engine alert callback: one JSON line into the alert spool, in the same
 * form (and with the same stable id) as the live pipeline's alerts. */
static void on_alert(void *opaque, const ccp_alert_t *a) {
  replay_t *r = opaque;
  ccp_buf_t *b = &r->line;
  ccp_buf_clear(b);
  ccp_alert_json(a, b);
  ccp_buf_putc(b, '\n');
  if (fwrite(b->data, 1, b->len, r->alerts) != b->len)
    r->io_error = 1;
}

/* The partition of an event: the one librdkafka's default partitioner
 * (consistent_random: CRC32 of the key modulo the partition count) gives a
 * message keyed by its ticket_id. An empty key is sent to a random
 * partition by a producer; here to partition 0. */
static int route(const replay_t *r, const ccp_event_t *ev) {
  if (r->n == 1 || ev->ticket_id.len == 0)
    return 0;
  /* the topic handle and opaques are not used for a keyed message */
  return (int)rd_kafka_msg_partitioner_consistent_random(NULL, ev->ticket_id.ptr, ev->ticket_id.len,
                                                         r->n, NULL, NULL);
}

/* The largest stream time over the partitions (INT64_MIN: no event yet). */
static int64_t stream_now(const replay_t *r) {
  int64_t g = INT64_MIN;
  for (int i = 0; i < r->n; i++)
    g = CCP_MAX(g, ccp_engine_now(r->engines[i]));
  return g;
}

/* Appends the current snapshot and a newline to f. Several partitions:
 * every engine exported at G and merged, as the live publisher does. */
static int write_snapshot(replay_t *r, FILE *f) {
  ccp_buf_clear(&r->line);
  if (r->n == 1) {
    ccp_engine_snapshot_json(r->engines[0], &r->line);
  } else {
    int64_t g = stream_now(r);
    ccp_view_reset(r->view);
    for (int i = 0; i < r->n; i++) {
      ccp_partial_t *p = ccp_engine_export(r->engines[i], g);
      ccp_view_merge(r->view, p);
      ccp_partial_free(p);
    }
    ccp_view_snapshot_json(r->view, &r->line);
  }
  ccp_buf_putc(&r->line, '\n');
  return fwrite(r->line.data, 1, r->line.len, f) == r->line.len ? 0 : -1;
}

/* Applies partition k's batched events in order and empties its batch. */
static void flush_batch(replay_t *r, int k) {
  ccp_event_batch_t *b = r->batch[k];
  ccp_engine_process_batch(r->engines[k], b->ev, b->n, NULL);
  ccp_event_batch_clear(b);
}

/* Applies every partition's batched events. */
static void flush_all(replay_t *r) {
  for (int k = 0; k < r->n; k++)
    flush_batch(r, k);
}

/* Copies a spool to out from its start. */
static int copy_spool(FILE *spool, FILE *out) {
  char buf[1 << 16];
  if (fflush(spool) != 0 || fseek(spool, 0, SEEK_SET) != 0)
    return -1;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, spool)) > 0)
    if (fwrite(buf, 1, n, out) != n)
      return -1;
  return ferror(spool) ? -1 : 0;
}

int ccp_cli_replay(int argc, char **argv) {
  replay_args_t args = {0};
  ccp_config_t cfg;
  int have_cfg = 0;
  replay_t r;
  memset(&r, 0, sizeof r);
  ccp_buf_init(&r.line);
  FILE *alerts_out = NULL, *snap_spool = NULL;
  ccp_source_t *src = NULL;
  char err[CCP_ERRBUF_SIZE];

  /* stream time (the largest over the partitions) when every batch was
   * last applied, or a lower bound of it */
  int64_t batch_now = INT64_MIN;

  int rc = ccp_cli_parse(&ccp_cli_replay_spec, argc, argv, &args);
  if (rc != CCP_CLI_RUN)
    goto done;
  if ((rc = ccp_cli_load_config(&cfg, &args.base)) != 0)
    goto done;
  have_cfg = 1;
  r.n = args.partitions > 1 ? (int)args.partitions : 1;
  r.engines = ccp_calloc((size_t)r.n, sizeof *r.engines);
  r.batch = ccp_calloc((size_t)r.n, sizeof *r.batch);
  for (int k = 0; k < r.n; k++) {
    /* decoded events are applied in batches (ccp_engine_process_batch) */
    r.batch[k] = ccp_malloc(sizeof *r.batch[k]);
    ccp_event_batch_clear(r.batch[k]);
    if (!(r.engines[k] = ccp_engine_new(&cfg, err, sizeof err))) {
      ccp_log(CCP_LOG_ERROR, "replay", "%s", err);
      rc = CCP_EXIT_USAGE;
      goto done;
    }
  }
  if (r.n > 1)
    r.view = ccp_view_new(&cfg);

  rc = CCP_EXIT_INPUT;
  if (args.alerts) {
    alerts_out = fopen(args.alerts, "w");
    if (!alerts_out) {
      ccp_log(CCP_LOG_ERROR, "replay", "cannot open alerts file '%s': %s", args.alerts,
              strerror(errno));
      goto done;
    }
    if (!(r.alerts = tmpfile())) {
      ccp_log(CCP_LOG_ERROR, "replay", "cannot create a temporary file: %s", strerror(errno));
      goto done;
    }
    for (int k = 0; k < r.n; k++)
      ccp_engine_set_alert_cb(r.engines[k], on_alert, &r);
  }
  if (args.every && !(snap_spool = tmpfile())) {
    ccp_log(CCP_LOG_ERROR, "replay", "cannot create a temporary file: %s", strerror(errno));
    goto done;
  }

  for (int f = 0; f < args.base.noperands; f++) {
    src = ccp_source_open(args.base.operands[f], err, sizeof err);
    if (!src) {
      ccp_log(CCP_LOG_ERROR, "replay", "%s", err);
      goto done;
    }
    ccp_event_t ev;
    int n;
    while ((n = ccp_source_next(src, &ev, err, sizeof err)) == 0) {
      int k = route(&r, &ev);
      if (args.every) {
        /* Stream time only grows, so an event in the bucket of the stream
         * time the batch started at (or earlier) crosses no multiple: it may
         * join the batch. Else the batch is applied first and the event
         * checked against the stream time it leaves. */
        if (!(batch_now != INT64_MIN &&
              ccp_floordiv(ev.ts, args.every) <= ccp_floordiv(batch_now, args.every))) {
          flush_all(&r);
          batch_now = stream_now(&r);
          /* INT64_MIN before the first event: nothing to print yet */
          int64_t now = batch_now;
          if (now != INT64_MIN && ev.ts > now &&
              ccp_floordiv(ev.ts, args.every) > ccp_floordiv(now, args.every) &&
              write_snapshot(&r, snap_spool) != 0)
            r.io_error = 1;
        }
      }
      if (ccp_event_batch_add(r.batch[k], &ev) != 0) {
        flush_batch(&r, k);
        batch_now = stream_now(&r); /* a lower bound while others wait */
        if (ccp_event_batch_add(r.batch[k], &ev) != 0)
          ccp_engine_process(r.engines[k], &ev); /* strings larger than a batch */
      }
    }
    flush_all(&r); /* before the source's buffers go */
    batch_now = stream_now(&r);
    if (n != -CCP_EEOF) {
      ccp_log(CCP_LOG_ERROR, "replay", "%s", err);
      goto done;
    }
    ccp_source_free(src);
    src = NULL;
  }
  if (r.io_error) {
    ccp_log(CCP_LOG_ERROR, "replay", "cannot write a temporary file: %s", strerror(errno));
    goto done;
  }

  /* every input read: publish */
  if (r.alerts && (copy_spool(r.alerts, alerts_out) != 0 || fflush(alerts_out) != 0)) {
    ccp_log(CCP_LOG_ERROR, "replay", "cannot write alerts file '%s': %s", args.alerts,
            strerror(errno));
    goto done;
  }
  if ((snap_spool && copy_spool(snap_spool, stdout) != 0) || write_snapshot(&r, stdout) != 0 ||
      fflush(stdout) != 0) {
    ccp_log(CCP_LOG_ERROR, "replay", "cannot write the snapshots: %s", strerror(errno));
    goto done;
  }
  int64_t evicted = 0, refused = 0; /* the engines count; the driver tells */
  for (int k = 0; k < r.n; k++) {
    evicted += ccp_engine_evicted(r.engines[k]);
    refused += ccp_engine_dedup_refused(r.engines[k]);
  }
  if (evicted > 0)
    ccp_log(CCP_LOG_WARN, "replay",
            "ticket cap tickets.max=%lld reached: %lld least recently active tickets evicted "
            "(diagnostics.evicted_tickets)",
            (long long)cfg.max_tickets, (long long)evicted);
  if (refused > 0)
    ccp_log(CCP_LOG_WARN, "replay",
            "duplicate filter full (dedup.max=%lld): %lld new event id(s) not remembered "
            "(their duplicates are not caught)",
            (long long)cfg.max_dedup, (long long)refused);
  rc = CCP_EXIT_OK;

done:
  ccp_source_free(src);
  if (snap_spool)
    fclose(snap_spool);
  if (r.alerts)
    fclose(r.alerts);
  if (alerts_out && fclose(alerts_out) != 0 && rc == CCP_EXIT_OK) {
    ccp_log(CCP_LOG_ERROR, "replay", "cannot write alerts file '%s': %s", args.alerts,
            strerror(errno));
    rc = CCP_EXIT_INPUT;
  }
  for (int k = 0; r.engines && k < r.n; k++) {
    ccp_engine_free(r.engines[k]);
    ccp_free(r.batch[k]);
  }
  ccp_free(r.engines);
  ccp_free(r.batch);
  ccp_view_free(r.view);
  if (have_cfg)
    ccp_config_release(&cfg);
  ccp_buf_release(&r.line);
  ccp_cli_args_release(&args.base);
  return rc;
}
