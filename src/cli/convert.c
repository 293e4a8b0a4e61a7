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

#include "ccpulse/ocf.h"
#include "ccpulse/source.h"
#include "cli.h"

void ccp_cli_convert_usage(FILE *out) {
  fputs("usage: ccpulse convert [--codec deflate|null] [--block-size BYTES] IN OUT\n"
        "\n"
        "Converts ticket events from JSON Lines or an Avro object container file\n"
        "(format found by content; IN '-' reads stdin) into an Avro\n"
        "object container file with the v1 schema (schemas/ticket_event.avsc).\n"
        "OUT '-' writes to stdout.\n"
        "\n"
        "  --codec C         block codec: deflate (default) or null\n"
        "  --block-size N    uncompressed bytes per block (default 65536)\n"
        "\n"
        "Exit status: 0 success, 1 unreadable input or output (OUT is left\n"
        "untouched), 2 usage error.\n",
        out);
}

int ccp_cli_convert(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *v;
  int codec = CCP_OCF_DEFLATE, only_files = 0, rc = CCP_EXIT_USAGE;
  long long block = 0;
  char err[CCP_ERRBUF_SIZE];
  char *partial = NULL;
  FILE *f = NULL;
  ccp_source_t *src = NULL;
  ccp_ocf_writer_t *w = NULL;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int m;
    if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
      if (!in)
        in = a;
      else if (!out)
        out = a;
      else {
        fprintf(stderr, "ccpulse convert: too many arguments\nTry 'ccpulse convert --help'.\n");
        goto done;
      }
    } else if (strcmp(a, "--") == 0) {
      only_files = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      ccp_cli_convert_usage(stdout);
      rc = CCP_EXIT_OK;
      goto done;
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--codec", &v)) != 0) {
      if (m < 0)
        goto done;
      if ((codec = ccp_ocf_codec_parse(v)) < 0) {
        fprintf(stderr, "ccpulse convert: --codec '%s': expected deflate or null\n", v);
        goto done;
      }
    } else if ((m = ccp_cli_opt(argc, argv, &i, "--block-size", &v)) != 0) {
      if (m < 0)
        goto done;
      char *end;
      errno = 0;
      block = strtoll(v, &end, 10);
      if (errno || *end || block < 1 || block > (1LL << 30)) {
        fprintf(stderr, "ccpulse convert: --block-size '%s': expected 1..1073741824 bytes\n", v);
        goto done;
      }
    } else {
      fprintf(stderr, "ccpulse convert: unknown option '%s'\nTry 'ccpulse convert --help'.\n", a);
      goto done;
    }
  }
  if (!in || !out) {
    fprintf(stderr, "ccpulse convert: expected IN and OUT\nTry 'ccpulse convert --help'.\n");
    goto done;
  }

  rc = CCP_EXIT_INPUT;
  src = ccp_source_open(in, err, sizeof err);
  if (!src) {
    fprintf(stderr, "ccpulse: %s\n", err);
    goto done;
  }
  if (strcmp(out, "-") == 0) {
    f = stdout;
  } else {
    size_t n = strlen(out) + sizeof ".partial";
    partial = ccp_malloc(n);
    snprintf(partial, n, "%s.partial", out);
    if (!(f = fopen(partial, "wb"))) {
      fprintf(stderr, "ccpulse: cannot create '%s': %s\n", partial, strerror(errno));
      goto done;
    }
  }
  ccp_ocf_writer_opts_t o = {.codec = codec, .block_bytes = (size_t)block};
  if (!(w = ccp_ocf_writer_new(f, NULL, &o, err, sizeof err))) {
    fprintf(stderr, "ccpulse: '%s': %s\n", out, err);
    goto done;
  }
  ccp_event_t ev;
  int n;
  while ((n = ccp_source_next(src, &ev, err, sizeof err)) == 0) {
    if (ccp_ocf_writer_append(w, &ev) != 0) {
      fprintf(stderr, "ccpulse: cannot write '%s': %s\n", out, strerror(errno));
      goto done;
    }
  }
  if (n != -CCP_EEOF) {
    fprintf(stderr, "ccpulse: %s\n", err);
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
    fprintf(stderr, "ccpulse: cannot write '%s': %s\n", out, strerror(errno));
    goto done;
  }
  if (partial) {
    if (rename(partial, out) != 0) {
      fprintf(stderr, "ccpulse: cannot rename '%s' to '%s': %s\n", partial, out, strerror(errno));
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
  return rc;
}
