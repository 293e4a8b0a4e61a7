/*
 * Fuzz target: the Redis URL parser and redactor (src/publish/redis_pub.c)
 * on the text of `--redis` / `redis.url`.
 *
 * Checked besides memory safety: a refusal comes with a message; the
 * redacted form of any URL fits any buffer (truncated, NUL-terminated); an
 * accepted URL with a password is shown with all of its credentials replaced
 * by "***" (docs/kpis.md §7: secrets never appear in a message).
 */
#include "ccpulse/redis_pub.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *url = malloc(size + 1);
  FZ_CHECK(url != NULL);
  memcpy(url, data, size);
  url[size] = 0;

  char err[CCP_ERRBUF_SIZE] = "";
  int rc = ccp_redis_url_check(url, err, sizeof err);
  FZ_CHECK(rc == 0 || err[0] != 0);

  char shown[2048], tiny[8];
  ccp_redis_url_redact(url, shown, sizeof shown);
  ccp_redis_url_redact(url, tiny, sizeof tiny);
  FZ_CHECK(strlen(tiny) < sizeof tiny);
  FZ_CHECK(strlen(shown) < sizeof shown);

  /* An accepted URL with credentials ([user]:PASSWORD before the last '@'
   * of the authority) is shown with everything between the scheme and that
   * '@' replaced by three asterisks, whatever bytes the password holds. */
  if (rc == 0 && strlen(url) < sizeof shown - 8) {
    const char *p = url + 8;
    size_t auth = strcspn(p, "/");
    const char *at = NULL;
    for (const char *q = p; q < p + auth; q++)
      if (*q == '@')
        at = q;
    if (at) {
      char want[sizeof shown];
      snprintf(want, sizeof want, "redis://***%s", at);
      if (strcmp(shown, want) != 0) {
        fprintf(stderr, "fuzz: '%s' redacted as '%s'\n", url, shown);
        abort();
      }
    }
  }
  free(url);
  return 0;
}
