/*
 * Checkpoint byte reader; see ser.h. Only the failure path lives here (the
 * reads are inline): the first message wins, later ones would only repeat
 * the consequences of the first.
 */
#include "util/ser.h"

#include <stdarg.h>
#include <stdio.h>

void ccp_ser_rd_init(ccp_ser_rd_t *r, const void *data, size_t len) {
  memset(r, 0, sizeof *r);
  r->p = data;
  r->left = len;
  r->section = "header";
}

int ccp_ser_fail(ccp_ser_rd_t *r, const char *fmt, ...) {
  if (!r->bad) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
  }
  r->bad = 1;
  return 0;
}
