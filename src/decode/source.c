/*
 * Event source over one file or stdin: sniffs the first four bytes and hands
 * the stream to the OCF reader (whole container read into memory) or to the
 * JSON Lines reader (streamed line by line). Works on pipes: the sniffed bytes
 * are given back through a cookie FILE when the stream cannot seek.
 * Single-threaded.
 */
#include "ccpulse/source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ccpulse/decode.h"
#include "ccpulse/file.h"
#include "ccpulse/ocf.h"

struct ccp_source {
  int format;
  FILE *f;       /* JSONL: owned (a cookie FILE over stdin) */
  uint8_t *data; /* OCF: the whole container */
  ccp_jsonl_reader_t *jsonl;
  ccp_ocf_reader_t *ocf;
};

/* A FILE that yields `head` and then the rest of `f` (for pipes, which
 * cannot seek back after the format was sniffed). Closing it closes f when
 * `owns` (not stdin). */
typedef struct unread_cookie {
  FILE *f;
  char head[4];
  size_t n, pos;
  int owns;
} unread_cookie_t;

static ssize_t unread_read(void *c_, char *buf, size_t size) {
  unread_cookie_t *c = c_;
  if (c->pos < c->n) {
    size_t k = CCP_MIN(size, c->n - c->pos);
    memcpy(buf, c->head + c->pos, k);
    c->pos += k;
    return (ssize_t)k;
  }
  /* Up to the end of a line, not a full buffer: fread would wait for `size`
   * bytes, so events piped in one at a time (`ccpulse produce -`) would sit
   * here until more came. getc_unlocked reads f's own buffer (this cookie is
   * the only reader of f). */
  size_t k = 0;
  while (k < size) {
    int ch = getc_unlocked(c->f);
    if (ch == EOF)
      break;
    buf[k++] = (char)ch;
    if (ch == '\n')
      break;
  }
  if (k == 0 && ferror(c->f))
    return -1;
  return (ssize_t)k;
}

static int unread_close(void *c_) {
  unread_cookie_t *c = c_;
  int rc = c->owns ? fclose(c->f) : 0;
  ccp_free(c);
  return rc;
}

static FILE *unread(FILE *f, const char *head, size_t n, int owns) {
  unread_cookie_t *c = ccp_calloc(1, sizeof *c);
  c->f = f;
  c->owns = owns;
  memcpy(c->head, head, n);
  c->n = n;
  cookie_io_functions_t io = {.read = unread_read, .close = unread_close};
  FILE *g = fopencookie(c, "r", io);
  if (!g) {
    if (owns)
      fclose(f);
    ccp_free(c);
  }
  return g;
}

ccp_source_t *ccp_source_open(const char *path, char *errbuf, size_t errlen) {
  int is_stdin = strcmp(path, "-") == 0;
  const char *name = is_stdin ? "<stdin>" : path;
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  if (!f) {
    snprintf(errbuf, errlen, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  ccp_source_t *s = ccp_calloc(1, sizeof *s);
  char magic[4];
  size_t n = fread(magic, 1, 4, f);
  if (n == 4 && memcmp(magic, CCP_OCF_MAGIC, 4) == 0) {
    /* The whole container in memory, read from this very stream (a pipe
     * cannot be opened a second time). */
    size_t len = 0;
    s->data = (uint8_t *)ccp_file_read_stream(f, magic, n, &len);
    int saved = errno;
    if (!is_stdin)
      fclose(f);
    if (!s->data) {
      snprintf(errbuf, errlen, "cannot read '%s': %s", name, strerror(saved));
      ccp_free(s);
      return NULL;
    }
    s->format = CCP_SRC_OCF;
    s->ocf = ccp_ocf_reader_new_mem(s->data, len, name, errbuf, errlen);
    if (!s->ocf) {
      ccp_source_free(s);
      return NULL;
    }
    return s;
  }
  if (ferror(f)) {
    snprintf(errbuf, errlen, "cannot read '%s': %s", name, strerror(errno));
    if (!is_stdin)
      fclose(f);
    ccp_free(s);
    return NULL;
  }
  /* JSON Lines: give the sniffed bytes back (seek, or wrap a pipe) */
  if (is_stdin || fseek(f, 0, SEEK_SET) != 0) {
    f = unread(f, magic, n, !is_stdin);
    if (!f) {
      snprintf(errbuf, errlen, "cannot read '%s': %s", name, strerror(errno));
      ccp_free(s);
      return NULL;
    }
  }
  s->format = CCP_SRC_JSONL;
  s->f = f;
  s->jsonl = ccp_jsonl_reader_new(f, name);
  return s;
}

int ccp_source_next(ccp_source_t *s, ccp_event_t *ev, char *errbuf, size_t errlen) {
  if (s->ocf)
    return ccp_ocf_reader_next(s->ocf, ev, NULL, errbuf, errlen);
  return ccp_jsonl_reader_next(s->jsonl, ev, errbuf, errlen);
}

int ccp_source_format(const ccp_source_t *s) { return s->format; }

void ccp_source_free(ccp_source_t *s) {
  if (!s)
    return;
  ccp_jsonl_reader_free(s->jsonl);
  ccp_ocf_reader_free(s->ocf);
  ccp_free(s->data);
  if (s->f)
    fclose(s->f);
  ccp_free(s);
}
