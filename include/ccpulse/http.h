/*
 * ccpulse — the embedded HTTP server (libmicrohttpd): a route table that
 * other modules fill (/metrics, /healthz, /readyz, the wall page and its
 * Server-Sent Events stream), served from one listening address.
 *
 * Life cycle, on one thread (the main thread of `ccpulse run`):
 *
 *   ccp_http_t *h = ccp_http_new();
 *   ccp_http_route(h, "/metrics", metrics_handler, ctx);  // before start
 *   ccp_http_start(h, "127.0.0.1:9464", err, sizeof err); // binds, serves
 *   ...
 *   ccp_http_stop(h);  // ends every stream, joins every thread
 *   ccp_http_free(h);
 *
 * Requests: GET and HEAD only (HEAD gets GET's headers, no body); another
 * method on a known path gets 405 with `Allow: GET, HEAD`, an unknown path
 * 404. A route's path is matched exactly (ccp_http_route) or as a prefix
 * (ccp_http_route_prefix: "/wall/" matches "/wall/app.js";
 * ccp_http_req_path() gives the whole path). The first matching route in
 * registration order wins.
 *
 * Responses: a handler fills a ccp_http_resp_t: a status (default 200),
 * headers of its choosing (Content-Type, Content-Security-Policy,
 * Cache-Control...; none is added but Content-Length or chunked framing),
 * and one of three bodies:
 *   - bytes written into ccp_http_resp_body() (copied out after the handler);
 *   - static memory (ccp_http_resp_static(): embedded HTML/CSS/JS that lives
 *     as long as the server; not copied);
 *   - a stream (ccp_http_resp_stream()): a callback called again and again
 *     on the connection's own thread to append the next bytes, sent with
 *     chunked encoding as they come; for text/event-stream.
 *
 * Streams and waiting: each connection has its own thread (libmicrohttpd's
 * thread-per-connection mode, bounded by CCP_HTTP_MAX_CONNECTIONS), so a
 * stream callback may block until it has something to send, but it must
 * wait through ccp_http_feed_wait() or ccp_http_sleep(), which wake at once
 * when the server stops; a callback that waits elsewhere delays
 * ccp_http_stop() by as long as it waits. A feed (ccp_http_feed_t) is the
 * fan-out primitive: a producer thread posts the latest message, every
 * waiting stream wakes and copies it; a slow client skips to the latest (a
 * wall wants the present, not a backlog). ccp_http_sse_route() serves a
 * feed as an SSE stream with heartbeats; ccp_http_sse_format() formats one
 * event for hand-written streams.
 *
 * Threads: ccp_http_new/route/start/stop/free on one thread (routes are
 * fixed once started). Handlers and stream callbacks run on connection
 * threads, several at once: what they read must be thread-safe (atomics, a
 * snapshot under a lock, a feed). Every server thread blocks all signals.
 * ccp_http_feed_post() and ccp_http_stopping() may be called from any
 * thread while the server exists.
 */
#ifndef CCPULSE_HTTP_H
#define CCPULSE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ccpulse/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Connections served at once (each has a thread); more are refused. */
#define CCP_HTTP_MAX_CONNECTIONS 128
/** Headers one response may carry besides the framing ones. */
#define CCP_HTTP_MAX_HEADERS 12

/** The server (opaque). */
typedef struct ccp_http ccp_http_t;
/** One request, valid during the handler call (opaque). */
typedef struct ccp_http_req ccp_http_req_t;
/** The response a handler fills (opaque). */
typedef struct ccp_http_resp ccp_http_resp_t;
/** A latest-message fan-out for streams (opaque; owned by its server). */
typedef struct ccp_http_feed ccp_http_feed_t;

/**
 * Answers one request by filling resp. Returns 0; a negative return sends
 * 500 instead of what was filled. Runs on a connection thread, several at
 * once.
 */
typedef int (*ccp_http_handler_fn)(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp);

/**
 * Appends the next bytes of a stream to out (empty on entry). Returns 0 to
 * be called again after out is sent (an empty out: called again at once, so
 * block first, in ccp_http_feed_wait or ccp_http_sleep), 1 when out is the
 * last piece, negative to end the stream now. Runs on the connection's
 * thread; one call at a time per stream.
 */
typedef int (*ccp_http_stream_fn)(void *ctx, ccp_buf_t *out);

/** Creates a server with no routes, not listening. Main thread. */
ccp_http_t *ccp_http_new(void);

/**
 * Adds a route for GET and HEAD on exactly path (copied). Returns 0, or
 * -CCP_EINVAL once started or for a path not starting with '/'. Main
 * thread, before ccp_http_start().
 */
int ccp_http_route(ccp_http_t *h, const char *path, ccp_http_handler_fn fn, void *opaque);

/** As ccp_http_route, for every path starting with prefix. */
int ccp_http_route_prefix(ccp_http_t *h, const char *prefix, ccp_http_handler_fn fn, void *opaque);

/**
 * Checks a listen address "HOST:PORT" ("127.0.0.1:9464", "[::1]:9464",
 * "localhost:0", ":9464" or "0.0.0.0:9464" for every interface; PORT 0 =
 * any free port). Returns 0, or -CCP_EINVAL with errbuf naming the problem.
 * Resolves nothing; any thread.
 */
int ccp_http_listen_check(const char *listen, char *errbuf, size_t errlen);

