/*
 * `ccpulse replay`: reads event files (JSON Lines or Avro container, by
 * content) in argument order through one engine - one partition - and prints
 * KPI snapshots (docs/replay.md).
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

#include "ccpulse/alerts.h"
#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/log.h"
#include "ccpulse/source.h"
#include "cli.h"

/* Arguments of `ccpulse replay`. */
typedef struct replay_args {
  ccp_cli_args_t base; /* first: --config, --set, the files */
  int64_t every;       /* --every in ms, 0 = only the final snapshot */
  const char *alerts;  /* --alerts FILE */
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
};

const ccp_cli_spec_t ccp_cli_replay_spec = {
    .name = "replay",
    .summary = "replay event files through the KPI engine and print snapshots",
    .about = "Replays ticket events through the KPI engine, as one partition in file order,\n"
             "and prints the snapshot JSON document (one line) at the end.",
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
  ccp_engine_t *engine;
  FILE *alerts;   /* spool of alert lines, NULL without --alerts */
  ccp_buf_t line; /* scratch */
  int io_error;   /* a spool write failed */
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

/* Appends the current snapshot and a newline to f. */
static int write_snapshot(replay_t *r, FILE *f) {
  ccp_buf_clear(&r->line);
  ccp_engine_snapshot_json(r->engine, &r->line);
  ccp_buf_putc(&r->line, '\n');
  return fwrite(r->line.data, 1, r->line.len, f) == r->line.len ? 0 : -1;
}

/* Applies the batched events in order and empties the batch. */
static void flush_batch(replay_t *r, ccp_event_batch_t *b) {
  ccp_engine_process_batch(r->engine, b->ev, b->n, NULL);
  ccp_event_batch_clear(b);
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

  /* decoded events are applied in batches (ccp_engine_process_batch) */
  ccp_event_batch_t *batch = ccp_malloc(sizeof *batch);
  ccp_event_batch_clear(batch);
  int64_t batch_now = INT64_MIN; /* engine stream time when the batch began */

  int rc = ccp_cli_parse(&ccp_cli_replay_spec, argc, argv, &args);
  if (rc != CCP_CLI_RUN)
    goto done;
  if ((rc = ccp_cli_load_config(&cfg, &args.base)) != 0)
    goto done;
  have_cfg = 1;
  r.engine = ccp_engine_new(&cfg, err, sizeof err);
  if (!r.engine) {
    ccp_log(CCP_LOG_ERROR, "replay", "%s", err);
    rc = CCP_EXIT_USAGE;
    goto done;
  }

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
    ccp_engine_set_alert_cb(r.engine, on_alert, &r);
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
      if (args.every) {
        /* Stream time only grows, so an event in the bucket of the stream
         * time the batch started at (or earlier) crosses no multiple: it may
         * join the batch. Else the batch is applied first and the event
         * checked against the stream time it leaves. */
        if (!(batch_now != INT64_MIN &&
              ccp_floordiv(ev.ts, args.every) <= ccp_floordiv(batch_now, args.every))) {
          flush_batch(&r, batch);
          batch_now = ccp_engine_now(r.engine);
          /* INT64_MIN before the first event: nothing to print yet */
          int64_t now = batch_now;
          if (now != INT64_MIN && ev.ts > now &&
              ccp_floordiv(ev.ts, args.every) > ccp_floordiv(now, args.every) &&
              write_snapshot(&r, snap_spool) != 0)
            r.io_error = 1;
        }
      }
      if (ccp_event_batch_add(batch, &ev) != 0) {
        flush_batch(&r, batch);
        batch_now = ccp_engine_now(r.engine);
        if (ccp_event_batch_add(batch, &ev) != 0)
          ccp_engine_process(r.engine, &ev); /* strings larger than a batch */
      }
    }
    flush_batch(&r, batch); /* before the source's buffers go */
    batch_now = ccp_engine_now(r.engine);
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
  if (ccp_engine_evicted(r.engine) > 0) /* the engine counts; the driver tells */
    ccp_log(CCP_LOG_WARN, "replay",
            "ticket cap tickets.max=%lld reached: %lld least recently active tickets evicted "
            "(diagnostics.evicted_tickets)",
            (long long)cfg.max_tickets, (long long)ccp_engine_evicted(r.engine));
  rc = CCP_EXIT_OK;

done:
  ccp_free(batch);
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
  ccp_engine_free(r.engine);
  if (have_cfg)
    ccp_config_release(&cfg);
  ccp_buf_release(&r.line);
  ccp_cli_args_release(&args.base);
  return rc;
}
