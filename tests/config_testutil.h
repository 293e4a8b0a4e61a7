/*
 * Test helpers shared by the tests that need the default configuration and
 * views of one engine (test_rules.c, test_redis_pub.c), and config files
 * (test_config.c, test_config_secrets.c). Header-only.
 */
#ifndef CCP_CONFIG_TESTUTIL_H
#define CCP_CONFIG_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ccpulse/config.h"
#include "ccpulse/engine.h"
#include "ccpulse/tz.h"
#include "ccpulse/view.h"

/** Fills cfg with the finished default configuration and makes its time zone
 * the process zone (ccp_tz_use: call before any thread starts); ends the test
 * binary with exit status 1 when that fails. Release it with
 * ccp_config_release(). */
static inline void tu_default_config(ccp_config_t *cfg) {
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(cfg);
  if (ccp_config_finish(cfg, err, sizeof err) != 0 ||
      ccp_tz_use(cfg->timezone, err, sizeof err) != 0) {
    fprintf(stderr, "config: %s\n", err);
    exit(1);
  }
}

/** Writes text to a new file /tmp/ccp_test_config_XXXXXX; returns its path
 * (a static buffer, overwritten by the next call), NULL when it cannot. */
static inline char *tu_write_tmp(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/ccp_test_config_XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0)
    return NULL;
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

/** A view of one engine advanced to `now` (deadlines and TTL fire, as for a
 * partition read to its end) and exported at it; the caller frees it with
 * ccp_view_free(). */
static inline ccp_view_t *tu_view_of(const ccp_config_t *cfg, ccp_engine_t *e, int64_t now) {
  ccp_view_t *v = ccp_view_new(cfg);
  ccp_engine_advance(e, now);
  ccp_partial_t *p = ccp_engine_export(e, now);
  ccp_view_merge(v, p);
  ccp_partial_free(p);
  return v;
}

#endif
