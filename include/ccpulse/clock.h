/*
 * ccpulse — the clocks: wall time for stream time and logs, monotonic time
 * for intervals, deadlines and benchmarks, and a sleep. One copy for the
 * whole code base (library, CLI, tests, benchmarks).
 *
 * Threads: every function may be called from any thread.
 */
#ifndef CCPULSE_CLOCK_H
#define CCPULSE_CLOCK_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Wall-clock time (CLOCK_REALTIME) in milliseconds since the Unix epoch. */
int64_t ccp_clock_wall_ms(void);
/** Monotonic time (CLOCK_MONOTONIC) in milliseconds; only differences mean anything. */
int64_t ccp_clock_mono_ms(void);
/** Monotonic time in nanoseconds; only differences mean anything. */
int64_t ccp_clock_mono_ns(void);
/** Monotonic time in seconds as a double (benchmarks and rates). */
double ccp_clock_mono_s(void);
/** Sleeps about ms milliseconds (a signal may end it early); ms <= 0 returns at once. */
void ccp_clock_sleep_ms(int64_t ms);
/** Sleeps about us microseconds (short waits in spin loops); us <= 0 returns at once. */
void ccp_clock_sleep_us(int64_t us);
/** The time ms milliseconds (< 0: 0) from now on clock `clk`, as
 * pthread_cond_timedwait() takes it (CLOCK_MONOTONIC for a condition
 * variable set to that clock, else CLOCK_REALTIME). */
struct timespec ccp_clock_deadline(clockid_t clk, int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