/**
 * Binds listen (see ccp_http_listen_check) and starts serving on
 * libmicrohttpd's threads. Returns 0, or -CCP_EINVAL (bad address) /
 * -CCP_EIO (cannot resolve, bind or start: e.g. "cannot listen on
 * '127.0.0.1:9464': address already in use") with errbuf. Main thread.
 */
int ccp_http_start(ccp_http_t *h, const char *listen, char *errbuf, size_t errlen);

/** The port bound by ccp_http_start (the chosen one for port 0), or 0. Any thread. */
int ccp_http_port(const ccp_http_t *h);

/**
 * Stops serving: no new connection is accepted, every feed wait and sleep
 * returns at once, open streams end (their free function runs), and the
 * call returns once every server thread is joined. Idempotent. Main thread.
 */
void ccp_http_stop(ccp_http_t *h);

/** Non-zero once ccp_http_stop has begun. Any thread. */
int ccp_http_stopping(const ccp_http_t *h);

/**
 * Sleeps up to ms on a stream's thread, waking at once when the server
 * stops. Returns 0 after the full sleep, -CCP_EEOF when stopping. Any
 * server thread.
 */
int ccp_http_sleep(ccp_http_t *h, int64_t ms);

/** Stops if needed, frees the server, its routes and its feeds. NULL is fine. Main thread. */
void ccp_http_free(ccp_http_t *h);

/* ---- requests ---- */

/** The request path without the query string (e.g. "/wall/app.js"). */
const char *ccp_http_req_path(const ccp_http_req_t *req);
/** The method ("GET" or "HEAD"). */
const char *ccp_http_req_method(const ccp_http_req_t *req);
/** A request header's value (name case-insensitive), or NULL. */
const char *ccp_http_req_header(const ccp_http_req_t *req, const char *name);
/** A query argument's value (decoded; "" for `?key`), or NULL. */
const char *ccp_http_req_query(const ccp_http_req_t *req, const char *key);

/* ---- responses ---- */

/** Sets the status code (default 200). */
void ccp_http_resp_status(ccp_http_resp_t *resp, int status);
/**
 * Adds a header (both strings copied); at most CCP_HTTP_MAX_HEADERS, more
 * are dropped with a warning. "Content-Type" is set this way too.
 */
void ccp_http_resp_header(ccp_http_resp_t *resp, const char *name, const char *value);
/** The body buffer to write into (copied out after the handler returns). */
ccp_buf_t *ccp_http_resp_body(ccp_http_resp_t *resp);
/**
 * Sends len bytes at data as the body without copying: data must live as
 * long as the server (embedded assets). Replaces the body buffer.
 */
void ccp_http_resp_static(ccp_http_resp_t *resp, const void *data, size_t len);
/**
 * Makes the body a stream: fn(ctx, out) is called on the connection's
 * thread until it returns non-zero, the client goes away or the server
 * stops; then free_fn(ctx) runs once (NULL: nothing to free), also when the
 * stream never started. Ownership of ctx passes to the response.
 */
void ccp_http_resp_stream(ccp_http_resp_t *resp, ccp_http_stream_fn fn, void *ctx,
                          void (*free_fn)(void *ctx));
/** Shortcut: status, "Content-Type: text/plain; charset=utf-8" and the text as body. */
void ccp_http_resp_text(ccp_http_resp_t *resp, int status, const char *text);

/* ---- feeds and Server-Sent Events ---- */

/**
 * Creates a feed owned by h (freed with it). Its message is empty with
 * sequence number 0 until the first post. Main thread, before or after
 * start.
 */
ccp_http_feed_t *ccp_http_feed_new(ccp_http_t *h);

/**
 * Replaces the feed's message with len bytes at data (copied), raises its
 * sequence number and wakes every waiter. Any thread; costs one copy, not
 * one per client.
 */
void ccp_http_feed_post(ccp_http_feed_t *f, const void *data, size_t len);

/**
 * Waits up to timeout_ms for a message newer than *seq, then copies it into
 * out (replacing out's contents) and sets *seq to its number. Returns 1 with
 * a message, 0 on timeout (out untouched), -CCP_EEOF when the server stops.
 * A *seq of 0 gets the current message at once when there is one. Any
 * thread (stream callbacks).
 */
int ccp_http_feed_wait(ccp_http_feed_t *f, uint64_t *seq, ccp_buf_t *out, int64_t timeout_ms);

/**
 * Appends one SSE event to out: "event: NAME" (when event is not NULL),
 * "id: ID" (when id is not NULL), one "data: " line per line of data (CR,
 * LF and CRLF all split lines), then the blank line.
 */
void ccp_http_sse_format(ccp_buf_t *out, const char *event, const char *id, const void *data,
                         size_t len);

/**
 * Routes path to an SSE stream of feed f: headers Content-Type
 * text/event-stream, Cache-Control no-store and X-Accel-Buffering no; on
 * connect a "retry: 2000" line and the current message (when posted), then
 * each new message as an event named `event` (NULL: unnamed) with the
 * sequence number as id, and a ": ping" comment after heartbeat_ms without
 * one (keeps proxies and the client's reconnect logic calm). event is
 * copied. Same rules as ccp_http_route.
 */
int ccp_http_sse_route(ccp_http_t *h, const char *path, ccp_http_feed_t *f, const char *event,
                       int64_t heartbeat_ms);

#ifdef __cplusplus
}
#endif
#endif
