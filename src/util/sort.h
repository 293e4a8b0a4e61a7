/*
 * Sorting 64-bit words as unsigned numbers, for the engine's hot batches
 * (a timer bucket when it is loaded, change lists at an export): LSD radix
 * passes of 8-bit digits that skip every digit the words all share, and an
 * insertion sort for short arrays.
 *
 * Pure functions; any thread.
 */
#ifndef CCP_SORT_H
#define CCP_SORT_H

#include <stddef.h>
#include <stdint.h>

/** Sorts a[0..n) by bits lo..63 ascending, stably (words equal there keep
 * their order); tmp holds n words of scratch (unused when n < 64). */
void ccp_sort_u64(uint64_t *a, uint64_t *tmp, size_t n, int lo);

#endif
