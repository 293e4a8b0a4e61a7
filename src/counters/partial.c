/*
 * Partial aggregates (include/ccpulse/partial.h, src/counters/partial.h):
 * releasing one and reading its stream time. Filled by src/engine/export.c,
 * merged by src/publish/view.c. Any thread, one at a time per partial.
 */
#include "counters/partial.h"

#include "ccpulse/common.h"

void ccp_partial_free(ccp_partial_t *p) {
  if (!p)
    return;
  for (int i = 0; i < p->nscopes; i++) {
    ccp_free(p->scopes[i].win); /* with the values and histogram bins */
    ccp_free(p->scopes[i].name);
  }
  ccp_free(p->scopes);
  ccp_free(p);
}

int64_t ccp_partial_now(const ccp_partial_t *p) { return p->now; }
