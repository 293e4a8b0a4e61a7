/*
 * Partial aggregates (include/ccpulse/partial.h, src/counters/partial.h):
 * sharing one (a reference count), releasing one and reading its stream
 * time. Filled by src/engine/export.c, merged by src/publish/view.c. Any
 * thread; a reference belongs to one thread at a time.
 */
#include "counters/partial.h"

#include "ccpulse/common.h"

ccp_partial_t *ccp_partial_ref(ccp_partial_t *p) {
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  return p;
}

void ccp_partial_free(ccp_partial_t *p) {
  if (!p)
    return;
  /* acq_rel: the last holder sees every other holder's reads done */
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) > 0)
    return;
  for (int i = 0; i < p->nscopes; i++) {
    ccp_free(p->scopes[i].win); /* with the values and histogram bins */
    ccp_free(p->scopes[i].name);
  }
  ccp_free(p->scopes);
  ccp_free(p);
}

int64_t ccp_partial_now(const ccp_partial_t *p) { return p->now; }
