/*
 * The embedded HTTP server (see include/ccpulse/http.h) on libmicrohttpd.
 *
 * Threads: libmicrohttpd runs in thread-per-connection mode with an internal
 * listening thread: the listener accepts, each connection gets a thread that
 * reads the request, calls our access handler (route lookup, the handler,
 * the response built and queued) and, for a stream, our content reader,
 * which calls the stream callback until it has bytes. That mode is chosen
 * over one polling thread with suspend/resume because a stream callback may
 * then simply block (on a feed) instead of returning "no data yet", which
 * libmicrohttpd 0.9.75 would poll for in a busy loop; the price is one
 * thread per open connection, bounded by CCP_HTTP_MAX_CONNECTIONS. Every
 * server thread is created with all signals blocked (the mask is inherited
 * from ccp_http_start, which blocks them around MHD_start_daemon), so
 * SIGINT/SIGTERM stay with the main thread.
 *
 * The listening socket is ours (bound in ccp_http_start, handed over with
 * MHD_OPTION_LISTEN_SOCKET): bind errors (address in use) come back with
 * errno and the address, and port 0 reports the chosen port.
 *
 * Waiting and stopping: one mutex and one condition variable (monotonic
 * clock) per server serve every feed wait and sleep; a post or the stop
 * broadcasts. `stopping` is written under the mutex (so a waiter cannot miss
 * the broadcast) and read lock-free elsewhere. ccp_http_stop sets it,
 * broadcasts, then MHD_stop_daemon closes the connections and joins every
 * thread: a stream blocked in a feed wait returns at once, its content
 * reader ends the stream, libmicrohttpd frees the response and with it the
 * stream's context.
 *
 * Invariants: routes are only added before start (handlers read the table
 * without a lock); a feed's message and sequence number change only under
 * the server mutex.
 */
#include "ccpulse/http.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <netinet/in.h>

#include "ccpulse/clock.h"
#include "ccpulse/common.h"
#include "ccpulse/log.h"

/* Seconds an idle keep-alive connection (no request, no stream) is kept. */
#define IDLE_TIMEOUT_S 30
/* Block size of a stream's chunks as libmicrohttpd asks for them. */
#define STREAM_BLOCK 16384

typedef struct route {
  char *path;
  size_t len;
  int prefix; /* matches every path starting with path */
  ccp_http_handler_fn fn;
  void *opaque;
  void *owned; /* freed with the server (an SSE route's state) */
} route_t;

struct ccp_http_feed {
  ccp_http_t *h;
  ccp_buf_t msg; /* the latest message, under h->mu */
  uint64_t seq;  /* its number, 0 = none yet; under h->mu */
  ccp_http_feed_t *next;
};

struct ccp_http {
  route_t *routes;
  int nroutes, cap;
  struct MHD_Daemon *d;
  int port;
  int started;
  _Atomic int stopping;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC */
  ccp_http_feed_t *feeds;
};

struct ccp_http_req {
  struct MHD_Connection *conn;
  const char *path;
  const char *method;
};

enum { BODY_BUF, BODY_STATIC, BODY_STREAM };

struct ccp_http_resp {
  int status;
  int nheaders;
  char *names[CCP_HTTP_MAX_HEADERS];
  char *values[CCP_HTTP_MAX_HEADERS];
  int kind;
  ccp_buf_t body;
  const void *static_data;
  size_t static_len;
  ccp_http_stream_fn stream;
  void *ctx;
  void (*free_fn)(void *ctx);
};

/* A stream being served: what the content reader needs. */
typedef struct stream {
  ccp_http_t *h;
  ccp_http_stream_fn fn;
  void *ctx;
  void (*free_fn)(void *ctx);
  ccp_buf_t pending; /* bytes from the callback not yet handed to libmicrohttpd */
  size_t off;
  int last; /* the callback said pending is the last piece */
} stream_t;

