/*
 * The logging facility (see include/ccpulse/log.h).
 *
 * A line is formatted into a stack buffer (LINE_MAX bytes; longer messages
 * are cut and end in "...") and written with one write(2), so lines of
 * different threads never interleave. The rate limiter keys call sites by
 * their format string's address (a string literal per call site) in a small
 * open-addressing table guarded by a mutex; when the table is full, new call
 * sites are simply not limited. A site is its format string and level, so
 * one format logged at several levels (the librdkafka bridge) has one budget
 * per level. DEBUG lines are never limited: an operator who asked for them
 * wants every one. Logging is never on the per-event path, so a mutex per
 * written line is cheap enough.
 *
 * Secrets (docs/kpis.md §7): every message is masked before it is kept or
 * written (mask()): the strings handed to ccp_log_add_secret() (the
 * configuration's passwords, ccp_config_protect_log) and the userinfo of any
 * url become `***`, whoever formatted the message (librdkafka's log lines
 * too). A message cut at the buffer's end also loses a trailing prefix of a
 * secret. The secrets are few and added at start-up; a second mutex guards
 * them.
 *
 * Invariants: a site's `suppressed` counts lines dropped in its current
 * window; it is reported (and reset) by the first line written in a later
 * window, or by ccp_log_flush(), which quotes the start of the site's last
 * written message (`last`) so the report says what was suppressed.
 */
#include "ccpulse/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ccpulse/clock.h"
#include "ccpulse/common.h"

/* Relaxed everywhere: the level and format are filters set at start-up; a
 * thread seeing an old value for a moment writes or skips one line. */
_Atomic int ccp__log_level = CCP_LOG_INFO;
static _Atomic int log_format = CCP_LOG_TEXT;
static _Atomic int log_fd = 2;

#define LINE_MAX_BYTES 4096
#define SITES 256 /* power of two */

typedef struct site {
  const char *fmt; /* NULL: free slot */
  const char *component;
  int level;
  int64_t window_start; /* monotonic ms */
  int in_window;        /* lines written in this window */
  int64_t suppressed;   /* lines dropped in this window */
  char last[96];        /* start of the last message written */
} site_t;

static pthread_mutex_t sites_lock = PTHREAD_MUTEX_INITIALIZER;
static site_t sites[SITES];

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

void ccp_log_set_level(ccp_log_level_t level) {
  atomic_store_explicit(&ccp__log_level, (int)level, memory_order_relaxed);
}

ccp_log_level_t ccp_log_get_level(void) {
  return (ccp_log_level_t)atomic_load_explicit(&ccp__log_level, memory_order_relaxed);
}

void ccp_log_set_format(ccp_log_format_t format) {
  atomic_store_explicit(&log_format, (int)format, memory_order_relaxed);
}

void ccp_log_set_fd(int fd) { atomic_store_explicit(&log_fd, fd, memory_order_relaxed); }

int ccp_log_level_parse(const char *text, ccp_log_level_t *out) {
  for (int i = 0; i < (int)CCP_ARRAY_LEN(level_names); i++)
    if (strcmp(text, level_names[i]) == 0) {
      *out = (ccp_log_level_t)i;
      return 0;
    }
  return -CCP_EINVAL;
}

int ccp_log_format_parse(const char *text, ccp_log_format_t *out) {
  if (strcmp(text, "text") == 0)
    *out = CCP_LOG_TEXT;
  else if (strcmp(text, "json") == 0)
    *out = CCP_LOG_JSON;
  else
    return -CCP_EINVAL;
  return 0;
}

const char *ccp_log_level_name(ccp_log_level_t level) {
  return (unsigned)level < CCP_ARRAY_LEN(level_names) ? level_names[level] : "?";
}

/* --------------------------------------------------------------- secrets */

#define SECRETS_MAX 64
#define SECRET_MIN_LEN 4
#define MASK "***"

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[SECRETS_MAX]; /* plain malloc: kept for the process's life */
static int nsecrets;

void ccp_log_add_secret(const char *secret) {
  if (!secret || strlen(secret) < SECRET_MIN_LEN)
    return;
  pthread_mutex_lock(&secrets_lock);
  int known = 0;
  for (int i = 0; i < nsecrets; i++)
    known |= strcmp(secrets[i], secret) == 0;
  char *copy = known || nsecrets == SECRETS_MAX ? NULL : strdup(secret);
  if (copy)
    secrets[nsecrets++] = copy;
  pthread_mutex_unlock(&secrets_lock);
}

