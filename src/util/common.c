/*
 * Error strings, the fatal-error path and the allocation wrapper.
 *
 * All allocation goes through ccp_malloc & co. so that memory in use is a
 * metric (ccp_mem_used). Each block carries a 16-byte header with its size.
 * The counter is a relaxed atomic: it is a statistic, read without ordering
 * needs, and any thread may allocate. Large long-lived tables may take their
 * own mappings (ccp_calloc_big), with the same header and count; a table
 * that a rehash fills right away has its pages mapped writable at once and,
 * from 2 MiB on, aligned to 2 MiB and backed by transparent huge pages where
 * the system allows (ccp_calloc_big_filled: why in common.h and below). The fatal message is one
 * line of the logging facility (log.c), written whatever the level.
 */
#include "ccpulse/common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ccpulse/log.h"

static const char *const errtext[] = {
    [CCP_OK] = "success",
    [CCP_EINVAL] = "invalid value",
    [CCP_ENOMEM] = "out of memory",
    [CCP_EIO] = "input/output error",
    [CCP_EPARSE] = "malformed input",
    [CCP_ESCHEMA] = "schema missing or incompatible",
    [CCP_ERANGE] = "value out of range",
    [CCP_EEOF] = "end of input",
    [CCP_EFULL] = "structure full",
    [CCP_ENOTFOUND] = "not found",
};

const char *ccp_strerror(int err) {
  if (err < 0)
    err = -err;
  if ((size_t)err < CCP_ARRAY_LEN(errtext) && errtext[err])
    return errtext[err];
  return "unknown error";
}

/* One log line in the usual format, never filtered or rate-limited, then
 * abort. Nothing here allocates: the message may be "out of memory". */
_Noreturn void ccp__fatal(const char *file, int line, const char *msg) {
  char text[1024];
  snprintf(text, sizeof text, "fatal: %s (%s:%d)", msg, file, line);
  fflush(stderr); /* what the process wrote before comes first */
  ccp__log_line(CCP_LOG_ERROR, "ccpulse", text);
  abort();
}

/* Bytes allocated through the wrapper; relaxed: a gauge, not a fence. */
static atomic_size_t mem_used;

#define HDR 16

void *ccp_malloc(size_t n) {
  unsigned char *p = malloc(n + HDR);
  if (!p)
    ccp__fatal(__FILE__, __LINE__, "out of memory");
  memcpy(p, &n, sizeof n);
  atomic_fetch_add_explicit(&mem_used, n, memory_order_relaxed);
  return p + HDR;
}

void *ccp_calloc(size_t nmemb, size_t n) {
  if (n && nmemb > SIZE_MAX / n)
    ccp__fatal(__FILE__, __LINE__, "allocation size overflow");
  size_t total = nmemb * n;
  unsigned char *p = calloc(1, total + HDR);
  if (!p)
    ccp__fatal(__FILE__, __LINE__, "out of memory");
  memcpy(p, &total, sizeof total);
  atomic_fetch_add_explicit(&mem_used, total, memory_order_relaxed);
  return p + HDR;
}

void *ccp_realloc(void *ptr, size_t n) {
  if (!ptr)
    return ccp_malloc(n);
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t old;
  memcpy(&old, p, sizeof old);
  unsigned char *q = realloc(p, n + HDR);
  if (!q)
    ccp__fatal(__FILE__, __LINE__, "out of memory");
  memcpy(q, &n, sizeof n);
  atomic_fetch_add_explicit(&mem_used, n, memory_order_relaxed);
  atomic_fetch_sub_explicit(&mem_used, old, memory_order_relaxed);
  return q + HDR;
}

void ccp_free(void *ptr) {
  if (!ptr)
    return;
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t n;
  memcpy(&n, p, sizeof n);
  atomic_fetch_sub_explicit(&mem_used, n, memory_order_relaxed);
  free(p);
}

#if defined(__SANITIZE_ADDRESS__)
#define BIG_MIN SIZE_MAX /* the sanitizer watches heap blocks, not mappings */
#else
#define BIG_MIN ((size_t)1 << 20)
#endif

/* A mapping of len bytes for ccp_calloc_big. With huge set (a table filled
 * across its whole length at once, ccp_calloc_big_filled) from 2 MiB on it
 * starts on a 2 MiB boundary (mapped with 2 MiB of slack, the slack unmapped
 * again) and asks for transparent huge pages: the engine's hash tables are
 * read at random, one cache line per event each, and with 4 KiB pages nearly
 * every such read also missed the TLB and walked the page tables
 * (bench/README.md, "huge pages"). Such a table is resident whole anyway, so
 * huge pages cost no memory; a table filled from its start (record chunks)
 * keeps small pages, or a partition with a few tickets would hold a whole
 * 2 MiB page of a chunk (32 partitions idle: +60-90 MB VmHWM). The tail past
 * the last whole 2 MiB stays in small pages. */
