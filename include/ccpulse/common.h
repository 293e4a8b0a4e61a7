/*
 * ccpulse — common definitions shared by every module: error codes, string
 * views, the 64-bit hash, fatal-error macros and the allocation wrapper.
 *
 * Errors: functions return 0 or a negative CCP_E* code; ccp_strerror() turns
 * the code into text. Constructors that parse input return NULL and fill an
 * errbuf (CCP_ERRBUF_SIZE bytes) instead.
 */
#ifndef CCPULSE_COMMON_H
#define CCPULSE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the error buffers that parsing constructors fill. */
#define CCP_ERRBUF_SIZE 512

/** Error codes: always returned negated (e.g. -CCP_EINVAL). */
enum {
  CCP_OK = 0,
  CCP_EINVAL = 1,   /**< invalid argument or value */
  CCP_ENOMEM = 2,   /**< out of memory */
  CCP_EIO = 3,      /**< read or write failed */
  CCP_EPARSE = 4,   /**< malformed input */
  CCP_ESCHEMA = 5,  /**< schema missing or incompatible */
  CCP_ERANGE = 6,   /**< value out of range */
  CCP_EEOF = 7,     /**< end of input */
  CCP_EFULL = 8,    /**< a bounded structure is full */
  CCP_ENOTFOUND = 9 /**< lookup failed */
};

/** Text for an error code (either sign). Never NULL. */
const char *ccp_strerror(int err);

/** Non-owning view of a byte string (not NUL-terminated). */
typedef struct ccp_str {
  const char *ptr;
  size_t len;
} ccp_str_t;

/** 64-bit hash of a byte string (fast, well mixed, deterministic). */
uint64_t ccp_hash64(const void *data, size_t len, uint64_t seed);

/** Ends the process with file and line: for broken invariants only. */
#define CCP_ASSERT(cond)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ccp__fatal(__FILE__, __LINE__, "assertion failed: " #cond);                                  \
  } while (0)

/** Ends the process with a message and the file and line. */
_Noreturn void ccp__fatal(const char *file, int line, const char *msg);

/** malloc that ends the process on out-of-memory; counts bytes in use. */
void *ccp_malloc(size_t n);
/** calloc that ends the process on out-of-memory; counts bytes in use. */
void *ccp_calloc(size_t nmemb, size_t n);
/** realloc that ends the process on out-of-memory; counts bytes in use. */
void *ccp_realloc(void *p, size_t n);
/** Frees memory from ccp_malloc/ccp_calloc/ccp_realloc (NULL is fine). */
void ccp_free(void *p);
/**
 * ccp_calloc for a large table that lives long and is replaced whole (hash
 * table slots, record chunks): from 1 MiB up its own mapping, so freeing it
 * returns the pages to the system at once instead of leaving a hole in the
 * heap (glibc raises its mmap threshold after such frees, and the next
 * tables would then come from the heap); below, ccp_calloc. Free it with
 * ccp_free_big only. Under AddressSanitizer always ccp_calloc.
 */
void *ccp_calloc_big(size_t nmemb, size_t n);
/**
 * ccp_calloc_big for a table that is filled across its whole length right
 * away (a hash table's growth or rebuild, a restore): every page is mapped
 * writable at once (MADV_POPULATE_WRITE, else one write per page). A probe
 * that reads a fresh page first maps the shared zero page, and the store
 * after it then takes a second, copy-on-write fault whose TLB flush
 * interrupts every CPU the process runs on: in a multi-threaded catch-up
 * those faults were a fifth of the publisher thread's time. Free it with
 * ccp_free_big. Any thread.
 */
void *ccp_calloc_big_filled(size_t nmemb, size_t n);
/**
 * ccp_calloc_big for a table that fills from its start but is read at random
 * once filled (a ticket table's later record chunks): from 2 MiB on, aligned
 * to 2 MiB and backed by transparent huge pages where the system allows, its
 * pages mapped as they are first written. Free it with ccp_free_big. Any thread.
 */
void *ccp_calloc_big_huge(size_t nmemb, size_t n);
/** Frees a block of ccp_calloc_big (NULL is fine). */
void ccp_free_big(void *p);
/** Duplicates a NUL-terminated string with ccp_malloc. */
char *ccp_strdup(const char *s);
/** Duplicates len bytes into a new NUL-terminated string. */
char *ccp_strndup(const char *s, size_t len);
/** Bytes currently allocated through the wrappers above (all threads). */
size_t ccp_mem_used(void);

#define CCP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CCP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CCP_MAX(a, b) ((a) > (b) ? (a) : (b))

/** Floor division for signed 64-bit values (b > 0). */
static inline int64_t ccp_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

#ifdef __cplusplus
}
#endif
#endif