void ccp_log_clear_secrets(void) {
  pthread_mutex_lock(&secrets_lock);
  for (int i = 0; i < nsecrets; i++)
    free(secrets[i]);
  nsecrets = 0;
  pthread_mutex_unlock(&secrets_lock);
}

/* Replaces text[at, at + n) by MASK in a text of *len bytes held in size
 * bytes (cut at size - 1); returns the index just past the mask. */
static size_t splice_mask(char *text, size_t size, size_t *len, size_t at, size_t n) {
  size_t m = sizeof MASK - 1, tail = *len - at - n;
  if (at + m + tail > size - 1)
    tail = at + m > size - 1 ? 0 : size - 1 - at - m;
  if (at + m > size - 1)
    m = size - 1 - at;
  memmove(text + at + m, text + at + n, tail);
  memcpy(text + at, MASK, m);
  *len = at + m + tail;
  text[*len] = '\0';
  return at + m;
}

/* The userinfo of every url in text (between "://" and the last '@' of the
 * url, which ends at a space, a quote or '<', '>') becomes MASK. */
static void mask_urls(char *text, size_t size, size_t *len) {
  size_t i = 0;
  char *p;
  while ((p = strstr(text + i, "://")) != NULL) {
    size_t start = (size_t)(p - text) + 3, end = start, at = 0;
    while (end < *len && !strchr(" \t\r\n\"'<>`", text[end])) {
      if (text[end] == '@')
        at = end;
      end++;
    }
    i = at > start && strncmp(text + start, MASK, at - start) != 0
            ? splice_mask(text, size, len, start, at - start)
            : start;
  }
}

/* Masks text as every line is masked (see the design note); cut: text was
 * cut at its end, so a trailing prefix of a secret is masked too. */
static size_t mask(char *text, size_t size, int cut) {
  size_t len = strlen(text);
  if (strstr(text, "://"))
    mask_urls(text, size, &len);
  pthread_mutex_lock(&secrets_lock);
  for (int k = 0; k < nsecrets; k++) {
    const char *s = secrets[k];
    size_t n = strlen(s), i = 0;
    char *p;
    while ((p = strstr(text + i, s)) != NULL)
      i = splice_mask(text, size, &len, (size_t)(p - text), n);
    for (size_t j = CCP_MIN(n - 1, len); cut && j >= 2; j--)
      if (memcmp(text + len - j, s, j) == 0) {
        splice_mask(text, size, &len, len - j, j);
        break;
      }
  }
  pthread_mutex_unlock(&secrets_lock);
  return len;
}

size_t ccp_log_scrub(char *text, size_t size) { return size ? mask(text, size, 0) : 0; }

/* ------------------------------------------------------------ formatting */

typedef struct line {
  char buf[LINE_MAX_BYTES];
  size_t len;
  int cut;
} line_t;

static void put(line_t *l, const char *s, size_t n) {
  size_t room = sizeof l->buf - 8 - l->len; /* keep room for "...\n" / "\"}\n" */
  if (n > room) {
    n = room;
    l->cut = 1;
  }
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

static void puts_(line_t *l, const char *s) { put(l, s, strlen(s)); }

/* Appends s as the inside of a JSON string (quotes and controls escaped;
 * other bytes as they are). */
static void put_json(line_t *l, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      put(l, esc, 2);
    } else if (c == '\n') {
      put(l, "\\n", 2);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      put(l, esc, 6);
    } else {
      put(l, (const char *)&c, 1);
    }
  }
}

static void timestamp(char *out, size_t n) {
  int64_t ms = ccp_clock_wall_ms();
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + k, n - k, ".%03dZ", (int)(ms % 1000));
}

static void emit(int level, const char *component, const char *msg, size_t msg_len) {
  line_t l;
  l.len = 0;
  l.cut = 0;
  char ts[40];
  timestamp(ts, sizeof ts);
  int lv = level < 0 ? 0 : (level > CCP_LOG_DEBUG ? CCP_LOG_DEBUG : level);
  if (atomic_load_explicit(&log_format, memory_order_relaxed) == CCP_LOG_JSON) {
    puts_(&l, "{\"ts\":\"");
    puts_(&l, ts);
    puts_(&l, "\",\"level\":\"");
    puts_(&l, level_names[lv]);
    puts_(&l, "\",\"component\":\"");
    put_json(&l, component, strlen(component));
    puts_(&l, "\",\"msg\":\"");
    put_json(&l, msg, msg_len);
    if (l.cut)
      memcpy(l.buf + l.len - 3, "...", 3);
    memcpy(l.buf + l.len, "\"}\n", 3);
    l.len += 3;
  } else {
    puts_(&l, ts);
    put(&l, " ", 1);
    puts_(&l, level_tags[lv]);
    put(&l, " ", 1);
    puts_(&l, component);
    put(&l, ": ", 2);
    put(&l, msg, msg_len);
    if (l.cut)
      memcpy(l.buf + l.len - 3, "...", 3);
    l.buf[l.len++] = '\n';
  }
  int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);
  const char *p = l.buf;
  size_t left = l.len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return; /* nowhere to report a failing log */
    p += w;
    left -= (size_t)w;
  }
}