/* ---- server life cycle ---- */

ccp_http_t *ccp_http_new(void) {
  ccp_http_t *h = ccp_calloc(1, sizeof *h);
  pthread_mutex_init(&h->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&h->cv, &ca);
  pthread_condattr_destroy(&ca);
  return h;
}

static int add_route(ccp_http_t *h, const char *path, int prefix, ccp_http_handler_fn fn,
                     void *opaque, void *owned) {
  if (h->started || !path || path[0] != '/' || !fn)
    return -CCP_EINVAL;
  if (h->nroutes == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 8;
    h->routes = ccp_realloc(h->routes, (size_t)h->cap * sizeof *h->routes);
  }
  route_t *r = &h->routes[h->nroutes++];
  r->path = ccp_strdup(path);
  r->prefix = prefix;
  r->len = strlen(path);
  r->fn = fn;
  r->opaque = opaque;
  r->owned = owned;
  return 0;
}

int ccp_http_route(ccp_http_t *h, const char *path, ccp_http_handler_fn fn, void *opaque) {
  return add_route(h, path, 0, fn, opaque, NULL);
}

int ccp_http_route_prefix(ccp_http_t *h, const char *prefix, ccp_http_handler_fn fn, void *opaque) {
  return add_route(h, prefix, 1, fn, opaque, NULL);
}

/* Splits "HOST:PORT" into host (brackets removed, "" for none) and port;
 * 0 or -CCP_EINVAL with errbuf. */
static int split_listen(const char *addr, char *host, size_t hostlen, char *port, size_t portlen,
                        char *errbuf, size_t errlen) {
  if (!addr || !*addr) {
    snprintf(errbuf, errlen, "empty listen address (expected HOST:PORT)");
    return -CCP_EINVAL;
  }
  const char *colon, *hs = addr, *he;
  if (addr[0] == '[') {
    const char *rb = strchr(addr, ']');
    if (!rb || rb[1] != ':') {
      snprintf(errbuf, errlen, "invalid listen address '%s' (expected [IPV6]:PORT)", addr);
      return -CCP_EINVAL;
    }
    hs = addr + 1;
    he = rb;
    colon = rb + 1;
  } else {
    colon = strrchr(addr, ':');
    if (!colon) {
      snprintf(errbuf, errlen, "invalid listen address '%s' (expected HOST:PORT)", addr);
      return -CCP_EINVAL;
    }
    he = colon;
    if (memchr(addr, ':', (size_t)(colon - addr))) {
      snprintf(errbuf, errlen, "invalid listen address '%s' (an IPv6 host goes in brackets)", addr);
      return -CCP_EINVAL;
    }
  }
  size_t hl = (size_t)(he - hs);
  for (const char *p = hs; p < he; p++)
    if (!(((*p | 32) >= 'a' && (*p | 32) <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
          *p == '-' || *p == '_' || (*p == ':' && addr[0] == '[') || *p == '%')) {
      snprintf(errbuf, errlen, "invalid listen address '%s' (bad character in host)", addr);
      return -CCP_EINVAL;
    }
  const char *ps = colon + 1;
  size_t pl = strlen(ps);
  long v = 0;
  int ok = pl > 0 && pl <= 5;
  for (size_t i = 0; ok && i < pl; i++) {
    ok = ps[i] >= '0' && ps[i] <= '9';
    v = v * 10 + (ps[i] - '0');
  }
  if (!ok || v > 65535) {
    snprintf(errbuf, errlen, "invalid listen address '%s' (port must be 0..65535)", addr);
    return -CCP_EINVAL;
  }
  if (hl >= hostlen || pl >= portlen) {
    snprintf(errbuf, errlen, "invalid listen address '%s' (host too long)", addr);
    return -CCP_EINVAL;
  }
  memcpy(host, hs, hl);
  host[hl] = 0;
  memcpy(port, ps, pl);
  port[pl] = 0;
  return 0;
}

int ccp_http_listen_check(const char *addr, char *errbuf, size_t errlen) {
  char host[256], port[8];
  return split_listen(addr, host, sizeof host, port, sizeof port, errbuf, errlen);
}

/* Binds and listens on host:port; the socket, or -1 with errbuf. */
static int bind_listen(const char *addr, const char *host, const char *port, char *errbuf,
                       size_t errlen) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gr = getaddrinfo(*host ? host : "0.0.0.0", port, &hints, &res);
  if (gr != 0) {
    snprintf(errbuf, errlen, "cannot listen on '%s': %s", addr, gai_strerror(gr));
    return -1;
  }
  int fd = -1, err = 0;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
      break;
    err = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    snprintf(errbuf, errlen, "cannot listen on '%s': %s", addr, strerror(err));
  return fd;
}

