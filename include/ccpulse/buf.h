/*
 * ccpulse — growable byte buffer used to build JSON documents and messages.
 * Single-threaded: a buffer belongs to whoever embeds it.
 */
#ifndef CCPULSE_BUF_H
#define CCPULSE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A growable buffer; `data` is always NUL-terminated when len > 0. */
typedef struct ccp_buf {
  char *data; /**< owned bytes */
  size_t len; /**< bytes used */
  size_t cap; /**< bytes allocated */
} ccp_buf_t;

/** Initialises an empty buffer (no allocation). */
void ccp_buf_init(ccp_buf_t *b);
/** Frees the bytes; the buffer may be re-initialised. */
void ccp_buf_release(ccp_buf_t *b);
/** Empties the buffer, keeping its capacity. */
static inline void ccp_buf_clear(ccp_buf_t *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = 0;
}
/** The capacity below which ccp_buf_shrink keeps a buffer (1 MiB). */
#define CCP_BUF_SHRINK_MIN ((size_t)1 << 20)
/** Whether a scratch array of cap elements of `size` bytes, whose last use
 *  held `used` of them, is one a burst grew far past its need: over
 *  CCP_BUF_SHRINK_MIN bytes and over 8 times `used` (ccp_buf_shrink's rule,
 *  for the arrays kept beside the buffers). */
static inline int ccp_scratch_oversized(size_t cap, size_t used, size_t size) {
  return cap * size > CCP_BUF_SHRINK_MIN && cap / 8 > used;
}
/** A scratch buffer kept between uses: frees its bytes (and empties it) when
 *  a burst grew it far past what the last use held (`used`):
 *  ccp_scratch_oversized(). Else nothing changes. */
void ccp_buf_shrink(ccp_buf_t *b, size_t used);
/** Makes room for n more bytes. */
void ccp_buf_reserve(ccp_buf_t *b, size_t n);
/** Appends n bytes. */
void ccp_buf_append(ccp_buf_t *b, const void *p, size_t n);
/** Appends a NUL-terminated string. */
void ccp_buf_puts(ccp_buf_t *b, const char *s);
/** Appends one character. */
void ccp_buf_putc(ccp_buf_t *b, char c);
/** Appends printf-formatted text. */
void ccp_buf_printf(ccp_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Appends a signed integer in decimal. */
void ccp_buf_put_i64(ccp_buf_t *b, int64_t v);
/** Appends a double as the shortest text that reads back to it; NaN/inf -> null. */
void ccp_buf_put_double(ccp_buf_t *b, double v);
/** Appends a JSON string literal (quotes and escapes included). */
void ccp_buf_put_json_str(ccp_buf_t *b, const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
