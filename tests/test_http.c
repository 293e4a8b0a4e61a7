/* labels: threads */
/*
 * Tests of the embedded HTTP server (src/http/http.c) over real sockets on
 * 127.0.0.1 with a tiny blocking client: listen address checks, buffer,
 * static and streamed bodies with the handler's headers, 404/405, HEAD,
 * chunked streams, an SSE route served to several clients at once (every
 * client sees every post in order when it keeps up), stop ending open
 * streams at once (and freeing their contexts), and a port in use.
 */
#include "ccpulse/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ccp_test.h"
#include "ccpulse/clock.h"
#include "ccpulse/common.h"

static const char page[] = "<!doctype html><title>wall</title>";

/* Connects to 127.0.0.1:port with a receive time-out; -1 on failure. */
static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void send_all(int fd, const char *s) {
  size_t n = strlen(s), off = 0;
  while (off < n) {
    ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    off += (size_t)w;
  }
}

/* Sends one request and reads the whole answer until the server closes. */
static void fetch(int port, const char *request, ccp_buf_t *out) {
  ccp_buf_clear(out);
  int fd = dial(port);
  T_TRUE(fd >= 0);
  if (fd < 0)
    return;
  send_all(fd, request);
  char b[4096];
  ssize_t n;
  while ((n = recv(fd, b, sizeof b, 0)) > 0)
    ccp_buf_append(out, b, (size_t)n);
  close(fd);
}

/* Reads from fd into out until out contains needle; 1 when found. */
static int read_until(int fd, ccp_buf_t *out, const char *needle) {
  char b[4096];
  while (!(out->data && strstr(out->data, needle))) {
    ssize_t n = recv(fd, b, sizeof b, 0);
    if (n <= 0)
      return 0;
    ccp_buf_append(out, b, (size_t)n);
  }
  return 1;
}

static const char *body_of(const ccp_buf_t *r) {
  const char *p = r->data ? strstr(r->data, "\r\n\r\n") : NULL;
  return p ? p + 4 : "";
}

static int hello(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  ccp_http_resp_header(resp, "Content-Type", "text/plain; version=0.0.4");
  ccp_http_resp_header(resp, "Cache-Control", "no-store");
  const char *who = ccp_http_req_query(req, "who");
  ccp_buf_printf(ccp_http_resp_body(resp), "hello %s %s\n", who ? who : "-",
                 ccp_http_req_method(req));
  return 0;
}

static int assets(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  if (strcmp(ccp_http_req_path(req), "/assets/page.html") != 0) {
    ccp_http_resp_text(resp, 404, "no such asset\n");
    return 0;
  }
  ccp_http_resp_header(resp, "Content-Type", "text/html; charset=utf-8");
  ccp_http_resp_header(resp, "Content-Security-Policy", "default-src 'self'");
  ccp_http_resp_static(resp, page, sizeof page - 1);
  return 0;
}

static int failing(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  ccp_buf_puts(ccp_http_resp_body(resp), "never sent");
  return -CCP_EIO;
}

static atomic_int freed; /* stream contexts freed */

typedef struct counter_stream {
  int i, n;
} counter_stream_t;

static int counter_next(void *ctx, ccp_buf_t *out) {
  counter_stream_t *c = ctx;
  ccp_buf_printf(out, "piece %d;", c->i);
  return ++c->i == c->n;
}

static void counter_free(void *ctx) {
  atomic_fetch_add(&freed, 1);
  ccp_free(ctx);
}

static int counter(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  counter_stream_t *c = ccp_calloc(1, sizeof *c);
  c->n = 3;
  ccp_http_resp_header(resp, "Content-Type", "text/plain");
  ccp_http_resp_stream(resp, counter_next, c, counter_free);
  return 0;
}

/* A stream that only ever waits (on the server's sleep): ended by stop. */
typedef struct sleeper_stream {
  ccp_http_t *h;
  int started;
} sleeper_stream_t;

static int sleeper_next(void *ctx, ccp_buf_t *out) {
  sleeper_stream_t *s = ctx;
  if (!s->started) {
    s->started = 1;
    ccp_buf_puts(out, "open\n");
    return 0;
  }
  return ccp_http_sleep(s->h, 60000) < 0 ? -1 : 0;
}

static int sleeper(void *opaque, const ccp_http_req_t *req, ccp_http_resp_t *resp) {
  sleeper_stream_t *s = ccp_calloc(1, sizeof *s);
  s->h = opaque;
  ccp_http_resp_stream(resp, sleeper_next, s, counter_free);
  return 0;
}

static void test_listen_check(void) {
  char err[256];
  const char *good[] = {"127.0.0.1:9464", "localhost:0", ":9464",
                        "0.0.0.0:1",      "[::1]:9464",  "host-1.example.com:65535"};
  for (size_t i = 0; i < CCP_ARRAY_LEN(good); i++)
    T_EQ_INT(ccp_http_listen_check(good[i], err, sizeof err), 0);
  const char *bad[] = {"",         "9464",      "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x",
                       "::1:9464", "[::1]9464", "a b:80",     "h:123456",        "127.0.0.1:-1"};
  for (size_t i = 0; i < CCP_ARRAY_LEN(bad); i++) {
    err[0] = 0;
    T_EQ_INT(ccp_http_listen_check(bad[i], err, sizeof err), -CCP_EINVAL);
    T_TRUE(strstr(err, "listen address") != NULL);
  }
}

