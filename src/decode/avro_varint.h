/*
 * Bounded Avro varint readers shared by the decoder and the OCF reader.
 * Private to src/decode/. Pure functions.
 *
 * The long and int readers have the same shape on purpose: one generic
 * reader parameterised by the width made GCC emit slower code in the
 * decoder's inner loops (bench_decode: 8-12 % more ns/record for
 * avro_decode_v2_writer, measured against the two-function version), and
 * they are the hot path of every record.
 */
#ifndef CCP_DECODE_AVRO_VARINT_H
#define CCP_DECODE_AVRO_VARINT_H

#include <stdint.h>

/** Results of the readers below (0 = success). */
enum { CCP__VARINT_TRUNC = 1, CCP__VARINT_LONG = 2 };

/**
 * Reads a zigzag varint long from [*pp, end): at most 10 bytes, the 10th
 * holding only bit 63. Returns 0 and advances *pp, or CCP__VARINT_TRUNC /
 * CCP__VARINT_LONG leaving *pp unchanged.
 */
static inline int ccp__get_long(const uint8_t **pp, const uint8_t *end, int64_t *out) {
  const uint8_t *p = *pp;
  uint64_t v;
  if (p < end && !(*p & 0x80)) {
    v = *p++;
  } else {
    v = 0;
    for (int shift = 0;; shift += 7) {
      if (p >= end)
        return CCP__VARINT_TRUNC;
      uint8_t b = *p++;
      if (shift == 63) {
        if (b > 1)
          return CCP__VARINT_LONG;
        v |= (uint64_t)b << 63;
        break;
      }
      v |= (uint64_t)(b & 0x7f) << shift;
      if (!(b & 0x80))
        break;
    }
  }
  *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
  *pp = p;
  return 0;
}

/** Reads a zigzag varint int: at most 5 bytes, 32 bits. As ccp__get_long. */
static inline int ccp__get_int(const uint8_t **pp, const uint8_t *end, int32_t *out) {
  const uint8_t *p = *pp;
  uint32_t v;
  if (p < end && !(*p & 0x80)) {
    v = *p++;
  } else {
    v = 0;
    for (int shift = 0;; shift += 7) {
      if (p >= end)
        return CCP__VARINT_TRUNC;
      uint8_t b = *p++;
      if (shift == 28) {
        if (b > 0x0f)
          return CCP__VARINT_LONG;
        v |= (uint32_t)b << 28;
        break;
      }
      v |= (uint32_t)(b & 0x7f) << shift;
      if (!(b & 0x80))
        break;
    }
  }
  *out = (int32_t)((v >> 1) ^ (0u - (v & 1)));
  *pp = p;
  return 0;
}

/** Writes v as a zigzag varint at p (room for 10 bytes); returns the end. */
static inline uint8_t *ccp__put_long(uint8_t *p, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  while (z >= 0x80) {
    *p++ = (uint8_t)(z | 0x80);
    z >>= 7;
  }
  *p++ = (uint8_t)z;
  return p;
}

#endif
