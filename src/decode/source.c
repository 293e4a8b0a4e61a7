/*
 * Event source over one file: sniffs the first four bytes and hands the file
 * to the OCF reader (whole file in memory) or to the JSON Lines reader
 * (streamed line by line). Single-threaded.
 */
#include "ccpulse/source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ccpulse/decode.h"
#include "ccpulse/ocf.h"

struct ccp_source {
  int format;
  FILE *f;               /* JSONL: owned unless stdin */
  ccp_jsonl_reader_t *jsonl;
  ccp_ocf_reader_t *ocf;
};

/* A FILE that yields `head` and then the rest of `f` (for pipes, which
 * cannot seek back after the format was sniffed). Closing it closes f. */
typedef struct unread_cookie {
  FILE *f;
  char head[4];
  size_t n, pos;
} unread_cookie_t;

static ssize_t unread_read(void *c_, char *buf, size_t size) {
  unread_cookie_t *c = c_;
  if (c->pos < c->n) {
    size_t k = CCP_MIN(size, c->n - c->pos);
    memcpy(buf, c->head + c->pos, k);
    c->pos += k;
    return (ssize_t)k;
  }
  size_t k = fread(buf, 1, size, c->f);
  if (k == 0 && ferror(c->f)) return -1;
  return (ssize_t)k;
}

static int unread_close(void *c_) {
  unread_cookie_t *c = c_;
  int rc = fclose(c->f);
  ccp_free(c);
  return rc;
}

static FILE *unread(FILE *f, const char *head, size_t n) {
  unread_cookie_t *c = ccp_calloc(1, sizeof *c);
  c->f = f;
  memcpy(c->head, head, n);
  c->n = n;
  cookie_io_functions_t io = {.read = unread_read, .close = unread_close};
  FILE *g = fopencookie(c, "r", io);
  if (!g) {
    fclose(f);
    ccp_free(c);
  }
  return g;
}

ccp_source_t *ccp_source_open(const char *path, char *errbuf, size_t errlen) {
  ccp_source_t *s = ccp_calloc(1, sizeof *s);
  if (strcmp(path, "-") == 0) {
    s->format = CCP_SRC_JSONL;
    s->jsonl = ccp_jsonl_reader_new(stdin, "<stdin>");
    return s;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(errbuf, errlen, "cannot open '%s': %s", path, strerror(errno));
    ccp_free(s);
    return NULL;
  }
  char magic[4];
  size_t n = fread(magic, 1, 4, f);
  if (n == 4 && memcmp(magic, "Obj\x01", 4) == 0) {
    fclose(f);
    s->format = CCP_SRC_OCF;
    s->ocf = ccp_ocf_reader_open(path, errbuf, errlen);
    if (!s->ocf) {
      ccp_free(s);
      return NULL;
    }
    return s;
  }
  if (fseek(f, 0, SEEK_SET) != 0) { /* a pipe: give the sniffed bytes back */
    f = unread(f, magic, n);
    if (!f) {
      snprintf(errbuf, errlen, "cannot read '%s': %s", path, strerror(errno));
      ccp_free(s);
      return NULL;
    }
  }
  s->format = CCP_SRC_JSONL;
  s->f = f;
  s->jsonl = ccp_jsonl_reader_new(f, path);
  return s;
}

int ccp_source_next(ccp_source_t *s, ccp_event_t *ev, char *errbuf, size_t errlen) {
  if (s->ocf) return ccp_ocf_reader_next(s->ocf, ev, NULL, errbuf, errlen);
  return ccp_jsonl_reader_next(s->jsonl, ev, errbuf, errlen);
}

int ccp_source_format(const ccp_source_t *s) { return s->format; }

void ccp_source_free(ccp_source_t *s) {
  if (!s) return;
  ccp_jsonl_reader_free(s->jsonl);
  ccp_ocf_reader_free(s->ocf);
  if (s->f) fclose(s->f);
  ccp_free(s);
}
