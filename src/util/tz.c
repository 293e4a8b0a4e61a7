/*
 * The process time zone (see include/ccpulse/tz.h).
 *
 * State: the name last given to ccp_tz_use(), kept here so that a check
 * never reads the environment (getenv races with setenv). It is written only
 * while the process has one thread; threads started afterwards read it
 * (pthread_create orders the write before their reads).
 */
#include "ccpulse/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccpulse/common.h"

static char zone_now[256];
static int zone_set;

int ccp_tz_use(const char *zone, char *errbuf, size_t errlen) {
  size_t n = strlen(zone);
  if (n >= sizeof zone_now || setenv("TZ", zone, 1) != 0) {
    snprintf(errbuf, errlen, "cannot set time zone '%s'", zone);
    return -CCP_EINVAL;
  }
  tzset();
  memcpy(zone_now, zone, n + 1);
  zone_set = 1;
  return 0;
}

int ccp_tz_check(const char *zone, char *errbuf, size_t errlen) {
  if (zone_set && strcmp(zone, zone_now) == 0)
    return 0;
  if (zone_set)
    snprintf(errbuf, errlen,
             "time zone '%s' is not the process time zone '%s' (set once with ccp_tz_use before "
             "threads start)",
             zone, zone_now);
  else
    snprintf(errbuf, errlen,
             "time zone '%s' is not the process time zone (none set: call ccp_tz_use before "
             "threads start)",
             zone);
  return -CCP_EINVAL;
}
