/*
 * Size-class string pool; see strpool.h. A block's class is found again from
 * the string's length (strlen + 1 rounded up to 16), so blocks carry no
 * header. Invariant: a block on free[c] is (c + 1) * 16 bytes and unused.
 */
#include "util/strpool.h"

#include <string.h>

#include "ccpulse/common.h"

#define CHUNK (64 * 1024)

void ccp_strpool_init(ccp_strpool_t *p) { memset(p, 0, sizeof *p); }

void ccp_strpool_release(ccp_strpool_t *p) {
  for (size_t i = 0; i < p->nchunks; i++)
    ccp_free(p->chunks[i]);
  ccp_free(p->chunks);
  memset(p, 0, sizeof *p);
}

static inline int class_of(size_t bytes) { return (int)((bytes + 15) / 16) - 1; }

char *ccp_strpool_dup(ccp_strpool_t *p, const char *s, size_t len) {
  int c = class_of(len + 1);
  if (c >= CCP_STRPOOL_CLASSES)
    return ccp_strndup(s, len);
  char *b = p->free[c];
  if (b) {
    memcpy(&p->free[c], b, sizeof(void *));
  } else {
    size_t sz = (size_t)(c + 1) * 16;
    if (p->cur_left < sz) {
      if (p->nchunks == p->chunks_cap) {
        p->chunks_cap = p->chunks_cap ? p->chunks_cap * 2 : 16;
        p->chunks = ccp_realloc(p->chunks, p->chunks_cap * sizeof *p->chunks);
      }
      p->cur = ccp_malloc(CHUNK);
      p->chunks[p->nchunks++] = p->cur;
      p->cur_left = CHUNK;
    }
    b = p->cur;
    p->cur += sz;
    p->cur_left -= sz;
  }
  memcpy(b, s, len);
  b[len] = 0;
  return b;
}

void ccp_strpool_free(ccp_strpool_t *p, char *s) {
  if (!s)
    return;
  int c = class_of(strlen(s) + 1);
  if (c >= CCP_STRPOOL_CLASSES) {
    ccp_free(s);
    return;
  }
  memcpy(s, &p->free[c], sizeof(void *));
  p->free[c] = s;
}
