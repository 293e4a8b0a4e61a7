/*
 * ccpulse — Confluent Schema Registry client (docs/schemas.md).
 *
 * A record framed the Confluent way (magic byte 0, a 4-byte schema id, Avro
 * binary) names its writer schema by id. With `schema.registry.url` set, an
 * id that no local `schema.registry.<ID>` file covers is fetched once from
 * `GET <url>/schemas/ids/<ID>` (libcurl, HTTP or HTTPS, basic auth), the
 * schema is compiled against our reader (ccp_avro_decoder_new) and kept for
 * the life of the process: an id stands for one schema forever in a
 * registry. A fetch that fails for a reason that may pass (id not found yet,
 * registry unreachable or answering 5xx, credentials refused) is remembered
 * with its reason for `schema.registry.retry`; records with the id meanwhile
 * fail at once with that reason (they go to the dead-letter topic), and the
 * first record after the back-off asks again. A schema that the registry
 * returns but that cannot be read as ours fails for good.
 *
 * Secrets: the password (of the URL or of basic.auth.user.info) is handed to
 * libcurl only; every message shows the URL without it.
 *
 * Threads: ccp_registry_new() and ccp_registry_free() belong to one thread
 * (they call curl_global_init/cleanup: the main thread, before and after
 * the workers). ccp_registry_get() may be called from any number of threads
 * at once: a mutex guards the cache (held for lookups, never during a
 * fetch); fetches are serialised by a second mutex, so a worker that needs
 * a schema being fetched waits for that fetch, bounded by the timeouts.
 * Decoders returned stay valid, immutable, until ccp_registry_free().
 */
#ifndef CCPULSE_REGISTRY_H
#define CCPULSE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "ccpulse/decode.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Settings of a registry client (the schema.registry.* keys). */
typedef struct ccp_registry_opts {
  const char *url;            /**< http(s)://[user[:password]@]host[:port][/path] */
  const char *user_info;      /**< "user:password" or NULL/"" (then the URL's, if any) */
  int64_t connect_timeout_ms; /**< TCP (and TLS) connect bound of a fetch */
  int64_t timeout_ms;         /**< whole-fetch bound */
  int64_t retry_ms;           /**< back-off after a failed fetch */
  int64_t (*clock_ms)(void);  /**< monotonic clock; NULL = ccp_clock_mono_ms (tests move it) */
} ccp_registry_opts_t;

/** A registry client with its cache of compiled writer schemas (opaque). */
typedef struct ccp_registry ccp_registry_t;

/** Counters of a client (ccp_registry_stats, any thread). */
typedef struct ccp_registry_stats {
  int64_t fetches;      /**< HTTP requests made */
  int64_t fetch_errors; /**< of them, those that gave no usable schema */
  int64_t schemas;      /**< ids with a compiled schema in the cache */
} ccp_registry_stats_t;

/**
 * Checks the options and builds a client; nothing is fetched yet. Returns
 * NULL with errbuf ("config key 'schema.registry.url': ...", the password
 * never shown) on a bad URL or credentials given both in the URL and in
 * user_info. Main thread.
 */
ccp_registry_t *ccp_registry_new(const ccp_registry_opts_t *opts, char *errbuf, size_t errlen);

/** Frees the client and every decoder it returned (NULL is fine). Main thread. */
void ccp_registry_free(ccp_registry_t *r);

/**
 * The decoder of writer schema `id`: from the cache, or fetched now (the
 * caller waits up to the timeouts). NULL with errbuf holding the reason
 * ("schema id 9 is not registered at 'http://reg:8081' (HTTP 404: Schema 9
 * not found); asked again in 30 s") when it is not available. Any thread.
 */
const ccp_avro_decoder_t *ccp_registry_get(ccp_registry_t *r, uint32_t id, char *errbuf,
                                           size_t errlen);

/** The registry URL as messages show it (no password). Valid until free. */
const char *ccp_registry_url(const ccp_registry_t *r);

/** Copies the counters (any thread). */
void ccp_registry_stats(ccp_registry_t *r, ccp_registry_stats_t *out);

/**
 * Parses the body of `GET /schemas/ids/<id>`: a JSON object whose "schema"
 * member is the schema as a JSON string (optional "schemaType" must be
 * "AVRO"; "references" must be absent or empty). Returns 0 with *schema a
 * new NUL-terminated string (ccp_free), or -CCP_EPARSE with errbuf.
 */
int ccp_registry_parse_response(const char *body, size_t len, char **schema, char *errbuf,
                                size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
