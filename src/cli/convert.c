/*
 * `ccpulse convert IN OUT`: JSON Lines or an Avro container (any compatible
 * writer schema) in, an Avro object container file with the v1 schema out.
 * Fields outside v1 (e.g. v2's language) are not carried over.
 *
 * The output is written to "OUT.partial" and renamed over OUT only when the
 * whole input converted: a failed run leaves no half file behind. OUT '-'
 * writes to stdout (then a failure may leave partial bytes there).
 *
 * Main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccpulse/log.h"
#include "ccpulse/ocf.h"
#include "ccpulse/source.h"
#include "cli.h"

/* Arguments of `ccpulse convert`. */
typedef struct convert_args {
  ccp_cli_args_t base; /* first: IN and OUT */
  int codec;           /* CCP_OCF_* */
  int64_t block;       /* --block-size, 0 = the writer's default */
} convert_args_t;

static int parse_codec(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                       size_t errlen) {
  int c = ccp_ocf_codec_parse(value);
  if (c < 0) {
    snprintf(err, errlen, "expected deflate or null");
    return -1;
  }
  *(int *)target = c;
  return 0;
}

static const ccp_cli_opt_t convert_opts[] = {
    {"--codec", "C", parse_codec, offsetof(convert_args_t, codec),
     .help = "block codec: deflate (default) or null"},
    {"--block-size", "N", ccp_cli_int, offsetof(convert_args_t, block), .lo = 1, .hi = 1 << 30,
     .help = "uncompressed bytes per block (default 65536)"},
};

const ccp_cli_spec_t ccp_cli_convert_spec = {
    .name = "convert",
    .summary = "convert JSON Lines or Avro events to an Avro container file (v1 schema)",
    .about = "Converts ticket events from JSON Lines or an Avro object container file\n"
             "(format found by content; IN '-' reads stdin) into an Avro\n"
             "object container file with the v1 schema (schemas/ticket_event.avsc).\n"
             "OUT '-' writes to stdout.",
    .opts = convert_opts,
    .nopts = CCP_ARRAY_LEN(convert_opts),
    .operands = "IN OUT",
    .min_operands = 2,
    .max_operands = 2,
    .missing = "expected IN and OUT",
    .epilog = "Exit status: 0 success, 1 unreadable input or output (OUT is left\n"
              "untouched), 2 usage error.",
};

int ccp_cli_convert(int argc, char **argv) {
  convert_args_t args = {.codec = CCP_OCF_DEFLATE};
  const char *in, *out;
  char err[CCP_ERRBUF_SIZE];
  char *partial = NULL;
  FILE *f = NULL;
  ccp_source_t *src = NULL;
  ccp_ocf_writer_t *w = NULL;

  int rc = ccp_cli_parse(&ccp_cli_convert_spec, argc, argv, &args);
  if (rc != CCP_CLI_RUN)
    goto done;
  in = args.base.operands[0];
  out = args.base.operands[1];

  rc = CCP_EXIT_INPUT;
  src = ccp_source_open(in, err, sizeof err);
  if (!src) {
    ccp_log(CCP_LOG_ERROR, "convert", "%s", err);
    goto done;
  }
  if (strcmp(out, "-") == 0) {
    f = stdout;
  } else {
    size_t n = strlen(out) + sizeof ".partial";
    partial = ccp_malloc(n);
    snprintf(partial, n, "%s.partial", out);
    if (!(f = fopen(partial, "wb"))) {
      ccp_log(CCP_LOG_ERROR, "convert", "cannot create '%s': %s", partial, strerror(errno));
      goto done;
    }
  }
  ccp_ocf_writer_opts_t o = {.codec = args.codec, .block_bytes = (size_t)args.block};
  if (!(w = ccp_ocf_writer_new(f, NULL, &o, err, sizeof err))) {
    ccp_log(CCP_LOG_ERROR, "convert", "'%s': %s", out, err);
    goto done;
  }
  ccp_event_t ev;
  int n;
  while ((n = ccp_source_next(src, &ev, err, sizeof err)) == 0) {
    if (ccp_ocf_writer_append(w, &ev) != 0) {
      ccp_log(CCP_LOG_ERROR, "convert", "cannot write '%s': %s", out, strerror(errno));
      goto done;
    }
  }
  if (n != -CCP_EEOF) {
    ccp_log(CCP_LOG_ERROR, "convert", "%s", err);
    goto done;
  }
  int wrc = ccp_ocf_writer_close(w);
  w = NULL;
  if (f != stdout) {
    if (fclose(f) != 0)
      wrc = -CCP_EIO;
    f = NULL;
  } else if (fflush(stdout) != 0) {
    wrc = -CCP_EIO;
  }
  if (wrc != 0) {
    ccp_log(CCP_LOG_ERROR, "convert", "cannot write '%s': %s", out, strerror(errno));
    goto done;
  }
  if (partial) {
    if (rename(partial, out) != 0) {
      ccp_log(CCP_LOG_ERROR, "convert", "cannot rename '%s' to '%s': %s", partial, out,
              strerror(errno));
      goto done;
    }
    ccp_free(partial);
    partial = NULL;
  }
  rc = CCP_EXIT_OK;

done:
  if (w)
    ccp_ocf_writer_close(w);
  if (f && f != stdout)
    fclose(f);
  if (partial) {
    unlink(partial);
    ccp_free(partial);
  }
  ccp_source_free(src);
  ccp_cli_args_release(&args.base);
  return rc;
}