static unsigned char *big_map(size_t len, int huge) {
  const size_t align = (size_t)2 << 20;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (!huge || len < align) {
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
      ccp__fatal(__FILE__, __LINE__, "out of memory");
    return p;
  }
  unsigned char *raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (raw == MAP_FAILED)
    ccp__fatal(__FILE__, __LINE__, "out of memory");
  uintptr_t a = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
  size_t page = (size_t)sysconf(_SC_PAGESIZE), end = (len + page - 1) & ~(page - 1);
  if (a > (uintptr_t)raw)
    munmap(raw, a - (uintptr_t)raw);
  if ((uintptr_t)raw + len + align > a + end)
    munmap((unsigned char *)a + end, (uintptr_t)raw + len + align - (a + end));
#ifdef MADV_HUGEPAGE
  (void)madvise((void *)a, len, MADV_HUGEPAGE); /* a hint: without THP nothing changes */
#endif
  return (unsigned char *)a;
}

static void *calloc_big(size_t nmemb, size_t n, int huge) {
  if (n && nmemb > SIZE_MAX / n)
    ccp__fatal(__FILE__, __LINE__, "allocation size overflow");
  size_t total = nmemb * n;
  if (total < BIG_MIN)
    return ccp_calloc(nmemb, n);
  unsigned char *p = big_map(total + HDR, huge);
  memcpy(p, &total, sizeof total); /* fresh pages are zero: nothing else to clear */
  atomic_fetch_add_explicit(&mem_used, total, memory_order_relaxed);
  return p + HDR;
}

void *ccp_calloc_big(size_t nmemb, size_t n) { return calloc_big(nmemb, n, 0); }

void *ccp_calloc_big_huge(size_t nmemb, size_t n) { return calloc_big(nmemb, n, 1); }

void *ccp_calloc_big_filled(size_t nmemb, size_t n) {
  if (n && nmemb > SIZE_MAX / n)
    ccp__fatal(__FILE__, __LINE__, "allocation size overflow");
  size_t total = nmemb * n;
  if (total < BIG_MIN) { /* written, not calloc'd: fresh heap pages would be read first too */
    void *q = ccp_malloc(total);
    memset(q, 0, total);
    return q;
  }
  unsigned char *p = calloc_big(nmemb, n, 1);
  unsigned char *base = p - HDR; /* the mapping (page-aligned) */
#ifdef MADV_POPULATE_WRITE
  if (madvise(base, total + HDR, MADV_POPULATE_WRITE) == 0)
    return p;
#endif
  /* an older kernel (before 5.14): one write per page does the same */
  long pg = sysconf(_SC_PAGESIZE);
  for (size_t off = (size_t)pg; off < total + HDR; off += (size_t)pg)
    base[off] = 0;
  return p;
}

void ccp_free_big(void *ptr) {
  if (!ptr)
    return;
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t n;
  memcpy(&n, p, sizeof n);
  if (n < BIG_MIN) {
    ccp_free(ptr);
    return;
  }
  atomic_fetch_sub_explicit(&mem_used, n, memory_order_relaxed);
  munmap(p, n + HDR);
}

char *ccp_strndup(const char *s, size_t len) {
  char *d = ccp_malloc(len + 1);
  memcpy(d, s, len);
  d[len] = 0;
  return d;
}

char *ccp_strdup(const char *s) { return ccp_strndup(s, strlen(s)); }

size_t ccp_mem_used(void) { return atomic_load_explicit(&mem_used, memory_order_relaxed); }

/* 64-bit hash: 8 bytes at a time, 128-bit multiply mixing (wyhash-like). */
static inline uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t ccp_hash64(const void *data, size_t len, uint64_t seed) {
  const unsigned char *p = data;
  const uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL, k2 = 0x8ebc6af09c88c6e3ULL;
  uint64_t h = seed ^ mix(seed ^ k0, k1) ^ (uint64_t)len;
  while (len >= 16) {
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    h = mix(a ^ k1, b ^ h);
    p += 16;
    len -= 16;
  }
  uint64_t a = 0, b = 0;
  if (len >= 8) {
    memcpy(&a, p, 8);
    memcpy(&b, p + len - 8, 8);
  } else if (len >= 4) {
    uint32_t x, y;
    memcpy(&x, p, 4);
    memcpy(&y, p + len - 4, 4);
    a = x;
    b = y;
  } else if (len > 0) {
    a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
  }
  h = mix(a ^ k1 ^ len, b ^ h ^ k2);
  return mix(h ^ k0, h ^ k2);
}
