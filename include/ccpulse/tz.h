/*
 * ccpulse — the process time zone.
 *
 * Engines compute local midnights (the `today` window) with localtime_r and
 * mktime, which read the process time zone (TZ). Changing TZ while another
 * thread is inside those functions is a data race in libc that no sanitizer
 * sees, so the zone is set once per process, before any thread starts: the
 * CLI does it right after the configuration is loaded, tests before their
 * first engine. ccp_engine_new() then only checks that the process zone is
 * the configured one.
 *
 * Threads: ccp_tz_use() must be called while the process has one thread (or
 * no other thread uses local time: single-threaded tests switch zones
 * between engines). ccp_tz_check() may be called from any thread once the
 * zone is set.
 */
#ifndef CCPULSE_TZ_H
#define CCPULSE_TZ_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Makes zone (an IANA name the configuration accepted, e.g. "Europe/Berlin")
 * the process time zone: sets TZ and calls tzset(). Returns 0, or
 * -CCP_EINVAL with errbuf "cannot set time zone 'X'".
 */
int ccp_tz_use(const char *zone, char *errbuf, size_t errlen);

/**
 * Returns 0 when zone is the zone last set by ccp_tz_use(), else -CCP_EINVAL
 * with errbuf naming both zones.
 */
int ccp_tz_check(const char *zone, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
