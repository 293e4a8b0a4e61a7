/*
 * Pool of small NUL-terminated strings in size classes of 16 bytes (up to
 * 256), carved from 64 KiB chunks and recycled through per-class free lists,
 * so keeping and dropping ids on a hot path never calls malloc once the pool
 * has warmed up. Longer strings fall back to ccp_malloc.
 *
 * Single-threaded: a pool belongs to its embedder (one engine).
 */
#ifndef CCP_STRPOOL_H
#define CCP_STRPOOL_H

#include <stddef.h>

#define CCP_STRPOOL_CLASSES 16 /* 16, 32, ... 256 bytes */

typedef struct ccp_strpool {
  void *free[CCP_STRPOOL_CLASSES]; /**< free blocks per class, linked through their first bytes */
  void **chunks;                   /**< chunks to free at release */
  size_t nchunks, chunks_cap;
  char *cur; /**< unused tail of the newest chunk */
  size_t cur_left;
} ccp_strpool_t;

/** Initialises an empty pool. */
void ccp_strpool_init(ccp_strpool_t *p);
/** Frees every chunk (and so every string of the pool). */
void ccp_strpool_release(ccp_strpool_t *p);
/** Copies s[0..len) into the pool as a NUL-terminated string. */
char *ccp_strpool_dup(ccp_strpool_t *p, const char *s, size_t len);
/** Gives a string from ccp_strpool_dup back (NULL is fine). */
void ccp_strpool_free(ccp_strpool_t *p, char *s);

#endif
