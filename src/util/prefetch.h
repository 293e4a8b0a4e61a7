/*
 * Cache prefetch hints that the compiler keeps.
 *
 * GCC 12 at -O1 and above deletes a __builtin_prefetch that sits under a
 * condition (its control-dependent dead code elimination treats the builtin
 * as having no effect), so `if (table) __builtin_prefetch(...)` compiles to
 * nothing: the batch look-ahead of ccp_engine_process_batch() issued no
 * prefetch at all before this header. A volatile asm is never deleted. Other
 * targets fall back to the builtin.
 *
 * A prefetch is a hint: it never faults and changes no value. Any thread.
 */
#ifndef CCP_PREFETCH_H
#define CCP_PREFETCH_H

/** Asks for the cache line holding p (to be read or written soon). */
static inline void ccp_prefetch(const void *p) {
#if defined(__GNUC__) && defined(__x86_64__)
  __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__ volatile("prfm pldl1keep, %0" : : "Q"(*(const char *)p));
#else
  __builtin_prefetch(p);
#endif
}

#endif
