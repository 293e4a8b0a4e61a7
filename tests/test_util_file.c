/*
 * Unit tests for src/util/file.c: whole files (missing, empty, a directory,
 * larger than the growth steps, with NUL bytes) and the rest of a stream
 * after a head already read.
 */
#include "ccpulse/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ccp_test.h"
#include "ccpulse/common.h"

static char dir[] = "/tmp/ccp_test_file.XXXXXX";

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "cannot write '%s'\n", path);
    exit(2);
  }
}

static void test_missing(void) {
  char path[256], err[CCP_ERRBUF_SIZE];
  path_of(path, sizeof path, "nope");
  size_t len = 77;
  char *p = ccp_file_read(path, &len, err, sizeof err);
  T_TRUE(p == NULL);
  T_EQ_INT(len, 77); /* untouched on failure */
  char want[300];
  snprintf(want, sizeof want, "cannot open '%s': No such file or directory", path);
  T_EQ_STR(err, want);
}

static void test_directory(void) {
  char err[CCP_ERRBUF_SIZE];
  char *p = ccp_file_read(dir, NULL, err, sizeof err);
  T_TRUE(p == NULL);
  char want[300];
  snprintf(want, sizeof want, "cannot read '%s': Is a directory", dir);
  T_EQ_STR(err, want);
}

static void test_empty(void) {
  char path[256], err[CCP_ERRBUF_SIZE];
  path_of(path, sizeof path, "empty");
  write_bytes(path, "", 0);
  size_t len = 77;
  char *p = ccp_file_read(path, &len, err, sizeof err);
  T_TRUE(p != NULL);
  T_EQ_INT(len, 0);
  T_EQ_STR(p, "");
  ccp_free(p);
}

static void test_small_and_null_len(void) {
  char path[256], err[CCP_ERRBUF_SIZE];
  path_of(path, sizeof path, "small");
  write_bytes(path, "key = value\n", 12);
  char *p = ccp_file_read(path, NULL, err, sizeof err);
  T_EQ_STR(p, "key = value\n");
  ccp_free(p);
}

/* Larger than the 64 KiB first step and with NUL bytes inside: every byte
 * comes back, followed by a NUL that the length leaves out. */
static void test_large(void) {
  char path[256], err[CCP_ERRBUF_SIZE];
  path_of(path, sizeof path, "large");
  size_t n = 3 * 65536 + 123;
  unsigned char *want = malloc(n);
  for (size_t i = 0; i < n; i++)
    want[i] = (unsigned char)(i * 7 + i / 251);
  write_bytes(path, want, n);
  size_t len = 0;
  char *p = ccp_file_read(path, &len, err, sizeof err);
  T_TRUE(p != NULL);
  T_EQ_INT(len, n);
  if (p && len == n) {
    T_TRUE(memcmp(p, want, n) == 0);
    T_EQ_INT(p[n], 0);
  }
  ccp_free(p);
  free(want);
}

/* A pipe has no size: the stream reader grows from its first step. */
static void test_stream_with_head(void) {
  int fds[2];
  T_TRUE(pipe(fds) == 0);
  size_t n = 100000;
  char *body = malloc(n);
  for (size_t i = 0; i < n; i++)
    body[i] = (char)('a' + i % 26);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    size_t off = 4; /* the head is "read" by the parent */
    while (off < n) {
      ssize_t k = write(fds[1], body + off, n - off);
      if (k <= 0)
        _exit(1);
      off += (size_t)k;
    }
    _exit(0);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "rb");
  size_t len = 0;
  char *p = ccp_file_read_stream(f, body, 4, &len);
  fclose(f);
  T_TRUE(p != NULL);
  T_EQ_INT(len, n);
  if (p && len == n)
    T_TRUE(memcmp(p, body, n) == 0 && p[n] == 0);
  ccp_free(p);
  free(body);
  int st;
  waitpid(pid, &st, 0);
}

int main(void) {
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  T_RUN(test_missing);
  T_RUN(test_directory);
  T_RUN(test_empty);
  T_RUN(test_small_and_null_len);
  T_RUN(test_large);
  T_RUN(test_stream_with_head);
  static const char *const made[] = {"empty", "small", "large"};
  for (size_t i = 0; i < CCP_ARRAY_LEN(made); i++) {
    char path[256];
    path_of(path, sizeof path, made[i]);
    unlink(path);
  }
  rmdir(dir);
  return T_DONE();
}
