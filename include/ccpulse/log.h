/*
 * ccpulse — the one logging facility.
 *
 * Every diagnostic line of the library and the CLI goes through ccp_log():
 * one line per event on standard error (or the fd set by ccp_log_set_fd),
 * with a UTC timestamp, a level and a short component tag:
 *
 *   text: 2026-12-02T03:52:09.123Z WARN  redis: cannot connect to '127.0.0.1:6379': ...
 *   json: {"ts":"2026-12-02T03:52:09.123Z","level":"warn","component":"redis","msg":"..."}
 *
 * The level is checked before the arguments are evaluated or formatted, so a
 * disabled debug line costs one relaxed load. Repeated lines are rate-limited
 * per call site (its format string and level): at most CCP_LOG_BURST lines
 * per CCP_LOG_WINDOW_MS; the next line written after a quiet window says how
 * many were suppressed, and ccp_log_flush() reports what is still pending.
 * DEBUG lines are never rate-limited (asked for, they are wanted whole).
 *
 * Messages follow the house style: lower case, the problem first, the subject
 * in quotes, no trailing newline or period.
 *
 * Threads: ccp_log() and ccp_log_flush() may be called from any thread (a
 * mutex guards the rate limiter; each line is one write(2)). The setters are
 * meant for start-up (before threads start) and tests; they are atomic, so a
 * late change is seen by other threads soon after, not torn.
 */
#ifndef CCPULSE_LOG_H
#define CCPULSE_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Levels, most severe first; a line is written when its level <= the set level. */
typedef enum ccp_log_level {
  CCP_LOG_ERROR = 0, /**< an operation failed; data may be delayed or lost */
  CCP_LOG_WARN = 1,  /**< something is wrong but handled (retry, eviction, skip) */
  CCP_LOG_INFO = 2,  /**< start-up, shutdown, assignment: what an operator follows */
  CCP_LOG_DEBUG = 3  /**< detail for developers */
} ccp_log_level_t;

/** Line formats. */
typedef enum ccp_log_format {
  CCP_LOG_TEXT = 0, /**< `TIME LEVEL component: message` */
  CCP_LOG_JSON = 1  /**< one JSON object per line */
} ccp_log_format_t;

/** Lines one call site may write per window before it is rate-limited. */
#define CCP_LOG_BURST 5
/** The rate-limit window in milliseconds. */
#define CCP_LOG_WINDOW_MS 10000

/** The level in force (default CCP_LOG_INFO). Read by the ccp_log() macro. */
extern _Atomic int ccp__log_level;

/**
 * Writes one line when `level` is enabled; the arguments are not evaluated
 * otherwise. `component` is a short lower-case tag ("redis", "kafka",
 * "consumer", "replay", ...); the rest is a printf format and its arguments.
 */
#define ccp_log(level, component, ...)                                                             \
  do {                                                                                             \
    if ((int)(level) <= atomic_load_explicit(&ccp__log_level, memory_order_relaxed))               \
      ccp__log((level), (component), __VA_ARGS__);                                                 \
  } while (0)

/** Flag or-ed into the level by ccp_log_state(): the line is not rate-limited. */
#define CCP__LOG_NOLIMIT 0x100

/**
 * As ccp_log(), but never rate-limited: for state changes an operator (or a
 * test reading the log) must see every one of, such as a partition
 * assignment or revocation; rebalances bound how often they come.
 */
#define ccp_log_state(level, component, ...)                                                       \
  do {                                                                                             \
    if ((int)(level) <= atomic_load_explicit(&ccp__log_level, memory_order_relaxed))               \
      ccp__log((level) | CCP__LOG_NOLIMIT, (component), __VA_ARGS__);                              \
  } while (0)

/** The function behind ccp_log(); call the macro instead. */
void ccp__log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * Writes one line now, unfiltered and not rate-limited (the fatal-error
 * path: the process aborts next). Any thread.
 */
void ccp__log_line(int level, const char *component, const char *msg);

/** Sets the level in force. */
void ccp_log_set_level(ccp_log_level_t level);
/** The level in force. */
ccp_log_level_t ccp_log_get_level(void);
/** Sets the line format. */
void ccp_log_set_format(ccp_log_format_t format);
/** Sets the file descriptor lines are written to (default 2, standard error). */
void ccp_log_set_fd(int fd);

/** Parses "error", "warn", "info" or "debug"; returns 0 or -CCP_EINVAL. */
int ccp_log_level_parse(const char *text, ccp_log_level_t *out);
/** Parses "text" or "json"; returns 0 or -CCP_EINVAL. */
int ccp_log_format_parse(const char *text, ccp_log_format_t *out);
/** Lower-case name of a level ("error", ...). */
const char *ccp_log_level_name(ccp_log_level_t level);

/**
 * Adds a string no line may show (a password of the configuration, docs/kpis.md
 * §7): from now on every occurrence in a line, and a prefix of it where a
 * line is cut, is written as `***`. Strings shorter than 4 bytes are not
 * added (they would mask ordinary words); an empty or known one is ignored.
 * At most 64 are kept. Any thread; meant for start-up.
 */
void ccp_log_add_secret(const char *secret);
/** Forgets every secret added (tests). */
void ccp_log_clear_secrets(void);

/**
 * Masks text (NUL-terminated, in a buffer of size bytes) as every log line
 * is masked: each secret added by ccp_log_add_secret(), and the userinfo of
 * any url (the `user:password` of `scheme://user:password@host`), become
 * `***`; the result is cut at size - 1 bytes. Returns its length. For text
 * that leaves by another way than the log (an error shown on stdout). Any
 * thread.
 */
size_t ccp_log_scrub(char *text, size_t size);

/** Writes one line per call site with suppressed lines still unreported (at exit). */
void ccp_log_flush(void);
/** Forgets every rate-limit record (tests). */
void ccp_log_reset(void);
/** Moves every rate-limit window `ms` into the past, as if that time had passed (tests). */
void ccp__log_test_age(int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
