/*
 * Little binary writer and reader for checkpoints (src/engine/checkpoint.c
 * and the save/load helpers of the state modules).
 *
 * Values are written in the host's byte order (the checkpoint header records
 * it, docs/checkpoints.md): a checkpoint moves between processes of one
 * build, so raw arrays of records can be copied as they are. The reader
 * never reads past its end: a short read marks it bad, returns zeros (or
 * NULL) and keeps the first message, so a loader checks once at the end of
 * a section instead of after every field; every count it turns into an
 * allocation is checked against the bytes left first.
 *
 * Single-threaded: a reader belongs to one load.
 */
#ifndef CCP_SER_H
#define CCP_SER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ccpulse/buf.h"

/** A bounded reader over bytes someone else owns. */
typedef struct ccp_ser_rd {
  const unsigned char *p; /**< next byte */
  size_t left;            /**< bytes left */
  int bad;                /**< 1 after a short read or a failed check */
  const char *section;    /**< what is being read, for messages */
  char msg[200];          /**< the first problem */
} ccp_ser_rd_t;

/** Starts a reader over data[0..len). */
void ccp_ser_rd_init(ccp_ser_rd_t *r, const void *data, size_t len);
/** Marks the reader bad with a message (only the first one is kept); returns 0. */
int ccp_ser_fail(ccp_ser_rd_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Appends n raw bytes. */
static inline void ccp_ser_put(ccp_buf_t *b, const void *p, size_t n) {
  if (n)
    ccp_buf_append(b, p, n);
}
/** Appends a uint8_t. */
static inline void ccp_ser_put_u8(ccp_buf_t *b, uint8_t v) { ccp_ser_put(b, &v, sizeof v); }
/** Appends a uint16_t. */
static inline void ccp_ser_put_u16(ccp_buf_t *b, uint16_t v) { ccp_ser_put(b, &v, sizeof v); }
/** Appends a uint32_t. */
static inline void ccp_ser_put_u32(ccp_buf_t *b, uint32_t v) { ccp_ser_put(b, &v, sizeof v); }
/** Appends a uint64_t. */
static inline void ccp_ser_put_u64(ccp_buf_t *b, uint64_t v) { ccp_ser_put(b, &v, sizeof v); }
/** Appends an int64_t. */
static inline void ccp_ser_put_i64(ccp_buf_t *b, int64_t v) { ccp_ser_put(b, &v, sizeof v); }

/** The next n bytes (NULL and bad when fewer are left; never NULL otherwise, even for 0). */
static inline const void *ccp_ser_get(ccp_ser_rd_t *r, size_t n) {
  if (r->bad || n > r->left) {
    if (!r->bad)
      ccp_ser_fail(r, "truncated");
    return NULL;
  }
  const void *p = r->p;
  r->p += n;
  r->left -= n;
  return p;
}
/** Copies the next n bytes into dst (zeros when short). */
static inline void ccp_ser_get_into(ccp_ser_rd_t *r, void *dst, size_t n) {
  const void *p = ccp_ser_get(r, n);
  if (p)
    memcpy(dst, p, n);
  else if (n)
    memset(dst, 0, n);
}
/* ccp_ser_get_u8/u16/u32/u64/i64: read one value (0 when short). */
#define CCP_SER_GETTER(name, type)                                                                 \
  static inline type ccp_ser_get_##name(ccp_ser_rd_t *r) {                                         \
    type v;                                                                                        \
    ccp_ser_get_into(r, &v, sizeof v);                                                             \
    return v;                                                                                      \
  }
CCP_SER_GETTER(u8, uint8_t)
CCP_SER_GETTER(u16, uint16_t)
CCP_SER_GETTER(u32, uint32_t)
CCP_SER_GETTER(u64, uint64_t)
CCP_SER_GETTER(i64, int64_t)
#undef CCP_SER_GETTER
/**
 * The next n elements of elem bytes, or NULL (bad) when n * elem overflows
 * or is more than is left: check a count with this before allocating for it.
 */
static inline const void *ccp_ser_get_array(ccp_ser_rd_t *r, uint64_t n, size_t elem) {
  if (elem && n > r->left / elem) {
    if (!r->bad)
      ccp_ser_fail(r, "truncated (%llu elements of %zu bytes, %zu bytes left)",
                   (unsigned long long)n, elem, r->left);
    r->bad = 1;
    return NULL;
  }
  return ccp_ser_get(r, (size_t)n * elem);
}
/** Checks a condition of the data; on failure marks the reader bad with msg. Returns cond. */
#define CCP_SER_CHECK(r, cond, ...) ((cond) ? 1 : ccp_ser_fail((r), __VA_ARGS__))

#endif
