/*
 * ccpulse — the versions of the libraries ccpulse runs with, for
 * `ccpulse --version` and the start-up log line.
 *
 * librdkafka and jansson report their version at run time (the shared library
 * loaded, which may be newer than the headers built against); hiredis 0.14
 * and Avro C have no such call, so theirs is the version built against:
 * hiredis's HIREDIS_MAJOR/MINOR/PATCH and the avro-c pkg-config version
 * CMake found (CCP_AVRO_PKG_VERSION).
 *
 * Threads: any thread; no state.
 */
#ifndef CCPULSE_LIBVERSIONS_H
#define CCPULSE_LIBVERSIONS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One library and its version; `built` is 1 when it is the version built against. */
typedef struct ccp_libversion {
  const char *name;    /**< "librdkafka", "hiredis", "avro-c", "jansson" */
  const char *version; /**< "2.0.2" (static storage) */
  int built;           /**< 1: compile-time version, 0: reported by the loaded library */
} ccp_libversion_t;

/** Fills out[0..n) with the libraries, in a fixed order; returns how many exist (4). */
size_t ccp_libversions(ccp_libversion_t *out, size_t n);

/**
 * Writes "librdkafka 2.0.2, hiredis 0.14.1, avro-c 1.11.1, jansson 2.14"
 * into buf (always NUL-terminated when len > 0); returns the length it
 * needed, like snprintf.
 */
size_t ccp_libversions_format(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