/* libmicrohttpd's own error lines, into ours. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = 0;
  ccp_log(CCP_LOG_WARN, "http", "%s", line);
}

/* ---- requests and responses ---- */

const char *ccp_http_req_path(const ccp_http_req_t *req) { return req->path; }
const char *ccp_http_req_method(const ccp_http_req_t *req) { return req->method; }

const char *ccp_http_req_header(const ccp_http_req_t *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *ccp_http_req_query(const ccp_http_req_t *req, const char *key) {
  const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
  if (!v && MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), NULL,
                                          NULL) == MHD_YES)
    v = ""; /* `?key` without a value */
  return v;
}

void ccp_http_resp_status(ccp_http_resp_t *resp, int status) { resp->status = status; }

void ccp_http_resp_header(ccp_http_resp_t *resp, const char *name, const char *value) {
  if (resp->nheaders == CCP_HTTP_MAX_HEADERS) {
    ccp_log(CCP_LOG_WARN, "http", "too many response headers: '%s' dropped", name);
    return;
  }
  resp->names[resp->nheaders] = ccp_strdup(name);
  resp->values[resp->nheaders++] = ccp_strdup(value);
}

ccp_buf_t *ccp_http_resp_body(ccp_http_resp_t *resp) { return &resp->body; }

void ccp_http_resp_static(ccp_http_resp_t *resp, const void *data, size_t len) {
  resp->kind = BODY_STATIC;
  resp->static_data = data;
  resp->static_len = len;
}

void ccp_http_resp_stream(ccp_http_resp_t *resp, ccp_http_stream_fn fn, void *ctx,
                          void (*free_fn)(void *ctx)) {
  if (resp->kind == BODY_STREAM && resp->free_fn) /* replaced: the old one is freed */
    resp->free_fn(resp->ctx);
  resp->kind = BODY_STREAM;
  resp->stream = fn;
  resp->ctx = ctx;
  resp->free_fn = free_fn;
}

void ccp_http_resp_text(ccp_http_resp_t *resp, int status, const char *text) {
  resp->status = status;
  ccp_http_resp_header(resp, "Content-Type", "text/plain; charset=utf-8");
  resp->kind = BODY_BUF;
  ccp_buf_clear(&resp->body);
  ccp_buf_puts(&resp->body, text);
}

/* Frees what a response holds; a stream not handed to libmicrohttpd is freed. */
static void resp_release(ccp_http_resp_t *resp) {
  for (int i = 0; i < resp->nheaders; i++) {
    ccp_free(resp->names[i]);
    ccp_free(resp->values[i]);
  }
  resp->nheaders = 0;
  if (resp->kind == BODY_STREAM && resp->free_fn)
    resp->free_fn(resp->ctx);
  resp->kind = BODY_BUF;
  resp->free_fn = NULL;
  ccp_buf_release(&resp->body);
}

