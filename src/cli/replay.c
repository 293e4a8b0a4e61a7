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
 * Main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ccpulse/alerts.h"
#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/source.h"
#include "cli.h"

void ccp_cli_replay_usage(FILE *out) {
  fputs("usage: ccpulse replay [--config FILE] [--set key=value]... [--every DURATION]\n"
        "                      [--alerts FILE] FILE...\n"
        "\n"
        "Replays ticket events through the KPI engine, as one partition in file order,\n"
        "and prints the snapshot JSON document (one line) at the end.\n"
        "\n"
        "  FILE              Avro object container file (starts with \"Obj\\x01\") or\n"
        "                    JSON Lines (one event per line), found by content;\n"
        "                    '-' reads stdin\n"
        "  --config FILE     configuration file (key = value lines)\n"
        "  --set key=value   set one configuration key (repeatable; wins over the\n"
        "                    file and the CCPULSE_* environment)\n"
        "  --every DURATION  also print a snapshot each time stream time is about to\n"
        "                    cross a multiple of DURATION (e.g. 1m, 15m, 1h): the state\n"
        "                    before the event that crosses it\n"
        "  --alerts FILE     write one JSON line per SLA alert (sla_at_risk,\n"
        "                    sla_breach) to FILE\n"
        "\n"
        "Exit status: 0 success, 1 unreadable input or output (nothing is printed),\n"
        "2 usage or configuration error. Configuration keys: ccpulse help config.\n",
        out);
}

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
  const char *config_file = NULL, *every_text = NULL, *alerts_path = NULL, *v;
  char **sets = ccp_calloc((size_t)argc, sizeof *sets);
  char **files = ccp_calloc((size_t)argc, sizeof *files);
  int nsets = 0, nfiles = 0, rc = CCP_EXIT_USAGE, only_files = 0;
  int64_t every = 0;
  ccp_config_t cfg;
  int have_cfg = 0;
  replay_t r;
  memset(&r, 0, sizeof r);
  ccp_buf_init(&r.line);
  FILE *alerts_out = NULL, *snap_spool = NULL;
  ccp_source_t *src = NULL;
  char err[CCP_ERRBUF_SIZE];

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int m;
    if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
      files[nfiles++] = argv[i];
    } else if (strcmp(a, "--") == 0) {
      only_files = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      ccp_cli_replay_usage(stdout);
      rc = CCP_EXIT_OK;
      goto done;
    } else if ((m = ccp_cli_config_opt(argc, argv, &i, &config_file, sets, &nsets)) != 0) {
      if (m < 0)
        goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--every", &v)) != 0) {
      if (m < 0)
        goto done;
      every_text = v;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--alerts", &v)) != 0) {
      if (m < 0)
        goto done;
      alerts_path = v;
    } else {
      fprintf(stderr, "ccpulse replay: unknown option '%s'\nTry 'ccpulse replay --help'.\n", a);
      goto done;
    }
  }
  if (nfiles == 0) {
    fprintf(stderr, "ccpulse replay: no input file\nTry 'ccpulse replay --help'.\n");
    goto done;
  }
  if (every_text && (ccp_parse_duration(every_text, &every) != 0 || every <= 0)) {
    fprintf(stderr, "ccpulse replay: --every '%s': expected a positive duration (e.g. 5m)\n",
            every_text);
    goto done;
  }
  if ((rc = ccp_cli_load_config(&cfg, config_file, sets, nsets)) != 0)
    goto done;
  have_cfg = 1;
  r.engine = ccp_engine_new(&cfg, err, sizeof err);
  if (!r.engine) {
    fprintf(stderr, "ccpulse: %s\n", err);
    rc = CCP_EXIT_USAGE;
    goto done;
  }

  rc = CCP_EXIT_INPUT;
  if (alerts_path) {
    alerts_out = fopen(alerts_path, "w");
    if (!alerts_out) {
      fprintf(stderr, "ccpulse: cannot open alerts file '%s': %s\n", alerts_path, strerror(errno));
      goto done;
    }
    if (!(r.alerts = tmpfile())) {
      fprintf(stderr, "ccpulse: cannot create a temporary file: %s\n", strerror(errno));
      goto done;
    }
    ccp_engine_set_alert_cb(r.engine, on_alert, &r);
  }
  if (every && !(snap_spool = tmpfile())) {
    fprintf(stderr, "ccpulse: cannot create a temporary file: %s\n", strerror(errno));
    goto done;
  }

  for (int f = 0; f < nfiles; f++) {
    src = ccp_source_open(files[f], err, sizeof err);
    if (!src) {
      fprintf(stderr, "ccpulse: %s\n", err);
      goto done;
    }
    ccp_event_t ev;
    int n;
    while ((n = ccp_source_next(src, &ev, err, sizeof err)) == 0) {
      if (every) {
        /* INT64_MIN before the first event: nothing to print yet */
        int64_t now = ccp_engine_now(r.engine);
        if (now != INT64_MIN && ev.ts > now &&
            ccp_floordiv(ev.ts, every) > ccp_floordiv(now, every) &&
            write_snapshot(&r, snap_spool) != 0)
          r.io_error = 1;
      }
      ccp_engine_process(r.engine, &ev);
    }
    if (n != -CCP_EEOF) {
      fprintf(stderr, "ccpulse: %s\n", err);
      goto done;
    }
    ccp_source_free(src);
    src = NULL;
  }
  if (r.io_error) {
    fprintf(stderr, "ccpulse: cannot write a temporary file: %s\n", strerror(errno));
    goto done;
  }

  /* every input read: publish */
  if (r.alerts && (copy_spool(r.alerts, alerts_out) != 0 || fflush(alerts_out) != 0)) {
    fprintf(stderr, "ccpulse: cannot write alerts file '%s': %s\n", alerts_path, strerror(errno));
    goto done;
  }
  if ((snap_spool && copy_spool(snap_spool, stdout) != 0) || write_snapshot(&r, stdout) != 0 ||
      fflush(stdout) != 0) {
    fprintf(stderr, "ccpulse: cannot write the snapshots: %s\n", strerror(errno));
    goto done;
  }
  rc = CCP_EXIT_OK;

done:
  ccp_source_free(src);
  if (snap_spool)
    fclose(snap_spool);
  if (r.alerts)
    fclose(r.alerts);
  if (alerts_out && fclose(alerts_out) != 0 && rc == CCP_EXIT_OK) {
    fprintf(stderr, "ccpulse: cannot write alerts file '%s': %s\n", alerts_path, strerror(errno));
    rc = CCP_EXIT_INPUT;
  }
  ccp_engine_free(r.engine);
  if (have_cfg)
    ccp_config_release(&cfg);
  ccp_buf_release(&r.line);
  ccp_free(sets);
  ccp_free(files);
  return rc;
}