typedef struct sse_reader {
  int port;
  int ok; /* saw both posts in order */
  ccp_buf_t got;
  pthread_barrier_t *ready;
  int eof_after_stop;
} sse_reader_t;

static void *sse_read(void *arg) {
  sse_reader_t *r = arg;
  int fd = dial(r->port);
  if (fd < 0) {
    pthread_barrier_wait(r->ready);
    return NULL;
  }
  send_all(fd, "GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n");
  int opened = read_until(fd, &r->got, "retry: 2000");
  pthread_barrier_wait(r->ready);
  r->ok = opened && read_until(fd, &r->got, "data: second\n") &&
          strstr(r->got.data, "event: tick\nid: 1\ndata: first line\ndata: two\n\n") != NULL &&
          strstr(r->got.data, "event: tick\nid: 2\ndata: second\n\n") != NULL;
  char b[256];
  ssize_t n;
  while ((n = recv(fd, b, sizeof b, 0)) > 0)
    ccp_buf_append(&r->got, b, (size_t)n);
  r->eof_after_stop = n == 0;
  close(fd);
  return NULL;
}

static void test_server(void) {
  char err[256];
  ccp_http_t *h = ccp_http_new();
  ccp_http_feed_t *feed = ccp_http_feed_new(h);
  T_EQ_INT(ccp_http_route(h, "/hello", hello, NULL), 0);
  T_EQ_INT(ccp_http_route_prefix(h, "/assets/", assets, NULL), 0);
  T_EQ_INT(ccp_http_route(h, "/fail", failing, NULL), 0);
  T_EQ_INT(ccp_http_route(h, "/stream", counter, NULL), 0);
  T_EQ_INT(ccp_http_route(h, "/sleep", sleeper, h), 0);
  T_EQ_INT(ccp_http_sse_route(h, "/events", feed, "tick", 50), 0);
  T_EQ_INT(ccp_http_route(h, "relative", hello, NULL), -CCP_EINVAL);
  T_EQ_INT(ccp_http_start(h, "127.0.0.1:0", err, sizeof err), 0);
  int port = ccp_http_port(h);
  T_TRUE(port > 0);
  T_EQ_INT(ccp_http_route(h, "/late", hello, NULL), -CCP_EINVAL);

  ccp_buf_t r;
  ccp_buf_init(&r);
  fetch(port, "GET /hello?who=me HTTP/1.0\r\n\r\n", &r);
  T_TRUE(strncmp(r.data, "HTTP/1.0 200", 12) == 0 || strncmp(r.data, "HTTP/1.1 200", 12) == 0);
  T_TRUE(strstr(r.data, "Content-Type: text/plain; version=0.0.4\r\n") != NULL);
  T_TRUE(strstr(r.data, "Cache-Control: no-store\r\n") != NULL);
  T_EQ_STR(body_of(&r), "hello me GET\n");

  fetch(port, "HEAD /hello HTTP/1.0\r\n\r\n", &r);
  T_TRUE(strstr(r.data, " 200 ") != NULL);
  T_EQ_STR(body_of(&r), "");

  fetch(port, "GET /assets/page.html HTTP/1.0\r\n\r\n", &r);
  T_TRUE(strstr(r.data, "Content-Security-Policy: default-src 'self'\r\n") != NULL);
  T_TRUE(strstr(r.data, "Content-Type: text/html; charset=utf-8\r\n") != NULL);
  T_EQ_STR(body_of(&r), page);
  fetch(port, "GET /assets/other.js HTTP/1.0\r\n\r\n", &r);
  T_TRUE(strstr(r.data, " 404 ") != NULL);
  T_EQ_STR(body_of(&r), "no such asset\n");

  fetch(port, "GET /nowhere HTTP/1.0\r\n\r\n", &r);
  T_TRUE(strstr(r.data, " 404 ") != NULL);
  fetch(port, "POST /hello HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &r);
  T_TRUE(strstr(r.data, " 405 ") != NULL);
  T_TRUE(strstr(r.data, "Allow: GET, HEAD\r\n") != NULL);
  fetch(port, "GET /fail HTTP/1.0\r\n\r\n", &r);
  T_TRUE(strstr(r.data, " 500 ") != NULL);
  T_TRUE(strstr(r.data, "never sent") == NULL);

  /* a stream over HTTP/1.1: chunked */
  fetch(port, "GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
  T_TRUE(strstr(r.data, "Transfer-Encoding: chunked\r\n") != NULL);
  T_TRUE(strstr(body_of(&r), "piece 0;") != NULL);
  T_TRUE(strstr(body_of(&r), "piece 2;") != NULL);
  T_TRUE(strstr(body_of(&r), "\r\n0\r\n\r\n") != NULL); /* the last chunk */
  /* and over HTTP/1.0: plain bytes to the close */
  fetch(port, "GET /stream HTTP/1.0\r\n\r\n", &r);
  T_EQ_STR(body_of(&r), "piece 0;piece 1;piece 2;");
  T_EQ_INT(atomic_load(&freed), 2);

  /* a feed wait times out with nothing new */
  uint64_t seq = 0;
  ccp_buf_t m;
  ccp_buf_init(&m);
  T_EQ_INT(ccp_http_feed_wait(feed, &seq, &m, 20), 0);

  /* SSE: 4 clients, two posts each seen by all, then stop ends the streams */
  enum { NC = 4 };
  sse_reader_t rd[NC];
  pthread_t th[NC];
  pthread_barrier_t ready;
  pthread_barrier_init(&ready, NULL, NC + 1);
  for (int i = 0; i < NC; i++) {
    memset(&rd[i], 0, sizeof rd[i]);
    rd[i].port = port;
    rd[i].ready = &ready;
    ccp_buf_init(&rd[i].got);
    pthread_create(&th[i], NULL, sse_read, &rd[i]);
  }
  pthread_barrier_wait(&ready); /* every client has its stream open */
  int sl = dial(port);          /* and one stream that only sleeps */
  ccp_buf_t sb;
  ccp_buf_init(&sb);
  send_all(sl, "GET /sleep HTTP/1.0\r\n\r\n");
  T_TRUE(read_until(sl, &sb, "open\n"));
  ccp_http_feed_post(feed, "first line\ntwo", 14);
  /* the clients may see the first post after the second is posted: give
   * them time, a late client would then skip "first" (latest message wins) */
  int64_t t0 = ccp_clock_mono_ms();
  while (ccp_clock_mono_ms() - t0 < 200)
    usleep(10000);
  ccp_http_feed_post(feed, "second", 6);
  t0 = ccp_clock_mono_ms();
  while (ccp_clock_mono_ms() - t0 < 300)
    usleep(10000); /* heartbeats flow meanwhile (50 ms) */
  int64_t s0 = ccp_clock_mono_ms();
  ccp_http_stop(h);
  int64_t stop_ms = ccp_clock_mono_ms() - s0;
  printf("stop with %d open streams took %lld ms\n", NC + 1, (long long)stop_ms);
  T_LE_INT(stop_ms, 1000);
  for (int i = 0; i < NC; i++) {
    pthread_join(th[i], NULL);
    T_TRUE(rd[i].ok);
    T_TRUE(rd[i].eof_after_stop);
    T_TRUE(strstr(rd[i].got.data, ": ping\n\n") != NULL);
    T_TRUE(strstr(rd[i].got.data, "Content-Type: text/event-stream\r\n") != NULL);
    if (!rd[i].ok)
      fprintf(stderr, "client %d got:\n%s\n", i, rd[i].got.data);
    ccp_buf_release(&rd[i].got);
  }
  char b[64];
  T_TRUE(recv(sl, b, sizeof b, 0) <= 0 || recv(sl, b, sizeof b, 0) <= 0);
  close(sl);
  T_EQ_INT(atomic_load(&freed), 3); /* the sleeper's context too */
  T_EQ_INT(ccp_http_feed_wait(feed, &seq, &m, 1000), -CCP_EEOF);
  T_EQ_INT(ccp_http_sleep(h, 1000), -CCP_EEOF);
  T_TRUE(ccp_http_stopping(h));
  pthread_barrier_destroy(&ready);
  ccp_buf_release(&sb);
  ccp_buf_release(&m);
  ccp_buf_release(&r);
  ccp_http_free(h);
}

static void test_port_in_use(void) {
  char err[256], addr[64];
  ccp_http_t *a = ccp_http_new(), *b = ccp_http_new();
  T_EQ_INT(ccp_http_start(a, "127.0.0.1:0", err, sizeof err), 0);
  snprintf(addr, sizeof addr, "127.0.0.1:%d", ccp_http_port(a));
  T_EQ_INT(ccp_http_start(b, addr, err, sizeof err), -CCP_EIO);
  T_TRUE(strstr(err, "cannot listen on '127.0.0.1:") != NULL);
  T_TRUE(strstr(err, "in use") != NULL);
  T_EQ_INT(ccp_http_start(b, "127.0.0.1:x", err, sizeof err), -CCP_EINVAL);
  ccp_http_free(b);
  ccp_http_free(a);
}

static void test_sse_format(void) {
  ccp_buf_t b;
  ccp_buf_init(&b);
  ccp_http_sse_format(&b, "snap", "7", "a\r\nb\rc\n", 7);
  T_EQ_STR(b.data, "event: snap\nid: 7\ndata: a\ndata: b\ndata: c\n\n");
  ccp_buf_clear(&b);
  ccp_http_sse_format(&b, NULL, NULL, "", 0);
  T_EQ_STR(b.data, "data: \n\n");
  ccp_buf_release(&b);
}

int main(void) {
  T_RUN(test_listen_check);
  T_RUN(test_sse_format);
  T_RUN(test_server);
  T_RUN(test_port_in_use);
  return T_DONE();
}