/* libmicrohttpd's content reader: hands out what the stream callback wrote,
 * calling it again (on this connection's thread, where it may block) when
 * all was sent. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  stream_t *s = cls;
  while (s->off == s->pending.len) {
    if (s->last || atomic_load_explicit(&s->h->stopping, memory_order_relaxed))
      return MHD_CONTENT_READER_END_OF_STREAM;
    ccp_buf_clear(&s->pending);
    s->off = 0;
    int r = s->fn(s->ctx, &s->pending);
    if (r < 0)
      return MHD_CONTENT_READER_END_OF_STREAM;
    s->last = r > 0;
  }
  size_t n = CCP_MIN(max, s->pending.len - s->off);
  memcpy(buf, s->pending.data + s->off, n);
  s->off += n;
  return (ssize_t)n;
}

static void stream_free(void *cls) {
  stream_t *s = cls;
  if (s->free_fn)
    s->free_fn(s->ctx);
  ccp_buf_release(&s->pending);
  ccp_free(s);
}

/* Builds libmicrohttpd's response from ours (which is emptied); NULL on failure. */
static struct MHD_Response *build_response(ccp_http_t *h, ccp_http_resp_t *resp) {
  struct MHD_Response *r = NULL;
  if (resp->kind == BODY_STATIC) {
    r = MHD_create_response_from_buffer(resp->static_len, (void *)resp->static_data,
                                        MHD_RESPMEM_PERSISTENT);
  } else if (resp->kind == BODY_STREAM) {
    stream_t *s = ccp_calloc(1, sizeof *s);
    s->h = h;
    s->fn = resp->stream;
    s->ctx = resp->ctx;
    s->free_fn = resp->free_fn;
    resp->free_fn = NULL; /* the stream owns ctx now, freed by stream_free even on failure */
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s,
                                          stream_free);
    if (!r)
      stream_free(s);
  } else {
    r = MHD_create_response_from_buffer(resp->body.len, resp->body.data ? resp->body.data : "",
                                        MHD_RESPMEM_MUST_COPY);
  }
  if (!r)
    return NULL;
  for (int i = 0; i < resp->nheaders; i++)
    if (MHD_add_response_header(r, resp->names[i], resp->values[i]) != MHD_YES)
      ccp_log(CCP_LOG_WARN, "http", "response header '%s' refused", resp->names[i]);
  return r;
}

static enum MHD_Result queue_text(struct MHD_Connection *conn, unsigned status, const char *text,
                                  const char *allow) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
  if (allow)
    MHD_add_response_header(r, "Allow", allow);
  enum MHD_Result q = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return q;
}

static const route_t *find_route(const ccp_http_t *h, const char *path) {
  for (int i = 0; i < h->nroutes; i++) {
    const route_t *r = &h->routes[i];
    if (r->prefix ? strncmp(path, r->path, r->len) == 0 : strcmp(path, r->path) == 0)
      return r;
  }
  return NULL;
}

/* libmicrohttpd's access handler: one call per request (GET and HEAD carry
 * no body we read, so the response is queued on the first call). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  ccp_http_t *h = cls;
  const route_t *rt = find_route(h, url);
  if (!rt)
    return queue_text(conn, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return queue_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
  ccp_http_req_t req = {.conn = conn, .path = url, .method = method};
  ccp_http_resp_t resp;
  memset(&resp, 0, sizeof resp);
  resp.status = 200;
  ccp_buf_init(&resp.body);
  if (rt->fn(rt->opaque, &req, &resp) < 0) {
    resp_release(&resp);
    return queue_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
  }
  struct MHD_Response *r = build_response(h, &resp);
  int status = resp.status;
  resp_release(&resp);
  if (!r)
    return MHD_NO; /* libmicrohttpd closes the connection */
  enum MHD_Result q = MHD_queue_response(conn, (unsigned)status, r);
  MHD_destroy_response(r); /* libmicrohttpd keeps its reference until sent */
  return q;
}

