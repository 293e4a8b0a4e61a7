/*
 * ccpulse — the wall: a live KPI page in the browser (docs/wall.md), served
 * by the embedded HTTP server (ccpulse/http.h) from what `ccpulse run`
 * writes to Redis (docs/redis.md), so any instance or a wall-only process
 * (`ccpulse wall`) can serve it.
 *
 *   ccp_http_t *h = ccp_http_new();
 *   ccp_wall_t *w = ccp_wall_new(h, &opts, err, sizeof err); // adds routes
 *   ccp_http_start(h, "127.0.0.1:9464", err, sizeof err);
 *   ccp_wall_start(w);            // the Redis reader thread
 *   ...
 *   ccp_wall_stop(w);             // joins the reader
 *   ccp_http_stop(h);
 *   ccp_wall_free(w);
 *   ccp_http_free(h);
 *
 * Routes: /wall/ (the page), /wall/wall.css, /wall/wall.js (embedded at
 * build time from web/), /wall/events (Server-Sent Events), and /wall and /
 * redirecting to /wall/. Every response carries a Content-Security-Policy
 * that allows only the page's own scripts and styles and
 * X-Content-Type-Options: nosniff.
 *
 * Threads: new/start/stop/free on one thread (the server's owner); one
 * reader thread of its own, which alone talks to Redis and posts to the
 * server's feeds; connection threads only read the feeds.
 */
#ifndef CCPULSE_WALL_H
#define CCPULSE_WALL_H

#include <stddef.h>
#include <stdint.h>

#include "ccpulse/buf.h"
#include "ccpulse/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Agents in the wall's table when not configured. */
#define CCP_WALL_AGENTS_DEFAULT 10

/** Options of ccp_wall_new (zero = defaults). */
typedef struct ccp_wall_opts {
  const char *redis_url; /**< redis://...; copied */
  const char *prefix;    /**< key prefix ("ccpulse:" when NULL); copied */
  int agents;            /**< rows of the agents table (CCP_WALL_AGENTS_DEFAULT when 0) */
  int64_t poll_ms;       /**< XREAD BLOCK time-out, the most a new cycle waits (default 25) */
} ccp_wall_opts_t;

/** A wall: routes on a server and the thread reading Redis (opaque). */
typedef struct ccp_wall ccp_wall_t;

/**
 * Creates a wall and adds its routes to h (not started yet). Returns NULL
 * with errbuf on a bad Redis url or a route that cannot be added. Does not
 * connect. Thread of h's owner.
 */
ccp_wall_t *ccp_wall_new(ccp_http_t *h, const ccp_wall_opts_t *o, char *errbuf, size_t errlen);

/**
 * Starts the reader thread (connects to Redis, reconnects every 500 ms while
 * it is unreachable, and says so to the pages). Returns 0 or -CCP_EIO.
 */
int ccp_wall_start(ccp_wall_t *w);

/** Stops and joins the reader thread; idempotent. */
void ccp_wall_stop(ccp_wall_t *w);

/** Stops if needed and frees the wall (its feeds belong to the server). NULL is fine. */
void ccp_wall_free(ccp_wall_t *w);

/**
 * Serves the wall alone: a new server with the wall's routes on listen,
 * started, and the reader running. Returns 0 with *hp and *wp set, or a
 * negative code with errbuf ("cannot listen on ..."). Release with
 * ccp_wall_serve_end(). Main thread.
 */
int ccp_wall_serve(const char *listen, const ccp_wall_opts_t *o, ccp_http_t **hp, ccp_wall_t **wp,
                   char *errbuf, size_t errlen);

/** Stops and frees what ccp_wall_serve() started (NULLs are fine). Main thread. */
void ccp_wall_serve_end(ccp_http_t *h, ccp_wall_t *w);

/**
 * Writes the page's address for a server bound to listen on port into out:
 * "http://HOST:PORT/wall/", with 127.0.0.1 for an empty or 0.0.0.0 host and
 * [::1] for [::]. Returns out. Any thread.
 */
const char *ccp_wall_url(const char *listen, int port, char *out, size_t outlen);

/**
 * Appends the wall settings document that `ccpulse run` stores at
 * `<prefix>v1:wall` (docs/redis.md): {"schema":"ccpulse.wall.v1",
 * "publish_interval_ms":N,"windows":[names],"rules":RULES_JSON}, where
 * rules_json is ccp_rules_json()'s array ("[]" when NULL). Any thread.
 */
void ccp_wall_settings_json(int64_t publish_interval_ms, const char *const *windows, int nwindows,
                            const char *rules_json, ccp_buf_t *out);

/**
 * Writes json to `<prefix>v1:wall` on its own short connection. Returns 0,
 * or -CCP_EIO with errbuf. Any thread (blocks up to about 3 s).
 */
int ccp_wall_settings_write(const char *redis_url, const char *prefix, const char *json,
                            char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
