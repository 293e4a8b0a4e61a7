/*
 * The versions of the libraries ccpulse runs with (include/ccpulse/libversions.h).
 *
 * librdkafka (rd_kafka_version_str) and jansson (jansson_version_str, since
 * 2.13) are asked at run time: that is the library actually loaded. hiredis
 * 0.14 has only its header macros and Avro C no version at all, so theirs
 * are the versions built against; CMake passes avro-c's pkg-config version
 * as CCP_AVRO_PKG_VERSION.
 *
 * Threads: any thread; the strings are static.
 */
#include "ccpulse/libversions.h"

#include <stdio.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "ccpulse/common.h"

#ifndef CCP_AVRO_PKG_VERSION
#define CCP_AVRO_PKG_VERSION "unknown"
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

size_t ccp_libversions(ccp_libversion_t *out, size_t n) {
  const ccp_libversion_t all[] = {
      {"librdkafka", rd_kafka_version_str(), 0},
      {"hiredis", STR(HIREDIS_MAJOR) "." STR(HIREDIS_MINOR) "." STR(HIREDIS_PATCH), 1},
      {"avro-c", CCP_AVRO_PKG_VERSION, 1},
      {"jansson", jansson_version_str(), 0},
  };
  for (size_t i = 0; i < n && i < CCP_ARRAY_LEN(all); i++)
    out[i] = all[i];
  return CCP_ARRAY_LEN(all);
}

size_t ccp_libversions_format(char *buf, size_t len) {
  ccp_libversion_t v[8];
  size_t n = ccp_libversions(v, CCP_ARRAY_LEN(v)), used = 0;
  if (len)
    buf[0] = '\0';
  for (size_t i = 0; i < n && i < CCP_ARRAY_LEN(v); i++) {
    int w = snprintf(len > used ? buf + used : NULL, len > used ? len - used : 0, "%s%s %s",
                     i ? ", " : "", v[i].name, v[i].version);
    if (w > 0)
      used += (size_t)w;
  }
  return used;
}