int ccp_http_start(ccp_http_t *h, const char *addr, char *errbuf, size_t errlen) {
  char host[256], port[8];
  if (h->started) {
    snprintf(errbuf, errlen, "http server already started");
    return -CCP_EINVAL;
  }
  if (split_listen(addr, host, sizeof host, port, sizeof port, errbuf, errlen) != 0)
    return -CCP_EINVAL;
  int fd = bind_listen(addr, host, port, errbuf, errlen);
  if (fd < 0)
    return -CCP_EIO;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
  /* every server thread inherits a mask with all signals blocked */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                              MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
                          0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                          MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
                          (unsigned)CCP_HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                          (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!h->d) {
    close(fd);
    h->port = 0;
    snprintf(errbuf, errlen, "cannot start the http server on '%s'", addr);
    return -CCP_EIO;
  }
  h->started = 1;
  return 0;
}

int ccp_http_port(const ccp_http_t *h) { return h ? h->port : 0; }

int ccp_http_stopping(const ccp_http_t *h) {
  /* relaxed: a reader seeing it late runs one more wait, which the
   * broadcast under the mutex then ends */
  return atomic_load_explicit(&((ccp_http_t *)h)->stopping, memory_order_relaxed);
}

void ccp_http_stop(ccp_http_t *h) {
  if (!h)
    return;
  pthread_mutex_lock(&h->mu);
  atomic_store_explicit(&h->stopping, 1, memory_order_relaxed); /* under mu: no lost wake-up */
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
  if (h->d) {
    MHD_stop_daemon(h->d); /* closes the sockets, joins every thread */
    h->d = NULL;
  }
}

void ccp_http_free(ccp_http_t *h) {
  if (!h)
    return;
  ccp_http_stop(h);
  for (int i = 0; i < h->nroutes; i++) {
    ccp_free(h->routes[i].path);
    ccp_free(h->routes[i].owned);
  }
  ccp_free(h->routes);
  for (ccp_http_feed_t *f = h->feeds, *n; f; f = n) {
    n = f->next;
    ccp_buf_release(&f->msg);
    ccp_free(f);
  }
  pthread_cond_destroy(&h->cv);
  pthread_mutex_destroy(&h->mu);
  ccp_free(h);
}

/* ---- waiting: feeds and sleeps ---- */

int ccp_http_sleep(ccp_http_t *h, int64_t ms) {
  struct timespec until = ccp_clock_deadline(CLOCK_MONOTONIC, ms);
  int rc = 0;
  pthread_mutex_lock(&h->mu);
  for (;;) {
    if (atomic_load_explicit(&h->stopping, memory_order_relaxed)) {
      rc = -CCP_EEOF;
      break;
    }
    if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
      break;
  }
  pthread_mutex_unlock(&h->mu);
  return rc;
}

ccp_http_feed_t *ccp_http_feed_new(ccp_http_t *h) {
  ccp_http_feed_t *f = ccp_calloc(1, sizeof *f);
  f->h = h;
  ccp_buf_init(&f->msg);
  pthread_mutex_lock(&h->mu);
  f->next = h->feeds;
  h->feeds = f;
  pthread_mutex_unlock(&h->mu);
  return f;
}

void ccp_http_feed_post(ccp_http_feed_t *f, const void *data, size_t len) {
  ccp_http_t *h = f->h;
  pthread_mutex_lock(&h->mu);
  ccp_buf_clear(&f->msg);
  ccp_buf_append(&f->msg, data, len);
  f->seq++;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
}

int ccp_http_feed_wait(ccp_http_feed_t *f, uint64_t *seq, ccp_buf_t *out, int64_t timeout_ms) {
  ccp_http_t *h = f->h;
  struct timespec until = ccp_clock_deadline(CLOCK_MONOTONIC, timeout_ms);
  int rc = 0, timed_out = 0; /* after a time-out the feed is looked at once more */
  pthread_mutex_lock(&h->mu);
  for (;;) {
    if (atomic_load_explicit(&h->stopping, memory_order_relaxed)) {
      rc = -CCP_EEOF;
      break;
    }
    if (f->seq != 0 && f->seq != *seq) {
      ccp_buf_clear(out);
      ccp_buf_append(out, f->msg.data ? f->msg.data : "", f->msg.len);
      *seq = f->seq;
      rc = 1;
      break;
    }
    if (timed_out)
      break;
    timed_out = pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT;
  }
  pthread_mutex_unlock(&h->mu);
  return rc;
}

