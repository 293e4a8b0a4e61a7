/*
 * A redis-server child for tests (test_redis_pub.c, test_stress_consumer.c):
 * started on a free loopback port with no persistence, always stopped — it
 * is our child, killed at exit (atexit/signal handlers the test installs
 * with redis_child_start_or_skip) and, through PR_SET_PDEATHSIG, when the
 * test dies. Header-only; one server per test binary (file-level state).
 */
#ifndef CCP_REDIS_TESTUTIL_H
#define CCP_REDIS_TESTUTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ccp_test.h"
#include "ccpulse/clock.h"

static pid_t server_pid = -1; /* the redis-server child, -1 when none */
static int port;              /* its port */

/** 1 when redis-server is on PATH. */
static inline int have_redis_server(void) {
  return system("command -v redis-server >/dev/null 2>&1") == 0;
}

/** A loopback TCP port nobody listens on right now. */
static inline int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    perror("free_port");
    exit(2);
  }
  close(fd);
  return ntohs(a.sin_port);
}

/** A connection to the child (5 s command timeout), or NULL. */
static inline redisContext *connect_plain(int timeout_ms) {
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c && c->err) {
    redisFree(c);
    return NULL;
  }
  if (c)
    redisSetTimeout(c, (struct timeval){5, 0});
  return c;
}

/** Runs a command on c; on a connection error prints it and exits 2 (the
 * server child is killed at exit). The caller frees the reply. */
static inline redisReply *redis_cmd(redisContext *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(c, fmt, ap);
  va_end(ap);
  if (!r) {
    fprintf(stderr, "redis command failed: %s\n", c->errstr);
    exit(2);
  }
  return r;
}

/** Kills the child and reaps it (no-op when none runs). */
static inline void server_stop(void) {
  if (server_pid <= 0)
    return;
  kill(server_pid, SIGKILL);
  waitpid(server_pid, NULL, 0);
  server_pid = -1;
}

/** Starts the child on port and waits up to 10 s for PING; exits 2 on failure. */
static inline void server_start(void) {
  char p[16];
  snprintf(p, sizeof p, "%d", port);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes", (char *)NULL);
    _exit(127);
  }
  server_pid = pid;
  for (int i = 0; i < 200; i++) { /* up to 10 s */
    redisContext *c = connect_plain(200);
    if (c) {
      redisReply *r = redisCommand(c, "PING");
      int ok = r && r->type == REDIS_REPLY_STATUS;
      if (r)
        freeReplyObject(r);
      redisFree(c);
      if (ok)
        return;
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      server_pid = -1;
      fprintf(stderr, "redis-server on port %d exited at start-up\n", port);
      exit(2);
    }
    ccp_clock_sleep_ms(50);
  }
  server_stop();
  fprintf(stderr, "redis-server on port %d did not answer PING within 10 s\n", port);
  exit(2);
}

/** Signal handler: kills the child, then dies of the signal. */
static inline void on_signal(int sig) {
  if (server_pid > 0)
    kill(server_pid, SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

/**
 * Starts the server on a free port (sets port) with stop-at-exit and signal
 * handlers, or ends the test as skipped (T_SKIP_CODE) when redis-server is
 * not installed.
 */
static inline void redis_child_start_or_skip(void) {
  if (!have_redis_server())
    T_SKIP("redis-server is not installed (bash scripts/setup-deps.sh installs it)");
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGABRT, on_signal);
  port = free_port();
  server_start();
  atexit(server_stop);
}

/**
 * redis_child_start_or_skip(), then url = "redis://127.0.0.1:<port>/0" and
 * a connection of the test to it; exits 2 when it cannot connect.
 */
static inline redisContext *redis_child_connect_or_skip(char *url, size_t len) {
  redis_child_start_or_skip();
  snprintf(url, len, "redis://127.0.0.1:%d/0", port);
  redisContext *c = connect_plain(1000);
  if (!c) {
    fprintf(stderr, "cannot connect to redis '127.0.0.1:%d'\n", port);
    exit(2);
  }
  return c;
}

#endif
