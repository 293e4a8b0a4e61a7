/*
 * Radix sort of 64-bit words; see sort.h. One pass first finds the bits in
 * which the words differ, so a digit they all share costs no counting pass
 * (timer entries of one bucket share their high offset bits, hash keys of a
 * sample their leading zeros).
 */
#include "util/sort.h"

#include <string.h>

void ccp_sort_u64(uint64_t *a, uint64_t *tmp, size_t n, int lo) {
  if (n < 64) {
    for (size_t i = 1; i < n; i++) {
      uint64_t x = a[i];
      size_t j = i;
      for (; j > 0 && a[j - 1] >> lo > x >> lo; j--)
        a[j] = a[j - 1];
      a[j] = x;
    }
    return;
  }
  uint64_t all = ~0ULL, any = 0;
  for (size_t i = 0; i < n; i++) {
    all &= a[i];
    any |= a[i];
  }
  uint64_t differ = (all ^ any) >> lo << lo;
  uint64_t *src = a, *dst = tmp;
  for (int sh = lo; sh < 64; sh += 8) {
    if (!((differ >> sh) & 255)) /* every word has this digit: in order for it already */
      continue;
    size_t pos[256] = {0};
    for (size_t i = 0; i < n; i++)
      pos[(src[i] >> sh) & 255]++;
    for (size_t d = 0, at = 0; d < 256; d++) {
      size_t c = pos[d];
      pos[d] = at;
      at += c;
    }
    for (size_t i = 0; i < n; i++)
      dst[pos[(src[i] >> sh) & 255]++] = src[i];
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != a)
    memcpy(a, src, n * sizeof *a);
}