/* ---- Server-Sent Events ---- */

void ccp_http_sse_format(ccp_buf_t *out, const char *event, const char *id, const void *data,
                         size_t len) {
  if (event)
    ccp_buf_printf(out, "event: %s\n", event);
  if (id)
    ccp_buf_printf(out, "id: %s\n", id);
  const char *p = data, *end = p + len;
  do { /* an empty message is one empty data line */
    const char *e = p;
    while (e < end && *e != '\n' && *e != '\r')
      e++;
    ccp_buf_puts(out, "data: ");
    ccp_buf_append(out, p, (size_t)(e - p));
    ccp_buf_putc(out, '\n');
    if (e < end && *e == '\r' && e + 1 < end && e[1] == '\n')
      e++;
    p = e + 1;
  } while (p < end);
  ccp_buf_putc(out, '\n');
}

/* An SSE route: the feed and how its messages are framed. */
typedef struct sse_route {
  ccp_http_feed_t *feed;
  int64_t heartbeat_ms;
  char event[64]; /* "" = unnamed */
} sse_route_t;

/* One client of an SSE route. */
typedef struct sse_client {
  const sse_route_t *r;
  uint64_t seq;
  int started;
  ccp_buf_t msg;
} sse_client_t;

static int sse_next(void *ctx, ccp_buf_t *out) {
  sse_client_t *c = ctx;
  if (!c->started) { /* sent at once: the client sees the stream open */
    c->started = 1;
    ccp_buf_puts(out, "retry: 2000\n\n");
    return 0;
  }
  int r = ccp_http_feed_wait(c->r->feed, &c->seq, &c->msg, c->r->heartbeat_ms);
  if (r < 0)
    return -1;
  if (r == 0) {
    ccp_buf_puts(out, ": ping\n\n");
    return 0;
  }
  char id[24];
  snprintf(id, sizeof id, "%llu", (unsigned long long)c->seq);
  ccp_http_sse_format(out, c->r->event[0] ? c->r->event : NULL, id, c->msg.data, c->msg.len);
  return 0;
}

static void sse_free(void *ctx) {
  sse_client_t *c = ctx;
  ccp_buf_release(&c->msg);
  ccp_free(c);
}

static int sse_handler(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  sse_client_t *c = ccp_calloc(1, sizeof *c);
  c->r = opaque;
  ccp_buf_init(&c->msg);
  ccp_http_resp_header(resp, "Content-Type", "text/event-stream");
  ccp_http_resp_header(resp, "Cache-Control", "no-store");
  ccp_http_resp_header(resp, "X-Accel-Buffering", "no");
  ccp_http_resp_stream(resp, sse_next, c, sse_free);
  return 0;
}

int ccp_http_sse_route(ccp_http_t *h, const char *path, ccp_http_feed_t *f, const char *event,
                       int64_t heartbeat_ms) {
  if (!f || f->h != h || (event && strlen(event) >= sizeof((sse_route_t *)0)->event) ||
      heartbeat_ms <= 0)
    return -CCP_EINVAL;
  sse_route_t *r = ccp_calloc(1, sizeof *r);
  r->feed = f;
  r->heartbeat_ms = heartbeat_ms;
  if (event)
    snprintf(r->event, sizeof r->event, "%s", event);
  int rc = add_route(h, path, 0, sse_handler, r, r);
  if (rc != 0)
    ccp_free(r);
  return rc;
}