/* ----------------------------------------------------------- rate limit */

static site_t *site_of(const char *fmt, const char *component, int level) {
  uintptr_t h = (uintptr_t)fmt ^ (uintptr_t)level;
  h ^= h >> 17;
  h *= 0x9e3779b97f4a7c15ULL;
  for (unsigned i = 0; i < SITES; i++) {
    site_t *s = &sites[(h + i) & (SITES - 1)];
    if (s->fmt == fmt && s->level == level)
      return s;
    if (!s->fmt) {
      s->fmt = fmt;
      s->component = component;
      s->level = level;
      s->window_start = INT64_MIN;
      return s;
    }
  }
  return NULL; /* table full: not limited */
}

void ccp__log(int level, const char *component, const char *fmt, ...) {
  int64_t now = ccp_clock_mono_ms();
  int64_t pending = 0;
  int write_it = 1;
  int nolimit = level & CCP__LOG_NOLIMIT; /* ccp_log_state() */
  level &= ~CCP__LOG_NOLIMIT;
  pthread_mutex_lock(&sites_lock);
  site_t *s = level >= CCP_LOG_DEBUG || nolimit ? NULL : site_of(fmt, component, level);
  if (s) {
    if (s->window_start == INT64_MIN || now - s->window_start >= CCP_LOG_WINDOW_MS) {
      pending = s->suppressed;
      s->suppressed = 0;
      s->in_window = 0;
      s->window_start = now;
    }
    if (s->in_window < CCP_LOG_BURST)
      s->in_window++;
    else {
      s->suppressed++;
      write_it = 0;
    }
  }
  pthread_mutex_unlock(&sites_lock);
  if (!write_it)
    return;

  char msg[LINE_MAX_BYTES];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0)
    msg[0] = '\0';
  size_t len = mask(msg, sizeof msg, n >= (int)sizeof msg);
  if (s) { /* remembered for ccp_log_flush(); cut to the field */
    size_t k = CCP_MIN(len, sizeof s->last - 1);
    pthread_mutex_lock(&sites_lock);
    memcpy(s->last, msg, k);
    s->last[k] = '\0';
    pthread_mutex_unlock(&sites_lock);
  }
  if (pending > 0 && len < sizeof msg - 1) {
    int k = snprintf(msg + len, sizeof msg - len, " (%lld similar line(s) suppressed)",
                     (long long)pending);
    if (k > 0)
      len = CCP_MIN(len + (size_t)k, sizeof msg - 1);
  }
  emit(level, component, msg, len);
}

void ccp__log_line(int level, const char *component, const char *msg) {
  char m[LINE_MAX_BYTES];
  size_t n = strlen(msg);
  snprintf(m, sizeof m, "%s", msg);
  size_t len = mask(m, sizeof m, n >= sizeof m);
  emit(level, component, m, len);
}

void ccp_log_flush(void) {
  pthread_mutex_lock(&sites_lock);
  for (unsigned i = 0; i < SITES; i++) {
    site_t *s = &sites[i];
    if (!s->fmt || s->suppressed == 0)
      continue;
    char msg[200];
    int n =
        snprintf(msg, sizeof msg, "%lld line(s) like \"%s%s\" suppressed", (long long)s->suppressed,
                 s->last, strlen(s->last) == sizeof s->last - 1 ? "..." : "");
    s->suppressed = 0;
    if (s->level <= atomic_load_explicit(&ccp__log_level, memory_order_relaxed))
      emit(s->level, s->component, msg, n < 0 ? 0 : CCP_MIN((size_t)n, sizeof msg - 1));
  }
  pthread_mutex_unlock(&sites_lock);
}

void ccp__log_test_age(int64_t ms) {
  pthread_mutex_lock(&sites_lock);
  for (unsigned i = 0; i < SITES; i++)
    if (sites[i].fmt && sites[i].window_start != INT64_MIN)
      sites[i].window_start -= ms;
  pthread_mutex_unlock(&sites_lock);
}

void ccp_log_reset(void) {
  pthread_mutex_lock(&sites_lock);
  memset(sites, 0, sizeof sites);
  pthread_mutex_unlock(&sites_lock);
}
