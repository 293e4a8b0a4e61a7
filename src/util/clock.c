/*
 * The clocks (see include/ccpulse/clock.h): thin wrappers over
 * clock_gettime(2) and nanosleep(2). No state; any thread.
 */
#include "ccpulse/clock.h"

#include <time.h>

static int64_t ns_of(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ccp_clock_wall_ms(void) { return ns_of(CLOCK_REALTIME) / 1000000; }

int64_t ccp_clock_mono_ms(void) { return ns_of(CLOCK_MONOTONIC) / 1000000; }

int64_t ccp_clock_mono_ns(void) { return ns_of(CLOCK_MONOTONIC); }

double ccp_clock_mono_s(void) { return (double)ns_of(CLOCK_MONOTONIC) * 1e-9; }

void ccp_clock_sleep_us(int64_t us) {
  if (us <= 0)
    return;
  struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
  nanosleep(&ts, NULL);
}

void ccp_clock_sleep_ms(int64_t ms) {
  if (ms > 0)
    ccp_clock_sleep_us(ms * 1000);
}

struct timespec ccp_clock_deadline(clockid_t clk, int64_t ms) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  if (ms < 0)
    ms = 0;
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}
